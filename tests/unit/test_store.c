/*
 * The store (server/store.h) through its SQLite back-end: every operation, the distinct token
 * refusals, atomicity of consume + issue, revocation idempotence, migrations and version refusal,
 * event ordering, a kill -9 crash test, and a measurement of the commit rate.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "store.h"
#include "testutil.h"
#include "vouch/crypto.h"
#include "vouch/log.h"

#define NOW ((int64_t)1800000000) /* 2027-01-15: fixed so status tests are exact */
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
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/vouch.db", f->dir);
	snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_OK);
	*state = f;
	return 0;
}

static void remove_dir(const char *dir)
{
	static const char *const names[] = {"vouch.db", "vouch.db-wal", "vouch.db-shm",
	                                    "vouch.db-journal", "other.db"};
	char p[192];

	for (size_t i = 0; i < VOUCH_ARRAY_LEN(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vouch_store_close(f->store);
	remove_dir(f->dir);
	free(f);
	return 0;
}

static void make_cert(struct vouch_store_cert *c, const char *serial, const char *device,
                      int64_t not_after)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	snprintf(c->device, sizeof(c->device), "%s", device);
	snprintf(c->subject, sizeof(c->subject), "CN=%s,O=test", device);
	snprintf(c->profile, sizeof(c->profile), "device");
	snprintf(c->via, sizeof(c->via), "api");
	c->not_before = not_after - 365 * DAY;
	c->not_after = not_after;
	c->der = (unsigned char *)(uintptr_t)fake_der;
	c->der_len = sizeof(fake_der);
}

static void token_hash(const char *token, uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN])
{
	assert_int_equal(vouch_sha256(token, strlen(token), hash), VOUCH_OK);
}

static void make_token(struct vouch_store_token *t, const char *token, const char *device,
                       int64_t expires_at)
{
	memset(t, 0, sizeof(*t));
	token_hash(token, t->hash);
	snprintf(t->device, sizeof(t->device), "%s", device);
	snprintf(t->profile, sizeof(t->profile), "service");
	snprintf(t->sans, sizeof(t->sans), "[\"pump-7.local\",\"10.0.0.7\"]");
	t->created_at = NOW - DAY;
	t->expires_at = expires_at;
}

/* Collect events into a jansson array of their stable JSON form. */
static int collect_event(const struct vouch_store_event *e, void *ctx)
{
	char *s = NULL;
	json_t *j;

	assert_int_equal(vouch_store_event_json(e, &s), VOUCH_OK);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_append_new(ctx, j), 0);
	free(s);
	return 0;
}

static json_t *events_after(struct vouch_store *store, int64_t after)
{
	json_t *arr = json_array();

	assert_int_equal(vouch_store_event_list(store, after, 0, collect_event, arr), VOUCH_OK);
	return arr;
}

static int64_t last_seq(struct vouch_store *store)
{
	json_t *arr = events_after(store, 0);
	size_t n = json_array_size(arr);
	int64_t seq =
	    n == 0 ? 0 : json_integer_value(json_object_get(json_array_get(arr, n - 1), "seq"));

	json_decref(arr);
	return seq;
}

static const char *ev_str(const json_t *arr, size_t i, const char *key)
{
	const char *s = json_string_value(json_object_get(json_array_get(arr, i), key));

	return s != NULL ? s : "(missing)";
}

static int count_cb(const struct vouch_store_cert *c, void *ctx)
{
	(void)c;
	(*(size_t *)ctx)++;
	return 0;
}

static size_t count_certs(struct vouch_store *store, const char *device,
                          enum vouch_store_status status)
{
	struct vouch_store_cert_filter f = {.device = device, .status = status, .now = NOW};
	size_t n = 0;

	assert_int_equal(vouch_store_cert_list(store, &f, count_cb, &n), VOUCH_OK);
	return n;
}

/* ---- opening, helpers --------------------------------------------------------------------- */

