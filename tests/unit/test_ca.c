/*
 * The certificate authority (server/ca.c) with its keys in SoftHSM2: the hierarchy, issuance by
 * profile from CSRs made here with OpenSSL, the refusals, serial uniqueness, CRLs checked by
 * X509_verify_cert, OCSP responses checked by OCSP_basic_verify, and the EST encodings. Every
 * test builds its own site (directory, softhsm2.conf, token, hierarchy).
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "testutil.h"
#include "vouch/log.h"
#include "vouch/p11.h"

#define SITE "acme"
#define URL  "http://127.0.0.1:8080"

struct site {
	char dir[64];
	char path[256];
	struct vouch_p11 *p11;
	struct vouch_ca *ca;
	struct vouch_ca_config cfg;
};

/* ---- fixture ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static const char *site_file(struct site *s, const char *name)
{
	int n = snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, name);

	assert_true(n > 0 && (size_t)n < sizeof(s->path));
	return s->path;
}

static int setup(void **state)
{
	struct site *s = calloc(1, sizeof(*s));
	char pin[256];
	char so_pin[256];

	assert_non_null(s);
	strcpy(s->dir, "/tmp/vouch-test-ca-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	assert_int_equal(vouch_p11_softhsm_init(s->dir), VOUCH_OK);
	snprintf(pin, sizeof(pin), "%s/token.pin", s->dir);
	snprintf(so_pin, sizeof(so_pin), "%s/token.so-pin", s->dir);
	assert_int_equal(vouch_p11_token_create(NULL, VOUCH_CA_TOKEN_LABEL, pin, so_pin), VOUCH_OK);
	assert_int_equal(vouch_p11_open(&s->p11, NULL, VOUCH_CA_TOKEN_LABEL, pin), VOUCH_OK);
	s->cfg.site = SITE;
	s->cfg.public_http_url = URL "/"; /* the trailing slash is dropped */
	assert_int_equal(vouch_ca_create(&s->ca, s->dir, s->p11, &s->cfg), VOUCH_OK);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct site *s = *state;

	vouch_ca_free(s->ca);
	vouch_p11_close(s->p11);
	nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(s);
	return 0;
}

/* ---- helpers ---- */

static EVP_PKEY *keygen(const char *type)
{
	EVP_PKEY *k;

	if (strcmp(type, "P-256") == 0 || strcmp(type, "P-384") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", type);
	else if (strcmp(type, "RSA") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, type);
	assert_non_null(k);
	return k;
}

/* A CSR for pub, signed by signer, asking for a subject and a SAN the CA must ignore. */
static uint8_t *make_csr(EVP_PKEY *pub, EVP_PKEY *signer, size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *san;
	unsigned char *der = NULL;
	uint8_t *out;
	int n;

	assert_non_null(req);
	assert_int_equal(X509_REQ_set_version(req, X509_REQ_VERSION_1), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	                                            (const unsigned char *)"evil", -1, -1, 0),
	                 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	                                            (const unsigned char *)"other-org", -1, -1, 0),
	                 1);
	assert_int_equal(X509_REQ_set_subject_name(req, name), 1);
	san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:evil.example");
	assert_non_null(san);
	sk_X509_EXTENSION_push(exts, san);
	assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, pub), 1);
	assert_true(
	    X509_REQ_sign(req, signer,
	                  EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED25519 ? NULL : EVP_sha256()) >
	    0);
	n = i2d_X509_REQ(req, &der);
	assert_true(n > 0);
	out = malloc((size_t)n);
	assert_non_null(out);
	memcpy(out, der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return out;
}

static uint8_t *make_spki(EVP_PKEY *key, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);
	uint8_t *out;

	assert_true(n > 0);
	out = malloc((size_t)n);
	assert_non_null(out);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return out;
}

static X509_STORE *trust_root(struct site *s)
{
	X509_STORE *store = X509_STORE_new();

	assert_non_null(store);
	assert_int_equal(X509_STORE_add_cert(store, vouch_ca_root_cert(s->ca)), 1);
	return store;
}

/* X509_verify_cert of cert against root + issuing, for a purpose, with optional CRLs. */
static int verify_chain(struct site *s, X509 *cert, int purpose, STACK_OF(X509_CRL) * crls,
                        unsigned long flags)
{
	X509_STORE *store = trust_root(s);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int err;

	sk_X509_push(untrusted, vouch_ca_issuing_cert(s->ca));
	assert_int_equal(X509_STORE_CTX_init(ctx, store, cert, untrusted), 1);
	if (purpose != 0)
		assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	if (crls != NULL)
		X509_STORE_CTX_set0_crls(ctx, crls);
	if (flags != 0)
		X509_STORE_CTX_set_flags(ctx, flags);
	err = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
	return err;
}

/* The same for an issued certificate, through its decoded copy (see struct vouch_ca_issued). */
static int verify_issued(struct site *s, const struct vouch_ca_issued *is, int purpose,
                         STACK_OF(X509_CRL) * crls, unsigned long flags)
{
	X509 *x = NULL;
	int err;

	assert_int_equal(vouch_ca_issued_decode(is, &x), VOUCH_OK);
	err = verify_chain(s, x, purpose, crls, flags);
	X509_free(x);
	return err;
}

static void assert_issued_key(const struct vouch_ca_issued *is, EVP_PKEY *key)
{
	X509 *x = NULL;

	assert_int_equal(vouch_ca_issued_decode(is, &x), VOUCH_OK);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
	X509_free(x);
}

static long validity_seconds(X509 *x)
{
	int days = 0;
	int secs = 0;

	assert_int_equal(
	    ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	return (long)days * 86400 + secs;
}

static void assert_uri_ext(X509 *x)
{
	STACK_OF(OPENSSL_STRING) *ocsp = X509_get1_ocsp(x);
	CRL_DIST_POINTS *cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	bool ca_issuers = false;

	assert_non_null(ocsp);
	assert_int_equal(sk_OPENSSL_STRING_num(ocsp), 1);
	assert_string_equal(sk_OPENSSL_STRING_value(ocsp, 0), URL "/ocsp");
	X509_email_free(ocsp);
	assert_non_null(aia);
	for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
		ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);

		if (OBJ_obj2nid(ad->method) == NID_ad_ca_issuers) {
			assert_int_equal(ad->location->type, GEN_URI);
			assert_string_equal(
			    ASN1_STRING_get0_data(ad->location->d.uniformResourceIdentifier),
			    URL "/ca/issuing.crt");
			ca_issuers = true;
		}
	}
	assert_true(ca_issuers);
	AUTHORITY_INFO_ACCESS_free(aia);
	assert_non_null(cdp);
	assert_int_equal(sk_DIST_POINT_num(cdp), 1);
	{
		DIST_POINT *dp = sk_DIST_POINT_value(cdp, 0);
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);

		assert_int_equal(gn->type, GEN_URI);
		assert_string_equal(ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
		                    URL "/crl/issuing.crl");
	}
	CRL_DIST_POINTS_free(cdp);
}

