/* Plain-HTTP PKI objects (CRLs, CA certificates, OCSP) and the service state behind them. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

#include "handlers.h"
#include "vouch/log.h"

#define CRL_RETRY_S 60

static const char *const crl_names[2] = {"issuing", "root"};
static const char *const crl_meta[2] = {"crl.issuing.der", "crl.root.der"};

int vouch_service_cert_serial(const X509 *cert, char out[VOUCH_STORE_SERIAL_MAX + 1])
{
	char hex[VOUCH_CA_SERIAL_HEX_MAX];
	int rc;

	out[0] = '\0';
	rc = vouch_ca_serial_hex(cert, hex);
	if (rc != VOUCH_OK)
		return rc;
	return vouch_store_serial_canon(hex, out);
}

/* ---- CRLs ---- */

struct revoked_acc {
	struct vouch_ca_revoked *items;
	char (*serials)[VOUCH_STORE_SERIAL_MAX + 1];
	size_t count;
	size_t cap;
};

static int collect_revoked(const char *serial, int64_t revoked_at, const char *reason, void *ctx)
{
	struct revoked_acc *acc = ctx;
	enum vouch_ca_reason code = VOUCH_CA_REASON_UNSPECIFIED;

	if (acc->count == acc->cap) {
		size_t cap = acc->cap ? acc->cap * 2 : 64;
		struct vouch_ca_revoked *items = realloc(acc->items, cap * sizeof(*items));
		char(*serials)[VOUCH_STORE_SERIAL_MAX + 1];

		if (items == NULL)
			return VOUCH_ERR_NOMEM;
		acc->items = items;
		serials = realloc(acc->serials, cap * sizeof(*serials));
		if (serials == NULL)
			return VOUCH_ERR_NOMEM;
		acc->serials = serials;
		acc->cap = cap;
	}
	if (reason != NULL && vouch_ca_reason_parse(reason, &code) != VOUCH_OK)
		code = VOUCH_CA_REASON_UNSPECIFIED;
	snprintf(acc->serials[acc->count], sizeof(acc->serials[0]), "%s", serial);
	acc->items[acc->count].revoked_at = (time_t)revoked_at;
	acc->items[acc->count].reason = code;
	acc->count++;
	return 0;
}

static int crl_issue(struct vouch_service *svc, enum vouch_ca_crl_kind kind, const char *actor)
{
	int rc = VOUCH_ERR_INTERNAL;
	struct revoked_acc acc = {0};
	time_t now = time(NULL);
	int64_t next = (int64_t)now + (int64_t)svc->cfg->crl_hours * 3600;
	uint8_t *der = NULL;
	size_t der_len = 0;
	uint64_t number = 0;
	char num_s[24], count_s[24];

	/* The root signs only the issuing CA, which is never revoked here: its CRL stays empty.
	 * Expired certificates leave the issuing CRL (RFC 5280 5.1.2.6 allows it; OCSP still says
	 * revoked). */
	if (kind == VOUCH_CA_CRL_ISSUING) {
		rc = vouch_store_revoked_list(svc->store, (int64_t)now, collect_revoked, &acc);
		if (rc != VOUCH_OK)
			goto out_free;
		for (size_t i = 0; i < acc.count; i++)
			acc.items[i].serial = acc.serials[i];
	}
	rc = vouch_store_crl_next(svc->store, crl_names[kind], (int64_t)now, next, actor, &number);
	if (rc != VOUCH_OK)
		goto out_free;
	rc = vouch_ca_crl(svc->ca, kind, acc.items, acc.count, number, now, &der, &der_len);
	if (rc != VOUCH_OK)
		goto out_free;
	/* Kept so a restart within the CRL's first half-life serves it instead of a new number. */
	rc = vouch_store_meta_set(svc->store, crl_meta[kind], der, der_len);
	if (rc != VOUCH_OK)
		goto out_free;
	free(svc->crl_der[kind]);
	svc->crl_der[kind] = der;
	svc->crl_len[kind] = der_len;
	der = NULL;
	svc->crl_state[kind].number = number;
	svc->crl_state[kind].this_update = (int64_t)now;
	svc->crl_state[kind].next_update = next;
	snprintf(num_s, sizeof(num_s), "%llu", (unsigned long long)number);
	snprintf(count_s, sizeof(count_s), "%zu", acc.count);
	vouch_log(VOUCH_LOG_INFO, "crl.issue", "crl", crl_names[kind], "number", num_s, "entries",
	          count_s, NULL);

out_free:
	if (rc != VOUCH_OK)
		vouch_log(VOUCH_LOG_ERROR, "crl.issue", "crl", crl_names[kind], "why",
		          vouch_strerror(rc), NULL);
	free(der);
	free(acc.items);
	free(acc.serials);
	return rc;
}

