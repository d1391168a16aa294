/*
 * A test site for the sensor tests (see site.h).
 */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/x509_crt.h>

#include "site.h"
#include "vouch/cbor.h"
#include "vouch/cose.h"

int64_t site_now = SITE_T0;

int64_t site_clock(void)
{
	return site_now;
}

static int rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	return vouch_random(buf, len) == VOUCH_OK ? 0 : -1;
}

static void gen_pk(mbedtls_pk_context *pk)
{
	mbedtls_pk_init(pk);
	assert_int_equal(mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	assert_int_equal(
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk), rng, NULL), 0);
}

/* A public-only Mbed TLS key of a port key. */
static void pub_pk(const struct vouch_key *key, mbedtls_pk_context *pk)
{
	uint8_t point[VOUCH_P256_POINT_LEN];
	size_t len = 0;
	mbedtls_ecp_keypair *ec;

	assert_int_equal(vouch_key_export_public(key, point, sizeof(point), &len), VOUCH_OK);
	mbedtls_pk_init(pk);
	assert_int_equal(mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	ec = mbedtls_pk_ec(*pk);
	assert_int_equal(mbedtls_ecp_group_load(&ec->grp, MBEDTLS_ECP_DP_SECP256R1), 0);
	assert_int_equal(mbedtls_ecp_point_read_binary(&ec->grp, &ec->Q, point, len), 0);
}

static void write_cert(mbedtls_pk_context *subject_pk, const char *subject,
                       mbedtls_pk_context *issuer_pk, const char *issuer, bool ca, uint8_t *out,
                       size_t cap, size_t *len)
{
	static int serial_no = 1;
	mbedtls_x509write_cert crt;
	mbedtls_mpi serial;
	uint8_t buf[SENSOR_CERT_MAX];
	int n;

	mbedtls_x509write_crt_init(&crt);
	mbedtls_mpi_init(&serial);
	assert_int_equal(mbedtls_mpi_lset(&serial, serial_no++), 0);
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, subject_pk);
	mbedtls_x509write_crt_set_issuer_key(&crt, issuer_pk);
	assert_int_equal(mbedtls_x509write_crt_set_subject_name(&crt, subject), 0);
	assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&crt, issuer), 0);
	assert_int_equal(mbedtls_x509write_crt_set_serial(&crt, &serial), 0);
	assert_int_equal(
	    mbedtls_x509write_crt_set_validity(&crt, "20200101000000", "20491231235959"), 0);
	assert_int_equal(mbedtls_x509write_crt_set_basic_constraints(&crt, ca, -1), 0);
	assert_int_equal(
	    mbedtls_x509write_crt_set_key_usage(
	        &crt, ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
	                 : MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_AGREEMENT),
	    0);
	n = mbedtls_x509write_crt_der(&crt, buf, sizeof(buf), rng, NULL);
	assert_true(n > 0 && (size_t)n <= cap);
	memcpy(out, buf + sizeof(buf) - (size_t)n, (size_t)n);
	*len = (size_t)n;
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&crt);
}

/* The port's handle of an Mbed TLS private key. */
static void port_of_pk(mbedtls_pk_context *pk, struct vouch_key *key)
{
	uint8_t d[VOUCH_P256_SCALAR_LEN];

	assert_int_equal(mbedtls_mpi_write_binary(&mbedtls_pk_ec(*pk)->d, d, sizeof(d)), 0);
	vouch_key_init(key);
	assert_int_equal(vouch_key_import_private(key, VOUCH_KEY_P256, d, sizeof(d)), VOUCH_OK);
	vouch_wipe(d, sizeof(d));
}

void site_init(struct site *t)
{
	memset(t, 0, sizeof(*t));
	gen_pk(&t->root_pk);
	gen_pk(&t->issuing_pk);
	gen_pk(&t->other_ca_pk);
	write_cert(&t->root_pk, "CN=test root CA", &t->root_pk, "CN=test root CA", true, t->root,
	           sizeof(t->root), &t->root_len);
	write_cert(&t->issuing_pk, "CN=test issuing CA", &t->root_pk, "CN=test root CA", true,
	           t->issuing, sizeof(t->issuing), &t->issuing_len);
	write_cert(&t->other_ca_pk, "CN=test issuing CA", &t->other_ca_pk, "CN=test issuing CA",
	           true, t->other_ca, sizeof(t->other_ca), &t->other_ca_len);
	port_of_pk(&t->issuing_pk, &t->issuing_key);
	vouch_key_init(&t->issuer);
	vouch_key_init(&t->revsigner);
	vouch_key_init(&t->firmware);
	assert_int_equal(vouch_key_generate(&t->issuer, VOUCH_KEY_P256), VOUCH_OK);
	assert_int_equal(vouch_key_generate(&t->revsigner, VOUCH_KEY_P256), VOUCH_OK);
	assert_int_equal(vouch_key_generate(&t->firmware, VOUCH_KEY_P256), VOUCH_OK);
	assert_int_equal(vouch_cose_key_thumbprint(&t->issuer, t->issuer_kid), VOUCH_OK);
}

