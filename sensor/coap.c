/*
 * vouch-sensor: the CoAP server (libcoap 3, UDP, no DTLS: EDHOC and OSCORE are ours).
 *
 * Unprotected resources (GET /info, POST /revocations) go straight to their handlers. The
 * protected ones are answered 5.01 for now: EDHOC (POST /.well-known/edhoc) and the OSCORE layer
 * (an OSCORE-protected POST to the root resource, RFC 8613 class E Uri-Path inside) are wired in
 * next. That layer finds or opens a session (sensor_session_open / _find by the connection id),
 * marks it secured with the key the phone proved (sensor_session_secure), unprotects a request,
 * looks its inner path up with sensor_route_find() and calls route->fn with the session, then
 * protects the answer: the handlers do not change. See on_protected() and on_edhoc() below.
 *
 * Request bodies are reassembled by libcoap (Block1, COAP_BLOCK_SINGLE_BODY); a body over
 * SENSOR_PAYLOAD_MAX is refused with 4.13 and Size1. Answers larger than one datagram go out
 * block-wise (Block2).
 */
#define _POSIX_C_SOURCE 200809L
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coap3/coap.h>

#include "sensor.h"
#include "vouch/log.h"
#include "vouch/pairing.h"

#define DIAG_MAX 200

/* One request is handled at a time: the answer is built here, then copied for libcoap. */
static uint8_t answer_buf[SENSOR_PAYLOAD_MAX];

static void release_copy(coap_session_t *session, void *app_ptr)
{
	(void)session;
	free(app_ptr);
}

static void set_diag(coap_pdu_t *response, unsigned code, const char *text)
{
	coap_pdu_set_code(response, (coap_pdu_code_t)code);
	(void)coap_add_data(response, strnlen(text, DIAG_MAX), (const uint8_t *)text);
}

static void send_answer(coap_resource_t *resource, coap_session_t *session,
                        const coap_pdu_t *request, const coap_string_t *query, coap_pdu_t *response,
                        unsigned code, const uint8_t *body, size_t len)
{
	uint8_t *copy;

	coap_pdu_set_code(response, (coap_pdu_code_t)code);
	if (len == 0)
		return;
	if (!sensor_answer_is_cbor(code)) {
		(void)coap_add_data(response, len < DIAG_MAX ? len : DIAG_MAX, body);
		return;
	}
	/* libcoap keeps the data until the last block is out. */
	copy = malloc(len);
	if (copy == NULL) {
		set_diag(response, SENSOR_INTERNAL, "out of memory");
		return;
	}
	memcpy(copy, body, len);
	if (!coap_add_data_large_response(resource, session, request, response, query,
	                                  COAP_MEDIATYPE_APPLICATION_CBOR, -1, 0, len, copy,
	                                  release_copy, copy))
		set_diag(response, SENSOR_INTERNAL, "cannot send the answer");
}

/* The whole body of a request; false (and the answer set) when it is refused. */
static bool request_body(const coap_pdu_t *request, coap_pdu_t *response, const uint8_t **data,
                         size_t *len)
{
	size_t offset = 0, total = 0;
	uint8_t size1[4];

	*data = NULL;
	*len = 0;
	if (!coap_get_data_large(request, len, data, &offset, &total))
		return true; /* no payload */
	if (total > SENSOR_PAYLOAD_MAX) {
		/* Options before the payload. */
		(void)coap_add_option(
		    response, COAP_OPTION_SIZE1,
		    coap_encode_var_safe(size1, sizeof(size1), SENSOR_PAYLOAD_MAX), size1);
		set_diag(response, SENSOR_TOO_LARGE, "payload too large");
		return false;
	}
	if (offset != 0 || *len != total) {
		set_diag(response, SENSOR_BAD_REQUEST, "incomplete body");
		return false;
	}
	return true;
}

static struct vouch_sensor *sensor_of(coap_session_t *session)
{
	return coap_get_app_data(coap_session_get_context(session));
}

