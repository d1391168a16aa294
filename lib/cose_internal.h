/*
 * Internal to libvouch's COSE code (lib/cose_*.c, lib/cwt.c): the pieces every COSE structure
 * shares. Implemented in lib/cose_common.c (decoding frame, headers) and lib/cose_aead.c
 * (Enc_structure, nonces, AEAD dispatch, vouch_cose_aead_info).
 */
#ifndef VOUCH_COSE_INTERNAL_H
#define VOUCH_COSE_INTERNAL_H

#include "vouch/cose.h"

/* Limits for anything COSE decodes (nesting is shallow in COSE; keys and headers are small). */
extern const struct vouch_cbor_limits vouch_cose_limits;

/* Largest Enc_structure / MAC_structure prefix we build on the stack. */
#define VOUCH_COSE_MAX_ENC_STRUCTURE 1024

/*
 * Start decoding a COSE message: validate buf strictly (vouch_cose_limits), accept an optional
 * tag which, when present, must equal want_tag, and read the array head, which must have exactly
 * n_fields entries. The reader is left at the first field.
 */
int vouch_cose_open(const uint8_t *buf, size_t len, uint64_t want_tag, size_t n_fields,
                    struct vouch_cbor_reader *r);

/*
 * Read the protected bstr and the unprotected map at r into hdr (zero-copy). Enforces: protected
 * is a bstr holding an empty string or a strict map; unprotected is a map; no label in both;
 * known labels have their registered types; crit (only in protected) is a non-empty array of
 * labels that are understood and present in protected; unknown non-critical labels are ignored.
 */
int vouch_cose_headers_read(struct vouch_cbor_reader *r, struct vouch_cose_headers *hdr);

/*
 * Write the protected bstr and the unprotected map for a layer: alg (always, protected),
 * kid (protected or unprotected per hp->kid_protected), content type, iv (unprotected, when
 * iv_len > 0), partial_iv (unprotected), hp's extra entries, and extra_unprot (already-encoded
 * entries, n_extra_unprot of them; e.g. an ephemeral key). hp may be NULL (then only alg).
 * The protected bstr is empty when nothing goes in it (alg == 0).
 */
void vouch_cose_headers_write(struct vouch_cbor_writer *w, int64_t alg,
                              const struct vouch_cose_hdr_params *hp, const uint8_t *iv,
                              size_t iv_len, const uint8_t *extra_unprot, size_t extra_unprot_len,
                              size_t n_extra_unprot);

/*
 * The to-be-signed / to-be-MACed structure [context, protected, external_aad, payload]
 * (Sig_structure, RFC 9052 §4.4, context "Signature1"; MAC_structure, §6.3, context "MAC0"),
 * as iov pieces that point at the caller's bytes: only the CBOR heads are built here, so the
 * payload is hashed in place, never copied.
 */
struct vouch_cose_tbs {
	uint8_t head[32];
	uint8_t aad_head[9];
	uint8_t payload_head[9];
	struct vouch_iov iov[6];
};

int vouch_cose_tbs_build(struct vouch_cose_tbs *s, const char *context, const uint8_t *prot,
                         size_t prot_len, const uint8_t *aad, size_t aad_len,
                         const uint8_t *payload, size_t payload_len);

/*
 * Decode the shape COSE_Sign1 and COSE_Mac0 share: [protected, unprotected, payload / nil, bstr]
 * with the given tag (or none). A nil payload leaves *payload NULL. On failure every output is
 * zeroed.
 */
int vouch_cose_decode_sign_mac(const uint8_t *buf, size_t len, uint64_t tag,
                               struct vouch_cose_headers *hdr, const uint8_t **payload,
                               size_t *payload_len, const uint8_t **last, size_t *last_len);

/* ---- lib/cose_aead.c ---- */

/*
 * Encode [context, protected, external_aad] (Enc_structure, RFC 9052 §5.3) into out.
 * context: "Encrypt0", "Encrypt", "Enc_Recipient", ...
 */
int vouch_cose_enc_structure(const char *context, const uint8_t *prot, size_t prot_len,
                             const uint8_t *external_aad, size_t aad_len, uint8_t *out, size_t cap,
                             size_t *out_len);

/* The nonce for an encryption layer: the iv header, or base_iv XOR the left-padded Partial IV
 * (RFC 9052 §3.1). nonce_len is the algorithm's. */
int vouch_cose_nonce(const struct vouch_cose_headers *hdr, const uint8_t *base_iv,
                     size_t base_iv_len, uint8_t *nonce, size_t nonce_len);

/* AEAD by COSE alg over a contiguous AAD (dispatches to CCM or GCM in the crypto port). */
int vouch_cose_aead_encrypt(int64_t alg, const uint8_t *key, size_t key_len, const uint8_t *nonce,
                            const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                            uint8_t *ct);
int vouch_cose_aead_decrypt(int64_t alg, const uint8_t *key, size_t key_len, const uint8_t *nonce,
                            const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                            uint8_t *pt);

/*
 * Encode the COSE_KDF_Context (RFC 9053 §5.2) for a recipient layer: [alg_id, PartyUInfo,
 * PartyVInfo, [key_bits, protected]], the party fields taken from rh (nil when absent) and
 * protected being rh's protected bstr (h'' when empty).
 */
int vouch_cose_kdf_context(int64_t alg_id, size_t key_bits, const struct vouch_cose_headers *rh,
                           uint8_t *out, size_t cap, size_t *out_len);

/* Longest AEAD nonce of the COSE algorithms (AES-CCM with L = 2: 13 bytes). */
#define VOUCH_COSE_MAX_NONCE 16

/*
 * Append the first three fields of an encryption layer (COSE_Encrypt0, or the body of
 * COSE_Encrypt) to w: protected and unprotected headers (per hp, see vouch_cose_*_create), and the
 * ciphertext of pt under key, written straight into w's buffer (which must not be NULL).
 * context is "Encrypt0" or "Encrypt".
 */
int vouch_cose_enc_write_content(struct vouch_cbor_writer *w, const char *context,
                                 const uint8_t *key, size_t key_len,
                                 const struct vouch_cose_hdr_params *hp, const uint8_t *base_iv,
                                 size_t base_iv_len, const uint8_t *pt, size_t pt_len,
                                 const uint8_t *external_aad, size_t aad_len);

#endif
