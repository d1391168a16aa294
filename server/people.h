/*
 * vouchd — people (issue 4; docs/people.md): passwords and second factors (auth.c), phones,
 * credentials and the revocation list (people.c), and their API (api_people.c).
 */
#ifndef VOUCHD_PEOPLE_H
#define VOUCHD_PEOPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "vouch/cred.h"
#include "vouch/crypto.h"
#include "vouch/p11.h"
#include "vouch/tz.h"

struct vouch_service;
struct vouch_req;

/* Token key labels (vouchd's token). */
#define VOUCH_PEOPLE_KEY_ISSUER     "vouch-cred-issuer"
#define VOUCH_PEOPLE_KEY_ISSUER_ID  0x10
#define VOUCH_PEOPLE_KEY_REVLIST    "vouch-revlist"
#define VOUCH_PEOPLE_KEY_REVLIST_ID 0x11
#define VOUCH_PEOPLE_KEY_TOTP       "vouch-totp-seal"
/* The firmware signer (OTA manifests, a later issue); made now so that every commissioned
 * sensor carries it among its trust anchors from the start. */
#define VOUCH_PEOPLE_KEY_FIRMWARE    "vouch-firmware"
#define VOUCH_PEOPLE_KEY_FIRMWARE_ID 0x12

/* ---- auth.c: passwords, TOTP, lockout ---- */

#define VOUCH_AUTH_PASSWORD_MIN  12
#define VOUCH_AUTH_PASSWORD_MAX  1024
#define VOUCH_AUTH_TOTP_LEN      20 /* bytes of a TOTP secret (RFC 4226: 160 bits) */
#define VOUCH_AUTH_TOTP_STEP     30
#define VOUCH_AUTH_TOTP_WINDOW   1 /* steps either side of now */
#define VOUCH_AUTH_FAIL_LIMIT    5
#define VOUCH_AUTH_LOCK_BASE_S   30
#define VOUCH_AUTH_LOCK_MAX_S    3600
#define VOUCH_AUTH_URI_MAX       512
#define VOUCH_AUTH_SESSION_BYTES 32
#define VOUCH_AUTH_SESSION_TEXT  44 /* base64url of 32 bytes, no padding, plus NUL */

/* Argon2id of a password (t=2, m=19 MiB, p=1, 16-byte salt, 32-byte hash: OWASP's minimum),
 * encoded with its parameters. VOUCH_ERR_INVALID: length outside MIN..MAX. */
int vouch_auth_password_hash(const char *pw, size_t len, char out[VOUCH_STORE_PWHASH_MAX + 1]);
/* VOUCH_OK when pw matches encoded; VOUCH_ERR_AUTH otherwise (also for a malformed hash). */
int vouch_auth_password_verify(const char *encoded, const char *pw, size_t len);

/* A fresh TOTP secret for user, sealed into a->totp_sealed with the token key (a->totp_last_step
 * reset), and the otpauth:// URI showing it once (uri is a secret: wipe it). */
int vouch_auth_totp_new(struct vouch_p11 *p11, const char *issuer, const char *user,
                        struct vouch_store_auth *a, char uri[VOUCH_AUTH_URI_MAX]);
/* Check a 6-digit code at now against the sealed secret: VOUCH_OK with *step the matched time
 * step (the caller stores it as the replay guard); VOUCH_ERR_AUTH when wrong or a replay
 * (*replay then true). */
int vouch_auth_totp_check(struct vouch_p11 *p11, const struct vouch_store_auth *a, const char *code,
                          int64_t now, int64_t *step, bool *replay);

/* Lock time after `failures` consecutive failures (0 below the limit). */
int64_t vouch_auth_lock_seconds(uint32_t failures);

/* ---- people.c: the service state ---- */

struct vouch_people {
	struct vouch_store *store;
	struct vouch_p11 *p11;
	struct vouch_key issuer;     /* token key */
	struct vouch_key issuer_pub; /* its public half (published) */
	struct vouch_key revlist;
	struct vouch_key revlist_pub;
	struct vouch_key firmware_pub;
	struct vouch_key bundle_signer; /* the issuing CA key: signs commissioning bundles */
	uint8_t issuer_kid[VOUCH_THUMBPRINT_LEN];
	uint8_t revlist_kid[VOUCH_THUMBPRINT_LEN];
	uint8_t firmware_kid[VOUCH_THUMBPRINT_LEN];
	char site_id[17]; /* 16 hex digits of the root certificate's SHA-256 */
	char iss[24];     /* "vouch:<site id>" */
	char tz_rule[VOUCH_TZ_RULE_MAX + 1];
	int64_t credential_s;
	int64_t session_s;
	uint32_t revlist_max_age;
	char dummy_hash[VOUCH_STORE_PWHASH_MAX + 1]; /* verified for unknown users: same work */
	/* The current signed full revocation list, re-signed on every change and at half max_age.
	 */
	uint8_t *revlist_full;
	size_t revlist_full_len;
	uint64_t revlist_version;
	int64_t revlist_issued_at;
	/* Failed logins of names that are not users (bounded table; same lockout as users). */
	struct vouch_people_unknown *unknown;
	size_t n_unknown;
};

