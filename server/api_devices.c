/*
 * vouchd — commissioning sensors (DESIGN.md flow 4, docs/sensor-protocol.md).
 *
 * POST /api/v1/devices/commission, over mutual TLS with a registered phone's certificate. The
 * installer's phone brings what it cannot forge and cannot read:
 *   - the sensor's PKCS#10 CSR, signed by the key in the sensor's secure element;
 *   - the installer's statement, a COSE_Sign1 by the phone key, vouching for that CSR (its
 *     SHA-256), the sensor key's RFC 9679 thumbprint (the pairing code the installer checked in
 *     EDHOC), the zone and the type, the time, and optionally the directory resource the sensor
 *     is to be (`--resource press-1`: "this controller IS press-1").
 * vouchd checks that the person may `commission` in that zone now (the same policy evaluator as
 * everywhere, on the named resource's id, type, zone and tags when there is one), the statement,
 * the CSR and that both name the same key; that a named resource exists, is of the type and zone
 * the sensor reports and is not another live device's already; issues the device certificate
 * (CN = the key's device id, whatever the resource); makes the sensor a resource of the directory
 * (dev-<hex>) or records its binding to the named one; and answers with the bundle: trust
 * anchors and configuration signed by the issuing CA key and sealed (COSE_Encrypt, ECDH-ES +
 * HKDF-256) to the sensor's key, so the phone relays what it cannot read. Every step is an event
 * naming the installer.
 *
 * Bindings. The store's object kinds are fixed (VOUCH_STORE_KINDS) and a resource object refuses
 * unknown members, so a binding lives in the store's meta table, both ways, written in the
 * transaction that issues the certificate (and cleared in the one that decommissions):
 *   binding:dev:<device id>              -> the resource name ("" once unbound)
 *   binding:res:<hex of SHA-256(name)>   -> the device id ("" once unbound); hashed because a
 *                                           resource name may hold '@' and run to 64 bytes
 * The events device.commission and device.decommission carry "resource" for the audit log. A
 * resource counts as taken while the device bound to it holds a valid certificate.
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "ca.h"
#include "devices.h"
#include "directory.h"
#include "handlers.h"
#include "people.h"
#include "store.h"
#include "vouch/cbor.h"
#include "vouch/cose.h"
#include "vouch/cred.h"
#include "vouch/log.h"
#include "vouch/policy.h"

#define STATEMENT_MAX    1024
#define STATEMENT_SKEW_S 300 /* the phone's clock may be this far off */
#define BUNDLE_VERSION   1
#define BUNDLE_MAX       16384
#define SEALED_MAX       (BUNDLE_MAX + 1024)
#define COSE_KEY_MAX     160
#define EVENT_MAX        1024 /* a sensor event, signed (SENSOR_EVENT_MAX) */
#define SENSOR_TEXT_MAX  400
/* Tags a bundle carries: SENSOR_TAGS_MAX of sensor/state.h, the directory's limit per resource. */
#define BUNDLE_TAGS_MAX 32
#define BIND_DEV_PREFIX "binding:dev:"
#define BIND_RES_PREFIX "binding:res:"
#define BIND_HASH_LEN   24 /* bytes of the name's SHA-256 in the key (it must fit 63 bytes) */

static bool text_is(const char *p, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(p, s, len) == 0;
}

/* May user commission the sensor as res now (the resource's id, type, zone and tags)? The
 * decision and its reason. */
static int may_commission(struct vouch_service *svc, const char *user,
                          const struct vouch_policy_resource *res, int64_t now, char *reason,
                          size_t cap)
{
	struct vouch_dir_compiled comp;
	struct vouch_policy_view v;
	struct vouch_policy_request req;
	struct vouch_policy_decision d;
	char err[VOUCH_DIR_ERR_MAX];
	int rc;

	memset(&comp, 0, sizeof(comp));
	rc = vouch_dir_compile_user(svc->store, user, svc->people.tz_rule, now, &comp, err);
	if (rc != VOUCH_OK) {
		snprintf(reason, cap, "%s", err);
		return VOUCH_ERR_POLICY_FORMAT;
	}
	rc = vouch_policy_view_init(&v, comp.perm, comp.perm_len);
	if (rc == VOUCH_OK) {
		memset(&req, 0, sizeof(req));
		req.resource = res;
		req.action = VOUCH_ACTION_COMMISSION;
		req.now = now;
		req.person_zone = res->zone; /* the installer stands at the sensor */
		rc = vouch_policy_decide(&v, &req, &d);
	}
	if (rc == VOUCH_OK) {
		(void)vouch_policy_explain(&v, &req, &d, reason, cap);
		rc = d.permit ? VOUCH_OK : VOUCH_ERR_AUTH;
	}
	vouch_dir_compiled_clear(&comp);
	return rc;
}

static void write_key(struct vouch_cbor_writer *w, const struct vouch_key *k,
                      const uint8_t kid[VOUCH_THUMBPRINT_LEN])
{
	uint8_t buf[COSE_KEY_MAX];
	struct vouch_cbor_writer kw;
	size_t len = 0;

	vouch_cbor_writer_init(&kw, buf, sizeof(buf));
	vouch_cose_key_write_public(&kw, k, kid, VOUCH_THUMBPRINT_LEN, VOUCH_COSE_ALG_ES256);
	if (vouch_cbor_writer_finish(&kw, &len) != VOUCH_OK) {
		w->err = VOUCH_ERR_INTERNAL;
		return;
	}
	vouch_cbor_write_bstr(w, buf, len);
}

