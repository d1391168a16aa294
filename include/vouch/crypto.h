/*
 * vouch — the crypto port.
 *
 * One small interface over the primitives vouch needs, with two back-ends compiled side by side:
 * lib/crypto_openssl.c (OpenSSL 3; servers, phones, CLIs) and lib/crypto_psa.c (PSA Crypto on
 * Mbed TLS; sensors). A program links exactly one of them.
 *
 * Asymmetric keys are handles (struct vouch_key): the private half may live in a token or secure
 * element and is never visible to the caller; the port has no call that exports a private key.
 * Symmetric keys are byte strings the caller owns and wipes (they are derived per session, and
 * the AEAD/KDF code paths of both back-ends need them in memory anyway).
 *
 * Sizes are in the signatures; outputs of fixed size take arrays of that size.
 */
#ifndef VOUCH_CRYPTO_H
#define VOUCH_CRYPTO_H

#include "vouch/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_SHA256_LEN      32
#define VOUCH_P256_SCALAR_LEN 32
#define VOUCH_P256_POINT_LEN  65 /* SEC1 uncompressed: 0x04 || x || y */
#define VOUCH_P256_COMPRESSED_LEN 33 /* SEC1 compressed: 0x02 / 0x03 (y even / odd) || x */
#define VOUCH_P256_SIG_LEN    64 /* raw r || s, as COSE uses */
#define VOUCH_ED25519_KEY_LEN 32
#define VOUCH_ED25519_SIG_LEN 64
#define VOUCH_X25519_KEY_LEN  32
#define VOUCH_AES_KW_BLOCK    8

/* A byte range; messages made of several pieces are passed as arrays of these. */
struct vouch_iov {
	const void *base;
	size_t len;
};

/* ---- random ---- */

/* Fill buf with len bytes from the back-end's CSPRNG. */
int vouch_random(void *buf, size_t len);

/* ---- hashing and MACs ---- */

int vouch_sha256(const void *data, size_t len, uint8_t out[VOUCH_SHA256_LEN]);
/* SHA-256 over the concatenation of iovcnt pieces. */
int vouch_sha256_v(const struct vouch_iov *iov, size_t iovcnt, uint8_t out[VOUCH_SHA256_LEN]);

/* Incremental SHA-256, for input made piece by piece and never held whole (e.g. the base64url
 * text of a token, RFC 9770 token hashes). _init, any number of _update, then _final, which
 * releases the back-end state; _clear releases it without a result (a no-op after _final or on a
 * failed _init). A failed _update or _final releases the state too.
 * The OpenSSL back-end allocates its state; the PSA back-end keeps its hash operation (232 bytes
 * in Mbed TLS 2.28, checked at compile time) inside the context, so it hashes without malloc. */
#define VOUCH_SHA256_CTX_SIZE 256
struct vouch_sha256_ctx {
	union {
		void *h; /* OpenSSL: the EVP_MD_CTX */
		uint64_t inplace[VOUCH_SHA256_CTX_SIZE / sizeof(uint64_t)]; /* PSA: the operation */
	};
};
int vouch_sha256_init(struct vouch_sha256_ctx *ctx);
int vouch_sha256_update(struct vouch_sha256_ctx *ctx, const void *data, size_t len);
int vouch_sha256_final(struct vouch_sha256_ctx *ctx, uint8_t out[VOUCH_SHA256_LEN]);
void vouch_sha256_clear(struct vouch_sha256_ctx *ctx);

int vouch_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
		      uint8_t out[VOUCH_SHA256_LEN]);
int vouch_hmac_sha256_v(const uint8_t *key, size_t key_len, const struct vouch_iov *iov,
			size_t iovcnt, uint8_t out[VOUCH_SHA256_LEN]);

/* RFC 5869. out_len <= 255 * 32, else VOUCH_ERR_INVALID. salt may be NULL (= 32 zero bytes). */
int vouch_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
		      const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);
