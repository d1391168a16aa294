/*
 * The admin REST API (server/api.c) through its entry point, vouch_api_handle(), as the HTTPS
 * dispatcher calls it for the admin's certificate: routing and percent-decoding of the path,
 * query parameters, the JSON bodies (jansson, then api.c's validation) and what each route does
 * with them in a real service (SoftHSM2 token, CA, SQLite store, CRLs) in a temporary
 * directory. Its request parsing is interleaved with answering, so it is fuzzed in place rather
 * than through extracted functions.
 *
 * Input: "METHOD TARGET\n" then the body; TARGET is what follows /api/v1/ (path and query, as
 * evhttp parses a request line). "SERIAL1" and "SERIAL2" anywhere stand for the serials of the
 * two certificates of device pump-7 that every fresh store holds, so seeds reach the routes of
 * a known certificate.
 *
 * Invariants: every request is answered exactly once (a connectionless evhttp request is freed
 * by its reply, so one left unanswered is also a leak), and never with a 5xx: bad input is the
 * client's error (fuzz_request, fuzz_site.h).
 *
 * The store is state: it is made afresh every STORE_RUNS inputs, and at once when an input has
 * revoked the admin certificate (whose device "admin" the API can revoke like any other), so
 * that the next inputs are not all refused with 403.
 *
 * Seeds (fuzz/corpus/api_json/): one or more requests of every route of docs/vouchd.md, good
 * and bad: enrolment tokens for each profile with and without SANs and hours, listing filters,
 * revocation by serial and by device with each kind of reason, a batch of P-256 and Ed25519
 * keys, /ca, /events, and malformed JSON, duplicate keys, wrong types, unknown routes and
 * methods.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "fuzz_site.h"

#define STORE_RUNS  128
#define TARGET_MAX  2048
#define PLACEHOLDER "SERIAL"

static unsigned runs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_site_init(true);
	fuzz_service_init();
	return 0;
}

/* The input with "SERIAL1" / "SERIAL2" replaced by the fixtures' serials, NUL-terminated;
 * malloc()ed. */
static char *substitute(const uint8_t *data, size_t size, size_t *out_len)
{
	const size_t plen = strlen(PLACEHOLDER) + 1;
	char *out = malloc(size / plen * VOUCH_STORE_SERIAL_MAX + size + 1);
	size_t o = 0;

	FUZZ_CHECK(out != NULL);
	for (size_t i = 0; i < size;) {
		if (size - i >= plen && memcmp(data + i, PLACEHOLDER, plen - 1) == 0 &&
		    (data[i + plen - 1] == '1' || data[i + plen - 1] == '2')) {
			const char *s = fuzz_fixture_serial((unsigned)(data[i + plen - 1] - '0'));

			memcpy(out + o, s, strlen(s));
			o += strlen(s);
			i += plen;
		} else {
			out[o++] = (char)data[i++];
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

/* "METHOD TARGET" and the body, as an HTTPS request for /api/v1/TARGET. */
static void one_request(char *line, const uint8_t *body, size_t body_len)
{
	char uri[TARGET_MAX + 16];
	char *sp = strchr(line, ' ');
	const char *target = "";
	int status;

	if (sp != NULL) {
		*sp = '\0';
		target = sp + 1;
	}
	if (strlen(target) > TARGET_MAX)
		return;
	snprintf(uri, sizeof(uri), "/api/v1/%s", target);
	status = fuzz_request(true, line, uri, "application/json", body, body_len);
	FUZZ_CHECK(status < 500);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = 0;
	char *in = substitute(data, size, &len);
	char *nl = memchr(in, '\n', len);
	size_t line_len = nl != NULL ? (size_t)(nl - in) : len;

	/* The request line is text: evhttp never hands one with a NUL over. */
	if (memchr(in, '\0', line_len) == NULL) {
		in[line_len] = '\0';
		if (nl != NULL)
			one_request(in, (const uint8_t *)nl + 1, len - line_len - 1);
		else
			one_request(in, NULL, 0);
	}
	free(in);
	ERR_clear_error();
	if (++runs >= STORE_RUNS || fuzz_admin_revoked()) {
		fuzz_service_reset();
		runs = 0;
	}
	return 0;
}
