/*
 * Offline access decisions per second on the sensor agent (issue 5), through the handlers the
 * CoAP/OSCORE layer calls, with no network: a decision is POST /authz-info (the phone's CWT
 * credential: COSE_Sign1 verified under the issuer key, claims, cnf against the key the phone
 * proved in EDHOC, the revocation list) then POST /access "enter" (policy against the sensor's
 * clock and readings, a signed access event whose sequence number and record are made durable).
 * The site (CA, keys, credential, list) is the sensor tests' (tests/sensor/site.c); the phone's
 * session is secured as EDHOC would leave it, so EDHOC itself and OSCORE are not in the figure.
 *
 * Next to it, in alternating rounds of the same run, the same back-end's raw ECDSA P-256 rates:
 * psa_verify_hash with a public key and psa_sign_hash with a key pair (PSA flavour), or the
 * port's vouch_verify / vouch_sign on a 32-byte message (OpenSSL flavour, bench_sensor_openssl).
 * Verification is what a decision cannot avoid; the access event adds one signature. So the
 * ratios are decisions/s over verifies/s, and decisions/s over 1 / (t_verify + t_sign).
 *
 * Then, once: the stack high-water mark of each handler (run on a thread whose stack was painted
 * with a pattern; the bytes below the thread function's frame that were written), the heap
 * allocations of one decision made by the code linked statically (this program is linked with
 * --wrap=malloc,calloc,realloc,free; in the PSA flavour that is the agent, libvouch and Mbed TLS),
 * and the agent's static RAM (sizeof struct vouch_sensor).
 *
 * The state directory is on tmpfs (/dev/shm: fsync costs nothing, so the figure is the CPU cost)
 * and a second sensor keeps its state on disk (BENCH_SENSOR_DISK, default /tmp: every decision
 * makes three fsyncs), shown as a ratio to the first. Logs are formatted and written to
 * /dev/null, as the agent writes them to stderr.
 *
 *   bench_sensor              the rounds and the figures above (BENCH_QUICK=1: a smoke run)
 *   bench_sensor --once N     set up, then exactly N decisions, nothing else (for callgrind:
 *                             scripts/bench.sh counts instructions with N and 2N)
 */
#define _GNU_SOURCE /* mkdtemp, malloc_usable_size */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>

#include "bench_util.h"
#include "site.h"
#include "vouch/log.h"
#ifdef BENCH_SENSOR_PSA
#include <mbedtls/version.h>
#include <psa/crypto.h>
#else
#include <openssl/crypto.h>
#endif

#define ROUNDS      7
#define ROUND_S     0.4 /* per side and round */
#define N_REVOKED   100 /* entries of the list the sensor holds (checked twice per decision) */
#define HOUR        3600
#define STACK_BYTES (1024 * 1024)
#define PAINT       0xa5
#define TMPFS_MAGIC 0x01021994

/* ---- heap: every allocation of the code linked statically ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

struct heap_count {
	unsigned long calls;
	size_t bytes;         /* asked for */
	long long live, peak; /* usable bytes held since counting began */
};
static bool counting;
static struct heap_count heap;

static void heap_took(void *p, size_t n)
{
	if (!counting || p == NULL)
		return;
	heap.calls++;
	heap.bytes += n;
	heap.live += (long long)malloc_usable_size(p);
	if (heap.live > heap.peak)
		heap.peak = heap.live;
}

void *__wrap_malloc(size_t n)
{
	void *p = __real_malloc(n);

	heap_took(p, n);
	return p;
}

void *__wrap_calloc(size_t n, size_t m)
{
	void *p = __real_calloc(n, m);

	heap_took(p, n * m);
	return p;
}

void *__wrap_realloc(void *p, size_t n)
{
	void *q;

	if (counting && p != NULL)
		heap.live -= (long long)malloc_usable_size(p);
	q = __real_realloc(p, n);
	heap_took(q, n);
	return q;
}

void __wrap_free(void *p)
{
	if (counting && p != NULL)
		heap.live -= (long long)malloc_usable_size(p);
	__real_free(p);
}

