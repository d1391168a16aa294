/*
 * The crypto port on OpenSSL 3, through the EVP interfaces only (no deprecated EC_KEY/ECDSA_do_*
 * calls). Keys are EVP_PKEY handles; symmetric keys are caller-owned byte strings.
 *
 * Every failure path drains OpenSSL's per-thread error queue so that a stale error can never be
 * mistaken for the cause of a later, unrelated failure.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "crypto_backend.h"
#include "vouch/crypto.h"

#define P256_GROUP_NAME "prime256v1"
#define AES_BLOCK_LEN   16
#define AEAD_TAG_MAX    16
#define HKDF_OUT_MAX    (255 * VOUCH_SHA256_LEN)
#define ECDSA_DER_MAX   80 /* SEQUENCE of two 33-byte INTEGERs, with headers: 72 at most */
#define P256_COORD_LEN  32

/* A non-NULL address for empty inputs: OpenSSL treats NULL as "no data" in some calls (CCM
 * finalisation, HMAC key reuse), which is not what a zero-length input means here. */
static const uint8_t empty_input[1];

/*
 * Called on every failure path. This is where logging will hook in (the queue holds the
 * library's reason for the failure); until then the queue is only cleared.
 */
static void drain_openssl_errors(void)
{
	ERR_clear_error();
}

static const void *nonnull(const void *p)
{
	return p != NULL ? p : empty_input;
}

static bool iov_valid(const struct vouch_iov *iov, size_t iovcnt)
{
	if (iov == NULL && iovcnt > 0)
		return false;
	for (size_t i = 0; i < iovcnt; i++) {
		if (iov[i].base == NULL && iov[i].len > 0)
			return false;
	}
	return true;
}

/* ---- random ---- */

int vouch_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	if (buf == NULL && len > 0)
		return VOUCH_ERR_INVALID;
	while (len > 0) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(p, chunk) != 1) {
			drain_openssl_errors();
			vouch_wipe(buf, (size_t)(p - (uint8_t *)buf));
			return VOUCH_ERR_CRYPTO;
		}
		p += chunk;
		len -= (size_t)chunk;
	}
	return VOUCH_OK;
}

/* ---- hashing and MACs ---- */

int vouch_sha256_v(const struct vouch_iov *iov, size_t iovcnt, uint8_t out[VOUCH_SHA256_LEN])
{
	int rc = VOUCH_ERR_CRYPTO;
	EVP_MD_CTX *ctx;

	if (out == NULL || !iov_valid(iov, iovcnt))
		return VOUCH_ERR_INVALID;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_drain;
	}
	if (EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) != 1)
		goto out_free_ctx;
	for (size_t i = 0; i < iovcnt; i++) {
		if (iov[i].len > 0 && EVP_DigestUpdate(ctx, iov[i].base, iov[i].len) != 1)
			goto out_free_ctx;
	}
	if (EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		goto out_free_ctx;
	rc = VOUCH_OK;
out_free_ctx:
	EVP_MD_CTX_free(ctx);
out_drain:
	if (rc != VOUCH_OK) {
		drain_openssl_errors();
		vouch_wipe(out, VOUCH_SHA256_LEN);
	}
	return rc;
}

void vouch_sha256_clear(struct vouch_sha256_ctx *ctx)
{
	if (ctx == NULL)
		return;
	EVP_MD_CTX_free(ctx->h);
	ctx->h = NULL;
}

int vouch_sha256_init(struct vouch_sha256_ctx *ctx)
{
	EVP_MD_CTX *md;

	if (ctx == NULL)
		return VOUCH_ERR_INVALID;
	ctx->h = NULL;
	md = EVP_MD_CTX_new();
	if (md == NULL) {
		drain_openssl_errors();
		return VOUCH_ERR_NOMEM;
	}
	if (EVP_DigestInit_ex2(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		drain_openssl_errors();
		return VOUCH_ERR_CRYPTO;
	}
	ctx->h = md;
	return VOUCH_OK;
}

int vouch_sha256_update(struct vouch_sha256_ctx *ctx, const void *data, size_t len)
{
	if (ctx == NULL || ctx->h == NULL || (data == NULL && len > 0))
		return VOUCH_ERR_INVALID;
	if (len > 0 && EVP_DigestUpdate(ctx->h, data, len) != 1) {
		drain_openssl_errors();
		vouch_sha256_clear(ctx);
		return VOUCH_ERR_CRYPTO;
	}
	return VOUCH_OK;
}

int vouch_sha256_final(struct vouch_sha256_ctx *ctx, uint8_t out[VOUCH_SHA256_LEN])
{
	int rc = VOUCH_ERR_CRYPTO;

	if (ctx == NULL || ctx->h == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	if (EVP_DigestFinal_ex(ctx->h, out, NULL) == 1)
		rc = VOUCH_OK;
	if (rc != VOUCH_OK) {
		drain_openssl_errors();
		vouch_wipe(out, VOUCH_SHA256_LEN);
	}
	vouch_sha256_clear(ctx);
	return rc;
}

int vouch_hmac_sha256_v(const uint8_t *key, size_t key_len, const struct vouch_iov *iov,
                        size_t iovcnt, uint8_t out[VOUCH_SHA256_LEN])
{
	int rc = VOUCH_ERR_CRYPTO;
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t out_len = 0;

	if (out == NULL || (key == NULL && key_len > 0) || !iov_valid(iov, iovcnt))
		return VOUCH_ERR_INVALID;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		goto out_drain;
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free_mac;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	/* A NULL key would mean "reuse the previous key"; an empty key is a real (weak) key. */
	if (EVP_MAC_init(ctx, nonnull(key), key_len, params) != 1)
		goto out_free_ctx;
	for (size_t i = 0; i < iovcnt; i++) {
		if (iov[i].len > 0 && EVP_MAC_update(ctx, iov[i].base, iov[i].len) != 1)
			goto out_free_ctx;
	}
	if (EVP_MAC_final(ctx, out, &out_len, VOUCH_SHA256_LEN) != 1 || out_len != VOUCH_SHA256_LEN)
		goto out_free_ctx;
	rc = VOUCH_OK;
out_free_ctx:
	EVP_MAC_CTX_free(ctx);
out_free_mac:
	EVP_MAC_free(mac);
out_drain:
	if (rc != VOUCH_OK) {
		drain_openssl_errors();
		vouch_wipe(out, VOUCH_SHA256_LEN);
	}
	return rc;
}

/* ---- HKDF (RFC 5869) ---- */

static int hkdf_run(int mode, const uint8_t *salt, size_t salt_len, const uint8_t *key,
                    size_t key_len, const uint8_t *info, size_t info_len, uint8_t *out,
                    size_t out_len)
{
	/* RFC 5869: an absent salt is HashLen zero bytes; HMAC pads an empty key to the same. */
	static const uint8_t zero_salt[VOUCH_SHA256_LEN];
	int rc = VOUCH_ERR_CRYPTO;
	EVP_KDF *kdf;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[6];
	size_t n = 0;

	if (salt == NULL || salt_len == 0) {
		salt = zero_salt;
		salt_len = sizeof(zero_salt);
	}
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf == NULL)
		goto out_drain;
	ctx = EVP_KDF_CTX_new(kdf);
	if (ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free_kdf;
	}
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[n++] =
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)nonnull(key), key_len);
	if (mode != EVP_KDF_HKDF_MODE_EXPAND_ONLY)
		params[n++] =
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	if (mode != EVP_KDF_HKDF_MODE_EXTRACT_ONLY && info_len > 0)
		params[n++] =
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	params[n] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, params) != 1)
		goto out_free_ctx;
	rc = VOUCH_OK;
