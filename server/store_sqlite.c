/*
 * The store's SQLite back-end: one database file in WAL mode with synchronous=FULL, so a commit
 * that returned is on disk (the WAL is fsync()ed at every commit) and survives kill -9 and power
 * loss. Write transactions are BEGIN IMMEDIATE: the write lock is taken up front, so two
 * processes wait on the busy timeout instead of deadlocking on a read-to-write upgrade. Inside the
 * caller's own transaction (vouch_store_tx_begin) each operation is a savepoint instead, so a
 * failing one undoes only itself.
 * Statements are prepared once per connection and reused. docs/store.md has the schema.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "vouch/log.h"

#define BUSY_TIMEOUT_MS 5000

/* Ordered migrations: migrations[i] takes the schema from version i to i + 1. Never edit a
 * released one; append. Each runs inside the one transaction that also stamps the version. */
static const char *const migrations[] = {
    /* 1: everything */
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
    /* AUTOINCREMENT: a seq is never handed out twice, even after the highest row went away. */
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
    "  value BLOB NOT NULL);",
    /* 2: issue 4: directory objects, authentication secrets, sessions, revocation list */
    "CREATE TABLE objects ("
    "  kind TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  owner TEXT,"
    "  version INTEGER NOT NULL CHECK (version >= 1),"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  json TEXT NOT NULL,"
    "  PRIMARY KEY (kind, name));"
    "CREATE INDEX objects_owner ON objects (kind, owner);"
    "CREATE TABLE auth ("
    "  user TEXT PRIMARY KEY NOT NULL,"
    "  pw_hash TEXT NOT NULL,"
    "  totp_sealed BLOB NOT NULL,"
    "  totp_last_step INTEGER NOT NULL,"
    "  failures INTEGER NOT NULL,"
    "  locked_until INTEGER NOT NULL,"
    "  last_login INTEGER NOT NULL);"
    "CREATE TABLE sessions ("
    "  hash BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),"
    "  user TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL);"
    "CREATE INDEX sessions_user ON sessions (user);"
    "CREATE INDEX sessions_expires ON sessions (expires_at);"
    /* AUTOINCREMENT: a list version is never handed out twice, whatever is deleted. */
    "CREATE TABLE rev_versions ("
    "  version INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  created_at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL);"
    "CREATE TABLE rev_entries ("
    "  version INTEGER NOT NULL REFERENCES rev_versions (version),"
    "  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 3),"
    "  value BLOB NOT NULL CHECK (length(value) BETWEEN 1 AND 64),"
    "  revoked_at INTEGER NOT NULL,"
    "  keep_until INTEGER NOT NULL);"
    "CREATE INDEX rev_entries_version ON rev_entries (version);",
};

_Static_assert(VOUCH_ARRAY_LEN(migrations) == VOUCH_STORE_SCHEMA_VERSION,
               "one migration per schema version");

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_VERSION,
	ST_TOKEN_INSERT,
	ST_TOKEN_GET,
	ST_TOKEN_USE,
	ST_CERT_INSERT,
	ST_CERT_GET,
	ST_CERT_STATE,
	ST_CERT_LIST_ALL,
	ST_CERT_LIST_DEVICE,
	ST_CERT_REVOKED_AT,
	ST_CERT_REVOKE,
	ST_DEVICE_UNREVOKED,
	ST_REVOKED_LIST,
	ST_CRL_GET,
	ST_CRL_PUT,
	ST_META_GET,
	ST_META_PUT,
	ST_EVENT_INSERT,
	ST_EVENT_LIST,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_OBJ_GET,
	ST_OBJ_INSERT,
	ST_OBJ_UPDATE,
	ST_OBJ_DELETE,
	ST_OBJ_LIST,
	ST_OBJ_LIST_OWNER,
	ST_AUTH_PUT,
	ST_AUTH_GET,
	ST_AUTH_DELETE,
	ST_SESSION_INSERT,
	ST_SESSION_GET,
	ST_SESSION_DELETE_USER,
	ST_SESSION_PRUNE,
	ST_REV_VERSION_NEW,
	ST_REV_INSERT,
	ST_REV_MAX,
	ST_REV_LIST,
	ST_BEGIN_READ,
	ST_COUNT
};

#define CERT_COLUMNS                                                                               \
	"serial, device, subject, profile, via, not_before, not_after, revoked_at, reason"
/* ?2 status (enum vouch_store_status), ?3 now, ?4 limit (-1: none), ?5 with_der */
#define CERT_LIST_TAIL                                                                             \
	" AND (?2 = 0 OR (?2 = 1 AND revoked_at IS NULL AND not_after >= ?3)"                      \
	" OR (?2 = 2 AND revoked_at IS NOT NULL)"                                                  \
	" OR (?2 = 3 AND revoked_at IS NULL AND not_after < ?3))"                                  \
	" ORDER BY rowid LIMIT ?4"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_VERSION] = "SELECT version FROM schema_version WHERE id = 1",
    [ST_TOKEN_INSERT] = "INSERT INTO tokens (hash, device, profile, sans, created_at, "
                        "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_TOKEN_GET] = "SELECT device, profile, sans, created_at, expires_at, used_at, "
                     "used_serial FROM tokens WHERE hash = ?1",
    [ST_TOKEN_USE] = "UPDATE tokens SET used_at = ?2, used_serial = ?3 "
                     "WHERE hash = ?1 AND used_at IS NULL",
    [ST_CERT_INSERT] = "INSERT INTO certs (serial, device, subject, profile, via, not_before, "
                       "not_after, der, issued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_CERT_GET] = "SELECT " CERT_COLUMNS ", der FROM certs WHERE serial = ?1",
    [ST_CERT_STATE] = "SELECT revoked_at, reason, not_after FROM certs WHERE serial = ?1",
    [ST_CERT_LIST_ALL] = "SELECT " CERT_COLUMNS ", CASE WHEN ?5 THEN der END FROM certs "
                         "WHERE ?1 IS NULL" CERT_LIST_TAIL,
    [ST_CERT_LIST_DEVICE] = "SELECT " CERT_COLUMNS ", CASE WHEN ?5 THEN der END FROM certs "
                            "WHERE device = ?1" CERT_LIST_TAIL,
    [ST_CERT_REVOKED_AT] = "SELECT revoked_at FROM certs WHERE serial = ?1",
    [ST_CERT_REVOKE] = "UPDATE certs SET revoked_at = ?2, reason = ?3 "
                       "WHERE serial = ?1 AND revoked_at IS NULL",
    [ST_DEVICE_UNREVOKED] = "SELECT serial FROM certs WHERE device = ?1 "
                            "AND revoked_at IS NULL AND not_after >= ?2 ORDER BY rowid",
    [ST_REVOKED_LIST] = "SELECT serial, revoked_at, reason FROM certs "
                        "WHERE revoked_at IS NOT NULL AND not_after >= ?1 ORDER BY serial",
    [ST_CRL_GET] = "SELECT number, this_update, next_update FROM crl_state WHERE name = ?1",
    [ST_CRL_PUT] = "INSERT INTO crl_state (name, number, this_update, next_update) "
                   "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET "
                   "number = excluded.number, this_update = excluded.this_update, "
                   "next_update = excluded.next_update",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_META_PUT] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [ST_EVENT_INSERT] = "INSERT INTO events (time, type, actor, fields) VALUES (?1, ?2, ?3, ?4)",
    [ST_EVENT_LIST] = "SELECT seq, time, type, actor, fields FROM events WHERE seq > ?1 "
                      "ORDER BY seq LIMIT ?2",
    [ST_SAVEPOINT] = "SAVEPOINT vouch_op",
    [ST_RELEASE] = "RELEASE vouch_op",
    [ST_ROLLBACK_TO] = "ROLLBACK TO vouch_op",
    [ST_OBJ_GET] = "SELECT owner, version, created_at, updated_at, json FROM objects "
                   "WHERE kind = ?1 AND name = ?2",
    [ST_OBJ_INSERT] = "INSERT INTO objects (kind, name, owner, version, created_at, updated_at, "
                      "json) VALUES (?1, ?2, ?3, 1, ?4, ?4, ?5)",
    [ST_OBJ_UPDATE] = "UPDATE objects SET owner = ?3, version = ?6, updated_at = ?4, json = ?5 "
                      "WHERE kind = ?1 AND name = ?2",
    [ST_OBJ_DELETE] = "DELETE FROM objects WHERE kind = ?1 AND name = ?2",
    [ST_BEGIN_READ] = "BEGIN DEFERRED",
    [ST_OBJ_LIST] = "SELECT name, owner, version, created_at, updated_at, json FROM objects "
                    "WHERE kind = ?1 ORDER BY name",
    [ST_OBJ_LIST_OWNER] = "SELECT name, owner, version, created_at, updated_at, json "
                          "FROM objects WHERE kind = ?1 AND owner = ?2 ORDER BY name",
    [ST_AUTH_PUT] = "INSERT INTO auth (user, pw_hash, totp_sealed, totp_last_step, failures, "
                    "locked_until, last_login) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                    "ON CONFLICT (user) DO UPDATE SET pw_hash = excluded.pw_hash, "
                    "totp_sealed = excluded.totp_sealed, "
                    "totp_last_step = excluded.totp_last_step, failures = excluded.failures, "
                    "locked_until = excluded.locked_until, last_login = excluded.last_login",
    [ST_AUTH_GET] = "SELECT pw_hash, totp_sealed, totp_last_step, failures, locked_until, "
                    "last_login FROM auth WHERE user = ?1",
    [ST_AUTH_DELETE] = "DELETE FROM auth WHERE user = ?1",
    [ST_SESSION_INSERT] = "INSERT INTO sessions (hash, user, created_at, expires_at) "
                          "VALUES (?1, ?2, ?3, ?4)",
    [ST_SESSION_GET] = "SELECT user, created_at, expires_at FROM sessions "
                       "WHERE hash = ?1 AND expires_at > ?2",
    [ST_SESSION_DELETE_USER] = "DELETE FROM sessions WHERE user = ?1",
    [ST_SESSION_PRUNE] = "DELETE FROM sessions WHERE expires_at <= ?1",
    [ST_REV_VERSION_NEW] = "INSERT INTO rev_versions (created_at, actor) VALUES (?1, ?2)",
    [ST_REV_INSERT] = "INSERT INTO rev_entries (version, kind, value, revoked_at, keep_until) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_REV_MAX] = "SELECT coalesce(max(version), 0) FROM rev_versions",
    [ST_REV_LIST] = "SELECT version, kind, value, revoked_at, keep_until FROM rev_entries "
                    "WHERE version > ?1 AND keep_until > ?2 ORDER BY version, rowid",
};

