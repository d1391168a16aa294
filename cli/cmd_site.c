/*
 * The site commands of the admin CLI: enrolment tokens, certificates, the CA, events. Each is one
 * or a few calls of vouchd's admin REST API (docs/vouchd.md), shown as a table or, with --json,
 * as the server's JSON.
 */
#define _GNU_SOURCE /* getopt_long */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"

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

/* vouchd takes at most 64 KiB per request body: batches are sent in slices below that. */
#define BATCH_BODY_MAX (48u << 10)
#define BATCH_KEYS_MAX 1000
#define KEYS_FILE_MAX  (256u << 20)
#define EVENTS_PAGE    500
#define TABLE_COLS_MAX 8

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

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
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

/*
 * A field as text for the terminal: strings as they are, null or missing as "-", anything else
 * as compact JSON; control characters become '?' (a device id in a token.refuse event is whatever
 * an unauthenticated client sent), and the text is cut to fit buf.
 */
static const char *field_text(const json_t *v, char *buf, size_t cap)
{
	size_t n, i;

	if (v == NULL || json_is_null(v))
		return "-";
	if (json_is_string(v)) {
		n = json_string_length(v);
		if (n > cap - 1)
			n = cap - 1;
		memcpy(buf, json_string_value(v), n);
	} else {
		n = json_dumpb(v, buf, cap - 1, JSON_COMPACT | JSON_ENCODE_ANY);
		if (n == 0 || n >= cap)
			return "?";
	}
	buf[n] = '\0';
	for (i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	return buf;
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

static int call(const struct cmd_opts *o, const char *method, const char *path, json_t *body,
                json_t **reply)
{
	struct cli_client *c;
	int rc = cli_client_open(&o->site, &c);

	*reply = NULL;
	if (rc != CLI_OK)
		return rc;
	rc = cli_client_call(c, method, path, body, reply);
	cli_client_free(c);
	return rc;
}

/* Append "key=escaped value" to a query string being built in buf. */
static int query_add(struct cli_client *c, char *buf, size_t cap, const char *key,
                     const char *value)
{
	char *e;
	size_t len = strlen(buf);
	int n;

	if (value == NULL)
		return CLI_OK;
	e = cli_client_escape(c, value);
	if (e == NULL)
		return CLI_ERROR;
	n = snprintf(buf + len, cap - len, "%c%s=%s", strchr(buf, '?') ? '&' : '?', key, e);
	free(e);
	if (n < 0 || (size_t)n >= cap - len) {
		fprintf(stderr, "vouch: request too long\n");
		return CLI_ERROR;
	}
	return CLI_OK;
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

/* ---- enrol-token create ---- */

static void enrol_usage(FILE *f)
{
	fprintf(f,
	        "usage: vouch --data DIR enrol-token create --device ID [--profile P]\n"
	        "                          [--hours H] [--san S ...] [--json]\n"
	        "  Create a one-time enrolment token for device ID and print it alone on one\n"
	        "  line (it is shown once; the server keeps only its hash). The device enrols\n"
	        "  with EST simpleenroll, HTTP Basic user ID, password the token.\n"
	        "  --profile P     device (default), service, phone or short-lived\n"
	        "  --hours H       validity of the token (default: the site's enrol_token_hours)\n"
	        "  --san S         a subjectAltName of the certificate (service profile; "
	        "repeat)\n" SITE_HELP);
}

int cmd_enrol_token(const struct cli_site *site, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"device", required_argument, NULL, 'd'},
	    {"profile", required_argument, NULL, 'p'},
	    {"hours", required_argument, NULL, 'H'},
	    {"san", required_argument, NULL, 's'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	struct cmd_opts o = {.site = *site};
	json_t *body = json_object(), *sans = json_array(), *reply = NULL;
	const char *device = NULL, *profile = NULL, *token;
	unsigned long hours = 0;
	bool has_hours = false;
	char buf[64];
	int opt, rc = CLI_ERROR;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		enrol_usage(stdout);
		rc = CLI_OK;
		goto out_json;
	}
	if (argc < 2 || strcmp(argv[1], "create") != 0) {
		enrol_usage(stderr);
		goto out_json;
	}
	argc--, argv++;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, &o))
			continue;
		switch (opt) {
		case 'd':
			device = optarg;
			break;
		case 'p':
			profile = optarg;
			break;
		case 's':
			if (json_array_append_new(sans, json_string(optarg)) != 0) {
				fprintf(stderr, "vouch: --san must be UTF-8 text\n");
				goto out_json;
			}
			break;
		case 'H':
			if (!parse_uint(optarg, 24UL * 366 * 10, &hours)) {
				fprintf(stderr, "vouch: --hours wants a number of hours\n");
				goto out_json;
			}
			has_hours = true;
			break;
		case 'h':
			enrol_usage(stdout);
			rc = CLI_OK;
			goto out_json;
		default:
			enrol_usage(stderr);
			goto out_json;
		}
	}
	if (device == NULL || optind != argc) {
		enrol_usage(stderr);
		goto out_json;
	}
	if (set_arg(body, "device", device) != CLI_OK ||
	    (profile != NULL && set_arg(body, "profile", profile) != CLI_OK))
		goto out_json;
	if (has_hours)
		json_object_set_new(body, "hours", json_integer((json_int_t)hours));
	if (json_array_size(sans) > 0)
		json_object_set(body, "sans", sans);
	rc = call(&o, "POST", "/enrol-tokens", body, &reply);
	if (rc != CLI_OK)
		goto out_json;
	token = json_string_value(json_object_get(reply, "token"));
	if (o.json) {
		print_json(reply);
	} else if (token != NULL) {
		printf("%s\n", token);
		if (isatty(STDERR_FILENO))
			fprintf(stderr,
			        "vouch: token for %s, valid until %s; it is shown only once\n",
			        device,
			        field_text(json_object_get(reply, "expires"), buf, sizeof(buf)));
	} else {
		fprintf(stderr, "vouch: the server's reply holds no token\n");
		rc = CLI_ERROR;
	}
