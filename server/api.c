/*
 * The admin REST API (/api/v1, JSON; docs/vouchd.md "Admin REST API"). Only the admin client
 * certificate recorded at init gets in; every change goes through the store, which records its
 * event in the same transaction.
 */
#define _DEFAULT_SOURCE /* timegm */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "api_dir.h"
#include "handlers.h"
#include "vouch/crypto.h"
#include "vouch/log.h"

#define API_PREFIX      "/api/v1"
#define API_ACTOR       "admin"
#define TOKEN_BYTES     24 /* 192 bits; 32 characters of base64url */
#define TOKEN_HOURS_MAX (24 * 366)
#define SAN_MAX_LEN     253

/* ---- helpers ---- */

/*
 * The site's own certificates (made by vouchd init) belong to these ids. Enrolling a device under
 * one of them would confuse it with the site, and revoking them through the API would lock the
 * operator out (the admin certificate authenticates the API) or break the service: they are
 * refused here and rotated by the operator on the host instead.
 */
static bool device_reserved(const char *id)
{
	return strcmp(id, "admin") == 0 || strcmp(id, "vouchd") == 0 || strcmp(id, "ocsp") == 0;
}

/* Device ids end up in CNs, URLs, HTTP Basic user names and logs: keep them plain. */
bool vouch_api_id_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > VOUCH_STORE_DEVICE_MAX || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != '@')
			return false;
	}
	return true;
}

json_t *vouch_api_iso_or_null(bool present, int64_t t)
{
	char iso[VOUCH_STORE_TIME_LEN];

	if (!present)
		return json_null();
	vouch_store_time_iso(t, iso);
	return json_string(iso);
}

static json_t *cert_summary(const struct vouch_store_cert *c, int64_t now)
{
	char nb[VOUCH_STORE_TIME_LEN], na[VOUCH_STORE_TIME_LEN];

	vouch_store_time_iso(c->not_before, nb);
	vouch_store_time_iso(c->not_after, na);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "serial", c->serial,
	                 "subject", c->subject, "device", c->device, "profile", c->profile,
	                 "not_before", nb, "not_after", na, "status",
	                 vouch_store_status_name(vouch_store_cert_status_at(c, now)), "revoked_at",
	                 vouch_api_iso_or_null(c->revoked, c->revoked_at), "reason",
	                 c->revoked ? json_string(c->reason) : json_null());
}

/* The JSON object of a request body; answers 400 itself when there is none. An empty body is
 * an empty object when allow_empty. */
json_t *vouch_api_body_object(struct vouch_req *r, bool allow_empty)
{
	json_error_t err;
	json_t *obj;
	char msg[200];

	if (r->body_len == 0 && allow_empty)
		return json_object();
	obj = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
	if (obj == NULL) {
		snprintf(msg, sizeof(msg), "body is not JSON: %s (line %d)", err.text, err.line);
		vouch_req_api_error(r, 400, "bad_json", msg);
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		vouch_req_api_error(r, 400, "bad_json", "body must be a JSON object");
		return NULL;
	}
	return obj;
}

/* A string member (default when absent); answers 400 when present but not a string. */
bool vouch_api_member_string(struct vouch_req *r, json_t *obj, const char *key, const char *def,
                             const char **out)
{
	json_t *v = json_object_get(obj, key);
	char msg[96];

	*out = def;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		snprintf(msg, sizeof(msg), "\"%s\" must be a string", key);
		vouch_req_api_error(r, 400, "bad_request", msg);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

bool vouch_api_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	long long v;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = (int64_t)v;
	return true;
}

bool vouch_api_method_is(struct vouch_req *r, enum evhttp_cmd_type want)
{
	if (r->method == want)
		return true;
	vouch_req_header(r, "Allow", want == EVHTTP_REQ_GET ? "GET" : "POST");
	vouch_req_api_error(r, 405, "method_not_allowed",
	                    want == EVHTTP_REQ_GET ? "use GET" : "use POST");
	return false;
}

void vouch_api_store_error(struct vouch_req *r, int rc, const char *what)
{
	char msg[160];

	if (rc == VOUCH_ERR_STORE_NOT_FOUND) {
		snprintf(msg, sizeof(msg), "%s not found", what);
		vouch_req_api_error(r, 404, "not_found", msg);
		return;
	}
	if (rc == VOUCH_ERR_INVALID) {
		snprintf(msg, sizeof(msg), "invalid %s", what);
		vouch_req_api_error(r, 400, "bad_request", msg);
		return;
	}
	vouch_log(VOUCH_LOG_ERROR, "api.store", "why", vouch_strerror(rc), NULL);
	vouch_req_api_error(r, 500, "internal", vouch_strerror(rc));
}

