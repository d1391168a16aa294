/*
 * OSCORE (RFC 8613) against its Appendix C: key derivation (C.1-C.3, every derived value) and
 * protected requests and responses (C.4-C.8) byte for byte in both directions. The vectors are
 * whole CoAP messages; their outer CoAP part is parsed and built by libcoap itself
 * (coap_pdu_parse, coap_add_option, ...) and the messages libcoap builds are put on the wire
 * (UDP on loopback) and compared as received, so libvouch only ever sees what a real CoAP peer
 * would hand it. Then every refusal: tampering, wrong kid, replays, old sequence numbers,
 * malformed options and inner messages, sequence number persistence and exhaustion, and the
 * Appendix B.1.2 replay-window re-synchronisation.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <coap3/coap.h>

#include "testutil.h"
#include "vouch/crypto.h"
#include "vouch/oscore.h"

#define BUF      1024
#define MAX_OPTS 32

static json_t *vectors;

/* ---- vector access ---- */

/* Decode the hex member key of obj into out; fails the test when absent or too long. */
static size_t hex_into(const json_t *obj, const char *key, uint8_t *out, size_t cap)
{
	const char *s = tu_str(obj, key);
	uint8_t *b;
	size_t len = 0;

	if (s == NULL)
		fail_msg("vector member %s missing", key);
	b = tu_hex(s, &len);
	assert_true(len <= cap);
	memcpy(out, b, len);
	free(b);
	return len;
}

static void assert_hex(const uint8_t *got, size_t got_len, const json_t *obj, const char *key)
{
	uint8_t exp[BUF];
	size_t exp_len = hex_into(obj, key, exp, sizeof(exp));

	if (got_len != exp_len)
		fail_msg("%s: %s length %zu, expected %zu", tu_str(obj, "id"), key, got_len,
		         exp_len);
	assert_memory_equal(got, exp, exp_len);
}

static const json_t *find_entry(const char *array, const char *id)
{
	const json_t *arr = json_object_get(vectors, array);
	const json_t *e;
	size_t i;

	json_array_foreach(arr, i, e)
	{
		const char *eid = tu_str(e, "id");

		if (eid != NULL && strcmp(eid, id) == 0)
			return e;
	}
	fail_msg("no %s entry %s", array, id);
	return NULL;
}

/* The mirrored context: "C.1.1" (client) <-> "C.1.2" (server). */
static const json_t *peer_entry(const char *id)
{
	char peer[128];
	size_t n = strlen(id);

	assert_true(n > 0 && n < sizeof(peer));
	memcpy(peer, id, n + 1);
	peer[n - 1] = peer[n - 1] == '1' ? '2' : '1';
	return find_entry("key_derivation", peer);
}

struct ctx_input {
	uint8_t secret[64], salt[64], sid[16], rid[16], idctx[64];
};

/* Initialise ctx from a key_derivation entry with the given first sequence number. */
static void ctx_from(const json_t *kd, uint64_t seq, struct vouch_oscore_ctx *ctx)
{
	struct ctx_input in;
	struct vouch_oscore_params p;
	const json_t *idc = json_object_get(kd, "id_context");

	memset(&p, 0, sizeof(p));
	p.master_secret = in.secret;
	p.master_secret_len = hex_into(kd, "master_secret", in.secret, sizeof(in.secret));
	p.master_salt = in.salt;
	p.master_salt_len = hex_into(kd, "master_salt", in.salt, sizeof(in.salt));
	p.sender_id = in.sid;
	p.sender_id_len = hex_into(kd, "sender_id", in.sid, sizeof(in.sid));
	p.recipient_id = in.rid;
	p.recipient_id_len = hex_into(kd, "recipient_id", in.rid, sizeof(in.rid));
	if (idc != NULL && json_is_string(idc)) {
		p.has_id_context = true;
		p.id_context = in.idctx;
		p.id_context_len = hex_into(kd, "id_context", in.idctx, sizeof(in.idctx));
		p.send_kid_context = true;
	}
	p.aead_alg = VOUCH_OSCORE_ALG_AES_CCM_16_64_128;
	p.sender_seq = seq;
	assert_int_equal(vouch_oscore_ctx_init(ctx, &p), VOUCH_OK);
	vouch_wipe(&in, sizeof(in));
}

static void ctx_named(const char *id, uint64_t seq, struct vouch_oscore_ctx *ctx)
{
	ctx_from(find_entry("key_derivation", id), seq, ctx);
}

static uint64_t json_u64(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return (uint64_t)json_integer_value(v);
}

/* ---- libcoap: the outer CoAP message ---- */

static coap_pdu_t *coap_parse(const uint8_t *msg, size_t len)
{
	coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, 0, 0, len + 16);

	assert_non_null(pdu);
	assert_int_equal(coap_pdu_parse(COAP_PROTO_UDP, msg, len, pdu), 1);
	return pdu;
}

/* All options of pdu, in order. */
static size_t coap_options(const coap_pdu_t *pdu, struct vouch_coap_option *out, size_t max)
{
	coap_opt_iterator_t it;
	coap_opt_t *op;
	size_t n = 0;

	if (coap_option_iterator_init(pdu, &it, COAP_OPT_ALL) == NULL)
		return 0;
	while ((op = coap_option_next(&it)) != NULL) {
		assert_true(n < max);
		out[n].number = it.number;
		out[n].len = (uint16_t)coap_opt_length(op);
		out[n].value = coap_opt_value(op);
		n++;
	}
	return n;
}

static void coap_payload(const coap_pdu_t *pdu, const uint8_t **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	if (!coap_get_data(pdu, len, data)) {
		*data = NULL;
		*len = 0;
	}
}

/* Stable sort by option number (CoAP needs ascending numbers; repeated options keep order). */
static void sort_options(struct vouch_coap_option *o, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct vouch_coap_option t = o[i];
		size_t j = i;

		while (j > 0 && o[j - 1].number > t.number) {
			o[j] = o[j - 1];
			j--;
		}
		o[j] = t;
	}
}

/* A new PDU with the header and token of like, the given code, options and payload. */
static coap_pdu_t *coap_build(const coap_pdu_t *like, uint8_t code, struct vouch_coap_option *opts,
                              size_t n_opts, const uint8_t *payload, size_t payload_len)
{
	coap_bin_const_t token = coap_pdu_get_token(like);
	coap_pdu_t *pdu = coap_pdu_init(coap_pdu_get_type(like), code, coap_pdu_get_mid(like), BUF);

	assert_non_null(pdu);
	assert_int_not_equal(coap_add_token(pdu, token.length, token.s), 0);
	sort_options(opts, n_opts);
	for (size_t i = 0; i < n_opts; i++)
		assert_int_not_equal(
		    coap_add_option(pdu, opts[i].number, opts[i].len, opts[i].value), 0);
	if (payload_len > 0)
		assert_int_equal(coap_add_data(pdu, payload_len, payload), 1);
	return pdu;
}

/* Put pdu on the wire with libcoap (a client session to a UDP socket on loopback) and return the
 * datagram as received. libcoap takes the PDU. */
static size_t coap_wire(coap_pdu_t *pdu, uint8_t *out, size_t cap)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	coap_address_t dst;
	coap_context_t *cc;
	coap_session_t *s;
	struct pollfd pfd;
	ssize_t n;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);

	cc = coap_new_context(NULL);
	assert_non_null(cc);
	coap_address_init(&dst);
	dst.addr.sin = sin;
	dst.size = sizeof(sin);
	s = coap_new_client_session(cc, NULL, &dst, COAP_PROTO_UDP);
	assert_non_null(s);
	assert_int_not_equal(coap_send(s, pdu), COAP_INVALID_MID);

	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	n = recv(fd, out, cap, 0);
	assert_true(n > 0);

	coap_session_release(s);
	coap_free_context(cc);
	close(fd);
	return (size_t)n;
}

/* ---- Appendix C.1-C.3: key derivation ---- */

static unsigned vec_run, vec_passed;