struct bundle_in {
	const char *device, *zone, *type, *installer;
	const char *resource; /* what the sensor decides as: the named resource, or device */
	const char *const *tags;
	size_t n_tags;
	const uint8_t *cert;
	size_t cert_len;
	uint8_t *issuing, *root;
	size_t issuing_len, root_len;
	int64_t now;
};

static int bundle_encode(struct vouch_people *pp, const struct bundle_in *b, uint8_t *out,
                         size_t cap, size_t *len)
{
	struct vouch_cbor_writer w;

	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_map(&w, 16);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_uint(&w, BUNDLE_VERSION);
	vouch_cbor_write_uint(&w, 2);
	vouch_cbor_write_cstr(&w, b->device);
	vouch_cbor_write_uint(&w, 3);
	vouch_cbor_write_cstr(&w, b->zone);
	vouch_cbor_write_uint(&w, 4);
	vouch_cbor_write_cstr(&w, b->type);
	vouch_cbor_write_uint(&w, 5);
	vouch_cbor_write_cstr(&w, pp->tz_rule);
	vouch_cbor_write_uint(&w, 6);
	vouch_cbor_write_bstr(&w, b->cert, b->cert_len);
	vouch_cbor_write_uint(&w, 7);
	vouch_cbor_write_array(&w, 2);
	vouch_cbor_write_bstr(&w, b->issuing, b->issuing_len);
	vouch_cbor_write_bstr(&w, b->root, b->root_len);
	vouch_cbor_write_uint(&w, 8);
	write_key(&w, &pp->issuer_pub, pp->issuer_kid);
	vouch_cbor_write_uint(&w, 9);
	write_key(&w, &pp->revlist_pub, pp->revlist_kid);
	vouch_cbor_write_uint(&w, 10);
	write_key(&w, &pp->firmware_pub, pp->firmware_kid);
	vouch_cbor_write_uint(&w, 11);
	vouch_cbor_write_cstr(&w, pp->iss);
	vouch_cbor_write_uint(&w, 12);
	vouch_cbor_write_cstr(&w, pp->site_id);
	vouch_cbor_write_uint(&w, 13);
	vouch_cbor_write_cstr(&w, b->installer);
	vouch_cbor_write_uint(&w, 14);
	vouch_cbor_write_int(&w, b->now);
	vouch_cbor_write_uint(&w, 15);
	vouch_cbor_write_cstr(&w, b->resource);
	vouch_cbor_write_uint(&w, 16);
	vouch_cbor_write_array(&w, b->n_tags);
	for (size_t i = 0; i < b->n_tags; i++)
		vouch_cbor_write_cstr(&w, b->tags[i]);
	return vouch_cbor_writer_finish(&w, len);
}

/* Sign the bundle with the issuing CA key, then seal it to the sensor's key. */
static int bundle_seal(struct vouch_people *pp, const struct bundle_in *b,
                       const struct vouch_key *device_key, uint8_t **out, size_t *out_len)
{
	struct vouch_cose_hdr_params hp;
	struct vouch_cose_recipient rcpt;
	uint8_t *plain = NULL, *signed_ = NULL, *sealed = NULL;
	size_t plain_len = 0, signed_len = 0, sealed_len = 0;
	int rc = VOUCH_ERR_NOMEM;

	*out = NULL;
	*out_len = 0;
	plain = malloc(BUNDLE_MAX);
	signed_ = malloc(BUNDLE_MAX + 256);
	sealed = malloc(SEALED_MAX);
	if (plain == NULL || signed_ == NULL || sealed == NULL)
		goto out_free;
	rc = bundle_encode(pp, b, plain, BUNDLE_MAX, &plain_len);
	if (rc != VOUCH_OK)
		goto out_free;
	memset(&hp, 0, sizeof(hp));
	hp.alg = VOUCH_COSE_ALG_ES256;
	rc = vouch_cose_sign1_create(&pp->bundle_signer, &hp, plain, plain_len, NULL, 0, true,
	                             false, signed_, BUNDLE_MAX + 256, &signed_len);
	if (rc != VOUCH_OK)
		goto out_free;
	memset(&hp, 0, sizeof(hp));
	hp.alg = VOUCH_COSE_ALG_AES_CCM_16_64_128;
	memset(&rcpt, 0, sizeof(rcpt));
	rcpt.alg = VOUCH_COSE_ALG_ECDH_ES_HKDF_256; /* no AES-KW in the sensors' Mbed TLS */
	rcpt.peer = device_key;
	rc = vouch_cose_encrypt_create(&hp, &rcpt, 1, signed_, signed_len, NULL, 0, true, sealed,
	                               SEALED_MAX, &sealed_len);
	if (rc != VOUCH_OK)
		goto out_free;
	*out = sealed;
	*out_len = sealed_len;
	sealed = NULL;
out_free:
	/* The bundle holds no secret, but nothing of it should linger either. */
	if (plain != NULL)
		vouch_wipe(plain, BUNDLE_MAX);
	free(plain);
	free(signed_);
	free(sealed);
	return rc;
}

/* ---- bindings of devices to named resources (the top of this file) ---- */

/* false when device is too long for a key: such a name was never bound (commissioning binds
 * dev-<16 hex> only). */
static bool bind_key_dev(const char *device, char key[VOUCH_STORE_KEY_MAX + 1])
{
	size_t plen = strlen(BIND_DEV_PREFIX), len = strlen(device);

	key[0] = '\0';
	if (plen + len > VOUCH_STORE_KEY_MAX)
		return false;
	memcpy(key, BIND_DEV_PREFIX, plen);
	memcpy(key + plen, device, len + 1);
	return true;
}