struct sqlite_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	bool in_tx; /* the caller's transaction (vouch_store_tx_begin) is open */
};

static struct sqlite_store *be(struct vouch_store *store)
{
	return store->backend;
}

/* Map an SQLite result to a vouch error, logging what is not an expected outcome. */
static int db_err(sqlite3 *db, int src, const char *op)
{
	int rc = VOUCH_ERR_STORE;

	switch (src & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		rc = VOUCH_ERR_STORE_BUSY;
		break;
	case SQLITE_NOMEM:
		rc = VOUCH_ERR_NOMEM;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		rc = VOUCH_ERR_STORE_CORRUPT;
		break;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		rc = VOUCH_ERR_IO;
		break;
	default:
		break;
	}
	vouch_log(VOUCH_LOG_ERROR, "store.sqlite", "op", op, "error",
	          db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(src), "code",
	          sqlite3_errstr(src), NULL);
	return rc;
}

static int stmt_get(struct sqlite_store *b, enum stmt_id id, sqlite3_stmt **out)
{
	int src;

	*out = NULL;
	if (b->stmt[id] == NULL) {
		src = sqlite3_prepare_v3(b->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		                         &b->stmt[id], NULL);
		if (src != SQLITE_OK)
			return db_err(b->db, src, "prepare");
	}
	*out = b->stmt[id];
	return VOUCH_OK;
}

static void stmt_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Run a statement that returns no rows. */
static int stmt_exec(struct sqlite_store *b, sqlite3_stmt *st, const char *op)
{
	int src = sqlite3_step(st);
	int rc = src == SQLITE_DONE ? VOUCH_OK : db_err(b->db, src, op);

	stmt_done(st);
	return rc;
}

static int run(struct sqlite_store *b, enum stmt_id id, const char *op)
{
	sqlite3_stmt *st;
	int rc = stmt_get(b, id, &st);

	if (rc != VOUCH_OK)
		return rc;
	return stmt_exec(b, st, op);
}

/* SQLite ends a transaction by itself on some errors (I/O, disk full, out of memory): the
 * caller's transaction is then gone, and nothing may be added to what no longer exists (a
 * savepoint outside a transaction would silently start a new one). */
static bool tx_lost(struct sqlite_store *b)
{
	if (!b->in_tx || !sqlite3_get_autocommit(b->db))
		return false;
	vouch_log(VOUCH_LOG_ERROR, "store.sqlite", "op", "tx", "error",
	          "the database rolled the transaction back", NULL);
	return true;
}

/*
 * One operation's transaction: BEGIN IMMEDIATE on its own, or a savepoint inside the caller's
 * transaction, so that an operation that fails there undoes exactly its own changes and leaves
 * the caller's transaction open.
 */
static int tx_begin(struct sqlite_store *b)
{
	if (!b->in_tx)
		return run(b, ST_BEGIN, "begin");
	if (tx_lost(b))
		return VOUCH_ERR_STORE;
	return run(b, ST_SAVEPOINT, "savepoint");
}

static int tx_commit(struct sqlite_store *b)
{
	return b->in_tx ? run(b, ST_RELEASE, "release") : run(b, ST_COMMIT, "commit");
}

/* Undo whatever the operation did; a no-op when SQLite already rolled it back. */
static void tx_rollback(struct sqlite_store *b)
{
	if (sqlite3_get_autocommit(b->db))
		return;
	if (!b->in_tx) {
		(void)run(b, ST_ROLLBACK, "rollback");
		return;
	}
	(void)run(b, ST_ROLLBACK_TO, "rollback_to");
	(void)run(b, ST_RELEASE, "release");
}

/* ---- the caller's transactions ------------------------------------------------------------- */

static int sq_tx_begin(struct vouch_store *store)
{
	struct sqlite_store *b = be(store);
	int rc;

	if (b->in_tx)
		return VOUCH_ERR_INVALID;
	rc = run(b, ST_BEGIN, "tx.begin");
	if (rc == VOUCH_OK)
		b->in_tx = true;
	return rc;
}

static int sq_tx_commit(struct vouch_store *store)
{
	struct sqlite_store *b = be(store);
	int rc;

	if (!b->in_tx)
		return VOUCH_ERR_INVALID;
	if (tx_lost(b)) {
		b->in_tx = false;
		return VOUCH_ERR_STORE;
	}
	rc = run(b, ST_COMMIT, "tx.commit");
	if (rc != VOUCH_OK && !sqlite3_get_autocommit(b->db))
		(void)run(b, ST_ROLLBACK, "tx.rollback");
	b->in_tx = false;
	return rc;
}

static void sq_tx_rollback(struct vouch_store *store)
{
	struct sqlite_store *b = be(store);

	if (!b->in_tx)
		return;
	if (!sqlite3_get_autocommit(b->db))
		(void)run(b, ST_ROLLBACK, "tx.rollback");
	b->in_tx = false;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Copy a text column into a fixed array; false when NULL-less text does not fit (a tampered
 * database: the store wrote nothing that long). */
static bool col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	int n = sqlite3_column_bytes(st, i);

	dst[0] = '\0';
	if (s == NULL)
		return sqlite3_column_type(st, i) == SQLITE_NULL;
	if (n < 0 || (size_t)n >= cap || memchr(s, '\0', (size_t)n) != NULL)
		return false;
	memcpy(dst, s, (size_t)n);
	dst[n] = '\0';
	return true;
}

/* ---- events -------------------------------------------------------------------------------- */

/* Append inside the caller's transaction. */
static int event_insert(struct sqlite_store *b, const char *type, const char *actor,
                        const char *fields, int64_t *seq)
{
	char now[VOUCH_STORE_TIME_LEN];
	sqlite3_stmt *st;
	int rc;

	if (fields == NULL)
		return VOUCH_ERR_NOMEM;
	rc = stmt_get(b, ST_EVENT_INSERT, &st);
	if (rc != VOUCH_OK)
		return rc;
	vouch_store_now_iso(now);
	bind_text(st, 1, now);
	bind_text(st, 2, type);
	bind_text(st, 3, actor);
	bind_text(st, 4, fields);
	rc = stmt_exec(b, st, "event.insert");
	if (rc == VOUCH_OK && seq != NULL)
		*seq = sqlite3_last_insert_rowid(b->db);
	return rc;
}

/* event_insert of allocated fields, which it frees. */
static int event_insert_owned(struct sqlite_store *b, const char *type, const char *actor,
                              char *fields)
{
	int rc = event_insert(b, type, actor, fields, NULL);

	free(fields);
	return rc;
}

static int sq_event_append(struct vouch_store *store, const char *type, const char *actor,
                           const char *fields_json, int64_t *seq)
{
	struct sqlite_store *b = be(store);
	int rc = tx_begin(b);

	if (rc != VOUCH_OK)
		return rc;
	rc = event_insert(b, type, actor, fields_json, seq);
	if (rc == VOUCH_OK)
		rc = tx_commit(b);
	if (rc != VOUCH_OK) {
		tx_rollback(b);
		if (seq != NULL)
			*seq = 0;
	}
	return rc;
}

static int sq_event_list(struct vouch_store *store, int64_t after, size_t limit,
                         int (*cb)(const struct vouch_store_event *event, void *ctx), void *ctx)
{
	struct sqlite_store *b = be(store);
	struct vouch_store_event ev;
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, ST_EVENT_LIST, &st);

	if (rc != VOUCH_OK)
		return rc;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit);
	for (;;) {
		src = sqlite3_step(st);
		if (src == SQLITE_DONE) {
			rc = VOUCH_OK;
			break;
		}
		if (src != SQLITE_ROW) {
			rc = db_err(b->db, src, "event.list");
			break;
		}
		memset(&ev, 0, sizeof(ev));
		ev.seq = sqlite3_column_int64(st, 0);
		ev.fields = (const char *)sqlite3_column_text(st, 4);
		if (!col_text(st, 1, ev.time, sizeof(ev.time)) ||
		    !col_text(st, 2, ev.type, sizeof(ev.type)) ||
		    !col_text(st, 3, ev.actor, sizeof(ev.actor)) || ev.fields == NULL) {
			rc = VOUCH_ERR_STORE_CORRUPT;
			break;
		}
		rc = cb(&ev, ctx);
		if (rc != 0) {
			rc = rc > 0 ? VOUCH_OK : rc;
			break;
		}
	}
	stmt_done(st);
	return rc;
}

