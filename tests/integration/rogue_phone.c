/*
 * Test helper for test_sensor_attacks.sh: a phone that does what the wallet never does, against
 * a real vouch-sensor. Built from the wallet's own link (wallet/link.c: EDHOC as the initiator,
 * wallet/coap.c: libcoap) and libvouch; every OSCORE request is protected here, so that it can
 * be sent twice, corrupted, or carry what no wallet sends.
 *
 *   rogue_phone copied URI CWT [PHONE_ID]
 *       another phone with a copy of a person's credential (the CWT file of their wallet) but
 *       not their phone key: a fresh P-256 key made in this process, EDHOC as PHONE_ID, then
 *       /authz-info with the copied credential, /access and /decommission.
 *   rogue_phone edhoc URI
 *       EDHOC out of order: message_3 for an unknown C_R before any message_1, message_1 sent
 *       twice, message_3 sent twice; then the session still answers under OSCORE.
 *   rogue_phone flood URI
 *       message_1 until the session table is full (5.03), then again once the sessions have
 *       been idle SENSOR_SESSION_IDLE seconds.
 *   rogue_phone garbage URI WDIR
 *       the person's own phone (the key in WDIR's token, unlocked with VOUCH_WALLET_PIN; the
 *       credential and the revocation list WDIR holds) sending what a broken or hostile app
 *       would: a replayed, a corrupted, an unknown-kid OSCORE request, unknown paths and
 *       methods, malformed and oversized /access, /authz-info, /revocations and
 *       /commission/bundle, in between the requests that must still work.
 *   rogue_phone bundle URI
 *       at an unprovisioned sensor: /commission/bundle before the CSR, malformed and
 *       oversized bundles after it, and the provisioned-only resources.
 *
 * Every answer is one line on stdout: STEP TAB CODE TAB protected|plain TAB what it says (the
 * refusal's reason, the decision, the diagnostic text, the EDHOC error). Exit status: 0 every
 * step was answered and no attack accepted; 1 a step marked as an attack got a 2.xx answer;
 * 2 a step got no answer, or the tool itself failed. The script checks every line.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "link.h"
#include "vouch/cbor.h"
#include "vouch/log.h"
#include "vouch/p11.h"

#define TIMEOUT_MS     5000u
#define BIG            40000u      /* over the sensor's request limit (32 KiB) */
#define PT_MAX         (48 * 1024) /* room for BIG and the inner message around it */
#define CRED_MAX       (16 * 1024)
#define LIST_MAX       (32 * 1024)
#define SESSIONS       8 /* the sensor's table (sensor/sensor.h SENSOR_SESSIONS) */
#define IDLE_WAIT_S    6 /* past SENSOR_SESSION_IDLE (5 s) */
#define OPT_URI_PATH   11
#define OPT_CF         12
#define CODE_GET       0x01
#define CODE_POST      0x02
#define TOKEN_LABEL    "vouch-wallet"
#define KEY_LABEL      "phone"
#define WALLET_PIN_ENV "VOUCH_WALLET_PIN"

enum mutation { MUT_NONE, MUT_FLIP, MUT_KID, MUT_BAD_OPTION };

/* What an attack step must not get: a 2.xx answer. */
enum kind { ATTACK, NORMAL };

static struct w_link wl;
static uint8_t pt[PT_MAX], ct[PT_MAX + 64], ans[PT_MAX];
static uint8_t cred[CRED_MAX], list[LIST_MAX], big[BIG];
static size_t cred_len, list_len;
static int accepted, unanswered;

/* The last protected request as sent, and what binds its answer, for the replay. */
static struct {
	uint8_t opt[VOUCH_OSCORE_OPTION_MAX];
	size_t opt_len;
	uint8_t ct[PT_MAX + 64];
	size_t ct_len;
	struct vouch_oscore_request req;
	bool valid;
} last;

/* ---- reporting ---- */

static void text_of(const uint8_t *p, size_t len, char *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < cap; i++)
		out[n++] = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\t' ? (char)p[i] : '?';
	out[n] = '\0';
}

