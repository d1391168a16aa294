/*
 * The store's issue-4 sections (server/store.h) through the SQLite back-end: directory objects
 * with their versions and events, authentication rows, sessions and their expiry, the revocation
 * list's versions (monotonic across close and reopen), the caller's transactions (commit,
 * rollback, a failing call inside one undoing only itself, every older operation inside one),
 * peeks (several objects in one read, without copies), the directory's cache slot, and the
 * migration of a version 1 database made with the old DDL.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "store.h"
#include "testutil.h"
#include "vouch/crypto.h"
#include "vouch/revlist.h"

#define NOW ((int64_t)1800000000) /* 2027-01-15 */
#define DAY ((int64_t)86400)

struct fixture {
	char dir[64];
	char path[128];
	char url[160];
	struct vouch_store *store;
};

static const unsigned char fake_der[] = {0x30, 0x03, 0x02, 0x01, 0x07};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store_dir.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/vouch.db", f->dir);
	snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	static const char *const names[] = {"vouch.db", "vouch.db-wal", "vouch.db-shm",
	                                    "vouch.db-journal"};
	struct fixture *f = *state;
	char p[192];

	vouch_store_close(f->store);
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, names[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void sql(const char *path, const char *stmt)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, stmt, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int64_t sql_int(const char *path, const char *query)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, query, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* ---- events --------------------------------------------------------------------------------- */

static int collect_event(const struct vouch_store_event *e, void *ctx)
{
	char *s = NULL;
	json_t *j;

	assert_int_equal(vouch_store_event_json(e, &s), VOUCH_OK);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	/* Only the record's own fields: seq and time differ from run to run. */
	json_object_del(j, "seq");
	json_object_del(j, "time");
	assert_int_equal(json_array_append_new(ctx, j), 0);
	free(s);
	return 0;
}

static json_t *events(struct vouch_store *store)
{
	json_t *arr = json_array();

	assert_int_equal(vouch_store_event_list(store, 0, 0, collect_event, arr), VOUCH_OK);
	return arr;
}

static size_t event_count(struct vouch_store *store)
{
	json_t *arr = events(store);
	size_t n = json_array_size(arr);

	json_decref(arr);
	return n;
}

/* Event i (from 0), without seq and time, as compact JSON with sorted keys. */
static void assert_event(struct vouch_store *store, size_t i, const char *want)
{
	json_t *arr = events(store);
	json_t *w = json_loads(want, 0, NULL);
	char *got;
	char *exp;

	assert_non_null(w);
	assert_true(i < json_array_size(arr));
	got = json_dumps(json_array_get(arr, i), JSON_COMPACT | JSON_SORT_KEYS);
	exp = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(got, exp);
	free(got);
	free(exp);
	json_decref(w);
	json_decref(arr);
}

/* ---- directory objects ---------------------------------------------------------------------- */

static void test_obj_crud(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_obj o;
	int64_t v = 99;

	assert_int_equal(vouch_store_obj_put(f->store, "zone", "plant/hall-a", NULL,
	                                     "{ \"description\" : \"Hall A\" }", VOUCH_STORE_CREATE,
	                                     NOW, "admin", &v),
	                 VOUCH_OK);
	assert_int_equal(v, 1);
	assert_int_equal(vouch_store_obj_get(f->store, "zone", "plant/hall-a", &o), VOUCH_OK);
	assert_string_equal(o.kind, "zone");
	assert_string_equal(o.name, "plant/hall-a");
	assert_string_equal(o.owner, "");
	assert_int_equal(o.version, 1);
	assert_int_equal(o.created_at, NOW);
	assert_int_equal(o.updated_at, NOW);
	/* Stored compact, members in the order given. */
	assert_string_equal(o.json, "{\"description\":\"Hall A\"}");
	assert_int_equal(o.json_len, strlen(o.json));
	vouch_store_obj_clear(&o);
	assert_null(o.json);
	assert_int_equal(o.version, 0);
	assert_event(f->store, 0,
	             "{\"type\":\"zone.create\",\"actor\":\"admin\",\"name\":\"plant/hall-a\","
	             "\"version\":1,\"object\":{\"description\":\"Hall A\"}}");

	/* Create only: a second create is refused and changes nothing. */
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "plant/hall-a", NULL, "{}",
	                                     VOUCH_STORE_CREATE, NOW, "admin", &v),
	                 VOUCH_ERR_STORE_EXISTS);
	assert_int_equal(v, 0);
	/* The same name in another kind is another object. */
	assert_int_equal(vouch_store_obj_put(f->store, "resource", "plant/hall-a", NULL,
	                                     "{\"b\":1,\"a\":2}", VOUCH_STORE_CREATE, NOW, "admin",
	                                     &v),
	                 VOUCH_OK);
	assert_int_equal(v, 1);

	/* Create or replace. */
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "plant/hall-a", NULL,
	                                     "{\"x\":[1,2]}", VOUCH_STORE_ANY, NOW + 10, "ops", &v),
	                 VOUCH_OK);
	assert_int_equal(v, 2);
	assert_event(f->store, 2,
	             "{\"type\":\"zone.update\",\"actor\":\"ops\",\"name\":\"plant/hall-a\","
	             "\"version\":2,\"object\":{\"x\":[1,2]}}");
	/* Replace only at the expected version. */
	assert_int_equal(
	    vouch_store_obj_put(f->store, "zone", "plant/hall-a", NULL, "{}", 1, NOW, "ops", &v),
	    VOUCH_ERR_STORE_CONFLICT);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "plant/hall-a", NULL, "{}", 2,
	                                     NOW + 20, "ops", &v),
	                 VOUCH_OK);
	assert_int_equal(v, 3);
	assert_int_equal(vouch_store_obj_get(f->store, "zone", "plant/hall-a", &o), VOUCH_OK);
	assert_int_equal(o.created_at, NOW);
	assert_int_equal(o.updated_at, NOW + 20);
	assert_string_equal(o.json, "{}");
	vouch_store_obj_clear(&o);
	assert_int_equal(
	    vouch_store_obj_put(f->store, "zone", "nowhere", NULL, "{}", 4, NOW, "ops", &v),
	    VOUCH_ERR_STORE_NOT_FOUND);
	assert_int_equal(vouch_store_obj_get(f->store, "zone", "nowhere", &o),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_null(o.json);

	/* Delete: at the expected version or any. */
	assert_int_equal(vouch_store_obj_delete(f->store, "zone", "plant/hall-a", 2, "ops"),
	                 VOUCH_ERR_STORE_CONFLICT);
	assert_int_equal(vouch_store_obj_delete(f->store, "zone", "plant/hall-a", 3, "ops"),
	                 VOUCH_OK);
	assert_event(f->store, 4,
	             "{\"type\":\"zone.delete\",\"actor\":\"ops\",\"name\":\"plant/hall-a\","
	             "\"version\":3}");
	assert_int_equal(vouch_store_obj_get(f->store, "zone", "plant/hall-a", &o),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_int_equal(
	    vouch_store_obj_delete(f->store, "zone", "plant/hall-a", VOUCH_STORE_ANY, "ops"),
	    VOUCH_ERR_STORE_NOT_FOUND);
	assert_int_equal(
	    vouch_store_obj_delete(f->store, "resource", "plant/hall-a", VOUCH_STORE_ANY, "ops"),
	    VOUCH_OK);
	/* Re-created after a delete: version 1 again, a new create event. */
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "plant/hall-a", NULL, "{}",
	                                     VOUCH_STORE_CREATE, NOW, "admin", &v),
	                 VOUCH_OK);
	assert_int_equal(v, 1);
	assert_int_equal(event_count(f->store), 7);
}

