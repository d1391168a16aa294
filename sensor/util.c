/*
 * vouch-sensor: private files written atomically, and the CRC of the event queue's records.
 */
#define _DEFAULT_SOURCE /* O_NOFOLLOW, O_CLOEXEC, O_DIRECTORY */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "vouch/log.h"

int sensor_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			out[0] = '\0';
		return VOUCH_ERR_INVALID;
	}
	return VOUCH_OK;
}

int sensor_mkdir_private(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		vouch_log(VOUCH_LOG_ERROR, "sensor.dir", "path", dir, "why", strerror(errno), NULL);
		return VOUCH_ERR_IO;
	}
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		vouch_log(VOUCH_LOG_ERROR, "sensor.dir", "path", dir, "why", "not a directory",
		          NULL);
		return VOUCH_ERR_IO;
	}
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) != 0)
		return VOUCH_ERR_IO;
	return VOUCH_OK;
}

int sensor_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = VOUCH_ERR_IO;

	if (fd < 0)
		return VOUCH_ERR_IO;
	if (fsync(fd) == 0)
		rc = VOUCH_OK;
	close(fd);
	return rc;
}

int sensor_file_read(const char *dir, const char *name, uint8_t *buf, size_t cap, size_t *len)
{
	char path[SENSOR_PATH_MAX];
	struct stat st;
	size_t off = 0;
	int fd, rc = VOUCH_ERR_IO;

	*len = 0;
	if (sensor_path(path, sizeof(path), dir, name) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? VOUCH_ERR_STORE_NOT_FOUND : VOUCH_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out_close;
	if ((uint64_t)st.st_size > cap) {
		rc = VOUCH_ERR_BUFFER;
		goto out_close;
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out_close;
		off += (size_t)n;
	}
	*len = off;
	rc = VOUCH_OK;
out_close:
	close(fd);
	return rc;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return VOUCH_ERR_IO;
		buf += n;
		len -= (size_t)n;
	}
	return VOUCH_OK;
}

int sensor_file_write_atomic(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[SENSOR_PATH_MAX], tmp[SENSOR_PATH_MAX], tmp_name[NAME_MAX];
	int fd, rc;

	if (snprintf(tmp_name, sizeof(tmp_name), ".%s.tmp", name) >= (int)sizeof(tmp_name) ||
	    sensor_path(path, sizeof(path), dir, name) != VOUCH_OK ||
	    sensor_path(tmp, sizeof(tmp), dir, tmp_name) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		vouch_log(VOUCH_LOG_ERROR, "sensor.write", "path", tmp, "why", strerror(errno),
		          NULL);
		return VOUCH_ERR_IO;
	}
	rc = write_all(fd, buf, len);
	if (rc == VOUCH_OK && fsync(fd) != 0)
		rc = VOUCH_ERR_IO;
	if (close(fd) != 0)
		rc = VOUCH_ERR_IO;
	if (rc == VOUCH_OK && rename(tmp, path) != 0)
		rc = VOUCH_ERR_IO;
	if (rc == VOUCH_OK)
		rc = sensor_fsync_dir(dir);
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "sensor.write", "path", path, "why", strerror(errno),
		          NULL);
		(void)unlink(tmp);
	}
	return rc;
}

int sensor_file_remove(const char *dir, const char *name)
{
	char path[SENSOR_PATH_MAX];

	if (sensor_path(path, sizeof(path), dir, name) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	if (unlink(path) != 0 && errno != ENOENT)
		return VOUCH_ERR_IO;
	return sensor_fsync_dir(dir);
}

/* The reflected table of the IEEE polynomial 0xedb88320, built once. */
static uint32_t crc_table[256];
static bool crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) != 0 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
	crc_ready = true;
}

uint32_t sensor_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!crc_ready)
		crc_init();
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}
