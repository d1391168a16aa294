/*
 * Test helper for test_pki_badinput.sh: an expired certificate of a site's own issuing CA.
 *
 * No vouchd profile lives less than an hour, so a test cannot wait for a real certificate to
 * expire. This signs a copy of CERT (same subject, key and extensions) with validity two days to
 * one day ago, using the issuing key inside the site's "vouch-ca" token (DIR/token.pin), as
 * vouchd would. The result is not in vouchd's store: re-enrolment must refuse it as expired.
 *
 * usage: pki_backdate DIR CERT.pem OUT.pem
 */
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>

#include "vouch/p11.h"

static X509 *read_pem(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

/* A random positive 127-bit serial, like vouchd's. */
static int set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int ok = bn != NULL && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
	         BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;

	BN_free(bn);
	return ok;
}

int main(int argc, char **argv)
{
	char path[4096];
	struct vouch_p11 *p11 = NULL;
	struct vouch_key key;
	X509 *issuing = NULL, *x = NULL;
	FILE *out;
	int err, rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: pki_backdate DIR CERT.pem OUT.pem\n");
		return 2;
	}
	vouch_key_init(&key);
	snprintf(path, sizeof(path), "%s/ca/issuing.pem", argv[1]);
	issuing = read_pem(path);
	x = read_pem(argv[2]);
	if (issuing == NULL || x == NULL) {
		fprintf(stderr, "pki_backdate: cannot read %s or %s\n", path, argv[2]);
		goto out;
	}
	err = vouch_p11_softhsm_use(argv[1]);
	if (err == VOUCH_OK) {
		snprintf(path, sizeof(path), "%s/token.pin", argv[1]);
		err = vouch_p11_open(&p11, NULL, "vouch-ca", path);
	}
	if (err == VOUCH_OK)
		err = vouch_p11_key_load(p11, "issuing", &key);
	if (err != VOUCH_OK) {
		fprintf(stderr, "pki_backdate: the issuing key: %s\n", vouch_strerror(err));
		goto out;
	}
	if (!set_serial(x) || X509_gmtime_adj(X509_getm_notBefore(x), -2L * 86400) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), -1L * 86400) == NULL ||
	    X509_set_issuer_name(x, X509_get_subject_name(issuing)) != 1 ||
	    X509_sign(x, vouch_p11_key_evp(&key), EVP_sha256()) <= 0) {
		fprintf(stderr, "pki_backdate: signing failed\n");
		ERR_print_errors_fp(stderr);
		goto out;
	}
	out = fopen(argv[3], "w");
	if (out == NULL || PEM_write_X509(out, x) != 1) {
		fprintf(stderr, "pki_backdate: cannot write %s\n", argv[3]);
		if (out != NULL)
			fclose(out);
		goto out;
	}
	rc = fclose(out) == 0 ? 0 : 1;
out:
	X509_free(x);
	X509_free(issuing);
	vouch_key_clear(&key);
	vouch_p11_close(p11);
	return rc;
}
