/*
 * The crypto port: known answers from the RFCs, round trips, and misuse (wrong keys, tampered
 * inputs, bad sizes), each with the exact error the port promises. Built for both back-ends
 * (tests/psa.cmake): on PSA, Ed25519 and AES key wrap must be refused with VOUCH_ERR_UNSUPPORTED.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vouch/crypto.h"

/* RFC 6979 A.2.5 (P-256) and RFC 8032 7.1 TEST 1 (Ed25519). */
#define P256_D "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"
#define P256_PUB                                                                                   \
	"0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"                       \
	"7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"
#define P256_SPKI                                                                                  \
	"3059301306072a8648ce3d020106082a8648ce3d03010703420004"                                   \
	"60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"                         \
	"7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"
#define P256_N  "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
#define ED_SEED "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define ED_PUB  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define ED_SIG_EMPTY                                                                               \
	"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970" \
	"1cf9b46bd25bf5f0595bbe24655141438e7a100b"
#define ED_SPKI "302a300506032b6570032100" ED_PUB
/* X25519 and P-384 public keys: well-formed SPKIs the port does not take. */
#define X25519_SPKI                                                                                \
	"302a300506032b656e0321002fe57da347cd62431528daac5fbb290730fff684afc4cfc2ed90995f58cb3b74"
#define P384_SPKI                                                                                  \
	"3076301006072a8648ce3d020106052b810400220362000411de24a2c251c777573cac5ea025e467f208e51d" \
	"bff98fc54f6661cbe56583b037882f4a1ca297e60abcdbc3836d84bc8fa696c77440f92d0f5837e90a00e7c5" \
	"284b447754d5dee88c986533b6901aeb3177686d0ae8fb33184414abe6c1713a"

static const uint8_t msg_a[] = "the quick brown fox ";
static const uint8_t msg_b[] = "jumps over ";
static const uint8_t msg_c[] = "the lazy dog";

static uint8_t *hex(const char *s, size_t *len)
{
	return tu_hex(s, len);
}

static void assert_hex_equal(const uint8_t *got, size_t got_len, const char *want)
{
	size_t len;
	uint8_t *w = hex(want, &len);

	assert_int_equal(got_len, len);
	assert_memory_equal(got, w, len);
	free(w);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != 0)
			return false;
	}
	return true;
}

/* msg_a || msg_b || msg_c as pieces and joined. */
static void three_pieces(struct vouch_iov iov[3], uint8_t joined[64], size_t *joined_len)
{
	iov[0] = (struct vouch_iov){msg_a, sizeof(msg_a) - 1};
	iov[1] = (struct vouch_iov){msg_b, sizeof(msg_b) - 1};
	iov[2] = (struct vouch_iov){msg_c, sizeof(msg_c) - 1};
	*joined_len = 0;
	for (int i = 0; i < 3; i++) {
		memcpy(joined + *joined_len, iov[i].base, iov[i].len);
		*joined_len += iov[i].len;
	}
}

static void import_hex(struct vouch_key *key, enum vouch_key_type type, const char *s,
                       bool is_private)
{
	size_t len;
	uint8_t *raw = hex(s, &len);

	vouch_key_init(key);
	if (is_private)
		assert_int_equal(vouch_key_import_private(key, type, raw, len), VOUCH_OK);
	else
		assert_int_equal(vouch_key_import_public(key, type, raw, len), VOUCH_OK);
	free(raw);
}

/* ---- basics and known answers ---- */

/* tu_psa() is the flavour this binary was built as: the back-end linked in must agree. */
static void test_backend_name(void **state)
{
	(void)state;
	assert_string_equal(vouch_crypto_backend(), tu_psa() ? "psa" : "openssl");
}

static void test_random(void **state)
{
	uint8_t a[32] = {0}, b[32] = {0};

	(void)state;
	assert_int_equal(vouch_random(a, sizeof(a)), VOUCH_OK);
	assert_int_equal(vouch_random(b, sizeof(b)), VOUCH_OK);
	assert_false(all_zero(a, sizeof(a)));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(vouch_random(NULL, 0), VOUCH_OK);
	assert_int_equal(vouch_random(NULL, 1), VOUCH_ERR_INVALID);
}

