/*
 * The sensor's persistent state (sensor/state.c, sensor/agent.c): the state file round-trips
 * (every field at its limit too, 32 tags of 64 bytes), is decoded strictly (another version,
 * unknown or missing keys, wrong types, trailing bytes, every truncation, a resource or tags
 * missing or out of bounds refused), is replaced atomically, event sequence numbers survive
 * restarts and are never reused, and a provisioned state refuses to run on another key than the one
 * it was commissioned for (an injected key here; the real secure element in the PSA build: a cloned
 * directory without it, a swapped element, the local reset).
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "site.h"
#include "util.h"
#include "vouch/cbor.h"
#include "vouch/log.h"

static struct site site;
static struct vouch_sensor sensor;
static struct sensor_state st, st2;
static uint8_t buf[SENSOR_STATE_MAX];

static int setup(void **state)
{
	(void)state;
	site_init(&site);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	site_clear(&site);
	return 0;
}

static void fill_provisioned(struct sensor_state *s)
{
	sensor_state_init(s);
	s->provisioned = true;
	s->next_seq = 77;
	strcpy(s->zone, "plant/hall-a");
	strcpy(s->type, "door");
	strcpy(s->device_id, "dev-1");
	strcpy(s->tz, SITE_TZ);
	memset(s->cert, 0xc1, 300);
	s->cert_len = 300;
	memset(s->ca[0], 0xa0, 400);
	s->ca_len[0] = 400;
	memset(s->ca[1], 0xa1, 401);
	s->ca_len[1] = 401;
	s->n_ca = 2;
	memset(s->issuer_key, 0x11, 77);
	s->issuer_key_len = 77;
	memset(s->revlist_key, 0x22, 78);
	s->revlist_key_len = 78;
	memset(s->firmware_key, 0x33, 79);
	s->firmware_key_len = 79;
	strcpy(s->iss, SITE_ISS);
	strcpy(s->aud, SITE_AUD);
	strcpy(s->installer, "ian");
	s->commissioned_at = -5;
	memset(s->revlist, 0x44, 1000);
	s->revlist_len = 1000;
	strcpy(s->resource, "press-9");
	strcpy(s->tags[0], "hot-process");
	strcpy(s->tags[1], "production");
	s->n_tags = 2;
}

static void test_roundtrip(void **state)
{
	size_t len = 0;

	(void)state;
	sensor_state_init(&st);
	strcpy(st.zone, "plant");
	st.next_seq = 42;
	assert_int_equal(sensor_state_encode(&st, buf, sizeof(buf), &len), VOUCH_OK);
	assert_int_equal(sensor_state_decode(buf, len, &st2), VOUCH_OK);
	assert_false(st2.provisioned);
	assert_int_equal(st2.next_seq, 42);
	assert_string_equal(st2.zone, "plant");
	assert_string_equal(st2.type, "");

	fill_provisioned(&st);
	assert_int_equal(sensor_state_encode(&st, buf, sizeof(buf), &len), VOUCH_OK);
	assert_int_equal(sensor_state_decode(buf, len, &st2), VOUCH_OK);
	assert_memory_equal(&st, &st2, sizeof(st));

	/* Every field at its limit still fits the documented maximum. */
	for (size_t i = 0; i < SENSOR_CA_MAX; i++) {
		memset(st.ca[i], 0x5a, SENSOR_CERT_MAX);
		st.ca_len[i] = SENSOR_CERT_MAX;
	}
	st.n_ca = SENSOR_CA_MAX;
	st.cert_len = SENSOR_CERT_MAX;
	st.revlist_len = SENSOR_REVLIST_MAX;
	st.issuer_key_len = st.revlist_key_len = st.firmware_key_len = SENSOR_COSE_KEY_MAX;
	memset(st.iss, 'i', SENSOR_TEXT_MAX);
	st.iss[SENSOR_TEXT_MAX] = '\0';
	memset(st.aud, 'a', SENSOR_TEXT_MAX);
	memset(st.installer, 'n', SENSOR_TEXT_MAX);
	memset(st.zone, 'z', SENSOR_NAME_MAX);
	memset(st.type, 'y', SENSOR_NAME_MAX);
	memset(st.device_id, 'd', SENSOR_NAME_MAX);
	memset(st.resource, 'r', SENSOR_NAME_MAX);
	for (size_t i = 0; i < SENSOR_TAGS_MAX; i++) {
		memset(st.tags[i], 'a' + (int)(i % 26), SENSOR_NAME_MAX);
		st.tags[i][SENSOR_NAME_MAX] = '\0';
	}
	st.n_tags = SENSOR_TAGS_MAX;
	assert_int_equal(sensor_state_encode(&st, buf, sizeof(buf), &len), VOUCH_OK);
	assert_int_equal(sensor_state_decode(buf, len, &st2), VOUCH_OK);
	assert_memory_equal(&st, &st2, sizeof(st));
	assert_string_equal(st2.tags[SENSOR_TAGS_MAX - 1], st.tags[SENSOR_TAGS_MAX - 1]);
	/* One tag more than the bound is never written. */
	st.n_tags = SENSOR_TAGS_MAX + 1;
	assert_int_equal(sensor_state_encode(&st, buf, sizeof(buf), &len), VOUCH_ERR_INVALID);
	assert_int_equal(len, 0);
}