static int bind_key_res(const char *name, char key[VOUCH_STORE_KEY_MAX + 1])
{
	uint8_t h[VOUCH_SHA256_LEN];
	size_t plen = strlen(BIND_RES_PREFIX);
	int rc = vouch_sha256((const uint8_t *)name, strlen(name), h);

	if (rc != VOUCH_OK)
		return rc;
	memcpy(key, BIND_RES_PREFIX, plen);
	vouch_api_hex(h, BIND_HASH_LEN, key + plen);
	return VOUCH_OK;
}

/* The text stored under key; "" when there is none. */
static int bind_get(struct vouch_store *store, const char *key, char out[VOUCH_STORE_ID_MAX + 1])
{
	unsigned char *v = NULL;
	size_t len = 0;
	int rc = vouch_store_meta_get(store, key, &v, &len);

	out[0] = '\0';
	if (rc == VOUCH_ERR_STORE_NOT_FOUND)
		rc = VOUCH_OK;
	else if (rc == VOUCH_OK && len > VOUCH_STORE_ID_MAX)
		rc = VOUCH_ERR_STORE_CORRUPT;
	else if (rc == VOUCH_OK) {
		memcpy(out, v, len);
		out[len] = '\0';
	}
	free(v);
	return rc;
}

static int bind_put(struct vouch_store *store, const char *key, const char *text)
{
	return vouch_store_meta_set(store, key, text, strlen(text));
}

/* The resource device is bound to ("" when none). */
static int binding_of_device(struct vouch_store *store, const char *device,
                             char resource[VOUCH_STORE_ID_MAX + 1])
{
	char key[VOUCH_STORE_KEY_MAX + 1];

	resource[0] = '\0';
	return bind_key_dev(device, key) ? bind_get(store, key, resource) : VOUCH_OK;
}

/* The device bound to resource ("" when none). */
static int binding_of_resource(struct vouch_store *store, const char *resource,
                               char device[VOUCH_STORE_ID_MAX + 1])
{
	char key[VOUCH_STORE_KEY_MAX + 1];
	int rc = bind_key_res(resource, key);

	device[0] = '\0';
	return rc == VOUCH_OK ? bind_get(store, key, device) : rc;
}

/*
 * Bind device to resource (NULL: to no named resource), inside the caller's transaction. An
 * older binding of the device to another resource is dropped (that resource is free again);
 * nothing is written for a device that never was bound.
 */
static int binding_set(struct vouch_store *store, const char *device, const char *resource)
{
	char dkey[VOUCH_STORE_KEY_MAX + 1], rkey[VOUCH_STORE_KEY_MAX + 1];
	char old[VOUCH_STORE_ID_MAX + 1], holder[VOUCH_STORE_ID_MAX + 1];
	int rc =
	    bind_key_dev(device, dkey) ? binding_of_device(store, device, old) : VOUCH_ERR_INVALID;

	if (rc == VOUCH_OK && old[0] != '\0' && (resource == NULL || strcmp(old, resource) != 0)) {
		rc = binding_of_resource(store, old, holder);
		if (rc == VOUCH_OK && strcmp(holder, device) == 0)
			rc = bind_key_res(old, rkey);
		if (rc == VOUCH_OK && strcmp(holder, device) == 0)
			rc = bind_put(store, rkey, "");
	}
	if (rc == VOUCH_OK && resource != NULL) {
		rc = bind_key_res(resource, rkey);
		if (rc == VOUCH_OK)
			rc = bind_put(store, rkey, device);
	}
	if (rc == VOUCH_OK && (resource != NULL || old[0] != '\0'))
		rc = bind_put(store, dkey, resource != NULL ? resource : "");
	return rc;
}

static int note_found(const struct vouch_store_cert *cert, void *ctx)
{
	(void)cert;
	*(bool *)ctx = true;
	return 1;
}

/* Does device hold a certificate valid at now? */
static int has_valid_cert(struct vouch_store *store, const char *device, int64_t now, bool *yes)
{
	struct vouch_store_cert_filter f;

	*yes = false;
	memset(&f, 0, sizeof(f));
	f.device = device;
	f.status = VOUCH_STORE_STATUS_VALID;
	f.now = now;
	f.limit = 1;
	return vouch_store_cert_list(store, &f, note_found, yes);
}

/* A directory resource as the policy sees it (pointers into obj). */
struct named_resource {
	json_t *obj;
	const char *type, *zone;
	const char *tags[BUNDLE_TAGS_MAX];
	size_t n_tags;
};

/* Read resource name from the directory. VOUCH_ERR_STORE_NOT_FOUND when there is none;
 * VOUCH_ERR_STORE_CORRUPT when the stored object is not a resource a bundle can carry. */
static int named_resource_get(struct vouch_store *store, const char *name,
                              struct named_resource *nr)
{
	struct vouch_store_obj o;
	json_t *tags, *v;
	size_t i;
	int rc;

	memset(nr, 0, sizeof(*nr));
	rc = vouch_store_obj_get(store, "resource", name, &o);
	if (rc != VOUCH_OK)
		return rc;
	rc = VOUCH_ERR_STORE_CORRUPT;
	nr->obj = json_loadb(o.json, o.json_len, 0, NULL);
	vouch_store_obj_clear(&o);
	nr->type = json_string_value(json_object_get(nr->obj, "type"));
	nr->zone = json_string_value(json_object_get(nr->obj, "zone"));
	tags = json_object_get(nr->obj, "tags");
	if (nr->type == NULL || nr->zone == NULL || (tags != NULL && !json_is_array(tags)) ||
	    json_array_size(tags) > BUNDLE_TAGS_MAX)
		return rc;
	json_array_foreach(tags, i, v)
	{
		nr->tags[i] = json_string_value(v);
		if (nr->tags[i] == NULL || nr->tags[i][0] == '\0' ||
		    strlen(nr->tags[i]) > VOUCH_POLICY_NAME_MAX)
			return rc;
		nr->n_tags = i + 1;
	}
	return VOUCH_OK;
}