/* Every end-entity certificate: extensions per docs/vouchd.md and a 16-octet positive serial. */
static void assert_ee_common(struct site *s, const struct vouch_ca_issued *is)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(is->cert);
	unsigned char *der = NULL;
	int n;

	assert_non_null(is->cert);
	assert_int_equal(strlen(is->serial), 32);
	assert_true(strchr("01234567", is->serial[0]) != NULL);
	assert_false(is->serial[0] == '0' && is->serial[1] == '0');
	n = i2d_ASN1_INTEGER((ASN1_INTEGER *)serial, &der);
	assert_int_equal(n, 2 + 16); /* tag, length, 16 content octets */
	assert_int_equal(der[2] & 0x80, 0);
	OPENSSL_free(der);
	{
		char hex[VOUCH_CA_SERIAL_HEX_MAX];

		assert_int_equal(vouch_ca_serial_hex(is->cert, hex), VOUCH_OK);
		assert_string_equal(hex, is->serial);
	}
	assert_int_equal(X509_get_version(is->cert), X509_VERSION_3);
	assert_int_equal(X509_check_ca(is->cert), 0);
	assert_non_null(X509_get0_subject_key_id(is->cert));
	assert_non_null(X509_get0_authority_key_id(is->cert));
	assert_int_equal(
	    ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(is->cert),
	                          X509_get0_subject_key_id(vouch_ca_issuing_cert(s->ca))),
	    0);
	assert_uri_ext(is->cert);
	assert_int_equal(X509_get_signature_nid(is->cert), NID_ecdsa_with_SHA256);
	/* The DER handed out is the certificate's. */
	der = NULL;
	n = i2d_X509(is->cert, &der);
	assert_int_equal((size_t)n, is->der_len);
	assert_memory_equal(der, is->der, is->der_len);
	OPENSSL_free(der);
	assert_int_equal(is->not_after - is->not_before, validity_seconds(is->cert));
}

static uint32_t eku_of(X509 *x)
{
	return X509_get_extension_flags(x) & EXFLAG_XKUSAGE ? X509_get_extended_key_usage(x) : 0;
}

static GENERAL_NAMES *sans_of(X509 *x)
{
	return X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
}

/* ---- hierarchy ---- */

static void test_hierarchy(void **state)
{
	struct site *s = *state;
	X509 *root = vouch_ca_root_cert(s->ca);
	X509 *issuing = vouch_ca_issuing_cert(s->ca);
	X509 *ocsp = vouch_ca_ocsp_cert(s->ca);
	struct vouch_ca *again = NULL;
	struct vouch_p11_key_info info;
	char fp1[VOUCH_CA_FINGERPRINT_HEX];
	char fp2[VOUCH_CA_FINGERPRINT_HEX];
	BASIC_CONSTRAINTS *bc;
	FILE *f;
	int n = 0;

	/* Root: self-signed CA, pathlen 1, 20 years; issuing: pathlen 0, 10 years. */
	assert_int_equal(X509_check_issued(root, root), X509_V_OK);
	assert_int_equal(X509_verify(root, X509_get0_pubkey(root)), 1);
	assert_int_equal(X509_check_issued(root, issuing), X509_V_OK);
	assert_int_equal(X509_verify(issuing, X509_get0_pubkey(root)), 1);
	assert_int_equal(X509_verify(ocsp, X509_get0_pubkey(issuing)), 1);
	bc = X509_get_ext_d2i(root, NID_basic_constraints, NULL, NULL);
	assert_true(bc->ca);
	assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 1);
	BASIC_CONSTRAINTS_free(bc);
	bc = X509_get_ext_d2i(issuing, NID_basic_constraints, NULL, NULL);
	assert_true(bc->ca);
	assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_get_key_usage(root), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_int_equal(X509_get_key_usage(issuing), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_true(labs(validity_seconds(root) - 7305L * 86400 - 60) <= 1);
	assert_true(labs(validity_seconds(issuing) - 3653L * 86400 - 60) <= 1);
	assert_string_equal(X509_NAME_oneline(X509_get_subject_name(root), fp1, sizeof(fp1)),
	                    "/O=acme/CN=acme Root CA");
	/* The responder: OCSPSigning, ocsp-nocheck, not a CA. */
	assert_int_equal(eku_of(ocsp), XKU_OCSP_SIGN);
	assert_true(X509_get_ext_by_NID(ocsp, NID_id_pkix_OCSP_noCheck, -1) >= 0);
	assert_int_equal(X509_check_ca(ocsp), 0);
	assert_int_equal(verify_chain(s, ocsp, 0, NULL, 0), X509_V_OK);
	assert_int_equal(verify_chain(s, issuing, 0, NULL, 0), X509_V_OK);
	/* The keys are in the token, sensitive and never extractable. */
	assert_int_equal(vouch_p11_key_info(s->p11, VOUCH_CA_KEY_ROOT, &info), VOUCH_OK);
	assert_true(info.sensitive && !info.extractable && !info.value_readable);
	assert_int_equal(vouch_p11_key_info(s->p11, VOUCH_CA_KEY_ISSUING, &info), VOUCH_OK);
	assert_true(info.sensitive && !info.extractable && !info.value_readable);
	assert_int_equal(vouch_p11_key_info(s->p11, VOUCH_CA_KEY_OCSP, &info), VOUCH_OK);
	assert_true(info.never_extractable);
	/* The files: chain.pem is issuing then root. */
	f = fopen(site_file(s, "ca/chain.pem"), "r");
	assert_non_null(f);
	for (X509 *x; (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL; n++) {
		assert_int_equal(X509_cmp(x, n == 0 ? issuing : root), 0);
		X509_free(x);
	}
	ERR_clear_error();
	fclose(f);
	assert_int_equal(n, 2);
	/* Refused a second time: the files and keys exist. */
	assert_int_equal(vouch_ca_create(&again, s->dir, s->p11, &s->cfg), VOUCH_ERR_P11_EXISTS);
	assert_null(again);
	/* Opened from the files and the token: the same CA. */
	assert_int_equal(vouch_ca_open(&again, s->dir, s->p11, &s->cfg), VOUCH_OK);
	assert_int_equal(vouch_ca_fingerprint(vouch_ca_root_cert(again), fp1), VOUCH_OK);
	assert_int_equal(vouch_ca_fingerprint(root, fp2), VOUCH_OK);
	assert_string_equal(fp1, fp2);
	assert_int_equal(strlen(fp1), 64);
	vouch_ca_free(again);
}

static void test_open_refusals(void **state)
{
	struct site *s = *state;
	struct vouch_ca *ca = NULL;
	struct vouch_ca_config bad = s->cfg;
	X509 *issuing = vouch_ca_issuing_cert(s->ca);

	bad.public_http_url = "ftp://x";
	assert_int_equal(vouch_ca_open(&ca, s->dir, s->p11, &bad), VOUCH_ERR_INVALID);
	bad = s->cfg;
	bad.site = "";
	assert_int_equal(vouch_ca_open(&ca, s->dir, s->p11, &bad), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_ca_open(&ca, "/nonexistent-vouch", s->p11, &s->cfg), VOUCH_ERR_IO);
	/* A responder certificate that is not the token's OCSP key. */
	assert_int_equal(unlink(site_file(s, "ca/ocsp.pem")), 0);
	assert_int_equal(vouch_ca_write_pem(site_file(s, "ca/ocsp.pem"), &issuing, 1), VOUCH_OK);
	assert_int_equal(vouch_ca_write_pem(site_file(s, "ca/ocsp.pem"), &issuing, 1),
	                 VOUCH_ERR_P11_EXISTS);
	assert_int_equal(vouch_ca_open(&ca, s->dir, s->p11, &s->cfg), VOUCH_ERR_KEY);
	assert_null(ca);
}

/* ---- issuance ---- */

static void test_issue_device(void **state)
{
	struct site *s = *state;
	EVP_PKEY *key = keygen("P-256");
	size_t csr_len;
	uint8_t *csr = make_csr(key, key, &csr_len);
	struct vouch_ca_subject subj = {VOUCH_CA_PROFILE_DEVICE, "pump-7", NULL, 0};
	struct vouch_ca_issued is;

	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, csr_len, &subj, &is), VOUCH_OK);
	assert_ee_common(s, &is);
	/* Subject from the record, not from the CSR; no SAN although the CSR asked for one. */
	assert_string_equal(is.subject, "CN=pump-7,O=acme");
	assert_null(sans_of(is.cert));
	assert_issued_key(&is, key);
	assert_int_equal(eku_of(is.cert), XKU_SSL_CLIENT);
	assert_int_equal(X509_get_key_usage(is.cert), KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT);
	assert_true(labs(validity_seconds(is.cert) - 365L * 86400 - 60) <= 1);
	assert_int_equal(verify_issued(s, &is, X509_PURPOSE_SSL_CLIENT, NULL, 0), X509_V_OK);
	/* Not a server certificate. */
	assert_int_equal(verify_issued(s, &is, X509_PURPOSE_SSL_SERVER, NULL, 0),
	                 X509_V_ERR_INVALID_PURPOSE);
	vouch_ca_issued_clear(&is);
	vouch_ca_issued_clear(&is); /* idempotent */
	free(csr);
	EVP_PKEY_free(key);
}

