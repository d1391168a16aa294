/* COSE_Key (RFC 9052 §7, RFC 9053 §7): EC2 P-256, OKP Ed25519 and Symmetric keys. */
#include <string.h>

#include "cose_internal.h"

/* Common parameters (RFC 9052 §7.1) */
#define KEY_KTY     1
#define KEY_KID     2
#define KEY_ALG     3
#define KEY_OPS     4
#define KEY_BASE_IV 5
/* Type parameters (RFC 9053 §7): the meaning of a negative label depends on kty. */
#define KEY_CRV -1 /* EC2, OKP */
#define KEY_X   -2
#define KEY_Y   -3 /* EC2 */
#define KEY_D   -4
#define KEY_K   -1 /* Symmetric */

/* An int-or-tstr value where only the int form is known (kty, alg, crv). Text values name
 * nothing this library implements. */
static int read_int_or_text(struct vouch_cbor_reader *r, int64_t *v, bool *is_text)
{
	enum vouch_cbor_type type;
	const char *text;
	size_t text_len;
	int rc = vouch_cbor_peek(r, &type);

	*v = 0;
	*is_text = false;
	if (rc != VOUCH_OK)
		return rc;
	if (type == VOUCH_CBOR_TSTR) {
		*is_text = true;
		return vouch_cbor_read_tstr(r, &text, &text_len);
	}
	if (type != VOUCH_CBOR_UINT && type != VOUCH_CBOR_NEGINT)
		return VOUCH_ERR_KEY;
	rc = vouch_cbor_read_int(r, v);
	if (rc == VOUCH_ERR_CBOR_LIMIT) {
		/* Beyond int64: as unknown as a text value. */
		*is_text = true;
		return vouch_cbor_skip(r);
	}
	return rc;
}

static int read_key_bstr(struct vouch_cbor_reader *r, const uint8_t **p, size_t *len)
{
	if (vouch_cbor_read_bstr(r, p, len) != VOUCH_OK)
		return VOUCH_ERR_KEY;
	return VOUCH_OK;
}

/* Read a label: ints are returned, text labels (never registered for key parameters we use)
 * set *skip. */
static int read_key_label(struct vouch_cbor_reader *r, int64_t *label, bool *skip)
{
	enum vouch_cbor_type type;
	const char *text;
	size_t text_len;
	int rc = vouch_cbor_peek(r, &type);

	*label = 0;
	*skip = false;
	if (rc != VOUCH_OK)
		return rc;
	if (type == VOUCH_CBOR_TSTR) {
		*skip = true;
		return vouch_cbor_read_tstr(r, &text, &text_len);
	}
	if (type != VOUCH_CBOR_UINT && type != VOUCH_CBOR_NEGINT)
		return VOUCH_ERR_KEY;
	if (vouch_cbor_read_int(r, label) != VOUCH_OK) {
		*skip = true;
		return vouch_cbor_skip(r);
	}
	return VOUCH_OK;
}

/* First pass: find kty, which decides what the negative labels mean. */
static int find_kty(const uint8_t *map, size_t len, int64_t *kty)
{
	struct vouch_cbor_reader r;
	int64_t label;
	bool skip, text, found = false;
	size_t n;
	int rc;

	*kty = 0;
	vouch_cbor_reader_init(&r, map, len);
	rc = vouch_cbor_read_map(&r, &n);
	if (rc != VOUCH_OK)
		return rc == VOUCH_ERR_CBOR_TYPE ? VOUCH_ERR_KEY : rc;
	for (size_t i = 0; i < n; i++) {
		rc = read_key_label(&r, &label, &skip);
		if (rc != VOUCH_OK)
			return rc;
		if (!skip && label == KEY_KTY) {
			rc = read_int_or_text(&r, kty, &text);
			if (rc != VOUCH_OK)
				return rc;
			if (text)
				return VOUCH_ERR_UNSUPPORTED;
			found = true;
			continue;
		}
		rc = vouch_cbor_skip(&r);
		if (rc != VOUCH_OK)
			return rc;
	}
	if (!found)
		return VOUCH_ERR_KEY;
	if (*kty != VOUCH_COSE_KTY_OKP && *kty != VOUCH_COSE_KTY_EC2 &&
	    *kty != VOUCH_COSE_KTY_SYMMETRIC)
		return VOUCH_ERR_UNSUPPORTED;
	return VOUCH_OK;
}

