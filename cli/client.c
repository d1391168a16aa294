/*
 * The admin CLI's HTTPS client: lib/https.c (libcurl, OpenSSL flavour) with the admin key held in
 * a PKCS#11 token, whose EVP_PKEY the library hands to OpenSSL directly; every TLS signature
 * happens in the token. This file finds the site, opens the token and speaks the admin API's
 * conventions (the /api/v1 prefix, refusals shown to the operator).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "vouch/common.h"
#include "vouch/https.h"
#include "vouch/log.h"
#include "vouch/p11.h"

#define ADMIN_TOKEN_LABEL "vouch-admin"
#define ADMIN_KEY_LABEL   "admin"
#define API_PREFIX        "/api/v1"

#define MAX_URL        VOUCH_HTTPS_URL_MAX
#define MAX_CONF       (64u << 10)
#define TOKEN_ATTEMPTS 6
#define CALL_TIMEOUT   300L /* seconds for a whole call: batch issuance can take a while */

struct cli_client {
	struct vouch_https *http;
	char base[MAX_URL]; /* https://host:port, no trailing slash */
	char ca_file[PATH_MAX];
	char cert_file[PATH_MAX];
	X509 *cert;
	struct vouch_p11 *token;
	struct vouch_key key; /* the admin key: a handle into the token */
};

void cli_json_wipe_on_free(void)
{
	vouch_https_json_wipe_on_free();
}

/* ---- site files ---- */

static int site_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "vouch: path too long: %s/%s\n", dir, name);
		return CLI_ERROR;
	}
	return CLI_OK;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The https:// line of DIR/vouchd.addr, which vouchd writes once it listens. */
static int read_addr(const char *dir, char *base, size_t cap)
{
	char path[PATH_MAX], line[MAX_URL];
	int rc = CLI_ERROR;
	FILE *f;
	size_t n;

	if (site_path(path, sizeof(path), dir, "vouchd.addr") != CLI_OK)
		return CLI_ERROR;
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr,
		        "vouch: cannot read %s: %s\n"
		        "vouch: is vouchd running for this site? (or give --server URL)\n",
		        path, strerror(errno));
		return CLI_ERROR;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		n = strlen(line);
		while (n > 0 && is_space(line[n - 1]))
			line[--n] = '\0';
		if (strncmp(line, "https://", 8) == 0 && n < cap) {
			memcpy(base, line, n + 1);
			rc = CLI_OK;
			break;
		}
	}
	fclose(f);
	if (rc != CLI_OK)
		fprintf(stderr, "vouch: no https:// address in %s\n", path);
	return rc;
}

/*
 * The pkcs11_module of DIR/vouchd.conf, so that a site on a real HSM needs no extra flag.
 * *module stays NULL (SoftHSM2) when the key is absent; a missing config file is not an error.
 */
