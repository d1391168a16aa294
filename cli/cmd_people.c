/*
 * The people commands of the admin CLI (issue 4; docs/people.md, docs/cli-people.md): users with
 * their password and second factor, phones, credentials, policy explain and the credential
 * issuer's public key. Each is one or two calls of vouchd's admin API, shown as a table or, with
 * --json, as the server's JSON.
 *
 * Passwords are read only from a file or standard input (every process on the host can read
 * argv), and an otpauth:// URI, which is the second factor itself, is printed alone on stdout so
 * that it can be piped straight into whatever provisions the authenticator.
 */
#define _GNU_SOURCE /* getopt_long, strndup */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "vouch/cose.h"

/* Options every site command takes; the letters are the getopt codes. */
/* clang-format off */
#define SITE_OPTIONS                                                                               \
	{"data", required_argument, NULL, 'D'},                                                    \
	{"server", required_argument, NULL, 'S'},                                                  \
	{"json", no_argument, NULL, 'j'},                                                          \
	{"help", no_argument, NULL, 'h'}
/* clang-format on */

#define SITE_HELP                                                                                  \
	"  --data DIR      the site's data directory (as given to vouchd init)\n"                  \
	"  --server URL    vouchd's https:// URL (default: from DIR/vouchd.addr)\n"                \
	"  --json          print the server's JSON instead of a table\n"

/* vouchd's longest password (VOUCH_AUTH_PASSWORD_MAX); its line with CR LF fits in CAP - 1. */
#define PASSWORD_MAX   1024
#define PASSWORD_CAP   (PASSWORD_MAX + 3)
#define PATH_CAP       1024
#define TABLE_COLS_MAX 8
#define KEY_B64_MAX    4096 /* a P-256 COSE_Key is about 100 bytes */

struct cmd_opts {
	struct cli_site site;
	bool json;
};

/* The shared options; false when opt is not one of them. */
static bool site_option(int opt, struct cmd_opts *o)
{
	switch (opt) {
	case 'D':
		o->site.data_dir = optarg;
		return true;
	case 'S':
		o->site.server = optarg;
		return true;
	case 'j':
		o->json = true;
		return true;
	default:
		return false;
	}
}

/* obj[key] = a command-line string, which JSON wants in UTF-8. */
static int set_arg(json_t *obj, const char *key, const char *value)
{
	json_t *s = json_string(value);

	if (s == NULL || json_object_set_new(obj, key, s) != 0) {
		fprintf(stderr, "vouch: the %s must be UTF-8 text\n", key);
		return CLI_ERROR;
	}
	return CLI_OK;
}

static void print_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	putchar('\n');
}

/* Control characters of server text become '?': a name must not drive the terminal. */
static void sanitize(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = '?';
}

/*
 * A field as text for the terminal: strings as they are, arrays of strings joined by ',', null
 * or missing as "-", anything else as compact JSON; cut to fit buf, control characters as '?'.
 */
static const char *field_text(const json_t *v, char *buf, size_t cap)
{
	const json_t *e;
	size_t n = 0, k, i;

	if (v == NULL || json_is_null(v))
		return "-";
	if (json_is_string(v)) {
		n = json_string_length(v);
		if (n > cap - 1)
			n = cap - 1;
		memcpy(buf, json_string_value(v), n);
	} else if (json_is_array(v) && json_array_size(v) > 0 &&
	           json_is_string(json_array_get(v, 0))) {
		json_array_foreach(v, i, e)
		{
			const char *s = json_string_value(e);

			if (s == NULL)
				s = "?";
			k = strlen(s);
			if (n + (i > 0) + k > cap - 1)
				break;
			if (i > 0)
				buf[n++] = ',';
			memcpy(buf + n, s, k);
			n += k;
		}
	} else {
		n = json_dumpb(v, buf, cap - 1, JSON_COMPACT | JSON_ENCODE_ANY);
		if (n == 0 || n >= cap)
			return "?";
	}
	buf[n] = '\0';
	sanitize(buf, n);
	return buf;
}

/* obj's member at a path of at most two keys ("external.valid_until"). */
static const json_t *member(const json_t *obj, const char *path)
{
	const char *dot = strchr(path, '.');
	char first[64];

	if (dot == NULL)
		return json_object_get(obj, path);
	if ((size_t)(dot - path) >= sizeof(first))
		return NULL;
	memcpy(first, path, (size_t)(dot - path));
	first[dot - path] = '\0';
	return json_object_get(json_object_get(obj, first), dot + 1);
}

static const char *cell(const json_t *row, size_t c)
{
	const char *s = json_string_value(json_array_get(row, c));

	return s != NULL ? s : "";
}

/* Rows (arrays of strings) under headings, each column as wide as its widest cell. */
static void table_print(const char *const *heads, size_t ncols, const json_t *rows)
{
	size_t w[TABLE_COLS_MAX], i, c, n;
	const json_t *row;

	for (c = 0; c < ncols; c++)
		w[c] = strlen(heads[c]);
	json_array_foreach(rows, i, row)
	{
		for (c = 0; c < ncols; c++) {
			n = strlen(cell(row, c));
			if (n > w[c])
				w[c] = n;
		}
	}
	/* The last column is not padded: no trailing blanks. */
	w[ncols - 1] = 0;
	for (c = 0; c < ncols; c++)
		printf("%-*s%s", (int)w[c], heads[c], c + 1 < ncols ? "  " : "\n");
	json_array_foreach(rows, i, row)
	{
		for (c = 0; c < ncols; c++)
			printf("%-*s%s", (int)w[c], cell(row, c), c + 1 < ncols ? "  " : "\n");
	}
}

/* "/prefix/<escaped segment>/suffix" into buf. */
static int path_with(struct cli_client *c, char *buf, size_t cap, const char *prefix,
                     const char *segment, const char *suffix)
{
	char *e = cli_client_escape(c, segment);
	int n;

	if (e == NULL)
		return CLI_ERROR;
	n = snprintf(buf, cap, "%s%s%s", prefix, e, suffix);
	free(e);
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "vouch: request too long\n");
		return CLI_ERROR;
	}
	return CLI_OK;
}

/*
 * One call of the API on prefix + segment + suffix, the segment escaped (NULL: none), and
 * "?key=value" when value is not NULL.
 */
