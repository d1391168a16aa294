/*
 * Internal Trusted Storage for the PSA core: the four psa_its_* functions its persistent key
 * store calls. They replace Mbed TLS's psa_its_file.c, which writes into the current directory
 * and never fsyncs: this one writes under the directory set by vouch_psa_set_storage(), files
 * 0600 in a 0700 directory, each written whole to a temporary file, fsynced, renamed over the old
 * one and the directory fsynced, so that a power cut leaves either the old file or the new one.
 * A trailing SHA-256 over the file tells a damaged file (bit rot, truncation by a tool) from a
 * good one: such a file reads as PSA_ERROR_DATA_CORRUPT, never as a different key.
 *
 * These definitions win over the library's only because libmbedcrypto.a is linked statically
 * after this object (lib/psa.cmake); crypto_psa.c calls vouch_psa_storage(), which pulls this
 * object into every program that uses the back-end.
 *
 * File layout (little-endian), see docs/psa.md:
 *   "vouchITS" | version u32 = 1 | flags u32 | size u32 | data[size] | SHA-256(all before) [32]
 */
#define _DEFAULT_SOURCE /* fchmod, fsync, O_NOFOLLOW, O_CLOEXEC, O_DIRECTORY */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/sha256.h>
#include <psa/crypto.h>

#include "vouch/psa.h"

/* The contract of Mbed TLS 2.28's library/psa_crypto_its.h, which Debian does not install. */
typedef uint32_t psa_storage_create_flags_t;
typedef uint64_t psa_storage_uid_t;

#define PSA_STORAGE_FLAG_NONE       0u
#define PSA_STORAGE_FLAG_WRITE_ONCE (1u << 0)

struct psa_storage_info_t {
	uint32_t size;
	psa_storage_create_flags_t flags;
};

psa_status_t psa_its_set(psa_storage_uid_t uid, uint32_t data_length, const void *p_data,
                         psa_storage_create_flags_t create_flags);
psa_status_t psa_its_get(psa_storage_uid_t uid, uint32_t data_offset, uint32_t data_length,
                         void *p_data, size_t *p_data_length);
psa_status_t psa_its_get_info(psa_storage_uid_t uid, struct psa_storage_info_t *p_info);
psa_status_t psa_its_remove(psa_storage_uid_t uid);

#define ITS_MAGIC      "vouchITS"
#define ITS_MAGIC_LEN  8
#define ITS_VERSION    1u
#define ITS_HEADER_LEN (ITS_MAGIC_LEN + 12)
#define ITS_HASH_LEN   32
#define ITS_CHUNK      256
/* "/" + 16 hex digits + ".key" or ".tmp" + NUL */
#define ITS_NAME_MAX 22

static char storage_dir[PATH_MAX - ITS_NAME_MAX];
static bool storage_set;

/* ---- the storage directory ---- */

/* Make a new directory entry durable: fsync the directory that holds it. */
static int fsync_dir(const char *dir)
{
	int fd, rc = -1;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fsync(fd) == 0)
		rc = 0;
	close(fd);
	return rc;
}

int vouch_psa_set_storage(const char *dir)
{
	char parent[sizeof(storage_dir)];
	struct stat st;
	size_t len;

	if (dir == NULL)
		return VOUCH_ERR_INVALID;
	len = strlen(dir);
	if (len == 0 || len >= sizeof(storage_dir))
		return VOUCH_ERR_INVALID;
	if (mkdir(dir, 0700) == 0) {
		/* 0700 exactly, whatever the umask took away; and the new directory's own entry
		 * must survive a power cut too. */
		memcpy(parent, dir, len + 1);
		if (chmod(dir, 0700) != 0 || fsync_dir(dirname(parent)) != 0)
			return VOUCH_ERR_IO;
	} else if (errno != EEXIST) {
		return VOUCH_ERR_IO;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0)
		return VOUCH_ERR_IO;
	memcpy(storage_dir, dir, len + 1);
	storage_set = true;
	return VOUCH_OK;
}

const char *vouch_psa_storage(void)
{
	return storage_set ? storage_dir : NULL;
}

static void its_path(char out[PATH_MAX], psa_storage_uid_t uid, const char *suffix)
{
	snprintf(out, PATH_MAX, "%s/%016" PRIx64 ".%s", storage_dir, uid, suffix);
}

/* ---- reading ---- */

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Read exactly len bytes: 1 done, 0 the file ended first, -1 an I/O error. */
static int read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		got += (size_t)n;
	}
	return 1;
}

/*
 * Read and check the whole file of uid in one pass, copying the bytes of [offset, offset + cap)
 * that exist into out (when out is not NULL). Checking everything before trusting any of it is
 * what makes a damaged file DATA_CORRUPT rather than a key with different bits.
 */
