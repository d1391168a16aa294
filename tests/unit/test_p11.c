/*
 * Keys in PKCS#11 tokens (lib/p11.c) against SoftHSM2: token creation and its refusals, PIN
 * files, login failures, key generation with the attributes the token reports, signing through
 * the crypto port inside the token, and handle reference counting. Every test gets its own site
 * directory, softhsm2.conf and token store.
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "testutil.h"
#include "vouch/crypto.h"
#include "vouch/log.h"
#include "vouch/p11.h"

struct site {
	char dir[64];
	char user_pin[128];
	char so_pin[128];
};

static const uint8_t msg1[] = "certificate to be signed, ";
static const uint8_t msg2[] = "in two pieces";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void site_path(const struct site *s, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", s->dir, name);

	assert_true(n > 0 && (size_t)n < cap);
}

static int setup(void **state)
{
	struct site *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	strcpy(s->dir, "/tmp/vouch-test-p11-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	site_path(s, "token.pin", s->user_pin, sizeof(s->user_pin));
	site_path(s, "token.so-pin", s->so_pin, sizeof(s->so_pin));
	assert_int_equal(vouch_p11_softhsm_init(s->dir), VOUCH_OK);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct site *s = *state;

	nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(s);
	return 0;
}

static void assert_mode(const char *path, mode_t want)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, want);
}

static void read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	*len = fread(buf, 1, cap - 1, f);
	buf[*len] = '\0';
	fclose(f);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static struct vouch_p11 *create_and_open(const struct site *s, const char *label)
{
	struct vouch_p11 *p11 = NULL;

	assert_int_equal(vouch_p11_token_create(NULL, label, s->user_pin, s->so_pin), VOUCH_OK);
	assert_int_equal(vouch_p11_open(&p11, NULL, label, s->user_pin), VOUCH_OK);
	assert_non_null(p11);
	return p11;
}

static void test_softhsm_conf(void **state)
{
	struct site *s = *state;
	char path[128];
	char text[1024];
	size_t len;

	site_path(s, "softhsm2.conf", path, sizeof(path));
	assert_mode(path, 0600);
	read_file(path, text, sizeof(text), &len);
	assert_non_null(strstr(text, "directories.tokendir = "));
	assert_non_null(strstr(text, "/tokens\n"));
	assert_non_null(strstr(getenv("SOFTHSM2_CONF"), "softhsm2.conf"));
	site_path(s, "tokens", path, sizeof(path));
	assert_mode(path, 0700);
	/* Idempotent: a second init keeps the file. */
	assert_int_equal(vouch_p11_softhsm_init(s->dir), VOUCH_OK);
	assert_int_equal(vouch_p11_softhsm_use(s->dir), VOUCH_OK);
	assert_int_equal(vouch_p11_softhsm_use("/nonexistent-vouch-dir"), VOUCH_ERR_P11_NOT_FOUND);
}

static void test_token_create_pin_files(void **state)
{
	struct site *s = *state;
	struct vouch_p11 *p11;
	char user[128];
	char so[128];
	size_t user_len;
	size_t so_len;

	p11 = create_and_open(s, "vouch-test");
	vouch_p11_close(p11);
	assert_mode(s->user_pin, 0600);
	assert_mode(s->so_pin, 0600);
	read_file(s->user_pin, user, sizeof(user), &user_len);
	read_file(s->so_pin, so, sizeof(so), &so_len);
	assert_int_equal(user_len, VOUCH_P11_PIN_LEN + 1);
	assert_int_equal(so_len, VOUCH_P11_PIN_LEN + 1);
	assert_int_equal(user[VOUCH_P11_PIN_LEN], '\n');
	assert_true(memcmp(user, so, VOUCH_P11_PIN_LEN) != 0);
	for (size_t i = 0; i < VOUCH_P11_PIN_LEN; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                       "0123456789-_",
		                       user[i]));
	/* The token survives closing: open again. */
	assert_int_equal(vouch_p11_open(&p11, NULL, "vouch-test", s->user_pin), VOUCH_OK);
	vouch_p11_close(p11);
}

