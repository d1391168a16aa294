/*
 * Offline decisions (sensor/decide.c, sensor/revocations.c) through the handlers the CoAP layer
 * calls, with credentials issued by lib/cred and a policy from vouch_policy_encode: granted,
 * denied by the weekly window, by a reading, revoked (by token hash, by subject), bound to
 * another phone key, for another audience, expired (before and during a session), under another
 * issuer, the stricter mode of a stale (or missing) list, malformed requests; every decision
 * becomes a signed access event in the queue. Built with SENSOR_TEST_NOHEAP (test_sensor_noheap)
 * it also counts the heap allocations of the decision path: none.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "site.h"
#include "util.h"
#include "vouch/cbor.h"
#include "vouch/log.h"

#define HOUR 3600

static struct site site;
static struct vouch_sensor sensor;
static struct vouch_key phone_a, phone_b, sensor_pub;
static uint8_t out[SENSOR_PAYLOAD_MAX], cred[VOUCH_CRED_MAX], list[8192];
static size_t out_len;
static unsigned code;
static char dir[64];
static uint8_t devkey[VOUCH_P256_SCALAR_LEN];

#ifdef SENSOR_TEST_NOHEAP
/* Linked with --wrap=malloc,--wrap=calloc,--wrap=realloc: every allocation made by code linked
 * statically into this test (the agent, libvouch, Mbed TLS) is counted while `counting` is set.
 * The shared libraries (OpenSSL's libcrypto, libcbor, the C library) are not wrapped: the crypto
 * library is left out on purpose. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
static bool counting;
static unsigned allocations;

void *__wrap_malloc(size_t n)
{
	allocations += counting;
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
	allocations += counting;
	return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
	allocations += counting;
	return __real_realloc(p, n);
}
#endif

static int setup(void **state)
{
	(void)state;
	site_init(&site);
	vouch_key_init(&phone_a);
	vouch_key_init(&phone_b);
	assert_int_equal(vouch_key_generate(&phone_a, VOUCH_KEY_P256), VOUCH_OK);
	assert_int_equal(vouch_key_generate(&phone_b, VOUCH_KEY_P256), VOUCH_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vouch_key_clear(&phone_a);
	vouch_key_clear(&phone_b);
	site_clear(&site);
	return 0;
}

static int rl(uint64_t version, int64_t issued_at, const struct vouch_revlist_entry *e, size_t n)
{
	size_t len = site_revlist(&site, NULL, version, issued_at, e, n, list, sizeof(list));

	assert_int_equal(
	    sensor_handle_revocations(&sensor, NULL, list, len, out, sizeof(out), &out_len, &code),
	    VOUCH_OK);
	return (int)code;
}

/* A commissioned sensor holding a fresh list (version 1), the clock at T0. */
static int sensor_up(void **state)
{
	(void)state;
	site_sensor_up(&sensor, dir, sizeof(dir), devkey, &sensor_pub);
	site_commission(&site, &sensor);
	assert_int_equal(rl(1, SITE_T0 - 10, NULL, 0), SENSOR_CHANGED);
	return 0;
}

static int sensor_down(void **state)
{
	(void)state;
	site_sensor_down(&sensor, dir, &sensor_pub);
	return 0;
}

static size_t issue(const char *sub, const struct vouch_key *phone, const char *aud, int64_t iat,
                    int64_t exp)
{
	return site_credential(&site, sub, phone, aud, iat, exp, false, cred, sizeof(cred));
}

static unsigned authz(struct sensor_session *sess, size_t len)
{
	assert_int_equal(
	    sensor_handle_authz_info(&sensor, sess, cred, len, out, sizeof(out), &out_len, &code),
	    VOUCH_OK);
	return code;
}

/* The reason of a 4.01 refusal {1: text}. */
static void refusal_reason(char *reason, size_t cap)
{
	struct vouch_cbor_reader r;
	const char *t;
	size_t n = 0, tl = 0;
	uint64_t key = 0;

	assert_int_equal(code, SENSOR_UNAUTHORIZED);
	assert_int_equal(vouch_cbor_validate(out, out_len, NULL), VOUCH_OK);
	vouch_cbor_reader_init(&r, out, out_len);
	assert_int_equal(vouch_cbor_read_map(&r, &n), VOUCH_OK);
	assert_int_equal(n, 1);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(key, 1);
	assert_int_equal(vouch_cbor_read_tstr(&r, &t, &tl), VOUCH_OK);
	assert_true(tl < cap);
	memcpy(reason, t, tl);
	reason[tl] = '\0';
}

