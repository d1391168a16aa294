/*
 * COSE_Sign1 and CWT throughput next to the raw OpenSSL ECDSA P-256 cost, measured in the same
 * run on the same machine. The raw rate is the limit: COSE/CWT add encoding, decoding and claim
 * checks on top of exactly one signature operation, so the ratio says how much we add.
 *
 * Rounds of the raw and the vouch operation alternate, and the median of each is reported, so
 * that a noisy neighbour on this shared machine affects both sides alike.
 */
#define _POSIX_C_SOURCE 200809L
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vouch/cwt.h"

#include "bench_util.h"

#define ROUNDS   7
#define ROUND_NS 300000000ll /* 0.3 s per round and side */

typedef int (*bench_fn)(void *arg);

/* ops/s of fn over one round */
static double rate(bench_fn fn, void *arg)
{
	double r;

	if (bench_rate(fn, arg, (double)ROUND_NS / 1e9, 16, &r) != 0) {
		fprintf(stderr, "bench: operation failed\n");
		exit(1);
	}
	return r;
}

static void compare(const char *name, bench_fn fn, void *arg, const char *peer_name, bench_fn peer,
                    void *peer_arg, double target)
{
	double mine[ROUNDS], theirs[ROUNDS], m_mine, m_theirs, ratio;

	for (int r = 0; r < ROUNDS; r++) {
		theirs[r] = rate(peer, peer_arg);
		mine[r] = rate(fn, arg);
	}
	m_mine = bench_median(mine, ROUNDS);
	m_theirs = bench_median(theirs, ROUNDS);
	ratio = m_mine / m_theirs;
	printf("%-22s %9.0f ops/s | %-34s %9.0f ops/s | ratio %.3f (target >= %.2f) %s\n", name,
	       m_mine, peer_name, m_theirs, ratio, target, ratio >= target ? "ok" : "BELOW TARGET");
}

/* ---- the raw peer: OpenSSL EVP ECDSA P-256 with SHA-256 over a message of the same size ---- */

struct raw {
	EVP_PKEY *pkey;
	uint8_t msg[256];
	size_t msg_len;
	uint8_t sig[80];
	size_t sig_len;
};

static int raw_sign(void *arg)
{
	struct raw *r = arg;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = sizeof(r->sig);
	int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, r->pkey) == 1 &&
	         EVP_DigestSign(ctx, r->sig, &len, r->msg, r->msg_len) == 1;

	EVP_MD_CTX_free(ctx);
	r->sig_len = len;
	return ok ? 0 : -1;
}

static int raw_verify(void *arg)
{
	struct raw *r = arg;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, r->pkey) == 1 &&
	         EVP_DigestVerify(ctx, r->sig, r->sig_len, r->msg, r->msg_len) == 1;

	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* ---- vouch ---- */

struct mine {
	struct vouch_key key;
	struct vouch_key pub;
	uint8_t claims[256];
	size_t claims_len;
	uint8_t out[512];
	size_t out_len;
	struct vouch_cwt_rules rules;
};

static int sign1_create(void *arg)
{
	struct mine *m = arg;
	return vouch_cose_sign1_create(&m->key, NULL, m->claims, m->claims_len, NULL, 0, true,
	                               false, m->out, sizeof(m->out), &m->out_len);
}

static int sign1_verify(void *arg)
{
	struct mine *m = arg;
	struct vouch_cose_sign1 msg;
	int rc = vouch_cose_sign1_decode(m->out, m->out_len, &msg);

	return rc ? rc : vouch_cose_sign1_verify(&msg, &m->pub, NULL, 0, NULL, 0);
}

static int cwt_validate(void *arg)
{
	struct mine *m = arg;
	struct vouch_cwt_claims c;

	return vouch_cwt_verify(m->out, m->out_len, &m->pub, &m->rules, &c);
}

