/*
 * The store's front: URL dispatch, argument validation shared by every back-end, and the event
 * field formats (docs/vouchd.md, "Events"), so every back-end records byte-identical events.
 */
#define _POSIX_C_SOURCE 200809L /* gmtime_r, clock_gettime */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "store.h"
#include "vouch/revlist.h"

/* ---- validation ------------------------------------------------------------------------------ */

/* Valid UTF-8 without control characters, 1..max bytes (0..max when allow_empty). Everything we
 * store ends up in JSON and in logs, so it must be text jansson accepts. */
static bool text_ok(const char *s, size_t max, bool allow_empty)
{
	size_t len;
	json_t *j;

	if (s == NULL)
		return false;
	len = strnlen(s, max + 1);
	if (len > max || (len == 0 && !allow_empty))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	j = json_stringn(s, len);
	if (j == NULL)
		return false;
	json_decref(j);
	return true;
}

/* Names that go into URLs, queries and event types: [A-Za-z0-9._:-]{1,max}. */
static bool ident_ok(const char *s, size_t max)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, max + 1);
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != ':' && c != '-')
			return false;
	}
	return true;
}

/* Compact form of a JSON object text, allocated; NULL when it is not one (or no memory). The
 * event log stores one canonical spelling whatever the caller formatted. */
static char *json_object_compact(const char *s)
{
	json_t *j;
	char *out = NULL;

	if (s == NULL || strnlen(s, VOUCH_STORE_META_MAX + 1) > VOUCH_STORE_META_MAX)
		return NULL;
	j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && json_is_object(j))
		out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return out;
}

static bool sans_ok(const char *s)
{
	json_t *j;
	size_t i;
	json_t *v;
	bool ok;

	if (s == NULL || strnlen(s, VOUCH_STORE_SANS_MAX + 1) > VOUCH_STORE_SANS_MAX)
		return false;
	if (s[0] == '\0')
		return true;
	j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	ok = j != NULL && json_is_array(j);
	json_array_foreach(j, i, v)
	{
		if (!json_is_string(v))
			ok = false;
	}
	json_decref(j);
	return ok;
}

int vouch_store_serial_canon(const char *hex, char out[VOUCH_STORE_SERIAL_MAX + 1])
{
	int rc = VOUCH_ERR_INVALID;
	size_t len;
	size_t start = 0;
	size_t digits;
	size_t o = 0;

	if (out == NULL)
		return VOUCH_ERR_INVALID;
	out[0] = '\0';
	if (hex == NULL)
		goto out;
	/* Room for generous zero padding, but bounded so junk is not scanned forever. */
	len = strnlen(hex, 2 * VOUCH_STORE_SERIAL_MAX + 1);
	if (len == 0 || len > 2 * VOUCH_STORE_SERIAL_MAX)
		goto out;
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)hex[i]))
			goto out;
	}
	while (start < len && hex[start] == '0')
		start++;
	digits = len - start;
	if (digits == 0 || digits > VOUCH_STORE_SERIAL_MAX)
		goto out;
	if (digits % 2 != 0)
		out[o++] = '0';
	for (size_t i = start; i < len; i++)
		out[o++] = (char)toupper((unsigned char)hex[i]);
	out[o] = '\0';
	rc = VOUCH_OK;
out:
	if (rc != VOUCH_OK)
		out[0] = '\0';
	return rc;
}

static bool cert_ok(const struct vouch_store_cert *c)
{
	char canon[VOUCH_STORE_SERIAL_MAX + 1];

	return c != NULL && vouch_store_serial_canon(c->serial, canon) == VOUCH_OK &&
	       text_ok(c->device, VOUCH_STORE_DEVICE_MAX, false) &&
	       text_ok(c->subject, VOUCH_STORE_SUBJECT_MAX, false) &&
	       ident_ok(c->profile, VOUCH_STORE_PROFILE_MAX) &&
	       ident_ok(c->via, VOUCH_STORE_VIA_MAX) && c->der != NULL && c->der_len > 0 &&
	       c->der_len <= VOUCH_STORE_DER_MAX && c->not_before <= c->not_after;
}

