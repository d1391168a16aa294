/* Error names, wiping and constant-time comparison. */
#include <string.h>

#include "testutil.h"
#include "vouch/common.h"

/* Every value of enum vouch_err. A value added to the enum without a name in vouch_strerror
 * makes -Wswitch fail the library build; this list makes the test notice a missing case too. */
static const int all_errors[] = {
    VOUCH_OK,
    VOUCH_ERR_INVALID,
    VOUCH_ERR_NOMEM,
    VOUCH_ERR_BUFFER,
    VOUCH_ERR_UNSUPPORTED,
    VOUCH_ERR_INTERNAL,
    VOUCH_ERR_IO,
    VOUCH_ERR_CRYPTO,
    VOUCH_ERR_VERIFY,
    VOUCH_ERR_KEY,
    VOUCH_ERR_CBOR_MALFORMED,
    VOUCH_ERR_CBOR_TRAILING,
    VOUCH_ERR_CBOR_INDEFINITE,
    VOUCH_ERR_CBOR_DUPLICATE,
    VOUCH_ERR_CBOR_TYPE,
    VOUCH_ERR_CBOR_LIMIT,
    VOUCH_ERR_CBOR_NONCANONICAL,
    VOUCH_ERR_COSE_STRUCTURE,
    VOUCH_ERR_COSE_HEADER,
    VOUCH_ERR_COSE_CRITICAL,
    VOUCH_ERR_COSE_ALG,
    VOUCH_ERR_COSE_RECIPIENT,
    VOUCH_ERR_CWT_CLAIM,
    VOUCH_ERR_CWT_MISSING,
    VOUCH_ERR_CWT_EXPIRED,
    VOUCH_ERR_CWT_NOT_YET,
    VOUCH_ERR_CWT_ISSUER,
    VOUCH_ERR_CWT_AUDIENCE,
    VOUCH_ERR_CWT_IAT,
    VOUCH_ERR_CWT_CNF,
};

static void test_strerror_names_every_error(void **state)
{
	const char *unknown = vouch_strerror(-9999);

	(void)state;
	assert_string_equal(unknown, "unknown error");
	assert_string_equal(vouch_strerror(1), "unknown error");
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(all_errors); i++) {
		const char *name = vouch_strerror(all_errors[i]);

		assert_non_null(name);
		assert_true(strlen(name) > 0);
		if (strcmp(name, unknown) == 0)
			fail_msg("error %d has no name", all_errors[i]);
		/* Distinct names: a log line must tell the errors apart. */
		for (size_t j = 0; j < i; j++)
			if (strcmp(name, vouch_strerror(all_errors[j])) == 0)
				fail_msg("errors %d and %d share the name \"%s\"", all_errors[i],
				         all_errors[j], name);
	}
	assert_string_equal(vouch_strerror(VOUCH_OK), "ok");
	assert_string_equal(vouch_strerror(VOUCH_ERR_VERIFY),
	                    "signature, tag or MAC did not verify");
}

static void test_errors_are_negative(void **state)
{
	(void)state;
	for (size_t i = 1; i < VOUCH_ARRAY_LEN(all_errors); i++)
		assert_true(all_errors[i] < 0);
}

static void test_ct_equal(void **state)
{
	uint8_t a[64], b[64];

	(void)state;
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)(i * 7 + 1);
	assert_true(vouch_ct_equal(a, b, sizeof(a)));
	assert_true(vouch_ct_equal(a, b, 0));
	/* A difference in any byte and in any bit is seen. */
	for (size_t i = 0; i < sizeof(a); i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			assert_false(vouch_ct_equal(a, b, sizeof(a)));
			assert_true(vouch_ct_equal(a, b, i));
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_true(vouch_ct_equal(a, b, sizeof(a)));
}

static void test_wipe(void **state)
{
	uint8_t buf[33];

	(void)state;
	memset(buf, 0xa5, sizeof(buf));
	vouch_wipe(buf, 32);
	for (size_t i = 0; i < 32; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(buf[32], 0xa5);
	vouch_wipe(NULL, 16);
	vouch_wipe(buf, 0);
	assert_int_equal(buf[32], 0xa5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strerror_names_every_error),
	    cmocka_unit_test(test_errors_are_negative),
	    cmocka_unit_test(test_ct_equal),
	    cmocka_unit_test(test_wipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
