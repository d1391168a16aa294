/*
 * EST (RFC 7030) under /.well-known/est/: cacerts (4.1), simpleenroll (4.2.1, HTTP Basic with a
 * one-time enrolment token), simplereenroll (4.2.2, mutual TLS with the current certificate),
 * csrattrs (4.5). Requests and responses are base64 DER; errors are plain text (4.2.3).
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "handlers.h"
#include "vouch/crypto.h"
#include "vouch/log.h"

#define EST_PREFIX     "/.well-known/est/"
#define EST_CERTS_TYPE "application/pkcs7-mime; smime-type=certs-only"
#define EST_REALM      "Basic realm=\"vouch EST\", charset=\"UTF-8\""
/* Basic credentials: "device:token", base64; far more than any id + token needs. */
#define EST_AUTH_MAX 512

/* Base64 bodies go out with the header RFC 7030 4.1.3 / 4.2.3 / 4.5.2 name. */
static void reply_b64(struct vouch_req *r, const char *type, const char *b64, size_t len)
{
	vouch_req_header(r, "Content-Transfer-Encoding", "base64");
	vouch_req_reply(r, 200, type, b64, len, NULL);
}

static bool method_is(struct vouch_req *r, enum evhttp_cmd_type want, const char *allow)
{
	if (r->method == want || (want == EVHTTP_REQ_GET && r->method == EVHTTP_REQ_HEAD))
		return true;
	vouch_req_header(r, "Allow", allow);
	vouch_req_reply_text(r, 405, want == EVHTTP_REQ_GET ? "use GET" : "use POST");
	return false;
}

/* ---- issuing and answering ---- */

/* Map the CA's verdict on a CSR to a status and a plain-text reason. */
static void reply_issue_error(struct vouch_req *r, int rc)
{
	switch (rc) {
	case VOUCH_ERR_X509_MALFORMED:
		vouch_req_reply_text(r, 400, "malformed CSR: not a DER PKCS#10 request");
		break;
	case VOUCH_ERR_X509_TOO_LARGE:
		vouch_req_reply_text(r, 413, "CSR too large");
		break;
	case VOUCH_ERR_X509_KEY_POLICY:
		vouch_req_reply_text(r, 400, "CSR key type refused: only P-256 and Ed25519");
		break;
	case VOUCH_ERR_VERIFY:
		vouch_req_reply_text(r, 400, "CSR signature does not verify");
		break;
	case VOUCH_ERR_INVALID:
		vouch_req_reply_text(r, 400, "the enrolment record cannot be issued for");
		break;
	default:
		vouch_log(VOUCH_LOG_ERROR, "est.issue", "why", vouch_strerror(rc), NULL);
		vouch_req_reply_text(r, 500, "internal error while issuing");
		break;
	}
}

/* The record the store keeps of an issued certificate. */
int vouch_service_issued_record(const struct vouch_ca_issued *is,
                                const struct vouch_ca_subject *subj, const char *via,
                                struct vouch_store_cert *rec)
{
	int rc;

	memset(rec, 0, sizeof(*rec));
	rc = vouch_store_serial_canon(is->serial, rec->serial);
	if (rc != VOUCH_OK)
		return rc;
	if (strlen(subj->id) > VOUCH_STORE_DEVICE_MAX || is->subject == NULL ||
	    strlen(is->subject) > VOUCH_STORE_SUBJECT_MAX)
		return VOUCH_ERR_INVALID;
	snprintf(rec->device, sizeof(rec->device), "%s", subj->id);
	snprintf(rec->subject, sizeof(rec->subject), "%s", is->subject);
	snprintf(rec->profile, sizeof(rec->profile), "%s", vouch_ca_profile_name(subj->profile));
	snprintf(rec->via, sizeof(rec->via), "%s", via);
	rec->not_before = (int64_t)is->not_before;
	rec->not_after = (int64_t)is->not_after;
	rec->der = is->der;
	rec->der_len = is->der_len;
	return VOUCH_OK;
}

