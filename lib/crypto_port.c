/*
 * The part of the crypto port that is the same whatever the back-end (crypto_backend.h): the
 * one-buffer forms of the hashes, and the AES-CCM and AES-GCM entry points with their argument
 * checks, so that both back-ends accept and refuse the same inputs with the same errors; the
 * back-end then only encrypts or decrypts.
 */
#include <limits.h>

#include "crypto_backend.h"
#include "vouch/crypto.h"

#define AES_BLOCK_LEN 16
#define CCM_NONCE_MIN 7
#define CCM_NONCE_MAX 13
#define AEAD_TAG_MAX  16
#define GCM_TAG_MIN   4
/* The OpenSSL 3 GCM provider keeps the IV in a fixed 128-byte buffer (the PSA back-end takes
 * the same limit, so both refuse the same inputs); COSE uses 12 bytes. */
#define GCM_NONCE_MAX 128

int vouch_sha256(const void *data, size_t len, uint8_t out[VOUCH_SHA256_LEN])
{
	struct vouch_iov iov = {data, len};

	return vouch_sha256_v(&iov, 1, out);
}

int vouch_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
                      uint8_t out[VOUCH_SHA256_LEN])
{
	struct vouch_iov iov = {data, len};

	return vouch_hmac_sha256_v(key, key_len, &iov, 1, out);
}

/* msg_len is the plaintext length. */
static int aead_check(enum vouch_aead_mode mode, const uint8_t *key, size_t key_len,
                      const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
                      size_t msg_len, size_t tag_len)
{
	if (key == NULL || nonce == NULL || (aad == NULL && aad_len > 0))
		return VOUCH_ERR_INVALID;
	if (key_len != 16 && key_len != 24 && key_len != 32)
		return VOUCH_ERR_KEY;
	if (mode == VOUCH_AEAD_CCM) {
		size_t l = 15 - nonce_len; /* octets of the length field (RFC 3610 L) */

		if (nonce_len < CCM_NONCE_MIN || nonce_len > CCM_NONCE_MAX)
			return VOUCH_ERR_INVALID;
		if (tag_len < 4 || tag_len > AEAD_TAG_MAX || tag_len % 2 != 0)
			return VOUCH_ERR_INVALID;
		if (l < sizeof(size_t) && (msg_len >> (8 * l)) != 0)
			return VOUCH_ERR_INVALID;
	} else {
		if (nonce_len == 0)
			return VOUCH_ERR_INVALID;
		if (nonce_len > GCM_NONCE_MAX)
			return VOUCH_ERR_UNSUPPORTED;
		if (tag_len < GCM_TAG_MIN || tag_len > AEAD_TAG_MAX)
			return VOUCH_ERR_INVALID;
	}
	if (aad_len > INT_MAX || msg_len > (size_t)INT_MAX - AES_BLOCK_LEN)
		return VOUCH_ERR_UNSUPPORTED;
	return VOUCH_OK;
}

static int seal(enum vouch_aead_mode mode, const uint8_t *key, size_t key_len, const uint8_t *nonce,
                size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                size_t pt_len, size_t tag_len, uint8_t *ct)
{
	int rc = aead_check(mode, key, key_len, nonce, nonce_len, aad, aad_len, pt_len, tag_len);

	if (rc != VOUCH_OK)
		return rc;
	if (ct == NULL || (pt == NULL && pt_len > 0))
		return VOUCH_ERR_INVALID;
	return vouch_backend_aead_seal(mode, key, key_len, nonce, nonce_len, aad, aad_len, pt,
	                               pt_len, tag_len, ct);
}

static int open_(enum vouch_aead_mode mode, const uint8_t *key, size_t key_len,
                 const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
                 const uint8_t *ct, size_t ct_len, size_t tag_len, uint8_t *pt)
{
	size_t pt_len;
	int rc;

	if (ct == NULL && ct_len > 0)
		return VOUCH_ERR_INVALID;
	pt_len = ct_len >= tag_len ? ct_len - tag_len : 0;
	rc = aead_check(mode, key, key_len, nonce, nonce_len, aad, aad_len, pt_len, tag_len);
	if (rc != VOUCH_OK)
		return rc;
	/* Too short to hold its tag: it cannot authenticate, whatever the key. */
	if (ct_len < tag_len)
		return VOUCH_ERR_VERIFY;
	if (pt == NULL && pt_len > 0)
		return VOUCH_ERR_INVALID;
	return vouch_backend_aead_open(mode, key, key_len, nonce, nonce_len, aad, aad_len, ct,
	                               ct_len, tag_len, pt);
}

int vouch_aes_ccm_encrypt(const uint8_t *key, size_t key_len, const uint8_t *nonce,
                          size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                          size_t pt_len, size_t tag_len, uint8_t *ct)
{
	return seal(VOUCH_AEAD_CCM, key, key_len, nonce, nonce_len, aad, aad_len, pt, pt_len,
	            tag_len, ct);
}

int vouch_aes_ccm_decrypt(const uint8_t *key, size_t key_len, const uint8_t *nonce,
                          size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                          size_t ct_len, size_t tag_len, uint8_t *pt)
{
	return open_(VOUCH_AEAD_CCM, key, key_len, nonce, nonce_len, aad, aad_len, ct, ct_len,
	             tag_len, pt);
}

int vouch_aes_gcm_encrypt(const uint8_t *key, size_t key_len, const uint8_t *nonce,
                          size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                          size_t pt_len, size_t tag_len, uint8_t *ct)
{
	return seal(VOUCH_AEAD_GCM, key, key_len, nonce, nonce_len, aad, aad_len, pt, pt_len,
	            tag_len, ct);
}

int vouch_aes_gcm_decrypt(const uint8_t *key, size_t key_len, const uint8_t *nonce,
                          size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                          size_t ct_len, size_t tag_len, uint8_t *pt)
{
	return open_(VOUCH_AEAD_GCM, key, key_len, nonce, nonce_len, aad, aad_len, ct, ct_len,
	             tag_len, pt);
}