static int call_at(const struct cmd_opts *o, const char *method, const char *prefix,
                   const char *segment, const char *suffix, const char *query_key,
                   const char *query_value, json_t *body, json_t **reply)
{
	struct cli_client *c;
	char path[PATH_CAP];
	char *seg = NULL, *val = NULL;
	int n, rc;

	*reply = NULL;
	rc = cli_client_open(&o->site, &c);
	if (rc != CLI_OK)
		return rc;
	rc = CLI_ERROR;
	seg = cli_client_escape(c, segment != NULL ? segment : "");
	val = cli_client_escape(c, query_value != NULL ? query_value : "");
	if (seg == NULL || val == NULL)
		goto out_free;
	n = snprintf(path, sizeof(path), "%s%s%s%s%s%s", prefix, seg, suffix != NULL ? suffix : "",
	             query_value != NULL ? "?" : "", query_value != NULL ? query_key : "",
	             query_value != NULL ? "=" : "");
	if (n >= 0 && (size_t)n < sizeof(path))
		n += snprintf(path + n, sizeof(path) - (size_t)n, "%s", val);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "vouch: request too long\n");
		goto out_free;
	}
	rc = cli_client_call(c, method, path, body, reply);
out_free:
	free(val);
	free(seg);
	cli_client_free(c);
	return rc;
}

/*
 * An object of the reply as one flat object (new reference): members of a store-style wrapping
 * {"name", "version", "object": {...}} are merged in, the wrapper's members winning.
 */
static json_t *flat(const json_t *e)
{
	json_t *f = json_object(), *inner = json_object_get(e, "object");

	if (f == NULL)
		return NULL;
	if (json_is_object(e))
		json_object_update(f, (json_t *)e);
	else if (json_is_string(e))
		json_object_set(f, "name", (json_t *)e);
	if (json_is_object(inner)) {
		json_object_del(f, "object");
		json_object_update_missing(f, inner);
	}
	return f;
}

/* The array of a list reply: {"items": [...]} as vouchd sends it, the reply itself, or its
 * member named for the kind. */
static const json_t *list_of(const json_t *reply, const char *key)
{
	if (json_is_array(reply))
		return reply;
	if (json_is_array(json_object_get(reply, "items")))
		return json_object_get(reply, "items");
	return json_object_get(reply, key);
}

/* A column of a list: its heading and the members that may hold it, the first present wins. */
struct column {
	const char *head;
	const char *keys[3];
};

/*
 * A list reply as a table: the columns, then (details true) every other member as key=value in
 * a last DETAILS column.
 */
static int list_print(const json_t *reply, const char *key, const struct column *cols, size_t ncols,
                      bool details)
{
	const char *heads[TABLE_COLS_MAX];
	const json_t *list = list_of(reply, key), *e, *v;
	json_t *rows, *row, *f, *used;
	char buf[256], detail[1024];
	const char *k;
	size_t i, c, j, len;
	int n;

	if (!json_is_array(list)) {
		fprintf(stderr, "vouch: the server's reply holds no %s list\n", key);
		return CLI_ERROR;
	}
	for (c = 0; c < ncols; c++)
		heads[c] = cols[c].head;
	if (details)
		heads[ncols] = "DETAILS";
	rows = json_array();
	json_array_foreach(list, i, e)
	{
		f = flat(e);
		row = json_array();
		used = json_object();
		for (c = 0; c < ncols; c++) {
			v = NULL;
			for (j = 0; v == NULL && j < 3 && cols[c].keys[j] != NULL; j++) {
				v = member(f, cols[c].keys[j]);
				if (v != NULL)
					json_object_set_new(used, cols[c].keys[j], json_true());
			}
			json_array_append_new(row,
			                      json_string_nocheck(field_text(v, buf, sizeof(buf))));
		}
		if (details) {
			len = 0;
			detail[0] = '\0';
			json_object_foreach(f, k, v)
			{
				if (json_object_get(used, k) != NULL || len >= sizeof(detail))
					continue;
				n = snprintf(detail + len, sizeof(detail) - len, "%s%s=%s",
				             len ? " " : "", k, field_text(v, buf, sizeof(buf)));
				if (n > 0)
					len += (size_t)n;
			}
			sanitize(detail, strlen(detail));
			json_array_append_new(row, json_string_nocheck(detail));
		}
		json_array_append_new(rows, row);
		json_decref(used);
		json_decref(f);
	}
	table_print(heads, ncols + (details ? 1 : 0), rows);
	json_decref(rows);
	return CLI_OK;
}

/* Any JSON object as "key value" lines, nested objects as dotted keys. */
static void print_fields(const char *prefix, const json_t *obj)
{
	char key_buf[256], buf[1024];
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		snprintf(key_buf, sizeof(key_buf), "%s%s", prefix, key);
		sanitize(key_buf, strlen(key_buf));
		if (json_is_object(v)) {
			strncat(key_buf, ".", sizeof(key_buf) - strlen(key_buf) - 1);
			print_fields(key_buf, v);
		} else {
			printf("%-22s %s\n", key_buf, field_text(v, buf, sizeof(buf)));
		}
	}
}

/* "done" lines: what was done, then the reply's scalar members (counts, times) as key=value. */
static void print_done(const char *what, const char *name, const json_t *reply)
{
	char buf[256], key_buf[64];
	const char *key;
	json_t *v;

	printf("%s %s", what, name);
	json_object_foreach((json_t *)reply, key, v)
	{
		if (json_is_object(v) || json_is_array(v) || strcmp(key, "name") == 0)
			continue;
		snprintf(key_buf, sizeof(key_buf), "%s", key);
		sanitize(key_buf, strlen(key_buf));
		printf(" %s=%s", key_buf, field_text(v, buf, sizeof(buf)));
	}
	putchar('\n');
}

/* Exactly one positional argument left after the options. */
static const char *one_arg(int argc, char **argv)
{
	return argc - optind == 1 ? argv[optind] : NULL;
}

/* ---- passwords ---- */

/*
 * The first line of path ("-": standard input, not a terminal) into pw, without its line end.
 * A regular file readable by group or others is refused: the password would not be a secret.
 * Read with read(2), not stdio, so that no unwiped buffer holds it.
 */
