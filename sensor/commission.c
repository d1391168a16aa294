/*
 * vouch-sensor: commissioning (DESIGN.md flow 4) and decommissioning.
 *
 * An unprovisioned sensor hands its CSR to the installer's phone in an EDHOC session whose key
 * the installer checked against the pairing code, and takes the sealed bundle in that same
 * session: a COSE_Encrypt (ECDH-ES + HKDF-256) to the identity key, so only the secure element
 * opens it; inside, a COSE_Sign1 by the site's issuing CA over the bundle. The sensor checks the
 * signature under the issuing CA certificate the bundle carries, that the device certificate is
 * for its own key and device id and chains to that CA, decodes the bundle strictly, and installs
 * it atomically. These anchors come only from this first, physically present commissioning;
 * afterwards only what is signed under them changes anything.
 *
 * Decommissioning needs a credential allowing `commission` here; the last event goes back to the
 * phone, then the key is destroyed and the state wiped (main.c, once the answer is out).
 */
#include <stdio.h>
#include <string.h>

#include "sensor.h"
#include "vouch/cbor.h"
#include "vouch/cose.h"
#include "vouch/log.h"
#include "vouch/tz.h"

#define BUNDLE_VERSION 1
#define BUNDLE_KEYS    16
#define CSR_MAX        1024

struct bundle {
	const char *text[BUNDLE_KEYS + 1]; /* by key: 2, 3, 4, 5, 11, 12, 13, 15 */
	size_t text_len[BUNDLE_KEYS + 1];
	const uint8_t *bytes[BUNDLE_KEYS + 1]; /* by key: 6, 8, 9, 10 */
	size_t bytes_len[BUNDLE_KEYS + 1];
	const uint8_t *ca[SENSOR_CA_MAX];
	size_t ca_len[SENSOR_CA_MAX];
	size_t n_ca;
	int64_t issued_at;
	const char *tag[SENSOR_TAGS_MAX]; /* key 16 */
	size_t tag_len[SENSOR_TAGS_MAX];
	size_t n_tags;
};

static int bundle_read_value(struct vouch_cbor_reader *r, uint64_t key, struct bundle *b)
{
	uint64_t u = 0;
	size_t n = 0;

	switch (key) {
	case 1:
		if (vouch_cbor_read_uint(r, &u) != VOUCH_OK)
			return VOUCH_ERR_CBOR_TYPE;
		return u == BUNDLE_VERSION ? VOUCH_OK : VOUCH_ERR_UNSUPPORTED;
	case 2:
	case 3:
	case 4:
	case 5:
	case 11:
	case 12:
	case 13:
	case 15:
		return vouch_cbor_read_tstr(r, &b->text[key], &b->text_len[key]);
	case 6:
	case 8:
	case 9:
	case 10:
		return vouch_cbor_read_bstr(r, &b->bytes[key], &b->bytes_len[key]);
	case 7:
		if (vouch_cbor_read_array(r, &n) != VOUCH_OK)
			return VOUCH_ERR_CBOR_TYPE;
		if (n == 0 || n > SENSOR_CA_MAX)
			return VOUCH_ERR_CBOR_LIMIT;
		for (size_t i = 0; i < n; i++)
			if (vouch_cbor_read_bstr(r, &b->ca[i], &b->ca_len[i]) != VOUCH_OK)
				return VOUCH_ERR_CBOR_TYPE;
		b->n_ca = n;
		return VOUCH_OK;
	case 14:
		return vouch_cbor_read_int(r, &b->issued_at);
	case 16:
		if (vouch_cbor_read_array(r, &n) != VOUCH_OK)
			return VOUCH_ERR_CBOR_TYPE;
		if (n > SENSOR_TAGS_MAX)
			return VOUCH_ERR_CBOR_LIMIT;
		for (size_t i = 0; i < n; i++)
			if (vouch_cbor_read_tstr(r, &b->tag[i], &b->tag_len[i]) != VOUCH_OK)
				return VOUCH_ERR_CBOR_TYPE;
		b->n_tags = n;
		return VOUCH_OK;
	default:
		return VOUCH_ERR_CBOR_TYPE;
	}
}