/* RFC 7030 4.2.3: a certs-only Simple PKI Response holding only the issued certificate. */
static void reply_issued(struct vouch_req *r, const struct vouch_ca_issued *is, const char *serial)
{
	X509 *one[1] = {is->cert};
	uint8_t *der = NULL;
	size_t der_len = 0;
	char *b64 = NULL;
	size_t b64_len = 0;

	if (vouch_ca_certs_only(one, 1, &der, &der_len) != VOUCH_OK ||
	    vouch_ca_base64_encode(der, der_len, &b64, &b64_len) != VOUCH_OK) {
		free(der);
		vouch_req_reply_text(r, 500, "internal error while encoding the certificate");
		return;
	}
	vouch_req_note(r, "serial", serial);
	reply_b64(r, EST_CERTS_TYPE, b64, b64_len);
	free(der);
	free(b64);
}

int vouch_est_csr_decode(const uint8_t *body, size_t body_len, uint8_t **der, size_t *der_len)
{
	return vouch_ca_base64_decode((const char *)body, body_len, VOUCH_CA_CSR_MAX, der, der_len);
}

/* The body: base64 (line breaks allowed) of a DER CSR. */
static bool body_csr(struct vouch_req *r, uint8_t **der, size_t *der_len)
{
	int rc;

	*der = NULL;
	*der_len = 0;
	if (r->body_len == 0) {
		vouch_req_reply_text(r, 400, "empty body: expected a base64 PKCS#10 request");
		return false;
	}
	rc = vouch_est_csr_decode(r->body, r->body_len, der, der_len);
	if (rc == VOUCH_ERR_X509_TOO_LARGE) {
		vouch_req_reply_text(r, 413, "CSR too large");
		return false;
	}
	if (rc != VOUCH_OK) {
		vouch_req_reply_text(r, 400, "body is not valid base64");
		return false;
	}
	return true;
}

static bool check_content_type(struct vouch_req *r)
{
	if (vouch_req_content_type_is(r, "application/pkcs10"))
		return true;
	vouch_req_reply_text(r, 415, "Content-Type must be application/pkcs10");
	return false;
}

/* ---- simpleenroll ---- */

int vouch_est_basic_parse(const char *header, char device[VOUCH_STORE_DEVICE_MAX + 1],
                          uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN])
{
	const char *h = header;
	uint8_t *cred = NULL;
	size_t cred_len = 0;
	char *colon;
	int rc = VOUCH_ERR_INVALID;

	device[0] = '\0';
	if (h == NULL)
		return VOUCH_ERR_INVALID;
	if (strncasecmp(h, "Basic ", 6) != 0)
		return VOUCH_ERR_UNSUPPORTED;
	h += 6;
	while (*h == ' ')
		h++;
	if (strlen(h) > EST_AUTH_MAX ||
	    vouch_ca_base64_decode(h, strlen(h), EST_AUTH_MAX, &cred, &cred_len) != VOUCH_OK)
		goto out_wipe;
	colon = memchr(cred, ':', cred_len);
	if (colon == NULL || colon == (char *)cred ||
	    (size_t)(colon - (char *)cred) > VOUCH_STORE_DEVICE_MAX ||
	    memchr(cred, '\0', cred_len) != NULL)
		goto out_wipe;
	rc = vouch_sha256(colon + 1, cred_len - (size_t)(colon + 1 - (char *)cred), hash);
	if (rc != VOUCH_OK)
		goto out_wipe;
	memcpy(device, cred, (size_t)(colon - (char *)cred));
	device[colon - (char *)cred] = '\0';

out_wipe:
	if (cred != NULL)
		vouch_wipe(cred, cred_len);
	free(cred);
	return rc;
}

/* HTTP Basic: "Basic base64(device:token)". The token is hashed at once and wiped. */
static bool basic_auth(struct vouch_req *r, char device[VOUCH_STORE_DEVICE_MAX + 1],
                       uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN])
{
	const char *h = vouch_req_get_header(r, "Authorization");
	const char *why;
	int rc;

	if (h == NULL) {
		vouch_req_header(r, "WWW-Authenticate", EST_REALM);
		vouch_req_reply_text(r, 401, "authentication required: HTTP Basic device:token");
		return false;
	}
	rc = vouch_est_basic_parse(h, device, hash);
	if (rc == VOUCH_OK)
		return true;
	if (rc == VOUCH_ERR_UNSUPPORTED) {
		why = "authentication must be HTTP Basic device:token";
	} else if (rc == VOUCH_ERR_INVALID) {
		why = "malformed HTTP Basic credentials";
	} else {
		vouch_req_reply_text(r, 500, "internal error");
		return false;
	}
	vouch_req_header(r, "WWW-Authenticate", EST_REALM);
	vouch_req_reply_text(r, 401, why);
	return false;
}