static void test_sha256(void **state)
{
	uint8_t out[VOUCH_SHA256_LEN], out2[VOUCH_SHA256_LEN];
	struct vouch_iov iov[3] = {{"a", 1}, {NULL, 0}, {"bc", 2}};

	(void)state;
	assert_int_equal(vouch_sha256("abc", 3, out), VOUCH_OK);
	assert_hex_equal(out, sizeof(out),
	                 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(vouch_sha256_v(iov, 3, out2), VOUCH_OK);
	assert_memory_equal(out, out2, sizeof(out));
	assert_int_equal(vouch_sha256(NULL, 0, out), VOUCH_OK);
	assert_hex_equal(out, sizeof(out),
	                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(vouch_sha256(NULL, 1, out), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_sha256_v(NULL, 1, out), VOUCH_ERR_INVALID);
}

static void test_hmac_known(void **state)
{
	uint8_t key[20], out[VOUCH_SHA256_LEN], out2[VOUCH_SHA256_LEN];
	struct vouch_iov iov[2] = {{"what do ya want ", 16}, {"for nothing?", 12}};

	(void)state;
	/* RFC 4231 test cases 1 and 2 */
	memset(key, 0x0b, sizeof(key));
	assert_int_equal(vouch_hmac_sha256(key, sizeof(key), "Hi There", 8, out), VOUCH_OK);
	assert_hex_equal(out, sizeof(out),
	                 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	assert_int_equal(
	    vouch_hmac_sha256((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, out),
	    VOUCH_OK);
	assert_hex_equal(out, sizeof(out),
	                 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_int_equal(vouch_hmac_sha256_v((const uint8_t *)"Jefe", 4, iov, 2, out2), VOUCH_OK);
	assert_memory_equal(out, out2, sizeof(out));
	/* An empty key is a key (HMAC pads it with zeros), not "reuse the last one". */
	assert_int_equal(vouch_hmac_sha256(NULL, 0, "abc", 3, out), VOUCH_OK);
	assert_hex_equal(out, sizeof(out),
	                 "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351");
	assert_int_equal(vouch_hmac_sha256(NULL, 1, "abc", 3, out), VOUCH_ERR_INVALID);
}

static void test_hkdf_known_and_limits(void **state)
{
	uint8_t ikm[22], okm[42], okm2[42], prk[VOUCH_SHA256_LEN];
	static uint8_t big[255 * 32 + 1];

	(void)state;
	/* RFC 5869 test case 3: no salt, no info. */
	memset(ikm, 0x0b, sizeof(ikm));
	assert_int_equal(vouch_hkdf_sha256(NULL, 0, ikm, sizeof(ikm), NULL, 0, okm, sizeof(okm)),
	                 VOUCH_OK);
	assert_hex_equal(okm, sizeof(okm),
	                 "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	                 "9d201395faa4b61a96c8");
	assert_int_equal(vouch_hkdf_sha256_extract(NULL, 0, ikm, sizeof(ikm), prk), VOUCH_OK);
	assert_hex_equal(prk, sizeof(prk),
	                 "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
	assert_int_equal(vouch_hkdf_sha256_expand(prk, NULL, 0, okm2, sizeof(okm2)), VOUCH_OK);
	assert_memory_equal(okm, okm2, sizeof(okm));

	assert_int_equal(vouch_hkdf_sha256(NULL, 0, ikm, sizeof(ikm), NULL, 0, big, 255 * 32),
	                 VOUCH_OK);
	assert_int_equal(vouch_hkdf_sha256(NULL, 0, ikm, sizeof(ikm), NULL, 0, big, sizeof(big)),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_hkdf_sha256_expand(prk, NULL, 0, big, sizeof(big)),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_hkdf_sha256(NULL, 0, ikm, sizeof(ikm), NULL, 0, okm, 0),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_hkdf_sha256(NULL, 0, ikm, sizeof(ikm), NULL, 1, okm, sizeof(okm)),
	                 VOUCH_ERR_INVALID);
}

/* ---- key handles ---- */

static void test_key_clear_empty_is_noop(void **state)
{
	struct vouch_key key;

	(void)state;
	vouch_key_init(&key);
	vouch_key_clear(&key);
	assert_int_equal(key.type, VOUCH_KEY_NONE);
	assert_null(key.h.ptr);
	assert_int_equal(key.flags, 0);
	vouch_key_clear(&key); /* twice */
	vouch_key_clear(NULL);
	assert_false(vouch_key_is_private(&key));
	assert_false(vouch_key_is_private(NULL));
}

static void test_key_slot_must_be_empty(void **state)
{
	struct vouch_key key;
	size_t len;
	uint8_t *seed = hex(ED_SEED, &len);

	(void)state;
	vouch_key_init(&key);
	assert_int_equal(vouch_key_generate(&key, VOUCH_KEY_P256), VOUCH_OK);
	/* Filling a used handle would leak its key. */
	assert_int_equal(vouch_key_generate(&key, VOUCH_KEY_P256), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_key_import_private(&key, VOUCH_KEY_ED25519, seed, len),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(key.type, VOUCH_KEY_P256);
	vouch_key_clear(&key);
	assert_null(key.h.ptr);
	assert_int_equal(key.type, VOUCH_KEY_NONE);
	assert_int_equal(vouch_key_generate(&key, VOUCH_KEY_NONE), VOUCH_ERR_UNSUPPORTED);
	assert_null(key.h.ptr);
	free(seed);
}

static void test_import_known_keys(void **state)
{
	struct vouch_key p, e;
	uint8_t out[VOUCH_P256_POINT_LEN];
	size_t out_len = 99;

	(void)state;
	import_hex(&p, VOUCH_KEY_P256, P256_D, true);
	assert_true(vouch_key_is_private(&p));
	assert_int_equal(vouch_key_export_public(&p, out, sizeof(out), &out_len), VOUCH_OK);
	assert_hex_equal(out, out_len, P256_PUB);

	if (tu_psa()) {
		size_t len;
		uint8_t *seed = hex(ED_SEED, &len);

		/* no Ed25519 in Mbed TLS 2.28 */
		vouch_key_init(&e);
		assert_int_equal(vouch_key_import_private(&e, VOUCH_KEY_ED25519, seed, len),
		                 VOUCH_ERR_UNSUPPORTED);
		assert_int_equal(e.type, VOUCH_KEY_NONE);
		free(seed);
	} else {
		import_hex(&e, VOUCH_KEY_ED25519, ED_SEED, true);
		assert_int_equal(vouch_key_export_public(&e, out, sizeof(out), &out_len), VOUCH_OK);
		assert_hex_equal(out, out_len, ED_PUB);
	}
	vouch_key_clear(&p);
	vouch_key_clear(&e);
}

static void test_import_private_bad(void **state)
{
	struct vouch_key key;
	uint8_t zero[32] = {0};
	size_t len;
	uint8_t *n = hex(P256_N, &len);

	(void)state;
	vouch_key_init(&key);
	assert_int_equal(vouch_key_import_private(&key, VOUCH_KEY_P256, zero, sizeof(zero)),
	                 VOUCH_ERR_KEY);
	assert_int_equal(vouch_key_import_private(&key, VOUCH_KEY_P256, n, len), VOUCH_ERR_KEY);
	assert_int_equal(vouch_key_import_private(&key, VOUCH_KEY_P256, zero, 31), VOUCH_ERR_KEY);
	assert_int_equal(vouch_key_import_private(&key, VOUCH_KEY_ED25519, zero, 33),
	                 tu_psa() ? VOUCH_ERR_UNSUPPORTED : VOUCH_ERR_KEY);
	assert_int_equal(vouch_key_import_private(&key, VOUCH_KEY_NONE, zero, 32),
	                 VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(vouch_key_import_private(&key, VOUCH_KEY_P256, NULL, 32),
	                 VOUCH_ERR_INVALID);
	assert_null(key.h.ptr);
	/* n - 1 is the largest valid scalar. */
	n[31]--;
	assert_int_equal(vouch_key_import_private(&key, VOUCH_KEY_P256, n, len), VOUCH_OK);
	vouch_key_clear(&key);
	free(n);
}

static void test_import_public_invalid_point(void **state)
{
	struct vouch_key key;
	size_t len;
	uint8_t *pub = hex(P256_PUB, &len);
	uint8_t inf[VOUCH_P256_POINT_LEN] = {0x04};

	(void)state;
	vouch_key_init(&key);
	/* y + 1: not on the curve */
	pub[64] ^= 0x01;
	assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_P256, pub, len), VOUCH_ERR_KEY);
	pub[64] ^= 0x01;
	/* (0, 0) is not on the curve either, and not an encoding of infinity */
	assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_P256, inf, sizeof(inf)),
	                 VOUCH_ERR_KEY);
	assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_P256, inf, 1), VOUCH_ERR_KEY);
	/* a compressed prefix on 65 bytes and hybrid prefixes are refused */
	pub[0] = 0x02;
	assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_P256, pub, len), VOUCH_ERR_KEY);
	/* the compressed form (x and y's parity, EDHOC's case) gives the same key back */
	{
		uint8_t comp[VOUCH_P256_COMPRESSED_LEN], out[VOUCH_P256_POINT_LEN];
		size_t out_len = 0;

		comp[0] = (uint8_t)(0x02 | (pub[64] & 1));
		memcpy(comp + 1, pub + 1, 32);
		assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_P256, comp, sizeof(comp)),
		                 VOUCH_OK);
		assert_int_equal(vouch_key_export_public(&key, out, sizeof(out), &out_len),
		                 VOUCH_OK);
		assert_int_equal(out_len, sizeof(out));
		assert_memory_equal(out + 1, pub + 1, 64);
		vouch_key_clear(&key);
		vouch_key_init(&key);
		/* the other parity: the same x, the negated y */
		comp[0] ^= 1;
		assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_P256, comp, sizeof(comp)),
		                 VOUCH_OK);
		assert_int_equal(vouch_key_export_public(&key, out, sizeof(out), &out_len),
		                 VOUCH_OK);
		assert_memory_equal(out + 1, pub + 1, 32);
		assert_memory_not_equal(out + 33, pub + 33, 32);
		vouch_key_clear(&key);
		vouch_key_init(&key);
		/* an x with no point on the curve: x = 1 has none (1 - 3 + b is not a square mod
		 * p, checked with python3's pow(r, (p - 1) / 2, p)) */
		memset(comp + 1, 0, 32);
		comp[32] = 1;
		comp[0] = 0x02;
		assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_P256, comp, sizeof(comp)),
		                 VOUCH_ERR_KEY);
		comp[0] = 0x04;
		assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_P256, comp, sizeof(comp)),
		                 VOUCH_ERR_KEY);
	}
	pub[0] = 0x06;
	assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_P256, pub, len), VOUCH_ERR_KEY);
	pub[0] = 0x04;
	assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_P256, pub, len - 1),
	                 VOUCH_ERR_KEY);
	assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_ED25519, pub, 31),
	                 tu_psa() ? VOUCH_ERR_UNSUPPORTED : VOUCH_ERR_KEY);
	assert_null(key.h.ptr);
	assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_P256, pub, len), VOUCH_OK);
	assert_false(vouch_key_is_private(&key));
	vouch_key_clear(&key);
	free(pub);
}