int vouch_hkdf_sha256_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
			      size_t ikm_len, uint8_t prk[VOUCH_SHA256_LEN]);
int vouch_hkdf_sha256_expand(const uint8_t prk[VOUCH_SHA256_LEN], const uint8_t *info,
			     size_t info_len, uint8_t *out, size_t out_len);

/* ---- AEAD ----
 *
 * ct has room for pt_len + tag_len bytes: ciphertext followed by the tag. Decryption takes the
 * same layout (ct_len includes the tag) and writes ct_len - tag_len bytes to pt; on a bad tag
 * it returns VOUCH_ERR_VERIFY and pt is wiped. pt and ct may be the same buffer.
 *
 * AES-CCM (RFC 3610 / NIST SP 800-38C): key 16, 24 or 32 bytes; nonce 7..13 bytes; tag
 * 4, 6, 8, 10, 12, 14 or 16 bytes. COSE algs 10-13 and 30-33 are the 13- and 7-byte-nonce cases.
 * AES-GCM: key 16, 24 or 32 bytes; nonce >= 1 byte (COSE uses 12); tag 16 bytes for COSE,
 * 4..16 accepted here for the vectors' sake. */
int vouch_aes_ccm_encrypt(const uint8_t *key, size_t key_len, const uint8_t *nonce,
			  size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
			  size_t pt_len, size_t tag_len, uint8_t *ct);
int vouch_aes_ccm_decrypt(const uint8_t *key, size_t key_len, const uint8_t *nonce,
			  size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
			  size_t ct_len, size_t tag_len, uint8_t *pt);
int vouch_aes_gcm_encrypt(const uint8_t *key, size_t key_len, const uint8_t *nonce,
			  size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
			  size_t pt_len, size_t tag_len, uint8_t *ct);
int vouch_aes_gcm_decrypt(const uint8_t *key, size_t key_len, const uint8_t *nonce,
			  size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
			  size_t ct_len, size_t tag_len, uint8_t *pt);

/* ---- AES key wrap (RFC 3394, default IV) ----
 * Wrap: in_len a multiple of 8 and >= 16; out has in_len + 8 bytes.
 * Unwrap: in_len a multiple of 8 and >= 24; out has in_len - 8 bytes; integrity failure is
 * VOUCH_ERR_VERIFY with out wiped. */
int vouch_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
		      uint8_t *out);
int vouch_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
			uint8_t *out);

/* ---- asymmetric keys ---- */

enum vouch_key_type {
	VOUCH_KEY_NONE = 0,
	VOUCH_KEY_P256 = 1,    /* ECDSA (ES256) and ECDH on secp256r1 */
	VOUCH_KEY_ED25519 = 2, /* EdDSA (pure Ed25519) */
	VOUCH_KEY_X25519 = 3,  /* ECDH on Curve25519 (RFC 7748); EDHOC cipher suite 0 */
};

#define VOUCH_KEY_F_PRIVATE 0x1u /* the handle can sign / agree */

/*
 * A key handle, allocated by the caller. The fields are the back-end's: callers use only the
 * functions below. Always vouch_key_init() first and vouch_key_clear() after; clearing releases
 * the back-end object (and, for a persistent secure-element key, only the handle: the key stays).
 */
struct vouch_key {
	enum vouch_key_type type;
	uint32_t flags;
	union {
		void *ptr;   /* OpenSSL: EVP_PKEY * */
		uint32_t id; /* PSA: psa_key_id_t */
	} h;
};

void vouch_key_init(struct vouch_key *key);
void vouch_key_clear(struct vouch_key *key);

bool vouch_key_is_private(const struct vouch_key *key);

/* Generate a fresh private key inside the back-end (non-extractable where the back-end can
 * enforce it). */
int vouch_key_generate(struct vouch_key *key, enum vouch_key_type type);

/* Import a private key from its raw form (P-256: the 32-byte big-endian scalar; Ed25519: the
 * 32-byte seed; X25519: the 32-byte scalar as RFC 7748 writes it). For tests, vectors and migration only; production keys are generated. */
