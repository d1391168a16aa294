/*
 * Every COSE_Encrypt0 and COSE_Encrypt case of the cose-wg Examples (tests/vectors/cose-examples/):
 * decode, decrypt with the input key, compare the plaintext, check the AAD / CEK / KDF context /
 * ECDH secret / KEK intermediates independently through the crypto port, re-create the message
 * byte for byte where the input is deterministic and expressible, and refuse every fail:true
 * case with its exact error. Cases outside the API or the crypto port are counted as skipped,
 * with the reason, and must still be refused with the exact error they deserve.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vouch/cose.h"
#include "../../lib/cose_internal.h"

#define PT_MAX  256
#define OUT_MAX 1024

/* The P-256 recipient key of the Examples ("meriadoc.brandybuck@buckland.example"): stands in as
 * the receiver's key for skipped cases whose own key the port cannot hold (P-521, X25519). */
static const char *const MERIADOC_D = "r_kHyZ-a06rmxM3yESK84r1otSg-aQcVStkRhA-iCM8";

/* ---- JSON and byte helpers ---- */

#define MAX_ALLOCS 48

struct vec {
	const char *file;
	json_t *j;
	const json_t *input, *enc, *inter, *r0, *key;
	bool is0, fail;
	int64_t alg, ralg;
	const char *ralg_name, *crv, *kty;
	uint8_t *cbor, *pt, *ext;
	size_t cbor_len, pt_len, ext_len;
	void *allocs[MAX_ALLOCS];
	size_t n_allocs;
};

static void *keep(struct vec *v, void *p)
{
	assert_true(v->n_allocs < MAX_ALLOCS);
	v->allocs[v->n_allocs++] = p;
	return p;
}

static uint8_t *vhex(struct vec *v, const char *hex, size_t *len)
{
	return keep(v, tu_hex(hex, len));
}

/* A required hex member of obj. */
static uint8_t *vhex_member(struct vec *v, const json_t *obj, const char *name, size_t *len)
{
	const char *s = tu_str(obj, name);

	if (s == NULL)
		fail_msg("%s: no %s", v->file, name);
	return vhex(v, s, len);
}

/* A JWK member: base64url under its name, or hex under name_hex; NULL when absent. */
static uint8_t *jwk_member(struct vec *v, const json_t *key, const char *name, size_t *len)
{
	char hexname[32];
	const char *s = tu_str(key, name);

	if (s != NULL)
		return keep(v, tu_b64url(s, len));
	snprintf(hexname, sizeof(hexname), "%s_hex", name);
	s = tu_str(key, hexname);
	if (s != NULL)
		return vhex(v, s, len);
	*len = 0;
	return NULL;
}

/* The "alg" of a layer, from its protected or its unprotected bucket. */
static const char *layer_alg(const json_t *layer)
{
	const char *s = tu_str(json_object_get(layer, "protected"), "alg");

	return s != NULL ? s : tu_str(json_object_get(layer, "unprotected"), "alg");
}

static const struct {
	const char *name;
	int64_t alg;
} alg_names[] = {
    {"A128GCM", 1},
    {"A192GCM", 2},
    {"A256GCM", 3},
    {"AES-CCM-16-128/64", 10},
    {"AES-CCM-16-256/64", 11},
    {"AES-CCM-64-128/64", 12},
    {"AES-CCM-64-256/64", 13},
    {"AES-CCM-16-128/128", 30},
    {"AES-CCM-16-256/128", 31},
    {"AES-CCM-64-128/128", 32},
    {"AES-CCM-64-256/128", 33},
    {"direct", -6},
    {"A128KW", -3},
    {"A192KW", -4},
    {"A256KW", -5},
    {"HKDF-HMAC-SHA-256", -10},
    {"HKDF-HMAC-SHA-512", -11},
    {"ECDH-ES", -25},
    {"ECDH-ES-512", -26},
    {"ECDH-SS", -27},
    {"ECDH-SS-256", -27},
    {"ECDH-SS-512", -28},
    {"ECDH-ES-A128KW", -29},
    {"ECDH-ES-A192KW", -30},
    {"ECDH-ES-A256KW", -31},
    {"ECDH-SS-A128KW", -32},
    {"ECDH-SS+A128KW", -32},
    {"ECDH-SS-A192KW", -33},
    {"ECDH-SS-A256KW", -34},
};

static int64_t alg_from_name(const char *name)
{
	assert_non_null(name);
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(alg_names); i++)
		if (strcmp(alg_names[i].name, name) == 0)
			return alg_names[i].alg;
	fail_msg("unknown algorithm name %s", name);
	return 0;
}

/* The AES-KW step of a key-wrap recipient algorithm (0 when it has none). */
static int64_t kw_alg_of(int64_t ralg)
{
	switch (ralg) {
	case -3:
	case -29:
	case -32:
		return -3;
	case -4:
	case -30:
	case -33:
		return -4;
	case -5:
	case -31:
	case -34:
		return -5;
	default:
		return 0;
	}
}

