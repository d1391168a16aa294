/*
 * vouch — what only the PSA Crypto back-end of the crypto port has (lib/crypto_psa.c,
 * lib/psa_its.c; library vouch_psa). Programs that link the OpenSSL back-end must not use it.
 *
 * The PSA back-end keeps the sensor's persistent keys (vouch_key_generate_persistent() and
 * friends in vouch/crypto.h) in its own Internal Trusted Storage: one file per key in a directory
 * of the program's choosing, never the current directory. See docs/psa.md for the layout.
 *
 * Mbed TLS 2.28 is built here without MBEDTLS_THREADING_C: the back-end is for one thread.
 */
#ifndef VOUCH_PSA_H
#define VOUCH_PSA_H

#include "vouch/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Choose the directory of the key store and create it (mode 0700; its parent must exist). Call
 * it before the first persistent-key call, or again after vouch_psa_shutdown(). An existing
 * directory is used as it is when it is a directory the caller may write. Until it is called,
 * every persistent-key call fails with VOUCH_ERR_INVALID and nothing is written anywhere.
 * VOUCH_ERR_INVALID: dir NULL, empty or too long; VOUCH_ERR_IO: it cannot be created or used.
 */
int vouch_psa_set_storage(const char *dir);

/* The directory set by vouch_psa_set_storage(), or NULL. */
const char *vouch_psa_storage(void);

/*
 * Free the PSA core (mbedtls_psa_crypto_free): every volatile key is gone, persistent keys stay
 * in the store. Clear every key handle first. The next port call initialises the core again, as
 * at a restart; tests use it to simulate one.
 */
void vouch_psa_shutdown(void);

#ifdef __cplusplus
}
#endif
#endif