static int parse_param(struct vouch_cbor_reader *r, int64_t label, struct vouch_cose_key *ck,
                       bool *has_crv)
{
	enum vouch_cbor_type type;
	bool text;
	int rc = VOUCH_ERR_INTERNAL;

	switch (label) {
	case KEY_KTY: {
		int64_t kty;

		return read_int_or_text(r, &kty, &text);
	}
	case KEY_KID:
		return read_key_bstr(r, &ck->kid, &ck->kid_len);
	case KEY_ALG:
		rc = read_int_or_text(r, &ck->alg, &text);
		if (rc != VOUCH_OK)
			return rc;
		/* A text alg is recorded as alg 0 (reserved), which no use accepts. */
		ck->has_alg = true;
		return VOUCH_OK;
	case KEY_OPS:
		rc = vouch_cbor_peek(r, &type);
		if (rc != VOUCH_OK)
			return rc;
		if (type != VOUCH_CBOR_ARRAY)
			return VOUCH_ERR_KEY;
		return vouch_cbor_skip(r);
	case KEY_BASE_IV: {
		const uint8_t *p;
		size_t plen;

		return read_key_bstr(r, &p, &plen);
	}
	default:
		break;
	}

	if (ck->kty == VOUCH_COSE_KTY_SYMMETRIC) {
		if (label == KEY_K)
			return read_key_bstr(r, &ck->k, &ck->k_len);
		return vouch_cbor_skip(r);
	}
	switch (label) {
	case KEY_CRV:
		rc = read_int_or_text(r, &ck->crv, &text);
		if (rc != VOUCH_OK)
			return rc;
		if (text)
			return VOUCH_ERR_UNSUPPORTED;
		*has_crv = true;
		return VOUCH_OK;
	case KEY_X:
		return read_key_bstr(r, &ck->x, &ck->x_len);
	case KEY_D:
		return read_key_bstr(r, &ck->d, &ck->d_len);
	case KEY_Y:
		if (ck->kty != VOUCH_COSE_KTY_EC2)
			return vouch_cbor_skip(r);
		rc = vouch_cbor_peek(r, &type);
		if (rc != VOUCH_OK)
			return rc;
		/* y as a sign bit is point compression: not implemented here. */
		if (type == VOUCH_CBOR_BOOL)
			return VOUCH_ERR_UNSUPPORTED;
		return read_key_bstr(r, &ck->y, &ck->y_len);
	default:
		return vouch_cbor_skip(r);
	}
}

/* The parameters each key type needs (RFC 9053 §7.1, §7.2; RFC 9053 §6.1 for k). */
static int check_required(const struct vouch_cose_key *ck, bool has_crv)
{
	if (ck->kty == VOUCH_COSE_KTY_SYMMETRIC)
		return ck->k != NULL && ck->k_len > 0 ? VOUCH_OK : VOUCH_ERR_KEY;

	if (!has_crv)
		return VOUCH_ERR_KEY;
	if (ck->kty == VOUCH_COSE_KTY_EC2) {
		if (ck->crv != VOUCH_COSE_CRV_P256)
			return VOUCH_ERR_UNSUPPORTED;
		/* A public key needs both coordinates; a private key may carry d alone. */
		if ((ck->x == NULL) != (ck->y == NULL))
			return VOUCH_ERR_KEY;
		if (ck->x == NULL && ck->d == NULL)
			return VOUCH_ERR_KEY;
		if (ck->x != NULL &&
		    (ck->x_len != VOUCH_P256_SCALAR_LEN || ck->y_len != VOUCH_P256_SCALAR_LEN))
			return VOUCH_ERR_KEY;
		if (ck->d != NULL && ck->d_len != VOUCH_P256_SCALAR_LEN)
			return VOUCH_ERR_KEY;
		return VOUCH_OK;
	}
	if (ck->crv != VOUCH_COSE_CRV_ED25519)
		return VOUCH_ERR_UNSUPPORTED;
	if (ck->x == NULL && ck->d == NULL)
		return VOUCH_ERR_KEY;
	if (ck->x != NULL && ck->x_len != VOUCH_ED25519_KEY_LEN)
		return VOUCH_ERR_KEY;
	if (ck->d != NULL && ck->d_len != VOUCH_ED25519_KEY_LEN)
		return VOUCH_ERR_KEY;
	return VOUCH_OK;
}