static void test_open_urls(void **state)
{
	struct fixture *f = *state;
	static struct vouch_store dummy;
	struct vouch_store *s = &dummy; /* must be reset to NULL */
	char url[200];
	int version = -1;

	assert_int_equal(vouch_store_open("postgresql://vouch@db/vouch", &s),
	                 VOUCH_ERR_UNSUPPORTED);
	assert_null(s);
	assert_int_equal(vouch_store_open("postgres://db/vouch", &s), VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(vouch_store_open("mysql://db", &s), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_open("sqlite:", &s), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_open(f->path, &s), VOUCH_ERR_INVALID); /* no scheme */
	assert_int_equal(vouch_store_open(NULL, &s), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_open("sqlite:/nonexistent-dir/x/vouch.db", &s), VOUCH_ERR_IO);
	assert_null(s);

	/* A second connection to the same file, by the URL form. */
	snprintf(url, sizeof(url), "sqlite://%s", f->path);
	assert_int_equal(vouch_store_open(url, &s), VOUCH_OK);
	assert_string_equal(vouch_store_backend(s), "sqlite");
	assert_int_equal(vouch_store_schema_version(s, &version), VOUCH_OK);
	assert_int_equal(version, VOUCH_STORE_SCHEMA_VERSION);
	assert_int_equal(vouch_store_check(s), VOUCH_OK);
	vouch_store_close(s);
	vouch_store_close(NULL);
}

static void test_file_settings(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* journal_mode is persistent in the file: another connection sees WAL. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void test_serial_canon(void **state)
{
	char out[VOUCH_STORE_SERIAL_MAX + 1];
	char long_hex[100];

	(void)state;
	assert_int_equal(vouch_store_serial_canon("0a1b", out), VOUCH_OK);
	assert_string_equal(out, "0A1B");
	assert_int_equal(vouch_store_serial_canon("a1b", out), VOUCH_OK);
	assert_string_equal(out, "0A1B");
	assert_int_equal(vouch_store_serial_canon("0000A1B", out), VOUCH_OK);
	assert_string_equal(out, "0A1B");
	assert_int_equal(vouch_store_serial_canon("C3", out), VOUCH_OK);
	assert_string_equal(out, "C3");
	assert_int_equal(vouch_store_serial_canon("0", out), VOUCH_ERR_INVALID);
	assert_string_equal(out, "");
	assert_int_equal(vouch_store_serial_canon("", out), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_serial_canon("12G4", out), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_serial_canon("-12", out), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_serial_canon(NULL, out), VOUCH_ERR_INVALID);
	memset(long_hex, 'F', 40);
	long_hex[40] = '\0';
	assert_int_equal(vouch_store_serial_canon(long_hex, out), VOUCH_OK);
	assert_string_equal(out, long_hex);
	long_hex[40] = 'F';
	long_hex[41] = '\0';
	assert_int_equal(vouch_store_serial_canon(long_hex, out), VOUCH_ERR_INVALID);
	/* Leading zeros do not count against the 20 octets. */
	memset(long_hex, '0', 20);
	memset(long_hex + 20, 'a', 40);
	long_hex[60] = '\0';
	assert_int_equal(vouch_store_serial_canon(long_hex, out), VOUCH_OK);
	assert_int_equal(strlen(out), 40);
}

static void test_error_names(void **state)
{
	(void)state;
	for (int e = VOUCH_ERR_STORE_CORRUPT; e <= VOUCH_ERR_STORE; e++)
		assert_string_not_equal(vouch_strerror(e), "unknown error");
	assert_string_equal(vouch_strerror(VOUCH_ERR_STORE_TOKEN_USED),
	                    "store: enrolment token already used");
}

static void test_status_and_time(void **state)
{
	struct vouch_store_cert c;
	enum vouch_store_status st = VOUCH_STORE_STATUS_VALID;
	char iso[VOUCH_STORE_TIME_LEN];

	(void)state;
	make_cert(&c, "01", "d", NOW);
	assert_int_equal(vouch_store_cert_status_at(&c, NOW), VOUCH_STORE_STATUS_VALID);
	assert_int_equal(vouch_store_cert_status_at(&c, NOW + 1), VOUCH_STORE_STATUS_EXPIRED);
	c.revoked = true;
	assert_int_equal(vouch_store_cert_status_at(&c, NOW + 1), VOUCH_STORE_STATUS_REVOKED);
	assert_int_equal(vouch_store_status_parse("expired", &st), VOUCH_OK);
	assert_int_equal(st, VOUCH_STORE_STATUS_EXPIRED);
	assert_int_equal(vouch_store_status_parse("bogus", &st), VOUCH_ERR_INVALID);
	assert_string_equal(vouch_store_status_name(VOUCH_STORE_STATUS_REVOKED), "revoked");
	vouch_store_time_iso(NOW, iso);
	assert_string_equal(iso, "2027-01-15T08:00:00Z");
}

/* ---- certificates ------------------------------------------------------------------------ */

static void test_cert_insert_get(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_cert c;
	struct vouch_store_cert got;
	struct vouch_store_cert_state cs;
	json_t *ev;

	make_cert(&c, "00c3a1", "pump-7", NOW + DAY);
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_OK);
	/* Taken, in any spelling. */
	make_cert(&c, "C3A1", "other", NOW + DAY);
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"),
	                 VOUCH_ERR_STORE_SERIAL_EXISTS);

	assert_int_equal(vouch_store_cert_get(f->store, "c3a1", &got), VOUCH_OK);
	assert_string_equal(got.serial, "C3A1");
	assert_string_equal(got.device, "pump-7");
	assert_string_equal(got.subject, "CN=pump-7,O=test");
	assert_string_equal(got.profile, "device");
	assert_string_equal(got.via, "api");
	assert_int_equal(got.not_after, NOW + DAY);
	assert_int_equal(got.not_before, NOW + DAY - 365 * DAY);
	assert_false(got.revoked);
	assert_int_equal(got.der_len, sizeof(fake_der));
	assert_memory_equal(got.der, fake_der, sizeof(fake_der));
	vouch_store_cert_clear(&got);
	assert_null(got.der);
	vouch_store_cert_clear(NULL);

	assert_int_equal(vouch_store_cert_get(f->store, "0BAD", &got), VOUCH_ERR_STORE_NOT_FOUND);
	assert_null(got.der);
	assert_int_equal(vouch_store_cert_get(f->store, "zz", &got), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_cert_state(f->store, "C3A1", &cs), VOUCH_OK);
	assert_false(cs.revoked);
	assert_int_equal(cs.not_after, NOW + DAY);
	assert_int_equal(vouch_store_cert_state(f->store, "0BAD", &cs), VOUCH_ERR_STORE_NOT_FOUND);

	ev = events_after(f->store, 0);
	assert_int_equal(json_array_size(ev), 1);
	assert_string_equal(ev_str(ev, 0, "type"), "cert.issue");
	assert_string_equal(ev_str(ev, 0, "actor"), "admin");
	assert_string_equal(ev_str(ev, 0, "serial"), "C3A1");
	assert_string_equal(ev_str(ev, 0, "subject"), "CN=pump-7,O=test");
	assert_string_equal(ev_str(ev, 0, "profile"), "device");
	assert_string_equal(ev_str(ev, 0, "device"), "pump-7");
	assert_string_equal(ev_str(ev, 0, "via"), "api");
	json_decref(ev);
}

static void test_cert_insert_invalid(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_cert c;

	make_cert(&c, "01", "", NOW);
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_ERR_INVALID);
	make_cert(&c, "01", "dev\nice", NOW);
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_ERR_INVALID);
	make_cert(&c, "01", "d", NOW);
	c.der_len = 0;
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_ERR_INVALID);
	make_cert(&c, "01", "d", NOW);
	c.der_len = VOUCH_STORE_DER_MAX + 1;
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_ERR_INVALID);
	make_cert(&c, "01", "d", NOW);
	c.not_before = c.not_after + 1;
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_ERR_INVALID);
	make_cert(&c, "01", "d", NOW);
	snprintf(c.profile, sizeof(c.profile), "de vice");
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_ERR_INVALID);
	make_cert(&c, "00", "d", NOW);
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_ERR_INVALID);
	make_cert(&c, "01", "\xff\xfe", NOW); /* not UTF-8 */
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_ERR_INVALID);
	make_cert(&c, "01", "d", NOW);
	assert_int_equal(vouch_store_cert_insert(f->store, &c, NULL), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_cert_insert(f->store, NULL, "admin"), VOUCH_ERR_INVALID);
	assert_int_equal(count_certs(f->store, NULL, VOUCH_STORE_STATUS_ANY), 0);
	assert_int_equal(last_seq(f->store), 0);
}

struct listed {
	char serials[16][VOUCH_STORE_SERIAL_MAX + 1];
	size_t n;
	size_t stop_after; /* 0: never */
	bool der_seen;
};

