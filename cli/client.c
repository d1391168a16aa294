/*
 * The admin CLI's HTTPS client: libcurl (OpenSSL flavour) with the admin key held in a PKCS#11
 * token. libcurl cannot load a key it cannot read, so CURLOPT_SSL_CTX_FUNCTION hands OpenSSL the
 * certificate and the token-backed EVP_PKEY directly; every TLS signature happens in the token.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
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
#include "vouch/log.h"
#include "vouch/p11.h"

#define ADMIN_TOKEN_LABEL "vouch-admin"
#define ADMIN_KEY_LABEL   "admin"
#define API_PREFIX        "/api/v1"

#define MAX_REPLY      (64u << 20) /* a reply beyond this is not something vouchd sends */
#define MAX_URL        2048
#define MAX_CONF       (64u << 10)
#define TOKEN_ATTEMPTS 6
#define CALL_TIMEOUT   300L /* seconds for a whole call: batch issuance can take a while */

struct reply_buf {
	char *p;
	size_t len, cap;
};

struct cli_client {
	bool curl_global; /* curl_global_init() done: curl_global_cleanup() owed */
	CURL *curl;
	char base[MAX_URL]; /* https://host:port, no trailing slash */
	char ca_file[PATH_MAX];
	X509 *cert;
	struct vouch_p11 *token;
	struct vouch_key key; /* the admin key: a handle into the token */
	struct reply_buf reply;
	char curl_err[CURL_ERROR_SIZE];
};

/* ---- jansson blocks wiped when freed ---- */

union wipe_hdr {
	size_t len;
	max_align_t align;
};

static void *wipe_malloc(size_t n)
{
	union wipe_hdr *h;

	if (n > SIZE_MAX - sizeof(*h))
		return NULL;
	h = malloc(sizeof(*h) + n);
	if (h == NULL)
		return NULL;
	h->len = n;
	return h + 1;
}

static void wipe_free(void *p)
{
	union wipe_hdr *h;

	if (p == NULL)
		return;
	h = (union wipe_hdr *)p - 1;
	vouch_wipe(p, h->len);
	free(h);
}

void cli_json_wipe_on_free(void)
{
	json_set_alloc_funcs(wipe_malloc, wipe_free);
}

/* ---- the reply buffer: grown by copy so no unwiped copy of a reply is left behind ---- */

static void reply_reset(struct reply_buf *b)
{
	if (b->p != NULL)
		vouch_wipe(b->p, b->cap);
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

static size_t reply_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct reply_buf *b = userp;
	size_t n = size * nmemb;
	size_t cap;
	char *p;

	if (n > MAX_REPLY - b->len)
		return 0; /* libcurl: CURLE_WRITE_ERROR */
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = malloc(cap);
		if (p == NULL)
			return 0;
		if (b->p != NULL) {
			memcpy(p, b->p, b->len);
			vouch_wipe(b->p, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
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

/* ---- libcurl ---- */

/* libcurl made an SSL_CTX for a new connection: give it the admin certificate and token key. */
static CURLcode ssl_ctx_setup(CURL *curl, void *ssl_ctx, void *userp)
{
	struct cli_client *c = userp;
	SSL_CTX *ctx = ssl_ctx;

	(void)curl;
	if (SSL_CTX_use_certificate(ctx, c->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, vouch_p11_key_evp(&c->key)) != 1) {
		ERR_clear_error();
		return CURLE_SSL_CERTPROBLEM;
	}
	return CURLE_OK;
}

static bool curl_has_openssl(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	return v != NULL && v->ssl_version != NULL && strncmp(v->ssl_version, "OpenSSL/", 8) == 0;
}

static int setup_curl(struct cli_client *c)
{
	CURL *h;
	CURLcode e = CURLE_OK;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "vouch: libcurl failed to initialise\n");
		return CLI_ERROR;
	}
	c->curl_global = true;
	if (!curl_has_openssl()) {
		fprintf(stderr,
		        "vouch: libcurl is not built with OpenSSL (libcurl4-openssl-dev)\n");
		return CLI_ERROR;
	}
	h = curl_easy_init();
	if (h == NULL) {
		fprintf(stderr, "vouch: libcurl failed to initialise\n");
		return CLI_ERROR;
	}
	c->curl = h;
	/* Each setopt below cannot fail but for out-of-memory or a libcurl without the feature. */
	e |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
	e |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	e |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	e |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	e |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	e |= curl_easy_setopt(h, CURLOPT_TIMEOUT, CALL_TIMEOUT);
	e |= curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* Trust the site's own CA hierarchy, nothing from the system store. */
	e |= curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	e |= curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	e |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	e |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	e |= curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_setup);
	e |= curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, c);
	e |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, reply_write);
	e |= curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->reply);
	e |= curl_easy_setopt(h, CURLOPT_USERAGENT, "vouch/" VOUCH_VERSION);
	if (e != CURLE_OK) {
		fprintf(stderr, "vouch: libcurl lacks a feature vouch needs\n");
		return CLI_ERROR;
	}
	return CLI_OK;
}