static size_t kw_len_of(int64_t kw_alg)
{
	return kw_alg == -3 ? 16 : kw_alg == -4 ? 24 : 32;
}

static bool is_ecdh_es(int64_t ralg)
{
	return ralg == -25 || ralg == -29 || ralg == -30 || ralg == -31;
}

static void assert_bytes(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len,
                         const char *file, const char *what)
{
	if (got_len != want_len || memcmp(got, want, want_len) != 0)
		fail_msg("%s: %s differs (%zu bytes, want %zu)", file, what, got_len, want_len);
}

/* A text member of a header object as bytes (kid). */
static const char *hdr_text(const json_t *layer, const char *bucket, const char *name)
{
	return tu_str(json_object_get(layer, bucket), name);
}

/* ---- families ---- */

struct family {
	const char *name;
	unsigned run, passed, skipped;
	char note[512];
};

static void note_add(struct family *f, const char *reason)
{
	size_t len = strlen(f->note);

	if (strstr(f->note, reason) != NULL)
		return;
	snprintf(f->note + len, sizeof(f->note) - len, "%s%s", len > 0 ? "; " : "", reason);
}

/* ---- one vector ---- */

static void vec_open(struct vec *v, const char *file)
{
	const json_t *recipients;
	const char *s;

	memset(v, 0, sizeof(*v));
	v->file = file;
	v->j = tu_load_json(file);
	v->input = json_object_get(v->j, "input");
	v->enc = json_object_get(v->input, "encrypted");
	v->is0 = v->enc != NULL;
	if (!v->is0)
		v->enc = json_object_get(v->input, "enveloped");
	assert_non_null(v->enc);
	v->fail = json_is_true(json_object_get(v->j, "fail"));
	v->inter = json_object_get(v->j, "intermediates");
	recipients = json_object_get(v->enc, "recipients");
	assert_true(json_array_size(recipients) == 1);
	v->r0 = json_array_get(recipients, 0);
	v->key = json_object_get(v->r0, "key");
	if (v->key == NULL) /* three layers: the key sits one level down */
		v->key =
		    json_object_get(json_array_get(json_object_get(v->r0, "recipients"), 0), "key");
	assert_non_null(v->key);
	v->kty = tu_str(v->key, "kty");
	v->crv = tu_str(v->key, "crv");
	v->alg = alg_from_name(layer_alg(v->enc));
	v->ralg_name = layer_alg(v->r0);
	v->ralg = alg_from_name(v->ralg_name);

	v->cbor = vhex_member(v, json_object_get(v->j, "output"), "cbor", &v->cbor_len);
	s = tu_str(v->input, "plaintext");
	if (s != NULL) {
		v->pt_len = strlen(s);
		v->pt = keep(v, malloc(v->pt_len + 1));
		memcpy(v->pt, s, v->pt_len + 1);
	} else {
		v->pt = vhex_member(v, v->input, "plaintext_hex", &v->pt_len);
	}
	s = tu_str(v->enc, "external");
	v->ext = s != NULL ? vhex(v, s, &v->ext_len) : NULL;
}

static void vec_close(struct vec *v)
{
	for (size_t i = 0; i < v->n_allocs; i++)
		free(v->allocs[i]);
	json_decref(v->j);
}

/* The receiver's key: a secret for "oct" keys, else the P-256 private key (d). */
static void receiver_key(struct vec *v, struct vouch_key *priv, struct vouch_cose_recipient_key *rk,
                         bool use_kid)
{
	const char *kid;
	uint8_t *d;
	size_t len;

	memset(rk, 0, sizeof(*rk));
	if (strcmp(v->kty, "oct") == 0) {
		rk->secret = jwk_member(v, v->key, "k", &rk->secret_len);
		assert_non_null(rk->secret);
	} else {
		if (v->crv != NULL && strcmp(v->crv, "P-256") == 0)
			d = jwk_member(v, v->key, "d", &len);
		else
			d = keep(v, tu_b64url(MERIADOC_D, &len));
		assert_non_null(d);
		assert_int_equal(vouch_key_import_private(priv, VOUCH_KEY_P256, d, len), VOUCH_OK);
		rk->priv = priv;
	}
	kid = hdr_text(v->r0, "unprotected", "kid");
	if (use_kid && kid != NULL) {
		rk->kid = (const uint8_t *)kid;
		rk->kid_len = strlen(kid);
	}
}