static int list_cb(const struct vouch_store_cert *c, void *ctx)
{
	struct listed *l = ctx;

	assert_true(l->n < VOUCH_ARRAY_LEN(l->serials));
	snprintf(l->serials[l->n++], sizeof(l->serials[0]), "%s", c->serial);
	if (c->der != NULL) {
		assert_int_equal(c->der_len, sizeof(fake_der));
		assert_memory_equal(c->der, fake_der, sizeof(fake_der));
		l->der_seen = true;
	}
	return l->stop_after != 0 && l->n == l->stop_after ? 1 : 0;
}

static int abort_cb(const struct vouch_store_cert *c, void *ctx)
{
	(void)c;
	(void)ctx;
	return VOUCH_ERR_IO;
}

static void test_cert_list_filters(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_cert c;
	struct vouch_store_cert_filter flt = {.now = NOW};
	struct listed l;
	bool changed = false;

	make_cert(&c, "11", "a", NOW + DAY); /* valid */
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_OK);
	make_cert(&c, "12", "a", NOW - 1); /* expired */
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_OK);
	make_cert(&c, "13", "b", NOW + DAY); /* will be revoked */
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_OK);
	make_cert(&c, "14", "b", NOW); /* valid: not_after is inclusive */
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_OK);
	assert_int_equal(
	    vouch_store_cert_revoke(f->store, "13", "keyCompromise", NOW - 10, "admin", &changed),
	    VOUCH_OK);
	assert_true(changed);

	assert_int_equal(count_certs(f->store, NULL, VOUCH_STORE_STATUS_ANY), 4);
	assert_int_equal(count_certs(f->store, "a", VOUCH_STORE_STATUS_ANY), 2);
	assert_int_equal(count_certs(f->store, "b", VOUCH_STORE_STATUS_ANY), 2);
	assert_int_equal(count_certs(f->store, "zz", VOUCH_STORE_STATUS_ANY), 0);
	assert_int_equal(count_certs(f->store, NULL, VOUCH_STORE_STATUS_VALID), 2);
	assert_int_equal(count_certs(f->store, NULL, VOUCH_STORE_STATUS_EXPIRED), 1);
	assert_int_equal(count_certs(f->store, NULL, VOUCH_STORE_STATUS_REVOKED), 1);
	assert_int_equal(count_certs(f->store, "a", VOUCH_STORE_STATUS_VALID), 1);
	assert_int_equal(count_certs(f->store, "b", VOUCH_STORE_STATUS_VALID), 1);
	assert_int_equal(count_certs(f->store, "b", VOUCH_STORE_STATUS_EXPIRED), 0);

	/* Issuance order, no DER unless asked. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(vouch_store_cert_list(f->store, &flt, list_cb, &l), VOUCH_OK);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.serials[0], "11");
	assert_string_equal(l.serials[3], "14");
	assert_false(l.der_seen);
	memset(&l, 0, sizeof(l));
	flt.with_der = true;
	flt.limit = 2;
	assert_int_equal(vouch_store_cert_list(f->store, &flt, list_cb, &l), VOUCH_OK);
	assert_int_equal(l.n, 2);
	assert_true(l.der_seen);
	/* > 0 stops without error, < 0 aborts with it. */
	memset(&l, 0, sizeof(l));
	l.stop_after = 3;
	flt.limit = 0;
	assert_int_equal(vouch_store_cert_list(f->store, &flt, list_cb, &l), VOUCH_OK);
	assert_int_equal(l.n, 3);
	assert_int_equal(vouch_store_cert_list(f->store, &flt, abort_cb, NULL), VOUCH_ERR_IO);
	flt.status = (enum vouch_store_status)7;
	assert_int_equal(vouch_store_cert_list(f->store, &flt, list_cb, &l), VOUCH_ERR_INVALID);
	/* The statement is reusable after a stop and an abort. */
	assert_int_equal(count_certs(f->store, "b", VOUCH_STORE_STATUS_ANY), 2);
}

static void test_batch(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_cert *certs = calloc(1000, sizeof(*certs));
	char serial[16];
	struct vouch_store_cert got;
	int64_t seq0;
	json_t *ev;

	assert_non_null(certs);
	for (size_t i = 0; i < 1000; i++) {
		snprintf(serial, sizeof(serial), "%x", (unsigned)(0x10000 + i)); /* odd length */
		make_cert(&certs[i], serial, "veh", NOW + DAY);
		snprintf(certs[i].via, sizeof(certs[i].via), "batch");
	}
	seq0 = last_seq(f->store);
	assert_int_equal(vouch_store_cert_insert_batch(f->store, certs, 1000, "admin"), VOUCH_OK);
	assert_int_equal(count_certs(f->store, "veh", VOUCH_STORE_STATUS_ANY), 1000);
	assert_int_equal(vouch_store_cert_get(f->store, "010000", &got), VOUCH_OK);
	assert_string_equal(got.via, "batch");
	vouch_store_cert_clear(&got);
	ev = events_after(f->store, seq0);
	assert_int_equal(json_array_size(ev), 1000);
	assert_string_equal(ev_str(ev, 999, "serial"), "0103E7");
	json_decref(ev);

	/* A duplicate anywhere, also within the batch, leaves nothing of it behind. */
	for (size_t i = 0; i < 10; i++) {
		snprintf(serial, sizeof(serial), "%x", (unsigned)(0x20000 + i));
		snprintf(certs[i].serial, sizeof(certs[i].serial), "%s", serial);
	}
	snprintf(certs[9].serial, sizeof(certs[9].serial), "20000");
	seq0 = last_seq(f->store);
	assert_int_equal(vouch_store_cert_insert_batch(f->store, certs, 10, "admin"),
	                 VOUCH_ERR_STORE_SERIAL_EXISTS);
	assert_int_equal(count_certs(f->store, NULL, VOUCH_STORE_STATUS_ANY), 1000);
	assert_int_equal(last_seq(f->store), seq0);
	/* One invalid record refuses the whole batch before any write. */
	snprintf(certs[9].serial, sizeof(certs[9].serial), "xyz");
	assert_int_equal(vouch_store_cert_insert_batch(f->store, certs, 10, "admin"),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_cert_insert_batch(f->store, certs, 0, "admin"), VOUCH_OK);
	assert_int_equal(vouch_store_cert_insert_batch(f->store, NULL, 3, "admin"),
	                 VOUCH_ERR_INVALID);
	free(certs);
}

/* ---- revocation ---------------------------------------------------------------------------- */

struct revoked {
	char serials[8][VOUCH_STORE_SERIAL_MAX + 1];
	int64_t at[8];
	char reasons[8][VOUCH_STORE_REASON_MAX + 1];
	size_t n;
};