out_json:
	fflush(stdout);
	json_decref(reply);
	json_decref(sans);
	json_decref(body);
	return rc;
}

/* ---- cert ---- */

static const char *const summary_fields[] = {
    "serial",     "subject",   "device",     "profile", "status",
    "not_before", "not_after", "revoked_at", "reason",
};

static void cert_usage(FILE *f)
{
	fprintf(
	    f, "usage: vouch --data DIR cert <subcommand> [options]\n"
	       "  cert list [--device ID] [--status valid|revoked|expired]\n"
	       "                          the site's certificates, a table\n"
	       "  cert show SERIAL [--pem]  one certificate (--pem: only its PEM)\n"
	       "  cert revoke SERIAL [--reason R]\n"
	       "  cert revoke --device ID [--reason R]\n"
	       "                          revoke one certificate, or every valid one of a device;\n"
	       "                          R is an RFC 5280 reason (keyCompromise, superseded,\n"
	       "                          cessationOfOperation, affiliationChanged, ...)\n"
	       "  cert batch --profile P --prefix X --keys FILE [--keys FILE ...] [--out DIR]\n"
	       "                          issue one certificate per public key: FILE holds PEM\n"
	       "                          public keys (any number) or DER SubjectPublicKeyInfos;\n"
	       "                          the certificates go to stdout as PEM, or to DIR/N.pem\n"
	       "                          for the Nth key (from 1)\n"
	       "options of every subcommand:\n" SITE_HELP);
}

static json_t *summary_row(const json_t *s)
{
	static const char *const cols[] = {"serial", "device",    "profile",
	                                   "status", "not_after", "subject"};
	json_t *row = json_array();
	char buf[256];

	for (size_t i = 0; i < VOUCH_ARRAY_LEN(cols); i++)
		json_array_append_new(row, json_string_nocheck(field_text(
		                               json_object_get(s, cols[i]), buf, sizeof(buf))));
	return row;
}