static void test_obj_invalid(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_obj o;
	char big[VOUCH_STORE_OBJ_MAX + 16];
	char name65[66];
	int64_t v = 5;

	memset(name65, 'a', 65);
	name65[65] = '\0';
	/* {"a":"xxxx..."} of more than VOUCH_STORE_OBJ_MAX bytes */
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"a\":\"", 6);
	memcpy(big + sizeof(big) - 3, "\"}", 3);

	assert_int_equal(vouch_store_obj_put(f->store, "widget", "a", NULL, "{}", 0, NOW, "a", &v),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(v, 0);
	assert_int_equal(
	    vouch_store_obj_put(f->store, "zone phone", "a", NULL, "{}", 0, NOW, "a", NULL),
	    VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_put(f->store, "", "a", NULL, "{}", 0, NOW, "a", NULL),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_put(f->store, "zon", "a", NULL, "{}", 0, NOW, "a", NULL),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_put(NULL, "zone", "a", NULL, "{}", 0, NOW, "a", NULL),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "", NULL, "{}", 0, NOW, "a", NULL),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(
	    vouch_store_obj_put(f->store, "zone", "a b", NULL, "{}", 0, NOW, "a", NULL),
	    VOUCH_ERR_INVALID);
	assert_int_equal(
	    vouch_store_obj_put(f->store, "zone", "caf\xc3\xa9", NULL, "{}", 0, NOW, "a", NULL),
	    VOUCH_ERR_INVALID);
	assert_int_equal(
	    vouch_store_obj_put(f->store, "zone", name65, NULL, "{}", 0, NOW, "a", NULL),
	    VOUCH_ERR_INVALID);
	name65[64] = '\0';
	assert_int_equal(
	    vouch_store_obj_put(f->store, "zone", name65, NULL, "{}", 0, NOW, "a", NULL), VOUCH_OK);
	assert_int_equal(
	    vouch_store_obj_put(f->store, "phone", "p1", "bad owner", "{}", 0, NOW, "a", NULL),
	    VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "a", NULL, "[1]", 0, NOW, "a", NULL),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(
	    vouch_store_obj_put(f->store, "zone", "a", NULL, "{bad", 0, NOW, "a", NULL),
	    VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "a", NULL, "{\"k\":1,\"k\":2}", 0,
	                                     NOW, "a", NULL),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(
	    vouch_store_obj_put(f->store, "zone", "a", NULL, "{} {}", 0, NOW, "a", NULL),
	    VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "a", NULL, NULL, 0, NOW, "a", NULL),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "a", NULL, big, 0, NOW, "a", NULL),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "a", NULL, "{}", -2, NOW, "a", NULL),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "a", NULL, "{}", 0, NOW, NULL, NULL),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "a", NULL, "{}", 0, NOW, "", NULL),
	                 VOUCH_ERR_INVALID);

	assert_int_equal(vouch_store_obj_get(f->store, "widget", "a", &o), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_get(f->store, "zone", NULL, &o), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_get(f->store, "zone", "a", NULL), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_delete(f->store, "zone", name65, 0, "a"),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_delete(f->store, "zone", name65, -2, "a"),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_delete(f->store, "zone", "a b", VOUCH_STORE_ANY, "a"),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_list(f->store, "widget", NULL, NULL, NULL),
	                 VOUCH_ERR_INVALID);
	/* Only the one valid put was recorded. */
	assert_int_equal(event_count(f->store), 1);
}

struct names {
	char list[8][2 * VOUCH_STORE_ID_MAX + 2];
	size_t n;
	size_t stop_after; /* 0: never */
};

static int name_cb(const struct vouch_store_obj *o, void *ctx)
{
	struct names *ns = ctx;

	assert_true(ns->n < VOUCH_ARRAY_LEN(ns->list));
	assert_non_null(o->json);
	assert_int_equal(o->json_len, strlen(o->json));
	snprintf(ns->list[ns->n++], sizeof(ns->list[0]), "%s%s%s", o->name,
	         o->owner[0] != '\0' ? "@" : "", o->owner);
	return ns->stop_after != 0 && ns->n == ns->stop_after ? 1 : 0;
}

static int abort_cb(const struct vouch_store_obj *o, void *ctx)
{
	(void)o;
	(void)ctx;
	return -77;
}

