/*
 * vouch-sensor: the persistent state, SDIR/state.cbor (format and rules in sensor/state.h).
 */
#include <string.h>

#include "state.h"
#include "util.h"
#include "vouch/cbor.h"
#include "vouch/log.h"

enum {
	K_VERSION = 1,
	K_PROVISIONED,
	K_NEXT_SEQ,
	K_ZONE,
	K_TYPE,
	K_DEVICE_ID,
	K_TZ,
	K_CERT,
	K_CA,
	K_ISSUER_KEY,
	K_REVLIST_KEY,
	K_FIRMWARE_KEY,
	K_ISS,
	K_AUD,
	K_INSTALLER,
	K_COMMISSIONED_AT,
	K_REVLIST,
	K_RESOURCE,
	K_TAGS,
	K_LAST = K_TAGS,
};

/* The keys a provisioned state must hold, and an unprovisioned one must not. */
#define PROVISIONED_KEYS                                                                           \
	((1u << K_DEVICE_ID) | (1u << K_TZ) | (1u << K_CERT) | (1u << K_CA) |                      \
	 (1u << K_ISSUER_KEY) | (1u << K_REVLIST_KEY) | (1u << K_FIRMWARE_KEY) | (1u << K_ISS) |   \
	 (1u << K_AUD) | (1u << K_INSTALLER) | (1u << K_COMMISSIONED_AT) | (1u << K_RESOURCE) |    \
	 (1u << K_TAGS))
#define REQUIRED_KEYS ((1u << K_VERSION) | (1u << K_PROVISIONED) | (1u << K_NEXT_SEQ))

void sensor_state_init(struct sensor_state *st)
{
	memset(st, 0, sizeof(*st));
	st->next_seq = 1;
}

int sensor_text_copy(char *dst, size_t cap, const char *p, size_t len)
{
	dst[0] = '\0';
	if (len == 0 || len >= cap || memchr(p, '\0', len) != NULL)
		return VOUCH_ERR_INVALID;
	memcpy(dst, p, len);
	dst[len] = '\0';
	return VOUCH_OK;
}

int sensor_state_encode(const struct sensor_state *st, uint8_t *buf, size_t cap, size_t *len)
{
	struct vouch_cbor_writer w;
	size_t n = 3 + (st->zone[0] != '\0') + (st->type[0] != '\0');

	*len = 0;
	/* A state beyond its bounds is the caller's bug: never write it. */
	if (st->n_tags > SENSOR_TAGS_MAX)
		return VOUCH_ERR_INVALID;
	if (st->provisioned)
		n += 13 + (st->revlist_len > 0);
	vouch_cbor_writer_init(&w, buf, cap);
	vouch_cbor_write_map(&w, n);
	vouch_cbor_write_uint(&w, K_VERSION);
	vouch_cbor_write_uint(&w, SENSOR_STATE_VERSION);
	vouch_cbor_write_uint(&w, K_PROVISIONED);
	vouch_cbor_write_bool(&w, st->provisioned);
	vouch_cbor_write_uint(&w, K_NEXT_SEQ);
	vouch_cbor_write_uint(&w, st->next_seq);
	if (st->zone[0] != '\0') {
		vouch_cbor_write_uint(&w, K_ZONE);
		vouch_cbor_write_cstr(&w, st->zone);
	}
	if (st->type[0] != '\0') {
		vouch_cbor_write_uint(&w, K_TYPE);
		vouch_cbor_write_cstr(&w, st->type);
	}
	if (st->provisioned) {
		vouch_cbor_write_uint(&w, K_DEVICE_ID);
		vouch_cbor_write_cstr(&w, st->device_id);
		vouch_cbor_write_uint(&w, K_TZ);
		vouch_cbor_write_cstr(&w, st->tz);
		vouch_cbor_write_uint(&w, K_CERT);
		vouch_cbor_write_bstr(&w, st->cert, st->cert_len);
		vouch_cbor_write_uint(&w, K_CA);
		vouch_cbor_write_array(&w, st->n_ca);
		for (size_t i = 0; i < st->n_ca; i++)
			vouch_cbor_write_bstr(&w, st->ca[i], st->ca_len[i]);
		vouch_cbor_write_uint(&w, K_ISSUER_KEY);
		vouch_cbor_write_bstr(&w, st->issuer_key, st->issuer_key_len);
		vouch_cbor_write_uint(&w, K_REVLIST_KEY);
		vouch_cbor_write_bstr(&w, st->revlist_key, st->revlist_key_len);
		vouch_cbor_write_uint(&w, K_FIRMWARE_KEY);
		vouch_cbor_write_bstr(&w, st->firmware_key, st->firmware_key_len);
		vouch_cbor_write_uint(&w, K_ISS);
		vouch_cbor_write_cstr(&w, st->iss);
		vouch_cbor_write_uint(&w, K_AUD);
		vouch_cbor_write_cstr(&w, st->aud);
		vouch_cbor_write_uint(&w, K_INSTALLER);
		vouch_cbor_write_cstr(&w, st->installer);
		vouch_cbor_write_uint(&w, K_COMMISSIONED_AT);
		vouch_cbor_write_int(&w, st->commissioned_at);
		if (st->revlist_len > 0) {
			vouch_cbor_write_uint(&w, K_REVLIST);
			vouch_cbor_write_bstr(&w, st->revlist, st->revlist_len);
		}
		vouch_cbor_write_uint(&w, K_RESOURCE);
		vouch_cbor_write_cstr(&w, st->resource);
		vouch_cbor_write_uint(&w, K_TAGS);
		vouch_cbor_write_array(&w, st->n_tags);
		for (size_t i = 0; i < st->n_tags; i++)
			vouch_cbor_write_cstr(&w, st->tags[i]);
	}
	return vouch_cbor_writer_finish(&w, len);
}

