/*
 * The directory (server/directory.h): each schema rule refused with its message, references
 * (a grant for an unknown or deleted zone; deleting what is still referred to), versions and
 * writes inside the caller's transaction, the policy document's atomicity, and compiled
 * permissions decoded with vouch_policy_view_init() and decided.
 */
#define _POSIX_C_SOURCE 200809L
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

#define NOW    ((int64_t)1800000000) /* 2027-01-15T08:00:00Z, a Friday */
#define DAY    ((int64_t)86400)
#define BERLIN "CET-1CEST,M3.5.0,M10.5.0/3"

struct fixture {
	char dir[64];
	char path[128];
	struct vouch_store *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char url[160];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_directory.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/vouch.db", f->dir);
	snprintf(url, sizeof(url), "sqlite:%s", f->path);
	assert_int_equal(vouch_store_open(url, &f->store), VOUCH_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	static const char *const names[] = {"vouch.db", "vouch.db-wal", "vouch.db-shm"};
	struct fixture *f = *state;
	char p[192];

	vouch_store_close(f->store);
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, names[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static json_t *js(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);

	if (j == NULL)
		fail_msg("test JSON: %s: %s", e.text, text);
	return j;
}

/* vouch_dir_put of JSON text (create or replace); err gets the message. */
static int put(struct vouch_store *s, const char *kind, const char *name, const char *body,
               char err[VOUCH_DIR_ERR_MAX])
{
	json_t *j = js(body);
	int64_t v = 0;
	int rc = vouch_dir_put(s, kind, name, j, VOUCH_STORE_ANY, NOW, "admin", &v, err);

	json_decref(j);
	if (rc == VOUCH_OK)
		assert_true(v >= 1);
	else
		assert_int_equal(v, 0);
	return rc;
}

static void put_ok(struct vouch_store *s, const char *kind, const char *name, const char *body)
{
	char err[VOUCH_DIR_ERR_MAX] = "";
	int rc = put(s, kind, name, body, err);

	if (rc != VOUCH_OK)
		fail_msg("%s %s: %d %s", kind, name, rc, err);
}

static size_t event_count(struct vouch_store *s)
{
	size_t n = 0;
	int64_t seq = 0;

	/* seq of a fresh event minus one, as no event is ever deleted */
	assert_int_equal(vouch_store_event_append(s, "test.mark", "t", NULL, &seq), VOUCH_OK);
	n = (size_t)seq - 1;
	return n;
}

/* A small site: zones, a training, resources, roles, a staff user. */
static void base(struct vouch_store *s)
{
	put_ok(s, "zone", "plant", "{\"description\":\"the plant\"}");
	put_ok(s, "zone", "plant/hall-a", "{}");
	put_ok(s, "zone", "plant/office", "{}");
	put_ok(s, "training", "machine-safety", "{\"validity_days\":365}");
	put_ok(s, "resource", "press-1",
	       "{\"type\":\"machine\",\"zone\":\"plant/hall-a\",\"tags\":[\"press\"]}");
	put_ok(s, "resource", "door-office", "{\"type\":\"door\",\"zone\":\"plant/office\"}");
	put_ok(s, "role", "operator",
	       "{\"grants\":[{\"resources\":{\"zone\":\"plant/hall-a\",\"type\":\"machine\"},"
	       "\"actions\":[\"operate\"],\"training\":\"machine-safety\","
	       "\"when\":[{\"days\":\"mon-fri\",\"from\":\"06:00\",\"to\":\"22:00\"}]}]}");
	put_ok(s, "user", "boss", "{\"roles\":[],\"kind\":\"staff\"}");
}

/* ---- names -------------------------------------------------------------------------------- */

static void test_names(void **state)
{
	struct fixture *f = *state;
	char err[VOUCH_DIR_ERR_MAX];
	json_t *empty = json_object();
	static const struct {
		const char *kind, *name;
	} bad[] = {
	    {"zone", "Plant"},         {"zone", "plant//a"},     {"zone", "/plant"},
	    {"zone", "plant/"},        {"zone", "plant a"},      {"zone", ""},
	    {"resource", "a b"},       {"resource", "a/b"},      {"training", "Forklift"},
	    {"training", "fork.lift"}, {"role", "op:erator"},    {"user", "Bob"},
	    {"user", "bob smith"},     {"user", "b\xc3\xb6rje"},
	};
	char long_name[70];

	assert_true(vouch_dir_kind_known("zone"));
	assert_true(vouch_dir_kind_known("user"));
	assert_false(vouch_dir_kind_known("phone"));
	assert_false(vouch_dir_kind_known("credential"));
	assert_false(vouch_dir_kind_known(NULL));
	assert_int_equal(vouch_dir_validate(f->store, "phone", "p", empty, err), VOUCH_ERR_INVALID);
	assert_string_equal(err, "unknown kind \"phone\"");
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(bad); i++) {
		assert_int_equal(vouch_dir_validate(f->store, bad[i].kind, bad[i].name, empty, err),
		                 VOUCH_ERR_INVALID);
		assert_non_null(strstr(err, " name: "));
	}
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	assert_int_equal(vouch_dir_validate(f->store, "training", long_name, empty, err),
	                 VOUCH_ERR_INVALID);
	long_name[64] = '\0';
	assert_int_equal(vouch_dir_validate(f->store, "training", long_name, empty, err), VOUCH_OK);
	assert_string_equal(err, "");
	assert_int_equal(vouch_dir_validate(f->store, "zone", "plant", NULL, err),
	                 VOUCH_ERR_INVALID);
	json_decref(empty);
	empty = json_array();
	assert_int_equal(vouch_dir_validate(f->store, "zone", "plant", empty, err),
	                 VOUCH_ERR_INVALID);
	assert_string_equal(err, "zone plant: expected a JSON object");
	json_decref(empty);
}

static void test_parse_time(void **state)
{
	int64_t t = 1;

	(void)state;
	assert_int_equal(vouch_dir_parse_time("2027-01-15T08:00:00Z", &t), VOUCH_OK);
	assert_int_equal(t, NOW);
	assert_int_equal(vouch_dir_parse_time("2027-01-15T08:00:00.999Z", &t), VOUCH_OK);
	assert_int_equal(t, NOW);
	assert_int_equal(vouch_dir_parse_time("1970-01-01T00:00:00Z", &t), VOUCH_OK);
	assert_int_equal(t, 0);
	assert_int_equal(vouch_dir_parse_time("2024-02-29T23:59:59Z", &t), VOUCH_OK);
	assert_int_equal(t, 1709251199);
	assert_int_equal(vouch_dir_parse_time("1969-12-31T23:59:59Z", &t), VOUCH_OK);
	assert_int_equal(t, -1);
	static const char *const bad[] = {
	    "2023-02-29T00:00:00Z",  "2027-13-01T00:00:00Z",      "2027-01-32T00:00:00Z",
	    "2027-01-15T24:00:00Z",  "2027-01-15T08:60:00Z",      "2027-01-15T08:00:60Z",
	    "2027-01-15T08:00:00",   "2027-01-15T08:00:00+01:00", "2027-01-15 08:00:00Z",
	    "2027-01-15T08:00:00.Z", "2027-1-15T08:00:00Z",       "",
	    "2027-01-15T08:00:00Zx", "2100-02-29T00:00:00Z",
	};
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(bad); i++) {
		t = 7;
		assert_int_equal(vouch_dir_parse_time(bad[i], &t), VOUCH_ERR_INVALID);
		assert_int_equal(t, 0);
	}
	assert_int_equal(vouch_dir_parse_time("2000-02-29T00:00:00Z", &t), VOUCH_OK);
	assert_int_equal(vouch_dir_parse_time(NULL, &t), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_dir_parse_time("2000-02-29T00:00:00Z", NULL), VOUCH_ERR_INVALID);
}

/* ---- schema rules -------------------------------------------------------------------------- */

struct refusal {
	const char *kind;
	const char *name;
	const char *body;
	int rc;
	const char *err; /* the whole message */
};

#define G(x)    "{\"grants\":[" x "]}"
#define OPERATE "\"resources\":{},\"actions\":[\"operate\"]"

