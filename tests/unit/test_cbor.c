/* The strict CBOR layer: every refusal of vouch_cbor_validate, the typed readers, the writer,
 * and the RFC 8949 Appendix A examples. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vouch/cbor.h"

static int validate_hex(const char *hex, const struct vouch_cbor_limits *limits)
{
	size_t len;
	uint8_t *buf = tu_hex(hex, &len);
	int rc = vouch_cbor_validate(buf, len, limits);

	free(buf);
	return rc;
}

struct bad_case {
	const char *hex;
	int err;
	const char *why;
};

static void check_cases(const struct bad_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = validate_hex(cases[i].hex, NULL);

		if (rc != cases[i].err)
			fail_msg("%s (%s): got %d, want %d", cases[i].hex, cases[i].why, rc,
			         cases[i].err);
	}
}

static void test_malformed(void **state)
{
	static const struct bad_case cases[] = {
	    {"", VOUCH_ERR_CBOR_MALFORMED, "empty buffer"},
	    {"ff", VOUCH_ERR_CBOR_MALFORMED, "lone break"},
	    {"81ff", VOUCH_ERR_CBOR_MALFORMED, "break in a definite array"},
	    {"a101ff", VOUCH_ERR_CBOR_MALFORMED, "break as a map value"},
	    {"1c", VOUCH_ERR_CBOR_MALFORMED, "reserved ai 28, major 0"},
	    {"1d", VOUCH_ERR_CBOR_MALFORMED, "reserved ai 29, major 0"},
	    {"1e", VOUCH_ERR_CBOR_MALFORMED, "reserved ai 30, major 0"},
	    {"3c", VOUCH_ERR_CBOR_MALFORMED, "reserved ai, major 1"},
	    {"5d", VOUCH_ERR_CBOR_MALFORMED, "reserved ai, major 2"},
	    {"7e", VOUCH_ERR_CBOR_MALFORMED, "reserved ai, major 3"},
	    {"9c", VOUCH_ERR_CBOR_MALFORMED, "reserved ai, major 4"},
	    {"bd", VOUCH_ERR_CBOR_MALFORMED, "reserved ai, major 5"},
	    {"de", VOUCH_ERR_CBOR_MALFORMED, "reserved ai, major 6"},
	    {"fc", VOUCH_ERR_CBOR_MALFORMED, "reserved ai, major 7"},
	    {"fd", VOUCH_ERR_CBOR_MALFORMED, "reserved ai, major 7"},
	    {"fe", VOUCH_ERR_CBOR_MALFORMED, "reserved ai, major 7"},
	    {"1f", VOUCH_ERR_CBOR_MALFORMED, "indefinite uint"},
	    {"3f", VOUCH_ERR_CBOR_MALFORMED, "indefinite negint"},
	    {"df", VOUCH_ERR_CBOR_MALFORMED, "indefinite tag"},
	    {"f800", VOUCH_ERR_CBOR_MALFORMED, "two-byte simple value 0"},
	    {"f81f", VOUCH_ERR_CBOR_MALFORMED, "two-byte simple value 31"},
	    {"f8", VOUCH_ERR_CBOR_MALFORMED, "truncated simple value"},
	    {"c0", VOUCH_ERR_CBOR_MALFORMED, "tag without content"},
	    {"d2", VOUCH_ERR_CBOR_MALFORMED, "COSE tag without content"},
	    {"9bffffffffffffffff", VOUCH_ERR_CBOR_MALFORMED, "2^64-1 array elements"},
	    {"9a7fffffff00", VOUCH_ERR_CBOR_MALFORMED, "2^31 array elements, 1 byte"},
	    {"bbffffffffffffffff", VOUCH_ERR_CBOR_MALFORMED, "2^64-1 map entries"},
	    {"b90100"
	     "0000",
	     VOUCH_ERR_CBOR_MALFORMED, "256 map entries, 2 bytes"},
	    {"5bffffffffffffffff", VOUCH_ERR_CBOR_MALFORMED, "2^64-1 byte bstr"},
	    {"5bfffffffffffffff0"
	     "00",
	     VOUCH_ERR_CBOR_MALFORMED, "bstr length near 2^64"},
	    {"7a7fffffff41", VOUCH_ERR_CBOR_MALFORMED, "2^31-1 byte tstr"},
	    {"5a00000002"
	     "00",
	     VOUCH_ERR_CBOR_MALFORMED, "bstr one byte short"},
	    {"8201", VOUCH_ERR_CBOR_MALFORMED, "array one element short"},
	};

	(void)state;
	check_cases(cases, VOUCH_ARRAY_LEN(cases));
}

static void test_indefinite(void **state)
{
	static const struct bad_case cases[] = {
	    {"5f42010243030405ff", VOUCH_ERR_CBOR_INDEFINITE, "indefinite bstr"},
	    {"5fff", VOUCH_ERR_CBOR_INDEFINITE, "empty indefinite bstr"},
	    {"7f657374726561646d696e67ff", VOUCH_ERR_CBOR_INDEFINITE, "indefinite tstr"},
	    {"9fff", VOUCH_ERR_CBOR_INDEFINITE, "indefinite array"},
	    {"9f018202039f0405ffff", VOUCH_ERR_CBOR_INDEFINITE, "nested indefinite"},
	    {"83018202039f0405ff", VOUCH_ERR_CBOR_INDEFINITE, "indefinite inside definite"},
	    {"bf61610161629f0203ffff", VOUCH_ERR_CBOR_INDEFINITE, "indefinite map"},
	    {"a1015f4101ff", VOUCH_ERR_CBOR_INDEFINITE, "indefinite bstr as a value"},
	    {"c15fff", VOUCH_ERR_CBOR_INDEFINITE, "indefinite bstr under a tag"},
	};

	(void)state;
	check_cases(cases, VOUCH_ARRAY_LEN(cases));
}

static void test_trailing(void **state)
{
	static const struct bad_case cases[] = {
	    {"0000", VOUCH_ERR_CBOR_TRAILING, "two items"},
	    {"a000", VOUCH_ERR_CBOR_TRAILING, "map then uint"},
	    {"820102ff", VOUCH_ERR_CBOR_TRAILING, "break after the item"},
	    {"4100"
	     "00",
	     VOUCH_ERR_CBOR_TRAILING, "bstr then uint"},
	    {"d28000", VOUCH_ERR_CBOR_TRAILING, "tagged array then uint"},
	};

	(void)state;
	check_cases(cases, VOUCH_ARRAY_LEN(cases));
}

static void test_duplicates(void **state)
{
	static const struct bad_case dup[] = {
	    {"a201000100", VOUCH_ERR_CBOR_DUPLICATE, "same int key"},
	    {"a2010018"
	     "0100",
	     VOUCH_ERR_CBOR_DUPLICATE, "1 and 1 in one-byte width"},
	    {"a201001900"
	     "0100",
	     VOUCH_ERR_CBOR_DUPLICATE, "1 and 1 in two-byte width"},
	    {"a20100"
	     "1b0000000000000001"
	     "00",
	     VOUCH_ERR_CBOR_DUPLICATE, "1 in 8 bytes"},
	    {"a2170018"
	     "1700",
	     VOUCH_ERR_CBOR_DUPLICATE, "23 short and long"},
	    {"a2200038"
	     "0000",
	     VOUCH_ERR_CBOR_DUPLICATE, "-1 short and long"},
	    {"a2"
	     "3bffffffffffffffff00"
	     "3bffffffffffffffff00",
	     VOUCH_ERR_CBOR_DUPLICATE, "-2^64 twice"},
	    {"a2616101616102", VOUCH_ERR_CBOR_DUPLICATE, "tstr keys"},
	    {"a278016101"
	     "616101",
	     VOUCH_ERR_CBOR_DUPLICATE, "tstr with a long head"},
	    {"a242686901"
	     "42686902",
	     VOUCH_ERR_CBOR_DUPLICATE, "bstr keys"},
	    {"a28201020082010200", VOUCH_ERR_CBOR_DUPLICATE, "array keys"},
	    {"a2c10100c10100", VOUCH_ERR_CBOR_DUPLICATE, "tagged keys"},
	    {"a2f400f400", VOUCH_ERR_CBOR_DUPLICATE, "false twice"},
	    {"a101a202000201", VOUCH_ERR_CBOR_DUPLICATE, "in a nested map"},
	    {"81a3"
	     "0100"
	     "0200"
	     "1801"
	     "00",
	     VOUCH_ERR_CBOR_DUPLICATE, "in a map in an array"},
	};
	static const struct bad_case distinct[] = {
	    {"a201002000", VOUCH_OK, "1 and -1"},
	    {"a200002000", VOUCH_OK, "0 and -1"},
	    {"a24161006161"
	     "00",
	     VOUCH_OK, "bstr and tstr with the same bytes"},
	    {"a2f93c0000fa3f80000000", VOUCH_OK, "1.0 half and single (encodings differ)"},
	    {"a2616101616201", VOUCH_OK, "different tstr"},
	    {"a2010081"
	     "0100",
	     VOUCH_OK, "1 and [1]"},
	    {"a2a10102"
	     "00a10103"
	     "00",
	     VOUCH_OK, "map keys that differ"},
	    {"a301000200a10100"
	     "00",
	     VOUCH_OK, "same key in an inner map is fine"},
	};

	(void)state;
	check_cases(dup, VOUCH_ARRAY_LEN(dup));
	check_cases(distinct, VOUCH_ARRAY_LEN(distinct));
}

/* A map with more keys than the validator compares in one batch, with a duplicate pair placed
 * at positions i and j. */