static void reply_token_refusal(struct vouch_req *r, int rc)
{
	const char *why;

	switch (rc) {
	case VOUCH_ERR_STORE_TOKEN_UNKNOWN:
		why = "enrolment token unknown";
		break;
	case VOUCH_ERR_STORE_TOKEN_DEVICE:
		why = "enrolment token belongs to another device";
		break;
	case VOUCH_ERR_STORE_TOKEN_USED:
		why = "enrolment token already used";
		break;
	case VOUCH_ERR_STORE_TOKEN_EXPIRED:
		why = "enrolment token expired";
		break;
	case VOUCH_ERR_INVALID:
		why = "malformed device id";
		break;
	default:
		vouch_log(VOUCH_LOG_ERROR, "est.token", "why", vouch_strerror(rc), NULL);
		vouch_req_reply_text(r, 500, "internal error while checking the token");
		return;
	}
	vouch_req_header(r, "WWW-Authenticate", EST_REALM);
	vouch_req_reply_text(r, 401, why);
}

/* The SANs of an enrolment record: a JSON array of strings (or empty). */
static bool record_sans(const char *text, json_t **root, const char **sans, size_t *count)
{
	size_t i;
	json_t *v;

	*root = NULL;
	*count = 0;
	if (text[0] == '\0')
		return true;
	*root = json_loads(text, 0, NULL);
	if (*root == NULL || !json_is_array(*root) || json_array_size(*root) > VOUCH_CA_SANS_MAX)
		return false;
	json_array_foreach(*root, i, v)
	{
		if (!json_is_string(v))
			return false;
		sans[(*count)++] = json_string_value(v);
	}
	return true;
}

static void est_simpleenroll(struct vouch_req *r)
{
	struct vouch_service *svc = r->svc;
	char device[VOUCH_STORE_DEVICE_MAX + 1];
	uint8_t hash[VOUCH_STORE_TOKEN_HASH_LEN];
	char actor[VOUCH_STORE_ACTOR_MAX + 1];
	const char *sans[VOUCH_CA_SANS_MAX];
	struct vouch_store_token tok;
	struct vouch_ca_subject subj = {0};
	struct vouch_ca_issued is;
	struct vouch_store_cert rec;
	json_t *sans_json = NULL;
	uint8_t *csr = NULL;
	size_t csr_len = 0;
	int64_t now = (int64_t)time(NULL);
	int rc = VOUCH_ERR_INTERNAL;

	vouch_ca_issued_init(&is);
	if (!method_is(r, EVHTTP_REQ_POST, "POST") || !check_content_type(r))
		return;
	if (!basic_auth(r, device, hash))
		return;
	vouch_req_note(r, "device", device);
	snprintf(actor, sizeof(actor), "est:%s", device);
	/* Authenticate before parsing anything else the client sent. */
	rc = vouch_store_token_check(svc->store, device, hash, now, actor, &tok);
	if (rc != VOUCH_OK) {
		reply_token_refusal(r, rc);
		goto out_wipe;
	}
	if (!body_csr(r, &csr, &csr_len))
		goto out_wipe;
	if (vouch_ca_profile_parse(tok.profile, &subj.profile) != VOUCH_OK ||
	    !record_sans(tok.sans, &sans_json, sans, &subj.sans_count)) {
		vouch_req_reply_text(r, 500, "enrolment record unusable");
		goto out_free;
	}
	subj.id = tok.device;
	subj.sans = sans;
	for (int attempt = 0; attempt < VOUCH_ISSUE_ATTEMPTS; attempt++) {
		vouch_ca_issued_clear(&is);
		vouch_ca_issued_init(&is);
		rc = vouch_ca_issue_csr(svc->ca, csr, csr_len, &subj, &is);
		if (rc != VOUCH_OK) {
			reply_issue_error(r, rc);
			goto out_free;
		}
		rc = vouch_service_issued_record(&is, &subj, "est", &rec);
		if (rc != VOUCH_OK)
			break;
		/* Token use and issuance in one transaction: a token can never yield two
		 * certificates, and a certificate sent out is always in the store. */
		rc = vouch_store_token_consume_issue(svc->store, device, hash, now, &rec, actor);
		if (rc != VOUCH_ERR_STORE_SERIAL_EXISTS)
			break;
	}
	if (rc != VOUCH_OK) {
		reply_token_refusal(r, rc);
		goto out_free;
	}
	vouch_req_note(r, "profile", tok.profile);
	reply_issued(r, &is, rec.serial);

out_free:
	json_decref(sans_json);
	free(csr);
	vouch_ca_issued_clear(&is);
out_wipe:
	vouch_wipe(hash, sizeof(hash));
}