static void test_key_derivation(void **state)
{
	const json_t *arr = json_object_get(vectors, "key_derivation");
	const json_t *kd;
	size_t i;

	(void)state;
	assert_int_equal(json_array_size(arr), 6);
	json_array_foreach(arr, i, kd)
	{
		struct vouch_oscore_ctx ctx;
		uint8_t sid[16], rid[16], idctx[64], info[128], nonce[VOUCH_OSCORE_NONCE_LEN];
		size_t sid_len, rid_len, idctx_len = 0, info_len;
		bool has_ctx = json_is_string(json_object_get(kd, "id_context"));

		vec_run++;
		sid_len = hex_into(kd, "sender_id", sid, sizeof(sid));
		rid_len = hex_into(kd, "recipient_id", rid, sizeof(rid));
		if (has_ctx)
			idctx_len = hex_into(kd, "id_context", idctx, sizeof(idctx));

		assert_int_equal(vouch_oscore_kdf_info(sid, sid_len, has_ctx, idctx, idctx_len,
		                                       false, info, sizeof(info), &info_len),
		                 VOUCH_OK);
		assert_hex(info, info_len, kd, "info_sender_key");
		assert_int_equal(vouch_oscore_kdf_info(rid, rid_len, has_ctx, idctx, idctx_len,
		                                       false, info, sizeof(info), &info_len),
		                 VOUCH_OK);
		assert_hex(info, info_len, kd, "info_recipient_key");
		assert_int_equal(vouch_oscore_kdf_info(NULL, 0, has_ctx, idctx, idctx_len, true,
		                                       info, sizeof(info), &info_len),
		                 VOUCH_OK);
		assert_hex(info, info_len, kd, "info_common_iv");

		ctx_from(kd, 0, &ctx);
		assert_hex(ctx.sender_key, sizeof(ctx.sender_key), kd, "sender_key");
		assert_hex(ctx.recipient_key, sizeof(ctx.recipient_key), kd, "recipient_key");
		assert_hex(ctx.common_iv, sizeof(ctx.common_iv), kd, "common_iv");
		/* The nonces for Partial IV 0 of both directions. */
		assert_int_equal(vouch_oscore_nonce(ctx.common_iv, sid, sid_len, 0, nonce),
		                 VOUCH_OK);
		assert_hex(nonce, sizeof(nonce), kd, "sender_nonce");
		assert_int_equal(vouch_oscore_nonce(ctx.common_iv, rid, rid_len, 0, nonce),
		                 VOUCH_OK);
		assert_hex(nonce, sizeof(nonce), kd, "recipient_nonce");
		vouch_oscore_ctx_clear(&ctx);
		vec_passed++;
	}
}

/* ---- C.4-C.8: messages ---- */

/* Split the options of an unprotected message: Class E into inner, the rest into outer. */
static void split_options(const coap_pdu_t *pdu, struct vouch_coap_option *inner, size_t *n_inner,
                          struct vouch_coap_option *outer, size_t *n_outer)
{
	struct vouch_coap_option all[MAX_OPTS];
	size_t n = coap_options(pdu, all, MAX_OPTS);

	*n_inner = *n_outer = 0;
	for (size_t i = 0; i < n; i++) {
		if (vouch_oscore_option_is_inner(all[i].number))
			inner[(*n_inner)++] = all[i];
		else
			outer[(*n_outer)++] = all[i];
	}
}

/* The inner plaintext of an unprotected vector message, checked against "plaintext". */
static size_t inner_of(const json_t *v, const coap_pdu_t *pdu, uint8_t *pt, size_t cap,
                       struct vouch_coap_option *outer, size_t *n_outer)
{
	struct vouch_coap_option inner[MAX_OPTS];
	const uint8_t *payload;
	size_t n_inner, payload_len, pt_len = 0;

	split_options(pdu, inner, &n_inner, outer, n_outer);
	coap_payload(pdu, &payload, &payload_len);
	assert_int_equal(vouch_oscore_inner_encode((uint8_t)coap_pdu_get_code(pdu), inner, n_inner,
	                                           payload, payload_len, pt, cap, &pt_len),
	                 VOUCH_OK);
	assert_hex(pt, pt_len, v, "plaintext");
	return pt_len;
}

/* Sender side: protect the vector's unprotected message, put the OSCORE message on the wire
 * with libcoap and compare it with the protected message. */
static void sender_side(const json_t *v, struct vouch_oscore_ctx *ctx,
                        struct vouch_oscore_request *req, bool request)
{
	uint8_t msg[BUF], pt[BUF], ct[BUF], wire[BUF], opt[VOUCH_OSCORE_OPTION_MAX];
	uint8_t aad[VOUCH_OSCORE_AAD_MAX], nonce[VOUCH_OSCORE_NONCE_LEN];
	struct vouch_coap_option outer[MAX_OPTS];
	size_t msg_len, pt_len, ct_len, opt_len, aad_len, n_outer, wire_len;
	coap_pdu_t *pdu, *out;

	msg_len = hex_into(v, "unprotected_coap_message", msg, sizeof(msg));
	pdu = coap_parse(msg, msg_len);
	pt_len = inner_of(v, pdu, pt, sizeof(pt), outer, &n_outer);

	if (request) {
		assert_int_equal(vouch_oscore_ctx_next_seq(ctx),
		                 json_u64(v, "sender_sequence_number"));
		assert_int_equal(vouch_oscore_protect_request(ctx, pt, pt_len, ct, sizeof(ct),
		                                              &ct_len, opt, &opt_len, req),
		                 VOUCH_OK);
		assert_hex(req->piv, req->piv_len, v, "partial_iv");
		assert_hex(req->kid, req->kid_len, v, "kid");
	} else {
		bool own_piv = tu_str(v, "partial_iv") != NULL;

		if (own_piv)
			assert_int_equal(vouch_oscore_ctx_next_seq(ctx),
			                 json_u64(v, "sender_sequence_number"));
		assert_int_equal(vouch_oscore_protect_response(ctx, req, own_piv, pt, pt_len, ct,
		                                               sizeof(ct), &ct_len, opt, &opt_len),
		                 VOUCH_OK);
	}
	assert_hex(ctx->sender_key, sizeof(ctx->sender_key), v, "encryption_key");
	assert_hex(ctx->common_iv, sizeof(ctx->common_iv), v, "common_iv");
	assert_hex(opt, opt_len, v, "oscore_option_value");
	assert_hex(ct, ct_len, v, "ciphertext");

	/* The AAD and nonce the vector prints: request kid and Partial IV in both directions. */
	assert_int_equal(vouch_oscore_aad_array(req->kid, req->kid_len, req->piv, req->piv_len, aad,
	                                        sizeof(aad), &aad_len),
	                 VOUCH_OK);
	assert_hex(aad, aad_len, v, "aad_array");
	assert_int_equal(
	    vouch_oscore_aad(req->kid, req->kid_len, req->piv, req->piv_len, aad, &aad_len),
	    VOUCH_OK);
	assert_hex(aad, aad_len, v, "aad");
	if (!request && tu_str(v, "partial_iv") != NULL)
		assert_int_equal(vouch_oscore_nonce(ctx->common_iv, ctx->sender_id,
		                                    ctx->sender_id_len,
		                                    json_u64(v, "sender_sequence_number"), nonce),
		                 VOUCH_OK);
	else
		assert_int_equal(
		    vouch_oscore_nonce(ctx->common_iv, req->kid, req->kid_len, req->seq, nonce),
		    VOUCH_OK);
	assert_hex(nonce, sizeof(nonce), v, "nonce");

	/* The OSCORE message: outer code, Class U options plus OSCORE, ciphertext as payload. */
	outer[n_outer].number = VOUCH_COAP_OPTION_OSCORE;
	outer[n_outer].len = (uint16_t)opt_len;
	outer[n_outer].value = opt;
	out = coap_build(pdu, request ? VOUCH_COAP_CODE_POST : VOUCH_COAP_CODE_CHANGED, outer,
	                 n_outer + 1, ct, ct_len);
	wire_len = coap_wire(out, wire, sizeof(wire));
	assert_hex(wire, wire_len, v, "protected_coap_message");
	coap_delete_pdu(pdu);
}

/* Recipient side: take the protected message as libcoap parses it, verify it, rebuild the
 * original message with libcoap and compare it with the unprotected message. */
static void recipient_side(const json_t *v, struct vouch_oscore_ctx *ctx,
                           struct vouch_oscore_request *req, bool request)
{
	uint8_t msg[BUF], pt[BUF], wire[BUF];
	struct vouch_coap_option all[MAX_OPTS], opts[MAX_OPTS];
	struct vouch_oscore_option o;
	const uint8_t *ct, *payload, *opt = NULL;
	size_t msg_len, ct_len, pt_len, n_all, n = 0, n_inner, payload_len, opt_len = 0, wire_len;
	uint8_t code;
	coap_pdu_t *pdu, *out;

