/*
 * COSE_Encrypt: decode, and when that succeeds decrypt as each fixed recipient: the ECDH-ES
 * P-256 key of the cose-examples and every fixed symmetric key (direct CEK or AES-KW KEK), so
 * the recipient walk, key agreement, key unwrap and content decryption all see mutations.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vouch_cose_encrypt msg;
	struct vouch_cose_recipient_key rk;
	uint8_t *pt;
	size_t pt_len;
	int rc;

	if (vouch_cose_encrypt_decode(data, size, &msg) != VOUCH_OK)
		return 0;
	pt = malloc(msg.ciphertext_len > 0 ? msg.ciphertext_len : 1);
	FUZZ_CHECK(pt != NULL);
	for (size_t i = 0; i <= FUZZ_N_SECRETS; i++) {
		memset(&rk, 0, sizeof(rk));
		if (i == FUZZ_N_SECRETS) {
			rk.priv = &fuzz_ecdh_priv;
		} else {
			rk.secret = fuzz_secrets[i].p;
			rk.secret_len = fuzz_secrets[i].len;
		}
		pt_len = 0;
		rc =
		    vouch_cose_encrypt_decrypt(&msg, &rk, NULL, 0, pt, msg.ciphertext_len, &pt_len);
		FUZZ_CHECK(rc <= 0);
		if (rc == VOUCH_OK)
			FUZZ_CHECK(pt_len < msg.ciphertext_len);
	}
	free(pt);
	return 0;
}