void site_clear(struct site *t)
{
	mbedtls_pk_free(&t->root_pk);
	mbedtls_pk_free(&t->issuing_pk);
	mbedtls_pk_free(&t->other_ca_pk);
	vouch_key_clear(&t->issuing_key);
	vouch_key_clear(&t->issuer);
	vouch_key_clear(&t->revsigner);
	vouch_key_clear(&t->firmware);
}

void site_cert(struct site *t, const struct vouch_key *key, const char *cn, bool foreign,
               uint8_t *out, size_t cap, size_t *len)
{
	mbedtls_pk_context pk;
	char subject[128];

	pub_pk(key, &pk);
	snprintf(subject, sizeof(subject), "CN=%s", cn);
	write_cert(&pk, subject, foreign ? &t->other_ca_pk : &t->issuing_pk, "CN=test issuing CA",
	           false, out, cap, len);
	mbedtls_pk_free(&pk);
}

void site_bundle_init(struct site *t, struct site_bundle *b, const struct vouch_key *dev_pub)
{
	memset(b, 0, sizeof(*b));
	b->version = 1;
	b->device = SITE_DEVICE;
	b->zone = SITE_ZONE;
	b->type = SITE_TYPE;
	b->tz = SITE_TZ;
	b->iss = SITE_ISS;
	b->aud = SITE_AUD;
	b->installer = "ian";
	site_cert(t, dev_pub, SITE_DEVICE, false, b->cert, sizeof(b->cert), &b->cert_len);
	b->ca[0] = t->issuing;
	b->ca_len[0] = t->issuing_len;
	b->ca[1] = t->root;
	b->ca_len[1] = t->root_len;
	b->n_ca = 2;
	b->issuer = &t->issuer;
	b->revsigner = &t->revsigner;
	b->firmware = &t->firmware;
	b->issued_at = site_now;
	b->resource = SITE_DEVICE; /* as vouchd makes it without --resource: the device itself */
	b->signer = &t->issuing_key;
	b->seal_to = dev_pub;
}

static void write_key(struct vouch_cbor_writer *w, const struct vouch_key *k)
{
	uint8_t buf[SENSOR_COSE_KEY_MAX], kid[VOUCH_THUMBPRINT_LEN];
	struct vouch_cbor_writer kw;
	size_t len = 0;

	assert_int_equal(vouch_cose_key_thumbprint(k, kid), VOUCH_OK);
	vouch_cbor_writer_init(&kw, buf, sizeof(buf));
	vouch_cose_key_write_public(&kw, k, kid, sizeof(kid), VOUCH_COSE_ALG_ES256);
	assert_int_equal(vouch_cbor_writer_finish(&kw, &len), VOUCH_OK);
	vouch_cbor_write_bstr(w, buf, len);
}

