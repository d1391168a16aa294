/* The temporary site of the vouchd fuzz targets (see fuzz_site.h). */
#define _GNU_SOURCE /* memmem, mkdtemp, nftw, open_memstream, timegm */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fuzz_site.h"
#include "vouch/log.h"
#include "vouch/p11.h"

#define EXIT_HOOKS_MAX 4

struct fuzz_site fuzz_site;

static char tmp_dir[PATH_MAX];
static void (*exit_hooks[EXIT_HOOKS_MAX])(void);
static size_t n_exit_hooks;
static FILE *devnull;

_Noreturn void fuzz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", file, line, what);
	abort();
}

void fuzz_quiet_logs(void)
{
	if (getenv("FUZZ_LOG") != NULL || devnull != NULL)
		return;
	devnull = fopen("/dev/null", "w");
	FUZZ_CHECK(devnull != NULL);
	vouch_log_init("fuzz", VOUCH_LOG_DEBUG, devnull);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tmpdir(void)
{
	if (tmp_dir[0] != '\0')
		nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tmp_dir[0] = '\0';
}

/*
 * A child that outlives us only to remove the directory: it blocks reading a pipe whose only
 * writer is this process, so it wakes when we are gone, by exit, abort or signal. Forked before
 * any thread or token exists; it keeps no descriptor of ours but the pipe's read end.
 */
static void start_watchdog(void)
{
	int fds[2];
	pid_t pid;
	char c;

	FUZZ_CHECK(pipe(fds) == 0);
	pid = fork();
	FUZZ_CHECK(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* A ^C for the fuzzer's process group must not take the cleanup with it. */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		close(fds[1]);
		for (int fd = 0; fd < 3 && null >= 0; fd++)
			dup2(null, fd);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		_exit(0);
	}
	close(fds[0]);
	FUZZ_CHECK(fcntl(fds[1], F_SETFD, FD_CLOEXEC) == 0);
}

static void at_exit(void)
{
	while (n_exit_hooks > 0)
		exit_hooks[--n_exit_hooks]();
	X509_free(fuzz_site.admin);
	EVP_PKEY_free(fuzz_site.issuing_pub);
	vouch_ca_free(fuzz_site.ca);
	vouch_p11_close(fuzz_site.p11);
	memset(&fuzz_site, 0, sizeof(fuzz_site));
	remove_tmpdir();
	if (devnull != NULL)
		fclose(devnull);
	devnull = NULL;
}

void fuzz_at_exit(void (*fn)(void))
{
	FUZZ_CHECK(n_exit_hooks < EXIT_HOOKS_MAX);
	exit_hooks[n_exit_hooks++] = fn;
}

const char *fuzz_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	struct stat st;
	int n;

	if (tmp_dir[0] != '\0')
		return tmp_dir;
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
		base = "/dev/shm";
	else if (base == NULL || base[0] == '\0')
		base = "/tmp";
	n = snprintf(tmp_dir, sizeof(tmp_dir), "%s/vouch-fuzz-XXXXXX", base);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(tmp_dir));
	FUZZ_CHECK(mkdtemp(tmp_dir) != NULL);
	start_watchdog();
	FUZZ_CHECK(atexit(at_exit) == 0);
	return tmp_dir;
}

const char *fuzz_path(const char *rel, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", fuzz_tmpdir(), rel);

	FUZZ_CHECK(n > 0 && (size_t)n < cap);
	return buf;
}

