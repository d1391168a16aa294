/* COSE_Sign1, COSE_Mac0 and COSE_Key: round trips, and every refusal of the decoders.
 *
 * Built for both back-ends. PSA (Mbed TLS 2.28) has no Ed25519: keys_setup asserts that it is
 * refused with VOUCH_ERR_UNSUPPORTED, the Ed25519 handles stay empty, the Ed25519-only tests are
 * skipped (cmocka says so) and the rest sign with P-256 where they used Ed25519 as just "a key". */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vouch/cose.h"

static const uint8_t payload[] = "This is the content.";
#define PAYLOAD_LEN (sizeof(payload) - 1)
static const uint8_t aad[] = {0x11, 0xaa, 0x22, 0xbb};
static const uint8_t mac_key[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

struct keys {
	struct vouch_key p256, ed25519, p256_pub, ed25519_pub;
};

static int keys_setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));
	uint8_t raw[VOUCH_P256_POINT_LEN];
	size_t raw_len;

	assert_non_null(k);
	vouch_key_init(&k->p256);
	vouch_key_init(&k->ed25519);
	vouch_key_init(&k->p256_pub);
	vouch_key_init(&k->ed25519_pub);
	assert_int_equal(vouch_key_generate(&k->p256, VOUCH_KEY_P256), VOUCH_OK);
	assert_int_equal(vouch_key_export_public(&k->p256, raw, sizeof(raw), &raw_len), VOUCH_OK);
	assert_int_equal(vouch_key_import_public(&k->p256_pub, VOUCH_KEY_P256, raw, raw_len),
	                 VOUCH_OK);
	if (tu_psa()) {
		memset(raw, 0x5a, VOUCH_ED25519_KEY_LEN);
		assert_int_equal(vouch_key_generate(&k->ed25519, VOUCH_KEY_ED25519),
		                 VOUCH_ERR_UNSUPPORTED);
		assert_int_equal(vouch_key_import_public(&k->ed25519_pub, VOUCH_KEY_ED25519, raw,
		                                         VOUCH_ED25519_KEY_LEN),
		                 VOUCH_ERR_UNSUPPORTED);
		*state = k;
		return 0;
	}
	assert_int_equal(vouch_key_generate(&k->ed25519, VOUCH_KEY_ED25519), VOUCH_OK);
	assert_int_equal(vouch_key_export_public(&k->ed25519, raw, sizeof(raw), &raw_len),
	                 VOUCH_OK);
	assert_int_equal(vouch_key_import_public(&k->ed25519_pub, VOUCH_KEY_ED25519, raw, raw_len),
	                 VOUCH_OK);
	*state = k;
	return 0;
}

static bool have_ed25519(void)
{
	return !tu_psa();
}

/* A signing key where any will do: Ed25519 (deterministic) when the back-end has it. */
static const struct vouch_key *any_signer(const struct keys *k)
{
	return have_ed25519() ? &k->ed25519 : &k->p256;
}

static int keys_teardown(void **state)
{
	struct keys *k = *state;

	vouch_key_clear(&k->p256);
	vouch_key_clear(&k->ed25519);
	vouch_key_clear(&k->p256_pub);
	vouch_key_clear(&k->ed25519_pub);
	free(k);
	return 0;
}

/* Hex with spaces allowed (for readability of hand-made messages). */
static uint8_t *hexs(const char *s, size_t *len)
{
	char *clean = malloc(strlen(s) + 1);
	size_t n = 0;
	uint8_t *out;

	assert_non_null(clean);
	for (; *s != '\0'; s++)
		if (*s != ' ')
			clean[n++] = *s;
	clean[n] = '\0';
	out = tu_hex(clean, len);
	free(clean);
	return out;
}

static int sign1_decode_hex(const char *hex)
{
	struct vouch_cose_sign1 msg;
	size_t len;
	uint8_t *buf = hexs(hex, &len);
	int rc = vouch_cose_sign1_decode(buf, len, &msg);

	free(buf);
	return rc;
}

/*
 * A hand-made message: optional tag head (hex), an array of n fields whose first is a bstr
 * wrapping prot_map (hex of its contents; NULL writes rest_hex only), then rest_hex as is.
 */
static uint8_t *build(const char *tag_hex, size_t n, const char *prot_map, const char *rest_hex,
                      size_t *len)
{
	struct vouch_cbor_writer w;
	uint8_t *out = malloc(4096), *tag, *prot = NULL, *rest;
	size_t tag_len, prot_len = 0, rest_len;

	assert_non_null(out);
	tag = hexs(tag_hex, &tag_len);
	rest = hexs(rest_hex, &rest_len);
	vouch_cbor_writer_init(&w, out, 4096);
	vouch_cbor_write_raw(&w, tag, tag_len);
	vouch_cbor_write_array(&w, n);
	if (prot_map != NULL) {
		prot = hexs(prot_map, &prot_len);
		vouch_cbor_write_bstr(&w, prot, prot_len);
	}
	vouch_cbor_write_raw(&w, rest, rest_len);
	assert_int_equal(vouch_cbor_writer_finish(&w, len), VOUCH_OK);
	free(tag);
	free(prot);
	free(rest);
	return out;
}

static int sign1_decode_built(const char *tag_hex, size_t n, const char *prot_map,
                              const char *rest_hex)
{
	struct vouch_cose_sign1 msg;
	size_t len;
	uint8_t *buf = build(tag_hex, n, prot_map, rest_hex, &len);
	int rc = vouch_cose_sign1_decode(buf, len, &msg);

	free(buf);
	return rc;
}

static int mac0_decode_built(const char *tag_hex, size_t n, const char *prot_map,
                             const char *rest_hex)
{
	struct vouch_cose_mac0 msg;
	size_t len;
	uint8_t *buf = build(tag_hex, n, prot_map, rest_hex, &len);
	int rc = vouch_cose_mac0_decode(buf, len, &msg);

	free(buf);
	return rc;
}

#define ZERO32 "0000000000000000000000000000000000000000000000000000000000000000"

/* ---- Sign1 round trips ---- */

