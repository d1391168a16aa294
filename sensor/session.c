/*
 * vouch-sensor: the fixed table of phone sessions (docs/sensor-protocol.md "Sessions"): a
 * session lives SENSOR_SESSION_LIFE seconds; when the table is full the session idle longest is
 * taken over once it has been idle SENSOR_SESSION_IDLE seconds, else the newcomer is told 5.03.
 */
#include <string.h>

#include "sensor.h"

static bool expired(const struct sensor_session *sess, int64_t now)
{
	return now - sess->opened >= SENSOR_SESSION_LIFE || now < sess->opened;
}

void sensor_session_close(struct sensor_session *sess)
{
	vouch_key_clear(&sess->peer);
	vouch_edhoc_clear(&sess->edhoc);
	vouch_oscore_ctx_clear(&sess->osc);
	/* The credential is no secret, but a closed session keeps nothing of the phone. */
	vouch_wipe(sess, sizeof(*sess));
	vouch_key_init(&sess->peer);
	sess->state = SENSOR_SESSION_FREE;
}

struct sensor_session *sensor_session_find(struct vouch_sensor *s, const uint8_t *cid,
                                           size_t cid_len)
{
	int64_t now = sensor_now(s);

	for (size_t i = 0; i < SENSOR_SESSIONS; i++) {
		struct sensor_session *sess = &s->sessions[i];

		if (sess->state == SENSOR_SESSION_FREE || sess->cid_len != cid_len ||
		    memcmp(sess->cid, cid, cid_len) != 0)
			continue;
		if (expired(sess, now)) {
			sensor_session_close(sess);
			return NULL;
		}
		sess->last_used = now;
		return sess;
	}
	return NULL;
}

struct sensor_session *sensor_session_open(struct vouch_sensor *s, const uint8_t *cid,
                                           size_t cid_len)
{
	struct sensor_session *pick = NULL;
	int64_t now = sensor_now(s);

	if (cid_len > VOUCH_EDHOC_MAX_CID)
		return NULL;
	for (size_t i = 0; i < SENSOR_SESSIONS && pick == NULL; i++) {
		struct sensor_session *sess = &s->sessions[i];

		if (sess->state == SENSOR_SESSION_FREE || expired(sess, now) ||
		    (sess->cid_len == cid_len && memcmp(sess->cid, cid, cid_len) == 0))
			pick = sess;
	}
	if (pick == NULL) {
		struct sensor_session *lru = &s->sessions[0];

		for (size_t i = 1; i < SENSOR_SESSIONS; i++)
			if (s->sessions[i].last_used < lru->last_used)
				lru = &s->sessions[i];
		if (now - lru->last_used >= SENSOR_SESSION_IDLE)
			pick = lru;
	}
	if (pick == NULL)
		return NULL;
	sensor_session_close(pick);
	memcpy(pick->cid, cid, cid_len);
	pick->cid_len = cid_len;
	pick->opened = now;
	pick->last_used = now;
	pick->state = SENSOR_SESSION_HANDSHAKE;
	return pick;
}

int sensor_session_secure(struct sensor_session *sess, const struct vouch_key *peer)
{
	uint8_t point[VOUCH_P256_POINT_LEN];
	size_t len = 0;
	int rc;

	if (sess->state != SENSOR_SESSION_HANDSHAKE || peer == NULL || peer->type != VOUCH_KEY_P256)
		return VOUCH_ERR_INVALID;
	/* A handle cannot be shared: keep a public copy of our own. */
	rc = vouch_key_export_public(peer, point, sizeof(point), &len);
	if (rc == VOUCH_OK)
		rc = vouch_key_import_public(&sess->peer, VOUCH_KEY_P256, point, len);
	if (rc == VOUCH_OK)
		sess->state = SENSOR_SESSION_SECURED;
	return rc;
}
