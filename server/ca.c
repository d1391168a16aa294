/*
 * vouchd's certificate authority on OpenSSL 3: every structure is built with OpenSSL's ASN.1
 * types (never by hand), every signature is made by a key in the PKCS#11 token.
 *
 * Serial numbers: 16 octets from the CSPRNG with the top bit of the first cleared (so the
 * INTEGER is positive and needs no 0x00 sign octet) and a first octet of zero redrawn (so the
 * encoding is always exactly 16 octets, minimal DER). That leaves ~126.99 bits of randomness,
 * well above the 64 bits CA/B Forum asks for; the store's unique index catches the impossible
 * collision.
 *
 * The issuance hot path is one signature verification (the CSR's proof of possession) and one
 * signature in the token; everything constant per CA (names, URLs, extensions, the AKI) is built
 * once at open and copied into each certificate.
 */
#define _DEFAULT_SOURCE /* timegm, strdup */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "vouch/log.h"

#define DAY_SECONDS      86400L
#define ROOT_DAYS        7305 /* 20 years */
#define ISSUING_DAYS     3653 /* 10 years */
#define BACKDATE_SECONDS 60   /* tolerate clients whose clocks run a little behind */
#define SITE_MAX         64   /* ub-organization-name */
#define URL_MAX          512
#define DNS_NAME_MAX     253
#define DNS_LABEL_MAX    63
#define SHA1_LEN         20
#define SERIAL_BYTES_MAX 20
#define CERT_NAME_CN_MAX 64

enum {
	EXT_BC_EE,             /* basicConstraints critical CA:FALSE */
	EXT_KU_EC,             /* keyUsage critical digitalSignature, keyAgreement */
	EXT_KU_SIGN,           /* keyUsage critical digitalSignature */
	EXT_EKU_CLIENT,        /* clientAuth */
	EXT_EKU_SERVER_CLIENT, /* serverAuth, clientAuth */
	EXT_EKU_SERVER,        /* serverAuth */
	EXT_AIA,               /* OCSP + caIssuers of the issuing CA */
	EXT_CDP,               /* the issuing CA's CRL */
	EXT_AKI,               /* keyid of the issuing CA */
	EXT_COUNT
};

struct vouch_ca {
	struct vouch_p11 *p11;
	struct vouch_key root_key;
	struct vouch_key issuing_key;
	struct vouch_key ocsp_key;
	X509 *root;
	X509 *issuing;
	X509 *ocsp;
	X509 *admin; /* optional */
	char *site;
	char *url;
	unsigned device_days;
	unsigned service_days;
	unsigned phone_days;
	unsigned short_lived_hours;
	unsigned crl_hours;
	unsigned ocsp_minutes;
	X509_EXTENSION *ext[EXT_COUNT];
	X509_EXTENSION *root_aki; /* for the root's CRL */
	time_t issuing_not_after;
	/* CertIDs of the issuing CA (no serial) under the hashes OCSP clients use. */
	OCSP_CERTID *ocsp_id_sha1;
	OCSP_CERTID *ocsp_id_sha256;
	EVP_PKEY *p256_params; /* template for importing P-256 points */
};

/* ---- small helpers ---- */

/* A refusal of bad input is not an OpenSSL failure worth logging: clear the queue. */
static void drop_openssl_errors(void)
{
	ERR_clear_error();
}

static void log_openssl(const char *what)
{
	vouch_log(VOUCH_LOG_ERROR, "ca.error", "call", what, NULL);
	vouch_log_openssl_errors("ca.error");
}

static void hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* i2d into a malloc()ed buffer (not OPENSSL_malloc: callers free() what we return). The
 * i2d_*_const wrappers below give each encoder this one signature. */
static int i2d_malloc(int (*fn)(const void *, unsigned char **), const void *obj, uint8_t **der,
                      size_t *der_len)
{
	int n;
	unsigned char *p;

	*der = NULL;
	*der_len = 0;
	n = fn(obj, NULL);
	if (n <= 0) {
		log_openssl("i2d");
		return VOUCH_ERR_CRYPTO;
	}
	*der = malloc((size_t)n);
	if (*der == NULL)
		return VOUCH_ERR_NOMEM;
	p = *der;
	if (fn(obj, &p) != n) {
		free(*der);
		*der = NULL;
		log_openssl("i2d");
		return VOUCH_ERR_CRYPTO;
	}
	*der_len = (size_t)n;
	return VOUCH_OK;
}

static int i2d_x509_const(const void *x, unsigned char **out)
{
	return i2d_X509((X509 *)x, out);
}

static int i2d_crl_const(const void *x, unsigned char **out)
{
	return i2d_X509_CRL((X509_CRL *)x, out);
}

static int i2d_ocsp_resp_const(const void *x, unsigned char **out)
{
	return i2d_OCSP_RESPONSE((OCSP_RESPONSE *)x, out);
}

static int i2d_pkcs7_const(const void *x, unsigned char **out)
{
	return i2d_PKCS7((PKCS7 *)x, out);
}

static int i2d_seq_any_const(const void *x, unsigned char **out)
{
	return i2d_ASN1_SEQUENCE_ANY(x, out);
}

/* ---- names: profiles, reasons ---- */

static const char *const profile_names[] = {
    [VOUCH_CA_PROFILE_DEVICE] = "device",         [VOUCH_CA_PROFILE_SERVICE] = "service",
    [VOUCH_CA_PROFILE_PHONE] = "phone",           [VOUCH_CA_PROFILE_SHORT_LIVED] = "short-lived",
    [VOUCH_CA_PROFILE_TLS_SERVER] = "tls-server", [VOUCH_CA_PROFILE_ADMIN] = "admin",
};

const char *vouch_ca_profile_name(enum vouch_ca_profile profile)
{
	if ((unsigned)profile >= VOUCH_ARRAY_LEN(profile_names))
		return "unknown";
	return profile_names[profile];
}

