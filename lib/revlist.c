/*
 * The signed revocation list (docs/revlist.md): a payload map in the canonical COSE_Sign1
 * envelope credentials use (lib/cred.c). Verifying and checking are zero-copy and heap-free: the
 * entries stay encoded in the caller's buffer and are walked in place.
 */
#include <string.h>

#include "cred_internal.h"

enum payload_key {
	KEY_FORMAT = 1,
	KEY_ISS = 2,
	KEY_AUD = 3,
	KEY_VERSION = 4,
	KEY_SINCE = 5,
	KEY_ISSUED_AT = 6,
	KEY_MAX_AGE = 7,
	KEY_ENTRIES = 8,
};
#define N_KEYS 8

#define ENTRY_ITEMS 4 /* [kind, value, revoked_at] */

/* Map, entries array, entry arrays: three levels. The item count follows from the entry limit. */
static const struct vouch_cbor_limits payload_limits = {
    .max_depth = 3,
    .max_items = 1 + 2 * N_KEYS + ENTRY_ITEMS * (size_t)VOUCH_REVLIST_MAX_ENTRIES,
    .max_map_entries = N_KEYS,
    .max_len = VOUCH_REVLIST_MAX_LEN,
};

static bool entry_ok(const struct vouch_revlist_entry *e)
{
	switch (e->kind) {
	case VOUCH_REVLIST_TOKEN:
	case VOUCH_REVLIST_PHONE:
		return e->value != NULL && e->value_len == VOUCH_TOKEN_HASH_LEN;
	case VOUCH_REVLIST_SUBJECT:
		return vouch_cred_text_ok((const char *)e->value, e->value_len);
	default:
		return false;
	}
}

_Static_assert(VOUCH_TOKEN_HASH_LEN == VOUCH_THUMBPRINT_LEN, "token and phone values share a size");

/* ---- signing ---- */

struct payload_ctx {
	const struct vouch_revlist_params *p;
	size_t iss_len, aud_len;
};

static void write_entry(struct vouch_cbor_writer *w, const struct vouch_revlist_entry *e)
{
	vouch_cbor_write_array(w, 3);
	vouch_cbor_write_uint(w, (uint64_t)e->kind);
	if (e->kind == VOUCH_REVLIST_SUBJECT)
		vouch_cbor_write_tstr(w, (const char *)e->value, e->value_len);
	else
		vouch_cbor_write_bstr(w, e->value, e->value_len);
	vouch_cbor_write_int(w, e->revoked_at);
}

static int write_payload(const void *ctx, uint8_t *out, size_t cap, size_t *len)
{
	const struct payload_ctx *c = ctx;
	const struct vouch_revlist_params *p = c->p;
	struct vouch_cbor_writer w;

	/* Keys in ascending order, each once: the RFC 8949 §4.2.1 order. */
	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_map(&w, N_KEYS);
	vouch_cbor_write_uint(&w, KEY_FORMAT);
	vouch_cbor_write_uint(&w, VOUCH_REVLIST_FORMAT);
	vouch_cbor_write_uint(&w, KEY_ISS);
	vouch_cbor_write_tstr(&w, p->iss, c->iss_len);
	vouch_cbor_write_uint(&w, KEY_AUD);
	vouch_cbor_write_tstr(&w, p->aud, c->aud_len);
	vouch_cbor_write_uint(&w, KEY_VERSION);
	vouch_cbor_write_uint(&w, p->version);
	vouch_cbor_write_uint(&w, KEY_SINCE);
	vouch_cbor_write_uint(&w, p->since);
	vouch_cbor_write_uint(&w, KEY_ISSUED_AT);
	vouch_cbor_write_int(&w, p->issued_at);
	vouch_cbor_write_uint(&w, KEY_MAX_AGE);
	vouch_cbor_write_uint(&w, p->max_age);
	vouch_cbor_write_uint(&w, KEY_ENTRIES);
	vouch_cbor_write_array(&w, p->n_entries);
	for (size_t i = 0; i < p->n_entries; i++)
		write_entry(&w, &p->entries[i]);
	return vouch_cbor_writer_finish(&w, len);
}

