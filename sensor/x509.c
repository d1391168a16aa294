/*
 * vouch-sensor: the X.509 the sensor needs, with Mbed TLS's parser (a sensor has no OpenSSL):
 * the key a certificate holds, and whether the device certificate of a bundle is this device's,
 * for this key, under the bundle's CAs.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "sensor.h"

/* One DER certificate appended to chain; trailing bytes refused (Mbed TLS would ignore them). */
static int parse_one(mbedtls_x509_crt *chain, const uint8_t *der, size_t len)
{
	const mbedtls_x509_crt *last;

	if (len == 0 || mbedtls_x509_crt_parse_der(chain, der, len) != 0)
		return VOUCH_ERR_X509_MALFORMED;
	for (last = chain; last->next != NULL; last = last->next)
		;
	return last->raw.len == len ? VOUCH_OK : VOUCH_ERR_X509_MALFORMED;
}

static int pk_point(const mbedtls_pk_context *pk, uint8_t point[VOUCH_P256_POINT_LEN])
{
	const mbedtls_ecp_keypair *ec;
	size_t olen = 0;

	if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY)
		return VOUCH_ERR_X509_KEY_POLICY;
	ec = mbedtls_pk_ec(*pk);
	if (ec == NULL || ec->grp.id != MBEDTLS_ECP_DP_SECP256R1)
		return VOUCH_ERR_X509_KEY_POLICY;
	if (mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen,
	                                   point, VOUCH_P256_POINT_LEN) != 0 ||
	    olen != VOUCH_P256_POINT_LEN)
		return VOUCH_ERR_KEY;
	return VOUCH_OK;
}

int sensor_cert_point(const uint8_t *der, size_t len, uint8_t point[VOUCH_P256_POINT_LEN])
{
	mbedtls_x509_crt crt;
	int rc;

	memset(point, 0, VOUCH_P256_POINT_LEN);
	mbedtls_x509_crt_init(&crt);
	rc = parse_one(&crt, der, len);
	if (rc == VOUCH_OK)
		rc = pk_point(&crt.pk, point);
	mbedtls_x509_crt_free(&crt);
	return rc;
}

/* Exactly one subject CN, equal to want. */
static bool cn_is(const mbedtls_x509_crt *crt, const char *want)
{
	const mbedtls_x509_name *n;
	size_t found = 0;
	bool match = false;

	for (n = &crt->subject; n != NULL; n = n->next) {
		if (n->oid.p == NULL || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) != 0)
			continue;
		found++;
		match = n->val.len == strlen(want) && memcmp(n->val.p, want, n->val.len) == 0;
	}
	return found == 1 && match;
}

int sensor_cert_verify(const uint8_t *dev, size_t dev_len, const uint8_t (*cas)[SENSOR_CERT_MAX],
                       const size_t *ca_len, size_t n_ca, const char *device_id,
                       const uint8_t point[VOUCH_P256_POINT_LEN], char *why, size_t why_cap)
{
	mbedtls_x509_crt chain, anchor;
	uint8_t got[VOUCH_P256_POINT_LEN];
	uint32_t flags = 0;
	char info[256];
	int rc = VOUCH_ERR_X509_MALFORMED;

	snprintf(why, why_cap, "the device certificate or a CA certificate is not DER X.509");
	mbedtls_x509_crt_init(&chain);
	mbedtls_x509_crt_init(&anchor);
	if (n_ca == 0 || parse_one(&chain, dev, dev_len) != VOUCH_OK)
		goto out_free;
	for (size_t i = 0; i + 1 < n_ca; i++)
		if (parse_one(&chain, cas[i], ca_len[i]) != VOUCH_OK)
			goto out_free;
	if (parse_one(&anchor, cas[n_ca - 1], ca_len[n_ca - 1]) != VOUCH_OK)
		goto out_free;
	rc = pk_point(&chain.pk, got);
	if (rc != VOUCH_OK || !vouch_ct_equal(got, point, sizeof(got))) {
		snprintf(why, why_cap, "the device certificate is not for this sensor's key");
		rc = VOUCH_ERR_KEY;
		goto out_free;
	}
	if (!cn_is(&chain, device_id)) {
		snprintf(why, why_cap, "the device certificate is for another device id");
		rc = VOUCH_ERR_VERIFY;
		goto out_free;
	}
	if (mbedtls_x509_crt_verify(&chain, &anchor, NULL, NULL, &flags, NULL, NULL) != 0) {
		info[0] = '\0';
		(void)mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		info[strcspn(info, "\n")] = '\0';
		snprintf(why, why_cap,
		         "the device certificate does not chain to the bundle's CA: %s", info);
		rc = VOUCH_ERR_VERIFY;
		goto out_free;
	}
	why[0] = '\0';
	rc = VOUCH_OK;
out_free:
	mbedtls_x509_crt_free(&anchor);
	mbedtls_x509_crt_free(&chain);
	return rc;
}