static int big_map_rc(unsigned n, unsigned i, unsigned j)
{
	uint8_t buf[3 + 260 * 4];
	size_t len = 0;
	int rc;

	buf[len++] = 0xb9;
	buf[len++] = (uint8_t)(n >> 8);
	buf[len++] = (uint8_t)n;
	for (unsigned k = 0; k < n; k++) {
		unsigned key = k == j ? i : k;

		buf[len++] = 0x19;
		buf[len++] = (uint8_t)(key >> 8);
		buf[len++] = (uint8_t)key;
		buf[len++] = 0xf6;
	}
	rc = vouch_cbor_validate(buf, len, NULL);
	return rc;
}

static void test_duplicates_big_map(void **state)
{
	(void)state;
	assert_int_equal(big_map_rc(200, 0, 0), VOUCH_OK);
	assert_int_equal(big_map_rc(256, 0, 0), VOUCH_OK);
	assert_int_equal(big_map_rc(200, 0, 199), VOUCH_ERR_CBOR_DUPLICATE);
	assert_int_equal(big_map_rc(200, 3, 63), VOUCH_ERR_CBOR_DUPLICATE);
	assert_int_equal(big_map_rc(200, 63, 64), VOUCH_ERR_CBOR_DUPLICATE);
	assert_int_equal(big_map_rc(200, 64, 65), VOUCH_ERR_CBOR_DUPLICATE);
	assert_int_equal(big_map_rc(200, 130, 199), VOUCH_ERR_CBOR_DUPLICATE);
	assert_int_equal(big_map_rc(256, 198, 255), VOUCH_ERR_CBOR_DUPLICATE);
}

