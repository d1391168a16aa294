/*
 * vouch-sensor: the PKCS#10 certification request (RFC 2986) of the identity key, signed inside
 * the secure element. Mbed TLS 2.28 cannot write a CSR with a key it does not hold (its PSA
 * opaque keys need MBEDTLS_USE_PSA_CRYPTO), so the request is assembled here from its ASN.1
 * writers: CertificationRequestInfo (version 0, subject, SubjectPublicKeyInfo from the exported
 * point, no attributes) is signed through the crypto port, and the raw r||s signature becomes
 * the DER Ecdsa-Sig-Value of ecdsa-with-SHA256 (RFC 5758: no parameters).
 */
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509.h>

#include "sensor.h"

#define CRI_MAX 512

/* Each writer below returns the bytes it added in front of *p (ASN.1 is written backwards), or
 * a negative Mbed TLS error. */

static int write_spki(unsigned char **p, unsigned char *start,
                      const uint8_t point[VOUCH_P256_POINT_LEN])
{
	mbedtls_pk_context pk;
	mbedtls_ecp_keypair *ec;
	int ret;

	mbedtls_pk_init(&pk);
	ret = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (ret != 0)
		goto out_free;
	ec = mbedtls_pk_ec(pk);
	ret = mbedtls_ecp_group_load(&ec->grp, MBEDTLS_ECP_DP_SECP256R1);
	if (ret == 0)
		ret = mbedtls_ecp_point_read_binary(&ec->grp, &ec->Q, point, VOUCH_P256_POINT_LEN);
	if (ret == 0)
		ret = mbedtls_ecp_check_pubkey(&ec->grp, &ec->Q);
	if (ret != 0)
		goto out_free;
	/* It writes at the end of the buffer it is given: that is just before *p. */
	ret = mbedtls_pk_write_pubkey_der(&pk, start, (size_t)(*p - start));
	if (ret > 0)
		*p -= ret;
out_free:
	mbedtls_pk_free(&pk);
	return ret;
}

static int write_cri(unsigned char **p, unsigned char *start, const char *cn,
                     const uint8_t point[VOUCH_P256_POINT_LEN])
{
	mbedtls_asn1_named_data *names = NULL;
	char subject[8 + VOUCH_POLICY_NAME_MAX];
	size_t len = 0;
	int ret;

	/* attributes [0] IMPLICIT SET OF Attribute: none */
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, 0));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start,
	                                                 MBEDTLS_ASN1_CONTEXT_SPECIFIC |
	                                                     MBEDTLS_ASN1_CONSTRUCTED | 0));
	MBEDTLS_ASN1_CHK_ADD(len, write_spki(p, start, point));
	memcpy(subject, "CN=", 3);
	memcpy(subject + 3, cn, strlen(cn) + 1);
	ret = mbedtls_x509_string_to_names(&names, subject);
	if (ret == 0)
		ret = mbedtls_x509_write_names(p, start, names);
	mbedtls_asn1_free_named_data_list(&names);
	if (ret < 0)
		return ret;
	len += (size_t)ret;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_int(p, start, 0));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(
	                              p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	return (int)len;
}

static int write_integer(unsigned char **p, unsigned char *start, const uint8_t *be, size_t n)
{
	mbedtls_mpi x;
	int ret;

	mbedtls_mpi_init(&x);
	ret = mbedtls_mpi_read_binary(&x, be, n);
	if (ret == 0)
		ret = mbedtls_asn1_write_mpi(p, start, &x);
	mbedtls_mpi_free(&x);
	return ret;
}

/* signatureAlgorithm and signature: AlgorithmIdentifier, BIT STRING { Ecdsa-Sig-Value }. */
static int write_sig(unsigned char **p, unsigned char *start, const uint8_t sig[VOUCH_P256_SIG_LEN])
{
	size_t len = 0, alg = 0;
	int ret;

	MBEDTLS_ASN1_CHK_ADD(len, write_integer(p, start, sig + 32, 32));
	MBEDTLS_ASN1_CHK_ADD(len, write_integer(p, start, sig, 32));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(
	                              p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	if (*p - start < 1)
		return MBEDTLS_ERR_ASN1_BUF_TOO_SMALL;
	*--(*p) = 0; /* no unused bits */
	len++;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_BIT_STRING));
	MBEDTLS_ASN1_CHK_ADD(alg,
	                     mbedtls_asn1_write_oid(p, start, MBEDTLS_OID_ECDSA_SHA256,
	                                            MBEDTLS_OID_SIZE(MBEDTLS_OID_ECDSA_SHA256)));
	MBEDTLS_ASN1_CHK_ADD(alg, mbedtls_asn1_write_len(p, start, alg));
	MBEDTLS_ASN1_CHK_ADD(alg, mbedtls_asn1_write_tag(
	                              p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	return (int)(len + alg);
}

static bool cn_ok(const char *cn)
{
	size_t n = strlen(cn);

	if (n == 0 || n > VOUCH_POLICY_NAME_MAX)
		return false;
	/* Nothing the subject-string parser would read as syntax. */
	return strpbrk(cn, ",=+\\\"<>;#") == NULL;
}

int sensor_csr_make(const struct vouch_key *key, const char *cn, uint8_t *out, size_t cap,
                    size_t *out_len)
{
	uint8_t cri[CRI_MAX], point[VOUCH_P256_POINT_LEN], sig[VOUCH_P256_SIG_LEN];
	unsigned char *c = cri + sizeof(cri), *q = out + cap;
	struct vouch_iov iov;
	size_t plen = 0, slen = 0, len = 0;
	int ret, rc;

	*out_len = 0;
	if (key->type != VOUCH_KEY_P256 || !cn_ok(cn))
		return VOUCH_ERR_INVALID;
	rc = vouch_key_export_public(key, point, sizeof(point), &plen);
	if (rc != VOUCH_OK)
		return rc;
	if (plen != sizeof(point))
		return VOUCH_ERR_KEY;
	ret = write_cri(&c, cri, cn, point);
	if (ret < 0)
		return VOUCH_ERR_INTERNAL;
	iov.base = c;
	iov.len = (size_t)ret;
	rc = vouch_sign(key, &iov, 1, sig, sizeof(sig), &slen);
	if (rc != VOUCH_OK)
		return rc;
	if (slen != sizeof(sig))
		return VOUCH_ERR_CRYPTO;
	ret = write_sig(&q, out, sig);
	if (ret < 0)
		return VOUCH_ERR_BUFFER;
	len = (size_t)ret;
	ret = mbedtls_asn1_write_raw_buffer(&q, out, iov.base, iov.len);
	if (ret < 0)
		return VOUCH_ERR_BUFFER;
	len += (size_t)ret;
	ret = mbedtls_asn1_write_len(&q, out, len);
	if (ret < 0)
		return VOUCH_ERR_BUFFER;
	len += (size_t)ret;
	ret = mbedtls_asn1_write_tag(&q, out, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
	if (ret < 0)
		return VOUCH_ERR_BUFFER;
	len += (size_t)ret;
	memmove(out, q, len);
	*out_len = len;
	return VOUCH_OK;
}
