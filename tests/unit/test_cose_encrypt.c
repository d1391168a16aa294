/*
 * COSE_Encrypt0 and COSE_Encrypt: create -> decode -> decrypt for every content algorithm and
 * recipient kind, several recipients at once, Partial IV with a base IV, and every refusal:
 * tampering, wrong keys and algorithms, malformed headers and structures, truncation, bit flips
 * and small buffers.
 *
 * Built for both back-ends. PSA has no AES key wrap (Mbed TLS 2.28 without MBEDTLS_NIST_KW_C):
 * there every key-wrap recipient (AxxxKW, ECDH-ES + AxxxKW) must be refused with
 * VOUCH_ERR_UNSUPPORTED, and the tests that need one wrapped key are skipped after asserting it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vouch/cose.h"
#include "../../lib/cose_internal.h"

#define BUF 2048

static const int64_t content_algs[] = {
    VOUCH_COSE_ALG_A128GCM,
    VOUCH_COSE_ALG_A192GCM,
    VOUCH_COSE_ALG_A256GCM,
    VOUCH_COSE_ALG_AES_CCM_16_64_128,
    VOUCH_COSE_ALG_AES_CCM_16_64_256,
    VOUCH_COSE_ALG_AES_CCM_64_64_128,
    VOUCH_COSE_ALG_AES_CCM_64_64_256,
    VOUCH_COSE_ALG_AES_CCM_16_128_128,
    VOUCH_COSE_ALG_AES_CCM_16_128_256,
    VOUCH_COSE_ALG_AES_CCM_64_128_128,
    VOUCH_COSE_ALG_AES_CCM_64_128_256,
};

static const uint8_t PT[] = "The valve on line 3 may open between 06:00 and 14:00.";
#define PT_LEN (sizeof(PT) - 1)

static const uint8_t AAD[] = {0x01, 0x02, 0x03, 0x04, 0x05};

static const uint8_t KEY32[32] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const uint8_t KEK32[32] = {
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
};

static size_t key_len_of(int64_t alg)
{
	struct vouch_cose_aead_info info;

	assert_int_equal(vouch_cose_aead_info(alg, &info), VOUCH_OK);
	return info.key_len;
}

static size_t nonce_len_of(int64_t alg)
{
	struct vouch_cose_aead_info info;

	assert_int_equal(vouch_cose_aead_info(alg, &info), VOUCH_OK);
	return info.nonce_len;
}

static void assert_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p[i], 0);
}

/* A public-only handle for the public half of priv. */
static void public_of(const struct vouch_key *priv, struct vouch_key *pub)
{
	uint8_t point[VOUCH_P256_POINT_LEN];
	size_t len;

	assert_int_equal(vouch_key_export_public(priv, point, sizeof(point), &len), VOUCH_OK);
	vouch_key_init(pub);
	assert_int_equal(vouch_key_import_public(pub, VOUCH_KEY_P256, point, len), VOUCH_OK);
}

/* Find needle in hay; fail when absent. */
static size_t find(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t n)
{
	for (size_t i = 0; i + n <= hay_len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return i;
	fail_msg("pattern not found");
	return 0;
}

/* ---- building messages by hand ---- */

/* [protected-bstr-contents, unprotected-raw, ciphertext, recipients-raw?] with an optional tag;
 * fields == 0 writes everything given (3 or 4 fields). */
struct parts {
	const uint8_t *prot;
	size_t prot_len;
	const uint8_t *unprot; /* raw map */
	size_t unprot_len;
	const uint8_t *ct;
	size_t ct_len;
	const uint8_t *rcpts; /* raw array, NULL for Encrypt0 */
	size_t rcpts_len;
};

static size_t build(const struct parts *p, uint64_t tag, uint8_t *out, size_t cap)
{
	struct vouch_cbor_writer w;
	size_t len;

	vouch_cbor_writer_init(&w, out, cap);
	if (tag != 0)
		vouch_cbor_write_tag(&w, tag);
	vouch_cbor_write_array(&w, p->rcpts != NULL ? 4 : 3);
	vouch_cbor_write_bstr(&w, p->prot, p->prot_len);
	vouch_cbor_write_raw(&w, p->unprot, p->unprot_len);
	vouch_cbor_write_bstr(&w, p->ct, p->ct_len);
	if (p->rcpts != NULL)
		vouch_cbor_write_raw(&w, p->rcpts, p->rcpts_len);
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_OK);
	return len;
}

/* The unprotected map {5: iv} or {6: piv} or {5: iv, 6: piv} or {}. */
static size_t unprot_map(const uint8_t *iv, size_t iv_len, const uint8_t *piv, size_t piv_len,
                         uint8_t *out, size_t cap)
{
	struct vouch_cbor_writer w;
	size_t len;

	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_map(&w, (iv != NULL) + (piv != NULL));
	if (iv != NULL) {
		vouch_cbor_write_int(&w, VOUCH_COSE_HDR_IV);
		vouch_cbor_write_bstr(&w, iv, iv_len);
	}
	if (piv != NULL) {
		vouch_cbor_write_int(&w, VOUCH_COSE_HDR_PARTIAL_IV);
		vouch_cbor_write_bstr(&w, piv, piv_len);
	}
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_OK);
	return len;
}

/* ---- the shared pieces ---- */

static void test_aead_info(void **state)
{
	static const struct {
		int64_t alg;
		bool ccm;
		size_t key, nonce, tag;
	} want[] = {
	    {1, false, 16, 12, 16}, {2, false, 24, 12, 16}, {3, false, 32, 12, 16},
	    {10, true, 16, 13, 8},  {11, true, 32, 13, 8},  {12, true, 16, 7, 8},
	    {13, true, 32, 7, 8},   {30, true, 16, 13, 16}, {31, true, 32, 13, 16},
	    {32, true, 16, 7, 16},  {33, true, 32, 7, 16},
	};
	static const int64_t unknown[] = {0, 4, 5, 9, 14, 24, 29, 34, -3, -6, -7, -25, -999};
	struct vouch_cose_aead_info info;

	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(want); i++) {
		assert_int_equal(vouch_cose_aead_info(want[i].alg, &info), VOUCH_OK);
		assert_int_equal(info.ccm, want[i].ccm);
		assert_int_equal(info.key_len, want[i].key);
		assert_int_equal(info.nonce_len, want[i].nonce);
		assert_int_equal(info.tag_len, want[i].tag);
	}
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(unknown); i++) {
		memset(&info, 0xff, sizeof(info));
		assert_int_equal(vouch_cose_aead_info(unknown[i], &info), VOUCH_ERR_UNSUPPORTED);
		assert_int_equal(info.key_len, 0);
	}
	assert_int_equal(vouch_cose_aead_info(1, NULL), VOUCH_ERR_INVALID);
}

static void test_enc_structure_and_nonce(void **state)
{
	/* ["Encrypt0", h'A10101', h'0102030405'] */
	static const uint8_t want[] = {0x83, 0x68, 'E',  'n',  'c',  'r',  'y',  'p',  't',  '0',
	                               0x43, 0xa1, 0x01, 0x01, 0x45, 0x01, 0x02, 0x03, 0x04, 0x05};
	/* ["Encrypt", h'', h''] */
	static const uint8_t want_empty[] = {0x83, 0x67, 'E', 'n',  'c', 'r',
	                                     'y',  'p',  't', 0x40, 0x40};
	static const uint8_t prot[] = {0xa1, 0x01, 0x01};
	static const uint8_t a0[] = {0xa0};
	struct vouch_cose_headers hdr;
	uint8_t out[64], nonce[13], base[13], iv[13], piv[14];
	size_t len;

	(void)state;
	assert_int_equal(vouch_cose_enc_structure("Encrypt0", prot, sizeof(prot), AAD, sizeof(AAD),
	                                          out, sizeof(out), &len),
	                 VOUCH_OK);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, len);
	/* An empty map sent as h'a0' counts as no protected header (RFC 9052 §3). */
	assert_int_equal(
	    vouch_cose_enc_structure("Encrypt", a0, 1, NULL, 0, out, sizeof(out), &len), VOUCH_OK);
	assert_int_equal(len, sizeof(want_empty));
	assert_memory_equal(out, want_empty, len);
	assert_int_equal(
	    vouch_cose_enc_structure("Encrypt", NULL, 0, NULL, 0, out, sizeof(out), &len),
	    VOUCH_OK);
	assert_memory_equal(out, want_empty, len);
	assert_int_equal(vouch_cose_enc_structure("Encrypt", prot, sizeof(prot), AAD, sizeof(AAD),
	                                          out, 10, &len),
	                 VOUCH_ERR_BUFFER);
	assert_int_equal(len, 0);

	for (size_t i = 0; i < sizeof(base); i++) {
		base[i] = (uint8_t)(0x10 + i);
		iv[i] = (uint8_t)(0x80 + i);
	}
	piv[0] = 0x61;
	piv[1] = 0xa7;
	memset(&hdr, 0, sizeof(hdr));
	hdr.partial_iv = piv;
	hdr.partial_iv_len = 2;
	assert_int_equal(vouch_cose_nonce(&hdr, base, 13, nonce, 13), VOUCH_OK);
	assert_memory_equal(nonce, base, 11);
	assert_int_equal(nonce[11], base[11] ^ 0x61);
	assert_int_equal(nonce[12], base[12] ^ 0xa7);
	assert_int_equal(vouch_cose_nonce(&hdr, NULL, 0, nonce, 13), VOUCH_ERR_COSE_HEADER);
	assert_int_equal(vouch_cose_nonce(&hdr, base, 12, nonce, 13), VOUCH_ERR_INVALID);
	hdr.partial_iv_len = 14;
	assert_int_equal(vouch_cose_nonce(&hdr, base, 13, nonce, 13), VOUCH_ERR_COSE_HEADER);
	hdr.partial_iv_len = 0;
	assert_int_equal(vouch_cose_nonce(&hdr, base, 13, nonce, 13), VOUCH_ERR_COSE_HEADER);
	hdr.partial_iv_len = 13; /* as long as the nonce: the whole base IV is XORed */
	memset(piv, 0xff, 13);
	assert_int_equal(vouch_cose_nonce(&hdr, base, 13, nonce, 13), VOUCH_OK);
	for (size_t i = 0; i < 13; i++)
		assert_int_equal(nonce[i], (uint8_t)~base[i]);

	memset(&hdr, 0, sizeof(hdr));
	assert_int_equal(vouch_cose_nonce(&hdr, base, 13, nonce, 13), VOUCH_ERR_COSE_HEADER);
	hdr.iv = iv;
	hdr.iv_len = 13;
	assert_int_equal(vouch_cose_nonce(&hdr, NULL, 0, nonce, 13), VOUCH_OK);
	assert_memory_equal(nonce, iv, 13);
	assert_int_equal(vouch_cose_nonce(&hdr, NULL, 0, nonce, 12), VOUCH_ERR_COSE_HEADER);
	hdr.partial_iv = piv;
	hdr.partial_iv_len = 2;
	assert_int_equal(vouch_cose_nonce(&hdr, base, 13, nonce, 13), VOUCH_ERR_COSE_HEADER);
}

