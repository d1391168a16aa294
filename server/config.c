/* vouchd's config file: key = value lines, strict. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "vouch/tz.h"

/* Room for the longest line vouch_config_write makes: "pkcs11_module = ", a PATH_MAX path, the
 * newline and the NUL. Every value that can be set must load back. */
#define CONFIG_MAX_LINE (PATH_MAX + 32)

void vouch_config_defaults(struct vouch_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->site, sizeof(cfg->site), "%s", "vouch");
	snprintf(cfg->listen, sizeof(cfg->listen), "%s", "127.0.0.1:8443");
	snprintf(cfg->http_listen, sizeof(cfg->http_listen), "%s", "127.0.0.1:8080");
	snprintf(cfg->public_http_url, sizeof(cfg->public_http_url), "%s", "http://127.0.0.1:8080");
	snprintf(cfg->hostnames, sizeof(cfg->hostnames), "%s", "localhost,127.0.0.1");
	snprintf(cfg->pkcs11_module, sizeof(cfg->pkcs11_module), "%s",
	         "/usr/lib/softhsm/libsofthsm2.so");
	snprintf(cfg->token_label, sizeof(cfg->token_label), "%s", "vouch-ca");
	cfg->device_days = 365;
	cfg->service_days = 365;
	cfg->phone_days = 30;
	cfg->short_lived_hours = 24;
	cfg->enrol_token_hours = 72;
	cfg->crl_hours = 24;
	snprintf(cfg->timezone, sizeof(cfg->timezone), "%s", "UTC");
	cfg->credential_hours = 8;
	cfg->session_minutes = 15;
	cfg->revlist_max_age_hours = 24;
}

static int set_string(char *dst, size_t cap, const char *value)
{
	size_t n = strlen(value);

	if (n == 0 || n >= cap)
		return VOUCH_ERR_INVALID;
	memcpy(dst, value, n + 1);
	return VOUCH_OK;
}

/* A whole positive decimal number no larger than max (about 100 years in the unit at hand). */
static int set_int(int *dst, const char *value, long max)
{
	char *end = NULL;
	long v;

	if (value[0] < '0' || value[0] > '9')
		return VOUCH_ERR_INVALID;
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > max)
		return VOUCH_ERR_INVALID;
	*dst = (int)v;
	return VOUCH_OK;
}

static int set_hostport(char *dst, size_t cap, const char *value)
{
	char host[VOUCH_CONFIG_SHORT];
	uint16_t port;
	int rc = vouch_config_split_hostport(value, host, sizeof(host), &port);

	if (rc != VOUCH_OK)
		return rc;
	return set_string(dst, cap, value);
}

/* Values must survive a write and a load: no control characters, and no '#' where the parser
 * would take it for a comment (at the start or after whitespace). */
static bool value_ok(const char *s)
{
	for (const char *p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t'))
			return false;
	}
	return true;
}

/* An IANA zone name: checked to have a POSIX rule now, so a typo fails at start, not at the first
 * policy decision. */
