/* COSE_Mac0 (RFC 9052 §6.2, §6.3) with HMAC 256/64 and HMAC 256/256 (RFC 9053 §3.1). */
#include <string.h>

#include "cose_internal.h"

/* A key shorter than the hash output would make the MAC weaker than its name; longer keys are
 * fine for HMAC. */
#define MAC0_MIN_KEY_LEN VOUCH_SHA256_LEN

/* The tag length of a supported MAC algorithm, or VOUCH_ERR_COSE_ALG. */
static int mac_tag_len(int64_t alg, size_t *tag_len)
{
	switch (alg) {
	case VOUCH_COSE_ALG_HMAC_256_64:
		*tag_len = 8;
		return VOUCH_OK;
	case VOUCH_COSE_ALG_HMAC_256_256:
		*tag_len = VOUCH_SHA256_LEN;
		return VOUCH_OK;
	default:
		*tag_len = 0;
		return VOUCH_ERR_COSE_ALG;
	}
}

/* HMAC-SHA256 over the MAC_structure; the full 32 bytes land in mac (the caller truncates). */
static int mac_compute(const uint8_t *key, size_t key_len, const uint8_t *prot, size_t prot_len,
                       const uint8_t *aad, size_t aad_len, const uint8_t *payload,
                       size_t payload_len, uint8_t mac[VOUCH_SHA256_LEN])
{
	struct vouch_cose_tbs s;
	int rc =
	    vouch_cose_tbs_build(&s, "MAC0", prot, prot_len, aad, aad_len, payload, payload_len);

	if (rc != VOUCH_OK)
		return rc;
	return vouch_hmac_sha256_v(key, key_len, s.iov, VOUCH_ARRAY_LEN(s.iov), mac);
}

int vouch_cose_mac0_create(const uint8_t *key, size_t key_len,
                           const struct vouch_cose_hdr_params *hp, const uint8_t *payload,
                           size_t payload_len, const uint8_t *external_aad, size_t aad_len,
                           bool tagged, uint8_t *out, size_t cap, size_t *out_len)
{
	struct vouch_cbor_writer w;
	struct vouch_cbor_reader r;
	uint8_t mac[VOUCH_SHA256_LEN];
	const uint8_t *prot;
	size_t prot_len, hdr_start, tag_len;
	int64_t alg = VOUCH_COSE_ALG_HMAC_256_256;
	int rc = VOUCH_ERR_INTERNAL;

	if (out_len != NULL)
		*out_len = 0;
	if (key == NULL || out == NULL || out_len == NULL || (payload == NULL && payload_len > 0) ||
	    (external_aad == NULL && aad_len > 0))
		return VOUCH_ERR_INVALID;
	if (hp != NULL && hp->alg != 0)
		alg = hp->alg;
	rc = mac_tag_len(alg, &tag_len);
	if (rc != VOUCH_OK)
		return rc;
	if (key_len < MAC0_MIN_KEY_LEN)
		return VOUCH_ERR_KEY;

	vouch_cbor_writer_init(&w, out, cap);
	if (tagged)
		vouch_cbor_write_tag(&w, VOUCH_COSE_TAG_MAC0);
	vouch_cbor_write_array(&w, 4);
	hdr_start = w.len;
	vouch_cose_headers_write(&w, alg, hp, NULL, 0, NULL, 0, 0);
	if (w.err != VOUCH_OK)
		return w.err;

	/* MAC the protected bytes exactly as they were just written. */
	vouch_cbor_reader_init(&r, out + hdr_start, w.len - hdr_start);
	if (vouch_cbor_read_bstr(&r, &prot, &prot_len) != VOUCH_OK)
		return VOUCH_ERR_INTERNAL;
	rc = mac_compute(key, key_len, prot, prot_len, external_aad, aad_len, payload, payload_len,
	                 mac);
	if (rc != VOUCH_OK)
		goto out_wipe;

	vouch_cbor_write_bstr(&w, payload, payload_len);
	vouch_cbor_write_bstr(&w, mac, tag_len);
	rc = vouch_cbor_writer_finish(&w, out_len);

out_wipe:
	vouch_wipe(mac, sizeof(mac));
	return rc;
}

int vouch_cose_mac0_decode(const uint8_t *buf, size_t len, struct vouch_cose_mac0 *msg)
{
	if (msg == NULL)
		return VOUCH_ERR_INVALID;
	return vouch_cose_decode_sign_mac(buf, len, VOUCH_COSE_TAG_MAC0, &msg->hdr, &msg->payload,
	                                  &msg->payload_len, &msg->tag, &msg->tag_len);
}

int vouch_cose_mac0_verify(const struct vouch_cose_mac0 *msg, const uint8_t *key, size_t key_len,
                           const uint8_t *external_aad, size_t aad_len)
{
	uint8_t mac[VOUCH_SHA256_LEN];
	size_t tag_len;
	int rc = VOUCH_ERR_INTERNAL;

	if (msg == NULL || key == NULL || (external_aad == NULL && aad_len > 0))
		return VOUCH_ERR_INVALID;
	if (!msg->hdr.has_alg)
		return VOUCH_ERR_COSE_ALG;
	rc = mac_tag_len(msg->hdr.alg, &tag_len);
	if (rc != VOUCH_OK)
		return rc;
	if (key_len < MAC0_MIN_KEY_LEN)
		return VOUCH_ERR_KEY;
	if (msg->payload == NULL)
		return VOUCH_ERR_COSE_STRUCTURE;
	/* The tag length is fixed by the algorithm; a shorter tag must not verify against a
	 * prefix of ours. */
	if (msg->tag_len != tag_len)
		return VOUCH_ERR_VERIFY;

	rc = mac_compute(key, key_len, msg->hdr.protected_bstr, msg->hdr.protected_len,
	                 external_aad, aad_len, msg->payload, msg->payload_len, mac);
	if (rc != VOUCH_OK)
		goto out_wipe;
	rc = vouch_ct_equal(mac, msg->tag, tag_len) ? VOUCH_OK : VOUCH_ERR_VERIFY;

out_wipe:
	vouch_wipe(mac, sizeof(mac));
	return rc;
}
