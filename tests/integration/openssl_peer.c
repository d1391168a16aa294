/*
 * The vouch side of the interoperability test with the `openssl` command line
 * (test_openssl_peer.sh). All cryptography goes through libvouch's crypto port; OpenSSL is used
 * here only to convert between the port's raw forms and the PEM/DER files the command line
 * reads and writes.
 *
 *   openssl_peer sign   p256|ed25519 MSG PUB.pem SIG     generate a key, sign MSG, write both
 *   openssl_peer verify p256|ed25519 PUB.pem MSG SIG     exit 0 verified, 1 did not verify
 *   openssl_peer ecdh   PEER_PUB.pem MY_PUB.pem SECRET   generate a key, agree with the peer
 *
 * P-256 signatures on disk are DER (as `openssl dgst` uses), Ed25519 ones raw. Exit status 2
 * means something other than a verification failure went wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "vouch/crypto.h"

#define EXIT_VERIFY_FAILED 1
#define EXIT_ERROR         2
#define FILE_MAX           (1024 * 1024)

/* SubjectPublicKeyInfo headers of the two key types (RFC 5480, RFC 8410); the raw key follows. */
static const uint8_t spki_p256[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                    0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                    0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
static const uint8_t spki_ed25519[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                       0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

static int read_file(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	*data = NULL;
	*len = 0;
	if (f == NULL) {
		perror(path);
		return VOUCH_ERR_IO;
	}
	buf = malloc(FILE_MAX);
	if (buf == NULL) {
		fclose(f);
		return VOUCH_ERR_NOMEM;
	}
	n = fread(buf, 1, FILE_MAX, f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, "%s: cannot read, or larger than %d bytes\n", path, FILE_MAX);
		free(buf);
		fclose(f);
		return VOUCH_ERR_IO;
	}
	fclose(f);
	*data = buf;
	*len = n;
	return VOUCH_OK;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = VOUCH_OK;

	if (f == NULL) {
		perror(path);
		return VOUCH_ERR_IO;
	}
	if (fwrite(data, 1, len, f) != len)
		rc = VOUCH_ERR_IO;
	if (fclose(f) != 0)
		rc = VOUCH_ERR_IO;
	return rc;
}

static enum vouch_key_type parse_type(const char *s)
{
	if (strcmp(s, "p256") == 0)
		return VOUCH_KEY_P256;
	if (strcmp(s, "ed25519") == 0)
		return VOUCH_KEY_ED25519;
	return VOUCH_KEY_NONE;
}

/* Write the public half of key as a PEM "PUBLIC KEY" (an SPKI, base64'd). */
static int write_public_pem(const struct vouch_key *key, const char *path)
{
	uint8_t der[sizeof(spki_p256) + VOUCH_P256_POINT_LEN];
	const uint8_t *hdr = key->type == VOUCH_KEY_P256 ? spki_p256 : spki_ed25519;
	size_t hdr_len = key->type == VOUCH_KEY_P256 ? sizeof(spki_p256) : sizeof(spki_ed25519);
	size_t raw_len = 0;
	int rc;
	BIO *bio;

	memcpy(der, hdr, hdr_len);
	rc = vouch_key_export_public(key, der + hdr_len, sizeof(der) - hdr_len, &raw_len);
	if (rc != VOUCH_OK)
		return rc;
	bio = BIO_new_file(path, "w");
	if (bio == NULL)
		return VOUCH_ERR_IO;
	if (PEM_write_bio(bio, "PUBLIC KEY", "", der, (long)(hdr_len + raw_len)) <= 0)
		rc = VOUCH_ERR_IO;
	BIO_free(bio);
	return rc;
}

/* Read a PEM public key and import its DER SPKI into the port. */
static int read_public_pem(const char *path, struct vouch_key *key)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *pkey;
	unsigned char *der = NULL;
	int der_len, rc;

	if (bio == NULL) {
		fprintf(stderr, "%s: cannot open\n", path);
		return VOUCH_ERR_IO;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		fprintf(stderr, "%s: not a PEM public key\n", path);
		return VOUCH_ERR_KEY;
	}
	der_len = i2d_PUBKEY(pkey, &der);
	EVP_PKEY_free(pkey);
	if (der_len <= 0)
		return VOUCH_ERR_KEY;
	rc = vouch_key_import_spki(key, der, (size_t)der_len);
	OPENSSL_free(der);
	return rc;
}

/* P-256 raw r||s -> DER ECDSA-Sig-Value. */
static int sig_raw_to_der(const uint8_t raw[VOUCH_P256_SIG_LEN], unsigned char **der, int *len)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);

	*der = NULL;
	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return VOUCH_ERR_NOMEM;
	}
	*len = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	return *len > 0 ? VOUCH_OK : VOUCH_ERR_INTERNAL;
}

/* DER ECDSA-Sig-Value -> raw r||s; anything that does not fit is not a P-256 signature. */
static int sig_der_to_raw(const uint8_t *der, size_t len, uint8_t raw[VOUCH_P256_SIG_LEN])
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	int rc = VOUCH_ERR_VERIFY;

	if (es == NULL)
		return VOUCH_ERR_VERIFY;
	ECDSA_SIG_get0(es, &r, &s);
	if (p == der + len && BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32)
		rc = VOUCH_OK;
	ECDSA_SIG_free(es);
	return rc;
}

