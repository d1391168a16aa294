/*
 * vouch — the policy evaluator: compiled permissions, their compact CBOR form (the `perm` claim of
 * a credential, docs/policy.md), and the access decision with its reason.
 *
 * The same code decides in vouchd (`vouch policy explain`) and on a sensor (offline decisions), so
 * the decision side never allocates: a struct vouch_policy_view is a validated, zero-copy view of
 * the encoded permissions, and vouch_policy_decide() walks it with caller-provided state only.
 *
 * Semantics (docs/policy.md is the full text):
 * - A permission is {effect permit|deny, role, selector, actions, conditions}.
 * - The selector matches a resource when every given field matches: zone (a '/'-separated path;
 *   "plant/hall-a" matches "plant/hall-a" and "plant/hall-a/line-1", never "plant/hall-ab"),
 *   type and id exactly, and every listed tag is among the resource's tags.
 * - A permission applies when its selector matches and its action set has the requested action.
 *   Its conditions must all hold: validity dates [valid_from, valid_until), the required
 *   training unexpired (now < training_expires), one of the weekly windows in the site's local
 *   time (no windows: any time), the person's zone within person_zone ("@resource": within the
 *   resource's zone), every reading condition true on the resource's live readings.
 * - Deny overrides permit: any applicable deny permission whose conditions hold denies. Otherwise
 *   any applicable permit permission whose conditions hold permits. Otherwise deny, and the
 *   reason is that of the applicable permit permission that got furthest through the condition
 *   order (validity, training, time, zone, readings; the first such permission on a tie), or
 *   "no grant" when none applies.
 * - A reading that is absent or NaN fails its condition; an unknown person zone fails a zone
 *   condition. Times are int64 seconds since the Unix epoch, UTC; windows are local time from
 *   the set's POSIX TZ rule (include/vouch/tz.h), so DST changes are the rule's business.
 */
#ifndef VOUCH_POLICY_H
#define VOUCH_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vouch/common.h"
#include "vouch/tz.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_POLICY_FORMAT 1 /* first element of the encoded array */

/* Limits, enforced by both encode and view_init (bad input beyond them: VOUCH_ERR_CBOR_LIMIT;
 * a set beyond them given to encode: VOUCH_ERR_INVALID). */
#define VOUCH_POLICY_MAX_PERMS    512
#define VOUCH_POLICY_MAX_ROLES    64
#define VOUCH_POLICY_MAX_TAGS     8  /* per selector */
#define VOUCH_POLICY_MAX_WINDOWS  8  /* per permission */
#define VOUCH_POLICY_MAX_READINGS 8  /* per permission */
#define VOUCH_POLICY_NAME_MAX     64 /* bytes of any name: role, zone, type, id, tag, training */
#define VOUCH_POLICY_ENCODED_MAX  (64 * 1024)

/* Actions: one bit each. Names are the lower-case words ("enter", "open", ...). */
enum vouch_policy_action {
	VOUCH_ACTION_ENTER = 1u << 0,
	VOUCH_ACTION_OPEN = 1u << 1,
	VOUCH_ACTION_READ = 1u << 2,
	VOUCH_ACTION_WRITE = 1u << 3,
	VOUCH_ACTION_OPERATE = 1u << 4,
	VOUCH_ACTION_STOP = 1u << 5,
	VOUCH_ACTION_CONFIGURE = 1u << 6,
	VOUCH_ACTION_SERVICE = 1u << 7,
	VOUCH_ACTION_COMMISSION = 1u << 8,
	VOUCH_ACTION_UPDATE = 1u << 9,
	VOUCH_ACTION_AUDIT = 1u << 10,
	VOUCH_ACTION_ADMIN = 1u << 11,
};
#define VOUCH_ACTION_ALL ((1u << 12) - 1)

/* The name of one action bit ("operate"), NULL when not exactly one known bit. */
const char *vouch_policy_action_name(uint32_t action);
/* Parse one action name; VOUCH_ERR_INVALID when unknown. "*" is VOUCH_ACTION_ALL. */
int vouch_policy_action_parse(const char *name, uint32_t *action);

enum vouch_policy_op {
	VOUCH_POLICY_LT = 0,
	VOUCH_POLICY_LE = 1,
	VOUCH_POLICY_GT = 2,
	VOUCH_POLICY_GE = 3,
	VOUCH_POLICY_EQ = 4,
	VOUCH_POLICY_NE = 5,
};
/* "<", "<=", ">", ">=", "==", "!=". */
const char *vouch_policy_op_name(enum vouch_policy_op op);
int vouch_policy_op_parse(const char *name, enum vouch_policy_op *op);

/* ---- building (vouchd) ------------------------------------------------------------------- */

/* A weekly window in local time: days bit 0 = Monday .. bit 6 = Sunday; minutes 0..1440 of the
 * day. end_min <= start_min wraps past midnight: the window opened on a listed day runs into the
 * next day (a night shift Mon 22:00 - Tue 06:00 is days=Mon, 1320, 360). */
struct vouch_policy_window {
	uint8_t days;
	uint16_t start_min;
	uint16_t end_min;
};

struct vouch_policy_reading_cond {
	const char *name;
	enum vouch_policy_op op;
	double value; /* finite */
};

