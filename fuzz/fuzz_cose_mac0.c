/* COSE_Mac0: decode, and when that succeeds verify the tag with each fixed symmetric key. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vouch_cose_mac0 msg;
	int rc;

	if (vouch_cose_mac0_decode(data, size, &msg) != VOUCH_OK)
		return 0;
	for (size_t i = 0; i < FUZZ_N_SECRETS; i++) {
		rc = vouch_cose_mac0_verify(&msg, fuzz_secrets[i].p, fuzz_secrets[i].len, NULL, 0);
		FUZZ_CHECK(rc <= 0);
		if (rc == VOUCH_OK)
			FUZZ_CHECK(vouch_cose_mac0_verify(&msg, fuzz_secrets[i].p,
			                                  fuzz_secrets[i].len, (const uint8_t *)"x",
			                                  1) != VOUCH_OK);
	}
	return 0;
}
