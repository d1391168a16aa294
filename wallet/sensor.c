/*
 * vouch-wallet: at a sensor (docs/sensor-protocol.md).
 *
 * commission coap://HOST:PORT --code CODE [--resource NAME]
 *   The installer's phone, online: checks its own credential allows `commission` in the
 *   sensor's zone, runs EDHOC and goes on only if the key the sensor proves matches the pairing
 *   code, fetches the sensor's CSR, signs a statement vouching for it (and, with --resource,
 *   for the sensor being that directory resource: "this controller IS press-1"), has vouchd
 *   issue the device certificate and the sealed bundle, and relays the bundle it cannot read.
 * access coap://HOST:PORT ACTION
 *   Any person, online or not: checks the sensor's certificate against the site's CA and that
 *   the sensor proves its key in EDHOC (a spoofed sensor is reported), offers the newest
 *   revocation list, presents the credential (/authz-info) and asks for ACTION. Exit 0 granted,
 *   1 denied (the reason on stdout), 2 error.
 * decommission coap://HOST:PORT
 *   A person whose credential allows `commission` there, online: the same contact as access,
 *   then the sensor destroys its key and wipes itself; its last signed event goes to vouchd,
 *   which revokes the device certificate and records who did it.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "contact.h"
#include "link.h"
#include "vouch/cbor.h"
#include "vouch/cose.h"
#include "vouch/policy.h"
#include "wallet.h"

#define CODE_CREATED 0x41 /* 2.01 */
#define CODE_DELETED 0x42 /* 2.02 */
#define CODE_CHANGED 0x44 /* 2.04 */
#define CODE_CONTENT 0x45 /* 2.05 */

#define EVENT_FILE_MAX 4096 /* a sensor's signed event is well under 1 KiB */

/* The reason of a refusal {1: text}, or the diagnostic payload as text. */
static void print_reason(const char *prefix, const uint8_t *p, size_t len)
{
	char buf[512];

	w_sensor_reason(p, len, buf, sizeof(buf));
	printf("%s: %s\n", prefix, buf[0] != '\0' ? buf : "(no reason given)");
}

/* ---- the sensor's key ---- */

struct pairing_check {
	const char *code;
};

static int check_pairing(void *arg, const struct vouch_key *peer, const uint8_t *cred,
                         size_t cred_len, char *err, size_t err_cap)
{
	const struct pairing_check *pc = arg;

	(void)cred;
	(void)cred_len;
	if (!vouch_pairing_code_matches(peer, pc->code)) {
		snprintf(err, err_cap,
		         "the key the sensor proves does not match the pairing code: a spoofed or "
		         "swapped sensor; not commissioned");
		return VOUCH_ERR_EDHOC_PEER;
	}
	return VOUCH_OK;
}

/* The device certificate against the site's CA (the wallet's ca.pem). */
static int verify_device_cert(const struct wallet *w, const uint8_t *der, size_t der_len,
                              const char *device, struct w_certified *cc, char *err, size_t cap)
{
	char ca_path[PATH_MAX];
	X509_STORE *store = X509_STORE_new();
	int rc;

	if (store == NULL || w_path(ca_path, sizeof(ca_path), w, W_F_CA) != VOUCH_OK ||
	    X509_STORE_load_file(store, ca_path) != 1) {
		X509_STORE_free(store);
		snprintf(err, cap, "cannot load the site's CA");
		return VOUCH_ERR_IO;
	}
	rc = w_device_cert_check(store, der, der_len, device, cc, err, cap);
	X509_STORE_free(store);
	return rc;
}

/* ---- both commands ---- */

struct at_sensor {
	struct wallet *w;
	struct held_list list;
	struct held_cred cred;
	struct w_link *link;
	struct w_sensor_info info;
	uint8_t cert[4096];
	size_t cert_len;
	char name[160]; /* sensor_name() of info, for messages */
};