static void test_issue_profiles(void **state)
{
	struct site *s = *state;
	EVP_PKEY *key = keygen("P-256");
	EVP_PKEY *ed = keygen("ED25519");
	size_t csr_len;
	uint8_t *csr = make_csr(key, key, &csr_len);
	size_t ed_len;
	uint8_t *ed_csr = make_csr(ed, ed, &ed_len);
	const char *sans[] = {"svc.plant.example", "10.0.0.5", "::1"};
	struct vouch_ca_subject subj = {VOUCH_CA_PROFILE_SERVICE, "historian", sans, 3};
	struct vouch_ca_issued is;
	GENERAL_NAMES *gens;

	/* service: serverAuth + clientAuth, SANs from the record (DNS and IP addresses). */
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, csr_len, &subj, &is), VOUCH_OK);
	assert_ee_common(s, &is);
	assert_string_equal(is.subject, "CN=historian,O=acme");
	assert_int_equal(eku_of(is.cert), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	gens = sans_of(is.cert);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 3);
	assert_int_equal(sk_GENERAL_NAME_value(gens, 0)->type, GEN_DNS);
	assert_int_equal(sk_GENERAL_NAME_value(gens, 1)->type, GEN_IPADD);
	assert_int_equal(sk_GENERAL_NAME_value(gens, 2)->type, GEN_IPADD);
	GENERAL_NAMES_free(gens);
	assert_int_equal(X509_check_host(is.cert, "svc.plant.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(is.cert, "evil.example", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ip_asc(is.cert, "10.0.0.5", 0), 1);
	assert_int_equal(X509_check_ip_asc(is.cert, "::1", 0), 1);
	assert_int_equal(verify_issued(s, &is, X509_PURPOSE_SSL_SERVER, NULL, 0), X509_V_OK);
	vouch_ca_issued_clear(&is);

	/* phone: OU=phone, 30 days. */
	subj = (struct vouch_ca_subject){VOUCH_CA_PROFILE_PHONE, "alice", NULL, 0};
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, csr_len, &subj, &is), VOUCH_OK);
	assert_ee_common(s, &is);
	assert_string_equal(is.subject, "CN=alice,OU=phone,O=acme");
	assert_int_equal(eku_of(is.cert), XKU_SSL_CLIENT);
	assert_true(labs(validity_seconds(is.cert) - 30L * 86400 - 60) <= 1);
	vouch_ca_issued_clear(&is);

	/* short-lived: hours, still with AIA and CDP (checked by assert_ee_common). */
	subj = (struct vouch_ca_subject){VOUCH_CA_PROFILE_SHORT_LIVED, "veh-1", NULL, 0};
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, csr_len, &subj, &is), VOUCH_OK);
	assert_ee_common(s, &is);
	assert_true(labs(validity_seconds(is.cert) - 24L * 3600 - 60) <= 1);
	vouch_ca_issued_clear(&is);

	/* Ed25519 keys: accepted, digitalSignature without keyAgreement. */
	subj = (struct vouch_ca_subject){VOUCH_CA_PROFILE_DEVICE, "sensor-ed", NULL, 0};
	assert_int_equal(vouch_ca_issue_csr(s->ca, ed_csr, ed_len, &subj, &is), VOUCH_OK);
	assert_ee_common(s, &is);
	assert_int_equal(X509_get_key_usage(is.cert), KU_DIGITAL_SIGNATURE);
	assert_issued_key(&is, ed);
	assert_int_equal(verify_issued(s, &is, X509_PURPOSE_SSL_CLIENT, NULL, 0), X509_V_OK);
	vouch_ca_issued_clear(&is);

	/* A UTF-8 id is kept as such. */
	subj = (struct vouch_ca_subject){VOUCH_CA_PROFILE_DEVICE, "pumpe-\xc3\xbc", NULL, 0};
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, csr_len, &subj, &is), VOUCH_OK);
	assert_string_equal(is.subject, "CN=pumpe-\xc3\xbc,O=acme");
	vouch_ca_issued_clear(&is);

	free(csr);
	free(ed_csr);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ed);
}

