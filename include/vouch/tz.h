/*
 * vouch — local time from a POSIX TZ rule (POSIX.1-2017 XBD 8.3, the TZ variable's rule form),
 * without the C library's global tzset() state, so a sensor and a daemon serving several sites can
 * both use it. Policies carry the site's rule (e.g. "CET-1CEST,M3.5.0,M10.5.0/3", "EST5EDT,M3.2.0,
 * M11.1.0", "<+0530>-5:30", "UTC0"); vouchd takes it from the footer of the site zone's TZif file.
 */
#ifndef VOUCH_TZ_H
#define VOUCH_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_TZ_RULE_MAX 63 /* bytes of a rule string we accept */
#define VOUCH_TZ_ABBR_MAX 15

/* A DST transition date: Jn (1..365, no Feb 29), n (0..365, counts Feb 29), or Mm.w.d. */
struct vouch_tz_date {
	uint8_t kind;  /* 'J', 'n' or 'M' */
	uint16_t day;  /* J: 1..365, n: 0..365, M: d 0..6 (Sunday = 0) */
	uint8_t month; /* M: 1..12 */
	uint8_t week;  /* M: 1..5 (5 = last) */
	int32_t time;  /* seconds after local midnight; -167h..167h (RFC 8536 extension) */
};

/* A parsed rule. Offsets are seconds EAST of UTC (the opposite sign of the POSIX text). */
struct vouch_tz {
	char std_abbr[VOUCH_TZ_ABBR_MAX + 1];
	char dst_abbr[VOUCH_TZ_ABBR_MAX + 1]; /* "" when the rule has no DST */
	int32_t std_offset;
	int32_t dst_offset;
	bool has_dst;
	struct vouch_tz_date start; /* DST starts (given in standard local time) */
	struct vouch_tz_date end;   /* DST ends (given in DST local time) */
};

/* Broken-down local time. */
struct vouch_tz_tm {
	int32_t year;           /* e.g. 2026 */
	uint8_t month;          /* 1..12 */
	uint8_t mday;           /* 1..31 */
	uint8_t wday;           /* 0 = Monday .. 6 = Sunday (policy windows count from Monday) */
	uint16_t yday;          /* 0..365 */
	uint16_t minute_of_day; /* 0..1439 */
	uint8_t second;         /* 0..59 */
	int32_t offset;         /* seconds east of UTC in effect */
	bool is_dst;
	const char *abbr; /* points into the struct vouch_tz */
};

/* Parse a rule (NUL-terminated, at most VOUCH_TZ_RULE_MAX bytes): std offset [dst [offset]
 * [,start[/time],end[/time]]], quoted <...> abbreviations allowed. A DST name without a rule uses
 * the POSIX default M3.2.0,M11.1.0. VOUCH_ERR_TZ for anything else. */
int vouch_tz_parse(const char *rule, struct vouch_tz *out);

/* Local time of utc (any int64 in years -9999..9999; VOUCH_ERR_INVALID outside). DST is in
 * effect when the latest transition at or before utc started it; the years around utc's are
 * looked at, so times beyond 24 h that move a transition into another year are exact, and
 * "0/0,J365/25" is DST all year (RFC 8536 §3.3.1). */
int vouch_tz_local(const struct vouch_tz *tz, int64_t utc, struct vouch_tz_tm *out);

/* The POSIX TZ rule of an IANA zone name ("Europe/Berlin"), read from the last line of its TZif
 * (version 2+) file under zoneinfo_dir (NULL: /usr/share/zoneinfo). The name may hold only
 * A-Z a-z 0-9 _ + - / and no "..". VOUCH_ERR_IO: no such zone; VOUCH_ERR_TZ: no usable footer.
 * VOUCH_ERR_INVALID: a name outside that set (or starting with '/'); VOUCH_ERR_BUFFER: the rule
 * does not fit cap (with its NUL). */
int vouch_tz_rule_of_zone(const char *zoneinfo_dir, const char *name, char *rule, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