int vouch_ca_profile_parse(const char *name, enum vouch_ca_profile *out)
{
	if (out != NULL)
		*out = VOUCH_CA_PROFILE_DEVICE;
	if (name == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	for (unsigned i = VOUCH_CA_PROFILE_DEVICE; i <= VOUCH_CA_PROFILE_SHORT_LIVED; i++) {
		if (strcmp(name, profile_names[i]) == 0) {
			*out = (enum vouch_ca_profile)i;
			return VOUCH_OK;
		}
	}
	return VOUCH_ERR_INVALID;
}

static const char *const reason_names[] = {
    [VOUCH_CA_REASON_UNSPECIFIED] = "unspecified",
    [VOUCH_CA_REASON_KEY_COMPROMISE] = "keyCompromise",
    [VOUCH_CA_REASON_CA_COMPROMISE] = "cACompromise",
    [VOUCH_CA_REASON_AFFILIATION_CHANGED] = "affiliationChanged",
    [VOUCH_CA_REASON_SUPERSEDED] = "superseded",
    [VOUCH_CA_REASON_CESSATION_OF_OPERATION] = "cessationOfOperation",
    [VOUCH_CA_REASON_CERTIFICATE_HOLD] = "certificateHold",
    [VOUCH_CA_REASON_REMOVE_FROM_CRL] = "removeFromCRL",
    [VOUCH_CA_REASON_PRIVILEGE_WITHDRAWN] = "privilegeWithdrawn",
    [VOUCH_CA_REASON_AA_COMPROMISE] = "aACompromise",
};

static bool reason_valid(enum vouch_ca_reason reason)
{
	return (unsigned)reason < VOUCH_ARRAY_LEN(reason_names) && reason_names[reason] != NULL;
}

const char *vouch_ca_reason_name(enum vouch_ca_reason reason)
{
	return reason_valid(reason) ? reason_names[reason] : "unknown";
}

int vouch_ca_reason_parse(const char *name, enum vouch_ca_reason *out)
{
	if (out != NULL)
		*out = VOUCH_CA_REASON_UNSPECIFIED;
	if (name == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	for (unsigned i = 0; i < VOUCH_ARRAY_LEN(reason_names); i++) {
		if (reason_names[i] != NULL && strcmp(name, reason_names[i]) == 0) {
			*out = (enum vouch_ca_reason)i;
			return VOUCH_OK;
		}
	}
	return VOUCH_ERR_INVALID;
}

/* ---- issued certificates ---- */

void vouch_ca_issued_init(struct vouch_ca_issued *issued)
{
	if (issued != NULL)
		memset(issued, 0, sizeof(*issued));
}

void vouch_ca_issued_clear(struct vouch_ca_issued *issued)
{
	if (issued == NULL)
		return;
	X509_free(issued->cert);
	free(issued->der);
	free(issued->subject);
	memset(issued, 0, sizeof(*issued));
}

int vouch_ca_issued_decode(const struct vouch_ca_issued *issued, X509 **out)
{
	const unsigned char *p;

	if (out != NULL)
		*out = NULL;
	if (issued == NULL || issued->der == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	p = issued->der;
	*out = d2i_X509(NULL, &p, (long)issued->der_len);
	if (*out == NULL) {
		log_openssl("d2i_X509");
		return VOUCH_ERR_CRYPTO;
	}
	return VOUCH_OK;
}

/* ---- input checks ---- */

static bool valid_dns_name(const char *s)
{
	size_t len = strlen(s);
	size_t label = 0;

	if (len == 0 || len > DNS_NAME_MAX || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > DNS_LABEL_MAX)
			return false;
	}
	return s[len - 1] != '-';
}

/* A CN: 1..64 bytes, no control characters (UTF-8 validity is checked by OpenSSL). */
static bool valid_id(const char *id)
{
	size_t len;

	if (id == NULL)
		return false;
	len = strlen(id);
	if (len == 0 || len > VOUCH_CA_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static int check_subject(const struct vouch_ca_subject *subj)
{
	if (subj == NULL || (unsigned)subj->profile >= VOUCH_ARRAY_LEN(profile_names) ||
	    !valid_id(subj->id) || subj->sans_count > VOUCH_CA_SANS_MAX ||
	    (subj->sans_count > 0 && subj->sans == NULL))
		return VOUCH_ERR_INVALID;
	if (subj->profile == VOUCH_CA_PROFILE_TLS_SERVER && subj->sans_count == 0)
		return VOUCH_ERR_INVALID;
	for (size_t i = 0; i < subj->sans_count; i++) {
		if (subj->sans[i] == NULL)
			return VOUCH_ERR_INVALID;
	}
	return VOUCH_OK;
}

/* ---- public keys and requests, decoded without OpenSSL 3.0's key decoders ----
 *
 * d2i_X509_REQ and X509_set_pubkey each make OpenSSL 3.0 build a key decoder (and an encoder)
 * for every call, about 0.3 ms apiece: three times the cost of the signature check that is
 * the real work of an issuance. So a request is decoded with ASN.1 templates of our own that
 * leave the key as its algorithm and bits; the key is imported from those bits directly, and
 * the same algorithm and bits go into the certificate. OpenSSL's template macros need typedef
 * names, hence the typedefs below (file-local).
 */
typedef struct {
	X509_ALGOR *algor;
	ASN1_BIT_STRING *public_key;
} CA_SPKI;

typedef struct {
	ASN1_ENCODING enc; /* the DER the signature covers */
	ASN1_INTEGER *version;
	X509_NAME *subject;
	CA_SPKI *spki;
	STACK_OF(X509_ATTRIBUTE) * attributes;
} CA_CSR_INFO;

typedef struct {
	CA_CSR_INFO *info;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *signature;
} CA_CSR;

/* The template macros are not statements clang-format understands. */
/* clang-format off */
ASN1_SEQUENCE(CA_SPKI) = {
	ASN1_SIMPLE(CA_SPKI, algor, X509_ALGOR),
	ASN1_SIMPLE(CA_SPKI, public_key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CA_SPKI)

ASN1_SEQUENCE_enc(CA_CSR_INFO, enc, NULL) = {
	ASN1_SIMPLE(CA_CSR_INFO, version, ASN1_INTEGER),
	ASN1_SIMPLE(CA_CSR_INFO, subject, X509_NAME),
	ASN1_SIMPLE(CA_CSR_INFO, spki, CA_SPKI),
	/* As OpenSSL's own X509_REQ_INFO: some requesters leave the attributes out. */
	ASN1_IMP_SET_OF_OPT(CA_CSR_INFO, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END_ref(CA_CSR_INFO, CA_CSR_INFO)

ASN1_SEQUENCE(CA_CSR) = {
	ASN1_SIMPLE(CA_CSR, info, CA_CSR_INFO),
	ASN1_SIMPLE(CA_CSR, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(CA_CSR, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CA_CSR)

/* A public key that passed the policy: its algorithm, its bits, and an EVP_PKEY of it. */
struct raw_key {
	int nid; /* NID_X9_62_id_ecPublicKey (P-256) or NID_ED25519 */
	const unsigned char *bits;
	int bits_len;
	EVP_PKEY *pkey;
};
/* clang-format on */

static bool bit_string_whole(const ASN1_BIT_STRING *bs)
{
	return (bs->flags & ASN1_STRING_FLAG_BITS_LEFT) == 0 || (bs->flags & 0x07) == 0;
}

/* The P-256 group as a parameters-only key: a copy of it with the point set is ~4x cheaper
 * than a fresh import, which rebuilds the group every time. */
static EVP_PKEY *p256_params_new(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM params[2];
	EVP_PKEY *pkey = NULL;

	if (ctx == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	                                             (char *)SN_X9_62_prime256v1, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEY_PARAMETERS, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static int p256_pkey(EVP_PKEY *params, const unsigned char *point, int len, EVP_PKEY **out)
{
	EVP_PKEY *pkey = EVP_PKEY_dup(params);

	*out = NULL;
	if (pkey == NULL)
		return VOUCH_ERR_NOMEM;
	/* Decoding the point refuses one that is not on the curve; P-256 has cofactor 1, so that
	 * is the whole of public-key validation (no order check needed). */
	if (EVP_PKEY_set1_encoded_public_key(pkey, point, (size_t)len) != 1) {
		EVP_PKEY_free(pkey);
		return VOUCH_ERR_X509_MALFORMED;
	}
	*out = pkey;
	return VOUCH_OK;
}

/*
 * Key type policy: P-256 (named curve, uncompressed point) or Ed25519, anything else refused by
 * policy. A point off the curve or of the wrong length is malformed. On success key->pkey is
 * the caller's.
 */
static int spki_import(const struct vouch_ca *ca, const CA_SPKI *spki, struct raw_key *key)
{
	const ASN1_OBJECT *alg = NULL;
	const void *param = NULL;
	int ptype = 0;
	int len;
	const unsigned char *bits;

	memset(key, 0, sizeof(*key));
	X509_ALGOR_get0(&alg, &ptype, &param, spki->algor);
	if (!bit_string_whole(spki->public_key))
		return VOUCH_ERR_X509_MALFORMED;
	bits = ASN1_STRING_get0_data(spki->public_key);
	len = ASN1_STRING_length(spki->public_key);
	key->nid = OBJ_obj2nid(alg);
	key->bits = bits;
	key->bits_len = len;
	switch (key->nid) {
	case NID_X9_62_id_ecPublicKey:
		if (ptype != V_ASN1_OBJECT || OBJ_obj2nid(param) != NID_X9_62_prime256v1)
			return VOUCH_ERR_X509_KEY_POLICY; /* another curve, or explicit parameters
			                                   */
		/* Compressed points are allowed by RFC 5480 but not taken here (nor by COSE). */
		if (len == VOUCH_P256_POINT_LEN / 2 + 1 && (bits[0] == 0x02 || bits[0] == 0x03))
			return VOUCH_ERR_X509_KEY_POLICY;
		if (len != VOUCH_P256_POINT_LEN || bits[0] != 0x04)
			return VOUCH_ERR_X509_MALFORMED;
		return p256_pkey(ca->p256_params, bits, len, &key->pkey);
	case NID_ED25519:
		/* RFC 8410 3: the parameters MUST be absent. */
		if (ptype != V_ASN1_UNDEF || len != VOUCH_ED25519_KEY_LEN)
			return VOUCH_ERR_X509_MALFORMED;
		key->pkey =
		    EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, bits, (size_t)len);
		return key->pkey != NULL ? VOUCH_OK : VOUCH_ERR_X509_MALFORMED;
	default:
		return VOUCH_ERR_X509_KEY_POLICY;
	}
}

/* The request's own signature, by the key it carries (proof of possession). */
static int csr_verify(const CA_CSR *csr, const struct raw_key *key)
{
	const ASN1_OBJECT *alg = NULL;
	const void *param = NULL;
	int ptype = 0;
	const char *md = NULL;
	EVP_MD_CTX *ctx;
	int rc = VOUCH_ERR_VERIFY;

	X509_ALGOR_get0(&alg, &ptype, &param, csr->sig_alg);
	/* RFC 5758 3.2 and RFC 8410 3: no parameters. */
	if (ptype != V_ASN1_UNDEF || !bit_string_whole(csr->signature))
		return VOUCH_ERR_X509_MALFORMED;
	switch (OBJ_obj2nid(alg)) {
	case NID_ecdsa_with_SHA256:
		md = "SHA256";
		break;
	case NID_ecdsa_with_SHA384:
		md = "SHA384";
		break;
	case NID_ecdsa_with_SHA512:
		md = "SHA512";
		break;
	case NID_ED25519:
		md = NULL;
		break;
	default:
		return VOUCH_ERR_VERIFY;
	}
	if ((md != NULL) != (key->nid == NID_X9_62_id_ecPublicKey))
		return VOUCH_ERR_VERIFY; /* an ECDSA signature from an EdDSA key, or the reverse */
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return VOUCH_ERR_NOMEM;
	if (EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, key->pkey, NULL) == 1 &&
	    EVP_DigestVerify(ctx, ASN1_STRING_get0_data(csr->signature),
	                     (size_t)ASN1_STRING_length(csr->signature), csr->info->enc.enc,
	                     (size_t)csr->info->enc.len) == 1)
		rc = VOUCH_OK;
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Put the key's algorithm and bits into the certificate as they are: no re-encoding. */
static int set_raw_pubkey(X509 *x, const struct raw_key *key)
{
	ASN1_OBJECT *curve = NULL;
	unsigned char *bits = OPENSSL_memdup(key->bits, (size_t)key->bits_len);

	if (bits == NULL)
		return VOUCH_ERR_NOMEM;
	if (key->nid == NID_X9_62_id_ecPublicKey)
		curve = OBJ_nid2obj(NID_X9_62_prime256v1);
	if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), OBJ_nid2obj(key->nid),
	                           curve != NULL ? V_ASN1_OBJECT : V_ASN1_UNDEF, curve, bits,
	                           key->bits_len) != 1) {
		OPENSSL_free(bits);
		return VOUCH_ERR_CRYPTO;
	}
	return VOUCH_OK;
}

/* ---- serials ---- */

static int random_serial(uint8_t serial[VOUCH_CA_SERIAL_LEN])
{
	int rc = VOUCH_ERR_INTERNAL;

	do {
		rc = vouch_random(serial, VOUCH_CA_SERIAL_LEN);
		if (rc != VOUCH_OK)
			return rc;
		serial[0] &= 0x7f;
	} while (serial[0] == 0);
	return VOUCH_OK;
}

static int set_serial(X509 *x, char hex[VOUCH_CA_SERIAL_HEX_MAX])
{
	uint8_t serial[VOUCH_CA_SERIAL_LEN];
	int rc = random_serial(serial);

	if (rc != VOUCH_OK)
		return rc;
	/* An ASN1_INTEGER holds the magnitude; ours has no sign octet to add. */
	if (ASN1_STRING_set(X509_get_serialNumber(x), serial, sizeof(serial)) != 1)
		return VOUCH_ERR_NOMEM;
	if (hex != NULL)
		hex_encode(serial, sizeof(serial), hex);
	return VOUCH_OK;
}

int vouch_ca_serial_hex(const X509 *cert, char out[VOUCH_CA_SERIAL_HEX_MAX])
{
	const ASN1_INTEGER *ai;
	int len;

	if (out != NULL)
		out[0] = '\0';
	if (cert == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	ai = X509_get0_serialNumber(cert);
	len = ASN1_STRING_length(ai);
	if (ASN1_STRING_type(ai) != V_ASN1_INTEGER || len <= 0 || len > SERIAL_BYTES_MAX)
		return VOUCH_ERR_X509_MALFORMED;
	hex_encode(ASN1_STRING_get0_data(ai), (size_t)len, out);
	return VOUCH_OK;
}

/* Hex serial (as we print them) to an ASN1_INTEGER; 1..40 digits, not zero. */
static ASN1_INTEGER *serial_from_hex(const char *hex)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	size_t len;

	if (hex == NULL)
		return NULL;
	len = strlen(hex);
	if (len == 0 || len > 2 * SERIAL_BYTES_MAX || strspn(hex, "0123456789abcdefABCDEF") != len)
		return NULL;
	if (BN_hex2bn(&bn, hex) != (int)len || BN_is_zero(bn)) {
		BN_free(bn);
		drop_openssl_errors();
		return NULL;
	}
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return ai;
}

/* ---- extensions built once ---- */

static X509_EXTENSION *conf_ext(int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, nid, value);

	if (ext == NULL)
		log_openssl("X509V3_EXT_conf_nid");
	return ext;
}

static GENERAL_NAME *uri_name(const char *base, const char *path)
{
	char url[URL_MAX];
	GENERAL_NAME *gn;
	ASN1_IA5STRING *ia5;
	int n = snprintf(url, sizeof(url), "%s%s", base, path);

	if (n < 0 || (size_t)n >= sizeof(url))
		return NULL;
	gn = GENERAL_NAME_new();
	ia5 = ASN1_IA5STRING_new();
	if (gn == NULL || ia5 == NULL || ASN1_STRING_set(ia5, url, n) != 1) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(ia5);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, GEN_URI, ia5);
	return gn;
}

static ACCESS_DESCRIPTION *access_desc(int method_nid, const char *base, const char *path)
{
	ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
	GENERAL_NAME *gn = uri_name(base, path);

	if (ad == NULL || gn == NULL) {
		ACCESS_DESCRIPTION_free(ad);
		GENERAL_NAME_free(gn);
		return NULL;
	}
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(method_nid);
	GENERAL_NAME_free(ad->location);
	ad->location = gn;
	return ad;
}

/* authorityInfoAccess: OCSP (when ocsp is true) and caIssuers. */
static X509_EXTENSION *aia_ext(const char *base, bool ocsp, const char *ca_issuers_path)
{
	AUTHORITY_INFO_ACCESS *aia = AUTHORITY_INFO_ACCESS_new();
	ACCESS_DESCRIPTION *ad;
	X509_EXTENSION *ext = NULL;

	if (aia == NULL)
		return NULL;
	if (ocsp) {
		ad = access_desc(NID_ad_OCSP, base, "/ocsp");
		if (ad == NULL || sk_ACCESS_DESCRIPTION_push(aia, ad) <= 0) {
			ACCESS_DESCRIPTION_free(ad);
			goto out_free_aia;
		}
	}
	ad = access_desc(NID_ad_ca_issuers, base, ca_issuers_path);
	if (ad == NULL || sk_ACCESS_DESCRIPTION_push(aia, ad) <= 0) {
		ACCESS_DESCRIPTION_free(ad);
		goto out_free_aia;
	}
	ext = X509V3_EXT_i2d(NID_info_access, 0, aia);
out_free_aia:
	AUTHORITY_INFO_ACCESS_free(aia);
	return ext;
}

/* cRLDistributionPoints with one full-name URI. */
static X509_EXTENSION *cdp_ext(const char *base, const char *path)
{
	CRL_DIST_POINTS *cdp = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	DIST_POINT_NAME *dpn = DIST_POINT_NAME_new();
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *gn = uri_name(base, path);
	X509_EXTENSION *ext = NULL;

	if (cdp == NULL || dp == NULL || dpn == NULL || names == NULL || gn == NULL ||
	    sk_GENERAL_NAME_push(names, gn) <= 0) {
		GENERAL_NAME_free(gn);
		goto out_free;
	}
	dpn->type = 0; /* fullName */
	dpn->name.fullname = names;
	names = NULL;
	dp->distpoint = dpn;
	dpn = NULL;
	if (sk_DIST_POINT_push(cdp, dp) <= 0)
		goto out_free;
	dp = NULL;
	ext = X509V3_EXT_i2d(NID_crl_distribution_points, 0, cdp);
out_free:
	GENERAL_NAMES_free(names);
	DIST_POINT_NAME_free(dpn);
	DIST_POINT_free(dp);
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	return ext;
}

/* The key identifier of a certificate's key: SHA-1 of the subjectPublicKey bits (RFC 5280
 * 4.2.1.2, method 1). Computed from the key rather than read back from the extension: reading
 * extensions of a certificate not yet signed would cache a broken state inside OpenSSL. */
static ASN1_OCTET_STRING *key_id(const X509 *x)
{
	unsigned char md[SHA1_LEN];
	unsigned int md_len = 0;
	ASN1_OCTET_STRING *os;

	if (X509_pubkey_digest(x, EVP_sha1(), md, &md_len) != 1)
		return NULL;
	os = ASN1_OCTET_STRING_new();
	if (os != NULL && ASN1_OCTET_STRING_set(os, md, (int)md_len) != 1) {
		ASN1_OCTET_STRING_free(os);
		os = NULL;
	}
	return os;
}

/* authorityKeyIdentifier = keyid of the issuer's key (its subjectKeyIdentifier). */
static X509_EXTENSION *aki_ext(const X509 *issuer)
{
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	X509_EXTENSION *ext = NULL;

	if (akid == NULL)
		return NULL;
	akid->keyid = key_id(issuer);
	if (akid->keyid != NULL)
		ext = X509V3_EXT_i2d(NID_authority_key_identifier, 0, akid);
	AUTHORITY_KEYID_free(akid);
	return ext;
}

static int add_ski(X509 *x)
{
	ASN1_OCTET_STRING *os = key_id(x);
	int ok;

	if (os == NULL)
		return VOUCH_ERR_CRYPTO;
	ok = X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0, 0);
	ASN1_OCTET_STRING_free(os);
	return ok == 1 ? VOUCH_OK : VOUCH_ERR_CRYPTO;
}

static int add_ext(X509 *x, X509_EXTENSION *ext)
{
	return ext != NULL && X509_add_ext(x, ext, -1) == 1 ? VOUCH_OK : VOUCH_ERR_CRYPTO;
}

static int add_sans(X509 *x, const char *const *sans, size_t count)
{
	GENERAL_NAMES *gens;
	int rc = VOUCH_ERR_NOMEM;

	if (count == 0)
		return VOUCH_OK;
	gens = GENERAL_NAMES_new();
	if (gens == NULL)
		return VOUCH_ERR_NOMEM;
	for (size_t i = 0; i < count; i++) {
		unsigned char ip[16];
		int ip_len = 0;
		GENERAL_NAME *gn = GENERAL_NAME_new();
		ASN1_STRING *value = NULL;
		int type;

		if (gn == NULL)
			goto out_free;
		if (inet_pton(AF_INET, sans[i], ip) == 1)
			ip_len = 4;
		else if (inet_pton(AF_INET6, sans[i], ip) == 1)
			ip_len = 16;
		if (ip_len > 0) {
			type = GEN_IPADD;
			value = ASN1_OCTET_STRING_new();
			if (value != NULL && ASN1_OCTET_STRING_set(value, ip, ip_len) != 1) {
				ASN1_OCTET_STRING_free(value);
				value = NULL;
			}
		} else if (valid_dns_name(sans[i])) {
			type = GEN_DNS;
			value = ASN1_IA5STRING_new();
			if (value != NULL && ASN1_STRING_set(value, sans[i], -1) != 1) {
				ASN1_IA5STRING_free(value);
				value = NULL;
			}
		} else {
			GENERAL_NAME_free(gn);
			rc = VOUCH_ERR_INVALID;
			goto out_free;
		}
		if (value == NULL) {
			GENERAL_NAME_free(gn);
			goto out_free;
		}
		GENERAL_NAME_set0_value(gn, type, value);
		if (sk_GENERAL_NAME_push(gens, gn) <= 0) {
			GENERAL_NAME_free(gn);
			goto out_free;
		}
	}
	rc = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) == 1 ? VOUCH_OK
	                                                                 : VOUCH_ERR_CRYPTO;
out_free:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* ---- names ---- */

static int name_add(X509_NAME *name, int nid, const char *value)
{
	if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (const unsigned char *)value, -1,
	                               -1, 0) != 1) {
		drop_openssl_errors();
		return VOUCH_ERR_INVALID;
	}
	return VOUCH_OK;
}

/* O=site[, OU=ou], CN=cn, written straight into the certificate's own name (no copy): most
 * significant first, so RFC 2253 prints "CN=..,OU=..,O=..". */
static int fill_name(X509_NAME *name, const char *site, const char *ou, const char *cn)
{
	int rc = name_add(name, NID_organizationName, site);

	if (rc == VOUCH_OK && ou != NULL)
		rc = name_add(name, NID_organizationalUnitName, ou);
	if (rc == VOUCH_OK)
		rc = name_add(name, NID_commonName, cn);
	return rc;
}

static int name_rfc2253(const X509_NAME *name, char **out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	int rc = VOUCH_ERR_CRYPTO;

	*out = NULL;
	if (bio == NULL)
		return VOUCH_ERR_NOMEM;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
		goto out_free_bio;
	len = BIO_get_mem_data(bio, &data);
	if (len < 0)
		goto out_free_bio;
	*out = strndup(data != NULL ? data : "", (size_t)len);
	rc = *out != NULL ? VOUCH_OK : VOUCH_ERR_NOMEM;
out_free_bio:
	BIO_free(bio);
	return rc;
}

/* ---- certificate building ---- */

struct cert_spec {
	EVP_PKEY *pub;             /* a key object (the CA's own certificates) ... */
	const struct raw_key *raw; /* ... or algorithm and bits (issuance) */
	const char *site;          /* subject O= */
	const char *ou;            /* subject OU=, or NULL */
	const char *cn;            /* subject CN= */
	X509 *issuer;              /* NULL: self-signed */
	EVP_PKEY *sign_key;        /* the issuer's (or own) key in the token */
	time_t not_before;
	time_t not_after;
	char *serial_hex; /* out, VOUCH_CA_SERIAL_HEX_MAX */
};

/* Everything but the extensions: version, serial, names, validity, key. */
static int cert_start(const struct cert_spec *spec, X509 **out)
{
	X509 *x = X509_new();
	int rc = VOUCH_ERR_CRYPTO;

	*out = NULL;
	if (x == NULL)
		return VOUCH_ERR_NOMEM;
	if (X509_set_version(x, X509_VERSION_3) != 1)
		goto out_free;
	rc = set_serial(x, spec->serial_hex);
	if (rc != VOUCH_OK)
		goto out_free;
	rc = fill_name(X509_get_subject_name(x), spec->site, spec->ou, spec->cn);
	if (rc != VOUCH_OK)
		goto out_free;
	rc = VOUCH_ERR_CRYPTO;
	if (X509_set_issuer_name(
	        x, X509_get_subject_name(spec->issuer != NULL ? spec->issuer : x)) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), spec->not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), spec->not_after) == NULL)
		goto out_free;
	rc = spec->raw != NULL                    ? set_raw_pubkey(x, spec->raw)
	     : X509_set_pubkey(x, spec->pub) == 1 ? VOUCH_OK
	                                          : VOUCH_ERR_CRYPTO;
	if (rc != VOUCH_OK)
		goto out_free;
	rc = add_ski(x);
	if (rc != VOUCH_OK)
		goto out_free;
	*out = x;
	return VOUCH_OK;
