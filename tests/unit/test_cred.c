/*
 * Credentials (include/vouch/cred.h, docs/credential.md): the RFC 9679 thumbprint against the
 * RFC's example, the RFC 9770 token hash against independently computed values, issue / verify
 * round trips, and every refusal: wrong key, time, issuer, audience, every single-byte flip,
 * every truncation, oversize, claims that are not a credential's, and the encodings of a valid
 * credential that are not its one canonical form; the issuer's kid given by the caller, and keys
 * of the kind a PKCS#11 token's are.
 */
/* The legacy EC_KEY API only to build keys of the kind a PKCS#11 token's are (libp11). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "testutil.h"
#include "vouch/cred.h"
#include "vouch/policy.h"
#include "../../lib/cred_internal.h"

#define T0     1700000000
#define ISS    "vouch:0123456789abcdef"
#define AUD    "0123456789abcdef"
#define SUB    "alice"
#define PHONE  "alice.0011aabb"
#define LEEWAY 30

/* Any valid CBOR array stands for the permissions here (policy.h validates the real ones). */
static const uint8_t perm[] = {0x83, 0x01, 0x80, 0x63, 'a', 'b', 'c'};

static struct vouch_key issuer, other_issuer, phone_key, ed_key;
static uint8_t cred[VOUCH_CRED_MAX];
static size_t cred_len;

static uint8_t *hexdup(const char *hex, size_t *len)
{
	return tu_hex(hex, len);
}

static void assert_hex(const uint8_t *p, size_t len, const char *hex)
{
	size_t want_len = 0;
	uint8_t *want = hexdup(hex, &want_len);

	assert_int_equal(len, want_len);
	assert_memory_equal(p, want, len);
	free(want);
}

static void assert_text(const char *p, size_t len, const char *want)
{
	assert_int_equal(len, strlen(want));
	assert_memory_equal(p, want, len);
}

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static struct vouch_cred_params default_params(void)
{
	struct vouch_cred_params p;

	memset(&p, 0, sizeof(p));
	p.iss = ISS;
	p.sub = SUB;
	p.aud = AUD;
	p.phone = PHONE;
	p.iat = T0;
	p.nbf = T0;
	p.exp = T0 + VOUCH_CRED_LIFETIME;
	for (size_t i = 0; i < VOUCH_CRED_CTI_LEN; i++)
		p.cti[i] = (uint8_t)(0x10 + i);
	p.cnf = &phone_key;
	p.perm = perm;
	p.perm_len = sizeof(perm);
	return p;
}

static struct vouch_cred_rules default_rules(void)
{
	struct vouch_cred_rules r = {ISS, AUD, T0 + 60, LEEWAY};

	return r;
}

static int verify(const uint8_t *buf, size_t len, struct vouch_cred *out)
{
	struct vouch_cred_rules r = default_rules();

	return vouch_cred_verify(buf, len, &issuer, &r, out);
}

static void assert_cleared(const struct vouch_cred *c)
{
	assert_true(all_zero(c, sizeof(*c)));
}

