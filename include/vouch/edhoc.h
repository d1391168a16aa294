/*
 * vouch — EDHOC (RFC 9528): the lightweight authenticated key exchange the phone (initiator) and
 * a sensor (responder) run over CoAP on every contact, before OSCORE. docs/edhoc.md has the flow,
 * the state machine and what is not implemented.
 *
 * Methods 0-3 (signature or static DH on each side). Cipher suites 0, 1, 2, 3 and 6 (all with
 * SHA-256 and AES-128; suites 0, 1 and 6 use X25519, suites 0 and 1 EdDSA, the others P-256 and
 * ES256). Authentication keys are port handles (crypto.h): a signature key signs through
 * vouch_sign(), a static DH key agrees through vouch_ecdh_*(), so a key in a token or secure
 * element works without its private bytes ever leaving it.
 *
 * Everything is caller-allocated and allocation-free. A session keeps pointers to the caller's
 * own credential (key, CRED_x, ID_CRED_x), which must outlive it. Received messages 2, 3 and 4
 * are decrypted in place: the read functions take the message buffer writable, and the EAD and
 * the peer's CRED_x / ID_CRED_x they report point into it (or into the resolver's storage), so
 * the buffer must stay unchanged while those are used.
 *
 * Errors: a malformed message is VOUCH_ERR_EDHOC, or a CBOR error (VOUCH_ERR_CBOR_MALFORMED for
 * truncation, VOUCH_ERR_CBOR_TRAILING for bytes after the message, VOUCH_ERR_CBOR_NONCANONICAL
 * for an integer or length not in its shortest form: RFC 9528 wants deterministic CBOR); a MAC,
 * signature or AEAD tag that does not verify VOUCH_ERR_VERIFY; an ephemeral key that is not a
 * point of the curve VOUCH_ERR_KEY; a suite the responder refuses VOUCH_ERR_EDHOC_SUITE; an
 * unknown or refused peer credential VOUCH_ERR_EDHOC_PEER; an error message received
 * VOUCH_ERR_EDHOC_ERROR; a call out of order VOUCH_ERR_EDHOC_STATE; a method, suite or algorithm
 * this side does not do VOUCH_ERR_UNSUPPORTED. Caller mistakes found before anything happened
 * (VOUCH_ERR_INVALID, VOUCH_ERR_BUFFER) leave the session as it was; every other failure aborts
 * it (wiped, every later call VOUCH_ERR_EDHOC_STATE), except that a completed session keeps its
 * keys when a late or replayed message is refused.
 */
#ifndef VOUCH_EDHOC_H
#define VOUCH_EDHOC_H

#include "vouch/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_EDHOC_HASH_LEN          32 /* SHA-256: PRK_out, PRK_exporter, transcript hashes */
#define VOUCH_EDHOC_MAX_CID           7  /* a connection identifier: an OSCORE ID (RFC 8613 3.3) */
#define VOUCH_EDHOC_MAX_KID           16 /* a 'kid' in ID_CRED_x */
#define VOUCH_EDHOC_MAX_CRED          1024                        /* CRED_x, own or the peer's */
#define VOUCH_EDHOC_MAX_ID_CRED       (VOUCH_EDHOC_MAX_CRED + 16) /* ID_CRED_x (kccs holds a CRED) */
#define VOUCH_EDHOC_MAX_EAD           512                         /* one EAD_x field */
#define VOUCH_EDHOC_MAX_SUITES        8  /* suites a side lists; SUITES_R kept from an error */
#define VOUCH_EDHOC_OSCORE_SECRET_LEN 16 /* application AEAD AES-CCM-16-64-128 of every suite */
#define VOUCH_EDHOC_OSCORE_SALT_LEN   8
/* Room for any message this library writes, given the limits above (message_2 with a kccs
 * ID_CRED_R, a 64-byte signature and a full EAD_2 is the largest). */
#define VOUCH_EDHOC_MAX_MESSAGE                                                                    \
	(3 + 32 + 1 + VOUCH_EDHOC_MAX_CID + 3 + VOUCH_EDHOC_MAX_ID_CRED + 2 + 64 +                 \
	 VOUCH_EDHOC_MAX_EAD + 16)

