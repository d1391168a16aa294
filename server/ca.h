/*
 * vouchd — the certificate authority: the hierarchy (root, issuing, delegated OCSP responder),
 * issuance by profile from CSRs or bare public keys, CRLs, OCSP responses, and the DER / PEM /
 * CMS helpers the HTTP handlers need. No HTTP, no store: callers pass the enrolment record in
 * and persist what comes out.
 *
 * Every private key is in the PKCS#11 token (include/vouch/p11.h): root / 01, issuing / 02,
 * ocsp / 03 in token "vouch-ca"; every signature made here happens in the token.
 *
 * Buffers returned through uint8_t ** / char ** are malloc()ed: the caller free()s them.
 * Serial numbers are exchanged as lowercase hex of the INTEGER's content octets (no sign byte).
 * Issued serials are always 16 octets, positive, ~127 bits from the CSPRNG (see ca.c).
 *
 * Threads: after vouch_ca_open() the CA is read-only; issuing, CRL and OCSP calls may run
 * concurrently on one struct vouch_ca.
 */
#ifndef VOUCHD_CA_H
#define VOUCHD_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "vouch/common.h"
#include "vouch/crypto.h"
#include "vouch/p11.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Token objects of the CA (docs/vouchd.md). */
#define VOUCH_CA_TOKEN_LABEL    "vouch-ca"
#define VOUCH_CA_KEY_ROOT       "root"
#define VOUCH_CA_KEY_ROOT_ID    0x01
#define VOUCH_CA_KEY_ISSUING    "issuing"
#define VOUCH_CA_KEY_ISSUING_ID 0x02
#define VOUCH_CA_KEY_OCSP       "ocsp"
#define VOUCH_CA_KEY_OCSP_ID    0x03
#define VOUCH_CA_KEY_TLS        "tls"
#define VOUCH_CA_KEY_TLS_ID     0x04
#define VOUCH_CA_ADMIN_TOKEN    "vouch-admin"
#define VOUCH_CA_KEY_ADMIN      "admin"
#define VOUCH_CA_KEY_ADMIN_ID   0x01

/* Input limits: anything larger is VOUCH_ERR_X509_TOO_LARGE before it is parsed. */
#define VOUCH_CA_CSR_MAX          8192
#define VOUCH_CA_SPKI_MAX         1024
#define VOUCH_CA_OCSP_REQUEST_MAX 8192
#define VOUCH_CA_OCSP_MAX_IDS     16 /* CertIDs per OCSP request */
#define VOUCH_CA_SANS_MAX         32
#define VOUCH_CA_ID_MAX           64 /* device / service id: the CN (ub-common-name) */

#define VOUCH_CA_SERIAL_LEN      16
#define VOUCH_CA_SERIAL_HEX_MAX  41 /* RFC 5280: at most 20 octets, as hex, plus NUL */
#define VOUCH_CA_FINGERPRINT_HEX 65 /* SHA-256 as hex plus NUL */

enum vouch_ca_profile {
	VOUCH_CA_PROFILE_DEVICE = 0,      /* "device": clientAuth; CN=id, O=site */
	VOUCH_CA_PROFILE_SERVICE = 1,     /* "service": serverAuth + clientAuth, SANs; CN=id */
	VOUCH_CA_PROFILE_PHONE = 2,       /* "phone": clientAuth; CN=id, OU=phone */
	VOUCH_CA_PROFILE_SHORT_LIVED = 3, /* "short-lived": clientAuth, short_lived_hours */
	/* Issued only at init, never through EST or the API (vouch_ca_profile_parse refuses them):
	 */
	VOUCH_CA_PROFILE_TLS_SERVER =
	    4,                      /* vouchd's TLS certificate: serverAuth, SANs = hostnames */
	VOUCH_CA_PROFILE_ADMIN = 5, /* the admin client certificate: clientAuth, CN=admin */
};

