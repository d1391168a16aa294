/*
 * Commissioning and decommissioning (sensor/commission.c, sensor/csr.c, sensor/x509.c,
 * sensor/info.c): the CSR is PKCS#10 signed by the identity key for CN=unprovisioned; a good
 * sealed bundle installs (state, anchors, `commission` event) and only in the session that
 * fetched the CSR; a bundle sealed to another key, signed by another key, carrying a device
 * certificate for another key, device id or CA, another content algorithm, another version, an
 * extra entry, a bad time zone, a missing, empty or over-long resource id, tags that are not an
 * array of at most SENSOR_TAGS_MAX non-empty texts, or truncated, is refused with 4.00 and leaves
 * the sensor exactly as it was;
 * a bundle naming a resource (key 15) with tags (16) makes the sensor decide as that resource:
 * a grant on its id or its tag applies, one on another tag does not; /info shows it (keys 8,
 * 9) and events carry it (key 13), also after a restart;
 * decommissioning needs a credential allowing `commission` here, answers the last event, then
 * the agent wipes itself.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/md.h>
#include <mbedtls/x509_csr.h>

#include "site.h"
#include "util.h"
#include "vouch/cbor.h"
#include "vouch/cose.h"
#include "vouch/log.h"

#define HOUR 3600

static struct site site;
static struct vouch_sensor sensor;
static struct vouch_key phone, pub;
static uint8_t out[SENSOR_PAYLOAD_MAX], sealed[SENSOR_PAYLOAD_MAX], cred[VOUCH_CRED_MAX];
static uint8_t devkey[VOUCH_P256_SCALAR_LEN];
static struct site_bundle bundle;
static size_t out_len;
static unsigned code;
static char dir[64];

static int setup(void **state)
{
	(void)state;
	site_init(&site);
	vouch_key_init(&phone);
	assert_int_equal(vouch_key_generate(&phone, VOUCH_KEY_P256), VOUCH_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vouch_key_clear(&phone);
	site_clear(&site);
	return 0;
}

static int sensor_up(void **state)
{
	(void)state;
	site_sensor_up(&sensor, dir, sizeof(dir), devkey, &pub);
	return 0;
}

static int sensor_down(void **state)
{
	(void)state;
	site_sensor_down(&sensor, dir, &pub);
	return 0;
}

static void expect_diag(const char *prefix)
{
	assert_int_equal(code, SENSOR_BAD_REQUEST);
	assert_true(out_len >= strlen(prefix));
	if (memcmp(out, prefix, strlen(prefix)) != 0)
		fail_msg("diagnostic \"%.*s\" does not start with \"%s\"", (int)out_len, out,
		         prefix);
}

static unsigned call(sensor_handler_fn fn, struct sensor_session *sess, const uint8_t *in,
                     size_t len)
{
	assert_int_equal(fn(&sensor, sess, in, len, out, sizeof(out), &out_len, &code), VOUCH_OK);
	return code;
}

/* The CSR of the answer, checked: PKCS#10, CN=unprovisioned, the sensor's key, its signature. */
static void check_csr(const uint8_t *der, size_t len)
{
	mbedtls_x509_csr csr;
	uint8_t h[VOUCH_SHA256_LEN], point[VOUCH_P256_POINT_LEN], bad[1024];
	char subject[128];
	size_t plen = 0;

	mbedtls_x509_csr_init(&csr);
	assert_int_equal(mbedtls_x509_csr_parse_der(&csr, der, len), 0);
	assert_true(mbedtls_x509_dn_gets(subject, sizeof(subject), &csr.subject) > 0);
	assert_string_equal(subject, "CN=unprovisioned");
	assert_int_equal(csr.version, 1);
	assert_int_equal(csr.sig_md, MBEDTLS_MD_SHA256);
	assert_int_equal(mbedtls_ecp_point_write_binary(
	                     &mbedtls_pk_ec(csr.pk)->grp, &mbedtls_pk_ec(csr.pk)->Q,
	                     MBEDTLS_ECP_PF_UNCOMPRESSED, &plen, point, sizeof(point)),
	                 0);
	assert_memory_equal(point, sensor.id_point, sizeof(point));
	assert_int_equal(vouch_sha256(csr.cri.p, csr.cri.len, h), VOUCH_OK);
	assert_int_equal(
	    mbedtls_pk_verify(&csr.pk, MBEDTLS_MD_SHA256, h, sizeof(h), csr.sig.p, csr.sig.len), 0);
	/* The check can fail: a flipped bit of the signed part. */
	h[0] ^= 1;
	assert_int_not_equal(
	    mbedtls_pk_verify(&csr.pk, MBEDTLS_MD_SHA256, h, sizeof(h), csr.sig.p, csr.sig.len), 0);
	mbedtls_x509_csr_free(&csr);
	assert_true(len <= sizeof(bad));
	memcpy(bad, der, len);
	bad[len - 1] ^= 0x01; /* the signature's last byte */
	mbedtls_x509_csr_init(&csr);
	if (mbedtls_x509_csr_parse_der(&csr, bad, len) == 0) {
		assert_int_equal(vouch_sha256(csr.cri.p, csr.cri.len, h), VOUCH_OK);
		assert_int_not_equal(mbedtls_pk_verify(&csr.pk, MBEDTLS_MD_SHA256, h, sizeof(h),
		                                       csr.sig.p, csr.sig.len),
		                     0);
	}
	mbedtls_x509_csr_free(&csr);
}

