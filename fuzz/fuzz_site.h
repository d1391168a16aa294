/*
 * Shared pieces of the vouchd fuzz targets: a private temporary directory that disappears when
 * the process ends, however it ends (a finding kills it with _Exit or abort, past atexit), a CA
 * site in it (its own SoftHSM2 configuration, token and hierarchy) and optionally the service
 * on it (SQLite store, cached encodings, CRLs) with a way to put requests through the handlers
 * as server/http.c's dispatcher does; all set up once per process from LLVMFuzzerInitialize.
 *
 * These targets do not link fuzz_common.c (whose LLVMFuzzerInitialize imports the COSE keys);
 * fuzz_fail() is defined here for them.
 */
#ifndef VOUCH_FUZZ_SITE_H
#define VOUCH_FUZZ_SITE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "ca.h"
#include "config.h"
#include "fuzz.h"
#include "handlers.h"
#include "store.h"

#define FUZZ_SITE_NAME "fuzz"
#define FUZZ_SITE_URL  "http://127.0.0.1:8080"

struct fuzz_site {
	struct vouch_p11 *p11;
	struct vouch_ca *ca;
	EVP_PKEY *issuing_pub; /* the issuing CA's public key, decoded once */
	X509 *admin;           /* DIR/admin/admin.pem when made (fuzz_site_init(true)) */
};

extern struct fuzz_site fuzz_site;

/* Logs of the code under test go to /dev/null (thousands of refusals a second), unless the
 * environment has FUZZ_LOG set. */
void fuzz_quiet_logs(void);

/* The directory, created on first use: on /dev/shm when there is one (the fsyncs of SQLite and
 * SoftHSM2 are free there), else in $TMPDIR or /tmp. Removed at exit, and by a watchdog process
 * when this one dies without exiting. */
const char *fuzz_tmpdir(void);

/* dir/rel into buf; aborts when it does not fit. */
const char *fuzz_path(const char *rel, char *buf, size_t cap);

/* Run fn at exit before the site is closed (store and service teardown of a target). */
void fuzz_at_exit(void (*fn)(void));

/* The site in fuzz_tmpdir(): token "vouch-ca", the hierarchy of site FUZZ_SITE_NAME. With
 * with_admin, also an admin certificate (for a software key: the API only compares
 * certificates) in DIR/admin/admin.pem, and the CA opened again so that it knows it. */
void fuzz_site_init(bool with_admin);

/* vouch_ca_issue_csr() of csr for subj, and every invariant of its result: only documented
 * refusals, nothing left in `out` on failure; on success a certificate signed by the issuing CA
 * for exactly the CSR's key, which OpenSSL's own parser also reads as a validly signed CSR.
 * Returns vouch_ca_issue_csr's result. */
int fuzz_issue_csr_checked(const uint8_t *csr, size_t len, const struct vouch_ca_subject *subj);

/* ---- the service ---- */

struct fuzz_service {
	struct vouch_config cfg;
	struct event_base *base; /* never run: the CRL timer stays armed */
	struct vouch_store *store;
	struct vouch_service svc;
	bool up;
};

extern struct fuzz_service fuzz_service;

/* The service on the site (after fuzz_site_init(true)), on a fresh store. */
void fuzz_service_init(void);

/* A fresh store, holding what every fresh store holds, and the service on it again: the admin
 * certificate as `vouchd init` records it (device "admin", its fingerprint in the meta table)
 * and two certificates of device "pump-7" (see fuzz_fixture_serial). Stateful targets call it
 * every so often, so that what one input did does not decide the fate of all later ones. */
void fuzz_service_reset(void);

/* Canonical serial of pump-7's certificate i (1 or 2): the same in every fresh store of the
 * process. */
const char *fuzz_fixture_serial(unsigned i);

/* Whether an input revoked the admin certificate (the API then refuses everything). */
bool fuzz_admin_revoked(void);

/*
 * One request as dispatch() in server/http.c builds it and routes it (HTTPS: EST or the API,
 * with the admin certificate as the verified client certificate; plain HTTP: CRLs, CA
 * certificates, OCSP). uri is the request-target; the method is its name ("GET", "POST", ...;
 * others are TRACE). Returns the status the request was answered with, or 0 when the request
 * never reaches a handler (a request-target evhttp would refuse, a malformed query, a body over
 * the limit). Checks that it is answered exactly once. Logs of the request go to stderr when
 * FUZZ_LOG is set, or when it was answered with a 5xx.
 */
int fuzz_request(bool tls, const char *method, const char *uri, const char *content_type,
                 const uint8_t *body, size_t body_len);

#endif
