/*
 * vouch-wallet: what a phone checks at a sensor before it trusts it (wallet/contact.c), shared
 * by the wallet's commands and vouch-plant's load clients: the sensor's /info, its device
 * certificate under the site's CA, the EDHOC key against that certificate, a refusal's reason.
 */
#ifndef VOUCH_WALLET_CONTACT_H
#define VOUCH_WALLET_CONTACT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509_vfy.h>

#include "vouch/crypto.h"

#define W_INFO_TEXT_MAX 65
#define W_INFO_TAGS_MAX 32 /* SENSOR_TAGS_MAX: a resource's tags in the directory */

/* A sensor's /info (docs/sensor-protocol.md `info`); texts made printable. */
struct w_sensor_info {
	bool provisioned;
	char device[W_INFO_TEXT_MAX], zone[W_INFO_TEXT_MAX], type[W_INFO_TEXT_MAX];
	char resource[W_INFO_TEXT_MAX]; /* what it decides as (provisioned), "" if not said */
	char tags[W_INFO_TAGS_MAX][W_INFO_TEXT_MAX];
	size_t n_tags;
	uint64_t rl_version;
	bool has_rl;
	const uint8_t *cert; /* into p: copy it before p's buffer is used again */
	size_t cert_len;
};

/* len bytes of p into dst (cap with the NUL, cut to fit), anything not printable ASCII as '?'. */
void w_text_printable(char *dst, size_t cap, const char *p, size_t len);

int w_sensor_info_read(const uint8_t *p, size_t len, struct w_sensor_info *in);

/* The sensor's other answers (docs/sensor-protocol.md), decoded strictly; pointers into p. */
/* csr-answer {1: 1, 2: PKCS#10 DER} */
int w_sensor_csr_read(const uint8_t *p, size_t len, const uint8_t **csr, size_t *csr_len);
/* commissioned {1: 1, 2: device id, 3: the sensor's signed event} */
int w_sensor_commissioned_read(const uint8_t *p, size_t len, char device[W_INFO_TEXT_MAX],
                               const uint8_t **event, size_t *event_len);
/* decision {1: granted, 2: reason, 3: event}: granted and the reason (printable) */
int w_sensor_decision_read(const uint8_t *p, size_t len, bool *granted, char *reason, size_t cap);

/* The reason of a refusal ({1: text}) or a diagnostic payload, as printable text; "" if none. */
void w_sensor_reason(const uint8_t *p, size_t len, char *out, size_t cap);

/* The sensor's certified key, for w_check_certified. */
struct w_certified {
	uint8_t point[VOUCH_P256_POINT_LEN];
	char device[160]; /* how the refusal names it: the device id, maybe "(resource ...)" */
};

/* The device certificate (DER): under ca (client-auth purpose), CN = device, valid now, a P-256
 * key, which goes into cc. VOUCH_ERR_VERIFY with the reason ("spoofed sensor: ...") in err. */
int w_device_cert_check(X509_STORE *ca, const uint8_t *der, size_t der_len, const char *device,
                        struct w_certified *cc, char *err, size_t cap);

/* A w_link_check_fn (link.h): the key the sensor proves in EDHOC must be the certified one;
 * arg is a struct w_certified. */
int w_check_certified(void *arg, const struct vouch_key *peer, const uint8_t *cred, size_t cred_len,
                      char *err, size_t err_cap);

#endif