static int read_password(const char *path, char pw[PASSWORD_CAP], size_t *len)
{
	struct stat st;
	ssize_t got;
	size_t n = 0;
	char *nl = NULL;
	int fd, rc = CLI_ERROR;

	*len = 0;
	if (strcmp(path, "-") == 0) {
		if (isatty(STDIN_FILENO)) {
			fprintf(stderr, "vouch: --password-file -: standard input is a terminal; "
			                "give a file or a pipe\n");
			return CLI_ERROR;
		}
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "vouch: cannot open %s: %s\n", path, strerror(errno));
			return CLI_ERROR;
		}
	}
	if (fstat(fd, &st) != 0) {
		fprintf(stderr, "vouch: cannot stat %s: %s\n", path, strerror(errno));
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "vouch: %s is a directory\n", path);
		goto out_close;
	}
	if (S_ISREG(st.st_mode) && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
		if (fd == STDIN_FILENO)
			fprintf(stderr, "vouch: standard input is a file readable by group or "
			                "others: a password file must be private (chmod 600)\n");
		else
			fprintf(stderr,
			        "vouch: %s is readable by group or others: a password file must be "
			        "private (chmod 600 %s)\n",
			        path, path);
		goto out_close;
	}
	/* Up to the first line end; a pipe's writer may keep it open after the line. */
	while (n < PASSWORD_CAP - 1 && nl == NULL) {
		got = read(fd, pw + n, PASSWORD_CAP - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			fprintf(stderr, "vouch: cannot read %s: %s\n", path, strerror(errno));
			goto out_wipe;
		}
		if (got == 0)
			break;
		nl = memchr(pw + n, '\n', (size_t)got);
		n += (size_t)got;
	}
	if (nl == NULL && n == PASSWORD_CAP - 1) {
		fprintf(stderr, "vouch: the password in %s is longer than %d bytes\n", path,
		        PASSWORD_MAX);
		goto out_wipe;
	}
	if (nl != NULL)
		n = (size_t)(nl - pw);
	if (n > 0 && pw[n - 1] == '\r')
		n--;
	if (n > PASSWORD_MAX) {
		fprintf(stderr, "vouch: the password in %s is longer than %d bytes\n", path,
		        PASSWORD_MAX);
		goto out_wipe;
	}
	if (n == 0) {
		fprintf(stderr, "vouch: %s holds no password (its first line is empty)\n", path);
		goto out_wipe;
	}
	if (memchr(pw, '\0', n) != NULL) {
		fprintf(stderr, "vouch: the password in %s holds a NUL byte\n", path);
		goto out_wipe;
	}
	/* Whatever followed the first line is not part of the password and goes too. */
	vouch_wipe(pw + n, PASSWORD_CAP - n);
	*len = n;
	rc = CLI_OK;
	goto out_close;
out_wipe:
	vouch_wipe(pw, PASSWORD_CAP);
out_close:
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

/* body["password"] = the first line of path; the local copy is wiped either way. */
static int set_password(json_t *body, const char *path)
{
	char pw[PASSWORD_CAP];
	size_t len;
	json_t *s;
	int rc = read_password(path, pw, &len);

	if (rc != CLI_OK)
		return rc;
	/* jansson's copy is wiped when freed (cli_json_wipe_on_free). */
	s = json_stringn(pw, len);
	vouch_wipe(pw, sizeof(pw));
	if (s == NULL || json_object_set_new(body, "password", s) != 0) {
		fprintf(stderr, "vouch: the password in %s must be UTF-8 text\n", path);
		return CLI_ERROR;
	}
	return CLI_OK;
}

/* ---- NAME=VALUE arguments ---- */

/* Split "NAME=VALUE" (both non-empty); *name is a fresh copy (free()). */
static int split_pair(const char *opt, const char *arg, char **name, const char **value)
{
	const char *eq = strchr(arg, '=');

	*name = NULL;
	*value = NULL;
	if (eq == NULL || eq == arg || eq[1] == '\0') {
		fprintf(stderr, "vouch: --%s wants NAME=VALUE, not '%s'\n", opt, arg);
		return CLI_ERROR;
	}
	*name = strndup(arg, (size_t)(eq - arg));
	if (*name == NULL)
		return CLI_ERROR;
	*value = eq + 1;
	return CLI_OK;
}

/* obj[NAME] = value (a new reference, consumed), each NAME at most once. */
static int set_pair(const char *opt, json_t *obj, const char *name, json_t *value)
{
	if (value == NULL) {
		fprintf(stderr, "vouch: --%s %s: the value must be UTF-8 text\n", opt, name);
		return CLI_ERROR;
	}
	if (json_object_get(obj, name) != NULL) {
		fprintf(stderr, "vouch: --%s %s given twice\n", opt, name);
		json_decref(value);
		return CLI_ERROR;
	}
	if (json_object_set_new(obj, name, value) != 0) {
		fprintf(stderr, "vouch: --%s: the name must be UTF-8 text\n", opt);
		return CLI_ERROR;
	}
	return CLI_OK;
}

/* --training NAME=ISO-EXPIRY into trainings (the expiry is sent as given). */
static int add_training(json_t *trainings, const char *arg)
{
	const char *value;
	char *name;
	int rc = split_pair("training", arg, &name, &value);

	if (rc == CLI_OK)
		rc = set_pair("training", trainings, name, json_string(value));
	free(name);
	return rc;
}

/* --reading NAME=VALUE into readings: an integer stays one, anything else is a finite double. */
static int add_reading(json_t *readings, const char *arg)
{
	const char *value;
	char *name, *end;
	long long i;
	double d;
	json_t *num = NULL;
	int rc = split_pair("reading", arg, &name, &value);

	if (rc != CLI_OK)
		goto out_free;
	rc = CLI_ERROR;
	if ((*value < '0' || *value > '9') && *value != '-' && *value != '+' && *value != '.')
		goto out_nan;
	errno = 0;
	i = strtoll(value, &end, 10);
	if (errno == 0 && *end == '\0') {
		num = json_integer((json_int_t)i);
	} else {
		errno = 0;
		d = strtod(value, &end);
		if (errno != 0 || *end != '\0' || end == value || !isfinite(d))
			goto out_nan;
		num = json_real(d);
	}
	rc = set_pair("reading", readings, name, num);
	goto out_free;
out_nan:
	fprintf(stderr, "vouch: --reading %s: '%s' is not a number\n", name, value);
out_free:
	free(name);
	return rc;
}

/* ---- user ---- */

