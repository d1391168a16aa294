/*
 * vouch-sensor: starting and stopping the agent, clone detection, the anchors, decommissioning.
 *
 * A provisioned state is trusted only together with the key it was commissioned for: at every
 * start the device certificate's key must be the secure element's. A copy of the state directory
 * on another device (whose element has another key, or none) or a swapped element is refused
 * loudly, with a `spoof` event when there is a key to sign it, and never runs.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sensor.h"
#include "util.h"
#include "vouch/cose.h"
#include "vouch/log.h"

static int64_t clock_real(void)
{
	return (int64_t)time(NULL);
}

int64_t sensor_now(const struct vouch_sensor *s)
{
	return s->clock != NULL ? s->clock() : clock_real();
}

void sensor_init(struct vouch_sensor *s)
{
	memset(s, 0, sizeof(*s));
	vouch_key_init(&s->id);
	vouch_key_init(&s->issuer);
	vouch_key_init(&s->revsigner);
	vouch_key_init(&s->firmware);
	for (size_t i = 0; i < SENSOR_SESSIONS; i++)
		vouch_key_init(&s->sessions[i].peer);
	sensor_state_init(&s->st);
	sensor_queue_init(&s->q);
}

bool sensor_list_stale(const struct vouch_sensor *s, int64_t now)
{
	return vouch_revlist_expired(s->has_rl ? &s->rl : NULL, now);
}

/* A public-key handle from a COSE_Key of the bundle, of an allowed type. */
static int key_from_cose(const uint8_t *buf, size_t len, bool ed25519_ok, struct vouch_key *key)
{
	struct vouch_cose_key ck;
	int rc = vouch_cose_key_decode(buf, len, &ck);

	if (rc == VOUCH_OK)
		rc = vouch_cose_key_to_public(&ck, key);
	if (rc == VOUCH_OK && key->type != VOUCH_KEY_P256 &&
	    !(ed25519_ok && key->type == VOUCH_KEY_ED25519))
		rc = VOUCH_ERR_KEY;
	if (rc != VOUCH_OK) {
		vouch_key_clear(key);
		vouch_key_init(key);
	}
	return rc;
}

int sensor_anchors_load(struct vouch_sensor *s)
{
	struct sensor_state *st = &s->st;
	int rc;

	vouch_key_clear(&s->issuer);
	vouch_key_clear(&s->revsigner);
	vouch_key_clear(&s->firmware);
	vouch_key_init(&s->issuer);
	vouch_key_init(&s->revsigner);
	vouch_key_init(&s->firmware);
	s->has_rl = false;
	memset(&s->rl, 0, sizeof(s->rl));
	if (!st->provisioned)
		return VOUCH_OK;
	rc = key_from_cose(st->issuer_key, st->issuer_key_len, false, &s->issuer);
	if (rc == VOUCH_OK)
		rc = key_from_cose(st->revlist_key, st->revlist_key_len, false, &s->revsigner);
	if (rc == VOUCH_OK)
		rc = key_from_cose(st->firmware_key, st->firmware_key_len, true, &s->firmware);
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "sensor.anchors", "why", vouch_strerror(rc), NULL);
		return VOUCH_ERR_STORE_CORRUPT;
	}
	if (st->revlist_len > 0) {
		/* It verified when it was taken; a list that no longer does was changed on disk. */
		rc = vouch_revlist_verify(st->revlist, st->revlist_len, &s->revsigner, st->iss,
		                          st->aud, &s->rl);
		if (rc != VOUCH_OK) {
			vouch_log(VOUCH_LOG_ERROR, "sensor.revlist", "why", vouch_strerror(rc),
			          NULL);
			return VOUCH_ERR_STORE_CORRUPT;
		}
		s->has_rl = true;
	}
	return VOUCH_OK;
}

int sensor_list_install(struct vouch_sensor *s, const uint8_t *buf, size_t len)
{
	int rc;

	if (!s->st.provisioned || len == 0 || len > sizeof(s->st.revlist))
		return VOUCH_ERR_INVALID;
	memcpy(s->st.revlist, buf, len);
	s->st.revlist_len = len;
	s->has_rl = false;
	rc = vouch_revlist_verify(s->st.revlist, len, &s->revsigner, s->st.iss, s->st.aud, &s->rl);
	if (rc != VOUCH_OK) {
		s->st.revlist_len = 0;
		return rc;
	}
	s->has_rl = true;
	return sensor_state_save(s->sdir, &s->st, s->scratch, sizeof(s->scratch));
}

