/*
 * Pairing codes and CCS credentials (lib/pairing.c). The expected values were computed
 * independently with python3 (base64.b32encode of the RFC 9679 example key's thumbprint, and
 * cbor2.dumps of the CCS maps); see tests/vectors/PROVENANCE-h3.md for the key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "vouch/crypto.h"
#include "vouch/pairing.h"

/* RFC 9679 section 6's key. */
static const char *const x_hex = "65eda5a12577c2bae829437fe338701a10aaa375e1bb5b5de108de439c08551d";
static const char *const y_hex = "1e52ed75701163f7f9e40ddf9f341b3dc9ba860af7e0ca7ca7e9eecd0084d19c";

static void rfc_key(struct vouch_key *k)
{
	uint8_t point[VOUCH_P256_POINT_LEN];
	size_t xl = 0, yl = 0;
	uint8_t *x = tu_hex(x_hex, &xl), *y = tu_hex(y_hex, &yl);

	assert_int_equal(xl, 32);
	assert_int_equal(yl, 32);
	point[0] = 0x04;
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	free(x);
	free(y);
	vouch_key_init(k);
	assert_int_equal(vouch_key_import_public(k, VOUCH_KEY_P256, point, sizeof(point)),
	                 VOUCH_OK);
}

static void test_code(void **state)
{
	struct vouch_key k, other;
	char code[VOUCH_PAIRING_CODE_LEN + 1];

	(void)state;
	rfc_key(&k);
	assert_int_equal(vouch_pairing_code(&k, code), VOUCH_OK);
	assert_string_equal(code, "JFV5-RL5N-6MD6-LMEM-MSYE-EG7Z-3QAV-FCRU");
	assert_true(vouch_pairing_code_matches(&k, code));
	assert_true(vouch_pairing_code_matches(&k, "jfv5rl5n6md6lmemmsyeeg7z3qavfcru"));
	assert_true(vouch_pairing_code_matches(&k, "JFV5 RL5N 6MD6 LMEM MSYE EG7Z 3QAV FCRU"));
	/* One character off, one short, one long, empty. */
	assert_false(vouch_pairing_code_matches(&k, "JFV5-RL5N-6MD6-LMEM-MSYE-EG7Z-3QAV-FCRV"));
	assert_false(vouch_pairing_code_matches(&k, "JFV5-RL5N-6MD6-LMEM-MSYE-EG7Z-3QAV-FCR"));
	assert_false(vouch_pairing_code_matches(&k, "JFV5-RL5N-6MD6-LMEM-MSYE-EG7Z-3QAV-FCRUA"));
	assert_false(vouch_pairing_code_matches(&k, ""));
	assert_false(vouch_pairing_code_matches(&k, NULL));
	/* Another key has another code. */
	vouch_key_init(&other);
	assert_int_equal(vouch_key_generate(&other, VOUCH_KEY_P256), VOUCH_OK);
	assert_false(vouch_pairing_code_matches(&other, code));
	vouch_key_clear(&other);
	vouch_key_clear(&k);
	tu_report("pairing-code (rfc9679 key)", 1, 1, 0,
	          "expected code from python3 base64.b32encode");
}

static void test_ccs(void **state)
{
	static const char *const ccs_hex =
	    "a2027473656e736f723a756e70726f766973696f6e656408a101a401022001215820"
	    "65eda5a12577c2bae829437fe338701a10aaa375e1bb5b5de108de439c08551d225820"
	    "1e52ed75701163f7f9e40ddf9f341b3dc9ba860af7e0ca7ca7e9eecd0084d19c";
	struct vouch_key k;
	uint8_t ccs[VOUCH_CCS_MAX], id[VOUCH_CCS_ID_CRED_MAX];
	size_t ccs_len = 0, id_len = 0, want_len = 0, sub_len = 0;
	uint8_t *want = tu_hex(ccs_hex, &want_len);
	const char *sub = NULL;

	(void)state;
	rfc_key(&k);
	assert_int_equal(vouch_ccs_encode("sensor:unprovisioned", &k, ccs, sizeof(ccs), &ccs_len),
	                 VOUCH_OK);
	assert_int_equal(ccs_len, want_len);
	assert_memory_equal(ccs, want, want_len);
	assert_int_equal(vouch_ccs_id_cred(ccs, ccs_len, id, sizeof(id), &id_len), VOUCH_OK);
	assert_int_equal(id_len, ccs_len + 2);
	assert_int_equal(id[0], 0xa1);
	assert_int_equal(id[1], 0x0e);
	assert_memory_equal(id + 2, ccs, ccs_len);
	assert_int_equal(vouch_ccs_sub(ccs, ccs_len, &sub, &sub_len), VOUCH_OK);
	assert_int_equal(sub_len, strlen("sensor:unprovisioned"));
	assert_memory_equal(sub, "sensor:unprovisioned", sub_len);
	/* Too small a buffer, and a truncated CCS. */
	assert_int_equal(vouch_ccs_encode("x", &k, ccs, 10, &ccs_len), VOUCH_ERR_BUFFER);
	assert_int_not_equal(vouch_ccs_id_cred(want, want_len - 1, id, sizeof(id), &id_len),
	                     VOUCH_OK);
	assert_int_not_equal(vouch_ccs_sub(want, want_len - 1, &sub, &sub_len), VOUCH_OK);
	free(want);
	vouch_key_clear(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_code),
	    cmocka_unit_test(test_ccs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