static void test_limits(void **state)
{
	struct vouch_cbor_limits l = vouch_cbor_default_limits;
	uint8_t buf[64];

	(void)state;
	/* Depth: 16 nested arrays pass by default, 17 do not; tags count as nesting. */
	memset(buf, 0x81, 16);
	buf[16] = 0x00;
	assert_int_equal(vouch_cbor_validate(buf, 17, NULL), VOUCH_OK);
	memset(buf, 0x81, 17);
	buf[17] = 0x00;
	assert_int_equal(vouch_cbor_validate(buf, 18, NULL), VOUCH_ERR_CBOR_LIMIT);
	memset(buf, 0xc1, 16);
	buf[16] = 0x00;
	assert_int_equal(vouch_cbor_validate(buf, 17, NULL), VOUCH_OK);
	memset(buf, 0xc1, 17);
	buf[17] = 0x00;
	assert_int_equal(vouch_cbor_validate(buf, 18, NULL), VOUCH_ERR_CBOR_LIMIT);
	/* Empty containers nest too. */
	memset(buf, 0x81, 16);
	buf[16] = 0x80;
	assert_int_equal(vouch_cbor_validate(buf, 17, NULL), VOUCH_ERR_CBOR_LIMIT);
	/* Too deep is found before too short. */
	memset(buf, 0xa1, 40);
	assert_int_equal(vouch_cbor_validate(buf, 40, NULL), VOUCH_ERR_CBOR_LIMIT);

	l.max_depth = 2;
	assert_int_equal(validate_hex("8181"
	                              "00",
	                              &l),
	                 VOUCH_OK);
	assert_int_equal(validate_hex("818181"
	                              "00",
	                              &l),
	                 VOUCH_ERR_CBOR_LIMIT);
	assert_int_equal(validate_hex("a101a10100", &l), VOUCH_OK);
	assert_int_equal(validate_hex("a101a101a0", &l), VOUCH_ERR_CBOR_LIMIT);
	l.max_depth = 0;
	assert_int_equal(validate_hex("07", &l), VOUCH_OK);
	assert_int_equal(validate_hex("80", &l), VOUCH_ERR_CBOR_LIMIT);

	/* Items: every head counts, the container's own too. */
	l = vouch_cbor_default_limits;
	l.max_items = 3;
	assert_int_equal(validate_hex("820102", &l), VOUCH_OK);
	assert_int_equal(validate_hex("83010203", &l), VOUCH_ERR_CBOR_LIMIT);
	assert_int_equal(validate_hex("c1820102", &l), VOUCH_ERR_CBOR_LIMIT);

	/* Map entries. */
	l = vouch_cbor_default_limits;
	l.max_map_entries = 2;
	assert_int_equal(validate_hex("a201020304", &l), VOUCH_OK);
	assert_int_equal(validate_hex("a3010203040506", &l), VOUCH_ERR_CBOR_LIMIT);
	assert_int_equal(validate_hex("81a3010203040506", &l), VOUCH_ERR_CBOR_LIMIT);
	assert_int_equal(big_map_rc(257, 0, 0), VOUCH_ERR_CBOR_LIMIT);

	/* Whole-buffer length. */
	l = vouch_cbor_default_limits;
	l.max_len = 3;
	assert_int_equal(validate_hex("820102", &l), VOUCH_OK);
	assert_int_equal(validate_hex("83010203", &l), VOUCH_ERR_CBOR_LIMIT);

	/* Default item limit: 65537 heads in one buffer. */
	{
		size_t n = 65536, len = 5 + n;
		uint8_t *big = malloc(len);

		assert_non_null(big);
		big[0] = 0x9a;
		big[1] = 0x00;
		big[2] = 0x01;
		big[3] = 0x00;
		big[4] = 0x00;
		memset(big + 5, 0x00, n);
		assert_int_equal(vouch_cbor_validate(big, len, NULL), VOUCH_ERR_CBOR_LIMIT);
		big[2] = 0x00; /* 65535 elements: 65536 items with the array */
		big[3] = 0xff;
		big[4] = 0xff;
		assert_int_equal(vouch_cbor_validate(big, len - 1, NULL), VOUCH_OK);
		free(big);
	}
}

