/*
 * The people API (docs/people.md): login, phones, credentials, the revocation list, users, and
 * policy explanations.
 */
#define _DEFAULT_SOURCE /* timegm */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "directory.h"
#include "handlers.h"
#include "vouch/cose.h"
#include "vouch/log.h"
#include "vouch/policy.h"
#include "vouch/revlist.h"

#define UNKNOWN_MAX  1024 /* names that are not users, remembered for lockout */
#define REVS_MAX     256  /* entries of one person's revocation */
#define COSE_KEY_MAX 160
#define CSR_B64_MAX  (2 * VOUCH_CA_CSR_MAX)
#define EXPLAIN_MAX  1024
#define READINGS_MAX VOUCH_POLICY_MAX_READINGS
#define TAGS_MAX     VOUCH_POLICY_MAX_TAGS

struct vouch_people_unknown {
	char name[VOUCH_STORE_ID_MAX + 1];
	uint32_t failures;
	int64_t locked_until;
	int64_t last;
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

void vouch_api_hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

bool vouch_api_b64_text(const uint8_t *der, size_t len, char **out)
{
	*out = NULL;
	if (len > INT_MAX / 2)
		return false;
	*out = malloc(4 * ((len + 2) / 3) + 1);
	if (*out == NULL)
		return false;
	EVP_EncodeBlock((unsigned char *)*out, der, (int)len);
	return true;
}

/* ---- public: /keys, /revocations ---- */

static json_t *key_json(const struct vouch_key *pub, const uint8_t kid[VOUCH_THUMBPRINT_LEN])
{
	EVP_PKEY *pk = vouch_p11_key_evp(pub);
	uint8_t cose[COSE_KEY_MAX];
	size_t cose_len = 0;
	char kid_hex[2 * VOUCH_THUMBPRINT_LEN + 1];
	char *cose_b64 = NULL, *pem = NULL;
	BIO *bio = NULL;
	long pem_len;
	json_t *obj = NULL;

	struct vouch_cbor_writer w;

	if (pk == NULL)
		goto out_free;
	vouch_cbor_writer_init(&w, cose, sizeof(cose));
	vouch_cose_key_write_public(&w, pub, kid, VOUCH_THUMBPRINT_LEN, VOUCH_COSE_ALG_ES256);
	if (vouch_cbor_writer_finish(&w, &cose_len) != VOUCH_OK ||
	    !vouch_api_b64_text(cose, cose_len, &cose_b64))
		goto out_free;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_PUBKEY(bio, pk) != 1 || BIO_write(bio, "", 1) != 1)
		goto out_free;
	pem_len = BIO_get_mem_data(bio, &pem);
	if (pem_len <= 0)
		goto out_free;
	vouch_api_hex(kid, VOUCH_THUMBPRINT_LEN, kid_hex);
	obj = json_pack("{s:s, s:s, s:s, s:s}", "kid", kid_hex, "pem", pem, "cose_key", cose_b64,
	                "alg", "ES256");
out_free:
	BIO_free(bio);
	free(cose_b64);
	return obj;
}

static void reply_keys(struct vouch_req *r)
{
	struct vouch_people *pp = &r->svc->people;
	json_t *issuer = key_json(&pp->issuer_pub, pp->issuer_kid);
	json_t *revlist = key_json(&pp->revlist_pub, pp->revlist_kid);
	json_t *firmware = key_json(&pp->firmware_pub, pp->firmware_kid);

	if (issuer == NULL || revlist == NULL || firmware == NULL) {
		json_decref(issuer);
		json_decref(revlist);
		json_decref(firmware);
		vouch_req_api_error(r, 500, "internal", "cannot encode the keys");
		return;
	}
	vouch_req_reply_json(r, 200,
	                     json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "site", pp->site_id, "iss",
	                               pp->iss, "timezone", pp->tz_rule, "issuer", issuer,
	                               "revlist", revlist, "firmware", firmware));
}

static void reply_revocations(struct vouch_req *r)
{
	struct vouch_people *pp = &r->svc->people;
	const char *since_s = vouch_req_query(r, "since");
	int64_t since = 0, now = now_s();
	uint8_t *list = NULL;
	size_t len = 0;
	uint64_t version = 0;
	char v_s[24];
	int rc;

	if (since_s != NULL && !vouch_api_parse_i64(since_s, 0, INT64_MAX, &since)) {
		vouch_req_api_error(r, 400, "bad_request", "since must be a version number");
		return;
	}
	if (since == 0) {
		rc = vouch_people_revlist_refresh(pp, now);
		if (rc != VOUCH_OK) {
			vouch_req_api_error(r, 500, "internal", vouch_strerror(rc));
			return;
		}
		snprintf(v_s, sizeof(v_s), "%llu", (unsigned long long)pp->revlist_version);
		vouch_req_note(r, "version", v_s);
		vouch_req_reply(r, 200, "application/cbor", pp->revlist_full, pp->revlist_full_len,
		                NULL);
		return;
	}
	rc = vouch_people_revlist_sign(pp, (uint64_t)since, now, &list, &len, &version);
	if (rc != VOUCH_OK) {
		vouch_req_api_error(r, 500, "internal", vouch_strerror(rc));
		return;
	}
	snprintf(v_s, sizeof(v_s), "%llu", (unsigned long long)version);
	vouch_req_note(r, "version", v_s);
	vouch_req_reply(r, 200, "application/cbor", list, len, NULL);
	free(list);
}

bool vouch_people_public_handle(struct vouch_req *r)
{
	if (!r->svc->people_ready)
		return false;
	if (strcmp(r->path, "/keys") == 0) {
		if (vouch_api_method_is(r, EVHTTP_REQ_GET))
			reply_keys(r);
		return true;
	}
	if (strcmp(r->path, "/revocations") == 0) {
		if (vouch_api_method_is(r, EVHTTP_REQ_GET))
			reply_revocations(r);
		return true;
	}
	return false;
}

/* ---- sessions ---- */

/* The Bearer token's session; answers 401 itself when it is missing, malformed or over. */
static bool session_user(struct vouch_req *r, char user[VOUCH_STORE_ID_MAX + 1])
{
	const char *h = vouch_req_get_header(r, "Authorization");
	uint8_t hash[VOUCH_SHA256_LEN];
	struct vouch_store_session s;
	size_t n;

	user[0] = '\0';
	if (h == NULL || strncmp(h, "Bearer ", 7) != 0) {
		vouch_req_header(r, "WWW-Authenticate", "Bearer");
		vouch_req_api_error(r, 401, "unauthorized", "log in first (Bearer session)");
		return false;
	}
	h += 7;
	n = strlen(h);
	if (n == 0 || n >= VOUCH_AUTH_SESSION_TEXT || vouch_sha256(h, n, hash) != VOUCH_OK ||
	    vouch_store_session_get(r->svc->store, hash, now_s(), &s) != VOUCH_OK) {
		vouch_req_header(r, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		vouch_req_api_error(r, 401, "unauthorized", "session unknown or expired");
		return false;
	}
	snprintf(user, VOUCH_STORE_ID_MAX + 1, "%s", s.user);
	vouch_req_note(r, "user", user);
	return true;
}

/* The user object, parsed; NULL (and answered) when absent or unreadable. */
static json_t *user_object(struct vouch_req *r, const char *name, int64_t *version)
{
	struct vouch_store_obj obj;
	json_t *j;
	int rc = vouch_store_obj_get(r->svc->store, "user", name, &obj);

	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "user");
		return NULL;
	}
	j = json_loadb(obj.json, obj.json_len, 0, NULL);
	if (version != NULL)
		*version = obj.version;
	vouch_store_obj_clear(&obj);
	if (j == NULL)
		vouch_req_api_error(r, 500, "internal", "user record unreadable");
	return j;
}

static bool user_active(json_t *u)
{
	const char *status = json_string_value(json_object_get(u, "status"));

	return status == NULL || strcmp(status, "active") == 0;
}