/* ---- the site and the sensors ---- */

struct rig {
	struct vouch_sensor *s;
	struct sensor_session *sess;
	char dir[64];
	bool tmpfs;
};

static struct site site;
static struct vouch_key phone;
static struct vouch_sensor sensor_mem, sensor_disk;
static struct rig shm, disk;
static uint8_t cred[VOUCH_CRED_MAX], list[16384], req[32], out[SENSOR_PAYLOAD_MAX];
static size_t cred_len, list_len, req_len, out_len;
static unsigned code;

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_sensor: %s: %s\n", what, vouch_strerror(rc));
	exit(1);
}

/* A list of N_REVOKED entries (90% token hashes, 10% people), none of them this credential. */
static void make_list(void)
{
	static uint8_t values[N_REVOKED][VOUCH_TOKEN_HASH_LEN];
	static char names[N_REVOKED][16];
	struct vouch_revlist_entry e[N_REVOKED];

	for (size_t i = 0; i < N_REVOKED; i++) {
		e[i].revoked_at = SITE_T0 - 86400 + (int64_t)i;
		if (i % 10 == 9) {
			snprintf(names[i], sizeof(names[i]), "user-%zu", i);
			e[i].kind = VOUCH_REVLIST_SUBJECT;
			e[i].value = (const uint8_t *)names[i];
			e[i].value_len = strlen(names[i]);
		} else {
			if (vouch_random(values[i], sizeof(values[i])) != VOUCH_OK)
				die("random", VOUCH_ERR_CRYPTO);
			e[i].kind = VOUCH_REVLIST_TOKEN;
			e[i].value = values[i];
			e[i].value_len = sizeof(values[i]);
		}
	}
	list_len = site_revlist(&site, NULL, 1, SITE_T0 - 10, e, N_REVOKED, list, sizeof(list));
}

static void rig_up(struct rig *r, struct vouch_sensor *s, const char *parent, uint8_t cid)
{
	uint8_t d[VOUCH_P256_SCALAR_LEN];
	struct statfs fs;
	int rc;

	r->s = s;
	snprintf(r->dir, sizeof(r->dir), "%s/vouch-bench-sensor-XXXXXX", parent);
	if (mkdtemp(r->dir) == NULL) {
		/* No such parent (no /dev/shm): the usual temporary directory. */
		snprintf(r->dir, sizeof(r->dir), "/tmp/vouch-bench-sensor-XXXXXX");
		if (mkdtemp(r->dir) == NULL)
			die("mkdtemp", VOUCH_ERR_IO);
	}
	r->tmpfs = statfs(r->dir, &fs) == 0 && (unsigned long)fs.f_type == TMPFS_MAGIC;
	site_devkey(d);
	rc = site_start(s, r->dir, d);
	vouch_wipe(d, sizeof(d));
	if (rc != VOUCH_OK)
		die("sensor start", rc);
	site_commission(&site, s);
	if (sensor_handle_revocations(s, NULL, list, list_len, out, sizeof(out), &out_len, &code) !=
	        VOUCH_OK ||
	    code != SENSOR_CHANGED || !s->has_rl || s->rl.n_entries != N_REVOKED)
		die("revocation list not taken", VOUCH_ERR_INVALID);
	r->sess = site_session(s, &phone, cid);
}

static void rig_down(struct rig *r)
{
	if (r->s == NULL)
		return;
	sensor_stop(r->s);
	site_rmdir(r->dir);
	r->s = NULL;
}

/* A bench that fails leaves no state directory behind. */
static void remove_dirs(void)
{
	if (shm.s != NULL)
		site_rmdir(shm.dir);
	if (disk.s != NULL)
		site_rmdir(disk.dir);
}