static int setup(void **state)
{
	(void)state;
	vouch_key_init(&issuer);
	vouch_key_init(&other_issuer);
	vouch_key_init(&phone_key);
	vouch_key_init(&ed_key);
	if (vouch_key_generate(&issuer, VOUCH_KEY_P256) != VOUCH_OK ||
	    vouch_key_generate(&other_issuer, VOUCH_KEY_P256) != VOUCH_OK ||
	    vouch_key_generate(&phone_key, VOUCH_KEY_P256) != VOUCH_OK ||
	    vouch_key_generate(&ed_key, VOUCH_KEY_ED25519) != VOUCH_OK)
		return -1;
	{
		struct vouch_cred_params p = default_params();

		if (vouch_cred_issue(&p, &issuer, cred, sizeof(cred), &cred_len) != VOUCH_OK)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vouch_key_clear(&issuer);
	vouch_key_clear(&other_issuer);
	vouch_key_clear(&phone_key);
	vouch_key_clear(&ed_key);
	return 0;
}

/* ---- RFC 9679 ---- */

static void test_thumbprint_rfc9679(void **state)
{
	json_t *doc = tu_load_json("rfc9679/thumbprint.json");
	const json_t *examples = json_object_get(doc, "examples"), *ex;
	unsigned run = 0, passed = 0;
	size_t i;

	(void)state;
	json_array_foreach(examples, i, ex)
	{
		uint8_t point[VOUCH_P256_POINT_LEN], tp[VOUCH_THUMBPRINT_LEN], digest[32];
		size_t x_len, y_len, key_len, in_len, want_len;
		uint8_t *x = hexdup(tu_str(ex, "x"), &x_len);
		uint8_t *y = hexdup(tu_str(ex, "y"), &y_len);
		uint8_t *ckey = hexdup(tu_str(ex, "cose_key"), &key_len);
		uint8_t *input = hexdup(tu_str(ex, "thumbprint_input"), &in_len);
		uint8_t *want = hexdup(tu_str(ex, "thumbprint"), &want_len);
		struct vouch_cose_key ck;
		struct vouch_key k;

		run++;
		assert_int_equal(x_len, 32);
		assert_int_equal(y_len, 32);
		assert_int_equal(want_len, VOUCH_THUMBPRINT_LEN);
		/* The vector agrees with itself: the hash of the printed input is the printed
		 * thumbprint. */
		assert_int_equal(vouch_sha256(input, in_len, digest), VOUCH_OK);
		assert_memory_equal(digest, want, 32);

		/* From the raw point. */
		point[0] = 0x04;
		memcpy(point + 1, x, 32);
		memcpy(point + 33, y, 32);
		vouch_key_init(&k);
		assert_int_equal(vouch_key_import_public(&k, VOUCH_KEY_P256, point, sizeof(point)),
		                 VOUCH_OK);
		assert_int_equal(vouch_cose_key_thumbprint(&k, tp), VOUCH_OK);
		assert_memory_equal(tp, want, VOUCH_THUMBPRINT_LEN);
		vouch_key_clear(&k);

		/* From the RFC's whole COSE_Key, whose kid is not an input. */
		assert_int_equal(vouch_cose_key_decode(ckey, key_len, &ck), VOUCH_OK);
		assert_int_equal(ck.kid_len, 32);
		vouch_key_init(&k);
		assert_int_equal(vouch_cose_key_to_public(&ck, &k), VOUCH_OK);
		assert_int_equal(vouch_cose_key_thumbprint(&k, tp), VOUCH_OK);
		assert_memory_equal(tp, want, VOUCH_THUMBPRINT_LEN);
		vouch_key_clear(&k);
		passed++;
		free(x);
		free(y);
		free(ckey);
		free(input);
		free(want);
	}
	json_decref(doc);
	assert_int_equal(run, 1);
	tu_report("rfc9679-thumbprint", run, passed, 0, NULL);
}

static void test_thumbprint_keys(void **state)
{
	/* RFC 8032 §7.1 test 1; the thumbprint input a3 01 01 20 06 21 58 20 || x and its hash were
	 * computed with python3-cbor2 and hashlib. */
	static const char ed_pub[] =
	    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
	static const char ed_tp[] =
	    "866eefbd6718c8846cd7ddfe43fc74ab1daac4538ff8514ea2ec2d410a415743";
	uint8_t a[VOUCH_THUMBPRINT_LEN], b[VOUCH_THUMBPRINT_LEN], raw[VOUCH_P256_POINT_LEN];
	size_t raw_len = 0, len = 0;
	struct vouch_key k, none;
	uint8_t *pub;

	(void)state;
	/* A private handle has the thumbprint of its public half. */
	assert_int_equal(vouch_cose_key_thumbprint(&issuer, a), VOUCH_OK);
	assert_int_equal(vouch_key_export_public(&issuer, raw, sizeof(raw), &raw_len), VOUCH_OK);
	vouch_key_init(&k);
	assert_int_equal(vouch_key_import_public(&k, VOUCH_KEY_P256, raw, raw_len), VOUCH_OK);
	assert_int_equal(vouch_cose_key_thumbprint(&k, b), VOUCH_OK);
	assert_memory_equal(a, b, sizeof(a));
	vouch_key_clear(&k);
	assert_int_equal(vouch_cose_key_thumbprint(&other_issuer, b), VOUCH_OK);
	assert_memory_not_equal(a, b, sizeof(a));

	pub = hexdup(ed_pub, &len);
	vouch_key_init(&k);
	assert_int_equal(vouch_key_import_public(&k, VOUCH_KEY_ED25519, pub, len), VOUCH_OK);
	assert_int_equal(vouch_cose_key_thumbprint(&k, a), VOUCH_OK);
	assert_hex(a, sizeof(a), ed_tp);
	vouch_key_clear(&k);
	free(pub);

	vouch_key_init(&none);
	memset(a, 0xee, sizeof(a));
	assert_int_equal(vouch_cose_key_thumbprint(&none, a), VOUCH_ERR_KEY);
	assert_true(all_zero(a, sizeof(a)));
	assert_int_equal(vouch_cose_key_thumbprint(NULL, a), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_cose_key_thumbprint(&issuer, NULL), VOUCH_ERR_INVALID);
}

/* A handle on a legacy EC_KEY copy of key (what libp11 makes of a token key: the provider
 * getters do not reach its point). */
static void legacy_copy(const struct vouch_key *key, struct vouch_key *out)
{
	EC_KEY *ec = EVP_PKEY_get1_EC_KEY(key->h.ptr);
	EVP_PKEY *pkey = EVP_PKEY_new();

	assert_non_null(ec);
	assert_non_null(pkey);
	assert_int_equal(EVP_PKEY_assign_EC_KEY(pkey, ec), 1);
	assert_null(EVP_PKEY_get0_provider(pkey));
	vouch_key_init(out);
	out->type = VOUCH_KEY_P256;
	out->flags = key->flags;
	out->h.ptr = pkey;
}

/* Legacy keys export the same point and thumbprint, and issue credentials that verify. */
static void test_legacy_keys(void **state)
{
	struct vouch_key li, lp;
	struct vouch_cred_params p = default_params();
	struct vouch_cred c;
	uint8_t a[VOUCH_P256_POINT_LEN], b[VOUCH_P256_POINT_LEN];
	uint8_t ta[VOUCH_THUMBPRINT_LEN], tb[VOUCH_THUMBPRINT_LEN], buf[1024];
	size_t a_len = 0, b_len = 0, len = 0;

	(void)state;
	legacy_copy(&issuer, &li);
	legacy_copy(&phone_key, &lp);
	assert_true(vouch_key_is_private(&li));
	assert_int_equal(vouch_key_export_public(&issuer, a, sizeof(a), &a_len), VOUCH_OK);
	assert_int_equal(vouch_key_export_public(&li, b, sizeof(b), &b_len), VOUCH_OK);
	assert_int_equal(a_len, VOUCH_P256_POINT_LEN);
	assert_int_equal(b_len, a_len);
	assert_memory_equal(a, b, a_len);
	assert_int_equal(vouch_cose_key_thumbprint(&issuer, ta), VOUCH_OK);
	assert_int_equal(vouch_cose_key_thumbprint(&li, tb), VOUCH_OK);
	assert_memory_equal(ta, tb, sizeof(ta));

	p.cnf = &lp;
	assert_int_equal(vouch_cred_issue(&p, &li, buf, sizeof(buf), &len), VOUCH_OK);
	assert_int_equal(verify(buf, len, &c), VOUCH_OK);
	assert_int_equal(vouch_cose_key_thumbprint(&phone_key, ta), VOUCH_OK);
	assert_memory_equal(c.cnf_thumbprint, ta, sizeof(ta));
	/* The signature aside, the very bytes of the default credential. */
	assert_int_equal(len, cred_len);
	assert_memory_equal(buf, cred, len - VOUCH_P256_SIG_LEN);
	vouch_key_clear(&li);
	vouch_key_clear(&lp);
}

/* The issuer's kid, given: the same credential; another key's: one no verifier accepts. */
static void test_issuer_kid(void **state)
{
	struct vouch_cred_params p = default_params();
	struct vouch_cred c;
	uint8_t kid[VOUCH_THUMBPRINT_LEN], buf[1024];
	size_t len = 0;

	(void)state;
	assert_int_equal(vouch_cose_key_thumbprint(&issuer, kid), VOUCH_OK);
	p.issuer_kid = kid;
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len), VOUCH_OK);
	assert_int_equal(verify(buf, len, &c), VOUCH_OK);
	assert_int_equal(len, cred_len);
	assert_memory_equal(buf, cred, len - VOUCH_P256_SIG_LEN);

	assert_int_equal(vouch_cose_key_thumbprint(&other_issuer, kid), VOUCH_OK);
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len), VOUCH_OK);
	assert_int_equal(verify(buf, len, &c), VOUCH_ERR_VERIFY);
	assert_cleared(&c);
}

/* ---- RFC 9770 ---- */