/* Reissue each CRL before half of its validity has passed, so a relying party that fetched it
 * just before nextUpdate still finds a fresh one: the timer fires at the earlier half-life. */
static void crl_timer_arm(struct vouch_service *svc)
{
	int64_t now = (int64_t)time(NULL), due = INT64_MAX;
	struct timeval tv = {0};

	if (svc->crl_timer == NULL)
		return;
	for (int k = 0; k < 2; k++) {
		const struct vouch_store_crl *st = &svc->crl_state[k];
		int64_t d = st->this_update + (st->next_update - st->this_update) * 45 / 100;

		if (d < due)
			due = d;
	}
	tv.tv_sec = due > now ? (time_t)(due - now) : 1;
	event_add(svc->crl_timer, &tv);
}

int vouch_service_crl_refresh(struct vouch_service *svc, bool root, const char *actor)
{
	int rc = crl_issue(svc, VOUCH_CA_CRL_ISSUING, actor);

	if (rc == VOUCH_OK && root)
		rc = crl_issue(svc, VOUCH_CA_CRL_ROOT, actor);
	crl_timer_arm(svc);
	return rc;
}

static void crl_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vouch_service *svc = arg;
	struct timeval retry = {CRL_RETRY_S, 0};

	(void)fd;
	(void)what;
	/* On failure the old CRLs stay served (they are valid for another half-life) and the
	 * timer tries again a little later rather than at once. */
	if (vouch_service_crl_refresh(svc, true, "system") != VOUCH_OK)
		event_add(svc->crl_timer, &retry);
}

/* A stored CRL still in its first half of validity is served again after a restart. */
static bool crl_reuse(struct vouch_service *svc, enum vouch_ca_crl_kind kind, time_t now)
{
	struct vouch_store_crl st;
	unsigned char *der = NULL;
	size_t len = 0;

	if (vouch_store_crl_get(svc->store, crl_names[kind], &st) != VOUCH_OK || st.number == 0)
		return false;
	if ((int64_t)now < st.this_update ||
	    (int64_t)now >= st.this_update + (st.next_update - st.this_update) * 45 / 100)
		return false;
	if (vouch_store_meta_get(svc->store, crl_meta[kind], &der, &len) != VOUCH_OK)
		return false;
	free(svc->crl_der[kind]);
	svc->crl_der[kind] = der;
	svc->crl_len[kind] = len;
	svc->crl_state[kind] = st;
	return true;
}

int vouch_service_init(struct vouch_service *svc, const struct vouch_config *cfg,
                       struct vouch_ca *ca, struct vouch_store *store, struct event_base *base)
{
	int rc = VOUCH_ERR_INVALID;
	uint8_t *der = NULL;
	size_t der_len = 0;
	unsigned char *fp = NULL;
	size_t fp_len = 0;
	time_t now = time(NULL);
	bool fresh_issuing, fresh_root;

	if (svc == NULL || cfg == NULL || ca == NULL || store == NULL || base == NULL)
		return VOUCH_ERR_INVALID;
	memset(svc, 0, sizeof(*svc));
	svc->cfg = cfg;
	svc->ca = ca;
	svc->store = store;
	svc->base = base;

	rc = vouch_ca_cacerts(ca, &der, &der_len);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_ca_base64_encode(der, der_len, &svc->cacerts_b64, &svc->cacerts_b64_len);
	free(der);
	der = NULL;
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_ca_csrattrs(&der, &der_len);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_ca_base64_encode(der, der_len, &svc->csrattrs_b64, &svc->csrattrs_b64_len);
	free(der);
	der = NULL;
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_ca_cert_der(vouch_ca_root_cert(ca), &svc->root_der, &svc->root_der_len);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_ca_cert_der(vouch_ca_issuing_cert(ca), &svc->issuing_der, &svc->issuing_der_len);
	if (rc != VOUCH_OK)
		goto out_clear;