static int revoked_cb(const char *serial, int64_t at, const char *reason, void *ctx)
{
	struct revoked *r = ctx;

	assert_true(r->n < 8);
	snprintf(r->serials[r->n], sizeof(r->serials[0]), "%s", serial);
	snprintf(r->reasons[r->n], sizeof(r->reasons[0]), "%s", reason);
	r->at[r->n++] = at;
	return 0;
}

static void test_revoke(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_cert c;
	struct vouch_store_cert_state cs;
	struct vouch_store_cert got;
	struct revoked r;
	bool changed = true;
	size_t count = 99;
	int64_t seq0;
	json_t *ev;

	make_cert(&c, "A1", "pump", NOW + DAY);
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_OK);
	make_cert(&c, "A2", "pump", NOW + 2 * DAY);
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_OK);
	make_cert(&c, "A3", "pump", NOW - DAY); /* expired: device revocation skips it */
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_OK);
	make_cert(&c, "B1", "valve", NOW + DAY);
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_OK);
	seq0 = last_seq(f->store);

	assert_int_equal(
	    vouch_store_cert_revoke(f->store, "a1", "keyCompromise", NOW, "admin", &changed),
	    VOUCH_OK);
	assert_true(changed);
	assert_int_equal(vouch_store_cert_state(f->store, "A1", &cs), VOUCH_OK);
	assert_true(cs.revoked);
	assert_int_equal(cs.revoked_at, NOW);
	assert_string_equal(cs.reason, "keyCompromise");
	/* Again: a no-op reported as such; the first revocation stands. */
	assert_int_equal(
	    vouch_store_cert_revoke(f->store, "A1", "superseded", NOW + 5, "admin", &changed),
	    VOUCH_OK);
	assert_false(changed);
	assert_int_equal(vouch_store_cert_get(f->store, "A1", &got), VOUCH_OK);
	assert_true(got.revoked);
	assert_int_equal(got.revoked_at, NOW);
	assert_string_equal(got.reason, "keyCompromise");
	vouch_store_cert_clear(&got);
	assert_int_equal(
	    vouch_store_cert_revoke(f->store, "FF", "keyCompromise", NOW, "admin", &changed),
	    VOUCH_ERR_STORE_NOT_FOUND);
	assert_false(changed);
	assert_int_equal(
	    vouch_store_cert_revoke(f->store, "A1", "key compromise", NOW, "admin", &changed),
	    VOUCH_ERR_INVALID);

	/* By device: A2 only (A1 already revoked, A3 expired, B1 another device). */
	assert_int_equal(vouch_store_device_revoke(f->store, "pump", "cessationOfOperation",
	                                           NOW + 60, "admin", &count),
	                 VOUCH_OK);
	assert_int_equal(count, 1);
	assert_int_equal(vouch_store_device_revoke(f->store, "pump", "cessationOfOperation",
	                                           NOW + 60, "admin", &count),
	                 VOUCH_OK);
	assert_int_equal(count, 0);
	assert_int_equal(vouch_store_device_revoke(f->store, "nobody", "cessationOfOperation", NOW,
	                                           "admin", &count),
	                 VOUCH_OK);
	assert_int_equal(count, 0);
	assert_int_equal(vouch_store_cert_state(f->store, "B1", &cs), VOUCH_OK);
	assert_false(cs.revoked);

	ev = events_after(f->store, seq0);
	assert_int_equal(json_array_size(ev), 2);
	assert_string_equal(ev_str(ev, 0, "type"), "cert.revoke");
	assert_string_equal(ev_str(ev, 0, "serial"), "A1");
	assert_string_equal(ev_str(ev, 0, "reason"), "keyCompromise");
	assert_string_equal(ev_str(ev, 1, "serial"), "A2");
	assert_string_equal(ev_str(ev, 1, "reason"), "cessationOfOperation");
	json_decref(ev);

	/* CRL entries, serial order, optionally without the expired. */
	assert_int_equal(vouch_store_cert_revoke(f->store, "A3", "superseded", NOW, "admin", NULL),
	                 VOUCH_OK);
	memset(&r, 0, sizeof(r));
	assert_int_equal(vouch_store_revoked_list(f->store, 0, revoked_cb, &r), VOUCH_OK);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.serials[0], "A1");
	assert_int_equal(r.at[0], NOW);
	assert_string_equal(r.reasons[0], "keyCompromise");
	assert_string_equal(r.serials[1], "A2");
	assert_int_equal(r.at[1], NOW + 60);
	assert_string_equal(r.serials[2], "A3");
	memset(&r, 0, sizeof(r));
	assert_int_equal(vouch_store_revoked_list(f->store, NOW, revoked_cb, &r), VOUCH_OK);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.serials[1], "A2");
}

/* ---- enrolment tokens ------------------------------------------------------------------------ */