static int open_at(struct at_sensor *a, struct wallet *w, const char *uri)
{
	const uint8_t *body;
	size_t body_len = 0;
	unsigned code = 0;
	char err[256];
	int rc;

	memset(a, 0, sizeof(*a));
	a->w = w;
	if (w_list_load(w, &a->list) != VOUCH_OK)
		a->list.buf = NULL;
	rc = w_cred_load(w, &a->list, (int64_t)time(NULL), &a->cred);
	if (rc != VOUCH_OK || a->cred.buf == NULL) {
		printf("denied: this phone holds no credential\n");
		return WALLET_REFUSED;
	}
	if (a->cred.verdict != VOUCH_OK) {
		printf("denied: the credential held is not usable: %s\n",
		       vouch_strerror(a->cred.verdict));
		return WALLET_REFUSED;
	}
	a->link = calloc(1, sizeof(*a->link));
	if (a->link == NULL)
		return WALLET_ERROR;
	if (w_link_open(a->link, uri, err, sizeof(err)) != VOUCH_OK) {
		w_err("%s", err);
		return WALLET_ERROR;
	}
	rc = w_link_plain(a->link, false, "info", NULL, 0, &code, &body, &body_len);
	if (rc != VOUCH_OK) {
		w_err("%s: the sensor does not answer", uri);
		return WALLET_ERROR;
	}
	if (code != CODE_CONTENT || w_sensor_info_read(body, body_len, &a->info) != VOUCH_OK) {
		w_err("%s: the sensor's /info is not what a vouch sensor answers", uri);
		return WALLET_ERROR;
	}
	if (a->info.cert != NULL) {
		if (a->info.cert_len > sizeof(a->cert)) {
			w_err("%s: the sensor's certificate is too large", uri);
			return WALLET_ERROR;
		}
		memcpy(a->cert, a->info.cert, a->info.cert_len);
		a->cert_len = a->info.cert_len;
		a->info.cert = a->cert;
	}
	return WALLET_OK;
}

static void close_at(struct at_sensor *a)
{
	if (a->link != NULL) {
		w_link_close(a->link);
		free(a->link);
	}
	w_cred_clear(&a->cred);
	w_list_clear(&a->list);
	memset(a, 0, sizeof(*a));
}

/* The name of the sensor for a person: "dev-x" or "dev-x (resource press-1)". */
static const char *sensor_name(const struct w_sensor_info *in, char *buf, size_t cap)
{
	if (in->resource[0] != '\0' && strcmp(in->resource, in->device) != 0)
		snprintf(buf, cap, "%s (resource %s)", in->device, in->resource);
	else
		snprintf(buf, cap, "%s", in->device);
	return buf;
}

/* What my own credential says about action on this sensor: the same evaluator on the same
 * resource it decides as (the id and tags it shows in /info, else its device id). */
static bool my_permission(const struct at_sensor *a, uint32_t action, char *reason, size_t cap)
{
	const char *tags[W_INFO_TAGS_MAX];
	struct vouch_policy_view v;
	struct vouch_policy_resource res;
	struct vouch_policy_request req;
	struct vouch_policy_decision d;

	reason[0] = '\0';
	for (size_t i = 0; i < a->info.n_tags; i++)
		tags[i] = a->info.tags[i];
	memset(&res, 0, sizeof(res));
	res.id = a->info.resource[0] != '\0' ? a->info.resource : a->info.device;
	res.type = a->info.type;
	res.zone = a->info.zone;
	res.tags = a->info.n_tags > 0 ? tags : NULL;
	res.n_tags = a->info.n_tags;
	if (vouch_policy_view_init(&v, a->cred.cred.perm, a->cred.cred.perm_len) != VOUCH_OK)
		return false;
	memset(&req, 0, sizeof(req));
	req.resource = &res;
	req.action = action;
	req.now = (int64_t)time(NULL);
	req.person_zone = a->info.zone;
	if (vouch_policy_decide(&v, &req, &d) != VOUCH_OK)
		return false;
	(void)vouch_policy_explain(&v, &req, &d, reason, cap);
	return d.permit;
}

