/*
 * A person's credential (docs/credential.md): a CWT in one canonical COSE_Sign1 envelope, built on
 * the CWT claims encoder / decoder and the COSE_Sign1 pieces, with RFC 9679 key thumbprints and
 * RFC 9770 token hashes.
 *
 * Issuing writes the claims in place inside the caller's buffer and verifying points into the
 * caller's buffer: neither side copies the (up to 64 KiB of) permissions or touches the heap.
 */
#include <string.h>

#include "vouch/policy.h"
#include "cose_internal.h"
#include "cred_internal.h"

#define CRED_TAG61_LEN 2 /* d8 3d */
/* An RFC 9679 input: {1: 2, -1: 1, -2: bstr 32, -3: bstr 32} takes 75 bytes, OKP fewer. */
#define THUMB_INPUT_MAX   80
#define P256_COSE_KEY_LEN 75
#define HEAD_MAX          9
/* Bytes of credential hashed per call when making its base64url text (a multiple of 3). */
#define B64_CHUNK_IN 192

#define CRED_ALL_CLAIMS                                                                            \
	(VOUCH_CWT_HAS_ISS | VOUCH_CWT_HAS_SUB | VOUCH_CWT_HAS_AUD | VOUCH_CWT_HAS_EXP |           \
	 VOUCH_CWT_HAS_NBF | VOUCH_CWT_HAS_IAT | VOUCH_CWT_HAS_CTI | VOUCH_CWT_HAS_CNF)
/* Presence bits for the two private claims, above the registered ones. */
#define CRED_HAS_PERM  (1u << 16)
#define CRED_HAS_PHONE (1u << 17)

/* P-256 group order n, and n / 2 (rounded down), big-endian. */
static const uint8_t p256_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};
static const uint8_t p256_half_n[32] = {
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
};

/* The fixed bytes of a canonical P-256 COSE_Key {1: 2, -1: 1, -2: x, -3: y} around x and y. */
static const uint8_t p256_key_head[8] = {0xa4, 0x01, 0x02, 0x20, 0x01, 0x21, 0x58, 0x20};
static const uint8_t p256_key_mid[3] = {0x22, 0x58, 0x20};

bool vouch_cred_text_ok(const char *p, size_t len)
{
	return p != NULL && len >= 1 && len <= VOUCH_CRED_TEXT_MAX && memchr(p, 0, len) == NULL;
}

/* A C string the formats accept (see vouch_cred_text_ok); *len gets its length. */
static bool cstr_ok(const char *s, size_t *len)
{
	const char *nul;

	*len = 0;
	if (s == NULL)
		return false;
	nul = memchr(s, 0, VOUCH_CRED_TEXT_MAX + 1);
	if (nul == NULL || nul == s)
		return false;
	*len = (size_t)(nul - s);
	return true;
}

/* ---- RFC 9679 thumbprint, RFC 9770 token hash ---- */

