/*
 * vouchd's OCSP responder (vouch_ca_ocsp_respond, server/ca.c) on a request as it arrives by
 * POST /ocsp or GET /ocsp/<base64>. The CA is real (SoftHSM2 token, made once per process); the
 * status lookup is a pure function of the serial, so expected answers are known:
 *   last hex digit 0-4 good, 5-9 revoked (reason: the digit before, mod 11), a-e unknown,
 *   f the lookup fails (the response must be internalError).
 *
 * The issuing CA is new in every process, so the seeds cannot carry its hashes: a run of 0x5a
 * (name hash) or 0xa5 (key hash) octets, 32 long for SHA-256 and 20 for SHA-1, is replaced by the
 * live CA's hash before the responder sees the input. Mutations that keep a run keep asking
 * about our certificates.
 *
 * Invariants: always VOUCH_OK and a DER OCSPResponse whose status is the one reported;
 * malformedRequest for empty or oversized input; the lookup only ever sees lowercase hex
 * serials of whole octets; a successful response answers exactly the request's CertIDs, in
 * order, with the lookup's verdict for ours and unknown for anything else, copies the nonce, and
 * is signed by the delegated responder with a chain to the root.
 *
 * The same request then goes through the plain HTTP handler (server/pki_http.c, the store as
 * the lookup) as POST /ocsp and as GET /ocsp/<base64, URL-encoded>; an input that starts with
 * '/' also goes through it verbatim as the request-target of a GET (the percent and base64
 * decoding of GET requests, and the other plain HTTP routes). Every answer must be a 200 (RFC
 * 6960 A.1: errors are OCSPResponses too) or, for the verbatim target, at least no 5xx.
 *
 * Seeds (fuzz/corpus/ocsp/): `openssl ocsp -reqout` for throwaway issuers, with and without
 * nonce, SHA-1 and SHA-256 CertIDs, one to several serials, a signed request, a CertID of a
 * foreign issuer; the hashes of the issuer stood for by the placeholder runs. And GET targets:
 * /ocsp/ with base64 percent-encoded or not, bad escapes and base64, the CRL and CA routes.
 */
#define _POSIX_C_SOURCE 200809L /* PATH_MAX (server/config.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "fuzz_site.h"

#define NAME_RUN  0x5a
#define KEY_RUN   0xa5
#define REVOKED_T ((time_t)1700000000)

static OCSP_CERTID *ours[2]; /* SHA-1, SHA-256 */
static X509_STORE *trust;
static bool lookup_failed;

