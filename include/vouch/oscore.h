/*
 * vouch — OSCORE (RFC 8613): Object Security for Constrained RESTful Environments.
 *
 * This module protects the request/response layer of CoAP end to end, through relays that may
 * read and forward but must not read or alter the content. It does not parse or build CoAP
 * messages and does not depend on any CoAP library: the transport (libcoap on our side) hands it
 * the value of the OSCORE option and the payload of an OSCORE message, and takes back the inner
 * plaintext — the original Code, the Class E options in CoAP option encoding, 0xFF and the
 * original payload — that the helpers below encode and decode. docs/oscore.md shows how
 * libcoap's PDU fields map onto these calls.
 *
 * Everything is allocation-free: the security context is caller-allocated with fixed maxima,
 * decoders point into the caller's buffers.
 *
 * Algorithms: AEAD AES-CCM-16-64-128 (COSE alg 10, the mandatory one) and HKDF-SHA256, through the
 * crypto port. Not implemented: Observe, group OSCORE, outer (proxy) block-wise reassembly,
 * Proxy-Uri decomposition, Class I options, signalling messages, the Appendix B.2 context
 * re-derivation.
 *
 * Errors: malformed input is VOUCH_ERR_OSCORE; a replayed or too old request, or a second
 * response to one request, VOUCH_ERR_OSCORE_REPLAY; a failed AEAD verification
 * VOUCH_ERR_VERIFY; a kid / kid context that is not this context's (and a used-up context)
 * VOUCH_ERR_OSCORE_CONTEXT. Caller bugs are VOUCH_ERR_INVALID.
 *
 * A context is not thread-safe: reading and advancing the sender sequence number and checking
 * and updating the replay window (RFC 8613 sections 7.2 and 7.4) must be atomic, so callers
 * serialise the calls that take a non-const context.
 */
#ifndef VOUCH_OSCORE_H
#define VOUCH_OSCORE_H

#include "vouch/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_OSCORE_ALG_AES_CCM_16_64_128 10 /* COSE algorithm value, the default */
#define VOUCH_OSCORE_KEY_LEN               16
#define VOUCH_OSCORE_NONCE_LEN             13 /* = Common IV length */
#define VOUCH_OSCORE_TAG_LEN               8
#define VOUCH_OSCORE_MAX_ID_LEN            7  /* nonce length - 6 (section 3.3) */
#define VOUCH_OSCORE_MAX_ID_CONTEXT_LEN    32 /* our limit; the option allows 255 */
#define VOUCH_OSCORE_MAX_PIV_LEN           5
#define VOUCH_OSCORE_MAX_SEQ               ((UINT64_C(1) << 40) - 1) /* section 7.2.1 */
#define VOUCH_OSCORE_REPLAY_WINDOW         64 /* sliding window, >= the default 32 */
#define VOUCH_OSCORE_DEFAULT_PERSIST_STEP  64 /* K of Appendix B.1.1 when params say 0 */
/* The longest option value this side writes: flags, Partial IV, s, kid context, kid. */
#define VOUCH_OSCORE_OPTION_MAX                                                                    \
	(1 + VOUCH_OSCORE_MAX_PIV_LEN + 1 + VOUCH_OSCORE_MAX_ID_CONTEXT_LEN +                      \
	 VOUCH_OSCORE_MAX_ID_LEN)
/* The AAD (Enc_structure) is never longer than this. */
#define VOUCH_OSCORE_AAD_MAX 48

/* CoAP numbers the transport needs around these calls. */
#define VOUCH_COAP_OPTION_OSCORE 9
#define VOUCH_COAP_CODE_POST     0x02 /* 0.02: the outer code of every OSCORE request */
#define VOUCH_COAP_CODE_CHANGED  0x44 /* 2.04: the outer code of every OSCORE response */

/* ---- security context (section 3) ---- */

/*
 * Input parameters of a security context. Byte strings are copied or consumed during
 * vouch_oscore_ctx_init(); the caller keeps ownership of the master secret and wipes it.
 *
 * Sequence-number persistence (Appendix B.1.1; the contract in docs/oscore.md):
 *  - persist == NULL: the context lives only in RAM and MUST NOT be restored after a restart
 *    (e.g. one derived by EDHOC per session: a new EDHOC run gives new keys).
 *  - persist != NULL: before the context uses any Sender Sequence Number at or above its
 *    persisted limit, it calls persist(persist_arg, limit') with a new limit (the number to be
 *    used plus persist_step, capped at VOUCH_OSCORE_MAX_SEQ + 1) and uses the number only when
 *    the callback returned VOUCH_OK. The callback must return only once the limit is durable.
 *    After a restart, the caller passes the last stored limit back as sender_seq: every number
 *    below it may have been used, none at or above it has.
 */