static int cert_list(struct cmd_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"device", required_argument, NULL, 'd'},
	    {"status", required_argument, NULL, 's'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	static const char *const heads[] = {"SERIAL", "DEVICE",    "PROFILE",
	                                    "STATUS", "NOT AFTER", "SUBJECT"};
	const char *device = NULL, *status = NULL;
	struct cli_client *c = NULL;
	json_t *reply = NULL, *rows, *s;
	char path[1024] = "/certs";
	size_t i;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		switch (opt) {
		case 'd':
			device = optarg;
			break;
		case 's':
			status = optarg;
			break;
		case 'h':
			cert_usage(stdout);
			return CLI_OK;
		default:
			cert_usage(stderr);
			return CLI_ERROR;
		}
	}
	if (optind != argc) {
		cert_usage(stderr);
		return CLI_ERROR;
	}
	rc = cli_client_open(&o->site, &c);
	if (rc != CLI_OK)
		return rc;
	rc = query_add(c, path, sizeof(path), "device", device);
	if (rc == CLI_OK)
		rc = query_add(c, path, sizeof(path), "status", status);
	if (rc == CLI_OK)
		rc = cli_client_call(c, "GET", path, NULL, &reply);
	cli_client_free(c);
	if (rc != CLI_OK)
		return rc;
	if (o->json) {
		print_json(reply);
	} else if (!json_is_array(json_object_get(reply, "certs"))) {
		fprintf(stderr, "vouch: the server's reply holds no certificate list\n");
		rc = CLI_ERROR;
	} else {
		rows = json_array();
		json_array_foreach(json_object_get(reply, "certs"), i, s)
		    json_array_append_new(rows, summary_row(s));
		table_print(heads, VOUCH_ARRAY_LEN(heads), rows);
		json_decref(rows);
	}
	json_decref(reply);
	return rc;
}

static void print_summary(const json_t *s)
{
	const char *key;
	const json_t *v;
	char buf[256];
	size_t i;

	for (i = 0; i < VOUCH_ARRAY_LEN(summary_fields); i++)
		printf("%-11s %s\n", summary_fields[i],
		       field_text(json_object_get(s, summary_fields[i]), buf, sizeof(buf)));
	json_object_foreach((json_t *)s, key, v)
	{
		bool known = strcmp(key, "pem") == 0;

		for (i = 0; !known && i < VOUCH_ARRAY_LEN(summary_fields); i++)
			known = strcmp(key, summary_fields[i]) == 0;
		if (!known)
			printf("%-11s %s\n", key, field_text(v, buf, sizeof(buf)));
	}
}

/* The positional SERIAL of show / revoke: exactly one, or none when allowed. */
static int one_serial(int argc, char **argv, bool optional, const char **serial)
{
	*serial = NULL;
	if (argc - optind > 1 || (!optional && argc - optind != 1)) {
		cert_usage(stderr);
		return CLI_ERROR;
	}
	if (argc - optind == 1)
		*serial = argv[optind];
	return CLI_OK;
}

static int cert_show(struct cmd_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pem", no_argument, NULL, 'p'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	struct cli_client *c = NULL;
	const char *serial, *pem;
	json_t *reply = NULL;
	char path[1024];
	bool want_pem = false;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		switch (opt) {
		case 'p':
			want_pem = true;
			break;
		case 'h':
			cert_usage(stdout);
			return CLI_OK;
		default:
			cert_usage(stderr);
			return CLI_ERROR;
		}
	}
	if (one_serial(argc, argv, false, &serial) != CLI_OK)
		return CLI_ERROR;
	rc = cli_client_open(&o->site, &c);
	if (rc != CLI_OK)
		return rc;
	rc = path_with(c, path, sizeof(path), "/certs/", serial, "");
	if (rc == CLI_OK)
		rc = cli_client_call(c, "GET", path, NULL, &reply);
	cli_client_free(c);
	if (rc != CLI_OK)
		return rc;
	pem = json_string_value(json_object_get(reply, "pem"));
	if (o->json) {
		print_json(reply);
	} else if (want_pem && pem != NULL) {
		fputs(pem, stdout);
		if (*pem != '\0' && pem[strlen(pem) - 1] != '\n')
			putchar('\n');
	} else if (want_pem) {
		fprintf(stderr, "vouch: the server's reply holds no PEM\n");
		rc = CLI_ERROR;
	} else {
		print_summary(reply);
	}
	json_decref(reply);
	return rc;
}

