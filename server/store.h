/*
 * vouchd's store: enrolment tokens, issued certificates, revocations, CRL state, a small key/value
 * table and the append-only event log.
 *
 * Callers use only the vouch_store_<verb>() functions below; they validate their arguments and
 * dispatch through the back-end's ops table, so a PostgreSQL back-end is one more ops table and one
 * more URL scheme in vouch_store_open(), and no caller changes.
 *
 * Every operation that changes state is ONE transaction that also appends the events recording the
 * change (docs/vouchd.md, "Events"): when it returns VOUCH_OK the change and its events are
 * durable, when it fails nothing changed. A struct vouch_store is one database connection: use it
 * from one thread at a time (vouchd is one libevent thread; a forked or other thread opens its
 * own).
 *
 * List functions call a callback per record while a query is open: the callback must not call
 * the same list function on the same store (other calls are fine).
 *
 * Times are int64_t seconds since the Unix epoch, UTC. Serials are hex; the store canonicalises
 * them (upper case, even length, no leading zero octet: the form of `openssl x509 -serial` and
 * BN_bn2hex), and accepts any case and leading zeros on input. Errors are enum vouch_err; the
 * store's own are VOUCH_ERR_STORE_* (include/vouch/common.h).
 */
#ifndef VOUCH_SERVER_STORE_H
#define VOUCH_SERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vouch/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Lengths in characters, without the terminating NUL (the arrays below hold one more). */
#define VOUCH_STORE_SERIAL_MAX     40    /* 20 octets (RFC 5280 4.1.2.2) */
#define VOUCH_STORE_DEVICE_MAX     64    /* a CN (ub-common-name) */
#define VOUCH_STORE_SUBJECT_MAX    255   /* one-line text form of the subject DN */
#define VOUCH_STORE_PROFILE_MAX    31    /* device, service, phone, short-lived, ... */
#define VOUCH_STORE_VIA_MAX        15    /* est, reenroll, api, batch, init */
#define VOUCH_STORE_REASON_MAX     31    /* RFC 5280 CRLReason name, e.g. keyCompromise */
#define VOUCH_STORE_ACTOR_MAX      127   /* who made the change: "admin", "est:pump-7", "system" */
#define VOUCH_STORE_TYPE_MAX       31    /* event type, e.g. cert.issue */
#define VOUCH_STORE_NAME_MAX       31    /* CRL name: "issuing", "root" */
#define VOUCH_STORE_KEY_MAX        63    /* meta key */
#define VOUCH_STORE_SANS_MAX       1023  /* SANs of an enrolment token, a JSON array of strings */
#define VOUCH_STORE_DER_MAX        65536 /* largest certificate stored */
#define VOUCH_STORE_META_MAX       (1024 * 1024) /* largest meta value (a CRL fits) */
#define VOUCH_STORE_TOKEN_HASH_LEN 32            /* SHA-256 of the enrolment token */
#define VOUCH_STORE_TIME_LEN       32            /* buffer for "2026-11-22T03:20:00Z" / with .mmm */

/* The schema version this program writes; a database with a newer one is refused. */
#define VOUCH_STORE_SCHEMA_VERSION 2

enum vouch_store_status {
	VOUCH_STORE_STATUS_ANY = 0, /* filter only: every certificate */
	VOUCH_STORE_STATUS_VALID,   /* not revoked, now <= not_after */
	VOUCH_STORE_STATUS_REVOKED, /* revoked (whether or not also expired) */
	VOUCH_STORE_STATUS_EXPIRED, /* not revoked, not_after < now */
};

/*
 * An issued certificate. On insert every field but revoked/revoked_at/reason is input and der
 * points at the caller's bytes. From vouch_store_cert_get() der is allocated: release it with
 * vouch_store_cert_clear(). In a list callback der points into the store's memory, valid only
 * during the callback (NULL unless the filter asked for it).
 */
