/*
 * vouch-plant --load: open-loop load on the plant (docs/plant.md, "Load mode").
 *
 * The clients run in worker processes forked after set-up, never a program per operation (that
 * would measure process start-up, 20-30 ms, not the plant): one per phone, which opens the
 * phone's own SoftHSM2 token once (SoftHSM2 reads one configuration per process, and each phone
 * key is in its own token) and then does what `vouch-wallet access` and `refresh` do, with the
 * wallet's own link code (wallet/link.c, wallet/coap.c) and libvouch's HTTPS client; two more
 * are gateways enrolling over EST with a fresh key and a one-time token each time.
 *
 * Open loop: operation i is due at t0 + i / R whatever happened before it, and its latency is
 * counted from that time to its answer, so queueing anywhere (a busy phone, a busy sensor,
 * vouchd) shows in the latency instead of slowing the arrivals (no coordinated omission). An
 * operation goes to an idle client when there is one, else it waits in the queue of the one
 * drawn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "contact.h"
#include "link.h"
#include "load.h"
#include "vouch/cbor.h"
#include "vouch/https.h"
#include "vouch/log.h"
#include "vouch/p11.h"

#define GATEWAYS       2
#define WORKERS_MAX    (PLANT_PEOPLE_MAX + GATEWAYS)
#define ERR_TEXT       160
#define ERR_KINDS      8
#define ARG_MAX        200
#define FLOOR_N        15
#define DRAIN_S        20.0 /* after the last arrival: then what is unanswered is an error */
#define READY_S        60.0
#define CRED_FILE_MAX  (72 * 1024)
#define CERT_MAX       4096
#define TOKEN_LABEL    "vouch-wallet"
#define KEY_LABEL      "phone"
#define PIN_ENV        "VOUCH_WALLET_PIN"
#define CODE_CREATED   0x41
#define CODE_CONTENT   0x45
#define OP_READY       0xffffffffu
#define ENROL_PREFIX   "load-gw-"
#define TOKEN_SPARE    4
#define TOKENS_MAX     20000
#define HTTP_TIMEOUT_S 30L

static const char *const kind_names[PLANT_LOAD_KINDS] = {"enrol", "refresh", "access"};

/* Parent -> worker: one operation. */
struct load_op {
	uint32_t id;
	uint8_t kind;
	int16_t sensor;
	char action[16];
	char arg[ARG_MAX]; /* enrol: "device:token" */
};

/* Worker -> parent (one pipe for all: each write is atomic, under PIPE_BUF). */
struct load_result {
	uint32_t id;
	int32_t ok;      /* 1 done, 0 error */
	int32_t granted; /* access: 1 granted, 0 denied */
	int32_t worker;
	int64_t end_ns; /* CLOCK_MONOTONIC, the same clock in every process */
	char err[ERR_TEXT];
};

struct load_worker {
	pid_t pid;
	int op_fd;
	int person; /* -1: a gateway */
	int queued;
	unsigned long long cpu0, cpu1; /* clock ticks */
};

struct load_slot {
	uint8_t kind;
	bool done;
	int worker;
	int64_t sched_ns;
};

struct kind_stats {
	size_t sent, done, errors, granted;
	double *lat; /* ms, of the ones done */
	struct {
		char text[ERR_TEXT];
		size_t n;
	} err[ERR_KINDS];
	size_t err_other;
};

struct load {
	struct plant *p;
	struct load_worker w[WORKERS_MAX];
	int n_w, n_phones;
	int res_fd; /* read end */
	struct load_slot *slot;
	size_t n_slots;
	struct kind_stats k[PLANT_LOAD_KINDS];
	char **tokens;
	size_t n_tokens, next_token;
	size_t inflight;
};

/* ---- options ---- */

int plant_load_parse_rate(const char *s, double *rate)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0.0) || v > 10000.0)
		return VOUCH_ERR_INVALID;
	*rate = v;
	return VOUCH_OK;
}

void plant_load_default_mix(int mix[PLANT_LOAD_KINDS])
{
	mix[PLANT_LOAD_ENROL] = 1;
	mix[PLANT_LOAD_REFRESH] = 2;
	mix[PLANT_LOAD_ACCESS] = 7;
}

int plant_load_parse_mix(const char *s, int mix[PLANT_LOAD_KINDS])
{
	char buf[128], *save = NULL, *tok;
	int total = 0;

	if (strlen(s) >= sizeof(buf))
		return VOUCH_ERR_INVALID;
	snprintf(buf, sizeof(buf), "%s", s);
	memset(mix, 0, sizeof(int) * PLANT_LOAD_KINDS);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end = NULL;
		long v;
		int k;

		if (eq == NULL)
			return VOUCH_ERR_INVALID;
		*eq = '\0';
		for (k = 0; k < PLANT_LOAD_KINDS; k++)
			if (strcmp(tok, kind_names[k]) == 0)
				break;
		errno = 0;
		v = strtol(eq + 1, &end, 10);
		if (k == PLANT_LOAD_KINDS || errno != 0 || end == eq + 1 || *end != '\0' || v < 0 ||
		    v > 1000)
			return VOUCH_ERR_INVALID;
		mix[k] = (int)v;
		total += (int)v;
	}
	return total > 0 ? VOUCH_OK : VOUCH_ERR_INVALID;
}

/* ---- small helpers ---- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int read_whole(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	*len = 0;
	if (f == NULL)
		return VOUCH_ERR_IO;
	n = fread(buf, 1, cap, f);
	if (n == cap || ferror(f)) {
		fclose(f);
		return VOUCH_ERR_BUFFER;
	}
	fclose(f);
	*len = n;
	return VOUCH_OK;
}

/* Standard base64 (whitespace skipped) into out; its length, or -1. */
static long b64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap)
{
	char *clean = malloc(in_len + 1);
	size_t n = 0, pad = 0;
	int r;

	if (clean == NULL)
		return -1;
	for (size_t i = 0; i < in_len; i++)
		if (in[i] != '\n' && in[i] != '\r' && in[i] != ' ' && in[i] != '\t')
			clean[n++] = in[i];
	if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap) {
		free(clean);
		return -1;
	}
	while (pad < 2 && clean[n - 1 - pad] == '=')
		pad++;
	r = EVP_DecodeBlock(out, (const unsigned char *)clean, (int)n);
	free(clean);
	return r < 0 || (size_t)r < pad ? -1 : (long)((size_t)r - pad);
}

