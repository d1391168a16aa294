/*
 * vouchd's CA on a CSR (vouch_ca_issue_csr, server/ca.c): the input is the DER the EST handlers
 * hand it. The CA is real: a SoftHSM2 token in a temporary directory, the hierarchy made once
 * per process, every accepted CSR signed in the token. The input's length picks one of the
 * four enrolment profiles (a service gets SANs of both kinds), so mutations reach each.
 * Invariants: see fuzz_issue_csr_checked() (fuzz_site.h).
 *
 * Seeds (fuzz/corpus/csr/): `openssl req -new -outform DER` for P-256 (SHA-256/384/512),
 * Ed25519, RSA, P-384, Ed448, a compressed and an explicit-parameters P-256 key, with and
 * without extension requests and a challengePassword.
 */
#define _POSIX_C_SOURCE 200809L /* PATH_MAX (server/config.h) */
#include "fuzz_site.h"

static const char *const sans[] = {"fuzz.example", "192.0.2.7", "2001:db8::7"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_site_init(false);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vouch_ca_subject subj = {.id = "pump-7"};

	subj.profile = (enum vouch_ca_profile)(size % 4);
	if (subj.profile == VOUCH_CA_PROFILE_SERVICE) {
		subj.id = "svc.fuzz.example";
		subj.sans = sans;
		subj.sans_count = VOUCH_ARRAY_LEN(sans);
	}
	fuzz_issue_csr_checked(data, size, &subj);
	return 0;
}