static void test_obj_list(void **state)
{
	struct fixture *f = *state;
	struct names ns = {0};
	static const char *const zones[] = {"plant/b", "Plant", "plant", "plant-a", "plant/a"};

	for (size_t i = 0; i < VOUCH_ARRAY_LEN(zones); i++)
		assert_int_equal(vouch_store_obj_put(f->store, "zone", zones[i], NULL, "{}",
		                                     VOUCH_STORE_CREATE, NOW, "a", NULL),
		                 VOUCH_OK);
	assert_int_equal(vouch_store_obj_put(f->store, "phone", "alice.0001", "alice", "{}",
	                                     VOUCH_STORE_CREATE, NOW, "a", NULL),
	                 VOUCH_OK);
	assert_int_equal(vouch_store_obj_put(f->store, "phone", "bob.0001", "bob", "{}",
	                                     VOUCH_STORE_CREATE, NOW, "a", NULL),
	                 VOUCH_OK);
	assert_int_equal(vouch_store_obj_put(f->store, "phone", "alice.0002", "alice", "{}",
	                                     VOUCH_STORE_CREATE, NOW, "a", NULL),
	                 VOUCH_OK);

	/* Bytewise name order: 'P' < 'p', '-' < '/'. */
	assert_int_equal(vouch_store_obj_list(f->store, "zone", NULL, name_cb, &ns), VOUCH_OK);
	assert_int_equal(ns.n, 5);
	assert_string_equal(ns.list[0], "Plant");
	assert_string_equal(ns.list[1], "plant");
	assert_string_equal(ns.list[2], "plant-a");
	assert_string_equal(ns.list[3], "plant/a");
	assert_string_equal(ns.list[4], "plant/b");

	memset(&ns, 0, sizeof(ns));
	assert_int_equal(vouch_store_obj_list(f->store, "phone", "alice", name_cb, &ns), VOUCH_OK);
	assert_int_equal(ns.n, 2);
	assert_string_equal(ns.list[0], "alice.0001@alice");
	assert_string_equal(ns.list[1], "alice.0002@alice");
	memset(&ns, 0, sizeof(ns));
	assert_int_equal(vouch_store_obj_list(f->store, "phone", NULL, name_cb, &ns), VOUCH_OK);
	assert_int_equal(ns.n, 3);
	assert_string_equal(ns.list[2], "bob.0001@bob");
	memset(&ns, 0, sizeof(ns));
	assert_int_equal(vouch_store_obj_list(f->store, "phone", "carol", name_cb, &ns), VOUCH_OK);
	assert_int_equal(ns.n, 0);
	assert_int_equal(vouch_store_obj_list(f->store, "role", NULL, name_cb, &ns), VOUCH_OK);
	assert_int_equal(ns.n, 0);

	/* The owner moves with a replace. */
	assert_int_equal(vouch_store_obj_put(f->store, "phone", "bob.0001", "alice", "{}",
	                                     VOUCH_STORE_ANY, NOW, "a", NULL),
	                 VOUCH_OK);
	memset(&ns, 0, sizeof(ns));
	assert_int_equal(vouch_store_obj_list(f->store, "phone", "alice", name_cb, &ns), VOUCH_OK);
	assert_int_equal(ns.n, 3);

	/* > 0 stops (OK), < 0 aborts with that value. */
	memset(&ns, 0, sizeof(ns));
	ns.stop_after = 2;
	assert_int_equal(vouch_store_obj_list(f->store, "zone", NULL, name_cb, &ns), VOUCH_OK);
	assert_int_equal(ns.n, 2);
	assert_int_equal(vouch_store_obj_list(f->store, "zone", NULL, abort_cb, NULL), -77);
	/* The statement was reset: the list works again. */
	memset(&ns, 0, sizeof(ns));
	assert_int_equal(vouch_store_obj_list(f->store, "zone", NULL, name_cb, &ns), VOUCH_OK);
	assert_int_equal(ns.n, 5);
}

/* What a peek callback saw. */
struct peeks {
	size_t n;
	size_t index[8];
	bool present[8];
	char text[8][64];
	int64_t version[8];
	char owner[8][VOUCH_STORE_ID_MAX + 1];
	int ret_at; /* return ret on this call (counting from 1) */
	int ret;
};

static int peek_cb(size_t i, const struct vouch_store_obj *o, void *ctx)
{
	struct peeks *p = ctx;

	assert_true(p->n < 8);
	p->index[p->n] = i;
	p->present[p->n] = o != NULL;
	if (o != NULL) {
		assert_true(o->json_len < sizeof(p->text[0]));
		memcpy(p->text[p->n], o->json, o->json_len);
		p->text[p->n][o->json_len] = '\0';
		p->version[p->n] = o->version;
		snprintf(p->owner[p->n], sizeof(p->owner[0]), "%s", o->owner);
		assert_string_equal(o->kind, "phone");
		assert_true(o->created_at == NOW && o->updated_at == NOW);
	}
	p->n++;
	return (int)p->n == p->ret_at ? p->ret : 0;
}

/* Peeks: in the order asked, absent names as NULL, the caller's transaction honoured, stopped
 * and aborted by the callback, and the store usable after each (no read transaction left open). */
static void test_obj_peek(void **state)
{
	struct fixture *f = *state;
	struct vouch_store *other = NULL;
	struct peeks p;
	static const char *const names[] = {"bob.0001", "nobody.0001", "alice.0001"};
	static const char *const bad[] = {"alice.0001", "a b"};
	const char *one = "alice.0001";
	int64_t v = 0;

	assert_int_equal(vouch_store_obj_put(f->store, "phone", "alice.0001", "alice", "{\"n\":1}",
	                                     VOUCH_STORE_CREATE, NOW, "a", NULL),
	                 VOUCH_OK);
	assert_int_equal(vouch_store_obj_put(f->store, "phone", "bob.0001", "bob", "{\"n\":2}",
	                                     VOUCH_STORE_CREATE, NOW, "a", NULL),
	                 VOUCH_OK);
	assert_int_equal(vouch_store_obj_put(f->store, "phone", "bob.0001", "bob", "{\"n\":3}",
	                                     VOUCH_STORE_ANY, NOW, "a", NULL),
	                 VOUCH_OK);

	memset(&p, 0, sizeof(p));
	assert_int_equal(vouch_store_obj_peek(f->store, "phone", names, 3, peek_cb, &p), VOUCH_OK);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.index[0], 0);
	assert_true(p.present[0]);
	assert_string_equal(p.text[0], "{\"n\":3}");
	assert_int_equal(p.version[0], 2);
	assert_string_equal(p.owner[0], "bob");
	assert_int_equal(p.index[1], 1);
	assert_false(p.present[1]);
	assert_int_equal(p.index[2], 2);
	assert_string_equal(p.text[2], "{\"n\":1}");
	assert_int_equal(p.version[2], 1);

	/* One name; none at all. */
	memset(&p, 0, sizeof(p));
	assert_int_equal(vouch_store_obj_peek(f->store, "phone", &one, 1, peek_cb, &p), VOUCH_OK);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.text[0], "{\"n\":1}");
	memset(&p, 0, sizeof(p));
	assert_int_equal(vouch_store_obj_peek(f->store, "phone", NULL, 0, peek_cb, &p), VOUCH_OK);
	assert_int_equal(p.n, 0);

	/* > 0 stops (OK), < 0 aborts with that value; the store works on after either (a write
	 * would fail inside a read transaction left open). */
	memset(&p, 0, sizeof(p));
	p.ret_at = 1;
	p.ret = 1;
	assert_int_equal(vouch_store_obj_peek(f->store, "phone", names, 3, peek_cb, &p), VOUCH_OK);
	assert_int_equal(p.n, 1);
	memset(&p, 0, sizeof(p));
	p.ret_at = 2;
	p.ret = -77;
	assert_int_equal(vouch_store_obj_peek(f->store, "phone", names, 3, peek_cb, &p), -77);
	assert_int_equal(p.n, 2);
	assert_int_equal(vouch_store_obj_put(f->store, "phone", "carol.0001", "carol", "{}",
	                                     VOUCH_STORE_CREATE, NOW, "a", &v),
	                 VOUCH_OK);
	assert_int_equal(vouch_store_tx_begin(f->store), VOUCH_OK);
	assert_int_equal(vouch_store_tx_commit(f->store), VOUCH_OK);

	/* Refused before anything is read. */
	memset(&p, 0, sizeof(p));
	assert_int_equal(vouch_store_obj_peek(NULL, "phone", names, 3, peek_cb, &p),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_peek(f->store, "phone", names, 3, NULL, &p),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_peek(f->store, "widget", names, 3, peek_cb, &p),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_peek(f->store, "phone", NULL, 1, peek_cb, &p),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_peek(f->store, "phone", bad, 2, peek_cb, &p),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(p.n, 0);

	/* Inside the caller's transaction: its own uncommitted change, and it stays open. */
	assert_int_equal(vouch_store_tx_begin(f->store), VOUCH_OK);
	assert_int_equal(vouch_store_obj_put(f->store, "phone", "alice.0001", "alice", "{\"n\":4}",
	                                     VOUCH_STORE_ANY, NOW, "a", NULL),
	                 VOUCH_OK);
	memset(&p, 0, sizeof(p));
	assert_int_equal(vouch_store_obj_peek(f->store, "phone", names, 3, peek_cb, &p), VOUCH_OK);
	assert_string_equal(p.text[2], "{\"n\":4}");
	assert_int_equal(p.version[2], 2);
	vouch_store_tx_rollback(f->store);
	assert_int_equal(vouch_store_tx_commit(f->store), VOUCH_ERR_INVALID);
	memset(&p, 0, sizeof(p));
	assert_int_equal(vouch_store_obj_peek(f->store, "phone", names, 3, peek_cb, &p), VOUCH_OK);
	assert_string_equal(p.text[2], "{\"n\":1}");

	/* What another connection committed (and deleted) is what the next peek sees. */
	assert_int_equal(vouch_store_open(f->url, &other), VOUCH_OK);
	assert_int_equal(vouch_store_obj_put(other, "phone", "alice.0001", "alice", "{\"n\":5}",
	                                     VOUCH_STORE_ANY, NOW, "a", NULL),
	                 VOUCH_OK);
	assert_int_equal(vouch_store_obj_delete(other, "phone", "bob.0001", VOUCH_STORE_ANY, "a"),
	                 VOUCH_OK);
	vouch_store_close(other);
	memset(&p, 0, sizeof(p));
	assert_int_equal(vouch_store_obj_peek(f->store, "phone", names, 3, peek_cb, &p), VOUCH_OK);
	assert_false(p.present[0]);
	assert_string_equal(p.text[2], "{\"n\":5}");
}