/* Why a case is outside the API or the port, and the error it must be refused with. */
static const char *skip_reason(const struct vec *v, int *want)
{
	*want = VOUCH_OK;
	if (json_object_get(v->r0, "recipients") != NULL) {
		*want = VOUCH_ERR_UNSUPPORTED;
		return "three-layer recipients";
	}
	switch (v->ralg) {
	case -10:
	case -11:
		*want = VOUCH_ERR_COSE_ALG;
		return "direct+HKDF not in the API";
	case -26:
	case -28:
		*want = VOUCH_ERR_COSE_ALG;
		return "ECDH with HKDF-SHA-512 not in the API";
	case -27:
	case -32:
	case -33:
	case -34:
		*want = VOUCH_ERR_COSE_ALG;
		return "ECDH-SS not in the API";
	default:
		break;
	}
	if (is_ecdh_es(v->ralg) &&
	    json_integer_value(json_object_get(json_object_get(v->r0, "unsent"), "compressed"))) {
		*want = VOUCH_ERR_UNSUPPORTED;
		return "compressed ephemeral point (y as a sign bit) not supported";
	}
	if (is_ecdh_es(v->ralg) && strcmp(v->crv, "P-521") == 0) {
		*want = VOUCH_ERR_UNSUPPORTED;
		return "P-521 not in the crypto port";
	}
	if (is_ecdh_es(v->ralg) && strcmp(v->crv, "X25519") == 0) {
		*want = VOUCH_ERR_UNSUPPORTED;
		return "X25519 not in the crypto port";
	}
	if (!v->is0 && json_object_get(json_object_get(v->enc, "unprotected"), "partialIV_hex")) {
		*want = VOUCH_ERR_UNSUPPORTED;
		return "Partial IV on COSE_Encrypt needs a context IV the API does not take";
	}
	if (tu_psa() && kw_alg_of(v->ralg) != 0) {
		*want = VOUCH_ERR_UNSUPPORTED;
		return "AES key wrap not in the PSA back-end (Mbed TLS 2.28 without "
		       "MBEDTLS_NIST_KW_C)";
	}
	return NULL;
}

/* AAD_hex is the Enc_structure over the protected bucket as sent. */
static void check_aad(struct vec *v, const struct vouch_cose_headers *hdr)
{
	uint8_t aad[VOUCH_COSE_MAX_ENC_STRUCTURE];
	uint8_t *want;
	size_t aad_len, want_len;

	want = vhex_member(v, v->inter, "AAD_hex", &want_len);
	assert_int_equal(vouch_cose_enc_structure(v->is0 ? "Encrypt0" : "Encrypt",
	                                          hdr->protected_bstr, hdr->protected_len, v->ext,
	                                          v->ext_len, aad, sizeof(aad), &aad_len),
	                 VOUCH_OK);
	assert_bytes(aad, aad_len, want, want_len, v->file, "AAD");
}

/* The first recipient of a decoded COSE_Encrypt: its headers and ciphertext. */
static void first_recipient(const struct vouch_cose_encrypt *msg, struct vouch_cose_headers *rh,
                            const uint8_t **ct, size_t *ct_len)
{
	struct vouch_cbor_reader r;
	enum vouch_cbor_type type;
	size_t n;

	vouch_cbor_reader_init(&r, msg->recipients, msg->recipients_len);
	assert_int_equal(vouch_cbor_read_array(&r, &n), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_array(&r, &n), VOUCH_OK);
	assert_int_equal(vouch_cose_headers_read(&r, rh), VOUCH_OK);
	assert_int_equal(vouch_cbor_peek(&r, &type), VOUCH_OK);
	*ct = NULL;
	*ct_len = 0;
	if (type == VOUCH_CBOR_BSTR)
		assert_int_equal(vouch_cbor_read_bstr(&r, ct, ct_len), VOUCH_OK);
}

/* Context_hex of the first recipient is what vouch_cose_kdf_context builds from its headers. */
static void check_context(struct vec *v, const struct vouch_cose_headers *rh)
{
	struct vouch_cose_aead_info info;
	const json_t *ri = json_array_get(json_object_get(v->inter, "recipients"), 0);
	uint8_t ctx[VOUCH_COSE_MAX_ENC_STRUCTURE];
	uint8_t *want;
	size_t ctx_len, want_len, bits;
	const json_t *unsent = json_object_get(v->r0, "unsent");
	int64_t id = kw_alg_of(v->ralg);

	/* Context parts agreed out of band (unsent) are beyond what the message carries. */
	if (tu_str(ri, "Context_hex") == NULL || json_object_get(unsent, "apu_id") != NULL ||
	    json_object_get(unsent, "apv_id") != NULL ||
	    json_object_get(unsent, "pub_other") != NULL ||
	    json_object_get(unsent, "priv_other") != NULL)
		return;
	want = vhex_member(v, ri, "Context_hex", &want_len);
	assert_int_equal(vouch_cose_aead_info(v->alg, &info), VOUCH_OK);
	bits = id != 0 ? kw_len_of(id) * 8 : info.key_len * 8;
	if (id == 0)
		id = v->alg;
	assert_int_equal(vouch_cose_kdf_context(id, bits, rh, ctx, sizeof(ctx), &ctx_len),
	                 VOUCH_OK);
	assert_bytes(ctx, ctx_len, want, want_len, v->file, "COSE_KDF_Context");
}