/* The bundle map (docs/sensor-protocol.md `bundle`): every key exactly once, nothing else. */
static int bundle_read(const uint8_t *p, size_t len, struct bundle *b)
{
	struct vouch_cbor_reader r;
	uint32_t seen = 0;
	uint64_t key = 0;
	size_t n = 0;
	int rc;

	memset(b, 0, sizeof(*b));
	rc = vouch_cbor_validate(p, len, NULL);
	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_reader_init(&r, p, len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK || n != BUNDLE_KEYS)
		return VOUCH_ERR_CBOR_TYPE;
	for (size_t i = 0; i < n; i++) {
		if (vouch_cbor_read_uint(&r, &key) != VOUCH_OK || key == 0 || key > BUNDLE_KEYS ||
		    (seen & (1u << key)) != 0)
			return VOUCH_ERR_CBOR_TYPE;
		seen |= 1u << key;
		rc = bundle_read_value(&r, key, b);
		if (rc != VOUCH_OK)
			return rc;
	}
	return vouch_cbor_reader_done(&r) ? VOUCH_OK : VOUCH_ERR_CBOR_TRAILING;
}

static int copy_bytes(uint8_t *dst, size_t cap, size_t *dst_len, const uint8_t *p, size_t len)
{
	*dst_len = 0;
	if (len == 0 || len > cap)
		return VOUCH_ERR_CBOR_LIMIT;
	memcpy(dst, p, len);
	*dst_len = len;
	return VOUCH_OK;
}

/* Fill the provisioned part of st from b (sizes and texts checked). */
static int state_fill(struct sensor_state *st, const struct bundle *b)
{
	struct {
		char *dst;
		size_t cap;
		int key;
	} texts[] = {
	    {st->device_id, sizeof(st->device_id), 2},
	    {st->zone, sizeof(st->zone), 3},
	    {st->type, sizeof(st->type), 4},
	    {st->tz, sizeof(st->tz), 5},
	    {st->iss, sizeof(st->iss), 11},
	    {st->aud, sizeof(st->aud), 12},
	    {st->installer, sizeof(st->installer), 13},
	    {st->resource, sizeof(st->resource), 15},
	};
	int rc = VOUCH_OK;

	for (size_t i = 0; i < VOUCH_ARRAY_LEN(texts) && rc == VOUCH_OK; i++)
		rc = sensor_text_copy(texts[i].dst, texts[i].cap, b->text[texts[i].key],
		                      b->text_len[texts[i].key]);
	for (size_t i = 0; i < b->n_tags && rc == VOUCH_OK; i++)
		rc = sensor_text_copy(st->tags[i], sizeof(st->tags[i]), b->tag[i], b->tag_len[i]);
	st->n_tags = b->n_tags;
	if (rc == VOUCH_OK)
		rc = copy_bytes(st->cert, sizeof(st->cert), &st->cert_len, b->bytes[6],
		                b->bytes_len[6]);
	for (size_t i = 0; i < b->n_ca && rc == VOUCH_OK; i++)
		rc = copy_bytes(st->ca[i], SENSOR_CERT_MAX, &st->ca_len[i], b->ca[i], b->ca_len[i]);
	st->n_ca = b->n_ca;
	if (rc == VOUCH_OK)
		rc = copy_bytes(st->issuer_key, sizeof(st->issuer_key), &st->issuer_key_len,
		                b->bytes[8], b->bytes_len[8]);
	if (rc == VOUCH_OK)
		rc = copy_bytes(st->revlist_key, sizeof(st->revlist_key), &st->revlist_key_len,
		                b->bytes[9], b->bytes_len[9]);
	if (rc == VOUCH_OK)
		rc = copy_bytes(st->firmware_key, sizeof(st->firmware_key), &st->firmware_key_len,
		                b->bytes[10], b->bytes_len[10]);
	st->commissioned_at = b->issued_at;
	st->revlist_len = 0;
	st->provisioned = true;
	return rc == VOUCH_OK ? VOUCH_OK : VOUCH_ERR_CBOR_LIMIT;
}