/* A map of uint keys as "k=v ...", the way the sensor's answers are made. */
static bool describe_map(const uint8_t *p, size_t len, char *out, size_t cap)
{
	struct vouch_cbor_reader r;
	enum vouch_cbor_type t;
	size_t n = 0, used = 0, vl = 0;
	uint64_t key = 0, u = 0;
	const char *s;
	const uint8_t *b;
	bool v;
	char val[320];

	out[0] = '\0';
	vouch_cbor_reader_init(&r, p, len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (vouch_cbor_read_uint(&r, &key) != VOUCH_OK ||
		    vouch_cbor_peek(&r, &t) != VOUCH_OK)
			return false;
		if (t == VOUCH_CBOR_TSTR && vouch_cbor_read_tstr(&r, &s, &vl) == VOUCH_OK)
			text_of((const uint8_t *)s, vl, val, sizeof(val));
		else if (t == VOUCH_CBOR_BOOL && vouch_cbor_read_bool(&r, &v) == VOUCH_OK)
			snprintf(val, sizeof(val), "%s", v ? "true" : "false");
		else if (t == VOUCH_CBOR_UINT && vouch_cbor_read_uint(&r, &u) == VOUCH_OK)
			snprintf(val, sizeof(val), "%llu", (unsigned long long)u);
		else if (t == VOUCH_CBOR_BSTR && vouch_cbor_read_bstr(&r, &b, &vl) == VOUCH_OK)
			snprintf(val, sizeof(val), "<%zu bytes>", vl);
		else if (vouch_cbor_skip(&r) == VOUCH_OK)
			snprintf(val, sizeof(val), "<item>");
		else
			return false;
		used += (size_t)snprintf(out + used, cap - used, "%s%llu=%s", i > 0 ? " " : "",
		                         (unsigned long long)key, val);
		if (used >= cap)
			return true;
	}
	return true;
}

/* An EDHOC error message (RFC 9528 6): the CBOR sequence ERR_CODE 1, diagnostic text. */
static bool describe_edhoc_error(const uint8_t *p, size_t len, char *out, size_t cap)
{
	size_t n, start;

	if (len < 2 || p[0] != 0x01 || (p[1] >> 5) != 3)
		return false;
	n = p[1] & 31u;
	start = 2;
	if (n == 24 && len > 2) {
		n = p[2];
		start = 3;
	} else if (n > 24) {
		return false;
	}
	if (start + n != len)
		return false;
	memcpy(out, "edhoc-error: ", 13);
	text_of(p + start, n, out + 13, cap - 13);
	return true;
}

static void describe(const uint8_t *p, size_t len, char *out, size_t cap)
{
	enum vouch_cbor_type t;
	struct vouch_cbor_reader r;

	if (len == 0) {
		snprintf(out, cap, "(empty)");
		return;
	}
	if (vouch_cbor_validate(p, len, NULL) == VOUCH_OK) {
		vouch_cbor_reader_init(&r, p, len);
		if (vouch_cbor_peek(&r, &t) == VOUCH_OK && t == VOUCH_CBOR_MAP &&
		    describe_map(p, len, out, cap))
			return;
		if (vouch_cbor_peek(&r, &t) == VOUCH_OK && t == VOUCH_CBOR_BSTR) {
			snprintf(out, cap, "<bstr, %zu bytes>", len);
			return;
		}
	}
	if (describe_edhoc_error(p, len, out, cap))
		return;
	text_of(p, len, out, cap);
}

static void report(const char *step, enum kind kind, unsigned code, bool prot, const uint8_t *p,
                   size_t len)
{
	char what[1024];

	describe(p, len, what, sizeof(what));
	printf("%s\t%u.%02u\t%s\t%s\n", step, code >> 5, code & 31u, prot ? "protected" : "plain",
	       what);
	if (kind == ATTACK && (code >> 5) == 2)
		accepted++;
}

static void report_none(const char *step, const char *why)
{
	printf("%s\t-\t-\t%s\n", step, why);
	unanswered++;
}

/* ---- plain requests (EDHOC) ---- */

/* POST /.well-known/edhoc; the answer stays in wl.coap. */
static bool edhoc_post(const char *step, enum kind kind, const uint8_t *payload, size_t len)
{
	struct w_coap_req q = {true, ".well-known/edhoc", VOUCH_W_COAP_CF_EDHOC, NULL, 0, payload,
	                       len};

	if (w_coap_request(&wl.coap, &q, TIMEOUT_MS) != VOUCH_OK) {
		report_none(step, "no answer");
		return false;
	}
	report(step, kind, wl.coap.code, false, wl.coap.body, wl.coap.body_len);
	return true;
}

/* An unprotected POST (the resources that take one: /revocations). */
static bool plain_post(const char *step, enum kind kind, const char *path, const uint8_t *in,
                       size_t in_len)
{
	const uint8_t *out = NULL;
	size_t out_len = 0;
	unsigned code = 0;

	if (w_link_plain(&wl, true, path, in, in_len, &code, &out, &out_len) != VOUCH_OK) {
		report_none(step, "no answer");
		return false;
	}
	report(step, kind, code, false, out, out_len);
	return true;
}

/* ---- protected requests ---- */