static struct sensor_session *csr_session(uint8_t cid)
{
	struct sensor_session *sess = site_session(&sensor, &phone, cid);
	struct vouch_cbor_reader r;
	const uint8_t *der;
	size_t n = 0, len = 0;
	uint64_t key = 0, v = 0;

	assert_int_equal(call(sensor_handle_commission_csr, sess, NULL, 0), SENSOR_CONTENT);
	assert_int_equal(vouch_cbor_validate(out, out_len, NULL), VOUCH_OK);
	vouch_cbor_reader_init(&r, out, out_len);
	assert_int_equal(vouch_cbor_read_map(&r, &n), VOUCH_OK);
	assert_int_equal(n, 2);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(key, 1);
	assert_int_equal(vouch_cbor_read_uint(&r, &v), VOUCH_OK);
	assert_int_equal(v, 1);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(key, 2);
	assert_int_equal(vouch_cbor_read_bstr(&r, &der, &len), VOUCH_OK);
	assert_true(vouch_cbor_reader_done(&r));
	check_csr(der, len);
	assert_true(sess->csr_sent);
	return sess;
}

static void test_csr(void **state)
{
	struct sensor_session *sess;

	(void)state;
	sess = csr_session(1);
	assert_int_equal(call(sensor_handle_commission_csr, sess, (const uint8_t *)"x", 1),
	                 SENSOR_BAD_REQUEST);
	assert_int_equal(call(sensor_handle_commission_csr, NULL, NULL, 0), SENSOR_UNAUTHORIZED);
}

/* info: the keys present and the state / device id, and once provisioned the resource and
 * its tags exactly as the state holds them. */