static void test_issue_refusals(void **state)
{
	struct site *s = *state;
	EVP_PKEY *key = keygen("P-256");
	EVP_PKEY *other = keygen("P-256");
	EVP_PKEY *rsa = keygen("RSA");
	EVP_PKEY *p384 = keygen("P-384");
	EVP_PKEY *x25519 = keygen("X25519");
	struct vouch_ca_subject subj = {VOUCH_CA_PROFILE_DEVICE, "pump-7", NULL, 0};
	struct vouch_ca_issued is;
	size_t len;
	uint8_t *csr;
	uint8_t *big;

	/* A CSR whose signature does not verify: flipped bit, or signed by another key. */
	csr = make_csr(key, key, &len);
	csr[len - 5] ^= 0x01;
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is), VOUCH_ERR_VERIFY);
	assert_null(is.cert);
	free(csr);
	csr = make_csr(key, other, &len);
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is), VOUCH_ERR_VERIFY);
	/* Trailing bytes, truncation, garbage, empty. */
	big = malloc(len + 1);
	memcpy(big, csr, len);
	big[len] = 0;
	assert_int_equal(vouch_ca_issue_csr(s->ca, big, len + 1, &subj, &is),
	                 VOUCH_ERR_X509_MALFORMED);
	assert_int_equal(vouch_ca_issue_csr(s->ca, big, len - 1, &subj, &is),
	                 VOUCH_ERR_X509_MALFORMED);
	assert_int_equal(
	    vouch_ca_issue_csr(s->ca, (const uint8_t *)"\x30\x03\x02\x01\x00", 5, &subj, &is),
	    VOUCH_ERR_X509_MALFORMED);
	assert_int_equal(vouch_ca_issue_csr(s->ca, big, 0, &subj, &is), VOUCH_ERR_X509_MALFORMED);
	free(big);
	free(csr);
	/* Key types outside the policy, each properly self-signed. */
	csr = make_csr(rsa, rsa, &len);
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is),
	                 VOUCH_ERR_X509_KEY_POLICY);
	free(csr);
	csr = make_csr(p384, p384, &len);
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is),
	                 VOUCH_ERR_X509_KEY_POLICY);
	free(csr);
	/* Oversized input is refused before it is parsed. */
	big = calloc(1, VOUCH_CA_CSR_MAX + 1);
	assert_int_equal(vouch_ca_issue_csr(s->ca, big, VOUCH_CA_CSR_MAX + 1, &subj, &is),
	                 VOUCH_ERR_X509_TOO_LARGE);
	free(big);
	/* A bad enrolment record. */
	csr = make_csr(key, key, &len);
	subj.id = "";
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is), VOUCH_ERR_INVALID);
	subj.id = "line\nbreak";
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is), VOUCH_ERR_INVALID);
	subj.id = "\xff\xfe";
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is), VOUCH_ERR_INVALID);
	subj.id = "an-id-that-is-longer-than-sixty-four-bytes-which-is-the-limit-of-a-CN";
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is), VOUCH_ERR_INVALID);
	subj.id = "pump-7";
	{
		const char *bad_sans[] = {"bad_name!"};
		const char *bad_sans2[] = {"-lead.example"};

		subj.sans = bad_sans;
		subj.sans_count = 1;
		assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is),
		                 VOUCH_ERR_INVALID);
		subj.sans = bad_sans2;
		assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is),
		                 VOUCH_ERR_INVALID);
		subj.sans_count = VOUCH_CA_SANS_MAX + 1;
		assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is),
		                 VOUCH_ERR_INVALID);
		subj.sans = NULL;
		subj.sans_count = 0;
	}
	subj.profile = (enum vouch_ca_profile)42;
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is), VOUCH_ERR_INVALID);
	subj.profile = VOUCH_CA_PROFILE_TLS_SERVER; /* needs SANs */
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, NULL, &is), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_ca_issue_csr(NULL, csr, len, &subj, &is), VOUCH_ERR_INVALID);
	free(csr);

	/* Bare public keys: the same policy. */
	subj = (struct vouch_ca_subject){VOUCH_CA_PROFILE_SHORT_LIVED, "veh-0001", NULL, 0};
	csr = make_spki(key, &len);
	assert_int_equal(vouch_ca_issue_spki(s->ca, csr, len, &subj, &is), VOUCH_OK);
	assert_ee_common(s, &is);
	assert_issued_key(&is, key);
	vouch_ca_issued_clear(&is);
	assert_int_equal(vouch_ca_issue_spki(s->ca, csr, len - 1, &subj, &is),
	                 VOUCH_ERR_X509_MALFORMED);
	csr[len - 1] ^= 0x55; /* the point is no longer on the curve */
	assert_int_equal(vouch_ca_issue_spki(s->ca, csr, len, &subj, &is),
	                 VOUCH_ERR_X509_MALFORMED);
	free(csr);
	csr = make_spki(rsa, &len);
	assert_int_equal(vouch_ca_issue_spki(s->ca, csr, len, &subj, &is),
	                 VOUCH_ERR_X509_KEY_POLICY);
	free(csr);
	csr = make_spki(x25519, &len);
	assert_int_equal(vouch_ca_issue_spki(s->ca, csr, len, &subj, &is),
	                 VOUCH_ERR_X509_KEY_POLICY);
	free(csr);
	big = calloc(1, VOUCH_CA_SPKI_MAX + 1);
	assert_int_equal(vouch_ca_issue_spki(s->ca, big, VOUCH_CA_SPKI_MAX + 1, &subj, &is),
	                 VOUCH_ERR_X509_TOO_LARGE);
	free(big);

	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(x25519);
}

static int cmp_serial(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1000 issuances from one CSR: distinct serials; and the rate of CSR verify + token sign. */
static void test_serials_unique(void **state)
{
	enum { N = 1000 };
	struct site *s = *state;
	EVP_PKEY *key = keygen("P-256");
	size_t len;
	uint8_t *csr = make_csr(key, key, &len);
	struct vouch_ca_subject subj = {VOUCH_CA_PROFILE_DEVICE, "pump-7", NULL, 0};
	char(*serials)[VOUCH_CA_SERIAL_HEX_MAX] = calloc(N, sizeof(*serials));
	double t0;
	double dt;

	assert_non_null(serials);
	t0 = now_seconds();
	for (int i = 0; i < N; i++) {
		struct vouch_ca_issued is;

		assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &is), VOUCH_OK);
		assert_int_equal(strlen(is.serial), 32);
		memcpy(serials[i], is.serial, sizeof(is.serial));
		vouch_ca_issued_clear(&is);
	}
	dt = now_seconds() - t0;
	printf("# issuance from CSR (verify + sign in the token): %d in %.3f s = %.0f/s\n", N, dt,
	       N / dt);
	qsort(serials, N, sizeof(*serials), cmp_serial);
	for (int i = 1; i < N; i++)
		assert_true(strcmp(serials[i - 1], serials[i]) != 0);
	free(serials);
	free(csr);
	EVP_PKEY_free(key);
}

/* ---- token keys: the TLS server and admin certificates ---- */

