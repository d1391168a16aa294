/*
 * The pieces every COSE encryption layer shares (RFC 9052 §5.3, §3.1; RFC 9053 §4, §5.2): the
 * Enc_structure, the nonce, AEAD by COSE algorithm, and the COSE_KDF_Context.
 */
#include <string.h>

#include "cose_internal.h"

/* RFC 9052 §3: an empty protected bucket may arrive as h'' or as h'a0'; both stand for "no
 * protected attributes", and the cose-wg Examples compute their AAD with h'' for both. */
static bool protected_is_empty(const uint8_t *prot, size_t prot_len)
{
	return prot_len == 0 || (prot_len == 1 && prot[0] == 0xa0);
}

/* RFC 9053 Tables 5 and 6. CCM names read AES-CCM-<L bits>-<tag bits>-<key bits>; the nonce is
 * 15 - L/8 bytes. */
static const struct {
	int64_t alg;
	struct vouch_cose_aead_info info;
} aead_table[] = {
    {VOUCH_COSE_ALG_A128GCM, {false, 16, 12, 16}},
    {VOUCH_COSE_ALG_A192GCM, {false, 24, 12, 16}},
    {VOUCH_COSE_ALG_A256GCM, {false, 32, 12, 16}},
    {VOUCH_COSE_ALG_AES_CCM_16_64_128, {true, 16, 13, 8}},
    {VOUCH_COSE_ALG_AES_CCM_16_64_256, {true, 32, 13, 8}},
    {VOUCH_COSE_ALG_AES_CCM_64_64_128, {true, 16, 7, 8}},
    {VOUCH_COSE_ALG_AES_CCM_64_64_256, {true, 32, 7, 8}},
    {VOUCH_COSE_ALG_AES_CCM_16_128_128, {true, 16, 13, 16}},
    {VOUCH_COSE_ALG_AES_CCM_16_128_256, {true, 32, 13, 16}},
    {VOUCH_COSE_ALG_AES_CCM_64_128_128, {true, 16, 7, 16}},
    {VOUCH_COSE_ALG_AES_CCM_64_128_256, {true, 32, 7, 16}},
};

int vouch_cose_aead_info(int64_t alg, struct vouch_cose_aead_info *info)
{
	if (info == NULL)
		return VOUCH_ERR_INVALID;
	memset(info, 0, sizeof(*info));
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(aead_table); i++) {
		if (aead_table[i].alg == alg) {
			*info = aead_table[i].info;
			return VOUCH_OK;
		}
	}
	return VOUCH_ERR_UNSUPPORTED;
}

int vouch_cose_enc_structure(const char *context, const uint8_t *prot, size_t prot_len,
                             const uint8_t *external_aad, size_t aad_len, uint8_t *out, size_t cap,
                             size_t *out_len)
{
	struct vouch_cbor_writer w;

	if (out_len == NULL)
		return VOUCH_ERR_INVALID;
	*out_len = 0;
	if (context == NULL || (prot == NULL && prot_len > 0) ||
	    (external_aad == NULL && aad_len > 0))
		return VOUCH_ERR_INVALID;
	if (protected_is_empty(prot, prot_len))
		prot_len = 0;

	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_array(&w, 3);
	vouch_cbor_write_cstr(&w, context);
	vouch_cbor_write_bstr(&w, prot, prot_len);
	vouch_cbor_write_bstr(&w, external_aad, aad_len);
	return vouch_cbor_writer_finish(&w, out_len);
}

int vouch_cose_nonce(const struct vouch_cose_headers *hdr, const uint8_t *base_iv,
                     size_t base_iv_len, uint8_t *nonce, size_t nonce_len)
{
	size_t off;

	if (hdr == NULL || nonce == NULL || nonce_len == 0)
		return VOUCH_ERR_INVALID;
	memset(nonce, 0, nonce_len);

	/* RFC 9052 §3.1: IV and Partial IV MUST NOT both be present in one layer. */
	if (hdr->iv != NULL && hdr->partial_iv != NULL)
		return VOUCH_ERR_COSE_HEADER;
	if (hdr->iv != NULL) {
		if (hdr->iv_len != nonce_len)
			return VOUCH_ERR_COSE_HEADER;
		memcpy(nonce, hdr->iv, nonce_len);
		return VOUCH_OK;
	}
	if (hdr->partial_iv == NULL)
		return VOUCH_ERR_COSE_HEADER;
	if (hdr->partial_iv_len == 0 || hdr->partial_iv_len > nonce_len)
		return VOUCH_ERR_COSE_HEADER;
	/* A Partial IV only means something against the context IV the caller holds. */
	if (base_iv == NULL)
		return VOUCH_ERR_COSE_HEADER;
	if (base_iv_len != nonce_len)
		return VOUCH_ERR_INVALID;

	memcpy(nonce, base_iv, nonce_len);
	off = nonce_len - hdr->partial_iv_len;
	for (size_t i = 0; i < hdr->partial_iv_len; i++)
		nonce[off + i] ^= hdr->partial_iv[i];
	return VOUCH_OK;
}