static int handshake(struct at_sensor *a, w_link_check_fn check, void *arg)
{
	struct w_link_me me = {&a->w->phone_key, &a->w->phone_pub, a->w->phone};
	char err[512];
	int rc = w_link_handshake(a->link, &me, check, arg, err, sizeof(err));

	if (rc == VOUCH_ERR_EDHOC_PEER) {
		printf("refused: %s\n", err);
		return WALLET_REFUSED;
	}
	if (rc != VOUCH_OK) {
		w_err("%s", err);
		return WALLET_ERROR;
	}
	return WALLET_OK;
}

/* ---- commission ---- */

static int statement_sign(struct wallet *w, const uint8_t *csr, size_t csr_len,
                          const uint8_t tp[VOUCH_THUMBPRINT_LEN], const struct w_sensor_info *in,
                          const char *resource, uint8_t *out, size_t cap, size_t *out_len)
{
	struct vouch_cose_hdr_params hp;
	struct vouch_cbor_writer cw;
	uint8_t payload[512], h[VOUCH_SHA256_LEN];
	size_t plen = 0;
	int rc = vouch_sha256(csr, csr_len, h);

	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_writer_init(&cw, payload, sizeof(payload));
	vouch_cbor_write_map(&cw, resource != NULL ? 8 : 7);
	vouch_cbor_write_uint(&cw, 1);
	vouch_cbor_write_uint(&cw, 1);
	vouch_cbor_write_uint(&cw, 2);
	vouch_cbor_write_bstr(&cw, h, sizeof(h));
	vouch_cbor_write_uint(&cw, 3);
	vouch_cbor_write_bstr(&cw, tp, VOUCH_THUMBPRINT_LEN);
	vouch_cbor_write_uint(&cw, 4);
	vouch_cbor_write_cstr(&cw, in->zone);
	vouch_cbor_write_uint(&cw, 5);
	vouch_cbor_write_cstr(&cw, in->type);
	vouch_cbor_write_uint(&cw, 6);
	vouch_cbor_write_int(&cw, (int64_t)time(NULL));
	vouch_cbor_write_uint(&cw, 7);
	vouch_cbor_write_cstr(&cw, w->phone);
	if (resource != NULL) {
		/* Signed: vouchd knows the installer vouched for this binding, not the relay. */
		vouch_cbor_write_uint(&cw, 8);
		vouch_cbor_write_cstr(&cw, resource);
	}
	rc = vouch_cbor_writer_finish(&cw, &plen);
	if (rc != VOUCH_OK)
		return rc;
	memset(&hp, 0, sizeof(hp));
	hp.alg = VOUCH_COSE_ALG_ES256;
	hp.kid = w->thumbprint;
	hp.kid_len = sizeof(w->thumbprint);
	return vouch_cose_sign1_create(&w->phone_key, &hp, payload, plen, NULL, 0, true, false, out,
	                               cap, out_len);
}

/* The COMMAND URI [OPTIONS] form: the URI taken out so that the options parse as usual. */
static const char *take_uri(int *argc, char ***argv)
{
	const char *uri;

	if (*argc < 2 || (*argv)[1][0] == '-')
		return NULL;
	uri = (*argv)[1];
	(*argv)[1] = (*argv)[0];
	(*argc)--;
	(*argv)++;
	return uri;
}