/* Methods (RFC 9528 3.2): initiator key / responder key. */
#define VOUCH_EDHOC_METHOD_SIG_SIG   0
#define VOUCH_EDHOC_METHOD_SIG_STAT  1
#define VOUCH_EDHOC_METHOD_STAT_SIG  2
#define VOUCH_EDHOC_METHOD_STAT_STAT 3
#define VOUCH_EDHOC_METHOD_BIT(m)    (1u << (m))
#define VOUCH_EDHOC_METHODS_ALL      0xfu

/* Error codes (RFC 9528 section 6). */
#define VOUCH_EDHOC_ERR_UNSPECIFIED  1 /* ERR_INFO: diagnostic text */
#define VOUCH_EDHOC_ERR_WRONG_SUITE  2 /* ERR_INFO: SUITES_R */
#define VOUCH_EDHOC_ERR_UNKNOWN_CRED 3 /* ERR_INFO: true */

/* COSE header labels that identify credentials (RFC 9528 3.5.3, RFC 9360). */
#define VOUCH_EDHOC_ID_KID  4
#define VOUCH_EDHOC_ID_KCWT 13
#define VOUCH_EDHOC_ID_KCCS 14
#define VOUCH_EDHOC_ID_X5T  34

enum vouch_edhoc_role {
	VOUCH_EDHOC_INITIATOR = 1,
	VOUCH_EDHOC_RESPONDER = 2,
};

/* Where a session stands (docs/edhoc.md draws the machine). */
enum vouch_edhoc_state {
	VOUCH_EDHOC_S_NONE = 0,    /* not initialised, or cleared */
	VOUCH_EDHOC_S_START,       /* initiator: write message_1 (again, after a suite error) */
	VOUCH_EDHOC_S_WAIT_M2,     /* initiator: message_1 sent */
	VOUCH_EDHOC_S_VERIFIED_M2, /* initiator: message_2 verified: inspect the peer, then
	                              write message_3 or abort */
	VOUCH_EDHOC_S_WAIT_M1,     /* responder: read message_1 */
	VOUCH_EDHOC_S_RCVD_M1,     /* responder: message_1 accepted: write message_2 */
	VOUCH_EDHOC_S_WAIT_M3,     /* responder: message_2 sent */
	VOUCH_EDHOC_S_COMPLETED,   /* keys available; the responder may write message_4, the
	                              initiator may read it */
	VOUCH_EDHOC_S_PERSISTED,   /* message_4 done; keys available */
	VOUCH_EDHOC_S_ABORTED,     /* failed or aborted: wiped, only _clear remains */
};

/* What the peer sent as ID_CRED_x, for the resolver. */
struct vouch_edhoc_id_cred {
	const uint8_t *map; /* ID_CRED_x as a full encoded map (rebuilt for the compact kid form) */
	size_t map_len;
	const uint8_t *kid; /* its 'kid' (label 4) when present, else NULL */
	size_t kid_len;
	bool by_value;            /* kccs: cred and key already taken from the message */
	enum vouch_key_type want; /* the key type this method and suite need from the peer */
	bool sign;                /* true: a signature key; false: a static DH key */
};

/*
 * Find the peer's credential. By reference (any ID_CRED_x but kccs: kid, x5t, kcwt, ...): set
 * *cred / *cred_len to CRED_x (the encoded CBOR item the peer's MAC covers, e.g. a CCS map or an
 * X.509 certificate as a bstr; kept alive by the caller while the session may report it) and
 * import the peer's public authentication key into key (an initialised, empty handle of type
 * id->want). By value (kccs): *cred and key are already set from the message; the callback only
 * accepts or refuses. Return VOUCH_OK, or VOUCH_ERR_EDHOC_PEER for an unknown or refused
 * credential (any other error is passed on as is).
 */
typedef int (*vouch_edhoc_resolve_fn)(void *arg, const struct vouch_edhoc_id_cred *id,
                                      const uint8_t **cred, size_t *cred_len,
                                      struct vouch_key *key);

struct vouch_edhoc_config {
	enum vouch_edhoc_role role;
	/* Initiator: exactly one VOUCH_EDHOC_METHOD_BIT(); responder: the methods it accepts. */
	unsigned methods;
	/* Initiator: the suites it supports, most preferred first; responder: those it supports.
	 * 1..VOUCH_EDHOC_MAX_SUITES, each one of 0, 1, 2, 3, 6, no repeats. */
	const int32_t *suites;
	size_t n_suites;
	/* Own authentication: a private key handle (signature or static DH key, of the type the
	 * method and suite need), CRED_x (one CBOR item) and ID_CRED_x (an encoded header map).
	 * All three must outlive the session. */
	const struct vouch_key *key;
	const uint8_t *cred;
	size_t cred_len;
	const uint8_t *id_cred;
	size_t id_cred_len;
	/* Peer credentials by reference (and a say on those by value); NULL: kccs only. */
	vouch_edhoc_resolve_fn resolve;
	void *resolve_arg;
	/* EAD labels (the registered, positive values) this side understands: a received critical
	 * EAD item (negative label) whose |label| is not listed aborts the session. */
	const int64_t *ead_labels;
	size_t n_ead_labels;
};