static void test_token_hash(void **state)
{
	/* Expected values computed independently with python3: hashlib.sha256 over
	 * base64.urlsafe_b64encode(token).rstrip(b'='). */
	static const struct {
		const char *name;
		const char *token; /* hex, or NULL for a generated pattern */
		size_t gen_len, gen_mul, gen_add;
		const char *hash;
	} vectors[] = {
	    {"RFC 8392 A.3 signed CWT",
	     "d28443a10126a104524173796d6d657472696345434453413235365850a70175636f61703a2f2f61732e"
	     "6578616d706c652e636f6d02656572696b77037818636f61703a2f2f6c696768742e6578616d706c652e"
	     "636f6d041a5612aeb0051a5610d9f0061a5610d9f007420b7158405427c1ff28d23fbad1f29c4c7c6a55"
	     "5e601d6fa29f9179bc3d7438bacaca5acd08c8d4d4f96131680c429a01f85951ecee743a52b9b63632c5"
	     "7209120e1c9e30",
	     0, 0, 0, "481459791f2966a6fa05868254c9470dc8c411237e6a9fa1d581292a5cfbb9d4"},
	    {"RFC 8392 A.3 in tag 61",
	     "d83dd28443a10126a104524173796d6d657472696345434453413235365850a70175636f61703a2f2f61"
	     "732e6578616d706c652e636f6d02656572696b77037818636f61703a2f2f6c696768742e6578616d706c"
	     "652e636f6d041a5612aeb0051a5610d9f0061a5610d9f007420b7158405427c1ff28d23fbad1f29c4c7c"
	     "6a555e601d6fa29f9179bc3d7438bacaca5acd08c8d4d4f96131680c429a01f85951ecee743a52b9b636"
	     "32c57209120e1c9e30",
	     0, 0, 0, "9ea3f2c017b28b3dc8c31a9a1e700222ee57b41a724d65c17bda4bf8023a8717"},
	    {"1 byte", "00", 0, 0, 0,
	     "58bb119c35513a451d24dc20ef0e9031ec85b35bfc919d263e7e5d9868909cb5"},
	    {"2 bytes", "0001", 0, 0, 0,
	     "3665c4d22b27e2e5528753cc5eea6c004d330d30d705ca02e7a2ac9b92a52444"},
	    {"3 bytes", "000102", 0, 0, 0,
	     "6688ea8f2669ad284d82b62ebd2893d7167cbc941caeead579361676209f70f7"},
	    {"1000 bytes i & 0xff", NULL, 1000, 1, 0,
	     "7ee05f932e3b0d9524f53a71dca16239daf8cc918b71cd86e18254b4e7cb7a9b"},
	    {"193 bytes (7i + 3) & 0xff", NULL, 193, 7, 3,
	     "1e3549783490ab63e7d7ff494d15b90dde72fd145add1e5c6955d10e81a03d72"},
	};
	uint8_t h[VOUCH_TOKEN_HASH_LEN];
	unsigned run = 0, passed = 0;

	(void)state;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(vectors); i++) {
		uint8_t *tok;
		size_t len;

		run++;
		if (vectors[i].token != NULL) {
			tok = hexdup(vectors[i].token, &len);
		} else {
			len = vectors[i].gen_len;
			tok = malloc(len);
			assert_non_null(tok);
			for (size_t k = 0; k < len; k++)
				tok[k] = (uint8_t)(k * vectors[i].gen_mul + vectors[i].gen_add);
		}
		assert_int_equal(vouch_cred_token_hash(tok, len, h), VOUCH_OK);
		assert_hex(h, sizeof(h), vectors[i].hash);
		passed++;
		free(tok);
	}
	tu_report("rfc9770-token-hash", run, passed, 0,
	          "expected values computed with python3 hashlib/base64 (the RFC prints no CWT "
	          "token hash)");

	memset(h, 0xee, sizeof(h));
	assert_int_equal(vouch_cred_token_hash(cred, 0, h), VOUCH_ERR_INVALID);
	assert_true(all_zero(h, sizeof(h)));
	assert_int_equal(vouch_cred_token_hash(NULL, 1, h), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_cred_token_hash(cred, cred_len, NULL), VOUCH_ERR_INVALID);
}

static void test_sha256_incremental(void **state)
{
	struct vouch_sha256_ctx h;
	uint8_t one[32], inc[32];
	static const char msg[] = "the quick brown fox jumps over the lazy dog";

	(void)state;
	assert_int_equal(vouch_sha256(msg, sizeof(msg) - 1, one), VOUCH_OK);
	assert_int_equal(vouch_sha256_init(&h), VOUCH_OK);
	for (size_t i = 0; i < sizeof(msg) - 1; i += 5)
		assert_int_equal(
		    vouch_sha256_update(&h, msg + i,
		                        sizeof(msg) - 1 - i < 5 ? sizeof(msg) - 1 - i : 5),
		    VOUCH_OK);
	assert_int_equal(vouch_sha256_update(&h, NULL, 0), VOUCH_OK);
	assert_int_equal(vouch_sha256_final(&h, inc), VOUCH_OK);
	assert_memory_equal(one, inc, 32);
	/* _final released the state: using it again is a caller bug, refused. */
	assert_null(h.h);
	assert_int_equal(vouch_sha256_update(&h, msg, 1), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_sha256_final(&h, inc), VOUCH_ERR_INVALID);
	vouch_sha256_clear(&h);
	/* Abandoned half-way. */
	assert_int_equal(vouch_sha256_init(&h), VOUCH_OK);
	assert_int_equal(vouch_sha256_update(&h, msg, 3), VOUCH_OK);
	assert_int_equal(vouch_sha256_update(&h, NULL, 3), VOUCH_ERR_INVALID);
	vouch_sha256_clear(&h);
	vouch_sha256_clear(&h);
	vouch_sha256_clear(NULL);
	assert_int_equal(vouch_sha256_init(NULL), VOUCH_ERR_INVALID);
}

/* ---- round trips ---- */

