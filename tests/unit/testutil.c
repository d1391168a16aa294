#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

json_t *tu_load_json(const char *relpath)
{
	char path[1024];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", VOUCH_VECTORS_DIR, relpath);
	j = json_load_file(path, 0, &jerr);
	if (j == NULL)
		fail_msg("cannot load %s: %s (line %d)", path, jerr.text, jerr.line);
	return j;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t *tu_hex(const char *hex, size_t *len)
{
	size_t n = hex ? strlen(hex) : 0;
	uint8_t *out;

	if (n % 2 != 0)
		fail_msg("odd-length hex: %s", hex);
	out = malloc(n / 2 + 1);
	assert_non_null(out);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			fail_msg("bad hex: %s", hex);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

static uint8_t *b64_any(const char *s, size_t *len, bool url)
{
	size_t n = strlen(s);
	uint8_t *out = malloc(n * 3 / 4 + 3);
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		int c = s[i], v = 0;
		if (c == '=')
			break;
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == (url ? '-' : '+'))
			v = 62;
		else if (c == (url ? '_' : '/'))
			v = 63;
		else
			fail_msg("bad base64: %s", s);
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*len = o;
	return out;
}

uint8_t *tu_b64url(const char *s, size_t *len)
{
	return b64_any(s, len, true);
}

uint8_t *tu_b64(const char *s, size_t *len)
{
	return b64_any(s, len, false);
}

const char *tu_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The flavour is fixed at build time (tests/psa.cmake defines VOUCH_TEST_PSA), so that a test
 * can check that the back-end linked in is the one it was built for. */
bool tu_psa(void)
{
#ifdef VOUCH_TEST_PSA
	return true;
#else
	return false;
#endif
}

void tu_report(const char *family, unsigned run, unsigned passed, unsigned skipped,
	       const char *note)
{
	printf("vectors: %s%s: %u run, %u passed, %u skipped%s%s%s\n", family,
	       tu_psa() ? " [psa]" : "", run, passed, skipped, note ? " (" : "", note ? note : "",
	       note ? ")" : "");
	fflush(stdout);
	if (passed + skipped != run)
		fail_msg("%s: %u of %u vectors failed", family, run - passed - skipped, run);
}
