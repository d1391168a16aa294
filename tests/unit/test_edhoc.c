/*
 * EDHOC (RFC 9528) against the RFC 9529 traces, in both roles and byte for byte: trace 1
 * (method 0, suite 0, X.509 by x5t) and trace 2 (method 3, suite 2, CCS by kid, with the
 * rejected first message_1 and the wrong-suite error). Then live sessions with generated keys
 * for every method and suite and kccs credentials, and every refusal: tampered, truncated,
 * oversized and trailing input, calls out of order, replays, unknown and refused peers, suite
 * negotiation, error messages, critical EAD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vouch/cbor.h"
#include "vouch/cose.h"
#include "vouch/edhoc.h"

#define BUF VOUCH_EDHOC_MAX_MESSAGE

/* The PSA back-end (sensors) has no Ed25519: what needs it is skipped there, and must fail
 * cleanly. */
static bool have_key_type(enum vouch_key_type type)
{
	struct vouch_key k;
	int rc;

	vouch_key_init(&k);
	rc = vouch_key_generate(&k, type);
	vouch_key_clear(&k);
	if (rc != VOUCH_OK)
		assert_int_equal(rc, VOUCH_ERR_UNSUPPORTED);
	return rc == VOUCH_OK;
}

/* ---- trace values ---- */

struct trace {
	json_t *root;
	const json_t *values;
	unsigned run, passed;
};

static void trace_load(struct trace *t, const char *file)
{
	t->root = tu_load_json(file);
	t->values = json_object_get(t->root, "values");
	assert_non_null(t->values);
	t->run = t->passed = 0;
}

/* A trace value into a fresh buffer (free()). */
static uint8_t *tv(const struct trace *t, const char *name, size_t *len)
{
	const char *s = tu_str(t->values, name);

	if (s == NULL)
		fail_msg("trace value %s missing", name);
	return tu_hex(s, len);
}

/* Compare bytes with a trace value and count it as one published value checked. */
static void check(struct trace *t, const char *name, const uint8_t *got, size_t got_len)
{
	size_t len;
	uint8_t *want = tv(t, name, &len);

	t->run++;
	if (got_len != len)
		fail_msg("%s: length %zu, expected %zu", name, got_len, len);
	assert_memory_equal(got, want, len);
	t->passed++;
	free(want);
}

static void import_priv(struct vouch_key *k, enum vouch_key_type type, const struct trace *t,
                        const char *name)
{
	size_t len;
	uint8_t *raw = tv(t, name, &len);

	vouch_key_init(k);
	assert_int_equal(vouch_key_import_private(k, type, raw, len), VOUCH_OK);
	free(raw);
}

/* A P-256 public key from the trace's x and y values, or an Ed25519 one from a single value. */
static void import_pub(struct vouch_key *k, enum vouch_key_type type, const struct trace *t,
                       const char *x, const char *y)
{
	uint8_t pt[VOUCH_P256_POINT_LEN];
	size_t xl, yl = 0;
	uint8_t *xb = tv(t, x, &xl), *yb = y != NULL ? tv(t, y, &yl) : NULL;

	vouch_key_init(k);
	if (type == VOUCH_KEY_P256) {
		assert_int_equal(xl, 32);
		assert_int_equal(yl, 32);
		pt[0] = 4;
		memcpy(pt + 1, xb, 32);
		memcpy(pt + 33, yb, 32);
		assert_int_equal(vouch_key_import_public(k, type, pt, sizeof(pt)), VOUCH_OK);
	} else {
		assert_int_equal(vouch_key_import_public(k, type, xb, xl), VOUCH_OK);
	}
	free(xb);
	free(yb);
}

/* ---- a resolver over a small table of credentials by reference ---- */

struct peer_entry {
	const uint8_t *id_cred; /* the full ID_CRED_x map expected */
	size_t id_cred_len;
	const uint8_t *cred;
	size_t cred_len;
	const struct vouch_key *key; /* its public key is re-imported into the session's handle */
};

struct resolver {
	const struct peer_entry *entries;
	size_t n;
	bool refuse_by_value;
	unsigned calls;
	struct vouch_edhoc_id_cred last;
};

static int copy_public(const struct vouch_key *from, struct vouch_key *to)
{
	uint8_t raw[VOUCH_P256_POINT_LEN];
	size_t len = 0;
	int rc = vouch_key_export_public(from, raw, sizeof(raw), &len);

	if (rc == VOUCH_OK)
		rc = vouch_key_import_public(to, from->type, raw, len);
	return rc;
}

static int resolve(void *arg, const struct vouch_edhoc_id_cred *id, const uint8_t **cred,
                   size_t *cred_len, struct vouch_key *key)
{
	struct resolver *r = arg;

	r->calls++;
	r->last = *id;
	if (id->by_value)
		return r->refuse_by_value ? VOUCH_ERR_EDHOC_PEER : VOUCH_OK;
	for (size_t i = 0; i < r->n; i++) {
		const struct peer_entry *e = &r->entries[i];

		if (e->id_cred_len != id->map_len || memcmp(e->id_cred, id->map, id->map_len) != 0)
			continue;
		if (e->key->type != id->want)
			return VOUCH_ERR_EDHOC_PEER;
		*cred = e->cred;
		*cred_len = e->cred_len;
		return copy_public(e->key, key);
	}
	return VOUCH_ERR_EDHOC_PEER;
}

/* ---- trace 1: method 0, suite 0, x5t ---- */

struct t1 {
	struct trace t;
	struct vouch_key sk_i, sk_r, pk_i, pk_r;
	uint8_t *cred_i, *cred_r, *id_cred_i, *id_cred_r;
	size_t cred_i_len, cred_r_len, id_cred_i_len, id_cred_r_len;
	struct peer_entry peer;
	struct resolver res;
};

static void t1_setup(struct t1 *f, bool initiator)
{
	trace_load(&f->t, "rfc9529-edhoc-trace1.json");
	import_priv(&f->sk_i, VOUCH_KEY_ED25519, &f->t, "SK_I");
	import_priv(&f->sk_r, VOUCH_KEY_ED25519, &f->t, "SK_R");
	import_pub(&f->pk_i, VOUCH_KEY_ED25519, &f->t, "PK_I", NULL);
	import_pub(&f->pk_r, VOUCH_KEY_ED25519, &f->t, "PK_R", NULL);
	/* X.509: CRED_x is the DER certificate as a CBOR bstr (RFC 9528 3.5.2) */
	f->cred_i = tv(&f->t, "CRED_I_cbor", &f->cred_i_len);
	f->cred_r = tv(&f->t, "CRED_R_cbor", &f->cred_r_len);
	f->id_cred_i = tv(&f->t, "ID_CRED_I", &f->id_cred_i_len);
	f->id_cred_r = tv(&f->t, "ID_CRED_R", &f->id_cred_r_len);
	if (initiator)
		f->peer = (struct peer_entry){f->id_cred_r, f->id_cred_r_len, f->cred_r,
		                              f->cred_r_len, &f->pk_r};
	else
		f->peer = (struct peer_entry){f->id_cred_i, f->id_cred_i_len, f->cred_i,
		                              f->cred_i_len, &f->pk_i};
	f->res = (struct resolver){&f->peer, 1, false, 0, {0}};
}

static void t1_teardown(struct t1 *f)
{
	vouch_key_clear(&f->sk_i);
	vouch_key_clear(&f->sk_r);
	vouch_key_clear(&f->pk_i);
	vouch_key_clear(&f->pk_r);
	free(f->cred_i);
	free(f->cred_r);
	free(f->id_cred_i);
	free(f->id_cred_r);
	json_decref(f->t.root);
}

static const int32_t suite0[] = {0};
static const int32_t suite2[] = {2};

/* The results every completed session must show exactly (both traces, both roles). */
static void check_results(struct trace *t, struct vouch_edhoc *s, bool initiator)
{
	struct vouch_edhoc_oscore o;
	uint8_t prk[VOUCH_EDHOC_HASH_LEN];
	size_t ctx_len;
	uint8_t *ctx = tv(t, "keyupdate_context", &ctx_len);

	assert_int_equal(vouch_edhoc_prk_out(s, prk), VOUCH_OK);
	check(t, "PRK_out", prk, sizeof(prk));
	check(t, "PRK_exporter", s->prk_exporter, sizeof(s->prk_exporter));
	assert_int_equal(vouch_edhoc_oscore(s, &o), VOUCH_OK);
	check(t, "OSCORE_master_secret", o.master_secret, sizeof(o.master_secret));
	check(t, "OSCORE_master_salt", o.master_salt, sizeof(o.master_salt));
	/* the client (initiator) sends with C_R; the server with C_I (RFC 9528 A.1) */
	check(t, initiator ? "OSCORE_client_sender_id" : "OSCORE_server_sender_id", o.sender_id,
	      o.sender_id_len);
	check(t, initiator ? "OSCORE_server_sender_id" : "OSCORE_client_sender_id", o.recipient_id,
	      o.recipient_id_len);
	assert_int_equal(o.aead_alg, 10);
	assert_int_equal(o.hash_alg, -16);

	assert_int_equal(vouch_edhoc_key_update(s, ctx, ctx_len), VOUCH_OK);
	assert_int_equal(vouch_edhoc_prk_out(s, prk), VOUCH_OK);
	check(t, "keyupdate_PRK_out", prk, sizeof(prk));
	check(t, "keyupdate_PRK_exporter", s->prk_exporter, sizeof(s->prk_exporter));
	assert_int_equal(vouch_edhoc_oscore(s, &o), VOUCH_OK);
	check(t, "keyupdate_OSCORE_master_secret", o.master_secret, sizeof(o.master_secret));
	check(t, "keyupdate_OSCORE_master_salt", o.master_salt, sizeof(o.master_salt));
	vouch_wipe(&o, sizeof(o));
	free(ctx);
}

