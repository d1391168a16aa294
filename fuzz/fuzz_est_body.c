/*
 * What EST simpleenroll / simplereenroll (server/est.c) make of a request before the store sees
 * it. The input is the Authorization header's value, a newline, then the body:
 *   - the header through vouch_est_basic_parse(): only its three outcomes; on success a
 *     device id of 1..64 octets without ':' and the SHA-256 of exactly the rest of the
 *     credentials; on failure no device id;
 *   - the body through vouch_est_csr_decode(): only its documented refusals; what it returns
 *     re-encodes (vouch_ca_base64_encode, the encoder of every EST reply) to base64 that
 *     decodes to the same octets; then, as the handler does, the CSR into the real CA (SoftHSM2
 *     token made once per process; invariants of fuzz_issue_csr_checked) and the
 *     re-enrolment's subject comparison against a certificate of this CA for pump-7.
 *
 * Seeds (fuzz/corpus/est_body/): the CSRs of fuzz/corpus/csr as curl sends them after `base64`
 * (76 columns), as PEM bodies (64 columns, LF or CRLF) and on one line, under Basic credentials
 * that are well formed, of another scheme or case, without a colon, with an empty id, a NUL,
 * an over-long id, and bad base64.
 */
#define _POSIX_C_SOURCE 200809L /* PATH_MAX, strncasecmp */
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "fuzz_site.h"
#include "handlers.h"
#include "vouch/crypto.h"

#define HEADER_MAX 1024

static X509 *pump7; /* a certificate of this CA for CN=pump-7 (the re-enrolment's peer) */

static void at_exit(void)
{
	X509_free(pump7);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vouch_ca_subject subj = {.profile = VOUCH_CA_PROFILE_DEVICE, .id = "pump-7"};
	struct vouch_ca_issued is;
	struct vouch_key key;

	(void)argc;
	(void)argv;
	fuzz_site_init(false);
	vouch_key_init(&key);
	FUZZ_CHECK(vouch_key_generate(&key, VOUCH_KEY_P256) == VOUCH_OK);
	FUZZ_CHECK(vouch_ca_issue_key(fuzz_site.ca, &key, &subj, &is) == VOUCH_OK);
	FUZZ_CHECK(vouch_ca_issued_decode(&is, &pump7) == VOUCH_OK);
	vouch_ca_issued_clear(&is);
	vouch_key_clear(&key);
	fuzz_at_exit(at_exit);
	return 0;
}

static void check_basic(const char *header)
{
	char device[VOUCH_STORE_DEVICE_MAX + 1];
	uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN], want[VOUCH_STORE_TOKEN_HASH_LEN];
	const char *b64 = header + 6;
	uint8_t *cred = NULL;
	size_t cred_len = 0, n;
	int rc;

	memset(device, 'x', sizeof(device));
	rc = vouch_est_basic_parse(header, device, hash);
	FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_INVALID || rc == VOUCH_ERR_UNSUPPORTED);
	FUZZ_CHECK((rc == VOUCH_ERR_UNSUPPORTED) == (strncasecmp(header, "Basic ", 6) != 0));
	if (rc != VOUCH_OK) {
		FUZZ_CHECK(device[0] == '\0');
		return;
	}
	n = strlen(device);
	FUZZ_CHECK(n >= 1 && n <= VOUCH_STORE_DEVICE_MAX && strchr(device, ':') == NULL);
	while (*b64 == ' ')
		b64++;
	FUZZ_CHECK(vouch_ca_base64_decode(b64, strlen(b64), HEADER_MAX, &cred, &cred_len) ==
	           VOUCH_OK);
	FUZZ_CHECK(cred_len > n && memcmp(cred, device, n) == 0 && cred[n] == ':');
	FUZZ_CHECK(vouch_sha256(cred + n + 1, cred_len - n - 1, want) == VOUCH_OK);
	FUZZ_CHECK(memcmp(hash, want, sizeof(hash)) == 0);
	free(cred);
}

static void check_body(const uint8_t *body, size_t len)
{
	struct vouch_ca_subject subj = {.profile = VOUCH_CA_PROFILE_DEVICE, .id = "pump-7"};
	uint8_t *der = NULL, *again = NULL;
	size_t der_len = 0, again_len = 0, b64_len = 0;
	char *b64 = NULL;
	int rc = vouch_est_csr_decode(body, len, &der, &der_len);

	if (rc != VOUCH_OK) {
		FUZZ_CHECK(rc == VOUCH_ERR_X509_MALFORMED || rc == VOUCH_ERR_X509_TOO_LARGE);
		FUZZ_CHECK(len > 0 || rc == VOUCH_ERR_X509_MALFORMED);
		FUZZ_CHECK(der == NULL && der_len == 0);
		ERR_clear_error();
		return;
	}
	FUZZ_CHECK(der != NULL && der_len >= 1 && der_len <= VOUCH_CA_CSR_MAX);
	FUZZ_CHECK(der_len <= len / 4 * 3 + 3);
	FUZZ_CHECK(vouch_ca_base64_encode(der, der_len, &b64, &b64_len) == VOUCH_OK);
	FUZZ_CHECK(b64 != NULL && strlen(b64) == b64_len);
	FUZZ_CHECK(vouch_est_csr_decode((const uint8_t *)b64, b64_len, &again, &again_len) ==
	           VOUCH_OK);
	FUZZ_CHECK(again_len == der_len && memcmp(again, der, der_len) == 0);

	fuzz_issue_csr_checked(der, der_len, &subj);
	(void)vouch_est_same_subject(der, der_len, pump7);

	free(again);
	free(b64);
	free(der);
	ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t header_len = nl != NULL ? (size_t)(nl - data) : size;
	char header[HEADER_MAX + 1];

	/* libevent hands header values over as C strings within its header limit. */
	if (header_len <= HEADER_MAX && memchr(data, '\0', header_len) == NULL) {
		memcpy(header, data, header_len);
		header[header_len] = '\0';
		check_basic(header);
	}
	if (nl != NULL)
		check_body(nl + 1, size - header_len - 1);
	else
		check_body(NULL, 0);
	return 0;
}
