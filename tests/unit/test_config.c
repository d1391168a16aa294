/* vouchd's config file: defaults, strict parsing, flags over the file, never overwriting. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

struct tmp {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/vouch-test-config-XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/vouchd.conf", t->dir);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;

	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_defaults(void **state)
{
	struct vouch_config cfg;

	(void)state;
	vouch_config_defaults(&cfg);
	assert_string_equal(cfg.listen, "127.0.0.1:8443");
	assert_string_equal(cfg.http_listen, "127.0.0.1:8080");
	assert_string_equal(cfg.public_http_url, "http://127.0.0.1:8080");
	assert_string_equal(cfg.hostnames, "localhost,127.0.0.1");
	assert_string_equal(cfg.pkcs11_module, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(cfg.token_label, "vouch-ca");
	assert_int_equal(cfg.device_days, 365);
	assert_int_equal(cfg.service_days, 365);
	assert_int_equal(cfg.phone_days, 30);
	assert_int_equal(cfg.short_lived_hours, 24);
	assert_int_equal(cfg.enrol_token_hours, 72);
	assert_int_equal(cfg.crl_hours, 24);
	assert_string_equal(cfg.data_dir, "");
}

static void test_load_with_comments(void **state)
{
	struct tmp *t = *state;
	struct vouch_config cfg;
	unsigned bad = 99;

	write_text(t->path, "# a site\n"
	                    "\n"
	                    "site = acme#1\n"
	                    "  listen=0.0.0.0:9443   # HTTPS\n"
	                    "http_listen = [::1]:0\n"
	                    "crl_hours = 6\r\n"
	                    "hostnames = pki.example,10.0.0.1\n");
	vouch_config_defaults(&cfg);
	assert_int_equal(vouch_config_load(&cfg, t->path, &bad), VOUCH_OK);
	assert_int_equal(bad, 0);
	/* '#' inside a value is kept; after whitespace it starts a comment. */
	assert_string_equal(cfg.site, "acme#1");
	assert_string_equal(cfg.listen, "0.0.0.0:9443");
	assert_string_equal(cfg.http_listen, "[::1]:0");
	assert_int_equal(cfg.crl_hours, 6);
	assert_string_equal(cfg.hostnames, "pki.example,10.0.0.1");
	/* Untouched keys keep their defaults. */
	assert_int_equal(cfg.device_days, 365);
}

static void expect_bad_line(struct tmp *t, const char *text, unsigned line)
{
	struct vouch_config cfg;
	unsigned bad = 0;

	write_text(t->path, text);
	vouch_config_defaults(&cfg);
	assert_int_equal(vouch_config_load(&cfg, t->path, &bad), VOUCH_ERR_INVALID);
	assert_int_equal(bad, line);
}

static void test_load_refuses_bad_lines(void **state)
{
	struct tmp *t = *state;

	expect_bad_line(t, "site = a\nlsiten = 1.2.3.4:5\n", 2); /* unknown key (typo) */
	expect_bad_line(t, "site a\n", 1);                       /* no '=' */
	expect_bad_line(t, "device_days = 0\n", 1);              /* out of range */
	expect_bad_line(t, "device_days = 36501\n", 1);
	expect_bad_line(t, "device_days = 12x\n", 1); /* trailing junk */
	expect_bad_line(t, "device_days = -5\n", 1);
	expect_bad_line(t, "device_days =\n", 1);      /* empty */
	expect_bad_line(t, "listen = 127.0.0.1\n", 1); /* no port */
	expect_bad_line(t, "listen = 127.0.0.1:65536\n", 1);
	expect_bad_line(t, "listen = ::1:80\n", 1); /* v6 without brackets */
	expect_bad_line(t, "public_http_url = ftp://x\n", 1);
	expect_bad_line(t, "token_label = 0123456789012345678901234567890123\n", 1); /* > 32 */
}

static void test_missing_file(void **state)
{
	struct vouch_config cfg;
	unsigned bad = 7;

	(void)state;
	vouch_config_defaults(&cfg);
	assert_int_equal(vouch_config_load(&cfg, "/nonexistent/vouchd.conf", &bad), VOUCH_ERR_IO);
	assert_int_equal(bad, 0);
}