/* Whether a record's serial is already canonical, so it can be passed on without a copy. */
static bool serial_is_canon(const char *serial)
{
	char canon[VOUCH_STORE_SERIAL_MAX + 1];

	return vouch_store_serial_canon(serial, canon) == VOUCH_OK && strcmp(canon, serial) == 0;
}

static bool actor_ok(const char *actor)
{
	return text_ok(actor, VOUCH_STORE_ACTOR_MAX, false);
}

/* ---- records ------------------------------------------------------------------------------- */

void vouch_store_cert_clear(struct vouch_store_cert *cert)
{
	if (cert == NULL)
		return;
	free(cert->der);
	memset(cert, 0, sizeof(*cert));
}

enum vouch_store_status vouch_store_cert_status_at(const struct vouch_store_cert *cert, int64_t now)
{
	if (cert->revoked)
		return VOUCH_STORE_STATUS_REVOKED;
	if (cert->not_after < now)
		return VOUCH_STORE_STATUS_EXPIRED;
	return VOUCH_STORE_STATUS_VALID;
}

static const char *const status_names[] = {
    [VOUCH_STORE_STATUS_ANY] = "any",
    [VOUCH_STORE_STATUS_VALID] = "valid",
    [VOUCH_STORE_STATUS_REVOKED] = "revoked",
    [VOUCH_STORE_STATUS_EXPIRED] = "expired",
};

const char *vouch_store_status_name(enum vouch_store_status status)
{
	if ((size_t)status >= VOUCH_ARRAY_LEN(status_names))
		return "unknown";
	return status_names[status];
}

int vouch_store_status_parse(const char *name, enum vouch_store_status *out)
{
	if (out == NULL)
		return VOUCH_ERR_INVALID;
	*out = VOUCH_STORE_STATUS_ANY;
	if (name == NULL)
		return VOUCH_ERR_INVALID;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(status_names); i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*out = (enum vouch_store_status)i;
			return VOUCH_OK;
		}
	}
	return VOUCH_ERR_INVALID;
}

void vouch_store_time_iso(int64_t t, char out[VOUCH_STORE_TIME_LEN])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		snprintf(out, VOUCH_STORE_TIME_LEN, "invalid");
		return;
	}
	snprintf(out, VOUCH_STORE_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void vouch_store_now_iso(char out[VOUCH_STORE_TIME_LEN])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, VOUCH_STORE_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, VOUCH_STORE_TIME_LEN - n, ".%03dZ", (int)(ts.tv_nsec / 1000000L));
}

/* ---- event fields -------------------------------------------------------------------------- */

static char *dump_fields(json_t *obj)
{
	char *s = NULL;

	if (obj != NULL)
		s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	return s;
}

char *vouch_store_fields_cert_issue(const struct vouch_store_cert *cert)
{
	return dump_fields(json_pack("{s:s, s:s, s:s, s:s, s:s}", "serial", cert->serial, "subject",
	                             cert->subject, "profile", cert->profile, "device",
	                             cert->device, "via", cert->via));
}

char *vouch_store_fields_cert_revoke(const char *serial, const char *reason)
{
	return dump_fields(json_pack("{s:s, s:s}", "serial", serial, "reason", reason));
}

char *vouch_store_fields_token_create(const char *device, int64_t expires_at)
{
	char iso[VOUCH_STORE_TIME_LEN];

	vouch_store_time_iso(expires_at, iso);
	return dump_fields(json_pack("{s:s, s:s}", "device", device, "expires", iso));
}

char *vouch_store_fields_token_use(const char *device, const char *serial)
{
	return dump_fields(json_pack("{s:s, s:s}", "device", device, "serial", serial));
}

char *vouch_store_fields_token_refuse(const char *device, int refusal)
{
	const char *why = "error";

	switch (refusal) {
	case VOUCH_ERR_STORE_TOKEN_UNKNOWN:
		why = "unknown";
		break;
	case VOUCH_ERR_STORE_TOKEN_DEVICE:
		why = "wrong-device";
		break;
	case VOUCH_ERR_STORE_TOKEN_USED:
		why = "reused";
		break;
	case VOUCH_ERR_STORE_TOKEN_EXPIRED:
		why = "expired";
		break;
	default:
		break;
	}
	return dump_fields(json_pack("{s:s?, s:s}", "device", device, "why", why));
}

