/*
 * People's secrets (server/auth.c and the token sealing in lib/p11.c): Argon2id passwords, TOTP
 * checked against RFC 6238's own vectors (sealed in a SoftHSM2 token first, as vouchd stores
 * them), the replay guard and the window, otpauth URIs, and the lockout schedule.
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "people.h"
#include "testutil.h"
#include "vouch/log.h"
#include "vouch/p11.h"

struct site {
	char dir[64];
	char pin[128];
	char so_pin[128];
	struct vouch_p11 *p11;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct site *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	strcpy(s->dir, "/tmp/vouch-test-auth-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->pin, sizeof(s->pin), "%s/token.pin", s->dir);
	snprintf(s->so_pin, sizeof(s->so_pin), "%s/token.so-pin", s->dir);
	assert_int_equal(vouch_p11_softhsm_init(s->dir), VOUCH_OK);
	assert_int_equal(vouch_p11_token_create(NULL, "vouch-ca", s->pin, s->so_pin), VOUCH_OK);
	assert_int_equal(vouch_p11_open(&s->p11, NULL, "vouch-ca", s->pin), VOUCH_OK);
	assert_int_equal(vouch_p11_aes_generate(s->p11, VOUCH_PEOPLE_KEY_TOTP), VOUCH_OK);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct site *s = *state;

	vouch_p11_close(s->p11);
	nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(s);
	return 0;
}

static void test_password(void **state)
{
	char hash[VOUCH_STORE_PWHASH_MAX + 1], hash2[VOUCH_STORE_PWHASH_MAX + 1];
	const char *pw = "correct horse battery staple";

	(void)state;
	assert_int_equal(vouch_auth_password_hash(pw, strlen(pw), hash), VOUCH_OK);
	/* Parameters travel with the hash; the salt is fresh every time. */
	assert_memory_equal(hash, "$argon2id$v=19$m=19456,t=2,p=1$", 31);
	assert_int_equal(vouch_auth_password_hash(pw, strlen(pw), hash2), VOUCH_OK);
	assert_string_not_equal(hash, hash2);
	assert_int_equal(vouch_auth_password_verify(hash, pw, strlen(pw)), VOUCH_OK);
	assert_int_equal(vouch_auth_password_verify(hash2, pw, strlen(pw)), VOUCH_OK);
	assert_int_equal(vouch_auth_password_verify(hash, pw, strlen(pw) - 1), VOUCH_ERR_AUTH);
	assert_int_equal(vouch_auth_password_verify(hash, "Correct horse battery staple", 28),
	                 VOUCH_ERR_AUTH);
	/* Too short, too long: refused before hashing. */
	assert_int_equal(vouch_auth_password_hash("short", 5, hash2), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_auth_password_hash(pw, VOUCH_AUTH_PASSWORD_MAX + 1, hash2),
	                 VOUCH_ERR_INVALID);
	/* A hash with weaker parameters than ours was not written by us. */
	hash[18] = '1';
	assert_int_equal(vouch_auth_password_verify(hash, pw, strlen(pw)), VOUCH_ERR_AUTH);
	assert_int_equal(vouch_auth_password_verify("garbage", pw, strlen(pw)), VOUCH_ERR_AUTH);
}

/* Seal a known secret the way vouch_auth_totp_new does (AAD "vouch-totp:<user>"). */
static void seal_secret(struct site *s, const char *user, const uint8_t *secret, size_t len,
                        struct vouch_store_auth *a)
{
	char aad[96];
	int n = snprintf(aad, sizeof(aad), "vouch-totp:%s", user);

	memset(a, 0, sizeof(*a));
	snprintf(a->user, sizeof(a->user), "%s", user);
	assert_int_equal(vouch_p11_seal(s->p11, VOUCH_PEOPLE_KEY_TOTP, (const uint8_t *)aad,
	                                (size_t)n, secret, len, a->totp_sealed,
	                                sizeof(a->totp_sealed), &a->totp_sealed_len),
	                 VOUCH_OK);
	assert_int_equal(a->totp_sealed_len, 12 + len + 16);
}

