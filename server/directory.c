/*
 * The directory (directory.h, docs/directory.md): the schemas of zones, resources, trainings,
 * roles and users, their references, the policy document, and compiling a user's roles into the
 * permissions of include/vouch/policy.h.
 *
 * Validation is strict on purpose: an unknown member, a misspelt action or a window that can
 * never be open is refused with the path of the offending value, because a grant that silently
 * means something else than its author thought is worse than an error. References are checked
 * against the store inside a transaction, so that the check and the write see the same state.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "vouch/tz.h"

#define WHERE_MAX      128
#define TEXT_MAX       1024 /* description, display name, company */
#define RES_TAGS_MAX   32   /* tags of one resource */
#define USER_TRAIN_MAX 64   /* trainings of one user */
#define VALIDITY_MAX   36600

static const char *const resource_types[] = {
    "sensor", "machine", "door", "locker", "information", "storage", "gateway", "area",
};

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* ---- error text -------------------------------------------------------------------------------
 */

__attribute__((format(printf, 3, 4))) static int fail(char *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err, VOUCH_DIR_ERR_MAX, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* "where.member", or "member" at the top level (paths only go into error messages: one too long
 * for buf becomes a marker). */
static const char *at(char buf[WHERE_MAX], const char *where, const char *member)
{
	int n = snprintf(buf, WHERE_MAX, "%s%s%s", where, where[0] != '\0' ? "." : "", member);

	return n >= 0 && n < WHERE_MAX ? buf : "(path too long)";
}

static const char *at_index(char buf[WHERE_MAX], const char *where, const char *member, size_t i)
{
	int n =
	    snprintf(buf, WHERE_MAX, "%s%s%s[%zu]", where, where[0] != '\0' ? "." : "", member, i);

	return n >= 0 && n < WHERE_MAX ? buf : "(path too long)";
}

/* "where[i]"; a long where is cut to leave room for the index. */
static const char *at_item(char buf[WHERE_MAX], const char *where, size_t i)
{
	size_t len = strnlen(where, WHERE_MAX - 24);

	memmove(buf, where, len);
	snprintf(buf + len, 24, "[%zu]", i);
	return buf;
}

/* ---- names --------------------------------------------------------------------------------- */

static bool chars_ok(const char *s, const char *extra, bool upper)
{
	size_t n = strlen(s);

	if (n == 0 || n > VOUCH_STORE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (upper && c >= 'A' && c <= 'Z') || strchr(extra, c) != NULL))
			return false;
	}
	return true;
}

/* Trainings and roles: [a-z0-9_-]+. */
static bool word_ok(const char *s)
{
	return chars_ok(s, "_-", false);
}

/* Zones: '/'-separated words. */
static bool zone_ok(const char *s)
{
	size_t n = strlen(s);

	if (!chars_ok(s, "_-/", false) || s[0] == '/' || s[n - 1] == '/')
		return false;
	return strstr(s, "//") == NULL;
}

static bool resource_id_ok(const char *s)
{
	return chars_ok(s, "._@-", true);
}

static bool user_name_ok(const char *s)
{
	return chars_ok(s, "._@-", false);
}

/* Tags ("function:maintenance-mode", "floor=2") and reading names ("temperature"). */
static bool tag_ok(const char *s)
{
	return chars_ok(s, "._:@/=+-", true);
}

static bool reading_name_ok(const char *s)
{
	return chars_ok(s, "._-", true);
}

static bool type_ok(const char *s)
{
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(resource_types); i++) {
		if (strcmp(s, resource_types[i]) == 0)
			return true;
	}
	return false;
}

bool vouch_dir_kind_known(const char *kind)
{
	return kind != NULL && (strcmp(kind, "zone") == 0 || strcmp(kind, "resource") == 0 ||
	                        strcmp(kind, "training") == 0 || strcmp(kind, "role") == 0 ||
	                        strcmp(kind, "user") == 0);
}

static bool name_ok(const char *kind, const char *name)
{
	if (strcmp(kind, "zone") == 0)
		return zone_ok(name);
	if (strcmp(kind, "resource") == 0)
		return resource_id_ok(name);
	if (strcmp(kind, "user") == 0)
		return user_name_ok(name);
	return word_ok(name);
}

static const char *name_rule(const char *kind)
{
	if (strcmp(kind, "zone") == 0)
		return "'/'-separated words of a-z 0-9 _ -, at most 64 bytes";
	if (strcmp(kind, "resource") == 0)
		return "1-64 of A-Z a-z 0-9 . _ @ -";
	if (strcmp(kind, "user") == 0)
		return "1-64 of a-z 0-9 . _ @ -";
	return "1-64 of a-z 0-9 _ -";
}

/* ---- time ---------------------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	/* H. Hinnant's algorithm: proleptic Gregorian calendar, exact for every year. */
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

int vouch_dir_parse_time(const char *iso, int64_t *out)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, mo, d, h, mi, s, dim;
	const char *p;

	if (out == NULL)
		return VOUCH_ERR_INVALID;
	*out = 0;
	/* YYYY-MM-DDTHH:MM:SS[.fraction]Z */
	if (iso == NULL || strnlen(iso, 64) < 20 || strnlen(iso, 64) >= 64 || iso[4] != '-' ||
	    iso[7] != '-' || iso[10] != 'T' || iso[13] != ':' || iso[16] != ':' ||
	    !digits(iso, 4, &y) || !digits(iso + 5, 2, &mo) || !digits(iso + 8, 2, &d) ||
	    !digits(iso + 11, 2, &h) || !digits(iso + 14, 2, &mi) || !digits(iso + 17, 2, &s))
		return VOUCH_ERR_INVALID;
	p = iso + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return VOUCH_ERR_INVALID;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (p[0] != 'Z' || p[1] != '\0')
		return VOUCH_ERR_INVALID;
	if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59)
		return VOUCH_ERR_INVALID;
	dim = mdays[mo - 1] + (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
	if (d < 1 || d > dim)
		return VOUCH_ERR_INVALID;
	*out = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + s;
	return VOUCH_OK;
}

/* ---- JSON helpers -----------------------------------------------------------------------------
 */

/* Refuse members of obj not in allowed. */
static int only_members(const json_t *obj, const char *const *allowed, size_t n, const char *where,
                        char *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		bool known = false;

		for (size_t i = 0; i < n && !known; i++)
			known = strcmp(key, allowed[i]) == 0;
		if (!known)
			return fail(err, VOUCH_ERR_INVALID, "%s%sunknown member \"%.64s\"", where,
			            where[0] != '\0' ? ": " : "", key);
	}
	return VOUCH_OK;
}

/* A string member without NUL bytes (absent: *out NULL, unless required). */
static int get_string(const json_t *obj, const char *key, bool required, size_t max,
                      const char *where, const char **out, char *err)
{
	char w[WHERE_MAX];
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL) {
		if (required)
			return fail(err, VOUCH_ERR_INVALID, "%s: required", at(w, where, key));
		return VOUCH_OK;
	}
	if (!json_is_string(v))
		return fail(err, VOUCH_ERR_INVALID, "%s: expected a string", at(w, where, key));
	if (json_string_length(v) != strlen(json_string_value(v)) || json_string_length(v) > max)
		return fail(err, VOUCH_ERR_INVALID, "%s: a string of at most %zu bytes",
		            at(w, where, key), max);
	*out = json_string_value(v);
	return VOUCH_OK;
}

static int get_time(const json_t *obj, const char *key, bool required, const char *where,
                    int64_t *out, bool *present, char *err)
{
	char w[WHERE_MAX];
	const char *s;
	int rc = get_string(obj, key, required, 63, where, &s, err);

	*out = 0;
	if (present != NULL)
		*present = false;
	if (rc != VOUCH_OK || s == NULL)
		return rc;
	if (vouch_dir_parse_time(s, out) != VOUCH_OK)
		return fail(err, VOUCH_ERR_INVALID,
		            "%s: expected ISO-8601 UTC time like 2026-11-22T05:00:00Z",
		            at(w, where, key));
	if (present != NULL)
		*present = true;
	return VOUCH_OK;
}

/* ---- grants --------------------------------------------------------------------------------- */

/* A grant as the policy sees it; strings point into the grant's JSON. */
struct grant {
	bool deny;
	const char *zone;
	const char *type;
	const char *id;
	const char *tags[VOUCH_POLICY_MAX_TAGS];
	size_t n_tags;
	uint32_t actions;
	struct vouch_policy_window windows[VOUCH_POLICY_MAX_WINDOWS];
	size_t n_windows;
	int64_t valid_from;
	int64_t valid_until;
	const char *training;
	const char *person_zone;
	struct vouch_policy_reading_cond readings[VOUCH_POLICY_MAX_READINGS];
	size_t n_readings;
};

static int day_index(const char *s, size_t n)
{
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(day_names); i++) {
		if (n == 3 && memcmp(s, day_names[i], 3) == 0)
			return (int)i;
	}
	return -1;
}

/* "daily", "mon-fri", "sat,sun", "mon-wed,fri", "sun": a day set, bit 0 Monday. */
static bool days_text(const char *s, uint8_t *days)
{
	*days = 0;
	if (strcmp(s, "daily") == 0) {
		*days = 0x7f;
		return true;
	}
	while (*s != '\0') {
		const char *comma = strchr(s, ',');
		size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);
		int a, b;

		if (n == 3) {
			a = b = day_index(s, 3);
		} else if (n == 7 && s[3] == '-') {
			a = day_index(s, 3);
			b = day_index(s + 4, 3);
		} else {
			return false;
		}
		/* A backwards range ("fri-mon") is more likely a slip than a wrap. */
		if (a < 0 || b < 0 || b < a)
			return false;
		for (int d = a; d <= b; d++)
			*days |= (uint8_t)(1u << d);
		if (comma == NULL)
			break;
		s = comma + 1;
		if (*s == '\0')
			return false;
	}
	return *days != 0;
}