int vouch_cose_aead_encrypt(int64_t alg, const uint8_t *key, size_t key_len, const uint8_t *nonce,
                            const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                            uint8_t *ct)
{
	struct vouch_cose_aead_info info;

	if (vouch_cose_aead_info(alg, &info) != VOUCH_OK)
		return VOUCH_ERR_COSE_ALG;
	if (key == NULL || nonce == NULL || ct == NULL || (pt == NULL && pt_len > 0))
		return VOUCH_ERR_INVALID;
	if (key_len != info.key_len)
		return VOUCH_ERR_KEY;
	if (info.ccm)
		return vouch_aes_ccm_encrypt(key, key_len, nonce, info.nonce_len, aad, aad_len, pt,
		                             pt_len, info.tag_len, ct);
	return vouch_aes_gcm_encrypt(key, key_len, nonce, info.nonce_len, aad, aad_len, pt, pt_len,
	                             info.tag_len, ct);
}

int vouch_cose_aead_decrypt(int64_t alg, const uint8_t *key, size_t key_len, const uint8_t *nonce,
                            const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                            uint8_t *pt)
{
	struct vouch_cose_aead_info info;

	if (vouch_cose_aead_info(alg, &info) != VOUCH_OK)
		return VOUCH_ERR_COSE_ALG;
	if (key == NULL || nonce == NULL || ct == NULL || pt == NULL)
		return VOUCH_ERR_INVALID;
	if (key_len != info.key_len)
		return VOUCH_ERR_KEY;
	/* Too short to hold the tag: it cannot authenticate. */
	if (ct_len < info.tag_len)
		return VOUCH_ERR_VERIFY;
	if (info.ccm)
		return vouch_aes_ccm_decrypt(key, key_len, nonce, info.nonce_len, aad, aad_len, ct,
		                             ct_len, info.tag_len, pt);
	return vouch_aes_gcm_decrypt(key, key_len, nonce, info.nonce_len, aad, aad_len, ct, ct_len,
	                             info.tag_len, pt);
}

/* One PartyInfo array: identity, nonce, other, each nil when absent. */
static void write_party_info(struct vouch_cbor_writer *w, const uint8_t *identity,
                             size_t identity_len, const uint8_t *nonce, size_t nonce_len,
                             const uint8_t *other, size_t other_len)
{
	const uint8_t *p[3] = {identity, nonce, other};
	size_t n[3] = {identity_len, nonce_len, other_len};

	vouch_cbor_write_array(w, 3);
	for (size_t i = 0; i < 3; i++) {
		if (p[i] != NULL)
			vouch_cbor_write_bstr(w, p[i], n[i]);
		else
			vouch_cbor_write_null(w);
	}
}

int vouch_cose_kdf_context(int64_t alg_id, size_t key_bits, const struct vouch_cose_headers *rh,
                           uint8_t *out, size_t cap, size_t *out_len)
{
	struct vouch_cbor_writer w;
	size_t prot_len;

	if (out_len == NULL)
		return VOUCH_ERR_INVALID;
	*out_len = 0;
	if (rh == NULL || key_bits == 0)
		return VOUCH_ERR_INVALID;
	prot_len =
	    protected_is_empty(rh->protected_bstr, rh->protected_len) ? 0 : rh->protected_len;

	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_array(&w, 4);
	vouch_cbor_write_int(&w, alg_id);
	write_party_info(&w, rh->party_u_identity, rh->party_u_identity_len, rh->party_u_nonce,
	                 rh->party_u_nonce_len, rh->party_u_other, rh->party_u_other_len);
	write_party_info(&w, rh->party_v_identity, rh->party_v_identity_len, rh->party_v_nonce,
	                 rh->party_v_nonce_len, rh->party_v_other, rh->party_v_other_len);
	/* SuppPubInfo without 'other', and no SuppPrivInfo: this API has no way to agree on them.
	 */
	vouch_cbor_write_array(&w, 2);
	vouch_cbor_write_uint(&w, key_bits);
	vouch_cbor_write_bstr(&w, rh->protected_bstr, prot_len);
	return vouch_cbor_writer_finish(&w, out_len);
}

