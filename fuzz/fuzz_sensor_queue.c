/*
 * libFuzzer: the sensor's durable event queue (sensor/queue.c, SDIR/events) as a power cut in
 * the middle of an append, bit rot or someone with the device's flash could leave it. The input
 * is the whole file, written into a state directory made once per process (fuzz_files.h); the
 * queue is opened, read out, appended to, trimmed as an acknowledgement would, and reopened.
 *
 * Each input runs twice: as it is, and (when that changes it) with the CRC of every record whose
 * length fits made right, so that mutations reach the rules behind the CRC (lengths, sequence
 * numbers, what follows a bad record) and not only the CRC check.
 *
 * The expected outcome comes from a model of queue.h written here (records in order while each
 * is whole, at most SENSOR_EVENT_MAX, its CRC-32 right, computed bit by bit, and its sequence
 * number above the one before). Invariants:
 *   - opening succeeds and keeps exactly the model's records, byte for byte in place, drops the
 *     rest of the file (dropped + end = the file's size) and truncates the file there;
 *   - reading out gives those records in order (sequence numbers strictly increasing, lengths
 *     1..SENSOR_EVENT_MAX), then VOUCH_ERR_STORE_NOT_FOUND, within count + 1 reads; a buffer one
 *     byte short is VOUCH_ERR_BUFFER and does not advance;
 *   - appending after the recovered tail works: a sequence number not above the last is
 *     VOUCH_ERR_INVALID, the next one is appended where the torn tail was, reads back, and
 *     survives a reopen with nothing dropped;
 *   - dropping up to a sequence number keeps exactly the records above it, and a reopen finds
 *     nothing to drop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_files.h"
#include "queue.h"
#include "vouch/log.h"

/* The largest file looked at: libFuzzer's inputs stay far below it. */
#define FILE_MAX (64 * 1024)
/* The most records a file of FILE_MAX bytes can hold (each at least 17 bytes). */
#define RECORDS_MAX (FILE_MAX / (SENSOR_QUEUE_HDR + 1) + 2)

struct record {
	size_t off, len;
	uint64_t seq;
};

struct model {
	struct record rec[RECORDS_MAX];
	size_t n;
	size_t end;
	uint64_t last_seq;
};

static char dir[256];
static struct sensor_queue q;
static struct model m;
static uint8_t fixed[FILE_MAX], file[FILE_MAX + SENSOR_QUEUE_HDR + SENSOR_EVENT_MAX];

