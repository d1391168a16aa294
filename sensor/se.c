/*
 * vouch-sensor: the secure element. The identity key is persistent key SENSOR_ID_KEY of the
 * crypto port; on the PSA back-end its key store lives in SDIR/secure-element, which stands in
 * for the chip: a copy of the state directory without it has no key. Built against another
 * back-end (the OpenSSL one has no key store) every call is VOUCH_ERR_UNSUPPORTED, and only
 * tests that inject a key can run the agent.
 */
#include <limits.h>

#include "sensor.h"
#include "util.h"
#include "vouch/log.h"
#ifdef VOUCH_SENSOR_PSA
#include "vouch/psa.h"
#endif

#ifdef VOUCH_SENSOR_PSA
static int se_select(const char *sdir)
{
	char dir[SENSOR_PATH_MAX];
	int rc = sensor_path(dir, sizeof(dir), sdir, SENSOR_SE_DIR);

	if (rc == VOUCH_OK)
		rc = sensor_mkdir_private(sdir);
	if (rc == VOUCH_OK)
		rc = sensor_mkdir_private(dir);
	if (rc == VOUCH_OK)
		rc = vouch_psa_set_storage(dir);
	return rc;
}

int sensor_se_open(const char *sdir, bool create, struct vouch_key *key, bool *created)
{
	int rc;

	*created = false;
	rc = se_select(sdir);
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_key_open_persistent(key, SENSOR_ID_KEY);
	if (rc == VOUCH_ERR_KEY_NOT_FOUND && create) {
		rc = vouch_key_generate_persistent(key, VOUCH_KEY_P256, SENSOR_ID_KEY);
		*created = rc == VOUCH_OK;
	}
	if (rc == VOUCH_OK && key->type != VOUCH_KEY_P256)
		rc = VOUCH_ERR_KEY;
	if (rc != VOUCH_OK)
		vouch_key_clear(key);
	return rc;
}

int sensor_se_destroy(const char *sdir)
{
	int rc = se_select(sdir);

	if (rc == VOUCH_OK)
		rc = vouch_key_destroy_persistent(SENSOR_ID_KEY);
	return rc == VOUCH_ERR_KEY_NOT_FOUND ? VOUCH_OK : rc;
}
#else
int sensor_se_open(const char *sdir, bool create, struct vouch_key *key, bool *created)
{
	(void)sdir;
	(void)create;
	*created = false;
	/* Through the port all the same, so that a back-end with a key store works unchanged. */
	return vouch_key_open_persistent(key, SENSOR_ID_KEY);
}

int sensor_se_destroy(const char *sdir)
{
	int rc = vouch_key_destroy_persistent(SENSOR_ID_KEY);

	(void)sdir;
	return rc == VOUCH_ERR_KEY_NOT_FOUND ? VOUCH_OK : rc;
}
#endif