static bool text_param(const char *s, size_t *len)
{
	const char *nul;

	*len = 0;
	if (s == NULL)
		return false;
	nul = memchr(s, 0, VOUCH_CRED_TEXT_MAX + 1);
	if (nul == NULL)
		return false;
	*len = (size_t)(nul - s);
	return vouch_cred_text_ok(s, *len);
}

/* A full list (since 0) is at any version; version 0 is a site where nothing was ever revoked,
 * so it holds nothing. A delta covers (since, version]: empty when a holder is up to date. */
static bool versions_ok(uint64_t version, uint64_t since, size_t n_entries)
{
	if (since == 0)
		return version > 0 || n_entries == 0;
	return since <= version && (since < version || n_entries == 0);
}

int vouch_revlist_sign(const struct vouch_revlist_params *p, const struct vouch_key *signer,
                       uint8_t *out, size_t cap, size_t *out_len)
{
	struct payload_ctx ctx;

	if (out_len != NULL)
		*out_len = 0;
	if (p == NULL || signer == NULL || out == NULL || out_len == NULL)
		return VOUCH_ERR_INVALID;
	memset(&ctx, 0, sizeof(ctx));
	ctx.p = p;
	if (!text_param(p->iss, &ctx.iss_len) || !text_param(p->aud, &ctx.aud_len) ||
	    !versions_ok(p->version, p->since, p->n_entries) || p->max_age == 0 ||
	    p->n_entries > VOUCH_REVLIST_MAX_ENTRIES || (p->entries == NULL && p->n_entries > 0))
		return VOUCH_ERR_INVALID;
	for (size_t i = 0; i < p->n_entries; i++) {
		if (!entry_ok(&p->entries[i]))
			return VOUCH_ERR_INVALID;
	}
	return vouch_cred_envelope_sign(signer, false, write_payload, &ctx, out, cap, out_len);
}

/* ---- decoding ---- */

static int read_text(struct vouch_cbor_reader *r, const char **p, size_t *len)
{
	if (vouch_cbor_read_tstr(r, p, len) != VOUCH_OK || !vouch_cred_text_ok(*p, *len))
		return VOUCH_ERR_REVLIST_FORMAT;
	return VOUCH_OK;
}

/* An integer date: major type 0 or 1 within int64 (no floats, no tags). */
static int read_time(struct vouch_cbor_reader *r, int64_t *t)
{
	enum vouch_cbor_type type;

	if (vouch_cbor_peek(r, &type) != VOUCH_OK ||
	    (type != VOUCH_CBOR_UINT && type != VOUCH_CBOR_NEGINT) ||
	    vouch_cbor_read_int(r, t) != VOUCH_OK)
		return VOUCH_ERR_REVLIST_FORMAT;
	return VOUCH_OK;
}

/* One [kind, value, revoked_at] at r. */
static int read_entry(struct vouch_cbor_reader *r, struct vouch_revlist_entry *e)
{
	const char *text;
	uint64_t kind;
	size_t n;

	memset(e, 0, sizeof(*e));
	if (vouch_cbor_read_array(r, &n) != VOUCH_OK || n != 3 ||
	    vouch_cbor_read_uint(r, &kind) != VOUCH_OK)
		return VOUCH_ERR_REVLIST_FORMAT;
	switch (kind) {
	case VOUCH_REVLIST_TOKEN:
	case VOUCH_REVLIST_PHONE:
		if (vouch_cbor_read_bstr(r, &e->value, &e->value_len) != VOUCH_OK)
			return VOUCH_ERR_REVLIST_FORMAT;
		break;
	case VOUCH_REVLIST_SUBJECT:
		if (vouch_cbor_read_tstr(r, &text, &e->value_len) != VOUCH_OK)
			return VOUCH_ERR_REVLIST_FORMAT;
		e->value = (const uint8_t *)text;
		break;
	default:
		return VOUCH_ERR_REVLIST_FORMAT;
	}
	e->kind = (enum vouch_revlist_kind)kind;
	if (!entry_ok(e) || read_time(r, &e->revoked_at) != VOUCH_OK)
		return VOUCH_ERR_REVLIST_FORMAT;
	return VOUCH_OK;
}