/* Send opt / ct and report the answer: unprotected with req when the sensor protected it. */
static bool send_protected(const char *step, enum kind kind, const uint8_t *opt, size_t opt_len,
                           const uint8_t *body, size_t body_len, struct vouch_oscore_request *req)
{
	struct w_coap_req q = {true, NULL, -1, opt, opt_len, body, body_len};
	struct vouch_coap_option opts[8];
	const uint8_t *payload = NULL;
	size_t pt_len = 0, n_opts = 0, payload_len = 0;
	uint8_t code = 0;
	char why[96];
	int rc;

	if (w_coap_request(&wl.coap, &q, TIMEOUT_MS) != VOUCH_OK) {
		report_none(step, "no answer");
		return false;
	}
	if (!wl.coap.has_oscore) {
		report(step, kind, wl.coap.code, false, wl.coap.body, wl.coap.body_len);
		return true;
	}
	rc = vouch_oscore_unprotect_response(&wl.osc, req, wl.coap.oscore, wl.coap.oscore_len,
	                                     wl.coap.body, wl.coap.body_len, ans, sizeof(ans),
	                                     &pt_len);
	if (rc == VOUCH_OK)
		rc = vouch_oscore_inner_decode(ans, pt_len, &code, opts, VOUCH_ARRAY_LEN(opts),
		                               &n_opts, &payload, &payload_len);
	if (rc != VOUCH_OK) {
		/* A protected answer means the sensor processed the request. */
		snprintf(why, sizeof(why), "a protected answer that does not verify: %s",
		         vouch_strerror(rc));
		printf("%s\t%u.%02u\tprotected\t%s\n", step, wl.coap.code >> 5, wl.coap.code & 31u,
		       why);
		if (kind == ATTACK)
			accepted++;
		return true;
	}
	report(step, kind, code, true, payload, payload_len);
	return true;
}

/* One OSCORE-protected request (inner code, path, payload) under the session's context,
 * optionally spoilt, kept for a replay. */
static bool call(const char *step, enum kind kind, uint8_t inner_code, const char *path,
                 const uint8_t *in, size_t in_len, enum mutation mut)
{
	struct vouch_coap_option opts[6];
	struct vouch_oscore_option oo;
	uint8_t cf = 60, opt[VOUCH_OSCORE_OPTION_MAX], kid[2] = {0xee, 0xee};
	uint8_t bad_opt[3] = {0x19, 0xff, 0xff}, bad_kid_opt[VOUCH_OSCORE_OPTION_MAX];
	size_t n = 0, pt_len = 0, ct_len = 0, opt_len = 0;
	const char *p = path, *slash;
	struct vouch_oscore_request req;
	int rc;

	while (*p != '\0' && n + 1 < VOUCH_ARRAY_LEN(opts)) {
		slash = strchr(p, '/');
		if (slash == NULL)
			slash = p + strlen(p);
		opts[n++] = (struct vouch_coap_option){OPT_URI_PATH, (uint16_t)(slash - p),
		                                       (const uint8_t *)p};
		p = *slash == '\0' ? slash : slash + 1;
	}
	opts[n++] = (struct vouch_coap_option){OPT_CF, 1, &cf};
	rc = vouch_oscore_inner_encode(inner_code, opts, n, in, in_len, pt, sizeof(pt), &pt_len);
	if (rc == VOUCH_OK)
		rc = vouch_oscore_protect_request(&wl.osc, pt, pt_len, ct, sizeof(ct), &ct_len, opt,
		                                  &opt_len, &req);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "rogue_phone: %s: OSCORE: %s\n", step, vouch_strerror(rc));
		report_none(step, "not sent: the tool could not protect it");
		return false;
	}
	if (mut == MUT_FLIP) {
		ct[ct_len / 2] ^= 0x01;
	} else if (mut == MUT_KID) {
		if (vouch_oscore_option_decode(opt, opt_len, &oo) != VOUCH_OK) {
			report_none(step, "not sent: the tool could not change the kid");
			return false;
		}
		oo.kid = kid;
		oo.kid_len = sizeof(kid);
		/* Encoded into a copy: the decoded option points into opt. */
		if (vouch_oscore_option_encode(&oo, bad_kid_opt, sizeof(bad_kid_opt), &opt_len) !=
		    VOUCH_OK) {
			report_none(step, "not sent: the tool could not change the kid");
			return false;
		}
		memcpy(opt, bad_kid_opt, opt_len);
	} else if (mut == MUT_BAD_OPTION) {
		memcpy(opt, bad_opt, sizeof(bad_opt));
		opt_len = sizeof(bad_opt);
	}
	memcpy(last.opt, opt, opt_len);
	last.opt_len = opt_len;
	memcpy(last.ct, ct, ct_len);
	last.ct_len = ct_len;
	last.req = req;
	last.valid = true;
	return send_protected(step, kind, opt, opt_len, ct, ct_len, &req);
}

