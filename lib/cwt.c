/*
 * CBOR Web Token (RFC 8392) with the RFC 8747 confirmation claim.
 *
 * Everything is zero-copy and heap-free: decoded claims point into the caller's buffer, and
 * signing borrows the tail of the caller's output buffer for the encoded claims.
 */
#include <string.h>

#include "vouch/cwt.h"
#include "cose_internal.h"

#define CWT_KNOWN_BITS                                                                             \
	(VOUCH_CWT_HAS_ISS | VOUCH_CWT_HAS_SUB | VOUCH_CWT_HAS_AUD | VOUCH_CWT_HAS_EXP |           \
	 VOUCH_CWT_HAS_NBF | VOUCH_CWT_HAS_IAT | VOUCH_CWT_HAS_CTI | VOUCH_CWT_HAS_CNF)

/* 2^63 as a double: the first value past INT64_MAX, exactly representable. */
#define CWT_TWO_POW_63 9223372036854775808.0

/*
 * NumericDate (RFC 8392 §2): an integer or a float, without tag 1. Fractions are floored, so a
 * token with exp 100.5 is expired at 100: the conservative side for exp, and for nbf/iat it
 * moves the bound by less than a second. NaN, infinities and anything outside int64 are
 * refused rather than clamped, since a clamped exp would silently mean "never expires".
 */
static int read_numeric_date(struct vouch_cbor_reader *r, int64_t *out)
{
	enum vouch_cbor_type type;
	double d;
	int64_t t;

	if (vouch_cbor_peek(r, &type) != VOUCH_OK)
		return VOUCH_ERR_CWT_CLAIM;
	if (type == VOUCH_CBOR_UINT || type == VOUCH_CBOR_NEGINT) {
		if (vouch_cbor_read_int(r, out) != VOUCH_OK)
			return VOUCH_ERR_CWT_CLAIM;
		return VOUCH_OK;
	}
	if (type != VOUCH_CBOR_FLOAT || vouch_cbor_read_float(r, &d) != VOUCH_OK)
		return VOUCH_ERR_CWT_CLAIM;
	/* Written so that NaN fails both comparisons. */
	if (!(d >= -CWT_TWO_POW_63 && d < CWT_TWO_POW_63))
		return VOUCH_ERR_CWT_CLAIM;
	/* Truncation is exact here: |d| >= 2^53 means d is already an integer. */
	t = (int64_t)d;
	if ((double)t > d)
		t--;
	*out = t;
	return VOUCH_OK;
}

static int read_text_claim(struct vouch_cbor_reader *r, const char **p, size_t *len)
{
	if (vouch_cbor_read_tstr(r, p, len) != VOUCH_OK)
		return VOUCH_ERR_CWT_CLAIM;
	return VOUCH_OK;
}

/* Method 1: the key must decode as a COSE_Key, and must not carry a private part. */
static int check_cnf_cose_key(const uint8_t *p, size_t len)
{
	struct vouch_cbor_reader kr;
	struct vouch_cose_key ck;

	vouch_cbor_reader_init(&kr, p, len);
	if (vouch_cose_key_read(&kr, &ck) != VOUCH_OK || !vouch_cbor_reader_done(&kr))
		return VOUCH_ERR_CWT_CNF;
	/* A token is shown to verifiers: an asymmetric private key in it is a leak, not a
	 * confirmation key (RFC 8747 §3.2 carries the public key). */
	if (ck.d != NULL)
		return VOUCH_ERR_CWT_CNF;
	/* RFC 8747 §3.2: the required members of the key type must be there. */
	switch (ck.kty) {
	case VOUCH_COSE_KTY_EC2:
		return ck.x != NULL && ck.y != NULL ? VOUCH_OK : VOUCH_ERR_CWT_CNF;
	case VOUCH_COSE_KTY_OKP:
		return ck.x != NULL ? VOUCH_OK : VOUCH_ERR_CWT_CNF;
	case VOUCH_COSE_KTY_SYMMETRIC:
		return ck.k != NULL ? VOUCH_OK : VOUCH_ERR_CWT_CNF;
	default:
		return VOUCH_ERR_CWT_CNF;
	}
}

