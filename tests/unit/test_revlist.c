/*
 * The signed revocation list (include/vouch/revlist.h, docs/revlist.md): full and delta lists
 * with entries of every kind, reading them back, check() hits and misses against real
 * credentials, expiry, and the refusal of wrong signers, names, single-byte flips, truncations,
 * oversize and every payload that is not exactly a list of this format.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vouch/revlist.h"
#include "../../lib/cred_internal.h"

#define T0  1700000000
#define ISS "vouch:0123456789abcdef"
#define AUD "0123456789abcdef"

static const uint8_t perm[] = {0x81, 0x01};

static struct vouch_key signer, other_signer, issuer, phone_a, phone_b;

static int setup(void **state)
{
	struct vouch_key *keys[] = {&signer, &other_signer, &issuer, &phone_a, &phone_b};

	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(keys); i++) {
		vouch_key_init(keys[i]);
		if (vouch_key_generate(keys[i], VOUCH_KEY_P256) != VOUCH_OK)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct vouch_key *keys[] = {&signer, &other_signer, &issuer, &phone_a, &phone_b};

	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(keys); i++)
		vouch_key_clear(keys[i]);
	return 0;
}

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* A credential for sub, bound to phone, issued at iat, verified into *c (which points into buf). */
static void make_cred(const char *sub, const struct vouch_key *phone, int64_t iat, uint8_t cti,
                      uint8_t *buf, size_t cap, struct vouch_cred *c)
{
	struct vouch_cred_params p;
	struct vouch_cred_rules r = {ISS, AUD, iat + 10, 0};
	size_t len = 0;

	memset(&p, 0, sizeof(p));
	p.iss = ISS;
	p.sub = sub;
	p.aud = AUD;
	p.phone = "phone";
	p.iat = iat;
	p.nbf = iat;
	p.exp = iat + VOUCH_CRED_LIFETIME;
	memset(p.cti, cti, sizeof(p.cti));
	p.cnf = phone;
	p.perm = perm;
	p.perm_len = sizeof(perm);
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, cap, &len), VOUCH_OK);
	assert_int_equal(vouch_cred_verify(buf, len, &issuer, &r, c), VOUCH_OK);
}

static struct vouch_revlist_params list_params(const struct vouch_revlist_entry *e, size_t n)
{
	struct vouch_revlist_params p;

	memset(&p, 0, sizeof(p));
	p.iss = ISS;
	p.aud = AUD;
	p.version = 7;
	p.since = 0;
	p.issued_at = T0;
	p.max_age = VOUCH_REVLIST_MAX_AGE;
	p.entries = e;
	p.n_entries = n;
	return p;
}

static size_t sign_list(const struct vouch_revlist_params *p, uint8_t *out, size_t cap)
{
	size_t len = 0;

	assert_int_equal(vouch_revlist_sign(p, &signer, out, cap, &len), VOUCH_OK);
	return len;
}

static void assert_entry(const struct vouch_revlist_entry *got,
                         const struct vouch_revlist_entry *want)
{
	assert_int_equal(got->kind, want->kind);
	assert_int_equal(got->value_len, want->value_len);
	assert_memory_equal(got->value, want->value, want->value_len);
	assert_int_equal(got->revoked_at, want->revoked_at);
}

/* ---- full and delta lists ---- */

