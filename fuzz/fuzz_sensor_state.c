/*
 * libFuzzer: the sensor's state file (sensor/state.c, SDIR/state.cbor) as a power cut, bit rot or
 * someone with the device's flash could leave it. The input is the whole file, written into a
 * state directory made once per process (fuzz_files.h) and read with sensor_state_load().
 *
 * Invariants:
 *   - the answer is VOUCH_OK or one of the errors state.h documents for a bad file
 *     (VOUCH_ERR_STORE_CORRUPT, VOUCH_ERR_UNSUPPORTED, VOUCH_ERR_CBOR_*), never a crash or a leak;
 *   - a file whose CRC-32 trailer does not hold is VOUCH_ERR_STORE_CORRUPT; otherwise reading
 *     the file and decoding its CBOR part from memory agree (answer and state); each input is
 *     also tried with its CRC made right, so that mutations reach the decoder;
 *   - a refused file leaves a fresh state (sequence numbers from 1), nothing half-loaded;
 *   - a state that loads has every field within the bounds of state.h: required texts non-empty
 *     and NUL-terminated inside their arrays, lengths within their arrays, provisioned fields
 *     present exactly when provisioned, next_seq >= 1;
 *   - it round-trips: saved and loaded again, it is the same state, and the file written is the
 *     encoding of that state;
 *   - what the agent decodes from a loaded state at start (sensor_anchors_load: the COSE_Keys and
 *     the held revocation list; the device certificate; the site time zone) answers without a
 *     crash, the anchors with VOUCH_OK or VOUCH_ERR_STORE_CORRUPT.
 */
#define _DEFAULT_SOURCE /* strnlen */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_files.h"
#include "sensor.h"
#include "state.h"
#include "util.h"
#include "vouch/log.h"
#include "vouch/tz.h"

static char dir[256];
static struct sensor_state st, st_mem, st_again, fresh;
static struct vouch_sensor agent;
static uint8_t scratch[SENSOR_STATE_MAX], file[SENSOR_STATE_MAX], enc[SENSOR_STATE_MAX];

static void setup(void)
{
	FILE *devnull = fopen("/dev/null", "w");

	/* Every level, to /dev/null: the log lines of a refused file are exercised too. */
	if (devnull == NULL)
		abort();
	vouch_log_init("fuzz_sensor_state", VOUCH_LOG_DEBUG, devnull);
	fuzz_tmpdir(dir, sizeof(dir));
	sensor_state_init(&fresh);
	sensor_init(&agent);
}

static bool documented_error(int rc)
{
	return rc == VOUCH_ERR_STORE_CORRUPT || rc == VOUCH_ERR_UNSUPPORTED ||
	       (rc <= VOUCH_ERR_CBOR_MALFORMED && rc >= VOUCH_ERR_CBOR_NONCANONICAL);
}

/* NUL-terminated inside cap bytes, and non-empty when required. */
static bool text_ok(const char *s, size_t cap, bool required)
{
	size_t n = strnlen(s, cap);

	return n < cap && (n > 0 || !required);
}

static bool len_ok(size_t len, size_t cap, bool required)
{
	return len <= cap && (len > 0) == required;
}

static bool bounds_ok(const struct sensor_state *s)
{
	bool p = s->provisioned;

	if (s->next_seq < 1 || !text_ok(s->zone, sizeof(s->zone), false) ||
	    !text_ok(s->type, sizeof(s->type), false) ||
	    !text_ok(s->device_id, sizeof(s->device_id), p) || !text_ok(s->tz, sizeof(s->tz), p) ||
	    !text_ok(s->iss, sizeof(s->iss), p) || !text_ok(s->aud, sizeof(s->aud), p) ||
	    !text_ok(s->installer, sizeof(s->installer), p))
		return false;
	/* Texts absent when unprovisioned are empty, not merely short. */
	if (!p && (s->device_id[0] != '\0' || s->tz[0] != '\0' || s->iss[0] != '\0' ||
	           s->aud[0] != '\0' || s->installer[0] != '\0' || s->commissioned_at != 0))
		return false;
	if (!len_ok(s->cert_len, sizeof(s->cert), p) ||
	    !len_ok(s->issuer_key_len, sizeof(s->issuer_key), p) ||
	    !len_ok(s->revlist_key_len, sizeof(s->revlist_key), p) ||
	    !len_ok(s->firmware_key_len, sizeof(s->firmware_key), p) ||
	    s->revlist_len > sizeof(s->revlist) || (!p && s->revlist_len != 0) ||
	    s->n_ca > SENSOR_CA_MAX || (s->n_ca > 0) != p)
		return false;
	for (size_t i = 0; i < SENSOR_CA_MAX; i++)
		if (!len_ok(s->ca_len[i], sizeof(s->ca[i]), i < s->n_ca))
			return false;
	return true;
}

static bool bytes_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