out_free_ctx:
	EVP_KDF_CTX_free(ctx);
out_free_kdf:
	EVP_KDF_free(kdf);
out_drain:
	if (rc != VOUCH_OK) {
		drain_openssl_errors();
		vouch_wipe(out, out_len);
	}
	return rc;
}

int vouch_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                      const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	if ((salt == NULL && salt_len > 0) || (ikm == NULL && ikm_len > 0) ||
	    (info == NULL && info_len > 0) || out == NULL || out_len == 0 || out_len > HKDF_OUT_MAX)
		return VOUCH_ERR_INVALID;
	return hkdf_run(EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, salt, salt_len, ikm, ikm_len, info,
	                info_len, out, out_len);
}

int vouch_hkdf_sha256_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                              size_t ikm_len, uint8_t prk[VOUCH_SHA256_LEN])
{
	if ((salt == NULL && salt_len > 0) || (ikm == NULL && ikm_len > 0) || prk == NULL)
		return VOUCH_ERR_INVALID;
	return hkdf_run(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, salt, salt_len, ikm, ikm_len, NULL, 0, prk,
	                VOUCH_SHA256_LEN);
}

int vouch_hkdf_sha256_expand(const uint8_t prk[VOUCH_SHA256_LEN], const uint8_t *info,
                             size_t info_len, uint8_t *out, size_t out_len)
{
	if (prk == NULL || (info == NULL && info_len > 0) || out == NULL || out_len == 0 ||
	    out_len > HKDF_OUT_MAX)
		return VOUCH_ERR_INVALID;
	return hkdf_run(EVP_KDF_HKDF_MODE_EXPAND_ONLY, NULL, 0, prk, VOUCH_SHA256_LEN, info,
	                info_len, out, out_len);
}

/* ---- AEAD ---- */

static EVP_CIPHER *fetch_aes(const char *mode, size_t key_len)
{
	char name[24];

	if (key_len != 16 && key_len != 24 && key_len != 32)
		return NULL;
	snprintf(name, sizeof(name), "AES-%zu-%s", key_len * 8, mode);
	return EVP_CIPHER_fetch(NULL, name, NULL);
}

int vouch_backend_aead_seal(enum vouch_aead_mode mode, const uint8_t *key, size_t key_len,
                            const uint8_t *nonce, size_t nonce_len, const uint8_t *aad,
                            size_t aad_len, const uint8_t *pt, size_t pt_len, size_t tag_len,
                            uint8_t *ct)
{
	int rc;
	EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx = NULL;
	int outl = 0, finl = 0;

	rc = VOUCH_ERR_CRYPTO;
	cipher = fetch_aes(mode == VOUCH_AEAD_CCM ? "CCM" : "GCM", key_len);
	if (cipher == NULL)
		goto out_drain;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free_cipher;
	}
	if (EVP_EncryptInit_ex2(ctx, cipher, NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)nonce_len, NULL) != 1)
		goto out_free_ctx;
	/* CCM fixes the tag length (M) before the key, and the message length before the AAD. */
	if (mode == VOUCH_AEAD_CCM &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, NULL) != 1)
		goto out_free_ctx;
	if (EVP_EncryptInit_ex2(ctx, NULL, key, nonce, NULL) != 1)
		goto out_free_ctx;
	if (mode == VOUCH_AEAD_CCM && EVP_EncryptUpdate(ctx, NULL, &outl, NULL, (int)pt_len) != 1)
		goto out_free_ctx;
	if (aad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)
		goto out_free_ctx;
	outl = 0;
	/* CCM computes its tag in this call even for an empty message (NULL input would mean
	 * "finalise" there); GCM ignores empty updates. */
	if ((mode == VOUCH_AEAD_CCM || pt_len > 0) &&
	    EVP_EncryptUpdate(ctx, ct, &outl, nonnull(pt), (int)pt_len) != 1)
		goto out_free_ctx;
	if (EVP_EncryptFinal_ex(ctx, ct + outl, &finl) != 1 ||
	    (size_t)outl + (size_t)finl != pt_len)
		goto out_free_ctx;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)tag_len, ct + pt_len) != 1)
		goto out_free_ctx;
	rc = VOUCH_OK;
out_free_ctx:
	EVP_CIPHER_CTX_free(ctx);
out_free_cipher:
	EVP_CIPHER_free(cipher);
out_drain:
	if (rc != VOUCH_OK) {
		drain_openssl_errors();
		/* pt may alias ct: nothing useful is left in either, and half-done output
		 * must not be mistaken for a result. */
		vouch_wipe(ct, pt_len + tag_len);
	}
	return rc;
}