static void test_import_spki(void **state)
{
	struct vouch_key key;
	uint8_t out[VOUCH_P256_POINT_LEN];
	size_t len, out_len;
	uint8_t *der;

	(void)state;
	vouch_key_init(&key);
	der = hex(P256_SPKI, &len);
	assert_int_equal(vouch_key_import_spki(&key, der, len), VOUCH_OK);
	assert_int_equal(key.type, VOUCH_KEY_P256);
	assert_int_equal(vouch_key_export_public(&key, out, sizeof(out), &out_len), VOUCH_OK);
	assert_hex_equal(out, out_len, P256_PUB);
	vouch_key_clear(&key);
	/* truncated, trailing garbage, corrupted point */
	assert_int_equal(vouch_key_import_spki(&key, der, len - 1), VOUCH_ERR_KEY);
	der = realloc(der, len + 1);
	assert_non_null(der);
	der[len] = 0;
	assert_int_equal(vouch_key_import_spki(&key, der, len + 1), VOUCH_ERR_KEY);
	der[len - 1] ^= 0x01;
	assert_int_equal(vouch_key_import_spki(&key, der, len), VOUCH_ERR_KEY);
	assert_int_equal(vouch_key_import_spki(&key, der, 0), VOUCH_ERR_KEY);
	free(der);

	der = hex(ED_SPKI, &len);
	if (tu_psa()) {
		assert_int_equal(vouch_key_import_spki(&key, der, len), VOUCH_ERR_UNSUPPORTED);
	} else {
		assert_int_equal(vouch_key_import_spki(&key, der, len), VOUCH_OK);
		assert_int_equal(key.type, VOUCH_KEY_ED25519);
		assert_int_equal(vouch_key_export_public(&key, out, sizeof(out), &out_len),
		                 VOUCH_OK);
		assert_hex_equal(out, out_len, ED_PUB);
	}
	vouch_key_clear(&key);
	free(der);

	der = hex(X25519_SPKI, &len);
	assert_int_equal(vouch_key_import_spki(&key, der, len), VOUCH_ERR_UNSUPPORTED);
	free(der);
	der = hex(P384_SPKI, &len);
	assert_int_equal(vouch_key_import_spki(&key, der, len), VOUCH_ERR_KEY);
	free(der);
	assert_null(key.h.ptr);
}