struct nested {
	struct vouch_store *store;
	size_t listed;
	size_t peeked;
};

static int nested_peek_cb(size_t i, const struct vouch_store_obj *o, void *ctx)
{
	(void)i;
	if (o != NULL)
		((struct nested *)ctx)->peeked++;
	return 0;
}

static int nested_list_cb(const struct vouch_store_obj *o, void *ctx)
{
	static const char *const names[] = {"alice.0001", "bob.0001"};
	struct nested *n = ctx;

	(void)o;
	n->listed++;
	return vouch_store_obj_peek(n->store, "phone", names, 2, nested_peek_cb, n);
}

/* A peek inside a list's callback (the list's query is open): both complete. */
static void test_obj_peek_in_list(void **state)
{
	struct fixture *f = *state;
	struct nested n = {f->store, 0, 0};

	assert_int_equal(vouch_store_obj_put(f->store, "phone", "alice.0001", "alice", "{}",
	                                     VOUCH_STORE_CREATE, NOW, "a", NULL),
	                 VOUCH_OK);
	assert_int_equal(vouch_store_obj_put(f->store, "phone", "bob.0001", "bob", "{}",
	                                     VOUCH_STORE_CREATE, NOW, "a", NULL),
	                 VOUCH_OK);
	assert_int_equal(vouch_store_obj_list(f->store, "phone", NULL, nested_list_cb, &n),
	                 VOUCH_OK);
	assert_int_equal(n.listed, 2);
	assert_int_equal(n.peeked, 4);
	assert_int_equal(vouch_store_obj_put(f->store, "phone", "carol.0001", "carol", "{}",
	                                     VOUCH_STORE_CREATE, NOW, "a", NULL),
	                 VOUCH_OK);
}

static int cache_frees;

static void count_free(void *cache)
{
	assert_non_null(cache);
	cache_frees++;
}

/* The directory's cache slot: held, replaced (the old one freed), freed on close. */
static void test_dir_cache_slot(void **state)
{
	struct fixture *f = *state;
	int a, b;

	cache_frees = 0;
	assert_null(vouch_store_dir_cache(f->store));
	assert_null(vouch_store_dir_cache(NULL));
	vouch_store_set_dir_cache(NULL, &a, count_free); /* no-op */
	vouch_store_set_dir_cache(f->store, &a, count_free);
	assert_ptr_equal(vouch_store_dir_cache(f->store), &a);
	vouch_store_set_dir_cache(f->store, &a, count_free); /* the same one: kept */
	assert_int_equal(cache_frees, 0);
	vouch_store_set_dir_cache(f->store, &b, count_free);
	assert_int_equal(cache_frees, 1);
	assert_ptr_equal(vouch_store_dir_cache(f->store), &b);
	vouch_store_close(f->store);
	assert_int_equal(cache_frees, 2);
	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_OK);
	assert_null(vouch_store_dir_cache(f->store));
}

/* ---- authentication rows, sessions ----------------------------------------------------------- */

static void make_auth(struct vouch_store_auth *a, const char *user)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->user, sizeof(a->user), "%s", user);
	snprintf(a->pw_hash, sizeof(a->pw_hash),
	         "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA");
	for (size_t i = 0; i < 60; i++)
		a->totp_sealed[i] = (uint8_t)(i * 7 + 1);
	a->totp_sealed_len = 60;
	a->totp_last_step = 59999999;
	a->failures = 3;
	a->locked_until = NOW + 30;
	a->last_login = NOW - DAY;
}