int vouch_backend_aead_open(enum vouch_aead_mode mode, const uint8_t *key, size_t key_len,
                            const uint8_t *nonce, size_t nonce_len, const uint8_t *aad,
                            size_t aad_len, const uint8_t *ct, size_t ct_len, size_t tag_len,
                            uint8_t *pt)
{
	int rc;
	EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t tag[AEAD_TAG_MAX];
	uint8_t scratch[AES_BLOCK_LEN];
	size_t pt_len;
	int outl = 0, finl = 0;

	pt_len = ct_len - tag_len;
	/* GCM is handed the tag only after the ciphertext has gone through, by which time an
	 * output buffer overlapping the input could have overwritten it: keep a copy. */
	memcpy(tag, ct + pt_len, tag_len);
	rc = VOUCH_ERR_CRYPTO;
	cipher = fetch_aes(mode == VOUCH_AEAD_CCM ? "CCM" : "GCM", key_len);
	if (cipher == NULL)
		goto out_drain;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free_cipher;
	}
	if (EVP_DecryptInit_ex2(ctx, cipher, NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)nonce_len, NULL) != 1)
		goto out_free_ctx;
	if (mode == VOUCH_AEAD_CCM &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, tag) != 1)
		goto out_free_ctx;
	if (EVP_DecryptInit_ex2(ctx, NULL, key, nonce, NULL) != 1)
		goto out_free_ctx;
	if (mode == VOUCH_AEAD_CCM && EVP_DecryptUpdate(ctx, NULL, &outl, NULL, (int)pt_len) != 1)
		goto out_free_ctx;
	if (aad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)
		goto out_free_ctx;
	outl = 0;
	if (mode == VOUCH_AEAD_CCM) {
		/* CCM checks the tag inside this call. */
		if (EVP_DecryptUpdate(ctx, pt != NULL ? pt : scratch, &outl, ct, (int)pt_len) !=
		    1) {
			rc = VOUCH_ERR_VERIFY;
			goto out_free_ctx;
		}
	} else {
		if (pt_len > 0 && EVP_DecryptUpdate(ctx, pt, &outl, ct, (int)pt_len) != 1)
			goto out_free_ctx;
		if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, tag) != 1)
			goto out_free_ctx;
		/* GCM writes nothing here; the scratch block only keeps the pointer valid. */
		if (EVP_DecryptFinal_ex(ctx, scratch, &finl) != 1) {
			rc = VOUCH_ERR_VERIFY;
			goto out_free_ctx;
		}
	}
	if ((size_t)outl + (size_t)finl != pt_len)
		goto out_free_ctx;
	rc = VOUCH_OK;
out_free_ctx:
	EVP_CIPHER_CTX_free(ctx);
out_free_cipher:
	EVP_CIPHER_free(cipher);
out_drain:
	if (rc != VOUCH_OK) {
		drain_openssl_errors();
		vouch_wipe(pt, pt_len);
	}
	vouch_wipe(tag, sizeof(tag));
	return rc;
}

/* ---- AES key wrap (RFC 3394) ---- */

static int aes_kw(bool wrap, const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
                  uint8_t *out)
{
	int rc = VOUCH_ERR_CRYPTO;
	size_t out_len = wrap ? in_len + VOUCH_AES_KW_BLOCK : in_len - VOUCH_AES_KW_BLOCK;
	EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx = NULL;
	int outl = 0, finl = 0;

	cipher = fetch_aes("WRAP", kek_len);
	if (cipher == NULL)
		goto out_drain;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free_cipher;
	}
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	/* A NULL IV selects RFC 3394's default A6A6A6A6A6A6A6A6. */
	if (EVP_CipherInit_ex2(ctx, cipher, kek, NULL, wrap ? 1 : 0, NULL) != 1)
		goto out_free_ctx;
	if (EVP_CipherUpdate(ctx, out, &outl, in, (int)in_len) != 1 || outl < 0) {
		/* Unwrapping fails here when the integrity check value does not match. */
		rc = wrap ? VOUCH_ERR_CRYPTO : VOUCH_ERR_VERIFY;
		goto out_free_ctx;
	}
	if (EVP_CipherFinal_ex(ctx, out + outl, &finl) != 1)
		goto out_free_ctx;
	if ((size_t)outl + (size_t)finl != out_len)
		goto out_free_ctx;
	rc = VOUCH_OK;
out_free_ctx:
	EVP_CIPHER_CTX_free(ctx);
out_free_cipher:
	EVP_CIPHER_free(cipher);
out_drain:
	if (rc != VOUCH_OK) {
		drain_openssl_errors();
		vouch_wipe(out, out_len);
	}
	return rc;
}

static int aes_kw_check(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
                        size_t min_len, const uint8_t *out)
{
	if (kek == NULL || in == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	if (kek_len != 16 && kek_len != 24 && kek_len != 32)
		return VOUCH_ERR_KEY;
	if (in_len % VOUCH_AES_KW_BLOCK != 0 || in_len < min_len)
		return VOUCH_ERR_INVALID;
	if (in_len > (size_t)INT_MAX - 2 * VOUCH_AES_KW_BLOCK)
		return VOUCH_ERR_UNSUPPORTED;
	return VOUCH_OK;
}

int vouch_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
                      uint8_t *out)
{
	int rc = aes_kw_check(kek, kek_len, in, in_len, 2 * VOUCH_AES_KW_BLOCK, out);

	if (rc != VOUCH_OK)
		return rc;
	return aes_kw(true, kek, kek_len, in, in_len, out);
}

int vouch_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
                        uint8_t *out)
{
	int rc = aes_kw_check(kek, kek_len, in, in_len, 3 * VOUCH_AES_KW_BLOCK, out);

	if (rc != VOUCH_OK)
		return rc;
	return aes_kw(false, kek, kek_len, in, in_len, out);
}

/* ---- asymmetric keys ---- */

void vouch_key_init(struct vouch_key *key)
{
	if (key == NULL)
		return;
	memset(key, 0, sizeof(*key));
	key->type = VOUCH_KEY_NONE;
}

void vouch_key_clear(struct vouch_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->h.ptr);
	vouch_wipe(key, sizeof(*key));
	key->type = VOUCH_KEY_NONE;
}

