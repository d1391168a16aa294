/*
 * vouch-sensor, the device agent (DESIGN.md flows 4-6, docs/sensor-protocol.md, docs/sensor.md).
 *
 * One struct vouch_sensor holds everything the agent has: the handle of its secure-element key,
 * its persistent state, the trust anchors as key handles, the revocation list it relies on, the
 * durable event queue, the simulated readings, a fixed table of phone sessions and one scratch
 * buffer. It is allocated once by the caller (main.c: a static) and nothing on the request paths
 * allocates.
 *
 * Requests are plain functions (sensor_handle_*): (agent, session, payload) -> (answer, CoAP
 * code). sensor/coap.c calls the unprotected ones; the OSCORE layer calls the protected ones with
 * the session whose context unprotected the request, through sensor_route_find().
 */
#ifndef VOUCH_SENSOR_H
#define VOUCH_SENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue.h"
#include "readings.h"
#include "state.h"
#include "util.h"
#include "vouch/cred.h"
#include "vouch/crypto.h"
#include "vouch/edhoc.h"
#include "vouch/oscore.h"
#include "vouch/pairing.h"
#include "vouch/policy.h"
#include "vouch/revlist.h"

#define SENSOR_ID_KEY        1u /* persistent key id of the identity key in the secure element */
#define SENSOR_SE_DIR        "secure-element"
#define SENSOR_SESSIONS      8
#define SENSOR_SESSION_LIFE  300         /* seconds a session lives (docs/sensor-protocol.md) */
#define SENSOR_SESSION_IDLE  5           /* seconds after which an idle session may be taken over (a contact lasts about a second) */
#define SENSOR_PAYLOAD_MAX   (32 * 1024) /* a request payload; 4.13 above */
#define SENSOR_CRED_MAX      (8 * 1024)  /* a credential a sensor keeps in a session */
#define SENSOR_REASON_MAX    384
#define SENSOR_LEEWAY        60 /* seconds of clock skew tolerated on credentials */
#define SENSOR_UNPROVISIONED "unprovisioned"
#define SENSOR_SCRATCH_MAX                                                                         \
	(SENSOR_STATE_MAX > SENSOR_PAYLOAD_MAX ? SENSOR_STATE_MAX : SENSOR_PAYLOAD_MAX)

/* CoAP response codes as class * 32 + detail (RFC 7252 12.1.2). */
#define SENSOR_CODE(c, d)         ((unsigned)((c) << 5 | (d)))
#define SENSOR_CREATED            SENSOR_CODE(2, 1)
#define SENSOR_DELETED            SENSOR_CODE(2, 2)
#define SENSOR_CHANGED            SENSOR_CODE(2, 4)
#define SENSOR_CONTENT            SENSOR_CODE(2, 5)
#define SENSOR_BAD_REQUEST        SENSOR_CODE(4, 0)
#define SENSOR_UNAUTHORIZED       SENSOR_CODE(4, 1)
#define SENSOR_FORBIDDEN          SENSOR_CODE(4, 3)
#define SENSOR_NOT_FOUND          SENSOR_CODE(4, 4)
#define SENSOR_METHOD_NOT_ALLOWED SENSOR_CODE(4, 5)
#define SENSOR_TOO_LARGE          SENSOR_CODE(4, 13)
#define SENSOR_INTERNAL           SENSOR_CODE(5, 0)
#define SENSOR_NOT_IMPLEMENTED    SENSOR_CODE(5, 1)
#define SENSOR_UNAVAILABLE        SENSOR_CODE(5, 3)

enum sensor_session_state {
	SENSOR_SESSION_FREE = 0,
	SENSOR_SESSION_HANDSHAKE, /* EDHOC under way: the peer has proven nothing yet */
	SENSOR_SESSION_SECURED,   /* EDHOC completed, OSCORE up: peer is the key it proved */
};

/* A phone's session (docs/sensor-protocol.md "Sessions"). The EDHOC and OSCORE state of the
 * session go here too when that layer is wired in (sensor/coap.c says where). */
