/* vouchd's listeners: evhttp over bufferevent_openssl (HTTPS) and over plain sockets (HTTP). */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "config.h"
#include "handlers.h"
#include "http.h"
#include "vouch/log.h"

/* The handshake must not fail on a client certificate: the verdict is kept in the session and
 * the handler that needs a client certificate refuses with an HTTP status and a logged reason. */
static int verify_keep_going(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

int vouch_http_tls_new(SSL_CTX **out, const char *cert_path, EVP_PKEY *key, X509 *issuing,
                       X509 *root)
{
	static const unsigned char sid_ctx[] = "vouchd";
	int rc = VOUCH_ERR_CRYPTO;
	STACK_OF(X509) *chain = NULL;
	STACK_OF(X509_NAME) *cas = NULL;
	X509_STORE *store;
	SSL_CTX *ctx;

	if (out == NULL)
		return VOUCH_ERR_INVALID;
	*out = NULL;
	if (cert_path == NULL || key == NULL || issuing == NULL || root == NULL)
		return VOUCH_ERR_INVALID;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		goto out_log;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto out_free_ctx;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	                             SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		rc = VOUCH_ERR_IO;
		goto out_free_ctx;
	}
	if (SSL_CTX_get0_chain_certs(ctx, &chain) != 1)
		goto out_free_ctx;
	if (sk_X509_num(chain) == 0 && SSL_CTX_add1_chain_cert(ctx, issuing) != 1)
		goto out_free_ctx;
	/* The signature of every handshake happens in the token, through the key's methods. */
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		rc = VOUCH_ERR_KEY;
		goto out_free_ctx;
	}

	store = SSL_CTX_get_cert_store(ctx);
	if (X509_STORE_add_cert(store, issuing) != 1 || X509_STORE_add_cert(store, root) != 1)
		goto out_free_ctx;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, verify_keep_going);
	SSL_CTX_set_verify_depth(ctx, 3);
	cas = sk_X509_NAME_new_null();
	if (cas == NULL)
		goto out_free_ctx;
	if (!sk_X509_NAME_push(cas, X509_NAME_dup(X509_get_subject_name(issuing))))
		goto out_free_cas;
	SSL_CTX_set_client_CA_list(ctx, cas); /* takes cas */
	cas = NULL;
	/* Needed for session resumption whenever peer verification is on. */
	if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1) != 1)
		goto out_free_ctx;
	*out = ctx;
	return VOUCH_OK;

out_free_cas:
	sk_X509_NAME_pop_free(cas, X509_NAME_free);
out_free_ctx:
	SSL_CTX_free(ctx);
out_log:
	vouch_log_openssl_errors("http.tls");
	return rc;
}

/* ---- answering ---- */

void vouch_req_note(struct vouch_req *r, const char *key, const char *value)
{
	if (r == NULL || key == NULL || value == NULL || r->n_notes >= VOUCH_REQ_NOTES)
		return;
	snprintf(r->note_key[r->n_notes], sizeof(r->note_key[0]), "%s", key);
	snprintf(r->note_val[r->n_notes], sizeof(r->note_val[0]), "%s", value);
	r->n_notes++;
}

static void log_request(struct vouch_req *r, int status, const char *reason)
{
	const char *k[VOUCH_REQ_NOTES + 2] = {NULL}, *v[VOUCH_REQ_NOTES + 2] = {NULL};
	enum vouch_log_level level = VOUCH_LOG_INFO;
	char status_s[8], ms_s[24];
	struct timespec now;
	unsigned n = 0;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - r->start.tv_sec) * 1e3 +
	     (double)(now.tv_nsec - r->start.tv_nsec) / 1e6;
	snprintf(status_s, sizeof(status_s), "%d", status);
	snprintf(ms_s, sizeof(ms_s), "%.3f", ms);
	for (unsigned i = 0; i < r->n_notes; i++, n++) {
		k[n] = r->note_key[i];
		v[n] = r->note_val[i];
	}
	if (reason != NULL) {
		k[n] = "reason";
		v[n] = reason;
		n++;
	}
	if (status >= 500)
		level = VOUCH_LOG_ERROR;
	else if (status >= 400)
		level = VOUCH_LOG_WARN;
	/* Unused pairs are NULL keys: the first one ends the list. */
	vouch_log(level, "http.request", "status", status_s, "method", r->method_name, "path",
	          r->path, "remote", r->remote, "tls", r->tls ? "1" : "0", "ms", ms_s, k[0], v[0],
	          k[1], v[1], k[2], v[2], k[3], v[3], k[4], v[4], k[5], v[5], k[6], v[6], k[7],
	          v[7], NULL);
}

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

