/*
 * The HTTPS client of vouchd's API: libcurl (OpenSSL flavour) with a client key that may live in
 * a PKCS#11 token. libcurl cannot load a key it cannot read, so CURLOPT_SSL_CTX_FUNCTION hands
 * OpenSSL the certificate, its chain and the key's EVP_PKEY directly.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/common.h"
#include "vouch/https.h"
#include "vouch/p11.h"

#define DEFAULT_CONNECT_TIMEOUT 10L
#define DEFAULT_TIMEOUT         60L
#define BEARER_MAX              1024
#define BEARER_PREFIX           "Authorization: Bearer "

struct vouch_https {
	bool curl_global; /* curl_global_init() done: curl_global_cleanup() owed */
	CURL *curl;
	char base[VOUCH_HTTPS_URL_MAX]; /* https://host:port, no trailing slash */
	X509 *cert;
	STACK_OF(X509) * chain;
	EVP_PKEY *pkey;                                  /* one reference of our own */
	char bearer[sizeof(BEARER_PREFIX) + BEARER_MAX]; /* the whole header line, or "" */
	bool too_large;                                  /* the reply buffer refused more */
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

void vouch_https_json_wipe_on_free(void)
{
	json_set_alloc_funcs(wipe_malloc, wipe_free);
}

/* ---- replies: grown by copy so that no unwiped copy of a reply is left behind ---- */

void vouch_https_reply_clear(struct vouch_https_reply *r)
{
	if (r == NULL)
		return;
	if (r->body != NULL)
		vouch_wipe(r->body, r->cap);
	free(r->body);
	r->body = NULL;
	r->len = 0;
	r->cap = 0;
	r->status = 0;
}

struct write_ctx {
	struct vouch_https_reply *r;
	bool *too_large;
};

static size_t reply_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct write_ctx *w = userp;
	struct vouch_https_reply *r = w->r;
	size_t n = size * nmemb;
	size_t cap;
	char *p;

	if (n > VOUCH_HTTPS_REPLY_MAX - r->len) {
		*w->too_large = true;
		return 0; /* libcurl: CURLE_WRITE_ERROR */
	}
	if (r->len + n + 1 > r->cap) {
		cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n + 1)
			cap *= 2;
		p = malloc(cap);
		if (p == NULL)
			return 0;
		if (r->body != NULL) {
			memcpy(p, r->body, r->len);
			vouch_wipe(r->body, r->cap);
			free(r->body);
		}
		r->body = p;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* ---- the client certificate ---- */

/* The leaf and any further certificates (its chain) of a PEM file. */
static int load_certs(struct vouch_https *c, const char *path)
{
	BIO *bio = BIO_new_file(path, "r");
	X509 *x;
	int rc = VOUCH_ERR_X509_MALFORMED;

	if (bio == NULL) {
		ERR_clear_error();
		return VOUCH_ERR_IO;
	}
	c->cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (c->cert == NULL)
		goto out_bio;
	c->chain = sk_X509_new_null();
	if (c->chain == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_bio;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(c->chain, x) <= 0) {
			X509_free(x);
			rc = VOUCH_ERR_NOMEM;
			goto out_bio;
		}
	}
	rc = VOUCH_OK;
out_bio:
	/* PEM reading ends every file with "no start line". */
	ERR_clear_error();
	BIO_free(bio);
	return rc;
}

/* libcurl made an SSL_CTX for a new connection: give it our certificate, chain and key. */
static CURLcode ssl_ctx_setup(CURL *curl, void *ssl_ctx, void *userp)
{
	struct vouch_https *c = userp;
	SSL_CTX *ctx = ssl_ctx;

	(void)curl;
	if (SSL_CTX_use_certificate(ctx, c->cert) != 1 || SSL_CTX_use_PrivateKey(ctx, c->pkey) != 1)
		goto out_fail;
	for (int i = 0; i < sk_X509_num(c->chain); i++) {
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(c->chain, i)) != 1)
			goto out_fail;
	}
	return CURLE_OK;
out_fail:
	ERR_clear_error();
	return CURLE_SSL_CERTPROBLEM;
}

/* ---- libcurl ---- */

static bool curl_has_openssl(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	return v != NULL && v->ssl_version != NULL && strncmp(v->ssl_version, "OpenSSL/", 8) == 0;
}

static int setup_curl(struct vouch_https *c, const struct vouch_https_config *cfg)
{
	CURL *h;
	CURLcode e = CURLE_OK;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return VOUCH_ERR_INTERNAL;
	c->curl_global = true;
	if (!curl_has_openssl())
		return VOUCH_ERR_UNSUPPORTED;
	h = curl_easy_init();
	if (h == NULL)
		return VOUCH_ERR_INTERNAL;
	c->curl = h;
	/* Each setopt below cannot fail but for out-of-memory or a libcurl without the feature. */
	e |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
	e |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	e |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	e |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	e |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
	                      cfg->connect_timeout > 0 ? cfg->connect_timeout
	                                               : DEFAULT_CONNECT_TIMEOUT);
	e |=
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, cfg->timeout > 0 ? cfg->timeout : DEFAULT_TIMEOUT);
	e |= curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* Trust the site's own CA hierarchy, nothing from the system store. */
	e |= curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
	e |= curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	e |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	e |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->cert != NULL) {
		e |= curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_setup);
		e |= curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, c);
	}
	e |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, reply_write);
	e |= curl_easy_setopt(h, CURLOPT_USERAGENT,
	                      cfg->user_agent != NULL ? cfg->user_agent : "vouch");
	return e == CURLE_OK ? VOUCH_OK : VOUCH_ERR_UNSUPPORTED;
}