/* ---- tokens -------------------------------------------------------------------------------- */

static int sq_token_create(struct vouch_store *store, const struct vouch_store_token *t,
                           const char *actor)
{
	struct sqlite_store *b = be(store);
	sqlite3_stmt *st;
	int src;
	int rc = tx_begin(b);

	if (rc != VOUCH_OK)
		return rc;
	rc = stmt_get(b, ST_TOKEN_INSERT, &st);
	if (rc != VOUCH_OK)
		goto out_rollback;
	sqlite3_bind_blob(st, 1, t->hash, VOUCH_STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
	bind_text(st, 2, t->device);
	bind_text(st, 3, t->profile);
	bind_text(st, 4, t->sans);
	sqlite3_bind_int64(st, 5, t->created_at);
	sqlite3_bind_int64(st, 6, t->expires_at);
	src = sqlite3_step(st);
	stmt_done(st);
	if (src == SQLITE_CONSTRAINT_PRIMARYKEY) {
		rc = VOUCH_ERR_STORE_EXISTS;
		goto out_rollback;
	}
	if (src != SQLITE_DONE) {
		rc = db_err(b->db, src, "token.insert");
		goto out_rollback;
	}
	rc = event_insert_owned(b, "token.create", actor,
	                        vouch_store_fields_token_create(t->device, t->expires_at));
	if (rc != VOUCH_OK)
		goto out_rollback;
	rc = tx_commit(b);
	if (rc != VOUCH_OK)
		goto out_rollback;
	return VOUCH_OK;
out_rollback:
	tx_rollback(b);
	return rc;
}

/*
 * Look the token up and judge it, inside the caller's transaction. VOUCH_OK: usable, *out
 * filled; a VOUCH_ERR_STORE_TOKEN_* refusal; or another error.
 */
static int token_judge(struct sqlite_store *b, const char *device, const uint8_t *hash, int64_t now,
                       struct vouch_store_token *out)
{
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, ST_TOKEN_GET, &st);

	memset(out, 0, sizeof(*out));
	if (rc != VOUCH_OK)
		return rc;
	sqlite3_bind_blob(st, 1, hash, VOUCH_STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = VOUCH_ERR_STORE_TOKEN_UNKNOWN;
		goto out_done;
	}
	if (src != SQLITE_ROW) {
		rc = db_err(b->db, src, "token.get");
		goto out_done;
	}
	memcpy(out->hash, hash, VOUCH_STORE_TOKEN_HASH_LEN);
	out->created_at = sqlite3_column_int64(st, 3);
	out->expires_at = sqlite3_column_int64(st, 4);
	out->used = sqlite3_column_type(st, 5) != SQLITE_NULL;
	out->used_at = sqlite3_column_int64(st, 5);
	if (!col_text(st, 0, out->device, sizeof(out->device)) ||
	    !col_text(st, 1, out->profile, sizeof(out->profile)) ||
	    !col_text(st, 2, out->sans, sizeof(out->sans)) ||
	    !col_text(st, 6, out->used_serial, sizeof(out->used_serial))) {
		rc = VOUCH_ERR_STORE_CORRUPT;
		goto out_done;
	}
	/* Order matters for the log: a token presented by the wrong device is that, whatever its
	 * state; a used token is reported as reuse even once it has also expired. */
	if (device == NULL || strcmp(device, out->device) != 0)
		rc = VOUCH_ERR_STORE_TOKEN_DEVICE;
	else if (out->used)
		rc = VOUCH_ERR_STORE_TOKEN_USED;
	else if (now >= out->expires_at)
		rc = VOUCH_ERR_STORE_TOKEN_EXPIRED;
	else
		rc = VOUCH_OK;
out_done:
	stmt_done(st);
	if (rc != VOUCH_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

static bool is_refusal(int rc)
{
	return rc == VOUCH_ERR_STORE_TOKEN_UNKNOWN || rc == VOUCH_ERR_STORE_TOKEN_DEVICE ||
	       rc == VOUCH_ERR_STORE_TOKEN_USED || rc == VOUCH_ERR_STORE_TOKEN_EXPIRED;
}

/* Record a refusal and commit it; returns the refusal unless recording failed. */
static int token_refuse_commit(struct sqlite_store *b, const char *device, const char *actor,
                               int refusal)
{
	int rc = event_insert_owned(b, "token.refuse", actor,
	                            vouch_store_fields_token_refuse(device, refusal));

	if (rc == VOUCH_OK)
		rc = tx_commit(b);
	if (rc != VOUCH_OK) {
		tx_rollback(b);
		return rc;
	}
	return refusal;
}

static int sq_token_check(struct vouch_store *store, const char *device, const uint8_t *hash,
                          int64_t now, const char *actor, struct vouch_store_token *out)
{
	struct sqlite_store *b = be(store);
	struct vouch_store_token tok;
	int rc = tx_begin(b);

	if (rc != VOUCH_OK)
		return rc;
	rc = token_judge(b, device, hash, now, &tok);
	if (is_refusal(rc))
		return token_refuse_commit(b, device, actor, rc);
	/* Nothing written: ending the transaction either way is the same. */
	tx_rollback(b);
	if (rc == VOUCH_OK && out != NULL)
		*out = tok;
	return rc;
}

/* Insert one certificate and its cert.issue event inside the caller's transaction. */
static int cert_insert_one(struct sqlite_store *b, const struct vouch_store_cert *c,
                           int64_t issued_at, const char *actor)
{
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, ST_CERT_INSERT, &st);

	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, c->serial);
	bind_text(st, 2, c->device);
	bind_text(st, 3, c->subject);
	bind_text(st, 4, c->profile);
	bind_text(st, 5, c->via);
	sqlite3_bind_int64(st, 6, c->not_before);
	sqlite3_bind_int64(st, 7, c->not_after);
	sqlite3_bind_blob(st, 8, c->der, (int)c->der_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, issued_at);
	src = sqlite3_step(st);
	stmt_done(st);
	if (src == SQLITE_CONSTRAINT_PRIMARYKEY)
		return VOUCH_ERR_STORE_SERIAL_EXISTS;
	if (src != SQLITE_DONE)
		return db_err(b->db, src, "cert.insert");
	return event_insert_owned(b, "cert.issue", actor, vouch_store_fields_cert_issue(c));
}

static int sq_token_consume_issue(struct vouch_store *store, const char *device,
                                  const uint8_t *hash, int64_t now,
                                  const struct vouch_store_cert *cert, const char *actor)
{
	struct sqlite_store *b = be(store);
	struct vouch_store_token tok;
	sqlite3_stmt *st;
	int rc = tx_begin(b);

	if (rc != VOUCH_OK)
		return rc;
	rc = token_judge(b, device, hash, now, &tok);
	if (is_refusal(rc))
		return token_refuse_commit(b, device, actor, rc);
	if (rc != VOUCH_OK)
		goto out_rollback;
	/* The certificate first: tokens.used_serial references it. */
	rc = cert_insert_one(b, cert, now, actor);
	if (rc != VOUCH_OK)
		goto out_rollback;
	rc = stmt_get(b, ST_TOKEN_USE, &st);
	if (rc != VOUCH_OK)
		goto out_rollback;
	sqlite3_bind_blob(st, 1, hash, VOUCH_STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	bind_text(st, 3, cert->serial);
	rc = stmt_exec(b, st, "token.use");
	if (rc != VOUCH_OK)
		goto out_rollback;
	/* Under BEGIN IMMEDIATE nobody else can have used it since token_judge. */
	if (sqlite3_changes(b->db) != 1) {
		rc = VOUCH_ERR_INTERNAL;
		goto out_rollback;
	}
	rc = event_insert_owned(b, "token.use", actor,
	                        vouch_store_fields_token_use(device, cert->serial));
	if (rc != VOUCH_OK)
		goto out_rollback;
	rc = tx_commit(b);
	if (rc != VOUCH_OK)
		goto out_rollback;
	return VOUCH_OK;
out_rollback:
	tx_rollback(b);
	return rc;
}

/* ---- certificates -------------------------------------------------------------------------- */

static int sq_cert_insert(struct vouch_store *store, const struct vouch_store_cert *certs, size_t n,
                          const char *actor)
{
	struct sqlite_store *b = be(store);
	int64_t now = (int64_t)time(NULL);
	int rc = tx_begin(b);

	if (rc != VOUCH_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = cert_insert_one(b, &certs[i], now, actor);
		if (rc != VOUCH_OK)
			goto out_rollback;
	}
	rc = tx_commit(b);
	if (rc != VOUCH_OK)
		goto out_rollback;
	return VOUCH_OK;
out_rollback:
	tx_rollback(b);
	return rc;
}

enum der_mode { DER_NONE, DER_BORROW, DER_COPY };

/* Fill *out from a row of CERT_COLUMNS followed by der at column 9. */
static int cert_from_row(sqlite3_stmt *st, struct vouch_store_cert *out, enum der_mode mode)
{
	const void *der;
	int der_len;

	memset(out, 0, sizeof(*out));
	if (!col_text(st, 0, out->serial, sizeof(out->serial)) ||
	    !col_text(st, 1, out->device, sizeof(out->device)) ||
	    !col_text(st, 2, out->subject, sizeof(out->subject)) ||
	    !col_text(st, 3, out->profile, sizeof(out->profile)) ||
	    !col_text(st, 4, out->via, sizeof(out->via)) ||
	    !col_text(st, 8, out->reason, sizeof(out->reason)))
		return VOUCH_ERR_STORE_CORRUPT;
	out->not_before = sqlite3_column_int64(st, 5);
	out->not_after = sqlite3_column_int64(st, 6);
	out->revoked = sqlite3_column_type(st, 7) != SQLITE_NULL;
	out->revoked_at = out->revoked ? sqlite3_column_int64(st, 7) : 0;
	if (mode == DER_NONE)
		return VOUCH_OK;
	der = sqlite3_column_blob(st, 9);
	der_len = sqlite3_column_bytes(st, 9);
	if (der == NULL || der_len <= 0) {
		memset(out, 0, sizeof(*out));
		return sqlite3_errcode(sqlite3_db_handle(st)) == SQLITE_NOMEM
		           ? VOUCH_ERR_NOMEM
		           : VOUCH_ERR_STORE_CORRUPT;
	}
	if (mode == DER_BORROW) {
		/* The API hands out a non-const pointer for the allocated case only. */
		out->der = (unsigned char *)(uintptr_t)der;
	} else {
		out->der = malloc((size_t)der_len);
		if (out->der == NULL) {
			memset(out, 0, sizeof(*out));
			return VOUCH_ERR_NOMEM;
		}
		memcpy(out->der, der, (size_t)der_len);
	}
	out->der_len = (size_t)der_len;
	return VOUCH_OK;
}

static int sq_cert_get(struct vouch_store *store, const char *serial, struct vouch_store_cert *out)
{
	struct sqlite_store *b = be(store);
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, ST_CERT_GET, &st);

	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, serial);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		rc = cert_from_row(st, out, DER_COPY);
	else if (src == SQLITE_DONE)
		rc = VOUCH_ERR_STORE_NOT_FOUND;
	else
		rc = db_err(b->db, src, "cert.get");
	stmt_done(st);
	return rc;
}