static void assert_default_cred(const struct vouch_cred *c, const uint8_t *buf, size_t len)
{
	struct vouch_cred_params p = default_params();
	uint8_t h[VOUCH_TOKEN_HASH_LEN], tp[VOUCH_THUMBPRINT_LEN];

	assert_int_equal(c->claims.present, 0x1fe);
	assert_text(c->claims.iss, c->claims.iss_len, ISS);
	assert_text(c->claims.sub, c->claims.sub_len, SUB);
	assert_text(c->claims.aud, c->claims.aud_len, AUD);
	assert_text(c->phone, c->phone_len, PHONE);
	assert_int_equal(c->claims.iat, p.iat);
	assert_int_equal(c->claims.nbf, p.nbf);
	assert_int_equal(c->claims.exp, p.exp);
	assert_int_equal(c->claims.cti_len, VOUCH_CRED_CTI_LEN);
	assert_memory_equal(c->claims.cti, p.cti, VOUCH_CRED_CTI_LEN);
	assert_int_equal(c->claims.cnf_kind, VOUCH_CWT_CNF_COSE_KEY);
	assert_int_equal(c->perm_len, sizeof(perm));
	assert_memory_equal(c->perm, perm, sizeof(perm));
	/* Everything points into the verified buffer. */
	assert_true(c->perm > buf && c->perm + c->perm_len <= buf + len);
	assert_true((const uint8_t *)c->phone > buf && (const uint8_t *)c->phone < buf + len);
	assert_int_equal(vouch_cred_token_hash(buf, len, h), VOUCH_OK);
	assert_memory_equal(c->token_hash, h, sizeof(h));
	assert_int_equal(vouch_cose_key_thumbprint(&phone_key, tp), VOUCH_OK);
	assert_memory_equal(c->cnf_thumbprint, tp, sizeof(tp));
}

static void test_issue_verify(void **state)
{
	static const uint8_t prefix[] = {0xd8, 0x3d, 0xd2, 0x84, 0x58, 0x26,
	                                 0xa2, 0x01, 0x26, 0x04, 0x58, 0x20};
	struct vouch_cred c;
	struct vouch_key k;
	uint8_t kid[VOUCH_THUMBPRINT_LEN];

	(void)state;
	assert_int_equal(verify(cred, cred_len, &c), VOUCH_OK);
	assert_default_cred(&c, cred, cred_len);

	/* Tag 61 around tag 18, kid = the issuer's thumbprint in the protected header. */
	assert_true(cred_len > sizeof(prefix) + sizeof(kid));
	assert_memory_equal(cred, prefix, sizeof(prefix));
	assert_int_equal(vouch_cose_key_thumbprint(&issuer, kid), VOUCH_OK);
	assert_memory_equal(cred + sizeof(prefix), kid, sizeof(kid));

	/* The cnf key is the phone's: the CWT layer takes it back as a usable key. */
	vouch_key_init(&k);
	assert_int_equal(vouch_cwt_cnf_key(&c.claims, &k), VOUCH_OK);
	assert_int_equal(k.type, VOUCH_KEY_P256);
	vouch_key_clear(&k);

	/* Output cleared on entry, and a NULL argument is a caller bug. */
	assert_int_equal(vouch_cred_verify(cred, cred_len, &issuer, NULL, &c), VOUCH_ERR_INVALID);
	assert_cleared(&c);
	assert_int_equal(vouch_cred_verify(NULL, cred_len, &issuer, NULL, &c), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_cred_verify(cred, cred_len, NULL, NULL, &c), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_cred_verify(cred, cred_len, &issuer, NULL, NULL), VOUCH_ERR_INVALID);
	{
		struct vouch_cred_rules r = default_rules();

		r.iss = NULL;
		assert_int_equal(vouch_cred_verify(cred, cred_len, &issuer, &r, &c),
		                 VOUCH_ERR_INVALID);
		r = default_rules();
		r.aud = NULL;
		assert_int_equal(vouch_cred_verify(cred, cred_len, &issuer, &r, &c),
		                 VOUCH_ERR_INVALID);
		r = default_rules();
		r.leeway = -1;
		assert_int_equal(vouch_cred_verify(cred, cred_len, &issuer, &r, &c),
		                 VOUCH_ERR_INVALID);
		/* An Ed25519 key is not a credential issuer. */
		r = default_rules();
		assert_int_equal(vouch_cred_verify(cred, cred_len, &ed_key, &r, &c), VOUCH_ERR_KEY);
	}
}

/* s of the signature (the last 32 bytes) is at most n / 2. */
static bool low_s(const uint8_t *buf, size_t len)
{
	static const uint8_t half_n[32] = {
	    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b,
	    0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
	};

	return memcmp(buf + len - 32, half_n, 32) <= 0;
}

static void test_issue_many(void **state)
{
	struct vouch_cred_params p = default_params();
	struct vouch_cred c;
	uint8_t buf[1024];
	size_t len = 0;

	(void)state;
	/* ECDSA gives a high s half of the time: every credential still comes out low-S, and the
	 * normalised signature verifies. */
	for (unsigned i = 0; i < 64; i++) {
		p.cti[0] = (uint8_t)i;
		assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len), VOUCH_OK);
		assert_true(low_s(buf, len));
		assert_int_equal(verify(buf, len, &c), VOUCH_OK);
		assert_int_equal(c.claims.cti[0], i);
	}
}

static void test_time_and_identity(void **state)
{
	struct vouch_cred_rules r;
	struct vouch_cred c;
	struct vouch_cred_params p = default_params();
	uint8_t buf[1024];
	size_t len = 0;

	(void)state;
	r = default_rules();
	assert_int_equal(vouch_cred_verify(cred, cred_len, &other_issuer, &r, &c),
	                 VOUCH_ERR_VERIFY);
	assert_cleared(&c);

	/* exp and nbf, each side of the leeway. */
	r.now = T0 + VOUCH_CRED_LIFETIME + LEEWAY - 1;
	assert_int_equal(vouch_cred_verify(cred, cred_len, &issuer, &r, &c), VOUCH_OK);
	r.now = T0 + VOUCH_CRED_LIFETIME + LEEWAY;
	assert_int_equal(vouch_cred_verify(cred, cred_len, &issuer, &r, &c), VOUCH_ERR_CWT_EXPIRED);
	assert_cleared(&c);
	r.now = T0 - LEEWAY;
	assert_int_equal(vouch_cred_verify(cred, cred_len, &issuer, &r, &c), VOUCH_OK);
	r.now = T0 - LEEWAY - 1;
	assert_int_equal(vouch_cred_verify(cred, cred_len, &issuer, &r, &c), VOUCH_ERR_CWT_NOT_YET);
	assert_cleared(&c);

	r = default_rules();
	r.iss = "vouch:fedcba9876543210";
	assert_int_equal(vouch_cred_verify(cred, cred_len, &issuer, &r, &c), VOUCH_ERR_CWT_ISSUER);
	r.iss = "vouch:0123456789abcde";
	assert_int_equal(vouch_cred_verify(cred, cred_len, &issuer, &r, &c), VOUCH_ERR_CWT_ISSUER);
	r = default_rules();
	r.aud = "fedcba9876543210";
	assert_int_equal(vouch_cred_verify(cred, cred_len, &issuer, &r, &c),
	                 VOUCH_ERR_CWT_AUDIENCE);
	r.aud = "";
	assert_int_equal(vouch_cred_verify(cred, cred_len, &issuer, &r, &c),
	                 VOUCH_ERR_CWT_AUDIENCE);
	assert_cleared(&c);

	/* Issued in the future (beyond the leeway) while already valid by nbf. */
	p.iat = T0 + 3600;
	p.nbf = T0 - 3600;
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len), VOUCH_OK);
	r = default_rules();
	assert_int_equal(vouch_cred_verify(buf, len, &issuer, &r, &c), VOUCH_ERR_CWT_IAT);
	r.now = T0 + 3600 - LEEWAY;
	assert_int_equal(vouch_cred_verify(buf, len, &issuer, &r, &c), VOUCH_OK);
}

