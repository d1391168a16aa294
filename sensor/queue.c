/*
 * vouch-sensor: the durable event queue (format and rules in sensor/queue.h).
 */
#define _DEFAULT_SOURCE /* O_NOFOLLOW, O_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "queue.h"
#include "util.h"
#include "vouch/log.h"

#define TMP_FILE ".events.tmp"

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void header_make(uint8_t hdr[SENSOR_QUEUE_HDR], uint64_t seq, const uint8_t *ev, size_t len)
{
	put_be32(hdr, (uint32_t)len);
	put_be64(hdr + 4, seq);
	put_be32(hdr + 12, sensor_crc32(sensor_crc32(0, hdr, 12), ev, len));
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return VOUCH_ERR_IO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return VOUCH_OK;
}

/* The record at off of a file of size bytes: VOUCH_OK with its length and sequence number when
 * it is whole and checks, VOUCH_ERR_STORE_CORRUPT when it does not. */
static int record_check(int fd, uint64_t off, uint64_t size, uint8_t *buf, size_t cap,
                        uint64_t *seq, size_t *len)
{
	uint8_t hdr[SENSOR_QUEUE_HDR];
	uint32_t n;

	if (size - off < SENSOR_QUEUE_HDR || pread_all(fd, hdr, sizeof(hdr), off) != VOUCH_OK)
		return VOUCH_ERR_STORE_CORRUPT;
	n = get_be32(hdr);
	if (n == 0 || n > SENSOR_EVENT_MAX || size - off - SENSOR_QUEUE_HDR < n)
		return VOUCH_ERR_STORE_CORRUPT;
	if (n > cap)
		return VOUCH_ERR_BUFFER;
	if (pread_all(fd, buf, n, off + SENSOR_QUEUE_HDR) != VOUCH_OK ||
	    sensor_crc32(sensor_crc32(0, hdr, 12), buf, n) != get_be32(hdr + 12))
		return VOUCH_ERR_STORE_CORRUPT;
	*seq = get_be64(hdr + 4);
	*len = n;
	return VOUCH_OK;
}

void sensor_queue_init(struct sensor_queue *q)
{
	memset(q, 0, sizeof(*q));
	q->fd = -1;
}

static int queue_scan(struct sensor_queue *q)
{
	uint8_t buf[SENSOR_EVENT_MAX];
	struct stat st;
	uint64_t off = 0, seq = 0;
	size_t len = 0;
	char bytes[24];

	if (fstat(q->fd, &st) != 0 || !S_ISREG(st.st_mode))
		return VOUCH_ERR_IO;
	while (off < (uint64_t)st.st_size) {
		if (record_check(q->fd, off, (uint64_t)st.st_size, buf, sizeof(buf), &seq, &len) !=
		        VOUCH_OK ||
		    seq <= q->last_seq)
			break;
		off += SENSOR_QUEUE_HDR + len;
		q->last_seq = seq;
		q->count++;
	}
	q->end = off;
	if (off == (uint64_t)st.st_size)
		return VOUCH_OK;
	/* A torn (or rotten) tail: what follows it cannot be trusted to be whole either. */
	q->dropped = (uint64_t)st.st_size - off;
	snprintf(bytes, sizeof(bytes), "%" PRIu64, q->dropped);
	vouch_log(VOUCH_LOG_WARN, "sensor.queue.torn", "dropped_bytes", bytes, NULL);
	if (ftruncate(q->fd, (off_t)off) != 0 || fsync(q->fd) != 0)
		return VOUCH_ERR_IO;
	return VOUCH_OK;
}

int sensor_queue_open(struct sensor_queue *q, const char *sdir)
{
	char path[SENSOR_PATH_MAX];
	int rc = VOUCH_ERR_INVALID;

	sensor_queue_init(q);
	if (snprintf(q->dir, sizeof(q->dir), "%s", sdir) >= (int)sizeof(q->dir) ||
	    sensor_path(path, sizeof(path), sdir, SENSOR_QUEUE_FILE) != VOUCH_OK)
		return rc;
	q->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (q->fd < 0) {
		vouch_log(VOUCH_LOG_ERROR, "sensor.queue", "why", strerror(errno), NULL);
		return VOUCH_ERR_IO;
	}
	rc = queue_scan(q);
	if (rc != VOUCH_OK)
		sensor_queue_close(q);
	return rc;
}