static int sq_cert_state(struct vouch_store *store, const char *serial,
                         struct vouch_store_cert_state *out)
{
	struct sqlite_store *b = be(store);
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, ST_CERT_STATE, &st);

	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, serial);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		out->revoked = sqlite3_column_type(st, 0) != SQLITE_NULL;
		out->revoked_at = out->revoked ? sqlite3_column_int64(st, 0) : 0;
		out->not_after = sqlite3_column_int64(st, 2);
		rc = col_text(st, 1, out->reason, sizeof(out->reason)) ? VOUCH_OK
		                                                       : VOUCH_ERR_STORE_CORRUPT;
	} else if (src == SQLITE_DONE) {
		rc = VOUCH_ERR_STORE_NOT_FOUND;
	} else {
		rc = db_err(b->db, src, "cert.state");
	}
	stmt_done(st);
	if (rc != VOUCH_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

static int sq_cert_list(struct vouch_store *store, const struct vouch_store_cert_filter *f,
                        int (*cb)(const struct vouch_store_cert *cert, void *ctx), void *ctx)
{
	struct sqlite_store *b = be(store);
	struct vouch_store_cert cert;
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, f->device != NULL ? ST_CERT_LIST_DEVICE : ST_CERT_LIST_ALL, &st);

	if (rc != VOUCH_OK)
		return rc;
	if (f->device != NULL)
		bind_text(st, 1, f->device);
	sqlite3_bind_int(st, 2, (int)f->status);
	sqlite3_bind_int64(st, 3, f->now);
	sqlite3_bind_int64(st, 4, f->limit == 0 || f->limit > INT64_MAX ? -1 : (int64_t)f->limit);
	sqlite3_bind_int(st, 5, f->with_der ? 1 : 0);
	for (;;) {
		src = sqlite3_step(st);
		if (src == SQLITE_DONE) {
			rc = VOUCH_OK;
			break;
		}
		if (src != SQLITE_ROW) {
			rc = db_err(b->db, src, "cert.list");
			break;
		}
		rc = cert_from_row(st, &cert, f->with_der ? DER_BORROW : DER_NONE);
		if (rc != VOUCH_OK)
			break;
		rc = cb(&cert, ctx);
		if (rc != 0) {
			rc = rc > 0 ? VOUCH_OK : rc;
			break;
		}
	}
	stmt_done(st);
	return rc;
}

/* Revoke one unrevoked certificate + its event inside the caller's transaction; *done tells
 * whether it was revoked now. */
static int revoke_one(struct sqlite_store *b, const char *serial, const char *reason, int64_t when,
                      const char *actor, bool *done)
{
	sqlite3_stmt *st;
	int rc = stmt_get(b, ST_CERT_REVOKE, &st);

	*done = false;
	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, serial);
	sqlite3_bind_int64(st, 2, when);
	bind_text(st, 3, reason);
	rc = stmt_exec(b, st, "cert.revoke");
	if (rc != VOUCH_OK || sqlite3_changes(b->db) == 0)
		return rc;
	*done = true;
	return event_insert_owned(b, "cert.revoke", actor,
	                          vouch_store_fields_cert_revoke(serial, reason));
}

/* Serials of device's unrevoked, unexpired certificates, as one allocated array. */
static int device_serials(struct sqlite_store *b, const char *device, int64_t when,
                          char (**serials)[VOUCH_STORE_SERIAL_MAX + 1], size_t *n)
{
	char(*list)[VOUCH_STORE_SERIAL_MAX + 1] = NULL;
	char(*grown)[VOUCH_STORE_SERIAL_MAX + 1];
	size_t cap = 0;
	size_t count = 0;
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, ST_DEVICE_UNREVOKED, &st);

	*serials = NULL;
	*n = 0;
	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, device);
	sqlite3_bind_int64(st, 2, when);
	for (;;) {
		src = sqlite3_step(st);
		if (src == SQLITE_DONE) {
			rc = VOUCH_OK;
			break;
		}
		if (src != SQLITE_ROW) {
			rc = db_err(b->db, src, "device.serials");
			break;
		}
		if (count == cap) {
			cap = cap == 0 ? 8 : 2 * cap;
			grown = realloc(list, cap * sizeof(*list));
			if (grown == NULL) {
				rc = VOUCH_ERR_NOMEM;
				break;
			}
			list = grown;
		}
		if (!col_text(st, 0, list[count], sizeof(list[count]))) {
			rc = VOUCH_ERR_STORE_CORRUPT;
			break;
		}
		count++;
	}
	stmt_done(st);
	if (rc != VOUCH_OK) {
		free(list);
		return rc;
	}
	*serials = list;
	*n = count;
	return VOUCH_OK;
}

static int sq_cert_revoke(struct vouch_store *store, const char *serial, const char *device,
                          const char *reason, int64_t when, const char *actor, size_t *count)
{
	struct sqlite_store *b = be(store);
	char(*serials)[VOUCH_STORE_SERIAL_MAX + 1] = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	bool done;
	int src;
	int rc = tx_begin(b);

	*count = 0;
	if (rc != VOUCH_OK)
		return rc;
	if (serial != NULL) {
		rc = stmt_get(b, ST_CERT_REVOKED_AT, &st);
		if (rc != VOUCH_OK)
			goto out_rollback;
		bind_text(st, 1, serial);
		src = sqlite3_step(st);
		rc = src == SQLITE_ROW    ? VOUCH_OK
		     : src == SQLITE_DONE ? VOUCH_ERR_STORE_NOT_FOUND
		                          : db_err(b->db, src, "cert.revoked_at");
		stmt_done(st);
		if (rc != VOUCH_OK)
			goto out_rollback;
		/* Already revoked: revoke_one changes nothing and records nothing. */
		rc = revoke_one(b, serial, reason, when, actor, &done);
		if (rc != VOUCH_OK)
			goto out_rollback;
		n = done ? 1 : 0;
	} else {
		rc = device_serials(b, device, when, &serials, &n);
		if (rc != VOUCH_OK)
			goto out_rollback;
		for (size_t i = 0; i < n; i++) {
			rc = revoke_one(b, serials[i], reason, when, actor, &done);
			if (rc == VOUCH_OK && !done)
				rc = VOUCH_ERR_INTERNAL;
			if (rc != VOUCH_OK)
				goto out_free_serials;
		}
	}
	rc = tx_commit(b);
	if (rc != VOUCH_OK)
		goto out_free_serials;
	free(serials);
	*count = n;
	return VOUCH_OK;
out_free_serials:
	free(serials);
out_rollback:
	tx_rollback(b);
	return rc;
}