/* A state map written entry by entry: n pairs of (key, kind, value). */
static size_t write_map(const int64_t *keys, const char *kinds, size_t n, uint8_t *out)
{
	struct vouch_cbor_writer w;
	size_t len = 0;

	vouch_cbor_writer_init(&w, out, 4096);
	vouch_cbor_write_map(&w, n);
	for (size_t i = 0; i < n; i++) {
		vouch_cbor_write_uint(&w, (uint64_t)keys[i]);
		switch (kinds[i]) {
		case '1': /* the uint 1 */
			vouch_cbor_write_uint(&w, 1);
			break;
		case '2':
			vouch_cbor_write_uint(&w, 2);
			break;
		case '0':
			vouch_cbor_write_uint(&w, 0);
			break;
		case 'f':
			vouch_cbor_write_bool(&w, false);
			break;
		case 't':
			vouch_cbor_write_cstr(&w, "text");
			break;
		case 'b':
			vouch_cbor_write_bstr(&w, "\x01", 1);
			break;
		}
	}
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_OK);
	return len;
}

static void test_strict(void **state)
{
	static const int64_t good[] = {1, 2, 3};
	static const int64_t bad_order[] = {2, 1, 3};
	static const int64_t unknown[] = {1, 2, 3, 20};
	static const int64_t missing[] = {1, 2};
	static const int64_t unprov_cert[] = {1, 2, 3, 8};
	static const int64_t zone[] = {1, 2, 3, 4};
	uint8_t m[4096];
	size_t len, full = 0;

	(void)state;
	len = write_map(good, "1f1", 3, m);
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_OK);
	assert_int_equal(st.next_seq, 1);
	len = write_map(good, "2f1", 3, m);
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_UNSUPPORTED);
	len = write_map(bad_order, "f11", 3, m);
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);
	len = write_map(unknown, "1f11", 4, m);
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);
	len = write_map(missing, "1f", 2, m);
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);
	len = write_map(unprov_cert, "1f1b", 4, m);
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);
	len = write_map(good, "1f0", 3, m); /* sequence number 0 is never valid */
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);
	len = write_map(good, "1ft", 3, m); /* wrong type */
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);
	len = write_map(zone, "1f1b", 4, m); /* zone as bytes */
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);
	len = write_map(good, "1t1", 3, m); /* provisioned as text */
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);

	/* A provisioned state without its last field (key 19, tags = []: 0x13 0x80). */
	fill_provisioned(&st2);
	st2.revlist_len = 0;
	st2.n_tags = 0;
	assert_int_equal(sensor_state_encode(&st2, buf, sizeof(buf), &full), VOUCH_OK);
	assert_int_equal(sensor_state_decode(buf, full, &st), VOUCH_OK);
	assert_int_equal(buf[0], 0xb2); /* a map of 18 */
	assert_int_equal(buf[full - 2], 0x13);
	buf[0] = 0xb1;
	assert_int_equal(sensor_state_decode(buf, full - 2, &st), VOUCH_ERR_STORE_CORRUPT);

	/* Trailing bytes, and every truncation. */
	fill_provisioned(&st);
	assert_int_equal(sensor_state_encode(&st, buf, sizeof(buf), &full), VOUCH_OK);
	buf[full] = 0x00;
	assert_int_equal(sensor_state_decode(buf, full + 1, &st2), VOUCH_ERR_CBOR_TRAILING);
	for (size_t cut = 0; cut < full; cut++)
		assert_int_not_equal(sensor_state_decode(buf, cut, &st2), VOUCH_OK);
	/* A refused state leaves a fresh one behind, never half of the bad one. */
	assert_false(st2.provisioned);
	assert_int_equal(st2.next_seq, 1);
}