/* Parse a map that has passed strict validation (on its own or as part of its container). */
static int key_parse(const uint8_t *map, size_t len, struct vouch_cose_key *ck)
{
	struct vouch_cbor_reader r;
	int64_t label;
	bool skip, has_crv = false;
	size_t n;
	int rc = VOUCH_ERR_INTERNAL;

	rc = find_kty(map, len, &ck->kty);
	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_reader_init(&r, map, len);
	rc = vouch_cbor_read_map(&r, &n);
	if (rc != VOUCH_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = read_key_label(&r, &label, &skip);
		if (rc != VOUCH_OK)
			return rc;
		rc = skip ? vouch_cbor_skip(&r) : parse_param(&r, label, ck, &has_crv);
		if (rc != VOUCH_OK)
			return rc;
	}
	return check_required(ck, has_crv);
}

int vouch_cose_key_decode(const uint8_t *buf, size_t len, struct vouch_cose_key *ck)
{
	int rc = VOUCH_ERR_INTERNAL;

	if (ck == NULL)
		return VOUCH_ERR_INVALID;
	memset(ck, 0, sizeof(*ck));
	if (buf == NULL)
		return VOUCH_ERR_INVALID;
	rc = vouch_cbor_validate(buf, len, &vouch_cose_limits);
	if (rc == VOUCH_OK)
		rc = key_parse(buf, len, ck);
	if (rc != VOUCH_OK)
		memset(ck, 0, sizeof(*ck));
	return rc;
}

int vouch_cose_key_read(struct vouch_cbor_reader *r, struct vouch_cose_key *ck)
{
	struct vouch_cbor_reader save;
	enum vouch_cbor_type type;
	const uint8_t *map;
	size_t map_len;
	int rc = VOUCH_ERR_INTERNAL;

	if (r == NULL || ck == NULL)
		return VOUCH_ERR_INVALID;
	memset(ck, 0, sizeof(*ck));
	rc = vouch_cbor_peek(r, &type);
	if (rc != VOUCH_OK)
		return rc;
	if (type != VOUCH_CBOR_MAP)
		return VOUCH_ERR_KEY;
	save = *r;
	rc = vouch_cbor_read_raw(r, &map, &map_len);
	if (rc == VOUCH_OK)
		rc = key_parse(map, map_len, ck);
	if (rc != VOUCH_OK) {
		*r = save;
		memset(ck, 0, sizeof(*ck));
	}
	return rc;
}

static int key_type_of(const struct vouch_cose_key *ck, enum vouch_key_type *type)
{
	*type = VOUCH_KEY_NONE;
	if (ck->kty == VOUCH_COSE_KTY_EC2 && ck->crv == VOUCH_COSE_CRV_P256)
		*type = VOUCH_KEY_P256;
	else if (ck->kty == VOUCH_COSE_KTY_OKP && ck->crv == VOUCH_COSE_CRV_ED25519)
		*type = VOUCH_KEY_ED25519;
	else if (ck->kty == VOUCH_COSE_KTY_SYMMETRIC)
		return VOUCH_ERR_KEY;
	else
		return VOUCH_ERR_UNSUPPORTED;
	return VOUCH_OK;
}

/* The public key as the crypto port imports it: SEC1 uncompressed for P-256, raw for Ed25519. */
static int public_raw(const struct vouch_cose_key *ck, enum vouch_key_type type,
                      uint8_t raw[VOUCH_P256_POINT_LEN], size_t *raw_len)
{
	*raw_len = 0;
	if (type == VOUCH_KEY_P256) {
		if (ck->x == NULL || ck->y == NULL || ck->x_len != VOUCH_P256_SCALAR_LEN ||
		    ck->y_len != VOUCH_P256_SCALAR_LEN)
			return VOUCH_ERR_KEY;
		raw[0] = 0x04;
		memcpy(raw + 1, ck->x, VOUCH_P256_SCALAR_LEN);
		memcpy(raw + 1 + VOUCH_P256_SCALAR_LEN, ck->y, VOUCH_P256_SCALAR_LEN);
		*raw_len = VOUCH_P256_POINT_LEN;
		return VOUCH_OK;
	}
	if (ck->x == NULL || ck->x_len != VOUCH_ED25519_KEY_LEN)
		return VOUCH_ERR_KEY;
	memcpy(raw, ck->x, VOUCH_ED25519_KEY_LEN);
	*raw_len = VOUCH_ED25519_KEY_LEN;
	return VOUCH_OK;
}