struct vouch_oscore_params {
	const uint8_t *master_secret; /* required, at least 1 byte */
	size_t master_secret_len;
	const uint8_t *master_salt; /* NULL / 0: the default empty salt */
	size_t master_salt_len;
	const uint8_t *sender_id; /* may be empty (the empty string is a valid ID) */
	size_t sender_id_len;     /* <= VOUCH_OSCORE_MAX_ID_LEN */
	const uint8_t *recipient_id;
	size_t recipient_id_len; /* <= VOUCH_OSCORE_MAX_ID_LEN, != the sender ID */
	bool has_id_context;     /* absent (nil in the KDF info) vs. present, possibly empty */
	const uint8_t *id_context;
	size_t id_context_len; /* <= VOUCH_OSCORE_MAX_ID_CONTEXT_LEN */
	bool send_kid_context; /* put the ID Context into requests as 'kid context' */
	int64_t aead_alg;      /* 0 or VOUCH_OSCORE_ALG_AES_CCM_16_64_128 */
	uint64_t sender_seq;   /* first Sender Sequence Number: 0, or the stored limit */
	uint64_t persist_step; /* K: numbers reserved per persist call; 0 = the default */
	int (*persist)(void *persist_arg, uint64_t limit);
	void *persist_arg;
	/* The replay window was lost (a restored context on a server, Appendix B.1.2): requests are
	 * refused with VOUCH_ERR_OSCORE_REPLAY until vouch_oscore_replay_sync(). */
	bool replay_window_lost;
};

/*
 * A security context: common, sender and recipient parts. Caller-allocated; the fields are the
 * module's (tests read the derived values). Keys and the Common IV are wiped by _clear.
 */
struct vouch_oscore_ctx {
	uint8_t sender_key[VOUCH_OSCORE_KEY_LEN];
	uint8_t recipient_key[VOUCH_OSCORE_KEY_LEN];
	uint8_t common_iv[VOUCH_OSCORE_NONCE_LEN];
	uint8_t sender_id[VOUCH_OSCORE_MAX_ID_LEN];
	uint8_t recipient_id[VOUCH_OSCORE_MAX_ID_LEN];
	uint8_t id_context[VOUCH_OSCORE_MAX_ID_CONTEXT_LEN];
	uint8_t sender_id_len, recipient_id_len, id_context_len;
	bool has_id_context, send_kid_context;
	bool ready;
	uint64_t sender_seq; /* the next number to use */
	uint64_t seq_limit;  /* numbers below it are covered by the persisted limit */
	uint64_t persist_step;
	int (*persist)(void *persist_arg, uint64_t limit);
	void *persist_arg;
	/* replay window (server side): bit i of replay_bits = replay_top - i was received */
	uint64_t replay_top, replay_bits;
	bool replay_any, replay_synced;
};

/* Derive the context (section 3.2.1). On error the context is wiped and not usable. */
int vouch_oscore_ctx_init(struct vouch_oscore_ctx *ctx, const struct vouch_oscore_params *p);
/* Wipe keys and state; the context may be initialised again. */
void vouch_oscore_ctx_clear(struct vouch_oscore_ctx *ctx);

/* The next Sender Sequence Number, and the limit last persisted (VOUCH_OSCORE_MAX_SEQ + 1 for a
 * context without persist callback). */
uint64_t vouch_oscore_ctx_next_seq(const struct vouch_oscore_ctx *ctx);
uint64_t vouch_oscore_ctx_seq_limit(const struct vouch_oscore_ctx *ctx);

/* ---- the OSCORE option value (section 6.1) ---- */

/* A decoded option value. Pointers point into the decoded buffer. */
struct vouch_oscore_option {
	const uint8_t *piv; /* Partial IV, piv_len 0 = absent */
	size_t piv_len;
	bool has_kid;
	const uint8_t *kid;
	size_t kid_len;
	bool has_kid_context;
	const uint8_t *kid_context;
	size_t kid_context_len;
};

/* Strict decode: reserved flag bits, n = 6 or 7, a value of 0x00 (must be empty), a Partial IV
 * with a leading zero byte, truncation, and bytes left over without the kid flag are all
 * VOUCH_ERR_OSCORE. An empty value decodes to "nothing present". */
