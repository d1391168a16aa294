/*
 * Test helper for test_wallet_offline.sh: the state a wallet holds after a login, made without a
 * server, so that the wallet's offline checks can be tried on credentials no vouchd would issue
 * (expired, not yet valid, for another phone or user, from another issuer) and on revocation
 * lists that do or do not revoke them.
 *
 * Writes into OUT: keys.json (a site "forge" with a fresh credential issuer and list signer),
 * wallet.json (user alice, phone alice.0000f00d, the thumbprint of a fresh phone key), and
 *   cred-valid.cwt cred-expired.cwt cred-notyet.cwt cred-otherphone.cwt cred-otheruser.cwt
 *   cred-foreign.cwt                    (the last signed by a key the site does not have)
 *   list-v1.cbor                        (version 1, nothing revoked)
 *   list-v2-token.cbor                  (version 2, the token hash of cred-valid.cwt)
 *   list-v3-phone.cbor                  (version 3, the phone key's thumbprint)
 *   list-foreign.cbor                   (version 9, signed by a key the site does not have)
 * The private keys exist only in this process.
 *
 * usage: wallet_forge OUT
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vouch/common.h"
#include "vouch/cred.h"
#include "vouch/p11.h"
#include "vouch/revlist.h"

#define SITE  "forge"
#define ISS   "vouch:forge"
#define USER  "alice"
#define PHONE "alice.0000f00d"

static const char *out_dir;

static int write_file(const char *name, const void *buf, size_t len)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", out_dir, name);
	f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	ok = fwrite(buf, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* {"kid": thumbprint hex, "pem": SubjectPublicKeyInfo} of a key. */
static json_t *key_json(const struct vouch_key *k)
{
	uint8_t tp[VOUCH_THUMBPRINT_LEN];
	char kid[2 * VOUCH_THUMBPRINT_LEN + 1];
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long len;
	json_t *j = NULL;

	if (bio == NULL || vouch_cose_key_thumbprint(k, tp) != VOUCH_OK ||
	    PEM_write_bio_PUBKEY(bio, vouch_p11_key_evp(k)) != 1)
		goto out;
	hex(tp, sizeof(tp), kid);
	len = BIO_get_mem_data(bio, &pem);
	j = json_pack("{s:s, s:s%}", "kid", kid, "pem", pem, (size_t)len);
out:
	BIO_free(bio);
	return j;
}

static int write_json(const char *name, json_t *j)
{
	char *text = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	int rc = text != NULL ? write_file(name, text, strlen(text)) : -1;

	free(text);
	json_decref(j);
	return rc;
}

static int issue(const char *name, const struct vouch_key *issuer, const struct vouch_key *cnf,
                 const char *sub, const char *phone, int64_t iat, int64_t nbf, int64_t exp,
                 uint8_t *out, size_t *out_len)
{
	static const uint8_t perm[] = {0x80}; /* no permissions: one CBOR item all the same */
	struct vouch_cred_params p = {
	    .iss = ISS,
	    .sub = sub,
	    .aud = SITE,
	    .phone = phone,
	    .iat = iat,
	    .nbf = nbf,
	    .exp = exp,
	    .cnf = cnf,
	    .perm = perm,
	    .perm_len = sizeof(perm),
	};

	if (vouch_random(p.cti, sizeof(p.cti)) != VOUCH_OK ||
	    vouch_cred_issue(&p, issuer, out, VOUCH_CRED_MAX, out_len) != VOUCH_OK)
		return -1;
	return write_file(name, out, *out_len);
}

static int list(const char *name, const struct vouch_key *signer, uint64_t version,
                const struct vouch_revlist_entry *e, size_t n)
{
	static uint8_t buf[4096];
	struct vouch_revlist_params p = {
	    .iss = ISS,
	    .aud = SITE,
	    .version = version,
	    .issued_at = (int64_t)time(NULL),
	    .max_age = VOUCH_REVLIST_MAX_AGE,
	    .entries = e,
	    .n_entries = n,
	};
	size_t len;

	if (vouch_revlist_sign(&p, signer, buf, sizeof(buf), &len) != VOUCH_OK)
		return -1;
	return write_file(name, buf, len);
}