/* The last request again, byte for byte (a recorded message replayed). */
static bool replay(const char *step)
{
	struct vouch_oscore_request req = last.req;

	if (!last.valid)
		return false;
	return send_protected(step, ATTACK, last.opt, last.opt_len, last.ct, last.ct_len, &req);
}

/* ---- EDHOC with the wallet's link ---- */

/* The rogue goes on whatever key the sensor proves: it only says which one. */
static int accept_any(void *arg, const struct vouch_key *peer, const uint8_t *c, size_t c_len,
                      char *err, size_t err_cap)
{
	char code[VOUCH_PAIRING_CODE_LEN + 1];

	(void)arg;
	(void)c;
	(void)c_len;
	(void)err;
	(void)err_cap;
	if (vouch_pairing_code(peer, code) == VOUCH_OK)
		fprintf(stderr, "rogue_phone: the sensor proves the key of code %s\n", code);
	return VOUCH_OK;
}

static bool open_session(const char *uri, const char *step, const struct w_link_me *me)
{
	char err[256];

	if (w_link_open(&wl, uri, err, sizeof(err)) != VOUCH_OK) {
		fprintf(stderr, "rogue_phone: %s\n", err);
		report_none(step, "cannot open the link");
		return false;
	}
	if (w_link_handshake(&wl, me, accept_any, NULL, err, sizeof(err)) != VOUCH_OK) {
		report_none(step, err);
		return false;
	}
	printf("%s\t2.04\tplain\tEDHOC completed, OSCORE up\n", step);
	return true;
}

/* A fresh P-256 key made in this process: private handle and public copy. */
static int fresh_key(struct vouch_key *priv, struct vouch_key *pub)
{
	uint8_t point[VOUCH_P256_POINT_LEN];
	size_t len = 0;
	int rc;

	vouch_key_init(priv);
	vouch_key_init(pub);
	rc = vouch_key_generate(priv, VOUCH_KEY_P256);
	if (rc == VOUCH_OK)
		rc = vouch_key_export_public(priv, point, sizeof(point), &len);
	if (rc == VOUCH_OK)
		rc = vouch_key_import_public(pub, VOUCH_KEY_P256, point, len);
	return rc;
}

static int read_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	*len = 0;
	if (f == NULL)
		return VOUCH_ERR_IO;
	n = fread(buf, 1, cap, f);
	if (n == cap || ferror(f)) {
		fclose(f);
		return VOUCH_ERR_BUFFER;
	}
	fclose(f);
	*len = n;
	return n > 0 ? VOUCH_OK : VOUCH_ERR_INVALID;
}

/* {1: action} */
static size_t access_request(const char *action, uint8_t *out, size_t cap)
{
	struct vouch_cbor_writer w;
	size_t len = 0;

	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_map(&w, 1);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_cstr(&w, action);
	return vouch_cbor_writer_finish(&w, &len) == VOUCH_OK ? len : 0;
}

static int verdict(void)
{
	if (unanswered > 0)
		return 2;
	return accepted > 0 ? 1 : 0;
}

/* ---- the modes ---- */

static int cmd_copied(const char *uri, const char *cwt, const char *phone_id)
{
	struct vouch_key priv, pub;
	struct w_link_me me = {&priv, &pub, phone_id};
	uint8_t req[64];
	size_t req_len = access_request("read", req, sizeof(req));

	if (read_file(cwt, cred, sizeof(cred), &cred_len) != VOUCH_OK ||
	    fresh_key(&priv, &pub) != VOUCH_OK) {
		fprintf(stderr, "rogue_phone: no credential in %s, or no key\n", cwt);
		return 2;
	}
	if (open_session(uri, "edhoc", &me)) {
		call("authz-info", ATTACK, CODE_POST, "authz-info", cred, cred_len, MUT_NONE);
		call("access", ATTACK, CODE_POST, "access", req, req_len, MUT_NONE);
		call("decommission", ATTACK, CODE_POST, "decommission", NULL, 0, MUT_NONE);
	}
	w_link_close(&wl);
	vouch_key_clear(&priv);
	vouch_key_clear(&pub);
	return verdict();
}

/* A phone of its own (priv/pub, CCS named sub) starting EDHOC on l as the initiator with C_I
 * c_i: message_1 as posted to /.well-known/edhoc (CBOR true first) into m1. */
