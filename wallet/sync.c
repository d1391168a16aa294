/*
 * The wallet's side of docs/people.md: log in (password + TOTP), register the phone key, fetch
 * credentials (with the session at login, over mutual TLS with the phone certificate after) and
 * keep the newest revocation list. Every reply is checked against the keys pinned at login before
 * anything is stored, and nothing held is thrown away because the server could not be reached.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "vouch/common.h"
#include "vouch/log.h"
#include "wallet.h"

#define PASSWORD_MAX     1024
#define CA_MAX           (1u << 20)
#define CONNECT_TIMEOUT  10L
#define CALL_TIMEOUT     30L
#define DEFAULT_INTERVAL 30L
#define BACKOFF_FIRST    2
#define BACKOFF_MAX      300

/* ---- the connection ---- */

static int http_open(struct wallet *w, bool mtls, struct vouch_https **out)
{
	char ca[PATH_MAX], cert[PATH_MAX];
	struct vouch_https_config cfg = {
	    .base_url = w->server,
	    .ca_file = ca,
	    .user_agent = W_PROG "/" VOUCH_VERSION,
	    .connect_timeout = CONNECT_TIMEOUT,
	    .timeout = CALL_TIMEOUT,
	};
	int err;

	if (w_path(ca, sizeof(ca), w, W_F_CA) != VOUCH_OK ||
	    w_path(cert, sizeof(cert), w, W_F_PHONE) != VOUCH_OK)
		return WALLET_ERROR;
	if (mtls) {
		cfg.cert_file = cert;
		cfg.key = &w->phone_key;
	}
	err = vouch_https_new(&cfg, out);
	if (err != VOUCH_OK) {
		w_err("cannot set up the HTTPS client for %s: %s", w->server, vouch_strerror(err));
		return WALLET_ERROR;
	}
	return WALLET_OK;
}

/* A request that got no reply: offline, or a TLS failure (which being offline is not). */
static int transport_failed(const struct wallet *w, struct vouch_https *h, const char *what,
                            int err)
{
	const char *detail = vouch_https_last_error(h);

	if (detail[0] == '\0')
		detail = vouch_strerror(err);
	if (err == VOUCH_ERR_IO) {
		w_err("offline: %s: cannot reach %s: %s", what, w->server, detail);
		return WALLET_OFFLINE;
	}
	if (err == VOUCH_ERR_VERIFY) {
		w_err("%s: TLS with %s failed: %s", what, w->server, detail);
		return WALLET_ERROR;
	}
	w_err("%s: %s: %s", what, w->server, detail);
	return WALLET_ERROR;
}

/* Server text to the terminal: printable ASCII only, at most max bytes. */
static void put_printable(const char *s, size_t max)
{
	for (size_t i = 0; s[i] != '\0' && i < max; i++)
		fputc(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : ' ', stderr);
}

static void print_refusal(const char *what, const struct vouch_https_reply *r, const json_t *j)
{
	const char *code = json_string_value(json_object_get(j, "error"));
	const char *msg = json_string_value(json_object_get(j, "message"));

	fprintf(stderr, W_PROG ": %s: refused by the server (HTTP %ld)", what, r->status);
	if (code != NULL) {
		fputs(": ", stderr);
		put_printable(code, 64);
	}
	if (msg != NULL) {
		fputs(": ", stderr);
		put_printable(msg, 400);
	}
	fputc('\n', stderr);
}

/* One JSON call; WALLET_OK with *reply when the status is want. A refusal (4xx) is WALLET_REFUSED.
 */
int w_call_json(struct wallet *w, struct vouch_https *h, const char *what, const char *method,
                const char *path, const json_t *body, long want, json_t **reply)
{
	struct vouch_https_reply raw;
	json_t *j = NULL;
	int err, rc = WALLET_ERROR;

	*reply = NULL;
	err = vouch_https_json(h, method, path, body, &raw, &j);
	if (err != VOUCH_OK)
		return transport_failed(w, h, what, err);
	if (raw.status != want) {
		print_refusal(what, &raw, j);
		rc = raw.status >= 400 && raw.status < 500 ? WALLET_REFUSED : WALLET_ERROR;
		goto out_free;
	}
	if (!json_is_object(j)) {
		w_err("%s: the server's reply is not a JSON object", what);
		goto out_free;
	}
	*reply = j;
	j = NULL;
	rc = WALLET_OK;
out_free:
	/* It may hold a session token. */
	vouch_https_reply_clear(&raw);
	json_decref(j);
	return rc;
}