/* Method 2: a COSE_Encrypt0 or COSE_Encrypt; only its structure is checked here, since the key
 * to open it belongs to the presenter's verifier, not to this decoder. */
static int check_cnf_encrypted_key(const uint8_t *p, size_t len)
{
	struct vouch_cose_encrypt0 e0;
	struct vouch_cose_encrypt e;

	if (vouch_cose_encrypt0_decode(p, len, &e0) == VOUCH_OK)
		return VOUCH_OK;
	if (vouch_cose_encrypt_decode(p, len, &e) == VOUCH_OK)
		return VOUCH_OK;
	return VOUCH_ERR_CWT_CNF;
}

/*
 * cnf (RFC 8747 §3.1): a map holding exactly one confirmation method. An unknown method is
 * refused rather than skipped: a verifier that ignores the method it does not know would accept
 * a token without proof of possession.
 */
static int read_cnf(struct vouch_cbor_reader *r, struct vouch_cwt_claims *c)
{
	enum vouch_cbor_type type;
	size_t n;
	int64_t method;
	const uint8_t *p;
	size_t len;
	int rc = VOUCH_ERR_CWT_CNF;

	if (vouch_cbor_read_map(r, &n) != VOUCH_OK || n != 1)
		return VOUCH_ERR_CWT_CNF;
	if (vouch_cbor_peek(r, &type) != VOUCH_OK || type != VOUCH_CBOR_UINT ||
	    vouch_cbor_read_int(r, &method) != VOUCH_OK)
		return VOUCH_ERR_CWT_CNF;
	switch (method) {
	case VOUCH_CWT_CNF_COSE_KEY:
		if (vouch_cbor_read_raw(r, &p, &len) != VOUCH_OK)
			return VOUCH_ERR_CWT_CNF;
		rc = check_cnf_cose_key(p, len);
		break;
	case VOUCH_CWT_CNF_ENCRYPTED_KEY:
		if (vouch_cbor_read_raw(r, &p, &len) != VOUCH_OK)
			return VOUCH_ERR_CWT_CNF;
		rc = check_cnf_encrypted_key(p, len);
		break;
	case VOUCH_CWT_CNF_KID:
		if (vouch_cbor_read_bstr(r, &p, &len) != VOUCH_OK)
			return VOUCH_ERR_CWT_CNF;
		rc = VOUCH_OK;
		break;
	default:
		return VOUCH_ERR_CWT_CNF;
	}
	if (rc != VOUCH_OK)
		return rc;
	c->cnf_kind = (enum vouch_cwt_cnf_kind)method;
	c->cnf = p;
	c->cnf_len = len;
	return VOUCH_OK;
}

static int read_registered_claim(struct vouch_cbor_reader *r, int64_t label,
                                 struct vouch_cwt_claims *c)
{
	switch (label) {
	case VOUCH_CWT_ISS:
		return read_text_claim(r, &c->iss, &c->iss_len);
	case VOUCH_CWT_SUB:
		return read_text_claim(r, &c->sub, &c->sub_len);
	case VOUCH_CWT_AUD:
		return read_text_claim(r, &c->aud, &c->aud_len);
	case VOUCH_CWT_EXP:
		return read_numeric_date(r, &c->exp);
	case VOUCH_CWT_NBF:
		return read_numeric_date(r, &c->nbf);
	case VOUCH_CWT_IAT:
		return read_numeric_date(r, &c->iat);
	case VOUCH_CWT_CTI:
		if (vouch_cbor_read_bstr(r, &c->cti, &c->cti_len) != VOUCH_OK)
			return VOUCH_ERR_CWT_CLAIM;
		return VOUCH_OK;
	case VOUCH_CWT_CNF:
		return read_cnf(r, c);
	default:
		return VOUCH_ERR_INTERNAL;
	}
}