void vouch_req_header(struct vouch_req *r, const char *name, const char *value)
{
	if (r == NULL || r->answered)
		return;
	evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
}

const char *vouch_req_get_header(const struct vouch_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

bool vouch_req_content_type_is(const struct vouch_req *r, const char *type)
{
	const char *ct = vouch_req_get_header(r, "Content-Type");
	size_t n = strlen(type);

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return strncasecmp(ct, type, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

const char *vouch_req_query(const struct vouch_req *r, const char *name)
{
	return evhttp_find_header(&r->query, name);
}

void vouch_req_reply(struct vouch_req *r, int status, const char *content_type, const void *body,
                     size_t len, const char *reason)
{
	struct evkeyvalq *hdrs;
	struct evbuffer *buf;

	if (r == NULL || r->answered)
		return;
	r->answered = true;
	r->status = status;
	/* Log first: the request may be freed inside evhttp_send_reply. */
	log_request(r, status, reason);
	hdrs = evhttp_request_get_output_headers(r->req);
	if (content_type != NULL)
		evhttp_add_header(hdrs, "Content-Type", content_type);
	evhttp_add_header(hdrs, "Cache-Control", "no-store");
	if (r->method == EVHTTP_REQ_HEAD)
		len = 0; /* the headers of a GET, without its body */
	buf = evbuffer_new();
	if (buf == NULL || (len > 0 && evbuffer_add(buf, body, len) != 0)) {
		evbuffer_free(buf);
		evhttp_send_error(r->req, 500, NULL);
		return;
	}
	evhttp_send_reply(r->req, status, status_text(status), buf);
	evbuffer_free(buf);
}

void vouch_req_reply_text(struct vouch_req *r, int status, const char *message)
{
	char body[512];
	int n = snprintf(body, sizeof(body), "%s\n", message);

	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(body))
		n = (int)sizeof(body) - 1;
	vouch_req_reply(r, status, "text/plain; charset=utf-8", body, (size_t)n,
	                status >= 400 ? message : NULL);
}

void vouch_req_reply_json(struct vouch_req *r, int status, json_t *obj)
{
	char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	if (text == NULL) {
		vouch_req_reply(r, 500, "application/json", "{\"error\":\"internal\"}", 20,
		                "json encoding failed");
		return;
	}
	vouch_req_reply(r, status, "application/json", text, strlen(text), NULL);
	free(text);
}

void vouch_req_api_error(struct vouch_req *r, int status, const char *code, const char *message)
{
	json_t *obj = json_pack("{s:s, s:s}", "error", code, "message", message);
	char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
	char reason[160];

	json_decref(obj);
	snprintf(reason, sizeof(reason), "%s: %s", code, message);
	if (text == NULL) {
		vouch_req_reply(r, status, "application/json", "{\"error\":\"internal\"}", 20,
		                reason);
		return;
	}
	vouch_req_reply(r, status, "application/json", text, strlen(text), reason);
	free(text);
}

/* ---- per-connection request deadline (HTTPS) ----
 *
 * evhttp's timeout is per read, so a client trickling a byte every few seconds would hold its
 * connection for hours. Each TLS connection gets a timer, re-armed whenever a request on it is
 * complete; when it fires, the request has taken longer than VOUCH_HTTP_DEADLINE_S and the
 * socket is shut down, which evhttp then sees as a closed connection and frees. The timer lives
 * in the SSL object's ex_data, whose free callback runs while the connection is torn down, so
 * it can never fire on a reused descriptor. */

struct conn_deadline {
	struct event *ev;
	struct bufferevent *bev;
};

static int deadline_idx = -1;

static void deadline_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                          void *argp)
{
	struct conn_deadline *d = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (d == NULL)
		return;
	event_free(d->ev);
	free(d);
}

static void deadline_cb(evutil_socket_t unused, short what, void *arg)
{
	struct conn_deadline *d = arg;
	evutil_socket_t fd = bufferevent_getfd(d->bev);

	(void)unused;
	(void)what;
	if (fd < 0)
		return;
	vouch_log(VOUCH_LOG_WARN, "http.deadline", "reason",
	          "request not complete in time: connection closed", NULL);
	shutdown(fd, SHUT_RDWR);
}

static void deadline_arm(SSL *ssl)
{
	struct timeval tv = {VOUCH_HTTP_DEADLINE_S, 0};
	struct conn_deadline *d = SSL_get_ex_data(ssl, deadline_idx);

	if (d != NULL)
		event_add(d->ev, &tv);
}

/* ---- dispatching ---- */

static const char *method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	default:
		return "OTHER";
	}
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void dispatch(struct evhttp_request *req, struct vouch_http *h, bool tls)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct vouch_req r;
	const char *q;
	char *addr = NULL;
	ev_uint16_t port = 0;
	size_t len;

	memset(&r, 0, sizeof(r));
	TAILQ_INIT(&r.query);
	clock_gettime(CLOCK_MONOTONIC, &r.start);
	r.req = req;
	r.svc = h->svc;
	r.tls = tls;
	r.method = evhttp_request_get_command(req);
	r.method_name = method_name(r.method);
	r.peer_verify = X509_V_OK;
	r.path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (r.path == NULL || r.path[0] == '\0')
		r.path = "/";
	if (evcon != NULL) {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
		evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
		int one = 1;

		/* Replies go out in several writes (TLS records, header and body): without this,
		 * Nagle and the client's delayed ACK add 40 ms to every keep-alive request. */
		if (fd >= 0)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		evhttp_connection_get_peer(evcon, &addr, &port);
		snprintf(r.remote, sizeof(r.remote), "%s:%u", addr != NULL ? addr : "?",
		         (unsigned)port);
	}

	if (tls) {
		struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
		SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;

		/* A plain socket on the TLS listener (SSL_new failed) never gets an answer. */
		if (ssl == NULL) {
			r.answered = true;
			log_request(&r, 500, "no TLS session on the HTTPS listener");
			evhttp_send_error(req, 500, NULL);
			return;
		}
		deadline_arm(ssl);
		r.peer = SSL_get0_peer_certificate(ssl);
		if (r.peer != NULL)
			r.peer_verify = SSL_get_verify_result(ssl);
	}

	q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	if (q != NULL && evhttp_parse_query_str(q, &r.query) != 0) {
		vouch_req_reply_text(&r, 400, "malformed query string");
		goto out_clear;
	}
	len = evbuffer_get_length(in);
	if (len > VOUCH_HTTP_MAX_BODY) {
		vouch_req_reply_text(&r, 413, "request body larger than 64 KiB");
		goto out_clear;
	}
	if (len > 0) {
		r.body = evbuffer_pullup(in, -1);
		r.body_len = len;
		if (r.body == NULL) {
			vouch_req_reply_text(&r, 500, "out of memory");
			goto out_clear;
		}
	}

	if (tls && has_prefix(r.path, "/.well-known/est/"))
		vouch_est_handle(&r);
	else if (tls && has_prefix(r.path, "/api/v1/"))
		vouch_api_handle(&r);
	else if (!tls)
		vouch_pki_http_handle(&r);
	else if (!vouch_people_public_handle(&r)) /* /keys, /revocations: signed, also on HTTPS */
		vouch_req_reply_text(&r, 404, "no such resource");

	if (!r.answered)
		vouch_req_reply_text(&r, 500, "internal error: request left unanswered");