static void test_full_and_delta(void **state)
{
	uint8_t hash[VOUCH_TOKEN_HASH_LEN], thumb[VOUCH_THUMBPRINT_LEN], buf[1024];
	struct vouch_revlist_entry entries[3], e;
	struct vouch_revlist_params p;
	struct vouch_revlist rl;
	size_t len, pos = 0, n = 0;

	(void)state;
	memset(hash, 0xab, sizeof(hash));
	assert_int_equal(vouch_cose_key_thumbprint(&phone_a, thumb), VOUCH_OK);
	entries[0] = (struct vouch_revlist_entry){VOUCH_REVLIST_TOKEN, hash, sizeof(hash), T0 - 5};
	entries[1] =
	    (struct vouch_revlist_entry){VOUCH_REVLIST_SUBJECT, (const uint8_t *)"bob", 3, T0 - 4};
	entries[2] = (struct vouch_revlist_entry){VOUCH_REVLIST_PHONE, thumb, sizeof(thumb), -1};

	/* A full list. */
	p = list_params(entries, 3);
	len = sign_list(&p, buf, sizeof(buf));
	assert_int_equal(vouch_revlist_verify(buf, len, &signer, ISS, AUD, &rl), VOUCH_OK);
	assert_int_equal(rl.iss_len, strlen(ISS));
	assert_memory_equal(rl.iss, ISS, rl.iss_len);
	assert_int_equal(rl.aud_len, strlen(AUD));
	assert_memory_equal(rl.aud, AUD, rl.aud_len);
	assert_int_equal(rl.version, 7);
	assert_int_equal(rl.since, 0);
	assert_int_equal(rl.issued_at, T0);
	assert_int_equal(rl.max_age, VOUCH_REVLIST_MAX_AGE);
	assert_int_equal(rl.n_entries, 3);
	assert_true(rl.entries > buf && rl.entries + rl.entries_len == buf + len - 2 - 64);
	while (vouch_revlist_next(&rl, &pos, &e)) {
		assert_true(n < 3);
		assert_entry(&e, &entries[n]);
		n++;
	}
	assert_int_equal(n, 3);
	assert_true(all_zero(&e, sizeof(e)));
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(vouch_revlist_entry(&rl, i, &e), VOUCH_OK);
		assert_entry(&e, &entries[i]);
	}
	assert_int_equal(vouch_revlist_entry(&rl, 3, &e), VOUCH_ERR_INVALID);
	assert_true(all_zero(&e, sizeof(e)));
	/* iss and aud are checked only when asked. */
	assert_int_equal(vouch_revlist_verify(buf, len, &signer, NULL, NULL, &rl), VOUCH_OK);

	/* A delta over (5, 7], and an empty one. */
	p = list_params(entries + 1, 1);
	p.since = 5;
	len = sign_list(&p, buf, sizeof(buf));
	assert_int_equal(vouch_revlist_verify(buf, len, &signer, ISS, AUD, &rl), VOUCH_OK);
	assert_int_equal(rl.since, 5);
	assert_int_equal(rl.version, 7);
	assert_int_equal(rl.n_entries, 1);
	assert_int_equal(vouch_revlist_entry(&rl, 0, &e), VOUCH_OK);
	assert_entry(&e, &entries[1]);
	p = list_params(NULL, 0);
	p.since = 6;
	len = sign_list(&p, buf, sizeof(buf));
	assert_int_equal(vouch_revlist_verify(buf, len, &signer, ISS, AUD, &rl), VOUCH_OK);
	assert_int_equal(rl.n_entries, 0);
	pos = 0;
	assert_false(vouch_revlist_next(&rl, &pos, &e));
	assert_int_equal(vouch_revlist_entry(&rl, 0, &e), VOUCH_ERR_INVALID);
}