static int cert_revoke(struct cmd_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"device", required_argument, NULL, 'd'},
	    {"reason", required_argument, NULL, 'r'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	struct cli_client *c = NULL;
	const char *serial, *device = NULL, *reason = NULL;
	json_t *body, *reply = NULL;
	char path[1024], buf[64], buf2[64];
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		switch (opt) {
		case 'd':
			device = optarg;
			break;
		case 'r':
			reason = optarg;
			break;
		case 'h':
			cert_usage(stdout);
			return CLI_OK;
		default:
			cert_usage(stderr);
			return CLI_ERROR;
		}
	}
	if (one_serial(argc, argv, true, &serial) != CLI_OK)
		return CLI_ERROR;
	if ((serial == NULL) == (device == NULL)) {
		fprintf(stderr, "vouch: cert revoke wants either a SERIAL or --device ID\n");
		return CLI_ERROR;
	}
	rc = cli_client_open(&o->site, &c);
	if (rc != CLI_OK)
		return rc;
	if (serial != NULL)
		rc = path_with(c, path, sizeof(path), "/certs/", serial, "/revoke");
	else
		rc = path_with(c, path, sizeof(path), "/devices/", device, "/revoke");
	body = json_object();
	if (rc == CLI_OK && reason != NULL)
		rc = set_arg(body, "reason", reason);
	if (rc == CLI_OK)
		rc = cli_client_call(c, "POST", path, body, &reply);
	json_decref(body);
	cli_client_free(c);
	if (rc != CLI_OK)
		return rc;
	if (o->json)
		print_json(reply);
	else if (serial != NULL)
		printf("revoked %s (%s)\n",
		       field_text(json_object_get(reply, "serial"), buf, sizeof(buf)),
		       field_text(json_object_get(reply, "reason"), buf2, sizeof(buf2)));
	else
		printf("revoked %s certificate(s) of device %s\n",
		       field_text(json_object_get(reply, "revoked"), buf, sizeof(buf)), device);
	json_decref(reply);
	return rc;
}

/* ---- cert batch ---- */

/* A whole file, any size up to KEYS_FILE_MAX (key lists of a fleet are large). */
static int slurp(const char *path, unsigned char **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	unsigned char *p = NULL, *q;
	size_t cap = 0, n = 0, got;
	int rc = CLI_ERROR;

	*buf = NULL;
	*len = 0;
	if (f == NULL) {
		fprintf(stderr, "vouch: cannot open %s: %s\n", path, strerror(errno));
		return CLI_ERROR;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= KEYS_FILE_MAX) {
				fprintf(stderr, "vouch: %s is too large\n", path);
				goto out_free;
			}
			cap = cap ? 2 * cap : 65536;
			q = realloc(p, cap);
			if (q == NULL)
				goto out_free;
			p = q;
		}
		got = fread(p + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "vouch: cannot read %s\n", path);
		goto out_free;
	}
	*buf = p;
	*len = n;
	p = NULL;
	rc = CLI_OK;
out_free:
	free(p);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* One DER SubjectPublicKeyInfo, checked to parse, appended to keys as base64. */
static int add_spki(json_t *keys, const unsigned char *der, long len, const char *path)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, len);
	char *b64;

	if (pk == NULL || p != der + len) {
		EVP_PKEY_free(pk);
		ERR_clear_error();
		fprintf(stderr, "vouch: %s: key %zu is not a SubjectPublicKeyInfo\n", path,
		        json_array_size(keys) + 1);
		return CLI_ERROR;
	}
	EVP_PKEY_free(pk);
	b64 = malloc(4 * (((size_t)len + 2) / 3) + 1);
	if (b64 == NULL)
		return CLI_ERROR;
	EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
	json_array_append_new(keys, json_string(b64));
	free(b64);
	return CLI_OK;
}

