/*
 * vouch-sensor: offline decisions (DESIGN.md flow 5, docs/sensor-protocol.md "Offline
 * decisions").
 *
 * /authz-info takes a credential into the session when it verifies under the issuer key of the
 * bundle (iss and aud of the bundle, nbf / exp on the sensor's clock), when its cnf is the key
 * the phone proved in this session's EDHOC (a copied credential has no proof of possession), and
 * when the held revocation list does not name it. /access then runs the policy evaluator on the
 * sensor as the resource (the directory resource of its bundle: id, type, zone, tags), with the
 * person standing at it (their zone is the sensor's) and the sensor's own readings. A stale
 * revocation list puts the sensor in its stricter mode: `read` and `enter` still decide by policy,
 * every other action is denied. Every decision, and every refused credential, becomes a signed
 * access event in the durable queue.
 *
 * Nothing here allocates: the credential lives in the session, the rest on the stack.
 */
#include <stdio.h>
#include <string.h>

#include "sensor.h"
#include "vouch/cbor.h"
#include "vouch/log.h"

#define REASON_STALE   "revocation list older than its max age"
#define REASON_NO_LIST "no revocation list held yet (stricter mode)"
#define ACTION_MAX     16

int sensor_access_event(struct vouch_sensor *s, const struct vouch_cred *cred, const char *action,
                        bool granted, const char *reason, uint8_t *out, size_t cap, size_t *out_len)
{
	struct sensor_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = "access";
	if (cred != NULL) {
		ev.subject = cred->claims.sub;
		ev.subject_len = cred->claims.sub_len;
		ev.cti = cred->claims.cti;
		ev.cti_len = cred->claims.cti_len;
		ev.who = cred->phone;
		ev.who_len = cred->phone_len;
	}
	ev.action = action;
	ev.has_granted = true;
	ev.granted = granted;
	ev.reason = reason;
	ev.has_rl_version = s->has_rl;
	ev.rl_version = s->rl.version;
	return sensor_event_record(s, &ev, out, cap, out_len);
}

/* 4.01 with reason, recorded as a refused access. */
static int refuse_cred(struct vouch_sensor *s, const struct vouch_cred *cred, const char *reason,
                       uint8_t *out, size_t cap, size_t *out_len, unsigned *coap_code)
{
	uint8_t event[SENSOR_EVENT_MAX];
	size_t event_len = 0;
	int rc =
	    sensor_access_event(s, cred, NULL, false, reason, event, sizeof(event), &event_len);

	vouch_log(VOUCH_LOG_INFO, "sensor.credential.refused", "why", reason, NULL);
	if (rc != VOUCH_OK)
		return rc;
	return sensor_answer_refusal(reason, out, cap, out_len, coap_code);
}

