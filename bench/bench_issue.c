/*
 * Raw issuance: what vouch_ca_issue_csr() achieves (CSR parse + signature check, certificate
 * build, signature by the issuing key inside a SoftHSM2 token through libp11), next to the
 * limit of this machine: `openssl speed ecdsap256`, run by this process, gives sign/s and
 * verify/s, and one certificate costs one verify (the CSR) and one sign (the certificate), so
 * no issuer can beat 1 / (1/sign + 1/verify) per core. Measured with 1 thread against one
 * `openssl speed` process and with 2 threads against `openssl speed -multi 2`.
 *
 * The site is a fresh one in a temp dir with its own SoftHSM2 token, removed at exit. Rounds of
 * the peer and of vouch alternate (the order flips every round) and the medians are compared,
 * so that a noisy neighbour on this shared machine affects both sides alike.
 *
 * usage: bench_issue                     the comparison (BENCH_QUICK=1: one short round)
 *        bench_issue --rate SECONDS [T]  only vouch's rate with T threads (default 1), one number
 *                                        on stdout, for other benchmarks to interleave with theirs
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca.h"
#include "vouch/log.h"
#include "vouch/p11.h"

#include "bench_util.h"

#define ROUNDS        5
#define ROUND_SECONDS 2.0 /* vouch's side of a round */
#define SPEED_SECONDS 2   /* `openssl speed -seconds` */
#define MAX_THREADS   8
#define NCSR          64 /* distinct CSRs, used in turn */
#define TARGET        0.70

struct site {
	char dir[256];
	struct vouch_p11 *p11;
	struct vouch_ca *ca;
	uint8_t *csr[NCSR];
	size_t csr_len[NCSR];
};

struct speed {
	double sign; /* per second, all processes together */
	double verify;
	double limit; /* certificates/s: one verify + one sign each */
};

struct worker {
	pthread_t thread;
	struct site *site;
	unsigned first; /* CSR to start with: threads use different ones */
	long done;
	int rc;
};

static atomic_bool stop_flag;

/* ---- the site: a temp dir with its own SoftHSM2 token and a fresh CA hierarchy ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void site_free(struct site *s)
{
	for (int i = 0; i < NCSR; i++)
		free(s->csr[i]);
	vouch_ca_free(s->ca);
	vouch_p11_close(s->p11);
	if (s->dir[0] != '\0')
		nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A P-256 key and a CSR for it (DER), as a device would send. */
static int make_csr(int i, uint8_t **der, size_t *der_len)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_REQ *req = X509_REQ_new();
	char cn[32];
	int len, rc = VOUCH_ERR_CRYPTO;
	unsigned char *p;

	snprintf(cn, sizeof(cn), "bench-csr-%d", i);
	if (key == NULL || req == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
	                               (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 || X509_REQ_sign(req, key, EVP_sha256()) <= 0)
		goto out_free;
	len = i2d_X509_REQ(req, NULL);
	if (len <= 0 || (*der = malloc((size_t)len)) == NULL)
		goto out_free;
	p = *der;
	i2d_X509_REQ(req, &p);
	*der_len = (size_t)len;
	rc = VOUCH_OK;
out_free:
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return rc;
}

static int site_new(struct site *s)
{
	const char *tmp = getenv("TMPDIR");
	char pin[300], so_pin[300];
	struct vouch_ca_config cfg = {.site = "bench", .public_http_url = "http://127.0.0.1:8080"};
	int rc;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s/vouch-bench-issue.XXXXXX",
	         tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(s->dir) == NULL) {
		fprintf(stderr, "bench_issue: mkdtemp %s: %s\n", s->dir, strerror(errno));
		s->dir[0] = '\0';
		return VOUCH_ERR_IO;
	}
	snprintf(pin, sizeof(pin), "%s/token.pin", s->dir);
	snprintf(so_pin, sizeof(so_pin), "%s/token.so-pin", s->dir);
	rc = vouch_p11_softhsm_init(s->dir);
	if (rc == VOUCH_OK)
		rc = vouch_p11_token_create(VOUCH_P11_SOFTHSM_MODULE, VOUCH_CA_TOKEN_LABEL, pin,
		                            so_pin);
	if (rc == VOUCH_OK)
		rc = vouch_p11_open(&s->p11, VOUCH_P11_SOFTHSM_MODULE, VOUCH_CA_TOKEN_LABEL, pin);
	if (rc == VOUCH_OK)
		rc = vouch_ca_create(&s->ca, s->dir, s->p11, &cfg);
	for (int i = 0; rc == VOUCH_OK && i < NCSR; i++)
		rc = make_csr(i, &s->csr[i], &s->csr_len[i]);
	if (rc != VOUCH_OK)
		fprintf(stderr, "bench_issue: site setup in %s: %s\n", s->dir, vouch_strerror(rc));
	return rc;
}