/* Reads a claim key: an int label (is_int) or a text one (skipped by the callers). */
static int read_claim_key(struct vouch_cbor_reader *r, bool *is_int, int64_t *label)
{
	enum vouch_cbor_type type;
	const char *s;
	size_t len;

	if (vouch_cbor_peek(r, &type) != VOUCH_OK)
		return VOUCH_ERR_CWT_CLAIM;
	if (type == VOUCH_CBOR_UINT || type == VOUCH_CBOR_NEGINT) {
		*is_int = true;
		if (vouch_cbor_read_int(r, label) != VOUCH_OK)
			return VOUCH_ERR_CWT_CLAIM;
		return VOUCH_OK;
	}
	if (type == VOUCH_CBOR_TSTR) {
		*is_int = false;
		if (vouch_cbor_read_tstr(r, &s, &len) != VOUCH_OK)
			return VOUCH_ERR_CWT_CLAIM;
		return VOUCH_OK;
	}
	return VOUCH_ERR_CWT_CLAIM;
}

int vouch_cwt_claims_decode(const uint8_t *buf, size_t len, struct vouch_cwt_claims *c)
{
	struct vouch_cbor_reader r;
	enum vouch_cbor_type type;
	size_t n;
	int rc = VOUCH_ERR_INTERNAL;

	if (c == NULL)
		return VOUCH_ERR_INVALID;
	memset(c, 0, sizeof(*c));
	if (buf == NULL)
		return VOUCH_ERR_INVALID;

	rc = vouch_cbor_validate(buf, len, NULL);
	if (rc != VOUCH_OK)
		goto out_clear;
	vouch_cbor_reader_init(&r, buf, len);
	rc = VOUCH_ERR_CWT_CLAIM;
	if (vouch_cbor_peek(&r, &type) != VOUCH_OK || type != VOUCH_CBOR_MAP ||
	    vouch_cbor_read_map(&r, &n) != VOUCH_OK)
		goto out_clear;

	for (size_t i = 0; i < n; i++) {
		bool is_int = false;
		int64_t label = 0;
		uint32_t bit;

		rc = read_claim_key(&r, &is_int, &label);
		if (rc != VOUCH_OK)
			goto out_clear;
		if (!is_int || label < VOUCH_CWT_ISS || label > VOUCH_CWT_CNF) {
			rc = vouch_cbor_skip(&r);
			if (rc != VOUCH_OK)
				goto out_clear;
			continue;
		}
		bit = 1u << label;
		/* The CBOR layer already refuses duplicate keys (integers compared by value); the
		 * claims must not depend on that, since a second value would silently win. */
		if (c->present & bit) {
			rc = VOUCH_ERR_CBOR_DUPLICATE;
			goto out_clear;
		}
		rc = read_registered_claim(&r, label, c);
		if (rc != VOUCH_OK)
			goto out_clear;
		c->present |= bit;
	}
	if (!vouch_cbor_reader_done(&r)) {
		rc = VOUCH_ERR_CBOR_TRAILING;
		goto out_clear;
	}
	c->map = buf;
	c->map_len = len;
	return VOUCH_OK;

out_clear:
	memset(c, 0, sizeof(*c));
	return rc;
}