/* "HH:MM" into minutes; "24:00" only when end. */
static bool hhmm(const char *s, bool end, uint16_t *out)
{
	unsigned h, m;

	if (strlen(s) != 5 || s[2] != ':' || !digits(s, 2, &h) || !digits(s + 3, 2, &m) || m > 59 ||
	    h > 24 || (h == 24 && (m != 0 || !end)))
		return false;
	*out = (uint16_t)(h * 60 + m);
	return true;
}

static int parse_window(const json_t *w, const char *where, struct vouch_policy_window *out,
                        char *err)
{
	static const char *const members[] = {"days", "from", "to"};
	char b[WHERE_MAX];
	json_t *days = json_object_get(w, "days");
	const char *from, *to;
	size_t i;
	json_t *v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(w))
		return fail(err, VOUCH_ERR_INVALID, "%s: expected an object", where);
	rc = only_members(w, members, VOUCH_ARRAY_LEN(members), where, err);
	if (rc != VOUCH_OK)
		return rc;
	if (days == NULL)
		return fail(err, VOUCH_ERR_INVALID, "%s: required", at(b, where, "days"));
	if (json_is_string(days)) {
		if (!days_text(json_string_value(days), &out->days))
			return fail(
			    err, VOUCH_ERR_INVALID,
			    "%s: expected daily, a day (mon..sun), a range like mon-fri or a "
			    "list like sat,sun",
			    at(b, where, "days"));
	} else if (json_is_array(days)) {
		json_array_foreach(days, i, v)
		{
			int d = json_is_string(v)
			            ? day_index(json_string_value(v), json_string_length(v))
			            : -1;

			if (d < 0)
				return fail(err, VOUCH_ERR_INVALID, "%s: expected mon..sun",
				            at_index(b, where, "days", i));
			out->days |= (uint8_t)(1u << d);
		}
		if (out->days == 0)
			return fail(err, VOUCH_ERR_INVALID,
			            "%s: no day: the window would never be open",
			            at(b, where, "days"));
	} else {
		return fail(err, VOUCH_ERR_INVALID, "%s: expected a string or an array of days",
		            at(b, where, "days"));
	}
	rc = get_string(w, "from", false, 5, where, &from, err);
	if (rc == VOUCH_OK)
		rc = get_string(w, "to", false, 5, where, &to, err);
	if (rc != VOUCH_OK)
		return rc;
	out->start_min = 0;
	out->end_min = 24 * 60;
	if (from != NULL && !hhmm(from, false, &out->start_min))
		return fail(err, VOUCH_ERR_INVALID, "%s: expected HH:MM (00:00..23:59)",
		            at(b, where, "from"));
	if (to != NULL && !hhmm(to, true, &out->end_min))
		return fail(err, VOUCH_ERR_INVALID, "%s: expected HH:MM (00:00..24:00)",
		            at(b, where, "to"));
	if (out->start_min == out->end_min)
		return fail(err, VOUCH_ERR_INVALID,
		            "%s: from and to are the same time: the window would never be open",
		            where);
	return VOUCH_OK;
}

static int parse_actions(const json_t *a, const char *where, uint32_t *out, char *err)
{
	char b[WHERE_MAX];
	uint32_t bit;
	size_t i;
	json_t *v;

	*out = 0;
	if (a == NULL)
		return fail(err, VOUCH_ERR_INVALID, "%s: required", where);
	if (json_is_string(a)) {
		if (strcmp(json_string_value(a), "*") != 0)
			return fail(err, VOUCH_ERR_INVALID,
			            "%s: expected \"*\" or an array of action names", where);
		*out = VOUCH_ACTION_ALL;
		return VOUCH_OK;
	}
	if (!json_is_array(a))
		return fail(err, VOUCH_ERR_INVALID,
		            "%s: expected \"*\" or an array of action names", where);
	if (json_array_size(a) == 0)
		return fail(err, VOUCH_ERR_INVALID, "%s: no action: the grant would never apply",
		            where);
	json_array_foreach(a, i, v)
	{
		at_item(b, where, i);
		if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)) ||
		    vouch_policy_action_parse(json_string_value(v), &bit) != VOUCH_OK)
			return fail(
			    err, VOUCH_ERR_INVALID,
			    "%s: unknown action (enter open read write operate stop configure "
			    "service commission update audit admin, or *)",
			    b);
		*out |= bit;
	}
	return VOUCH_OK;
}

static int parse_selector(const json_t *sel, const char *where, struct grant *g, char *err)
{
	static const char *const members[] = {"zone", "type", "id", "tags"};
	char b[WHERE_MAX];
	json_t *tags, *v;
	size_t i;
	int rc;

	if (sel == NULL)
		return fail(err, VOUCH_ERR_INVALID, "%s: required ({} selects every resource)",
		            where);
	if (!json_is_object(sel))
		return fail(err, VOUCH_ERR_INVALID, "%s: expected an object", where);
	rc = only_members(sel, members, VOUCH_ARRAY_LEN(members), where, err);
	if (rc == VOUCH_OK)
		rc = get_string(sel, "zone", false, VOUCH_STORE_ID_MAX, where, &g->zone, err);
	if (rc == VOUCH_OK)
		rc = get_string(sel, "type", false, VOUCH_STORE_ID_MAX, where, &g->type, err);
	if (rc == VOUCH_OK)
		rc = get_string(sel, "id", false, VOUCH_STORE_ID_MAX, where, &g->id, err);
	if (rc != VOUCH_OK)
		return rc;
	if (g->zone != NULL && !zone_ok(g->zone))
		return fail(err, VOUCH_ERR_INVALID, "%s: not a zone name (%s)",
		            at(b, where, "zone"), name_rule("zone"));
	if (g->type != NULL && !type_ok(g->type))
		return fail(err, VOUCH_ERR_INVALID,
		            "%s: expected sensor, machine, door, locker, information, storage, "
		            "gateway or area",
		            at(b, where, "type"));
	if (g->id != NULL && !resource_id_ok(g->id))
		return fail(err, VOUCH_ERR_INVALID, "%s: not a resource id (%s)",
		            at(b, where, "id"), name_rule("resource"));
	tags = json_object_get(sel, "tags");
	if (tags == NULL)
		return VOUCH_OK;
	if (!json_is_array(tags) || json_array_size(tags) > VOUCH_POLICY_MAX_TAGS)
		return fail(err, VOUCH_ERR_INVALID, "%s: expected an array of at most %d tags",
		            at(b, where, "tags"), VOUCH_POLICY_MAX_TAGS);
	json_array_foreach(tags, i, v)
	{
		const char *t = json_string_value(v);

		if (t == NULL || json_string_length(v) != strlen(t) || !tag_ok(t))
			return fail(err, VOUCH_ERR_INVALID,
			            "%s: a tag is 1-64 of A-Z a-z 0-9 . _ : @ / = + -",
			            at_index(b, where, "tags", i));
		g->tags[g->n_tags++] = t;
	}
	return VOUCH_OK;
}

static int parse_readings(const json_t *rs, const char *where, struct grant *g, char *err)
{
	static const char *const members[] = {"name", "op", "value"};
	char b[WHERE_MAX], c[WHERE_MAX];
	const char *name, *op;
	json_t *r, *val;
	size_t i;
	int rc;

	if (rs == NULL)
		return VOUCH_OK;
	if (!json_is_array(rs) || json_array_size(rs) > VOUCH_POLICY_MAX_READINGS)
		return fail(err, VOUCH_ERR_INVALID,
		            "%s: expected an array of at most %d conditions", where,
		            VOUCH_POLICY_MAX_READINGS);
	json_array_foreach(rs, i, r)
	{
		struct vouch_policy_reading_cond *rc_out = &g->readings[g->n_readings];

		at_item(b, where, i);
		if (!json_is_object(r))
			return fail(err, VOUCH_ERR_INVALID, "%s: expected an object", b);
		rc = only_members(r, members, VOUCH_ARRAY_LEN(members), b, err);
		if (rc == VOUCH_OK)
			rc = get_string(r, "name", true, VOUCH_STORE_ID_MAX, b, &name, err);
		if (rc == VOUCH_OK)
			rc = get_string(r, "op", true, 2, b, &op, err);
		if (rc != VOUCH_OK)
			return rc;
		if (!reading_name_ok(name))
			return fail(err, VOUCH_ERR_INVALID, "%s: 1-64 of A-Z a-z 0-9 . _ -",
			            at(c, b, "name"));
		if (vouch_policy_op_parse(op, &rc_out->op) != VOUCH_OK)
			return fail(err, VOUCH_ERR_INVALID,
			            "%s: expected < <= > >= == or !=", at(c, b, "op"));
		val = json_object_get(r, "value");
		if (val == NULL)
			return fail(err, VOUCH_ERR_INVALID, "%s: required", at(c, b, "value"));
		if (!json_is_number(val) || !isfinite(json_number_value(val)))
			return fail(err, VOUCH_ERR_INVALID, "%s: expected a number",
			            at(c, b, "value"));
		rc_out->name = name;
		rc_out->value = json_number_value(val);
		g->n_readings++;
	}
	return VOUCH_OK;
}