void site_bundle_seal(const struct site_bundle *b, uint8_t *out, size_t cap, size_t *len)
{
	static uint8_t plain[SENSOR_PAYLOAD_MAX], signed_[SENSOR_PAYLOAD_MAX];
	struct vouch_cose_hdr_params hp;
	struct vouch_cose_recipient rcpt;
	struct vouch_cbor_writer w;
	size_t plain_len = 0, signed_len = 0;

	vouch_cbor_writer_init(&w, plain, sizeof(plain));
	vouch_cbor_write_map(&w, 15 + (b->resource != NULL) + b->extra_key);
	vouch_cbor_write_uint(&w, 1);
	vouch_cbor_write_uint(&w, b->version);
	vouch_cbor_write_uint(&w, 2);
	vouch_cbor_write_cstr(&w, b->device);
	vouch_cbor_write_uint(&w, 3);
	vouch_cbor_write_cstr(&w, b->zone);
	vouch_cbor_write_uint(&w, 4);
	vouch_cbor_write_cstr(&w, b->type);
	vouch_cbor_write_uint(&w, 5);
	vouch_cbor_write_cstr(&w, b->tz);
	vouch_cbor_write_uint(&w, 6);
	vouch_cbor_write_bstr(&w, b->cert, b->cert_len);
	vouch_cbor_write_uint(&w, 7);
	vouch_cbor_write_array(&w, b->n_ca);
	for (size_t i = 0; i < b->n_ca; i++)
		vouch_cbor_write_bstr(&w, b->ca[i], b->ca_len[i]);
	vouch_cbor_write_uint(&w, 8);
	write_key(&w, b->issuer);
	vouch_cbor_write_uint(&w, 9);
	write_key(&w, b->revsigner);
	vouch_cbor_write_uint(&w, 10);
	write_key(&w, b->firmware);
	vouch_cbor_write_uint(&w, 11);
	vouch_cbor_write_cstr(&w, b->iss);
	vouch_cbor_write_uint(&w, 12);
	vouch_cbor_write_cstr(&w, b->aud);
	vouch_cbor_write_uint(&w, 13);
	vouch_cbor_write_cstr(&w, b->installer);
	vouch_cbor_write_uint(&w, 14);
	vouch_cbor_write_int(&w, b->issued_at);
	if (b->resource != NULL) {
		vouch_cbor_write_uint(&w, 15);
		vouch_cbor_write_cstr(&w, b->resource);
	}
	vouch_cbor_write_uint(&w, 16);
	if (b->tags_not_array) {
		vouch_cbor_write_cstr(&w, "hot-process");
	} else {
		vouch_cbor_write_array(&w, b->n_tags);
		for (size_t i = 0; i < b->n_tags; i++)
			vouch_cbor_write_cstr(&w, b->tags[i]);
	}
	if (b->extra_key) {
		vouch_cbor_write_uint(&w, 17);
		vouch_cbor_write_uint(&w, 0);
	}
	assert_int_equal(vouch_cbor_writer_finish(&w, &plain_len), VOUCH_OK);
	memset(&hp, 0, sizeof(hp));
	hp.alg = VOUCH_COSE_ALG_ES256;
	assert_int_equal(vouch_cose_sign1_create(b->signer, &hp, plain, plain_len, NULL, 0, true,
	                                         false, signed_, sizeof(signed_), &signed_len),
	                 VOUCH_OK);
	memset(&hp, 0, sizeof(hp));
	hp.alg = b->content_alg != 0 ? b->content_alg : VOUCH_COSE_ALG_AES_CCM_16_64_128;
	memset(&rcpt, 0, sizeof(rcpt));
	rcpt.alg = VOUCH_COSE_ALG_ECDH_ES_HKDF_256; /* as vouchd seals (both back-ends open it) */
	rcpt.peer = b->seal_to;
	assert_int_equal(vouch_cose_encrypt_create(&hp, &rcpt, 1, signed_, signed_len, NULL, 0,
	                                           true, out, cap, len),
	                 VOUCH_OK);
}

size_t site_perm(bool commission, uint8_t *out, size_t cap)
{
	static const char *const roles[] = {"operator"};
	static const struct vouch_policy_window day = {0x1f, 6 * 60, 14 * 60};
	static const struct vouch_policy_reading_cond cool = {"temperature", VOUCH_POLICY_LT, 60};
	struct vouch_policy_perm perms[4];
	struct vouch_policy_set set;
	size_t len = 0;

	memset(perms, 0, sizeof(perms));
	perms[0].zone = "plant";
	perms[0].actions = VOUCH_ACTION_READ;
	perms[1].zone = "plant/hall-a";
	perms[1].actions = VOUCH_ACTION_ENTER;
	perms[1].windows = &day;
	perms[1].n_windows = 1;
	perms[2].type = "machine";
	perms[2].actions = VOUCH_ACTION_OPERATE;
	perms[2].readings = &cool;
	perms[2].n_readings = 1;
	perms[3].zone = "plant";
	perms[3].actions = VOUCH_ACTION_COMMISSION;
	memset(&set, 0, sizeof(set));
	set.tz = SITE_TZ;
	set.roles = roles;
	set.n_roles = 1;
	set.perms = perms;
	set.n_perms = commission ? 4 : 3;
	assert_int_equal(vouch_policy_encode(&set, out, cap, &len), VOUCH_OK);
	return len;
}