/* An external's window [from, until) at now; staff always true. *until gets the hard end. */
static bool user_in_window(json_t *u, int64_t now, int64_t *until)
{
	json_t *ext = json_object_get(u, "external");
	int64_t from = 0, to = 0;

	*until = 0;
	if (ext == NULL)
		return true;
	if (vouch_dir_parse_time(json_string_value(json_object_get(ext, "valid_from")), &from) !=
	        VOUCH_OK ||
	    vouch_dir_parse_time(json_string_value(json_object_get(ext, "valid_until")), &to) !=
	        VOUCH_OK)
		return false;
	*until = to;
	return now >= from && now < to;
}

/* ---- login ---- */

static struct vouch_people_unknown *unknown_slot(struct vouch_people *pp, const char *name,
                                                 int64_t now)
{
	struct vouch_people_unknown *oldest = NULL;

	if (pp->unknown == NULL) {
		pp->unknown = calloc(UNKNOWN_MAX, sizeof(*pp->unknown));
		if (pp->unknown == NULL)
			return NULL;
	}
	for (size_t i = 0; i < pp->n_unknown; i++) {
		if (strcmp(pp->unknown[i].name, name) == 0)
			return &pp->unknown[i];
		if (oldest == NULL || pp->unknown[i].last < oldest->last)
			oldest = &pp->unknown[i];
	}
	if (pp->n_unknown < UNKNOWN_MAX)
		oldest = &pp->unknown[pp->n_unknown++];
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->name, sizeof(oldest->name), "%s", name);
	oldest->last = now;
	return oldest;
}

static void event_auth(struct vouch_store *store, const char *type, const char *user,
                       const char *why, const char *remote, int64_t until)
{
	char iso[VOUCH_STORE_TIME_LEN];
	json_t *f = json_pack("{s:s, s:s}", "user", user, "remote", remote);
	char *text;

	if (f == NULL)
		return;
	if (why != NULL)
		json_object_set_new(f, "why", json_string(why));
	if (until > 0) {
		vouch_store_time_iso(until, iso);
		json_object_set_new(f, "until", json_string(iso));
	}
	text = json_dumps(f, JSON_COMPACT);
	if (text == NULL || vouch_store_event_append(store, type, "system", text, NULL) != VOUCH_OK)
		vouch_log(VOUCH_LOG_ERROR, "auth.event", "type", type, "user", user, NULL);
	free(text);
	json_decref(f);
}

static void reply_locked(struct vouch_req *r, int64_t until, int64_t now)
{
	char s[24];

	snprintf(s, sizeof(s), "%lld", (long long)(until > now ? until - now : 1));
	vouch_req_header(r, "Retry-After", s);
	vouch_req_api_error(r, 429, "locked", "too many failed attempts: try again later");
}

static void reply_auth_failed(struct vouch_req *r)
{
	vouch_req_api_error(r, 401, "auth_failed", "user, password or code wrong");
}

/* A fresh session for user: the token goes to the client, its hash to the store. */
static int session_new(struct vouch_people *pp, const char *user, int64_t now,
                       char token[VOUCH_AUTH_SESSION_TEXT], int64_t *expires)
{
	uint8_t raw[VOUCH_AUTH_SESSION_BYTES];
	struct vouch_store_session s;
	int rc = vouch_random(raw, sizeof(raw));

	token[0] = '\0';
	if (rc != VOUCH_OK)
		return rc;
	EVP_EncodeBlock((unsigned char *)token, raw, 30); /* 40 characters, no padding */
	vouch_wipe(raw, sizeof(raw));
	for (char *p = token; *p != '\0'; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	memset(&s, 0, sizeof(s));
	rc = vouch_sha256(token, strlen(token), s.hash);
	if (rc != VOUCH_OK)
		return rc;
	snprintf(s.user, sizeof(s.user), "%s", user);
	s.created_at = now;
	s.expires_at = now + pp->session_s;
	*expires = s.expires_at;
	return vouch_store_session_put(pp->store, &s);
}

/* Whether the compiled permissions of user grant the admin API. */
static bool user_is_admin(struct vouch_people *pp, const char *user, int64_t now)
{
	struct vouch_dir_compiled c;
	char err[VOUCH_DIR_ERR_MAX];
	bool admin = false;

	memset(&c, 0, sizeof(c));
	if (vouch_dir_compile_user(pp->store, user, pp->tz_rule, now, &c, err) == VOUCH_OK)
		admin = c.admin;
	vouch_dir_compiled_clear(&c);
	return admin;
}

static void api_login(struct vouch_req *r)
{
	struct vouch_people *pp = &r->svc->people;
	struct vouch_store *store = r->svc->store;
	const char *user = NULL, *password = NULL, *code = NULL;
	struct vouch_store_auth a;
	char token[VOUCH_AUTH_SESSION_TEXT], iso[VOUCH_STORE_TIME_LEN];
	int64_t now = now_s(), step = 0, expires = 0, until = 0;
	bool known, replay = false, pw_ok, code_ok, window_ok = true;
	json_t *body, *u = NULL;
	const char *why = NULL;
	size_t pw_len;
	int rc;

	memset(&a, 0, sizeof(a));
	if (!vouch_api_method_is(r, EVHTTP_REQ_POST))
		return;
	body = vouch_api_body_object(r, false);
	if (body == NULL)
		return;
	if (!vouch_api_member_string(r, body, "user", NULL, &user) ||
	    !vouch_api_member_string(r, body, "password", NULL, &password) ||
	    !vouch_api_member_string(r, body, "totp", NULL, &code))
		goto out_body;
	if (user == NULL || password == NULL || code == NULL) {
		vouch_req_api_error(r, 400, "bad_request", "user, password and totp are required");
		goto out_body;
	}
	pw_len = strlen(password);
	known = vouch_api_id_ok(user) && vouch_store_auth_get(store, user, &a) == VOUCH_OK;
	if (!known) {
		/* The same lockout and the same work as for a user: nothing tells them apart. */
		struct vouch_people_unknown *slot =
		    vouch_api_id_ok(user) ? unknown_slot(pp, user, now) : NULL;

		if (slot != NULL && slot->locked_until > now) {
			event_auth(store, "auth.fail", user, "locked", r->remote, 0);
			reply_locked(r, slot->locked_until, now);
			goto out_body;
		}
		vouch_auth_password_verify(pp->dummy_hash, password, pw_len);
		snprintf(a.user, sizeof(a.user), "%s", vouch_api_id_ok(user) ? user : "-");
		vouch_auth_totp_check(pp->p11, &a, code, now, &step, &replay);
		if (slot != NULL) {
			slot->failures++;
			slot->last = now;
			slot->locked_until = now + vouch_auth_lock_seconds(slot->failures);
		}
		event_auth(store, "auth.fail", vouch_api_id_ok(user) ? user : "-", "unknown",
		           r->remote, 0);
		reply_auth_failed(r);
		goto out_body;
	}
	vouch_req_note(r, "user", user);
	if (a.locked_until > now) {
		event_auth(store, "auth.fail", user, "locked", r->remote, 0);
		reply_locked(r, a.locked_until, now);
		goto out_body;
	}
	/* Both factors are always checked, so the time taken does not say which one failed. */
	pw_ok = vouch_auth_password_verify(a.pw_hash, password, pw_len) == VOUCH_OK;
	code_ok = vouch_auth_totp_check(pp->p11, &a, code, now, &step, &replay) == VOUCH_OK;
	u = user_object(r, user, NULL);
	if (u == NULL)
		goto out_body;
	if (!user_active(u))
		why = "revoked";
	else if (!(window_ok = user_in_window(u, now, &until)))
		why = "window";
	else if (!pw_ok)
		why = "password";
	else if (!code_ok)
		why = replay ? "replay" : "totp";
	if (why != NULL) {
		a.failures++;
		a.locked_until = now + vouch_auth_lock_seconds(a.failures);
		rc = vouch_store_auth_put(store, &a);
		event_auth(store, "auth.fail", user, why, r->remote, 0);
		if (a.locked_until > now)
			event_auth(store, "auth.lock", user, NULL, r->remote, a.locked_until);
		if (rc != VOUCH_OK)
			vouch_api_store_error(r, rc, "user");
		else
			reply_auth_failed(r);
		goto out_body;
	}
	a.failures = 0;
	a.locked_until = 0;
	a.totp_last_step = step;
	a.last_login = now;
	rc = vouch_store_auth_put(store, &a);
	if (rc == VOUCH_OK)
		rc = session_new(pp, user, now, token, &expires);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "session");
		goto out_body;
	}
	event_auth(store, "auth.login", user, NULL, r->remote, 0);
	vouch_store_time_iso(expires, iso);
	vouch_req_reply_json(r, 200,
	                     json_pack("{s:s, s:s, s:s, s:b}", "session", token, "expires", iso,
	                               "user", user, "admin", user_is_admin(pp, user, now)));
	vouch_wipe(token, sizeof(token));
