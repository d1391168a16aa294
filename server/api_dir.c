/*
 * The directory's admin API (api_dir.h): list, read, write and delete zones, resources,
 * trainings and roles, and load a whole policy document. Every write validates through
 * directory.c and runs in one store transaction, so the If-Match check, the reference checks and
 * the write see the same state.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_dir.h"
#include "directory.h"
#include "handlers.h"
#include "vouch/log.h"

#define NAME_PATH_MAX (VOUCH_STORE_ID_MAX + 1)

struct route_kind {
	const char *plural;
	const char *kind;
};

static const struct route_kind route_kinds[] = {
    {"zones", "zone"},
    {"resources", "resource"},
    {"trainings", "training"},
    {"roles", "role"},
};

static const char *kind_of(const char *plural)
{
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(route_kinds); i++) {
		if (strcmp(plural, route_kinds[i].plural) == 0)
			return route_kinds[i].kind;
	}
	return NULL;
}

static void not_allowed(struct vouch_req *r, const char *allow)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "use %s", allow);
	vouch_req_header(r, "Allow", allow);
	vouch_req_api_error(r, 405, "method_not_allowed", msg);
}

static void internal(struct vouch_req *r, int rc, const char *what)
{
	vouch_log(VOUCH_LOG_ERROR, "api.dir", "op", what, "why", vouch_strerror(rc), NULL);
	vouch_req_api_error(r, 500, "internal", vouch_strerror(rc));
}

/* A refusal of directory.c, with its message. */
static void dir_error(struct vouch_req *r, int rc, const char *err, const char *what)
{
	const char *msg = err != NULL && err[0] != '\0' ? err : vouch_strerror(rc);

	switch (rc) {
	case VOUCH_ERR_INVALID:
		vouch_req_api_error(r, 400, "invalid", msg);
		break;
	case VOUCH_ERR_STORE_NOT_FOUND:
		vouch_req_api_error(r, 400, "unknown_reference", msg);
		break;
	case VOUCH_ERR_STORE_CONFLICT:
		vouch_req_api_error(r, 409, "conflict", msg);
		break;
	case VOUCH_ERR_STORE_IN_USE:
		vouch_req_api_error(r, 409, "in_use", msg);
		break;
	case VOUCH_ERR_STORE_EXISTS:
		vouch_req_api_error(r, 409, "exists", msg);
		break;
	default:
		internal(r, rc, what);
		break;
	}
}

/* {"name", "version", "object"} of a stored object, or NULL (no memory, or a corrupt object). */
static json_t *item_json(const struct vouch_store_obj *o)
{
	json_t *obj = json_loadb(o->json, o->json_len, 0, NULL);

	if (obj == NULL)
		return NULL;
	return json_pack("{s:s, s:I, s:o}", "name", o->name, "version", (json_int_t)o->version,
	                 "object", obj);
}

/*
 * If-Match: the version the client last read ("3", or the entity-tag form "\"3\""). *version is
 * VOUCH_STORE_ANY when the header is absent. Answers 400 itself on a malformed header.
 */
static bool if_match(struct vouch_req *r, int64_t *version)
{
	const char *h = vouch_req_get_header(r, "If-Match");
	char buf[24];
	size_t n;

	*version = VOUCH_STORE_ANY;
	if (h == NULL)
		return true;
	n = strlen(h);
	if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
		h++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf)) {
		vouch_req_api_error(r, 400, "bad_request", "If-Match: expected a version number");
		return false;
	}
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (buf[0] < '1' || buf[0] > '9' || !vouch_api_parse_i64(buf, 1, INT64_MAX, version)) {
		*version = VOUCH_STORE_ANY;
		vouch_req_api_error(r, 400, "bad_request", "If-Match: expected a version number");
		return false;
	}
	return true;
}

/* ---- GET /<kind>s ---- */

static int list_cb(const struct vouch_store_obj *o, void *ctx)
{
	json_t *item = item_json(o);

	if (item == NULL)
		return VOUCH_ERR_STORE_CORRUPT;
	return json_array_append_new(ctx, item) == 0 ? 0 : VOUCH_ERR_NOMEM;
}

static void dir_list(struct vouch_req *r, const char *kind)
{
	json_t *items = json_array();
	int rc;

	if (items == NULL) {
		internal(r, VOUCH_ERR_NOMEM, "list");
		return;
	}
	rc = vouch_store_obj_list(r->svc->store, kind, NULL, list_cb, items);
	if (rc != VOUCH_OK) {
		json_decref(items);
		internal(r, rc, "list");
		return;
	}
	vouch_req_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* ---- GET /<kind>s/NAME ---- */

static void dir_get(struct vouch_req *r, const char *kind, const char *name)
{
	struct vouch_store_obj o;
	json_t *item;
	int rc = vouch_store_obj_get(r->svc->store, kind, name, &o);

	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, kind);
		return;
	}
	item = item_json(&o);
	vouch_store_obj_clear(&o);
	if (item == NULL) {
		internal(r, VOUCH_ERR_STORE_CORRUPT, "get");
		return;
	}
	vouch_req_reply_json(r, 200, item);
}

/* ---- PUT /<kind>s/NAME ---- */