static void test_check(void **state)
{
	static uint8_t b1[1024], b2[1024], b3[1024], b4[1024], b5[1024], b6[1024], lbuf[1024];
	struct vouch_cred alice, alice2, bob_before, bob_at, bob_after, carol;
	struct vouch_revlist_entry entries[3];
	struct vouch_revlist_params p;
	struct vouch_revlist rl;
	uint8_t thumb_b[VOUCH_THUMBPRINT_LEN];
	size_t len;

	(void)state;
	make_cred("alice", &phone_a, T0, 1, b1, sizeof(b1), &alice);
	make_cred("alice", &phone_a, T0, 2, b2, sizeof(b2), &alice2);
	make_cred("bob", &phone_a, T0 - 100, 3, b3, sizeof(b3), &bob_before);
	make_cred("bob", &phone_a, T0, 4, b4, sizeof(b4), &bob_at);
	make_cred("bob", &phone_a, T0 + 1, 5, b5, sizeof(b5), &bob_after);
	make_cred("carol", &phone_b, T0, 6, b6, sizeof(b6), &carol);
	assert_int_equal(vouch_cose_key_thumbprint(&phone_b, thumb_b), VOUCH_OK);

	/* alice's first credential by its token hash, bob at T0, carol's phone. */
	entries[0] = (struct vouch_revlist_entry){VOUCH_REVLIST_TOKEN, alice.token_hash,
	                                          VOUCH_TOKEN_HASH_LEN, T0 + 50};
	entries[1] =
	    (struct vouch_revlist_entry){VOUCH_REVLIST_SUBJECT, (const uint8_t *)"bob", 3, T0};
	entries[2] =
	    (struct vouch_revlist_entry){VOUCH_REVLIST_PHONE, thumb_b, sizeof(thumb_b), T0 + 60};
	p = list_params(entries, 3);
	len = sign_list(&p, lbuf, sizeof(lbuf));
	assert_int_equal(vouch_revlist_verify(lbuf, len, &signer, ISS, AUD, &rl), VOUCH_OK);

	assert_int_equal(vouch_revlist_check(&rl, &alice), VOUCH_ERR_REVOKED);
	/* Another credential of the same user and phone: a token entry hits only its token. */
	assert_int_equal(vouch_revlist_check(&rl, &alice2), VOUCH_OK);
	/* A subject entry hits what was issued at or before revoked_at, not what came after. */
	assert_int_equal(vouch_revlist_check(&rl, &bob_before), VOUCH_ERR_REVOKED);
	assert_int_equal(vouch_revlist_check(&rl, &bob_at), VOUCH_ERR_REVOKED);
	assert_int_equal(vouch_revlist_check(&rl, &bob_after), VOUCH_OK);
	/* A phone entry hits every credential bound to that key. */
	assert_int_equal(vouch_revlist_check(&rl, &carol), VOUCH_ERR_REVOKED);

	/* "bo" and "bobb" are other users. */
	entries[1].value = (const uint8_t *)"bobb";
	entries[1].value_len = 4;
	p = list_params(entries + 1, 1);
	len = sign_list(&p, lbuf, sizeof(lbuf));
	assert_int_equal(vouch_revlist_verify(lbuf, len, &signer, ISS, AUD, &rl), VOUCH_OK);
	assert_int_equal(vouch_revlist_check(&rl, &bob_before), VOUCH_OK);
	entries[1].value_len = 2;
	len = sign_list(&p, lbuf, sizeof(lbuf));
	assert_int_equal(vouch_revlist_verify(lbuf, len, &signer, ISS, AUD, &rl), VOUCH_OK);
	assert_int_equal(vouch_revlist_check(&rl, &bob_before), VOUCH_OK);

	assert_int_equal(vouch_revlist_check(NULL, &alice), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_revlist_check(&rl, NULL), VOUCH_ERR_INVALID);
}

static void test_expired(void **state)
{
	struct vouch_revlist rl;

	(void)state;
	memset(&rl, 0, sizeof(rl));
	rl.issued_at = 1000;
	rl.max_age = 60;
	assert_false(vouch_revlist_expired(&rl, 999));
	assert_false(vouch_revlist_expired(&rl, 1000));
	assert_false(vouch_revlist_expired(&rl, 1060));
	assert_true(vouch_revlist_expired(&rl, 1061));
	assert_true(vouch_revlist_expired(&rl, INT64_MAX));
	rl.issued_at = INT64_MIN;
	assert_true(vouch_revlist_expired(&rl, INT64_MAX));
	assert_false(vouch_revlist_expired(&rl, INT64_MIN + 60));
	assert_true(vouch_revlist_expired(&rl, INT64_MIN + 61));
	rl.issued_at = INT64_MAX - 10;
	rl.max_age = UINT32_MAX;
	assert_false(vouch_revlist_expired(&rl, INT64_MAX));
	assert_true(vouch_revlist_expired(NULL, 0));
}

/* ---- refusals of signed lists ---- */

