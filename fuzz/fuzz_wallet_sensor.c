/*
 * libFuzzer: what a phone decodes from a sensor (wallet/contact.c), the sensor being untrusted
 * until it has proven its certified key, and possibly a spoof: /info, the CSR answer, the
 * commissioned answer, a decision, a refusal's reason, and the device certificate it shows.
 * Every decoder runs on every input.
 *
 * Invariants: no crash, no leak; whatever decodes leaves NUL-terminated, printable texts within
 * their arrays (they are printed to the person), at most W_INFO_TAGS_MAX tags, and pointers
 * (certificate, CSR, event) inside the input; a certificate check of anything the fuzzer makes
 * never succeeds (the trust anchor is a CA made in this process, whose key signs nothing here)
 * and says why.
 *
 * Seeds (fuzz/corpus/wallet_sensor/): the answers of a commissioned and an unprovisioned sensor
 * as docs/sensor-protocol.md gives them, with a real device certificate, refusals, decisions.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "contact.h"
#include "fuzz.h"

static X509_STORE *ca;

static void make_ca(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	FUZZ_CHECK(key != NULL && x != NULL && name != NULL);
	FUZZ_CHECK(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                                      (const unsigned char *)"fuzz CA", -1, -1, 0) == 1);
	FUZZ_CHECK(X509_set_version(x, 2) == 1 && X509_set_subject_name(x, name) == 1 &&
	           X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, key) == 1);
	FUZZ_CHECK(X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
	           X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL);
	FUZZ_CHECK(X509_sign(x, key, EVP_sha256()) > 0);
	ca = X509_STORE_new();
	FUZZ_CHECK(ca != NULL && X509_STORE_add_cert(ca, x) == 1);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void at_exit(void)
{
	X509_STORE_free(ca);
}

static void check_text(const char *t, size_t cap)
{
	size_t n = strnlen(t, cap);

	FUZZ_CHECK(n < cap);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(t[i] >= 0x20 && t[i] < 0x7f);
}

static bool inside(const uint8_t *p, size_t len, const uint8_t *in, size_t in_len)
{
	return p != NULL && p >= in && len <= in_len && (size_t)(p - in) <= in_len - len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct w_sensor_info info;
	struct w_certified cc;
	const uint8_t *csr, *ev;
	size_t csr_len = 0, ev_len = 0;
	char device[W_INFO_TEXT_MAX], reason[64], err[256];
	bool granted = false;
	static bool ready;
	int rc;

	/* Once (fuzz_common.c has the LLVMFuzzerInitialize). */
	if (!ready) {
		make_ca();
		atexit(at_exit);
		ready = true;
	}

	if (w_sensor_info_read(data, size, &info) == VOUCH_OK) {
		check_text(info.device, sizeof(info.device));
		check_text(info.zone, sizeof(info.zone));
		check_text(info.type, sizeof(info.type));
		check_text(info.resource, sizeof(info.resource));
		FUZZ_CHECK(info.n_tags <= W_INFO_TAGS_MAX);
		for (size_t i = 0; i < info.n_tags; i++)
			check_text(info.tags[i], sizeof(info.tags[i]));
		if (info.cert != NULL) {
			FUZZ_CHECK(inside(info.cert, info.cert_len, data, size));
			err[0] = '\0';
			rc = w_device_cert_check(ca, info.cert, info.cert_len, info.device, &cc,
			                         err, sizeof(err));
			FUZZ_CHECK(rc == VOUCH_ERR_VERIFY && err[0] != '\0');
		}
	}
	if (w_sensor_csr_read(data, size, &csr, &csr_len) == VOUCH_OK)
		FUZZ_CHECK(inside(csr, csr_len, data, size));
	if (w_sensor_commissioned_read(data, size, device, &ev, &ev_len) == VOUCH_OK) {
		check_text(device, sizeof(device));
		FUZZ_CHECK(inside(ev, ev_len, data, size));
	}
	if (w_sensor_decision_read(data, size, &granted, reason, sizeof(reason)) == VOUCH_OK)
		check_text(reason, sizeof(reason));
	w_sensor_reason(data, size, reason, sizeof(reason));
	check_text(reason, sizeof(reason));
	/* The input as the certificate itself. */
	err[0] = '\0';
	rc = w_device_cert_check(ca, data, size, "dev-0123456789abcdef", &cc, err, sizeof(err));
	FUZZ_CHECK(rc == VOUCH_ERR_VERIFY && err[0] != '\0');
	return 0;
}