static int sq_revoked_list(struct vouch_store *store, int64_t min_not_after,
                           int (*cb)(const char *serial, int64_t revoked_at, const char *reason,
                                     void *ctx),
                           void *ctx)
{
	struct sqlite_store *b = be(store);
	char serial[VOUCH_STORE_SERIAL_MAX + 1];
	char reason[VOUCH_STORE_REASON_MAX + 1];
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, ST_REVOKED_LIST, &st);

	if (rc != VOUCH_OK)
		return rc;
	sqlite3_bind_int64(st, 1, min_not_after);
	for (;;) {
		src = sqlite3_step(st);
		if (src == SQLITE_DONE) {
			rc = VOUCH_OK;
			break;
		}
		if (src != SQLITE_ROW) {
			rc = db_err(b->db, src, "revoked.list");
			break;
		}
		if (!col_text(st, 0, serial, sizeof(serial)) ||
		    !col_text(st, 2, reason, sizeof(reason))) {
			rc = VOUCH_ERR_STORE_CORRUPT;
			break;
		}
		rc = cb(serial, sqlite3_column_int64(st, 1), reason, ctx);
		if (rc != 0) {
			rc = rc > 0 ? VOUCH_OK : rc;
			break;
		}
	}
	stmt_done(st);
	return rc;
}

/* ---- CRL state and meta -------------------------------------------------------------------- */

/* Read crl_state of name (number 0 when absent). */
static int crl_read(struct sqlite_store *b, const char *name, struct vouch_store_crl *out)
{
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, ST_CRL_GET, &st);

	memset(out, 0, sizeof(*out));
	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, name);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		int64_t number = sqlite3_column_int64(st, 0);
		if (number < 0) {
			rc = VOUCH_ERR_STORE_CORRUPT;
		} else {
			out->number = (uint64_t)number;
			out->this_update = sqlite3_column_int64(st, 1);
			out->next_update = sqlite3_column_int64(st, 2);
			rc = VOUCH_OK;
		}
	} else if (src == SQLITE_DONE) {
		rc = VOUCH_OK;
	} else {
		rc = db_err(b->db, src, "crl.get");
	}
	stmt_done(st);
	return rc;
}

static int sq_crl_get(struct vouch_store *store, const char *name, struct vouch_store_crl *out)
{
	return crl_read(be(store), name, out);
}

static int sq_crl_next(struct vouch_store *store, const char *name, int64_t this_update,
                       int64_t next_update, const char *actor, uint64_t *number)
{
	struct sqlite_store *b = be(store);
	struct vouch_store_crl crl;
	sqlite3_stmt *st;
	int rc = tx_begin(b);

	if (rc != VOUCH_OK)
		return rc;
	rc = crl_read(b, name, &crl);
	if (rc != VOUCH_OK)
		goto out_rollback;
	if (crl.number >= INT64_MAX) {
		rc = VOUCH_ERR_STORE_CORRUPT;
		goto out_rollback;
	}
	rc = stmt_get(b, ST_CRL_PUT, &st);
	if (rc != VOUCH_OK)
		goto out_rollback;
	bind_text(st, 1, name);
	sqlite3_bind_int64(st, 2, (int64_t)crl.number + 1);
	sqlite3_bind_int64(st, 3, this_update);
	sqlite3_bind_int64(st, 4, next_update);
	rc = stmt_exec(b, st, "crl.put");
	if (rc != VOUCH_OK)
		goto out_rollback;
	rc = event_insert_owned(b, "crl.issue", actor,
	                        vouch_store_fields_crl_issue(name, crl.number + 1));
	if (rc != VOUCH_OK)
		goto out_rollback;
	rc = tx_commit(b);
	if (rc != VOUCH_OK)
		goto out_rollback;
	*number = crl.number + 1;
	return VOUCH_OK;
out_rollback:
	tx_rollback(b);
	return rc;
}

static int sq_meta_set(struct vouch_store *store, const char *key, const void *value, size_t len)
{
	struct sqlite_store *b = be(store);
	static const unsigned char empty[1];
	sqlite3_stmt *st;
	int rc = stmt_get(b, ST_META_PUT, &st);

	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, key);
	/* A zero-length blob bound from NULL would be SQL NULL. */
	sqlite3_bind_blob(st, 2, len > 0 ? value : empty, (int)len, SQLITE_STATIC);
	return stmt_exec(b, st, "meta.set");
}

static int sq_meta_get(struct vouch_store *store, const char *key, unsigned char **value,
                       size_t *len)
{
	struct sqlite_store *b = be(store);
	sqlite3_stmt *st;
	const void *v;
	int n;
	int src;
	int rc = stmt_get(b, ST_META_GET, &st);

	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, key);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = VOUCH_ERR_STORE_NOT_FOUND;
		goto out_done;
	}
	if (src != SQLITE_ROW) {
		rc = db_err(b->db, src, "meta.get");
		goto out_done;
	}
	v = sqlite3_column_blob(st, 0);
	n = sqlite3_column_bytes(st, 0);
	if (n < 0 || (v == NULL && n > 0)) {
		rc = VOUCH_ERR_NOMEM;
		goto out_done;
	}
	*value = malloc((size_t)n + 1);
	if (*value == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_done;
	}
	if (n > 0)
		memcpy(*value, v, (size_t)n);
	(*value)[n] = '\0';
	*len = (size_t)n;
	rc = VOUCH_OK;
out_done:
	stmt_done(st);
	return rc;
}

/* ---- directory objects --------------------------------------------------------------------- */

/* The version of kind/name inside the caller's transaction; 0 when absent. */
static int obj_version(struct sqlite_store *b, const char *kind, const char *name, int64_t *version)
{
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, ST_OBJ_GET, &st);

	*version = 0;
	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, kind);
	bind_text(st, 2, name);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*version = sqlite3_column_int64(st, 1);
		rc = *version >= 1 ? VOUCH_OK : VOUCH_ERR_STORE_CORRUPT;
	} else if (src == SQLITE_DONE) {
		rc = VOUCH_OK;
	} else {
		rc = db_err(b->db, src, "obj.version");
	}
	stmt_done(st);
	return rc;
}

/* "<kind>.<what>" */
static int obj_event(struct sqlite_store *b, const char *kind, const char *what, const char *actor,
                     char *fields)
{
	char type[VOUCH_STORE_TYPE_MAX + 1];

	snprintf(type, sizeof(type), "%s.%s", kind, what);
	return event_insert_owned(b, type, actor, fields);
}

static int sq_obj_put(struct vouch_store *store, const char *kind, const char *name,
                      const char *owner, const char *json, int64_t expect_version, int64_t now,
                      const char *actor, int64_t *version)
{
	struct sqlite_store *b = be(store);
	int64_t cur = 0, next = 1;
	sqlite3_stmt *st;
	int rc = tx_begin(b);

	if (rc != VOUCH_OK)
		return rc;
	rc = obj_version(b, kind, name, &cur);
	if (rc != VOUCH_OK)
		goto out_rollback;
	if (cur == 0 && expect_version > 0) {
		rc = VOUCH_ERR_STORE_NOT_FOUND;
		goto out_rollback;
	}
	if (cur > 0 && expect_version == VOUCH_STORE_CREATE) {
		rc = VOUCH_ERR_STORE_EXISTS;
		goto out_rollback;
	}
	if (cur > 0 && expect_version > 0 && expect_version != cur) {
		rc = VOUCH_ERR_STORE_CONFLICT;
		goto out_rollback;
	}
	if (cur == INT64_MAX) {
		rc = VOUCH_ERR_STORE_CORRUPT;
		goto out_rollback;
	}
	next = cur + 1;
	rc = stmt_get(b, cur == 0 ? ST_OBJ_INSERT : ST_OBJ_UPDATE, &st);
	if (rc != VOUCH_OK)
		goto out_rollback;
	bind_text(st, 1, kind);
	bind_text(st, 2, name);
	if (owner != NULL)
		bind_text(st, 3, owner);
	sqlite3_bind_int64(st, 4, now);
	bind_text(st, 5, json);
	if (cur > 0)
		sqlite3_bind_int64(st, 6, next);
	rc = stmt_exec(b, st, "obj.put");
	if (rc != VOUCH_OK)
		goto out_rollback;
	rc = obj_event(b, kind, cur == 0 ? "create" : "update", actor,
	               vouch_store_fields_obj(name, next, json));
	if (rc != VOUCH_OK)
		goto out_rollback;
	rc = tx_commit(b);
	if (rc != VOUCH_OK)
		goto out_rollback;
	if (version != NULL)
		*version = next;
	return VOUCH_OK;
out_rollback:
	tx_rollback(b);
	return rc;
}

static int sq_obj_get(struct vouch_store *store, const char *kind, const char *name,
                      struct vouch_store_obj *out)
{
	struct sqlite_store *b = be(store);
	const unsigned char *json;
	sqlite3_stmt *st;
	int n;
	int src;
	int rc = stmt_get(b, ST_OBJ_GET, &st);

	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, kind);
	bind_text(st, 2, name);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = VOUCH_ERR_STORE_NOT_FOUND;
		goto out_done;
	}
	if (src != SQLITE_ROW) {
		rc = db_err(b->db, src, "obj.get");
		goto out_done;
	}
	snprintf(out->kind, sizeof(out->kind), "%s", kind);
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->version = sqlite3_column_int64(st, 1);
	out->created_at = sqlite3_column_int64(st, 2);
	out->updated_at = sqlite3_column_int64(st, 3);
	json = sqlite3_column_text(st, 4);
	n = sqlite3_column_bytes(st, 4);
	if (!col_text(st, 0, out->owner, sizeof(out->owner)) || json == NULL || n <= 0 ||
	    out->version < 1) {
		rc = json == NULL && sqlite3_errcode(b->db) == SQLITE_NOMEM
		         ? VOUCH_ERR_NOMEM
		         : VOUCH_ERR_STORE_CORRUPT;
		goto out_done;
	}
	out->json = malloc((size_t)n + 1);
	if (out->json == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_done;
	}
	memcpy(out->json, json, (size_t)n);
	out->json[n] = '\0';
	out->json_len = (size_t)n;
	rc = VOUCH_OK;
