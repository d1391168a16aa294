/*
 * The crypto port against published vectors: every Wycheproof case of every primitive the port
 * exposes (valid ones must pass, invalid ones must be refused with a named error, acceptable ones
 * may go either way), plus RFC 3610's AES-CCM packet vectors. Built for both back-ends: on PSA,
 * what the back-end lacks (Ed25519, AES key wrap) is asserted to be refused with
 * VOUCH_ERR_UNSUPPORTED and reported as skipped.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vouch/crypto.h"

/* ---- helpers ---- */

enum expect {
	EXPECT_VALID,
	EXPECT_INVALID,
	EXPECT_ACCEPTABLE,
};

struct tally {
	const char *family;
	unsigned run, passed, skipped;
	unsigned acceptable_refused; /* acceptable cases the port refused (counted as passed) */
	unsigned acceptable_accepted;
};

struct buf {
	uint8_t *p;
	size_t len;
};

static struct buf hex_field(const json_t *obj, const char *name)
{
	const char *s = tu_str(obj, name);
	struct buf b;

	if (s == NULL)
		fail_msg("vector field \"%s\" missing", name);
	b.p = tu_hex(s, &b.len);
	return b;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

static enum expect expect_of(const json_t *tc)
{
	const char *r = tu_str(tc, "result");

	assert_non_null(r);
	if (strcmp(r, "valid") == 0)
		return EXPECT_VALID;
	if (strcmp(r, "invalid") == 0)
		return EXPECT_INVALID;
	if (strcmp(r, "acceptable") == 0)
		return EXPECT_ACCEPTABLE;
	fail_msg("unknown result \"%s\"", r);
	return EXPECT_INVALID;
}

static int tc_id(const json_t *tc)
{
	return (int)json_integer_value(json_object_get(tc, "tcId"));
}

/* A refusal is clean when it says why: a verification failure or a named parameter/key error,
 * never a back-end or internal failure. */
static bool clean_refusal(int rc)
{
	return rc == VOUCH_ERR_VERIFY || rc == VOUCH_ERR_KEY || rc == VOUCH_ERR_INVALID ||
	       rc == VOUCH_ERR_UNSUPPORTED;
}

/*
 * Record one case. ok: the operation succeeded with the expected output; rc: the error of the
 * first step that failed (VOUCH_OK when ok).
 */
static void record(struct tally *t, const json_t *tc, bool ok, int rc)
{
	enum expect e = expect_of(tc);
	bool pass;

	t->run++;
	switch (e) {
	case EXPECT_VALID:
		pass = ok;
		break;
	case EXPECT_INVALID:
		pass = !ok && clean_refusal(rc);
		break;
	default:
		pass = ok || clean_refusal(rc);
		if (ok)
			t->acceptable_accepted++;
		else
			t->acceptable_refused++;
		break;
	}
	if (pass)
		t->passed++;
	else
		print_message("%s: tcId %d (%s, \"%s\") failed: ok=%d rc=%d (%s)\n", t->family,
		              tc_id(tc), tu_str(tc, "result"), tu_str(tc, "comment"), ok, rc,
		              vouch_strerror(rc));
}

/* Count every test of a Wycheproof file against its numberOfTests. */
static void check_count(const json_t *root, const struct tally *t)
{
	json_int_t n = json_integer_value(json_object_get(root, "numberOfTests"));

	assert_int_equal((json_int_t)t->run, n);
}

static void report(const struct tally *t, const char *extra)
{
	char note[384];

	snprintf(note, sizeof(note), "%s%s%u acceptable accepted, %u acceptable refused",
	         extra ? extra : "", extra ? "; " : "", t->acceptable_accepted,
	         t->acceptable_refused);
	tu_report(t->family, t->run, t->passed, t->skipped, note);
}

typedef void (*case_fn)(struct tally *t, const json_t *group, const json_t *tc, void *ctx);

/* Run fn on every test of a Wycheproof file, then check the count against numberOfTests. */
static void for_each_case(const json_t *root, struct tally *t, case_fn fn, void *ctx)
{
	const json_t *groups = json_object_get(root, "testGroups");

	assert_true(json_array_size(groups) > 0);
	for (size_t gi = 0; gi < json_array_size(groups); gi++) {
		const json_t *group = json_array_get(groups, gi);
		const json_t *tests = json_object_get(group, "tests");

		for (size_t ti = 0; ti < json_array_size(tests); ti++)
			fn(t, group, json_array_get(tests, ti), ctx);
	}
	check_count(root, t);
}

/* An output buffer that cannot be too small for any of the vectors' cases. */
static uint8_t *out_buf(size_t len)
{
	uint8_t *p = malloc(len + 64);

	assert_non_null(p);
	memset(p, 0xa5, len + 64);
	return p;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != 0)
			return false;
	}
	return true;
}