static void sign1_round_trip(const struct vouch_key *priv, const struct vouch_key *pub,
                             int64_t want_alg)
{
	static const uint8_t kid[] = "kid-1";
	struct vouch_cose_hdr_params hp = {
	    .kid = kid, .kid_len = 5, .has_content_type = true, .content_type = 60};
	struct vouch_cose_sign1 msg;
	uint8_t out[512];
	size_t out_len;

	for (int tagged = 0; tagged <= 1; tagged++) {
		for (int kid_prot = 0; kid_prot <= 1; kid_prot++) {
			hp.kid_protected = kid_prot;
			assert_int_equal(vouch_cose_sign1_create(priv, &hp, payload, PAYLOAD_LEN,
			                                         aad, sizeof(aad), tagged, false,
			                                         out, sizeof(out), &out_len),
			                 VOUCH_OK);
			assert_int_equal(out[0] == 0xd2, tagged);
			assert_int_equal(vouch_cose_sign1_decode(out, out_len, &msg), VOUCH_OK);
			assert_true(msg.hdr.has_alg);
			assert_int_equal(msg.hdr.alg, want_alg);
			assert_true(msg.hdr.has_content_type);
			assert_int_equal(msg.hdr.content_type_uint, 60);
			assert_int_equal(msg.hdr.kid_len, 5);
			assert_memory_equal(msg.hdr.kid, kid, 5);
			/* Zero copy: the kid and payload point into the message. */
			assert_true(msg.hdr.kid > out && msg.hdr.kid < out + out_len);
			assert_true(msg.payload > out && msg.payload < out + out_len);
			assert_int_equal(msg.payload_len, PAYLOAD_LEN);
			assert_memory_equal(msg.payload, payload, PAYLOAD_LEN);
			assert_int_equal(msg.signature_len, 64);
			assert_int_equal(
			    vouch_cose_sign1_verify(&msg, pub, aad, sizeof(aad), NULL, 0),
			    VOUCH_OK);
			assert_int_equal(
			    vouch_cose_sign1_verify(&msg, priv, aad, sizeof(aad), NULL, 0),
			    VOUCH_OK);
			/* Wrong or missing external AAD. */
			assert_int_equal(vouch_cose_sign1_verify(&msg, pub, aad, 3, NULL, 0),
			                 VOUCH_ERR_VERIFY);
			assert_int_equal(vouch_cose_sign1_verify(&msg, pub, NULL, 0, NULL, 0),
			                 VOUCH_ERR_VERIFY);
		}
	}

	/* No headers at all beyond alg; an empty payload. */
	assert_int_equal(vouch_cose_sign1_create(priv, NULL, NULL, 0, NULL, 0, true, false, out,
	                                         sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_int_equal(vouch_cose_sign1_decode(out, out_len, &msg), VOUCH_OK);
	assert_int_equal(msg.payload_len, 0);
	assert_non_null(msg.payload);
	assert_null(msg.hdr.kid);
	assert_int_equal(msg.hdr.unprotected_len, 1); /* {} */
	assert_int_equal(vouch_cose_sign1_verify(&msg, pub, NULL, 0, NULL, 0), VOUCH_OK);
}

static void test_sign1_round_trip(void **state)
{
	struct keys *k = *state;

	sign1_round_trip(&k->p256, &k->p256_pub, VOUCH_COSE_ALG_ES256);
	if (have_ed25519())
		sign1_round_trip(&k->ed25519, &k->ed25519_pub, VOUCH_COSE_ALG_EDDSA);
}

static void test_sign1_exact_bytes(void **state)
{
	struct keys *k = *state;
	struct vouch_cose_hdr_params hp = {.kid = (const uint8_t *)"11", .kid_len = 2};
	uint8_t out[256];
	size_t out_len, want_len;
	/* 18([h'a10127', {4: h'3131'}, h'...', <64-byte signature>]) */
	uint8_t *want = tu_hex("d28443a10127a10442313154546869732069732074686520636f6e74656e742e"
	                       "5840",
	                       &want_len);

	(void)state;
	if (!have_ed25519()) {
		free(want);
		skip();
	}
	assert_int_equal(vouch_cose_sign1_create(&k->ed25519, &hp, payload, PAYLOAD_LEN, NULL, 0,
	                                         true, false, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_int_equal(out_len, want_len + 64);
	assert_memory_equal(out, want, want_len);
	free(want);
}

static void test_sign1_detached(void **state)
{
	struct keys *k = *state;
	struct vouch_cose_sign1 msg;
	uint8_t out[256];
	size_t out_len;

	assert_int_equal(vouch_cose_sign1_create(&k->p256, NULL, payload, PAYLOAD_LEN, aad,
	                                         sizeof(aad), true, true, out, sizeof(out),
	                                         &out_len),
	                 VOUCH_OK);
	assert_int_equal(vouch_cose_sign1_decode(out, out_len, &msg), VOUCH_OK);
	assert_null(msg.payload);
	assert_int_equal(msg.payload_len, 0);
	assert_int_equal(
	    vouch_cose_sign1_verify(&msg, &k->p256_pub, aad, sizeof(aad), payload, PAYLOAD_LEN),
	    VOUCH_OK);
	/* The detached payload is required, and must be the one signed. */
	assert_int_equal(vouch_cose_sign1_verify(&msg, &k->p256_pub, aad, sizeof(aad), NULL, 0),
	                 VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(
	    vouch_cose_sign1_verify(&msg, &k->p256_pub, aad, sizeof(aad), payload, PAYLOAD_LEN - 1),
	    VOUCH_ERR_VERIFY);

	/* An attached payload where the caller expects a detached one is refused. */
	assert_int_equal(vouch_cose_sign1_create(&k->p256, NULL, payload, PAYLOAD_LEN, NULL, 0,
	                                         true, false, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_int_equal(vouch_cose_sign1_decode(out, out_len, &msg), VOUCH_OK);
	assert_int_equal(vouch_cose_sign1_verify(&msg, &k->p256_pub, NULL, 0, payload, PAYLOAD_LEN),
	                 VOUCH_ERR_COSE_STRUCTURE);
}

static void test_sign1_alg_key_mismatch(void **state)
{
	struct keys *k = *state;
	struct vouch_cose_hdr_params hp = {.alg = VOUCH_COSE_ALG_EDDSA};
	struct vouch_cose_sign1 msg;
	uint8_t out[256];
	size_t out_len = 99;

	/* Creating: the requested alg must be the key's. */
	assert_int_equal(vouch_cose_sign1_create(&k->p256, &hp, payload, PAYLOAD_LEN, NULL, 0, true,
	                                         false, out, sizeof(out), &out_len),
	                 VOUCH_ERR_COSE_ALG);
	assert_int_equal(out_len, 0);
	hp.alg = VOUCH_COSE_ALG_ES256;
	if (have_ed25519())
		assert_int_equal(vouch_cose_sign1_create(&k->ed25519, &hp, payload, PAYLOAD_LEN,
		                                         NULL, 0, true, false, out, sizeof(out),
		                                         &out_len),
		                 VOUCH_ERR_COSE_ALG);
	hp.alg = -35; /* ES384 */
	assert_int_equal(vouch_cose_sign1_create(&k->p256, &hp, payload, PAYLOAD_LEN, NULL, 0, true,
	                                         false, out, sizeof(out), &out_len),
	                 VOUCH_ERR_COSE_ALG);
	/* Signing needs the private half. */
	assert_int_equal(vouch_cose_sign1_create(&k->p256_pub, NULL, payload, PAYLOAD_LEN, NULL, 0,
	                                         true, false, out, sizeof(out), &out_len),
	                 VOUCH_ERR_KEY);

	/* Verifying: an ES256 message under an Ed25519 key and the reverse. */
	hp.alg = VOUCH_COSE_ALG_ES256;
	assert_int_equal(vouch_cose_sign1_create(&k->p256, &hp, payload, PAYLOAD_LEN, NULL, 0, true,
	                                         false, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_int_equal(vouch_cose_sign1_decode(out, out_len, &msg), VOUCH_OK);
	if (have_ed25519()) {
		assert_int_equal(vouch_cose_sign1_verify(&msg, &k->ed25519_pub, NULL, 0, NULL, 0),
		                 VOUCH_ERR_COSE_ALG);
		assert_int_equal(vouch_cose_sign1_create(&k->ed25519, NULL, payload, PAYLOAD_LEN,
		                                         NULL, 0, true, false, out, sizeof(out),
		                                         &out_len),
		                 VOUCH_OK);
		assert_int_equal(vouch_cose_sign1_decode(out, out_len, &msg), VOUCH_OK);
		assert_int_equal(vouch_cose_sign1_verify(&msg, &k->p256_pub, NULL, 0, NULL, 0),
		                 VOUCH_ERR_COSE_ALG);
		/* Under another key of the right type: a bad signature. */
		assert_int_equal(vouch_cose_sign1_verify(&msg, &k->ed25519_pub, NULL, 0, NULL, 0),
		                 VOUCH_OK);
		{
			struct vouch_key other;

			vouch_key_init(&other);
			assert_int_equal(vouch_key_generate(&other, VOUCH_KEY_ED25519), VOUCH_OK);
			assert_int_equal(vouch_cose_sign1_verify(&msg, &other, NULL, 0, NULL, 0),
			                 VOUCH_ERR_VERIFY);
			vouch_key_clear(&other);
		}
	}

	/* alg missing, unknown, text, or only a number beyond int64. */
	msg.hdr.has_alg = false;
	assert_int_equal(vouch_cose_sign1_verify(&msg,
	                                         have_ed25519() ? &k->ed25519_pub : &k->p256_pub,
	                                         NULL, 0, NULL, 0),
	                 VOUCH_ERR_COSE_ALG);
	assert_int_equal(sign1_decode_built("d2", 4, "a1013903e6", "a0 40 40"), VOUCH_OK);
	{
		static const char *algs[] = {"a1013903e6", "a101654553323536",
		                             "a1013bffffffffffffffff", "", "a0"};
		for (size_t i = 0; i < VOUCH_ARRAY_LEN(algs); i++) {
			size_t len;
			uint8_t *buf = build("d2", 4, algs[i], "a0 40 5840" ZERO32 ZERO32, &len);

			assert_int_equal(vouch_cose_sign1_decode(buf, len, &msg), VOUCH_OK);
			assert_int_equal(
			    vouch_cose_sign1_verify(&msg, &k->p256_pub, NULL, 0, NULL, 0),
			    VOUCH_ERR_COSE_ALG);
			free(buf);
		}
	}
}

static void test_sign1_tamper(void **state)
{
	struct keys *k = *state;
	struct vouch_cose_hdr_params hp = {.kid = (const uint8_t *)"k", .kid_len = 1};
	struct vouch_cose_sign1 msg;
	uint8_t out[256], copy[256];
	size_t out_len;
	unsigned flipped_ok = 0;

	for (int which = 0; which < (have_ed25519() ? 2 : 1); which++) {
		const struct vouch_key *priv = which ? &k->ed25519 : &k->p256;
		const struct vouch_key *pub = which ? &k->ed25519_pub : &k->p256_pub;

		assert_int_equal(vouch_cose_sign1_create(priv, &hp, payload, PAYLOAD_LEN, aad,
		                                         sizeof(aad), true, false, out, sizeof(out),
		                                         &out_len),
		                 VOUCH_OK);
		/* Flip every bit of every byte: nothing crashes, and only a change inside the
		 * unprotected map (which is not signed) may still verify. */
		for (size_t i = 0; i < out_len; i++) {
			for (unsigned bit = 0; bit < 8; bit++) {
				int rc;

				memcpy(copy, out, out_len);
				copy[i] ^= (uint8_t)(1u << bit);
				rc = vouch_cose_sign1_decode(copy, out_len, &msg);
				if (rc != VOUCH_OK)
					continue;
				rc = vouch_cose_sign1_verify(&msg, pub, aad, sizeof(aad), NULL, 0);
				if (rc == VOUCH_OK) {
					/* d2 84 43 a10126/a10127 | a1 04 41 6b | ... */
					assert_true(i >= 6 && i < 10);
					flipped_ok++;
				}
			}
		}
	}
	/* The kid byte ('k') flips into other valid one-byte kids. */
	assert_true(flipped_ok > 0);

	/* Tampered payload, protected header and signature, explicitly. */
	assert_int_equal(vouch_cose_sign1_create(&k->p256, &hp, payload, PAYLOAD_LEN, aad,
	                                         sizeof(aad), true, false, out, sizeof(out),
	                                         &out_len),
	                 VOUCH_OK);
	assert_int_equal(vouch_cose_sign1_decode(out, out_len, &msg), VOUCH_OK);
	out[12] ^= 1; /* first payload byte */
	assert_int_equal(vouch_cose_sign1_verify(&msg, &k->p256_pub, aad, sizeof(aad), NULL, 0),
	                 VOUCH_ERR_VERIFY);
	out[12] ^= 1;
	assert_int_equal(vouch_cose_sign1_verify(&msg, &k->p256_pub, aad, sizeof(aad), NULL, 0),
	                 VOUCH_OK);
	out[out_len - 1] ^= 0x80;
	assert_int_equal(vouch_cose_sign1_verify(&msg, &k->p256_pub, aad, sizeof(aad), NULL, 0),
	                 VOUCH_ERR_VERIFY);
	out[out_len - 1] ^= 0x80;
	/* alg -7 -> -8 in the protected bytes: the message now names EdDSA. */
	out[5] = 0x27;
	assert_int_equal(vouch_cose_sign1_decode(out, out_len, &msg), VOUCH_OK);
	assert_int_equal(vouch_cose_sign1_verify(&msg, &k->p256_pub, aad, sizeof(aad), NULL, 0),
	                 VOUCH_ERR_COSE_ALG);
	/* Protected {1: -7} re-encoded with a two-byte alg: same meaning, other bytes. */
	{
		struct vouch_cose_sign1 m2;
		uint8_t re[300];
		size_t n = 0;

		out[5] = 0x26;
		re[n++] = out[0];
		re[n++] = out[1];
		re[n++] = 0x44;
		re[n++] = 0xa1;
		re[n++] = 0x01;
		re[n++] = 0x38;
		re[n++] = 0x06;
		memcpy(re + n, out + 6, out_len - 6);
		n += out_len - 6;
		assert_int_equal(vouch_cose_sign1_decode(re, n, &m2), VOUCH_OK);
		assert_int_equal(m2.hdr.alg, VOUCH_COSE_ALG_ES256);
		assert_int_equal(
		    vouch_cose_sign1_verify(&m2, &k->p256_pub, aad, sizeof(aad), NULL, 0),
		    VOUCH_ERR_VERIFY);
	}
}

static void test_sign1_truncation_trailing(void **state)
{
	struct keys *k = *state;
	struct vouch_cose_sign1 msg;
	uint8_t out[256];
	size_t out_len;

	assert_int_equal(vouch_cose_sign1_create(any_signer(k), NULL, payload, PAYLOAD_LEN, NULL, 0,
	                                         true, false, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	for (size_t cut = 0; cut < out_len; cut++) {
		uint8_t *p = malloc(cut + 1);

		assert_non_null(p);
		memcpy(p, out, cut);
		assert_int_equal(vouch_cose_sign1_decode(p, cut, &msg), VOUCH_ERR_CBOR_MALFORMED);
		assert_null(msg.signature);
		free(p);
	}
	out[out_len] = 0x00;
	assert_int_equal(vouch_cose_sign1_decode(out, out_len + 1, &msg), VOUCH_ERR_CBOR_TRAILING);
	assert_int_equal(vouch_cose_sign1_decode(out, out_len, &msg), VOUCH_OK);
}

static void test_sign1_buffer(void **state)
{
	struct keys *k = *state;
	uint8_t out[256];
	size_t out_len, full;

	assert_int_equal(vouch_cose_sign1_create(any_signer(k), NULL, payload, PAYLOAD_LEN, NULL, 0,
	                                         true, false, out, sizeof(out), &full),
	                 VOUCH_OK);
	for (size_t cap = 0; cap < full; cap++) {
		assert_int_equal(vouch_cose_sign1_create(any_signer(k), NULL, payload, PAYLOAD_LEN,
		                                         NULL, 0, true, false, out, cap, &out_len),
		                 VOUCH_ERR_BUFFER);
		assert_int_equal(out_len, 0);
	}
	assert_int_equal(vouch_cose_sign1_create(any_signer(k), NULL, payload, PAYLOAD_LEN, NULL, 0,
	                                         true, false, out, full, &out_len),
	                 VOUCH_OK);
	assert_int_equal(out_len, full);
	assert_int_equal(vouch_cose_sign1_create(NULL, NULL, payload, PAYLOAD_LEN, NULL, 0, true,
	                                         false, out, full, &out_len),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_cose_sign1_create(any_signer(k), NULL, NULL, 3, NULL, 0, true, false,
	                                         out, full, &out_len),
	                 VOUCH_ERR_INVALID);
}

/* ---- the decoding frame and the headers, through Sign1 and Mac0 ---- */

#define SIG40 "40"

static void test_structure_refusals(void **state)
{
	(void)state;
	/* Tag mismatch: Mac0's tag on a Sign1 and the reverse; any other tag. */
	assert_int_equal(sign1_decode_built("d2", 4, "a10126", "a0 40" SIG40), VOUCH_OK);
	assert_int_equal(sign1_decode_built("", 4, "a10126", "a0 40" SIG40), VOUCH_OK);
	assert_int_equal(sign1_decode_built("d1", 4, "a10126", "a0 40" SIG40),
	                 VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(sign1_decode_built("d862", 4, "a10126", "a0 40" SIG40),
	                 VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(sign1_decode_built("d903e6", 4, "a10126", "a0 40" SIG40),
	                 VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(mac0_decode_built("d1", 4, "a10105", "a0 40 40"), VOUCH_OK);
	assert_int_equal(mac0_decode_built("d2", 4, "a10105", "a0 40 40"),
	                 VOUCH_ERR_COSE_STRUCTURE);
	/* A second tag inside is not the array. */
	assert_int_equal(sign1_decode_built("d2d2", 4, "a10126", "a0 40" SIG40),
	                 VOUCH_ERR_COSE_STRUCTURE);

	/* Wrong array size. */
	assert_int_equal(sign1_decode_built("d2", 3, "a10126", "a0 40"), VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(sign1_decode_built("d2", 5, "a10126", "a0 40 40 40"),
	                 VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(mac0_decode_built("d1", 5, "a10105", "a0 40 40 40"),
	                 VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(sign1_decode_built("d2", 0, NULL, ""), VOUCH_ERR_COSE_STRUCTURE);

	/* Not an array, or no item at all. */
	assert_int_equal(sign1_decode_hex("d2a0"), VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(sign1_decode_hex("40"), VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(sign1_decode_hex(""), VOUCH_ERR_CBOR_MALFORMED);

	/* Wrong field types. */
	assert_int_equal(sign1_decode_hex("d284 a10126 a0 40 40"), VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(sign1_decode_hex("d284 f6 a0 40 40"), VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(sign1_decode_built("d2", 4, "a10126", "40 40 40"),
	                 VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(sign1_decode_built("d2", 4, "a10126", "80 40 40"),
	                 VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(sign1_decode_built("d2", 4, "a10126", "a0 01 40"),
	                 VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(sign1_decode_built("d2", 4, "a10126", "a0 60 40"),
	                 VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(sign1_decode_built("d2", 4, "a10126", "a0 40 f6"),
	                 VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(sign1_decode_built("d2", 4, "a10126", "a0 40 60"),
	                 VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(mac0_decode_built("d1", 4, "a10105", "a0 40 f6"),
	                 VOUCH_ERR_COSE_STRUCTURE);
	assert_int_equal(mac0_decode_built("d1", 4, "a10105", "a0 01 40"),
	                 VOUCH_ERR_COSE_STRUCTURE);
	/* nil payload decodes (detached) for both. */
	assert_int_equal(sign1_decode_built("d2", 4, "a10126", "a0 f6 40"), VOUCH_OK);
	assert_int_equal(mac0_decode_built("d1", 4, "a10105", "a0 f6 40"), VOUCH_OK);

	/* The protected bstr must hold one strict map (or nothing). */
	assert_int_equal(sign1_decode_built("d2", 4, "", "a0 40 40"), VOUCH_OK);
	assert_int_equal(sign1_decode_built("d2", 4, "a0", "a0 40 40"), VOUCH_OK);
	assert_int_equal(sign1_decode_built("d2", 4, "01", "a0 40 40"), VOUCH_ERR_COSE_HEADER);
	assert_int_equal(sign1_decode_built("d2", 4, "8101", "a0 40 40"), VOUCH_ERR_COSE_HEADER);
	assert_int_equal(sign1_decode_built("d2", 4, "a101", "a0 40 40"), VOUCH_ERR_CBOR_MALFORMED);
	assert_int_equal(sign1_decode_built("d2", 4, "ff", "a0 40 40"), VOUCH_ERR_CBOR_MALFORMED);
	assert_int_equal(sign1_decode_built("d2", 4, "a10126 00", "a0 40 40"),
	                 VOUCH_ERR_CBOR_TRAILING);
	assert_int_equal(sign1_decode_built("d2", 4, "a2 0126 0127", "a0 40 40"),
	                 VOUCH_ERR_CBOR_DUPLICATE);
	assert_int_equal(sign1_decode_built("d2", 4, "a2 0126 1801 27", "a0 40 40"),
	                 VOUCH_ERR_CBOR_DUPLICATE);
	assert_int_equal(sign1_decode_built("d2", 4, "bf 0126 ff", "a0 40 40"),
	                 VOUCH_ERR_CBOR_INDEFINITE);
	/* ... and the unprotected map and the message itself are strict too. */
	assert_int_equal(sign1_decode_built("d2", 4, "a10126", "a2 0440 0441 00 40 40"),
	                 VOUCH_ERR_CBOR_DUPLICATE);
	assert_int_equal(sign1_decode_built("d2", 4, "a10126", "bf ff 40 40"),
	                 VOUCH_ERR_CBOR_INDEFINITE);
	assert_int_equal(sign1_decode_built("d2", 4, "a10126", "a0 5f ff 40"),
	                 VOUCH_ERR_CBOR_INDEFINITE);
}

struct hdr_case {
	const char *prot;
	const char *unprot;
	int err;
	const char *why;
};

static void test_header_refusals(void **state)
{
	static const struct hdr_case cases[] = {
	    /* a label in both buckets */
	    {"a10126", "a10126", VOUCH_ERR_COSE_HEADER, "alg in both"},
	    {"a2012604 41 01", "a1 04 41 01", VOUCH_ERR_COSE_HEADER, "kid in both"},
	    {"a2012604 41 01", "a1 1804 41 02", VOUCH_ERR_COSE_HEADER, "kid, long form"},
	    {"a2012661 78 01", "a1 6178 02", VOUCH_ERR_COSE_HEADER, "text label in both"},
	    {"a201261863 00", "a1 1863 00", VOUCH_ERR_COSE_HEADER, "unknown label in both"},
	    {"a2012620 a0", "a1 20 a0", VOUCH_ERR_COSE_HEADER, "-1 in both"},
	    {"a10126", "a1 6101 00", VOUCH_OK, "text \"\\x01\" is not label 1"},
	    /* labels must be int or tstr */
	    {"a20126 4101 00", "a0", VOUCH_ERR_COSE_HEADER, "bstr label"},
	    {"a10126", "a1 f93c00 00", VOUCH_ERR_COSE_HEADER, "float label"},
	    {"a10126", "a1 f5 00", VOUCH_ERR_COSE_HEADER, "bool label"},
	    {"a10126", "a1 3bffffffffffffffff 00", VOUCH_ERR_COSE_HEADER, "label below int64"},
	    {"a10126", "a1 8101 00", VOUCH_ERR_COSE_HEADER, "array label"},
	    /* registered labels with the wrong type */
	    {"a1 01 41 26", "a0", VOUCH_ERR_COSE_HEADER, "alg as bstr"},
	    {"a1 01 f6", "a0", VOUCH_ERR_COSE_HEADER, "alg nil"},
	    {"a10126", "a1 04 01", VOUCH_ERR_COSE_HEADER, "kid as int"},
	    {"a10126", "a1 04 6131", VOUCH_ERR_COSE_HEADER, "kid as tstr"},
	    {"a10126", "a1 05 01", VOUCH_ERR_COSE_HEADER, "iv as int"},
	    {"a10126", "a1 06 6131", VOUCH_ERR_COSE_HEADER, "partial iv as tstr"},
	    {"a10126", "a1 0a 01", VOUCH_ERR_COSE_HEADER, "kid context as int"},
	    {"a2 0126 03 20", "a0", VOUCH_ERR_COSE_HEADER, "content type negative"},
	    {"a2 0126 03 41 00", "a0", VOUCH_ERR_COSE_HEADER, "content type bstr"},
	    {"a2 0126 03 1bffffffffffffffff", "a0", VOUCH_ERR_COSE_HEADER, "content type huge"},
	    {"a10126", "a1 20 41 00", VOUCH_ERR_COSE_HEADER, "ephemeral key as bstr"},
	    {"a10126", "a1 21 80", VOUCH_ERR_COSE_HEADER, "static key as array"},
	    {"a10126", "a1 22 01", VOUCH_ERR_COSE_HEADER, "static key id as int"},
	    {"a10126", "a1 33 01", VOUCH_ERR_COSE_HEADER, "salt as int"},
	    {"a10126", "a1 34 6175", VOUCH_ERR_COSE_HEADER, "party U identity as tstr"},
	    {"a10126", "a1 35 01", VOUCH_ERR_UNSUPPORTED, "party U nonce as int"},
	    {"a10126", "a1 35 f6", VOUCH_ERR_COSE_HEADER, "party U nonce nil"},
	    {"a10126", "a1 38 18 01", VOUCH_ERR_UNSUPPORTED, "party V nonce as int"},
	    {"a10126", "a1 3819 01", VOUCH_ERR_COSE_HEADER, "party V other as int"},
	    /* iv and partial iv together */
	    {"a10126", "a2 05 41 00 06 41 00", VOUCH_ERR_COSE_HEADER, "iv and partial iv"},
	    {"a2 0126 05 41 00", "a1 06 41 00", VOUCH_ERR_COSE_HEADER, "iv and partial iv split"},
	    /* crit */
	    {"a3 0126 02 81 1863 1863 00", "a0", VOUCH_ERR_COSE_CRITICAL, "unknown critical"},
	    {"a3 0126 02 81 6178 6178 00", "a0", VOUCH_ERR_COSE_CRITICAL, "text critical"},
	    {"a3 0126 02 81 04 04 41 00", "a0", VOUCH_OK, "kid critical and present"},
	    {"a3 0126 02 82 04 01 04 41 00", "a0", VOUCH_OK, "kid and alg critical"},
	    {"a2 0126 02 81 04", "a1 04 41 00", VOUCH_ERR_COSE_CRITICAL,
	     "critical kid only unprotected"},
	    {"a2 0126 02 81 04", "a0", VOUCH_ERR_COSE_CRITICAL, "critical kid absent"},
	    {"a2 0126 02 81 22", "a0", VOUCH_ERR_COSE_CRITICAL, "static key id not understood"},
	    {"a2 0126 02 80", "a0", VOUCH_ERR_COSE_HEADER, "empty crit"},
	    {"a2 0126 02 04", "a0", VOUCH_ERR_COSE_HEADER, "crit not an array"},
	    {"a3 0126 02 81 41 04 04 41 00", "a0", VOUCH_ERR_COSE_HEADER, "crit with a bstr"},
	    {"a10126", "a1 02 81 04", VOUCH_ERR_COSE_CRITICAL, "crit unprotected"},
	    /* unknown, non-critical parameters are ignored whatever their shape */
	    {"a2 0126 1863 83 01 a0 80", "a1 63666f6f f6", VOUCH_OK, "unknown labels"},
	    {"a2 0126 07 80", "a1 18 21 80", VOUCH_OK, "counter signature, x5chain"},
	    {"a10126", "a1 35 41 00", VOUCH_OK, "party U nonce as bstr"},
	    {"a2 0126 03 63 612f62", "a0", VOUCH_OK, "content type as text"},
	};

	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(cases); i++) {
		char rest[256];
		int rc;

		snprintf(rest, sizeof(rest), "%s 40 40", cases[i].unprot);
		rc = sign1_decode_built("d2", 4, cases[i].prot, rest);
		if (rc != cases[i].err)
			fail_msg("%s: got %d (%s), want %d", cases[i].why, rc, vouch_strerror(rc),
			         cases[i].err);
		/* The same rules hold for every structure using the shared header code. */
		rc = mac0_decode_built("d1", 4, cases[i].prot, rest);
		if (rc != cases[i].err)
			fail_msg("mac0 %s: got %d, want %d", cases[i].why, rc, cases[i].err);
	}
}

static void test_headers_decoded(void **state)
{
	struct vouch_cose_sign1 msg;
	size_t len;
	/* prot {1: -7, 3: "a/b"}; unprot {6: h'01', 10: h'02', -1: {1: 4}, -20: h'03',
	 * -21: h'04', -22: h'05', -23: h'06', -24: h'07', -25: h'08', -26: h'09'} */
	uint8_t *buf = build("d2", 4, "a2 0126 03 63612f62",
	                     "aa 06 4101 0a 4102 20 a10104 33 4103 34 4104 35 4105 36 4106 37 4107"
	                     " 3818 4108 3819 4109 40 40",
	                     &len);

	(void)state;
	assert_int_equal(vouch_cose_sign1_decode(buf, len, &msg), VOUCH_OK);
	assert_true(msg.hdr.has_content_type);
	assert_int_equal(msg.hdr.content_type_text_len, 3);
	assert_memory_equal(msg.hdr.content_type_text, "a/b", 3);
	assert_null(msg.hdr.iv);
	assert_null(msg.hdr.kid);
	assert_int_equal(msg.hdr.partial_iv_len, 1);
	assert_int_equal(msg.hdr.partial_iv[0], 1);
	assert_int_equal(msg.hdr.kid_context[0], 2);
	assert_int_equal(msg.hdr.ephemeral_key_len, 3);
	assert_memory_equal(msg.hdr.ephemeral_key, "\xa1\x01\x04", 3);
	assert_int_equal(msg.hdr.salt[0], 3);
	assert_int_equal(msg.hdr.party_u_identity[0], 4);
	assert_int_equal(msg.hdr.party_u_nonce[0], 5);
	assert_int_equal(msg.hdr.party_u_other[0], 6);
	assert_int_equal(msg.hdr.party_v_identity[0], 7);
	assert_int_equal(msg.hdr.party_v_nonce[0], 8);
	assert_int_equal(msg.hdr.party_v_other[0], 9);
	assert_int_equal(msg.hdr.protected_len, 8);
	free(buf);

	/* h'a0' protected: accepted, and the Sig/MAC structures use h'' (RFC 9052 §3). */
	buf = build("d2", 4, "a0", "a1 0126 40 40", &len);
	assert_int_equal(vouch_cose_sign1_decode(buf, len, &msg), VOUCH_OK);
	assert_int_equal(msg.hdr.protected_len, 0);
	assert_non_null(msg.hdr.protected_bstr);
	assert_true(msg.hdr.has_alg);
	free(buf);
}

/* Headers written by the encoder: every parameter the API names, plus extra entries. */
static void test_headers_written(void **state)
{
	struct keys *k = *state;
	/* extra protected {2: [4]} makes kid critical; extra unprotected {33: h'aa'} */
	static const uint8_t extra_prot[] = {0x02, 0x81, 0x04};
	static const uint8_t extra_unprot[] = {0x18, 0x21, 0x41, 0xaa};
	static const uint8_t piv[] = {0x05};
	struct vouch_cose_hdr_params hp = {
	    .kid = (const uint8_t *)"",
	    .kid_len = 0,
	    .kid_protected = true,
	    .has_content_type = true,
	    .content_type = 0,
	    .partial_iv = piv,
	    .partial_iv_len = 1,
	    .extra_protected = extra_prot,
	    .extra_protected_len = sizeof(extra_prot),
	    .extra_protected_count = 1,
	    .extra_unprotected = extra_unprot,
	    .extra_unprotected_len = sizeof(extra_unprot),
	    .extra_unprotected_count = 1,
	};
	struct vouch_cose_sign1 msg;
	uint8_t out[256];
	size_t out_len, want_len;
	/* 18([h'a4 0127 0300 0440 028104', {6: h'05', 33: h'aa'}, ...]); alg -7 (0126) on PSA */
	uint8_t *want = tu_hex(have_ed25519() ? "d2844aa4012703000440028104a2064105182141aa"
	                                      : "d2844aa4012603000440028104a2064105182141aa",
	                       &want_len);

	assert_int_equal(vouch_cose_sign1_create(any_signer(k), &hp, payload, PAYLOAD_LEN, NULL, 0,
	                                         true, false, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(vouch_cose_sign1_decode(out, out_len, &msg), VOUCH_OK);
	/* An empty kid is present, not absent. */
	assert_non_null(msg.hdr.kid);
	assert_int_equal(msg.hdr.kid_len, 0);
	assert_int_equal(msg.hdr.partial_iv[0], 5);
	assert_true(msg.hdr.has_content_type);
	assert_int_equal(msg.hdr.content_type_uint, 0);
	assert_int_equal(vouch_cose_sign1_verify(&msg,
	                                         have_ed25519() ? &k->ed25519_pub : &k->p256_pub,
	                                         NULL, 0, NULL, 0),
	                 VOUCH_OK);
	free(want);
}

/* ---- Mac0 ---- */

static void test_mac0_round_trip(void **state)
{
	static const int64_t algs[] = {VOUCH_COSE_ALG_HMAC_256_64, VOUCH_COSE_ALG_HMAC_256_256, 0};
	struct vouch_cose_mac0 msg;
	uint8_t out[256], long_key[100];
	size_t out_len;

	(void)state;
	memset(long_key, 0x42, sizeof(long_key));
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(algs); i++) {
		struct vouch_cose_hdr_params hp = {
		    .alg = algs[i], .kid = (const uint8_t *)"our", .kid_len = 3};
		size_t tag_len = algs[i] == VOUCH_COSE_ALG_HMAC_256_64 ? 8 : 32;

		for (int tagged = 0; tagged <= 1; tagged++) {
			assert_int_equal(vouch_cose_mac0_create(
			                     mac_key, sizeof(mac_key), &hp, payload, PAYLOAD_LEN,
			                     aad, sizeof(aad), tagged, out, sizeof(out), &out_len),
			                 VOUCH_OK);
			assert_int_equal(out[0] == 0xd1, tagged);
			assert_int_equal(vouch_cose_mac0_decode(out, out_len, &msg), VOUCH_OK);
			assert_int_equal(msg.hdr.alg,
			                 algs[i] ? algs[i] : VOUCH_COSE_ALG_HMAC_256_256);
			assert_int_equal(msg.tag_len, tag_len);
			assert_int_equal(msg.payload_len, PAYLOAD_LEN);
			assert_int_equal(vouch_cose_mac0_verify(&msg, mac_key, sizeof(mac_key), aad,
			                                        sizeof(aad)),
			                 VOUCH_OK);
			assert_int_equal(
			    vouch_cose_mac0_verify(&msg, mac_key, sizeof(mac_key), aad, 2),
			    VOUCH_ERR_VERIFY);
			assert_int_equal(vouch_cose_mac0_verify(&msg, long_key, sizeof(long_key),
			                                        aad, sizeof(aad)),
			                 VOUCH_ERR_VERIFY);
		}
	}
	/* Keys longer than the block size are fine for HMAC. */
	assert_int_equal(vouch_cose_mac0_create(long_key, sizeof(long_key), NULL, payload,
	                                        PAYLOAD_LEN, NULL, 0, true, out, sizeof(out),
	                                        &out_len),
	                 VOUCH_OK);
	assert_int_equal(vouch_cose_mac0_decode(out, out_len, &msg), VOUCH_OK);
	assert_int_equal(vouch_cose_mac0_verify(&msg, long_key, sizeof(long_key), NULL, 0),
	                 VOUCH_OK);
}

static void test_mac0_refusals(void **state)
{
	struct vouch_cose_hdr_params hp = {.alg = VOUCH_COSE_ALG_HMAC_256_64};
	struct vouch_cose_mac0 msg;
	uint8_t out[256], copy[256];
	size_t out_len = 99;

	(void)state;
	/* Algorithms outside the port and short keys are refused on both sides. */
	hp.alg = 6; /* HMAC 384/384 */
	assert_int_equal(vouch_cose_mac0_create(mac_key, sizeof(mac_key), &hp, payload, PAYLOAD_LEN,
	                                        NULL, 0, true, out, sizeof(out), &out_len),
	                 VOUCH_ERR_COSE_ALG);
	assert_int_equal(out_len, 0);
	hp.alg = VOUCH_COSE_ALG_ES256;
	assert_int_equal(vouch_cose_mac0_create(mac_key, sizeof(mac_key), &hp, payload, PAYLOAD_LEN,
	                                        NULL, 0, true, out, sizeof(out), &out_len),
	                 VOUCH_ERR_COSE_ALG);
	hp.alg = VOUCH_COSE_ALG_HMAC_256_64;
	assert_int_equal(vouch_cose_mac0_create(mac_key, 31, &hp, payload, PAYLOAD_LEN, NULL, 0,
	                                        true, out, sizeof(out), &out_len),
	                 VOUCH_ERR_KEY);
	assert_int_equal(vouch_cose_mac0_create(mac_key, sizeof(mac_key), &hp, payload, PAYLOAD_LEN,
	                                        NULL, 0, true, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_int_equal(vouch_cose_mac0_decode(out, out_len, &msg), VOUCH_OK);
	assert_int_equal(vouch_cose_mac0_verify(&msg, mac_key, 31, NULL, 0), VOUCH_ERR_KEY);
	assert_int_equal(vouch_cose_mac0_verify(&msg, mac_key, sizeof(mac_key), NULL, 0), VOUCH_OK);

	/* Every flipped bit: no crash, and only the unprotected map ({}) could survive. */
	for (size_t i = 0; i < out_len; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			memcpy(copy, out, out_len);
			copy[i] ^= (uint8_t)(1u << bit);
			if (vouch_cose_mac0_decode(copy, out_len, &msg) == VOUCH_OK)
				assert_int_not_equal(
				    vouch_cose_mac0_verify(&msg, mac_key, sizeof(mac_key), NULL, 0),
				    VOUCH_OK);
		}
	}
	/* Every truncation. */
	for (size_t cut = 0; cut < out_len; cut++) {
		uint8_t *p = malloc(cut + 1);

		assert_non_null(p);
		memcpy(p, out, cut);
		assert_int_equal(vouch_cose_mac0_decode(p, cut, &msg), VOUCH_ERR_CBOR_MALFORMED);
		free(p);
	}
	out[out_len] = 0xf6;
	assert_int_equal(vouch_cose_mac0_decode(out, out_len + 1, &msg), VOUCH_ERR_CBOR_TRAILING);

	/* A tag of the other algorithm's length, or a prefix of the right tag, does not verify. */
	assert_int_equal(vouch_cose_mac0_decode(out, out_len, &msg), VOUCH_OK);
	msg.tag_len = 4;
	assert_int_equal(vouch_cose_mac0_verify(&msg, mac_key, sizeof(mac_key), NULL, 0),
	                 VOUCH_ERR_VERIFY);
	msg.tag_len = 0;
	assert_int_equal(vouch_cose_mac0_verify(&msg, mac_key, sizeof(mac_key), NULL, 0),
	                 VOUCH_ERR_VERIFY);
	msg.hdr.alg = VOUCH_COSE_ALG_HMAC_256_256;
	msg.tag_len = 8;
	assert_int_equal(vouch_cose_mac0_verify(&msg, mac_key, sizeof(mac_key), NULL, 0),
	                 VOUCH_ERR_VERIFY);
	msg.hdr.has_alg = false;
	assert_int_equal(vouch_cose_mac0_verify(&msg, mac_key, sizeof(mac_key), NULL, 0),
	                 VOUCH_ERR_COSE_ALG);

	/* A detached (nil) payload cannot be verified through this API. */
	{
		size_t len;
		uint8_t *buf = build("d1", 4, "a10104", "a0 f6 48 0001020304050607", &len);

		assert_int_equal(vouch_cose_mac0_decode(buf, len, &msg), VOUCH_OK);
		assert_null(msg.payload);
		assert_int_equal(vouch_cose_mac0_verify(&msg, mac_key, sizeof(mac_key), NULL, 0),
		                 VOUCH_ERR_COSE_STRUCTURE);
		free(buf);
	}

	/* Buffer too small, at every size. */
	{
		size_t full;

		assert_int_equal(vouch_cose_mac0_create(mac_key, sizeof(mac_key), NULL, payload,
		                                        PAYLOAD_LEN, NULL, 0, true, out,
		                                        sizeof(out), &full),
		                 VOUCH_OK);
		for (size_t cap = 0; cap < full; cap++)
			assert_int_equal(vouch_cose_mac0_create(mac_key, sizeof(mac_key), NULL,
			                                        payload, PAYLOAD_LEN, NULL, 0, true,
			                                        out, cap, &out_len),
			                 VOUCH_ERR_BUFFER);
	}
}

/* ---- COSE_Key ---- */

static void test_key_round_trip(void **state)
{
	struct keys *k = *state;
	const struct vouch_key *keys[] = {&k->p256, &k->ed25519, &k->p256_pub, &k->ed25519_pub};
	const struct vouch_key *priv[] = {&k->p256, &k->ed25519, &k->p256, &k->ed25519};
	static const uint8_t kid[] = {0xab, 0xcd};

	for (size_t i = 0; i < VOUCH_ARRAY_LEN(keys); i++) {
		struct vouch_cbor_writer w;
		struct vouch_cose_key ck;
		struct vouch_key pub;
		struct vouch_cose_sign1 msg;
		uint8_t buf[256], out[256];
		size_t len, out_len;
		bool ec2 = keys[i]->type == VOUCH_KEY_P256;
		int64_t alg = ec2 ? VOUCH_COSE_ALG_ES256 : 0;

		if (priv[i] == &k->ed25519 && !have_ed25519())
			continue;
		vouch_cbor_writer_init(&w, buf, sizeof(buf));
		vouch_cose_key_write_public(&w, keys[i], i < 2 ? kid : NULL, sizeof(kid), alg);
		assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_OK);
		assert_int_equal(vouch_cose_key_decode(buf, len, &ck), VOUCH_OK);
		assert_int_equal(ck.kty, ec2 ? VOUCH_COSE_KTY_EC2 : VOUCH_COSE_KTY_OKP);
		assert_int_equal(ck.crv, ec2 ? VOUCH_COSE_CRV_P256 : VOUCH_COSE_CRV_ED25519);
		assert_int_equal(ck.has_alg, alg != 0);
		assert_int_equal(ck.alg, alg);
		assert_int_equal(ck.x_len, 32);
		assert_int_equal(ck.y_len, ec2 ? 32 : 0);
		assert_null(ck.d);
		if (i < 2) {
			assert_int_equal(ck.kid_len, 2);
			assert_memory_equal(ck.kid, kid, 2);
		} else {
			assert_null(ck.kid);
		}
		/* A public COSE_Key makes no private handle. */
		vouch_key_init(&pub);
		assert_int_equal(vouch_cose_key_to_private(&ck, &pub), VOUCH_ERR_KEY);
		assert_int_equal(vouch_cose_key_to_public(&ck, &pub), VOUCH_OK);
		assert_false(vouch_key_is_private(&pub));
		assert_int_equal(vouch_cose_sign1_create(priv[i], NULL, payload, PAYLOAD_LEN, NULL,
		                                         0, true, false, out, sizeof(out),
		                                         &out_len),
		                 VOUCH_OK);
		assert_int_equal(vouch_cose_sign1_decode(out, out_len, &msg), VOUCH_OK);
		assert_int_equal(vouch_cose_sign1_verify(&msg, &pub, NULL, 0, NULL, 0), VOUCH_OK);
		vouch_key_clear(&pub);
	}
}

/* The RFC 9052 C.7.2 private P-256 key "11" (cose-wg Examples sign1 key). */
#define K11_X "bac5b11cad8f99f9c72b05cf4b9e26d244dc189f745228255a219a86d6a09eff"
#define K11_Y "20138bf82dc1b6d562be0fa54ab7804a3a64b6d72ccfed6b6fb6ed28bbfc117e"
#define K11_D "57c92077664146e876760c9520d054aa93c3afb04e306705db6090308507b4d3"

/* Decode a hand-made COSE_Key. The decoded key points into the input, so the bytes stay in a
 * static buffer until the next call. */
static int key_decode_hex(const char *hex, struct vouch_cose_key *ck)
{
	static uint8_t keep[512];
	size_t len;
	uint8_t *buf = hexs(hex, &len);

	assert_true(len <= sizeof(keep));
	memcpy(keep, buf, len);
	free(buf);
	return vouch_cose_key_decode(keep, len, ck);
}

static void test_key_private(void **state)
{
	struct vouch_cose_key ck;
	struct vouch_key priv;
	struct vouch_cose_sign1 msg;
	uint8_t out[256];
	size_t out_len;

	(void)state;
	vouch_key_init(&priv);
	assert_int_equal(
	    key_decode_hex("a5 0102 2001 215820" K11_X " 225820" K11_Y " 235820" K11_D, &ck),
	    VOUCH_OK);
	assert_int_equal(vouch_cose_key_to_private(&ck, &priv), VOUCH_OK);
	assert_true(vouch_key_is_private(&priv));
	assert_int_equal(vouch_cose_sign1_create(&priv, NULL, payload, PAYLOAD_LEN, NULL, 0, true,
	                                         false, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	vouch_key_clear(&priv);
	assert_int_equal(vouch_cose_key_to_public(&ck, &priv), VOUCH_OK);
	assert_int_equal(vouch_cose_sign1_decode(out, out_len, &msg), VOUCH_OK);
	assert_int_equal(vouch_cose_sign1_verify(&msg, &priv, NULL, 0, NULL, 0), VOUCH_OK);
	vouch_key_clear(&priv);

	/* d alone is a valid private key. */
	assert_int_equal(key_decode_hex("a3 0102 2001 235820" K11_D, &ck), VOUCH_OK);
	assert_int_equal(vouch_cose_key_to_private(&ck, &priv), VOUCH_OK);
	vouch_key_clear(&priv);
	assert_int_equal(vouch_cose_key_to_public(&ck, &priv), VOUCH_ERR_KEY);

	/* d with another key's public half: refused, and no handle is left behind. */
	assert_int_equal(
	    key_decode_hex("a5 0102 2001 215820" K11_X " 225820" K11_Y " 235820" K11_X, &ck),
	    VOUCH_OK);
	assert_int_equal(vouch_cose_key_to_private(&ck, &priv), VOUCH_ERR_KEY);
	assert_false(vouch_key_is_private(&priv));
	vouch_key_clear(&priv);

	/* A point not on the curve. */
	assert_int_equal(key_decode_hex("a4 0102 2001 215820" K11_X " 225820" K11_X, &ck),
	                 VOUCH_OK);
	assert_int_equal(vouch_cose_key_to_public(&ck, &priv), VOUCH_ERR_KEY);
	vouch_key_clear(&priv);

	/* Symmetric keys. */
	assert_int_equal(key_decode_hex("a3 0104 0242 6b31 2043 010203", &ck), VOUCH_OK);
	assert_int_equal(ck.kty, VOUCH_COSE_KTY_SYMMETRIC);
	assert_int_equal(ck.k_len, 3);
	assert_int_equal(ck.kid_len, 2);
	assert_int_equal(vouch_cose_key_to_public(&ck, &priv), VOUCH_ERR_KEY);
	assert_int_equal(vouch_cose_key_to_private(&ck, &priv), VOUCH_ERR_KEY);
}

struct key_case {
	const char *hex;
	int err;
	const char *why;
};

static void test_key_refusals(void **state)
{
	static const struct key_case cases[] = {
	    {"80", VOUCH_ERR_KEY, "not a map"},
	    {"41 00", VOUCH_ERR_KEY, "a bstr"},
	    {"a0", VOUCH_ERR_KEY, "no kty"},
	    {"a1 2001", VOUCH_ERR_KEY, "no kty, crv only"},
	    {"a1 0103", VOUCH_ERR_UNSUPPORTED, "kty RSA"},
	    {"a1 0100", VOUCH_ERR_UNSUPPORTED, "kty 0"},
	    {"a1 01 63 454332", VOUCH_ERR_UNSUPPORTED, "kty as text"},
	    {"a1 01 41 02", VOUCH_ERR_KEY, "kty as bstr"},
	    {"a2 0102 0102", VOUCH_ERR_CBOR_DUPLICATE, "kty twice"},
	    {"a2 0102 1801 02", VOUCH_ERR_CBOR_DUPLICATE, "kty twice, long form"},
	    {"a4 0102 2002 215820" K11_X " 225820" K11_Y, VOUCH_ERR_UNSUPPORTED, "P-384"},
	    {"a4 0102 2006 215820" K11_X " 225820" K11_Y, VOUCH_ERR_UNSUPPORTED, "EC2 Ed25519"},
	    {"a4 0102 20 655032353620 215820" K11_X " 225820" K11_Y, VOUCH_ERR_UNSUPPORTED,
	     "crv as text"},
	    {"a4 0102 20 41 01 215820" K11_X " 225820" K11_Y, VOUCH_ERR_KEY, "crv as bstr"},
	    {"a3 0102 215820" K11_X " 225820" K11_Y, VOUCH_ERR_KEY, "no crv"},
	    {"a3 0102 2001 215820" K11_X, VOUCH_ERR_KEY, "x without y"},
	    {"a3 0102 2001 225820" K11_Y, VOUCH_ERR_KEY, "y without x"},
	    {"a2 0102 2001", VOUCH_ERR_KEY, "neither x nor d"},
	    {"a4 0102 2001 215820" K11_X " 22f5", VOUCH_ERR_UNSUPPORTED, "compressed y"},
	    {"a4 0102 2001 21581f" K11_X " 225820" K11_Y, VOUCH_ERR_CBOR_MALFORMED,
	     "x declared 31 bytes: item boundaries shift"},
	    {"a4 0102 2001 2141 00 225820" K11_Y, VOUCH_ERR_KEY, "x one byte"},
	    {"a4 0102 2001 215820" K11_X " 22 01", VOUCH_ERR_KEY, "y as int"},
	    {"a3 0102 2001 2341 00", VOUCH_ERR_KEY, "d one byte"},
	    {"a3 0101 2007 215839"
	     "00",
	     VOUCH_ERR_CBOR_MALFORMED, "Ed448 truncated"},
	    {"a3 0101 2007 2141 00", VOUCH_ERR_UNSUPPORTED, "Ed448"},
	    {"a3 0101 2004 2141 00", VOUCH_ERR_UNSUPPORTED, "X25519"},
	    {"a2 0101 2006", VOUCH_ERR_KEY, "OKP without x or d"},
	    {"a3 0101 2006 2141 00", VOUCH_ERR_KEY, "OKP x one byte"},
	    {"a1 0104", VOUCH_ERR_KEY, "symmetric without k"},
	    {"a2 0104 2040", VOUCH_ERR_KEY, "symmetric with empty k"},
	    {"a2 0104 2001", VOUCH_ERR_KEY, "k as int"},
	    {"a3 0104 2041 00 0201", VOUCH_ERR_KEY, "kid as int"},
	    {"a3 0104 2041 00 03 f6", VOUCH_ERR_KEY, "alg nil"},
	    {"a3 0104 2041 00 04 01", VOUCH_ERR_KEY, "key_ops not an array"},
	    {"a3 0104 2041 00 05 01", VOUCH_ERR_KEY, "base iv as int"},
	    {"a3 0104 2041 00 41 00 01", VOUCH_ERR_KEY, "bstr label"},
	    {"a2 0104 2041 00 00", VOUCH_ERR_CBOR_TRAILING, "trailing bytes"},
	    {"a3 0104 2041 00", VOUCH_ERR_CBOR_MALFORMED, "truncated map"},
	    /* accepted: unknown parameters, text labels, text alg */
	    {"a4 0104 2041 00 6178 01 1863 80", VOUCH_OK, "unknown labels"},
	    {"a3 0104 2041 00 03 6141", VOUCH_OK, "text alg"},
	    {"a4 0104 2041 00 0482 0102 0541 00", VOUCH_OK, "key_ops and base iv"},
	};

	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(cases); i++) {
		struct vouch_cose_key ck;
		int rc = key_decode_hex(cases[i].hex, &ck);

		if (rc != cases[i].err)
			fail_msg("%s: got %d (%s), want %d", cases[i].why, rc, vouch_strerror(rc),
			         cases[i].err);
		if (rc != VOUCH_OK)
			assert_int_equal(ck.kty, 0);
	}
}

static void test_key_read_embedded(void **state)
{
	struct vouch_cbor_reader r;
	struct vouch_cose_key ck;
	size_t len, n;
	uint64_t v;
	/* [{1: 4, -1: h'0102'}, 7, 8] */
	uint8_t *buf = tu_hex("83a2010420420102"
	                      "0708",
	                      &len);

	(void)state;
	assert_int_equal(vouch_cbor_validate(buf, len, NULL), VOUCH_OK);
	vouch_cbor_reader_init(&r, buf, len);
	assert_int_equal(vouch_cbor_read_array(&r, &n), VOUCH_OK);
	assert_int_equal(vouch_cose_key_read(&r, &ck), VOUCH_OK);
	assert_int_equal(ck.kty, VOUCH_COSE_KTY_SYMMETRIC);
	assert_int_equal(ck.k_len, 2);
	/* A non-map leaves the reader where it was. */
	assert_int_equal(vouch_cose_key_read(&r, &ck), VOUCH_ERR_KEY);
	assert_int_equal(vouch_cbor_read_uint(&r, &v), VOUCH_OK);
	assert_int_equal(v, 7);
	free(buf);

	/* A bad key inside leaves the reader at the key. */
	buf = tu_hex("82a101030708", &len);
	assert_int_equal(vouch_cbor_validate(buf, len, NULL), VOUCH_ERR_CBOR_TRAILING);
	assert_int_equal(vouch_cbor_validate(buf, len - 1, NULL), VOUCH_OK);
	vouch_cbor_reader_init(&r, buf, len - 1);
	assert_int_equal(vouch_cbor_read_array(&r, &n), VOUCH_OK);
	assert_int_equal(vouch_cose_key_read(&r, &ck), VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(r.pos, 1);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign1_round_trip),
	    cmocka_unit_test(test_sign1_exact_bytes),
	    cmocka_unit_test(test_sign1_detached),
	    cmocka_unit_test(test_sign1_alg_key_mismatch),
	    cmocka_unit_test(test_sign1_tamper),
	    cmocka_unit_test(test_sign1_truncation_trailing),
	    cmocka_unit_test(test_sign1_buffer),
	    cmocka_unit_test(test_structure_refusals),
	    cmocka_unit_test(test_header_refusals),
	    cmocka_unit_test(test_headers_decoded),
	    cmocka_unit_test(test_headers_written),
	    cmocka_unit_test(test_mac0_round_trip),
	    cmocka_unit_test(test_mac0_refusals),
	    cmocka_unit_test(test_key_round_trip),
	    cmocka_unit_test(test_key_private),
	    cmocka_unit_test(test_key_refusals),
	    cmocka_unit_test(test_key_read_embedded),
	};

	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