out_body:
	vouch_wipe(&a, sizeof(a));
	json_decref(u);
	json_decref(body); /* jansson wipes what it frees in vouchd (the password) */
}

static void api_logout(struct vouch_req *r)
{
	char user[VOUCH_STORE_ID_MAX + 1];
	size_t n = 0;

	if (!vouch_api_method_is(r, EVHTTP_REQ_POST) || !session_user(r, user))
		return;
	if (vouch_store_session_delete_user(r->svc->store, user, &n) != VOUCH_OK) {
		vouch_req_api_error(r, 500, "internal", "cannot end the session");
		return;
	}
	vouch_req_reply_json(
	    r, 200, json_pack("{s:s, s:I}", "user", user, "sessions_ended", (json_int_t)n));
}

/* ---- phones ---- */

static int phone_id(const char *user, char out[VOUCH_STORE_ID_MAX + 1])
{
	uint8_t rnd[4];
	int rc = vouch_random(rnd, sizeof(rnd));

	if (rc != VOUCH_OK)
		return rc;
	if (strlen(user) > VOUCH_STORE_ID_MAX - 9)
		return VOUCH_ERR_INVALID;
	snprintf(out, VOUCH_STORE_ID_MAX + 1, "%s.%02x%02x%02x%02x", user, rnd[0], rnd[1], rnd[2],
	         rnd[3]);
	return VOUCH_OK;
}

/* Public key (as a port handle), its SPKI (base64) and thumbprint, from a certificate. */
static int cert_key(X509 *cert, struct vouch_key *key, char **spki_b64,
                    uint8_t tp[VOUCH_THUMBPRINT_LEN])
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
	int rc = VOUCH_ERR_X509_MALFORMED;

	*spki_b64 = NULL;
	if (len <= 0)
		return rc;
	rc = vouch_key_import_spki(key, der, (size_t)len);
	if (rc == VOUCH_OK && key->type != VOUCH_KEY_P256)
		rc = VOUCH_ERR_X509_KEY_POLICY;
	if (rc == VOUCH_OK)
		rc = vouch_cose_key_thumbprint(key, tp);
	if (rc == VOUCH_OK && !vouch_api_b64_text(der, (size_t)len, spki_b64))
		rc = VOUCH_ERR_NOMEM;
	OPENSSL_free(der);
	return rc;
}

static void api_phone_register(struct vouch_req *r)
{
	struct vouch_service *svc = r->svc;
	char user[VOUCH_STORE_ID_MAX + 1], id[VOUCH_STORE_ID_MAX + 1], actor[VOUCH_STORE_ACTOR_MAX];
	char tp_hex[2 * VOUCH_THUMBPRINT_LEN + 1], iso[VOUCH_STORE_TIME_LEN];
	uint8_t tp[VOUCH_THUMBPRINT_LEN];
	struct vouch_ca_subject subj = {0};
	struct vouch_ca_issued is;
	struct vouch_store_cert rec;
	struct vouch_key key;
	X509 *full = NULL;
	const char *csr_b64 = NULL;
	char *spki = NULL, *pem = NULL, *chain = NULL, *text = NULL;
	size_t pem_len = 0, chain_len = 0;
	uint8_t *csr = NULL;
	size_t csr_len = 0;
	json_t *body = NULL, *u = NULL, *obj = NULL;
	int64_t now = now_s(), until = 0;
	int rc = VOUCH_ERR_INTERNAL;

	vouch_ca_issued_init(&is);
	vouch_key_init(&key);
	if (!vouch_api_method_is(r, EVHTTP_REQ_POST) || !session_user(r, user))
		return;
	body = vouch_api_body_object(r, false);
	if (body == NULL || !vouch_api_member_string(r, body, "csr", NULL, &csr_b64))
		goto out_free;
	if (csr_b64 == NULL || strlen(csr_b64) > CSR_B64_MAX ||
	    vouch_ca_base64_decode(csr_b64, strlen(csr_b64), VOUCH_CA_CSR_MAX, &csr, &csr_len) !=
	        VOUCH_OK) {
		vouch_req_api_error(r, 400, "bad_csr",
		                    "\"csr\" must be a base64 DER PKCS#10 request");
		goto out_free;
	}
	u = user_object(r, user, NULL);
	if (u == NULL)
		goto out_free;
	if (!user_active(u) || !user_in_window(u, now, &until)) {
		vouch_req_api_error(r, 403, "forbidden", "the user may not register a phone now");
		goto out_free;
	}
	rc = phone_id(user, id);
	if (rc != VOUCH_OK) {
		vouch_req_api_error(r, 400, "bad_request", "user name too long for a phone id");
		goto out_free;
	}
	subj.profile = VOUCH_CA_PROFILE_PHONE;
	subj.id = id;
	snprintf(actor, sizeof(actor), "user:%s", user);
	rc = vouch_ca_issue_csr(svc->ca, csr, csr_len, &subj, &is);
	if (rc != VOUCH_OK) {
		vouch_req_api_error(r, 400, "bad_csr", vouch_strerror(rc));
		goto out_free;
	}
	/* is.cert is the signing form (no key object attached): decode the DER for the key. */
	rc = vouch_ca_issued_decode(&is, &full);
	if (rc == VOUCH_OK)
		rc = cert_key(full, &key, &spki, tp);
	if (rc != VOUCH_OK) {
		vouch_req_api_error(r, 400, "bad_key", vouch_strerror(rc));
		goto out_free;
	}
	vouch_api_hex(tp, sizeof(tp), tp_hex);
	vouch_store_time_iso(now, iso);
	rc = vouch_service_issued_record(&is, &subj, "api", &rec);
	obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "user", user, "thumbprint", tp_hex,
	                "public_key", spki, "serial", rec.serial, "status", "active", "registered",
	                iso);
	text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
	if (rc != VOUCH_OK || text == NULL) {
		vouch_req_api_error(r, 500, "internal", "cannot record the phone");
		goto out_free;
	}
	rc = vouch_store_tx_begin(svc->store);
	if (rc == VOUCH_OK) {
		rc = vouch_store_cert_insert(svc->store, &rec, actor);
		if (rc == VOUCH_OK)
			rc = vouch_store_obj_put(svc->store, "phone", id, user, text,
			                         VOUCH_STORE_CREATE, now, actor, NULL);
		if (rc == VOUCH_OK)
			rc = vouch_store_tx_commit(svc->store);
		else
			vouch_store_tx_rollback(svc->store);
	}
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "phone");
		goto out_free;
	}
	if (vouch_ca_cert_pem(is.cert, &pem, &pem_len) != VOUCH_OK ||
	    vouch_ca_cert_pem(vouch_ca_issuing_cert(svc->ca), &chain, &chain_len) != VOUCH_OK) {
		vouch_req_api_error(r, 500, "internal", "cannot encode the certificate");
		goto out_free;
	}
	vouch_req_note(r, "phone", id);
	vouch_req_reply_json(r, 201,
	                     json_pack("{s:s, s:s, s:s, s:s, s:s}", "phone", id, "certificate", pem,
	                               "chain", chain, "thumbprint", tp_hex, "serial", rec.serial));
