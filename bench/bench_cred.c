/*
 * Credentials issued per second, as vouchd issues them: compile the person's permissions from the
 * directory (10 roles), encode them, and sign the CWT with the credential issuer key inside the
 * PKCS#11 token, again and again for the same person (as vouchd does when a person's phone
 * refreshes its credential: the store connection's cache of compiles is warm, but every compile
 * still reads the person and their roles). Next to it, in alternating rounds of the same run:
 *   - the token's raw ECDSA P-256 sign rate with the same key (the limit of anything that signs
 *     in this token: issue 4's target is >= 60% of it),
 *   - OpenSSL's bare ECDSA P-256 sign rate in memory (the machine's limit, for scale), and
 *   - credentials each for another person holding the same roles (a first compile: the roles'
 *     parsing is cached, the person's permissions are compiled and encoded), for scale.
 * A fresh site (own SoftHSM2 token, own store) is made in a temp dir and removed at exit.
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "directory.h"
#include "store.h"
#include "vouch/cred.h"
#include "vouch/log.h"
#include "vouch/p11.h"
#include "vouch/tz.h"

#include "bench_util.h"

#define ROUNDS  5
#define ROUND_S 0.6
#define ROLES   10
#define GRANTS  10
#define TARGET  0.60

static char dir[64] = "/tmp/vouch-bench-cred-XXXXXX";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_cred: %s: %s\n", what, vouch_strerror(rc));
	exit(1);
}

typedef int (*bench_fn)(void *arg);

static double rate(bench_fn fn, void *arg, double seconds)
{
	double r;
	int rc = bench_rate(fn, arg, seconds, 1, &r);

	if (rc != 0)
		die("operation", rc);
	return r;
}

struct ctx {
	struct vouch_store *store;
	struct vouch_key issuer; /* in the token */
	struct vouch_key phone;  /* the cnf key (public half used) */
	uint8_t issuer_kid[VOUCH_THUMBPRINT_LEN];
	EVP_PKEY *bare; /* in memory */
	char tz[VOUCH_TZ_RULE_MAX + 1];
	uint8_t out[VOUCH_CRED_MAX];
	size_t out_len;
	size_t perm_len;
	uint8_t msg[32];
	int next_user;
	struct vouch_dir_compiled pre; /* bench-user's, compiled once */
};

/* Users holding the same roles, more than vouchd's per-connection cache keeps compiles of: each
 * compile for the next of them is a first one (the roles' parsing is cached, the user's
 * permissions are compiled and encoded). */
#define OTHER_USERS 128

static const char *next_user(struct ctx *c, char name[32])
{
	c->next_user = (c->next_user + 1) % OTHER_USERS;
	snprintf(name, 32, "bench-user-%d", c->next_user);
	return name;
}

static int issue_for(struct ctx *c, const char *user)
{
	struct vouch_dir_compiled comp;
	struct vouch_cred_params p;
	char err[VOUCH_DIR_ERR_MAX], phone[64];
	int64_t now = (int64_t)time(NULL);
	size_t out_len = 0;
	int rc;

	memset(&comp, 0, sizeof(comp));
	rc = vouch_dir_compile_user(c->store, user, c->tz, now, &comp, err);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "compile: %s\n", err);
		return rc;
	}
	snprintf(phone, sizeof(phone), "%s.00000001", user);
	memset(&p, 0, sizeof(p));
	p.iss = "vouch:0123456789abcdef";
	p.sub = user;
	p.aud = "0123456789abcdef";
	p.phone = phone;
	p.iat = now;
	p.nbf = now;
	p.exp = now + VOUCH_CRED_LIFETIME;
	p.cnf = &c->phone;
	p.perm = comp.perm;
	p.perm_len = comp.perm_len;
	p.issuer_kid = c->issuer_kid; /* as vouchd does: computed once */
	rc = vouch_random(p.cti, sizeof(p.cti));
	if (rc == VOUCH_OK)
		rc = vouch_cred_issue(&p, &c->issuer, c->out, sizeof(c->out), &out_len);
	/* The sizes reported are those of the main measurement's credentials. */
	if (strcmp(user, "bench-user") == 0) {
		c->out_len = out_len;
		c->perm_len = comp.perm_len;
	}
	vouch_dir_compiled_clear(&comp);
	return rc;
}