static bool is_pem(const unsigned char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return len - i >= 10 && memcmp(buf + i, "-----BEGIN", 10) == 0;
}

/* Every public key in a file: PEM "PUBLIC KEY" blocks, or concatenated DER SPKIs. */
static int read_keys(const char *path, json_t *keys)
{
	unsigned char *buf, *data = NULL;
	const unsigned char *p;
	char *name = NULL, *header = NULL;
	size_t len, before = json_array_size(keys);
	long dlen;
	BIO *bio;
	int rc = slurp(path, &buf, &len);

	if (rc != CLI_OK)
		return rc;
	if (!is_pem(buf, len)) {
		for (p = buf; rc == CLI_OK && p < buf + len;) {
			/* Each SPKI's length from its outer DER header, then parse exactly that. */
			const unsigned char *q = p;
			long inner;
			int tag, cls;

			if (ASN1_get_object(&q, &inner, &tag, &cls, (long)(buf + len - p)) & 0x80) {
				fprintf(stderr, "vouch: %s: neither PEM nor DER public keys\n",
				        path);
				rc = CLI_ERROR;
				break;
			}
			rc = add_spki(keys, p, (long)(q - p) + inner, path);
			p = q + inner;
		}
		goto out_buf;
	}
	bio = len <= INT_MAX ? BIO_new_mem_buf(buf, (int)len) : NULL;
	if (bio == NULL) {
		rc = CLI_ERROR;
		goto out_buf;
	}
	while (rc == CLI_OK && PEM_read_bio(bio, &name, &header, &data, &dlen) == 1) {
		if (strcmp(name, "PUBLIC KEY") == 0) {
			rc = add_spki(keys, data, dlen, path);
		} else {
			fprintf(
			    stderr,
			    "vouch: %s: a \"%s\" block; give public keys (openssl pkey -pubout)\n",
			    path, name);
			rc = CLI_ERROR;
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_clear_free(data, (size_t)dlen);
		name = header = NULL;
		data = NULL;
	}
	ERR_clear_error(); /* PEM_read_bio ends every file with "no start line" */
	BIO_free(bio);
out_buf:
	free(buf);
	if (rc == CLI_OK && json_array_size(keys) == before) {
		fprintf(stderr, "vouch: %s holds no public key\n", path);
		rc = CLI_ERROR;
	}
	return rc;
}

/* A base64 DER certificate of the reply as PEM, to f. */
static int write_cert_pem(FILE *f, const char *b64)
{
	size_t len = strlen(b64), pad = 0;
	unsigned char *der;
	const unsigned char *p;
	X509 *x = NULL;
	int n, rc = CLI_ERROR;

	if (len == 0 || len % 4 != 0 || len > INT_MAX)
		return CLI_ERROR;
	der = malloc(len / 4 * 3);
	if (der == NULL)
		return CLI_ERROR;
	n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)len);
	pad = (b64[len - 1] == '=') + (b64[len - 2] == '=');
	if (n > 0 && (size_t)n >= pad) {
		p = der;
		x = d2i_X509(NULL, &p, (long)((size_t)n - pad));
		if (x != NULL && p == der + (size_t)n - pad && PEM_write_X509(f, x) == 1)
			rc = CLI_OK;
	}
	X509_free(x);
	ERR_clear_error();
	free(der);
	return rc;
}

/* Move the next slice of keys (under the server's body limit) into slice; how many. */
static size_t next_slice(const json_t *keys, size_t from, json_t *slice)
{
	size_t bytes = 0, i;

	json_array_clear(slice);
	for (i = from; i < json_array_size(keys) && i - from < BATCH_KEYS_MAX; i++) {
		const json_t *k = json_array_get(keys, i);

		bytes += json_string_length(k) + 3;
		if (bytes > BATCH_BODY_MAX && i > from)
			break;
		json_array_append(slice, (json_t *)k);
	}
	return i - from;
}

