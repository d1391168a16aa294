/*
 * vouch-wallet: the secured link to one sensor (docs/sensor-protocol.md). EDHOC (RFC 9528,
 * method 0, suite 2) with the phone key in its token as the initiator, the sensor's key checked
 * by the caller before message_3 goes out; then OSCORE (RFC 8613) requests under the context
 * the EDHOC exporter gives. The link lives for one command.
 */
#include <stdio.h>
#include <string.h>

#include "link.h"
#include "vouch/pairing.h"

#define EDHOC_PATH              ".well-known/edhoc"
#define CALL_TIMEOUT_MS         5000u
#define INNER_MAX               (VOUCH_W_COAP_BODY_MAX - 64)
#define COAP_OPT_URI_PATH       11
#define COAP_OPT_CONTENT_FORMAT 12

static const int32_t suites[] = {2};

int w_link_open(struct w_link *l, const char *uri, char *err, size_t err_cap)
{
	memset(l, 0, sizeof(*l));
	return w_coap_open(&l->coap, uri, err, err_cap);
}

void w_link_close(struct w_link *l)
{
	const uint8_t *out;
	size_t out_len = 0;
	unsigned code = 0;
	char err[128];

	if (l == NULL)
		return;
	/* Tell the sensor this contact is over, so that it frees the session at once (best
	 * effort: it may be gone). */
	if (l->secured)
		(void)w_link_call(l, "close", NULL, 0, &code, &out, &out_len, err, sizeof(err));
	vouch_edhoc_clear(&l->edhoc);
	vouch_oscore_ctx_clear(&l->osc);
	w_coap_close(&l->coap);
	vouch_wipe(l->buf, sizeof(l->buf));
	memset(l, 0, sizeof(*l));
}

int w_link_plain(struct w_link *l, bool post, const char *path, const uint8_t *in, size_t in_len,
                 unsigned *code, const uint8_t **out, size_t *out_len)
{
	struct w_coap_req q = {post, path, post ? VOUCH_W_COAP_CF_CBOR : -1, NULL, 0, in, in_len};
	int rc = w_coap_request(&l->coap, &q, CALL_TIMEOUT_MS);

	*code = rc == VOUCH_OK ? l->coap.code : 0;
	*out = l->coap.body;
	*out_len = rc == VOUCH_OK ? l->coap.body_len : 0;
	return rc;
}

/* Send an EDHOC error to the sensor after we refuse it (best effort: it may be gone). */
static void send_refusal(struct w_link *l, const char *why)
{
	uint8_t msg[256], payload[300];
	size_t len = 0, plen = 0;
	const uint8_t *c_r = NULL;
	size_t c_r_len = 0;
	struct w_coap_req q = {true, EDHOC_PATH, VOUCH_W_COAP_CF_EDHOC, NULL, 0, NULL, 0};

	if (vouch_edhoc_peer_c(&l->edhoc, &c_r, &c_r_len) != VOUCH_OK ||
	    vouch_edhoc_write_error(&l->edhoc, why, msg, sizeof(msg), &len) != VOUCH_OK ||
	    vouch_edhoc_coap_encode(c_r, c_r_len, msg, len, payload, sizeof(payload), &plen) !=
	        VOUCH_OK)
		return;
	q.payload = payload;
	q.payload_len = plen;
	(void)w_coap_request(&l->coap, &q, 1000);
}

