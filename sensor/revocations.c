/*
 * vouch-sensor: POST /revocations, a revocation list offered by a phone (or vouchd). It needs no
 * protection of its own: the list is signed. It is taken only when it verifies under the
 * revocation-list signer of the bundle, is for this site, is a full list, and is newer than the
 * list held (a higher version, or the same one re-signed later); an older one cannot undo a
 * revocation. The answer says which version the sensor holds now.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sensor.h"
#include "vouch/cbor.h"
#include "vouch/log.h"

static int rl_answer(uint64_t version, uint8_t *out, size_t cap, size_t *out_len,
                     unsigned *coap_code)
{
	struct vouch_cbor_writer w;

	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_map(&w, 1);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_uint(&w, version);
	*coap_code = SENSOR_CHANGED;
	return vouch_cbor_writer_finish(&w, out_len);
}

int sensor_handle_revocations(struct vouch_sensor *s, struct sensor_session *sess,
                              const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                              size_t *out_len, unsigned *coap_code)
{
	struct vouch_revlist rl;
	struct sensor_event ev;
	uint8_t event[SENSOR_EVENT_MAX];
	size_t event_len = 0;
	char diag[128], version[24];
	bool newer;
	int rc;

	(void)sess;
	*out_len = 0;
	*coap_code = SENSOR_INTERNAL;
	if (!s->st.provisioned)
		return sensor_answer_diag(SENSOR_FORBIDDEN,
		                          "not commissioned: no revocation-list signer yet", out,
		                          cap, out_len, coap_code);
	if (in_len == 0)
		return sensor_answer_diag(SENSOR_BAD_REQUEST, "no revocation list", out, cap,
		                          out_len, coap_code);
	if (in_len > SENSOR_REVLIST_MAX)
		return sensor_answer_diag(SENSOR_TOO_LARGE, "revocation list too large", out, cap,
		                          out_len, coap_code);
	rc = vouch_revlist_verify(in, in_len, &s->revsigner, s->st.iss, s->st.aud, &rl);
	if (rc != VOUCH_OK) {
		snprintf(diag, sizeof(diag), "revocation list refused: %s", vouch_strerror(rc));
		vouch_log(VOUCH_LOG_WARN, "sensor.revlist.refused", "why", vouch_strerror(rc),
		          NULL);
		return sensor_answer_diag(SENSOR_BAD_REQUEST, diag, out, cap, out_len, coap_code);
	}
	newer = !s->has_rl || rl.version > s->rl.version ||
	        (rl.version == s->rl.version && rl.issued_at > s->rl.issued_at);
	snprintf(version, sizeof(version), "%" PRIu64, rl.version);
	if (!newer) {
		vouch_log(VOUCH_LOG_INFO, "sensor.revlist.stale", "version", version, NULL);
		return rl_answer(s->rl.version, out, cap, out_len, coap_code);
	}
	if (rl.since != 0)
		/* Entries are only ever checked against one signed list: a delta would need the
		 * list it applies to kept and merged. */
		return sensor_answer_diag(SENSOR_BAD_REQUEST,
		                          "a delta list is not taken: offer the full list", out,
		                          cap, out_len, coap_code);
	rc = sensor_list_install(s, in, in_len);
	if (rc != VOUCH_OK)
		return rc;
	vouch_log(VOUCH_LOG_INFO, "sensor.revlist.taken", "version", version, NULL);
	memset(&ev, 0, sizeof(ev));
	ev.kind = "revocations";
	ev.has_rl_version = true;
	ev.rl_version = s->rl.version;
	rc = sensor_event_record(s, &ev, event, sizeof(event), &event_len);
	if (rc != VOUCH_OK)
		return rc;
	return rl_answer(s->rl.version, out, cap, out_len, coap_code);
}