out_done:
	stmt_done(st);
	if (rc != VOUCH_OK)
		vouch_store_obj_clear(out);
	return rc;
}

static int sq_obj_delete(struct vouch_store *store, const char *kind, const char *name,
                         int64_t expect_version, const char *actor)
{
	struct sqlite_store *b = be(store);
	int64_t cur = 0;
	sqlite3_stmt *st;
	int rc = tx_begin(b);

	if (rc != VOUCH_OK)
		return rc;
	rc = obj_version(b, kind, name, &cur);
	if (rc != VOUCH_OK)
		goto out_rollback;
	if (cur == 0) {
		rc = VOUCH_ERR_STORE_NOT_FOUND;
		goto out_rollback;
	}
	if (expect_version > 0 && expect_version != cur) {
		rc = VOUCH_ERR_STORE_CONFLICT;
		goto out_rollback;
	}
	rc = stmt_get(b, ST_OBJ_DELETE, &st);
	if (rc != VOUCH_OK)
		goto out_rollback;
	bind_text(st, 1, kind);
	bind_text(st, 2, name);
	rc = stmt_exec(b, st, "obj.delete");
	if (rc != VOUCH_OK)
		goto out_rollback;
	rc = obj_event(b, kind, "delete", actor, vouch_store_fields_obj(name, cur, NULL));
	if (rc != VOUCH_OK)
		goto out_rollback;
	rc = tx_commit(b);
	if (rc != VOUCH_OK)
		goto out_rollback;
	return VOUCH_OK;
out_rollback:
	tx_rollback(b);
	return rc;
}

/* One row of ST_OBJ_GET (bound to kind and name) to cb. */
static int peek_one(struct sqlite_store *b, sqlite3_stmt *st, const char *kind, const char *name,
                    size_t i, int (*cb)(size_t i, const struct vouch_store_obj *obj, void *ctx),
                    void *ctx)
{
	struct vouch_store_obj obj;
	int src;
	int rc = VOUCH_ERR_INTERNAL;

	bind_text(st, 1, kind);
	bind_text(st, 2, name);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = cb(i, NULL, ctx);
		goto out_done;
	}
	if (src != SQLITE_ROW) {
		rc = db_err(b->db, src, "obj.peek");
		goto out_done;
	}
	/* The wrapper checked both lengths; this runs for every role of every compile. */
	memset(&obj, 0, sizeof(obj));
	memcpy(obj.kind, kind, strlen(kind));
	memcpy(obj.name, name, strlen(name));
	obj.version = sqlite3_column_int64(st, 1);
	obj.created_at = sqlite3_column_int64(st, 2);
	obj.updated_at = sqlite3_column_int64(st, 3);
	/* The API hands out a non-const pointer for the allocated case only. */
	obj.json = (char *)(uintptr_t)sqlite3_column_text(st, 4);
	if (!col_text(st, 0, obj.owner, sizeof(obj.owner)) || obj.json == NULL || obj.version < 1) {
		rc = obj.json == NULL && sqlite3_errcode(b->db) == SQLITE_NOMEM
		         ? VOUCH_ERR_NOMEM
		         : VOUCH_ERR_STORE_CORRUPT;
		goto out_done;
	}
	obj.json_len = (size_t)sqlite3_column_bytes(st, 4);
	rc = obj.json_len > 0 ? cb(i, &obj, ctx) : VOUCH_ERR_STORE_CORRUPT;
out_done:
	stmt_done(st);
	return rc;
}

static int sq_obj_peek(struct vouch_store *store, const char *kind, const char *const *names,
                       size_t n, int (*cb)(size_t i, const struct vouch_store_obj *obj, void *ctx),
                       void *ctx)
{
	struct sqlite_store *b = be(store);
	sqlite3_stmt *st;
	bool own = false;
	int rc = stmt_get(b, ST_OBJ_GET, &st);

	if (rc != VOUCH_OK)
		return rc;
	/* Outside a transaction every statement would take and drop the read lock (and see its
	 * own snapshot): one read transaction takes it once, and the rows are of one moment. */
	if (n > 1 && !b->in_tx && sqlite3_get_autocommit(b->db)) {
		rc = run(b, ST_BEGIN_READ, "obj.peek");
		if (rc != VOUCH_OK)
			return rc;
		own = true;
	}
	for (size_t i = 0; i < n && rc == VOUCH_OK; i++)
		rc = peek_one(b, st, kind, names[i], i, cb, ctx);
	if (rc > 0)
		rc = VOUCH_OK;
	/* Nothing was written: ending it cannot lose anything (a failed commit rolls back). */
	if (own && run(b, ST_COMMIT, "obj.peek") != VOUCH_OK) {
		if (!sqlite3_get_autocommit(b->db))
			(void)run(b, ST_ROLLBACK, "obj.peek");
		if (rc == VOUCH_OK)
			rc = VOUCH_ERR_STORE;
	}
	return rc;
}

static int sq_obj_list(struct vouch_store *store, const char *kind, const char *owner,
                       int (*cb)(const struct vouch_store_obj *obj, void *ctx), void *ctx)
{
	struct sqlite_store *b = be(store);
	struct vouch_store_obj obj;
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, owner != NULL ? ST_OBJ_LIST_OWNER : ST_OBJ_LIST, &st);

	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, kind);
	if (owner != NULL)
		bind_text(st, 2, owner);
	for (;;) {
		src = sqlite3_step(st);
		if (src == SQLITE_DONE) {
			rc = VOUCH_OK;
			break;
		}
		if (src != SQLITE_ROW) {
			rc = db_err(b->db, src, "obj.list");
			break;
		}
		memset(&obj, 0, sizeof(obj));
		snprintf(obj.kind, sizeof(obj.kind), "%s", kind);
		obj.version = sqlite3_column_int64(st, 2);
		obj.created_at = sqlite3_column_int64(st, 3);
		obj.updated_at = sqlite3_column_int64(st, 4);
		/* The API hands out a non-const pointer for the allocated case only. */
		obj.json = (char *)(uintptr_t)sqlite3_column_text(st, 5);
		if (!col_text(st, 0, obj.name, sizeof(obj.name)) ||
		    !col_text(st, 1, obj.owner, sizeof(obj.owner)) || obj.name[0] == '\0' ||
		    obj.json == NULL || obj.version < 1) {
			rc = VOUCH_ERR_STORE_CORRUPT;
			break;
		}
		obj.json_len = (size_t)sqlite3_column_bytes(st, 5);
		rc = cb(&obj, ctx);
		if (rc != 0) {
			rc = rc > 0 ? VOUCH_OK : rc;
			break;
		}
	}
	stmt_done(st);
	return rc;
}

/* ---- authentication secrets ---------------------------------------------------------------- */

static int sq_auth_put(struct vouch_store *store, const struct vouch_store_auth *a)
{
	struct sqlite_store *b = be(store);
	static const uint8_t empty[1];
	sqlite3_stmt *st;
	int rc = stmt_get(b, ST_AUTH_PUT, &st);

	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, a->user);
	bind_text(st, 2, a->pw_hash);
	/* A zero-length blob bound from a NULL pointer would be SQL NULL. */
	sqlite3_bind_blob(st, 3, a->totp_sealed_len > 0 ? a->totp_sealed : empty,
	                  (int)a->totp_sealed_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, a->totp_last_step);
	sqlite3_bind_int64(st, 5, (int64_t)a->failures);
	sqlite3_bind_int64(st, 6, a->locked_until);
	sqlite3_bind_int64(st, 7, a->last_login);
	return stmt_exec(b, st, "auth.put");
}

static int sq_auth_get(struct vouch_store *store, const char *user, struct vouch_store_auth *out)
{
	struct sqlite_store *b = be(store);
	const void *sealed;
	int64_t failures;
	sqlite3_stmt *st;
	int n;
	int src;
	int rc = stmt_get(b, ST_AUTH_GET, &st);

	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, user);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = VOUCH_ERR_STORE_NOT_FOUND;
		goto out_done;
	}
	if (src != SQLITE_ROW) {
		rc = db_err(b->db, src, "auth.get");
		goto out_done;
	}
	snprintf(out->user, sizeof(out->user), "%s", user);
	sealed = sqlite3_column_blob(st, 1);
	n = sqlite3_column_bytes(st, 1);
	failures = sqlite3_column_int64(st, 3);
	if (!col_text(st, 0, out->pw_hash, sizeof(out->pw_hash)) || n < 0 ||
	    (size_t)n > VOUCH_STORE_SEALED_MAX || (sealed == NULL && n > 0) || failures < 0 ||
	    failures > (int64_t)UINT32_MAX) {
		rc = VOUCH_ERR_STORE_CORRUPT;
		goto out_done;
	}
	if (n > 0)
		memcpy(out->totp_sealed, sealed, (size_t)n);
	out->totp_sealed_len = (size_t)n;
	out->totp_last_step = sqlite3_column_int64(st, 2);
	out->failures = (uint32_t)failures;
	out->locked_until = sqlite3_column_int64(st, 4);
	out->last_login = sqlite3_column_int64(st, 5);
	rc = VOUCH_OK;