	msg_len = hex_into(v, "protected_coap_message", msg, sizeof(msg));
	pdu = coap_parse(msg, msg_len);
	assert_int_equal(coap_pdu_get_code(pdu),
	                 request ? VOUCH_COAP_CODE_POST : VOUCH_COAP_CODE_CHANGED);
	n_all = coap_options(pdu, all, MAX_OPTS);
	for (size_t i = 0; i < n_all; i++) {
		if (all[i].number == VOUCH_COAP_OPTION_OSCORE) {
			opt = all[i].value;
			opt_len = all[i].len;
		} else if (!vouch_oscore_option_is_inner(all[i].number)) {
			/* Outer Class E instances are discarded (section 8.2 step 1). */
			opts[n++] = all[i];
		}
	}
	assert_non_null(opt);
	coap_payload(pdu, &ct, &ct_len);

	if (request) {
		/* What a server reads before choosing a context. */
		assert_int_equal(vouch_oscore_option_decode(opt, opt_len, &o), VOUCH_OK);
		assert_true(o.has_kid);
		assert_hex(o.kid, o.kid_len, v, "kid");
		assert_hex(o.piv, o.piv_len, v, "partial_iv");
		if (tu_str(v, "kid_context") != NULL) {
			assert_true(o.has_kid_context);
			assert_hex(o.kid_context, o.kid_context_len, v, "kid_context");
		} else {
			assert_false(o.has_kid_context);
		}
		assert_true(vouch_oscore_ctx_matches(ctx, &o));
		assert_int_equal(vouch_oscore_unprotect_request(ctx, opt, opt_len, ct, ct_len, pt,
		                                                sizeof(pt), &pt_len, req),
		                 VOUCH_OK);
	} else {
		assert_int_equal(vouch_oscore_unprotect_response(ctx, req, opt, opt_len, ct, ct_len,
		                                                 pt, sizeof(pt), &pt_len),
		                 VOUCH_OK);
	}
	assert_hex(pt, pt_len, v, "plaintext");

	assert_int_equal(vouch_oscore_inner_decode(pt, pt_len, &code, opts + n, MAX_OPTS - n,
	                                           &n_inner, &payload, &payload_len),
	                 VOUCH_OK);
	out = coap_build(pdu, code, opts, n + n_inner, payload, payload_len);
	wire_len = coap_wire(out, wire, sizeof(wire));
	assert_hex(wire, wire_len, v, "unprotected_coap_message");
	coap_delete_pdu(pdu);
}

static void test_requests(void **state)
{
	static const char *const ids[] = {"RFC 8613 Appendix C.4", "RFC 8613 Appendix C.5",
	                                  "RFC 8613 Appendix C.6"};

	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(ids); i++) {
		const json_t *v = find_entry("message_protection", ids[i]);
		const char *sc = tu_str(v, "security_context");
		struct vouch_oscore_ctx client, server;
		struct vouch_oscore_request creq, sreq;

		assert_non_null(sc);
		ctx_named(sc, json_u64(v, "sender_sequence_number"), &client);
		ctx_from(peer_entry(sc), 0, &server);

		vec_run++;
		sender_side(v, &client, &creq, true);
		vec_passed++;
		vec_run++;
		recipient_side(v, &server, &sreq, true);
		assert_true(sreq.valid && !sreq.client);
		assert_int_equal(sreq.seq, json_u64(v, "sender_sequence_number"));
		vec_passed++;
		vouch_oscore_ctx_clear(&client);
		vouch_oscore_ctx_clear(&server);
	}
}

/* Verify the request a response vector answers, on a fresh server context. */
static void server_got_request(const json_t *reqv, struct vouch_oscore_ctx *server,
                               struct vouch_oscore_request *sreq)
{
	uint8_t msg[BUF], pt[BUF];
	struct vouch_coap_option all[MAX_OPTS];
	const uint8_t *ct;
	size_t msg_len, ct_len, pt_len, n;
	coap_pdu_t *pdu;

	msg_len = hex_into(reqv, "protected_coap_message", msg, sizeof(msg));
	pdu = coap_parse(msg, msg_len);
	n = coap_options(pdu, all, MAX_OPTS);
	coap_payload(pdu, &ct, &ct_len);
	for (size_t i = 0; i < n; i++)
		if (all[i].number == VOUCH_COAP_OPTION_OSCORE)
			assert_int_equal(vouch_oscore_unprotect_request(server, all[i].value,
			                                                all[i].len, ct, ct_len, pt,
			                                                sizeof(pt), &pt_len, sreq),
			                 VOUCH_OK);
	assert_true(sreq->valid);
	coap_delete_pdu(pdu);
}

/* Protect the request on the client again (same sequence number) to hold its binding. */
static void client_sent_request(const json_t *reqv, struct vouch_oscore_ctx *client,
                                struct vouch_oscore_request *creq)
{
	uint8_t pt[BUF], ct[BUF], opt[VOUCH_OSCORE_OPTION_MAX];
	size_t pt_len, ct_len, opt_len;

	pt_len = hex_into(reqv, "plaintext", pt, sizeof(pt));
	assert_int_equal(vouch_oscore_protect_request(client, pt, pt_len, ct, sizeof(ct), &ct_len,
	                                              opt, &opt_len, creq),
	                 VOUCH_OK);
	assert_hex(ct, ct_len, reqv, "ciphertext");
}

static void test_responses(void **state)
{
	static const char *const ids[] = {"RFC 8613 Appendix C.7", "RFC 8613 Appendix C.8"};

	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(ids); i++) {
		const json_t *v = find_entry("message_protection", ids[i]);
		const json_t *reqv = find_entry("message_protection", tu_str(v, "response_to"));
		const char *sc = tu_str(v, "security_context");
		struct vouch_oscore_ctx client, server;
		struct vouch_oscore_request creq, sreq;

		assert_non_null(sc);
		ctx_named(sc, json_u64(v, "sender_sequence_number"), &server);
		ctx_from(peer_entry(sc), json_u64(reqv, "sender_sequence_number"), &client);
		server_got_request(reqv, &server, &sreq);
		client_sent_request(reqv, &client, &creq);

		vec_run++;
		sender_side(v, &server, &sreq, false);
		vec_passed++;
		vec_run++;
		recipient_side(v, &client, &creq, false);
		assert_true(creq.answered);
		vec_passed++;
		vouch_oscore_ctx_clear(&client);
		vouch_oscore_ctx_clear(&server);
	}
	/* C.1-C.3 (6) + C.4-C.8 in both directions (10). */
	tu_report("rfc8613-oscore", vec_run, vec_passed, 0,
	          "key derivation C.1-C.3; C.4-C.8 protected and verified through libcoap");
}

/* ---- the option value ---- */

static void opt_refused(const char *hex)
{
	struct vouch_oscore_option o;
	size_t len;
	uint8_t *b = tu_hex(hex, &len);

	if (vouch_oscore_option_decode(b, len, &o) != VOUCH_ERR_OSCORE)
		fail_msg("option %s not refused", hex);
	assert_null(o.piv);
	assert_false(o.has_kid);
	free(b);
}

