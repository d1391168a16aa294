/*
 * POSIX TZ rules: vouch_tz_local() against a real peer, glibc's localtime_r() with TZ set to the
 * same rule (or the same IANA zone, whose rule vouch reads from the TZif footer), at every hour
 * of 2025 and 2026 and within 2 s of every transition; the calendar against gmtime_r() over the
 * whole accepted range; the parser's fields and refusals; reading TZif footers.
 */
#define _DEFAULT_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "vouch/common.h"
#include "vouch/tz.h"

#define SCAN_FROM 1735689600ll      /* 2025-01-01T00:00:00Z */
#define SCAN_TO   1798761600ll      /* 2027-01-01T00:00:00Z */
#define UTC_MIN   (-377705116800ll) /* -9999-01-01T00:00:00Z */
#define UTC_END   253402300800ll    /* 10000-01-01T00:00:00Z */
#define Y1971     31536000ll        /* 1971-01-01T00:00:00Z */

static unsigned cmp_run, cmp_passed, mismatches_shown;

/* The peer's view of utc under the TZ value set by peer_use(). */
static void peer_use(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

static void peer_local(int64_t utc, struct tm *tm)
{
	time_t t = (time_t)utc;

	assert_non_null(localtime_r(&t, tm));
}

/* One comparison: every field tz.h gives against the peer's. */
static void compare_at(const char *what, const struct vouch_tz *tz, int64_t utc)
{
	struct vouch_tz_tm mine;
	struct tm peer;
	bool same;

	peer_local(utc, &peer);
	cmp_run++;
	if (vouch_tz_local(tz, utc, &mine) != VOUCH_OK) {
		same = false;
	} else {
		same = mine.year == peer.tm_year + 1900 && mine.month == peer.tm_mon + 1 &&
		       mine.mday == peer.tm_mday && mine.wday == (peer.tm_wday + 6) % 7 &&
		       mine.yday == peer.tm_yday &&
		       mine.minute_of_day == peer.tm_hour * 60 + peer.tm_min &&
		       mine.second == peer.tm_sec && mine.offset == peer.tm_gmtoff &&
		       mine.is_dst == (peer.tm_isdst > 0) && strcmp(mine.abbr, peer.tm_zone) == 0;
	}
	if (same) {
		cmp_passed++;
	} else if (mismatches_shown++ < 10) {
		printf("mismatch %s at %lld: vouch %d-%02u-%02u wday %u min %u off %d dst %d %s | "
		       "glibc %d-%02d-%02d wday %d min %d off %ld dst %d %s\n",
		       what, (long long)utc, mine.year, mine.month, mine.mday, mine.wday,
		       mine.minute_of_day, mine.offset, mine.is_dst, mine.abbr ? mine.abbr : "-",
		       peer.tm_year + 1900, peer.tm_mon + 1, peer.tm_mday, (peer.tm_wday + 6) % 7,
		       peer.tm_hour * 60 + peer.tm_min, peer.tm_gmtoff, peer.tm_isdst,
		       peer.tm_zone);
	}
}

static long peer_offset(int64_t utc)
{
	struct tm tm;

	peer_local(utc, &tm);
	return tm.tm_gmtoff * 2 + (tm.tm_isdst > 0);
}

static long mine_offset(const struct vouch_tz *tz, int64_t utc)
{
	struct vouch_tz_tm tm;

	assert_int_equal(vouch_tz_local(tz, utc, &tm), VOUCH_OK);
	return tm.offset * 2 + tm.is_dst;
}

/* The first second in (lo, hi] whose state differs from lo's, for either side. */
static int64_t bisect(const struct vouch_tz *tz, bool peer, int64_t lo, int64_t hi)
{
	long at_lo = peer ? peer_offset(lo) : mine_offset(tz, lo);

	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		long at_mid = peer ? peer_offset(mid) : mine_offset(tz, mid);

		if (at_mid == at_lo)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/* Every hour of 2025..2026, and +-2 s around every transition either side sees. Returns the
 * number of transitions glibc has in the span. */
static unsigned compare_span(const char *what, const struct vouch_tz *tz)
{
	unsigned transitions = 0;

	for (int64_t t = SCAN_FROM; t < SCAN_TO; t += 3600) {
		compare_at(what, tz, t);
		for (int side = 0; side < 2; side++) {
			bool peer = side == 0;
			long a = peer ? peer_offset(t) : mine_offset(tz, t);
			long b = peer ? peer_offset(t + 3600) : mine_offset(tz, t + 3600);

			if (a == b)
				continue;
			int64_t at = bisect(tz, peer, t, t + 3600);

			transitions += peer;
			for (int64_t d = -2; d <= 2; d++)
				compare_at(what, tz, at + d);
		}
	}
	return transitions;
}

/* ---- rules against glibc ---- */

struct rule_case {
	const char *rule;
	unsigned transitions; /* glibc's in 2025..2026 */
};

static const struct rule_case rule_cases[] = {
    {"CET-1CEST,M3.5.0,M10.5.0/3", 4},
    {"EST5EDT,M3.2.0,M11.1.0", 4},
    {"<+0530>-5:30", 0},
    {"AEST-10AEDT,M10.1.0,M4.1.0/3", 4}, /* southern hemisphere */
    {"<-03>3", 0},
    {"UTC0", 0},
    {"AAA5BBB,J60/2,J300", 4},           /* Jn: never Feb 29 */
    {"AAA5BBB,59,299/3", 4},             /* n: counts Feb 29 */
    {"XXX3YYY,M3.2.0/-1,M11.1.0/25", 4}, /* RFC 8536 times outside 0..24 h */
    {"XXX3YYY,M3.2.0/-25,M11.1.0/167", 4},
    {"IST-1GMT0,M10.5.0,M3.5.0/1", 4}, /* Europe/Dublin: negative DST */
    {"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", 4},
    {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 4}, /* half-hour DST */
    {"LMT-0:53:28", 0},
    {"<-0330>3:30<-0230>,M3.2.0/0:30:15,M11.1.0/1:15:45", 4},
};

static void test_rules_vs_glibc(void **state)
{
	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(rule_cases); i++) {
		struct vouch_tz tz;

		assert_int_equal(vouch_tz_parse(rule_cases[i].rule, &tz), VOUCH_OK);
		peer_use(rule_cases[i].rule);
		assert_int_equal(compare_span(rule_cases[i].rule, &tz), rule_cases[i].transitions);
	}
}

/* ---- IANA zones: vouch reads the footer, glibc the whole TZif file ---- */

static const struct rule_case zone_cases[] = {
    {"Europe/Berlin", 4},   {"America/New_York", 4},    {"Australia/Sydney", 4},
    {"Asia/Kolkata", 0},    {"America/Sao_Paulo", 0},   {"Europe/Dublin", 4},
    {"Pacific/Chatham", 4}, {"Australia/Lord_Howe", 4},
};

static void test_zones_vs_glibc(void **state)
{
	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(zone_cases); i++) {
		char rule[VOUCH_TZ_RULE_MAX + 1], peer_tz[128];
		struct vouch_tz tz;

		assert_int_equal(
		    vouch_tz_rule_of_zone(NULL, zone_cases[i].rule, rule, sizeof(rule)), VOUCH_OK);
		assert_int_equal(vouch_tz_parse(rule, &tz), VOUCH_OK);
		snprintf(peer_tz, sizeof(peer_tz), ":%s", zone_cases[i].rule);
		peer_use(peer_tz);
		assert_int_equal(compare_span(zone_cases[i].rule, &tz), zone_cases[i].transitions);
	}
}