out_done:
	stmt_done(st);
	if (rc != VOUCH_OK)
		vouch_wipe(out, sizeof(*out));
	return rc;
}

static int sq_auth_delete(struct vouch_store *store, const char *user)
{
	struct sqlite_store *b = be(store);
	sqlite3_stmt *st;
	int rc = stmt_get(b, ST_AUTH_DELETE, &st);

	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, user);
	rc = stmt_exec(b, st, "auth.delete");
	if (rc == VOUCH_OK && sqlite3_changes(b->db) == 0)
		rc = VOUCH_ERR_STORE_NOT_FOUND;
	return rc;
}

/* ---- sessions ------------------------------------------------------------------------------ */

static int sq_session_put(struct vouch_store *store, const struct vouch_store_session *s)
{
	struct sqlite_store *b = be(store);
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, ST_SESSION_INSERT, &st);

	if (rc != VOUCH_OK)
		return rc;
	sqlite3_bind_blob(st, 1, s->hash, VOUCH_STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
	bind_text(st, 2, s->user);
	sqlite3_bind_int64(st, 3, s->created_at);
	sqlite3_bind_int64(st, 4, s->expires_at);
	src = sqlite3_step(st);
	stmt_done(st);
	if (src == SQLITE_CONSTRAINT_PRIMARYKEY)
		return VOUCH_ERR_STORE_EXISTS;
	return src == SQLITE_DONE ? VOUCH_OK : db_err(b->db, src, "session.put");
}

static int sq_session_get(struct vouch_store *store, const uint8_t *hash, int64_t now,
                          struct vouch_store_session *out)
{
	struct sqlite_store *b = be(store);
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, ST_SESSION_GET, &st);

	if (rc != VOUCH_OK)
		return rc;
	sqlite3_bind_blob(st, 1, hash, VOUCH_STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		memcpy(out->hash, hash, VOUCH_STORE_TOKEN_HASH_LEN);
		out->created_at = sqlite3_column_int64(st, 1);
		out->expires_at = sqlite3_column_int64(st, 2);
		rc = col_text(st, 0, out->user, sizeof(out->user)) && out->user[0] != '\0'
		         ? VOUCH_OK
		         : VOUCH_ERR_STORE_CORRUPT;
	} else if (src == SQLITE_DONE) {
		rc = VOUCH_ERR_STORE_NOT_FOUND;
	} else {
		rc = db_err(b->db, src, "session.get");
	}
	stmt_done(st);
	if (rc != VOUCH_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

static int sq_session_delete_user(struct vouch_store *store, const char *user, size_t *count)
{
	struct sqlite_store *b = be(store);
	sqlite3_stmt *st;
	int rc = stmt_get(b, ST_SESSION_DELETE_USER, &st);

	if (rc != VOUCH_OK)
		return rc;
	bind_text(st, 1, user);
	rc = stmt_exec(b, st, "session.delete_user");
	if (rc == VOUCH_OK)
		*count = (size_t)sqlite3_changes(b->db);
	return rc;
}

static int sq_session_prune(struct vouch_store *store, int64_t now)
{
	struct sqlite_store *b = be(store);
	sqlite3_stmt *st;
	int rc = stmt_get(b, ST_SESSION_PRUNE, &st);

	if (rc != VOUCH_OK)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	return stmt_exec(b, st, "session.prune");
}

/* ---- revocation list ----------------------------------------------------------------------- */

static int sq_rev_add(struct vouch_store *store, const struct vouch_store_rev *entries, size_t n,
                      const char *actor, uint64_t *version)
{
	struct sqlite_store *b = be(store);
	int64_t v;
	sqlite3_stmt *st;
	int rc = tx_begin(b);

	if (rc != VOUCH_OK)
		return rc;
	rc = stmt_get(b, ST_REV_VERSION_NEW, &st);
	if (rc != VOUCH_OK)
		goto out_rollback;
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	bind_text(st, 2, actor);
	rc = stmt_exec(b, st, "rev.version");
	if (rc != VOUCH_OK)
		goto out_rollback;
	v = sqlite3_last_insert_rowid(b->db);
	if (v < 1) {
		rc = VOUCH_ERR_STORE_CORRUPT;
		goto out_rollback;
	}
	rc = stmt_get(b, ST_REV_INSERT, &st);
	if (rc != VOUCH_OK)
		goto out_rollback;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, v);
		sqlite3_bind_int(st, 2, entries[i].kind);
		sqlite3_bind_blob(st, 3, entries[i].value, (int)entries[i].value_len,
		                  SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, entries[i].revoked_at);
		sqlite3_bind_int64(st, 5, entries[i].keep_until);
		rc = stmt_exec(b, st, "rev.insert");
		if (rc != VOUCH_OK)
			goto out_rollback;
	}
	rc = event_insert_owned(b, "revlist.add", actor,
	                        vouch_store_fields_revlist_add((uint64_t)v, entries, n));
	if (rc != VOUCH_OK)
		goto out_rollback;
	rc = tx_commit(b);
	if (rc != VOUCH_OK)
		goto out_rollback;
	*version = (uint64_t)v;
	return VOUCH_OK;
out_rollback:
	tx_rollback(b);
	return rc;
}

static int sq_rev_version(struct vouch_store *store, uint64_t *version)
{
	struct sqlite_store *b = be(store);
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, ST_REV_MAX, &st);

	if (rc != VOUCH_OK)
		return rc;
	src = sqlite3_step(st);
	if (src == SQLITE_ROW && sqlite3_column_int64(st, 0) >= 0) {
		*version = (uint64_t)sqlite3_column_int64(st, 0);
		rc = VOUCH_OK;
	} else {
		rc =
		    src == SQLITE_ROW ? VOUCH_ERR_STORE_CORRUPT : db_err(b->db, src, "rev.version");
	}
	stmt_done(st);
	return rc;
}

static int sq_rev_list(struct vouch_store *store, uint64_t since, int64_t now,
                       int (*cb)(const struct vouch_store_rev *rev, void *ctx), void *ctx)
{
	struct sqlite_store *b = be(store);
	struct vouch_store_rev rev;
	const void *value;
	int64_t version;
	sqlite3_stmt *st;
	int n;
	int src;
	int rc = stmt_get(b, ST_REV_LIST, &st);

	if (rc != VOUCH_OK)
		return rc;
	sqlite3_bind_int64(st, 1, (int64_t)since);
	sqlite3_bind_int64(st, 2, now);
	for (;;) {
		src = sqlite3_step(st);
		if (src == SQLITE_DONE) {
			rc = VOUCH_OK;
			break;
		}
		if (src != SQLITE_ROW) {
			rc = db_err(b->db, src, "rev.list");
			break;
		}
		memset(&rev, 0, sizeof(rev));
		version = sqlite3_column_int64(st, 0);
		rev.kind = sqlite3_column_int(st, 1);
		value = sqlite3_column_blob(st, 2);
		n = sqlite3_column_bytes(st, 2);
		if (version < 1 || value == NULL || n <= 0 || n > VOUCH_STORE_REV_VALUE_MAX) {
			rc = VOUCH_ERR_STORE_CORRUPT;
			break;
		}
		rev.version = (uint64_t)version;
		memcpy(rev.value, value, (size_t)n);
		rev.value_len = (size_t)n;
		rev.revoked_at = sqlite3_column_int64(st, 3);
		rev.keep_until = sqlite3_column_int64(st, 4);
		rc = cb(&rev, ctx);
		if (rc != 0) {
			rc = rc > 0 ? VOUCH_OK : rc;
			break;
		}
	}
	stmt_done(st);
	return rc;
}

/* ---- maintenance --------------------------------------------------------------------------- */

static int sq_schema_version(struct vouch_store *store, int *version)
{
	struct sqlite_store *b = be(store);
	sqlite3_stmt *st;
	int src;
	int rc = stmt_get(b, ST_VERSION, &st);

	if (rc != VOUCH_OK)
		return rc;
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	rc = src == SQLITE_ROW    ? VOUCH_OK
	     : src == SQLITE_DONE ? VOUCH_ERR_STORE_CORRUPT
	                          : db_err(b->db, src, "schema_version");
	stmt_done(st);
	return rc;
}

static int sq_check(struct vouch_store *store)
{
	struct sqlite_store *b = be(store);
	sqlite3_stmt *st = NULL;
	const unsigned char *text;
	int src;
	int rc = VOUCH_ERR_STORE_CORRUPT;

	src = sqlite3_prepare_v2(b->db, "PRAGMA integrity_check", -1, &st, NULL);
	if (src != SQLITE_OK)
		return db_err(b->db, src, "integrity_check");
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		text = sqlite3_column_text(st, 0);
		if (text != NULL && strcmp((const char *)text, "ok") == 0)
			rc = VOUCH_OK;
		else
			vouch_log(VOUCH_LOG_ERROR, "store.sqlite", "op", "integrity_check", "error",
			          text != NULL ? (const char *)text : "(null)", NULL);
	} else {
		rc = db_err(b->db, src, "integrity_check");
	}
	sqlite3_finalize(st);
	return rc;
}