/* An unprotected resource: its handler, with no session. */
static void on_plain(coap_resource_t *resource, coap_session_t *session, const coap_pdu_t *request,
                     const coap_string_t *query, coap_pdu_t *response)
{
	struct vouch_sensor *s = sensor_of(session);
	coap_str_const_t *path = coap_resource_get_uri_path(resource);
	const struct sensor_route *route;
	const uint8_t *in;
	size_t in_len = 0, out_len = 0;
	unsigned code = SENSOR_INTERNAL;
	int rc;

	route = path != NULL ? sensor_route_find((const char *)path->s, path->length) : NULL;
	if (route == NULL || route->protect) {
		set_diag(response, SENSOR_NOT_FOUND, "no such resource");
		return;
	}
	if (!request_body(request, response, &in, &in_len))
		return;
	rc = route->fn(s, NULL, in, in_len, answer_buf, sizeof(answer_buf), &out_len, &code);
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "sensor.request", "path", route->path, "why",
		          vouch_strerror(rc), NULL);
		set_diag(response, SENSOR_INTERNAL, "internal error");
		return;
	}
	send_answer(resource, session, request, query, response, code, answer_buf, out_len);
}

/* ---- EDHOC (RFC 9528 appendix A.2) ---- */

#define CF_EDHOC 64 /* application/edhoc+cbor-seq */

static const int32_t edhoc_suites[] = {2};
/* The sensor's own credential for EDHOC: CCS by value (docs/sensor-protocol.md). */
static uint8_t own_cred[VOUCH_CCS_MAX], own_id_cred[VOUCH_CCS_ID_CRED_MAX];
static size_t own_cred_len, own_id_cred_len;
static char own_cred_for[SENSOR_NAME_MAX + 1 + 1];
static uint8_t edhoc_msg[VOUCH_EDHOC_MAX_MESSAGE];

static int own_credential(struct vouch_sensor *s)
{
	char sub[SENSOR_NAME_MAX + 16];
	const char *id = s->st.provisioned ? s->st.device_id : "unprovisioned";
	int rc;

	if (own_cred_len > 0 && strcmp(own_cred_for, id) == 0)
		return VOUCH_OK;
	snprintf(sub, sizeof(sub), "sensor:%s", id);
	rc = vouch_ccs_encode(sub, &s->id, own_cred, sizeof(own_cred), &own_cred_len);
	if (rc == VOUCH_OK)
		rc = vouch_ccs_id_cred(own_cred, own_cred_len, own_id_cred, sizeof(own_id_cred),
		                       &own_id_cred_len);
	if (rc == VOUCH_OK)
		snprintf(own_cred_for, sizeof(own_cred_for), "%s", id);
	else
		own_cred_len = 0;
	return rc;
}

static void edhoc_answer(coap_pdu_t *response, unsigned code, const uint8_t *msg, size_t len)
{
	uint8_t cf[2];

	coap_pdu_set_code(response, (coap_pdu_code_t)code);
	if (len == 0)
		return;
	(void)coap_add_option(response, COAP_OPTION_CONTENT_FORMAT,
	                      coap_encode_var_safe(cf, sizeof(cf), CF_EDHOC), cf);
	(void)coap_add_data(response, len, msg);
}

/* An EDHOC error message for a failed step (the session, if any, is gone after it). */
static void edhoc_fail(coap_pdu_t *response, struct sensor_session *sess, const char *diag)
{
	size_t len = 0;

	if (sess != NULL && vouch_edhoc_write_error(&sess->edhoc, diag, edhoc_msg,
	                                            sizeof(edhoc_msg), &len) == VOUCH_OK) {
		sensor_session_close(sess);
		edhoc_answer(response, SENSOR_BAD_REQUEST, edhoc_msg, len);
		return;
	}
	if (sess != NULL)
		sensor_session_close(sess);
	if (vouch_edhoc_error_encode(VOUCH_EDHOC_ERR_UNSPECIFIED, diag, NULL, 0, edhoc_msg,
	                             sizeof(edhoc_msg), &len) == VOUCH_OK)
		edhoc_answer(response, SENSOR_BAD_REQUEST, edhoc_msg, len);
	else
		set_diag(response, SENSOR_BAD_REQUEST, diag);
}