bool vouch_key_is_private(const struct vouch_key *key)
{
	return key != NULL && key->h.ptr != NULL && (key->flags & VOUCH_KEY_F_PRIVATE) != 0;
}

/* The handle must be empty (inited or cleared): filling a used one would leak its key. */
static bool key_slot_empty(const struct vouch_key *key)
{
	return key != NULL && key->h.ptr == NULL;
}

static void key_set(struct vouch_key *key, enum vouch_key_type type, EVP_PKEY *pkey,
                    bool is_private)
{
	key->type = type;
	key->flags = is_private ? VOUCH_KEY_F_PRIVATE : 0;
	key->h.ptr = pkey;
}

static EVP_PKEY *key_pkey(const struct vouch_key *key, enum vouch_key_type type)
{
	if (key == NULL || key->type != type)
		return NULL;
	return key->h.ptr;
}

int vouch_key_generate(struct vouch_key *key, enum vouch_key_type type)
{
	EVP_PKEY *pkey = NULL;

	if (!key_slot_empty(key))
		return VOUCH_ERR_INVALID;
	switch (type) {
	case VOUCH_KEY_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case VOUCH_KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case VOUCH_KEY_X25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		break;
	default:
		return VOUCH_ERR_UNSUPPORTED;
	}
	if (pkey == NULL) {
		drain_openssl_errors();
		return VOUCH_ERR_CRYPTO;
	}
	key_set(key, type, pkey, true);
	return VOUCH_OK;
}

/* Build an EC P-256 EVP_PKEY from a SEC1 uncompressed point and, optionally, the scalar. */
static int p256_fromdata_len(const uint8_t *point, size_t point_len, const BIGNUM *priv,
                             EVP_PKEY **out)
{
	int rc = VOUCH_ERR_CRYPTO;
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;

	*out = NULL;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_drain;
	}
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, P256_GROUP_NAME, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, point_len) ||
	    (priv != NULL && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)))
		goto out_free_bld;
	params = OSSL_PARAM_BLD_to_param(bld);
	if (params == NULL)
		goto out_free_bld;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL)
		goto out_free_params;
	if (EVP_PKEY_fromdata_init(ctx) != 1)
		goto out_free_ctx;
	/* The import decodes the point, which fails for one that is not on the curve. */
	if (EVP_PKEY_fromdata(ctx, out, priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
	                      params) != 1) {
		rc = VOUCH_ERR_KEY;
		goto out_free_ctx;
	}
	rc = VOUCH_OK;
out_free_ctx:
	EVP_PKEY_CTX_free(ctx);
out_free_params:
	OSSL_PARAM_free(params);
out_free_bld:
	OSSL_PARAM_BLD_free(bld);
out_drain:
	if (rc != VOUCH_OK)
		drain_openssl_errors();
	return rc;
}

static int p256_fromdata(const uint8_t point[VOUCH_P256_POINT_LEN], const BIGNUM *priv,
                         EVP_PKEY **out)
{
	return p256_fromdata_len(point, VOUCH_P256_POINT_LEN, priv, out);
}

/* Full public-key validation (on the curve, not infinity, right order) of a fresh import. */
static int pkey_public_check(EVP_PKEY *pkey)
{
	int rc = VOUCH_ERR_KEY;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

	if (ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_drain;
	}
	if (EVP_PKEY_public_check(ctx) == 1)
		rc = VOUCH_OK;
	EVP_PKEY_CTX_free(ctx);
out_drain:
	if (rc != VOUCH_OK)
		drain_openssl_errors();
	return rc;
}

/*
 * OpenSSL 3.0's EC import does not derive the public point from the scalar, and a key without
 * it cannot be exported or checked. EC_GROUP/EC_POINT are not deprecated (only EC_KEY is).
 */
static int p256_import_scalar(const uint8_t raw[VOUCH_P256_SCALAR_LEN], EVP_PKEY **out)
{
	int rc = VOUCH_ERR_CRYPTO;
	EC_GROUP *group;
	EC_POINT *pub = NULL;
	BN_CTX *bnctx = NULL;
	BIGNUM *d = NULL;
	uint8_t point[VOUCH_P256_POINT_LEN];

	*out = NULL;
	group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	if (group == NULL)
		goto out_drain;
	bnctx = BN_CTX_secure_new();
	d = BN_secure_new();
	pub = EC_POINT_new(group);
	if (bnctx == NULL || d == NULL || pub == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free;
	}
	if (BN_bin2bn(raw, VOUCH_P256_SCALAR_LEN, d) == NULL)
		goto out_free;
	if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(group)) >= 0) {
		rc = VOUCH_ERR_KEY;
		goto out_free;
	}
	if (EC_POINT_mul(group, pub, d, NULL, NULL, bnctx) != 1 ||
	    EC_POINT_point2oct(group, pub, POINT_CONVERSION_UNCOMPRESSED, point, sizeof(point),
	                       bnctx) != sizeof(point))
		goto out_free;
	rc = p256_fromdata(point, d, out);
out_free:
	EC_POINT_free(pub);
	BN_clear_free(d);
	BN_CTX_free(bnctx);
	EC_GROUP_free(group);
out_drain:
	if (rc != VOUCH_OK)
		drain_openssl_errors();
	return rc;
}

int vouch_key_import_private(struct vouch_key *key, enum vouch_key_type type, const uint8_t *raw,
                             size_t raw_len)
{
	int rc = VOUCH_ERR_INTERNAL;
	EVP_PKEY *pkey = NULL;

	if (!key_slot_empty(key) || raw == NULL)
		return VOUCH_ERR_INVALID;
	switch (type) {
	case VOUCH_KEY_P256:
		if (raw_len != VOUCH_P256_SCALAR_LEN)
			return VOUCH_ERR_KEY;
		rc = p256_import_scalar(raw, &pkey);
		break;
	case VOUCH_KEY_ED25519:
		if (raw_len != VOUCH_ED25519_KEY_LEN)
			return VOUCH_ERR_KEY;
		pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, raw, raw_len);
		if (pkey == NULL) {
			drain_openssl_errors();
			rc = VOUCH_ERR_KEY;
		} else {
			rc = VOUCH_OK;
		}
		break;
	case VOUCH_KEY_X25519:
		if (raw_len != VOUCH_X25519_KEY_LEN)
			return VOUCH_ERR_KEY;
		pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, raw, raw_len);
		if (pkey == NULL) {
			drain_openssl_errors();
			rc = VOUCH_ERR_KEY;
		} else {
			rc = VOUCH_OK;
		}
		break;
	default:
		return VOUCH_ERR_UNSUPPORTED;
	}
	if (rc == VOUCH_OK)
		key_set(key, type, pkey, true);
	return rc;
}