/* The encoding of fill_provisioned() without a list and without tags, whose last entry is
 * then 19 => [] (0x13 0x80), with that empty array replaced by what write_tags writes. */
static size_t with_tags(void (*write_tags)(struct vouch_cbor_writer *w), uint8_t *out, size_t cap)
{
	struct vouch_cbor_writer w;
	size_t full = 0, len = 0;

	fill_provisioned(&st2);
	st2.revlist_len = 0;
	st2.n_tags = 0;
	assert_int_equal(sensor_state_encode(&st2, out, cap, &full), VOUCH_OK);
	assert_int_equal(out[full - 2], 0x13);
	assert_int_equal(out[full - 1], 0x80);
	vouch_cbor_writer_init(&w, out + full - 1, cap - full + 1);
	write_tags(&w);
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_OK);
	return full - 1 + len;
}

static void tags_two(struct vouch_cbor_writer *w)
{
	vouch_cbor_write_array(w, 2);
	vouch_cbor_write_cstr(w, "hot-process");
	vouch_cbor_write_cstr(w, "line-1");
}

static void tags_too_many(struct vouch_cbor_writer *w)
{
	vouch_cbor_write_array(w, SENSOR_TAGS_MAX + 1);
	for (size_t i = 0; i < SENSOR_TAGS_MAX + 1; i++)
		vouch_cbor_write_cstr(w, "t");
}

static void tags_empty_one(struct vouch_cbor_writer *w)
{
	vouch_cbor_write_array(w, 1);
	vouch_cbor_write_cstr(w, "");
}

static void tags_too_long(struct vouch_cbor_writer *w)
{
	char t[SENSOR_NAME_MAX + 2];

	memset(t, 't', sizeof(t) - 1);
	t[sizeof(t) - 1] = '\0';
	vouch_cbor_write_array(w, 1);
	vouch_cbor_write_cstr(w, t);
}

static void tags_text(struct vouch_cbor_writer *w)
{
	vouch_cbor_write_cstr(w, "hot-process");
}

static void tags_bytes(struct vouch_cbor_writer *w)
{
	vouch_cbor_write_array(w, 1);
	vouch_cbor_write_bstr(w, "x", 1);
}

/* The resource and its tags (keys 18, 19): required when provisioned, within their bounds. */
static void test_resource_bounds(void **state)
{
	uint8_t m[SENSOR_STATE_MAX];
	size_t len, full = 0;

	(void)state;
	len = with_tags(tags_two, m, sizeof(m));
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_OK);
	assert_string_equal(st.resource, "press-9");
	assert_int_equal(st.n_tags, 2);
	assert_string_equal(st.tags[1], "line-1");
	len = with_tags(tags_too_many, m, sizeof(m));
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);
	assert_false(st.provisioned);
	assert_int_equal(st.n_tags, 0);
	len = with_tags(tags_empty_one, m, sizeof(m));
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);
	len = with_tags(tags_too_long, m, sizeof(m));
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);
	len = with_tags(tags_text, m, sizeof(m));
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);
	len = with_tags(tags_bytes, m, sizeof(m));
	assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);

	/* Without key 18 (0x12 "press-9": 9 bytes before 0x13 0x80): refused. */
	fill_provisioned(&st2);
	st2.revlist_len = 0;
	st2.n_tags = 0;
	assert_int_equal(sensor_state_encode(&st2, m, sizeof(m), &full), VOUCH_OK);
	assert_int_equal(m[0], 0xb2); /* a map of 18 */
	assert_int_equal(m[full - 11], 0x12);
	assert_int_equal(m[full - 10], 0x67);
	memmove(m + full - 11, m + full - 2, 2);
	m[0] = 0xb1;
	assert_int_equal(sensor_state_decode(m, full - 9, &st), VOUCH_ERR_STORE_CORRUPT);
	/* Without key 19: refused. */
	assert_int_equal(sensor_state_encode(&st2, m, sizeof(m), &full), VOUCH_OK);
	m[0] = 0xb1;
	assert_int_equal(sensor_state_decode(m, full - 2, &st), VOUCH_ERR_STORE_CORRUPT);
	/* An empty resource id is not one. */
	st2.resource[0] = '\0';
	assert_int_equal(sensor_state_encode(&st2, m, sizeof(m), &full), VOUCH_OK);
	assert_int_equal(sensor_state_decode(m, full, &st), VOUCH_ERR_STORE_CORRUPT);
	/* Unprovisioned, a resource or tags have no place. */
	{
		static const int64_t res[] = {1, 2, 3, 18};
		static const int64_t tg[] = {1, 2, 3, 19};

		len = write_map(res, "1f1t", 4, m);
		assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);
		len = write_map(tg, "1f1t", 4, m);
		assert_int_equal(sensor_state_decode(m, len, &st), VOUCH_ERR_STORE_CORRUPT);
	}
}