static void test_every_byte_flip(void **state)
{
	static const uint8_t flips[] = {0x01, 0x80, 0xff};
	uint8_t buf[1024];
	struct vouch_cred c;
	unsigned tried = 0;

	(void)state;
	assert_true(cred_len <= sizeof(buf));
	for (size_t i = 0; i < cred_len; i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			int rc;

			memcpy(buf, cred, cred_len);
			buf[i] ^= flips[f];
			rc = verify(buf, cred_len, &c);
			if (rc == VOUCH_OK)
				fail_msg("flip 0x%02x at byte %zu verified", flips[f], i);
			assert_true(rc < 0);
			assert_cleared(&c);
			tried++;
		}
	}
	assert_int_equal(tried, 3 * cred_len);
}

static void test_every_truncation(void **state)
{
	struct vouch_cred c;
	uint8_t *buf;

	(void)state;
	for (size_t len = 0; len < cred_len; len++) {
		int rc;

		/* A fresh allocation of exactly len bytes, so that ASan sees any read past it. */
		buf = malloc(len > 0 ? len : 1);
		assert_non_null(buf);
		memcpy(buf, cred, len);
		rc = verify(buf, len, &c);
		if (rc == VOUCH_OK)
			fail_msg("truncation to %zu bytes verified", len);
		assert_true(rc < 0);
		assert_cleared(&c);
		free(buf);
	}
}

static void test_oversized(void **state)
{
	struct vouch_cred_params p = default_params();
	struct vouch_cred c;
	uint8_t *big, *out;
	size_t big_len = VOUCH_POLICY_ENCODED_MAX, len = 0;

	(void)state;
	/* One byte past the limit is refused before anything is decoded. */
	big = calloc(1, VOUCH_CRED_MAX + 1);
	assert_non_null(big);
	memcpy(big, cred, cred_len);
	assert_int_equal(verify(big, VOUCH_CRED_MAX + 1, &c), VOUCH_ERR_CBOR_LIMIT);
	assert_cleared(&c);
	/* A trailing byte after a valid credential. */
	assert_int_equal(verify(big, cred_len + 1, &c), VOUCH_ERR_CBOR_TRAILING);
	free(big);

	/* The largest permissions fit in VOUCH_CRED_MAX: a bstr item of 64 KiB in all. */
	big = malloc(big_len + 1);
	out = malloc(VOUCH_CRED_MAX);
	assert_non_null(big);
	assert_non_null(out);
	big[0] = 0x59;
	big[1] = (uint8_t)((big_len - 3) >> 8);
	big[2] = (uint8_t)(big_len - 3);
	for (size_t i = 3; i < big_len; i++)
		big[i] = (uint8_t)i;
	p.perm = big;
	p.perm_len = big_len;
	assert_int_equal(vouch_cred_issue(&p, &issuer, out, VOUCH_CRED_MAX, &len), VOUCH_OK);
	assert_true(len <= VOUCH_CRED_MAX);
	assert_int_equal(verify(out, len, &c), VOUCH_OK);
	assert_int_equal(c.perm_len, big_len);
	assert_memory_equal(c.perm, big, big_len);
	/* ...and not a byte less of room than the credential takes. */
	assert_int_equal(vouch_cred_issue(&p, &issuer, out, len - 1, &len), VOUCH_ERR_BUFFER);
	assert_int_equal(len, 0);

	/* One byte more is not permissions a credential carries. */
	big[0] = 0x5a;
	big[1] = 0;
	big[2] = 0;
	big[3] = (uint8_t)((big_len + 1 - 5) >> 8);
	big[4] = (uint8_t)(big_len + 1 - 5);
	p.perm_len = big_len + 1;
	assert_int_equal(vouch_cred_issue(&p, &issuer, out, VOUCH_CRED_MAX, &len),
	                 VOUCH_ERR_INVALID);
	free(big);
	free(out);
}

static void test_issue_errors(void **state)
{
	struct vouch_cred_params p;
	struct vouch_key pub;
	uint8_t buf[1024], raw[VOUCH_P256_POINT_LEN];
	size_t len = 77, raw_len = 0;
	char long_name[VOUCH_CRED_TEXT_MAX + 2];
	static const uint8_t bad_perm[] = {0x82, 0x01};

	(void)state;
	p = default_params();
	assert_int_equal(vouch_cred_issue(NULL, &issuer, buf, sizeof(buf), &len),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(len, 0);
	assert_int_equal(vouch_cred_issue(&p, NULL, buf, sizeof(buf), &len), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_cred_issue(&p, &issuer, NULL, sizeof(buf), &len), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), NULL), VOUCH_ERR_INVALID);

	/* Keys: the issuer signs (private P-256), the phone key is P-256. */
	assert_int_equal(vouch_key_export_public(&issuer, raw, sizeof(raw), &raw_len), VOUCH_OK);
	vouch_key_init(&pub);
	assert_int_equal(vouch_key_import_public(&pub, VOUCH_KEY_P256, raw, raw_len), VOUCH_OK);
	assert_int_equal(vouch_cred_issue(&p, &pub, buf, sizeof(buf), &len), VOUCH_ERR_KEY);
	vouch_key_clear(&pub);
	assert_int_equal(vouch_cred_issue(&p, &ed_key, buf, sizeof(buf), &len), VOUCH_ERR_KEY);
	p.cnf = &ed_key;
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len), VOUCH_ERR_KEY);
	p.cnf = NULL;
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len), VOUCH_ERR_INVALID);

	/* Names: present, 1..255 bytes. */
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	const char **names[] = {&p.iss, &p.sub, &p.aud, &p.phone};
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(names); i++) {
		p = default_params();
		*names[i] = NULL;
		assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len),
		                 VOUCH_ERR_INVALID);
		*names[i] = "";
		assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len),
		                 VOUCH_ERR_INVALID);
		*names[i] = long_name;
		assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len),
		                 VOUCH_ERR_INVALID);
		*names[i] = long_name + 1; /* exactly 255 */
		assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len), VOUCH_OK);
	}

	/* Times: valid at some point. */
	p = default_params();
	p.exp = p.nbf;
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len), VOUCH_ERR_INVALID);
	p = default_params();
	p.iat = p.exp;
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len), VOUCH_ERR_INVALID);

	/* Permissions: one CBOR item. */
	p = default_params();
	p.perm = bad_perm;
	p.perm_len = sizeof(bad_perm);
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len), VOUCH_ERR_INVALID);
	p.perm = NULL;
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len), VOUCH_ERR_INVALID);
	p.perm = perm;
	p.perm_len = 0;
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, sizeof(buf), &len), VOUCH_ERR_INVALID);

	/* Room: exactly the credential's size suffices, one byte less does not. */
	p = default_params();
	for (size_t cap = 0; cap < cred_len; cap += (cap < 120 ? 1 : 37)) {
		assert_int_equal(vouch_cred_issue(&p, &issuer, buf, cap, &len), VOUCH_ERR_BUFFER);
		assert_int_equal(len, 0);
	}
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, cred_len - 1, &len), VOUCH_ERR_BUFFER);
	assert_int_equal(vouch_cred_issue(&p, &issuer, buf, cred_len, &len), VOUCH_OK);
	assert_int_equal(len, cred_len);
}