/* An admin certificate for a software key, as vouchd init writes it for the token's. */
static void make_admin(const struct vouch_ca_config *cfg)
{
	struct vouch_ca_subject subj = {.profile = VOUCH_CA_PROFILE_ADMIN, .id = "admin"};
	struct vouch_ca_issued is;
	struct vouch_key key;
	char path[PATH_MAX];
	X509 *certs[1];
	FILE *f;

	vouch_key_init(&key);
	vouch_ca_issued_init(&is);
	FUZZ_CHECK(vouch_key_generate(&key, VOUCH_KEY_P256) == VOUCH_OK);
	FUZZ_CHECK(vouch_ca_issue_key(fuzz_site.ca, &key, &subj, &is) == VOUCH_OK);
	FUZZ_CHECK(mkdir(fuzz_path("admin", path, sizeof(path)), 0700) == 0);
	certs[0] = is.cert;
	FUZZ_CHECK(vouch_ca_write_pem(fuzz_path("admin/admin.pem", path, sizeof(path)), certs, 1) ==
	           VOUCH_OK);
	vouch_ca_issued_clear(&is);
	vouch_key_clear(&key);

	vouch_ca_free(fuzz_site.ca);
	fuzz_site.ca = NULL;
	FUZZ_CHECK(vouch_ca_open(&fuzz_site.ca, fuzz_tmpdir(), fuzz_site.p11, cfg) == VOUCH_OK);
	f = fopen(path, "r");
	FUZZ_CHECK(f != NULL);
	fuzz_site.admin = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	FUZZ_CHECK(fuzz_site.admin != NULL);
	FUZZ_CHECK(vouch_ca_is_admin_cert(fuzz_site.ca, fuzz_site.admin));
}

void fuzz_site_init(bool with_admin)
{
	static const struct vouch_ca_config cfg = {
	    .site = FUZZ_SITE_NAME,
	    .public_http_url = FUZZ_SITE_URL,
	};
	char pin[PATH_MAX], so_pin[PATH_MAX];
	const char *dir = fuzz_tmpdir();

	fuzz_quiet_logs();
	FUZZ_CHECK(vouch_p11_softhsm_init(dir) == VOUCH_OK);
	fuzz_path("token.pin", pin, sizeof(pin));
	fuzz_path("token.so-pin", so_pin, sizeof(so_pin));
	FUZZ_CHECK(vouch_p11_token_create(NULL, VOUCH_CA_TOKEN_LABEL, pin, so_pin) == VOUCH_OK);
	FUZZ_CHECK(vouch_p11_open(&fuzz_site.p11, NULL, VOUCH_CA_TOKEN_LABEL, pin) == VOUCH_OK);
	FUZZ_CHECK(vouch_ca_create(&fuzz_site.ca, dir, fuzz_site.p11, &cfg) == VOUCH_OK);
	if (with_admin)
		make_admin(&cfg);
	fuzz_site.issuing_pub = X509_get_pubkey(vouch_ca_issuing_cert(fuzz_site.ca));
	FUZZ_CHECK(fuzz_site.issuing_pub != NULL);
}

static bool lower_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[len] == '\0';
}

int fuzz_issue_csr_checked(const uint8_t *csr, size_t len, const struct vouch_ca_subject *subj)
{
	struct vouch_ca_issued is;
	const ASN1_BIT_STRING *bits;
	const unsigned char *p = csr;
	char cn[VOUCH_CA_ID_MAX + 8];
	X509_REQ *req = NULL;
	X509 *x = NULL;
	int rc = vouch_ca_issue_csr(fuzz_site.ca, csr, len, subj, &is);

	if (rc != VOUCH_OK) {
		FUZZ_CHECK(rc == VOUCH_ERR_X509_MALFORMED || rc == VOUCH_ERR_X509_TOO_LARGE ||
		           rc == VOUCH_ERR_X509_KEY_POLICY || rc == VOUCH_ERR_VERIFY);
		FUZZ_CHECK(len <= VOUCH_CA_CSR_MAX || rc == VOUCH_ERR_X509_TOO_LARGE);
		FUZZ_CHECK(len > 0 || rc == VOUCH_ERR_X509_MALFORMED);
		FUZZ_CHECK(is.cert == NULL && is.der == NULL && is.der_len == 0 &&
		           is.subject == NULL);
		ERR_clear_error();
		return rc;
	}
	FUZZ_CHECK(len > 0 && len <= VOUCH_CA_CSR_MAX);
	/* 16 octets, positive, minimal: 32 hex digits, the first octet 0x01..0x7f. */
	FUZZ_CHECK(strlen(is.serial) == 2 * VOUCH_CA_SERIAL_LEN && lower_hex(is.serial, 32));
	FUZZ_CHECK(is.serial[0] <= '7' && !(is.serial[0] == '0' && is.serial[1] == '0'));
	snprintf(cn, sizeof(cn), "CN=%s", subj->id);
	FUZZ_CHECK(is.subject != NULL && strstr(is.subject, cn) != NULL &&
	           strstr(is.subject, "O=" FUZZ_SITE_NAME) != NULL);
	FUZZ_CHECK(is.not_before < is.not_after);
	FUZZ_CHECK(is.cert != NULL && is.der != NULL && is.der_len > 0);
	FUZZ_CHECK(vouch_ca_issued_decode(&is, &x) == VOUCH_OK);
	FUZZ_CHECK(X509_verify(x, fuzz_site.issuing_pub) == 1);
	/* The key certified is the CSR's, bit for bit. */
	bits = X509_get0_pubkey_bitstr(x);
	FUZZ_CHECK(bits != NULL && bits->length > 0 &&
	           memmem(csr, len, bits->data, (size_t)bits->length) != NULL);
	/* What the CA took for a CSR with a good proof of possession, OpenSSL takes for one. */
	req = d2i_X509_REQ(NULL, &p, (long)len);
	FUZZ_CHECK(req != NULL && p == csr + len);
	FUZZ_CHECK(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) == 1);
	X509_REQ_free(req);
	X509_free(x);
	vouch_ca_issued_clear(&is);
	ERR_clear_error();
	return rc;
}