/* The grant's syntax (no references). */
static int parse_grant(const json_t *gj, const char *where, struct grant *g, char *err)
{
	static const char *const members[] = {"effect",     "resources",   "actions",  "when",
	                                      "valid_from", "valid_until", "training", "in_zone",
	                                      "readings",   "description"};
	char b[WHERE_MAX];
	const char *effect, *desc;
	bool has_from, has_until;
	json_t *when, *w;
	size_t i;
	int rc;

	memset(g, 0, sizeof(*g));
	if (!json_is_object(gj))
		return fail(err, VOUCH_ERR_INVALID, "%s: expected an object", where);
	rc = only_members(gj, members, VOUCH_ARRAY_LEN(members), where, err);
	if (rc == VOUCH_OK)
		rc = get_string(gj, "effect", false, 16, where, &effect, err);
	if (rc == VOUCH_OK)
		rc = get_string(gj, "description", false, TEXT_MAX, where, &desc, err);
	if (rc != VOUCH_OK)
		return rc;
	if (effect != NULL && strcmp(effect, "deny") == 0)
		g->deny = true;
	else if (effect != NULL && strcmp(effect, "permit") != 0)
		return fail(err, VOUCH_ERR_INVALID, "%s: expected permit or deny",
		            at(b, where, "effect"));
	rc = parse_selector(json_object_get(gj, "resources"), at(b, where, "resources"), g, err);
	if (rc == VOUCH_OK)
		rc = parse_actions(json_object_get(gj, "actions"), at(b, where, "actions"),
		                   &g->actions, err);
	if (rc != VOUCH_OK)
		return rc;

	when = json_object_get(gj, "when");
	if (when != NULL) {
		if (!json_is_array(when) || json_array_size(when) > VOUCH_POLICY_MAX_WINDOWS)
			return fail(err, VOUCH_ERR_INVALID,
			            "%s: expected an array of at most %d windows",
			            at(b, where, "when"), VOUCH_POLICY_MAX_WINDOWS);
		if (json_array_size(when) == 0)
			return fail(err, VOUCH_ERR_INVALID,
			            "%s: no window: the grant would never hold (leave \"when\" out "
			            "for any time)",
			            at(b, where, "when"));
		json_array_foreach(when, i, w)
		{
			rc = parse_window(w, at_index(b, where, "when", i), &g->windows[i], err);
			if (rc != VOUCH_OK)
				return rc;
		}
		g->n_windows = json_array_size(when);
	}

	rc = get_time(gj, "valid_from", false, where, &g->valid_from, &has_from, err);
	if (rc == VOUCH_OK)
		rc = get_time(gj, "valid_until", false, where, &g->valid_until, &has_until, err);
	if (rc != VOUCH_OK)
		return rc;
	if (has_from && has_until && g->valid_from >= g->valid_until)
		return fail(err, VOUCH_ERR_INVALID,
		            "%s: valid_from is not before valid_until: the grant would never hold",
		            where);

	rc = get_string(gj, "training", false, VOUCH_STORE_ID_MAX, where, &g->training, err);
	if (rc == VOUCH_OK)
		rc = get_string(gj, "in_zone", false, VOUCH_STORE_ID_MAX, where, &g->person_zone,
		                err);
	if (rc != VOUCH_OK)
		return rc;
	if (g->training != NULL && !word_ok(g->training))
		return fail(err, VOUCH_ERR_INVALID, "%s: not a training name (%s)",
		            at(b, where, "training"), name_rule("training"));
	if (g->person_zone != NULL && strcmp(g->person_zone, "@resource") != 0 &&
	    !zone_ok(g->person_zone))
		return fail(err, VOUCH_ERR_INVALID, "%s: expected a zone name or \"@resource\"",
		            at(b, where, "in_zone"));
	return parse_readings(json_object_get(gj, "readings"), at(b, where, "readings"), g, err);
}

/* ---- references --------------------------------------------------------------------------------
 */

/* Whether kind/name is stored; errors other than absence are returned. */
static int exists(struct vouch_store *store, const char *kind, const char *name, bool *yes)
{
	struct vouch_store_obj o;
	int rc = vouch_store_obj_get(store, kind, name, &o);

	*yes = rc == VOUCH_OK;
	vouch_store_obj_clear(&o);
	return rc == VOUCH_ERR_STORE_NOT_FOUND || rc == VOUCH_ERR_INVALID ? VOUCH_OK : rc;
}

static int need(struct vouch_store *store, const char *kind, const char *name, const char *where,
                char *err)
{
	bool yes = false;
	int rc = exists(store, kind, name, &yes);

	if (rc != VOUCH_OK)
		return fail(err, rc, "%s: cannot look %s %s up: %s", where, kind, name,
		            vouch_strerror(rc));
	if (!yes)
		return fail(err, VOUCH_ERR_STORE_NOT_FOUND, "%s: no %s \"%s\"", where, kind, name);
	return VOUCH_OK;
}

static int grant_refs(struct vouch_store *store, const struct grant *g, const char *where,
                      char *err)
{
	char b[WHERE_MAX], c[WHERE_MAX];
	int rc = VOUCH_OK;

	if (g->zone != NULL)
		rc = need(store, "zone", g->zone, at(c, at(b, where, "resources"), "zone"), err);
	if (rc == VOUCH_OK && g->id != NULL)
		rc = need(store, "resource", g->id, at(c, at(b, where, "resources"), "id"), err);
	if (rc == VOUCH_OK && g->training != NULL)
		rc = need(store, "training", g->training, at(b, where, "training"), err);
	if (rc == VOUCH_OK && g->person_zone != NULL && strcmp(g->person_zone, "@resource") != 0)
		rc = need(store, "zone", g->person_zone, at(b, where, "in_zone"), err);
	return rc;
}

/* ---- objects ------------------------------------------------------------------------------------
 */

static int validate_zone(struct vouch_store *store, const char *name, const json_t *body, char *err)
{
	static const char *const members[] = {"description"};
	char parent[VOUCH_STORE_ID_MAX + 1];
	const char *desc;
	char *slash;
	int rc = only_members(body, members, VOUCH_ARRAY_LEN(members), "", err);

	if (rc == VOUCH_OK)
		rc = get_string(body, "description", false, TEXT_MAX, "", &desc, err);
	if (rc != VOUCH_OK)
		return rc;
	snprintf(parent, sizeof(parent), "%s", name);
	slash = strrchr(parent, '/');
	if (slash == NULL)
		return VOUCH_OK;
	*slash = '\0';
	/* The parent's own parents were checked when it was written. */
	return need(store, "zone", parent, "parent zone", err);
}

static int validate_resource(struct vouch_store *store, const json_t *body, char *err)
{
	static const char *const members[] = {"type", "zone", "tags", "description"};
	char b[WHERE_MAX];
	const char *type, *zone, *desc;
	json_t *tags, *v;
	size_t i;
	int rc = only_members(body, members, VOUCH_ARRAY_LEN(members), "", err);

	if (rc == VOUCH_OK)
		rc = get_string(body, "type", true, VOUCH_STORE_ID_MAX, "", &type, err);
	if (rc == VOUCH_OK)
		rc = get_string(body, "zone", true, VOUCH_STORE_ID_MAX, "", &zone, err);
	if (rc == VOUCH_OK)
		rc = get_string(body, "description", false, TEXT_MAX, "", &desc, err);
	if (rc != VOUCH_OK)
		return rc;
	if (!type_ok(type))
		return fail(err, VOUCH_ERR_INVALID,
		            "type: expected sensor, machine, door, locker, information, storage, "
		            "gateway or area");
	if (!zone_ok(zone))
		return fail(err, VOUCH_ERR_INVALID, "zone: not a zone name (%s)",
		            name_rule("zone"));
	tags = json_object_get(body, "tags");
	if (tags != NULL) {
		if (!json_is_array(tags) || json_array_size(tags) > RES_TAGS_MAX)
			return fail(err, VOUCH_ERR_INVALID,
			            "tags: expected an array of at most %d tags", RES_TAGS_MAX);
		json_array_foreach(tags, i, v)
		{
			const char *t = json_string_value(v);

			if (t == NULL || json_string_length(v) != strlen(t) || !tag_ok(t))
				return fail(err, VOUCH_ERR_INVALID,
				            "%s: a tag is 1-64 of A-Z a-z 0-9 . _ : @ / = + -",
				            at_index(b, "", "tags", i));
		}
	}
	return need(store, "zone", zone, "zone", err);
}

static int validate_training(const json_t *body, char *err)
{
	static const char *const members[] = {"description", "validity_days"};
	const char *desc;
	json_t *days = json_object_get(body, "validity_days");
	int rc = only_members(body, members, VOUCH_ARRAY_LEN(members), "", err);

	if (rc == VOUCH_OK)
		rc = get_string(body, "description", false, TEXT_MAX, "", &desc, err);
	if (rc != VOUCH_OK)
		return rc;
	if (days != NULL && (!json_is_integer(days) || json_integer_value(days) < 1 ||
	                     json_integer_value(days) > VALIDITY_MAX))
		return fail(err, VOUCH_ERR_INVALID, "validity_days: expected an integer 1..%d",
		            VALIDITY_MAX);
	return VOUCH_OK;
}

static int validate_role(struct vouch_store *store, const json_t *body, char *err)
{
	static const char *const members[] = {"description", "admin", "grants"};
	json_t *admin = json_object_get(body, "admin");
	json_t *grants = json_object_get(body, "grants");
	char b[WHERE_MAX];
	struct grant *g = NULL;
	const char *desc;
	json_t *gj;
	size_t i;
	int rc = only_members(body, members, VOUCH_ARRAY_LEN(members), "", err);

	if (rc == VOUCH_OK)
		rc = get_string(body, "description", false, TEXT_MAX, "", &desc, err);
	if (rc != VOUCH_OK)
		return rc;
	if (admin != NULL && !json_is_boolean(admin))
		return fail(err, VOUCH_ERR_INVALID, "admin: expected true or false");
	if (grants == NULL)
		return fail(err, VOUCH_ERR_INVALID, "grants: required ([] for none)");
	if (!json_is_array(grants) || json_array_size(grants) > VOUCH_POLICY_MAX_PERMS)
		return fail(err, VOUCH_ERR_INVALID,
		            "grants: expected an array of at most %d grants",
		            VOUCH_POLICY_MAX_PERMS);
	/* One grant at a time: it is large (windows, readings, tags inline). */
	g = malloc(sizeof(*g));
	if (g == NULL)
		return fail(err, VOUCH_ERR_NOMEM, "out of memory");
	json_array_foreach(grants, i, gj)
	{
		at_index(b, "", "grants", i);
		rc = parse_grant(gj, b, g, err);
		if (rc == VOUCH_OK)
			rc = grant_refs(store, g, b, err);
		if (rc != VOUCH_OK)
			break;
	}
	free(g);
	return rc;
}