/* ---- HMAC-SHA256 ---- */

static void hmac_case(struct tally *t, const json_t *group, const json_t *tc, void *ctx)
{
	struct buf key = hex_field(tc, "key"), msg = hex_field(tc, "msg");
	struct buf tag = hex_field(tc, "tag");
	uint8_t mac[VOUCH_SHA256_LEN], mac2[VOUCH_SHA256_LEN];
	struct vouch_iov iov[2] = {{msg.p, msg.len / 2},
	                           {msg.p + msg.len / 2, msg.len - msg.len / 2}};
	int rc;
	bool ok;

	(void)group;
	(void)ctx;
	rc = vouch_hmac_sha256(key.p, key.len, msg.p, msg.len, mac);
	/* Truncated tags are the leftmost bytes of the full MAC. */
	ok = rc == VOUCH_OK && tag.len <= sizeof(mac) && vouch_ct_equal(mac, tag.p, tag.len);
	if (rc == VOUCH_OK) {
		/* In two pieces it must be the same MAC, whatever the verdict. */
		assert_int_equal(vouch_hmac_sha256_v(key.p, key.len, iov, 2, mac2), VOUCH_OK);
		assert_memory_equal(mac, mac2, sizeof(mac));
		if (!ok)
			rc = VOUCH_ERR_VERIFY;
	}
	record(t, tc, ok, rc);
	buf_free(&key);
	buf_free(&msg);
	buf_free(&tag);
}

static void test_hmac_sha256(void **state)
{
	json_t *root = tu_load_json("wycheproof/hmac_sha256_test.json");
	struct tally t = {.family = "wycheproof hmac_sha256"};

	(void)state;
	for_each_case(root, &t, hmac_case, NULL);
	report(&t, "truncated tags compared as prefixes; also MACed in 2 pieces");
	json_decref(root);
}

/* ---- HKDF-SHA256 ---- */

static void hkdf_case(struct tally *t, const json_t *group, const json_t *tc, void *ctx)
{
	struct buf ikm = hex_field(tc, "ikm"), salt = hex_field(tc, "salt");
	struct buf info = hex_field(tc, "info"), okm = hex_field(tc, "okm");
	size_t size = (size_t)json_integer_value(json_object_get(tc, "size"));
	uint8_t *out = out_buf(size), *out2 = out_buf(size);
	uint8_t prk[VOUCH_SHA256_LEN];
	int rc;
	bool ok;

	(void)group;
	(void)ctx;
	rc = vouch_hkdf_sha256(salt.p, salt.len, ikm.p, ikm.len, info.p, info.len, out, size);
	ok = rc == VOUCH_OK && okm.len == size && memcmp(out, okm.p, size) == 0;
	if (ok) {
		/* The two halves must compose to the one-shot result. */
		rc = vouch_hkdf_sha256_extract(salt.p, salt.len, ikm.p, ikm.len, prk);
		if (rc == VOUCH_OK)
			rc = vouch_hkdf_sha256_expand(prk, info.p, info.len, out2, size);
		ok = rc == VOUCH_OK && memcmp(out2, okm.p, size) == 0;
	} else if (rc == VOUCH_OK) {
		rc = VOUCH_ERR_INTERNAL; /* derived, but the wrong bytes */
	}
	record(t, tc, ok, rc);
	free(out);
	free(out2);
	buf_free(&ikm);
	buf_free(&salt);
	buf_free(&info);
	buf_free(&okm);
}

