/*
 * libFuzzer: what vouchd decodes from a phone about a sensor (server/devices.c): the installer's
 * statement at commissioning and the sensor's signed event relayed at decommissioning. Each
 * input goes through both decoders.
 *
 * Invariants: no crash, no leak; a statement that decodes has a 32-byte CSR hash and a 32-byte
 * thumbprint, zone, type and phone (and the resource, when named) inside the input; an event
 * that decodes has its device and kind, and every text it names, inside the input.
 *
 * Seeds (fuzz/corpus/device_msgs/): statements with and without a resource, events of every
 * kind the sensor writes (docs/sensor-protocol.md), and broken variants.
 */
#include <stdbool.h>

#include "devices.h"
#include "fuzz.h"
#include "vouch/common.h"
#include "vouch/cred.h"

static bool inside(const void *p, size_t len, const uint8_t *in, size_t in_len)
{
	const uint8_t *b = p;

	return b != NULL && b >= in && len <= in_len && (size_t)(b - in) <= in_len - len;
}

static void text_ok(const char *t, size_t len, const uint8_t *in, size_t in_len)
{
	FUZZ_CHECK(t == NULL || inside(t, len, in, in_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vouch_devices_statement st;
	struct vouch_devices_event ev;

	if (vouch_devices_statement_read(data, size, &st) == VOUCH_OK) {
		FUZZ_CHECK(inside(st.csr_hash, VOUCH_SHA256_LEN, data, size));
		FUZZ_CHECK(inside(st.thumbprint, VOUCH_THUMBPRINT_LEN, data, size));
		FUZZ_CHECK(st.zone != NULL && st.type != NULL && st.phone != NULL);
		text_ok(st.zone, st.zone_len, data, size);
		text_ok(st.type, st.type_len, data, size);
		text_ok(st.phone, st.phone_len, data, size);
		text_ok(st.resource, st.resource_len, data, size);
	}
	if (vouch_devices_event_read(data, size, &ev) == VOUCH_OK) {
		FUZZ_CHECK(ev.device != NULL && ev.kind != NULL);
		text_ok(ev.device, ev.device_len, data, size);
		text_ok(ev.kind, ev.kind_len, data, size);
		text_ok(ev.subject, ev.subject_len, data, size);
		text_ok(ev.reason, ev.reason_len, data, size);
		text_ok(ev.who, ev.who_len, data, size);
		text_ok(ev.resource, ev.resource_len, data, size);
	}
	return 0;
}