/* Create the token keys that are missing (event site.keys), load them, sign the first list. */
int vouch_people_init(struct vouch_people *pp, struct vouch_store *store, struct vouch_p11 *p11,
                      const char *root_pem_path, const char *timezone, int credential_hours,
                      int session_minutes, int revlist_max_age_hours);
void vouch_people_clear(struct vouch_people *pp);

/* Re-sign the full list when the store's version moved or it is past half its max_age. */
int vouch_people_revlist_refresh(struct vouch_people *pp, int64_t now);

/* Revoke every unexpired, unrevoked credential of user (one revlist version for all; 0 revoked
 * is fine). Used when the user's roles, trainings or window changed. */
int vouch_people_revoke_credentials(struct vouch_people *pp, const char *user, const char *why,
                                    const char *actor, size_t *count);

/* A role or training changed: revoke the credentials of every user holding it. */
int vouch_people_role_changed(struct vouch_people *pp, const char *kind, const char *name,
                              const char *actor);

/* A policy document was loaded: every outstanding credential is out of date. */
int vouch_people_policy_loaded(struct vouch_people *pp, const char *actor);

/* Create the people keys missing from the token (vouchd init, and start of an older site). */
int vouch_people_keys_ensure(struct vouch_store *store, struct vouch_p11 *p11);

/* ---- shared by people.c and api_people.c ---- */

/* A credential object's fields ({"phone","token_hash","exp","status",...}). */
struct vouch_people_cred_row {
	char cti[2 * VOUCH_CRED_CTI_LEN + 1];
	char phone[VOUCH_STORE_ID_MAX + 1];
	uint8_t token_hash[VOUCH_TOKEN_HASH_LEN];
	int64_t exp;
	bool active;
};

int vouch_people_cred_row(const struct vouch_store_obj *obj, struct vouch_people_cred_row *row);

/* Set an object's "status" to "revoked" (with revoked_at and reason) through the store. */
int vouch_people_obj_mark_revoked(struct vouch_store *store, const char *kind,
                                  const struct vouch_store_obj *obj, int64_t now,
                                  const char *reason, const char *actor);

/* Objects of kind owned by owner (NULL: all), copied: the store's list callback may not write. */
int vouch_people_list_owned(struct vouch_store *store, const char *kind, const char *owner,
                            struct vouch_store_obj **items, size_t *count);
void vouch_people_objs_free(struct vouch_store_obj *items, size_t count);

/* Inside an open transaction: revoke a phone object, its certificate and its credentials; *rev
 * gets the revocation list entry (the caller adds it). */
int vouch_people_revoke_phone_tx(struct vouch_people *pp, const struct vouch_store_obj *phone,
                                 int64_t now, const char *reason, const char *actor,
                                 struct vouch_store_rev *rev, size_t *count);

/* Inside an open transaction: revoke the user's active credentials (of one phone when phone is
 * not NULL); their token hashes are appended to revs unless covered (a subject or phone entry
 * already covers them). */
int vouch_people_revoke_creds_tx(struct vouch_people *pp, const char *user, const char *phone,
                                 int64_t now, const char *reason, const char *actor,
                                 struct vouch_store_rev *revs, size_t cap, size_t *n_revs,
                                 bool covered, size_t *count);

/* Sign the list of entries with version > since that still matter at now (since 0: full). */
int vouch_people_revlist_sign(struct vouch_people *pp, uint64_t since, int64_t now, uint8_t **out,
                              size_t *out_len, uint64_t *version);

/* ---- api_people.c ---- */

/* Public routes (/keys, /revocations): true when r was one of them (and is answered). */
bool vouch_people_public_handle(struct vouch_req *r);

/* /api/v1/auth/..., /phones, /credentials (wallet side): true when answered. seg/n are the path
 * segments below /api/v1. */
bool vouch_people_wallet_handle(struct vouch_req *r, char **seg, size_t n);

/* The phone of a request made with mutual TLS: our certificate, unrevoked, of profile phone
 * (else it answers 403 and returns false). user is set to "" (the phone object names it). */
bool vouch_people_mtls_phone(struct vouch_req *r, char user[VOUCH_STORE_ID_MAX + 1],
                             char phone[VOUCH_STORE_ID_MAX + 1]);

/* api_devices.c: POST /api/v1/devices/commission (a phone, mutual TLS). */
bool vouch_devices_wallet_handle(struct vouch_req *r, char **seg, size_t n);

/* /api/v1/users..., /phones..., /credentials..., /policy/explain (admin side), after the caller
 * checked the admin. true when answered. */
bool vouch_people_admin_handle(struct vouch_req *r, char **seg, size_t n, const char *actor);

/* An admin session: the Bearer session of a user holding an admin role. On success actor is
 * "user:<name>". false (and nothing answered) when the request has no Bearer header. */
bool vouch_people_session_admin(struct vouch_req *r, char *actor, size_t cap, bool *answered);

#endif