int vouch_cose_key_to_public(const struct vouch_cose_key *ck, struct vouch_key *key)
{
	enum vouch_key_type type;
	uint8_t raw[VOUCH_P256_POINT_LEN];
	size_t raw_len;
	int rc = VOUCH_ERR_INTERNAL;

	if (ck == NULL || key == NULL)
		return VOUCH_ERR_INVALID;
	rc = key_type_of(ck, &type);
	if (rc != VOUCH_OK)
		return rc;
	rc = public_raw(ck, type, raw, &raw_len);
	if (rc != VOUCH_OK)
		return rc;
	return vouch_key_import_public(key, type, raw, raw_len);
}

int vouch_cose_key_to_private(const struct vouch_cose_key *ck, struct vouch_key *key)
{
	enum vouch_key_type type;
	uint8_t raw[VOUCH_P256_POINT_LEN], have[VOUCH_P256_POINT_LEN];
	size_t raw_len, have_len;
	int rc = VOUCH_ERR_INTERNAL;

	if (ck == NULL || key == NULL)
		return VOUCH_ERR_INVALID;
	rc = key_type_of(ck, &type);
	if (rc != VOUCH_OK)
		return rc;
	if (ck->d == NULL)
		return VOUCH_ERR_KEY;
	rc = vouch_key_import_private(key, type, ck->d, ck->d_len);
	if (rc != VOUCH_OK)
		return rc;
	if (ck->x == NULL)
		return VOUCH_OK;

	/* When the public half is given too it must be the one d makes: a key whose halves
	 * disagree would sign as one party and be looked up as another. */
	rc = public_raw(ck, type, raw, &raw_len);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_key_export_public(key, have, sizeof(have), &have_len);
	if (rc != VOUCH_OK)
		goto out_clear;
	if (have_len != raw_len || memcmp(have, raw, raw_len) != 0) {
		rc = VOUCH_ERR_KEY;
		goto out_clear;
	}
	return VOUCH_OK;

out_clear:
	vouch_key_clear(key);
	return rc;
}

void vouch_cose_key_write_public(struct vouch_cbor_writer *w, const struct vouch_key *key,
                                 const uint8_t *kid, size_t kid_len, int64_t alg)
{
	uint8_t raw[VOUCH_P256_POINT_LEN];
	size_t raw_len = 0, n;
	bool ec2;
	int rc = VOUCH_ERR_INTERNAL;

	if (w->err != VOUCH_OK)
		return;
	if (key == NULL || (key->type != VOUCH_KEY_P256 && key->type != VOUCH_KEY_ED25519)) {
		w->err = VOUCH_ERR_INVALID;
		return;
	}
	rc = vouch_key_export_public(key, raw, sizeof(raw), &raw_len);
	ec2 = key->type == VOUCH_KEY_P256;
	if (rc == VOUCH_OK &&
	    raw_len != (ec2 ? (size_t)VOUCH_P256_POINT_LEN : (size_t)VOUCH_ED25519_KEY_LEN))
		rc = VOUCH_ERR_INTERNAL;
	if (rc != VOUCH_OK) {
		w->err = rc;
		return;
	}

	/* Labels in ascending order of their encodings: 1, 2, 3, then -1, -2, -3. */
	n = 3 + (ec2 ? 1 : 0) + (kid != NULL ? 1 : 0) + (alg != 0 ? 1 : 0);
	vouch_cbor_write_map(w, n);
	vouch_cbor_write_int(w, KEY_KTY);
	vouch_cbor_write_int(w, ec2 ? VOUCH_COSE_KTY_EC2 : VOUCH_COSE_KTY_OKP);
	if (kid != NULL) {
		vouch_cbor_write_int(w, KEY_KID);
		vouch_cbor_write_bstr(w, kid, kid_len);
	}
	if (alg != 0) {
		vouch_cbor_write_int(w, KEY_ALG);
		vouch_cbor_write_int(w, alg);
	}
	vouch_cbor_write_int(w, KEY_CRV);
	vouch_cbor_write_int(w, ec2 ? VOUCH_COSE_CRV_P256 : VOUCH_COSE_CRV_ED25519);
	vouch_cbor_write_int(w, KEY_X);
	if (ec2) {
		vouch_cbor_write_bstr(w, raw + 1, VOUCH_P256_SCALAR_LEN);
		vouch_cbor_write_int(w, KEY_Y);
		vouch_cbor_write_bstr(w, raw + 1 + VOUCH_P256_SCALAR_LEN, VOUCH_P256_SCALAR_LEN);
	} else {
		vouch_cbor_write_bstr(w, raw, VOUCH_ED25519_KEY_LEN);
	}
}