static int read_module(const char *dir, char **module)
{
	char path[PATH_MAX], line[1024];
	FILE *f;
	char *k, *v, *end;

	*module = NULL;
	if (site_path(path, sizeof(path), dir, "vouchd.conf") != CLI_OK)
		return CLI_ERROR;
	f = fopen(path, "r");
	if (f == NULL)
		return CLI_OK;
	while (fgets(line, sizeof(line), f) != NULL) {
		for (k = line; is_space(*k); k++)
			;
		v = strchr(k, '=');
		if (*k == '#' || v == NULL)
			continue;
		for (end = v; end > k && is_space(end[-1]); end--)
			;
		if ((size_t)(end - k) != strlen("pkcs11_module") ||
		    strncmp(k, "pkcs11_module", (size_t)(end - k)) != 0)
			continue;
		for (v++; is_space(*v); v++)
			;
		end = strchr(v, '#');
		if (end == NULL)
			end = v + strlen(v);
		while (end > v && is_space(end[-1]))
			end--;
		free(*module);
		*module = end > v ? strndup(v, (size_t)(end - v)) : NULL;
	}
	fclose(f);
	return CLI_OK;
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL) {
		fprintf(stderr, "vouch: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		fprintf(stderr, "vouch: %s holds no PEM certificate\n", path);
	ERR_clear_error();
	return x;
}

/*
 * Open the admin token (the PIN is read from its 0600 file and wiped by vouch_p11_open). SoftHSM2
 * rewrites a token's file at every login, and a process that scans the token directory at that
 * moment may not find the token or may fail outright: with several vouch commands (or vouchd
 * starting) at once, the first attempts can fail for that reason alone, so they are retried, the
 * library's error lines silenced until the last attempt.
 */
static int open_token(struct vouch_p11 **token, const char *module, const char *pin_path)
{
	struct timespec pause = {0, 0};
	FILE *quiet = fopen("/dev/null", "w");
	int err = VOUCH_ERR_P11, attempt;

	for (attempt = 1; attempt <= TOKEN_ATTEMPTS; attempt++) {
		vouch_log_init("vouch", VOUCH_LOG_WARN, attempt < TOKEN_ATTEMPTS ? quiet : NULL);
		err = vouch_p11_open(token, module, ADMIN_TOKEN_LABEL, pin_path);
		if ((err != VOUCH_ERR_P11 && err != VOUCH_ERR_P11_NOT_FOUND) ||
		    attempt == TOKEN_ATTEMPTS)
			break;
		/* 20, 40, 80, ... ms, staggered by the pid so that racing commands part ways. */
		pause.tv_nsec = (20L << attempt) * 1000000L + (long)(getpid() % 20) * 1000000L;
		nanosleep(&pause, NULL);
	}
	vouch_log_init("vouch", VOUCH_LOG_WARN, NULL);
	if (quiet != NULL)
		fclose(quiet);
	return err;
}

/* Open the admin token and load its key. */
static int open_admin_key(struct cli_client *c, const char *dir)
{
	char path[PATH_MAX];
	char *module = NULL;
	struct stat st;
	EVP_PKEY *pkey;
	int rc = CLI_ERROR, err;

	if (read_module(dir, &module) != CLI_OK)
		return CLI_ERROR;
	if (site_path(path, sizeof(path), dir, "softhsm2.conf") != CLI_OK)
		goto out_module;
	if (stat(path, &st) == 0) {
		err = vouch_p11_softhsm_use(dir);
		if (err != VOUCH_OK) {
			fprintf(stderr, "vouch: cannot use %s: %s\n", path, vouch_strerror(err));
			goto out_module;
		}
	}
	if (site_path(path, sizeof(path), dir, "admin/token.pin") != CLI_OK)
		goto out_module;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "vouch: no admin PIN file %s: %s\n", path, strerror(errno));
		goto out_module;
	}
	err = open_token(&c->token, module, path);
	if (err != VOUCH_OK) {
		fprintf(stderr, "vouch: cannot open the admin token \"%s\" (PIN file %s): %s\n",
		        ADMIN_TOKEN_LABEL, path, vouch_strerror(err));
		goto out_module;
	}
	err = vouch_p11_key_load(c->token, ADMIN_KEY_LABEL, &c->key);
	if (err != VOUCH_OK) {
		fprintf(stderr, "vouch: no admin key \"%s\" in token \"%s\": %s\n", ADMIN_KEY_LABEL,
		        ADMIN_TOKEN_LABEL, vouch_strerror(err));
		goto out_module;
	}
	pkey = vouch_p11_key_evp(&c->key);
	if (pkey == NULL || X509_check_private_key(c->cert, pkey) != 1) {
		fprintf(stderr, "vouch: the admin key in the token does not match admin.pem\n");
		ERR_clear_error();
		goto out_module;
	}
	rc = CLI_OK;
out_module:
	free(module);
	return rc;
}

/* ---- the HTTPS client ---- */

static int setup_https(struct cli_client *c)
{
	struct vouch_https_config cfg = {
	    .base_url = c->base,
	    .ca_file = c->ca_file,
	    .cert_file = c->cert_file,
	    .key = &c->key,
	    .user_agent = "vouch/" VOUCH_VERSION,
	    .connect_timeout = 10L,
	    .timeout = CALL_TIMEOUT,
	};
	int err = vouch_https_new(&cfg, &c->http);

	switch (err) {
	case VOUCH_OK:
		return CLI_OK;
	case VOUCH_ERR_INTERNAL:
		fprintf(stderr, "vouch: libcurl failed to initialise\n");
		break;
	case VOUCH_ERR_UNSUPPORTED:
		fprintf(stderr, "vouch: libcurl is not built with OpenSSL (libcurl4-openssl-dev) "
		                "or lacks a feature vouch needs\n");
		break;
	default:
		fprintf(stderr, "vouch: cannot set up the HTTPS client for %s: %s\n", c->base,
		        vouch_strerror(err));
		break;
	}
	return CLI_ERROR;
}