static int validate_user(struct vouch_store *store, const char *name, const json_t *body, char *err)
{
	static const char *const members[] = {"display_name", "kind",   "roles",      "trainings",
	                                      "external",     "status", "revoked_at", "reason"};
	static const char *const ext_members[] = {"company", "sponsor", "valid_from",
	                                          "valid_until"};
	char b[WHERE_MAX];
	const char *kind, *status, *text, *sponsor;
	json_t *roles = json_object_get(body, "roles");
	json_t *trainings = json_object_get(body, "trainings");
	json_t *ext = json_object_get(body, "external");
	struct vouch_store_obj so;
	bool external, has_revoked_at;
	int64_t from, until, t;
	const char *sk;
	json_t *sj;
	const char *key;
	json_t *v;
	size_t i;
	int rc = only_members(body, members, VOUCH_ARRAY_LEN(members), "", err);

	if (rc == VOUCH_OK)
		rc = get_string(body, "display_name", false, TEXT_MAX, "", &text, err);
	if (rc == VOUCH_OK)
		rc = get_string(body, "reason", false, TEXT_MAX, "", &text, err);
	if (rc == VOUCH_OK)
		rc = get_string(body, "kind", false, 16, "", &kind, err);
	if (rc == VOUCH_OK)
		rc = get_string(body, "status", false, 16, "", &status, err);
	if (rc == VOUCH_OK)
		rc = get_time(body, "revoked_at", false, "", &t, &has_revoked_at, err);
	if (rc != VOUCH_OK)
		return rc;
	if (kind != NULL && strcmp(kind, "staff") != 0 && strcmp(kind, "external") != 0)
		return fail(err, VOUCH_ERR_INVALID, "kind: expected staff or external");
	external = kind != NULL && strcmp(kind, "external") == 0;
	if (status != NULL && strcmp(status, "active") != 0 && strcmp(status, "revoked") != 0)
		return fail(err, VOUCH_ERR_INVALID, "status: expected active or revoked");
	if (has_revoked_at && (status == NULL || strcmp(status, "revoked") != 0))
		return fail(err, VOUCH_ERR_INVALID, "revoked_at: only with status revoked");

	if (roles == NULL)
		return fail(err, VOUCH_ERR_INVALID, "roles: required ([] for none)");
	if (!json_is_array(roles) || json_array_size(roles) > VOUCH_POLICY_MAX_ROLES)
		return fail(err, VOUCH_ERR_INVALID, "roles: expected an array of at most %d roles",
		            VOUCH_POLICY_MAX_ROLES);
	json_array_foreach(roles, i, v)
	{
		const char *role = json_string_value(v);

		at_index(b, "", "roles", i);
		if (role == NULL || json_string_length(v) != strlen(role) || !word_ok(role))
			return fail(err, VOUCH_ERR_INVALID, "%s: not a role name (%s)", b,
			            name_rule("role"));
		for (size_t k = 0; k < i; k++) {
			if (strcmp(role, json_string_value(json_array_get(roles, k))) == 0)
				return fail(err, VOUCH_ERR_INVALID, "%s: role %s twice", b, role);
		}
		rc = need(store, "role", role, b, err);
		if (rc != VOUCH_OK)
			return rc;
	}

	if (trainings != NULL) {
		if (!json_is_object(trainings) || json_object_size(trainings) > USER_TRAIN_MAX)
			return fail(
			    err, VOUCH_ERR_INVALID,
			    "trainings: expected an object {training: expiry} of at most %d",
			    USER_TRAIN_MAX);
		json_object_foreach(trainings, key, v)
		{
			at(b, "trainings", key);
			if (!word_ok(key))
				return fail(err, VOUCH_ERR_INVALID,
				            "trainings: \"%.64s\" is not a "
				            "training name",
				            key);
			if (!json_is_string(v) ||
			    vouch_dir_parse_time(json_string_value(v), &t) != VOUCH_OK)
				return fail(err, VOUCH_ERR_INVALID,
				            "%s: expected the ISO-8601 UTC expiry", b);
			rc = need(store, "training", key, b, err);
			if (rc != VOUCH_OK)
				return rc;
		}
	}

	if (!external) {
		if (ext != NULL)
			return fail(err, VOUCH_ERR_INVALID, "external: only for kind external");
		return VOUCH_OK;
	}
	if (ext == NULL)
		return fail(err, VOUCH_ERR_INVALID,
		            "external: required for kind external (company, sponsor, valid_from, "
		            "valid_until)");
	if (!json_is_object(ext))
		return fail(err, VOUCH_ERR_INVALID, "external: expected an object");
	rc = only_members(ext, ext_members, VOUCH_ARRAY_LEN(ext_members), "external", err);
	if (rc == VOUCH_OK)
		rc = get_string(ext, "company", true, TEXT_MAX, "external", &text, err);
	if (rc == VOUCH_OK)
		rc =
		    get_string(ext, "sponsor", true, VOUCH_STORE_ID_MAX, "external", &sponsor, err);
	if (rc == VOUCH_OK)
		rc = get_time(ext, "valid_from", true, "external", &from, NULL, err);
	if (rc == VOUCH_OK)
		rc = get_time(ext, "valid_until", true, "external", &until, NULL, err);
	if (rc != VOUCH_OK)
		return rc;
	if (text[0] == '\0')
		return fail(err, VOUCH_ERR_INVALID, "external.company: empty");
	if (from >= until)
		return fail(
		    err, VOUCH_ERR_INVALID,
		    "external: valid_from is not before valid_until: the person would never "
		    "be allowed anything");
	if (!user_name_ok(sponsor))
		return fail(err, VOUCH_ERR_INVALID, "external.sponsor: not a user name (%s)",
		            name_rule("user"));
	if (strcmp(sponsor, name) == 0)
		return fail(err, VOUCH_ERR_INVALID, "external.sponsor: not the person themselves");
	rc = vouch_store_obj_get(store, "user", sponsor, &so);
	if (rc == VOUCH_ERR_STORE_NOT_FOUND)
		return fail(err, rc, "external.sponsor: no user \"%s\"", sponsor);
	if (rc != VOUCH_OK)
		return fail(err, rc, "external.sponsor: %s", vouch_strerror(rc));
	sj = json_loadb(so.json, so.json_len, 0, NULL);
	sk = json_string_value(json_object_get(sj, "kind"));
	rc = sk == NULL || strcmp(sk, "staff") == 0
	         ? VOUCH_OK
	         : fail(err, VOUCH_ERR_INVALID,
	                "external.sponsor: %s is not staff: an external is sponsored by staff",
	                sponsor);
	json_decref(sj);
	vouch_store_obj_clear(&so);
	return rc;
}

int vouch_dir_validate(struct vouch_store *store, const char *kind, const char *name,
                       const json_t *body, char err[VOUCH_DIR_ERR_MAX])
{
	if (err != NULL)
		err[0] = '\0';
	if (store == NULL || kind == NULL || name == NULL || body == NULL)
		return fail(err, VOUCH_ERR_INVALID, "missing argument");
	if (!vouch_dir_kind_known(kind))
		return fail(err, VOUCH_ERR_INVALID, "unknown kind \"%.32s\"", kind);
	if (!name_ok(kind, name))
		return fail(err, VOUCH_ERR_INVALID, "%s name: %s", kind, name_rule(kind));
	if (!json_is_object(body))
		return fail(err, VOUCH_ERR_INVALID, "%s %s: expected a JSON object", kind, name);
	if (strcmp(kind, "zone") == 0)
		return validate_zone(store, name, body, err);
	if (strcmp(kind, "resource") == 0)
		return validate_resource(store, body, err);
	if (strcmp(kind, "training") == 0)
		return validate_training(body, err);
	if (strcmp(kind, "role") == 0)
		return validate_role(store, body, err);
	return validate_user(store, name, body, err);
}

/* ---- writing
 * -------------------------------------------------------------------------------------- */

/* Begin a transaction unless the caller has one open: *own says whether it is ours to end. */
static int tx_enter(struct vouch_store *store, bool *own)
{
	int rc = vouch_store_tx_begin(store);

	*own = rc == VOUCH_OK;
	/* Already in the caller's transaction: it holds the write lock, so what is checked here
	 * stays true until the write. */
	return rc == VOUCH_ERR_INVALID ? VOUCH_OK : rc;
}

static int tx_leave(struct vouch_store *store, bool own, int rc)
{
	if (!own)
		return rc;
	if (rc == VOUCH_OK)
		return vouch_store_tx_commit(store);
	vouch_store_tx_rollback(store);
	return rc;
}

static void store_refusal(int rc, const char *kind, const char *name, int64_t expect, char *err)
{
	if (rc == VOUCH_ERR_STORE_EXISTS)
		fail(err, rc, "%s %s exists", kind, name);
	else if (rc == VOUCH_ERR_STORE_CONFLICT)
		fail(err, rc, "%s %s is not at version %lld (changed meanwhile)", kind, name,
		     (long long)expect);
	else if (rc == VOUCH_ERR_STORE_NOT_FOUND)
		fail(err, rc, "no %s %s", kind, name);
	else
		fail(err, rc, "%s %s: %s", kind, name, vouch_strerror(rc));
}

/* Validate and write one object inside the current transaction; *changed (may be NULL) tells
 * whether anything was written (skip_same: an identical stored object is left alone). */
static int put_one(struct vouch_store *store, const char *kind, const char *name,
                   const json_t *body, int64_t expect, int64_t now, const char *actor,
                   bool skip_same, int64_t *version, bool *changed, char *err)
{
	struct vouch_store_obj old;
	char *text = NULL;
	int rc = vouch_dir_validate(store, kind, name, body, err);

	if (changed != NULL)
		*changed = false;
	if (rc != VOUCH_OK)
		return rc;
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL)
		return fail(err, VOUCH_ERR_NOMEM, "out of memory");
	if (skip_same && vouch_store_obj_get(store, kind, name, &old) == VOUCH_OK) {
		bool same = strcmp(old.json, text) == 0;

		if (version != NULL)
			*version = old.version;
		vouch_store_obj_clear(&old);
		if (same) {
			free(text);
			return VOUCH_OK;
		}
	}
	rc = vouch_store_obj_put(store, kind, name, NULL, text, expect, now, actor, version);
	free(text);
	if (rc != VOUCH_OK) {
		store_refusal(rc, kind, name, expect, err);
		return rc;
	}
	if (changed != NULL)
		*changed = true;
	return VOUCH_OK;
}