static bool exists(const char *dir, const char *name)
{
	char path[SENSOR_PATH_MAX];
	struct stat sb;

	assert_int_equal(sensor_path(path, sizeof(path), dir, name), VOUCH_OK);
	return lstat(path, &sb) == 0;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[SENSOR_PATH_MAX];
	FILE *f;

	assert_int_equal(sensor_path(path, sizeof(path), dir, name), VOUCH_OK);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_atomic(void **state)
{
	char dir[64], path[SENSOR_PATH_MAX];
	struct stat sb;

	(void)state;
	site_tmpdir(dir, sizeof(dir));
	assert_int_equal(sensor_state_load(dir, &st, buf, sizeof(buf)), VOUCH_ERR_STORE_NOT_FOUND);
	assert_false(st.provisioned);
	fill_provisioned(&st);
	assert_int_equal(sensor_state_save(dir, &st, buf, sizeof(buf)), VOUCH_OK);
	assert_int_equal(sensor_path(path, sizeof(path), dir, SENSOR_STATE_FILE), VOUCH_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_false(exists(dir, ".state.cbor.tmp"));
	assert_int_equal(sensor_state_load(dir, &st2, buf, sizeof(buf)), VOUCH_OK);
	assert_memory_equal(&st, &st2, sizeof(st));

	/* A power cut while the next state was being written leaves its temporary file: the
	 * last complete state is what loads, and the next save replaces the leftover. */
	write_file(dir, ".state.cbor.tmp", "\xa1\x01");
	assert_int_equal(sensor_state_load(dir, &st2, buf, sizeof(buf)), VOUCH_OK);
	assert_memory_equal(&st, &st2, sizeof(st));
	st.next_seq = 78;
	assert_int_equal(sensor_state_save(dir, &st, buf, sizeof(buf)), VOUCH_OK);
	assert_false(exists(dir, ".state.cbor.tmp"));
	assert_int_equal(sensor_state_load(dir, &st2, buf, sizeof(buf)), VOUCH_OK);
	assert_int_equal(st2.next_seq, 78);

	/* One flipped bit anywhere in a saved state is refused by its CRC (a flipped zone
	 * letter would otherwise still decode, as another zone). */
	{
		char fpath[SENSOR_PATH_MAX];
		uint8_t saved[SENSOR_STATE_MAX];
		size_t n = 0;
		FILE *f;

		assert_int_equal(sensor_path(fpath, sizeof(fpath), dir, SENSOR_STATE_FILE),
		                 VOUCH_OK);
		f = fopen(fpath, "rb");
		assert_non_null(f);
		n = fread(saved, 1, sizeof(saved), f);
		fclose(f);
		assert_true(n > 4);
		for (size_t i = 0; i < n; i += 7) {
			saved[i] ^= 0x04;
			f = fopen(fpath, "wb");
			assert_non_null(f);
			assert_int_equal(fwrite(saved, 1, n, f), n);
			fclose(f);
			assert_int_equal(sensor_state_load(dir, &st2, buf, sizeof(buf)),
			                 VOUCH_ERR_STORE_CORRUPT);
			assert_false(st2.provisioned);
			saved[i] ^= 0x04;
		}
	}

	/* A damaged state file is refused, never taken for a fresh device. */
	write_file(dir, SENSOR_STATE_FILE, "\xa3\x01\x01\x02");
	assert_int_equal(sensor_state_load(dir, &st2, buf, sizeof(buf)), VOUCH_ERR_STORE_CORRUPT);
	{
		uint8_t d[VOUCH_P256_SCALAR_LEN];

		site_devkey(d);
		assert_int_equal(site_start(&sensor, dir, d), VOUCH_ERR_STORE_CORRUPT);
		assert_false(sensor.started);
	}
	site_rmdir(dir);
}

static void test_sequence(void **state)
{
	struct site_event ev[8];
	struct sensor_event e;
	uint8_t d[VOUCH_P256_SCALAR_LEN], out[SENSOR_EVENT_MAX];
	struct vouch_key pub;
	size_t len = 0;
	char dir[64];

	(void)state;
	site_tmpdir(dir, sizeof(dir));
	site_devkey(d);
	assert_int_equal(site_start(&sensor, dir, d), VOUCH_OK);
	assert_string_equal(sensor.st.zone, SITE_ZONE);
	assert_int_equal(sensor.st.next_seq, 1);
	site_sensor_pub(&sensor, &pub);
	memset(&e, 0, sizeof(e));
	e.kind = "spoof";
	e.reason = "test";
	for (int i = 0; i < 3; i++)
		assert_int_equal(sensor_event_record(&sensor, &e, out, sizeof(out), &len),
		                 VOUCH_OK);
	sensor_stop(&sensor);

	assert_int_equal(site_start(&sensor, dir, d), VOUCH_OK);
	assert_int_equal(sensor.st.next_seq, 4);
	assert_int_equal(sensor_event_record(&sensor, &e, out, sizeof(out), &len), VOUCH_OK);
	assert_int_equal(site_queue_events(&sensor, &pub, ev, 8), 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(ev[i].seq, (uint64_t)i + 1);
		assert_string_equal(ev[i].kind, "spoof");
		assert_string_equal(ev[i].device, SENSOR_UNPROVISIONED);
		assert_int_equal(ev[i].time, site_now);
	}
	/* Acknowledged events leave the queue; their numbers are never handed out again. */
	assert_int_equal(sensor_queue_drop_upto(&sensor.q, 4), VOUCH_OK);
	sensor_stop(&sensor);
	assert_int_equal(site_start(&sensor, dir, d), VOUCH_OK);
	assert_int_equal(sensor.q.count, 0);
	assert_int_equal(sensor_event_record(&sensor, &e, out, sizeof(out), &len), VOUCH_OK);
	assert_int_equal(site_queue_events(&sensor, &pub, ev, 8), 1);
	assert_int_equal(ev[0].seq, 5);
	sensor_stop(&sensor);
	vouch_key_clear(&pub);
	site_rmdir(dir);
}

/* The number of records in q, and the last one in last. */
static size_t queue_last(struct sensor_queue *q, uint8_t last[SENSOR_EVENT_MAX], size_t *len)
{
	uint8_t rec[SENSOR_EVENT_MAX];
	uint64_t pos = 0, seq = 0;
	size_t n = 0, rlen = 0;

	*len = 0;
	while (sensor_queue_read(q, &pos, &seq, rec, sizeof(rec), &rlen) == VOUCH_OK) {
		memcpy(last, rec, rlen);
		*len = rlen;
		n++;
	}
	return n;
}

/* Commission on key a; restart on a (fine) and on b (refused, with a spoof event by b). */
static void test_clone_injected(void **state)
{
	uint8_t a[VOUCH_P256_SCALAR_LEN], b[VOUCH_P256_SCALAR_LEN];
	struct vouch_key pub_b;
	char dir[64];
	size_t n;

	(void)state;
	site_tmpdir(dir, sizeof(dir));
	site_devkey(a);
	site_devkey(b);
	assert_int_equal(site_start(&sensor, dir, a), VOUCH_OK);
	site_commission(&site, &sensor);
	sensor_stop(&sensor);

	assert_int_equal(site_start(&sensor, dir, a), VOUCH_OK);
	assert_true(sensor.st.provisioned);
	assert_string_equal(sensor.st.device_id, SITE_DEVICE);
	assert_true(sensor.started);
	sensor_stop(&sensor);

	assert_int_equal(site_start(&sensor, dir, b), VOUCH_ERR_KEY);
	assert_false(sensor.started);
	/* The refusal was recorded, signed by the key that is there. */
	assert_int_equal(site_start(&sensor, dir, a), VOUCH_OK);
	site_key(b, &pub_b);
	{
		uint8_t bufq[SENSOR_EVENT_MAX];
		struct site_event last;
		size_t len = 0;

		n = queue_last(&sensor.q, bufq, &len);
		assert_int_equal(n, 2); /* commission (by a), spoof (by b) */
		site_event_read(bufq, len, &pub_b, &last);
		assert_string_equal(last.kind, "spoof");
		assert_string_equal(last.device, SITE_DEVICE);
		assert_non_null(strstr(last.reason, "cloned state directory"));
		assert_int_equal(last.seq, 2);
	}
	sensor_stop(&sensor);
	vouch_key_clear(&pub_b);
	site_rmdir(dir);
}

#ifdef VOUCH_TEST_PSA
#include "vouch/psa.h"

/* A copy of a state directory without its secure element. */
static void cp(const char *from, const char *to)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cp -a %s/. %s/ && rm -rf %s/" SENSOR_SE_DIR, from, to, to);
	assert_int_equal(system(cmd), 0);
}

static bool se_empty(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s/" SENSOR_SE_DIR " 2>/dev/null)\"", dir);
	return system(cmd) == 0;
}