static int set_timezone(char *dst, size_t cap, const char *value)
{
	char rule[VOUCH_TZ_RULE_MAX + 1];

	if (vouch_tz_rule_of_zone(NULL, value, rule, sizeof(rule)) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	return set_string(dst, cap, value);
}

int vouch_config_set(struct vouch_config *cfg, const char *key, const char *value)
{
	if (cfg == NULL || key == NULL || value == NULL || !value_ok(value))
		return VOUCH_ERR_INVALID;
	if (strcmp(key, "site") == 0)
		return set_string(cfg->site, 65, value); /* X.520 ub-organization-name */
	if (strcmp(key, "listen") == 0)
		return set_hostport(cfg->listen, sizeof(cfg->listen), value);
	if (strcmp(key, "http_listen") == 0)
		return set_hostport(cfg->http_listen, sizeof(cfg->http_listen), value);
	if (strcmp(key, "public_http_url") == 0) {
		if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
			return VOUCH_ERR_INVALID;
		return set_string(cfg->public_http_url, sizeof(cfg->public_http_url), value);
	}
	if (strcmp(key, "hostnames") == 0)
		return set_string(cfg->hostnames, sizeof(cfg->hostnames), value);
	if (strcmp(key, "pkcs11_module") == 0)
		return set_string(cfg->pkcs11_module, sizeof(cfg->pkcs11_module), value);
	if (strcmp(key, "token_label") == 0)
		return set_string(cfg->token_label, 33, value); /* CK_TOKEN_INFO label: 32 */
	if (strcmp(key, "device_days") == 0)
		return set_int(&cfg->device_days, value, 36500);
	if (strcmp(key, "service_days") == 0)
		return set_int(&cfg->service_days, value, 36500);
	if (strcmp(key, "phone_days") == 0)
		return set_int(&cfg->phone_days, value, 36500);
	if (strcmp(key, "short_lived_hours") == 0)
		return set_int(&cfg->short_lived_hours, value, 876000);
	if (strcmp(key, "enrol_token_hours") == 0)
		return set_int(&cfg->enrol_token_hours, value, 876000);
	if (strcmp(key, "crl_hours") == 0)
		return set_int(&cfg->crl_hours, value, 876000);
	if (strcmp(key, "timezone") == 0)
		return set_timezone(cfg->timezone, sizeof(cfg->timezone), value);
	if (strcmp(key, "credential_hours") == 0)
		return set_int(&cfg->credential_hours, value, 24 * 31);
	if (strcmp(key, "session_minutes") == 0)
		return set_int(&cfg->session_minutes, value, 24 * 60);
	if (strcmp(key, "revlist_max_age_hours") == 0)
		return set_int(&cfg->revlist_max_age_hours, value, 24 * 31);
	return VOUCH_ERR_INVALID;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/* Cut a comment: '#' at the start or after whitespace. */
static void strip_comment(char *s)
{
	for (char *p = s; *p != '\0'; p++) {
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

int vouch_config_load(struct vouch_config *cfg, const char *path, unsigned *bad_line)
{
	int rc = VOUCH_ERR_IO;
	char line[CONFIG_MAX_LINE];
	unsigned lineno = 0;
	FILE *f;

	if (bad_line != NULL)
		*bad_line = 0;
	if (cfg == NULL || path == NULL)
		return VOUCH_ERR_INVALID;
	f = fopen(path, "r");
	if (f == NULL)
		return VOUCH_ERR_IO;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *eq, *key, *value;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			rc = VOUCH_ERR_INVALID; /* a line longer than any key allows */
			goto out_bad_line;
		}
		strip_comment(line);
		key = trim(line);
		if (*key == '\0')
			continue;
		eq = strchr(key, '=');
		if (eq == NULL) {
			rc = VOUCH_ERR_INVALID;
			goto out_bad_line;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		rc = vouch_config_set(cfg, key, value);
		if (rc != VOUCH_OK)
			goto out_bad_line;
	}
	rc = ferror(f) ? VOUCH_ERR_IO : VOUCH_OK;
	goto out_close;

out_bad_line:
	if (bad_line != NULL)
		*bad_line = lineno;
out_close:
	fclose(f);
	return rc;
}

int vouch_config_write(const struct vouch_config *cfg, const char *path)
{
	int rc = VOUCH_ERR_IO;
	char tmp[PATH_MAX + 16];
	FILE *f;
	int fd, saved;

	if (cfg == NULL || path == NULL)
		return VOUCH_ERR_INVALID;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return VOUCH_ERR_BUFFER;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return VOUCH_ERR_IO;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		goto out_unlink;
	}
	fprintf(f,
	        "# vouchd site configuration, written by vouchd init (docs/vouchd.md).\n"
	        "site = %s\n"
	        "listen = %s\n"
	        "http_listen = %s\n"
	        "public_http_url = %s\n"
	        "hostnames = %s\n"
	        "pkcs11_module = %s\n"
	        "token_label = %s\n"
	        "device_days = %d\n"
	        "service_days = %d\n"
	        "phone_days = %d\n"
	        "short_lived_hours = %d\n"
	        "enrol_token_hours = %d\n"
	        "crl_hours = %d\n"
	        "timezone = %s\n"
	        "credential_hours = %d\n"
	        "session_minutes = %d\n"
	        "revlist_max_age_hours = %d\n",
	        cfg->site, cfg->listen, cfg->http_listen, cfg->public_http_url, cfg->hostnames,
	        cfg->pkcs11_module, cfg->token_label, cfg->device_days, cfg->service_days,
	        cfg->phone_days, cfg->short_lived_hours, cfg->enrol_token_hours, cfg->crl_hours,
	        cfg->timezone, cfg->credential_hours, cfg->session_minutes,
	        cfg->revlist_max_age_hours);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		goto out_unlink;
	}
	if (fclose(f) != 0)
		goto out_unlink;
	/* link() fails when path exists: a site is never overwritten, even by a racing init. */
	if (link(tmp, path) != 0)
		goto out_unlink;
	rc = VOUCH_OK;

out_unlink:
	saved = errno;
	unlink(tmp);
	errno = saved;
	return rc;
}

int vouch_config_split_hostport(const char *s, char *host, size_t host_cap, uint16_t *port)
{
	const char *colon, *hstart, *hend;
	char *end = NULL;
	long p;
	size_t n;

	if (s == NULL || host == NULL || port == NULL || host_cap == 0)
		return VOUCH_ERR_INVALID;
	host[0] = '\0';
	*port = 0;
	if (s[0] == '[') {
		hstart = s + 1;
		hend = strchr(hstart, ']');
		if (hend == NULL || hend[1] != ':')
			return VOUCH_ERR_INVALID;
		colon = hend + 1;
	} else {
		hstart = s;
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return VOUCH_ERR_INVALID; /* a bare IPv6 address needs brackets */
		hend = colon;
	}
	n = (size_t)(hend - hstart);
	if (n == 0 || n >= host_cap)
		return VOUCH_ERR_INVALID;
	if (colon[1] < '0' || colon[1] > '9')
		return VOUCH_ERR_INVALID;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || p < 0 || p > 65535)
		return VOUCH_ERR_INVALID;
	memcpy(host, hstart, n);
	host[n] = '\0';
	*port = (uint16_t)p;
	return VOUCH_OK;
}

int vouch_config_path(const struct vouch_config *cfg, const char *rel, char *out, size_t cap)
{
	int n;

	if (cfg == NULL || rel == NULL || out == NULL || cap == 0)
		return VOUCH_ERR_INVALID;
	n = snprintf(out, cap, "%s/%s", cfg->data_dir, rel);
	if (n < 0 || (size_t)n >= cap) {
		out[0] = '\0';
		return VOUCH_ERR_BUFFER;
	}
	return VOUCH_OK;
}
