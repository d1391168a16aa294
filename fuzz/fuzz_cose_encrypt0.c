/*
 * COSE_Encrypt0: decode, and when that succeeds decrypt with each fixed key (and the fixed
 * base IV, for messages with a Partial IV). The plaintext buffer is exactly as large as the
 * decoder says it needs to be, so ASan catches any write past it.
 */
#include <stdlib.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vouch_cose_encrypt0 msg;
	uint8_t *pt;
	size_t pt_len;
	int rc;

	if (vouch_cose_encrypt0_decode(data, size, &msg) != VOUCH_OK)
		return 0;
	pt = malloc(msg.ciphertext_len > 0 ? msg.ciphertext_len : 1);
	FUZZ_CHECK(pt != NULL);
	for (size_t i = 0; i < FUZZ_N_SECRETS; i++) {
		pt_len = 0;
		rc = vouch_cose_encrypt0_decrypt(&msg, fuzz_secrets[i].p, fuzz_secrets[i].len,
		                                 fuzz_base_iv, sizeof(fuzz_base_iv), NULL, 0, pt,
		                                 msg.ciphertext_len, &pt_len);
		FUZZ_CHECK(rc <= 0);
		if (rc == VOUCH_OK)
			FUZZ_CHECK(pt_len < msg.ciphertext_len);
	}
	free(pt);
	return 0;
}
