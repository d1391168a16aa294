/* The JSON-lines logger: every line parses as JSON, whatever the values, and a long value cannot
 * push the fields after it off the line. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testutil.h"
#include "vouch/log.h"

/* Log through fn into memory; returns the line parsed (one line exactly). */
static json_t *logged(void (*fn)(void *), void *arg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *sink = open_memstream(&text, &len);
	json_error_t err;
	json_t *j;

	assert_non_null(sink);
	vouch_log_init("test", VOUCH_LOG_DEBUG, sink);
	fn(arg);
	vouch_log_init("test", VOUCH_LOG_DEBUG, NULL);
	assert_int_equal(fclose(sink), 0);
	assert_true(len > 0 && len <= 4096);
	assert_int_equal(text[len - 1], '\n');
	assert_null(memchr(text, '\n', len - 1));
	j = json_loadb(text, len, 0, &err);
	if (j == NULL)
		fail_msg("not JSON (%s): %.*s", err.text, (int)len, text);
	free(text);
	return j;
}

static void log_long_path(void *arg)
{
	vouch_log(VOUCH_LOG_INFO, "http.request", "path", (const char *)arg, "status", "200", NULL);
}

static void test_long_value_keeps_later_fields(void **state)
{
	char path[6000];
	json_t *j;
	const char *p;

	(void)state;
	/* Quotes and control characters escape to 2 and 6 octets: the worst case for the cap. */
	for (size_t i = 0; i < sizeof(path) - 1; i++)
		path[i] = "/\"\001a"[i % 4];
	path[sizeof(path) - 1] = '\0';
	j = logged(log_long_path, path);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "http.request");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "200");
	p = json_string_value(json_object_get(j, "path"));
	assert_non_null(p);
	assert_true(strlen(p) < 1024);
	assert_string_equal(p + strlen(p) - 3, "...");
	assert_memory_equal(p, path, strlen(p) - 3);
	assert_null(json_object_get(j, "truncated"));
	json_decref(j);
}

static void log_many_long(void *arg)
{
	const char *v = arg;

	vouch_log(VOUCH_LOG_WARN, "many", "a", v, "b", v, "c", v, "d", v, "e", v, "f", v, "g",
	          "last", NULL);
}

static void test_too_many_fields_marked_truncated(void **state)
{
	char v[2000];
	const char *a;
	json_t *j;

	(void)state;
	memset(v, 'x', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	j = logged(log_many_long, v);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
	/* Each value is cut to the cap ("..." at its end), so some fields fit before the line ends.
	 */
	a = json_string_value(json_object_get(j, "a"));
	assert_non_null(a);
	assert_true(strlen(a) > 1000 && strlen(a) < 1024);
	assert_string_equal(a + strlen(a) - 3, "...");
	assert_string_equal(json_string_value(json_object_get(j, "truncated")), "1");
	assert_null(json_object_get(j, "g"));
	json_decref(j);
}

static void log_short(void *arg)
{
	(void)arg;
	vouch_log(VOUCH_LOG_ERROR, "ev\"nt", "k\n", "v\\", "empty", NULL, NULL);
}

static void test_short_fields_whole(void **state)
{
	json_t *j;

	(void)state;
	j = logged(log_short, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "prog")), "test");
	assert_string_equal(json_string_value(json_object_get(j, "event")), "ev\"nt");
	assert_string_equal(json_string_value(json_object_get(j, "k\n")), "v\\");
	assert_string_equal(json_string_value(json_object_get(j, "empty")), "");
	assert_null(json_object_get(j, "truncated"));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_long_value_keeps_later_fields),
	    cmocka_unit_test(test_too_many_fields_marked_truncated),
	    cmocka_unit_test(test_short_fields_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