struct vouch_store_cert {
	char serial[VOUCH_STORE_SERIAL_MAX + 1];
	char device[VOUCH_STORE_DEVICE_MAX + 1];
	char subject[VOUCH_STORE_SUBJECT_MAX + 1];
	char profile[VOUCH_STORE_PROFILE_MAX + 1];
	char via[VOUCH_STORE_VIA_MAX + 1];
	int64_t not_before;
	int64_t not_after;
	bool revoked;
	int64_t revoked_at;                      /* valid when revoked */
	char reason[VOUCH_STORE_REASON_MAX + 1]; /* valid when revoked */
	unsigned char *der;
	size_t der_len;
};

/* Frees cert->der and zeroes the record; NULL is a no-op. */
void vouch_store_cert_clear(struct vouch_store_cert *cert);

/* Status of a certificate at time now (revoked before expired). */
enum vouch_store_status vouch_store_cert_status_at(const struct vouch_store_cert *cert,
                                                   int64_t now);

/* "valid", "revoked", "expired", "any"; parse returns VOUCH_ERR_INVALID for anything else. */
const char *vouch_store_status_name(enum vouch_store_status status);
int vouch_store_status_parse(const char *name, enum vouch_store_status *out);

/* Filter for vouch_store_cert_list(); zero-initialise, then set what you need. */
struct vouch_store_cert_filter {
	const char *device;             /* NULL: every device */
	enum vouch_store_status status; /* ANY: every status */
	int64_t now;                    /* the time status is evaluated at */
	size_t limit;                   /* 0: no limit */
	bool with_der;                  /* pass the DER to the callback */
};

/* What OCSP needs, from the serial's primary-key index. */
struct vouch_store_cert_state {
	bool revoked;
	int64_t revoked_at;
	char reason[VOUCH_STORE_REASON_MAX + 1];
	int64_t not_after;
};

/* An enrolment token. Only the SHA-256 of the token is stored, never the token. */
struct vouch_store_token {
	uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN];
	char device[VOUCH_STORE_DEVICE_MAX + 1];
	char profile[VOUCH_STORE_PROFILE_MAX + 1];
	char sans[VOUCH_STORE_SANS_MAX + 1]; /* JSON array of strings; "" or "[]": none */
	int64_t created_at;
	int64_t expires_at;
	bool used;                                    /* output only */
	int64_t used_at;                              /* output only */
	char used_serial[VOUCH_STORE_SERIAL_MAX + 1]; /* output only */
};

/* One event. In a callback, fields points into the store's memory (valid during the call). */
struct vouch_store_event {
	int64_t seq;                         /* strictly increasing, never reused */
	char time[VOUCH_STORE_TIME_LEN];     /* ISO 8601 UTC with milliseconds */
	char type[VOUCH_STORE_TYPE_MAX + 1]; /* site.init, cert.issue, cert.revoke, ... */
	char actor[VOUCH_STORE_ACTOR_MAX + 1];
	const char *fields; /* JSON object text: the type's own fields */
};

struct vouch_store_crl {
	uint64_t number; /* monotonic per CRL name; 0: never issued */
	int64_t this_update;
	int64_t next_update;
};

struct vouch_store;

/* ---- opening ---------------------------------------------------------------------------- */

/*
 * Open (creating and migrating as needed) the store at url:
 *   "sqlite:/path/vouch.db" (also "sqlite:///path", or a relative "sqlite:vouch.db")
 *   "postgresql://..." / "postgres://..."  -> VOUCH_ERR_UNSUPPORTED (not yet)
 * A database whose schema is newer than VOUCH_STORE_SCHEMA_VERSION is refused with
 * VOUCH_ERR_STORE_VERSION; an older one is migrated in one transaction.
 */
int vouch_store_open(const char *url, struct vouch_store **out);

/* Close; NULL is a no-op. */
void vouch_store_close(struct vouch_store *store);