static void test_auth(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_auth a;
	struct vouch_store_auth got;

	make_auth(&a, "alice");
	assert_int_equal(vouch_store_auth_get(f->store, "alice", &got), VOUCH_ERR_STORE_NOT_FOUND);
	assert_int_equal(vouch_store_auth_put(f->store, &a), VOUCH_OK);
	assert_int_equal(vouch_store_auth_get(f->store, "alice", &got), VOUCH_OK);
	assert_memory_equal(&got, &a, sizeof(a));

	/* Replace. */
	a.failures = 0;
	a.locked_until = 0;
	a.totp_last_step = 60000000;
	a.totp_sealed_len = 0;
	a.last_login = NOW;
	assert_int_equal(vouch_store_auth_put(f->store, &a), VOUCH_OK);
	assert_int_equal(vouch_store_auth_get(f->store, "alice", &got), VOUCH_OK);
	assert_int_equal(got.failures, 0);
	assert_int_equal(got.totp_last_step, 60000000);
	assert_int_equal(got.totp_sealed_len, 0);
	assert_int_equal(got.last_login, NOW);
	a.failures = UINT32_MAX;
	assert_int_equal(vouch_store_auth_put(f->store, &a), VOUCH_OK);
	assert_int_equal(vouch_store_auth_get(f->store, "alice", &got), VOUCH_OK);
	assert_int_equal(got.failures, UINT32_MAX);

	/* Invalid rows. */
	make_auth(&a, "bad user");
	assert_int_equal(vouch_store_auth_put(f->store, &a), VOUCH_ERR_INVALID);
	make_auth(&a, "bob");
	a.totp_sealed_len = VOUCH_STORE_SEALED_MAX + 1;
	assert_int_equal(vouch_store_auth_put(f->store, &a), VOUCH_ERR_INVALID);
	make_auth(&a, "bob");
	a.pw_hash[5] = '\n';
	assert_int_equal(vouch_store_auth_put(f->store, &a), VOUCH_ERR_INVALID);
	make_auth(&a, "bob");
	a.totp_last_step = -1;
	assert_int_equal(vouch_store_auth_put(f->store, &a), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_auth_put(f->store, NULL), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_auth_get(f->store, "", &got), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_auth_get(f->store, "bob", &got), VOUCH_ERR_STORE_NOT_FOUND);

	assert_int_equal(vouch_store_auth_delete(f->store, "alice"), VOUCH_OK);
	assert_int_equal(vouch_store_auth_get(f->store, "alice", &got), VOUCH_ERR_STORE_NOT_FOUND);
	assert_int_equal(vouch_store_auth_delete(f->store, "alice"), VOUCH_ERR_STORE_NOT_FOUND);
	assert_int_equal(vouch_store_auth_delete(f->store, "a b"), VOUCH_ERR_INVALID);
	/* No events: the caller records user.* / auth.* itself. */
	assert_int_equal(event_count(f->store), 0);
}

static void session_hash(const char *secret, uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN])
{
	assert_int_equal(vouch_sha256(secret, strlen(secret), hash), VOUCH_OK);
}

static void test_sessions(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_session s = {0};
	struct vouch_store_session got;
	size_t count = 99;

	session_hash("s1", s.hash);
	snprintf(s.user, sizeof(s.user), "alice");
	s.created_at = NOW;
	s.expires_at = NOW + 900;
	assert_int_equal(vouch_store_session_put(f->store, &s), VOUCH_OK);
	assert_int_equal(vouch_store_session_put(f->store, &s), VOUCH_ERR_STORE_EXISTS);
	session_hash("s2", s.hash);
	assert_int_equal(vouch_store_session_put(f->store, &s), VOUCH_OK);
	session_hash("s3", s.hash);
	snprintf(s.user, sizeof(s.user), "bob");
	s.expires_at = NOW + 60;
	assert_int_equal(vouch_store_session_put(f->store, &s), VOUCH_OK);

	session_hash("s1", s.hash);
	assert_int_equal(vouch_store_session_get(f->store, s.hash, NOW + 899, &got), VOUCH_OK);
	assert_string_equal(got.user, "alice");
	assert_int_equal(got.created_at, NOW);
	assert_int_equal(got.expires_at, NOW + 900);
	assert_memory_equal(got.hash, s.hash, sizeof(s.hash));
	/* Expired at expires_at. */
	assert_int_equal(vouch_store_session_get(f->store, s.hash, NOW + 900, &got),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_string_equal(got.user, "");
	session_hash("unknown", s.hash);
	assert_int_equal(vouch_store_session_get(f->store, s.hash, NOW, &got),
	                 VOUCH_ERR_STORE_NOT_FOUND);

	/* Prune drops bob's (expired at NOW + 60), keeps alice's two. */
	assert_int_equal(vouch_store_session_prune(f->store, NOW + 60), VOUCH_OK);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sessions"), 2);
	assert_int_equal(vouch_store_session_delete_user(f->store, "bob", &count), VOUCH_OK);
	assert_int_equal(count, 0);
	assert_int_equal(vouch_store_session_delete_user(f->store, "alice", &count), VOUCH_OK);
	assert_int_equal(count, 2);
	session_hash("s2", s.hash);
	assert_int_equal(vouch_store_session_get(f->store, s.hash, NOW, &got),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_int_equal(vouch_store_session_delete_user(f->store, "alice", NULL), VOUCH_OK);

	/* Invalid. */
	snprintf(s.user, sizeof(s.user), "a b");
	assert_int_equal(vouch_store_session_put(f->store, &s), VOUCH_ERR_INVALID);
	snprintf(s.user, sizeof(s.user), "carol");
	s.expires_at = s.created_at - 1;
	assert_int_equal(vouch_store_session_put(f->store, &s), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_session_get(f->store, NULL, NOW, &got), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_session_delete_user(f->store, "", &count), VOUCH_ERR_INVALID);
	assert_int_equal(event_count(f->store), 0);
}

/* ---- revocation list ---------------------------------------------------------------------- */

static void make_rev(struct vouch_store_rev *r, int kind, const char *value, int64_t revoked_at,
                     int64_t keep_until)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	if (kind == VOUCH_REVLIST_SUBJECT) {
		r->value_len = strlen(value);
		memcpy(r->value, value, r->value_len);
	} else {
		assert_int_equal(vouch_sha256(value, strlen(value), r->value), VOUCH_OK);
		r->value_len = 32;
	}
	r->revoked_at = revoked_at;
	r->keep_until = keep_until;
}

struct revs {
	struct vouch_store_rev list[16];
	size_t n;
};

static int rev_cb(const struct vouch_store_rev *r, void *ctx)
{
	struct revs *rs = ctx;

	assert_true(rs->n < VOUCH_ARRAY_LEN(rs->list));
	rs->list[rs->n++] = *r;
	return 0;
}

static void test_rev(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_rev e[3];
	struct revs rs = {0};
	uint64_t v = 99;
	char hex[65];
	char want[512];

	assert_int_equal(vouch_store_rev_version(f->store, &v), VOUCH_OK);
	assert_int_equal(v, 0);
	make_rev(&e[0], VOUCH_REVLIST_TOKEN, "cred-1", NOW, NOW + 8 * 3600);
	make_rev(&e[1], VOUCH_REVLIST_SUBJECT, "alice", NOW, NOW + DAY);
	assert_int_equal(vouch_store_rev_add(f->store, e, 2, "admin", &v), VOUCH_OK);
	assert_int_equal(v, 1);
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", e[0].value[i]);
	snprintf(want, sizeof(want),
	         "{\"type\":\"revlist.add\",\"actor\":\"admin\",\"version\":1,\"entries\":["
	         "{\"kind\":\"token\",\"value\":\"%s\",\"revoked_at\":\"2027-01-15T08:00:00Z\"},"
	         "{\"kind\":\"subject\",\"value\":\"alice\",\"revoked_at\":"
	         "\"2027-01-15T08:00:00Z\"}]}",
	         hex);
	assert_event(f->store, 0, want);

	make_rev(&e[2], VOUCH_REVLIST_PHONE, "phone-key", NOW + 5, NOW + 2 * DAY);
	assert_int_equal(vouch_store_rev_add(f->store, &e[2], 1, "admin", &v), VOUCH_OK);
	assert_int_equal(v, 2);
	assert_int_equal(vouch_store_rev_version(f->store, &v), VOUCH_OK);
	assert_int_equal(v, 2);

	/* Full list at NOW: all three, in (version, insertion) order. */
	assert_int_equal(vouch_store_rev_list(f->store, 0, NOW, rev_cb, &rs), VOUCH_OK);
	assert_int_equal(rs.n, 3);
	assert_int_equal(rs.list[0].version, 1);
	assert_int_equal(rs.list[0].kind, VOUCH_REVLIST_TOKEN);
	assert_memory_equal(rs.list[0].value, e[0].value, 32);
	assert_int_equal(rs.list[0].value_len, 32);
	assert_int_equal(rs.list[0].keep_until, NOW + 8 * 3600);
	assert_int_equal(rs.list[1].version, 1);
	assert_int_equal(rs.list[1].kind, VOUCH_REVLIST_SUBJECT);
	assert_int_equal(rs.list[1].value_len, 5);
	assert_memory_equal(rs.list[1].value, "alice", 5);
	assert_int_equal(rs.list[2].version, 2);
	assert_int_equal(rs.list[2].kind, VOUCH_REVLIST_PHONE);
	assert_int_equal(rs.list[2].revoked_at, NOW + 5);
	/* Delta since 1. */
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(vouch_store_rev_list(f->store, 1, NOW, rev_cb, &rs), VOUCH_OK);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.list[0].version, 2);
	/* Entries stop mattering at keep_until. */
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(vouch_store_rev_list(f->store, 0, NOW + 8 * 3600, rev_cb, &rs), VOUCH_OK);
	assert_int_equal(rs.n, 2);
	assert_int_equal(rs.list[0].kind, VOUCH_REVLIST_SUBJECT);
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(vouch_store_rev_list(f->store, 0, NOW + 3 * DAY, rev_cb, &rs), VOUCH_OK);
	assert_int_equal(rs.n, 0);

	/* Invalid entries consume no version. */
	make_rev(&e[0], VOUCH_REVLIST_TOKEN, "x", NOW, NOW + DAY);
	e[0].kind = 0;
	assert_int_equal(vouch_store_rev_add(f->store, e, 1, "admin", &v), VOUCH_ERR_INVALID);
	assert_int_equal(v, 0);
	e[0].kind = 4;
	assert_int_equal(vouch_store_rev_add(f->store, e, 1, "admin", &v), VOUCH_ERR_INVALID);
	make_rev(&e[0], VOUCH_REVLIST_TOKEN, "x", NOW, NOW + DAY);
	e[0].value_len = 0;
	assert_int_equal(vouch_store_rev_add(f->store, e, 1, "admin", &v), VOUCH_ERR_INVALID);
	e[0].value_len = VOUCH_STORE_REV_VALUE_MAX + 1;
	assert_int_equal(vouch_store_rev_add(f->store, e, 1, "admin", &v), VOUCH_ERR_INVALID);
	make_rev(&e[0], VOUCH_REVLIST_SUBJECT, "bad name", NOW, NOW + DAY);
	assert_int_equal(vouch_store_rev_add(f->store, e, 1, "admin", &v), VOUCH_ERR_INVALID);
	make_rev(&e[0], VOUCH_REVLIST_SUBJECT, "bob", NOW, NOW + DAY);
	e[0].value[1] = '\0';
	assert_int_equal(vouch_store_rev_add(f->store, e, 1, "admin", &v), VOUCH_ERR_INVALID);
	make_rev(&e[0], VOUCH_REVLIST_SUBJECT, "bob", NOW, NOW + DAY);
	assert_int_equal(vouch_store_rev_add(f->store, e, 0, "admin", &v), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_rev_add(f->store, NULL, 1, "admin", &v), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_rev_add(f->store, e, 1, "", &v), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_rev_add(f->store, e, 1, "admin", NULL), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_rev_list(f->store, 0, NOW, NULL, NULL), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_rev_version(f->store, &v), VOUCH_OK);
	assert_int_equal(v, 2);
	assert_int_equal(event_count(f->store), 2);

	/* Versions are never reused: not across close and reopen, not after their rows went. */
	vouch_store_close(f->store);
	f->store = NULL;
	sql(f->path, "DELETE FROM rev_entries; DELETE FROM rev_versions");
	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_OK);
	assert_int_equal(vouch_store_rev_add(f->store, e, 1, "admin", &v), VOUCH_OK);
	assert_int_equal(v, 3);
	vouch_store_close(f->store);
	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_OK);
	assert_int_equal(vouch_store_rev_version(f->store, &v), VOUCH_OK);
	assert_int_equal(v, 3);
	assert_int_equal(vouch_store_rev_add(f->store, e, 1, "admin", &v), VOUCH_OK);
	assert_int_equal(v, 4);
}

