/*
 * Policy: the input as encoded permissions. Whatever view_init accepts must decide every fixed
 * request below without error, consistently (permit exactly when the reason is permit, the
 * deciding permission inside the set, the same answer twice), and explain each decision in full
 * and truncated. Whatever it refuses must leave the view empty.
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "vouch/policy.h"

static const char *const tags_a[] = {"food", "cold", "hot"};
static const char *const tags_b[] = {"hazmat"};

static const struct vouch_policy_resource resources[] = {
    {"press-1", "machine", "plant/hall-a/line-1", tags_b, 1},
    {"locker-7", "locker", "plant/gate", tags_a, 3},
    {"fridge-2", "storage", "plant/kitchen", tags_a, 2},
    {"r", "door", "plant", NULL, 0},
    {NULL, NULL, NULL, NULL, 0},
};

static const struct vouch_policy_reading readings[] = {
    {"speed", 0}, {"temp", 3.5}, {"door", -1}, {"v", NAN}, {"t", INFINITY},
};

static const int64_t instants[] = {
    0, 1774745999, 1774746000, 1792890000, 1780000000, INT64_MIN, INT64_MAX,
};

static const char *const person_zones[] = {"plant/hall-a/line-1", "plant/gate", NULL};

static void check(const struct vouch_policy_view *v, const struct vouch_policy_request *q)
{
	struct vouch_policy_decision d, again;
	char text[1024], small[24];
	int rc;

	FUZZ_CHECK(vouch_policy_decide(v, q, &d) == VOUCH_OK);
	FUZZ_CHECK(d.permit == (d.reason == VOUCH_POLICY_PERMIT));
	FUZZ_CHECK(vouch_policy_reason_name(d.reason) != NULL);
	FUZZ_CHECK(d.perm >= -1 && d.perm < (int)v->n_perms);
	FUZZ_CHECK((d.perm == -1) == (d.reason == VOUCH_POLICY_DENY_NO_GRANT));
	FUZZ_CHECK((d.detail >= 0) == (d.reason == VOUCH_POLICY_DENY_READING ||
	                               d.reason == VOUCH_POLICY_DENY_READING_MISSING));
	FUZZ_CHECK(d.detail < VOUCH_POLICY_MAX_READINGS);
	FUZZ_CHECK(vouch_policy_decide(v, q, &again) == VOUCH_OK);
	FUZZ_CHECK(memcmp(&d, &again, sizeof(d)) == 0);

	rc = vouch_policy_explain(v, q, &d, text, sizeof(text));
	FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_BUFFER);
	FUZZ_CHECK(strlen(text) < sizeof(text));
	FUZZ_CHECK(strncmp(text, d.permit ? "permit: " : "deny: ", d.permit ? 8 : 6) == 0);
	rc = vouch_policy_explain(v, q, &d, small, sizeof(small));
	FUZZ_CHECK(rc == VOUCH_ERR_BUFFER || (rc == VOUCH_OK && strlen(text) < sizeof(small)));
	FUZZ_CHECK(strlen(small) < sizeof(small));
	FUZZ_CHECK(strncmp(small, text, strlen(small)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vouch_policy_view v;
	int rc = vouch_policy_view_init(&v, data, size);

	FUZZ_CHECK(rc <= 0);
	if (rc != VOUCH_OK) {
		FUZZ_CHECK(v.buf == NULL && v.n_perms == 0 && v.n_roles == 0);
		return 0;
	}
	FUZZ_CHECK(v.buf == data && v.len == size);
	FUZZ_CHECK(v.n_perms <= VOUCH_POLICY_MAX_PERMS && v.n_roles <= VOUCH_POLICY_MAX_ROLES);
	FUZZ_CHECK(v.roles >= data && v.roles + v.roles_len <= v.perms);
	FUZZ_CHECK(v.perms + v.perms_len == data + size);

	for (size_t r = 0; r < VOUCH_ARRAY_LEN(resources); r++) {
		for (unsigned a = 0; a < 12; a++) {
			for (size_t t = 0; t < VOUCH_ARRAY_LEN(instants); t++) {
				struct vouch_policy_request q = {
				    &resources[r],
				    1u << a,
				    instants[t],
				    person_zones[(r + t) % VOUCH_ARRAY_LEN(person_zones)],
				    readings,
				    (r + a) % (VOUCH_ARRAY_LEN(readings) + 1)};

				check(&v, &q);
			}
		}
	}
	return 0;
}