/* The back-end's name: "sqlite". */
const char *vouch_store_backend(const struct vouch_store *store);

/* The database's schema version (VOUCH_STORE_SCHEMA_VERSION once open). */
int vouch_store_schema_version(struct vouch_store *store, int *version);

/* Back-end self check (SQLite: PRAGMA integrity_check). VOUCH_ERR_STORE_CORRUPT on failure. */
int vouch_store_check(struct vouch_store *store);

/* ---- enrolment tokens --------------------------------------------------------------------- */

/* Store a new token (event token.create {device, expires}). A hash already stored:
 * VOUCH_ERR_STORE_EXISTS. */
int vouch_store_token_create(struct vouch_store *store, const struct vouch_store_token *token,
                             const char *actor);

/*
 * Check, without consuming, that the token with this hash may enrol device at now; on success
 * fills *out (may be NULL) so the caller can sign with the record's profile and SANs. Refusals,
 * each also recorded as an event token.refuse {device, why}:
 *   VOUCH_ERR_STORE_TOKEN_UNKNOWN  no such token
 *   VOUCH_ERR_STORE_TOKEN_DEVICE   the token belongs to another device
 *   VOUCH_ERR_STORE_TOKEN_USED     already used
 *   VOUCH_ERR_STORE_TOKEN_EXPIRED  now >= expires_at
 */
int vouch_store_token_check(struct vouch_store *store, const char *device,
                            const uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN], int64_t now,
                            const char *actor, struct vouch_store_token *out);

/*
 * EST enrolment, atomically: check the token as vouch_store_token_check() does, mark it used by
 * cert->serial, insert cert (whose device must equal device), append token.use and cert.issue.
 * On a refusal the token refusal codes above are returned (and token.refuse recorded); when the
 * serial is already stored VOUCH_ERR_STORE_SERIAL_EXISTS is returned, nothing changed and the
 * caller may re-sign with a new serial and call again. VOUCH_OK means durable.
 */
int vouch_store_token_consume_issue(struct vouch_store *store, const char *device,
                                    const uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN], int64_t now,
                                    const struct vouch_store_cert *cert, const char *actor);

/* ---- certificates ------------------------------------------------------------------------ */

/* Insert one certificate + event cert.issue {serial, subject, profile, device, via}.
 * VOUCH_ERR_STORE_SERIAL_EXISTS when the serial is taken. */
int vouch_store_cert_insert(struct vouch_store *store, const struct vouch_store_cert *cert,
                            const char *actor);

/* Insert n certificates and their n cert.issue events in one transaction: all or none.
 * VOUCH_ERR_STORE_SERIAL_EXISTS when any serial is taken (also a duplicate within the batch). */
int vouch_store_cert_insert_batch(struct vouch_store *store, const struct vouch_store_cert *certs,
                                  size_t n, const char *actor);

/* Fetch by serial into *out (out->der allocated; vouch_store_cert_clear()).
 * VOUCH_ERR_STORE_NOT_FOUND when unknown. */
int vouch_store_cert_get(struct vouch_store *store, const char *serial,
                         struct vouch_store_cert *out);

/* Revocation status by serial (OCSP). VOUCH_ERR_STORE_NOT_FOUND when unknown. */
int vouch_store_cert_state(struct vouch_store *store, const char *serial,
                           struct vouch_store_cert_state *out);

/*
 * Call cb for each certificate matching filter, in issuance order. cb returns 0 to go on, > 0 to
 * stop (the list then returns VOUCH_OK) or < 0 to abort (the list returns that value).
 */
int vouch_store_cert_list(struct vouch_store *store, const struct vouch_store_cert_filter *filter,
                          int (*cb)(const struct vouch_store_cert *cert, void *ctx), void *ctx);

/*
 * Revoke by serial at time when with reason (an RFC 5280 CRLReason name) + event cert.revoke
 * {serial, reason}. Revoking a revoked certificate changes nothing and sets *changed false (the
 * first revocation's time and reason stay). VOUCH_ERR_STORE_NOT_FOUND when unknown.
 */