/* ---- transactions ---------------------------------------------------------------------------- */

static void make_cert(struct vouch_store_cert *c, const char *serial, const char *device)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	snprintf(c->device, sizeof(c->device), "%s", device);
	snprintf(c->subject, sizeof(c->subject), "CN=%s,O=test", device);
	snprintf(c->profile, sizeof(c->profile), "device");
	snprintf(c->via, sizeof(c->via), "api");
	c->not_before = NOW - DAY;
	c->not_after = NOW + 365 * DAY;
	c->der = (unsigned char *)(uintptr_t)fake_der;
	c->der_len = sizeof(fake_der);
}

static bool obj_exists(struct vouch_store *s, const char *kind, const char *name)
{
	struct vouch_store_obj o;
	int rc = vouch_store_obj_get(s, kind, name, &o);

	assert_true(rc == VOUCH_OK || rc == VOUCH_ERR_STORE_NOT_FOUND);
	vouch_store_obj_clear(&o);
	return rc == VOUCH_OK;
}

static bool cert_exists(struct vouch_store *s, const char *serial)
{
	struct vouch_store_cert c;
	int rc = vouch_store_cert_get(s, serial, &c);

	assert_true(rc == VOUCH_OK || rc == VOUCH_ERR_STORE_NOT_FOUND);
	vouch_store_cert_clear(&c);
	return rc == VOUCH_OK;
}