out_free:
	X509_free(x);
	return rc;
}

static int cert_sign(X509 *x, EVP_PKEY *key)
{
	if (X509_sign(x, key, EVP_sha256()) <= 0) {
		log_openssl("X509_sign");
		return VOUCH_ERR_CRYPTO;
	}
	return VOUCH_OK;
}

/*
 * The CA's own certificates are built with the token's key objects as their public keys; swap
 * each for a copy decoded from its DER, which refers to nothing in the token and is exactly
 * what vouch_ca_open() will load.
 */
static int reparse(X509 **x)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *copy;
	int n = i2d_X509(*x, &der);

	if (n <= 0) {
		log_openssl("i2d_X509");
		return VOUCH_ERR_CRYPTO;
	}
	p = der;
	copy = d2i_X509(NULL, &p, n);
	OPENSSL_free(der);
	if (copy == NULL) {
		log_openssl("d2i_X509");
		return VOUCH_ERR_CRYPTO;
	}
	X509_free(*x);
	*x = copy;
	return VOUCH_OK;
}

/* The root (issuer NULL) or the issuing CA. */
static int make_ca_cert(const struct vouch_ca *ca, struct cert_spec *spec, const char *pathlen,
                        X509 **out)
{
	X509 *x = NULL;
	X509_EXTENSION *ext;
	int rc = VOUCH_ERR_INTERNAL;

	*out = NULL;
	rc = cert_start(spec, &x);
	if (rc != VOUCH_OK)
		return rc;
	rc = VOUCH_ERR_CRYPTO;
	ext = conf_ext(NID_basic_constraints, pathlen);
	if (add_ext(x, ext) != VOUCH_OK)
		goto out_free_ext;
	X509_EXTENSION_free(ext);
	ext = conf_ext(NID_key_usage, "critical,keyCertSign,cRLSign");
	if (add_ext(x, ext) != VOUCH_OK)
		goto out_free_ext;
	X509_EXTENSION_free(ext);
	/* The root's own AKI equals its SKI: harmless, and helps path builders. */
	ext = aki_ext(spec->issuer != NULL ? spec->issuer : x);
	if (add_ext(x, ext) != VOUCH_OK)
		goto out_free_ext;
	X509_EXTENSION_free(ext);
	ext = NULL;
	if (spec->issuer != NULL) {
		/* The issuing CA points at the root's CRL and certificate. */
		ext = cdp_ext(ca->url, "/crl/root.crl");
		if (add_ext(x, ext) != VOUCH_OK)
			goto out_free_ext;
		X509_EXTENSION_free(ext);
		ext = aia_ext(ca->url, false, "/ca/root.crt");
		if (add_ext(x, ext) != VOUCH_OK)
			goto out_free_ext;
		X509_EXTENSION_free(ext);
		ext = NULL;
	}
	rc = cert_sign(x, spec->sign_key);
	if (rc == VOUCH_OK) {
		*out = x;
		x = NULL;
	}
out_free_ext:
	X509_EXTENSION_free(ext);
	X509_free(x);
	return rc;
}