static int edhoc_start(struct w_link *l, const char *sub, const struct vouch_key *priv,
                       const struct vouch_key *pub, uint8_t c_i, uint8_t *m1, size_t cap,
                       size_t *m1_len)
{
	static const int32_t suites[] = {2};
	static uint8_t msg[VOUCH_EDHOC_MAX_MESSAGE];
	struct vouch_edhoc_config cfg;
	size_t len = 0;
	int rc;

	rc = vouch_ccs_encode(sub, pub, l->cred, sizeof(l->cred), &l->cred_len);
	if (rc == VOUCH_OK)
		rc = vouch_ccs_id_cred(l->cred, l->cred_len, l->id_cred, sizeof(l->id_cred),
		                       &l->id_cred_len);
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = VOUCH_EDHOC_INITIATOR;
	cfg.methods = VOUCH_EDHOC_METHOD_BIT(VOUCH_EDHOC_METHOD_SIG_SIG);
	cfg.suites = suites;
	cfg.n_suites = 1;
	cfg.key = priv;
	cfg.cred = l->cred;
	cfg.cred_len = l->cred_len;
	cfg.id_cred = l->id_cred;
	cfg.id_cred_len = l->id_cred_len;
	if (rc == VOUCH_OK)
		rc = vouch_edhoc_init(&l->edhoc, &cfg);
	if (rc == VOUCH_OK)
		rc = vouch_edhoc_write_message_1(&l->edhoc, &c_i, 1, NULL, 0, msg, sizeof(msg),
		                                 &len);
	if (rc == VOUCH_OK)
		rc = vouch_edhoc_coap_encode(NULL, 0, msg, len, m1, cap, m1_len);
	return rc;
}

static int cmd_edhoc(const char *uri)
{
	static uint8_t m1[VOUCH_EDHOC_MAX_MESSAGE + 8], m2[VOUCH_EDHOC_MAX_MESSAGE];
	static uint8_t m3[VOUCH_EDHOC_MAX_MESSAGE + 8], msg[VOUCH_EDHOC_MAX_MESSAGE];
	struct vouch_key priv, pub;
	uint8_t fake[32], unknown_c[2] = {0xab, 0xcd}, c_i = 0x05, req[64];
	const uint8_t *ead = NULL, *c_r = NULL;
	size_t m1_len = 0, m2_len = 0, m3_len = 0, len = 0, ead_len = 0, c_r_len = 0;
	size_t req_len = access_request("read", req, sizeof(req));
	char err[64];
	int rc;

	if (fresh_key(&priv, &pub) != VOUCH_OK ||
	    w_link_open(&wl, uri, err, sizeof(err)) != VOUCH_OK)
		return 2;
	/* message_3 (a bstr) for a two-byte C_R: the sensor only hands out one-byte ones. */
	fake[0] = 0x40 | 16;
	(void)vouch_random(fake + 1, 16);
	if (vouch_edhoc_coap_encode(unknown_c, sizeof(unknown_c), fake, 17, m3, sizeof(m3),
	                            &m3_len) == VOUCH_OK)
		edhoc_post("m3-unknown-cr", ATTACK, m3, m3_len);
	/* The phone's own credential, as the wallet makes it. */
	rc = edhoc_start(&wl, "rogue-edhoc", &priv, &pub, c_i, m1, sizeof(m1), &m1_len);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "rogue_phone: message_1: %s\n", vouch_strerror(rc));
		goto out_close;
	}
	/* The same message_1 twice: two handshakes begin, the first one goes on. */
	if (!edhoc_post("m1-first", NORMAL, m1, m1_len))
		goto out_close;
	m2_len = wl.coap.body_len <= sizeof(m2) ? wl.coap.body_len : 0;
	memcpy(m2, wl.coap.body, m2_len);
	if (!edhoc_post("m1-again", NORMAL, m1, m1_len))
		goto out_close;
	printf("m1-answers-differ\t-\t-\t%s\n",
	       wl.coap.body_len != m2_len || memcmp(wl.coap.body, m2, m2_len) != 0 ? "yes" : "no");
	rc = vouch_edhoc_read_message_2(&wl.edhoc, m2, m2_len, &ead, &ead_len);
	if (rc == VOUCH_OK)
		rc = vouch_edhoc_write_message_3(&wl.edhoc, NULL, 0, msg, sizeof(msg), &len);
	if (rc == VOUCH_OK)
		rc = vouch_edhoc_peer_c(&wl.edhoc, &c_r, &c_r_len);
	if (rc == VOUCH_OK)
		rc = vouch_edhoc_coap_encode(c_r, c_r_len, msg, len, m3, sizeof(m3), &m3_len);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "rogue_phone: message_2/3: %s\n", vouch_strerror(rc));
		report_none("m3-first", "the first message_2 did not lead to a message_3");
		goto out_close;
	}
	if (!edhoc_post("m3-first", NORMAL, m3, m3_len) ||
	    !edhoc_post("m3-again", ATTACK, m3, m3_len))
		goto out_close;
	rc = vouch_edhoc_oscore_ctx(&wl.edhoc, &wl.osc);
	if (rc != VOUCH_OK)
		goto out_close;
	wl.secured = true;
	/* The completed session survived the second message_3. */
	call("oscore-after-m3-again", NORMAL, CODE_POST, "access", req, req_len, MUT_NONE);