/* The real secure element: a persistent key, a copy of the directory without it, a swapped
 * element, the local reset. */
static void test_clone_se(void **state)
{
	struct sensor_config cfg = {NULL, SITE_ZONE, SITE_TYPE, site_clock};
	char d1[64], d2[64], d3[64], d4[64], code[VOUCH_PAIRING_CODE_LEN + 1], cmd[256];
	struct site_event ev;
	struct vouch_key pub4;
	uint8_t bufq[SENSOR_EVENT_MAX];
	size_t len = 0, n = 0;

	(void)state;
	site_tmpdir(d1, sizeof(d1));
	site_tmpdir(d2, sizeof(d2));
	site_tmpdir(d3, sizeof(d3));
	site_tmpdir(d4, sizeof(d4));
	cfg.sdir = d1;
	assert_int_equal(sensor_start(&sensor, &cfg), VOUCH_OK);
	assert_true(sensor.se_persistent);
	memcpy(code, sensor.pairing_code, sizeof(code));
	sensor_stop(&sensor);
	assert_int_equal(sensor_start(&sensor, &cfg), VOUCH_OK);
	assert_string_equal(sensor.pairing_code, code); /* the same key after a restart */
	site_commission(&site, &sensor);
	sensor_stop(&sensor);

	/* A copy without the secure element: refused, and no key made for it. */
	cp(d1, d2);
	cfg.sdir = d2;
	assert_int_equal(sensor_start(&sensor, &cfg), VOUCH_ERR_KEY_NOT_FOUND);
	assert_true(se_empty(d2));

	/* Another device's element under the state of the first. */
	cfg.sdir = d4;
	assert_int_equal(sensor_start(&sensor, &cfg), VOUCH_OK);
	site_sensor_pub(&sensor, &pub4);
	sensor_stop(&sensor);
	cp(d1, d3);
	snprintf(cmd, sizeof(cmd), "cp -a %s/" SENSOR_SE_DIR " %s/", d4, d3);
	assert_int_equal(system(cmd), 0);
	cfg.sdir = d3;
	assert_int_equal(sensor_start(&sensor, &cfg), VOUCH_ERR_KEY);
	assert_int_equal(sensor_queue_open(&sensor.q, d3), VOUCH_OK);
	n = queue_last(&sensor.q, bufq, &len);
	assert_int_equal(n, 2);
	site_event_read(bufq, len, &pub4, &ev);
	assert_string_equal(ev.kind, "spoof");
	sensor_queue_close(&sensor.q);

	/* The original still runs; after a reset it is a new device. */
	cfg.sdir = d1;
	assert_int_equal(sensor_start(&sensor, &cfg), VOUCH_OK);
	assert_true(sensor.st.provisioned);
	sensor_stop(&sensor);
	assert_int_equal(sensor_reset(d1), VOUCH_OK);
	assert_true(se_empty(d1));
	assert_false(exists(d1, SENSOR_STATE_FILE));
	assert_int_equal(sensor_start(&sensor, &cfg), VOUCH_OK);
	assert_false(sensor.st.provisioned);
	assert_string_not_equal(sensor.pairing_code, code);
	sensor_stop(&sensor);
	vouch_key_clear(&pub4);
	site_rmdir(d1);
	site_rmdir(d2);
	site_rmdir(d3);
	site_rmdir(d4);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),       cmocka_unit_test(test_strict),
	    cmocka_unit_test(test_resource_bounds), cmocka_unit_test(test_atomic),
	    cmocka_unit_test(test_sequence),        cmocka_unit_test(test_clone_injected),
#ifdef VOUCH_TEST_PSA
	    cmocka_unit_test(test_clone_se),
#endif
	};

	vouch_log_init("test_sensor_state", VOUCH_LOG_ERROR + 1, NULL);
	return cmocka_run_group_tests(tests, setup, teardown);
}