/* ---- the calendar over the whole range, against gmtime_r and a rule far from 2026 ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_calendar_range(void **state)
{
	struct vouch_tz utc, cet;
	static const int64_t fixed[] = {
	    UTC_MIN,
	    UTC_MIN + 1,
	    -1,
	    0,
	    1,
	    951782400 /* 2000-02-29 */,
	    -2203891200 /* 1900-03-01 */,
	    4107542399 /* 2100-02-28T23:59:59 */,
	    UTC_END - 1,
	    1709164800 /* 2024-02-29 */,
	};

	(void)state;
	assert_int_equal(vouch_tz_parse("UTC0", &utc), VOUCH_OK);
	assert_int_equal(vouch_tz_parse("CET-1CEST,M3.5.0,M10.5.0/3", &cet), VOUCH_OK);
	peer_use("UTC0");
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(fixed); i++)
		compare_at("UTC0 fixed", &utc, fixed[i]);
	for (int i = 0; i < 20000; i++)
		compare_at("UTC0 random", &utc,
		           UTC_MIN + (int64_t)(next_rand() % (uint64_t)(UTC_END - UTC_MIN)));
	/* glibc evaluates a rule in the UTC year, which agrees with vouch for rules whose
	 * transitions stay inside their year, but it computes no transitions before 1971 (its
	 * compute_change() takes any earlier year as 1970): compare from 1971 to the last day of
	 * 9999 (after it the local time is in year 10000). */
	peer_use("CET-1CEST,M3.5.0,M10.5.0/3");
	for (int i = 0; i < 20000; i++)
		compare_at("CET random", &cet,
		           Y1971 + (int64_t)(next_rand() % (uint64_t)(UTC_END - 86400 - Y1971)));
}