out_free:
	free(text);
	free(pem);
	free(chain);
	free(spki);
	free(csr);
	json_decref(obj);
	json_decref(u);
	json_decref(body);
	vouch_key_clear(&key);
	X509_free(full);
	vouch_ca_issued_clear(&is);
}

/* ---- credentials ---- */

/* The phone of a request made with mutual TLS: its certificate must be ours, unrevoked, of
 * profile phone, and name an active phone object. */
bool vouch_people_mtls_phone(struct vouch_req *r, char user[VOUCH_STORE_ID_MAX + 1],
                             char phone[VOUCH_STORE_ID_MAX + 1])
{
	char serial[VOUCH_STORE_SERIAL_MAX + 1];
	struct vouch_store_cert cert;
	bool ok = false;

	memset(&cert, 0, sizeof(cert));
	if (r->peer_verify != X509_V_OK) {
		vouch_req_api_error(r, 403, "forbidden",
		                    X509_verify_cert_error_string(r->peer_verify));
		return false;
	}
	if (vouch_service_cert_serial(r->peer, serial) != VOUCH_OK ||
	    vouch_store_cert_get(r->svc->store, serial, &cert) != VOUCH_OK) {
		vouch_req_api_error(r, 403, "forbidden", "unknown client certificate");
		return false;
	}
	if (cert.revoked || cert.not_after <= now_s() || strcmp(cert.profile, "phone") != 0)
		vouch_req_api_error(r, 403, "forbidden", "not a valid phone certificate");
	else
		ok = true;
	snprintf(phone, VOUCH_STORE_ID_MAX + 1, "%s", cert.device);
	vouch_store_cert_clear(&cert);
	user[0] = '\0';
	return ok;
}

static void api_credential(struct vouch_req *r)
{
	struct vouch_service *svc = r->svc;
	struct vouch_people *pp = &svc->people;
	char user[VOUCH_STORE_ID_MAX + 1], phone[VOUCH_STORE_ID_MAX + 1],
	    actor[VOUCH_STORE_ACTOR_MAX];
	char cti_hex[2 * VOUCH_CRED_CTI_LEN + 1], th_hex[2 * VOUCH_TOKEN_HASH_LEN + 1];
	char iat_iso[VOUCH_STORE_TIME_LEN], exp_iso[VOUCH_STORE_TIME_LEN], err[VOUCH_DIR_ERR_MAX];
	struct vouch_dir_compiled comp;
	struct vouch_cred_params p;
	struct vouch_store_obj pobj;
	struct vouch_key cnf;
	const char *phone_arg = NULL, *status, *spki_b64, *owner;
	uint8_t *cred = NULL, *spki = NULL, th[VOUCH_TOKEN_HASH_LEN];
	size_t cred_len = 0, spki_len = 0;
	char *cred_b64 = NULL, *rl_b64 = NULL, *text = NULL;
	json_t *body = NULL, *u = NULL, *pj = NULL, *cobj = NULL;
	int64_t now = now_s(), until = 0;
	int rc = VOUCH_ERR_INTERNAL;

	memset(&comp, 0, sizeof(comp));
	memset(&pobj, 0, sizeof(pobj));
	vouch_key_init(&cnf);
	if (!vouch_api_method_is(r, EVHTTP_REQ_POST))
		return;
	if (vouch_req_get_header(r, "Authorization") == NULL && r->peer != NULL) {
		if (!vouch_people_mtls_phone(r, user, phone))
			return;
	} else {
		if (!session_user(r, user))
			return;
		body = vouch_api_body_object(r, true);
		if (body == NULL || !vouch_api_member_string(r, body, "phone", NULL, &phone_arg))
			goto out_free;
		if (phone_arg == NULL || !vouch_api_id_ok(phone_arg)) {
			vouch_req_api_error(r, 400, "bad_request", "\"phone\" is required");
			goto out_free;
		}
		snprintf(phone, sizeof(phone), "%s", phone_arg);
	}
	rc = vouch_store_obj_get(svc->store, "phone", phone, &pobj);
	if (rc != VOUCH_OK) {
		vouch_req_api_error(r, 403, "forbidden", "unknown phone");
		goto out_free;
	}
	pj = json_loadb(pobj.json, pobj.json_len, 0, NULL);
	status = pj != NULL ? json_string_value(json_object_get(pj, "status")) : NULL;
	spki_b64 = pj != NULL ? json_string_value(json_object_get(pj, "public_key")) : NULL;
	owner = pobj.owner;
	if (user[0] != '\0' && strcmp(owner, user) != 0) {
		vouch_req_api_error(r, 403, "forbidden", "not your phone");
		goto out_free;
	}
	snprintf(user, sizeof(user), "%s", owner);
	vouch_req_note(r, "user", user);
	vouch_req_note(r, "phone", phone);
	if (status == NULL || strcmp(status, "active") != 0 || spki_b64 == NULL) {
		vouch_req_api_error(r, 403, "forbidden", "phone revoked");
		goto out_free;
	}
	u = user_object(r, user, NULL);
	if (u == NULL)
		goto out_free;
	if (!user_active(u) || !user_in_window(u, now, &until)) {
		vouch_req_api_error(r, 403, "forbidden", "the user holds no credential now");
		goto out_free;
	}
	rc = vouch_dir_compile_user(svc->store, user, pp->tz_rule, now, &comp, err);
	if (rc != VOUCH_OK) {
		vouch_req_api_error(r, 409, "policy", err);
		goto out_free;
	}
	if (vouch_ca_base64_decode(spki_b64, strlen(spki_b64), VOUCH_CA_SPKI_MAX, &spki,
	                           &spki_len) != VOUCH_OK ||
	    vouch_key_import_spki(&cnf, spki, spki_len) != VOUCH_OK) {
		vouch_req_api_error(r, 500, "internal", "phone key unreadable");
		goto out_free;
	}
	memset(&p, 0, sizeof(p));
	p.iss = pp->iss;
	p.sub = user;
	p.aud = pp->site_id;
	p.phone = phone;
	p.iat = now;
	p.nbf = now;
	p.exp = now + pp->credential_s;
	if (until > 0 && until < p.exp)
		p.exp = until;
	if (comp.valid_until > 0 && comp.valid_until < p.exp)
		p.exp = comp.valid_until;
	p.cnf = &cnf;
	p.perm = comp.perm;
	p.perm_len = comp.perm_len;
	p.issuer_kid = pp->issuer_kid;
	cred = malloc(VOUCH_CRED_MAX);
	rc = cred == NULL ? VOUCH_ERR_NOMEM : vouch_random(p.cti, sizeof(p.cti));
	if (rc == VOUCH_OK)
		rc = vouch_cred_issue(&p, &pp->issuer, cred, VOUCH_CRED_MAX, &cred_len);
	if (rc == VOUCH_OK)
		rc = vouch_cred_token_hash(cred, cred_len, th);
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "credential.issue", "user", user, "why",
		          vouch_strerror(rc), NULL);
		vouch_req_api_error(r, 500, "internal", "cannot issue the credential");
		goto out_free;
	}
	vouch_api_hex(p.cti, sizeof(p.cti), cti_hex);
	vouch_api_hex(th, sizeof(th), th_hex);
	vouch_store_time_iso(p.iat, iat_iso);
	vouch_store_time_iso(p.exp, exp_iso);
	cobj = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "user", user, "phone", phone,
	                 "token_hash", th_hex, "exp", (json_int_t)p.exp, "expires", exp_iso,
	                 "issued", iat_iso, "status", "active");
	text = cobj != NULL ? json_dumps(cobj, JSON_COMPACT) : NULL;
	snprintf(actor, sizeof(actor), "user:%s", user);
	/* Recorded before it is sent: a credential in a phone is always one the store knows. */
	rc = text == NULL ? VOUCH_ERR_NOMEM
	                  : vouch_store_obj_put(svc->store, "credential", cti_hex, user, text,
	                                        VOUCH_STORE_CREATE, now, actor, NULL);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "credential");
		goto out_free;
	}
	vouch_people_revlist_refresh(pp, now);
	if (!vouch_api_b64_text(cred, cred_len, &cred_b64) ||
	    !vouch_api_b64_text(pp->revlist_full, pp->revlist_full_len, &rl_b64)) {
		vouch_req_api_error(r, 500, "internal", "out of memory");
		goto out_free;
	}
	vouch_req_note(r, "cti", cti_hex);
	vouch_req_reply_json(r, 200,
	                     json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "credential",
	                               cred_b64, "cti", cti_hex, "phone", phone, "iat", iat_iso,
	                               "exp", exp_iso, "revocations", rl_b64, "revocations_version",
	                               (json_int_t)pp->revlist_version));