int w_link_handshake(struct w_link *l, const struct w_link_me *me, w_link_check_fn check, void *arg,
                     char *err, size_t err_cap)
{
	struct vouch_edhoc_config cfg;
	struct w_coap_req q = {true, EDHOC_PATH, VOUCH_W_COAP_CF_EDHOC, NULL, 0, NULL, 0};
	const struct vouch_key *peer;
	const uint8_t *ead = NULL, *c_r = NULL, *cred = NULL, *id_cred = NULL;
	size_t ead_len = 0, c_r_len = 0, cred_len = 0, id_cred_len = 0, len = 0, plen = 0;
	uint8_t c_i;
	int rc;

	err[0] = '\0';
	rc = vouch_ccs_encode(me->phone_id, me->pub, l->cred, sizeof(l->cred), &l->cred_len);
	if (rc == VOUCH_OK)
		rc = vouch_ccs_id_cred(l->cred, l->cred_len, l->id_cred, sizeof(l->id_cred),
		                       &l->id_cred_len);
	if (rc != VOUCH_OK) {
		snprintf(err, err_cap, "cannot encode the phone's credential: %s",
		         vouch_strerror(rc));
		return rc;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = VOUCH_EDHOC_INITIATOR;
	cfg.methods = VOUCH_EDHOC_METHOD_BIT(VOUCH_EDHOC_METHOD_SIG_SIG);
	cfg.suites = suites;
	cfg.n_suites = VOUCH_ARRAY_LEN(suites);
	cfg.key = me->priv;
	cfg.cred = l->cred;
	cfg.cred_len = l->cred_len;
	cfg.id_cred = l->id_cred;
	cfg.id_cred_len = l->id_cred_len;
	rc = vouch_edhoc_init(&l->edhoc, &cfg);
	if (rc == VOUCH_OK)
		rc = vouch_random(&c_i, 1);
	if (rc == VOUCH_OK)
		rc = vouch_edhoc_write_message_1(&l->edhoc, &c_i, 1, NULL, 0, l->msg,
		                                 sizeof(l->msg), &len);
	if (rc == VOUCH_OK)
		rc = vouch_edhoc_coap_encode(NULL, 0, l->msg, len, l->buf, sizeof(l->buf), &plen);
	if (rc != VOUCH_OK) {
		snprintf(err, err_cap, "EDHOC message_1: %s", vouch_strerror(rc));
		return rc;
	}
	q.payload = l->buf;
	q.payload_len = plen;
	rc = w_coap_request(&l->coap, &q, CALL_TIMEOUT_MS);
	if (rc != VOUCH_OK) {
		snprintf(err, err_cap, "the sensor does not answer");
		return VOUCH_ERR_IO;
	}
	if (l->coap.code != 0x44 || l->coap.body_len == 0 || l->coap.body_len > sizeof(l->msg)) {
		snprintf(err, err_cap, "the sensor refused EDHOC message_1 (CoAP %u.%02u)",
		         l->coap.code >> 5, l->coap.code & 31);
		return VOUCH_ERR_EDHOC_ERROR;
	}
	memcpy(l->msg, l->coap.body, l->coap.body_len);
	rc = vouch_edhoc_read_message_2(&l->edhoc, l->msg, l->coap.body_len, &ead, &ead_len);
	if (rc != VOUCH_OK) {
		snprintf(err, err_cap, "EDHOC message_2 refused: %s", vouch_strerror(rc));
		return rc;
	}
	peer = vouch_edhoc_peer_key(&l->edhoc);
	if (peer == NULL || vouch_edhoc_peer_cred(&l->edhoc, &cred, &cred_len, &id_cred,
	                                          &id_cred_len) != VOUCH_OK) {
		snprintf(err, err_cap, "EDHOC: no peer key");
		return VOUCH_ERR_INTERNAL;
	}
	/* The caller's check (pairing code, certified key) before we prove ourselves. */
	rc = check(arg, peer, cred, cred_len, err, err_cap);
	if (rc != VOUCH_OK) {
		send_refusal(l, "the sensor's key was refused");
		return rc;
	}
	rc = vouch_edhoc_write_message_3(&l->edhoc, NULL, 0, l->msg, sizeof(l->msg), &len);
	if (rc == VOUCH_OK)
		rc = vouch_edhoc_peer_c(&l->edhoc, &c_r, &c_r_len);
	if (rc == VOUCH_OK)
		rc = vouch_edhoc_coap_encode(c_r, c_r_len, l->msg, len, l->buf, sizeof(l->buf),
		                             &plen);
	if (rc != VOUCH_OK) {
		snprintf(err, err_cap, "EDHOC message_3: %s", vouch_strerror(rc));
		return rc;
	}
	q.payload = l->buf;
	q.payload_len = plen;
	rc = w_coap_request(&l->coap, &q, CALL_TIMEOUT_MS);
	if (rc != VOUCH_OK || (l->coap.code >> 5) != 2) {
		snprintf(err, err_cap, "the sensor refused EDHOC message_3 (%s)",
		         rc != VOUCH_OK ? "no answer" : "an error");
		return rc != VOUCH_OK ? VOUCH_ERR_IO : VOUCH_ERR_EDHOC_ERROR;
	}
	rc = vouch_edhoc_oscore_ctx(&l->edhoc, &l->osc);
	if (rc != VOUCH_OK) {
		snprintf(err, err_cap, "OSCORE context: %s", vouch_strerror(rc));
		return rc;
	}
	l->secured = true;
	return VOUCH_OK;
}

int w_link_call(struct w_link *l, const char *path, const uint8_t *in, size_t in_len,
                unsigned *code, const uint8_t **out, size_t *out_len, char *err, size_t err_cap)
{
	struct vouch_coap_option opts[8];
	struct vouch_oscore_request req;
	struct w_coap_req q = {true, NULL, -1, NULL, 0, NULL, 0};
	uint8_t cf = VOUCH_W_COAP_CF_CBOR, opt[VOUCH_OSCORE_OPTION_MAX], inner_code = 0;
	size_t n = 0, pt_len = 0, ct_len = 0, opt_len = 0, n_opts = 0;
	const char *p, *slash;
	const uint8_t *payload = NULL;
	size_t payload_len = 0;
	int rc;

	*code = 0;
	*out = NULL;
	*out_len = 0;
	err[0] = '\0';
	if (!l->secured)
		return VOUCH_ERR_INVALID;
	for (p = path; *p != '\0' && n + 1 < VOUCH_ARRAY_LEN(opts); p = slash + 1) {
		slash = strchr(p, '/');
		if (slash == NULL)
			slash = p + strlen(p);
		opts[n++] = (struct vouch_coap_option){COAP_OPT_URI_PATH, (uint16_t)(slash - p),
		                                       (const uint8_t *)p};
		if (*slash == '\0')
			break;
	}
	opts[n++] = (struct vouch_coap_option){COAP_OPT_CONTENT_FORMAT, 1, &cf};
	rc = vouch_oscore_inner_encode(0x02, opts, n, in, in_len, l->buf, INNER_MAX, &pt_len);
	if (rc == VOUCH_OK)
		rc = vouch_oscore_protect_request(&l->osc, l->buf, pt_len, l->buf, sizeof(l->buf),
		                                  &ct_len, opt, &opt_len, &req);
	if (rc != VOUCH_OK) {
		snprintf(err, err_cap, "OSCORE: %s", vouch_strerror(rc));
		return rc;
	}
	q.oscore = opt;
	q.oscore_len = opt_len;
	q.payload = l->buf;
	q.payload_len = ct_len;
	rc = w_coap_request(&l->coap, &q, CALL_TIMEOUT_MS);
	if (rc != VOUCH_OK) {
		snprintf(err, err_cap, "the sensor does not answer");
		return VOUCH_ERR_IO;
	}
	if (!l->coap.has_oscore) {
		snprintf(err, err_cap, "the sensor answered without protection (CoAP %u.%02u)",
		         l->coap.code >> 5, l->coap.code & 31);
		return VOUCH_ERR_OSCORE;
	}
	rc = vouch_oscore_unprotect_response(&l->osc, &req, l->coap.oscore, l->coap.oscore_len,
	                                     l->coap.body, l->coap.body_len, l->coap.body,
	                                     sizeof(l->coap.body), &pt_len);
	if (rc == VOUCH_OK)
		rc = vouch_oscore_inner_decode(l->coap.body, pt_len, &inner_code, opts,
		                               VOUCH_ARRAY_LEN(opts), &n_opts, &payload,
		                               &payload_len);
	if (rc != VOUCH_OK) {
		snprintf(err, err_cap, "the sensor's answer does not verify: %s",
		         vouch_strerror(rc));
		return rc;
	}
	*code = inner_code;
	*out = payload;
	*out_len = payload_len;
	return VOUCH_OK;
}