int vouch_dir_put(struct vouch_store *store, const char *kind, const char *name, const json_t *body,
                  int64_t expect_version, int64_t now, const char *actor, int64_t *version,
                  char err[VOUCH_DIR_ERR_MAX])
{
	bool own = false;
	int rc;

	if (version != NULL)
		*version = 0;
	if (err != NULL)
		err[0] = '\0';
	if (store == NULL)
		return fail(err, VOUCH_ERR_INVALID, "missing argument");
	rc = tx_enter(store, &own);
	if (rc != VOUCH_OK)
		return fail(err, rc, "%s", vouch_strerror(rc));
	rc =
	    put_one(store, kind, name, body, expect_version, now, actor, false, version, NULL, err);
	rc = tx_leave(store, own, rc);
	if (rc != VOUCH_OK && version != NULL)
		*version = 0;
	if (rc != VOUCH_OK && err != NULL && err[0] == '\0')
		fail(err, rc, "%s", vouch_strerror(rc));
	return rc;
}

/* ---- who refers to what -----------------------------------------------------------------------
 */

struct referrer {
	const char *kind; /* of the object being deleted */
	const char *name;
	char who[160]; /* "" until found */
};

static bool str_is(const json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

static int ref_zone_child(const struct vouch_store_obj *o, void *ctx)
{
	struct referrer *r = ctx;
	size_t n = strlen(r->name);

	if (strncmp(o->name, r->name, n) == 0 && o->name[n] == '/') {
		snprintf(r->who, sizeof(r->who), "zone %s", o->name);
		return 1;
	}
	return 0;
}

static int ref_resource(const struct vouch_store_obj *o, void *ctx)
{
	struct referrer *r = ctx;
	json_t *j = json_loadb(o->json, o->json_len, 0, NULL);
	int stop = 0;

	if (str_is(json_object_get(j, "zone"), r->name)) {
		snprintf(r->who, sizeof(r->who), "resource %s", o->name);
		stop = 1;
	}
	json_decref(j);
	return stop;
}

static int ref_role(const struct vouch_store_obj *o, void *ctx)
{
	struct referrer *r = ctx;
	json_t *j = json_loadb(o->json, o->json_len, 0, NULL);
	json_t *g;
	size_t i;
	int stop = 0;

	json_array_foreach(json_object_get(j, "grants"), i, g)
	{
		json_t *sel = json_object_get(g, "resources");
		const char *what = NULL;

		if (strcmp(r->kind, "zone") == 0 && str_is(json_object_get(sel, "zone"), r->name))
			what = "resources.zone";
		else if (strcmp(r->kind, "zone") == 0 &&
		         str_is(json_object_get(g, "in_zone"), r->name))
			what = "in_zone";
		else if (strcmp(r->kind, "resource") == 0 &&
		         str_is(json_object_get(sel, "id"), r->name))
			what = "resources.id";
		else if (strcmp(r->kind, "training") == 0 &&
		         str_is(json_object_get(g, "training"), r->name))
			what = "training";
		if (what != NULL) {
			snprintf(r->who, sizeof(r->who), "role %s (grants[%zu].%s)", o->name, i,
			         what);
			stop = 1;
			break;
		}
	}
	json_decref(j);
	return stop;
}

static int ref_user(const struct vouch_store_obj *o, void *ctx)
{
	struct referrer *r = ctx;
	json_t *j = json_loadb(o->json, o->json_len, 0, NULL);
	json_t *v;
	size_t i;
	int stop = 0;

	if (strcmp(r->kind, "role") == 0) {
		json_array_foreach(json_object_get(j, "roles"), i, v)
		{
			if (str_is(v, r->name))
				stop = 1;
		}
	} else if (strcmp(r->kind, "training") == 0) {
		stop = json_object_get(json_object_get(j, "trainings"), r->name) != NULL;
	} else if (strcmp(r->kind, "user") == 0) {
		stop = str_is(json_object_get(json_object_get(j, "external"), "sponsor"), r->name);
	}
	if (stop)
		snprintf(r->who, sizeof(r->who), "user %s", o->name);
	json_decref(j);
	return stop;
}

/* The first object that refers to kind/name ("" in r->who when none). */
static int find_referrer(struct vouch_store *store, struct referrer *r)
{
	int rc = VOUCH_OK;

	r->who[0] = '\0';
	if (strcmp(r->kind, "zone") == 0) {
		rc = vouch_store_obj_list(store, "zone", NULL, ref_zone_child, r);
		if (rc == VOUCH_OK && r->who[0] == '\0')
			rc = vouch_store_obj_list(store, "resource", NULL, ref_resource, r);
	}
	if (rc == VOUCH_OK && r->who[0] == '\0' &&
	    (strcmp(r->kind, "zone") == 0 || strcmp(r->kind, "resource") == 0 ||
	     strcmp(r->kind, "training") == 0))
		rc = vouch_store_obj_list(store, "role", NULL, ref_role, r);
	if (rc == VOUCH_OK && r->who[0] == '\0' &&
	    (strcmp(r->kind, "role") == 0 || strcmp(r->kind, "training") == 0 ||
	     strcmp(r->kind, "user") == 0))
		rc = vouch_store_obj_list(store, "user", NULL, ref_user, r);
	return rc;
}

int vouch_dir_delete(struct vouch_store *store, const char *kind, const char *name,
                     const char *actor, char err[VOUCH_DIR_ERR_MAX])
{
	struct referrer ref = {.kind = kind, .name = name};
	bool own = false;
	int rc;

	if (err != NULL)
		err[0] = '\0';
	if (store == NULL || kind == NULL || name == NULL)
		return fail(err, VOUCH_ERR_INVALID, "missing argument");
	if (!vouch_dir_kind_known(kind))
		return fail(err, VOUCH_ERR_INVALID, "unknown kind \"%.32s\"", kind);
	if (!name_ok(kind, name))
		return fail(err, VOUCH_ERR_INVALID, "%s name: %s", kind, name_rule(kind));
	rc = tx_enter(store, &own);
	if (rc != VOUCH_OK)
		return fail(err, rc, "%s", vouch_strerror(rc));
	rc = find_referrer(store, &ref);
	if (rc != VOUCH_OK)
		fail(err, rc, "%s", vouch_strerror(rc));
	else if (ref.who[0] != '\0')
		rc = fail(err, VOUCH_ERR_STORE_IN_USE, "%s %s is used by %s", kind, name, ref.who);
	if (rc == VOUCH_OK) {
		rc = vouch_store_obj_delete(store, kind, name, VOUCH_STORE_ANY, actor);
		if (rc != VOUCH_OK)
			store_refusal(rc, kind, name, VOUCH_STORE_ANY, err);
	}
	return tx_leave(store, own, rc);
}

/* ---- the policy document ------------------------------------------------------------------------
 */

static const char *const doc_sections[] = {"zones", "trainings", "resources", "roles"};
static const char *const doc_kinds[] = {"zone", "training", "resource", "role"};

static size_t depth(const char *zone)
{
	size_t d = 0;

	for (; *zone != '\0'; zone++)
		d += *zone == '/';
	return d;
}

/* Parents before children, then by name (bytewise), so the order never depends on the file. */
static int zone_order(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t dx = depth(x), dy = depth(y);

	if (dx != dy)
		return dx < dy ? -1 : 1;
	return strcmp(x, y);
}

static int name_order(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Load one section of the document (an object {name: body}). */
static int load_section(struct vouch_store *store, const json_t *section, size_t s, int64_t now,
                        const char *actor, json_t *changed, char *err)
{
	char sub[VOUCH_DIR_ERR_MAX];
	const char **names = NULL;
	size_t n = 0;
	const char *key;
	int64_t version;
	bool did;
	json_t *v;
	int rc = VOUCH_OK;

	if (!json_is_object(section))
		return fail(err, VOUCH_ERR_INVALID, "%s: expected an object {name: %s}",
		            doc_sections[s], doc_kinds[s]);
	if (json_object_size(section) == 0)
		return VOUCH_OK;
	names = calloc(json_object_size(section), sizeof(*names));
	if (names == NULL)
		return fail(err, VOUCH_ERR_NOMEM, "out of memory");
	json_object_foreach((json_t *)section, key, v) names[n++] = key;
	qsort(names, n, sizeof(*names), s == 0 ? zone_order : name_order);
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(section, names[i]);
		sub[0] = '\0';
		rc = put_one(store, doc_kinds[s], names[i], v, VOUCH_STORE_ANY, now, actor, true,
		             &version, &did, sub);
		if (rc != VOUCH_OK) {
			fail(err, rc, "%s.%.64s: %s", doc_sections[s], names[i], sub);
			break;
		}
		if (did && json_array_append_new(
		               changed, json_pack("{s:s, s:s, s:I}", "kind", doc_kinds[s], "name",
		                                  names[i], "version", (json_int_t)version)) != 0) {
			rc = fail(err, VOUCH_ERR_NOMEM, "out of memory");
			break;
		}
	}
	free(names);
	return rc;
}

int vouch_dir_load(struct vouch_store *store, const json_t *doc, int64_t now, const char *actor,
                   json_t **summary, char err[VOUCH_DIR_ERR_MAX])
{
	static const char *const members[] = {"zones", "trainings", "resources", "roles",
	                                      "description"};
	json_t *changed = NULL, *sum = NULL, *desc;
	int rc;

	if (summary != NULL)
		*summary = NULL;
	if (err != NULL)
		err[0] = '\0';
	if (store == NULL || doc == NULL)
		return fail(err, VOUCH_ERR_INVALID, "missing argument");
	if (!json_is_object(doc))
		return fail(err, VOUCH_ERR_INVALID, "the policy document is a JSON object");
	rc = only_members(doc, members, VOUCH_ARRAY_LEN(members), "", err);
	if (rc != VOUCH_OK)
		return rc;
	desc = json_object_get(doc, "description");
	if (desc != NULL && !json_is_string(desc))
		return fail(err, VOUCH_ERR_INVALID, "description: expected a string");
	changed = json_array();
	sum = json_object();
	if (changed == NULL || sum == NULL) {
		rc = fail(err, VOUCH_ERR_NOMEM, "out of memory");
		goto out_free;
	}
	/* All or nothing: never inside the caller's transaction, whose earlier changes a refusal
	 * here could not roll back without also undoing theirs. */
	rc = vouch_store_tx_begin(store);
	if (rc != VOUCH_OK) {
		fail(err, rc, "cannot begin the transaction: %s", vouch_strerror(rc));
		goto out_free;
	}
	for (size_t s = 0; s < VOUCH_ARRAY_LEN(doc_sections) && rc == VOUCH_OK; s++) {
		json_t *section = json_object_get(doc, doc_sections[s]);
		size_t n = section != NULL ? json_object_size(section) : 0;

		if (section != NULL)
			rc = load_section(store, section, s, now, actor, changed, err);
		if (rc == VOUCH_OK &&
		    json_object_set_new(sum, doc_sections[s], json_integer((json_int_t)n)) != 0)
			rc = fail(err, VOUCH_ERR_NOMEM, "out of memory");
	}
	if (rc != VOUCH_OK) {
		vouch_store_tx_rollback(store);
		goto out_free;
	}
	rc = vouch_store_tx_commit(store);
	if (rc != VOUCH_OK) {
		fail(err, rc, "commit: %s", vouch_strerror(rc));
		goto out_free;
	}
	if (summary != NULL) {
		json_object_set(sum, "changed", changed);
		*summary = sum;
		sum = NULL;
	}
out_free:
	json_decref(sum);
	json_decref(changed);
	return rc;
}

/* ---- compiling ----------------------------------------------------------------------------------
 */

void vouch_dir_compiled_clear(struct vouch_dir_compiled *c)
{
	if (c == NULL)
		return;
	free(c->perm);
	memset(c, 0, sizeof(*c));
}

/* The site's rule: a POSIX TZ rule, or an IANA zone name whose rule is looked up. */
static int resolve_tz(const char *tz_rule, char rule[VOUCH_TZ_RULE_MAX + 1], char *err)
{
	struct vouch_tz tz;

	if (tz_rule == NULL)
		return fail(err, VOUCH_ERR_INVALID, "no time zone");
	if (strlen(tz_rule) <= VOUCH_TZ_RULE_MAX && vouch_tz_parse(tz_rule, &tz) == VOUCH_OK) {
		snprintf(rule, VOUCH_TZ_RULE_MAX + 1, "%s", tz_rule);
		return VOUCH_OK;
	}
	if (vouch_tz_rule_of_zone(NULL, tz_rule, rule, VOUCH_TZ_RULE_MAX + 1) == VOUCH_OK &&
	    vouch_tz_parse(rule, &tz) == VOUCH_OK)
		return VOUCH_OK;
	rule[0] = '\0';
	return fail(err, VOUCH_ERR_TZ,
	            "time zone \"%.64s\": neither a POSIX TZ rule nor a known "
	            "zone",
	            tz_rule);
}

/* ---- the cache of compiles -------------------------------------------------------------------
 *
 * A compile is a pure function of the user's stored text, their roles' stored texts and the TZ
 * rule, and most of its cost is parsing roles and encoding. Each store connection therefore keeps
 * (vouch_store_set_dir_cache; never shared between stores):
 *   - roles: a role's grants as parsed from its text. A compile peeks at the role rows and reuses
 *     the grants when the text is byte for byte the one they were parsed from. The text, not the
 *     version, is the key: a role deleted and created again starts over at version 1.
 *   - users: the last compile of a user, the encoded permissions. Reused when the user's text and
 *     TZ rule are the same and every role came back as the very same parsed entry (entries are
 *     numbered, never reused: a role changed since gets a new number).
 * Every compile still reads the user and all their roles from the store (one read transaction),
 * so nothing stale is ever served: the cache only saves the parsing and encoding of what did not
 * change. Bounded: ROLE_SETS x ROLE_WAYS roles (set-associative by name) and ROLE_TEXT_MAX bytes
 * of their text; USER_SLOTS users and USER_BYTES bytes of their texts and permissions; least
 * recently used out first. The parsed forms are a small multiple of their text. A role entry is
 * reference-counted, so that one evicted while a compile still uses it stays alive until then.
 */
#define ROLE_SETS     64 /* a power of two */
#define ROLE_WAYS     4
#define ROLE_TEXT_MAX (1024 * 1024)
#define USER_SLOTS    64
#define USER_BYTES    (2 * 1024 * 1024)

struct role_compiled {
	unsigned refs;
	uint64_t id; /* unique in its cache (0: not cached) */
	char *text;  /* the stored JSON the grants were parsed from */
	size_t text_len;
	json_t *json; /* the grants' strings point into it */
	struct grant *grants;
	size_t n_grants;
	bool admin;
};

struct role_slot {
	char name[VOUCH_STORE_ID_MAX + 1];
	struct role_compiled *role; /* NULL: free */
	uint64_t used;              /* the cache's clock when last used */
};

struct user_slot {
	char name[VOUCH_STORE_ID_MAX + 1];
	char *text; /* NULL: free */
	size_t text_len;
	json_t *json; /* parsed text */
	char rule[VOUCH_TZ_RULE_MAX + 1];
	uint64_t role_ids[VOUCH_POLICY_MAX_ROLES];
	size_t n_roles;
	struct vouch_dir_compiled out;
	uint64_t used;
};

struct dir_cache {
	struct role_slot roles[ROLE_SETS][ROLE_WAYS];
	size_t role_text;
	struct user_slot users[USER_SLOTS];
	size_t user_bytes;
	uint64_t clock;
	uint64_t role_ids;
};

static void role_release(struct role_compiled *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	json_decref(r->json);
	free(r->grants);
	free(r->text);
	free(r);
}

static void role_slot_clear(struct dir_cache *c, struct role_slot *s)
{
	c->role_text -= s->role->text_len;
	role_release(s->role);
	memset(s, 0, sizeof(*s));
}

static void user_slot_clear(struct dir_cache *c, struct user_slot *u)
{
	c->user_bytes -= u->text_len + u->out.perm_len;
	free(u->text);
	json_decref(u->json);
	vouch_dir_compiled_clear(&u->out);
	memset(u, 0, sizeof(*u));
}

static void dir_cache_free(void *p)
{
	struct dir_cache *c = p;

	if (c == NULL)
		return;
	for (size_t i = 0; i < ROLE_SETS; i++) {
		for (size_t w = 0; w < ROLE_WAYS; w++) {
			if (c->roles[i][w].role != NULL)
				role_slot_clear(c, &c->roles[i][w]);
		}
	}
	for (size_t i = 0; i < USER_SLOTS; i++) {
		if (c->users[i].text != NULL)
			user_slot_clear(c, &c->users[i]);
	}
	free(c);
}

/* The connection's cache, made on first use; NULL without memory (compiles then do all the
 * work every time). */
static struct dir_cache *dir_cache_of(struct vouch_store *store)
{
	struct dir_cache *c = vouch_store_dir_cache(store);

	if (c != NULL)
		return c;
	c = calloc(1, sizeof(*c));
	if (c != NULL)
		vouch_store_set_dir_cache(store, c, dir_cache_free);
	return c;
}

/* The slot holding role name, else the one to fill (a free one, else the least recently used
 * of its set, chosen by FNV-1a of the name). */
static struct role_slot *role_slot(struct dir_cache *c, const char *name, bool *found)
{
	struct role_slot *set, *pick = NULL;
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	set = c->roles[h & (ROLE_SETS - 1)];
	*found = false;
	for (size_t w = 0; w < ROLE_WAYS; w++) {
		if (set[w].role != NULL && strcmp(set[w].name, name) == 0) {
			*found = true;
			return &set[w];
		}
		if (pick == NULL ||
		    (pick->role != NULL && (set[w].role == NULL || set[w].used < pick->used)))
			pick = &set[w];
	}
	return pick;
}

/* Keep the roles' text within its budget, least recently used out first (never keep). */
static void role_cache_trim(struct dir_cache *c, const struct role_slot *keep)
{
	while (c->role_text > ROLE_TEXT_MAX) {
		struct role_slot *lru = NULL;

		for (size_t i = 0; i < ROLE_SETS; i++) {
			for (size_t w = 0; w < ROLE_WAYS; w++) {
				struct role_slot *s = &c->roles[i][w];

				if (s->role != NULL && s != keep &&
				    (lru == NULL || s->used < lru->used))
					lru = s;
			}
		}
		if (lru == NULL)
			return;
		role_slot_clear(c, lru);
	}
}

/* The slot holding user name, else NULL. */
static struct user_slot *user_slot(struct dir_cache *c, const char *name)
{
	for (size_t i = 0; i < USER_SLOTS; i++) {
		if (c->users[i].text != NULL && strcmp(c->users[i].name, name) == 0)
			return &c->users[i];
	}
	return NULL;
}

/* Parse a role's stored text (its own copy goes with it). */
static int role_parse(const char *name, const char *text, size_t len, struct role_compiled **out,
                      char *err)
{
	struct role_compiled *r = calloc(1, sizeof(*r));
	char where[WHERE_MAX];
	const json_t *grants;
	json_t *gj;
	size_t i;
	int rc = VOUCH_ERR_NOMEM;

	*out = NULL;
	if (r == NULL)
		return fail(err, rc, "out of memory");
	r->refs = 1;
	r->text = malloc(len);
	if (r->text == NULL) {
		rc = fail(err, rc, "out of memory");
		goto out_release;
	}
	memcpy(r->text, text, len);
	r->text_len = len;
	r->json = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(r->json)) {
		rc = fail(err, VOUCH_ERR_STORE_CORRUPT, "role %.64s: stored object is not JSON",
		          name);
		goto out_release;
	}
	r->admin = json_is_true(json_object_get(r->json, "admin"));
	grants = json_object_get(r->json, "grants");
	if (json_array_size(grants) > 0) {
		r->grants = calloc(json_array_size(grants), sizeof(*r->grants));
		if (r->grants == NULL) {
			rc = fail(err, rc, "out of memory");
			goto out_release;
		}
	}
	json_array_foreach(grants, i, gj)
	{
		snprintf(where, sizeof(where), "role %s: grants[%zu]", name, i);
		rc = parse_grant(gj, where, &r->grants[i], err);
		if (rc != VOUCH_OK)
			goto out_release;
		r->n_grants++;
	}
	*out = r;
	return VOUCH_OK;
out_release:
	role_release(r);
	return rc;
}