out_free:
	free(text);
	free(cred_b64);
	free(rl_b64);
	free(cred);
	free(spki);
	json_decref(cobj);
	json_decref(u);
	json_decref(pj);
	json_decref(body);
	vouch_store_obj_clear(&pobj);
	vouch_dir_compiled_clear(&comp);
	vouch_key_clear(&cnf);
}

bool vouch_people_wallet_handle(struct vouch_req *r, char **seg, size_t n)
{
	if (!r->svc->people_ready)
		return false;
	if (n == 2 && strcmp(seg[0], "auth") == 0 && strcmp(seg[1], "login") == 0) {
		api_login(r);
		return true;
	}
	if (n == 2 && strcmp(seg[0], "auth") == 0 && strcmp(seg[1], "logout") == 0) {
		api_logout(r);
		return true;
	}
	if (n == 1 && strcmp(seg[0], "keys") == 0) {
		if (vouch_api_method_is(r, EVHTTP_REQ_GET))
			reply_keys(r);
		return true;
	}
	if (n == 1 && strcmp(seg[0], "revocations") == 0) {
		if (vouch_api_method_is(r, EVHTTP_REQ_GET))
			reply_revocations(r);
		return true;
	}
	if (n == 1 && strcmp(seg[0], "phones") == 0 && r->method == EVHTTP_REQ_POST) {
		api_phone_register(r);
		return true;
	}
	if (n == 1 && strcmp(seg[0], "credentials") == 0 && r->method == EVHTTP_REQ_POST) {
		api_credential(r);
		return true;
	}
	return false;
}

bool vouch_people_session_admin(struct vouch_req *r, char *actor, size_t cap, bool *answered)
{
	char user[VOUCH_STORE_ID_MAX + 1];
	const char *h = vouch_req_get_header(r, "Authorization");

	*answered = false;
	if (!r->svc->people_ready || h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return false;
	*answered = true;
	if (!session_user(r, user))
		return false;
	if (!user_is_admin(&r->svc->people, user, now_s())) {
		vouch_req_api_error(r, 403, "forbidden", "no admin role");
		return false;
	}
	*answered = false;
	snprintf(actor, cap, "user:%s", user);
	return true;
}

/* ---- admin: users ---- */

/* Copy body members a user object may hold (never the password). */
static json_t *user_body(json_t *body, const char *status)
{
	static const char *const keys[] = {"display_name", "kind", "roles", "trainings",
	                                   "external"};
	json_t *u = json_object();

	if (u == NULL)
		return NULL;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(keys); i++) {
		json_t *v = json_object_get(body, keys[i]);

		if (v != NULL)
			json_object_set(u, keys[i], v);
	}
	if (json_object_get(u, "roles") == NULL)
		json_object_set_new(u, "roles", json_array());
	json_object_set_new(u, "status", json_string(status));
	return u;
}

static void api_user_create(struct vouch_req *r, const char *actor)
{
	struct vouch_service *svc = r->svc;
	struct vouch_people *pp = &svc->people;
	const char *name = NULL, *password = NULL;
	char err[VOUCH_DIR_ERR_MAX], uri[VOUCH_AUTH_URI_MAX], issuer[VOUCH_CONFIG_SHORT + 8];
	char name_buf[VOUCH_STORE_ID_MAX + 1];
	struct vouch_store_auth a;
	json_t *body, *u = NULL, *reply;
	int64_t now = now_s();
	int rc;

	memset(&a, 0, sizeof(a));
	uri[0] = '\0';
	body = vouch_api_body_object(r, false);
	if (body == NULL)
		return;
	if (!vouch_api_member_string(r, body, "name", NULL, &name) ||
	    !vouch_api_member_string(r, body, "password", NULL, &password))
		goto out_free;
	if (name == NULL || password == NULL) {
		vouch_req_api_error(r, 400, "bad_request", "name and password are required");
		goto out_free;
	}
	if (!vouch_api_id_ok(name)) {
		vouch_req_api_error(r, 400, "bad_user", "a user name is 1-64 of a-z 0-9 . _ - @");
		goto out_free;
	}
	snprintf(name_buf, sizeof(name_buf), "%s", name);
	name = name_buf; /* the member is deleted next */
	json_object_del(body, "name");
	{
		const char *key;
		json_t *v;

		json_object_foreach(body, key, v)
		{
			if (strcmp(key, "password") != 0 && strcmp(key, "display_name") != 0 &&
			    strcmp(key, "kind") != 0 && strcmp(key, "roles") != 0 &&
			    strcmp(key, "trainings") != 0 && strcmp(key, "external") != 0) {
				snprintf(err, sizeof(err), "unknown member \"%s\"", key);
				vouch_req_api_error(r, 400, "bad_request", err);
				goto out_free;
			}
		}
	}
	if (strlen(password) < VOUCH_AUTH_PASSWORD_MIN ||
	    strlen(password) > VOUCH_AUTH_PASSWORD_MAX) {
		vouch_req_api_error(r, 400, "weak_password",
		                    "a password has 12 to 1024 characters");
		goto out_free;
	}
	u = user_body(body, "active");
	if (u == NULL) {
		vouch_req_api_error(r, 500, "internal", "out of memory");
		goto out_free;
	}
	snprintf(a.user, sizeof(a.user), "%s", name);
	rc = vouch_auth_password_hash(password, strlen(password), a.pw_hash);
	snprintf(issuer, sizeof(issuer), "vouch %s", svc->cfg->site);
	if (rc == VOUCH_OK)
		rc = vouch_auth_totp_new(pp->p11, issuer, name, &a, uri);
	if (rc != VOUCH_OK) {
		vouch_req_api_error(r, 500, "internal", vouch_strerror(rc));
		goto out_free;
	}
	rc = vouch_store_tx_begin(svc->store);
	if (rc == VOUCH_OK) {
		rc = vouch_dir_put(svc->store, "user", name, u, VOUCH_STORE_CREATE, now, actor,
		                   NULL, err);
		if (rc == VOUCH_OK)
			rc = vouch_store_auth_put(svc->store, &a);
		if (rc == VOUCH_OK)
			rc = vouch_store_tx_commit(svc->store);
		else
			vouch_store_tx_rollback(svc->store);
	}
	if (rc == VOUCH_ERR_STORE_EXISTS) {
		vouch_req_api_error(r, 409, "exists", "a user of that name exists");
		goto out_free;
	}
	if (rc == VOUCH_ERR_INVALID || rc == VOUCH_ERR_STORE_NOT_FOUND) {
		vouch_req_api_error(r, 400, "bad_user", err);
		goto out_free;
	}
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "user");
		goto out_free;
	}
	vouch_req_note(r, "user", name);
	reply = json_pack("{s:s, s:s}", "name", name, "otpauth", uri);
	vouch_req_reply_json(r, 201, reply); /* jansson wipes the URI when it frees it */
out_free:
	vouch_wipe(uri, sizeof(uri));
	vouch_wipe(&a, sizeof(a));
	json_decref(u);
	json_decref(body);
}

static int user_list_cb(const struct vouch_store_obj *obj, void *ctx)
{
	json_t *items = ctx;
	json_t *o = json_loadb(obj->json, obj->json_len, 0, NULL);

	if (o == NULL)
		return VOUCH_ERR_STORE_CORRUPT;
	json_array_append_new(items, json_pack("{s:s, s:I, s:o}", "name", obj->name, "version",
	                                       (json_int_t)obj->version, "object", o));
	return 0;
}

