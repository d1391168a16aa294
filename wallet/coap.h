/*
 * vouch-wallet: the CoAP client (wallet/coap.c).
 */
#ifndef VOUCH_WALLET_COAP_H
#define VOUCH_WALLET_COAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VOUCH_W_COAP_OPTION_OSCORE 9
#define VOUCH_W_COAP_BODY_MAX      (32u * 1024u)
#define VOUCH_W_COAP_CF_CBOR       60
#define VOUCH_W_COAP_CF_EDHOC      65 /* application/cid-edhoc+cbor-seq */

struct coap_context_t;
struct coap_session_t;

struct w_coap {
	struct coap_context_t *ctx;
	struct coap_session_t *session;
	uint8_t token[8];
	bool done, failed;
	/* the answer */
	unsigned code; /* class * 32 + detail, e.g. 2.04 = 0x44 */
	uint8_t body[VOUCH_W_COAP_BODY_MAX];
	size_t body_len;
	bool has_oscore;
	uint8_t oscore[64];
	size_t oscore_len;
};

struct w_coap_req {
	bool post;             /* else GET */
	const char *path;      /* "a/b"; NULL or "": the root resource */
	int content_format;    /* -1: none */
	const uint8_t *oscore; /* the OSCORE option's value, or NULL */
	size_t oscore_len;
	const uint8_t *payload;
	size_t payload_len;
};

/* uri: coap://HOST:PORT (no path). */
int w_coap_open(struct w_coap *c, const char *uri, char *err, size_t err_cap);
void w_coap_close(struct w_coap *c);
/* VOUCH_OK when an answer came (c->code, c->body); VOUCH_ERR_IO on timeout or refusal. */
int w_coap_request(struct w_coap *c, const struct w_coap_req *q, unsigned timeout_ms);

#endif
