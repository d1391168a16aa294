/*
 * vouch-wallet: what a phone checks at a sensor before it trusts it (contact.h). The wallet's
 * commands and vouch-plant's load clients both use it, so a load test checks exactly what a
 * person's phone checks.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "contact.h"
#include "vouch/cbor.h"

void w_text_printable(char *dst, size_t cap, const char *p, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
	dst[n] = '\0';
}

int w_sensor_info_read(const uint8_t *p, size_t len, struct w_sensor_info *in)
{
	struct vouch_cbor_reader r;
	size_t n = 0, tl = 0;
	uint64_t key, v;
	const char *t;

	memset(in, 0, sizeof(*in));
	if (vouch_cbor_validate(p, len, NULL) != VOUCH_OK)
		return VOUCH_ERR_CBOR_MALFORMED;
	vouch_cbor_reader_init(&r, p, len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK)
		return VOUCH_ERR_CBOR_TYPE;
	for (size_t i = 0; i < n; i++) {
		int rc = VOUCH_OK;

		if (vouch_cbor_read_uint(&r, &key) != VOUCH_OK)
			return VOUCH_ERR_CBOR_TYPE;
		switch (key) {
		case 1:
			rc = vouch_cbor_read_uint(&r, &v);
			if (rc == VOUCH_OK && v != 1)
				rc = VOUCH_ERR_UNSUPPORTED;
			break;
		case 2:
			rc = vouch_cbor_read_tstr(&r, &t, &tl);
			if (rc == VOUCH_OK)
				in->provisioned = tl == 11 && memcmp(t, "provisioned", 11) == 0;
			break;
		case 3:
		case 4:
		case 5:
			rc = vouch_cbor_read_tstr(&r, &t, &tl);
			if (rc == VOUCH_OK)
				w_text_printable(key == 3   ? in->device
				                 : key == 4 ? in->zone
				                            : in->type,
				                 sizeof(in->device), t, tl);
			break;
		case 6:
			rc = vouch_cbor_read_uint(&r, &in->rl_version);
			in->has_rl = rc == VOUCH_OK;
			break;
		case 7:
			rc = vouch_cbor_read_bstr(&r, &in->cert, &in->cert_len);
			break;
		case 8:
			rc = vouch_cbor_read_tstr(&r, &t, &tl);
			if (rc == VOUCH_OK)
				w_text_printable(in->resource, sizeof(in->resource), t, tl);
			break;
		case 9:
			rc = vouch_cbor_read_array(&r, &in->n_tags);
			if (rc == VOUCH_OK && in->n_tags > W_INFO_TAGS_MAX)
				rc = VOUCH_ERR_CBOR_LIMIT;
			for (size_t j = 0; rc == VOUCH_OK && j < in->n_tags; j++) {
				rc = vouch_cbor_read_tstr(&r, &t, &tl);
				if (rc == VOUCH_OK)
					w_text_printable(in->tags[j], sizeof(in->tags[j]), t, tl);
			}
			break;
		default:
			rc = vouch_cbor_skip(&r);
			break;
		}
		if (rc != VOUCH_OK)
			return rc;
	}
	return VOUCH_OK;
}

int w_sensor_csr_read(const uint8_t *p, size_t len, const uint8_t **csr, size_t *csr_len)
{
	struct vouch_cbor_reader r;
	size_t n = 0;
	uint64_t key, v = 0;

	if (vouch_cbor_validate(p, len, NULL) != VOUCH_OK)
		return VOUCH_ERR_CBOR_MALFORMED;
	vouch_cbor_reader_init(&r, p, len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK || n != 2 ||
	    vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key != 1 ||
	    vouch_cbor_read_uint(&r, &v) != VOUCH_OK || v != 1 ||
	    vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key != 2 ||
	    vouch_cbor_read_bstr(&r, csr, csr_len) != VOUCH_OK)
		return VOUCH_ERR_CBOR_TYPE;
	return VOUCH_OK;
}

/* {1: 1, 2: device id, 3: the sensor's signed event} (2.04 after commissioning, 2.02 after
 * decommissioning); *event points into p. */
int w_sensor_commissioned_read(const uint8_t *p, size_t len, char device[W_INFO_TEXT_MAX],
                               const uint8_t **event, size_t *event_len)
{
	struct vouch_cbor_reader r;
	size_t n = 0, tl = 0;
	uint64_t key, v = 0;
	const char *t;

	if (vouch_cbor_validate(p, len, NULL) != VOUCH_OK)
		return VOUCH_ERR_CBOR_MALFORMED;
	vouch_cbor_reader_init(&r, p, len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK || n != 3 ||
	    vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key != 1 ||
	    vouch_cbor_read_uint(&r, &v) != VOUCH_OK || v != 1 ||
	    vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key != 2 ||
	    vouch_cbor_read_tstr(&r, &t, &tl) != VOUCH_OK ||
	    vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key != 3 ||
	    vouch_cbor_read_bstr(&r, event, event_len) != VOUCH_OK)
		return VOUCH_ERR_CBOR_TYPE;
	w_text_printable(device, W_INFO_TEXT_MAX, t, tl);
	return VOUCH_OK;
}

