/*
 * The seed corpora of fuzz_sensor_state, fuzz_sensor_queue and fuzz_psa_its: files written by
 * the code itself (the PSA flavour of the agent on the test site of tests/sensor/site.c, and the
 * PSA core writing through lib/psa_its.c), then a few truncations and damaged copies of them.
 *
 *   fuzz_sensor_seeds DIR     writes DIR/sensor_state/, DIR/sensor_queue/, DIR/psa_its/
 *
 * Keys are published test keys (RFC 8392 A.2.3 for P-256, RFC 7748 6.1 for X25519), so that the
 * committed key-store files hold no secret. The signatures in the events differ from run to run
 * (ECDSA is randomised). cmocka's assertions of site.c end the program on a failure.
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <psa/crypto.h>

#include "site.h"
#include "util.h"
#include "vouch/log.h"
#include "vouch/psa.h"

/* The ITS contract (lib/psa_its.c). */
psa_status_t psa_its_set(uint64_t uid, uint32_t data_length, const void *p_data,
                         uint32_t create_flags);

/* RFC 8392 A.2.3. */
static const uint8_t p256_d[VOUCH_P256_SCALAR_LEN] = {
    0x6c, 0x13, 0x82, 0x76, 0x5a, 0xec, 0x53, 0x58, 0xf1, 0x17, 0x73, 0x3d, 0x28, 0x1c, 0x1c, 0x7b,
    0xdc, 0x39, 0x88, 0x4d, 0x04, 0xa4, 0x5a, 0x1e, 0x6c, 0x67, 0xc8, 0x58, 0xbc, 0x20, 0x6c, 0x19,
};
/* RFC 7748 6.1, Alice's private key. */
static const uint8_t x25519_d[32] = {
    0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45,
    0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a,
};

static struct site site;
static struct vouch_sensor sensor;
static uint8_t buf[SENSOR_STATE_MAX], buf2[SENSOR_STATE_MAX];
static char out_root[1024];

static void sub_dir(char *out, size_t cap, const char *name)
{
	assert_int_equal(sensor_path(out, cap, out_root, name), VOUCH_OK);
	assert_true(mkdir(out, 0755) == 0 || access(out, W_OK) == 0);
}

static void put(const char *sub, const char *name, const uint8_t *p, size_t len)
{
	char dir[SENSOR_PATH_MAX], path[SENSOR_PATH_MAX];
	FILE *f;

	assert_int_equal(sensor_path(dir, sizeof(dir), out_root, sub), VOUCH_OK);
	assert_int_equal(sensor_path(path, sizeof(path), dir, name), VOUCH_OK);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_true(len == 0 || fwrite(p, 1, len, f) == len);
	assert_int_equal(fclose(f), 0);
}

static size_t get(const char *dir, const char *name, uint8_t *p, size_t cap)
{
	size_t len = 0;

	assert_int_equal(sensor_file_read(dir, name, p, cap, &len), VOUCH_OK);
	return len;
}

static void event(const char *kind, const char *subject)
{
	uint8_t out[SENSOR_EVENT_MAX];
	struct sensor_event ev;
	size_t len = 0;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.subject = subject;
	ev.subject_len = strlen(subject);
	ev.action = "read";
	ev.has_granted = true;
	ev.granted = true;
	ev.reason = "permitted";
	assert_int_equal(sensor_event_record(&sensor, &ev, out, sizeof(out), &len), VOUCH_OK);
}

/* The offset of the end of record i (0-based) of an events file. */
static size_t record_end(const uint8_t *q, size_t len, size_t i)
{
	size_t off = 0;

	for (size_t k = 0; k <= i; k++) {
		assert_true(len - off >= SENSOR_QUEUE_HDR);
		off += SENSOR_QUEUE_HDR + ((size_t)q[off] << 24 | (size_t)q[off + 1] << 16 |
		                           (size_t)q[off + 2] << 8 | q[off + 3]);
	}
	return off;
}