int cli_client_open(const struct cli_site *site, struct cli_client **out)
{
	struct cli_client *c;
	size_t n;
	int rc = CLI_ERROR;

	*out = NULL;
	if (site->data_dir == NULL) {
		fprintf(stderr,
		        "vouch: this command needs --data DIR (the site's data directory)\n");
		return CLI_ERROR;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return CLI_ERROR;
	vouch_key_init(&c->key);
	if (site->server != NULL) {
		n = strlen(site->server);
		if (strncmp(site->server, "https://", 8) != 0 || n >= sizeof(c->base)) {
			fprintf(stderr, "vouch: --server wants an https:// URL\n");
			goto out_free;
		}
		memcpy(c->base, site->server, n + 1);
	} else if (read_addr(site->data_dir, c->base, sizeof(c->base)) != CLI_OK) {
		goto out_free;
	}
	n = strlen(c->base);
	while (n > 8 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	if (site_path(c->ca_file, sizeof(c->ca_file), site->data_dir, "ca/chain.pem") != CLI_OK ||
	    site_path(c->cert_file, sizeof(c->cert_file), site->data_dir, "admin/admin.pem") !=
	        CLI_OK)
		goto out_free;
	c->cert = read_cert(c->cert_file);
	if (c->cert == NULL)
		goto out_free;
	if (open_admin_key(c, site->data_dir) != CLI_OK || setup_https(c) != CLI_OK)
		goto out_free;
	*out = c;
	rc = CLI_OK;
	return rc;
out_free:
	cli_client_free(c);
	return rc;
}

void cli_client_free(struct cli_client *c)
{
	if (c == NULL)
		return;
	/* The connections hold references to the token key: they go before the token closes. */
	vouch_https_free(c->http);
	vouch_key_clear(&c->key);
	vouch_p11_close(c->token);
	X509_free(c->cert);
	free(c);
}

char *cli_client_escape(struct cli_client *c, const char *s)
{
	return vouch_https_escape(c->http, s);
}

/* Server text to the terminal: printable ASCII only (no escape sequences), at most max bytes. */
static void put_printable(const char *s, size_t len, size_t max)
{
	for (size_t i = 0; i < len && i < max; i++)
		fputc(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : ' ', stderr);
}

/* The server said no: show its status, error code and message. */
static void print_refusal(const struct vouch_https_reply *r, const json_t *j)
{
	const char *code = json_string_value(json_object_get(j, "error"));
	const char *msg = json_string_value(json_object_get(j, "message"));

	fprintf(stderr, "vouch: refused by the server (HTTP %ld)", r->status);
	if (code != NULL) {
		fputs(": ", stderr);
		put_printable(code, strlen(code), 64);
		if (msg != NULL) {
			fputs(": ", stderr);
			put_printable(msg, strlen(msg), 400);
		}
	} else if (r->len > 0) {
		/* Not the API's JSON (an EST or proxy error): the start of the text. */
		fputs(": ", stderr);
		put_printable(r->body, r->len, 200);
	}
	fputc('\n', stderr);
}

int cli_client_call(struct cli_client *c, const char *method, const char *path, json_t *body,
                    json_t **reply)
{
	struct vouch_https_reply raw = {0};
	char url[MAX_URL];
	json_t *j = NULL;
	json_error_t jerr;
	int n, err, rc = CLI_ERROR;

	*reply = NULL;
	n = snprintf(url, sizeof(url), "%s%s%s", c->base, API_PREFIX, path);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		fprintf(stderr, "vouch: request URL too long\n");
		return CLI_ERROR;
	}
	err = vouch_https_json(c->http, method, url + strlen(c->base), body, &raw, &j);
	if (err == VOUCH_ERR_INVALID) {
		fprintf(stderr, "vouch: libcurl refused the request options\n");
		goto out_reply;
	}
	if (err != VOUCH_OK) {
		fprintf(stderr, "vouch: %s %s: %s\n", method, url,
		        vouch_https_last_error(c->http)[0] ? vouch_https_last_error(c->http)
		                                           : vouch_strerror(err));
		goto out_reply;
	}
	if (raw.status < 200 || raw.status > 299) {
		print_refusal(&raw, j);
		rc = CLI_INVALID;
		goto out_reply;
	}
	if (j == NULL) {
		/* Parsed once more only for jansson's account of what is wrong. */
		json_decref(json_loadb(raw.body ? raw.body : "", raw.len, 0, &jerr));
		fprintf(stderr, "vouch: %s %s: the reply is not JSON (%s)\n", method, url,
		        jerr.text);
		goto out_reply;
	}
	*reply = j;
	j = NULL;
	rc = CLI_OK;
out_reply:
	/* The reply may carry a one-time token: wipe the raw copy as soon as it is parsed. */
	vouch_https_reply_clear(&raw);
	json_decref(j);
	return rc;
}