static size_t request(const char *action, uint8_t *req, size_t cap)
{
	struct vouch_cbor_writer w;
	size_t len = 0;

	vouch_cbor_writer_init(&w, req, cap);
	vouch_cbor_write_map(&w, 1);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_cstr(&w, action);
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_OK);
	return len;
}

/* POST /access; the decision, its reason and its event (verified under the sensor's key). */
static bool access_(struct sensor_session *sess, const char *action, char *reason, size_t cap,
                    struct site_event *ev)
{
	struct vouch_cbor_reader r;
	uint8_t req[64];
	const uint8_t *e;
	const char *t;
	size_t n = 0, tl = 0, el = 0, len = request(action, req, sizeof(req));
	uint64_t key = 0;
	bool granted = false;

	assert_int_equal(
	    sensor_handle_access(&sensor, sess, req, len, out, sizeof(out), &out_len, &code),
	    VOUCH_OK);
	assert_int_equal(code, SENSOR_CONTENT);
	assert_int_equal(vouch_cbor_validate(out, out_len, NULL), VOUCH_OK);
	vouch_cbor_reader_init(&r, out, out_len);
	assert_int_equal(vouch_cbor_read_map(&r, &n), VOUCH_OK);
	assert_int_equal(n, 3);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(key, 1);
	assert_int_equal(vouch_cbor_read_bool(&r, &granted), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(key, 2);
	assert_int_equal(vouch_cbor_read_tstr(&r, &t, &tl), VOUCH_OK);
	assert_true(tl < cap);
	memcpy(reason, t, tl);
	reason[tl] = '\0';
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(key, 3);
	assert_int_equal(vouch_cbor_read_bstr(&r, &e, &el), VOUCH_OK);
	assert_true(vouch_cbor_reader_done(&r));
	site_event_read(e, el, &sensor_pub, ev);
	assert_string_equal(ev->kind, "access");
	assert_string_equal(ev->action, action);
	assert_true(ev->has_granted);
	assert_int_equal(ev->granted, granted);
	assert_string_equal(ev->reason, reason);
	assert_string_equal(ev->device, SITE_DEVICE);
	assert_int_equal(ev->time, site_now);
	return granted;
}

static void test_granted(void **state)
{
	struct sensor_session *sess = site_session(&sensor, &phone_a, 1);
	struct vouch_cred c;
	struct vouch_cred_rules rules = {SITE_ISS, SITE_AUD, SITE_T0, 0};
	struct site_event ev, queued[8];
	char reason[SENSOR_REASON_MAX];
	size_t len = issue("alice", &phone_a, NULL, SITE_T0 - 60, SITE_T0 + 8 * HOUR);

	(void)state;
	assert_int_equal(vouch_cred_verify(cred, len, &site.issuer, &rules, &c), VOUCH_OK);
	assert_int_equal(authz(sess, len), SENSOR_CREATED);
	assert_int_equal(out_len, 0);
	assert_true(access_(sess, "enter", reason, sizeof(reason), &ev));
	assert_string_equal(reason, "permit: role \"operator\" grants enter on zone=plant/hall-a, "
	                            "window Mon-Fri 06:00-14:00 (now Tue 09:00 CET)");
	assert_string_equal(ev.subject, "alice");
	assert_string_equal(ev.who, "phone-1");
	assert_int_equal(ev.cti_len, VOUCH_CRED_CTI_LEN);
	assert_memory_equal(ev.cti, c.claims.cti, VOUCH_CRED_CTI_LEN);
	assert_true(ev.has_rl_version);
	assert_int_equal(ev.rl_version, 1);
	assert_true(access_(sess, "read", reason, sizeof(reason), &ev));
	assert_false(access_(sess, "stop", reason, sizeof(reason), &ev));
	assert_non_null(strstr(reason, "deny: no role grants stop on"));
	/* commission, revocations (v1), enter, read, stop: in order, never a number twice. */
	assert_int_equal(site_queue_events(&sensor, &sensor_pub, queued, 8), 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(queued[i].seq, i + 1);
	assert_string_equal(queued[1].kind, "revocations");
	assert_string_equal(queued[4].action, "stop");
	assert_false(queued[4].granted);
}

static void test_window(void **state)
{
	struct sensor_session *sess = site_session(&sensor, &phone_a, 1);
	struct site_event ev;
	char reason[SENSOR_REASON_MAX];
	size_t len;

	(void)state;
	site_now = SITE_T0 + 11 * HOUR; /* Tuesday 20:00 CET */
	len = issue("alice", &phone_a, NULL, site_now - 60, site_now + 8 * HOUR);
	assert_int_equal(authz(sess, len), SENSOR_CREATED);
	assert_false(access_(sess, "enter", reason, sizeof(reason), &ev));
	assert_string_equal(reason, "deny: role \"operator\" grants enter on zone=plant/hall-a but "
	                            "now is Tue 20:00 CET, outside window Mon-Fri 06:00-14:00");
	assert_true(access_(sess, "read", reason, sizeof(reason), &ev)); /* any time */
}

static void test_reading(void **state)
{
	struct sensor_session *sess = site_session(&sensor, &phone_a, 1);
	char reason[SENSOR_REASON_MAX], path[SENSOR_PATH_MAX];
	struct site_event ev;
	FILE *f;

	(void)state;
	assert_int_equal(authz(sess, issue("alice", &phone_a, NULL, SITE_T0 - 60, SITE_T0 + HOUR)),
	                 SENSOR_CREATED);
	/* The machine's default 35 degrees: cool enough. */
	assert_true(access_(sess, "operate", reason, sizeof(reason), &ev));
	assert_int_equal(sensor_path(path, sizeof(path), dir, SENSOR_READINGS_FILE), VOUCH_OK);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("temperature=75\n", f);
	fclose(f);
	assert_false(access_(sess, "operate", reason, sizeof(reason), &ev));
	assert_string_equal(reason, "deny: role \"operator\" grants operate on type=machine but "
	                            "reading temperature=75 is not < 60");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("temperature=59.5\nhumidity=80\n", f);
	fclose(f);
	assert_true(access_(sess, "operate", reason, sizeof(reason), &ev));
	assert_non_null(strstr(reason, "temperature=59.5 < 60"));
}

static void test_revoked(void **state)
{
	struct sensor_session *sess = site_session(&sensor, &phone_a, 1);
	struct vouch_revlist_entry e;
	struct vouch_cred c;
	struct vouch_cred_rules rules = {SITE_ISS, SITE_AUD, SITE_T0, 0};
	struct site_event ev, queued[8];
	char reason[SENSOR_REASON_MAX];
	size_t len = issue("alice", &phone_a, NULL, SITE_T0 - 60, SITE_T0 + HOUR), n;

	(void)state;
	/* This one credential, by its token hash. */
	assert_int_equal(vouch_cred_verify(cred, len, &site.issuer, &rules, &c), VOUCH_OK);
	e.kind = VOUCH_REVLIST_TOKEN;
	e.value = c.token_hash;
	e.value_len = sizeof(c.token_hash);
	e.revoked_at = SITE_T0 - 30;
	{
		uint8_t keep[VOUCH_CRED_MAX];

		memcpy(keep, cred, len);
		assert_int_equal(rl(2, SITE_T0 - 5, &e, 1), SENSOR_CHANGED);
		memcpy(cred, keep, len);
	}
	assert_int_equal(authz(sess, len), SENSOR_UNAUTHORIZED);
	refusal_reason(reason, sizeof(reason));
	assert_string_equal(reason, "credential refused: revoked");
	n = site_queue_events(&sensor, &sensor_pub, queued, 8);
	assert_string_equal(queued[n - 1].kind, "access");
	assert_string_equal(queued[n - 1].subject, "alice");
	assert_false(queued[n - 1].granted);
	assert_string_equal(queued[n - 1].action, "");
	assert_int_equal(queued[n - 1].rl_version, 2);

	/* Another credential of hers is good, until her subject is revoked mid-session. */
	len = issue("alice", &phone_a, NULL, SITE_T0 - 60, SITE_T0 + HOUR);
	assert_int_equal(authz(sess, len), SENSOR_CREATED);
	assert_true(access_(sess, "read", reason, sizeof(reason), &ev));
	e.kind = VOUCH_REVLIST_SUBJECT;
	e.value = (const uint8_t *)"alice";
	e.value_len = 5;
	e.revoked_at = SITE_T0;
	assert_int_equal(rl(3, SITE_T0 - 1, &e, 1), SENSOR_CHANGED);
	assert_false(access_(sess, "read", reason, sizeof(reason), &ev));
	assert_string_equal(reason, "credential revoked");
	assert_int_equal(ev.rl_version, 3);
}

static void test_wrong_cnf(void **state)
{
	struct sensor_session *sess = site_session(&sensor, &phone_b, 2);
	char reason[SENSOR_REASON_MAX];
	uint8_t req[32];
	size_t len = issue("alice", &phone_a, NULL, SITE_T0 - 60, SITE_T0 + HOUR);

	(void)state;
	/* Alice's credential copied to Bob's phone: his key is not its cnf. */
	assert_int_equal(authz(sess, len), SENSOR_UNAUTHORIZED);
	refusal_reason(reason, sizeof(reason));
	assert_string_equal(reason, "credential refused: it is bound to another key than the one "
	                            "this phone proved");
	len = request("read", req, sizeof(req));
	assert_int_equal(
	    sensor_handle_access(&sensor, sess, req, len, out, sizeof(out), &out_len, &code),
	    VOUCH_OK);
	refusal_reason(reason, sizeof(reason));
	assert_string_equal(reason, "no credential accepted in this session");
}

static void test_refused_credentials(void **state)
{
	struct sensor_session *sess = site_session(&sensor, &phone_a, 1);
	struct vouch_cred_params p;
	char reason[SENSOR_REASON_MAX], want[128];
	uint8_t perm[512];
	struct vouch_key other;
	size_t len;

	(void)state;
	len = issue("alice", &phone_a, "another-site", SITE_T0 - 60, SITE_T0 + HOUR);
	assert_int_equal(authz(sess, len), SENSOR_UNAUTHORIZED);
	refusal_reason(reason, sizeof(reason));
	snprintf(want, sizeof(want), "credential refused: %s",
	         vouch_strerror(VOUCH_ERR_CWT_AUDIENCE));
	assert_string_equal(reason, want);

	len = issue("alice", &phone_a, NULL, SITE_T0 - 9 * HOUR, SITE_T0 - HOUR);
	assert_int_equal(authz(sess, len), SENSOR_UNAUTHORIZED);
	refusal_reason(reason, sizeof(reason));
	snprintf(want, sizeof(want), "credential refused: %s",
	         vouch_strerror(VOUCH_ERR_CWT_EXPIRED));
	assert_string_equal(reason, want);

	/* Signed by a key that is not the site's credential issuer. */
	vouch_key_init(&other);
	assert_int_equal(vouch_key_generate(&other, VOUCH_KEY_P256), VOUCH_OK);
	memset(&p, 0, sizeof(p));
	p.iss = SITE_ISS;
	p.sub = "mallory";
	p.aud = SITE_AUD;
	p.phone = "phone-1";
	p.iat = p.nbf = SITE_T0 - 60;
	p.exp = SITE_T0 + HOUR;
	p.cnf = &phone_a;
	p.perm = perm;
	p.perm_len = site_perm(true, perm, sizeof(perm));
	assert_int_equal(vouch_cred_issue(&p, &other, cred, sizeof(cred), &len), VOUCH_OK);
	assert_int_equal(authz(sess, len), SENSOR_UNAUTHORIZED);
	refusal_reason(reason, sizeof(reason));
	snprintf(want, sizeof(want), "credential refused: %s", vouch_strerror(VOUCH_ERR_VERIFY));
	assert_string_equal(reason, want);
	vouch_key_clear(&other);

	/* Good, then expiring while the session lasts. */
	len = issue("alice", &phone_a, NULL, SITE_T0 - 60, SITE_T0 + 120);
	assert_int_equal(authz(sess, len), SENSOR_CREATED);
	site_now = SITE_T0 + 120 + SENSOR_LEEWAY;
	{
		struct site_event ev;

		assert_false(access_(sess, "read", reason, sizeof(reason), &ev));
		assert_string_equal(reason, "credential expired");
		assert_string_equal(ev.subject, "alice");
	}
}

static void test_stale(void **state)
{
	struct sensor_session *sess = site_session(&sensor, &phone_a, 1);
	char reason[SENSOR_REASON_MAX];
	struct site_event ev;

	(void)state;
	/* Thursday 09:00: two days since the list (max age one day) was issued. */
	site_now = SITE_T0 + 48 * HOUR;
	assert_int_equal(
	    authz(sess, issue("alice", &phone_a, NULL, site_now - 60, site_now + HOUR)),
	    SENSOR_CREATED);
	assert_true(access_(sess, "read", reason, sizeof(reason), &ev));
	assert_string_equal(reason, "permit: role \"operator\" grants read on zone=plant "
	                            "(revocation list older than its max age)");
	assert_true(access_(sess, "enter", reason, sizeof(reason), &ev));
	assert_non_null(strstr(reason, "(revocation list older than its max age)"));
	/* Operating is not read or enter: fail closed, whatever the policy says. */
	assert_false(access_(sess, "operate", reason, sizeof(reason), &ev));
	assert_string_equal(reason, "revocation list older than its max age");
	/* A list outside its time window still decides by policy when read/enter deny. */
	site_now = SITE_T0 + 48 * HOUR + 11 * HOUR;
	assert_int_equal(
	    authz(sess, issue("alice", &phone_a, NULL, site_now - 60, site_now + HOUR)),
	    SENSOR_CREATED);
	assert_false(access_(sess, "enter", reason, sizeof(reason), &ev));
	assert_non_null(strstr(reason, "outside window"));
	/* A newer list ends the stricter mode. */
	assert_int_equal(rl(2, site_now - 10, NULL, 0), SENSOR_CHANGED);
	assert_true(access_(sess, "operate", reason, sizeof(reason), &ev));
}

static void test_no_list(void **state)
{
	char reason[SENSOR_REASON_MAX], d2[64];
	uint8_t d[VOUCH_P256_SCALAR_LEN];
	struct sensor_session *sess;
	struct site_event ev;

	(void)state;
	/* Another sensor, commissioned but never given a list. */
	sensor_stop(&sensor);
	vouch_key_clear(&sensor_pub);
	site_tmpdir(d2, sizeof(d2));
	site_devkey(d);
	assert_int_equal(site_start(&sensor, d2, d), VOUCH_OK);
	site_commission(&site, &sensor);
	site_sensor_pub(&sensor, &sensor_pub);
	sess = site_session(&sensor, &phone_a, 1);
	assert_int_equal(authz(sess, issue("alice", &phone_a, NULL, SITE_T0 - 60, SITE_T0 + HOUR)),
	                 SENSOR_CREATED);
	assert_false(access_(sess, "operate", reason, sizeof(reason), &ev));
	assert_string_equal(reason, "no revocation list held yet (stricter mode)");
	assert_false(ev.has_rl_version);
	assert_true(access_(sess, "read", reason, sizeof(reason), &ev));
	site_rmdir(d2);
}

static void test_malformed(void **state)
{
	struct sensor_session *sess = site_session(&sensor, &phone_a, 1);
	static const uint8_t not_cbor[] = {0xff, 0x00};
	static const uint8_t two_keys[] = {0xa2, 0x01, 0x64, 'r', 'e', 'a', 'd', 0x02, 0x00};
	static const uint8_t trailing[] = {0xa1, 0x01, 0x64, 'r', 'e', 'a', 'd', 0x00};
	static const uint8_t bytes[] = {0xa1, 0x01, 0x44, 'r', 'e', 'a', 'd'};
	uint8_t fly[32], star[32];
	size_t fly_len = request("fly", fly, sizeof(fly)),
	       star_len = request("*", star, sizeof(star));
	const struct {
		const uint8_t *p;
		size_t len;
		const char *diag;
	} bad[] = {
	    {not_cbor, sizeof(not_cbor), "malformed access request"},
	    {two_keys, sizeof(two_keys), "malformed access request"},
	    {trailing, sizeof(trailing), "malformed access request"},
	    {bytes, sizeof(bytes), "malformed access request"},
	    {fly, fly_len, "unknown action"},
	    {star, star_len, "unknown action"},
	};
	char reason[SENSOR_REASON_MAX];
	size_t i, n = VOUCH_ARRAY_LEN(bad);

	(void)state;
	assert_int_equal(authz(sess, issue("alice", &phone_a, NULL, SITE_T0 - 60, SITE_T0 + HOUR)),
	                 SENSOR_CREATED);
	for (i = 0; i < n; i++) {
		assert_int_equal(sensor_handle_access(&sensor, sess, bad[i].p, bad[i].len, out,
		                                      sizeof(out), &out_len, &code),
		                 VOUCH_OK);
		assert_int_equal(code, SENSOR_BAD_REQUEST);
		assert_int_equal(out_len, strlen(bad[i].diag));
		assert_memory_equal(out, bad[i].diag, out_len);
	}
	/* No session, and a session EDHOC has not finished. */
	assert_int_equal(
	    sensor_handle_access(&sensor, NULL, fly, 4, out, sizeof(out), &out_len, &code),
	    VOUCH_OK);
	refusal_reason(reason, sizeof(reason));
	assert_int_equal(
	    sensor_handle_authz_info(&sensor, NULL, cred, 10, out, sizeof(out), &out_len, &code),
	    VOUCH_OK);
	refusal_reason(reason, sizeof(reason));
	assert_string_equal(reason, "no session: run EDHOC first");
	{
		uint8_t cid = 9;
		struct sensor_session *half = sensor_session_open(&sensor, &cid, 1);

		assert_non_null(half);
		assert_int_equal(authz(half, 10), SENSOR_UNAUTHORIZED);
	}
	/* Credentials that are not: empty, garbage, every truncation, too large. */
	assert_int_equal(authz(sess, 0), SENSOR_BAD_REQUEST);
	memset(cred, 0x5a, 100);
	assert_int_equal(authz(sess, 100), SENSOR_UNAUTHORIZED);
	{
		size_t len = issue("alice", &phone_a, NULL, SITE_T0 - 60, SITE_T0 + HOUR);

		for (size_t cut = 1; cut < len; cut += 7)
			assert_int_equal(authz(sess, cut), SENSOR_UNAUTHORIZED);
	}
	assert_int_equal(authz(sess, SENSOR_CRED_MAX + 1), SENSOR_TOO_LARGE);
	/* Revocation lists that are not. */
	assert_int_equal(sensor_handle_revocations(&sensor, NULL, not_cbor, sizeof(not_cbor), out,
	                                           sizeof(out), &out_len, &code),
	                 VOUCH_OK);
	assert_int_equal(code, SENSOR_BAD_REQUEST);
	assert_int_equal(
	    sensor_handle_revocations(&sensor, NULL, list, 0, out, sizeof(out), &out_len, &code),
	    VOUCH_OK);
	assert_int_equal(code, SENSOR_BAD_REQUEST);
	assert_int_equal(sensor_handle_revocations(&sensor, NULL, list, SENSOR_REVLIST_MAX + 1, out,
	                                           sizeof(out), &out_len, &code),
	                 VOUCH_OK);
	assert_int_equal(code, SENSOR_TOO_LARGE);
}

/* Lists offered: taken only when signed by the site's signer, full, and newer. */
static void test_revocation_offers(void **state)
{
	struct vouch_revlist_params p;
	struct vouch_key other;
	size_t len = 0;

	(void)state;
	assert_int_equal(rl(1, SITE_T0 - 10, NULL, 0), SENSOR_CHANGED); /* the same again */
	assert_int_equal(out_len, 3);
	assert_memory_equal(out, "\xa1\x01\x01", 3); /* {1: 1}: it holds version 1 */
	assert_int_equal(rl(5, SITE_T0 - 5, NULL, 0), SENSOR_CHANGED);
	assert_int_equal(sensor.rl.version, 5);
	assert_int_equal(rl(4, SITE_T0 - 1, NULL, 0), SENSOR_CHANGED); /* older: not taken */
	assert_int_equal(sensor.rl.version, 5);
	assert_int_equal(out_len, 3);
	assert_int_equal(out[2], 5);
	/* Re-signed later at the same version: taken (a fresher issued_at). */
	assert_int_equal(rl(5, SITE_T0, NULL, 0), SENSOR_CHANGED);
	assert_int_equal(sensor.rl.issued_at, SITE_T0);
	/* Another signer. */
	vouch_key_init(&other);
	assert_int_equal(vouch_key_generate(&other, VOUCH_KEY_P256), VOUCH_OK);
	len = site_revlist(&site, &other, 9, SITE_T0, NULL, 0, list, sizeof(list));
	assert_int_equal(
	    sensor_handle_revocations(&sensor, NULL, list, len, out, sizeof(out), &out_len, &code),
	    VOUCH_OK);
	assert_int_equal(code, SENSOR_BAD_REQUEST);
	vouch_key_clear(&other);
	/* A delta. */
	memset(&p, 0, sizeof(p));
	p.iss = SITE_ISS;
	p.aud = SITE_AUD;
	p.version = 9;
	p.since = 5;
	p.issued_at = SITE_T0;
	p.max_age = VOUCH_REVLIST_MAX_AGE;
	assert_int_equal(vouch_revlist_sign(&p, &site.revsigner, list, sizeof(list), &len),
	                 VOUCH_OK);
	assert_int_equal(
	    sensor_handle_revocations(&sensor, NULL, list, len, out, sizeof(out), &out_len, &code),
	    VOUCH_OK);
	assert_int_equal(code, SENSOR_BAD_REQUEST);
	assert_int_equal(sensor.rl.version, 5);
	/* The list held survives a restart, verified again; one changed on disk does not. */
	sensor_stop(&sensor);
	assert_int_equal(site_start(&sensor, dir, devkey), VOUCH_OK);
	assert_true(sensor.has_rl);
	assert_int_equal(sensor.rl.version, 5);
	sensor.st.revlist[sensor.st.revlist_len - 1] ^= 1;
	assert_int_equal(sensor_state_save(dir, &sensor.st, sensor.scratch, sizeof(sensor.scratch)),
	                 VOUCH_OK);
	sensor_stop(&sensor);
	assert_int_equal(site_start(&sensor, dir, devkey), VOUCH_ERR_STORE_CORRUPT);
	assert_false(sensor.started);
}

#ifdef SENSOR_TEST_NOHEAP
static void test_no_heap(void **state)
{
	struct sensor_session *sess = site_session(&sensor, &phone_a, 1);
	uint8_t req[32];
	size_t len = issue("alice", &phone_a, NULL, SITE_T0 - 60, SITE_T0 + HOUR), rlen, listlen;

	(void)state;
	rlen = request("operate", req, sizeof(req));
	listlen = site_revlist(&site, NULL, 7, SITE_T0 - 1, NULL, 0, list, sizeof(list));
	counting = true;
	allocations = 0;
	assert_int_equal(sensor_handle_revocations(&sensor, NULL, list, listlen, out, sizeof(out),
	                                           &out_len, &code),
	                 VOUCH_OK);
	assert_int_equal(code, SENSOR_CHANGED);
	assert_int_equal(
	    sensor_handle_authz_info(&sensor, sess, cred, len, out, sizeof(out), &out_len, &code),
	    VOUCH_OK);
	assert_int_equal(code, SENSOR_CREATED);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sensor_handle_access(&sensor, sess, req, rlen, out, sizeof(out),
		                                      &out_len, &code),
		                 VOUCH_OK);
		assert_int_equal(code, SENSOR_CONTENT);
	}
	counting = false;
	print_message("allocations on the decision path: %u\n", allocations);
	assert_int_equal(allocations, 0);
	/* The counter works: a path that does allocate (the CSR's subject name) is seen. */
	counting = true;
	{
		uint8_t csr[1024];
		size_t csr_len = 0;

		assert_int_equal(
		    sensor_csr_make(&sensor.id, "unprovisioned", csr, sizeof(csr), &csr_len),
		    VOUCH_OK);
	}
	counting = false;
	assert_true(allocations > 0);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_granted, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_window, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_reading, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_revoked, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_wrong_cnf, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_refused_credentials, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_stale, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_no_list, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_malformed, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_revocation_offers, sensor_up, sensor_down),
#ifdef SENSOR_TEST_NOHEAP
	    cmocka_unit_test_setup_teardown(test_no_heap, sensor_up, sensor_down),
#endif
	};

	vouch_log_init("test_sensor_decide", VOUCH_LOG_ERROR + 1, NULL);
	return cmocka_run_group_tests(tests, setup, teardown);
}