static void test_token_duplicate_refused(void **state)
{
	struct site *s = *state;
	char other_user[128];
	char other_so[128];
	struct stat st;

	vouch_p11_close(create_and_open(s, "vouch-test"));
	site_path(s, "other.pin", other_user, sizeof(other_user));
	site_path(s, "other.so-pin", other_so, sizeof(other_so));
	/* Same label, fresh PIN files: the token exists. No PIN file is left behind. */
	assert_int_equal(vouch_p11_token_create(NULL, "vouch-test", other_user, other_so),
	                 VOUCH_ERR_P11_EXISTS);
	assert_int_equal(stat(other_user, &st), -1);
	assert_int_equal(stat(other_so, &st), -1);
	/* New label, existing PIN files: refused, and the existing files are untouched. */
	assert_int_equal(vouch_p11_token_create(NULL, "vouch-new", s->user_pin, other_so),
	                 VOUCH_ERR_P11_EXISTS);
	assert_int_equal(vouch_p11_token_create(NULL, "vouch-new", other_user, s->so_pin),
	                 VOUCH_ERR_P11_EXISTS);
	assert_int_equal(stat(other_user, &st), -1);
	/* A second token with its own label and files is fine (the admin token beside the CA). */
	assert_int_equal(vouch_p11_token_create(NULL, "vouch-new", other_user, other_so), VOUCH_OK);
	/* Bad arguments. */
	assert_int_equal(vouch_p11_token_create(NULL, "", other_user, other_so), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_p11_token_create(NULL, "this-label-is-longer-than-32-bytes",
	                                        other_user, other_so),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_p11_token_create(NULL, "x", other_user, other_user),
	                 VOUCH_ERR_INVALID);
}

static void test_open_refusals(void **state)
{
	struct site *s = *state;
	struct vouch_p11 *p11 = (struct vouch_p11 *)1;
	char path[128];

	vouch_p11_close(create_and_open(s, "vouch-test"));
	site_path(s, "wrong.pin", path, sizeof(path));
	write_file(path, "not-the-pin\n", 0600);
	assert_int_equal(vouch_p11_open(&p11, NULL, "vouch-test", path), VOUCH_ERR_P11_PIN);
	assert_null(p11);
	/* A PIN file others can read is refused before it is used. */
	site_path(s, "open.pin", path, sizeof(path));
	{
		char pin[128];
		size_t len;

		read_file(s->user_pin, pin, sizeof(pin), &len);
		write_file(path, pin, 0644);
		vouch_wipe(pin, sizeof(pin));
	}
	assert_int_equal(vouch_p11_open(&p11, NULL, "vouch-test", path), VOUCH_ERR_P11_PIN);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(vouch_p11_open(&p11, NULL, "vouch-test", path), VOUCH_OK);
	vouch_p11_close(p11);
	/* An empty PIN file. */
	site_path(s, "empty.pin", path, sizeof(path));
	write_file(path, "\n", 0600);
	assert_int_equal(vouch_p11_open(&p11, NULL, "vouch-test", path), VOUCH_ERR_P11_PIN);
	site_path(s, "missing.pin", path, sizeof(path));
	assert_int_equal(vouch_p11_open(&p11, NULL, "vouch-test", path), VOUCH_ERR_P11_NOT_FOUND);
	assert_int_equal(vouch_p11_open(&p11, NULL, "no-such-token", s->user_pin),
	                 VOUCH_ERR_P11_NOT_FOUND);
	assert_int_equal(vouch_p11_open(&p11, "/nonexistent/module.so", "vouch-test", s->user_pin),
	                 VOUCH_ERR_P11);
	assert_int_equal(vouch_p11_open(NULL, NULL, "vouch-test", s->user_pin), VOUCH_ERR_INVALID);
	vouch_p11_close(NULL);
}