static time_t profile_validity(const struct vouch_ca *ca, enum vouch_ca_profile profile)
{
	switch (profile) {
	case VOUCH_CA_PROFILE_DEVICE:
		return (time_t)ca->device_days * DAY_SECONDS;
	case VOUCH_CA_PROFILE_PHONE:
		return (time_t)ca->phone_days * DAY_SECONDS;
	case VOUCH_CA_PROFILE_SHORT_LIVED:
		return (time_t)ca->short_lived_hours * 3600;
	case VOUCH_CA_PROFILE_SERVICE:
	case VOUCH_CA_PROFILE_TLS_SERVER:
	case VOUCH_CA_PROFILE_ADMIN:
	default:
		return (time_t)ca->service_days * DAY_SECONDS;
	}
}

static int issue(struct vouch_ca *ca, const struct raw_key *key,
                 const struct vouch_ca_subject *subj, struct vouch_ca_issued *out)
{
	struct cert_spec spec;
	X509 *x = NULL;
	int eku;
	int ku;
	time_t now = time(NULL);
	int rc = VOUCH_ERR_INTERNAL;

	memset(&spec, 0, sizeof(spec));
	spec.raw = key;
	spec.site = ca->site;
	spec.ou = subj->profile == VOUCH_CA_PROFILE_PHONE ? "phone" : NULL;
	spec.cn = subj->id;
	spec.issuer = ca->issuing;
	spec.sign_key = vouch_p11_key_evp(&ca->issuing_key);
	spec.not_before = now - BACKDATE_SECONDS;
	spec.not_after = now + profile_validity(ca, subj->profile);
	/* Nothing outlives its issuer. */
	if (spec.not_after > ca->issuing_not_after)
		spec.not_after = ca->issuing_not_after;
	spec.serial_hex = out->serial;
	rc = cert_start(&spec, &x);
	if (rc != VOUCH_OK)
		goto out_clear;
	switch (subj->profile) {
	case VOUCH_CA_PROFILE_SERVICE:
		eku = EXT_EKU_SERVER_CLIENT;
		break;
	case VOUCH_CA_PROFILE_TLS_SERVER:
		eku = EXT_EKU_SERVER;
		break;
	default:
		eku = EXT_EKU_CLIENT;
		break;
	}
	/* keyAgreement only where the key can agree (EC, not EdDSA). */
	ku = key->nid == NID_X9_62_id_ecPublicKey ? EXT_KU_EC : EXT_KU_SIGN;
	rc = VOUCH_ERR_CRYPTO;
	if (add_ext(x, ca->ext[EXT_BC_EE]) != VOUCH_OK || add_ext(x, ca->ext[ku]) != VOUCH_OK ||
	    add_ext(x, ca->ext[eku]) != VOUCH_OK || add_ext(x, ca->ext[EXT_AKI]) != VOUCH_OK ||
	    add_ext(x, ca->ext[EXT_AIA]) != VOUCH_OK || add_ext(x, ca->ext[EXT_CDP]) != VOUCH_OK)
		goto out_free_cert;
	rc = add_sans(x, subj->sans, subj->sans_count);
	if (rc != VOUCH_OK)
		goto out_free_cert;
	rc = cert_sign(x, spec.sign_key);
	if (rc != VOUCH_OK)
		goto out_free_cert;
	rc = i2d_malloc(i2d_x509_const, x, &out->der, &out->der_len);
	if (rc != VOUCH_OK)
		goto out_free_cert;
	rc = name_rfc2253(X509_get_subject_name(x), &out->subject);
	if (rc != VOUCH_OK)
		goto out_free_cert;
	out->cert = x;
	x = NULL;
	out->not_before = spec.not_before;
	out->not_after = spec.not_after;
out_free_cert:
	X509_free(x);
out_clear:
	if (rc != VOUCH_OK) {
		vouch_ca_issued_clear(out);
		drop_openssl_errors();
	}
	return rc;
}

static int issue_check(struct vouch_ca *ca, const struct vouch_ca_subject *subj,
                       struct vouch_ca_issued *out)
{
	if (out == NULL)
		return VOUCH_ERR_INVALID;
	vouch_ca_issued_init(out);
	if (ca == NULL)
		return VOUCH_ERR_INVALID;
	return check_subject(subj);
}

int vouch_ca_issue_csr(struct vouch_ca *ca, const uint8_t *csr, size_t csr_len,
                       const struct vouch_ca_subject *subj, struct vouch_ca_issued *out)
{
	const unsigned char *p = csr;
	CA_CSR *req;
	struct raw_key key = {0, NULL, 0, NULL};
	int rc = issue_check(ca, subj, out);

	if (rc != VOUCH_OK)
		return rc;
	if (csr == NULL || csr_len == 0)
		return VOUCH_ERR_X509_MALFORMED;
	if (csr_len > VOUCH_CA_CSR_MAX)
		return VOUCH_ERR_X509_TOO_LARGE;
	req = (CA_CSR *)ASN1_item_d2i(NULL, &p, (long)csr_len, ASN1_ITEM_rptr(CA_CSR));
	if (req == NULL || p != csr + csr_len || ASN1_INTEGER_get(req->info->version) != 0) {
		rc = VOUCH_ERR_X509_MALFORMED;
		goto out_free_req;
	}
	rc = spki_import(ca, req->info->spki, &key);
	if (rc == VOUCH_OK)
		rc = csr_verify(req, &key);
	if (rc == VOUCH_OK)
		rc = issue(ca, &key, subj, out);
out_free_req:
	EVP_PKEY_free(key.pkey);
	ASN1_item_free((ASN1_VALUE *)req, ASN1_ITEM_rptr(CA_CSR));
	if (rc != VOUCH_OK)
		drop_openssl_errors();
	return rc;
}

int vouch_ca_issue_spki(struct vouch_ca *ca, const uint8_t *spki, size_t spki_len,
                        const struct vouch_ca_subject *subj, struct vouch_ca_issued *out)
{
	const unsigned char *p = spki;
	CA_SPKI *xpk;
	struct raw_key key = {0, NULL, 0, NULL};
	int rc = issue_check(ca, subj, out);

	if (rc != VOUCH_OK)
		return rc;
	if (spki == NULL || spki_len == 0)
		return VOUCH_ERR_X509_MALFORMED;
	if (spki_len > VOUCH_CA_SPKI_MAX)
		return VOUCH_ERR_X509_TOO_LARGE;
	xpk = (CA_SPKI *)ASN1_item_d2i(NULL, &p, (long)spki_len, ASN1_ITEM_rptr(CA_SPKI));
	if (xpk == NULL || p != spki + spki_len) {
		rc = VOUCH_ERR_X509_MALFORMED;
		goto out_free_xpk;
	}
	/* The point is validated (imported) although no signature is checked with it. */
	rc = spki_import(ca, xpk, &key);
	if (rc == VOUCH_OK)
		rc = issue(ca, &key, subj, out);
out_free_xpk:
	EVP_PKEY_free(key.pkey);
	ASN1_item_free((ASN1_VALUE *)xpk, ASN1_ITEM_rptr(CA_SPKI));
	if (rc != VOUCH_OK)
		drop_openssl_errors();
	return rc;
}