static int read_text(struct vouch_cbor_reader *r, char *dst, size_t cap)
{
	const char *p;
	size_t len = 0;

	if (vouch_cbor_read_tstr(r, &p, &len) != VOUCH_OK)
		return VOUCH_ERR_STORE_CORRUPT;
	return sensor_text_copy(dst, cap, p, len) == VOUCH_OK ? VOUCH_OK : VOUCH_ERR_STORE_CORRUPT;
}

static int read_bytes(struct vouch_cbor_reader *r, uint8_t *dst, size_t cap, size_t *len)
{
	const uint8_t *p;
	size_t n = 0;

	*len = 0;
	if (vouch_cbor_read_bstr(r, &p, &n) != VOUCH_OK || n == 0 || n > cap)
		return VOUCH_ERR_STORE_CORRUPT;
	memcpy(dst, p, n);
	*len = n;
	return VOUCH_OK;
}

static int read_cas(struct vouch_cbor_reader *r, struct sensor_state *st)
{
	size_t n = 0;

	if (vouch_cbor_read_array(r, &n) != VOUCH_OK || n == 0 || n > SENSOR_CA_MAX)
		return VOUCH_ERR_STORE_CORRUPT;
	for (size_t i = 0; i < n; i++)
		if (read_bytes(r, st->ca[i], SENSOR_CERT_MAX, &st->ca_len[i]) != VOUCH_OK)
			return VOUCH_ERR_STORE_CORRUPT;
	st->n_ca = n;
	return VOUCH_OK;
}

static int read_tags(struct vouch_cbor_reader *r, struct sensor_state *st)
{
	size_t n = 0;

	if (vouch_cbor_read_array(r, &n) != VOUCH_OK || n > SENSOR_TAGS_MAX)
		return VOUCH_ERR_STORE_CORRUPT;
	for (size_t i = 0; i < n; i++)
		if (read_text(r, st->tags[i], sizeof(st->tags[i])) != VOUCH_OK)
			return VOUCH_ERR_STORE_CORRUPT;
	st->n_tags = n;
	return VOUCH_OK;
}

static int read_entry(struct vouch_cbor_reader *r, uint64_t key, struct sensor_state *st)
{
	uint64_t u = 0;

	switch (key) {
	case K_VERSION:
		if (vouch_cbor_read_uint(r, &u) != VOUCH_OK)
			return VOUCH_ERR_STORE_CORRUPT;
		return u == SENSOR_STATE_VERSION ? VOUCH_OK : VOUCH_ERR_UNSUPPORTED;
	case K_PROVISIONED:
		return vouch_cbor_read_bool(r, &st->provisioned) == VOUCH_OK
		           ? VOUCH_OK
		           : VOUCH_ERR_STORE_CORRUPT;
	case K_NEXT_SEQ:
		if (vouch_cbor_read_uint(r, &st->next_seq) != VOUCH_OK || st->next_seq == 0)
			return VOUCH_ERR_STORE_CORRUPT;
		return VOUCH_OK;
	case K_ZONE:
		return read_text(r, st->zone, sizeof(st->zone));
	case K_TYPE:
		return read_text(r, st->type, sizeof(st->type));
	case K_DEVICE_ID:
		return read_text(r, st->device_id, sizeof(st->device_id));
	case K_TZ:
		return read_text(r, st->tz, sizeof(st->tz));
	case K_CERT:
		return read_bytes(r, st->cert, sizeof(st->cert), &st->cert_len);
	case K_CA:
		return read_cas(r, st);
	case K_ISSUER_KEY:
		return read_bytes(r, st->issuer_key, sizeof(st->issuer_key), &st->issuer_key_len);
	case K_REVLIST_KEY:
		return read_bytes(r, st->revlist_key, sizeof(st->revlist_key),
		                  &st->revlist_key_len);
	case K_FIRMWARE_KEY:
		return read_bytes(r, st->firmware_key, sizeof(st->firmware_key),
		                  &st->firmware_key_len);
	case K_ISS:
		return read_text(r, st->iss, sizeof(st->iss));
	case K_AUD:
		return read_text(r, st->aud, sizeof(st->aud));
	case K_INSTALLER:
		return read_text(r, st->installer, sizeof(st->installer));
	case K_COMMISSIONED_AT:
		return vouch_cbor_read_int(r, &st->commissioned_at) == VOUCH_OK
		           ? VOUCH_OK
		           : VOUCH_ERR_STORE_CORRUPT;
	case K_REVLIST:
		return read_bytes(r, st->revlist, sizeof(st->revlist), &st->revlist_len);
	case K_RESOURCE:
		return read_text(r, st->resource, sizeof(st->resource));
	case K_TAGS:
		return read_tags(r, st);
	default:
		return VOUCH_ERR_STORE_CORRUPT;
	}
}