static void setup(bool with_disk)
{
	struct vouch_cbor_writer w;
	const char *parent = getenv("BENCH_SENSOR_DISK");
	FILE *devnull = fopen("/dev/null", "w");

	if (devnull == NULL || atexit(remove_dirs) != 0)
		die("/dev/null", VOUCH_ERR_IO);
	vouch_log_init("bench_sensor", VOUCH_LOG_INFO, devnull);
	site_now = SITE_T0; /* Tuesday 09:00 CET: inside the operator's enter window */
	site_init(&site);
	vouch_key_init(&phone);
	if (vouch_key_generate(&phone, VOUCH_KEY_P256) != VOUCH_OK)
		die("phone key", VOUCH_ERR_CRYPTO);
	cred_len = site_credential(&site, "alice", &phone, NULL, SITE_T0 - 60, SITE_T0 + 8 * HOUR,
	                           false, cred, sizeof(cred));
	vouch_cbor_writer_init(&w, req, sizeof(req));
	vouch_cbor_write_map(&w, 1);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_cstr(&w, "enter");
	if (vouch_cbor_writer_finish(&w, &req_len) != VOUCH_OK)
		die("request", VOUCH_ERR_BUFFER);
	make_list();
	rig_up(&shm, &sensor_mem, "/dev/shm", 1);
	if (with_disk)
		rig_up(&disk, &sensor_disk, parent != NULL ? parent : "/tmp", 1);
}

static void teardown(void)
{
	rig_down(&shm);
	rig_down(&disk);
	vouch_key_clear(&phone);
	site_clear(&site);
}

/* ---- the operations ---- */

typedef int (*bench_fn)(void *arg);

static int op_authz(void *arg)
{
	struct rig *r = arg;
	int rc = sensor_handle_authz_info(r->s, r->sess, cred, cred_len, out, sizeof(out), &out_len,
	                                  &code);

	return rc == VOUCH_OK && code == SENSOR_CREATED ? 0 : -1;
}

/* Granted: {1: true, 2: reason, 3: event}. */
static int op_access(void *arg)
{
	struct rig *r = arg;
	int rc =
	    sensor_handle_access(r->s, r->sess, req, req_len, out, sizeof(out), &out_len, &code);

	return rc == VOUCH_OK && code == SENSOR_CONTENT && out_len > 3 && out[0] == 0xa3 &&
	               out[1] == 0x01 && out[2] == 0xf5
	           ? 0
	           : -1;
}

static int op_decision(void *arg)
{
	return op_authz(arg) == 0 && op_access(arg) == 0 ? 0 : -1;
}

/* The peer: the back-end's ECDSA P-256 alone. */
struct peer {
#ifdef BENCH_SENSOR_PSA
	psa_key_id_t pair, pub;
#else
	struct vouch_key pair, pub;
#endif
	uint8_t hash[VOUCH_SHA256_LEN];
	uint8_t sig[VOUCH_P256_SIG_LEN];
	size_t sig_len;
};

#ifdef BENCH_SENSOR_PSA
#define PEER_NAME "PSA ECDSA P-256 (psa_verify_hash / psa_sign_hash)"
#define ES256     PSA_ALG_ECDSA(PSA_ALG_SHA_256)

static int op_verify(void *arg)
{
	struct peer *p = arg;

	return psa_verify_hash(p->pub, ES256, p->hash, sizeof(p->hash), p->sig, p->sig_len) ==
	               PSA_SUCCESS
	           ? 0
	           : -1;
}

static int op_sign(void *arg)
{
	struct peer *p = arg;
	uint8_t sig[VOUCH_P256_SIG_LEN];
	size_t len = 0;

	return psa_sign_hash(p->pair, ES256, p->hash, sizeof(p->hash), sig, sizeof(sig), &len) ==
	               PSA_SUCCESS
	           ? 0
	           : -1;
}

/* A key pair to sign with and its public half alone to verify with, as the sensor holds them
 * (a PSA key pair would make every verify recompute the public point). */
