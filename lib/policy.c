/*
 * The policy evaluator: permissions in their compact CBOR form (docs/policy.md has the CDDL),
 * validated once into a zero-copy view, then decided on by walking that view with the CBOR
 * reader. One parser (perm_read) serves validation, decision and explanation, so what
 * view_init accepted is exactly what decide reads; it fills a fixed-size struct on the stack,
 * which keeps the decision free of allocation. The decision reads a permission's conditions
 * only when its selector and actions apply, and skips the content checks view_init made.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vouch/cbor.h"
#include "vouch/policy.h"

/* Map keys of a selector. */
enum { SEL_ZONE = 1, SEL_TYPE = 2, SEL_ID = 3, SEL_TAGS = 4, SEL_LAST = SEL_TAGS };

/* Map keys of the conditions, in the order they are evaluated. */
enum {
	COND_VALID_FROM = 1,
	COND_VALID_UNTIL = 2,
	COND_TRAINING = 3,
	COND_WINDOWS = 4,
	COND_PERSON_ZONE = 5,
	COND_READINGS = 6,
	COND_LAST = COND_READINGS,
};

/* How far a permission's conditions got: the reason choice prefers the furthest. */
enum stage {
	STAGE_VALIDITY = 0,
	STAGE_TRAINING = 1,
	STAGE_TIME = 2,
	STAGE_ZONE = 3,
	STAGE_READINGS = 4,
	STAGE_ALL = 5,
};

#define PERM_ITEMS    5
#define TOP_ITEMS     4
#define MINUTES_DAY   1440
#define ALL_DAYS      0x7fu
#define AT_RESOURCE   "@resource"
#define EXACT_INT_MAX 9007199254740992.0 /* 2^53: every integer up to it is exact in a double */

static const char *const action_names[] = {
    "enter",     "open",    "read",       "write",  "operate", "stop",
    "configure", "service", "commission", "update", "audit",   "admin",
};

static const char *const op_names[] = {"<", "<=", ">", ">=", "==", "!="};

static const char *const reason_names[] = {
    "permit",   "no-grant", "deny-rule", "not-yet-valid", "expired",
    "training", "time",     "zone",      "reading",       "reading-missing",
};

static const char *const day_names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

/* ---- names ---- */

const char *vouch_policy_action_name(uint32_t action)
{
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(action_names); i++)
		if (action == 1u << i)
			return action_names[i];
	return NULL;
}

int vouch_policy_action_parse(const char *name, uint32_t *action)
{
	if (action != NULL)
		*action = 0;
	if (name == NULL || action == NULL)
		return VOUCH_ERR_INVALID;
	if (strcmp(name, "*") == 0) {
		*action = VOUCH_ACTION_ALL;
		return VOUCH_OK;
	}
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(action_names); i++) {
		if (strcmp(name, action_names[i]) == 0) {
			*action = 1u << i;
			return VOUCH_OK;
		}
	}
	return VOUCH_ERR_INVALID;
}

const char *vouch_policy_op_name(enum vouch_policy_op op)
{
	return (unsigned)op < VOUCH_ARRAY_LEN(op_names) ? op_names[op] : NULL;
}

int vouch_policy_op_parse(const char *name, enum vouch_policy_op *op)
{
	if (op != NULL)
		*op = VOUCH_POLICY_LT;
	if (name == NULL || op == NULL)
		return VOUCH_ERR_INVALID;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(op_names); i++) {
		if (strcmp(name, op_names[i]) == 0) {
			*op = (enum vouch_policy_op)i;
			return VOUCH_OK;
		}
	}
	return VOUCH_ERR_INVALID;
}

const char *vouch_policy_reason_name(enum vouch_policy_reason reason)
{
	return (unsigned)reason < VOUCH_ARRAY_LEN(reason_names) ? reason_names[reason] : NULL;
}

static bool one_known_action(uint32_t action)
{
	return action != 0 && (action & (action - 1)) == 0 && (action & ~VOUCH_ACTION_ALL) == 0;
}

/* ---- the rules both sides enforce ---- */