out_close:
	w_link_close(&wl);
	vouch_key_clear(&priv);
	vouch_key_clear(&pub);
	return rc != VOUCH_OK && unanswered == 0 ? 2 : verdict();
}

static int cmd_flood(const char *uri)
{
	static uint8_t m1[VOUCH_EDHOC_MAX_MESSAGE + 8];
	struct vouch_key priv, pub;
	struct timespec pause = {IDLE_WAIT_S, 0};
	uint8_t c_i = 0x07;
	size_t m1_len = 0;
	char err[64], step[32];
	bool busy = false;
	int rc;

	if (fresh_key(&priv, &pub) != VOUCH_OK ||
	    w_link_open(&wl, uri, err, sizeof(err)) != VOUCH_OK)
		return 2;
	rc = edhoc_start(&wl, "rogue-flood", &priv, &pub, c_i, m1, sizeof(m1), &m1_len);
	if (rc != VOUCH_OK)
		goto out_close;
	/* Each message_1 opens a session on the sensor; one more than the table holds. */
	for (int i = 1; i <= SESSIONS + 1 && !busy; i++) {
		snprintf(step, sizeof(step), "flood-%d", i);
		if (!edhoc_post(step, NORMAL, m1, m1_len))
			break;
		busy = wl.coap.code == 0xa3; /* 5.03 */
	}
	printf("flood-busy\t-\t-\t%s\n", busy ? "yes" : "no");
	nanosleep(&pause, NULL);
	edhoc_post("flood-after-idle", NORMAL, m1, m1_len);
out_close:
	w_link_close(&wl);
	vouch_key_clear(&priv);
	vouch_key_clear(&pub);
	return rc != VOUCH_OK ? 2 : verdict();
}

/* The person's phone key, from their wallet's token. */
static int wallet_key(const char *wdir, struct vouch_p11 **p11, struct vouch_key *priv,
                      struct vouch_key *pub)
{
	const char *pin = getenv(WALLET_PIN_ENV);
	int rc;

	vouch_key_init(priv);
	vouch_key_init(pub);
	if (pin == NULL)
		return VOUCH_ERR_P11_PIN;
	rc = vouch_p11_softhsm_use(wdir);
	if (rc == VOUCH_OK)
		rc = vouch_p11_open_pin(p11, NULL, TOKEN_LABEL, pin);
	if (rc == VOUCH_OK)
		rc = vouch_p11_key_load(*p11, KEY_LABEL, priv);
	if (rc == VOUCH_OK)
		rc = vouch_p11_key_load_public(*p11, KEY_LABEL, pub);
	return rc;
}

static void garbage_access(void)
{
	static const uint8_t not_cbor[] = {'h', 'e', 'l', 'l', 'o'};
	/* {1: 7}, {1: "read", 2: "x"}, {1: "fly"} */
	static const uint8_t wrong_type[] = {0xa1, 0x01, 0x07};
	static const uint8_t extra_key[] = {0xa2, 0x01, 0x64, 'r', 'e', 'a', 'd', 0x02, 0x61, 'x'};
	static const uint8_t unknown[] = {0xa1, 0x01, 0x63, 'f', 'l', 'y'};
	static uint8_t deep[200];
	uint8_t req[64];
	size_t req_len = access_request("read", req, sizeof(req)), n;

	call("access-empty", ATTACK, CODE_POST, "access", NULL, 0, MUT_NONE);
	call("access-not-cbor", ATTACK, CODE_POST, "access", not_cbor, sizeof(not_cbor), MUT_NONE);
	req[req_len] = 0x00;
	call("access-trailing", ATTACK, CODE_POST, "access", req, req_len + 1, MUT_NONE);
	call("access-truncated", ATTACK, CODE_POST, "access", req, req_len - 1, MUT_NONE);
	call("access-wrong-type", ATTACK, CODE_POST, "access", wrong_type, sizeof(wrong_type),
	     MUT_NONE);
	call("access-extra-key", ATTACK, CODE_POST, "access", extra_key, sizeof(extra_key),
	     MUT_NONE);
	call("access-unknown-action", ATTACK, CODE_POST, "access", unknown, sizeof(unknown),
	     MUT_NONE);
	/* An action of 20000 bytes: inside the request limit, far outside any action. */
	big[0] = 0xa1;
	big[1] = 0x01;
	big[2] = 0x79;
	big[3] = (uint8_t)(20000 >> 8);
	big[4] = (uint8_t)(20000 & 0xff);
	memset(big + 5, 'a', 20000);
	call("access-long-action", ATTACK, CODE_POST, "access", big, 20005, MUT_NONE);
	/* 199 nested arrays around the request: past every nesting limit. */
	n = sizeof(deep) - 1;
	memset(deep, 0x81, n);
	deep[n] = 0x00;
	call("access-deep", ATTACK, CODE_POST, "access", deep, sizeof(deep), MUT_NONE);
	memset(big, 0xa1, sizeof(big));
	call("access-oversized", ATTACK, CODE_POST, "access", big, sizeof(big), MUT_NONE);
	call("access-get", ATTACK, CODE_GET, "access", req, req_len, MUT_NONE);
	call("unknown-path", ATTACK, CODE_POST, "nope", req, req_len, MUT_NONE);
}