static const struct refusal refusals[] = {
    /* zones */
    {"zone", "plant/x", "{\"desc\":\"x\"}", VOUCH_ERR_INVALID, "unknown member \"desc\""},
    {"zone", "plant/x", "{\"description\":5}", VOUCH_ERR_INVALID, "description: expected a string"},
    {"zone", "plant/hall-b/line-1", "{}", VOUCH_ERR_STORE_NOT_FOUND,
     "parent zone: no zone \"plant/hall-b\""},
    {"zone", "site/a", "{}", VOUCH_ERR_STORE_NOT_FOUND, "parent zone: no zone \"site\""},
    /* resources */
    {"resource", "r1", "{\"zone\":\"plant\"}", VOUCH_ERR_INVALID, "type: required"},
    {"resource", "r1", "{\"type\":\"robot\",\"zone\":\"plant\"}", VOUCH_ERR_INVALID,
     "type: expected sensor, machine, door, locker, information, storage, gateway or area"},
    {"resource", "r1", "{\"type\":\"door\"}", VOUCH_ERR_INVALID, "zone: required"},
    {"resource", "r1", "{\"type\":\"door\",\"zone\":\"Plant\"}", VOUCH_ERR_INVALID,
     "zone: not a zone name ('/'-separated words of a-z 0-9 _ -, at most 64 bytes)"},
    {"resource", "r1", "{\"type\":\"door\",\"zone\":\"plant/hall-z\"}", VOUCH_ERR_STORE_NOT_FOUND,
     "zone: no zone \"plant/hall-z\""},
    {"resource", "r1", "{\"type\":\"door\",\"zone\":\"plant\",\"tags\":\"a\"}", VOUCH_ERR_INVALID,
     "tags: expected an array of at most 32 tags"},
    {"resource", "r1", "{\"type\":\"door\",\"zone\":\"plant\",\"tags\":[\"ok\",\"not ok\"]}",
     VOUCH_ERR_INVALID, "tags[1]: a tag is 1-64 of A-Z a-z 0-9 . _ : @ / = + -"},
    {"resource", "r1", "{\"type\":\"door\",\"zone\":\"plant\",\"floor\":2}", VOUCH_ERR_INVALID,
     "unknown member \"floor\""},
    /* trainings */
    {"training", "t", "{\"validity_days\":0}", VOUCH_ERR_INVALID,
     "validity_days: expected an integer 1..36600"},
    {"training", "t", "{\"validity_days\":\"30\"}", VOUCH_ERR_INVALID,
     "validity_days: expected an integer 1..36600"},
    {"training", "t", "{\"validity_days\":36601}", VOUCH_ERR_INVALID,
     "validity_days: expected an integer 1..36600"},
    {"training", "t", "{\"expires\":1}", VOUCH_ERR_INVALID, "unknown member \"expires\""},
    /* roles */
    {"role", "r", "{}", VOUCH_ERR_INVALID, "grants: required ([] for none)"},
    {"role", "r", "{\"grants\":{}}", VOUCH_ERR_INVALID,
     "grants: expected an array of at most 512 grants"},
    {"role", "r", "{\"grants\":[],\"admin\":\"yes\"}", VOUCH_ERR_INVALID,
     "admin: expected true or false"},
    {"role", "r", "{\"grants\":[],\"rights\":[]}", VOUCH_ERR_INVALID, "unknown member \"rights\""},
    {"role", "r", G("7"), VOUCH_ERR_INVALID, "grants[0]: expected an object"},
    {"role", "r", G("{" OPERATE ",\"effekt\":\"deny\"}"), VOUCH_ERR_INVALID,
     "grants[0]: unknown member \"effekt\""},
    {"role", "r", G("{" OPERATE ",\"effect\":\"allow\"}"), VOUCH_ERR_INVALID,
     "grants[0].effect: expected permit or deny"},
    {"role", "r", G("{\"actions\":\"*\"}"), VOUCH_ERR_INVALID,
     "grants[0].resources: required ({} selects every resource)"},
    {"role", "r", G("{\"resources\":{\"zones\":\"plant\"},\"actions\":\"*\"}"), VOUCH_ERR_INVALID,
     "grants[0].resources: unknown member \"zones\""},
    {"role", "r", G("{\"resources\":{\"type\":\"robot\"},\"actions\":\"*\"}"), VOUCH_ERR_INVALID,
     "grants[0].resources.type: expected sensor, machine, door, locker, information, storage, "
     "gateway or area"},
    {"role", "r", G("{\"resources\":{\"zone\":\"plant/hall-z\"},\"actions\":\"*\"}"),
     VOUCH_ERR_STORE_NOT_FOUND, "grants[0].resources.zone: no zone \"plant/hall-z\""},
    {"role", "r", G("{\"resources\":{\"id\":\"press-9\"},\"actions\":\"*\"}"),
     VOUCH_ERR_STORE_NOT_FOUND, "grants[0].resources.id: no resource \"press-9\""},
    {"role", "r",
     G("{\"resources\":{\"tags\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]},"
       "\"actions\":\"*\"}"),
     VOUCH_ERR_INVALID, "grants[0].resources.tags: expected an array of at most 8 tags"},
    {"role", "r", G("{\"resources\":{}}"), VOUCH_ERR_INVALID, "grants[0].actions: required"},
    {"role", "r", G("{\"resources\":{},\"actions\":[]}"), VOUCH_ERR_INVALID,
     "grants[0].actions: no action: the grant would never apply"},
    {"role", "r", G("{\"resources\":{},\"actions\":[\"operate\",\"fly\"]}"), VOUCH_ERR_INVALID,
     "grants[0].actions[1]: unknown action (enter open read write operate stop configure "
     "service commission update audit admin, or *)"},
    {"role", "r", G("{\"resources\":{},\"actions\":\"all\"}"), VOUCH_ERR_INVALID,
     "grants[0].actions: expected \"*\" or an array of action names"},
    {"role", "r", G("{" OPERATE ",\"when\":[]}"), VOUCH_ERR_INVALID,
     "grants[0].when: no window: the grant would never hold (leave \"when\" out for any "
     "time)"},
    {"role", "r", G("{" OPERATE ",\"when\":{}}"), VOUCH_ERR_INVALID,
     "grants[0].when: expected an array of at most 8 windows"},
    {"role", "r", G("{" OPERATE ",\"when\":[{\"from\":\"08:00\"}]}"), VOUCH_ERR_INVALID,
     "grants[0].when[0].days: required"},
    {"role", "r", G("{" OPERATE ",\"when\":[{\"days\":\"\"}]}"), VOUCH_ERR_INVALID,
     "grants[0].when[0].days: expected daily, a day (mon..sun), a range like mon-fri or a "
     "list like sat,sun"},
    {"role", "r", G("{" OPERATE ",\"when\":[{\"days\":\"fri-mon\"}]}"), VOUCH_ERR_INVALID,
     "grants[0].when[0].days: expected daily, a day (mon..sun), a range like mon-fri or a "
     "list like sat,sun"},
    {"role", "r", G("{" OPERATE ",\"when\":[{\"days\":\"mon,\"}]}"), VOUCH_ERR_INVALID,
     "grants[0].when[0].days: expected daily, a day (mon..sun), a range like mon-fri or a "
     "list like sat,sun"},
    {"role", "r", G("{" OPERATE ",\"when\":[{\"days\":[]}]}"), VOUCH_ERR_INVALID,
     "grants[0].when[0].days: no day: the window would never be open"},
    {"role", "r", G("{" OPERATE ",\"when\":[{\"days\":[\"mon\",\"xyz\"]}]}"), VOUCH_ERR_INVALID,
     "grants[0].when[0].days[1]: expected mon..sun"},
    {"role", "r",
     G("{" OPERATE ",\"when\":[{\"days\":\"daily\"},{\"days\":\"mon\",\"from\":\"8:00\"}]}"),
     VOUCH_ERR_INVALID, "grants[0].when[1].from: expected HH:MM (00:00..23:59)"},
    {"role", "r", G("{" OPERATE ",\"when\":[{\"days\":\"mon\",\"from\":\"24:00\"}]}"),
     VOUCH_ERR_INVALID, "grants[0].when[0].from: expected HH:MM (00:00..23:59)"},
    {"role", "r", G("{" OPERATE ",\"when\":[{\"days\":\"mon\",\"to\":\"24:01\"}]}"),
     VOUCH_ERR_INVALID, "grants[0].when[0].to: expected HH:MM (00:00..24:00)"},
    {"role", "r", G("{" OPERATE ",\"when\":[{\"days\":\"mon\",\"to\":\"07:60\"}]}"),
     VOUCH_ERR_INVALID, "grants[0].when[0].to: expected HH:MM (00:00..24:00)"},
    {"role", "r",
     G("{" OPERATE ",\"when\":[{\"days\":\"mon\",\"from\":\"08:00\",\"to\":\"08:00\"}]}"),
     VOUCH_ERR_INVALID,
     "grants[0].when[0]: from and to are the same time: the window would never be open"},
    {"role", "r", G("{" OPERATE ",\"when\":[{\"days\":\"mon\",\"at\":\"08:00\"}]}"),
     VOUCH_ERR_INVALID, "grants[0].when[0]: unknown member \"at\""},
    {"role", "r", G("{" OPERATE ",\"valid_from\":\"2027-01-15\"}"), VOUCH_ERR_INVALID,
     "grants[0].valid_from: expected ISO-8601 UTC time like 2026-11-22T05:00:00Z"},
    {"role", "r",
     G("{" OPERATE ",\"valid_from\":\"2027-02-01T00:00:00Z\","
       "\"valid_until\":\"2027-02-01T00:00:00Z\"}"),
     VOUCH_ERR_INVALID,
     "grants[0]: valid_from is not before valid_until: the grant would never hold"},
    {"role", "r",
     G("{" OPERATE ",\"valid_from\":\"2027-03-01T00:00:00Z\","
       "\"valid_until\":\"2027-02-01T00:00:00Z\"}"),
     VOUCH_ERR_INVALID,
     "grants[0]: valid_from is not before valid_until: the grant would never hold"},
    {"role", "r", G("{" OPERATE ",\"training\":\"forklift\"}"), VOUCH_ERR_STORE_NOT_FOUND,
     "grants[0].training: no training \"forklift\""},
    {"role", "r", G("{" OPERATE ",\"training\":\"Forklift\"}"), VOUCH_ERR_INVALID,
     "grants[0].training: not a training name (1-64 of a-z 0-9 _ -)"},
    {"role", "r", G("{" OPERATE ",\"in_zone\":\"plant/hall-z\"}"), VOUCH_ERR_STORE_NOT_FOUND,
     "grants[0].in_zone: no zone \"plant/hall-z\""},
    {"role", "r", G("{" OPERATE ",\"in_zone\":\"@machine\"}"), VOUCH_ERR_INVALID,
     "grants[0].in_zone: expected a zone name or \"@resource\""},
    {"role", "r", G("{" OPERATE ",\"readings\":{}}"), VOUCH_ERR_INVALID,
     "grants[0].readings: expected an array of at most 8 conditions"},
    {"role", "r", G("{" OPERATE ",\"readings\":[{\"name\":\"speed\",\"op\":\"=~\",\"value\":0}]}"),
     VOUCH_ERR_INVALID, "grants[0].readings[0].op: expected < <= > >= == or !="},
    {"role", "r",
     G("{" OPERATE ",\"readings\":[{\"name\":\"speed\",\"op\":\"<=\",\"value\":\"0\"}]}"),
     VOUCH_ERR_INVALID, "grants[0].readings[0].value: expected a number"},
    {"role", "r", G("{" OPERATE ",\"readings\":[{\"name\":\"speed\",\"op\":\"<=\"}]}"),
     VOUCH_ERR_INVALID, "grants[0].readings[0].value: required"},
    {"role", "r", G("{" OPERATE ",\"readings\":[{\"name\":\"sp eed\",\"op\":\"<=\",\"value\":0}]}"),
     VOUCH_ERR_INVALID, "grants[0].readings[0].name: 1-64 of A-Z a-z 0-9 . _ -"},
    {"role", "r",
     G("{" OPERATE ",\"readings\":[{\"name\":\"s\",\"op\":\"<\",\"value\":0,\"unit\":\"C\"}]}"),
     VOUCH_ERR_INVALID, "grants[0].readings[0]: unknown member \"unit\""},
    {"role", "r", G("{" OPERATE "}, {\"resources\":{},\"actions\":[\"stop\"],\"when\":[]}"),
     VOUCH_ERR_INVALID,
     "grants[1].when: no window: the grant would never hold (leave \"when\" out for any "
     "time)"},
    /* users */
    {"user", "u", "{}", VOUCH_ERR_INVALID, "roles: required ([] for none)"},
    {"user", "u", "{\"roles\":[\"chef\"]}", VOUCH_ERR_STORE_NOT_FOUND,
     "roles[0]: no role \"chef\""},
    {"user", "u", "{\"roles\":[\"operator\",\"operator\"]}", VOUCH_ERR_INVALID,
     "roles[1]: role operator twice"},
    {"user", "u", "{\"roles\":[],\"kind\":\"contractor\"}", VOUCH_ERR_INVALID,
     "kind: expected staff or external"},
    {"user", "u", "{\"roles\":[],\"kind\":\"external\"}", VOUCH_ERR_INVALID,
     "external: required for kind external (company, sponsor, valid_from, valid_until)"},
    {"user", "u",
     "{\"roles\":[],\"external\":{\"company\":\"c\",\"sponsor\":\"boss\","
     "\"valid_from\":\"2027-01-01T00:00:00Z\",\"valid_until\":\"2027-02-01T00:00:00Z\"}}",
     VOUCH_ERR_INVALID, "external: only for kind external"},
    {"user", "u",
     "{\"roles\":[],\"kind\":\"external\",\"external\":{\"company\":\"c\",\"sponsor\":\"nobody\","
     "\"valid_from\":\"2027-01-01T00:00:00Z\",\"valid_until\":\"2027-02-01T00:00:00Z\"}}",
     VOUCH_ERR_STORE_NOT_FOUND, "external.sponsor: no user \"nobody\""},
    {"user", "u",
     "{\"roles\":[],\"kind\":\"external\",\"external\":{\"company\":\"c\",\"sponsor\":\"u\","
     "\"valid_from\":\"2027-01-01T00:00:00Z\",\"valid_until\":\"2027-02-01T00:00:00Z\"}}",
     VOUCH_ERR_INVALID, "external.sponsor: not the person themselves"},
    {"user", "u",
     "{\"roles\":[],\"kind\":\"external\",\"external\":{\"company\":\"c\",\"sponsor\":\"boss\","
     "\"valid_from\":\"2027-02-01T00:00:00Z\",\"valid_until\":\"2027-02-01T00:00:00Z\"}}",
     VOUCH_ERR_INVALID,
     "external: valid_from is not before valid_until: the person would never be allowed "
     "anything"},
    {"user", "u",
     "{\"roles\":[],\"kind\":\"external\",\"external\":{\"company\":\"c\",\"sponsor\":\"boss\","
     "\"valid_from\":\"2027-01-01T00:00:00Z\"}}",
     VOUCH_ERR_INVALID, "external.valid_until: required"},
    {"user", "u",
     "{\"roles\":[],\"kind\":\"external\",\"external\":{\"company\":\"\",\"sponsor\":\"boss\","
     "\"valid_from\":\"2027-01-01T00:00:00Z\",\"valid_until\":\"2027-02-01T00:00:00Z\"}}",
     VOUCH_ERR_INVALID, "external.company: empty"},
    {"user", "u",
     "{\"roles\":[],\"kind\":\"external\",\"external\":{\"company\":\"c\",\"sponsor\":\"ext\","
     "\"valid_from\":\"2027-01-01T00:00:00Z\",\"valid_until\":\"2027-02-01T00:00:00Z\"}}",
     VOUCH_ERR_INVALID, "external.sponsor: ext is not staff: an external is sponsored by staff"},
    {"user", "u", "{\"roles\":[],\"trainings\":{\"machine-safety\":\"2028\"}}", VOUCH_ERR_INVALID,
     "trainings.machine-safety: expected the ISO-8601 UTC expiry"},
    {"user", "u", "{\"roles\":[],\"trainings\":{\"forklift\":\"2028-01-01T00:00:00Z\"}}",
     VOUCH_ERR_STORE_NOT_FOUND, "trainings.forklift: no training \"forklift\""},
    {"user", "u", "{\"roles\":[],\"status\":\"gone\"}", VOUCH_ERR_INVALID,
     "status: expected active or revoked"},
    {"user", "u", "{\"roles\":[],\"revoked_at\":\"2027-01-01T00:00:00Z\"}", VOUCH_ERR_INVALID,
     "revoked_at: only with status revoked"},
    {"user", "u", "{\"roles\":[],\"password\":\"x\"}", VOUCH_ERR_INVALID,
     "unknown member \"password\""},
};

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	char err[VOUCH_DIR_ERR_MAX];
	size_t events;
	unsigned passed = 0;

	base(f->store);
	put_ok(f->store, "user", "ext",
	       "{\"roles\":[],\"kind\":\"external\",\"external\":{\"company\":\"c\",\"sponsor\":"
	       "\"boss\",\"valid_from\":\"2027-01-01T00:00:00Z\",\"valid_until\":"
	       "\"2027-02-01T00:00:00Z\"}}");
	events = event_count(f->store);
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(refusals); i++) {
		const struct refusal *r = &refusals[i];
		json_t *j = js(r->body);
		int rc = vouch_dir_validate(f->store, r->kind, r->name, j, err);

		if (rc != r->rc || strcmp(err, r->err) != 0)
			fail_msg("refusal %zu (%s %s): got %d \"%s\", want %d \"%s\"", i, r->kind,
			         r->name, rc, err, r->rc, r->err);
		/* put refuses the same way and writes nothing */
		assert_int_equal(put(f->store, r->kind, r->name, r->body, err), r->rc);
		assert_string_equal(err, r->err);
		json_decref(j);
		passed++;
	}
	assert_int_equal(event_count(f->store), events + 1);
	assert_int_equal(passed, VOUCH_ARRAY_LEN(refusals));
}