/* ---- authorisation ---- */

/* The admin certificate, exactly (by DER, and by the fingerprint init recorded), verified
 * against our CA, and not revoked. */
static bool admin_ok(struct vouch_req *r)
{
	struct vouch_service *svc = r->svc;
	char fp[VOUCH_CA_FINGERPRINT_HEX];
	char serial[VOUCH_STORE_SERIAL_MAX + 1];
	struct vouch_store_cert_state st;

	if (r->peer == NULL) {
		vouch_req_api_error(r, 403, "forbidden",
		                    "the admin client certificate is required");
		return false;
	}
	if (r->peer_verify != X509_V_OK) {
		vouch_req_api_error(r, 403, "forbidden",
		                    X509_verify_cert_error_string(r->peer_verify));
		return false;
	}
	if (!vouch_ca_is_admin_cert(svc->ca, r->peer) ||
	    vouch_ca_fingerprint(r->peer, fp) != VOUCH_OK || svc->admin_fp[0] == '\0' ||
	    !vouch_ct_equal(fp, svc->admin_fp, VOUCH_CA_FINGERPRINT_HEX - 1)) {
		vouch_req_api_error(r, 403, "forbidden", "not the admin certificate");
		return false;
	}
	if (vouch_service_cert_serial(r->peer, serial) != VOUCH_OK ||
	    vouch_store_cert_state(svc->store, serial, &st) != VOUCH_OK || st.revoked) {
		vouch_req_api_error(r, 403, "forbidden", "admin certificate revoked or unknown");
		return false;
	}
	return true;
}

/* ---- POST /enrol-tokens ---- */

static bool token_sans(struct vouch_req *r, json_t *body, bool service, char *out, size_t cap)
{
	json_t *sans = json_object_get(body, "sans"), *v;
	char *text;
	size_t i;

	out[0] = '\0';
	if (sans == NULL || json_is_null(sans) ||
	    (json_is_array(sans) && json_array_size(sans) == 0))
		return true;
	if (!json_is_array(sans) || json_array_size(sans) > VOUCH_CA_SANS_MAX) {
		vouch_req_api_error(r, 400, "bad_request", "\"sans\" must be an array of names");
		return false;
	}
	if (!service) {
		vouch_req_api_error(r, 400, "bad_request", "\"sans\" apply to the service profile");
		return false;
	}
	json_array_foreach(sans, i, v)
	{
		const char *s = json_string_value(v);
		size_t n = s != NULL ? strlen(s) : 0;

		if (n == 0 || n > SAN_MAX_LEN) {
			vouch_req_api_error(r, 400, "bad_request", "a SAN is empty or too long");
			return false;
		}
		for (size_t k = 0; k < n; k++) {
			unsigned char c = (unsigned char)s[k];

			if (!isalnum(c) && c != '.' && c != '-' && c != ':' && c != '*') {
				vouch_req_api_error(r, 400, "bad_request",
				                    "a SAN is not a DNS name or IP address");
				return false;
			}
		}
	}
	text = json_dumps(sans, JSON_COMPACT);
	if (text == NULL || strlen(text) >= cap) {
		free(text);
		vouch_req_api_error(r, 400, "bad_request", "\"sans\" too long");
		return false;
	}
	memcpy(out, text, strlen(text) + 1);
	free(text);
	return true;
}

/* A fresh token: base64url of 192 CSPRNG bits, no padding. */
static int token_generate(char out[2 * TOKEN_BYTES])
{
	uint8_t raw[TOKEN_BYTES];
	int rc = vouch_random(raw, sizeof(raw));

	if (rc == VOUCH_OK) {
		/* 24 bytes encode to exactly 32 characters with no '=' padding. */
		EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
		for (char *p = out; *p != '\0'; p++) {
			if (*p == '+')
				*p = '-';
			else if (*p == '/')
				*p = '_';
		}
	}
	vouch_wipe(raw, sizeof(raw));
	return rc;
}

