/*
 * Policy decisions per second for one user with 10 roles of about 10 grants each (weekly
 * windows, reading thresholds, trainings, person zones, tags, validity dates, a few denies)
 * against 1,000 resources spread over zones, types and tags: every (resource, action) pair in
 * turn. The peer, measured in the same rounds, is what every offline decision pays anyway: one
 * ES256 signature verification (vouch_verify with a P-256 key from the crypto port) for the
 * credential that carries the permissions. So the figure to read is "a decision costs X% of
 * one signature verify"; view_init (validating the encoded permissions once per credential) is
 * put next to the same verify.
 *
 * Rounds of the sides alternate, the order flips every round, and the medians are compared, so
 * that a noisy neighbour on this shared machine slows both sides alike. BENCH_QUICK=1: one
 * short round, a smoke run.
 */
#define _POSIX_C_SOURCE 200809L
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/crypto.h"
#include "vouch/policy.h"

#include "bench_util.h"

#define ROUNDS      7
#define ROUND_S     0.3 /* per side and round */
#define N_ROLES     10
#define GRANTS_MAX  12
#define N_RES       1000
#define N_ACTIONS   12
#define N_ZONES     24
#define N_TAGS      8
#define N_READINGS  3
#define BENCH_TZ    "CET-1CEST,M3.5.0,M10.5.0/3"
#define BENCH_NOW   1781082000 /* Wed 2026-06-10 11:00 CEST */
#define PERSON_ZONE "plant/hall-b/line-2"

static const char *const role_names[N_ROLES] = {
    "operator", "maintenance", "quality", "it-service", "logistics",
    "cleaning", "manager",     "safety",  "lab",        "auditor",
};
static const char *const types[] = {"machine", "door",        "locker",
                                    "sensor",  "information", "storage"};
static const char *const tag_names[N_TAGS] = {"hot",     "food", "cold",    "hazmat",
                                              "finance", "it",   "quality", "lab"};
static const char *const reading_names[N_READINGS] = {"speed", "temp", "pressure"};
static const char *const trainings[] = {"press-safety", "forklift", "haccp", "lockout"};

static char zones[N_ZONES][32];