static void test_issue_token_keys(void **state)
{
	struct site *s = *state;
	static const uint8_t tls_id[] = {VOUCH_CA_KEY_TLS_ID};
	static const uint8_t admin_id[] = {VOUCH_CA_KEY_ADMIN_ID};
	const char *hosts[] = {"localhost", "127.0.0.1"};
	struct vouch_ca_subject subj = {VOUCH_CA_PROFILE_TLS_SERVER, "localhost", hosts, 2};
	struct vouch_ca_issued is;
	struct vouch_ca_issued device;
	struct vouch_key pub;
	struct vouch_key priv;
	struct vouch_p11 *admin_token = NULL;
	struct vouch_ca *ca = NULL;
	char pin[256];
	char so_pin[256];
	EVP_PKEY *dev_key = keygen("P-256");
	size_t len;
	uint8_t *csr = make_csr(dev_key, dev_key, &len);

	vouch_key_init(&pub);
	vouch_key_init(&priv);
	assert_int_equal(
	    vouch_p11_key_generate(s->p11, VOUCH_KEY_P256, VOUCH_CA_KEY_TLS, tls_id, 1), VOUCH_OK);
	assert_int_equal(vouch_p11_key_load_public(s->p11, VOUCH_CA_KEY_TLS, &pub), VOUCH_OK);
	assert_int_equal(vouch_ca_issue_key(s->ca, &pub, &subj, &is), VOUCH_OK);
	assert_ee_common(s, &is);
	assert_int_equal(eku_of(is.cert), XKU_SSL_SERVER);
	assert_int_equal(X509_check_host(is.cert, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(is.cert, "127.0.0.1", 0), 1);
	assert_int_equal(verify_issued(s, &is, X509_PURPOSE_SSL_SERVER, NULL, 0), X509_V_OK);
	vouch_ca_issued_clear(&is);
	/* The private handle works as well (its public half is read through OpenSSL). */
	assert_int_equal(vouch_p11_key_load(s->p11, VOUCH_CA_KEY_TLS, &priv), VOUCH_OK);
	assert_int_equal(vouch_ca_issue_key(s->ca, &priv, &subj, &is), VOUCH_OK);
	assert_issued_key(&is, pub.h.ptr);
	vouch_ca_issued_clear(&is);
	vouch_key_clear(&priv);
	vouch_key_clear(&pub);

	/* The admin: its own token in the same SoftHSM2 store; clientAuth, CN=admin. */
	assert_int_equal(mkdir(site_file(s, "admin"), 0700), 0);
	snprintf(pin, sizeof(pin), "%s/admin/token.pin", s->dir);
	snprintf(so_pin, sizeof(so_pin), "%s/admin/token.so-pin", s->dir);
	assert_int_equal(vouch_p11_token_create(NULL, VOUCH_CA_ADMIN_TOKEN, pin, so_pin), VOUCH_OK);
	assert_int_equal(vouch_p11_open(&admin_token, NULL, VOUCH_CA_ADMIN_TOKEN, pin), VOUCH_OK);
	assert_int_equal(
	    vouch_p11_key_generate(admin_token, VOUCH_KEY_P256, VOUCH_CA_KEY_ADMIN, admin_id, 1),
	    VOUCH_OK);
	assert_int_equal(vouch_p11_key_load_public(admin_token, VOUCH_CA_KEY_ADMIN, &pub),
	                 VOUCH_OK);
	subj = (struct vouch_ca_subject){VOUCH_CA_PROFILE_ADMIN, "admin", NULL, 0};
	assert_int_equal(vouch_ca_issue_key(s->ca, &pub, &subj, &is), VOUCH_OK);
	assert_ee_common(s, &is);
	assert_int_equal(eku_of(is.cert), XKU_SSL_CLIENT);
	assert_string_equal(is.subject, "CN=admin,O=acme");
	assert_int_equal(vouch_ca_write_pem(site_file(s, "admin/admin.pem"), &is.cert, 1),
	                 VOUCH_OK);
	/* A device that calls itself "admin" gets the same subject, but is not the admin. */
	subj.profile = VOUCH_CA_PROFILE_DEVICE;
	assert_int_equal(vouch_ca_issue_csr(s->ca, csr, len, &subj, &device), VOUCH_OK);
	assert_string_equal(device.subject, "CN=admin,O=acme");
	assert_false(vouch_ca_is_admin_cert(s->ca, is.cert)); /* not loaded by create */
	assert_int_equal(vouch_ca_open(&ca, s->dir, s->p11, &s->cfg), VOUCH_OK);
	assert_true(vouch_ca_is_admin_cert(ca, is.cert));
	assert_false(vouch_ca_is_admin_cert(ca, device.cert));
	assert_false(vouch_ca_is_admin_cert(ca, NULL));
	vouch_ca_free(ca);
	vouch_ca_issued_clear(&device);
	vouch_ca_issued_clear(&is);
	vouch_key_clear(&pub);
	vouch_p11_close(admin_token);
	free(csr);
	EVP_PKEY_free(dev_key);
}

/* ---- CRL ---- */

static X509_CRL *parse_crl(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);

	assert_non_null(crl);
	assert_ptr_equal(p, der + len);
	return crl;
}

static void issue_n(struct site *s, struct vouch_ca_issued *is, int n)
{
	EVP_PKEY *key = keygen("P-256");
	size_t len;
	uint8_t *spki = make_spki(key, &len);
	struct vouch_ca_subject subj = {VOUCH_CA_PROFILE_DEVICE, "pump-7", NULL, 0};

	for (int i = 0; i < n; i++)
		assert_int_equal(vouch_ca_issue_spki(s->ca, spki, len, &subj, &is[i]), VOUCH_OK);
	free(spki);
	EVP_PKEY_free(key);
}