int w_cmd_commission(struct wallet *w, int argc, char **argv)
{
	const char *code = NULL, *uri = NULL, *resource = NULL;
	const struct w_opt opts[] = {
	    {"code", &code}, {"resource", &resource}, {"pin-file", &w->pin_file}};
	struct vouch_https *h = NULL;
	struct at_sensor a;
	struct pairing_check pc;
	const uint8_t *body, *csr_p, *event;
	size_t body_len = 0, csr_len = 0, stmt_len = 0, bundle_len = 0, event_len = 0;
	uint8_t *csr = NULL, stmt[1024], tp[VOUCH_THUMBPRINT_LEN], *bundle = NULL;
	char *csr_b64 = NULL, *stmt_b64 = NULL, reason[512], err[512], device[65];
	const char *bundle_b64, *bound;
	json_t *req = NULL, *reply = NULL;
	unsigned ccode = 0;
	int rc;

	memset(&a, 0, sizeof(a));
	uri = take_uri(&argc, &argv);
	if (w_parse_opts(argc, argv, opts, VOUCH_ARRAY_LEN(opts)) != VOUCH_OK || uri == NULL ||
	    code == NULL ||
	    (resource != NULL &&
	     (resource[0] == '\0' || strlen(resource) > VOUCH_POLICY_NAME_MAX))) {
		w_err("usage: commission coap://HOST:PORT --code CODE [--resource NAME]");
		return WALLET_ERROR;
	}
	rc = w_open_registered(w, &h);
	if (rc == WALLET_OK)
		rc = open_at(&a, w, uri);
	if (rc != WALLET_OK)
		goto out_free;
	if (a.info.provisioned) {
		printf("refused: the sensor is already commissioned (%s)\n", a.info.device);
		rc = WALLET_REFUSED;
		goto out_free;
	}
	if (a.info.zone[0] == '\0' || a.info.type[0] == '\0') {
		w_err("%s: the sensor does not say its zone and type", uri);
		rc = WALLET_ERROR;
		goto out_free;
	}
	/* Only a person whose credential allows it goes on (vouchd checks again). As a named
	 * resource, its tags are in the directory, which the phone does not hold: vouchd alone
	 * decides then. */
	if (resource == NULL &&
	    !my_permission(&a, VOUCH_ACTION_COMMISSION, reason, sizeof(reason))) {
		printf("denied: %s\n", reason[0] != '\0' ? reason : "no commission permission");
		rc = WALLET_REFUSED;
		goto out_free;
	}
	pc.code = code;
	rc = handshake(&a, check_pairing, &pc);
	if (rc != WALLET_OK)
		goto out_free;
	rc = vouch_cose_key_thumbprint(vouch_edhoc_peer_key(&a.link->edhoc), tp);
	if (rc != VOUCH_OK) {
		rc = WALLET_ERROR;
		goto out_free;
	}
	rc = w_link_call(a.link, "commission/csr", NULL, 0, &ccode, &body, &body_len, err,
	                 sizeof(err));
	if (rc != VOUCH_OK || ccode != CODE_CONTENT ||
	    w_sensor_csr_read(body, body_len, &csr_p, &csr_len) != VOUCH_OK) {
		w_err("the sensor gave no CSR: %s", rc != VOUCH_OK ? err : "a refusal");
		rc = WALLET_ERROR;
		goto out_free;
	}
	csr = malloc(csr_len);
	if (csr == NULL) {
		rc = WALLET_ERROR;
		goto out_free;
	}
	memcpy(csr, csr_p, csr_len);
	rc = statement_sign(w, csr, csr_len, tp, &a.info, resource, stmt, sizeof(stmt), &stmt_len);
	csr_b64 = rc == VOUCH_OK ? w_b64_encode(csr, csr_len) : NULL;
	stmt_b64 = rc == VOUCH_OK ? w_b64_encode(stmt, stmt_len) : NULL;
	req = csr_b64 != NULL && stmt_b64 != NULL
	          ? json_pack("{s:s, s:s}", "csr", csr_b64, "statement", stmt_b64)
	          : NULL;
	if (req == NULL) {
		w_err("cannot make the commissioning request");
		rc = WALLET_ERROR;
		goto out_free;
	}
	rc = w_call_json(w, h, "POST /api/v1/devices/commission", "POST",
	                 "/api/v1/devices/commission", req, 200, &reply);
	if (rc != WALLET_OK)
		goto out_free;
	bundle_b64 = json_string_value(json_object_get(reply, "bundle"));
	if (bundle_b64 == NULL || w_b64_decode(bundle_b64, VOUCH_W_COAP_BODY_MAX - 1024, &bundle,
	                                       &bundle_len) != VOUCH_OK) {
		w_err("vouchd's answer holds no bundle");
		rc = WALLET_ERROR;
		goto out_free;
	}
	rc = w_link_call(a.link, "commission/bundle", bundle, bundle_len, &ccode, &body, &body_len,
	                 err, sizeof(err));
	if (rc != VOUCH_OK) {
		w_err("%s", err);
		rc = WALLET_ERROR;
		goto out_free;
	}
	if (ccode != CODE_CHANGED ||
	    w_sensor_commissioned_read(body, body_len, device, &event, &event_len) != VOUCH_OK) {
		print_reason("refused by the sensor", body, body_len);
		rc = WALLET_REFUSED;
		goto out_free;
	}
	bound = json_string_value(json_object_get(reply, "resource"));
	if (resource != NULL && (bound == NULL || strcmp(bound, resource) != 0)) {
		/* The sensor took the bundle; say plainly that it is not what was asked. */
		w_err("vouchd bound %s to %s, not to %s", device, bound != NULL ? bound : "nothing",
		      resource);
		rc = WALLET_ERROR;
		goto out_free;
	}
	if (resource != NULL)
		printf("commissioned: %s as resource %s in zone %s as %s\n", device, resource,
		       a.info.zone, a.info.type);
	else
		printf("commissioned: %s in zone %s as %s\n", device, a.info.zone, a.info.type);
	rc = WALLET_OK;
out_free:
	free(csr);
	free(csr_b64);
	free(stmt_b64);
	free(bundle);
	json_decref(req);
	json_decref(reply);
	close_at(&a);
	vouch_https_free(h);
	return rc;
}

