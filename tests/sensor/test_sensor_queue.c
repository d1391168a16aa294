/*
 * The durable event queue (sensor/queue.c): appends survive a reopen byte for byte; sequence
 * numbers must grow; a torn last record (every possible cut), a record with a flipped bit, an
 * impossible length or trailing garbage are dropped at open while the records before them stay;
 * acknowledged records are dropped atomically and the queue goes on after.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "site.h"
#include "util.h"
#include "vouch/log.h"

static struct sensor_queue q;

/* Event i: recognisable bytes of a length that varies with i. */
static size_t event_of(unsigned i, uint8_t *out)
{
	size_t len = 20 + (i * 37) % 300;

	for (size_t k = 0; k < len; k++)
		out[k] = (uint8_t)(i * 31 + k);
	return len;
}

static uint64_t file_size(const char *dir)
{
	char path[SENSOR_PATH_MAX];
	struct stat sb;

	assert_int_equal(sensor_path(path, sizeof(path), dir, SENSOR_QUEUE_FILE), VOUCH_OK);
	assert_int_equal(stat(path, &sb), 0);
	return (uint64_t)sb.st_size;
}

static void file_truncate(const char *dir, uint64_t size)
{
	char path[SENSOR_PATH_MAX];

	assert_int_equal(sensor_path(path, sizeof(path), dir, SENSOR_QUEUE_FILE), VOUCH_OK);
	assert_int_equal(truncate(path, (off_t)size), 0);
}