int vouch_store_cert_revoke(struct vouch_store *store, const char *serial, const char *reason,
                            int64_t when, const char *actor, bool *changed);

/* Revoke every unrevoked certificate of device not expired at when, one event each, in one
 * transaction; *count is how many were revoked now (0 is not an error). */
int vouch_store_device_revoke(struct vouch_store *store, const char *device, const char *reason,
                              int64_t when, const char *actor, size_t *count);

/*
 * The CRL's entries: cb(serial, revoked_at, reason, ctx) for every revoked certificate whose
 * not_after >= min_not_after (0: all; RFC 5280 lets a CRL drop expired entries). Serial order.
 * cb's return value as for vouch_store_cert_list().
 */
int vouch_store_revoked_list(struct vouch_store *store, int64_t min_not_after,
                             int (*cb)(const char *serial, int64_t revoked_at, const char *reason,
                                       void *ctx),
                             void *ctx);

/* ---- CRL state and meta -------------------------------------------------------------------- */

/* Allocate the next CRL number of CRL name ("issuing", "root"), record this/next update and
 * event crl.issue {crl, number}, atomically. The first number is 1. */
int vouch_store_crl_next(struct vouch_store *store, const char *name, int64_t this_update,
                         int64_t next_update, const char *actor, uint64_t *number);

/* The last CRL state of name; number 0 (VOUCH_OK) when none was issued yet. */
int vouch_store_crl_get(struct vouch_store *store, const char *name, struct vouch_store_crl *out);

/* Small key/value table (binary values up to VOUCH_STORE_META_MAX); set replaces. No event. */
int vouch_store_meta_set(struct vouch_store *store, const char *key, const void *value, size_t len);

/* *value is allocated (NUL-terminated too, for text; free()). VOUCH_ERR_STORE_NOT_FOUND. */
int vouch_store_meta_get(struct vouch_store *store, const char *key, unsigned char **value,
                         size_t *len);

/* ---- events ------------------------------------------------------------------------------- */

/* Append an event of a type no other function records (site.init, ...). fields_json is a JSON
 * object ("{}" or NULL: no fields) without seq/time/type/actor. *seq (may be NULL) gets its seq. */
int vouch_store_event_append(struct vouch_store *store, const char *type, const char *actor,
                             const char *fields_json, int64_t *seq);

/* Events with seq > after, ascending, at most limit (0: all). cb's return value as above. */
int vouch_store_event_list(struct vouch_store *store, int64_t after, size_t limit,
                           int (*cb)(const struct vouch_store_event *event, void *ctx), void *ctx);

/* The event in its stable format {"seq":N,"time":..,"type":..,"actor":..,...fields}, compact JSON,
 * allocated (free()). */
int vouch_store_event_json(const struct vouch_store_event *event, char **json);

/* ---- transactions ---------------------------------------------------------------------------
 *
 * Group several calls into one transaction (e.g. revoking a person: the user record, their phones,
 * their credentials and the revocation list entries change together or not at all). Between begin
 * and commit every call behaves as documented, except that nothing is durable before commit; a
 * call that fails inside leaves no partial change of its own (the back-end uses a savepoint per
 * call) and the transaction open, and the caller then commits what succeeded or rolls back.
 * Not nestable: begin while one is open is VOUCH_ERR_INVALID; commit / rollback without one too.
 */
int vouch_store_tx_begin(struct vouch_store *store);
int vouch_store_tx_commit(struct vouch_store *store);
void vouch_store_tx_rollback(struct vouch_store *store); /* no-op when none is open */

