/*
 * The wallet directory: private files written atomically (a reader never sees half a file, a
 * crash never leaves one), a lock serialising the commands that change state, wallet.json, the
 * pinned site keys, and the held credential and revocation list checked against those keys.
 */
#define _DEFAULT_SOURCE /* O_NOFOLLOW, O_CLOEXEC, flock */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vouch/common.h"
#include "wallet.h"

#define CONF_MAX    (64u << 10)
#define KEYS_MAX    (64u << 10)
#define CONF_FORMAT 1

int w_path(char *out, size_t cap, const struct wallet *w, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", w->dir, name);

	if (n < 0 || (size_t)n >= cap) {
		w_err("path too long: %s/%s", w->dir, name);
		return VOUCH_ERR_INVALID;
	}
	return VOUCH_OK;
}

bool w_exists(const struct wallet *w, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	return w_path(path, sizeof(path), w, name) == VOUCH_OK && lstat(path, &st) == 0;
}

/* A whole state file of at most max bytes (a NUL follows it); VOUCH_ERR_STORE_NOT_FOUND when
 * there is none. */
int w_read(const struct wallet *w, const char *name, size_t max, uint8_t **buf, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	uint8_t *p = NULL;
	size_t off = 0;
	int fd, rc = VOUCH_ERR_IO;

	*buf = NULL;
	*len = 0;
	if (w_path(path, sizeof(path), w, name) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return VOUCH_ERR_STORE_NOT_FOUND;
		w_err("cannot open %s: %s", path, strerror(errno));
		return VOUCH_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size > max) {
		w_err("%s is not a regular file of at most %zu bytes", path, max);
		goto out_close;
	}
	p = malloc((size_t)st.st_size + 1);
	if (p == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_close;
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, p + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w_err("cannot read %s", path);
			goto out_close;
		}
		off += (size_t)n;
	}
	p[off] = 0;
	*buf = p;
	*len = off;
	p = NULL;
	rc = VOUCH_OK;
out_close:
	free(p);
	close(fd);
	return rc;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = VOUCH_ERR_IO;

	if (fd < 0)
		return VOUCH_ERR_IO;
	if (fsync(fd) == 0)
		rc = VOUCH_OK;
	close(fd);
	return rc;
}