/* ---- the site keys ---- */

static int fetch_keys(struct wallet *w, struct vouch_https *h)
{
	json_t *keys;
	int rc = w_call_json(w, h, "GET /keys", "GET", "/keys", NULL, 200, &keys);

	if (rc != WALLET_OK)
		return rc == WALLET_REFUSED ? WALLET_ERROR : rc;
	rc = w_keys_pin(w, keys) == VOUCH_OK ? WALLET_OK : WALLET_ERROR;
	json_decref(keys);
	return rc;
}

/* ---- revocation lists ---- */

static int get_list(struct wallet *w, struct vouch_https *h, const char *path, uint8_t **buf,
                    size_t *len)
{
	struct vouch_https_reply r;
	char what[96];
	int err;

	*buf = NULL;
	*len = 0;
	snprintf(what, sizeof(what), "GET %s", path);
	err = vouch_https_request(h, "GET", path, NULL, NULL, 0, "application/cbor", &r);
	if (err != VOUCH_OK)
		return transport_failed(w, h, what, err);
	if (r.status != 200 || r.len == 0 || r.len > W_LIST_MAX) {
		w_err("%s: HTTP %ld with %zu bytes: not a revocation list", what, r.status, r.len);
		vouch_https_reply_clear(&r);
		return WALLET_ERROR;
	}
	/* The reply's buffer becomes ours (it is not a secret). */
	*buf = (uint8_t *)r.body;
	*len = r.len;
	return WALLET_OK;
}

/* Offer a full list; a stale one (older than held) is an error of the server's, and ignored. */
static int offer_list(struct wallet *w, const uint8_t *buf, size_t len, bool *changed)
{
	bool taken = false;
	int err = w_list_offer(w, buf, len, &taken);

	if (taken) {
		struct held_list held;

		*changed = true;
		if (w_list_load(w, &held) == VOUCH_OK && held.buf != NULL) {
			char v[24];

			snprintf(v, sizeof(v), "%" PRIu64, held.rl.version);
			vouch_log(VOUCH_LOG_INFO, "wallet.revlist", "version", v, NULL);
		}
		w_list_clear(&held);
	}
	return err == VOUCH_OK ? WALLET_OK : WALLET_ERROR;
}

/*
 * Bring the held list up to date. A delta since the held version says cheaply whether anything
 * changed; the wallet then fetches the full list, since a full list is what it carries to
 * sensors. An unchanged list is fetched in full anyway once half its max_age has passed, to renew
 * its issue time.
 */
static int update_list(struct wallet *w, struct vouch_https *h, bool *changed)
{
	struct held_list held;
	struct vouch_revlist rl;
	char path[64];
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t v;
	int64_t now = (int64_t)time(NULL);
	bool need_full;
	int err, rc;

	*changed = false;
	if (w_list_load(w, &held) != VOUCH_OK)
		held.buf = NULL; /* a damaged list is replaced */
	v = held.buf != NULL ? held.rl.version : 0;
	if (v > 0)
		snprintf(path, sizeof(path), "/revocations?since=%" PRIu64, v);
	else
		snprintf(path, sizeof(path), "/revocations");
	rc = get_list(w, h, path, &buf, &len);
	if (rc != WALLET_OK)
		goto out_free;
	rc = WALLET_ERROR;
	err = vouch_revlist_verify(buf, len, &w->revlist_key, w->iss, w->site, &rl);
	if (err != VOUCH_OK) {
		w_err("GET %s: the list does not verify: %s", path, vouch_strerror(err));
		goto out_free;
	}
	if (rl.since == 0) {
		rc = offer_list(w, buf, len, changed);
		goto out_free;
	}
	if (rl.version < v) {
		w_err("GET %s: refusing a delta to version %" PRIu64 ": version %" PRIu64
		      " is held",
		      path, rl.version, v);
		goto out_free;
	}
	need_full = rl.version > v || rl.since > v ||
	            now - held.rl.issued_at > (int64_t)held.rl.max_age / 2;
	rc = WALLET_OK;
	if (need_full) {
		free(buf);
		buf = NULL;
		rc = get_list(w, h, "/revocations", &buf, &len);
		if (rc == WALLET_OK)
			rc = offer_list(w, buf, len, changed);
	}
out_free:
	free(buf);
	w_list_clear(&held);
	return rc;
}