int vouch_cose_key_thumbprint(const struct vouch_key *key, uint8_t out[VOUCH_THUMBPRINT_LEN])
{
	struct vouch_cbor_writer w;
	uint8_t input[THUMB_INPUT_MAX];
	size_t len = 0;
	int rc = VOUCH_ERR_INTERNAL;

	if (out != NULL)
		memset(out, 0, VOUCH_THUMBPRINT_LEN);
	if (key == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	if (key->type != VOUCH_KEY_P256 && key->type != VOUCH_KEY_ED25519)
		return VOUCH_ERR_KEY;
	/*
	 * Without kid and alg, the public COSE_Key writer emits exactly the required parameters
	 * (RFC 9679 §4) in the order RFC 8949 §4.2.1 sorts their encoded labels (01, 20, 21, 22),
	 * each in its shortest form: the deterministic encoding RFC 9679 §3 hashes.
	 */
	vouch_cbor_writer_init(&w, input, sizeof(input));
	vouch_cose_key_write_public(&w, key, NULL, 0, 0);
	rc = vouch_cbor_writer_finish(&w, &len);
	if (rc != VOUCH_OK)
		return rc;
	return vouch_sha256(input, len, out);
}

int vouch_cred_token_hash(const uint8_t *cred, size_t len, uint8_t out[VOUCH_TOKEN_HASH_LEN])
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct vouch_sha256_ctx h;
	char text[B64_CHUNK_IN / 3 * 4];
	size_t i = 0;
	int rc = VOUCH_ERR_INTERNAL;

	if (out != NULL)
		memset(out, 0, VOUCH_TOKEN_HASH_LEN);
	if (cred == NULL || len == 0 || out == NULL)
		return VOUCH_ERR_INVALID;

	/* RFC 9770 §4.2.1 hashes the base64url text of the token, never held whole here: a
	 * 72 KiB credential would need 96 KiB of text. */
	rc = vouch_sha256_init(&h);
	if (rc != VOUCH_OK)
		return rc;
	while (i < len) {
		size_t n = 0, end = len - i > B64_CHUNK_IN ? i + B64_CHUNK_IN : len;

		for (; i + 3 <= end; i += 3) {
			uint32_t v =
			    (uint32_t)cred[i] << 16 | (uint32_t)cred[i + 1] << 8 | cred[i + 2];

			text[n++] = alphabet[v >> 18];
			text[n++] = alphabet[(v >> 12) & 0x3f];
			text[n++] = alphabet[(v >> 6) & 0x3f];
			text[n++] = alphabet[v & 0x3f];
		}
		/* Only the last chunk can end in 1 or 2 bytes; no padding (RFC 4648 §5 as used by
		 * RFC 9770). */
		if (end - i == 1) {
			uint32_t v = (uint32_t)cred[i] << 16;

			text[n++] = alphabet[v >> 18];
			text[n++] = alphabet[(v >> 12) & 0x3f];
			i += 1;
		} else if (end - i == 2) {
			uint32_t v = (uint32_t)cred[i] << 16 | (uint32_t)cred[i + 1] << 8;

			text[n++] = alphabet[v >> 18];
			text[n++] = alphabet[(v >> 12) & 0x3f];
			text[n++] = alphabet[(v >> 6) & 0x3f];
			i += 2;
		}
		rc = vouch_sha256_update(&h, text, n);
		if (rc != VOUCH_OK)
			goto out_clear;
	}
	rc = vouch_sha256_final(&h, out);
out_clear:
	vouch_sha256_clear(&h);
	return rc;
}

/* ---- the envelope ---- */

/* a >= b, both 32-byte big-endian */
static bool be32_ge(const uint8_t *a, const uint8_t *b)
{
	for (size_t i = 0; i < 32; i++) {
		if (a[i] != b[i])
			return a[i] > b[i];
	}
	return true;
}

static bool sig_low_s(const uint8_t sig[VOUCH_P256_SIG_LEN])
{
	return be32_ge(p256_half_n, sig + 32);
}

/*
 * ECDSA signatures come in pairs: (r, s) and (r, n - s) both verify. Only the low one is ever
 * issued or accepted, so a credential has one encoding and one token hash.
 */
static void sig_make_low_s(uint8_t sig[VOUCH_P256_SIG_LEN])
{
	uint8_t *s = sig + 32;
	unsigned borrow = 0;

	if (sig_low_s(sig))
		return;
	for (size_t i = 32; i-- > 0;) {
		unsigned d = (unsigned)p256_n[i] - s[i] - borrow;

		borrow = d > 0xff;
		s[i] = (uint8_t)d;
	}
}

static void protected_expected(const uint8_t kid[VOUCH_THUMBPRINT_LEN],
                               uint8_t out[VOUCH_CRED_PROTECTED_LEN])
{
	static const uint8_t head[6] = {0xa2, 0x01, 0x26, 0x04, 0x58, 0x20};

	memcpy(out, head, sizeof(head));
	memcpy(out + sizeof(head), kid, VOUCH_THUMBPRINT_LEN);
}

static bool signer_ok(const struct vouch_key *key)
{
	return key != NULL && key->type == VOUCH_KEY_P256;
}