static void api_enrol_token(struct vouch_req *r)
{
	struct vouch_service *svc = r->svc;
	struct vouch_store_token tok;
	enum vouch_ca_profile profile;
	const char *device, *profile_name;
	char token[2 * TOKEN_BYTES] = {0};
	char expires[VOUCH_STORE_TIME_LEN];
	char reply[256];
	json_t *body, *hv;
	int64_t hours = svc->cfg->enrol_token_hours, now = (int64_t)time(NULL);
	int rc, n;

	memset(&tok, 0, sizeof(tok));
	if (!vouch_api_method_is(r, EVHTTP_REQ_POST))
		return;
	body = vouch_api_body_object(r, false);
	if (body == NULL)
		return;
	if (!vouch_api_member_string(r, body, "device", NULL, &device) ||
	    !vouch_api_member_string(r, body, "profile", "device", &profile_name))
		goto out_body;
	if (!vouch_api_id_ok(device)) {
		vouch_req_api_error(r, 400, "bad_request",
		                    "\"device\" must be 1-64 of A-Z a-z 0-9 . _ - @, starting "
		                    "with a letter or digit");
		goto out_body;
	}
	if (device_reserved(device)) {
		vouch_req_api_error(r, 409, "reserved",
		                    "this id belongs to the site's own certificates");
		goto out_body;
	}
	if (vouch_ca_profile_parse(profile_name, &profile) != VOUCH_OK) {
		vouch_req_api_error(r, 400, "bad_request",
		                    "\"profile\" must be device, service, phone or short-lived");
		goto out_body;
	}
	hv = json_object_get(body, "hours");
	if (hv != NULL && !json_is_null(hv)) {
		if (!json_is_integer(hv) || json_integer_value(hv) < 1 ||
		    json_integer_value(hv) > TOKEN_HOURS_MAX) {
			vouch_req_api_error(r, 400, "bad_request",
			                    "\"hours\" must be an integer from 1 to 8784");
			goto out_body;
		}
		hours = (int64_t)json_integer_value(hv);
	}
	if (!token_sans(r, body, profile == VOUCH_CA_PROFILE_SERVICE, tok.sans, sizeof(tok.sans)))
		goto out_body;
	vouch_req_note(r, "device", device);

	if (token_generate(token) != VOUCH_OK ||
	    vouch_sha256(token, strlen(token), tok.hash) != VOUCH_OK) {
		vouch_req_api_error(r, 500, "internal", "cannot generate a token");
		goto out_wipe;
	}
	snprintf(tok.device, sizeof(tok.device), "%s", device);
	snprintf(tok.profile, sizeof(tok.profile), "%s", vouch_ca_profile_name(profile));
	tok.created_at = now;
	tok.expires_at = now + hours * 3600;
	rc = vouch_store_token_create(svc->store, &tok, r->actor);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "token");
		goto out_wipe;
	}
	vouch_store_time_iso(tok.expires_at, expires);
	/* Built by hand rather than through jansson so the only copies of the token are buffers
	 * wiped here. device is [A-Za-z0-9._@-], the token base64url: nothing to escape. */
	n = snprintf(reply, sizeof(reply),
	             "{\"token\":\"%s\",\"device\":\"%s\",\"expires\":\"%s\"}", token, tok.device,
	             expires);
	if (n < 0 || (size_t)n >= sizeof(reply)) {
		vouch_req_api_error(r, 500, "internal", "reply too long");
		goto out_wipe;
	}
	vouch_req_note(r, "expires", expires);
	vouch_req_reply(r, 200, "application/json", reply, (size_t)n, NULL);

out_wipe:
	vouch_wipe(token, sizeof(token));
	vouch_wipe(reply, sizeof(reply));
	vouch_wipe(tok.hash, sizeof(tok.hash));
out_body:
	json_decref(body);
}

/* ---- GET /certs, GET /certs/{serial} ---- */

struct list_acc {
	json_t *arr;
	int64_t now;
};

static int list_cb(const struct vouch_store_cert *cert, void *ctx)
{
	struct list_acc *acc = ctx;
	json_t *one = cert_summary(cert, acc->now);

	if (one == NULL || json_array_append_new(acc->arr, one) != 0)
		return VOUCH_ERR_NOMEM;
	return 0;
}

static void api_cert_list(struct vouch_req *r)
{
	struct vouch_store_cert_filter f = {0};
	struct list_acc acc = {0};
	const char *status = vouch_req_query(r, "status");
	const char *limit = vouch_req_query(r, "limit");
	int64_t lim = VOUCH_API_LIST_DEFAULT;
	int rc;

	if (!vouch_api_method_is(r, EVHTTP_REQ_GET))
		return;
	f.device = vouch_req_query(r, "device");
	if (f.device != NULL && !vouch_api_id_ok(f.device)) {
		vouch_req_api_error(r, 400, "bad_request", "malformed device id");
		return;
	}
	if (status != NULL && vouch_store_status_parse(status, &f.status) != VOUCH_OK) {
		vouch_req_api_error(r, 400, "bad_request",
		                    "status must be valid, revoked, expired or any");
		return;
	}
	if (limit != NULL && !vouch_api_parse_i64(limit, 1, VOUCH_API_LIST_MAX, &lim)) {
		vouch_req_api_error(r, 400, "bad_request", "limit must be 1..100000");
		return;
	}
	f.limit = (size_t)lim;
	f.now = (int64_t)time(NULL);
	acc.now = f.now;
	acc.arr = json_array();
	if (acc.arr == NULL) {
		vouch_req_api_error(r, 500, "internal", "out of memory");
		return;
	}
	rc = vouch_store_cert_list(r->svc->store, &f, list_cb, &acc);
	if (rc != VOUCH_OK) {
		json_decref(acc.arr);
		vouch_api_store_error(r, rc, "filter");
		return;
	}
	vouch_req_reply_json(r, 200, json_pack("{s:o}", "certs", acc.arr));
}

