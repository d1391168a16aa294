/*
 * vouch-sensor: GET /info (docs/sensor-protocol.md `info`), unprotected: what the sensor is,
 * and once provisioned its device certificate, which the phone checks against the site's CA
 * before it trusts the key the sensor proves in EDHOC, and the resource it decides as (id, tags).
 */
#include "sensor.h"
#include "vouch/cbor.h"

int sensor_handle_info(struct vouch_sensor *s, struct sensor_session *sess, const uint8_t *in,
                       size_t in_len, uint8_t *out, size_t cap, size_t *out_len,
                       unsigned *coap_code)
{
	const struct sensor_state *st = &s->st;
	struct vouch_cbor_writer w;
	size_t n = 2, n_tags = st->n_tags <= SENSOR_TAGS_MAX ? st->n_tags : SENSOR_TAGS_MAX;

	(void)sess;
	(void)in;
	*out_len = 0;
	*coap_code = SENSOR_INTERNAL;
	if (in_len != 0)
		return sensor_answer_diag(SENSOR_BAD_REQUEST, "GET /info takes no payload", out,
		                          cap, out_len, coap_code);
	n += (st->zone[0] != '\0') + (st->type[0] != '\0') + s->has_rl;
	if (st->provisioned)
		n += 4;
	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_map(&w, n);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_uint(&w, 2);
	vouch_cbor_write_cstr(&w, st->provisioned ? "provisioned" : SENSOR_UNPROVISIONED);
	if (st->provisioned) {
		vouch_cbor_write_uint(&w, 3);
		vouch_cbor_write_cstr(&w, st->device_id);
	}
	if (st->zone[0] != '\0') {
		vouch_cbor_write_uint(&w, 4);
		vouch_cbor_write_cstr(&w, st->zone);
	}
	if (st->type[0] != '\0') {
		vouch_cbor_write_uint(&w, 5);
		vouch_cbor_write_cstr(&w, st->type);
	}
	if (s->has_rl) {
		vouch_cbor_write_uint(&w, 6);
		vouch_cbor_write_uint(&w, s->rl.version);
	}
	if (st->provisioned) {
		vouch_cbor_write_uint(&w, 7);
		vouch_cbor_write_bstr(&w, st->cert, st->cert_len);
		/* What the sensor decides as, so that a phone's own pre-checks match its decisions.
		 */
		vouch_cbor_write_uint(&w, 8);
		vouch_cbor_write_cstr(&w, st->resource);
		vouch_cbor_write_uint(&w, 9);
		vouch_cbor_write_array(&w, n_tags);
		for (size_t i = 0; i < n_tags; i++)
			vouch_cbor_write_cstr(&w, st->tags[i]);
	}
	*coap_code = SENSOR_CONTENT;
	return vouch_cbor_writer_finish(&w, out_len);
}