struct role_peek {
	struct dir_cache *cache; /* NULL: none */
	const char *const *names;
	struct role_compiled **roles; /* out, one reference each */
	char *err;
	bool failed; /* err says why */
	size_t missing;
};

static int role_peek_cb(size_t i, const struct vouch_store_obj *o, void *ctx)
{
	struct role_peek *p = ctx;
	const char *name = p->names[i];
	struct role_slot *s = NULL;
	bool found = false;
	int rc;

	if (o == NULL) {
		p->missing = i;
		return VOUCH_ERR_STORE_NOT_FOUND;
	}
	if (p->cache != NULL) {
		s = role_slot(p->cache, name, &found);
		if (found && s->role->text_len == o->json_len &&
		    memcmp(s->role->text, o->json, o->json_len) == 0) {
			s->used = ++p->cache->clock;
			s->role->refs++;
			p->roles[i] = s->role;
			return 0;
		}
	}
	rc = role_parse(name, o->json, o->json_len, &p->roles[i], p->err);
	if (rc != VOUCH_OK) {
		p->failed = true;
		return rc;
	}
	if (s == NULL)
		return 0;
	/* A stale entry of the same name, or the one its set gives up. */
	if (s->role != NULL)
		role_slot_clear(p->cache, s);
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->role = p->roles[i];
	s->role->refs++;
	s->role->id = ++p->cache->role_ids;
	s->used = ++p->cache->clock;
	p->cache->role_text += s->role->text_len;
	role_cache_trim(p->cache, s);
	return 0;
}