/* The message in three pieces, so the iov path is what meets the real peer. */
static void split3(const uint8_t *msg, size_t len, struct vouch_iov iov[3])
{
	iov[0] = (struct vouch_iov){msg, len / 3};
	iov[1] = (struct vouch_iov){msg + len / 3, len / 3};
	iov[2] = (struct vouch_iov){msg + 2 * (len / 3), len - 2 * (len / 3)};
}

static int cmd_sign(enum vouch_key_type type, const char *msg_path, const char *pub_path,
                    const char *sig_path)
{
	struct vouch_key key;
	struct vouch_iov iov[3];
	uint8_t *msg = NULL, sig[VOUCH_ED25519_SIG_LEN];
	size_t msg_len, sig_len = 0;
	unsigned char *der = NULL;
	int der_len = 0, rc;

	vouch_key_init(&key);
	rc = read_file(msg_path, &msg, &msg_len);
	if (rc == VOUCH_OK)
		rc = vouch_key_generate(&key, type);
	if (rc == VOUCH_OK) {
		split3(msg, msg_len, iov);
		rc = vouch_sign(&key, iov, 3, sig, sizeof(sig), &sig_len);
	}
	if (rc == VOUCH_OK)
		rc = write_public_pem(&key, pub_path);
	if (rc == VOUCH_OK && type == VOUCH_KEY_P256) {
		rc = sig_raw_to_der(sig, &der, &der_len);
		if (rc == VOUCH_OK)
			rc = write_file(sig_path, der, (size_t)der_len);
	} else if (rc == VOUCH_OK) {
		rc = write_file(sig_path, sig, sig_len);
	}
	OPENSSL_free(der);
	free(msg);
	vouch_key_clear(&key);
	return rc;
}

static int cmd_verify(enum vouch_key_type type, const char *pub_path, const char *msg_path,
                      const char *sig_path)
{
	struct vouch_key key;
	struct vouch_iov iov[3];
	uint8_t *msg = NULL, *sig = NULL, raw[VOUCH_P256_SIG_LEN];
	size_t msg_len, sig_len;
	int rc;

	vouch_key_init(&key);
	rc = read_public_pem(pub_path, &key);
	if (rc == VOUCH_OK && key.type != type)
		rc = VOUCH_ERR_KEY;
	if (rc == VOUCH_OK)
		rc = read_file(msg_path, &msg, &msg_len);
	if (rc == VOUCH_OK)
		rc = read_file(sig_path, &sig, &sig_len);
	if (rc == VOUCH_OK) {
		split3(msg, msg_len, iov);
		if (type == VOUCH_KEY_P256) {
			rc = sig_der_to_raw(sig, sig_len, raw);
			if (rc == VOUCH_OK)
				rc = vouch_verify(&key, iov, 3, raw, sizeof(raw));
		} else {
			rc = vouch_verify(&key, iov, 3, sig, sig_len);
		}
	}
	free(msg);
	free(sig);
	vouch_key_clear(&key);
	return rc;
}

static int cmd_ecdh(const char *peer_path, const char *pub_path, const char *secret_path)
{
	struct vouch_key mine, peer;
	uint8_t z[VOUCH_P256_SCALAR_LEN];
	int rc;

	vouch_key_init(&mine);
	vouch_key_init(&peer);
	rc = read_public_pem(peer_path, &peer);
	if (rc == VOUCH_OK)
		rc = vouch_key_generate(&mine, VOUCH_KEY_P256);
	if (rc == VOUCH_OK)
		rc = write_public_pem(&mine, pub_path);
	if (rc == VOUCH_OK)
		rc = vouch_ecdh_p256(&mine, &peer, z);
	/* The secret goes to a file only because the test compares it with openssl's. */
	if (rc == VOUCH_OK)
		rc = write_file(secret_path, z, sizeof(z));
	vouch_wipe(z, sizeof(z));
	vouch_key_clear(&mine);
	vouch_key_clear(&peer);
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: openssl_peer sign p256|ed25519 MSG PUB.pem SIG\n"
	                "       openssl_peer verify p256|ed25519 PUB.pem MSG SIG\n"
	                "       openssl_peer ecdh PEER_PUB.pem MY_PUB.pem SECRET\n");
	return EXIT_ERROR;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc == 6 && strcmp(argv[1], "sign") == 0 && parse_type(argv[2]) != VOUCH_KEY_NONE)
		rc = cmd_sign(parse_type(argv[2]), argv[3], argv[4], argv[5]);
	else if (argc == 6 && strcmp(argv[1], "verify") == 0 &&
	         parse_type(argv[2]) != VOUCH_KEY_NONE)
		rc = cmd_verify(parse_type(argv[2]), argv[3], argv[4], argv[5]);
	else if (argc == 5 && strcmp(argv[1], "ecdh") == 0)
		rc = cmd_ecdh(argv[2], argv[3], argv[4]);
	else
		return usage();
	if (rc == VOUCH_OK)
		return 0;
	fprintf(stderr, "openssl_peer %s: %s\n", argv[1], vouch_strerror(rc));
	return rc == VOUCH_ERR_VERIFY ? EXIT_VERIFY_FAILED : EXIT_ERROR;
}
