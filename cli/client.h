/*
 * vouch admin CLI: the HTTPS client of vouchd's admin REST API.
 *
 * Mutual TLS with the site's admin credential: the certificate DIR/admin/admin.pem and its
 * private key, which stays inside the "vouch-admin" PKCS#11 token (libcurl's OpenSSL SSL_CTX is
 * given the token-backed EVP_PKEY). The server is trusted through DIR/ca/chain.pem only.
 */
#ifndef VOUCH_CLI_CLIENT_H
#define VOUCH_CLI_CLIENT_H

#include <jansson.h>

/* Where the site is and how to reach it: the global options of every site command. */
struct cli_site {
	const char *data_dir; /* --data DIR: the site's data directory (vouchd init --data) */
	const char *server;   /* --server URL; NULL: the https line of DIR/vouchd.addr */
};

struct cli_client;

/*
 * Make jansson wipe every block it frees: replies carry one-time enrolment tokens. Call before
 * the first JSON value of the process is made.
 */
void cli_json_wipe_on_free(void);

/*
 * Find the server, load the admin certificate, open the admin token and load its key. Returns a
 * CLI_* exit code; on failure the reason is on stderr and *out is NULL.
 */
int cli_client_open(const struct cli_site *site, struct cli_client **out);

/* Close the connection and the token. NULL is a no-op. */
void cli_client_free(struct cli_client *c);

/*
 * One admin API call: method "GET" or "POST", path below /api/v1 (with its query string, values
 * escaped with cli_client_escape), body sent as JSON when not NULL. On a 2xx reply *reply is the
 * parsed JSON (caller json_decref()s it) and CLI_OK is returned; a refusal by the server is
 * printed (status, error code, message) and returns CLI_INVALID; connection and protocol errors
 * return CLI_ERROR.
 */
int cli_client_call(struct cli_client *c, const char *method, const char *path, json_t *body,
                    json_t **reply);

/* Percent-encode s for a path segment or query value; free() the result. NULL: out of memory. */
char *cli_client_escape(struct cli_client *c, const char *s);

#endif