/* Every strict prefix of a well-formed item is truncated (CBOR items are prefix-free). */
static void test_truncation(void **state)
{
	static const char *items[] = {
	    "1b000000e8d4a51000",
	    "fb3ff199999999999a",
	    "d28443a10126a1044231315454686973206973207468652063"
	    "6f6e74656e742e4401020304",
	    "a26161016162820203",
	    "826161a161626163",
	    "c249010000000000000000",
	    "f8ff",
	    "7818"
	    "000102030405060708090a0b0c0d0e0f1011121314151617",
	};

	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(items); i++) {
		size_t len;
		uint8_t *buf = tu_hex(items[i], &len);

		assert_int_equal(vouch_cbor_validate(buf, len, NULL), VOUCH_OK);
		for (size_t cut = 0; cut < len; cut++) {
			/* A copy of just the prefix, so ASan sees any read past it. */
			uint8_t *p = malloc(cut + 1);
			int rc;

			assert_non_null(p);
			memcpy(p, buf, cut);
			rc = vouch_cbor_validate(p, cut, NULL);
			if (rc != VOUCH_ERR_CBOR_MALFORMED)
				fail_msg("%s cut at %zu: got %d", items[i], cut, rc);
			free(p);
		}
		free(buf);
	}
}

/* ---- RFC 8949 Appendix A ---- */

enum want_kind {
	W_UINT,
	W_NEGINT,
	W_INT_LIMIT,
	W_FLOAT,
	W_NAN,
	W_BOOL,
	W_NULL,
	W_UNDEF,
	W_SIMPLE,
	W_TAG,
	W_BSTR,
	W_TSTR,
	W_ARRAY,
	W_MAP
};

struct appendix_a {
	const char *hex;
	enum want_kind kind;
	uint64_t u;       /* uint value, negint's n, bool, simple value, tag, count */
	double d;         /* float value */
	const char *data; /* string contents (hex) */
};

static const struct appendix_a appendix_a[] = {
    {"00", W_UINT, 0, 0, NULL},
    {"01", W_UINT, 1, 0, NULL},
    {"0a", W_UINT, 10, 0, NULL},
    {"17", W_UINT, 23, 0, NULL},
    {"1818", W_UINT, 24, 0, NULL},
    {"1819", W_UINT, 25, 0, NULL},
    {"1864", W_UINT, 100, 0, NULL},
    {"1903e8", W_UINT, 1000, 0, NULL},
    {"1a000f4240", W_UINT, 1000000, 0, NULL},
    {"1b000000e8d4a51000", W_UINT, 1000000000000ull, 0, NULL},
    {"1bffffffffffffffff", W_UINT, UINT64_MAX, 0, NULL},
    {"c249010000000000000000", W_TAG, 2, 0, NULL},
    {"3bffffffffffffffff", W_INT_LIMIT, UINT64_MAX, 0, NULL},
    {"c349010000000000000000", W_TAG, 3, 0, NULL},
    {"20", W_NEGINT, 0, 0, NULL},
    {"29", W_NEGINT, 9, 0, NULL},
    {"3863", W_NEGINT, 99, 0, NULL},
    {"3903e7", W_NEGINT, 999, 0, NULL},
    {"f90000", W_FLOAT, 0, 0.0, NULL},
    {"f98000", W_FLOAT, 0, -0.0, NULL},
    {"f93c00", W_FLOAT, 0, 1.0, NULL},
    {"fb3ff199999999999a", W_FLOAT, 0, 1.1, NULL},
    {"f93e00", W_FLOAT, 0, 1.5, NULL},
    {"f97bff", W_FLOAT, 0, 65504.0, NULL},
    {"fa47c35000", W_FLOAT, 0, 100000.0, NULL},
    {"fa7f7fffff", W_FLOAT, 0, 3.4028234663852886e+38, NULL},
    {"fb7e37e43c8800759c", W_FLOAT, 0, 1.0e+300, NULL},
    {"f90001", W_FLOAT, 0, 5.960464477539063e-8, NULL},
    {"f90400", W_FLOAT, 0, 0.00006103515625, NULL},
    {"f9c400", W_FLOAT, 0, -4.0, NULL},
    {"fbc010666666666666", W_FLOAT, 0, -4.1, NULL},
    {"f97c00", W_FLOAT, 0, INFINITY, NULL},
    {"f97e00", W_NAN, 0, 0, NULL},
    {"f9fc00", W_FLOAT, 0, -INFINITY, NULL},
    {"fa7f800000", W_FLOAT, 0, INFINITY, NULL},
    {"fa7fc00000", W_NAN, 0, 0, NULL},
    {"faff800000", W_FLOAT, 0, -INFINITY, NULL},
    {"fb7ff0000000000000", W_FLOAT, 0, INFINITY, NULL},
    {"fb7ff8000000000000", W_NAN, 0, 0, NULL},
    {"fbfff0000000000000", W_FLOAT, 0, -INFINITY, NULL},
    {"f4", W_BOOL, 0, 0, NULL},
    {"f5", W_BOOL, 1, 0, NULL},
    {"f6", W_NULL, 0, 0, NULL},
    {"f7", W_UNDEF, 0, 0, NULL},
    {"f0", W_SIMPLE, 16, 0, NULL},
    {"f8ff", W_SIMPLE, 255, 0, NULL},
    {"c074323031332d30332d32315432303a30343a30305a", W_TAG, 0, 0, NULL},
    {"c11a514b67b0", W_TAG, 1, 0, NULL},
    {"c1fb41d452d9ec200000", W_TAG, 1, 0, NULL},
    {"d74401020304", W_TAG, 23, 0, NULL},
    {"d818456449455446", W_TAG, 24, 0, NULL},
    {"d82076687474703a2f2f7777772e6578616d706c652e636f6d", W_TAG, 32, 0, NULL},
    {"40", W_BSTR, 0, 0, ""},
    {"4401020304", W_BSTR, 0, 0, "01020304"},
    {"60", W_TSTR, 0, 0, ""},
    {"6161", W_TSTR, 0, 0, "61"},
    {"6449455446", W_TSTR, 0, 0, "49455446"},
    {"62225c", W_TSTR, 0, 0, "225c"},
    {"62c3bc", W_TSTR, 0, 0, "c3bc"},
    {"63e6b0b4", W_TSTR, 0, 0, "e6b0b4"},
    {"64f0908591", W_TSTR, 0, 0, "f0908591"},
    {"80", W_ARRAY, 0, 0, NULL},
    {"83010203", W_ARRAY, 3, 0, NULL},
    {"8301820203820405", W_ARRAY, 3, 0, NULL},
    {"98190102030405060708090a0b0c0d0e0f101112131415161718181819", W_ARRAY, 25, 0, NULL},
    {"a0", W_MAP, 0, 0, NULL},
    {"a201020304", W_MAP, 2, 0, NULL},
    {"a26161016162820203", W_MAP, 2, 0, NULL},
    {"826161a161626163", W_ARRAY, 2, 0, NULL},
    {"a56161614161626142616361436164614461656145", W_MAP, 5, 0, NULL},
};