static void test_tx_commit_rollback(void **state)
{
	struct fixture *f = *state;
	struct vouch_store *other = NULL;
	struct vouch_store_rev r;
	uint64_t v = 0;

	assert_int_equal(vouch_store_tx_commit(f->store), VOUCH_ERR_INVALID);
	vouch_store_tx_rollback(f->store); /* none open: no-op */
	assert_int_equal(vouch_store_tx_begin(NULL), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_tx_commit(NULL), VOUCH_ERR_INVALID);
	vouch_store_tx_rollback(NULL);

	/* Commit: everything, with its events; nothing visible elsewhere before. */
	assert_int_equal(vouch_store_open(f->url, &other), VOUCH_OK);
	assert_int_equal(vouch_store_tx_begin(f->store), VOUCH_OK);
	assert_int_equal(vouch_store_tx_begin(f->store), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "a", NULL, "{}", VOUCH_STORE_CREATE,
	                                     NOW, "admin", NULL),
	                 VOUCH_OK);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "b", NULL, "{}", VOUCH_STORE_CREATE,
	                                     NOW, "admin", NULL),
	                 VOUCH_OK);
	assert_true(obj_exists(f->store, "zone", "a"));
	assert_false(obj_exists(other, "zone", "a"));
	assert_int_equal(vouch_store_tx_commit(f->store), VOUCH_OK);
	assert_true(obj_exists(other, "zone", "a"));
	assert_true(obj_exists(other, "zone", "b"));
	assert_int_equal(event_count(other), 2);
	vouch_store_close(other);

	/* Rollback: the changes and their events are gone; the revocation version too (it was
	 * never published). */
	assert_int_equal(vouch_store_tx_begin(f->store), VOUCH_OK);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "c", NULL, "{}", VOUCH_STORE_CREATE,
	                                     NOW, "admin", NULL),
	                 VOUCH_OK);
	assert_int_equal(vouch_store_obj_delete(f->store, "zone", "a", VOUCH_STORE_ANY, "admin"),
	                 VOUCH_OK);
	make_rev(&r, VOUCH_REVLIST_SUBJECT, "alice", NOW, NOW + DAY);
	assert_int_equal(vouch_store_rev_add(f->store, &r, 1, "admin", &v), VOUCH_OK);
	assert_int_equal(v, 1);
	assert_int_equal(event_count(f->store), 5);
	vouch_store_tx_rollback(f->store);
	assert_false(obj_exists(f->store, "zone", "c"));
	assert_true(obj_exists(f->store, "zone", "a"));
	assert_int_equal(vouch_store_rev_version(f->store, &v), VOUCH_OK);
	assert_int_equal(v, 0);
	assert_int_equal(event_count(f->store), 2);
	/* And the store works on, with and without a transaction. */
	assert_int_equal(vouch_store_tx_commit(f->store), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "c", NULL, "{}", VOUCH_STORE_CREATE,
	                                     NOW, "admin", NULL),
	                 VOUCH_OK);
	assert_int_equal(event_count(f->store), 3);

	/* Closing with a transaction open rolls it back. */
	assert_int_equal(vouch_store_tx_begin(f->store), VOUCH_OK);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "d", NULL, "{}", VOUCH_STORE_CREATE,
	                                     NOW, "admin", NULL),
	                 VOUCH_OK);
	vouch_store_close(f->store);
	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_OK);
	assert_false(obj_exists(f->store, "zone", "d"));
	assert_int_equal(event_count(f->store), 3);
}

static void test_tx_failing_call(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_cert batch[3];
	struct vouch_store_cert c;
	int64_t v = 0;

	assert_int_equal(vouch_store_tx_begin(f->store), VOUCH_OK);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "x", NULL, "{}", VOUCH_STORE_CREATE,
	                                     NOW, "admin", &v),
	                 VOUCH_OK);
	/* Refusals inside: each undoes only itself, the transaction stays open. */
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "x", NULL, "{\"a\":1}",
	                                     VOUCH_STORE_CREATE, NOW, "admin", &v),
	                 VOUCH_ERR_STORE_EXISTS);
	assert_int_equal(
	    vouch_store_obj_put(f->store, "zone", "x", NULL, "{\"a\":1}", 7, NOW, "admin", &v),
	    VOUCH_ERR_STORE_CONFLICT);
	/* A batch whose third certificate repeats the first: the first two went in and out. */
	make_cert(&batch[0], "0A01", "d1");
	make_cert(&batch[1], "0A02", "d2");
	make_cert(&batch[2], "0A01", "d3");
	assert_int_equal(vouch_store_cert_insert_batch(f->store, batch, 3, "admin"),
	                 VOUCH_ERR_STORE_SERIAL_EXISTS);
	assert_false(cert_exists(f->store, "0A01"));
	assert_false(cert_exists(f->store, "0A02"));
	make_cert(&c, "0B01", "d4");
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_OK);
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"),
	                 VOUCH_ERR_STORE_SERIAL_EXISTS);
	assert_int_equal(vouch_store_tx_commit(f->store), VOUCH_OK);

	/* What succeeded is there, once; what failed is not, nor any of its events. */
	assert_true(obj_exists(f->store, "zone", "x"));
	assert_true(cert_exists(f->store, "0B01"));
	assert_false(cert_exists(f->store, "0A01"));
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM certs"), 1);
	assert_int_equal(event_count(f->store), 2);
	assert_event(f->store, 0,
	             "{\"type\":\"zone.create\",\"actor\":\"admin\",\"name\":\"x\",\"version\":1,"
	             "\"object\":{}}");
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events WHERE type = 'cert.issue'"),
	                 1);
}

/* Every operation from before issue 4 inside a transaction: rolled back, then committed. */
static void old_ops(struct vouch_store *s)
{
	struct vouch_store_token t;
	struct vouch_store_cert c;
	uint64_t number = 0;
	bool changed = false;
	size_t count = 0;

	memset(&t, 0, sizeof(t));
	assert_int_equal(vouch_sha256("tok", 3, t.hash), VOUCH_OK);
	snprintf(t.device, sizeof(t.device), "pump-7");
	snprintf(t.profile, sizeof(t.profile), "device");
	t.created_at = NOW - DAY;
	t.expires_at = NOW + DAY;
	assert_int_equal(vouch_store_token_create(s, &t, "admin"), VOUCH_OK);
	assert_int_equal(vouch_store_token_check(s, "pump-7", t.hash, NOW, "est", NULL), VOUCH_OK);
	assert_int_equal(vouch_store_token_check(s, "pump-8", t.hash, NOW, "est", NULL),
	                 VOUCH_ERR_STORE_TOKEN_DEVICE);
	make_cert(&c, "0C01", "pump-7");
	assert_int_equal(vouch_store_token_consume_issue(s, "pump-7", t.hash, NOW, &c, "est"),
	                 VOUCH_OK);
	assert_int_equal(vouch_store_token_consume_issue(s, "pump-7", t.hash, NOW, &c, "est"),
	                 VOUCH_ERR_STORE_TOKEN_USED);
	make_cert(&c, "0C02", "pump-7");
	assert_int_equal(vouch_store_cert_insert(s, &c, "admin"), VOUCH_OK);
	assert_int_equal(
	    vouch_store_cert_revoke(s, "0C01", "keyCompromise", NOW, "admin", &changed), VOUCH_OK);
	assert_true(changed);
	assert_int_equal(vouch_store_device_revoke(s, "pump-7", "superseded", NOW, "admin", &count),
	                 VOUCH_OK);
	assert_int_equal(count, 1);
	assert_int_equal(vouch_store_crl_next(s, "issuing", NOW, NOW + DAY, "admin", &number),
	                 VOUCH_OK);
	assert_int_equal(number, 1);
	assert_int_equal(vouch_store_meta_set(s, "k", "v", 1), VOUCH_OK);
	assert_int_equal(vouch_store_event_append(s, "site.init", "init", "{}", NULL), VOUCH_OK);
}