char *vouch_store_fields_crl_issue(const char *name, uint64_t number)
{
	/* CRL numbers stay far below 2^53, so a JSON integer is exact everywhere. */
	return dump_fields(json_pack("{s:s, s:I}", "crl", name, "number", (json_int_t)number));
}

char *vouch_store_fields_obj(const char *name, int64_t version, const char *json)
{
	json_t *obj;

	if (json == NULL)
		return dump_fields(
		    json_pack("{s:s, s:I}", "name", name, "version", (json_int_t)version));
	obj = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	if (obj == NULL)
		return NULL;
	return dump_fields(json_pack("{s:s, s:I, s:o}", "name", name, "version",
	                             (json_int_t)version, "object", obj));
}

static const char *rev_kind_name(int kind)
{
	switch (kind) {
	case VOUCH_REVLIST_TOKEN:
		return "token";
	case VOUCH_REVLIST_SUBJECT:
		return "subject";
	case VOUCH_REVLIST_PHONE:
		return "phone";
	default:
		return NULL;
	}
}

/* A revocation entry's value as the event shows it: the user name of a subject, hex otherwise. */
static json_t *rev_value_json(const struct vouch_store_rev *e)
{
	static const char digits[] = "0123456789abcdef";
	char hex[2 * VOUCH_STORE_REV_VALUE_MAX + 1];

	if (e->kind == VOUCH_REVLIST_SUBJECT)
		return json_stringn((const char *)e->value, e->value_len);
	for (size_t i = 0; i < e->value_len; i++) {
		hex[2 * i] = digits[e->value[i] >> 4];
		hex[2 * i + 1] = digits[e->value[i] & 0x0f];
	}
	hex[2 * e->value_len] = '\0';
	return json_string(hex);
}

char *vouch_store_fields_revlist_add(uint64_t version, const struct vouch_store_rev *entries,
                                     size_t n)
{
	char iso[VOUCH_STORE_TIME_LEN];
	json_t *arr = json_array();

	if (arr == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		vouch_store_time_iso(entries[i].revoked_at, iso);
		if (json_array_append_new(
		        arr, json_pack("{s:s, s:o, s:s}", "kind", rev_kind_name(entries[i].kind),
		                       "value", rev_value_json(&entries[i]), "revoked_at", iso)) !=
		    0) {
			json_decref(arr);
			return NULL;
		}
	}
	/* Versions stay far below 2^53, so a JSON integer is exact everywhere. */
	return dump_fields(json_pack("{s:I, s:o}", "version", (json_int_t)version, "entries", arr));
}

int vouch_store_event_json(const struct vouch_store_event *event, char **json)
{
	int rc = VOUCH_ERR_INTERNAL;
	json_t *obj = NULL;
	json_t *fields = NULL;

	if (json == NULL)
		return VOUCH_ERR_INVALID;
	*json = NULL;
	if (event == NULL || event->fields == NULL)
		return VOUCH_ERR_INVALID;
	obj = json_pack("{s:I, s:s, s:s, s:s}", "seq", (json_int_t)event->seq, "time", event->time,
	                "type", event->type, "actor", event->actor);
	if (obj == NULL) {
		rc = VOUCH_ERR_INVALID;
		goto out_free_obj;
	}
	fields = json_loads(event->fields, 0, NULL);
	if (fields == NULL || !json_is_object(fields)) {
		rc = VOUCH_ERR_STORE_CORRUPT;
		goto out_free_obj;
	}
	/* The envelope keys win over a field of the same name. */
	if (json_object_update_missing(obj, fields) != 0) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free_obj;
	}
	*json = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	rc = *json != NULL ? VOUCH_OK : VOUCH_ERR_NOMEM;
out_free_obj:
	json_decref(fields);
	json_decref(obj);
	return rc;
}

/* ---- opening ------------------------------------------------------------------------------- */