/* ---- access ---- */

/*
 * A contact with a commissioned sensor as the person holding this wallet: the sensor's
 * certificate checked against the site's CA, its key proven in EDHOC (else: spoofed), the
 * newest revocation list offered, the credential presented. WALLET_REFUSED has said why.
 */
static int contact(struct at_sensor *a, const char *uri)
{
	struct w_certified cc;
	const uint8_t *body;
	size_t body_len = 0;
	unsigned ccode = 0;
	char err[512];
	int rc;

	if (!a->info.provisioned || a->cert_len == 0) {
		w_err("%s: the sensor is not commissioned", uri);
		return WALLET_ERROR;
	}
	if (verify_device_cert(a->w, a->cert, a->cert_len, a->info.device, &cc, err, sizeof(err)) !=
	    VOUCH_OK) {
		printf("refused: %s\n", err);
		return WALLET_REFUSED;
	}
	snprintf(cc.device, sizeof(cc.device), "%s",
	         sensor_name(&a->info, a->name, sizeof(a->name)));
	rc = handshake(a, w_check_certified, &cc);
	if (rc != WALLET_OK)
		return rc;
	/* The newest revocation list travels with every phone (flow 6). */
	if (a->list.buf != NULL && (!a->info.has_rl || a->list.rl.version > a->info.rl_version))
		(void)w_link_plain(a->link, true, "revocations", a->list.buf, a->list.len, &ccode,
		                   &body, &body_len);
	rc = w_link_call(a->link, "authz-info", a->cred.buf, a->cred.len, &ccode, &body, &body_len,
	                 err, sizeof(err));
	if (rc != VOUCH_OK) {
		w_err("%s", err);
		return WALLET_ERROR;
	}
	if (ccode != CODE_CREATED) {
		print_reason("denied", body, body_len);
		return WALLET_REFUSED;
	}
	return WALLET_OK;
}