/*
 * The registered, active phone at the other end of the mutual TLS connection and its owner;
 * answers 401/403 itself and returns false otherwise. *pj (when not NULL): the phone's record.
 */
static bool caller_phone(struct vouch_req *r, char user[VOUCH_STORE_ID_MAX + 1],
                         char phone[VOUCH_STORE_ID_MAX + 1], json_t **pj)
{
	struct vouch_store_obj pobj;
	const char *status;
	json_t *j = NULL;
	bool ok = false;

	if (pj != NULL)
		*pj = NULL;
	memset(&pobj, 0, sizeof(pobj));
	if (r->peer == NULL) {
		vouch_req_api_error(r, 401, "unauthorized", "a phone certificate is required");
		return false;
	}
	if (!vouch_people_mtls_phone(r, user, phone))
		return false;
	if (vouch_store_obj_get(r->svc->store, "phone", phone, &pobj) != VOUCH_OK) {
		vouch_req_api_error(r, 403, "forbidden", "unknown phone");
		goto out_free;
	}
	snprintf(user, VOUCH_STORE_ID_MAX + 1, "%s", pobj.owner);
	vouch_req_note(r, "user", user);
	vouch_req_note(r, "phone", phone);
	j = json_loadb(pobj.json, pobj.json_len, 0, NULL);
	status = j != NULL ? json_string_value(json_object_get(j, "status")) : NULL;
	if (status == NULL || strcmp(status, "active") != 0) {
		vouch_req_api_error(r, 403, "forbidden", "phone revoked");
		goto out_free;
	}
	ok = true;
	if (pj != NULL) {
		*pj = j;
		j = NULL;
	}
out_free:
	json_decref(j);
	vouch_store_obj_clear(&pobj);
	return ok;
}