static void test_kdf_context(void **state)
{
	/* hkdf-hmac-sha-examples/hmac-sha-256-05: [10, ["Sender", nil, nil], ["Recipient", nil,
	 * nil], [128, h'A10129']] */
	static const char *const want_hex =
	    "840A834653656E646572F6F68349526563697069656E74F6F682188043A10129";
	static const uint8_t prot[] = {0xa1, 0x01, 0x29};
	struct vouch_cose_headers rh;
	uint8_t out[128], *want;
	size_t len, want_len;

	(void)state;
	want = tu_hex(want_hex, &want_len);
	memset(&rh, 0, sizeof(rh));
	rh.protected_bstr = prot;
	rh.protected_len = sizeof(prot);
	rh.party_u_identity = (const uint8_t *)"Sender";
	rh.party_u_identity_len = 6;
	rh.party_v_identity = (const uint8_t *)"Recipient";
	rh.party_v_identity_len = 9;
	assert_int_equal(vouch_cose_kdf_context(10, 128, &rh, out, sizeof(out), &len), VOUCH_OK);
	assert_int_equal(len, want_len);
	assert_memory_equal(out, want, len);
	assert_int_equal(vouch_cose_kdf_context(10, 128, &rh, out, 8, &len), VOUCH_ERR_BUFFER);
	assert_int_equal(len, 0);
	free(want);
}

/* ---- COSE_Encrypt0 ---- */

static void test_encrypt0_roundtrip(void **state)
{
	struct vouch_cose_hdr_params hp;
	struct vouch_cose_encrypt0 msg;
	uint8_t out[BUF], pt[BUF], iv[13];
	size_t out_len, pt_len;

	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(content_algs); i++) {
		int64_t alg = content_algs[i];
		size_t klen = key_len_of(alg);

		for (int variant = 0; variant < 4; variant++) {
			bool tagged = variant & 1;
			bool fixed_iv = variant & 2;
			size_t plen = variant == 3 ? 0 : PT_LEN;

			memset(&hp, 0, sizeof(hp));
			hp.alg = alg;
			hp.kid = (const uint8_t *)"k1";
			hp.kid_len = 2;
			if (fixed_iv) {
				memset(iv, 0x5a, sizeof(iv));
				hp.iv = iv;
				hp.iv_len = nonce_len_of(alg);
			}
			assert_int_equal(vouch_cose_encrypt0_create(KEY32, klen, &hp, NULL, 0, PT,
			                                            plen, AAD, sizeof(AAD), tagged,
			                                            out, sizeof(out), &out_len),
			                 VOUCH_OK);
			assert_int_equal(out[0] == 0xd0, tagged);
			assert_int_equal(vouch_cose_encrypt0_decode(out, out_len, &msg), VOUCH_OK);
			assert_true(msg.hdr.has_alg);
			assert_int_equal(msg.hdr.alg, alg);
			assert_int_equal(msg.hdr.kid_len, 2);
			assert_int_equal(msg.hdr.iv_len, nonce_len_of(alg));
			if (fixed_iv)
				assert_memory_equal(msg.hdr.iv, iv, msg.hdr.iv_len);
			assert_int_equal(vouch_cose_encrypt0_decrypt(&msg, KEY32, klen, NULL, 0,
			                                             AAD, sizeof(AAD), pt,
			                                             sizeof(pt), &pt_len),
			                 VOUCH_OK);
			assert_int_equal(pt_len, plen);
			assert_memory_equal(pt, PT, plen);
		}
	}
}

static void test_encrypt0_random_iv_differs(void **state)
{
	struct vouch_cose_hdr_params hp;
	uint8_t a[BUF], b[BUF];
	size_t a_len, b_len;

	(void)state;
	memset(&hp, 0, sizeof(hp));
	hp.alg = VOUCH_COSE_ALG_A128GCM;
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 16, &hp, NULL, 0, PT, PT_LEN, NULL, 0,
	                                            true, a, sizeof(a), &a_len),
	                 VOUCH_OK);
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 16, &hp, NULL, 0, PT, PT_LEN, NULL, 0,
	                                            true, b, sizeof(b), &b_len),
	                 VOUCH_OK);
	assert_int_equal(a_len, b_len);
	assert_memory_not_equal(a, b, a_len);
}

static void test_encrypt0_partial_iv(void **state)
{
	struct vouch_cose_hdr_params hp;
	struct vouch_cose_encrypt0 msg;
	uint8_t out[BUF], pt[BUF], base[13], bad_base[13];
	static const uint8_t piv[] = {0x01, 0x7f};
	size_t out_len, pt_len;

	(void)state;
	for (size_t i = 0; i < sizeof(base); i++)
		base[i] = (uint8_t)(0x30 + 7 * i);
	memcpy(bad_base, base, sizeof(base));
	bad_base[0] ^= 1;
	memset(&hp, 0, sizeof(hp));
	hp.alg = VOUCH_COSE_ALG_AES_CCM_16_64_128;
	hp.partial_iv = piv;
	hp.partial_iv_len = sizeof(piv);
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 16, &hp, base, 13, PT, PT_LEN, NULL, 0,
	                                            true, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_int_equal(vouch_cose_encrypt0_decode(out, out_len, &msg), VOUCH_OK);
	assert_null(msg.hdr.iv);
	assert_int_equal(msg.hdr.partial_iv_len, sizeof(piv));
	assert_memory_equal(msg.hdr.partial_iv, piv, sizeof(piv));
	assert_int_equal(vouch_cose_encrypt0_decrypt(&msg, KEY32, 16, base, 13, NULL, 0, pt,
	                                             sizeof(pt), &pt_len),
	                 VOUCH_OK);
	assert_int_equal(pt_len, PT_LEN);
	assert_memory_equal(pt, PT, PT_LEN);

	/* The base IV is part of the key: the wrong one does not authenticate. */
	assert_int_equal(vouch_cose_encrypt0_decrypt(&msg, KEY32, 16, bad_base, 13, NULL, 0, pt,
	                                             sizeof(pt), &pt_len),
	                 VOUCH_ERR_VERIFY);
	assert_zero(pt, PT_LEN);
	assert_int_equal(
	    vouch_cose_encrypt0_decrypt(&msg, KEY32, 16, NULL, 0, NULL, 0, pt, sizeof(pt), &pt_len),
	    VOUCH_ERR_COSE_HEADER);
	assert_int_equal(vouch_cose_encrypt0_decrypt(&msg, KEY32, 16, base, 12, NULL, 0, pt,
	                                             sizeof(pt), &pt_len),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(pt_len, 0);

	/* Creation refuses what decryption could not undo. */
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 16, &hp, NULL, 0, PT, PT_LEN, NULL, 0,
	                                            true, out, sizeof(out), &out_len),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 16, &hp, base, 12, PT, PT_LEN, NULL, 0,
	                                            true, out, sizeof(out), &out_len),
	                 VOUCH_ERR_INVALID);
	hp.iv = base;
	hp.iv_len = 13;
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 16, &hp, base, 13, PT, PT_LEN, NULL, 0,
	                                            true, out, sizeof(out), &out_len),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(out_len, 0);
}

/* A good A128GCM COSE_Encrypt0 in out, decoded into msg. */
static size_t make_encrypt0(uint8_t *out, size_t cap, struct vouch_cose_encrypt0 *msg)
{
	struct vouch_cose_hdr_params hp;
	size_t out_len;
	/* content type 0 in the protected header too, so the protected bstr can be tampered with
	 * without touching alg. */
	static const uint8_t extra[] = {0x03, 0x00};

	memset(&hp, 0, sizeof(hp));
	hp.alg = VOUCH_COSE_ALG_A128GCM;
	hp.extra_protected = extra;
	hp.extra_protected_len = sizeof(extra);
	hp.extra_protected_count = 1;
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 16, &hp, NULL, 0, PT, PT_LEN, AAD,
	                                            sizeof(AAD), true, out, cap, &out_len),
	                 VOUCH_OK);
	assert_int_equal(vouch_cose_encrypt0_decode(out, out_len, msg), VOUCH_OK);
	return out_len;
}