out_clear:
	evhttp_clear_headers(&r.query);
}

static void https_cb(struct evhttp_request *req, void *arg)
{
	dispatch(req, arg, true);
}

static void http_cb(struct evhttp_request *req, void *arg)
{
	dispatch(req, arg, false);
}

static struct bufferevent *https_bevcb(struct event_base *base, void *arg)
{
	struct vouch_http *h = arg;
	struct conn_deadline *d = NULL;
	struct bufferevent *bev;
	SSL *ssl = SSL_new(h->tls);

	if (ssl == NULL) {
		vouch_log_openssl_errors("http.tls");
		return NULL; /* evhttp then uses a plain socket, which dispatch() refuses */
	}
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* Clients that close without close_notify are normal, not errors. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	d = calloc(1, sizeof(*d));
	if (d != NULL) {
		d->bev = bev;
		d->ev = evtimer_new(base, deadline_cb, d);
		if (d->ev == NULL || SSL_set_ex_data(ssl, deadline_idx, d) != 1) {
			if (d->ev != NULL)
				event_free(d->ev);
			free(d);
			d = NULL;
		}
	}
	if (d == NULL) {
		/* Without its deadline the connection is not accepted (closed at once). */
		bufferevent_free(bev);
		return NULL;
	}
	deadline_arm(ssl);
	return bev;
}