/* ---- vouch's side ---- */

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct vouch_ca_subject subj = {.profile = VOUCH_CA_PROFILE_DEVICE, .id = "bench-device"};
	struct vouch_ca_issued issued;
	unsigned i = w->first;

	w->rc = VOUCH_OK;
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		vouch_ca_issued_init(&issued);
		w->rc = vouch_ca_issue_csr(w->site->ca, w->site->csr[i % NCSR],
		                           w->site->csr_len[i % NCSR], &subj, &issued);
		vouch_ca_issued_clear(&issued);
		if (w->rc != VOUCH_OK)
			break;
		w->done++;
		i++;
	}
	return NULL;
}

/* Certificates/s with n threads over `seconds`; < 0 on failure. */
static double issue_rate(struct site *s, int n, double seconds)
{
	struct worker w[MAX_THREADS];
	struct timespec nap = {.tv_sec = (time_t)seconds,
	                       .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
	double t0, t1;
	long total = 0;
	int started = 0, failed = 0;

	atomic_store(&stop_flag, false);
	t0 = bench_now();
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){.site = s, .first = (unsigned)(i * NCSR / n)};
		if (pthread_create(&w[i].thread, NULL, worker_run, &w[i]) != 0)
			break;
		started++;
	}
	while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
		;
	atomic_store(&stop_flag, true);
	for (int i = 0; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].done;
		if (w[i].rc != VOUCH_OK) {
			fprintf(stderr, "bench_issue: vouch_ca_issue_csr: %s\n",
			        vouch_strerror(w[i].rc));
			failed = 1;
		}
	}
	t1 = bench_now();
	if (started != n || failed)
		return -1;
	return (double)total / (t1 - t0);
}

/* ---- where the time goes: the two operations alone, 1 thread ---- */

/* One signature by the issuing key in the token, over a certificate-sized message. */
static int op_sign(void *arg)
{
	static const uint8_t tbs[400] = {0x30};
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t sig[80];
	size_t len = sizeof(sig);
	int ok = ctx != NULL &&
	         EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, vouch_p11_key_evp(arg)) == 1 &&
	         EVP_DigestSign(ctx, sig, &len, tbs, sizeof(tbs)) == 1;

	EVP_MD_CTX_free(ctx);
	return ok ? VOUCH_OK : VOUCH_ERR_CRYPTO;
}

/* Per certificate: the token's signature, and everything else, each next to its bare cost. */
static int breakdown(struct site *s, double issue_1t, const struct speed *bare, double seconds)
{
	struct vouch_key key;
	double sign;
	int rc;

	vouch_key_init(&key);
	rc = vouch_p11_key_load(s->p11, VOUCH_CA_KEY_ISSUING, &key);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "bench_issue: the issuing key: %s\n", vouch_strerror(rc));
		return rc;
	}
	rc = bench_rate(op_sign, &key, seconds, 16, &sign);
	vouch_key_clear(&key);
	if (rc != 0 || sign <= 0) {
		fprintf(stderr, "bench_issue: the token signature measurement failed\n");
		return VOUCH_ERR_CRYPTO;
	}
	printf(
	    "  where 1 thread's time goes (token signing measured once after the rounds, %.1f s):"
	    "\n    per certificate %.0f us = token sign %.0f us (%.0f/s through libp11 + SoftHSM2;"
	    " bare sign %.0f us)\n    + the rest %.0f us (CSR decode + verify, certificate build"
	    " + encoding, serial; bare verify %.0f us)\n",
	    seconds, 1e6 / issue_1t, 1e6 / sign, sign, 1e6 / bare->sign,
	    1e6 / issue_1t - 1e6 / sign, 1e6 / bare->verify);
	return VOUCH_OK;
}

/* ---- the peer: openssl speed ---- */

/* Run `openssl speed [-multi n] -seconds s ecdsap256` and read its nistp256 line:
 * " 256 bits ecdsa (nistp256)   0.0000s   0.0001s  28317.5   8430.3" (sign/s, verify/s last). */
static int openssl_speed(int processes, int seconds, struct speed *out)
{
	char cmd[128], line[512];
	FILE *p;
	int rc = VOUCH_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	if (processes > 1)
		snprintf(cmd, sizeof(cmd), "openssl speed -multi %d -seconds %d ecdsap256 2>&1",
		         processes, seconds);
	else
		snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d ecdsap256 2>&1", seconds);
	fflush(stdout);
	p = popen(cmd, "r");
	if (p == NULL) {
		fprintf(stderr, "bench_issue: cannot run %s\n", cmd);
		return VOUCH_ERR_IO;
	}
	while (fgets(line, sizeof(line), p) != NULL) {
		char *tok, *save = NULL, *prev = NULL, *last = NULL;

		if (strstr(line, "ecdsa (nistp256)") == NULL || strstr(line, "bits") == NULL)
			continue;
		for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL;
		     tok = strtok_r(NULL, " \t\r\n", &save)) {
			prev = last;
			last = tok;
		}
		if (prev != NULL && last != NULL) {
			out->sign = strtod(prev, NULL);
			out->verify = strtod(last, NULL);
		}
	}
	if (pclose(p) == 0 && out->sign > 0 && out->verify > 0) {
		out->limit = 1.0 / (1.0 / out->sign + 1.0 / out->verify);
		rc = VOUCH_OK;
	} else {
		fprintf(stderr, "bench_issue: no nistp256 sign/verify figures from: %s\n", cmd);
	}
	return rc;
}