static int issue_one(void *arg)
{
	return issue_for(arg, "bench-user");
}

static int issue_other(void *arg)
{
	char name[32];

	return issue_for(arg, next_user(arg, name));
}

/* The credential alone, its permissions compiled beforehand: encoding the CWT and signing it. */
static int issue_precompiled(void *arg)
{
	struct ctx *c = arg;
	struct vouch_cred_params p;
	int64_t now = (int64_t)time(NULL);
	size_t out_len = 0;
	int rc;

	memset(&p, 0, sizeof(p));
	p.iss = "vouch:0123456789abcdef";
	p.sub = "bench-user";
	p.aud = "0123456789abcdef";
	p.phone = "bench-user.00000001";
	p.iat = now;
	p.nbf = now;
	p.exp = now + VOUCH_CRED_LIFETIME;
	p.cnf = &c->phone;
	p.perm = c->pre.perm;
	p.perm_len = c->pre.perm_len;
	p.issuer_kid = c->issuer_kid;
	rc = vouch_random(p.cti, sizeof(p.cti));
	if (rc == VOUCH_OK)
		rc = vouch_cred_issue(&p, &c->issuer, c->out, sizeof(c->out), &out_len);
	return rc;
}

static int compile_for(struct ctx *c, const char *user)
{
	struct vouch_dir_compiled comp;
	char err[VOUCH_DIR_ERR_MAX];
	int rc;

	memset(&comp, 0, sizeof(comp));
	rc = vouch_dir_compile_user(c->store, user, c->tz, (int64_t)time(NULL), &comp, err);
	vouch_dir_compiled_clear(&comp);
	return rc;
}

static int compile_one(void *arg)
{
	return compile_for(arg, "bench-user");
}

static int compile_other(void *arg)
{
	char name[32];

	return compile_for(arg, next_user(arg, name));
}

static int token_sign(void *arg)
{
	struct ctx *c = arg;
	struct vouch_iov iov = {c->msg, sizeof(c->msg)};
	uint8_t sig[64];
	size_t sig_len = 0;

	return vouch_sign(&c->issuer, &iov, 1, sig, sizeof(sig), &sig_len);
}

static int bare_sign(void *arg)
{
	struct ctx *c = arg;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[80];
	size_t len = sizeof(sig);
	int ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, c->bare) == 1 &&
	         EVP_DigestSign(md, sig, &len, c->msg, sizeof(c->msg)) == 1;

	EVP_MD_CTX_free(md);
	return ok ? 0 : VOUCH_ERR_CRYPTO;
}

/* The directory of a plant-sized site: 20 zones, 200 resources, 10 roles of 10 grants with
 * mixed conditions, and one user holding all ten roles. */