/* The directory, the state (a fresh one on a first start) and the configured zone and type. */
static int state_prepare(struct vouch_sensor *s, const struct sensor_config *cfg)
{
	bool dirty = false;
	int rc;

	if (cfg == NULL || cfg->sdir == NULL ||
	    snprintf(s->sdir, sizeof(s->sdir), "%s", cfg->sdir) >= (int)sizeof(s->sdir))
		return VOUCH_ERR_INVALID;
	s->clock = cfg->clock;
	rc = sensor_mkdir_private(s->sdir);
	if (rc != VOUCH_OK)
		return rc;
	rc = sensor_state_load(s->sdir, &s->st, s->scratch, sizeof(s->scratch));
	if (rc == VOUCH_ERR_STORE_NOT_FOUND) {
		dirty = true;
		rc = VOUCH_OK;
	}
	if (rc != VOUCH_OK)
		return rc;
	for (int i = 0; i < 2; i++) {
		const char *want = i == 0 ? cfg->zone : cfg->type;
		char *have = i == 0 ? s->st.zone : s->st.type;

		if (want == NULL || strcmp(want, have) == 0)
			continue;
		if (s->st.provisioned) {
			/* The commissioning fixed it: only a signed bundle changes it. */
			vouch_log(VOUCH_LOG_WARN, "sensor.config.ignored", i == 0 ? "zone" : "type",
			          want, "holds", have, NULL);
			continue;
		}
		if (sensor_text_copy(have, SENSOR_NAME_MAX + 1, want, strlen(want)) != VOUCH_OK)
			return VOUCH_ERR_INVALID;
		dirty = true;
	}
	if (dirty)
		rc = sensor_state_save(s->sdir, &s->st, s->scratch, sizeof(s->scratch));
	return rc;
}

static void spoof_refuse(struct vouch_sensor *s, const char *why)
{
	struct sensor_event ev;
	uint8_t out[SENSOR_EVENT_MAX];
	size_t len = 0;

	vouch_log(VOUCH_LOG_ERROR, "sensor.spoof", "device", s->st.device_id, "why", why, NULL);
	if (s->id.type != VOUCH_KEY_P256 || s->q.fd < 0)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = "spoof";
	ev.reason = why;
	s->started = true;
	if (sensor_event_record(s, &ev, out, sizeof(out), &len) != VOUCH_OK)
		vouch_log(VOUCH_LOG_ERROR, "sensor.spoof.event", "why", "not recorded", NULL);
	s->started = false;
}

/* Everything after the key is known. Takes over *id. */
static int start_on_key(struct vouch_sensor *s, struct vouch_key *id)
{
	uint8_t cert_point[VOUCH_P256_POINT_LEN];
	size_t len = 0;
	int rc;

	s->id = *id;
	vouch_key_init(id);
	rc =
	    s->id.type == VOUCH_KEY_P256 && vouch_key_is_private(&s->id) ? VOUCH_OK : VOUCH_ERR_KEY;
	if (rc == VOUCH_OK)
		rc = vouch_key_export_public(&s->id, s->id_point, sizeof(s->id_point), &len);
	if (rc == VOUCH_OK)
		rc = vouch_cose_key_thumbprint(&s->id, s->kid);
	if (rc == VOUCH_OK)
		rc = vouch_pairing_code(&s->id, s->pairing_code);
	if (rc == VOUCH_OK)
		rc = sensor_queue_open(&s->q, s->sdir);
	if (rc != VOUCH_OK)
		return rc;
	if (s->st.provisioned) {
		rc = sensor_cert_point(s->st.cert, s->st.cert_len, cert_point);
		if (rc != VOUCH_OK ||
		    !vouch_ct_equal(cert_point, s->id_point, sizeof(cert_point))) {
			spoof_refuse(s,
			             "the secure element's key is not the key of the device "
			             "certificate: a cloned state directory or a swapped element");
			return VOUCH_ERR_KEY;
		}
	}
	rc = sensor_anchors_load(s);
	if (rc != VOUCH_OK)
		return rc;
	sensor_readings_init(&s->rd, s->sdir, s->st.type);
	s->started = true;
	vouch_log(VOUCH_LOG_INFO, "sensor.start", "state",
	          s->st.provisioned ? "provisioned" : SENSOR_UNPROVISIONED, "device",
	          s->st.provisioned ? s->st.device_id : NULL, "zone", s->st.zone, "type",
	          s->st.type, "backend", vouch_crypto_backend(), NULL);
	return VOUCH_OK;
}