/* The cert summary of serial, with its PEM when with_pem. */
static void reply_cert(struct vouch_req *r, const char *serial, bool with_pem)
{
	struct vouch_store_cert c = {0};
	const unsigned char *p;
	char *pem = NULL;
	size_t pem_len = 0;
	json_t *obj;
	X509 *x = NULL;
	int rc = vouch_store_cert_get(r->svc->store, serial, &c);

	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "certificate");
		return;
	}
	obj = cert_summary(&c, (int64_t)time(NULL));
	if (obj != NULL && with_pem) {
		p = c.der;
		x = d2i_X509(NULL, &p, (long)c.der_len);
		if (x == NULL || vouch_ca_cert_pem(x, &pem, &pem_len) != VOUCH_OK ||
		    json_object_set_new(obj, "pem", json_string(pem)) != 0) {
			json_decref(obj);
			obj = NULL;
		}
	}
	vouch_req_note(r, "serial", c.serial);
	if (obj == NULL)
		vouch_req_api_error(r, 500, "internal", "cannot encode the certificate");
	else
		vouch_req_reply_json(r, 200, obj);
	free(pem);
	X509_free(x);
	vouch_store_cert_clear(&c);
}

/* ---- revocation ---- */

static bool revoke_reason(struct vouch_req *r, json_t *body, const char **name)
{
	enum vouch_ca_reason code;

	if (!vouch_api_member_string(r, body, "reason", "unspecified", name))
		return false;
	if (vouch_ca_reason_parse(*name, &code) != VOUCH_OK ||
	    code == VOUCH_CA_REASON_REMOVE_FROM_CRL) {
		vouch_req_api_error(r, 400, "bad_request",
		                    "\"reason\" must be an RFC 5280 CRLReason name, e.g. "
		                    "keyCompromise");
		return false;
	}
	*name = vouch_ca_reason_name(code);
	return true;
}

void vouch_api_crl_after_revoke(struct vouch_req *r)
{
	/* The revocation is durable already; a CRL that fails here is retried by the timer and
	 * OCSP answers from the store meanwhile. */
	if (vouch_service_crl_refresh(r->svc, false, r->actor) != VOUCH_OK)
		vouch_req_note(r, "crl", "reissue failed");
}

static void api_cert_revoke(struct vouch_req *r, const char *serial)
{
	struct vouch_store_cert cert;
	const char *reason;
	bool changed = false;
	json_t *body;
	int rc;

	if (!vouch_api_method_is(r, EVHTTP_REQ_POST))
		return;
	body = vouch_api_body_object(r, true);
	if (body == NULL)
		return;
	if (!revoke_reason(r, body, &reason))
		goto out_body;
	if (vouch_store_cert_get(r->svc->store, serial, &cert) == VOUCH_OK) {
		bool reserved = device_reserved(cert.device);

		vouch_store_cert_clear(&cert);
		if (reserved) {
			vouch_req_api_error(
			    r, 409, "reserved",
			    "the site's own certificates are not revoked through the API");
			goto out_body;
		}
	}
	rc = vouch_store_cert_revoke(r->svc->store, serial, reason, (int64_t)time(NULL), r->actor,
	                             &changed);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "certificate");
		goto out_body;
	}
	if (changed)
		vouch_api_crl_after_revoke(r);
	vouch_req_note(r, "reason", reason);
	reply_cert(r, serial, false);
out_body:
	json_decref(body);
}