int cli_client_open(const struct cli_site *site, struct cli_client **out)
{
	struct cli_client *c;
	char path[PATH_MAX];
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
	    site_path(path, sizeof(path), site->data_dir, "admin/admin.pem") != CLI_OK)
		goto out_free;
	c->cert = read_cert(path);
	if (c->cert == NULL)
		goto out_free;
	if (open_admin_key(c, site->data_dir) != CLI_OK || setup_curl(c) != CLI_OK)
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
	/* The SSL_CTXs hold references to the token key: they go before the token closes. */
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	if (c->curl_global)
		curl_global_cleanup();
	reply_reset(&c->reply);
	vouch_key_clear(&c->key);
	vouch_p11_close(c->token);
	X509_free(c->cert);
	free(c);
}

char *cli_client_escape(struct cli_client *c, const char *s)
{
	char *e = curl_easy_escape(c->curl, s, 0);
	char *copy;

	if (e == NULL)
		return NULL;
	copy = strdup(e);
	curl_free(e);
	return copy;
}

/* Server text to the terminal: printable ASCII only (no escape sequences), at most max bytes. */
static void put_printable(const char *s, size_t len, size_t max)
{
	for (size_t i = 0; i < len && i < max; i++)
		fputc(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : ' ', stderr);
}

/* The server said no: show its status, error code and message. */
static void print_refusal(long status, const struct reply_buf *b)
{
	json_t *j = b->p != NULL ? json_loadb(b->p, b->len, 0, NULL) : NULL;
	const char *code = json_string_value(json_object_get(j, "error"));
	const char *msg = json_string_value(json_object_get(j, "message"));

	fprintf(stderr, "vouch: refused by the server (HTTP %ld)", status);
	if (code != NULL) {
		fputs(": ", stderr);
		put_printable(code, strlen(code), 64);
		if (msg != NULL) {
			fputs(": ", stderr);
			put_printable(msg, strlen(msg), 400);
		}
	} else if (b->len > 0) {
		/* Not the API's JSON (an EST or proxy error): the start of the text. */
		fputs(": ", stderr);
		put_printable(b->p, b->len, 200);
	}
	fputc('\n', stderr);
	json_decref(j);
}

/* The request body as compact JSON in a malloc()ed string ("{}" for none). json_dumps() is not
 * used: its result belongs to jansson's (wiping) allocator, not to free(). */
static char *body_text(const json_t *body)
{
	size_t n = body != NULL ? json_dumpb(body, NULL, 0, JSON_COMPACT) : 0;
	char *text;

	if (body != NULL && n == 0)
		return NULL;
	text = malloc(n + 3);
	if (text == NULL)
		return NULL;
	if (body == NULL) {
		memcpy(text, "{}", 3);
		return text;
	}
	if (json_dumpb(body, text, n, JSON_COMPACT) != n) {
		free(text);
		return NULL;
	}
	text[n] = '\0';
	return text;
}

int cli_client_call(struct cli_client *c, const char *method, const char *path, json_t *body,
                    json_t **reply)
{
	struct curl_slist *hdrs = NULL, *h2;
	char url[MAX_URL];
	char *text = NULL;
	json_error_t jerr;
	long status = 0;
	CURLcode e = CURLE_OK;
	int n, rc = CLI_ERROR;

	*reply = NULL;
	n = snprintf(url, sizeof(url), "%s%s%s", c->base, API_PREFIX, path);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		fprintf(stderr, "vouch: request URL too long\n");
		return CLI_ERROR;
	}
	reply_reset(&c->reply);
	c->curl_err[0] = '\0';
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (strcmp(method, "POST") == 0) {
		text = body_text(body);
		h2 = hdrs ? curl_slist_append(hdrs, "Content-Type: application/json") : NULL;
		if (text == NULL || h2 == NULL)
			goto out_free;
		hdrs = h2;
		e |= curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text);
		e |= curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
	} else {
		e |= curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}
	if (hdrs == NULL)
		goto out_free;
	e |= curl_easy_setopt(c->curl, CURLOPT_URL, url);
	e |= curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	if (e != CURLE_OK) {
		fprintf(stderr, "vouch: libcurl refused the request options\n");
		goto out_free;
	}
	e = curl_easy_perform(c->curl);
	if (e != CURLE_OK) {
		fprintf(stderr, "vouch: %s %s: %s\n", method, url,
		        c->curl_err[0] ? c->curl_err : curl_easy_strerror(e));
		goto out_free;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		print_refusal(status, &c->reply);
		rc = CLI_INVALID;
		goto out_free;
	}
	*reply = json_loadb(c->reply.p ? c->reply.p : "", c->reply.len, 0, &jerr);
	if (*reply == NULL) {
		fprintf(stderr, "vouch: %s %s: the reply is not JSON (%s)\n", method, url,
		        jerr.text);
		goto out_free;
	}
	rc = CLI_OK;
out_free:
	/* The reply may carry a one-time token: wipe the raw copy as soon as it is parsed. */
	reply_reset(&c->reply);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	free(text);
	return rc;
}
