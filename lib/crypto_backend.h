/*
 * libvouch, private: what a crypto back-end (crypto_openssl.c, crypto_psa.c) provides to the
 * portable code behind the public port (include/vouch/crypto.h). Arguments reach a back-end
 * already checked (crypto_port.c), so both back-ends accept and refuse exactly the same inputs.
 */
#ifndef VOUCH_CRYPTO_BACKEND_H
#define VOUCH_CRYPTO_BACKEND_H
#include <stddef.h>
#include <stdint.h>

enum vouch_aead_mode {
	VOUCH_AEAD_CCM,
	VOUCH_AEAD_GCM,
};

/* AES-CCM / AES-GCM with checked arguments: key of 16, 24 or 32 bytes, a nonce and tag length
 * valid for the mode, ct of pt_len + tag_len bytes (it may alias pt). On failure ct is wiped. */
int vouch_backend_aead_seal(enum vouch_aead_mode mode, const uint8_t *key, size_t key_len,
                            const uint8_t *nonce, size_t nonce_len, const uint8_t *aad,
                            size_t aad_len, const uint8_t *pt, size_t pt_len, size_t tag_len,
                            uint8_t *ct);
/* The same for opening: ct_len >= tag_len, pt of ct_len - tag_len bytes (it may alias ct);
 * VOUCH_ERR_VERIFY when the tag does not verify (pt then wiped). */
int vouch_backend_aead_open(enum vouch_aead_mode mode, const uint8_t *key, size_t key_len,
                            const uint8_t *nonce, size_t nonce_len, const uint8_t *aad,
                            size_t aad_len, const uint8_t *ct, size_t ct_len, size_t tag_len,
                            uint8_t *pt);

#endif
