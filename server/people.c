/*
 * People's service state: the credential issuer and revocation-list signer keys (in the token),
 * the current signed revocation list, and the revocations that keep it up to date.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca.h"
#include "directory.h"
#include "people.h"
#include "vouch/log.h"
#include "vouch/revlist.h"

#define LIST_SLACK 512 /* bytes of a list beyond its entries */
#define ENTRY_MAX  (VOUCH_STORE_REV_VALUE_MAX + 24)

/* ---- keys ---- */

static int ensure_ec_key(struct vouch_p11 *p11, const char *label, uint8_t id, bool *made)
{
	struct vouch_p11_key_info info;
	int rc = vouch_p11_key_info(p11, label, &info);

	if (rc != VOUCH_ERR_P11_NOT_FOUND)
		return rc;
	rc = vouch_p11_key_generate(p11, VOUCH_KEY_P256, label, &id, 1);
	if (rc == VOUCH_OK)
		*made = true;
	return rc;
}

static int ensure_keys(struct vouch_people *pp)
{
	bool made = false;
	int rc = ensure_ec_key(pp->p11, VOUCH_PEOPLE_KEY_ISSUER, VOUCH_PEOPLE_KEY_ISSUER_ID, &made);

	if (rc == VOUCH_OK)
		rc = ensure_ec_key(pp->p11, VOUCH_PEOPLE_KEY_REVLIST, VOUCH_PEOPLE_KEY_REVLIST_ID,
		                   &made);
	if (rc == VOUCH_OK)
		rc = ensure_ec_key(pp->p11, VOUCH_PEOPLE_KEY_FIRMWARE, VOUCH_PEOPLE_KEY_FIRMWARE_ID,
		                   &made);
	if (rc == VOUCH_OK && !vouch_p11_object_exists(pp->p11, VOUCH_PEOPLE_KEY_TOTP)) {
		rc = vouch_p11_aes_generate(pp->p11, VOUCH_PEOPLE_KEY_TOTP);
		made = rc == VOUCH_OK || made;
	}
	if (rc == VOUCH_OK && made)
		rc = vouch_store_event_append(pp->store, "site.keys", "system",
		                              "{\"labels\":[\"" VOUCH_PEOPLE_KEY_ISSUER
		                              "\",\"" VOUCH_PEOPLE_KEY_REVLIST
		                              "\",\"" VOUCH_PEOPLE_KEY_FIRMWARE
		                              "\",\"" VOUCH_PEOPLE_KEY_TOTP "\"]}",
		                              NULL);
	return rc;
}