static void state_and_queue_seeds(void)
{
	char sdir[64];
	struct sensor_state st;
	struct sensor_queue q;
	uint8_t rl[4096], big[SENSOR_EVENT_MAX];
	size_t len, qlen, rl_len, cut;

	site_init(&site);
	site_now = SITE_T0;
	site_tmpdir(sdir, sizeof(sdir));

	/* Unprovisioned: fresh, and with no zone or type configured. */
	sensor_state_init(&st);
	assert_int_equal(sensor_state_save(sdir, &st, buf2, sizeof(buf2)), VOUCH_OK);
	len = get(sdir, SENSOR_STATE_FILE, buf, sizeof(buf));
	put("sensor_state", "unprovisioned-bare", buf, len);
	assert_int_equal(site_start(&sensor, sdir, p256_d), VOUCH_OK);
	len = get(sdir, SENSOR_STATE_FILE, buf, sizeof(buf));
	put("sensor_state", "unprovisioned", buf, len);
	put("sensor_state", "unprovisioned-cut", buf, len - 1);
	memcpy(buf2, buf, len);
	buf2[len] = 0x00;
	put("sensor_state", "unprovisioned-trailing", buf2, len + 1);
	/* {1: 2, ...}: another version. */
	assert_int_equal(buf2[1], 0x01);
	assert_int_equal(buf2[2], SENSOR_STATE_VERSION);
	buf2[2] = 0x02;
	put("sensor_state", "unprovisioned-v2", buf2, len);

	/* Provisioned, its commission event queued. */
	site_commission(&site, &sensor);
	len = get(sdir, SENSOR_STATE_FILE, buf, sizeof(buf));
	put("sensor_state", "provisioned", buf, len);
	put("sensor_state", "provisioned-cut-half", buf, len / 2);
	put("sensor_state", "provisioned-cut-1", buf, len - 1);
	qlen = get(sdir, SENSOR_QUEUE_FILE, buf, sizeof(buf));
	put("sensor_queue", "one", buf, qlen);

	/* A revocation list held, and events after it. */
	rl_len = site_revlist(&site, NULL, 2, SITE_T0 - 10, NULL, 0, rl, sizeof(rl));
	assert_int_equal(sensor_list_install(&sensor, rl, rl_len), VOUCH_OK);
	event("access", "alice");
	event("access", "bob");
	event("revocations", "carol");
	event("access", "dave");
	len = get(sdir, SENSOR_STATE_FILE, buf, sizeof(buf));
	put("sensor_state", "provisioned-revlist", buf, len);
	put("sensor_state", "provisioned-revlist-cut", buf, len - rl_len / 2);

	qlen = get(sdir, SENSOR_QUEUE_FILE, buf, sizeof(buf));
	put("sensor_queue", "five", buf, qlen);
	/* Power cuts in the last append: in its header, in its event. */
	cut = record_end(buf, qlen, 3);
	put("sensor_queue", "five-torn-header", buf, cut + 7);
	put("sensor_queue", "five-torn-event", buf, cut + SENSOR_QUEUE_HDR + 20);
	/* Bit rot in the third record: it and everything after it go. */
	memcpy(buf2, buf, qlen);
	buf2[record_end(buf, qlen, 1) + SENSOR_QUEUE_HDR + 5] ^= 0x10;
	put("sensor_queue", "five-rot", buf2, qlen);
	/* The older queue again after it: out of sequence. */
	len = record_end(buf, qlen, 1);
	memcpy(buf2, buf, qlen);
	memcpy(buf2 + qlen, buf, len);
	put("sensor_queue", "five-then-two", buf2, qlen + len);

	/* Acknowledged up to 2: the queue starts at 3. */
	assert_int_equal(sensor_queue_drop_upto(&sensor.q, 2), VOUCH_OK);
	qlen = get(sdir, SENSOR_QUEUE_FILE, buf, sizeof(buf));
	put("sensor_queue", "acked-2", buf, qlen);
	sensor_stop(&sensor);
	site_rmdir(sdir);

	/* The queue itself: the longest event, sequence numbers far apart, the last one. */
	site_tmpdir(sdir, sizeof(sdir));
	sensor_queue_init(&q);
	assert_int_equal(sensor_queue_open(&q, sdir), VOUCH_OK);
	put("sensor_queue", "empty", buf, 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13);
	assert_int_equal(sensor_queue_append(&q, 7, big, sizeof(big)), VOUCH_OK);
	assert_int_equal(sensor_queue_append(&q, 1000000, big, 1), VOUCH_OK);
	assert_int_equal(sensor_queue_append(&q, UINT64_MAX, big + 1, 2), VOUCH_OK);
	sensor_queue_close(&q);
	qlen = get(sdir, SENSOR_QUEUE_FILE, buf, sizeof(buf));
	put("sensor_queue", "longest-far-last", buf, qlen);
	site_rmdir(sdir);
	site_clear(&site);
}