int vouch_store_open(const char *url, struct vouch_store **out)
{
	static const char sqlite_scheme[] = "sqlite:";
	const char *path;

	if (out == NULL)
		return VOUCH_ERR_INVALID;
	*out = NULL;
	if (url == NULL)
		return VOUCH_ERR_INVALID;
	if (strncmp(url, sqlite_scheme, sizeof(sqlite_scheme) - 1) == 0) {
		path = url + sizeof(sqlite_scheme) - 1;
		/* "sqlite:///abs" is the URL form of "sqlite:/abs". */
		if (strncmp(path, "//", 2) == 0)
			path += 2;
		if (path[0] == '\0')
			return VOUCH_ERR_INVALID;
		return vouch_store_sqlite_open(path, out);
	}
	if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
		return VOUCH_ERR_UNSUPPORTED;
	return VOUCH_ERR_INVALID;
}

void vouch_store_close(struct vouch_store *store)
{
	if (store == NULL)
		return;
	vouch_store_set_dir_cache(store, NULL, NULL);
	store->ops->close(store);
}

void *vouch_store_dir_cache(const struct vouch_store *store)
{
	return store != NULL ? store->dir_cache : NULL;
}

void vouch_store_set_dir_cache(struct vouch_store *store, void *cache, void (*cache_free)(void *))
{
	if (store == NULL)
		return;
	if (store->dir_cache_free != NULL && store->dir_cache != NULL && store->dir_cache != cache)
		store->dir_cache_free(store->dir_cache);
	store->dir_cache = cache;
	store->dir_cache_free = cache_free;
}

const char *vouch_store_backend(const struct vouch_store *store)
{
	return store != NULL ? store->ops->name : "none";
}

int vouch_store_schema_version(struct vouch_store *store, int *version)
{
	if (version == NULL)
		return VOUCH_ERR_INVALID;
	*version = 0;
	if (store == NULL)
		return VOUCH_ERR_INVALID;
	return store->ops->schema_version(store, version);
}

int vouch_store_check(struct vouch_store *store)
{
	if (store == NULL)
		return VOUCH_ERR_INVALID;
	return store->ops->check(store);
}

/* ---- tokens -------------------------------------------------------------------------------- */

int vouch_store_token_create(struct vouch_store *store, const struct vouch_store_token *token,
                             const char *actor)
{
	if (store == NULL || token == NULL || !actor_ok(actor) ||
	    !text_ok(token->device, VOUCH_STORE_DEVICE_MAX, false) ||
	    !ident_ok(token->profile, VOUCH_STORE_PROFILE_MAX) || !sans_ok(token->sans) ||
	    token->expires_at < token->created_at)
		return VOUCH_ERR_INVALID;
	return store->ops->token_create(store, token, actor);
}

int vouch_store_token_check(struct vouch_store *store, const char *device,
                            const uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN], int64_t now,
                            const char *actor, struct vouch_store_token *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (store == NULL || hash == NULL || !actor_ok(actor))
		return VOUCH_ERR_INVALID;
	/* The device comes from an unauthenticated client: a bad one is simply unknown, and the
	 * refusal is recorded without it rather than with text that is not JSON-safe. */
	if (!text_ok(device, VOUCH_STORE_DEVICE_MAX, false))
		device = NULL;
	return store->ops->token_check(store, device, hash, now, actor, out);
}

int vouch_store_token_consume_issue(struct vouch_store *store, const char *device,
                                    const uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN], int64_t now,
                                    const struct vouch_store_cert *cert, const char *actor)
{
	struct vouch_store_cert c;

	if (store == NULL || hash == NULL || !actor_ok(actor) || !cert_ok(cert) ||
	    !text_ok(device, VOUCH_STORE_DEVICE_MAX, false) || strcmp(device, cert->device) != 0)
		return VOUCH_ERR_INVALID;
	c = *cert;
	vouch_store_serial_canon(cert->serial, c.serial);
	return store->ops->token_consume_issue(store, device, hash, now, &c, actor);
}

/* ---- certificates -------------------------------------------------------------------------- */