static int read_entries(struct vouch_cbor_reader *r, struct vouch_revlist *out)
{
	struct vouch_revlist_entry e;
	size_t n, start;
	int rc;

	if (vouch_cbor_read_array(r, &n) != VOUCH_OK)
		return VOUCH_ERR_REVLIST_FORMAT;
	if (n > VOUCH_REVLIST_MAX_ENTRIES)
		return VOUCH_ERR_CBOR_LIMIT;
	start = r->pos;
	for (size_t i = 0; i < n; i++) {
		rc = read_entry(r, &e);
		if (rc != VOUCH_OK)
			return rc;
	}
	out->entries = r->buf + start;
	out->entries_len = r->pos - start;
	out->n_entries = n;
	return VOUCH_OK;
}

static int read_field(struct vouch_cbor_reader *r, uint64_t key, struct vouch_revlist *out)
{
	uint64_t v;

	switch (key) {
	case KEY_FORMAT:
		/* A later format is refused rather than read as this one. */
		if (vouch_cbor_read_uint(r, &v) != VOUCH_OK || v != VOUCH_REVLIST_FORMAT)
			return VOUCH_ERR_REVLIST_FORMAT;
		return VOUCH_OK;
	case KEY_ISS:
		return read_text(r, &out->iss, &out->iss_len);
	case KEY_AUD:
		return read_text(r, &out->aud, &out->aud_len);
	case KEY_VERSION:
		if (vouch_cbor_read_uint(r, &out->version) != VOUCH_OK)
			return VOUCH_ERR_REVLIST_FORMAT;
		return VOUCH_OK;
	case KEY_SINCE:
		if (vouch_cbor_read_uint(r, &out->since) != VOUCH_OK)
			return VOUCH_ERR_REVLIST_FORMAT;
		return VOUCH_OK;
	case KEY_ISSUED_AT:
		return read_time(r, &out->issued_at);
	case KEY_MAX_AGE:
		if (vouch_cbor_read_uint(r, &v) != VOUCH_OK || v == 0 || v > UINT32_MAX)
			return VOUCH_ERR_REVLIST_FORMAT;
		out->max_age = (uint32_t)v;
		return VOUCH_OK;
	case KEY_ENTRIES:
		return read_entries(r, out);
	default:
		return VOUCH_ERR_REVLIST_FORMAT;
	}
}

static int payload_parse(const uint8_t *payload, size_t len, struct vouch_revlist *out)
{
	struct vouch_cbor_reader r;
	uint32_t seen = 0;
	uint64_t key;
	size_t n;
	int rc = vouch_cbor_validate(payload, len, &payload_limits);

	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_reader_init(&r, payload, len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK || n != N_KEYS)
		return VOUCH_ERR_REVLIST_FORMAT;
	for (size_t i = 0; i < n; i++) {
		if (vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key < KEY_FORMAT ||
		    key > KEY_ENTRIES || (seen & (1u << key)) != 0)
			return VOUCH_ERR_REVLIST_FORMAT;
		rc = read_field(&r, key, out);
		if (rc != VOUCH_OK)
			return rc;
		seen |= 1u << key;
	}
	/* Eight distinct keys out of eight: all are there. A delta covers (since, version]. */
	if (!versions_ok(out->version, out->since, out->n_entries))
		return VOUCH_ERR_REVLIST_FORMAT;
	return VOUCH_OK;
}

