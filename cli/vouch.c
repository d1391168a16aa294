/*
 * vouch — the admin CLI. The site-management commands arrive with vouchd (REST API); what stands
 * now are the offline tools anyone can use to inspect and verify vouch's COSE objects and
 * credentials without trusting the operator.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: vouch <command> [options]\n"
		   "\n"
		   "offline tools (no server needed):\n"
		   "  vouch cose dump [FILE]                  decode a COSE object / CWT strictly, print JSON\n"
		   "  vouch cwt verify --key KEY [options] [FILE]\n"
		   "                                          verify a signed CWT, print its claims\n"
		   "\n"
		   "  FILE defaults to standard input. KEY is a PEM public key or a CBOR COSE_Key.\n"
		   "  Exit status: 0 valid, 1 refused (bad signature, expired, malformed), 2 error.\n"
		   "  vouch <command> --help for the options of a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_ERROR;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("vouch %s (crypto: %s)\n", VOUCH_VERSION, vouch_crypto_backend());
		return CLI_OK;
	}
	if (strcmp(argv[1], "cose") == 0)
		return cmd_cose(argc - 1, argv + 1);
	if (strcmp(argv[1], "cwt") == 0)
		return cmd_cwt(argc - 1, argv + 1);
	fprintf(stderr, "vouch: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CLI_ERROR;
}