/* ---- compiling ----------------------------------------------------------------------------- */

struct compiled {
	struct vouch_dir_compiled c;
	struct vouch_policy_view v;
};

static void compile(struct vouch_store *s, const char *user, const char *tz, struct compiled *out)
{
	char err[VOUCH_DIR_ERR_MAX] = "";
	int rc = vouch_dir_compile_user(s, user, tz, NOW, &out->c, err);

	if (rc != VOUCH_OK)
		fail_msg("compile %s: %d %s", user, rc, err);
	assert_int_equal(vouch_policy_view_init(&out->v, out->c.perm, out->c.perm_len), VOUCH_OK);
}

/* The decision's reason name for one request. */
static const char *decide(const struct compiled *c, const char *id, const char *type,
                          const char *zone, const char *action, int64_t now,
                          const char *person_zone, const char *reading, double value)
{
	struct vouch_policy_resource res = {.id = id, .type = type, .zone = zone};
	struct vouch_policy_reading rd = {.name = reading, .value = value};
	struct vouch_policy_request req = {.resource = &res,
	                                   .now = now,
	                                   .person_zone = person_zone,
	                                   .readings = reading != NULL ? &rd : NULL,
	                                   .n_readings = reading != NULL ? 1 : 0};
	struct vouch_policy_decision d;

	assert_int_equal(vouch_policy_action_parse(action, &req.action), VOUCH_OK);
	assert_int_equal(vouch_policy_decide(&c->v, &req, &d), VOUCH_OK);
	assert_true(d.permit == (d.reason == VOUCH_POLICY_PERMIT));
	return vouch_policy_reason_name(d.reason);
}