static void api_commission(struct vouch_req *r)
{
	struct vouch_service *svc = r->svc;
	struct vouch_people *pp = &svc->people;
	char user[VOUCH_STORE_ID_MAX + 1], phone[VOUCH_STORE_ID_MAX + 1];
	char device[32], tp_hex[2 * VOUCH_THUMBPRINT_LEN + 1], actor[VOUCH_STORE_ACTOR_MAX];
	char zone[VOUCH_POLICY_NAME_MAX + 1], type[VOUCH_POLICY_NAME_MAX + 1], reason[512];
	char resource[VOUCH_STORE_ID_MAX + 1], holder[VOUCH_STORE_ID_MAX + 1];
	char err[VOUCH_DIR_ERR_MAX], *fields = NULL, *bundle_b64 = NULL;
	const char *csr_b64 = NULL, *st_b64 = NULL, *phone_spki_b64;
	uint8_t *csr = NULL, *stmt = NULL, *spki = NULL, *sealed = NULL;
	uint8_t csr_hash[VOUCH_SHA256_LEN], tp[VOUCH_THUMBPRINT_LEN];
	size_t csr_len = 0, stmt_len = 0, spki_len = 0, sealed_len = 0;
	struct vouch_cose_sign1 s1;
	struct vouch_devices_statement st;
	struct vouch_key phone_key, device_key;
	struct vouch_ca_subject subj;
	struct vouch_ca_issued is;
	struct vouch_store_cert rec;
	struct bundle_in b;
	struct named_resource nres;
	struct vouch_policy_resource pres;
	json_t *body = NULL, *pj = NULL, *res = NULL, *fj = NULL;
	int64_t now = (int64_t)time(NULL);
	X509_REQ *req = NULL;
	const unsigned char *p;
	EVP_PKEY *csr_key;
	bool in_tx = false, taken = false;
	int rc = VOUCH_ERR_INTERNAL;

	vouch_key_init(&phone_key);
	vouch_key_init(&device_key);
	memset(&b, 0, sizeof(b));
	memset(&nres, 0, sizeof(nres));
	memset(&pres, 0, sizeof(pres));
	resource[0] = holder[0] = err[0] = '\0';
	vouch_ca_issued_init(&is);
	if (!vouch_api_method_is(r, EVHTTP_REQ_POST))
		return;
	if (!caller_phone(r, user, phone, &pj))
		goto out_free;
	phone_spki_b64 = json_string_value(json_object_get(pj, "public_key"));
	if (phone_spki_b64 == NULL) {
		vouch_req_api_error(r, 500, "internal", "phone key unreadable");
		goto out_free;
	}
	body = vouch_api_body_object(r, true);
	if (body == NULL || !vouch_api_member_string(r, body, "csr", NULL, &csr_b64) ||
	    !vouch_api_member_string(r, body, "statement", NULL, &st_b64))
		goto out_free;
	if (csr_b64 == NULL || st_b64 == NULL) {
		vouch_req_api_error(r, 400, "bad_request",
		                    "\"csr\" and \"statement\" are required");
		goto out_free;
	}
	if (vouch_ca_base64_decode(csr_b64, strlen(csr_b64), VOUCH_CA_CSR_MAX, &csr, &csr_len) !=
	        VOUCH_OK ||
	    vouch_ca_base64_decode(st_b64, strlen(st_b64), STATEMENT_MAX, &stmt, &stmt_len) !=
	        VOUCH_OK) {
		vouch_req_api_error(r, 400, "bad_request",
		                    "\"csr\" or \"statement\" is not base64");
		goto out_free;
	}

	/* The statement: signed by this phone's key, about this CSR, recent. */
	if (vouch_ca_base64_decode(phone_spki_b64, strlen(phone_spki_b64), VOUCH_CA_SPKI_MAX, &spki,
	                           &spki_len) != VOUCH_OK ||
	    vouch_key_import_spki(&phone_key, spki, spki_len) != VOUCH_OK) {
		vouch_req_api_error(r, 500, "internal", "phone key unreadable");
		goto out_free;
	}
	rc = vouch_cose_sign1_decode(stmt, stmt_len, &s1);
	if (rc == VOUCH_OK)
		rc = vouch_cose_sign1_verify(&s1, &phone_key, NULL, 0, NULL, 0);
	if (rc != VOUCH_OK || s1.payload == NULL) {
		vouch_req_api_error(r, 400, "bad_statement",
		                    "the statement is not signed by this phone's key");
		goto out_free;
	}
	rc = vouch_devices_statement_read(s1.payload, s1.payload_len, &st);
	if (rc != VOUCH_OK) {
		vouch_req_api_error(r, 400, "bad_statement", "the statement is malformed");
		goto out_free;
	}
	if (st.zone_len > VOUCH_POLICY_NAME_MAX || st.type_len > VOUCH_POLICY_NAME_MAX ||
	    st.zone_len == 0 || st.type_len == 0 || !text_is(st.phone, st.phone_len, phone)) {
		vouch_req_api_error(r, 400, "bad_statement",
		                    "the statement names another phone, or a bad zone or type");
		goto out_free;
	}
	if (st.time < now - STATEMENT_SKEW_S || st.time > now + STATEMENT_SKEW_S) {
		vouch_req_api_error(r, 400, "bad_statement", "the statement is not recent");
		goto out_free;
	}
	memcpy(zone, st.zone, st.zone_len);
	zone[st.zone_len] = '\0';
	memcpy(type, st.type, st.type_len);
	type[st.type_len] = '\0';
	if (vouch_sha256(csr, csr_len, csr_hash) != VOUCH_OK ||
	    !vouch_ct_equal(csr_hash, st.csr_hash, sizeof(csr_hash))) {
		vouch_req_api_error(r, 400, "bad_statement",
		                    "the statement vouches for another CSR");
		goto out_free;
	}

	/* The CSR's key is the one the installer saw proven (the pairing code's thumbprint). */
	p = csr;
	req = d2i_X509_REQ(NULL, &p, (long)csr_len);
	csr_key = req != NULL ? X509_REQ_get0_pubkey(req) : NULL;
	if (csr_key == NULL || p != csr + csr_len) {
		vouch_req_api_error(r, 400, "bad_csr", "the CSR is not DER PKCS#10");
		goto out_free;
	}
	{
		unsigned char *der = NULL;
		int der_len = i2d_PUBKEY(csr_key, &der);

		rc = der_len > 0 ? vouch_key_import_spki(&device_key, der, (size_t)der_len)
		                 : VOUCH_ERR_KEY;
		OPENSSL_free(der);
	}
	if (rc == VOUCH_OK && device_key.type != VOUCH_KEY_P256)
		rc = VOUCH_ERR_X509_KEY_POLICY;
	if (rc == VOUCH_OK)
		rc = vouch_cose_key_thumbprint(&device_key, tp);
	if (rc != VOUCH_OK) {
		vouch_req_api_error(r, 400, "bad_csr", "the CSR's key is not a P-256 key");
		goto out_free;
	}
	if (!vouch_ct_equal(tp, st.thumbprint, sizeof(tp))) {
		vouch_req_api_error(r, 400, "bad_statement",
		                    "the CSR's key is not the key the installer checked");
		goto out_free;
	}
	vouch_api_hex(tp, sizeof(tp), tp_hex);
	snprintf(device, sizeof(device), "dev-%.16s", tp_hex);
	vouch_req_note(r, "device", device);
	snprintf(actor, sizeof(actor), "user:%s", user);
	if (st.resource != NULL) {
		if (st.resource_len == 0 || st.resource_len > VOUCH_STORE_ID_MAX ||
		    memchr(st.resource, '\0', st.resource_len) != NULL) {
			vouch_req_api_error(r, 400, "bad_statement",
			                    "the statement names a malformed resource");
			goto out_free;
		}
		memcpy(resource, st.resource, st.resource_len);
		resource[st.resource_len] = '\0';
		vouch_req_note(r, "resource", resource);
	}

	/*
	 * From here on one write transaction: what is checked about the resource and its binding
	 * stays true until the certificate and the binding are written (two installers binding two
	 * sensors to one resource at once: the second sees the first).
	 */
	rc = vouch_store_tx_begin(svc->store);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "device");
		goto out_free;
	}
	in_tx = true;
	memset(&pres, 0, sizeof(pres));
	pres.id = device;
	pres.type = type;
	pres.zone = zone;
	if (resource[0] != '\0') {
		rc = named_resource_get(svc->store, resource, &nres);
		if (rc == VOUCH_ERR_STORE_NOT_FOUND || rc == VOUCH_ERR_INVALID) {
			snprintf(reason, sizeof(reason), "no resource \"%s\" in the directory",
			         resource);
			vouch_req_api_error(r, 404, "unknown_resource", reason);
			goto out_free;
		}
		if (rc != VOUCH_OK) {
			vouch_api_store_error(r, rc, "resource");
			goto out_free;
		}
		/* The installer vouches for the binding, not for what the sensor is: a door
		 * sensor does not become a press by being called one. */
		if (strcmp(nres.type, type) != 0 || strcmp(nres.zone, zone) != 0) {
			snprintf(reason, sizeof(reason),
			         "resource %s is a %s in zone %s, but the sensor reports a %s in "
			         "zone %s: not commissioned as %s",
			         resource, nres.type, nres.zone, type, zone, resource);
			vouch_req_api_error(r, 409, "resource_mismatch", reason);
			goto out_free;
		}
		pres.id = resource;
		pres.tags = nres.n_tags > 0 ? nres.tags : NULL;
		pres.n_tags = nres.n_tags;
	}

	/* The installer's authority: the policy, now, at that resource. */
	rc = may_commission(svc, user, &pres, now, reason, sizeof(reason));
	if (rc != VOUCH_OK) {
		vouch_store_tx_rollback(svc->store);
		in_tx = false;
		fj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "installer", user, "phone",
		               phone, "device", device, "zone", zone, "type", type, "reason",
		               reason, "resource", pres.id);
		fields = fj != NULL ? json_dumps(fj, JSON_COMPACT) : NULL;
		if (fields != NULL)
			(void)vouch_store_event_append(svc->store, "device.commission.refused",
			                               actor, fields, NULL);
		vouch_req_api_error(r, 403, "forbidden", reason);
		goto out_free;
	}

	if (resource[0] != '\0') {
		/* A resource is one thing: another device's own, or bound to a device that is
		 * still certified, it is taken. */
		rc = has_valid_cert(svc->store, resource, now, &taken);
		if (rc == VOUCH_OK && taken) {
			snprintf(reason, sizeof(reason),
			         "resource %s is the device %s itself, not a resource a sensor can "
			         "be commissioned as",
			         resource, resource);
			vouch_req_api_error(r, 409, "resource_bound", reason);
			goto out_free;
		}
		if (rc == VOUCH_OK)
			rc = binding_of_resource(svc->store, resource, holder);
		if (rc == VOUCH_OK && holder[0] != '\0' && strcmp(holder, device) != 0)
			rc = has_valid_cert(svc->store, holder, now, &taken);
		if (rc != VOUCH_OK) {
			vouch_api_store_error(r, rc, "binding");
			goto out_free;
		}
		if (taken) {
			snprintf(reason, sizeof(reason),
			         "resource %s is already bound to device %s, which holds a valid "
			         "certificate: decommission it first",
			         resource, holder);
			vouch_req_api_error(r, 409, "resource_bound", reason);
			goto out_free;
		}
		/* A first attempt of this same key without a resource made it its own one. */
		rc = vouch_dir_delete(svc->store, "resource", device, actor, err);
		if (rc == VOUCH_ERR_STORE_NOT_FOUND || rc == VOUCH_ERR_STORE_IN_USE) {
			rc = VOUCH_OK;
			err[0] = '\0';
		}
	} else {
		/* The sensor as a resource of the directory (explain and policy name it). */
		res = json_pack("{s:s, s:s}", "type", type, "zone", zone);
		rc = res == NULL ? VOUCH_ERR_NOMEM
		                 : vouch_dir_put(svc->store, "resource", device, res,
		                                 VOUCH_STORE_ANY, now, actor, NULL, err);
	}
	if (rc == VOUCH_OK)
		rc = binding_set(svc->store, device, resource[0] != '\0' ? resource : NULL);
	if (rc != VOUCH_OK) {
		vouch_req_api_error(r, 409, "directory", err[0] != '\0' ? err : vouch_strerror(rc));
		goto out_free;
	}

	memset(&subj, 0, sizeof(subj));
	subj.profile = VOUCH_CA_PROFILE_DEVICE;
	subj.id = device;
	for (int attempt = 0; attempt < VOUCH_ISSUE_ATTEMPTS; attempt++) {
		vouch_ca_issued_clear(&is);
		vouch_ca_issued_init(&is);
		rc = vouch_ca_issue_csr(svc->ca, csr, csr_len, &subj, &is);
		if (rc != VOUCH_OK)
			break;
		rc = vouch_service_issued_record(&is, &subj, "commission", &rec);
		if (rc != VOUCH_OK)
			break;
		rc = vouch_store_cert_insert(svc->store, &rec, actor);
		if (rc != VOUCH_ERR_STORE_SERIAL_EXISTS)
			break;
	}
	if (rc == VOUCH_ERR_VERIFY || rc == VOUCH_ERR_X509_MALFORMED ||
	    rc == VOUCH_ERR_X509_KEY_POLICY || rc == VOUCH_ERR_X509_TOO_LARGE) {
		vouch_req_api_error(r, 400, "bad_csr", vouch_strerror(rc));
		goto out_free;
	}
	if (rc == VOUCH_OK)
		rc = vouch_store_tx_commit(svc->store);
	in_tx = false;
	if (rc != VOUCH_OK) {
		vouch_store_tx_rollback(svc->store);
		vouch_log(VOUCH_LOG_ERROR, "device.commission", "why", vouch_strerror(rc), NULL);
		vouch_req_api_error(r, 500, "internal", "cannot issue the device certificate");
		goto out_free;
	}

	b.device = device;
	b.zone = zone;
	b.type = type;
	b.installer = user;
	b.resource = pres.id;
	b.tags = pres.tags;
	b.n_tags = pres.n_tags;
	b.cert = is.der;
	b.cert_len = is.der_len;
	b.now = now;
	rc = vouch_ca_cert_der(vouch_ca_issuing_cert(svc->ca), &b.issuing, &b.issuing_len);
	if (rc == VOUCH_OK)
		rc = vouch_ca_cert_der(vouch_ca_root_cert(svc->ca), &b.root, &b.root_len);
	if (rc == VOUCH_OK)
		rc = bundle_seal(pp, &b, &device_key, &sealed, &sealed_len);
	if (rc == VOUCH_OK)
		rc = vouch_api_b64_text(sealed, sealed_len, &bundle_b64) ? VOUCH_OK
		                                                         : VOUCH_ERR_NOMEM;
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "device.bundle", "why", vouch_strerror(rc), NULL);
		vouch_req_api_error(r, 500, "internal", "cannot make the bundle");
		goto out_free;
	}
	fj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "installer", user, "phone",
	               phone, "device", device, "zone", zone, "type", type, "serial", is.serial,
	               "key", tp_hex, "resource", pres.id);
	fields = fj != NULL ? json_dumps(fj, JSON_COMPACT) : NULL;
	rc = fields == NULL
	         ? VOUCH_ERR_NOMEM
	         : vouch_store_event_append(svc->store, "device.commission", actor, fields, NULL);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "event");
		goto out_free;
	}
	vouch_req_reply_json(r, 200,
	                     json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "device", device,
	                               "resource", pres.id, "zone", zone, "type", type, "serial",
	                               is.serial, "bundle", bundle_b64));