/* "device", "service", "phone", "short-lived" (and "tls-server", "admin"). */
const char *vouch_ca_profile_name(enum vouch_ca_profile profile);
/* Only the four enrolment profiles; anything else is VOUCH_ERR_INVALID. */
int vouch_ca_profile_parse(const char *name, enum vouch_ca_profile *out);

/* The site configuration the CA needs (config keys of docs/vouchd.md). Strings are copied. */
struct vouch_ca_config {
	const char *site;            /* O= of every subject */
	const char *public_http_url; /* base of AIA / CDP URLs, e.g. "http://127.0.0.1:8080" */
	unsigned device_days;        /* 0: 365 */
	unsigned service_days;       /* 0: 365; also the TLS server and admin certificates */
	unsigned phone_days;         /* 0: 30 */
	unsigned short_lived_hours;  /* 0: 24 */
	unsigned crl_hours;          /* 0: 24; nextUpdate of both CRLs */
	unsigned ocsp_minutes;       /* 0: 60; nextUpdate of OCSP responses */
};

/* Who a certificate is for: from the enrolment record (or the caller), never from a CSR. */
struct vouch_ca_subject {
	enum vouch_ca_profile profile;
	const char *id; /* CN; printable, 1..VOUCH_CA_ID_MAX bytes of UTF-8 */
	const char *const
	    *sans; /* DNS names or IP addresses (v4 or v6 text); service, tls-server */
	size_t sans_count;
};

/*
 * An issued certificate, everything the store and the handlers need.
 *
 * `cert` is the certificate as built, for encoding and inspection (i2d, PEM, PKCS#7, digests,
 * names, serial, extensions). Its public key is kept encoded only: OpenSSL 3.0 would spend more
 * on decoding it than on the whole issuance, so X509_get0_pubkey() and X509_verify_cert() do not
 * work on it. vouch_ca_issued_decode() gives a fully decoded copy when one is needed.
 */
struct vouch_ca_issued {
	X509 *cert;
	uint8_t *der; /* DER of cert */
	size_t der_len;
	char serial[VOUCH_CA_SERIAL_HEX_MAX]; /* 32 lowercase hex digits */
	char *subject;                        /* RFC 2253 one-line form, e.g. "CN=pump-7,O=acme" */
	time_t not_before;
	time_t not_after;
};

void vouch_ca_issued_init(struct vouch_ca_issued *issued);
void vouch_ca_issued_clear(struct vouch_ca_issued *issued);
/* A fully decoded copy of the issued certificate (from its DER); X509_free() it. */
int vouch_ca_issued_decode(const struct vouch_ca_issued *issued, X509 **out);

struct vouch_ca;

/*
 * Create the hierarchy of a new site: generate the root, issuing and OCSP keys in the token
 * (VOUCH_ERR_P11_EXISTS if any exists), issue the root (self-signed, 20 years), the issuing CA
 * (10 years, by the root) and the delegated OCSP responder certificate (id-kp-OCSPSigning +
 * id-pkix-ocsp-nocheck, by the issuing CA, service_days), and write DIR/ca/root.pem,
 * issuing.pem, chain.pem (issuing + root) and ocsp.pem (VOUCH_ERR_P11_EXISTS if DIR/ca/root.pem
 * exists). On success *out is the open CA.
 */
int vouch_ca_create(struct vouch_ca **out, const char *dir, struct vouch_p11 *p11,
                    const struct vouch_ca_config *cfg);

/* Open the CA of a running service: the certificates from DIR/ca/, the keys from the token;
 * each certificate's public key must match its token key (else VOUCH_ERR_KEY). Also loads
 * DIR/admin/admin.pem when present (see vouch_ca_is_admin_cert). */
int vouch_ca_open(struct vouch_ca **out, const char *dir, struct vouch_p11 *p11,
                  const struct vouch_ca_config *cfg);

/* Release the CA; before vouch_p11_close() of its token. NULL is a no-op. */
void vouch_ca_free(struct vouch_ca *ca);