/* ---- main ---- */

static int rate_only(struct site *s, int argc, char **argv)
{
	double seconds = strtod(argv[2], NULL), r;
	int threads = argc > 3 ? atoi(argv[3]) : 1;

	if (seconds <= 0 || seconds > 600 || threads < 1 || threads > MAX_THREADS) {
		fprintf(stderr, "usage: bench_issue --rate SECONDS [THREADS 1-%d]\n", MAX_THREADS);
		return 2;
	}
	r = issue_rate(s, threads, seconds);
	if (r < 0)
		return 1;
	printf("%.1f\n", r);
	return 0;
}

static void report(int threads, double mine, const struct speed *peer, const char *peer_name)
{
	double ratio = mine / peer->limit;

	printf("  %d thread%s %7.0f certs/s | %-26s %7.0f certs/s (sign %.0f/s, verify %.0f/s)"
	       " | ratio %.3f (target >= %.2f) %s\n",
	       threads, threads == 1 ? " " : "s", mine, peer_name, peer->limit, peer->sign,
	       peer->verify, ratio, TARGET, ratio >= TARGET ? "met" : "NOT MET");
}

int main(int argc, char **argv)
{
	struct site s;
	bool quick = getenv("BENCH_QUICK") != NULL && strcmp(getenv("BENCH_QUICK"), "0") != 0;
	int rounds = quick ? 1 : ROUNDS, speed_s = quick ? 1 : SPEED_SECONDS;
	double round_s = quick ? 0.5 : ROUND_SECONDS;
	double mine1[ROUNDS], mine2[ROUNDS], lim1[ROUNDS], lim2[ROUNDS];
	double sign1[ROUNDS], ver1[ROUNDS], sign2[ROUNDS], ver2[ROUNDS];
	struct speed sp, med1, med2;
	int rc = 1;

	if (argc > 1 && !(strcmp(argv[1], "--rate") == 0 && argc >= 3 && argc <= 4)) {
		fprintf(stderr, "usage: bench_issue [--rate SECONDS [THREADS]]\n");
		return 2;
	}
	/* Failures are logged (stderr); the figures go to stdout. */
	vouch_log_init("bench_issue", VOUCH_LOG_WARN, NULL);
	if (site_new(&s) != VOUCH_OK)
		goto out;
	if (argc > 1) {
		rc = rate_only(&s, argc, argv);
		goto out;
	}

	printf("vouch bench: raw issuance = vouch_ca_issue_csr (CSR verify + certificate signed in "
	       "SoftHSM2 via PKCS#11)\n");
	printf(
	    "next to the machine's limit from `openssl speed -seconds %d ecdsap256`: 1/(1/sign + "
	    "1/verify);\nmedians of %d alternating rounds (%.1f s of vouch each)\n",
	    speed_s, rounds, round_s);
	for (int r = 0; r < rounds; r++) {
		bool peer_first = r % 2 == 0;

		for (int side = 0; side < 2; side++) {
			if ((side == 0) == peer_first) {
				if (openssl_speed(1, speed_s, &sp) != VOUCH_OK)
					goto out;
				lim1[r] = sp.limit, sign1[r] = sp.sign, ver1[r] = sp.verify;
				if (openssl_speed(2, speed_s, &sp) != VOUCH_OK)
					goto out;
				lim2[r] = sp.limit, sign2[r] = sp.sign, ver2[r] = sp.verify;
			} else {
				mine1[r] = issue_rate(&s, 1, round_s);
				mine2[r] = issue_rate(&s, 2, round_s);
				if (mine1[r] < 0 || mine2[r] < 0)
					goto out;
			}
		}
	}
	med1 =
	    (struct speed){bench_median(sign1, (size_t)rounds), bench_median(ver1, (size_t)rounds),
	                   bench_median(lim1, (size_t)rounds)};
	med2 =
	    (struct speed){bench_median(sign2, (size_t)rounds), bench_median(ver2, (size_t)rounds),
	                   bench_median(lim2, (size_t)rounds)};
	report(1, bench_median(mine1, (size_t)rounds), &med1, "openssl speed (1 process)");
	report(2, bench_median(mine2, (size_t)rounds), &med2, "openssl speed -multi 2");
	if (breakdown(&s, bench_median(mine1, (size_t)rounds), &med1, quick ? 0.3 : 1.0) !=
	    VOUCH_OK)
		goto out;
	rc = 0;
out:
	site_free(&s);
	return rc;
}