out_free:
	if (in_tx)
		vouch_store_tx_rollback(svc->store);
	json_decref(nres.obj);
	free(fields);
	free(bundle_b64);
	free(sealed);
	free(b.issuing);
	free(b.root);
	free(csr);
	free(stmt);
	free(spki);
	X509_REQ_free(req);
	json_decref(fj);
	json_decref(res);
	json_decref(pj);
	json_decref(body);
	vouch_ca_issued_clear(&is);
	vouch_key_clear(&phone_key);
	vouch_key_clear(&device_key);
}

/* ---- POST /api/v1/devices/decommission ---- */

/* The device's newest valid certificate (DER copied into *der), for its key. */
struct newest_cert {
	unsigned char *der;
	size_t der_len;
	char serial[VOUCH_STORE_SERIAL_MAX + 1];
};

static int keep_newest(const struct vouch_store_cert *cert, void *ctx)
{
	struct newest_cert *nc = ctx;
	unsigned char *copy = malloc(cert->der_len);

	if (copy == NULL)
		return VOUCH_ERR_NOMEM;
	memcpy(copy, cert->der, cert->der_len);
	free(nc->der);
	nc->der = copy;
	nc->der_len = cert->der_len;
	snprintf(nc->serial, sizeof(nc->serial), "%s", cert->serial);
	return 0;
}