/* The content decrypts under CEK_hex with AAD_hex, through the port alone. */
static void check_content_with_cek(struct vec *v, const struct vouch_cose_headers *hdr,
                                   const uint8_t *ct, size_t ct_len, const uint8_t *base_iv,
                                   size_t base_iv_len, const uint8_t *cek, size_t cek_len)
{
	struct vouch_cose_aead_info info;
	uint8_t nonce[VOUCH_COSE_MAX_NONCE];
	uint8_t pt[PT_MAX];
	uint8_t *aad;
	size_t aad_len;

	aad = vhex_member(v, v->inter, "AAD_hex", &aad_len);
	assert_int_equal(vouch_cose_aead_info(v->alg, &info), VOUCH_OK);
	assert_int_equal(vouch_cose_nonce(hdr, base_iv, base_iv_len, nonce, info.nonce_len),
	                 VOUCH_OK);
	assert_true(ct_len >= info.tag_len && ct_len - info.tag_len <= sizeof(pt));
	assert_int_equal(
	    vouch_cose_aead_decrypt(v->alg, cek, cek_len, nonce, aad, aad_len, ct, ct_len, pt),
	    VOUCH_OK);
	assert_bytes(pt, ct_len - info.tag_len, v->pt, v->pt_len, v->file, "plaintext (port)");
}

/* The base IV of a Partial IV case: the unsent full IV XOR the left-padded Partial IV. */
static uint8_t *base_iv_of(struct vec *v, size_t *len)
{
	const char *piv_hex = tu_str(json_object_get(v->enc, "unprotected"), "partialIV_hex");
	uint8_t *iv, *piv;
	size_t piv_len;

	*len = 0;
	if (piv_hex == NULL)
		return NULL;
	iv = vhex_member(v, json_object_get(v->enc, "unsent"), "IV_hex", len);
	piv = vhex(v, piv_hex, &piv_len);
	assert_true(piv_len <= *len);
	for (size_t i = 0; i < piv_len; i++)
		iv[*len - piv_len + i] ^= piv[i];
	return iv;
}

/* Only "alg" in the protected bucket, nothing but an IV source in the unprotected one, and no
 * deliberate damage: then the encoder must produce the very same bytes. */
static bool content_expressible(const struct vec *v)
{
	const json_t *prot = json_object_get(v->enc, "protected");
	const json_t *unprot = json_object_get(v->enc, "unprotected");

	if (json_object_get(v->input, "failures") != NULL || v->fail)
		return false;
	if (!json_is_object(prot) || json_object_size(prot) != 1 || tu_str(prot, "alg") == NULL)
		return false;
	return unprot == NULL ||
	       (json_object_size(unprot) == 1 && tu_str(unprot, "partialIV_hex") != NULL);
}

static const uint8_t *rng(struct vec *v, size_t i, size_t *len)
{
	const json_t *s = json_array_get(json_object_get(v->input, "rng_stream"), i);

	assert_true(json_is_string(s));
	return vhex(v, json_string_value(s), len);
}

static void check_encrypt0(struct vec *v)
{
	struct vouch_cose_encrypt0 msg;
	struct vouch_cose_hdr_params hp;
	uint8_t pt[PT_MAX], out[OUT_MAX];
	uint8_t *k, *cek, *base_iv;
	size_t k_len, cek_len, base_iv_len, pt_len, out_len;

	k = jwk_member(v, v->key, "k", &k_len);
	assert_non_null(k);
	base_iv = base_iv_of(v, &base_iv_len);
	assert_int_equal(vouch_cose_encrypt0_decode(v->cbor, v->cbor_len, &msg), VOUCH_OK);
	assert_int_equal(vouch_cose_encrypt0_decrypt(&msg, k, k_len, base_iv, base_iv_len, v->ext,
	                                             v->ext_len, pt, sizeof(pt), &pt_len),
	                 VOUCH_OK);
	assert_bytes(pt, pt_len, v->pt, v->pt_len, v->file, "plaintext");

	check_aad(v, &msg.hdr);
	cek = vhex_member(v, v->inter, "CEK_hex", &cek_len);
	assert_bytes(k, k_len, cek, cek_len, v->file, "CEK");
	check_content_with_cek(v, &msg.hdr, msg.ciphertext, msg.ciphertext_len, base_iv,
	                       base_iv_len, cek, cek_len);

	if (!content_expressible(v))
		return;
	memset(&hp, 0, sizeof(hp));
	hp.alg = v->alg;
	if (base_iv != NULL) {
		hp.partial_iv = msg.hdr.partial_iv;
		hp.partial_iv_len = msg.hdr.partial_iv_len;
	} else {
		hp.iv = rng(v, 0, &hp.iv_len);
	}
	assert_int_equal(vouch_cose_encrypt0_create(k, k_len, &hp, base_iv, base_iv_len, v->pt,
	                                            v->pt_len, v->ext, v->ext_len,
	                                            v->cbor[0] == 0xd0, out, sizeof(out), &out_len),
	                 VOUCH_OK);
	assert_bytes(out, out_len, v->cbor, v->cbor_len, v->file, "re-created COSE_Encrypt0");
}