/* A session. Caller-allocated; the fields are the module's (tests read derived values). */
struct vouch_edhoc {
	uint8_t role;  /* enum vouch_edhoc_role */
	uint8_t state; /* enum vouch_edhoc_state */
	uint8_t method;
	uint8_t methods;
	int32_t suites[VOUCH_EDHOC_MAX_SUITES];
	uint8_t n_suites;
	uint8_t sel;   /* initiator: index of the selected suite in suites */
	int32_t suite; /* the selected suite of the session */
	bool eph_preset, may_send_error, suite_failed, peer_set, c_peer_set;
	uint8_t retries; /* initiator: message_1 rewritten after a suite error */

	const struct vouch_key *own_key;
	const uint8_t *own_cred, *own_id_cred;
	size_t own_cred_len, own_id_cred_len;
	const uint8_t *own_kid; /* ID_CRED_x = {4: kid}: sent in the compact form */
	size_t own_kid_len;
	vouch_edhoc_resolve_fn resolve;
	void *resolve_arg;
	const int64_t *ead_labels;
	size_t n_ead_labels;

	uint8_t c_own[VOUCH_EDHOC_MAX_CID], c_peer[VOUCH_EDHOC_MAX_CID];
	uint8_t c_own_len, c_peer_len;

	struct vouch_key eph;      /* own ephemeral private key (X or Y) */
	struct vouch_key peer_eph; /* G_Y or G_X */
	struct vouch_key peer_key; /* the peer's authentication key */
	const uint8_t *peer_cred, *peer_id_cred;
	size_t peer_cred_len, peer_id_cred_len;
	uint8_t peer_kid_map[4 + VOUCH_EDHOC_MAX_KID]; /* {4: kid} rebuilt from the compact form */

	uint8_t th[VOUCH_EDHOC_HASH_LEN]; /* H(message_1), then TH_2, TH_3, TH_4 */
	uint8_t prk_3e2m[VOUCH_EDHOC_HASH_LEN];
	uint8_t prk_4e3m[VOUCH_EDHOC_HASH_LEN];
	uint8_t prk_out[VOUCH_EDHOC_HASH_LEN];
	uint8_t prk_exporter[VOUCH_EDHOC_HASH_LEN];

	/* An error message: the one received (code, diagnostic text pointing into the message,
	 * SUITES_R), or for the responder the SUITES_R it answers a refused suite with. */
	int64_t err_code;
	const char *err_diag;
	size_t err_diag_len;
	int32_t suites_r[VOUCH_EDHOC_MAX_SUITES];
	uint8_t n_suites_r;
};

/* Start a session in a fresh or cleared ctx. On error ctx is left cleared (VOUCH_EDHOC_S_NONE);
 * _clear is valid after any _init. */
int vouch_edhoc_init(struct vouch_edhoc *ctx, const struct vouch_edhoc_config *cfg);
/* Wipe everything (keys, secrets, pointers) and release the key handles the session owns. */
void vouch_edhoc_clear(struct vouch_edhoc *ctx);
/* Give up a session (e.g. the application refuses the peer): wiped, state ABORTED. */
void vouch_edhoc_abort(struct vouch_edhoc *ctx);
enum vouch_edhoc_state vouch_edhoc_state(const struct vouch_edhoc *ctx);

/* ---- initiator ---- */

/* message_1 = (METHOD, SUITES_I, G_X, C_I, ? EAD_1). c_i: this side's connection identifier
 * (0..VOUCH_EDHOC_MAX_CID bytes). ead_1: an encoded EAD field (NULL / 0: none). */
int vouch_edhoc_write_message_1(struct vouch_edhoc *ctx, const uint8_t *c_i, size_t c_i_len,
                                const uint8_t *ead_1, size_t ead_1_len, uint8_t *out, size_t cap,
                                size_t *out_len);
