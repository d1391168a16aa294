/*
 * vouch — COSE (RFC 9052 structures, RFC 9053 algorithms).
 *
 * Supported: COSE_Sign1 (ES256, EdDSA), COSE_Mac0 (HMAC 256/64, HMAC 256/256), COSE_Encrypt0 and
 * COSE_Encrypt (AES-CCM algs 10-13 and 30-33, A128GCM/A192GCM/A256GCM), COSE_Encrypt recipients
 * (direct, A128KW/A192KW/A256KW, ECDH-ES + HKDF-256, ECDH-ES + A128KW/A192KW/A256KW on P-256),
 * and COSE_Key (EC2 P-256, OKP Ed25519, Symmetric).
 *
 * Decoding is strict and zero-copy: a decoded message holds pointers into the caller's buffer,
 * which must outlive it. A message is refused with a named error when its CBOR is not strict
 * (see cbor.h), when it has the wrong shape or tag, when a header label appears in both buckets,
 * when a header has the wrong type, or when a critical header is not understood. Verification
 * and decryption also check that the algorithm fits the key.
 *
 * Creation writes into a caller buffer; VOUCH_ERR_BUFFER when it does not fit.
 */
#ifndef VOUCH_COSE_H
#define VOUCH_COSE_H

#include "vouch/cbor.h"
#include "vouch/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CBOR tags (RFC 9052 §2) */
#define VOUCH_COSE_TAG_SIGN1    18
#define VOUCH_COSE_TAG_MAC0     17
#define VOUCH_COSE_TAG_ENCRYPT0 16
#define VOUCH_COSE_TAG_ENCRYPT  96

/* Header labels (RFC 9052 §3.1, RFC 9053) */
enum vouch_cose_label {
	VOUCH_COSE_HDR_ALG = 1,
	VOUCH_COSE_HDR_CRIT = 2,
	VOUCH_COSE_HDR_CONTENT_TYPE = 3,
	VOUCH_COSE_HDR_KID = 4,
	VOUCH_COSE_HDR_IV = 5,
	VOUCH_COSE_HDR_PARTIAL_IV = 6,
	VOUCH_COSE_HDR_KID_CONTEXT = 10, /* RFC 8613 */
	VOUCH_COSE_HDR_EPHEMERAL_KEY = -1,
	VOUCH_COSE_HDR_STATIC_KEY = -2,
	VOUCH_COSE_HDR_STATIC_KEY_ID = -3,
	VOUCH_COSE_HDR_SALT = -20,
	VOUCH_COSE_HDR_PARTY_U_IDENTITY = -21,
	VOUCH_COSE_HDR_PARTY_U_NONCE = -22,
	VOUCH_COSE_HDR_PARTY_U_OTHER = -23,
	VOUCH_COSE_HDR_PARTY_V_IDENTITY = -24,
	VOUCH_COSE_HDR_PARTY_V_NONCE = -25,
	VOUCH_COSE_HDR_PARTY_V_OTHER = -26,
};

/* Algorithms (RFC 9053) */
enum vouch_cose_alg {
	VOUCH_COSE_ALG_ES256 = -7,
	VOUCH_COSE_ALG_EDDSA = -8,
	VOUCH_COSE_ALG_HMAC_256_64 = 4,
	VOUCH_COSE_ALG_HMAC_256_256 = 5,
	VOUCH_COSE_ALG_A128GCM = 1,
	VOUCH_COSE_ALG_A192GCM = 2,
	VOUCH_COSE_ALG_A256GCM = 3,
	VOUCH_COSE_ALG_AES_CCM_16_64_128 = 10,
	VOUCH_COSE_ALG_AES_CCM_16_64_256 = 11,
	VOUCH_COSE_ALG_AES_CCM_64_64_128 = 12,
	VOUCH_COSE_ALG_AES_CCM_64_64_256 = 13,
	VOUCH_COSE_ALG_AES_CCM_16_128_128 = 30,
	VOUCH_COSE_ALG_AES_CCM_16_128_256 = 31,
	VOUCH_COSE_ALG_AES_CCM_64_128_128 = 32,
	VOUCH_COSE_ALG_AES_CCM_64_128_256 = 33,
	VOUCH_COSE_ALG_DIRECT = -6,
	VOUCH_COSE_ALG_A128KW = -3,
	VOUCH_COSE_ALG_A192KW = -4,
	VOUCH_COSE_ALG_A256KW = -5,
	VOUCH_COSE_ALG_ECDH_ES_HKDF_256 = -25,
	VOUCH_COSE_ALG_ECDH_ES_A128KW = -29,
	VOUCH_COSE_ALG_ECDH_ES_A192KW = -30,
	VOUCH_COSE_ALG_ECDH_ES_A256KW = -31,
};

/* Content-encryption algorithm parameters, or VOUCH_ERR_UNSUPPORTED. */
struct vouch_cose_aead_info {
	bool ccm; /* else GCM */
	size_t key_len, nonce_len, tag_len;
};
int vouch_cose_aead_info(int64_t alg, struct vouch_cose_aead_info *info);