	/* The admin certificate's fingerprint as recorded at init: the API admits only it. */
	rc = vouch_store_meta_get(store, VOUCH_META_ADMIN_FP, &fp, &fp_len);
	if (rc == VOUCH_OK && fp_len == VOUCH_CA_FINGERPRINT_HEX - 1)
		memcpy(svc->admin_fp, fp, fp_len);
	else
		vouch_log(VOUCH_LOG_WARN, "service.init", "why",
		          "no admin fingerprint recorded at init: the admin API is closed", NULL);
	free(fp);

	svc->crl_timer = evtimer_new(base, crl_timer_cb, svc);
	if (svc->crl_timer == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_clear;
	}
	fresh_issuing = !crl_reuse(svc, VOUCH_CA_CRL_ISSUING, now);
	fresh_root = !crl_reuse(svc, VOUCH_CA_CRL_ROOT, now);
	rc = VOUCH_OK;
	if (fresh_issuing)
		rc = crl_issue(svc, VOUCH_CA_CRL_ISSUING, "system");
	if (rc == VOUCH_OK && fresh_root)
		rc = crl_issue(svc, VOUCH_CA_CRL_ROOT, "system");
	if (rc != VOUCH_OK)
		goto out_clear;
	crl_timer_arm(svc);
	return VOUCH_OK;

out_clear:
	vouch_service_clear(svc);
	return rc;
}

void vouch_service_clear(struct vouch_service *svc)
{
	if (svc == NULL)
		return;
	if (svc->crl_timer != NULL)
		event_free(svc->crl_timer);
	free(svc->cacerts_b64);
	free(svc->csrattrs_b64);
	free(svc->root_der);
	free(svc->issuing_der);
	free(svc->crl_der[0]);
	free(svc->crl_der[1]);
	if (svc->people_ready)
		vouch_people_clear(&svc->people);
	memset(svc, 0, sizeof(*svc));
}

/* ---- OCSP ---- */

static int ocsp_lookup(void *arg, const char *serial, struct vouch_ca_status *st)
{
	struct vouch_service *svc = arg;
	struct vouch_store_cert_state cs;
	int rc = vouch_store_cert_state(svc->store, serial, &cs);

	if (rc == VOUCH_ERR_STORE_NOT_FOUND || rc == VOUCH_ERR_INVALID) {
		st->status = VOUCH_CA_STATUS_UNKNOWN;
		return VOUCH_OK;
	}
	if (rc != VOUCH_OK)
		return rc;
	if (cs.revoked) {
		st->status = VOUCH_CA_STATUS_REVOKED;
		st->revoked_at = (time_t)cs.revoked_at;
		if (vouch_ca_reason_parse(cs.reason, &st->reason) != VOUCH_OK)
			st->reason = VOUCH_CA_REASON_UNSPECIFIED;
	} else {
		st->status = VOUCH_CA_STATUS_GOOD;
	}
	return VOUCH_OK;
}

static const char *ocsp_status_name(int status)
{
	switch (status) {
	case 0:
		return NULL; /* successful */
	case 1:
		return "OCSP malformedRequest";
	case 2:
		return "OCSP internalError";
	case 3:
		return "OCSP tryLater";
	case 5:
		return "OCSP sigRequired";
	case 6:
		return "OCSP unauthorized";
	default:
		return "OCSP error";
	}
}