static void test_verify_refusals(void **state)
{
	uint8_t hash[VOUCH_TOKEN_HASH_LEN], buf[1024], tmp[1024];
	struct vouch_revlist_entry entries[2];
	struct vouch_revlist_params p;
	struct vouch_revlist rl;
	struct vouch_key ed;
	size_t len;

	(void)state;
	memset(hash, 0x5a, sizeof(hash));
	entries[0] = (struct vouch_revlist_entry){VOUCH_REVLIST_TOKEN, hash, sizeof(hash), T0};
	entries[1] =
	    (struct vouch_revlist_entry){VOUCH_REVLIST_SUBJECT, (const uint8_t *)"eve", 3, T0};
	p = list_params(entries, 2);
	len = sign_list(&p, buf, sizeof(buf));

	assert_int_equal(vouch_revlist_verify(buf, len, &other_signer, ISS, AUD, &rl),
	                 VOUCH_ERR_VERIFY);
	assert_true(all_zero(&rl, sizeof(rl)));
	assert_int_equal(
	    vouch_revlist_verify(buf, len, &signer, "vouch:fedcba9876543210", AUD, &rl),
	    VOUCH_ERR_CWT_ISSUER);
	assert_true(all_zero(&rl, sizeof(rl)));
	assert_int_equal(vouch_revlist_verify(buf, len, &signer, ISS, "0123", &rl),
	                 VOUCH_ERR_CWT_AUDIENCE);
	assert_int_equal(vouch_revlist_verify(NULL, len, &signer, ISS, AUD, &rl),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_revlist_verify(buf, len, NULL, ISS, AUD, &rl), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_revlist_verify(buf, len, &signer, ISS, AUD, NULL),
	                 VOUCH_ERR_INVALID);
	/* A key of another type (PSA has no Ed25519: X25519 stands in). */
	vouch_key_init(&ed);
	assert_int_equal(vouch_key_generate(&ed, tu_psa() ? VOUCH_KEY_X25519 : VOUCH_KEY_ED25519),
	                 VOUCH_OK);
	assert_int_equal(vouch_revlist_verify(buf, len, &ed, ISS, AUD, &rl), VOUCH_ERR_KEY);
	vouch_key_clear(&ed);

	/* Every single-byte change, every truncation, a trailing byte. */
	for (size_t i = 0; i < len; i++) {
		static const uint8_t flips[] = {0x01, 0x80, 0xff};

		for (size_t f = 0; f < sizeof(flips); f++) {
			memcpy(tmp, buf, len);
			tmp[i] ^= flips[f];
			if (vouch_revlist_verify(tmp, len, &signer, ISS, AUD, &rl) == VOUCH_OK)
				fail_msg("flip 0x%02x at %zu verified", flips[f], i);
			assert_true(all_zero(&rl, sizeof(rl)));
		}
	}
	for (size_t l = 0; l < len; l++) {
		uint8_t *t = malloc(l > 0 ? l : 1);

		assert_non_null(t);
		memcpy(t, buf, l);
		if (vouch_revlist_verify(t, l, &signer, ISS, AUD, &rl) == VOUCH_OK)
			fail_msg("truncation to %zu verified", l);
		assert_true(all_zero(&rl, sizeof(rl)));
		free(t);
	}
	memcpy(tmp, buf, len);
	tmp[len] = 0x00;
	assert_int_equal(vouch_revlist_verify(tmp, len + 1, &signer, ISS, AUD, &rl),
	                 VOUCH_ERR_CBOR_TRAILING);

	/* In tag 61 it is a credential's envelope, not a list's. */
	tmp[0] = 0xd8;
	tmp[1] = 0x3d;
	memcpy(tmp + 2, buf, len);
	assert_int_equal(vouch_revlist_verify(tmp, len + 2, &signer, ISS, AUD, &rl),
	                 VOUCH_ERR_COSE_STRUCTURE);
	/* Without tag 18. */
	assert_int_equal(vouch_revlist_verify(buf + 1, len - 1, &signer, ISS, AUD, &rl),
	                 VOUCH_ERR_COSE_STRUCTURE);
	/* Oversized: refused before anything is decoded. */
	{
		uint8_t *big = calloc(1, VOUCH_REVLIST_MAX_LEN + 1);

		assert_non_null(big);
		memcpy(big, buf, len);
		assert_int_equal(
		    vouch_revlist_verify(big, VOUCH_REVLIST_MAX_LEN + 1, &signer, ISS, AUD, &rl),
		    VOUCH_ERR_CBOR_LIMIT);
		free(big);
	}
}