static void test_compare_report(void **state)
{
	(void)state;
	tu_report(
	    "tz-vs-glibc", cmp_run, cmp_passed, 0,
	    "instants compared with glibc localtime_r: year, month, mday, wday, yday, minute, "
	    "second, offset, is_dst, abbreviation");
}

/* ---- fields, known instants, refusals ---- */

static void test_parse_fields(void **state)
{
	struct vouch_tz tz;

	(void)state;
	assert_int_equal(vouch_tz_parse("CET-1CEST,M3.5.0,M10.5.0/3", &tz), VOUCH_OK);
	assert_string_equal(tz.std_abbr, "CET");
	assert_string_equal(tz.dst_abbr, "CEST");
	assert_int_equal(tz.std_offset, 3600);
	assert_int_equal(tz.dst_offset, 7200);
	assert_true(tz.has_dst);
	assert_int_equal(tz.start.kind, 'M');
	assert_int_equal(tz.start.month, 3);
	assert_int_equal(tz.start.week, 5);
	assert_int_equal(tz.start.day, 0);
	assert_int_equal(tz.start.time, 7200);
	assert_int_equal(tz.end.month, 10);
	assert_int_equal(tz.end.time, 10800);

	assert_int_equal(vouch_tz_parse("<+0530>-5:30", &tz), VOUCH_OK);
	assert_string_equal(tz.std_abbr, "+0530");
	assert_int_equal(tz.std_offset, 19800);
	assert_false(tz.has_dst);
	assert_string_equal(tz.dst_abbr, "");

	assert_int_equal(vouch_tz_parse("<-03>3", &tz), VOUCH_OK);
	assert_int_equal(tz.std_offset, -10800);

	/* A DST name alone: one hour ahead, the POSIX default rule M3.2.0,M11.1.0 at 02:00. */
	assert_int_equal(vouch_tz_parse("EST5EDT", &tz), VOUCH_OK);
	assert_int_equal(tz.std_offset, -18000);
	assert_int_equal(tz.dst_offset, -14400);
	assert_int_equal(tz.start.kind, 'M');
	assert_int_equal(tz.start.month, 3);
	assert_int_equal(tz.start.week, 2);
	assert_int_equal(tz.end.month, 11);
	assert_int_equal(tz.end.week, 1);
	assert_int_equal(tz.start.time, 7200);
	assert_int_equal(tz.end.time, 7200);

	assert_int_equal(vouch_tz_parse("AAA5BBB3:30,J60/-1:15:30,300/+167", &tz), VOUCH_OK);
	assert_int_equal(tz.dst_offset, -12600);
	assert_int_equal(tz.start.kind, 'J');
	assert_int_equal(tz.start.day, 60);
	assert_int_equal(tz.start.time, -(3600 + 15 * 60 + 30));
	assert_int_equal(tz.end.kind, 'n');
	assert_int_equal(tz.end.day, 300);
	assert_int_equal(tz.end.time, 167 * 3600);

	/* 63 bytes is the longest accepted. */
	assert_int_equal(
	    vouch_tz_parse("<ABCDEFGHIJKLMNO>-1<PQRSTUVWXYZABCD>-2,M3.5.0/2,M10.5.0/3:00:00", &tz),
	    VOUCH_OK);
}