static void expect_encrypt0_verify_fail(const uint8_t *buf, size_t len, const uint8_t *aad,
                                        size_t aad_len)
{
	struct vouch_cose_encrypt0 msg;
	uint8_t pt[BUF];
	size_t pt_len = 1;

	assert_int_equal(vouch_cose_encrypt0_decode(buf, len, &msg), VOUCH_OK);
	memset(pt, 0xaa, sizeof(pt));
	assert_int_equal(vouch_cose_encrypt0_decrypt(&msg, KEY32, 16, NULL, 0, aad, aad_len, pt,
	                                             sizeof(pt), &pt_len),
	                 VOUCH_ERR_VERIFY);
	assert_int_equal(pt_len, 0);
	assert_zero(pt, PT_LEN);
}

static void test_encrypt0_tampering(void **state)
{
	struct vouch_cose_encrypt0 msg;
	uint8_t out[BUF], bad[BUF];
	size_t len, ct_off, prot_off;
	static const uint8_t other_aad[] = {0x01, 0x02, 0x03, 0x04, 0x06};

	(void)state;
	len = make_encrypt0(out, sizeof(out), &msg);
	ct_off = (size_t)(msg.ciphertext - out);
	prot_off = (size_t)(msg.hdr.protected_bstr - out);

	/* Every byte of the ciphertext and tag. */
	for (size_t i = 0; i < msg.ciphertext_len; i++) {
		memcpy(bad, out, len);
		bad[ct_off + i] ^= 0x01;
		expect_encrypt0_verify_fail(bad, len, AAD, sizeof(AAD));
	}
	/* The protected header: content type 0 -> 1. */
	memcpy(bad, out, len);
	assert_int_equal(bad[prot_off + msg.hdr.protected_len - 1], 0x00);
	bad[prot_off + msg.hdr.protected_len - 1] = 0x01;
	expect_encrypt0_verify_fail(bad, len, AAD, sizeof(AAD));
	/* The external AAD. */
	expect_encrypt0_verify_fail(out, len, other_aad, sizeof(other_aad));
	expect_encrypt0_verify_fail(out, len, NULL, 0);
	/* The nonce. */
	memcpy(bad, out, len);
	bad[(size_t)(msg.hdr.iv - out)] ^= 0x80;
	expect_encrypt0_verify_fail(bad, len, AAD, sizeof(AAD));
}

static void test_encrypt0_refusals(void **state)
{
	struct vouch_cose_hdr_params hp;
	struct vouch_cose_encrypt0 msg, good;
	struct parts p;
	uint8_t out[BUF], buf[BUF], pt[BUF], unprot[64], iv[12] = {0}, piv[2] = {0, 1};
	uint8_t big_aad[VOUCH_COSE_MAX_ENC_STRUCTURE];
	static const uint8_t prot_a128gcm[] = {0xa1, 0x01, 0x01};
	static const uint8_t prot_unknown[] = {0xa1, 0x01, 0x39, 0x03, 0xe6}; /* alg -999 */
	size_t len, good_len, out_len, pt_len;

	(void)state;
	out_len = make_encrypt0(out, sizeof(out), &good);
	memset(big_aad, 0x11, sizeof(big_aad));

	/* Key and algorithm. */
	assert_int_equal(vouch_cose_encrypt0_decrypt(&good, KEY32, 32, NULL, 0, AAD, sizeof(AAD),
	                                             pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_KEY);
	assert_int_equal(vouch_cose_encrypt0_decrypt(&good, KEY32, 15, NULL, 0, AAD, sizeof(AAD),
	                                             pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_KEY);
	assert_int_equal(vouch_cose_encrypt0_decrypt(&good, KEY32, 16, NULL, 0, AAD, sizeof(AAD),
	                                             pt, PT_LEN - 1, &pt_len),
	                 VOUCH_ERR_BUFFER);
	assert_int_equal(vouch_cose_encrypt0_decrypt(&good, KEY32, 16, NULL, 0, big_aad,
	                                             sizeof(big_aad), pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_CBOR_LIMIT);
	assert_int_equal(pt_len, 0);
	memset(&hp, 0, sizeof(hp));
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 16, &hp, NULL, 0, PT, PT_LEN, NULL, 0,
	                                            true, buf, sizeof(buf), &len),
	                 VOUCH_ERR_COSE_ALG);
	hp.alg = VOUCH_COSE_ALG_ES256;
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 16, &hp, NULL, 0, PT, PT_LEN, NULL, 0,
	                                            true, buf, sizeof(buf), &len),
	                 VOUCH_ERR_COSE_ALG);
	hp.alg = VOUCH_COSE_ALG_A256GCM;
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 16, &hp, NULL, 0, PT, PT_LEN, NULL, 0,
	                                            true, buf, sizeof(buf), &len),
	                 VOUCH_ERR_KEY);
	hp.iv = iv;
	hp.iv_len = 11;
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 32, &hp, NULL, 0, PT, PT_LEN, NULL, 0,
	                                            true, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	hp.iv = NULL;
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 32, &hp, NULL, 0, PT, PT_LEN, big_aad,
	                                            sizeof(big_aad), true, buf, sizeof(buf), &len),
	                 VOUCH_ERR_CBOR_LIMIT);
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 32, NULL, NULL, 0, PT, PT_LEN, NULL, 0,
	                                            true, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	/* Every output buffer too small is refused, never overrun. */
	hp.alg = VOUCH_COSE_ALG_A128GCM;
	assert_int_equal(vouch_cose_encrypt0_create(KEY32, 16, &hp, NULL, 0, PT, PT_LEN, NULL, 0,
	                                            true, buf, sizeof(buf), &good_len),
	                 VOUCH_OK);
	for (size_t cap = 0; cap < good_len; cap++) {
		uint8_t *small = malloc(cap > 0 ? cap : 1);

		assert_non_null(small);
		assert_int_equal(vouch_cose_encrypt0_create(KEY32, 16, &hp, NULL, 0, PT, PT_LEN,
		                                            NULL, 0, true, small, cap, &len),
		                 VOUCH_ERR_BUFFER);
		assert_int_equal(len, 0);
		free(small);
	}

	/* Headers: alg unknown, IV missing, IV with Partial IV, IV of the wrong length. */
	memset(&p, 0, sizeof(p));
	p.ct = good.ciphertext;
	p.ct_len = good.ciphertext_len;
	p.prot = prot_unknown;
	p.prot_len = sizeof(prot_unknown);
	p.unprot = unprot;
	p.unprot_len = unprot_map(iv, 12, NULL, 0, unprot, sizeof(unprot));
	len = build(&p, 16, buf, sizeof(buf));
	assert_int_equal(vouch_cose_encrypt0_decode(buf, len, &msg), VOUCH_OK);
	assert_int_equal(
	    vouch_cose_encrypt0_decrypt(&msg, KEY32, 16, NULL, 0, NULL, 0, pt, sizeof(pt), &pt_len),
	    VOUCH_ERR_COSE_ALG);
	p.prot = NULL;
	p.prot_len = 0;
	len = build(&p, 16, buf, sizeof(buf));
	assert_int_equal(vouch_cose_encrypt0_decode(buf, len, &msg), VOUCH_OK);
	assert_int_equal(
	    vouch_cose_encrypt0_decrypt(&msg, KEY32, 16, NULL, 0, NULL, 0, pt, sizeof(pt), &pt_len),
	    VOUCH_ERR_COSE_ALG);
	p.prot = prot_a128gcm;
	p.prot_len = sizeof(prot_a128gcm);
	p.unprot_len = unprot_map(NULL, 0, NULL, 0, unprot, sizeof(unprot));
	len = build(&p, 16, buf, sizeof(buf));
	assert_int_equal(vouch_cose_encrypt0_decode(buf, len, &msg), VOUCH_OK);
	assert_int_equal(
	    vouch_cose_encrypt0_decrypt(&msg, KEY32, 16, NULL, 0, NULL, 0, pt, sizeof(pt), &pt_len),
	    VOUCH_ERR_COSE_HEADER);
	p.unprot_len = unprot_map(iv, 11, NULL, 0, unprot, sizeof(unprot));
	len = build(&p, 16, buf, sizeof(buf));
	assert_int_equal(vouch_cose_encrypt0_decode(buf, len, &msg), VOUCH_OK);
	assert_int_equal(
	    vouch_cose_encrypt0_decrypt(&msg, KEY32, 16, NULL, 0, NULL, 0, pt, sizeof(pt), &pt_len),
	    VOUCH_ERR_COSE_HEADER);
	p.unprot_len = unprot_map(iv, 12, piv, 2, unprot, sizeof(unprot));
	len = build(&p, 16, buf, sizeof(buf));
	if (vouch_cose_encrypt0_decode(buf, len, &msg) == VOUCH_OK)
		assert_int_equal(vouch_cose_encrypt0_decrypt(&msg, KEY32, 16, iv, 12, NULL, 0, pt,
		                                             sizeof(pt), &pt_len),
		                 VOUCH_ERR_COSE_HEADER);
	else
		assert_int_equal(vouch_cose_encrypt0_decode(buf, len, &msg), VOUCH_ERR_COSE_HEADER);
	/* Ciphertext shorter than the tag. */
	p.unprot_len = unprot_map(iv, 12, NULL, 0, unprot, sizeof(unprot));
	p.ct_len = 15;
	len = build(&p, 16, buf, sizeof(buf));
	assert_int_equal(vouch_cose_encrypt0_decode(buf, len, &msg), VOUCH_OK);
	assert_int_equal(
	    vouch_cose_encrypt0_decrypt(&msg, KEY32, 16, NULL, 0, NULL, 0, pt, sizeof(pt), &pt_len),
	    VOUCH_ERR_VERIFY);
	p.ct_len = good.ciphertext_len;

	/* Structure: wrong tag, wrong array sizes, nil and non-bstr ciphertext. */
	len = build(&p, VOUCH_COSE_TAG_ENCRYPT, buf, sizeof(buf));
	assert_int_equal(vouch_cose_encrypt0_decode(buf, len, &msg), VOUCH_ERR_COSE_STRUCTURE);
	{
		static const uint8_t two[] = {0xd0, 0x82, 0x43, 0xa1, 0x01, 0x01, 0xa0};
		static const uint8_t four[] = {0xd0, 0x84, 0x43, 0xa1, 0x01,
		                               0x01, 0xa0, 0x40, 0x80};
		static const uint8_t nil_ct[] = {0xd0, 0x83, 0x43, 0xa1, 0x01, 0x01, 0xa0, 0xf6};
		static const uint8_t int_ct[] = {0xd0, 0x83, 0x43, 0xa1, 0x01, 0x01, 0xa0, 0x01};
		static const uint8_t map_top[] = {0xd0, 0xa0};
		static const uint8_t unprot_bstr[] = {0xd0, 0x83, 0x43, 0xa1,
		                                      0x01, 0x01, 0x40, 0x40};

		assert_int_equal(vouch_cose_encrypt0_decode(two, sizeof(two), &msg),
		                 VOUCH_ERR_COSE_STRUCTURE);
		assert_int_equal(vouch_cose_encrypt0_decode(four, sizeof(four), &msg),
		                 VOUCH_ERR_COSE_STRUCTURE);
		assert_int_equal(vouch_cose_encrypt0_decode(nil_ct, sizeof(nil_ct), &msg),
		                 VOUCH_ERR_UNSUPPORTED);
		assert_int_equal(vouch_cose_encrypt0_decode(int_ct, sizeof(int_ct), &msg),
		                 VOUCH_ERR_COSE_STRUCTURE);
		assert_int_equal(vouch_cose_encrypt0_decode(map_top, sizeof(map_top), &msg),
		                 VOUCH_ERR_COSE_STRUCTURE);
		assert_int_not_equal(
		    vouch_cose_encrypt0_decode(unprot_bstr, sizeof(unprot_bstr), &msg), VOUCH_OK);
		assert_null(msg.ciphertext);
	}

	/* Truncated at every length: refused, never read past the end. */
	for (size_t n = 0; n < out_len; n++) {
		uint8_t *t = malloc(n > 0 ? n : 1);

		assert_non_null(t);
		memcpy(t, out, n);
		assert_int_not_equal(vouch_cose_encrypt0_decode(t, n, &msg), VOUCH_OK);
		assert_null(msg.ciphertext);
		free(t);
	}
	/* Trailing bytes. */
	memcpy(buf, out, out_len);
	buf[out_len] = 0x00;
	assert_int_not_equal(vouch_cose_encrypt0_decode(buf, out_len + 1, &msg), VOUCH_OK);
}