static int emit_certs(const json_t *certs, size_t first, const char *out_dir, json_t *all)
{
	char path[PATH_MAX];
	const json_t *v;
	size_t i;
	FILE *f;
	int n, rc = CLI_OK;

	json_array_foreach(certs, i, v)
	{
		const char *b64 = json_string_value(v);

		if (b64 == NULL) {
			fprintf(stderr,
			        "vouch: the server's reply holds a non-string certificate\n");
			return CLI_ERROR;
		}
		if (all != NULL) {
			json_array_append(all, (json_t *)v);
			continue;
		}
		f = stdout;
		if (out_dir != NULL) {
			n = snprintf(path, sizeof(path), "%s/%zu.pem", out_dir, first + i + 1);
			if (n < 0 || (size_t)n >= sizeof(path))
				return CLI_ERROR;
			f = fopen(path, "w");
			if (f == NULL) {
				fprintf(stderr, "vouch: cannot write %s: %s\n", path,
				        strerror(errno));
				return CLI_ERROR;
			}
		}
		rc = write_cert_pem(f, b64);
		if (rc != CLI_OK)
			fprintf(stderr, "vouch: certificate %zu of the reply is not DER X.509\n",
			        first + i + 1);
		if (f != stdout && fclose(f) != 0 && rc == CLI_OK) {
			fprintf(stderr, "vouch: cannot write %s\n", path);
			rc = CLI_ERROR;
		}
		if (rc != CLI_OK)
			return rc;
	}
	return CLI_OK;
}

static int cert_batch(struct cmd_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"profile", required_argument, NULL, 'p'},
	    {"prefix", required_argument, NULL, 'x'},
	    {"keys", required_argument, NULL, 'k'},
	    {"out", required_argument, NULL, 'o'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	const char *profile = NULL, *prefix = NULL, *out_dir = NULL;
	json_t *keys = json_array(), *slice = json_array(), *body = json_object();
	json_t *reply = NULL, *certs, *all = NULL;
	struct cli_client *c = NULL;
	size_t done = 0, n;
	bool have_keys = false;
	int opt, rc = CLI_ERROR;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		switch (opt) {
		case 'p':
			profile = optarg;
			break;
		case 'x':
			prefix = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'k':
			have_keys = true;
			if (read_keys(optarg, keys) != CLI_OK)
				goto out_json;
			break;
		case 'h':
			cert_usage(stdout);
			rc = CLI_OK;
			goto out_json;
		default:
			cert_usage(stderr);
			goto out_json;
		}
	}
	if (profile == NULL || prefix == NULL || !have_keys || optind != argc) {
		cert_usage(stderr);
		goto out_json;
	}
	if (out_dir != NULL && mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "vouch: cannot create %s: %s\n", out_dir, strerror(errno));
		goto out_json;
	}
	if (set_arg(body, "profile", profile) != CLI_OK ||
	    set_arg(body, "prefix", prefix) != CLI_OK)
		goto out_json;
	json_object_set(body, "keys", slice);
	if (o->json)
		all = json_array();
	rc = cli_client_open(&o->site, &c);
	if (rc != CLI_OK)
		goto out_json;
	while (rc == CLI_OK && (n = next_slice(keys, done, slice)) > 0) {
		rc = cli_client_call(c, "POST", "/certs/batch", body, &reply);
		if (rc != CLI_OK)
			break;
		certs = json_object_get(reply, "certs");
		if (json_array_size(certs) != n) {
			fprintf(stderr,
			        "vouch: the server returned %zu certificates for %zu keys\n",
			        json_array_size(certs), n);
			rc = CLI_ERROR;
		} else {
			rc = emit_certs(certs, done, out_dir, all);
			done += n;
		}
		json_decref(reply);
		reply = NULL;
	}
	cli_client_free(c);
	if (rc == CLI_OK && all != NULL) {
		json_t *j = json_pack("{s:O}", "certs", all);

		print_json(j);
		json_decref(j);
	} else if (rc == CLI_OK && out_dir != NULL) {
		fprintf(stderr, "vouch: %zu certificates written to %s\n", done, out_dir);
	} else if (rc != CLI_OK && done > 0) {
		fprintf(stderr, "vouch: %zu of %zu certificates were issued before the failure\n",
		        done, json_array_size(keys));
	}
