/*
 * A helper of the sensor's shell tests (PSA build: the real secure element in SDIR).
 *
 *   sensor_tool code SDIR             the pairing code of the key in SDIR's secure element
 *   sensor_tool pub SDIR              its public key, SEC1 uncompressed, in hex
 *   sensor_tool csr SDIR              the agent's CSR (DER) on stdout (the key made if absent)
 *   sensor_tool provision SDIR OUT    commission the (stopped) agent of SDIR for a test site:
 *                                     with a sealed bundle; and write into OUT revocation lists
 *                                     of that site: rl-2.cbor (version 2), rl-1.cbor (version 1,
 *                                     older), rl-forged.cbor (version 3, another signer)
 *
 * It uses the test site (site.c), whose cmocka assertions end the program on a failure.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "site.h"
#include "vouch/log.h"

static int write_out(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[SENSOR_PATH_MAX];
	FILE *f;

	if (sensor_path(path, sizeof(path), dir, name) != VOUCH_OK)
		return 1;
	f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		return 1;
	return 0;
}

static int provision(const char *sdir, const char *outdir)
{
	static struct vouch_sensor s;
	static struct site site;
	struct sensor_config cfg = {sdir, NULL, NULL, NULL};
	struct vouch_key other;
	uint8_t list[4096];
	size_t len;
	int rc = 0;

	site_now = (int64_t)time(NULL);
	if (sensor_start(&s, &cfg) != VOUCH_OK)
		return 1;
	site_init(&site);
	site_commission(&site, &s);
	len = site_revlist(&site, NULL, 2, site_now - 10, NULL, 0, list, sizeof(list));
	rc |= write_out(outdir, "rl-2.cbor", list, len);
	len = site_revlist(&site, NULL, 1, site_now - 20, NULL, 0, list, sizeof(list));
	rc |= write_out(outdir, "rl-1.cbor", list, len);
	vouch_key_init(&other);
	if (vouch_key_generate(&other, VOUCH_KEY_P256) != VOUCH_OK)
		return 1;
	len = site_revlist(&site, &other, 3, site_now - 5, NULL, 0, list, sizeof(list));
	rc |= write_out(outdir, "rl-forged.cbor", list, len);
	vouch_key_clear(&other);
	printf("provisioned: %s\n", s.st.device_id);
	site_clear(&site);
	sensor_stop(&s);
	return rc;
}

int main(int argc, char **argv)
{
	struct vouch_key key;
	uint8_t point[VOUCH_P256_POINT_LEN], csr[1024];
	char code[VOUCH_PAIRING_CODE_LEN + 1];
	size_t len = 0;
	bool created = false;
	int rc;

	vouch_log_init("sensor_tool", VOUCH_LOG_WARN, NULL);
	if (argc == 4 && strcmp(argv[1], "provision") == 0)
		return provision(argv[2], argv[3]);
	if (argc != 3)
		return 2;
	vouch_key_init(&key);
	rc = sensor_se_open(argv[2], strcmp(argv[1], "csr") == 0, &key, &created);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "sensor_tool: %s\n", vouch_strerror(rc));
		return 1;
	}
	if (strcmp(argv[1], "code") == 0) {
		rc = vouch_pairing_code(&key, code);
		if (rc == VOUCH_OK)
			printf("%s\n", code);
	} else if (strcmp(argv[1], "pub") == 0) {
		rc = vouch_key_export_public(&key, point, sizeof(point), &len);
		for (size_t i = 0; rc == VOUCH_OK && i < len; i++)
			printf("%02x", point[i]);
		printf("\n");
	} else if (strcmp(argv[1], "csr") == 0) {
		rc = sensor_csr_make(&key, SENSOR_UNPROVISIONED, csr, sizeof(csr), &len);
		if (rc == VOUCH_OK && fwrite(csr, 1, len, stdout) != len)
			rc = VOUCH_ERR_IO;
	} else {
		rc = VOUCH_ERR_INVALID;
	}
	vouch_key_clear(&key);
	if (rc != VOUCH_OK)
		fprintf(stderr, "sensor_tool: %s\n", vouch_strerror(rc));
	return rc == VOUCH_OK ? 0 : 1;
}