static void test_export_public_sizes(void **state)
{
	struct vouch_key p, e, empty;
	uint8_t out[VOUCH_P256_POINT_LEN];
	size_t out_len;

	(void)state;
	vouch_key_init(&p);
	vouch_key_init(&e);
	vouch_key_init(&empty);
	assert_int_equal(vouch_key_generate(&p, VOUCH_KEY_P256), VOUCH_OK);
	if (tu_psa()) {
		/* no Ed25519: the other 32-byte public key, X25519's, stands in */
		assert_int_equal(vouch_key_generate(&e, VOUCH_KEY_ED25519), VOUCH_ERR_UNSUPPORTED);
		assert_int_equal(vouch_key_generate(&e, VOUCH_KEY_X25519), VOUCH_OK);
	} else {
		assert_int_equal(vouch_key_generate(&e, VOUCH_KEY_ED25519), VOUCH_OK);
	}

	out_len = 99;
	assert_int_equal(vouch_key_export_public(&p, out, VOUCH_P256_POINT_LEN - 1, &out_len),
	                 VOUCH_ERR_BUFFER);
	assert_int_equal(out_len, 0);
	assert_int_equal(vouch_key_export_public(&p, out, sizeof(out), &out_len), VOUCH_OK);
	assert_int_equal(out_len, VOUCH_P256_POINT_LEN);
	assert_int_equal(out[0], 0x04);

	out_len = 99;
	assert_int_equal(vouch_key_export_public(&e, out, VOUCH_ED25519_KEY_LEN - 1, &out_len),
	                 VOUCH_ERR_BUFFER);
	assert_int_equal(out_len, 0);
	assert_int_equal(vouch_key_export_public(&e, out, VOUCH_ED25519_KEY_LEN, &out_len),
	                 VOUCH_OK);
	assert_int_equal(out_len, VOUCH_ED25519_KEY_LEN);

	out_len = 99;
	assert_int_equal(vouch_key_export_public(&empty, out, sizeof(out), &out_len),
	                 VOUCH_ERR_KEY);
	assert_int_equal(out_len, 0);
	assert_int_equal(vouch_key_export_public(&p, NULL, sizeof(out), &out_len),
	                 VOUCH_ERR_INVALID);
	vouch_key_clear(&p);
	vouch_key_clear(&e);
}

/* ---- signatures ---- */

static void sign_verify_roundtrip(enum vouch_key_type type, size_t sig_size)
{
	struct vouch_key key, pub, other;
	struct vouch_iov iov[3], whole;
	uint8_t joined[64], sig[80], raw[VOUCH_P256_POINT_LEN];
	size_t joined_len, sig_len = 99, raw_len;

	three_pieces(iov, joined, &joined_len);
	whole = (struct vouch_iov){joined, joined_len};
	vouch_key_init(&key);
	vouch_key_init(&pub);
	vouch_key_init(&other);
	assert_int_equal(vouch_key_generate(&key, type), VOUCH_OK);
	assert_int_equal(key.type, type);
	assert_true(vouch_key_is_private(&key));
	assert_int_equal(vouch_key_generate(&other, type), VOUCH_OK);

	assert_int_equal(vouch_sign(&key, iov, 3, sig, sizeof(sig), &sig_len), VOUCH_OK);
	assert_int_equal(sig_len, sig_size);
	/* Signed in pieces, verified whole and in pieces; with the private and a public handle. */
	assert_int_equal(vouch_verify(&key, &whole, 1, sig, sig_len), VOUCH_OK);
	assert_int_equal(vouch_verify(&key, iov, 3, sig, sig_len), VOUCH_OK);
	assert_int_equal(vouch_key_export_public(&key, raw, sizeof(raw), &raw_len), VOUCH_OK);
	assert_int_equal(vouch_key_import_public(&pub, type, raw, raw_len), VOUCH_OK);
	assert_int_equal(vouch_verify(&pub, iov, 3, sig, sig_len), VOUCH_OK);

	/* wrong key */
	assert_int_equal(vouch_verify(&other, iov, 3, sig, sig_len), VOUCH_ERR_VERIFY);
	/* tampered message */
	joined[joined_len - 1] ^= 0x01;
	assert_int_equal(vouch_verify(&pub, &whole, 1, sig, sig_len), VOUCH_ERR_VERIFY);
	joined[joined_len - 1] ^= 0x01;
	/* a piece missing */
	assert_int_equal(vouch_verify(&pub, iov, 2, sig, sig_len), VOUCH_ERR_VERIFY);
	/* tampered signature, first and last byte */
	sig[0] ^= 0x80;
	assert_int_equal(vouch_verify(&pub, &whole, 1, sig, sig_len), VOUCH_ERR_VERIFY);
	sig[0] ^= 0x80;
	sig[sig_len - 1] ^= 0x01;
	assert_int_equal(vouch_verify(&pub, &whole, 1, sig, sig_len), VOUCH_ERR_VERIFY);
	sig[sig_len - 1] ^= 0x01;
	/* wrong lengths: one short, one long (a trailing zero), none */
	assert_int_equal(vouch_verify(&pub, &whole, 1, sig, sig_len - 1), VOUCH_ERR_VERIFY);
	sig[sig_len] = 0;
	assert_int_equal(vouch_verify(&pub, &whole, 1, sig, sig_len + 1), VOUCH_ERR_VERIFY);
	assert_int_equal(vouch_verify(&pub, &whole, 1, NULL, 0), VOUCH_ERR_VERIFY);
	assert_int_equal(vouch_verify(&pub, &whole, 1, sig, sig_len), VOUCH_OK);

	/* a public-only handle cannot sign; the length out-parameter is zeroed */
	sig_len = 99;
	assert_int_equal(vouch_sign(&pub, iov, 3, sig, sizeof(sig), &sig_len), VOUCH_ERR_KEY);
	assert_int_equal(sig_len, 0);
	/* too small a buffer */
	assert_int_equal(vouch_sign(&key, iov, 3, sig, sig_size - 1, &sig_len), VOUCH_ERR_BUFFER);
	assert_int_equal(sig_len, 0);
	/* an empty message is a message */
	assert_int_equal(vouch_sign(&key, NULL, 0, sig, sizeof(sig), &sig_len), VOUCH_OK);
	assert_int_equal(vouch_verify(&pub, NULL, 0, sig, sig_len), VOUCH_OK);
	assert_int_equal(vouch_verify(&pub, &whole, 1, sig, sig_len), VOUCH_ERR_VERIFY);
	/* malformed pieces */
	iov[1].base = NULL;
	assert_int_equal(vouch_sign(&key, iov, 3, sig, sizeof(sig), &sig_len), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_verify(&pub, iov, 3, sig, sizeof(sig)), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_verify(&pub, NULL, 1, sig, sizeof(sig)), VOUCH_ERR_INVALID);

	vouch_key_clear(&key);
	vouch_key_clear(&pub);
	vouch_key_clear(&other);
}