/* ---- COSE_Encrypt ---- */

struct keys {
	struct vouch_key alice, bob, carol; /* P-256 private */
	struct vouch_key alice_pub, bob_pub, carol_pub;
	struct vouch_key ed; /* Ed25519 private (PSA: X25519): no P-256 ECDH key */
};

static void keys_init(struct keys *k)
{
	vouch_key_init(&k->alice);
	vouch_key_init(&k->bob);
	vouch_key_init(&k->carol);
	vouch_key_init(&k->ed);
	assert_int_equal(vouch_key_generate(&k->alice, VOUCH_KEY_P256), VOUCH_OK);
	assert_int_equal(vouch_key_generate(&k->bob, VOUCH_KEY_P256), VOUCH_OK);
	assert_int_equal(vouch_key_generate(&k->carol, VOUCH_KEY_P256), VOUCH_OK);
	if (tu_psa()) {
		assert_int_equal(vouch_key_generate(&k->ed, VOUCH_KEY_ED25519),
		                 VOUCH_ERR_UNSUPPORTED);
		assert_int_equal(vouch_key_generate(&k->ed, VOUCH_KEY_X25519), VOUCH_OK);
	} else {
		assert_int_equal(vouch_key_generate(&k->ed, VOUCH_KEY_ED25519), VOUCH_OK);
	}
	public_of(&k->alice, &k->alice_pub);
	public_of(&k->bob, &k->bob_pub);
	public_of(&k->carol, &k->carol_pub);
}

static void keys_clear(struct keys *k)
{
	vouch_key_clear(&k->alice);
	vouch_key_clear(&k->bob);
	vouch_key_clear(&k->carol);
	vouch_key_clear(&k->alice_pub);
	vouch_key_clear(&k->bob_pub);
	vouch_key_clear(&k->carol_pub);
	vouch_key_clear(&k->ed);
}

static int decrypt_with(const uint8_t *buf, size_t len, const struct vouch_cose_recipient_key *rk,
                        const uint8_t *aad, size_t aad_len, uint8_t *pt, size_t *pt_len)
{
	struct vouch_cose_encrypt msg;

	assert_int_equal(vouch_cose_encrypt_decode(buf, len, &msg), VOUCH_OK);
	return vouch_cose_encrypt_decrypt(&msg, rk, aad, aad_len, pt, BUF, pt_len);
}

static void expect_plaintext(const uint8_t *buf, size_t len,
                             const struct vouch_cose_recipient_key *rk)
{
	uint8_t pt[BUF];
	size_t pt_len;

	assert_int_equal(decrypt_with(buf, len, rk, AAD, sizeof(AAD), pt, &pt_len), VOUCH_OK);
	assert_int_equal(pt_len, PT_LEN);
	assert_memory_equal(pt, PT, PT_LEN);
}

static void expect_refused(const uint8_t *buf, size_t len,
                           const struct vouch_cose_recipient_key *rk, int want)
{
	uint8_t pt[BUF];
	size_t pt_len = 1;

	memset(pt, 0xaa, sizeof(pt));
	assert_int_equal(decrypt_with(buf, len, rk, AAD, sizeof(AAD), pt, &pt_len), want);
	assert_int_equal(pt_len, 0);
	if (want == VOUCH_ERR_VERIFY)
		assert_zero(pt, PT_LEN);
	else
		assert_memory_not_equal(pt, PT, PT_LEN);
}

/* PSA: a message with a key-wrap recipient cannot be made, and says why. */
static void expect_kw_unsupported(int64_t alg, const struct vouch_cose_recipient *rc, size_t n)
{
	struct vouch_cose_hdr_params hp;
	uint8_t out[BUF];
	size_t len = 1;

	memset(&hp, 0, sizeof(hp));
	hp.alg = alg;
	assert_int_equal(vouch_cose_encrypt_create(&hp, rc, n, PT, PT_LEN, AAD, sizeof(AAD), true,
	                                           out, sizeof(out), &len),
	                 VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(len, 0);
}

static size_t make_encrypt(int64_t alg, const struct vouch_cose_recipient *rc, size_t n,
                           uint8_t *out, size_t cap)
{
	struct vouch_cose_hdr_params hp;
	size_t len;

	memset(&hp, 0, sizeof(hp));
	hp.alg = alg;
	assert_int_equal(vouch_cose_encrypt_create(&hp, rc, n, PT, PT_LEN, AAD, sizeof(AAD), true,
	                                           out, cap, &len),
	                 VOUCH_OK);
	return len;
}

static void test_encrypt_each_kind(void **state)
{
	static const int64_t kw[] = {VOUCH_COSE_ALG_A128KW, VOUCH_COSE_ALG_A192KW,
	                             VOUCH_COSE_ALG_A256KW};
	static const int64_t ecdh_kw[] = {VOUCH_COSE_ALG_ECDH_ES_A128KW,
	                                  VOUCH_COSE_ALG_ECDH_ES_A192KW,
	                                  VOUCH_COSE_ALG_ECDH_ES_A256KW};
	struct keys k;
	struct vouch_cose_recipient rc;
	struct vouch_cose_recipient_key rk;
	struct vouch_cose_encrypt msg;
	uint8_t out[BUF];
	size_t len;

	(void)state;
	keys_init(&k);
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(content_algs); i++) {
		int64_t alg = content_algs[i];
		size_t klen = key_len_of(alg);

		/* direct */
		memset(&rc, 0, sizeof(rc));
		rc.alg = VOUCH_COSE_ALG_DIRECT;
		rc.kek = KEY32;
		rc.kek_len = klen;
		rc.kid = (const uint8_t *)"shared";
		rc.kid_len = 6;
		len = make_encrypt(alg, &rc, 1, out, sizeof(out));
		assert_int_equal(vouch_cose_encrypt_decode(out, len, &msg), VOUCH_OK);
		assert_int_equal(msg.n_recipients, 1);
		assert_int_equal(msg.hdr.alg, alg);
		memset(&rk, 0, sizeof(rk));
		rk.secret = KEY32;
		rk.secret_len = klen;
		expect_plaintext(out, len, &rk);
		rk.kid = (const uint8_t *)"shared";
		rk.kid_len = 6;
		expect_plaintext(out, len, &rk);

		/* AES key wrap */
		for (size_t j = 0; j < VOUCH_ARRAY_LEN(kw); j++) {
			memset(&rc, 0, sizeof(rc));
			rc.alg = kw[j];
			rc.kek = KEK32;
			rc.kek_len = 16 + 8 * j;
			if (tu_psa()) {
				expect_kw_unsupported(alg, &rc, 1);
				continue;
			}
			len = make_encrypt(alg, &rc, 1, out, sizeof(out));
			memset(&rk, 0, sizeof(rk));
			rk.secret = KEK32;
			rk.secret_len = 16 + 8 * j;
			expect_plaintext(out, len, &rk);
		}

		/* ECDH-ES + HKDF-256 */
		memset(&rc, 0, sizeof(rc));
		rc.alg = VOUCH_COSE_ALG_ECDH_ES_HKDF_256;
		rc.peer = &k.alice_pub;
		rc.kid = (const uint8_t *)"alice";
		rc.kid_len = 5;
		len = make_encrypt(alg, &rc, 1, out, sizeof(out));
		memset(&rk, 0, sizeof(rk));
		rk.priv = &k.alice;
		expect_plaintext(out, len, &rk);
		rk.priv = &k.bob;
		expect_refused(out, len, &rk, VOUCH_ERR_VERIFY);

		/* ECDH-ES + AES key wrap */
		for (size_t j = 0; j < VOUCH_ARRAY_LEN(ecdh_kw); j++) {
			memset(&rc, 0, sizeof(rc));
			rc.alg = ecdh_kw[j];
			rc.peer = &k.bob_pub;
			if (tu_psa()) {
				expect_kw_unsupported(alg, &rc, 1);
				continue;
			}
			len = make_encrypt(alg, &rc, 1, out, sizeof(out));
			memset(&rk, 0, sizeof(rk));
			rk.priv = &k.bob;
			expect_plaintext(out, len, &rk);
			rk.priv = &k.alice;
			expect_refused(out, len, &rk, VOUCH_ERR_VERIFY);
		}
	}
	keys_clear(&k);
}