/* The Appendix A items in indefinite-length form: well-formed, but refused here. */
static const char *appendix_a_indefinite[] = {
    "5f42010243030405ff",
    "7f657374726561646d696e67ff",
    "9fff",
    "9f018202039f0405ffff",
    "9f01820203820405ff",
    "83018202039f0405ff",
    "83019f0203ff820405",
    "9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff",
    "bf61610161629f0203ffff",
    "826161bf61626163ff",
    "bf6346756ef563416d7421ff",
};

static void check_appendix_a(const struct appendix_a *t)
{
	struct vouch_cbor_reader r;
	enum vouch_cbor_type type;
	uint64_t u;
	int64_t i;
	double d;
	bool b;
	size_t len, n, dlen;
	const uint8_t *p;
	const char *s;
	uint8_t *buf = tu_hex(t->hex, &len);
	uint8_t *want = NULL;

	if (vouch_cbor_validate(buf, len, NULL) != VOUCH_OK)
		fail_msg("%s does not validate", t->hex);
	vouch_cbor_reader_init(&r, buf, len);
	assert_int_equal(vouch_cbor_peek(&r, &type), VOUCH_OK);
	switch (t->kind) {
	case W_UINT:
		assert_int_equal(type, VOUCH_CBOR_UINT);
		assert_int_equal(vouch_cbor_read_uint(&r, &u), VOUCH_OK);
		assert_true(u == t->u);
		if (t->u <= INT64_MAX) {
			vouch_cbor_reader_init(&r, buf, len);
			assert_int_equal(vouch_cbor_read_int(&r, &i), VOUCH_OK);
			assert_true(i == (int64_t)t->u);
		} else {
			vouch_cbor_reader_init(&r, buf, len);
			assert_int_equal(vouch_cbor_read_int(&r, &i), VOUCH_ERR_CBOR_LIMIT);
			assert_int_equal(r.pos, 0);
			assert_int_equal(vouch_cbor_read_uint(&r, &u), VOUCH_OK);
		}
		break;
	case W_NEGINT:
		assert_int_equal(type, VOUCH_CBOR_NEGINT);
		assert_int_equal(vouch_cbor_read_int(&r, &i), VOUCH_OK);
		assert_true(i == -1 - (int64_t)t->u);
		break;
	case W_INT_LIMIT:
		assert_int_equal(type, VOUCH_CBOR_NEGINT);
		assert_int_equal(vouch_cbor_read_int(&r, &i), VOUCH_ERR_CBOR_LIMIT);
		assert_int_equal(r.pos, 0);
		assert_int_equal(vouch_cbor_skip(&r), VOUCH_OK);
		break;
	case W_FLOAT:
	case W_NAN:
		assert_int_equal(type, VOUCH_CBOR_FLOAT);
		assert_int_equal(vouch_cbor_read_float(&r, &d), VOUCH_OK);
		if (t->kind == W_NAN) {
			assert_true(isnan(d));
		} else {
			assert_true(d == t->d);
			assert_true(signbit(d) == signbit(t->d));
		}
		break;
	case W_BOOL:
		assert_int_equal(type, VOUCH_CBOR_BOOL);
		assert_int_equal(vouch_cbor_read_bool(&r, &b), VOUCH_OK);
		assert_int_equal(b, t->u != 0);
		break;
	case W_NULL:
		assert_int_equal(type, VOUCH_CBOR_NULL);
		assert_int_equal(vouch_cbor_read_null(&r), VOUCH_OK);
		break;
	case W_UNDEF:
		assert_int_equal(type, VOUCH_CBOR_UNDEFINED);
		assert_int_equal(vouch_cbor_read_null(&r), VOUCH_ERR_CBOR_TYPE);
		assert_int_equal(vouch_cbor_skip(&r), VOUCH_OK);
		break;
	case W_SIMPLE:
		assert_int_equal(type, VOUCH_CBOR_SIMPLE);
		assert_int_equal(vouch_cbor_read_bool(&r, &b), VOUCH_ERR_CBOR_TYPE);
		assert_int_equal(vouch_cbor_skip(&r), VOUCH_OK);
		break;
	case W_TAG:
		assert_int_equal(type, VOUCH_CBOR_TAG);
		assert_int_equal(vouch_cbor_read_tag(&r, &u), VOUCH_OK);
		assert_true(u == t->u);
		assert_int_equal(vouch_cbor_skip(&r), VOUCH_OK);
		break;
	case W_BSTR:
		want = tu_hex(t->data, &dlen);
		assert_int_equal(type, VOUCH_CBOR_BSTR);
		assert_int_equal(vouch_cbor_read_bstr(&r, &p, &n), VOUCH_OK);
		assert_non_null(p);
		assert_int_equal(n, dlen);
		assert_memory_equal(p, want, dlen);
		break;
	case W_TSTR:
		want = tu_hex(t->data, &dlen);
		assert_int_equal(type, VOUCH_CBOR_TSTR);
		assert_int_equal(vouch_cbor_read_tstr(&r, &s, &n), VOUCH_OK);
		assert_non_null(s);
		assert_int_equal(n, dlen);
		assert_memory_equal(s, want, dlen);
		break;
	case W_ARRAY:
		assert_int_equal(type, VOUCH_CBOR_ARRAY);
		assert_int_equal(vouch_cbor_read_array(&r, &n), VOUCH_OK);
		assert_int_equal(n, t->u);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(vouch_cbor_skip(&r), VOUCH_OK);
		break;
	case W_MAP:
		assert_int_equal(type, VOUCH_CBOR_MAP);
		assert_int_equal(vouch_cbor_read_map(&r, &n), VOUCH_OK);
		assert_int_equal(n, t->u);
		for (size_t k = 0; k < 2 * n; k++)
			assert_int_equal(vouch_cbor_skip(&r), VOUCH_OK);
		break;
	}
	assert_true(vouch_cbor_reader_done(&r));
	assert_int_equal(r.pos, len);

	/* The whole item as one raw range. */
	vouch_cbor_reader_init(&r, buf, len);
	assert_int_equal(vouch_cbor_read_raw(&r, &p, &n), VOUCH_OK);
	assert_ptr_equal(p, buf);
	assert_int_equal(n, len);
	free(want);
	free(buf);
}

