/*
 * Example: issue a credential-shaped CWT with libvouch.
 *
 *   cwt_issue OUTDIR [SUBJECT [TTL_SECONDS]]
 *
 * Generates an issuer key and a holder ("phone") key inside the crypto back-end, and writes:
 *   OUTDIR/issuer.pem       the issuer's public key (PEM SubjectPublicKeyInfo)
 *   OUTDIR/credential.cwt   a CWT (tag 61, COSE_Sign1 ES256) with iss, sub, aud, iat, nbf, exp,
 *                           cti and cnf = the holder's public COSE_Key (RFC 8747)
 * No private key is written anywhere: both die with the process. In vouch proper the issuer key
 * lives in vouchd's PKCS#11 token and the holder key in the phone's.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vouch/cwt.h"

/* The issuer's public key as PEM, through OpenSSL (the port exports raw points only). */
static int write_pem(const char *path, const uint8_t *point, size_t point_len)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, point_len),
		OSSL_PARAM_END,
	};
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pkey = NULL;
	FILE *f = NULL;
	int rc = -1;

	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	f = fopen(path, "w");
	if (f != NULL && PEM_write_PUBKEY(f, pkey) == 1)
		rc = 0;
out:
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int write_file(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = (f != NULL && fwrite(p, 1, len, f) == len) ? 0 : -1;

	if (f != NULL && fclose(f) != 0)
		rc = -1;
	return rc;
}

int main(int argc, char **argv)
{
	struct vouch_key issuer, holder;
	uint8_t ipt[VOUCH_P256_POINT_LEN], hpt[VOUCH_P256_POINT_LEN], cnf[128], cti[16], cwt[1024];
	size_t ipt_len, hpt_len, cwt_len;
	struct vouch_cbor_writer w;
	struct vouch_cwt_claims c = {0};
	char path[4096];
	int64_t now = (int64_t)time(NULL);
	int rc = 1, err;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: cwt_issue OUTDIR [SUBJECT [TTL_SECONDS]]\n");
		return 2;
	}
	vouch_key_init(&issuer);
	vouch_key_init(&holder);
	err = vouch_key_generate(&issuer, VOUCH_KEY_P256);
	if (err == VOUCH_OK)
		err = vouch_key_generate(&holder, VOUCH_KEY_P256);
	if (err == VOUCH_OK)
		err = vouch_key_export_public(&issuer, ipt, sizeof(ipt), &ipt_len);
	if (err == VOUCH_OK)
		err = vouch_key_export_public(&holder, hpt, sizeof(hpt), &hpt_len);
	if (err == VOUCH_OK)
		err = vouch_random(cti, sizeof(cti));
	if (err != VOUCH_OK)
		goto out_err;

	vouch_cbor_writer_init(&w, cnf, sizeof(cnf));
	vouch_cose_key_write_public(&w, &holder, NULL, 0, VOUCH_COSE_ALG_ES256);
	err = vouch_cbor_writer_finish(&w, &c.cnf_len);
	if (err != VOUCH_OK)
		goto out_err;
	c.present = VOUCH_CWT_HAS_ISS | VOUCH_CWT_HAS_SUB | VOUCH_CWT_HAS_AUD | VOUCH_CWT_HAS_EXP |
		    VOUCH_CWT_HAS_NBF | VOUCH_CWT_HAS_IAT | VOUCH_CWT_HAS_CTI | VOUCH_CWT_HAS_CNF;
	c.iss = "https://vouch.example/issuer";
	c.iss_len = strlen(c.iss);
	c.sub = argc > 2 ? argv[2] : "alice";
	c.sub_len = strlen(c.sub);
	c.aud = "plant-1";
	c.aud_len = strlen(c.aud);
	c.iat = c.nbf = now;
	c.exp = now + (argc > 3 ? atoll(argv[3]) : 8 * 3600);
	c.cti = cti;
	c.cti_len = sizeof(cti);
	c.cnf_kind = VOUCH_CWT_CNF_COSE_KEY;
	c.cnf = cnf;
	err = vouch_cwt_sign(&c, NULL, 0, &issuer, (const uint8_t *)"issuer-1", 8, true, cwt,
			     sizeof(cwt), &cwt_len);
	if (err != VOUCH_OK)
		goto out_err;

	snprintf(path, sizeof(path), "%s/issuer.pem", argv[1]);
	if (write_pem(path, ipt, ipt_len) != 0) {
		fprintf(stderr, "cwt_issue: cannot write %s\n", path);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/credential.cwt", argv[1]);
	if (write_file(path, cwt, cwt_len) != 0) {
		fprintf(stderr, "cwt_issue: cannot write %s\n", path);
		goto out;
	}
	printf("issued a %zu-byte CWT for '%s', valid until %lld\n", cwt_len, c.sub,
	       (long long)c.exp);
	rc = 0;
	goto out;
out_err:
	fprintf(stderr, "cwt_issue: %s\n", vouch_strerror(err));
out:
	vouch_key_clear(&holder);
	vouch_key_clear(&issuer);
	return rc;
}