/* ---- claims that are not a credential's ---- */

struct raw_payload {
	const uint8_t *p;
	size_t len;
};

static int write_raw(const void *ctx, uint8_t *out, size_t cap, size_t *len)
{
	const struct raw_payload *rp = ctx;

	*len = rp->len;
	if (out == NULL)
		return VOUCH_OK;
	if (cap < rp->len)
		return VOUCH_ERR_BUFFER;
	memcpy(out, rp->p, rp->len);
	return VOUCH_OK;
}

/* Sign any payload in the credential envelope with the issuer key. */
static size_t sign_payload(const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap)
{
	struct raw_payload rp = {payload, payload_len};
	size_t len = 0;

	assert_int_equal(vouch_cred_envelope_sign(&issuer, true, write_raw, &rp, out, cap, &len),
	                 VOUCH_OK);
	return len;
}

/* The default claims, as a CWT claims struct and extras the test can change. */
struct claims {
	struct vouch_cwt_claims c;
	struct vouch_cwt_extra extra[4];
	size_t n_extra;
	uint8_t cnf[128];
	uint8_t phone[64];
	uint8_t cti[VOUCH_CRED_CTI_LEN + 1];
};

static void default_claims(struct claims *cl)
{
	struct vouch_cbor_writer w;
	size_t len = 0;

	memset(cl, 0, sizeof(*cl));
	cl->c.present = 0x1fe;
	cl->c.iss = ISS;
	cl->c.iss_len = strlen(ISS);
	cl->c.sub = SUB;
	cl->c.sub_len = strlen(SUB);
	cl->c.aud = AUD;
	cl->c.aud_len = strlen(AUD);
	cl->c.iat = T0;
	cl->c.nbf = T0;
	cl->c.exp = T0 + 3600;
	memset(cl->cti, 0x42, sizeof(cl->cti));
	cl->c.cti = cl->cti;
	cl->c.cti_len = VOUCH_CRED_CTI_LEN;
	vouch_cbor_writer_init(&w, cl->cnf, sizeof(cl->cnf));
	vouch_cose_key_write_public(&w, &phone_key, NULL, 0, 0);
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_OK);
	cl->c.cnf_kind = VOUCH_CWT_CNF_COSE_KEY;
	cl->c.cnf = cl->cnf;
	cl->c.cnf_len = len;
	vouch_cbor_writer_init(&w, cl->phone, sizeof(cl->phone));
	vouch_cbor_write_cstr(&w, PHONE);
	assert_int_equal(vouch_cbor_writer_finish(&w, &len), VOUCH_OK);
	cl->extra[0] = (struct vouch_cwt_extra){VOUCH_CRED_CLAIM_PERM, perm, sizeof(perm)};
	cl->extra[1] = (struct vouch_cwt_extra){VOUCH_CRED_CLAIM_PHONE, cl->phone, len};
	cl->n_extra = 2;
}

/* Encode, sign with the issuer, verify: the result of vouch_cred_verify, and of the payload
 * decoder on its own (which must agree). */
static int verify_claims(const struct claims *cl)
{
	uint8_t payload[1024], buf[2048];
	size_t payload_len = 0, len;
	struct vouch_cred c, direct;
	int rc, direct_rc;

	assert_int_equal(vouch_cwt_claims_encode(&cl->c, cl->extra, cl->n_extra, payload,
	                                         sizeof(payload), &payload_len),
	                 VOUCH_OK);
	len = sign_payload(payload, payload_len, buf, sizeof(buf));
	rc = verify(buf, len, &c);
	if (rc != VOUCH_OK)
		assert_cleared(&c);
	direct_rc = vouch_cred_claims_parse(payload, payload_len, &direct);
	if (direct_rc != VOUCH_OK)
		assert_cleared(&direct);
	/* The decoder alone applies no time or identity rule. */
	if (rc == VOUCH_ERR_CWT_ISSUER || rc == VOUCH_ERR_CWT_AUDIENCE)
		assert_int_equal(direct_rc, VOUCH_OK);
	else
		assert_int_equal(direct_rc, rc);
	return rc;
}