static psa_status_t its_read(psa_storage_uid_t uid, struct psa_storage_info_t *info,
                             uint32_t offset, uint32_t cap, uint8_t *out, size_t *copied)
{
	psa_status_t status = PSA_ERROR_STORAGE_FAILURE;
	char path[PATH_MAX];
	uint8_t header[ITS_HEADER_LEN], chunk[ITS_CHUNK], want[ITS_HASH_LEN], got[ITS_HASH_LEN];
	mbedtls_sha256_context sha;
	struct stat st;
	uint32_t size, pos = 0;
	size_t n_copied = 0;
	int fd, r;

	if (copied != NULL)
		*copied = 0;
	if (!storage_set)
		return PSA_ERROR_STORAGE_FAILURE;
	its_path(path, uid, "key");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? PSA_ERROR_DOES_NOT_EXIST : PSA_ERROR_STORAGE_FAILURE;
	mbedtls_sha256_init(&sha);
	if (fstat(fd, &st) != 0)
		goto out_close;
	status = PSA_ERROR_DATA_CORRUPT;
	if (!S_ISREG(st.st_mode))
		goto out_close;
	r = read_full(fd, header, sizeof(header));
	if (r <= 0) {
		status = r < 0 ? PSA_ERROR_STORAGE_FAILURE : PSA_ERROR_DATA_CORRUPT;
		goto out_close;
	}
	size = get_u32(header + ITS_MAGIC_LEN + 8);
	if (memcmp(header, ITS_MAGIC, ITS_MAGIC_LEN) != 0 ||
	    get_u32(header + ITS_MAGIC_LEN) != ITS_VERSION ||
	    (uint64_t)st.st_size != (uint64_t)ITS_HEADER_LEN + size + ITS_HASH_LEN)
		goto out_close;
	if (mbedtls_sha256_starts_ret(&sha, 0) != 0 ||
	    mbedtls_sha256_update_ret(&sha, header, sizeof(header)) != 0) {
		status = PSA_ERROR_STORAGE_FAILURE;
		goto out_close;
	}
	while (pos < size) {
		uint32_t n = size - pos < ITS_CHUNK ? size - pos : ITS_CHUNK;

		r = read_full(fd, chunk, n);
		if (r <= 0) {
			status = r < 0 ? PSA_ERROR_STORAGE_FAILURE : PSA_ERROR_DATA_CORRUPT;
			goto out_close;
		}
		if (mbedtls_sha256_update_ret(&sha, chunk, n) != 0) {
			status = PSA_ERROR_STORAGE_FAILURE;
			goto out_close;
		}
		/* The part of this chunk inside [offset, offset + cap). */
		if (out != NULL && (uint64_t)pos + n > offset &&
		    (uint64_t)pos < (uint64_t)offset + cap) {
			uint64_t from = pos > offset ? pos : offset;
			uint64_t to = (uint64_t)pos + n < (uint64_t)offset + cap
			                  ? (uint64_t)pos + n
			                  : (uint64_t)offset + cap;

			memcpy(out + (from - offset), chunk + (from - pos), (size_t)(to - from));
			n_copied += (size_t)(to - from);
		}
		pos += n;
	}
	r = read_full(fd, want, sizeof(want));
	if (r <= 0) {
		status = r < 0 ? PSA_ERROR_STORAGE_FAILURE : PSA_ERROR_DATA_CORRUPT;
		goto out_close;
	}
	if (mbedtls_sha256_finish_ret(&sha, got) != 0) {
		status = PSA_ERROR_STORAGE_FAILURE;
		goto out_close;
	}
	if (!vouch_ct_equal(got, want, sizeof(got)))
		goto out_close;
	/* Only now: a damaged entry is DATA_CORRUPT whatever the caller asked of it. */
	if (out != NULL && offset > size) {
		status = PSA_ERROR_INVALID_ARGUMENT;
		goto out_close;
	}
	info->size = size;
	info->flags = get_u32(header + ITS_MAGIC_LEN + 4);
	if (copied != NULL)
		*copied = n_copied;
	status = PSA_SUCCESS;
out_close:
	close(fd);
	mbedtls_sha256_free(&sha); /* zeroises the state, which saw the key */
	vouch_wipe(chunk, sizeof(chunk));
	if (status != PSA_SUCCESS && out != NULL)
		vouch_wipe(out, n_copied);
	return status;
}