/* The parsed headers of one COSE layer (protected and unprotected together). Absent byte-string
 * parameters have p == NULL and len 0; has_* flags tell presence for the others. */
struct vouch_cose_headers {
	const uint8_t *protected_bstr; /* contents of the protected bstr; length 0 when it is empty
					or holds an empty map (RFC 9052 §3: h'' in the structures) */
	size_t protected_len;
	const uint8_t *unprotected_map; /* raw encoding of the unprotected map */
	size_t unprotected_len;

	bool has_alg;
	int64_t alg;
	bool has_content_type;
	int64_t content_type_uint; /* when the content type is a uint */
	const char *content_type_text; /* when it is a tstr */
	size_t content_type_text_len;
	const uint8_t *kid;
	size_t kid_len;
	const uint8_t *iv;
	size_t iv_len;
	const uint8_t *partial_iv;
	size_t partial_iv_len;
	const uint8_t *kid_context;
	size_t kid_context_len;
	const uint8_t *ephemeral_key; /* raw COSE_Key map */
	size_t ephemeral_key_len;
	const uint8_t *salt;
	size_t salt_len;
	const uint8_t *party_u_identity, *party_u_nonce, *party_u_other;
	size_t party_u_identity_len, party_u_nonce_len, party_u_other_len;
	const uint8_t *party_v_identity, *party_v_nonce, *party_v_other;
	size_t party_v_identity_len, party_v_nonce_len, party_v_other_len;
};

/* What an encoder puts in the headers of the layer it creates. alg always goes in the protected
 * header; kid goes there too when kid_protected. iv, when NULL for an encryption, is generated
 * fresh. extra_protected / extra_unprotected: already-encoded map entries (key, value pairs,
 * extra_*_count of them) for headers this API does not name. */
struct vouch_cose_hdr_params {
	int64_t alg; /* 0: the default for the key / layer */
	const uint8_t *kid;
	size_t kid_len;
	bool kid_protected;
	bool has_content_type;
	uint64_t content_type;
	const uint8_t *iv;
	size_t iv_len;
	const uint8_t *partial_iv;
	size_t partial_iv_len;
	const uint8_t *extra_protected;
	size_t extra_protected_len, extra_protected_count;
	const uint8_t *extra_unprotected;
	size_t extra_unprotected_len, extra_unprotected_count;
};

/* ---- COSE_Sign1 ---- */

struct vouch_cose_sign1 {
	struct vouch_cose_headers hdr;
	const uint8_t *payload; /* NULL when detached (nil) */
	size_t payload_len;
	const uint8_t *signature;
	size_t signature_len;
};

/* Sign payload with key (ES256 for P-256, EdDSA for Ed25519; hp->alg must agree if set).
 * tagged: wrap in tag 18. detached: write nil as payload. */
int vouch_cose_sign1_create(const struct vouch_key *key, const struct vouch_cose_hdr_params *hp,
			    const uint8_t *payload, size_t payload_len, const uint8_t *external_aad,
			    size_t aad_len, bool tagged, bool detached, uint8_t *out, size_t cap,
			    size_t *out_len);
/* Accepts the tagged (18) and the untagged form. */
int vouch_cose_sign1_decode(const uint8_t *buf, size_t len, struct vouch_cose_sign1 *msg);
/* detached_payload is used when the message's payload is nil (and must be NULL otherwise). */
int vouch_cose_sign1_verify(const struct vouch_cose_sign1 *msg, const struct vouch_key *key,
			    const uint8_t *external_aad, size_t aad_len,
			    const uint8_t *detached_payload, size_t detached_len);

/* ---- COSE_Mac0 ---- */

struct vouch_cose_mac0 {
	struct vouch_cose_headers hdr;
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *tag;
	size_t tag_len;
};

int vouch_cose_mac0_create(const uint8_t *key, size_t key_len,
			   const struct vouch_cose_hdr_params *hp, const uint8_t *payload,
			   size_t payload_len, const uint8_t *external_aad, size_t aad_len,
			   bool tagged, uint8_t *out, size_t cap, size_t *out_len);
int vouch_cose_mac0_decode(const uint8_t *buf, size_t len, struct vouch_cose_mac0 *msg);
/* Constant-time tag comparison. */
int vouch_cose_mac0_verify(const struct vouch_cose_mac0 *msg, const uint8_t *key, size_t key_len,
			   const uint8_t *external_aad, size_t aad_len);

/* ---- COSE_Encrypt0 ---- */

struct vouch_cose_encrypt0 {
	struct vouch_cose_headers hdr;
	const uint8_t *ciphertext; /* includes the tag */
	size_t ciphertext_len;
};

/* hp->alg is required (an AEAD alg). The nonce is hp->iv, or fresh random bytes put in the
 * unprotected iv header when hp->iv is NULL and hp->partial_iv is NULL. With hp->partial_iv,
 * the nonce is base_iv XOR the left-padded partial IV (RFC 9052 §3.1). */