/* vouch_cred_envelope_sign with the signer's kid given (kid NULL: computed). */
static int envelope_sign(const struct vouch_key *signer, const uint8_t *signer_kid, bool tag61,
                         int (*write_payload)(const void *ctx, uint8_t *out, size_t cap,
                                              size_t *len),
                         const void *ctx, uint8_t *out, size_t cap, size_t *out_len)
{
	struct vouch_cose_hdr_params hp;
	struct vouch_cbor_writer w;
	struct vouch_cbor_reader r;
	struct vouch_cose_tbs tbs;
	uint8_t kid[VOUCH_THUMBPRINT_LEN], sig[VOUCH_P256_SIG_LEN], head[HEAD_MAX];
	const uint8_t *prot = NULL, *payload;
	size_t prot_len = 0, payload_len = 0, written = 0, pos = 0, hdr_start, sig_len = 0;
	size_t head_len = 0;
	int rc = VOUCH_ERR_INTERNAL;

	if (out_len != NULL)
		*out_len = 0;
	if (signer == NULL || write_payload == NULL || out == NULL || out_len == NULL)
		return VOUCH_ERR_INVALID;
	if (!signer_ok(signer) || !vouch_key_is_private(signer))
		return VOUCH_ERR_KEY;
	if (signer_kid != NULL) {
		memcpy(kid, signer_kid, sizeof(kid));
	} else {
		rc = vouch_cose_key_thumbprint(signer, kid);
		if (rc != VOUCH_OK)
			return rc;
	}
	memset(&hp, 0, sizeof(hp));
	hp.alg = VOUCH_COSE_ALG_ES256;
	hp.kid = kid;
	hp.kid_len = sizeof(kid);
	hp.kid_protected = true;
	vouch_cbor_writer_init(&w, out, cap);
	if (tag61)
		vouch_cbor_write_tag(&w, VOUCH_CWT_TAG);
	vouch_cbor_write_tag(&w, VOUCH_COSE_TAG_SIGN1);
	vouch_cbor_write_array(&w, 4);
	hdr_start = w.len;
	vouch_cose_headers_write(&w, VOUCH_COSE_ALG_ES256, &hp, NULL, 0, NULL, 0, 0);
	rc = vouch_cbor_writer_finish(&w, &pos);
	if (rc != VOUCH_OK)
		return rc;
	if (cap - pos < 1)
		return VOUCH_ERR_BUFFER;

	/*
	 * The payload goes straight to its place in the message and is signed there: written once,
	 * after room for the shortest bstr head, then moved up by what its length's head needs
	 * more (a memmove of the payload costs far less than encoding it twice, count and write).
	 */
	rc = write_payload(ctx, out + pos + 1, cap - pos - 1, &payload_len);
	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_writer_init(&w, head, sizeof(head));
	vouch_cbor_write_bstr_head(&w, payload_len);
	rc = vouch_cbor_writer_finish(&w, &head_len);
	if (rc != VOUCH_OK)
		return rc;
	if (cap - pos < head_len || cap - pos - head_len < payload_len)
		return VOUCH_ERR_BUFFER;
	memmove(out + pos + head_len, out + pos + 1, payload_len);
	memcpy(out + pos, head, head_len);
	pos += head_len;
	payload = out + pos;
	pos += payload_len;

	vouch_cbor_reader_init(&r, out + hdr_start, pos - hdr_start);
	if (vouch_cbor_read_bstr(&r, &prot, &prot_len) != VOUCH_OK ||
	    prot_len != VOUCH_CRED_PROTECTED_LEN)
		return VOUCH_ERR_INTERNAL;
	rc =
	    vouch_cose_tbs_build(&tbs, "Signature1", prot, prot_len, NULL, 0, payload, payload_len);
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_sign(signer, tbs.iov, VOUCH_ARRAY_LEN(tbs.iov), sig, sizeof(sig), &sig_len);
	if (rc != VOUCH_OK)
		return rc;
	if (sig_len != sizeof(sig))
		return VOUCH_ERR_INTERNAL;
	sig_make_low_s(sig);

	vouch_cbor_writer_init(&w, out + pos, cap - pos);
	vouch_cbor_write_bstr(&w, sig, sizeof(sig));
	rc = vouch_cbor_writer_finish(&w, &written);
	if (rc != VOUCH_OK)
		return rc;
	*out_len = pos + written;
	return VOUCH_OK;
}