static void api_device_revoke(struct vouch_req *r, const char *device)
{
	const char *reason;
	size_t count = 0;
	json_t *body;
	int rc;

	if (!vouch_api_method_is(r, EVHTTP_REQ_POST))
		return;
	if (!vouch_api_id_ok(device)) {
		vouch_req_api_error(r, 400, "bad_request", "malformed device id");
		return;
	}
	body = vouch_api_body_object(r, true);
	if (body == NULL)
		return;
	if (!revoke_reason(r, body, &reason))
		goto out_body;
	vouch_req_note(r, "device", device);
	if (device_reserved(device)) {
		vouch_req_api_error(r, 409, "reserved",
		                    "the site's own certificates are not revoked through the API");
		goto out_body;
	}
	rc = vouch_store_device_revoke(r->svc->store, device, reason, (int64_t)time(NULL), r->actor,
	                               &count);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "device");
		goto out_body;
	}
	if (count > 0)
		vouch_api_crl_after_revoke(r);
	vouch_req_reply_json(r, 200, json_pack("{s:I}", "revoked", (json_int_t)count));
out_body:
	json_decref(body);
}

/* ---- POST /certs/batch ---- */

struct batch {
	size_t n;
	uint8_t **spki;
	size_t *spki_len;
	char (*ids)[VOUCH_STORE_DEVICE_MAX + 1];
	struct vouch_ca_issued *issued;
	struct vouch_store_cert *recs;
};

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->spki != NULL)
			free(b->spki[i]);
		if (b->issued != NULL)
			vouch_ca_issued_clear(&b->issued[i]);
	}
	free(b->spki);
	free(b->spki_len);
	free(b->ids);
	free(b->issued);
	free(b->recs);
}

/* Sign every key; on a refusal answer 400 naming the key and return false. */
static int batch_sign(struct vouch_req *r, struct batch *b, enum vouch_ca_profile profile,
                      size_t *bad)
{
	for (size_t i = 0; i < b->n; i++) {
		struct vouch_ca_subject subj = {.profile = profile, .id = b->ids[i]};
		struct vouch_store_cert *rec = &b->recs[i];
		struct vouch_ca_issued *is = &b->issued[i];
		int rc;

		vouch_ca_issued_clear(is);
		vouch_ca_issued_init(is);
		rc = vouch_ca_issue_spki(r->svc->ca, b->spki[i], b->spki_len[i], &subj, is);
		if (rc != VOUCH_OK) {
			*bad = i;
			return rc;
		}
		memset(rec, 0, sizeof(*rec));
		rc = vouch_store_serial_canon(is->serial, rec->serial);
		if (rc != VOUCH_OK || is->subject == NULL ||
		    strlen(is->subject) > VOUCH_STORE_SUBJECT_MAX) {
			*bad = i;
			return VOUCH_ERR_INTERNAL;
		}
		snprintf(rec->device, sizeof(rec->device), "%s", b->ids[i]);
		snprintf(rec->subject, sizeof(rec->subject), "%s", is->subject);
		snprintf(rec->profile, sizeof(rec->profile), "%s", vouch_ca_profile_name(profile));
		snprintf(rec->via, sizeof(rec->via), "%s", "batch");
		rec->not_before = (int64_t)is->not_before;
		rec->not_after = (int64_t)is->not_after;
		rec->der = is->der;
		rec->der_len = is->der_len;
	}
	return VOUCH_OK;
}

static bool batch_reply(struct vouch_req *r, struct batch *b)
{
	json_t *arr = json_array();

	if (arr == NULL)
		return false;
	for (size_t i = 0; i < b->n; i++) {
		char *b64 = NULL;
		size_t b64_len = 0;

		if (vouch_ca_base64_encode(b->issued[i].der, b->issued[i].der_len, &b64,
		                           &b64_len) != VOUCH_OK) {
			json_decref(arr);
			return false;
		}
		/* One line per certificate: strip the encoder's line breaks. */
		size_t o = 0;
		for (size_t k = 0; k < b64_len; k++)
			if (b64[k] != '\n' && b64[k] != '\r')
				b64[o++] = b64[k];
		b64[o] = '\0';
		if (json_array_append_new(arr, json_string(b64)) != 0) {
			free(b64);
			json_decref(arr);
			return false;
		}
		free(b64);
	}
	vouch_req_reply_json(r, 200, json_pack("{s:o}", "certs", arr));
	return true;
}

/* "<prefix>-<12 hex digits>": random, so ids stay unique across batches and requests, and the
 * pseudonyms of one batch (V2X) cannot be linked by consecutive numbers. */
