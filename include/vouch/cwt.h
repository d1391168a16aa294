/*
 * vouch — CBOR Web Token (RFC 8392) with proof-of-possession confirmation (RFC 8747).
 *
 * A CWT here is a COSE_Sign1 (optionally inside CBOR tag 61) whose payload is a claims map.
 * Decoding is strict: the registered claims must have their registered types (NumericDate may be
 * an integer or a float), duplicate claims are refused, unknown claims are kept for the caller to
 * look up by label.
 */
#ifndef VOUCH_CWT_H
#define VOUCH_CWT_H

#include "vouch/cose.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_CWT_TAG 61

enum vouch_cwt_label {
	VOUCH_CWT_ISS = 1,
	VOUCH_CWT_SUB = 2,
	VOUCH_CWT_AUD = 3,
	VOUCH_CWT_EXP = 4,
	VOUCH_CWT_NBF = 5,
	VOUCH_CWT_IAT = 6,
	VOUCH_CWT_CTI = 7,
	VOUCH_CWT_CNF = 8,
};

/* Presence bits. */
#define VOUCH_CWT_HAS_ISS (1u << 1)
#define VOUCH_CWT_HAS_SUB (1u << 2)
#define VOUCH_CWT_HAS_AUD (1u << 3)
#define VOUCH_CWT_HAS_EXP (1u << 4)
#define VOUCH_CWT_HAS_NBF (1u << 5)
#define VOUCH_CWT_HAS_IAT (1u << 6)
#define VOUCH_CWT_HAS_CTI (1u << 7)
#define VOUCH_CWT_HAS_CNF (1u << 8)

/* RFC 8747 confirmation methods */
enum vouch_cwt_cnf_kind {
	VOUCH_CWT_CNF_NONE = 0,
	VOUCH_CWT_CNF_COSE_KEY = 1,     /* raw COSE_Key map */
	VOUCH_CWT_CNF_ENCRYPTED_KEY = 2, /* raw COSE_Encrypt0 / COSE_Encrypt */
	VOUCH_CWT_CNF_KID = 3,          /* the kid bytes */
};

struct vouch_cwt_claims {
	uint32_t present;
	const char *iss;
	size_t iss_len;
	const char *sub;
	size_t sub_len;
	const char *aud;
	size_t aud_len;
	int64_t exp, nbf, iat;
	const uint8_t *cti;
	size_t cti_len;
	enum vouch_cwt_cnf_kind cnf_kind;
	const uint8_t *cnf; /* see enum vouch_cwt_cnf_kind */
	size_t cnf_len;
	const uint8_t *map; /* the whole claims map as decoded (for other claims) */
	size_t map_len;
};

/* A claim this API does not name, for encoding: label and its value, already CBOR-encoded. */
struct vouch_cwt_extra {
	int64_t label;
	const uint8_t *value;
	size_t value_len;
};

/* Decode a claims map occupying the whole buffer (e.g. a verified payload). */
int vouch_cwt_claims_decode(const uint8_t *buf, size_t len, struct vouch_cwt_claims *c);

/* The raw encoded value of claim label, or VOUCH_ERR_CWT_MISSING. */
int vouch_cwt_claim_find(const struct vouch_cwt_claims *c, int64_t label, const uint8_t **value,
			 size_t *value_len);

/* Encode the claims named by c->present (c->map is ignored), then the extras, as one map. For
 * cnf, c->cnf is written as the value of the RFC 8747 method c->cnf_kind (a raw COSE_Key map for
 * VOUCH_CWT_CNF_COSE_KEY). */
int vouch_cwt_claims_encode(const struct vouch_cwt_claims *c, const struct vouch_cwt_extra *extra,
			    size_t n_extra, uint8_t *out, size_t cap, size_t *out_len);

/* What validation requires. iss / aud NULL: not checked. now is seconds since the epoch. */
struct vouch_cwt_rules {
	int64_t now;
	int64_t leeway;       /* seconds of clock skew tolerated on exp / nbf / iat */
	const char *iss;
	const char *aud;
	bool require_exp;
	bool require_cnf;
};

/* Check time and identity claims against the rules: expired, not yet valid, iat in the future,
 * wrong issuer or audience, missing required claims, each its own error. */
int vouch_cwt_validate(const struct vouch_cwt_claims *c, const struct vouch_cwt_rules *rules);

/* Encode the claims and sign them as a COSE_Sign1 (kid in the protected header when given),
 * wrapped in tag 61 when tag61 (and always tag 18 inside it). Without a heap, the claims are
 * encoded at the end of out while the token is written in front of them: cap must hold the
 * token plus the encoded claims once more (VOUCH_ERR_BUFFER otherwise). */
int vouch_cwt_sign(const struct vouch_cwt_claims *c, const struct vouch_cwt_extra *extra,
		   size_t n_extra, const struct vouch_key *key, const uint8_t *kid, size_t kid_len,
		   bool tag61, uint8_t *out, size_t cap, size_t *out_len);

/* Verify a signed CWT (tag 61 optional, tag 18 optional) with the issuer key, decode its claims
 * and validate them. c points into buf. */
int vouch_cwt_verify(const uint8_t *buf, size_t len, const struct vouch_key *issuer,
		     const struct vouch_cwt_rules *rules, struct vouch_cwt_claims *c);

/* The confirmation key of a decoded CWT (cnf method COSE_Key) as a public-key handle. */
int vouch_cwt_cnf_key(const struct vouch_cwt_claims *c, struct vouch_key *key);

#ifdef __cplusplus
}
#endif
#endif
