/*
 * The plant's role matrix (examples/plant-policy/policy.json, its README's table) as a decision
 * table: the example is loaded into a fresh store with vouch_dir_load(), a person is created for
 * each role (the externals with a sponsor and a hard window, trainings with expiries), each is
 * compiled, and every row below — role x resource x action at a local time in Europe/Berlin, with
 * the resource's live readings and the person's zone — must give the decision and reason the
 * matrix says. The rows cover every role against every resource group and action class, inside
 * and outside windows (weekends, nights, both sides of the DST changes), readings on both sides
 * of their thresholds or missing, expired and missing trainings, and externals before, during
 * and after their window.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "directory.h"
#include "store.h"
#include "testutil.h"
#include "vouch/policy.h"
#include "vouch/tz.h"

#define POLICY_FILE VOUCH_VECTORS_DIR "/../../examples/plant-policy/policy.json"
#define NOW         ((int64_t)1800000000)
#define MAX_READ    4

/* The people: one per role (two operators: one trained, one not). */
static const struct {
	const char *name;
	const char *body;
} people[] = {
    {"maria", "{\"display_name\":\"Maria (plant manager)\",\"roles\":[\"plant-manager\"]}"},
    {"carl", "{\"display_name\":\"Carl (CFO)\",\"roles\":[\"cfo\"]}"},
    {"olaf", "{\"display_name\":\"Olaf (operator)\",\"roles\":[\"operator\"],\"trainings\":{"
             "\"machine-safety\":\"2027-06-01T00:00:00Z\",\"forklift\":\"2027-02-01T00:00:00Z\"}}"},
    {"otto", "{\"display_name\":\"Otto (operator, not yet trained)\",\"roles\":[\"operator\"]}"},
    {"sven", "{\"display_name\":\"Sven (service/IT)\",\"roles\":[\"service\"]}"},
    {"quinn", "{\"display_name\":\"Quinn (quality)\",\"roles\":[\"quality\"],\"trainings\":{"
              "\"chemicals\":\"2027-12-31T00:00:00Z\",\"gmp\":\"2027-12-31T00:00:00Z\"}}"},
    /* Mon 2027-01-18 08:00 to Sat 2027-01-23 01:00, local time */
    {"aude", "{\"display_name\":\"Aude (auditor)\",\"kind\":\"external\",\"roles\":[\"auditor\"],"
             "\"external\":{\"company\":\"Audit & Co\",\"sponsor\":\"carl\",\"valid_from\":"
             "\"2027-01-18T07:00:00Z\",\"valid_until\":\"2027-01-23T00:00:00Z\"}}"},
    {"cleo", "{\"display_name\":\"Cleo (cleaning)\",\"kind\":\"external\",\"roles\":[\"cleaning\"],"
             "\"external\":{\"company\":\"CleanCo\",\"sponsor\":\"maria\",\"valid_from\":"
             "\"2027-01-01T00:00:00Z\",\"valid_until\":\"2027-06-30T00:00:00Z\"}}"},
    {"ada", "{\"display_name\":\"Ada (site admin)\",\"roles\":[\"site-admin\"]}"},
};

/*
 * One decision. when: local time in Europe/Berlin, "Day MM-DD HH:MM" in 2027 or "Day
 * YYYY-MM-DD HH:MM" (the day name is checked); zone: where the person is (NULL: unknown); expect:
 * the reason name ("permit" or why not); readings: the resource's live readings "name=value ..."
 * (absent: none).
 */
struct row {
	const char *user;
	const char *resource;
	const char *action;
	const char *when;
	const char *zone;
	const char *expect;
	const char *readings; /* last: most rows leave it out */
};

#define L1  "plant/hall-a/line-1"
#define HA  "plant/hall-a"
#define HB  "plant/hall-b"
#define LAB "plant/lab"
#define OFF "plant/office"