int vouch_cose_enc_write_content(struct vouch_cbor_writer *w, const char *context,
                                 const uint8_t *key, size_t key_len,
                                 const struct vouch_cose_hdr_params *hp, const uint8_t *base_iv,
                                 size_t base_iv_len, const uint8_t *pt, size_t pt_len,
                                 const uint8_t *external_aad, size_t aad_len)
{
	struct vouch_cose_aead_info info;
	struct vouch_cose_hdr_params h;
	struct vouch_cose_headers piv;
	struct vouch_cbor_reader r;
	uint8_t iv[VOUCH_COSE_MAX_NONCE];
	uint8_t nonce[VOUCH_COSE_MAX_NONCE];
	uint8_t enc[VOUCH_COSE_MAX_ENC_STRUCTURE];
	const uint8_t *prot;
	size_t iv_len = 0, prot_len, enc_len, start, ct_len;
	int rc = VOUCH_ERR_INTERNAL;

	if (w == NULL || w->buf == NULL || context == NULL || key == NULL || hp == NULL ||
	    (pt == NULL && pt_len > 0) || (external_aad == NULL && aad_len > 0))
		return VOUCH_ERR_INVALID;
	if (w->err != VOUCH_OK)
		return w->err;
	if (vouch_cose_aead_info(hp->alg, &info) != VOUCH_OK)
		return VOUCH_ERR_COSE_ALG;
	if (key_len != info.key_len)
		return VOUCH_ERR_KEY;
	if (pt_len > SIZE_MAX - info.tag_len || (hp->iv != NULL && hp->partial_iv != NULL))
		return VOUCH_ERR_INVALID;

	if (hp->partial_iv != NULL) {
		memset(&piv, 0, sizeof(piv));
		piv.partial_iv = hp->partial_iv;
		piv.partial_iv_len = hp->partial_iv_len;
		rc = vouch_cose_nonce(&piv, base_iv, base_iv_len, nonce, info.nonce_len);
		if (rc != VOUCH_OK)
			return VOUCH_ERR_INVALID; /* the caller's Partial IV or base IV */
	} else {
		if (hp->iv != NULL) {
			if (hp->iv_len != info.nonce_len)
				return VOUCH_ERR_INVALID;
			memcpy(iv, hp->iv, info.nonce_len);
		} else {
			rc = vouch_random(iv, info.nonce_len);
			if (rc != VOUCH_OK)
				return rc;
		}
		iv_len = info.nonce_len;
		memcpy(nonce, iv, iv_len);
	}

	/* The iv argument is what gets written: the caller's or the fresh one. */
	h = *hp;
	h.iv = NULL;
	h.iv_len = 0;
	start = w->len;
	vouch_cose_headers_write(w, hp->alg, &h, iv, iv_len, NULL, 0, 0);
	if (w->err != VOUCH_OK)
		return w->err;

	/* The Enc_structure needs the protected bstr exactly as written. */
	vouch_cbor_reader_init(&r, w->buf + start, w->len - start);
	if (vouch_cbor_read_bstr(&r, &prot, &prot_len) != VOUCH_OK)
		return VOUCH_ERR_INTERNAL;
	rc = vouch_cose_enc_structure(context, prot, prot_len, external_aad, aad_len, enc,
	                              sizeof(enc), &enc_len);
	if (rc != VOUCH_OK)
		return rc == VOUCH_ERR_BUFFER ? VOUCH_ERR_CBOR_LIMIT : rc;

	ct_len = pt_len + info.tag_len;
	vouch_cbor_write_bstr_head(w, ct_len);
	if (w->err != VOUCH_OK)
		return w->err;
	if (ct_len > w->cap - w->len)
		return VOUCH_ERR_BUFFER;
	/* Encrypt straight into the output: no copy of the plaintext, no heap. */
	rc = vouch_cose_aead_encrypt(hp->alg, key, key_len, nonce, enc, enc_len, pt, pt_len,
	                             w->buf + w->len);
	if (rc != VOUCH_OK) {
		vouch_wipe(w->buf + w->len, ct_len);
		return rc;
	}
	w->len += ct_len;
	return VOUCH_OK;
}
