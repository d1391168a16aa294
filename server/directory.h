/*
 * vouchd — the directory (issue 4): zones, resources, trainings, roles and users as JSON objects in
 * the store (server/store.h, "directory objects"), their validation, referential integrity, the
 * policy document (`vouch policy load`), and compiling a user's effective permissions into the
 * compact form of include/vouch/policy.h.
 *
 * Object bodies (the store keeps them compact; names are the store's object names):
 *
 *   zone      name "plant/hall-a" ('/'-separated path of segments [a-z0-9_-]+, <= 64 bytes; every
 *             parent path must be a zone)   {"description": str?}
 *   resource  name = its id ([A-Za-z0-9._@-]+)
 *             {"type": str, "zone": zone, "tags": [str]?, "description": str?}
 *             type one of: sensor machine door locker information storage gateway area
 *   training  name [a-z0-9_-]+   {"description": str?, "validity_days": int?}
 *   role      name [a-z0-9_-]+   {"description": str?, "admin": bool?, "grants": [grant]}
 *     grant = {"effect": "permit"|"deny" (default permit),
 *              "resources": {"zone": zone?, "type": type?, "id": resource id?, "tags": [str]?},
 *              "actions": [action names] | "*",
 *              "when": [{"days": "mon-fri" | "sat,sun" | "daily" | ["mon",...],
 *                        "from": "HH:MM", "to": "HH:MM"}]?   (to <= from: overnight)
 *              "valid_from": ISO-8601 UTC?, "valid_until": ISO-8601 UTC?,
 *              "training": training?, "in_zone": zone | "@resource"?,
 *              "readings": [{"name": str, "op": "<"|"<="|">"|">="|"=="|"!=", "value": number}]?}
 *   user      name [a-z0-9._@-]+ (<= 64)
 *             {"display_name": str?, "kind": "staff"|"external" (default staff),
 *              "roles": [role],
 *              "trainings": {training: ISO-8601 expiry}?,
 *              "external": {"company": str, "sponsor": staff user, "valid_from": ISO,
 *                           "valid_until": ISO}      (required iff kind is external)
 *              "status": "active"|"revoked", "revoked_at": ISO?}
 *
 * A reference to something that does not exist (a grant's zone, a user's role, a sponsor) is
 * refused when the referring object is written; deleting something still referred to is refused
 * with VOUCH_ERR_STORE_IN_USE naming the referrer. Unknown members are refused everywhere (a
 * typo must not silently widen or narrow a grant).
 */
#ifndef VOUCHD_DIRECTORY_H
#define VOUCHD_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"
#include "vouch/policy.h"

#define VOUCH_DIR_ERR_MAX 256 /* size of the err buffers below */

/* "zone", "resource", "training", "role", "user" (the kinds this module validates). */
bool vouch_dir_kind_known(const char *kind);

/*
 * Validate body as the object kind/name, including its references (looked up in store). On
 * refusal err says what and where ("grants[2].when[0].from: expected HH:MM") and the result is
 * VOUCH_ERR_INVALID (schema) or VOUCH_ERR_STORE_NOT_FOUND (a reference to a missing object).
 */
int vouch_dir_validate(struct vouch_store *store, const char *kind, const char *name,
                       const json_t *body, char err[VOUCH_DIR_ERR_MAX]);

/* Create / replace / delete one object through the store after validating it (delete: after
 * checking nothing refers to it; VOUCH_ERR_STORE_IN_USE otherwise). now and actor as in the
 * store. */
int vouch_dir_put(struct vouch_store *store, const char *kind, const char *name, const json_t *body,
                  int64_t expect_version, int64_t now, const char *actor, int64_t *version,
                  char err[VOUCH_DIR_ERR_MAX]);
int vouch_dir_delete(struct vouch_store *store, const char *kind, const char *name,
                     const char *actor, char err[VOUCH_DIR_ERR_MAX]);

/*
 * Install a policy document {"zones": {name: body}, "trainings": {...}, "resources": {...},
 * "roles": {...}} (every member optional) in one transaction, in dependency order (zones by
 * depth, trainings, resources, roles): each object is created or replaced. Nothing changes when
 * anything is refused. *summary (may be NULL) gets {"zones": n, "trainings": n, "resources": n,
 * "roles": n}.
 */
int vouch_dir_load(struct vouch_store *store, const json_t *doc, int64_t now, const char *actor,
                   json_t **summary, char err[VOUCH_DIR_ERR_MAX]);

/* The effective permissions of user at now, compiled from all their roles. */
struct vouch_dir_compiled {
	uint8_t *perm; /* vouch_policy_encode() output, allocated */
	size_t perm_len;
	bool admin; /* some role has "admin": true */
	int64_t
	    valid_until; /* an external's hard end (0: none); a credential must not outlive it */
};

void vouch_dir_compiled_clear(struct vouch_dir_compiled *c);

/*
 * Compile: every grant of every role of the user becomes one permission (role index = the role's
 * position in the user's roles); a grant's training becomes training + the user's expiry of it
 * (a grant requiring a training the user does not have gets training_expires = 0, so it never
 * holds); an external user's window narrows every permission's validity. tz_rule is the site's
 * POSIX TZ rule. A revoked or unknown user: VOUCH_ERR_STORE_NOT_FOUND (err says which).
 * The store connection keeps parsed roles and users' last compiles (docs/directory.md, "The cache
 * of compiles"); every compile still reads the user and their roles and reuses only what is byte
 * for byte unchanged, so a change through any connection shows in the next compile.
 */
int vouch_dir_compile_user(struct vouch_store *store, const char *user, const char *tz_rule,
                           int64_t now, struct vouch_dir_compiled *out,
                           char err[VOUCH_DIR_ERR_MAX]);

/* Users that hold role (cb per user name; cb's return value as for the store's lists). */
int vouch_dir_users_with_role(struct vouch_store *store, const char *role,
                              int (*cb)(const char *user, void *ctx), void *ctx);

/* ISO-8601 UTC ("2026-11-22T05:00:00Z", also with a fractional second) to epoch seconds. */
int vouch_dir_parse_time(const char *iso, int64_t *out);

#endif