psa_status_t psa_its_get_info(psa_storage_uid_t uid, struct psa_storage_info_t *p_info)
{
	if (p_info == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	return its_read(uid, p_info, 0, 0, NULL, NULL);
}

psa_status_t psa_its_get(psa_storage_uid_t uid, uint32_t data_offset, uint32_t data_length,
                         void *p_data, size_t *p_data_length)
{
	struct psa_storage_info_t info;

	if (p_data_length != NULL)
		*p_data_length = 0;
	if (p_data == NULL && data_length > 0)
		return PSA_ERROR_INVALID_ARGUMENT;
	if (p_data == NULL) {
		/* Nothing to copy: still say whether the entry exists and is sound. */
		psa_status_t status = its_read(uid, &info, 0, 0, NULL, NULL);

		if (status == PSA_SUCCESS && data_offset > info.size)
			status = PSA_ERROR_INVALID_ARGUMENT;
		return status;
	}
	return its_read(uid, &info, data_offset, data_length, p_data, p_data_length);
}

/* ---- writing ---- */

static psa_status_t write_full(int fd, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ENOSPC || errno == EDQUOT ? PSA_ERROR_INSUFFICIENT_STORAGE
			                                          : PSA_ERROR_STORAGE_FAILURE;
		done += (size_t)n;
	}
	return PSA_SUCCESS;
}

psa_status_t psa_its_set(psa_storage_uid_t uid, uint32_t data_length, const void *p_data,
                         psa_storage_create_flags_t create_flags)
{
	psa_status_t status;
	char path[PATH_MAX], tmp[PATH_MAX];
	uint8_t header[ITS_HEADER_LEN], hash[ITS_HASH_LEN];
	mbedtls_sha256_context sha;
	struct psa_storage_info_t old;
	int fd;

	if (p_data == NULL && data_length > 0)
		return PSA_ERROR_INVALID_ARGUMENT;
	if ((create_flags & ~PSA_STORAGE_FLAG_WRITE_ONCE) != 0)
		return PSA_ERROR_NOT_SUPPORTED;
	if (!storage_set)
		return PSA_ERROR_STORAGE_FAILURE;
	status = its_read(uid, &old, 0, 0, NULL, NULL);
	if (status == PSA_SUCCESS && (old.flags & PSA_STORAGE_FLAG_WRITE_ONCE) != 0)
		return PSA_ERROR_NOT_PERMITTED;
	if (status == PSA_ERROR_STORAGE_FAILURE)
		return status;

	memcpy(header, ITS_MAGIC, ITS_MAGIC_LEN);
	put_u32(header + ITS_MAGIC_LEN, ITS_VERSION);
	put_u32(header + ITS_MAGIC_LEN + 4, create_flags);
	put_u32(header + ITS_MAGIC_LEN + 8, data_length);
	mbedtls_sha256_init(&sha);
	if (mbedtls_sha256_starts_ret(&sha, 0) != 0 ||
	    mbedtls_sha256_update_ret(&sha, header, sizeof(header)) != 0 ||
	    mbedtls_sha256_update_ret(&sha, p_data, data_length) != 0 ||
	    mbedtls_sha256_finish_ret(&sha, hash) != 0) {
		mbedtls_sha256_free(&sha);
		return PSA_ERROR_STORAGE_FAILURE;
	}
	mbedtls_sha256_free(&sha);

	its_path(path, uid, "key");
	its_path(tmp, uid, "tmp");
	/* A temporary file left by a crash is overwritten: it was never renamed, so never valid. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return PSA_ERROR_STORAGE_FAILURE;
	status = PSA_ERROR_STORAGE_FAILURE;
	if (fchmod(fd, 0600) != 0) /* whatever the umask or an old temporary file said */
		goto out_close;
	status = write_full(fd, header, sizeof(header));
	if (status == PSA_SUCCESS)
		status = write_full(fd, p_data, data_length);
	if (status == PSA_SUCCESS)
		status = write_full(fd, hash, sizeof(hash));
	if (status != PSA_SUCCESS)
		goto out_close;
	status = PSA_ERROR_STORAGE_FAILURE;
	if (fsync(fd) != 0)
		goto out_close;
	if (close(fd) != 0) {
		fd = -1;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out_unlink;
	/* The rename is only durable once the directory is. */
	if (fsync_dir(storage_dir) != 0)
		return PSA_ERROR_STORAGE_FAILURE;
	return PSA_SUCCESS;
out_close:
	close(fd);
out_unlink:
	unlink(tmp);
	return status;
}

psa_status_t psa_its_remove(psa_storage_uid_t uid)
{
	psa_status_t status;
	struct psa_storage_info_t info;
	char path[PATH_MAX];

	status = its_read(uid, &info, 0, 0, NULL, NULL);
	if (status == PSA_SUCCESS && (info.flags & PSA_STORAGE_FLAG_WRITE_ONCE) != 0)
		return PSA_ERROR_NOT_PERMITTED;
	/* A damaged entry can still be removed: that is how a device is decommissioned. */
	if (status != PSA_SUCCESS && status != PSA_ERROR_DATA_CORRUPT)
		return status;
	its_path(path, uid, "key");
	if (unlink(path) != 0)
		return errno == ENOENT ? PSA_ERROR_DOES_NOT_EXIST : PSA_ERROR_STORAGE_FAILURE;
	if (fsync_dir(storage_dir) != 0)
		return PSA_ERROR_STORAGE_FAILURE;
	return PSA_SUCCESS;
}
