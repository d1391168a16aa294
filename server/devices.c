/* vouchd: decoding the installer's statement and a sensor's event (devices.h). */
#include <string.h>

#include "devices.h"
#include "vouch/cbor.h"
#include "vouch/common.h"
#include "vouch/crypto.h"
#include "vouch/cred.h"

int vouch_devices_statement_read(const uint8_t *p, size_t len, struct vouch_devices_statement *st)
{
	struct vouch_cbor_reader r;
	size_t n = 0, blen = 0;
	uint64_t version = 0;
	int64_t key;
	uint32_t seen = 0;

	memset(st, 0, sizeof(*st));
	if (vouch_cbor_validate(p, len, NULL) != VOUCH_OK)
		return VOUCH_ERR_CBOR_MALFORMED;
	vouch_cbor_reader_init(&r, p, len);
	/* Keys 1..7 always; 8, the resource, when the installer names one. */
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK || (n != 7 && n != 8))
		return VOUCH_ERR_CRED_FORMAT;
	for (size_t i = 0; i < n; i++) {
		int rc = VOUCH_ERR_CRED_FORMAT;

		if (vouch_cbor_read_int(&r, &key) != VOUCH_OK || key < 1 || key > 8 ||
		    (seen & (1u << key)) != 0)
			return VOUCH_ERR_CRED_FORMAT;
		seen |= 1u << key;
		switch (key) {
		case 1:
			rc = vouch_cbor_read_uint(&r, &version);
			if (rc == VOUCH_OK && version != VOUCH_DEVICES_STATEMENT_VERSION)
				rc = VOUCH_ERR_UNSUPPORTED;
			break;
		case 2:
			rc = vouch_cbor_read_bstr(&r, &st->csr_hash, &blen);
			if (rc == VOUCH_OK && blen != VOUCH_SHA256_LEN)
				rc = VOUCH_ERR_CRED_FORMAT;
			break;
		case 3:
			rc = vouch_cbor_read_bstr(&r, &st->thumbprint, &blen);
			if (rc == VOUCH_OK && blen != VOUCH_THUMBPRINT_LEN)
				rc = VOUCH_ERR_CRED_FORMAT;
			break;
		case 4:
			rc = vouch_cbor_read_tstr(&r, &st->zone, &st->zone_len);
			break;
		case 5:
			rc = vouch_cbor_read_tstr(&r, &st->type, &st->type_len);
			break;
		case 6:
			rc = vouch_cbor_read_int(&r, &st->time);
			break;
		case 7:
			rc = vouch_cbor_read_tstr(&r, &st->phone, &st->phone_len);
			break;
		case 8:
			rc = vouch_cbor_read_tstr(&r, &st->resource, &st->resource_len);
			break;
		}
		if (rc != VOUCH_OK)
			return rc == VOUCH_ERR_UNSUPPORTED ? rc : VOUCH_ERR_CRED_FORMAT;
	}
	if ((seen & 0xfeu) != 0xfeu) /* every one of 1..7 */
		return VOUCH_ERR_CRED_FORMAT;
	return vouch_cbor_reader_done(&r) ? VOUCH_OK : VOUCH_ERR_CRED_FORMAT;
}

int vouch_devices_event_read(const uint8_t *p, size_t len, struct vouch_devices_event *ev)
{
	struct vouch_cbor_reader r;
	size_t n = 0;
	uint64_t version = 0, key, last = 0;

	memset(ev, 0, sizeof(*ev));
	if (vouch_cbor_validate(p, len, NULL) != VOUCH_OK)
		return VOUCH_ERR_CBOR_MALFORMED;
	vouch_cbor_reader_init(&r, p, len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK || n < 5 || n > 13)
		return VOUCH_ERR_CRED_FORMAT;
	for (size_t i = 0; i < n; i++) {
		int rc = VOUCH_ERR_CRED_FORMAT;

		/* The sensor writes its keys in ascending order, each once. */
		if (vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key <= last || key > 13)
			return VOUCH_ERR_CRED_FORMAT;
		last = key;
		switch (key) {
		case 1:
			rc = vouch_cbor_read_uint(&r, &version);
			if (rc == VOUCH_OK && version != 1)
				rc = VOUCH_ERR_UNSUPPORTED;
			break;
		case 2:
			rc = vouch_cbor_read_uint(&r, &ev->seq);
			break;
		case 3:
			rc = vouch_cbor_read_int(&r, &ev->time);
			break;
		case 4:
			rc = vouch_cbor_read_tstr(&r, &ev->device, &ev->device_len);
			break;
		case 5:
			rc = vouch_cbor_read_tstr(&r, &ev->kind, &ev->kind_len);
			break;
		case 6:
			rc = vouch_cbor_read_tstr(&r, &ev->subject, &ev->subject_len);
			break;
		case 10:
			rc = vouch_cbor_read_tstr(&r, &ev->reason, &ev->reason_len);
			break;
		case 12:
			rc = vouch_cbor_read_tstr(&r, &ev->who, &ev->who_len);
			break;
		case 13:
			rc = vouch_cbor_read_tstr(&r, &ev->resource, &ev->resource_len);
			break;
		default: /* cti, action, granted, list version: not needed here */
			rc = vouch_cbor_skip(&r);
			break;
		}
		if (rc != VOUCH_OK)
			return rc == VOUCH_ERR_UNSUPPORTED ? rc : VOUCH_ERR_CRED_FORMAT;
	}
	if (!vouch_cbor_reader_done(&r) || version != 1 || ev->device == NULL || ev->kind == NULL)
		return VOUCH_ERR_CRED_FORMAT;
	return VOUCH_OK;
}