int vouch_ca_issue_key(struct vouch_ca *ca, const struct vouch_key *key,
                       const struct vouch_ca_subject *subj, struct vouch_ca_issued *out)
{
	EVP_PKEY *pkey;
	uint8_t *der = NULL;
	int n;
	int rc = issue_check(ca, subj, out);

	if (rc != VOUCH_OK)
		return rc;
	pkey = vouch_p11_key_evp(key);
	if (pkey == NULL)
		return VOUCH_ERR_INVALID;
	/* Through the SPKI, so a token key meets exactly the policy a CSR's key meets. */
	n = i2d_PUBKEY(pkey, &der);
	if (n <= 0) {
		log_openssl("i2d_PUBKEY");
		return VOUCH_ERR_KEY;
	}
	rc = vouch_ca_issue_spki(ca, der, (size_t)n, subj, out);
	OPENSSL_free(der);
	return rc;
}

/* ---- files ---- */

static int join_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? VOUCH_ERR_INVALID : VOUCH_OK;
}

int vouch_ca_write_pem(const char *path, X509 *const *certs, size_t count)
{
	int rc = VOUCH_ERR_IO;
	int fd;
	BIO *bio;

	if (path == NULL || certs == NULL || count == 0)
		return VOUCH_ERR_INVALID;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			return VOUCH_ERR_P11_EXISTS;
		vouch_log(VOUCH_LOG_ERROR, "ca.error", "call", "open", "path", path, NULL);
		return VOUCH_ERR_IO;
	}
	bio = BIO_new_fd(fd, BIO_CLOSE);
	if (bio == NULL) {
		close(fd);
		unlink(path);
		return VOUCH_ERR_NOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		if (certs[i] == NULL || PEM_write_bio_X509(bio, certs[i]) != 1)
			goto out_free_bio;
	}
	if (BIO_flush(bio) != 1 || fsync(fd) != 0)
		goto out_free_bio;
	rc = VOUCH_OK;
out_free_bio:
	BIO_free(bio);
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "ca.error", "call", "write", "path", path, NULL);
		drop_openssl_errors();
		unlink(path);
	}
	return rc;
}

static int read_pem(const char *dir, const char *name, bool optional, X509 **out)
{
	char path[PATH_MAX];
	BIO *bio;

	*out = NULL;
	if (join_path(path, sizeof(path), dir, name) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	bio = BIO_new_file(path, "r");
	if (bio == NULL) {
		drop_openssl_errors();
		if (optional)
			return VOUCH_OK;
		vouch_log(VOUCH_LOG_ERROR, "ca.error", "call", "open", "path", path, NULL);
		return VOUCH_ERR_IO;
	}
	*out = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (*out == NULL) {
		vouch_log(VOUCH_LOG_ERROR, "ca.error", "call", "PEM_read_bio_X509", "path", path,
		          NULL);
		drop_openssl_errors();
		return VOUCH_ERR_X509_MALFORMED;
	}
	return VOUCH_OK;
}

/* ---- the CA object ---- */

static int check_config(const struct vouch_ca_config *cfg)
{
	size_t url_len;

	if (cfg == NULL || cfg->site == NULL || cfg->public_http_url == NULL)
		return VOUCH_ERR_INVALID;
	if (!valid_id(cfg->site) || strlen(cfg->site) > SITE_MAX)
		return VOUCH_ERR_INVALID;
	url_len = strlen(cfg->public_http_url);
	if (url_len < 8 || url_len > URL_MAX - 32 ||
	    (strncmp(cfg->public_http_url, "http://", 7) != 0 &&
	     strncmp(cfg->public_http_url, "https://", 8) != 0))
		return VOUCH_ERR_INVALID;
	for (size_t i = 0; i < url_len; i++) {
		unsigned char c = (unsigned char)cfg->public_http_url[i];

		if (c <= 0x20 || c >= 0x7f)
			return VOUCH_ERR_INVALID;
	}
	return VOUCH_OK;
}

static unsigned or_default(unsigned v, unsigned def)
{
	return v != 0 ? v : def;
}

static int ca_alloc(const struct vouch_ca_config *cfg, struct vouch_p11 *p11, struct vouch_ca **out)
{
	struct vouch_ca *ca;
	size_t url_len;

	*out = NULL;
	if (p11 == NULL || check_config(cfg) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	ca = calloc(1, sizeof(*ca));
	if (ca == NULL)
		return VOUCH_ERR_NOMEM;
	ca->p11 = p11;
	vouch_key_init(&ca->root_key);
	vouch_key_init(&ca->issuing_key);
	vouch_key_init(&ca->ocsp_key);
	ca->site = strdup(cfg->site);
	ca->url = strdup(cfg->public_http_url);
	if (ca->site == NULL || ca->url == NULL) {
		vouch_ca_free(ca);
		return VOUCH_ERR_NOMEM;
	}
	/* One canonical form: no trailing slash, the paths bring theirs. */
	url_len = strlen(ca->url);
	while (url_len > 0 && ca->url[url_len - 1] == '/')
		ca->url[--url_len] = '\0';
	ca->device_days = or_default(cfg->device_days, 365);
	ca->service_days = or_default(cfg->service_days, 365);
	ca->phone_days = or_default(cfg->phone_days, 30);
	ca->short_lived_hours = or_default(cfg->short_lived_hours, 24);
	ca->crl_hours = or_default(cfg->crl_hours, 24);
	ca->ocsp_minutes = or_default(cfg->ocsp_minutes, 60);
	ca->p256_params = p256_params_new();
	if (ca->p256_params == NULL) {
		log_openssl("P-256 parameters");
		vouch_ca_free(ca);
		return VOUCH_ERR_CRYPTO;
	}
	*out = ca;
	return VOUCH_OK;
}

static int load_keys(struct vouch_ca *ca)
{
	int rc = vouch_p11_key_load(ca->p11, VOUCH_CA_KEY_ROOT, &ca->root_key);

	if (rc == VOUCH_OK)
		rc = vouch_p11_key_load(ca->p11, VOUCH_CA_KEY_ISSUING, &ca->issuing_key);
	if (rc == VOUCH_OK)
		rc = vouch_p11_key_load(ca->p11, VOUCH_CA_KEY_OCSP, &ca->ocsp_key);
	return rc;
}

static int asn1_time_to_time_t(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return VOUCH_ERR_X509_MALFORMED;
	*out = timegm(&tm);
	return VOUCH_OK;
}

/* Everything built once from the certificates: extensions, OCSP CertIDs. */
static int ca_prepare(struct vouch_ca *ca)
{
	const ASN1_BIT_STRING *key_bits = X509_get0_pubkey_bitstr(ca->issuing);
	int rc = VOUCH_ERR_INTERNAL;

	rc = asn1_time_to_time_t(X509_get0_notAfter(ca->issuing), &ca->issuing_not_after);
	if (rc != VOUCH_OK)
		return rc;
	ca->ext[EXT_BC_EE] = conf_ext(NID_basic_constraints, "critical,CA:FALSE");
	ca->ext[EXT_KU_EC] = conf_ext(NID_key_usage, "critical,digitalSignature,keyAgreement");
	ca->ext[EXT_KU_SIGN] = conf_ext(NID_key_usage, "critical,digitalSignature");
	ca->ext[EXT_EKU_CLIENT] = conf_ext(NID_ext_key_usage, "clientAuth");
	ca->ext[EXT_EKU_SERVER_CLIENT] = conf_ext(NID_ext_key_usage, "serverAuth,clientAuth");
	ca->ext[EXT_EKU_SERVER] = conf_ext(NID_ext_key_usage, "serverAuth");
	ca->ext[EXT_AIA] = aia_ext(ca->url, true, "/ca/issuing.crt");
	ca->ext[EXT_CDP] = cdp_ext(ca->url, "/crl/issuing.crl");
	ca->ext[EXT_AKI] = aki_ext(ca->issuing);
	ca->root_aki = aki_ext(ca->root);
	for (unsigned i = 0; i < EXT_COUNT; i++) {
		if (ca->ext[i] == NULL) {
			log_openssl("extension");
			return VOUCH_ERR_CRYPTO;
		}
	}
	if (ca->root_aki == NULL || key_bits == NULL)
		return VOUCH_ERR_X509_MALFORMED;
	ca->ocsp_id_sha1 =
	    OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca->issuing), key_bits, NULL);
	ca->ocsp_id_sha256 =
	    OCSP_cert_id_new(EVP_sha256(), X509_get_subject_name(ca->issuing), key_bits, NULL);
	if (ca->ocsp_id_sha1 == NULL || ca->ocsp_id_sha256 == NULL) {
		log_openssl("OCSP_cert_id_new");
		return VOUCH_ERR_CRYPTO;
	}
	return VOUCH_OK;
}

/* cert's key is the token key labelled label, and cert is signed by issuer. */
static int check_cert_key(struct vouch_ca *ca, X509 *cert, const char *label, X509 *issuer)
{
	struct vouch_key pub;
	int rc = VOUCH_ERR_INTERNAL;

	vouch_key_init(&pub);
	rc = vouch_p11_key_load_public(ca->p11, label, &pub);
	if (rc != VOUCH_OK)
		return rc;
	if (EVP_PKEY_eq(X509_get0_pubkey(cert), pub.h.ptr) != 1) {
		vouch_log(VOUCH_LOG_ERROR, "ca.error", "call", "open", "key", label, "detail",
		          "certificate does not match the token key", NULL);
		rc = VOUCH_ERR_KEY;
	} else if (X509_verify(cert, X509_get0_pubkey(issuer)) != 1) {
		vouch_log(VOUCH_LOG_ERROR, "ca.error", "call", "open", "key", label, "detail",
		          "certificate not signed by its issuer", NULL);
		rc = VOUCH_ERR_VERIFY;
	}
	vouch_key_clear(&pub);
	drop_openssl_errors();
	return rc;
}