static int64_t at(const char *iso)
{
	int64_t t = 0;

	assert_int_equal(vouch_dir_parse_time(iso, &t), VOUCH_OK);
	return t;
}

/* What is accepted: every form of days, overnight windows, deny, "*" and readings. */
static void test_accepted(void **state)
{
	struct fixture *f = *state;
	struct compiled c;

	base(f->store);
	put_ok(f->store, "role", "wide",
	       "{\"description\":\"all forms\",\"admin\":false,\"grants\":["
	       "{\"resources\":{},\"actions\":\"*\"},"
	       "{\"effect\":\"deny\",\"resources\":{\"id\":\"press-1\"},\"actions\":[\"*\"]},"
	       "{\"effect\":\"permit\",\"resources\":{\"zone\":\"plant\",\"type\":\"door\","
	       "\"tags\":[\"a:b\",\"c=d\"]},\"actions\":[\"enter\",\"open\"],"
	       "\"when\":[{\"days\":\"daily\"},{\"days\":\"sat,sun\",\"from\":\"22:00\",\"to\":"
	       "\"06:00\"},{\"days\":\"mon-wed,fri\",\"to\":\"24:00\"},{\"days\":[\"tue\",\"thu\"],"
	       "\"from\":\"00:00\",\"to\":\"00:01\"},{\"days\":\"sun\",\"from\":\"23:59\"}],"
	       "\"valid_from\":\"2027-01-01T00:00:00Z\",\"valid_until\":\"2027-12-31T23:59:59.5Z\","
	       "\"training\":\"machine-safety\",\"in_zone\":\"@resource\","
	       "\"readings\":[{\"name\":\"speed\",\"op\":\"<=\",\"value\":0},"
	       "{\"name\":\"temp.C\",\"op\":\"<\",\"value\":-12.5}],\"description\":\"d\"},"
	       "{\"resources\":{},\"actions\":[\"read\"],\"in_zone\":\"plant/office\","
	       "\"valid_until\":\"2027-06-01T00:00:00Z\"}]}");
	put_ok(f->store, "role", "site-admin", "{\"admin\":true,\"grants\":[]}");
	put_ok(
	    f->store, "user", "alice",
	    "{\"display_name\":\"Alice\",\"kind\":\"staff\",\"roles\":[\"wide\",\"operator\"],"
	    "\"trainings\":{\"machine-safety\":\"2027-06-01T00:00:00Z\"},\"status\":\"active\"}");
	put_ok(f->store, "user", "gone",
	       "{\"roles\":[\"operator\"],\"status\":\"revoked\",\"revoked_at\":"
	       "\"2027-01-02T00:00:00Z\",\"reason\":\"left\"}");
	/* Every grant of both roles compiles, in role order. */
	compile(f->store, "alice", BERLIN, &c);
	assert_int_equal(c.v.n_roles, 2);
	assert_int_equal(c.v.n_perms, 5);
	assert_string_equal(
	    decide(&c, "press-1", "machine", "plant/hall-a", "read", NOW, NULL, NULL, 0),
	    "deny-rule");
	assert_string_equal(
	    decide(&c, "cnc-2", "machine", "plant/hall-a", "read", NOW, NULL, NULL, 0), "permit");
	vouch_dir_compiled_clear(&c.c);
}

/* ---- references ---------------------------------------------------------------------------- */