static void test_sign_refusals(void **state)
{
	uint8_t hash[VOUCH_TOKEN_HASH_LEN], buf[1024], raw[VOUCH_P256_POINT_LEN];
	struct vouch_revlist_entry e[1];
	struct vouch_revlist_params p;
	struct vouch_key pub;
	size_t len = 9, raw_len = 0, good_len;
	char long_name[VOUCH_CRED_TEXT_MAX + 2];

	(void)state;
	memset(hash, 1, sizeof(hash));
	e[0] = (struct vouch_revlist_entry){VOUCH_REVLIST_TOKEN, hash, sizeof(hash), T0};
	p = list_params(e, 1);
	good_len = sign_list(&p, buf, sizeof(buf));

	assert_int_equal(vouch_revlist_sign(NULL, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(len, 0);
	assert_int_equal(vouch_revlist_sign(&p, NULL, buf, sizeof(buf), &len), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_revlist_sign(&p, &signer, NULL, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), NULL),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_key_export_public(&signer, raw, sizeof(raw), &raw_len), VOUCH_OK);
	vouch_key_init(&pub);
	assert_int_equal(vouch_key_import_public(&pub, VOUCH_KEY_P256, raw, raw_len), VOUCH_OK);
	assert_int_equal(vouch_revlist_sign(&p, &pub, buf, sizeof(buf), &len), VOUCH_ERR_KEY);
	vouch_key_clear(&pub);

	p.version = 0;
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	p = list_params(e, 1);
	p.since = p.version;
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	p = list_params(e, 1);
	p.max_age = 0;
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	p = list_params(e, 1);
	p.iss = "";
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	p.iss = long_name;
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	p = list_params(e, 1);
	p.aud = NULL;
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	p = list_params(NULL, 1);
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	p = list_params(e, VOUCH_REVLIST_MAX_ENTRIES + 1);
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);

	/* Entries: a known kind, 32-byte hashes and thumbprints, 1..255-byte names. */
	p = list_params(e, 1);
	e[0].kind = (enum vouch_revlist_kind)4;
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	e[0].kind = VOUCH_REVLIST_PHONE;
	e[0].value_len = 31;
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	e[0].value = NULL;
	e[0].value_len = 32;
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	e[0].kind = VOUCH_REVLIST_SUBJECT;
	e[0].value = (const uint8_t *)"a\0b";
	e[0].value_len = 3;
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	e[0].value_len = 0;
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	e[0].value = (const uint8_t *)long_name;
	e[0].value_len = VOUCH_CRED_TEXT_MAX + 1;
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	e[0].value_len = VOUCH_CRED_TEXT_MAX;
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, sizeof(buf), &len), VOUCH_OK);

	/* Room for exactly the list. */
	e[0] = (struct vouch_revlist_entry){VOUCH_REVLIST_TOKEN, hash, sizeof(hash), T0};
	for (size_t cap = 0; cap < good_len; cap++) {
		assert_int_equal(vouch_revlist_sign(&p, &signer, buf, cap, &len), VOUCH_ERR_BUFFER);
		assert_int_equal(len, 0);
	}
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, good_len, &len), VOUCH_OK);
	assert_int_equal(len, good_len);
}

/* ---- the payload decoder, strictly ---- */

enum mutation {
	M_NONE,
	M_FORMAT_2,
	M_KEY_9,       /* key 9 instead of 7 */
	M_TEXT_KEY,    /* "v" instead of 7 */
	M_MISSING_KEY, /* 7 keys */
	M_NINE_KEYS,   /* a 9th entry */
	M_DUP_KEY,     /* key 4 twice, no 7 */
	M_VERSION_0,
	M_SINCE_EQ,
	M_MAX_AGE_0,
	M_MAX_AGE_BIG,
	M_ISSUED_FLOAT,
	M_ISS_EMPTY,
	M_ISS_BSTR,
	M_VERSION_NEG,
	M_ENTRIES_MAP,
	M_TOKEN_31,
	M_TOKEN_33,
	M_TOKEN_TSTR,
	M_SUBJECT_BSTR,
	M_SUBJECT_EMPTY,
	M_SUBJECT_NUL,
	M_KIND_0,
	M_KIND_4,
	M_ENTRY_4_ITEMS,
	M_REVOKED_FLOAT,
	M_REVOKED_TAG,
	M_NOT_MAP,
	M_TRAILING,
	M_COUNT,
};