static void edhoc_message_1(struct vouch_sensor *s, const uint8_t *msg, size_t msg_len,
                            coap_pdu_t *response)
{
	struct vouch_edhoc_config cfg;
	struct sensor_session *sess = NULL;
	const uint8_t *ead = NULL, *c_i = NULL;
	size_t ead_len = 0, c_i_len = 0, len = 0;
	uint8_t cid = 0;
	int rc;

	if (own_credential(s) != VOUCH_OK) {
		set_diag(response, SENSOR_INTERNAL, "no credential");
		return;
	}
	/* A fresh one-byte connection id not in use (it becomes the phone's OSCORE kid). */
	for (int tries = 0; tries < 64; tries++) {
		if (vouch_random(&cid, 1) == VOUCH_OK && sensor_session_find(s, &cid, 1) == NULL) {
			sess = sensor_session_open(s, &cid, 1);
			break;
		}
	}
	if (sess == NULL) {
		set_diag(response, SENSOR_UNAVAILABLE, "busy: every session is in use");
		return;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = VOUCH_EDHOC_RESPONDER;
	cfg.methods = VOUCH_EDHOC_METHOD_BIT(VOUCH_EDHOC_METHOD_SIG_SIG);
	cfg.suites = edhoc_suites;
	cfg.n_suites = VOUCH_ARRAY_LEN(edhoc_suites);
	cfg.key = &s->id;
	cfg.cred = own_cred;
	cfg.cred_len = own_cred_len;
	cfg.id_cred = own_id_cred;
	cfg.id_cred_len = own_id_cred_len;
	rc = vouch_edhoc_init(&sess->edhoc, &cfg);
	if (rc == VOUCH_OK)
		rc = vouch_edhoc_read_message_1(&sess->edhoc, msg, msg_len, &ead, &ead_len);
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_WARN, "sensor.edhoc", "step", "message_1", "why",
		          vouch_strerror(rc), NULL);
		edhoc_fail(response, sess, vouch_strerror(rc));
		return;
	}
	/* C_R must differ from C_I (both become OSCORE ids). */
	if (vouch_edhoc_peer_c(&sess->edhoc, &c_i, &c_i_len) == VOUCH_OK && c_i_len == 1 &&
	    c_i[0] == sess->cid[0])
		sess->cid[0] ^= 0x01;
	rc = vouch_edhoc_write_message_2(&sess->edhoc, sess->cid, sess->cid_len, NULL, 0, edhoc_msg,
	                                 sizeof(edhoc_msg), &len);
	if (rc != VOUCH_OK) {
		edhoc_fail(response, sess, vouch_strerror(rc));
		return;
	}
	edhoc_answer(response, SENSOR_CHANGED, edhoc_msg, len);
}

static void edhoc_message_3(struct vouch_sensor *s, const uint8_t *c, size_t c_len,
                            const uint8_t *msg, size_t msg_len, coap_pdu_t *response)
{
	struct sensor_session *sess = sensor_session_find(s, c, c_len);
	const uint8_t *ead = NULL;
	size_t ead_len = 0;
	int rc;

	if (sess == NULL || sess->state != SENSOR_SESSION_HANDSHAKE ||
	    vouch_edhoc_state(&sess->edhoc) != VOUCH_EDHOC_S_WAIT_M3) {
		edhoc_fail(response, NULL, "no EDHOC session for that connection id");
		return;
	}
	if (msg_len > sizeof(edhoc_msg)) {
		edhoc_fail(response, sess, "message_3 too large");
		return;
	}
	memcpy(edhoc_msg, msg, msg_len); /* decrypted in place */
	rc = vouch_edhoc_read_message_3(&sess->edhoc, edhoc_msg, msg_len, &ead, &ead_len);
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_WARN, "sensor.edhoc", "step", "message_3", "why",
		          vouch_strerror(rc), NULL);
		if (rc == VOUCH_ERR_EDHOC_ERROR) {
			/* The phone refused us (e.g. the key did not match what it expected). */
			sensor_session_close(sess);
			coap_pdu_set_code(response, (coap_pdu_code_t)SENSOR_CHANGED);
			return;
		}
		edhoc_fail(response, sess, vouch_strerror(rc));
		return;
	}
	rc = sensor_session_secure(sess, vouch_edhoc_peer_key(&sess->edhoc));
	if (rc == VOUCH_OK)
		rc = vouch_edhoc_oscore_ctx(&sess->edhoc, &sess->osc);
	if (rc != VOUCH_OK) {
		sensor_session_close(sess);
		set_diag(response, SENSOR_INTERNAL, "cannot set up OSCORE");
		return;
	}
	vouch_log(VOUCH_LOG_INFO, "sensor.edhoc", "step", "completed", NULL);
	coap_pdu_set_code(response, (coap_pdu_code_t)SENSOR_CHANGED);
}

