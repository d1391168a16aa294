/*
 * vouchd: `vouchd init` creates a site (tokens, keys, CA hierarchy, TLS and admin credentials,
 * store, config); `vouchd --data DIR` runs the PKI service in the foreground.
 */
#define _DEFAULT_SOURCE /* realpath */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/x509.h>

#include "ca.h"
#include "config.h"
#include "handlers.h"
#include "http.h"
#include "store.h"
#include "vouch/log.h"
#include "vouch/p11.h"

#ifndef VOUCH_VERSION
#define VOUCH_VERSION "0.1.0"
#endif

#define EXIT_USAGE        2
#define ADDR_FILE         "vouchd.addr"
#define MAX_HOSTNAMES     VOUCH_CA_SANS_MAX
#define SHUTDOWN_GRACE_MS 500

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vouchd init --data DIR [--site NAME] [--hostname NAME ...]\n"
	    "                   [--listen HOST:PORT] [--http-listen HOST:PORT]\n"
	    "                   [--public-http-url URL] [--pkcs11-module PATH]\n"
	    "                   [--timezone ZONE]\n"
	    "       vouchd --data DIR [--listen HOST:PORT] [--http-listen HOST:PORT]\n"
	    "                   [--config FILE] [--debug]\n"
	    "       vouchd --help | --version\n"
	    "\n"
	    "init creates a new site in DIR (refused when DIR/vouchd.conf exists): PKCS#11 tokens\n"
	    "with the CA, OCSP, TLS and admin keys, the CA hierarchy, the TLS and admin\n"
	    "certificates, the store and DIR/vouchd.conf. --hostname (repeatable) sets the TLS\n"
	    "certificate's names (default localhost, 127.0.0.1); --public-http-url is the base of "
	    "the\n"
	    "CRL / OCSP / CA URLs written into certificates (default http://<http-listen>).\n"
	    "--timezone is the site's IANA zone (default UTC): policy time windows are its local\n"
	    "time. init also creates the credential issuer, revocation-list and TOTP-sealing "
	    "keys.\n"
	    "\n"
	    "Without a command vouchd serves EST and the admin API over HTTPS (listen) and CRLs,\n"
	    "OCSP and CA certificates over HTTP (http_listen), logging JSON lines on stderr, and\n"
	    "writes the bound addresses to DIR/vouchd.addr. Flags override DIR/vouchd.conf (or\n"
	    "--config FILE). SIGTERM or SIGINT stops it cleanly.\n");
}

static bool is_softhsm(const char *module)
{
	return strstr(module, "softhsm") != NULL;
}

static void ca_config_of(const struct vouch_config *cfg, struct vouch_ca_config *cc)
{
	memset(cc, 0, sizeof(*cc));
	cc->site = cfg->site;
	cc->public_http_url = cfg->public_http_url;
	cc->device_days = (unsigned)cfg->device_days;
	cc->service_days = (unsigned)cfg->service_days;
	cc->phone_days = (unsigned)cfg->phone_days;
	cc->short_lived_hours = (unsigned)cfg->short_lived_hours;
	cc->crl_hours = (unsigned)cfg->crl_hours;
}

static int open_store(const struct vouch_config *cfg, struct vouch_store **store)
{
	char path[PATH_MAX], url[PATH_MAX + 8];

	if (vouch_config_path(cfg, "vouch.db", path, sizeof(path)) != VOUCH_OK)
		return VOUCH_ERR_BUFFER;
	snprintf(url, sizeof(url), "sqlite:%s", path);
	return vouch_store_open(url, store);
}

/* Split the comma-separated hostnames in place. */
static size_t split_hostnames(char *list, const char **out, size_t max)
{
	size_t n = 0;

	for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok != NULL && n < max;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (*tok != '\0')
			out[n++] = tok;
	}
	return n;
}

/* ======================================================================================== */
/* init                                                                                      */
/* ======================================================================================== */

/* Everything init may create, for the report after a failure. */
static const char *const init_paths[] = {
    "softhsm2.conf",      "tokens",          "token.pin",      "token.so-pin", "admin/token.pin",
    "admin/token.so-pin", "ca/root.pem",     "ca/issuing.pem", "ca/chain.pem", "ca/ocsp.pem",
    "tls/server.pem",     "admin/admin.pem", "vouch.db",       "vouchd.conf",
};