static const int expected[M_COUNT] = {
    [M_NONE] = VOUCH_OK,
    [M_FORMAT_2] = VOUCH_ERR_REVLIST_FORMAT,
    [M_KEY_9] = VOUCH_ERR_REVLIST_FORMAT,
    [M_TEXT_KEY] = VOUCH_ERR_REVLIST_FORMAT,
    [M_MISSING_KEY] = VOUCH_ERR_REVLIST_FORMAT,
    [M_NINE_KEYS] = VOUCH_ERR_CBOR_LIMIT,
    [M_DUP_KEY] = VOUCH_ERR_CBOR_DUPLICATE,
    [M_VERSION_0] = VOUCH_ERR_REVLIST_FORMAT,
    [M_SINCE_EQ] = VOUCH_ERR_REVLIST_FORMAT,
    [M_MAX_AGE_0] = VOUCH_ERR_REVLIST_FORMAT,
    [M_MAX_AGE_BIG] = VOUCH_ERR_REVLIST_FORMAT,
    [M_ISSUED_FLOAT] = VOUCH_ERR_REVLIST_FORMAT,
    [M_ISS_EMPTY] = VOUCH_ERR_REVLIST_FORMAT,
    [M_ISS_BSTR] = VOUCH_ERR_REVLIST_FORMAT,
    [M_VERSION_NEG] = VOUCH_ERR_REVLIST_FORMAT,
    [M_ENTRIES_MAP] = VOUCH_ERR_REVLIST_FORMAT,
    [M_TOKEN_31] = VOUCH_ERR_REVLIST_FORMAT,
    [M_TOKEN_33] = VOUCH_ERR_REVLIST_FORMAT,
    [M_TOKEN_TSTR] = VOUCH_ERR_REVLIST_FORMAT,
    [M_SUBJECT_BSTR] = VOUCH_ERR_REVLIST_FORMAT,
    [M_SUBJECT_EMPTY] = VOUCH_ERR_REVLIST_FORMAT,
    [M_SUBJECT_NUL] = VOUCH_ERR_REVLIST_FORMAT,
    [M_KIND_0] = VOUCH_ERR_REVLIST_FORMAT,
    [M_KIND_4] = VOUCH_ERR_REVLIST_FORMAT,
    [M_ENTRY_4_ITEMS] = VOUCH_ERR_REVLIST_FORMAT,
    [M_REVOKED_FLOAT] = VOUCH_ERR_REVLIST_FORMAT,
    [M_REVOKED_TAG] = VOUCH_ERR_CBOR_LIMIT, /* a tag is a fourth level */
    [M_NOT_MAP] = VOUCH_ERR_REVLIST_FORMAT,
    [M_TRAILING] = VOUCH_ERR_CBOR_TRAILING,
};

/* A one-entry-per-kind payload, written by hand so that each mutation can break one rule. */
static size_t build_payload(enum mutation m, uint8_t *out, size_t cap)
{
	static const uint8_t h31[31], h32[32], h33[33];
	struct vouch_cbor_writer w;
	size_t len = 0, n_keys = 8;

	if (m == M_MISSING_KEY)
		n_keys = 7;
	if (m == M_NINE_KEYS)
		n_keys = 9;
	vouch_cbor_writer_init(&w, out, cap);
	if (m == M_NOT_MAP) {
		vouch_cbor_write_array(&w, 0);
		assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_OK);
		return len;
	}
	vouch_cbor_write_map(&w, n_keys);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_uint(&w, m == M_FORMAT_2 ? 2 : 1);
	vouch_cbor_write_uint(&w, 2);
	if (m == M_ISS_EMPTY)
		vouch_cbor_write_tstr(&w, "", 0);
	else if (m == M_ISS_BSTR)
		vouch_cbor_write_bstr(&w, ISS, strlen(ISS));
	else
		vouch_cbor_write_cstr(&w, ISS);
	vouch_cbor_write_uint(&w, 3);
	vouch_cbor_write_cstr(&w, AUD);
	vouch_cbor_write_uint(&w, 4);
	if (m == M_VERSION_NEG)
		vouch_cbor_write_int(&w, -3);
	else
		vouch_cbor_write_uint(&w, m == M_VERSION_0 ? 0 : 9);
	vouch_cbor_write_uint(&w, 5);
	vouch_cbor_write_uint(&w, m == M_SINCE_EQ ? 9 : 3);
	vouch_cbor_write_uint(&w, 6);
	if (m == M_ISSUED_FLOAT)
		vouch_cbor_write_double(&w, 1700000000.5);
	else
		vouch_cbor_write_int(&w, T0);
	if (m != M_MISSING_KEY) {
		if (m == M_KEY_9)
			vouch_cbor_write_uint(&w, 9);
		else if (m == M_TEXT_KEY)
			vouch_cbor_write_cstr(&w, "v");
		else if (m == M_DUP_KEY)
			vouch_cbor_write_uint(&w, 4);
		else
			vouch_cbor_write_uint(&w, 7);
		vouch_cbor_write_uint(&w, m == M_MAX_AGE_0     ? 0
		                          : m == M_MAX_AGE_BIG ? (uint64_t)UINT32_MAX + 1
		                                               : 3600);
	}
	vouch_cbor_write_uint(&w, 8);
	if (m == M_ENTRIES_MAP) {
		vouch_cbor_write_map(&w, 0);
	} else {
		vouch_cbor_write_array(&w, 3);
		/* token */
		vouch_cbor_write_array(&w, m == M_ENTRY_4_ITEMS ? 4 : 3);
		vouch_cbor_write_uint(&w, m == M_KIND_0 ? 0 : m == M_KIND_4 ? 4 : 1);
		if (m == M_TOKEN_31)
			vouch_cbor_write_bstr(&w, h31, sizeof(h31));
		else if (m == M_TOKEN_33)
			vouch_cbor_write_bstr(&w, h33, sizeof(h33));
		else if (m == M_TOKEN_TSTR)
			vouch_cbor_write_tstr(&w, (const char *)h32, sizeof(h32));
		else
			vouch_cbor_write_bstr(&w, h32, sizeof(h32));
		if (m == M_REVOKED_FLOAT) {
			vouch_cbor_write_double(&w, 5.0);
		} else if (m == M_REVOKED_TAG) {
			vouch_cbor_write_tag(&w, 1);
			vouch_cbor_write_int(&w, 5);
		} else {
			vouch_cbor_write_int(&w, -5);
		}
		if (m == M_ENTRY_4_ITEMS)
			vouch_cbor_write_null(&w);
		/* subject */
		vouch_cbor_write_array(&w, 3);
		vouch_cbor_write_uint(&w, 2);
		if (m == M_SUBJECT_BSTR)
			vouch_cbor_write_bstr(&w, "bob", 3);
		else if (m == M_SUBJECT_EMPTY)
			vouch_cbor_write_tstr(&w, "", 0);
		else if (m == M_SUBJECT_NUL)
			vouch_cbor_write_tstr(&w, "b\0b", 3);
		else
			vouch_cbor_write_cstr(&w, "bob");
		vouch_cbor_write_int(&w, T0);
		/* phone */
		vouch_cbor_write_array(&w, 3);
		vouch_cbor_write_uint(&w, 3);
		vouch_cbor_write_bstr(&w, h32, sizeof(h32));
		vouch_cbor_write_uint(&w, T0);
	}
	if (m == M_NINE_KEYS) {
		vouch_cbor_write_uint(&w, 9);
		vouch_cbor_write_uint(&w, 0);
	}
	if (m == M_TRAILING)
		vouch_cbor_write_uint(&w, 0);
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_OK);
	return len;
}