static void test_token_refusals(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_token t;
	struct vouch_store_token got;
	struct vouch_store_cert c;
	uint8_t h[VOUCH_STORE_TOKEN_HASH_LEN];
	json_t *ev;

	make_token(&t, "tok-pump", "pump-7", NOW + DAY);
	assert_int_equal(vouch_store_token_create(f->store, &t, "admin"), VOUCH_OK);
	assert_int_equal(vouch_store_token_create(f->store, &t, "admin"), VOUCH_ERR_STORE_EXISTS);
	make_token(&t, "tok-old", "pump-7", NOW - 1);
	assert_int_equal(vouch_store_token_create(f->store, &t, "admin"), VOUCH_OK);
	make_token(&t, "tok-bad", "pump-7", NOW);
	snprintf(t.sans, sizeof(t.sans), "{\"not\":\"an array\"}");
	assert_int_equal(vouch_store_token_create(f->store, &t, "admin"), VOUCH_ERR_INVALID);

	/* A valid check returns the record and consumes nothing. */
	token_hash("tok-pump", h);
	assert_int_equal(vouch_store_token_check(f->store, "pump-7", h, NOW, "est", &got),
	                 VOUCH_OK);
	assert_string_equal(got.device, "pump-7");
	assert_string_equal(got.profile, "service");
	assert_string_equal(got.sans, "[\"pump-7.local\",\"10.0.0.7\"]");
	assert_int_equal(got.expires_at, NOW + DAY);
	assert_false(got.used);
	assert_int_equal(vouch_store_token_check(f->store, "pump-7", h, NOW, "est", NULL),
	                 VOUCH_OK);

	/* Each refusal distinct. */
	assert_int_equal(vouch_store_token_check(f->store, "pump-8", h, NOW, "est", &got),
	                 VOUCH_ERR_STORE_TOKEN_DEVICE);
	assert_string_equal(got.device, "");
	assert_int_equal(vouch_store_token_check(f->store, "bad\x01id", h, NOW, "est", &got),
	                 VOUCH_ERR_STORE_TOKEN_DEVICE);
	token_hash("tok-nope", h);
	assert_int_equal(vouch_store_token_check(f->store, "pump-7", h, NOW, "est", &got),
	                 VOUCH_ERR_STORE_TOKEN_UNKNOWN);
	token_hash("tok-old", h);
	assert_int_equal(vouch_store_token_check(f->store, "pump-7", h, NOW, "est", &got),
	                 VOUCH_ERR_STORE_TOKEN_EXPIRED);
	/* Expiry is exclusive: at expires_at it is gone. */
	token_hash("tok-pump", h);
	assert_int_equal(vouch_store_token_check(f->store, "pump-7", h, NOW + DAY, "est", &got),
	                 VOUCH_ERR_STORE_TOKEN_EXPIRED);

	make_cert(&c, "7001", "pump-7", NOW + DAY);
	snprintf(c.via, sizeof(c.via), "est");
	assert_int_equal(vouch_store_token_consume_issue(f->store, "pump-7", h, NOW, &c, "est"),
	                 VOUCH_OK);
	assert_int_equal(vouch_store_token_check(f->store, "pump-7", h, NOW, "est", &got),
	                 VOUCH_ERR_STORE_TOKEN_USED);
	make_cert(&c, "7002", "pump-7", NOW + DAY);
	assert_int_equal(vouch_store_token_consume_issue(f->store, "pump-7", h, NOW, &c, "est"),
	                 VOUCH_ERR_STORE_TOKEN_USED);
	token_hash("tok-old", h);
	assert_int_equal(vouch_store_token_consume_issue(f->store, "pump-7", h, NOW, &c, "est"),
	                 VOUCH_ERR_STORE_TOKEN_EXPIRED);
	token_hash("tok-nope", h);
	assert_int_equal(vouch_store_token_consume_issue(f->store, "pump-7", h, NOW, &c, "est"),
	                 VOUCH_ERR_STORE_TOKEN_UNKNOWN);
	token_hash("tok-pump", h);
	make_cert(&c, "7002", "pump-8", NOW + DAY);
	assert_int_equal(vouch_store_token_consume_issue(f->store, "pump-8", h, NOW, &c, "est"),
	                 VOUCH_ERR_STORE_TOKEN_DEVICE);
	/* The certificate's device must be the token's device argument. */
	assert_int_equal(vouch_store_token_consume_issue(f->store, "pump-7", h, NOW, &c, "est"),
	                 VOUCH_ERR_INVALID);
	/* No refused call stored a certificate. */
	assert_int_equal(count_certs(f->store, NULL, VOUCH_STORE_STATUS_ANY), 1);

	ev = events_after(f->store, 0);
	assert_int_equal(json_array_size(ev), 14);
	assert_string_equal(ev_str(ev, 0, "type"), "token.create");
	assert_string_equal(ev_str(ev, 0, "device"), "pump-7");
	assert_string_equal(ev_str(ev, 0, "expires"), "2027-01-16T08:00:00Z");
	assert_string_equal(ev_str(ev, 1, "type"), "token.create");
	assert_string_equal(ev_str(ev, 2, "type"), "token.refuse");
	assert_string_equal(ev_str(ev, 2, "why"), "wrong-device");
	assert_string_equal(ev_str(ev, 2, "device"), "pump-8");
	assert_string_equal(ev_str(ev, 2, "actor"), "est");
	assert_string_equal(ev_str(ev, 3, "why"), "wrong-device");
	assert_true(json_is_null(json_object_get(json_array_get(ev, 3), "device")));
	assert_string_equal(ev_str(ev, 4, "why"), "unknown");
	assert_string_equal(ev_str(ev, 5, "why"), "expired");
	assert_string_equal(ev_str(ev, 6, "why"), "expired");
	assert_string_equal(ev_str(ev, 7, "type"), "cert.issue");
	assert_string_equal(ev_str(ev, 7, "via"), "est");
	assert_string_equal(ev_str(ev, 8, "type"), "token.use");
	assert_string_equal(ev_str(ev, 8, "device"), "pump-7");
	assert_string_equal(ev_str(ev, 8, "serial"), "7001");
	assert_string_equal(ev_str(ev, 9, "why"), "reused");
	assert_string_equal(ev_str(ev, 10, "why"), "reused");
	assert_string_equal(ev_str(ev, 11, "why"), "expired");
	assert_string_equal(ev_str(ev, 12, "why"), "unknown");
	assert_string_equal(ev_str(ev, 13, "why"), "wrong-device");
	json_decref(ev);
}

static void test_consume_issue_atomic(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_token t;
	struct vouch_store_token got;
	struct vouch_store_cert c;
	struct vouch_store_cert other;
	int64_t seq0;
	json_t *ev;

	make_cert(&other, "5EED", "somebody-else", NOW + DAY);
	assert_int_equal(vouch_store_cert_insert(f->store, &other, "admin"), VOUCH_OK);
	make_token(&t, "tok", "pump-9", NOW + DAY);
	assert_int_equal(vouch_store_token_create(f->store, &t, "admin"), VOUCH_OK);
	seq0 = last_seq(f->store);

	/* The certificate cannot be stored (serial taken): nothing changes. */
	make_cert(&c, "5eed", "pump-9", NOW + DAY);
	assert_int_equal(
	    vouch_store_token_consume_issue(f->store, "pump-9", t.hash, NOW, &c, "est"),
	    VOUCH_ERR_STORE_SERIAL_EXISTS);
	assert_int_equal(last_seq(f->store), seq0);
	assert_int_equal(vouch_store_token_check(f->store, "pump-9", t.hash, NOW, "est", &got),
	                 VOUCH_OK);
	assert_false(got.used);
	assert_int_equal(count_certs(f->store, "pump-9", VOUCH_STORE_STATUS_ANY), 0);
	assert_int_equal(count_certs(f->store, "somebody-else", VOUCH_STORE_STATUS_ANY), 1);

	/* Re-signed with a fresh serial, it goes through once. */
	make_cert(&c, "5EEE", "pump-9", NOW + DAY);
	assert_int_equal(
	    vouch_store_token_consume_issue(f->store, "pump-9", t.hash, NOW, &c, "est"), VOUCH_OK);
	ev = events_after(f->store, seq0);
	assert_int_equal(json_array_size(ev), 2);
	assert_string_equal(ev_str(ev, 0, "type"), "cert.issue");
	assert_string_equal(ev_str(ev, 0, "serial"), "5EEE");
	assert_string_equal(ev_str(ev, 1, "type"), "token.use");
	json_decref(ev);
	assert_int_equal(count_certs(f->store, "pump-9", VOUCH_STORE_STATUS_ANY), 1);
}