/* The compiled grants of the roles as stored now, read together (roles[i]: one reference each,
 * role_release(); all NULL on failure). */
static int roles_get(struct vouch_store *store, struct dir_cache *cache, const char *const *names,
                     size_t n, struct role_compiled **roles, char *err)
{
	struct role_peek p = {cache, names, roles, err, false, SIZE_MAX};
	int rc = vouch_store_obj_peek(store, "role", names, n, role_peek_cb, &p);

	if (rc == VOUCH_OK)
		return VOUCH_OK;
	for (size_t i = 0; i < n; i++) {
		role_release(roles[i]);
		roles[i] = NULL;
	}
	if (p.failed)
		return rc;
	if (p.missing < n)
		return fail(err, VOUCH_ERR_STORE_NOT_FOUND, "no role \"%.64s\"", names[p.missing]);
	if (rc == VOUCH_ERR_INVALID) {
		/* A name the store refuses outright cannot be stored: name the first such. */
		for (size_t i = 0; i < n; i++) {
			if (!name_ok("role", names[i]))
				return fail(err, VOUCH_ERR_STORE_NOT_FOUND, "no role \"%.64s\"",
				            names[i]);
		}
	}
	return fail(err, rc, "roles: %s", vouch_strerror(rc));
}

struct user_peek {
	struct dir_cache *cache; /* NULL: none */
	json_t *json;            /* out, one reference */
	struct user_slot *memo;  /* out: the user's last compile, of this very text */
	char *text;              /* out without memo (with a cache): a copy of the text */
	size_t text_len;
};

static int user_peek_cb(size_t i, const struct vouch_store_obj *o, void *ctx)
{
	struct user_peek *p = ctx;
	struct user_slot *u;

	(void)i;
	if (o == NULL)
		return VOUCH_ERR_STORE_NOT_FOUND;
	u = p->cache != NULL ? user_slot(p->cache, o->name) : NULL;
	if (u != NULL && u->text_len == o->json_len && memcmp(u->text, o->json, o->json_len) == 0) {
		p->memo = u;
		p->json = json_incref(u->json);
		return 0;
	}
	p->json = json_loadb(o->json, o->json_len, JSON_REJECT_DUPLICATES, NULL);
	/* Kept for the memo; without memory there is simply none. */
	if (p->cache != NULL && (p->text = malloc(o->json_len)) != NULL) {
		memcpy(p->text, o->json, o->json_len);
		p->text_len = o->json_len;
	}
	return 0;
}

/* What the user's compile needs of the stored user: *json (one reference); *memo, their last
 * compile when it was of this very text; else *text, a copy of it (free(); NULL without a
 * cache). */
static int user_get(struct vouch_store *store, struct dir_cache *cache, const char *name,
                    json_t **json, struct user_slot **memo, char **text, size_t *text_len,
                    char *err)
{
	struct user_peek p = {cache, NULL, NULL, NULL, 0};
	int rc;

	*json = NULL;
	*memo = NULL;
	*text = NULL;
	*text_len = 0;
	rc = vouch_store_obj_peek(store, "user", &name, 1, user_peek_cb, &p);
	if (rc == VOUCH_OK && !json_is_object(p.json))
		rc = VOUCH_ERR_STORE_CORRUPT;
	if (rc != VOUCH_OK) {
		json_decref(p.json);
		free(p.text);
	}
	if (rc == VOUCH_ERR_STORE_NOT_FOUND || rc == VOUCH_ERR_INVALID)
		return fail(err, VOUCH_ERR_STORE_NOT_FOUND, "no user \"%.64s\"", name);
	if (rc == VOUCH_ERR_STORE_CORRUPT)
		return fail(err, rc, "user %.64s: stored object is not JSON", name);
	if (rc != VOUCH_OK)
		return fail(err, rc, "user %.64s: %s", name, vouch_strerror(rc));
	*json = p.json;
	*memo = p.memo;
	*text = p.text;
	*text_len = p.text_len;
	return VOUCH_OK;
}

/* Everything a compile holds on to: the JSON and roles its strings point into, and the
 * permissions. */
struct compile {
	json_t *user;
	char *user_text; /* for the memo */
	size_t user_text_len;
	struct user_slot *memo;
	struct role_compiled *roles[VOUCH_POLICY_MAX_ROLES];
	const char *role_names[VOUCH_POLICY_MAX_ROLES];
	size_t n_roles;
	struct vouch_policy_perm *perms;
	size_t n_perms;
};

static void compile_clear(struct compile *c)
{
	for (size_t i = 0; i < c->n_roles; i++)
		role_release(c->roles[i]);
	json_decref(c->user);
	free(c->user_text);
	free(c->perms);
}

/* Whether the memo is the compile of c's roles (its user text is c's) under rule. */
static bool memo_holds(const struct user_slot *u, const struct compile *c, const char *rule)
{
	if (u->n_roles != c->n_roles || strcmp(u->rule, rule) != 0)
		return false;
	for (size_t i = 0; i < c->n_roles; i++) {
		if (c->roles[i]->id == 0 || c->roles[i]->id != u->role_ids[i])
			return false;
	}
	return true;
}

static int compiled_copy(const struct vouch_dir_compiled *from, struct vouch_dir_compiled *to)
{
	*to = *from;
	to->perm = malloc(from->perm_len > 0 ? from->perm_len : 1);
	if (to->perm == NULL) {
		memset(to, 0, sizeof(*to));
		return VOUCH_ERR_NOMEM;
	}
	memcpy(to->perm, from->perm, from->perm_len);
	return VOUCH_OK;
}

/* A free user slot, else the least recently used. */
static struct user_slot *user_victim(struct dir_cache *c)
{
	struct user_slot *lru = &c->users[0];

	for (size_t i = 0; i < USER_SLOTS; i++) {
		if (c->users[i].text == NULL)
			return &c->users[i];
		if (c->users[i].used < lru->used)
			lru = &c->users[i];
	}
	return lru;
}

/* Keep out as the user's last compile (a memo that does not fit is simply not kept). */
static void memo_put(struct dir_cache *cache, const char *user, struct compile *c, const char *rule,
                     const struct vouch_dir_compiled *out)
{
	struct user_slot *u = c->memo, *lru;
	size_t text_len = u != NULL ? u->text_len : c->user_text_len;

	if (u == NULL && c->user_text == NULL)
		return;
	if (text_len + out->perm_len > USER_BYTES / 4) {
		if (u != NULL)
			user_slot_clear(cache, u);
		return;
	}
	if (u == NULL) {
		u = user_slot(cache, user);
		if (u == NULL)
			u = user_victim(cache);
		if (u->text != NULL)
			user_slot_clear(cache, u);
		snprintf(u->name, sizeof(u->name), "%s", user);
		u->text = c->user_text;
		u->text_len = c->user_text_len;
		c->user_text = NULL;
		u->json = json_incref(c->user);
		cache->user_bytes += u->text_len;
	} else {
		cache->user_bytes -= u->out.perm_len;
		vouch_dir_compiled_clear(&u->out);
	}
	if (compiled_copy(out, &u->out) != VOUCH_OK) {
		user_slot_clear(cache, u);
		return;
	}
	cache->user_bytes += u->out.perm_len;
	snprintf(u->rule, sizeof(u->rule), "%s", rule);
	u->n_roles = c->n_roles;
	for (size_t i = 0; i < c->n_roles; i++)
		u->role_ids[i] = c->roles[i]->id;
	u->used = ++cache->clock;
	while (cache->user_bytes > USER_BYTES) {
		lru = NULL;
		for (size_t i = 0; i < USER_SLOTS; i++) {
			struct user_slot *s = &cache->users[i];

			if (s->text != NULL && s != u && (lru == NULL || s->used < lru->used))
				lru = s;
		}
		if (lru == NULL)
			break;
		user_slot_clear(cache, lru);
	}
}