/* The inner COSE_Sign1 verifies under the key of the issuing CA certificate (7[0]). */
static int signed_by_issuing(const struct vouch_cose_sign1 *s1, const struct sensor_state *st)
{
	uint8_t point[VOUCH_P256_POINT_LEN];
	struct vouch_key ca;
	int rc;

	vouch_key_init(&ca);
	rc = sensor_cert_point(st->ca[0], st->ca_len[0], point);
	if (rc == VOUCH_OK)
		rc = vouch_key_import_public(&ca, VOUCH_KEY_P256, point, sizeof(point));
	if (rc == VOUCH_OK)
		rc = vouch_cose_sign1_verify(s1, &ca, NULL, 0, NULL, 0);
	vouch_key_clear(&ca);
	return rc;
}

static int install(struct vouch_sensor *s, const uint8_t *sealed, size_t sealed_len, char *why,
                   size_t why_cap)
{
	struct vouch_cose_recipient_key rk;
	struct vouch_cose_encrypt enc;
	struct vouch_cose_sign1 s1;
	struct vouch_tz tz;
	struct bundle b;
	size_t pt_len = 0;
	int rc;

	rc = vouch_cose_encrypt_decode(sealed, sealed_len, &enc);
	/* The content algorithm of docs/sensor-protocol.md, and no other. */
	if (rc == VOUCH_OK && (!enc.hdr.has_alg || enc.hdr.alg != VOUCH_COSE_ALG_AES_CCM_16_64_128))
		rc = VOUCH_ERR_COSE_ALG;
	if (rc != VOUCH_OK) {
		snprintf(why, why_cap, "not a sealed bundle: %s", vouch_strerror(rc));
		return rc;
	}
	memset(&rk, 0, sizeof(rk));
	rk.priv = &s->id;
	rc =
	    vouch_cose_encrypt_decrypt(&enc, &rk, NULL, 0, s->scratch, sizeof(s->scratch), &pt_len);
	if (rc != VOUCH_OK) {
		snprintf(why, why_cap, "the bundle is not sealed to this sensor's key: %s",
		         vouch_strerror(rc));
		return rc;
	}
	rc = vouch_cose_sign1_decode(s->scratch, pt_len, &s1);
	if (rc == VOUCH_OK && s1.payload == NULL)
		rc = VOUCH_ERR_COSE_STRUCTURE;
	if (rc == VOUCH_OK)
		rc = bundle_read(s1.payload, s1.payload_len, &b);
	if (rc == VOUCH_OK)
		rc = state_fill(&s->st, &b);
	if (rc != VOUCH_OK) {
		snprintf(why, why_cap, "the bundle is malformed: %s", vouch_strerror(rc));
		return rc;
	}
	rc = signed_by_issuing(&s1, &s->st);
	if (rc != VOUCH_OK) {
		snprintf(why, why_cap, "the bundle is not signed by its issuing CA: %s",
		         vouch_strerror(rc));
		return rc;
	}
	rc = sensor_cert_verify(s->st.cert, s->st.cert_len, s->st.ca, s->st.ca_len, s->st.n_ca,
	                        s->st.device_id, s->id_point, why, why_cap);
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_tz_parse(s->st.tz, &tz);
	if (rc != VOUCH_OK) {
		snprintf(why, why_cap, "the bundle's time zone rule is not usable");
		return rc;
	}
	rc = sensor_anchors_load(s);
	if (rc != VOUCH_OK) {
		snprintf(why, why_cap, "the bundle's keys are not P-256 COSE_Keys");
		return rc;
	}
	why[0] = '\0';
	return sensor_state_save(s->sdir, &s->st, s->scratch, sizeof(s->scratch));
}