static size_t credential(struct site *t, const char *sub, const struct vouch_key *phone,
                         const char *aud, int64_t iat, int64_t exp, const uint8_t *perm,
                         size_t perm_len, uint8_t *out, size_t cap)
{
	struct vouch_cred_params p;
	size_t len = 0;

	memset(&p, 0, sizeof(p));
	p.iss = SITE_ISS;
	p.sub = sub;
	p.aud = aud != NULL ? aud : SITE_AUD;
	p.phone = "phone-1";
	p.iat = iat;
	p.nbf = iat;
	p.exp = exp;
	assert_int_equal(vouch_random(p.cti, sizeof(p.cti)), VOUCH_OK);
	p.cnf = phone;
	p.perm = perm;
	p.perm_len = perm_len;
	p.issuer_kid = t->issuer_kid;
	assert_int_equal(vouch_cred_issue(&p, &t->issuer, out, cap, &len), VOUCH_OK);
	return len;
}

size_t site_credential(struct site *t, const char *sub, const struct vouch_key *phone,
                       const char *aud, int64_t iat, int64_t exp, bool commission, uint8_t *out,
                       size_t cap)
{
	uint8_t perm[1024];
	size_t perm_len = site_perm(commission, perm, sizeof(perm));

	return credential(t, sub, phone, aud, iat, exp, perm, perm_len, out, cap);
}

size_t site_credential_perm(struct site *t, const char *sub, const struct vouch_key *phone,
                            int64_t iat, int64_t exp, const uint8_t *perm, size_t perm_len,
                            uint8_t *out, size_t cap)
{
	return credential(t, sub, phone, NULL, iat, exp, perm, perm_len, out, cap);
}

size_t site_revlist(struct site *t, const struct vouch_key *signer, uint64_t version,
                    int64_t issued_at, const struct vouch_revlist_entry *e, size_t n, uint8_t *out,
                    size_t cap)
{
	struct vouch_revlist_params p;
	size_t len = 0;

	memset(&p, 0, sizeof(p));
	p.iss = SITE_ISS;
	p.aud = SITE_AUD;
	p.version = version;
	p.issued_at = issued_at;
	p.max_age = VOUCH_REVLIST_MAX_AGE;
	p.entries = e;
	p.n_entries = n;
	assert_int_equal(
	    vouch_revlist_sign(&p, signer != NULL ? signer : &t->revsigner, out, cap, &len),
	    VOUCH_OK);
	return len;
}

