/*
 * The directory commands of the admin CLI (issue 4; docs/directory.md): zones, resources,
 * trainings and roles, and `policy load` for a whole policy document. Each is one call of
 * vouchd's admin API, shown as a table or, with --json, as the server's JSON. vouchd validates
 * every object; its refusal (with the path of the offending value) is printed as it is.
 */
#define _GNU_SOURCE /* getopt_long */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#define PATH_CAP       1024
#define TABLE_COLS_MAX 8
#define CELL_MAX       256
#define VALIDITY_MAX   36600UL

struct cmd_opts {
	struct cli_site site;
	bool json;
};

/* A command word and what the API calls it. */
struct dir_kind {
	const char *word;   /* zone */
	const char *plural; /* zones: the API's collection */
};

static const struct dir_kind dir_kinds[] = {
    {"zone", "zones"},
    {"resource", "resources"},
    {"training", "trainings"},
    {"role", "roles"},
};

/* ---- shared helpers (as in cmd_site.c) ---- */

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

/* A field for the terminal: strings as they are, null or missing as "-", anything else as
 * compact JSON; control characters become '?'; cut to fit buf. */
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

/* One call: open the client, "/plural" or "/plural/<escaped name>", close. */
static int call(const struct cmd_opts *o, const char *method, const char *plural, const char *name,
                json_t *body, json_t **reply)
{
	struct cli_client *c;
	char path[PATH_CAP];
	char *e = NULL;
	int n, rc = cli_client_open(&o->site, &c);

	*reply = NULL;
	if (rc != CLI_OK)
		return rc;
	if (name != NULL) {
		e = cli_client_escape(c, name);
		if (e == NULL) {
			fprintf(stderr, "vouch: out of memory\n");
			rc = CLI_ERROR;
			goto out_client;
		}
	}
	n = snprintf(path, sizeof(path), "/%s%s%s", plural, e != NULL ? "/" : "",
	             e != NULL ? e : "");
	if (n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "vouch: request too long\n");
		rc = CLI_ERROR;
		goto out_client;
	}
	rc = cli_client_call(c, method, path, body, reply);
out_client:
	free(e);
	cli_client_free(c);
	return rc;
}