static void garbage_oscore(void)
{
	uint8_t req[64];
	size_t req_len = access_request("read", req, sizeof(req));

	/* A granted request, then the same bytes again: a recorded /access replayed. */
	call("access-read", NORMAL, CODE_POST, "access", req, req_len, MUT_NONE);
	replay("replay");
	call("oscore-corrupt", ATTACK, CODE_POST, "access", req, req_len, MUT_FLIP);
	call("oscore-unknown-kid", ATTACK, CODE_POST, "access", req, req_len, MUT_KID);
	call("oscore-bad-option", ATTACK, CODE_POST, "access", req, req_len, MUT_BAD_OPTION);
	/* The session itself is still good. */
	call("access-read-2", NORMAL, CODE_POST, "access", req, req_len, MUT_NONE);
}

static void garbage_revocations(void)
{
	static const uint8_t not_cbor[] = {'h', 'e', 'l', 'l', 'o'};
	static uint8_t spoilt[LIST_MAX];

	if (list_len > 0) {
		memcpy(spoilt, list, list_len);
		spoilt[list_len - 1] ^= 0x01; /* the signature */
		call("revocations-held", NORMAL, CODE_POST, "revocations", list, list_len,
		     MUT_NONE);
		call("revocations-truncated", ATTACK, CODE_POST, "revocations", list, list_len / 2,
		     MUT_NONE);
		call("revocations-bad-signature", ATTACK, CODE_POST, "revocations", spoilt,
		     list_len, MUT_NONE);
		/* The same unprotected, as the wallet sends a list (a real site's list, spoilt). */
		plain_post("revocations-plain-held", NORMAL, "revocations", list, list_len);
		plain_post("revocations-plain-truncated", ATTACK, "revocations", list,
		           list_len / 2);
		plain_post("revocations-plain-bad-signature", ATTACK, "revocations", spoilt,
		           list_len);
	}
	call("revocations-empty", ATTACK, CODE_POST, "revocations", NULL, 0, MUT_NONE);
	call("revocations-not-cbor", ATTACK, CODE_POST, "revocations", not_cbor, sizeof(not_cbor),
	     MUT_NONE);
	memset(big, 0x5a, sizeof(big));
	call("revocations-oversized", ATTACK, CODE_POST, "revocations", big, sizeof(big), MUT_NONE);
}

static void garbage_authz(void)
{
	static const uint8_t not_cbor[] = {'h', 'e', 'l', 'l', 'o'};
	static uint8_t spoilt[CRED_MAX + 1];
	uint8_t req[64];
	size_t req_len = access_request("read", req, sizeof(req));

	call("bundle-commissioned", ATTACK, CODE_POST, "commission/bundle", not_cbor,
	     sizeof(not_cbor), MUT_NONE);
	call("authz-empty", ATTACK, CODE_POST, "authz-info", NULL, 0, MUT_NONE);
	call("authz-not-cbor", ATTACK, CODE_POST, "authz-info", not_cbor, sizeof(not_cbor),
	     MUT_NONE);
	call("authz-truncated", ATTACK, CODE_POST, "authz-info", cred, cred_len / 2, MUT_NONE);
	memcpy(spoilt, cred, cred_len);
	spoilt[cred_len] = 0x00;
	call("authz-trailing", ATTACK, CODE_POST, "authz-info", spoilt, cred_len + 1, MUT_NONE);
	spoilt[cred_len - 1] ^= 0x01; /* the signature */
	call("authz-bad-signature", ATTACK, CODE_POST, "authz-info", spoilt, cred_len, MUT_NONE);
	memset(big, 0x5a, sizeof(big));
	call("authz-too-large", ATTACK, CODE_POST, "authz-info", big, 9000, MUT_NONE);
	call("authz-oversized", ATTACK, CODE_POST, "authz-info", big, sizeof(big), MUT_NONE);
	/* A refused credential replaces the accepted one: nothing is decided on it. */
	call("access-after-bad-authz", ATTACK, CODE_POST, "access", req, req_len, MUT_NONE);
	call("authz-again", NORMAL, CODE_POST, "authz-info", cred, cred_len, MUT_NONE);
	call("access-read-3", NORMAL, CODE_POST, "access", req, req_len, MUT_NONE);
}

