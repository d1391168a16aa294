/*
 * POSIX TZ rules (POSIX.1-2017 XBD 8.3, with the RFC 8536 §3.3.1 extension of transition times
 * to -167..167 hours) evaluated by plain calendar arithmetic: no tzset(), no localtime(), no
 * global state, so it runs the same on a sensor as in a daemon serving several sites.
 *
 * The calendar is the proleptic Gregorian one, counted in days since 1970-01-01 with
 * H. Hinnant's days_from_civil / civil_from_days, which are exact for every int64 day count we
 * allow.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vouch/common.h"
#include "vouch/tz.h"

#define SECS_PER_DAY  86400
#define OFFSET_H_MAX  24  /* POSIX: the hours of a UT offset are 0..24 */
#define TIME_H_MAX    167 /* RFC 8536: transition times may be -167..167 hours */
#define DEFAULT_TIME  7200
#define YEAR_MIN      (-9999)
#define YEAR_MAX      9999
#define TZIF_MAX_SIZE (1024 * 1024)
#define TZIF_HDR_LEN  44
#define ZONE_NAME_MAX 255

/* ---- the calendar ---- */

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
	static const uint8_t days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* 0 = Sunday, as POSIX's Mm.w.d counts (1970-01-01 was a Thursday). */
static unsigned weekday_sun(int64_t days)
{
	return (unsigned)(days - floor_div(days + 4, 7) * 7 + 4);
}

