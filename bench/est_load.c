/*
 * The load generator of bench_est (bench/bench_est.sh runs it; it is not a benchmark by itself).
 *
 *   est_load tokens DIR COUNT FILE
 *       COUNT enrolment tokens for devices bench-000000.. through the store API of the site DIR
 *       (run it before vouchd opens the store); "device:token" lines to FILE (0600, a temp dir).
 *   est_load keys COUNT FILE
 *       COUNT fresh P-256 public keys, PEM, for the batch benchmark.
 *   est_load compare --est URL --est-cacert PEM --tokens FILE
 *                    [--cfssl URL --cfssl-cacert PEM | --no-cfssl REASON]
 *                    [--raw-cmd CMD] [--clients N] [--rounds N] [--seconds S] [--per-round N]
 *       Rounds of EST simpleenroll against vouchd, of cfssl's /api/v1/cfssl/sign and of raw
 *       issuance (CMD prints one rate: `bench_issue --rate S 1`) alternate; medians compared.
 *
 * Load: one libcurl multi handle, N easy handles each always holding one request in flight, so N
 * concurrent clients; at most N connections, kept alive and reused (HTTP/1.1 for both servers:
 * cfssl would otherwise negotiate HTTP/2). Both servers get the same pre-made CSRs (P-256,
 * made here before any round), the same concurrency and the same round length. A round ends
 * after S seconds (EST: or after N requests, when its share of the tokens is used up); in-flight
 * requests are waited for and counted. Latency is per request, from hand-over to libcurl to the
 * complete reply. Every reply must be 200 with the right content type; the first of each round is
 * opened fully and must certify the CSR's key.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "vouch/crypto.h"
#include "vouch/log.h"

#include "bench_util.h"

#define NCSR          256
#define MAX_CLIENTS   64
#define MAX_ROUNDS    15
#define TOKEN_BYTES   24
#define DEVICE_FORMAT "bench-%06zu"
#define EST_PATH      "/.well-known/est/simpleenroll"
#define CFSSL_PATH    "/api/v1/cfssl/sign"
#define EST_TARGET    5.0

/* The p-th percentile (nearest rank) of a sorted array. */
static double percentile(const double *sorted, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	return sorted[rank == 0 ? 0 : (rank > n ? n - 1 : rank - 1)];
}

/* Base64 without line breaks; malloc()ed. */
static char *b64_encode(const uint8_t *der, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, der, (int)len);
	return out;
}

/* ---- est_load tokens ---- */