static int import_public_pkey(enum vouch_key_type type, const uint8_t *raw, size_t raw_len,
                              EVP_PKEY **out)
{
	int rc = VOUCH_ERR_KEY;

	*out = NULL;
	switch (type) {
	case VOUCH_KEY_P256:
		/* Uncompressed, or compressed (EDHOC sends x only); hybrid encodings are refused.
		 */
		if (!((raw_len == VOUCH_P256_POINT_LEN &&
		       raw[0] == POINT_CONVERSION_UNCOMPRESSED) ||
		      (raw_len == VOUCH_P256_COMPRESSED_LEN &&
		       (raw[0] == POINT_CONVERSION_COMPRESSED ||
		        raw[0] == (POINT_CONVERSION_COMPRESSED | 1)))))
			return VOUCH_ERR_KEY;
		rc = p256_fromdata_len(raw, raw_len, NULL, out);
		if (rc == VOUCH_OK)
			rc = pkey_public_check(*out);
		break;
	case VOUCH_KEY_ED25519:
		if (raw_len != VOUCH_ED25519_KEY_LEN)
			return VOUCH_ERR_KEY;
		*out = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, raw, raw_len);
		if (*out == NULL) {
			drain_openssl_errors();
			return VOUCH_ERR_KEY;
		}
		rc = VOUCH_OK;
		break;
	case VOUCH_KEY_X25519:
		if (raw_len != VOUCH_X25519_KEY_LEN)
			return VOUCH_ERR_KEY;
		*out = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, raw, raw_len);
		if (*out == NULL) {
			drain_openssl_errors();
			return VOUCH_ERR_KEY;
		}
		rc = VOUCH_OK;
		break;
	default:
		return VOUCH_ERR_UNSUPPORTED;
	}
	if (rc != VOUCH_OK) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
	return rc;
}

int vouch_key_import_public(struct vouch_key *key, enum vouch_key_type type, const uint8_t *raw,
                            size_t raw_len)
{
	EVP_PKEY *pkey = NULL;
	int rc;

	if (!key_slot_empty(key) || raw == NULL)
		return VOUCH_ERR_INVALID;
	rc = import_public_pkey(type, raw, raw_len, &pkey);
	if (rc == VOUCH_OK)
		key_set(key, type, pkey, false);
	return rc;
}

/*
 * The SubjectPublicKeyInfo of a P-256 key with its point uncompressed is these 26 bytes and then
 * the 65 of the point (RFC 5480: id-ecPublicKey, namedCurve secp256r1, BIT STRING of 66 bytes).
 */
static const uint8_t p256_spki_prefix[26] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};

/*
 * A key held in a PKCS#11 token (libp11) is a legacy EC_KEY with its own method: the provider
 * parameter getters do not reach its public point, but its SubjectPublicKeyInfo encodes, cheaply,
 * and in the one form above it holds the point as is.
 */
static bool spki_point(const EVP_PKEY *pkey, uint8_t out[VOUCH_P256_POINT_LEN])
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY((EVP_PKEY *)pkey, &der);
	bool ok = len == (int)sizeof(p256_spki_prefix) + VOUCH_P256_POINT_LEN &&
	          memcmp(der, p256_spki_prefix, sizeof(p256_spki_prefix)) == 0 &&
	          der[sizeof(p256_spki_prefix)] == POINT_CONVERSION_UNCOMPRESSED;

	if (ok)
		memcpy(out, der + sizeof(p256_spki_prefix), VOUCH_P256_POINT_LEN);
	OPENSSL_free(der);
	return ok;
}

/* Any other such key: decode that SubjectPublicKeyInfo into an ordinary public key. */
static EVP_PKEY *plain_public(const EVP_PKEY *pkey)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *plain = NULL;
	int len = i2d_PUBKEY((EVP_PKEY *)pkey, &der);

	if (len > 0) {
		p = der;
		plain = d2i_PUBKEY(NULL, &p, len);
	}
	OPENSSL_free(der);
	return plain;
}

/*
 * The public point of an EC key as SEC1 uncompressed, whatever encoding it was imported from.
 * Every credential asks for two (the issuer's thumbprint, the phone's COSE_Key), so the cheap
 * ways come first: a provider key's encoded point when it is uncompressed already (the
 * coordinates as numbers cost four times as much), a token key's SubjectPublicKeyInfo; then the
 * general ways.
 */
static int p256_point(const EVP_PKEY *pkey, uint8_t out[VOUCH_P256_POINT_LEN])
{
	int rc = VOUCH_ERR_CRYPTO;
	BIGNUM *x = NULL, *y = NULL;
	EVP_PKEY *plain = NULL;
	size_t len = 0;

	if (EVP_PKEY_get0_provider(pkey) != NULL) {
		if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, out,
		                                    VOUCH_P256_POINT_LEN, &len) == 1 &&
		    len == VOUCH_P256_POINT_LEN && out[0] == POINT_CONVERSION_UNCOMPRESSED)
			return VOUCH_OK;
	} else if (spki_point(pkey, out)) {
		return VOUCH_OK;
	}
	ERR_clear_error();
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1) {
		ERR_clear_error();
		plain = plain_public(pkey);
		if (plain == NULL)
			goto out_free;
		pkey = plain;
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1)
			goto out_free;
	}
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
		goto out_free;
	out[0] = POINT_CONVERSION_UNCOMPRESSED;
	if (BN_bn2binpad(x, out + 1, P256_COORD_LEN) != P256_COORD_LEN ||
	    BN_bn2binpad(y, out + 1 + P256_COORD_LEN, P256_COORD_LEN) != P256_COORD_LEN)
		goto out_free;
	rc = VOUCH_OK;