/* ---- issuance ---- */

/*
 * Issue from a PKCS#10 CSR (DER). Checked: size (VOUCH_ERR_X509_TOO_LARGE), DER with no trailing
 * bytes (VOUCH_ERR_X509_MALFORMED), key type P-256 or Ed25519 (VOUCH_ERR_X509_KEY_POLICY), the
 * CSR's own signature (VOUCH_ERR_VERIFY). Subject, SANs and profile come from `subj` only; the
 * CSR's subject and requested extensions are ignored. VOUCH_ERR_INVALID for a bad `subj`.
 */
int vouch_ca_issue_csr(struct vouch_ca *ca, const uint8_t *csr, size_t csr_len,
                       const struct vouch_ca_subject *subj, struct vouch_ca_issued *out);

/* Issue for a bare public key (DER SubjectPublicKeyInfo; batch issuance). Same checks but the
 * proof of possession, which the caller vouches for; the key is still validated (a P-256 point
 * off the curve is VOUCH_ERR_X509_MALFORMED). */
int vouch_ca_issue_spki(struct vouch_ca *ca, const uint8_t *spki, size_t spki_len,
                        const struct vouch_ca_subject *subj, struct vouch_ca_issued *out);

/* Issue for a key handle's public half (a key in a token: the TLS and admin keys at init). */
int vouch_ca_issue_key(struct vouch_ca *ca, const struct vouch_key *key,
                       const struct vouch_ca_subject *subj, struct vouch_ca_issued *out);

/* ---- revocation ---- */

/* RFC 5280 CRLReason codes (7 is unused). */
enum vouch_ca_reason {
	VOUCH_CA_REASON_UNSPECIFIED = 0,
	VOUCH_CA_REASON_KEY_COMPROMISE = 1,
	VOUCH_CA_REASON_CA_COMPROMISE = 2,
	VOUCH_CA_REASON_AFFILIATION_CHANGED = 3,
	VOUCH_CA_REASON_SUPERSEDED = 4,
	VOUCH_CA_REASON_CESSATION_OF_OPERATION = 5,
	VOUCH_CA_REASON_CERTIFICATE_HOLD = 6,
	VOUCH_CA_REASON_REMOVE_FROM_CRL = 8,
	VOUCH_CA_REASON_PRIVILEGE_WITHDRAWN = 9,
	VOUCH_CA_REASON_AA_COMPROMISE = 10,
};

/* RFC 5280 names: "unspecified", "keyCompromise", ... "aACompromise". */
const char *vouch_ca_reason_name(enum vouch_ca_reason reason);
int vouch_ca_reason_parse(const char *name, enum vouch_ca_reason *out);

struct vouch_ca_revoked {
	const char *serial; /* hex, as in struct vouch_ca_issued */
	time_t revoked_at;
	enum vouch_ca_reason reason;
};

enum vouch_ca_crl_kind {
	VOUCH_CA_CRL_ISSUING = 0, /* signed by the issuing CA: end-entity certificates */
	VOUCH_CA_CRL_ROOT = 1,    /* signed by the root: empty unless the issuing CA is revoked */
};

/* A CRL (DER) with the given number and thisUpdate; nextUpdate = this_update + crl_hours.
 * Entries carry their reason code (none for unspecified). */
int vouch_ca_crl(struct vouch_ca *ca, enum vouch_ca_crl_kind kind,
                 const struct vouch_ca_revoked *revoked, size_t count, uint64_t crl_number,
                 time_t this_update, uint8_t **der, size_t *der_len);

/* ---- OCSP (RFC 6960) ---- */

enum vouch_ca_cert_status {
	VOUCH_CA_STATUS_GOOD = 0,
	VOUCH_CA_STATUS_REVOKED = 1,
	VOUCH_CA_STATUS_UNKNOWN = 2,
};

