/*
 * Credentials: the input as a signed credential and as a claims payload.
 *
 * As a credential: verify with the RFC 8392 A.2.3 key (the seeds were issued with it, so
 * mutations of them reach past the envelope checks) and with another key, which must never
 * accept it. As a payload: random bytes never pass a signature, so the claims decoder that runs
 * behind it is fuzzed directly; a payload it accepts is issued again from the decoded values,
 * which must verify to the same credential.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vouch/cred.h"
#include "../lib/cred_internal.h"

#define FUZZ_ISS "vouch:0123456789abcdef"
#define FUZZ_AUD "0123456789abcdef"

static const struct vouch_cred_rules rules = {FUZZ_ISS, FUZZ_AUD, 1700000100, 60};

static bool same_bytes(const void *a, size_t a_len, const void *b, size_t b_len)
{
	return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

static bool inside(const void *p, size_t len, const uint8_t *buf, size_t size)
{
	const uint8_t *b = p;

	return b >= buf && len <= size && b - buf <= (ptrdiff_t)(size - len);
}

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static void as_credential(const uint8_t *data, size_t size)
{
	uint8_t h[VOUCH_TOKEN_HASH_LEN];
	struct vouch_cred c;
	int rc = vouch_cred_verify(data, size, &fuzz_sign_keys[1], &rules, &c);

	FUZZ_CHECK(rc <= 0);
	if (rc != VOUCH_OK) {
		FUZZ_CHECK(all_zero(&c, sizeof(c)));
	} else {
		FUZZ_CHECK(inside(c.claims.map, c.claims.map_len, data, size));
		FUZZ_CHECK(inside(c.perm, c.perm_len, data, size));
		FUZZ_CHECK(inside(c.phone, c.phone_len, data, size));
		FUZZ_CHECK(c.claims.cti_len == VOUCH_CRED_CTI_LEN);
		FUZZ_CHECK(vouch_cred_token_hash(data, size, h) == VOUCH_OK);
		FUZZ_CHECK(memcmp(h, c.token_hash, sizeof(h)) == 0);
	}
	/* No other key accepts what key A.2.3 signed (or anything else). */
	FUZZ_CHECK(vouch_cred_verify(data, size, &fuzz_sign_keys[0], &rules, &c) != VOUCH_OK);
}

static void copy_text(char *dst, const char *src, size_t len)
{
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Issue the decoded credential again with the A.2.3 key: it verifies to the same values. */
static void reissue(const struct vouch_cred *c)
{
	char iss[VOUCH_CRED_TEXT_MAX + 1], sub[VOUCH_CRED_TEXT_MAX + 1],
	    aud[VOUCH_CRED_TEXT_MAX + 1], phone[VOUCH_CRED_TEXT_MAX + 1];
	struct vouch_cred_params p;
	struct vouch_cred_rules r;
	struct vouch_cred again;
	struct vouch_key cnf;
	uint8_t *buf;
	size_t len = 0;

	vouch_key_init(&cnf);
	/* The point need not be on the curve for the decoder; then there is no key to bind. */
	if (vouch_cwt_cnf_key(&c->claims, &cnf) != VOUCH_OK) {
		vouch_key_clear(&cnf);
		return;
	}
	copy_text(iss, c->claims.iss, c->claims.iss_len);
	copy_text(sub, c->claims.sub, c->claims.sub_len);
	copy_text(aud, c->claims.aud, c->claims.aud_len);
	copy_text(phone, c->phone, c->phone_len);
	memset(&p, 0, sizeof(p));
	p.iss = iss;
	p.sub = sub;
	p.aud = aud;
	p.phone = phone;
	p.iat = c->claims.iat;
	p.nbf = c->claims.nbf;
	p.exp = c->claims.exp;
	memcpy(p.cti, c->claims.cti, VOUCH_CRED_CTI_LEN);
	p.cnf = &cnf;
	p.perm = c->perm;
	p.perm_len = c->perm_len;
	buf = malloc(VOUCH_CRED_MAX);
	FUZZ_CHECK(buf != NULL);
	FUZZ_CHECK(vouch_cred_issue(&p, &fuzz_cwt_issuer, buf, VOUCH_CRED_MAX, &len) == VOUCH_OK);

	/* Valid at max(iat, nbf), which is before exp. */
	r.iss = iss;
	r.aud = aud;
	r.now = p.iat > p.nbf ? p.iat : p.nbf;
	r.leeway = 0;
	FUZZ_CHECK(vouch_cred_verify(buf, len, &fuzz_sign_keys[1], &r, &again) == VOUCH_OK);
	FUZZ_CHECK(
	    same_bytes(again.claims.sub, again.claims.sub_len, c->claims.sub, c->claims.sub_len));
	FUZZ_CHECK(same_bytes(again.phone, again.phone_len, c->phone, c->phone_len));
	FUZZ_CHECK(same_bytes(again.perm, again.perm_len, c->perm, c->perm_len));
	FUZZ_CHECK(
	    same_bytes(again.claims.cti, again.claims.cti_len, c->claims.cti, c->claims.cti_len));
	FUZZ_CHECK(again.claims.iat == c->claims.iat && again.claims.nbf == c->claims.nbf &&
	           again.claims.exp == c->claims.exp);
	FUZZ_CHECK(memcmp(again.cnf_thumbprint, c->cnf_thumbprint, VOUCH_THUMBPRINT_LEN) == 0);
	free(buf);
	vouch_key_clear(&cnf);
}

static void as_payload(const uint8_t *data, size_t size)
{
	struct vouch_cred c;
	int rc = vouch_cred_claims_parse(data, size, &c);

	FUZZ_CHECK(rc <= 0);
	if (rc != VOUCH_OK) {
		FUZZ_CHECK(all_zero(&c, sizeof(c)));
		return;
	}
	FUZZ_CHECK(c.claims.map == data && c.claims.map_len == size);
	FUZZ_CHECK(inside(c.perm, c.perm_len, data, size) && c.perm_len > 0);
	FUZZ_CHECK(vouch_cred_text_ok(c.phone, c.phone_len));
	FUZZ_CHECK(vouch_cred_text_ok(c.claims.sub, c.claims.sub_len));
	FUZZ_CHECK(c.claims.exp > c.claims.nbf && c.claims.exp > c.claims.iat);
	reissue(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_credential(data, size);
	as_payload(data, size);
	return 0;
}