/* A JSON object from a file ("-": standard input). */
static json_t *load_object(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	json_error_t jerr;
	json_t *j;

	if (cli_read_file(path, &buf, &len) != CLI_OK)
		return NULL;
	j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (j == NULL) {
		fprintf(stderr, "vouch: %s: not JSON: %s (line %d)\n", path, jerr.text, jerr.line);
		return NULL;
	}
	if (!json_is_object(j)) {
		fprintf(stderr, "vouch: %s: expected a JSON object\n", path);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ---- usage ---- */

void cmd_dir_usage(FILE *f)
{
	fprintf(f,
	        "directory and policy (site commands; vouch <command> --help):\n"
	        "  vouch --data DIR zone|resource|training|role list\n"
	        "  vouch --data DIR zone|resource|training|role show NAME\n"
	        "  vouch --data DIR zone|resource|training|role remove NAME\n"
	        "  vouch --data DIR zone add NAME [--description D]\n"
	        "  vouch --data DIR resource add ID --type T --zone Z [--tag T ...]\n"
	        "             [--description D]\n"
	        "  vouch --data DIR training add NAME [--validity-days N] [--description D]\n"
	        "  vouch --data DIR role add NAME --file ROLE.json | [--admin] [--description D]\n"
	        "  vouch --data DIR zone|resource|training|role add NAME --file OBJECT.json\n"
	        "                                          create or replace one object\n"
	        "  vouch --data DIR policy load FILE       install a policy document (zones,\n"
	        "                                          trainings, resources, roles) at once\n");
}

/* "  <word> <rest>" padded to the description column, then the description. */
static void usage_line(FILE *f, const char *word, const char *rest, const char *what)
{
	int n = fprintf(f, "  %s %s", word, rest);

	fprintf(f, "%*s%s\n", n < 31 ? 31 - n : 1, "", what);
}

static void kind_usage(FILE *f, const char *word)
{
	fprintf(f, "usage: vouch --data DIR %s <subcommand> [options]\n", word);
	usage_line(f, word, "list", "every one, a table");
	usage_line(f, word, "show NAME", "one, with its JSON object");
	usage_line(f, word, "remove NAME", "delete it (refused while something refers to it)");
	usage_line(f, word, "add NAME --file F", "create or replace it from F ('-': stdin)");
	if (strcmp(word, "zone") == 0)
		fprintf(
		    f,
		    "  zone add NAME [--description D]\n"
		    "                               NAME is a path like plant/hall-a; its parent\n"
		    "                               must exist\n");
	else if (strcmp(word, "resource") == 0)
		fprintf(f,
		        "  resource add ID --type T --zone Z [--tag T ...] [--description D]\n"
		        "                               T: sensor machine door locker information\n"
		        "                               storage gateway area\n");
	else if (strcmp(word, "training") == 0)
		fprintf(f, "  training add NAME [--validity-days N] [--description D]\n");
	else
		fprintf(f,
		        "  role add NAME [--admin] [--description D]\n"
		        "                               a role without grants (grants: --file)\n");
	fprintf(f, "  docs/directory.md has the schemas.\n"
	           "options of every subcommand:\n" SITE_HELP);
}

static void policy_usage(FILE *f)
{
	fprintf(f, "usage: vouch --data DIR policy load FILE [--json]\n"
	           "  Install a policy document {\"zones\": {...}, \"trainings\": {...},\n"
	           "  \"resources\": {...}, \"roles\": {...}} in one transaction: every object is\n"
	           "  created or replaced, nothing changes when anything is refused. Objects not\n"
	           "  in the document stay. FILE '-' is standard input.\n"
	           "  (vouch policy explain: see vouch user --help.)\n" SITE_HELP);
}

/* ---- list ---- */

static json_t *list_row(const char *word, const json_t *item)
{
	const json_t *obj = json_object_get(item, "object");
	json_t *row = json_array();
	char buf[CELL_MAX];
	char num[32];

	json_array_append_new(
	    row, json_string_nocheck(field_text(json_object_get(item, "name"), buf, sizeof(buf))));
	if (strcmp(word, "resource") == 0) {
		json_array_append_new(row, json_string_nocheck(field_text(
		                               json_object_get(obj, "type"), buf, sizeof(buf))));
		json_array_append_new(row, json_string_nocheck(field_text(
		                               json_object_get(obj, "zone"), buf, sizeof(buf))));
		json_array_append_new(row, json_string_nocheck(field_text(
		                               json_object_get(obj, "tags"), buf, sizeof(buf))));
	} else if (strcmp(word, "training") == 0) {
		json_array_append_new(
		    row, json_string_nocheck(
		             field_text(json_object_get(obj, "validity_days"), buf, sizeof(buf))));
	} else if (strcmp(word, "role") == 0) {
		json_array_append_new(
		    row, json_string(json_is_true(json_object_get(obj, "admin")) ? "yes" : "no"));
		snprintf(num, sizeof(num), "%zu", json_array_size(json_object_get(obj, "grants")));
		json_array_append_new(row, json_string(num));
	}
	json_array_append_new(row, json_string_nocheck(field_text(json_object_get(item, "version"),
	                                                          buf, sizeof(buf))));
	if (strcmp(word, "resource") != 0)
		json_array_append_new(
		    row, json_string_nocheck(
		             field_text(json_object_get(obj, "description"), buf, sizeof(buf))));
	return row;
}

static int dir_list(struct cmd_opts *o, const struct dir_kind *k)
{
	static const char *const zone_heads[] = {"NAME", "VERSION", "DESCRIPTION"};
	static const char *const res_heads[] = {"ID", "TYPE", "ZONE", "TAGS", "VERSION"};
	static const char *const train_heads[] = {"NAME", "VALIDITY DAYS", "VERSION",
	                                          "DESCRIPTION"};
	static const char *const role_heads[] = {"NAME", "ADMIN", "GRANTS", "VERSION",
	                                         "DESCRIPTION"};
	const char *const *heads = zone_heads;
	size_t ncols = VOUCH_ARRAY_LEN(zone_heads), i;
	json_t *reply = NULL, *items, *rows, *item;
	int rc = call(o, "GET", k->plural, NULL, NULL, &reply);

	if (rc != CLI_OK)
		return rc;
	items = json_object_get(reply, "items");
	if (o->json) {
		print_json(reply);
	} else if (!json_is_array(items)) {
		fprintf(stderr, "vouch: the server's reply holds no list\n");
		rc = CLI_ERROR;
	} else {
		if (strcmp(k->word, "resource") == 0) {
			heads = res_heads;
			ncols = VOUCH_ARRAY_LEN(res_heads);
		} else if (strcmp(k->word, "training") == 0) {
			heads = train_heads;
			ncols = VOUCH_ARRAY_LEN(train_heads);
		} else if (strcmp(k->word, "role") == 0) {
			heads = role_heads;
			ncols = VOUCH_ARRAY_LEN(role_heads);
		}
		rows = json_array();
		json_array_foreach(items, i, item)
		    json_array_append_new(rows, list_row(k->word, item));
		table_print(heads, ncols, rows);
		json_decref(rows);
	}
	json_decref(reply);
	return rc;
}

/* ---- show, remove ---- */

static void print_item(const char *word, const json_t *reply)
{
	char name[CELL_MAX], version[32];

	printf("%s %s, version %s\n", word,
	       field_text(json_object_get(reply, "name"), name, sizeof(name)),
	       field_text(json_object_get(reply, "version"), version, sizeof(version)));
	if (json_object_get(reply, "object") != NULL)
		print_json(json_object_get(reply, "object"));
}

static int dir_show(struct cmd_opts *o, const struct dir_kind *k, const char *name)
{
	json_t *reply = NULL;
	int rc = call(o, "GET", k->plural, name, NULL, &reply);

	if (rc != CLI_OK)
		return rc;
	if (o->json)
		print_json(reply);
	else
		print_item(k->word, reply);
	json_decref(reply);
	return CLI_OK;
}

static int dir_remove(struct cmd_opts *o, const struct dir_kind *k, const char *name)
{
	json_t *reply = NULL;
	char version[32];
	int rc = call(o, "DELETE", k->plural, name, NULL, &reply);

	if (rc != CLI_OK)
		return rc;
	if (o->json)
		print_json(reply);
	else
		printf("%s %s removed (was version %s)\n", k->word, name,
		       field_text(json_object_get(reply, "version"), version, sizeof(version)));
	json_decref(reply);
	return CLI_OK;
}

/* ---- add ---- */

struct add_args {
	const char *file;
	const char *description;
	const char *type;
	const char *zone;
	json_t *tags;
	unsigned long validity_days;
	bool has_validity;
	bool admin;
};

/* The object from the options of kind word; NULL after a message. */
static json_t *add_body(const char *word, const struct add_args *a)
{
	bool any_option = a->description != NULL || a->type != NULL || a->zone != NULL ||
	                  json_array_size(a->tags) > 0 || a->has_validity || a->admin;
	bool is_res = strcmp(word, "resource") == 0;
	bool is_train = strcmp(word, "training") == 0, is_role = strcmp(word, "role") == 0;
	json_t *body;

	if (a->file != NULL) {
		if (any_option) {
			fprintf(stderr, "vouch: %s add: either --file or options, not both\n",
			        word);
			return NULL;
		}
		return load_object(a->file);
	}
	if ((!is_res && (a->type != NULL || a->zone != NULL || json_array_size(a->tags) > 0)) ||
	    (!is_train && a->has_validity) || (!is_role && a->admin)) {
		fprintf(stderr, "vouch: %s add: an option of another kind (see --help)\n", word);
		return NULL;
	}
	if (is_res && (a->type == NULL || a->zone == NULL)) {
		fprintf(stderr, "vouch: resource add: --type and --zone are required\n");
		return NULL;
	}
	body = json_object();
	if (body == NULL)
		return NULL;
	if ((a->type != NULL && set_arg(body, "type", a->type) != CLI_OK) ||
	    (a->zone != NULL && set_arg(body, "zone", a->zone) != CLI_OK) ||
	    (a->description != NULL && set_arg(body, "description", a->description) != CLI_OK)) {
		json_decref(body);
		return NULL;
	}
	if (json_array_size(a->tags) > 0)
		json_object_set(body, "tags", a->tags);
	if (a->has_validity)
		json_object_set_new(body, "validity_days",
		                    json_integer((json_int_t)a->validity_days));
	if (is_role) {
		if (a->admin)
			json_object_set_new(body, "admin", json_true());
		json_object_set_new(body, "grants", json_array());
	}
	return body;
}

static int dir_add(struct cmd_opts *o, const struct dir_kind *k, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"file", required_argument, NULL, 'f'},
	    {"description", required_argument, NULL, 'd'},
	    {"type", required_argument, NULL, 't'},
	    {"zone", required_argument, NULL, 'z'},
	    {"tag", required_argument, NULL, 'g'},
	    {"validity-days", required_argument, NULL, 'v'},
	    {"admin", no_argument, NULL, 'a'},
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	struct add_args a = {0};
	json_t *body = NULL, *reply = NULL;
	char version[32];
	const char *name;
	int opt, rc = CLI_ERROR;

	a.tags = json_array();
	if (a.tags == NULL)
		return CLI_ERROR;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		switch (opt) {
		case 'f':
			a.file = optarg;
			break;
		case 'd':
			a.description = optarg;
			break;
		case 't':
			a.type = optarg;
			break;
		case 'z':
			a.zone = optarg;
			break;
		case 'g':
			if (json_array_append_new(a.tags, json_string(optarg)) != 0) {
				fprintf(stderr, "vouch: --tag must be UTF-8 text\n");
				goto out_json;
			}
			break;
		case 'v':
			if (!parse_uint(optarg, VALIDITY_MAX, &a.validity_days) ||
			    a.validity_days == 0) {
				fprintf(stderr, "vouch: --validity-days wants 1..%lu\n",
				        VALIDITY_MAX);
				goto out_json;
			}
			a.has_validity = true;
			break;
		case 'a':
			a.admin = true;
			break;
		case 'h':
			kind_usage(stdout, k->word);
			rc = CLI_OK;
			goto out_json;
		default:
			kind_usage(stderr, k->word);
			goto out_json;
		}
	}
	if (argc - optind != 1) {
		kind_usage(stderr, k->word);
		goto out_json;
	}
	name = argv[optind];
	body = add_body(k->word, &a);
	if (body == NULL)
		goto out_json;
	rc = call(o, "PUT", k->plural, name, body, &reply);
	if (rc != CLI_OK)
		goto out_json;
	if (o->json)
		print_json(reply);
	else
		printf("%s %s: version %s\n", k->word, name,
		       field_text(json_object_get(reply, "version"), version, sizeof(version)));
out_json:
	json_decref(reply);
	json_decref(body);
	json_decref(a.tags);
	return rc;
}