static void api_objects_list(struct vouch_req *r, const char *kind, const char *owner)
{
	json_t *items = json_array();
	int rc = vouch_store_obj_list(r->svc->store, kind, owner, user_list_cb, items);

	if (rc != VOUCH_OK) {
		json_decref(items);
		vouch_api_store_error(r, rc, kind);
		return;
	}
	vouch_req_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

static void api_object_get(struct vouch_req *r, const char *kind, const char *name)
{
	struct vouch_store_obj obj;
	json_t *o;
	int rc = vouch_store_obj_get(r->svc->store, kind, name, &obj);

	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, kind);
		return;
	}
	o = json_loadb(obj.json, obj.json_len, 0, NULL);
	vouch_req_reply_json(r, 200,
	                     json_pack("{s:s, s:I, s:o}", "name", obj.name, "version",
	                               (json_int_t)obj.version, "object", o ? o : json_null()));
	vouch_store_obj_clear(&obj);
}

/* Revoke a user (and optionally delete them): user object, phones and their certificates,
 * credentials, sessions; one revocation list version for all. */
static void api_user_revoke(struct vouch_req *r, const char *name, const char *actor, bool remove)
{
	struct vouch_service *svc = r->svc;
	struct vouch_people *pp = &svc->people;
	struct vouch_store_rev revs[1 + REVS_MAX];
	struct vouch_store_obj uobj, *phones = NULL;
	const char *reason = NULL;
	size_t n_phones = 0, n_revs = 0, n_creds = 0, n_sessions = 0;
	int64_t now = now_s();
	uint64_t version = 0;
	json_t *body = NULL, *u = NULL;
	bool was_active;
	char counts[64];
	int rc;

	memset(&uobj, 0, sizeof(uobj));
	body = vouch_api_body_object(r, true);
	if (body == NULL || !vouch_api_member_string(r, body, "reason", "revoked", &reason))
		goto out_free;
	rc = vouch_store_obj_get(svc->store, "user", name, &uobj);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "user");
		goto out_free;
	}
	u = json_loadb(uobj.json, uobj.json_len, 0, NULL);
	was_active = u != NULL && user_active(u);
	rc = vouch_people_list_owned(svc->store, "phone", name, &phones, &n_phones);
	if (rc == VOUCH_OK)
		rc = vouch_store_tx_begin(svc->store);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "user");
		goto out_free;
	}
	if (was_active) {
		memset(&revs[0], 0, sizeof(revs[0]));
		revs[0].kind = 2;
		revs[0].value_len = strlen(name);
		memcpy(revs[0].value, name, revs[0].value_len);
		revs[0].revoked_at = now;
		revs[0].keep_until = now + pp->credential_s + 300;
		n_revs = 1;
		rc = vouch_people_obj_mark_revoked(svc->store, "user", &uobj, now, reason, actor);
	}
	for (size_t i = 0; rc == VOUCH_OK && i < n_phones; i++) {
		json_t *pj = json_loadb(phones[i].json, phones[i].json_len, 0, NULL);
		const char *st = pj ? json_string_value(json_object_get(pj, "status")) : NULL;
		bool active = st != NULL && strcmp(st, "active") == 0;

		json_decref(pj);
		if (!active)
			continue;
		if (n_revs == VOUCH_ARRAY_LEN(revs)) {
			rc = VOUCH_ERR_BUFFER;
			break;
		}
		rc = vouch_people_revoke_phone_tx(pp, &phones[i], now, reason, actor, &revs[n_revs],
		                                  &n_creds);
		n_revs++;
	}
	/* Credentials without an active phone still go (covered by the subject entry). */
	if (rc == VOUCH_OK)
		rc = vouch_people_revoke_creds_tx(pp, name, NULL, now, reason, actor, NULL, 0,
		                                  &n_revs, true, &n_creds);
	if (rc == VOUCH_OK && n_revs > 0)
		rc = vouch_store_rev_add(svc->store, revs, n_revs, actor, &version);
	if (rc == VOUCH_OK)
		rc = vouch_store_session_delete_user(svc->store, name, &n_sessions);
	if (rc == VOUCH_OK && was_active) {
		json_t *f = json_pack("{s:s, s:s}", "name", name, "reason", reason);
		char *t = f ? json_dumps(f, JSON_COMPACT) : NULL;

		rc = t ? vouch_store_event_append(svc->store, "user.revoke", actor, t, NULL)
		       : VOUCH_ERR_NOMEM;
		free(t);
		json_decref(f);
	}
	if (rc == VOUCH_OK && remove) {
		for (size_t i = 0; rc == VOUCH_OK && i < n_phones; i++)
			rc = vouch_store_obj_delete(svc->store, "phone", phones[i].name,
			                            VOUCH_STORE_ANY, actor);
		if (rc == VOUCH_OK)
			rc = vouch_store_auth_delete(svc->store, name);
		if (rc == VOUCH_OK || rc == VOUCH_ERR_STORE_NOT_FOUND)
			rc = vouch_store_obj_delete(svc->store, "user", name, VOUCH_STORE_ANY,
			                            actor);
	}
	if (rc == VOUCH_OK)
		rc = vouch_store_tx_commit(svc->store);
	else
		vouch_store_tx_rollback(svc->store);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "user");
		goto out_free;
	}
	vouch_people_revlist_refresh(pp, now);
	if (n_phones > 0)
		vouch_api_crl_after_revoke(r);
	vouch_req_note(r, "user", name);
	snprintf(counts, sizeof(counts), "%zu", n_creds);
	vouch_req_note(r, "credentials", counts);
	vouch_req_reply_json(r, 200,
	                     json_pack("{s:s, s:b, s:I, s:I, s:I}", "name", name, "removed", remove,
	                               "credentials_revoked", (json_int_t)n_creds, "phones",
	                               (json_int_t)n_phones, "revocations_version",
	                               (json_int_t)pp->revlist_version));
out_free:
	vouch_people_objs_free(phones, n_phones);
	vouch_store_obj_clear(&uobj);
	json_decref(u);
	json_decref(body);
}

static void api_user_update(struct vouch_req *r, const char *name, const char *actor)
{
	struct vouch_service *svc = r->svc;
	char err[VOUCH_DIR_ERR_MAX];
	json_t *body, *old = NULL, *u = NULL;
	int64_t version = 0;
	size_t n = 0;
	int rc;

	body = vouch_api_body_object(r, false);
	if (body == NULL)
		return;
	/* status and revoked_at are the server's: whatever the body says about them is ignored
	 * (a PUT never reactivates anyone); the password has its own route. */
	if (json_object_get(body, "password") != NULL) {
		vouch_req_api_error(r, 400, "bad_request",
		                    "the password changes through its own route");
		goto out_free;
	}
	old = user_object(r, name, &version);
	if (old == NULL)
		goto out_free;
	if (!user_active(old)) {
		vouch_req_api_error(r, 409, "revoked", "a revoked user is not changed; add anew");
		goto out_free;
	}
	u = user_body(body, "active");
	rc = u == NULL ? VOUCH_ERR_NOMEM
	               : vouch_dir_put(svc->store, "user", name, u, version, now_s(), actor,
	                               &version, err);
	if (rc == VOUCH_ERR_INVALID || rc == VOUCH_ERR_STORE_NOT_FOUND) {
		vouch_req_api_error(r, 400, "bad_user", err);
		goto out_free;
	}
	if (rc == VOUCH_ERR_STORE_CONFLICT) {
		vouch_req_api_error(r, 409, "conflict", "changed meanwhile: retry");
		goto out_free;
	}
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "user");
		goto out_free;
	}
	/* New roles, trainings or window: what the phones carry is out of date at once. */
	rc = vouch_people_revoke_credentials(&svc->people, name, "user changed", actor, &n);
	if (rc != VOUCH_OK)
		vouch_log(VOUCH_LOG_ERROR, "credential.revoke", "user", name, "why",
		          vouch_strerror(rc), NULL);
	vouch_req_reply_json(r, 200,
	                     json_pack("{s:s, s:I, s:O, s:I}", "name", name, "version",
	                               (json_int_t)version, "object", u, "credentials_revoked",
	                               (json_int_t)n));