/* ---- credentials ---- */

/* Check and store a credential reply: the list first, so the credential meets the newest one. */
static int take_credential(struct wallet *w, const json_t *reply)
{
	const char *cred_b64 = json_string_value(json_object_get(reply, "credential"));
	const char *list_b64 = json_string_value(json_object_get(reply, "revocations"));
	struct held_list list;
	struct vouch_cred cred;
	uint8_t *cred_buf = NULL, *list_buf = NULL;
	size_t cred_len = 0, list_len = 0;
	bool genuine = false, changed = false;
	char exp[32], cti[2 * VOUCH_CRED_CTI_LEN + 1];
	int err, rc = WALLET_ERROR;

	if (w_b64_decode(cred_b64, VOUCH_CRED_MAX, &cred_buf, &cred_len) != VOUCH_OK) {
		w_err("the server's credential reply holds no base64 credential");
		return WALLET_ERROR;
	}
	if (list_b64 != NULL) {
		if (w_b64_decode(list_b64, W_LIST_MAX, &list_buf, &list_len) != VOUCH_OK) {
			w_err("the server's credential reply holds a malformed revocation list");
			goto out_free;
		}
		if (offer_list(w, list_buf, list_len, &changed) != WALLET_OK)
			goto out_free;
	}
	err = w_cred_verify(w, cred_buf, cred_len, (int64_t)time(NULL), &cred, &genuine);
	if (err != VOUCH_OK) {
		w_err("the server's credential does not verify as this wallet's: %s",
		      vouch_strerror(err));
		goto out_free;
	}
	if (w_list_load(w, &list) != VOUCH_OK) {
		w_err("no usable revocation list is held");
		goto out_free;
	}
	err = list.buf != NULL ? vouch_revlist_check(&list.rl, &cred) : VOUCH_OK;
	w_list_clear(&list);
	if (err == VOUCH_ERR_REVOKED) {
		w_err("the new credential is revoked by the newest revocation list");
		rc = WALLET_REFUSED;
		goto out_free;
	}
	if (w_write(w, W_F_CRED, cred_buf, cred_len) != VOUCH_OK)
		goto out_free;
	w_iso_time(cred.claims.exp, exp);
	w_hex(cred.claims.cti, cred.claims.cti_len, cti);
	vouch_log(VOUCH_LOG_INFO, "wallet.credential", "cti", cti, "exp", exp, NULL);
	rc = WALLET_OK;
out_free:
	free(cred_buf);
	free(list_buf);
	return rc;
}

/* POST /api/v1/credentials: with the login session (phone named) or over mutual TLS. */
static int fetch_credential(struct wallet *w, struct vouch_https *h, bool session)
{
	json_t *body = session ? json_pack("{s:s}", "phone", w->phone) : NULL;
	json_t *reply = NULL;
	int rc;

	if (session && body == NULL)
		return WALLET_ERROR;
	rc = w_call_json(w, h, "POST /api/v1/credentials", "POST", "/api/v1/credentials", body, 200,
	                 &reply);
	json_decref(body);
	if (rc == WALLET_OK)
		rc = take_credential(w, reply);
	json_decref(reply);
	return rc;
}

/* ---- login ---- */

static int start_session(struct wallet *w, struct vouch_https *h, const char *password,
                         const char *totp)
{
	json_t *body =
	    json_pack("{s:s, s:s, s:s}", "user", w->user, "password", password, "totp", totp);
	json_t *reply = NULL;
	const char *session;
	int rc;

	if (body == NULL)
		return WALLET_ERROR;
	rc = w_call_json(w, h, "login", "POST", "/api/v1/auth/login", body, 200, &reply);
	/* The body holds the password: jansson wipes it as it frees it. */
	json_decref(body);
	if (rc == WALLET_REFUSED)
		w_err("login refused: wrong user, password or code, or locked after failures");
	if (rc != WALLET_OK)
		return rc;
	session = json_string_value(json_object_get(reply, "session"));
	rc = session != NULL && vouch_https_set_bearer(h, session) == VOUCH_OK ? WALLET_OK
	                                                                       : WALLET_ERROR;
	if (rc != WALLET_OK)
		w_err("login: the server's reply holds no usable session");
	json_decref(reply);
	return rc;
}