struct sensor_session {
	enum sensor_session_state state;
	uint8_t cid[VOUCH_EDHOC_MAX_CID]; /* our connection id C_R: the phone's OSCORE kid */
	size_t cid_len;
	int64_t opened, last_used;
	struct vouch_key peer; /* the key the phone proved in EDHOC (SECURED only) */
	struct vouch_edhoc edhoc;    /* the handshake (HANDSHAKE) */
	struct vouch_oscore_ctx osc; /* from the EDHOC exporter (SECURED) */
	bool csr_sent;         /* /commission/csr answered in this session */
	bool has_cred;         /* /authz-info accepted a credential */
	uint8_t cred_buf[SENSOR_CRED_MAX];
	size_t cred_len;
	struct vouch_cred cred;        /* points into cred_buf */
	struct vouch_policy_view perm; /* points into cred_buf */
};

struct vouch_sensor {
	char sdir[SENSOR_PATH_MAX];
	bool started;
	bool se_persistent; /* the identity key is the secure element's (else injected: tests) */
	struct vouch_key id;
	uint8_t id_point[VOUCH_P256_POINT_LEN];
	uint8_t kid[VOUCH_THUMBPRINT_LEN]; /* RFC 9679 thumbprint of id: events' kid */
	char pairing_code[VOUCH_PAIRING_CODE_LEN + 1];
	struct sensor_state st;
	/* the anchors of the bundle as handles (provisioned only) */
	struct vouch_key issuer, revsigner, firmware;
	bool has_rl;
	struct vouch_revlist rl; /* view of st.revlist */
	struct sensor_queue q;
	struct sensor_readings rd;
	struct sensor_session sessions[SENSOR_SESSIONS];
	int64_t (*clock)(void); /* seconds UTC; time() unless a test sets it */
	bool wipe_pending;      /* decommissioned: wipe once the answer is out */
	uint8_t scratch[SENSOR_SCRATCH_MAX];
};

struct sensor_config {
	const char *sdir;
	const char *zone;       /* NULL: as stored */
	const char *type;       /* NULL: as stored */
	int64_t (*clock)(void); /* NULL: time() */
};

/* ---- the agent (sensor/agent.c) ---- */

void sensor_init(struct vouch_sensor *s);
/* Start on the secure element's key (created on a first start). A provisioned state whose
 * device certificate does not hold that key is refused (VOUCH_ERR_KEY; VOUCH_ERR_KEY_NOT_FOUND
 * when the element has no key at all): a cloned state directory or a swapped element. */
int sensor_start(struct vouch_sensor *s, const struct sensor_config *cfg);
/* The same on a key the caller supplies (tests on a back-end without a key store). The handle
 * is moved into s (id is left empty). */
int sensor_start_with_key(struct vouch_sensor *s, const struct sensor_config *cfg,
                          struct vouch_key *id);
/* Flush the state, close the queue, release every handle and wipe s. */
void sensor_stop(struct vouch_sensor *s);
/* Decommissioning: destroy the identity key (when it is the secure element's), remove the
 * state and the queue, and leave s stopped: sensor_start() then makes a new, unprovisioned
 * device (a new key and pairing code) in the same directory. */
int sensor_wipe(struct vouch_sensor *s);
/* `vouch-sensor --reset`: the same on a directory no agent runs on. */
int sensor_reset(const char *sdir);

int64_t sensor_now(const struct vouch_sensor *s);
/* Is the held revocation list too old to rely on (or is there none)? */
bool sensor_list_stale(const struct vouch_sensor *s, int64_t now);
/* Install a verified, newer revocation list (copied into the state, saved). */
int sensor_list_install(struct vouch_sensor *s, const uint8_t *buf, size_t len);
/* Make the anchor handles and the list view from st (after a load or a commissioning). */
int sensor_anchors_load(struct vouch_sensor *s);

/* ---- offline decisions (sensor/decide.c) ---- */