/* utime + stime of a process, in clock ticks (0 when it cannot be read). */
static unsigned long long proc_cpu(pid_t pid)
{
	char path[64], buf[1024], *rp;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name may hold spaces and parentheses: the fields start after the last ')'. Field 3
	 * is the state; utime and stime are fields 14 and 15. */
	rp = strrchr(buf, ')');
	if (rp == NULL ||
	    sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

/* VmRSS / VmHWM of a process in KiB (0 when unknown). */
static long proc_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			kb = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* ---- the phone worker (child) ---- */

struct phone {
	struct vouch_p11 *p11;
	struct vouch_key priv, pub;
	char phone_id[96];
	char server[128];
	char ca_path[PLANT_PATH_MAX + 16];
	char cert_path[PLANT_PATH_MAX + 16];
	uint8_t cred[CRED_FILE_MAX];
	size_t cred_len;
	X509_STORE *ca;
};

static struct w_link link_buf; /* per worker process: ~100 KiB, not on the stack */

static int phone_open(struct phone *ph, const struct plant_person *who, char *err, size_t cap)
{
	char path[PLANT_PATH_MAX + 32];
	const char *pin = getenv(PIN_ENV);
	json_t *conf;
	json_error_t je;
	int rc;

	snprintf(path, sizeof(path), "%s/wallet.json", who->wallet);
	conf = json_load_file(path, 0, &je);
	if (conf == NULL || json_string_value(json_object_get(conf, "phone")) == NULL ||
	    json_string_value(json_object_get(conf, "server")) == NULL) {
		snprintf(err, cap, "%.120s: no phone id or server", path);
		json_decref(conf);
		return VOUCH_ERR_IO;
	}
	snprintf(ph->phone_id, sizeof(ph->phone_id), "%s",
	         json_string_value(json_object_get(conf, "phone")));
	snprintf(ph->server, sizeof(ph->server), "%s",
	         json_string_value(json_object_get(conf, "server")));
	json_decref(conf);
	snprintf(ph->ca_path, sizeof(ph->ca_path), "%s/ca.pem", who->wallet);
	snprintf(ph->cert_path, sizeof(ph->cert_path), "%s/phone.pem", who->wallet);
	snprintf(path, sizeof(path), "%s/credential.cwt", who->wallet);
	rc = read_whole(path, ph->cred, sizeof(ph->cred), &ph->cred_len);
	if (rc != VOUCH_OK) {
		snprintf(err, cap, "%.120s: %s", path, vouch_strerror(rc));
		return rc;
	}
	ph->ca = X509_STORE_new();
	if (ph->ca == NULL || X509_STORE_load_file(ph->ca, ph->ca_path) != 1) {
		snprintf(err, cap, "cannot load %.120s", ph->ca_path);
		return VOUCH_ERR_IO;
	}
	vouch_key_init(&ph->priv);
	vouch_key_init(&ph->pub);
	if (pin == NULL) {
		snprintf(err, cap, "no %s", PIN_ENV);
		return VOUCH_ERR_P11_PIN;
	}
	/* Before the module is first loaded in this process: the phone's own token directory. */
	rc = vouch_p11_softhsm_use(who->wallet);
	if (rc == VOUCH_OK)
		rc = vouch_p11_open_pin(&ph->p11, NULL, TOKEN_LABEL, pin);
	if (rc == VOUCH_OK)
		rc = vouch_p11_key_load(ph->p11, KEY_LABEL, &ph->priv);
	if (rc == VOUCH_OK)
		rc = vouch_p11_key_load_public(ph->p11, KEY_LABEL, &ph->pub);
	if (rc != VOUCH_OK)
		snprintf(err, cap, "the phone key in %.80s's token: %s", who->wallet,
		         vouch_strerror(rc));
	return rc;
}

static void phone_close(struct phone *ph)
{
	vouch_key_clear(&ph->priv);
	vouch_key_clear(&ph->pub);
	vouch_p11_close(ph->p11);
	X509_STORE_free(ph->ca);
	vouch_wipe(ph->cred, sizeof(ph->cred));
}

/* What `vouch-wallet access URI ACTION` does at the sensor: /info, the certificate, EDHOC with
 * the key it certifies, /authz-info with the credential, /access. *end_ns at the decision (the
 * close that frees the sensor's session follows it). */
static int do_access(struct phone *ph, const char *uri, const char *action, int32_t *granted,
                     int64_t *end_ns, char *err, size_t cap)
{
	struct w_link *l = &link_buf;
	struct w_link_me me = {&ph->priv, &ph->pub, ph->phone_id};
	struct w_sensor_info in;
	struct w_certified cc;
	struct vouch_cbor_writer cw;
	struct vouch_cbor_reader r;
	const uint8_t *body = NULL;
	size_t body_len = 0, req_len = 0, n = 0;
	uint8_t req[64];
	uint64_t key;
	unsigned code = 0;
	bool g = false;
	char why[ERR_TEXT];
	int rc;

	rc = w_link_open(l, uri, err, cap);
	if (rc != VOUCH_OK)
		goto out_close;
	rc = w_link_plain(l, false, "info", NULL, 0, &code, &body, &body_len);
	if (rc != VOUCH_OK || code != CODE_CONTENT) {
		snprintf(err, cap, "/info: %s", rc != VOUCH_OK ? "no answer" : "refused");
		rc = rc != VOUCH_OK ? rc : VOUCH_ERR_IO;
		goto out_close;
	}
	rc = w_sensor_info_read(body, body_len, &in);
	if (rc != VOUCH_OK || !in.provisioned || in.cert_len == 0) {
		snprintf(err, cap, "/info: not a commissioned vouch sensor");
		rc = VOUCH_ERR_INVALID;
		goto out_close;
	}
	rc = w_device_cert_check(ph->ca, in.cert, in.cert_len, in.device, &cc, err, cap);
	if (rc != VOUCH_OK)
		goto out_close;
	rc = w_link_handshake(l, &me, w_check_certified, &cc, err, cap);
	if (rc != VOUCH_OK)
		goto out_close;
	rc =
	    w_link_call(l, "authz-info", ph->cred, ph->cred_len, &code, &body, &body_len, err, cap);
	if (rc == VOUCH_OK && code != CODE_CREATED) {
		w_sensor_reason(body, body_len, why, sizeof(why));
		snprintf(err, cap, "/authz-info refused: %.100s", why);
		rc = VOUCH_ERR_VERIFY;
	}
	if (rc != VOUCH_OK)
		goto out_close;
	vouch_cbor_writer_init(&cw, req, sizeof(req));
	vouch_cbor_write_map(&cw, 1);
	vouch_cbor_write_uint(&cw, 1);
	vouch_cbor_write_cstr(&cw, action);
	rc = vouch_cbor_writer_finish(&cw, &req_len);
	if (rc == VOUCH_OK)
		rc = w_link_call(l, "access", req, req_len, &code, &body, &body_len, err, cap);
	*end_ns = now_ns();
	if (rc != VOUCH_OK)
		goto out_close;
	/* The decision {1: granted, 2: reason, 3: ...}: granted or denied, both are decisions. */
	vouch_cbor_reader_init(&r, body, body_len);
	if (code != CODE_CONTENT || vouch_cbor_validate(body, body_len, NULL) != VOUCH_OK ||
	    vouch_cbor_read_map(&r, &n) != VOUCH_OK || n < 1 ||
	    vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key != 1 ||
	    vouch_cbor_read_bool(&r, &g) != VOUCH_OK) {
		w_sensor_reason(body, body_len, why, sizeof(why));
		snprintf(err, cap, "/access: no decision (CoAP %u.%02u): %.80s", code >> 5,
		         code & 31, why);
		rc = VOUCH_ERR_INVALID;
		goto out_close;
	}
	*granted = g ? 1 : 0;
out_close:
	w_link_close(l);
	return rc;
}

/* What `vouch-wallet refresh` does online: POST /api/v1/credentials over mutual TLS with the
 * phone certificate and the key in the token, a new connection as a phone makes. The new
 * credential replaces the held one for the next decisions (not written to the wallet). */
static int do_refresh(struct phone *ph, char *err, size_t cap)
{
	struct vouch_https_config cfg = {
	    .base_url = ph->server,
	    .ca_file = ph->ca_path,
	    .cert_file = ph->cert_path,
	    .key = &ph->priv,
	    .user_agent = "vouch-plant-load",
	    .connect_timeout = 10,
	    .timeout = HTTP_TIMEOUT_S,
	};
	struct vouch_https *h = NULL;
	struct vouch_https_reply raw;
	json_t *j = NULL;
	const char *b64;
	long n;
	int rc;

	memset(&raw, 0, sizeof(raw));
	rc = vouch_https_new(&cfg, &h);
	if (rc != VOUCH_OK) {
		snprintf(err, cap, "HTTPS client: %s", vouch_strerror(rc));
		return rc;
	}
	rc = vouch_https_json(h, "POST", "/api/v1/credentials", NULL, &raw, &j);
	if (rc != VOUCH_OK) {
		snprintf(err, cap, "POST /api/v1/credentials: %s: %s", vouch_strerror(rc),
		         vouch_https_last_error(h));
		goto out_free;
	}
	b64 = json_string_value(json_object_get(j, "credential"));
	if (raw.status != 200 || b64 == NULL) {
		snprintf(err, cap, "POST /api/v1/credentials: HTTP %ld %s", raw.status,
		         json_string_value(json_object_get(j, "error")) != NULL
		             ? json_string_value(json_object_get(j, "error"))
		             : "");
		rc = VOUCH_ERR_VERIFY;
		goto out_free;
	}
	n = b64_decode(b64, strlen(b64), ph->cred, sizeof(ph->cred));
	if (n <= 0) {
		snprintf(err, cap, "POST /api/v1/credentials: no base64 credential");
		rc = VOUCH_ERR_INVALID;
		goto out_free;
	}
	ph->cred_len = (size_t)n;
	rc = VOUCH_OK;
out_free:
	json_decref(j);
	vouch_https_reply_clear(&raw);
	vouch_https_free(h);
	return rc;
}

/* ---- the gateway worker (child): EST simpleenroll ---- */

struct body_buf {
	char *p;
	size_t len, cap;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body_buf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n + 1 > b->cap)
		return 0;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* A fresh P-256 key and a CSR for CN=device, base64 DER (malloc()ed). */
static char *make_csr(const char *device, EVP_PKEY **key)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	char *b64 = NULL;
	int n;

	*key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (*key == NULL || req == NULL || name == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)device, -1,
	                               -1, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, *key) != 1 ||
	    X509_REQ_sign(req, *key, EVP_sha256()) <= 0 || (n = i2d_X509_REQ(req, &der)) <= 0)
		goto out_free;
	b64 = malloc(4 * (((size_t)n + 2) / 3) + 1);
	if (b64 != NULL)
		EVP_EncodeBlock((unsigned char *)b64, der, n);