int vouch_https_new(const struct vouch_https_config *cfg, struct vouch_https **out)
{
	struct vouch_https *c;
	size_t n;
	int rc = VOUCH_ERR_INVALID;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || cfg == NULL || cfg->base_url == NULL || cfg->ca_file == NULL ||
	    (cfg->cert_file == NULL) != (cfg->key == NULL))
		return VOUCH_ERR_INVALID;
	n = strlen(cfg->base_url);
	if (strncmp(cfg->base_url, "https://", 8) != 0 || n <= 8 || n >= VOUCH_HTTPS_URL_MAX)
		return VOUCH_ERR_INVALID;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return VOUCH_ERR_NOMEM;
	memcpy(c->base, cfg->base_url, n + 1);
	while (n > 8 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	if (cfg->cert_file != NULL) {
		rc = load_certs(c, cfg->cert_file);
		if (rc != VOUCH_OK)
			goto out_free;
		c->pkey = vouch_p11_key_evp(cfg->key);
		if (c->pkey == NULL || !vouch_key_is_private(cfg->key)) {
			c->pkey = NULL;
			rc = VOUCH_ERR_KEY;
			goto out_free;
		}
		EVP_PKEY_up_ref(c->pkey);
		if (X509_check_private_key(c->cert, c->pkey) != 1) {
			ERR_clear_error();
			rc = VOUCH_ERR_KEY;
			goto out_free;
		}
	}
	rc = setup_curl(c, cfg);
	if (rc != VOUCH_OK)
		goto out_free;
	*out = c;
	return VOUCH_OK;
out_free:
	vouch_https_free(c);
	return rc;
}

void vouch_https_free(struct vouch_https *c)
{
	if (c == NULL)
		return;
	/* The SSL_CTXs hold references to the key: they go before ours (and before the token). */
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	if (c->curl_global)
		curl_global_cleanup();
	EVP_PKEY_free(c->pkey);
	X509_free(c->cert);
	sk_X509_pop_free(c->chain, X509_free);
	vouch_wipe(c->bearer, sizeof(c->bearer));
	free(c);
}

int vouch_https_set_bearer(struct vouch_https *c, const char *token)
{
	size_t n;

	if (c == NULL)
		return VOUCH_ERR_INVALID;
	vouch_wipe(c->bearer, sizeof(c->bearer));
	if (token == NULL)
		return VOUCH_OK;
	n = strlen(token);
	if (n == 0 || n > BEARER_MAX)
		return VOUCH_ERR_INVALID;
	/* A token is one header value: no line breaks or other control characters. */
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)token[i] < 0x21 || (unsigned char)token[i] > 0x7e)
			return VOUCH_ERR_INVALID;
	}
	memcpy(c->bearer, BEARER_PREFIX, sizeof(BEARER_PREFIX) - 1);
	memcpy(c->bearer + sizeof(BEARER_PREFIX) - 1, token, n + 1);
	return VOUCH_OK;
}

char *vouch_https_escape(struct vouch_https *c, const char *s)
{
	char *e = curl_easy_escape(c->curl, s, 0);
	char *copy;

	if (e == NULL)
		return NULL;
	copy = strdup(e);
	curl_free(e);
	return copy;
}

const char *vouch_https_last_error(const struct vouch_https *c)
{
	return c != NULL ? c->curl_err : "";
}