static void at_exit(void)
{
	OCSP_CERTID_free(ours[0]);
	OCSP_CERTID_free(ours[1]);
	X509_STORE_free(trust);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	X509 *issuing;

	(void)argc;
	(void)argv;
	fuzz_site_init(true);
	fuzz_service_init();
	issuing = vouch_ca_issuing_cert(fuzz_site.ca);
	ours[0] = OCSP_cert_to_id(EVP_sha1(), NULL, issuing);
	ours[1] = OCSP_cert_to_id(EVP_sha256(), NULL, issuing);
	trust = X509_STORE_new();
	FUZZ_CHECK(ours[0] != NULL && ours[1] != NULL && trust != NULL);
	FUZZ_CHECK(X509_STORE_add_cert(trust, vouch_ca_root_cert(fuzz_site.ca)) == 1);
	FUZZ_CHECK(X509_STORE_add_cert(trust, issuing) == 1);
	fuzz_at_exit(at_exit);
	return 0;
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* The verdict for a serial (see the top). */
static int verdict(const char *hex, struct vouch_ca_status *st)
{
	size_t n = strlen(hex);
	int last = hexval(hex[n - 1]);

	memset(st, 0, sizeof(*st));
	if (last == 15)
		return VOUCH_ERR_STORE;
	if (last <= 4) {
		st->status = VOUCH_CA_STATUS_GOOD;
	} else if (last <= 9) {
		st->status = VOUCH_CA_STATUS_REVOKED;
		st->revoked_at = REVOKED_T;
		st->reason = (enum vouch_ca_reason)(hexval(hex[n - 2]) % 11);
	} else {
		st->status = VOUCH_CA_STATUS_UNKNOWN;
	}
	return VOUCH_OK;
}

static int lookup(void *arg, const char *serial, struct vouch_ca_status *st)
{
	size_t n = strlen(serial);
	int rc;

	FUZZ_CHECK(arg == &lookup_failed);
	FUZZ_CHECK(n >= 2 && n <= 40 && n % 2 == 0);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((serial[i] >= '0' && serial[i] <= '9') ||
		           (serial[i] >= 'a' && serial[i] <= 'f'));
	rc = verdict(serial, st);
	if (rc != VOUCH_OK)
		lookup_failed = true;
	return rc;
}

/* Replace every run of `len` octets `fill` by `with`. */
static void patch_runs(uint8_t *buf, size_t size, uint8_t fill, const ASN1_OCTET_STRING *with)
{
	size_t len = (size_t)ASN1_STRING_length(with), run = 0;

	for (size_t i = 0; i < size; i++) {
		run = buf[i] == fill ? run + 1 : 0;
		if (run == len) {
			memcpy(buf + i + 1 - len, ASN1_STRING_get0_data(with), len);
			run = 0;
		}
	}
}

static void patch_hashes(uint8_t *buf, size_t size)
{
	/* SHA-256 first: a 32-octet run holds a 20-octet one. */
	for (int i = 1; i >= 0; i--) {
		ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;

		FUZZ_CHECK(OCSP_id_get0_info(&name_hash, NULL, &key_hash, NULL, ours[i]) == 1);
		patch_runs(buf, size, NAME_RUN, name_hash);
		patch_runs(buf, size, KEY_RUN, key_hash);
	}
}

/* The expected status of one CertID of the request (lookup_failed is false here). */
static int expected(OCSP_CERTID *cid, int *reason)
{
	ASN1_INTEGER *serial = NULL;
	struct vouch_ca_status st;
	char hex[2 * 20 + 1];
	int len;

	*reason = OCSP_REVOKED_STATUS_NOSTATUS;
	FUZZ_CHECK(OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid) == 1);
	len = ASN1_STRING_length(serial);
	if ((OCSP_id_issuer_cmp(ours[0], cid) != 0 && OCSP_id_issuer_cmp(ours[1], cid) != 0) ||
	    ASN1_STRING_type(serial) != V_ASN1_INTEGER || len <= 0 || len > 20)
		return V_OCSP_CERTSTATUS_UNKNOWN;
	for (int i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", ASN1_STRING_get0_data(serial)[i]);
	FUZZ_CHECK(verdict(hex, &st) == VOUCH_OK);
	switch (st.status) {
	case VOUCH_CA_STATUS_GOOD:
		return V_OCSP_CERTSTATUS_GOOD;
	case VOUCH_CA_STATUS_REVOKED:
		/* unspecified and the unused code 7 are left out of the response. */
		if (st.reason != VOUCH_CA_REASON_UNSPECIFIED && st.reason != 7)
			*reason = (int)st.reason;
		return V_OCSP_CERTSTATUS_REVOKED;
	default:
		return V_OCSP_CERTSTATUS_UNKNOWN;
	}
}

static void check_successful(const uint8_t *req_der, size_t req_len, OCSP_RESPONSE *resp)
{
	const unsigned char *p = req_der;
	OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long)req_len);
	OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
	X509 *signer = NULL;
	int n;

	FUZZ_CHECK(req != NULL && p == req_der + req_len && bs != NULL);
	FUZZ_CHECK(!lookup_failed);
	n = OCSP_request_onereq_count(req);
	FUZZ_CHECK(n >= 1 && n <= VOUCH_CA_OCSP_MAX_IDS && OCSP_resp_count(bs) == n);
	for (int i = 0; i < n; i++) {
		OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
		OCSP_SINGLERESP *single = OCSP_resp_get0(bs, i);
		ASN1_GENERALIZEDTIME *revtime = NULL, *this_upd = NULL, *next_upd = NULL;
		int reason = 0, want_reason;
		int status =
		    OCSP_single_get0_status(single, &reason, &revtime, &this_upd, &next_upd);

		FUZZ_CHECK(OCSP_id_cmp(cid, OCSP_SINGLERESP_get0_id(single)) == 0);
		FUZZ_CHECK(status == expected(cid, &want_reason));
		FUZZ_CHECK(this_upd != NULL && next_upd != NULL);
		if (status == V_OCSP_CERTSTATUS_REVOKED)
			FUZZ_CHECK(reason == want_reason && revtime != NULL &&
			           ASN1_TIME_cmp_time_t(revtime, REVOKED_T) == 0);
	}
	FUZZ_CHECK(OCSP_check_nonce(req, bs) == 1 || OCSP_check_nonce(req, bs) == 2);
	/* OCSP_NOCHECKS: the signature and the chain, not whether the signer may answer for a
	 * foreign CertID (unknown answers for those are what RFC 6960 asks). */
	FUZZ_CHECK(OCSP_basic_verify(bs, NULL, trust, OCSP_NOCHECKS) == 1);
	FUZZ_CHECK(OCSP_resp_get0_signer(bs, &signer, NULL) == 1);
	FUZZ_CHECK(X509_cmp(signer, vouch_ca_ocsp_cert(fuzz_site.ca)) == 0);
	OCSP_BASICRESP_free(bs);
	OCSP_REQUEST_free(req);
}