static void user_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vouch --data DIR user <subcommand> [options]\n"
	    "  user add NAME --role ROLE [--role ROLE ...] --password-file FILE\n"
	    "           [--display-name S] [--training T=EXPIRY ...]\n"
	    "           [--kind staff|external --company C --sponsor USER --from ISO --until ISO]\n"
	    "                          create a person and print the otpauth:// URI of their\n"
	    "                          second factor alone on stdout (shown once: load it into\n"
	    "                          the authenticator now). An external person (contractor,\n"
	    "                          auditor, cleaning firm) needs the company, a sponsoring\n"
	    "                          staff user and a hard validity window\n"
	    "  user list               every person, a table\n"
	    "  user show NAME          one person (never a secret)\n"
	    "  user update NAME [--role ROLE ...] [--training T=EXPIRY ...] [--display-name S]\n"
	    "           [--until ISO]  --role replaces the roles with those given; --training\n"
	    "                          adds a training or renews its expiry; --until moves an\n"
	    "                          external's end. Their credentials are revoked when roles,\n"
	    "                          trainings or the window change\n"
	    "  user revoke NAME [--reason R]\n"
	    "                          revoke the person, every phone and credential, end their\n"
	    "                          sessions, at once\n"
	    "  user remove NAME        revoke as above, then delete the person and their secrets\n"
	    "  user password NAME --password-file FILE\n"
	    "                          set a new password\n"
	    "  user totp-reset NAME    a new second factor: print its otpauth:// URI alone on\n"
	    "                          stdout (the old one stops working)\n"
	    "  FILE: the password is its first line; '-' reads standard input (not a terminal).\n"
	    "  A file readable by group or others is refused. Passwords are never arguments.\n"
	    "  T=EXPIRY: a training name and its expiry, ISO-8601 UTC (2027-03-31T00:00:00Z).\n"
	    "options of every subcommand:\n" SITE_HELP);
}

/* The otpauth:// URI of a reply alone on stdout: a secret, shown once. */
static int print_otpauth(const struct cmd_opts *o, const json_t *reply, const char *name,
                         const char *what)
{
	const char *uri = json_string_value(json_object_get(reply, "otpauth"));
	size_t i, n;

	if (o->json) {
		print_json(reply);
		return CLI_OK;
	}
	n = uri != NULL ? strlen(uri) : 0;
	if (n < 10 || strncmp(uri, "otpauth://", 10) != 0) {
		fprintf(stderr, "vouch: the server's reply holds no otpauth:// URI\n");
		return CLI_ERROR;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)uri[i] <= 0x20 || (unsigned char)uri[i] >= 0x7f) {
			fprintf(stderr, "vouch: the server's otpauth URI is not printable\n");
			return CLI_ERROR;
		}
	}
	printf("%s\n", uri);
	fflush(stdout);
	if (isatty(STDERR_FILENO))
		fprintf(stderr,
		        "vouch: %s %s; the otpauth URI above is their second factor and is "
		        "shown only once\n",
		        what, name);
	return CLI_OK;
}

static int user_add(struct cmd_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"role", required_argument, NULL, 'r'},
	    {"password-file", required_argument, NULL, 'p'},
	    {"display-name", required_argument, NULL, 'n'},
	    {"kind", required_argument, NULL, 'k'},
	    {"company", required_argument, NULL, 'c'},
	    {"sponsor", required_argument, NULL, 's'},
	    {"from", required_argument, NULL, 'f'},
	    {"until", required_argument, NULL, 'u'},
	    {"training", required_argument, NULL, 't'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	json_t *body = json_object(), *roles = json_array(), *trainings = json_object();
	json_t *external = json_object(), *reply = NULL;
	const char *name, *pw_file = NULL, *display = NULL, *kind = NULL, *company = NULL;
	const char *sponsor = NULL, *from = NULL, *until = NULL;
	bool ext;
	int opt, rc = CLI_ERROR;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		switch (opt) {
		case 'r':
			if (json_array_append_new(roles, json_string(optarg)) != 0) {
				fprintf(stderr, "vouch: --role must be UTF-8 text\n");
				goto out_json;
			}
			break;
		case 'p':
			pw_file = optarg;
			break;
		case 'n':
			display = optarg;
			break;
		case 'k':
			kind = optarg;
			break;
		case 'c':
			company = optarg;
			break;
		case 's':
			sponsor = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 'u':
			until = optarg;
			break;
		case 't':
			if (add_training(trainings, optarg) != CLI_OK)
				goto out_json;
			break;
		case 'h':
			user_usage(stdout);
			rc = CLI_OK;
			goto out_json;
		default:
			user_usage(stderr);
			goto out_json;
		}
	}
	name = one_arg(argc, argv);
	if (name == NULL || pw_file == NULL || json_array_size(roles) == 0) {
		fprintf(stderr, "vouch: user add wants NAME, --role and --password-file\n");
		user_usage(stderr);
		goto out_json;
	}
	if (kind != NULL && strcmp(kind, "staff") != 0 && strcmp(kind, "external") != 0) {
		fprintf(stderr, "vouch: --kind is staff or external\n");
		goto out_json;
	}
	ext = kind != NULL && strcmp(kind, "external") == 0;
	if (ext && (company == NULL || sponsor == NULL || from == NULL || until == NULL)) {
		fprintf(stderr, "vouch: an external person needs --company, --sponsor, --from and "
		                "--until\n");
		goto out_json;
	}
	if (!ext && (company != NULL || sponsor != NULL || from != NULL || until != NULL)) {
		fprintf(stderr, "vouch: --company, --sponsor, --from and --until are for "
		                "--kind external\n");
		goto out_json;
	}
	if (set_arg(body, "name", name) != CLI_OK)
		goto out_json;
	json_object_set(body, "roles", roles);
	if ((kind != NULL && set_arg(body, "kind", kind) != CLI_OK) ||
	    (display != NULL && set_arg(body, "display_name", display) != CLI_OK))
		goto out_json;
	if (json_object_size(trainings) > 0)
		json_object_set(body, "trainings", trainings);
	if (ext) {
		if (set_arg(external, "company", company) != CLI_OK ||
		    set_arg(external, "sponsor", sponsor) != CLI_OK ||
		    set_arg(external, "valid_from", from) != CLI_OK ||
		    set_arg(external, "valid_until", until) != CLI_OK)
			goto out_json;
		json_object_set(body, "external", external);
	}
	/* Last, after every argument is known good: the password lives as briefly as it can. */
	if (set_password(body, pw_file) != CLI_OK)
		goto out_json;
	rc = call_at(o, "POST", "/users", NULL, NULL, NULL, NULL, body, &reply);
	if (rc == CLI_OK)
		rc = print_otpauth(o, reply, name, "created user");
out_json:
	json_decref(reply);
	json_decref(external);
	json_decref(trainings);
	json_decref(roles);
	json_decref(body);
	return rc;
}

/* The options of the subcommands that take only the site options and one NAME; after --help
 * (usage printed) CLI_OK with *name NULL. */