static void init_report_partial(const struct vouch_config *cfg)
{
	char path[PATH_MAX];
	bool any = false;

	fprintf(stderr, "vouchd init: created before the failure:");
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(init_paths); i++) {
		if (vouch_config_path(cfg, init_paths[i], path, sizeof(path)) == VOUCH_OK &&
		    access(path, F_OK) == 0) {
			fprintf(stderr, "\n  %s", path);
			any = true;
		}
	}
	fprintf(stderr, "%s\n", any ? "" : " nothing");
	if (any)
		fprintf(stderr,
		        "vouchd init: no vouchd.conf was written; remove %s and run init "
		        "again\n",
		        cfg->data_dir);
}

static int mkdir_private(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return VOUCH_OK;
	return VOUCH_ERR_IO;
}

/* A new file with exactly these bytes, never replacing one. */
static int write_new_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	const char *p = data;
	int rc = VOUCH_ERR_IO;

	if (fd < 0)
		return VOUCH_ERR_IO;
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out_close;
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) == 0)
		rc = VOUCH_OK;
out_close:
	if (close(fd) != 0)
		rc = VOUCH_ERR_IO;
	return rc;
}

static int write_cert_pem(const struct vouch_config *cfg, const char *rel, X509 *cert)
{
	char path[PATH_MAX];
	char *pem = NULL;
	size_t pem_len = 0;
	int rc = vouch_config_path(cfg, rel, path, sizeof(path));

	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_ca_cert_pem(cert, &pem, &pem_len);
	if (rc != VOUCH_OK)
		return rc;
	rc = write_new_file(path, pem, pem_len, 0644);
	free(pem);
	return rc;
}

/* The store's record of a certificate made at init. */
static int init_record(X509 *cert, const char *device, const char *profile,
                       struct vouch_store_cert *rec, uint8_t **der)
{
	struct tm tm;
	char *subject = NULL;
	BIO *bio = NULL;
	size_t der_len = 0;
	int rc;

	memset(rec, 0, sizeof(*rec));
	*der = NULL;
	rc = vouch_service_cert_serial(cert, rec->serial);
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_ca_cert_der(cert, der, &der_len);
	if (rc != VOUCH_OK)
		return rc;
	rc = VOUCH_ERR_CRYPTO;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL ||
	    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0 ||
	    BIO_write(bio, "", 1) != 1 || BIO_get_mem_data(bio, &subject) <= 0)
		goto out_free;
	snprintf(rec->subject, sizeof(rec->subject), "%s", subject);
	snprintf(rec->device, sizeof(rec->device), "%s", device);
	snprintf(rec->profile, sizeof(rec->profile), "%s", profile);
	snprintf(rec->via, sizeof(rec->via), "%s", "init");
	if (ASN1_TIME_to_tm(X509_get0_notBefore(cert), &tm) != 1)
		goto out_free;
	rec->not_before = (int64_t)timegm(&tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		goto out_free;
	rec->not_after = (int64_t)timegm(&tm);
	rec->der = *der;
	rec->der_len = der_len;
	rc = VOUCH_OK;
out_free:
	BIO_free(bio);
	if (rc != VOUCH_OK) {
		free(*der);
		*der = NULL;
	}
	return rc;
}

struct init_state {
	struct vouch_config cfg;
	const char *module;
	const char *step;
	struct vouch_p11 *p11;
	struct vouch_p11 *admin_p11;
	struct vouch_ca *ca;
	struct vouch_store *store;
	struct vouch_ca_issued tls;
	struct vouch_ca_issued admin;
	char fp_root[VOUCH_CA_FINGERPRINT_HEX];
	char fp_issuing[VOUCH_CA_FINGERPRINT_HEX];
	char fp_ocsp[VOUCH_CA_FINGERPRINT_HEX];
	char fp_tls[VOUCH_CA_FINGERPRINT_HEX];
	char fp_admin[VOUCH_CA_FINGERPRINT_HEX];
};