/* ---- directory objects (issue 4) ------------------------------------------------------------
 *
 * Zones, resources, trainings, roles, users, phones and credentials are JSON objects of a kind,
 * named uniquely within it, with an optional owner (the user a phone or credential belongs to) and
 * an optimistic-concurrency version. The store checks only that json is one JSON object of at most
 * VOUCH_STORE_OBJ_MAX bytes (stored compact, as given) and that names and owners are 1..
 * VOUCH_STORE_ID_MAX bytes of printable ASCII without spaces; server/directory.c validates the
 * content. Objects hold no secrets (a user's password hash and TOTP secret are in the auth table).
 * Every change appends its event in the same transaction: "<kind>.create", "<kind>.update"
 * {"name":..,"version":N,"object":{..}} and "<kind>.delete" {"name":..,"version":N}.
 */
#define VOUCH_STORE_KIND_MAX 15
#define VOUCH_STORE_ID_MAX   64
#define VOUCH_STORE_OBJ_MAX  (256 * 1024)

#define VOUCH_STORE_KINDS "zone resource training role user phone credential"

struct vouch_store_obj {
	char kind[VOUCH_STORE_KIND_MAX + 1];
	char name[VOUCH_STORE_ID_MAX + 1];
	char owner[VOUCH_STORE_ID_MAX + 1]; /* "" when none */
	int64_t version;                     /* 1 at creation, +1 per update */
	int64_t created_at;
	int64_t updated_at;
	char *json; /* allocated by obj_get (vouch_store_obj_clear); store memory in a callback */
	size_t json_len;
};

void vouch_store_obj_clear(struct vouch_store_obj *obj);

/* expect_version for vouch_store_obj_put / _delete */
#define VOUCH_STORE_CREATE 0   /* put: create only (VOUCH_ERR_STORE_EXISTS when present) */
#define VOUCH_STORE_ANY    (-1) /* put: create or replace; delete: whatever the version */

/*
 * Create or update kind/name. expect_version VOUCH_STORE_CREATE: create only; VOUCH_STORE_ANY:
 * create or replace; N > 0: replace only if the stored version is N (VOUCH_ERR_STORE_CONFLICT if
 * not, VOUCH_ERR_STORE_NOT_FOUND if absent). *version (may be NULL) gets the new version. now is
 * the time recorded as created_at / updated_at. An unknown kind is VOUCH_ERR_INVALID.
 */
int vouch_store_obj_put(struct vouch_store *store, const char *kind, const char *name,
                        const char *owner, const char *json, int64_t expect_version, int64_t now,
                        const char *actor, int64_t *version);

/* Fetch kind/name (out->json allocated). VOUCH_ERR_STORE_NOT_FOUND when absent. */
int vouch_store_obj_get(struct vouch_store *store, const char *kind, const char *name,
                        struct vouch_store_obj *out);

/* Delete kind/name (expect_version N > 0 or VOUCH_STORE_ANY). VOUCH_ERR_STORE_NOT_FOUND,
 * VOUCH_ERR_STORE_CONFLICT. */
int vouch_store_obj_delete(struct vouch_store *store, const char *kind, const char *name,
                           int64_t expect_version, const char *actor);

/* Every object of kind (owned by owner when not NULL), in name order (bytewise). cb's return
 * value as for vouch_store_cert_list(); obj->json is valid during the call only. */
int vouch_store_obj_list(struct vouch_store *store, const char *kind, const char *owner,
                         int (*cb)(const struct vouch_store_obj *obj, void *ctx), void *ctx);

/*
 * Look objects of kind up by name without copying them: cb(i, obj, ctx) for each names[i] in
 * order, obj NULL when there is none, else the object while the query is open (obj->json is the
 * store's memory, valid during the call only). Several names are read in one read transaction
 * (unless the caller's is open): one snapshot, one lock. For a caller that keeps what it derived
 * from objects and only needs to see whether the stored text is still the same (the directory's
 * compiled roles). cb must not call the store; it returns 0 to go on, > 0 to stop (VOUCH_OK), < 0
 * to stop with that error. Any name not 1..VOUCH_STORE_ID_MAX printable bytes: VOUCH_ERR_INVALID
 * before anything is read.
 */