out_free:
	json_decref(u);
	json_decref(old);
	json_decref(body);
}

/* An event whose only field is the user's name. */
static int event_name(struct vouch_store *store, const char *type, const char *actor,
                      const char *name)
{
	json_t *f = json_pack("{s:s}", "name", name);
	char *t = f != NULL ? json_dumps(f, JSON_COMPACT) : NULL;
	int rc =
	    t != NULL ? vouch_store_event_append(store, type, actor, t, NULL) : VOUCH_ERR_NOMEM;

	free(t);
	json_decref(f);
	return rc;
}

static void api_user_password(struct vouch_req *r, const char *name, const char *actor)
{
	struct vouch_store_auth a;
	const char *password = NULL;
	json_t *body = vouch_api_body_object(r, false);
	int rc;

	memset(&a, 0, sizeof(a));
	if (body == NULL || !vouch_api_member_string(r, body, "password", NULL, &password))
		goto out_free;
	if (password == NULL || strlen(password) < VOUCH_AUTH_PASSWORD_MIN ||
	    strlen(password) > VOUCH_AUTH_PASSWORD_MAX) {
		vouch_req_api_error(r, 400, "weak_password",
		                    "a password has 12 to 1024 characters");
		goto out_free;
	}
	rc = vouch_store_auth_get(r->svc->store, name, &a);
	if (rc == VOUCH_OK)
		rc = vouch_auth_password_hash(password, strlen(password), a.pw_hash);
	if (rc == VOUCH_OK) {
		a.failures = 0;
		a.locked_until = 0;
		rc = vouch_store_auth_put(r->svc->store, &a);
	}
	if (rc == VOUCH_OK)
		rc = event_name(r->svc->store, "user.password", actor, name);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "user");
		goto out_free;
	}
	vouch_req_reply_json(r, 200, json_pack("{s:s}", "name", name));
out_free:
	vouch_wipe(&a, sizeof(a));
	json_decref(body);
}

static void api_user_totp(struct vouch_req *r, const char *name, const char *actor)
{
	struct vouch_store_auth a;
	char uri[VOUCH_AUTH_URI_MAX], issuer[VOUCH_CONFIG_SHORT + 8];
	int rc;

	memset(&a, 0, sizeof(a));
	rc = vouch_store_auth_get(r->svc->store, name, &a);
	snprintf(issuer, sizeof(issuer), "vouch %s", r->svc->cfg->site);
	if (rc == VOUCH_OK)
		rc = vouch_auth_totp_new(r->svc->people.p11, issuer, name, &a, uri);
	if (rc == VOUCH_OK)
		rc = vouch_store_auth_put(r->svc->store, &a);
	if (rc == VOUCH_OK)
		rc = event_name(r->svc->store, "user.totp", actor, name);
	if (rc != VOUCH_OK)
		vouch_api_store_error(r, rc, "user");
	else
		vouch_req_reply_json(r, 200, json_pack("{s:s, s:s}", "name", name, "otpauth", uri));
	vouch_wipe(uri, sizeof(uri));
	vouch_wipe(&a, sizeof(a));
}

/* ---- admin: phones, credentials ---- */

static void api_phone_revoke(struct vouch_req *r, const char *id, const char *actor)
{
	struct vouch_service *svc = r->svc;
	struct vouch_store_obj obj;
	struct vouch_store_rev rev;
	size_t n = 0;
	uint64_t version = 0;
	int64_t now = now_s();
	int rc = vouch_store_obj_get(svc->store, "phone", id, &obj);

	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "phone");
		return;
	}
	rc = vouch_store_tx_begin(svc->store);
	if (rc == VOUCH_OK) {
		rc = vouch_people_revoke_phone_tx(&svc->people, &obj, now, "phone revoked", actor,
		                                  &rev, &n);
		if (rc == VOUCH_OK)
			rc = vouch_store_rev_add(svc->store, &rev, 1, actor, &version);
		if (rc == VOUCH_OK)
			rc = vouch_store_tx_commit(svc->store);
		else
			vouch_store_tx_rollback(svc->store);
	}
	vouch_store_obj_clear(&obj);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "phone");
		return;
	}
	vouch_people_revlist_refresh(&svc->people, now);
	vouch_api_crl_after_revoke(r);
	vouch_req_reply_json(r, 200,
	                     json_pack("{s:s, s:I, s:I}", "phone", id, "credentials_revoked",
	                               (json_int_t)n, "revocations_version", (json_int_t)version));
}

static void api_credential_revoke(struct vouch_req *r, const char *cti, const char *actor)
{
	struct vouch_service *svc = r->svc;
	struct vouch_people_cred_row row;
	struct vouch_store_obj obj;
	struct vouch_store_rev rev;
	uint64_t version = 0;
	int64_t now = now_s();
	int rc = vouch_store_obj_get(svc->store, "credential", cti, &obj);

	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "credential");
		return;
	}
	rc = vouch_people_cred_row(&obj, &row);
	if (rc == VOUCH_OK && !row.active) {
		vouch_store_obj_clear(&obj);
		vouch_req_reply_json(r, 200, json_pack("{s:s, s:b}", "cti", cti, "changed", 0));
		return;
	}
	memset(&rev, 0, sizeof(rev));
	rev.kind = 1;
	memcpy(rev.value, row.token_hash, VOUCH_TOKEN_HASH_LEN);
	rev.value_len = VOUCH_TOKEN_HASH_LEN;
	rev.revoked_at = now;
	rev.keep_until = row.exp;
	if (rc == VOUCH_OK)
		rc = vouch_store_tx_begin(svc->store);
	if (rc == VOUCH_OK) {
		rc = vouch_people_obj_mark_revoked(svc->store, "credential", &obj, now, "revoked",
		                                   actor);
		if (rc == VOUCH_OK)
			rc = vouch_store_rev_add(svc->store, &rev, 1, actor, &version);
		if (rc == VOUCH_OK)
			rc = vouch_store_tx_commit(svc->store);
		else
			vouch_store_tx_rollback(svc->store);
	}
	vouch_store_obj_clear(&obj);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "credential");
		return;
	}
	vouch_people_revlist_refresh(&svc->people, now);
	vouch_req_reply_json(r, 200,
	                     json_pack("{s:s, s:b, s:I}", "cti", cti, "changed", 1,
	                               "revocations_version", (json_int_t)version));
}

/* ---- admin: policy explain ---- */

/* "2026-11-23T08:00:00Z" (UTC) or "2026-11-23 08:00" / "2026-11-23T08:00" (site local time). */
static bool parse_at(const char *s, const struct vouch_tz *tz, int64_t *out)
{
	struct tm tm;
	struct vouch_tz_tm lt;
	int y, mo, d, h, mi, sec = 0, n = 0;
	int64_t guess;

	if (vouch_dir_parse_time(s, out) == VOUCH_OK)
		return true;
	if (sscanf(s, "%4d-%2d-%2d%*[ T]%2d:%2d%n:%2d%n", &y, &mo, &d, &h, &mi, &n, &sec, &n) < 5 ||
	    s[n] != '\0')
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	/* Local wall-clock time to UTC: take the offset in effect at the guess, twice (DST). */
	guess = (int64_t)timegm(&tm);
	for (int i = 0; i < 2; i++) {
		if (vouch_tz_local(tz, guess, &lt) != VOUCH_OK)
			return false;
		guess = (int64_t)timegm(&tm) - lt.offset;
	}
	*out = guess;
	return true;
}