out_json:
	fflush(stdout);
	json_decref(all);
	json_decref(body);
	json_decref(slice);
	json_decref(keys);
	return rc;
}

int cmd_cert(const struct cli_site *site, int argc, char **argv)
{
	struct cmd_opts o = {.site = *site};

	if (argc < 2) {
		cert_usage(stderr);
		return CLI_ERROR;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cert_usage(stdout);
		return CLI_OK;
	}
	/* argv[0] becomes the subcommand, as getopt_long expects. */
	if (strcmp(argv[1], "list") == 0)
		return cert_list(&o, argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return cert_show(&o, argc - 1, argv + 1);
	if (strcmp(argv[1], "revoke") == 0)
		return cert_revoke(&o, argc - 1, argv + 1);
	if (strcmp(argv[1], "batch") == 0)
		return cert_batch(&o, argc - 1, argv + 1);
	fprintf(stderr, "vouch: unknown cert subcommand '%s'\n", argv[1]);
	cert_usage(stderr);
	return CLI_ERROR;
}

/* ---- ca show ---- */

static void ca_usage(FILE *f)
{
	fprintf(f, "usage: vouch --data DIR ca show [--pem] [--json]\n"
	           "  The site's CA: root, issuing and OCSP responder certificates with their\n"
	           "  fingerprints, the current CRL number and its next update.\n"
	           "  --pem           add the certificates' PEM\n" SITE_HELP);
}

/*
 * Any JSON object as "key value" lines, nested objects as dotted keys. Certificates (PEM) are
 * left out, their subject, validity and fingerprint being fields of their own; --pem adds them.
 */
static void print_fields(const char *prefix, const json_t *obj, bool full_pem)
{
	char key_buf[256], buf[512];
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		const char *s = json_string_value(v);

		snprintf(key_buf, sizeof(key_buf), "%s%s", prefix, key);
		if (json_is_object(v)) {
			strncat(key_buf, ".", sizeof(key_buf) - strlen(key_buf) - 1);
			print_fields(key_buf, v, full_pem);
		} else if (s != NULL && strncmp(s, "-----BEGIN CERTIFICATE-----", 27) == 0) {
			if (full_pem)
				printf("%s\n%s%s", key_buf, s,
				       s[strlen(s) - 1] == '\n' ? "" : "\n");
		} else {
			printf("%-22s %s\n", key_buf, field_text(v, buf, sizeof(buf)));
		}
	}
}

int cmd_ca(const struct cli_site *site, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pem", no_argument, NULL, 'p'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	struct cmd_opts o = {.site = *site};
	json_t *reply = NULL;
	bool pem = false;
	int opt, rc;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		ca_usage(stdout);
		return CLI_OK;
	}
	if (argc < 2 || strcmp(argv[1], "show") != 0) {
		ca_usage(stderr);
		return CLI_ERROR;
	}
	argc--, argv++;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, &o))
			continue;
		switch (opt) {
		case 'p':
			pem = true;
			break;
		case 'h':
			ca_usage(stdout);
			return CLI_OK;
		default:
			ca_usage(stderr);
			return CLI_ERROR;
		}
	}
	if (optind != argc) {
		ca_usage(stderr);
		return CLI_ERROR;
	}
	rc = call(&o, "GET", "/ca", NULL, &reply);
	if (rc != CLI_OK)
		return rc;
	if (o.json)
		print_json(reply);
	else
		print_fields("", reply, pem);
	json_decref(reply);
	return CLI_OK;
}

/* ---- events ---- */

static void events_usage(FILE *f)
{
	fprintf(f, "usage: vouch --data DIR events [--after SEQ] [--limit N] [--json]\n"
	           "  The site's event log (issuance, revocation, token use, CRLs), oldest first:\n"
	           "  every event after sequence number SEQ (default 0), or only the first "
	           "N.\n" SITE_HELP);
}