static int name_only(struct cmd_opts *o, const char *word, int argc, char **argv,
                     void (*usage)(FILE *), const char **name)
{
	static const struct option opts[] = {
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	int opt;

	*name = NULL;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		if (opt == 'h') {
			usage(stdout);
			return CLI_OK;
		}
		usage(stderr);
		return CLI_ERROR;
	}
	*name = one_arg(argc, argv);
	if (*name == NULL) {
		fprintf(stderr, "vouch: %s %s wants one argument\n", word, argv[0]);
		usage(stderr);
		return CLI_ERROR;
	}
	return CLI_OK;
}

static int user_list(struct cmd_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	static const struct column cols[] = {
	    {"NAME", {"name"}},
	    {"KIND", {"kind"}},
	    {"STATUS", {"status"}},
	    {"ROLES", {"roles"}},
	    {"UNTIL", {"external.valid_until"}},
	    {"DISPLAY NAME", {"display_name"}},
	};
	json_t *reply = NULL;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		if (opt == 'h') {
			user_usage(stdout);
			return CLI_OK;
		}
		user_usage(stderr);
		return CLI_ERROR;
	}
	if (optind != argc) {
		user_usage(stderr);
		return CLI_ERROR;
	}
	rc = call_at(o, "GET", "/users", NULL, NULL, NULL, NULL, NULL, &reply);
	if (rc != CLI_OK)
		return rc;
	if (o->json)
		print_json(reply);
	else
		rc = list_print(reply, "users", cols, VOUCH_ARRAY_LEN(cols), false);
	json_decref(reply);
	return rc;
}

static int user_show(struct cmd_opts *o, int argc, char **argv)
{
	const char *name;
	json_t *reply = NULL, *f;
	int rc = name_only(o, "user", argc, argv, user_usage, &name);

	if (rc != CLI_OK || name == NULL)
		return rc;
	rc = call_at(o, "GET", "/users/", name, "", NULL, NULL, NULL, &reply);
	if (rc != CLI_OK)
		return rc;
	if (o->json) {
		print_json(reply);
	} else {
		f = flat(reply);
		print_fields("", f);
		json_decref(f);
	}
	json_decref(reply);
	return CLI_OK;
}

/* The members of a user object an admin may send back (server/directory.h). */
static const char *const user_members[] = {
    "display_name", "kind", "roles", "trainings", "external", "status", "revoked_at",
};

/*
 * update: GET the object, change what was asked, PUT it. Only the object's own members go
 * back (the server refuses unknown ones): the status too, so that a replace never reactivates
 * a revoked person.
 */
static int user_update(struct cmd_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"role", required_argument, NULL, 'r'},
	    {"training", required_argument, NULL, 't'},
	    {"display-name", required_argument, NULL, 'n'},
	    {"until", required_argument, NULL, 'u'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	json_t *roles = json_array(), *trainings = json_object(), *reply = NULL, *put = NULL;
	json_t *src, *v, *have;
	struct cli_client *c = NULL;
	const char *name, *display = NULL, *until = NULL;
	char path[PATH_CAP];
	size_t i;
	int opt, rc = CLI_ERROR;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		switch (opt) {
		case 'r':
			if (json_array_append_new(roles, json_string(optarg)) != 0) {
				fprintf(stderr, "vouch: --role must be UTF-8 text\n");
				goto out_json;
			}
			break;
		case 't':
			if (add_training(trainings, optarg) != CLI_OK)
				goto out_json;
			break;
		case 'n':
			display = optarg;
			break;
		case 'u':
			until = optarg;
			break;
		case 'h':
			user_usage(stdout);
			rc = CLI_OK;
			goto out_json;
		default:
			user_usage(stderr);
			goto out_json;
		}
	}
	name = one_arg(argc, argv);
	if (name == NULL) {
		user_usage(stderr);
		goto out_json;
	}
	if (json_array_size(roles) == 0 && json_object_size(trainings) == 0 && display == NULL &&
	    until == NULL) {
		fprintf(stderr, "vouch: user update wants something to change (--role, --training, "
		                "--display-name or --until)\n");
		goto out_json;
	}
	rc = cli_client_open(&o->site, &c);
	if (rc != CLI_OK)
		goto out_json;
	rc = path_with(c, path, sizeof(path), "/users/", name, "");
	if (rc == CLI_OK)
		rc = cli_client_call(c, "GET", path, NULL, &reply);
	if (rc != CLI_OK)
		goto out_client;
	rc = CLI_ERROR;
	src = json_object_get(reply, "object");
	if (!json_is_object(src))
		src = reply;
	if (!json_is_object(src)) {
		fprintf(stderr, "vouch: the server's reply holds no user object\n");
		goto out_client;
	}
	put = json_object();
	for (i = 0; i < VOUCH_ARRAY_LEN(user_members); i++) {
		v = json_object_get(src, user_members[i]);
		if (v != NULL)
			json_object_set_new(put, user_members[i], json_deep_copy(v));
	}
	if (json_array_size(roles) > 0)
		json_object_set(put, "roles", roles);
	if (json_object_size(trainings) > 0) {
		have = json_object_get(put, "trainings");
		if (!json_is_object(have)) {
			json_object_set(put, "trainings", trainings);
		} else {
			json_object_update(have, trainings);
		}
	}
	if (display != NULL && set_arg(put, "display_name", display) != CLI_OK)
		goto out_client;
	if (until != NULL) {
		have = json_object_get(put, "external");
		if (!json_is_object(have)) {
			fprintf(stderr,
			        "vouch: %s is not an external person: --until is for those\n",
			        name);
			goto out_client;
		}
		if (set_arg(have, "valid_until", until) != CLI_OK)
			goto out_client;
	}
	json_decref(reply);
	rc = cli_client_call(c, "PUT", path, put, &reply);
	if (rc != CLI_OK)
		goto out_client;
	if (o->json)
		print_json(reply);
	else
		print_done("updated user", name, reply);
out_client:
	cli_client_free(c);
out_json:
	json_decref(put);
	json_decref(reply);
	json_decref(trainings);
	json_decref(roles);
	return rc;
}

static int user_revoke(struct cmd_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	const char *name, *reason = NULL;
	json_t *body = json_object(), *reply = NULL;
	int opt, rc = CLI_ERROR;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		switch (opt) {
		case 'r':
			reason = optarg;
			break;
		case 'h':
			user_usage(stdout);
			rc = CLI_OK;
			goto out_json;
		default:
			user_usage(stderr);
			goto out_json;
		}
	}
	name = one_arg(argc, argv);
	if (name == NULL) {
		user_usage(stderr);
		goto out_json;
	}
	if (reason != NULL && set_arg(body, "reason", reason) != CLI_OK)
		goto out_json;
	rc = call_at(o, "POST", "/users/", name, "/revoke", NULL, NULL, body, &reply);
	if (rc != CLI_OK)
		goto out_json;
	if (o->json)
		print_json(reply);
	else
		print_done("revoked user", name, reply);