static int init_tokens(struct init_state *st)
{
	char pin[PATH_MAX], so_pin[PATH_MAX], admin_pin[PATH_MAX], admin_so_pin[PATH_MAX];
	static const uint8_t tls_id[] = {VOUCH_CA_KEY_TLS_ID};
	static const uint8_t admin_id[] = {VOUCH_CA_KEY_ADMIN_ID};
	int rc;

	if (vouch_config_path(&st->cfg, "token.pin", pin, sizeof(pin)) != VOUCH_OK ||
	    vouch_config_path(&st->cfg, "token.so-pin", so_pin, sizeof(so_pin)) != VOUCH_OK ||
	    vouch_config_path(&st->cfg, "admin/token.pin", admin_pin, sizeof(admin_pin)) !=
	        VOUCH_OK ||
	    vouch_config_path(&st->cfg, "admin/token.so-pin", admin_so_pin, sizeof(admin_so_pin)) !=
	        VOUCH_OK)
		return VOUCH_ERR_BUFFER;
	if (is_softhsm(st->module)) {
		st->step = "SoftHSM2 configuration";
		rc = vouch_p11_softhsm_init(st->cfg.data_dir);
		if (rc != VOUCH_OK)
			return rc;
	}
	st->step = "service token vouch-ca";
	rc = vouch_p11_token_create(st->module, st->cfg.token_label, pin, so_pin);
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_p11_open(&st->p11, st->module, st->cfg.token_label, pin);
	if (rc != VOUCH_OK)
		return rc;
	st->step = "admin token vouch-admin";
	rc = vouch_p11_token_create(st->module, VOUCH_CA_ADMIN_TOKEN, admin_pin, admin_so_pin);
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_p11_open(&st->admin_p11, st->module, VOUCH_CA_ADMIN_TOKEN, admin_pin);
	if (rc != VOUCH_OK)
		return rc;
	st->step = "TLS key";
	rc = vouch_p11_key_generate(st->p11, VOUCH_KEY_P256, VOUCH_CA_KEY_TLS, tls_id,
	                            sizeof(tls_id));
	if (rc != VOUCH_OK)
		return rc;
	st->step = "admin key";
	return vouch_p11_key_generate(st->admin_p11, VOUCH_KEY_P256, VOUCH_CA_KEY_ADMIN, admin_id,
	                              sizeof(admin_id));
}

/* Issue the certificate of a token key's public half. */
static int init_issue(struct init_state *st, struct vouch_p11 *p11, const char *label,
                      const struct vouch_ca_subject *subj, struct vouch_ca_issued *out)
{
	struct vouch_key pub;
	int rc;

	vouch_key_init(&pub);
	rc = vouch_p11_key_load_public(p11, label, &pub);
	if (rc == VOUCH_OK)
		rc = vouch_ca_issue_key(st->ca, &pub, subj, out);
	vouch_key_clear(&pub);
	return rc;
}

static int init_certs(struct init_state *st)
{
	struct vouch_ca_config cc;
	char hostnames[VOUCH_CONFIG_LONG];
	const char *names[MAX_HOSTNAMES];
	struct vouch_ca_subject subj = {0};
	int rc;

	ca_config_of(&st->cfg, &cc);
	st->step = "CA hierarchy";
	rc = vouch_ca_create(&st->ca, st->cfg.data_dir, st->p11, &cc);
	if (rc != VOUCH_OK)
		return rc;

	st->step = "TLS certificate";
	snprintf(hostnames, sizeof(hostnames), "%s", st->cfg.hostnames);
	subj.profile = VOUCH_CA_PROFILE_TLS_SERVER;
	subj.sans = names;
	subj.sans_count = split_hostnames(hostnames, names, MAX_HOSTNAMES);
	if (subj.sans_count == 0)
		return VOUCH_ERR_INVALID;
	subj.id = names[0];
	rc = init_issue(st, st->p11, VOUCH_CA_KEY_TLS, &subj, &st->tls);
	if (rc != VOUCH_OK)
		return rc;
	rc = write_cert_pem(&st->cfg, "tls/server.pem", st->tls.cert);
	if (rc != VOUCH_OK)
		return rc;

	st->step = "admin certificate";
	memset(&subj, 0, sizeof(subj));
	subj.profile = VOUCH_CA_PROFILE_ADMIN;
	subj.id = "admin";
	rc = init_issue(st, st->admin_p11, VOUCH_CA_KEY_ADMIN, &subj, &st->admin);
	if (rc != VOUCH_OK)
		return rc;
	rc = write_cert_pem(&st->cfg, "admin/admin.pem", st->admin.cert);
	if (rc != VOUCH_OK)
		return rc;

	st->step = "fingerprints";
	if (vouch_ca_fingerprint(vouch_ca_root_cert(st->ca), st->fp_root) != VOUCH_OK ||
	    vouch_ca_fingerprint(vouch_ca_issuing_cert(st->ca), st->fp_issuing) != VOUCH_OK ||
	    vouch_ca_fingerprint(vouch_ca_ocsp_cert(st->ca), st->fp_ocsp) != VOUCH_OK ||
	    vouch_ca_fingerprint(st->tls.cert, st->fp_tls) != VOUCH_OK ||
	    vouch_ca_fingerprint(st->admin.cert, st->fp_admin) != VOUCH_OK)
		return VOUCH_ERR_CRYPTO;
	return VOUCH_OK;
}