/* Decide action (one bit) for the credential accepted in sess, at the sensor's clock, with its
 * readings (docs/sensor-protocol.md "Offline decisions", the stricter mode of a stale list).
 * reason gets the text for the person. VOUCH_OK for every decision, granted or not. */
int sensor_decide(struct vouch_sensor *s, struct sensor_session *sess, uint32_t action,
                  bool *granted, char *reason, size_t cap);
/* Record the access event of a decision (or of a refused credential: action NULL, cred NULL
 * when it did not verify). */
int sensor_access_event(struct vouch_sensor *s, const struct vouch_cred *cred, const char *action,
                        bool granted, const char *reason, uint8_t *out, size_t cap,
                        size_t *out_len);

/* ---- the secure element (sensor/se.c) ---- */

/* Open the identity key in SDIR/secure-element; generate it when absent and create is true
 * (*created then says so). VOUCH_ERR_UNSUPPORTED on a back-end without a key store. */
int sensor_se_open(const char *sdir, bool create, struct vouch_key *key, bool *created);
/* Destroy the identity key (absent is fine). */
int sensor_se_destroy(const char *sdir);

/* ---- events (sensor/event.c) ---- */

struct sensor_event {
	const char *kind; /* "access", "commission", "decommission", "revocations", "spoof" */
	const char *subject;
	size_t subject_len;
	const uint8_t *cti;
	size_t cti_len;
	const char *action;
	bool has_granted, granted;
	const char *reason;
	bool has_rl_version;
	uint64_t rl_version;
	const char *who; /* installer / phone */
	size_t who_len;
};

/* Take the next sequence number (on disk before it is used), sign the event with the identity
 * key and append it to the queue. out (cap >= SENSOR_EVENT_MAX) gets the signed event. Uses
 * s->scratch. */
int sensor_event_record(struct vouch_sensor *s, const struct sensor_event *ev, uint8_t *out,
                        size_t cap, size_t *out_len);

/* ---- sessions (sensor/session.c) ---- */

/* A new session for connection id cid: a free slot, an expired one, or the one idle longest
 * (if idle for SENSOR_SESSION_IDLE). NULL when every slot is busy (answer 5.03). */
struct sensor_session *sensor_session_open(struct vouch_sensor *s, const uint8_t *cid,
                                           size_t cid_len);
/* The live session of cid (its use time refreshed), or NULL. */
struct sensor_session *sensor_session_find(struct vouch_sensor *s, const uint8_t *cid,
                                           size_t cid_len);
/* EDHOC completed: peer is the key the phone proved (its public half is copied). */
int sensor_session_secure(struct sensor_session *sess, const struct vouch_key *peer);
void sensor_session_close(struct sensor_session *sess);

/* ---- X.509 with Mbed TLS (sensor/x509.c) and the CSR (sensor/csr.c) ---- */

/* The P-256 public key of a DER certificate, as a SEC1 uncompressed point. */
int sensor_cert_point(const uint8_t *der, size_t len, uint8_t point[VOUCH_P256_POINT_LEN]);
/* The device certificate is for device_id (its subject CN), holds point, and chains through
 * cas[0..n-1] (issuing first; the last is the anchor) at the current time. why gets the reason
 * of a refusal (VOUCH_ERR_VERIFY, VOUCH_ERR_KEY, VOUCH_ERR_X509_MALFORMED). */
int sensor_cert_verify(const uint8_t *dev, size_t dev_len, const uint8_t (*cas)[SENSOR_CERT_MAX],
                       const size_t *ca_len, size_t n_ca, const char *device_id,
                       const uint8_t point[VOUCH_P256_POINT_LEN], char *why, size_t why_cap);
/* A PKCS#10 request for subject CN=cn with the public half of key, signed by key through the
 * crypto port (so by the secure element). */
int sensor_csr_make(const struct vouch_key *key, const char *cn, uint8_t *out, size_t cap,
                    size_t *out_len);

/* ---- requests ---- */

