/*
 * vouch — the HTTPS client of vouchd's API, shared by the admin CLI and the wallet.
 *
 * libcurl (OpenSSL flavour) under a few fixed rules: https only, no redirects, the server trusted
 * only through the given CA file (never the system store), TLS 1.2 or newer. A client certificate
 * is optional; its private key is a crypto-port handle, normally a PKCS#11 token key
 * (vouch_p11_key_load): libcurl cannot load a key it cannot read, so the certificate and the
 * key's EVP_PKEY are handed to libcurl's OpenSSL SSL_CTX directly and every TLS signature happens
 * in the token.
 *
 * Secrets: the Bearer token is kept in a buffer wiped when replaced or freed; request bodies (they
 * may hold a password) and replies (they may hold a session or a one-time token) are wiped when
 * released. Nothing here logs or prints: errors are returned, with a text for the last transport
 * failure from vouch_https_last_error().
 *
 * Lifetime: a client with a token key must be freed before the token is closed (the SSL_CTXs of
 * its connections hold references to the key). Not thread-safe: one client per thread.
 */
#ifndef VOUCH_HTTPS_H
#define VOUCH_HTTPS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "vouch/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_HTTPS_URL_MAX   2048
#define VOUCH_HTTPS_REPLY_MAX (64u << 20) /* a longer reply is refused (VOUCH_ERR_BUFFER) */

struct vouch_https_config {
	const char *base_url;  /* "https://host:port" (a trailing '/' is dropped) */
	const char *ca_file;   /* PEM: the only trust anchors for the server */
	const char *cert_file; /* client certificate PEM (leaf first, then its chain) or NULL */
	const struct vouch_key *key; /* the certificate's private key; required with cert_file */
	const char *user_agent;      /* NULL: "vouch" */
	long connect_timeout;        /* seconds; 0: 10 */
	long timeout;                /* seconds for a whole call; 0: 60 */
};

/* A reply as received; body[len] is a NUL so that a text body is a C string. */
struct vouch_https_reply {
	long status; /* HTTP status */
	char *body;  /* NULL when the reply had no body */
	size_t len;
	size_t cap;
};

struct vouch_https;

/*
 * Make jansson wipe every block it frees (request bodies hold passwords, replies session and
 * one-time tokens). Call before the first JSON value of the process is made.
 */
void vouch_https_json_wipe_on_free(void);

/*
 * A client for cfg (the strings are copied). Errors: VOUCH_ERR_INVALID (not an https URL, too
 * long, key without certificate or the reverse), VOUCH_ERR_IO (certificate file unreadable),
 * VOUCH_ERR_X509_MALFORMED (it holds no PEM certificate), VOUCH_ERR_KEY (the key does not match
 * the certificate), VOUCH_ERR_UNSUPPORTED (libcurl is not built with OpenSSL or lacks a needed
 * option), VOUCH_ERR_NOMEM, VOUCH_ERR_INTERNAL (libcurl failed to initialise).
 */
int vouch_https_new(const struct vouch_https_config *cfg, struct vouch_https **out);

/* Close the connections; wipe the Bearer token. NULL is a no-op. */
void vouch_https_free(struct vouch_https *c);

/* Send "Authorization: Bearer token" with every later request (NULL: stop sending it). */
int vouch_https_set_bearer(struct vouch_https *c, const char *token);

/*
 * One request: method GET, POST, PUT, DELETE or PATCH; path below the base URL, starting with
 * '/', with its query string (values escaped with vouch_https_escape); body of body_len bytes
 * with content_type (NULL: an empty body, none at all for GET and DELETE); accept the Accept
 * header (NULL: none). VOUCH_OK when the
 * server replied, whatever the status: *out then holds status and body (vouch_https_reply_clear
 * it). Otherwise *out is empty and: VOUCH_ERR_IO the server could not be reached or the
 * connection broke (offline), VOUCH_ERR_VERIFY the TLS handshake failed (server not trusted
 * through the CA file, or our certificate refused), VOUCH_ERR_BUFFER the reply exceeds
 * VOUCH_HTTPS_REPLY_MAX, VOUCH_ERR_INVALID bad arguments, VOUCH_ERR_INTERNAL anything else.
 */
int vouch_https_request(struct vouch_https *c, const char *method, const char *path,
                        const char *content_type, const void *body, size_t body_len,
                        const char *accept, struct vouch_https_reply *out);

/*
 * A JSON call: body serialised compactly (NULL: "{}" for POST, PUT and PATCH; nothing for GET and
 * DELETE), Accept: application/json. Returns as vouch_https_request; on VOUCH_OK *out holds the
 * raw reply and *reply the parsed body (a new reference) when it is JSON, else NULL (an empty
 * body, a proxy's error page): the status says whether the server agreed.
 */
int vouch_https_json(struct vouch_https *c, const char *method, const char *path,
                     const json_t *body, struct vouch_https_reply *out, json_t **reply);

/* Wipe and free a reply's body; the reply is empty afterwards. */
void vouch_https_reply_clear(struct vouch_https_reply *r);

/* Percent-encode s for a path segment or query value; free() the result. NULL: out of memory. */
char *vouch_https_escape(struct vouch_https *c, const char *s);

/* Why the last request failed without a reply (libcurl's text; never a secret); "" if it did
 * not. */
const char *vouch_https_last_error(const struct vouch_https *c);

#ifdef __cplusplus
}
#endif
#endif