static void setup(void)
{
	FILE *devnull = fopen("/dev/null", "w");

	if (devnull == NULL)
		abort();
	vouch_log_init("fuzz_sensor_queue", VOUCH_LOG_DEBUG, devnull);
	fuzz_tmpdir(dir, sizeof(dir));
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* CRC-32 (IEEE 802.3, reflected 0xedb88320) bit by bit: not the table of sensor/util.c. */
static uint32_t crc32_bits(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static uint32_t record_crc(const uint8_t *hdr, const uint8_t *ev, size_t len)
{
	return crc32_bits(crc32_bits(0, hdr, 12), ev, len);
}

/* Is there a record of a fitting length at off? Its length then. */
static bool record_fits(const uint8_t *buf, size_t size, size_t off, size_t *len)
{
	uint32_t n;

	if (size - off < SENSOR_QUEUE_HDR)
		return false;
	n = be32(buf + off);
	if (n == 0 || n > SENSOR_EVENT_MAX || size - off - SENSOR_QUEUE_HDR < n)
		return false;
	*len = n;
	return true;
}

/* The records the queue must keep from buf (queue.h). */
static void model_build(const uint8_t *buf, size_t size)
{
	size_t off = 0, len = 0;

	m.n = 0;
	m.last_seq = 0;
	while (off < size && record_fits(buf, size, off, &len)) {
		const uint8_t *hdr = buf + off;
		uint64_t seq = be64(hdr + 4);

		if (record_crc(hdr, hdr + SENSOR_QUEUE_HDR, len) != be32(hdr + 12) ||
		    seq <= m.last_seq)
			break;
		m.rec[m.n].off = off;
		m.rec[m.n].len = len;
		m.rec[m.n].seq = seq;
		m.n++;
		m.last_seq = seq;
		off += SENSOR_QUEUE_HDR + len;
	}
	m.end = off;
}

/* buf with the CRC of each record of a fitting length (up to the first that does not fit) made
 * right; false when nothing changed. */
static bool crcs_fix(const uint8_t *buf, size_t size, uint8_t *out)
{
	size_t off = 0, len = 0;

	memcpy(out, buf, size);
	while (off < size && record_fits(out, size, off, &len)) {
		put_be32(out + off + 12, record_crc(out + off, out + off + SENSOR_QUEUE_HDR, len));
		off += SENSOR_QUEUE_HDR + len;
	}
	return size > 0 && memcmp(out, buf, size) != 0;
}

/* The queue reads out exactly records rec[i] (i in keep order, n of them) with the bytes of
 * src, then says there is no more. */
static void expect_records(const uint8_t *src, const struct record *rec, const size_t *keep,
                           size_t n)
{
	static uint8_t ev[SENSOR_EVENT_MAX];
	uint64_t pos = 0, seq = 0, prev = 0;
	size_t len = 0, i;
	int rc = VOUCH_ERR_INTERNAL;

	FUZZ_CHECK(q.count == n);
	for (i = 0; i <= n; i++) {
		rc = sensor_queue_read(&q, &pos, &seq, ev, sizeof(ev), &len);
		if (rc != VOUCH_OK)
			break;
		FUZZ_CHECK(i < n);
		FUZZ_CHECK(len >= 1 && len <= SENSOR_EVENT_MAX);
		FUZZ_CHECK(seq > prev);
		prev = seq;
		FUZZ_CHECK(seq == rec[keep[i]].seq && len == rec[keep[i]].len);
		FUZZ_CHECK(memcmp(ev, src + rec[keep[i]].off + SENSOR_QUEUE_HDR, len) == 0);
	}
	FUZZ_CHECK(i == n && rc == VOUCH_ERR_STORE_NOT_FOUND);
	FUZZ_CHECK(pos == q.end);
	FUZZ_CHECK(n == 0 || q.last_seq == rec[keep[n - 1]].seq);
}

static void reopen(void)
{
	sensor_queue_close(&q);
	FUZZ_CHECK(sensor_queue_open(&q, dir) == VOUCH_OK);
	FUZZ_CHECK(q.dropped == 0);
}

static void check(const uint8_t *buf, size_t size, uint8_t salt)
{
	static size_t keep[RECORDS_MAX + 1];
	static struct record rec[RECORDS_MAX + 1];
	uint8_t ev[SENSOR_EVENT_MAX], small[SENSOR_EVENT_MAX];
	uint64_t pos = 0, seq = 0, upto;
	size_t len = 0, ev_len, file_len = 0, n_keep = 0;

	model_build(buf, size);
	fuzz_file_put(dir, SENSOR_QUEUE_FILE, buf, size);
	sensor_queue_init(&q);
	FUZZ_CHECK(sensor_queue_open(&q, dir) == VOUCH_OK);
	FUZZ_CHECK(q.end == m.end && q.count == m.n && q.last_seq == m.last_seq);
	FUZZ_CHECK(q.dropped == size - m.end);
	/* Nothing before the tear is lost or changed; the tear itself is gone from the file. */
	FUZZ_CHECK(fuzz_file_get(dir, SENSOR_QUEUE_FILE, file, sizeof(file), &file_len));
	FUZZ_CHECK(file_len == m.end && memcmp(file, buf, file_len) == 0);
	memcpy(rec, m.rec, m.n * sizeof(rec[0]));
	for (size_t i = 0; i < m.n; i++)
		keep[i] = i;
	expect_records(buf, rec, keep, m.n);
	if (m.n > 0 && rec[0].len > 1) {
		FUZZ_CHECK(sensor_queue_read(&q, &pos, &seq, small, rec[0].len - 1, &len) ==
		           VOUCH_ERR_BUFFER);
		FUZZ_CHECK(pos == 0);
	}

	/* The next event goes where the torn tail was. Its bytes: some of the input's. */
	ev_len = 1 + (size + salt) % 300;
	for (size_t i = 0; i < ev_len; i++)
		ev[i] = size > 0 ? buf[(i * 7 + salt) % size] : (uint8_t)i;
	if (m.last_seq > 0)
		FUZZ_CHECK(sensor_queue_append(&q, m.last_seq, ev, ev_len) == VOUCH_ERR_INVALID);
	if (m.last_seq == UINT64_MAX) {
		/* No number is left above it (refused just above, not wrapped around). */
		sensor_queue_close(&q);
		return;
	}
	seq = m.last_seq + 1 + salt % 3;
	if (seq <= m.last_seq)
		seq = m.last_seq + 1;
	FUZZ_CHECK(sensor_queue_append(&q, seq, ev, ev_len) == VOUCH_OK);
	FUZZ_CHECK(q.end == m.end + SENSOR_QUEUE_HDR + ev_len && q.count == m.n + 1);
	FUZZ_CHECK(fuzz_file_get(dir, SENSOR_QUEUE_FILE, file, sizeof(file), &file_len));
	FUZZ_CHECK(file_len == q.end && memcmp(file, buf, m.end) == 0);
	/* The appended record, as it now lies in the file, joins the expected ones. */
	rec[m.n].off = m.end;
	rec[m.n].len = ev_len;
	rec[m.n].seq = seq;
	keep[m.n] = m.n;
	FUZZ_CHECK(memcmp(file + m.end + SENSOR_QUEUE_HDR, ev, ev_len) == 0);
	expect_records(file, rec, keep, m.n + 1);
	reopen();
	expect_records(file, rec, keep, m.n + 1);

	/* An acknowledgement up to one of the sequence numbers held (or below them all). */
	upto = salt % (m.n + 2) == 0 ? 0 : rec[(salt % (m.n + 2)) - 1].seq;
	for (size_t i = 0; i <= m.n; i++)
		if (rec[i].seq > upto)
			keep[n_keep++] = i;
	FUZZ_CHECK(sensor_queue_drop_upto(&q, upto) == VOUCH_OK);
	expect_records(file, rec, keep, n_keep);
	reopen();
	expect_records(file, rec, keep, n_keep);
	sensor_queue_close(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	uint8_t salt;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size > FILE_MAX)
		return 0;
	salt = size > 0 ? data[size - 1] : 0;
	check(data, size, salt);
	if (crcs_fix(data, size, fixed))
		check(fixed, size, salt);
	return 0;
}