static json_t *event_row(const json_t *e)
{
	static const char *const cols[] = {"seq", "time", "type", "actor"};
	char buf[512], details[1024] = "";
	json_t *row = json_array();
	const char *key;
	json_t *v;
	size_t i, len = 0;
	int n;

	for (i = 0; i < VOUCH_ARRAY_LEN(cols); i++)
		json_array_append_new(row, json_string_nocheck(field_text(
		                               json_object_get(e, cols[i]), buf, sizeof(buf))));
	json_object_foreach((json_t *)e, key, v)
	{
		bool known = false;

		for (i = 0; !known && i < VOUCH_ARRAY_LEN(cols); i++)
			known = strcmp(key, cols[i]) == 0;
		if (known || len >= sizeof(details))
			continue;
		n = snprintf(details + len, sizeof(details) - len, "%s%s=%s", len ? " " : "", key,
		             field_text(v, buf, sizeof(buf)));
		if (n > 0)
			len += (size_t)n;
	}
	json_array_append_new(row, json_string_nocheck(details));
	return row;
}

int cmd_events(const struct cli_site *site, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"after", required_argument, NULL, 'a'},
	    {"limit", required_argument, NULL, 'l'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	static const char *const heads[] = {"SEQ", "TIME", "TYPE", "ACTOR", "DETAILS"};
	struct cmd_opts o = {.site = *site};
	struct cli_client *c = NULL;
	unsigned long after = 0, limit = 0, page, before;
	json_t *all = json_array(), *reply = NULL, *events, *e, *rows;
	char path[128];
	size_t i;
	int opt, rc = CLI_ERROR;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, &o))
			continue;
		switch (opt) {
		case 'a':
		case 'l':
			if (!parse_uint(optarg, LONG_MAX, opt == 'a' ? &after : &limit)) {
				fprintf(stderr, "vouch: --%s wants a number\n",
				        opt == 'a' ? "after" : "limit");
				goto out_json;
			}
			break;
		case 'h':
			events_usage(stdout);
			rc = CLI_OK;
			goto out_json;
		default:
			events_usage(stderr);
			goto out_json;
		}
	}
	if (optind != argc) {
		events_usage(stderr);
		goto out_json;
	}
	rc = cli_client_open(&o.site, &c);
	if (rc != CLI_OK)
		goto out_json;
	/* Page through the log until a page comes back empty, or --limit is reached. */
	for (;;) {
		page = limit ? limit - json_array_size(all) : EVENTS_PAGE;
		if (page > EVENTS_PAGE)
			page = EVENTS_PAGE;
		snprintf(path, sizeof(path), "/events?after=%lu&limit=%lu", after, page);
		rc = cli_client_call(c, "GET", path, NULL, &reply);
		if (rc != CLI_OK)
			break;
		before = after;
		events = json_object_get(reply, "events");
		if (!json_is_array(events)) {
			fprintf(stderr, "vouch: the server's reply holds no event list\n");
			rc = CLI_ERROR;
			break;
		}
		json_array_foreach(events, i, e)
		{
			json_int_t seq = json_integer_value(json_object_get(e, "seq"));

			if (seq > 0 && (unsigned long)seq > after)
				after = (unsigned long)seq;
			json_array_append(all, e);
		}
		i = json_array_size(events);
		json_decref(reply);
		reply = NULL;
		/* A page that does not advance the sequence would repeat forever. */
		if (i == 0 || after == before || (limit && json_array_size(all) >= limit))
			break;
	}
	cli_client_free(c);
	if (rc != CLI_OK)
		goto out_json;
	if (o.json) {
		json_t *j = json_pack("{s:O}", "events", all);

		print_json(j);
		json_decref(j);
	} else {
		rows = json_array();
		json_array_foreach(all, i, e) json_array_append_new(rows, event_row(e));
		table_print(heads, VOUCH_ARRAY_LEN(heads), rows);
		json_decref(rows);
	}
out_json:
	json_decref(all);
	return rc;
}