static void t1_initiator(struct trace *total)
{
	struct t1 f;
	struct vouch_edhoc s;
	struct vouch_edhoc_config cfg;
	uint8_t out[BUF], *m2, *m4, *x, *c_i;
	size_t out_len, m2_len, m4_len, x_len, c_i_len, len;
	const uint8_t *p, *ead;

	t1_setup(&f, true);
	cfg = (struct vouch_edhoc_config){
	    .role = VOUCH_EDHOC_INITIATOR,
	    .methods = VOUCH_EDHOC_METHOD_BIT(0),
	    .suites = suite0,
	    .n_suites = 1,
	    .key = &f.sk_i,
	    .cred = f.cred_i,
	    .cred_len = f.cred_i_len,
	    .id_cred = f.id_cred_i,
	    .id_cred_len = f.id_cred_i_len,
	    .resolve = resolve,
	    .resolve_arg = &f.res,
	};
	assert_int_equal(vouch_edhoc_init(&s, &cfg), VOUCH_OK);
	x = tv(&f.t, "X", &x_len);
	c_i = tv(&f.t, "C_I", &c_i_len);
	assert_int_equal(vouch_edhoc_set_ephemeral(&s, x, x_len), VOUCH_OK);
	assert_int_equal(
	    vouch_edhoc_write_message_1(&s, c_i, c_i_len, NULL, 0, out, sizeof(out), &out_len),
	    VOUCH_OK);
	check(&f.t, "message_1", out, out_len);

	m2 = tv(&f.t, "message_2", &m2_len);
	assert_int_equal(vouch_edhoc_read_message_2(&s, m2, m2_len, &ead, &len), VOUCH_OK);
	assert_null(ead);
	assert_int_equal(vouch_edhoc_state(&s), VOUCH_EDHOC_S_VERIFIED_M2);
	/* the responder's credential is there to inspect before message_3 */
	assert_int_equal(f.res.calls, 1);
	assert_false(f.res.last.by_value);
	assert_int_equal(f.res.last.want, VOUCH_KEY_ED25519);
	assert_true(f.res.last.sign);
	assert_non_null(vouch_edhoc_peer_key(&s));
	assert_int_equal(vouch_edhoc_peer_cred(&s, &p, &len, NULL, NULL), VOUCH_OK);
	assert_int_equal(len, f.cred_r_len);
	assert_memory_equal(p, f.cred_r, len);
	assert_int_equal(vouch_edhoc_peer_c(&s, &p, &len), VOUCH_OK);
	check(&f.t, "C_R", p, len);

	assert_int_equal(vouch_edhoc_write_message_3(&s, NULL, 0, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	check(&f.t, "message_3", out, out_len);
	m4 = tv(&f.t, "message_4", &m4_len);
	assert_int_equal(vouch_edhoc_read_message_4(&s, m4, m4_len, &ead, &len), VOUCH_OK);
	assert_int_equal(vouch_edhoc_state(&s), VOUCH_EDHOC_S_PERSISTED);
	check_results(&f.t, &s, true);

	vouch_edhoc_clear(&s);
	total->run += f.t.run;
	total->passed += f.t.passed;
	free(m2);
	free(m4);
	free(x);
	free(c_i);
	t1_teardown(&f);
}

static void t1_responder(struct trace *total)
{
	struct t1 f;
	struct vouch_edhoc s;
	struct vouch_edhoc_config cfg;
	uint8_t out[BUF], *m1, *m3, *y, *c_r;
	size_t out_len, m1_len, m3_len, y_len, c_r_len, len;
	const uint8_t *p, *ead;

	t1_setup(&f, false);
	cfg = (struct vouch_edhoc_config){
	    .role = VOUCH_EDHOC_RESPONDER,
	    .methods = VOUCH_EDHOC_METHOD_BIT(0),
	    .suites = suite0,
	    .n_suites = 1,
	    .key = &f.sk_r,
	    .cred = f.cred_r,
	    .cred_len = f.cred_r_len,
	    .id_cred = f.id_cred_r,
	    .id_cred_len = f.id_cred_r_len,
	    .resolve = resolve,
	    .resolve_arg = &f.res,
	};
	assert_int_equal(vouch_edhoc_init(&s, &cfg), VOUCH_OK);
	m1 = tv(&f.t, "message_1", &m1_len);
	assert_int_equal(vouch_edhoc_read_message_1(&s, m1, m1_len, &ead, &len), VOUCH_OK);
	assert_null(ead);
	assert_int_equal(vouch_edhoc_peer_c(&s, &p, &len), VOUCH_OK);
	check(&f.t, "C_I", p, len);

	y = tv(&f.t, "Y", &y_len);
	c_r = tv(&f.t, "C_R", &c_r_len);
	assert_int_equal(vouch_edhoc_set_ephemeral(&s, y, y_len), VOUCH_OK);
	assert_int_equal(
	    vouch_edhoc_write_message_2(&s, c_r, c_r_len, NULL, 0, out, sizeof(out), &out_len),
	    VOUCH_OK);
	check(&f.t, "message_2", out, out_len);

	m3 = tv(&f.t, "message_3", &m3_len);
	assert_int_equal(vouch_edhoc_read_message_3(&s, m3, m3_len, &ead, &len), VOUCH_OK);
	assert_int_equal(vouch_edhoc_state(&s), VOUCH_EDHOC_S_COMPLETED);
	assert_int_equal(vouch_edhoc_peer_cred(&s, &p, &len, NULL, NULL), VOUCH_OK);
	assert_int_equal(len, f.cred_i_len);
	assert_memory_equal(p, f.cred_i, len);

	assert_int_equal(vouch_edhoc_write_message_4(&s, NULL, 0, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	check(&f.t, "message_4", out, out_len);
	check_results(&f.t, &s, false);

	vouch_edhoc_clear(&s);
	total->run += f.t.run;
	total->passed += f.t.passed;
	free(m1);
	free(m3);
	free(y);
	free(c_r);
	t1_teardown(&f);
}

static void test_trace1(void **state)
{
	struct trace total = {0};

	(void)state;
	if (!have_key_type(VOUCH_KEY_ED25519) || !have_key_type(VOUCH_KEY_X25519)) {
		tu_report("rfc9529-edhoc-trace1", 26, 0, 26, "no Ed25519 in this back-end (Mbed TLS 2.28)");
		return;
	}
	t1_initiator(&total);
	t1_responder(&total);
	tu_report("rfc9529-edhoc-trace1", total.run, total.passed, 0,
	          "method 0, suite 0, x5t; initiator and responder byte-exact, PRK_out, exporter, "
	          "OSCORE, key update");
}

/* ---- trace 2: method 3, suite 2, kid; first message_1 refused with error 2 ---- */

struct t2 {
	struct trace t;
	struct vouch_key sk_i, sk_r, pk_i, pk_r;
	uint8_t *cred_i, *cred_r, *id_cred_i, *id_cred_r;
	size_t cred_i_len, cred_r_len, id_cred_i_len, id_cred_r_len;
	struct peer_entry peer;
	struct resolver res;
};

static void t2_setup(struct t2 *f, bool initiator)
{
	trace_load(&f->t, "rfc9529-edhoc-trace2.json");
	import_priv(&f->sk_i, VOUCH_KEY_P256, &f->t, "SK_I");
	import_priv(&f->sk_r, VOUCH_KEY_P256, &f->t, "SK_R");
	import_pub(&f->pk_i, VOUCH_KEY_P256, &f->t, "PK_I_x", "PK_I_y");
	import_pub(&f->pk_r, VOUCH_KEY_P256, &f->t, "PK_R_x", "PK_R_y");
	f->cred_i = tv(&f->t, "CRED_I", &f->cred_i_len);
	f->cred_r = tv(&f->t, "CRED_R", &f->cred_r_len);
	f->id_cred_i = tv(&f->t, "ID_CRED_I", &f->id_cred_i_len);
	f->id_cred_r = tv(&f->t, "ID_CRED_R", &f->id_cred_r_len);
	if (initiator)
		f->peer = (struct peer_entry){f->id_cred_r, f->id_cred_r_len, f->cred_r,
		                              f->cred_r_len, &f->pk_r};
	else
		f->peer = (struct peer_entry){f->id_cred_i, f->id_cred_i_len, f->cred_i,
		                              f->cred_i_len, &f->pk_i};
	f->res = (struct resolver){&f->peer, 1, false, 0, {0}};
}

static void t2_teardown(struct t2 *f)
{
	vouch_key_clear(&f->sk_i);
	vouch_key_clear(&f->sk_r);
	vouch_key_clear(&f->pk_i);
	vouch_key_clear(&f->pk_r);
	free(f->cred_i);
	free(f->cred_r);
	free(f->id_cred_i);
	free(f->id_cred_r);
	json_decref(f->t.root);
}

static const int32_t suites_6_2[] = {6, 2};

static void t2_config(struct t2 *f, struct vouch_edhoc_config *cfg, bool initiator)
{
	*cfg = (struct vouch_edhoc_config){
	    .role = initiator ? VOUCH_EDHOC_INITIATOR : VOUCH_EDHOC_RESPONDER,
	    .methods = VOUCH_EDHOC_METHOD_BIT(3),
	    .suites = initiator ? suites_6_2 : suite2,
	    .n_suites = initiator ? 2 : 1,
	    .key = initiator ? &f->sk_i : &f->sk_r,
	    .cred = initiator ? f->cred_i : f->cred_r,
	    .cred_len = initiator ? f->cred_i_len : f->cred_r_len,
	    .id_cred = initiator ? f->id_cred_i : f->id_cred_r,
	    .id_cred_len = initiator ? f->id_cred_i_len : f->id_cred_r_len,
	    .resolve = resolve,
	    .resolve_arg = &f->res,
	};
}

/*
 * RFC 9529 3.1 prints the first message_1 (suite 6) with a G_X that is the P-256 x-coordinate of
 * its X, although suite 6's ECDH curve is X25519 (IANA: 1, -16, 16, 4, -7, 10, -16). A suite-6
 * initiator cannot produce those bytes. Checked here: the message is the trace's byte for byte
 * with G_X replaced by X25519(X), and the trace's G_X is indeed P-256(X). The responder side
 * consumes the published bytes unchanged (t2_responder).
 */
static void check_first_message_1(struct trace *t, const uint8_t *got, size_t got_len,
                                  const uint8_t *x)
{
	struct vouch_key k;
	uint8_t pub[VOUCH_P256_POINT_LEN];
	size_t len, pub_len = 0;
	uint8_t *want = tv(t, "first_message_1", &len), *g_x = tv(t, "first_G_X", &pub_len);

	assert_int_equal(got_len, len);
	assert_int_equal(len, 37);
	assert_memory_equal(got, want, 4);           /* METHOD, SUITES_I, bstr head */
	assert_memory_equal(got + 36, want + 36, 1); /* C_I */
	assert_memory_equal(want + 4, g_x, 32);
	vouch_key_init(&k);
	assert_int_equal(vouch_key_import_private(&k, VOUCH_KEY_X25519, x, 32), VOUCH_OK);
	assert_int_equal(vouch_key_export_public(&k, pub, sizeof(pub), &len), VOUCH_OK);
	assert_memory_equal(got + 4, pub, 32);
	vouch_key_clear(&k);
	assert_int_equal(vouch_key_import_private(&k, VOUCH_KEY_P256, x, 32), VOUCH_OK);
	assert_int_equal(vouch_key_export_public(&k, pub, sizeof(pub), &len), VOUCH_OK);
	assert_memory_equal(pub + 1, g_x, 32);
	vouch_key_clear(&k);
	free(want);
	free(g_x);
}

/* The initiator up to a sent message_1 of trace 2 (after the refused first one when
 * with_error). */
static void t2_initiator_m1(struct t2 *f, struct vouch_edhoc *s, bool with_error)
{
	struct vouch_edhoc_config cfg;
	uint8_t out[BUF], *x, *c_i, *err;
	size_t out_len, x_len, c_i_len, err_len, diag_len;
	int64_t code;
	const char *diag;

	t2_config(f, &cfg, true);
	assert_int_equal(vouch_edhoc_init(s, &cfg), VOUCH_OK);
	if (with_error) {
		/* suite 6 first: X25519 ephemeral key */
		x = tv(&f->t, "first_X", &x_len);
		c_i = tv(&f->t, "first_C_I", &c_i_len);
		assert_int_equal(vouch_edhoc_set_ephemeral(s, x, x_len), VOUCH_OK);
		assert_int_equal(vouch_edhoc_write_message_1(s, c_i, c_i_len, NULL, 0, out,
		                                             sizeof(out), &out_len),
		                 VOUCH_OK);
		check_first_message_1(&f->t, out, out_len, x);
		free(x);
		free(c_i);
		err = tv(&f->t, "error", &err_len);
		assert_false(vouch_edhoc_can_retry(s));
		assert_int_equal(vouch_edhoc_read_message_2(s, err, err_len, NULL, NULL),
		                 VOUCH_ERR_EDHOC_ERROR);
		assert_true(vouch_edhoc_can_retry(s));
		assert_int_equal(vouch_edhoc_peer_error(s, &code, &diag, &diag_len), VOUCH_OK);
		assert_int_equal(code, VOUCH_EDHOC_ERR_WRONG_SUITE);
		assert_null(diag);
		free(err);
	} else {
		/* a session that starts with the suite the error named */
		struct vouch_edhoc_config c2 = cfg;

		vouch_edhoc_clear(s);
		c2.suites = suite2;
		c2.n_suites = 1;
		assert_int_equal(vouch_edhoc_init(s, &c2), VOUCH_OK);
	}
	x = tv(&f->t, "X", &x_len);
	c_i = tv(&f->t, "C_I", &c_i_len);
	assert_int_equal(vouch_edhoc_set_ephemeral(s, x, x_len), VOUCH_OK);
	assert_int_equal(
	    vouch_edhoc_write_message_1(s, c_i, c_i_len, NULL, 0, out, sizeof(out), &out_len),
	    VOUCH_OK);
	if (with_error)
		check(&f->t, "message_1", out, out_len);
	free(x);
	free(c_i);
}

static void t2_initiator(struct trace *total)
{
	struct t2 f;
	struct vouch_edhoc s;
	uint8_t out[BUF], *m2, *m4;
	size_t out_len, m2_len, m4_len, len;
	const uint8_t *p, *ead;

	t2_setup(&f, true);
	t2_initiator_m1(&f, &s, true);
	m2 = tv(&f.t, "message_2", &m2_len);
	assert_int_equal(vouch_edhoc_read_message_2(&s, m2, m2_len, &ead, &len), VOUCH_OK);
	assert_int_equal(f.res.calls, 1);
	assert_false(f.res.last.by_value);
	assert_int_equal(f.res.last.want, VOUCH_KEY_P256);
	assert_false(f.res.last.sign);
	assert_int_equal(f.res.last.kid_len, 1);
	assert_int_equal(f.res.last.kid[0], 0x32);
	assert_int_equal(vouch_edhoc_peer_cred(&s, &p, &len, NULL, NULL), VOUCH_OK);
	assert_int_equal(len, f.cred_r_len);
	assert_int_equal(vouch_edhoc_peer_c(&s, &p, &len), VOUCH_OK);
	check(&f.t, "C_R", p, len);
	assert_int_equal(vouch_edhoc_write_message_3(&s, NULL, 0, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	check(&f.t, "message_3", out, out_len);
	m4 = tv(&f.t, "message_4", &m4_len);
	assert_int_equal(vouch_edhoc_read_message_4(&s, m4, m4_len, &ead, &len), VOUCH_OK);
	check_results(&f.t, &s, true);
	vouch_edhoc_clear(&s);
	total->run += f.t.run;
	total->passed += f.t.passed;
	free(m2);
	free(m4);
	t2_teardown(&f);
}

static void t2_responder(struct trace *total)
{
	struct t2 f;
	struct vouch_edhoc s;
	struct vouch_edhoc_config cfg;
	uint8_t out[BUF], *m1, *m3, *y, *c_r;
	size_t out_len, m1_len, m3_len, y_len, c_r_len, len;
	const uint8_t *p, *ead;

	t2_setup(&f, false);
	t2_config(&f, &cfg, false);

	/* the first message_1 selects suite 6: refused, answered with SUITES_R = 2 */
	assert_int_equal(vouch_edhoc_init(&s, &cfg), VOUCH_OK);
	m1 = tv(&f.t, "first_message_1", &m1_len);
	assert_int_equal(vouch_edhoc_read_message_1(&s, m1, m1_len, NULL, NULL),
	                 VOUCH_ERR_EDHOC_SUITE);
	assert_int_equal(vouch_edhoc_state(&s), VOUCH_EDHOC_S_ABORTED);
	assert_int_equal(vouch_edhoc_write_error(&s, NULL, out, sizeof(out), &out_len), VOUCH_OK);
	check(&f.t, "error", out, out_len);
	/* one answer only */
	assert_int_equal(vouch_edhoc_write_error(&s, NULL, out, sizeof(out), &out_len),
	                 VOUCH_ERR_EDHOC_STATE);
	vouch_edhoc_clear(&s);
	free(m1);

	assert_int_equal(vouch_edhoc_init(&s, &cfg), VOUCH_OK);
	m1 = tv(&f.t, "message_1", &m1_len);
	assert_int_equal(vouch_edhoc_read_message_1(&s, m1, m1_len, &ead, &len), VOUCH_OK);
	assert_int_equal(vouch_edhoc_peer_c(&s, &p, &len), VOUCH_OK);
	check(&f.t, "C_I", p, len);
	y = tv(&f.t, "Y", &y_len);
	c_r = tv(&f.t, "C_R", &c_r_len);
	assert_int_equal(vouch_edhoc_set_ephemeral(&s, y, y_len), VOUCH_OK);
	assert_int_equal(
	    vouch_edhoc_write_message_2(&s, c_r, c_r_len, NULL, 0, out, sizeof(out), &out_len),
	    VOUCH_OK);
	check(&f.t, "message_2", out, out_len);
	m3 = tv(&f.t, "message_3", &m3_len);
	assert_int_equal(vouch_edhoc_read_message_3(&s, m3, m3_len, &ead, &len), VOUCH_OK);
	assert_int_equal(f.res.last.kid[0], 0x2b);
	assert_int_equal(vouch_edhoc_write_message_4(&s, NULL, 0, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	check(&f.t, "message_4", out, out_len);
	check_results(&f.t, &s, false);
	vouch_edhoc_clear(&s);
	total->run += f.t.run;
	total->passed += f.t.passed;
	free(m1);
	free(m3);
	free(y);
	free(c_r);
	t2_teardown(&f);
}

static void test_trace2(void **state)
{
	struct trace total = {0};

	(void)state;
	t2_initiator(&total);
	t2_responder(&total);
	tu_report("rfc9529-edhoc-trace2", total.run, total.passed, 0,
	          "method 3, suite 2, kid; error 2 to the first message_1 and the retry; both "
	          "roles byte-exact, PRK_out, exporter, OSCORE, key update; the first "
	          "message_1's G_X is P-256 under suite 6 (X25519): checked apart");
}

/* ---- live sessions with generated keys and CCS credentials ---- */

static enum vouch_key_type key_for(int32_t suite, bool stat)
{
	bool x25519 = suite == 0 || suite == 1 || suite == 6;

	if (stat)
		return x25519 ? VOUCH_KEY_X25519 : VOUCH_KEY_P256;
	return suite == 0 || suite == 1 ? VOUCH_KEY_ED25519 : VOUCH_KEY_P256;
}

struct party {
	struct vouch_key key; /* private authentication key */
	struct vouch_key pub; /* its public half, for the other side's resolver */
	uint8_t cred[256];    /* a CCS: {2: sub, 8: {1: COSE_Key}} */
	size_t cred_len;
	uint8_t id_cred[300]; /* {14: CCS} or {4: kid} */
	size_t id_cred_len;
	struct peer_entry entry;
};

static void write_cose_key(struct vouch_cbor_writer *w, const struct vouch_key *k)
{
	uint8_t raw[VOUCH_P256_POINT_LEN];
	size_t len = 0;

	if (k->type != VOUCH_KEY_X25519) {
		vouch_cose_key_write_public(w, k, NULL, 0, 0);
		return;
	}
	/* cose.h writes no X25519 COSE_Key: {1: 1 (OKP), -1: 4 (X25519), -2: x} */
	assert_int_equal(vouch_key_export_public(k, raw, sizeof(raw), &len), VOUCH_OK);
	vouch_cbor_write_map(w, 3);
	vouch_cbor_write_int(w, 1);
	vouch_cbor_write_int(w, 1);
	vouch_cbor_write_int(w, -1);
	vouch_cbor_write_int(w, 4);
	vouch_cbor_write_int(w, -2);
	vouch_cbor_write_bstr(w, raw, len);
}

static void party_make(struct party *p, enum vouch_key_type type, const char *sub, bool by_kid,
                       uint8_t kid)
{
	struct vouch_cbor_writer w;

	vouch_key_init(&p->key);
	vouch_key_init(&p->pub);
	assert_int_equal(vouch_key_generate(&p->key, type), VOUCH_OK);
	assert_int_equal(copy_public(&p->key, &p->pub), VOUCH_OK);
	vouch_cbor_writer_init(&w, p->cred, sizeof(p->cred));
	vouch_cbor_write_map(&w, 2);
	vouch_cbor_write_int(&w, 2);
	vouch_cbor_write_cstr(&w, sub);
	vouch_cbor_write_int(&w, 8);
	vouch_cbor_write_map(&w, 1);
	vouch_cbor_write_int(&w, 1);
	write_cose_key(&w, &p->key);
	assert_int_equal(vouch_cbor_writer_finish(&w, &p->cred_len), VOUCH_OK);
	vouch_cbor_writer_init(&w, p->id_cred, sizeof(p->id_cred));
	vouch_cbor_write_map(&w, 1);
	if (by_kid) {
		vouch_cbor_write_int(&w, VOUCH_EDHOC_ID_KID);
		vouch_cbor_write_bstr(&w, &kid, 1);
	} else {
		vouch_cbor_write_int(&w, VOUCH_EDHOC_ID_KCCS);
		vouch_cbor_write_raw(&w, p->cred, p->cred_len);
	}
	assert_int_equal(vouch_cbor_writer_finish(&w, &p->id_cred_len), VOUCH_OK);
	p->entry = (struct peer_entry){p->id_cred, p->id_cred_len, p->cred, p->cred_len, &p->pub};
}

static void party_clear(struct party *p)
{
	vouch_key_clear(&p->key);
	vouch_key_clear(&p->pub);
}

struct live {
	struct party i, r;
	struct resolver res_i, res_r; /* the initiator's (knows r) and the responder's */
	struct vouch_edhoc si, sr;
	struct vouch_edhoc_config ci, cr;
	int32_t suites_i[VOUCH_EDHOC_MAX_SUITES], suites_r[VOUCH_EDHOC_MAX_SUITES];
	uint8_t c_i[2], c_r[2];
	size_t c_i_len, c_r_len;
	uint8_t m[4][BUF]; /* messages as written */
	size_t m_len[4];
	uint8_t buf[BUF]; /* a received copy (decrypted in place) */
	bool fixed_eph;   /* method 3 with these ephemeral keys: every message is deterministic */
};

/* Any scalars below the P-256 order do as fixed ephemeral keys (and as X25519 keys). */
static const uint8_t fixed_x[32] = {
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
static const uint8_t fixed_y[32] = {
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22};

static const uint8_t ead_1[] = {0x05, 0x43, 'o', 'n', 'e'};      /* non-critical 5 */
static const uint8_t ead_2[] = {0x00, 0x42, 0xe9, 0x01};         /* padding */
static const uint8_t ead_3[] = {0x24, 0x41, 0x07, 0x06};         /* critical -5, then 6 */
static const uint8_t ead_4[] = {0x06, 0x44, 'f', 'o', 'u', 'r'}; /* non-critical 6 */
static const int64_t known_labels[] = {5};

static void live_setup(struct live *L, int32_t suite, unsigned method, bool by_kid)
{
	memset(L, 0, sizeof(*L));
	party_make(&L->i, key_for(suite, method == 2 || method == 3), "phone", by_kid, 0x2b);
	party_make(&L->r, key_for(suite, method == 1 || method == 3), "sensor", by_kid, 0x32);
	L->res_i = (struct resolver){&L->r.entry, 1, false, 0, {0}};
	L->res_r = (struct resolver){&L->i.entry, 1, false, 0, {0}};
	L->suites_i[0] = L->suites_r[0] = suite;
	L->ci = (struct vouch_edhoc_config){
	    .role = VOUCH_EDHOC_INITIATOR,
	    .methods = VOUCH_EDHOC_METHOD_BIT(method),
	    .suites = L->suites_i,
	    .n_suites = 1,
	    .key = &L->i.key,
	    .cred = L->i.cred,
	    .cred_len = L->i.cred_len,
	    .id_cred = L->i.id_cred,
	    .id_cred_len = L->i.id_cred_len,
	    .resolve = resolve,
	    .resolve_arg = &L->res_i,
	    .ead_labels = known_labels,
	    .n_ead_labels = 1,
	};
	L->cr = (struct vouch_edhoc_config){
	    .role = VOUCH_EDHOC_RESPONDER,
	    .methods = VOUCH_EDHOC_METHODS_ALL,
	    .suites = L->suites_r,
	    .n_suites = 1,
	    .key = &L->r.key,
	    .cred = L->r.cred,
	    .cred_len = L->r.cred_len,
	    .id_cred = L->r.id_cred,
	    .id_cred_len = L->r.id_cred_len,
	    .resolve = resolve,
	    .resolve_arg = &L->res_r,
	    .ead_labels = known_labels,
	    .n_ead_labels = 1,
	};
	L->c_i[0] = 0x0e;
	L->c_i_len = 1;
	L->c_r[0] = 0x18; /* not a one-byte int: sent as a bstr */
	L->c_r_len = 1;
}

static void live_init(struct live *L)
{
	assert_int_equal(vouch_edhoc_init(&L->si, &L->ci), VOUCH_OK);
	assert_int_equal(vouch_edhoc_init(&L->sr, &L->cr), VOUCH_OK);
}

static void live_teardown(struct live *L)
{
	vouch_edhoc_clear(&L->si);
	vouch_edhoc_clear(&L->sr);
	party_clear(&L->i);
	party_clear(&L->r);
}

static int w1(struct live *L, const uint8_t *ead, size_t ead_len)
{
	if (L->fixed_eph && vouch_edhoc_state(&L->si) == VOUCH_EDHOC_S_START)
		assert_int_equal(vouch_edhoc_set_ephemeral(&L->si, fixed_x, 32), VOUCH_OK);
	return vouch_edhoc_write_message_1(&L->si, L->c_i, L->c_i_len, ead, ead_len, L->m[0], BUF,
	                                   &L->m_len[0]);
}

static int r1(struct live *L)
{
	return vouch_edhoc_read_message_1(&L->sr, L->m[0], L->m_len[0], NULL, NULL);
}

static int w2(struct live *L, const uint8_t *ead, size_t ead_len)
{
	if (L->fixed_eph && vouch_edhoc_state(&L->sr) == VOUCH_EDHOC_S_RCVD_M1)
		assert_int_equal(vouch_edhoc_set_ephemeral(&L->sr, fixed_y, 32), VOUCH_OK);
	return vouch_edhoc_write_message_2(&L->sr, L->c_r, L->c_r_len, ead, ead_len, L->m[1], BUF,
	                                   &L->m_len[1]);
}

/* The initiator reads message_n (2 or 4) / the responder message_n (3) from a copy. */
static int rd(struct live *L, int n, const uint8_t *msg, size_t len)
{
	memcpy(L->buf, msg, len);
	if (n == 2)
		return vouch_edhoc_read_message_2(&L->si, L->buf, len, NULL, NULL);
	if (n == 3)
		return vouch_edhoc_read_message_3(&L->sr, L->buf, len, NULL, NULL);
	return vouch_edhoc_read_message_4(&L->si, L->buf, len, NULL, NULL);
}

static int w3(struct live *L, const uint8_t *ead, size_t ead_len)
{
	return vouch_edhoc_write_message_3(&L->si, ead, ead_len, L->m[2], BUF, &L->m_len[2]);
}

static int w4(struct live *L, const uint8_t *ead, size_t ead_len)
{
	return vouch_edhoc_write_message_4(&L->sr, ead, ead_len, L->m[3], BUF, &L->m_len[3]);
}

/* Up to and including the initiator's message_n (1 or 3) / the responder's message_n (2, 4),
 * each step checked. */
static void live_run_to(struct live *L, int n)
{
	vouch_edhoc_clear(&L->si);
	vouch_edhoc_clear(&L->sr);
	live_init(L);
	assert_int_equal(w1(L, NULL, 0), VOUCH_OK);
	if (n == 1)
		return;
	assert_int_equal(r1(L), VOUCH_OK);
	assert_int_equal(w2(L, NULL, 0), VOUCH_OK);
	if (n == 2)
		return;
	assert_int_equal(rd(L, 2, L->m[1], L->m_len[1]), VOUCH_OK);
	assert_int_equal(w3(L, NULL, 0), VOUCH_OK);
	if (n == 3)
		return;
	assert_int_equal(rd(L, 3, L->m[2], L->m_len[2]), VOUCH_OK);
	assert_int_equal(w4(L, NULL, 0), VOUCH_OK);
}

static void assert_same_public(const struct vouch_key *a, const struct vouch_key *b)
{
	uint8_t ra[VOUCH_P256_POINT_LEN], rb[VOUCH_P256_POINT_LEN];
	size_t la = 0, lb = 0;

	assert_non_null(a);
	assert_int_equal(vouch_key_export_public(a, ra, sizeof(ra), &la), VOUCH_OK);
	assert_int_equal(vouch_key_export_public(b, rb, sizeof(rb), &lb), VOUCH_OK);
	assert_int_equal(la, lb);
	assert_memory_equal(ra, rb, la);
}

/* Both sides agree on every output, and each saw the other's key and EAD. */
static void live_full(int32_t suite, unsigned method, bool by_kid)
{
	struct live L;
	struct vouch_edhoc_oscore oi, or_;
	uint8_t ki[VOUCH_EDHOC_HASH_LEN], kr[VOUCH_EDHOC_HASH_LEN], ei[40], er[40];
	const uint8_t *ead, *cred;
	size_t len, cred_len;

	live_setup(&L, suite, method, by_kid);
	live_init(&L);
	assert_int_equal(w1(&L, ead_1, sizeof(ead_1)), VOUCH_OK);
	assert_int_equal(vouch_edhoc_read_message_1(&L.sr, L.m[0], L.m_len[0], &ead, &len),
	                 VOUCH_OK);
	assert_int_equal(len, sizeof(ead_1));
	assert_memory_equal(ead, ead_1, len);
	assert_int_equal(w2(&L, ead_2, sizeof(ead_2)), VOUCH_OK);
	memcpy(L.buf, L.m[1], L.m_len[1]);
	assert_int_equal(vouch_edhoc_read_message_2(&L.si, L.buf, L.m_len[1], &ead, &len),
	                 VOUCH_OK);
	assert_int_equal(len, sizeof(ead_2));
	assert_memory_equal(ead, ead_2, len);
	/* the initiator sees the proven key and credential before going on */
	assert_same_public(vouch_edhoc_peer_key(&L.si), &L.r.pub);
	assert_int_equal(vouch_edhoc_peer_cred(&L.si, &cred, &cred_len, NULL, NULL), VOUCH_OK);
	assert_int_equal(cred_len, L.r.cred_len);
	assert_memory_equal(cred, L.r.cred, cred_len);
	assert_int_equal(L.res_i.last.by_value, !by_kid);

	assert_int_equal(w3(&L, ead_3, sizeof(ead_3)), VOUCH_OK);
	memcpy(L.buf, L.m[2], L.m_len[2]);
	assert_int_equal(vouch_edhoc_read_message_3(&L.sr, L.buf, L.m_len[2], &ead, &len),
	                 VOUCH_OK);
	assert_int_equal(len, sizeof(ead_3));
	assert_memory_equal(ead, ead_3, len);
	assert_same_public(vouch_edhoc_peer_key(&L.sr), &L.i.pub);
	assert_int_equal(vouch_edhoc_peer_cred(&L.sr, &cred, &cred_len, NULL, NULL), VOUCH_OK);
	assert_memory_equal(cred, L.i.cred, cred_len);

	assert_int_equal(w4(&L, ead_4, sizeof(ead_4)), VOUCH_OK);
	memcpy(L.buf, L.m[3], L.m_len[3]);
	assert_int_equal(vouch_edhoc_read_message_4(&L.si, L.buf, L.m_len[3], &ead, &len),
	                 VOUCH_OK);
	assert_int_equal(len, sizeof(ead_4));
	assert_memory_equal(ead, ead_4, len);

	assert_int_equal(vouch_edhoc_prk_out(&L.si, ki), VOUCH_OK);
	assert_int_equal(vouch_edhoc_prk_out(&L.sr, kr), VOUCH_OK);
	assert_memory_equal(ki, kr, sizeof(ki));
	assert_int_equal(vouch_edhoc_exporter(&L.si, 40000, (const uint8_t *)"ctx", 3, ei, 40),
	                 VOUCH_OK);
	assert_int_equal(vouch_edhoc_exporter(&L.sr, 40000, (const uint8_t *)"ctx", 3, er, 40),
	                 VOUCH_OK);
	assert_memory_equal(ei, er, sizeof(ei));
	assert_int_equal(vouch_edhoc_oscore(&L.si, &oi), VOUCH_OK);
	assert_int_equal(vouch_edhoc_oscore(&L.sr, &or_), VOUCH_OK);
	assert_memory_equal(oi.master_secret, or_.master_secret, sizeof(oi.master_secret));
	assert_memory_equal(oi.master_salt, or_.master_salt, sizeof(oi.master_salt));
	assert_int_equal(oi.sender_id_len, 1);
	assert_int_equal(oi.sender_id[0], 0x18);    /* C_R */
	assert_int_equal(oi.recipient_id[0], 0x0e); /* C_I */
	assert_int_equal(or_.sender_id[0], 0x0e);
	assert_int_equal(or_.recipient_id[0], 0x18);
	assert_int_equal(vouch_edhoc_key_update(&L.si, ki, 4), VOUCH_OK);
	assert_int_equal(vouch_edhoc_key_update(&L.sr, ki, 4), VOUCH_OK);
	assert_int_equal(vouch_edhoc_prk_out(&L.si, ki), VOUCH_OK);
	assert_int_equal(vouch_edhoc_prk_out(&L.sr, kr), VOUCH_OK);
	assert_memory_equal(ki, kr, sizeof(ki));
	vouch_wipe(&oi, sizeof(oi));
	vouch_wipe(&or_, sizeof(or_));
	live_teardown(&L);
}

static void test_live_methods_suites(void **state)
{
	static const int32_t suites[] = {2, 3, 0, 1, 6};

	(void)state;
	for (size_t s = 0; s < VOUCH_ARRAY_LEN(suites); s++)
		for (unsigned m = 0; m < 4; m++) {
			if (!have_key_type(key_for(suites[s], m == 2 || m == 3)) ||
			    !have_key_type(key_for(suites[s], m == 1 || m == 3)) ||
			    (suites[s] != 2 && suites[s] != 3 &&
			     !have_key_type(VOUCH_KEY_X25519))) {
				fprintf(stderr, "suite %d method %u: skipped (back-end %s)\n",
				        (int)suites[s], m, vouch_crypto_backend());
				continue;
			}
			live_full(suites[s], m, false); /* kccs by value */
			live_full(suites[s], m, true);  /* kid by reference */
		}
}

/* Many sessions with fresh P-256 ephemeral keys: every x-coordinate decompresses. */
static void test_live_many_p256(void **state)
{
	(void)state;
	for (int i = 0; i < 24; i++)
		live_full(2, VOUCH_EDHOC_METHOD_STAT_STAT, i % 2 == 0);
}

/* ---- refusals ---- */

/* The deterministic pair most refusal tests use: suite 2, method 3, kid. */
static void det_setup(struct live *L)
{
	live_setup(L, 2, VOUCH_EDHOC_METHOD_STAT_STAT, true);
	L->fixed_eph = true;
}

static void assert_aborted(const struct vouch_edhoc *s)
{
	uint8_t prk[VOUCH_EDHOC_HASH_LEN];

	assert_int_equal(vouch_edhoc_state(s), VOUCH_EDHOC_S_ABORTED);
	assert_int_equal(vouch_edhoc_prk_out(s, prk), VOUCH_ERR_EDHOC_STATE);
	assert_null(vouch_edhoc_peer_key(s));
}

static void test_tamper_message_1(void **state)
{
	struct live L;
	size_t key_refused = 0, caught_later = 0;
	int rc;

	(void)state;
	det_setup(&L);
	live_run_to(&L, 1);
	/* m1 = 03 02 58 20 G_X 0e */
	for (size_t bit = 0; bit < 32 * 8; bit += 7) {
		live_run_to(&L, 1);
		L.m[0][4 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rc = r1(&L);
		if (rc == VOUCH_ERR_KEY) { /* x no longer on the curve */
			assert_aborted(&L.sr);
			key_refused++;
			continue;
		}
		assert_int_equal(rc, VOUCH_OK);
		/* another point: the initiator's transcript and keys differ */
		assert_int_equal(w2(&L, NULL, 0), VOUCH_OK);
		assert_int_not_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_OK);
		assert_aborted(&L.si);
		caught_later++;
	}
	assert_true(key_refused > 0);
	assert_true(caught_later > 0);

	/* C_I and METHOD are not checked until message_2's MAC, and are then */
	for (size_t pos = 0; pos < 2; pos++) {
		live_run_to(&L, 1);
		L.m[0][pos == 0 ? L.m_len[0] - 1 : 0] ^= 0x01; /* C_I 0e -> 0f, METHOD 3 -> 2 */
		assert_int_equal(r1(&L), VOUCH_OK);
		assert_int_equal(w2(&L, NULL, 0), VOUCH_OK);
		assert_int_not_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_OK);
		assert_aborted(&L.si);
	}
	live_teardown(&L);
}

static void test_tamper_message_2(void **state)
{
	struct live L;
	size_t hlen = 2; /* 58 xx */
	int rc;

	(void)state;
	det_setup(&L);
	live_run_to(&L, 2);
	assert_int_equal(L.m[1][0], 0x58);

	/* the last byte: MAC_2 */
	live_run_to(&L, 2);
	L.m[1][L.m_len[1] - 1] ^= 0x80;
	assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_ERR_VERIFY);
	assert_aborted(&L.si);
	/* every bit of the ciphertext: never accepted */
	for (size_t i = hlen + 32; i < L.m_len[1]; i++) {
		for (unsigned b = 0; b < 8; b += 3) {
			live_run_to(&L, 2);
			L.m[1][i] ^= (uint8_t)(1u << b);
			rc = rd(&L, 2, L.m[1], L.m_len[1]);
			assert_int_not_equal(rc, VOUCH_OK);
			assert_aborted(&L.si);
		}
	}
	/* C_R (41 18 -> 41 19): parses, MAC_2 covers it */
	live_run_to(&L, 2);
	L.m[1][hlen + 32 + 1] ^= 0x01;
	assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_ERR_VERIFY);
	/* G_Y */
	for (size_t bit = 0; bit < 32 * 8; bit += 29) {
		live_run_to(&L, 2);
		L.m[1][hlen + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rc = rd(&L, 2, L.m[1], L.m_len[1]);
		assert_int_not_equal(rc, VOUCH_OK);
		assert_aborted(&L.si);
	}
	live_teardown(&L);
}

static void test_tamper_message_3_4(void **state)
{
	struct live L;
	uint8_t prk[VOUCH_EDHOC_HASH_LEN];

	(void)state;
	det_setup(&L);
	live_run_to(&L, 3);
	for (size_t i = 1; i < L.m_len[2]; i++) {
		live_run_to(&L, 3);
		L.m[2][i] ^= 0x04;
		assert_int_equal(rd(&L, 3, L.m[2], L.m_len[2]), VOUCH_ERR_VERIFY);
		assert_aborted(&L.sr);
	}
	/* the bstr head: a length that no longer matches */
	live_run_to(&L, 3);
	L.m[2][0] ^= 0x01;
	assert_int_not_equal(rd(&L, 3, L.m[2], L.m_len[2]), VOUCH_OK);

	live_run_to(&L, 4);
	L.m[3][L.m_len[3] - 1] ^= 0x01;
	assert_int_equal(vouch_edhoc_prk_out(&L.si, prk), VOUCH_OK);
	assert_int_equal(rd(&L, 4, L.m[3], L.m_len[3]), VOUCH_ERR_VERIFY);
	/* message_4 refused: the initiator's keys are gone too */
	assert_aborted(&L.si);
	live_teardown(&L);
}

static void test_truncated(void **state)
{
	struct live L;

	(void)state;
	det_setup(&L);
	live_run_to(&L, 4);
	for (size_t n = 0; n < L.m_len[0]; n++) {
		live_run_to(&L, 1);
		assert_int_not_equal(vouch_edhoc_read_message_1(&L.sr, L.m[0], n, NULL, NULL),
		                     VOUCH_OK);
		assert_aborted(&L.sr);
	}
	for (int m = 1; m < 4; m++) {
		for (size_t n = 0; n < L.m_len[m]; n++) {
			live_run_to(&L, m + 1);
			assert_int_not_equal(rd(&L, m + 1, L.m[m], n), VOUCH_OK);
			assert_aborted(m == 2 ? &L.sr : &L.si);
		}
	}
	/* a bstr that claims more than there is */
	live_run_to(&L, 2);
	assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1] - 1), VOUCH_ERR_CBOR_MALFORMED);
	live_teardown(&L);
}

static void test_trailing(void **state)
{
	struct live L;

	(void)state;
	det_setup(&L);
	for (int m = 1; m < 4; m++) {
		live_run_to(&L, m + 1);
		L.m[m][L.m_len[m]] = 0x00;
		assert_int_equal(rd(&L, m + 1, L.m[m], L.m_len[m] + 1), VOUCH_ERR_CBOR_TRAILING);
		assert_aborted(m == 2 ? &L.sr : &L.si);
	}
	/* after message_1 a byte is EAD_1: a break is no EAD item */
	live_run_to(&L, 1);
	L.m[0][L.m_len[0]] = 0xff;
	assert_int_not_equal(vouch_edhoc_read_message_1(&L.sr, L.m[0], L.m_len[0] + 1, NULL, NULL),
	                     VOUCH_OK);
	/* padding is EAD_1, but it is in H(message_1): the initiator notices */
	live_run_to(&L, 1);
	L.m[0][L.m_len[0]++] = 0x00;
	assert_int_equal(r1(&L), VOUCH_OK);
	assert_int_equal(w2(&L, NULL, 0), VOUCH_OK);
	assert_int_not_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_OK);
	live_teardown(&L);
}

static void test_oversized(void **state)
{
	struct live L;
	uint8_t m1[1024], *big;
	size_t n, big_len = 4 + 32 + 8161;

	(void)state;
	det_setup(&L);
	live_run_to(&L, 1);
	/* C_I of 8 bytes: over VOUCH_EDHOC_MAX_CID */
	memcpy(m1, L.m[0], 36);
	n = 36;
	m1[n++] = 0x48;
	memset(m1 + n, 0xaa, 8);
	n += 8;
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(vouch_edhoc_read_message_1(&L.sr, m1, n, NULL, NULL), VOUCH_ERR_EDHOC);
	/* EAD_1 over VOUCH_EDHOC_MAX_EAD */
	memcpy(m1, L.m[0], L.m_len[0]);
	n = L.m_len[0];
	m1[n++] = 0x01;
	m1[n++] = 0x59;
	m1[n++] = 0x02;
	m1[n++] = 0x00;
	memset(m1 + n, 0, 512);
	n += 512;
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(vouch_edhoc_read_message_1(&L.sr, m1, n, NULL, NULL), VOUCH_ERR_EDHOC);
	/* a PLAINTEXT_2 longer than one EDHOC_KDF output */
	live_run_to(&L, 1);
	big = calloc(1, big_len);
	assert_non_null(big);
	big[0] = 0x59;
	big[1] = (uint8_t)((big_len - 3) >> 8);
	big[2] = (uint8_t)(big_len - 3);
	assert_int_equal(vouch_edhoc_read_message_2(&L.si, big, big_len, NULL, NULL),
	                 VOUCH_ERR_EDHOC);
	free(big);

	/* too small an output buffer: refused, the session unchanged */
	live_run_to(&L, 1);
	assert_int_equal(r1(&L), VOUCH_OK);
	assert_int_equal(
	    vouch_edhoc_write_message_2(&L.sr, L.c_r, 1, NULL, 0, L.m[1], 20, &L.m_len[1]),
	    VOUCH_ERR_BUFFER);
	assert_int_equal(vouch_edhoc_state(&L.sr), VOUCH_EDHOC_S_RCVD_M1);
	assert_int_equal(w2(&L, NULL, 0), VOUCH_OK);
	/* an own EAD that is not one, a C_R too long, C_R = C_I */
	live_run_to(&L, 1);
	assert_int_equal(r1(&L), VOUCH_OK);
	assert_int_equal(vouch_edhoc_write_message_2(&L.sr, L.c_r, 1, (const uint8_t *)"\x40", 1,
	                                             L.m[1], BUF, &L.m_len[1]),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(
	    vouch_edhoc_write_message_2(&L.sr, m1, 8, NULL, 0, L.m[1], BUF, &L.m_len[1]),
	    VOUCH_ERR_INVALID);
	assert_int_equal(
	    vouch_edhoc_write_message_2(&L.sr, L.c_i, 1, NULL, 0, L.m[1], BUF, &L.m_len[1]),
	    VOUCH_ERR_INVALID);
	assert_int_equal(vouch_edhoc_state(&L.sr), VOUCH_EDHOC_S_RCVD_M1);
	/* a responder that sends C_R = C_I anyway: the initiator refuses message_2 */
	L.sr.c_peer[0] ^= 0x01;
	assert_int_equal(
	    vouch_edhoc_write_message_2(&L.sr, L.c_i, 1, NULL, 0, L.m[1], BUF, &L.m_len[1]),
	    VOUCH_OK);
	assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_ERR_EDHOC);
	live_teardown(&L);
}

static void test_out_of_order(void **state)
{
	struct live L;
	uint8_t prk[VOUCH_EDHOC_HASH_LEN], prk2[VOUCH_EDHOC_HASH_LEN], out[BUF];
	size_t out_len;

	(void)state;
	det_setup(&L);
	live_run_to(&L, 2);

	/* message_2 before message_1 was written; then the session is over */
	vouch_edhoc_clear(&L.si);
	assert_int_equal(vouch_edhoc_init(&L.si, &L.ci), VOUCH_OK);
	assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_ERR_EDHOC_STATE);
	assert_aborted(&L.si);
	assert_int_equal(w1(&L, NULL, 0), VOUCH_ERR_EDHOC_STATE);
	/* a role's call on the other role's session */
	vouch_edhoc_clear(&L.si);
	assert_int_equal(vouch_edhoc_init(&L.si, &L.ci), VOUCH_OK);
	assert_int_equal(vouch_edhoc_read_message_1(&L.si, L.m[0], L.m_len[0], NULL, NULL),
	                 VOUCH_ERR_EDHOC_STATE);
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(w2(&L, NULL, 0), VOUCH_ERR_EDHOC_STATE);
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(vouch_edhoc_set_ephemeral(&L.sr, fixed_y, 32), VOUCH_ERR_EDHOC_STATE);
	/* message_3 before message_2 */
	live_run_to(&L, 1);
	assert_int_equal(w3(&L, NULL, 0), VOUCH_ERR_EDHOC_STATE);
	assert_aborted(&L.si);
	/* no error message after sending one's own message */
	live_run_to(&L, 1);
	assert_int_equal(vouch_edhoc_write_error(&L.si, "x", out, sizeof(out), &out_len),
	                 VOUCH_ERR_EDHOC_STATE);

	/* completed sessions: late and replayed messages change nothing */
	live_run_to(&L, 3);
	assert_int_equal(rd(&L, 3, L.m[2], L.m_len[2]), VOUCH_OK);
	assert_int_equal(vouch_edhoc_prk_out(&L.sr, prk), VOUCH_OK);
	assert_int_equal(rd(&L, 3, L.m[2], L.m_len[2]), VOUCH_ERR_EDHOC_STATE); /* replay */
	assert_int_equal(vouch_edhoc_read_message_1(&L.sr, L.m[0], L.m_len[0], NULL, NULL),
	                 VOUCH_ERR_EDHOC_STATE);
	assert_int_equal(vouch_edhoc_state(&L.sr), VOUCH_EDHOC_S_COMPLETED);
	assert_int_equal(vouch_edhoc_prk_out(&L.sr, prk2), VOUCH_OK);
	assert_memory_equal(prk, prk2, sizeof(prk));
	assert_int_equal(w3(&L, NULL, 0), VOUCH_ERR_EDHOC_STATE); /* message_3 twice */
	assert_int_equal(vouch_edhoc_prk_out(&L.si, prk2), VOUCH_OK);
	assert_memory_equal(prk, prk2, sizeof(prk));
	assert_int_equal(w4(&L, NULL, 0), VOUCH_OK);
	assert_int_equal(vouch_edhoc_write_message_4(&L.sr, NULL, 0, out, sizeof(out), &out_len),
	                 VOUCH_ERR_EDHOC_STATE);
	assert_int_equal(vouch_edhoc_state(&L.sr), VOUCH_EDHOC_S_PERSISTED);
	assert_int_equal(rd(&L, 4, L.m[3], L.m_len[3]), VOUCH_OK);
	assert_int_equal(rd(&L, 4, L.m[3], L.m_len[3]), VOUCH_ERR_EDHOC_STATE);
	assert_int_equal(vouch_edhoc_prk_out(&L.si, prk2), VOUCH_OK);
	/* results before the end */
	live_run_to(&L, 2);
	assert_int_equal(vouch_edhoc_prk_out(&L.sr, prk), VOUCH_ERR_EDHOC_STATE);
	assert_int_equal(vouch_edhoc_exporter(&L.sr, 0, NULL, 0, prk, 16), VOUCH_ERR_EDHOC_STATE);
	assert_null(vouch_edhoc_peer_key(&L.sr));
	live_teardown(&L);
}

static void test_peer_unknown_refused(void **state)
{
	struct live L;
	uint8_t out[BUF];
	size_t out_len;

	(void)state;
	/* an unknown kid */
	det_setup(&L);
	L.res_i.n = 0;
	live_run_to(&L, 2);
	assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_ERR_EDHOC_PEER);
	assert_aborted(&L.si);
	assert_int_equal(vouch_edhoc_write_error(&L.si, NULL, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_int_equal(out[0], 0x01);
	/* ... and by the responder, of the initiator */
	L.res_i.n = 1;
	L.res_r.n = 0;
	live_run_to(&L, 3);
	assert_int_equal(rd(&L, 3, L.m[2], L.m_len[2]), VOUCH_ERR_EDHOC_PEER);
	assert_aborted(&L.sr);
	/* without any resolver, by reference is unknown */
	L.res_r.n = 1;
	L.ci.resolve = NULL;
	live_run_to(&L, 2);
	assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_ERR_EDHOC_PEER);
	live_teardown(&L);

	/* by value (kccs), refused by the application's callback */
	live_setup(&L, 2, VOUCH_EDHOC_METHOD_SIG_SIG, false);
	L.res_i.refuse_by_value = true;
	live_run_to(&L, 2);
	assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_ERR_EDHOC_PEER);
	assert_true(L.res_i.last.by_value);
	L.res_i.refuse_by_value = false;
	L.res_r.refuse_by_value = true;
	live_run_to(&L, 3);
	assert_int_equal(rd(&L, 3, L.m[2], L.m_len[2]), VOUCH_ERR_EDHOC_PEER);
	/* a credential whose key is of the wrong type for the method and suite (an Ed25519 key:
	 * a back-end without Ed25519, PSA, cannot even make one) */
	if (have_key_type(VOUCH_KEY_ED25519)) {
		struct party ed;
		struct vouch_cbor_writer w;

		party_make(&ed, VOUCH_KEY_ED25519, "sensor", false, 0);
		memcpy(L.r.cred, ed.cred,
		       ed.cred_len); /* R signs with P-256, its CCS says Ed25519 */
		L.r.cred_len = ed.cred_len;
		vouch_cbor_writer_init(&w, L.r.id_cred, sizeof(L.r.id_cred));
		vouch_cbor_write_map(&w, 1);
		vouch_cbor_write_int(&w, VOUCH_EDHOC_ID_KCCS);
		vouch_cbor_write_raw(&w, ed.cred, ed.cred_len);
		assert_int_equal(vouch_cbor_writer_finish(&w, &L.r.id_cred_len), VOUCH_OK);
		L.cr.cred_len = L.r.cred_len;
		L.cr.id_cred_len = L.r.id_cred_len;
		live_run_to(&L, 2);
		assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_ERR_EDHOC_PEER);
		party_clear(&ed);
		party_clear(&L.r);
		party_make(&L.r, VOUCH_KEY_P256, "sensor", false, 0);
		L.cr.cred_len = L.r.cred_len;
		L.cr.id_cred_len = L.r.id_cred_len;
	}
	/* the initiator looks at the proven key and stops before message_3 */
	L.res_r.refuse_by_value = false;
	live_run_to(&L, 2);
	assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_OK);
	assert_same_public(vouch_edhoc_peer_key(&L.si), &L.r.pub);
	vouch_edhoc_abort(&L.si);
	assert_aborted(&L.si);
	assert_int_equal(w3(&L, NULL, 0), VOUCH_ERR_EDHOC_STATE);
	/* ... or tells the responder why */
	live_run_to(&L, 2);
	assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_OK);
	assert_int_equal(
	    vouch_edhoc_write_error(&L.si, "pairing code mismatch", out, sizeof(out), &out_len),
	    VOUCH_OK);
	assert_aborted(&L.si);
	assert_int_equal(vouch_edhoc_read_message_3(&L.sr, out, out_len, NULL, NULL),
	                 VOUCH_ERR_EDHOC_ERROR);
	assert_aborted(&L.sr);
	live_teardown(&L);
}

