/*
 * vouch — a person's credential (DESIGN.md flow 3; wire format in docs/credential.md): a CWT
 * (COSE_Sign1, ES256, tag 61) signed by the site's credential issuer, holding
 *   iss  the issuer name (the site's credential-issuer id, e.g. "vouch:<site id>")
 *   sub  the user name
 *   aud  the site id (sensors of the site take only credentials for it)
 *   iat, nbf, exp   (exp - iat is a shift, 8 h by default)
 *   cti  16 random bytes
 *   cnf  the phone's public key as a COSE_Key (proof of possession)
 *   VOUCH_CRED_CLAIM_PERM  the compiled permissions (include/vouch/policy.h), as a CBOR item
 *   VOUCH_CRED_CLAIM_PHONE the phone id (text) the credential is bound to
 * and, in the protected header, kid = the issuer key's id (its RFC 9679 thumbprint).
 *
 * Both sides are zero-copy and allocation-free: vouchd and the tests issue, wallets and sensors
 * verify.
 */
#ifndef VOUCH_CRED_H
#define VOUCH_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vouch/crypto.h"
#include "vouch/cwt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Private-use claim keys (RFC 8392 9.1: integers below -65536 are private use). */
#define VOUCH_CRED_CLAIM_PERM  (-65537)
#define VOUCH_CRED_CLAIM_PHONE (-65538)

#define VOUCH_CRED_CTI_LEN   16
#define VOUCH_CRED_LIFETIME  (8 * 3600)  /* default exp - iat */
#define VOUCH_CRED_MAX       (72 * 1024) /* largest encoded credential */
#define VOUCH_THUMBPRINT_LEN 32          /* RFC 9679 with SHA-256 */
#define VOUCH_TOKEN_HASH_LEN 32          /* RFC 9770 token hash, SHA-256 */
#define VOUCH_CRED_TEXT_MAX  255         /* iss, sub, aud, phone: 1..255 bytes, no NUL */
/* RFC 6920 suite ID of sha-256: RFC 9770's binary token hash is this byte followed by the
 * VOUCH_TOKEN_HASH_LEN bytes vouch keeps (the algorithm is fixed here, so the byte is implied;
 * docs/credential.md). */
#define VOUCH_TOKEN_HASH_SUITE_SHA256 1

/* RFC 9679 COSE Key Thumbprint (SHA-256) of a public key: the deterministic encoding of its
 * required parameters (EC2: 1 kty, -1 crv, -2 x, -3 y; OKP: 1 kty, -1 crv, -2 x). Works on a
 * private handle too (of its public half). */
int vouch_cose_key_thumbprint(const struct vouch_key *key, uint8_t out[VOUCH_THUMBPRINT_LEN]);

/* RFC 9770 section 4 token hash of a CWT as issued (the bytes vouch_cred_issue wrote), taken as
 * conveyed in CBOR: SHA-256 over the base64url (no padding) text of those bytes. */
int vouch_cred_token_hash(const uint8_t *cred, size_t len, uint8_t out[VOUCH_TOKEN_HASH_LEN]);

struct vouch_cred_params {
	const char *iss;
	const char *sub;
	const char *aud;
	const char *phone; /* phone id */
	int64_t iat, nbf, exp;
	uint8_t cti[VOUCH_CRED_CTI_LEN];
	const struct vouch_key *cnf; /* the phone's public key (P-256) */
	const uint8_t *perm;         /* encoded permissions (vouch_policy_encode) */
	size_t perm_len;
	/* Optional: vouch_cose_key_thumbprint(issuer), VOUCH_THUMBPRINT_LEN bytes, for an issuer
	 * that signs many credentials (NULL: computed here, which costs an export of the public
	 * key). Taken as given: another key's id makes a credential no verifier accepts. */
	const uint8_t *issuer_kid;
};

/* Sign a credential with the issuer key (P-256; a token key signs in the token). The output is
 * tag 61 + tag 18 COSE_Sign1. VOUCH_ERR_BUFFER when cap is too small (VOUCH_CRED_MAX always
 * suffices for perm_len <= VOUCH_POLICY_ENCODED_MAX). */
int vouch_cred_issue(const struct vouch_cred_params *p, const struct vouch_key *issuer,
                     uint8_t *out, size_t cap, size_t *out_len);

/* A verified credential; every pointer points into the verified buffer (text is not
 * NUL-terminated: use the lengths). */
struct vouch_cred {
	struct vouch_cwt_claims claims; /* iss, sub, aud, iat, nbf, exp, cti, cnf all present */
	const char *phone;
	size_t phone_len;
	const uint8_t *perm; /* the encoded permissions: give it to vouch_policy_view_init() */
	size_t perm_len;
	uint8_t token_hash[VOUCH_TOKEN_HASH_LEN];
	uint8_t cnf_thumbprint[VOUCH_THUMBPRINT_LEN];
};

/* What a verifier requires; iss and aud are required (a credential for another site or from
 * another issuer is refused). */
struct vouch_cred_rules {
	const char *iss;
	const char *aud;
	int64_t now;
	int64_t leeway; /* seconds of clock skew tolerated */
};

/*
 * Verify signature (issuer public key), tags, claims (each registered claim present and typed,
 * cti 16 bytes, cnf a P-256 COSE_Key, the two vouch claims present and typed, no other claim),
 * then time and identity under rules. Errors: the COSE / CWT errors (VOUCH_ERR_VERIFY,
 * VOUCH_ERR_CWT_EXPIRED, _NOT_YET, _ISSUER, _AUDIENCE, _MISSING, _CNF ...), VOUCH_ERR_CRED_FORMAT
 * for claims that are not a credential's. The permissions are only checked to be one CBOR item;
 * vouch_policy_view_init() validates them.
 */
int vouch_cred_verify(const uint8_t *buf, size_t len, const struct vouch_key *issuer,
                      const struct vouch_cred_rules *rules, struct vouch_cred *out);

#ifdef __cplusplus
}
#endif
#endif
