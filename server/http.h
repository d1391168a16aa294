/*
 * vouchd — the HTTPS and plain HTTP listeners (libevent evhttp + bufferevent_openssl).
 *
 * One event loop, one thread: every handler runs to completion inside its callback (signing in
 * the token is synchronous), so a struct vouch_req lives on the dispatcher's stack and handlers
 * answer it before they return.
 *
 * Limits (docs/vouchd.md): request bodies over VOUCH_HTTP_MAX_BODY get 413 from the dispatcher
 * with a log line; headers over VOUCH_HTTP_MAX_HEADERS and bodies over VOUCH_HTTP_HARD_BODY
 * are cut off by libevent itself (413, connection closed) before any handler runs, without a
 * log line of ours (libevent 2.1 has no hook there). Connections idle or stalled for
 * VOUCH_HTTP_TIMEOUT_S seconds — in the TLS handshake, between requests or within one — are
 * dropped; on HTTPS a request must also be complete within VOUCH_HTTP_DEADLINE_S of the
 * connection or the previous request, so a client trickling bytes cannot hold a connection.
 *
 * Client certificates are requested on HTTPS but never required by the handshake: every
 * outcome of their verification against the issuing CA + root is kept (vouch_req.peer_verify)
 * so the handler can refuse with an HTTP status and a logged reason instead of a TLS alert.
 */
#ifndef VOUCHD_HTTP_H
#define VOUCHD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "vouch/common.h"

#define VOUCH_HTTP_MAX_BODY    (64 * 1024)
#define VOUCH_HTTP_HARD_BODY   (4 * VOUCH_HTTP_MAX_BODY)
#define VOUCH_HTTP_MAX_HEADERS (8 * 1024)
#define VOUCH_HTTP_TIMEOUT_S   10
#define VOUCH_HTTP_DEADLINE_S  30 /* whole request on HTTPS, from connect or the last one */
#define VOUCH_HTTP_URL_MAX     300
#define VOUCH_HTTP_ACTOR_MAX   128

struct vouch_service; /* handlers.h */

struct vouch_http {
	struct event_base *base;
	SSL_CTX *tls;              /* borrowed */
	struct vouch_service *svc; /* borrowed; handed to every handler */
	struct evhttp *https;
	struct evhttp *http;
	struct evhttp_bound_socket *https_sock;
	struct evhttp_bound_socket *http_sock;
	char https_url[VOUCH_HTTP_URL_MAX]; /* "https://HOST:PORT" with the port actually bound */
	char http_url[VOUCH_HTTP_URL_MAX];
};

#define VOUCH_REQ_NOTES 6

/* One request, as the handlers see it. */
struct vouch_req {
	struct evhttp_request *req;
	struct vouch_service *svc;
	enum evhttp_cmd_type method;
	const char *method_name;
	const char *path;       /* raw (percent-encoded) path, no query */
	struct evkeyvalq query; /* decoded query parameters */
	const uint8_t *body;    /* whole body, contiguous (NULL when empty) */
	size_t body_len;
	bool tls;
	X509 *peer;       /* client certificate (borrowed from the TLS session), or NULL */
	long peer_verify; /* X509_V_OK or the X509_V_ERR_* of verifying it against our CAs */
	char remote[64];
	struct timespec start;
	bool answered;
	int status; /* of the answer, once answered */
	/* Who the admin API acts for: "admin" (the init-time certificate) or "user:<name>". */
	char actor[VOUCH_HTTP_ACTOR_MAX];
	/* Extra fields of the request's log line (device, serial, ...), copied here. */
	unsigned n_notes;
	char note_key[VOUCH_REQ_NOTES][16];
	char note_val[VOUCH_REQ_NOTES][80];
};

/*
 * The TLS server context: TLS 1.2 and 1.3 only, the certificate chain from cert_path (PEM; the
 * issuing CA is appended when the file holds only the leaf), the private key `key` (a token key
 * whose signatures run in the HSM), client certificates requested and checked against issuing +
 * root but not required.
 */
int vouch_http_tls_new(SSL_CTX **out, const char *cert_path, EVP_PKEY *key, X509 *issuing,
                       X509 *root);

/* Bind both listeners (port 0: any free port; the URLs then say which) and start serving on
 * base. VOUCH_ERR_IO when an address cannot be bound. */
int vouch_http_start(struct vouch_http *h, struct event_base *base, SSL_CTX *tls,
                     const char *https_listen, const char *http_listen, struct vouch_service *svc);

/* Stop accepting new connections; requests in flight still finish. */
void vouch_http_stop_accepting(struct vouch_http *h);

/* Free both listeners and every connection. Safe on a zeroed or half-started struct. */
void vouch_http_free(struct vouch_http *h);

/* ---- answering a request (each logs the request line once) ---- */

/* Add a field to the request's log line (truncated to fit; never pass a secret). */
void vouch_req_note(struct vouch_req *r, const char *key, const char *value);

/* Send status with body (copied) and content type; reason (may be NULL) goes to the log line
 * as "reason". */
void vouch_req_reply(struct vouch_req *r, int status, const char *content_type, const void *body,
                     size_t len, const char *reason);

/* text/plain answer whose body is the message followed by a newline; the message is logged as
 * the reason too. For EST errors (RFC 7030 4.2.3: a human-readable plain-text body). */
void vouch_req_reply_text(struct vouch_req *r, int status, const char *message);

/* application/json answer; takes the reference to obj. */
void vouch_req_reply_json(struct vouch_req *r, int status, json_t *obj);

/* Admin API error: {"error": code, "message": message}; code is logged as the reason. */
void vouch_req_api_error(struct vouch_req *r, int status, const char *code, const char *message);

/* Add a response header (before replying). */
void vouch_req_header(struct vouch_req *r, const char *name, const char *value);

/* A request header, or NULL. */
const char *vouch_req_get_header(const struct vouch_req *r, const char *name);

/* True when the request's Content-Type is `type` (case-insensitive), parameters allowed. */
bool vouch_req_content_type_is(const struct vouch_req *r, const char *type);

/* A decoded query parameter, or NULL. */
const char *vouch_req_query(const struct vouch_req *r, const char *name);

#endif