int vouch_store_cert_insert(struct vouch_store *store, const struct vouch_store_cert *cert,
                            const char *actor)
{
	struct vouch_store_cert c;

	if (store == NULL || !actor_ok(actor) || !cert_ok(cert))
		return VOUCH_ERR_INVALID;
	c = *cert;
	vouch_store_serial_canon(cert->serial, c.serial);
	return store->ops->cert_insert(store, &c, 1, actor);
}

int vouch_store_cert_insert_batch(struct vouch_store *store, const struct vouch_store_cert *certs,
                                  size_t n, const char *actor)
{
	int rc = VOUCH_ERR_INTERNAL;
	struct vouch_store_cert *copy = NULL;
	bool all_canon = true;

	if (store == NULL || !actor_ok(actor) || (certs == NULL && n > 0))
		return VOUCH_ERR_INVALID;
	if (n == 0)
		return VOUCH_OK;
	for (size_t i = 0; i < n; i++) {
		if (!cert_ok(&certs[i]))
			return VOUCH_ERR_INVALID;
		if (all_canon && !serial_is_canon(certs[i].serial))
			all_canon = false;
	}
	if (all_canon)
		return store->ops->cert_insert(store, certs, n, actor);
	/* Only callers that did not canonicalise pay for the copy. */
	copy = calloc(n, sizeof(*copy));
	if (copy == NULL)
		return VOUCH_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		copy[i] = certs[i];
		vouch_store_serial_canon(certs[i].serial, copy[i].serial);
	}
	rc = store->ops->cert_insert(store, copy, n, actor);
	free(copy);
	return rc;
}

int vouch_store_cert_get(struct vouch_store *store, const char *serial,
                         struct vouch_store_cert *out)
{
	char canon[VOUCH_STORE_SERIAL_MAX + 1];

	if (out == NULL)
		return VOUCH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (store == NULL || vouch_store_serial_canon(serial, canon) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	return store->ops->cert_get(store, canon, out);
}

int vouch_store_cert_state(struct vouch_store *store, const char *serial,
                           struct vouch_store_cert_state *out)
{
	char canon[VOUCH_STORE_SERIAL_MAX + 1];

