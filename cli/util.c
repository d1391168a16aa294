/* File and key loading for the CLI. */
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vouch/cose.h"

int cli_read_file(const char *path, uint8_t **buf, size_t *len)
{
	int rc = VOUCH_ERR_IO;
	FILE *f;
	uint8_t *p;
	size_t n;

	*buf = NULL;
	*len = 0;
	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "vouch: cannot open %s: %s\n", path, strerror(errno));
		return VOUCH_ERR_IO;
	}
	p = malloc(CLI_MAX_INPUT + 1);
	if (p == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_close;
	}
	n = fread(p, 1, CLI_MAX_INPUT + 1, f);
	if (ferror(f)) {
		fprintf(stderr, "vouch: cannot read %s\n", path);
		goto out_free;
	}
	if (n > CLI_MAX_INPUT) {
		fprintf(stderr, "vouch: %s is larger than %u bytes\n", path, CLI_MAX_INPUT);
		rc = VOUCH_ERR_CBOR_LIMIT;
		goto out_free;
	}
	*buf = p;
	*len = n;
	p = NULL;
	rc = VOUCH_OK;
out_free:
	free(p);
out_close:
	if (f != stdin)
		fclose(f);
	return rc;
}

/* PEM SubjectPublicKeyInfo -> DER -> the port's SPKI import. */
static int load_pem(const uint8_t *pem, size_t len, struct vouch_key *key)
{
	int rc = VOUCH_ERR_KEY;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = NULL;
	unsigned char *der = NULL;
	int der_len;

	if (bio == NULL)
		return VOUCH_ERR_NOMEM;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (pkey == NULL)
		goto out_bio;
	der_len = i2d_PUBKEY(pkey, &der);
	if (der_len <= 0)
		goto out_pkey;
	rc = vouch_key_import_spki(key, der, (size_t)der_len);
	OPENSSL_free(der);
out_pkey:
	EVP_PKEY_free(pkey);
out_bio:
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

int cli_load_public_key(const char *path, struct vouch_key *key)
{
	int rc;
	uint8_t *buf;
	size_t len;
	struct vouch_cose_key ck;

	rc = cli_read_file(path, &buf, &len);
	if (rc != VOUCH_OK)
		return rc;
	if (len > 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
		rc = load_pem(buf, len, key);
	} else {
		rc = vouch_cose_key_decode(buf, len, &ck);
		if (rc == VOUCH_OK)
			rc = vouch_cose_key_to_public(&ck, key);
	}
	if (rc != VOUCH_OK)
		fprintf(stderr, "vouch: %s: not a usable public key: %s\n", path, vouch_strerror(rc));
	free(buf);
	return rc;
}
