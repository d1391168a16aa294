/*
 * CWT: the input as a claims map and as a signed token.
 *
 * As claims: decode; look every registered claim up by label; validate; take the cnf key; then
 * re-encode, which must decode to the same registered claims, and sign that with the A.2.3 key,
 * which must verify with exactly the result vouch_cwt_validate gave.
 * As a token: verify with the A.2.3 and the cose-examples P-256 public keys (seeds from
 * RFC 8392 A.3 verify, so mutations reach the claims decoder behind the signature check).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static const struct vouch_cwt_rules rules = {
    .now = 1444000000,
    .leeway = 60,
    .iss = "coap://as.example.com",
};

static bool same_bytes(const void *a, size_t a_len, const void *b, size_t b_len)
{
	return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

static void check_same(const struct vouch_cwt_claims *a, const struct vouch_cwt_claims *b)
{
	FUZZ_CHECK(a->present == b->present);
	FUZZ_CHECK(same_bytes(a->iss, a->iss_len, b->iss, b->iss_len));
	FUZZ_CHECK(same_bytes(a->sub, a->sub_len, b->sub, b->sub_len));
	FUZZ_CHECK(same_bytes(a->aud, a->aud_len, b->aud, b->aud_len));
	FUZZ_CHECK(a->exp == b->exp && a->nbf == b->nbf && a->iat == b->iat);
	FUZZ_CHECK(same_bytes(a->cti, a->cti_len, b->cti, b->cti_len));
	FUZZ_CHECK(a->cnf_kind == b->cnf_kind);
	FUZZ_CHECK(same_bytes(a->cnf, a->cnf_len, b->cnf, b->cnf_len));
}

static void lookups(const struct vouch_cwt_claims *c)
{
	static const int64_t labels[] = {1, 2, 3, 4, 5, 6, 7, 8, 0, -1, 9, 100, -65537};
	const uint8_t *v;
	size_t v_len;
	int rc;

	for (size_t i = 0; i < VOUCH_ARRAY_LEN(labels); i++) {
		rc = vouch_cwt_claim_find(c, labels[i], &v, &v_len);
		FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_CWT_MISSING);
		if (rc == VOUCH_OK)
			FUZZ_CHECK(v >= c->map && v_len > 0 && v + v_len <= c->map + c->map_len);
		else
			FUZZ_CHECK(v == NULL && v_len == 0);
		if (labels[i] >= VOUCH_CWT_ISS && labels[i] <= VOUCH_CWT_CNF)
			FUZZ_CHECK((rc == VOUCH_OK) == ((c->present & (1u << labels[i])) != 0));
	}
}

static void as_claims(const uint8_t *data, size_t size)
{
	struct vouch_cwt_claims c, again, verified;
	struct vouch_key key;
	uint8_t *enc = NULL, *tok = NULL;
	size_t enc_len = 0, tok_len = 0, tok_cap;
	int want;

	if (vouch_cwt_claims_decode(data, size, &c) != VOUCH_OK)
		return;
	FUZZ_CHECK(c.map == data && c.map_len == size);
	lookups(&c);
	want = vouch_cwt_validate(&c, &rules);
	FUZZ_CHECK(want <= 0);

	vouch_key_init(&key);
	if (vouch_cwt_cnf_key(&c, &key) == VOUCH_OK)
		FUZZ_CHECK(c.cnf_kind == VOUCH_CWT_CNF_COSE_KEY && !vouch_key_is_private(&key));
	vouch_key_clear(&key);

	FUZZ_CHECK(vouch_cwt_claims_encode(&c, NULL, 0, NULL, 0, &enc_len) == VOUCH_OK);
	enc = malloc(enc_len);
	FUZZ_CHECK(enc != NULL);
	FUZZ_CHECK(vouch_cwt_claims_encode(&c, NULL, 0, enc, enc_len, &enc_len) == VOUCH_OK);
	FUZZ_CHECK(vouch_cwt_claims_decode(enc, enc_len, &again) == VOUCH_OK);
	check_same(&c, &again);

	tok_cap = 2 * enc_len + 256;
	tok = malloc(tok_cap);
	FUZZ_CHECK(tok != NULL);
	FUZZ_CHECK(vouch_cwt_sign(&c, NULL, 0, &fuzz_cwt_issuer, (const uint8_t *)"k", 1,
	                          (size & 1) != 0, tok, tok_cap, &tok_len) == VOUCH_OK);
	FUZZ_CHECK(vouch_cwt_verify(tok, tok_len, &fuzz_sign_keys[1], &rules, &verified) == want);
	if (want == VOUCH_OK)
		check_same(&c, &verified);
	free(tok);
	free(enc);
}

static void as_token(const uint8_t *data, size_t size)
{
	struct vouch_cwt_claims c;
	int rc;

	for (size_t i = 0; i < 2; i++) {
		rc = vouch_cwt_verify(data, size, &fuzz_sign_keys[i], &rules, &c);
		FUZZ_CHECK(rc <= 0);
		if (rc == VOUCH_OK)
			FUZZ_CHECK(c.map > data && c.map + c.map_len <= data + size);
		else
			FUZZ_CHECK(c.present == 0 && c.map == NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_claims(data, size);
	as_token(data, size);
	return 0;
}
