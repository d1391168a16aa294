/*
 * vouchd — the site configuration (DIR/vouchd.conf, docs/vouchd.md "Config keys").
 *
 * The file is "key = value" lines; '#' starts a comment (at the start of a line, or after
 * whitespace); blank lines are ignored. Unknown keys and malformed values are refused with the
 * line number, so a typo never silently falls back to a default. Flags given to vouchd are
 * applied after the file with vouch_config_set(), so they override it.
 */
#ifndef VOUCHD_CONFIG_H
#define VOUCHD_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include "vouch/common.h"

#define VOUCH_CONFIG_FILE  "vouchd.conf"
#define VOUCH_CONFIG_SHORT 128 /* site, listen addresses, token label */
#define VOUCH_CONFIG_LONG  1024

struct vouch_config {
	char data_dir[PATH_MAX]; /* not a key: --data DIR */
	char site[VOUCH_CONFIG_SHORT];
	char listen[VOUCH_CONFIG_SHORT];
	char http_listen[VOUCH_CONFIG_SHORT];
	char public_http_url[VOUCH_CONFIG_LONG];
	char hostnames[VOUCH_CONFIG_LONG]; /* comma-separated */
	char pkcs11_module[PATH_MAX];
	char token_label[VOUCH_CONFIG_SHORT];
	int device_days;
	int service_days;
	int phone_days;
	int short_lived_hours;
	int enrol_token_hours;
	int crl_hours;
	char timezone[VOUCH_CONFIG_SHORT]; /* IANA zone of the site: policy time windows */
	int credential_hours;              /* lifetime of a credential */
	int session_minutes;               /* lifetime of a login session */
	int revlist_max_age_hours;         /* max_age of revocation lists */
};

/* The defaults of docs/vouchd.md; data_dir empty. */
void vouch_config_defaults(struct vouch_config *cfg);

/* Set one key from its text form. VOUCH_ERR_INVALID for an unknown key or a bad value
 * (empty, too long, a number out of range, an address without a port). */
int vouch_config_set(struct vouch_config *cfg, const char *key, const char *value);

/* Read a config file over cfg. On a bad line, *bad_line (if not NULL) is its number (1-based)
 * and the result is VOUCH_ERR_INVALID; VOUCH_ERR_IO when the file cannot be read. */
int vouch_config_load(struct vouch_config *cfg, const char *path, unsigned *bad_line);

/* Write every key to path (mode 0600). Never overwrites: an existing file is VOUCH_ERR_IO with
 * errno EEXIST. The file appears whole or not at all (temp file, fsync, link). */
int vouch_config_write(const struct vouch_config *cfg, const char *path);

/* "HOST:PORT" or "[V6]:PORT" -> host (without brackets) and port (0..65535). */
int vouch_config_split_hostport(const char *s, char *host, size_t host_cap, uint16_t *port);

/* Join data_dir and a relative path into out. VOUCH_ERR_BUFFER when it does not fit. */
int vouch_config_path(const struct vouch_config *cfg, const char *rel, char *out, size_t cap);

#endif