/* The store: the site.init event, the three end-entity certificates init issued (so OCSP knows
 * them and the admin can revoke them) and the admin fingerprint the API checks. */
static int init_store(struct init_state *st)
{
	struct {
		X509 *cert;
		const char *device, *profile;
	} certs[3];
	struct vouch_store_cert rec;
	char hostnames[VOUCH_CONFIG_LONG];
	const char *names[MAX_HOSTNAMES];
	json_t *fields, *names_json;
	size_t n;
	char *text;
	uint8_t *der = NULL;
	int rc;

	st->step = "store";
	rc = open_store(&st->cfg, &st->store);
	if (rc != VOUCH_OK)
		return rc;
	snprintf(hostnames, sizeof(hostnames), "%s", st->cfg.hostnames);
	n = split_hostnames(hostnames, names, MAX_HOSTNAMES);
	names_json = json_array();
	for (size_t i = 0; names_json != NULL && i < n; i++)
		json_array_append_new(names_json, json_string(names[i]));
	fields = json_pack("{s:s, s:s, s:s, s:o, s:s}", "site", st->cfg.site, "root", st->fp_root,
	                   "issuing", st->fp_issuing, "hostnames", names_json, "public_http_url",
	                   st->cfg.public_http_url);
	text = fields != NULL ? json_dumps(fields, JSON_COMPACT) : NULL;
	json_decref(fields);
	if (text == NULL)
		return VOUCH_ERR_NOMEM;
	rc = vouch_store_event_append(st->store, "site.init", "init", text, NULL);
	free(text);
	if (rc != VOUCH_OK)
		return rc;

	certs[0].cert = vouch_ca_ocsp_cert(st->ca);
	certs[0].device = "ocsp";
	certs[0].profile = "ocsp";
	certs[1].cert = st->tls.cert;
	certs[1].device = "vouchd";
	certs[1].profile = vouch_ca_profile_name(VOUCH_CA_PROFILE_TLS_SERVER);
	certs[2].cert = st->admin.cert;
	certs[2].device = "admin";
	certs[2].profile = vouch_ca_profile_name(VOUCH_CA_PROFILE_ADMIN);
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(certs); i++) {
		rc = init_record(certs[i].cert, certs[i].device, certs[i].profile, &rec, &der);
		if (rc == VOUCH_OK)
			rc = vouch_store_cert_insert(st->store, &rec, "init");
		free(der);
		der = NULL;
		if (rc != VOUCH_OK)
			return rc;
	}
	return vouch_store_meta_set(st->store, VOUCH_META_ADMIN_FP, st->fp_admin,
	                            strlen(st->fp_admin));
}