/* ---- policy load ---- */

static int policy_load(struct cmd_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	static const char *const sections[] = {"zones", "trainings", "resources", "roles"};
	json_t *doc = NULL, *reply = NULL, *changed, *c;
	char buf[CELL_MAX], kind[32], version[32];
	size_t i;
	int opt, rc = CLI_ERROR;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		if (opt == 'h') {
			policy_usage(stdout);
			return CLI_OK;
		}
		policy_usage(stderr);
		return CLI_ERROR;
	}
	if (argc - optind != 1) {
		policy_usage(stderr);
		return CLI_ERROR;
	}
	doc = load_object(argv[optind]);
	if (doc == NULL)
		return CLI_ERROR;
	rc = call(o, "POST", "policy", NULL, doc, &reply);
	if (rc != CLI_OK)
		goto out_json;
	if (o->json) {
		print_json(reply);
		goto out_json;
	}
	printf("policy loaded:");
	for (i = 0; i < VOUCH_ARRAY_LEN(sections); i++)
		printf(" %s %s%s",
		       field_text(json_object_get(reply, sections[i]), buf, sizeof(buf)),
		       sections[i], i + 1 < VOUCH_ARRAY_LEN(sections) ? "," : "\n");
	changed = json_object_get(reply, "changed");
	if (json_array_size(changed) == 0)
		printf("nothing changed\n");
	json_array_foreach(changed, i, c)
	{
		printf("  %s %s: version %s\n",
		       field_text(json_object_get(c, "kind"), kind, sizeof(kind)),
		       field_text(json_object_get(c, "name"), buf, sizeof(buf)),
		       field_text(json_object_get(c, "version"), version, sizeof(version)));
	}