static void test_references(void **state)
{
	struct fixture *f = *state;
	char err[VOUCH_DIR_ERR_MAX];

	base(f->store);
	put_ok(f->store, "zone", "plant/lab", "{}");
	put_ok(f->store, "zone", "plant/stores", "{}");
	put_ok(f->store, "training", "forklift", "{}");
	put_ok(f->store, "role", "lab",
	       "{\"grants\":[{\"resources\":{\"type\":\"door\"},\"actions\":[\"open\"],"
	       "\"in_zone\":\"plant/lab\"},{\"resources\":{\"id\":\"door-office\"},"
	       "\"actions\":[\"open\"],\"training\":\"forklift\"}]}");
	put_ok(f->store, "user", "olga",
	       "{\"roles\":[\"operator\"],\"trainings\":{\"forklift\":\"2028-01-01T00:00:00Z\"}}");
	put_ok(f->store, "user", "ext",
	       "{\"roles\":[],\"kind\":\"external\",\"external\":{\"company\":\"c\",\"sponsor\":"
	       "\"boss\",\"valid_from\":\"2027-01-01T00:00:00Z\",\"valid_until\":"
	       "\"2027-02-01T00:00:00Z\"}}");

	/* Each referrer named. */
	assert_int_equal(vouch_dir_delete(f->store, "zone", "plant", "admin", err),
	                 VOUCH_ERR_STORE_IN_USE);
	assert_string_equal(err, "zone plant is used by zone plant/hall-a");
	assert_int_equal(vouch_dir_delete(f->store, "zone", "plant/office", "admin", err),
	                 VOUCH_ERR_STORE_IN_USE);
	assert_string_equal(err, "zone plant/office is used by resource door-office");
	assert_int_equal(vouch_dir_delete(f->store, "zone", "plant/hall-a", "admin", err),
	                 VOUCH_ERR_STORE_IN_USE);
	assert_string_equal(err, "zone plant/hall-a is used by resource press-1");
	assert_int_equal(vouch_dir_delete(f->store, "zone", "plant/lab", "admin", err),
	                 VOUCH_ERR_STORE_IN_USE);
	assert_string_equal(err, "zone plant/lab is used by role lab (grants[0].in_zone)");
	assert_int_equal(vouch_dir_delete(f->store, "resource", "door-office", "admin", err),
	                 VOUCH_ERR_STORE_IN_USE);
	assert_string_equal(err,
	                    "resource door-office is used by role lab (grants[1].resources.id)");
	assert_int_equal(vouch_dir_delete(f->store, "training", "forklift", "admin", err),
	                 VOUCH_ERR_STORE_IN_USE);
	assert_string_equal(err, "training forklift is used by role lab (grants[1].training)");
	assert_int_equal(vouch_dir_delete(f->store, "training", "machine-safety", "admin", err),
	                 VOUCH_ERR_STORE_IN_USE);
	assert_string_equal(
	    err, "training machine-safety is used by role operator (grants[0].training)");
	assert_int_equal(vouch_dir_delete(f->store, "role", "operator", "admin", err),
	                 VOUCH_ERR_STORE_IN_USE);
	assert_string_equal(err, "role operator is used by user olga");
	assert_int_equal(vouch_dir_delete(f->store, "user", "boss", "admin", err),
	                 VOUCH_ERR_STORE_IN_USE);
	assert_string_equal(err, "user boss is used by user ext");
	assert_int_equal(vouch_dir_delete(f->store, "zone", "plant/nowhere", "admin", err),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_string_equal(err, "no zone plant/nowhere");
	assert_int_equal(vouch_dir_delete(f->store, "zone", "Plant", "admin", err),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_dir_delete(f->store, "phone", "p", "admin", err), VOUCH_ERR_INVALID);
	/* A zone whose name only starts like another's is not its child. */
	put_ok(f->store, "zone", "plant-2", "{}");
	assert_int_equal(vouch_dir_delete(f->store, "zone", "plant-2", "admin", err), VOUCH_OK);

	/* Unreferenced, in order: the role, then the training it used; then a user's training. */
	assert_int_equal(vouch_dir_delete(f->store, "role", "lab", "admin", err), VOUCH_OK);
	assert_int_equal(vouch_dir_delete(f->store, "training", "forklift", "admin", err),
	                 VOUCH_ERR_STORE_IN_USE);
	assert_string_equal(err, "training forklift is used by user olga");
	put_ok(f->store, "user", "olga", "{\"roles\":[\"operator\"]}");
	assert_int_equal(vouch_dir_delete(f->store, "training", "forklift", "admin", err),
	                 VOUCH_OK);
	assert_int_equal(vouch_dir_delete(f->store, "zone", "plant/lab", "admin", err), VOUCH_OK);

	/* A grant for a deleted zone is refused, and a user for a deleted role. */
	assert_int_equal(put(f->store, "role", "lab2",
	                     "{\"grants\":[{\"resources\":{\"zone\":\"plant/lab\"},"
	                     "\"actions\":[\"enter\"]}]}",
	                     err),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_string_equal(err, "grants[0].resources.zone: no zone \"plant/lab\"");
	assert_int_equal(put(f->store, "user", "ivan", "{\"roles\":[\"lab\"]}", err),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_string_equal(err, "roles[0]: no role \"lab\"");
	assert_int_equal(put(f->store, "zone", "plant/lab/bench", "{}", err),
	                 VOUCH_ERR_STORE_NOT_FOUND);
}

/* ---- versions, transactions ---------------------------------------------------------------- */

static void test_put_versions(void **state)
{
	struct fixture *f = *state;
	char err[VOUCH_DIR_ERR_MAX];
	json_t *z = js("{\"description\":\"Hall B\"}");
	int64_t v = 0;

	base(f->store);
	assert_int_equal(vouch_dir_put(f->store, "zone", "plant/hall-b", z, VOUCH_STORE_CREATE, NOW,
	                               "admin", &v, err),
	                 VOUCH_OK);
	assert_int_equal(v, 1);
	assert_int_equal(vouch_dir_put(f->store, "zone", "plant/hall-b", z, VOUCH_STORE_CREATE, NOW,
	                               "admin", &v, err),
	                 VOUCH_ERR_STORE_EXISTS);
	assert_string_equal(err, "zone plant/hall-b exists");
	assert_int_equal(v, 0);
	assert_int_equal(
	    vouch_dir_put(f->store, "zone", "plant/hall-b", z, 1, NOW, "admin", &v, err), VOUCH_OK);
	assert_int_equal(v, 2);
	assert_int_equal(
	    vouch_dir_put(f->store, "zone", "plant/hall-b", z, 1, NOW, "admin", &v, err),
	    VOUCH_ERR_STORE_CONFLICT);
	assert_string_equal(err, "zone plant/hall-b is not at version 1 (changed meanwhile)");
	assert_int_equal(
	    vouch_dir_put(f->store, "zone", "plant/hall-c", z, 3, NOW, "admin", &v, err),
	    VOUCH_ERR_STORE_NOT_FOUND);
	assert_string_equal(err, "no zone plant/hall-c");
	assert_int_equal(vouch_dir_put(NULL, "zone", "plant/hall-c", z, 3, NOW, "admin", &v, err),
	                 VOUCH_ERR_INVALID);

	/* Inside the caller's transaction: the caller's rollback undoes it. */
	assert_int_equal(vouch_store_tx_begin(f->store), VOUCH_OK);
	assert_int_equal(vouch_dir_put(f->store, "zone", "plant/hall-c", z, VOUCH_STORE_CREATE, NOW,
	                               "admin", &v, err),
	                 VOUCH_OK);
	assert_int_equal(vouch_dir_delete(f->store, "zone", "plant/hall-b", "admin", err),
	                 VOUCH_OK);
	/* A refusal inside leaves the transaction open and the rest intact. */
	assert_int_equal(vouch_dir_delete(f->store, "zone", "plant", "admin", err),
	                 VOUCH_ERR_STORE_IN_USE);
	vouch_store_tx_rollback(f->store);
	assert_int_equal(
	    vouch_dir_put(f->store, "zone", "plant/hall-c", z, 1, NOW, "admin", &v, err),
	    VOUCH_ERR_STORE_NOT_FOUND);
	assert_int_equal(
	    vouch_dir_put(f->store, "zone", "plant/hall-b", z, 2, NOW, "admin", &v, err), VOUCH_OK);
	json_decref(z);
}

/* ---- the policy document ------------------------------------------------------------------- */

static const char policy_doc[] =
    "{\"description\":\"test\","
    " \"roles\":{\"op\":{\"grants\":[{\"resources\":{\"zone\":\"site/hall/line-1\"},"
    "   \"actions\":[\"operate\"],\"training\":\"safety\"}]},"
    "   \"admin\":{\"admin\":true,\"grants\":[]}},"
    " \"resources\":{\"m1\":{\"type\":\"machine\",\"zone\":\"site/hall/line-1\"}},"
    /* children before parents in the file: loaded parents first */
    " \"zones\":{\"site/hall/line-1\":{},\"site/hall\":{},\"site\":{\"description\":\"s\"}},"
    " \"trainings\":{\"safety\":{\"validity_days\":365}}}";

static void test_load(void **state)
{
	struct fixture *f = *state;
	char err[VOUCH_DIR_ERR_MAX];
	json_t *doc = js(policy_doc), *summary = NULL, *bad;
	struct vouch_store_obj o;
	size_t events;

	assert_int_equal(vouch_dir_load(f->store, doc, NOW, "admin", &summary, err), VOUCH_OK);
	assert_int_equal(json_integer_value(json_object_get(summary, "zones")), 3);
	assert_int_equal(json_integer_value(json_object_get(summary, "trainings")), 1);
	assert_int_equal(json_integer_value(json_object_get(summary, "resources")), 1);
	assert_int_equal(json_integer_value(json_object_get(summary, "roles")), 2);
	assert_int_equal(json_array_size(json_object_get(summary, "changed")), 7);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(summary, "changed"), 0), "name")),
	                    "site");
	json_decref(summary);
	assert_int_equal(vouch_store_obj_get(f->store, "role", "op", &o), VOUCH_OK);
	vouch_store_obj_clear(&o);

	/* Loading it again changes nothing and records nothing. */
	events = event_count(f->store);
	assert_int_equal(vouch_dir_load(f->store, doc, NOW, "admin", &summary, err), VOUCH_OK);
	assert_int_equal(json_array_size(json_object_get(summary, "changed")), 0);
	assert_int_equal(json_integer_value(json_object_get(summary, "zones")), 3);
	json_decref(summary);
	assert_int_equal(event_count(f->store), events + 1);

	/* A bad object at the end (roles come last) leaves everything as it was: the changed
	 * zone description and the new zone are not stored either. */
	json_object_set_new(json_object_get(json_object_get(doc, "zones"), "site"), "description",
	                    json_string("changed"));
	json_object_set_new(json_object_get(doc, "zones"), "site/yard", json_object());
	bad = js("{\"grants\":[{\"resources\":{\"zone\":\"site/nowhere\"},\"actions\":\"*\"}]}");
	json_object_set_new(json_object_get(doc, "roles"), "zz-bad", bad);
	events = event_count(f->store);
	summary = doc; /* not NULL: the load must reset it */
	assert_int_equal(vouch_dir_load(f->store, doc, NOW, "admin", &summary, err),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_null(summary);
	assert_string_equal(err,
	                    "roles.zz-bad: grants[0].resources.zone: no zone \"site/nowhere\"");
	assert_int_equal(event_count(f->store), events + 1);
	assert_int_equal(vouch_store_obj_get(f->store, "zone", "site", &o), VOUCH_OK);
	assert_string_equal(o.json, "{\"description\":\"s\"}");
	assert_int_equal(o.version, 1);
	vouch_store_obj_clear(&o);
	assert_int_equal(vouch_store_obj_get(f->store, "zone", "site/yard", &o),
	                 VOUCH_ERR_STORE_NOT_FOUND);

	/* The document's own shape. */
	json_decref(doc);
	doc = js("{\"zone\":{}}");
	assert_int_equal(vouch_dir_load(f->store, doc, NOW, "admin", NULL, err), VOUCH_ERR_INVALID);
	assert_string_equal(err, "unknown member \"zone\"");
	json_decref(doc);
	doc = js("{\"zones\":[]}");
	assert_int_equal(vouch_dir_load(f->store, doc, NOW, "admin", NULL, err), VOUCH_ERR_INVALID);
	assert_string_equal(err, "zones: expected an object {name: zone}");
	json_decref(doc);
	doc = js("{\"zones\":{\"Bad\":{}}}");
	assert_int_equal(vouch_dir_load(f->store, doc, NOW, "admin", NULL, err), VOUCH_ERR_INVALID);
	assert_string_equal(err,
	                    "zones.Bad: zone name: '/'-separated words of a-z 0-9 _ -, at most "
	                    "64 bytes");
	json_decref(doc);
	doc = js("[]");
	assert_int_equal(vouch_dir_load(f->store, doc, NOW, "admin", NULL, err), VOUCH_ERR_INVALID);
	json_decref(doc);
	/* Not inside the caller's transaction: its atomicity could not be kept there. */
	doc = js("{}");
	assert_int_equal(vouch_store_tx_begin(f->store), VOUCH_OK);
	assert_int_equal(vouch_dir_load(f->store, doc, NOW, "admin", NULL, err), VOUCH_ERR_INVALID);
	vouch_store_tx_rollback(f->store);
	assert_int_equal(vouch_dir_load(f->store, doc, NOW, "admin", &summary, err), VOUCH_OK);
	assert_int_equal(json_integer_value(json_object_get(summary, "roles")), 0);
	json_decref(summary);
	json_decref(doc);
}

