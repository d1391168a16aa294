/*
 * vouch-wallet: a synchronous CoAP client over libcoap 3 (UDP), the phone's stand-in for BLE/NFC
 * (docs/sensor-protocol.md). One request at a time: send, then run libcoap's I/O until the
 * answer to that token arrives or the deadline passes. Bodies larger than a datagram go
 * block-wise, reassembled by libcoap (COAP_BLOCK_SINGLE_BODY).
 */
#define _POSIX_C_SOURCE 200809L
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <coap3/coap.h>

#include "coap.h"
#include "vouch/common.h"
#include "vouch/crypto.h"

static bool started;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static coap_response_t on_response(coap_session_t *session, const coap_pdu_t *sent,
                                   const coap_pdu_t *received, const coap_mid_t mid)
{
	struct w_coap *c = coap_get_app_data(coap_session_get_context(session));
	coap_bin_const_t token = coap_pdu_get_token(received);
	const uint8_t *data = NULL;
	size_t len = 0, offset = 0, total = 0;
	coap_opt_iterator_t it;
	coap_opt_t *opt;

	(void)sent;
	(void)mid;
	if (c == NULL || c->done || token.length != sizeof(c->token) ||
	    memcmp(token.s, c->token, sizeof(c->token)) != 0)
		return COAP_RESPONSE_OK;
	c->code = coap_pdu_get_code(received);
	c->has_oscore = false;
	opt = coap_check_option(received, VOUCH_W_COAP_OPTION_OSCORE, &it);
	if (opt != NULL) {
		size_t olen = coap_opt_length(opt);

		if (olen > sizeof(c->oscore)) {
			c->failed = true;
		} else {
			memcpy(c->oscore, coap_opt_value(opt), olen);
			c->oscore_len = olen;
			c->has_oscore = true;
		}
	}
	c->body_len = 0;
	if (coap_get_data_large(received, &len, &data, &offset, &total) && len > 0) {
		if (offset != 0 || total != len || len > sizeof(c->body))
			c->failed = true;
		else {
			memcpy(c->body, data, len);
			c->body_len = len;
		}
	}
	c->done = true;
	return COAP_RESPONSE_OK;
}

static void on_nack(coap_session_t *session, const coap_pdu_t *sent,
                    const coap_nack_reason_t reason, const coap_mid_t mid)
{
	struct w_coap *c = coap_get_app_data(coap_session_get_context(session));

	(void)sent;
	(void)mid;
	(void)reason;
	if (c != NULL && !c->done) {
		c->failed = true;
		c->done = true;
	}
}

