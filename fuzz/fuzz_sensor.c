/*
 * libFuzzer: the sensor's request decoders and handlers (sensor/) with untrusted bodies, as
 * they arrive after OSCORE: /revocations (plain), /authz-info, /access, /commission/bundle and
 * /info, on a commissioned sensor (the test site of tests/sensor/site.c, OpenSSL flavour, its
 * state in a temporary directory removed at exit). The first byte picks the resource. Every
 * input must give an answer (any code), never a crash, a leak or a hang.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sensor.h"
#include "site.h"
#include "vouch/log.h"

static struct site site;
static struct vouch_sensor sensor;
static struct vouch_key phone, phone_pub;
static struct sensor_session *sess;
static char dir[256];
static uint8_t out[SENSOR_PAYLOAD_MAX];

static void teardown(void)
{
	sensor_stop(&sensor);
	site_rmdir(dir);
}

static void setup(void)
{
	uint8_t devkey[VOUCH_P256_SCALAR_LEN], cred[VOUCH_CRED_MAX];
	uint8_t point[VOUCH_P256_POINT_LEN];
	size_t len = 0, out_len = 0;
	unsigned code = 0;

	vouch_log_init("fuzz_sensor", VOUCH_LOG_ERROR, NULL);
	site_init(&site);
	site_now = SITE_T0;
	site_tmpdir(dir, sizeof(dir));
	site_devkey(devkey);
	if (site_start(&sensor, dir, devkey) != VOUCH_OK)
		abort();
	site_commission(&site, &sensor);
	atexit(teardown);
	vouch_key_init(&phone);
	vouch_key_init(&phone_pub);
	if (vouch_key_generate(&phone, VOUCH_KEY_P256) != VOUCH_OK ||
	    vouch_key_export_public(&phone, point, sizeof(point), &len) != VOUCH_OK ||
	    vouch_key_import_public(&phone_pub, VOUCH_KEY_P256, point, len) != VOUCH_OK)
		abort();
	sess = site_session(&sensor, &phone_pub, 1);
	/* A good credential first, so that /access gets past "no credential". */
	len = site_credential(&site, "fuzz", &phone_pub, NULL, SITE_T0 - 60, SITE_T0 + 3600, false,
	                      cred, sizeof(cred));
	(void)sensor_handle_authz_info(&sensor, sess, cred, len, out, sizeof(out), &out_len, &code);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	size_t out_len = 0;
	unsigned code = 0;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	site_now = SITE_T0;
	switch (data[0] % 5) {
	case 0:
		(void)sensor_handle_revocations(&sensor, NULL, data + 1, size - 1, out, sizeof(out),
		                                &out_len, &code);
		break;
	case 1:
		(void)sensor_handle_authz_info(&sensor, sess, data + 1, size - 1, out, sizeof(out),
		                               &out_len, &code);
		break;
	case 2:
		(void)sensor_handle_access(&sensor, sess, data + 1, size - 1, out, sizeof(out),
		                           &out_len, &code);
		break;
	case 3:
		(void)sensor_handle_commission_bundle(&sensor, sess, data + 1, size - 1, out,
		                                      sizeof(out), &out_len, &code);
		break;
	default:
		(void)sensor_handle_info(&sensor, NULL, data + 1, size - 1, out, sizeof(out),
		                         &out_len, &code);
		break;
	}
	return 0;
}