int vouch_cwt_claim_find(const struct vouch_cwt_claims *c, int64_t label, const uint8_t **value,
                         size_t *value_len)
{
	struct vouch_cbor_reader r;
	size_t n;
	int rc = VOUCH_ERR_CWT_MISSING;

	if (value != NULL)
		*value = NULL;
	if (value_len != NULL)
		*value_len = 0;
	if (c == NULL || value == NULL || value_len == NULL)
		return VOUCH_ERR_INVALID;
	if (c->map == NULL)
		return VOUCH_ERR_CWT_MISSING;

	/* c->map passed vouch_cwt_claims_decode, so every key here is an int or a tstr. */
	vouch_cbor_reader_init(&r, c->map, c->map_len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK)
		return VOUCH_ERR_CWT_CLAIM;
	for (size_t i = 0; i < n; i++) {
		bool is_int = false;
		int64_t key = 0;

		rc = read_claim_key(&r, &is_int, &key);
		if (rc != VOUCH_OK)
			return rc;
		if (is_int && key == label)
			return vouch_cbor_read_raw(&r, value, value_len);
		rc = vouch_cbor_skip(&r);
		if (rc != VOUCH_OK)
			return rc;
	}
	return VOUCH_ERR_CWT_MISSING;
}

static bool has(const struct vouch_cwt_claims *c, uint32_t bit)
{
	return (c->present & bit) != 0;
}

static bool text_ok(const char *p, size_t len)
{
	return p != NULL || len == 0;
}

/* Refuses claims the encoder would write badly: a caller bug, so VOUCH_ERR_INVALID. */
static int check_encodable(const struct vouch_cwt_claims *c, const struct vouch_cwt_extra *extra,
                           size_t n_extra)
{
	if ((c->present & ~(uint32_t)CWT_KNOWN_BITS) != 0)
		return VOUCH_ERR_INVALID;
	if ((has(c, VOUCH_CWT_HAS_ISS) && !text_ok(c->iss, c->iss_len)) ||
	    (has(c, VOUCH_CWT_HAS_SUB) && !text_ok(c->sub, c->sub_len)) ||
	    (has(c, VOUCH_CWT_HAS_AUD) && !text_ok(c->aud, c->aud_len)) ||
	    (has(c, VOUCH_CWT_HAS_CTI) && c->cti == NULL && c->cti_len > 0))
		return VOUCH_ERR_INVALID;
	if (has(c, VOUCH_CWT_HAS_CNF)) {
		if (c->cnf == NULL && c->cnf_len > 0)
			return VOUCH_ERR_INVALID;
		switch (c->cnf_kind) {
		case VOUCH_CWT_CNF_COSE_KEY:
			if (vouch_cbor_validate(c->cnf, c->cnf_len, NULL) != VOUCH_OK ||
			    check_cnf_cose_key(c->cnf, c->cnf_len) != VOUCH_OK)
				return VOUCH_ERR_INVALID;
			break;
		case VOUCH_CWT_CNF_ENCRYPTED_KEY:
			if (check_cnf_encrypted_key(c->cnf, c->cnf_len) != VOUCH_OK)
				return VOUCH_ERR_INVALID;
			break;
		case VOUCH_CWT_CNF_KID:
			break;
		default:
			return VOUCH_ERR_INVALID;
		}
	}
	if (n_extra > 0 && extra == NULL)
		return VOUCH_ERR_INVALID;
	for (size_t i = 0; i < n_extra; i++) {
		const struct vouch_cwt_extra *x = &extra[i];

		/* A map with a label twice would be refused by every strict decoder, ours first. */
		if (x->label >= VOUCH_CWT_ISS && x->label <= VOUCH_CWT_CNF &&
		    has(c, 1u << x->label))
			return VOUCH_ERR_INVALID;
		for (size_t j = 0; j < i; j++)
			if (extra[j].label == x->label)
				return VOUCH_ERR_INVALID;
		if (x->value == NULL ||
		    vouch_cbor_validate(x->value, x->value_len, NULL) != VOUCH_OK)
			return VOUCH_ERR_INVALID;
	}
	return VOUCH_OK;
}

static size_t count_present(uint32_t present)
{
	size_t n = 0;

	for (unsigned label = VOUCH_CWT_ISS; label <= VOUCH_CWT_CNF; label++)
		if (present & (1u << label))
			n++;
	return n;
}