static void test_hkdf_sha256(void **state)
{
	json_t *root = tu_load_json("wycheproof/hkdf_sha256_test.json");
	struct tally t = {.family = "wycheproof hkdf_sha256"};

	(void)state;
	for_each_case(root, &t, hkdf_case, NULL);
	report(&t, "one-shot and extract+expand both checked");
	json_decref(root);
}

/* ---- AEAD ---- */

typedef int (*aead_fn)(const uint8_t *key, size_t key_len, const uint8_t *nonce, size_t nonce_len,
                       const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                       size_t tag_len, uint8_t *out);

struct aead_ctx {
	aead_fn enc, dec;
	bool gcm;
	unsigned long_iv_skipped;
};

/*
 * Encryption must reproduce ct||tag and decryption must give msg back; a refused decryption
 * must leave the plaintext buffer wiped. The verdict reported is the decryption's: that is what
 * a receiver acts on.
 */
static void aead_case(struct tally *t, const json_t *group, const json_t *tc, void *vctx)
{
	struct aead_ctx *ctx = vctx;
	struct buf key = hex_field(tc, "key"), iv = hex_field(tc, "iv");
	struct buf aad = hex_field(tc, "aad"), msg = hex_field(tc, "msg");
	struct buf ct = hex_field(tc, "ct"), tag = hex_field(tc, "tag");
	size_t sealed_len = ct.len + tag.len;
	uint8_t *sealed = out_buf(sealed_len), *expect = out_buf(sealed_len);
	uint8_t *pt = out_buf(sealed_len);
	int rc_enc, rc_dec, rc;
	bool enc_ok, dec_ok;

	(void)group;
	memcpy(expect, ct.p, ct.len);
	memcpy(expect + ct.len, tag.p, tag.len);
	rc_enc =
	    ctx->enc(key.p, key.len, iv.p, iv.len, aad.p, aad.len, msg.p, msg.len, tag.len, sealed);
	enc_ok = rc_enc == VOUCH_OK && msg.len == ct.len && memcmp(sealed, expect, sealed_len) == 0;
	rc_dec =
	    ctx->dec(key.p, key.len, iv.p, iv.len, aad.p, aad.len, expect, sealed_len, tag.len, pt);
	dec_ok = rc_dec == VOUCH_OK && msg.len == ct.len && memcmp(pt, msg.p, msg.len) == 0;
	if (rc_dec == VOUCH_ERR_VERIFY && !all_zero(pt, ct.len)) {
		print_message("plaintext not wiped after a failed decryption\n");
		rc_dec = VOUCH_ERR_INTERNAL;
	}
	if (enc_ok && dec_ok)
		rc = VOUCH_OK;
	else if (rc_dec != VOUCH_OK)
		rc = rc_dec;
	else
		rc = VOUCH_ERR_INTERNAL; /* decrypted to the wrong bytes, or encryption disagrees */

	if (ctx->gcm && iv.len > 128) {
		/*
		 * The OpenSSL 3 GCM provider holds at most 128 IV bytes, so the port refuses longer
		 * nonces (COSE uses 12). Both directions must say so; a valid case is skipped.
		 */
		assert_int_equal(rc_enc, VOUCH_ERR_UNSUPPORTED);
		assert_int_equal(rc_dec, VOUCH_ERR_UNSUPPORTED);
		if (expect_of(tc) == EXPECT_VALID) {
			t->run++;
			t->skipped++;
			ctx->long_iv_skipped++;
			goto out_free;
		}
	}
	record(t, tc, enc_ok && dec_ok, rc);
out_free:
	free(sealed);
	free(expect);
	free(pt);
	buf_free(&key);
	buf_free(&iv);
	buf_free(&aad);
	buf_free(&msg);
	buf_free(&ct);
	buf_free(&tag);
}

static void test_aes_ccm(void **state)
{
	json_t *root = tu_load_json("wycheproof/aes_ccm_test.json");
	struct tally t = {.family = "wycheproof aes_ccm"};
	struct aead_ctx ctx = {vouch_aes_ccm_encrypt, vouch_aes_ccm_decrypt, false, 0};

	(void)state;
	for_each_case(root, &t, aead_case, &ctx);
	report(&t, "nonces outside 7..13 and odd or 2-byte tags refused with VOUCH_ERR_INVALID");
	json_decref(root);
}

