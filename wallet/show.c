/*
 * The offline commands: what the wallet holds, checked against the keys pinned at login, without
 * the token (nothing here signs) and without the server.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vouch/common.h"
#include "wallet.h"

/* The pieces every command here needs: wallet.json, the keys, the list, the credential. */
struct view {
	struct held_list list;
	struct held_cred cred;
	int64_t now;
};

static void view_clear(struct view *v)
{
	w_cred_clear(&v->cred);
	w_list_clear(&v->list);
}

/* Load what is held. No credential: WALLET_REFUSED with a message (there is nothing to show). */
static int view_load(struct wallet *w, struct view *v)
{
	memset(v, 0, sizeof(*v));
	v->now = (int64_t)time(NULL);
	if (w_dir_open(w, false, NULL) != VOUCH_OK)
		return WALLET_ERROR;
	if (!w_exists(w, W_F_CRED)) {
		w_err("%s holds no credential: log in first", w->dir);
		return WALLET_REFUSED;
	}
	if (w_conf_load(w, true) != VOUCH_OK || w_keys_load(w) != VOUCH_OK)
		return WALLET_ERROR;
	if (w_list_load(w, &v->list) != VOUCH_OK)
		v->list.buf = NULL;
	if (w_cred_load(w, &v->list, v->now, &v->cred) != VOUCH_OK)
		return WALLET_ERROR;
	return WALLET_OK;
}

static int write_stdout(const uint8_t *buf, size_t len)
{
	if (isatty(STDOUT_FILENO)) {
		w_err("refusing to write binary data to a terminal: redirect it to a file or pipe");
		return WALLET_ERROR;
	}
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
		w_err("cannot write to stdout");
		return WALLET_ERROR;
	}
	return WALLET_OK;
}

/* Why the held credential may not be handed out, or WALLET_OK. */
static int usable(const struct view *v)
{
	char when[32];

	switch (v->cred.verdict) {
	case VOUCH_OK:
		break;
	case VOUCH_ERR_CWT_EXPIRED:
		w_iso_time(v->cred.cred.claims.exp, when);
		w_err("the held credential expired at %s: refresh it (vouch-wallet refresh)", when);
		return WALLET_REFUSED;
	case VOUCH_ERR_CWT_NOT_YET:
		w_err("the held credential is not valid yet (is the clock right?)");
		return WALLET_REFUSED;
	case VOUCH_ERR_REVOKED:
		w_err("the held credential is revoked by the held revocation list (version %" PRIu64
		      ")",
		      v->list.rl.version);
		return WALLET_REFUSED;
	default:
		w_err("the held credential does not verify: %s", vouch_strerror(v->cred.verdict));
		return WALLET_REFUSED;
	}
	/* Fail closed: without a list nothing says the credential is not revoked. */
	if (v->list.buf == NULL) {
		w_err("no revocation list is held to check the credential against: refresh first");
		return WALLET_REFUSED;
	}
	return WALLET_OK;
}

static const char *verdict_name(int verdict)
{
	switch (verdict) {
	case VOUCH_OK:
		return "valid";
	case VOUCH_ERR_CWT_EXPIRED:
		return "expired";
	case VOUCH_ERR_CWT_NOT_YET:
		return "not_yet_valid";
	case VOUCH_ERR_REVOKED:
		return "revoked";
	default:
		return "invalid";
	}
}

static int credential_show(const struct view *v)
{
	const struct vouch_cred *c = &v->cred.cred;
	char cti[2 * VOUCH_CRED_CTI_LEN + 1], iat[32], exp[32];
	json_t *j;
	char *text;
	size_t len;
	int rc = WALLET_ERROR;

	if (!v->cred.verified) {
		w_err("the held credential does not verify: %s", vouch_strerror(v->cred.verdict));
		return WALLET_REFUSED;
	}
	w_hex(c->claims.cti, c->claims.cti_len, cti);
	w_iso_time(c->claims.iat, iat);
	w_iso_time(c->claims.exp, exp);
	j = json_pack(
	    "{s:s%, s:s%, s:s%, s:s%, s:s, s:I, s:s, s:I, s:I, s:s, s:I, s:b, s:s, s:o}", "sub",
	    c->claims.sub, c->claims.sub_len, "phone", c->phone, c->phone_len, "iss", c->claims.iss,
	    c->claims.iss_len, "aud", c->claims.aud, c->claims.aud_len, "iat", iat, "iat_epoch",
	    (json_int_t)c->claims.iat, "exp", exp, "exp_epoch", (json_int_t)c->claims.exp,
	    "seconds_left", (json_int_t)(c->claims.exp - v->now), "cti", cti, "permissions_bytes",
	    (json_int_t)c->perm_len, "revoked", v->cred.verdict == VOUCH_ERR_REVOKED, "status",
	    verdict_name(v->cred.verdict), "revocations_version",
	    v->list.buf != NULL ? json_integer((json_int_t)v->list.rl.version) : json_null());
	text = j != NULL ? w_json_dump(j, &len) : NULL;
	if (text != NULL && fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0)
		rc = WALLET_OK;
	free(text);
	json_decref(j);
	return rc;
}