static int device_key_of(struct vouch_store *store, const char *device, int64_t now,
                         struct vouch_key *key, char serial[VOUCH_STORE_SERIAL_MAX + 1])
{
	struct vouch_store_cert_filter f;
	struct newest_cert nc;
	const unsigned char *p;
	unsigned char *spki = NULL;
	X509 *x = NULL;
	int spki_len, rc;

	memset(&f, 0, sizeof(f));
	memset(&nc, 0, sizeof(nc));
	f.device = device;
	f.status = VOUCH_STORE_STATUS_VALID;
	f.now = now;
	f.with_der = true;
	rc = vouch_store_cert_list(store, &f, keep_newest, &nc);
	if (rc == VOUCH_OK && nc.der == NULL)
		rc = VOUCH_ERR_STORE_NOT_FOUND;
	if (rc != VOUCH_OK)
		goto out_free;
	p = nc.der;
	x = d2i_X509(NULL, &p, (long)nc.der_len);
	spki_len = x != NULL ? i2d_PUBKEY(X509_get0_pubkey(x), &spki) : -1;
	rc = spki_len > 0 ? vouch_key_import_spki(key, spki, (size_t)spki_len) : VOUCH_ERR_KEY;
	snprintf(serial, VOUCH_STORE_SERIAL_MAX + 1, "%s", nc.serial);
out_free:
	OPENSSL_free(spki);
	X509_free(x);
	free(nc.der);
	return rc;
}

/*
 * The sensor's own `decommission` event, signed by its key before it wiped itself, relayed by
 * the phone that asked for it. It is proof the sensor did it (only its key signs so), naming the
 * person whose credential allowed it; vouchd revokes the device's certificates, removes it from
 * the directory and records device.decommission. A relayed event can be used once: afterwards
 * the device has no valid certificate left to verify it with. A device commissioned as a named
 * resource leaves that resource in the directory (it is the plant's, not the device's): only
 * the binding goes, and the resource is free for the sensor that replaces it.
 */