int sensor_start_with_key(struct vouch_sensor *s, const struct sensor_config *cfg,
                          struct vouch_key *id)
{
	int rc;

	sensor_init(s);
	rc = state_prepare(s, cfg);
	if (rc == VOUCH_OK)
		rc = start_on_key(s, id);
	else
		vouch_key_clear(id);
	if (rc != VOUCH_OK)
		sensor_stop(s);
	return rc;
}

int sensor_start(struct vouch_sensor *s, const struct sensor_config *cfg)
{
	struct vouch_key id;
	bool created = false;
	int rc;

	sensor_init(s);
	vouch_key_init(&id);
	rc = state_prepare(s, cfg);
	if (rc != VOUCH_OK)
		goto out_stop;
	/* A provisioned sensor never makes itself a new key: that would be another device. */
	rc = sensor_se_open(s->sdir, !s->st.provisioned, &id, &created);
	if (rc == VOUCH_ERR_KEY_NOT_FOUND && s->st.provisioned) {
		spoof_refuse(s, "the secure element holds no key, yet the state is provisioned: a "
		                "cloned state directory or a swapped element");
		goto out_stop;
	}
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "sensor.se", "why", vouch_strerror(rc), NULL);
		goto out_stop;
	}
	if (created)
		vouch_log(VOUCH_LOG_INFO, "sensor.key.generated", "where", SENSOR_SE_DIR, NULL);
	s->se_persistent = true;
	rc = start_on_key(s, &id);
out_stop:
	vouch_key_clear(&id);
	if (rc != VOUCH_OK)
		sensor_stop(s);
	return rc;
}

void sensor_stop(struct vouch_sensor *s)
{
	if (s->started &&
	    sensor_state_save(s->sdir, &s->st, s->scratch, sizeof(s->scratch)) != VOUCH_OK)
		vouch_log(VOUCH_LOG_ERROR, "sensor.stop", "why", "state not saved", NULL);
	for (size_t i = 0; i < SENSOR_SESSIONS; i++)
		sensor_session_close(&s->sessions[i]);
	sensor_queue_close(&s->q);
	vouch_key_clear(&s->id);
	vouch_key_clear(&s->issuer);
	vouch_key_clear(&s->revsigner);
	vouch_key_clear(&s->firmware);
	vouch_wipe(s, sizeof(*s));
	sensor_init(s);
}

static int files_remove(const char *sdir)
{
	int rc = sensor_file_remove(sdir, SENSOR_STATE_FILE);

	if (rc == VOUCH_OK)
		rc = sensor_file_remove(sdir, SENSOR_QUEUE_FILE);
	return rc;
}

int sensor_reset(const char *sdir)
{
	int rc = sensor_mkdir_private(sdir);

	if (rc == VOUCH_OK)
		rc = sensor_se_destroy(sdir);
	if (rc == VOUCH_OK)
		rc = files_remove(sdir);
	vouch_log(rc == VOUCH_OK ? VOUCH_LOG_INFO : VOUCH_LOG_ERROR, "sensor.reset", "why",
	          rc == VOUCH_OK ? NULL : vouch_strerror(rc), NULL);
	return rc;
}

int sensor_wipe(struct vouch_sensor *s)
{
	char sdir[SENSOR_PATH_MAX];
	bool persistent = s->se_persistent;
	int rc = VOUCH_OK;

	memcpy(sdir, s->sdir, sizeof(sdir));
	/* Not a clean stop: nothing of the old identity is written again. */
	s->started = false;
	sensor_stop(s);
	if (persistent)
		rc = sensor_se_destroy(sdir);
	if (rc == VOUCH_OK)
		rc = files_remove(sdir);
	vouch_log(rc == VOUCH_OK ? VOUCH_LOG_INFO : VOUCH_LOG_ERROR, "sensor.wiped", "why",
	          rc == VOUCH_OK ? NULL : vouch_strerror(rc), NULL);
	return rc;
}
