/*
 * vouch-wallet: the secured link to one sensor (wallet/link.c).
 */
#ifndef VOUCH_WALLET_LINK_H
#define VOUCH_WALLET_LINK_H
#include "coap.h"
#include "vouch/crypto.h"
#include "vouch/edhoc.h"
#include "vouch/oscore.h"
#include "vouch/pairing.h"

/* Who the phone is in EDHOC: its key (private, in the token), its public half, its id. */
struct w_link_me {
	const struct vouch_key *priv;
	const struct vouch_key *pub;
	const char *phone_id;
};

/* Accept (VOUCH_OK) or refuse (an error, with a message in err) the key the sensor proved. */
typedef int (*w_link_check_fn)(void *arg, const struct vouch_key *peer, const uint8_t *cred,
                               size_t cred_len, char *err, size_t err_cap);

struct w_link {
	struct w_coap coap;
	struct vouch_edhoc edhoc;
	struct vouch_oscore_ctx osc;
	bool secured;
	uint8_t cred[VOUCH_CCS_MAX];
	size_t cred_len;
	uint8_t id_cred[VOUCH_CCS_ID_CRED_MAX];
	size_t id_cred_len;
	uint8_t msg[VOUCH_EDHOC_MAX_MESSAGE];
	uint8_t buf[VOUCH_W_COAP_BODY_MAX];
};

int w_link_open(struct w_link *l, const char *uri, char *err, size_t err_cap);
void w_link_close(struct w_link *l);
/* An unprotected request (GET /info, POST /revocations). */
int w_link_plain(struct w_link *l, bool post, const char *path, const uint8_t *in, size_t in_len,
                 unsigned *code, const uint8_t **out, size_t *out_len);
/* EDHOC; check decides on the sensor's key before message_3. VOUCH_ERR_IO: no answer. */
int w_link_handshake(struct w_link *l, const struct w_link_me *me, w_link_check_fn check, void *arg,
                     char *err, size_t err_cap);
/* One OSCORE-protected POST of a CBOR payload to path; *code is the inner response code. */
int w_link_call(struct w_link *l, const char *path, const uint8_t *in, size_t in_len,
                unsigned *code, const uint8_t **out, size_t *out_len, char *err, size_t err_cap);

#endif