static void write_claims(struct vouch_cbor_writer *w, const struct vouch_cwt_claims *c,
                         const struct vouch_cwt_extra *extra, size_t n_extra)
{
	vouch_cbor_write_map(w, count_present(c->present) + n_extra);
	if (has(c, VOUCH_CWT_HAS_ISS)) {
		vouch_cbor_write_int(w, VOUCH_CWT_ISS);
		vouch_cbor_write_tstr(w, c->iss, c->iss_len);
	}
	if (has(c, VOUCH_CWT_HAS_SUB)) {
		vouch_cbor_write_int(w, VOUCH_CWT_SUB);
		vouch_cbor_write_tstr(w, c->sub, c->sub_len);
	}
	if (has(c, VOUCH_CWT_HAS_AUD)) {
		vouch_cbor_write_int(w, VOUCH_CWT_AUD);
		vouch_cbor_write_tstr(w, c->aud, c->aud_len);
	}
	if (has(c, VOUCH_CWT_HAS_EXP)) {
		vouch_cbor_write_int(w, VOUCH_CWT_EXP);
		vouch_cbor_write_int(w, c->exp);
	}
	if (has(c, VOUCH_CWT_HAS_NBF)) {
		vouch_cbor_write_int(w, VOUCH_CWT_NBF);
		vouch_cbor_write_int(w, c->nbf);
	}
	if (has(c, VOUCH_CWT_HAS_IAT)) {
		vouch_cbor_write_int(w, VOUCH_CWT_IAT);
		vouch_cbor_write_int(w, c->iat);
	}
	if (has(c, VOUCH_CWT_HAS_CTI)) {
		vouch_cbor_write_int(w, VOUCH_CWT_CTI);
		vouch_cbor_write_bstr(w, c->cti, c->cti_len);
	}
	if (has(c, VOUCH_CWT_HAS_CNF)) {
		vouch_cbor_write_int(w, VOUCH_CWT_CNF);
		vouch_cbor_write_map(w, 1);
		vouch_cbor_write_int(w, (int64_t)c->cnf_kind);
		if (c->cnf_kind == VOUCH_CWT_CNF_KID)
			vouch_cbor_write_bstr(w, c->cnf, c->cnf_len);
		else
			vouch_cbor_write_raw(w, c->cnf, c->cnf_len);
	}
	for (size_t i = 0; i < n_extra; i++) {
		vouch_cbor_write_int(w, extra[i].label);
		vouch_cbor_write_raw(w, extra[i].value, extra[i].value_len);
	}
}

int vouch_cwt_claims_encode(const struct vouch_cwt_claims *c, const struct vouch_cwt_extra *extra,
                            size_t n_extra, uint8_t *out, size_t cap, size_t *out_len)
{
	struct vouch_cbor_writer w;
	int rc = VOUCH_ERR_INTERNAL;

	if (out_len != NULL)
		*out_len = 0;
	if (c == NULL || out_len == NULL || (out == NULL && cap > 0))
		return VOUCH_ERR_INVALID;
	rc = check_encodable(c, extra, n_extra);
	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_writer_init(&w, out, cap);
	write_claims(&w, c, extra, n_extra);
	return vouch_cbor_writer_finish(&w, out_len);
}

/* a + b clamped to the int64 range (b >= 0): a bound pushed past the range is simply "never". */
static int64_t add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int64_t sub_sat(int64_t a, int64_t b)
{
	return a < INT64_MIN + b ? INT64_MIN : a - b;
}

static bool text_equals(const char *p, size_t len, const char *want)
{
	size_t want_len = strlen(want);

	return len == want_len && (len == 0 || memcmp(p, want, len) == 0);
}