/* A permission of grant g of role index r, narrowed to the external window [ef, eu) (0: none).
 * false when the narrowed validity is empty: the permission could never hold. */
static bool perm_of(const struct grant *g, uint16_t r, const json_t *user_trainings, int64_t ef,
                    int64_t eu, struct vouch_policy_perm *p)
{
	memset(p, 0, sizeof(*p));
	p->deny = g->deny;
	p->role = r;
	p->zone = g->zone;
	p->type = g->type;
	p->id = g->id;
	p->tags = g->n_tags > 0 ? g->tags : NULL;
	p->n_tags = g->n_tags;
	p->actions = g->actions;
	p->windows = g->n_windows > 0 ? g->windows : NULL;
	p->n_windows = g->n_windows;
	p->valid_from = g->valid_from;
	p->valid_until = g->valid_until;
	if (ef != 0 && (p->valid_from == 0 || p->valid_from < ef))
		p->valid_from = ef;
	if (eu != 0 && (p->valid_until == 0 || p->valid_until > eu))
		p->valid_until = eu;
	if (p->valid_from != 0 && p->valid_until != 0 && p->valid_from >= p->valid_until)
		return false;
	if (g->training != NULL) {
		const char *exp = json_string_value(json_object_get(user_trainings, g->training));

		p->training = g->training;
		/* No such training: 0, which never holds. */
		if (exp == NULL || vouch_dir_parse_time(exp, &p->training_expires) != VOUCH_OK)
			p->training_expires = 0;
	}
	p->person_zone = g->person_zone;
	p->readings = g->n_readings > 0 ? g->readings : NULL;
	p->n_readings = g->n_readings;
	return true;
}

static int compile_perms(struct compile *c, int64_t ef, int64_t eu, char *err)
{
	const json_t *trainings = json_object_get(c->user, "trainings");
	size_t total = 0;

	for (size_t r = 0; r < c->n_roles; r++)
		total += c->roles[r]->n_grants;
	if (total > VOUCH_POLICY_MAX_PERMS)
		return fail(err, VOUCH_ERR_INVALID,
		            "the user's roles hold %zu grants; at most %d fit a credential", total,
		            VOUCH_POLICY_MAX_PERMS);
	if (total == 0)
		return VOUCH_OK;
	c->perms = calloc(total, sizeof(*c->perms));
	if (c->perms == NULL)
		return fail(err, VOUCH_ERR_NOMEM, "out of memory");
	for (size_t r = 0; r < c->n_roles; r++) {
		const struct role_compiled *role = c->roles[r];

		for (size_t i = 0; i < role->n_grants; i++) {
			if (perm_of(&role->grants[i], (uint16_t)r, trainings, ef, eu,
			            &c->perms[c->n_perms]))
				c->n_perms++;
		}
	}
	return VOUCH_OK;
}

int vouch_dir_compile_user(struct vouch_store *store, const char *user, const char *tz_rule,
                           int64_t now, struct vouch_dir_compiled *out, char err[VOUCH_DIR_ERR_MAX])
{
	char rule[VOUCH_TZ_RULE_MAX + 1];
	struct dir_cache *cache;
	struct compile c;
	struct vouch_policy_set set;
	const char *status, *kind;
	int64_t ef = 0, eu = 0;
	uint8_t *buf = NULL, *shrunk;
	size_t len = 0;
	json_t *roles, *ext, *v;
	size_t i;
	int rc;

	(void)now; /* the permissions carry their own validity; decisions supply the time */
	memset(&c, 0, sizeof(c));
	if (err != NULL)
		err[0] = '\0';
	if (out == NULL)
		return fail(err, VOUCH_ERR_INVALID, "missing argument");
	memset(out, 0, sizeof(*out));
	if (store == NULL || user == NULL)
		return fail(err, VOUCH_ERR_INVALID, "missing argument");
	rc = resolve_tz(tz_rule, rule, err);
	if (rc != VOUCH_OK)
		return rc;
	cache = dir_cache_of(store);
	rc = user_get(store, cache, user, &c.user, &c.memo, &c.user_text, &c.user_text_len, err);
	if (rc != VOUCH_OK)
		goto out_clear;
	status = json_string_value(json_object_get(c.user, "status"));
	if (status != NULL && strcmp(status, "active") != 0) {
		rc = fail(err, VOUCH_ERR_STORE_NOT_FOUND, "user %s is %s", user, status);
		goto out_clear;
	}
	kind = json_string_value(json_object_get(c.user, "kind"));
	ext = json_object_get(c.user, "external");
	if (kind != NULL && strcmp(kind, "external") == 0) {
		if (vouch_dir_parse_time(json_string_value(json_object_get(ext, "valid_from")),
		                         &ef) != VOUCH_OK ||
		    vouch_dir_parse_time(json_string_value(json_object_get(ext, "valid_until")),
		                         &eu) != VOUCH_OK ||
		    ef >= eu) {
			rc = fail(err, VOUCH_ERR_STORE_CORRUPT,
			          "user %s: external window unreadable", user);
			goto out_clear;
		}
		/* 0 means unbounded to the policy: an external window that starts at the epoch
		 * starts one second later. */
		if (ef == 0)
			ef = 1;
	}
	roles = json_object_get(c.user, "roles");
	if (!json_is_array(roles) || json_array_size(roles) > VOUCH_POLICY_MAX_ROLES) {
		rc = fail(err, VOUCH_ERR_STORE_CORRUPT, "user %s: roles unreadable", user);
		goto out_clear;
	}
	json_array_foreach(roles, i, v)
	{
		c.role_names[i] = json_string_value(v);
		if (c.role_names[i] == NULL) {
			rc = fail(err, VOUCH_ERR_STORE_CORRUPT, "user %s: roles unreadable", user);
			goto out_clear;
		}
	}
	rc = roles_get(store, cache, c.role_names, json_array_size(roles), c.roles, err);
	if (rc != VOUCH_OK)
		goto out_clear;
	c.n_roles = json_array_size(roles);
	if (c.memo != NULL && memo_holds(c.memo, &c, rule)) {
		c.memo->used = ++cache->clock;
		rc = compiled_copy(&c.memo->out, out);
		if (rc != VOUCH_OK)
			fail(err, rc, "out of memory");
		goto out_clear;
	}
	for (i = 0; i < c.n_roles; i++)
		out->admin = out->admin || c.roles[i]->admin;
	rc = compile_perms(&c, ef, eu, err);
	if (rc != VOUCH_OK)
		goto out_clear;

	memset(&set, 0, sizeof(set));
	set.tz = rule;
	set.roles = c.role_names;
	set.n_roles = c.n_roles;
	set.perms = c.perms;
	set.n_perms = c.n_perms;
	buf = malloc(VOUCH_POLICY_ENCODED_MAX);
	if (buf == NULL) {
		rc = fail(err, VOUCH_ERR_NOMEM, "out of memory");
		goto out_clear;
	}
	rc = vouch_policy_encode(&set, buf, VOUCH_POLICY_ENCODED_MAX, &len);
	if (rc != VOUCH_OK) {
		fail(err, rc, "user %s: the permissions do not encode: %s", user,
		     vouch_strerror(rc));
		goto out_free_buf;
	}
	shrunk = realloc(buf, len > 0 ? len : 1);
	if (shrunk != NULL)
		buf = shrunk;
	out->perm = buf;
	out->perm_len = len;
	out->valid_until = eu;
	buf = NULL;
	if (cache != NULL)
		memo_put(cache, user, &c, rule, out);
	rc = VOUCH_OK;
out_free_buf:
	free(buf);
out_clear:
	compile_clear(&c);
	if (rc != VOUCH_OK)
		vouch_dir_compiled_clear(out);
	return rc;
}

/* ---- users of a role ------------------------------------------------------------------------- */

struct holders {
	const char *role;
	char (*names)[VOUCH_STORE_ID_MAX + 1];
	size_t n;
	size_t cap;
};

static int collect_holder(const struct vouch_store_obj *o, void *ctx)
{
	struct holders *h = ctx;
	json_t *j = json_loadb(o->json, o->json_len, 0, NULL);
	json_t *v;
	size_t i;
	bool holds = false;

	json_array_foreach(json_object_get(j, "roles"), i, v) holds = holds || str_is(v, h->role);
	json_decref(j);
	if (!holds)
		return 0;
	if (h->n == h->cap) {
		size_t cap = h->cap == 0 ? 16 : 2 * h->cap;
		char(*grown)[VOUCH_STORE_ID_MAX + 1] = realloc(h->names, cap * sizeof(*h->names));

		if (grown == NULL)
			return VOUCH_ERR_NOMEM;
		h->names = grown;
		h->cap = cap;
	}
	snprintf(h->names[h->n++], sizeof(h->names[0]), "%s", o->name);
	return 0;
}

int vouch_dir_users_with_role(struct vouch_store *store, const char *role,
                              int (*cb)(const char *user, void *ctx), void *ctx)
{
	struct holders h = {.role = role};
	int rc;

	if (store == NULL || role == NULL || cb == NULL)
		return VOUCH_ERR_INVALID;
	/* Collected first: the callback may well list objects itself (a user's credentials),
	 * which the store does not allow while this list is open. */
	rc = vouch_store_obj_list(store, "user", NULL, collect_holder, &h);
	for (size_t i = 0; rc == VOUCH_OK && i < h.n; i++) {
		int c = cb(h.names[i], ctx);

		if (c != 0) {
			rc = c > 0 ? VOUCH_OK : c;
			break;
		}
	}
	free(h.names);
	return rc;
}