out_json:
	json_decref(reply);
	json_decref(body);
	return rc;
}

static int user_remove(struct cmd_opts *o, int argc, char **argv)
{
	const char *name;
	json_t *reply = NULL;
	int rc = name_only(o, "user", argc, argv, user_usage, &name);

	if (rc != CLI_OK || name == NULL)
		return rc;
	rc = call_at(o, "DELETE", "/users/", name, "", NULL, NULL, NULL, &reply);
	if (rc != CLI_OK)
		return rc;
	if (o->json)
		print_json(reply);
	else
		print_done("removed user", name, reply);
	json_decref(reply);
	return CLI_OK;
}

static int user_password(struct cmd_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"password-file", required_argument, NULL, 'p'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	const char *name, *pw_file = NULL;
	json_t *body = json_object(), *reply = NULL;
	int opt, rc = CLI_ERROR;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		switch (opt) {
		case 'p':
			pw_file = optarg;
			break;
		case 'h':
			user_usage(stdout);
			rc = CLI_OK;
			goto out_json;
		default:
			user_usage(stderr);
			goto out_json;
		}
	}
	name = one_arg(argc, argv);
	if (name == NULL || pw_file == NULL) {
		fprintf(stderr, "vouch: user password wants NAME and --password-file\n");
		user_usage(stderr);
		goto out_json;
	}
	if (set_password(body, pw_file) != CLI_OK)
		goto out_json;
	rc = call_at(o, "POST", "/users/", name, "/password", NULL, NULL, body, &reply);
	if (rc != CLI_OK)
		goto out_json;
	if (o->json)
		print_json(reply);
	else
		print_done("new password for user", name, reply);
out_json:
	json_decref(reply);
	json_decref(body);
	return rc;
}

static int user_totp_reset(struct cmd_opts *o, int argc, char **argv)
{
	const char *name;
	json_t *reply = NULL;
	int rc = name_only(o, "user", argc, argv, user_usage, &name);

	if (rc != CLI_OK || name == NULL)
		return rc;
	rc = call_at(o, "POST", "/users/", name, "/totp", NULL, NULL, NULL, &reply);
	if (rc == CLI_OK)
		rc = print_otpauth(o, reply, name, "new second factor for");
	json_decref(reply);
	return rc;
}

static int cmd_user(struct cmd_opts *o, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct cmd_opts *o, int argc, char **argv);
	} subs[] = {
	    {"add", user_add},           {"list", user_list},
	    {"show", user_show},         {"update", user_update},
	    {"revoke", user_revoke},     {"remove", user_remove},
	    {"password", user_password}, {"totp-reset", user_totp_reset},
	};

	if (argc < 2) {
		user_usage(stderr);
		return CLI_ERROR;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		user_usage(stdout);
		return CLI_OK;
	}
	/* argv[0] becomes the subcommand, as getopt_long expects. */
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(subs); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(o, argc - 1, argv + 1);
	fprintf(stderr, "vouch: unknown user subcommand '%s'\n", argv[1]);
	user_usage(stderr);
	return CLI_ERROR;
}

/* ---- phone, credential ---- */

static void phone_usage(FILE *f)
{
	fprintf(f, "usage: vouch --data DIR phone <subcommand> [options]\n"
	           "  phone list [--user U]   the registered phones (of user U), a table\n"
	           "  phone revoke ID         revoke a phone (ID as listed: USER.8HEX) and every\n"
	           "                          credential bound to it, at once\n"
	           "options of every subcommand:\n" SITE_HELP);
}

static void credential_usage(FILE *f)
{
	fprintf(f, "usage: vouch --data DIR credential <subcommand> [options]\n"
	           "  credential list [--user U]\n"
	           "                          the issued credentials (of user U), a table\n"
	           "  credential revoke CTI   revoke one credential (CTI in hex, as listed): it\n"
	           "                          goes on the revocation list at once\n"
	           "options of every subcommand:\n" SITE_HELP);
}

/* What differs between the phone and the credential commands. */
struct held_kind {
	const char *word;  /* the command word */
	const char *route; /* "/phones" */
	const char *key;   /* the list's member in the reply */
	const struct column *cols;
	size_t ncols;
	void (*usage)(FILE *f);
};

static int held_list(struct cmd_opts *o, const struct held_kind *k, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"user", required_argument, NULL, 'u'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	const char *user = NULL;
	json_t *reply = NULL;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		switch (opt) {
		case 'u':
			user = optarg;
			break;
		case 'h':
			k->usage(stdout);
			return CLI_OK;
		default:
			k->usage(stderr);
			return CLI_ERROR;
		}
	}
	if (optind != argc) {
		k->usage(stderr);
		return CLI_ERROR;
	}
	rc = call_at(o, "GET", k->route, NULL, NULL, "user", user, NULL, &reply);
	if (rc != CLI_OK)
		return rc;
	if (o->json)
		print_json(reply);
	else
		rc = list_print(reply, k->key, k->cols, k->ncols, true);
	json_decref(reply);
	return rc;
}

static int held_revoke(struct cmd_opts *o, const struct held_kind *k, int argc, char **argv)
{
	char prefix[32], what[48];
	const char *id;
	json_t *reply = NULL;
	int rc = name_only(o, k->word, argc, argv, k->usage, &id);

	if (rc != CLI_OK || id == NULL)
		return rc;
	snprintf(prefix, sizeof(prefix), "%s/", k->route);
	rc = call_at(o, "POST", prefix, id, "/revoke", NULL, NULL, NULL, &reply);
	if (rc != CLI_OK)
		return rc;
	snprintf(what, sizeof(what), "revoked %s", k->word);
	if (o->json)
		print_json(reply);
	else
		print_done(what, id, reply);
	json_decref(reply);
	return CLI_OK;
}

static int cmd_held(struct cmd_opts *o, const struct held_kind *k, int argc, char **argv)
{
	if (argc < 2) {
		k->usage(stderr);
		return CLI_ERROR;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		k->usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "list") == 0)
		return held_list(o, k, argc - 1, argv + 1);
	if (strcmp(argv[1], "revoke") == 0)
		return held_revoke(o, k, argc - 1, argv + 1);
	fprintf(stderr, "vouch: unknown %s subcommand '%s'\n", k->word, argv[1]);
	k->usage(stderr);
	return CLI_ERROR;
}