int vouch_cred_envelope_sign(const struct vouch_key *signer, bool tag61,
                             int (*write_payload)(const void *ctx, uint8_t *out, size_t cap,
                                                  size_t *len),
                             const void *ctx, uint8_t *out, size_t cap, size_t *out_len)
{
	return envelope_sign(signer, NULL, tag61, write_payload, ctx, out, cap, out_len);
}

/* buf[*pos..] must be the shortest bstr head of len followed by the bytes at data. */
static bool canonical_bstr_at(const uint8_t *buf, size_t buf_len, size_t *pos, const uint8_t *data,
                              size_t len)
{
	struct vouch_cbor_writer w;
	uint8_t head[HEAD_MAX];
	size_t head_len = 0;

	vouch_cbor_writer_init(&w, head, sizeof(head));
	vouch_cbor_write_bstr_head(&w, len);
	if (vouch_cbor_writer_finish(&w, &head_len) != VOUCH_OK)
		return false;
	if (buf_len - *pos < head_len || memcmp(buf + *pos, head, head_len) != 0 ||
	    data != buf + *pos + head_len || buf_len - *pos - head_len < len)
		return false;
	*pos += head_len + len;
	return true;
}

/* The protected header must be {1: -7, 4: kid} exactly as issued; which rule it breaks decides
 * the error. */
static int check_protected(const struct vouch_cose_headers *hdr,
                           const uint8_t kid[VOUCH_THUMBPRINT_LEN])
{
	uint8_t want[VOUCH_CRED_PROTECTED_LEN];

	if (!hdr->has_alg || hdr->alg != VOUCH_COSE_ALG_ES256)
		return VOUCH_ERR_COSE_ALG;
	if (hdr->kid == NULL)
		return VOUCH_ERR_COSE_HEADER;
	/* Signed by another key (as it says itself): no point checking the signature. */
	if (hdr->kid_len != VOUCH_THUMBPRINT_LEN ||
	    memcmp(hdr->kid, kid, VOUCH_THUMBPRINT_LEN) != 0)
		return VOUCH_ERR_VERIFY;
	protected_expected(kid, want);
	if (hdr->protected_len != sizeof(want) ||
	    memcmp(hdr->protected_bstr, want, sizeof(want)) != 0)
		return VOUCH_ERR_COSE_HEADER;
	return VOUCH_OK;
}

int vouch_cred_envelope_open(const uint8_t *buf, size_t len, bool tag61,
                             const struct vouch_key *signer, const uint8_t **payload,
                             size_t *payload_len)
{
	static const uint8_t prefix61[] = {0xd8, 0x3d, 0xd2, 0x84};
	struct vouch_cose_sign1 msg;
	uint8_t kid[VOUCH_THUMBPRINT_LEN];
	size_t skip = tag61 ? CRED_TAG61_LEN : 0, pos;
	int rc = VOUCH_ERR_INTERNAL;

	if (payload != NULL)
		*payload = NULL;
	if (payload_len != NULL)
		*payload_len = 0;
	if (buf == NULL || signer == NULL || payload == NULL || payload_len == NULL)
		return VOUCH_ERR_INVALID;
	if (!signer_ok(signer))
		return VOUCH_ERR_KEY;

	/* Exactly [tag 61] tag 18 and a 4-array, in their one-byte heads. */
	if (len < CRED_TAG61_LEN + 2 ||
	    memcmp(buf, prefix61 + CRED_TAG61_LEN - skip, skip + 2) != 0)
		return VOUCH_ERR_COSE_STRUCTURE;
	rc = vouch_cose_sign1_decode(buf + skip, len - skip, &msg);
	if (rc != VOUCH_OK)
		return rc;
	if (msg.payload == NULL)
		return VOUCH_ERR_COSE_STRUCTURE;
	rc = vouch_cose_key_thumbprint(signer, kid);
	if (rc != VOUCH_OK)
		return rc;
	rc = check_protected(&msg.hdr, kid);
	if (rc != VOUCH_OK)
		return rc;

	/* Nothing outside the signed parts may vary: the unprotected map is empty, every head is
	 * shortest, and the signature is the last thing in the buffer. */
	pos = skip + 2;
	if (!canonical_bstr_at(buf, len, &pos, msg.hdr.protected_bstr, msg.hdr.protected_len))
		return VOUCH_ERR_COSE_STRUCTURE;
	if (pos >= len || buf[pos] != 0xa0)
		return VOUCH_ERR_COSE_HEADER;
	pos++;
	if (!canonical_bstr_at(buf, len, &pos, msg.payload, msg.payload_len) ||
	    !canonical_bstr_at(buf, len, &pos, msg.signature, msg.signature_len) || pos != len)
		return VOUCH_ERR_COSE_STRUCTURE;
	if (msg.signature_len != VOUCH_P256_SIG_LEN || !sig_low_s(msg.signature))
		return VOUCH_ERR_VERIFY;
	rc = vouch_cose_sign1_verify(&msg, signer, NULL, 0, NULL, 0);
	if (rc != VOUCH_OK)
		return rc;
	*payload = msg.payload;
	*payload_len = msg.payload_len;
	return VOUCH_OK;
}