/* Decrypts msg in place, resolves and verifies the responder. *ead_2 points into msg (NULL
 * when absent). An error message instead of message_2 is VOUCH_ERR_EDHOC_ERROR; after error
 * code 2 the session may be back in START with another suite (vouch_edhoc_can_retry). */
int vouch_edhoc_read_message_2(struct vouch_edhoc *ctx, uint8_t *msg, size_t len,
                               const uint8_t **ead_2, size_t *ead_2_len);
/* message_3; after it the session is COMPLETED and the exporter works. */
int vouch_edhoc_write_message_3(struct vouch_edhoc *ctx, const uint8_t *ead_3, size_t ead_3_len,
                                uint8_t *out, size_t cap, size_t *out_len);
/* The optional message_4 (key confirmation). */
int vouch_edhoc_read_message_4(struct vouch_edhoc *ctx, uint8_t *msg, size_t len,
                               const uint8_t **ead_4, size_t *ead_4_len);
/* After a wrong-suite error: message_1 may be written again with the suite chosen from
 * SUITES_R (same C_I, a fresh ephemeral key). */
bool vouch_edhoc_can_retry(const struct vouch_edhoc *ctx);

/* ---- responder ---- */

/* Checks METHOD, the suite negotiation (VOUCH_ERR_EDHOC_SUITE: answer with
 * vouch_edhoc_write_error, which then sends SUITES_R), G_X and C_I. msg is not modified. */
int vouch_edhoc_read_message_1(struct vouch_edhoc *ctx, const uint8_t *msg, size_t len,
                               const uint8_t **ead_1, size_t *ead_1_len);
/* c_r: this side's connection identifier; it must differ from C_I (both become OSCORE IDs). */
int vouch_edhoc_write_message_2(struct vouch_edhoc *ctx, const uint8_t *c_r, size_t c_r_len,
                                const uint8_t *ead_2, size_t ead_2_len, uint8_t *out, size_t cap,
                                size_t *out_len);
/* Decrypts msg in place, resolves and verifies the initiator; COMPLETED after it. */
int vouch_edhoc_read_message_3(struct vouch_edhoc *ctx, uint8_t *msg, size_t len,
                               const uint8_t **ead_3, size_t *ead_3_len);
int vouch_edhoc_write_message_4(struct vouch_edhoc *ctx, const uint8_t *ead_4, size_t ead_4_len,
                                uint8_t *out, size_t cap, size_t *out_len);

/* ---- both ---- */

/* The peer's connection identifier (C_I for the responder after message_1, C_R for the
 * initiator after message_2). */
int vouch_edhoc_peer_c(const struct vouch_edhoc *ctx, const uint8_t **c, size_t *len);
/* The peer's verified authentication key, CRED_x and ID_CRED_x: after message_2 (initiator)
 * or message_3 (responder), until the session ends. NULL / VOUCH_ERR_EDHOC_STATE before. */
const struct vouch_key *vouch_edhoc_peer_key(const struct vouch_edhoc *ctx);
int vouch_edhoc_peer_cred(const struct vouch_edhoc *ctx, const uint8_t **cred, size_t *cred_len,
                          const uint8_t **id_cred, size_t *id_cred_len);

/* Answer the message that just failed (or that the application refuses) with an error message:
 * ERR_CODE 2 with SUITES_R after a refused suite in message_1, otherwise ERR_CODE 1 with diag
 * (NULL: "EDHOC processing failed"). Aborts the session. Only in answer to a message received
 * (RFC 9528 5.1, 6): not after sending one's own message, not after a received error message,
 * not once PERSISTED (VOUCH_ERR_EDHOC_STATE). */
int vouch_edhoc_write_error(struct vouch_edhoc *ctx, const char *diag, uint8_t *out, size_t cap,
                            size_t *out_len);
/* Process a message known to be an error message (e.g. in a CoAP error response). The read
 * functions above recognise error messages themselves. VOUCH_ERR_EDHOC_ERROR (the session is
 * aborted, or back in START after a wrong-suite error), or a decoding error. */
int vouch_edhoc_read_error(struct vouch_edhoc *ctx, const uint8_t *msg, size_t len);
/* Encode an error message without a session: code 1 (diag), 2 (suites, n_suites >= 1) or 3. */
int vouch_edhoc_error_encode(int64_t code, const char *diag, const int32_t *suites, size_t n_suites,
                             uint8_t *out, size_t cap, size_t *out_len);