static void peer_up(struct peer *p)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	uint8_t point[VOUCH_P256_POINT_LEN];
	size_t len = 0;

	if (psa_crypto_init() != PSA_SUCCESS)
		die("psa_crypto_init", VOUCH_ERR_CRYPTO);
	psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
	psa_set_key_bits(&a, 256);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_SIGN_HASH);
	psa_set_key_algorithm(&a, ES256);
	if (psa_generate_key(&a, &p->pair) != PSA_SUCCESS ||
	    psa_export_public_key(p->pair, point, sizeof(point), &len) != PSA_SUCCESS)
		die("peer key", VOUCH_ERR_CRYPTO);
	psa_reset_key_attributes(&a);
	psa_set_key_type(&a, PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1));
	psa_set_key_bits(&a, 256);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_VERIFY_HASH);
	psa_set_key_algorithm(&a, ES256);
	if (psa_import_key(&a, point, len, &p->pub) != PSA_SUCCESS ||
	    vouch_random(p->hash, sizeof(p->hash)) != VOUCH_OK ||
	    psa_sign_hash(p->pair, ES256, p->hash, sizeof(p->hash), p->sig, sizeof(p->sig),
	                  &p->sig_len) != PSA_SUCCESS)
		die("peer signature", VOUCH_ERR_CRYPTO);
}

static void peer_down(struct peer *p)
{
	psa_destroy_key(p->pair);
	psa_destroy_key(p->pub);
}

static const char *backend_version(void)
{
	return MBEDTLS_VERSION_STRING_FULL;
}
#else
#define PEER_NAME "OpenSSL ECDSA P-256 (vouch_verify / vouch_sign, 32-byte message)"

static int op_verify(void *arg)
{
	struct peer *p = arg;
	struct vouch_iov iov = {p->hash, sizeof(p->hash)};

	return vouch_verify(&p->pub, &iov, 1, p->sig, p->sig_len) == VOUCH_OK ? 0 : -1;
}

static int op_sign(void *arg)
{
	struct peer *p = arg;
	struct vouch_iov iov = {p->hash, sizeof(p->hash)};
	uint8_t sig[VOUCH_P256_SIG_LEN];
	size_t len = 0;

	return vouch_sign(&p->pair, &iov, 1, sig, sizeof(sig), &len) == VOUCH_OK ? 0 : -1;
}

static void peer_up(struct peer *p)
{
	struct vouch_iov iov = {p->hash, sizeof(p->hash)};
	uint8_t point[VOUCH_P256_POINT_LEN];
	size_t len = 0;

	vouch_key_init(&p->pair);
	vouch_key_init(&p->pub);
	if (vouch_key_generate(&p->pair, VOUCH_KEY_P256) != VOUCH_OK ||
	    vouch_key_export_public(&p->pair, point, sizeof(point), &len) != VOUCH_OK ||
	    vouch_key_import_public(&p->pub, VOUCH_KEY_P256, point, len) != VOUCH_OK ||
	    vouch_random(p->hash, sizeof(p->hash)) != VOUCH_OK ||
	    vouch_sign(&p->pair, &iov, 1, p->sig, sizeof(p->sig), &p->sig_len) != VOUCH_OK)
		die("peer key", VOUCH_ERR_CRYPTO);
}

static void peer_down(struct peer *p)
{
	vouch_key_clear(&p->pair);
	vouch_key_clear(&p->pub);
}

static const char *backend_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}
#endif

/* ---- timing ---- */

/* ops/s of fn over one round of seconds (each op is a signature or more: time is read every
 * op) */
static double rate(const char *what, bench_fn fn, void *arg, double seconds)
{
	double r;

	if (bench_rate(fn, arg, seconds, 1, &r) != 0) {
		fprintf(stderr, "bench_sensor: %s failed\n", what);
		exit(1);
	}
	return r;
}

/* ---- stack and heap of one operation ---- */

struct stack_job {
	bench_fn fn;
	void *arg;
	int rc;
	uintptr_t top;
};

static void *stack_thread(void *arg)
{
	struct stack_job *j = arg;

	j->top = (uintptr_t)__builtin_frame_address(0);
	j->rc = j->fn(j->arg);
	return NULL;
}