static void test_encrypt_fresh_ephemeral(void **state)
{
	struct keys k;
	struct vouch_cose_recipient rc;
	uint8_t a[BUF], b[BUF];
	size_t a_len, b_len;
	struct vouch_cose_hdr_params hp;
	uint8_t iv[12] = {0};

	(void)state;
	keys_init(&k);
	memset(&hp, 0, sizeof(hp));
	hp.alg = VOUCH_COSE_ALG_A128GCM;
	hp.iv = iv;
	hp.iv_len = sizeof(iv);
	memset(&rc, 0, sizeof(rc));
	rc.alg = VOUCH_COSE_ALG_ECDH_ES_HKDF_256;
	rc.peer = &k.alice_pub;
	/* Same IV, same everything: only a fresh ephemeral key keeps the messages apart. */
	assert_int_equal(
	    vouch_cose_encrypt_create(&hp, &rc, 1, PT, PT_LEN, NULL, 0, true, a, sizeof(a), &a_len),
	    VOUCH_OK);
	assert_int_equal(
	    vouch_cose_encrypt_create(&hp, &rc, 1, PT, PT_LEN, NULL, 0, true, b, sizeof(b), &b_len),
	    VOUCH_OK);
	assert_int_equal(a_len, b_len);
	assert_memory_not_equal(a, b, a_len);
	/* With a fixed ephemeral key (tests only) the message is deterministic. */
	rc.ephemeral = &k.carol;
	assert_int_equal(
	    vouch_cose_encrypt_create(&hp, &rc, 1, PT, PT_LEN, NULL, 0, true, a, sizeof(a), &a_len),
	    VOUCH_OK);
	assert_int_equal(
	    vouch_cose_encrypt_create(&hp, &rc, 1, PT, PT_LEN, NULL, 0, true, b, sizeof(b), &b_len),
	    VOUCH_OK);
	assert_int_equal(a_len, b_len);
	assert_memory_equal(a, b, a_len);
	keys_clear(&k);
}

/* Every recipient of the three-recipient message opens it; wrong keys and kids do not. */
static void multiple_recipients_open(const uint8_t *out, size_t len, struct keys *k)
{
	struct vouch_cose_recipient_key rk;
	struct vouch_cose_encrypt msg;
	uint8_t other_kek[16];

	assert_int_equal(vouch_cose_encrypt_decode(out, len, &msg), VOUCH_OK);
	assert_int_equal(msg.n_recipients, 3);

	memset(&rk, 0, sizeof(rk));
	rk.priv = &k->alice;
	expect_plaintext(out, len, &rk);
	rk.priv = &k->bob;
	expect_plaintext(out, len, &rk);
	rk.kid = (const uint8_t *)"bob";
	rk.kid_len = 3;
	expect_plaintext(out, len, &rk);
	/* Bob's key under Alice's kid: only Alice's recipient is tried, and fails. */
	rk.kid = (const uint8_t *)"alice";
	rk.kid_len = 5;
	expect_refused(out, len, &rk, VOUCH_ERR_VERIFY);
	rk.kid = (const uint8_t *)"mallory";
	rk.kid_len = 7;
	expect_refused(out, len, &rk, VOUCH_ERR_COSE_RECIPIENT);
	rk.kid = NULL;
	rk.kid_len = 0;
	rk.priv = &k->carol;
	expect_refused(out, len, &rk, VOUCH_ERR_VERIFY);
	rk.priv = &k->ed; /* fits none of the recipients */
	expect_refused(out, len, &rk, VOUCH_ERR_COSE_ALG);

	memset(&rk, 0, sizeof(rk));
	rk.secret = KEK32;
	rk.secret_len = 16;
	expect_plaintext(out, len, &rk);
	rk.kid = (const uint8_t *)"gateway";
	rk.kid_len = 7;
	expect_plaintext(out, len, &rk);
	memset(other_kek, 0x42, sizeof(other_kek));
	rk.secret = other_kek;
	expect_refused(out, len, &rk, VOUCH_ERR_VERIFY);
	rk.secret = KEK32;
	rk.secret_len = 24;
	expect_refused(out, len, &rk, VOUCH_ERR_KEY);
}

static void test_encrypt_multiple_recipients(void **state)
{
	struct keys k;
	struct vouch_cose_recipient rc[3];
	uint8_t out[BUF];
	size_t len;

	(void)state;
	keys_init(&k);
	memset(rc, 0, sizeof(rc));
	rc[0].alg = VOUCH_COSE_ALG_ECDH_ES_A128KW;
	rc[0].peer = &k.alice_pub;
	rc[0].kid = (const uint8_t *)"alice";
	rc[0].kid_len = 5;
	rc[1].alg = VOUCH_COSE_ALG_ECDH_ES_A128KW;
	rc[1].peer = &k.bob_pub;
	rc[1].kid = (const uint8_t *)"bob";
	rc[1].kid_len = 3;
	rc[2].alg = VOUCH_COSE_ALG_A128KW;
	rc[2].kek = KEK32;
	rc[2].kek_len = 16;
	rc[2].kid = (const uint8_t *)"gateway";
	rc[2].kid_len = 7;
	if (tu_psa()) {
		expect_kw_unsupported(VOUCH_COSE_ALG_AES_CCM_16_64_128, rc, 3);
	} else {
		len = make_encrypt(VOUCH_COSE_ALG_AES_CCM_16_64_128, rc, 3, out, sizeof(out));
		multiple_recipients_open(out, len, &k);
	}

	/* A direct recipient shares its key with nobody. */
	rc[2].alg = VOUCH_COSE_ALG_DIRECT;
	assert_int_equal(vouch_cose_encrypt_create(NULL, rc, 3, PT, PT_LEN, NULL, 0, true, out,
	                                           sizeof(out), &len),
	                 VOUCH_ERR_INVALID);
	{
		struct vouch_cose_hdr_params hp;

		memset(&hp, 0, sizeof(hp));
		hp.alg = VOUCH_COSE_ALG_AES_CCM_16_64_128;
		assert_int_equal(vouch_cose_encrypt_create(&hp, rc, 3, PT, PT_LEN, NULL, 0, true,
		                                           out, sizeof(out), &len),
		                 VOUCH_ERR_INVALID);
		rc[2].alg = VOUCH_COSE_ALG_ECDH_ES_HKDF_256;
		rc[2].peer = &k.carol_pub;
		assert_int_equal(vouch_cose_encrypt_create(&hp, rc, 3, PT, PT_LEN, NULL, 0, true,
		                                           out, sizeof(out), &len),
		                 VOUCH_ERR_INVALID);
		assert_int_equal(vouch_cose_encrypt_create(&hp, rc, 0, PT, PT_LEN, NULL, 0, true,
		                                           out, sizeof(out), &len),
		                 VOUCH_ERR_INVALID);
		assert_int_equal(len, 0);
	}
	keys_clear(&k);
}