int w_cmd_access(struct wallet *w, int argc, char **argv)
{
	const char *uri = NULL, *action = NULL;
	const struct w_opt opts[] = {{"pin-file", &w->pin_file}};
	struct at_sensor a;
	struct vouch_cbor_writer cw;
	const uint8_t *body;
	size_t body_len = 0, req_len = 0;
	uint8_t req[128];
	char err[512], reason[512];
	uint32_t bit = 0;
	unsigned ccode = 0;
	bool granted = false;
	int rc;

	memset(&a, 0, sizeof(a));
	if (argc >= 3 && argv[1][0] != '-' && argv[2][0] != '-') {
		uri = argv[1];
		action = argv[2];
		argv[2] = argv[0];
		argc -= 2;
		argv += 2;
	}
	if (w_parse_opts(argc, argv, opts, VOUCH_ARRAY_LEN(opts)) != VOUCH_OK || uri == NULL ||
	    action == NULL || vouch_policy_action_parse(action, &bit) != VOUCH_OK ||
	    vouch_policy_action_name(bit) == NULL) {
		w_err("usage: access coap://HOST:PORT ACTION (enter, open, read, operate, ...)");
		return WALLET_ERROR;
	}
	rc = w_open_local(w);
	if (rc == WALLET_OK)
		rc = open_at(&a, w, uri);
	if (rc == WALLET_OK)
		rc = contact(&a, uri);
	if (rc != WALLET_OK)
		goto out_free;
	vouch_cbor_writer_init(&cw, req, sizeof(req));
	vouch_cbor_write_map(&cw, 1);
	vouch_cbor_write_uint(&cw, 1);
	vouch_cbor_write_cstr(&cw, vouch_policy_action_name(bit));
	if (vouch_cbor_writer_finish(&cw, &req_len) != VOUCH_OK) {
		rc = WALLET_ERROR;
		goto out_free;
	}
	rc =
	    w_link_call(a.link, "access", req, req_len, &ccode, &body, &body_len, err, sizeof(err));
	if (rc != VOUCH_OK) {
		w_err("%s", err);
		rc = WALLET_ERROR;
		goto out_free;
	}
	if (ccode != CODE_CONTENT ||
	    w_sensor_decision_read(body, body_len, &granted, reason, sizeof(reason)) != VOUCH_OK) {
		print_reason("error", body, body_len);
		rc = WALLET_ERROR;
		goto out_free;
	}
	printf("%s: %s\n", granted ? "granted" : "denied", reason);
	rc = granted ? WALLET_OK : WALLET_REFUSED;
out_free:
	close_at(&a);
	return rc;
}

/* ---- decommission ---- */

/*
 * The sensor's last event goes to vouchd, which revokes the device certificate and records who
 * decommissioned it. If vouchd cannot take it now, it is kept in the wallet directory
 * (decommission-DEVICE.cose) so that nothing the sensor signed before it wiped itself is lost.
 */
#define PENDING_PREFIX "decommission-"
#define PENDING_SUFFIX ".cose"

/* POST one signed decommission event to vouchd; WALLET_OK with a line on stdout when taken. */
static int post_decommission(struct wallet *w, struct vouch_https *h, const uint8_t *event,
                             size_t event_len)
{
	char *b64 = w_b64_encode(event, event_len);
	json_t *req = b64 != NULL ? json_pack("{s:s}", "event", b64) : NULL, *reply = NULL;
	int rc = WALLET_ERROR;

	if (req != NULL)
		rc = w_call_json(w, h, "POST /api/v1/devices/decommission", "POST",
		                 "/api/v1/devices/decommission", req, 200, &reply);
	if (rc == WALLET_OK) {
		const char *dev = json_string_value(json_object_get(reply, "device"));
		const char *res = json_string_value(json_object_get(reply, "resource"));

		printf("vouchd: %s decommissioned, %lld certificate(s) revoked", dev,
		       (long long)json_integer_value(json_object_get(reply, "revoked")));
		if (res != NULL && dev != NULL && strcmp(res, dev) != 0)
			printf("; resource %s stays in the directory, free for its next sensor",
			       res);
		printf("\n");
	}
	free(b64);
	json_decref(req);
	json_decref(reply);
	return rc;
}

/*
 * The sensor's last event goes to vouchd, which revokes the device certificate and records who
 * decommissioned it. If vouchd cannot be reached now, the event is kept in the wallet directory
 * (decommission-DEVICE.cose) and delivered by the next refresh: nothing the sensor signed before
 * it wiped itself is lost.
 */
static int report_decommission(struct wallet *w, struct vouch_https *h, const char *device,
                               const uint8_t *event, size_t event_len)
{
	char name[96];
	int rc = post_decommission(w, h, event, event_len);

	if (rc != WALLET_OFFLINE)
		return rc;
	snprintf(name, sizeof(name), PENDING_PREFIX "%.64s" PENDING_SUFFIX, device);
	if (w_write(w, name, event, event_len) != VOUCH_OK)
		return WALLET_ERROR;
	printf("vouchd: not reachable; the sensor's last event is kept as %s and delivered by the "
	       "next refresh\n",
	       name);
	return WALLET_OFFLINE;
}