/* ---- issuing ---- */

struct claims_ctx {
	const struct vouch_cwt_claims *claims;
	const struct vouch_cwt_extra *extra;
	size_t n_extra;
};

static int write_claims(const void *ctx, uint8_t *out, size_t cap, size_t *len)
{
	const struct claims_ctx *c = ctx;

	return vouch_cwt_claims_encode(c->claims, c->extra, c->n_extra, out, cap, len);
}

static int check_params(const struct vouch_cred_params *p, size_t *iss_len, size_t *sub_len,
                        size_t *aud_len, size_t *phone_len)
{
	if (!cstr_ok(p->iss, iss_len) || !cstr_ok(p->sub, sub_len) || !cstr_ok(p->aud, aud_len) ||
	    !cstr_ok(p->phone, phone_len))
		return VOUCH_ERR_INVALID;
	/* A credential that can never be valid is a caller bug, not something to sign. */
	if (p->exp <= p->nbf || p->exp <= p->iat)
		return VOUCH_ERR_INVALID;
	/* That they are one CBOR item the claims encoder checks (VOUCH_ERR_INVALID too): no need to
	 * walk up to 64 KiB once more on every credential. */
	if (p->perm == NULL || p->perm_len == 0 || p->perm_len > VOUCH_POLICY_ENCODED_MAX)
		return VOUCH_ERR_INVALID;
	if (p->cnf == NULL)
		return VOUCH_ERR_INVALID;
	if (p->cnf->type != VOUCH_KEY_P256)
		return VOUCH_ERR_KEY;
	return VOUCH_OK;
}

int vouch_cred_issue(const struct vouch_cred_params *p, const struct vouch_key *issuer,
                     uint8_t *out, size_t cap, size_t *out_len)
{
	struct vouch_cwt_claims c;
	struct vouch_cwt_extra extra[2];
	struct vouch_cbor_writer w;
	struct claims_ctx ctx;
	uint8_t cnf[P256_COSE_KEY_LEN], phone[HEAD_MAX + VOUCH_CRED_TEXT_MAX];
	size_t iss_len, sub_len, aud_len, phone_len, cnf_len = 0, phone_enc_len = 0;
	int rc = VOUCH_ERR_INTERNAL;

	if (out_len != NULL)
		*out_len = 0;
	if (p == NULL || issuer == NULL || out == NULL || out_len == NULL)
		return VOUCH_ERR_INVALID;
	rc = check_params(p, &iss_len, &sub_len, &aud_len, &phone_len);
	if (rc != VOUCH_OK)
		return rc;

	vouch_cbor_writer_init(&w, cnf, sizeof(cnf));
	vouch_cose_key_write_public(&w, p->cnf, NULL, 0, 0);
	rc = vouch_cbor_writer_finish(&w, &cnf_len);
	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_writer_init(&w, phone, sizeof(phone));
	vouch_cbor_write_tstr(&w, p->phone, phone_len);
	rc = vouch_cbor_writer_finish(&w, &phone_enc_len);
	if (rc != VOUCH_OK)
		return rc;

	memset(&c, 0, sizeof(c));
	c.present = CRED_ALL_CLAIMS;
	c.iss = p->iss;
	c.iss_len = iss_len;
	c.sub = p->sub;
	c.sub_len = sub_len;
	c.aud = p->aud;
	c.aud_len = aud_len;
	c.exp = p->exp;
	c.nbf = p->nbf;
	c.iat = p->iat;
	c.cti = p->cti;
	c.cti_len = VOUCH_CRED_CTI_LEN;
	c.cnf_kind = VOUCH_CWT_CNF_COSE_KEY;
	c.cnf = cnf;
	c.cnf_len = cnf_len;
	/* Written after the registered claims in this order, which is also the RFC 8949 §4.2.1
	 * order of their labels (3a 00 01 00 00 before 3a 00 01 00 01). */
	extra[0] = (struct vouch_cwt_extra){VOUCH_CRED_CLAIM_PERM, p->perm, p->perm_len};
	extra[1] = (struct vouch_cwt_extra){VOUCH_CRED_CLAIM_PHONE, phone, phone_enc_len};
	ctx = (struct claims_ctx){&c, extra, VOUCH_ARRAY_LEN(extra)};
	return envelope_sign(issuer, p->issuer_kid, true, write_claims, &ctx, out, cap, out_len);
}