int w_coap_open(struct w_coap *c, const char *uri, char *err, size_t err_cap)
{
	struct addrinfo hints, *res = NULL;
	coap_address_t dst;
	coap_uri_t u;
	char host[256], port[8];
	int rc = VOUCH_ERR_INVALID;

	memset(c, 0, sizeof(*c));
	if (strncmp(uri, "coap://", 7) != 0 ||
	    coap_split_uri((const uint8_t *)uri, strlen(uri), &u) != 0 || u.host.length == 0 ||
	    u.host.length >= sizeof(host) || u.path.length != 0) {
		snprintf(err, err_cap, "%s: not a coap://HOST:PORT address", uri);
		return VOUCH_ERR_INVALID;
	}
	memcpy(host, u.host.s, u.host.length);
	host[u.host.length] = '\0';
	snprintf(port, sizeof(port), "%u", (unsigned)u.port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL) {
		snprintf(err, err_cap, "%s: cannot resolve %s", uri, host);
		return VOUCH_ERR_IO;
	}
	if (!started) {
		coap_startup();
		coap_set_log_level(LOG_EMERG);
		started = true;
	}
	coap_address_init(&dst);
	if (res->ai_addrlen > sizeof(dst.addr)) {
		freeaddrinfo(res);
		return VOUCH_ERR_INTERNAL;
	}
	dst.size = res->ai_addrlen;
	memcpy(&dst.addr, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	c->ctx = coap_new_context(NULL);
	if (c->ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_fail;
	}
	coap_set_app_data(c->ctx, c);
	coap_context_set_block_mode(c->ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
	coap_register_response_handler(c->ctx, on_response);
	coap_register_nack_handler(c->ctx, on_nack);
	/* The OSCORE option is critical: libcoap must know it or it refuses the answers. */
	coap_register_option(c->ctx, VOUCH_W_COAP_OPTION_OSCORE);
	c->session = coap_new_client_session(c->ctx, NULL, &dst, COAP_PROTO_UDP);
	if (c->session == NULL) {
		snprintf(err, err_cap, "%s: cannot open a CoAP session", uri);
		rc = VOUCH_ERR_IO;
		goto out_fail;
	}
	return VOUCH_OK;
out_fail:
	w_coap_close(c);
	return rc;
}

void w_coap_close(struct w_coap *c)
{
	if (c == NULL)
		return;
	if (c->session != NULL)
		coap_session_release(c->session);
	if (c->ctx != NULL)
		coap_free_context(c->ctx);
	vouch_wipe(c->body, sizeof(c->body));
	memset(c, 0, sizeof(*c));
}

int w_coap_request(struct w_coap *c, const struct w_coap_req *q, unsigned timeout_ms)
{
	coap_pdu_t *pdu;
	uint8_t buf[4];
	const char *p, *slash;
	uint64_t deadline;
	int rc = VOUCH_ERR_INTERNAL;

	if (c->session == NULL)
		return VOUCH_ERR_INVALID;
	c->done = false;
	c->failed = false;
	c->code = 0;
	c->body_len = 0;
	c->has_oscore = false;
	if (vouch_random(c->token, sizeof(c->token)) != VOUCH_OK)
		return VOUCH_ERR_CRYPTO;
	pdu = coap_pdu_init(COAP_MESSAGE_CON,
	                    q->post ? COAP_REQUEST_CODE_POST : COAP_REQUEST_CODE_GET,
	                    coap_new_message_id(c->session), coap_session_max_pdu_size(c->session));
	if (pdu == NULL)
		return VOUCH_ERR_NOMEM;
	if (!coap_add_token(pdu, sizeof(c->token), c->token))
		goto out_free;
	/* Options in ascending number: OSCORE (9), Uri-Path (11), Content-Format (12). */
	if (q->oscore != NULL &&
	    !coap_add_option(pdu, VOUCH_W_COAP_OPTION_OSCORE, q->oscore_len, q->oscore))
		goto out_free;
	for (p = q->path; p != NULL && *p != '\0'; p = slash + 1) {
		slash = strchr(p, '/');
		if (slash == NULL)
			slash = p + strlen(p);
		if (slash > p && !coap_add_option(pdu, COAP_OPTION_URI_PATH, (size_t)(slash - p),
		                                  (const uint8_t *)p))
			goto out_free;
		if (*slash == '\0')
			break;
	}
	if (q->content_format >= 0 &&
	    !coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
	                     coap_encode_var_safe(buf, sizeof(buf), (unsigned)q->content_format),
	                     buf))
		goto out_free;
	if (q->payload_len > 0 &&
	    !coap_add_data_large_request(c->session, pdu, q->payload_len, q->payload, NULL, NULL))
		goto out_free;
	if (coap_send(c->session, pdu) == COAP_INVALID_MID)
		return VOUCH_ERR_IO; /* coap_send releases the pdu either way */
	deadline = now_ms() + timeout_ms;
	while (!c->done) {
		uint64_t t = now_ms();

		if (t >= deadline)
			return VOUCH_ERR_IO;
		if (coap_io_process(c->ctx, (uint32_t)(deadline - t)) < 0)
			return VOUCH_ERR_IO;
	}
	return c->failed ? VOUCH_ERR_IO : VOUCH_OK;
out_free:
	coap_delete_pdu(pdu);
	return rc;
}