int w_sensor_decision_read(const uint8_t *p, size_t len, bool *granted, char *reason, size_t cap)
{
	struct vouch_cbor_reader r;
	size_t n = 0, tl = 0, ev_len = 0;
	uint64_t key;
	const char *t;
	const uint8_t *ev;

	if (vouch_cbor_validate(p, len, NULL) != VOUCH_OK)
		return VOUCH_ERR_CBOR_MALFORMED;
	vouch_cbor_reader_init(&r, p, len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK || n != 3 ||
	    vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key != 1 ||
	    vouch_cbor_read_bool(&r, granted) != VOUCH_OK ||
	    vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key != 2 ||
	    vouch_cbor_read_tstr(&r, &t, &tl) != VOUCH_OK ||
	    vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key != 3 ||
	    vouch_cbor_read_bstr(&r, &ev, &ev_len) != VOUCH_OK || !vouch_cbor_reader_done(&r))
		return VOUCH_ERR_CBOR_TYPE;
	w_text_printable(reason, cap, t, tl);
	return VOUCH_OK;
}

void w_sensor_reason(const uint8_t *p, size_t len, char *out, size_t cap)
{
	struct vouch_cbor_reader r;
	const char *t = NULL;
	size_t n = 0, tl = 0;
	uint64_t key;

	if (vouch_cbor_validate(p, len, NULL) == VOUCH_OK) {
		vouch_cbor_reader_init(&r, p, len);
		if (vouch_cbor_read_map(&r, &n) == VOUCH_OK && n >= 1 &&
		    vouch_cbor_read_uint(&r, &key) == VOUCH_OK && key == 1 &&
		    vouch_cbor_read_tstr(&r, &t, &tl) == VOUCH_OK) {
			w_text_printable(out, cap, t, tl);
			return;
		}
	}
	w_text_printable(out, cap, (const char *)p, len);
}

int w_check_certified(void *arg, const struct vouch_key *peer, const uint8_t *cred, size_t cred_len,
                      char *err, size_t err_cap)
{
	const struct w_certified *cc = arg;
	uint8_t point[VOUCH_P256_POINT_LEN];
	size_t len = 0;

	(void)cred;
	(void)cred_len;
	if (vouch_key_export_public(peer, point, sizeof(point), &len) != VOUCH_OK ||
	    len != sizeof(point) || memcmp(point, cc->point, sizeof(point)) != 0) {
		snprintf(err, err_cap,
		         "spoofed sensor: the key it proves is not the certified key of %s",
		         cc->device);
		return VOUCH_ERR_EDHOC_PEER;
	}
	return VOUCH_OK;
}

int w_device_cert_check(X509_STORE *ca, const uint8_t *der, size_t der_len, const char *device,
                        struct w_certified *cc, char *err, size_t cap)
{
	const unsigned char *p = der;
	X509 *cert = NULL;
	X509_STORE_CTX *ctx = NULL;
	EVP_PKEY *pk;
	size_t plen = sizeof(cc->point);
	char cn[128];
	int rc = VOUCH_ERR_VERIFY;

	memset(cc, 0, sizeof(*cc));
	cert = d2i_X509(NULL, &p, (long)der_len);
	if (cert == NULL || p != der + der_len) {
		snprintf(err, cap, "the sensor's certificate is not DER X.509");
		goto out_free;
	}
	ctx = X509_STORE_CTX_new();
	if (ca == NULL || ctx == NULL || X509_STORE_CTX_init(ctx, ca, cert, NULL) != 1) {
		snprintf(err, cap, "cannot load the site's CA");
		rc = VOUCH_ERR_IO;
		goto out_free;
	}
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) != 1) {
		snprintf(err, cap,
		         "spoofed sensor: its certificate does not verify under the site's "
		         "CA: %s",
		         X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out_free;
	}
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
	                              sizeof(cn)) <= 0 ||
	    strcmp(cn, device) != 0) {
		snprintf(err, cap, "spoofed sensor: its certificate is for another device");
		goto out_free;
	}
	pk = X509_get0_pubkey(cert);
	if (pk == NULL ||
	    EVP_PKEY_get_octet_string_param(pk, "encoded-pub-key", cc->point, sizeof(cc->point),
	                                    &plen) != 1 ||
	    plen != sizeof(cc->point)) {
		snprintf(err, cap, "the sensor's certificate holds no P-256 key");
		goto out_free;
	}
	snprintf(cc->device, sizeof(cc->device), "%s", device);
	rc = VOUCH_OK;
out_free:
	X509_STORE_CTX_free(ctx);
	X509_free(cert);
	return rc;
}