int sensor_handle_authz_info(struct vouch_sensor *s, struct sensor_session *sess, const uint8_t *in,
                             size_t in_len, uint8_t *out, size_t cap, size_t *out_len,
                             unsigned *coap_code)
{
	struct vouch_cred_rules rules;
	uint8_t tp[VOUCH_THUMBPRINT_LEN];
	char reason[SENSOR_REASON_MAX];
	int rc;

	*out_len = 0;
	*coap_code = SENSOR_INTERNAL;
	if (!s->st.provisioned)
		return sensor_answer_diag(SENSOR_FORBIDDEN, "not commissioned", out, cap, out_len,
		                          coap_code);
	if (sess == NULL || sess->state != SENSOR_SESSION_SECURED)
		return sensor_answer_refusal("no session: run EDHOC first", out, cap, out_len,
		                             coap_code);
	if (in_len == 0)
		return sensor_answer_diag(SENSOR_BAD_REQUEST, "no credential", out, cap, out_len,
		                          coap_code);
	if (in_len > sizeof(sess->cred_buf))
		return sensor_answer_diag(SENSOR_TOO_LARGE, "credential too large", out, cap,
		                          out_len, coap_code);
	/* A new credential replaces the old one, also when it is refused. */
	sess->has_cred = false;
	memset(&sess->cred, 0, sizeof(sess->cred));
	memcpy(sess->cred_buf, in, in_len);
	sess->cred_len = in_len;
	rules.iss = s->st.iss;
	rules.aud = s->st.aud;
	rules.now = sensor_now(s);
	rules.leeway = SENSOR_LEEWAY;
	rc = vouch_cred_verify(sess->cred_buf, in_len, &s->issuer, &rules, &sess->cred);
	if (rc != VOUCH_OK) {
		snprintf(reason, sizeof(reason), "credential refused: %s", vouch_strerror(rc));
		return refuse_cred(s, NULL, reason, out, cap, out_len, coap_code);
	}
	rc = vouch_cose_key_thumbprint(&sess->peer, tp);
	if (rc != VOUCH_OK)
		return rc;
	if (!vouch_ct_equal(tp, sess->cred.cnf_thumbprint, sizeof(tp)))
		return refuse_cred(
		    s, &sess->cred,
		    "credential refused: it is bound to another key than the one this "
		    "phone proved",
		    out, cap, out_len, coap_code);
	if (s->has_rl && vouch_revlist_check(&s->rl, &sess->cred) != VOUCH_OK)
		return refuse_cred(s, &sess->cred, "credential refused: revoked", out, cap, out_len,
		                   coap_code);
	rc = vouch_policy_view_init(&sess->perm, sess->cred.perm, sess->cred.perm_len);
	if (rc != VOUCH_OK) {
		snprintf(reason, sizeof(reason), "credential refused: permissions: %s",
		         vouch_strerror(rc));
		return refuse_cred(s, &sess->cred, reason, out, cap, out_len, coap_code);
	}
	sess->has_cred = true;
	vouch_log(VOUCH_LOG_INFO, "sensor.credential.accepted", NULL);
	*coap_code = SENSOR_CREATED;
	return VOUCH_OK;
}

int sensor_decide(struct vouch_sensor *s, struct sensor_session *sess, uint32_t action,
                  bool *granted, char *reason, size_t cap)
{
	const struct vouch_cwt_claims *c = &sess->cred.claims;
	const char *tags[SENSOR_TAGS_MAX];
	struct vouch_policy_resource res;
	struct vouch_policy_request req;
	struct vouch_policy_decision d;
	int64_t now = sensor_now(s);
	bool stale;
	size_t n;
	int rc;

	*granted = false;
	snprintf(reason, cap, "no decision");
	if (sess == NULL || !sess->has_cred)
		return VOUCH_ERR_INVALID;
	/* The credential was good when it came; the session may outlive it. */
	if (now >= c->exp + SENSOR_LEEWAY) {
		snprintf(reason, cap, "credential expired");
		return VOUCH_OK;
	}
	if (now < c->nbf - SENSOR_LEEWAY) {
		snprintf(reason, cap, "credential not yet valid");
		return VOUCH_OK;
	}
	if (s->has_rl && vouch_revlist_check(&s->rl, &sess->cred) != VOUCH_OK) {
		snprintf(reason, cap, "credential revoked");
		return VOUCH_OK;
	}
	stale = sensor_list_stale(s, now);
	if (stale && action != VOUCH_ACTION_READ && action != VOUCH_ACTION_ENTER) {
		/* Fail closed: only the actions whose denial does more harm than a revoked
		 * person's use still decide by policy. */
		snprintf(reason, cap, "%s", s->has_rl ? REASON_STALE : REASON_NO_LIST);
		return VOUCH_OK;
	}
	sensor_readings_refresh(&s->rd);
	/* The sensor decides as the directory resource it was commissioned as (its bundle): a
	 * grant naming that resource's id or tags applies here, not only one on type and zone. */
	for (size_t i = 0; i < s->st.n_tags && i < SENSOR_TAGS_MAX; i++)
		tags[i] = s->st.tags[i];
	memset(&res, 0, sizeof(res));
	res.id = s->st.resource[0] != '\0' ? s->st.resource : s->st.device_id;
	res.type = s->st.type;
	res.zone = s->st.zone;
	res.tags = s->st.n_tags > 0 ? tags : NULL;
	res.n_tags = s->st.n_tags <= SENSOR_TAGS_MAX ? s->st.n_tags : SENSOR_TAGS_MAX;
	memset(&req, 0, sizeof(req));
	req.resource = &res;
	req.action = action;
	req.now = now;
	req.person_zone = s->st.zone; /* they stand at the sensor */
	req.readings = s->rd.r;
	req.n_readings = s->rd.n;
	rc = vouch_policy_decide(&sess->perm, &req, &d);
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_policy_explain(&sess->perm, &req, &d, reason, cap);
	if (rc != VOUCH_OK && rc != VOUCH_ERR_BUFFER)
		snprintf(reason, cap, "%s", vouch_policy_reason_name(d.reason));
	if (stale) {
		n = strlen(reason);
		snprintf(reason + n, cap - n, " (%s)", s->has_rl ? REASON_STALE : REASON_NO_LIST);
	}
	*granted = d.permit;
	return VOUCH_OK;
}