out_free:
	BN_free(x);
	BN_free(y);
	EVP_PKEY_free(plain);
	if (rc != VOUCH_OK)
		drain_openssl_errors();
	return rc;
}

/*
 * Decode the SPKI, then rebuild the key from its raw public value through the same path as
 * vouch_key_import_public: whatever the DER carried besides (explicit curve parameters, a
 * compressed point) does not survive into the handle, and the same checks apply.
 */
int vouch_key_import_spki(struct vouch_key *key, const uint8_t *der, size_t der_len)
{
	int rc = VOUCH_ERR_KEY;
	const unsigned char *p = der;
	EVP_PKEY *decoded, *pkey = NULL;
	enum vouch_key_type type = VOUCH_KEY_NONE;
	uint8_t raw[VOUCH_P256_POINT_LEN];
	size_t raw_len = 0;
	char group[32], encoding[32];

	if (!key_slot_empty(key) || der == NULL)
		return VOUCH_ERR_INVALID;
	if (der_len > LONG_MAX)
		return VOUCH_ERR_KEY;
	decoded = d2i_PUBKEY_ex(NULL, &p, (long)der_len, NULL, NULL);
	if (decoded == NULL)
		goto out_drain;
	if (p != der + der_len)
		goto out_free_decoded;
	if (EVP_PKEY_is_a(decoded, "EC")) {
		/*
		 * Only the named curve. OpenSSL maps explicit parameters that resemble P-256 to
		 * its name even when, say, the cofactor was altered, so the encoding is checked
		 * as well as the name.
		 */
		if (EVP_PKEY_get_utf8_string_param(decoded, OSSL_PKEY_PARAM_EC_ENCODING, encoding,
		                                   sizeof(encoding), NULL) != 1 ||
		    strcmp(encoding, OSSL_PKEY_EC_ENCODING_GROUP) != 0)
			goto out_free_decoded;
		if (EVP_PKEY_get_utf8_string_param(decoded, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                                   sizeof(group), NULL) != 1 ||
		    strcmp(group, P256_GROUP_NAME) != 0)
			goto out_free_decoded;
		if (p256_point(decoded, raw) != VOUCH_OK)
			goto out_free_decoded;
		type = VOUCH_KEY_P256;
		raw_len = VOUCH_P256_POINT_LEN;
	} else if (EVP_PKEY_is_a(decoded, "ED25519")) {
		raw_len = sizeof(raw);
		if (EVP_PKEY_get_raw_public_key(decoded, raw, &raw_len) != 1 ||
		    raw_len != VOUCH_ED25519_KEY_LEN)
			goto out_free_decoded;
		type = VOUCH_KEY_ED25519;
	} else {
		rc = VOUCH_ERR_UNSUPPORTED;
		goto out_free_decoded;
	}
	rc = import_public_pkey(type, raw, raw_len, &pkey);
	if (rc == VOUCH_OK)
		key_set(key, type, pkey, false);
out_free_decoded:
	EVP_PKEY_free(decoded);
out_drain:
	if (rc != VOUCH_OK)
		drain_openssl_errors();
	return rc;
}

int vouch_key_export_public(const struct vouch_key *key, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
	int rc = VOUCH_ERR_KEY;
	size_t need, len;

	if (out_len != NULL)
		*out_len = 0;
	if (key == NULL || out == NULL || out_len == NULL)
		return VOUCH_ERR_INVALID;
	if (key->h.ptr == NULL)
		return VOUCH_ERR_KEY;
	switch (key->type) {
	case VOUCH_KEY_P256:
		need = VOUCH_P256_POINT_LEN;
		break;
	case VOUCH_KEY_ED25519:
		need = VOUCH_ED25519_KEY_LEN;
		break;
	case VOUCH_KEY_X25519:
		need = VOUCH_X25519_KEY_LEN;
		break;
	default:
		return VOUCH_ERR_KEY;
	}
	if (out_cap < need)
		return VOUCH_ERR_BUFFER;
	if (key->type == VOUCH_KEY_P256) {
		rc = p256_point(key->h.ptr, out);
	} else {
		len = need;
		rc = VOUCH_ERR_CRYPTO;
		if (EVP_PKEY_get_raw_public_key(key->h.ptr, out, &len) == 1 && len == need)
			rc = VOUCH_OK;
		else
			drain_openssl_errors();
	}
	if (rc == VOUCH_OK)
		*out_len = need;
	return rc;
}

/* ---- signatures ---- */

/* Ed25519 hashes the message twice, so OpenSSL only signs it in one piece. */
static int join_iov(const struct vouch_iov *msg, size_t iovcnt, uint8_t **joined, size_t *len)
{
	size_t total = 0, off = 0;
	uint8_t *buf;

	*joined = NULL;
	*len = 0;
	for (size_t i = 0; i < iovcnt; i++) {
		if (msg[i].len > SIZE_MAX - total)
			return VOUCH_ERR_INVALID;
		total += msg[i].len;
	}
	buf = malloc(total > 0 ? total : 1);
	if (buf == NULL)
		return VOUCH_ERR_NOMEM;
	for (size_t i = 0; i < iovcnt; i++) {
		if (msg[i].len > 0)
			memcpy(buf + off, msg[i].base, msg[i].len);
		off += msg[i].len;
	}
	*joined = buf;
	*len = total;
	return VOUCH_OK;
}

/* The message of an Ed25519 operation: the one piece in place, or several joined. */
struct ed_msg {
	const uint8_t *data;
	size_t len;
	uint8_t *joined; /* owned; wiped and freed by ed_msg_clear */
};

static int ed_msg_init(struct ed_msg *m, const struct vouch_iov *msg, size_t iovcnt)
{
	int rc;

	m->joined = NULL;
	if (iovcnt == 1) {
		m->data = nonnull(msg[0].base);
		m->len = msg[0].len;
		return VOUCH_OK;
	}
	rc = join_iov(msg, iovcnt, &m->joined, &m->len);
	if (rc != VOUCH_OK)
		return rc;
	m->data = m->joined;
	return VOUCH_OK;
}