/* RFC 6960 A.1: GET {url}/{url-encoding of base64 encoding of the DER OCSPRequest}. */
static void as_get(const uint8_t *req, size_t size)
{
	char *b64 = NULL, *uri, *o;
	size_t b64_len = 0;

	if (size == 0 || size > VOUCH_CA_OCSP_REQUEST_MAX)
		return;
	FUZZ_CHECK(vouch_ca_base64_encode(req, size, &b64, &b64_len) == VOUCH_OK);
	uri = malloc(3 * b64_len + 8);
	FUZZ_CHECK(uri != NULL);
	o = uri + sprintf(uri, "/ocsp/");
	for (size_t i = 0; i < b64_len; i++) {
		if (b64[i] == '\n')
			continue;
		/* Clients differ: some escape only '/', '+' and '=', some nothing; both happen. */
		if ((b64[i] == '+' || b64[i] == '/' || b64[i] == '=') && (size & 1) == 0)
			o += sprintf(o, "%%%02X", (unsigned char)b64[i]);
		else
			*o++ = b64[i];
	}
	*o = '\0';
	FUZZ_CHECK(fuzz_request(false, "GET", uri, NULL, NULL, 0) == 200);
	free(uri);
	free(b64);
}

/* An input that reads as a request-target, as one. */
static void as_target(const uint8_t *data, size_t size)
{
	char uri[2 * VOUCH_CA_OCSP_REQUEST_MAX + 16];
	const uint8_t *end = memchr(data, '\n', size);
	size_t n = end != NULL ? (size_t)(end - data) : size;

	if (n == 0 || data[0] != '/' || n >= sizeof(uri) || memchr(data, '\0', n) != NULL)
		return;
	memcpy(uri, data, n);
	uri[n] = '\0';
	FUZZ_CHECK(fuzz_request(false, "GET", uri, NULL, NULL, 0) < 500);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *req = malloc(size > 0 ? size : 1);
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	const unsigned char *p;
	OCSP_RESPONSE *r;
	int status = -1;

	FUZZ_CHECK(req != NULL);
	if (size > 0)
		memcpy(req, data, size);
	patch_hashes(req, size);
	lookup_failed = false;
	FUZZ_CHECK(vouch_ca_ocsp_respond(fuzz_site.ca, req, size, lookup, &lookup_failed, &resp,
	                                 &resp_len, &status) == VOUCH_OK);
	FUZZ_CHECK(resp != NULL && resp_len > 0);
	p = resp;
	r = d2i_OCSP_RESPONSE(NULL, &p, (long)resp_len);
	FUZZ_CHECK(r != NULL && p == resp + resp_len);
	FUZZ_CHECK(OCSP_response_status(r) == status);
	if (size == 0 || size > VOUCH_CA_OCSP_REQUEST_MAX)
		FUZZ_CHECK(status == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	switch (status) {
	case OCSP_RESPONSE_STATUS_SUCCESSFUL:
		check_successful(req, size, r);
		break;
	case OCSP_RESPONSE_STATUS_INTERNALERROR:
		FUZZ_CHECK(lookup_failed);
		break;
	case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST:
		FUZZ_CHECK(!lookup_failed);
		break;
	default:
		FUZZ_CHECK(!"an OCSPResponseStatus the responder never sends");
	}
	OCSP_RESPONSE_free(r);
	free(resp);

	if (size <= VOUCH_HTTP_MAX_BODY)
		FUZZ_CHECK(fuzz_request(false, "POST", "/ocsp", "application/ocsp-request", req,
		                        size) == 200);
	as_get(req, size);
	as_target(data, size);
	free(req);
	ERR_clear_error();
	return 0;
}