static void api_decommission(struct vouch_req *r)
{
	struct vouch_service *svc = r->svc;
	char user[VOUCH_STORE_ID_MAX + 1], phone[VOUCH_STORE_ID_MAX + 1];
	char device[VOUCH_STORE_DEVICE_MAX + 1], serial[VOUCH_STORE_SERIAL_MAX + 1];
	char actor[VOUCH_STORE_ACTOR_MAX], installer[VOUCH_STORE_ID_MAX + 1], who[128];
	char reason[SENSOR_TEXT_MAX], seq_s[24], err[VOUCH_DIR_ERR_MAX], *fields = NULL;
	char bound[VOUCH_STORE_ID_MAX + 1];
	const char *ev_b64 = NULL;
	uint8_t *evbuf = NULL;
	size_t evlen = 0, count = 0;
	struct vouch_cose_sign1 s1;
	struct vouch_devices_event ev;
	struct vouch_key key;
	json_t *body = NULL, *fj = NULL;
	int64_t now = (int64_t)time(NULL);
	bool kept = false;
	int rc;

	vouch_key_init(&key);
	bound[0] = '\0';
	if (!vouch_api_method_is(r, EVHTTP_REQ_POST))
		return;
	if (!caller_phone(r, user, phone, NULL))
		return;
	body = vouch_api_body_object(r, true);
	if (body == NULL || !vouch_api_member_string(r, body, "event", NULL, &ev_b64))
		goto out_free;
	if (ev_b64 == NULL ||
	    vouch_ca_base64_decode(ev_b64, strlen(ev_b64), EVENT_MAX, &evbuf, &evlen) != VOUCH_OK) {
		vouch_req_api_error(r, 400, "bad_request", "\"event\" (base64) is required");
		goto out_free;
	}
	if (vouch_cose_sign1_decode(evbuf, evlen, &s1) != VOUCH_OK || s1.payload == NULL ||
	    vouch_devices_event_read(s1.payload, s1.payload_len, &ev) != VOUCH_OK) {
		vouch_req_api_error(r, 400, "bad_event", "not a sensor's signed event");
		goto out_free;
	}
	if (!text_is(ev.kind, ev.kind_len, "decommission")) {
		vouch_req_api_error(r, 400, "bad_event", "not a decommission event");
		goto out_free;
	}
	if (ev.device_len >= sizeof(device) || ev.subject == NULL ||
	    ev.subject_len >= sizeof(installer)) {
		vouch_req_api_error(r, 400, "bad_event", "the event names no device or person");
		goto out_free;
	}
	memcpy(device, ev.device, ev.device_len);
	device[ev.device_len] = '\0';
	memcpy(installer, ev.subject, ev.subject_len);
	installer[ev.subject_len] = '\0';
	if (!vouch_api_id_ok(device) || !vouch_api_id_ok(installer)) {
		vouch_req_api_error(r, 400, "bad_event", "malformed device or person id");
		goto out_free;
	}
	vouch_req_note(r, "device", device);
	rc = device_key_of(svc->store, device, now, &key, serial);
	if (rc == VOUCH_ERR_STORE_NOT_FOUND) {
		vouch_req_api_error(
		    r, 409, "not_commissioned",
		    "the device holds no valid certificate (decommissioned already?)");
		goto out_free;
	}
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "device");
		goto out_free;
	}
	if (vouch_cose_sign1_verify(&s1, &key, NULL, 0, NULL, 0) != VOUCH_OK) {
		vouch_req_api_error(r, 400, "bad_event",
		                    "the event is not signed by the device's certified key");
		goto out_free;
	}
	snprintf(actor, sizeof(actor), "user:%s", user);
	snprintf(who, sizeof(who), "%.*s", (int)(ev.who != NULL ? ev.who_len : 0),
	         ev.who != NULL ? ev.who : "");
	snprintf(reason, sizeof(reason), "%.*s", (int)(ev.reason != NULL ? ev.reason_len : 0),
	         ev.reason != NULL ? ev.reason : "");
	snprintf(seq_s, sizeof(seq_s), "%llu", (unsigned long long)ev.seq);

	rc = vouch_store_tx_begin(svc->store);
	if (rc == VOUCH_OK)
		rc = binding_of_device(svc->store, device, bound);
	/* The sensor signed what it was commissioned as; it must be what vouchd bound. */
	if (rc == VOUCH_OK && ev.resource != NULL &&
	    !text_is(ev.resource, ev.resource_len, bound)) {
		vouch_store_tx_rollback(svc->store);
		vouch_req_api_error(r, 400, "bad_event",
		                    "the event names another resource than the device is bound to");
		goto out_free;
	}
	if (rc == VOUCH_OK)
		rc = vouch_store_device_revoke(svc->store, device, "cessationOfOperation", now,
		                               actor, &count);
	if (rc == VOUCH_OK && bound[0] != '\0') {
		/* The plant's resource stays; the device no longer is it. */
		kept = true;
		rc = binding_set(svc->store, device, NULL);
	} else if (rc == VOUCH_OK) {
		/* A resource a role still names stays (the policy would not load without it). */
		rc = vouch_dir_delete(svc->store, "resource", device, actor, err);
		if (rc == VOUCH_ERR_STORE_IN_USE || rc == VOUCH_ERR_STORE_NOT_FOUND) {
			kept = rc == VOUCH_ERR_STORE_IN_USE;
			rc = VOUCH_OK;
		}
	}
	if (rc == VOUCH_OK) {
		fj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:b, s:s}", "device",
		               device, "installer", installer, "phone", who, "relayed_by", phone,
		               "seq", seq_s, "reason", reason, "sensor_time", (json_int_t)ev.time,
		               "serial", serial, "directory_kept", kept, "resource",
		               bound[0] != '\0' ? bound : device);
		fields = fj != NULL ? json_dumps(fj, JSON_COMPACT) : NULL;
		rc = fields == NULL ? VOUCH_ERR_NOMEM
		                    : vouch_store_event_append(svc->store, "device.decommission",
		                                               actor, fields, NULL);
	}
	if (rc == VOUCH_OK)
		rc = vouch_store_tx_commit(svc->store);
	else
		vouch_store_tx_rollback(svc->store);
	if (rc != VOUCH_OK) {
		vouch_api_store_error(r, rc, "device");
		goto out_free;
	}
	if (count > 0)
		vouch_api_crl_after_revoke(r);
	vouch_req_reply_json(r, 200,
	                     json_pack("{s:s, s:s, s:s, s:I}", "device", device, "resource",
	                               bound[0] != '\0' ? bound : device, "installer", installer,
	                               "revoked", (json_int_t)count));
out_free:
	free(fields);
	free(evbuf);
	json_decref(fj);
	json_decref(body);
	vouch_key_clear(&key);
}

bool vouch_devices_wallet_handle(struct vouch_req *r, char **seg, size_t n)
{
	if (!r->svc->people_ready)
		return false;
	if (n == 2 && strcmp(seg[0], "devices") == 0 && strcmp(seg[1], "commission") == 0) {
		api_commission(r);
		return true;
	}
	if (n == 2 && strcmp(seg[0], "devices") == 0 && strcmp(seg[1], "decommission") == 0) {
		api_decommission(r);
		return true;
	}
	return false;
}
