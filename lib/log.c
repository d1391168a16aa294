/* JSON-lines logging. Writes whole lines with one fwrite so concurrent writers don't interleave. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vouch/log.h"

static const char *log_prog = "vouch";
static enum vouch_log_level log_min = VOUCH_LOG_INFO;
static FILE *log_out;

void vouch_log_init(const char *prog, enum vouch_log_level min, FILE *out)
{
	log_prog = prog;
	log_min = min;
	log_out = out;
}

/* Append s to buf as JSON string contents; stops (truncates) at the end of the buffer. */
static size_t append_escaped(char *buf, size_t pos, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; s != NULL && *s != '\0' && pos + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[pos++] = '\\';
			buf[pos++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(buf + pos, "\\u00", 4);
			buf[pos + 4] = hex[c >> 4];
			buf[pos + 5] = hex[c & 15];
			pos += 6;
		} else {
			buf[pos++] = (char)c;
		}
	}
	return pos;
}

static size_t append_raw(char *buf, size_t pos, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (pos + n + 3 > cap)
		n = cap > pos + 3 ? cap - pos - 3 : 0;
	memcpy(buf + pos, s, n);
	return pos + n;
}

static void log_line(enum vouch_log_level level, const char *event, va_list ap)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	char buf[4096], ts[40];
	struct timespec now;
	struct tm tm;
	size_t pos = 0, cap = sizeof(buf);
	const char *k, *v;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	pos = (size_t)snprintf(buf, cap, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"prog\":\"", ts,
			       now.tv_nsec / 1000000, names[level]);
	pos = append_escaped(buf, pos, cap, log_prog);
	pos = append_raw(buf, pos, cap, "\",\"event\":\"");
	pos = append_escaped(buf, pos, cap, event);
	pos = append_raw(buf, pos, cap, "\"");
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		pos = append_raw(buf, pos, cap, ",\"");
		pos = append_escaped(buf, pos, cap, k);
		pos = append_raw(buf, pos, cap, "\":\"");
		pos = append_escaped(buf, pos, cap, v ? v : "");
		pos = append_raw(buf, pos, cap, "\"");
	}
	buf[pos++] = '}';
	buf[pos++] = '\n';
	fwrite(buf, 1, pos, log_out ? log_out : stderr);
	fflush(log_out ? log_out : stderr);
}

void vouch_log(enum vouch_log_level level, const char *event, ...)
{
	va_list ap;

	if (level < log_min || level > VOUCH_LOG_ERROR)
		return;
	va_start(ap, event);
	log_line(level, event, ap);
	va_end(ap);
}