int vouch_cose_encrypt0_create(const uint8_t *key, size_t key_len,
			       const struct vouch_cose_hdr_params *hp, const uint8_t *base_iv,
			       size_t base_iv_len, const uint8_t *pt, size_t pt_len,
			       const uint8_t *external_aad, size_t aad_len, bool tagged,
			       uint8_t *out, size_t cap, size_t *out_len);
int vouch_cose_encrypt0_decode(const uint8_t *buf, size_t len, struct vouch_cose_encrypt0 *msg);
/* base_iv may be NULL unless the message carries a Partial IV. pt gets ciphertext_len - tag
 * bytes; VOUCH_ERR_VERIFY (pt wiped) when it does not authenticate. */
int vouch_cose_encrypt0_decrypt(const struct vouch_cose_encrypt0 *msg, const uint8_t *key,
				size_t key_len, const uint8_t *base_iv, size_t base_iv_len,
				const uint8_t *external_aad, size_t aad_len, uint8_t *pt,
				size_t pt_cap, size_t *pt_len);

/* ---- COSE_Encrypt with recipients ---- */

/* One recipient, as the sender sees it. */
struct vouch_cose_recipient {
	int64_t alg;                  /* DIRECT, AxxxKW, ECDH_ES_HKDF_256, ECDH_ES_AxxxKW */
	const struct vouch_key *peer; /* ECDH-ES: the recipient's public P-256 key */
	const uint8_t *kek;           /* DIRECT: the CEK; AxxxKW: the KEK */
	size_t kek_len;
	const uint8_t *kid;           /* put in the recipient's unprotected header when set */
	size_t kid_len;
	const struct vouch_key *ephemeral; /* tests only: a fixed ephemeral key; NULL = fresh */
};

/* At most one DIRECT or ECDH_ES_HKDF_256 recipient, and then no other (RFC 9052 §8.5). The CEK
 * is random (or the direct / derived key). */
int vouch_cose_encrypt_create(const struct vouch_cose_hdr_params *hp,
			      const struct vouch_cose_recipient *rcpt, size_t n_rcpt,
			      const uint8_t *pt, size_t pt_len, const uint8_t *external_aad,
			      size_t aad_len, bool tagged, uint8_t *out, size_t cap,
			      size_t *out_len);

struct vouch_cose_encrypt {
	struct vouch_cose_headers hdr;
	const uint8_t *ciphertext;
	size_t ciphertext_len;
	const uint8_t *recipients; /* raw encoding of the recipients array */
	size_t recipients_len;
	size_t n_recipients;
};

/* The receiving side's key: a private P-256 key for ECDH-ES recipients, or a symmetric key
 * (KEK or direct CEK). kid, when set, selects recipients by kid; otherwise every recipient of a
 * matching algorithm family is tried. */
struct vouch_cose_recipient_key {
	const struct vouch_key *priv;
	const uint8_t *secret;
	size_t secret_len;
	const uint8_t *kid;
	size_t kid_len;
};

int vouch_cose_encrypt_decode(const uint8_t *buf, size_t len, struct vouch_cose_encrypt *msg);
int vouch_cose_encrypt_decrypt(const struct vouch_cose_encrypt *msg,
			       const struct vouch_cose_recipient_key *rk,
			       const uint8_t *external_aad, size_t aad_len, uint8_t *pt,
			       size_t pt_cap, size_t *pt_len);

/* ---- COSE_Key (RFC 9052 §7, RFC 9053 §7) ---- */

#define VOUCH_COSE_KTY_OKP       1
#define VOUCH_COSE_KTY_EC2       2
#define VOUCH_COSE_KTY_SYMMETRIC 4
#define VOUCH_COSE_CRV_P256      1
#define VOUCH_COSE_CRV_ED25519   6

struct vouch_cose_key {
	int64_t kty;
	bool has_alg;
	int64_t alg;
	int64_t crv; /* EC2 / OKP */
	const uint8_t *kid;
	size_t kid_len;
	const uint8_t *x, *y, *d, *k;
	size_t x_len, y_len, d_len, k_len;
};

/* Decode one COSE_Key map occupying the whole buffer. */
int vouch_cose_key_decode(const uint8_t *buf, size_t len, struct vouch_cose_key *ck);
/* Decode the COSE_Key map at the reader's position (for keys embedded in other structures). */
int vouch_cose_key_read(struct vouch_cbor_reader *r, struct vouch_cose_key *ck);
/* Make a public-key handle (EC2 P-256 or OKP Ed25519). */
int vouch_cose_key_to_public(const struct vouch_cose_key *ck, struct vouch_key *key);
/* Make a private-key handle from d (tests and vectors only). */
int vouch_cose_key_to_private(const struct vouch_cose_key *ck, struct vouch_key *key);
/* Write the public COSE_Key of key (kty, crv, x[, y][, kid][, alg when non-zero]). */
void vouch_cose_key_write_public(struct vouch_cbor_writer *w, const struct vouch_key *key,
				 const uint8_t *kid, size_t kid_len, int64_t alg);

#ifdef __cplusplus
}
#endif
#endif