static void test_option_codec(void **state)
{
	static const uint8_t piv[] = {0x05}, kid[] = {0x25},
	                     kctx[] = {0x44, 0x61, 0x6c, 0x65, 0x6b};
	/* RFC 8613 section 6.3, examples 1, 3 and 5. */
	static const uint8_t ex1[] = {0x09, 0x05, 0x25};
	static const uint8_t ex3[] = {0x19, 0x05, 0x05, 0x44, 0x61, 0x6c, 0x65, 0x6b};
	static const uint8_t ex5[] = {0x01, 0x07};
	struct vouch_oscore_option o;
	uint8_t out[300], big[300];
	size_t len;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.piv = piv;
	o.piv_len = 1;
	o.has_kid = true;
	o.kid = kid;
	o.kid_len = 1;
	assert_int_equal(vouch_oscore_option_encode(&o, out, sizeof(out), &len), VOUCH_OK);
	assert_int_equal(len, sizeof(ex1));
	assert_memory_equal(out, ex1, sizeof(ex1));
	o.kid_len = 0;
	o.has_kid_context = true;
	o.kid_context = kctx;
	o.kid_context_len = sizeof(kctx);
	assert_int_equal(vouch_oscore_option_encode(&o, out, sizeof(out), &len), VOUCH_OK);
	assert_int_equal(len, sizeof(ex3));
	assert_memory_equal(out, ex3, sizeof(ex3));
	assert_int_equal(vouch_oscore_option_encode(&o, out, 4, &len), VOUCH_ERR_BUFFER);

	assert_int_equal(vouch_oscore_option_decode(ex3, sizeof(ex3), &o), VOUCH_OK);
	assert_int_equal(o.piv_len, 1);
	assert_int_equal(o.piv[0], 0x05);
	assert_true(o.has_kid && o.kid_len == 0);
	assert_true(o.has_kid_context && o.kid_context_len == 5);
	assert_memory_equal(o.kid_context, kctx, 5);
	assert_int_equal(vouch_oscore_option_decode(ex5, sizeof(ex5), &o), VOUCH_OK);
	assert_int_equal(o.piv_len, 1);
	assert_false(o.has_kid || o.has_kid_context);
	/* Empty value: nothing present (section 6.3 example 4); encoding nothing gives it back. */
	assert_int_equal(vouch_oscore_option_decode(NULL, 0, &o), VOUCH_OK);
	assert_int_equal(o.piv_len, 0);
	assert_false(o.has_kid || o.has_kid_context);
	assert_int_equal(vouch_oscore_option_encode(&o, out, sizeof(out), &len), VOUCH_OK);
	assert_int_equal(len, 0);

	/* 5-byte Partial IV and a long kid are fine. */
	memset(big, 0, sizeof(big));
	big[0] = 0x0d;
	memset(big + 1, 0xff, 5);
	assert_int_equal(vouch_oscore_option_decode(big, 6 + 200, &o), VOUCH_OK);
	assert_int_equal(o.piv_len, 5);
	assert_int_equal(o.kid_len, 200);
	/* Over the CoAP option length of 255. */
	assert_int_equal(vouch_oscore_option_decode(big, 256, &o), VOUCH_ERR_OSCORE);

	/* RFC 8613 section 5.4's AAD example: request_kid 0x00, request_piv 0x25. */
	{
		static const uint8_t want_array[] = {0x85, 0x01, 0x81, 0x0a, 0x41,
		                                     0x00, 0x41, 0x25, 0x40};
		static const uint8_t want_aad[] = {0x83, 0x68, 0x45, 0x6e, 0x63, 0x72, 0x79,
		                                   0x70, 0x74, 0x30, 0x40, 0x49, 0x85, 0x01,
		                                   0x81, 0x0a, 0x41, 0x00, 0x41, 0x25, 0x40};
		uint8_t aad[VOUCH_OSCORE_AAD_MAX];

		assert_int_equal(vouch_oscore_aad_array((const uint8_t *)"\x00", 1,
		                                        (const uint8_t *)"\x25", 1, aad,
		                                        sizeof(aad), &len),
		                 VOUCH_OK);
		assert_int_equal(len, sizeof(want_array));
		assert_memory_equal(aad, want_array, len);
		assert_int_equal(vouch_oscore_aad((const uint8_t *)"\x00", 1,
		                                  (const uint8_t *)"\x25", 1, aad, &len),
		                 VOUCH_OK);
		assert_int_equal(len, sizeof(want_aad));
		assert_memory_equal(aad, want_aad, len);
	}

	opt_refused("00");             /* all-zero flags must be the empty value */
	opt_refused("2914");           /* reserved flag bit 0x20 */
	opt_refused("4914");           /* reserved flag bit 0x40 */
	opt_refused("8914");           /* reserved flag bit 0x80 */
	opt_refused("0e010203040506"); /* n = 6: Partial IV longer than 5 bytes */
	opt_refused("0f01020304050607");
	opt_refused("09");             /* Partial IV announced, missing */
	opt_refused("0a14");           /* 2-byte Partial IV truncated */
	opt_refused("0d01020304");     /* 5-byte Partial IV truncated */
	opt_refused("1914");           /* kid context flag, no length byte */
	opt_refused("19140837cbf321"); /* kid context shorter than its length */
	opt_refused("0a0014");         /* Partial IV with a leading zero byte */
	opt_refused("011400");         /* bytes left over without the kid flag */
	opt_refused("10");             /* kid context flag, nothing after */

	/* Encoding refuses what decoding would refuse. */
	memset(&o, 0, sizeof(o));
	o.piv = big;
	o.piv_len = 6;
	assert_int_equal(vouch_oscore_option_encode(&o, out, sizeof(out), &len), VOUCH_ERR_INVALID);
	big[0] = 0;
	o.piv_len = 2;
	assert_int_equal(vouch_oscore_option_encode(&o, out, sizeof(out), &len), VOUCH_ERR_INVALID);
}

/* ---- the inner message ---- */

static void inner_refused(const char *hex, int want)
{
	struct vouch_coap_option opts[8];
	const uint8_t *payload;
	size_t len, n, payload_len;
	uint8_t code;
	uint8_t *b = tu_hex(hex, &len);
	int rc = vouch_oscore_inner_decode(b, len, &code, opts, 8, &n, &payload, &payload_len);

	if (rc != want)
		fail_msg("inner %s: %d, expected %d", hex, rc, want);
	assert_int_equal(n, 0);
	assert_null(payload);
	free(b);
}