/* ---- verifying ---- */

static bool cnf_is_p256(const uint8_t *p, size_t len)
{
	return len == P256_COSE_KEY_LEN && memcmp(p, p256_key_head, sizeof(p256_key_head)) == 0 &&
	       memcmp(p + sizeof(p256_key_head) + VOUCH_P256_SCALAR_LEN, p256_key_mid,
	              sizeof(p256_key_mid)) == 0;
}

/* One claim of the map at r (its label already read), checked beyond what the CWT decoder did. */
static int check_claim(struct vouch_cbor_reader *r, int64_t label, struct vouch_cred *out,
                       uint32_t *seen)
{
	const struct vouch_cwt_claims *c = &out->claims;
	enum vouch_cbor_type type;
	const char *text;
	size_t text_len;

	switch (label) {
	case VOUCH_CWT_ISS:
	case VOUCH_CWT_SUB:
	case VOUCH_CWT_AUD:
		if (vouch_cbor_read_tstr(r, &text, &text_len) != VOUCH_OK)
			return VOUCH_ERR_CWT_CLAIM;
		if (!vouch_cred_text_ok(text, text_len))
			return VOUCH_ERR_CRED_FORMAT;
		break;
	case VOUCH_CWT_EXP:
	case VOUCH_CWT_NBF:
	case VOUCH_CWT_IAT:
		/* NumericDate may be a float in a CWT; an issuer of credentials writes integers. */
		if (vouch_cbor_peek(r, &type) != VOUCH_OK ||
		    (type != VOUCH_CBOR_UINT && type != VOUCH_CBOR_NEGINT))
			return VOUCH_ERR_CRED_FORMAT;
		if (vouch_cbor_skip(r) != VOUCH_OK)
			return VOUCH_ERR_CWT_CLAIM;
		break;
	case VOUCH_CWT_CTI:
		if (c->cti_len != VOUCH_CRED_CTI_LEN)
			return VOUCH_ERR_CRED_FORMAT;
		if (vouch_cbor_skip(r) != VOUCH_OK)
			return VOUCH_ERR_CWT_CLAIM;
		break;
	case VOUCH_CWT_CNF:
		if (c->cnf_kind != VOUCH_CWT_CNF_COSE_KEY || !cnf_is_p256(c->cnf, c->cnf_len))
			return VOUCH_ERR_CWT_CNF;
		if (vouch_cbor_skip(r) != VOUCH_OK)
			return VOUCH_ERR_CWT_CLAIM;
		break;
	case VOUCH_CRED_CLAIM_PERM:
		if (vouch_cbor_read_raw(r, &out->perm, &out->perm_len) != VOUCH_OK)
			return VOUCH_ERR_CWT_CLAIM;
		if (out->perm_len > VOUCH_POLICY_ENCODED_MAX)
			return VOUCH_ERR_CRED_FORMAT;
		*seen |= CRED_HAS_PERM;
		return VOUCH_OK;
	case VOUCH_CRED_CLAIM_PHONE:
		if (vouch_cbor_read_tstr(r, &out->phone, &out->phone_len) != VOUCH_OK)
			return VOUCH_ERR_CWT_CLAIM;
		if (!vouch_cred_text_ok(out->phone, out->phone_len))
			return VOUCH_ERR_CRED_FORMAT;
		*seen |= CRED_HAS_PHONE;
		return VOUCH_OK;
	default:
		/* A claim this format does not define is refused, not ignored: a verifier that
		 * skipped it would accept a credential whose meaning it does not know. */
		return VOUCH_ERR_CRED_FORMAT;
	}
	*seen |= 1u << label;
	return VOUCH_OK;
}