/* A key pair of the port's policy (docs/psa.md "Key policy"), or exportable when export. */
static void its_key(psa_key_type_t type, const uint8_t *d, size_t d_len, bool export)
{
	psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_usage_t usage = PSA_KEY_USAGE_DERIVE;
	psa_key_id_t got = 0;

	if (PSA_KEY_TYPE_ECC_GET_FAMILY(type) == PSA_ECC_FAMILY_SECP_R1) {
		usage |= PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_SIGN_MESSAGE |
		         PSA_KEY_USAGE_VERIFY_HASH | PSA_KEY_USAGE_VERIFY_MESSAGE;
		psa_set_key_algorithm(&attr, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
		psa_set_key_enrollment_algorithm(&attr, PSA_ALG_ECDH);
	} else {
		psa_set_key_algorithm(&attr, PSA_ALG_ECDH);
	}
	if (export)
		usage |= PSA_KEY_USAGE_EXPORT;
	psa_set_key_usage_flags(&attr, usage);
	psa_set_key_type(&attr, type);
	psa_set_key_id(&attr, SENSOR_ID_KEY);
	psa_set_key_lifetime(&attr, PSA_KEY_LIFETIME_PERSISTENT);
	assert_int_equal(psa_import_key(&attr, d, d_len, &got), PSA_SUCCESS);
	assert_int_equal(psa_purge_key(got), PSA_SUCCESS);
}

static void its_seeds(void)
{
	static const char name[] = "0000000000000001.key";
	static const uint8_t record[16] = "not a key record";
	struct vouch_key k;
	char store[64];
	size_t len;

	site_tmpdir(store, sizeof(store));
	assert_int_equal(vouch_psa_set_storage(store), VOUCH_OK);
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);

	its_key(PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), p256_d, sizeof(p256_d), false);
	vouch_key_init(&k);
	assert_int_equal(vouch_key_open_persistent(&k, SENSOR_ID_KEY), VOUCH_OK);
	vouch_key_clear(&k);
	len = get(store, name, buf, sizeof(buf));
	put("psa_its", "p256", buf, len);
	put("psa_its", "p256-cut-1", buf, len - 1);
	put("psa_its", "p256-header-only", buf, 20);
	buf[20 + 40] ^= 0x01;
	put("psa_its", "p256-rot", buf, len);
	assert_int_equal(vouch_key_destroy_persistent(SENSOR_ID_KEY), VOUCH_OK);

	its_key(PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), p256_d, sizeof(p256_d), true);
	len = get(store, name, buf, sizeof(buf));
	put("psa_its", "p256-exportable", buf, len);
	assert_int_equal(vouch_key_destroy_persistent(SENSOR_ID_KEY), VOUCH_OK);

	its_key(PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_MONTGOMERY), x25519_d, sizeof(x25519_d),
	        false);
	vouch_key_init(&k);
	assert_int_equal(vouch_key_open_persistent(&k, SENSOR_ID_KEY), VOUCH_OK);
	assert_int_equal(k.type, VOUCH_KEY_X25519);
	vouch_key_clear(&k);
	len = get(store, name, buf, sizeof(buf));
	put("psa_its", "x25519", buf, len);
	assert_int_equal(vouch_key_destroy_persistent(SENSOR_ID_KEY), VOUCH_OK);

	/* Straight through the ITS: an entry that is no key record, a write-once one, an empty one.
	 */
	assert_int_equal(psa_its_set(SENSOR_ID_KEY, sizeof(record), record, 0), PSA_SUCCESS);
	len = get(store, name, buf, sizeof(buf));
	put("psa_its", "not-a-key", buf, len);
	assert_int_equal(psa_its_set(SENSOR_ID_KEY, 0, NULL, 0), PSA_SUCCESS);
	len = get(store, name, buf, sizeof(buf));
	put("psa_its", "empty-entry", buf, len);
	assert_int_equal(vouch_key_destroy_persistent(SENSOR_ID_KEY), VOUCH_OK);
	assert_int_equal(psa_its_set(SENSOR_ID_KEY, sizeof(record), record, 1), PSA_SUCCESS);
	len = get(store, name, buf, sizeof(buf));
	put("psa_its", "write-once", buf, len);
	vouch_psa_shutdown();
	site_rmdir(store);
}

int main(int argc, char **argv)
{
	char dir[SENSOR_PATH_MAX];

	if (argc != 2 ||
	    snprintf(out_root, sizeof(out_root), "%s", argv[1]) >= (int)sizeof(out_root)) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	vouch_log_init("fuzz_sensor_seeds", VOUCH_LOG_WARN, NULL);
	sub_dir(dir, sizeof(dir), "sensor_state");
	sub_dir(dir, sizeof(dir), "sensor_queue");
	sub_dir(dir, sizeof(dir), "psa_its");
	state_and_queue_seeds();
	its_seeds();
	return 0;
}