/* ---- CRL state, meta, events ---------------------------------------------------------------- */

static void test_crl_state(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_crl crl;
	uint64_t n = 0;
	json_t *ev;

	assert_int_equal(vouch_store_crl_get(f->store, "issuing", &crl), VOUCH_OK);
	assert_int_equal(crl.number, 0);
	assert_int_equal(vouch_store_crl_next(f->store, "issuing", NOW, NOW + DAY, "system", &n),
	                 VOUCH_OK);
	assert_int_equal(n, 1);
	assert_int_equal(
	    vouch_store_crl_next(f->store, "issuing", NOW + 5, NOW + DAY + 5, "system", &n),
	    VOUCH_OK);
	assert_int_equal(n, 2);
	assert_int_equal(vouch_store_crl_next(f->store, "root", NOW, NOW + DAY, "system", &n),
	                 VOUCH_OK);
	assert_int_equal(n, 1);
	assert_int_equal(vouch_store_crl_get(f->store, "issuing", &crl), VOUCH_OK);
	assert_int_equal(crl.number, 2);
	assert_int_equal(crl.this_update, NOW + 5);
	assert_int_equal(crl.next_update, NOW + DAY + 5);
	assert_int_equal(vouch_store_crl_next(f->store, "issuing", NOW, NOW - 1, "system", &n),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(n, 0);
	assert_int_equal(vouch_store_crl_next(f->store, "bad name", NOW, NOW, "system", &n),
	                 VOUCH_ERR_INVALID);

	ev = events_after(f->store, 0);
	assert_int_equal(json_array_size(ev), 3);
	assert_string_equal(ev_str(ev, 1, "type"), "crl.issue");
	assert_string_equal(ev_str(ev, 1, "crl"), "issuing");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ev, 1), "number")), 2);
	json_decref(ev);
}

static void test_meta(void **state)
{
	struct fixture *f = *state;
	unsigned char *v = NULL;
	size_t len = 99;
	static const unsigned char bin[] = {0x00, 0x01, 0xff, 0x00};

	assert_int_equal(vouch_store_meta_get(f->store, "crl.issuing", &v, &len),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_null(v);
	assert_int_equal(len, 0);
	assert_int_equal(vouch_store_meta_set(f->store, "crl.issuing", bin, sizeof(bin)), VOUCH_OK);
	assert_int_equal(vouch_store_meta_get(f->store, "crl.issuing", &v, &len), VOUCH_OK);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(v, bin, sizeof(bin));
	free(v);
	assert_int_equal(vouch_store_meta_set(f->store, "crl.issuing", "text", 4), VOUCH_OK);
	assert_int_equal(vouch_store_meta_get(f->store, "crl.issuing", &v, &len), VOUCH_OK);
	assert_int_equal(len, 4);
	assert_string_equal((char *)v, "text"); /* NUL-terminated for text */
	free(v);
	assert_int_equal(vouch_store_meta_set(f->store, "empty", NULL, 0), VOUCH_OK);
	assert_int_equal(vouch_store_meta_get(f->store, "empty", &v, &len), VOUCH_OK);
	assert_int_equal(len, 0);
	assert_string_equal((char *)v, "");
	free(v);
	assert_int_equal(vouch_store_meta_set(f->store, "bad key", "x", 1), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_meta_set(f->store, "k", NULL, 1), VOUCH_ERR_INVALID);
}

struct seqs {
	int64_t last;
	size_t n;
};

static int seq_cb(const struct vouch_store_event *e, void *ctx)
{
	struct seqs *s = ctx;

	assert_true(e->seq > s->last);
	s->last = e->seq;
	s->n++;
	return 0;
}

static void test_events(void **state)
{
	struct fixture *f = *state;
	int64_t seq = 0;
	int64_t prev = 0;
	struct seqs s = {0};
	json_t *ev;
	json_t *e0;
	char *txt = NULL;
	struct vouch_store_event e = {.seq = 7,
	                              .time = "2026-11-22T03:20:00.123Z",
	                              .type = "site.init",
	                              .actor = "init",
	                              .fields = "{\"site\":\"acme\",\"seq\":99}"};

	assert_int_equal(vouch_store_event_append(f->store, "site.init", "init",
	                                          "{ \"site\" : \"acme\" }", &seq),
	                 VOUCH_OK);
	assert_true(seq > 0);
	prev = seq;
	for (int i = 0; i < 50; i++) {
		assert_int_equal(vouch_store_event_append(f->store, "test.tick", "t", NULL, &seq),
		                 VOUCH_OK);
		assert_true(seq > prev);
		prev = seq;
	}
	assert_int_equal(vouch_store_event_append(f->store, "x", "t", "[1]", &seq),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(seq, 0);
	assert_int_equal(vouch_store_event_append(f->store, "x", "t", "{\"a\":1,\"a\":2}", &seq),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_event_append(f->store, "x", "t", "{bad", &seq),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_store_event_append(f->store, "bad type", "t", "{}", &seq),
	                 VOUCH_ERR_INVALID);

	assert_int_equal(vouch_store_event_list(f->store, 0, 0, seq_cb, &s), VOUCH_OK);
	assert_int_equal(s.n, 51);
	memset(&s, 0, sizeof(s));
	assert_int_equal(vouch_store_event_list(f->store, 10, 5, seq_cb, &s), VOUCH_OK);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.last, 15);

	ev = events_after(f->store, 0);
	e0 = json_array_get(ev, 0);
	assert_int_equal(json_integer_value(json_object_get(e0, "seq")), 1);
	assert_string_equal(ev_str(ev, 0, "type"), "site.init");
	assert_string_equal(ev_str(ev, 0, "actor"), "init");
	assert_string_equal(ev_str(ev, 0, "site"), "acme");
	/* "2026-11-22T03:20:00.123Z" */
	assert_int_equal(strlen(ev_str(ev, 0, "time")), 24);
	assert_int_equal(ev_str(ev, 0, "time")[23], 'Z');
	json_decref(ev);

	/* The stable format, byte for byte; envelope keys win over a field of the same name. */
	assert_int_equal(vouch_store_event_json(&e, &txt), VOUCH_OK);
	assert_string_equal(txt, "{\"seq\":7,\"time\":\"2026-11-22T03:20:00.123Z\","
	                         "\"type\":\"site.init\",\"actor\":\"init\",\"site\":\"acme\"}");
	free(txt);
}

/* ---- migrations ------------------------------------------------------------------------------ */

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

static void test_migrations(void **state)
{
	struct fixture *f = *state;
	struct vouch_store *s = NULL;
	struct vouch_store_cert c;
	struct vouch_store_cert got;
	char other[160];
	char url[200];
	int version = 0;
	FILE *fp;

	/* Created at the current version by setup; data survives a reopen (no migration). */
	make_cert(&c, "0101", "d", NOW);
	assert_int_equal(vouch_store_cert_insert(f->store, &c, "admin"), VOUCH_OK);
	vouch_store_close(f->store);
	f->store = NULL;
	assert_int_equal(sql_int(f->path, "SELECT version FROM schema_version"),
	                 VOUCH_STORE_SCHEMA_VERSION);
	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_OK);
	assert_int_equal(vouch_store_schema_version(f->store, &version), VOUCH_OK);
	assert_int_equal(version, VOUCH_STORE_SCHEMA_VERSION);
	assert_int_equal(vouch_store_cert_get(f->store, "0101", &got), VOUCH_OK);
	vouch_store_cert_clear(&got);
	vouch_store_close(f->store);
	f->store = NULL;

	/* A database from a newer vouchd is refused and left as it was. */
	sql(f->path, "UPDATE schema_version SET version = 99");
	assert_int_equal(vouch_store_open(f->url, &s), VOUCH_ERR_STORE_VERSION);
	assert_null(s);
	assert_int_equal(sql_int(f->path, "SELECT version FROM schema_version"), 99);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM certs"), 1);
	sql(f->path, "UPDATE schema_version SET version = 2");
	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_OK);

	/* An older (here: empty, version 0) database is migrated in one go. */
	snprintf(other, sizeof(other), "%s/other.db", f->dir);
	sql(other, "PRAGMA user_version = 0");
	snprintf(url, sizeof(url), "sqlite:%s", other);
	assert_int_equal(vouch_store_open(url, &s), VOUCH_OK);
	assert_int_equal(vouch_store_schema_version(s, &version), VOUCH_OK);
	assert_int_equal(version, VOUCH_STORE_SCHEMA_VERSION);
	vouch_store_close(s);
	s = NULL;
	assert_int_equal(sql_int(other,
	                         "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
	                         "AND name IN ('certs','tokens','events','crl_state','meta')"),
	                 5);
	unlink(other);

	/* Somebody else's database is not ours to migrate. */
	sql(other, "CREATE TABLE unrelated (x INTEGER)");
	assert_int_equal(vouch_store_open(url, &s), VOUCH_ERR_STORE_CORRUPT);
	assert_null(s);
	assert_int_equal(sql_int(other, "SELECT count(*) FROM sqlite_master"), 1);
	unlink(other);

	/* Nor is a file that is not a database. */
	fp = fopen(other, "w");
	assert_non_null(fp);
	fputs("this is not an SQLite database, it is just text long enough to have a header.....",
	      fp);
	fclose(fp);
	assert_int_equal(vouch_store_open(url, &s), VOUCH_ERR_STORE_CORRUPT);
	assert_null(s);
	unlink(other);
}