/* ---- a deterministic user and plant ---- */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static unsigned pick(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

struct grant_store {
	struct vouch_policy_perm perms[N_ROLES * GRANTS_MAX];
	const char *tags[N_ROLES * GRANTS_MAX][2];
	struct vouch_policy_window windows[N_ROLES * GRANTS_MAX][2];
	struct vouch_policy_reading_cond readings[N_ROLES * GRANTS_MAX][2];
	size_t n;
};

static void make_zones(void)
{
	size_t z = 0;

	/* plant/hall-a..e, each with line-1..3, plus offices and stores: 24 zones. */
	for (char hall = 'a'; hall <= 'e'; hall++) {
		snprintf(zones[z++], sizeof(zones[0]), "plant/hall-%c", hall);
		for (int line = 1; line <= 3; line++)
			snprintf(zones[z++], sizeof(zones[0]), "plant/hall-%c/line-%d", hall, line);
	}
	snprintf(zones[z++], sizeof(zones[0]), "plant/office");
	snprintf(zones[z++], sizeof(zones[0]), "plant/office/finance");
	snprintf(zones[z++], sizeof(zones[0]), "plant/store");
	snprintf(zones[z++], sizeof(zones[0]), "plant/lab");
}

static void make_grants(struct grant_store *g)
{
	static const struct vouch_policy_window shifts[] = {
	    {0x1f, 360, 840}, {0x1f, 840, 1320}, {0x1f, 1320, 360}, {0x60, 480, 1080},
	    {0x7f, 0, 1440},  {0x1f, 420, 1140}, {0x15, 600, 720},  {0x0a, 360, 600},
	};

	g->n = 0;
	for (unsigned role = 0; role < N_ROLES; role++) {
		unsigned n = 8 + pick(5); /* 8..12 grants, about 10 */

		for (unsigned k = 0; k < n; k++) {
			size_t i = g->n++;
			struct vouch_policy_perm *p = &g->perms[i];

			memset(p, 0, sizeof(*p));
			p->role = (uint16_t)role;
			p->deny = pick(20) == 0;
			/* Selector: mostly a zone and a type, sometimes tags or an id. */
			if (pick(8) != 0)
				p->zone = zones[pick(N_ZONES)];
			if (pick(5) != 0)
				p->type = types[pick(VOUCH_ARRAY_LEN(types))];
			if (pick(4) == 0) {
				g->tags[i][0] = tag_names[pick(N_TAGS)];
				g->tags[i][1] = tag_names[pick(N_TAGS)];
				p->tags = g->tags[i];
				p->n_tags = 1 + pick(2);
			}
			if (pick(15) == 0)
				p->id = "res-42";
			p->actions = 0;
			for (unsigned a = 1 + pick(4); a > 0; a--)
				p->actions |= 1u << pick(N_ACTIONS);
			/* Conditions. */
			if (pick(2) == 0) {
				g->windows[i][0] = shifts[pick(VOUCH_ARRAY_LEN(shifts))];
				g->windows[i][1] = shifts[pick(VOUCH_ARRAY_LEN(shifts))];
				p->windows = g->windows[i];
				p->n_windows = 1 + pick(2) * pick(2);
			}
			if (pick(3) == 0) {
				g->readings[i][0] = (struct vouch_policy_reading_cond){
				    reading_names[pick(N_READINGS)], (enum vouch_policy_op)pick(6),
				    (double)pick(100)};
				g->readings[i][1] = (struct vouch_policy_reading_cond){
				    reading_names[pick(N_READINGS)], VOUCH_POLICY_LT, 80.5};
				p->readings = g->readings[i];
				p->n_readings = 1 + pick(2);
			}
			if (pick(3) == 0) {
				p->training = trainings[pick(VOUCH_ARRAY_LEN(trainings))];
				p->training_expires =
				    BENCH_NOW + (int64_t)pick(400) * 86400 - 30 * 86400;
			}
			if (pick(5) == 0)
				p->person_zone = pick(2) ? "@resource" : zones[pick(N_ZONES)];
			if (pick(5) == 0) {
				p->valid_from = 1767225600;
				p->valid_until = BENCH_NOW + (int64_t)pick(2) * 86400 * 90 - 86400;
			}
		}
	}
}

struct plant {
	struct vouch_policy_resource res[N_RES];
	char ids[N_RES][16];
	const char *tags[N_RES][3];
	struct vouch_policy_reading readings[N_RES][N_READINGS];
};

static void make_plant(struct plant *pl)
{
	for (unsigned i = 0; i < N_RES; i++) {
		struct vouch_policy_resource *r = &pl->res[i];
		unsigned nt = pick(4);

		snprintf(pl->ids[i], sizeof(pl->ids[i]), "res-%u", i);
		for (unsigned t = 0; t < 3; t++)
			pl->tags[i][t] = tag_names[pick(N_TAGS)];
		*r = (struct vouch_policy_resource){pl->ids[i], types[pick(VOUCH_ARRAY_LEN(types))],
		                                    zones[pick(N_ZONES)], pl->tags[i], nt};
		for (unsigned k = 0; k < N_READINGS; k++)
			pl->readings[i][k] =
			    (struct vouch_policy_reading){reading_names[k], (double)pick(120)};
	}
}

/* ---- timing ---- */

typedef int (*bench_fn)(void *arg);

/* ops/s of fn over one round of seconds */
static double rate(bench_fn fn, void *arg, double seconds)
{
	double r;

	if (bench_rate(fn, arg, seconds, 16, &r) != 0) {
		fprintf(stderr, "bench_policy: operation failed\n");
		exit(1);
	}
	return r;
}

struct ctx {
	const uint8_t *perm;
	size_t perm_len;
	struct vouch_policy_view view;
	struct plant *plant;
	size_t next; /* (resource, action) pair, cycling */
	unsigned permits;
	/* the peer */
	struct vouch_key pub;
	uint8_t msg[512];
	size_t msg_len;
	uint8_t sig[VOUCH_P256_SIG_LEN];
	size_t sig_len;
	char text[1024];
};

static struct vouch_policy_request request_of(struct ctx *c, size_t pair)
{
	size_t r = pair / N_ACTIONS;

	return (struct vouch_policy_request){
	    &c->plant->res[r], 1u << (pair % N_ACTIONS), BENCH_NOW,
	    PERSON_ZONE,       c->plant->readings[r],    N_READINGS};
}

static int one_decision(void *arg)
{
	struct ctx *c = arg;
	struct vouch_policy_request q = request_of(c, c->next);
	struct vouch_policy_decision d;
	int rc = vouch_policy_decide(&c->view, &q, &d);

	c->permits += d.permit;
	c->next = (c->next + 1) % (N_RES * N_ACTIONS);
	return rc;
}

static int one_view_init(void *arg)
{
	struct ctx *c = arg;
	struct vouch_policy_view v;

	return vouch_policy_view_init(&v, c->perm, c->perm_len);
}

static int one_explain(void *arg)
{
	struct ctx *c = arg;
	struct vouch_policy_request q = request_of(c, c->next);
	struct vouch_policy_decision d;
	int rc = vouch_policy_decide(&c->view, &q, &d);

	c->next = (c->next + 1) % (N_RES * N_ACTIONS);
	return rc != VOUCH_OK ? rc
	                      : vouch_policy_explain(&c->view, &q, &d, c->text, sizeof(c->text));
}

static int one_verify(void *arg)
{
	struct ctx *c = arg;
	struct vouch_iov iov = {c->msg, c->msg_len};

	return vouch_verify(&c->pub, &iov, 1, c->sig, c->sig_len);
}

static int setup_peer(struct ctx *c)
{
	struct vouch_key key;
	uint8_t point[VOUCH_P256_POINT_LEN];
	size_t point_len;
	struct vouch_iov iov;
	int rc;

	/* A credential-sized message: the permissions are most of a credential's claims. */
	c->msg_len = c->perm_len < sizeof(c->msg) ? c->perm_len : sizeof(c->msg);
	memcpy(c->msg, c->perm, c->msg_len);
	iov = (struct vouch_iov){c->msg, c->msg_len};
	vouch_key_init(&key);
	vouch_key_init(&c->pub);
	rc = vouch_key_generate(&key, VOUCH_KEY_P256);
	if (rc == VOUCH_OK)
		rc = vouch_key_export_public(&key, point, sizeof(point), &point_len);
	if (rc == VOUCH_OK)
		rc = vouch_key_import_public(&c->pub, VOUCH_KEY_P256, point, point_len);
	if (rc == VOUCH_OK)
		rc = vouch_sign(&key, &iov, 1, c->sig, sizeof(c->sig), &c->sig_len);
	vouch_key_clear(&key);
	return rc;
}

/* The reasons over every pair once, for the header: the mix is not all one answer. */
static void census(struct ctx *c)
{
	unsigned count[10] = {0};

	for (size_t pair = 0; pair < N_RES * N_ACTIONS; pair++) {
		struct vouch_policy_request q = request_of(c, pair);
		struct vouch_policy_decision d;

		if (vouch_policy_decide(&c->view, &q, &d) == VOUCH_OK && (unsigned)d.reason < 10)
			count[d.reason]++;
	}
	printf("the %d pairs decide:", N_RES * N_ACTIONS);
	for (unsigned i = 0; i < 10; i++)
		if (count[i] > 0)
			printf(" %s %u", vouch_policy_reason_name((enum vouch_policy_reason)i),
			       count[i]);
	printf("\n");
}

int main(void)
{
	static struct grant_store g;
	static struct plant pl;
	static uint8_t perm[VOUCH_POLICY_ENCODED_MAX];
	static struct ctx c;
	const char *q = getenv("BENCH_QUICK");
	bool quick = q != NULL && strcmp(q, "0") != 0;
	int rounds = quick ? 1 : ROUNDS;
	double round_s = quick ? 0.05 : ROUND_S;
	double dec[ROUNDS], ver[ROUNDS], vi[ROUNDS], ex[ROUNDS];
	double m_dec, m_ver, m_vi, m_ex;
	char load[64];
	struct vouch_policy_set set;
	size_t perm_len;
	int rc;

	bench_loadavg(load, sizeof(load));

	make_zones();
	make_grants(&g);
	make_plant(&pl);
	set = (struct vouch_policy_set){BENCH_TZ, role_names, N_ROLES, g.perms, g.n};
	rc = vouch_policy_encode(&set, perm, sizeof(perm), &perm_len);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "bench_policy: encode: %s\n", vouch_strerror(rc));
		return 1;
	}
	c.perm = perm;
	c.perm_len = perm_len;
	c.plant = &pl;
	rc = vouch_policy_view_init(&c.view, perm, perm_len);
	if (rc == VOUCH_OK)
		rc = setup_peer(&c);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "bench_policy: setup: %s\n", vouch_strerror(rc));
		return 1;
	}

	printf("vouch bench: policy decisions (crypto back-end %s, %s)\n", vouch_crypto_backend(),
	       OpenSSL_version(OPENSSL_VERSION));
	printf(
	    "load average %s at the start; medians of %d alternating rounds of %.2f s per side%s\n",
	    load, rounds, round_s,
	    quick ? " (BENCH_QUICK: a smoke run, not figures to quote)" : "");
	printf("user: %d roles, %zu permissions, encoded %zu bytes (limit %d); %d resources x %d "
	       "actions = %d pairs\n",
	       N_ROLES, g.n, perm_len, VOUCH_POLICY_ENCODED_MAX, N_RES, N_ACTIONS,
	       N_RES * N_ACTIONS);
	census(&c);

	for (int r = 0; r < rounds; r++) {
		bool peer_first = r % 2 == 0;

		for (int side = 0; side < 2; side++) {
			if ((side == 0) == peer_first) {
				ver[r] = rate(one_verify, &c, round_s);
			} else {
				dec[r] = rate(one_decision, &c, round_s);
				vi[r] = rate(one_view_init, &c, round_s);
				ex[r] = rate(one_explain, &c, round_s / 3);
			}
		}
	}
	m_dec = bench_median(dec, (size_t)rounds);
	m_ver = bench_median(ver, (size_t)rounds);
	m_vi = bench_median(vi, (size_t)rounds);
	m_ex = bench_median(ex, (size_t)rounds);

	printf("  decide            %9.0f decisions/s (%6.2f us) | vouch_verify ES256 %7.0f "
	       "verifies/s "
	       "(%6.1f us) | a decision costs %.1f%% of one signature verify\n",
	       m_dec, 1e6 / m_dec, m_ver, 1e6 / m_ver, 100.0 * m_ver / m_dec);
	printf("  view_init         %9.0f validations/s (%6.2f us) | view_init costs %.1f%% of one "
	       "signature verify (once per credential)\n",
	       m_vi, 1e6 / m_vi, 100.0 * m_ver / m_vi);
	printf("  decide + explain  %9.0f /s (%6.2f us each; `policy explain` target: well under "
	       "10 ms)\n",
	       m_ex, 1e6 / m_ex);
	vouch_key_clear(&c.pub);
	return 0;
}