/* ---- the service ---- */

struct fuzz_service fuzz_service;

/* The certificates every fresh store holds: [0] the admin's, [1] and [2] pump-7's. */
struct fixture {
	const char *device, *profile, *via;
	uint8_t *der;
	size_t der_len;
	char serial[VOUCH_STORE_SERIAL_MAX + 1];
	char subject[VOUCH_STORE_SUBJECT_MAX + 1];
	int64_t not_before, not_after;
};
static struct fixture fixtures[3];
static char admin_fp[VOUCH_CA_FINGERPRINT_HEX];

static int64_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	FUZZ_CHECK(ASN1_TIME_to_tm(t, &tm) == 1);
	return (int64_t)timegm(&tm);
}

static void fixture_of(struct fixture *f, X509 *cert, const char *subject)
{
	FUZZ_CHECK(vouch_service_cert_serial(cert, f->serial) == VOUCH_OK);
	FUZZ_CHECK(vouch_ca_cert_der(cert, &f->der, &f->der_len) == VOUCH_OK);
	FUZZ_CHECK(strlen(subject) <= VOUCH_STORE_SUBJECT_MAX);
	snprintf(f->subject, sizeof(f->subject), "%s", subject);
	f->not_before = asn1_time(X509_get0_notBefore(cert));
	f->not_after = asn1_time(X509_get0_notAfter(cert));
}

static void make_fixtures(void)
{
	struct vouch_ca_subject subj = {.profile = VOUCH_CA_PROFILE_DEVICE, .id = "pump-7"};
	struct vouch_ca_issued is;
	struct vouch_key key;

	FUZZ_CHECK(fuzz_site.admin != NULL);
	fixtures[0].device = "admin";
	fixtures[0].profile = vouch_ca_profile_name(VOUCH_CA_PROFILE_ADMIN);
	fixtures[0].via = "init";
	fixture_of(&fixtures[0], fuzz_site.admin, "CN=admin,O=" FUZZ_SITE_NAME);
	FUZZ_CHECK(vouch_ca_fingerprint(fuzz_site.admin, admin_fp) == VOUCH_OK);
	for (size_t i = 1; i < VOUCH_ARRAY_LEN(fixtures); i++) {
		vouch_key_init(&key);
		FUZZ_CHECK(vouch_key_generate(&key, VOUCH_KEY_P256) == VOUCH_OK);
		FUZZ_CHECK(vouch_ca_issue_key(fuzz_site.ca, &key, &subj, &is) == VOUCH_OK);
		fixtures[i].device = "pump-7";
		fixtures[i].profile = vouch_ca_profile_name(VOUCH_CA_PROFILE_DEVICE);
		fixtures[i].via = "api";
		fixture_of(&fixtures[i], is.cert, is.subject);
		vouch_ca_issued_clear(&is);
		vouch_key_clear(&key);
	}
}

static void service_down(void)
{
	if (fuzz_service.up)
		vouch_service_clear(&fuzz_service.svc);
	fuzz_service.up = false;
	vouch_store_close(fuzz_service.store);
	fuzz_service.store = NULL;
}

