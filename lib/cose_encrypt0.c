/*
 * COSE_Encrypt0 (RFC 9052 §5.2): one AEAD layer under a key both sides already hold.
 */
#include <string.h>

#include "cose_internal.h"

int vouch_cose_encrypt0_create(const uint8_t *key, size_t key_len,
                               const struct vouch_cose_hdr_params *hp, const uint8_t *base_iv,
                               size_t base_iv_len, const uint8_t *pt, size_t pt_len,
                               const uint8_t *external_aad, size_t aad_len, bool tagged,
                               uint8_t *out, size_t cap, size_t *out_len)
{
	struct vouch_cbor_writer w;
	int rc = VOUCH_ERR_INTERNAL;

	if (out_len == NULL)
		return VOUCH_ERR_INVALID;
	*out_len = 0;
	if (key == NULL || hp == NULL || out == NULL)
		return VOUCH_ERR_INVALID;

	vouch_cbor_writer_init(&w, out, cap);
	if (tagged)
		vouch_cbor_write_tag(&w, VOUCH_COSE_TAG_ENCRYPT0);
	vouch_cbor_write_array(&w, 3);
	rc = vouch_cose_enc_write_content(&w, "Encrypt0", key, key_len, hp, base_iv, base_iv_len,
	                                  pt, pt_len, external_aad, aad_len);
	if (rc == VOUCH_OK)
		rc = vouch_cbor_writer_finish(&w, out_len);
	return rc;
}

int vouch_cose_encrypt0_decode(const uint8_t *buf, size_t len, struct vouch_cose_encrypt0 *msg)
{
	struct vouch_cbor_reader r;
	enum vouch_cbor_type type;
	int rc = VOUCH_ERR_INTERNAL;

	if (msg == NULL)
		return VOUCH_ERR_INVALID;
	memset(msg, 0, sizeof(*msg));
	if (buf == NULL)
		return VOUCH_ERR_INVALID;

	rc = vouch_cose_open(buf, len, VOUCH_COSE_TAG_ENCRYPT0, 3, &r);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_cose_headers_read(&r, &msg->hdr);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_cbor_peek(&r, &type);
	if (rc != VOUCH_OK)
		goto out_clear;
	/* Detached ciphertext (nil) has no place in this API. */
	if (type == VOUCH_CBOR_NULL) {
		rc = VOUCH_ERR_UNSUPPORTED;
		goto out_clear;
	}
	if (type != VOUCH_CBOR_BSTR) {
		rc = VOUCH_ERR_COSE_STRUCTURE;
		goto out_clear;
	}
	rc = vouch_cbor_read_bstr(&r, &msg->ciphertext, &msg->ciphertext_len);
	if (rc != VOUCH_OK)
		goto out_clear;
	return VOUCH_OK;

out_clear:
	memset(msg, 0, sizeof(*msg));
	return rc;
}

int vouch_cose_encrypt0_decrypt(const struct vouch_cose_encrypt0 *msg, const uint8_t *key,
                                size_t key_len, const uint8_t *base_iv, size_t base_iv_len,
                                const uint8_t *external_aad, size_t aad_len, uint8_t *pt,
                                size_t pt_cap, size_t *pt_len)
{
	struct vouch_cose_aead_info info;
	uint8_t nonce[VOUCH_COSE_MAX_NONCE];
	uint8_t enc[VOUCH_COSE_MAX_ENC_STRUCTURE];
	size_t enc_len, n;
	int rc = VOUCH_ERR_INTERNAL;

	if (pt_len == NULL)
		return VOUCH_ERR_INVALID;
	*pt_len = 0;
	if (msg == NULL || key == NULL || pt == NULL || msg->ciphertext == NULL ||
	    (external_aad == NULL && aad_len > 0))
		return VOUCH_ERR_INVALID;

	if (!msg->hdr.has_alg || vouch_cose_aead_info(msg->hdr.alg, &info) != VOUCH_OK)
		return VOUCH_ERR_COSE_ALG;
	if (key_len != info.key_len)
		return VOUCH_ERR_KEY;
	rc = vouch_cose_nonce(&msg->hdr, base_iv, base_iv_len, nonce, info.nonce_len);
	if (rc != VOUCH_OK)
		return rc;
	if (msg->ciphertext_len < info.tag_len)
		return VOUCH_ERR_VERIFY;
	n = msg->ciphertext_len - info.tag_len;
	if (pt_cap < n)
		return VOUCH_ERR_BUFFER;
	rc = vouch_cose_enc_structure("Encrypt0", msg->hdr.protected_bstr, msg->hdr.protected_len,
	                              external_aad, aad_len, enc, sizeof(enc), &enc_len);
	if (rc != VOUCH_OK)
		return rc == VOUCH_ERR_BUFFER ? VOUCH_ERR_CBOR_LIMIT : rc;

	rc = vouch_cose_aead_decrypt(msg->hdr.alg, key, key_len, nonce, enc, enc_len,
	                             msg->ciphertext, msg->ciphertext_len, pt);
	if (rc != VOUCH_OK) {
		/* The back-end wipes on a bad tag; this covers every other failure too. */
		vouch_wipe(pt, n);
		return rc;
	}
	*pt_len = n;
	return VOUCH_OK;
}
