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

/* POST /.well-known/edhoc: message_1 -> message_2, C_R || message_3 -> 2.04 (to be wired). */
static void on_edhoc(coap_resource_t *resource, coap_session_t *session, const coap_pdu_t *request,
                     const coap_string_t *query, coap_pdu_t *response)
{
	(void)resource;
	(void)session;
	(void)request;
	(void)query;
	set_diag(response, SENSOR_NOT_IMPLEMENTED, "not yet: EDHOC is being wired in");
}

/* An OSCORE-protected request (to the root, or a protected path sent in the clear). */
static void on_protected(coap_resource_t *resource, coap_session_t *session,
                         const coap_pdu_t *request, const coap_string_t *query,
                         coap_pdu_t *response)
{
	(void)resource;
	(void)session;
	(void)request;
	(void)query;
	set_diag(response, SENSOR_NOT_IMPLEMENTED, "not yet: OSCORE is being wired in");
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