static void ed_msg_clear(struct ed_msg *m)
{
	if (m->joined != NULL) {
		vouch_wipe(m->joined, m->len);
		free(m->joined);
	}
	m->joined = NULL;
}

static int p256_sign(EVP_PKEY *pkey, const struct vouch_iov *msg, size_t iovcnt,
                     uint8_t sig[VOUCH_P256_SIG_LEN])
{
	int rc = VOUCH_ERR_CRYPTO;
	EVP_MD_CTX *ctx;
	uint8_t der[ECDSA_DER_MAX];
	size_t der_len = sizeof(der);
	const unsigned char *p = der;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;

	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_drain;
	}
	if (EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, pkey, NULL) != 1)
		goto out_free_ctx;
	for (size_t i = 0; i < iovcnt; i++) {
		if (msg[i].len > 0 && EVP_DigestSignUpdate(ctx, msg[i].base, msg[i].len) != 1)
			goto out_free_ctx;
	}
	if (EVP_DigestSignFinal(ctx, der, &der_len) != 1)
		goto out_free_ctx;
	es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (es == NULL)
		goto out_free_ctx;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, P256_COORD_LEN) != P256_COORD_LEN ||
	    BN_bn2binpad(s, sig + P256_COORD_LEN, P256_COORD_LEN) != P256_COORD_LEN)
		goto out_free_sig;
	rc = VOUCH_OK;
out_free_sig:
	ECDSA_SIG_free(es);
out_free_ctx:
	EVP_MD_CTX_free(ctx);
out_drain:
	if (rc != VOUCH_OK) {
		drain_openssl_errors();
		vouch_wipe(sig, VOUCH_P256_SIG_LEN);
	}
	return rc;
}

static int ed25519_sign(EVP_PKEY *pkey, const struct vouch_iov *msg, size_t iovcnt,
                        uint8_t sig[VOUCH_ED25519_SIG_LEN])
{
	int rc;
	EVP_MD_CTX *ctx;
	struct ed_msg m;
	size_t sig_len = VOUCH_ED25519_SIG_LEN;

	rc = ed_msg_init(&m, msg, iovcnt);
	if (rc != VOUCH_OK)
		return rc;
	rc = VOUCH_ERR_CRYPTO;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_clear_msg;
	}
	if (EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, pkey, NULL) != 1 ||
	    EVP_DigestSign(ctx, sig, &sig_len, m.data, m.len) != 1 ||
	    sig_len != VOUCH_ED25519_SIG_LEN)
		goto out_free_ctx;
	rc = VOUCH_OK;
out_free_ctx:
	EVP_MD_CTX_free(ctx);
out_clear_msg:
	ed_msg_clear(&m);
	if (rc != VOUCH_OK) {
		drain_openssl_errors();
		vouch_wipe(sig, VOUCH_ED25519_SIG_LEN);
	}
	return rc;
}

int vouch_sign(const struct vouch_key *key, const struct vouch_iov *msg, size_t iovcnt,
               uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
	int rc = VOUCH_ERR_INTERNAL;

	if (sig_len != NULL)
		*sig_len = 0;
	if (key == NULL || sig == NULL || sig_len == NULL || !iov_valid(msg, iovcnt))
		return VOUCH_ERR_INVALID;
	if (!vouch_key_is_private(key))
		return VOUCH_ERR_KEY;
	switch (key->type) {
	case VOUCH_KEY_P256:
		if (sig_cap < VOUCH_P256_SIG_LEN)
			return VOUCH_ERR_BUFFER;
		rc = p256_sign(key->h.ptr, msg, iovcnt, sig);
		break;
	case VOUCH_KEY_ED25519:
		if (sig_cap < VOUCH_ED25519_SIG_LEN)
			return VOUCH_ERR_BUFFER;
		rc = ed25519_sign(key->h.ptr, msg, iovcnt, sig);
		break;
	default:
		return VOUCH_ERR_KEY;
	}
	if (rc == VOUCH_OK)
		*sig_len = key->type == VOUCH_KEY_P256 ? VOUCH_P256_SIG_LEN : VOUCH_ED25519_SIG_LEN;
	return rc;
}

/*
 * Raw r||s to DER. Building the DER from the two integers makes every accepted signature
 * canonical by construction; r or s of zero or >= n is refused by the verification itself.
 */
static int p256_sig_to_der(const uint8_t sig[VOUCH_P256_SIG_LEN], uint8_t der[ECDSA_DER_MAX],
                           size_t *der_len)
{
	int rc = VOUCH_ERR_CRYPTO;
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	unsigned char *p = der;
	int n;

	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, P256_COORD_LEN, NULL);
	s = BN_bin2bn(sig + P256_COORD_LEN, P256_COORD_LEN, NULL);
	if (es == NULL || r == NULL || s == NULL) {
		BN_free(r);
		BN_free(s);
		rc = VOUCH_ERR_NOMEM;
		goto out_free_sig;
	}
	if (ECDSA_SIG_set0(es, r, s) != 1) { /* takes r and s only on success */
		BN_free(r);
		BN_free(s);
		goto out_free_sig;
	}
	if (i2d_ECDSA_SIG(es, NULL) > ECDSA_DER_MAX)
		goto out_free_sig;
	n = i2d_ECDSA_SIG(es, &p);
	if (n <= 0)
		goto out_free_sig;
	*der_len = (size_t)n;
	rc = VOUCH_OK;
out_free_sig:
	ECDSA_SIG_free(es);
	if (rc != VOUCH_OK)
		drain_openssl_errors();
	return rc;
}

static int p256_verify(EVP_PKEY *pkey, const struct vouch_iov *msg, size_t iovcnt,
                       const uint8_t sig[VOUCH_P256_SIG_LEN])
{
	int rc;
	EVP_MD_CTX *ctx;
	uint8_t der[ECDSA_DER_MAX];
	size_t der_len = 0;

	rc = p256_sig_to_der(sig, der, &der_len);
	if (rc != VOUCH_OK)
		return rc;
	rc = VOUCH_ERR_CRYPTO;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_drain;
	}
	if (EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pkey, NULL) != 1)
		goto out_free_ctx;
	for (size_t i = 0; i < iovcnt; i++) {
		if (msg[i].len > 0 && EVP_DigestVerifyUpdate(ctx, msg[i].base, msg[i].len) != 1)
			goto out_free_ctx;
	}
	/* 0 is a bad signature, < 0 one OpenSSL could not even process (r or s out of range):
	 * neither verifies. */
	rc = EVP_DigestVerifyFinal(ctx, der, der_len) == 1 ? VOUCH_OK : VOUCH_ERR_VERIFY;