void fuzz_service_reset(void)
{
	static const char *const files[] = {"vouch.db", "vouch.db-wal", "vouch.db-shm"};
	char path[PATH_MAX], url[PATH_MAX + 8];
	struct vouch_store_cert rec;

	service_down();
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(files); i++)
		unlink(fuzz_path(files[i], path, sizeof(path)));
	snprintf(url, sizeof(url), "sqlite:%s", fuzz_path("vouch.db", path, sizeof(path)));
	FUZZ_CHECK(vouch_store_open(url, &fuzz_service.store) == VOUCH_OK);
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(fixtures); i++) {
		const struct fixture *f = &fixtures[i];

		memset(&rec, 0, sizeof(rec));
		snprintf(rec.serial, sizeof(rec.serial), "%s", f->serial);
		snprintf(rec.device, sizeof(rec.device), "%s", f->device);
		snprintf(rec.subject, sizeof(rec.subject), "%s", f->subject);
		snprintf(rec.profile, sizeof(rec.profile), "%s", f->profile);
		snprintf(rec.via, sizeof(rec.via), "%s", f->via);
		rec.not_before = f->not_before;
		rec.not_after = f->not_after;
		rec.der = f->der;
		rec.der_len = f->der_len;
		FUZZ_CHECK(vouch_store_cert_insert(fuzz_service.store, &rec, "init") == VOUCH_OK);
	}
	FUZZ_CHECK(vouch_store_meta_set(fuzz_service.store, VOUCH_META_ADMIN_FP, admin_fp,
	                                strlen(admin_fp)) == VOUCH_OK);
	FUZZ_CHECK(vouch_service_init(&fuzz_service.svc, &fuzz_service.cfg, fuzz_site.ca,
	                              fuzz_service.store, fuzz_service.base) == VOUCH_OK);
	/* People (issue 4): the keys are made in the site's token on the first reset. */
	snprintf(path, sizeof(path), "%s/ca/root.pem", fuzz_tmpdir());
	FUZZ_CHECK(vouch_people_init(&fuzz_service.svc.people, fuzz_service.store, fuzz_site.p11,
	                             path, "Europe/Berlin", 8, 15, 24) == VOUCH_OK);
	fuzz_service.svc.p11 = fuzz_site.p11;
	fuzz_service.svc.people_ready = true;
	fuzz_service.up = true;
}

static void service_at_exit(void)
{
	service_down();
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(fixtures); i++)
		free(fixtures[i].der);
	memset(fixtures, 0, sizeof(fixtures));
	if (fuzz_service.base != NULL)
		event_base_free(fuzz_service.base);
	fuzz_service.base = NULL;
}

void fuzz_service_init(void)
{
	struct vouch_config *cfg = &fuzz_service.cfg;

	vouch_config_defaults(cfg);
	snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", fuzz_tmpdir());
	snprintf(cfg->site, sizeof(cfg->site), "%s", FUZZ_SITE_NAME);
	snprintf(cfg->public_http_url, sizeof(cfg->public_http_url), "%s", FUZZ_SITE_URL);
	fuzz_service.base = event_base_new();
	FUZZ_CHECK(fuzz_service.base != NULL);
	fuzz_at_exit(service_at_exit);
	make_fixtures();
	fuzz_service_reset();
}

const char *fuzz_fixture_serial(unsigned i)
{
	FUZZ_CHECK(i >= 1 && i < VOUCH_ARRAY_LEN(fixtures));
	return fixtures[i].serial;
}

bool fuzz_admin_revoked(void)
{
	struct vouch_store_cert_state st;

	FUZZ_CHECK(vouch_store_cert_state(fuzz_service.store, fixtures[0].serial, &st) == VOUCH_OK);
	return st.revoked;
}

static enum evhttp_cmd_type method_type(const char *name, const char **canon)
{
	static const struct {
		const char *name;
		enum evhttp_cmd_type type;
	} methods[] = {
	    {"GET", EVHTTP_REQ_GET},       {"POST", EVHTTP_REQ_POST},
	    {"HEAD", EVHTTP_REQ_HEAD},     {"PUT", EVHTTP_REQ_PUT},
	    {"DELETE", EVHTTP_REQ_DELETE}, {"OPTIONS", EVHTTP_REQ_OPTIONS},
	    {"PATCH", EVHTTP_REQ_PATCH},
	};