/* The site id: the first 8 bytes of the root certificate's SHA-256, as hex. */
static int site_id_of(const char *root_pem_path, char out[17])
{
	FILE *f = fopen(root_pem_path, "r");
	X509 *root;
	unsigned char *der = NULL;
	uint8_t h[VOUCH_SHA256_LEN];
	int len, rc = VOUCH_ERR_IO;

	if (f == NULL)
		return VOUCH_ERR_IO;
	root = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (root == NULL)
		return VOUCH_ERR_X509_MALFORMED;
	len = i2d_X509(root, &der);
	X509_free(root);
	if (len <= 0)
		return VOUCH_ERR_X509_MALFORMED;
	rc = vouch_sha256(der, (size_t)len, h);
	OPENSSL_free(der);
	if (rc != VOUCH_OK)
		return rc;
	for (size_t i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
	return VOUCH_OK;
}

int vouch_people_init(struct vouch_people *pp, struct vouch_store *store, struct vouch_p11 *p11,
                      const char *root_pem_path, const char *timezone, int credential_hours,
                      int session_minutes, int revlist_max_age_hours)
{
	char dummy[33];
	int rc = VOUCH_ERR_INTERNAL;

	memset(pp, 0, sizeof(*pp));
	vouch_key_init(&pp->issuer);
	vouch_key_init(&pp->issuer_pub);
	vouch_key_init(&pp->revlist);
	vouch_key_init(&pp->revlist_pub);
	vouch_key_init(&pp->firmware_pub);
	vouch_key_init(&pp->bundle_signer);
	if (store == NULL || p11 == NULL || root_pem_path == NULL || timezone == NULL ||
	    credential_hours <= 0 || session_minutes <= 0 || revlist_max_age_hours <= 0)
		return VOUCH_ERR_INVALID;
	pp->store = store;
	pp->p11 = p11;
	pp->credential_s = (int64_t)credential_hours * 3600;
	pp->session_s = (int64_t)session_minutes * 60;
	pp->revlist_max_age = (uint32_t)revlist_max_age_hours * 3600u;
	rc = vouch_tz_rule_of_zone(NULL, timezone, pp->tz_rule, sizeof(pp->tz_rule));
	if (rc != VOUCH_OK)
		goto out_fail;
	rc = site_id_of(root_pem_path, pp->site_id);
	if (rc != VOUCH_OK)
		goto out_fail;
	snprintf(pp->iss, sizeof(pp->iss), "vouch:%s", pp->site_id);
	rc = ensure_keys(pp);
	if (rc != VOUCH_OK)
		goto out_fail;
	rc = vouch_p11_key_load(p11, VOUCH_PEOPLE_KEY_ISSUER, &pp->issuer);
	if (rc == VOUCH_OK)
		rc = vouch_p11_key_load_public(p11, VOUCH_PEOPLE_KEY_ISSUER, &pp->issuer_pub);
	if (rc == VOUCH_OK)
		rc = vouch_p11_key_load(p11, VOUCH_PEOPLE_KEY_REVLIST, &pp->revlist);
	if (rc == VOUCH_OK)
		rc = vouch_p11_key_load_public(p11, VOUCH_PEOPLE_KEY_REVLIST, &pp->revlist_pub);
	if (rc == VOUCH_OK)
		rc = vouch_cose_key_thumbprint(&pp->issuer_pub, pp->issuer_kid);
	if (rc == VOUCH_OK)
		rc = vouch_cose_key_thumbprint(&pp->revlist_pub, pp->revlist_kid);
	if (rc == VOUCH_OK)
		rc = vouch_p11_key_load_public(p11, VOUCH_PEOPLE_KEY_FIRMWARE, &pp->firmware_pub);
	if (rc == VOUCH_OK)
		rc = vouch_cose_key_thumbprint(&pp->firmware_pub, pp->firmware_kid);
	if (rc == VOUCH_OK)
		rc = vouch_p11_key_load(p11, VOUCH_CA_KEY_ISSUING, &pp->bundle_signer);
	if (rc != VOUCH_OK)
		goto out_fail;
	/* Unknown users are checked against this hash of a random password: the same work. */
	rc = vouch_random(dummy, 24);
	if (rc != VOUCH_OK)
		goto out_fail;
	for (size_t i = 0; i < 24; i++)
		dummy[i] = (char)('a' + ((unsigned char)dummy[i] % 26));
	dummy[24] = '\0';
	rc = vouch_auth_password_hash(dummy, 24, pp->dummy_hash);
	vouch_wipe(dummy, sizeof(dummy));
	if (rc != VOUCH_OK)
		goto out_fail;
	rc = vouch_people_revlist_refresh(pp, (int64_t)time(NULL));
	if (rc != VOUCH_OK)
		goto out_fail;
	vouch_log(VOUCH_LOG_INFO, "people.ready", "site", pp->site_id, "timezone", timezone, "tz",
	          pp->tz_rule, NULL);
	return VOUCH_OK;
out_fail:
	vouch_log(VOUCH_LOG_ERROR, "people.init", "why", vouch_strerror(rc), NULL);
	vouch_people_clear(pp);
	return rc;
}

void vouch_people_clear(struct vouch_people *pp)
{
	if (pp == NULL)
		return;
	vouch_key_clear(&pp->issuer);
	vouch_key_clear(&pp->issuer_pub);
	vouch_key_clear(&pp->revlist);
	vouch_key_clear(&pp->revlist_pub);
	vouch_key_clear(&pp->firmware_pub);
	vouch_key_clear(&pp->bundle_signer);
	free(pp->revlist_full);
	free(pp->unknown);
	memset(pp, 0, sizeof(*pp));
}

/* ---- the revocation list ---- */

struct rev_acc {
	struct vouch_store_rev *items;
	size_t count;
	size_t cap;
};

static int collect_rev(const struct vouch_store_rev *rev, void *ctx)
{
	struct rev_acc *acc = ctx;

	if (acc->count == VOUCH_REVLIST_MAX_ENTRIES)
		return VOUCH_ERR_BUFFER;
	if (acc->count == acc->cap) {
		size_t cap = acc->cap ? acc->cap * 2 : 64;
		struct vouch_store_rev *items = realloc(acc->items, cap * sizeof(*items));

		if (items == NULL)
			return VOUCH_ERR_NOMEM;
		acc->items = items;
		acc->cap = cap;
	}
	acc->items[acc->count++] = *rev;
	return 0;
}

/* Sign the entries with version > since that still matter at now. */
int vouch_people_revlist_sign(struct vouch_people *pp, uint64_t since, int64_t now, uint8_t **out,
                              size_t *out_len, uint64_t *version)
{
	struct rev_acc acc = {0};
	struct vouch_revlist_entry *entries = NULL;
	struct vouch_revlist_params p;
	uint64_t v = 0;
	uint8_t *buf = NULL;
	size_t cap, len = 0;
	int rc;

	*out = NULL;
	*out_len = 0;
	rc = vouch_store_rev_version(pp->store, &v);
	if (rc != VOUCH_OK)
		return rc;
	if (since > v)
		since = 0; /* a holder ahead of the store: it gets the full list */
	rc = vouch_store_rev_list(pp->store, since, now, collect_rev, &acc);
	if (rc != VOUCH_OK)
		goto out_free;
	entries = calloc(acc.count ? acc.count : 1, sizeof(*entries));
	cap = LIST_SLACK + acc.count * ENTRY_MAX;
	buf = malloc(cap);
	if (entries == NULL || buf == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < acc.count; i++) {
		entries[i].kind = (enum vouch_revlist_kind)acc.items[i].kind;
		entries[i].value = acc.items[i].value;
		entries[i].value_len = acc.items[i].value_len;
		entries[i].revoked_at = acc.items[i].revoked_at;
	}
	memset(&p, 0, sizeof(p));
	p.iss = pp->iss;
	p.aud = pp->site_id;
	p.version = v;
	p.since = since;
	p.issued_at = now;
	p.max_age = pp->revlist_max_age;
	p.entries = entries;
	p.n_entries = acc.count;
	rc = vouch_revlist_sign(&p, &pp->revlist, buf, cap, &len);
	if (rc != VOUCH_OK)
		goto out_free;
	*out = buf;
	*out_len = len;
	*version = v;
	buf = NULL;
out_free:
	free(buf);
	free(entries);
	free(acc.items);
	return rc;
}

int vouch_people_revlist_refresh(struct vouch_people *pp, int64_t now)
{
	uint64_t v = 0;
	uint8_t *list = NULL;
	size_t len = 0;
	int rc = vouch_store_rev_version(pp->store, &v);

	if (rc != VOUCH_OK)
		return rc;
	if (pp->revlist_full != NULL && v == pp->revlist_version &&
	    now - pp->revlist_issued_at < (int64_t)pp->revlist_max_age / 2)
		return VOUCH_OK;
	rc = vouch_people_revlist_sign(pp, 0, now, &list, &len, &v);
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "revlist.sign", "why", vouch_strerror(rc), NULL);
		return rc;
	}
	free(pp->revlist_full);
	pp->revlist_full = list;
	pp->revlist_full_len = len;
	pp->revlist_version = v;
	pp->revlist_issued_at = now;
	return VOUCH_OK;
}