/* ---- parsing ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* An abbreviation: at least 3 letters, or <...> of letters, digits, '+' and '-'. */
static bool parse_abbr(const char **pp, char out[VOUCH_TZ_ABBR_MAX + 1])
{
	const char *p = *pp, *start;
	size_t len;

	if (*p == '<') {
		start = ++p;
		while (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-')
			p++;
		if (*p != '>')
			return false;
		len = (size_t)(p - start);
		p++;
	} else {
		start = p;
		while (is_alpha(*p))
			p++;
		len = (size_t)(p - start);
	}
	if (len < 3 || len > VOUCH_TZ_ABBR_MAX)
		return false;
	memcpy(out, start, len);
	out[len] = '\0';
	*pp = p;
	return true;
}

/* An unsigned number of 1 to max_digits digits, at most max. */
static bool parse_num(const char **pp, unsigned max_digits, unsigned max, unsigned *v)
{
	const char *p = *pp;
	unsigned n = 0, digits = 0;

	while (is_digit(*p) && digits < max_digits) {
		n = n * 10 + (unsigned)(*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || is_digit(*p) || n > max)
		return false;
	*v = n;
	*pp = p;
	return true;
}

/* [+|-]hh[:mm[:ss]] in seconds, hours at most max_h. */
static bool parse_hms(const char **pp, unsigned max_h, int32_t *secs)
{
	const char *p = *pp;
	unsigned h, m = 0, s = 0;
	int32_t sign = 1;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!parse_num(&p, 3, max_h, &h))
		return false;
	if (*p == ':') {
		p++;
		if (!parse_num(&p, 2, 59, &m))
			return false;
		if (*p == ':') {
			p++;
			if (!parse_num(&p, 2, 59, &s))
				return false;
		}
	}
	*secs = sign * (int32_t)(h * 3600 + m * 60 + s);
	*pp = p;
	return true;
}

/* A POSIX offset (positive west) as seconds east of UTC. */
static bool parse_offset(const char **pp, int32_t *east)
{
	int32_t west;

	if (!parse_hms(pp, OFFSET_H_MAX, &west))
		return false;
	*east = -west;
	return true;
}

static bool parse_date(const char **pp, struct vouch_tz_date *d)
{
	const char *p = *pp;
	unsigned v, w, wd;

	memset(d, 0, sizeof(*d));
	if (*p == 'J') {
		p++;
		if (!parse_num(&p, 3, 365, &v) || v < 1)
			return false;
		d->kind = 'J';
		d->day = (uint16_t)v;
	} else if (is_digit(*p)) {
		if (!parse_num(&p, 3, 365, &v))
			return false;
		d->kind = 'n';
		d->day = (uint16_t)v;
	} else if (*p == 'M') {
		p++;
		if (!parse_num(&p, 2, 12, &v) || v < 1 || *p++ != '.' || !parse_num(&p, 1, 5, &w) ||
		    w < 1 || *p++ != '.' || !parse_num(&p, 1, 6, &wd))
			return false;
		d->kind = 'M';
		d->month = (uint8_t)v;
		d->week = (uint8_t)w;
		d->day = (uint16_t)wd;
	} else {
		return false;
	}
	d->time = DEFAULT_TIME;
	if (*p == '/') {
		p++;
		if (!parse_hms(&p, TIME_H_MAX, &d->time))
			return false;
	}
	*pp = p;
	return true;
}

int vouch_tz_parse(const char *rule, struct vouch_tz *out)
{
	struct vouch_tz tz;
	const char *p;
	size_t len = 0;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (rule == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	while (len <= VOUCH_TZ_RULE_MAX && rule[len] != '\0')
		len++;
	if (len == 0 || len > VOUCH_TZ_RULE_MAX)
		return VOUCH_ERR_TZ;

	memset(&tz, 0, sizeof(tz));
	p = rule;
	if (!parse_abbr(&p, tz.std_abbr) || !parse_offset(&p, &tz.std_offset))
		return VOUCH_ERR_TZ;
	tz.dst_offset = tz.std_offset;
	if (*p != '\0') {
		if (!parse_abbr(&p, tz.dst_abbr))
			return VOUCH_ERR_TZ;
		tz.has_dst = true;
		tz.dst_offset = tz.std_offset + 3600;
		if (*p != ',' && *p != '\0' && !parse_offset(&p, &tz.dst_offset))
			return VOUCH_ERR_TZ;
		if (*p == ',') {
			p++;
			if (!parse_date(&p, &tz.start) || *p++ != ',' || !parse_date(&p, &tz.end))
				return VOUCH_ERR_TZ;
		} else {
			/* POSIX leaves the default to the implementation; this is the US one that
			 * glibc's posixrules also gives. */
			tz.start = (struct vouch_tz_date){'M', 0, 3, 2, DEFAULT_TIME};
			tz.end = (struct vouch_tz_date){'M', 0, 11, 1, DEFAULT_TIME};
		}
		if (*p != '\0')
			return VOUCH_ERR_TZ;
	}
	*out = tz;
	return VOUCH_OK;
}

/* ---- evaluation ---- */

/* The day (since the epoch) a transition date names in year y. */
static int64_t rule_day(const struct vouch_tz_date *d, int64_t y)
{
	int64_t jan1 = days_from_civil(y, 1, 1), first, day;
	unsigned mdays;

	switch (d->kind) {
	case 'J':
		/* J1..J365 never count Feb 29: from J60 (March 1) on, a leap year shifts by one. */
		return jan1 + d->day - 1 + (is_leap(y) && d->day >= 60 ? 1 : 0);
	case 'n':
		return jan1 + d->day;
	default:
		first = days_from_civil(y, d->month, 1);
		mdays = month_days(y, d->month);
		day = first + (int64_t)((d->day + 7 - weekday_sun(first)) % 7) + 7 * (d->week - 1);
		while (day >= first + mdays)
			day -= 7;
		return day;
	}
}

/*
 * Whether DST is in effect at utc: the state the latest transition at or before utc set. The
 * transitions of the years around utc's are all looked at, because a transition time of up to
 * 167 hours can move one into the neighbouring year. At equal instants a later year's
 * transition wins (RFC 8536's DST all year, "0/0,J365/25": one year's end meets the next one's
 * start) and within one year the end wins (a start and end at the same instant: no DST).
 */
static bool in_dst(const struct vouch_tz *tz, int64_t utc, int64_t year)
{
	int64_t best = INT64_MIN;
	bool dst = false, found = false;

	for (int64_t y = year - 2; y <= year + 1; y++) {
		int64_t start =
		    rule_day(&tz->start, y) * SECS_PER_DAY + tz->start.time - tz->std_offset;
		int64_t end = rule_day(&tz->end, y) * SECS_PER_DAY + tz->end.time - tz->dst_offset;

		/* Years are visited in order, so >= lets a later year win a tie. */
		if (start <= utc && (!found || start >= best)) {
			best = start, dst = true, found = true;
		}
		if (end <= utc && (!found || end >= best)) {
			best = end, dst = false, found = true;
		}
	}
	return dst;
}

/* A hand-made struct must not drive rule_day() out of its tables. */
static bool date_ok(const struct vouch_tz_date *d)
{
	switch (d->kind) {
	case 'J':
		return d->day >= 1 && d->day <= 365;
	case 'n':
		return d->day <= 365;
	case 'M':
		return d->month >= 1 && d->month <= 12 && d->week >= 1 && d->week <= 5 &&
		       d->day <= 6;
	default:
		return false;
	}
}

int vouch_tz_local(const struct vouch_tz *tz, int64_t utc, struct vouch_tz_tm *out)
{
	static const int64_t min_utc = -377705116800ll; /* -9999-01-01T00:00:00Z */
	static const int64_t max_utc = 253402300800ll;  /* 10000-01-01T00:00:00Z */
	int64_t days, secs, local, y;
	unsigned m, d;
	bool dst;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (tz == NULL || out == NULL || utc < min_utc || utc >= max_utc)
		return VOUCH_ERR_INVALID;
	if (tz->has_dst && (!date_ok(&tz->start) || !date_ok(&tz->end)))
		return VOUCH_ERR_INVALID;

	civil_from_days(floor_div(utc, SECS_PER_DAY), &y, &m, &d);
	dst = tz->has_dst && in_dst(tz, utc, y);
	out->offset = dst ? tz->dst_offset : tz->std_offset;
	out->is_dst = dst;
	out->abbr = dst ? tz->dst_abbr : tz->std_abbr;

	local = utc + out->offset;
	days = floor_div(local, SECS_PER_DAY);
	secs = local - days * SECS_PER_DAY;
	civil_from_days(days, &y, &m, &d);
	out->year = (int32_t)y;
	out->month = (uint8_t)m;
	out->mday = (uint8_t)d;
	out->wday = (uint8_t)((weekday_sun(days) + 6) % 7);
	out->yday = (uint16_t)(days - days_from_civil(y, 1, 1));
	out->minute_of_day = (uint16_t)(secs / 60);
	out->second = (uint8_t)(secs % 60);
	return VOUCH_OK;
}

/* ---- TZif footers ---- */

static bool zone_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > ZONE_NAME_MAX || name[0] == '/' || strstr(name, "..") != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '+' && c != '-' && c != '/')
			return false;
	}
	return true;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Bytes of a TZif data block after a header at hdr, with time values of tsize bytes. */