static void test_flags_override_file(void **state)
{
	struct tmp *t = *state;
	struct vouch_config cfg;

	write_text(t->path, "listen = 127.0.0.1:1\n");
	vouch_config_defaults(&cfg);
	assert_int_equal(vouch_config_load(&cfg, t->path, NULL), VOUCH_OK);
	assert_int_equal(vouch_config_set(&cfg, "listen", "127.0.0.1:0"), VOUCH_OK);
	assert_string_equal(cfg.listen, "127.0.0.1:0");
	assert_int_equal(vouch_config_set(&cfg, "listen", "nonsense"), VOUCH_ERR_INVALID);
	assert_string_equal(cfg.listen, "127.0.0.1:0"); /* a refused value changes nothing */
	assert_int_equal(vouch_config_set(&cfg, "site", "a\nb"), VOUCH_ERR_INVALID);
}

static void test_write_round_trip_and_never_overwrite(void **state)
{
	struct tmp *t = *state;
	struct vouch_config a, b;
	struct stat st;

	unlink(t->path);
	vouch_config_defaults(&a);
	assert_int_equal(vouch_config_set(&a, "site", "plant-7"), VOUCH_OK);
	assert_int_equal(vouch_config_set(&a, "crl_hours", "12"), VOUCH_OK);
	assert_int_equal(vouch_config_write(&a, t->path), VOUCH_OK);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	vouch_config_defaults(&b);
	assert_int_equal(vouch_config_load(&b, t->path, NULL), VOUCH_OK);
	assert_memory_equal(&a, &b, sizeof(a));

	/* A second write must fail and leave the first file as it was. */
	assert_int_equal(vouch_config_set(&a, "site", "other"), VOUCH_OK);
	errno = 0;
	assert_int_equal(vouch_config_write(&a, t->path), VOUCH_ERR_IO);
	assert_int_equal(errno, EEXIST);
	vouch_config_defaults(&b);
	assert_int_equal(vouch_config_load(&b, t->path, NULL), VOUCH_OK);
	assert_string_equal(b.site, "plant-7");
}

static void test_split_hostport(void **state)
{
	char host[16];
	uint16_t port = 1;

	(void)state;
	assert_int_equal(vouch_config_split_hostport("127.0.0.1:8443", host, sizeof(host), &port),
	                 VOUCH_OK);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8443);
	assert_int_equal(vouch_config_split_hostport("[::1]:0", host, sizeof(host), &port),
	                 VOUCH_OK);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(vouch_config_split_hostport(":80", host, sizeof(host), &port),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_config_split_hostport("h:", host, sizeof(host), &port),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_config_split_hostport("[::1]80", host, sizeof(host), &port),
	                 VOUCH_ERR_INVALID);
	assert_int_equal(vouch_config_split_hostport("h:+80", host, sizeof(host), &port),
	                 VOUCH_ERR_INVALID);
	/* Host longer than the buffer: refused, not truncated. */
	assert_int_equal(
	    vouch_config_split_hostport("a-very-long-host-name:1", host, sizeof(host), &port),
	    VOUCH_ERR_INVALID);
	assert_string_equal(host, "");
	assert_int_equal(port, 0);
}

static void test_path(void **state)
{
	struct vouch_config cfg;
	char out[16];

	(void)state;
	vouch_config_defaults(&cfg);
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", "/d");
	assert_int_equal(vouch_config_path(&cfg, "ca/root.pem", out, sizeof(out)), VOUCH_OK);
	assert_string_equal(out, "/d/ca/root.pem");
	assert_int_equal(vouch_config_path(&cfg, "ca/issuing.pem", out, sizeof(out)),
	                 VOUCH_ERR_BUFFER);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test_setup_teardown(test_load_with_comments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_refuses_bad_lines, setup, teardown),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test_setup_teardown(test_flags_override_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_round_trip_and_never_overwrite, setup,
	                                    teardown),
	    cmocka_unit_test(test_split_hostport),
	    cmocka_unit_test(test_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
