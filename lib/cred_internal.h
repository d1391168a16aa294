/*
 * Internal to libvouch's credential and revocation-list code (lib/cred.c, lib/revlist.c), and
 * exposed to the tests and fuzz targets: the signed envelope both share, and the payload decoders
 * the verify functions call once the signature holds (fuzzed directly, since random bytes never
 * pass a signature check).
 */
#ifndef VOUCH_CRED_INTERNAL_H
#define VOUCH_CRED_INTERNAL_H

#include "vouch/cred.h"
#include "vouch/revlist.h"

/* The protected header of every credential and list: {1: -7, 4: h'<32-byte thumbprint>'}. */
#define VOUCH_CRED_PROTECTED_LEN (6 + VOUCH_THUMBPRINT_LEN)

/*
 * Sign a payload as the one canonical envelope of credentials and lists: [tag 61] tag 18
 * [protected {alg ES256, kid = thumbprint(signer)}, {}, payload, signature], every head in its
 * shortest form and the ECDSA signature in its low-S form (s <= n/2). The payload is written in
 * place (no copy, no heap): cap only needs to hold the result. signer: a private P-256 handle.
 * write_payload writes the payload into out[0..cap) and its length in *len; with out NULL and cap
 * 0 it only counts. It is called once to count and once to write, and must write as many bytes
 * as it counted.
 */
int vouch_cred_envelope_sign(const struct vouch_key *signer, bool tag61,
                             int (*write_payload)(const void *ctx, uint8_t *out, size_t cap,
                                                  size_t *len),
                             const void *ctx, uint8_t *out, size_t cap, size_t *out_len);

/*
 * Open that envelope: the exact prefix (tags), the protected header byte for byte (a kid other
 * than thumbprint(signer) is VOUCH_ERR_VERIFY: another key signed it), an empty unprotected map,
 * shortest heads, nothing after the signature, a low-S signature that verifies. Only then does
 * *payload point into buf. Any other encoding of a valid envelope is refused, so that a holder
 * cannot re-encode a credential into different bytes (a different RFC 9770 token hash).
 */
int vouch_cred_envelope_open(const uint8_t *buf, size_t len, bool tag61,
                             const struct vouch_key *signer, const uint8_t **payload,
                             size_t *payload_len);

/*
 * Decode a credential's claims map (the verified payload) strictly, as vouch_cred_verify does
 * after the signature check: out gets the claims, phone, permissions and cnf thumbprint (not the
 * token hash, which is over the whole credential). No time or identity rule is applied.
 */
int vouch_cred_claims_parse(const uint8_t *payload, size_t len, struct vouch_cred *out);

/* Decode a revocation list's payload strictly (docs/revlist.md), as vouch_revlist_verify does
 * after the signature check. No iss / aud rule is applied. */
int vouch_revlist_payload_parse(const uint8_t *payload, size_t len, struct vouch_revlist *out);

/* Whether text of len bytes is a name the formats accept: 1..VOUCH_CRED_TEXT_MAX bytes, no NUL. */
bool vouch_cred_text_ok(const char *p, size_t len);

#endif
