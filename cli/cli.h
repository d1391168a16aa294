/* vouch admin CLI: shared between its command files. */
#ifndef VOUCH_CLI_H
#define VOUCH_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "vouch/crypto.h"

/* Exit codes of every vouch command. */
#define CLI_OK      0 /* done; for checks: valid / granted */
#define CLI_INVALID 1 /* checked and refused: bad signature, expired, malformed input */
#define CLI_ERROR   2 /* usage, I/O or internal error */

#define CLI_MAX_INPUT (1u << 20) /* largest input file the offline tools read */

/* Read a whole file ("-" = stdin) of at most CLI_MAX_INPUT bytes into a fresh buffer. */
int cli_read_file(const char *path, uint8_t **buf, size_t *len);

/* Load a public key: PEM SubjectPublicKeyInfo ("BEGIN PUBLIC KEY") or a CBOR COSE_Key. */
int cli_load_public_key(const char *path, struct vouch_key *key);

int cmd_cose(int argc, char **argv);
int cmd_cwt(int argc, char **argv);

/* Site commands (cmd_site.c): argv[0] is the command word; site holds the global options. */
struct cli_site;
int cmd_enrol_token(const struct cli_site *site, int argc, char **argv);
int cmd_cert(const struct cli_site *site, int argc, char **argv);
int cmd_ca(const struct cli_site *site, int argc, char **argv);
int cmd_events(const struct cli_site *site, int argc, char **argv);
/* People (cmd_people.c): user, phone, credential, issuer-key, "policy explain". */
int cmd_people(const struct cli_site *site, int argc, char **argv);
void cmd_people_usage(FILE *f);
/* Directory (cmd_dir.c): zone, resource, training, role, "policy load"; argv[0] is the word. */
int cmd_dir(const struct cli_site *site, int argc, char **argv);
void cmd_dir_usage(FILE *f);

#endif