int vouch_store_obj_peek(struct vouch_store *store, const char *kind, const char *const *names,
                         size_t n,
                         int (*cb)(size_t i, const struct vouch_store_obj *obj, void *ctx),
                         void *ctx);

/* ---- authentication secrets ------------------------------------------------------------------
 *
 * One row per user: the Argon2id hash (its encoded string carries salt and parameters), the TOTP
 * secret sealed under a key that lives in the token (never the secret itself), the replay guard
 * and the failure counters. No events here: the caller records user.* / auth.* events itself in
 * the same transaction.
 */
#define VOUCH_STORE_PWHASH_MAX 255
#define VOUCH_STORE_SEALED_MAX 128

struct vouch_store_auth {
	char user[VOUCH_STORE_ID_MAX + 1];
	char pw_hash[VOUCH_STORE_PWHASH_MAX + 1];
	uint8_t totp_sealed[VOUCH_STORE_SEALED_MAX];
	size_t totp_sealed_len;
	int64_t totp_last_step; /* the last accepted TOTP time step; older or equal steps are replays */
	uint32_t failures;      /* consecutive failed logins */
	int64_t locked_until;   /* no login before this time */
	int64_t last_login;
};

/* Create or replace the row of a->user. */
int vouch_store_auth_put(struct vouch_store *store, const struct vouch_store_auth *a);
/* VOUCH_ERR_STORE_NOT_FOUND when the user has no row. */
int vouch_store_auth_get(struct vouch_store *store, const char *user, struct vouch_store_auth *out);
int vouch_store_auth_delete(struct vouch_store *store, const char *user);

/* ---- sessions ----------------------------------------------------------------------------------
 * Short-lived login sessions; only the SHA-256 of the session secret is stored. No events. */
struct vouch_store_session {
	uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN];
	char user[VOUCH_STORE_ID_MAX + 1];
	int64_t created_at;
	int64_t expires_at;
};

/* VOUCH_ERR_STORE_EXISTS when the hash is taken. */
int vouch_store_session_put(struct vouch_store *store, const struct vouch_store_session *s);
/* VOUCH_ERR_STORE_NOT_FOUND when unknown or expired at now. */
int vouch_store_session_get(struct vouch_store *store, const uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN],
                            int64_t now, struct vouch_store_session *out);
/* End every session of user (*count may be NULL). */
int vouch_store_session_delete_user(struct vouch_store *store, const char *user, size_t *count);
/* Drop sessions expired at now. */
int vouch_store_session_prune(struct vouch_store *store, int64_t now);

/* ---- revocation list -----------------------------------------------------------------------------
 *
 * The entries behind the signed revocation list (include/vouch/revlist.h). Every call of
 * rev_add makes exactly one new version (1, 2, 3, ... never reused, even across restarts), holding
 * all its entries, and records event revlist.add {"version":V,"entries":[{"kind":"token"|
 * "subject"|"phone","value":hex or name,"revoked_at":iso}]}. keep_until is when the entry stops
 * mattering (the last credential it could hit expires): lists made after that leave it out.
 */
#define VOUCH_STORE_REV_VALUE_MAX 64

struct vouch_store_rev {
	uint64_t version; /* output of rev_add / in rev_list */
	int kind;         /* enum vouch_revlist_kind: 1 token, 2 subject, 3 phone */
	uint8_t value[VOUCH_STORE_REV_VALUE_MAX]; /* token hash / thumbprint bytes, or the user name */
	size_t value_len;
	int64_t revoked_at;
	int64_t keep_until;
};

/* Add n >= 1 entries as one new version (*version gets it; entries' version fields are ignored). */
int vouch_store_rev_add(struct vouch_store *store, const struct vouch_store_rev *entries, size_t n,
                        const char *actor, uint64_t *version);