static void test_inner_codec(void **state)
{
	static uint8_t v300[300];
	static const uint8_t path[] = "tv1", payload[] = "Hello";
	struct vouch_coap_option in[5], out[8];
	const uint8_t *pl;
	uint8_t buf[BUF], code;
	size_t len, n, pl_len;

	(void)state;
	memset(v300, 0xab, sizeof(v300));
	/* Deltas and lengths in all three encodings (< 13, 13..268, >= 269). */
	in[0] = (struct vouch_coap_option){11, 3, path};
	in[1] = (struct vouch_coap_option){11, 0, NULL}; /* repeated, empty */
	in[2] = (struct vouch_coap_option){60, 20, v300};
	in[3] = (struct vouch_coap_option){258, 300, v300};
	in[4] = (struct vouch_coap_option){2000, 1, v300};
	assert_int_equal(vouch_oscore_inner_encode(0x01, in, 5, payload, 5, buf, sizeof(buf), &len),
	                 VOUCH_OK);
	assert_int_equal(vouch_oscore_inner_decode(buf, len, &code, out, 8, &n, &pl, &pl_len),
	                 VOUCH_OK);
	assert_int_equal(code, 0x01);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(out[i].number, in[i].number);
		assert_int_equal(out[i].len, in[i].len);
		if (in[i].len > 0)
			assert_memory_equal(out[i].value, in[i].value, in[i].len);
	}
	assert_int_equal(pl_len, 5);
	assert_memory_equal(pl, payload, 5);
	/* Too small an options array, too small an output buffer. */
	assert_int_equal(vouch_oscore_inner_decode(buf, len, &code, out, 4, &n, &pl, &pl_len),
	                 VOUCH_ERR_BUFFER);
	assert_int_equal(vouch_oscore_inner_encode(0x01, in, 5, payload, 5, buf, 100, &len),
	                 VOUCH_ERR_BUFFER);
	/* Every strict prefix of it is refused, or (cut at an option boundary) decodes to fewer
	 * options and no payload; none reads past its end (ASan). */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut > 0 ? cut : 1);
		int rc;

		assert_non_null(copy);
		memcpy(copy, buf, cut);
		rc = vouch_oscore_inner_decode(copy, cut, &code, out, 8, &n, &pl, &pl_len);
		if (rc == VOUCH_OK)
			assert_true(n < 5 || pl_len < 5);
		else
			assert_int_equal(rc, VOUCH_ERR_OSCORE);
		free(copy);
	}

	/* The encoder refuses what the decoder would. */
	in[1].number = 4; /* descending */
	assert_int_equal(vouch_oscore_inner_encode(0x01, in, 2, NULL, 0, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	in[0].number = VOUCH_COAP_OPTION_OSCORE;
	assert_int_equal(vouch_oscore_inner_encode(0x01, in, 1, NULL, 0, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_oscore_inner_encode(0x00, NULL, 0, NULL, 0, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);

	/* Minimal messages. */
	assert_int_equal(
	    vouch_oscore_inner_decode((const uint8_t *)"\x45", 1, &code, out, 8, &n, &pl, &pl_len),
	    VOUCH_OK);
	assert_int_equal(code, 0x45);
	assert_int_equal(n, 0);
	assert_null(pl);

	inner_refused("", VOUCH_ERR_OSCORE);               /* no code */
	inner_refused("00", VOUCH_ERR_OSCORE);             /* 0.00 Empty */
	inner_refused("20", VOUCH_ERR_OSCORE);             /* 1.00: reserved class */
	inner_refused("e1", VOUCH_ERR_OSCORE);             /* 7.01: signalling, not supported */
	inner_refused("45ff", VOUCH_ERR_OSCORE);           /* payload marker, empty payload */
	inner_refused("01f1aa", VOUCH_ERR_OSCORE);         /* delta nibble 15 (not the marker) */
	inner_refused("01bf747631", VOUCH_ERR_OSCORE);     /* length nibble 15 */
	inner_refused("01b37476", VOUCH_ERR_OSCORE);       /* value truncated */
	inner_refused("01d0", VOUCH_ERR_OSCORE);           /* 1-byte extended delta missing */
	inner_refused("01e000", VOUCH_ERR_OSCORE);         /* 2-byte extended delta truncated */
	inner_refused("010d", VOUCH_ERR_OSCORE);           /* 1-byte extended length missing */
	inner_refused("0100", VOUCH_ERR_OSCORE);           /* option number 0 */
	inner_refused("0190", VOUCH_ERR_OSCORE);           /* an inner OSCORE option */
	inner_refused("01e0fef2e0fef2", VOUCH_ERR_OSCORE); /* numbers past 65535 */
	inner_refused("01b1aab1aab1aab1aab1aab1aab1aab1aab1aa", VOUCH_ERR_BUFFER); /* 9 > 8 */

	/* Option lengths: 65535 is the largest accepted, 65536 (14-form 0xfef3) is refused. */
	{
		const size_t big = 4 + 65536;
		uint8_t *m = calloc(1, big);

		assert_non_null(m);
		memcpy(m, "\x01\xbe\xfe\xf2", 4);
		assert_int_equal(
		    vouch_oscore_inner_decode(m, big - 1, &code, out, 8, &n, &pl, &pl_len),
		    VOUCH_OK);
		assert_int_equal(out[0].len, 65535);
		m[3] = 0xf3;
		assert_int_equal(vouch_oscore_inner_decode(m, big, &code, out, 8, &n, &pl, &pl_len),
		                 VOUCH_ERR_OSCORE);
		free(m);
	}
}

/* ---- refusals of requests ---- */

struct proto_msg {
	uint8_t opt[VOUCH_OSCORE_OPTION_MAX];
	size_t opt_len;
	uint8_t ct[BUF];
	size_t ct_len;
};

/* The C.4 plaintext (GET /tv1). */
static const uint8_t C4_PT[] = {0x01, 0xb3, 0x74, 0x76, 0x31};

static void make_request(struct vouch_oscore_ctx *client, struct proto_msg *m,
                         struct vouch_oscore_request *creq)
{
	assert_int_equal(vouch_oscore_protect_request(client, C4_PT, sizeof(C4_PT), m->ct,
	                                              sizeof(m->ct), &m->ct_len, m->opt,
	                                              &m->opt_len, creq),
	                 VOUCH_OK);
}

static int take_request(struct vouch_oscore_ctx *server, const struct proto_msg *m,
                        struct vouch_oscore_request *sreq)
{
	uint8_t pt[BUF];
	size_t pt_len = 99;
	int rc = vouch_oscore_unprotect_request(server, m->opt, m->opt_len, m->ct, m->ct_len, pt,
	                                        sizeof(pt), &pt_len, sreq);

	if (rc == VOUCH_OK) {
		assert_int_equal(pt_len, sizeof(C4_PT));
		assert_memory_equal(pt, C4_PT, sizeof(C4_PT));
	} else {
		assert_int_equal(pt_len, 0);
		assert_false(sreq->valid);
	}
	return rc;
}

/* Encrypt an arbitrary plaintext as the C.1.1 client would, for a given sequence number. */
static void forge_request(const struct vouch_oscore_ctx *client, uint8_t seq, const uint8_t *pt,
                          size_t pt_len, struct proto_msg *m)
{
	uint8_t nonce[VOUCH_OSCORE_NONCE_LEN], aad[VOUCH_OSCORE_AAD_MAX];
	size_t aad_len;

	assert_int_equal(vouch_oscore_nonce(client->common_iv, NULL, 0, seq, nonce), VOUCH_OK);
	assert_int_equal(vouch_oscore_aad(NULL, 0, &seq, 1, aad, &aad_len), VOUCH_OK);
	assert_int_equal(vouch_aes_ccm_encrypt(client->sender_key, 16, nonce, 13, aad, aad_len, pt,
	                                       pt_len, 8, m->ct),
	                 VOUCH_OK);
	m->ct_len = pt_len + 8;
	m->opt[0] = 0x09;
	m->opt[1] = seq;
	m->opt_len = 2;
}

static void test_request_refusals(void **state)
{
	struct vouch_oscore_ctx client, server, other;
	struct vouch_oscore_request creq, sreq;
	struct vouch_oscore_option o;
	struct proto_msg m, t;
	uint8_t pt[BUF];
	size_t pt_len;

	(void)state;
	ctx_named("RFC 8613 Appendix C.1.1", 20, &client);
	ctx_named("RFC 8613 Appendix C.1.2", 0, &server);
	make_request(&client, &m, &creq);

	/* Tampered ciphertext, tag, Partial IV: authentication fails, window untouched. */
	t = m;
	t.ct[0] ^= 0x01;
	assert_int_equal(take_request(&server, &t, &sreq), VOUCH_ERR_VERIFY);
	t = m;
	t.ct[t.ct_len - 1] ^= 0x80;
	assert_int_equal(take_request(&server, &t, &sreq), VOUCH_ERR_VERIFY);
	t = m;
	t.opt[1] = 0x15;
	assert_int_equal(take_request(&server, &t, &sreq), VOUCH_ERR_VERIFY);
	/* Truncated payload: under code byte + tag is malformed, a shorter tag fails. */
	t = m;
	t.ct_len = 8;
	assert_int_equal(take_request(&server, &t, &sreq), VOUCH_ERR_OSCORE);
	t.ct_len = m.ct_len - 1;
	assert_int_equal(take_request(&server, &t, &sreq), VOUCH_ERR_VERIFY);
	t.ct_len = 0;
	assert_int_equal(take_request(&server, &t, &sreq), VOUCH_ERR_OSCORE);

	/* Wrong kid: not this context (the server reads it first), and refused if tried. */
	t = m;
	t.opt[2] = 0x01;
	t.opt_len = 3;
	assert_int_equal(vouch_oscore_option_decode(t.opt, t.opt_len, &o), VOUCH_OK);
	assert_false(vouch_oscore_ctx_matches(&server, &o));
	assert_int_equal(take_request(&server, &t, &sreq), VOUCH_ERR_OSCORE_CONTEXT);
	/* kid context the context does not have. */
	memcpy(t.opt, "\x19\x14\x01\x37", 4);
	t.opt_len = 4;
	assert_int_equal(take_request(&server, &t, &sreq), VOUCH_ERR_OSCORE_CONTEXT);
	/* A request without kid, or without Partial IV. */
	t.opt[0] = 0x01;
	t.opt_len = 2;
	assert_int_equal(take_request(&server, &t, &sreq), VOUCH_ERR_OSCORE);
	t.opt[0] = 0x08;
	t.opt_len = 1;
	assert_int_equal(take_request(&server, &t, &sreq), VOUCH_ERR_OSCORE);
	t.opt_len = 0;
	assert_int_equal(take_request(&server, &t, &sreq), VOUCH_ERR_OSCORE);
	/* Malformed option values. */
	t.opt[0] = 0x29;
	t.opt[1] = 0x14;
	t.opt_len = 2;
	assert_int_equal(take_request(&server, &t, &sreq), VOUCH_ERR_OSCORE);
	t.opt[0] = 0x09;
	t.opt_len = 1;
	assert_int_equal(take_request(&server, &t, &sreq), VOUCH_ERR_OSCORE);

	/* A context of another pair: C.2.2 has Recipient ID 00. */
	ctx_named("RFC 8613 Appendix C.2.2", 0, &other);
	assert_int_equal(take_request(&other, &m, &sreq), VOUCH_ERR_OSCORE_CONTEXT);
	vouch_oscore_ctx_clear(&other);
	/* The same IDs under another ID Context (C.3.2): the kid matches, the keys do not. */
	ctx_named("RFC 8613 Appendix C.3.2", 0, &other);
	assert_int_equal(take_request(&other, &m, &sreq), VOUCH_ERR_VERIFY);
	vouch_oscore_ctx_clear(&other);

	/* The genuine one still passes, then is a replay. */
	assert_int_equal(take_request(&server, &m, &sreq), VOUCH_OK);
	assert_int_equal(take_request(&server, &m, &sreq), VOUCH_ERR_OSCORE_REPLAY);

	/* Authentic but malformed inside: a response code in a request, an empty payload after
	 * the marker. The number counts as received anyway. */
	forge_request(&client, 30, (const uint8_t *)"\x45", 1, &t);
	assert_int_equal(vouch_oscore_unprotect_request(&server, t.opt, t.opt_len, t.ct, t.ct_len,
	                                                pt, sizeof(pt), &pt_len, &sreq),
	                 VOUCH_ERR_OSCORE);
	assert_int_equal(pt_len, 0);
	assert_int_equal(pt[0], 0); /* wiped */
	assert_int_equal(vouch_oscore_unprotect_request(&server, t.opt, t.opt_len, t.ct, t.ct_len,
	                                                pt, sizeof(pt), &pt_len, &sreq),
	                 VOUCH_ERR_OSCORE_REPLAY);
	forge_request(&client, 31, (const uint8_t *)"\x01\xff", 2, &t);
	assert_int_equal(vouch_oscore_unprotect_request(&server, t.opt, t.opt_len, t.ct, t.ct_len,
	                                                pt, sizeof(pt), &pt_len, &sreq),
	                 VOUCH_ERR_OSCORE);
	/* Small plaintext buffer. */
	make_request(&client, &m, &creq);
	assert_int_equal(vouch_oscore_unprotect_request(&server, m.opt, m.opt_len, m.ct, m.ct_len,
	                                                pt, 2, &pt_len, &sreq),
	                 VOUCH_ERR_BUFFER);

	/* The client refuses to protect what is not a request, or Observe. */
	assert_int_equal(vouch_oscore_protect_request(&client, (const uint8_t *)"\x45", 1, t.ct,
	                                              sizeof(t.ct), &t.ct_len, t.opt, &t.opt_len,
	                                              &creq),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_oscore_protect_request(&client, (const uint8_t *)"\x01\x60", 2, t.ct,
	                                              sizeof(t.ct), &t.ct_len, t.opt, &t.opt_len,
	                                              &creq),
	                 VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(vouch_oscore_protect_request(&client, C4_PT, sizeof(C4_PT), t.ct, 12,
	                                              &t.ct_len, t.opt, &t.opt_len, &creq),
	                 VOUCH_ERR_BUFFER);
	vouch_oscore_ctx_clear(&client);
	vouch_oscore_ctx_clear(&server);
}

static void test_replay_window(void **state)
{
	struct vouch_oscore_ctx client, server;
	struct vouch_oscore_request creq, sreq;
	struct proto_msg m100, m99, m37, m36, m165, m;

	(void)state;
	ctx_named("RFC 8613 Appendix C.1.2", 0, &server);
	ctx_named("RFC 8613 Appendix C.1.1", 36, &client);
	make_request(&client, &m36, &creq);
	make_request(&client, &m37, &creq);
	vouch_oscore_ctx_clear(&client);
	ctx_named("RFC 8613 Appendix C.1.1", 99, &client);
	make_request(&client, &m99, &creq);
	make_request(&client, &m100, &creq);
	vouch_oscore_ctx_clear(&client);
	ctx_named("RFC 8613 Appendix C.1.1", 165, &client);
	make_request(&client, &m165, &creq);

	assert_int_equal(take_request(&server, &m100, &sreq), VOUCH_OK);
	assert_int_equal(take_request(&server, &m100, &sreq), VOUCH_ERR_OSCORE_REPLAY);
	/* Out of order inside the window: accepted once. */
	assert_int_equal(take_request(&server, &m99, &sreq), VOUCH_OK);
	assert_int_equal(take_request(&server, &m99, &sreq), VOUCH_ERR_OSCORE_REPLAY);
	/* 100 - 37 = 63: the oldest number the window still tracks. 100 - 36 = 64: too old. */
	assert_int_equal(take_request(&server, &m36, &sreq), VOUCH_ERR_OSCORE_REPLAY);
	assert_int_equal(take_request(&server, &m37, &sreq), VOUCH_OK);
	assert_int_equal(take_request(&server, &m37, &sreq), VOUCH_ERR_OSCORE_REPLAY);
	/* A jump past the window clears it: 100 is now too old, 165 and then 166 are new. */
	assert_int_equal(take_request(&server, &m165, &sreq), VOUCH_OK);
	assert_int_equal(take_request(&server, &m100, &sreq), VOUCH_ERR_OSCORE_REPLAY);
	make_request(&client, &m, &creq);
	assert_int_equal(take_request(&server, &m, &sreq), VOUCH_OK);
	assert_int_equal(sreq.seq, 166);
	assert_int_equal(take_request(&server, &m165, &sreq), VOUCH_ERR_OSCORE_REPLAY);
	vouch_oscore_ctx_clear(&client);
	vouch_oscore_ctx_clear(&server);
}

/* ---- refusals of responses ---- */

static void test_response_refusals(void **state)
{
	static const uint8_t resp_pt[] = {0x45, 0xff, 'o', 'k'};
	struct vouch_oscore_ctx client, server;
	struct vouch_oscore_request creq, sreq, other;
	struct proto_msg m, r, r2, t;
	uint8_t pt[BUF];
	size_t pt_len;

	(void)state;
	ctx_named("RFC 8613 Appendix C.1.1", 20, &client);
	ctx_named("RFC 8613 Appendix C.1.2", 0, &server);
	make_request(&client, &m, &creq);
	assert_int_equal(take_request(&server, &m, &sreq), VOUCH_OK);

	assert_int_equal(vouch_oscore_protect_response(&server, &sreq, false, resp_pt,
	                                               sizeof(resp_pt), r.ct, sizeof(r.ct),
	                                               &r.ct_len, r.opt, &r.opt_len),
	                 VOUCH_OK);
	assert_int_equal(r.opt_len, 0);
	/* The request nonce is used once only. */
	assert_int_equal(vouch_oscore_protect_response(&server, &sreq, false, resp_pt,
	                                               sizeof(resp_pt), r2.ct, sizeof(r2.ct),
	                                               &r2.ct_len, r2.opt, &r2.opt_len),
	                 VOUCH_ERR_INVALID);
	/* With its own Partial IV the server may answer again (sequence number 0). */
	assert_int_equal(vouch_oscore_protect_response(&server, &sreq, true, resp_pt,
	                                               sizeof(resp_pt), r2.ct, sizeof(r2.ct),
	                                               &r2.ct_len, r2.opt, &r2.opt_len),
	                 VOUCH_OK);
	assert_int_equal(r2.opt_len, 2);
	assert_memory_equal(r2.opt, "\x01\x00", 2);
	/* A server cannot answer with a client's binding, nor protect a request code. */
	assert_int_equal(vouch_oscore_protect_response(&server, &creq, true, resp_pt,
	                                               sizeof(resp_pt), t.ct, sizeof(t.ct),
	                                               &t.ct_len, t.opt, &t.opt_len),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_oscore_protect_response(&server, &sreq, true, C4_PT, sizeof(C4_PT),
	                                               t.ct, sizeof(t.ct), &t.ct_len, t.opt,
	                                               &t.opt_len),
	                 VOUCH_ERR_INVALID);

	/* Tampering on the way back. */
	t = r;
	t.ct[1] ^= 0x10;
	assert_int_equal(vouch_oscore_unprotect_response(&client, &creq, t.opt, t.opt_len, t.ct,
	                                                 t.ct_len, pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_VERIFY);
	assert_int_equal(pt_len, 0);
	/* An added Partial IV changes the nonce. */
	assert_int_equal(vouch_oscore_unprotect_response(&client, &creq,
	                                                 (const uint8_t *)"\x01\x14", 2, r.ct,
	                                                 r.ct_len, pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_VERIFY);
	/* Someone else's kid, a kid context, malformed flags. */
	assert_int_equal(vouch_oscore_unprotect_response(&client, &creq,
	                                                 (const uint8_t *)"\x08\x07", 2, r.ct,
	                                                 r.ct_len, pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_OSCORE_CONTEXT);
	assert_int_equal(vouch_oscore_unprotect_response(&client, &creq,
	                                                 (const uint8_t *)"\x10\x01\x37", 3, r.ct,
	                                                 r.ct_len, pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_OSCORE);
	assert_int_equal(vouch_oscore_unprotect_response(&client, &creq, (const uint8_t *)"\x00", 1,
	                                                 r.ct, r.ct_len, pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_OSCORE);
	/* The response bound to another request does not verify. */
	make_request(&client, &t, &other);
	assert_int_equal(vouch_oscore_unprotect_response(&client, &other, r.opt, r.opt_len, r.ct,
	                                                 r.ct_len, pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_VERIFY);
	/* The genuine response, then a second one (even a genuine second one) is refused. */
	assert_int_equal(vouch_oscore_unprotect_response(&client, &creq, r.opt, r.opt_len, r.ct,
	                                                 r.ct_len, pt, sizeof(pt), &pt_len),
	                 VOUCH_OK);
	assert_int_equal(pt_len, sizeof(resp_pt));
	assert_memory_equal(pt, resp_pt, sizeof(resp_pt));
	assert_int_equal(vouch_oscore_unprotect_response(&client, &creq, r2.opt, r2.opt_len, r2.ct,
	                                                 r2.ct_len, pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_OSCORE_REPLAY);
	assert_int_equal(vouch_oscore_unprotect_response(&client, &creq, r.opt, r.opt_len, r.ct,
	                                                 r.ct_len, pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_OSCORE_REPLAY);
	/* A server binding on the client side is a caller bug. */
	assert_int_equal(vouch_oscore_unprotect_response(&client, &sreq, r.opt, r.opt_len, r.ct,
	                                                 r.ct_len, pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_INVALID);
	vouch_oscore_ctx_clear(&client);
	vouch_oscore_ctx_clear(&server);
}

/* ---- sender sequence numbers ---- */

struct persist_log {
	uint64_t limits[16];
	size_t n;
	int fail; /* return this instead of storing */
};

static int persist_cb(void *arg, uint64_t limit)
{
	struct persist_log *log = arg;

	if (log->fail != 0)
		return log->fail;
	assert_true(log->n < VOUCH_ARRAY_LEN(log->limits));
	log->limits[log->n++] = limit;
	return VOUCH_OK;
}

static void persistent_ctx(struct vouch_oscore_ctx *ctx, uint64_t seq, struct persist_log *log)
{
	static const uint8_t secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct vouch_oscore_params p;

	memset(&p, 0, sizeof(p));
	p.master_secret = secret;
	p.master_secret_len = sizeof(secret);
	p.recipient_id = (const uint8_t *)"\x01";
	p.recipient_id_len = 1;
	p.sender_seq = seq;
	p.persist_step = 4;
	p.persist = persist_cb;
	p.persist_arg = log;
	assert_int_equal(vouch_oscore_ctx_init(ctx, &p), VOUCH_OK);
}

static void test_sequence_numbers(void **state)
{
	struct vouch_oscore_ctx ctx, server;
	struct vouch_oscore_request req, sreq;
	struct persist_log log;
	struct proto_msg m;

	(void)state;
	memset(&log, 0, sizeof(log));
	persistent_ctx(&ctx, 0, &log);
	assert_int_equal(vouch_oscore_ctx_seq_limit(&ctx), 0);
	for (uint64_t i = 0; i < 10; i++) {
		make_request(&ctx, &m, &req);
		assert_int_equal(req.seq, i);
	}
	/* K = 4: stored before 0, 4 and 8 were used. */
	assert_int_equal(log.n, 3);
	assert_int_equal(log.limits[0], 4);
	assert_int_equal(log.limits[1], 8);
	assert_int_equal(log.limits[2], 12);
	assert_int_equal(vouch_oscore_ctx_seq_limit(&ctx), 12);
	assert_int_equal(vouch_oscore_ctx_next_seq(&ctx), 10);

	/* 10 and 11 are covered; 12 needs a store, which fails: nothing is used. */
	make_request(&ctx, &m, &req);
	make_request(&ctx, &m, &req);
	log.fail = VOUCH_ERR_IO;
	assert_int_equal(vouch_oscore_protect_request(&ctx, C4_PT, sizeof(C4_PT), m.ct,
	                                              sizeof(m.ct), &m.ct_len, m.opt, &m.opt_len,
	                                              &req),
	                 VOUCH_ERR_IO);
	assert_int_equal(m.ct_len, 0);
	assert_false(req.valid);
	assert_int_equal(vouch_oscore_ctx_next_seq(&ctx), 12);
	log.fail = 1; /* a callback returning a non-error non-zero value is a failure too */
	assert_int_equal(vouch_oscore_protect_request(&ctx, C4_PT, sizeof(C4_PT), m.ct,
	                                              sizeof(m.ct), &m.ct_len, m.opt, &m.opt_len,
	                                              &req),
	                 VOUCH_ERR_IO);
	log.fail = 0;
	make_request(&ctx, &m, &req);
	assert_int_equal(req.seq, 12);
	assert_int_equal(log.limits[log.n - 1], 16);

	/* Restart: the stored limit (16) is the first number; 12..15 are never reused. */
	vouch_oscore_ctx_clear(&ctx);
	persistent_ctx(&ctx, 16, &log);
	make_request(&ctx, &m, &req);
	assert_int_equal(req.seq, 16);
	assert_memory_equal(m.opt, "\x09\x10", 2);
	assert_int_equal(log.limits[log.n - 1], 20);
	vouch_oscore_ctx_clear(&ctx);

	/* Exhaustion: 2^40 - 1 is the last number; the reservation is capped at 2^40. */
	persistent_ctx(&ctx, VOUCH_OSCORE_MAX_SEQ, &log);
	make_request(&ctx, &m, &req);
	assert_int_equal(req.seq, VOUCH_OSCORE_MAX_SEQ);
	assert_int_equal(m.opt_len, 6);
	assert_memory_equal(m.opt, "\x0d\xff\xff\xff\xff\xff", 6);
	assert_int_equal(log.limits[log.n - 1], VOUCH_OSCORE_MAX_SEQ + 1);
	assert_int_equal(vouch_oscore_protect_request(&ctx, C4_PT, sizeof(C4_PT), m.ct,
	                                              sizeof(m.ct), &m.ct_len, m.opt, &m.opt_len,
	                                              &req),
	                 VOUCH_ERR_OSCORE_CONTEXT);
	/* The server side accepts the largest Partial IV. */
	memset(&log, 0, sizeof(log));
	{
		static const uint8_t secret[16] = {1, 2,  3,  4,  5,  6,  7,  8,
		                                   9, 10, 11, 12, 13, 14, 15, 16};
		struct vouch_oscore_params p;

		memset(&p, 0, sizeof(p));
		p.master_secret = secret;
		p.master_secret_len = sizeof(secret);
		p.sender_id = (const uint8_t *)"\x01";
		p.sender_id_len = 1;
		assert_int_equal(vouch_oscore_ctx_init(&server, &p), VOUCH_OK);
		/* Without a persist callback the limit is the end of the number space. */
		assert_int_equal(vouch_oscore_ctx_seq_limit(&server), VOUCH_OSCORE_MAX_SEQ + 1);
	}
	ctx.sender_seq = VOUCH_OSCORE_MAX_SEQ; /* replay the last protection for the server */
	ctx.seq_limit = VOUCH_OSCORE_MAX_SEQ + 1;
	make_request(&ctx, &m, &req);
	assert_int_equal(take_request(&server, &m, &sreq), VOUCH_OK);
	assert_int_equal(sreq.seq, VOUCH_OSCORE_MAX_SEQ);
	/* A stored limit past the number space cannot be restored. */
	vouch_oscore_ctx_clear(&ctx);
	{
		struct vouch_oscore_params p;
		static const uint8_t secret[1] = {7};

		memset(&p, 0, sizeof(p));
		p.master_secret = secret;
		p.master_secret_len = 1;
		p.recipient_id = secret;
		p.recipient_id_len = 1;
		p.sender_seq = VOUCH_OSCORE_MAX_SEQ + 2;
		assert_int_equal(vouch_oscore_ctx_init(&ctx, &p), VOUCH_ERR_INVALID);
		p.sender_seq = VOUCH_OSCORE_MAX_SEQ + 1;
		assert_int_equal(vouch_oscore_ctx_init(&ctx, &p), VOUCH_OK);
		assert_int_equal(vouch_oscore_protect_request(&ctx, C4_PT, sizeof(C4_PT), m.ct,
		                                              sizeof(m.ct), &m.ct_len, m.opt,
		                                              &m.opt_len, &req),
		                 VOUCH_ERR_OSCORE_CONTEXT);
	}
	vouch_oscore_ctx_clear(&ctx);
	vouch_oscore_ctx_clear(&server);
}

/* ---- Appendix B.1.2: a server that lost its replay window ---- */

static void test_replay_resync(void **state)
{
	static const uint8_t resp_pt[] = {0x81}; /* 4.01 (the Echo option is the caller's) */
	static const uint8_t ok_pt[] = {0x45};
	static const uint8_t secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	static const uint8_t salt[8] = {0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40};
	struct vouch_oscore_ctx client, server;
	struct vouch_oscore_request creq1, creq2, creq3, sreq1, sreq2, sreq3;
	struct vouch_oscore_params p;
	struct proto_msg m1, m2, m3, r1, r2;
	uint8_t pt[BUF];
	size_t pt_len;

	(void)state;
	ctx_named("RFC 8613 Appendix C.1.1", 20, &client);
	make_request(&client, &m1, &creq1);
	make_request(&client, &m2, &creq2);
	make_request(&client, &m3, &creq3);

	/* The C.1.2 server restored from storage: sequence number from its stored limit, replay
	 * window lost. */
	memset(&p, 0, sizeof(p));
	p.master_secret = secret;
	p.master_secret_len = sizeof(secret);
	p.master_salt = salt;
	p.master_salt_len = sizeof(salt);
	p.sender_id = (const uint8_t *)"\x01";
	p.sender_id_len = 1;
	p.recipient_id = (const uint8_t *)"";
	p.sender_seq = 40;
	p.replay_window_lost = true;
	assert_int_equal(vouch_oscore_ctx_init(&server, &p), VOUCH_OK);
	memset(&sreq1, 0, sizeof(sreq1)); /* no request verified yet */
	assert_int_equal(vouch_oscore_replay_sync(&server, &sreq1), VOUCH_ERR_INVALID);

	/* Fail closed: the ordinary call refuses every request. */
	assert_int_equal(take_request(&server, &m1, &sreq1), VOUCH_ERR_OSCORE_REPLAY);
	/* The resync call verifies (tampering still fails) without trusting freshness... */
	r1 = m1;
	r1.ct[0] ^= 1;
	assert_int_equal(vouch_oscore_unprotect_request_resync(&server, r1.opt, r1.opt_len, r1.ct,
	                                                       r1.ct_len, pt, sizeof(pt), &pt_len,
	                                                       &sreq1),
	                 VOUCH_ERR_VERIFY);
	assert_int_equal(vouch_oscore_unprotect_request_resync(&server, m1.opt, m1.opt_len, m1.ct,
	                                                       m1.ct_len, pt, sizeof(pt), &pt_len,
	                                                       &sreq1),
	                 VOUCH_OK);
	assert_int_equal(pt_len, sizeof(C4_PT));
	/* ...so the request nonce is not usable: 4.01 + Echo goes with the server's Partial IV. */
	assert_int_equal(vouch_oscore_protect_response(&server, &sreq1, false, resp_pt,
	                                               sizeof(resp_pt), r1.ct, sizeof(r1.ct),
	                                               &r1.ct_len, r1.opt, &r1.opt_len),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_oscore_protect_response(&server, &sreq1, true, resp_pt,
	                                               sizeof(resp_pt), r1.ct, sizeof(r1.ct),
	                                               &r1.ct_len, r1.opt, &r1.opt_len),
	                 VOUCH_OK);
	assert_int_equal(r1.opt_len, 2);
	assert_memory_equal(r1.opt, "\x01\x28", 2); /* Partial IV 40 */
	assert_int_equal(vouch_oscore_unprotect_response(&client, &creq1, r1.opt, r1.opt_len, r1.ct,
	                                                 r1.ct_len, pt, sizeof(pt), &pt_len),
	                 VOUCH_OK);
	assert_int_equal(pt_len, 1);
	assert_int_equal(pt[0], 0x81);

	/* The next request carries the Echo value (checked by the caller): it sets the lower
	 * limit of the window and is answered normally. */
	assert_int_equal(vouch_oscore_unprotect_request_resync(&server, m2.opt, m2.opt_len, m2.ct,
	                                                       m2.ct_len, pt, sizeof(pt), &pt_len,
	                                                       &sreq2),
	                 VOUCH_OK);
	assert_int_equal(vouch_oscore_replay_sync(&server, &sreq2), VOUCH_OK);
	assert_int_equal(vouch_oscore_protect_response(&server, &sreq2, false, ok_pt, sizeof(ok_pt),
	                                               r2.ct, sizeof(r2.ct), &r2.ct_len, r2.opt,
	                                               &r2.opt_len),
	                 VOUCH_OK);
	assert_int_equal(r2.opt_len, 0);
	assert_int_equal(vouch_oscore_unprotect_response(&client, &creq2, r2.opt, r2.opt_len, r2.ct,
	                                                 r2.ct_len, pt, sizeof(pt), &pt_len),
	                 VOUCH_OK);
	/* Synchronised: the old and the synchronising request are replays, newer ones pass, and
	 * the resync calls are over. */
	assert_int_equal(take_request(&server, &m1, &sreq3), VOUCH_ERR_OSCORE_REPLAY);
	assert_int_equal(take_request(&server, &m2, &sreq3), VOUCH_ERR_OSCORE_REPLAY);
	assert_int_equal(vouch_oscore_unprotect_request_resync(&server, m3.opt, m3.opt_len, m3.ct,
	                                                       m3.ct_len, pt, sizeof(pt), &pt_len,
	                                                       &sreq3),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_oscore_replay_sync(&server, &sreq2), VOUCH_ERR_INVALID);
	assert_int_equal(take_request(&server, &m3, &sreq3), VOUCH_OK);
	assert_int_equal(sreq3.seq, 22);
	vouch_oscore_ctx_clear(&client);
	vouch_oscore_ctx_clear(&server);
}

/* ---- context parameters ---- */

static void test_ctx_init(void **state)
{
	static const uint8_t secret[16] = {1};
	struct vouch_oscore_ctx ctx;
	struct vouch_oscore_params p;
	static const uint8_t zero[sizeof(struct vouch_oscore_ctx)];

	(void)state;
	memset(&p, 0, sizeof(p));
	p.master_secret = secret;
	p.master_secret_len = sizeof(secret);
	p.sender_id = (const uint8_t *)"\x01";
	p.sender_id_len = 1;
	p.recipient_id = (const uint8_t *)"\x01";
	p.recipient_id_len = 1;
	assert_int_equal(vouch_oscore_ctx_init(&ctx, &p), VOUCH_ERR_INVALID); /* equal IDs */
	p.recipient_id_len = 0;
	assert_int_equal(vouch_oscore_ctx_init(&ctx, &p), VOUCH_OK);
	vouch_oscore_ctx_clear(&ctx);
	assert_memory_equal(&ctx, zero, sizeof(ctx));

	p.sender_id = (const uint8_t *)"12345678";
	p.sender_id_len = 8; /* > nonce length - 6 */
	assert_int_equal(vouch_oscore_ctx_init(&ctx, &p), VOUCH_ERR_INVALID);
	assert_memory_equal(&ctx, zero, sizeof(ctx));
	p.sender_id_len = 7;
	assert_int_equal(vouch_oscore_ctx_init(&ctx, &p), VOUCH_OK);
	p.aead_alg = 11;
	assert_int_equal(vouch_oscore_ctx_init(&ctx, &p), VOUCH_ERR_UNSUPPORTED);
	p.aead_alg = 0;
	p.master_secret_len = 0;
	assert_int_equal(vouch_oscore_ctx_init(&ctx, &p), VOUCH_ERR_INVALID);
	p.master_secret_len = sizeof(secret);
	p.send_kid_context = true; /* without an ID Context */
	assert_int_equal(vouch_oscore_ctx_init(&ctx, &p), VOUCH_ERR_INVALID);
	p.has_id_context = true;
	p.id_context = (const uint8_t *)"0123456789abcdef0123456789abcdefX";
	p.id_context_len = 33;
	assert_int_equal(vouch_oscore_ctx_init(&ctx, &p), VOUCH_ERR_INVALID);
	p.id_context_len = 32;
	assert_int_equal(vouch_oscore_ctx_init(&ctx, &p), VOUCH_OK);
	vouch_oscore_ctx_clear(&ctx);

	/* An uninitialised (cleared) context protects nothing. */
	{
		struct vouch_oscore_request req;
		struct proto_msg m;

		assert_int_equal(vouch_oscore_protect_request(&ctx, C4_PT, sizeof(C4_PT), m.ct,
		                                              sizeof(m.ct), &m.ct_len, m.opt,
		                                              &m.opt_len, &req),
		                 VOUCH_ERR_INVALID);
	}
}

static int setup(void **state)
{
	(void)state;
	coap_startup();
	coap_set_log_level(LOG_EMERG);
	vectors = tu_load_json("rfc8613-oscore.json");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(vectors);
	coap_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_derivation),   cmocka_unit_test(test_requests),
	    cmocka_unit_test(test_responses),        cmocka_unit_test(test_option_codec),
	    cmocka_unit_test(test_inner_codec),      cmocka_unit_test(test_request_refusals),
	    cmocka_unit_test(test_replay_window),    cmocka_unit_test(test_response_refusals),
	    cmocka_unit_test(test_sequence_numbers), cmocka_unit_test(test_replay_resync),
	    cmocka_unit_test(test_ctx_init),
	};

	return cmocka_run_group_tests_name("oscore", tests, setup, teardown);
}