/* A name: 1..VOUCH_POLICY_NAME_MAX bytes, no control characters (they end up in text). */
static bool name_ok(const char *p, size_t len)
{
	if (len == 0 || len > VOUCH_POLICY_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

/* A zone path: a name of '/'-separated non-empty segments, not starting with '@'. */
static bool zone_ok(const char *p, size_t len)
{
	if (!name_ok(p, len) || p[0] == '/' || p[0] == '@' || p[len - 1] == '/')
		return false;
	for (size_t i = 1; i < len; i++)
		if (p[i] == '/' && p[i - 1] == '/')
			return false;
	return true;
}

static bool is_at_resource(const char *p, size_t len)
{
	return len == sizeof(AT_RESOURCE) - 1 && memcmp(p, AT_RESOURCE, len) == 0;
}

static bool window_ok(unsigned days, unsigned start, unsigned end)
{
	return days >= 1 && days <= ALL_DAYS && start < MINUTES_DAY && end <= MINUTES_DAY;
}

/* The rule text must fit a parse: VOUCH_TZ_RULE_MAX bytes, no NUL inside. */
static bool tz_ok(const char *p, size_t len, struct vouch_tz *tz)
{
	char rule[VOUCH_TZ_RULE_MAX + 1];

	if (len == 0 || len > VOUCH_TZ_RULE_MAX || memchr(p, '\0', len) != NULL)
		return false;
	memcpy(rule, p, len);
	rule[len] = '\0';
	return vouch_tz_parse(rule, tz) == VOUCH_OK;
}

/* ---- encoding ---- */

static bool cstr_name_ok(const char *s)
{
	return s != NULL && name_ok(s, strnlen(s, VOUCH_POLICY_NAME_MAX + 1));
}

static bool cstr_zone_ok(const char *s)
{
	return s != NULL && zone_ok(s, strnlen(s, VOUCH_POLICY_NAME_MAX + 1));
}

static bool perm_ok(const struct vouch_policy_perm *p, size_t n_roles)
{
	if (p->role >= n_roles || p->actions == 0 || (p->actions & ~VOUCH_ACTION_ALL) != 0)
		return false;
	if ((p->zone != NULL && !cstr_zone_ok(p->zone)) ||
	    (p->type != NULL && !cstr_name_ok(p->type)) || (p->id != NULL && !cstr_name_ok(p->id)))
		return false;
	if (p->n_tags > VOUCH_POLICY_MAX_TAGS || (p->n_tags > 0 && p->tags == NULL))
		return false;
	for (size_t i = 0; i < p->n_tags; i++)
		if (!cstr_name_ok(p->tags[i]))
			return false;
	if (p->n_windows > VOUCH_POLICY_MAX_WINDOWS || (p->n_windows > 0 && p->windows == NULL))
		return false;
	for (size_t i = 0; i < p->n_windows; i++)
		if (!window_ok(p->windows[i].days, p->windows[i].start_min, p->windows[i].end_min))
			return false;
	if (p->training != NULL && !cstr_name_ok(p->training))
		return false;
	if (p->person_zone != NULL && strcmp(p->person_zone, AT_RESOURCE) != 0 &&
	    !cstr_zone_ok(p->person_zone))
		return false;
	if (p->n_readings > VOUCH_POLICY_MAX_READINGS || (p->n_readings > 0 && p->readings == NULL))
		return false;
	for (size_t i = 0; i < p->n_readings; i++) {
		const struct vouch_policy_reading_cond *c = &p->readings[i];

		if (!cstr_name_ok(c->name) || (unsigned)c->op >= VOUCH_ARRAY_LEN(op_names) ||
		    !isfinite(c->value))
			return false;
	}
	return true;
}

static bool set_ok(const struct vouch_policy_set *set)
{
	struct vouch_tz tz;

	if (set->tz == NULL || !tz_ok(set->tz, strnlen(set->tz, VOUCH_TZ_RULE_MAX + 1), &tz))
		return false;
	if (set->n_roles > VOUCH_POLICY_MAX_ROLES || (set->n_roles > 0 && set->roles == NULL))
		return false;
	for (size_t i = 0; i < set->n_roles; i++)
		if (!cstr_name_ok(set->roles[i]))
			return false;
	if (set->n_perms > VOUCH_POLICY_MAX_PERMS || (set->n_perms > 0 && set->perms == NULL))
		return false;
	for (size_t i = 0; i < set->n_perms; i++)
		if (!perm_ok(&set->perms[i], set->n_roles))
			return false;
	return true;
}

/* Integers as integers (the common case: limits like 0 or 80 take 1 or 2 bytes), anything else
 * as a double, so the same value always gives the same bytes. */
static void write_number(struct vouch_cbor_writer *w, double v)
{
	/* (No libm: the range test comes first, so the cast is defined.) */
	if (v >= -EXACT_INT_MAX && v <= EXACT_INT_MAX && v == (double)(int64_t)v)
		vouch_cbor_write_int(w, (int64_t)v);
	else
		vouch_cbor_write_double(w, v);
}

static void write_perm_body(struct vouch_cbor_writer *w, const struct vouch_policy_perm *p)
{
	size_t n_sel = (p->zone != NULL) + (p->type != NULL) + (p->id != NULL) + (p->n_tags > 0);
	size_t n_cond = (p->valid_from != 0) + (p->valid_until != 0) + (p->training != NULL) +
	                (p->n_windows > 0) + (p->person_zone != NULL) + (p->n_readings > 0);

	vouch_cbor_write_array(w, PERM_ITEMS);
	vouch_cbor_write_uint(w, p->deny ? 1 : 0);
	vouch_cbor_write_uint(w, p->role);
	vouch_cbor_write_uint(w, p->actions);

	vouch_cbor_write_map(w, n_sel);
	if (p->zone != NULL) {
		vouch_cbor_write_uint(w, SEL_ZONE);
		vouch_cbor_write_cstr(w, p->zone);
	}
	if (p->type != NULL) {
		vouch_cbor_write_uint(w, SEL_TYPE);
		vouch_cbor_write_cstr(w, p->type);
	}
	if (p->id != NULL) {
		vouch_cbor_write_uint(w, SEL_ID);
		vouch_cbor_write_cstr(w, p->id);
	}
	if (p->n_tags > 0) {
		vouch_cbor_write_uint(w, SEL_TAGS);
		vouch_cbor_write_array(w, p->n_tags);
		for (size_t i = 0; i < p->n_tags; i++)
			vouch_cbor_write_cstr(w, p->tags[i]);
	}

	vouch_cbor_write_map(w, n_cond);
	if (p->valid_from != 0) {
		vouch_cbor_write_uint(w, COND_VALID_FROM);
		vouch_cbor_write_int(w, p->valid_from);
	}
	if (p->valid_until != 0) {
		vouch_cbor_write_uint(w, COND_VALID_UNTIL);
		vouch_cbor_write_int(w, p->valid_until);
	}
	if (p->training != NULL) {
		vouch_cbor_write_uint(w, COND_TRAINING);
		vouch_cbor_write_array(w, 2);
		vouch_cbor_write_cstr(w, p->training);
		vouch_cbor_write_int(w, p->training_expires);
	}
	if (p->n_windows > 0) {
		vouch_cbor_write_uint(w, COND_WINDOWS);
		vouch_cbor_write_array(w, p->n_windows);
		for (size_t i = 0; i < p->n_windows; i++) {
			vouch_cbor_write_array(w, 3);
			vouch_cbor_write_uint(w, p->windows[i].days);
			vouch_cbor_write_uint(w, p->windows[i].start_min);
			vouch_cbor_write_uint(w, p->windows[i].end_min);
		}
	}
	if (p->person_zone != NULL) {
		vouch_cbor_write_uint(w, COND_PERSON_ZONE);
		vouch_cbor_write_cstr(w, p->person_zone);
	}
	if (p->n_readings > 0) {
		vouch_cbor_write_uint(w, COND_READINGS);
		vouch_cbor_write_array(w, p->n_readings);
		for (size_t i = 0; i < p->n_readings; i++) {
			vouch_cbor_write_array(w, 3);
			vouch_cbor_write_cstr(w, p->readings[i].name);
			vouch_cbor_write_uint(w, (uint64_t)p->readings[i].op);
			write_number(w, p->readings[i].value);
		}
	}
}

/* A permission travels as a bstr holding its encoding, so that a decision steps over one that
 * does not apply as a single item. This form sizes the body first (two encodings of it). */
static void write_perm_sized(struct vouch_cbor_writer *w, const struct vouch_policy_perm *p)
{
	struct vouch_cbor_writer count;

	vouch_cbor_writer_init(&count, NULL, 0);
	write_perm_body(&count, p);
	vouch_cbor_write_bstr_head(w, count.len);
	write_perm_body(w, p);
}

/* The longest bstr head a body under VOUCH_POLICY_ENCODED_MAX can need (major type 2, 4-byte
 * length). */
#define PERM_HEAD_MAX 5

/*
 * The same bytes in one encoding of the body: it is written behind room for the longest head,
 * then slid down behind the head it needs. Credential issuance compiles and encodes a person's
 * permissions on every first request, so this halves the encoder's share of it. Near the end of
 * the buffer the reserved room can make it report VOUCH_ERR_BUFFER when the exact form would
 * fit; vouch_policy_encode() then falls back to write_perm_sized().
 */
static void write_perm(struct vouch_cbor_writer *w, const struct vouch_policy_perm *p)
{
	struct vouch_cbor_writer body, head;
	uint8_t head_buf[PERM_HEAD_MAX];

	if (w->err != VOUCH_OK)
		return;
	if (w->buf == NULL) {
		write_perm_sized(w, p);
		return;
	}
	if (w->cap - w->len < PERM_HEAD_MAX) {
		w->err = VOUCH_ERR_BUFFER;
		return;
	}
	vouch_cbor_writer_init(&body, w->buf + w->len + PERM_HEAD_MAX,
	                       w->cap - w->len - PERM_HEAD_MAX);
	write_perm_body(&body, p);
	if (body.err != VOUCH_OK) {
		w->err = body.err;
		return;
	}
	vouch_cbor_writer_init(&head, head_buf, sizeof(head_buf));
	vouch_cbor_write_bstr_head(&head, body.len);
	if (head.err != VOUCH_OK) {
		w->err = head.err;
		return;
	}
	memmove(w->buf + w->len + head.len, w->buf + w->len + PERM_HEAD_MAX, body.len);
	memcpy(w->buf + w->len, head_buf, head.len);
	w->len += head.len + body.len;
}

static void write_set(struct vouch_cbor_writer *w, const struct vouch_policy_set *set,
                      bool exact)
{
	vouch_cbor_write_array(w, TOP_ITEMS);
	vouch_cbor_write_uint(w, VOUCH_POLICY_FORMAT);
	vouch_cbor_write_cstr(w, set->tz);
	vouch_cbor_write_array(w, set->n_roles);
	for (size_t i = 0; i < set->n_roles; i++)
		vouch_cbor_write_cstr(w, set->roles[i]);
	vouch_cbor_write_array(w, set->n_perms);
	for (size_t i = 0; i < set->n_perms; i++) {
		if (exact)
			write_perm_sized(w, &set->perms[i]);
		else
			write_perm(w, &set->perms[i]);
	}
}

int vouch_policy_encode(const struct vouch_policy_set *set, uint8_t *buf, size_t cap, size_t *len)
{
	struct vouch_cbor_writer w;
	size_t need = 0;
	int rc = VOUCH_ERR_INTERNAL;

	if (len != NULL)
		*len = 0;
	if (set == NULL || len == NULL || (buf == NULL && cap > 0))
		return VOUCH_ERR_INVALID;
	if (!set_ok(set))
		return VOUCH_ERR_INVALID;

	/* The common case: one encoding straight into a buffer that is big enough. */
	if (buf != NULL) {
		vouch_cbor_writer_init(&w, buf, cap);
		write_set(&w, set, false);
		rc = vouch_cbor_writer_finish(&w, len);
		if (rc == VOUCH_OK && *len <= VOUCH_POLICY_ENCODED_MAX)
			return VOUCH_OK;
		*len = 0;
		if (rc != VOUCH_OK && rc != VOUCH_ERR_BUFFER)
			return rc;
	}

	/* Size it: a set over the encoded limit is refused whatever the buffer. */
	vouch_cbor_writer_init(&w, NULL, 0);
	write_set(&w, set, true);
	rc = vouch_cbor_writer_finish(&w, &need);
	if (rc != VOUCH_OK)
		return rc;
	if (need > VOUCH_POLICY_ENCODED_MAX)
		return VOUCH_ERR_INVALID;
	if (need > cap) {
		*len = need;
		return VOUCH_ERR_BUFFER;
	}
	/* It fits exactly where the one-pass form's reserved room did not. */
	vouch_cbor_writer_init(&w, buf, cap);
	write_set(&w, set, true);
	return vouch_cbor_writer_finish(&w, len);
}

/* ---- reading ---- */

struct str {
	const char *p; /* NULL: absent */
	size_t len;
};

struct reading_cond {
	struct str name;
	enum vouch_policy_op op;
	double value;
};

/* One permission as read from the view: pointers into the buffer, fixed size. */
struct perm {
	bool deny;
	unsigned role;
	struct str zone, type, id;
	struct str tags[VOUCH_POLICY_MAX_TAGS];
	size_t n_tags;
	uint32_t actions;
	bool has_from, has_until, has_training;
	int64_t valid_from, valid_until, training_expires;
	struct str training;
	struct vouch_policy_window windows[VOUCH_POLICY_MAX_WINDOWS];
	size_t n_windows;
	struct str person_zone;
	struct reading_cond readings[VOUCH_POLICY_MAX_READINGS];
	size_t n_readings;
};

/*
 * The reader and whether to check every name's contents and every range. view_init checks all;
 * decide and explain walk a view that view_init checked and skip the content checks (not the
 * counts, which bound the arrays of struct perm, and not the map keys).
 */
struct parser {
	struct vouch_cbor_reader r;
	bool check;
};

/* A reader error inside a validated buffer is a wrong type or a value out of range. */
static int fmt(int rc)
{
	return rc == VOUCH_OK ? VOUCH_OK : VOUCH_ERR_POLICY_FORMAT;
}

static int read_uint_max(struct parser *ps, uint64_t max, uint64_t *v)
{
	int rc = fmt(vouch_cbor_read_uint(&ps->r, v));

	if (rc == VOUCH_OK && *v > max)
		rc = VOUCH_ERR_POLICY_FORMAT;
	return rc;
}

static int read_name(struct parser *ps, struct str *s)
{
	int rc = fmt(vouch_cbor_read_tstr(&ps->r, &s->p, &s->len));

	if (rc != VOUCH_OK)
		return rc;
	if (!ps->check)
		return VOUCH_OK;
	if (s->len > VOUCH_POLICY_NAME_MAX)
		return VOUCH_ERR_CBOR_LIMIT;
	return name_ok(s->p, s->len) ? VOUCH_OK : VOUCH_ERR_POLICY_FORMAT;
}

static int read_zone(struct parser *ps, bool at_resource_ok, struct str *s)
{
	int rc = read_name(ps, s);

	if (rc != VOUCH_OK || !ps->check)
		return rc;
	if (zone_ok(s->p, s->len) || (at_resource_ok && is_at_resource(s->p, s->len)))
		return VOUCH_OK;
	return VOUCH_ERR_POLICY_FORMAT;
}

/* An array of 1..max items (more: a limit, none: not what the format writes). */
static int read_list(struct parser *ps, size_t max, size_t *n)
{
	int rc = fmt(vouch_cbor_read_array(&ps->r, n));

	if (rc != VOUCH_OK)
		return rc;
	if (*n > max)
		return VOUCH_ERR_CBOR_LIMIT;
	return *n == 0 ? VOUCH_ERR_POLICY_FORMAT : VOUCH_OK;
}

static int read_tuple(struct parser *ps, size_t want)
{
	size_t n;
	int rc = fmt(vouch_cbor_read_array(&ps->r, &n));

	if (rc == VOUCH_OK && n != want)
		rc = VOUCH_ERR_POLICY_FORMAT;
	return rc;
}

/* The next key of a map whose keys are 1..last in strictly ascending order. */
static int read_key(struct parser *ps, uint64_t last, uint64_t *prev, uint64_t *key)
{
	int rc = read_uint_max(ps, last, key);

	if (rc == VOUCH_OK && *key <= *prev)
		rc = VOUCH_ERR_POLICY_FORMAT;
	*prev = *key;
	return rc;
}

static int read_selector(struct parser *ps, struct perm *p)
{
	uint64_t key, prev = 0;
	size_t n;
	int rc = fmt(vouch_cbor_read_map(&ps->r, &n));

	if (rc != VOUCH_OK)
		return rc;
	if (n > SEL_LAST)
		return VOUCH_ERR_POLICY_FORMAT;
	for (size_t i = 0; i < n; i++) {
		rc = read_key(ps, SEL_LAST, &prev, &key);
		if (rc != VOUCH_OK)
			return rc;
		switch (key) {
		case SEL_ZONE:
			rc = read_zone(ps, false, &p->zone);
			break;
		case SEL_TYPE:
			rc = read_name(ps, &p->type);
			break;
		case SEL_ID:
			rc = read_name(ps, &p->id);
			break;
		default:
			rc = read_list(ps, VOUCH_POLICY_MAX_TAGS, &p->n_tags);
			for (size_t j = 0; rc == VOUCH_OK && j < p->n_tags; j++)
				rc = read_name(ps, &p->tags[j]);
			break;
		}
		if (rc != VOUCH_OK)
			return rc;
	}
	return VOUCH_OK;
}

static int read_window(struct parser *ps, struct vouch_policy_window *win)
{
	uint64_t days, start, end;
	int rc = read_tuple(ps, 3);

	if (rc == VOUCH_OK)
		rc = read_uint_max(ps, ALL_DAYS, &days);
	if (rc == VOUCH_OK)
		rc = read_uint_max(ps, MINUTES_DAY, &start);
	if (rc == VOUCH_OK)
		rc = read_uint_max(ps, MINUTES_DAY, &end);
	if (rc != VOUCH_OK)
		return rc;
	if (!window_ok((unsigned)days, (unsigned)start, (unsigned)end))
		return VOUCH_ERR_POLICY_FORMAT;
	*win = (struct vouch_policy_window){(uint8_t)days, (uint16_t)start, (uint16_t)end};
	return VOUCH_OK;
}

static int read_reading_cond(struct parser *ps, struct reading_cond *c)
{
	enum vouch_cbor_type type;
	uint64_t op;
	int64_t i;
	int rc = read_tuple(ps, 3);

	if (rc == VOUCH_OK)
		rc = read_name(ps, &c->name);
	if (rc == VOUCH_OK)
		rc = read_uint_max(ps, VOUCH_POLICY_NE, &op);
	if (rc == VOUCH_OK)
		rc = fmt(vouch_cbor_peek(&ps->r, &type));
	if (rc != VOUCH_OK)
		return rc;
	c->op = (enum vouch_policy_op)op;
	if (type == VOUCH_CBOR_FLOAT) {
		rc = fmt(vouch_cbor_read_float(&ps->r, &c->value));
		if (rc == VOUCH_OK && !isfinite(c->value))
			rc = VOUCH_ERR_POLICY_FORMAT;
	} else {
		rc = fmt(vouch_cbor_read_int(&ps->r, &i));
		c->value = (double)i;
	}
	return rc;
}

static int read_conditions(struct parser *ps, struct perm *p)
{
	uint64_t key, prev = 0;
	size_t n;
	int rc = fmt(vouch_cbor_read_map(&ps->r, &n));

	if (rc != VOUCH_OK)
		return rc;
	if (n > COND_LAST)
		return VOUCH_ERR_POLICY_FORMAT;
	for (size_t i = 0; i < n; i++) {
		rc = read_key(ps, COND_LAST, &prev, &key);
		if (rc != VOUCH_OK)
			return rc;
		switch (key) {
		case COND_VALID_FROM:
		case COND_VALID_UNTIL: {
			int64_t *t = key == COND_VALID_FROM ? &p->valid_from : &p->valid_until;

			rc = fmt(vouch_cbor_read_int(&ps->r, t));
			/* 0 means unbounded in the struct: the encoder never writes it. */
			if (rc == VOUCH_OK && *t == 0)
				rc = VOUCH_ERR_POLICY_FORMAT;
			*(key == COND_VALID_FROM ? &p->has_from : &p->has_until) = true;
			break;
		}
		case COND_TRAINING:
			rc = read_tuple(ps, 2);
			if (rc == VOUCH_OK)
				rc = read_name(ps, &p->training);
			if (rc == VOUCH_OK)
				rc = fmt(vouch_cbor_read_int(&ps->r, &p->training_expires));
			p->has_training = true;
			break;
		case COND_WINDOWS:
			rc = read_list(ps, VOUCH_POLICY_MAX_WINDOWS, &p->n_windows);
			for (size_t j = 0; rc == VOUCH_OK && j < p->n_windows; j++)
				rc = read_window(ps, &p->windows[j]);
			break;
		case COND_PERSON_ZONE:
			rc = read_zone(ps, true, &p->person_zone);
			break;
		default:
			rc = read_list(ps, VOUCH_POLICY_MAX_READINGS, &p->n_readings);
			for (size_t j = 0; rc == VOUCH_OK && j < p->n_readings; j++)
				rc = read_reading_cond(ps, &p->readings[j]);
			break;
		}
		if (rc != VOUCH_OK)
			return rc;
	}
	return VOUCH_OK;
}

/*
 * Start reading the permission in the bstr at outer's position: ps reads inside it. Up to the
 * actions; n_roles bounds the role index. Only the scalars of p are reset here (the arrays are
 * filled up to their counts), which keeps this cheap for the many permissions a decision skips.
 */
static int perm_read_head(struct vouch_cbor_reader *outer, struct parser *ps, size_t n_roles,
                          struct perm *p)
{
	const uint8_t *body;
	size_t body_len;
	uint64_t effect, role, actions;
	int rc = fmt(vouch_cbor_read_bstr(outer, &body, &body_len));

	if (rc != VOUCH_OK)
		return rc;
	/* view_init validates the body as CBOR of its own; afterwards it is trusted. */
	if (ps->check) {
		rc = vouch_cbor_validate(body, body_len, NULL);
		if (rc != VOUCH_OK)
			return rc;
	}
	vouch_cbor_reader_init(&ps->r, body, body_len);
	p->zone.p = p->type.p = p->id.p = p->training.p = p->person_zone.p = NULL;
	p->n_tags = p->n_windows = p->n_readings = 0;
	p->has_from = p->has_until = p->has_training = false;
	rc = read_tuple(ps, PERM_ITEMS);
	if (rc == VOUCH_OK)
		rc = read_uint_max(ps, 1, &effect);
	if (rc == VOUCH_OK)
		rc = read_uint_max(ps, n_roles > 0 ? n_roles - 1 : 0, &role);
	if (rc == VOUCH_OK && n_roles == 0)
		rc = VOUCH_ERR_POLICY_FORMAT;
	if (rc == VOUCH_OK)
		rc = read_uint_max(ps, VOUCH_ACTION_ALL, &actions);
	if (rc == VOUCH_OK && actions == 0)
		rc = VOUCH_ERR_POLICY_FORMAT;
	if (rc != VOUCH_OK)
		return rc;
	p->deny = effect == 1;
	p->role = (unsigned)role;
	p->actions = (uint32_t)actions;
	return VOUCH_OK;
}

/* A whole permission, and nothing after it inside its bstr. */
static int perm_read(struct vouch_cbor_reader *outer, struct parser *ps, size_t n_roles,
                     struct perm *p)
{
	int rc = perm_read_head(outer, ps, n_roles, p);

	if (rc == VOUCH_OK)
		rc = read_selector(ps, p);
	if (rc == VOUCH_OK)
		rc = read_conditions(ps, p);
	if (rc == VOUCH_OK && !vouch_cbor_reader_done(&ps->r))
		rc = VOUCH_ERR_POLICY_FORMAT;
	return rc;
}

int vouch_policy_view_init(struct vouch_policy_view *v, const uint8_t *buf, size_t len)
{
	const struct vouch_cbor_limits limits = {
	    .max_depth = VOUCH_CBOR_MAX_DEPTH,
	    .max_items = VOUCH_CBOR_MAX_ITEMS,
	    .max_map_entries = VOUCH_CBOR_MAX_MAP,
	    .max_len = VOUCH_POLICY_ENCODED_MAX,
	};
	struct parser ps = {{NULL, 0, 0}, true};
	struct vouch_cbor_reader top, *r = &top;
	struct vouch_policy_view view;
	struct perm p;
	struct str tz, role;
	uint64_t version;
	size_t n, start;
	int rc = VOUCH_ERR_INTERNAL;

	if (v != NULL)
		memset(v, 0, sizeof(*v));
	if (v == NULL || (buf == NULL && len > 0))
		return VOUCH_ERR_INVALID;
	rc = vouch_cbor_validate(buf, len, &limits);
	if (rc != VOUCH_OK)
		return rc;

	memset(&view, 0, sizeof(view));
	vouch_cbor_reader_init(r, buf, len);
	rc = fmt(vouch_cbor_read_array(r, &n));
	if (rc == VOUCH_OK && n == 0)
		rc = VOUCH_ERR_POLICY_FORMAT;
	if (rc == VOUCH_OK)
		rc = fmt(vouch_cbor_read_uint(r, &version));
	if (rc != VOUCH_OK)
		return rc;
	/* Another version may be shaped differently: say so before looking at the rest. */
	if (version != VOUCH_POLICY_FORMAT)
		return VOUCH_ERR_UNSUPPORTED;
	if (n != TOP_ITEMS)
		return VOUCH_ERR_POLICY_FORMAT;

	rc = fmt(vouch_cbor_read_tstr(r, &tz.p, &tz.len));
	if (rc != VOUCH_OK)
		return rc;
	if (!tz_ok(tz.p, tz.len, &view.tz))
		return VOUCH_ERR_POLICY_FORMAT;

	rc = fmt(vouch_cbor_read_array(r, &view.n_roles));
	if (rc != VOUCH_OK)
		return rc;
	if (view.n_roles > VOUCH_POLICY_MAX_ROLES)
		return VOUCH_ERR_CBOR_LIMIT;
	start = r->pos;
	for (size_t i = 0; i < view.n_roles; i++) {
		ps.r = top;
		rc = read_name(&ps, &role);
		top = ps.r;
		if (rc != VOUCH_OK)
			return rc;
	}
	view.roles = buf + start;
	view.roles_len = r->pos - start;

	rc = fmt(vouch_cbor_read_array(r, &view.n_perms));
	if (rc != VOUCH_OK)
		return rc;
	if (view.n_perms > VOUCH_POLICY_MAX_PERMS)
		return VOUCH_ERR_CBOR_LIMIT;
	start = r->pos;
	for (size_t i = 0; i < view.n_perms; i++) {
		rc = perm_read(r, &ps, view.n_roles, &p);
		if (rc != VOUCH_OK)
			return rc;
	}
	view.perms = buf + start;
	view.perms_len = r->pos - start;
	if (!vouch_cbor_reader_done(r))
		return VOUCH_ERR_POLICY_FORMAT;

	view.buf = buf;
	view.len = len;
	*v = view;
	return VOUCH_OK;
}

/* ---- deciding ---- */

/* Whether c begins with the len bytes at p; never reads c past its NUL. */
static bool has_prefix(const char *c, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (c[i] == '\0' || c[i] != p[i])
			return false;
	return true;
}

static bool str_is(const struct str *s, const char *c)
{
	return c != NULL && has_prefix(c, s->p, s->len) && c[s->len] == '\0';
}

/* path is zone or below it: "a/b" is within "a" and "a/b", not within "a/bc". */
static bool within(const char *path, const char *zone, size_t zone_len)
{
	return path != NULL && has_prefix(path, zone, zone_len) &&
	       (path[zone_len] == '\0' || path[zone_len] == '/');
}

static bool selector_matches(const struct perm *p, const struct vouch_policy_resource *res)
{
	if (p->zone.p != NULL && !within(res->zone, p->zone.p, p->zone.len))
		return false;
	if (p->type.p != NULL && !str_is(&p->type, res->type))
		return false;
	if (p->id.p != NULL && !str_is(&p->id, res->id))
		return false;
	for (size_t i = 0; i < p->n_tags; i++) {
		bool found = false;

		for (size_t j = 0; !found && res->tags != NULL && j < res->n_tags; j++)
			found = str_is(&p->tags[i], res->tags[j]);
		if (!found)
			return false;
	}
	return true;
}

/* The request's local time, computed once per decision and only when a window asks. */
struct clock {
	bool done;
	int rc;
	struct vouch_tz_tm tm;
};

static const struct vouch_tz_tm *local_now(const struct vouch_policy_view *v, int64_t now,
                                           struct clock *c)
{
	if (!c->done) {
		c->rc = vouch_tz_local(&v->tz, now, &c->tm);
		c->done = true;
	}
	return c->rc == VOUCH_OK ? &c->tm : NULL;
}

static bool window_matches(const struct vouch_policy_window *w, const struct vouch_tz_tm *tm)
{
	unsigned today = 1u << tm->wday, yesterday = 1u << ((tm->wday + 6) % 7);

	if (w->end_min > w->start_min)
		return (w->days & today) && tm->minute_of_day >= w->start_min &&
		       tm->minute_of_day < w->end_min;
	/* Wraps past midnight: the part after the start on a listed day, and the part before
	 * the end on the day after one. */
	return ((w->days & today) && tm->minute_of_day >= w->start_min) ||
	       ((w->days & yesterday) && tm->minute_of_day < w->end_min);
}

static const struct vouch_policy_window *matching_window(const struct perm *p,
                                                         const struct vouch_tz_tm *tm)
{
	for (size_t i = 0; tm != NULL && i < p->n_windows; i++)
		if (window_matches(&p->windows[i], tm))
			return &p->windows[i];
	return NULL;
}

/* The zone the person must be within: the condition's, or the resource's for "@resource"
 * (NULL when the resource has none). */
static const char *required_zone(const struct perm *p, const struct vouch_policy_request *req,
                                 size_t *len)
{
	if (is_at_resource(p->person_zone.p, p->person_zone.len)) {
		*len = req->resource->zone != NULL ? strlen(req->resource->zone) : 0;
		return req->resource->zone;
	}
	*len = p->person_zone.len;
	return p->person_zone.p;
}

static const struct vouch_policy_reading *find_reading(const struct vouch_policy_request *req,
                                                       const struct str *name)
{
	for (size_t i = 0; req->readings != NULL && i < req->n_readings; i++)
		if (str_is(name, req->readings[i].name))
			return &req->readings[i];
	return NULL;
}

static bool compare(double x, enum vouch_policy_op op, double y)
{
	switch (op) {
	case VOUCH_POLICY_LT:
		return x < y;
	case VOUCH_POLICY_LE:
		return x <= y;
	case VOUCH_POLICY_GT:
		return x > y;
	case VOUCH_POLICY_GE:
		return x >= y;
	case VOUCH_POLICY_EQ:
		return x == y;
	default:
		return x != y;
	}
}

/* How far p's conditions get; on a failure, its reason and the failing reading's index. */
static enum stage evaluate(const struct vouch_policy_view *v, const struct perm *p,
                           const struct vouch_policy_request *req, struct clock *clk,
                           enum vouch_policy_reason *reason, int *detail)
{
	*detail = -1;
	if (p->has_from && req->now < p->valid_from) {
		*reason = VOUCH_POLICY_DENY_NOT_YET_VALID;
		return STAGE_VALIDITY;
	}
	if (p->has_until && req->now >= p->valid_until) {
		*reason = VOUCH_POLICY_DENY_EXPIRED;
		return STAGE_VALIDITY;
	}
	if (p->has_training && req->now >= p->training_expires) {
		*reason = VOUCH_POLICY_DENY_TRAINING;
		return STAGE_TRAINING;
	}
	if (p->n_windows > 0 && matching_window(p, local_now(v, req->now, clk)) == NULL) {
		*reason = VOUCH_POLICY_DENY_TIME;
		return STAGE_TIME;
	}
	if (p->person_zone.p != NULL) {
		size_t zlen;
		const char *zone = required_zone(p, req, &zlen);

		if (zone == NULL || !within(req->person_zone, zone, zlen)) {
			*reason = VOUCH_POLICY_DENY_ZONE;
			return STAGE_ZONE;
		}
	}
	for (size_t i = 0; i < p->n_readings; i++) {
		const struct vouch_policy_reading *rd = find_reading(req, &p->readings[i].name);

		*detail = (int)i;
		if (rd == NULL || isnan(rd->value)) {
			*reason = VOUCH_POLICY_DENY_READING_MISSING;
			return STAGE_READINGS;
		}
		if (!compare(rd->value, p->readings[i].op, p->readings[i].value)) {
			*reason = VOUCH_POLICY_DENY_READING;
			return STAGE_READINGS;
		}
	}
	*detail = -1;
	*reason = VOUCH_POLICY_PERMIT;
	return STAGE_ALL;
}

int vouch_policy_decide(const struct vouch_policy_view *v, const struct vouch_policy_request *req,
                        struct vouch_policy_decision *out)
{
	struct parser ps = {{NULL, 0, 0}, false};
	struct vouch_cbor_reader outer;
	struct clock clk = {false, 0, {0}};
	struct perm p;
	struct vouch_policy_decision best = {false, VOUCH_POLICY_DENY_NO_GRANT, -1, -1};
	int permit = -1, best_stage = -1, detail, rc = VOUCH_ERR_INTERNAL;
	enum vouch_policy_reason reason;
	enum stage stage;

	if (out != NULL)
		*out = best;
	if (v == NULL || req == NULL || out == NULL || req->resource == NULL ||
	    !one_known_action(req->action))
		return VOUCH_ERR_INVALID;

	vouch_cbor_reader_init(&outer, v->perms, v->perms_len);
	for (size_t i = 0; i < v->n_perms; i++) {
		/* The view was validated: a failure here means it was not (or was changed). A
		 * permission that does not apply is left as soon as that is known. */
		rc = perm_read_head(&outer, &ps, v->n_roles, &p);
		if (rc == VOUCH_OK && (p.actions & req->action) == 0)
			continue;
		if (rc == VOUCH_OK)
			rc = read_selector(&ps, &p);
		if (rc == VOUCH_OK && !selector_matches(&p, req->resource))
			continue;
		if (rc == VOUCH_OK)
			rc = read_conditions(&ps, &p);
		if (rc != VOUCH_OK)
			return VOUCH_ERR_POLICY_FORMAT;
		stage = evaluate(v, &p, req, &clk, &reason, &detail);
		if (p.deny) {
			/* Deny overrides: the first deny that holds decides, nothing else can. */
			if (stage == STAGE_ALL) {
				*out = (struct vouch_policy_decision){false, VOUCH_POLICY_DENY_RULE,
				                                      (int)i, -1};
				return VOUCH_OK;
			}
			continue;
		}
		if (stage == STAGE_ALL) {
			if (permit < 0)
				permit = (int)i;
		} else if ((int)stage > best_stage) {
			best_stage = (int)stage;
			best = (struct vouch_policy_decision){false, reason, (int)i, detail};
		}
	}
	if (permit >= 0)
		best = (struct vouch_policy_decision){true, VOUCH_POLICY_PERMIT, permit, -1};
	*out = best;
	return VOUCH_OK;
}

/* ---- explaining ---- */

struct text {
	char *buf;
	size_t cap, len;
	bool truncated;
};

static void put(struct text *t, const char *f, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *f, ...)
{
	va_list ap;
	int n;

	if (t->truncated)
		return;
	va_start(ap, f);
	n = vsnprintf(t->buf + t->len, t->cap - t->len, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len) {
		t->truncated = true;
		t->len = t->cap - 1;
		t->buf[t->len] = '\0';
		return;
	}
	t->len += (size_t)n;
}

static void put_str(struct text *t, const struct str *s)
{
	put(t, "%.*s", (int)s->len, s->p);
}

static void put_time(struct text *t, int64_t when)
{
	static const struct vouch_tz utc = {.std_abbr = "UTC"};
	struct vouch_tz_tm tm;

	if (vouch_tz_local(&utc, when, &tm) != VOUCH_OK) {
		put(t, "@%lld", (long long)when);
		return;
	}
	put(t, "%04d-%02u-%02uT%02u:%02u:%02uZ", tm.year, tm.month, tm.mday, tm.minute_of_day / 60u,
	    tm.minute_of_day % 60u, tm.second);
}

/* Days as runs: "Mon-Fri", "Mon,Wed,Sat-Sun". */
static void put_days(struct text *t, unsigned days)
{
	bool first = true;

	for (unsigned d = 0; d < 7; d++) {
		unsigned e = d;

		if (!(days & (1u << d)))
			continue;
		while (e + 1 < 7 && (days & (1u << (e + 1))))
			e++;
		put(t, "%s%s", first ? "" : ",", day_names[d]);
		if (e > d)
			put(t, "-%s", day_names[e]);
		first = false;
		d = e;
	}
}

static void put_window(struct text *t, const struct vouch_policy_window *w)
{
	put_days(t, w->days);
	put(t, " %02u:%02u-%02u:%02u", w->start_min / 60u, w->start_min % 60u, w->end_min / 60u,
	    w->end_min % 60u);
}

static void put_local(struct text *t, const struct vouch_tz_tm *tm)
{
	if (tm == NULL) {
		put(t, "out of range");
		return;
	}
	put(t, "%s %02u:%02u %s", day_names[tm->wday], tm->minute_of_day / 60u,
	    tm->minute_of_day % 60u, tm->abbr);
}

static void put_selector(struct text *t, const struct perm *p)
{
	const char *sep = "";

	if (p->type.p != NULL) {
		put(t, "type=");
		put_str(t, &p->type);
		sep = " ";
	}
	if (p->id.p != NULL) {
		put(t, "%sid=", sep);
		put_str(t, &p->id);
		sep = " ";
	}
	if (p->zone.p != NULL) {
		put(t, "%szone=", sep);
		put_str(t, &p->zone);
		sep = " ";
	}
	for (size_t i = 0; i < p->n_tags; i++) {
		put(t, "%s", i == 0 ? sep : ",");
		if (i == 0)
			put(t, "tags=");
		put_str(t, &p->tags[i]);
	}
	if (p->type.p == NULL && p->id.p == NULL && p->zone.p == NULL && p->n_tags == 0)
		put(t, "any resource");
}

static void put_resource(struct text *t, const struct vouch_policy_resource *res)
{
	put(t, "id=%s type=%s zone=%s", res->id ? res->id : "-", res->type ? res->type : "-",
	    res->zone ? res->zone : "-");
	for (size_t i = 0; res->tags != NULL && i < res->n_tags; i++)
		put(t, "%s%s", i == 0 ? " tags=" : ",", res->tags[i] ? res->tags[i] : "-");
}

static void put_zone_needed(struct text *t, const struct perm *p,
                            const struct vouch_policy_request *req)
{
	size_t zlen;
	const char *zone = required_zone(p, req, &zlen);

	if (zone == NULL)
		put(t, "the resource's zone, which is not known");
	else
		put(t, "%.*s", (int)zlen, zone);
}

/* The conditions of a permission that holds, each with the values that made it hold. */
static void put_held(struct text *t, const struct vouch_policy_view *v, const struct perm *p,
                     const struct vouch_policy_request *req)
{
	struct clock clk = {false, 0, {0}};

	if (p->has_from) {
		put(t, ", valid from ");
		put_time(t, p->valid_from);
	}
	if (p->has_until) {
		put(t, ", valid until ");
		put_time(t, p->valid_until);
	}
	if (p->has_training) {
		put(t, ", training \"");
		put_str(t, &p->training);
		put(t, "\" valid until ");
		put_time(t, p->training_expires);
	}
	if (p->n_windows > 0) {
		const struct vouch_tz_tm *tm = local_now(v, req->now, &clk);
		const struct vouch_policy_window *w = matching_window(p, tm);

		put(t, ", window ");
		if (w != NULL)
			put_window(t, w);
		put(t, " (now ");
		put_local(t, tm);
		put(t, ")");
	}
	if (p->person_zone.p != NULL) {
		put(t, ", person in %s (within ", req->person_zone ? req->person_zone : "-");
		put_zone_needed(t, p, req);
		put(t, ")");
	}
	for (size_t i = 0; i < p->n_readings; i++) {
		const struct vouch_policy_reading *rd = find_reading(req, &p->readings[i].name);

		put(t, ", reading ");
		put_str(t, &p->readings[i].name);
		if (rd != NULL)
			put(t, "=%g", rd->value);
		put(t, " %s %g", op_names[p->readings[i].op], p->readings[i].value);
	}
}

/* Why a permit permission did not hold (the reason and detail were checked against p). */
static void put_failure(struct text *t, const struct vouch_policy_view *v, const struct perm *p,
                        const struct vouch_policy_request *req,
                        const struct vouch_policy_decision *d)
{
	struct clock clk = {false, 0, {0}};
	const struct reading_cond *c;
	const struct vouch_policy_reading *rd;

	put(t, " but ");
	switch (d->reason) {
	case VOUCH_POLICY_DENY_NOT_YET_VALID:
		put(t, "it is valid only from ");
		put_time(t, p->valid_from);
		break;
	case VOUCH_POLICY_DENY_EXPIRED:
		put(t, "it expired at ");
		put_time(t, p->valid_until);
		break;
	case VOUCH_POLICY_DENY_TRAINING:
		put(t, "training \"");
		put_str(t, &p->training);
		put(t, "\" expired at ");
		put_time(t, p->training_expires);
		break;
	case VOUCH_POLICY_DENY_TIME:
		put(t, "now is ");
		put_local(t, local_now(v, req->now, &clk));
		put(t, ", outside window%s ", p->n_windows > 1 ? "s" : "");
		for (size_t i = 0; i < p->n_windows; i++) {
			if (i > 0)
				put(t, ", ");
			put_window(t, &p->windows[i]);
		}
		return;
	case VOUCH_POLICY_DENY_ZONE:
		if (req->person_zone == NULL)
			put(t, "the person's zone is not known (needs ");
		else
			put(t, "the person is in %s, not within ", req->person_zone);
		put_zone_needed(t, p, req);
		if (req->person_zone == NULL)
			put(t, ")");
		return;
	default: /* the reading reasons */
		c = &p->readings[d->detail];
		rd = find_reading(req, &c->name);
		put(t, "reading ");
		put_str(t, &c->name);
		if (d->reason == VOUCH_POLICY_DENY_READING) {
			put(t, "=%g is not %s %g", rd ? rd->value : NAN, op_names[c->op], c->value);
			return;
		}
		put(t, " is %s (needs ", rd ? "not a number" : "missing");
		put_str(t, &c->name);
		put(t, " %s %g)", op_names[c->op], c->value);
		return;
	}
	put(t, " (now ");
	put_time(t, req->now);
	put(t, ")");
}

/* The permission at index and its role's name. */
static int find_perm(const struct vouch_policy_view *v, size_t index, struct perm *p,
                     struct str *role)
{
	struct parser ps = {{NULL, 0, 0}, true};
	struct vouch_cbor_reader outer;
	int rc = VOUCH_ERR_INTERNAL;

	vouch_cbor_reader_init(&outer, v->perms, v->perms_len);
	for (size_t i = 0; i < index; i++)
		if (vouch_cbor_skip(&outer) != VOUCH_OK)
			return VOUCH_ERR_POLICY_FORMAT;
	rc = perm_read(&outer, &ps, v->n_roles, p);
	if (rc != VOUCH_OK)
		return VOUCH_ERR_POLICY_FORMAT;
	vouch_cbor_reader_init(&ps.r, v->roles, v->roles_len);
	for (size_t i = 0; i <= p->role; i++) {
		rc = read_name(&ps, role);
		if (rc != VOUCH_OK)
			return VOUCH_ERR_POLICY_FORMAT;
	}
	return VOUCH_OK;
}

int vouch_policy_explain(const struct vouch_policy_view *v, const struct vouch_policy_request *req,
                         const struct vouch_policy_decision *d, char *buf, size_t cap)
{
	struct text t = {buf, cap, 0, false};
	const char *action;
	struct perm p;
	struct str role;
	int rc = VOUCH_ERR_INTERNAL;

	if (buf != NULL && cap > 0)
		buf[0] = '\0';
	if (v == NULL || req == NULL || d == NULL || buf == NULL || cap == 0 ||
	    req->resource == NULL || !one_known_action(req->action) ||
	    vouch_policy_reason_name(d->reason) == NULL ||
	    d->permit != (d->reason == VOUCH_POLICY_PERMIT))
		return VOUCH_ERR_INVALID;
	action = vouch_policy_action_name(req->action);

	if (d->reason == VOUCH_POLICY_DENY_NO_GRANT) {
		if (d->perm != -1)
			return VOUCH_ERR_INVALID;
		put(&t, "deny: no role grants %s on ", action);
		put_resource(&t, req->resource);
		return t.truncated ? VOUCH_ERR_BUFFER : VOUCH_OK;
	}
	if (d->perm < 0 || (size_t)d->perm >= v->n_perms)
		return VOUCH_ERR_INVALID;
	rc = find_perm(v, (size_t)d->perm, &p, &role);
	if (rc != VOUCH_OK)
		return rc;
	if ((d->reason == VOUCH_POLICY_DENY_RULE) != p.deny)
		return VOUCH_ERR_INVALID;
	if (d->reason == VOUCH_POLICY_DENY_READING || d->reason == VOUCH_POLICY_DENY_READING_MISSING
	        ? d->detail < 0 || (size_t)d->detail >= p.n_readings
	        : d->detail != -1)
		return VOUCH_ERR_INVALID;

	put(&t, "%s: role \"", d->permit ? "permit" : "deny");
	put_str(&t, &role);
	put(&t, "\" %s %s on ", p.deny ? "denies" : "grants", action);
	put_selector(&t, &p);
	if (d->reason == VOUCH_POLICY_PERMIT || d->reason == VOUCH_POLICY_DENY_RULE)
		put_held(&t, v, &p, req);
	else
		put_failure(&t, v, &p, req, d);
	return t.truncated ? VOUCH_ERR_BUFFER : VOUCH_OK;
}