typedef int (*sensor_handler_fn)(struct vouch_sensor *s, struct sensor_session *sess,
                                 const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                                 size_t *out_len, unsigned *coap_code);

/*
 * Every handler: VOUCH_OK when out[0..*out_len) and *coap_code are the answer to send, whatever
 * the code (a refusal is an answer); an error only when no answer could be made (the caller
 * sends 5.00). Answers with a 2.xx code or 4.01 are CBOR (content-format 60); every other
 * answer is a diagnostic text (RFC 7252 5.5.2). sess is NULL for an unprotected request.
 * cap >= SENSOR_PAYLOAD_MAX always suffices.
 */
int sensor_handle_info(struct vouch_sensor *s, struct sensor_session *sess, const uint8_t *in,
                       size_t in_len, uint8_t *out, size_t cap, size_t *out_len,
                       unsigned *coap_code);
int sensor_handle_revocations(struct vouch_sensor *s, struct sensor_session *sess,
                              const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                              size_t *out_len, unsigned *coap_code);
int sensor_handle_commission_csr(struct vouch_sensor *s, struct sensor_session *sess,
                                 const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                                 size_t *out_len, unsigned *coap_code);
int sensor_handle_commission_bundle(struct vouch_sensor *s, struct sensor_session *sess,
                                    const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                                    size_t *out_len, unsigned *coap_code);
int sensor_handle_authz_info(struct vouch_sensor *s, struct sensor_session *sess, const uint8_t *in,
                             size_t in_len, uint8_t *out, size_t cap, size_t *out_len,
                             unsigned *coap_code);
int sensor_handle_access(struct vouch_sensor *s, struct sensor_session *sess, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t cap, size_t *out_len,
                         unsigned *coap_code);
int sensor_handle_decommission(struct vouch_sensor *s, struct sensor_session *sess,
                               const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                               size_t *out_len, unsigned *coap_code);

/* Open a sealed bundle and install it (the heart of /commission/bundle, without the session
 * checks). On success *event / *event_len is the signed `commission` event in out. On a refusal
 * why says what was wrong. */
int sensor_commission_install(struct vouch_sensor *s, const uint8_t *sealed, size_t sealed_len,
                              uint8_t *event, size_t event_cap, size_t *event_len, char *why,
                              size_t why_cap);

/* The resources (docs/sensor-protocol.md). protect: only inside an OSCORE-protected request. */
enum sensor_method { SENSOR_GET = 1, SENSOR_POST = 2 };
struct sensor_route {
	const char *path; /* "commission/csr" */
	enum sensor_method method;
	bool protect;   /* only under OSCORE */
	bool oscore_ok; /* a plain route also taken under OSCORE (a signed list, say) */
	sensor_handler_fn fn;
};
extern const struct sensor_route sensor_routes[];
extern const size_t sensor_n_routes;
/* The route of a path ("a/b", no leading slash), or NULL. */
const struct sensor_route *sensor_route_find(const char *path, size_t len);

/* ---- the CoAP server (sensor/coap.c) ---- */

struct coap_context_t;
/* Listen on HOST:PORT (UDP; "[v6]:port" for IPv6) and register the resources. */
int sensor_coap_open(struct vouch_sensor *s, const char *listen, struct coap_context_t **ctx);
/* Serve for at most timeout_ms. */
int sensor_coap_serve(struct coap_context_t *ctx, unsigned timeout_ms);
void sensor_coap_close(struct coap_context_t *ctx);

/* ---- answers (sensor/answer.c) ---- */

/* A diagnostic text answer with code. Always VOUCH_OK (text truncated to cap). */
int sensor_answer_diag(unsigned code, const char *text, uint8_t *out, size_t cap, size_t *out_len,
                       unsigned *coap_code);
/* 4.01 with refusal = {1: reason}. */
int sensor_answer_refusal(const char *reason, uint8_t *out, size_t cap, size_t *out_len,
                          unsigned *coap_code);
/* Does an answer with this code carry CBOR (else a diagnostic text)? */
bool sensor_answer_is_cbor(unsigned code);

#endif