/* Field by field: the struct has padding, which no decoder promises anything about. */
static bool state_equal(const struct sensor_state *a, const struct sensor_state *b)
{
	if (a->provisioned != b->provisioned || a->next_seq != b->next_seq ||
	    strcmp(a->zone, b->zone) != 0 || strcmp(a->type, b->type) != 0 ||
	    strcmp(a->device_id, b->device_id) != 0 || strcmp(a->tz, b->tz) != 0 ||
	    strcmp(a->iss, b->iss) != 0 || strcmp(a->aud, b->aud) != 0 ||
	    strcmp(a->installer, b->installer) != 0 || a->commissioned_at != b->commissioned_at ||
	    !bytes_equal(a->cert, a->cert_len, b->cert, b->cert_len) ||
	    !bytes_equal(a->issuer_key, a->issuer_key_len, b->issuer_key, b->issuer_key_len) ||
	    !bytes_equal(a->revlist_key, a->revlist_key_len, b->revlist_key, b->revlist_key_len) ||
	    !bytes_equal(a->firmware_key, a->firmware_key_len, b->firmware_key,
	                 b->firmware_key_len) ||
	    !bytes_equal(a->revlist, a->revlist_len, b->revlist, b->revlist_len) ||
	    a->n_ca != b->n_ca)
		return false;
	for (size_t i = 0; i < SENSOR_CA_MAX; i++)
		if (!bytes_equal(a->ca[i], a->ca_len[i], b->ca[i], b->ca_len[i]))
			return false;
	return true;
}

/* What the agent decodes from a loaded state when it starts (sensor/agent.c start_on_key). */
static void agent_decoders(void)
{
	uint8_t point[VOUCH_P256_POINT_LEN];
	struct vouch_tz tz;
	int rc;

	memcpy(&agent.st, &st, sizeof(st));
	rc = sensor_anchors_load(&agent);
	FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_STORE_CORRUPT);
	FUZZ_CHECK(rc != VOUCH_OK || agent.has_rl == (st.revlist_len > 0));
	if (st.provisioned) {
		(void)sensor_cert_point(st.cert, st.cert_len, point);
		rc = vouch_tz_parse(st.tz, &tz);
		FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_TZ);
	}
	vouch_key_clear(&agent.issuer);
	vouch_key_clear(&agent.revsigner);
	vouch_key_clear(&agent.firmware);
	vouch_key_init(&agent.issuer);
	vouch_key_init(&agent.revsigner);
	vouch_key_init(&agent.firmware);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The file's CRC-32 trailer holds (sensor/state.c: the CBOR state, then its CRC, big-endian). */
static bool crc_ok(const uint8_t *data, size_t size)
{
	uint8_t want[4];

	if (size < 4)
		return false;
	put_be32(want, sensor_crc32(0, data, size - 4));
	return memcmp(want, data + size - 4, 4) == 0;
}

/* One whole file through sensor_state_load(); returns whether it loaded. */
static bool check_file(const uint8_t *data, size_t size)
{
	size_t file_len = 0, enc_len = 0;
	int rc, rc_mem;

	fuzz_file_put(dir, SENSOR_STATE_FILE, data, size);
	rc = sensor_state_load(dir, &st, scratch, sizeof(scratch));
	FUZZ_CHECK(rc == VOUCH_OK || documented_error(rc));
	if (size <= sizeof(scratch) && crc_ok(data, size)) {
		rc_mem = sensor_state_decode(data, size - 4, &st_mem);
		FUZZ_CHECK(rc_mem == rc);
		FUZZ_CHECK(state_equal(&st, &st_mem));
	} else {
		/* Too large, or a CRC that does not hold: refused before any decoding. */
		FUZZ_CHECK(rc == VOUCH_ERR_STORE_CORRUPT);
	}
	if (rc != VOUCH_OK) {
		FUZZ_CHECK(state_equal(&st, &fresh));
		return false;
	}
	FUZZ_CHECK(bounds_ok(&st));

	/* The round trip through the file, as the agent saves the state at every change. */
	FUZZ_CHECK(sensor_state_save(dir, &st, scratch, sizeof(scratch)) == VOUCH_OK);
	FUZZ_CHECK(sensor_state_load(dir, &st_again, scratch, sizeof(scratch)) == VOUCH_OK);
	FUZZ_CHECK(state_equal(&st, &st_again));
	FUZZ_CHECK(fuzz_file_get(dir, SENSOR_STATE_FILE, file, sizeof(file), &file_len));
	FUZZ_CHECK(sensor_state_encode(&st_again, enc, sizeof(enc), &enc_len) == VOUCH_OK);
	FUZZ_CHECK(file_len == enc_len + 4 && bytes_equal(file, enc_len, enc, enc_len) &&
	           crc_ok(file, file_len));
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static uint8_t framed[SENSOR_STATE_MAX + 4];

	if (!ready) {
		setup();
		ready = true;
	}
	/* As it is; then, so that mutations reach the decoder behind the CRC, with its CRC made
	 * right (the input taken as the CBOR part). */
	if (check_file(data, size))
		agent_decoders();
	if (size + 4 <= sizeof(framed) && !crc_ok(data, size)) {
		memcpy(framed, data, size);
		put_be32(framed + size, sensor_crc32(0, data, size));
		if (check_file(framed, size + 4))
			agent_decoders();
	}
	return 0;
}