/* The newest version (0 when nothing was ever revoked). */
int vouch_store_rev_version(struct vouch_store *store, uint64_t *version);
/* Entries with version > since and keep_until > now, in (version, insertion) order. */
int vouch_store_rev_list(struct vouch_store *store, uint64_t since, int64_t now,
                         int (*cb)(const struct vouch_store_rev *rev, void *ctx), void *ctx);

/* ---- a cache of the directory ------------------------------------------------------------
 *
 * server/directory.c keeps what it compiled from stored roles with the connection it read them
 * through (so two stores in one process never share one), and checks it against the stored text
 * on every use. The store only holds it and frees it on close with the function given.
 */
void *vouch_store_dir_cache(const struct vouch_store *store);
/* Frees the cache set before, if any (and another). */
void vouch_store_set_dir_cache(struct vouch_store *store, void *cache, void (*cache_free)(void *));

/* ---- helpers ------------------------------------------------------------------------------ */

/* Canonical serial (see top) of hex text; VOUCH_ERR_INVALID when not 1..40 hex digits or zero. */
int vouch_store_serial_canon(const char *hex, char out[VOUCH_STORE_SERIAL_MAX + 1]);

/* "2026-11-22T03:20:00Z" of t. */
void vouch_store_time_iso(int64_t t, char out[VOUCH_STORE_TIME_LEN]);

/* ---- back-end interface (store.c and store_<backend>.c only) ------------------------------ */

/*
 * A back-end implements these with the semantics documented above; the vouch_store_*() wrappers
 * have already validated every argument (lengths, canonical serial, JSON) and zeroed outputs.
 * Event fields for the built-in event types come from the vouch_store_fields_*() helpers so
 * every back-end records the same format.
 */