int vouch_ca_open(struct vouch_ca **out, const char *dir, struct vouch_p11 *p11,
                  const struct vouch_ca_config *cfg)
{
	char ca_dir[PATH_MAX];
	char admin_dir[PATH_MAX];
	struct vouch_ca *ca = NULL;
	int rc = VOUCH_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || dir == NULL ||
	    join_path(ca_dir, sizeof(ca_dir), dir, "ca") != VOUCH_OK ||
	    join_path(admin_dir, sizeof(admin_dir), dir, "admin") != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	rc = ca_alloc(cfg, p11, &ca);
	if (rc != VOUCH_OK)
		return rc;
	rc = read_pem(ca_dir, "root.pem", false, &ca->root);
	if (rc == VOUCH_OK)
		rc = read_pem(ca_dir, "issuing.pem", false, &ca->issuing);
	if (rc == VOUCH_OK)
		rc = read_pem(ca_dir, "ocsp.pem", false, &ca->ocsp);
	if (rc == VOUCH_OK)
		rc = read_pem(admin_dir, "admin.pem", true, &ca->admin);
	if (rc == VOUCH_OK)
		rc = load_keys(ca);
	if (rc == VOUCH_OK)
		rc = check_cert_key(ca, ca->root, VOUCH_CA_KEY_ROOT, ca->root);
	if (rc == VOUCH_OK)
		rc = check_cert_key(ca, ca->issuing, VOUCH_CA_KEY_ISSUING, ca->root);
	if (rc == VOUCH_OK)
		rc = check_cert_key(ca, ca->ocsp, VOUCH_CA_KEY_OCSP, ca->issuing);
	if (rc == VOUCH_OK)
		rc = ca_prepare(ca);
	if (rc != VOUCH_OK) {
		vouch_ca_free(ca);
		return rc;
	}
	*out = ca;
	return VOUCH_OK;
}

/* "<site> <what>" when it fits a CN, else just "<what>". */
static void ca_cn(const char *site, const char *what, char out[CERT_NAME_CN_MAX + 1])
{
	int n = snprintf(out, CERT_NAME_CN_MAX + 1, "%s %s", site, what);

	if (n < 0 || n > CERT_NAME_CN_MAX)
		snprintf(out, CERT_NAME_CN_MAX + 1, "%s", what);
}

static int create_hierarchy(struct vouch_ca *ca)
{
	static const uint8_t ids[] = {VOUCH_CA_KEY_ROOT_ID, VOUCH_CA_KEY_ISSUING_ID,
	                              VOUCH_CA_KEY_OCSP_ID};
	static const char *const labels[] = {VOUCH_CA_KEY_ROOT, VOUCH_CA_KEY_ISSUING,
	                                     VOUCH_CA_KEY_OCSP};
	char cn[CERT_NAME_CN_MAX + 1];
	struct cert_spec spec;
	X509 *x = NULL;
	time_t now = time(NULL);
	int rc = VOUCH_ERR_INTERNAL;

	for (size_t i = 0; i < VOUCH_ARRAY_LEN(ids); i++) {
		rc = vouch_p11_key_generate(ca->p11, VOUCH_KEY_P256, labels[i], &ids[i], 1);
		if (rc != VOUCH_OK)
			return rc;
	}
	rc = load_keys(ca);
	if (rc != VOUCH_OK)
		return rc;

	/* Root: self-signed, 20 years, pathlen 1. */
	memset(&spec, 0, sizeof(spec));
	ca_cn(ca->site, "Root CA", cn);
	spec.site = ca->site;
	spec.cn = cn;
	spec.pub = vouch_p11_key_evp(&ca->root_key);
	spec.sign_key = vouch_p11_key_evp(&ca->root_key);
	spec.not_before = now - BACKDATE_SECONDS;
	spec.not_after = now + ROOT_DAYS * DAY_SECONDS;
	rc = make_ca_cert(ca, &spec, "critical,CA:TRUE,pathlen:1", &ca->root);
	if (rc == VOUCH_OK)
		rc = reparse(&ca->root);
	if (rc != VOUCH_OK)
		return rc;

	/* Issuing CA: by the root, 10 years, pathlen 0. */
	ca_cn(ca->site, "Issuing CA", cn);
	spec.pub = vouch_p11_key_evp(&ca->issuing_key);
	spec.issuer = ca->root;
	spec.not_after = now + ISSUING_DAYS * DAY_SECONDS;
	rc = make_ca_cert(ca, &spec, "critical,CA:TRUE,pathlen:0", &ca->issuing);
	if (rc == VOUCH_OK)
		rc = reparse(&ca->issuing);
	if (rc != VOUCH_OK)
		return rc;
	rc = ca_prepare(ca);
	if (rc != VOUCH_OK)
		return rc;

	/* The delegated OCSP responder: by the issuing CA; id-pkix-ocsp-nocheck, as clients
	 * cannot ask the responder about its own certificate. */
	ca_cn(ca->site, "OCSP Responder", cn);
	spec.pub = vouch_p11_key_evp(&ca->ocsp_key);
	spec.issuer = ca->issuing;
	spec.sign_key = vouch_p11_key_evp(&ca->issuing_key);
	spec.not_after = now + (time_t)ca->service_days * DAY_SECONDS;
	if (spec.not_after > ca->issuing_not_after)
		spec.not_after = ca->issuing_not_after;
	rc = cert_start(&spec, &x);
	if (rc != VOUCH_OK)
		return rc;
	{
		ASN1_NULL *nocheck = ASN1_NULL_new();
		X509_EXTENSION *ku = conf_ext(NID_key_usage, "critical,digitalSignature");
		X509_EXTENSION *eku = conf_ext(NID_ext_key_usage, "OCSPSigning");
		X509_EXTENSION *aia = aia_ext(ca->url, false, "/ca/issuing.crt");

		rc = VOUCH_ERR_CRYPTO;
		if (nocheck != NULL && add_ext(x, ca->ext[EXT_BC_EE]) == VOUCH_OK &&
		    add_ext(x, ku) == VOUCH_OK && add_ext(x, eku) == VOUCH_OK &&
		    add_ext(x, ca->ext[EXT_AKI]) == VOUCH_OK && add_ext(x, aia) == VOUCH_OK &&
		    add_ext(x, ca->ext[EXT_CDP]) == VOUCH_OK &&
		    X509_add1_ext_i2d(x, NID_id_pkix_OCSP_noCheck, nocheck, 0, 0) == 1)
			rc = cert_sign(x, spec.sign_key);
		ASN1_NULL_free(nocheck);
		X509_EXTENSION_free(ku);
		X509_EXTENSION_free(eku);
		X509_EXTENSION_free(aia);
	}
	if (rc == VOUCH_OK)
		rc = reparse(&x);
	if (rc != VOUCH_OK) {
		X509_free(x);
		return rc;
	}
	ca->ocsp = x;
	return VOUCH_OK;
}

static int write_hierarchy(const struct vouch_ca *ca, const char *ca_dir)
{
	char path[PATH_MAX];
	X509 *chain[2] = {ca->issuing, ca->root};
	int rc = VOUCH_ERR_INTERNAL;

	rc = join_path(path, sizeof(path), ca_dir, "root.pem");
	if (rc == VOUCH_OK)
		rc = vouch_ca_write_pem(path, &ca->root, 1);
	if (rc == VOUCH_OK)
		rc = join_path(path, sizeof(path), ca_dir, "issuing.pem");
	if (rc == VOUCH_OK)
		rc = vouch_ca_write_pem(path, &ca->issuing, 1);
	if (rc == VOUCH_OK)
		rc = join_path(path, sizeof(path), ca_dir, "chain.pem");
	if (rc == VOUCH_OK)
		rc = vouch_ca_write_pem(path, chain, 2);
	if (rc == VOUCH_OK)
		rc = join_path(path, sizeof(path), ca_dir, "ocsp.pem");
	if (rc == VOUCH_OK)
		rc = vouch_ca_write_pem(path, &ca->ocsp, 1);
	return rc;
}

int vouch_ca_create(struct vouch_ca **out, const char *dir, struct vouch_p11 *p11,
                    const struct vouch_ca_config *cfg)
{
	char ca_dir[PATH_MAX];
	char root_path[PATH_MAX];
	struct vouch_ca *ca = NULL;
	struct stat st;
	int rc = VOUCH_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || dir == NULL ||
	    join_path(ca_dir, sizeof(ca_dir), dir, "ca") != VOUCH_OK ||
	    join_path(root_path, sizeof(root_path), ca_dir, "root.pem") != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	if (lstat(root_path, &st) == 0) {
		vouch_log(VOUCH_LOG_ERROR, "ca.refuse", "path", root_path, "why",
		          "a CA exists here", NULL);
		return VOUCH_ERR_P11_EXISTS;
	}
	rc = ca_alloc(cfg, p11, &ca);
	if (rc != VOUCH_OK)
		return rc;
	if (mkdir(ca_dir, 0755) != 0 && errno != EEXIST) {
		vouch_log(VOUCH_LOG_ERROR, "ca.error", "call", "mkdir", "path", ca_dir, NULL);
		rc = VOUCH_ERR_IO;
		goto out_free;
	}
	rc = create_hierarchy(ca);
	if (rc == VOUCH_OK)
		rc = write_hierarchy(ca, ca_dir);
	if (rc == VOUCH_OK) {
		char fp[VOUCH_CA_FINGERPRINT_HEX];

		vouch_ca_fingerprint(ca->root, fp);
		vouch_log(VOUCH_LOG_INFO, "ca.create", "site", ca->site, "root_sha256", fp, NULL);
		*out = ca;
		return VOUCH_OK;
	}
out_free:
	drop_openssl_errors();
	vouch_ca_free(ca);
	return rc;
}

void vouch_ca_free(struct vouch_ca *ca)
{
	if (ca == NULL)
		return;
	vouch_key_clear(&ca->root_key);
	vouch_key_clear(&ca->issuing_key);
	vouch_key_clear(&ca->ocsp_key);
	X509_free(ca->root);
	X509_free(ca->issuing);
	X509_free(ca->ocsp);
	X509_free(ca->admin);
	for (unsigned i = 0; i < EXT_COUNT; i++)
		X509_EXTENSION_free(ca->ext[i]);
	X509_EXTENSION_free(ca->root_aki);
	OCSP_CERTID_free(ca->ocsp_id_sha1);
	OCSP_CERTID_free(ca->ocsp_id_sha256);
	EVP_PKEY_free(ca->p256_params);
	free(ca->site);
	free(ca->url);
	free(ca);
}

/* ---- CRLs ---- */