static void setup_limits(struct evhttp *http)
{
	evhttp_set_max_body_size(http, VOUCH_HTTP_HARD_BODY);
	evhttp_set_max_headers_size(http, VOUCH_HTTP_MAX_HEADERS);
	evhttp_set_timeout(http, VOUCH_HTTP_TIMEOUT_S);
	/* Accept every method so that each refusal is ours, answered 405 and logged. */
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                     EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
}

/* The URL clients use for a bound socket: a wildcard address is reached on loopback. */
static int bound_url(struct evhttp_bound_socket *sock, const char *scheme, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	int n;

	if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) != 0)
		return VOUCH_ERR_IO;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
		n = snprintf(out, cap, "%s://%s:%u", scheme, host, port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (memcmp(&sin6->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0)
			sin6->sin6_addr = in6addr_loopback;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
		n = snprintf(out, cap, "%s://[%s]:%u", scheme, host, port);
	} else {
		return VOUCH_ERR_IO;
	}
	return n > 0 && (size_t)n < cap ? VOUCH_OK : VOUCH_ERR_BUFFER;
}

static int bind_one(struct evhttp *http, const char *hostport, struct evhttp_bound_socket **sock)
{
	char host[VOUCH_CONFIG_SHORT];
	uint16_t port;

	if (vouch_config_split_hostport(hostport, host, sizeof(host), &port) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	*sock = evhttp_bind_socket_with_handle(http, host, port);
	if (*sock == NULL) {
		vouch_log(VOUCH_LOG_ERROR, "http.bind", "address", hostport, "why",
		          "cannot bind (in use, or not an address of this host)", NULL);
		return VOUCH_ERR_IO;
	}
	return VOUCH_OK;
}

int vouch_http_start(struct vouch_http *h, struct event_base *base, SSL_CTX *tls,
                     const char *https_listen, const char *http_listen, struct vouch_service *svc)
{
	int rc = VOUCH_ERR_NOMEM;

	if (h == NULL || base == NULL || tls == NULL || https_listen == NULL || http_listen == NULL)
		return VOUCH_ERR_INVALID;
	if (deadline_idx < 0) {
		deadline_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, deadline_free);
		if (deadline_idx < 0)
			return VOUCH_ERR_CRYPTO;
	}
	memset(h, 0, sizeof(*h));
	h->base = base;
	h->tls = tls;
	h->svc = svc;
	h->https = evhttp_new(base);
	h->http = evhttp_new(base);
	if (h->https == NULL || h->http == NULL)
		goto out_free;
	setup_limits(h->https);
	setup_limits(h->http);
	evhttp_set_bevcb(h->https, https_bevcb, h);
	evhttp_set_gencb(h->https, https_cb, h);
	evhttp_set_gencb(h->http, http_cb, h);
	rc = bind_one(h->https, https_listen, &h->https_sock);
	if (rc != VOUCH_OK)
		goto out_free;
	rc = bind_one(h->http, http_listen, &h->http_sock);
	if (rc != VOUCH_OK)
		goto out_free;
	rc = bound_url(h->https_sock, "https", h->https_url, sizeof(h->https_url));
	if (rc != VOUCH_OK)
		goto out_free;
	rc = bound_url(h->http_sock, "http", h->http_url, sizeof(h->http_url));
	if (rc != VOUCH_OK)
		goto out_free;
	return VOUCH_OK;

out_free:
	vouch_http_free(h);
	return rc;
}

void vouch_http_stop_accepting(struct vouch_http *h)
{
	if (h == NULL)
		return;
	if (h->https != NULL && h->https_sock != NULL)
		evhttp_del_accept_socket(h->https, h->https_sock);
	if (h->http != NULL && h->http_sock != NULL)
		evhttp_del_accept_socket(h->http, h->http_sock);
	h->https_sock = NULL;
	h->http_sock = NULL;
}

void vouch_http_free(struct vouch_http *h)
{
	if (h == NULL)
		return;
	if (h->https != NULL)
		evhttp_free(h->https);
	if (h->http != NULL)
		evhttp_free(h->http);
	h->https = NULL;
	h->http = NULL;
	h->https_sock = NULL;
	h->http_sock = NULL;
}