/* clang-format off */
static const struct row rows[] = {
    /* plant manager: every staff door at any time, all information, stops machines */
    {"maria", "door-main",         "enter",      "Mon 01-18 07:00", NULL, "permit", NULL},
    {"maria", "door-office",       "enter",      "Sun 01-24 03:00", NULL, "permit", NULL},
    {"maria", "door-lab",          "enter",      "Sat 01-23 12:00", NULL, "permit", NULL},
    {"maria", "door-storage",      "enter",      "Wed 01-20 23:30", NULL, "permit", NULL},
    {"maria", "door-server-room",  "enter",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"maria", "door-main",         "open",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"maria", "financials",        "read",       "Mon 01-18 10:00", NULL, "permit", NULL},
    {"maria", "financials",        "write",      "Sun 01-24 23:00", NULL, "permit", NULL},
    {"maria", "audit-log",         "read",       "Mon 01-18 10:00", NULL, "permit", NULL},
    {"maria", "quality-reports",   "write",      "Tue 01-19 10:00", NULL, "permit", NULL},
    {"maria", "financials",        "audit",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"maria", "press-1",           "stop",       "Sun 01-24 03:00", NULL, "permit", NULL},
    {"maria", "forklift-1",        "stop",       "Mon 01-18 10:00", NULL, "permit", NULL},
    {"maria", "press-1",           "operate",    "Mon 01-18 10:00", L1,   "no-grant", NULL},
    {"maria", "cnc-2",             "service",    "Mon 01-18 10:00", L1,   "no-grant", "speed=0"},
    {"maria", "temp-hall-a",       "read",       "Mon 01-18 10:00", NULL, "permit", NULL},
    {"maria", "temp-hall-a",       "configure",  "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"maria", "locker-tools",      "open",       "Sat 01-23 10:00", NULL, "permit", NULL},
    {"maria", "spare-parts",       "open",       "Mon 01-18 10:00", NULL, "permit", NULL},
    {"maria", "cabinet-chemicals", "open",       "Mon 01-18 10:00", LAB,  "no-grant", NULL},
    {"maria", "edge-rack-1",       "configure",  "Mon 01-18 10:00", NULL, "no-grant", NULL},

    /* CFO: office on working days 07-20, financials (written only from the office) */
    {"carl",  "door-main",         "enter",      "Mon 01-18 07:00", NULL, "permit", NULL},
    {"carl",  "door-main",         "enter",      "Mon 01-18 06:59", NULL, "time", NULL},
    {"carl",  "door-office",       "enter",      "Fri 01-22 19:59", NULL, "permit", NULL},
    {"carl",  "door-office",       "enter",      "Fri 01-22 20:00", NULL, "time", NULL},
    {"carl",  "door-office",       "enter",      "Sat 01-23 10:00", NULL, "time", NULL},
    {"carl",  "door-hall-a",       "enter",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"carl",  "door-server-room",  "enter",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"carl",  "financials",        "read",       "Sun 01-24 22:00", NULL, "permit", NULL},
    {"carl",  "financials",        "write",      "Mon 01-18 10:00", OFF,  "permit", NULL},
    {"carl",  "financials",        "write",      "Mon 01-18 10:00", NULL, "zone", NULL},
    {"carl",  "financials",        "write",      "Mon 01-18 10:00", HA,   "zone", NULL},
    {"carl",  "financials",        "write",      "Sat 01-23 10:00", OFF,  "time", NULL},
    {"carl",  "financials",        "write",      "Mon 01-18 21:00", OFF,  "time", NULL},
    {"carl",  "financials",        "audit",      "Mon 01-18 10:00", OFF,  "no-grant", NULL},
    {"carl",  "production-data",   "read",       "Mon 01-18 10:00", NULL, "permit", NULL},
    {"carl",  "production-data",   "write",      "Mon 01-18 10:00", OFF,  "no-grant", NULL},
    {"carl",  "quality-reports",   "read",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"carl",  "press-1",           "stop",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"carl",  "spare-parts",       "open",       "Mon 01-18 10:00", NULL, "no-grant", NULL},

    /* operator: shifts Mon-Fri 05:30-22:30 and Sat 05:30-14:30 */
    {"olaf",  "door-main",         "enter",      "Mon 01-18 05:30", NULL, "permit", NULL},
    {"olaf",  "door-main",         "enter",      "Mon 01-18 05:29", NULL, "time", NULL},
    {"olaf",  "door-hall-a",       "enter",      "Mon 01-18 22:29", NULL, "permit", NULL},
    {"olaf",  "door-hall-a",       "enter",      "Mon 01-18 22:30", NULL, "time", NULL},
    {"olaf",  "door-hall-b",       "enter",      "Sat 01-23 14:00", NULL, "permit", NULL},
    {"olaf",  "door-hall-b",       "enter",      "Sat 01-23 15:00", NULL, "time", NULL},
    {"olaf",  "door-storage",      "enter",      "Sun 01-24 10:00", NULL, "time", NULL},
    {"olaf",  "door-storage",      "enter",      "Thu 01-21 03:00", NULL, "time", NULL},
    {"olaf",  "door-office",       "enter",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"olaf",  "door-lab",          "enter",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"olaf",  "door-server-room",  "enter",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"olaf",  "press-1",           "operate",    "Mon 01-18 09:00", L1,   "permit", NULL},
    {"olaf",  "press-1",           "operate",    "Mon 01-18 09:00", HA,   "zone", NULL},
    {"olaf",  "press-1",           "operate",    "Mon 01-18 09:00", NULL, "zone", NULL},
    {"olaf",  "press-1",           "operate",    "Mon 01-18 09:00", OFF,  "zone", NULL},
    {"olaf",  "press-1",           "operate",    "Sun 01-24 09:00", L1,   "time", NULL},
    {"olaf",  "press-1",           "operate",    "Mon 01-18 23:00", L1,   "time", NULL},
    {"olaf",  "press-1",           "operate",    "Mon 06-14 09:00", L1,   "training", NULL},
    {"olaf",  "press-1",           "operate",    "Mon 05-31 09:00", L1,   "permit", NULL},
    {"olaf",  "cnc-2",             "operate",    "Sat 01-23 06:00", L1,   "permit", NULL},
    {"olaf",  "robot-3",           "operate",    "Tue 01-19 14:00", HB,   "permit", NULL},
    {"olaf",  "robot-3",           "operate",    "Tue 01-19 14:00", HA,   "zone", NULL},
    {"olaf",  "forklift-1",        "operate",    "Mon 01-18 09:00", NULL, "permit", NULL},
    {"olaf",  "forklift-1",        "operate",    "Mon 02-01 09:00", NULL, "training", NULL},
    {"olaf",  "forklift-1",        "operate",    "Sun 01-24 09:00", NULL, "time", NULL},
    {"olaf",  "press-1",           "stop",       "Sun 01-24 03:00", NULL, "permit", NULL},
    {"olaf",  "robot-3",           "stop",       "Mon 06-14 09:00", NULL, "permit", "speed=40"},
    {"olaf", "press-1", "service", "Mon 01-18 09:00", L1, "no-grant", "speed=0 temperature=20"},
    {"olaf",  "press-1",           "configure",  "Mon 01-18 09:00", L1,   "no-grant", NULL},
    {"olaf",  "cnc-2",             "update",     "Mon 01-18 09:00", L1,   "no-grant", "speed=0"},
    {"olaf",  "temp-hall-a",       "read",       "Sun 01-24 09:00", NULL, "permit", NULL},
    {"olaf",  "vib-press-1",       "read",       "Mon 01-18 09:00", NULL, "permit", NULL},
    {"olaf",  "temp-hall-a",       "configure",  "Mon 01-18 09:00", NULL, "no-grant", NULL},
    {"olaf",  "production-data",   "read",       "Mon 01-18 10:00", NULL, "permit", NULL},
    {"olaf",  "production-data",   "read",       "Sun 01-24 10:00", NULL, "time", NULL},
    {"olaf",  "production-data",   "write",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"olaf",  "financials",        "read",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"olaf",  "locker-tools",      "open",       "Sun 01-24 03:00", NULL, "permit", NULL},
    {"olaf",  "cabinet-chemicals", "open",       "Mon 01-18 10:00", LAB,  "no-grant", NULL},
    {"olaf",  "spare-parts",       "open",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"olaf",  "gw-hall-a",         "configure",  "Mon 01-18 10:00", NULL, "no-grant", NULL},
    /* shifts across the DST changes: 2027-03-28 and 2027-10-31 */
    {"olaf",  "door-main",         "enter",      "Fri 03-26 22:29", NULL, "permit", NULL},
    {"olaf",  "door-main",         "enter",      "Sat 03-27 14:29", NULL, "permit", NULL},
    {"olaf",  "door-main",         "enter",      "Sun 03-28 10:00", NULL, "time", NULL},
    {"olaf",  "door-main",         "enter",      "Mon 03-29 05:29", NULL, "time", NULL},
    {"olaf",  "door-main",         "enter",      "Mon 03-29 05:30", NULL, "permit", NULL},
    {"olaf",  "door-main",         "enter",      "Fri 10-29 22:29", NULL, "permit", NULL},
    {"olaf",  "door-main",         "enter",      "Fri 10-29 22:30", NULL, "time", NULL},
    {"olaf",  "door-main",         "enter",      "Mon 11-01 05:29", NULL, "time", NULL},
    {"olaf",  "door-main",         "enter",      "Mon 11-01 05:30", NULL, "permit", NULL},

    /* an operator without trainings: enters, stops, never operates */
    {"otto",  "press-1",           "operate",    "Mon 01-18 09:00", L1,   "training", NULL},
    {"otto",  "robot-3",           "operate",    "Mon 01-18 09:00", HB,   "training", NULL},
    {"otto",  "forklift-1",        "operate",    "Mon 01-18 09:00", NULL, "training", NULL},
    {"otto",  "press-1",           "stop",       "Mon 01-18 09:00", NULL, "permit", NULL},
    {"otto",  "door-hall-a",       "enter",      "Mon 01-18 09:00", NULL, "permit", NULL},

    /* service/IT: every door at any time; machine functions only when stopped (and cooled) */
    {"sven",  "door-server-room",  "enter",      "Sun 01-24 03:00", NULL, "permit", NULL},
    {"sven",  "door-lab",          "enter",      "Sat 01-23 23:00", NULL, "permit", NULL},
    {"sven",  "door-office",       "enter",      "Mon 01-18 10:00", NULL, "permit", NULL},
    {"sven",  "cnc-2",             "service",    "Mon 01-18 10:00", L1,   "permit", "speed=0"},
    {"sven",  "cnc-2",             "service",    "Mon 01-18 10:00", L1,   "reading", "speed=120"},
    {"sven",  "cnc-2",             "service",    "Mon 01-18 10:00", L1,   "reading-missing", NULL},
    {"sven", "cnc-2", "service", "Mon 01-18 10:00", L1, "reading-missing", "temperature=20"},
    {"sven",  "cnc-2",             "configure",  "Sun 01-24 03:00", NULL, "permit", "speed=0"},
    {"sven",  "cnc-2",             "update",     "Mon 01-18 10:00", NULL, "permit", "speed=-1"},
    {"sven",  "robot-3",           "update",     "Mon 01-18 10:00", NULL, "permit", "speed=0"},
    {"sven",  "robot-3",           "update",     "Mon 01-18 10:00", NULL, "reading", "speed=0.5"},
    {"sven", "press-1", "service", "Mon 01-18 10:00", L1, "permit", "speed=0 temperature=45"},
    {"sven", "press-1", "service", "Mon 01-18 10:00", L1, "reading", "speed=0 temperature=60"},
    {"sven", "press-1", "service", "Mon 01-18 10:00", L1, "reading", "speed=0 temperature=85"},
    {"sven", "press-1", "service", "Mon 01-18 10:00", L1, "reading", "speed=30 temperature=45"},
    {"sven", "press-1", "service", "Mon 01-18 10:00", L1, "reading-missing", "speed=0"},
    {"sven", "press-1", "service", "Mon 01-18 10:00", L1, "reading-missing", "temperature=20"},
    {"sven", "press-1", "configure", "Mon 01-18 10:00", L1, "permit", "speed=0 temperature=59.9"},
    {"sven", "press-1", "update", "Sat 01-23 02:00", NULL, "permit", "temperature=20 speed=0"},
    {"sven", "press-1", "update", "Sat 01-23 02:00", NULL, "reading", "temperature=61 speed=0"},
    {"sven",  "press-1",           "operate",    "Mon 01-18 10:00", L1,   "no-grant", "speed=0"},
    {"sven",  "press-1",           "commission", "Mon 01-18 10:00", L1,   "no-grant", "speed=0"},
    {"sven", "press-1", "stop", "Mon 01-18 10:00", NULL, "permit", "speed=50 temperature=90"},
    {"sven",  "forklift-1",        "service",    "Mon 01-18 10:00", NULL, "permit", "speed=0"},
    {"sven",  "forklift-1",        "service",    "Mon 01-18 10:00", NULL, "reading", "speed=3"},
    {"sven",  "forklift-1",        "configure",  "Mon 01-18 10:00", NULL, "no-grant", "speed=0"},
    {"sven",  "forklift-1",        "operate",    "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"sven",  "vib-press-1",       "commission", "Mon 01-18 10:00", NULL, "permit", NULL},
    {"sven",  "temp-hall-a",       "update",     "Sun 01-24 04:00", NULL, "permit", NULL},
    {"sven",  "temp-hall-a",       "read",       "Mon 01-18 10:00", NULL, "permit", NULL},
    {"sven",  "gw-hall-a",         "update",     "Mon 01-18 10:00", NULL, "permit", NULL},
    {"sven",  "edge-rack-1",       "configure",  "Sun 01-24 03:00", NULL, "permit", NULL},
    {"sven",  "gw-hall-a",         "read",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"sven",  "production-data",   "read",       "Mon 01-18 10:00", NULL, "permit", NULL},
    {"sven",  "financials",        "read",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"sven",  "audit-log",         "read",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"sven",  "spare-parts",       "open",       "Sun 01-24 03:00", NULL, "permit", NULL},
    {"sven",  "locker-tools",      "open",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"sven",  "cabinet-chemicals", "open",       "Mon 01-18 10:00", LAB,  "no-grant", NULL},

    /* quality: lab and halls on working days 06-18, quality data, chemicals with training */
    {"quinn", "door-lab",          "enter",      "Mon 01-18 06:00", NULL, "permit", NULL},
    {"quinn", "door-lab",          "enter",      "Mon 01-18 18:00", NULL, "time", NULL},
    {"quinn", "door-lab",          "enter",      "Sat 01-23 10:00", NULL, "time", NULL},
    {"quinn", "door-main",         "enter",      "Tue 01-19 05:59", NULL, "time", NULL},
    {"quinn", "door-hall-b",       "enter",      "Wed 01-20 12:00", NULL, "permit", NULL},
    {"quinn", "door-hall-a",       "enter",      "Thu 01-21 17:59", NULL, "permit", NULL},
    {"quinn", "door-office",       "enter",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"quinn", "door-storage",      "enter",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"quinn", "door-server-room",  "enter",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"quinn", "quality-reports",   "write",      "Sun 01-24 22:00", NULL, "permit", NULL},
    {"quinn", "quality-reports",   "read",       "Mon 01-18 10:00", NULL, "permit", NULL},
    {"quinn", "production-data",   "read",       "Mon 01-18 10:00", NULL, "permit", NULL},
    {"quinn", "production-data",   "write",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"quinn", "financials",        "read",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"quinn", "vib-press-1",       "read",       "Mon 01-18 10:00", NULL, "permit", NULL},
    {"quinn", "vib-press-1",       "configure",  "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"quinn", "samples-store",     "open",       "Thu 01-21 17:59", LAB,  "permit", NULL},
    {"quinn", "samples-store",     "open",       "Thu 01-21 18:00", LAB,  "time", NULL},
    {"quinn", "cabinet-chemicals", "open",       "Mon 01-18 10:00", LAB,  "permit", NULL},
    {"quinn", "cabinet-chemicals", "open",       "Sun 01-24 10:00", LAB,  "permit", NULL},
    {"quinn", "cabinet-chemicals", "open",       "Mon 01-18 10:00", HA,   "zone", NULL},
    {"quinn", "cabinet-chemicals", "open",       "Mon 2028-01-10 10:00",LAB,  "training", NULL},
    {"quinn", "press-1",           "operate",    "Mon 01-18 10:00", L1,   "no-grant", NULL},
    {"quinn", "press-1",           "stop",       "Mon 01-18 10:00", NULL, "no-grant", NULL},

    /* auditor (external, Mon 18 08:00 - Sat 23 01:00): read-only information, doors 08-17 */
    {"aude",  "financials",        "read",       "Mon 01-18 10:00", NULL, "permit", NULL},
    {"aude",  "audit-log",         "audit",      "Mon 01-18 10:00", NULL, "permit", NULL},
    {"aude",  "quality-reports",   "read",       "Fri 01-22 23:00", NULL, "permit", NULL},
    {"aude",  "production-data",   "audit",      "Wed 01-20 03:00", NULL, "permit", NULL},
    {"aude",  "financials",        "write",      "Mon 01-18 10:00", OFF,  "deny-rule", NULL},
    {"aude",  "production-data",   "write",      "Tue 01-19 10:00", OFF,  "deny-rule", NULL},
    {"aude",  "financials",        "read",       "Mon 01-18 07:59", NULL, "not-yet-valid", NULL},
    {"aude",  "financials",        "read",       "Mon 01-11 10:00", NULL, "not-yet-valid", NULL},
    {"aude",  "financials",        "read",       "Sat 01-23 00:59", NULL, "permit", NULL},
    {"aude",  "financials",        "read",       "Sat 01-23 01:00", NULL, "expired", NULL},
    {"aude",  "financials",        "read",       "Sun 01-24 10:00", NULL, "expired", NULL},
    {"aude",  "financials",        "write",      "Sun 01-24 10:00", OFF,  "no-grant", NULL},
    {"aude",  "door-office",       "enter",      "Mon 01-18 08:00", NULL, "permit", NULL},
    {"aude",  "door-office",       "enter",      "Mon 01-18 17:00", NULL, "time", NULL},
    {"aude",  "door-hall-a",       "enter",      "Wed 01-20 16:59", NULL, "permit", NULL},
    {"aude",  "door-hall-b",       "enter",      "Tue 01-19 07:59", NULL, "time", NULL},
    {"aude",  "door-main",         "enter",      "Mon 01-18 07:59", NULL, "not-yet-valid", NULL},
    {"aude",  "door-main",         "enter",      "Sat 01-23 10:00", NULL, "expired", NULL},
    {"aude",  "door-main",         "enter",      "Mon 01-25 10:00", NULL, "expired", NULL},
    {"aude",  "door-lab",          "enter",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"aude",  "door-server-room",  "enter",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"aude",  "press-1",           "operate",    "Mon 01-18 10:00", L1,   "no-grant", NULL},
    {"aude",  "press-1",           "stop",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"aude",  "temp-hall-a",       "read",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"aude",  "samples-store",     "open",       "Mon 01-18 10:00", LAB,  "no-grant", NULL},

    /* cleaning (external, 2027-01-01 - 2027-06-30 UTC): office and halls 18-22 daily */
    {"cleo",  "door-office",       "enter",      "Mon 01-18 18:00", NULL, "permit", NULL},
    {"cleo",  "door-office",       "enter",      "Mon 01-18 17:59", NULL, "time", NULL},
    {"cleo",  "door-office",       "enter",      "Mon 01-18 22:00", NULL, "time", NULL},
    {"cleo",  "door-hall-a",       "enter",      "Sun 01-24 21:59", NULL, "permit", NULL},
    {"cleo",  "door-hall-b",       "enter",      "Sat 01-23 19:00", NULL, "permit", NULL},
    {"cleo",  "door-main",         "enter",      "Mon 01-18 23:00", NULL, "time", NULL},
    {"cleo",  "door-main",         "enter",      "Tue 01-19 10:00", NULL, "time", NULL},
    {"cleo",  "door-lab",          "enter",      "Mon 01-18 19:00", NULL, "no-grant", NULL},
    {"cleo",  "door-storage",      "enter",      "Mon 01-18 19:00", NULL, "no-grant", NULL},
    {"cleo",  "door-server-room",  "enter",      "Mon 01-18 19:00", NULL, "deny-rule", NULL},
    {"cleo",  "door-server-room",  "open",       "Mon 01-18 19:00", NULL, "deny-rule", NULL},
    {"cleo",  "edge-rack-1",       "configure",  "Mon 01-18 19:00", NULL, "deny-rule", NULL},
    {"cleo",  "audit-log",         "read",       "Mon 01-18 19:00", NULL, "deny-rule", NULL},
    {"cleo",  "press-1",           "operate",    "Mon 01-18 19:00", L1,   "deny-rule", "speed=0"},
    {"cleo",  "robot-3",           "service",    "Mon 01-18 19:00", HB,   "deny-rule", "speed=0"},
    {"cleo",  "cnc-2",             "update",     "Mon 01-18 19:00", L1,   "deny-rule", NULL},
    {"cleo",  "gw-hall-a",         "commission", "Mon 01-18 19:00", HA,   "no-grant", NULL},
    {"cleo",  "press-1",           "stop",       "Mon 01-18 19:00", L1,   "no-grant", NULL},
    {"cleo",  "cabinet-chemicals", "open",       "Mon 01-18 19:00", LAB,  "deny-rule", NULL},
    {"cleo",  "samples-store",     "open",       "Mon 01-18 19:00", LAB,  "no-grant", NULL},
    {"cleo",  "financials",        "read",       "Mon 01-18 19:00", OFF,  "no-grant", NULL},
    {"cleo", "door-office", "enter", "Thu 2026-12-31 19:00", NULL, "not-yet-valid", NULL},
    {"cleo",  "door-office",       "enter",      "Fri 01-01 01:00", NULL, "time", NULL},
    {"cleo",  "door-office",       "enter",      "Thu 07-01 19:00", NULL, "expired", NULL},
    {"cleo",  "door-server-room",  "enter",      "Thu 07-01 19:00", NULL, "no-grant", NULL},
    {"cleo",  "press-1",           "operate",    "Thu 07-01 19:00", L1,   "no-grant", NULL},
    {"cleo",  "door-office",       "enter",      "Sun 03-28 17:59", NULL, "time", NULL},
    {"cleo",  "door-office",       "enter",      "Sun 03-28 18:00", NULL, "permit", NULL},
    {"cleo",  "door-office",       "enter",      "Sat 03-27 21:59", NULL, "permit", NULL},

    /* site admin: administers vouchd, no physical access by that role */
    {"ada",   "door-main",         "enter",      "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"ada",   "financials",        "read",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"ada",   "press-1",           "stop",       "Mon 01-18 10:00", NULL, "no-grant", NULL},
    {"ada",   "edge-rack-1",       "update",     "Mon 01-18 10:00", NULL, "no-grant", NULL},
};
/* clang-format on */

struct person {
	const char *name;
	struct vouch_dir_compiled c;
	struct vouch_policy_view v;
};

struct plant {
	char dir[64];
	struct vouch_store *store;
	json_t *doc;
	struct vouch_tz tz;
	char rule[VOUCH_TZ_RULE_MAX + 1];
	struct person people[VOUCH_ARRAY_LEN(people)];
};

static int setup(void **state)
{
	struct plant *p = calloc(1, sizeof(*p));
	char url[160], err[VOUCH_DIR_ERR_MAX] = "";
	json_error_t jerr;
	json_t *summary = NULL, *body;
	int rc;

	assert_non_null(p);
	snprintf(p->dir, sizeof(p->dir), "/tmp/test_plant.XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(url, sizeof(url), "sqlite:%s/vouch.db", p->dir);
	assert_int_equal(vouch_store_open(url, &p->store), VOUCH_OK);
	p->doc = json_load_file(POLICY_FILE, JSON_REJECT_DUPLICATES, &jerr);
	if (p->doc == NULL)
		fail_msg("%s: %s (line %d)", POLICY_FILE, jerr.text, jerr.line);
	rc = vouch_dir_load(p->store, p->doc, NOW, "admin", &summary, err);
	if (rc != VOUCH_OK)
		fail_msg("policy load: %d %s", rc, err);
	assert_int_equal(json_integer_value(json_object_get(summary, "zones")), 8);
	assert_int_equal(json_integer_value(json_object_get(summary, "trainings")), 4);
	assert_int_equal(json_integer_value(json_object_get(summary, "resources")), 23);
	assert_int_equal(json_integer_value(json_object_get(summary, "roles")), 8);
	json_decref(summary);

	assert_int_equal(vouch_tz_rule_of_zone(NULL, "Europe/Berlin", p->rule, sizeof(p->rule)),
	                 VOUCH_OK);
	assert_int_equal(vouch_tz_parse(p->rule, &p->tz), VOUCH_OK);
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(people); i++) {
		body = json_loads(people[i].body, JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(body);
		rc = vouch_dir_put(p->store, "user", people[i].name, body, VOUCH_STORE_CREATE, NOW,
		                   "admin", NULL, err);
		if (rc != VOUCH_OK)
			fail_msg("user %s: %d %s", people[i].name, rc, err);
		json_decref(body);
	}
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(people); i++) {
		struct person *pe = &p->people[i];

		pe->name = people[i].name;
		rc = vouch_dir_compile_user(p->store, pe->name, p->rule, NOW, &pe->c, err);
		if (rc != VOUCH_OK)
			fail_msg("compile %s: %d %s", pe->name, rc, err);
		assert_int_equal(vouch_policy_view_init(&pe->v, pe->c.perm, pe->c.perm_len),
		                 VOUCH_OK);
	}
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	static const char *const names[] = {"vouch.db", "vouch.db-wal", "vouch.db-shm"};
	struct plant *p = *state;
	char path[192];

	for (size_t i = 0; i < VOUCH_ARRAY_LEN(people); i++)
		vouch_dir_compiled_clear(&p->people[i].c);
	vouch_store_close(p->store);
	json_decref(p->doc);
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", p->dir, names[i]);
		unlink(path);
	}
	rmdir(p->dir);
	free(p);
	return 0;
}

static const struct person *person(const struct plant *p, const char *name)
{
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(people); i++) {
		if (strcmp(p->people[i].name, name) == 0)
			return &p->people[i];
	}
	fail_msg("no person %s in the table", name);
	return NULL;
}

/* "Mon 01-18 09:00" (2027) or "Mon 2028-01-10 09:00", local time, to UTC; the day name must be
 * the date's. */
static int64_t local_time(const struct vouch_tz *tz, const char *when)
{
	static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	char iso[32];
	int64_t naive = 0;
	struct vouch_tz_tm tm;
	const int32_t offsets[2] = {tz->std_offset, tz->dst_offset};
	size_t len = strlen(when);
	unsigned hh, mm;

	if (len == 15)
		snprintf(iso, sizeof(iso), "2027-%.5sT%.5s:00Z", when + 4, when + 10);
	else if (len == 20)
		snprintf(iso, sizeof(iso), "%.10sT%.5s:00Z", when + 4, when + 15);
	else
		fail_msg("bad time %s", when);
	assert_int_equal(vouch_dir_parse_time(iso, &naive), VOUCH_OK);
	assert_int_equal(sscanf(when + len - 5, "%2u:%2u", &hh, &mm), 2);
	for (size_t i = 0; i < 2; i++) {
		int64_t utc = naive - offsets[i];

		assert_int_equal(vouch_tz_local(tz, utc, &tm), VOUCH_OK);
		if (tm.minute_of_day == hh * 60 + mm && tm.offset == offsets[i]) {
			if (strncmp(days[tm.wday], when, 3) != 0)
				fail_msg("%s is a %s", iso, days[tm.wday]);
			return utc;
		}
	}
	fail_msg("%s does not exist in local time", when);
	return 0;
}

/* "speed=0 temperature=45" */
static size_t parse_readings(const char *text, char names[MAX_READ][32],
                             struct vouch_policy_reading *out)
{
	size_t n = 0;
	const char *s = text;

	while (s != NULL && *s != '\0') {
		char value[32];
		int used = 0;

		assert_true(n < MAX_READ);
		assert_int_equal(sscanf(s, "%31[^=]=%31s%n", names[n], value, &used), 2);
		out[n].name = names[n];
		out[n].value = strtod(value, NULL);
		n++;
		s += used;
		while (*s == ' ')
			s++;
	}
	return n;
}

static void test_decision_table(void **state)
{
	struct plant *p = *state;
	const json_t *resources = json_object_get(p->doc, "resources");
	unsigned run = 0, passed = 0;
	char explain[512];

	for (size_t i = 0; i < VOUCH_ARRAY_LEN(rows); i++) {
		const struct row *r = &rows[i];
		const struct person *pe = person(p, r->user);
		const json_t *res = json_object_get(resources, r->resource);
		const char *tags[8];
		char rnames[MAX_READ][32];
		struct vouch_policy_reading readings[MAX_READ];
		struct vouch_policy_resource pr;
		struct vouch_policy_request req;
		struct vouch_policy_decision d;
		const char *got;
		json_t *t;
		size_t k;
		int rc;

		if (res == NULL)
			fail_msg("row %zu: no resource %s in the example", i, r->resource);
		memset(&pr, 0, sizeof(pr));
		pr.id = r->resource;
		pr.type = json_string_value(json_object_get(res, "type"));
		pr.zone = json_string_value(json_object_get(res, "zone"));
		json_array_foreach(json_object_get(res, "tags"), k, t)
		{
			assert_true(k < VOUCH_ARRAY_LEN(tags));
			tags[k] = json_string_value(t);
			pr.n_tags = k + 1;
		}
		pr.tags = pr.n_tags > 0 ? tags : NULL;
		memset(&req, 0, sizeof(req));
		req.resource = &pr;
		assert_int_equal(vouch_policy_action_parse(r->action, &req.action), VOUCH_OK);
		req.now = local_time(&p->tz, r->when);
		req.person_zone = r->zone;
		req.n_readings = parse_readings(r->readings, rnames, readings);
		req.readings = req.n_readings > 0 ? readings : NULL;

		run++;
		rc = vouch_policy_decide(&pe->v, &req, &d);
		assert_int_equal(rc, VOUCH_OK);
		got = vouch_policy_reason_name(d.reason);
		assert_true(d.permit == (d.reason == VOUCH_POLICY_PERMIT));
		rc = vouch_policy_explain(&pe->v, &req, &d, explain, sizeof(explain));
		assert_true(rc == VOUCH_OK || rc == VOUCH_ERR_BUFFER);
		assert_true(explain[0] != '\0');
		if (strcmp(got, r->expect) == 0) {
			passed++;
			continue;
		}
		print_message("row %zu: %s %s %s at %s (zone %s, readings %s): got %s, want %s\n"
		              "  %s\n",
		              i, r->user, r->action, r->resource, r->when,
		              r->zone != NULL ? r->zone : "-",
		              r->readings != NULL ? r->readings : "-", got, r->expect, explain);
	}
	tu_report("plant policy decisions", run, passed, 0, NULL);
}

/* What the compiled credentials carry beside the permissions. */
static void test_people(void **state)
{
	struct plant *p = *state;
	int64_t until = 0;

	assert_true(person(p, "ada")->c.admin);
	assert_false(person(p, "maria")->c.admin);
	assert_false(person(p, "sven")->c.admin);
	assert_int_equal(person(p, "maria")->c.valid_until, 0);
	assert_int_equal(vouch_dir_parse_time("2027-01-23T00:00:00Z", &until), VOUCH_OK);
	assert_int_equal(person(p, "aude")->c.valid_until, until);
	assert_int_equal(vouch_dir_parse_time("2027-06-30T00:00:00Z", &until), VOUCH_OK);
	assert_int_equal(person(p, "cleo")->c.valid_until, until);
	assert_int_equal(person(p, "ada")->v.n_perms, 0);
	/* Every role's grants are in the user's permissions. */
	assert_int_equal(person(p, "olaf")->v.n_perms, 9);
	assert_int_equal(person(p, "cleo")->v.n_perms, 7);
	/* Each credential stays well inside the limits of a CWT claim. */
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(people); i++)
		assert_true(p->people[i].c.perm_len < 2048);
}

/* Loading the example again changes nothing. */
static void test_reload(void **state)
{
	struct plant *p = *state;
	char err[VOUCH_DIR_ERR_MAX];
	json_t *summary = NULL;

	assert_int_equal(vouch_dir_load(p->store, p->doc, NOW + 60, "admin", &summary, err),
	                 VOUCH_OK);
	assert_int_equal(json_array_size(json_object_get(summary, "changed")), 0);
	json_decref(summary);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decision_table),
	    cmocka_unit_test(test_people),
	    cmocka_unit_test(test_reload),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
