/* JSON-lines logging. Writes whole lines with one fwrite so concurrent writers don't interleave. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdbool.h>
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

/* Longest value a line carries, escaped: a request path or a peer's name can be as long as the
 * peer likes, and must not push the fields after it (a request's status) off the line. */
#define LOG_VALUE_MAX 1024
/* Kept free for the closing ,"truncated":"1"}\n of a line that had to drop fields. */
#define LOG_TRAILER 24

/* Append s to buf as JSON string contents up to limit; *cut tells whether s had to be cut. */
static size_t append_escaped(char *buf, size_t pos, size_t limit, const char *s, bool *cut)
{
	static const char hex[] = "0123456789abcdef";

	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (pos + 6 > limit) {
			*cut = true;
			break;
		}
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

/* Only called with room to spare (the caller checks it): s is a short literal. */
static size_t append_raw(char *buf, size_t pos, const char *s)
{
	size_t n = strlen(s);

	memcpy(buf + pos, s, n);
	return pos + n;
}

/* One field, whole or with its value cut (marked "..."); false if even its key did not fit. */
static bool append_field(char *buf, size_t *pos, size_t cap, const char *k, const char *v)
{
	size_t p = *pos, vlimit;
	bool cut = false;

	if (p + 16 + strlen(k) > cap)
		return false;
	p = append_raw(buf, p, ",\"");
	p = append_escaped(buf, p, cap, k, &cut);
	if (cut)
		return false;
	p = append_raw(buf, p, "\":\"");
	vlimit = p + LOG_VALUE_MAX < cap - 5 ? p + LOG_VALUE_MAX : cap - 5;
	p = append_escaped(buf, p, vlimit, v, &cut);
	if (cut)
		p = append_raw(buf, p, "...");
	*pos = append_raw(buf, p, "\"");
	return true;
}

static void log_line(enum vouch_log_level level, const char *event, va_list ap)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	char buf[4096], ts[40];
	struct timespec now;
	struct tm tm;
	size_t pos = 0, cap = sizeof(buf) - LOG_TRAILER;
	const char *k, *v;
	bool dropped = false;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	pos = (size_t)snprintf(buf, cap, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\"", ts,
	                       now.tv_nsec / 1000000, names[level]);
	if (!append_field(buf, &pos, cap, "prog", log_prog) ||
	    !append_field(buf, &pos, cap, "event", event))
		dropped = true;
	while (!dropped && (k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (!append_field(buf, &pos, cap, k, v ? v : ""))
			dropped = true;
	}
	if (dropped)
		pos = append_raw(buf, pos, ",\"truncated\":\"1\"");
	pos = append_raw(buf, pos, "}\n");
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