static void test_crl(void **state)
{
	struct site *s = *state;
	struct vouch_ca_issued is[3];
	time_t now = time(NULL);
	struct vouch_ca_revoked revoked[2];
	uint8_t *der = NULL;
	size_t len = 0;
	uint8_t *root_der = NULL;
	size_t root_len = 0;
	X509_CRL *crl;
	X509_CRL *root_crl;
	X509_REVOKED *entry = NULL;
	ASN1_INTEGER *num;
	ASN1_ENUMERATED *reason;
	STACK_OF(X509_CRL) * crls;
	int days = 0;
	int secs = 0;

	issue_n(s, is, 3);
	revoked[0] =
	    (struct vouch_ca_revoked){is[0].serial, now - 100, VOUCH_CA_REASON_KEY_COMPROMISE};
	revoked[1] = (struct vouch_ca_revoked){is[1].serial, now - 50, VOUCH_CA_REASON_UNSPECIFIED};
	assert_int_equal(vouch_ca_crl(s->ca, VOUCH_CA_CRL_ISSUING, revoked, 2, 7, now, &der, &len),
	                 VOUCH_OK);
	crl = parse_crl(der, len);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(vouch_ca_issuing_cert(s->ca))), 1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	                               X509_get_subject_name(vouch_ca_issuing_cert(s->ca))),
	                 0);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	assert_int_equal(X509_CRL_get0_by_serial(
	                     crl, &entry, (ASN1_INTEGER *)X509_get0_serialNumber(is[0].cert)),
	                 1);
	reason = X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, NULL, NULL);
	assert_non_null(reason);
	assert_int_equal(ASN1_ENUMERATED_get(reason), 1);
	ASN1_ENUMERATED_free(reason);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_REVOKED_get0_revocationDate(entry), now - 100),
	                 0);
	assert_int_equal(X509_CRL_get0_by_serial(
	                     crl, &entry, (ASN1_INTEGER *)X509_get0_serialNumber(is[1].cert)),
	                 1);
	assert_null(X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, NULL, NULL));
	assert_int_equal(X509_CRL_get0_by_serial(
	                     crl, &entry, (ASN1_INTEGER *)X509_get0_serialNumber(is[2].cert)),
	                 0);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(num);
	assert_int_equal(ASN1_INTEGER_get(num), 7);
	ASN1_INTEGER_free(num);
	{
		AUTHORITY_KEYID *akid =
		    X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);

		assert_non_null(akid);
		assert_int_equal(
		    ASN1_OCTET_STRING_cmp(akid->keyid,
		                          X509_get0_subject_key_id(vouch_ca_issuing_cert(s->ca))),
		    0);
		AUTHORITY_KEYID_free(akid);
	}
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_CRL_get0_lastUpdate(crl),
	                                X509_CRL_get0_nextUpdate(crl)),
	                 1);
	assert_int_equal(days * 86400 + secs, 24 * 3600);

	/* The root's CRL: empty, signed by the root. */
	assert_int_equal(
	    vouch_ca_crl(s->ca, VOUCH_CA_CRL_ROOT, NULL, 0, 1, now, &root_der, &root_len),
	    VOUCH_OK);
	root_crl = parse_crl(root_der, root_len);
	assert_int_equal(X509_CRL_verify(root_crl, X509_get0_pubkey(vouch_ca_root_cert(s->ca))), 1);
	assert_null(X509_CRL_get_REVOKED(root_crl));

	/* X509_verify_cert with the CRLs: revoked is refused, the others verify, with all the
	 * chain checked (as openssl verify -crl_check_all). */
	crls = sk_X509_CRL_new_null();
	sk_X509_CRL_push(crls, crl);
	sk_X509_CRL_push(crls, root_crl);
	assert_int_equal(verify_issued(s, &is[0], X509_PURPOSE_SSL_CLIENT, crls,
	                               X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL),
	                 X509_V_ERR_CERT_REVOKED);
	assert_int_equal(
	    verify_issued(s, &is[1], X509_PURPOSE_SSL_CLIENT, crls, X509_V_FLAG_CRL_CHECK),
	    X509_V_ERR_CERT_REVOKED);
	assert_int_equal(verify_issued(s, &is[2], X509_PURPOSE_SSL_CLIENT, crls,
	                               X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL),
	                 X509_V_OK);
	sk_X509_CRL_free(crls);

	/* Refusals: bad serials, bad reasons. */
	{
		uint8_t *d = (uint8_t *)1;
		size_t l = 1;
		struct vouch_ca_revoked bad = {"xyz", now, VOUCH_CA_REASON_UNSPECIFIED};

		assert_int_equal(vouch_ca_crl(s->ca, VOUCH_CA_CRL_ISSUING, &bad, 1, 8, now, &d, &l),
		                 VOUCH_ERR_INVALID);
		assert_null(d);
		bad.serial = "00";
		assert_int_equal(vouch_ca_crl(s->ca, VOUCH_CA_CRL_ISSUING, &bad, 1, 8, now, &d, &l),
		                 VOUCH_ERR_INVALID);
		bad.serial = is[2].serial;
		bad.reason = (enum vouch_ca_reason)7;
		assert_int_equal(vouch_ca_crl(s->ca, VOUCH_CA_CRL_ISSUING, &bad, 1, 8, now, &d, &l),
		                 VOUCH_ERR_INVALID);
	}
	X509_CRL_free(crl);
	X509_CRL_free(root_crl);
	free(der);
	free(root_der);
	for (int i = 0; i < 3; i++)
		vouch_ca_issued_clear(&is[i]);
}

/* ---- OCSP ---- */

struct status_table {
	const char *good;
	const char *revoked;
	time_t revoked_at;
	unsigned calls;
	bool fail;
};

static int lookup(void *arg, const char *serial, struct vouch_ca_status *st)
{
	struct status_table *t = arg;

	t->calls++;
	if (t->fail)
		return VOUCH_ERR_IO;
	st->status = VOUCH_CA_STATUS_UNKNOWN;
	if (strcmp(serial, t->good) == 0) {
		st->status = VOUCH_CA_STATUS_GOOD;
	} else if (strcmp(serial, t->revoked) == 0) {
		st->status = VOUCH_CA_STATUS_REVOKED;
		st->revoked_at = t->revoked_at;
		st->reason = VOUCH_CA_REASON_KEY_COMPROMISE;
	}
	return VOUCH_OK;
}

static uint8_t *request_der(OCSP_REQUEST *req, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_OCSP_REQUEST(req, &der);
	uint8_t *out;

	assert_true(n > 0);
	out = malloc((size_t)n);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return out;
}

static int response_status(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	int status;

	assert_non_null(r);
	status = OCSP_response_status(r);
	OCSP_RESPONSE_free(r);
	return status;
}