static void assert_sign_verify(const struct vouch_key *priv, const struct vouch_key *pub)
{
	struct vouch_iov msg[2] = {{msg1, sizeof(msg1) - 1}, {msg2, sizeof(msg2) - 1}};
	uint8_t sig[VOUCH_P256_SIG_LEN];
	size_t sig_len = 0;

	assert_int_equal(vouch_sign(priv, msg, 2, sig, sizeof(sig), &sig_len), VOUCH_OK);
	assert_int_equal(sig_len, VOUCH_P256_SIG_LEN);
	assert_int_equal(vouch_verify(pub, msg, 2, sig, sig_len), VOUCH_OK);
	sig[10] ^= 1;
	assert_int_equal(vouch_verify(pub, msg, 2, sig, sig_len), VOUCH_ERR_VERIFY);
}

static void test_key_generate_sensitive(void **state)
{
	struct site *s = *state;
	struct vouch_p11 *p11 = create_and_open(s, "vouch-test");
	static const uint8_t id1[] = {0x01};
	struct vouch_p11_key_info info;

	assert_int_equal(vouch_p11_key_generate(p11, VOUCH_KEY_P256, "root", id1, 1), VOUCH_OK);
	assert_int_equal(vouch_p11_key_generate(p11, VOUCH_KEY_P256, "root", id1, 1),
	                 VOUCH_ERR_P11_EXISTS);
	assert_int_equal(vouch_p11_key_info(p11, "root", &info), VOUCH_OK);
	assert_int_equal(info.type, VOUCH_KEY_P256);
	assert_true(info.sensitive);
	assert_false(info.extractable);
	assert_true(info.always_sensitive);
	assert_true(info.never_extractable);
	assert_false(info.value_readable);
	assert_int_equal(vouch_p11_key_info(p11, "nope", &info), VOUCH_ERR_P11_NOT_FOUND);
	assert_int_equal(vouch_p11_key_generate(p11, VOUCH_KEY_NONE, "x", id1, 1),
	                 VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(vouch_p11_key_generate(p11, VOUCH_KEY_P256, "", id1, 1),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_p11_key_generate(p11, VOUCH_KEY_P256, "x", id1, 0),
	                 VOUCH_ERR_INVALID);
	vouch_p11_close(p11);
}

static void test_key_sign_in_token(void **state)
{
	struct site *s = *state;
	struct vouch_p11 *p11 = create_and_open(s, "vouch-test");
	static const uint8_t id[] = {0x02};
	struct vouch_key priv;
	struct vouch_key pub;
	struct vouch_key other;
	uint8_t point[VOUCH_P256_POINT_LEN];
	size_t point_len = 0;

	vouch_key_init(&priv);
	vouch_key_init(&pub);
	vouch_key_init(&other);
	assert_int_equal(vouch_p11_key_generate(p11, VOUCH_KEY_P256, "issuing", id, 1), VOUCH_OK);
	assert_int_equal(vouch_p11_key_load(p11, "issuing", &priv), VOUCH_OK);
	assert_int_equal(priv.type, VOUCH_KEY_P256);
	assert_true(vouch_key_is_private(&priv));
	assert_non_null(vouch_p11_key_evp(&priv));
	/* A handle is filled only when empty. */
	assert_int_equal(vouch_p11_key_load(p11, "issuing", &priv), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_p11_key_load_public(p11, "issuing", &pub), VOUCH_OK);
	assert_false(vouch_key_is_private(&pub));
	assert_int_equal(vouch_key_export_public(&pub, point, sizeof(point), &point_len), VOUCH_OK);
	assert_int_equal(point_len, VOUCH_P256_POINT_LEN);
	assert_sign_verify(&priv, &pub);
	/* The EVP_PKEY signs for OpenSSL callers too, and only in the token. */
	{
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		uint8_t der[80];
		size_t der_len = sizeof(der);

		assert_non_null(md);
		assert_int_equal(
		    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, vouch_p11_key_evp(&priv)), 1);
		assert_int_equal(EVP_DigestSign(md, der, &der_len, msg1, sizeof(msg1)), 1);
		EVP_MD_CTX_free(md);
		md = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub.h.ptr), 1);
		assert_int_equal(EVP_DigestVerify(md, der, der_len, msg1, sizeof(msg1)), 1);
		EVP_MD_CTX_free(md);
	}
	/* Two handles on one token key: each owns a reference; clearing one leaves the other. */
	assert_int_equal(vouch_p11_key_load(p11, "issuing", &other), VOUCH_OK);
	assert_ptr_equal(other.h.ptr, priv.h.ptr);
	vouch_key_clear(&priv);
	assert_null(priv.h.ptr);
	assert_sign_verify(&other, &pub);
	vouch_key_clear(&other);
	assert_int_equal(vouch_p11_key_load(p11, "missing", &other), VOUCH_ERR_P11_NOT_FOUND);
	vouch_p11_close(p11);
	/* The public key is an ordinary in-memory key: it outlives the token session. */
	assert_int_equal(vouch_key_export_public(&pub, point, sizeof(point), &point_len), VOUCH_OK);
	vouch_key_clear(&pub);
}

