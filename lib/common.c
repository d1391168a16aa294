/* Error names, wiping and constant-time comparison shared by all of libvouch. */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include <string.h>

#include "vouch/common.h"

const char *vouch_strerror(int err)
{
	switch ((enum vouch_err)err) {
	case VOUCH_OK: return "ok";
	case VOUCH_ERR_INVALID: return "invalid argument";
	case VOUCH_ERR_NOMEM: return "out of memory";
	case VOUCH_ERR_BUFFER: return "output buffer too small";
	case VOUCH_ERR_UNSUPPORTED: return "algorithm or parameter not supported";
	case VOUCH_ERR_INTERNAL: return "internal error";
	case VOUCH_ERR_IO: return "I/O error";
	case VOUCH_ERR_CRYPTO: return "crypto back-end failure";
	case VOUCH_ERR_VERIFY: return "signature, tag or MAC did not verify";
	case VOUCH_ERR_KEY: return "invalid key";
	case VOUCH_ERR_KEY_EXISTS: return "a persistent key already holds that id";
	case VOUCH_ERR_KEY_NOT_FOUND: return "no persistent key under that id";
	case VOUCH_ERR_CBOR_MALFORMED: return "CBOR: malformed or truncated";
	case VOUCH_ERR_CBOR_TRAILING: return "CBOR: trailing bytes after the item";
	case VOUCH_ERR_CBOR_INDEFINITE: return "CBOR: indefinite length not allowed";
	case VOUCH_ERR_CBOR_DUPLICATE: return "CBOR: duplicate map key";
	case VOUCH_ERR_CBOR_TYPE: return "CBOR: item of the wrong type";
	case VOUCH_ERR_CBOR_LIMIT: return "CBOR: nesting, size or count over the limit";
	case VOUCH_ERR_CBOR_NONCANONICAL: return "CBOR: integer or length not in shortest form";
	case VOUCH_ERR_COSE_STRUCTURE: return "COSE: wrong structure";
	case VOUCH_ERR_COSE_HEADER: return "COSE: bad header parameter";
	case VOUCH_ERR_COSE_CRITICAL: return "COSE: critical header not understood";
	case VOUCH_ERR_COSE_ALG: return "COSE: algorithm missing, unknown or wrong for the key";
	case VOUCH_ERR_COSE_RECIPIENT: return "COSE: no usable recipient";
	case VOUCH_ERR_CWT_CLAIM: return "CWT: malformed claim";
	case VOUCH_ERR_CWT_MISSING: return "CWT: required claim missing";
	case VOUCH_ERR_CWT_EXPIRED: return "CWT: expired";
	case VOUCH_ERR_CWT_NOT_YET: return "CWT: not yet valid";
	case VOUCH_ERR_CWT_ISSUER: return "CWT: wrong issuer";
	case VOUCH_ERR_CWT_AUDIENCE: return "CWT: wrong audience";
	case VOUCH_ERR_CWT_IAT: return "CWT: issued in the future";
	case VOUCH_ERR_CWT_CNF: return "CWT: confirmation key missing or malformed";
	case VOUCH_ERR_P11: return "PKCS#11: module or token failure";
	case VOUCH_ERR_P11_EXISTS: return "PKCS#11: token, key or PIN file already exists";
	case VOUCH_ERR_P11_NOT_FOUND: return "PKCS#11: token, key or PIN file not found";
	case VOUCH_ERR_P11_PIN: return "PKCS#11: PIN incorrect, locked or unreadable";
	case VOUCH_ERR_X509_MALFORMED: return "X.509: malformed DER";
	case VOUCH_ERR_X509_TOO_LARGE: return "X.509: input too large";
	case VOUCH_ERR_X509_KEY_POLICY: return "X.509: key type not allowed";
	case VOUCH_ERR_STORE: return "store: database failure";
	case VOUCH_ERR_STORE_NOT_FOUND: return "store: not found";
	case VOUCH_ERR_STORE_SERIAL_EXISTS: return "store: certificate serial already exists";
	case VOUCH_ERR_STORE_EXISTS: return "store: record already exists";
	case VOUCH_ERR_STORE_TOKEN_UNKNOWN: return "store: enrolment token unknown";
	case VOUCH_ERR_STORE_TOKEN_DEVICE: return "store: enrolment token is for another device";
	case VOUCH_ERR_STORE_TOKEN_USED: return "store: enrolment token already used";
	case VOUCH_ERR_STORE_TOKEN_EXPIRED: return "store: enrolment token expired";
	case VOUCH_ERR_STORE_VERSION: return "store: database schema newer than this program";
	case VOUCH_ERR_STORE_BUSY: return "store: database busy";
	case VOUCH_ERR_STORE_CONFLICT: return "store: record changed since it was read";
	case VOUCH_ERR_STORE_IN_USE: return "store: record still in use";
	case VOUCH_ERR_POLICY_FORMAT: return "policy: malformed permissions";
	case VOUCH_ERR_CRED_FORMAT: return "credential: malformed claims";
	case VOUCH_ERR_REVLIST_FORMAT: return "revocation list: malformed";
	case VOUCH_ERR_REVLIST_STALE: return "revocation list: older than the one held";
	case VOUCH_ERR_REVOKED: return "revoked";
	case VOUCH_ERR_TZ: return "time zone rule not understood";
	case VOUCH_ERR_AUTH: return "authentication failed";
	case VOUCH_ERR_AUTH_LOCKED: return "authentication locked: too many failures";
	case VOUCH_ERR_EDHOC: return "EDHOC message malformed";
	case VOUCH_ERR_EDHOC_STATE: return "EDHOC message out of order";
	case VOUCH_ERR_EDHOC_SUITE: return "EDHOC cipher suite not agreed";
	case VOUCH_ERR_EDHOC_PEER: return "EDHOC peer credential unknown or refused";
	case VOUCH_ERR_EDHOC_ERROR: return "the EDHOC peer sent an error";
	case VOUCH_ERR_OSCORE: return "OSCORE message malformed";
	case VOUCH_ERR_OSCORE_REPLAY: return "OSCORE replay or too old";
	case VOUCH_ERR_OSCORE_CONTEXT: return "no OSCORE security context";
	case VOUCH_ERR_STORE_CORRUPT: return "store: not a vouch database, or corrupt";
	}
	return "unknown error";
}

void vouch_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		explicit_bzero(p, len);
}

bool vouch_ct_equal(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a;
	const volatile uint8_t *y = b;
	uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}