struct vouch_policy_perm {
	bool deny;
	uint16_t role; /* index into vouch_policy_set.roles */
	/* selector: NULL / 0 = any */
	const char *zone;
	const char *type;
	const char *id;
	const char *const *tags;
	size_t n_tags;
	uint32_t actions; /* non-zero */
	/* conditions: 0 / NULL = none */
	const struct vouch_policy_window *windows;
	size_t n_windows;
	int64_t valid_from;  /* 0: unbounded */
	int64_t valid_until; /* 0: unbounded */
	const char *training;
	int64_t training_expires; /* with training: the person's training is valid until then */
	const char *person_zone;  /* a zone path, or "@resource" */
	const struct vouch_policy_reading_cond *readings;
	size_t n_readings;
};

struct vouch_policy_set {
	const char *tz; /* POSIX TZ rule of the site, e.g. "CET-1CEST,M3.5.0,M10.5.0/3" */
	const char *const *roles;
	size_t n_roles;
	const struct vouch_policy_perm *perms;
	size_t n_perms;
};

/* Encode set (validated against the limits and the rules above) into buf. Deterministic: the same
 * set always gives the same bytes. VOUCH_ERR_BUFFER when cap is too small (*len is then the size
 * needed; buf may be NULL with cap 0 to ask for it); VOUCH_ERR_INVALID for a set that breaks a
 * rule (bad TZ, role index out of range, empty actions, window out of range, name too long,
 * non-finite value, over a limit). */
int vouch_policy_encode(const struct vouch_policy_set *set, uint8_t *buf, size_t cap, size_t *len);

/* ---- deciding (vouchd and sensors) ------------------------------------------------------- */

/* A validated view of encoded permissions; points into the caller's buffer, which must outlive
 * it. No allocation. */
struct vouch_policy_view {
	const uint8_t *buf;
	size_t len;
	struct vouch_tz tz;
	const uint8_t *roles; /* the encoded roles array's items */
	size_t roles_len;
	size_t n_roles;
	const uint8_t *perms; /* the encoded perms array's items */
	size_t perms_len;
	size_t n_perms;
};

/* Validate encoded permissions strictly (format version, every field's type and range, limits,
 * no unknown map keys, no trailing bytes) and fill v. Errors: VOUCH_ERR_CBOR_* for malformed CBOR,
 * VOUCH_ERR_UNSUPPORTED for another format version, VOUCH_ERR_POLICY_FORMAT for well-formed CBOR
 * that is not valid permissions. */
int vouch_policy_view_init(struct vouch_policy_view *v, const uint8_t *buf, size_t len);

struct vouch_policy_resource {
	const char *id;
	const char *type;
	const char *zone;
	const char *const *tags;
	size_t n_tags;
};

struct vouch_policy_reading {
	const char *name;
	double value;
};

struct vouch_policy_request {
	const struct vouch_policy_resource *resource;
	uint32_t action; /* exactly one bit */
	int64_t now;
	const char *person_zone; /* NULL: unknown */
	const struct vouch_policy_reading *readings;
	size_t n_readings;
};

enum vouch_policy_reason {
	VOUCH_POLICY_PERMIT = 0,         /* a permit permission applies and its conditions hold */
	VOUCH_POLICY_DENY_NO_GRANT,      /* no permission covers this resource and action */
	VOUCH_POLICY_DENY_RULE,          /* an explicit deny permission applies */
	VOUCH_POLICY_DENY_NOT_YET_VALID, /* now < valid_from */
	VOUCH_POLICY_DENY_EXPIRED,       /* now >= valid_until */
	VOUCH_POLICY_DENY_TRAINING,      /* the required training expired */
	VOUCH_POLICY_DENY_TIME,          /* outside every weekly window */
	VOUCH_POLICY_DENY_ZONE,          /* the person is not (known to be) in the required zone */
	VOUCH_POLICY_DENY_READING,       /* a reading condition is false */
	VOUCH_POLICY_DENY_READING_MISSING, /* a reading the condition needs is absent or NaN */
};

/* "permit", "no-grant", "deny-rule", "not-yet-valid", "expired", "training", "time", "zone",
 * "reading", "reading-missing"; NULL for any other value. */
const char *vouch_policy_reason_name(enum vouch_policy_reason reason);

struct vouch_policy_decision {
	bool permit;
	enum vouch_policy_reason reason;
	int perm;   /* index of the deciding permission, -1 for no-grant */
	int detail; /* index of the failing reading condition, else -1 */
};

/* Decide; VOUCH_OK with *out filled for every well-formed request (a deny is not an error).
 * VOUCH_ERR_INVALID: NULL pointers or an action that is not exactly one known bit.
 * VOUCH_ERR_POLICY_FORMAT (and *out a no-grant deny): v was not filled by view_init. */
int vouch_policy_decide(const struct vouch_policy_view *v, const struct vouch_policy_request *req,
                        struct vouch_policy_decision *out);

/*
 * One line of text for a person: the decision, the role and permission, and the condition that
 * decided it with the values involved, e.g.
 *   permit: role "operator" grants operate on type=machine zone=plant/hall-a, window Mon-Fri
 *   06:00-14:00 (now Tue 09:12 CET)
 *   deny: role "operator" grants operate on ... but reading speed=12 is not <= 0
 * Truncated to cap (always NUL-terminated); VOUCH_ERR_BUFFER when truncated. VOUCH_ERR_INVALID
 * (and "") when d cannot be a decision of v for req (permission index, effect, reading index).
 */
int vouch_policy_explain(const struct vouch_policy_view *v, const struct vouch_policy_request *req,
                         const struct vouch_policy_decision *d, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
