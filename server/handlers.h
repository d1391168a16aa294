/*
 * vouchd — the request handlers and the service state they share.
 *
 *   est.c       /.well-known/est/{cacerts,simpleenroll,simplereenroll,csrattrs}  (RFC 7030)
 *   api.c       /api/v1/...  admin REST API (JSON), admin certificate only
 *   pki_http.c  plain HTTP: /crl/{issuing,root}.crl, /ca/{issuing,root}.crt, /ocsp (RFC 6960),
 *               and the service state: cached encodings, CRL issuance and its timer.
 *
 * Each handler answers the request it is given (http.h) before returning.
 */
#ifndef VOUCHD_HANDLERS_H
#define VOUCHD_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "ca.h"
#include "config.h"
#include "http.h"
#include "people.h"
#include "store.h"

/* Retries when a freshly drawn 127-bit serial is already stored (it never is in practice). */
#define VOUCH_ISSUE_ATTEMPTS 3

/* Admin API list sizes. */
#define VOUCH_API_LIST_DEFAULT   1000
#define VOUCH_API_LIST_MAX       100000
#define VOUCH_API_EVENTS_DEFAULT 100
#define VOUCH_API_EVENTS_MAX     10000
#define VOUCH_API_BATCH_MAX      1000

/* Meta key under which init records the admin certificate's SHA-256 fingerprint. */
#define VOUCH_META_ADMIN_FP "admin.fingerprint"

struct vouch_service {
	const struct vouch_config *cfg;
	struct vouch_ca *ca;
	struct vouch_store *store;
	struct event_base *base;
	char admin_fp[VOUCH_CA_FINGERPRINT_HEX];

	/* Encodings that change only with the CA, built once. */
	char *cacerts_b64; /* EST cacerts: base64 certs-only CMS */
	size_t cacerts_b64_len;
	char *csrattrs_b64; /* EST csrattrs: base64 CsrAttrs */
	size_t csrattrs_b64_len;
	uint8_t *root_der;
	size_t root_der_len;
	uint8_t *issuing_der;
	size_t issuing_der_len;

	/* The current CRLs (index: enum vouch_ca_crl_kind). */
	uint8_t *crl_der[2];
	size_t crl_len[2];
	struct vouch_store_crl crl_state[2];
	struct event *crl_timer;

	/* Issue 4: people, phones, credentials, revocation list (people.h). */
	struct vouch_p11 *p11;
	struct vouch_people people;
	bool people_ready;
};

/* Build the cached encodings, issue fresh CRLs unless the stored ones are still within their
 * first half of validity, and arm the CRL timer on base. */
int vouch_service_init(struct vouch_service *svc, const struct vouch_config *cfg,
                       struct vouch_ca *ca, struct vouch_store *store, struct event_base *base);
void vouch_service_clear(struct vouch_service *svc);

/* Issue new CRLs (issuing always; root when `root` is true) and store them; called after every
 * revocation, by the timer, and at start. actor names who caused it. */
int vouch_service_crl_refresh(struct vouch_service *svc, bool root, const char *actor);

/* The store record of a certificate just issued for subj (rec->der points into is). */
int vouch_service_issued_record(const struct vouch_ca_issued *is,
                                const struct vouch_ca_subject *subj, const char *via,
                                struct vouch_store_cert *rec);

/* The serial of cert in the store's canonical form. */
int vouch_service_cert_serial(const X509 *cert, char out[VOUCH_STORE_SERIAL_MAX + 1]);

/* ---- helpers of the admin API handlers (api.c), shared by api_dir.c and api_people.c ---- */

/* An id (device, user, phone): 1..64 of A-Z a-z 0-9 . _ - @, starting alphanumeric. */
bool vouch_api_id_ok(const char *s);
/* ISO-8601 UTC of t, or JSON null when !present. */
json_t *vouch_api_iso_or_null(bool present, int64_t t);
/* The request body as a JSON object; answers 400 itself when it is not one (an empty body is {}
 * when allow_empty). */
json_t *vouch_api_body_object(struct vouch_req *r, bool allow_empty);
/* A string member (def when absent or null); answers 400 when it is not a string. */
bool vouch_api_member_string(struct vouch_req *r, json_t *obj, const char *key, const char *def,
                             const char **out);
bool vouch_api_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* True when the method is want; else answers 405 with Allow. */
/* One line of standard base64 with padding, malloc()ed (JSON members; EST's encoder breaks
 * lines). false when out of memory or too large. */
bool vouch_api_b64_text(const uint8_t *der, size_t len, char **out);
/* n bytes as lowercase hex into out (2n + 1 bytes with the NUL). */
void vouch_api_hex(const uint8_t *b, size_t n, char *out);

bool vouch_api_method_is(struct vouch_req *r, enum evhttp_cmd_type want);
/* Answer a store error: 404 not found, 400 invalid, 500 otherwise (logged). */
void vouch_api_store_error(struct vouch_req *r, int rc, const char *what);
/* Split a path into at most max '/'-separated, percent-decoded segments (in place). */
bool vouch_api_split_path(char *p, char **seg, size_t max, size_t *n);
/* Reissue the CRL after a revocation the request made (errors logged). */
void vouch_api_crl_after_revoke(struct vouch_req *r);

/* Handlers (the dispatcher in http.c picks one by listener and path prefix). */
void vouch_est_handle(struct vouch_req *r);
void vouch_api_handle(struct vouch_req *r);
void vouch_pki_http_handle(struct vouch_req *r);

/* EST request parsing, apart from answering (so fuzz/fuzz_est_body.c reaches it directly). */

/* The simpleenroll Authorization header, "Basic " base64(device ":" token): on success device is
 * the id (1..VOUCH_STORE_DEVICE_MAX bytes, no ':') and hash the token's SHA-256 (the decoded
 * token is wiped). VOUCH_ERR_UNSUPPORTED: another scheme; VOUCH_ERR_INVALID: malformed. */
int vouch_est_basic_parse(const char *header, char device[VOUCH_STORE_DEVICE_MAX + 1],
                          uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN]);
/* An enrolment body, base64 (line breaks allowed) of a DER CSR of at most VOUCH_CA_CSR_MAX
 * bytes: errors as vouch_ca_base64_decode(). */
int vouch_est_csr_decode(const uint8_t *body, size_t body_len, uint8_t **der, size_t *der_len);
/* RFC 7030 4.2.2: the CSR (DER, no trailing bytes) asks for the subject of cert. */
bool vouch_est_same_subject(const uint8_t *csr, size_t csr_len, X509 *cert);

#endif