static void test_aes_gcm(void **state)
{
	json_t *root = tu_load_json("wycheproof/aes_gcm_test.json");
	struct tally t = {.family = "wycheproof aes_gcm"};
	struct aead_ctx ctx = {vouch_aes_gcm_encrypt, vouch_aes_gcm_decrypt, true, 0};
	char note[224];

	(void)state;
	for_each_case(root, &t, aead_case, &ctx);
	snprintf(
	    note, sizeof(note),
	    "%u valid cases with a 257-byte IV skipped: OpenSSL 3 caps GCM IVs at 128 bytes%s; "
	    "refused with VOUCH_ERR_UNSUPPORTED both ways (asserted)",
	    ctx.long_iv_skipped, tu_psa() ? " and the PSA back-end keeps that cap" : "");
	report(&t, note);
	json_decref(root);
}

/* ---- AES key wrap ---- */

static void kw_case(struct tally *t, const json_t *group, const json_t *tc, void *ctx)
{
	struct buf key = hex_field(tc, "key"), msg = hex_field(tc, "msg");
	struct buf ct = hex_field(tc, "ct");
	uint8_t *wrapped = out_buf(msg.len + 8), *unwrapped = out_buf(ct.len);
	int rc_wrap, rc_unwrap, rc;
	bool wrap_ok, unwrap_ok;

	(void)group;
	(void)ctx;
	rc_wrap = vouch_aes_kw_wrap(key.p, key.len, msg.p, msg.len, wrapped);
	wrap_ok =
	    rc_wrap == VOUCH_OK && ct.len == msg.len + 8 && memcmp(wrapped, ct.p, ct.len) == 0;
	rc_unwrap = vouch_aes_kw_unwrap(key.p, key.len, ct.p, ct.len, unwrapped);
	unwrap_ok = rc_unwrap == VOUCH_OK && ct.len == msg.len + 8 &&
	            memcmp(unwrapped, msg.p, msg.len) == 0;
	if (rc_unwrap == VOUCH_ERR_VERIFY && !all_zero(unwrapped, ct.len - 8)) {
		print_message("unwrap output not wiped\n");
		rc_unwrap = VOUCH_ERR_INTERNAL;
	}
	if (wrap_ok && unwrap_ok)
		rc = VOUCH_OK;
	else if (rc_unwrap != VOUCH_OK && !wrap_ok)
		rc = rc_unwrap;
	else
		rc = VOUCH_ERR_INTERNAL; /* one direction accepted what the other refused */
	record(t, tc, wrap_ok && unwrap_ok, rc);
	free(wrapped);
	free(unwrapped);
	buf_free(&key);
	buf_free(&msg);
	buf_free(&ct);
}

/*
 * The PSA back-end has no AES key wrap (PSA 2.28 has none and Debian's Mbed TLS is built without
 * MBEDTLS_NIST_KW_C): every case must be refused with VOUCH_ERR_UNSUPPORTED both ways, and is
 * counted as skipped.
 */