static void test_appendix_a(void **state)
{
	unsigned run = 0, passed = 0;

	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(appendix_a); i++) {
		run++;
		check_appendix_a(&appendix_a[i]);
		passed++;
	}
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(appendix_a_indefinite); i++) {
		run++;
		if (validate_hex(appendix_a_indefinite[i], NULL) != VOUCH_ERR_CBOR_INDEFINITE)
			fail_msg("%s not refused as indefinite", appendix_a_indefinite[i]);
		passed++;
	}
	tu_report("cbor-rfc8949-appendix-a", run, passed, 0,
	          "indefinite-length examples counted as passed when refused");
}

/* ---- readers ---- */

static void test_reader_type_errors(void **state)
{
	struct vouch_cbor_reader r;
	uint64_t u;
	int64_t i;
	double d;
	bool b;
	size_t n;
	const uint8_t *p;
	const char *s;
	/* "a" */
	static const uint8_t tstr[] = {0x61, 0x61};
	/* 1 */
	static const uint8_t one[] = {0x01};

	(void)state;
	vouch_cbor_reader_init(&r, tstr, sizeof(tstr));
	assert_int_equal(vouch_cbor_read_uint(&r, &u), VOUCH_ERR_CBOR_TYPE);
	assert_int_equal(vouch_cbor_read_int(&r, &i), VOUCH_ERR_CBOR_TYPE);
	assert_int_equal(vouch_cbor_read_bstr(&r, &p, &n), VOUCH_ERR_CBOR_TYPE);
	assert_null(p);
	assert_int_equal(n, 0);
	assert_int_equal(vouch_cbor_read_array(&r, &n), VOUCH_ERR_CBOR_TYPE);
	assert_int_equal(vouch_cbor_read_map(&r, &n), VOUCH_ERR_CBOR_TYPE);
	assert_int_equal(vouch_cbor_read_tag(&r, &u), VOUCH_ERR_CBOR_TYPE);
	assert_int_equal(vouch_cbor_read_bool(&r, &b), VOUCH_ERR_CBOR_TYPE);
	assert_int_equal(vouch_cbor_read_null(&r), VOUCH_ERR_CBOR_TYPE);
	assert_int_equal(vouch_cbor_read_float(&r, &d), VOUCH_ERR_CBOR_TYPE);
	assert_int_equal(r.pos, 0);
	assert_int_equal(vouch_cbor_read_tstr(&r, &s, &n), VOUCH_OK);
	assert_int_equal(n, 1);
	assert_int_equal(s[0], 'a');
	assert_true(vouch_cbor_reader_done(&r));
	/* Past the end: malformed, not a type error. */
	assert_int_equal(vouch_cbor_read_uint(&r, &u), VOUCH_ERR_CBOR_MALFORMED);
	assert_int_equal(r.pos, sizeof(tstr));

	vouch_cbor_reader_init(&r, one, sizeof(one));
	assert_int_equal(vouch_cbor_read_tstr(&r, &s, &n), VOUCH_ERR_CBOR_TYPE);
	assert_null(s);
	assert_int_equal(vouch_cbor_read_uint(&r, &u), VOUCH_OK);
	assert_int_equal(u, 1);
}