static void dir_put(struct vouch_req *r, const char *kind, const char *name, const char *actor)
{
	struct vouch_store *store = r->svc->store;
	char err[VOUCH_DIR_ERR_MAX] = "";
	int64_t expect, version = 0;
	json_t *body;
	int rc;

	if (!if_match(r, &expect))
		return;
	body = vouch_api_body_object(r, false);
	if (body == NULL)
		return;
	rc = vouch_store_tx_begin(store);
	if (rc != VOUCH_OK) {
		internal(r, rc, "put");
		goto out_body;
	}
	/* Validation first, so that a missing reference (400) is told apart from a missing
	 * object under If-Match (404). */
	rc = vouch_dir_validate(store, kind, name, body, err);
	if (rc != VOUCH_OK) {
		vouch_store_tx_rollback(store);
		dir_error(r, rc, err, "put");
		goto out_body;
	}
	rc = vouch_dir_put(store, kind, name, body, expect, (int64_t)time(NULL), actor, &version,
	                   err);
	if (rc == VOUCH_OK)
		rc = vouch_store_tx_commit(store);
	else
		vouch_store_tx_rollback(store);
	if (rc == VOUCH_ERR_STORE_NOT_FOUND) {
		vouch_api_store_error(r, rc, kind);
		goto out_body;
	}
	if (rc != VOUCH_OK) {
		dir_error(r, rc, err, "put");
		goto out_body;
	}
	vouch_req_reply_json(r, version == 1 ? 201 : 200,
	                     json_pack("{s:s, s:I, s:O}", "name", name, "version",
	                               (json_int_t)version, "object", body));
out_body:
	json_decref(body);
}

/* ---- DELETE /<kind>s/NAME ---- */

static void dir_delete(struct vouch_req *r, const char *kind, const char *name, const char *actor)
{
	struct vouch_store *store = r->svc->store;
	char err[VOUCH_DIR_ERR_MAX] = "";
	struct vouch_store_obj o;
	int64_t expect, version;
	int rc;

	if (!if_match(r, &expect))
		return;
	rc = vouch_store_tx_begin(store);
	if (rc != VOUCH_OK) {
		internal(r, rc, "delete");
		return;
	}
	rc = vouch_store_obj_get(store, kind, name, &o);
	version = o.version;
	vouch_store_obj_clear(&o);
	if (rc != VOUCH_OK) {
		vouch_store_tx_rollback(store);
		vouch_api_store_error(r, rc, kind);
		return;
	}
	if (expect != VOUCH_STORE_ANY && expect != version) {
		vouch_store_tx_rollback(store);
		snprintf(err, sizeof(err), "%s %s is at version %lld, not %lld", kind, name,
		         (long long)version, (long long)expect);
		vouch_req_api_error(r, 409, "conflict", err);
		return;
	}
	rc = vouch_dir_delete(store, kind, name, actor, err);
	if (rc == VOUCH_OK)
		rc = vouch_store_tx_commit(store);
	else
		vouch_store_tx_rollback(store);
	if (rc != VOUCH_OK) {
		dir_error(r, rc, err, "delete");
		return;
	}
	vouch_req_reply_json(r, 200,
	                     json_pack("{s:s, s:I, s:b}", "name", name, "version",
	                               (json_int_t)version, "deleted", 1));
}

/* ---- POST /policy ---- */

static void dir_policy(struct vouch_req *r, const char *actor)
{
	char err[VOUCH_DIR_ERR_MAX] = "";
	json_t *body, *summary = NULL;
	int rc;

	if (!vouch_api_method_is(r, EVHTTP_REQ_POST))
		return;
	body = vouch_api_body_object(r, false);
	if (body == NULL)
		return;
	rc = vouch_dir_load(r->svc->store, body, (int64_t)time(NULL), actor, &summary, err);
	json_decref(body);
	if (rc != VOUCH_OK) {
		dir_error(r, rc, err, "policy");
		return;
	}
	vouch_req_reply_json(r, 200, summary);
}

/* ---- routing ---- */

/* The object name of seg[1..n): one segment, or for zones the segments joined by '/'. */
static bool item_name(const char *kind, char **seg, size_t n, char out[NAME_PATH_MAX])
{
	size_t len = 0;

	if (n > 2 && strcmp(kind, "zone") != 0)
		return false;
	out[0] = '\0';
	for (size_t i = 1; i < n; i++) {
		size_t sl = strlen(seg[i]);

		if (len + sl + (i > 1) >= NAME_PATH_MAX)
			return false;
		if (i > 1)
			out[len++] = '/';
		memcpy(out + len, seg[i], sl);
		len += sl;
		out[len] = '\0';
	}
	return len > 0;
}

void vouch_api_dir_handle(struct vouch_req *r, char **seg, size_t n, const char *actor)
{
	char name[NAME_PATH_MAX];
	const char *kind;

	if (actor == NULL || actor[0] == '\0')
		actor = "admin";
	if (n == 1 && strcmp(seg[0], "policy") == 0) {
		dir_policy(r, actor);
		return;
	}
	kind = n >= 1 ? kind_of(seg[0]) : NULL;
	if (kind == NULL) {
		vouch_req_api_error(r, 404, "not_found", "no such API resource");
		return;
	}
	if (n == 1) {
		if (vouch_api_method_is(r, EVHTTP_REQ_GET))
			dir_list(r, kind);
		return;
	}
	if (!item_name(kind, seg, n, name)) {
		vouch_req_api_error(r, 404, "not_found", "no such API resource");
		return;
	}
	vouch_req_note(r, kind, name);
	switch (r->method) {
	case EVHTTP_REQ_GET:
		dir_get(r, kind, name);
		break;
	case EVHTTP_REQ_PUT:
		dir_put(r, kind, name, actor);
		break;
	case EVHTTP_REQ_DELETE:
		dir_delete(r, kind, name, actor);
		break;
	default:
		not_allowed(r, "GET, PUT, DELETE");
		break;
	}
}