struct raw_payload {
	const uint8_t *p;
	size_t len;
};

static int write_raw(const void *ctx, uint8_t *out, size_t cap, size_t *len)
{
	const struct raw_payload *rp = ctx;

	*len = rp->len;
	if (out == NULL)
		return VOUCH_OK;
	if (cap < rp->len)
		return VOUCH_ERR_BUFFER;
	memcpy(out, rp->p, rp->len);
	return VOUCH_OK;
}

static void test_payload_strict(void **state)
{
	uint8_t payload[512], buf[1024];
	struct vouch_revlist rl;

	(void)state;
	for (int m = M_NONE; m < M_COUNT; m++) {
		size_t len = build_payload((enum mutation)m, payload, sizeof(payload)),
		       signed_len = 0;
		struct raw_payload rp = {payload, len};
		int rc = vouch_revlist_payload_parse(payload, len, &rl);

		if (rc != expected[m])
			fail_msg("mutation %d: %d, want %d", m, rc, expected[m]);
		if (rc != VOUCH_OK)
			assert_true(all_zero(&rl, sizeof(rl)));
		/* Signed, the list is refused for the same reason. */
		assert_int_equal(vouch_cred_envelope_sign(&signer, false, write_raw, &rp, buf,
		                                          sizeof(buf), &signed_len),
		                 VOUCH_OK);
		assert_int_equal(vouch_revlist_verify(buf, signed_len, &signer, NULL, NULL, &rl),
		                 expected[m]);
		if (m == M_NONE) {
			assert_int_equal(rl.version, 9);
			assert_int_equal(rl.since, 3);
			assert_int_equal(rl.max_age, 3600);
			assert_int_equal(rl.n_entries, 3);
		}
	}
	assert_int_equal(vouch_revlist_payload_parse(NULL, 0, &rl), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_revlist_payload_parse(payload, 1, NULL), VOUCH_ERR_INVALID);
}

/* ---- the largest list ---- */