int main(int argc, char **argv)
{
	static uint8_t cred[VOUCH_CRED_MAX];
	struct vouch_key issuer, signer, phone, other, stranger;
	uint8_t tp[VOUCH_THUMBPRINT_LEN], token[VOUCH_TOKEN_HASH_LEN];
	char tp_hex[2 * VOUCH_THUMBPRINT_LEN + 1];
	struct vouch_revlist_entry e;
	int64_t now = (int64_t)time(NULL);
	size_t len;
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: wallet_forge OUT\n");
		return 2;
	}
	out_dir = argv[1];
	vouch_key_init(&issuer);
	vouch_key_init(&signer);
	vouch_key_init(&phone);
	vouch_key_init(&other);
	vouch_key_init(&stranger);
	if (vouch_key_generate(&issuer, VOUCH_KEY_P256) != VOUCH_OK ||
	    vouch_key_generate(&signer, VOUCH_KEY_P256) != VOUCH_OK ||
	    vouch_key_generate(&phone, VOUCH_KEY_P256) != VOUCH_OK ||
	    vouch_key_generate(&other, VOUCH_KEY_P256) != VOUCH_OK ||
	    vouch_key_generate(&stranger, VOUCH_KEY_P256) != VOUCH_OK ||
	    vouch_cose_key_thumbprint(&phone, tp) != VOUCH_OK)
		goto out;
	hex(tp, sizeof(tp), tp_hex);
	if (write_json("keys.json",
	               json_pack("{s:s, s:s, s:o, s:o}", "site", SITE, "iss", ISS, "issuer",
	                         key_json(&issuer), "revlist", key_json(&signer))) != 0 ||
	    write_json("wallet.json",
	               json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "format", 1, "server",
	                         "https://127.0.0.1:1", "ca", "ca.pem", "user", USER, "phone",
	                         PHONE, "site", SITE, "iss", ISS, "thumbprint", tp_hex)) != 0)
		goto out;
	if (issue("cred-expired.cwt", &issuer, &phone, USER, PHONE, now - 7200, now - 7200,
	          now - 3600, cred, &len) != 0 ||
	    issue("cred-notyet.cwt", &issuer, &phone, USER, PHONE, now, now + 3600, now + 7200,
	          cred, &len) != 0 ||
	    issue("cred-otherphone.cwt", &issuer, &other, USER, PHONE, now, now, now + 3600, cred,
	          &len) != 0 ||
	    issue("cred-otheruser.cwt", &issuer, &phone, "mallory", PHONE, now, now, now + 3600,
	          cred, &len) != 0 ||
	    issue("cred-foreign.cwt", &stranger, &phone, USER, PHONE, now, now, now + 3600, cred,
	          &len) != 0 ||
	    issue("cred-valid.cwt", &issuer, &phone, USER, PHONE, now - 60, now - 60, now + 3600,
	          cred, &len) != 0 ||
	    vouch_cred_token_hash(cred, len, token) != VOUCH_OK)
		goto out;
	e = (struct vouch_revlist_entry){VOUCH_REVLIST_TOKEN, token, sizeof(token), now};
	if (list("list-v1.cbor", &signer, 1, NULL, 0) != 0 ||
	    list("list-v2-token.cbor", &signer, 2, &e, 1) != 0)
		goto out;
	e = (struct vouch_revlist_entry){VOUCH_REVLIST_PHONE, tp, sizeof(tp), now};
	if (list("list-v3-phone.cbor", &signer, 3, &e, 1) != 0 ||
	    list("list-foreign.cbor", &stranger, 9, NULL, 0) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "wallet_forge: failed\n");
	vouch_key_clear(&issuer);
	vouch_key_clear(&signer);
	vouch_key_clear(&phone);
	vouch_key_clear(&other);
	vouch_key_clear(&stranger);
	return rc;
}