static void test_encrypt_create_refusals(void **state)
{
	struct keys k;
	struct vouch_cose_hdr_params hp;
	struct vouch_cose_recipient rc;
	uint8_t out[BUF], piv[1] = {1};
	size_t len, good_len;

	(void)state;
	keys_init(&k);
	memset(&hp, 0, sizeof(hp));
	hp.alg = VOUCH_COSE_ALG_A128GCM;
	memset(&rc, 0, sizeof(rc));

#define EXPECT_CREATE(want)                                                                        \
	do {                                                                                       \
		len = 1;                                                                           \
		assert_int_equal(vouch_cose_encrypt_create(&hp, &rc, 1, PT, PT_LEN, NULL, 0, true, \
		                                           out, sizeof(out), &len),                \
		                 (want));                                                          \
		assert_int_equal(len, 0);                                                          \
	} while (0)

	rc.alg = VOUCH_COSE_ALG_DIRECT;
	rc.kek = KEY32;
	rc.kek_len = 32; /* A128GCM wants 16 */
	EXPECT_CREATE(VOUCH_ERR_KEY);
	rc.alg = VOUCH_COSE_ALG_A128KW;
	rc.kek_len = 24;
	EXPECT_CREATE(VOUCH_ERR_KEY);
	rc.alg = VOUCH_COSE_ALG_A256KW;
	rc.kek_len = 16;
	EXPECT_CREATE(VOUCH_ERR_KEY);
	rc.alg = VOUCH_COSE_ALG_ECDH_ES_A128KW; /* a symmetric key for key agreement */
	EXPECT_CREATE(VOUCH_ERR_COSE_ALG);
	rc.alg = -27; /* ECDH-SS + HKDF-256 */
	EXPECT_CREATE(VOUCH_ERR_COSE_ALG);
	rc.alg = VOUCH_COSE_ALG_ES256;
	EXPECT_CREATE(VOUCH_ERR_COSE_ALG);
	rc.kek = NULL;
	rc.kek_len = 0;
	rc.peer = &k.alice_pub;
	rc.alg = VOUCH_COSE_ALG_A128KW; /* a public key for key wrap */
	EXPECT_CREATE(VOUCH_ERR_COSE_ALG);
	rc.alg = VOUCH_COSE_ALG_DIRECT;
	EXPECT_CREATE(VOUCH_ERR_COSE_ALG);
	rc.alg = VOUCH_COSE_ALG_ECDH_ES_HKDF_256;
	rc.peer = &k.ed; /* Ed25519 is no ECDH key */
	EXPECT_CREATE(VOUCH_ERR_COSE_ALG);
	rc.peer = NULL;
	EXPECT_CREATE(VOUCH_ERR_INVALID);

	rc.peer = &k.alice_pub;
	hp.alg = VOUCH_COSE_ALG_ECDH_ES_HKDF_256; /* not a content algorithm */
	EXPECT_CREATE(VOUCH_ERR_COSE_ALG);
	hp.alg = VOUCH_COSE_ALG_A128GCM;
	hp.partial_iv = piv;
	hp.partial_iv_len = 1;
	EXPECT_CREATE(VOUCH_ERR_INVALID);
	hp.partial_iv = NULL;
	hp.partial_iv_len = 0;
	{
		uint8_t long_kid[VOUCH_COSE_MAX_ENC_STRUCTURE];

		memset(long_kid, 'k', sizeof(long_kid));
		rc.kid = long_kid;
		rc.kid_len = sizeof(long_kid);
		EXPECT_CREATE(VOUCH_ERR_CBOR_LIMIT);
		rc.kid = NULL;
		rc.kid_len = 0;
	}
#undef EXPECT_CREATE

	/* Every output buffer too small is refused, never overrun. */
	assert_int_equal(vouch_cose_encrypt_create(&hp, &rc, 1, PT, PT_LEN, NULL, 0, true, out,
	                                           sizeof(out), &good_len),
	                 VOUCH_OK);
	for (size_t cap = 0; cap < good_len; cap++) {
		uint8_t *small = malloc(cap > 0 ? cap : 1);

		assert_non_null(small);
		assert_int_equal(vouch_cose_encrypt_create(&hp, &rc, 1, PT, PT_LEN, NULL, 0, true,
		                                           small, cap, &len),
		                 VOUCH_ERR_BUFFER);
		assert_int_equal(len, 0);
		free(small);
	}
	keys_clear(&k);
}

/* Reassemble a decoded COSE_Encrypt with one piece replaced. */
static size_t rebuild(const struct vouch_cose_encrypt *msg, const uint8_t *prot, size_t prot_len,
                      const uint8_t *unprot, size_t unprot_len, const uint8_t *rcpts,
                      size_t rcpts_len, uint8_t *out, size_t cap)
{
	struct parts p;

	p.prot = prot != NULL ? prot : msg->hdr.protected_bstr;
	p.prot_len = prot != NULL ? prot_len : msg->hdr.protected_len;
	p.unprot = unprot != NULL ? unprot : msg->hdr.unprotected_map;
	p.unprot_len = unprot != NULL ? unprot_len : msg->hdr.unprotected_len;
	p.ct = msg->ciphertext;
	p.ct_len = msg->ciphertext_len;
	p.rcpts = rcpts != NULL ? rcpts : msg->recipients;
	p.rcpts_len = rcpts != NULL ? rcpts_len : msg->recipients_len;
	return build(&p, VOUCH_COSE_TAG_ENCRYPT, out, cap);
}

/* A recipients array [[prot, unprot, ct(, nested)]] from raw pieces. */
static size_t one_recipient(const uint8_t *prot, size_t prot_len, const uint8_t *unprot,
                            size_t unprot_len, const uint8_t *ct, size_t ct_len, bool nil_ct,
                            bool nested, uint8_t *out, size_t cap)
{
	struct vouch_cbor_writer w;
	size_t len;

	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_array(&w, 1);
	vouch_cbor_write_array(&w, nested ? 4 : 3);
	vouch_cbor_write_bstr(&w, prot, prot_len);
	vouch_cbor_write_raw(&w, unprot, unprot_len);
	if (nil_ct)
		vouch_cbor_write_null(&w);
	else
		vouch_cbor_write_bstr(&w, ct, ct_len);
	if (nested) {
		/* [[h'', {1: -6}, h'']] */
		static const uint8_t inner[] = {0x81, 0x83, 0x40, 0xa1, 0x01, 0x25, 0x40};

		vouch_cbor_write_raw(&w, inner, sizeof(inner));
	}
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_OK);
	return len;
}

/* An ECDH-ES recipient made by someone else: with HKDF salt and party info, which the receiver
 * must feed into the KDF (RFC 9053 §5.1, §5.2). The context is built here by hand. */
static void test_encrypt_ecdh_salt_and_party_info(void **state)
{
	static const uint8_t prot[] = {0xa1, 0x01, 0x38, 0x18}; /* {1: -25} */
	static const uint8_t salt[] = {'s', 'a', 'l', 't', '-', '0', '0', '1'};
	static const uint8_t u_id[] = {'s', 'e', 'n', 's', 'o', 'r', '-', '7'};
	static const uint8_t v_nonce[] = {0x01, 0x02};
	struct keys k;
	struct vouch_cose_recipient rc;
	struct vouch_cose_recipient_key rk;
	struct vouch_cose_encrypt msg;
	struct vouch_cbor_writer w;
	uint8_t out[BUF], bad[BUF], rcpts[BUF], unprot[BUF], ctx[128];
	uint8_t secret[VOUCH_P256_SCALAR_LEN], cek[16];
	size_t len, blen, rlen, ulen, ctx_len;

	(void)state;
	keys_init(&k);
	/* [1, ["sensor-7", nil, nil], [nil, h'0102', nil], [128, h'A1013818']] */
	vouch_cbor_writer_init(&w, ctx, sizeof(ctx));
	vouch_cbor_write_array(&w, 4);
	vouch_cbor_write_int(&w, VOUCH_COSE_ALG_A128GCM);
	vouch_cbor_write_array(&w, 3);
	vouch_cbor_write_bstr(&w, u_id, sizeof(u_id));
	vouch_cbor_write_null(&w);
	vouch_cbor_write_null(&w);
	vouch_cbor_write_array(&w, 3);
	vouch_cbor_write_null(&w);
	vouch_cbor_write_bstr(&w, v_nonce, sizeof(v_nonce));
	vouch_cbor_write_null(&w);
	vouch_cbor_write_array(&w, 2);
	vouch_cbor_write_uint(&w, 128);
	vouch_cbor_write_bstr(&w, prot, sizeof(prot));
	assert_int_equal(vouch_cbor_writer_finish(&w, &ctx_len), VOUCH_OK);
	/* The sender: Carol's key as the ephemeral one, Alice as the recipient. */
	assert_int_equal(vouch_ecdh_p256(&k.carol, &k.alice_pub, secret), VOUCH_OK);
	assert_int_equal(vouch_hkdf_sha256(salt, sizeof(salt), secret, sizeof(secret), ctx, ctx_len,
	                                   cek, sizeof(cek)),
	                 VOUCH_OK);

	/* The content layer, then the recipient swapped for the hand-made one. */
	memset(&rc, 0, sizeof(rc));
	rc.alg = VOUCH_COSE_ALG_DIRECT;
	rc.kek = cek;
	rc.kek_len = sizeof(cek);
	len = make_encrypt(VOUCH_COSE_ALG_A128GCM, &rc, 1, out, sizeof(out));
	assert_int_equal(vouch_cose_encrypt_decode(out, len, &msg), VOUCH_OK);

	memset(&rk, 0, sizeof(rk));
	rk.priv = &k.alice;
	for (int variant = 0; variant < 4; variant++) {
		vouch_cbor_writer_init(&w, unprot, sizeof(unprot));
		vouch_cbor_write_map(&w, variant == 2 ? 3 : 4);
		vouch_cbor_write_int(&w, VOUCH_COSE_HDR_EPHEMERAL_KEY);
		vouch_cose_key_write_public(&w, &k.carol, NULL, 0, 0);
		if (variant != 2) {
			vouch_cbor_write_int(&w, VOUCH_COSE_HDR_SALT);
			vouch_cbor_write_bstr(&w, salt, sizeof(salt) - (variant == 1));
		}
		vouch_cbor_write_int(&w, VOUCH_COSE_HDR_PARTY_U_IDENTITY);
		vouch_cbor_write_bstr(&w, u_id, sizeof(u_id));
		vouch_cbor_write_int(&w, VOUCH_COSE_HDR_PARTY_V_NONCE);
		vouch_cbor_write_bstr(&w, v_nonce, sizeof(v_nonce) - (variant == 3));
		assert_int_equal(vouch_cbor_writer_finish(&w, &ulen), VOUCH_OK);
		rlen = one_recipient(prot, sizeof(prot), unprot, ulen, NULL, 0, false, false, rcpts,
		                     sizeof(rcpts));
		blen = rebuild(&msg, NULL, 0, NULL, 0, rcpts, rlen, bad, sizeof(bad));
		/* 0: as made; 1: shorter salt; 2: no salt; 3: another PartyV nonce. */
		if (variant == 0)
			expect_plaintext(bad, blen, &rk);
		else
			expect_refused(bad, blen, &rk, VOUCH_ERR_VERIFY);
	}
	vouch_wipe(cek, sizeof(cek));
	vouch_wipe(secret, sizeof(secret));
	keys_clear(&k);
}

