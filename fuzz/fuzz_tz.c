/*
 * POSIX TZ rules: the input as a rule (NUL-terminated, cut at 127 bytes so that over-long rules
 * are tried too). A rule that parses must give, for fixed instants and for one taken from the
 * input, a local time that is consistent with itself: the offset is the rule's standard or DST
 * one, the broken-down fields are in range and add back up to utc + offset, and the weekday and
 * day of the year agree with the date.
 */
#include <string.h>

#include "fuzz.h"
#include "vouch/tz.h"

#define UTC_MIN (-377705116800ll) /* -9999-01-01T00:00:00Z */
#define UTC_END 253402300800ll    /* 10000-01-01T00:00:00Z */

/* An independent calendar (Gregorian, by counting from a 400-year cycle). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	static const int cum[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	int64_t cycles, yy, days;
	bool leap;

	/* Shift into positive years by whole 400-year cycles (146097 days each). */
	cycles = y <= 0 ? -y / 400 + 1 : 0;
	yy = y + cycles * 400;
	leap = (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0;
	days = 365 * (yy - 1) + (yy - 1) / 4 - (yy - 1) / 100 + (yy - 1) / 400 + cum[m - 1] +
	       (m > 2 && leap) + d - 1;
	/* 0001-01-01 is day 0 here; 1970-01-01 is day 719162. */
	return days - 719162 - cycles * 146097;
}

static void check_at(const struct vouch_tz *tz, int64_t utc)
{
	struct vouch_tz_tm tm;
	int rc = vouch_tz_local(tz, utc, &tm);
	int64_t days, local;

	if (utc < UTC_MIN || utc >= UTC_END) {
		FUZZ_CHECK(rc == VOUCH_ERR_INVALID);
		return;
	}
	FUZZ_CHECK(rc == VOUCH_OK);
	FUZZ_CHECK(tm.is_dst ? tz->has_dst && tm.offset == tz->dst_offset
	                     : tm.offset == tz->std_offset);
	FUZZ_CHECK(tm.abbr == (tm.is_dst ? tz->dst_abbr : tz->std_abbr));
	FUZZ_CHECK(tm.month >= 1 && tm.month <= 12 && tm.mday >= 1 && tm.mday <= 31);
	FUZZ_CHECK(tm.wday <= 6 && tm.yday <= 365 && tm.minute_of_day < 1440 && tm.second < 60);
	days = days_from_civil(tm.year, tm.month, tm.mday);
	local = days * 86400 + tm.minute_of_day * 60 + tm.second;
	FUZZ_CHECK(local == utc + tm.offset);
	FUZZ_CHECK(((days % 7 + 7 + 3) % 7) == tm.wday); /* 1970-01-01 was a Thursday (3) */
	FUZZ_CHECK(days - days_from_civil(tm.year, 1, 1) == tm.yday);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t instants[] = {
	    0,          -1,      1774745999,  1774746000,  1792889999, 1792890000, 1767225600,
	    1798761599, UTC_MIN, UTC_END - 1, UTC_MIN - 1, UTC_END,    INT64_MIN,  INT64_MAX,
	};
	char rule[128];
	size_t n = size < sizeof(rule) - 1 ? size : sizeof(rule) - 1;
	struct vouch_tz tz;
	int rc;

	memcpy(rule, data, n);
	rule[n] = '\0';
	rc = vouch_tz_parse(rule, &tz);
	FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_TZ);
	if (rc != VOUCH_OK)
		return 0;
	FUZZ_CHECK(strlen(rule) <= VOUCH_TZ_RULE_MAX);
	FUZZ_CHECK(strlen(tz.std_abbr) >= 3 && strlen(tz.std_abbr) <= VOUCH_TZ_ABBR_MAX);
	FUZZ_CHECK(tz.has_dst == (tz.dst_abbr[0] != '\0'));
	FUZZ_CHECK(tz.std_offset >= -89999 && tz.std_offset <= 89999);

	for (size_t i = 0; i < VOUCH_ARRAY_LEN(instants); i++)
		check_at(&tz, instants[i]);
	/* One instant from the input's tail, and the seconds around it. */
	if (size >= 8) {
		uint64_t u = 0;
		int64_t t;

		for (int i = 0; i < 8; i++)
			u = u << 8 | data[size - 8 + i];
		t = (int64_t)(u % (uint64_t)(UTC_END - UTC_MIN)) + UTC_MIN;
		for (int64_t d = -2; d <= 2; d++)
			check_at(&tz, t + d);
	}
	return 0;
}