static void sq_close(struct vouch_store *store)
{
	struct sqlite_store *b = be(store);

	for (size_t i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(b->stmt[i]);
	/* The last connection to close checkpoints the WAL into the database file. */
	if (sqlite3_close(b->db) != SQLITE_OK)
		vouch_log(VOUCH_LOG_ERROR, "store.sqlite", "op", "close", "error",
		          sqlite3_errmsg(b->db), NULL);
	free(b);
	free(store);
}

static const struct vouch_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .schema_version = sq_schema_version,
    .check = sq_check,
    .token_create = sq_token_create,
    .token_check = sq_token_check,
    .token_consume_issue = sq_token_consume_issue,
    .cert_insert = sq_cert_insert,
    .cert_get = sq_cert_get,
    .cert_state = sq_cert_state,
    .cert_list = sq_cert_list,
    .cert_revoke = sq_cert_revoke,
    .revoked_list = sq_revoked_list,
    .crl_next = sq_crl_next,
    .crl_get = sq_crl_get,
    .meta_set = sq_meta_set,
    .meta_get = sq_meta_get,
    .event_append = sq_event_append,
    .event_list = sq_event_list,
    .tx_begin = sq_tx_begin,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
    .obj_put = sq_obj_put,
    .obj_get = sq_obj_get,
    .obj_delete = sq_obj_delete,
    .obj_list = sq_obj_list,
    .auth_put = sq_auth_put,
    .auth_get = sq_auth_get,
    .auth_delete = sq_auth_delete,
    .session_put = sq_session_put,
    .session_get = sq_session_get,
    .session_delete_user = sq_session_delete_user,
    .session_prune = sq_session_prune,
    .rev_add = sq_rev_add,
    .rev_version = sq_rev_version,
    .rev_list = sq_rev_list,
    .obj_peek = sq_obj_peek,
};

/* ---- opening and migrations ---------------------------------------------------------------- */

/* A one-off query returning one integer. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	int rc;

	*out = 0;
	if (src != SQLITE_OK)
		return db_err(db, src, "query");
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = VOUCH_OK;
	} else {
		rc = src == SQLITE_DONE ? VOUCH_ERR_STORE_CORRUPT : db_err(db, src, "query");
	}
	sqlite3_finalize(st);
	return rc;
}

/* The schema version of the open database: 0 for an empty one; VOUCH_ERR_STORE_CORRUPT for a
 * database that has tables but is not ours. */
static int read_version(sqlite3 *db, int64_t *version)
{
	int64_t has_table = 0;
	int64_t tables = 0;
	int rc;

	*version = 0;
	rc = query_int(db,
	               "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
	               "AND name = 'schema_version'",
	               &has_table);
	if (rc != VOUCH_OK)
		return rc;
	if (has_table == 0) {
		rc = query_int(db, "SELECT count(*) FROM sqlite_master", &tables);
		if (rc != VOUCH_OK)
			return rc;
		if (tables != 0) {
			vouch_log(VOUCH_LOG_ERROR, "store.open", "error",
			          "database has tables but no schema_version: not a vouch store",
			          NULL);
			return VOUCH_ERR_STORE_CORRUPT;
		}
		return VOUCH_OK;
	}
	rc = query_int(db, "SELECT version FROM schema_version WHERE id = 1", version);
	if (rc == VOUCH_OK && *version < 1)
		rc = VOUCH_ERR_STORE_CORRUPT;
	return rc;
}

static int exec_sql(sqlite3 *db, const char *sql, const char *op)
{
	int src = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return src == SQLITE_OK ? VOUCH_OK : db_err(db, src, op);
}

static int refuse_newer(int64_t version)
{
	char have[24];
	char want[24];

	snprintf(have, sizeof(have), "%lld", (long long)version);
	snprintf(want, sizeof(want), "%d", VOUCH_STORE_SCHEMA_VERSION);
	vouch_log(VOUCH_LOG_ERROR, "store.open", "error",
	          "database schema is newer than this program: upgrade vouchd", "schema_version",
	          have, "supported", want, NULL);
	return VOUCH_ERR_STORE_VERSION;
}

/* Bring the schema to VOUCH_STORE_SCHEMA_VERSION in one transaction: all steps or none. */
static int migrate(sqlite3 *db)
{
	char stamp[96];
	int64_t version = 0;
	int rc = exec_sql(db, "BEGIN IMMEDIATE", "migrate.begin");

	if (rc != VOUCH_OK)
		return rc;
	/* Again under the write lock: another process may have migrated meanwhile. */
	rc = read_version(db, &version);
	if (rc != VOUCH_OK)
		goto out_rollback;
	if (version > VOUCH_STORE_SCHEMA_VERSION) {
		rc = refuse_newer(version);
		goto out_rollback;
	}
	for (int64_t v = version; v < VOUCH_STORE_SCHEMA_VERSION; v++) {
		rc = exec_sql(db, migrations[v], "migrate");
		if (rc != VOUCH_OK)
			goto out_rollback;
	}
	if (version < VOUCH_STORE_SCHEMA_VERSION) {
		snprintf(stamp, sizeof(stamp),
		         "INSERT OR REPLACE INTO schema_version (id, version) VALUES (1, %d)",
		         VOUCH_STORE_SCHEMA_VERSION);
		rc = exec_sql(db, stamp, "migrate.stamp");
		if (rc != VOUCH_OK)
			goto out_rollback;
	}
	rc = exec_sql(db, "COMMIT", "migrate.commit");
	if (rc != VOUCH_OK)
		goto out_rollback;
	return VOUCH_OK;
out_rollback:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Create the file 0600 (SQLite's -wal and -shm files copy its mode) and make its directory entry
 * durable, so a power loss right after init cannot lose the database file itself. */
static int precreate(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? VOUCH_OK : VOUCH_ERR_IO;
	close(fd);
	if (strlen(path) >= sizeof(dir))
		return VOUCH_ERR_IO;
	memcpy(dir, path, strlen(path) + 1);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return VOUCH_ERR_IO;
	if (fsync(fd) != 0) {
		close(fd);
		return VOUCH_ERR_IO;
	}
	close(fd);
	return VOUCH_OK;
}

/* Connection settings; each must run outside a transaction. */
static int configure(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	int src;
	int rc = VOUCH_ERR_STORE;

	src = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (src != SQLITE_OK)
		return db_err(db, src, "journal_mode");
	src = sqlite3_step(st);
	mode = src == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	if (mode != NULL && strcmp((const char *)mode, "wal") == 0)
		rc = VOUCH_OK;
	else if (src != SQLITE_ROW)
		rc = db_err(db, src, "journal_mode");
	else
		vouch_log(VOUCH_LOG_ERROR, "store.open", "error", "cannot switch to WAL mode",
		          "journal_mode", mode != NULL ? (const char *)mode : "(null)", NULL);
	sqlite3_finalize(st);
	if (rc != VOUCH_OK)
		return rc;
	/* FULL: the WAL is fsync()ed at every commit, so an acknowledged change survives power
	 * loss (NORMAL would only survive a process crash). */
	return exec_sql(db, "PRAGMA synchronous = FULL", "synchronous");
}

int vouch_store_sqlite_open(const char *path, struct vouch_store **out)
{
	int rc = VOUCH_ERR_INTERNAL;
	struct vouch_store *store = NULL;
	struct sqlite_store *b = NULL;
	int64_t version = 0;
	int src;

	if (out == NULL)
		return VOUCH_ERR_INVALID;
	*out = NULL;
	if (path == NULL || path[0] == '\0' || strlen(path) >= PATH_MAX)
		return VOUCH_ERR_INVALID;
	store = calloc(1, sizeof(*store));
	b = calloc(1, sizeof(*b));
	if (store == NULL || b == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free;
	}
	store->ops = &sqlite_ops;
	store->backend = b;
	if (strcmp(path, ":memory:") != 0) {
		rc = precreate(path);
		if (rc != VOUCH_OK) {
			vouch_log(VOUCH_LOG_ERROR, "store.open", "error",
			          "cannot create the database", "path", path, "errno",
			          strerror(errno), NULL);
			goto out_free;
		}
	}
	/* NOMUTEX: a connection is used by one thread at a time (store.h). */
	src = sqlite3_open_v2(
	    path, &b->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		rc = db_err(b->db, src, "open");
		goto out_close_db;
	}
	sqlite3_extended_result_codes(b->db, 1);
	sqlite3_busy_timeout(b->db, BUSY_TIMEOUT_MS);
	rc = exec_sql(b->db, "PRAGMA foreign_keys = ON", "foreign_keys");
	if (rc != VOUCH_OK)
		goto out_close_db;
	/* Check the version before writing anything, so a newer database is left untouched. */
	rc = read_version(b->db, &version);
	if (rc != VOUCH_OK)
		goto out_close_db;
	if (version > VOUCH_STORE_SCHEMA_VERSION) {
		rc = refuse_newer(version);
		goto out_close_db;
	}
	rc = configure(b->db);
	if (rc != VOUCH_OK)
		goto out_close_db;
	rc = migrate(b->db);
	if (rc != VOUCH_OK)
		goto out_close_db;
	*out = store;
	return VOUCH_OK;
out_close_db:
	sqlite3_close(b->db);
out_free:
	free(b);
	free(store);
	return rc;
}