static void api_explain(struct vouch_req *r)
{
	struct vouch_service *svc = r->svc;
	struct vouch_people *pp = &svc->people;
	const char *user = NULL, *resource = NULL, *action_s = NULL, *at_s = NULL, *zone = NULL;
	const char *tags[TAGS_MAX];
	struct vouch_policy_reading readings[READINGS_MAX];
	struct vouch_policy_resource res = {0};
	struct vouch_policy_request req = {0};
	struct vouch_policy_decision d;
	struct vouch_policy_view view;
	struct vouch_dir_compiled comp;
	struct vouch_store_obj robj;
	struct vouch_tz tz;
	char err[VOUCH_DIR_ERR_MAX], text[EXPLAIN_MAX], iso[VOUCH_STORE_TIME_LEN];
	json_t *body, *rj = NULL, *rd, *v;
	uint32_t action = 0;
	const char *key;
	size_t i, n_tags = 0, n_readings = 0;
	int64_t at = now_s();
	int rc;

	memset(&comp, 0, sizeof(comp));
	memset(&robj, 0, sizeof(robj));
	body = vouch_api_body_object(r, false);
	if (body == NULL)
		return;
	if (!vouch_api_member_string(r, body, "user", NULL, &user) ||
	    !vouch_api_member_string(r, body, "resource", NULL, &resource) ||
	    !vouch_api_member_string(r, body, "action", NULL, &action_s) ||
	    !vouch_api_member_string(r, body, "at", NULL, &at_s) ||
	    !vouch_api_member_string(r, body, "zone", NULL, &zone))
		goto out_free;
	if (user == NULL || resource == NULL || action_s == NULL) {
		vouch_req_api_error(r, 400, "bad_request",
		                    "user, resource and action are required");
		goto out_free;
	}
	if (vouch_policy_action_parse(action_s, &action) != VOUCH_OK ||
	    vouch_policy_action_name(action) == NULL) {
		vouch_req_api_error(r, 400, "bad_request", "unknown action");
		goto out_free;
	}
	if (vouch_tz_parse(pp->tz_rule, &tz) != VOUCH_OK ||
	    (at_s != NULL && !parse_at(at_s, &tz, &at))) {
		vouch_req_api_error(r, 400, "bad_request",
		                    "\"at\" must be ISO-8601 UTC or local \"YYYY-MM-DD HH:MM\"");
		goto out_free;
	}
	rd = json_object_get(body, "readings");
	if (rd != NULL && (!json_is_object(rd) || json_object_size(rd) > READINGS_MAX)) {
		vouch_req_api_error(r, 400, "bad_request",
		                    "\"readings\": {name: number}, at most 8");
		goto out_free;
	}
	json_object_foreach(rd, key, v)
	{
		if (!json_is_number(v) || !isfinite(json_number_value(v))) {
			vouch_req_api_error(r, 400, "bad_request", "a reading must be a number");
			goto out_free;
		}
		readings[n_readings].name = key;
		readings[n_readings++].value = json_number_value(v);
	}
	rc = vouch_store_obj_get(svc->store, "resource", resource, &robj);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "resource");
		goto out_free;
	}
	rj = json_loadb(robj.json, robj.json_len, 0, NULL);
	res.id = resource;
	res.type = rj ? json_string_value(json_object_get(rj, "type")) : NULL;
	res.zone = rj ? json_string_value(json_object_get(rj, "zone")) : NULL;
	json_array_foreach(rj ? json_object_get(rj, "tags") : NULL, i, v)
	{
		if (n_tags < TAGS_MAX && json_is_string(v))
			tags[n_tags++] = json_string_value(v);
	}
	res.tags = tags;
	res.n_tags = n_tags;
	rc = vouch_dir_compile_user(svc->store, user, pp->tz_rule, at, &comp, err);
	if (rc != VOUCH_OK) {
		vouch_req_api_error(r, rc == VOUCH_ERR_STORE_NOT_FOUND ? 404 : 409, "policy", err);
		goto out_free;
	}
	rc = vouch_policy_view_init(&view, comp.perm, comp.perm_len);
	req.resource = &res;
	req.action = action;
	req.now = at;
	req.person_zone = zone;
	req.readings = readings;
	req.n_readings = n_readings;
	if (rc == VOUCH_OK)
		rc = vouch_policy_decide(&view, &req, &d);
	if (rc == VOUCH_OK &&
	    vouch_policy_explain(&view, &req, &d, text, sizeof(text)) == VOUCH_ERR_BUFFER)
		rc = VOUCH_OK; /* truncated text is still the explanation */
	if (rc != VOUCH_OK) {
		vouch_req_api_error(r, 500, "internal", vouch_strerror(rc));
		goto out_free;
	}
	vouch_store_time_iso(at, iso);
	vouch_req_note(r, "user", user);
	vouch_req_note(r, "decision", d.permit ? "permit" : "deny");
	vouch_req_reply_json(r, 200,
	                     json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "decision",
	                               d.permit ? "permit" : "deny", "reason",
	                               vouch_policy_reason_name(d.reason), "explain", text, "at",
	                               iso, "user", user, "resource", resource, "action",
	                               vouch_policy_action_name(action)));
out_free:
	vouch_store_obj_clear(&robj);
	vouch_dir_compiled_clear(&comp);
	json_decref(rj);
	json_decref(body);
}

bool vouch_people_admin_handle(struct vouch_req *r, char **seg, size_t n, const char *actor)
{
	if (!r->svc->people_ready)
		return false;
	if (strcmp(seg[0], "users") == 0) {
		if (n == 1 && r->method == EVHTTP_REQ_POST)
			api_user_create(r, actor);
		else if (n == 1 && vouch_api_method_is(r, EVHTTP_REQ_GET))
			api_objects_list(r, "user", NULL);
		else if (n == 2 && r->method == EVHTTP_REQ_GET)
			api_object_get(r, "user", seg[1]);
		else if (n == 2 && r->method == EVHTTP_REQ_PUT)
			api_user_update(r, seg[1], actor);
		else if (n == 2 && r->method == EVHTTP_REQ_DELETE)
			api_user_revoke(r, seg[1], actor, true);
		else if (n == 3 && strcmp(seg[2], "revoke") == 0 &&
		         vouch_api_method_is(r, EVHTTP_REQ_POST))
			api_user_revoke(r, seg[1], actor, false);
		else if (n == 3 && strcmp(seg[2], "password") == 0 &&
		         vouch_api_method_is(r, EVHTTP_REQ_POST))
			api_user_password(r, seg[1], actor);
		else if (n == 3 && strcmp(seg[2], "totp") == 0 &&
		         vouch_api_method_is(r, EVHTTP_REQ_POST))
			api_user_totp(r, seg[1], actor);
		else if (n == 2)
			vouch_req_api_error(r, 405, "method_not_allowed", "GET, PUT or DELETE");
		else if (!r->answered)
			vouch_req_api_error(r, 404, "not_found", "no such API resource");
		return true;
	}
	if (strcmp(seg[0], "phones") == 0 || strcmp(seg[0], "credentials") == 0) {
		const char *kind = seg[0][0] == 'p' ? "phone" : "credential";

		if (n == 1 && vouch_api_method_is(r, EVHTTP_REQ_GET))
			api_objects_list(r, kind, vouch_req_query(r, "user"));
		else if (n == 2 && vouch_api_method_is(r, EVHTTP_REQ_GET))
			api_object_get(r, kind, seg[1]);
		else if (n == 3 && strcmp(seg[2], "revoke") == 0 &&
		         vouch_api_method_is(r, EVHTTP_REQ_POST)) {
			if (kind[0] == 'p')
				api_phone_revoke(r, seg[1], actor);
			else
				api_credential_revoke(r, seg[1], actor);
		} else if (!r->answered)
			vouch_req_api_error(r, 404, "not_found", "no such API resource");
		return true;
	}
	if (n == 2 && strcmp(seg[0], "policy") == 0 && strcmp(seg[1], "explain") == 0) {
		if (vouch_api_method_is(r, EVHTTP_REQ_POST))
			api_explain(r);
		return true;
	}
	return false;
}