static void check_info(bool provisioned)
{
	struct vouch_cbor_reader r;
	const char *t;
	const uint8_t *b;
	size_t n = 0, tl = 0, bl = 0, nt = 0;
	uint64_t key = 0, v = 0;
	unsigned seen = 0;

	assert_int_equal(call(sensor_handle_info, NULL, NULL, 0), SENSOR_CONTENT);
	assert_int_equal(vouch_cbor_validate(out, out_len, NULL), VOUCH_OK);
	vouch_cbor_reader_init(&r, out, out_len);
	assert_int_equal(vouch_cbor_read_map(&r, &n), VOUCH_OK);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
		seen |= 1u << key;
		switch (key) {
		case 1:
		case 6:
			assert_int_equal(vouch_cbor_read_uint(&r, &v), VOUCH_OK);
			break;
		case 7:
			assert_int_equal(vouch_cbor_read_bstr(&r, &b, &bl), VOUCH_OK);
			assert_int_equal(bl, sensor.st.cert_len);
			break;
		case 9:
			assert_int_equal(vouch_cbor_read_array(&r, &nt), VOUCH_OK);
			assert_int_equal(nt, sensor.st.n_tags);
			for (size_t j = 0; j < nt; j++) {
				assert_int_equal(vouch_cbor_read_tstr(&r, &t, &tl), VOUCH_OK);
				assert_int_equal(tl, strlen(sensor.st.tags[j]));
				assert_memory_equal(t, sensor.st.tags[j], tl);
			}
			break;
		default:
			assert_int_equal(vouch_cbor_read_tstr(&r, &t, &tl), VOUCH_OK);
			if (key == 2)
				assert_int_equal(tl, provisioned ? 11 : 13);
			if (key == 3)
				assert_memory_equal(t, SITE_DEVICE, tl);
			if (key == 4)
				assert_memory_equal(t, SITE_ZONE, tl);
			if (key == 8) {
				assert_int_equal(tl, strlen(sensor.st.resource));
				assert_memory_equal(t, sensor.st.resource, tl);
			}
		}
	}
	assert_int_equal(seen, provisioned ? 0x3beu : 0x36u);
	assert_int_equal(call(sensor_handle_info, NULL, (const uint8_t *)"x", 1),
	                 SENSOR_BAD_REQUEST);
}

static void test_bundle_good(void **state)
{
	struct sensor_session *sess;
	struct vouch_cbor_reader r;
	struct site_event ev;
	const uint8_t *e;
	const char *t;
	size_t len = 0, n = 0, tl = 0, el = 0;
	uint64_t key = 0, v = 0;

	(void)state;
	check_info(false);
	sess = csr_session(1);
	site_bundle_init(&site, &bundle, &pub);
	site_bundle_seal(&bundle, sealed, sizeof(sealed), &len);
	assert_int_equal(call(sensor_handle_commission_bundle, sess, sealed, len), SENSOR_CHANGED);
	assert_int_equal(vouch_cbor_validate(out, out_len, NULL), VOUCH_OK);
	vouch_cbor_reader_init(&r, out, out_len);
	assert_int_equal(vouch_cbor_read_map(&r, &n), VOUCH_OK);
	assert_int_equal(n, 3);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_uint(&r, &v), VOUCH_OK);
	assert_int_equal(v, 1);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_tstr(&r, &t, &tl), VOUCH_OK);
	assert_int_equal(tl, strlen(SITE_DEVICE));
	assert_memory_equal(t, SITE_DEVICE, tl);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(key, 3);
	assert_int_equal(vouch_cbor_read_bstr(&r, &e, &el), VOUCH_OK);
	site_event_read(e, el, &pub, &ev);
	assert_string_equal(ev.kind, "commission");
	assert_string_equal(ev.who, "ian");
	assert_string_equal(ev.device, SITE_DEVICE);
	assert_string_equal(ev.resource, ""); /* its own resource: no key 13 */
	assert_int_equal(ev.seq, 1);

	assert_true(sensor.st.provisioned);
	assert_string_equal(sensor.st.resource, SITE_DEVICE);
	assert_int_equal(sensor.st.n_tags, 0);
	assert_string_equal(sensor.st.iss, SITE_ISS);
	assert_string_equal(sensor.st.tz, SITE_TZ);
	assert_int_equal(sensor.st.n_ca, 2);
	assert_int_equal(sensor.issuer.type, VOUCH_KEY_P256);
	check_info(true);
	/* Once is all: no second bundle, no second CSR. */
	assert_int_equal(call(sensor_handle_commission_bundle, sess, sealed, len),
	                 SENSOR_FORBIDDEN);
	assert_int_equal(call(sensor_handle_commission_csr, sess, NULL, 0), SENSOR_FORBIDDEN);
	/* It is what the state directory holds. */
	sensor_stop(&sensor);
	assert_int_equal(site_start(&sensor, dir, devkey), VOUCH_OK);
	assert_true(sensor.st.provisioned);
	assert_string_equal(sensor.st.installer, "ian");
}