/* The error message received (after VOUCH_ERR_EDHOC_ERROR): its code and, for code 1, the
 * diagnostic text (not NUL-terminated; points into the message buffer). */
int vouch_edhoc_peer_error(const struct vouch_edhoc *ctx, int64_t *code, const char **diag,
                           size_t *diag_len);

/* ---- results (COMPLETED or PERSISTED) ---- */

int vouch_edhoc_prk_out(const struct vouch_edhoc *ctx, uint8_t out[VOUCH_EDHOC_HASH_LEN]);
/* EDHOC_Exporter(label, context, length) = EDHOC_KDF(PRK_exporter, label, context, length);
 * out_len <= 255 * 32. */
int vouch_edhoc_exporter(const struct vouch_edhoc *ctx, uint64_t label, const uint8_t *context,
                         size_t context_len, uint8_t *out, size_t out_len);
/* EDHOC_KeyUpdate(context) (RFC 9528 appendix H): new PRK_out and PRK_exporter. */
int vouch_edhoc_key_update(struct vouch_edhoc *ctx, const uint8_t *context, size_t context_len);

/* The OSCORE security context inputs (RFC 9528 appendix A.1): master secret = Exporter(0, h'',
 * 16), master salt = Exporter(1, h'', 8); the initiator's Sender ID is C_R and its Recipient ID
 * C_I, the other way round for the responder. The caller wipes the struct. */
struct vouch_edhoc_oscore {
	uint8_t master_secret[VOUCH_EDHOC_OSCORE_SECRET_LEN];
	uint8_t master_salt[VOUCH_EDHOC_OSCORE_SALT_LEN];
	uint8_t sender_id[VOUCH_EDHOC_MAX_CID];
	size_t sender_id_len;
	uint8_t recipient_id[VOUCH_EDHOC_MAX_CID];
	size_t recipient_id_len;
	int64_t aead_alg; /* COSE 10, AES-CCM-16-64-128 */
	int64_t hash_alg; /* COSE -16, SHA-256 */
};
int vouch_edhoc_oscore(const struct vouch_edhoc *ctx, struct vouch_edhoc_oscore *out);
/* The OSCORE security context itself from those inputs (RAM only: no sequence-number
 * persistence, as a new EDHOC run gives new keys); the inputs are wiped. */
struct vouch_oscore_ctx;
int vouch_edhoc_oscore_ctx(const struct vouch_edhoc *ctx, struct vouch_oscore_ctx *osc);

/* ---- EAD ---- */

struct vouch_edhoc_ead_item {
	int64_t label;        /* negative: critical */
	const uint8_t *value; /* NULL when the item has no ead_value */
	size_t value_len;
};
/* Walk an EAD field: for (pos = 0; pos < len;) vouch_edhoc_ead_next(ead, len, &pos, &item).
 * VOUCH_ERR_EDHOC (or a CBOR error) when the field is not a sequence of (int, ? bstr). */
int vouch_edhoc_ead_next(const uint8_t *ead, size_t len, size_t *pos,
                         struct vouch_edhoc_ead_item *item);

/* ---- CoAP transport (RFC 9528 appendix A.2) ---- */

/* A request payload: message_1 after CBOR `true` (c == NULL), anything else after the server's
 * connection identifier c in its CBOR representation (RFC 9528 3.3.2). */
int vouch_edhoc_coap_encode(const uint8_t *c, size_t c_len, const uint8_t *msg, size_t msg_len,
                            uint8_t *out, size_t cap, size_t *out_len);
/* Split a request payload: *first true for `true` (message_1 follows), else c gets the
 * connection identifier. *msg points into payload. */
int vouch_edhoc_coap_split(const uint8_t *payload, size_t len, bool *first,
                           uint8_t c[VOUCH_EDHOC_MAX_CID], size_t *c_len, const uint8_t **msg,
                           size_t *msg_len);

/* ---- tests only ----
 * Use this raw private key (the suite's ECDH curve: 32-byte P-256 scalar or X25519 key) as the
 * ephemeral key of the next message_1 (initiator, state START) or message_2 (responder, state
 * RCVD_M1) instead of a fresh one. For the RFC 9529 traces; never in production: a reused
 * ephemeral key breaks forward secrecy. */
int vouch_edhoc_set_ephemeral(struct vouch_edhoc *ctx, const uint8_t *priv, size_t len);

#ifdef __cplusplus
}
#endif
#endif
