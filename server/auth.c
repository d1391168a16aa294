/*
 * Passwords (Argon2id, libargon2) and second factors (TOTP, RFC 6238, liboath) of people.
 *
 * The TOTP secret is generated here, shown once inside an otpauth:// URI, and stored only sealed
 * by an AES key that never leaves the token; it is unsealed for the few microseconds a check
 * takes and wiped. Codes are compared in constant time (liboath's own comparison is strcmp).
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <liboath/oath.h>

#include "people.h"
#include "vouch/log.h"

#define ARGON2_T    2
#define ARGON2_M    19456 /* KiB */
#define ARGON2_P    1
#define ARGON2_SALT 16
#define ARGON2_HASH 32
#define TOTP_DIGITS 6

static bool oath_ready;

static int oath_once(void)
{
	if (!oath_ready) {
		if (oath_init() != OATH_OK)
			return VOUCH_ERR_INTERNAL;
		oath_ready = true;
	}
	return VOUCH_OK;
}

int vouch_auth_password_hash(const char *pw, size_t len, char out[VOUCH_STORE_PWHASH_MAX + 1])
{
	uint8_t salt[ARGON2_SALT];
	int rc;

	out[0] = '\0';
	if (pw == NULL || len < VOUCH_AUTH_PASSWORD_MIN || len > VOUCH_AUTH_PASSWORD_MAX)
		return VOUCH_ERR_INVALID;
	if (argon2_encodedlen(ARGON2_T, ARGON2_M, ARGON2_P, ARGON2_SALT, ARGON2_HASH, Argon2_id) >
	    VOUCH_STORE_PWHASH_MAX + 1)
		return VOUCH_ERR_INTERNAL;
	rc = vouch_random(salt, sizeof(salt));
	if (rc != VOUCH_OK)
		return rc;
	if (argon2id_hash_encoded(ARGON2_T, ARGON2_M, ARGON2_P, pw, len, salt, sizeof(salt),
	                          ARGON2_HASH, out, VOUCH_STORE_PWHASH_MAX + 1) != ARGON2_OK) {
		out[0] = '\0';
		return VOUCH_ERR_NOMEM; /* its only runtime failure is the 19 MiB allocation */
	}
	return VOUCH_OK;
}

int vouch_auth_password_verify(const char *encoded, const char *pw, size_t len)
{
	if (encoded == NULL || pw == NULL || len > VOUCH_AUTH_PASSWORD_MAX)
		return VOUCH_ERR_AUTH;
	/* Only our own parameters: a stored hash with others was not written by us. */
	if (strncmp(encoded, "$argon2id$v=19$m=19456,t=2,p=1$", 31) != 0)
		return VOUCH_ERR_AUTH;
	return argon2id_verify(encoded, pw, len) == ARGON2_OK ? VOUCH_OK : VOUCH_ERR_AUTH;
}