/* libcurl's copies of our header lines (one may hold the Bearer token): wiped, then freed. */
static void headers_free(struct curl_slist *h)
{
	for (struct curl_slist *p = h; p != NULL; p = p->next)
		vouch_wipe(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

/* Append a header line; on failure the list is freed and *h is NULL. */
static bool header_add(struct curl_slist **h, const char *line)
{
	struct curl_slist *n = curl_slist_append(*h, line);

	if (n == NULL) {
		headers_free(*h);
		*h = NULL;
		return false;
	}
	*h = n;
	return true;
}

/* What a libcurl failure means to the caller: offline, not trusted, or something else. */
static int map_curl_error(CURLcode e, bool too_large)
{
	switch (e) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return VOUCH_ERR_IO;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return VOUCH_ERR_VERIFY;
	case CURLE_WRITE_ERROR:
		return too_large ? VOUCH_ERR_BUFFER : VOUCH_ERR_NOMEM;
	case CURLE_OUT_OF_MEMORY:
		return VOUCH_ERR_NOMEM;
	default:
		return VOUCH_ERR_INTERNAL;
	}
}

static bool method_known(const char *m)
{
	static const char *const known[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};

	for (size_t i = 0; i < VOUCH_ARRAY_LEN(known); i++) {
		if (strcmp(m, known[i]) == 0)
			return true;
	}
	return false;
}

int vouch_https_request(struct vouch_https *c, const char *method, const char *path,
                        const char *content_type, const void *body, size_t body_len,
                        const char *accept, struct vouch_https_reply *out)
{
	struct curl_slist *hdrs = NULL;
	struct write_ctx w;
	char url[VOUCH_HTTPS_URL_MAX];
	char line[256];
	CURLcode e = CURLE_OK;
	bool is_get;
	int n, rc = VOUCH_ERR_INVALID;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || method == NULL || path == NULL || path[0] != '/' || out == NULL ||
	    !method_known(method) || (body != NULL && content_type == NULL) ||
	    (body == NULL && body_len != 0) || (uint64_t)body_len > (uint64_t)INT64_MAX)
		return VOUCH_ERR_INVALID;
	is_get = strcmp(method, "GET") == 0;
	if (is_get && body != NULL)
		return VOUCH_ERR_INVALID;
	c->curl_err[0] = '\0';
	c->too_large = false;
	n = snprintf(url, sizeof(url), "%s%s", c->base, path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return VOUCH_ERR_INVALID;
	if (accept != NULL) {
		n = snprintf(line, sizeof(line), "Accept: %s", accept);
		if (n < 0 || (size_t)n >= sizeof(line))
			return VOUCH_ERR_INVALID;
		if (!header_add(&hdrs, line))
			return VOUCH_ERR_NOMEM;
	}
	if (body != NULL) {
		n = snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		if (n < 0 || (size_t)n >= sizeof(line)) {
			rc = VOUCH_ERR_INVALID;
			goto out_headers;
		}
		if (!header_add(&hdrs, line))
			return VOUCH_ERR_NOMEM;
	}
	if (c->bearer[0] != '\0' && !header_add(&hdrs, c->bearer))
		return VOUCH_ERR_NOMEM;
	if (is_get || (body == NULL && strcmp(method, "DELETE") == 0)) {
		e |= curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	} else {
		/* POSTFIELDS makes it a POST (with an empty body when there is none). */
		e |= curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body != NULL ? body : "");
		e |= curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	/* GET and POST are what the options above imply; the others are named. */
	e |= curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST,
	                      is_get || strcmp(method, "POST") == 0 ? NULL : method);
	e |= curl_easy_setopt(c->curl, CURLOPT_URL, url);
	e |= curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	w.r = out;
	w.too_large = &c->too_large;
	e |= curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &w);
	if (e != CURLE_OK) {
		rc = VOUCH_ERR_INTERNAL;
		goto out_reset;
	}
	e = curl_easy_perform(c->curl);
	if (e != CURLE_OK) {
		if (c->curl_err[0] == '\0')
			snprintf(c->curl_err, sizeof(c->curl_err), "%s", curl_easy_strerror(e));
		rc = map_curl_error(e, c->too_large);
		vouch_https_reply_clear(out);
		goto out_reset;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->status);
	rc = VOUCH_OK;
out_reset:
	/* Nothing of this request may be used by the next one: the body may be freed by then. */
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, NULL);
out_headers:
	headers_free(hdrs);
	return rc;
}

/* The body as compact JSON in a malloc()ed buffer ("{}" for none). json_dumps() is not used: its
 * result belongs to jansson's (possibly wiping) allocator, not to free(). */
static char *body_text(const json_t *body, size_t *len)
{
	size_t n = body != NULL ? json_dumpb(body, NULL, 0, JSON_COMPACT) : 2;
	char *text;

	*len = 0;
	if (n == 0)
		return NULL;
	text = malloc(n + 1);
	if (text == NULL)
		return NULL;
	if (body == NULL) {
		memcpy(text, "{}", 3);
	} else if (json_dumpb(body, text, n, JSON_COMPACT) != n) {
		free(text);
		return NULL;
	}
	text[n] = '\0';
	*len = n;
	return text;
}

int vouch_https_json(struct vouch_https *c, const char *method, const char *path,
                     const json_t *body, struct vouch_https_reply *out, json_t **reply)
{
	bool has_body;
	char *text = NULL;
	size_t len = 0;
	int rc = VOUCH_ERR_INVALID;

	if (reply != NULL)
		*reply = NULL;
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (method == NULL || reply == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	has_body = body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	           strcmp(method, "PATCH") == 0;
	if (has_body) {
		text = body_text(body, &len);
		if (text == NULL)
			return VOUCH_ERR_NOMEM;
	}
	rc = vouch_https_request(c, method, path, has_body ? "application/json" : NULL, text, len,
	                         "application/json", out);
	if (rc == VOUCH_OK && out->body != NULL)
		*reply = json_loadb(out->body, out->len, 0, NULL);
	/* The body may hold a password. */
	if (text != NULL)
		vouch_wipe(text, len);
	free(text);
	return rc;
}