int sensor_commission_install(struct vouch_sensor *s, const uint8_t *sealed, size_t sealed_len,
                              uint8_t *event, size_t event_cap, size_t *event_len, char *why,
                              size_t why_cap)
{
	char zone[SENSOR_NAME_MAX + 1], type[SENSOR_NAME_MAX + 1];
	uint64_t next_seq = s->st.next_seq;
	struct sensor_event ev;
	int rc;

	*event_len = 0;
	why[0] = '\0';
	if (!s->started || s->st.provisioned)
		return VOUCH_ERR_INVALID;
	memcpy(zone, s->st.zone, sizeof(zone));
	memcpy(type, s->st.type, sizeof(type));
	rc = install(s, sealed, sealed_len, why, why_cap);
	vouch_wipe(s->scratch, sizeof(s->scratch));
	if (rc != VOUCH_OK) {
		/* Back to exactly what it was: unprovisioned, nothing of the bundle kept. */
		sensor_state_init(&s->st);
		memcpy(s->st.zone, zone, sizeof(zone));
		memcpy(s->st.type, type, sizeof(type));
		s->st.next_seq = next_seq;
		(void)sensor_anchors_load(s);
		vouch_log(VOUCH_LOG_WARN, "sensor.commission.refused", "why",
		          why[0] != '\0' ? why : vouch_strerror(rc), NULL);
		return rc;
	}
	if (strcmp(zone, s->st.zone) != 0 || strcmp(type, s->st.type) != 0)
		vouch_log(VOUCH_LOG_WARN, "sensor.commission.config", "zone", s->st.zone, "type",
		          s->st.type, "was_zone", zone, "was_type", type, NULL);
	sensor_readings_set_type(&s->rd, s->st.type);
	vouch_log(VOUCH_LOG_INFO, "sensor.commissioned", "device", s->st.device_id, "resource",
	          s->st.resource, "zone", s->st.zone, "type", s->st.type, "installer",
	          s->st.installer, NULL);
	memset(&ev, 0, sizeof(ev));
	ev.kind = "commission";
	ev.who = s->st.installer;
	ev.who_len = strlen(s->st.installer);
	return sensor_event_record(s, &ev, event, event_cap, event_len);
}

/* commissioned = {1: 1, 2: device id, 3: event} */
static int commissioned_answer(const struct vouch_sensor *s, unsigned code, const uint8_t *event,
                               size_t event_len, uint8_t *out, size_t cap, size_t *out_len,
                               unsigned *coap_code)
{
	struct vouch_cbor_writer w;

	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_map(&w, 3);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_uint(&w, 2);
	vouch_cbor_write_cstr(&w, s->st.device_id);
	vouch_cbor_write_uint(&w, 3);
	vouch_cbor_write_bstr(&w, event, event_len);
	*coap_code = code;
	return vouch_cbor_writer_finish(&w, out_len);
}

int sensor_handle_commission_csr(struct vouch_sensor *s, struct sensor_session *sess,
                                 const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                                 size_t *out_len, unsigned *coap_code)
{
	struct vouch_cbor_writer w;
	uint8_t csr[CSR_MAX];
	size_t csr_len = 0;
	int rc;

	(void)in;
	*out_len = 0;
	*coap_code = SENSOR_INTERNAL;
	if (s->st.provisioned)
		return sensor_answer_diag(SENSOR_FORBIDDEN, "already commissioned", out, cap,
		                          out_len, coap_code);
	if (sess == NULL || sess->state != SENSOR_SESSION_SECURED)
		return sensor_answer_refusal("no session: run EDHOC first", out, cap, out_len,
		                             coap_code);
	if (in_len != 0)
		return sensor_answer_diag(SENSOR_BAD_REQUEST, "the CSR request takes no payload",
		                          out, cap, out_len, coap_code);
	rc = sensor_csr_make(&s->id, SENSOR_UNPROVISIONED, csr, sizeof(csr), &csr_len);
	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_map(&w, 2);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_uint(&w, 2);
	vouch_cbor_write_bstr(&w, csr, csr_len);
	rc = vouch_cbor_writer_finish(&w, out_len);
	if (rc != VOUCH_OK)
		return rc;
	sess->csr_sent = true;
	*coap_code = SENSOR_CONTENT;
	return VOUCH_OK;
}