/* RFC 3986 unreserved characters pass, everything else is percent-encoded. */
static void uri_escape(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0' && o + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/* The sealed secret's associated data binds it to its user: a row copied to another user fails. */
static size_t totp_aad(const char *user, uint8_t *aad, size_t cap)
{
	int n = snprintf((char *)aad, cap, "vouch-totp:%s", user);

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

int vouch_auth_totp_new(struct vouch_p11 *p11, const char *issuer, const char *user,
                        struct vouch_store_auth *a, char uri[VOUCH_AUTH_URI_MAX])
{
	uint8_t secret[VOUCH_AUTH_TOTP_LEN];
	uint8_t aad[VOUCH_STORE_ID_MAX + 16];
	char *b32 = NULL;
	size_t b32_len = 0, aad_len;
	char e_issuer[96], e_user[3 * VOUCH_STORE_ID_MAX + 1];
	int rc = VOUCH_ERR_INTERNAL, n;

	uri[0] = '\0';
	if (p11 == NULL || issuer == NULL || user == NULL || a == NULL)
		return VOUCH_ERR_INVALID;
	aad_len = totp_aad(user, aad, sizeof(aad));
	if (aad_len == 0)
		return VOUCH_ERR_INVALID;
	rc = oath_once();
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_random(secret, sizeof(secret));
	if (rc != VOUCH_OK)
		goto out_wipe;
	rc = vouch_p11_seal(p11, VOUCH_PEOPLE_KEY_TOTP, aad, aad_len, secret, sizeof(secret),
	                    a->totp_sealed, sizeof(a->totp_sealed), &a->totp_sealed_len);
	if (rc != VOUCH_OK)
		goto out_wipe;
	a->totp_last_step = 0;
	if (oath_base32_encode((const char *)secret, sizeof(secret), &b32, &b32_len) != OATH_OK) {
		rc = VOUCH_ERR_NOMEM;
		goto out_wipe;
	}
	/* Google Authenticator's key-uri format: label "issuer:account", base32 without padding. */
	while (b32_len > 0 && b32[b32_len - 1] == '=')
		b32[--b32_len] = '\0';
	uri_escape(issuer, e_issuer, sizeof(e_issuer));
	uri_escape(user, e_user, sizeof(e_user));
	n = snprintf(uri, VOUCH_AUTH_URI_MAX,
	             "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d",
	             e_issuer, e_user, b32, e_issuer, TOTP_DIGITS, VOUCH_AUTH_TOTP_STEP);
	rc = n > 0 && n < VOUCH_AUTH_URI_MAX ? VOUCH_OK : VOUCH_ERR_BUFFER;
	if (rc != VOUCH_OK)
		vouch_wipe(uri, VOUCH_AUTH_URI_MAX);
out_wipe:
	if (b32 != NULL) {
		vouch_wipe(b32, b32_len);
		free(b32);
	}
	vouch_wipe(secret, sizeof(secret));
	return rc;
}

static int ct_code_cmp(void *handle, const char *test_otp)
{
	const char *code = handle;

	/* Both are exactly TOTP_DIGITS digits here (checked before). 0 means equal. */
	return vouch_ct_equal(code, test_otp, TOTP_DIGITS) ? 0 : 1;
}

int vouch_auth_totp_check(struct vouch_p11 *p11, const struct vouch_store_auth *a, const char *code,
                          int64_t now, int64_t *step, bool *replay)
{
	uint8_t secret[VOUCH_P11_SEAL_MAX];
	uint8_t aad[VOUCH_STORE_ID_MAX + 16];
	size_t secret_len = 0, aad_len;
	uint64_t counter = 0;
	int pos = 0, orc, rc = VOUCH_ERR_AUTH;

	*step = 0;
	*replay = false;
	if (p11 == NULL || a == NULL || code == NULL || strlen(code) != TOTP_DIGITS)
		return VOUCH_ERR_AUTH;
	for (size_t i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return VOUCH_ERR_AUTH;
	if (oath_once() != VOUCH_OK)
		return VOUCH_ERR_INTERNAL;
	aad_len = totp_aad(a->user, aad, sizeof(aad));
	if (aad_len == 0)
		return VOUCH_ERR_AUTH;
	rc = vouch_p11_unseal(p11, VOUCH_PEOPLE_KEY_TOTP, aad, aad_len, a->totp_sealed,
	                      a->totp_sealed_len, secret, sizeof(secret), &secret_len);
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "auth.totp.unseal", "user", a->user, "why",
		          vouch_strerror(rc), NULL);
		rc = rc == VOUCH_ERR_VERIFY ? VOUCH_ERR_AUTH : rc;
		goto out_wipe;
	}
	orc = oath_totp_validate3_callback(
	    (const char *)secret, secret_len, (time_t)now, VOUCH_AUTH_TOTP_STEP, 0, TOTP_DIGITS,
	    VOUCH_AUTH_TOTP_WINDOW, &pos, &counter, ct_code_cmp, (void *)code);
	if (orc < 0) {
		rc = VOUCH_ERR_AUTH;
		goto out_wipe;
	}
	if ((int64_t)counter <= a->totp_last_step) {
		*replay = true;
		rc = VOUCH_ERR_AUTH;
		goto out_wipe;
	}
	*step = (int64_t)counter;
	rc = VOUCH_OK;
out_wipe:
	vouch_wipe(secret, sizeof(secret));
	return rc;
}

int64_t vouch_auth_lock_seconds(uint32_t failures)
{
	int64_t s = VOUCH_AUTH_LOCK_BASE_S;

	if (failures < VOUCH_AUTH_FAIL_LIMIT)
		return 0;
	for (uint32_t i = VOUCH_AUTH_FAIL_LIMIT; i < failures && s < VOUCH_AUTH_LOCK_MAX_S; i++)
		s *= 2;
	return s < VOUCH_AUTH_LOCK_MAX_S ? s : VOUCH_AUTH_LOCK_MAX_S;
}