static int claims_parse(const uint8_t *payload, size_t len, struct vouch_cred *out)
{
	struct vouch_cbor_reader r;
	enum vouch_cbor_type type;
	uint32_t seen = 0;
	size_t n;
	int rc = VOUCH_ERR_INTERNAL;

	rc = vouch_cwt_claims_decode(payload, len, &out->claims);
	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_reader_init(&r, payload, len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK)
		return VOUCH_ERR_CWT_CLAIM;
	for (size_t i = 0; i < n; i++) {
		int64_t label;

		if (vouch_cbor_peek(&r, &type) != VOUCH_OK ||
		    (type != VOUCH_CBOR_UINT && type != VOUCH_CBOR_NEGINT) ||
		    vouch_cbor_read_int(&r, &label) != VOUCH_OK)
			return VOUCH_ERR_CRED_FORMAT;
		rc = check_claim(&r, label, out, &seen);
		if (rc != VOUCH_OK)
			return rc;
	}
	if ((seen & CRED_ALL_CLAIMS) != CRED_ALL_CLAIMS || !(seen & CRED_HAS_PERM) ||
	    !(seen & CRED_HAS_PHONE))
		return VOUCH_ERR_CWT_MISSING;
	if (out->claims.exp <= out->claims.nbf || out->claims.exp <= out->claims.iat)
		return VOUCH_ERR_CRED_FORMAT;
	/* The cnf key is in its canonical form, so its bytes are the RFC 9679 input. */
	return vouch_sha256(out->claims.cnf, out->claims.cnf_len, out->cnf_thumbprint);
}

int vouch_cred_claims_parse(const uint8_t *payload, size_t len, struct vouch_cred *out)
{
	int rc = VOUCH_ERR_INTERNAL;

	if (out == NULL)
		return VOUCH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (payload == NULL)
		return VOUCH_ERR_INVALID;
	rc = claims_parse(payload, len, out);
	if (rc != VOUCH_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

int vouch_cred_verify(const uint8_t *buf, size_t len, const struct vouch_key *issuer,
                      const struct vouch_cred_rules *rules, struct vouch_cred *out)
{
	struct vouch_cwt_rules cr;
	const uint8_t *payload = NULL;
	size_t payload_len = 0;
	int rc = VOUCH_ERR_INTERNAL;

	if (out == NULL)
		return VOUCH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (buf == NULL || issuer == NULL || rules == NULL || rules->iss == NULL ||
	    rules->aud == NULL || rules->leeway < 0)
		return VOUCH_ERR_INVALID;
	if (len > VOUCH_CRED_MAX)
		return VOUCH_ERR_CBOR_LIMIT;

	rc = vouch_cred_envelope_open(buf, len, true, issuer, &payload, &payload_len);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_cred_claims_parse(payload, payload_len, out);
	if (rc != VOUCH_OK)
		goto out_clear;
	memset(&cr, 0, sizeof(cr));
	cr.now = rules->now;
	cr.leeway = rules->leeway;
	cr.iss = rules->iss;
	cr.aud = rules->aud;
	cr.require_exp = true;
	cr.require_cnf = true;
	rc = vouch_cwt_validate(&out->claims, &cr);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_cred_token_hash(buf, len, out->token_hash);
	if (rc != VOUCH_OK)
		goto out_clear;
	return VOUCH_OK;

out_clear:
	memset(out, 0, sizeof(*out));
	return rc;
}
