/*
 * OSCORE: the option value decoder and the inner-message decoder on the whole input (each
 * checked to re-encode to exactly the input when it accepts it: both decoders are strict, so
 * there is one encoding), then the input read as [option length][option value][payload] and
 * verified as a request against the RFC 8613 Appendix C server contexts (C.1.2, C.2.2, C.3.2)
 * and as a response against the C.1.1 client that sent the C.4 request. Contexts are derived
 * once and copied per input, so every run starts from the same replay window. Plaintext buffers
 * are exactly as large as the API needs, so ASan catches any write past them.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vouch/oscore.h"

static const uint8_t secret[16] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                   0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};
static const uint8_t salt[8] = {0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40};
static const uint8_t id_context[8] = {0x37, 0xcb, 0xf3, 0x21, 0x00, 0x17, 0xa2, 0xd3};
static const uint8_t id00[1] = {0x00}, id01[1] = {0x01};
/* The C.4 plaintext: GET with Uri-Path "tv1". */
static const uint8_t c4_pt[5] = {0x01, 0xb3, 0x74, 0x76, 0x31};

enum { N_SERVERS = 3 };
static struct vouch_oscore_ctx servers[N_SERVERS];
static struct vouch_oscore_ctx client;
static struct vouch_oscore_request client_req;
static bool ready;

static void make_ctx(struct vouch_oscore_ctx *ctx, const uint8_t *sid, size_t sid_len,
                     const uint8_t *rid, size_t rid_len, bool with_salt, bool with_ctx,
                     uint64_t seq)
{
	struct vouch_oscore_params p;

	memset(&p, 0, sizeof(p));
	p.master_secret = secret;
	p.master_secret_len = sizeof(secret);
	if (with_salt) {
		p.master_salt = salt;
		p.master_salt_len = sizeof(salt);
	}
	p.sender_id = sid;
	p.sender_id_len = sid_len;
	p.recipient_id = rid;
	p.recipient_id_len = rid_len;
	if (with_ctx) {
		p.has_id_context = true;
		p.id_context = id_context;
		p.id_context_len = sizeof(id_context);
		p.send_kid_context = true;
	}
	p.sender_seq = seq;
	FUZZ_CHECK(vouch_oscore_ctx_init(ctx, &p) == VOUCH_OK);
}

static void setup(void)
{
	uint8_t ct[sizeof(c4_pt) + VOUCH_OSCORE_TAG_LEN], opt[VOUCH_OSCORE_OPTION_MAX];
	size_t ct_len, opt_len;

	make_ctx(&servers[0], id01, 1, NULL, 0, true, false, 0);  /* C.1.2 */
	make_ctx(&servers[1], id01, 1, id00, 1, false, false, 0); /* C.2.2 */
	make_ctx(&servers[2], id01, 1, NULL, 0, true, true, 0);   /* C.3.2 */
	make_ctx(&client, NULL, 0, id01, 1, true, false, 20);     /* C.1.1 */
	FUZZ_CHECK(vouch_oscore_protect_request(&client, c4_pt, sizeof(c4_pt), ct, sizeof(ct),
	                                        &ct_len, opt, &opt_len, &client_req) == VOUCH_OK);
	ready = true;
}

static void option_roundtrip(const uint8_t *data, size_t size)
{
	struct vouch_oscore_option o;
	uint8_t out[256];
	size_t len = 0;

	if (vouch_oscore_option_decode(data, size, &o) != VOUCH_OK)
		return;
	FUZZ_CHECK(size <= 255);
	FUZZ_CHECK(o.piv_len <= VOUCH_OSCORE_MAX_PIV_LEN);
	FUZZ_CHECK(vouch_oscore_option_encode(&o, out, sizeof(out), &len) == VOUCH_OK);
	FUZZ_CHECK(len == size && (size == 0 || memcmp(out, data, size) == 0));
}

static void inner_roundtrip(const uint8_t *data, size_t size)
{
	struct vouch_coap_option opts[64];
	const uint8_t *payload;
	size_t n, payload_len, len = 0;
	uint8_t code;
	uint8_t *out;

	if (vouch_oscore_inner_decode(data, size, &code, opts, 64, &n, &payload, &payload_len) !=
	    VOUCH_OK)
		return;
	out = malloc(size);
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(vouch_oscore_inner_encode(code, opts, n, payload, payload_len, out, size,
	                                     &len) == VOUCH_OK);
	FUZZ_CHECK(len == size && memcmp(out, data, size) == 0);
	free(out);
}