/* ---- crash safety -------------------------------------------------------------------------------
 */

#define CRASH_ROUNDS   4
#define CRASH_MAX_ACKS 200000 /* far more than a few hundred ms of commits */
#define ACK_LEN        48     /* fixed-size records: one write() <= PIPE_BUF is atomic */

/* The child: create a token and consume + issue with it, forever, acknowledging each durable
 * serial on fd. Never returns; uses no cmocka (its asserts would longjmp into the parent's copy
 * of the runner). */
static void crash_child(const char *url, int round, int fd)
{
	struct vouch_store *s = NULL;
	struct vouch_store_token t;
	struct vouch_store_cert c;
	uint8_t rnd[16];
	char tok[48];
	char ack[ACK_LEN];

	if (vouch_store_open(url, &s) != VOUCH_OK)
		_exit(2);
	for (unsigned long i = 0;; i++) {
		memset(&t, 0, sizeof(t));
		snprintf(tok, sizeof(tok), "crash-token-%d-%lu", round, i);
		snprintf(t.device, sizeof(t.device), "dev-%d-%lu", round, i);
		snprintf(t.profile, sizeof(t.profile), "device");
		t.created_at = NOW - DAY;
		t.expires_at = NOW + DAY;
		if (vouch_sha256(tok, strlen(tok), t.hash) != VOUCH_OK ||
		    vouch_store_token_create(s, &t, "admin") != VOUCH_OK)
			_exit(3);

		memset(&c, 0, sizeof(c));
		if (vouch_random(rnd, sizeof(rnd)) != VOUCH_OK)
			_exit(4);
		rnd[0] = (uint8_t)((rnd[0] & 0x7f) | 0x10); /* positive, full 16 octets */
		for (size_t k = 0; k < sizeof(rnd); k++)
			snprintf(c.serial + 2 * k, 3, "%02X", rnd[k]);
		snprintf(c.device, sizeof(c.device), "%s", t.device);
		snprintf(c.subject, sizeof(c.subject), "CN=%s,O=crash", t.device);
		snprintf(c.profile, sizeof(c.profile), "device");
		snprintf(c.via, sizeof(c.via), "est");
		c.not_before = NOW;
		c.not_after = NOW + DAY;
		c.der = (unsigned char *)(uintptr_t)fake_der;
		c.der_len = sizeof(fake_der);
		if (vouch_store_token_consume_issue(s, t.device, t.hash, NOW, &c, "est") !=
		    VOUCH_OK)
			_exit(5);
		memset(ack, 0, sizeof(ack));
		snprintf(ack, sizeof(ack), "%s", c.serial);
		if (write(fd, ack, sizeof(ack)) != (ssize_t)sizeof(ack))
			_exit(6);
	}
}

