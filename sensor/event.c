/*
 * vouch-sensor: signed events (docs/sensor-protocol.md `event`): the next sequence number is
 * saved with the state before the event exists, so no number is ever used twice, even across a
 * power cut; the event is a COSE_Sign1 by the identity key (kid = its RFC 9679 thumbprint) and
 * is durable in the queue before anyone sees it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sensor.h"
#include "vouch/cbor.h"
#include "vouch/cose.h"
#include "vouch/log.h"

#define EVENT_VERSION     1
#define EVENT_PAYLOAD_MAX (SENSOR_EVENT_MAX - 128) /* room for the COSE_Sign1 around it */

static int event_encode(const struct vouch_sensor *s, const struct sensor_event *ev, uint64_t seq,
                        int64_t now, uint8_t *buf, size_t cap, size_t *len)
{
	struct vouch_cbor_writer w;
	const char *device = s->st.provisioned ? s->st.device_id : SENSOR_UNPROVISIONED;
	/* The resource it was commissioned as, when that is not just the device itself: the
	 * device id stays the identity (the key that signs), the resource is what it decided as. */
	bool bound = s->st.provisioned && s->st.resource[0] != '\0' &&
	             strcmp(s->st.resource, s->st.device_id) != 0;
	size_t n = 5, reason_len = 0;

	n += bound + (ev->subject != NULL) + (ev->cti != NULL) + (ev->action != NULL) +
	     ev->has_granted + (ev->reason != NULL) + ev->has_rl_version + (ev->who != NULL);
	if (ev->reason != NULL) {
		reason_len = strlen(ev->reason);
		if (reason_len > SENSOR_REASON_MAX)
			reason_len = SENSOR_REASON_MAX;
	}
	vouch_cbor_writer_init(&w, buf, cap);
	vouch_cbor_write_map(&w, n);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_uint(&w, EVENT_VERSION);
	vouch_cbor_write_uint(&w, 2);
	vouch_cbor_write_uint(&w, seq);
	vouch_cbor_write_uint(&w, 3);
	vouch_cbor_write_int(&w, now);
	vouch_cbor_write_uint(&w, 4);
	vouch_cbor_write_cstr(&w, device);
	vouch_cbor_write_uint(&w, 5);
	vouch_cbor_write_cstr(&w, ev->kind);
	if (ev->subject != NULL) {
		vouch_cbor_write_uint(&w, 6);
		vouch_cbor_write_tstr(&w, ev->subject, ev->subject_len);
	}
	if (ev->cti != NULL) {
		vouch_cbor_write_uint(&w, 7);
		vouch_cbor_write_bstr(&w, ev->cti, ev->cti_len);
	}
	if (ev->action != NULL) {
		vouch_cbor_write_uint(&w, 8);
		vouch_cbor_write_cstr(&w, ev->action);
	}
	if (ev->has_granted) {
		vouch_cbor_write_uint(&w, 9);
		vouch_cbor_write_bool(&w, ev->granted);
	}
	if (ev->reason != NULL) {
		vouch_cbor_write_uint(&w, 10);
		vouch_cbor_write_tstr(&w, ev->reason, reason_len);
	}
	if (ev->has_rl_version) {
		vouch_cbor_write_uint(&w, 11);
		vouch_cbor_write_uint(&w, ev->rl_version);
	}
	if (ev->who != NULL) {
		vouch_cbor_write_uint(&w, 12);
		vouch_cbor_write_tstr(&w, ev->who, ev->who_len);
	}
	if (bound) {
		vouch_cbor_write_uint(&w, 13);
		vouch_cbor_write_cstr(&w, s->st.resource);
	}
	return vouch_cbor_writer_finish(&w, len);
}

int sensor_event_record(struct vouch_sensor *s, const struct sensor_event *ev, uint8_t *out,
                        size_t cap, size_t *out_len)
{
	struct vouch_cose_hdr_params hp;
	uint8_t payload[EVENT_PAYLOAD_MAX];
	size_t plen = 0;
	uint64_t seq = s->st.next_seq;
	int64_t now = sensor_now(s);
	char seq_text[24];
	int rc;

	*out_len = 0;
	if (!s->started || ev->kind == NULL || seq == 0 || seq == UINT64_MAX)
		return VOUCH_ERR_INVALID;
	rc = event_encode(s, ev, seq, now, payload, sizeof(payload), &plen);
	if (rc != VOUCH_OK)
		return rc;
	/* The number is spent once it is on disk, whatever happens to the event after. */
	s->st.next_seq = seq + 1;
	rc = sensor_state_save(s->sdir, &s->st, s->scratch, sizeof(s->scratch));
	if (rc != VOUCH_OK) {
		s->st.next_seq = seq;
		return rc;
	}
	memset(&hp, 0, sizeof(hp));
	hp.alg = VOUCH_COSE_ALG_ES256;
	hp.kid = s->kid;
	hp.kid_len = sizeof(s->kid);
	hp.kid_protected = true;
	rc = vouch_cose_sign1_create(&s->id, &hp, payload, plen, NULL, 0, true, false, out, cap,
	                             out_len);
	if (rc == VOUCH_OK)
		rc = sensor_queue_append(&s->q, seq, out, *out_len);
	snprintf(seq_text, sizeof(seq_text), "%" PRIu64, seq);
	if (rc != VOUCH_OK) {
		*out_len = 0;
		vouch_log(VOUCH_LOG_ERROR, "sensor.event", "kind", ev->kind, "seq", seq_text, "why",
		          vouch_strerror(rc), NULL);
		return rc;
	}
	vouch_log(VOUCH_LOG_INFO, "sensor.event", "kind", ev->kind, "seq", seq_text, "reason",
	          ev->reason, NULL);
	return VOUCH_OK;
}