static const struct column phone_cols[] = {
    {"ID", {"phone", "id", "name"}},
    {"USER", {"user", "owner"}},
    {"STATUS", {"status"}},
    {"REGISTERED", {"registered", "created", "created_at"}},
};

static const struct column credential_cols[] = {
    {"CTI", {"cti", "name"}}, {"USER", {"user", "owner"}},     {"PHONE", {"phone"}},
    {"STATUS", {"status"}},   {"EXPIRES", {"expires", "exp"}},
};

static const struct held_kind phones = {
    .word = "phone",
    .route = "/phones",
    .key = "phones",
    .cols = phone_cols,
    .ncols = VOUCH_ARRAY_LEN(phone_cols),
    .usage = phone_usage,
};

static const struct held_kind credentials = {
    .word = "credential",
    .route = "/credentials",
    .key = "credentials",
    .cols = credential_cols,
    .ncols = VOUCH_ARRAY_LEN(credential_cols),
    .usage = credential_usage,
};

/* ---- policy explain ---- */

static void explain_usage(FILE *f)
{
	fprintf(f,
	        "usage: vouch --data DIR policy explain USER RESOURCE ACTION [--at TIME]\n"
	        "                          [--reading NAME=VALUE ...] [--zone ZONE] [--json]\n"
	        "  Decide whether USER may do ACTION (enter, open, read, operate, configure,\n"
	        "  service, commission, update, ...) on RESOURCE, with the evaluator the sensors\n"
	        "  run, and say why: the decision (permit or deny) on the first line, then the\n"
	        "  reason and the explanation.\n"
	        "  --at TIME       when: ISO-8601 UTC (2026-11-23T08:00:00Z) or the site's local\n"
	        "                  time (\"2026-11-23 08:00\"); default now\n"
	        "  --reading NAME=VALUE\n"
	        "                  a live reading of the resource (temperature=4.5, running=0);\n"
	        "                  repeat for several\n"
	        "  --zone ZONE     the zone the person is in (plant/hall-a)\n" SITE_HELP
	        "  Exit status: 0 permit, 1 deny, 2 usage, connection error or a refused question\n"
	        "  (an unknown user, resource or action; the server's error is printed).\n");
}

/* Server text that may span lines: control characters other than newline and tab as '?'. */
static void put_text(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		putchar((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f ? '?' : ch);
	}
}

static int policy_explain(struct cmd_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"at", required_argument, NULL, 'a'},
	    {"reading", required_argument, NULL, 'r'},
	    {"zone", required_argument, NULL, 'z'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	json_t *body = json_object(), *readings = json_object(), *reply = NULL;
	const char *at = NULL, *zone = NULL, *decision, *explain;
	char buf[256];
	int opt, rc = CLI_ERROR;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		switch (opt) {
		case 'a':
			at = optarg;
			break;
		case 'r':
			if (add_reading(readings, optarg) != CLI_OK)
				goto out_json;
			break;
		case 'z':
			zone = optarg;
			break;
		case 'h':
			explain_usage(stdout);
			rc = CLI_OK;
			goto out_json;
		default:
			explain_usage(stderr);
			goto out_json;
		}
	}
	if (argc - optind != 3) {
		fprintf(stderr, "vouch: policy explain wants USER RESOURCE ACTION\n");
		explain_usage(stderr);
		goto out_json;
	}
	if (set_arg(body, "user", argv[optind]) != CLI_OK ||
	    set_arg(body, "resource", argv[optind + 1]) != CLI_OK ||
	    set_arg(body, "action", argv[optind + 2]) != CLI_OK ||
	    (at != NULL && set_arg(body, "at", at) != CLI_OK) ||
	    (zone != NULL && set_arg(body, "zone", zone) != CLI_OK))
		goto out_json;
	if (json_object_size(readings) > 0)
		json_object_set(body, "readings", readings);
	rc = call_at(o, "POST", "/policy/explain", NULL, NULL, NULL, NULL, body, &reply);
	/* Exit 1 means deny and nothing else: a question the server refused is an error. */
	if (rc != CLI_OK) {
		rc = CLI_ERROR;
		goto out_json;
	}
	decision = json_string_value(json_object_get(reply, "decision"));
	if (decision != NULL && strcmp(decision, "permit") == 0) {
		rc = CLI_OK;
	} else if (decision != NULL && strcmp(decision, "deny") == 0) {
		rc = CLI_INVALID;
	} else {
		fprintf(stderr, "vouch: the server's reply holds no decision\n");
		rc = CLI_ERROR;
		goto out_json;
	}
	if (o->json) {
		print_json(reply);
		goto out_json;
	}
	printf("%s\n", decision);
	printf("reason: %s\n", field_text(json_object_get(reply, "reason"), buf, sizeof(buf)));
	printf("at:     %s\n", field_text(json_object_get(reply, "at"), buf, sizeof(buf)));
	explain = json_string_value(json_object_get(reply, "explain"));
	if (explain != NULL && *explain != '\0') {
		put_text(explain);
		if (explain[strlen(explain) - 1] != '\n')
			putchar('\n');
	}
out_json:
	fflush(stdout);
	json_decref(reply);
	json_decref(readings);
	json_decref(body);
	return rc;
}

/* ---- issuer-key ---- */

static void issuer_key_usage(FILE *f)
{
	fprintf(f, "usage: vouch --data DIR issuer-key [--cose] [--revlist] [--json]\n"
	           "  The public key that signs the site's credentials (CWTs), as PEM: give it\n"
	           "  to anyone who verifies credentials independently (vouch cwt verify --key).\n"
	           "  --cose          the raw COSE_Key (CBOR, binary) instead of PEM\n"
	           "  --revlist       the key that signs the revocation lists instead\n" SITE_HELP);
}