static void test_reader_sequence(void **state)
{
	/* [h'', "", {1: -1}, 18([]), null, true, 1.5] */
	size_t len, n;
	uint8_t *buf = tu_hex("874060a10120d280f6f5f93e00", &len);
	struct vouch_cbor_reader r;
	const uint8_t *p;
	const char *s;
	uint64_t u;
	int64_t i;
	double d;
	bool b;

	(void)state;
	assert_int_equal(vouch_cbor_validate(buf, len, NULL), VOUCH_OK);
	vouch_cbor_reader_init(&r, buf, len);
	assert_int_equal(vouch_cbor_read_array(&r, &n), VOUCH_OK);
	assert_int_equal(n, 7);
	/* Present but empty strings point into the buffer; absent ones are NULL. */
	assert_int_equal(vouch_cbor_read_bstr(&r, &p, &n), VOUCH_OK);
	assert_non_null(p);
	assert_int_equal(n, 0);
	assert_int_equal(vouch_cbor_read_tstr(&r, &s, &n), VOUCH_OK);
	assert_non_null(s);
	assert_int_equal(n, 0);
	assert_int_equal(vouch_cbor_read_raw(&r, &p, &n), VOUCH_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "\xa1\x01\x20", 3);
	assert_int_equal(vouch_cbor_read_tag(&r, &u), VOUCH_OK);
	assert_int_equal(u, 18);
	assert_int_equal(vouch_cbor_read_array(&r, &n), VOUCH_OK);
	assert_int_equal(n, 0);
	assert_int_equal(vouch_cbor_read_null(&r), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_bool(&r, &b), VOUCH_OK);
	assert_true(b);
	assert_int_equal(vouch_cbor_read_int(&r, &i), VOUCH_ERR_CBOR_TYPE);
	assert_int_equal(vouch_cbor_read_float(&r, &d), VOUCH_OK);
	assert_true(d == 1.5);
	assert_true(vouch_cbor_reader_done(&r));
	free(buf);
}

/* Readers and skip stay safe on input that never passed validation. */
static void test_reader_unvalidated(void **state)
{
	static const char *bad[] = {"9bffffffffffffffff",
	                            "bbffffffffffffffff",
	                            "5f",
	                            "9f01ff",
	                            "ff",
	                            "1c",
	                            "5a00000010",
	                            "81",
	                            ""};
	struct vouch_cbor_reader r;
	const uint8_t *p;
	size_t len, n;

	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(bad); i++) {
		uint8_t *buf = tu_hex(bad[i], &len);

		vouch_cbor_reader_init(&r, buf, len);
		assert_int_not_equal(vouch_cbor_skip(&r), VOUCH_OK);
		assert_int_equal(r.pos, 0);
		assert_int_not_equal(vouch_cbor_read_raw(&r, &p, &n), VOUCH_OK);
		assert_null(p);
		free(buf);
	}
	{
		uint8_t *buf = tu_hex("9bffffffffffffffff", &len);

		vouch_cbor_reader_init(&r, buf, len);
		assert_int_equal(vouch_cbor_read_array(&r, &n), VOUCH_ERR_CBOR_MALFORMED);
		free(buf);
		buf = tu_hex("5f4101ff", &len);
		vouch_cbor_reader_init(&r, buf, len);
		assert_int_equal(vouch_cbor_read_bstr(&r, &p, &n), VOUCH_ERR_CBOR_INDEFINITE);
		free(buf);
	}
}

/* ---- writer ---- */

static void check_written(const struct vouch_cbor_writer *w, const char *hex)
{
	size_t len, want_len;
	uint8_t *want = tu_hex(hex, &want_len);

	assert_int_equal(vouch_cbor_writer_finish(w, &len), VOUCH_OK);
	assert_int_equal(len, want_len);
	assert_memory_equal(w->buf, want, len);
	free(want);
}