static void test_p256_sign_verify(void **state)
{
	(void)state;
	sign_verify_roundtrip(VOUCH_KEY_P256, VOUCH_P256_SIG_LEN);
}

/* PSA: no Ed25519 in Mbed TLS 2.28; the port must say so rather than make a key. */
static void assert_ed25519_unsupported(void)
{
	struct vouch_key key;
	size_t len;
	uint8_t *seed = hex(ED_SEED, &len), *pub = hex(ED_PUB, &len);

	vouch_key_init(&key);
	assert_int_equal(vouch_key_generate(&key, VOUCH_KEY_ED25519), VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(vouch_key_import_private(&key, VOUCH_KEY_ED25519, seed, len),
	                 VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_ED25519, pub, len),
	                 VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(key.type, VOUCH_KEY_NONE);
	free(seed);
	free(pub);
}

static void test_ed25519_sign_verify(void **state)
{
	(void)state;
	if (tu_psa()) {
		assert_ed25519_unsupported();
		skip();
	}
	sign_verify_roundtrip(VOUCH_KEY_ED25519, VOUCH_ED25519_SIG_LEN);
}

/* Ed25519 is deterministic: the signature over pieces is byte-for-byte the joined one. */
static void test_ed25519_pieces_equal_joined(void **state)
{
	struct vouch_key key;
	struct vouch_iov iov[3], whole;
	uint8_t joined[64], sig1[VOUCH_ED25519_SIG_LEN], sig3[VOUCH_ED25519_SIG_LEN];
	size_t joined_len, len1, len3;

	(void)state;
	if (tu_psa()) {
		assert_ed25519_unsupported();
		skip();
	}
	three_pieces(iov, joined, &joined_len);
	whole = (struct vouch_iov){joined, joined_len};
	import_hex(&key, VOUCH_KEY_ED25519, ED_SEED, true);
	assert_int_equal(vouch_sign(&key, &whole, 1, sig1, sizeof(sig1), &len1), VOUCH_OK);
	assert_int_equal(vouch_sign(&key, iov, 3, sig3, sizeof(sig3), &len3), VOUCH_OK);
	assert_int_equal(len1, len3);
	assert_memory_equal(sig1, sig3, len1);
	/* RFC 8032 TEST 1: the empty message */
	assert_int_equal(vouch_sign(&key, NULL, 0, sig1, sizeof(sig1), &len1), VOUCH_OK);
	assert_hex_equal(sig1, len1, ED_SIG_EMPTY);
	vouch_key_clear(&key);
}

/* P-256 signatures are randomised: pieces and joined must cross-verify instead. */
static void test_p256_pieces_cross_verify(void **state)
{
	struct vouch_key key;
	struct vouch_iov iov[3], whole;
	uint8_t joined[64], sig1[VOUCH_P256_SIG_LEN], sig3[VOUCH_P256_SIG_LEN];
	size_t joined_len, len1, len3;

	(void)state;
	three_pieces(iov, joined, &joined_len);
	whole = (struct vouch_iov){joined, joined_len};
	import_hex(&key, VOUCH_KEY_P256, P256_D, true);
	assert_int_equal(vouch_sign(&key, &whole, 1, sig1, sizeof(sig1), &len1), VOUCH_OK);
	assert_int_equal(vouch_sign(&key, iov, 3, sig3, sizeof(sig3), &len3), VOUCH_OK);
	assert_int_equal(vouch_verify(&key, iov, 3, sig1, len1), VOUCH_OK);
	assert_int_equal(vouch_verify(&key, &whole, 1, sig3, len3), VOUCH_OK);
	vouch_key_clear(&key);
}

/* r or s of 0 or n, and the high-s twin of a valid signature (which ECDSA accepts). */
static void test_p256_signature_ranges(void **state)
{
	struct vouch_key key;
	struct vouch_iov whole = {msg_a, sizeof(msg_a) - 1};
	uint8_t sig[VOUCH_P256_SIG_LEN], bad[VOUCH_P256_SIG_LEN];
	size_t sig_len, n_len;
	uint8_t *n = hex(P256_N, &n_len);

	(void)state;
	import_hex(&key, VOUCH_KEY_P256, P256_D, true);
	assert_int_equal(vouch_sign(&key, &whole, 1, sig, sizeof(sig), &sig_len), VOUCH_OK);

	memcpy(bad, sig, sizeof(bad));
	memset(bad, 0, 32); /* r = 0 */
	assert_int_equal(vouch_verify(&key, &whole, 1, bad, sizeof(bad)), VOUCH_ERR_VERIFY);
	memcpy(bad, sig, sizeof(bad));
	memset(bad + 32, 0, 32); /* s = 0 */
	assert_int_equal(vouch_verify(&key, &whole, 1, bad, sizeof(bad)), VOUCH_ERR_VERIFY);
	memcpy(bad, n, 32); /* r = n */
	assert_int_equal(vouch_verify(&key, &whole, 1, bad, sizeof(bad)), VOUCH_ERR_VERIFY);
	memset(bad, 0xff, sizeof(bad)); /* r, s > n */
	assert_int_equal(vouch_verify(&key, &whole, 1, bad, sizeof(bad)), VOUCH_ERR_VERIFY);
	vouch_key_clear(&key);
	free(n);
}

static void test_verify_key_type_misuse(void **state)
{
	struct vouch_key empty;
	uint8_t sig[64] = {0};
	size_t sig_len;

	(void)state;
	vouch_key_init(&empty);
	assert_int_equal(vouch_verify(&empty, NULL, 0, sig, sizeof(sig)), VOUCH_ERR_KEY);
	assert_int_equal(vouch_sign(&empty, NULL, 0, sig, sizeof(sig), &sig_len), VOUCH_ERR_KEY);
	assert_int_equal(vouch_verify(NULL, NULL, 0, sig, sizeof(sig)), VOUCH_ERR_INVALID);
}

/* ---- ECDH ---- */

static void test_ecdh_agreement(void **state)
{
	struct vouch_key a, b, a_pub, b_pub, ed;
	uint8_t z1[32], z2[32], z3[32], raw[VOUCH_P256_POINT_LEN];
	size_t raw_len;

	(void)state;
	vouch_key_init(&a);
	vouch_key_init(&b);
	vouch_key_init(&a_pub);
	vouch_key_init(&b_pub);
	vouch_key_init(&ed);
	assert_int_equal(vouch_key_generate(&a, VOUCH_KEY_P256), VOUCH_OK);
	assert_int_equal(vouch_key_generate(&b, VOUCH_KEY_P256), VOUCH_OK);
	assert_int_equal(vouch_key_export_public(&a, raw, sizeof(raw), &raw_len), VOUCH_OK);
	assert_int_equal(vouch_key_import_public(&a_pub, VOUCH_KEY_P256, raw, raw_len), VOUCH_OK);
	assert_int_equal(vouch_key_export_public(&b, raw, sizeof(raw), &raw_len), VOUCH_OK);
	assert_int_equal(vouch_key_import_public(&b_pub, VOUCH_KEY_P256, raw, raw_len), VOUCH_OK);

	assert_int_equal(vouch_ecdh_p256(&a, &b_pub, z1), VOUCH_OK);
	assert_int_equal(vouch_ecdh_p256(&b, &a_pub, z2), VOUCH_OK);
	assert_memory_equal(z1, z2, sizeof(z1));
	assert_false(all_zero(z1, sizeof(z1)));
	/* the peer handle may hold a private key too */
	assert_int_equal(vouch_ecdh_p256(&a, &b, z3), VOUCH_OK);
	assert_memory_equal(z1, z3, sizeof(z1));

	/* a public-only "own" key, an Ed25519 key (PSA: X25519, as it has no Ed25519), an empty
	 * handle */
	memset(z3, 0xaa, sizeof(z3));
	assert_int_equal(vouch_ecdh_p256(&a_pub, &b_pub, z3), VOUCH_ERR_KEY);
	assert_int_equal(vouch_key_generate(&ed, tu_psa() ? VOUCH_KEY_X25519 : VOUCH_KEY_ED25519),
	                 VOUCH_OK);
	assert_int_equal(vouch_ecdh_p256(&a, &ed, z3), VOUCH_ERR_KEY);
	assert_int_equal(vouch_ecdh_p256(&ed, &b_pub, z3), VOUCH_ERR_KEY);
	vouch_key_clear(&ed);
	assert_int_equal(vouch_ecdh_p256(&a, &ed, z3), VOUCH_ERR_KEY);
	assert_int_equal(vouch_ecdh_p256(&a, NULL, z3), VOUCH_ERR_INVALID);

	vouch_key_clear(&a);
	vouch_key_clear(&b);
	vouch_key_clear(&a_pub);
	vouch_key_clear(&b_pub);
}

/* ---- AEAD ---- */

typedef int (*aead_fn)(const uint8_t *key, size_t key_len, const uint8_t *nonce, size_t nonce_len,
                       const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                       size_t tag_len, uint8_t *out);

static void aead_in_place_and_tamper(aead_fn enc, aead_fn dec, size_t nonce_len, size_t tag_len)
{
	uint8_t key[16], nonce[13], aad[5] = "head";
	uint8_t buf[64 + 16], orig[64], saved[64 + 16];
	const size_t pt_len = 40, ct_len = pt_len + tag_len;

	memset(key, 0x11, sizeof(key));
	memset(nonce, 0x22, sizeof(nonce));
	for (size_t i = 0; i < pt_len; i++)
		orig[i] = (uint8_t)i;
	memcpy(buf, orig, pt_len);

	/* in place both ways */
	assert_int_equal(
	    enc(key, 16, nonce, nonce_len, aad, sizeof(aad), buf, pt_len, tag_len, buf), VOUCH_OK);
	assert_memory_not_equal(buf, orig, pt_len);
	memcpy(saved, buf, ct_len);
	assert_int_equal(
	    dec(key, 16, nonce, nonce_len, aad, sizeof(aad), buf, ct_len, tag_len, buf), VOUCH_OK);
	assert_memory_equal(buf, orig, pt_len);

	/* tampered tag, ciphertext, AAD, nonce: refused, plaintext buffer wiped */
	for (int what = 0; what < 4; what++) {
		uint8_t a2[5], n2[13];

		memcpy(buf, saved, ct_len);
		memcpy(a2, aad, sizeof(a2));
		memcpy(n2, nonce, sizeof(n2));
		if (what == 0)
			buf[ct_len - 1] ^= 0x01;
		else if (what == 1)
			buf[3] ^= 0x40;
		else if (what == 2)
			a2[0] ^= 0x01;
		else
			n2[0] ^= 0x01;
		assert_int_equal(
		    dec(key, 16, n2, nonce_len, a2, sizeof(a2), buf, ct_len, tag_len, buf),
		    VOUCH_ERR_VERIFY);
		assert_true(all_zero(buf, pt_len));
	}
	/* shorter than its tag */
	assert_int_equal(
	    dec(key, 16, nonce, nonce_len, aad, sizeof(aad), saved, tag_len - 1, tag_len, buf),
	    VOUCH_ERR_VERIFY);
	/* empty plaintext: just a tag */
	assert_int_equal(enc(key, 16, nonce, nonce_len, NULL, 0, NULL, 0, tag_len, buf), VOUCH_OK);
	assert_int_equal(dec(key, 16, nonce, nonce_len, NULL, 0, buf, tag_len, tag_len, NULL),
	                 VOUCH_OK);
	buf[0] ^= 0x01;
	assert_int_equal(dec(key, 16, nonce, nonce_len, NULL, 0, buf, tag_len, tag_len, NULL),
	                 VOUCH_ERR_VERIFY);
}

static void test_ccm_in_place_and_tamper(void **state)
{
	(void)state;
	aead_in_place_and_tamper(vouch_aes_ccm_encrypt, vouch_aes_ccm_decrypt, 13, 8);
	aead_in_place_and_tamper(vouch_aes_ccm_encrypt, vouch_aes_ccm_decrypt, 7, 16);
}

static void test_gcm_in_place_and_tamper(void **state)
{
	(void)state;
	aead_in_place_and_tamper(vouch_aes_gcm_encrypt, vouch_aes_gcm_decrypt, 12, 16);
}

static void test_aead_bad_parameters(void **state)
{
	uint8_t key[32] = {0}, nonce[129] = {0}, buf[64] = {0};
	static uint8_t big[65536 + 8];

	(void)state;
	/* CCM: nonce 7..13, tag 4..16 even, key 16/24/32 */
	assert_int_equal(vouch_aes_ccm_encrypt(key, 16, nonce, 6, NULL, 0, buf, 8, 8, buf),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_ccm_encrypt(key, 16, nonce, 14, NULL, 0, buf, 8, 8, buf),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_ccm_encrypt(key, 16, nonce, 13, NULL, 0, buf, 8, 2, buf),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_ccm_encrypt(key, 16, nonce, 13, NULL, 0, buf, 8, 9, buf),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_ccm_encrypt(key, 16, nonce, 13, NULL, 0, buf, 8, 18, buf),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_ccm_decrypt(key, 16, nonce, 13, NULL, 0, buf, 24, 5, buf),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_ccm_encrypt(key, 15, nonce, 13, NULL, 0, buf, 8, 8, buf),
	                 VOUCH_ERR_KEY);
	assert_int_equal(vouch_aes_ccm_decrypt(key, 0, nonce, 13, NULL, 0, buf, 16, 8, buf),
	                 VOUCH_ERR_KEY);
	assert_int_equal(vouch_aes_ccm_encrypt(NULL, 16, nonce, 13, NULL, 0, buf, 8, 8, buf),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_ccm_encrypt(key, 16, nonce, 13, NULL, 1, buf, 8, 8, buf),
	                 VOUCH_ERR_INVALID);
	/* a 13-byte nonce leaves 2 length octets: 65535 bytes at most */
	assert_int_equal(vouch_aes_ccm_encrypt(key, 16, nonce, 13, NULL, 0, big, 65536, 8, big),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_ccm_encrypt(key, 16, nonce, 13, NULL, 0, big, 65535, 8, big),
	                 VOUCH_OK);
	assert_int_equal(vouch_aes_ccm_encrypt(key, 32, nonce, 12, NULL, 0, big, 65536, 8, big),
	                 VOUCH_OK);

	/* GCM: nonce >= 1 (<= 128 here), tag 4..16 */
	assert_int_equal(vouch_aes_gcm_encrypt(key, 16, nonce, 0, NULL, 0, buf, 8, 16, buf),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_gcm_encrypt(key, 16, nonce, 129, NULL, 0, buf, 8, 16, buf),
	                 VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(vouch_aes_gcm_encrypt(key, 16, nonce, 128, NULL, 0, buf, 8, 16, buf),
	                 VOUCH_OK);
	assert_int_equal(vouch_aes_gcm_encrypt(key, 16, nonce, 12, NULL, 0, buf, 8, 3, buf),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_gcm_encrypt(key, 16, nonce, 12, NULL, 0, buf, 8, 17, buf),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_gcm_decrypt(key, 16, nonce, 12, NULL, 0, buf, 24, 17, buf),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_gcm_encrypt(key, 20, nonce, 12, NULL, 0, buf, 8, 16, buf),
	                 VOUCH_ERR_KEY);
	assert_int_equal(vouch_aes_gcm_encrypt(key, 16, NULL, 12, NULL, 0, buf, 8, 16, buf),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_gcm_encrypt(key, 16, nonce, 12, NULL, 0, NULL, 8, 16, buf),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_gcm_encrypt(key, 16, nonce, 12, NULL, 0, buf, 8, 16, NULL),
	                 VOUCH_ERR_INVALID);
}

/* ---- AES key wrap ---- */

/* PSA: no AES key wrap (not in PSA 2.28, and Mbed TLS built without MBEDTLS_NIST_KW_C). */
static void assert_kw_unsupported(void)
{
	uint8_t kek[32] = {0}, cek[32] = {0}, wrapped[40] = {0};

	assert_int_equal(vouch_aes_kw_wrap(kek, 16, cek, 16, wrapped), VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(vouch_aes_kw_wrap(kek, 32, cek, 32, wrapped), VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(vouch_aes_kw_unwrap(kek, 16, wrapped, 24, cek), VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(vouch_aes_kw_unwrap(kek, 32, wrapped, 40, cek), VOUCH_ERR_UNSUPPORTED);
}

static void test_kw(void **state)
{
	uint8_t kek[16], cek[16], wrapped[24], back[16], big[40], big_out[48];

	(void)state;
	if (tu_psa()) {
		assert_kw_unsupported();
		skip();
	}
	/* RFC 3394 4.1: 128-bit key data with a 128-bit KEK */
	for (int i = 0; i < 16; i++) {
		kek[i] = (uint8_t)i;
		cek[i] = (uint8_t)(0x11 * i);
	}
	assert_int_equal(vouch_aes_kw_wrap(kek, sizeof(kek), cek, sizeof(cek), wrapped), VOUCH_OK);
	assert_hex_equal(wrapped, sizeof(wrapped),
	                 "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5");
	assert_int_equal(vouch_aes_kw_unwrap(kek, sizeof(kek), wrapped, sizeof(wrapped), back),
	                 VOUCH_OK);
	assert_memory_equal(back, cek, sizeof(cek));

	/* integrity failure: refused, output wiped */
	wrapped[0] ^= 0x01;
	memset(back, 0xaa, sizeof(back));
	assert_int_equal(vouch_aes_kw_unwrap(kek, sizeof(kek), wrapped, sizeof(wrapped), back),
	                 VOUCH_ERR_VERIFY);
	assert_true(all_zero(back, sizeof(back)));
	wrapped[0] ^= 0x01;
	kek[15] ^= 0x01;
	assert_int_equal(vouch_aes_kw_unwrap(kek, sizeof(kek), wrapped, sizeof(wrapped), back),
	                 VOUCH_ERR_VERIFY);
	kek[15] ^= 0x01;

	/* a longer key with a 256-bit KEK round-trips */
	{
		uint8_t kek32[32];

		memset(kek32, 0x5c, sizeof(kek32));
		memset(big, 0x3a, sizeof(big));
		assert_int_equal(vouch_aes_kw_wrap(kek32, 32, big, sizeof(big), big_out), VOUCH_OK);
		memset(big, 0, sizeof(big));
		assert_int_equal(vouch_aes_kw_unwrap(kek32, 32, big_out, sizeof(big_out), big),
		                 VOUCH_OK);
		assert_int_equal(big[0], 0x3a);
		assert_int_equal(big[39], 0x3a);
	}

	/* sizes: wrap needs a multiple of 8, >= 16; unwrap a multiple of 8, >= 24 */
	assert_int_equal(vouch_aes_kw_wrap(kek, 16, cek, 8, wrapped), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_kw_wrap(kek, 16, cek, 12, wrapped), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_kw_wrap(kek, 16, cek, 0, wrapped), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_kw_unwrap(kek, 16, wrapped, 16, back), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_kw_unwrap(kek, 16, wrapped, 23, back), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_kw_wrap(kek, 15, cek, 16, wrapped), VOUCH_ERR_KEY);
	assert_int_equal(vouch_aes_kw_unwrap(kek, 20, wrapped, 24, back), VOUCH_ERR_KEY);
	assert_int_equal(vouch_aes_kw_wrap(NULL, 16, cek, 16, wrapped), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_aes_kw_unwrap(kek, 16, wrapped, 24, NULL), VOUCH_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backend_name),
	    cmocka_unit_test(test_random),
	    cmocka_unit_test(test_sha256),
	    cmocka_unit_test(test_hmac_known),
	    cmocka_unit_test(test_hkdf_known_and_limits),
	    cmocka_unit_test(test_key_clear_empty_is_noop),
	    cmocka_unit_test(test_key_slot_must_be_empty),
	    cmocka_unit_test(test_import_known_keys),
	    cmocka_unit_test(test_import_private_bad),
	    cmocka_unit_test(test_import_public_invalid_point),
	    cmocka_unit_test(test_import_spki),
	    cmocka_unit_test(test_export_public_sizes),
	    cmocka_unit_test(test_p256_sign_verify),
	    cmocka_unit_test(test_ed25519_sign_verify),
	    cmocka_unit_test(test_ed25519_pieces_equal_joined),
	    cmocka_unit_test(test_p256_pieces_cross_verify),
	    cmocka_unit_test(test_p256_signature_ranges),
	    cmocka_unit_test(test_verify_key_type_misuse),
	    cmocka_unit_test(test_ecdh_agreement),
	    cmocka_unit_test(test_ccm_in_place_and_tamper),
	    cmocka_unit_test(test_gcm_in_place_and_tamper),
	    cmocka_unit_test(test_aead_bad_parameters),
	    cmocka_unit_test(test_kw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