/* POST /.well-known/edhoc: `true` || message_1 -> message_2; C_R || message_3 -> 2.04. */
static void on_edhoc(coap_resource_t *resource, coap_session_t *session, const coap_pdu_t *request,
                     const coap_string_t *query, coap_pdu_t *response)
{
	struct vouch_sensor *s = sensor_of(session);
	uint8_t c[VOUCH_EDHOC_MAX_CID];
	size_t c_len = 0, in_len = 0, msg_len = 0;
	const uint8_t *in = NULL, *msg = NULL;
	bool first = false;

	(void)resource;
	(void)query;
	if (!request_body(request, response, &in, &in_len))
		return;
	if (in == NULL ||
	    vouch_edhoc_coap_split(in, in_len, &first, c, &c_len, &msg, &msg_len) != VOUCH_OK) {
		edhoc_fail(response, NULL, "not an EDHOC request");
		return;
	}
	if (first)
		edhoc_message_1(s, msg, msg_len, response);
	else
		edhoc_message_3(s, c, c_len, msg, msg_len, response);
}

/* ---- OSCORE (RFC 8613) ---- */

#define COAP_OPT_URI_PATH       11
#define COAP_OPT_CONTENT_FORMAT 12
#define INNER_OPTS              16

static uint8_t pt_buf[SENSOR_PAYLOAD_MAX + 64];