static int batch_id(const char *prefix, char out[VOUCH_STORE_DEVICE_MAX + 1])
{
	uint8_t rnd[6];
	int rc = vouch_random(rnd, sizeof(rnd));

	if (rc != VOUCH_OK)
		return rc;
	snprintf(out, VOUCH_STORE_DEVICE_MAX + 1, "%s-%02x%02x%02x%02x%02x%02x", prefix, rnd[0],
	         rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	return VOUCH_OK;
}

static void api_batch(struct vouch_req *r)
{
	struct batch b = {0};
	enum vouch_ca_profile profile;
	const char *profile_name, *prefix;
	json_t *body, *keys, *v;
	size_t i, bad = 0;
	char msg[160];
	int rc = VOUCH_ERR_INTERNAL;

	if (!vouch_api_method_is(r, EVHTTP_REQ_POST))
		return;
	body = vouch_api_body_object(r, false);
	if (body == NULL)
		return;
	if (!vouch_api_member_string(r, body, "profile", "short-lived", &profile_name) ||
	    !vouch_api_member_string(r, body, "prefix", "batch", &prefix))
		goto out_body;
	if (vouch_ca_profile_parse(profile_name, &profile) != VOUCH_OK ||
	    profile == VOUCH_CA_PROFILE_SERVICE) {
		vouch_req_api_error(r, 400, "bad_request",
		                    "\"profile\" must be device, phone or short-lived");
		goto out_body;
	}
	if (!vouch_api_id_ok(prefix) || strlen(prefix) > VOUCH_STORE_DEVICE_MAX - 13) {
		vouch_req_api_error(r, 400, "bad_request",
		                    "\"prefix\" must be 1-51 of A-Z a-z 0-9 . _ - @");
		goto out_body;
	}
	keys = json_object_get(body, "keys");
	if (!json_is_array(keys) || json_array_size(keys) == 0 ||
	    json_array_size(keys) > VOUCH_API_BATCH_MAX) {
		vouch_req_api_error(r, 400, "bad_request",
		                    "\"keys\" must be an array of 1-1000 base64 SPKIs");
		goto out_body;
	}
	b.n = json_array_size(keys);
	b.spki = calloc(b.n, sizeof(*b.spki));
	b.spki_len = calloc(b.n, sizeof(*b.spki_len));
	b.ids = calloc(b.n, sizeof(*b.ids));
	b.issued = calloc(b.n, sizeof(*b.issued));
	b.recs = calloc(b.n, sizeof(*b.recs));
	if (b.spki == NULL || b.spki_len == NULL || b.ids == NULL || b.issued == NULL ||
	    b.recs == NULL) {
		vouch_req_api_error(r, 500, "internal", "out of memory");
		goto out_free;
	}
	json_array_foreach(keys, i, v)
	{
		const char *s = json_string_value(v);

		vouch_ca_issued_init(&b.issued[i]);
		if (batch_id(prefix, b.ids[i]) != VOUCH_OK) {
			vouch_req_api_error(r, 500, "internal", "no randomness");
			goto out_free;
		}
		if (s == NULL || vouch_ca_base64_decode(s, strlen(s), VOUCH_CA_SPKI_MAX, &b.spki[i],
		                                        &b.spki_len[i]) != VOUCH_OK) {
			snprintf(msg, sizeof(msg), "keys[%zu] is not base64", i);
			vouch_req_api_error(r, 400, "bad_key", msg);
			goto out_free;
		}
	}
	for (int attempt = 0; attempt < VOUCH_ISSUE_ATTEMPTS; attempt++) {
		rc = batch_sign(r, &b, profile, &bad);
		if (rc != VOUCH_OK) {
			snprintf(msg, sizeof(msg), "keys[%zu]: %s", bad, vouch_strerror(rc));
			vouch_req_api_error(r, rc == VOUCH_ERR_INTERNAL ? 500 : 400,
			                    rc == VOUCH_ERR_INTERNAL ? "internal" : "bad_key", msg);
			goto out_free;
		}
		rc = vouch_store_cert_insert_batch(r->svc->store, b.recs, b.n, r->actor);
		if (rc != VOUCH_ERR_STORE_SERIAL_EXISTS)
			break;
	}
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "batch");
		goto out_free;
	}
	snprintf(msg, sizeof(msg), "%zu", b.n);
	vouch_req_note(r, "count", msg);
	if (!batch_reply(r, &b))
		vouch_req_api_error(r, 500, "internal", "cannot encode the certificates");
out_free:
	batch_free(&b);
out_body:
	json_decref(body);
}

/* ---- GET /ca ---- */