int main(void)
{
	struct mine m;
	struct raw r = {0};
	struct vouch_cwt_claims c = {0};
	uint8_t point[VOUCH_P256_POINT_LEN], cnf[128];
	size_t point_len;
	struct vouch_cbor_writer w;
	int64_t now = (int64_t)time(NULL);

	memset(&m, 0, sizeof(m));
	vouch_key_init(&m.key);
	vouch_key_init(&m.pub);
	if (vouch_key_generate(&m.key, VOUCH_KEY_P256) ||
	    vouch_key_export_public(&m.key, point, sizeof(point), &point_len) ||
	    vouch_key_import_public(&m.pub, VOUCH_KEY_P256, point, point_len)) {
		fprintf(stderr, "bench: key setup failed\n");
		return 1;
	}

	/* A credential-shaped claims set: iss, sub, aud, exp, nbf, iat, cti, cnf COSE_Key (any
	 * valid point will do as the confirmation key: the issuer's own). */
	vouch_cbor_writer_init(&w, cnf, sizeof(cnf));
	vouch_cbor_write_map(&w, 4);
	vouch_cbor_write_int(&w, 1);
	vouch_cbor_write_int(&w, VOUCH_COSE_KTY_EC2);
	vouch_cbor_write_int(&w, -1);
	vouch_cbor_write_int(&w, VOUCH_COSE_CRV_P256);
	vouch_cbor_write_int(&w, -2);
	vouch_cbor_write_bstr(&w, point + 1, 32);
	vouch_cbor_write_int(&w, -3);
	vouch_cbor_write_bstr(&w, point + 33, 32);
	c.present = VOUCH_CWT_HAS_ISS | VOUCH_CWT_HAS_SUB | VOUCH_CWT_HAS_AUD | VOUCH_CWT_HAS_EXP |
	            VOUCH_CWT_HAS_NBF | VOUCH_CWT_HAS_IAT | VOUCH_CWT_HAS_CTI | VOUCH_CWT_HAS_CNF;
	c.iss = "vouch-issuer", c.iss_len = strlen(c.iss);
	c.sub = "alice", c.sub_len = 5;
	c.aud = "plant-1", c.aud_len = 7;
	c.iat = c.nbf = now, c.exp = now + 8 * 3600;
	c.cti = (const uint8_t *)"0123456789abcdef", c.cti_len = 16;
	c.cnf_kind = VOUCH_CWT_CNF_COSE_KEY;
	c.cnf = cnf;
	if (vouch_cbor_writer_finish(&w, &c.cnf_len) ||
	    vouch_cwt_claims_encode(&c, NULL, 0, m.claims, sizeof(m.claims), &m.claims_len) ||
	    sign1_create(&m)) {
		fprintf(stderr, "bench: CWT setup failed\n");
		return 1;
	}
	m.rules.now = now;
	m.rules.iss = "vouch-issuer";
	m.rules.aud = "plant-1";
	m.rules.require_exp = true;
	m.rules.require_cnf = true;

	/* The raw peer signs a message as long as the Sig_structure vouch signs. */
	r.pkey = EVP_EC_gen("P-256");
	r.msg_len = m.claims_len + 20;
	memset(r.msg, 0x5a, sizeof(r.msg));
	if (r.pkey == NULL || raw_sign(&r) != 0) {
		fprintf(stderr, "bench: OpenSSL setup failed\n");
		return 1;
	}

	printf("vouch bench: COSE / CWT vs raw ECDSA P-256 (crypto back-end %s, %s)\n",
	       vouch_crypto_backend(), OpenSSL_version(OPENSSL_VERSION));
	printf(
	    "median of %d alternating rounds of %.1f s; ratio = vouch / raw (1.0 = no overhead)\n",
	    ROUNDS, (double)ROUND_NS / 1e9);
	compare("COSE_Sign1 create", sign1_create, &m, "raw ECDSA P-256 sign (OpenSSL EVP)",
	        raw_sign, &r, 0.90);
	compare("COSE_Sign1 verify", sign1_verify, &m, "raw ECDSA P-256 verify (OpenSSL EVP)",
	        raw_verify, &r, 0.90);
	compare("CWT verify+validate", cwt_validate, &m, "raw ECDSA P-256 verify (OpenSSL EVP)",
	        raw_verify, &r, 0.90);

	EVP_PKEY_free(r.pkey);
	vouch_key_clear(&m.key);
	vouch_key_clear(&m.pub);
	return 0;
}
