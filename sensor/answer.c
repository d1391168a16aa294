/*
 * vouch-sensor: answer shapes and the table of resources.
 */
#include <string.h>

#include "sensor.h"
#include "vouch/cbor.h"

int sensor_answer_diag(unsigned code, const char *text, uint8_t *out, size_t cap, size_t *out_len,
                       unsigned *coap_code)
{
	size_t n = strlen(text);

	if (n > cap)
		n = cap;
	memcpy(out, text, n);
	*out_len = n;
	*coap_code = code;
	return VOUCH_OK;
}

int sensor_answer_refusal(const char *reason, uint8_t *out, size_t cap, size_t *out_len,
                          unsigned *coap_code)
{
	struct vouch_cbor_writer w;
	size_t n = strlen(reason);

	/* A reason never makes the answer fail: it is cut to what fits. */
	if (n > SENSOR_REASON_MAX)
		n = SENSOR_REASON_MAX;
	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_map(&w, 1);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_tstr(&w, reason, n);
	*coap_code = SENSOR_UNAUTHORIZED;
	return vouch_cbor_writer_finish(&w, out_len);
}

bool sensor_answer_is_cbor(unsigned code)
{
	return (code >> 5) == 2 || code == SENSOR_UNAUTHORIZED;
}

const struct sensor_route sensor_routes[] = {
    {"info", SENSOR_GET, false, false, sensor_handle_info},
    {"revocations", SENSOR_POST, false, true, sensor_handle_revocations},
    {"commission/csr", SENSOR_POST, true, true, sensor_handle_commission_csr},
    {"commission/bundle", SENSOR_POST, true, true, sensor_handle_commission_bundle},
    {"authz-info", SENSOR_POST, true, true, sensor_handle_authz_info},
    {"access", SENSOR_POST, true, true, sensor_handle_access},
    {"decommission", SENSOR_POST, true, true, sensor_handle_decommission},
};
const size_t sensor_n_routes = VOUCH_ARRAY_LEN(sensor_routes);

const struct sensor_route *sensor_route_find(const char *path, size_t len)
{
	for (size_t i = 0; i < sensor_n_routes; i++)
		if (strlen(sensor_routes[i].path) == len &&
		    memcmp(sensor_routes[i].path, path, len) == 0)
			return &sensor_routes[i];
	return NULL;
}