static int cmd_tokens(int argc, char **argv)
{
	char url[4200], line[200], token[2 * TOKEN_BYTES + 1];
	struct vouch_store *store = NULL;
	struct vouch_store_token tok;
	uint8_t rnd[TOKEN_BYTES];
	long count;
	FILE *out = NULL;
	int fd, rc = VOUCH_ERR_INTERNAL;
	int64_t now = (int64_t)time(NULL);

	if (argc != 5 || (count = strtol(argv[3], NULL, 10)) <= 0 || count > 10000000) {
		fprintf(stderr, "usage: est_load tokens DIR COUNT FILE\n");
		return 2;
	}
	snprintf(url, sizeof(url), "sqlite:%s/vouch.db", argv[2]);
	fd = open(argv[4], O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || (out = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "est_load: cannot create %s: %s\n", argv[4], strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	rc = vouch_store_open(url, &store);
	for (long i = 0; rc == VOUCH_OK && i < count; i++) {
		memset(&tok, 0, sizeof(tok));
		snprintf(tok.device, sizeof(tok.device), DEVICE_FORMAT, (size_t)i);
		snprintf(tok.profile, sizeof(tok.profile), "device");
		tok.created_at = now;
		tok.expires_at = now + 24 * 3600;
		/* The same token form as the admin API's: base64url of 192 random bits. */
		rc = vouch_random(rnd, sizeof(rnd));
		if (rc != VOUCH_OK)
			break;
		EVP_EncodeBlock((unsigned char *)token, rnd, sizeof(rnd));
		for (char *c = token; *c != '\0'; c++)
			*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
		rc = vouch_sha256(token, strlen(token), tok.hash);
		if (rc == VOUCH_OK)
			rc = vouch_store_token_create(store, &tok, "bench");
		snprintf(line, sizeof(line), "%s:%s\n", tok.device, token);
		if (rc == VOUCH_OK && fputs(line, out) == EOF)
			rc = VOUCH_ERR_IO;
		vouch_wipe(line, sizeof(line));
		vouch_wipe(token, sizeof(token));
	}
	vouch_wipe(rnd, sizeof(rnd));
	vouch_store_close(store);
	if (fclose(out) != 0 && rc == VOUCH_OK)
		rc = VOUCH_ERR_IO;
	if (rc != VOUCH_OK)
		fprintf(stderr, "est_load: tokens: %s\n", vouch_strerror(rc));
	return rc == VOUCH_OK ? 0 : 1;
}

/* ---- est_load keys ---- */

static int cmd_keys(int argc, char **argv)
{
	long count;
	FILE *out;
	int rc = 0;

	if (argc != 4 || (count = strtol(argv[2], NULL, 10)) <= 0 || count > 10000000) {
		fprintf(stderr, "usage: est_load keys COUNT FILE\n");
		return 2;
	}
	out = fopen(argv[3], "w");
	if (out == NULL) {
		fprintf(stderr, "est_load: cannot create %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	for (long i = 0; rc == 0 && i < count; i++) {
		EVP_PKEY *k = EVP_EC_gen("P-256");

		if (k == NULL || PEM_write_PUBKEY(out, k) != 1)
			rc = 1;
		EVP_PKEY_free(k);
	}
	if (fclose(out) != 0)
		rc = 1;
	if (rc != 0)
		fprintf(stderr, "est_load: cannot write the keys to %s\n", argv[3]);
	return rc;
}

/* ---- est_load compare ---- */

enum mode { MODE_EST, MODE_CFSSL };

struct csr {
	EVP_PKEY *key;
	uint8_t *spki; /* DER SubjectPublicKeyInfo, to check the certificates */
	int spki_len;
	char *est_body;   /* base64 DER */
	char *cfssl_body; /* {"certificate_request": PEM} */
};

struct tokens {
	char **cred; /* "device:token" */
	size_t n;
	size_t next;
};

struct client {
	CURL *easy;
	char *buf;
	size_t len, cap;
	double t0;
	size_t csr;
};

struct side {
	const char *name;
	enum mode mode;
	char url[512];
	const char *cacert;
	struct curl_slist *headers;
	double rate[MAX_ROUNDS];
	double *lat; /* ms, every request of every round */
	size_t nlat, cap_lat;
	long errors;
};

struct load {
	struct csr csr[NCSR];
	struct tokens tok;
	int clients;
	int rounds;
	double seconds;
	long per_round;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct client *c = arg;
	size_t len = size * n;

	if (c->len + len + 1 > c->cap) {
		size_t cap = (c->len + len + 1) * 2;
		char *q = realloc(c->buf, cap);

		if (q == NULL)
			return 0;
		c->buf = q;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, p, len);
	c->len += len;
	c->buf[c->len] = '\0';
	return len;
}

static int make_csr(int i, struct csr *c)
{
	X509_REQ *req = X509_REQ_new();
	char cn[32], *pem = NULL;
	unsigned char *der = NULL, *p;
	BIO *bio = NULL;
	json_t *j = NULL;
	long pem_len;
	int len, rc = VOUCH_ERR_CRYPTO;

	snprintf(cn, sizeof(cn), "bench-csr-%d", i);
	c->key = EVP_EC_gen("P-256");
	if (c->key == NULL || req == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
	                               (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, c->key) != 1 || X509_REQ_sign(req, c->key, EVP_sha256()) <= 0)
		goto out;
	len = i2d_X509_REQ(req, NULL);
	if (len <= 0 || (der = malloc((size_t)len)) == NULL)
		goto out;
	p = der;
	i2d_X509_REQ(req, &p);
	c->est_body = b64_encode(der, (size_t)len);
	c->spki = NULL;
	c->spki_len = i2d_PUBKEY(c->key, &c->spki);
	bio = BIO_new(BIO_s_mem());
	if (c->est_body == NULL || c->spki_len <= 0 || bio == NULL ||
	    PEM_write_bio_X509_REQ(bio, req) != 1 || (pem_len = BIO_get_mem_data(bio, &pem)) <= 0)
		goto out;
	j = json_pack("{s:s%}", "certificate_request", pem, (size_t)pem_len);
	c->cfssl_body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	if (c->cfssl_body != NULL)
		rc = VOUCH_OK;
out:
	json_decref(j);
	BIO_free(bio);
	free(der);
	X509_REQ_free(req);
	return rc;
}

static void csr_clear(struct csr *c)
{
	EVP_PKEY_free(c->key);
	OPENSSL_free(c->spki);
	free(c->est_body);
	free(c->cfssl_body);
}

static int load_tokens(const char *path, struct tokens *t)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t cap = 0;

	memset(t, 0, sizeof(*t));
	if (f == NULL) {
		fprintf(stderr, "est_load: cannot open %s: %s\n", path, strerror(errno));
		return VOUCH_ERR_IO;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (t->n == cap) {
			char **q = realloc(t->cred, (cap ? 2 * cap : 1024) * sizeof(*q));

			if (q == NULL)
				break;
			t->cred = q;
			cap = cap ? 2 * cap : 1024;
		}
		t->cred[t->n] = strdup(line);
		if (t->cred[t->n] == NULL)
			break;
		t->n++;
	}
	vouch_wipe(line, sizeof(line));
	fclose(f);
	return t->n > 0 ? VOUCH_OK : VOUCH_ERR_INVALID;
}

static void tokens_clear(struct tokens *t)
{
	for (size_t i = 0; i < t->n; i++) {
		vouch_wipe(t->cred[i], strlen(t->cred[i]));
		free(t->cred[i]);
	}
	free(t->cred);
}

/* The certificate of a reply, decoded; NULL when the reply is not what the protocol says. */
static X509 *reply_cert(enum mode mode, const char *body, size_t len)
{
	X509 *x = NULL;

	if (mode == MODE_EST) {
		/* base64 (line breaks allowed) of a certs-only CMS */
		BIO *b64 = BIO_new(BIO_f_base64()), *mem = BIO_new_mem_buf(body, (int)len);
		PKCS7 *p7;

		if (b64 == NULL || mem == NULL) {
			BIO_free(b64);
			BIO_free(mem);
			return NULL;
		}
		mem = BIO_push(b64, mem);
		p7 = d2i_PKCS7_bio(mem, NULL);
		if (p7 != NULL && PKCS7_type_is_signed(p7) && p7->d.sign->cert != NULL &&
		    sk_X509_num(p7->d.sign->cert) > 0)
			x = X509_dup(sk_X509_value(p7->d.sign->cert, 0));
		PKCS7_free(p7);
		BIO_free_all(mem);
	} else {
		json_t *j = json_loadb(body, len, 0, NULL);
		const char *pem = NULL;
		int success = 0;

		if (json_unpack(j, "{s:b, s:{s:s}}", "success", &success, "result", "certificate",
		                &pem) == 0 &&
		    success) {
			BIO *mem = BIO_new_mem_buf(pem, -1);

			x = mem != NULL ? PEM_read_bio_X509(mem, NULL, NULL, NULL) : NULL;
			BIO_free(mem);
		}
		json_decref(j);
	}
	return x;
}

/* The certificate of the first reply of a round certifies the CSR's key. */
static bool reply_ok(enum mode mode, const char *body, size_t len, const struct csr *c)
{
	X509 *x = reply_cert(mode, body, len);
	unsigned char *spki = NULL;
	int spki_len = x != NULL ? i2d_PUBKEY(X509_get0_pubkey(x), &spki) : -1;
	bool ok = spki_len == c->spki_len && memcmp(spki, c->spki, (size_t)spki_len) == 0;

	OPENSSL_free(spki);
	X509_free(x);
	return ok;
}

/* Hand the next request to an easy handle. */
static int client_start(struct load *ld, struct side *s, struct client *c, size_t seq)
{
	const struct csr *csr;

	c->csr = seq % NCSR;
	csr = &ld->csr[c->csr];
	c->len = 0;
	curl_easy_reset(c->easy);
	curl_easy_setopt(c->easy, CURLOPT_URL, s->url);
	curl_easy_setopt(c->easy, CURLOPT_CAINFO, s->cacert);
	curl_easy_setopt(c->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
	if (s->mode == MODE_EST) {
		if (ld->tok.next >= ld->tok.n)
			return VOUCH_ERR_BUFFER;
		curl_easy_setopt(c->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c->easy, CURLOPT_USERPWD, ld->tok.cred[ld->tok.next++]);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, csr->est_body);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(csr->est_body));
	} else {
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, csr->cfssl_body);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(csr->cfssl_body));
	}
	c->t0 = bench_now();
	return VOUCH_OK;
}