static void test_tx_old_ops(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_crl crl;
	unsigned char *value = NULL;
	size_t len = 0;

	assert_int_equal(vouch_store_tx_begin(f->store), VOUCH_OK);
	old_ops(f->store);
	/* token.create, token.refuse x2, cert.issue, token.use, cert.issue, cert.revoke x2,
	 * crl.issue, site.init */
	assert_int_equal(event_count(f->store), 10);
	vouch_store_tx_rollback(f->store);
	assert_int_equal(event_count(f->store), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM certs"), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM tokens"), 0);
	assert_int_equal(vouch_store_crl_get(f->store, "issuing", &crl), VOUCH_OK);
	assert_int_equal(crl.number, 0);
	assert_int_equal(vouch_store_meta_get(f->store, "k", &value, &len),
	                 VOUCH_ERR_STORE_NOT_FOUND);

	assert_int_equal(vouch_store_tx_begin(f->store), VOUCH_OK);
	old_ops(f->store);
	assert_int_equal(vouch_store_tx_commit(f->store), VOUCH_OK);
	assert_int_equal(event_count(f->store), 10);
	assert_int_equal(
	    sql_int(f->path, "SELECT count(*) FROM certs WHERE revoked_at IS NOT NULL"), 2);
	assert_int_equal(vouch_store_crl_get(f->store, "issuing", &crl), VOUCH_OK);
	assert_int_equal(crl.number, 1);
	assert_int_equal(vouch_store_meta_get(f->store, "k", &value, &len), VOUCH_OK);
	assert_int_equal(len, 1);
	free(value);

	/* And the same outside any transaction, on a fresh store (each call its own). */
	vouch_store_close(f->store);
	f->store = NULL;
	unlink(f->path);
	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_OK);
	old_ops(f->store);
	assert_int_equal(event_count(f->store), 10);
}

/* ---- migration from version 1 ------------------------------------------------------------- */

/* The version 1 schema, as released (server/store_sqlite.c, migrations[0]). */
static const char v1_ddl[] =
    "CREATE TABLE schema_version ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  version INTEGER NOT NULL);"
    "CREATE TABLE certs ("
    "  serial TEXT PRIMARY KEY NOT NULL,"
    "  device TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  profile TEXT NOT NULL,"
    "  via TEXT NOT NULL,"
    "  not_before INTEGER NOT NULL,"
    "  not_after INTEGER NOT NULL,"
    "  der BLOB NOT NULL,"
    "  issued_at INTEGER NOT NULL,"
    "  revoked_at INTEGER,"
    "  reason TEXT,"
    "  CHECK ((revoked_at IS NULL) = (reason IS NULL)));"
    "CREATE INDEX certs_device ON certs (device, not_after);"
    "CREATE INDEX certs_not_after ON certs (not_after);"
    "CREATE INDEX certs_revoked ON certs (revoked_at) WHERE revoked_at IS NOT NULL;"
    "CREATE TABLE tokens ("
    "  hash BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),"
    "  device TEXT NOT NULL,"
    "  profile TEXT NOT NULL,"
    "  sans TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER,"
    "  used_serial TEXT REFERENCES certs (serial),"
    "  CHECK ((used_at IS NULL) = (used_serial IS NULL)));"
    "CREATE INDEX tokens_device ON tokens (device);"
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  time TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  fields TEXT NOT NULL);"
    "CREATE TABLE crl_state ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  number INTEGER NOT NULL,"
    "  this_update INTEGER NOT NULL,"
    "  next_update INTEGER NOT NULL);"
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  value BLOB NOT NULL);"
    "INSERT INTO schema_version (id, version) VALUES (1, 1);"
    "INSERT INTO certs (serial, device, subject, profile, via, not_before, not_after, der, "
    "  issued_at) VALUES ('0101', 'pump-7', 'CN=pump-7', 'device', 'est', 1, 2000000000, "
    "  x'3003020107', 1);"
    "INSERT INTO events (time, type, actor, fields) VALUES "
    "  ('2026-01-01T00:00:00.000Z', 'site.init', 'init', '{}');";

static void test_migrate_v1(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_cert c;
	int64_t seq = 0;
	int version = 0;

	vouch_store_close(f->store);
	f->store = NULL;
	unlink(f->path);
	sql(f->path, v1_ddl);
	assert_int_equal(sql_int(f->path, "SELECT version FROM schema_version"), 1);

	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_OK);
	assert_int_equal(vouch_store_schema_version(f->store, &version), VOUCH_OK);
	assert_int_equal(version, 2);
	/* The old data is there and the old operations work. */
	assert_int_equal(vouch_store_cert_get(f->store, "0101", &c), VOUCH_OK);
	assert_string_equal(c.device, "pump-7");
	vouch_store_cert_clear(&c);
	/* The new tables and index exist and work. */
	assert_int_equal(sql_int(f->path,
	                         "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name "
	                         "IN ('objects','auth','sessions','rev_versions','rev_entries')"),
	                 5);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
	                                  "AND name = 'objects_owner'"),
	                 1);
	assert_int_equal(vouch_store_obj_put(f->store, "zone", "plant", NULL, "{}",
	                                     VOUCH_STORE_CREATE, NOW, "admin", NULL),
	                 VOUCH_OK);
	/* Event sequence numbers go on from the old log. */
	assert_int_equal(vouch_store_event_append(f->store, "site.keys", "vouchd", "{}", &seq),
	                 VOUCH_OK);
	assert_int_equal(seq, 3);
	vouch_store_close(f->store);
	f->store = NULL;
	assert_int_equal(sql_int(f->path, "SELECT version FROM schema_version"), 2);
	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_OK);
	assert_true(obj_exists(f->store, "zone", "plant"));

	/* A failing migration leaves version 1 and its data untouched: a table of the new
	 * schema already there makes it fail midway. */
	vouch_store_close(f->store);
	f->store = NULL;
	unlink(f->path);
	sql(f->path, v1_ddl);
	sql(f->path, "CREATE TABLE rev_entries (x INTEGER)");
	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_ERR_STORE);
	assert_null(f->store);
	assert_int_equal(sql_int(f->path, "SELECT version FROM schema_version"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
	                                  "AND name = 'objects'"),
	                 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM certs"), 1);
	sql(f->path, "DROP TABLE rev_entries");
	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_obj_crud, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_obj_invalid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_obj_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_obj_peek, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_obj_peek_in_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_cache_slot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rev, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_commit_rollback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_failing_call, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_old_ops, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