static void load_directory(struct ctx *c)
{
	json_t *doc = json_object(), *zones = json_object(), *res = json_object();
	json_t *roles = json_object(), *trainings = json_object(), *user;
	char name[64], err[VOUCH_DIR_ERR_MAX];
	static const char *const types[] = {"machine", "door", "sensor", "locker", "information"};
	int rc;

	json_object_set_new(zones, "plant", json_object());
	for (int z = 0; z < 20; z++) {
		snprintf(name, sizeof(name), "plant/hall-%d", z);
		json_object_set_new(zones, name, json_object());
	}
	json_object_set_new(trainings, "machine-safety", json_object());
	for (int i = 0; i < 200; i++) {
		char zone[32];

		snprintf(name, sizeof(name), "res-%d", i);
		snprintf(zone, sizeof(zone), "plant/hall-%d", i % 20);
		json_object_set_new(res, name,
		                    json_pack("{s:s, s:s, s:[s]}", "type", types[i % 5], "zone",
		                              zone, "tags", i % 2 ? "critical" : "normal"));
	}
	for (int r = 0; r < ROLES; r++) {
		json_t *grants = json_array();

		for (int g = 0; g < GRANTS; g++) {
			char zone[32];
			json_t *grant;

			snprintf(zone, sizeof(zone), "plant/hall-%d", (r * GRANTS + g) % 20);
			grant = json_pack("{s:{s:s, s:s}, s:[s, s]}", "resources", "zone", zone,
			                  "type", types[g % 5], "actions", "read", "operate");
			if (g % 3 == 0)
				json_object_set_new(grant, "when",
				                    json_pack("[{s:s, s:s, s:s}]", "days",
				                              "mon-fri", "from", "06:00", "to",
				                              "22:00"));
			if (g % 3 == 1)
				json_object_set_new(grant, "training",
				                    json_string("machine-safety"));
			if (g % 3 == 2)
				json_object_set_new(grant, "readings",
				                    json_pack("[{s:s, s:s, s:i}]", "name", "speed",
				                              "op", "<=", "value", 0));
			json_array_append_new(grants, grant);
		}
		snprintf(name, sizeof(name), "role-%d", r);
		json_object_set_new(roles, name, json_pack("{s:o}", "grants", grants));
	}
	json_object_set_new(doc, "zones", zones);
	json_object_set_new(doc, "trainings", trainings);
	json_object_set_new(doc, "resources", res);
	json_object_set_new(doc, "roles", roles);
	rc = vouch_dir_load(c->store, doc, (int64_t)time(NULL), "bench", NULL, err);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "bench_cred: policy: %s\n", err);
		die("load", rc);
	}
	json_decref(doc);
	user = json_pack("{s:[], s:{s:s}, s:s}", "roles", "trainings", "machine-safety",
	                 "2030-01-01T00:00:00Z", "status", "active");
	for (int r = 0; r < ROLES; r++) {
		snprintf(name, sizeof(name), "role-%d", r);
		json_array_append_new(json_object_get(user, "roles"), json_string(name));
	}
	for (int u = -1; u < OTHER_USERS; u++) {
		if (u < 0)
			snprintf(name, sizeof(name), "bench-user");
		else
			snprintf(name, sizeof(name), "bench-user-%d", u);
		rc = vouch_dir_put(c->store, "user", name, user, VOUCH_STORE_CREATE,
		                   (int64_t)time(NULL), "bench", NULL, err);
		if (rc != VOUCH_OK) {
			fprintf(stderr, "bench_cred: user: %s\n", err);
			die("user", rc);
		}
	}
	json_decref(user);
}