/* An OSCORE-protected request: to the root, or (refused) a protected path in the clear. */
static void on_protected(coap_resource_t *resource, coap_session_t *session,
                         const coap_pdu_t *request, const coap_string_t *query,
                         coap_pdu_t *response)
{
	struct vouch_sensor *s = sensor_of(session);
	struct vouch_oscore_option oo;
	struct vouch_oscore_request req;
	struct vouch_coap_option opts[INNER_OPTS];
	struct sensor_session *sess;
	const struct sensor_route *route = NULL;
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	const uint8_t *in = NULL, *payload = NULL, *optv;
	size_t in_len = 0, pt_len = 0, n_opts = 0, payload_len = 0, out_len = 0, ct_len = 0;
	size_t optv_len, oscore_len = 0, path_len = 0;
	uint8_t inner_code = 0, oscore[VOUCH_OSCORE_OPTION_MAX], cf = 60;
	char path[64];
	unsigned code = SENSOR_INTERNAL;
	struct vouch_coap_option out_opt[1];
	bool closing;
	int rc;

	(void)resource;
	(void)query;
	opt = coap_check_option(request, 9, &it);
	if (opt == NULL) {
		set_diag(response, SENSOR_UNAUTHORIZED, "OSCORE required: run EDHOC first");
		return;
	}
	if (!request_body(request, response, &in, &in_len))
		return;
	optv = coap_opt_value(opt);
	optv_len = coap_opt_length(opt);
	if (vouch_oscore_option_decode(optv, optv_len, &oo) != VOUCH_OK || !oo.has_kid) {
		set_diag(response, SENSOR_BAD_REQUEST, "malformed OSCORE option");
		return;
	}
	sess = sensor_session_find(s, oo.kid, oo.kid_len);
	if (sess == NULL || sess->state != SENSOR_SESSION_SECURED) {
		set_diag(response, SENSOR_UNAUTHORIZED, "no security context: run EDHOC again");
		return;
	}
	rc = vouch_oscore_unprotect_request(&sess->osc, optv, optv_len, in, in_len, pt_buf,
	                                    sizeof(pt_buf), &pt_len, &req);
	if (rc == VOUCH_OK)
		rc = vouch_oscore_inner_decode(pt_buf, pt_len, &inner_code, opts, INNER_OPTS,
		                               &n_opts, &payload, &payload_len);
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_WARN, "sensor.oscore", "why", vouch_strerror(rc), NULL);
		set_diag(response,
		         rc == VOUCH_ERR_OSCORE_REPLAY ? SENSOR_UNAUTHORIZED : SENSOR_BAD_REQUEST,
		         vouch_strerror(rc));
		return;
	}
	for (size_t i = 0; i < n_opts; i++) {
		if (opts[i].number != COAP_OPT_URI_PATH)
			continue;
		if (path_len + opts[i].len + 1 >= sizeof(path)) {
			path_len = sizeof(path);
			break;
		}
		if (path_len > 0)
			path[path_len++] = '/';
		memcpy(path + path_len, opts[i].value, opts[i].len);
		path_len += opts[i].len;
	}
	if (path_len < sizeof(path))
		route = sensor_route_find(path, path_len);
	closing = path_len == 5 && memcmp(path, "close", 5) == 0;
	if (closing) {
		/* The phone is done: answer 2.02, then free the session for the next phone. */
		code = SENSOR_DELETED;
		out_len = 0;
		rc = VOUCH_OK;
	} else if (route == NULL || !route->oscore_ok) {
		code = SENSOR_NOT_FOUND;
		rc = sensor_answer_diag(code, "no such protected resource", answer_buf,
		                        sizeof(answer_buf), &out_len, &code);
	} else if (inner_code != (route->method == SENSOR_GET ? 0x01 : 0x02)) {
		rc = sensor_answer_diag(SENSOR_METHOD_NOT_ALLOWED, "method not allowed", answer_buf,
		                        sizeof(answer_buf), &out_len, &code);
	} else {
		rc = route->fn(s, sess, payload, payload_len, answer_buf, sizeof(answer_buf),
		               &out_len, &code);
	}
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "sensor.request", "why", vouch_strerror(rc), NULL);
		rc = sensor_answer_diag(SENSOR_INTERNAL, "internal error", answer_buf,
		                        sizeof(answer_buf), &out_len, &code);
	}
	/* The answer, protected under the request's nonce. The session may be gone (decommission):
	 * then there is nothing left to protect it with. */
	if (sess->state != SENSOR_SESSION_SECURED) {
		coap_pdu_set_code(response, (coap_pdu_code_t)SENSOR_DELETED);
		return;
	}
	out_opt[0] = (struct vouch_coap_option){COAP_OPT_CONTENT_FORMAT, 1, &cf};
	rc = vouch_oscore_inner_encode((uint8_t)code, out_opt, sensor_answer_is_cbor(code) ? 1 : 0,
	                               answer_buf, out_len, pt_buf, sizeof(pt_buf), &pt_len);
	if (rc == VOUCH_OK)
		rc = vouch_oscore_protect_response(&sess->osc, &req, false, pt_buf, pt_len, pt_buf,
		                                   sizeof(pt_buf), &ct_len, oscore, &oscore_len);
	if (rc != VOUCH_OK) {
		set_diag(response, SENSOR_INTERNAL, "cannot protect the answer");
		return;
	}
	coap_pdu_set_code(response, (coap_pdu_code_t)SENSOR_CHANGED);
	if (!coap_add_option(response, 9, oscore_len, oscore) ||
	    !coap_add_data(response, ct_len, pt_buf))
		set_diag(response, SENSOR_INTERNAL, "answer too large");
	if (closing)
		sensor_session_close(sess);
}