int w_deliver_pending(struct wallet *w, struct vouch_https *h)
{
	char path[PATH_MAX];
	struct dirent *de;
	uint8_t *buf = NULL;
	size_t len = 0, nl;
	DIR *d;
	int rc = WALLET_OK, one;

	if (w_path(path, sizeof(path), w, ".") != VOUCH_OK || (d = opendir(path)) == NULL)
		return WALLET_ERROR;
	while ((de = readdir(d)) != NULL) {
		nl = strlen(de->d_name);
		if (strncmp(de->d_name, PENDING_PREFIX, strlen(PENDING_PREFIX)) != 0 ||
		    nl <= strlen(PENDING_SUFFIX) ||
		    strcmp(de->d_name + nl - strlen(PENDING_SUFFIX), PENDING_SUFFIX) != 0)
			continue;
		if (w_read(w, de->d_name, EVENT_FILE_MAX, &buf, &len) != VOUCH_OK) {
			rc = WALLET_ERROR;
			continue;
		}
		one = post_decommission(w, h, buf, len);
		free(buf);
		buf = NULL;
		/* Taken, or refused for good (already recorded): either way vouchd has had it. */
		if ((one == WALLET_OK || one == WALLET_REFUSED) &&
		    w_path(path, sizeof(path), w, de->d_name) == VOUCH_OK)
			(void)unlink(path);
		if (one != WALLET_OK && one != WALLET_REFUSED && rc == WALLET_OK)
			rc = one;
	}
	closedir(d);
	return rc;
}

int w_cmd_decommission(struct wallet *w, int argc, char **argv)
{
	const char *uri = NULL;
	const struct w_opt opts[] = {{"pin-file", &w->pin_file}};
	struct vouch_https *h = NULL;
	struct at_sensor a;
	const uint8_t *body, *event;
	size_t body_len = 0, event_len = 0;
	uint8_t *ev_copy = NULL;
	char err[512], reason[512], device[65];
	unsigned ccode = 0;
	int rc;

	memset(&a, 0, sizeof(a));
	uri = take_uri(&argc, &argv);
	if (w_parse_opts(argc, argv, opts, VOUCH_ARRAY_LEN(opts)) != VOUCH_OK || uri == NULL) {
		w_err("usage: decommission coap://HOST:PORT");
		return WALLET_ERROR;
	}
	/* Online, like commissioning: vouchd revokes the certificate of a device that is gone. */
	rc = w_open_registered(w, &h);
	if (rc == WALLET_OK)
		rc = open_at(&a, w, uri);
	if (rc != WALLET_OK)
		goto out_free;
	if (a.info.provisioned &&
	    !my_permission(&a, VOUCH_ACTION_COMMISSION, reason, sizeof(reason))) {
		printf("denied: %s\n", reason[0] != '\0' ? reason : "no commission permission");
		rc = WALLET_REFUSED;
		goto out_free;
	}
	rc = contact(&a, uri);
	if (rc != WALLET_OK)
		goto out_free;
	rc = w_link_call(a.link, "decommission", NULL, 0, &ccode, &body, &body_len, err,
	                 sizeof(err));
	if (rc != VOUCH_OK) {
		w_err("%s", err);
		rc = WALLET_ERROR;
		goto out_free;
	}
	if (ccode != CODE_DELETED ||
	    w_sensor_commissioned_read(body, body_len, device, &event, &event_len) != VOUCH_OK ||
	    strcmp(device, a.info.device) != 0) {
		print_reason("denied", body, body_len);
		rc = WALLET_REFUSED;
		goto out_free;
	}
	ev_copy = malloc(event_len);
	if (ev_copy == NULL) {
		rc = WALLET_ERROR;
		goto out_free;
	}
	memcpy(ev_copy, event, event_len);
	printf("decommissioned: %s (the sensor destroyed its key and wiped its state)\n",
	       sensor_name(&a.info, a.name, sizeof(a.name)));
	fflush(stdout); /* before whatever talking to vouchd says on stderr */
	rc = report_decommission(w, h, device, ev_copy, event_len);
out_free:
	free(ev_copy);
	close_at(&a);
	vouch_https_free(h);
	return rc;
}