/* ECDH secret, KDF context, KEK and CEK of an ECDH-ES recipient. */
static void check_ecdh_intermediates(struct vec *v, const struct vouch_key *priv,
                                     const struct vouch_cose_headers *rh, const uint8_t *ct,
                                     size_t ct_len, const uint8_t *cek, size_t cek_len)
{
	const json_t *ri = json_array_get(json_object_get(v->inter, "recipients"), 0);
	struct vouch_cose_key ck;
	struct vouch_key eph;
	uint8_t secret[VOUCH_P256_SCALAR_LEN], ctx[VOUCH_COSE_MAX_ENC_STRUCTURE];
	uint8_t derived[32], unwrapped[32];
	uint8_t *want;
	size_t want_len, ctx_len, dlen;
	int64_t id = kw_alg_of(v->ralg);

	assert_non_null(rh->ephemeral_key);
	assert_int_equal(vouch_cose_key_decode(rh->ephemeral_key, rh->ephemeral_key_len, &ck),
	                 VOUCH_OK);
	vouch_key_init(&eph);
	assert_int_equal(vouch_cose_key_to_public(&ck, &eph), VOUCH_OK);
	assert_int_equal(vouch_ecdh_p256(priv, &eph, secret), VOUCH_OK);
	vouch_key_clear(&eph);
	want = vhex_member(v, ri, "Secret_hex", &want_len);
	assert_bytes(secret, sizeof(secret), want, want_len, v->file, "ECDH secret");

	check_context(v, rh);
	want = vhex_member(v, ri, "Context_hex", &want_len);
	memcpy(ctx, want, want_len);
	ctx_len = want_len;
	dlen = id != 0 ? kw_len_of(id) : cek_len;
	assert_int_equal(vouch_hkdf_sha256(rh->salt, rh->salt_len, secret, sizeof(secret), ctx,
	                                   ctx_len, derived, dlen),
	                 VOUCH_OK);
	if (id == 0) {
		assert_bytes(derived, dlen, cek, cek_len, v->file, "derived CEK");
		return;
	}
	want = vhex_member(v, ri, "KEK_hex", &want_len);
	assert_bytes(derived, dlen, want, want_len, v->file, "KEK");
	assert_true(ct_len == cek_len + 8);
	assert_int_equal(vouch_aes_kw_unwrap(derived, dlen, ct, ct_len, unwrapped), VOUCH_OK);
	assert_bytes(unwrapped, cek_len, cek, cek_len, v->file, "unwrapped CEK");
}

/* Re-create a deterministic COSE_Encrypt: a direct key, or ECDH-ES direct with the ephemeral
 * key taken from rng_stream[0] (as the Examples generator did). */
static void recreate_encrypt(struct vec *v, const struct vouch_key *priv, const uint8_t *k,
                             size_t k_len)
{
	const json_t *r_unprot = json_object_get(v->r0, "unprotected");
	const char *kid = tu_str(r_unprot, "kid");
	struct vouch_cose_hdr_params hp;
	struct vouch_cose_recipient rc;
	struct vouch_key eph, peer;
	uint8_t out[OUT_MAX], point[VOUCH_P256_POINT_LEN];
	const uint8_t *d;
	size_t d_len, out_len, point_len;

	if (!content_expressible(v) || json_object_get(v->enc, "unprotected") != NULL)
		return;
	if (json_integer_value(json_object_get(json_object_get(v->r0, "unsent"), "compressed")))
		return; /* the encoder writes y in full */
	memset(&hp, 0, sizeof(hp));
	memset(&rc, 0, sizeof(rc));
	hp.alg = v->alg;
	rc.alg = v->ralg;
	if (kid != NULL) {
		rc.kid = (const uint8_t *)kid;
		rc.kid_len = strlen(kid);
	}
	vouch_key_init(&eph);
	vouch_key_init(&peer);
	if (v->ralg == VOUCH_COSE_ALG_DIRECT) {
		if (json_object_size(r_unprot) != (kid != NULL ? 2 : 1))
			return;
		rc.kek = k;
		rc.kek_len = k_len;
		hp.iv = rng(v, 0, &hp.iv_len);
	} else if (v->ralg == VOUCH_COSE_ALG_ECDH_ES_HKDF_256) {
		d = rng(v, 0, &d_len);
		assert_int_equal(vouch_key_import_private(&eph, VOUCH_KEY_P256, d, d_len),
		                 VOUCH_OK);
		assert_int_equal(vouch_key_export_public(priv, point, sizeof(point), &point_len),
		                 VOUCH_OK);
		assert_int_equal(vouch_key_import_public(&peer, VOUCH_KEY_P256, point, point_len),
		                 VOUCH_OK);
		rc.ephemeral = &eph;
		rc.peer = &peer;
		hp.iv = rng(v, 1, &hp.iv_len);
	} else {
		return; /* a random CEK: not reproducible */
	}
	assert_int_equal(vouch_cose_encrypt_create(&hp, &rc, 1, v->pt, v->pt_len, v->ext,
	                                           v->ext_len, v->cbor[0] == 0xd8, out, sizeof(out),
	                                           &out_len),
	                 VOUCH_OK);
	assert_bytes(out, out_len, v->cbor, v->cbor_len, v->file, "re-created COSE_Encrypt");
	vouch_key_clear(&eph);
	vouch_key_clear(&peer);
}