static int cmd_garbage(const char *uri, const char *wdir)
{
	struct vouch_p11 *p11 = NULL;
	struct vouch_key priv, pub;
	struct w_link_me me = {&priv, &pub, "rogue-app"};
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/credential.cwt", wdir);
	if (read_file(path, cred, sizeof(cred), &cred_len) != VOUCH_OK) {
		fprintf(stderr, "rogue_phone: no credential in %s\n", wdir);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/revocations.cbor", wdir);
	if (read_file(path, list, sizeof(list), &list_len) != VOUCH_OK)
		list_len = 0;
	rc = wallet_key(wdir, &p11, &priv, &pub);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "rogue_phone: the phone key of %s: %s\n", wdir, vouch_strerror(rc));
		vouch_p11_close(p11);
		return 2;
	}
	if (open_session(uri, "edhoc", &me)) {
		call("authz-info", NORMAL, CODE_POST, "authz-info", cred, cred_len, MUT_NONE);
		garbage_access();
		garbage_oscore();
		garbage_revocations();
		garbage_authz();
	}
	w_link_close(&wl);
	vouch_key_clear(&priv);
	vouch_key_clear(&pub);
	vouch_p11_close(p11);
	return verdict();
}

static int cmd_bundle(const char *uri)
{
	static const uint8_t not_cbor[] = {'h', 'e', 'l', 'l', 'o'};
	/* 96([h'', {}, h'']): the shape of a COSE_Encrypt, nothing in it */
	static const uint8_t cose_empty[] = {0xd8, 0x60, 0x83, 0x40, 0xa0, 0x40};
	struct vouch_key priv, pub;
	struct w_link_me me = {&priv, &pub, "rogue-installer"};
	uint8_t req[64];
	size_t req_len = access_request("read", req, sizeof(req));

	if (fresh_key(&priv, &pub) != VOUCH_OK)
		return 2;
	if (open_session(uri, "edhoc", &me)) {
		call("bundle-before-csr", ATTACK, CODE_POST, "commission/bundle", not_cbor,
		     sizeof(not_cbor), MUT_NONE);
		call("csr", NORMAL, CODE_POST, "commission/csr", NULL, 0, MUT_NONE);
		call("bundle-empty", ATTACK, CODE_POST, "commission/bundle", NULL, 0, MUT_NONE);
		call("bundle-not-cbor", ATTACK, CODE_POST, "commission/bundle", not_cbor,
		     sizeof(not_cbor), MUT_NONE);
		call("bundle-cose-empty", ATTACK, CODE_POST, "commission/bundle", cose_empty,
		     sizeof(cose_empty), MUT_NONE);
		memset(big, 0xd8, sizeof(big));
		call("bundle-oversized", ATTACK, CODE_POST, "commission/bundle", big, sizeof(big),
		     MUT_NONE);
		call("authz-unprovisioned", ATTACK, CODE_POST, "authz-info", not_cbor,
		     sizeof(not_cbor), MUT_NONE);
		call("access-unprovisioned", ATTACK, CODE_POST, "access", req, req_len, MUT_NONE);
		call("revocations-unprovisioned", ATTACK, CODE_POST, "revocations", not_cbor,
		     sizeof(not_cbor), MUT_NONE);
	}
	w_link_close(&wl);
	vouch_key_clear(&priv);
	vouch_key_clear(&pub);
	return verdict();
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: rogue_phone copied URI CWT [PHONE_ID]\n"
	        "       rogue_phone edhoc URI\n"
	        "       rogue_phone flood URI\n"
	        "       rogue_phone garbage URI WDIR   (" WALLET_PIN_ENV ": the wallet's PIN)\n"
	        "       rogue_phone bundle URI\n");
}

int main(int argc, char **argv)
{
	vouch_log_init("rogue_phone", VOUCH_LOG_WARN, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "copied") == 0)
		return cmd_copied(argv[2], argv[3], argc == 5 ? argv[4] : "rogue-phone");
	if (argc == 3 && strcmp(argv[1], "edhoc") == 0)
		return cmd_edhoc(argv[2]);
	if (argc == 3 && strcmp(argv[1], "flood") == 0)
		return cmd_flood(argv[2]);
	if (argc == 4 && strcmp(argv[1], "garbage") == 0)
		return cmd_garbage(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "bundle") == 0)
		return cmd_bundle(argv[2]);
	usage();
	return 2;
}