static void end_session(struct wallet *w, struct vouch_https *h)
{
	struct vouch_https_reply r;
	json_t *j = NULL;

	(void)w;
	if (vouch_https_json(h, "POST", "/api/v1/auth/logout", NULL, &r, &j) == VOUCH_OK)
		vouch_https_reply_clear(&r);
	json_decref(j);
	vouch_https_set_bearer(h, NULL);
}

/* Every certificate of a PEM text, in order. */
static STACK_OF(X509) * pem_certs(const char *pem)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *bio =
	    pem != NULL && strlen(pem) < INT_MAX ? BIO_new_mem_buf(pem, (int)strlen(pem)) : NULL;
	X509 *x;

	if (sk == NULL || bio == NULL) {
		BIO_free(bio);
		sk_X509_free(sk);
		return NULL;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			break;
		}
	}
	ERR_clear_error();
	BIO_free(bio);
	return sk;
}

/* The phone certificate: for our key, and chaining to the site's CA. */
static int check_phone_cert(struct wallet *w, X509 *cert, STACK_OF(X509) * chain)
{
	char ca[PATH_MAX];
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc = WALLET_ERROR;

	if (store == NULL || ctx == NULL || w_path(ca, sizeof(ca), w, W_F_CA) != VOUCH_OK)
		goto out_free;
	if (EVP_PKEY_eq(X509_get0_pubkey(cert), vouch_p11_key_evp(&w->phone_pub)) != 1) {
		w_err("the phone certificate is not for this phone's key");
		goto out_free;
	}
	if (X509_STORE_load_file(store, ca) != 1 ||
	    X509_STORE_CTX_init(ctx, store, cert, chain) != 1)
		goto out_free;
	if (X509_verify_cert(ctx) != 1) {
		w_err("the phone certificate does not chain to %s: %s", ca,
		      X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out_free;
	}
	rc = WALLET_OK;
out_free:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

/* phone.pem: the certificate, then its chain. */
static int write_phone_pem(struct wallet *w, X509 *cert, STACK_OF(X509) * chain)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ok, rc = WALLET_ERROR;

	if (mem == NULL)
		return WALLET_ERROR;
	ok = PEM_write_bio_X509(mem, cert);
	for (int i = 0; ok == 1 && i < sk_X509_num(chain); i++)
		ok = PEM_write_bio_X509(mem, sk_X509_value(chain, i));
	len = BIO_get_mem_data(mem, &data);
	if (ok == 1 && len > 0 && w_write(w, W_F_PHONE, data, (size_t)len) == VOUCH_OK)
		rc = WALLET_OK;
	BIO_free(mem);
	return rc;
}

/* POST /api/v1/phones with a CSR signed in the token; keep the certificate and the phone id. */
static int register_phone(struct wallet *w, struct vouch_https *h)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	char *b64 = NULL;
	json_t *body = NULL, *reply = NULL;
	STACK_OF(X509) *certs = NULL, *chain = NULL;
	const char *phone;
	int rc = WALLET_ERROR;

	if (w_token_csr(w, &der, &der_len) != VOUCH_OK)
		return WALLET_ERROR;
	b64 = w_b64_encode(der, der_len);
	body = b64 != NULL ? json_pack("{s:s}", "csr", b64) : NULL;
	if (body == NULL)
		goto out_free;
	rc = w_call_json(w, h, "POST /api/v1/phones", "POST", "/api/v1/phones", body, 201, &reply);
	if (rc != WALLET_OK)
		goto out_free;
	rc = WALLET_ERROR;
	phone = json_string_value(json_object_get(reply, "phone"));
	certs = pem_certs(json_string_value(json_object_get(reply, "certificate")));
	chain = pem_certs(json_string_value(json_object_get(reply, "chain")));
	if (phone == NULL || phone[0] == '\0' || certs == NULL || sk_X509_num(certs) < 1 ||
	    chain == NULL) {
		w_err("the server's phone registration reply lacks the phone id or certificate");
		goto out_free;
	}
	if (!w_hex_equal(json_string_value(json_object_get(reply, "thumbprint")), w->thumbprint,
	                 sizeof(w->thumbprint))) {
		w_err("the server registered a key with another thumbprint");
		goto out_free;
	}
	/* Anything after the first certificate of "certificate" belongs to the chain as well. */
	while (sk_X509_num(certs) > 1)
		sk_X509_unshift(chain, sk_X509_pop(certs));
	if (check_phone_cert(w, sk_X509_value(certs, 0), chain) != WALLET_OK ||
	    write_phone_pem(w, sk_X509_value(certs, 0), chain) != WALLET_OK ||
	    w_conf_set(w, "phone", phone) != VOUCH_OK || w_conf_save(w) != VOUCH_OK)
		goto out_free;
	vouch_log(VOUCH_LOG_INFO, "wallet.phone", "phone", w->phone, NULL);
	rc = WALLET_OK;
out_free:
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(chain, X509_free);
	json_decref(reply);
	json_decref(body);
	free(b64);
	free(der);
	return rc;
}