out_json:
	json_decref(reply);
	json_decref(doc);
	return rc;
}

/* ---- dispatch ---- */

/* list, show NAME, remove NAME: no options but the site's. */
static int simple(struct cmd_opts *o, const struct dir_kind *k, const char *sub, int argc,
                  char **argv)
{
	static const struct option opts[] = {
	    SITE_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	bool list = strcmp(sub, "list") == 0;
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (site_option(opt, o))
			continue;
		if (opt == 'h') {
			kind_usage(stdout, k->word);
			return CLI_OK;
		}
		kind_usage(stderr, k->word);
		return CLI_ERROR;
	}
	if (argc - optind != (list ? 0 : 1)) {
		kind_usage(stderr, k->word);
		return CLI_ERROR;
	}
	if (list)
		return dir_list(o, k);
	if (strcmp(sub, "show") == 0)
		return dir_show(o, k, argv[optind]);
	return dir_remove(o, k, argv[optind]);
}

int cmd_dir(const struct cli_site *site, int argc, char **argv)
{
	struct cmd_opts o = {.site = *site};
	const struct dir_kind *k = NULL;
	const char *sub;

	if (strcmp(argv[0], "policy") == 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			policy_usage(stdout);
			return CLI_OK;
		}
		if (argc < 2 || strcmp(argv[1], "load") != 0) {
			policy_usage(stderr);
			return CLI_ERROR;
		}
		return policy_load(&o, argc - 1, argv + 1);
	}
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(dir_kinds); i++) {
		if (strcmp(argv[0], dir_kinds[i].word) == 0)
			k = &dir_kinds[i];
	}
	if (k == NULL) {
		cmd_dir_usage(stderr);
		return CLI_ERROR;
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		kind_usage(stdout, k->word);
		return CLI_OK;
	}
	if (argc < 2) {
		kind_usage(stderr, k->word);
		return CLI_ERROR;
	}
	sub = argv[1];
	argc--, argv++;
	if (strcmp(sub, "add") == 0)
		return dir_add(&o, k, argc, argv);
	if (strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0 || strcmp(sub, "remove") == 0)
		return simple(&o, k, sub, argc, argv);
	fprintf(stderr, "vouch: %s: unknown subcommand '%s'\n", k->word, sub);
	kind_usage(stderr, k->word);
	return CLI_ERROR;
}