static void check_encrypt(struct vec *v)
{
	struct vouch_cose_encrypt msg;
	struct vouch_cose_recipient_key rk;
	struct vouch_cose_headers rh;
	struct vouch_key priv;
	uint8_t pt[PT_MAX], unwrapped[32];
	uint8_t *cek;
	const uint8_t *rct;
	size_t pt_len, cek_len, rct_len;

	vouch_key_init(&priv);
	receiver_key(v, &priv, &rk, true);
	assert_int_equal(vouch_cose_encrypt_decode(v->cbor, v->cbor_len, &msg), VOUCH_OK);
	assert_int_equal(msg.n_recipients, 1);
	assert_int_equal(
	    vouch_cose_encrypt_decrypt(&msg, &rk, v->ext, v->ext_len, pt, sizeof(pt), &pt_len),
	    VOUCH_OK);
	assert_bytes(pt, pt_len, v->pt, v->pt_len, v->file, "plaintext");

	check_aad(v, &msg.hdr);
	cek = vhex_member(v, v->inter, "CEK_hex", &cek_len);
	first_recipient(&msg, &rh, &rct, &rct_len);
	if (v->ralg == VOUCH_COSE_ALG_DIRECT) {
		assert_bytes(rk.secret, rk.secret_len, cek, cek_len, v->file, "CEK");
	} else if (kw_alg_of(v->ralg) != 0 && !is_ecdh_es(v->ralg)) {
		assert_true(rct_len == cek_len + 8);
		assert_int_equal(
		    vouch_aes_kw_unwrap(rk.secret, rk.secret_len, rct, rct_len, unwrapped),
		    VOUCH_OK);
		assert_bytes(unwrapped, cek_len, cek, cek_len, v->file, "unwrapped CEK");
	} else {
		check_ecdh_intermediates(v, &priv, &rh, rct, rct_len, cek, cek_len);
	}
	check_content_with_cek(v, &msg.hdr, msg.ciphertext, msg.ciphertext_len, NULL, 0, cek,
	                       cek_len);
	recreate_encrypt(v, &priv, rk.secret, rk.secret_len);
	vouch_key_clear(&priv);
}

/* A damaged message (input.failures) must be refused with the error its damage calls for. */
static int fail_expectation(const struct vec *v, bool *at_decode)
{
	const json_t *f = json_object_get(v->input, "failures");
	const json_t *attr;

	*at_decode = false;
	if (json_object_get(f, "ChangeCBORTag") != NULL) {
		*at_decode = true;
		return VOUCH_ERR_COSE_STRUCTURE;
	}
	/* An unknown alg (-999) or one given as text ("Unknown"): decodes, names nothing. */
	attr = json_object_get(json_object_get(f, "ChangeAttr"), "alg");
	if (json_is_integer(attr) || json_is_string(attr))
		return VOUCH_ERR_COSE_ALG;
	if (json_object_get(f, "ChangeTag") != NULL || json_object_get(f, "AddProtected") != NULL ||
	    json_object_get(f, "RemoveProtected") != NULL)
		return VOUCH_ERR_VERIFY;
	fail_msg("%s: unknown kind of failure", v->file);
	return VOUCH_OK;
}

static void check_fail(struct vec *v)
{
	struct vouch_cose_encrypt0 msg0;
	struct vouch_cose_encrypt msg;
	struct vouch_cose_recipient_key rk;
	struct vouch_key priv;
	uint8_t pt[PT_MAX];
	size_t pt_len = 1;
	bool at_decode;
	int want = fail_expectation(v, &at_decode);
	int rc;

	vouch_key_init(&priv);
	receiver_key(v, &priv, &rk, true);
	rc = v->is0 ? vouch_cose_encrypt0_decode(v->cbor, v->cbor_len, &msg0)
	            : vouch_cose_encrypt_decode(v->cbor, v->cbor_len, &msg);
	if (at_decode) {
		assert_int_equal(rc, want);
		vouch_key_clear(&priv);
		return;
	}
	assert_int_equal(rc, VOUCH_OK);
	memset(pt, 0xaa, sizeof(pt));
	if (v->is0)
		rc = vouch_cose_encrypt0_decrypt(&msg0, rk.secret, rk.secret_len, NULL, 0, v->ext,
		                                 v->ext_len, pt, sizeof(pt), &pt_len);
	else
		rc = vouch_cose_encrypt_decrypt(&msg, &rk, v->ext, v->ext_len, pt, sizeof(pt),
		                                &pt_len);
	assert_int_equal(rc, want);
	assert_int_equal(pt_len, 0);
	/* Nothing of the plaintext may be left behind. */
	assert_true(v->pt_len == 0 || memcmp(pt, v->pt, v->pt_len) != 0);
	if (want == VOUCH_ERR_VERIFY)
		for (size_t i = 0; i < v->pt_len; i++)
			assert_int_equal(pt[i], 0);
	vouch_key_clear(&priv);
}

