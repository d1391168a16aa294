/*
 * vouch — the admin CLI. The site commands talk to vouchd's admin REST API with the site's admin
 * credential (mutual TLS, the key in a PKCS#11 token); the offline tools inspect and verify
 * vouch's COSE objects and credentials without trusting the operator.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "vouch/log.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vouch [--data DIR] [--server URL] <command> [options]\n"
	    "\n"
	    "site commands (talk to vouchd; need --data DIR, the directory of vouchd init):\n"
	    "  vouch --data DIR enrol-token create --device ID [--profile P] [--hours H]\n"
	    "                                     [--san S ...]\n"
	    "                                          a one-time EST enrolment token, on stdout\n"
	    "  vouch --data DIR cert list [--device ID] [--status valid|revoked|expired]\n"
	    "  vouch --data DIR cert show SERIAL [--pem]\n"
	    "  vouch --data DIR cert revoke SERIAL [--reason R]\n"
	    "  vouch --data DIR cert revoke --device ID [--reason R]\n"
	    "  vouch --data DIR cert batch --profile P --prefix X --keys FILE [--out DIR]\n"
	    "                                          one certificate per public key\n"
	    "  vouch --data DIR ca show [--pem]         the CA certificates, CRL number\n"
	    "  vouch --data DIR events [--after SEQ] [--limit N]\n"
	    "                                          the site's event log\n"
	    "\n");
	cmd_people_usage(f);
	fprintf(f, "\n");
	cmd_dir_usage(f);
	fprintf(
	    f,
	    "\n"
	    "  The server is the https line of DIR/vouchd.addr (written by the running vouchd)\n"
	    "  or --server URL; it is trusted through DIR/ca/chain.pem. The client presents\n"
	    "  DIR/admin/admin.pem with its key from the PKCS#11 token \"vouch-admin\"\n"
	    "  (SoftHSM2 configuration DIR/softhsm2.conf, PIN file DIR/admin/token.pin).\n"
	    "  Tables by default; --json prints the server's JSON.\n"
	    "  Exit status: 0 done, 1 refused by the server (its error is printed),\n"
	    "  2 usage or connection error.\n"
	    "\n"
	    "offline tools (no server needed):\n"
	    "  vouch cose dump [FILE]                  decode a COSE object / CWT strictly, print "
	    "JSON\n"
	    "  vouch cwt verify --key KEY [options] [FILE]\n"
	    "                                          verify a signed CWT, print its claims\n"
	    "\n"
	    "  FILE defaults to standard input. KEY is a PEM public key or a CBOR COSE_Key.\n"
	    "  Exit status: 0 valid, 1 refused (bad signature, expired, malformed), 2 error.\n"
	    "\n"
	    "vouch <command> --help for the options of a command.\n");
}

/* --name VALUE or --name=VALUE at argv[*i]; advances *i past what it consumed. */
static bool global_opt(const char *name, int argc, char **argv, int *i, const char **value)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return false;
	if (a[n] == '=') {
		*value = a + n + 1;
		return true;
	}
	if (a[n] != '\0')
		return false;
	if (*i + 1 >= argc) {
		*value = NULL;
		return true;
	}
	*value = argv[++*i];
	return true;
}

int main(int argc, char **argv)
{
	struct cli_site site = {0};
	const char *v;
	int i;

	/* Library notes (token opened, key loaded) are not for a command's user; warnings are. */
	vouch_log_init("vouch", VOUCH_LOG_WARN, NULL);
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CLI_OK;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("vouch %s (crypto: %s)\n", VOUCH_VERSION, vouch_crypto_backend());
			return CLI_OK;
		}
		if (global_opt("--data", argc, argv, &i, &v)) {
			site.data_dir = v;
		} else if (global_opt("--server", argc, argv, &i, &v)) {
			site.server = v;
		} else {
			fprintf(stderr, "vouch: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return CLI_ERROR;
		}
		if (v == NULL) {
			fprintf(stderr, "vouch: %s wants a value\n", argv[i]);
			return CLI_ERROR;
		}
	}
	if (i < argc && strcmp(argv[i], "-h") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (i >= argc) {
		usage(stderr);
		return CLI_ERROR;
	}
	argc -= i;
	argv += i;
	if (strcmp(argv[0], "cose") == 0)
		return cmd_cose(argc, argv);
	if (strcmp(argv[0], "cwt") == 0)
		return cmd_cwt(argc, argv);
	/* Site replies may hold one-time tokens: jansson wipes what it frees from here on. */
	cli_json_wipe_on_free();
	if (strcmp(argv[0], "enrol-token") == 0)
		return cmd_enrol_token(&site, argc, argv);
	if (strcmp(argv[0], "cert") == 0)
		return cmd_cert(&site, argc, argv);
	if (strcmp(argv[0], "ca") == 0)
		return cmd_ca(&site, argc, argv);
	if (strcmp(argv[0], "events") == 0)
		return cmd_events(&site, argc, argv);
	if (strcmp(argv[0], "user") == 0 || strcmp(argv[0], "phone") == 0 ||
	    strcmp(argv[0], "credential") == 0 || strcmp(argv[0], "issuer-key") == 0 ||
	    (strcmp(argv[0], "policy") == 0 && argc > 1 && strcmp(argv[1], "explain") == 0))
		return cmd_people(&site, argc, argv);
	if (strcmp(argv[0], "zone") == 0 || strcmp(argv[0], "resource") == 0 ||
	    strcmp(argv[0], "training") == 0 || strcmp(argv[0], "role") == 0 ||
	    strcmp(argv[0], "policy") == 0)
		return cmd_dir(&site, argc, argv);
	fprintf(stderr, "vouch: unknown command '%s'\n", argv[0]);
	usage(stderr);
	return CLI_ERROR;
}