static void test_totp_rfc6238(void **state)
{
	struct site *s = *state;
	json_t *doc = tu_load_json("rfc6238-totp.json");
	const json_t *vectors = json_object_get(doc, "vectors"), *v;
	const char *seed_hex = json_string_value(
	    json_object_get(json_object_get(json_object_get(doc, "seeds"), "seed20"), "hex"));
	size_t seed_len = 0, i;
	uint8_t *seed = tu_hex(seed_hex, &seed_len);
	unsigned run = 0, passed = 0, skipped = 0;
	struct vouch_store_auth a;

	assert_int_equal(seed_len, 20);
	seal_secret(s, "rfc", seed, seed_len, &a);
	json_array_foreach(vectors, i, v)
	{
		const char *mode = tu_str(v, "mode");
		const char *totp8 = tu_str(v, "totp");
		int64_t t = (int64_t)json_integer_value(json_object_get(v, "time"));
		int64_t step = 0;
		bool replay = true;
		char wrong[7];

		run++;
		if (strcmp(mode, "SHA1") != 0) {
			skipped++; /* vouch's TOTP is SHA1, as authenticator apps expect */
			continue;
		}
		a.totp_last_step = 0;
		/* 6 digits are the 8-digit value mod 10^6: its last six digits. */
		assert_int_equal(strlen(totp8), 8);
		assert_int_equal(vouch_auth_totp_check(s->p11, &a, totp8 + 2, t, &step, &replay),
		                 VOUCH_OK);
		assert_false(replay);
		assert_int_equal(step, t / 30);
		/* The same code again is a replay. */
		a.totp_last_step = step;
		assert_int_equal(vouch_auth_totp_check(s->p11, &a, totp8 + 2, t, &step, &replay),
		                 VOUCH_ERR_AUTH);
		assert_true(replay);
		a.totp_last_step = 0;
		/* One step either side is accepted (clock skew); two steps later it is not. */
		assert_int_equal(
		    vouch_auth_totp_check(s->p11, &a, totp8 + 2, t + 30, &step, &replay), VOUCH_OK);
		assert_int_equal(
		    vouch_auth_totp_check(s->p11, &a, totp8 + 2, t + 90, &step, &replay),
		    VOUCH_ERR_AUTH);
		assert_false(replay);
		/* A wrong digit fails. */
		memcpy(wrong, totp8 + 2, 7);
		wrong[5] = wrong[5] == '9' ? '0' : (char)(wrong[5] + 1);
		assert_int_equal(vouch_auth_totp_check(s->p11, &a, wrong, t, &step, &replay),
		                 VOUCH_ERR_AUTH);
		passed++;
	}
	/* Not six digits: refused before the secret is unsealed. */
	assert_int_equal(vouch_auth_totp_check(s->p11, &a, "12345", 59, &(int64_t){0}, &(bool){0}),
	                 VOUCH_ERR_AUTH);
	assert_int_equal(vouch_auth_totp_check(s->p11, &a, "12345a", 59, &(int64_t){0}, &(bool){0}),
	                 VOUCH_ERR_AUTH);
	tu_report("rfc6238-totp", run, passed, skipped,
	          "SHA256/SHA512 rows skipped: vouch's TOTP is SHA1 (authenticator apps)");
	assert_int_equal(run, passed + skipped);
	assert_true(passed >= 6);
	free(seed);
	json_decref(doc);
}

static void test_totp_sealing(void **state)
{
	struct site *s = *state;
	uint8_t secret[20] = "12345678901234567890";
	struct vouch_store_auth a, b;
	int64_t step = 0;
	bool replay = false;

	seal_secret(s, "alice", secret, sizeof(secret), &a);
	/* RFC 6238 row 1 (59 s): 94287082. */
	assert_int_equal(vouch_auth_totp_check(s->p11, &a, "287082", 59, &step, &replay), VOUCH_OK);
	/* The sealed row copied to another user does not unseal (the AAD binds the user). */
	b = a;
	snprintf(b.user, sizeof(b.user), "mallory");
	assert_int_equal(vouch_auth_totp_check(s->p11, &b, "287082", 59, &step, &replay),
	                 VOUCH_ERR_AUTH);
	/* Any flipped bit of the sealed secret fails. */
	for (size_t i = 0; i < a.totp_sealed_len; i++) {
		b = a;
		b.totp_sealed[i] ^= 0x01;
		assert_int_equal(vouch_auth_totp_check(s->p11, &b, "287082", 59, &step, &replay),
		                 VOUCH_ERR_AUTH);
	}
	/* The secret never appears in the sealed bytes. */
	assert_null(memmem(a.totp_sealed, a.totp_sealed_len, secret, 8));
}