struct vouch_store_ops {
	const char *name;
	void (*close)(struct vouch_store *store);
	int (*schema_version)(struct vouch_store *store, int *version);
	int (*check)(struct vouch_store *store);
	int (*token_create)(struct vouch_store *store, const struct vouch_store_token *token,
	                    const char *actor);
	int (*token_check)(struct vouch_store *store, const char *device, const uint8_t *hash,
	                   int64_t now, const char *actor, struct vouch_store_token *out);
	int (*token_consume_issue)(struct vouch_store *store, const char *device,
	                           const uint8_t *hash, int64_t now,
	                           const struct vouch_store_cert *cert, const char *actor);
	int (*cert_insert)(struct vouch_store *store, const struct vouch_store_cert *certs,
	                   size_t n, const char *actor);
	int (*cert_get)(struct vouch_store *store, const char *serial,
	                struct vouch_store_cert *out);
	int (*cert_state)(struct vouch_store *store, const char *serial,
	                  struct vouch_store_cert_state *out);
	int (*cert_list)(struct vouch_store *store, const struct vouch_store_cert_filter *filter,
	                 int (*cb)(const struct vouch_store_cert *cert, void *ctx), void *ctx);
	/* Exactly one of serial and device is non-NULL; *count: certificates revoked now. */
	int (*cert_revoke)(struct vouch_store *store, const char *serial, const char *device,
	                   const char *reason, int64_t when, const char *actor, size_t *count);
	int (*revoked_list)(struct vouch_store *store, int64_t min_not_after,
	                    int (*cb)(const char *serial, int64_t revoked_at, const char *reason,
	                              void *ctx),
	                    void *ctx);
	int (*crl_next)(struct vouch_store *store, const char *name, int64_t this_update,
	                int64_t next_update, const char *actor, uint64_t *number);
	int (*crl_get)(struct vouch_store *store, const char *name, struct vouch_store_crl *out);
	int (*meta_set)(struct vouch_store *store, const char *key, const void *value, size_t len);
	int (*meta_get)(struct vouch_store *store, const char *key, unsigned char **value,
	                size_t *len);
	int (*event_append)(struct vouch_store *store, const char *type, const char *actor,
	                    const char *fields_json, int64_t *seq);
	int (*event_list)(struct vouch_store *store, int64_t after, size_t limit,
	                  int (*cb)(const struct vouch_store_event *event, void *ctx), void *ctx);
	/* issue 4 (see the wrappers above for the semantics) */
	int (*tx_begin)(struct vouch_store *store);
	int (*tx_commit)(struct vouch_store *store);
	void (*tx_rollback)(struct vouch_store *store);
	int (*obj_put)(struct vouch_store *store, const char *kind, const char *name,
	               const char *owner, const char *json, int64_t expect_version, int64_t now,
	               const char *actor, int64_t *version);
	int (*obj_get)(struct vouch_store *store, const char *kind, const char *name,
	               struct vouch_store_obj *out);
	int (*obj_delete)(struct vouch_store *store, const char *kind, const char *name,
	                  int64_t expect_version, const char *actor);
	int (*obj_list)(struct vouch_store *store, const char *kind, const char *owner,
	                int (*cb)(const struct vouch_store_obj *obj, void *ctx), void *ctx);
	int (*auth_put)(struct vouch_store *store, const struct vouch_store_auth *a);
	int (*auth_get)(struct vouch_store *store, const char *user, struct vouch_store_auth *out);
	int (*auth_delete)(struct vouch_store *store, const char *user);
	int (*session_put)(struct vouch_store *store, const struct vouch_store_session *s);
	int (*session_get)(struct vouch_store *store, const uint8_t *hash, int64_t now,
	                   struct vouch_store_session *out);
	int (*session_delete_user)(struct vouch_store *store, const char *user, size_t *count);
	int (*session_prune)(struct vouch_store *store, int64_t now);
	int (*rev_add)(struct vouch_store *store, const struct vouch_store_rev *entries, size_t n,
	               const char *actor, uint64_t *version);
	int (*rev_version)(struct vouch_store *store, uint64_t *version);
	int (*rev_list)(struct vouch_store *store, uint64_t since, int64_t now,
	                int (*cb)(const struct vouch_store_rev *rev, void *ctx), void *ctx);
	int (*obj_peek)(struct vouch_store *store, const char *kind, const char *const *names,
	                size_t n, int (*cb)(size_t i, const struct vouch_store_obj *obj, void *ctx),
	                void *ctx);
};

struct vouch_store {
	const struct vouch_store_ops *ops;
	void *backend; /* the back-end's connection state */
	/* vouch_store_set_dir_cache(); zero from the back-end's open */
	void *dir_cache;
	void (*dir_cache_free)(void *cache);
};

/* The SQLite back-end (store_sqlite.c): path is a file name. */
int vouch_store_sqlite_open(const char *path, struct vouch_store **out);

/* Event fields of the built-in types, allocated compact JSON objects (free()); NULL: no memory. */
char *vouch_store_fields_cert_issue(const struct vouch_store_cert *cert);
char *vouch_store_fields_cert_revoke(const char *serial, const char *reason);
char *vouch_store_fields_token_create(const char *device, int64_t expires_at);
char *vouch_store_fields_token_use(const char *device, const char *serial);
char *vouch_store_fields_token_refuse(const char *device, int refusal);
char *vouch_store_fields_crl_issue(const char *name, uint64_t number);
/* <kind>.create / <kind>.update {name, version, object} (json: the stored object text) and
 * <kind>.delete {name, version} (json NULL); revlist.add {version, entries}. */
char *vouch_store_fields_obj(const char *name, int64_t version, const char *json);
char *vouch_store_fields_revlist_add(uint64_t version, const struct vouch_store_rev *entries,
                                     size_t n);

/* ISO 8601 UTC with milliseconds of the current time, for event records. */
void vouch_store_now_iso(char out[VOUCH_STORE_TIME_LEN]);

#ifdef __cplusplus
}
#endif
#endif