int vouch_cwt_validate(const struct vouch_cwt_claims *c, const struct vouch_cwt_rules *rules)
{
	if (c == NULL || rules == NULL || rules->leeway < 0)
		return VOUCH_ERR_INVALID;

	if ((rules->require_exp && !has(c, VOUCH_CWT_HAS_EXP)) ||
	    (rules->require_cnf && !has(c, VOUCH_CWT_HAS_CNF)) ||
	    (rules->iss != NULL && !has(c, VOUCH_CWT_HAS_ISS)) ||
	    (rules->aud != NULL && !has(c, VOUCH_CWT_HAS_AUD)))
		return VOUCH_ERR_CWT_MISSING;
	if (has(c, VOUCH_CWT_HAS_EXP) && rules->now >= add_sat(c->exp, rules->leeway))
		return VOUCH_ERR_CWT_EXPIRED;
	if (has(c, VOUCH_CWT_HAS_NBF) && rules->now < sub_sat(c->nbf, rules->leeway))
		return VOUCH_ERR_CWT_NOT_YET;
	if (has(c, VOUCH_CWT_HAS_IAT) && c->iat > add_sat(rules->now, rules->leeway))
		return VOUCH_ERR_CWT_IAT;
	if (rules->iss != NULL && !text_equals(c->iss, c->iss_len, rules->iss))
		return VOUCH_ERR_CWT_ISSUER;
	if (rules->aud != NULL && !text_equals(c->aud, c->aud_len, rules->aud))
		return VOUCH_ERR_CWT_AUDIENCE;
	return VOUCH_OK;
}

/* The tag 61 prefix, d8 3d. */
#define CWT_TAG61_LEN 2

int vouch_cwt_sign(const struct vouch_cwt_claims *c, const struct vouch_cwt_extra *extra,
                   size_t n_extra, const struct vouch_key *key, const uint8_t *kid, size_t kid_len,
                   bool tag61, uint8_t *out, size_t cap, size_t *out_len)
{
	struct vouch_cose_hdr_params hp;
	struct vouch_cbor_writer w;
	size_t claims_len = 0, prefix = 0, sign1_len = 0;
	uint8_t *claims;
	int rc = VOUCH_ERR_INTERNAL;

	if (out_len != NULL)
		*out_len = 0;
	if (c == NULL || key == NULL || out == NULL || out_len == NULL ||
	    (kid == NULL && kid_len > 0))
		return VOUCH_ERR_INVALID;
	rc = check_encodable(c, extra, n_extra);
	if (rc != VOUCH_OK)
		return rc;

	vouch_cbor_writer_init(&w, NULL, 0);
	write_claims(&w, c, extra, n_extra);
	rc = vouch_cbor_writer_finish(&w, &claims_len);
	if (rc != VOUCH_OK)
		return rc;
	prefix = tag61 ? CWT_TAG61_LEN : 0;
	if (cap < prefix + claims_len)
		return VOUCH_ERR_BUFFER;

	/*
	 * No heap: the claims are encoded at the very end of out, and the Sign1 is written in
	 * front of them, so the two never overlap. This costs the caller room for the claims
	 * twice while signing; the result is only the front part.
	 */
	claims = out + cap - claims_len;
	vouch_cbor_writer_init(&w, claims, claims_len);
	write_claims(&w, c, extra, n_extra);
	rc = vouch_cbor_writer_finish(&w, &claims_len);
	if (rc != VOUCH_OK)
		return rc;

	vouch_cbor_writer_init(&w, out, prefix);
	if (tag61)
		vouch_cbor_write_tag(&w, VOUCH_CWT_TAG);
	rc = vouch_cbor_writer_finish(&w, &prefix);
	if (rc != VOUCH_OK)
		return rc;

	memset(&hp, 0, sizeof(hp));
	hp.kid = kid;
	hp.kid_len = kid_len;
	hp.kid_protected = true;
	rc = vouch_cose_sign1_create(key, kid_len > 0 ? &hp : NULL, claims, claims_len, NULL, 0,
	                             true, false, out + prefix, cap - claims_len - prefix,
	                             &sign1_len);
	if (rc != VOUCH_OK)
		return rc;
	*out_len = prefix + sign1_len;
	return VOUCH_OK;
}