static void write_sample(struct vouch_cbor_writer *w)
{
	static const uint8_t bytes[] = {1, 2, 3, 4};

	vouch_cbor_write_tag(w, 18);
	vouch_cbor_write_array(w, 10);
	vouch_cbor_write_uint(w, 1000000000000ull);
	vouch_cbor_write_int(w, -1000);
	vouch_cbor_write_int(w, INT64_MIN);
	vouch_cbor_write_bstr(w, bytes, sizeof(bytes));
	vouch_cbor_write_cstr(w, "IETF");
	vouch_cbor_write_map(w, 1);
	vouch_cbor_write_tstr(w, "a", 1);
	vouch_cbor_write_bool(w, false);
	vouch_cbor_write_null(w);
	vouch_cbor_write_double(w, 1.1);
	vouch_cbor_write_bstr_head(w, 2);
	vouch_cbor_write_raw(w, "\x01\x02", 2);
	vouch_cbor_write_bstr(w, NULL, 0);
}

static const char sample_hex[] = "d2"
                                 "8a"
                                 "1b000000e8d4a51000"
                                 "3903e7"
                                 "3b7fffffffffffffff"
                                 "4401020304"
                                 "6449455446"
                                 "a1"
                                 "6161"
                                 "f4"
                                 "f6"
                                 "fb3ff199999999999a"
                                 "420102"
                                 "40";

static void test_writer(void **state)
{
	uint8_t buf[128];
	struct vouch_cbor_writer w;
	size_t len;

	(void)state;
	vouch_cbor_writer_init(&w, buf, sizeof(buf));
	write_sample(&w);
	check_written(&w, sample_hex);
	assert_int_equal(vouch_cbor_validate(buf, w.len, NULL), VOUCH_OK);

	/* Shortest form for every head width (RFC 8949 Appendix A). */
	vouch_cbor_writer_init(&w, buf, sizeof(buf));
	vouch_cbor_write_uint(&w, 0);
	vouch_cbor_write_uint(&w, 23);
	vouch_cbor_write_uint(&w, 24);
	vouch_cbor_write_uint(&w, 1000);
	vouch_cbor_write_uint(&w, 1000000);
	vouch_cbor_write_uint(&w, UINT64_MAX);
	vouch_cbor_write_int(&w, -1);
	vouch_cbor_write_int(&w, -100);
	vouch_cbor_write_int(&w, INT64_MAX);
	vouch_cbor_write_tag(&w, 32);
	vouch_cbor_write_array(&w, 25);
	check_written(&w, "00"
	                  "17"
	                  "1818"
	                  "1903e8"
	                  "1a000f4240"
	                  "1bffffffffffffffff"
	                  "20"
	                  "3863"
	                  "1b7fffffffffffffff"
	                  "d820"
	                  "9819");

	/* Count-only mode gives the length of the real thing. */
	vouch_cbor_writer_init(&w, NULL, 0);
	write_sample(&w);
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_OK);
	assert_int_equal(len, (sizeof(sample_hex) - 1) / 2);
	vouch_cbor_writer_init(&w, NULL, 12345);
	vouch_cbor_write_bstr_head(&w, 1u << 20);
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_OK);
	assert_int_equal(len, 5);
}

static void test_writer_sticky(void **state)
{
	uint8_t buf[64];
	struct vouch_cbor_writer w;
	size_t len = 99, full;

	(void)state;
	vouch_cbor_writer_init(&w, NULL, 0);
	write_sample(&w);
	assert_int_equal(vouch_cbor_writer_finish(&w, &full), VOUCH_OK);

	/* Every capacity short of the full length fails, and nothing is written past cap. */
	for (size_t cap = 0; cap < full; cap++) {
		memset(buf, 0xee, sizeof(buf));
		vouch_cbor_writer_init(&w, buf, cap);
		write_sample(&w);
		assert_int_equal(w.err, VOUCH_ERR_BUFFER);
		assert_true(w.len <= cap);
		for (size_t k = cap; k < sizeof(buf); k++)
			assert_int_equal(buf[k], 0xee);
		assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_ERR_BUFFER);
		assert_int_equal(len, 0);
	}

	/* Sticky: once full, a later item that would fit is still refused. */
	vouch_cbor_writer_init(&w, buf, 3);
	vouch_cbor_write_bstr(&w, "abcd", 4);
	assert_int_equal(w.err, VOUCH_ERR_BUFFER);
	full = w.len;
	vouch_cbor_write_uint(&w, 1);
	assert_int_equal(w.len, full);
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_ERR_BUFFER);

	/* A NULL source with a length is a caller bug, and sticky too. */
	vouch_cbor_writer_init(&w, buf, sizeof(buf));
	vouch_cbor_write_bstr(&w, NULL, 3);
	vouch_cbor_write_uint(&w, 1);
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_ERR_INVALID);
	vouch_cbor_writer_init(&w, buf, sizeof(buf));
	vouch_cbor_write_cstr(&w, NULL);
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_malformed),          cmocka_unit_test(test_indefinite),
	    cmocka_unit_test(test_trailing),           cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_duplicates_big_map), cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_truncation),         cmocka_unit_test(test_appendix_a),
	    cmocka_unit_test(test_reader_type_errors), cmocka_unit_test(test_reader_sequence),
	    cmocka_unit_test(test_reader_unvalidated), cmocka_unit_test(test_writer),
	    cmocka_unit_test(test_writer_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