int vouch_oscore_option_decode(const uint8_t *value, size_t len, struct vouch_oscore_option *opt);
/* Encode; out needs at most 255 bytes (VOUCH_OSCORE_OPTION_MAX for what this module sends). */
int vouch_oscore_option_encode(const struct vouch_oscore_option *opt, uint8_t *out, size_t cap,
                               size_t *out_len);

/* Whether the option names this context as its recipient: kid present and equal to the
 * Recipient ID, and a kid context, when present, equal to the ID Context. A server decodes the
 * option first and picks the context with this before calling vouch_oscore_unprotect_request. */
bool vouch_oscore_ctx_matches(const struct vouch_oscore_ctx *ctx,
                              const struct vouch_oscore_option *opt);

/* ---- the inner message (section 5.3) ---- */

/* One CoAP option: number and value (pointing into the caller's buffer). */
struct vouch_coap_option {
	uint16_t number;
	uint16_t len;
	const uint8_t *value;
};

/* Whether an option of this number travels inside the ciphertext (Class E, section 4.1). Only the
 * Class U options are false: Uri-Host, Uri-Port, OSCORE, Hop-Limit (RFC 8768), EDHOC (RFC 9668),
 * Proxy-Uri, Proxy-Scheme; unknown options are Class E. Options that are both (Observe, Max-Age,
 * Block1/2, Size1/2, No-Response) are true: their inner instance is the end-to-end one. */
bool vouch_oscore_option_is_inner(uint16_t number);

/* Encode the plaintext: code, then the options in CoAP option encoding (numbers ascending, equal
 * numbers for repeated options), then 0xFF and the payload when payload_len > 0. An OSCORE
 * option, option number 0 and descending numbers are VOUCH_ERR_INVALID. */
int vouch_oscore_inner_encode(uint8_t code, const struct vouch_coap_option *opts, size_t n_opts,
                              const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap,
                              size_t *out_len);

/* Decode strictly: a code that is not a request (0.01-0.31) or response (2.xx, 4.xx, 5.xx) code,
 * the reserved nibble 15 outside the payload marker, option numbers 0 or above 65535, an inner
 * OSCORE option, truncated values and a payload marker followed by nothing are VOUCH_ERR_OSCORE.
 * More options than max_opts is VOUCH_ERR_BUFFER. Options and payload point into pt. */
int vouch_oscore_inner_decode(const uint8_t *pt, size_t len, uint8_t *code,
                              struct vouch_coap_option *opts, size_t max_opts, size_t *n_opts,
                              const uint8_t **payload, size_t *payload_len);

/* ---- message protection (sections 5 and 8) ----
 *
 * pt is an encoded inner message (vouch_oscore_inner_encode). Protecting writes pt_len +
 * VOUCH_OSCORE_TAG_LEN bytes of ciphertext (the OSCORE message's payload; ct may be pt itself)
 * and the OSCORE option value. Unprotecting writes ct_len - VOUCH_OSCORE_TAG_LEN bytes of
 * plaintext, checked to be a well-formed inner message (pt may be ct itself), and wipes it on
 * every error.
 */

/* What binds a response to its request (section 7.1): kept by both sides with the token until
 * the response is protected / verified. Filled by vouch_oscore_protect_request (client) and
 * vouch_oscore_unprotect_request (server); opaque to callers. */
struct vouch_oscore_request {
	uint8_t kid[VOUCH_OSCORE_MAX_ID_LEN]; /* the client's Sender ID */
	uint8_t piv[VOUCH_OSCORE_MAX_PIV_LEN];
	uint8_t kid_len, piv_len;
	uint64_t seq;
	bool valid;
	bool client;     /* made by protect_request (else by unprotect_request) */
	bool nonce_used; /* server: the request nonce has been used for a response */
	bool answered;   /* client: a response has been verified */
};

/* Client: protect a request with the next Sender Sequence Number (persisting the limit first
 * when needed). The outer code is VOUCH_COAP_CODE_POST. A used-up context (sequence number past
 * VOUCH_OSCORE_MAX_SEQ) is VOUCH_ERR_OSCORE_CONTEXT; a failing persist callback's error is
 * returned (VOUCH_ERR_IO when it returned a non-error) and no number is used. */
int vouch_oscore_protect_request(struct vouch_oscore_ctx *ctx, const uint8_t *pt, size_t pt_len,
                                 uint8_t *ct, size_t ct_cap, size_t *ct_len,
                                 uint8_t opt[VOUCH_OSCORE_OPTION_MAX], size_t *opt_len,
                                 struct vouch_oscore_request *req);