static void on_coap_log(coap_log_t level, const char *message)
{
	char line[256];
	size_t n = strnlen(message, sizeof(line) - 1);

	memcpy(line, message, n);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	line[n] = '\0';
	vouch_log(level <= LOG_ERR ? VOUCH_LOG_ERROR : VOUCH_LOG_WARN, "coap", "message", line,
	          NULL);
}

static int resolve(const char *listen, coap_address_t *addr)
{
	char host[256];
	const char *colon = strrchr(listen, ':'), *h = listen;
	struct addrinfo hints, *res = NULL;
	size_t hlen;
	int rc = VOUCH_ERR_INVALID;

	if (colon == NULL || colon[1] == '\0')
		return rc;
	hlen = (size_t)(colon - listen);
	if (hlen >= 2 && listen[0] == '[' && listen[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return rc;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || res == NULL)
		return rc;
	coap_address_init(addr);
	if (res->ai_addrlen <= sizeof(addr->addr)) {
		addr->size = res->ai_addrlen;
		memcpy(&addr->addr, res->ai_addr, res->ai_addrlen);
		rc = VOUCH_OK;
	}
	freeaddrinfo(res);
	return rc;
}

static bool add_resource(coap_context_t *ctx, const char *path, coap_request_t method,
                         coap_method_handler_t fn)
{
	coap_resource_t *r = coap_resource_init(coap_make_str_const(path), 0);

	if (r == NULL)
		return false;
	coap_register_handler(r, method, fn);
	coap_add_resource(ctx, r);
	return true;
}

int sensor_coap_open(struct vouch_sensor *s, const char *listen, coap_context_t **out)
{
	coap_context_t *ctx;
	coap_address_t addr;
	bool ok = true;

	*out = NULL;
	coap_startup();
	coap_set_log_handler(on_coap_log);
	coap_set_log_level(LOG_WARNING);
	if (resolve(listen, &addr) != VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "sensor.listen", "address", listen, "why",
		          "not HOST:PORT", NULL);
		return VOUCH_ERR_INVALID;
	}
	ctx = coap_new_context(NULL);
	if (ctx == NULL)
		return VOUCH_ERR_NOMEM;
	coap_set_app_data(ctx, s);
	coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
	/* The OSCORE option, so that libcoap passes it on instead of refusing it as unknown. */
	coap_register_option(ctx, 9);
	if (coap_new_endpoint(ctx, &addr, COAP_PROTO_UDP) == NULL) {
		vouch_log(VOUCH_LOG_ERROR, "sensor.listen", "address", listen, "why", "cannot bind",
		          NULL);
		coap_free_context(ctx);
		return VOUCH_ERR_IO;
	}
	for (size_t i = 0; i < sensor_n_routes && ok; i++) {
		const struct sensor_route *r = &sensor_routes[i];

		ok = add_resource(ctx, r->path,
		                  r->method == SENSOR_GET ? COAP_REQUEST_GET : COAP_REQUEST_POST,
		                  r->protect ? on_protected : on_plain);
	}
	ok = ok && add_resource(ctx, ".well-known/edhoc", COAP_REQUEST_POST, on_edhoc);
	ok = ok && add_resource(ctx, "", COAP_REQUEST_POST, on_protected);
	if (!ok) {
		coap_free_context(ctx);
		return VOUCH_ERR_NOMEM;
	}
	*out = ctx;
	vouch_log(VOUCH_LOG_INFO, "sensor.listen", "address", listen, NULL);
	return VOUCH_OK;
}

int sensor_coap_serve(coap_context_t *ctx, unsigned timeout_ms)
{
	return coap_io_process(ctx, timeout_ms) < 0 ? VOUCH_ERR_IO : VOUCH_OK;
}

void sensor_coap_close(coap_context_t *ctx)
{
	if (ctx != NULL)
		coap_free_context(ctx);
	coap_cleanup();
}