	if (out == NULL)
		return VOUCH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (store == NULL || vouch_store_serial_canon(serial, canon) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	return store->ops->cert_state(store, canon, out);
}

int vouch_store_cert_list(struct vouch_store *store, const struct vouch_store_cert_filter *filter,
                          int (*cb)(const struct vouch_store_cert *cert, void *ctx), void *ctx)
{
	if (store == NULL || filter == NULL || cb == NULL ||
	    (filter->device != NULL && !text_ok(filter->device, VOUCH_STORE_DEVICE_MAX, false)) ||
	    (size_t)filter->status >= VOUCH_ARRAY_LEN(status_names))
		return VOUCH_ERR_INVALID;
	return store->ops->cert_list(store, filter, cb, ctx);
}

int vouch_store_cert_revoke(struct vouch_store *store, const char *serial, const char *reason,
                            int64_t when, const char *actor, bool *changed)
{
	char canon[VOUCH_STORE_SERIAL_MAX + 1];
	size_t count = 0;
	int rc;

	if (changed != NULL)
		*changed = false;
	if (store == NULL || !actor_ok(actor) || !ident_ok(reason, VOUCH_STORE_REASON_MAX) ||
	    vouch_store_serial_canon(serial, canon) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	rc = store->ops->cert_revoke(store, canon, NULL, reason, when, actor, &count);
	if (rc == VOUCH_OK && changed != NULL)
		*changed = count > 0;
	return rc;
}

int vouch_store_device_revoke(struct vouch_store *store, const char *device, const char *reason,
                              int64_t when, const char *actor, size_t *count)
{
	size_t n = 0;
	int rc;

	if (count != NULL)
		*count = 0;
	if (store == NULL || !actor_ok(actor) || !ident_ok(reason, VOUCH_STORE_REASON_MAX) ||
	    !text_ok(device, VOUCH_STORE_DEVICE_MAX, false))
		return VOUCH_ERR_INVALID;
	rc = store->ops->cert_revoke(store, NULL, device, reason, when, actor, &n);
	if (rc == VOUCH_OK && count != NULL)
		*count = n;
	return rc;
}

int vouch_store_revoked_list(struct vouch_store *store, int64_t min_not_after,
                             int (*cb)(const char *serial, int64_t revoked_at, const char *reason,
                                       void *ctx),
                             void *ctx)
{
	if (store == NULL || cb == NULL)
		return VOUCH_ERR_INVALID;
	return store->ops->revoked_list(store, min_not_after, cb, ctx);
}

/* ---- CRL state and meta -------------------------------------------------------------------- */

int vouch_store_crl_next(struct vouch_store *store, const char *name, int64_t this_update,
                         int64_t next_update, const char *actor, uint64_t *number)
{
	if (number == NULL)
		return VOUCH_ERR_INVALID;
	*number = 0;
	if (store == NULL || !ident_ok(name, VOUCH_STORE_NAME_MAX) || !actor_ok(actor) ||
	    next_update < this_update)
		return VOUCH_ERR_INVALID;
	return store->ops->crl_next(store, name, this_update, next_update, actor, number);
}

int vouch_store_crl_get(struct vouch_store *store, const char *name, struct vouch_store_crl *out)
{
	if (out == NULL)
		return VOUCH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (store == NULL || !ident_ok(name, VOUCH_STORE_NAME_MAX))
		return VOUCH_ERR_INVALID;
	return store->ops->crl_get(store, name, out);
}

int vouch_store_meta_set(struct vouch_store *store, const char *key, const void *value, size_t len)
{
	if (store == NULL || !ident_ok(key, VOUCH_STORE_KEY_MAX) || (value == NULL && len > 0) ||
	    len > VOUCH_STORE_META_MAX)
		return VOUCH_ERR_INVALID;
	return store->ops->meta_set(store, key, value, len);
}

int vouch_store_meta_get(struct vouch_store *store, const char *key, unsigned char **value,
                         size_t *len)
{
	if (value == NULL || len == NULL)
		return VOUCH_ERR_INVALID;
	*value = NULL;
	*len = 0;
	if (store == NULL || !ident_ok(key, VOUCH_STORE_KEY_MAX))
		return VOUCH_ERR_INVALID;
	return store->ops->meta_get(store, key, value, len);
}

/* ---- events -------------------------------------------------------------------------------- */

int vouch_store_event_append(struct vouch_store *store, const char *type, const char *actor,
                             const char *fields_json, int64_t *seq)
{
	char *fields = NULL;
	int rc;

	if (seq != NULL)
		*seq = 0;
	if (store == NULL || !ident_ok(type, VOUCH_STORE_TYPE_MAX) || !actor_ok(actor))
		return VOUCH_ERR_INVALID;
	fields = json_object_compact(fields_json != NULL ? fields_json : "{}");
	if (fields == NULL)
		return VOUCH_ERR_INVALID;
	rc = store->ops->event_append(store, type, actor, fields, seq);
	free(fields);
	return rc;
}

int vouch_store_event_list(struct vouch_store *store, int64_t after, size_t limit,
                           int (*cb)(const struct vouch_store_event *event, void *ctx), void *ctx)
{
	if (store == NULL || cb == NULL || after < 0)
		return VOUCH_ERR_INVALID;
	return store->ops->event_list(store, after, limit, cb, ctx);
}

/* ---- transactions -------------------------------------------------------------------------- */

int vouch_store_tx_begin(struct vouch_store *store)
{
	if (store == NULL)
		return VOUCH_ERR_INVALID;
	return store->ops->tx_begin(store);
}

int vouch_store_tx_commit(struct vouch_store *store)
{
	if (store == NULL)
		return VOUCH_ERR_INVALID;
	return store->ops->tx_commit(store);
}

void vouch_store_tx_rollback(struct vouch_store *store)
{
	if (store != NULL)
		store->ops->tx_rollback(store);
}

/* ---- directory objects --------------------------------------------------------------------- */

/* Object names and owners: 1..VOUCH_STORE_ID_MAX bytes of printable ASCII without spaces. */
static bool id_ok(const char *s)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, VOUCH_STORE_ID_MAX + 1);
	if (len == 0 || len > VOUCH_STORE_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	}
	return true;
}

/* One of the words of VOUCH_STORE_KINDS. */
static bool kind_ok(const char *kind)
{
	static const char kinds[] = VOUCH_STORE_KINDS;
	size_t len;
	const char *p = kinds;

	if (kind == NULL)
		return false;
	len = strnlen(kind, VOUCH_STORE_KIND_MAX + 1);
	if (len == 0 || len > VOUCH_STORE_KIND_MAX)
		return false;
	while ((p = strstr(p, kind)) != NULL) {
		if ((p == kinds || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
		p += len;
	}
	return false;
}

void vouch_store_obj_clear(struct vouch_store_obj *obj)
{
	if (obj == NULL)
		return;
	free(obj->json);
	memset(obj, 0, sizeof(*obj));
}

int vouch_store_obj_put(struct vouch_store *store, const char *kind, const char *name,
                        const char *owner, const char *json, int64_t expect_version, int64_t now,
                        const char *actor, int64_t *version)
{
	char *compact = NULL;
	int rc;

	if (version != NULL)
		*version = 0;
	if (owner != NULL && owner[0] == '\0')
		owner = NULL;
	if (store == NULL || !kind_ok(kind) || !id_ok(name) || (owner != NULL && !id_ok(owner)) ||
	    !actor_ok(actor) || expect_version < VOUCH_STORE_ANY || json == NULL ||
	    strnlen(json, VOUCH_STORE_OBJ_MAX + 1) > VOUCH_STORE_OBJ_MAX)
		return VOUCH_ERR_INVALID;
	compact = json_object_compact(json);
	if (compact == NULL)
		return VOUCH_ERR_INVALID;
	rc = store->ops->obj_put(store, kind, name, owner, compact, expect_version, now, actor,
	                         version);
	free(compact);
	return rc;
}

int vouch_store_obj_get(struct vouch_store *store, const char *kind, const char *name,
                        struct vouch_store_obj *out)
{
	if (out == NULL)
		return VOUCH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (store == NULL || !kind_ok(kind) || !id_ok(name))
		return VOUCH_ERR_INVALID;
	return store->ops->obj_get(store, kind, name, out);
}

int vouch_store_obj_delete(struct vouch_store *store, const char *kind, const char *name,
                           int64_t expect_version, const char *actor)
{
	if (store == NULL || !kind_ok(kind) || !id_ok(name) || !actor_ok(actor) ||
	    (expect_version != VOUCH_STORE_ANY && expect_version < 1))
		return VOUCH_ERR_INVALID;
	return store->ops->obj_delete(store, kind, name, expect_version, actor);
}

int vouch_store_obj_list(struct vouch_store *store, const char *kind, const char *owner,
                         int (*cb)(const struct vouch_store_obj *obj, void *ctx), void *ctx)
{
	if (store == NULL || cb == NULL || !kind_ok(kind) || (owner != NULL && !id_ok(owner)))
		return VOUCH_ERR_INVALID;
	return store->ops->obj_list(store, kind, owner, cb, ctx);
}

int vouch_store_obj_peek(struct vouch_store *store, const char *kind, const char *const *names,
                         size_t n,
                         int (*cb)(size_t i, const struct vouch_store_obj *obj, void *ctx),
                         void *ctx)
{
	if (store == NULL || cb == NULL || !kind_ok(kind) || (names == NULL && n > 0))
		return VOUCH_ERR_INVALID;
	for (size_t i = 0; i < n; i++) {
		if (!id_ok(names[i]))
			return VOUCH_ERR_INVALID;
	}
	return store->ops->obj_peek(store, kind, names, n, cb, ctx);
}

/* ---- authentication secrets ---------------------------------------------------------------- */

int vouch_store_auth_put(struct vouch_store *store, const struct vouch_store_auth *a)
{
	if (store == NULL || a == NULL || !id_ok(a->user) ||
	    !text_ok(a->pw_hash, VOUCH_STORE_PWHASH_MAX, true) ||
	    a->totp_sealed_len > VOUCH_STORE_SEALED_MAX || a->totp_last_step < 0)
		return VOUCH_ERR_INVALID;
	return store->ops->auth_put(store, a);
}

int vouch_store_auth_get(struct vouch_store *store, const char *user, struct vouch_store_auth *out)
{
	if (out == NULL)
		return VOUCH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (store == NULL || !id_ok(user))
		return VOUCH_ERR_INVALID;
	return store->ops->auth_get(store, user, out);
}

int vouch_store_auth_delete(struct vouch_store *store, const char *user)
{
	if (store == NULL || !id_ok(user))
		return VOUCH_ERR_INVALID;
	return store->ops->auth_delete(store, user);
}

/* ---- sessions ------------------------------------------------------------------------------ */

int vouch_store_session_put(struct vouch_store *store, const struct vouch_store_session *s)
{
	if (store == NULL || s == NULL || !id_ok(s->user) || s->expires_at < s->created_at)
		return VOUCH_ERR_INVALID;
	return store->ops->session_put(store, s);
}

int vouch_store_session_get(struct vouch_store *store,
                            const uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN], int64_t now,
                            struct vouch_store_session *out)
{
	if (out == NULL)
		return VOUCH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (store == NULL || hash == NULL)
		return VOUCH_ERR_INVALID;
	return store->ops->session_get(store, hash, now, out);
}

int vouch_store_session_delete_user(struct vouch_store *store, const char *user, size_t *count)
{
	size_t n = 0;
	int rc;

	if (count != NULL)
		*count = 0;
	if (store == NULL || !id_ok(user))
		return VOUCH_ERR_INVALID;
	rc = store->ops->session_delete_user(store, user, &n);
	if (rc == VOUCH_OK && count != NULL)
		*count = n;
	return rc;
}

int vouch_store_session_prune(struct vouch_store *store, int64_t now)
{
	if (store == NULL)
		return VOUCH_ERR_INVALID;
	return store->ops->session_prune(store, now);
}

/* ---- revocation list ----------------------------------------------------------------------- */

static bool rev_ok(const struct vouch_store_rev *e)
{
	if (rev_kind_name(e->kind) == NULL || e->value_len == 0 ||
	    e->value_len > VOUCH_STORE_REV_VALUE_MAX)
		return false;
	/* A subject is a user name: it goes into the event and the list as text. */
	if (e->kind == VOUCH_REVLIST_SUBJECT) {
		char name[VOUCH_STORE_REV_VALUE_MAX + 1];

		if (e->value_len > VOUCH_STORE_ID_MAX)
			return false;
		memcpy(name, e->value, e->value_len);
		name[e->value_len] = '\0';
		return strlen(name) == e->value_len && id_ok(name);
	}
	return true;
}

int vouch_store_rev_add(struct vouch_store *store, const struct vouch_store_rev *entries, size_t n,
                        const char *actor, uint64_t *version)
{
	if (version == NULL)
		return VOUCH_ERR_INVALID;
	*version = 0;
	if (store == NULL || entries == NULL || n == 0 || n > VOUCH_REVLIST_MAX_ENTRIES ||
	    !actor_ok(actor))
		return VOUCH_ERR_INVALID;
	for (size_t i = 0; i < n; i++) {
		if (!rev_ok(&entries[i]))
			return VOUCH_ERR_INVALID;
	}
	return store->ops->rev_add(store, entries, n, actor, version);
}

int vouch_store_rev_version(struct vouch_store *store, uint64_t *version)
{
	if (version == NULL)
		return VOUCH_ERR_INVALID;
	*version = 0;
	if (store == NULL)
		return VOUCH_ERR_INVALID;
	return store->ops->rev_version(store, version);
}

int vouch_store_rev_list(struct vouch_store *store, uint64_t since, int64_t now,
                         int (*cb)(const struct vouch_store_rev *rev, void *ctx), void *ctx)
{
	if (store == NULL || cb == NULL || since > INT64_MAX)
		return VOUCH_ERR_INVALID;
	return store->ops->rev_list(store, since, now, cb, ctx);
}
