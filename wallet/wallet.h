/*
 * vouch-wallet: the phone side of issue 4 as a command-line program (docs/wallet.md). Shared
 * between its files only.
 */
#ifndef VOUCH_WALLET_H
#define VOUCH_WALLET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vouch/cred.h"
#include "vouch/crypto.h"
#include "vouch/https.h"
#include "vouch/p11.h"
#include "vouch/revlist.h"

/* Exit codes. */
#define WALLET_OK 0 /* done */
#define WALLET_REFUSED                                                                             \
	1 /* refused: login failed, credential revoked, expired or missing, wrong PIN */
#define WALLET_ERROR   2 /* usage, I/O, protocol or internal error */
#define WALLET_OFFLINE 3 /* the server could not be reached */

#define W_PROG        "vouch-wallet"
#define W_TOKEN_LABEL "vouch-wallet"
#define W_KEY_LABEL   "phone"
#define W_PIN_MAX     VOUCH_P11_USER_PIN_MAX
#define W_LIST_MAX    (8u << 20) /* largest revocation list taken */
#define W_LEEWAY      60         /* seconds of clock skew tolerated on credentials */

/* State files in WDIR (docs/wallet.md). */
#define W_F_CONF   "wallet.json"
#define W_F_CA     "ca.pem"
#define W_F_KEYS   "keys.json"
#define W_F_PHONE  "phone.pem"
#define W_F_CRED   "credential.cwt"
#define W_F_LIST   "revocations.cbor"
#define W_F_SO_PIN "so.pin"
#define W_F_LOCK   ".lock"

/* The global options and the wallet's state as loaded. */
struct wallet {
	const char *dir;      /* --wallet WDIR */
	const char *pin_file; /* --pin-file FILE, or NULL */

	/* wallet.json (NULL members: not known yet) */
	json_t *conf;
	const char *server;
	const char *user;
	const char *phone;
	const char *thumbprint_hex; /* of the phone key, so offline commands can check cnf */
	const char *site;
	const char *iss;

	/* keys.json, pinned at login: site and iss point into keys */
	json_t *keys;
	struct vouch_key issuer;
	struct vouch_key revlist_key;

	/* the token, once unlocked */
	struct vouch_p11 *p11;
	struct vouch_key phone_key; /* private, in the token */
	struct vouch_key phone_pub; /* its public half, in memory */
	uint8_t thumbprint[VOUCH_THUMBPRINT_LEN];

	int lock_fd; /* -1: not held */
};

/* The held credential, checked against the pinned issuer key and the held list. */
struct held_cred {
	uint8_t *buf; /* credential.cwt; NULL: none held */
	size_t len;
	struct vouch_cred cred; /* valid when verified: points into buf */
	int verdict;            /* VOUCH_OK, or why it is not usable now (EXPIRED, REVOKED, ...) */
	bool verified;          /* signature and claims checked, cred filled (even when expired) */
};

/* The held revocation list. */
struct held_list {
	uint8_t *buf; /* revocations.cbor; NULL: none held */
	size_t len;
	struct vouch_revlist rl; /* valid when buf != NULL */
};

/* ---- store.c: WDIR ---- */
int w_path(char *out, size_t cap, const struct wallet *w, const char *name);
bool w_exists(const struct wallet *w, const char *name);
int w_read(const struct wallet *w, const char *name, size_t max, uint8_t **buf, size_t *len);
int w_write(const struct wallet *w, const char *name, const void *buf, size_t len);
int w_dir_open(struct wallet *w, bool create, bool *created);
int w_lock(struct wallet *w);
void w_unlock(struct wallet *w);
int w_conf_load(struct wallet *w, bool required);
int w_conf_save(struct wallet *w);
int w_conf_set(struct wallet *w, const char *key, const char *value);
int w_keys_pin(struct wallet *w, const json_t *keys);
int w_keys_load(struct wallet *w);
int w_list_load(const struct wallet *w, struct held_list *h);
void w_list_clear(struct held_list *h);
int w_list_offer(struct wallet *w, const uint8_t *buf, size_t len, bool *taken);
int w_cred_verify(const struct wallet *w, const uint8_t *buf, size_t len, int64_t now,
                  struct vouch_cred *out, bool *genuine);
int w_cred_load(const struct wallet *w, const struct held_list *list, int64_t now,
                struct held_cred *h);
void w_cred_clear(struct held_cred *h);
void w_wallet_clear(struct wallet *w);

/* ---- secret.c: the unlock PIN and the password ---- */
int w_pin_get(const struct wallet *w, bool create, char pin[W_PIN_MAX + 1]);
int w_password_read(const char *path, char *out, size_t cap);

/* ---- token.c: the phone's keystore ---- */
bool w_token_exists(const struct wallet *w);
int w_token_unlock(struct wallet *w, bool create, const char *pin);
int w_token_csr(struct wallet *w, uint8_t **der, size_t *der_len);

/* ---- sync.c: talking to vouchd ---- */
int w_cmd_login(struct wallet *w, int argc, char **argv);
int w_cmd_refresh(struct wallet *w, int argc, char **argv);
int w_cmd_run(struct wallet *w, int argc, char **argv);
/* The registered phone, its token unlocked; no server contact (offline commands). */
int w_open_local(struct wallet *w);
/* The same, and an HTTPS client for vouchd with the phone certificate (mutual TLS). */
int w_open_registered(struct wallet *w, struct vouch_https **h);
/* One JSON call; WALLET_OK with *reply when the status is want; a 4xx is WALLET_REFUSED (said on
 * stderr), no answer WALLET_OFFLINE. */
int w_call_json(struct wallet *w, struct vouch_https *h, const char *what, const char *method,
                const char *path, const json_t *body, long want, json_t **reply);

/* ---- sensor.c: commissioning and access at a sensor ---- */
int w_cmd_commission(struct wallet *w, int argc, char **argv);
int w_cmd_access(struct wallet *w, int argc, char **argv);
int w_cmd_decommission(struct wallet *w, int argc, char **argv);
/* Hand vouchd the decommission events kept while it was unreachable (refresh does). */
int w_deliver_pending(struct wallet *w, struct vouch_https *h);

/* ---- show.c: offline commands ---- */
int w_cmd_credential(struct wallet *w, int argc, char **argv);
int w_cmd_revocations(struct wallet *w, int argc, char **argv);
int w_cmd_status(struct wallet *w, int argc, char **argv);

/* ---- util.c ---- */
void w_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int w_b64_decode(const char *b64, size_t max, uint8_t **out, size_t *out_len);
char *w_b64_encode(const uint8_t *buf, size_t len);
void w_hex(const uint8_t *buf, size_t len, char *out);
bool w_hex_equal(const char *hex, const uint8_t *buf, size_t len);
void w_iso_time(int64_t t, char out[32]);
void w_duration(int64_t secs, char *out, size_t cap);
char *w_json_dump(const json_t *j, size_t *len);

struct w_opt {
	const char *name; /* without the leading "--" */
	const char **value;
};
int w_parse_opts(int argc, char **argv, const struct w_opt *opts, size_t n_opts);

#endif