static void test_max_entries(void **state)
{
	const size_t n = VOUCH_REVLIST_MAX_ENTRIES;
	struct vouch_revlist_entry *e = calloc(n + 1, sizeof(*e));
	uint8_t *hashes = malloc((n + 1) * VOUCH_TOKEN_HASH_LEN), *buf, cbuf[1024];
	size_t cap = 48 * (n + 1) + 1024, len = 0, pos = 0, count = 0;
	struct vouch_revlist_params p;
	struct vouch_revlist_entry got;
	struct vouch_revlist rl;
	struct vouch_cred c;

	(void)state;
	buf = malloc(cap);
	assert_non_null(e);
	assert_non_null(hashes);
	assert_non_null(buf);
	for (size_t i = 0; i <= n; i++) {
		uint8_t *h = hashes + i * VOUCH_TOKEN_HASH_LEN;

		memset(h, 0, VOUCH_TOKEN_HASH_LEN);
		memcpy(h, &i, sizeof(i));
		e[i] = (struct vouch_revlist_entry){VOUCH_REVLIST_TOKEN, h, VOUCH_TOKEN_HASH_LEN,
		                                    (int64_t)i};
	}
	p = list_params(e, n);
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, cap, &len), VOUCH_OK);
	assert_int_equal(vouch_revlist_verify(buf, len, &signer, ISS, AUD, &rl), VOUCH_OK);
	assert_int_equal(rl.n_entries, n);
	while (vouch_revlist_next(&rl, &pos, &got))
		count++;
	assert_int_equal(count, n);
	assert_int_equal(vouch_revlist_entry(&rl, n - 1, &got), VOUCH_OK);
	assert_entry(&got, &e[n - 1]);

	/* One pass over every entry, no hit; then the last entry hits. */
	make_cred("dave", &phone_a, T0, 9, cbuf, sizeof(cbuf), &c);
	assert_int_equal(vouch_revlist_check(&rl, &c), VOUCH_OK);
	memcpy(hashes + (n - 1) * VOUCH_TOKEN_HASH_LEN, c.token_hash, VOUCH_TOKEN_HASH_LEN);
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, cap, &len), VOUCH_OK);
	assert_int_equal(vouch_revlist_verify(buf, len, &signer, ISS, AUD, &rl), VOUCH_OK);
	assert_int_equal(vouch_revlist_check(&rl, &c), VOUCH_ERR_REVOKED);

	/* One entry more is refused on both sides. */
	p.n_entries = n + 1;
	assert_int_equal(vouch_revlist_sign(&p, &signer, buf, cap, &len), VOUCH_ERR_INVALID);
	{
		/* Hand-made: the payload of n + 1 entries, signed. */
		struct vouch_cbor_writer w;
		struct raw_payload rp;
		uint8_t *payload = malloc(cap);
		size_t plen = 0;

		assert_non_null(payload);
		vouch_cbor_writer_init(&w, payload, cap);
		vouch_cbor_write_map(&w, 8);
		vouch_cbor_write_uint(&w, 1);
		vouch_cbor_write_uint(&w, 1);
		vouch_cbor_write_uint(&w, 2);
		vouch_cbor_write_cstr(&w, ISS);
		vouch_cbor_write_uint(&w, 3);
		vouch_cbor_write_cstr(&w, AUD);
		vouch_cbor_write_uint(&w, 4);
		vouch_cbor_write_uint(&w, 2);
		vouch_cbor_write_uint(&w, 5);
		vouch_cbor_write_uint(&w, 0);
		vouch_cbor_write_uint(&w, 6);
		vouch_cbor_write_int(&w, T0);
		vouch_cbor_write_uint(&w, 7);
		vouch_cbor_write_uint(&w, 60);
		vouch_cbor_write_uint(&w, 8);
		vouch_cbor_write_array(&w, n + 1);
		for (size_t i = 0; i <= n; i++) {
			vouch_cbor_write_array(&w, 3);
			vouch_cbor_write_uint(&w, 1);
			vouch_cbor_write_bstr(&w, e[i].value, e[i].value_len);
			vouch_cbor_write_int(&w, 0);
		}
		assert_int_equal(vouch_cbor_writer_finish(&w, &plen), VOUCH_OK);
		assert_int_equal(vouch_revlist_payload_parse(payload, plen, &rl),
		                 VOUCH_ERR_CBOR_LIMIT);
		rp = (struct raw_payload){payload, plen};
		assert_int_equal(
		    vouch_cred_envelope_sign(&signer, false, write_raw, &rp, buf, cap, &len),
		    VOUCH_OK);
		assert_int_equal(vouch_revlist_verify(buf, len, &signer, ISS, AUD, &rl),
		                 VOUCH_ERR_CBOR_LIMIT);
		free(payload);
	}
	free(buf);
	free(hashes);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_and_delta), cmocka_unit_test(test_check),
	    cmocka_unit_test(test_expired),        cmocka_unit_test(test_verify_refusals),
	    cmocka_unit_test(test_sign_refusals),  cmocka_unit_test(test_payload_strict),
	    cmocka_unit_test(test_max_entries),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