static void test_claims_strict(void **state)
{
	static const uint8_t nine[] = {0x09};
	static const uint8_t text_sub_nul[] = {0x63, 'b', 0x00, 'b'};
	static const uint8_t float_date[] = {0xfb, 0x41, 0xd9, 0x54, 0xfc, 0x40, 0x00, 0x00, 0x00};
	static const uint8_t bstr_phone[] = {0x43, 'a', 'b', 'c'};
	static const uint8_t empty_phone[] = {0x60};
	struct claims cl;
	struct vouch_cbor_writer w;
	size_t len = 0;

	(void)state;
	default_claims(&cl);
	assert_int_equal(verify_claims(&cl), VOUCH_OK);

	/* Every claim is required. */
	for (unsigned label = VOUCH_CWT_ISS; label <= VOUCH_CWT_CNF; label++) {
		default_claims(&cl);
		cl.c.present &= ~(1u << label);
		assert_int_equal(verify_claims(&cl), VOUCH_ERR_CWT_MISSING);
	}
	default_claims(&cl);
	cl.extra[0] = cl.extra[1];
	cl.n_extra = 1;
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CWT_MISSING);
	default_claims(&cl);
	cl.n_extra = 1;
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CWT_MISSING);

	/* And no other claim. */
	default_claims(&cl);
	cl.extra[cl.n_extra++] = (struct vouch_cwt_extra){9, nine, sizeof(nine)};
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CRED_FORMAT);
	default_claims(&cl);
	cl.extra[cl.n_extra++] = (struct vouch_cwt_extra){-65539, nine, sizeof(nine)};
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CRED_FORMAT);
	default_claims(&cl);
	cl.extra[cl.n_extra++] = (struct vouch_cwt_extra){0, nine, sizeof(nine)};
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CRED_FORMAT);

	/* cti is 16 bytes. */
	default_claims(&cl);
	cl.c.cti_len = VOUCH_CRED_CTI_LEN - 1;
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CRED_FORMAT);
	cl.c.cti_len = VOUCH_CRED_CTI_LEN + 1;
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CRED_FORMAT);
	cl.c.cti_len = 0;
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CRED_FORMAT);

	/* cnf is a P-256 COSE_Key in its canonical form. */
	default_claims(&cl);
	vouch_cbor_writer_init(&w, cl.cnf, sizeof(cl.cnf));
	vouch_cose_key_write_public(&w, &ed_key, NULL, 0, 0);
	assert_int_equal(vouch_cbor_writer_finish(&w, &cl.c.cnf_len), VOUCH_OK);
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CWT_CNF);
	default_claims(&cl);
	vouch_cbor_writer_init(&w, cl.cnf, sizeof(cl.cnf));
	vouch_cose_key_write_public(&w, &phone_key, (const uint8_t *)"k", 1, 0);
	assert_int_equal(vouch_cbor_writer_finish(&w, &cl.c.cnf_len), VOUCH_OK);
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CWT_CNF);
	default_claims(&cl);
	vouch_cbor_writer_init(&w, cl.cnf, sizeof(cl.cnf));
	vouch_cose_key_write_public(&w, &phone_key, NULL, 0, VOUCH_COSE_ALG_ES256);
	assert_int_equal(vouch_cbor_writer_finish(&w, &cl.c.cnf_len), VOUCH_OK);
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CWT_CNF);
	default_claims(&cl);
	cl.c.cnf_kind = VOUCH_CWT_CNF_KID;
	cl.c.cnf = (const uint8_t *)"kid";
	cl.c.cnf_len = 3;
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CWT_CNF);

	/* Dates are integers (a CWT may use floats; a credential does not). */
	default_claims(&cl);
	cl.c.present &= ~(uint32_t)VOUCH_CWT_HAS_IAT;
	cl.extra[cl.n_extra++] =
	    (struct vouch_cwt_extra){VOUCH_CWT_IAT, float_date, sizeof(float_date)};
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CRED_FORMAT);
	/* ...and make a credential valid at some time. */
	default_claims(&cl);
	cl.c.exp = cl.c.nbf;
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CRED_FORMAT);
	default_claims(&cl);
	cl.c.iat = cl.c.exp + 1;
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CRED_FORMAT);

	/* Names: text of 1..255 bytes without NUL. */
	default_claims(&cl);
	cl.c.present &= ~(uint32_t)VOUCH_CWT_HAS_SUB;
	cl.extra[cl.n_extra++] =
	    (struct vouch_cwt_extra){VOUCH_CWT_SUB, text_sub_nul, sizeof(text_sub_nul)};
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CRED_FORMAT);
	default_claims(&cl);
	cl.c.sub_len = 0;
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CRED_FORMAT);
	default_claims(&cl);
	cl.c.aud = "x";
	cl.c.aud_len = 1;
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CWT_AUDIENCE);
	default_claims(&cl);
	cl.extra[1] =
	    (struct vouch_cwt_extra){VOUCH_CRED_CLAIM_PHONE, bstr_phone, sizeof(bstr_phone)};
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CWT_CLAIM);
	default_claims(&cl);
	cl.extra[1] =
	    (struct vouch_cwt_extra){VOUCH_CRED_CLAIM_PHONE, empty_phone, sizeof(empty_phone)};
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CRED_FORMAT);
	default_claims(&cl);
	cl.c.present &= ~(uint32_t)VOUCH_CWT_HAS_ISS;
	cl.extra[cl.n_extra++] = (struct vouch_cwt_extra){VOUCH_CWT_ISS, nine, sizeof(nine)};
	assert_int_equal(verify_claims(&cl), VOUCH_ERR_CWT_CLAIM);

	/* A payload that is not a claims map. */
	{
		static const uint8_t arr[] = {0x80};
		static const uint8_t text_key[] = {0xa1, 0x61, 'x', 0x01};
		uint8_t buf[512];
		struct vouch_cred c;

		len = sign_payload(arr, sizeof(arr), buf, sizeof(buf));
		assert_int_equal(verify(buf, len, &c), VOUCH_ERR_CWT_CLAIM);
		len = sign_payload(text_key, sizeof(text_key), buf, sizeof(buf));
		assert_int_equal(verify(buf, len, &c), VOUCH_ERR_CRED_FORMAT);
		assert_int_equal(vouch_cred_claims_parse(NULL, 0, &c), VOUCH_ERR_INVALID);
		assert_int_equal(vouch_cred_claims_parse(arr, 1, NULL), VOUCH_ERR_INVALID);
	}
}

/* ---- one credential, one encoding ---- */