static void test_parse_refusals(void **state)
{
	static const char *bad[] = {
	    "",
	    "garbage",
	    "CET", /* no offset */
	    "C-1", /* abbreviation too short */
	    "CE-1",
	    "<AB>-1",
	    "<ABCDEFGHIJKLMNOP>-1", /* 16 > VOUCH_TZ_ABBR_MAX */
	    "<CET-1",               /* unterminated */
	    "<C T>-1",
	    "CET+25", /* offsets out of range */
	    "CET-24:60",
	    "CET-1:00:60",
	    "CET-100",
	    "CET-1CEST-25",
	    "CET-1CEST,M13.1.0,M10.5.0", /* month 13 */
	    "CET-1CEST,M0.1.0,M10.5.0",
	    "CET-1CEST,M3.6.0,M10.5.0", /* week 6 */
	    "CET-1CEST,M3.0.0,M10.5.0",
	    "CET-1CEST,M3.5.7,M10.5.0", /* day 7 */
	    "CET-1CEST,M3.5,M10.5.0",
	    "CET-1CEST,M3.5.0", /* missing the end */
	    "CET-1CEST,M3.5.0,",
	    "CET-1CEST,",
	    "CET-1CEST,M3.5.0/168,M10.5.0", /* time out of range */
	    "CET-1CEST,M3.5.0/-168,M10.5.0",
	    "CET-1CEST,M3.5.0/2:60,M10.5.0",
	    "CET-1CEST,J0,J365", /* J1..J365 */
	    "CET-1CEST,J366,J365",
	    "CET-1CEST,366,300",           /* n 0..365 */
	    "CET-1CEST,M3.5.0,M10.5.0/3x", /* trailing */
	    "CET-1CEST,M3.5.0,M10.5.0,M11.1.0",
	    "CET-1,M3.5.0,M10.5.0", /* a rule without a DST name */
	    "CET-1 ",
	    ":Europe/Berlin",
	    "Europe/Berlin",
	    "CET-1CEST,X3.5.0,M10.5.0",
	    "CET-1:",
	    "CET--1",
	    /* 64 bytes */
	    "<ABCDEFGHIJKLMNO>-1<PQRSTUVWXYZABCD>-2,M3.5.0/2,M10.5.0/3:00:000",
	    "<ABCDEFGHIJKLMNO>-1<PQRSTUVWXYZABCD>-2,M3.5.0/2,M10.5.0/03:00:00",
	};
	struct vouch_tz tz;

	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(bad); i++) {
		memset(&tz, 0x5a, sizeof(tz));
		if (vouch_tz_parse(bad[i], &tz) != VOUCH_ERR_TZ)
			fail_msg("accepted or wrong error: \"%s\"", bad[i]);
		assert_int_equal(tz.std_offset, 0); /* out cleared */
	}
	assert_int_equal(vouch_tz_parse(NULL, &tz), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_tz_parse("UTC0", NULL), VOUCH_ERR_INVALID);
}