/*
 * Finds the COSE_Sign1 inside an optional tag 61. What follows the tag must be a Sign1 (tag 18)
 * or an untagged array; any other COSE tag (Mac0, Encrypt0, ...) is a different structure that
 * this signature-only verifier must not be talked into.
 */
static int unwrap_cwt(const uint8_t *buf, size_t len, size_t *start)
{
	struct vouch_cbor_reader r;
	enum vouch_cbor_type type;
	uint64_t tag;
	int rc = vouch_cbor_validate(buf, len, &vouch_cose_limits);

	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_reader_init(&r, buf, len);
	if (vouch_cbor_peek(&r, &type) != VOUCH_OK)
		return VOUCH_ERR_COSE_STRUCTURE;
	if (type == VOUCH_CBOR_TAG) {
		if (vouch_cbor_read_tag(&r, &tag) != VOUCH_OK)
			return VOUCH_ERR_COSE_STRUCTURE;
		if (tag == VOUCH_CWT_TAG) {
			*start = r.pos;
			if (vouch_cbor_peek(&r, &type) != VOUCH_OK)
				return VOUCH_ERR_COSE_STRUCTURE;
			if (type == VOUCH_CBOR_TAG && (vouch_cbor_read_tag(&r, &tag) != VOUCH_OK ||
			                               tag != VOUCH_COSE_TAG_SIGN1))
				return VOUCH_ERR_COSE_STRUCTURE;
			if (type != VOUCH_CBOR_TAG && type != VOUCH_CBOR_ARRAY)
				return VOUCH_ERR_COSE_STRUCTURE;
			return VOUCH_OK;
		}
		if (tag != VOUCH_COSE_TAG_SIGN1)
			return VOUCH_ERR_COSE_STRUCTURE;
		*start = 0;
		return VOUCH_OK;
	}
	if (type != VOUCH_CBOR_ARRAY)
		return VOUCH_ERR_COSE_STRUCTURE;
	*start = 0;
	return VOUCH_OK;
}

int vouch_cwt_verify(const uint8_t *buf, size_t len, const struct vouch_key *issuer,
                     const struct vouch_cwt_rules *rules, struct vouch_cwt_claims *c)
{
	struct vouch_cose_sign1 msg;
	size_t start = 0;
	int rc = VOUCH_ERR_INTERNAL;

	if (c == NULL)
		return VOUCH_ERR_INVALID;
	memset(c, 0, sizeof(*c));
	if (buf == NULL || issuer == NULL || rules == NULL)
		return VOUCH_ERR_INVALID;

	rc = unwrap_cwt(buf, len, &start);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_cose_sign1_decode(buf + start, len - start, &msg);
	if (rc != VOUCH_OK)
		goto out_clear;
	/* A detached payload makes no sense for a token: the claims are the message. */
	if (msg.payload == NULL) {
		rc = VOUCH_ERR_COSE_STRUCTURE;
		goto out_clear;
	}
	rc = vouch_cose_sign1_verify(&msg, issuer, NULL, 0, NULL, 0);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_cwt_claims_decode(msg.payload, msg.payload_len, c);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_cwt_validate(c, rules);
	if (rc != VOUCH_OK)
		goto out_clear;
	return VOUCH_OK;

out_clear:
	memset(c, 0, sizeof(*c));
	return rc;
}

int vouch_cwt_cnf_key(const struct vouch_cwt_claims *c, struct vouch_key *key)
{
	struct vouch_cose_key ck;
	int rc = VOUCH_ERR_INTERNAL;

	if (c == NULL || key == NULL)
		return VOUCH_ERR_INVALID;
	if (!has(c, VOUCH_CWT_HAS_CNF) || c->cnf_kind != VOUCH_CWT_CNF_COSE_KEY)
		return VOUCH_ERR_CWT_CNF;
	rc = vouch_cose_key_decode(c->cnf, c->cnf_len, &ck);
	if (rc != VOUCH_OK)
		return VOUCH_ERR_CWT_CNF;
	return vouch_cose_key_to_public(&ck, key);
}