/* A made-up message_2 (an error message, mostly) from constant bytes, read from a copy. */
static int rd2_const(struct vouch_edhoc *s, const void *msg, size_t len)
{
	uint8_t buf[64];

	assert_true(len <= sizeof(buf));
	memcpy(buf, msg, len);
	return vouch_edhoc_read_message_2(s, buf, len, NULL, NULL);
}

/* A peer that does not hold the key its credential names (an impostor, or the wrong entry in
 * the application's table): never accepted, by signature or by static DH. And a signature with
 * a flipped bit. */
static void test_wrong_key(void **state)
{
	struct live L;
	struct party other;

	(void)state;
	for (unsigned m = 0; m < 4; m++) {
		live_setup(&L, 2, m, true);
		party_make(&other, L.r.key.type, "other", true, 0x32);
		L.r.entry.key = &other.pub; /* the initiator's table names another key for R */
		live_run_to(&L, 2);
		assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_ERR_VERIFY);
		assert_aborted(&L.si);
		L.r.entry.key = &L.r.pub;
		party_clear(&other);
		party_make(&other, L.i.key.type, "other", true, 0x2b);
		L.i.entry.key = &other.pub;
		live_run_to(&L, 3);
		assert_int_equal(rd(&L, 3, L.m[2], L.m_len[2]), VOUCH_ERR_VERIFY);
		assert_aborted(&L.sr);
		party_clear(&other);
		live_teardown(&L);
	}
	/* method 0: every byte of the signature in PLAINTEXT_2 (the last 64 bytes) */
	live_setup(&L, 2, VOUCH_EDHOC_METHOD_SIG_SIG, true);
	for (size_t i = 1; i <= 64; i += 3) {
		live_run_to(&L, 2);
		L.m[1][L.m_len[1] - i] ^= 0x10;
		assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_ERR_VERIFY);
	}
	live_teardown(&L);
}