/* Whether the held phone certificate is there and not expired. */
static bool phone_cert_usable(struct wallet *w)
{
	char path[PATH_MAX];
	FILE *f;
	X509 *x = NULL;
	bool ok = false;

	if (w->phone == NULL || w_path(path, sizeof(path), w, W_F_PHONE) != VOUCH_OK)
		return false;
	f = fopen(path, "r");
	if (f != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	ok = x != NULL && X509_cmp_current_time(X509_get0_notAfter(x)) > 0;
	X509_free(x);
	ERR_clear_error();
	return ok;
}

/* The CA file given at login: one or more PEM certificates, copied into the wallet. */
static int take_ca(struct wallet *w, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len;
	STACK_OF(X509) *certs = NULL;
	int rc = WALLET_ERROR;

	if (f == NULL) {
		w_err("cannot open the CA file %s: %s", path, strerror(errno));
		return WALLET_ERROR;
	}
	buf = malloc(CA_MAX + 1);
	if (buf == NULL)
		goto out_close;
	len = fread(buf, 1, CA_MAX + 1, f);
	if (ferror(f) || len > CA_MAX) {
		w_err("cannot read the CA file %s (at most %u bytes)", path, CA_MAX);
		goto out_close;
	}
	buf[len] = 0;
	certs = pem_certs((const char *)buf);
	if (certs == NULL || sk_X509_num(certs) == 0) {
		w_err("the CA file %s holds no PEM certificate", path);
		goto out_close;
	}
	if (w_write(w, W_F_CA, buf, len) == VOUCH_OK)
		rc = WALLET_OK;
out_close:
	sk_X509_pop_free(certs, X509_free);
	free(buf);
	fclose(f);
	return rc;
}

/* A token error as an exit code: a wrong PIN is a refusal. */
static int unlock_status(int err)
{
	return err == VOUCH_OK            ? WALLET_OK
	       : err == VOUCH_ERR_P11_PIN ? WALLET_REFUSED
	                                  : WALLET_ERROR;
}

static void print_summary(struct wallet *w)
{
	struct held_list list;
	struct held_cred cred;
	int64_t now = (int64_t)time(NULL);
	char when[32], left[32];

	if (w_list_load(w, &list) != VOUCH_OK)
		list.buf = NULL;
	if (w_cred_load(w, &list, now, &cred) == VOUCH_OK && cred.verified) {
		w_iso_time(cred.cred.claims.exp, when);
		w_duration(cred.cred.claims.exp - now, left, sizeof(left));
		printf("credential  %s until %s (%s left)\n",
		       cred.verdict == VOUCH_OK ? "valid" : vouch_strerror(cred.verdict), when,
		       left);
	}
	if (list.buf != NULL)
		printf("revocations version %" PRIu64 "\n", list.rl.version);
	w_cred_clear(&cred);
	w_list_clear(&list);
}

struct login_opts {
	const char *server, *ca, *user, *password_file, *totp;
};

static int parse_login(struct wallet *w, int argc, char **argv, struct login_opts *o)
{
	const struct w_opt opts[] = {
	    {"server", &o->server}, {"ca", &o->ca},
	    {"user", &o->user},     {"password-file", &o->password_file},
	    {"totp", &o->totp},     {"pin-file", &w->pin_file},
	};
	size_t n;

	if (w_parse_opts(argc, argv, opts, VOUCH_ARRAY_LEN(opts)) != VOUCH_OK ||
	    o->server == NULL || o->ca == NULL || o->user == NULL || o->password_file == NULL ||
	    o->totp == NULL) {
		w_err("usage: login --server URL --ca CAFILE --user NAME --password-file FILE "
		      "--totp CODE [--pin-file FILE]");
		return WALLET_ERROR;
	}
	n = strlen(o->server);
	if (strncmp(o->server, "https://", 8) != 0 || n <= 8 || n >= VOUCH_HTTPS_URL_MAX) {
		w_err("--server wants an https:// URL");
		return WALLET_ERROR;
	}
	n = strlen(o->totp);
	if (n < 6 || n > 10 || strspn(o->totp, "0123456789") != n) {
		w_err("--totp wants the 6 to 10 digit code of the authenticator");
		return WALLET_ERROR;
	}
	if (o->user[0] == '\0' || strlen(o->user) > 128) {
		w_err("--user wants a user name");
		return WALLET_ERROR;
	}
	return WALLET_OK;
}

/* The wallet may be logged in again, but only as the same person at the same server. */
static int check_owner(struct wallet *w, const struct login_opts *o)
{
	if ((w->user != NULL && strcmp(w->user, o->user) != 0) ||
	    (w->server != NULL && strcmp(w->server, o->server) != 0)) {
		w_err("this wallet belongs to %s at %s: use another --wallet",
		      w->user ? w->user : "?", w->server ? w->server : "?");
		return WALLET_ERROR;
	}
	return WALLET_OK;
}

int w_cmd_login(struct wallet *w, int argc, char **argv)
{
	struct login_opts o = {0};
	char password[PASSWORD_MAX + 1];
	char pin[W_PIN_MAX + 1];
	struct vouch_https *h = NULL;
	char server[VOUCH_HTTPS_URL_MAX];
	size_t n;
	int rc = parse_login(w, argc, argv, &o);

	if (rc != WALLET_OK)
		return rc;
	/* One form of the URL is stored and compared: without trailing slashes. */
	n = strlen(o.server);
	memcpy(server, o.server, n + 1);
	while (n > 8 && server[n - 1] == '/')
		server[--n] = '\0';
	o.server = server;
	/* Both secrets first: a command that cannot have them leaves nothing behind. */
	if (w_password_read(o.password_file, password, sizeof(password)) != VOUCH_OK)
		return WALLET_ERROR;
	rc = WALLET_ERROR;
	if (w_pin_get(w, !w_token_exists(w), pin) != VOUCH_OK)
		goto out_wipe;
	if (w_dir_open(w, true, NULL) != VOUCH_OK || w_lock(w) != VOUCH_OK ||
	    w_conf_load(w, false) != VOUCH_OK || check_owner(w, &o) != WALLET_OK)
		goto out_wipe;
	if (take_ca(w, o.ca) != WALLET_OK || w_conf_set(w, "server", o.server) != VOUCH_OK ||
	    w_conf_set(w, "user", o.user) != VOUCH_OK || w_conf_set(w, "ca", W_F_CA) != VOUCH_OK ||
	    w_conf_save(w) != VOUCH_OK)
		goto out_wipe;
	rc = unlock_status(w_token_unlock(w, true, pin));
	vouch_wipe(pin, sizeof(pin));
	if (rc != WALLET_OK)
		goto out_wipe;
	rc = WALLET_ERROR;
	if (w_conf_save(w) != VOUCH_OK)
		goto out_wipe;
	rc = http_open(w, false, &h);
	if (rc != WALLET_OK)
		goto out_wipe;
	rc = fetch_keys(w, h);
	if (rc != WALLET_OK)
		goto out_wipe;
	rc = start_session(w, h, password, o.totp);
	vouch_wipe(password, sizeof(password));
	if (rc != WALLET_OK)
		goto out_wipe;
	if (!phone_cert_usable(w))
		rc = register_phone(w, h);
	if (rc == WALLET_OK)
		rc = fetch_credential(w, h, true);
	end_session(w, h);
	if (rc == WALLET_OK && w_conf_save(w) != VOUCH_OK)
		rc = WALLET_ERROR;
	if (rc == WALLET_OK) {
		printf("wallet      %s\nuser        %s, phone %s\nsite        %s at %s\n", w->dir,
		       w->user, w->phone, w->site, w->server);
		print_summary(w);
	}
out_wipe:
	vouch_https_free(h);
	vouch_wipe(password, sizeof(password));
	vouch_wipe(pin, sizeof(pin));
	return rc;
}

/* ---- refresh and run ---- */

/* What refresh and run need: a registered wallet, its keys, the unlocked token, mutual TLS. */
int w_open_local(struct wallet *w)
{
	char pin[W_PIN_MAX + 1];
	int rc;

	if (w_dir_open(w, false, NULL) != VOUCH_OK || w_conf_load(w, true) != VOUCH_OK)
		return WALLET_ERROR;
	if (w->phone == NULL || !w_exists(w, W_F_PHONE)) {
		w_err("%s has no registered phone: log in first", w->dir);
		return WALLET_ERROR;
	}
	if (w_keys_load(w) != VOUCH_OK)
		return WALLET_ERROR;
	if (w_pin_get(w, false, pin) != VOUCH_OK)
		return WALLET_ERROR;
	rc = unlock_status(w_token_unlock(w, false, pin));
	vouch_wipe(pin, sizeof(pin));
	return rc;
}

int w_open_registered(struct wallet *w, struct vouch_https **h)
{
	char pin[W_PIN_MAX + 1];
	int rc;

	*h = NULL;
	if (w_dir_open(w, false, NULL) != VOUCH_OK || w_conf_load(w, true) != VOUCH_OK)
		return WALLET_ERROR;
	if (w->server == NULL || w->phone == NULL || !w_exists(w, W_F_PHONE)) {
		w_err("%s has no registered phone: log in first", w->dir);
		return WALLET_ERROR;
	}
	if (w_keys_load(w) != VOUCH_OK)
		return WALLET_ERROR;
	if (w_pin_get(w, false, pin) != VOUCH_OK)
		return WALLET_ERROR;
	rc = unlock_status(w_token_unlock(w, false, pin));
	vouch_wipe(pin, sizeof(pin));
	if (rc != WALLET_OK)
		return rc;
	return http_open(w, true, h);
}

/* One refresh: a new credential, then the newest list. Under the lock. */
static int refresh_once(struct wallet *w, struct vouch_https *h)
{
	bool changed;
	int rc, rc2;

	if (w_lock(w) != VOUCH_OK)
		return WALLET_ERROR;
	rc = fetch_credential(w, h, false);
	rc2 = rc == WALLET_OFFLINE ? WALLET_OFFLINE : update_list(w, h, &changed);
	if (rc != WALLET_OFFLINE && rc2 != WALLET_OFFLINE)
		(void)w_deliver_pending(w, h);
	w_unlock(w);
	/* Offline outranks a refusal, which outranks an error: each says more about what to do. */
	if (rc == WALLET_OFFLINE || rc2 == WALLET_OFFLINE)
		return WALLET_OFFLINE;
	if (rc == WALLET_REFUSED || rc2 == WALLET_REFUSED)
		return WALLET_REFUSED;
	return rc != WALLET_OK ? rc : rc2;
}

int w_cmd_refresh(struct wallet *w, int argc, char **argv)
{
	const struct w_opt opts[] = {{"pin-file", &w->pin_file}};
	struct vouch_https *h = NULL;
	int rc;

	if (w_parse_opts(argc, argv, opts, VOUCH_ARRAY_LEN(opts)) != VOUCH_OK) {
		w_err("usage: refresh [--pin-file FILE]");
		return WALLET_ERROR;
	}
	rc = w_open_registered(w, &h);
	if (rc == WALLET_OK)
		rc = refresh_once(w, h);
	if (rc == WALLET_OFFLINE)
		w_err("offline: keeping the credential held");
	if (rc == WALLET_OK || rc == WALLET_OFFLINE || rc == WALLET_REFUSED)
		print_summary(w);
	vouch_https_free(h);
	return rc;
}

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* When the held credential wants renewing: 2/3 through its life, or now if it is not usable. */
static int64_t credential_due(struct wallet *w, int64_t now)
{
	struct held_list list;
	struct held_cred cred;
	int64_t due = now;

	if (w_list_load(w, &list) != VOUCH_OK)
		list.buf = NULL;
	if (w_cred_load(w, &list, now, &cred) == VOUCH_OK && cred.verdict == VOUCH_OK)
		due = cred.cred.claims.iat + (cred.cred.claims.exp - cred.cred.claims.iat) * 2 / 3;
	w_cred_clear(&cred);
	w_list_clear(&list);
	return due;
}

/* Sleep until t or a stop signal, whichever comes first (the signals are blocked outside). */
static void sleep_until(int64_t t, const sigset_t *open_mask)
{
	int64_t now = (int64_t)time(NULL);
	struct timespec ts;

	if (t <= now || stop_requested)
		return;
	ts.tv_sec = (time_t)(t - now);
	ts.tv_nsec = 0;
	if (pselect(0, NULL, NULL, NULL, &ts, open_mask) < 0 && errno != EINTR)
		nanosleep(&ts, NULL);
}

static int parse_run(struct wallet *w, int argc, char **argv, long *interval)
{
	const char *text = NULL;
	const struct w_opt opts[] = {{"interval", &text}, {"pin-file", &w->pin_file}};
	char *end;

	*interval = DEFAULT_INTERVAL;
	if (w_parse_opts(argc, argv, opts, VOUCH_ARRAY_LEN(opts)) != VOUCH_OK) {
		w_err("usage: run [--interval SECONDS] [--pin-file FILE]");
		return WALLET_ERROR;
	}
	if (text != NULL) {
		errno = 0;
		*interval = strtol(text, &end, 10);
		if (errno != 0 || end == text || *end != '\0' || *interval < 1 ||
		    *interval > 86400) {
			w_err("--interval wants seconds from 1 to 86400");
			return WALLET_ERROR;
		}
	}
	return WALLET_OK;
}

/* The back-off after a failure: 2, 4, 8 ... seconds, at most BACKOFF_MAX. */
static int64_t backoff_next(int64_t backoff)
{
	return backoff == 0 ? BACKOFF_FIRST : backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
}

int w_cmd_run(struct wallet *w, int argc, char **argv)
{
	struct vouch_https *h = NULL;
	struct sigaction sa;
	sigset_t stop_mask, open_mask;
	int64_t now, list_due = 0, cred_due = 0, backoff = 0;
	long interval;
	char retry[24];
	bool changed;
	int rc = parse_run(w, argc, argv, &interval);

	if (rc != WALLET_OK)
		return rc;
	/* The stop signals are taken only while sleeping: a call in flight finishes first. */
	sigemptyset(&stop_mask);
	sigaddset(&stop_mask, SIGTERM);
	sigaddset(&stop_mask, SIGINT);
	sigprocmask(SIG_BLOCK, &stop_mask, &open_mask);
	sigdelset(&open_mask, SIGTERM);
	sigdelset(&open_mask, SIGINT);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	rc = w_open_registered(w, &h);
	if (rc != WALLET_OK)
		goto out_free;
	/* What run does is logged, as JSON lines on stderr. */
	vouch_log_init(W_PROG, VOUCH_LOG_INFO, NULL);
	vouch_log(VOUCH_LOG_INFO, "wallet.run", "wallet", w->dir, "server", w->server, NULL);
	while (!stop_requested) {
		bool offline = false;

		now = (int64_t)time(NULL);
		if (now >= cred_due && (cred_due = credential_due(w, now)) <= now) {
			if (w_lock(w) != VOUCH_OK)
				break;
			rc = fetch_credential(w, h, false);
			w_unlock(w);
			offline = rc == WALLET_OFFLINE;
			/* Nothing usable came (a refusal, an error): ask again an interval later.
			 */
			if (!offline && (cred_due = credential_due(w, now)) <= now)
				cred_due = now + interval;
		}
		if (!offline && now >= list_due) {
			if (w_lock(w) != VOUCH_OK)
				break;
			rc = update_list(w, h, &changed);
			w_unlock(w);
			offline = rc == WALLET_OFFLINE;
			list_due = now + interval;
			/* A list that revokes the held credential makes it due at once. */
			if (!offline && changed && credential_due(w, now) <= now)
				cred_due = now;
		}
		if (offline) {
			/* The held credential stays in use until its exp; ask again, less often. */
			backoff = backoff_next(backoff);
			snprintf(retry, sizeof(retry), "%" PRId64, backoff);
			vouch_log(VOUCH_LOG_WARN, "wallet.offline", "retry_in", retry, NULL);
			list_due = now + backoff;
			if (cred_due <= now)
				cred_due = now + backoff;
		} else if (backoff != 0) {
			backoff = 0;
			vouch_log(VOUCH_LOG_INFO, "wallet.online", "server", w->server, NULL);
		}
		sleep_until(cred_due < list_due ? cred_due : list_due, &open_mask);
	}
	vouch_log(VOUCH_LOG_INFO, "wallet.stop", "wallet", w->dir, NULL);
	rc = stop_requested ? WALLET_OK : WALLET_ERROR;
out_free:
	vouch_https_free(h);
	sigprocmask(SIG_SETMASK, &open_mask, NULL);
	return rc;
}