int vouch_key_import_private(struct vouch_key *key, enum vouch_key_type type, const uint8_t *raw,
			     size_t raw_len);

/* Import a public key. P-256: SEC1 uncompressed (65 bytes) or compressed (33 bytes: EDHOC sends
 * only x, and either y gives the same ECDH result) point; the point is checked to be on the
 * curve. Ed25519, X25519: 32 bytes. Export always writes the uncompressed form. */
int vouch_key_import_public(struct vouch_key *key, enum vouch_key_type type, const uint8_t *raw,
			    size_t raw_len);

/* Import a public key from a DER SubjectPublicKeyInfo (as in X.509 certificates). */
int vouch_key_import_spki(struct vouch_key *key, const uint8_t *der, size_t der_len);

/* Write the public half: P-256 as a 65-byte SEC1 uncompressed point, Ed25519 and X25519 as 32
 * bytes. */
int vouch_key_export_public(const struct vouch_key *key, uint8_t *out, size_t out_cap,
			    size_t *out_len);

/*
 * Signatures over a message given as iovcnt pieces (hashed in place: no copy).
 * P-256: ECDSA with SHA-256, signature raw r||s (64 bytes). Verification refuses any other
 * length, r or s out of range, and non-canonical encodings by construction.
 * Ed25519: pure EdDSA (RFC 8032); the back-end may need to join the pieces.
 */
int vouch_sign(const struct vouch_key *key, const struct vouch_iov *msg, size_t iovcnt,
	       uint8_t *sig, size_t sig_cap, size_t *sig_len);
int vouch_verify(const struct vouch_key *key, const struct vouch_iov *msg, size_t iovcnt,
		 const uint8_t *sig, size_t sig_len);

/* ECDH on P-256: the x-coordinate of priv * peer, 32 bytes. The caller wipes it. */
int vouch_ecdh_p256(const struct vouch_key *priv, const struct vouch_key *peer,
		    uint8_t out[VOUCH_P256_SCALAR_LEN]);

/* X25519 (RFC 7748): 32 bytes. An all-zero result (a low-order peer point) is refused with
 * VOUCH_ERR_KEY, as RFC 7748 section 6.1 allows and EDHOC needs. The caller wipes out. */
int vouch_ecdh_x25519(const struct vouch_key *priv, const struct vouch_key *peer,
		      uint8_t out[VOUCH_X25519_KEY_LEN]);

/* ---- persistent keys (a device's secure element) ----
 *
 * A persistent key lives in the back-end's key store under a numeric id (1..0x3fffffff) and
 * survives restarts; the handle only refers to it. The PSA back-end creates P-256 keys with the
 * usages sign, verify and derive (ECDSA with SHA-256 and, as the enrolment algorithm, ECDH) and
 * never the export usage, so no code path can read the private key. Where the key store lives is
 * the back-end's business (PSA: see vouch_psa_set_storage() in vouch/psa.h).
 * The OpenSSL back-end has no such store (its keys live in PKCS#11 tokens, vouch/p11.h) and
 * returns VOUCH_ERR_UNSUPPORTED.
 *
 * _generate fails with VOUCH_ERR_KEY_EXISTS when the id is taken; _open with
 * VOUCH_ERR_KEY_NOT_FOUND when it is free. _destroy erases the key from the store
 * (decommissioning); destroying a free id is VOUCH_ERR_KEY_NOT_FOUND. Clearing a handle to a persistent key leaves the key in the store. */
int vouch_key_generate_persistent(struct vouch_key *key, enum vouch_key_type type, uint32_t id);
int vouch_key_open_persistent(struct vouch_key *key, uint32_t id);
int vouch_key_destroy_persistent(uint32_t id);

/* The name of the back-end linked in ("openssl" or "psa"). */
const char *vouch_crypto_backend(void);

#ifdef __cplusplus
}
#endif
#endif