/* ---- simplereenroll ---- */

static const char *verify_reason(long v)
{
	switch (v) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "client certificate expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "client certificate not yet valid";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return "client certificate not issued by this CA";
	case X509_V_ERR_INVALID_PURPOSE:
		return "client certificate not for client authentication";
	default:
		return NULL;
	}
}

/* The client's certificate must chain to our CA, be in the store and not be revoked. On
 * success *rec is its record (rec->der allocated). */
static bool reenroll_auth(struct vouch_req *r, struct vouch_store_cert *rec)
{
	char serial[VOUCH_STORE_SERIAL_MAX + 1];
	char msg[200];
	const char *why;
	int rc;

	if (r->peer == NULL) {
		vouch_req_reply_text(r, 403, "client certificate required (mutual TLS)");
		return false;
	}
	if (r->peer_verify != X509_V_OK) {
		why = verify_reason(r->peer_verify);
		if (why == NULL) {
			snprintf(msg, sizeof(msg), "client certificate refused: %s",
			         X509_verify_cert_error_string(r->peer_verify));
			why = msg;
		}
		vouch_req_reply_text(r, 403, why);
		return false;
	}
	if (vouch_service_cert_serial(r->peer, serial) != VOUCH_OK) {
		vouch_req_reply_text(r, 403, "client certificate serial unusable");
		return false;
	}
	vouch_req_note(r, "old_serial", serial);
	rc = vouch_store_cert_get(r->svc->store, serial, rec);
	if (rc == VOUCH_ERR_STORE_NOT_FOUND) {
		vouch_req_reply_text(r, 403, "client certificate unknown to this CA");
		return false;
	}
	if (rc != VOUCH_OK) {
		vouch_req_reply_text(r, 500, "internal error while looking up the certificate");
		return false;
	}
	vouch_req_note(r, "device", rec->device);
	switch (vouch_store_cert_status_at(rec, (int64_t)time(NULL))) {
	case VOUCH_STORE_STATUS_VALID:
		return true;
	case VOUCH_STORE_STATUS_REVOKED:
		vouch_req_reply_text(r, 403, "client certificate revoked");
		break;
	default:
		vouch_req_reply_text(r, 403, "client certificate expired");
		break;
	}
	vouch_store_cert_clear(rec);
	return false;
}

bool vouch_est_same_subject(const uint8_t *csr, size_t csr_len, X509 *cert)
{
	const unsigned char *p = csr;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr_len);
	bool same;

	if (req == NULL)
		return false;
	same = p == csr + csr_len &&
	       X509_NAME_cmp(X509_REQ_get_subject_name(req), X509_get_subject_name(cert)) == 0;
	X509_REQ_free(req);
	return same;
}

/* The current certificate's DNS and IP SANs, kept for the renewal of a service certificate. */
static size_t cert_sans(X509 *cert, char (*buf)[256], const char **sans, size_t max)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	size_t n = 0;

	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens) && n < max; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS) {
			const ASN1_IA5STRING *s = g->d.dNSName;

			if (s->length <= 0 || s->length >= 256)
				continue;
			memcpy(buf[n], s->data, (size_t)s->length);
			buf[n][s->length] = '\0';
		} else if (g->type == GEN_IPADD) {
			const ASN1_OCTET_STRING *s = g->d.iPAddress;
			int af = s->length == 4 ? AF_INET : s->length == 16 ? AF_INET6 : 0;

			if (af == 0 || inet_ntop(af, s->data, buf[n], 256) == NULL)
				continue;
		} else {
			continue;
		}
		sans[n] = buf[n];
		n++;
	}
	GENERAL_NAMES_free(gens);
	return n;
}

