/*
 * COSE_Sign1: decode, and when that succeeds verify with each fixed key, so the Sig_structure
 * and signature paths see mutated headers, payloads and signatures. A detached (nil) payload is
 * verified against the cose-examples content.
 */
#include <string.h>

#include "fuzz.h"

static const uint8_t content[] = "This is the content.";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vouch_cose_sign1 msg;
	int rc;

	if (vouch_cose_sign1_decode(data, size, &msg) != VOUCH_OK)
		return 0;
	FUZZ_CHECK(msg.signature != NULL || msg.signature_len == 0);
	for (size_t i = 0; i < FUZZ_N_SIGN_KEYS; i++) {
		if (msg.payload != NULL)
			rc = vouch_cose_sign1_verify(&msg, &fuzz_sign_keys[i], NULL, 0, NULL, 0);
		else
			rc = vouch_cose_sign1_verify(&msg, &fuzz_sign_keys[i], NULL, 0, content,
			                             sizeof(content) - 1);
		FUZZ_CHECK(rc <= 0);
		/* With an external AAD the same message can never verify as well. */
		if (rc == VOUCH_OK && msg.payload != NULL)
			FUZZ_CHECK(vouch_cose_sign1_verify(&msg, &fuzz_sign_keys[i],
			                                   (const uint8_t *)"x", 1, NULL,
			                                   0) != VOUCH_OK);
	}
	return 0;
}