static void expect_local(const struct vouch_tz *tz, int64_t utc, int year, int month, int mday,
                         int wday, int hh, int mm, int offset, bool dst)
{
	struct vouch_tz_tm tm;

	assert_int_equal(vouch_tz_local(tz, utc, &tm), VOUCH_OK);
	assert_int_equal(tm.year, year);
	assert_int_equal(tm.month, month);
	assert_int_equal(tm.mday, mday);
	assert_int_equal(tm.wday, wday);
	assert_int_equal(tm.minute_of_day, hh * 60 + mm);
	assert_int_equal(tm.offset, offset);
	assert_int_equal(tm.is_dst, dst);
}

static void test_local_known(void **state)
{
	struct vouch_tz tz;
	struct vouch_tz_tm tm;

	(void)state;
	assert_int_equal(vouch_tz_parse("CET-1CEST,M3.5.0,M10.5.0/3", &tz), VOUCH_OK);
	/* 2026-03-29 01:00Z: 02:00 CET becomes 03:00 CEST (Sunday = 6). */
	expect_local(&tz, 1774745999, 2026, 3, 29, 6, 1, 59, 3600, false);
	expect_local(&tz, 1774746000, 2026, 3, 29, 6, 3, 0, 7200, true);
	/* 2026-10-25 01:00Z: 03:00 CEST becomes 02:00 CET. */
	expect_local(&tz, 1792889999, 2026, 10, 25, 6, 2, 59, 7200, true);
	expect_local(&tz, 1792890000, 2026, 10, 25, 6, 2, 0, 3600, false);
	/* The epoch was a Thursday (3). */
	expect_local(&tz, 0, 1970, 1, 1, 3, 1, 0, 3600, false);

	/* RFC 8536: "EST5EDT,0/0,J365/25" is DST all year, including the hours around New Year
	 * (glibc, which looks at the UTC year only, has EST there for five hours). */
	assert_int_equal(vouch_tz_parse("EST5EDT,0/0,J365/25", &tz), VOUCH_OK);
	for (int64_t t = SCAN_FROM; t < SCAN_TO; t += 1800) {
		assert_int_equal(vouch_tz_local(&tz, t, &tm), VOUCH_OK);
		assert_true(tm.is_dst);
		assert_int_equal(tm.offset, -14400);
		assert_string_equal(tm.abbr, "EDT");
	}

	/* A transition a week past New Year belongs to the previous year's rule. */
	assert_int_equal(vouch_tz_parse("AAA0BBB,M12.5.0/167,M6.1.0", &tz), VOUCH_OK);
	/* 2025's last Sunday in December is the 28th; 167 h later is 2026-01-03 23:00 AAA. */
	expect_local(&tz, 1767481199, 2026, 1, 3, 5, 22, 59, 0, false);
	expect_local(&tz, 1767481200, 2026, 1, 4, 6, 0, 0, 3600, true);

	/* The ends of the range. */
	assert_int_equal(vouch_tz_parse("UTC0", &tz), VOUCH_OK);
	expect_local(&tz, UTC_MIN, -9999, 1, 1, 0, 0, 0, 0, false);
	expect_local(&tz, UTC_END - 1, 9999, 12, 31, 4, 23, 59, 0, false);
	assert_int_equal(vouch_tz_local(&tz, UTC_MIN - 1, &tm), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_tz_local(&tz, UTC_END, &tm), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_tz_local(&tz, INT64_MIN, &tm), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_tz_local(&tz, INT64_MAX, &tm), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_tz_local(NULL, 0, &tm), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_tz_local(&tz, 0, NULL), VOUCH_ERR_INVALID);

	/* A hand-made struct with impossible dates is refused, not read out of bounds. */
	memset(&tz, 0, sizeof(tz));
	tz.has_dst = true;
	assert_int_equal(vouch_tz_local(&tz, 0, &tm), VOUCH_ERR_INVALID);
	/* Far from 2026 with DST: still evaluates. */
	assert_int_equal(vouch_tz_parse("CET-1CEST,M3.5.0,M10.5.0/3", &tz), VOUCH_OK);
	assert_int_equal(vouch_tz_local(&tz, UTC_MIN, &tm), VOUCH_OK);
	assert_int_equal(tm.year, -9999);
	assert_int_equal(vouch_tz_local(&tz, UTC_END - 1, &tm), VOUCH_OK);
	assert_int_equal(tm.year, 10000);
}