int w_cmd_credential(struct wallet *w, int argc, char **argv)
{
	struct view v;
	int rc;

	if (argc != 2 || (strcmp(argv[1], "export") != 0 && strcmp(argv[1], "show") != 0)) {
		w_err("usage: credential export | credential show");
		return WALLET_ERROR;
	}
	rc = view_load(w, &v);
	if (rc == WALLET_OK && strcmp(argv[1], "export") == 0) {
		rc = usable(&v);
		if (rc == WALLET_OK)
			rc = write_stdout(v.cred.buf, v.cred.len);
	} else if (rc == WALLET_OK) {
		rc = credential_show(&v);
	}
	view_clear(&v);
	return rc;
}

int w_cmd_revocations(struct wallet *w, int argc, char **argv)
{
	struct held_list list;
	int rc = WALLET_ERROR;

	if (argc != 2 || strcmp(argv[1], "export") != 0) {
		w_err("usage: revocations export");
		return WALLET_ERROR;
	}
	if (w_dir_open(w, false, NULL) != VOUCH_OK)
		return WALLET_ERROR;
	if (!w_exists(w, W_F_LIST)) {
		w_err("%s holds no revocation list: log in or refresh first", w->dir);
		return WALLET_REFUSED;
	}
	if (w_conf_load(w, true) != VOUCH_OK || w_keys_load(w) != VOUCH_OK)
		return WALLET_ERROR;
	if (w_list_load(w, &list) != VOUCH_OK)
		return WALLET_ERROR;
	if (list.buf != NULL)
		rc = write_stdout(list.buf, list.len);
	w_list_clear(&list);
	return rc;
}

/* The phone certificate's end of validity, or "" when there is none. */
static void phone_cert_end(const struct wallet *w, char out[32])
{
	char path[PATH_MAX];
	struct tm tm;
	FILE *f;
	X509 *x = NULL;

	out[0] = '\0';
	if (w_path(path, sizeof(path), w, W_F_PHONE) != VOUCH_OK)
		return;
	f = fopen(path, "r");
	if (f != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (x != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	X509_free(x);
	ERR_clear_error();
}

static void status_credential(const struct view *v)
{
	const struct vouch_cred *c = &v->cred.cred;
	char when[32], left[32];

	if (v->cred.buf == NULL) {
		printf("credential   none\n");
		return;
	}
	if (!v->cred.verified) {
		printf("credential   does not verify (%s)\n", vouch_strerror(v->cred.verdict));
		return;
	}
	w_iso_time(c->claims.exp, when);
	w_duration(c->claims.exp - v->now, left, sizeof(left));
	if (v->cred.verdict == VOUCH_OK)
		printf("credential   valid, %s left (until %s)\n", left, when);
	else if (v->cred.verdict == VOUCH_ERR_CWT_EXPIRED)
		printf("credential   expired %s ago (at %s)\n", left + 1, when);
	else
		printf("credential   %s (until %s)\n", verdict_name(v->cred.verdict), when);
}

static void status_list(const struct view *v)
{
	char age[32], max[32];

	if (v->list.buf == NULL) {
		printf("revocations  none\n");
		return;
	}
	w_duration(v->now - v->list.rl.issued_at, age, sizeof(age));
	w_duration(v->list.rl.max_age, max, sizeof(max));
	printf("revocations  version %" PRIu64 ", %zu entries, issued %s ago (max age %s)%s\n",
	       v->list.rl.version, v->list.rl.n_entries, age, max,
	       vouch_revlist_expired(&v->list.rl, v->now) ? ": too old, refresh" : "");
}

int w_cmd_status(struct wallet *w, int argc, char **argv)
{
	struct view v;
	char end[32];

	(void)argv;
	if (argc != 1) {
		w_err("usage: status");
		return WALLET_ERROR;
	}
	memset(&v, 0, sizeof(v));
	v.now = (int64_t)time(NULL);
	if (w_dir_open(w, false, NULL) != VOUCH_OK || w_conf_load(w, false) != VOUCH_OK)
		return WALLET_ERROR;
	printf("wallet       %s\n", w->dir);
	printf("server       %s\n", w->server != NULL ? w->server : "(none)");
	printf("user         %s\n", w->user != NULL ? w->user : "(none)");
	phone_cert_end(w, end);
	if (w->phone != NULL)
		printf("phone        %s, certificate until %s\n", w->phone, end[0] ? end : "?");
	else
		printf("phone        not registered\n");
	if (!w_exists(w, W_F_KEYS)) {
		printf("site         unknown: not logged in\n");
		return WALLET_OK;
	}
	if (w_keys_load(w) != VOUCH_OK)
		return WALLET_ERROR;
	printf("site         %s (issuer %s)\n", w->site, w->iss);
	if (w_list_load(w, &v.list) != VOUCH_OK)
		v.list.buf = NULL;
	if (w_cred_load(w, &v.list, v.now, &v.cred) != VOUCH_OK) {
		view_clear(&v);
		return WALLET_ERROR;
	}
	status_credential(&v);
	status_list(&v);
	view_clear(&v);
	return WALLET_OK;
}