int main(int argc, char **argv)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct vouch_p11 *p11 = NULL;
	char pin[128], so_pin[128], db[128];
	double mine[ROUNDS], token[ROUNDS], bare[ROUNDS], compile[ROUNDS], other[ROUNDS];
	double compile_o[ROUNDS], signed_only[ROUNDS], loadavg;
	double m_mine, m_token, m_bare, m_compile, m_other, m_compile_o, m_signed_only;
	char err[VOUCH_DIR_ERR_MAX];
	double round_s = getenv("BENCH_QUICK") != NULL ? 0.15 : ROUND_S;
	uint8_t id = 0x10;
	int rc;

	(void)argc;
	(void)argv;
	vouch_log_init("bench_cred", VOUCH_LOG_ERROR, NULL);
	if (c == NULL || mkdtemp(dir) == NULL)
		die("setup", VOUCH_ERR_IO);
	atexit(cleanup);
	snprintf(pin, sizeof(pin), "%s/token.pin", dir);
	snprintf(so_pin, sizeof(so_pin), "%s/token.so-pin", dir);
	snprintf(db, sizeof(db), "sqlite:%s/vouch.db", dir);
	if ((rc = vouch_p11_softhsm_init(dir)) != VOUCH_OK ||
	    (rc = vouch_p11_token_create(NULL, "vouch-ca", pin, so_pin)) != VOUCH_OK ||
	    (rc = vouch_p11_open(&p11, NULL, "vouch-ca", pin)) != VOUCH_OK ||
	    (rc = vouch_p11_key_generate(p11, VOUCH_KEY_P256, "vouch-cred-issuer", &id, 1)) !=
	        VOUCH_OK ||
	    (rc = vouch_p11_key_load(p11, "vouch-cred-issuer", &c->issuer)) != VOUCH_OK ||
	    (rc = vouch_cose_key_thumbprint(&c->issuer, c->issuer_kid)) != VOUCH_OK)
		die("token", rc);
	vouch_key_init(&c->phone);
	if ((rc = vouch_key_generate(&c->phone, VOUCH_KEY_P256)) != VOUCH_OK)
		die("phone key", rc);
	c->bare = vouch_p11_key_evp(&c->phone);
	if ((rc = vouch_store_open(db, &c->store)) != VOUCH_OK)
		die("store", rc);
	if ((rc = vouch_tz_rule_of_zone(NULL, "Europe/Berlin", c->tz, sizeof(c->tz))) != VOUCH_OK)
		die("timezone", rc);
	load_directory(c);
	memset(c->msg, 0x5a, sizeof(c->msg));
	if ((rc = vouch_dir_compile_user(c->store, "bench-user", c->tz, (int64_t)time(NULL),
	                                 &c->pre, err)) != VOUCH_OK)
		die("compile", rc);

	loadavg = bench_loadavg(NULL, 0);
	printf("bench_cred: credentials issued (compile %d roles x %d grants + sign in the token), "
	       "load average %.2f\n",
	       ROLES, GRANTS, loadavg);
	for (int r = 0; r < ROUNDS; r++) {
		if (r % 2 == 0) {
			token[r] = rate(token_sign, c, round_s);
			mine[r] = rate(issue_one, c, round_s);
		} else {
			mine[r] = rate(issue_one, c, round_s);
			token[r] = rate(token_sign, c, round_s);
		}
		bare[r] = rate(bare_sign, c, round_s);
		compile[r] = rate(compile_one, c, round_s / 2);
		other[r] = rate(issue_other, c, round_s);
		compile_o[r] = rate(compile_other, c, round_s / 2);
		signed_only[r] = rate(issue_precompiled, c, round_s / 2);
	}
	m_mine = bench_median(mine, ROUNDS);
	m_token = bench_median(token, ROUNDS);
	m_bare = bench_median(bare, ROUNDS);
	m_compile = bench_median(compile, ROUNDS);
	m_other = bench_median(other, ROUNDS);
	m_compile_o = bench_median(compile_o, ROUNDS);
	m_signed_only = bench_median(signed_only, ROUNDS);
	printf("  credentials      %8.0f /s  (credential %zu bytes, permissions %zu bytes)\n",
	       m_mine, c->out_len, c->perm_len);
	printf("  token raw sign   %8.0f /s  (ECDSA P-256 through PKCS#11, same key)\n", m_token);
	printf("  bare sign        %8.0f /s  (OpenSSL in memory: the machine's limit)\n", m_bare);
	printf("  where the time goes: compile alone %.0f /s (%.0f us), CWT + token sign %.0f us, "
	       "token sign %.0f us\n",
	       m_compile, 1e6 / m_compile, 1e6 / m_signed_only, 1e6 / m_token);
	printf("  credentials / token raw sign: ratio %.3f (target >= %.2f) %s\n", m_mine / m_token,
	       TARGET, m_mine / m_token >= TARGET ? "ok" : "NOT MET");
	printf("  credentials / bare sign:      ratio %.3f (for scale: SoftHSM2's own cost is in "
	       "it)\n",
	       m_mine / m_bare);
	printf("  each for another user %5.0f /s  (their first compile, %.0f us: ratio %.3f to the "
	       "token's raw sign)\n",
	       m_other, 1e6 / m_compile_o, m_other / m_token);
	vouch_dir_compiled_clear(&c->pre);
	vouch_store_close(c->store);
	vouch_key_clear(&c->issuer);
	vouch_key_clear(&c->phone);
	vouch_p11_close(p11);
	free(c);
	return 0;
}