/* A message_1 by hand: METHOD 3, the given SUITES_I encoding, a valid P-256 x, C_I 0x37. */
static size_t craft_m1(uint8_t *out, const uint8_t *suites, size_t suites_len, const uint8_t x[32])
{
	size_t n = 0;

	out[n++] = 0x03;
	memcpy(out + n, suites, suites_len);
	n += suites_len;
	out[n++] = 0x58;
	out[n++] = 0x20;
	memcpy(out + n, x, 32);
	n += 32;
	out[n++] = 0x37;
	return n;
}

static void test_suite_negotiation(void **state)
{
	struct live L;
	uint8_t out[BUF], m1[64];
	size_t out_len, n;
	int64_t code;
	static const uint8_t sel3_pref2[] = {0x82, 0x02, 0x03};
	static const uint8_t err_none[] = {0x02, 0x00};
	static const uint8_t err_arr[] = {0x02, 0x82, 0x02, 0x03};

	(void)state;
	/* the initiator prefers 3, the responder has 2: error, retry, success */
	det_setup(&L);
	L.suites_i[0] = 3;
	L.suites_i[1] = 2;
	L.ci.n_suites = 2;
	live_init(&L);
	assert_int_equal(w1(&L, NULL, 0), VOUCH_OK);
	assert_int_equal(L.m[0][1], 0x03);
	assert_int_equal(r1(&L), VOUCH_ERR_EDHOC_SUITE);
	assert_int_equal(vouch_edhoc_write_error(&L.sr, NULL, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_int_equal(out_len, 2);
	assert_int_equal(out[0], 0x02);
	assert_int_equal(out[1], 0x02);
	assert_int_equal(vouch_edhoc_read_message_2(&L.si, out, out_len, NULL, NULL),
	                 VOUCH_ERR_EDHOC_ERROR);
	assert_true(vouch_edhoc_can_retry(&L.si));
	assert_int_equal(w1(&L, NULL, 0), VOUCH_OK);
	/* SUITES_I = [3, 2]: the preferred one stays in front */
	assert_memory_equal(L.m[0] + 1, "\x82\x03\x02", 3);
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(r1(&L), VOUCH_OK);
	assert_int_equal(w2(&L, NULL, 0), VOUCH_OK);
	assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_OK);
	assert_int_equal(w3(&L, NULL, 0), VOUCH_OK);
	assert_int_equal(rd(&L, 3, L.m[2], L.m_len[2]), VOUCH_OK);

	/* selected 3 while the responder supports 2, which the initiator prefers: refused */
	L.suites_r[1] = 3;
	L.cr.n_suites = 2;
	n = craft_m1(m1, sel3_pref2, sizeof(sel3_pref2), L.m[0] + 6);
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(vouch_edhoc_read_message_1(&L.sr, m1, n, NULL, NULL),
	                 VOUCH_ERR_EDHOC_SUITE);
	assert_int_equal(vouch_edhoc_write_error(&L.sr, NULL, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_memory_equal(out, "\x02\x02", 2);
	assert_int_equal(out_len, 2);
	/* an array of one suite is not SUITES_I */
	n = craft_m1(m1, (const uint8_t *)"\x81\x02", 2, L.m[0] + 6);
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(vouch_edhoc_read_message_1(&L.sr, m1, n, NULL, NULL), VOUCH_ERR_EDHOC);

	/* SUITES_R naming nothing the initiator has: no retry */
	live_run_to(&L, 1);
	assert_int_equal(rd2_const(&L.si, err_none, sizeof(err_none)), VOUCH_ERR_EDHOC_ERROR);
	assert_false(vouch_edhoc_can_retry(&L.si));
	assert_aborted(&L.si);
	/* SUITES_R as an array: the initiator's most preferred of them */
	L.suites_i[0] = 6;
	L.suites_i[1] = 3;
	L.suites_i[2] = 2;
	L.ci.n_suites = 3;
	L.fixed_eph = false;
	live_run_to(&L, 1);
	assert_int_equal(rd2_const(&L.si, err_arr, sizeof(err_arr)), VOUCH_ERR_EDHOC_ERROR);
	assert_int_equal(vouch_edhoc_peer_error(&L.si, &code, NULL, NULL), VOUCH_OK);
	assert_int_equal(code, 2);
	assert_true(vouch_edhoc_can_retry(&L.si));
	assert_int_equal(L.si.suite, 3);
	live_teardown(&L);
}

static void test_error_messages(void **state)
{
	struct live L;
	uint8_t out[BUF], prk[VOUCH_EDHOC_HASH_LEN];
	size_t out_len, diag_len;
	int64_t code;
	const char *diag;
	static const int32_t s23[] = {2, 3};

	(void)state;
	det_setup(&L);
	/* the responder refuses message_1 for its own reasons */
	live_run_to(&L, 1);
	assert_int_equal(r1(&L), VOUCH_OK);
	assert_int_equal(vouch_edhoc_write_error(&L.sr, "nope", out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_int_equal(out_len, 6);
	assert_memory_equal(out, "\x01\x64nope", 6);
	assert_aborted(&L.sr);
	assert_int_equal(vouch_edhoc_read_message_2(&L.si, out, out_len, NULL, NULL),
	                 VOUCH_ERR_EDHOC_ERROR);
	assert_int_equal(vouch_edhoc_peer_error(&L.si, &code, &diag, &diag_len), VOUCH_OK);
	assert_int_equal(code, 1);
	assert_int_equal(diag_len, 4);
	assert_memory_equal(diag, "nope", 4);
	assert_false(vouch_edhoc_can_retry(&L.si));
	assert_aborted(&L.si);
	/* never an error in answer to an error */
	assert_int_equal(vouch_edhoc_write_error(&L.si, NULL, out, sizeof(out), &out_len),
	                 VOUCH_ERR_EDHOC_STATE);

	/* the responder refusing message_3: the initiator's keys go */
	live_run_to(&L, 3);
	assert_int_equal(vouch_edhoc_prk_out(&L.si, prk), VOUCH_OK);
	assert_int_equal(vouch_edhoc_error_encode(3, NULL, NULL, 0, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_memory_equal(out, "\x03\xf5", 2);
	assert_int_equal(vouch_edhoc_read_message_4(&L.si, out, out_len, NULL, NULL),
	                 VOUCH_ERR_EDHOC_ERROR);
	assert_aborted(&L.si);
	live_run_to(&L, 3);
	assert_int_equal(vouch_edhoc_read_error(&L.si, out, out_len), VOUCH_ERR_EDHOC_ERROR);
	assert_int_equal(vouch_edhoc_peer_error(&L.si, &code, NULL, NULL), VOUCH_OK);
	assert_int_equal(code, 3);
	assert_aborted(&L.si);

	/* malformed error messages */
	live_run_to(&L, 1);
	assert_int_equal(rd2_const(&L.si, "\x01\x02", 2), VOUCH_ERR_EDHOC);
	assert_aborted(&L.si);
	live_run_to(&L, 1);
	assert_int_equal(rd2_const(&L.si, "\x02\x81\x02", 3), VOUCH_ERR_EDHOC);
	live_run_to(&L, 1);
	assert_int_equal(rd2_const(&L.si, "\x01\x61x\x00", 4), VOUCH_ERR_CBOR_TRAILING);
	/* an unknown code ends the session too */
	live_run_to(&L, 1);
	assert_int_equal(rd2_const(&L.si, "\x00\xf6", 2), VOUCH_ERR_EDHOC_ERROR);
	assert_aborted(&L.si);

	/* encodings */
	assert_int_equal(vouch_edhoc_error_encode(2, NULL, s23, 2, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_int_equal(out_len, 4);
	assert_memory_equal(out, "\x02\x82\x02\x03", 4);
	assert_int_equal(vouch_edhoc_error_encode(2, NULL, NULL, 0, out, sizeof(out), &out_len),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_edhoc_error_encode(0, NULL, NULL, 0, out, sizeof(out), &out_len),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_edhoc_error_encode(1, "x", NULL, 0, out, 2, &out_len),
	                 VOUCH_ERR_BUFFER);
	live_teardown(&L);
}

static void test_ead(void **state)
{
	struct live L;
	struct vouch_edhoc_ead_item item;
	static const uint8_t crit_unknown[] = {0x26, 0x40}; /* -7, h'' */
	static const uint8_t not_ead[] = {0x40};            /* a bstr without label */
	uint8_t out[BUF];
	size_t pos, out_len;

	(void)state;
	det_setup(&L);
	/* a critical item the responder does not understand: refused, answered */
	live_init(&L);
	assert_int_equal(w1(&L, crit_unknown, sizeof(crit_unknown)), VOUCH_OK);
	assert_int_equal(r1(&L), VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(vouch_edhoc_write_error(&L.sr, "critical EAD", out, sizeof(out), &out_len),
	                 VOUCH_OK);
	/* a critical item it does understand (|-5| = 5 is listed) */
	live_run_to(&L, 1);
	vouch_edhoc_clear(&L.si);
	assert_int_equal(vouch_edhoc_init(&L.si, &L.ci), VOUCH_OK);
	assert_int_equal(w1(&L, ead_3, sizeof(ead_3)), VOUCH_OK);
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(r1(&L), VOUCH_OK);
	/* an EAD that is not one: refused to send, refused to receive */
	live_run_to(&L, 1);
	vouch_edhoc_clear(&L.si);
	assert_int_equal(vouch_edhoc_init(&L.si, &L.ci), VOUCH_OK);
	assert_int_equal(w1(&L, not_ead, sizeof(not_ead)), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_edhoc_state(&L.si), VOUCH_EDHOC_S_START);
	assert_int_equal(w1(&L, NULL, 0), VOUCH_OK);
	L.m[0][L.m_len[0]++] = 0x40;
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(r1(&L), VOUCH_ERR_EDHOC);
	/* critical EAD in message_3 the responder does not understand */
	L.cr.n_ead_labels = 0;
	live_run_to(&L, 2);
	assert_int_equal(rd(&L, 2, L.m[1], L.m_len[1]), VOUCH_OK);
	assert_int_equal(w3(&L, ead_3, sizeof(ead_3)), VOUCH_OK);
	assert_int_equal(rd(&L, 3, L.m[2], L.m_len[2]), VOUCH_ERR_UNSUPPORTED);
	assert_aborted(&L.sr);

	/* walking a field */
	pos = 0;
	assert_int_equal(vouch_edhoc_ead_next(ead_3, sizeof(ead_3), &pos, &item), VOUCH_OK);
	assert_int_equal(item.label, -5);
	assert_int_equal(item.value_len, 1);
	assert_int_equal(item.value[0], 0x07);
	assert_int_equal(vouch_edhoc_ead_next(ead_3, sizeof(ead_3), &pos, &item), VOUCH_OK);
	assert_int_equal(item.label, 6);
	assert_null(item.value);
	assert_int_equal(pos, sizeof(ead_3));
	pos = 0;
	assert_int_equal(vouch_edhoc_ead_next((const uint8_t *)"\x18\x05", 2, &pos, &item),
	                 VOUCH_ERR_CBOR_NONCANONICAL);
	live_teardown(&L);
}

static void test_points_and_identifiers(void **state)
{
	struct live L;
	uint8_t m1[64], x[32];
	size_t n;

	(void)state;
	det_setup(&L);
	/* x = 1: x^3 - 3x + b is not a square mod p; x = p and above are no field elements */
	memset(x, 0, sizeof(x));
	x[31] = 1;
	n = craft_m1(m1, (const uint8_t *)"\x02", 1, x);
	live_init(&L);
	assert_int_equal(vouch_edhoc_read_message_1(&L.sr, m1, n, NULL, NULL), VOUCH_ERR_KEY);
	memset(x, 0xff, sizeof(x));
	n = craft_m1(m1, (const uint8_t *)"\x02", 1, x);
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(vouch_edhoc_read_message_1(&L.sr, m1, n, NULL, NULL), VOUCH_ERR_KEY);
	/* x = 5 is on the curve */
	memset(x, 0, sizeof(x));
	x[31] = 5;
	n = craft_m1(m1, (const uint8_t *)"\x02", 1, x);
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(vouch_edhoc_read_message_1(&L.sr, m1, n, NULL, NULL), VOUCH_OK);
	/* G_X of 31 bytes; C_I 0x05 as a bstr (must be the int); METHOD in two bytes */
	n = craft_m1(m1, (const uint8_t *)"\x02", 1, x);
	m1[2] = 0x1f;
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_not_equal(vouch_edhoc_read_message_1(&L.sr, m1, n, NULL, NULL), VOUCH_OK);
	n = craft_m1(m1, (const uint8_t *)"\x02", 1, x);
	m1[n - 1] = 0x41;
	m1[n++] = 0x05;
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(vouch_edhoc_read_message_1(&L.sr, m1, n, NULL, NULL), VOUCH_ERR_EDHOC);
	n = craft_m1(m1 + 1, (const uint8_t *)"\x02", 1, x);
	m1[0] = 0x18;
	m1[1] = 0x03;
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(vouch_edhoc_read_message_1(&L.sr, m1, n + 1, NULL, NULL),
	                 VOUCH_ERR_CBOR_NONCANONICAL);
	/* a method the responder does not accept */
	L.cr.methods = VOUCH_EDHOC_METHOD_BIT(0);
	n = craft_m1(m1, (const uint8_t *)"\x02", 1, x);
	vouch_edhoc_clear(&L.sr);
	assert_int_equal(vouch_edhoc_init(&L.sr, &L.cr), VOUCH_OK);
	assert_int_equal(vouch_edhoc_read_message_1(&L.sr, m1, n, NULL, NULL),
	                 VOUCH_ERR_UNSUPPORTED);
	live_teardown(&L);
}

static void test_coap(void **state)
{
	uint8_t out[64], c[VOUCH_EDHOC_MAX_CID];
	const uint8_t *msg;
	size_t out_len, c_len, msg_len;
	bool first;
	static const uint8_t m[] = {0x43, 1, 2, 3};

	(void)state;
	assert_int_equal(vouch_edhoc_coap_encode(NULL, 0, m, sizeof(m), out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_int_equal(out_len, 5);
	assert_int_equal(out[0], 0xf5);
	assert_int_equal(vouch_edhoc_coap_split(out, out_len, &first, c, &c_len, &msg, &msg_len),
	                 VOUCH_OK);
	assert_true(first);
	assert_int_equal(msg_len, sizeof(m));
	assert_memory_equal(msg, m, sizeof(m));
	/* C_R = 0x27 travels as the int -8, C_R = 0x18 as a bstr */
	assert_int_equal(vouch_edhoc_coap_encode((const uint8_t *)"\x27", 1, m, sizeof(m), out,
	                                         sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_memory_equal(out, "\x27\x43", 2);
	assert_int_equal(vouch_edhoc_coap_split(out, out_len, &first, c, &c_len, &msg, &msg_len),
	                 VOUCH_OK);
	assert_false(first);
	assert_int_equal(c_len, 1);
	assert_int_equal(c[0], 0x27);
	assert_int_equal(vouch_edhoc_coap_encode((const uint8_t *)"\x18", 1, m, sizeof(m), out,
	                                         sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_memory_equal(out, "\x41\x18\x43", 3);
	assert_int_equal(vouch_edhoc_coap_split(out, out_len, &first, c, &c_len, &msg, &msg_len),
	                 VOUCH_OK);
	assert_int_equal(c[0], 0x18);
	assert_int_equal(msg_len, sizeof(m));
	/* refused: false, nothing after the identifier, an identifier too long */
	assert_int_equal(vouch_edhoc_coap_split((const uint8_t *)"\xf4\x00", 2, &first, c, &c_len,
	                                        &msg, &msg_len),
	                 VOUCH_ERR_EDHOC);
	assert_int_equal(
	    vouch_edhoc_coap_split((const uint8_t *)"\x27", 1, &first, c, &c_len, &msg, &msg_len),
	    VOUCH_ERR_EDHOC);
	assert_int_equal(vouch_edhoc_coap_split((const uint8_t *)"\x48"
	                                                         "12345678\x00",
	                                        10, &first, c, &c_len, &msg, &msg_len),
	                 VOUCH_ERR_EDHOC);
}

static void test_init_args(void **state)
{
	struct live L;
	struct vouch_edhoc s;
	struct vouch_edhoc_config c;
	static const int32_t bad_suite[] = {4};
	static const int32_t dup[] = {2, 2};

	(void)state;
	det_setup(&L);
	c = L.ci;
	c.methods = VOUCH_EDHOC_METHOD_BIT(0) | VOUCH_EDHOC_METHOD_BIT(3);
	assert_int_equal(vouch_edhoc_init(&s, &c), VOUCH_ERR_INVALID);
	vouch_edhoc_clear(&s);
	c = L.ci;
	c.suites = bad_suite;
	assert_int_equal(vouch_edhoc_init(&s, &c), VOUCH_ERR_UNSUPPORTED);
	c.suites = dup;
	c.n_suites = 2;
	assert_int_equal(vouch_edhoc_init(&s, &c), VOUCH_ERR_INVALID);
	c = L.ci;
	c.key = &L.i.pub; /* a public key cannot authenticate */
	assert_int_equal(vouch_edhoc_init(&s, &c), VOUCH_ERR_INVALID);
	c = L.ci;
	c.id_cred = L.i.cred + 1; /* not one CBOR item */
	c.id_cred_len = 3;
	assert_int_equal(vouch_edhoc_init(&s, &c), VOUCH_ERR_INVALID);
	c = L.ci;
	c.role = 0;
	assert_int_equal(vouch_edhoc_init(&s, &c), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_edhoc_init(&s, NULL), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_edhoc_state(&s), VOUCH_EDHOC_S_NONE);
	vouch_edhoc_clear(&s);
	/* a key that does not fit the method: refused before message_3 */
	c = L.ci;
	c.key = &L.r.key; /* fits, P-256 */
	assert_int_equal(vouch_edhoc_init(&s, &c), VOUCH_OK);
	vouch_edhoc_clear(&s);
	live_teardown(&L);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trace1),
	    cmocka_unit_test(test_trace2),
	    cmocka_unit_test(test_live_methods_suites),
	    cmocka_unit_test(test_live_many_p256),
	    cmocka_unit_test(test_tamper_message_1),
	    cmocka_unit_test(test_tamper_message_2),
	    cmocka_unit_test(test_tamper_message_3_4),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_trailing),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_out_of_order),
	    cmocka_unit_test(test_peer_unknown_refused),
	    cmocka_unit_test(test_wrong_key),
	    cmocka_unit_test(test_suite_negotiation),
	    cmocka_unit_test(test_error_messages),
	    cmocka_unit_test(test_ead),
	    cmocka_unit_test(test_points_and_identifiers),
	    cmocka_unit_test(test_coap),
	    cmocka_unit_test(test_init_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