static void init_summary(const struct init_state *st)
{
	const char *d = st->cfg.data_dir;

	printf("vouchd: site \"%s\" created in %s\n", st->cfg.site, d);
	printf("  config      %s/vouchd.conf\n", d);
	printf("  store       %s/vouch.db\n", d);
	printf("  tokens      %s, %s (PKCS#11 module %s)\n", st->cfg.token_label,
	       VOUCH_CA_ADMIN_TOKEN, st->module);
	printf("  root CA     %s/ca/root.pem     SHA-256 %s\n", d, st->fp_root);
	printf("  issuing CA  %s/ca/issuing.pem  SHA-256 %s\n", d, st->fp_issuing);
	printf("  OCSP        %s/ca/ocsp.pem     SHA-256 %s\n", d, st->fp_ocsp);
	printf("  TLS         %s/tls/server.pem  SHA-256 %s (%s)\n", d, st->fp_tls,
	       st->cfg.hostnames);
	printf("  admin       %s/admin/admin.pem SHA-256 %s\n", d, st->fp_admin);
	printf("  PIN files   %s/token.pin, %s/token.so-pin, %s/admin/token.pin (0600)\n", d, d, d);
	printf("start it with: vouchd --data %s\n", d);
}

/* The http_listen address as a URL base ("0.0.0.0" is reached on loopback). */
static void default_public_url(struct vouch_config *cfg)
{
	char host[VOUCH_CONFIG_SHORT];
	uint16_t port = 0;

	if (vouch_config_split_hostport(cfg->http_listen, host, sizeof(host), &port) != VOUCH_OK)
		return;
	if (strcmp(host, "0.0.0.0") == 0)
		snprintf(host, sizeof(host), "%s", "127.0.0.1");
	if (strchr(host, ':') != NULL)
		snprintf(cfg->public_http_url, sizeof(cfg->public_http_url), "http://[%s]:%u",
		         strcmp(host, "::") == 0 ? "::1" : host, (unsigned)port);
	else
		snprintf(cfg->public_http_url, sizeof(cfg->public_http_url), "http://%s:%u", host,
		         (unsigned)port);
}