static uint64_t tzif_data_len(const uint8_t *hdr, unsigned tsize)
{
	uint64_t isutcnt = be32(hdr + 20), isstdcnt = be32(hdr + 24), leapcnt = be32(hdr + 28);
	uint64_t timecnt = be32(hdr + 32), typecnt = be32(hdr + 36), charcnt = be32(hdr + 40);

	return timecnt * (tsize + 1) + typecnt * 6 + charcnt + leapcnt * (tsize + 4) + isstdcnt +
	       isutcnt;
}

/* The footer's rule (RFC 8536 §3.3) of the TZif file in buf. */
static int tzif_footer(const uint8_t *buf, size_t len, char *rule, size_t cap)
{
	uint64_t pos;
	const uint8_t *nl;
	size_t rule_len;
	char tmp[VOUCH_TZ_RULE_MAX + 1];
	struct vouch_tz tz;

	if (len < TZIF_HDR_LEN || memcmp(buf, "TZif", 4) != 0 || buf[4] < '2')
		return VOUCH_ERR_TZ;
	pos = TZIF_HDR_LEN + tzif_data_len(buf, 4);
	if (pos > len || len - pos < TZIF_HDR_LEN || memcmp(buf + pos, "TZif", 4) != 0)
		return VOUCH_ERR_TZ;
	pos += TZIF_HDR_LEN + tzif_data_len(buf + pos, 8);
	if (pos >= len || buf[pos] != '\n')
		return VOUCH_ERR_TZ;
	pos++;
	nl = memchr(buf + pos, '\n', len - pos);
	/* The footer ends the file; an empty rule means the zone has no POSIX form. */
	if (nl == NULL || nl != buf + len - 1)
		return VOUCH_ERR_TZ;
	rule_len = (size_t)(nl - (buf + pos));
	if (rule_len == 0 || rule_len > VOUCH_TZ_RULE_MAX || memchr(buf + pos, '\0', rule_len))
		return VOUCH_ERR_TZ;
	memcpy(tmp, buf + pos, rule_len);
	tmp[rule_len] = '\0';
	if (vouch_tz_parse(tmp, &tz) != VOUCH_OK)
		return VOUCH_ERR_TZ;
	if (rule_len >= cap)
		return VOUCH_ERR_BUFFER;
	memcpy(rule, tmp, rule_len + 1);
	return VOUCH_OK;
}

int vouch_tz_rule_of_zone(const char *zoneinfo_dir, const char *name, char *rule, size_t cap)
{
	char path[4096];
	uint8_t *buf = NULL;
	FILE *f = NULL;
	struct stat st;
	size_t got;
	int n, rc = VOUCH_ERR_INTERNAL;

	if (rule != NULL && cap > 0)
		rule[0] = '\0';
	if (name == NULL || rule == NULL || cap == 0)
		return VOUCH_ERR_INVALID;
	if (zoneinfo_dir == NULL)
		zoneinfo_dir = "/usr/share/zoneinfo";
	if (!zone_name_ok(name))
		return VOUCH_ERR_INVALID;
	n = snprintf(path, sizeof(path), "%s/%s", zoneinfo_dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return VOUCH_ERR_INVALID;

	f = fopen(path, "rb");
	if (f == NULL)
		return VOUCH_ERR_IO;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = VOUCH_ERR_IO;
		goto out_close;
	}
	if (st.st_size <= 0 || st.st_size > TZIF_MAX_SIZE) {
		rc = VOUCH_ERR_TZ;
		goto out_close;
	}
	buf = malloc((size_t)st.st_size);
	if (buf == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_close;
	}
	got = fread(buf, 1, (size_t)st.st_size, f);
	if (got != (size_t)st.st_size || ferror(f)) {
		rc = VOUCH_ERR_IO;
		goto out_free;
	}
	rc = tzif_footer(buf, got, rule, cap);
out_free:
	free(buf);
out_close:
	fclose(f);
	return rc;
}