/* Replace a state file atomically: a private temporary file, synced, renamed over the old. */
int w_write(const struct wallet *w, const char *name, const void *buf, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	size_t off = 0;
	int fd, rc = VOUCH_ERR_IO;

	if (w_path(path, sizeof(path), w, name) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* A leftover of a crash; the lock keeps two writers apart. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		w_err("cannot create %s: %s", tmp, strerror(errno));
		return VOUCH_ERR_IO;
	}
	while (off < len) {
		ssize_t n = write(fd, (const uint8_t *)buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out_close;
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto out_close;
	rc = VOUCH_OK;
out_close:
	if (close(fd) != 0)
		rc = VOUCH_ERR_IO;
	if (rc == VOUCH_OK && rename(tmp, path) != 0)
		rc = VOUCH_ERR_IO;
	if (rc == VOUCH_OK)
		rc = fsync_dir(w->dir);
	if (rc != VOUCH_OK) {
		w_err("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	return rc;
}

/*
 * WDIR must be a directory of ours that nobody else may enter: it holds the token. Created 0700
 * when create is set and it does not exist (its parent must).
 */
int w_dir_open(struct wallet *w, bool create, bool *created)
{
	struct stat st;

	if (created != NULL)
		*created = false;
	if (lstat(w->dir, &st) != 0) {
		if (errno != ENOENT || !create) {
			w_err("no wallet at %s (vouch-wallet --wallet %s login ... creates it)",
			      w->dir, w->dir);
			return VOUCH_ERR_STORE_NOT_FOUND;
		}
		if (mkdir(w->dir, 0700) != 0 || chmod(w->dir, 0700) != 0) {
			w_err("cannot create %s: %s", w->dir, strerror(errno));
			return VOUCH_ERR_IO;
		}
		if (created != NULL)
			*created = true;
		return VOUCH_OK;
	}
	if (!S_ISDIR(st.st_mode)) {
		w_err("%s is not a directory", w->dir);
		return VOUCH_ERR_IO;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		w_err("%s must be a private directory of this user (chmod 700)", w->dir);
		return VOUCH_ERR_IO;
	}
	return VOUCH_OK;
}

int w_lock(struct wallet *w)
{
	char path[PATH_MAX];
	int fd;

	if (w->lock_fd >= 0)
		return VOUCH_OK;
	if (w_path(path, sizeof(path), w, W_F_LOCK) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		w_err("cannot open %s: %s", path, strerror(errno));
		return VOUCH_ERR_IO;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			w_err("cannot lock %s: %s", path, strerror(errno));
			close(fd);
			return VOUCH_ERR_IO;
		}
	}
	w->lock_fd = fd;
	return VOUCH_OK;
}

void w_unlock(struct wallet *w)
{
	if (w->lock_fd < 0)
		return;
	close(w->lock_fd);
	w->lock_fd = -1;
}

/* ---- wallet.json ---- */

static const char *conf_str(const struct wallet *w, const char *key)
{
	return json_string_value(json_object_get(w->conf, key));
}

static void conf_refresh(struct wallet *w)
{
	w->server = conf_str(w, "server");
	w->user = conf_str(w, "user");
	w->phone = conf_str(w, "phone");
	w->thumbprint_hex = conf_str(w, "thumbprint");
}

/* Load wallet.json; when it is absent, required says whether that is an error (else an empty
 * configuration is started). */
int w_conf_load(struct wallet *w, bool required)
{
	uint8_t *buf;
	size_t len;
	json_error_t jerr;
	int rc = w_read(w, W_F_CONF, CONF_MAX, &buf, &len);

	json_decref(w->conf);
	w->conf = NULL;
	if (rc == VOUCH_ERR_STORE_NOT_FOUND && !required) {
		w->conf = json_pack("{s:i}", "format", CONF_FORMAT);
		if (w->conf == NULL)
			return VOUCH_ERR_NOMEM;
		conf_refresh(w);
		return VOUCH_OK;
	}
	if (rc == VOUCH_ERR_STORE_NOT_FOUND) {
		w_err("%s has no %s: log in first (vouch-wallet --wallet %s login ...)", w->dir,
		      W_F_CONF, w->dir);
		return rc;
	}
	if (rc != VOUCH_OK)
		return rc;
	w->conf = json_loadb((const char *)buf, len, 0, &jerr);
	free(buf);
	if (!json_is_object(w->conf) ||
	    json_integer_value(json_object_get(w->conf, "format")) != CONF_FORMAT) {
		w_err("%s/%s is not a wallet configuration of format %d", w->dir, W_F_CONF,
		      CONF_FORMAT);
		json_decref(w->conf);
		w->conf = NULL;
		return VOUCH_ERR_STORE_CORRUPT;
	}
	conf_refresh(w);
	return VOUCH_OK;
}

int w_conf_set(struct wallet *w, const char *key, const char *value)
{
	if (json_object_set_new(w->conf, key, value != NULL ? json_string(value) : json_null()) !=
	    0)
		return VOUCH_ERR_NOMEM;
	conf_refresh(w);
	return VOUCH_OK;
}

int w_conf_save(struct wallet *w)
{
	size_t len;
	char *text = w_json_dump(w->conf, &len);
	int rc;

	if (text == NULL)
		return VOUCH_ERR_NOMEM;
	rc = w_write(w, W_F_CONF, text, len);
	free(text);
	return rc;
}

/* ---- the site keys ---- */

/* One key of /keys: {"kid": hex thumbprint, "pem": SubjectPublicKeyInfo}; P-256 and its kid. */
static int key_from_json(const json_t *o, const char *what, struct vouch_key *key)
{
	const char *pem = json_string_value(json_object_get(o, "pem"));
	const char *kid = json_string_value(json_object_get(o, "kid"));
	uint8_t tp[VOUCH_THUMBPRINT_LEN];
	unsigned char *der = NULL;
	EVP_PKEY *pk = NULL;
	BIO *bio;
	int n, rc = VOUCH_ERR_KEY;

	if (pem == NULL || kid == NULL || strlen(pem) > INT_MAX) {
		w_err("the site keys lack the %s key's pem or kid", what);
		return VOUCH_ERR_KEY;
	}
	bio = BIO_new_mem_buf(pem, (int)strlen(pem));
	if (bio != NULL)
		pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	n = pk != NULL ? i2d_PUBKEY(pk, &der) : -1;
	ERR_clear_error();
	if (n <= 0 || vouch_key_import_spki(key, der, (size_t)n) != VOUCH_OK ||
	    key->type != VOUCH_KEY_P256) {
		w_err("the site's %s key is not a P-256 public key", what);
		goto out_free;
	}
	if (vouch_cose_key_thumbprint(key, tp) != VOUCH_OK || !w_hex_equal(kid, tp, sizeof(tp))) {
		w_err("the site's %s key does not match its kid", what);
		goto out_free;
	}
	rc = VOUCH_OK;
out_free:
	if (rc != VOUCH_OK)
		vouch_key_clear(key);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	return rc;
}

/* Take keys (the /keys document) into w: both keys checked, site and iss present. */
static int keys_take(struct wallet *w, json_t *keys)
{
	struct vouch_key issuer, signer;
	const char *site = json_string_value(json_object_get(keys, "site"));
	const char *iss = json_string_value(json_object_get(keys, "iss"));
	int rc;

	if (site == NULL || iss == NULL || site[0] == '\0' || iss[0] == '\0') {
		w_err("the site keys lack the site id or the issuer name");
		return VOUCH_ERR_KEY;
	}
	vouch_key_init(&issuer);
	vouch_key_init(&signer);
	rc = key_from_json(json_object_get(keys, "issuer"), "credential issuer", &issuer);
	if (rc == VOUCH_OK)
		rc = key_from_json(json_object_get(keys, "revlist"), "revocation list", &signer);
	if (rc != VOUCH_OK) {
		vouch_key_clear(&issuer);
		vouch_key_clear(&signer);
		return rc;
	}
	vouch_key_clear(&w->issuer);
	vouch_key_clear(&w->revlist_key);
	w->issuer = issuer;
	w->revlist_key = signer;
	json_incref(keys);
	json_decref(w->keys);
	w->keys = keys;
	w->site = site;
	w->iss = iss;
	return VOUCH_OK;
}

/* Check and pin the /keys document: keys.json, and site and iss in wallet.json. */
int w_keys_pin(struct wallet *w, const json_t *keys)
{
	json_t *copy = json_deep_copy(keys);
	char *text;
	size_t len;
	int rc;

	if (copy == NULL)
		return VOUCH_ERR_NOMEM;
	rc = keys_take(w, copy);
	json_decref(copy);
	if (rc != VOUCH_OK)
		return rc;
	text = w_json_dump(w->keys, &len);
	if (text == NULL)
		return VOUCH_ERR_NOMEM;
	rc = w_write(w, W_F_KEYS, text, len);
	free(text);
	if (rc == VOUCH_OK)
		rc = w_conf_set(w, "site", w->site);
	if (rc == VOUCH_OK)
		rc = w_conf_set(w, "iss", w->iss);
	return rc;
}

int w_keys_load(struct wallet *w)
{
	uint8_t *buf;
	size_t len;
	json_t *keys;
	int rc = w_read(w, W_F_KEYS, KEYS_MAX, &buf, &len);

	if (rc == VOUCH_ERR_STORE_NOT_FOUND)
		w_err("%s holds no site keys: log in first", w->dir);
	if (rc != VOUCH_OK)
		return rc;
	keys = json_loadb((const char *)buf, len, 0, NULL);
	free(buf);
	if (keys == NULL) {
		w_err("%s/%s is not JSON", w->dir, W_F_KEYS);
		return VOUCH_ERR_STORE_CORRUPT;
	}
	rc = keys_take(w, keys);
	json_decref(keys);
	return rc;
}

/* ---- the held revocation list ---- */

void w_list_clear(struct held_list *h)
{
	free(h->buf);
	memset(h, 0, sizeof(*h));
}

/* The held list, verified under the pinned signer; none held: VOUCH_OK with h->buf NULL. */
int w_list_load(const struct wallet *w, struct held_list *h)
{
	int rc;

	memset(h, 0, sizeof(*h));
	rc = w_read(w, W_F_LIST, W_LIST_MAX, &h->buf, &h->len);
	if (rc == VOUCH_ERR_STORE_NOT_FOUND)
		return VOUCH_OK;
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_revlist_verify(h->buf, h->len, &w->revlist_key, w->iss, w->site, &h->rl);
	if (rc != VOUCH_OK) {
		w_err("the held revocation list does not verify: %s", vouch_strerror(rc));
		w_list_clear(h);
	}
	return rc;
}

/*
 * Offer a full list: it becomes the held one only if it verifies and is newer (a higher version,
 * or the same version issued later, which renews its age). An older version is refused with
 * VOUCH_ERR_REVLIST_STALE: the wallet never goes back. The caller holds the lock.
 */
int w_list_offer(struct wallet *w, const uint8_t *buf, size_t len, bool *taken)
{
	struct vouch_revlist rl;
	struct held_list held;
	int rc;

	*taken = false;
	rc = vouch_revlist_verify(buf, len, &w->revlist_key, w->iss, w->site, &rl);
	if (rc != VOUCH_OK) {
		w_err("the server's revocation list does not verify: %s", vouch_strerror(rc));
		return rc;
	}
	if (rl.since != 0) {
		w_err("a revocation list delta was offered as a full list");
		return VOUCH_ERR_REVLIST_FORMAT;
	}
	rc = w_list_load(w, &held);
	if (rc != VOUCH_OK)
		held.buf = NULL; /* a damaged held list is replaced by a good one */
	if (held.buf != NULL && rl.version < held.rl.version) {
		w_err("refusing revocation list version %llu: version %llu is held",
		      (unsigned long long)rl.version, (unsigned long long)held.rl.version);
		w_list_clear(&held);
		return VOUCH_ERR_REVLIST_STALE;
	}
	if (held.buf != NULL && rl.version == held.rl.version &&
	    rl.issued_at <= held.rl.issued_at) {
		w_list_clear(&held);
		return VOUCH_OK;
	}
	w_list_clear(&held);
	rc = w_write(w, W_F_LIST, buf, len);
	if (rc == VOUCH_OK)
		*taken = true;
	return rc;
}

/* ---- the held credential ---- */

/* Our own: bound to our phone (id and key) and about our user. */
static int cred_is_ours(const struct wallet *w, const struct vouch_cred *c)
{
	if (w->user != NULL && (c->claims.sub_len != strlen(w->user) ||
	                        memcmp(c->claims.sub, w->user, c->claims.sub_len) != 0))
		return VOUCH_ERR_CWT_CLAIM;
	if (w->phone != NULL &&
	    (c->phone_len != strlen(w->phone) || memcmp(c->phone, w->phone, c->phone_len) != 0))
		return VOUCH_ERR_CWT_CNF;
	if (w->thumbprint_hex == NULL ||
	    !w_hex_equal(w->thumbprint_hex, c->cnf_thumbprint, sizeof(c->cnf_thumbprint)))
		return VOUCH_ERR_CWT_CNF;
	return VOUCH_OK;
}

/*
 * Verify buf as a credential of this wallet at now. VOUCH_OK: valid now. VOUCH_ERR_CWT_EXPIRED or
 * _NOT_YET with *genuine set: signed by the site for us, only not valid at now; *out is filled
 * all the same (for `credential show`). Anything else: not a credential of ours.
 */
int w_cred_verify(const struct wallet *w, const uint8_t *buf, size_t len, int64_t now,
                  struct vouch_cred *out, bool *genuine)
{
	struct vouch_cred_rules rules = {
	    .iss = w->iss, .aud = w->site, .now = now, .leeway = W_LEEWAY};
	struct vouch_cwt_rules any_time = {.now = now, .leeway = INT64_MAX};
	struct vouch_cwt_claims claims;
	int rc;

	*genuine = false;
	rc = vouch_cred_verify(buf, len, &w->issuer, &rules, out);
	if (rc == VOUCH_OK) {
		rc = cred_is_ours(w, out);
		*genuine = rc == VOUCH_OK;
		return rc;
	}
	if (rc != VOUCH_ERR_CWT_EXPIRED && rc != VOUCH_ERR_CWT_NOT_YET)
		return rc;
	/* Signed and well-formed but not valid now: verify once more at a time when it was, to
	 * show what it holds. The saturating leeway lifts every time check for the first look. */
	if (vouch_cwt_verify(buf, len, &w->issuer, &any_time, &claims) != VOUCH_OK)
		return rc;
	rules.now = claims.nbf > claims.iat ? claims.nbf : claims.iat;
	rules.leeway = 0;
	if (vouch_cred_verify(buf, len, &w->issuer, &rules, out) != VOUCH_OK ||
	    cred_is_ours(w, out) != VOUCH_OK) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	*genuine = true;
	return rc;
}

void w_cred_clear(struct held_cred *h)
{
	free(h->buf);
	memset(h, 0, sizeof(*h));
}

/* The held credential and its verdict at now (list: the held revocation list, or NULL). */
int w_cred_load(const struct wallet *w, const struct held_list *list, int64_t now,
                struct held_cred *h)
{
	int rc;

	memset(h, 0, sizeof(*h));
	h->verdict = VOUCH_ERR_STORE_NOT_FOUND;
	rc = w_read(w, W_F_CRED, VOUCH_CRED_MAX, &h->buf, &h->len);
	if (rc == VOUCH_ERR_STORE_NOT_FOUND)
		return VOUCH_OK;
	if (rc != VOUCH_OK)
		return rc;
	h->verdict = w_cred_verify(w, h->buf, h->len, now, &h->cred, &h->verified);
	if (h->verified && list != NULL && list->buf != NULL &&
	    vouch_revlist_check(&list->rl, &h->cred) == VOUCH_ERR_REVOKED)
		h->verdict = VOUCH_ERR_REVOKED;
	return VOUCH_OK;
}

void w_wallet_clear(struct wallet *w)
{
	w_unlock(w);
	vouch_key_clear(&w->phone_key);
	vouch_key_clear(&w->phone_pub);
	vouch_p11_close(w->p11);
	w->p11 = NULL;
	vouch_key_clear(&w->issuer);
	vouch_key_clear(&w->revlist_key);
	json_decref(w->keys);
	json_decref(w->conf);
	w->keys = NULL;
	w->conf = NULL;
}