static void test_envelope_canonical(void **state)
{
	static const uint8_t n[32] = {
	    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
	    0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};
	uint8_t buf[1200];
	struct vouch_cred c;
	struct vouch_cose_sign1 msg;
	size_t len, prot_end = 4 + 2 + VOUCH_CRED_PROTECTED_LEN;
	unsigned borrow = 0;

	(void)state;
	/* The high-S twin of the signature verifies as ECDSA, and is refused here. */
	memcpy(buf, cred, cred_len);
	for (size_t i = 32; i-- > 0;) {
		unsigned d = (unsigned)n[i] - buf[cred_len - 32 + i] - borrow;

		borrow = d > 0xff;
		buf[cred_len - 32 + i] = (uint8_t)d;
	}
	assert_int_equal(vouch_cose_sign1_decode(buf + 2, cred_len - 2, &msg), VOUCH_OK);
	assert_int_equal(vouch_cose_sign1_verify(&msg, &issuer, NULL, 0, NULL, 0), VOUCH_OK);
	assert_int_equal(verify(buf, cred_len, &c), VOUCH_ERR_VERIFY);
	assert_cleared(&c);

	/* Without tag 61, or without tag 18 inside it. */
	assert_int_equal(verify(cred + 2, cred_len - 2, &c), VOUCH_ERR_COSE_STRUCTURE);
	buf[0] = 0xd8;
	buf[1] = 0x3d;
	memcpy(buf + 2, cred + 3, cred_len - 3);
	assert_int_equal(verify(buf, cred_len - 1, &c), VOUCH_ERR_COSE_STRUCTURE);
	/* Tag 61 in a longer head (d9 00 3d). */
	buf[0] = 0xd9;
	buf[1] = 0x00;
	buf[2] = 0x3d;
	memcpy(buf + 3, cred + 2, cred_len - 2);
	assert_int_equal(verify(buf, cred_len + 1, &c), VOUCH_ERR_COSE_STRUCTURE);

	/* Something in the unprotected header (not covered by the signature): {99: 0}. */
	assert_int_equal(cred[prot_end], 0xa0);
	memcpy(buf, cred, prot_end);
	buf[prot_end] = 0xa1;
	buf[prot_end + 1] = 0x18;
	buf[prot_end + 2] = 0x63;
	buf[prot_end + 3] = 0x00;
	memcpy(buf + prot_end + 4, cred + prot_end + 1, cred_len - prot_end - 1);
	len = cred_len + 3;
	assert_int_equal(vouch_cose_sign1_decode(buf + 2, len - 2, &msg), VOUCH_OK);
	assert_int_equal(vouch_cose_sign1_verify(&msg, &issuer, NULL, 0, NULL, 0), VOUCH_OK);
	assert_int_equal(verify(buf, len, &c), VOUCH_ERR_COSE_HEADER);

	/* The payload's bstr head one size longer (59 00 xx for 58 xx). */
	assert_int_equal(cred[prot_end + 1], 0x58);
	memcpy(buf, cred, prot_end + 1);
	buf[prot_end + 1] = 0x59;
	buf[prot_end + 2] = 0;
	memcpy(buf + prot_end + 3, cred + prot_end + 2, cred_len - prot_end - 2);
	len = cred_len + 1;
	assert_int_equal(vouch_cose_sign1_decode(buf + 2, len - 2, &msg), VOUCH_OK);
	assert_int_equal(vouch_cose_sign1_verify(&msg, &issuer, NULL, 0, NULL, 0), VOUCH_OK);
	assert_int_equal(verify(buf, len, &c), VOUCH_ERR_COSE_STRUCTURE);
}

static void test_envelope_headers(void **state)
{
	struct vouch_cose_hdr_params hp;
	struct vouch_cred c;
	uint8_t kid[VOUCH_THUMBPRINT_LEN], payload[1024], buf[2048];
	size_t payload_len = 0, len = 0;
	struct vouch_cose_sign1 msg;

	(void)state;
	/* The claims of the good credential, re-signed with other protected headers. */
	assert_int_equal(vouch_cose_sign1_decode(cred + 2, cred_len - 2, &msg), VOUCH_OK);
	payload_len = msg.payload_len;
	memcpy(payload, msg.payload, payload_len);
	assert_int_equal(vouch_cose_key_thumbprint(&issuer, kid), VOUCH_OK);
	buf[0] = 0xd8;
	buf[1] = 0x3d;

	memset(&hp, 0, sizeof(hp));
	hp.kid = kid;
	hp.kid_len = sizeof(kid);
	hp.kid_protected = true;
	hp.has_content_type = true;
	hp.content_type = 61;
	assert_int_equal(vouch_cose_sign1_create(&issuer, &hp, payload, payload_len, NULL, 0, true,
	                                         false, buf + 2, sizeof(buf) - 2, &len),
	                 VOUCH_OK);
	assert_int_equal(verify(buf, len + 2, &c), VOUCH_ERR_COSE_HEADER);

	/* kid missing, in the unprotected bucket, or another key's. */
	assert_int_equal(vouch_cose_sign1_create(&issuer, NULL, payload, payload_len, NULL, 0, true,
	                                         false, buf + 2, sizeof(buf) - 2, &len),
	                 VOUCH_OK);
	assert_int_equal(verify(buf, len + 2, &c), VOUCH_ERR_COSE_HEADER);
	hp.has_content_type = false;
	hp.kid_protected = false;
	assert_int_equal(vouch_cose_sign1_create(&issuer, &hp, payload, payload_len, NULL, 0, true,
	                                         false, buf + 2, sizeof(buf) - 2, &len),
	                 VOUCH_OK);
	assert_int_equal(verify(buf, len + 2, &c), VOUCH_ERR_COSE_HEADER);
	hp.kid_protected = true;
	kid[0] ^= 1;
	assert_int_equal(vouch_cose_sign1_create(&issuer, &hp, payload, payload_len, NULL, 0, true,
	                                         false, buf + 2, sizeof(buf) - 2, &len),
	                 VOUCH_OK);
	assert_int_equal(verify(buf, len + 2, &c), VOUCH_ERR_VERIFY);

	/* Signed by an Ed25519 key with the right kid for the issuer: wrong algorithm. */
	kid[0] ^= 1;
	assert_int_equal(vouch_cose_sign1_create(&ed_key, &hp, payload, payload_len, NULL, 0, true,
	                                         false, buf + 2, sizeof(buf) - 2, &len),
	                 VOUCH_OK);
	assert_int_equal(verify(buf, len + 2, &c), VOUCH_ERR_COSE_ALG);

	/* A detached payload. */
	assert_int_equal(vouch_cose_sign1_create(&issuer, &hp, payload, payload_len, NULL, 0, true,
	                                         true, buf + 2, sizeof(buf) - 2, &len),
	                 VOUCH_OK);
	assert_int_equal(verify(buf, len + 2, &c), VOUCH_ERR_COSE_STRUCTURE);
	assert_cleared(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_thumbprint_rfc9679), cmocka_unit_test(test_thumbprint_keys),
	    cmocka_unit_test(test_legacy_keys),        cmocka_unit_test(test_issuer_kid),
	    cmocka_unit_test(test_token_hash),         cmocka_unit_test(test_sha256_incremental),
	    cmocka_unit_test(test_issue_verify),       cmocka_unit_test(test_issue_many),
	    cmocka_unit_test(test_time_and_identity),  cmocka_unit_test(test_every_byte_flip),
	    cmocka_unit_test(test_every_truncation),   cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_issue_errors),       cmocka_unit_test(test_claims_strict),
	    cmocka_unit_test(test_envelope_canonical), cmocka_unit_test(test_envelope_headers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