void sensor_queue_close(struct sensor_queue *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

int sensor_queue_append(struct sensor_queue *q, uint64_t seq, const uint8_t *ev, size_t len)
{
	uint8_t hdr[SENSOR_QUEUE_HDR];
	struct iovec iov[2];
	ssize_t n;

	if (q->fd < 0 || len == 0 || len > SENSOR_EVENT_MAX || seq <= q->last_seq)
		return VOUCH_ERR_INVALID;
	header_make(hdr, seq, ev, len);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)ev;
	iov[1].iov_len = len;
	do
		n = writev(q->fd, iov, 2);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)(sizeof(hdr) + len) || fsync(q->fd) != 0) {
		vouch_log(VOUCH_LOG_ERROR, "sensor.queue.append", "why",
		          n < 0 ? strerror(errno) : "short write", NULL);
		/* Leave no half record behind for the next append to follow. */
		if (ftruncate(q->fd, (off_t)q->end) != 0)
			vouch_log(VOUCH_LOG_ERROR, "sensor.queue.truncate", "why", strerror(errno),
			          NULL);
		return VOUCH_ERR_IO;
	}
	q->end += sizeof(hdr) + len;
	q->count++;
	q->last_seq = seq;
	return VOUCH_OK;
}

int sensor_queue_read(struct sensor_queue *q, uint64_t *pos, uint64_t *seq, uint8_t *buf,
                      size_t cap, size_t *len)
{
	int rc;

	*seq = 0;
	*len = 0;
	if (q->fd < 0)
		return VOUCH_ERR_INVALID;
	if (*pos >= q->end)
		return VOUCH_ERR_STORE_NOT_FOUND;
	rc = record_check(q->fd, *pos, q->end, buf, cap, seq, len);
	if (rc == VOUCH_OK)
		*pos += SENSOR_QUEUE_HDR + *len;
	return rc;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return VOUCH_ERR_IO;
		p += n;
		len -= (size_t)n;
	}
	return VOUCH_OK;
}

int sensor_queue_drop_upto(struct sensor_queue *q, uint64_t upto)
{
	char tmp[SENSOR_PATH_MAX], path[SENSOR_PATH_MAX];
	uint8_t buf[SENSOR_EVENT_MAX], hdr[SENSOR_QUEUE_HDR];
	uint64_t pos = 0, seq = 0, end = 0;
	size_t len = 0, kept = 0;
	int fd, rc;

	if (q->fd < 0 || sensor_path(tmp, sizeof(tmp), q->dir, TMP_FILE) != VOUCH_OK ||
	    sensor_path(path, sizeof(path), q->dir, SENSOR_QUEUE_FILE) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return VOUCH_ERR_IO;
	while ((rc = sensor_queue_read(q, &pos, &seq, buf, sizeof(buf), &len)) == VOUCH_OK) {
		if (seq <= upto)
			continue;
		header_make(hdr, seq, buf, len);
		rc = write_all(fd, hdr, sizeof(hdr));
		if (rc == VOUCH_OK)
			rc = write_all(fd, buf, len);
		if (rc != VOUCH_OK)
			break;
		end += sizeof(hdr) + len;
		kept++;
	}
	if (rc == VOUCH_ERR_STORE_NOT_FOUND)
		rc = VOUCH_OK;
	if (rc == VOUCH_OK && fsync(fd) != 0)
		rc = VOUCH_ERR_IO;
	if (close(fd) != 0 && rc == VOUCH_OK)
		rc = VOUCH_ERR_IO;
	if (rc == VOUCH_OK && rename(tmp, path) != 0)
		rc = VOUCH_ERR_IO;
	if (rc != VOUCH_OK) {
		(void)unlink(tmp);
		vouch_log(VOUCH_LOG_ERROR, "sensor.queue.drop", "why", vouch_strerror(rc), NULL);
		return rc;
	}
	rc = sensor_fsync_dir(q->dir);
	/* The old descriptor still reads the replaced file: switch to the new one. */
	close(q->fd);
	q->fd = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (q->fd < 0)
		return VOUCH_ERR_IO;
	q->end = end;
	q->count = kept;
	return rc;
}