int sensor_state_decode(const uint8_t *buf, size_t len, struct sensor_state *st)
{
	struct vouch_cbor_reader r;
	uint32_t seen = 0, want;
	uint64_t key;
	size_t n = 0;
	int rc;

	sensor_state_init(st);
	rc = vouch_cbor_validate(buf, len, NULL);
	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_reader_init(&r, buf, len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK) {
		rc = VOUCH_ERR_STORE_CORRUPT;
		goto out_reset;
	}
	for (size_t i = 0; i < n; i++) {
		rc = VOUCH_ERR_STORE_CORRUPT;
		if (vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key == 0 || key > K_LAST ||
		    (seen & (1u << key)) != 0)
			goto out_reset;
		/* The version decides how to read the rest: it comes first. */
		if (i == 0 && key != K_VERSION)
			goto out_reset;
		seen |= 1u << key;
		rc = read_entry(&r, key, st);
		if (rc != VOUCH_OK)
			goto out_reset;
	}
	rc = VOUCH_ERR_STORE_CORRUPT;
	if (!vouch_cbor_reader_done(&r) || (seen & REQUIRED_KEYS) != REQUIRED_KEYS)
		goto out_reset;
	want = st->provisioned ? PROVISIONED_KEYS : 0;
	if ((seen & PROVISIONED_KEYS) != want ||
	    (!st->provisioned && (seen & (1u << K_REVLIST)) != 0))
		goto out_reset;
	return VOUCH_OK;
out_reset:
	sensor_state_init(st);
	return rc;
}

/* The file is the CBOR state followed by the CRC-32 of it, big-endian: bit rot or a flipped
 * byte in a zone name would otherwise still decode as a (different) valid state. */
#define STATE_CRC_LEN 4

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int sensor_state_load(const char *sdir, struct sensor_state *st, uint8_t *scratch, size_t cap)
{
	size_t len = 0;
	int rc;

	sensor_state_init(st);
	rc = sensor_file_read(sdir, SENSOR_STATE_FILE, scratch, cap, &len);
	if (rc == VOUCH_ERR_BUFFER)
		rc = VOUCH_ERR_STORE_CORRUPT;
	if (rc == VOUCH_OK &&
	    (len < STATE_CRC_LEN || sensor_crc32(0, scratch, len - STATE_CRC_LEN) !=
	                                get_be32(scratch + len - STATE_CRC_LEN)))
		rc = VOUCH_ERR_STORE_CORRUPT;
	if (rc == VOUCH_OK)
		rc = sensor_state_decode(scratch, len - STATE_CRC_LEN, st);
	if (rc != VOUCH_OK && rc != VOUCH_ERR_STORE_NOT_FOUND)
		vouch_log(VOUCH_LOG_ERROR, "sensor.state", "why", vouch_strerror(rc), "file",
		          SENSOR_STATE_FILE, NULL);
	return rc;
}

int sensor_state_save(const char *sdir, const struct sensor_state *st, uint8_t *scratch, size_t cap)
{
	size_t len = 0;
	uint32_t crc;
	int rc = cap > STATE_CRC_LEN ? sensor_state_encode(st, scratch, cap - STATE_CRC_LEN, &len)
	                             : VOUCH_ERR_BUFFER;

	if (rc == VOUCH_OK) {
		crc = sensor_crc32(0, scratch, len);
		scratch[len++] = (uint8_t)(crc >> 24);
		scratch[len++] = (uint8_t)(crc >> 16);
		scratch[len++] = (uint8_t)(crc >> 8);
		scratch[len++] = (uint8_t)crc;
		rc = sensor_file_write_atomic(sdir, SENSOR_STATE_FILE, scratch, len);
	}
	if (rc != VOUCH_OK)
		vouch_log(VOUCH_LOG_ERROR, "sensor.state.save", "why", vouch_strerror(rc), NULL);
	return rc;
}
