/*
 * vouch — what a phone and a sensor show each other (docs/sensor-protocol.md): the pairing code
 * that commits to a sensor's key, and the CCS credentials both sides present in EDHOC by value.
 */
#ifndef VOUCH_PAIRING_H
#define VOUCH_PAIRING_H

#include "vouch/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_PAIRING_BITS     160
#define VOUCH_PAIRING_CHARS    32 /* RFC 4648 base32 of 160 bits */
#define VOUCH_PAIRING_CODE_LEN (VOUCH_PAIRING_CHARS + VOUCH_PAIRING_CHARS / 4 - 1) /* dashes */
#define VOUCH_CCS_MAX          256
#define VOUCH_CCS_ID_CRED_MAX  (VOUCH_CCS_MAX + 8)

/* "XXXX-XXXX-...": the first 160 bits of the key's RFC 9679 thumbprint (SHA-256) in base32,
 * grouped by four. */
int vouch_pairing_code(const struct vouch_key *pub, char out[VOUCH_PAIRING_CODE_LEN + 1]);

/* Whether code (any case, dashes and spaces ignored) is the pairing code of pub; the comparison
 * is constant-time in the code's contents. */
bool vouch_pairing_code_matches(const struct vouch_key *pub, const char *code);

/* CRED_x = CCS {2: sub, 8: {1: COSE_Key}} of a P-256 public key (RFC 9528 3.5.2). */
int vouch_ccs_encode(const char *sub, const struct vouch_key *key, uint8_t *out, size_t cap,
                     size_t *out_len);
/* ID_CRED_x = {14: CCS} (kccs, by value). */
int vouch_ccs_id_cred(const uint8_t *ccs, size_t ccs_len, uint8_t *out, size_t cap,
                      size_t *out_len);
/* The sub of a CCS (pointing into it), for logs and events. */
int vouch_ccs_sub(const uint8_t *ccs, size_t ccs_len, const char **sub, size_t *sub_len);

#ifdef __cplusplus
}
#endif
#endif
