/*
 * Shared pieces of the libFuzzer targets: the entry points' prototypes, the fixed test keys
 * (the keys of the published vectors the seed corpora come from, so that seeds reach the
 * crypto paths and mutations of them stay close), and a check that turns a broken invariant
 * into a finding.
 */
#ifndef VOUCH_FUZZ_H
#define VOUCH_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "vouch/cwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the library that the input must not be able to break. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail(#cond, __FILE__, __LINE__);                                      \
	} while (0)

_Noreturn void fuzz_fail(const char *what, const char *file, int line);

/* Signature keys (public handles): the cose-examples P-256 key "11", the RFC 8392 A.2.3 P-256
 * key and the RFC 8032 test 1 Ed25519 key (cose-examples eddsa-sig-01). */
enum { FUZZ_N_SIGN_KEYS = 3 };
extern struct vouch_key fuzz_sign_keys[FUZZ_N_SIGN_KEYS];

/* The RFC 8392 A.2.3 key as a private handle (for the CWT sign-then-verify round trip). */
extern struct vouch_key fuzz_cwt_issuer;

/* ECDH-ES recipient: the cose-examples P-256 key "meriadoc.brandybuck@buckland.example". */
extern struct vouch_key fuzz_ecdh_priv;

/* Symmetric keys of the vectors (MAC keys, CEKs, KEKs), 16 to 32 bytes. */
struct fuzz_secret {
	const uint8_t *p;
	size_t len;
};
enum { FUZZ_N_SECRETS = 7 };
extern const struct fuzz_secret fuzz_secrets[FUZZ_N_SECRETS];

/* The Partial IV base of the fuzz targets (any fixed 13 bytes). */
extern const uint8_t fuzz_base_iv[13];

/* Imports every key above once; aborts when the crypto back-end cannot. */
void fuzz_keys_init(void);

#endif