	for (size_t i = 0; i < VOUCH_ARRAY_LEN(methods); i++) {
		if (strcmp(name, methods[i].name) == 0) {
			*canon = methods[i].name;
			return methods[i].type;
		}
	}
	*canon = "TRACE";
	return EVHTTP_REQ_TRACE;
}

/* The status of the one request line in a captured log; aborts unless there is exactly one. */
static int logged_status(const char *log, size_t len)
{
	static const char key[] = "\"event\":\"http.request\"";
	const char *line = memmem(log, len, key, sizeof(key) - 1);
	const char *status;

	FUZZ_CHECK(line != NULL);
	FUZZ_CHECK(memmem(line + 1, len - (size_t)(line + 1 - log), key, sizeof(key) - 1) == NULL);
	status = strstr(line, "\"status\":\"");
	FUZZ_CHECK(status != NULL);
	return atoi(status + 10);
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int fuzz_request(bool tls, const char *method, const char *uri_text, const char *content_type,
                 const uint8_t *body, size_t body_len)
{
	struct evhttp_uri *uri;
	struct vouch_req r;
	const char *q;
	char *log = NULL;
	size_t log_len = 0;
	FILE *sink;
	int status = 0;

	FUZZ_CHECK(fuzz_service.up);
	if (body_len > VOUCH_HTTP_MAX_BODY)
		return 0;
	/* evhttp splits the request line at spaces and refuses control characters in it. */
	for (const char *t = uri_text; *t != '\0'; t++)
		if ((unsigned char)*t <= 0x20 || *t == 0x7f)
			return 0;
	uri = evhttp_uri_parse_with_flags(uri_text, EVHTTP_URI_NONCONFORMANT);
	if (uri == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	TAILQ_INIT(&r.query);
	clock_gettime(CLOCK_MONOTONIC, &r.start);
	r.svc = &fuzz_service.svc;
	r.tls = tls;
	r.method = method_type(method, &r.method_name);
	r.peer_verify = X509_V_OK;
	if (tls)
		r.peer = fuzz_site.admin;
	snprintf(r.remote, sizeof(r.remote), "%s", "fuzz");
	r.path = evhttp_uri_get_path(uri);
	if (r.path == NULL || r.path[0] == '\0')
		r.path = "/";
	q = evhttp_uri_get_query(uri);
	if (q != NULL && evhttp_parse_query_str(q, &r.query) != 0)
		goto out_clear; /* dispatch() answers 400 itself */
	r.body = body_len > 0 ? body : NULL;
	r.body_len = body_len;
	/* Without a connection, evhttp frees the request when it is answered. */
	r.req = evhttp_request_new(NULL, NULL);
	FUZZ_CHECK(r.req != NULL);
	if (content_type != NULL)
		evhttp_add_header(evhttp_request_get_input_headers(r.req), "Content-Type",
		                  content_type);

	sink = open_memstream(&log, &log_len);
	FUZZ_CHECK(sink != NULL);
	vouch_log_init("fuzz", VOUCH_LOG_DEBUG, sink);
	if (tls && has_prefix(r.path, "/.well-known/est/"))
		vouch_est_handle(&r);
	else if (tls && has_prefix(r.path, "/api/v1/"))
		vouch_api_handle(&r);
	else if (!tls)
		vouch_pki_http_handle(&r);
	else
		vouch_req_reply_text(&r, 404, "no such resource");
	vouch_log_init("fuzz", VOUCH_LOG_DEBUG, devnull);
	FUZZ_CHECK(fclose(sink) == 0);
	FUZZ_CHECK(r.answered);
	status = logged_status(log, log_len);
	if (devnull == NULL || status >= 500)
		fprintf(stderr, "%s %s (%zu octets of body)\n%s", method, uri_text, body_len, log);
	free(log);
out_clear:
	evhttp_clear_headers(&r.query);
	evhttp_uri_free(uri);
	return status;
}