static int crl_add_entry(X509_CRL *crl, const struct vouch_ca_revoked *r)
{
	X509_REVOKED *rev;
	ASN1_INTEGER *serial;
	ASN1_TIME *when = NULL;
	ASN1_ENUMERATED *reason = NULL;
	int rc = VOUCH_ERR_NOMEM;

	if (!reason_valid(r->reason))
		return VOUCH_ERR_INVALID;
	serial = serial_from_hex(r->serial);
	if (serial == NULL)
		return VOUCH_ERR_INVALID;
	rev = X509_REVOKED_new();
	when = ASN1_TIME_set(NULL, r->revoked_at);
	if (rev == NULL || when == NULL)
		goto out_free;
	rc = VOUCH_ERR_CRYPTO;
	if (X509_REVOKED_set_serialNumber(rev, serial) != 1 ||
	    X509_REVOKED_set_revocationDate(rev, when) != 1)
		goto out_free;
	/* RFC 5280 5.3.1: the reason code "unspecified" SHOULD be left out. */
	if (r->reason != VOUCH_CA_REASON_UNSPECIFIED) {
		reason = ASN1_ENUMERATED_new();
		if (reason == NULL || ASN1_ENUMERATED_set(reason, r->reason) != 1 ||
		    X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0) != 1)
			goto out_free;
	}
	if (X509_CRL_add0_revoked(crl, rev) != 1)
		goto out_free;
	rev = NULL;
	rc = VOUCH_OK;
out_free:
	X509_REVOKED_free(rev);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(when);
	ASN1_ENUMERATED_free(reason);
	return rc;
}

int vouch_ca_crl(struct vouch_ca *ca, enum vouch_ca_crl_kind kind,
                 const struct vouch_ca_revoked *revoked, size_t count, uint64_t crl_number,
                 time_t this_update, uint8_t **der, size_t *der_len)
{
	X509_CRL *crl;
	X509 *issuer;
	EVP_PKEY *key;
	X509_EXTENSION *aki;
	ASN1_TIME *t = NULL;
	ASN1_INTEGER *number = NULL;
	int rc = VOUCH_ERR_CRYPTO;

	if (der != NULL)
		*der = NULL;
	if (der_len != NULL)
		*der_len = 0;
	if (ca == NULL || der == NULL || der_len == NULL || (revoked == NULL && count > 0) ||
	    (kind != VOUCH_CA_CRL_ISSUING && kind != VOUCH_CA_CRL_ROOT))
		return VOUCH_ERR_INVALID;
	issuer = kind == VOUCH_CA_CRL_ROOT ? ca->root : ca->issuing;
	key = vouch_p11_key_evp(kind == VOUCH_CA_CRL_ROOT ? &ca->root_key : &ca->issuing_key);
	aki = kind == VOUCH_CA_CRL_ROOT ? ca->root_aki : ca->ext[EXT_AKI];
	crl = X509_CRL_new();
	if (crl == NULL)
		return VOUCH_ERR_NOMEM;
	if (X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1)
		goto out_free;
	t = ASN1_TIME_set(NULL, this_update);
	if (t == NULL || X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    ASN1_TIME_set(t, this_update + (time_t)ca->crl_hours * 3600) == NULL ||
	    X509_CRL_set1_nextUpdate(crl, t) != 1)
		goto out_free;
	for (size_t i = 0; i < count; i++) {
		rc = crl_add_entry(crl, &revoked[i]);
		if (rc != VOUCH_OK)
			goto out_free;
	}
	rc = VOUCH_ERR_CRYPTO;
	number = ASN1_INTEGER_new();
	if (number == NULL || ASN1_INTEGER_set_uint64(number, crl_number) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) != 1 ||
	    X509_CRL_add_ext(crl, aki, -1) != 1 || X509_CRL_sort(crl) != 1)
		goto out_free;
	if (X509_CRL_sign(crl, key, EVP_sha256()) <= 0) {
		log_openssl("X509_CRL_sign");
		goto out_free;
	}
	rc = i2d_malloc(i2d_crl_const, crl, der, der_len);
out_free:
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(number);
	X509_CRL_free(crl);
	if (rc != VOUCH_OK)
		drop_openssl_errors();
	return rc;
}

/* ---- OCSP ---- */

static int ocsp_status_only(int status, uint8_t **resp, size_t *resp_len, int *ocsp_status)
{
	OCSP_RESPONSE *r = OCSP_response_create(status, NULL);
	int rc = VOUCH_ERR_INTERNAL;

	if (r == NULL)
		return VOUCH_ERR_NOMEM;
	rc = i2d_malloc(i2d_ocsp_resp_const, r, resp, resp_len);
	OCSP_RESPONSE_free(r);
	if (rc == VOUCH_OK && ocsp_status != NULL)
		*ocsp_status = status;
	return rc;
}

/* Is this CertID about a certificate of our issuing CA? */
static bool ocsp_ours(const struct vouch_ca *ca, const OCSP_CERTID *cid)
{
	return OCSP_id_issuer_cmp(ca->ocsp_id_sha1, cid) == 0 ||
	       OCSP_id_issuer_cmp(ca->ocsp_id_sha256, cid) == 0;
}

/* Look one CertID up and add its SingleResponse. VOUCH_ERR_INTERNAL: the lookup failed. */
static int ocsp_add_single(struct vouch_ca *ca, OCSP_BASICRESP *bs, OCSP_CERTID *cid,
                           int (*lookup)(void *, const char *, struct vouch_ca_status *), void *arg,
                           ASN1_TIME *this_update, ASN1_TIME *next_update)
{
	struct vouch_ca_status st = {VOUCH_CA_STATUS_UNKNOWN, 0, VOUCH_CA_REASON_UNSPECIFIED};
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *revtime = NULL;
	int status = V_OCSP_CERTSTATUS_UNKNOWN;
	int reason = OCSP_REVOKED_STATUS_NOSTATUS;
	int rc = VOUCH_OK;
	int len;

	if (OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid) != 1)
		return VOUCH_ERR_X509_MALFORMED;
	len = ASN1_STRING_length(serial);
	if (ocsp_ours(ca, cid) && ASN1_STRING_type(serial) == V_ASN1_INTEGER && len > 0 &&
	    len <= SERIAL_BYTES_MAX) {
		char hex[VOUCH_CA_SERIAL_HEX_MAX];

		hex_encode(ASN1_STRING_get0_data(serial), (size_t)len, hex);
		if (lookup(arg, hex, &st) != VOUCH_OK)
			return VOUCH_ERR_INTERNAL;
		switch (st.status) {
		case VOUCH_CA_STATUS_GOOD:
			status = V_OCSP_CERTSTATUS_GOOD;
			break;
		case VOUCH_CA_STATUS_REVOKED:
			status = V_OCSP_CERTSTATUS_REVOKED;
			if (st.reason != VOUCH_CA_REASON_UNSPECIFIED && reason_valid(st.reason))
				reason = (int)st.reason;
			revtime = ASN1_TIME_set(NULL, st.revoked_at);
			if (revtime == NULL)
				return VOUCH_ERR_NOMEM;
			break;
		default:
			status = V_OCSP_CERTSTATUS_UNKNOWN;
			break;
		}
	}
	if (OCSP_basic_add1_status(bs, cid, status, reason, revtime, this_update, next_update) ==
	    NULL)
		rc = VOUCH_ERR_CRYPTO;
	ASN1_TIME_free(revtime);
	return rc;
}

int vouch_ca_ocsp_respond(struct vouch_ca *ca, const uint8_t *req, size_t req_len,
                          int (*lookup)(void *arg, const char *serial, struct vouch_ca_status *st),
                          void *arg, uint8_t **resp, size_t *resp_len, int *ocsp_status)
{
	const unsigned char *p = req;
	OCSP_REQUEST *oreq = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *r = NULL;
	ASN1_TIME *this_update = NULL;
	ASN1_TIME *next_update = NULL;
	time_t now = time(NULL);
	int count;
	int rc = VOUCH_ERR_INTERNAL;

	if (resp != NULL)
		*resp = NULL;
	if (resp_len != NULL)
		*resp_len = 0;
	if (ocsp_status != NULL)
		*ocsp_status = OCSP_RESPONSE_STATUS_INTERNALERROR;
	if (ca == NULL || lookup == NULL || resp == NULL || resp_len == NULL ||
	    (req == NULL && req_len > 0))
		return VOUCH_ERR_INVALID;
	if (req_len == 0 || req_len > VOUCH_CA_OCSP_REQUEST_MAX)
		return ocsp_status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, resp, resp_len,
		                        ocsp_status);
	oreq = d2i_OCSP_REQUEST(NULL, &p, (long)req_len);
	count = oreq != NULL ? OCSP_request_onereq_count(oreq) : 0;
	if (oreq == NULL || p != req + req_len || count <= 0 || count > VOUCH_CA_OCSP_MAX_IDS) {
		drop_openssl_errors();
		rc = ocsp_status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, resp, resp_len,
		                      ocsp_status);
		goto out_free;
	}
	rc = VOUCH_ERR_NOMEM;
	bs = OCSP_BASICRESP_new();
	this_update = ASN1_TIME_set(NULL, now);
	next_update = ASN1_TIME_set(NULL, now + (time_t)ca->ocsp_minutes * 60);
	if (bs == NULL || this_update == NULL || next_update == NULL)
		goto out_free;
	for (int i = 0; i < count; i++) {
		OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(oreq, i));

		rc = ocsp_add_single(ca, bs, cid, lookup, arg, this_update, next_update);
		if (rc == VOUCH_ERR_INTERNAL) {
			vouch_log(VOUCH_LOG_ERROR, "ca.error", "call", "ocsp status lookup", NULL);
			rc = ocsp_status_only(OCSP_RESPONSE_STATUS_INTERNALERROR, resp, resp_len,
			                      ocsp_status);
			goto out_free;
		}
		if (rc != VOUCH_OK)
			goto out_free;
	}
	rc = VOUCH_ERR_CRYPTO;
	/* 1: nonce copied; 2: the request had none. */
	if (OCSP_copy_nonce(bs, oreq) <= 0)
		goto out_free;
	/* Signed by the delegated responder, whose certificate travels in the response. */
	if (OCSP_basic_sign(bs, ca->ocsp, vouch_p11_key_evp(&ca->ocsp_key), EVP_sha256(), NULL,
	                    0) != 1) {
		log_openssl("OCSP_basic_sign");
		goto out_free;
	}
	r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	if (r == NULL)
		goto out_free;
	rc = i2d_malloc(i2d_ocsp_resp_const, r, resp, resp_len);
	if (rc == VOUCH_OK && ocsp_status != NULL)
		*ocsp_status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
out_free:
	OCSP_RESPONSE_free(r);
	OCSP_BASICRESP_free(bs);
	OCSP_REQUEST_free(oreq);
	ASN1_TIME_free(this_update);
	ASN1_TIME_free(next_update);
	if (rc != VOUCH_OK)
		drop_openssl_errors();
	return rc;
}

