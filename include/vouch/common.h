/*
 * vouch — common definitions: error codes, secret wiping, constant-time compare.
 *
 * Every libvouch function that can fail returns an enum vouch_err: 0 is success, every error is
 * negative. Predicates return bool. Functions fail closed: a result is only valid when the call
 * returned VOUCH_OK.
 */
#ifndef VOUCH_COMMON_H
#define VOUCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vouch_err {
	VOUCH_OK = 0,

	/* generic */
	VOUCH_ERR_INVALID = -1,     /* invalid argument (a caller bug, not bad input) */
	VOUCH_ERR_NOMEM = -2,       /* allocation failed */
	VOUCH_ERR_BUFFER = -3,      /* output buffer too small */
	VOUCH_ERR_UNSUPPORTED = -4, /* algorithm, key type or parameter not supported */
	VOUCH_ERR_INTERNAL = -5,    /* should not happen; logged */
	VOUCH_ERR_IO = -6,          /* file or device I/O failed */

	/* crypto */
	VOUCH_ERR_CRYPTO = -20, /* the crypto back-end failed */
	VOUCH_ERR_VERIFY = -21, /* signature, tag or MAC did not verify; decryption failed */
	VOUCH_ERR_KEY = -22,    /* key invalid, wrong type or wrong size; point not on curve */
	VOUCH_ERR_KEY_EXISTS = -23,    /* a persistent key already holds that id */
	VOUCH_ERR_KEY_NOT_FOUND = -24, /* no persistent key under that id */

	/* CBOR decoding (strict) */
	VOUCH_ERR_CBOR_MALFORMED = -40,  /* not well-formed CBOR, or truncated */
	VOUCH_ERR_CBOR_TRAILING = -41,   /* bytes after the top-level item */
	VOUCH_ERR_CBOR_INDEFINITE = -42, /* indefinite length where forbidden */
	VOUCH_ERR_CBOR_DUPLICATE = -43,  /* duplicate key in a map */
	VOUCH_ERR_CBOR_TYPE = -44,       /* an item has the wrong type */
	VOUCH_ERR_CBOR_LIMIT = -45,      /* nesting, size or count over a limit */
	VOUCH_ERR_CBOR_NONCANONICAL = -46, /* integer or length not in its shortest form */

	/* COSE */
	VOUCH_ERR_COSE_STRUCTURE = -60, /* wrong COSE structure (array size, tag, fields) */
	VOUCH_ERR_COSE_HEADER = -61,    /* malformed, duplicated or conflicting header parameter */
	VOUCH_ERR_COSE_CRITICAL = -62,  /* a critical header parameter is not understood */
	VOUCH_ERR_COSE_ALG = -63,       /* algorithm missing, unknown or not allowed for the key */
	VOUCH_ERR_COSE_RECIPIENT = -64, /* no usable recipient */

	/* CWT */
	VOUCH_ERR_CWT_CLAIM = -80,      /* a claim is malformed or of the wrong type */
	VOUCH_ERR_CWT_MISSING = -81,    /* a required claim is missing */
	VOUCH_ERR_CWT_EXPIRED = -82,    /* now >= exp (+ leeway) */
	VOUCH_ERR_CWT_NOT_YET = -83,    /* now < nbf (- leeway) */
	VOUCH_ERR_CWT_ISSUER = -84,     /* iss is not the expected issuer */
	VOUCH_ERR_CWT_AUDIENCE = -85,   /* aud is not the expected audience */
	VOUCH_ERR_CWT_IAT = -86,        /* iat in the future (beyond leeway) */
	VOUCH_ERR_CWT_CNF = -87,        /* confirmation key missing or malformed */

	/* PKCS#11 tokens (lib/p11.c); the CK_RV behind each is logged */
	VOUCH_ERR_P11 = -100,           /* the PKCS#11 module or token failed */
	VOUCH_ERR_P11_EXISTS = -101,    /* token, key or PIN file already exists: not overwritten */
	VOUCH_ERR_P11_NOT_FOUND = -102, /* no token, key or PIN file of that name */
	VOUCH_ERR_P11_PIN = -103,       /* PIN incorrect, locked or unreadable */

	/* X.509 / PKIX input (CSRs, public keys, OCSP requests) */
	VOUCH_ERR_X509_MALFORMED = -120,  /* not DER of the expected type, or trailing bytes */
	VOUCH_ERR_X509_TOO_LARGE = -121,  /* input over the size limit */
	VOUCH_ERR_X509_KEY_POLICY = -122, /* key type refused by policy (only P-256 and Ed25519) */

	/* vouchd's store (server/store.h) */
	VOUCH_ERR_STORE = -140,                /* the database failed (logged with its message) */
	VOUCH_ERR_STORE_NOT_FOUND = -141,      /* no record with that key */
	VOUCH_ERR_STORE_SERIAL_EXISTS = -142,  /* certificate serial already stored: re-sign */
	VOUCH_ERR_STORE_EXISTS = -143,         /* record already exists (other than a serial) */
	VOUCH_ERR_STORE_TOKEN_UNKNOWN = -144,  /* enrolment token unknown */
	VOUCH_ERR_STORE_TOKEN_DEVICE = -145,   /* enrolment token belongs to another device */
	VOUCH_ERR_STORE_TOKEN_USED = -146,     /* enrolment token already used */
	VOUCH_ERR_STORE_TOKEN_EXPIRED = -147,  /* enrolment token expired */
	VOUCH_ERR_STORE_VERSION = -148,        /* schema newer than this program: refused */
	VOUCH_ERR_STORE_BUSY = -149,           /* database locked beyond the busy timeout */
	VOUCH_ERR_STORE_CORRUPT = -150,        /* not a vouch database, or corrupt */
	VOUCH_ERR_STORE_CONFLICT = -151,       /* record changed since read (version mismatch) */
	VOUCH_ERR_STORE_IN_USE = -152,         /* record still referenced: not deleted */

	/* Policy, credentials, revocation lists (policy.h, cred.h, revlist.h) */
	VOUCH_ERR_POLICY_FORMAT = -160,   /* well-formed CBOR that is not valid permissions */
	VOUCH_ERR_CRED_FORMAT = -161,     /* a credential's claims are not what a credential holds */
	VOUCH_ERR_REVLIST_FORMAT = -162,  /* a revocation list's payload is malformed */
	VOUCH_ERR_REVLIST_STALE = -163,   /* revocation list older than the one held (version) */
	VOUCH_ERR_REVOKED = -164,         /* the credential, its subject or its phone is revoked */
	VOUCH_ERR_TZ = -165,              /* not a POSIX TZ rule this parser accepts */

	/* Authentication (vouchd) */
	VOUCH_ERR_AUTH = -180,        /* user, password or code wrong (never says which) */
	VOUCH_ERR_AUTH_LOCKED = -181, /* too many failures: try again later */

	/* EDHOC (edhoc.h) */
	VOUCH_ERR_EDHOC = -200,       /* an EDHOC message is malformed */
	VOUCH_ERR_EDHOC_STATE = -201, /* an EDHOC message out of order, or a session used up */
	VOUCH_ERR_EDHOC_SUITE = -202, /* no cipher suite in common (the peer's choice refused) */
	VOUCH_ERR_EDHOC_PEER = -203,  /* the peer's credential is unknown or refused */
	VOUCH_ERR_EDHOC_ERROR = -204, /* the peer sent an EDHOC error message */

	/* OSCORE (oscore.h) */
	VOUCH_ERR_OSCORE = -220,         /* an OSCORE message or option is malformed */
	VOUCH_ERR_OSCORE_REPLAY = -221,  /* a replayed or too old sequence number */
	VOUCH_ERR_OSCORE_CONTEXT = -222, /* no security context for that kid / kid context */
};

/* A short, stable, human-readable name of an error ("signature or tag did not verify"). */
const char *vouch_strerror(int err);

/* Wipe a secret; never optimised away (explicit_bzero). */
void vouch_wipe(void *p, size_t len);

/* Compare two byte strings of equal length in time independent of their contents. */
bool vouch_ct_equal(const void *a, const void *b, size_t len);

#define VOUCH_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#ifdef __cplusplus
}
#endif
#endif