static void test_encrypt_tampering(void **state)
{
	struct keys k;
	struct vouch_cose_recipient rc;
	struct vouch_cose_recipient_key rk;
	struct vouch_cose_encrypt msg;
	uint8_t out[BUF], bad[BUF], point[VOUCH_P256_POINT_LEN];
	size_t len, off, point_len;
	static const uint8_t other_aad[] = {0x09};

	(void)state;
	keys_init(&k);
	memset(&rc, 0, sizeof(rc));
	rc.alg = VOUCH_COSE_ALG_ECDH_ES_A128KW;
	rc.peer = &k.alice_pub;
	rc.ephemeral = &k.carol;
	if (tu_psa()) {
		expect_kw_unsupported(VOUCH_COSE_ALG_A256GCM, &rc, 1);
		keys_clear(&k);
		skip();
	}
	len = make_encrypt(VOUCH_COSE_ALG_A256GCM, &rc, 1, out, sizeof(out));
	assert_int_equal(vouch_cose_encrypt_decode(out, len, &msg), VOUCH_OK);
	memset(&rk, 0, sizeof(rk));
	rk.priv = &k.alice;
	expect_plaintext(out, len, &rk);

	/* Every byte of the content ciphertext. */
	off = (size_t)(msg.ciphertext - out);
	for (size_t i = 0; i < msg.ciphertext_len; i++) {
		memcpy(bad, out, len);
		bad[off + i] ^= 0x20;
		expect_refused(bad, len, &rk, VOUCH_ERR_VERIFY);
	}
	/* The content's protected header: A256GCM -> A128GCM changes the key size the CEK must
	 * have; the wrapped CEK no longer fits. */
	memcpy(bad, out, len);
	off = (size_t)(msg.hdr.protected_bstr - out);
	assert_int_equal(bad[off + 2], VOUCH_COSE_ALG_A256GCM);
	bad[off + 2] = VOUCH_COSE_ALG_A128GCM;
	expect_refused(bad, len, &rk, VOUCH_ERR_KEY);
	/* The external AAD. */
	{
		uint8_t pt[BUF];
		size_t pt_len = 1;

		memset(pt, 0xaa, sizeof(pt));
		assert_int_equal(
		    decrypt_with(out, len, &rk, other_aad, sizeof(other_aad), pt, &pt_len),
		    VOUCH_ERR_VERIFY);
		assert_int_equal(pt_len, 0);
		assert_zero(pt, PT_LEN);
	}
	/* The recipient: its protected alg (-29 -> -30: another KEK), its wrapped key, its
	 * ephemeral key (off the curve). */
	{
		static const uint8_t a128[] = {0xa1, 0x01, 0x38, 0x1c};

		memcpy(bad, out, len);
		off = find(bad, len, a128, sizeof(a128));
		bad[off + 3] = 0x1d;
		expect_refused(bad, len, &rk, VOUCH_ERR_VERIFY);
	}
	/* The wrapped CEK (32 bytes + 8) ends the message. */
	for (size_t i = len - 40; i < len; i++) {
		memcpy(bad, out, len);
		bad[i] ^= 0x01;
		expect_refused(bad, len, &rk, VOUCH_ERR_VERIFY);
	}
	assert_int_equal(vouch_key_export_public(&k.carol, point, sizeof(point), &point_len),
	                 VOUCH_OK);
	memcpy(bad, out, len);
	off = find(bad, len, point + 33, 32); /* y of the ephemeral key */
	bad[off + 31] ^= 0x01;
	expect_refused(bad, len, &rk, VOUCH_ERR_KEY);
	memcpy(bad, out, len);
	off = find(bad, len, point + 1, 32); /* x */
	bad[off] ^= 0x80;
	expect_refused(bad, len, &rk, VOUCH_ERR_KEY);

	/* Bit flips anywhere: refused, or (in an unauthenticated spot that does not matter)
	 * the same plaintext, never anything else and never a crash. */
	for (size_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			struct vouch_cose_encrypt m;
			uint8_t pt[BUF];
			size_t pt_len;

			memcpy(bad, out, len);
			bad[i] ^= (uint8_t)(1u << bit);
			if (vouch_cose_encrypt_decode(bad, len, &m) != VOUCH_OK)
				continue;
			if (vouch_cose_encrypt_decrypt(&m, &rk, AAD, sizeof(AAD), pt, sizeof(pt),
			                               &pt_len) != VOUCH_OK)
				continue;
			assert_int_equal(pt_len, PT_LEN);
			assert_memory_equal(pt, PT, PT_LEN);
		}
	}
	keys_clear(&k);
}