/* Base64 (standard or URL alphabet, padding optional) of at most KEY_B64_MAX characters. */
static int b64_decode(const char *s, uint8_t **out, size_t *out_len)
{
	size_t len = strlen(s), plen, pad = 0, i;
	unsigned char *in, *bin;
	int n;

	*out = NULL;
	*out_len = 0;
	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len == 0 || len > KEY_B64_MAX || len % 4 == 1)
		return CLI_ERROR;
	plen = (len + 3) / 4 * 4;
	in = malloc(plen + 1);
	bin = malloc(plen / 4 * 3);
	if (in == NULL || bin == NULL)
		goto out_fail;
	for (i = 0; i < len; i++)
		in[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : (unsigned char)s[i];
	for (; i < plen; i++, pad++)
		in[i] = '=';
	in[plen] = '\0';
	/* EVP_DecodeBlock counts padding as zero bytes. */
	n = EVP_DecodeBlock(bin, in, (int)plen);
	if (n < 0 || (size_t)n < pad)
		goto out_fail;
	free(in);
	*out = bin;
	*out_len = (size_t)n - pad;
	return CLI_OK;
out_fail:
	free(in);
	free(bin);
	return CLI_ERROR;
}

/* The COSE_Key, checked to be a public key, to stdout. */
static int write_cose_key(const char *b64, const char *which)
{
	struct vouch_cose_key ck;
	uint8_t *bin = NULL;
	size_t len;
	int rc = CLI_ERROR;

	if (b64 == NULL || b64_decode(b64, &bin, &len) != CLI_OK ||
	    vouch_cose_key_decode(bin, len, &ck) != VOUCH_OK || ck.d_len != 0) {
		fprintf(stderr, "vouch: the server's %s cose_key is not a public COSE_Key\n",
		        which);
		goto out_free;
	}
	if (isatty(STDOUT_FILENO)) {
		fprintf(stderr, "vouch: --cose writes binary CBOR: redirect it to a file\n");
		goto out_free;
	}
	if (fwrite(bin, 1, len, stdout) != len || fflush(stdout) != 0) {
		fprintf(stderr, "vouch: cannot write the key: %s\n", strerror(errno));
		goto out_free;
	}
	rc = CLI_OK;
out_free:
	free(bin);
	return rc;
}

/* The PEM, checked to be one public key and written afresh (nothing else of the reply). */
static int write_pem_key(const char *pem, const char *which)
{
	BIO *bio = pem != NULL ? BIO_new_mem_buf(pem, -1) : NULL;
	EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	int rc = CLI_ERROR;

	if (pkey == NULL) {
		fprintf(stderr, "vouch: the server's %s pem is not a PEM public key\n", which);
		goto out_free;
	}
	if (PEM_write_PUBKEY(stdout, pkey) != 1 || fflush(stdout) != 0) {
		fprintf(stderr, "vouch: cannot write the key\n");
		goto out_free;
	}
	rc = CLI_OK;
out_free:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

static int cmd_issuer_key(struct cmd_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"cose", no_argument, NULL, 'c'},
	    {"revlist", no_argument, NULL, 'r'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	const char *which = "issuer";
	const json_t *key;
	json_t *reply = NULL;
	bool cose = false;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		switch (opt) {
		case 'c':
			cose = true;
			break;
		case 'r':
			which = "revlist";
			break;
		case 'h':
			issuer_key_usage(stdout);
			return CLI_OK;
		default:
			issuer_key_usage(stderr);
			return CLI_ERROR;
		}
	}
	if (optind != argc) {
		issuer_key_usage(stderr);
		return CLI_ERROR;
	}
	if (cose && o->json) {
		fprintf(stderr, "vouch: --cose and --json exclude each other\n");
		return CLI_ERROR;
	}
	rc = call_at(o, "GET", "/keys", NULL, NULL, NULL, NULL, NULL, &reply);
	if (rc != CLI_OK)
		return rc;
	key = json_object_get(reply, which);
	if (o->json)
		print_json(reply);
	else if (cose)
		rc = write_cose_key(json_string_value(json_object_get(key, "cose_key")), which);
	else
		rc = write_pem_key(json_string_value(json_object_get(key, "pem")), which);
	json_decref(reply);
	return rc;
}

/* ---- entry points ---- */

void cmd_people_usage(FILE *f)
{
	fprintf(
	    f,
	    "people, phones and credentials (site commands; vouch <command> --help):\n"
	    "  vouch --data DIR user add NAME --role ROLE [--role ROLE ...] --password-file FILE\n"
	    "             [--display-name S] [--training T=EXPIRY ...] [--kind external\n"
	    "             --company C --sponsor USER --from ISO --until ISO]\n"
	    "                                          create a person; prints the otpauth://\n"
	    "                                          URI of their second factor (once)\n"
	    "  vouch --data DIR user list | show NAME | remove NAME\n"
	    "  vouch --data DIR user update NAME [--role ROLE ...] [--training T=EXPIRY ...]\n"
	    "             [--display-name S] [--until ISO]\n"
	    "  vouch --data DIR user revoke NAME [--reason R]\n"
	    "                                          revoke the person, phones, credentials\n"
	    "  vouch --data DIR user password NAME --password-file FILE\n"
	    "  vouch --data DIR user totp-reset NAME   a new second factor; prints its URI\n"
	    "  vouch --data DIR phone list [--user U] | phone revoke ID\n"
	    "  vouch --data DIR credential list [--user U] | credential revoke CTI\n"
	    "  vouch --data DIR policy explain USER RESOURCE ACTION [--at TIME]\n"
	    "             [--reading NAME=VALUE ...] [--zone ZONE]\n"
	    "                                          the decision and why; exit 0 permit,\n"
	    "                                          1 deny\n"
	    "  vouch --data DIR issuer-key [--cose] [--revlist]\n"
	    "                                          the credential issuer's public key (PEM)\n"
	    "\n"
	    "  Passwords come only from a file (--password-file, '-' for a pipe), never from\n"
	    "  an argument.\n");
}

int cmd_people(const struct cli_site *site, int argc, char **argv)
{
	struct cmd_opts o = {.site = *site};

	if (argc < 1)
		return CLI_ERROR;
	if (strcmp(argv[0], "user") == 0)
		return cmd_user(&o, argc, argv);
	if (strcmp(argv[0], "phone") == 0)
		return cmd_held(&o, &phones, argc, argv);
	if (strcmp(argv[0], "credential") == 0)
		return cmd_held(&o, &credentials, argc, argv);
	if (strcmp(argv[0], "issuer-key") == 0)
		return cmd_issuer_key(&o, argc, argv);
	if (strcmp(argv[0], "policy") == 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			explain_usage(stdout);
			return CLI_OK;
		}
		if (argc >= 2 && strcmp(argv[1], "explain") == 0)
			return policy_explain(&o, argc - 1, argv + 1);
		explain_usage(stderr);
		return CLI_ERROR;
	}
	fprintf(stderr, "vouch: unknown command '%s'\n", argv[0]);
	return CLI_ERROR;
}