/* A verified plaintext must decode (the library checked it) and be answerable. */
static void check_plaintext(const uint8_t *pt, size_t pt_len, size_t ct_len)
{
	struct vouch_coap_option opts[64];
	const uint8_t *payload;
	size_t n, payload_len;
	uint8_t code;
	int rc;

	FUZZ_CHECK(pt_len + VOUCH_OSCORE_TAG_LEN == ct_len);
	rc = vouch_oscore_inner_decode(pt, pt_len, &code, opts, 64, &n, &payload, &payload_len);
	FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_BUFFER);
}

static void as_request(const uint8_t *opt, size_t opt_len, const uint8_t *ct, size_t ct_len)
{
	static const uint8_t resp[1] = {0x44};
	struct vouch_oscore_option o;
	size_t cap = ct_len > VOUCH_OSCORE_TAG_LEN ? ct_len - VOUCH_OSCORE_TAG_LEN : 1;
	uint8_t *pt = malloc(cap);

	FUZZ_CHECK(pt != NULL);
	if (vouch_oscore_option_decode(opt, opt_len, &o) != VOUCH_OK)
		goto out_free;
	for (size_t i = 0; i < N_SERVERS; i++) {
		struct vouch_oscore_ctx server = servers[i];
		struct vouch_oscore_request req, again;
		uint8_t rct[sizeof(resp) + VOUCH_OSCORE_TAG_LEN], ropt[VOUCH_OSCORE_OPTION_MAX];
		size_t pt_len = 0, rct_len, ropt_len;
		int rc;

		rc = vouch_oscore_unprotect_request(&server, opt, opt_len, ct, ct_len, pt, cap,
		                                    &pt_len, &req);
		FUZZ_CHECK(rc <= 0);
		/* A kid that does not match is never verified further. */
		if (!vouch_oscore_ctx_matches(&server, &o))
			FUZZ_CHECK(rc != VOUCH_OK && rc != VOUCH_ERR_VERIFY);
		if (rc != VOUCH_OK) {
			FUZZ_CHECK(pt_len == 0 && !req.valid);
		} else {
			check_plaintext(pt, pt_len, ct_len);
			/* Accepted once: the same request again is a replay. */
			FUZZ_CHECK(vouch_oscore_unprotect_request(&server, opt, opt_len, ct, ct_len,
			                                          pt, cap, &pt_len, &again) ==
			           VOUCH_ERR_OSCORE_REPLAY);
			/* Answerable once with the request nonce, then only with a Partial IV. */
			FUZZ_CHECK(vouch_oscore_protect_response(
			               &server, &req, false, resp, sizeof(resp), rct, sizeof(rct),
			               &rct_len, ropt, &ropt_len) == VOUCH_OK);
			FUZZ_CHECK(vouch_oscore_protect_response(
			               &server, &req, false, resp, sizeof(resp), rct, sizeof(rct),
			               &rct_len, ropt, &ropt_len) == VOUCH_ERR_INVALID);
		}
		vouch_oscore_ctx_clear(&server);
	}
out_free:
	free(pt);
}

static void as_response(const uint8_t *opt, size_t opt_len, const uint8_t *ct, size_t ct_len)
{
	struct vouch_oscore_ctx c = client;
	struct vouch_oscore_request req = client_req;
	size_t cap = ct_len > VOUCH_OSCORE_TAG_LEN ? ct_len - VOUCH_OSCORE_TAG_LEN : 1;
	size_t pt_len = 0;
	uint8_t *pt = malloc(cap);
	int rc;

	FUZZ_CHECK(pt != NULL);
	rc = vouch_oscore_unprotect_response(&c, &req, opt, opt_len, ct, ct_len, pt, cap, &pt_len);
	FUZZ_CHECK(rc <= 0);
	FUZZ_CHECK(rc != VOUCH_ERR_INVALID);
	if (rc == VOUCH_OK) {
		check_plaintext(pt, pt_len, ct_len);
		FUZZ_CHECK(vouch_oscore_unprotect_response(&c, &req, opt, opt_len, ct, ct_len, pt,
		                                           cap,
		                                           &pt_len) == VOUCH_ERR_OSCORE_REPLAY);
	} else {
		FUZZ_CHECK(pt_len == 0);
	}
	vouch_oscore_ctx_clear(&c);
	free(pt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t opt_len;

	if (!ready)
		setup();
	option_roundtrip(data, size);
	inner_roundtrip(data, size);
	if (size < 1)
		return 0;
	opt_len = data[0];
	if (opt_len > size - 1)
		return 0;
	as_request(data + 1, opt_len, data + 1 + opt_len, size - 1 - opt_len);
	as_response(data + 1, opt_len, data + 1 + opt_len, size - 1 - opt_len);
	return 0;
}