out_free:
	OPENSSL_free(der);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return b64;
}

/* The answer: base64 of a certs-only PKCS#7 whose certificate holds our key. */
static bool est_answer_ok(const char *body, size_t len, EVP_PKEY *key)
{
	uint8_t *der = malloc(len + 1);
	const unsigned char *d = der;
	PKCS7 *p7 = NULL;
	STACK_OF(X509) *certs = NULL;
	long n = der != NULL ? b64_decode(body, len, der, len + 1) : -1;
	bool ok = false;

	if (n > 0)
		p7 = d2i_PKCS7(NULL, &d, n);
	if (p7 != NULL && PKCS7_type_is_signed(p7) && p7->d.sign != NULL)
		certs = p7->d.sign->cert;
	for (int i = 0; certs != NULL && i < sk_X509_num(certs); i++)
		if (EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(certs, i)), key) == 1)
			ok = true;
	PKCS7_free(p7);
	free(der);
	return ok;
}

/* What a gateway does with `openssl req` and `curl` in the gateway-est scenario, in process: a
 * fresh key, simpleenroll with HTTP Basic device:token over a new TLS connection. */
static int do_enrol(const struct plant *p, const char *user, char *err, size_t cap)
{
	char url[200], chain[PLANT_PATH_MAX + 16], device[96];
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/pkcs10");
	struct body_buf b = {malloc(65536), 0, 65536};
	CURL *c = curl_easy_init();
	EVP_PKEY *key = NULL;
	const char *colon = strchr(user, ':');
	char *csr;
	long status = 0;
	CURLcode cr;
	int rc = VOUCH_ERR_INTERNAL;

	snprintf(device, sizeof(device), "%.*s", colon != NULL ? (int)(colon - user) : 0, user);
	csr = make_csr(device, &key);
	if (c == NULL || hdr == NULL || b.p == NULL || csr == NULL) {
		snprintf(err, cap, "EST: cannot make the key, CSR or request");
		goto out_free;
	}
	snprintf(url, sizeof(url), "%s/.well-known/est/simpleenroll", p->https);
	snprintf(chain, sizeof(chain), "%s/ca/chain.pem", p->site);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, chain);
	curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(c, CURLOPT_USERPWD, user);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, csr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(csr));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, HTTP_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		snprintf(err, cap, "EST simpleenroll: %s", curl_easy_strerror(cr));
		rc = VOUCH_ERR_IO;
		goto out_free;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(err, cap, "EST simpleenroll: HTTP %ld", status);
		rc = VOUCH_ERR_VERIFY;
		goto out_free;
	}
	if (!est_answer_ok(b.p, b.len, key)) {
		snprintf(err, cap, "EST simpleenroll: the answer holds no certificate of our key");
		rc = VOUCH_ERR_VERIFY;
		goto out_free;
	}
	rc = VOUCH_OK;