static void test_token_shared_open(void **state)
{
	struct site *s = *state;
	struct vouch_p11 *a = create_and_open(s, "vouch-test");
	struct vouch_p11 *b = NULL;
	static const uint8_t id[] = {0x03};
	struct vouch_key priv;
	struct vouch_key pub;

	vouch_key_init(&priv);
	vouch_key_init(&pub);
	assert_int_equal(vouch_p11_open(&b, NULL, "vouch-test", s->user_pin), VOUCH_OK);
	assert_ptr_equal(a, b);
	assert_int_equal(vouch_p11_key_generate(b, VOUCH_KEY_P256, "ocsp", id, 1), VOUCH_OK);
	vouch_p11_close(b);
	/* Closing one user's reference leaves the other's session working. */
	assert_int_equal(vouch_p11_key_load(a, "ocsp", &priv), VOUCH_OK);
	assert_int_equal(vouch_p11_key_load_public(a, "ocsp", &pub), VOUCH_OK);
	assert_sign_verify(&priv, &pub);
	vouch_key_clear(&priv);
	vouch_key_clear(&pub);
	vouch_p11_close(a);
}

static void test_ed25519(void **state)
{
	struct site *s = *state;
	struct vouch_p11 *p11 = create_and_open(s, "vouch-test");
	static const uint8_t id[] = {0x05};
	struct vouch_p11_key_info info;
	struct vouch_key priv;
	struct vouch_key pub;
	uint8_t raw[VOUCH_ED25519_KEY_LEN];
	size_t raw_len = 0;

	vouch_key_init(&priv);
	vouch_key_init(&pub);
	/* SoftHSM2 2.6 generates Ed25519 keys in the token ... */
	assert_int_equal(vouch_p11_key_generate(p11, VOUCH_KEY_ED25519, "ed", id, 1), VOUCH_OK);
	assert_int_equal(vouch_p11_key_info(p11, "ed", &info), VOUCH_OK);
	assert_int_equal(info.type, VOUCH_KEY_ED25519);
	assert_true(info.sensitive);
	assert_false(info.extractable);
	assert_false(info.value_readable);
	assert_int_equal(vouch_p11_key_load_public(p11, "ed", &pub), VOUCH_OK);
	assert_int_equal(pub.type, VOUCH_KEY_ED25519);
	assert_int_equal(vouch_key_export_public(&pub, raw, sizeof(raw), &raw_len), VOUCH_OK);
	assert_int_equal(raw_len, VOUCH_ED25519_KEY_LEN);
	/* ... but libp11 0.4 cannot sign with them: refused by name, handle untouched. */
	assert_int_equal(vouch_p11_key_load(p11, "ed", &priv), VOUCH_ERR_UNSUPPORTED);
	assert_null(priv.h.ptr);
	vouch_key_clear(&pub);
	vouch_p11_close(p11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_softhsm_conf, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_create_pin_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_duplicate_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_generate_sensitive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_sign_in_token, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_shared_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ed25519, setup, teardown),
	};

	vouch_log_init("test_p11", VOUCH_LOG_ERROR, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
