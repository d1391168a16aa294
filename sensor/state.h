/*
 * vouch-sensor: the persistent state (sensor/state.c), SDIR/state.cbor.
 *
 * What a sensor must remember across power cuts: whether it is commissioned, its identity and
 * configuration, the trust anchors of its one physically present commissioning, the revocation
 * list it relies on, and the next event sequence number (handed out only after it is on disk,
 * so a number is never used twice). The file is CBOR, written atomically (util.h) and decoded
 * strictly: an unknown version, an unknown key, a wrong type, a missing field or trailing bytes
 * refuse the whole file. The private key is not here: it lives in the secure element.
 *
 * state = {
 *   1 => 1,                    ; version
 *   2 => bool,                 ; provisioned
 *   3 => uint,                 ; next event sequence number
 *   ? 4 => tstr,               ; zone  (unprovisioned: as configured; else the bundle's)
 *   ? 5 => tstr,               ; type  (likewise)
 *   ; these only, and all of them, when provisioned:
 *   6 => tstr,                 ; device id
 *   7 => tstr,                 ; site time zone (POSIX TZ rule)
 *   8 => bstr,                 ; device certificate (DER)
 *   9 => [+ bstr],             ; CA certificates, issuing first (DER)
 *   10 => bstr,                ; credential issuer key (COSE_Key)
 *   11 => bstr,                ; revocation list signer key (COSE_Key)
 *   12 => bstr,                ; firmware signer key (COSE_Key)
 *   13 => tstr,                ; iss of credentials
 *   14 => tstr,                ; aud of credentials
 *   15 => tstr,                ; installer
 *   16 => int,                 ; commissioned at (the bundle's time)
 *   ? 17 => bstr,              ; the revocation list held (signed, as received)
 *   18 => tstr,                ; resource id (the bundle's): what the sensor decides as; the
 *                              ; device id when it was commissioned as no named resource
 *   19 => [* tstr],            ; the resource's tags, at most SENSOR_TAGS_MAX (possibly none)
 * }
 * Keys 18 and 19 belong to the provisioned set too (required when provisioned, else refused).
 */
#ifndef VOUCH_SENSOR_STATE_H
#define VOUCH_SENSOR_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vouch/cred.h"
#include "vouch/policy.h"
#include "vouch/tz.h"

#define SENSOR_STATE_VERSION 1
#define SENSOR_STATE_FILE    "state.cbor"
#define SENSOR_NAME_MAX      VOUCH_POLICY_NAME_MAX /* device id, zone, type, resource id, tag */
/* Tags of the resource the sensor is: as many as the directory lets a resource have
 * (docs/directory.md), so that binding a sensor to any resource of the plant works. */
#define SENSOR_TAGS_MAX     32
#define SENSOR_TEXT_MAX     VOUCH_CRED_TEXT_MAX /* iss, aud, installer */
#define SENSOR_CERT_MAX     2048
#define SENSOR_CA_MAX       4
#define SENSOR_COSE_KEY_MAX 192
#define SENSOR_REVLIST_MAX  (32 * 1024)
/* Room for the largest state file (every field at its limit, plus CBOR heads). */
#define SENSOR_STATE_MAX                                                                           \
	(SENSOR_REVLIST_MAX + (SENSOR_CA_MAX + 1) * SENSOR_CERT_MAX + 3 * SENSOR_COSE_KEY_MAX +    \
	 3 * SENSOR_TEXT_MAX + (4 + SENSOR_TAGS_MAX) * (SENSOR_NAME_MAX + 2) + VOUCH_TZ_RULE_MAX + \
	 256)

struct sensor_state {
	bool provisioned;
	uint64_t next_seq;
	char zone[SENSOR_NAME_MAX + 1];
	char type[SENSOR_NAME_MAX + 1];
	/* provisioned only */
	char device_id[SENSOR_NAME_MAX + 1];
	char tz[VOUCH_TZ_RULE_MAX + 1];
	uint8_t cert[SENSOR_CERT_MAX];
	size_t cert_len;
	uint8_t ca[SENSOR_CA_MAX][SENSOR_CERT_MAX];
	size_t ca_len[SENSOR_CA_MAX];
	size_t n_ca;
	uint8_t issuer_key[SENSOR_COSE_KEY_MAX];
	size_t issuer_key_len;
	uint8_t revlist_key[SENSOR_COSE_KEY_MAX];
	size_t revlist_key_len;
	uint8_t firmware_key[SENSOR_COSE_KEY_MAX];
	size_t firmware_key_len;
	char iss[SENSOR_TEXT_MAX + 1];
	char aud[SENSOR_TEXT_MAX + 1];
	char installer[SENSOR_TEXT_MAX + 1];
	int64_t commissioned_at;
	uint8_t revlist[SENSOR_REVLIST_MAX]; /* revlist_len 0: none held */
	size_t revlist_len;
	/* The directory resource the sensor is (policy decides on it): its id and tags. The device
	 * id stays the identity (certificate, events); the resource is what grants name. */
	char resource[SENSOR_NAME_MAX + 1];
	char tags[SENSOR_TAGS_MAX][SENSOR_NAME_MAX + 1];
	size_t n_tags;
};

/* A fresh, unprovisioned state (sequence numbers from 1). */
void sensor_state_init(struct sensor_state *st);

/* Copy text of len bytes into dst (cap bytes with the NUL); VOUCH_ERR_INVALID when it is empty,
 * does not fit or holds a NUL. */
int sensor_text_copy(char *dst, size_t cap, const char *p, size_t len);

int sensor_state_encode(const struct sensor_state *st, uint8_t *buf, size_t cap, size_t *len);
/* Strict (see the top of this file). VOUCH_ERR_UNSUPPORTED: another version;
 * VOUCH_ERR_STORE_CORRUPT: well-formed CBOR that is not a state; VOUCH_ERR_CBOR_*: not CBOR. */
int sensor_state_decode(const uint8_t *buf, size_t len, struct sensor_state *st);

/* Read SDIR/state.cbor (the encoding, then its CRC-32, 4 bytes big-endian) into st.
 * VOUCH_ERR_STORE_NOT_FOUND (st fresh) when there is none; VOUCH_ERR_STORE_CORRUPT when the CRC
 * does not match. scratch holds the file while it is decoded (SENSOR_STATE_MAX bytes suffice). */
int sensor_state_load(const char *sdir, struct sensor_state *st, uint8_t *scratch, size_t cap);
/* Write st to SDIR/state.cbor atomically. */
int sensor_state_save(const char *sdir, const struct sensor_state *st, uint8_t *scratch,
                      size_t cap);

#endif