out_free:
	free(csr);
	free(b.p);
	EVP_PKEY_free(key);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return rc;
}

/* ---- a worker's life (child; never returns) ---- */

static void send_result(int fd, const struct load_result *res)
{
	ssize_t n;

	do
		n = write(fd, res, sizeof(*res));
	while (n < 0 && errno == EINTR);
}

static bool read_op(int fd, struct load_op *op)
{
	size_t got = 0;

	while (got < sizeof(*op)) {
		ssize_t n = read(fd, (char *)op + got, sizeof(*op) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

static void worker_main(struct load *ld, int self, int op_fd, int res_fd)
{
	static struct phone ph;
	struct plant *p = ld->p;
	const struct load_worker *w = &ld->w[self];
	struct load_result res;
	struct load_op op;
	FILE *quiet = fopen("/dev/null", "w");
	int rc = VOUCH_OK;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The libraries' own log lines would interleave with the plant's output. */
	vouch_log_init("vouch-plant-load", VOUCH_LOG_ERROR, quiet);
	memset(&res, 0, sizeof(res));
	res.id = OP_READY;
	res.worker = self;
	if (w->person >= 0)
		rc = phone_open(&ph, &p->people[w->person], res.err, sizeof(res.err));
	else if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		rc = VOUCH_ERR_INTERNAL;
	res.ok = rc == VOUCH_OK;
	res.end_ns = now_ns();
	send_result(res_fd, &res);
	while (rc == VOUCH_OK && read_op(op_fd, &op)) {
		memset(&res, 0, sizeof(res));
		res.id = op.id;
		res.worker = self;
		res.end_ns = 0;
		if (op.kind == PLANT_LOAD_ACCESS && w->person >= 0 && op.sensor >= 0 &&
		    op.sensor < p->n_sensors)
			res.ok = do_access(&ph, p->sensors[op.sensor].uri, op.action, &res.granted,
			                   &res.end_ns, res.err, sizeof(res.err)) == VOUCH_OK;
		else if (op.kind == PLANT_LOAD_REFRESH && w->person >= 0)
			res.ok = do_refresh(&ph, res.err, sizeof(res.err)) == VOUCH_OK;
		else if (op.kind == PLANT_LOAD_ENROL && w->person < 0)
			res.ok = do_enrol(p, op.arg, res.err, sizeof(res.err)) == VOUCH_OK;
		else
			snprintf(res.err, sizeof(res.err), "an operation this client does not do");
		vouch_wipe(op.arg, sizeof(op.arg));
		if (res.end_ns == 0 || !res.ok)
			res.end_ns = now_ns();
		if (res.ok)
			res.err[0] = '\0';
		send_result(res_fd, &res);
	}
	if (w->person >= 0)
		phone_close(&ph);
	else
		curl_global_cleanup();
	/* _exit: the parent's atexit handler stops the plant's programs; not ours to run. */
	_exit(rc == VOUCH_OK ? 0 : 1);
}

/* ---- the parent ---- */

static int workers_start(struct load *ld)
{
	int res[2], k = 0;

	if (pipe2(res, O_CLOEXEC) != 0)
		return VOUCH_ERR_IO;
	ld->res_fd = res[0];
	for (int i = 0; i < ld->p->n_people; i++)
		if (!ld->p->people[i].revoked)
			ld->w[k++].person = i;
	ld->n_phones = k;
	for (int g = 0; g < GATEWAYS; g++)
		ld->w[k++].person = -1;
	ld->n_w = k;
	for (int i = 0; i < ld->n_w; i++) {
		int op[2];
		pid_t pid;

		if (pipe2(op, O_CLOEXEC) != 0)
			return VOUCH_ERR_IO;
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			close(op[0]);
			close(op[1]);
			return VOUCH_ERR_IO;
		}
		if (pid == 0) {
			/* Only its own end of its own pipe: the others' EOF must not wait for it.
			 */
			close(op[1]);
			close(res[0]);
			for (int j = 0; j < i; j++)
				close(ld->w[j].op_fd);
			worker_main(ld, i, op[0], res[1]);
		}
		close(op[0]);
		ld->w[i].pid = pid;
		ld->w[i].op_fd = op[1];
		(void)fcntl(op[1], F_SETFL, O_NONBLOCK);
	}
	close(res[1]);
	(void)fcntl(ld->res_fd, F_SETFL, O_NONBLOCK);
	return VOUCH_OK;
}

static void workers_stop(struct load *ld)
{
	for (int i = 0; i < ld->n_w; i++) {
		if (ld->w[i].op_fd > 0)
			close(ld->w[i].op_fd);
		ld->w[i].op_fd = -1;
	}
	for (int i = 0; i < ld->n_w; i++) {
		int st;

		if (ld->w[i].pid <= 0)
			continue;
		for (int t = 0; t < 100; t++) {
			if (waitpid(ld->w[i].pid, &st, WNOHANG) != 0)
				goto next;
			usleep(50000);
		}
		kill(ld->w[i].pid, SIGKILL);
		(void)waitpid(ld->w[i].pid, &st, 0);
	next:
		ld->w[i].pid = -1;
	}
	if (ld->res_fd > 0)
		close(ld->res_fd);
	ld->res_fd = -1;
}

static void note_error(struct kind_stats *k, const char *text)
{
	for (size_t i = 0; i < ERR_KINDS; i++) {
		if (k->err[i].n > 0 && strcmp(k->err[i].text, text) == 0) {
			k->err[i].n++;
			return;
		}
		if (k->err[i].n == 0) {
			snprintf(k->err[i].text, sizeof(k->err[i].text), "%s", text);
			k->err[i].n = 1;
			return;
		}
	}
	k->err_other++;
}

/* Take every result waiting; *ready counts the workers that said they are up. */
static void drain_results(struct load *ld, int *ready, int *failed)
{
	struct load_result r;

	for (;;) {
		ssize_t n = read(ld->res_fd, &r, sizeof(r));

		if (n != (ssize_t)sizeof(r))
			return;
		if (r.worker >= 0 && r.worker < ld->n_w && ld->w[r.worker].queued > 0 &&
		    r.id != OP_READY)
			ld->w[r.worker].queued--;
		if (r.id == OP_READY) {
			if (r.ok)
				(*ready)++;
			else {
				(*failed)++;
				r.err[sizeof(r.err) - 1] = '\0';
				fprintf(stderr, "vouch-plant: a load client did not start: %s\n",
				        r.err);
			}
			continue;
		}
		if (r.id >= ld->n_slots || ld->slot[r.id].done)
			continue;
		{
			struct load_slot *s = &ld->slot[r.id];
			struct kind_stats *k = &ld->k[s->kind];

			s->done = true;
			ld->inflight--;
			if (r.ok) {
				k->lat[k->done++] = (double)(r.end_ns - s->sched_ns) / 1e6;
				k->granted += r.granted == 1;
			} else {
				r.err[sizeof(r.err) - 1] = '\0';
				k->errors++;
				note_error(k, r.err);
			}
		}
	}
}

/* An idle client of the wanted sort, from a random start; else the one drawn. */
static int pick_worker(struct load *ld, bool phone)
{
	int lo = phone ? 0 : ld->n_phones, n = phone ? ld->n_phones : ld->n_w - ld->n_phones;
	int start = lo + (int)plant_rand(ld->p, (uint32_t)n);

	for (int i = 0; i < n; i++) {
		int w = lo + (start - lo + i) % n;

		if (ld->w[w].queued == 0)
			return w;
	}
	return start;
}


/* Hand operation id of kind (sensor for access) to a client (worker, or -1: an idle one),
 * due at sched. */
static void dispatch(struct load *ld, uint32_t id, int kind, int sensor, int worker, int64_t sched)
{
	struct load_slot *s = &ld->slot[id];
	struct load_op op;
	int w;
	ssize_t n;

	memset(&op, 0, sizeof(op));
	op.id = id;
	op.kind = (uint8_t)kind;
	op.sensor = (int16_t)sensor;
	s->kind = (uint8_t)kind;
	s->sched_ns = sched;
	ld->k[kind].sent++;
	if (kind == PLANT_LOAD_ACCESS)
		snprintf(op.action, sizeof(op.action), "%s",
		         plant_everyday_action(ld->p, &ld->p->sensors[sensor]));
	if (kind == PLANT_LOAD_ENROL) {
		if (ld->next_token >= ld->n_tokens) {
			s->done = true;
			ld->k[kind].errors++;
			note_error(&ld->k[kind], "no enrolment token left (more than planned)");
			return;
		}
		snprintf(op.arg, sizeof(op.arg), "%s", ld->tokens[ld->next_token++]);
	}
	w = worker >= 0 ? worker : pick_worker(ld, kind != PLANT_LOAD_ENROL);
	s->worker = w;
	do
		n = write(ld->w[w].op_fd, &op, sizeof(op));
	while (n < 0 && errno == EINTR);
	vouch_wipe(op.arg, sizeof(op.arg));
	if (n != (ssize_t)sizeof(op)) {
		s->done = true;
		ld->k[kind].errors++;
		note_error(&ld->k[kind], n < 0 && errno == EAGAIN ? "the client's queue is full"
		                                                  : "the client is gone");
		return;
	}
	ld->w[w].queued++;
	ld->inflight++;
}

static int draw_kind(struct plant *p, const int mix[PLANT_LOAD_KINDS])
{
	int total = mix[0] + mix[1] + mix[2];
	int r = (int)plant_rand(p, (uint32_t)total);

	for (int k = 0; k < PLANT_LOAD_KINDS; k++) {
		if (r < mix[k])
			return k;
		r -= mix[k];
	}
	return PLANT_LOAD_ACCESS;
}

/* Wait for results until deadline (CLOCK_MONOTONIC ns) or until cond says stop. */
static void wait_results(struct load *ld, int64_t deadline, int *ready, int *failed)
{
	int64_t left = deadline - now_ns();
	struct timespec ts;
	struct pollfd pfd = {ld->res_fd, POLLIN, 0};

	if (left < 0)
		left = 0;
	ts.tv_sec = (time_t)(left / 1000000000);
	ts.tv_nsec = (long)(left % 1000000000);
	if (ppoll(&pfd, 1, &ts, NULL) > 0)
		drain_results(ld, ready, failed);
}

/* One-time enrolment tokens for the gateways, made before the load with the admin CLI. */
static int tokens_make(struct load *ld, size_t want)
{
	char out[PLANT_OUT_MAX], device[48];
	int st = -1;

	if (want == 0)
		return VOUCH_OK;
	ld->tokens = calloc(want, sizeof(char *));
	if (ld->tokens == NULL)
		return VOUCH_ERR_NOMEM;
	for (size_t i = 0; i < want && !plant_proc_interrupted(); i++) {
		snprintf(device, sizeof(device), ENROL_PREFIX "%05zu", i);
		if (plant_vouch(ld->p, out, sizeof(out), &st, "enrol-token", "create", "--device",
		                device, "--hours", "2", NULL) != VOUCH_OK ||
		    st != 0 || strchr(out, '\n') != NULL || out[0] == '\0') {
			fprintf(stderr, "vouch-plant: enrol-token create: %s\n", out);
			vouch_wipe(out, sizeof(out));
			return VOUCH_ERR_IO;
		}
		if (asprintf(&ld->tokens[i], "%s:%s", device, out) < 0) {
			vouch_wipe(out, sizeof(out));
			return VOUCH_ERR_NOMEM;
		}
		vouch_wipe(out, sizeof(out));
		ld->n_tokens = i + 1;
	}
	return plant_proc_interrupted() ? VOUCH_ERR_IO : VOUCH_OK;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank of a sorted array. */
static double pct(const double *v, size_t n, double q)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)ceil(q / 100.0 * (double)n);
	return v[rank == 0 ? 0 : (rank > n ? n - 1 : rank - 1)];
}

static json_t *kind_json(struct kind_stats *k, double asked, double seconds)
{
	json_t *errs = json_object(), *lat;

	qsort(k->lat, k->done, sizeof(double), cmp_double);
	for (size_t i = 0; i < ERR_KINDS && k->err[i].n > 0; i++)
		json_object_set_new(errs, k->err[i].text, json_integer((json_int_t)k->err[i].n));
	if (k->err_other > 0)
		json_object_set_new(errs, "(other)", json_integer((json_int_t)k->err_other));
	lat = k->done == 0
	          ? json_null()
	          : json_pack("{s:f, s:f, s:f, s:f, s:f}", "p50", pct(k->lat, k->done, 50), "p90",
	                      pct(k->lat, k->done, 90), "p99", pct(k->lat, k->done, 99), "max",
	                      k->lat[k->done - 1], "min", k->lat[0]);
	return json_pack("{s:I, s:I, s:I, s:f, s:f, s:o, s:o}", "sent", (json_int_t)k->sent, "ops",
	                 (json_int_t)k->done, "errors", (json_int_t)k->errors, "asked_per_s", asked,
	                 "achieved_per_s", seconds > 0 ? (double)k->done / seconds : 0.0,
	                 "latency_ms", lat, "error_kinds", errs);
}

/* CPU of a group of processes over the load window. */
static json_t *cpu_json(unsigned long long ticks, double seconds, int n, long rss_kb)
{
	double s = (double)ticks / (double)sysconf(_SC_CLK_TCK);

	return json_pack("{s:i, s:f, s:f, s:I}", "processes", n, "cpu_s", s, "cpu_per_s",
	                 seconds > 0 ? s / seconds : 0.0, "rss_kb", (json_int_t)rss_kb);
}

/* The floor: FLOOR_N decisions one after the other by one phone at one idle sensor. */
static json_t *floor_run(struct load *ld, int *ready, int *failed)
{
	double ms[FLOOR_N];
	size_t n = 0, errs = 0;
	int sensor = 0;

	/* A sensor whose type has actions for everyone (a door), else the first. */
	for (int i = 0; i < ld->p->n_sensors; i++)
		if (strcmp(ld->p->sensors[i].type, "door") == 0) {
			sensor = i;
			break;
		}
	for (uint32_t i = 0; i < FLOOR_N && !plant_proc_interrupted(); i++) {
		struct load_slot *s = &ld->slot[i];
		struct kind_stats *k = &ld->k[PLANT_LOAD_ACCESS];
		size_t before = k->done;
		int64_t end = now_ns() + (int64_t)10e9;

		dispatch(ld, i, PLANT_LOAD_ACCESS, sensor, 0, now_ns());
		while (!s->done && now_ns() < end && !plant_proc_interrupted())
			wait_results(ld, end, ready, failed);
		if (k->done > before)
			ms[n++] = k->lat[k->done - 1];
		else
			errs++;
	}
	/* The floor's decisions are not part of the load's figures. */
	memset(&ld->k[PLANT_LOAD_ACCESS], 0, offsetof(struct kind_stats, lat)); /* counters only */
	memset(ld->k[PLANT_LOAD_ACCESS].err, 0, sizeof(ld->k[PLANT_LOAD_ACCESS].err));
	ld->k[PLANT_LOAD_ACCESS].err_other = 0;
	qsort(ms, n, sizeof(double), cmp_double);
	printf("  floor    %zu decisions one at a time by %s at %s (idle): p50 %.1f ms, max %.1f "
	       "ms%s\n",
	       n, ld->p->people[ld->w[0].person].name, ld->p->sensors[sensor].label, pct(ms, n, 50),
	       n > 0 ? ms[n - 1] : 0.0, errs > 0 ? " (some failed)" : "");
	return json_pack("{s:s, s:i, s:i, s:f, s:f, s:f}", "sensor", ld->p->sensors[sensor].label,
	                 "decisions", (int)n, "errors", (int)errs, "p50_ms", pct(ms, n, 50),
	                 "min_ms", n > 0 ? ms[0] : 0.0, "max_ms", n > 0 ? ms[n - 1] : 0.0);
}

int plant_load_run(struct plant *p, json_t **report, long *errors)
{
	static struct load ld;
	double rate = p->o.rate, seconds = (double)p->o.duration, window;
	size_t n_ops = (size_t)ceil(rate * seconds), want_tokens;
	int ready = 0, failed = 0, rc = VOUCH_ERR_INTERNAL;
	int64_t t0, t_end, t_last = 0, deadline;
	unsigned long long vouchd0, vouchd1, sens0 = 0, sens1 = 0, ph0 = 0, ph1 = 0, gw0 = 0,
	                                     gw1 = 0;
	long vouchd_rss0, sens_rss = 0, ph_rss = 0, gw_rss = 0;
	struct rusage ru0, ru1;
	json_t *kinds, *floor_j = NULL;
	int64_t t_make;

	*report = NULL;
	*errors = 0;
	memset(&ld, 0, sizeof(ld));
	ld.p = p;
	ld.res_fd = -1;
	printf("\n== Load: %.1f operations/s for %d s, open loop (mix enrol=%d refresh=%d "
	       "access=%d)\n",
	       rate, p->o.duration, p->o.mix[0], p->o.mix[1], p->o.mix[2]);
	ld.n_slots = n_ops + FLOOR_N;
	ld.slot = calloc(ld.n_slots, sizeof(*ld.slot));
	for (int k = 0; k < PLANT_LOAD_KINDS; k++)
		ld.k[k].lat = calloc(ld.n_slots, sizeof(double));
	if (ld.slot == NULL || ld.k[0].lat == NULL || ld.k[1].lat == NULL || ld.k[2].lat == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free;
	}
	/* The expected share of enrolments and some more: arrivals are drawn, not dealt. */
	want_tokens = p->o.mix[PLANT_LOAD_ENROL] == 0
	                  ? 0
	                  : (size_t)ceil((double)n_ops * p->o.mix[PLANT_LOAD_ENROL] /
	                                 (p->o.mix[0] + p->o.mix[1] + p->o.mix[2]) * 1.5) +
	                        TOKEN_SPARE;
	if (want_tokens > TOKENS_MAX)
		want_tokens = TOKENS_MAX;
	t_make = now_ns();
	rc = tokens_make(&ld, want_tokens);
	if (rc != VOUCH_OK)
		goto out_free;
	if (want_tokens > 0)
		printf(
		    "  tokens   %zu one-time enrolment tokens (vouch enrol-token create), %.1f s\n",
		    ld.n_tokens, (double)(now_ns() - t_make) / 1e9);
	rc = workers_start(&ld);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "vouch-plant: cannot start the load clients\n");
		goto out_stop;
	}
	deadline = now_ns() + (int64_t)(READY_S * 1e9);
	while (ready + failed < ld.n_w && now_ns() < deadline && !plant_proc_interrupted())
		wait_results(&ld, deadline, &ready, &failed);
	if (ready != ld.n_w) {
		fprintf(stderr, "vouch-plant: %d of %d load clients started\n", ready, ld.n_w);
		rc = VOUCH_ERR_IO;
		goto out_stop;
	}
	printf("  clients  %d phones (each its own token, in a process of its own), %d EST "
	       "gateways\n",
	       ld.n_phones, GATEWAYS);
	floor_j = floor_run(&ld, &ready, &failed);

	/* The window: CPU and memory from here to the last answer. */
	vouchd0 = proc_cpu(p->vouchd);
	vouchd_rss0 = proc_kb(p->vouchd, "VmRSS");
	for (int i = 0; i < p->n_sensors; i++)
		sens0 += proc_cpu(p->sensors[i].pid);
	for (int i = 0; i < ld.n_w; i++)
		ld.w[i].cpu0 = proc_cpu(ld.w[i].pid);
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_ns() + 100000000; /* the first arrival 0.1 s from now */
	t_end = t0 + (int64_t)(seconds * 1e9);
	for (size_t i = 0; i < n_ops && !plant_proc_interrupted();) {
		int64_t due = t0 + (int64_t)((double)i * 1e9 / rate);

		if (now_ns() >= due) {
			int kind = draw_kind(p, p->o.mix);
			int sensor = (int)plant_rand(p, (uint32_t)p->n_sensors);

			dispatch(&ld, (uint32_t)(FLOOR_N + i), kind, sensor, -1, due);
			i++;
			continue;
		}
		wait_results(&ld, due, &ready, &failed);
	}
	deadline = now_ns() + (int64_t)(DRAIN_S * 1e9);
	while (ld.inflight > 0 && now_ns() < deadline && !plant_proc_interrupted())
		wait_results(&ld, deadline, &ready, &failed);
	t_last = now_ns();
	getrusage(RUSAGE_SELF, &ru1);
	vouchd1 = proc_cpu(p->vouchd);
	for (int i = 0; i < p->n_sensors; i++) {
		sens1 += proc_cpu(p->sensors[i].pid);
		sens_rss += proc_kb(p->sensors[i].pid, "VmRSS");
	}
	for (int i = 0; i < ld.n_w; i++) {
		bool phone = ld.w[i].person >= 0;

		ld.w[i].cpu1 = proc_cpu(ld.w[i].pid);
		*(phone ? &ph0 : &gw0) += ld.w[i].cpu0;
		*(phone ? &ph1 : &gw1) += ld.w[i].cpu1;
		*(phone ? &ph_rss : &gw_rss) += proc_kb(ld.w[i].pid, "VmRSS");
	}
	/* What never got an answer is an error of its kind. */
	for (size_t i = FLOOR_N; i < ld.n_slots; i++)
		if (ld.slot[i].sched_ns != 0 && !ld.slot[i].done) {
			ld.k[ld.slot[i].kind].errors++;
			note_error(&ld.k[ld.slot[i].kind], "no answer by the end of the run");
		}
	window = (double)((t_last > t_end ? t_last : t_end) - t0) / 1e9;

	kinds = json_object();
	printf("  %-8s %6s %6s %6s %9s %9s %8s %8s %8s %8s\n", "kind", "sent", "done", "errors",
	       "asked/s", "done/s", "p50 ms", "p90 ms", "p99 ms", "max ms");
	for (int k = 0; k < PLANT_LOAD_KINDS; k++) {
		struct kind_stats *ks = &ld.k[k];
		double asked = rate * p->o.mix[k] / (p->o.mix[0] + p->o.mix[1] + p->o.mix[2]);
		json_t *kj = kind_json(ks, asked, window);

		*errors += (long)ks->errors;
		if (k == PLANT_LOAD_ACCESS)
			json_object_set_new(kj, "granted", json_integer((json_int_t)ks->granted));
		json_object_set_new(kinds, kind_names[k], kj);
		printf("  %-8s %6zu %6zu %6zu %9.1f %9.1f %8.1f %8.1f %8.1f %8.1f\n", kind_names[k],
		       ks->sent, ks->done, ks->errors, asked,
		       window > 0 ? (double)ks->done / window : 0.0, pct(ks->lat, ks->done, 50),
		       pct(ks->lat, ks->done, 90), pct(ks->lat, ks->done, 99),
		       ks->done > 0 ? ks->lat[ks->done - 1] : 0.0);
		for (size_t e = 0; e < ERR_KINDS && ks->err[e].n > 0; e++)
			printf("           error x%zu: %s\n", ks->err[e].n, ks->err[e].text);
	}
	{
		long hz = sysconf(_SC_CLK_TCK);
		double self_cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec +
		                           ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		                  (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
		                           ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) /
		                      1e6;
		long rss = proc_kb(p->vouchd, "VmRSS"), hwm = proc_kb(p->vouchd, "VmHWM");
		json_t *vj = cpu_json(vouchd1 - vouchd0, window, 1, rss);

		json_object_set_new(vj, "rss_kb_before", json_integer(vouchd_rss0));
		json_object_set_new(vj, "hwm_kb", json_integer(hwm));
		printf(
		    "  vouchd   CPU %.2f s (%.0f%% of a core), RSS %ld KiB (%ld before the load), "
		    "peak %ld KiB\n",
		    (double)(vouchd1 - vouchd0) / (double)hz,
		    100.0 * (double)(vouchd1 - vouchd0) / (double)hz / window, rss, vouchd_rss0,
		    hwm);
		printf("  sensors  %d: CPU %.2f s (%.0f%% of a core), RSS %ld KiB in all\n",
		       p->n_sensors, (double)(sens1 - sens0) / (double)hz,
		       100.0 * (double)(sens1 - sens0) / (double)hz / window, sens_rss);
		printf("  phones   %d: CPU %.2f s (%.0f%% of a core); gateways %d: CPU %.2f s; "
		       "the scheduler %.2f s\n",
		       ld.n_phones, (double)(ph1 - ph0) / (double)hz,
		       100.0 * (double)(ph1 - ph0) / (double)hz / window, GATEWAYS,
		       (double)(gw1 - gw0) / (double)hz, self_cpu);
		*report = json_pack(
		    "{s:f, s:i, s:{s:i, s:i, s:i}, s:f, s:o, s:o, s:o, s:o, s:o, s:o, s:f, s:I}",
		    "rate", rate, "duration", p->o.duration, "mix", "enrol", p->o.mix[0], "refresh",
		    p->o.mix[1], "access", p->o.mix[2], "window_s", window, "kinds", kinds, "floor",
		    floor_j != NULL ? floor_j : json_null(), "vouchd", vj, "sensors",
		    cpu_json(sens1 - sens0, window, p->n_sensors, sens_rss), "phones",
		    cpu_json(ph1 - ph0, window, ld.n_phones, ph_rss), "gateways",
		    cpu_json(gw1 - gw0, window, GATEWAYS, gw_rss), "scheduler_cpu_s", self_cpu,
		    "errors", (json_int_t)*errors);
		floor_j = NULL;
	}
	rc = *report != NULL ? VOUCH_OK : VOUCH_ERR_NOMEM;
	if (plant_proc_interrupted())
		rc = VOUCH_ERR_IO;
out_stop:
	workers_stop(&ld);
out_free:
	json_decref(floor_j);
	for (size_t i = 0; i < ld.n_tokens; i++) {
		vouch_wipe(ld.tokens[i], strlen(ld.tokens[i]));
		free(ld.tokens[i]);
	}
	free(ld.tokens);
	for (int k = 0; k < PLANT_LOAD_KINDS; k++)
		free(ld.k[k].lat);
	free(ld.slot);
	return rc;
}