out_free_ctx:
	EVP_MD_CTX_free(ctx);
out_drain:
	if (rc != VOUCH_OK)
		drain_openssl_errors();
	return rc;
}

static int ed25519_verify(EVP_PKEY *pkey, const struct vouch_iov *msg, size_t iovcnt,
                          const uint8_t sig[VOUCH_ED25519_SIG_LEN])
{
	int rc;
	EVP_MD_CTX *ctx;
	struct ed_msg m;

	rc = ed_msg_init(&m, msg, iovcnt);
	if (rc != VOUCH_OK)
		return rc;
	rc = VOUCH_ERR_CRYPTO;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_clear_msg;
	}
	if (EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, pkey, NULL) != 1)
		goto out_free_ctx;
	rc = EVP_DigestVerify(ctx, sig, VOUCH_ED25519_SIG_LEN, m.data, m.len) == 1
	         ? VOUCH_OK
	         : VOUCH_ERR_VERIFY;
out_free_ctx:
	EVP_MD_CTX_free(ctx);
out_clear_msg:
	ed_msg_clear(&m);
	if (rc != VOUCH_OK)
		drain_openssl_errors();
	return rc;
}

int vouch_verify(const struct vouch_key *key, const struct vouch_iov *msg, size_t iovcnt,
                 const uint8_t *sig, size_t sig_len)
{
	if (key == NULL || (sig == NULL && sig_len > 0) || !iov_valid(msg, iovcnt))
		return VOUCH_ERR_INVALID;
	if (key->h.ptr == NULL)
		return VOUCH_ERR_KEY;
	switch (key->type) {
	case VOUCH_KEY_P256:
		if (sig_len != VOUCH_P256_SIG_LEN)
			return VOUCH_ERR_VERIFY;
		return p256_verify(key->h.ptr, msg, iovcnt, sig);
	case VOUCH_KEY_ED25519:
		if (sig_len != VOUCH_ED25519_SIG_LEN)
			return VOUCH_ERR_VERIFY;
		return ed25519_verify(key->h.ptr, msg, iovcnt, sig);
	default:
		return VOUCH_ERR_KEY;
	}
}

/* ---- ECDH ---- */

static int ecdh_derive(EVP_PKEY *mine, EVP_PKEY *theirs, uint8_t *out, size_t out_len)
{
	int rc = VOUCH_ERR_CRYPTO;
	EVP_PKEY_CTX *ctx;
	size_t len = out_len;

	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	if (ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_drain;
	}
	if (EVP_PKEY_derive_init(ctx) != 1)
		goto out_free_ctx;
	/* Validate the peer again: the handle may have come from somewhere other than our import.
	 */
	if (EVP_PKEY_derive_set_peer_ex(ctx, theirs, 1) != 1) {
		rc = VOUCH_ERR_KEY;
		goto out_free_ctx;
	}
	/* OpenSSL refuses an all-zero X25519 result (a low-order point) here: a key error. */
	if (EVP_PKEY_derive(ctx, out, &len) != 1) {
		rc = EVP_PKEY_is_a(mine, "X25519") ? VOUCH_ERR_KEY : VOUCH_ERR_CRYPTO;
		goto out_free_ctx;
	}
	if (len != out_len)
		goto out_free_ctx;
	rc = VOUCH_OK;
out_free_ctx:
	EVP_PKEY_CTX_free(ctx);
out_drain:
	if (rc != VOUCH_OK) {
		drain_openssl_errors();
		vouch_wipe(out, out_len);
	}
	return rc;
}

int vouch_ecdh_p256(const struct vouch_key *priv, const struct vouch_key *peer,
                    uint8_t out[VOUCH_P256_SCALAR_LEN])
{
	EVP_PKEY *mine, *theirs;

	if (priv == NULL || peer == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	mine = key_pkey(priv, VOUCH_KEY_P256);
	theirs = key_pkey(peer, VOUCH_KEY_P256);
	if (mine == NULL || theirs == NULL || !vouch_key_is_private(priv))
		return VOUCH_ERR_KEY;
	return ecdh_derive(mine, theirs, out, VOUCH_P256_SCALAR_LEN);
}

int vouch_ecdh_x25519(const struct vouch_key *priv, const struct vouch_key *peer,
                      uint8_t out[VOUCH_X25519_KEY_LEN])
{
	static const uint8_t zero[VOUCH_X25519_KEY_LEN];
	EVP_PKEY *mine, *theirs;
	int rc;

	if (priv == NULL || peer == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	mine = key_pkey(priv, VOUCH_KEY_X25519);
	theirs = key_pkey(peer, VOUCH_KEY_X25519);
	if (mine == NULL || theirs == NULL || !vouch_key_is_private(priv))
		return VOUCH_ERR_KEY;
	rc = ecdh_derive(mine, theirs, out, VOUCH_X25519_KEY_LEN);
	if (rc == VOUCH_OK && vouch_ct_equal(out, zero, sizeof(zero))) {
		vouch_wipe(out, VOUCH_X25519_KEY_LEN);
		rc = VOUCH_ERR_KEY;
	}
	return rc;
}

/* ---- persistent keys: none here (server and phone keys live in PKCS#11 tokens) ---- */

int vouch_key_generate_persistent(struct vouch_key *key, enum vouch_key_type type, uint32_t id)
{
	(void)key;
	(void)type;
	(void)id;
	return VOUCH_ERR_UNSUPPORTED;
}

int vouch_key_open_persistent(struct vouch_key *key, uint32_t id)
{
	(void)key;
	(void)id;
	return VOUCH_ERR_UNSUPPORTED;
}

int vouch_key_destroy_persistent(uint32_t id)
{
	(void)id;
	return VOUCH_ERR_UNSUPPORTED;
}

const char *vouch_crypto_backend(void)
{
	return "openssl";
}
