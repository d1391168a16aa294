/*
 * A test site for the sensor tests: a root and an issuing CA (certificates made with Mbed TLS,
 * so that the same helpers serve both crypto back-ends), the credential issuer, revocation-list
 * signer and firmware signer keys, sealed bundles (also deliberately broken ones), credentials,
 * revocation lists, and a sensor started in a fresh temporary directory on an injected key.
 */
#ifndef VOUCH_TEST_SENSOR_SITE_H
#define VOUCH_TEST_SENSOR_SITE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <mbedtls/pk.h>

#include "sensor.h"
#include "vouch/cred.h"
#include "vouch/crypto.h"
#include "vouch/policy.h"
#include "vouch/revlist.h"

#define SITE_ISS    "vouch:0123456789abcdef"
#define SITE_AUD    "0123456789abcdef"
#define SITE_TZ     "CET-1CEST,M3.5.0,M10.5.0/3"
#define SITE_DEVICE "dev-0123456789abcdef"
#define SITE_ZONE   "plant/hall-a/line-1"
#define SITE_TYPE   "machine"
/* Tuesday 24 November 2026, 09:00 CET (08:00 UTC). */
#define SITE_T0 1795507200

struct site {
	mbedtls_pk_context root_pk, issuing_pk, other_ca_pk; /* the CA keys, for certificates */
	struct vouch_key issuing_key;                        /* the same, for the bundle */
	uint8_t root[SENSOR_CERT_MAX], issuing[SENSOR_CERT_MAX], other_ca[SENSOR_CERT_MAX];
	size_t root_len, issuing_len, other_ca_len;
	struct vouch_key issuer, revsigner, firmware;
	uint8_t issuer_kid[VOUCH_THUMBPRINT_LEN];
};

void site_init(struct site *t);
void site_clear(struct site *t);

/* The sensor's clock in the tests (sensor->clock = site_clock). */
extern int64_t site_now;
int64_t site_clock(void);

/* A certificate for the public half of key with subject CN=cn, signed by the issuing CA (or by
 * the unrelated CA other_ca when foreign). */
void site_cert(struct site *t, const struct vouch_key *key, const char *cn, bool foreign,
               uint8_t *out, size_t cap, size_t *len);

/* What a bundle holds; site_bundle_init() fills in a good one for the sensor key dev. */
struct site_bundle {
	uint64_t version;
	const char *device, *zone, *type, *tz, *iss, *aud, *installer;
	uint8_t cert[SENSOR_CERT_MAX];
	size_t cert_len;
	const uint8_t *ca[SENSOR_CA_MAX];
	size_t ca_len[SENSOR_CA_MAX];
	size_t n_ca;
	const struct vouch_key *issuer, *revsigner, *firmware;
	int64_t issued_at;
	const char *resource;    /* key 15; NULL: left out (a malformed bundle) */
	const char *const *tags; /* key 16 */
	size_t n_tags;
	bool tags_not_array;             /* key 16 as one text (a malformed bundle) */
	bool extra_key;                  /* a 17th entry */
	const struct vouch_key *signer;  /* the inner COSE_Sign1's key */
	const struct vouch_key *seal_to; /* the recipient */
	int64_t content_alg;             /* 0: AES-CCM-16-64-128 */
};
void site_bundle_init(struct site *t, struct site_bundle *b, const struct vouch_key *dev_pub);
void site_bundle_seal(const struct site_bundle *b, uint8_t *out, size_t cap, size_t *len);

/* Permissions of the tests' operator (role "operator"):
 *   0 permit read anywhere in "plant"
 *   1 permit enter in "plant/hall-a", Mon-Fri 06:00-14:00
 *   2 permit operate on type "machine" while temperature < 60
 *   3 permit commission in "plant" (with commission=true only) */
size_t site_perm(bool commission, uint8_t *out, size_t cap);