static int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"data", required_argument, NULL, 'd'},
	    {"site", required_argument, NULL, 's'},
	    {"hostname", required_argument, NULL, 'H'},
	    {"listen", required_argument, NULL, 'l'},
	    {"http-listen", required_argument, NULL, 'L'},
	    {"public-http-url", required_argument, NULL, 'u'},
	    {"pkcs11-module", required_argument, NULL, 'm'},
	    {"timezone", required_argument, NULL, 'z'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct init_state st;
	char hostnames[VOUCH_CONFIG_LONG] = "";
	char conf[PATH_MAX], abs_dir[PATH_MAX];
	const char *data = NULL, *public_url = NULL;
	bool failed = true;
	int c, rc = VOUCH_ERR_INVALID;

	memset(&st, 0, sizeof(st));
	vouch_ca_issued_init(&st.tls);
	vouch_ca_issued_init(&st.admin);
	vouch_config_defaults(&st.cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *key = NULL;

		switch (c) {
		case 'd':
			data = optarg;
			continue;
		case 'H':
			if (strlen(hostnames) + strlen(optarg) + 2 > sizeof(hostnames) ||
			    strchr(optarg, ',') != NULL || optarg[0] == '\0') {
				fprintf(stderr, "vouchd init: bad --hostname %s\n", optarg);
				return EXIT_USAGE;
			}
			if (hostnames[0] != '\0')
				strcat(hostnames, ",");
			strcat(hostnames, optarg);
			continue;
		case 'u':
			public_url = optarg;
			key = "public_http_url";
			break;
		case 's':
			key = "site";
			break;
		case 'l':
			key = "listen";
			break;
		case 'L':
			key = "http_listen";
			break;
		case 'm':
			key = "pkcs11_module";
			break;
		case 'z':
			key = "timezone";
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
		if (vouch_config_set(&st.cfg, key, optarg) != VOUCH_OK) {
			fprintf(stderr, "vouchd init: bad value for %s: %s\n", key, optarg);
			return EXIT_USAGE;
		}
	}
	if (data == NULL || optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (hostnames[0] != '\0' && vouch_config_set(&st.cfg, "hostnames", hostnames) != VOUCH_OK) {
		fprintf(stderr, "vouchd init: bad --hostname list\n");
		return EXIT_USAGE;
	}
	if (public_url == NULL)
		default_public_url(&st.cfg);
	st.module = st.cfg.pkcs11_module;
	vouch_log_init("vouchd", VOUCH_LOG_WARN, NULL);

	/* Never overwrite a site: the config file is the marker, and it is written last. */
	if (mkdir(data, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "vouchd init: cannot create %s: %s\n", data, strerror(errno));
		return 1;
	}
	if (realpath(data, abs_dir) == NULL) {
		fprintf(stderr, "vouchd init: %s: %s\n", data, strerror(errno));
		return 1;
	}
	snprintf(st.cfg.data_dir, sizeof(st.cfg.data_dir), "%s", abs_dir);
	if (vouch_config_path(&st.cfg, VOUCH_CONFIG_FILE, conf, sizeof(conf)) != VOUCH_OK)
		return 1;
	if (access(conf, F_OK) == 0) {
		fprintf(stderr, "vouchd init: %s exists: refusing to overwrite a site\n", conf);
		return 1;
	}
	for (size_t i = 0; i < 3; i++) {
		static const char *const dirs[] = {"ca", "tls", "admin"};
		char path[PATH_MAX];

		if (vouch_config_path(&st.cfg, dirs[i], path, sizeof(path)) != VOUCH_OK ||
		    mkdir_private(path) != VOUCH_OK) {
			fprintf(stderr, "vouchd init: cannot create %s/%s\n", abs_dir, dirs[i]);
			return 1;
		}
	}

	rc = init_tokens(&st);
	if (rc == VOUCH_OK)
		rc = init_certs(&st);
	if (rc == VOUCH_OK)
		rc = init_store(&st);
	if (rc == VOUCH_OK) {
		st.step = "people keys";
		rc = vouch_people_keys_ensure(st.store, st.p11);
	}
	if (rc == VOUCH_OK) {
		st.step = "vouchd.conf";
		rc = vouch_config_write(&st.cfg, conf);
	}
	if (rc == VOUCH_OK) {
		failed = false;
		init_summary(&st);
	} else {
		fprintf(stderr, "vouchd init: %s failed: %s\n", st.step ? st.step : "setup",
		        vouch_strerror(rc));
	}

	vouch_store_close(st.store);
	vouch_ca_issued_clear(&st.tls);
	vouch_ca_issued_clear(&st.admin);
	vouch_ca_free(st.ca);
	vouch_p11_close(st.admin_p11);
	vouch_p11_close(st.p11);
	if (failed) {
		init_report_partial(&st.cfg);
		return 1;
	}
	return 0;
}

/* ======================================================================================== */
/* run                                                                                       */
/* ======================================================================================== */

struct run_state {
	struct vouch_config cfg;
	struct event_base *base;
	struct vouch_http http;
	char addr_path[PATH_MAX];
	bool stopping;
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct run_state *rs = arg;
	struct timeval grace = {0, SHUTDOWN_GRACE_MS * 1000};

	(void)what;
	if (rs->stopping)
		return;
	rs->stopping = true;
	vouch_log(VOUCH_LOG_INFO, "vouchd.stop", "signal", sig == SIGTERM ? "TERM" : "INT", NULL);
	/* No new connections; what is in flight gets a moment to be written out. */
	vouch_http_stop_accepting(&rs->http);
	event_base_loopexit(rs->base, &grace);
}

/* DIR/vouchd.addr, replaced atomically so a reader never sees half of it. */
static int write_addr_file(struct run_state *rs)
{
	char tmp[PATH_MAX + 8], text[2 * VOUCH_HTTP_URL_MAX + 4];
	int n = snprintf(text, sizeof(text), "%s\n%s\n", rs->http.https_url, rs->http.http_url);

	if (vouch_config_path(&rs->cfg, ADDR_FILE, rs->addr_path, sizeof(rs->addr_path)) !=
	        VOUCH_OK ||
	    n < 0 || (size_t)n >= sizeof(text))
		return VOUCH_ERR_BUFFER;
	snprintf(tmp, sizeof(tmp), "%s.tmp", rs->addr_path);
	unlink(tmp);
	if (write_new_file(tmp, text, (size_t)n, 0644) != VOUCH_OK)
		return VOUCH_ERR_IO;
	if (rename(tmp, rs->addr_path) != 0) {
		unlink(tmp);
		return VOUCH_ERR_IO;
	}
	return VOUCH_OK;
}

/* Keys and PINs live in this process's memory: no core files, no ptrace by other users. */
static void harden_process(void)
{
	struct rlimit rl = {0, 0};

	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		vouch_log(VOUCH_LOG_WARN, "vouchd.harden", "why", "setrlimit(RLIMIT_CORE) failed",
		          NULL);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		vouch_log(VOUCH_LOG_WARN, "vouchd.harden", "why", "prctl(PR_SET_DUMPABLE) failed",
		          NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Every client holds a descriptor until its timeout: allow as many as the system lets us.
	 */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int load_config(struct run_state *rs, const char *data, const char *config,
                       const char *listen, const char *http_listen)
{
	char conf[PATH_MAX];
	unsigned bad = 0;
	int rc;

	if (realpath(data, rs->cfg.data_dir) == NULL) {
		fprintf(stderr, "vouchd: %s: %s\n", data, strerror(errno));
		return VOUCH_ERR_IO;
	}
	if (config == NULL) {
		if (vouch_config_path(&rs->cfg, VOUCH_CONFIG_FILE, conf, sizeof(conf)) != VOUCH_OK)
			return VOUCH_ERR_BUFFER;
		config = conf;
	}
	rc = vouch_config_load(&rs->cfg, config, &bad);
	if (rc == VOUCH_ERR_IO) {
		fprintf(stderr, "vouchd: cannot read %s: %s (run vouchd init first?)\n", config,
		        strerror(errno));
		return rc;
	}
	if (rc != VOUCH_OK) {
		fprintf(stderr, "vouchd: %s:%u: unknown key or bad value\n", config, bad);
		return rc;
	}
	if (listen != NULL && vouch_config_set(&rs->cfg, "listen", listen) != VOUCH_OK) {
		fprintf(stderr, "vouchd: bad --listen %s (HOST:PORT)\n", listen);
		return VOUCH_ERR_INVALID;
	}
	if (http_listen != NULL &&
	    vouch_config_set(&rs->cfg, "http_listen", http_listen) != VOUCH_OK) {
		fprintf(stderr, "vouchd: bad --http-listen %s (HOST:PORT)\n", http_listen);
		return VOUCH_ERR_INVALID;
	}
	return VOUCH_OK;
}

static int serve(struct run_state *rs)
{
	struct vouch_p11 *p11 = NULL;
	struct vouch_ca *ca = NULL;
	struct vouch_store *store = NULL;
	struct vouch_service svc;
	struct vouch_ca_config cc;
	struct vouch_key tls_key;
	struct event *sigterm = NULL, *sigint = NULL;
	char pin[PATH_MAX], tls_cert[PATH_MAX];
	SSL_CTX *tls = NULL;
	const char *step = "token";
	int rc;

	memset(&svc, 0, sizeof(svc));
	vouch_key_init(&tls_key);
	if (vouch_config_path(&rs->cfg, "token.pin", pin, sizeof(pin)) != VOUCH_OK ||
	    vouch_config_path(&rs->cfg, "tls/server.pem", tls_cert, sizeof(tls_cert)) != VOUCH_OK)
		return VOUCH_ERR_BUFFER;
	if (is_softhsm(rs->cfg.pkcs11_module)) {
		rc = vouch_p11_softhsm_use(rs->cfg.data_dir);
		if (rc != VOUCH_OK)
			goto out_log;
	}
	rc = vouch_p11_open(&p11, rs->cfg.pkcs11_module, rs->cfg.token_label, pin);
	if (rc != VOUCH_OK)
		goto out_log;
	step = "CA";
	ca_config_of(&rs->cfg, &cc);
	rc = vouch_ca_open(&ca, rs->cfg.data_dir, p11, &cc);
	if (rc != VOUCH_OK)
		goto out_close_p11;
	step = "store";
	rc = open_store(&rs->cfg, &store);
	if (rc != VOUCH_OK)
		goto out_free_ca;
	step = "TLS key";
	rc = vouch_p11_key_load(p11, VOUCH_CA_KEY_TLS, &tls_key);
	if (rc != VOUCH_OK)
		goto out_close_store;
	step = "TLS";
	rc = vouch_http_tls_new(&tls, tls_cert, vouch_p11_key_evp(&tls_key),
	                        vouch_ca_issuing_cert(ca), vouch_ca_root_cert(ca));
	if (rc != VOUCH_OK)
		goto out_clear_key;
	step = "event loop";
	rc = VOUCH_ERR_NOMEM;
	rs->base = event_base_new();
	if (rs->base == NULL)
		goto out_free_tls;
	/* Bind first: a second instance on the same ports fails before it touches the store.
	 * Nothing is served before the loop runs, by which time svc is ready. */
	step = "listen";
	rc = vouch_http_start(&rs->http, rs->base, tls, rs->cfg.listen, rs->cfg.http_listen, &svc);
	if (rc != VOUCH_OK)
		goto out_free_base;
	step = "service";
	rc = vouch_service_init(&svc, &rs->cfg, ca, store, rs->base);
	if (rc != VOUCH_OK)
		goto out_free_http;
	step = "people";
	{
		char root_pem[PATH_MAX];

		rc = vouch_config_path(&rs->cfg, "ca/root.pem", root_pem, sizeof(root_pem));
		if (rc == VOUCH_OK)
			rc = vouch_people_init(&svc.people, store, p11, root_pem, rs->cfg.timezone,
			                       rs->cfg.credential_hours, rs->cfg.session_minutes,
			                       rs->cfg.revlist_max_age_hours);
		if (rc != VOUCH_OK)
			goto out_free_http;
		svc.p11 = p11;
		svc.people_ready = true;
	}
	rc = VOUCH_ERR_NOMEM;
	sigterm = evsignal_new(rs->base, SIGTERM, on_signal, rs);
	sigint = evsignal_new(rs->base, SIGINT, on_signal, rs);
	if (sigterm == NULL || sigint == NULL || event_add(sigterm, NULL) != 0 ||
	    event_add(sigint, NULL) != 0)
		goto out_free_http;
	step = "vouchd.addr";
	rc = write_addr_file(rs);
	if (rc != VOUCH_OK)
		goto out_free_http;

	vouch_log(VOUCH_LOG_INFO, "vouchd.start", "https", rs->http.https_url, "http",
	          rs->http.http_url, "data", rs->cfg.data_dir, "store", vouch_store_backend(store),
	          "version", VOUCH_VERSION, NULL);
	rc = event_base_dispatch(rs->base) == 0 ? VOUCH_OK : VOUCH_ERR_INTERNAL;
	unlink(rs->addr_path);
	vouch_log(VOUCH_LOG_INFO, "vouchd.exit", "status", rc == VOUCH_OK ? "clean" : "error",
	          NULL);

out_free_http:
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	vouch_http_free(&rs->http);
	vouch_service_clear(&svc);
out_free_base:
	event_base_free(rs->base);
	rs->base = NULL;
out_free_tls:
	SSL_CTX_free(tls);
out_clear_key:
	vouch_key_clear(&tls_key);
out_close_store:
	vouch_store_close(store);
out_free_ca:
	vouch_ca_free(ca);
out_close_p11:
	vouch_p11_close(p11);
out_log:
	if (rc != VOUCH_OK)
		vouch_log(VOUCH_LOG_ERROR, "vouchd.fail", "step", step, "why", vouch_strerror(rc),
		          NULL);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"data", required_argument, NULL, 'd'},
	    {"listen", required_argument, NULL, 'l'},
	    {"http-listen", required_argument, NULL, 'L'},
	    {"config", required_argument, NULL, 'c'},
	    {"debug", no_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct run_state rs;
	const char *data = NULL, *config = NULL, *listen = NULL, *http_listen = NULL;
	enum vouch_log_level level = VOUCH_LOG_INFO;
	int c;

	memset(&rs, 0, sizeof(rs));
	vouch_config_defaults(&rs.cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			data = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'L':
			http_listen = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'D':
			level = VOUCH_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vouchd %s\n", VOUCH_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (data == NULL || optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	vouch_log_init("vouchd", level, NULL);
	harden_process();
	if (load_config(&rs, data, config, listen, http_listen) != VOUCH_OK)
		return 1;
	return serve(&rs) == VOUCH_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	return cmd_run(argc, argv);
}