static void test_bundle_session(void **state)
{
	struct sensor_session *other;
	size_t len = 0;

	(void)state;
	(void)csr_session(1);
	other = site_session(&sensor, &phone, 2);
	/* The session is checked before the bundle is looked at. */
	site_bundle_init(&site, &bundle, &pub);
	site_bundle_seal(&bundle, sealed, sizeof(sealed), &len);
	assert_int_equal(call(sensor_handle_commission_bundle, other, sealed, len),
	                 SENSOR_UNAUTHORIZED);
	assert_int_equal(call(sensor_handle_commission_bundle, NULL, sealed, len),
	                 SENSOR_UNAUTHORIZED);
	assert_false(sensor.st.provisioned);
}

/* Seal the current `bundle`, offer it, expect a refusal starting with prefix. */
static void refused(struct sensor_session *sess, const char *prefix)
{
	size_t len = 0;

	site_bundle_seal(&bundle, sealed, sizeof(sealed), &len);
	assert_int_equal(call(sensor_handle_commission_bundle, sess, sealed, len),
	                 SENSOR_BAD_REQUEST);
	expect_diag(prefix);
	assert_false(sensor.st.provisioned);
	assert_string_equal(sensor.st.zone, SITE_ZONE);
	assert_int_equal(sensor.issuer.type, VOUCH_KEY_NONE);
	site_bundle_init(&site, &bundle, &pub);
}