/* Server: verify and decrypt a request whose option names this context (see
 * vouch_oscore_ctx_matches; another kid or kid context is VOUCH_ERR_OSCORE_CONTEXT). A request
 * without Partial IV or kid is VOUCH_ERR_OSCORE; a Partial IV already received or older than the
 * replay window is VOUCH_ERR_OSCORE_REPLAY (checked before, recorded after decryption); the inner
 * code must be a request code. req binds the response. */
int vouch_oscore_unprotect_request(struct vouch_oscore_ctx *ctx, const uint8_t *opt, size_t opt_len,
                                   const uint8_t *ct, size_t ct_len, uint8_t *pt, size_t pt_cap,
                                   size_t *pt_len, struct vouch_oscore_request *req);

/* Server: protect a response to req. own_piv false reuses the request's nonce (no Partial IV;
 * allowed once per request, else VOUCH_ERR_INVALID); true takes the next Sender Sequence Number
 * and sends it (Appendix B.1.2, or whenever the server prefers). The outer code is
 * VOUCH_COAP_CODE_CHANGED. */
int vouch_oscore_protect_response(struct vouch_oscore_ctx *ctx, struct vouch_oscore_request *req,
                                  bool own_piv, const uint8_t *pt, size_t pt_len, uint8_t *ct,
                                  size_t ct_cap, size_t *ct_len,
                                  uint8_t opt[VOUCH_OSCORE_OPTION_MAX], size_t *opt_len);

/* Client: verify and decrypt the response to req. One response per request is accepted (a
 * second is VOUCH_ERR_OSCORE_REPLAY); a kid other than the Recipient ID is
 * VOUCH_ERR_OSCORE_CONTEXT; a kid context, or an inner Observe option (not supported), is
 * VOUCH_ERR_OSCORE; the inner code must be a response code. */
int vouch_oscore_unprotect_response(struct vouch_oscore_ctx *ctx, struct vouch_oscore_request *req,
                                    const uint8_t *opt, size_t opt_len, const uint8_t *ct,
                                    size_t ct_len, uint8_t *pt, size_t pt_cap, size_t *pt_len);

/*
 * Replay window re-initialisation after a restart (Appendix B.1.2), for contexts initialised with
 * replay_window_lost. _resync verifies and decrypts a request without consulting or updating the
 * window (VOUCH_ERR_INVALID on a synchronised context); the request may be a replay, so the
 * caller must not act on it: either it carries an Echo value the caller issued (RFC 9175), and
 * then vouch_oscore_replay_sync(ctx, req) makes its Partial IV the lower limit of the window
 * (every number up to it counts as received) and the request is processed normally; or the caller
 * answers 4.01 with an Echo option through vouch_oscore_protect_response(..., own_piv = true) —
 * the request nonce cannot be reused for an unsynchronised request.
 */
int vouch_oscore_unprotect_request_resync(struct vouch_oscore_ctx *ctx, const uint8_t *opt,
                                          size_t opt_len, const uint8_t *ct, size_t ct_len,
                                          uint8_t *pt, size_t pt_cap, size_t *pt_len,
                                          struct vouch_oscore_request *req);
int vouch_oscore_replay_sync(struct vouch_oscore_ctx *ctx, struct vouch_oscore_request *req);

/* ---- building blocks, exposed for tests and diagnostics ---- */

/* The HKDF info (section 3.2.1) for a key (is_iv false, L = 16) or the Common IV (L = 13). */
int vouch_oscore_kdf_info(const uint8_t *id, size_t id_len, bool has_id_context,
                          const uint8_t *id_context, size_t id_context_len, bool is_iv,
                          uint8_t *out, size_t cap, size_t *out_len);
/* The AEAD nonce (section 5.2) for a Partial IV given as a sequence number. */
int vouch_oscore_nonce(const uint8_t common_iv[VOUCH_OSCORE_NONCE_LEN], const uint8_t *id_piv,
                       size_t id_piv_len, uint64_t seq, uint8_t nonce[VOUCH_OSCORE_NONCE_LEN]);
/* The aad_array (section 5.4; no Class I options) and the AAD = Enc_structure around it. */
int vouch_oscore_aad_array(const uint8_t *request_kid, size_t kid_len, const uint8_t *request_piv,
                           size_t piv_len, uint8_t *out, size_t cap, size_t *out_len);
int vouch_oscore_aad(const uint8_t *request_kid, size_t kid_len, const uint8_t *request_piv,
                     size_t piv_len, uint8_t out[VOUCH_OSCORE_AAD_MAX], size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