static void test_ocsp(void **state)
{
	struct site *s = *state;
	struct vouch_ca_issued is[3];
	X509 *issuing = vouch_ca_issuing_cert(s->ca);
	struct status_table table;
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *ids[4];
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	X509_STORE *store = trust_root(s);
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	EVP_PKEY *foreign_key = keygen("P-256");
	X509 *foreign = X509_new();
	uint8_t *der;
	size_t der_len;
	uint8_t *out = NULL;
	size_t out_len = 0;
	const unsigned char *p;
	int ocsp_status = -1;
	time_t now = time(NULL);

	issue_n(s, is, 3);
	table = (struct status_table){is[0].serial, is[1].serial, now - 3600, 0, false};
	/* A foreign issuer: same subject name as ours, another key. */
	X509_set_subject_name(foreign, X509_get_subject_name(issuing));
	X509_set_pubkey(foreign, foreign_key);
	ids[0] = OCSP_cert_to_id(NULL, is[0].cert, issuing);         /* SHA-1 */
	ids[1] = OCSP_cert_to_id(EVP_sha256(), is[1].cert, issuing); /* SHA-256 */
	ids[2] = OCSP_cert_to_id(NULL, is[2].cert, issuing);         /* not in store */
	ids[3] = OCSP_cert_to_id(NULL, is[0].cert, foreign);         /* other CA */
	for (int i = 0; i < 4; i++)
		assert_non_null(ids[i]);
	/* Ours only: a delegated responder speaks for its own CA, and clients check that every
	 * SingleResponse is about that CA's certificates (RFC 6960 4.2.2.2). */
	for (int i = 0; i < 3; i++)
		assert_non_null(OCSP_request_add0_id(req, OCSP_CERTID_dup(ids[i])));
	assert_int_equal(OCSP_request_add1_nonce(req, NULL, 16), 1);
	der = request_der(req, &der_len);
	assert_int_equal(vouch_ca_ocsp_respond(s->ca, der, der_len, lookup, &table, &out, &out_len,
	                                       &ocsp_status),
	                 VOUCH_OK);
	assert_int_equal(ocsp_status, OCSP_RESPONSE_STATUS_SUCCESSFUL);
	assert_int_equal(table.calls, 3);
	p = out;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)out_len);
	assert_non_null(resp);
	assert_int_equal(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(resp);
	assert_non_null(bs);
	assert_int_equal(OCSP_check_nonce(req, bs), 1);
	/* Signed by the delegated responder, its certificate included, chain to our root. */
	assert_int_equal(sk_X509_num(OCSP_resp_get0_certs(bs)), 1);
	assert_int_equal(
	    X509_cmp(sk_X509_value(OCSP_resp_get0_certs(bs), 0), vouch_ca_ocsp_cert(s->ca)), 0);
	sk_X509_push(untrusted, issuing);
	assert_int_equal(OCSP_basic_verify(bs, untrusted, store, 0), 1);
	{
		int status;
		int reason;
		ASN1_GENERALIZEDTIME *rev = NULL;
		ASN1_GENERALIZEDTIME *thisupd = NULL;
		ASN1_GENERALIZEDTIME *nextupd = NULL;
		int days = 0;
		int secs = 0;

		assert_int_equal(
		    OCSP_resp_find_status(bs, ids[0], &status, &reason, &rev, &thisupd, &nextupd),
		    1);
		assert_int_equal(status, V_OCSP_CERTSTATUS_GOOD);
		assert_int_equal(OCSP_check_validity(thisupd, nextupd, 300, -1), 1);
		assert_int_equal(ASN1_TIME_diff(&days, &secs, thisupd, nextupd), 1);
		assert_int_equal(days * 86400 + secs, 3600);
		assert_int_equal(
		    OCSP_resp_find_status(bs, ids[1], &status, &reason, &rev, &thisupd, &nextupd),
		    1);
		assert_int_equal(status, V_OCSP_CERTSTATUS_REVOKED);
		assert_int_equal(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
		assert_int_equal(ASN1_TIME_cmp_time_t(rev, now - 3600), 0);
		assert_int_equal(
		    OCSP_resp_find_status(bs, ids[2], &status, &reason, &rev, &thisupd, &nextupd),
		    1);
		assert_int_equal(status, V_OCSP_CERTSTATUS_UNKNOWN);
	}
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	free(out);
	free(der);

	/* Another CA's certificate (same issuer name, other key): unknown, without a lookup. */
	{
		OCSP_REQUEST *other = OCSP_REQUEST_new();
		int status = -1;
		int reason;
		ASN1_GENERALIZEDTIME *rev = NULL;
		ASN1_GENERALIZEDTIME *thisupd = NULL;
		ASN1_GENERALIZEDTIME *nextupd = NULL;

		assert_non_null(OCSP_request_add0_id(other, OCSP_CERTID_dup(ids[3])));
		der = request_der(other, &der_len);
		table.calls = 0;
		assert_int_equal(vouch_ca_ocsp_respond(s->ca, der, der_len, lookup, &table, &out,
		                                       &out_len, &ocsp_status),
		                 VOUCH_OK);
		assert_int_equal(ocsp_status, OCSP_RESPONSE_STATUS_SUCCESSFUL);
		assert_int_equal(table.calls, 0);
		p = out;
		resp = d2i_OCSP_RESPONSE(NULL, &p, (long)out_len);
		bs = OCSP_response_get1_basic(resp);
		assert_non_null(bs);
		assert_int_equal(
		    OCSP_resp_find_status(bs, ids[3], &status, &reason, &rev, &thisupd, &nextupd),
		    1);
		assert_int_equal(status, V_OCSP_CERTSTATUS_UNKNOWN);
		/* The signature itself is the responder's. */
		assert_int_equal(OCSP_basic_verify(bs, untrusted, store, OCSP_NOCHECKS), 1);
		OCSP_BASICRESP_free(bs);
		OCSP_RESPONSE_free(resp);
		OCSP_REQUEST_free(other);
		free(out);
		free(der);
	}

	/* A request without a nonce gets a response without one. */
	{
		OCSP_REQUEST *plain = OCSP_REQUEST_new();

		assert_non_null(OCSP_request_add0_id(plain, OCSP_CERTID_dup(ids[0])));
		der = request_der(plain, &der_len);
		assert_int_equal(vouch_ca_ocsp_respond(s->ca, der, der_len, lookup, &table, &out,
		                                       &out_len, NULL),
		                 VOUCH_OK);
		p = out;
		resp = d2i_OCSP_RESPONSE(NULL, &p, (long)out_len);
		bs = OCSP_response_get1_basic(resp);
		assert_int_equal(OCSP_check_nonce(plain, bs), 2);
		OCSP_BASICRESP_free(bs);
		OCSP_RESPONSE_free(resp);
		free(out);
		/* The lookup failing: internalError, nothing signed. */
		table.fail = true;
		assert_int_equal(vouch_ca_ocsp_respond(s->ca, der, der_len, lookup, &table, &out,
		                                       &out_len, &ocsp_status),
		                 VOUCH_OK);
		assert_int_equal(ocsp_status, OCSP_RESPONSE_STATUS_INTERNALERROR);
		assert_int_equal(response_status(out, out_len), OCSP_RESPONSE_STATUS_INTERNALERROR);
		table.fail = false;
		free(out);
		/* Trailing bytes: malformed. */
		der = realloc(der, der_len + 1);
		der[der_len] = 0;
		assert_int_equal(vouch_ca_ocsp_respond(s->ca, der, der_len + 1, lookup, &table,
		                                       &out, &out_len, &ocsp_status),
		                 VOUCH_OK);
		assert_int_equal(ocsp_status, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
		free(out);
		free(der);
		OCSP_REQUEST_free(plain);
	}

	/* Malformed, oversized, too many CertIDs: malformedRequest. */
	{
		uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
		uint8_t *big = calloc(1, VOUCH_CA_OCSP_REQUEST_MAX + 1);
		OCSP_REQUEST *many = OCSP_REQUEST_new();

		assert_int_equal(vouch_ca_ocsp_respond(s->ca, junk, sizeof(junk), lookup, &table,
		                                       &out, &out_len, &ocsp_status),
		                 VOUCH_OK);
		assert_int_equal(response_status(out, out_len),
		                 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
		free(out);
		assert_int_equal(vouch_ca_ocsp_respond(s->ca, big, VOUCH_CA_OCSP_REQUEST_MAX + 1,
		                                       lookup, &table, &out, &out_len,
		                                       &ocsp_status),
		                 VOUCH_OK);
		assert_int_equal(ocsp_status, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
		free(out);
		assert_int_equal(vouch_ca_ocsp_respond(s->ca, big, 0, lookup, &table, &out,
		                                       &out_len, &ocsp_status),
		                 VOUCH_OK);
		assert_int_equal(ocsp_status, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
		free(out);
		free(big);
		for (int i = 0; i < VOUCH_CA_OCSP_MAX_IDS + 1; i++)
			OCSP_request_add0_id(many, OCSP_CERTID_dup(ids[0]));
		der = request_der(many, &der_len);
		assert_int_equal(vouch_ca_ocsp_respond(s->ca, der, der_len, lookup, &table, &out,
		                                       &out_len, &ocsp_status),
		                 VOUCH_OK);
		assert_int_equal(ocsp_status, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
		free(out);
		free(der);
		OCSP_REQUEST_free(many);
	}
	for (int i = 0; i < 4; i++)
		OCSP_CERTID_free(ids[i]);
	OCSP_REQUEST_free(req);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
	X509_free(foreign);
	EVP_PKEY_free(foreign_key);
	for (int i = 0; i < 3; i++)
		vouch_ca_issued_clear(&is[i]);
}

/* ---- encodings ---- */

static void test_encodings(void **state)
{
	struct site *s = *state;
	uint8_t *der = NULL;
	size_t len = 0;
	char *b64 = NULL;
	size_t b64_len = 0;
	uint8_t *back = NULL;
	size_t back_len = 0;
	const unsigned char *p;
	PKCS7 *p7;
	STACK_OF(ASN1_TYPE) * attrs;
	enum vouch_ca_profile prof;
	enum vouch_ca_reason reason;
	char *pem = NULL;
	size_t pem_len = 0;

	/* EST cacerts: certs-only SignedData of issuing + root, no content, no signers. */
	assert_int_equal(vouch_ca_cacerts(s->ca, &der, &len), VOUCH_OK);
	p = der;
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	assert_non_null(p7);
	assert_ptr_equal(p, der + len);
	assert_true(PKCS7_type_is_signed(p7));
	assert_int_equal(sk_X509_num(p7->d.sign->cert), 2);
	assert_int_equal(X509_cmp(sk_X509_value(p7->d.sign->cert, 0), vouch_ca_issuing_cert(s->ca)),
	                 0);
	assert_int_equal(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 0);
	assert_true(PKCS7_type_is_data(p7->d.sign->contents));
	assert_null(p7->d.sign->contents->d.data);
	PKCS7_free(p7);

	/* Base64 round trip, 64 columns. */
	assert_int_equal(vouch_ca_base64_encode(der, len, &b64, &b64_len), VOUCH_OK);
	assert_int_equal(strlen(b64), b64_len);
	assert_int_equal(strchr(b64, '\n') - b64, 64);
	assert_int_equal(vouch_ca_base64_decode(b64, b64_len, 65536, &back, &back_len), VOUCH_OK);
	assert_int_equal(back_len, len);
	assert_memory_equal(back, der, len);
	free(back);
	assert_int_equal(vouch_ca_base64_decode(b64, b64_len, len - 1, &back, &back_len),
	                 VOUCH_ERR_X509_TOO_LARGE);
	assert_null(back);
	assert_int_equal(vouch_ca_base64_decode(b64, b64_len, 100, &back, &back_len),
	                 VOUCH_ERR_X509_TOO_LARGE);
	assert_int_equal(vouch_ca_base64_decode("!!!!", 4, 100, &back, &back_len),
	                 VOUCH_ERR_X509_MALFORMED);
	assert_int_equal(vouch_ca_base64_decode("", 0, 100, &back, &back_len),
	                 VOUCH_ERR_X509_MALFORMED);
	assert_int_equal(vouch_ca_base64_decode("\r\n", 2, 100, &back, &back_len),
	                 VOUCH_ERR_X509_MALFORMED);
	assert_int_equal(vouch_ca_base64_decode("aGVsbG8=\r\n", 10, 100, &back, &back_len),
	                 VOUCH_OK);
	assert_int_equal(back_len, 5);
	assert_memory_equal(back, "hello", 5);
	free(back);
	free(b64);
	free(der);

	/* One certificate, as simpleenroll answers. */
	{
		X509 *one = vouch_ca_root_cert(s->ca);

		assert_int_equal(vouch_ca_certs_only(&one, 1, &der, &len), VOUCH_OK);
		p = der;
		p7 = d2i_PKCS7(NULL, &p, (long)len);
		assert_int_equal(sk_X509_num(p7->d.sign->cert), 1);
		PKCS7_free(p7);
		free(der);
		assert_int_equal(vouch_ca_certs_only(&one, 0, &der, &len), VOUCH_ERR_INVALID);
	}

	/* csrattrs: ecdsa-with-SHA256, an Attribute id-ecPublicKey { prime256v1 }, id-Ed25519. */
	assert_int_equal(vouch_ca_csrattrs(&der, &len), VOUCH_OK);
	p = der;
	attrs = d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)len);
	assert_non_null(attrs);
	assert_ptr_equal(p, der + len);
	assert_int_equal(sk_ASN1_TYPE_num(attrs), 3);
	assert_int_equal(ASN1_TYPE_get(sk_ASN1_TYPE_value(attrs, 0)), V_ASN1_OBJECT);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_TYPE_value(attrs, 0)->value.object),
	                 NID_ecdsa_with_SHA256);
	assert_int_equal(ASN1_TYPE_get(sk_ASN1_TYPE_value(attrs, 1)), V_ASN1_SEQUENCE);
	{
		ASN1_STRING *seq = sk_ASN1_TYPE_value(attrs, 1)->value.sequence;
		const unsigned char *q = ASN1_STRING_get0_data(seq);
		X509_ATTRIBUTE *attr = d2i_X509_ATTRIBUTE(NULL, &q, ASN1_STRING_length(seq));
		ASN1_TYPE *v;

		assert_non_null(attr);
		assert_int_equal(OBJ_obj2nid(X509_ATTRIBUTE_get0_object(attr)),
		                 NID_X9_62_id_ecPublicKey);
		v = X509_ATTRIBUTE_get0_type(attr, 0);
		assert_int_equal(OBJ_obj2nid(v->value.object), NID_X9_62_prime256v1);
		X509_ATTRIBUTE_free(attr);
	}
	assert_int_equal(OBJ_obj2nid(sk_ASN1_TYPE_value(attrs, 2)->value.object), NID_ED25519);
	sk_ASN1_TYPE_pop_free(attrs, ASN1_TYPE_free);
	free(der);

	/* PEM and DER of a certificate. */
	assert_int_equal(vouch_ca_cert_pem(vouch_ca_root_cert(s->ca), &pem, &pem_len), VOUCH_OK);
	assert_int_equal(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28), 0);
	assert_int_equal(strlen(pem), pem_len);
	free(pem);
	assert_int_equal(vouch_ca_cert_der(vouch_ca_root_cert(s->ca), &der, &len), VOUCH_OK);
	assert_int_equal(len, (size_t)i2d_X509(vouch_ca_root_cert(s->ca), NULL));
	free(der);

	/* Names. */
	assert_int_equal(vouch_ca_profile_parse("short-lived", &prof), VOUCH_OK);
	assert_int_equal(prof, VOUCH_CA_PROFILE_SHORT_LIVED);
	assert_string_equal(vouch_ca_profile_name(VOUCH_CA_PROFILE_SERVICE), "service");
	assert_int_equal(vouch_ca_profile_parse("admin", &prof), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_ca_profile_parse("tls-server", &prof), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_ca_profile_parse("Device", &prof), VOUCH_ERR_INVALID);
	for (int i = 0; i <= 10; i++) {
		const char *name = vouch_ca_reason_name((enum vouch_ca_reason)i);

		if (i == 7) {
			assert_string_equal(name, "unknown");
			continue;
		}
		assert_int_equal(vouch_ca_reason_parse(name, &reason), VOUCH_OK);
		assert_int_equal(reason, i);
	}
	assert_int_equal(vouch_ca_reason_parse("keyCompromise", &reason), VOUCH_OK);
	assert_int_equal(reason, VOUCH_CA_REASON_KEY_COMPROMISE);
	assert_int_equal(vouch_ca_reason_parse("KeyCompromise", &reason), VOUCH_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_hierarchy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issue_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issue_profiles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issue_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serials_unique, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issue_token_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crl, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ocsp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_encodings, setup, teardown),
	};

	vouch_log_init("test_ca", VOUCH_LOG_ERROR, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