static void test_bundle_refused(void **state)
{
	struct sensor_session *sess;
	struct vouch_key other, other_pub;
	uint8_t point[VOUCH_P256_POINT_LEN];
	char long_id[SENSOR_NAME_MAX + 2];
	size_t len = 0, plen = 0;

	(void)state;
	sess = csr_session(1);
	vouch_key_init(&other);
	vouch_key_init(&other_pub);
	assert_int_equal(vouch_key_generate(&other, VOUCH_KEY_P256), VOUCH_OK);
	assert_int_equal(vouch_key_export_public(&other, point, sizeof(point), &plen), VOUCH_OK);
	assert_int_equal(vouch_key_import_public(&other_pub, VOUCH_KEY_P256, point, plen),
	                 VOUCH_OK);
	site_bundle_init(&site, &bundle, &pub);

	bundle.seal_to = &other_pub;
	refused(sess, "the bundle is not sealed to this sensor's key");
	bundle.content_alg = VOUCH_COSE_ALG_A128GCM;
	refused(sess, "not a sealed bundle");
	bundle.signer = &other;
	refused(sess, "the bundle is not signed by its issuing CA");
	site_cert(&site, &other_pub, SITE_DEVICE, false, bundle.cert, sizeof(bundle.cert),
	          &bundle.cert_len);
	refused(sess, "the device certificate is not for this sensor's key");
	site_cert(&site, &pub, "dev-somebody-else", false, bundle.cert, sizeof(bundle.cert),
	          &bundle.cert_len);
	refused(sess, "the device certificate is for another device id");
	site_cert(&site, &pub, SITE_DEVICE, true, bundle.cert, sizeof(bundle.cert),
	          &bundle.cert_len);
	refused(sess, "the device certificate does not chain to the bundle's CA");
	bundle.ca[0] = site.other_ca; /* a CA whose key did not sign the bundle */
	bundle.ca_len[0] = site.other_ca_len;
	refused(sess, "the bundle is not signed by its issuing CA");
	bundle.ca[0] = (const uint8_t *)"not a certificate";
	bundle.ca_len[0] = 17;
	refused(sess, "the bundle is not signed by its issuing CA");
	bundle.version = 2;
	refused(sess, "the bundle is malformed");
	bundle.extra_key = true;
	refused(sess, "the bundle is malformed");
	bundle.tz = "Not/A-Rule";
	refused(sess, "the bundle's time zone rule is not usable");
	memset(long_id, 'd', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	bundle.device = long_id;
	refused(sess, "the bundle is malformed");

	/* The resource it decides as: required, a name, with at most SENSOR_TAGS_MAX tags. */
	bundle.resource = NULL;
	refused(sess, "the bundle is malformed");
	bundle.resource = "";
	refused(sess, "the bundle is malformed");
	bundle.resource = long_id;
	refused(sess, "the bundle is malformed");
	bundle.tags_not_array = true;
	refused(sess, "the bundle is malformed");
	{
		const char *many[SENSOR_TAGS_MAX + 1], *empty[] = {"hot-process", ""},
		                                       *toolong[] = {long_id};

		for (size_t i = 0; i < VOUCH_ARRAY_LEN(many); i++)
			many[i] = "t";
		bundle.tags = many;
		bundle.n_tags = VOUCH_ARRAY_LEN(many);
		refused(sess, "the bundle is malformed");
		bundle.tags = empty;
		bundle.n_tags = 2;
		refused(sess, "the bundle is malformed");
		bundle.tags = toolong;
		bundle.n_tags = 1;
		refused(sess, "the bundle is malformed");
	}

	/* Not a sealed bundle at all: garbage, the signed bundle in the clear, truncations. */
	assert_int_equal(
	    call(sensor_handle_commission_bundle, sess, (const uint8_t *)"\xd8\x60", 2),
	    SENSOR_BAD_REQUEST);
	expect_diag("not a sealed bundle");
	site_bundle_seal(&bundle, sealed, sizeof(sealed), &len);
	for (size_t cut = 1; cut < len; cut += 13) {
		assert_int_equal(call(sensor_handle_commission_bundle, sess, sealed, cut),
		                 SENSOR_BAD_REQUEST);
		assert_false(sensor.st.provisioned);
	}
	sealed[len - 3] ^= 0x40; /* the ciphertext's tag */
	assert_int_equal(call(sensor_handle_commission_bundle, sess, sealed, len),
	                 SENSOR_BAD_REQUEST);
	expect_diag("the bundle is not sealed to this sensor's key");
	assert_int_equal(sensor.q.count, 0);

	/* After every refusal the sensor is as it was: the good bundle still works. */
	site_bundle_seal(&bundle, sealed, sizeof(sealed), &len);
	assert_int_equal(call(sensor_handle_commission_bundle, sess, sealed, len), SENSOR_CHANGED);
	assert_int_equal(sensor.st.next_seq, 2);
	vouch_key_clear(&other);
	vouch_key_clear(&other_pub);
}

/* Permissions of a person on the plant's resource press-9 (role "press"):
 *   0 permit operate on tag "hot-process"
 *   1 permit service on id "press-9"
 *   2 permit stop on tag "cold-store" (a tag press-9 does not have) */
static size_t press_perm(uint8_t *buf, size_t cap)
{
	static const char *const roles[] = {"press"};
	static const char *const hot[] = {"hot-process"}, *const cold[] = {"cold-store"};
	struct vouch_policy_perm perms[3];
	struct vouch_policy_set set;
	size_t len = 0;

	memset(perms, 0, sizeof(perms));
	perms[0].tags = hot;
	perms[0].n_tags = 1;
	perms[0].actions = VOUCH_ACTION_OPERATE;
	perms[1].id = "press-9";
	perms[1].actions = VOUCH_ACTION_SERVICE;
	perms[2].tags = cold;
	perms[2].n_tags = 1;
	perms[2].actions = VOUCH_ACTION_STOP;
	memset(&set, 0, sizeof(set));
	set.tz = SITE_TZ;
	set.roles = roles;
	set.n_roles = 1;
	set.perms = perms;
	set.n_perms = 3;
	assert_int_equal(vouch_policy_encode(&set, buf, cap, &len), VOUCH_OK);
	return len;
}

/* Decide action for a credential with press_perm() in a fresh session. */
static bool press_decides(uint32_t action, uint8_t cid)
{
	struct sensor_session *sess = site_session(&sensor, &phone, cid);
	uint8_t perm[512];
	char reason[SENSOR_REASON_MAX];
	size_t perm_len = press_perm(perm, sizeof(perm)), len;
	bool granted = true;

	len = site_credential_perm(&site, "pat", &phone, site_now - 60, site_now + HOUR, perm,
	                           perm_len, cred, sizeof(cred));
	assert_int_equal(call(sensor_handle_authz_info, sess, cred, len), SENSOR_CREATED);
	assert_int_equal(sensor_decide(&sensor, sess, action, &granted, reason, sizeof(reason)),
	                 VOUCH_OK);
	sensor_session_close(sess);
	return granted;
}

static void test_bundle_resource(void **state)
{
	static const char *const tags[] = {"hot-process", "production"};
	struct sensor_session *sess;
	struct vouch_cbor_reader r;
	struct site_event ev[4];
	uint8_t list[1024];
	const uint8_t *e;
	const char *t;
	size_t len = 0, n = 0, tl = 0, el = 0;
	uint64_t key = 0, v = 0;

	(void)state;
	sess = csr_session(1);
	site_bundle_init(&site, &bundle, &pub);
	bundle.resource = "press-9";
	bundle.tags = tags;
	bundle.n_tags = 2;
	site_bundle_seal(&bundle, sealed, sizeof(sealed), &len);
	assert_int_equal(call(sensor_handle_commission_bundle, sess, sealed, len), SENSOR_CHANGED);
	assert_string_equal(sensor.st.device_id, SITE_DEVICE); /* the identity is the key's */
	assert_string_equal(sensor.st.resource, "press-9");
	assert_int_equal(sensor.st.n_tags, 2);
	assert_string_equal(sensor.st.tags[0], "hot-process");
	assert_string_equal(sensor.st.tags[1], "production");
	/* The commission event: the device id in key 4, the resource in key 13. */
	vouch_cbor_reader_init(&r, out, out_len);
	assert_int_equal(vouch_cbor_read_map(&r, &n), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_uint(&r, &v), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_tstr(&r, &t, &tl), VOUCH_OK);
	assert_memory_equal(t, SITE_DEVICE, tl);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_bstr(&r, &e, &el), VOUCH_OK);
	site_event_read(e, el, &pub, &ev[0]);
	assert_string_equal(ev[0].device, SITE_DEVICE);
	assert_string_equal(ev[0].resource, "press-9");
	check_info(true);

	/* It decides as press-9: its tag and its id grant, another tag does not. */
	len = site_revlist(&site, NULL, 1, site_now - 5, NULL, 0, list, sizeof(list));
	assert_int_equal(call(sensor_handle_revocations, NULL, list, len), SENSOR_CHANGED);
	assert_true(press_decides(VOUCH_ACTION_OPERATE, 2));
	assert_true(press_decides(VOUCH_ACTION_SERVICE, 3));
	assert_false(press_decides(VOUCH_ACTION_STOP, 4));

	/* What the state directory holds: the same after a restart. */
	sensor_stop(&sensor);
	assert_int_equal(site_start(&sensor, dir, devkey), VOUCH_OK);
	assert_string_equal(sensor.st.resource, "press-9");
	assert_int_equal(sensor.st.n_tags, 2);
	assert_string_equal(sensor.st.tags[1], "production");
	assert_true(press_decides(VOUCH_ACTION_OPERATE, 5));
	assert_false(press_decides(VOUCH_ACTION_STOP, 6));
	/* Every event names it: the commission, the list taken, the three decisions (the
	 * access events of press_decides are not recorded: sensor_decide() only decides). */
	assert_int_equal(site_queue_events(&sensor, &pub, ev, 4), 2);
	assert_string_equal(ev[1].kind, "revocations");
	assert_string_equal(ev[1].resource, "press-9");
}