/* A skipped case: well-formed, so it decodes, and then it is refused with exactly want. */
static void check_refused(struct vec *v, int want)
{
	struct vouch_cose_encrypt msg;
	struct vouch_cose_recipient_key rk;
	struct vouch_cose_headers rh;
	struct vouch_key priv;
	uint8_t pt[PT_MAX];
	const uint8_t *rct;
	size_t pt_len = 1, rct_len;

	assert_false(v->is0);
	vouch_key_init(&priv);
	receiver_key(v, &priv, &rk, true);
	assert_int_equal(vouch_cose_encrypt_decode(v->cbor, v->cbor_len, &msg), VOUCH_OK);
	check_aad(v, &msg.hdr);
	if (json_object_get(v->r0, "recipients") == NULL) {
		/* The context builder still has to agree with every KDF-based case. */
		first_recipient(&msg, &rh, &rct, &rct_len);
		check_context(v, &rh);
	}
	memset(pt, 0xaa, sizeof(pt));
	assert_int_equal(
	    vouch_cose_encrypt_decrypt(&msg, &rk, v->ext, v->ext_len, pt, sizeof(pt), &pt_len),
	    want);
	assert_int_equal(pt_len, 0);
	assert_true(memcmp(pt, v->pt, v->pt_len) != 0);
	vouch_key_clear(&priv);
}

static void run_vector(struct family *fam, const char *file)
{
	struct vec v;
	const char *reason;
	int want;

	vec_open(&v, file);
	fam->run++;
	reason = skip_reason(&v, &want);
	if (reason != NULL) {
		check_refused(&v, want);
		fam->skipped++;
		note_add(fam, reason);
	} else if (v.fail) {
		check_fail(&v);
		fam->passed++;
	} else if (v.is0) {
		check_encrypt0(&v);
		fam->passed++;
	} else {
		check_encrypt(&v);
		fam->passed++;
	}
	vec_close(&v);
}

/* Run the named files of one cose-examples folder into fam. */
static void run_files(struct family *fam, const char *dir, const char *const *files, size_t n)
{
	char path[256];

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "cose-examples/%s/%s.json", dir, files[i]);
		run_vector(fam, path);
	}
}

static void report(const struct family *fam)
{
	tu_report(fam->name, fam->run, fam->passed, fam->skipped, fam->note[0] ? fam->note : NULL);
}

/* One family from one folder. */
static void run_family(const char *name, const char *dir, const char *const *files, size_t n)
{
	struct family fam;

	memset(&fam, 0, sizeof(fam));
	fam.name = name;
	run_files(&fam, dir, files, n);
	report(&fam);
}

#define RUN_FAMILY(name, dir, files) run_family(name, dir, files, VOUCH_ARRAY_LEN(files))

/* ---- the families ---- */

static void test_encrypt0_ccm(void **state)
{
	static const char *const files[] = {
	    "aes-ccm-enc-01", "aes-ccm-enc-02", "aes-ccm-enc-03", "aes-ccm-enc-04",
	    "aes-ccm-enc-05", "aes-ccm-enc-06", "aes-ccm-enc-07", "aes-ccm-enc-08",
	};

	(void)state;
	RUN_FAMILY("encrypt0-ccm", "aes-ccm-examples", files);
}

static void test_encrypt0_gcm(void **state)
{
	static const char *const files[] = {
	    "aes-gcm-enc-01",
	    "aes-gcm-enc-02",
	    "aes-gcm-enc-03",
	    "aes-gcm-enc-04",
	};

	(void)state;
	RUN_FAMILY("encrypt0-gcm", "aes-gcm-examples", files);
}

static void test_encrypt0_tests(void **state)
{
	static const char *const files[] = {
	    "aes-gcm-01",  "enc-fail-01", "enc-fail-02", "enc-fail-03", "enc-fail-04",
	    "enc-fail-06", "enc-fail-07", "enc-pass-01", "enc-pass-02", "enc-pass-03",
	};

	(void)state;
	RUN_FAMILY("encrypt0-tests", "encrypted-tests", files);
}

static void test_encrypt_direct(void **state)
{
	static const char *const ccm[] = {
	    "aes-ccm-01", "aes-ccm-02", "aes-ccm-03", "aes-ccm-04",
	    "aes-ccm-05", "aes-ccm-06", "aes-ccm-07", "aes-ccm-08",
	};
	static const char *const gcm[] = {
	    "aes-gcm-01", "aes-gcm-02", "aes-gcm-03", "aes-gcm-04", "aes-gcm-05",
	};

	struct family fam;

	(void)state;
	memset(&fam, 0, sizeof(fam));
	fam.name = "encrypt-direct";
	run_files(&fam, "aes-ccm-examples", ccm, VOUCH_ARRAY_LEN(ccm));
	run_files(&fam, "aes-gcm-examples", gcm, VOUCH_ARRAY_LEN(gcm));
	report(&fam);
}