/* A credential for sub with the encoded permissions perm, bound to phone, valid [iat, exp), the
 * site's iss and aud. */
size_t site_credential_perm(struct site *t, const char *sub, const struct vouch_key *phone,
                            int64_t iat, int64_t exp, const uint8_t *perm, size_t perm_len,
                            uint8_t *out, size_t cap);

/* A credential for sub, bound to phone, valid [iat, exp), with the site's iss and aud unless
 * aud is given. */
size_t site_credential(struct site *t, const char *sub, const struct vouch_key *phone,
                       const char *aud, int64_t iat, int64_t exp, bool commission, uint8_t *out,
                       size_t cap);

/* A full revocation list signed by signer (NULL: the site's). */
size_t site_revlist(struct site *t, const struct vouch_key *signer, uint64_t version,
                    int64_t issued_at, const struct vouch_revlist_entry *e, size_t n, uint8_t *out,
                    size_t cap);

/* A fresh private temporary directory (mkdtemp) for a state directory. */
void site_tmpdir(char *out, size_t cap);
/* rm -r */
void site_rmdir(const char *dir);

/* A device key, kept as its private scalar so that a test can restart the same device on the
 * OpenSSL back-end (which has no key store): site_key() makes a handle of it. */
void site_devkey(uint8_t d[VOUCH_P256_SCALAR_LEN]);
void site_key(const uint8_t d[VOUCH_P256_SCALAR_LEN], struct vouch_key *key);
/* The public half of a sensor's identity key, as a phone sees it. */
void site_sensor_pub(const struct vouch_sensor *s, struct vouch_key *pub);
/* Start s in sdir on the (injected) key d, the clock at site_now, zone and type the site's. */
int site_start(struct vouch_sensor *s, const char *sdir, const uint8_t d[VOUCH_P256_SCALAR_LEN]);
/* A cmocka set-up's sensor: site_now = SITE_T0, a fresh directory, the test key (into d), started
 * (asserted); pub its public half. site_sensor_down() stops it and removes the directory. */
void site_sensor_up(struct vouch_sensor *s, char *dir, size_t dir_cap,
                    uint8_t d[VOUCH_P256_SCALAR_LEN], struct vouch_key *pub);
void site_sensor_down(struct vouch_sensor *s, const char *dir, struct vouch_key *pub);
/* Provision a started sensor as a good bundle would, by writing its state directly. */
void site_provision_direct(struct site *t, struct vouch_sensor *s);
/* Commission a started sensor with a good bundle, sealed as vouchd seals it (ECDH-ES +
 * HKDF-256), asserting every step. */
void site_commission(struct site *t, struct vouch_sensor *s);
/* A session secured with phone's public key, as EDHOC would leave it. */
struct sensor_session *site_session(struct vouch_sensor *s, const struct vouch_key *phone,
                                    uint8_t cid);

/* A signed event as read back: verified under pub with kid = its thumbprint, decoded strictly
 * (docs/sensor-protocol.md `event`). Text fields are NUL-terminated copies. */
struct site_event {
	uint64_t seq;
	int64_t time;
	char device[SENSOR_NAME_MAX + 1];
	char kind[16];
	char subject[SENSOR_TEXT_MAX + 1];
	uint8_t cti[VOUCH_CRED_CTI_LEN];
	size_t cti_len;
	char action[16];
	bool has_granted, granted;
	char reason[SENSOR_REASON_MAX + 1];
	bool has_rl_version;
	uint64_t rl_version;
	char who[SENSOR_TEXT_MAX + 1];
	char resource[SENSOR_NAME_MAX + 1]; /* key 13: "" when absent */
};
void site_event_read(const uint8_t *ev, size_t len, const struct vouch_key *pub,
                     struct site_event *out);
/* The queued events of s, read back (at most max); the count. */
size_t site_queue_events(struct vouch_sensor *s, const struct vouch_key *pub,
                         struct site_event *out, size_t max);
#endif
