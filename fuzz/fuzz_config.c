/*
 * vouchd's config file parser (server/config.c) on the file's bytes. Invariants:
 *   - vouch_config_load: VOUCH_OK with no bad line, or VOUCH_ERR_INVALID naming a line the
 *     input has; a refused file may have changed the keys before the bad line, never more;
 *   - what loads survives vouch_config_write and a load of that into fresh defaults, key for
 *     key (the promise config.c's value_ok() makes, and what `vouchd init` then vouchd rely on);
 *   - vouch_config_split_hostport on the first line: a host of 1..cap-1 octets, and HOST:PORT
 *     (bracketed where needed) splits again to the same host and port.
 *
 * The input is read through a memfd (no file per run); the round trip writes in the temporary
 * directory, which is removed at exit.
 *
 * Seeds (fuzz/corpus/config/): the file `vouchd init` writes, comments and blank lines, CRLF,
 * no final newline, bracketed IPv6 listeners, each key with a bad value, an unknown key, a
 * line without '=', a '#' inside a value, over-long lines and values.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_site.h"

static int memfd = -1;
static char memfd_path[64];
static char out_path[PATH_MAX];

static void at_exit(void)
{
	if (memfd >= 0)
		close(memfd);
	memfd = -1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memfd = memfd_create("vouch-fuzz-config", MFD_CLOEXEC);
	FUZZ_CHECK(memfd >= 0);
	snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
	fuzz_path(VOUCH_CONFIG_FILE, out_path, sizeof(out_path));
	fuzz_at_exit(at_exit);
	return 0;
}

#define SAME_STR(f) FUZZ_CHECK(strcmp(a->f, b->f) == 0)
#define SAME_INT(f) FUZZ_CHECK(a->f == b->f)

static void check_same(const struct vouch_config *a, const struct vouch_config *b)
{
	SAME_STR(data_dir);
	SAME_STR(site);
	SAME_STR(listen);
	SAME_STR(http_listen);
	SAME_STR(public_http_url);
	SAME_STR(hostnames);
	SAME_STR(pkcs11_module);
	SAME_STR(token_label);
	SAME_INT(device_days);
	SAME_INT(service_days);
	SAME_INT(phone_days);
	SAME_INT(short_lived_hours);
	SAME_INT(enrol_token_hours);
	SAME_INT(crl_hours);
}

static void check_load(const uint8_t *data, size_t size)
{
	struct vouch_config cfg, again;
	unsigned bad = 99, bad_again = 99, lines = 1;
	int rc;

	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	FUZZ_CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';

	vouch_config_defaults(&cfg);
	rc = vouch_config_load(&cfg, memfd_path, &bad);
	FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_INVALID);
	if (rc != VOUCH_OK) {
		FUZZ_CHECK(bad >= 1 && bad <= lines);
		return;
	}
	FUZZ_CHECK(bad == 0);

	FUZZ_CHECK(vouch_config_write(&cfg, out_path) == VOUCH_OK);
	vouch_config_defaults(&again);
	rc = vouch_config_load(&again, out_path, &bad_again);
	FUZZ_CHECK(unlink(out_path) == 0);
	FUZZ_CHECK(rc == VOUCH_OK && bad_again == 0);
	check_same(&cfg, &again);
}

static void check_hostport(const uint8_t *data, size_t size)
{
	char s[VOUCH_CONFIG_LONG], host[VOUCH_CONFIG_SHORT], again[VOUCH_CONFIG_SHORT];
	char joined[VOUCH_CONFIG_SHORT + 16];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl != NULL ? (size_t)(nl - data) : size;
	uint16_t port = 1, port_again = 2;

	if (n >= sizeof(s) || memchr(data, '\0', n) != NULL)
		return;
	memcpy(s, data, n);
	s[n] = '\0';
	if (vouch_config_split_hostport(s, host, sizeof(host), &port) != VOUCH_OK) {
		FUZZ_CHECK(host[0] == '\0' && port == 0);
		return;
	}
	FUZZ_CHECK(strlen(host) >= 1 && strlen(host) < sizeof(host));
	/* Brackets when the host has a colon, or starts with '[' as in "[[x]:1". */
	snprintf(joined, sizeof(joined),
	         strchr(host, ':') != NULL || host[0] == '[' ? "[%s]:%u" : "%s:%u", host,
	         (unsigned)port);
	FUZZ_CHECK(vouch_config_split_hostport(joined, again, sizeof(again), &port_again) ==
	           VOUCH_OK);
	FUZZ_CHECK(strcmp(host, again) == 0 && port == port_again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_load(data, size);
	check_hostport(data, size);
	return 0;
}
