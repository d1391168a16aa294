/* Small helpers of vouch-wallet: messages, base64, hex, times. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wallet.h"

void w_err(const char *fmt, ...)
{
	va_list ap;

	fputs(W_PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/*
 * Standard base64 with padding, as the API sends it. EVP_DecodeBlock() accepts stray whitespace
 * and does not account for padding, so the text is checked here first: only the alphabet, a
 * length that is a multiple of 4, at most two '=' at the end.
 */
int w_b64_decode(const char *b64, size_t max, uint8_t **out, size_t *out_len)
{
	size_t len = b64 != NULL ? strlen(b64) : 0;
	size_t pad = 0, i;
	uint8_t *buf;
	int n;

	*out = NULL;
	*out_len = 0;
	if (len == 0 || len % 4 != 0 || len > INT_MAX || len / 4 * 3 > max + 2)
		return VOUCH_ERR_CBOR_MALFORMED;
	while (pad < 2 && b64[len - 1 - pad] == '=')
		pad++;
	for (i = 0; i < len - pad; i++) {
		if (!b64_char(b64[i]))
			return VOUCH_ERR_CBOR_MALFORMED;
	}
	buf = malloc(len / 4 * 3 + 1);
	if (buf == NULL)
		return VOUCH_ERR_NOMEM;
	n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
	if (n < 0 || (size_t)n < pad || (size_t)n - pad > max) {
		free(buf);
		return VOUCH_ERR_CBOR_MALFORMED;
	}
	*out = buf;
	*out_len = (size_t)n - pad;
	return VOUCH_OK;
}

char *w_b64_encode(const uint8_t *buf, size_t len)
{
	char *out;

	if (len > INT_MAX / 2)
		return NULL;
	out = malloc(4 * ((len + 2) / 3) + 1);
	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, buf, (int)len);
	return out;
}

void w_hex(const uint8_t *buf, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 15];
	}
	out[2 * len] = '\0';
}

/* Whether hex (either case) spells exactly buf. */
bool w_hex_equal(const char *hex, const uint8_t *buf, size_t len)
{
	char mine[2 * 64 + 1];

	if (hex == NULL || len > 64 || strlen(hex) != 2 * len)
		return false;
	w_hex(buf, len, mine);
	for (size_t i = 0; i < 2 * len; i++) {
		char c = hex[i] >= 'A' && hex[i] <= 'F' ? (char)(hex[i] - 'A' + 'a') : hex[i];

		if (c != mine[i])
			return false;
	}
	return true;
}

void w_iso_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "@%lld", (long long)t);
}

/* "7h 12m", "3m 20s", "45s"; negative durations as "-" and the same. */
void w_duration(int64_t secs, char *out, size_t cap)
{
	const char *sign = secs < 0 ? "-" : "";
	long long s = secs < 0 ? -(long long)secs : (long long)secs;

	if (s >= 86400)
		snprintf(out, cap, "%s%lldd %lldh", sign, s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, cap, "%s%lldh %lldm", sign, s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, cap, "%s%lldm %llds", sign, s / 60, s % 60);
	else
		snprintf(out, cap, "%s%llds", sign, s);
}

/* A JSON document as text (2-space indent, sorted keys, final newline) in a malloc()ed buffer.
 * json_dumps() is not used: its result belongs to jansson's wiping allocator, not to free(). */
char *w_json_dump(const json_t *j, size_t *len)
{
	size_t flags = JSON_INDENT(2) | JSON_SORT_KEYS;
	size_t n = json_dumpb(j, NULL, 0, flags);
	char *text;

	*len = 0;
	if (n == 0)
		return NULL;
	text = malloc(n + 2);
	if (text == NULL)
		return NULL;
	if (json_dumpb(j, text, n, flags) != n) {
		free(text);
		return NULL;
	}
	text[n] = '\n';
	text[n + 1] = '\0';
	*len = n + 1;
	return text;
}

/*
 * Options of a command (argv[0] is the command word): "--name VALUE" or "--name=VALUE", names
 * matched exactly (getopt_long would take any unambiguous prefix, so "--pin 1234" would silently
 * become "--pin-file 1234"). No positional arguments.
 */
int w_parse_opts(int argc, char **argv, const struct w_opt *opts, size_t n_opts)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq = strchr(arg, '=');
		size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		size_t k;

		if (strncmp(arg, "--", 2) != 0) {
			w_err("%s: unexpected argument %s", argv[0], arg);
			return VOUCH_ERR_INVALID;
		}
		for (k = 0; k < n_opts; k++) {
			if (len - 2 == strlen(opts[k].name) &&
			    strncmp(arg + 2, opts[k].name, len - 2) == 0)
				break;
		}
		if (k == n_opts) {
			w_err("%s: unknown option %.*s", argv[0], (int)len, arg);
			return VOUCH_ERR_INVALID;
		}
		if (eq != NULL) {
			*opts[k].value = eq + 1;
		} else if (i + 1 < argc) {
			*opts[k].value = argv[++i];
		} else {
			w_err("%s: %s wants a value", argv[0], arg);
			return VOUCH_ERR_INVALID;
		}
	}
	return VOUCH_OK;
}