static void est_simplereenroll(struct vouch_req *r)
{
	struct vouch_service *svc = r->svc;
	struct vouch_store_cert cur = {0}, rec;
	struct vouch_ca_subject subj = {0};
	struct vouch_ca_issued is;
	char actor[VOUCH_STORE_ACTOR_MAX + 1];
	char(*san_buf)[256] = NULL;
	const char *sans[VOUCH_CA_SANS_MAX];
	uint8_t *csr = NULL;
	size_t csr_len = 0;
	int rc = VOUCH_ERR_INTERNAL;

	vouch_ca_issued_init(&is);
	if (!method_is(r, EVHTTP_REQ_POST, "POST") || !check_content_type(r))
		return;
	if (!reenroll_auth(r, &cur))
		return;
	if (vouch_ca_profile_parse(cur.profile, &subj.profile) != VOUCH_OK) {
		vouch_req_reply_text(r, 403, "this certificate's profile is not renewed over EST");
		goto out_free;
	}
	if (!body_csr(r, &csr, &csr_len))
		goto out_free;
	if (!vouch_est_same_subject(csr, csr_len, r->peer)) {
		/* A CSR that does not parse is reported as such by the CA below. */
		const unsigned char *p = csr;
		X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr_len);

		if (req != NULL) {
			X509_REQ_free(req);
			vouch_req_reply_text(r, 400,
			                     "CSR subject differs from the current certificate's");
			goto out_free;
		}
		reply_issue_error(r, VOUCH_ERR_X509_MALFORMED);
		goto out_free;
	}
	san_buf = calloc(VOUCH_CA_SANS_MAX, sizeof(*san_buf));
	if (san_buf == NULL) {
		vouch_req_reply_text(r, 500, "out of memory");
		goto out_free;
	}
	subj.id = cur.device;
	subj.sans = sans;
	subj.sans_count = cert_sans(r->peer, san_buf, sans, VOUCH_CA_SANS_MAX);
	snprintf(actor, sizeof(actor), "est:%s", cur.device);
	for (int attempt = 0; attempt < VOUCH_ISSUE_ATTEMPTS; attempt++) {
		vouch_ca_issued_clear(&is);
		vouch_ca_issued_init(&is);
		rc = vouch_ca_issue_csr(svc->ca, csr, csr_len, &subj, &is);
		if (rc != VOUCH_OK) {
			reply_issue_error(r, rc);
			goto out_free;
		}
		rc = vouch_service_issued_record(&is, &subj, "reenroll", &rec);
		if (rc != VOUCH_OK)
			break;
		rc = vouch_store_cert_insert(svc->store, &rec, actor);
		if (rc != VOUCH_ERR_STORE_SERIAL_EXISTS)
			break;
	}
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "est.reenroll", "why", vouch_strerror(rc), NULL);
		vouch_req_reply_text(r, 500, "internal error while storing the certificate");
		goto out_free;
	}
	vouch_req_note(r, "profile", cur.profile);
	reply_issued(r, &is, rec.serial);

out_free:
	free(san_buf);
	free(csr);
	vouch_ca_issued_clear(&is);
	vouch_store_cert_clear(&cur);
}

/* ---- dispatch ---- */

void vouch_est_handle(struct vouch_req *r)
{
	const char *op = r->path + strlen(EST_PREFIX);

	if (strcmp(op, "cacerts") == 0) {
		if (method_is(r, EVHTTP_REQ_GET, "GET"))
			reply_b64(r, EST_CERTS_TYPE, r->svc->cacerts_b64, r->svc->cacerts_b64_len);
	} else if (strcmp(op, "simpleenroll") == 0) {
		est_simpleenroll(r);
	} else if (strcmp(op, "simplereenroll") == 0) {
		est_simplereenroll(r);
	} else if (strcmp(op, "csrattrs") == 0) {
		if (method_is(r, EVHTTP_REQ_GET, "GET"))
			reply_b64(r, "application/csrattrs", r->svc->csrattrs_b64,
			          r->svc->csrattrs_b64_len);
	} else if (strcmp(op, "fullcmc") == 0 || strcmp(op, "serverkeygen") == 0) {
		vouch_req_reply_text(r, 501, "not implemented by this EST server");
	} else {
		vouch_req_reply_text(r, 404, "no such EST operation");
	}
}