static void kw_unsupported_case(struct tally *t, const json_t *group, const json_t *tc, void *ctx)
{
	struct buf key = hex_field(tc, "key"), msg = hex_field(tc, "msg");
	struct buf ct = hex_field(tc, "ct");
	uint8_t *wrapped = out_buf(msg.len + 8), *unwrapped = out_buf(ct.len);

	(void)group;
	(void)ctx;
	assert_int_equal(vouch_aes_kw_wrap(key.p, key.len, msg.p, msg.len, wrapped),
	                 VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(vouch_aes_kw_unwrap(key.p, key.len, ct.p, ct.len, unwrapped),
	                 VOUCH_ERR_UNSUPPORTED);
	t->run++;
	t->skipped++;
	free(wrapped);
	free(unwrapped);
	buf_free(&key);
	buf_free(&msg);
	buf_free(&ct);
}

static void test_aes_wrap(void **state)
{
	json_t *root = tu_load_json("wycheproof/aes_wrap_test.json");
	struct tally t = {.family = "wycheproof aes_wrap"};

	(void)state;
	if (tu_psa()) {
		for_each_case(root, &t, kw_unsupported_case, NULL);
		tu_report(t.family, t.run, t.passed, t.skipped,
		          "AES key wrap not in PSA 2.28 nor in this Mbed TLS build (no "
		          "MBEDTLS_NIST_KW_C): every case refused with VOUCH_ERR_UNSUPPORTED both "
		          "ways (asserted)");
	} else {
		for_each_case(root, &t, kw_case, NULL);
		report(&t, "8-byte keys refused by design (the header requires >= 16)");
	}
	json_decref(root);
}

/* ---- signatures ---- */

/* Verify whole and split in three pieces; the two verdicts must agree. */
static int verify_both_ways(const struct vouch_key *key, const struct buf *msg,
                            const struct buf *sig)
{
	size_t a = msg->len / 3, b = msg->len / 2;
	struct vouch_iov one = {msg->p, msg->len};
	struct vouch_iov three[3] = {
	    {msg->p, a},
	    {msg->p + a, b - a},
	    {msg->p + b, msg->len - b},
	};
	int rc1, rc3;

	rc1 = vouch_verify(key, &one, 1, sig->p, sig->len);
	rc3 = vouch_verify(key, three, 3, sig->p, sig->len);
	if (rc1 != rc3) {
		print_message("whole message: %d, in pieces: %d\n", rc1, rc3);
		return VOUCH_ERR_INTERNAL;
	}
	return rc1;
}

struct verify_ctx {
	enum vouch_key_type type;
	const char *pub_field;
	const json_t *group; /* the group whose key is loaded */
	struct vouch_key key;
	unsigned spki_checked;
};

/* Load a group's key from its raw form; its DER form must import to the same key. */
static void verify_load_group(struct verify_ctx *ctx, const json_t *group)
{
	struct buf pub = hex_field(json_object_get(group, "publicKey"), ctx->pub_field);
	struct buf der = hex_field(group, "publicKeyDer");
	struct vouch_key spki;
	uint8_t raw[VOUCH_P256_POINT_LEN];
	size_t raw_len = 0;

	vouch_key_clear(&ctx->key);
	vouch_key_init(&ctx->key);
	vouch_key_init(&spki);
	assert_int_equal(vouch_key_import_public(&ctx->key, ctx->type, pub.p, pub.len), VOUCH_OK);
	assert_int_equal(vouch_key_import_spki(&spki, der.p, der.len), VOUCH_OK);
	assert_int_equal(spki.type, ctx->type);
	assert_int_equal(vouch_key_export_public(&spki, raw, sizeof(raw), &raw_len), VOUCH_OK);
	assert_int_equal(raw_len, pub.len);
	assert_memory_equal(raw, pub.p, pub.len);
	ctx->spki_checked++;
	ctx->group = group;
	vouch_key_clear(&spki);
	buf_free(&pub);
	buf_free(&der);
}

static void verify_case(struct tally *t, const json_t *group, const json_t *tc, void *vctx)
{
	struct verify_ctx *ctx = vctx;
	struct buf msg = hex_field(tc, "msg"), sig = hex_field(tc, "sig");
	int rc;

	if (ctx->group != group)
		verify_load_group(ctx, group);
	rc = verify_both_ways(&ctx->key, &msg, &sig);
	record(t, tc, rc == VOUCH_OK, rc);
	buf_free(&msg);
	buf_free(&sig);
}

static void run_verify_file(const char *path, const char *family, enum vouch_key_type type,
                            const char *pub_field)
{
	json_t *root = tu_load_json(path);
	struct tally t = {.family = family};
	struct verify_ctx ctx = {.type = type, .pub_field = pub_field};
	char note[128];

	vouch_key_init(&ctx.key);
	for_each_case(root, &t, verify_case, &ctx);
	vouch_key_clear(&ctx.key);
	snprintf(note, sizeof(note),
	         "each verified whole and in 3 pieces; all %u group keys also imported as SPKI",
	         ctx.spki_checked);
	report(&t, note);
	json_decref(root);
}

static void test_ecdsa_p256_p1363(void **state)
{
	(void)state;
	run_verify_file("wycheproof/ecdsa_secp256r1_sha256_p1363_test.json",
	                "wycheproof ecdsa_secp256r1_sha256_p1363", VOUCH_KEY_P256, "uncompressed");
}

/* The PSA back-end has no Ed25519 (not in Mbed TLS 2.28): each group's key must be refused with
 * VOUCH_ERR_UNSUPPORTED, raw and as SPKI, and its cases are counted as skipped. */
static void ed25519_unsupported_case(struct tally *t, const json_t *group, const json_t *tc,
                                     void *vctx)
{
	struct verify_ctx *ctx = vctx;

	(void)tc;
	if (ctx->group != group) {
		struct buf pub = hex_field(json_object_get(group, "publicKey"), "pk");
		struct buf der = hex_field(group, "publicKeyDer");
		struct vouch_key key;

		vouch_key_init(&key);
		assert_int_equal(vouch_key_import_public(&key, VOUCH_KEY_ED25519, pub.p, pub.len),
		                 VOUCH_ERR_UNSUPPORTED);
		assert_int_equal(vouch_key_import_spki(&key, der.p, der.len),
		                 VOUCH_ERR_UNSUPPORTED);
		assert_int_equal(key.type, VOUCH_KEY_NONE);
		ctx->spki_checked++;
		ctx->group = group;
		buf_free(&pub);
		buf_free(&der);
	}
	t->run++;
	t->skipped++;
}

static void test_ed25519(void **state)
{
	json_t *root;
	struct tally t = {.family = "wycheproof ed25519"};
	struct verify_ctx ctx = {.type = VOUCH_KEY_ED25519, .pub_field = "pk"};
	char note[192];

	(void)state;
	if (!tu_psa()) {
		run_verify_file("wycheproof/ed25519_test.json", "wycheproof ed25519",
		                VOUCH_KEY_ED25519, "pk");
		return;
	}
	root = tu_load_json("wycheproof/ed25519_test.json");
	for_each_case(root, &t, ed25519_unsupported_case, &ctx);
	snprintf(note, sizeof(note),
	         "Ed25519 not in Mbed TLS 2.28: all %u group keys refused with "
	         "VOUCH_ERR_UNSUPPORTED, raw and as SPKI (asserted)",
	         ctx.spki_checked);
	tu_report(t.family, t.run, t.passed, t.skipped, note);
	json_decref(root);
}

/* ---- ECDH P-256 ---- */

/* Wycheproof writes the scalar as a signed big integer: strip sign bytes, left-pad to 32. */
static void scalar32(const struct buf *in, uint8_t out[VOUCH_P256_SCALAR_LEN])
{
	size_t skip = 0;

	while (skip < in->len && in->p[skip] == 0)
		skip++;
	assert_true(in->len - skip <= VOUCH_P256_SCALAR_LEN);
	memset(out, 0, VOUCH_P256_SCALAR_LEN);
	memcpy(out + VOUCH_P256_SCALAR_LEN - (in->len - skip), in->p + skip, in->len - skip);
}

static void ecdh_case(struct tally *t, const json_t *group, const json_t *tc, void *ctx)
{
	bool spki = *(const bool *)ctx;
	struct buf priv = hex_field(tc, "private"), pub = hex_field(tc, "public");
	struct buf shared = hex_field(tc, "shared");
	uint8_t d[VOUCH_P256_SCALAR_LEN], z[VOUCH_P256_SCALAR_LEN];
	struct vouch_key mine, theirs;
	int rc;

	(void)group;
	vouch_key_init(&mine);
	vouch_key_init(&theirs);
	scalar32(&priv, d);
	assert_int_equal(vouch_key_import_private(&mine, VOUCH_KEY_P256, d, sizeof(d)), VOUCH_OK);
	if (spki)
		rc = vouch_key_import_spki(&theirs, pub.p, pub.len);
	else
		rc = vouch_key_import_public(&theirs, VOUCH_KEY_P256, pub.p, pub.len);
	if (rc == VOUCH_OK)
		rc = vouch_ecdh_p256(&mine, &theirs, z);
	if (rc == VOUCH_OK && (shared.len != sizeof(z) || memcmp(z, shared.p, sizeof(z)) != 0))
		rc = VOUCH_ERR_INTERNAL; /* agreed, on the wrong secret */
	record(t, tc, rc == VOUCH_OK, rc);
	vouch_key_clear(&mine);
	vouch_key_clear(&theirs);
	buf_free(&priv);
	buf_free(&pub);
	buf_free(&shared);
}

static void test_ecdh_p256_ecpoint(void **state)
{
	json_t *root = tu_load_json("wycheproof/ecdh_secp256r1_ecpoint_test.json");
	struct tally t = {.family = "wycheproof ecdh_secp256r1_ecpoint"};
	bool spki = false;

	(void)state;
	for_each_case(root, &t, ecdh_case, &spki);
	report(&t, "compressed points refused by design: COSE keys carry x and y");
	json_decref(root);
}

static void test_ecdh_p256_spki(void **state)
{
	json_t *root = tu_load_json("wycheproof/ecdh_secp256r1_test.json");
	struct tally t = {.family = "wycheproof ecdh_secp256r1 (SPKI)"};
	bool spki = true;

	(void)state;
	for_each_case(root, &t, ecdh_case, &spki);
	report(&t, "named P-256 only: explicit curve parameters and other curves refused");
	json_decref(root);
}

/* ---- X25519 ---- */

struct x25519_ctx {
	unsigned zero_refused;   /* ZeroSharedSecret cases, each refused with VOUCH_ERR_KEY */
	unsigned import_refused; /* acceptable cases whose public key the back-end refused */
};

static bool has_flag(const json_t *tc, const char *flag)
{
	const json_t *flags = json_object_get(tc, "flags");

	for (size_t i = 0; i < json_array_size(flags); i++) {
		if (strcmp(json_string_value(json_array_get(flags, i)), flag) == 0)
			return true;
	}
	return false;
}

/*
 * RFC 7748 with the raw 32-byte keys. The port refuses an all-zero shared secret (a low-order
 * peer) with VOUCH_ERR_KEY; a back-end may refuse such a peer key already on import (Mbed TLS
 * does), with the same error. Either way the case must end in VOUCH_ERR_KEY.
 */
static void x25519_case(struct tally *t, const json_t *group, const json_t *tc, void *vctx)
{
	struct x25519_ctx *ctx = vctx;
	struct buf priv = hex_field(tc, "private"), pub = hex_field(tc, "public");
	struct buf shared = hex_field(tc, "shared");
	struct vouch_key mine, theirs;
	uint8_t z[VOUCH_X25519_KEY_LEN], mine_pub[VOUCH_X25519_KEY_LEN];
	size_t mine_pub_len = 0;
	bool imported;
	int rc;

	(void)group;
	vouch_key_init(&mine);
	vouch_key_init(&theirs);
	assert_int_equal(vouch_key_import_private(&mine, VOUCH_KEY_X25519, priv.p, priv.len),
	                 VOUCH_OK);
	assert_true(vouch_key_is_private(&mine));
	assert_int_equal(vouch_key_export_public(&mine, mine_pub, sizeof(mine_pub), &mine_pub_len),
	                 VOUCH_OK);
	assert_int_equal(mine_pub_len, VOUCH_X25519_KEY_LEN);
	rc = vouch_key_import_public(&theirs, VOUCH_KEY_X25519, pub.p, pub.len);
	imported = rc == VOUCH_OK;
	memset(z, 0xa5, sizeof(z));
	if (rc == VOUCH_OK)
		rc = vouch_ecdh_x25519(&mine, &theirs, z);
	if (has_flag(tc, "ZeroSharedSecret")) {
		assert_int_equal(rc, VOUCH_ERR_KEY);
		if (imported)
			assert_true(all_zero(z, sizeof(z))); /* wiped, not left as computed */
		ctx->zero_refused++;
	} else if (rc == VOUCH_OK &&
	           (shared.len != sizeof(z) || memcmp(z, shared.p, sizeof(z)) != 0)) {
		rc = VOUCH_ERR_INTERNAL; /* agreed, on the wrong secret */
	}
	if (!imported && expect_of(tc) == EXPECT_ACCEPTABLE)
		ctx->import_refused++;
	record(t, tc, rc == VOUCH_OK, rc);
	vouch_key_clear(&mine);
	vouch_key_clear(&theirs);
	buf_free(&priv);
	buf_free(&pub);
	buf_free(&shared);
}

static void test_x25519(void **state)
{
	json_t *root = tu_load_json("wycheproof/x25519_test.json");
	struct tally t = {.family = "wycheproof x25519"};
	struct x25519_ctx ctx = {0, 0};
	char note[192];

	(void)state;
	for_each_case(root, &t, x25519_case, &ctx);
	snprintf(note, sizeof(note),
	         "%u zero shared secrets refused with VOUCH_ERR_KEY (asserted); %u acceptable "
	         "public keys refused on import",
	         ctx.zero_refused, ctx.import_refused);
	report(&t, note);
	json_decref(root);
}

/* ---- RFC 3610 AES-CCM packet vectors ---- */

static bool rfc3610_one(const json_t *v)
{
	struct buf key = hex_field(v, "key"), nonce = hex_field(v, "nonce");
	struct buf aad = hex_field(v, "aad"), pt = hex_field(v, "pt");
	struct buf ct = hex_field(v, "ct");
	size_t tag_len = (size_t)json_integer_value(json_object_get(v, "tag_len"));
	uint8_t *out = out_buf(ct.len), *back = out_buf(ct.len), *tampered = out_buf(ct.len);
	bool ok;

	assert_int_equal(ct.len, pt.len + tag_len);
	ok = vouch_aes_ccm_encrypt(key.p, key.len, nonce.p, nonce.len, aad.p, aad.len, pt.p, pt.len,
	                           tag_len, out) == VOUCH_OK &&
	     memcmp(out, ct.p, ct.len) == 0;
	ok = ok &&
	     vouch_aes_ccm_decrypt(key.p, key.len, nonce.p, nonce.len, aad.p, aad.len, ct.p, ct.len,
	                           tag_len, back) == VOUCH_OK &&
	     memcmp(back, pt.p, pt.len) == 0;
	/* The same packet with one tag bit flipped must be refused, and the output wiped. */
	memcpy(tampered, ct.p, ct.len);
	tampered[ct.len - 1] ^= 0x01;
	ok = ok &&
	     vouch_aes_ccm_decrypt(key.p, key.len, nonce.p, nonce.len, aad.p, aad.len, tampered,
	                           ct.len, tag_len, back) == VOUCH_ERR_VERIFY &&
	     all_zero(back, pt.len);
	if (!ok)
		print_message("rfc3610: %s failed\n", tu_str(v, "name"));
	free(out);
	free(back);
	free(tampered);
	buf_free(&key);
	buf_free(&nonce);
	buf_free(&aad);
	buf_free(&pt);
	buf_free(&ct);
	return ok;
}

static void test_rfc3610_ccm(void **state)
{
	json_t *root = tu_load_json("rfc3610-ccm.json");
	const json_t *vectors = json_object_get(root, "vectors");
	unsigned run = 0, passed = 0, m8 = 0, m10 = 0;
	char note[128];

	(void)state;
	assert_non_null(tu_str(root, "provenance"));
	for (size_t i = 0; i < json_array_size(vectors); i++) {
		const json_t *v = json_array_get(vectors, i);
		json_int_t m = json_integer_value(json_object_get(v, "tag_len"));

		run++;
		if (rfc3610_one(v)) {
			passed++;
			m8 += m == 8;
			m10 += m == 10;
		}
	}
	assert_int_equal(run, 24);
	snprintf(note, sizeof(note),
	         "13-byte nonce; %u with M=8 (COSE alg 10), %u with M=10; each also tamper-checked",
	         m8, m10);
	tu_report("rfc3610 aes_ccm packet vectors", run, passed, 0, note);
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hmac_sha256),    cmocka_unit_test(test_hkdf_sha256),
	    cmocka_unit_test(test_aes_ccm),        cmocka_unit_test(test_aes_gcm),
	    cmocka_unit_test(test_aes_wrap),       cmocka_unit_test(test_ecdsa_p256_p1363),
	    cmocka_unit_test(test_ed25519),        cmocka_unit_test(test_ecdh_p256_ecpoint),
	    cmocka_unit_test(test_ecdh_p256_spki), cmocka_unit_test(test_x25519),
	    cmocka_unit_test(test_rfc3610_ccm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