static void file_patch(const char *dir, uint64_t off, const void *bytes, size_t len)
{
	char path[SENSOR_PATH_MAX];
	int fd;

	assert_int_equal(sensor_path(path, sizeof(path), dir, SENSOR_QUEUE_FILE), VOUCH_OK);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* The queue holds exactly the events with these sequence numbers, in order. */
static void expect(const uint64_t *seqs, size_t n)
{
	uint8_t buf[SENSOR_EVENT_MAX], want[SENSOR_EVENT_MAX];
	uint64_t pos = 0, seq = 0;
	size_t len = 0, i = 0;
	int rc;

	while ((rc = sensor_queue_read(&q, &pos, &seq, buf, sizeof(buf), &len)) == VOUCH_OK) {
		assert_true(i < n);
		assert_int_equal(seq, seqs[i]);
		assert_int_equal(len, event_of((unsigned)seq, want));
		assert_memory_equal(buf, want, len);
		i++;
	}
	assert_int_equal(rc, VOUCH_ERR_STORE_NOT_FOUND);
	assert_int_equal(i, n);
	assert_int_equal(q.count, n);
}

static void append(uint64_t seq)
{
	uint8_t ev[SENSOR_EVENT_MAX];
	size_t len = event_of((unsigned)seq, ev);

	assert_int_equal(sensor_queue_append(&q, seq, ev, len), VOUCH_OK);
}

static void test_append_reopen(void **state)
{
	static const uint64_t all[] = {1, 2, 5};
	uint8_t ev[SENSOR_EVENT_MAX];
	char dir[64];

	(void)state;
	site_tmpdir(dir, sizeof(dir));
	assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
	expect(NULL, 0);
	append(1);
	append(2);
	append(5);
	/* Never a number already used, never an empty or oversized event. */
	assert_int_equal(sensor_queue_append(&q, 5, ev, event_of(5, ev)), VOUCH_ERR_INVALID);
	assert_int_equal(sensor_queue_append(&q, 3, ev, event_of(3, ev)), VOUCH_ERR_INVALID);
	assert_int_equal(sensor_queue_append(&q, 6, ev, 0), VOUCH_ERR_INVALID);
	assert_int_equal(sensor_queue_append(&q, 6, ev, SENSOR_EVENT_MAX + 1), VOUCH_ERR_INVALID);
	expect(all, 3);
	sensor_queue_close(&q);
	assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
	assert_int_equal(q.dropped, 0);
	assert_int_equal(q.last_seq, 5);
	expect(all, 3);
	sensor_queue_close(&q);
	site_rmdir(dir);
}

static void test_torn_tail(void **state)
{
	static const uint64_t two[] = {1, 2}, three[] = {1, 2, 3};
	uint8_t ev[SENSOR_EVENT_MAX];
	uint64_t whole2, whole3;
	char dir[64];

	(void)state;
	site_tmpdir(dir, sizeof(dir));
	assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
	append(1);
	append(2);
	whole2 = file_size(dir);
	append(3);
	whole3 = file_size(dir);
	assert_int_equal(whole3 - whole2, SENSOR_QUEUE_HDR + event_of(3, ev));
	sensor_queue_close(&q);

	/* A power cut at every byte of the last append. */
	for (uint64_t cut = whole2 + 1; cut < whole3; cut++) {
		file_truncate(dir, cut);
		assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
		assert_int_equal(q.dropped, cut - whole2);
		assert_int_equal(file_size(dir), whole2);
		expect(two, 2);
		append(3); /* the next append goes where the torn one was */
		assert_int_equal(file_size(dir), whole3);
		sensor_queue_close(&q);
		assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
		expect(three, 3);
		sensor_queue_close(&q);
	}
	site_rmdir(dir);
}

static void test_corruption(void **state)
{
	static const uint64_t one[] = {1}, two[] = {1, 2};
	uint8_t ev[SENSOR_EVENT_MAX], b;
	uint64_t whole1, whole2;
	uint8_t huge[4] = {0x00, 0x01, 0x00, 0x00};
	char dir[64];

	(void)state;
	site_tmpdir(dir, sizeof(dir));
	assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
	append(1);
	whole1 = file_size(dir);
	append(2);
	whole2 = file_size(dir);
	append(3);
	sensor_queue_close(&q);

	/* A flipped bit in the last record's event: its CRC no longer holds. */
	(void)event_of(3, ev);
	b = ev[5] ^ 0x10;
	file_patch(dir, whole2 + SENSOR_QUEUE_HDR + 5, &b, 1);
	assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
	expect(two, 2);
	sensor_queue_close(&q);

	/* A flipped bit in the middle record: it and everything after it go. */
	(void)event_of(2, ev);
	b = ev[0] ^ 0x01;
	file_patch(dir, whole1 + SENSOR_QUEUE_HDR, &b, 1);
	assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
	assert_int_equal(file_size(dir), whole1);
	expect(one, 1);
	append(2);
	sensor_queue_close(&q);

	/* An impossible length, a sequence number going back, trailing garbage. */
	file_patch(dir, whole1, huge, sizeof(huge));
	assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
	expect(one, 1);
	sensor_queue_close(&q);
	file_truncate(dir, whole1);
	assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
	append(2);
	sensor_queue_close(&q);
	{
		uint8_t hdr[SENSOR_QUEUE_HDR + 20];
		uint8_t seq_back[8] = {0, 0, 0, 0, 0, 0, 0, 1};

		/* Record 2 rewritten to claim sequence number 1: its CRC fails first; whatever the
		 * reason, it is not kept. */
		file_patch(dir, whole1 + 4, seq_back, sizeof(seq_back));
		assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
		expect(one, 1);
		sensor_queue_close(&q);
		memset(hdr, 0xee, sizeof(hdr));
		file_patch(dir, whole1, hdr, sizeof(hdr));
		assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
		expect(one, 1);
		assert_int_equal(q.dropped, sizeof(hdr));
		sensor_queue_close(&q);
	}
	site_rmdir(dir);
}

static void test_drop_upto(void **state)
{
	static const uint64_t all[] = {1, 2, 3, 4, 5}, rest[] = {4, 5}, later[] = {6};
	char dir[64], tmp[SENSOR_PATH_MAX];
	struct stat sb;

	(void)state;
	site_tmpdir(dir, sizeof(dir));
	assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
	for (uint64_t s = 1; s <= 5; s++)
		append(s);
	assert_int_equal(sensor_queue_drop_upto(&q, 0), VOUCH_OK);
	expect(all, 5);
	assert_int_equal(sensor_queue_drop_upto(&q, 3), VOUCH_OK);
	expect(rest, 2);
	assert_int_equal(sensor_path(tmp, sizeof(tmp), dir, ".events.tmp"), VOUCH_OK);
	assert_int_not_equal(stat(tmp, &sb), 0);
	sensor_queue_close(&q);
	assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
	expect(rest, 2);
	assert_int_equal(sensor_queue_drop_upto(&q, 10), VOUCH_OK);
	expect(NULL, 0);
	assert_int_equal(file_size(dir), 0);
	/* Still monotonic after everything went. */
	assert_int_equal(sensor_queue_append(&q, 5, (const uint8_t *)"x", 1), VOUCH_ERR_INVALID);
	append(6);
	sensor_queue_close(&q);
	assert_int_equal(sensor_queue_open(&q, dir), VOUCH_OK);
	expect(later, 1);
	sensor_queue_close(&q);
	site_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_reopen),
	    cmocka_unit_test(test_torn_tail),
	    cmocka_unit_test(test_corruption),
	    cmocka_unit_test(test_drop_upto),
	};

	vouch_log_init("test_sensor_queue", VOUCH_LOG_ERROR + 1, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
