/*
 * What only the PSA back-end has: persistent keys in its own Internal Trusted Storage
 * (lib/psa_its.c), their key policy, a restart, damaged key files; and what it promises about
 * memory (no allocation for SHA-256, counted here with the linker's --wrap, tests/psa.cmake).
 *
 * The test runs in a fresh empty working directory, so that a key file written by Mbed TLS's own
 * psa_its_file.c (which writes into the current directory) would be seen.
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <psa/crypto.h>

#include "testutil.h"
#include "vouch/crypto.h"
#include "vouch/psa.h"

/* The ITS contract (lib/psa_its.c), to plant entries the port itself would never write. */
psa_status_t psa_its_set(uint64_t uid, uint32_t data_length, const void *p_data,
                         uint32_t create_flags);

#define ID_P256   0x1001u
#define ID_X25519 0x1002u
#define ID_FREE   0x1003u
#define ID_DAMAGE 0x2000u

static char base[64];   /* mkdtemp: everything of this test lives under it */
static char cwd[128];   /* the working directory: must stay empty */
static char store[128]; /* the key store */

/* ---- counting the heap allocations of statically linked code (ours and libmbedcrypto.a) ---- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static bool counting;
static unsigned alloc_calls;
static size_t alloc_bytes;

void *__wrap_malloc(size_t size)
{
	if (counting) {
		alloc_calls++;
		alloc_bytes += size;
	}
	return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	if (counting) {
		alloc_calls++;
		alloc_bytes += n * size;
	}
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	if (counting) {
		alloc_calls++;
		alloc_bytes += size;
	}
	return __real_realloc(p, size);
}

static void count_start(void)
{
	alloc_calls = 0;
	alloc_bytes = 0;
	counting = true;
}

static void count_stop(void)
{
	counting = false;
}

/* ---- files ---- */

static void key_path(char out[PATH_MAX], uint32_t id, const char *suffix)
{
	snprintf(out, PATH_MAX, "%s/%016" PRIx64 ".%s", store, (uint64_t)id, suffix);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static unsigned entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap);
	assert_true(n >= 0);
	close(fd);
	return (size_t)n;
}

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/vouch-test-psa-XXXXXX");
	if (mkdtemp(base) == NULL)
		return -1;
	snprintf(cwd, sizeof(cwd), "%s/cwd", base);
	snprintf(store, sizeof(store), "%s/store", base);
	if (mkdir(cwd, 0700) != 0 || chdir(cwd) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vouch_psa_shutdown();
	if (chdir("/") != 0)
		return -1;
	remove_dir(store);
	remove_dir(cwd);
	rmdir(base);
	return 0;
}

/* ---- the storage directory ---- */

/* Runs first: before vouch_psa_set_storage() no persistent call touches any file. */
static void test_storage_required(void **state)
{
	struct vouch_key key;

	(void)state;
	vouch_key_init(&key);
	assert_null(vouch_psa_storage());
	assert_int_equal(vouch_key_generate_persistent(&key, VOUCH_KEY_P256, ID_P256),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_key_open_persistent(&key, ID_P256), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_key_destroy_persistent(ID_P256), VOUCH_ERR_INVALID);
	assert_int_equal(key.h.id, 0);
	assert_int_equal(entries(cwd), 0);
}