/* access-request = {1: tstr}: the action, exactly one known one. */
static int request_read(const uint8_t *in, size_t len, uint32_t *action, char name[ACTION_MAX])
{
	struct vouch_cbor_reader r;
	const char *p;
	size_t n = 0, plen = 0;
	uint64_t key = 0;

	*action = 0;
	name[0] = '\0';
	if (vouch_cbor_validate(in, len, NULL) != VOUCH_OK)
		return VOUCH_ERR_CBOR_MALFORMED;
	vouch_cbor_reader_init(&r, in, len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK || n != 1 ||
	    vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key != 1 ||
	    vouch_cbor_read_tstr(&r, &p, &plen) != VOUCH_OK || !vouch_cbor_reader_done(&r))
		return VOUCH_ERR_CBOR_TYPE;
	if (plen == 0 || plen >= ACTION_MAX || memchr(p, '\0', plen) != NULL)
		return VOUCH_ERR_INVALID;
	memcpy(name, p, plen);
	name[plen] = '\0';
	if (vouch_policy_action_parse(name, action) != VOUCH_OK ||
	    vouch_policy_action_name(*action) == NULL)
		return VOUCH_ERR_INVALID;
	return VOUCH_OK;
}

int sensor_handle_access(struct vouch_sensor *s, struct sensor_session *sess, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t cap, size_t *out_len,
                         unsigned *coap_code)
{
	struct vouch_cbor_writer w;
	uint8_t event[SENSOR_EVENT_MAX];
	char reason[SENSOR_REASON_MAX], name[ACTION_MAX];
	size_t event_len = 0;
	uint32_t action = 0;
	bool granted = false;
	int rc;

	*out_len = 0;
	*coap_code = SENSOR_INTERNAL;
	if (!s->st.provisioned)
		return sensor_answer_diag(SENSOR_FORBIDDEN, "not commissioned", out, cap, out_len,
		                          coap_code);
	if (sess == NULL || sess->state != SENSOR_SESSION_SECURED || !sess->has_cred)
		return sensor_answer_refusal("no credential accepted in this session", out, cap,
		                             out_len, coap_code);
	rc = request_read(in, in_len, &action, name);
	if (rc == VOUCH_ERR_INVALID)
		return sensor_answer_diag(SENSOR_BAD_REQUEST, "unknown action", out, cap, out_len,
		                          coap_code);
	if (rc != VOUCH_OK)
		return sensor_answer_diag(SENSOR_BAD_REQUEST, "malformed access request", out, cap,
		                          out_len, coap_code);
	rc = sensor_decide(s, sess, action, &granted, reason, sizeof(reason));
	if (rc == VOUCH_OK)
		rc = sensor_access_event(s, &sess->cred, name, granted, reason, event,
		                         sizeof(event), &event_len);
	if (rc != VOUCH_OK)
		return rc;
	vouch_log(VOUCH_LOG_INFO, "sensor.access", "action", name, "granted",
	          granted ? "true" : "false", "reason", reason, NULL);
	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_map(&w, 3);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_bool(&w, granted);
	vouch_cbor_write_uint(&w, 2);
	vouch_cbor_write_cstr(&w, reason);
	vouch_cbor_write_uint(&w, 3);
	vouch_cbor_write_bstr(&w, event, event_len);
	*coap_code = SENSOR_CONTENT;
	return vouch_cbor_writer_finish(&w, out_len);
}