/* ---- revoking ---- */

static bool hex_decode(const char *hex, uint8_t *out, size_t len)
{
	if (hex == NULL || strlen(hex) != 2 * len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

int vouch_people_cred_row(const struct vouch_store_obj *obj, struct vouch_people_cred_row *row)
{
	json_t *j = json_loadb(obj->json, obj->json_len, 0, NULL);
	const char *phone = NULL, *th = NULL, *status = NULL;
	json_int_t exp = 0;
	int rc = VOUCH_ERR_STORE_CORRUPT;

	memset(row, 0, sizeof(*row));
	if (j == NULL)
		return rc;
	if (json_unpack(j, "{s:s, s:s, s:I, s:s}", "phone", &phone, "token_hash", &th, "exp", &exp,
	                "status", &status) == 0 &&
	    hex_decode(th, row->token_hash, sizeof(row->token_hash)) &&
	    strlen(obj->name) < sizeof(row->cti)) {
		memcpy(row->cti, obj->name, strlen(obj->name) + 1);
		snprintf(row->phone, sizeof(row->phone), "%s", phone);
		row->exp = exp;
		row->active = strcmp(status, "active") == 0;
		rc = VOUCH_OK;
	}
	json_decref(j);
	return rc;
}

/* Set an object's "status" to "revoked" (with revoked_at and reason) through the store. */
int vouch_people_obj_mark_revoked(struct vouch_store *store, const char *kind,
                                  const struct vouch_store_obj *obj, int64_t now,
                                  const char *reason, const char *actor)
{
	json_t *j = json_loadb(obj->json, obj->json_len, 0, NULL);
	char iso[VOUCH_STORE_TIME_LEN];
	char *text;
	int rc = VOUCH_ERR_STORE_CORRUPT;

	if (j == NULL || !json_is_object(j))
		goto out_free;
	vouch_store_time_iso(now, iso);
	json_object_set_new(j, "status", json_string("revoked"));
	json_object_set_new(j, "revoked_at", json_string(iso));
	if (reason != NULL)
		json_object_set_new(j, "reason", json_string(reason));
	text = json_dumps(j, JSON_COMPACT);
	if (text == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free;
	}
	rc = vouch_store_obj_put(store, kind, obj->name, obj->owner, text, obj->version, now, actor,
	                         NULL);
	free(text);
out_free:
	json_decref(j);
	return rc;
}

struct obj_acc {
	struct vouch_store_obj *items;
	size_t count;
	size_t cap;
};

static int collect_obj(const struct vouch_store_obj *obj, void *ctx)
{
	struct obj_acc *acc = ctx;
	struct vouch_store_obj *o;

	if (acc->count == acc->cap) {
		size_t cap = acc->cap ? acc->cap * 2 : 16;
		struct vouch_store_obj *items = realloc(acc->items, cap * sizeof(*items));

		if (items == NULL)
			return VOUCH_ERR_NOMEM;
		acc->items = items;
		acc->cap = cap;
	}
	o = &acc->items[acc->count];
	*o = *obj;
	o->json = malloc(obj->json_len + 1);
	if (o->json == NULL)
		return VOUCH_ERR_NOMEM;
	memcpy(o->json, obj->json, obj->json_len);
	o->json[obj->json_len] = '\0';
	acc->count++;
	return 0;
}

static void obj_acc_free(struct obj_acc *acc)
{
	for (size_t i = 0; i < acc->count; i++)
		free(acc->items[i].json);
	free(acc->items);
	memset(acc, 0, sizeof(*acc));
}

/* Objects of kind owned by owner, copied (the list callback may not write the store). */
int vouch_people_list_owned(struct vouch_store *store, const char *kind, const char *owner,
                            struct vouch_store_obj **items, size_t *count)
{
	struct obj_acc acc = {0};
	int rc = vouch_store_obj_list(store, kind, owner, collect_obj, &acc);

	*items = NULL;
	*count = 0;
	if (rc != VOUCH_OK) {
		obj_acc_free(&acc);
		return rc;
	}
	*items = acc.items;
	*count = acc.count;
	return VOUCH_OK;
}

void vouch_people_objs_free(struct vouch_store_obj *items, size_t count)
{
	struct obj_acc acc = {items, count, count};

	obj_acc_free(&acc);
}

/*
 * Inside an open transaction: mark the user's active credentials (only those bound to phone when
 * phone is not NULL) revoked and append their token hashes to revs. With subject_covers the
 * entries are not needed (a subject or phone entry covers them) and only the objects change.
 */
int vouch_people_revoke_creds_tx(struct vouch_people *pp, const char *user, const char *phone,
                                 int64_t now, const char *reason, const char *actor,
                                 struct vouch_store_rev *revs, size_t cap, size_t *n_revs,
                                 bool covered, size_t *count)
{
	struct vouch_store_obj *items = NULL;
	size_t n = 0;
	int rc = vouch_people_list_owned(pp->store, "credential", user, &items, &n);

	for (size_t i = 0; rc == VOUCH_OK && i < n; i++) {
		struct vouch_people_cred_row row;

		rc = vouch_people_cred_row(&items[i], &row);
		if (rc != VOUCH_OK)
			break;
		if (!row.active || row.exp <= now ||
		    (phone != NULL && strcmp(row.phone, phone) != 0))
			continue;
		rc = vouch_people_obj_mark_revoked(pp->store, "credential", &items[i], now, reason,
		                                   actor);
		if (rc != VOUCH_OK)
			break;
		(*count)++;
		if (covered)
			continue;
		if (*n_revs == cap) {
			rc = VOUCH_ERR_BUFFER;
			break;
		}
		memset(&revs[*n_revs], 0, sizeof(revs[0]));
		revs[*n_revs].kind = 1;
		memcpy(revs[*n_revs].value, row.token_hash, VOUCH_TOKEN_HASH_LEN);
		revs[*n_revs].value_len = VOUCH_TOKEN_HASH_LEN;
		revs[*n_revs].revoked_at = now;
		revs[*n_revs].keep_until = row.exp;
		(*n_revs)++;
	}
	vouch_people_objs_free(items, n);
	return rc;
}

/* Credentials are short-lived, and a user has few phones: this bounds one revocation's entries. */
#define REVS_MAX 4096

int vouch_people_revoke_credentials(struct vouch_people *pp, const char *user, const char *why,
                                    const char *actor, size_t *count)
{
	struct vouch_store_rev *revs = calloc(REVS_MAX, sizeof(*revs));
	int64_t now = (int64_t)time(NULL);
	size_t n_revs = 0, n = 0;
	uint64_t version = 0;
	int rc;

	if (count != NULL)
		*count = 0;
	if (revs == NULL)
		return VOUCH_ERR_NOMEM;
	rc = vouch_store_tx_begin(pp->store);
	if (rc != VOUCH_OK)
		goto out_free;
	rc = vouch_people_revoke_creds_tx(pp, user, NULL, now, why, actor, revs, REVS_MAX, &n_revs,
	                                  false, &n);
	if (rc == VOUCH_OK && n_revs > 0)
		rc = vouch_store_rev_add(pp->store, revs, n_revs, actor, &version);
	if (rc == VOUCH_OK)
		rc = vouch_store_tx_commit(pp->store);
	else
		vouch_store_tx_rollback(pp->store);
	if (rc == VOUCH_OK) {
		if (count != NULL)
			*count = n;
		vouch_people_revlist_refresh(pp, now);
	}
out_free:
	free(revs);
	return rc;
}

struct users_acc {
	char (*names)[VOUCH_STORE_ID_MAX + 1];
	size_t count;
	size_t cap;
};

static int collect_user(const char *user, void *ctx)
{
	struct users_acc *acc = ctx;

	if (acc->count == acc->cap) {
		size_t cap = acc->cap ? acc->cap * 2 : 16;
		char(*names)[VOUCH_STORE_ID_MAX + 1] = realloc(acc->names, cap * sizeof(*names));

		if (names == NULL)
			return VOUCH_ERR_NOMEM;
		acc->names = names;
		acc->cap = cap;
	}
	snprintf(acc->names[acc->count++], VOUCH_STORE_ID_MAX + 1, "%s", user);
	return 0;
}

struct training_users {
	const char *training;
	struct users_acc *acc;
};

static int collect_trained(const struct vouch_store_obj *obj, void *ctx)
{
	struct training_users *tu = ctx;
	json_t *j = json_loadb(obj->json, obj->json_len, 0, NULL);
	json_t *tr = j != NULL ? json_object_get(j, "trainings") : NULL;
	int rc = 0;

	if (tr != NULL && json_object_get(tr, tu->training) != NULL)
		rc = collect_user(obj->name, tu->acc);
	json_decref(j);
	return rc;
}

int vouch_people_role_changed(struct vouch_people *pp, const char *kind, const char *name,
                              const char *actor)
{
	struct users_acc acc = {0};
	size_t total = 0;
	char why[96];
	int rc;

	if (strcmp(kind, "role") == 0) {
		rc = vouch_dir_users_with_role(pp->store, name, collect_user, &acc);
	} else {
		struct training_users tu = {name, &acc};

		rc = vouch_store_obj_list(pp->store, "user", NULL, collect_trained, &tu);
	}
	snprintf(why, sizeof(why), "%s %s changed", kind, name);
	for (size_t i = 0; rc == VOUCH_OK && i < acc.count; i++) {
		size_t n = 0;

		rc = vouch_people_revoke_credentials(pp, acc.names[i], why, actor, &n);
		total += n;
	}
	if (total > 0) {
		char n_s[24];

		snprintf(n_s, sizeof(n_s), "%zu", total);
		vouch_log(VOUCH_LOG_INFO, "credential.revoke.cascade", "kind", kind, "name", name,
		          "credentials", n_s, NULL);
	}
	free(acc.names);
	return rc;
}

/* Inside an open transaction: the revocation list entries and object changes of revoking a
 * phone (its certificate is revoked by the caller, through the store's certificate functions). */
int vouch_people_revoke_phone_tx(struct vouch_people *pp, const struct vouch_store_obj *phone,
                                 int64_t now, const char *reason, const char *actor,
                                 struct vouch_store_rev *rev, size_t *count)
{
	json_t *j = json_loadb(phone->json, phone->json_len, 0, NULL);
	const char *tp = NULL;
	size_t n_revs = 0;
	size_t dev_count = 0;
	int rc = VOUCH_ERR_STORE_CORRUPT;

	memset(rev, 0, sizeof(*rev));
	if (j == NULL || json_unpack(j, "{s:s}", "thumbprint", &tp) != 0 ||
	    !hex_decode(tp, rev->value, VOUCH_THUMBPRINT_LEN))
		goto out_free;
	rev->kind = 3;
	rev->value_len = VOUCH_THUMBPRINT_LEN;
	rev->revoked_at = now;
	rev->keep_until = now + pp->credential_s + 300;
	rc = vouch_people_obj_mark_revoked(pp->store, "phone", phone, now, reason, actor);
	if (rc == VOUCH_OK)
		rc = vouch_people_revoke_creds_tx(pp, phone->owner, phone->name, now, reason, actor,
		                                  NULL, 0, &n_revs, true, count);
	if (rc == VOUCH_OK)
		rc = vouch_store_device_revoke(pp->store, phone->name, "privilegeWithdrawn", now,
		                               actor, &dev_count);
out_free:
	json_decref(j);
	return rc;
}

static int collect_user_obj(const struct vouch_store_obj *obj, void *ctx)
{
	return collect_user(obj->name, ctx);
}

int vouch_people_policy_loaded(struct vouch_people *pp, const char *actor)
{
	struct users_acc acc = {0};
	int rc = vouch_store_obj_list(pp->store, "user", NULL, collect_user_obj, &acc);

	for (size_t i = 0; rc == VOUCH_OK && i < acc.count; i++)
		rc =
		    vouch_people_revoke_credentials(pp, acc.names[i], "policy loaded", actor, NULL);
	free(acc.names);
	return rc;
}

int vouch_people_keys_ensure(struct vouch_store *store, struct vouch_p11 *p11)
{
	struct vouch_people tmp;

	memset(&tmp, 0, sizeof(tmp));
	tmp.store = store;
	tmp.p11 = p11;
	return ensure_keys(&tmp);
}