struct vouch_ca_status {
	enum vouch_ca_cert_status status;
	time_t revoked_at;           /* REVOKED only */
	enum vouch_ca_reason reason; /* REVOKED only */
};

/* The status lookup: the status of one serial (hex) issued by the issuing CA; it returns VOUCH_OK
 * and fills *st, or an error (the response becomes internalError). */

/*
 * Answer an OCSP request (DER). Always produces a response when it returns VOUCH_OK:
 * malformedRequest for bad or oversized input, internalError when the lookup fails, else
 * successful with one SingleResponse per CertID (unknown when the CertID's issuerNameHash /
 * issuerKeyHash are not the issuing CA's), the request's nonce copied, thisUpdate now,
 * nextUpdate now + ocsp_minutes, signed by the delegated responder with its certificate
 * included. *ocsp_status (optional) gets the OCSPResponseStatus for the log.
 */
int vouch_ca_ocsp_respond(struct vouch_ca *ca, const uint8_t *req, size_t req_len,
                          int (*lookup)(void *arg, const char *serial, struct vouch_ca_status *st),
                          void *arg, uint8_t **resp, size_t *resp_len, int *ocsp_status);

/* ---- certificates and encodings for the handlers ---- */

/* Borrowed; valid until vouch_ca_free(). */
X509 *vouch_ca_root_cert(const struct vouch_ca *ca);
X509 *vouch_ca_issuing_cert(const struct vouch_ca *ca);
X509 *vouch_ca_ocsp_cert(const struct vouch_ca *ca);

/* True when cert is exactly DIR/admin/admin.pem (compared by DER). Authorise the admin API with
 * this, never by subject: a device enrolled with id "admin" has CN=admin too. */
bool vouch_ca_is_admin_cert(const struct vouch_ca *ca, X509 *cert);

/* Serial of a certificate as hex (as above); SHA-256 fingerprint of its DER as lowercase hex. */
int vouch_ca_serial_hex(const X509 *cert, char out[VOUCH_CA_SERIAL_HEX_MAX]);
int vouch_ca_fingerprint(const X509 *cert, char out[VOUCH_CA_FINGERPRINT_HEX]);

/* DER of a certificate (malloc()ed). */
int vouch_ca_cert_der(const X509 *cert, uint8_t **der, size_t *der_len);

/* A certs-only CMS (PKCS #7 SignedData without signers) of `count` certificates, DER. */
int vouch_ca_certs_only(X509 *const *certs, size_t count, uint8_t **der, size_t *der_len);
/* EST cacerts: certs-only of issuing + root, DER. */
int vouch_ca_cacerts(const struct vouch_ca *ca, uint8_t **der, size_t *der_len);
/* EST csrattrs (RFC 7030 4.5.2), DER: ecdsa-with-SHA256, id-ecPublicKey { prime256v1 },
 * id-Ed25519. */
int vouch_ca_csrattrs(uint8_t **der, size_t *der_len);

/* Base64 (RFC 2045 style: 64 columns, CRLF-free "\n" line breaks, NUL-terminated). */
int vouch_ca_base64_encode(const uint8_t *der, size_t der_len, char **b64, size_t *b64_len);
/* Base64 with line breaks / whitespace allowed; anything else is VOUCH_ERR_X509_MALFORMED.
 * Input over max_len is VOUCH_ERR_X509_TOO_LARGE. */
int vouch_ca_base64_decode(const char *b64, size_t b64_len, size_t max_len, uint8_t **der,
                           size_t *der_len);

/* Write certificates as PEM to a new file (created exclusively, mode 0644): DIR/tls/server.pem
 * and DIR/admin/admin.pem at init. VOUCH_ERR_P11_EXISTS when the file exists. */
int vouch_ca_write_pem(const char *path, X509 *const *certs, size_t count);

/* PEM of one certificate (NUL-terminated, malloc()ed). */
int vouch_ca_cert_pem(const X509 *cert, char **pem, size_t *pem_len);

#ifdef __cplusplus
}
#endif
#endif