static void test_ecdh_direct(void **state)
{
	/* The *-03 files of this folder are COSE_Mac, not encryption. */
	static const char *const files[] = {
	    "p256-hkdf-256-01",    "p256-hkdf-256-02",    "p256-hkdf-512-01",
	    "p256-hkdf-512-02",    "p256-ss-hkdf-256-01", "p256-ss-hkdf-256-02",
	    "p256-ss-hkdf-512-01", "p256-ss-hkdf-512-02", "p521-hkdf-256-01",
	    "p521-hkdf-256-02",    "p521-hkdf-512-01",    "p521-hkdf-512-02",
	    "p521-ss-hkdf-256-01", "p521-ss-hkdf-256-02", "p521-ss-hkdf-512-01",
	    "p521-ss-hkdf-512-02",
	};

	(void)state;
	RUN_FAMILY("ecdh-direct", "ecdh-direct-examples", files);
}

static void test_ecdh_wrap(void **state)
{
	/* The *-03 files of this folder are COSE_Mac, not encryption. */
	static const char *const files[] = {
	    "p256-wrap-128-01",    "p256-wrap-128-02",    "p256-wrap-192-01",
	    "p256-wrap-192-02",    "p256-wrap-256-01",    "p256-wrap-256-02",
	    "p256-ss-wrap-128-01", "p256-ss-wrap-128-02", "p256-ss-wrap-192-01",
	    "p256-ss-wrap-192-02", "p256-ss-wrap-256-01", "p256-ss-wrap-256-02",
	    "p521-wrap-128-01",    "p521-wrap-128-02",    "p521-wrap-192-01",
	    "p521-wrap-192-02",    "p521-wrap-256-01",    "p521-wrap-256-02",
	    "p521-ss-wrap-128-01", "p521-ss-wrap-128-02", "p521-ss-wrap-192-01",
	    "p521-ss-wrap-192-02", "p521-ss-wrap-256-01", "p521-ss-wrap-256-02",
	};

	(void)state;
	RUN_FAMILY("ecdh-wrap", "ecdh-wrap-examples", files);
}

static void test_aes_wrap(void **state)
{
	/* aes-wrap-*-01..03 are COSE_Mac, not encryption. */
	static const char *const files[] = {
	    "aes-wrap-128-04", "aes-wrap-128-05", "aes-wrap-192-04",
	    "aes-wrap-192-05", "aes-wrap-256-04", "aes-wrap-256-05",
	};

	(void)state;
	RUN_FAMILY("aes-wrap", "aes-wrap-examples", files);
}

static void test_hkdf_direct(void **state)
{
	/* hmac-sha-*-03 and -04 are COSE_Mac, not encryption. */
	static const char *const files[] = {
	    "hmac-sha-256-01", "hmac-sha-256-02", "hmac-sha-256-05", "hmac-sha-256-06",
	    "hmac-sha-256-07", "hmac-sha-256-08", "hmac-sha-256-09", "hmac-sha-256-10",
	    "hmac-sha-256-11", "hmac-sha-256-12", "hmac-sha-256-13", "hmac-sha-256-14",
	    "hmac-sha-512-01", "hmac-sha-512-02", "hmac-sha-512-05", "hmac-sha-512-06",
	    "hmac-sha-512-07", "hmac-sha-512-08", "hmac-sha-512-09", "hmac-sha-512-10",
	    "hmac-sha-512-11", "hmac-sha-512-12", "hmac-sha-512-13", "hmac-sha-512-14",
	};

	(void)state;
	RUN_FAMILY("hkdf-direct", "hkdf-hmac-sha-examples", files);
}

static void test_x25519(void **state)
{
	static const char *const files[] = {
	    "x25519-hkdf-256-direct",
	    "x25519-ss-hkdf-256-direct",
	};

	(void)state;
	RUN_FAMILY("ecdh-x25519", "X25519-tests", files);
}

static void test_rfc8152(void **state)
{
	/* The Encrypt and Encrypt0 examples of RFC 8152 Appendices B and C.3, C.4. */
	static const char *const files[] = {
	    "Appendix_B",     "Appendix_C_3_1", "Appendix_C_3_2", "Appendix_C_3_3",
	    "Appendix_C_3_4", "Appendix_C_4_1", "Appendix_C_4_2",
	};

	(void)state;
	RUN_FAMILY("rfc8152-encrypt", "RFC8152", files);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encrypt0_ccm),   cmocka_unit_test(test_encrypt0_gcm),
	    cmocka_unit_test(test_encrypt0_tests), cmocka_unit_test(test_encrypt_direct),
	    cmocka_unit_test(test_ecdh_direct),    cmocka_unit_test(test_ecdh_wrap),
	    cmocka_unit_test(test_aes_wrap),       cmocka_unit_test(test_hkdf_direct),
	    cmocka_unit_test(test_x25519),         cmocka_unit_test(test_rfc8152),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