static int cmp_serial(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_crash_kill9(void **state)
{
	struct fixture *f = *state;
	struct vouch_store_cert got;
	char(*acked)[ACK_LEN] = calloc(CRASH_MAX_ACKS, ACK_LEN);
	size_t n_acked = 0;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

	assert_non_null(acked);
	srand(seed);
	vouch_store_close(f->store);
	f->store = NULL;
	for (int round = 0; round < CRASH_ROUNDS; round++) {
		int fds[2];
		pid_t pid;
		int status = 0;
		char rec[ACK_LEN];
		ssize_t r;
		unsigned delay_ms = 20 + (unsigned)(rand() % 300);
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)delay_ms * 1000000L};
		struct vouch_store *s = NULL;
		size_t round_acked = 0;
		int64_t certs;

		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			crash_child(f->url, round, fds[1]);
		}
		close(fds[1]);
		/* Kill only once the child is committing: after its first acknowledgement. */
		r = read(fds[0], rec, sizeof(rec));
		assert_int_equal(r, ACK_LEN);
		memcpy(acked[n_acked++], rec, ACK_LEN);
		round_acked++;
		nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		/* Whatever reached the pipe was acknowledged before the kill. */
		while ((r = read(fds[0], rec, sizeof(rec))) == ACK_LEN) {
			assert_true(n_acked < CRASH_MAX_ACKS);
			memcpy(acked[n_acked++], rec, ACK_LEN);
			round_acked++;
		}
		assert_int_equal(r, 0);
		close(fds[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);

		/* Recovery on open; then every promise kept and nothing half-written. */
		assert_int_equal(vouch_store_open(f->url, &s), VOUCH_OK);
		assert_int_equal(vouch_store_check(s), VOUCH_OK);
		for (size_t i = 0; i < n_acked; i++) {
			assert_int_equal(vouch_store_cert_get(s, acked[i], &got), VOUCH_OK);
			vouch_store_cert_clear(&got);
		}
		vouch_store_close(s);
		certs = sql_int(f->path, "SELECT count(*) FROM certs");
		assert_int_equal(sql_int(f->path, "SELECT count(DISTINCT serial) FROM certs"),
		                 certs);
		assert_int_equal(
		    sql_int(f->path, "SELECT count(*) FROM tokens WHERE used_at IS NOT NULL"),
		    certs);
		assert_int_equal(
		    sql_int(f->path, "SELECT count(*) FROM tokens t WHERE used_serial IS NOT "
		                     "NULL AND NOT EXISTS (SELECT 1 FROM certs c WHERE c.serial "
		                     "= t.used_serial AND c.device = t.device)"),
		    0);
		/* Each issuance is exactly its two events. */
		assert_int_equal(
		    sql_int(f->path, "SELECT count(*) FROM events WHERE type = 'cert.issue'"),
		    certs);
		assert_int_equal(
		    sql_int(f->path, "SELECT count(*) FROM events WHERE type = 'token.use'"),
		    certs);
		/* Stored but not acknowledged: at most the one in flight at each kill. */
		assert_true(certs >= (int64_t)n_acked);
		assert_true(certs - (int64_t)n_acked <= round + 1);
		print_message("crash round %d: SIGKILL after %u ms, %zu acknowledged (%zu in all), "
		              "%lld stored, integrity ok (seed %u)\n",
		              round, delay_ms, round_acked, n_acked, (long long)certs, seed);
	}
	qsort(acked, n_acked, ACK_LEN, cmp_serial);
	for (size_t i = 1; i < n_acked; i++)
		assert_string_not_equal(acked[i - 1], acked[i]);
	free(acked);
	assert_int_equal(vouch_store_open(f->url, &f->store), VOUCH_OK);
}

/* ---- rate -------------------------------------------------------------------------------------
 */

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_rate(void **state)
{
	struct fixture *f = *state;
	enum { SINGLE = 300, BATCH = 20000 };
	struct vouch_store_cert c;
	struct vouch_store_cert *certs = calloc(BATCH, sizeof(*certs));
	struct vouch_store_token t;
	struct timespec t0;
	char serial[24];
	double secs;

	assert_non_null(certs);
	/* One EST enrolment = one transaction: the fsync-bound number. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < SINGLE; i++) {
		char tok[32];
		snprintf(tok, sizeof(tok), "rate-%u", i);
		make_token(&t, tok, "rate-dev", NOW + DAY);
		assert_int_equal(vouch_store_token_create(f->store, &t, "admin"), VOUCH_OK);
	}
	secs = seconds_since(&t0);
	print_message(
	    "store rate: token create            %8.0f /s (%d commits, synchronous=FULL)\n",
	    SINGLE / secs, SINGLE);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < SINGLE; i++) {
		char tok[32];
		snprintf(tok, sizeof(tok), "rate-%u", i);
		token_hash(tok, t.hash);
		snprintf(serial, sizeof(serial), "%X", 0x100000u + i);
		make_cert(&c, serial, "rate-dev", NOW + DAY);
		assert_int_equal(
		    vouch_store_token_consume_issue(f->store, "rate-dev", t.hash, NOW, &c, "est"),
		    VOUCH_OK);
	}
	secs = seconds_since(&t0);
	print_message(
	    "store rate: consume + issue         %8.0f /s (%d commits, synchronous=FULL)\n",
	    SINGLE / secs, SINGLE);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < SINGLE; i++) {
		snprintf(serial, sizeof(serial), "%X", 0x200000u + i);
		make_cert(&c, serial, "rate-dev", NOW + DAY);
		assert_int_equal(vouch_store_cert_insert(f->store, &c, "api"), VOUCH_OK);
	}
	secs = seconds_since(&t0);
	print_message(
	    "store rate: cert insert             %8.0f /s (%d commits, synchronous=FULL)\n",
	    SINGLE / secs, SINGLE);
	for (unsigned i = 0; i < BATCH; i++) {
		snprintf(serial, sizeof(serial), "%X", 0x300000u + i);
		make_cert(&certs[i], serial, "veh", NOW + DAY);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vouch_store_cert_insert_batch(f->store, certs, BATCH, "batch"), VOUCH_OK);
	secs = seconds_since(&t0);
	print_message("store rate: batch insert            %8.0f certs/s (%d in one transaction)\n",
	              BATCH / secs, BATCH);
	free(certs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_urls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_settings, setup, teardown),
	    cmocka_unit_test(test_serial_canon),
	    cmocka_unit_test(test_error_names),
	    cmocka_unit_test(test_status_and_time),
	    cmocka_unit_test_setup_teardown(test_cert_insert_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cert_insert_invalid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cert_list_filters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_consume_issue_atomic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crl_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_kill9, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate, setup, teardown),
	};

	vouch_log_init("test_store", VOUCH_LOG_ERROR, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