static void test_totp_new_uri(void **state)
{
	struct site *s = *state;
	struct vouch_store_auth a;
	char uri[VOUCH_AUTH_URI_MAX];
	const char *p;

	memset(&a, 0, sizeof(a));
	snprintf(a.user, sizeof(a.user), "bob@plant");
	assert_int_equal(vouch_auth_totp_new(s->p11, "vouch acme", "bob@plant", &a, uri), VOUCH_OK);
	assert_memory_equal(uri, "otpauth://totp/vouch%20acme:bob%40plant?secret=", 47);
	p = uri + 47;
	/* 20 bytes are 32 base32 characters, unpadded. */
	assert_int_equal(strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 32);
	assert_string_equal(p + 32, "&issuer=vouch%20acme&algorithm=SHA1&digits=6&period=30");
	assert_int_equal(a.totp_last_step, 0);
	assert_int_equal(a.totp_sealed_len, 12 + 20 + 16);
}

static void test_lock_schedule(void **state)
{
	(void)state;
	for (uint32_t f = 0; f < VOUCH_AUTH_FAIL_LIMIT; f++)
		assert_int_equal(vouch_auth_lock_seconds(f), 0);
	assert_int_equal(vouch_auth_lock_seconds(VOUCH_AUTH_FAIL_LIMIT), 30);
	assert_int_equal(vouch_auth_lock_seconds(VOUCH_AUTH_FAIL_LIMIT + 1), 60);
	assert_int_equal(vouch_auth_lock_seconds(VOUCH_AUTH_FAIL_LIMIT + 3), 240);
	assert_int_equal(vouch_auth_lock_seconds(VOUCH_AUTH_FAIL_LIMIT + 20), 3600);
	assert_int_equal(vouch_auth_lock_seconds(UINT32_MAX), 3600);
}

static void test_seal_refusals(void **state)
{
	struct site *s = *state;
	uint8_t out[64], back[64];
	size_t len = 0, back_len = 0;

	assert_int_equal(vouch_p11_seal(s->p11, "no-such-key", NULL, 0, (const uint8_t *)"x", 1,
	                                out, sizeof(out), &len),
	                 VOUCH_ERR_P11_NOT_FOUND);
	assert_int_equal(vouch_p11_seal(s->p11, VOUCH_PEOPLE_KEY_TOTP, NULL, 0,
	                                (const uint8_t *)"x", 1, out, 20, &len),
	                 VOUCH_ERR_BUFFER);
	assert_int_equal(vouch_p11_seal(s->p11, VOUCH_PEOPLE_KEY_TOTP, NULL, 0,
	                                (const uint8_t *)"abc", 3, out, sizeof(out), &len),
	                 VOUCH_OK);
	assert_int_equal(vouch_p11_unseal(s->p11, VOUCH_PEOPLE_KEY_TOTP, NULL, 0, out, len, back,
	                                  sizeof(back), &back_len),
	                 VOUCH_OK);
	assert_int_equal(back_len, 3);
	assert_memory_equal(back, "abc", 3);
	assert_int_equal(vouch_p11_unseal(s->p11, VOUCH_PEOPLE_KEY_TOTP, NULL, 0, out, 27, back,
	                                  sizeof(back), &back_len),
	                 VOUCH_ERR_VERIFY);
	assert_int_equal(vouch_p11_aes_generate(s->p11, VOUCH_PEOPLE_KEY_TOTP),
	                 VOUCH_ERR_P11_EXISTS);
	assert_true(vouch_p11_object_exists(s->p11, VOUCH_PEOPLE_KEY_TOTP));
	assert_false(vouch_p11_object_exists(s->p11, "absent"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_password),      cmocka_unit_test(test_totp_rfc6238),
	    cmocka_unit_test(test_totp_sealing),  cmocka_unit_test(test_totp_new_uri),
	    cmocka_unit_test(test_lock_schedule), cmocka_unit_test(test_seal_refusals),
	};

	vouch_log_init("test_auth", VOUCH_LOG_ERROR, NULL);
	return cmocka_run_group_tests(tests, setup, teardown);
}