int sensor_handle_commission_bundle(struct vouch_sensor *s, struct sensor_session *sess,
                                    const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                                    size_t *out_len, unsigned *coap_code)
{
	uint8_t event[SENSOR_EVENT_MAX];
	size_t event_len = 0;
	char why[256];
	int rc;

	*out_len = 0;
	*coap_code = SENSOR_INTERNAL;
	if (s->st.provisioned)
		return sensor_answer_diag(SENSOR_FORBIDDEN, "already commissioned", out, cap,
		                          out_len, coap_code);
	if (sess == NULL || sess->state != SENSOR_SESSION_SECURED)
		return sensor_answer_refusal("no session: run EDHOC first", out, cap, out_len,
		                             coap_code);
	if (!sess->csr_sent)
		return sensor_answer_refusal(
		    "wrong session: the bundle belongs to the session that "
		    "fetched the CSR",
		    out, cap, out_len, coap_code);
	if (in_len == 0)
		return sensor_answer_diag(SENSOR_BAD_REQUEST, "no bundle", out, cap, out_len,
		                          coap_code);
	if (in_len > SENSOR_PAYLOAD_MAX)
		return sensor_answer_diag(SENSOR_TOO_LARGE, "bundle too large", out, cap, out_len,
		                          coap_code);
	rc = sensor_commission_install(s, in, in_len, event, sizeof(event), &event_len, why,
	                               sizeof(why));
	if (rc != VOUCH_OK && why[0] != '\0')
		return sensor_answer_diag(SENSOR_BAD_REQUEST, why, out, cap, out_len, coap_code);
	if (rc != VOUCH_OK)
		return rc;
	return commissioned_answer(s, SENSOR_CHANGED, event, event_len, out, cap, out_len,
	                           coap_code);
}

int sensor_handle_decommission(struct vouch_sensor *s, struct sensor_session *sess,
                               const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                               size_t *out_len, unsigned *coap_code)
{
	const struct vouch_cred *cred;
	struct sensor_event ev;
	uint8_t event[SENSOR_EVENT_MAX];
	char reason[SENSOR_REASON_MAX];
	size_t event_len = 0;
	bool granted = false;
	int rc;

	(void)in;
	*out_len = 0;
	*coap_code = SENSOR_INTERNAL;
	if (!s->st.provisioned)
		return sensor_answer_diag(SENSOR_FORBIDDEN, "not commissioned", out, cap, out_len,
		                          coap_code);
	if (sess == NULL || sess->state != SENSOR_SESSION_SECURED || !sess->has_cred)
		return sensor_answer_refusal("no credential accepted in this session", out, cap,
		                             out_len, coap_code);
	if (in_len != 0)
		return sensor_answer_diag(SENSOR_BAD_REQUEST, "decommission takes no payload", out,
		                          cap, out_len, coap_code);
	cred = &sess->cred;
	rc = sensor_decide(s, sess, VOUCH_ACTION_COMMISSION, &granted, reason, sizeof(reason));
	if (rc != VOUCH_OK)
		return rc;
	if (!granted) {
		rc = sensor_access_event(s, cred, "commission", false, reason, event, sizeof(event),
		                         &event_len);
		if (rc != VOUCH_OK)
			return rc;
		return sensor_answer_refusal(reason, out, cap, out_len, coap_code);
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = "decommission";
	ev.subject = cred->claims.sub;
	ev.subject_len = cred->claims.sub_len;
	ev.cti = cred->claims.cti;
	ev.cti_len = cred->claims.cti_len;
	ev.who = cred->phone;
	ev.who_len = cred->phone_len;
	ev.reason = reason;
	rc = sensor_event_record(s, &ev, event, sizeof(event), &event_len);
	if (rc == VOUCH_OK)
		rc = commissioned_answer(s, SENSOR_DELETED, event, event_len, out, cap, out_len,
		                         coap_code);
	if (rc != VOUCH_OK)
		return rc;
	vouch_log(VOUCH_LOG_WARN, "sensor.decommissioned", "device", s->st.device_id, "by", reason,
	          NULL);
	s->wipe_pending = true;
	return VOUCH_OK;
}