static json_t *ca_cert_json(X509 *cert)
{
	char fp[VOUCH_CA_FINGERPRINT_HEX], serial[VOUCH_STORE_SERIAL_MAX + 1];
	char *pem = NULL, *subject = NULL;
	size_t pem_len = 0;
	json_t *obj = NULL;
	BIO *bio = NULL;
	int64_t nb = 0, na = 0;
	struct tm tm;

	if (cert == NULL || vouch_ca_fingerprint(cert, fp) != VOUCH_OK ||
	    vouch_service_cert_serial(cert, serial) != VOUCH_OK ||
	    vouch_ca_cert_pem(cert, &pem, &pem_len) != VOUCH_OK)
		goto out_free;
	if (ASN1_TIME_to_tm(X509_get0_notBefore(cert), &tm) == 1)
		nb = (int64_t)timegm(&tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		na = (int64_t)timegm(&tm);
	/* RFC 2253, as in the certificate summaries. */
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL ||
	    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0 ||
	    BIO_write(bio, "", 1) != 1 || BIO_get_mem_data(bio, &subject) <= 0)
		goto out_free;
	obj = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "subject", subject, "serial", serial,
	                "fingerprint", fp, "not_before", vouch_api_iso_or_null(true, nb),
	                "not_after", vouch_api_iso_or_null(true, na), "pem", pem);
out_free:
	BIO_free(bio);
	free(pem);
	return obj;
}

static void api_ca(struct vouch_req *r)
{
	const struct vouch_store_crl *crl = &r->svc->crl_state[VOUCH_CA_CRL_ISSUING];
	json_t *obj;

	if (!vouch_api_method_is(r, EVHTTP_REQ_GET))
		return;
	obj = json_pack("{s:o?, s:o?, s:o?, s:I, s:o, s:o}", "root",
	                ca_cert_json(vouch_ca_root_cert(r->svc->ca)), "issuing",
	                ca_cert_json(vouch_ca_issuing_cert(r->svc->ca)), "ocsp",
	                ca_cert_json(vouch_ca_ocsp_cert(r->svc->ca)), "crl_number",
	                (json_int_t)crl->number, "this_update",
	                vouch_api_iso_or_null(crl->number != 0, crl->this_update), "next_update",
	                vouch_api_iso_or_null(crl->number != 0, crl->next_update));
	if (obj == NULL || json_object_get(obj, "root") == NULL) {
		json_decref(obj);
		vouch_req_api_error(r, 500, "internal", "cannot encode the CA certificates");
		return;
	}
	vouch_req_reply_json(r, 200, obj);
}

/* ---- GET /events ---- */

static int event_cb(const struct vouch_store_event *ev, void *ctx)
{
	json_t *arr = ctx, *one;
	char *text = NULL;

	if (vouch_store_event_json(ev, &text) != VOUCH_OK)
		return VOUCH_ERR_NOMEM;
	one = json_loads(text, 0, NULL);
	free(text);
	if (one == NULL || json_array_append_new(arr, one) != 0)
		return VOUCH_ERR_NOMEM;
	return 0;
}

static void api_events(struct vouch_req *r)
{
	int64_t after = 0, limit = VOUCH_API_EVENTS_DEFAULT;
	const char *a = vouch_req_query(r, "after"), *l = vouch_req_query(r, "limit");
	json_t *arr;
	int rc;

	if (!vouch_api_method_is(r, EVHTTP_REQ_GET))
		return;
	if (a != NULL && !vouch_api_parse_i64(a, 0, INT64_MAX, &after)) {
		vouch_req_api_error(r, 400, "bad_request", "after must be a sequence number");
		return;
	}
	if (l != NULL && !vouch_api_parse_i64(l, 1, VOUCH_API_EVENTS_MAX, &limit)) {
		vouch_req_api_error(r, 400, "bad_request", "limit must be 1..10000");
		return;
	}
	arr = json_array();
	if (arr == NULL) {
		vouch_req_api_error(r, 500, "internal", "out of memory");
		return;
	}
	rc = vouch_store_event_list(r->svc->store, after, (size_t)limit, event_cb, arr);
	if (rc != VOUCH_OK) {
		json_decref(arr);
		vouch_api_store_error(r, rc, "events");
		return;
	}
	vouch_req_reply_json(r, 200, json_pack("{s:o}", "events", arr));
}

/* ---- routing ---- */

/* Split "a/b/c" into at most max segments (percent-decoded in place); false when a segment is
 * empty, malformed or there are more. */
bool vouch_api_split_path(char *p, char **seg, size_t max, size_t *n)
{
	*n = 0;
	while (*p != '\0') {
		char *slash = strchr(p, '/');

		if (*n == max)
			return false;
		if (slash != NULL)
			*slash = '\0';
		if (*p == '\0')
			return false;
		seg[(*n)++] = p;
		if (slash == NULL)
			break;
		p = slash + 1;
		if (*p == '\0')
			return false; /* trailing slash */
	}
	for (size_t i = 0; i < *n; i++) {
		char *d = evhttp_uridecode(seg[i], 0, NULL);

		if (d == NULL || strlen(d) > strlen(seg[i])) {
			free(d);
			return false;
		}
		memcpy(seg[i], d, strlen(d) + 1);
		free(d);
	}
	return true;
}

