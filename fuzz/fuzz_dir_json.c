/*
 * The directory (server/directory.c) on arbitrary JSON: the bytes are parsed as jansson does for
 * the API (duplicate keys refused), then
 *   - validated as each kind (zone, resource, training, role, user) under a fixed name;
 *   - loaded as a policy document (vouch_dir_load) on a temporary SQLite store;
 *   - written as user "fuzz" (vouch_dir_put) and, when accepted, compiled
 *     (vouch_dir_compile_user) together with every other user the store holds.
 * Invariants:
 *   - only documented results: validation VOUCH_OK / VOUCH_ERR_INVALID / VOUCH_ERR_STORE_NOT_FOUND
 *     with a message exactly when refused; a load that fails changed nothing (no event, no
 *     object); compiling a stored user gives VOUCH_OK, VOUCH_ERR_STORE_NOT_FOUND (revoked) or
 *     VOUCH_ERR_INVALID (more grants than a credential holds);
 *   - what compiles is always valid permissions: vouch_policy_view_init() accepts it, and a
 *     decision on it is made;
 *   - no crash, leak or over-read (ASan, UBSan).
 * The store is made afresh every STORE_RUNS inputs so that what one input loaded does not decide
 * all later ones; it starts with zone "plant" and the staff user "boss" (a sponsor).
 *
 * Seeds (fuzz/corpus/dir_json/): the plant example policy (examples/plant-policy/policy.json),
 * each of its objects alone, users (staff, external, revoked), and documents and objects with
 * one rule broken each.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "directory.h"
#include "fuzz_site.h"
#include "vouch/policy.h"

#define STORE_RUNS 256
#define TZ_RULE    "CET-1CEST,M3.5.0,M10.5.0/3"
#define NOW        ((int64_t)1800000000)

static struct vouch_store *store;
static char db_path[PATH_MAX];
static unsigned runs;

static const struct {
	const char *kind;
	const char *name;
} kinds[] = {
    {"zone", "plant/fuzz"}, {"resource", "fuzz-1"}, {"training", "fuzz"},
    {"role", "fuzz"},       {"user", "fuzz"},
};

static void store_close(void)
{
	vouch_store_close(store);
	store = NULL;
	unlink(db_path);
	for (size_t i = 0; i < 2; i++) {
		char side[PATH_MAX + 8];

		snprintf(side, sizeof(side), "%s%s", db_path, i == 0 ? "-wal" : "-shm");
		unlink(side);
	}
}

static void put_fixture(const char *kind, const char *name, const char *body)
{
	char err[VOUCH_DIR_ERR_MAX];
	json_t *j = json_loads(body, 0, NULL);

	FUZZ_CHECK(j != NULL);
	FUZZ_CHECK(vouch_dir_put(store, kind, name, j, VOUCH_STORE_ANY, NOW, "fuzz", NULL, err) ==
	           VOUCH_OK);
	json_decref(j);
}

static void store_fresh(void)
{
	char url[PATH_MAX + 16];

	store_close();
	snprintf(url, sizeof(url), "sqlite:%s", db_path);
	FUZZ_CHECK(vouch_store_open(url, &store) == VOUCH_OK);
	put_fixture("zone", "plant", "{}");
	put_fixture("user", "boss", "{\"roles\":[]}");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	fuzz_path("dir.db", db_path, sizeof(db_path));
	fuzz_at_exit(store_close);
	store_fresh();
	return 0;
}

static void check_refusal(int rc, const char *err)
{
	size_t n = strnlen(err, VOUCH_DIR_ERR_MAX);

	FUZZ_CHECK(n < VOUCH_DIR_ERR_MAX);
	FUZZ_CHECK((rc == VOUCH_OK) == (n == 0));
}

static int64_t last_seq(void)
{
	int64_t seq = 0;

	/* Appending is the cheapest way to learn the last seq: one event per check. */
	FUZZ_CHECK(vouch_store_event_append(store, "fuzz.mark", "fuzz", NULL, &seq) == VOUCH_OK);
	return seq;
}

/* A decision on the compiled permissions: any well-formed request is answered. */
static void decide_once(const struct vouch_dir_compiled *c)
{
	static const char *const tags[] = {"press", "hot-process"};
	struct vouch_policy_view v;
	struct vouch_policy_resource res = {.id = "press-1",
	                                    .type = "machine",
	                                    .zone = "plant/hall-a/line-1",
	                                    .tags = tags,
	                                    .n_tags = 2};
	struct vouch_policy_reading rd = {.name = "speed", .value = 0};
	struct vouch_policy_request req = {.resource = &res,
	                                   .action = VOUCH_ACTION_OPERATE,
	                                   .now = NOW,
	                                   .person_zone = "plant/hall-a/line-1",
	                                   .readings = &rd,
	                                   .n_readings = 1};
	struct vouch_policy_decision d;

	FUZZ_CHECK(vouch_policy_view_init(&v, c->perm, c->perm_len) == VOUCH_OK);
	FUZZ_CHECK(vouch_policy_decide(&v, &req, &d) == VOUCH_OK);
}

static int compile_cb(const struct vouch_store_obj *obj, void *ctx)
{
	char err[VOUCH_DIR_ERR_MAX];
	struct vouch_dir_compiled c;
	int rc = vouch_dir_compile_user(store, obj->name, TZ_RULE, NOW, &c, err);

	(void)ctx;
	check_refusal(rc, err);
	FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_STORE_NOT_FOUND || rc == VOUCH_ERR_INVALID);
	if (rc == VOUCH_OK)
		decide_once(&c);
	else
		FUZZ_CHECK(c.perm == NULL && c.perm_len == 0);
	vouch_dir_compiled_clear(&c);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[VOUCH_DIR_ERR_MAX];
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	json_t *summary = NULL;
	int64_t before, version = 0;
	bool user_ok = false, loaded = false;
	int rc;

	if (body == NULL)
		return 0;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(kinds); i++) {
		rc = vouch_dir_validate(store, kinds[i].kind, kinds[i].name, body, err);
		check_refusal(rc, err);
		FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_INVALID ||
		           rc == VOUCH_ERR_STORE_NOT_FOUND);
		if (i == VOUCH_ARRAY_LEN(kinds) - 1)
			user_ok = rc == VOUCH_OK;
	}

	before = last_seq();
	rc = vouch_dir_load(store, body, NOW, "fuzz", &summary, err);
	check_refusal(rc, err);
	FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_INVALID || rc == VOUCH_ERR_STORE_NOT_FOUND);
	FUZZ_CHECK((rc == VOUCH_OK) == (summary != NULL));
	/* All or nothing: a refused document recorded no change. */
	if (rc != VOUCH_OK)
		FUZZ_CHECK(last_seq() == before + 1);
	json_decref(summary);
	loaded = rc == VOUCH_OK;

	/* Valid as a user then, still valid now: a load only adds and replaces. */
	if (user_ok) {
		rc = vouch_dir_put(store, "user", "fuzz", body, VOUCH_STORE_ANY, NOW, "fuzz",
		                   &version, err);
		check_refusal(rc, err);
		FUZZ_CHECK(rc == VOUCH_OK && version >= 1);
	}
	if (loaded || user_ok)
		FUZZ_CHECK(vouch_store_obj_list(store, "user", NULL, compile_cb, NULL) == VOUCH_OK);

	json_decref(body);
	if (++runs >= STORE_RUNS) {
		store_fresh();
		runs = 0;
	}
	return 0;
}