static bool lat_add(struct side *s, double ms)
{
	if (s->nlat == s->cap_lat) {
		size_t cap = s->cap_lat ? 2 * s->cap_lat : 65536;
		double *q = realloc(s->lat, cap * sizeof(*q));

		if (q == NULL)
			return false;
		s->lat = q;
		s->cap_lat = cap;
	}
	s->lat[s->nlat++] = ms;
	return true;
}

/* One round against one server; its rate (requests/s), < 0 when it could not run. */
static double run_round(struct load *ld, struct side *s)
{
	struct client cl[MAX_CLIENTS];
	CURLM *multi = curl_multi_init();
	double t0, t_end, t_last;
	long started = 0, done = 0, errors_before = s->errors;
	int running = 1, n = 0;
	bool checked = false, stopping = false;

	memset(cl, 0, sizeof(cl));
	if (multi == NULL)
		return -1;
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)ld->clients);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)ld->clients);
	t0 = t_last = bench_now();
	t_end = t0 + ld->seconds;
	for (n = 0; n < ld->clients; n++) {
		cl[n].easy = curl_easy_init();
		if (cl[n].easy == NULL || client_start(ld, s, &cl[n], (size_t)started) != VOUCH_OK)
			break;
		curl_multi_add_handle(multi, cl[n].easy);
		started++;
	}
	while (running > 0 || done < started) {
		CURLMsg *m;
		int left;

		if (curl_multi_perform(multi, &running) != CURLM_OK)
			break;
		while ((m = curl_multi_info_read(multi, &left)) != NULL) {
			struct client *c = NULL;
			long code = 0;
			char *ct = NULL;
			double t = bench_now();

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			curl_easy_getinfo(m->easy_handle, CURLINFO_CONTENT_TYPE, &ct);
			curl_multi_remove_handle(multi, m->easy_handle);
			done++;
			t_last = t;
			if (m->data.result != CURLE_OK || code != 200 || ct == NULL ||
			    strncasecmp(ct,
			                s->mode == MODE_EST ? "application/pkcs7-mime"
			                                    : "application/json",
			                s->mode == MODE_EST ? 22 : 16) != 0) {
				if (s->errors++ == 0)
					fprintf(stderr, "est_load: %s: %s, HTTP %ld: %.200s\n",
					        s->name, curl_easy_strerror(m->data.result), code,
					        c->buf != NULL ? c->buf : "");
			} else {
				if (!checked &&
				    !reply_ok(s->mode, c->buf, c->len, &ld->csr[c->csr])) {
					s->errors++;
					fprintf(
					    stderr,
					    "est_load: %s: the reply does not certify the CSR's "
					    "key\n",
					    s->name);
				}
				checked = true;
				lat_add(s, (t - c->t0) * 1000.0);
			}
			if (!stopping &&
			    (t >= t_end || (s->mode == MODE_EST && started >= ld->per_round)))
				stopping = true;
			if (!stopping && client_start(ld, s, c, (size_t)started) == VOUCH_OK) {
				curl_multi_add_handle(multi, c->easy);
				started++;
				running++;
			} else {
				stopping = true;
			}
		}
		if (running > 0 || done < started)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	}
	for (int i = 0; i < n; i++) {
		curl_easy_cleanup(cl[i].easy);
		free(cl[i].buf);
	}
	curl_multi_cleanup(multi);
	if (done == 0 || s->errors > errors_before)
		return -1;
	return (double)done / (t_last - t0);
}

