/* COSE_Sign1 (RFC 9052 §4.2, §4.4) with ES256 on P-256 and EdDSA on Ed25519. */
#include <string.h>

#include "cose_internal.h"

/* Both algorithms make 64-byte signatures. */
#define SIG_MAX VOUCH_P256_SIG_LEN
_Static_assert(VOUCH_ED25519_SIG_LEN <= SIG_MAX, "signature buffer too small for Ed25519");

/* The one algorithm each key type signs with here; anything else is VOUCH_ERR_COSE_ALG. */
static int alg_for_key(const struct vouch_key *key, int64_t *alg)
{
	switch (key->type) {
	case VOUCH_KEY_P256:
		*alg = VOUCH_COSE_ALG_ES256;
		return VOUCH_OK;
	case VOUCH_KEY_ED25519:
		*alg = VOUCH_COSE_ALG_EDDSA;
		return VOUCH_OK;
	default:
		*alg = 0;
		return VOUCH_ERR_KEY;
	}
}

int vouch_cose_sign1_create(const struct vouch_key *key, const struct vouch_cose_hdr_params *hp,
                            const uint8_t *payload, size_t payload_len, const uint8_t *external_aad,
                            size_t aad_len, bool tagged, bool detached, uint8_t *out, size_t cap,
                            size_t *out_len)
{
	struct vouch_cbor_writer w;
	struct vouch_cbor_reader r;
	struct vouch_cose_tbs s;
	uint8_t sig[SIG_MAX];
	const uint8_t *prot;
	size_t prot_len, hdr_start, sig_len = 0;
	int64_t alg;
	int rc = VOUCH_ERR_INTERNAL;

	if (out_len != NULL)
		*out_len = 0;
	if (key == NULL || out == NULL || out_len == NULL || (payload == NULL && payload_len > 0) ||
	    (external_aad == NULL && aad_len > 0))
		return VOUCH_ERR_INVALID;
	if (!vouch_key_is_private(key))
		return VOUCH_ERR_KEY;
	rc = alg_for_key(key, &alg);
	if (rc != VOUCH_OK)
		return rc;
	if (hp != NULL && hp->alg != 0 && hp->alg != alg)
		return VOUCH_ERR_COSE_ALG;

	vouch_cbor_writer_init(&w, out, cap);
	if (tagged)
		vouch_cbor_write_tag(&w, VOUCH_COSE_TAG_SIGN1);
	vouch_cbor_write_array(&w, 4);
	hdr_start = w.len;
	vouch_cose_headers_write(&w, alg, hp, NULL, 0, NULL, 0, 0);
	if (w.err != VOUCH_OK)
		return w.err;

	/* Sign over the protected bytes exactly as they were just written. */
	vouch_cbor_reader_init(&r, out + hdr_start, w.len - hdr_start);
	rc = vouch_cbor_read_bstr(&r, &prot, &prot_len);
	if (rc != VOUCH_OK)
		return VOUCH_ERR_INTERNAL;
	rc = vouch_cose_tbs_build(&s, "Signature1", prot, prot_len, external_aad, aad_len, payload,
	                          payload_len);
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_sign(key, s.iov, VOUCH_ARRAY_LEN(s.iov), sig, sizeof(sig), &sig_len);
	if (rc != VOUCH_OK)
		return rc;

	if (detached)
		vouch_cbor_write_null(&w);
	else
		vouch_cbor_write_bstr(&w, payload, payload_len);
	vouch_cbor_write_bstr(&w, sig, sig_len);
	return vouch_cbor_writer_finish(&w, out_len);
}

int vouch_cose_sign1_decode(const uint8_t *buf, size_t len, struct vouch_cose_sign1 *msg)
{
	if (msg == NULL)
		return VOUCH_ERR_INVALID;
	return vouch_cose_decode_sign_mac(buf, len, VOUCH_COSE_TAG_SIGN1, &msg->hdr, &msg->payload,
	                                  &msg->payload_len, &msg->signature, &msg->signature_len);
}

int vouch_cose_sign1_verify(const struct vouch_cose_sign1 *msg, const struct vouch_key *key,
                            const uint8_t *external_aad, size_t aad_len,
                            const uint8_t *detached_payload, size_t detached_len)
{
	struct vouch_cose_tbs s;
	const uint8_t *payload;
	size_t payload_len;
	int64_t alg;
	int rc = VOUCH_ERR_INTERNAL;

	if (msg == NULL || key == NULL || (external_aad == NULL && aad_len > 0) ||
	    (detached_payload == NULL && detached_len > 0))
		return VOUCH_ERR_INVALID;
	if (!msg->hdr.has_alg)
		return VOUCH_ERR_COSE_ALG;
	/* Take the algorithm from the message, then insist the key is of the one type it fits:
	 * an ES256 message never verifies under an Ed25519 key or the reverse. */
	if (msg->hdr.alg != VOUCH_COSE_ALG_ES256 && msg->hdr.alg != VOUCH_COSE_ALG_EDDSA)
		return VOUCH_ERR_COSE_ALG;
	if (alg_for_key(key, &alg) != VOUCH_OK || alg != msg->hdr.alg)
		return VOUCH_ERR_COSE_ALG;

	/* Exactly one payload: the message's, or the detached one when the message has nil.
	 * Verifying an attached payload the caller did not expect would sign off on content
	 * nobody looked at. */
	if (msg->payload == NULL) {
		if (detached_payload == NULL)
			return VOUCH_ERR_COSE_STRUCTURE;
		payload = detached_payload;
		payload_len = detached_len;
	} else {
		if (detached_payload != NULL)
			return VOUCH_ERR_COSE_STRUCTURE;
		payload = msg->payload;
		payload_len = msg->payload_len;
	}

	rc = vouch_cose_tbs_build(&s, "Signature1", msg->hdr.protected_bstr, msg->hdr.protected_len,
	                          external_aad, aad_len, payload, payload_len);
	if (rc != VOUCH_OK)
		return rc;
	return vouch_verify(key, s.iov, VOUCH_ARRAY_LEN(s.iov), msg->signature, msg->signature_len);
}