static void test_storage_dir(void **state)
{
	char path[PATH_MAX], file[PATH_MAX];
	char *long_path;
	struct stat st;
	mode_t old_mask;

	(void)state;
	assert_int_equal(vouch_psa_set_storage(NULL), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_psa_set_storage(""), VOUCH_ERR_INVALID);
	long_path = malloc(PATH_MAX + 1);
	assert_non_null(long_path);
	memset(long_path, 'a', PATH_MAX);
	long_path[PATH_MAX] = '\0';
	assert_int_equal(vouch_psa_set_storage(long_path), VOUCH_ERR_INVALID);
	free(long_path);
	/* the parent must exist; a file is not a directory */
	snprintf(path, sizeof(path), "%s/no/such", base);
	assert_int_equal(vouch_psa_set_storage(path), VOUCH_ERR_IO);
	snprintf(file, sizeof(file), "%s/a-file", base);
	write_file(file, "x", 1);
	assert_int_equal(vouch_psa_set_storage(file), VOUCH_ERR_IO);
	unlink(file);
	assert_null(vouch_psa_storage());

	/* created 0700, whatever the umask says (here: not even the owner may write) */
	old_mask = umask(0277);
	assert_int_equal(vouch_psa_set_storage(store), VOUCH_OK);
	umask(old_mask);
	assert_string_equal(vouch_psa_storage(), store);
	assert_int_equal(stat(store, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	/* an existing directory is taken as it is */
	assert_int_equal(vouch_psa_set_storage(store), VOUCH_OK);
	assert_int_equal(entries(store), 0);
}

/* ---- the lifecycle of the sensor's identity key ---- */

static void sign_and_verify(const struct vouch_key *signer, const struct vouch_key *verifier)
{
	static const uint8_t msg[] = "challenge 42";
	struct vouch_iov iov = {msg, sizeof(msg) - 1};
	uint8_t sig[VOUCH_P256_SIG_LEN];
	size_t sig_len = 0;

	assert_int_equal(vouch_sign(signer, &iov, 1, sig, sizeof(sig), &sig_len), VOUCH_OK);
	assert_int_equal(sig_len, VOUCH_P256_SIG_LEN);
	assert_int_equal(vouch_verify(verifier, &iov, 1, sig, sig_len), VOUCH_OK);
	sig[5] ^= 0x01;
	assert_int_equal(vouch_verify(verifier, &iov, 1, sig, sig_len), VOUCH_ERR_VERIFY);
}

static void import_public_of(const struct vouch_key *key, struct vouch_key *pub)
{
	uint8_t raw[VOUCH_P256_POINT_LEN];
	size_t len = 0;

	vouch_key_init(pub);
	assert_int_equal(vouch_key_export_public(key, raw, sizeof(raw), &len), VOUCH_OK);
	assert_int_equal(vouch_key_import_public(pub, key->type, raw, len), VOUCH_OK);
}

/* ECDH both ways between a persistent key and a fresh volatile one of the same type. */
static void agree_both_ways(const struct vouch_key *persistent)
{
	struct vouch_key eph, eph_pub, mine_pub;
	uint8_t z1[32], z2[32];
	bool p256 = persistent->type == VOUCH_KEY_P256;

	vouch_key_init(&eph);
	assert_int_equal(vouch_key_generate(&eph, persistent->type), VOUCH_OK);
	import_public_of(&eph, &eph_pub);
	import_public_of(persistent, &mine_pub);
	if (p256) {
		assert_int_equal(vouch_ecdh_p256(persistent, &eph_pub, z1), VOUCH_OK);
		assert_int_equal(vouch_ecdh_p256(&eph, &mine_pub, z2), VOUCH_OK);
	} else {
		assert_int_equal(vouch_ecdh_x25519(persistent, &eph_pub, z1), VOUCH_OK);
		assert_int_equal(vouch_ecdh_x25519(&eph, &mine_pub, z2), VOUCH_OK);
	}
	assert_memory_equal(z1, z2, sizeof(z1));
	vouch_key_clear(&eph);
	vouch_key_clear(&eph_pub);
	vouch_key_clear(&mine_pub);
}

static void assert_file_0600(uint32_t id)
{
	char path[PATH_MAX];
	struct stat st;

	key_path(path, id, "key");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	key_path(path, id, "tmp");
	assert_false(exists(path)); /* the temporary file was renamed, not left */
}

static void test_persistent_lifecycle(void **state)
{
	struct vouch_key key, again, pub;
	psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
	uint8_t pub_before[VOUCH_P256_POINT_LEN], pub_after[VOUCH_P256_POINT_LEN], secret[256];
	size_t len = 0;
	char path[PATH_MAX];
	mode_t old_mask;

	(void)state;
	vouch_key_init(&key);
	vouch_key_init(&again);
	/* the file is 0600 whatever the umask says */
	old_mask = umask(0277);
	assert_int_equal(vouch_key_generate_persistent(&key, VOUCH_KEY_P256, ID_P256), VOUCH_OK);
	umask(old_mask);
	assert_int_equal(key.type, VOUCH_KEY_P256);
	assert_int_equal(key.h.id, ID_P256);
	assert_true(vouch_key_is_private(&key));

	/* The key file is in the chosen directory, 0600, and nothing is in the working
	 * directory: these psa_its_* are ours, not psa_its_file.c's. */
	assert_file_0600(ID_P256);
	assert_int_equal(entries(store), 1);
	assert_int_equal(entries(cwd), 0);

	/* It signs, verifies, and agrees (EDHOC uses the identity key both ways). */
	import_public_of(&key, &pub);
	sign_and_verify(&key, &pub);
	sign_and_verify(&key, &key);
	agree_both_ways(&key);

	/* Its policy, and the private key cannot leave. */
	assert_int_equal(psa_get_key_attributes(key.h.id, &attr), PSA_SUCCESS);
	assert_int_equal(psa_get_key_lifetime(&attr), PSA_KEY_LIFETIME_PERSISTENT);
	assert_int_equal(psa_get_key_usage_flags(&attr) & PSA_KEY_USAGE_EXPORT, 0);
	assert_int_equal(psa_get_key_usage_flags(&attr) & PSA_KEY_USAGE_COPY, 0);
	assert_true((psa_get_key_usage_flags(&attr) & PSA_KEY_USAGE_SIGN_HASH) != 0);
	assert_true((psa_get_key_usage_flags(&attr) & PSA_KEY_USAGE_DERIVE) != 0);
	assert_int_equal(psa_get_key_algorithm(&attr), PSA_ALG_ECDSA(PSA_ALG_SHA_256));
	assert_int_equal(psa_get_key_enrollment_algorithm(&attr), PSA_ALG_ECDH);
	psa_reset_key_attributes(&attr);
	assert_int_equal(psa_export_key(key.h.id, secret, sizeof(secret), &len),
	                 PSA_ERROR_NOT_PERMITTED);
	assert_int_equal(len, 0);
	assert_int_equal(vouch_key_export_public(&key, pub_before, sizeof(pub_before), &len),
	                 VOUCH_OK);

	/* The id is taken; a free id is free. */
	assert_int_equal(vouch_key_generate_persistent(&again, VOUCH_KEY_P256, ID_P256),
	                 VOUCH_ERR_KEY_EXISTS);
	assert_int_equal(vouch_key_generate_persistent(&again, VOUCH_KEY_X25519, ID_P256),
	                 VOUCH_ERR_KEY_EXISTS);
	assert_int_equal(vouch_key_open_persistent(&again, ID_FREE), VOUCH_ERR_KEY_NOT_FOUND);
	assert_int_equal(vouch_key_destroy_persistent(ID_FREE), VOUCH_ERR_KEY_NOT_FOUND);
	assert_int_equal(again.h.id, 0);

	/* Clearing the handle leaves the key; a restart (the PSA core freed, all volatile state
	 * gone) finds it again, the same key. */
	vouch_key_clear(&key);
	vouch_key_clear(&pub);
	key_path(path, ID_P256, "key");
	assert_true(exists(path));
	vouch_psa_shutdown();
	assert_int_equal(vouch_key_open_persistent(&key, ID_P256), VOUCH_OK);
	assert_int_equal(key.type, VOUCH_KEY_P256);
	assert_true(vouch_key_is_private(&key));
	assert_int_equal(vouch_key_export_public(&key, pub_after, sizeof(pub_after), &len),
	                 VOUCH_OK);
	assert_memory_equal(pub_before, pub_after, sizeof(pub_before));
	import_public_of(&key, &pub);
	sign_and_verify(&key, &pub);
	agree_both_ways(&key);
	assert_int_equal(psa_export_key(key.h.id, secret, sizeof(secret), &len),
	                 PSA_ERROR_NOT_PERMITTED);
	/* Two handles to one key: clearing one leaves the other working. */
	assert_int_equal(vouch_key_open_persistent(&again, ID_P256), VOUCH_OK);
	vouch_key_clear(&again);
	sign_and_verify(&key, &pub);
	assert_int_equal(vouch_key_generate_persistent(&again, VOUCH_KEY_P256, ID_P256),
	                 VOUCH_ERR_KEY_EXISTS);

	/* Decommissioning: the file goes, the id is free. */
	vouch_key_clear(&key);
	vouch_key_clear(&pub);
	assert_int_equal(vouch_key_destroy_persistent(ID_P256), VOUCH_OK);
	key_path(path, ID_P256, "key");
	assert_false(exists(path));
	assert_int_equal(entries(store), 0);
	assert_int_equal(vouch_key_open_persistent(&key, ID_P256), VOUCH_ERR_KEY_NOT_FOUND);
	assert_int_equal(vouch_key_destroy_persistent(ID_P256), VOUCH_ERR_KEY_NOT_FOUND);
	vouch_psa_shutdown();
	assert_int_equal(vouch_key_open_persistent(&key, ID_P256), VOUCH_ERR_KEY_NOT_FOUND);
	assert_int_equal(entries(cwd), 0);
	vouch_wipe(secret, sizeof(secret));
}

static void test_persistent_x25519(void **state)
{
	struct vouch_key key;
	uint8_t before[VOUCH_X25519_KEY_LEN], after[VOUCH_X25519_KEY_LEN], secret[64];
	size_t len = 0;

	(void)state;
	vouch_key_init(&key);
	assert_int_equal(vouch_key_generate_persistent(&key, VOUCH_KEY_X25519, ID_X25519),
	                 VOUCH_OK);
	assert_int_equal(key.type, VOUCH_KEY_X25519);
	assert_file_0600(ID_X25519);
	agree_both_ways(&key);
	assert_int_equal(psa_export_key(key.h.id, secret, sizeof(secret), &len),
	                 PSA_ERROR_NOT_PERMITTED);
	assert_int_equal(vouch_key_export_public(&key, before, sizeof(before), &len), VOUCH_OK);
	vouch_key_clear(&key);
	vouch_psa_shutdown();
	assert_int_equal(vouch_key_open_persistent(&key, ID_X25519), VOUCH_OK);
	assert_int_equal(key.type, VOUCH_KEY_X25519);
	assert_int_equal(vouch_key_export_public(&key, after, sizeof(after), &len), VOUCH_OK);
	assert_memory_equal(before, after, sizeof(before));
	agree_both_ways(&key);
	vouch_key_clear(&key);
	assert_int_equal(vouch_key_destroy_persistent(ID_X25519), VOUCH_OK);
	assert_int_equal(entries(store), 0);
}

static void test_persistent_refusals(void **state)
{
	struct vouch_key key, used;

	(void)state;
	vouch_key_init(&key);
	vouch_key_init(&used);
	/* ids outside the user range 1..0x3fffffff */
	assert_int_equal(vouch_key_generate_persistent(&key, VOUCH_KEY_P256, 0), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_key_generate_persistent(&key, VOUCH_KEY_P256, 0x40000000),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_key_open_persistent(&key, 0), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_key_open_persistent(&key, 0x7fff0000), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_key_destroy_persistent(0xffffffff), VOUCH_ERR_INVALID);
	/* types: no Ed25519 in Mbed TLS 2.28 */
	assert_int_equal(vouch_key_generate_persistent(&key, VOUCH_KEY_ED25519, ID_FREE),
	                 VOUCH_ERR_UNSUPPORTED);
	assert_int_equal(vouch_key_generate_persistent(&key, VOUCH_KEY_NONE, ID_FREE),
	                 VOUCH_ERR_UNSUPPORTED);
	/* a handle in use is not overwritten */
	assert_int_equal(vouch_key_generate(&used, VOUCH_KEY_P256), VOUCH_OK);
	assert_int_equal(vouch_key_generate_persistent(&used, VOUCH_KEY_P256, ID_FREE),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_key_open_persistent(&used, ID_FREE), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_key_generate_persistent(NULL, VOUCH_KEY_P256, ID_FREE),
	                 VOUCH_ERR_INVALID);
	vouch_key_clear(&used);
	assert_int_equal(entries(store), 0);
}

/* ---- damaged key files ---- */

/* Make a good key file under id, with the core's caches dropped (as after a restart). */
static void make_key_file(uint32_t id)
{
	struct vouch_key key;

	vouch_key_init(&key);
	assert_int_equal(vouch_key_generate_persistent(&key, VOUCH_KEY_P256, id), VOUCH_OK);
	vouch_key_clear(&key);
	vouch_psa_shutdown();
}

/* A damaged file: refused with VOUCH_ERR_KEY, the id stays taken, and it can be destroyed. */
static void expect_damaged(uint32_t id)
{
	struct vouch_key key;
	char path[PATH_MAX];

	vouch_key_init(&key);
	assert_int_equal(vouch_key_open_persistent(&key, id), VOUCH_ERR_KEY);
	assert_int_equal(key.h.id, 0);
	assert_int_equal(key.type, VOUCH_KEY_NONE);
	assert_int_equal(vouch_key_generate_persistent(&key, VOUCH_KEY_P256, id),
	                 VOUCH_ERR_KEY_EXISTS);
	assert_int_equal(vouch_key_destroy_persistent(id), VOUCH_OK);
	key_path(path, id, "key");
	assert_false(exists(path));
	assert_int_equal(vouch_key_open_persistent(&key, id), VOUCH_ERR_KEY_NOT_FOUND);
	vouch_psa_shutdown();
}

static void test_damaged_files(void **state)
{
	uint8_t buf[1024];
	char path[PATH_MAX];
	size_t len;

	(void)state;
	key_path(path, ID_DAMAGE, "key");

	/* truncated: every length short of the whole file */
	make_key_file(ID_DAMAGE);
	len = read_file(path, buf, sizeof(buf));
	assert_true(len > 52 && len < sizeof(buf));
	for (size_t cut = 0; cut < len; cut += (cut < 24 ? 1 : 7)) {
		write_file(path, buf, cut);
		{
			struct vouch_key key;

			vouch_key_init(&key);
			assert_int_equal(vouch_key_open_persistent(&key, ID_DAMAGE), VOUCH_ERR_KEY);
			vouch_psa_shutdown();
		}
	}
	expect_damaged(ID_DAMAGE);

	/* one bit flipped anywhere: the checksum (or the header) notices */
	make_key_file(ID_DAMAGE);
	len = read_file(path, buf, sizeof(buf));
	for (size_t i = 0; i < len; i += 5) {
		buf[i] ^= 0x10;
		write_file(path, buf, len);
		{
			struct vouch_key key;

			vouch_key_init(&key);
			assert_int_equal(vouch_key_open_persistent(&key, ID_DAMAGE), VOUCH_ERR_KEY);
			vouch_psa_shutdown();
		}
		buf[i] ^= 0x10;
	}
	write_file(path, buf, len); /* restored: good again */
	{
		struct vouch_key key;

		vouch_key_init(&key);
		assert_int_equal(vouch_key_open_persistent(&key, ID_DAMAGE), VOUCH_OK);
		vouch_key_clear(&key);
		assert_int_equal(vouch_key_destroy_persistent(ID_DAMAGE), VOUCH_OK);
		vouch_psa_shutdown();
	}

	/* garbage, and an empty file */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	write_file(path, buf, sizeof(buf));
	expect_damaged(ID_DAMAGE);
	write_file(path, buf, 0);
	expect_damaged(ID_DAMAGE);

	/* a sound ITS entry whose content is not a PSA key record */
	assert_int_equal(psa_its_set(ID_DAMAGE, 100, buf, 0), PSA_SUCCESS);
	expect_damaged(ID_DAMAGE);
	assert_int_equal(entries(store), 0);
	assert_int_equal(entries(cwd), 0);
}

/* Keys in the store that the port did not make (here, through PSA directly) are refused. */
static void test_foreign_keys(void **state)
{
	psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t id = 0;
	struct vouch_key key;
	uint8_t raw[32];

	(void)state;
	memset(raw, 0x11, sizeof(raw));
	vouch_key_init(&key);
	assert_int_equal(vouch_random(raw, 1), VOUCH_OK); /* the core is up */

	/* an exportable P-256 key */
	psa_set_key_id(&attr, ID_DAMAGE);
	psa_set_key_type(&attr, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
	psa_set_key_bits(&attr, 256);
	psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_EXPORT);
	psa_set_key_algorithm(&attr, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
	assert_int_equal(psa_generate_key(&attr, &id), PSA_SUCCESS);
	psa_reset_key_attributes(&attr);
	vouch_psa_shutdown();
	assert_int_equal(vouch_key_open_persistent(&key, ID_DAMAGE), VOUCH_ERR_KEY);
	assert_int_equal(vouch_key_destroy_persistent(ID_DAMAGE), VOUCH_OK);

	/* an AES key */
	psa_set_key_id(&attr, ID_DAMAGE);
	psa_set_key_type(&attr, PSA_KEY_TYPE_AES);
	psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_ENCRYPT);
	psa_set_key_algorithm(&attr, PSA_ALG_GCM);
	assert_int_equal(psa_import_key(&attr, raw, 16, &id), PSA_SUCCESS);
	psa_reset_key_attributes(&attr);
	vouch_psa_shutdown();
	assert_int_equal(vouch_key_open_persistent(&key, ID_DAMAGE), VOUCH_ERR_KEY);
	assert_int_equal(key.h.id, 0);
	assert_int_equal(vouch_key_destroy_persistent(ID_DAMAGE), VOUCH_OK);
	assert_int_equal(entries(store), 0);
}

/* A temporary file left by a crash mid-write is never read as a key, and is replaced. */
static void test_stale_temporary_file(void **state)
{
	struct vouch_key key;
	char tmp[PATH_MAX];

	(void)state;
	vouch_key_init(&key);
	key_path(tmp, ID_FREE, "tmp");
	write_file(tmp, "half a key", 10);
	assert_int_equal(vouch_key_open_persistent(&key, ID_FREE), VOUCH_ERR_KEY_NOT_FOUND);
	assert_int_equal(vouch_key_generate_persistent(&key, VOUCH_KEY_P256, ID_FREE), VOUCH_OK);
	assert_false(exists(tmp));
	assert_file_0600(ID_FREE);
	vouch_key_clear(&key);
	assert_int_equal(vouch_key_destroy_persistent(ID_FREE), VOUCH_OK);
	assert_int_equal(entries(store), 0);
}

/* ---- memory ---- */

/* Incremental SHA-256 keeps the PSA hash operation inside the caller's context: no malloc. */
static void test_sha256_no_malloc(void **state)
{
	struct vouch_sha256_ctx ctx;
	uint8_t out[VOUCH_SHA256_LEN], want[VOUCH_SHA256_LEN];
	struct vouch_iov iov[2] = {{"ab", 2}, {"c", 1}};

	(void)state;
	assert_int_equal(vouch_sha256("abc", 3, want), VOUCH_OK); /* the core is up */
	count_start();
	assert_int_equal(vouch_sha256_init(&ctx), VOUCH_OK);
	assert_int_equal(vouch_sha256_update(&ctx, "a", 1), VOUCH_OK);
	assert_int_equal(vouch_sha256_update(&ctx, NULL, 0), VOUCH_OK);
	assert_int_equal(vouch_sha256_update(&ctx, "bc", 2), VOUCH_OK);
	assert_int_equal(vouch_sha256_final(&ctx, out), VOUCH_OK);
	assert_int_equal(vouch_sha256_v(iov, 2, out), VOUCH_OK);
	count_stop();
	assert_int_equal(alloc_calls, 0);
	assert_memory_equal(out, want, sizeof(out));
	/* FIPS 180-2 "abc" */
	assert_int_equal(want[0], 0xba);
	assert_int_equal(want[31], 0xad);
	/* after _final the context is spent; _clear is then a no-op, and so is a second one */
	assert_int_equal(vouch_sha256_update(&ctx, "a", 1), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_sha256_final(&ctx, out), VOUCH_ERR_INVALID);
	vouch_sha256_clear(&ctx);
	vouch_sha256_clear(&ctx);
	/* _clear in the middle releases it */
	assert_int_equal(vouch_sha256_init(&ctx), VOUCH_OK);
	assert_int_equal(vouch_sha256_update(&ctx, "a", 1), VOUCH_OK);
	vouch_sha256_clear(&ctx);
	assert_int_equal(vouch_sha256_update(&ctx, "a", 1), VOUCH_ERR_INVALID);
	assert_int_equal(vouch_sha256_init(NULL), VOUCH_ERR_INVALID);
}

/*
 * What one ECDSA P-256 verification costs on the heap. Mbed TLS 2.28 keeps bignums and points
 * on the heap; the port adds nothing (the message is hashed in place). Reported, and bounded so
 * that a change shows: the port itself must not allocate for it.
 */
static void test_verify_allocations(void **state)
{
	static const uint8_t msg[] = "count me";
	struct vouch_iov iov = {msg, sizeof(msg) - 1};
	struct vouch_key key, pub;
	uint8_t sig[VOUCH_P256_SIG_LEN], hash[VOUCH_SHA256_LEN];
	size_t sig_len = 0;
	unsigned port_calls, psa_calls;
	size_t port_bytes, psa_bytes;

	(void)state;
	vouch_key_init(&key);
	assert_int_equal(vouch_key_generate(&key, VOUCH_KEY_P256), VOUCH_OK);
	import_public_of(&key, &pub);
	assert_int_equal(vouch_sign(&key, &iov, 1, sig, sizeof(sig), &sig_len), VOUCH_OK);
	assert_int_equal(vouch_verify(&pub, &iov, 1, sig, sig_len), VOUCH_OK); /* warm */

	count_start();
	assert_int_equal(vouch_verify(&pub, &iov, 1, sig, sig_len), VOUCH_OK);
	count_stop();
	port_calls = alloc_calls;
	port_bytes = alloc_bytes;

	assert_int_equal(vouch_sha256(msg, sizeof(msg) - 1, hash), VOUCH_OK);
	count_start();
	assert_int_equal(psa_verify_hash(pub.h.id, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash,
	                                 sizeof(hash), sig, sig_len),
	                 PSA_SUCCESS);
	count_stop();
	psa_calls = alloc_calls;
	psa_bytes = alloc_bytes;

	printf("allocations: one ECDSA P-256 verify: vouch_verify %u calls (%zu bytes), "
	       "psa_verify_hash alone %u calls (%zu bytes)\n",
	       port_calls, port_bytes, psa_calls, psa_bytes);
	assert_int_equal(port_calls, psa_calls); /* all of them are Mbed TLS's */
	assert_true(psa_calls > 0);              /* counted at all: the wrap is in place */
	vouch_key_clear(&key);
	vouch_key_clear(&pub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_storage_required),
	    cmocka_unit_test(test_storage_dir),
	    cmocka_unit_test(test_persistent_lifecycle),
	    cmocka_unit_test(test_persistent_x25519),
	    cmocka_unit_test(test_persistent_refusals),
	    cmocka_unit_test(test_damaged_files),
	    cmocka_unit_test(test_foreign_keys),
	    cmocka_unit_test(test_stale_temporary_file),
	    cmocka_unit_test(test_sha256_no_malloc),
	    cmocka_unit_test(test_verify_allocations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