static void test_encrypt_decrypt_refusals(void **state)
{
	struct keys k;
	struct vouch_cose_recipient rc;
	struct vouch_cose_recipient_key rk;
	struct vouch_cose_encrypt msg, direct;
	uint8_t out[BUF], dout[BUF], bad[BUF], rcpts[BUF], unprot[64], iv[12] = {0},
	                                                               piv[2] = {0, 1};
	uint8_t pt[BUF];
	size_t len, dlen, blen, rlen, pt_len;
	/* {1: -6} and {1: -3} and {1: -25} */
	static const uint8_t u_direct[] = {0xa1, 0x01, 0x25};
	static const uint8_t u_a128kw[] = {0xa1, 0x01, 0x22};
	static const uint8_t p_ecdh[] = {0xa1, 0x01, 0x38, 0x18};
	static const uint8_t p_direct[] = {0xa1, 0x01, 0x25};
	static const uint8_t u_empty[] = {0xa0};
	static const uint8_t wrapped[24] = {0};

	(void)state;
	keys_init(&k);
	memset(&rc, 0, sizeof(rc));
	rc.alg = VOUCH_COSE_ALG_ECDH_ES_HKDF_256;
	rc.peer = &k.alice_pub;
	len = make_encrypt(VOUCH_COSE_ALG_A128GCM, &rc, 1, out, sizeof(out));
	assert_int_equal(vouch_cose_encrypt_decode(out, len, &msg), VOUCH_OK);
	memset(&rc, 0, sizeof(rc));
	rc.alg = VOUCH_COSE_ALG_DIRECT;
	rc.kek = KEY32;
	rc.kek_len = 16;
	dlen = make_encrypt(VOUCH_COSE_ALG_A128GCM, &rc, 1, dout, sizeof(dout));
	assert_int_equal(vouch_cose_encrypt_decode(dout, dlen, &direct), VOUCH_OK);

	/* Key of the wrong kind or size. */
	memset(&rk, 0, sizeof(rk));
	rk.secret = KEY32;
	rk.secret_len = 16;
	expect_refused(out, len, &rk, VOUCH_ERR_COSE_ALG); /* a secret for ECDH-ES */
	rk.secret_len = 32;
	expect_refused(dout, dlen, &rk, VOUCH_ERR_KEY); /* 32 bytes for A128GCM */
	memset(&rk, 0, sizeof(rk));
	rk.priv = &k.alice;
	expect_refused(dout, dlen, &rk, VOUCH_ERR_COSE_ALG); /* a private key for direct */
	rk.priv = &k.alice_pub;
	expect_refused(out, len, &rk, VOUCH_ERR_KEY); /* no private half */
	rk.secret = KEY32;                            /* both kinds at once */
	rk.secret_len = 16;
	assert_int_equal(vouch_cose_encrypt_decrypt(&msg, &rk, NULL, 0, pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_INVALID);
	memset(&rk, 0, sizeof(rk));
	assert_int_equal(vouch_cose_encrypt_decrypt(&msg, &rk, NULL, 0, pt, sizeof(pt), &pt_len),
	                 VOUCH_ERR_INVALID);
	rk.priv = &k.alice;
	assert_int_equal(
	    vouch_cose_encrypt_decrypt(&msg, &rk, AAD, sizeof(AAD), pt, PT_LEN - 1, &pt_len),
	    VOUCH_ERR_BUFFER);

	/* Recipient headers. ECDH-ES without its ephemeral key: */
	rlen = one_recipient(p_ecdh, sizeof(p_ecdh), u_empty, sizeof(u_empty), NULL, 0, false,
	                     false, rcpts, sizeof(rcpts));
	blen = rebuild(&msg, NULL, 0, NULL, 0, rcpts, rlen, bad, sizeof(bad));
	expect_refused(bad, blen, &rk, VOUCH_ERR_COSE_HEADER);
	/* A recipient layer nested inside (three layers): */
	rlen = one_recipient(NULL, 0, u_a128kw, sizeof(u_a128kw), wrapped, sizeof(wrapped), false,
	                     true, rcpts, sizeof(rcpts));
	blen = rebuild(&msg, NULL, 0, NULL, 0, rcpts, rlen, bad, sizeof(bad));
	memset(&rk, 0, sizeof(rk));
	rk.secret = KEK32;
	rk.secret_len = 16;
	expect_refused(bad, blen, &rk, VOUCH_ERR_UNSUPPORTED);
	/* Direct and key wrap with something in the protected bucket (RFC 9053 §6.1.1, §6.2.1): */
	rlen = one_recipient(p_direct, sizeof(p_direct), u_empty, sizeof(u_empty), NULL, 0, false,
	                     false, rcpts, sizeof(rcpts));
	blen = rebuild(&direct, NULL, 0, NULL, 0, rcpts, rlen, bad, sizeof(bad));
	rk.secret = KEY32;
	rk.secret_len = 16;
	expect_refused(bad, blen, &rk, VOUCH_ERR_COSE_HEADER);
	/* Direct with a key in it, direct with nil (allowed: no key is carried): */
	rlen = one_recipient(NULL, 0, u_direct, sizeof(u_direct), wrapped, sizeof(wrapped), false,
	                     false, rcpts, sizeof(rcpts));
	blen = rebuild(&direct, NULL, 0, NULL, 0, rcpts, rlen, bad, sizeof(bad));
	expect_refused(bad, blen, &rk, VOUCH_ERR_COSE_STRUCTURE);
	rlen = one_recipient(NULL, 0, u_direct, sizeof(u_direct), NULL, 0, true, false, rcpts,
	                     sizeof(rcpts));
	blen = rebuild(&direct, NULL, 0, NULL, 0, rcpts, rlen, bad, sizeof(bad));
	assert_int_equal(decrypt_with(bad, blen, &rk, AAD, sizeof(AAD), pt, &pt_len), VOUCH_OK);
	/* A key wrap recipient with nil or a short key: */
	rk.secret = KEK32;
	rlen = one_recipient(NULL, 0, u_a128kw, sizeof(u_a128kw), NULL, 0, true, false, rcpts,
	                     sizeof(rcpts));
	blen = rebuild(&direct, NULL, 0, NULL, 0, rcpts, rlen, bad, sizeof(bad));
	expect_refused(bad, blen, &rk, VOUCH_ERR_KEY);
	rlen = one_recipient(NULL, 0, u_a128kw, sizeof(u_a128kw), wrapped, 16, false, false, rcpts,
	                     sizeof(rcpts));
	blen = rebuild(&direct, NULL, 0, NULL, 0, rcpts, rlen, bad, sizeof(bad));
	expect_refused(bad, blen, &rk, VOUCH_ERR_KEY);
	rlen = one_recipient(NULL, 0, u_a128kw, sizeof(u_a128kw), wrapped, sizeof(wrapped), false,
	                     false, rcpts, sizeof(rcpts));
	blen = rebuild(&direct, NULL, 0, NULL, 0, rcpts, rlen, bad, sizeof(bad));
	/* a wrapped key that fails its integrity check (PSA: no key wrap to check it with) */
	expect_refused(bad, blen, &rk, tu_psa() ? VOUCH_ERR_UNSUPPORTED : VOUCH_ERR_VERIFY);
	/* A recipient without alg: */
	rlen = one_recipient(NULL, 0, u_empty, sizeof(u_empty), NULL, 0, false, false, rcpts,
	                     sizeof(rcpts));
	blen = rebuild(&direct, NULL, 0, NULL, 0, rcpts, rlen, bad, sizeof(bad));
	expect_refused(bad, blen, &rk, VOUCH_ERR_COSE_ALG);

	/* Content headers: missing IV, IV with Partial IV, Partial IV alone. */
	rk.secret = KEY32;
	blen = rebuild(&direct, NULL, 0, u_empty, sizeof(u_empty), NULL, 0, bad, sizeof(bad));
	expect_refused(bad, blen, &rk, VOUCH_ERR_COSE_HEADER);
	blen = rebuild(&direct, NULL, 0, unprot, unprot_map(iv, 12, piv, 2, unprot, sizeof(unprot)),
	               NULL, 0, bad, sizeof(bad));
	{
		struct vouch_cose_encrypt m;
		int rc2 = vouch_cose_encrypt_decode(bad, blen, &m);

		if (rc2 == VOUCH_OK)
			rc2 = vouch_cose_encrypt_decrypt(&m, &rk, AAD, sizeof(AAD), pt, sizeof(pt),
			                                 &pt_len);
		assert_int_equal(rc2, VOUCH_ERR_COSE_HEADER);
	}
	blen =
	    rebuild(&direct, NULL, 0, unprot, unprot_map(NULL, 0, piv, 2, unprot, sizeof(unprot)),
	            NULL, 0, bad, sizeof(bad));
	expect_refused(bad, blen, &rk, VOUCH_ERR_UNSUPPORTED);

	/* Structure. */
	{
		static const uint8_t empty_rcpts[] = {0x80};
		static const uint8_t rcpt_too_short[] = {0x81, 0x82, 0x40, 0xa0};
		static const uint8_t rcpt_too_long[] = {0x81, 0x85, 0x40, 0xa0, 0x40, 0x80, 0x80};
		static const uint8_t rcpt_not_array[] = {0x81, 0xa0};
		static const uint8_t rcpts_not_array[] = {0xa0};
		static const uint8_t nested_not_array[] = {0x81, 0x84, 0x40, 0xa0, 0x40, 0x40};
		static const uint8_t rcpt_ct_int[] = {0x81, 0x83, 0x40, 0xa1, 0x01, 0x25, 0x00};
		static const struct {
			const uint8_t *p;
			size_t n;
		} bad_rcpts[] = {
		    {empty_rcpts, sizeof(empty_rcpts)},
		    {rcpt_too_short, sizeof(rcpt_too_short)},
		    {rcpt_too_long, sizeof(rcpt_too_long)},
		    {rcpt_not_array, sizeof(rcpt_not_array)},
		    {rcpts_not_array, sizeof(rcpts_not_array)},
		    {nested_not_array, sizeof(nested_not_array)},
		    {rcpt_ct_int, sizeof(rcpt_ct_int)},
		};
		struct vouch_cose_encrypt m;
		struct parts p;

		for (size_t i = 0; i < VOUCH_ARRAY_LEN(bad_rcpts); i++) {
			blen = rebuild(&direct, NULL, 0, NULL, 0, bad_rcpts[i].p, bad_rcpts[i].n,
			               bad, sizeof(bad));
			assert_int_equal(vouch_cose_encrypt_decode(bad, blen, &m),
			                 VOUCH_ERR_COSE_STRUCTURE);
			assert_null(m.recipients);
		}
		/* Three fields (an Encrypt0 under tag 96), and an Encrypt under tag 16. */
		memset(&p, 0, sizeof(p));
		p.prot = direct.hdr.protected_bstr;
		p.prot_len = direct.hdr.protected_len;
		p.unprot = direct.hdr.unprotected_map;
		p.unprot_len = direct.hdr.unprotected_len;
		p.ct = direct.ciphertext;
		p.ct_len = direct.ciphertext_len;
		blen = build(&p, VOUCH_COSE_TAG_ENCRYPT, bad, sizeof(bad));
		assert_int_equal(vouch_cose_encrypt_decode(bad, blen, &m),
		                 VOUCH_ERR_COSE_STRUCTURE);
		p.rcpts = direct.recipients;
		p.rcpts_len = direct.recipients_len;
		blen = build(&p, VOUCH_COSE_TAG_ENCRYPT0, bad, sizeof(bad));
		assert_int_equal(vouch_cose_encrypt_decode(bad, blen, &m),
		                 VOUCH_ERR_COSE_STRUCTURE);
		/* Untagged is fine. */
		assert_int_equal(vouch_cose_encrypt_decode(dout + 2, dlen - 2, &m), VOUCH_OK);
	}

	/* Truncated at every length: refused, never read past the end. */
	for (size_t n = 0; n < len; n++) {
		struct vouch_cose_encrypt m;
		uint8_t *t = malloc(n > 0 ? n : 1);

		assert_non_null(t);
		memcpy(t, out, n);
		assert_int_not_equal(vouch_cose_encrypt_decode(t, n, &m), VOUCH_OK);
		assert_null(m.ciphertext);
		free(t);
	}
	keys_clear(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_aead_info),
	    cmocka_unit_test(test_enc_structure_and_nonce),
	    cmocka_unit_test(test_kdf_context),
	    cmocka_unit_test(test_encrypt0_roundtrip),
	    cmocka_unit_test(test_encrypt0_random_iv_differs),
	    cmocka_unit_test(test_encrypt0_partial_iv),
	    cmocka_unit_test(test_encrypt0_tampering),
	    cmocka_unit_test(test_encrypt0_refusals),
	    cmocka_unit_test(test_encrypt_each_kind),
	    cmocka_unit_test(test_encrypt_fresh_ephemeral),
	    cmocka_unit_test(test_encrypt_multiple_recipients),
	    cmocka_unit_test(test_encrypt_create_refusals),
	    cmocka_unit_test(test_encrypt_ecdh_salt_and_party_info),
	    cmocka_unit_test(test_encrypt_tampering),
	    cmocka_unit_test(test_encrypt_decrypt_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