static void ocsp_answer(struct vouch_req *r, const uint8_t *req, size_t len, const char *why)
{
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	int status = 0;
	int rc = vouch_ca_ocsp_respond(r->svc->ca, req, len, ocsp_lookup, r->svc, &resp, &resp_len,
	                               &status);

	if (rc != VOUCH_OK) {
		vouch_req_reply_text(r, 500, "OCSP responder failed");
		return;
	}
	/* RFC 6960 A.1: every OCSP answer, errors included, is a 200 with an OCSPResponse; the
	 * log line still says why it was refused. */
	vouch_req_reply(r, 200, "application/ocsp-response", resp, resp_len,
	                why != NULL ? why : ocsp_status_name(status));
	free(resp);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode (no '+' to space: '+' is a base64 character here) into out (cap bytes). */
static bool percent_decode(const char *in, char *out, size_t cap, size_t *out_len)
{
	size_t n = 0;

	for (; *in != '\0'; in++) {
		int c = (unsigned char)*in;

		if (c == '%') {
			int hi = hexval((unsigned char)in[1]);
			int lo = hi >= 0 ? hexval((unsigned char)in[2]) : -1;

			if (lo < 0)
				return false;
			c = hi * 16 + lo;
			in += 2;
		}
		if (n + 1 >= cap)
			return false;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	*out_len = n;
	return true;
}

static void handle_ocsp_get(struct vouch_req *r, const char *enc)
{
	char b64[2 * VOUCH_CA_OCSP_REQUEST_MAX];
	uint8_t *der = NULL;
	size_t b64_len = 0, der_len = 0;

	if (!percent_decode(enc, b64, sizeof(b64), &b64_len)) {
		ocsp_answer(r, NULL, 0, "OCSP GET: bad URL encoding or too long");
		return;
	}
	if (vouch_ca_base64_decode(b64, b64_len, VOUCH_CA_OCSP_REQUEST_MAX, &der, &der_len) !=
	    VOUCH_OK) {
		ocsp_answer(r, NULL, 0, "OCSP GET: bad base64");
		return;
	}
	ocsp_answer(r, der, der_len, NULL);
	free(der);
}

/* ---- the plain HTTP surface ---- */

static void serve_der(struct vouch_req *r, const char *type, const uint8_t *der, size_t len)
{
	if (der == NULL) {
		vouch_req_reply_text(r, 503, "not available yet");
		return;
	}
	vouch_req_reply(r, 200, type, der, len, NULL);
}

void vouch_pki_http_handle(struct vouch_req *r)
{
	struct vouch_service *svc = r->svc;
	bool get = r->method == EVHTTP_REQ_GET || r->method == EVHTTP_REQ_HEAD;

	if (vouch_people_public_handle(r))
		return;
	if (strncmp(r->path, "/ocsp/", 6) == 0 && r->path[6] != '\0') {
		if (!get) {
			vouch_req_header(r, "Allow", "GET");
			vouch_req_reply_text(r, 405, "use GET for /ocsp/<request>");
			return;
		}
		handle_ocsp_get(r, r->path + 6);
		return;
	}
	if (strcmp(r->path, "/ocsp") == 0 || strcmp(r->path, "/ocsp/") == 0) {
		if (r->method != EVHTTP_REQ_POST) {
			vouch_req_header(r, "Allow", "POST");
			vouch_req_reply_text(r, 405, "use POST for /ocsp");
			return;
		}
		if (!vouch_req_content_type_is(r, "application/ocsp-request")) {
			vouch_req_reply_text(r, 415,
			                     "Content-Type must be application/ocsp-request");
			return;
		}
		ocsp_answer(r, r->body, r->body_len, NULL);
		return;
	}

	if (!get) {
		vouch_req_header(r, "Allow", "GET");
		vouch_req_reply_text(r, 405, "method not allowed");
		return;
	}
	if (strcmp(r->path, "/crl/issuing.crl") == 0)
		serve_der(r, "application/pkix-crl", svc->crl_der[VOUCH_CA_CRL_ISSUING],
		          svc->crl_len[VOUCH_CA_CRL_ISSUING]);
	else if (strcmp(r->path, "/crl/root.crl") == 0)
		serve_der(r, "application/pkix-crl", svc->crl_der[VOUCH_CA_CRL_ROOT],
		          svc->crl_len[VOUCH_CA_CRL_ROOT]);
	else if (strcmp(r->path, "/ca/issuing.crt") == 0)
		serve_der(r, "application/pkix-cert", svc->issuing_der, svc->issuing_der_len);
	else if (strcmp(r->path, "/ca/root.crt") == 0)
		serve_der(r, "application/pkix-cert", svc->root_der, svc->root_der_len);
	else
		vouch_req_reply_text(r, 404, "no such resource");
}