void site_tmpdir(char *out, size_t cap)
{
	assert_true(snprintf(out, cap, "/tmp/vouch-sensor-test-XXXXXX") < (int)cap);
	assert_non_null(mkdtemp(out));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void site_rmdir(const char *dir)
{
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void site_devkey(uint8_t d[VOUCH_P256_SCALAR_LEN])
{
	struct vouch_key k;

	/* A random 256-bit string is a valid scalar but with probability ~2^-32: check it. */
	do {
		assert_int_equal(vouch_random(d, VOUCH_P256_SCALAR_LEN), VOUCH_OK);
		vouch_key_init(&k);
	} while (vouch_key_import_private(&k, VOUCH_KEY_P256, d, VOUCH_P256_SCALAR_LEN) !=
	         VOUCH_OK);
	vouch_key_clear(&k);
}

void site_key(const uint8_t d[VOUCH_P256_SCALAR_LEN], struct vouch_key *key)
{
	vouch_key_init(key);
	assert_int_equal(vouch_key_import_private(key, VOUCH_KEY_P256, d, VOUCH_P256_SCALAR_LEN),
	                 VOUCH_OK);
}

void site_sensor_pub(const struct vouch_sensor *s, struct vouch_key *pub)
{
	vouch_key_init(pub);
	assert_int_equal(
	    vouch_key_import_public(pub, VOUCH_KEY_P256, s->id_point, sizeof(s->id_point)),
	    VOUCH_OK);
}

int site_start(struct vouch_sensor *s, const char *sdir, const uint8_t d[VOUCH_P256_SCALAR_LEN])
{
	struct sensor_config cfg = {sdir, SITE_ZONE, SITE_TYPE, site_clock};
	struct vouch_key k;

	site_key(d, &k);
	return sensor_start_with_key(s, &cfg, &k);
}

static void cose_key_of(const struct vouch_key *k, uint8_t *out, size_t *len)
{
	uint8_t kid[VOUCH_THUMBPRINT_LEN];
	struct vouch_cbor_writer w;

	assert_int_equal(vouch_cose_key_thumbprint(k, kid), VOUCH_OK);
	vouch_cbor_writer_init(&w, out, SENSOR_COSE_KEY_MAX);
	vouch_cose_key_write_public(&w, k, kid, sizeof(kid), VOUCH_COSE_ALG_ES256);
	assert_int_equal(vouch_cbor_writer_finish(&w, len), VOUCH_OK);
}

void site_provision_direct(struct site *t, struct vouch_sensor *s)
{
	struct sensor_state *st = &s->st;
	uint8_t out[SENSOR_EVENT_MAX];
	struct sensor_event ev;
	struct vouch_key pub;
	size_t len = 0;

	site_sensor_pub(s, &pub);
	st->provisioned = true;
	strcpy(st->device_id, SITE_DEVICE);
	strcpy(st->zone, SITE_ZONE);
	strcpy(st->type, SITE_TYPE);
	strcpy(st->tz, SITE_TZ);
	site_cert(t, &pub, SITE_DEVICE, false, st->cert, sizeof(st->cert), &st->cert_len);
	memcpy(st->ca[0], t->issuing, t->issuing_len);
	st->ca_len[0] = t->issuing_len;
	memcpy(st->ca[1], t->root, t->root_len);
	st->ca_len[1] = t->root_len;
	st->n_ca = 2;
	cose_key_of(&t->issuer, st->issuer_key, &st->issuer_key_len);
	cose_key_of(&t->revsigner, st->revlist_key, &st->revlist_key_len);
	cose_key_of(&t->firmware, st->firmware_key, &st->firmware_key_len);
	strcpy(st->iss, SITE_ISS);
	strcpy(st->aud, SITE_AUD);
	strcpy(st->installer, "ian");
	strcpy(st->resource, SITE_DEVICE);
	st->n_tags = 0;
	st->commissioned_at = site_now;
	st->revlist_len = 0;
	assert_int_equal(sensor_state_save(s->sdir, st, s->scratch, sizeof(s->scratch)), VOUCH_OK);
	assert_int_equal(sensor_anchors_load(s), VOUCH_OK);
	sensor_readings_set_type(&s->rd, st->type);
	vouch_key_clear(&pub);
	/* As the bundle would have left it: its event queued. */
	memset(&ev, 0, sizeof(ev));
	ev.kind = "commission";
	ev.who = st->installer;
	ev.who_len = strlen(st->installer);
	assert_int_equal(sensor_event_record(s, &ev, out, sizeof(out), &len), VOUCH_OK);
}

void site_commission(struct site *t, struct vouch_sensor *s)
{
	static struct site_bundle b;
	static uint8_t sealed[SENSOR_PAYLOAD_MAX];
	uint8_t event[SENSOR_EVENT_MAX];
	size_t len = 0, event_len = 0;
	struct vouch_key pub;
	char why[256];

	site_sensor_pub(s, &pub);
	site_bundle_init(t, &b, &pub);
	site_bundle_seal(&b, sealed, sizeof(sealed), &len);
	assert_int_equal(sensor_commission_install(s, sealed, len, event, sizeof(event), &event_len,
	                                           why, sizeof(why)),
	                 VOUCH_OK);
	assert_true(s->st.provisioned);
	vouch_key_clear(&pub);
}

struct sensor_session *site_session(struct vouch_sensor *s, const struct vouch_key *phone,
                                    uint8_t cid)
{
	struct sensor_session *sess = sensor_session_open(s, &cid, 1);

	assert_non_null(sess);
	assert_int_equal(sensor_session_secure(sess, phone), VOUCH_OK);
	return sess;
}

static void text_of(struct vouch_cbor_reader *r, char *dst, size_t cap)
{
	const char *p;
	size_t len = 0;

	assert_int_equal(vouch_cbor_read_tstr(r, &p, &len), VOUCH_OK);
	assert_true(len < cap);
	memcpy(dst, p, len);
	dst[len] = '\0';
}

void site_event_read(const uint8_t *ev, size_t len, const struct vouch_key *pub,
                     struct site_event *out)
{
	uint8_t tp[VOUCH_THUMBPRINT_LEN];
	struct vouch_cose_sign1 s1;
	struct vouch_cbor_reader r;
	const uint8_t *b;
	uint64_t key = 0, last = 0, v = 0;
	size_t n = 0, blen = 0;

	memset(out, 0, sizeof(*out));
	assert_int_equal(vouch_cose_sign1_decode(ev, len, &s1), VOUCH_OK);
	assert_int_equal(vouch_cose_sign1_verify(&s1, pub, NULL, 0, NULL, 0), VOUCH_OK);
	assert_int_equal(vouch_cose_key_thumbprint(pub, tp), VOUCH_OK);
	assert_int_equal(s1.hdr.kid_len, sizeof(tp));
	assert_memory_equal(s1.hdr.kid, tp, sizeof(tp));
	assert_int_equal(vouch_cbor_validate(s1.payload, s1.payload_len, NULL), VOUCH_OK);
	vouch_cbor_reader_init(&r, s1.payload, s1.payload_len);
	assert_int_equal(vouch_cbor_read_map(&r, &n), VOUCH_OK);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(vouch_cbor_read_uint(&r, &key), VOUCH_OK);
		assert_true(key > last); /* ascending: deterministic */
		last = key;
		switch (key) {
		case 1:
			assert_int_equal(vouch_cbor_read_uint(&r, &v), VOUCH_OK);
			assert_int_equal(v, 1);
			break;
		case 2:
			assert_int_equal(vouch_cbor_read_uint(&r, &out->seq), VOUCH_OK);
			break;
		case 3:
			assert_int_equal(vouch_cbor_read_int(&r, &out->time), VOUCH_OK);
			break;
		case 4:
			text_of(&r, out->device, sizeof(out->device));
			break;
		case 5:
			text_of(&r, out->kind, sizeof(out->kind));
			break;
		case 6:
			text_of(&r, out->subject, sizeof(out->subject));
			break;
		case 7:
			assert_int_equal(vouch_cbor_read_bstr(&r, &b, &blen), VOUCH_OK);
			assert_true(blen <= sizeof(out->cti));
			memcpy(out->cti, b, blen);
			out->cti_len = blen;
			break;
		case 8:
			text_of(&r, out->action, sizeof(out->action));
			break;
		case 9:
			assert_int_equal(vouch_cbor_read_bool(&r, &out->granted), VOUCH_OK);
			out->has_granted = true;
			break;
		case 10:
			text_of(&r, out->reason, sizeof(out->reason));
			break;
		case 11:
			assert_int_equal(vouch_cbor_read_uint(&r, &out->rl_version), VOUCH_OK);
			out->has_rl_version = true;
			break;
		case 12:
			text_of(&r, out->who, sizeof(out->who));
			break;
		case 13:
			text_of(&r, out->resource, sizeof(out->resource));
			assert_true(out->resource[0] != '\0');
			break;
		default:
			fail_msg("unknown event key %llu", (unsigned long long)key);
		}
	}
	assert_true(vouch_cbor_reader_done(&r));
	assert_true(out->seq > 0 && out->kind[0] != '\0' && out->device[0] != '\0');
}

size_t site_queue_events(struct vouch_sensor *s, const struct vouch_key *pub,
                         struct site_event *out, size_t max)
{
	uint8_t buf[SENSOR_EVENT_MAX];
	uint64_t pos = 0, seq = 0;
	size_t len = 0, n = 0;
	int rc;

	while ((rc = sensor_queue_read(&s->q, &pos, &seq, buf, sizeof(buf), &len)) == VOUCH_OK) {
		assert_true(n < max);
		site_event_read(buf, len, pub, &out[n]);
		assert_int_equal(out[n].seq, seq);
		n++;
	}
	assert_int_equal(rc, VOUCH_ERR_STORE_NOT_FOUND);
	return n;
}

void site_sensor_up(struct vouch_sensor *s, char *dir, size_t dir_cap,
                    uint8_t d[VOUCH_P256_SCALAR_LEN], struct vouch_key *pub)
{
	site_now = SITE_T0;
	site_tmpdir(dir, dir_cap);
	site_devkey(d);
	assert_int_equal(site_start(s, dir, d), VOUCH_OK);
	site_sensor_pub(s, pub);
}

void site_sensor_down(struct vouch_sensor *s, const char *dir, struct vouch_key *pub)
{
	sensor_stop(s);
	vouch_key_clear(pub);
	site_rmdir(dir);
}