/* The same grants at an unbound sensor (its own resource, no tags): none applies. */
static void test_unbound_decides(void **state)
{
	uint8_t list[1024];
	size_t len;

	(void)state;
	site_commission(&site, &sensor);
	len = site_revlist(&site, NULL, 1, site_now - 5, NULL, 0, list, sizeof(list));
	assert_int_equal(call(sensor_handle_revocations, NULL, list, len), SENSOR_CHANGED);
	assert_false(press_decides(VOUCH_ACTION_OPERATE, 2));
	assert_false(press_decides(VOUCH_ACTION_SERVICE, 3));
}

static size_t commission_cred(bool allowed)
{
	return site_credential(&site, "ian", &phone, NULL, site_now - 60, site_now + HOUR, allowed,
	                       cred, sizeof(cred));
}

static void test_decommission(void **state)
{
	struct sensor_session *sess;
	struct vouch_cbor_reader r;
	struct site_event ev;
	const uint8_t *e;
	const char *t;
	uint8_t list[1024];
	size_t n = 0, tl = 0, el = 0, len;
	uint64_t key = 0, v = 0;
	struct stat sb;
	char path[SENSOR_PATH_MAX];

	(void)state;
	site_commission(&site, &sensor);
	len = site_revlist(&site, NULL, 1, site_now - 5, NULL, 0, list, sizeof(list));
	assert_int_equal(call(sensor_handle_revocations, NULL, list, len), SENSOR_CHANGED);
	sess = site_session(&sensor, &phone, 3);
	assert_int_equal(call(sensor_handle_decommission, sess, NULL, 0), SENSOR_UNAUTHORIZED);

	/* A credential without `commission`: refused, recorded, nothing wiped. */
	assert_int_equal(call(sensor_handle_authz_info, sess, cred, commission_cred(false)),
	                 SENSOR_CREATED);
	assert_int_equal(call(sensor_handle_decommission, sess, NULL, 0), SENSOR_UNAUTHORIZED);
	assert_false(sensor.wipe_pending);
	assert_true(sensor.st.provisioned);

	assert_int_equal(call(sensor_handle_authz_info, sess, cred, commission_cred(true)),
	                 SENSOR_CREATED);
	assert_int_equal(call(sensor_handle_decommission, sess, (const uint8_t *)"x", 1),
	                 SENSOR_BAD_REQUEST);
	/* A stale list: commissioning is not read or enter, so it fails closed. */
	site_now += 2 * 24 * HOUR;
	assert_int_equal(call(sensor_handle_decommission, sess, NULL, 0), SENSOR_UNAUTHORIZED);
	site_now -= 2 * 24 * HOUR;

	assert_int_equal(call(sensor_handle_decommission, sess, NULL, 0), SENSOR_DELETED);
	assert_true(sensor.wipe_pending);
	assert_int_equal(vouch_cbor_validate(out, out_len, NULL), VOUCH_OK);
	vouch_cbor_reader_init(&r, out, out_len);
	assert_int_equal(vouch_cbor_read_map(&r, &n), VOUCH_OK);
	assert_int_equal(n, 3);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_uint(&r, &v), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_tstr(&r, &t, &tl), VOUCH_OK);
	assert_memory_equal(t, SITE_DEVICE, tl);
	assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
	assert_int_equal(vouch_cbor_read_bstr(&r, &e, &el), VOUCH_OK);
	site_event_read(e, el, &pub, &ev);
	assert_string_equal(ev.kind, "decommission");
	assert_string_equal(ev.subject, "ian");
	assert_string_equal(ev.who, "phone-1");
	assert_int_equal(ev.cti_len, VOUCH_CRED_CTI_LEN);

	/* Then the agent forgets everything. */
	assert_int_equal(sensor_wipe(&sensor), VOUCH_OK);
	assert_false(sensor.started);
	assert_int_equal(sensor_path(path, sizeof(path), dir, SENSOR_STATE_FILE), VOUCH_OK);
	assert_int_not_equal(stat(path, &sb), 0);
	assert_int_equal(sensor_path(path, sizeof(path), dir, SENSOR_QUEUE_FILE), VOUCH_OK);
	assert_int_not_equal(stat(path, &sb), 0);
	site_devkey(devkey);
	assert_int_equal(site_start(&sensor, dir, devkey), VOUCH_OK);
	assert_false(sensor.st.provisioned);
	assert_int_equal(sensor.st.next_seq, 1);
	vouch_key_clear(&pub);
	site_sensor_pub(&sensor, &pub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_csr, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_bundle_good, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_bundle_session, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_bundle_refused, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_bundle_resource, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_unbound_decides, sensor_up, sensor_down),
	    cmocka_unit_test_setup_teardown(test_decommission, sensor_up, sensor_down),
	};

	vouch_log_init("test_sensor_commission", VOUCH_LOG_ERROR + 1, NULL);
	return cmocka_run_group_tests(tests, setup, teardown);
}