int vouch_revlist_payload_parse(const uint8_t *payload, size_t len, struct vouch_revlist *out)
{
	int rc = VOUCH_ERR_INTERNAL;

	if (out == NULL)
		return VOUCH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (payload == NULL)
		return VOUCH_ERR_INVALID;
	rc = payload_parse(payload, len, out);
	if (rc != VOUCH_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

static bool text_equals(const char *p, size_t len, const char *want)
{
	size_t want_len = strlen(want);

	return len == want_len && memcmp(p, want, len) == 0;
}

int vouch_revlist_verify(const uint8_t *buf, size_t len, const struct vouch_key *signer,
                         const char *iss, const char *aud, struct vouch_revlist *out)
{
	const uint8_t *payload = NULL;
	size_t payload_len = 0;
	int rc = VOUCH_ERR_INTERNAL;

	if (out == NULL)
		return VOUCH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (buf == NULL || signer == NULL)
		return VOUCH_ERR_INVALID;
	if (len > VOUCH_REVLIST_MAX_LEN)
		return VOUCH_ERR_CBOR_LIMIT;

	rc = vouch_cred_envelope_open(buf, len, false, signer, &payload, &payload_len);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_revlist_payload_parse(payload, payload_len, out);
	if (rc != VOUCH_OK)
		goto out_clear;
	/* A list for another site or from another signer's name says nothing here. */
	if (iss != NULL && !text_equals(out->iss, out->iss_len, iss)) {
		rc = VOUCH_ERR_CWT_ISSUER;
		goto out_clear;
	}
	if (aud != NULL && !text_equals(out->aud, out->aud_len, aud)) {
		rc = VOUCH_ERR_CWT_AUDIENCE;
		goto out_clear;
	}
	return VOUCH_OK;

out_clear:
	memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- reading a verified list ---- */

bool vouch_revlist_next(const struct vouch_revlist *rl, size_t *pos,
                        struct vouch_revlist_entry *out)
{
	struct vouch_cbor_reader r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (rl == NULL || pos == NULL || out == NULL || rl->entries == NULL ||
	    *pos >= rl->entries_len)
		return false;
	/* The entries passed vouch_revlist_verify, so each reads back as it did there. */
	vouch_cbor_reader_init(&r, rl->entries, rl->entries_len);
	r.pos = *pos;
	if (read_entry(&r, out) != VOUCH_OK) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	*pos = r.pos;
	return true;
}

int vouch_revlist_entry(const struct vouch_revlist *rl, size_t i, struct vouch_revlist_entry *out)
{
	size_t pos = 0;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (rl == NULL || out == NULL || i >= rl->n_entries)
		return VOUCH_ERR_INVALID;
	for (size_t k = 0; k <= i; k++) {
		if (!vouch_revlist_next(rl, &pos, out))
			return VOUCH_ERR_INTERNAL;
	}
	return VOUCH_OK;
}

static bool hit(const struct vouch_revlist_entry *e, const struct vouch_cred *cred)
{
	switch (e->kind) {
	case VOUCH_REVLIST_TOKEN:
		return memcmp(e->value, cred->token_hash, VOUCH_TOKEN_HASH_LEN) == 0;
	case VOUCH_REVLIST_PHONE:
		return memcmp(e->value, cred->cnf_thumbprint, VOUCH_THUMBPRINT_LEN) == 0;
	case VOUCH_REVLIST_SUBJECT:
		/* Every credential of the user issued at or before the revocation. */
		return e->value_len == cred->claims.sub_len &&
		       memcmp(e->value, cred->claims.sub, e->value_len) == 0 &&
		       e->revoked_at >= cred->claims.iat;
	default:
		return false;
	}
}

int vouch_revlist_check(const struct vouch_revlist *rl, const struct vouch_cred *cred)
{
	struct vouch_revlist_entry e;
	size_t pos = 0, n = 0;

	if (rl == NULL || cred == NULL || cred->claims.sub == NULL)
		return VOUCH_ERR_INVALID;
	while (vouch_revlist_next(rl, &pos, &e)) {
		n++;
		if (hit(&e, cred))
			return VOUCH_ERR_REVOKED;
	}
	/* A list that stops early was not verified: fail closed. */
	return n == rl->n_entries ? VOUCH_OK : VOUCH_ERR_INVALID;
}

bool vouch_revlist_expired(const struct vouch_revlist *rl, int64_t now)
{
	if (rl == NULL)
		return true;
	if (now <= rl->issued_at)
		return false;
	/* now - issued_at > max_age, without overflowing either subtraction. */
	if (rl->issued_at < 0 && now > INT64_MAX + rl->issued_at)
		return true;
	return now - rl->issued_at > (int64_t)rl->max_age;
}