/* ---- accessors and encodings ---- */

X509 *vouch_ca_root_cert(const struct vouch_ca *ca)
{
	return ca != NULL ? ca->root : NULL;
}

X509 *vouch_ca_issuing_cert(const struct vouch_ca *ca)
{
	return ca != NULL ? ca->issuing : NULL;
}

X509 *vouch_ca_ocsp_cert(const struct vouch_ca *ca)
{
	return ca != NULL ? ca->ocsp : NULL;
}

bool vouch_ca_is_admin_cert(const struct vouch_ca *ca, X509 *cert)
{
	return ca != NULL && ca->admin != NULL && cert != NULL && X509_cmp(ca->admin, cert) == 0;
}

int vouch_ca_fingerprint(const X509 *cert, char out[VOUCH_CA_FINGERPRINT_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (out != NULL)
		out[0] = '\0';
	if (cert == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1 || md_len != VOUCH_SHA256_LEN) {
		drop_openssl_errors();
		return VOUCH_ERR_CRYPTO;
	}
	hex_encode(md, md_len, out);
	return VOUCH_OK;
}

int vouch_ca_cert_der(const X509 *cert, uint8_t **der, size_t *der_len)
{
	if (der != NULL)
		*der = NULL;
	if (der_len != NULL)
		*der_len = 0;
	if (cert == NULL || der == NULL || der_len == NULL)
		return VOUCH_ERR_INVALID;
	return i2d_malloc(i2d_x509_const, cert, der, der_len);
}

int vouch_ca_certs_only(X509 *const *certs, size_t count, uint8_t **der, size_t *der_len)
{
	PKCS7 *p7;
	int rc = VOUCH_ERR_CRYPTO;

	if (der != NULL)
		*der = NULL;
	if (der_len != NULL)
		*der_len = 0;
	if (certs == NULL || count == 0 || der == NULL || der_len == NULL)
		return VOUCH_ERR_INVALID;
	p7 = PKCS7_new();
	if (p7 == NULL)
		return VOUCH_ERR_NOMEM;
	/* SignedData, no signers, eContentType id-data with the content absent (RFC 7030 4.1.3,
	 * the "degenerate" certs-only form of RFC 5751 3.6). */
	if (PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    PKCS7_content_new(p7, NID_pkcs7_data) != 1 || PKCS7_set_detached(p7, 1) != 1)
		goto out_free;
	for (size_t i = 0; i < count; i++) {
		if (certs[i] == NULL || PKCS7_add_certificate(p7, certs[i]) != 1)
			goto out_free;
	}
	rc = i2d_malloc(i2d_pkcs7_const, p7, der, der_len);
out_free:
	PKCS7_free(p7);
	if (rc != VOUCH_OK)
		drop_openssl_errors();
	return rc;
}

int vouch_ca_cacerts(const struct vouch_ca *ca, uint8_t **der, size_t *der_len)
{
	X509 *certs[2];

	if (ca == NULL) {
		if (der != NULL)
			*der = NULL;
		if (der_len != NULL)
			*der_len = 0;
		return VOUCH_ERR_INVALID;
	}
	certs[0] = ca->issuing;
	certs[1] = ca->root;
	return vouch_ca_certs_only(certs, 2, der, der_len);
}

/* An AttrOrOID that is an OID. */
static int csrattrs_push_oid(STACK_OF(ASN1_TYPE) * seq, int nid)
{
	ASN1_TYPE *t = ASN1_TYPE_new();

	if (t == NULL || ASN1_TYPE_set1(t, V_ASN1_OBJECT, OBJ_nid2obj(nid)) != 1 ||
	    sk_ASN1_TYPE_push(seq, t) <= 0) {
		ASN1_TYPE_free(t);
		return VOUCH_ERR_NOMEM;
	}
	return VOUCH_OK;
}

/* An AttrOrOID that is an Attribute { type, SET { OID } }, carried as its DER SEQUENCE. */
static int csrattrs_push_attr(STACK_OF(ASN1_TYPE) * seq, int type_nid, int value_nid)
{
	X509_ATTRIBUTE *attr;
	ASN1_STRING *s = NULL;
	ASN1_TYPE *t = NULL;
	unsigned char *der = NULL;
	int n;
	int rc = VOUCH_ERR_NOMEM;

	attr = X509_ATTRIBUTE_create(type_nid, V_ASN1_OBJECT, OBJ_nid2obj(value_nid));
	if (attr == NULL)
		return VOUCH_ERR_NOMEM;
	n = i2d_X509_ATTRIBUTE(attr, &der);
	if (n <= 0)
		goto out_free;
	s = ASN1_STRING_new();
	t = ASN1_TYPE_new();
	if (s == NULL || t == NULL || ASN1_STRING_set(s, der, n) != 1)
		goto out_free;
	ASN1_TYPE_set(t, V_ASN1_SEQUENCE, s);
	s = NULL;
	if (sk_ASN1_TYPE_push(seq, t) <= 0)
		goto out_free;
	t = NULL;
	rc = VOUCH_OK;
out_free:
	OPENSSL_free(der);
	ASN1_STRING_free(s);
	ASN1_TYPE_free(t);
	X509_ATTRIBUTE_free(attr);
	return rc;
}

int vouch_ca_csrattrs(uint8_t **der, size_t *der_len)
{
	STACK_OF(ASN1_TYPE) * seq;
	int rc = VOUCH_ERR_INTERNAL;

	if (der != NULL)
		*der = NULL;
	if (der_len != NULL)
		*der_len = 0;
	if (der == NULL || der_len == NULL)
		return VOUCH_ERR_INVALID;
	seq = sk_ASN1_TYPE_new_null();
	if (seq == NULL)
		return VOUCH_ERR_NOMEM;
	/* RFC 7030 4.5.2: sign with ecdsa-with-SHA256 and a P-256 key; Ed25519 is accepted too. */
	rc = csrattrs_push_oid(seq, NID_ecdsa_with_SHA256);
	if (rc == VOUCH_OK)
		rc = csrattrs_push_attr(seq, NID_X9_62_id_ecPublicKey, NID_X9_62_prime256v1);
	if (rc == VOUCH_OK)
		rc = csrattrs_push_oid(seq, NID_ED25519);
	if (rc == VOUCH_OK)
		rc = i2d_malloc(i2d_seq_any_const, seq, der, der_len);
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	return rc;
}

int vouch_ca_base64_encode(const uint8_t *der, size_t der_len, char **b64, size_t *b64_len)
{
	EVP_ENCODE_CTX *ctx;
	size_t cap;
	int n = 0;
	int total;
	int rc = VOUCH_ERR_CRYPTO;

	if (b64 != NULL)
		*b64 = NULL;
	if (b64_len != NULL)
		*b64_len = 0;
	if ((der == NULL && der_len > 0) || b64 == NULL || b64_len == NULL || der_len > INT_MAX / 2)
		return VOUCH_ERR_INVALID;
	/* 4 characters per 3 bytes, a newline per 48 bytes (64 columns), and the final NUL. */
	cap = (der_len + 2) / 3 * 4 + der_len / 48 + 3;
	*b64 = malloc(cap);
	ctx = EVP_ENCODE_CTX_new();
	if (*b64 == NULL || ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free;
	}
	EVP_EncodeInit(ctx);
	if (der_len > 0 && EVP_EncodeUpdate(ctx, (unsigned char *)*b64, &n, der, (int)der_len) != 1)
		goto out_free;
	total = n;
	EVP_EncodeFinal(ctx, (unsigned char *)*b64 + total, &n);
	total += n;
	(*b64)[total] = '\0';
	*b64_len = (size_t)total;
	rc = VOUCH_OK;
out_free:
	EVP_ENCODE_CTX_free(ctx);
	if (rc != VOUCH_OK) {
		free(*b64);
		*b64 = NULL;
	}
	return rc;
}

int vouch_ca_base64_decode(const char *b64, size_t b64_len, size_t max_len, uint8_t **der,
                           size_t *der_len)
{
	EVP_ENCODE_CTX *ctx;
	uint8_t *buf = NULL;
	int n = 0;
	int fin = 0;
	int rc = VOUCH_ERR_X509_MALFORMED;

	if (der != NULL)
		*der = NULL;
	if (der_len != NULL)
		*der_len = 0;
	if ((b64 == NULL && b64_len > 0) || der == NULL || der_len == NULL)
		return VOUCH_ERR_INVALID;
	if (b64_len == 0)
		return VOUCH_ERR_X509_MALFORMED;
	/* Line breaks make base64 longer than 4/3; twice the limit is a generous bound that still
	 * stops a huge body before any work is done on it. */
	if (b64_len > INT_MAX / 2 || b64_len / 2 > max_len + 64)
		return VOUCH_ERR_X509_TOO_LARGE;
	buf = malloc(b64_len / 4 * 3 + 3);
	ctx = EVP_ENCODE_CTX_new();
	if (buf == NULL || ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free;
	}
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, buf, &n, (const unsigned char *)b64, (int)b64_len) < 0 ||
	    EVP_DecodeFinal(ctx, buf + n, &fin) != 1)
		goto out_free;
	n += fin;
	if (n == 0)
		goto out_free;
	if ((size_t)n > max_len) {
		rc = VOUCH_ERR_X509_TOO_LARGE;
		goto out_free;
	}
	*der = buf;
	*der_len = (size_t)n;
	buf = NULL;
	rc = VOUCH_OK;
out_free:
	EVP_ENCODE_CTX_free(ctx);
	free(buf);
	return rc;
}

int vouch_ca_cert_pem(const X509 *cert, char **pem, size_t *pem_len)
{
	BIO *bio;
	char *data = NULL;
	long len;
	int rc = VOUCH_ERR_CRYPTO;

	if (pem != NULL)
		*pem = NULL;
	if (pem_len != NULL)
		*pem_len = 0;
	if (cert == NULL || pem == NULL || pem_len == NULL)
		return VOUCH_ERR_INVALID;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return VOUCH_ERR_NOMEM;
	if (PEM_write_bio_X509(bio, (X509 *)cert) != 1)
		goto out_free_bio;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0)
		goto out_free_bio;
	*pem = strndup(data, (size_t)len);
	if (*pem == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free_bio;
	}
	*pem_len = (size_t)len;
	rc = VOUCH_OK;
out_free_bio:
	BIO_free(bio);
	if (rc != VOUCH_OK)
		drop_openssl_errors();
	return rc;
}