/* The directory's routes (api_dir.c); a change to a role or training then revokes the
 * credentials that carry its old form. */
static bool dir_route(struct vouch_req *r, char **seg, size_t n)
{
	static const char *const kinds[] = {"zones", "resources", "trainings", "roles", "policy"};
	bool ours = false;

	for (size_t i = 0; i < VOUCH_ARRAY_LEN(kinds); i++)
		ours = ours || strcmp(seg[0], kinds[i]) == 0;
	if (!ours)
		return false;
	vouch_api_dir_handle(r, seg, n, r->actor);
	if (n == 2 && r->status >= 200 && r->status < 300 &&
	    (r->method == EVHTTP_REQ_PUT || r->method == EVHTTP_REQ_DELETE) &&
	    (strcmp(seg[0], "roles") == 0 || strcmp(seg[0], "trainings") == 0) &&
	    r->svc->people_ready)
		vouch_people_role_changed(&r->svc->people, seg[0][0] == 'r' ? "role" : "training",
		                          seg[1], r->actor);
	if (n == 1 && strcmp(seg[0], "policy") == 0 && r->status >= 200 && r->status < 300 &&
	    r->svc->people_ready)
		vouch_people_policy_loaded(&r->svc->people, r->actor);
	return true;
}

void vouch_api_handle(struct vouch_req *r)
{
	char path[512], serial[VOUCH_STORE_SERIAL_MAX + 1];
	char *actor = r->actor;
	char *seg[8]; /* zone names are paths: /zones/plant/hall-a/line-1 */
	size_t n = 0;
	bool answered = false;

	if (strlen(r->path) - strlen(API_PREFIX "/") >= sizeof(path)) {
		vouch_req_api_error(r, 404, "not_found", "no such API resource");
		return;
	}
	snprintf(path, sizeof(path), "%s", r->path + strlen(API_PREFIX "/"));
	if (!vouch_api_split_path(path, seg, VOUCH_ARRAY_LEN(seg), &n) || n == 0) {
		vouch_req_api_error(r, 404, "not_found", "no such API resource");
		return;
	}
	/* People's own routes (login, their phone, their credentials, the public keys) come
	 * before the admin check: they authenticate the person themselves. */
	if (vouch_people_wallet_handle(r, seg, n))
		return;
	if (vouch_devices_wallet_handle(r, seg, n))
		return;
	/* The admin: the init-time certificate, or a user with an admin role (2 factors). */
	if (vouch_people_session_admin(r, actor, sizeof(r->actor), &answered)) {
		vouch_req_note(r, "admin", actor);
	} else if (answered) {
		return;
	} else {
		if (!admin_ok(r))
			return;
		snprintf(actor, sizeof(r->actor), "%s", API_ACTOR);
	}
	if (vouch_people_admin_handle(r, seg, n, actor))
		return;
	if (dir_route(r, seg, n))
		return;
	if (n == 1 && strcmp(seg[0], "enrol-tokens") == 0) {
		api_enrol_token(r);
	} else if (n == 1 && strcmp(seg[0], "certs") == 0) {
		api_cert_list(r);
	} else if (n == 2 && strcmp(seg[0], "certs") == 0 && strcmp(seg[1], "batch") == 0) {
		api_batch(r);
	} else if ((n == 2 || (n == 3 && strcmp(seg[2], "revoke") == 0)) &&
	           strcmp(seg[0], "certs") == 0) {
		if (vouch_store_serial_canon(seg[1], serial) != VOUCH_OK) {
			vouch_req_api_error(r, 400, "bad_request", "serial must be hex");
			return;
		}
		if (n == 3)
			api_cert_revoke(r, serial);
		else if (vouch_api_method_is(r, EVHTTP_REQ_GET))
			reply_cert(r, serial, true);
	} else if (n == 3 && strcmp(seg[0], "devices") == 0 && strcmp(seg[2], "revoke") == 0) {
		api_device_revoke(r, seg[1]);
	} else if (n == 1 && strcmp(seg[0], "ca") == 0) {
		api_ca(r);
	} else if (n == 1 && strcmp(seg[0], "events") == 0) {
		api_events(r);
	} else {
		vouch_req_api_error(r, 404, "not_found", "no such API resource");
	}
}
