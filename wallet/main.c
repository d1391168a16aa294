/*
 * vouch-wallet: the phone side of vouch as a command-line program (docs/wallet.md). It logs a
 * person in (password + TOTP), keeps the phone key inside its own PKCS#11 token unlocked by the
 * person's PIN, and holds their credential and the newest revocation list.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "vouch/common.h"
#include "vouch/log.h"
#include "wallet.h"

static void usage(FILE *f)
{
	fputs(
	    "usage: vouch-wallet --wallet WDIR [--pin-file FILE] COMMAND [OPTIONS]\n"
	    "\n"
	    "commands:\n"
	    "  login --server URL --ca CAFILE --user NAME --password-file FILE --totp CODE\n"
	    "        create the wallet (first use), log in with password and one-time code,\n"
	    "        register the phone key and fetch a credential and the revocation list\n"
	    "  refresh                 a new credential over mutual TLS, and the newest list\n"
	    "  run [--interval S]      stay up: renew the credential 2/3 through its life, the\n"
	    "                          list every S seconds (default 30); SIGTERM stops it\n"
	    "  credential export       the raw credential (CWT) to stdout, if valid, not revoked\n"
	    "  credential show         the credential's claims as JSON\n"
	    "  revocations export      the raw revocation list (CBOR) to stdout\n"
	    "  status                  what the wallet holds and for how long\n"
	    "  commission coap://HOST:PORT --code CODE [--resource NAME]\n"
	    "        commission a new sensor (online; needs a credential allowing commission in\n"
	    "        its zone): EDHOC, the sensor's key checked against its pairing code, its CSR\n"
	    "        to vouchd, the sealed bundle back to the sensor. --resource: the sensor IS\n"
	    "        that existing resource of the directory (same type and zone), and decides\n"
	    "        as it: grants naming its id or tags apply there\n"
	    "  access coap://HOST:PORT ACTION\n"
	    "        ask a sensor for ACTION (enter, open, read, operate, ...), online or not:\n"
	    "        the sensor's certificate and key are checked (spoofing is reported), the\n"
	    "        newest revocation list is offered, the credential presented; the decision\n"
	    "        and its reason on stdout (exit 0 granted, 1 denied, 2 error)\n"
	    "  decommission coap://HOST:PORT\n"
	    "        take a sensor out of service (online; needs commission there): it destroys\n"
	    "        its key and wipes its state, vouchd revokes its certificate and records it\n"
	    "        (vouchd unreachable: exit 3, the sensor's last event is kept and handed over\n"
	    "        by the next refresh)\n"
	    "\n"
	    "The unlock PIN (standing in for the phone's biometric unlock) guards the phone key;\n"
	    "login, refresh and run need it. It is chosen at the first login and read from\n"
	    "--pin-file FILE (a file only its owner may read, mode 0600), else from the\n"
	    "environment variable VOUCH_WALLET_PIN, else asked on the terminal without echo.\n"
	    "It is never taken from an argument; neither is the password (--password-file).\n"
	    "\n"
	    "exit status: 0 done, 1 refused (login failed, wrong PIN, credential missing, expired\n"
	    "or revoked), 2 usage or other error, 3 offline (the server could not be reached)\n",
	    f);
}

int main(int argc, char **argv)
{
	struct wallet w;
	int i, rc = WALLET_ERROR;
	const char *cmd;

	/* Replies hold session tokens and requests the password: wipe whatever jansson frees. */
	vouch_https_json_wipe_on_free();
	vouch_log_init(W_PROG, VOUCH_LOG_WARN, NULL);
	memset(&w, 0, sizeof(w));
	w.lock_fd = -1;
	vouch_key_init(&w.issuer);
	vouch_key_init(&w.revlist_key);
	vouch_key_init(&w.phone_key);
	vouch_key_init(&w.phone_pub);

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return WALLET_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("vouch-wallet %s\n", VOUCH_VERSION);
			return WALLET_OK;
		} else if (strcmp(argv[i], "--wallet") == 0 && i + 1 < argc) {
			w.dir = argv[++i];
		} else if (strcmp(argv[i], "--pin-file") == 0 && i + 1 < argc) {
			w.pin_file = argv[++i];
		} else {
			w_err("unknown or incomplete option %s", argv[i]);
			usage(stderr);
			return WALLET_ERROR;
		}
	}
	if (i >= argc || w.dir == NULL || w.dir[0] == '\0') {
		usage(stderr);
		return WALLET_ERROR;
	}
	cmd = argv[i];
	argc -= i;
	argv += i;
	if (strcmp(cmd, "login") == 0) {
		rc = w_cmd_login(&w, argc, argv);
	} else if (strcmp(cmd, "refresh") == 0) {
		rc = w_cmd_refresh(&w, argc, argv);
	} else if (strcmp(cmd, "run") == 0) {
		rc = w_cmd_run(&w, argc, argv);
	} else if (strcmp(cmd, "credential") == 0) {
		rc = w_cmd_credential(&w, argc, argv);
	} else if (strcmp(cmd, "revocations") == 0) {
		rc = w_cmd_revocations(&w, argc, argv);
	} else if (strcmp(cmd, "status") == 0) {
		rc = w_cmd_status(&w, argc, argv);
	} else if (strcmp(cmd, "commission") == 0) {
		rc = w_cmd_commission(&w, argc, argv);
	} else if (strcmp(cmd, "access") == 0) {
		rc = w_cmd_access(&w, argc, argv);
	} else if (strcmp(cmd, "decommission") == 0) {
		rc = w_cmd_decommission(&w, argc, argv);
	} else {
		w_err("unknown command %s", cmd);
		usage(stderr);
	}
	w_wallet_clear(&w);
	return rc;
}