static void test_compile(void **state)
{
	struct fixture *f = *state;
	char err[VOUCH_DIR_ERR_MAX];
	struct compiled c;
	struct vouch_dir_compiled none;
	/* Mon 2027-01-18 09:00 CET = 08:00Z */
	int64_t mon9 = at("2027-01-18T08:00:00Z");

	base(f->store);
	put_ok(f->store, "role", "service",
	       "{\"grants\":[{\"resources\":{\"type\":\"machine\"},\"actions\":[\"service\"],"
	       "\"readings\":[{\"name\":\"speed\",\"op\":\"<=\",\"value\":0}]},"
	       "{\"effect\":\"deny\",\"resources\":{\"id\":\"press-1\"},\"actions\":[\"service\"],"
	       "\"valid_from\":\"2027-02-01T00:00:00Z\"}]}");
	put_ok(f->store, "role", "site-admin", "{\"admin\":true,\"grants\":[]}");
	put_ok(f->store, "user", "olga",
	       "{\"roles\":[\"operator\",\"service\"],"
	       "\"trainings\":{\"machine-safety\":\"2027-03-01T00:00:00Z\"}}");
	put_ok(f->store, "user", "nils", "{\"roles\":[\"operator\"]}");
	put_ok(f->store, "user", "root", "{\"roles\":[\"site-admin\"]}");
	put_ok(f->store, "user", "eve",
	       "{\"roles\":[\"service\"],\"kind\":\"external\",\"external\":{\"company\":\"Acme\","
	       "\"sponsor\":\"boss\",\"valid_from\":\"2027-01-18T07:00:00Z\",\"valid_until\":"
	       "\"2027-01-19T16:00:00Z\"}}");
	put_ok(f->store, "user", "gone", "{\"roles\":[\"operator\"],\"status\":\"revoked\"}");

	/* olga: operator (trained until March, Mon-Fri 06-22 local) and service. */
	compile(f->store, "olga", BERLIN, &c);
	assert_false(c.c.admin);
	assert_int_equal(c.c.valid_until, 0);
	assert_int_equal(c.v.n_roles, 2);
	assert_int_equal(c.v.n_perms, 3);
	assert_string_equal(
	    decide(&c, "press-1", "machine", "plant/hall-a", "operate", mon9, NULL, NULL, 0),
	    "permit");
	/* 05:30 local is outside the window */
	assert_string_equal(decide(&c, "press-1", "machine", "plant/hall-a", "operate",
	                           at("2027-01-18T04:30:00Z"), NULL, NULL, 0),
	                    "time");
	/* Saturday */
	assert_string_equal(decide(&c, "press-1", "machine", "plant/hall-a", "operate",
	                           at("2027-01-16T10:00:00Z"), NULL, NULL, 0),
	                    "time");
	/* training expired in March */
	assert_string_equal(decide(&c, "press-1", "machine", "plant/hall-a", "operate",
	                           at("2027-03-01T08:00:00Z"), NULL, NULL, 0),
	                    "training");
	assert_string_equal(
	    decide(&c, "press-1", "machine", "plant/office", "operate", mon9, NULL, NULL, 0),
	    "no-grant");
	assert_string_equal(
	    decide(&c, "press-1", "machine", "plant/hall-a", "stop", mon9, NULL, NULL, 0),
	    "no-grant");
	/* service: only when stopped; the deny from February overrides (contradictory grants
	 * are legal: deny wins). */
	assert_string_equal(
	    decide(&c, "press-1", "machine", "plant/hall-a", "service", mon9, NULL, "speed", 0),
	    "permit");
	assert_string_equal(
	    decide(&c, "press-1", "machine", "plant/hall-a", "service", mon9, NULL, "speed", 12),
	    "reading");
	assert_string_equal(
	    decide(&c, "press-1", "machine", "plant/hall-a", "service", mon9, NULL, NULL, 0),
	    "reading-missing");
	assert_string_equal(decide(&c, "press-1", "machine", "plant/hall-a", "service",
	                           at("2027-02-01T08:00:00Z"), NULL, "speed", 0),
	                    "deny-rule");
	assert_string_equal(decide(&c, "cnc-2", "machine", "plant/hall-a", "service",
	                           at("2027-02-01T08:00:00Z"), NULL, "speed", 0),
	                    "permit");
	vouch_dir_compiled_clear(&c.c);
	assert_null(c.c.perm);

	/* nils: operator without the training: training_expires 0, never holds. */
	compile(f->store, "nils", BERLIN, &c);
	assert_string_equal(
	    decide(&c, "press-1", "machine", "plant/hall-a", "operate", mon9, NULL, NULL, 0),
	    "training");
	vouch_dir_compiled_clear(&c.c);

	/* An admin role, no grants. The zone name is resolved to its rule. */
	compile(f->store, "root", "Europe/Berlin", &c);
	assert_true(c.c.admin);
	assert_int_equal(c.v.n_perms, 0);
	assert_string_equal(
	    decide(&c, "press-1", "machine", "plant/hall-a", "operate", mon9, NULL, NULL, 0),
	    "no-grant");
	vouch_dir_compiled_clear(&c.c);

	/* An external: every permission within the window, and the hard end reported. */
	compile(f->store, "eve", "UTC0", &c);
	assert_int_equal(c.c.valid_until, at("2027-01-19T16:00:00Z"));
	assert_string_equal(
	    decide(&c, "cnc-2", "machine", "plant", "service", mon9, NULL, "speed", 0), "permit");
	assert_string_equal(decide(&c, "cnc-2", "machine", "plant", "service",
	                           at("2027-01-18T06:59:59Z"), NULL, "speed", 0),
	                    "not-yet-valid");
	assert_string_equal(decide(&c, "cnc-2", "machine", "plant", "service",
	                           at("2027-01-19T16:00:00Z"), NULL, "speed", 0),
	                    "expired");
	/* The deny from February lies outside her window: it can never hold, and is left out. */
	assert_int_equal(c.v.n_perms, 1);
	vouch_dir_compiled_clear(&c.c);

	/* Refusals. */
	memset(&none, 0x5a, sizeof(none));
	assert_int_equal(vouch_dir_compile_user(f->store, "gone", BERLIN, NOW, &none, err),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_string_equal(err, "user gone is revoked");
	assert_null(none.perm);
	assert_int_equal(none.perm_len, 0);
	assert_int_equal(vouch_dir_compile_user(f->store, "nobody", BERLIN, NOW, &none, err),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_string_equal(err, "no user \"nobody\"");
	assert_int_equal(vouch_dir_compile_user(f->store, "olga", "Mars/Olympus", NOW, &none, err),
	                 VOUCH_ERR_TZ);
	assert_int_equal(vouch_dir_compile_user(f->store, "olga", NULL, NOW, &none, err),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_dir_compile_user(f->store, "olga", BERLIN, NOW, NULL, err),
	                 VOUCH_ERR_INVALID);
}

/* The same set always encodes to the same bytes. */
static void test_compile_deterministic(void **state)
{
	struct fixture *f = *state;
	struct compiled a, b;

	base(f->store);
	put_ok(f->store, "user", "olga", "{\"roles\":[\"operator\"]}");
	compile(f->store, "olga", BERLIN, &a);
	compile(f->store, "olga", BERLIN, &b);
	assert_int_equal(a.c.perm_len, b.c.perm_len);
	assert_memory_equal(a.c.perm, b.c.perm, a.c.perm_len);
	vouch_dir_compiled_clear(&a.c);
	vouch_dir_compiled_clear(&b.c);
}

/* A user whose roles hold more grants than a credential carries is refused clearly. */
static void test_compile_too_many(void **state)
{
	struct fixture *f = *state;
	char err[VOUCH_DIR_ERR_MAX];
	struct vouch_dir_compiled c;
	json_t *role = js("{\"grants\":[]}");
	json_t *g = js("{\"resources\":{},\"actions\":[\"read\"]}");
	int64_t v;

	base(f->store);
	for (int i = 0; i < 300; i++)
		json_array_append(json_object_get(role, "grants"), g);
	assert_int_equal(
	    vouch_dir_put(f->store, "role", "big1", role, VOUCH_STORE_ANY, NOW, "a", &v, err),
	    VOUCH_OK);
	assert_int_equal(
	    vouch_dir_put(f->store, "role", "big2", role, VOUCH_STORE_ANY, NOW, "a", &v, err),
	    VOUCH_OK);
	put_ok(f->store, "user", "u", "{\"roles\":[\"big1\",\"big2\"]}");
	assert_int_equal(vouch_dir_compile_user(f->store, "u", BERLIN, NOW, &c, err),
	                 VOUCH_ERR_INVALID);
	assert_string_equal(err, "the user's roles hold 600 grants; at most 512 fit a credential");
	json_decref(g);
	json_decref(role);
}

/* ---- the cache of compiles ------------------------------------------------------------------
 *
 * A store connection keeps parsed roles and users' last compiles: whatever happened to the
 * stored objects since, a compile through it must give the bytes a compile through a fresh
 * connection (an empty cache) gives.
 */

static void compile_fresh(const struct fixture *f, const char *user, const char *tz,
                          struct vouch_dir_compiled *out)
{
	struct vouch_store *s = NULL;
	char url[160], err[VOUCH_DIR_ERR_MAX] = "";
	int rc;

	snprintf(url, sizeof(url), "sqlite:%s", f->path);
	assert_int_equal(vouch_store_open(url, &s), VOUCH_OK);
	rc = vouch_dir_compile_user(s, user, tz, NOW, out, err);
	if (rc != VOUCH_OK)
		fail_msg("fresh compile %s: %d %s", user, rc, err);
	vouch_store_close(s);
}

static void assert_as_fresh(const struct fixture *f, const char *user, const char *tz)
{
	struct vouch_dir_compiled a, b;
	char err[VOUCH_DIR_ERR_MAX] = "";
	int rc = vouch_dir_compile_user(f->store, user, tz, NOW, &a, err);

	if (rc != VOUCH_OK)
		fail_msg("compile %s: %d %s", user, rc, err);
	compile_fresh(f, user, tz, &b);
	assert_int_equal(a.perm_len, b.perm_len);
	assert_memory_equal(a.perm, b.perm, a.perm_len);
	assert_int_equal(a.admin, b.admin);
	assert_int_equal(a.valid_until, b.valid_until);
	vouch_dir_compiled_clear(&a);
	vouch_dir_compiled_clear(&b);
}

static const char *decide_now(struct vouch_store *s, const char *user, const char *tz)
{
	struct compiled c;
	const char *r;

	compile(s, user, tz, &c);
	r = decide(&c, "press-1", "machine", "plant/hall-a", "operate", NOW, NULL, NULL, 0);
	vouch_dir_compiled_clear(&c.c);
	return r;
}

#define OPERATOR_WEEKEND                                                                           \
	"{\"grants\":[{\"resources\":{\"zone\":\"plant/hall-a\",\"type\":\"machine\"},"            \
	"\"actions\":[\"operate\"],\"when\":[{\"days\":\"sat,sun\"}]}]}"

/* A role changed after it was compiled (and cached) compiles anew, for every holder. */
static void test_cache_role_changed(void **state)
{
	struct fixture *f = *state;
	struct compiled a, b;

	base(f->store);
	put_ok(f->store, "user", "olga",
	       "{\"roles\":[\"operator\"],\"trainings\":{\"machine-safety\":"
	       "\"2028-01-01T00:00:00Z\"}}");
	put_ok(f->store, "user", "nils", "{\"roles\":[\"operator\"]}");
	/* Friday 09:00 in Berlin, trained: permitted; twice, the second from the cache. */
	assert_string_equal(decide_now(f->store, "olga", BERLIN), "permit");
	compile(f->store, "olga", BERLIN, &a);
	compile(f->store, "olga", BERLIN, &b);
	assert_int_equal(a.c.perm_len, b.c.perm_len);
	assert_memory_equal(a.c.perm, b.c.perm, a.c.perm_len);
	vouch_dir_compiled_clear(&b.c);
	assert_string_equal(decide_now(f->store, "nils", BERLIN), "training");

	/* Weekends only now, and no training needed. */
	put_ok(f->store, "role", "operator", OPERATOR_WEEKEND);
	assert_string_equal(decide_now(f->store, "olga", BERLIN), "time");
	assert_string_equal(decide_now(f->store, "nils", BERLIN), "time");
	compile(f->store, "olga", BERLIN, &b);
	assert_true(a.c.perm_len != b.c.perm_len || memcmp(a.c.perm, b.c.perm, a.c.perm_len) != 0);
	vouch_dir_compiled_clear(&b.c);
	assert_as_fresh(f, "olga", BERLIN);

	/* Back to the first text: the first permissions again. */
	put_ok(f->store, "role", "operator",
	       "{\"grants\":[{\"resources\":{\"zone\":\"plant/hall-a\",\"type\":\"machine\"},"
	       "\"actions\":[\"operate\"],\"training\":\"machine-safety\","
	       "\"when\":[{\"days\":\"mon-fri\",\"from\":\"06:00\",\"to\":\"22:00\"}]}]}");
	compile(f->store, "olga", BERLIN, &b);
	assert_int_equal(a.c.perm_len, b.c.perm_len);
	assert_memory_equal(a.c.perm, b.c.perm, a.c.perm_len);
	vouch_dir_compiled_clear(&a.c);
	vouch_dir_compiled_clear(&b.c);

	/* The admin flag follows the role too. */
	put_ok(f->store, "role", "operator", "{\"admin\":true,\"grants\":[]}");
	compile(f->store, "olga", BERLIN, &a);
	assert_true(a.c.admin);
	vouch_dir_compiled_clear(&a.c);
	put_ok(f->store, "role", "operator", OPERATOR_WEEKEND);
	compile(f->store, "olga", BERLIN, &a);
	assert_false(a.c.admin);
	vouch_dir_compiled_clear(&a.c);
}

/* A deleted role is not served from the cache; created again (at version 1 again, as the cached
 * one was) with other grants, those are compiled. */
static void test_cache_role_deleted(void **state)
{
	struct fixture *f = *state;
	struct vouch_dir_compiled none;
	char err[VOUCH_DIR_ERR_MAX];
	int64_t v = 0;

	base(f->store);
	put_ok(f->store, "user", "olga",
	       "{\"roles\":[\"operator\"],\"trainings\":{\"machine-safety\":"
	       "\"2028-01-01T00:00:00Z\"}}");
	assert_string_equal(decide_now(f->store, "olga", BERLIN), "permit");
	/* Behind the directory's back (it refuses to delete a role in use). */
	assert_int_equal(vouch_store_obj_delete(f->store, "role", "operator", VOUCH_STORE_ANY, "a"),
	                 VOUCH_OK);
	memset(&none, 0x5a, sizeof(none));
	assert_int_equal(vouch_dir_compile_user(f->store, "olga", BERLIN, NOW, &none, err),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_string_equal(err, "no role \"operator\"");
	assert_null(none.perm);
	assert_int_equal(vouch_store_obj_put(f->store, "role", "operator", NULL, OPERATOR_WEEKEND,
	                                     VOUCH_STORE_CREATE, NOW, "a", &v),
	                 VOUCH_OK);
	assert_int_equal(v, 1);
	assert_string_equal(decide_now(f->store, "olga", BERLIN), "time");
	assert_as_fresh(f, "olga", BERLIN);

	/* A user deleted and a role gone from a user are not served either. */
	put_ok(f->store, "user", "olga", "{\"roles\":[]}");
	assert_as_fresh(f, "olga", BERLIN);
	assert_int_equal(vouch_store_obj_delete(f->store, "user", "olga", VOUCH_STORE_ANY, "a"),
	                 VOUCH_OK);
	assert_int_equal(vouch_dir_compile_user(f->store, "olga", BERLIN, NOW, &none, err),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_string_equal(err, "no user \"olga\"");
}

/* Changes through another connection, and to the user (trainings, status, external window,
 * roles) or the time zone, all show in the next compile. */
static void test_cache_user_and_others(void **state)
{
	struct fixture *f = *state;
	struct vouch_store *other = NULL;
	struct vouch_dir_compiled none;
	char url[160], err[VOUCH_DIR_ERR_MAX];
	json_t *j;
	int64_t v = 0;

	base(f->store);
	put_ok(f->store, "user", "olga",
	       "{\"roles\":[\"operator\"],\"trainings\":{\"machine-safety\":"
	       "\"2028-01-01T00:00:00Z\"}}");
	assert_string_equal(decide_now(f->store, "olga", BERLIN), "permit");
	put_ok(f->store, "user", "olga",
	       "{\"roles\":[\"operator\"],\"trainings\":{\"machine-safety\":"
	       "\"2027-01-01T00:00:00Z\"}}");
	assert_string_equal(decide_now(f->store, "olga", BERLIN), "training");
	assert_as_fresh(f, "olga", BERLIN);
	/* 08:00 UTC is inside 06:00-22:00 in either zone: the rule is in the bytes all the same. */
	assert_as_fresh(f, "olga", "UTC0");
	assert_as_fresh(f, "olga", BERLIN);

	put_ok(f->store, "user", "boss", "{\"display_name\":\"Boss\",\"roles\":[]}");
	put_ok(
	    f->store, "user", "olga",
	    "{\"kind\":\"external\",\"roles\":[\"operator\"],\"trainings\":{\"machine-safety\":"
	    "\"2028-01-01T00:00:00Z\"},\"external\":{\"company\":\"ACME\",\"sponsor\":\"boss\","
	    "\"valid_from\":\"2027-01-01T00:00:00Z\",\"valid_until\":\"2027-01-15T07:00:00Z\"}}");
	assert_string_equal(decide_now(f->store, "olga", BERLIN), "expired");
	assert_as_fresh(f, "olga", BERLIN);

	/* Through another connection, which has its own cache. */
	snprintf(url, sizeof(url), "sqlite:%s", f->path);
	assert_int_equal(vouch_store_open(url, &other), VOUCH_OK);
	assert_string_equal(decide_now(other, "olga", BERLIN), "expired");
	j = js(OPERATOR_WEEKEND);
	assert_int_equal(
	    vouch_dir_put(other, "role", "operator", j, VOUCH_STORE_ANY, NOW, "a", &v, err),
	    VOUCH_OK);
	json_decref(j);
	put_ok(other, "user", "olga",
	       "{\"roles\":[\"operator\"],\"status\":\"revoked\",\"revoked_at\":"
	       "\"2027-01-02T00:00:00Z\"}");
	vouch_store_close(other);
	assert_int_equal(vouch_dir_compile_user(f->store, "olga", BERLIN, NOW, &none, err),
	                 VOUCH_ERR_STORE_NOT_FOUND);
	assert_string_equal(err, "user olga is revoked");
	put_ok(f->store, "user", "olga", "{\"roles\":[\"operator\"]}");
	assert_string_equal(decide_now(f->store, "olga", BERLIN), "time");
	assert_as_fresh(f, "olga", BERLIN);
}

/* More roles and users than the cache keeps, changed while they are compiled: every compile
 * as from an empty cache. */
static void test_cache_evictions(void **state)
{
	struct fixture *f = *state;
	char name[32], body[512], user[32];
	static const char *const types[] = {"machine", "door", "sensor"};

	put_ok(f->store, "zone", "plant", "{}");
	put_ok(f->store, "training", "machine-safety", "{}");
	for (int r = 0; r < 300; r++) {
		snprintf(name, sizeof(name), "r-%03d", r);
		snprintf(body, sizeof(body),
		         "{\"grants\":[{\"resources\":{\"zone\":\"plant\",\"type\":\"%s\"},"
		         "\"actions\":[\"read\"]%s}%s]}",
		         types[r % 3], r % 2 ? ",\"training\":\"machine-safety\"" : "",
		         r % 5 ? ",{\"resources\":{},\"actions\":[\"audit\"]}" : "");
		put_ok(f->store, "role", name, body);
	}
	for (int u = 0; u < 80; u++) {
		snprintf(user, sizeof(user), "u-%03d", u);
		snprintf(body, sizeof(body),
		         "{\"roles\":[\"r-%03d\",\"r-%03d\",\"r-%03d\",\"r-%03d\"],\"trainings\":"
		         "{\"machine-safety\":\"2027-%02d-01T00:00:00Z\"}}",
		         4 + (u * 7) % 96, 100 + (u * 13) % 100, 200 + (u * 29) % 100, u % 4,
		         u % 12 + 1);
		put_ok(f->store, "user", user, body);
	}
	for (int round = 0; round < 2; round++) {
		for (int u = 0; u < 80; u++) {
			snprintf(user, sizeof(user), "u-%03d", u);
			assert_as_fresh(f, user, BERLIN);
		}
	}
	/* Change the four roles every user shares (r-000 .. r-003), and some others. */
	for (int r = 0; r < 300; r += 3) {
		snprintf(name, sizeof(name), "r-%03d", r);
		snprintf(body, sizeof(body),
		         "{\"grants\":[{\"effect\":\"deny\",\"resources\":{\"type\":\"%s\"},"
		         "\"actions\":\"*\"}]}",
		         types[(r + 1) % 3]);
		put_ok(f->store, "role", name, body);
	}
	for (int u = 79; u >= 0; u--) {
		snprintf(user, sizeof(user), "u-%03d", u);
		assert_as_fresh(f, user, BERLIN);
	}
}

/* Roles whose text together is over what the cache keeps of it. */
static void test_cache_large_roles(void **state)
{
	struct fixture *f = *state;
	json_t *role, *grant;
	char desc[1001], name[32], user[32], body[128], err[VOUCH_DIR_ERR_MAX];
	int64_t v;

	put_ok(f->store, "zone", "plant", "{}");
	memset(desc, 'd', sizeof(desc) - 1);
	desc[sizeof(desc) - 1] = '\0';
	/* 8 roles of about 200 KiB each */
	for (int r = 0; r < 8; r++) {
		role = json_pack("{s:[]}", "grants");
		for (int g = 0; g < 200; g++) {
			grant = json_pack("{s:{s:s}, s:[s], s:s}", "resources", "zone", "plant",
			                  "actions", g % 2 ? "read" : "audit", "description", desc);
			json_array_append_new(json_object_get(role, "grants"), grant);
		}
		snprintf(name, sizeof(name), "big-%d", r);
		assert_int_equal(
		    vouch_dir_put(f->store, "role", name, role, VOUCH_STORE_ANY, NOW, "a", &v, err),
		    VOUCH_OK);
		json_decref(role);
	}
	for (int u = 0; u < 4; u++) {
		snprintf(user, sizeof(user), "bu-%d", u);
		snprintf(body, sizeof(body), "{\"roles\":[\"big-%d\",\"big-%d\"]}", 2 * u,
		         2 * u + 1);
		put_ok(f->store, "user", user, body);
	}
	for (int round = 0; round < 3; round++) {
		for (int u = 0; u < 4; u++) {
			snprintf(user, sizeof(user), "bu-%d", (u + round) % 4);
			assert_as_fresh(f, user, BERLIN);
		}
	}
	put_ok(f->store, "role", "big-0", "{\"grants\":[]}");
	assert_as_fresh(f, "bu-0", BERLIN);
}

struct names {
	char list[8][VOUCH_STORE_ID_MAX + 1];
	size_t n;
	struct vouch_store *store;
};

static int holder_cb(const char *user, void *ctx)
{
	struct names *ns = ctx;
	struct vouch_store_obj o;

	assert_true(ns->n < VOUCH_ARRAY_LEN(ns->list));
	snprintf(ns->list[ns->n++], sizeof(ns->list[0]), "%s", user);
	/* The callback may list users itself. */
	assert_int_equal(vouch_store_obj_get(ns->store, "user", user, &o), VOUCH_OK);
	vouch_store_obj_clear(&o);
	return 0;
}

static int stop_cb(const char *user, void *ctx)
{
	(void)user;
	(*(int *)ctx)++;
	return 1;
}

static void test_users_with_role(void **state)
{
	struct fixture *f = *state;
	struct names ns = {.store = f->store};
	int calls = 0;

	base(f->store);
	put_ok(f->store, "role", "service", "{\"grants\":[]}");
	put_ok(f->store, "user", "olga", "{\"roles\":[\"operator\",\"service\"]}");
	put_ok(f->store, "user", "nils", "{\"roles\":[\"service\"]}");
	put_ok(f->store, "user", "anna", "{\"roles\":[\"operator\"]}");
	assert_int_equal(vouch_dir_users_with_role(f->store, "operator", holder_cb, &ns), VOUCH_OK);
	assert_int_equal(ns.n, 2);
	assert_string_equal(ns.list[0], "anna");
	assert_string_equal(ns.list[1], "olga");
	ns.n = 0;
	assert_int_equal(vouch_dir_users_with_role(f->store, "nobody", holder_cb, &ns), VOUCH_OK);
	assert_int_equal(ns.n, 0);
	assert_int_equal(vouch_dir_users_with_role(f->store, "service", stop_cb, &calls), VOUCH_OK);
	assert_int_equal(calls, 1);
	assert_int_equal(vouch_dir_users_with_role(f->store, "service", NULL, NULL),
	                 VOUCH_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_names, setup, teardown),
	    cmocka_unit_test(test_parse_time),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accepted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_references, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_versions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compile, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compile_deterministic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compile_too_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_role_changed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_role_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_user_and_others, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_evictions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_large_roles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_users_with_role, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
