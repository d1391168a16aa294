/*
 * The phone's keystore: a SoftHSM2 token of the wallet's own (WDIR/softhsm2.conf, WDIR/tokens)
 * whose user PIN is the person's unlock PIN, holding the phone key (P-256, generated inside,
 * sensitive, never extractable). The SO PIN is random and kept 0600 in WDIR.
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vouch/common.h"
#include "vouch/log.h"
#include "wallet.h"

#define OPEN_ATTEMPTS 4

/*
 * SoftHSM2 rewrites a token's file at every login, and a process that scans the token directory
 * at that moment may miss the token: with `run` and another command at once, an open can fail
 * for that reason alone, so it is retried with the library's error lines silenced until the last
 * attempt. A wrong PIN is not retried.
 */
static int open_token(struct wallet *w, const char *pin)
{
	struct timespec pause = {0, 0};
	FILE *quiet = fopen("/dev/null", "w");
	int err = VOUCH_ERR_P11, attempt;

	for (attempt = 1; attempt <= OPEN_ATTEMPTS; attempt++) {
		vouch_log_init(W_PROG, VOUCH_LOG_WARN, attempt < OPEN_ATTEMPTS ? quiet : NULL);
		err = vouch_p11_open_pin(&w->p11, NULL, W_TOKEN_LABEL, pin);
		if ((err != VOUCH_ERR_P11 && err != VOUCH_ERR_P11_NOT_FOUND) ||
		    attempt == OPEN_ATTEMPTS)
			break;
		pause.tv_nsec = (20L << attempt) * 1000000L + (long)(getpid() % 20) * 1000000L;
		nanosleep(&pause, NULL);
	}
	vouch_log_init(W_PROG, VOUCH_LOG_WARN, NULL);
	if (quiet != NULL)
		fclose(quiet);
	return err;
}

/* Create the token with the chosen PIN. */
static int create_token(struct wallet *w, const char *pin)
{
	char so_pin[PATH_MAX];
	int err;

	if (w_path(so_pin, sizeof(so_pin), w, W_F_SO_PIN) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	err = vouch_p11_softhsm_init(w->dir);
	if (err == VOUCH_OK)
		err = vouch_p11_token_create_pin(NULL, W_TOKEN_LABEL, pin, so_pin);
	if (err != VOUCH_OK)
		w_err("cannot create the wallet's token in %s: %s", w->dir, vouch_strerror(err));
	return err;
}

/* Load the phone key (generating it first when allowed and absent) and its thumbprint. */
static int load_phone_key(struct wallet *w, bool create)
{
	static const uint8_t id[] = {'p', 'h', 'o', 'n', 'e'};
	uint8_t tp[VOUCH_THUMBPRINT_LEN];
	char hex[2 * VOUCH_THUMBPRINT_LEN + 1];
	int err;

	if (!vouch_p11_object_exists(w->p11, W_KEY_LABEL)) {
		if (!create) {
			w_err("the wallet's token holds no phone key: log in again");
			return VOUCH_ERR_P11_NOT_FOUND;
		}
		err = vouch_p11_key_generate(w->p11, VOUCH_KEY_P256, W_KEY_LABEL, id, sizeof(id));
		if (err != VOUCH_OK) {
			w_err("cannot generate the phone key: %s", vouch_strerror(err));
			return err;
		}
	}
	err = vouch_p11_key_load(w->p11, W_KEY_LABEL, &w->phone_key);
	if (err == VOUCH_OK)
		err = vouch_p11_key_load_public(w->p11, W_KEY_LABEL, &w->phone_pub);
	if (err == VOUCH_OK)
		err = vouch_cose_key_thumbprint(&w->phone_pub, tp);
	if (err != VOUCH_OK) {
		w_err("cannot load the phone key: %s", vouch_strerror(err));
		return err;
	}
	memcpy(w->thumbprint, tp, sizeof(tp));
	if (w->thumbprint_hex == NULL) {
		w_hex(tp, sizeof(tp), hex);
		return w_conf_set(w, "thumbprint", hex);
	}
	if (!w_hex_equal(w->thumbprint_hex, tp, sizeof(tp))) {
		w_err("the token's phone key is not the one this wallet registered");
		return VOUCH_ERR_KEY;
	}
	return VOUCH_OK;
}

/* Whether the wallet has its token yet (its SO PIN file is written when it is created). */
bool w_token_exists(const struct wallet *w)
{
	return w_exists(w, W_F_SO_PIN);
}

/*
 * Unlock the token with the person's PIN and load the phone key. create (login): make the token
 * and the key when they do not exist yet. VOUCH_ERR_P11_PIN: the PIN is wrong.
 */
int w_token_unlock(struct wallet *w, bool create, const char *pin)
{
	bool fresh = !w_token_exists(w);
	int err;

	if (fresh && !create) {
		w_err("%s has no token: log in first", w->dir);
		return VOUCH_ERR_P11_NOT_FOUND;
	}
	if (fresh) {
		err = create_token(w, pin);
		if (err != VOUCH_OK)
			return err;
	} else {
		err = vouch_p11_softhsm_use(w->dir);
		if (err != VOUCH_OK) {
			w_err("cannot use the wallet's token configuration: %s",
			      vouch_strerror(err));
			return err;
		}
	}
	err = open_token(w, pin);
	if (err == VOUCH_ERR_P11_PIN) {
		w_err("the unlock PIN is wrong");
		return err;
	}
	if (err != VOUCH_OK) {
		w_err("cannot open the wallet's token: %s", vouch_strerror(err));
		return err;
	}
	return load_phone_key(w, create);
}

/* A PKCS#10 request for the phone key, signed inside the token (DER, malloc()ed). */
int w_token_csr(struct wallet *w, uint8_t **der, size_t *der_len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	EVP_PKEY *pub = vouch_p11_key_evp(&w->phone_pub);
	unsigned char *out = NULL;
	int n, rc = VOUCH_ERR_CRYPTO;

	*der = NULL;
	*der_len = 0;
	if (req == NULL || name == NULL || pub == NULL)
		goto out_free;
	/* The CA names the phone (CN = its phone id); this subject is only a hint. */
	if (X509_REQ_set_version(req, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)w->user,
	                               -1, -1, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, pub) != 1)
		goto out_free;
	if (X509_REQ_sign(req, vouch_p11_key_evp(&w->phone_key), EVP_sha256()) <= 0 ||
	    X509_REQ_verify(req, pub) != 1) {
		w_err("the token did not sign the certificate request");
		goto out_free;
	}
	n = i2d_X509_REQ(req, &out);
	if (n <= 0)
		goto out_free;
	*der = malloc((size_t)n);
	if (*der == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free;
	}
	memcpy(*der, out, (size_t)n);
	*der_len = (size_t)n;
	rc = VOUCH_OK;
out_free:
	vouch_log_openssl_errors("wallet.csr");
	OPENSSL_free(out);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return rc;
}
