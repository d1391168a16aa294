/*
 * Simulated readings (sensor/readings.c): defaults per type, overrides from SDIR/readings, bad
 * lines ignored while the good ones apply, re-read when the file changes (size, modification
 * time or inode) and only then, back to the defaults when the file goes.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "site.h"
#include "util.h"
#include "vouch/log.h"

static struct sensor_readings rd;
static char dir[64];

static int setup(void **state)
{
	(void)state;
	site_tmpdir(dir, sizeof(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	site_rmdir(dir);
	return 0;
}

static void put(const char *text, const char *name)
{
	char path[SENSOR_PATH_MAX];
	FILE *f;

	assert_int_equal(sensor_path(path, sizeof(path), dir, name), VOUCH_OK);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void set_mtime(long sec)
{
	char path[SENSOR_PATH_MAX];
	struct timespec ts[2] = {{sec, 0}, {sec, 0}};

	assert_int_equal(sensor_path(path, sizeof(path), dir, SENSOR_READINGS_FILE), VOUCH_OK);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_defaults(void **state)
{
	(void)state;
	sensor_readings_init(&rd, dir, "machine");
	assert_true(sensor_reading(&rd, "temperature") == 35.0);
	assert_true(sensor_reading(&rd, "running") == 0.0);
	assert_true(sensor_reading(&rd, "speed") == 0.0);
	assert_true(isnan(sensor_reading(&rd, "humidity")));
	sensor_readings_set_type(&rd, "sensor"); /* no set of its own: the generic one */
	assert_true(sensor_reading(&rd, "temperature") == 21.5);
	assert_true(sensor_reading(&rd, "humidity") == 45.0);
	assert_true(sensor_reading(&rd, "pressure") == 1013.25);
	assert_true(sensor_reading(&rd, "running") == 0.0);
	assert_true(isnan(sensor_reading(&rd, "speed")));
	/* The policy evaluator's view holds the same. */
	assert_int_equal(rd.n, 4);
	assert_string_equal(rd.r[0].name, "temperature");
	assert_true(rd.r[0].value == 21.5);
}

static void test_file(void **state)
{
	(void)state;
	put("# the press, hot\n"
	    "temperature = 75\n"
	    "\n"
	    "  vibration=3.5\r\n"
	    "running=1\n"
	    "bad line\n"
	    "x=\n"
	    "=5\n"
	    "Temp=3\n"
	    "t=nan\n"
	    "t=inf\n"
	    "t=1e999\n"
	    "t=5abc\n"
	    "a_name_of_thirty_two_characters_=1\n"
	    "speed=-2.5e1",
	    SENSOR_READINGS_FILE);
	sensor_readings_init(&rd, dir, "machine");
	assert_true(sensor_reading(&rd, "temperature") == 75.0);
	assert_true(sensor_reading(&rd, "vibration") == 3.5);
	assert_true(sensor_reading(&rd, "running") == 1.0);
	assert_true(sensor_reading(&rd, "speed") == -25.0);
	assert_true(sensor_reading(&rd, "pressure") == 1013.25); /* a default the file keeps */
	assert_true(isnan(sensor_reading(&rd, "t")));
	assert_true(isnan(sensor_reading(&rd, "x")));
	assert_true(isnan(sensor_reading(&rd, "Temp")));
	assert_int_equal(rd.n, 5);
}

static void test_changes(void **state)
{
	char from[SENSOR_PATH_MAX], to[SENSOR_PATH_MAX];

	(void)state;
	put("temperature=70\n", SENSOR_READINGS_FILE);
	set_mtime(1000);
	sensor_readings_init(&rd, dir, "machine");
	assert_true(sensor_reading(&rd, "temperature") == 70.0);

	/* Same size, same time: not looked at again (a cheap stat is all a decision costs). */
	put("temperature=71\n", SENSOR_READINGS_FILE);
	set_mtime(1000);
	sensor_readings_refresh(&rd);
	assert_true(sensor_reading(&rd, "temperature") == 70.0);
	/* Another modification time. */
	set_mtime(1001);
	sensor_readings_refresh(&rd);
	assert_true(sensor_reading(&rd, "temperature") == 71.0);
	/* Another size. */
	put("temperature=7\n", SENSOR_READINGS_FILE);
	set_mtime(1001);
	sensor_readings_refresh(&rd);
	assert_true(sensor_reading(&rd, "temperature") == 7.0);
	/* Another file put in its place (same size and time). */
	put("temperature=8\n", "readings.new");
	assert_int_equal(sensor_path(from, sizeof(from), dir, "readings.new"), VOUCH_OK);
	assert_int_equal(sensor_path(to, sizeof(to), dir, SENSOR_READINGS_FILE), VOUCH_OK);
	assert_int_equal(rename(from, to), 0);
	set_mtime(1001);
	sensor_readings_refresh(&rd);
	assert_true(sensor_reading(&rd, "temperature") == 8.0);
	/* Gone: the defaults again. */
	assert_int_equal(unlink(to), 0);
	sensor_readings_refresh(&rd);
	assert_true(sensor_reading(&rd, "temperature") == 35.0);
}

static void test_limits(void **state)
{
	char text[SENSOR_READINGS_FILE_MAX + 64];
	size_t n = 0;

	(void)state;
	/* More names than a sensor keeps: the first ones are kept, the rest logged. */
	for (int i = 0; i < 2 * SENSOR_READINGS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "r%d=%d\n", i, i);
	put(text, SENSOR_READINGS_FILE);
	sensor_readings_init(&rd, dir, "sensor");
	assert_int_equal(rd.n, SENSOR_READINGS_MAX);
	assert_true(sensor_reading(&rd, "r0") == 0.0);
	assert_true(isnan(sensor_reading(&rd, "r20")));
	/* A file over the limit is ignored whole; a binary one too. */
	memset(text, '#', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	memcpy(text, "temperature=99\n", 15);
	put(text, SENSOR_READINGS_FILE);
	sensor_readings_refresh(&rd);
	assert_true(sensor_reading(&rd, "temperature") == 21.5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_changes),
	    cmocka_unit_test(test_limits),
	};

	vouch_log_init("test_sensor_readings", VOUCH_LOG_ERROR + 1, NULL);
	return cmocka_run_group_tests(tests, setup, teardown);
}