/* ---- TZif footers ---- */

static char tmpdir[64];

static void write_file(const char *rel, const void *p, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* A minimal TZif file: one type and "UTC\0", then the v2 block, then footer (may be NULL: no
 * v2 part at all, a version 1 file). */
static size_t make_tzif(uint8_t *out, char version, const char *footer)
{
	size_t n = 0;

	for (int part = 0; part < (footer ? 2 : 1); part++) {
		memset(out + n, 0, 44);
		memcpy(out + n, "TZif", 4);
		out[n + 4] = (uint8_t)version;
		out[n + 39] = 1; /* typecnt */
		out[n + 43] = 4; /* charcnt */
		n += 44;
		memset(out + n, 0, 6);
		n += 6;
		memcpy(out + n, "UTC", 4);
		n += 4;
	}
	if (footer != NULL) {
		size_t len = strlen(footer);

		memcpy(out + n, footer, len);
		n += len;
	}
	return n;
}

static void test_rule_of_zone(void **state)
{
	char rule[VOUCH_TZ_RULE_MAX + 1];
	uint8_t tzif[256];
	size_t n;
	char path[128];

	(void)state;
	assert_int_equal(vouch_tz_rule_of_zone(NULL, "Europe/Berlin", rule, sizeof(rule)),
	                 VOUCH_OK);
	assert_string_equal(rule, "CET-1CEST,M3.5.0,M10.5.0/3");
	assert_int_equal(
	    vouch_tz_rule_of_zone("/usr/share/zoneinfo", "Asia/Kolkata", rule, sizeof(rule)),
	    VOUCH_OK);
	assert_string_equal(rule, "IST-5:30");
	assert_int_equal(vouch_tz_rule_of_zone(NULL, "America/Sao_Paulo", rule, sizeof(rule)),
	                 VOUCH_OK);
	assert_string_equal(rule, "<-03>3");
	assert_int_equal(vouch_tz_rule_of_zone(NULL, "Etc/GMT+5", rule, sizeof(rule)), VOUCH_OK);
	assert_string_equal(rule, "<-05>5");
	/* Too small for the rule and its NUL. */
	assert_int_equal(vouch_tz_rule_of_zone(NULL, "Europe/Berlin", rule, 26), VOUCH_ERR_BUFFER);
	assert_int_equal(vouch_tz_rule_of_zone(NULL, "Europe/Berlin", rule, 27), VOUCH_OK);

	/* Names that could leave the zoneinfo directory, or hold other characters. */
	static const char *bad_names[] = {
	    "",
	    "/etc/passwd",
	    "../../etc/passwd",
	    "Europe/../../etc/passwd",
	    "Europe/..",
	    "..",
	    "Europe/Ber lin",
	    "Europe/Berlin\n",
	    "Europe\\Berlin",
	    "Europe/Berlin;",
	    "Europe/Berlin.tzif",
	};
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(bad_names); i++) {
		strcpy(rule, "x");
		if (vouch_tz_rule_of_zone(NULL, bad_names[i], rule, sizeof(rule)) !=
		    VOUCH_ERR_INVALID)
			fail_msg("zone name accepted: \"%s\"", bad_names[i]);
		assert_string_equal(rule, "");
	}
	assert_int_equal(vouch_tz_rule_of_zone(NULL, "Europe/Nowhere", rule, sizeof(rule)),
	                 VOUCH_ERR_IO);
	assert_int_equal(vouch_tz_rule_of_zone(NULL, "Europe", rule, sizeof(rule)), VOUCH_ERR_IO);
	assert_int_equal(vouch_tz_rule_of_zone(NULL, NULL, rule, sizeof(rule)), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_tz_rule_of_zone(NULL, "UTC", NULL, 10), VOUCH_ERR_INVALID);

	/* Hand-made files in a directory of our own. */
	strcpy(tmpdir, "/tmp/vouch-test-tz.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/Test", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);

	n = make_tzif(tzif, '2', "\nAAA-2BBB,M3.5.0,M10.5.0/3\n");
	write_file("Test/Good", tzif, n);
	assert_int_equal(vouch_tz_rule_of_zone(tmpdir, "Test/Good", rule, sizeof(rule)), VOUCH_OK);
	assert_string_equal(rule, "AAA-2BBB,M3.5.0,M10.5.0/3");
	n = make_tzif(tzif, '4', "\n<+03>-3\n");
	write_file("Test/V4", tzif, n);
	assert_int_equal(vouch_tz_rule_of_zone(tmpdir, "Test/V4", rule, sizeof(rule)), VOUCH_OK);
	assert_string_equal(rule, "<+03>-3");

	static const struct {
		const char *name;
		char version;
		const char *footer;
	} bad_files[] = {
	    {"Test/Empty_footer", '2', "\n\n"}, /* no POSIX form of the zone */
	    {"Test/V1", '\0', NULL},            /* version 1: no footer */
	    {"Test/Bad_rule", '3', "\nnot a rule\n"},
	    {"Test/No_newline", '2', "\nUTC0"},
	    {"Test/Extra", '2', "\nUTC0\nmore\n"},
	    {"Test/No_leading_nl", '2', "UTC0\n"},
	    {"Test/Truncated", '2', ""},
	};
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(bad_files); i++) {
		n = make_tzif(tzif, bad_files[i].version, bad_files[i].footer);
		write_file(bad_files[i].name, tzif, n);
		if (vouch_tz_rule_of_zone(tmpdir, bad_files[i].name, rule, sizeof(rule)) !=
		    VOUCH_ERR_TZ)
			fail_msg("footer accepted: %s", bad_files[i].name);
	}
	/* Declared counts far beyond the file. */
	n = make_tzif(tzif, '2', "\nUTC0\n");
	tzif[32] = 0x7f;
	write_file("Test/Huge_counts", tzif, n);
	assert_int_equal(vouch_tz_rule_of_zone(tmpdir, "Test/Huge_counts", rule, sizeof(rule)),
	                 VOUCH_ERR_TZ);
	/* Every truncation of a good file is refused cleanly. */
	n = make_tzif(tzif, '2', "\nUTC0\n");
	for (size_t len = 0; len < n; len++) {
		write_file("Test/Cut", tzif, len);
		assert_int_equal(vouch_tz_rule_of_zone(tmpdir, "Test/Cut", rule, sizeof(rule)),
		                 VOUCH_ERR_TZ);
	}
	write_file("Test/Cut", tzif, n);
	assert_int_equal(vouch_tz_rule_of_zone(tmpdir, "Test/Cut", rule, sizeof(rule)), VOUCH_OK);

	snprintf(path, sizeof(path), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_fields),   cmocka_unit_test(test_parse_refusals),
	    cmocka_unit_test(test_local_known),    cmocka_unit_test(test_rules_vs_glibc),
	    cmocka_unit_test(test_zones_vs_glibc), cmocka_unit_test(test_calendar_range),
	    cmocka_unit_test(test_compare_report), cmocka_unit_test(test_rule_of_zone),
	};

	return cmocka_run_group_tests_name("tz", tests, NULL, NULL);
}
