/*
 * vouchd: the two messages a phone brings about a sensor (server/devices.c), decoded strictly:
 * the installer's statement at commissioning and the sensor's signed event at decommissioning
 * (docs/sensor-protocol.md). Both are decoded after their signature has been checked, but the
 * decoders make no use of that: they are fuzzed as they are (fuzz/fuzz_device_msgs.c).
 */
#ifndef VOUCH_SERVER_DEVICES_H
#define VOUCH_SERVER_DEVICES_H
#include <stddef.h>
#include <stdint.h>

#define VOUCH_DEVICES_STATEMENT_VERSION 1

/* What the installer's statement says (pointers into the verified COSE_Sign1). */
struct vouch_devices_statement {
	const uint8_t *csr_hash;
	const uint8_t *thumbprint;
	const char *zone, *type, *phone, *resource; /* resource NULL: none named */
	size_t zone_len, type_len, phone_len, resource_len;
	int64_t time;
};

/* The statement: keys 1..7, and 8 (the resource) when named; VOUCH_ERR_CRED_FORMAT for
 * anything else, VOUCH_ERR_UNSUPPORTED for another version. Pointers into p. */
int vouch_devices_statement_read(const uint8_t *p, size_t len, struct vouch_devices_statement *st);

/* What a sensor's signed event says (docs/sensor-protocol.md `event`; pointers into it). */
struct vouch_devices_event {
	uint64_t seq;
	int64_t time;
	const char *device, *kind, *subject, *reason, *who, *resource;
	size_t device_len, kind_len, subject_len, reason_len, who_len, resource_len;
};

/* A sensor's event payload: version 1, keys ascending, device and kind present. Pointers
 * into p. */
int vouch_devices_event_read(const uint8_t *p, size_t len, struct vouch_devices_event *ev);

#endif