/* Bytes of stack fn used below the frame of the thread function that called it. */
static size_t stack_used(bench_fn fn, void *arg)
{
	struct stack_job j = {fn, arg, -1, 0};
	pthread_attr_t attr;
	pthread_t th;
	uint8_t *mem;
	size_t i = 0;

	mem = mmap(NULL, STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap", VOUCH_ERR_IO);
	memset(mem, PAINT, STACK_BYTES);
	if (pthread_attr_init(&attr) != 0 || pthread_attr_setstack(&attr, mem, STACK_BYTES) != 0 ||
	    pthread_create(&th, &attr, stack_thread, &j) != 0 || pthread_join(th, NULL) != 0)
		die("thread", VOUCH_ERR_INTERNAL);
	pthread_attr_destroy(&attr);
	if (j.rc != 0)
		die("operation on the painted stack", VOUCH_ERR_INTERNAL);
	while (i < STACK_BYTES && mem[i] == PAINT)
		i++;
	munmap(mem, STACK_BYTES);
	return j.top - (uintptr_t)(mem + i);
}

static struct heap_count heap_of(bench_fn fn, void *arg)
{
	int rc;

	memset(&heap, 0, sizeof(heap));
	counting = true;
	rc = fn(arg);
	counting = false;
	if (rc != 0)
		die("operation while counting the heap", VOUCH_ERR_INTERNAL);
	return heap;
}

/* ---- main ---- */

static int once(long n)
{
	setup(false);
	for (long i = 0; i < n; i++)
		if (op_decision(&shm) != 0)
			die("decision", VOUCH_ERR_INTERNAL);
	teardown();
	printf("bench_sensor --once: %ld decisions\n", n);
	return 0;
}

enum side { S_DECISION, S_VERIFY, S_SIGN, S_AUTHZ, S_ACCESS, S_DISK, N_SIDES };

int main(int argc, char **argv)
{
	const char *q = getenv("BENCH_QUICK");
	bool quick = q != NULL && strcmp(q, "0") != 0;
	int rounds = quick ? 1 : ROUNDS;
	double round_s = quick ? 0.1 : ROUND_S;
	double v[N_SIDES][ROUNDS], m[N_SIDES], t_vs;
	struct heap_count h_authz, h_access;
	size_t st_authz, st_access, st_decision;
	static struct peer peer;
	char load[64];

	if (argc == 3 && strcmp(argv[1], "--once") == 0) {
		char *end;
		long n = strtol(argv[2], &end, 10);

		if (*end != '\0' || n < 0)
			goto usage;
		return once(n);
	}
	if (argc != 1)
		goto usage;

	bench_loadavg(load, sizeof(load));
	setup(true);
	peer_up(&peer);
	printf("vouch bench: sensor offline decisions (crypto back-end %s, %s)\n",
	       vouch_crypto_backend(), backend_version());
	printf(
	    "load average %s at the start; medians of %d alternating rounds of %.2f s per side%s\n",
	    load, rounds, round_s,
	    quick ? " (BENCH_QUICK: a smoke run, not figures to quote)" : "");
	printf("decision = /authz-info (CWT %zu bytes: COSE_Sign1 ES256 verify, claims, cnf, list "
	       "of %d) + /access \"enter\" (policy, granted, signed event, seq + record durable)\n",
	       cred_len, N_REVOKED);
	printf("state on %s (%s) and, for the disk line, %s (%s)\n", shm.dir,
	       shm.tmpfs ? "tmpfs" : "not tmpfs", disk.dir, disk.tmpfs ? "tmpfs" : "not tmpfs");

	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < N_SIDES; k++) {
			int side = r % 2 == 0 ? k : N_SIDES - 1 - k;

			switch ((enum side)side) {
			case S_DECISION:
				v[side][r] = rate("decision", op_decision, &shm, round_s);
				break;
			case S_VERIFY:
				v[side][r] = rate("verify", op_verify, &peer, round_s);
				break;
			case S_SIGN:
				v[side][r] = rate("sign", op_sign, &peer, round_s);
				break;
			case S_AUTHZ:
				v[side][r] = rate("authz-info", op_authz, &shm, round_s / 2);
				break;
			case S_ACCESS:
				v[side][r] = rate("access", op_access, &shm, round_s / 2);
				break;
			case S_DISK:
				v[side][r] = rate("decision on disk", op_decision, &disk, round_s);
				break;
			case N_SIDES:
				break;
			}
		}
	}
	for (int k = 0; k < N_SIDES; k++)
		m[k] = bench_median(v[k], (size_t)rounds);
	t_vs = 1.0 / m[S_VERIFY] + 1.0 / m[S_SIGN];

	printf("  decision     %8.0f decisions/s (%7.1f us) | %s: verify %7.0f/s (%6.1f us), sign "
	       "%7.0f/s (%6.1f us)\n",
	       m[S_DECISION], 1e6 / m[S_DECISION], PEER_NAME, m[S_VERIFY], 1e6 / m[S_VERIFY],
	       m[S_SIGN], 1e6 / m[S_SIGN]);
	printf("    decisions/s / verifies/s = %.3f (1 would mean the credential's verify is all a "
	       "decision costs)\n",
	       m[S_DECISION] / m[S_VERIFY]);
	printf(
	    "    decisions/s x (t_verify + t_sign) = %.3f (1 would mean verify + the event's sign "
	    "are all it costs: %.0f/s)\n",
	    m[S_DECISION] * t_vs, 1.0 / t_vs);
	printf("  authz-info   %8.0f /s (%7.1f us) | verify %7.1f us | ratio %.3f\n", m[S_AUTHZ],
	       1e6 / m[S_AUTHZ], 1e6 / m[S_VERIFY], m[S_AUTHZ] / m[S_VERIFY]);
	printf("  access       %8.0f /s (%7.1f us) | sign   %7.1f us | ratio %.3f\n", m[S_ACCESS],
	       1e6 / m[S_ACCESS], 1e6 / m[S_SIGN], m[S_ACCESS] / m[S_SIGN]);
	printf("  on disk      %8.0f decisions/s (%7.1f us) | same on tmpfs: ratio %.3f (the "
	       "fsyncs: state + dir + queue)\n",
	       m[S_DISK], 1e6 / m[S_DISK], m[S_DISK] / m[S_DECISION]);

	/* Once, warm: stack and heap. */
	st_authz = stack_used(op_authz, &shm);
	st_access = stack_used(op_access, &shm);
	st_decision = stack_used(op_decision, &shm);
	h_authz = heap_of(op_authz, &shm);
	h_access = heap_of(op_access, &shm);
	printf("  stack high-water mark (this build, x86-64; painted stack): authz-info %zu B, "
	       "access %zu B, decision %zu B | uoscore-uedhoc publishes 6,160-6,916 B (EDHOC + "
	       "OSCORE, stack only, Cortex-M4; not measured here)\n",
	       st_authz, st_access, st_decision);
	printf("  heap, code linked statically (%s): authz-info %lu allocations (%zu B asked, peak "
	       "%lld B held), access %lu (%zu B, peak %lld B)\n",
#ifdef BENCH_SENSOR_PSA
	       "agent + libvouch + Mbed TLS",
#else
	       "agent + libvouch + Mbed TLS X.509; OpenSSL is shared, not counted",
#endif
	       h_authz.calls, h_authz.bytes, h_authz.peak, h_access.calls, h_access.bytes,
	       h_access.peak);
	printf("  static RAM of the agent: struct vouch_sensor %zu B = %d sessions x %zu B (each "
	       "keeps a credential of up to %d B) + scratch %d B + state %zu B + the rest\n",
	       sizeof(struct vouch_sensor), SENSOR_SESSIONS, sizeof(struct sensor_session),
	       SENSOR_CRED_MAX, (int)SENSOR_SCRATCH_MAX, sizeof(struct sensor_state));

	peer_down(&peer);
	teardown();
	return 0;
usage:
	fprintf(stderr, "usage: bench_sensor [--once N]\n");
	return 2;
}