/* `CMD` prints one number: raw issuance rate. */
static double run_raw(const char *cmd)
{
	FILE *p;
	double r = -1;

	fflush(stdout);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	if (fscanf(p, "%lf", &r) != 1)
		r = -1;
	if (pclose(p) != 0)
		r = -1;
	return r;
}

static void side_report(struct side *s, int rounds, double *rate_out)
{
	double p50, p99;

	bench_sort(s->lat, s->nlat);
	p50 = percentile(s->lat, s->nlat, 50);
	p99 = percentile(s->lat, s->nlat, 99);
	*rate_out = bench_median(s->rate, (size_t)rounds);
	printf("  %-34s %7.0f certs/s  latency p50 %6.2f ms  p99 %6.2f ms  (%zu requests)\n",
	       s->name, *rate_out, p50, p99, s->nlat);
}

static int cmd_compare(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"est", required_argument, NULL, 'e'},
	    {"est-cacert", required_argument, NULL, 'E'},
	    {"tokens", required_argument, NULL, 't'},
	    {"cfssl", required_argument, NULL, 'c'},
	    {"cfssl-cacert", required_argument, NULL, 'C'},
	    {"no-cfssl", required_argument, NULL, 'n'},
	    {"raw-cmd", required_argument, NULL, 'r'},
	    {"clients", required_argument, NULL, 'k'},
	    {"rounds", required_argument, NULL, 'R'},
	    {"seconds", required_argument, NULL, 's'},
	    {"per-round", required_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	static struct load ld;
	struct side est = {.name = "vouch EST simpleenroll", .mode = MODE_EST};
	struct side cf = {.name = "cfssl /api/v1/cfssl/sign", .mode = MODE_CFSSL};
	const char *est_url = NULL, *cfssl_url = NULL, *tokens = NULL, *raw_cmd = NULL;
	const char *no_cfssl = NULL;
	double raw[MAX_ROUNDS], est_rate, cf_rate = 0, raw_rate = 0;
	int opt, rc = 1, nraw = 0;

	ld.clients = 8;
	ld.rounds = 5;
	ld.seconds = 4;
	ld.per_round = 4000;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			est_url = optarg;
			break;
		case 'E':
			est.cacert = optarg;
			break;
		case 't':
			tokens = optarg;
			break;
		case 'c':
			cfssl_url = optarg;
			break;
		case 'C':
			cf.cacert = optarg;
			break;
		case 'n':
			no_cfssl = optarg;
			break;
		case 'r':
			raw_cmd = optarg;
			break;
		case 'k':
			ld.clients = atoi(optarg);
			break;
		case 'R':
			ld.rounds = atoi(optarg);
			break;
		case 's':
			ld.seconds = strtod(optarg, NULL);
			break;
		case 'p':
			ld.per_round = atol(optarg);
			break;
		default:
			return 2;
		}
	}
	if (est_url == NULL || est.cacert == NULL || tokens == NULL ||
	    (cfssl_url != NULL) == (no_cfssl != NULL) || (cfssl_url != NULL && cf.cacert == NULL) ||
	    ld.clients < 1 || ld.clients > MAX_CLIENTS || ld.rounds < 1 || ld.rounds > MAX_ROUNDS ||
	    ld.seconds <= 0 || ld.per_round < ld.clients) {
		fprintf(stderr, "est_load compare: bad or missing options (see est_load.c)\n");
		return 2;
	}
	snprintf(est.url, sizeof(est.url), "%s%s", est_url, EST_PATH);
	if (cfssl_url != NULL)
		snprintf(cf.url, sizeof(cf.url), "%s%s", cfssl_url, CFSSL_PATH);
	/* No "Expect: 100-continue" round trip for either. */
	est.headers = curl_slist_append(NULL, "Content-Type: application/pkcs10");
	est.headers = curl_slist_append(est.headers, "Expect:");
	cf.headers = curl_slist_append(NULL, "Content-Type: application/json");
	cf.headers = curl_slist_append(cf.headers, "Expect:");
	if (load_tokens(tokens, &ld.tok) != VOUCH_OK) {
		fprintf(stderr, "est_load: no tokens in %s\n", tokens);
		goto out;
	}
	if (ld.tok.n < (size_t)ld.rounds * (size_t)ld.per_round)
		fprintf(stderr,
		        "est_load: %zu tokens for %d rounds of up to %ld: rounds may end "
		        "early\n",
		        ld.tok.n, ld.rounds, ld.per_round);
	for (int i = 0; i < NCSR; i++)
		if (make_csr(i, &ld.csr[i]) != VOUCH_OK) {
			fprintf(stderr, "est_load: cannot make the CSRs\n");
			goto out;
		}

	printf(
	    "vouch bench: EST simpleenroll over HTTPS vs cfssl's sign API, %d concurrent clients "
	    "(libcurl multi,\nHTTP/1.1 keep-alive), the same %d P-256 CSRs for both; medians of "
	    "%d alternating rounds of\n%.1f s per server (EST: at most %ld requests, one token "
	    "each)\n",
	    ld.clients, NCSR, ld.rounds, ld.seconds, ld.per_round);
	for (int r = 0; r < ld.rounds; r++) {
		/* The order flips every round: drift on the machine hits every side alike. */
		for (int k = 0; k < 3; k++) {
			int which = r % 2 == 0 ? k : 2 - k;

			if (which == 0 && cfssl_url != NULL) {
				cf.rate[r] = run_round(&ld, &cf);
				if (cf.rate[r] < 0) {
					fprintf(stderr, "est_load: cfssl round %d failed\n", r + 1);
					goto out;
				}
			} else if (which == 1) {
				est.rate[r] = run_round(&ld, &est);
				if (est.rate[r] < 0) {
					fprintf(stderr, "est_load: EST round %d failed\n", r + 1);
					goto out;
				}
			} else if (which == 2 && raw_cmd != NULL) {
				raw[nraw] = run_raw(raw_cmd);
				if (raw[nraw] < 0) {
					fprintf(stderr, "est_load: %s failed\n", raw_cmd);
					goto out;
				}
				nraw++;
			}
		}
	}
	side_report(&est, ld.rounds, &est_rate);
	if (cfssl_url != NULL) {
		side_report(&cf, ld.rounds, &cf_rate);
		printf("  EST / cfssl sign: ratio %.3f (target >= %.1f, i.e. >= %.0f certs/s) %s\n",
		       est_rate / cf_rate, EST_TARGET, EST_TARGET * cf_rate,
		       est_rate / cf_rate >= EST_TARGET ? "met" : "NOT MET");
	} else {
		printf("  cfssl: NOT MEASURED (%s): the EST figure above stands ALONE, no ratio, "
		       "target >= %.1fx cfssl not checked\n",
		       no_cfssl, EST_TARGET);
	}
	if (nraw > 0) {
		raw_rate = bench_median(raw, (size_t)nraw);
		printf("  EST / raw issuance (bench_issue, 1 thread, %.0f certs/s in the same "
		       "rounds): "
		       "ratio %.3f\n",
		       raw_rate, est_rate / raw_rate);
	}
	rc = 0;
out:
	for (int i = 0; i < NCSR; i++)
		csr_clear(&ld.csr[i]);
	tokens_clear(&ld.tok);
	curl_slist_free_all(est.headers);
	curl_slist_free_all(cf.headers);
	free(est.lat);
	free(cf.lat);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 2;

	vouch_log_init("est_load", VOUCH_LOG_WARN, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if (argc >= 2 && strcmp(argv[1], "tokens") == 0)
		rc = cmd_tokens(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "keys") == 0)
		rc = cmd_keys(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "compare") == 0)
		rc = cmd_compare(argc - 1, argv + 1);
	else
		fprintf(stderr, "usage: est_load tokens|keys|compare ... (see bench/est_load.c)\n");
	curl_global_cleanup();
	return rc;
}
