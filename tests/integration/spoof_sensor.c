/*
 * Test helper for test_sensor_attacks.sh: a spoofed sensor. It is the agent's own code (the PSA
 * flavour, so its key lives in its own secure element, and sensor/coap.c as the server) on a
 * device that copied everything public of a genuine, commissioned sensor: its state directory's
 * device certificate, device id, zone, type, trust anchors and revocation list. What cannot be
 * copied is the genuine sensor's secure-element key, so the spoof answers EDHOC with its own.
 *
 *   spoof_sensor csr SDIR CN OUT
 *       start an agent on SDIR (its own key made in SDIR's secure element when new) and write a
 *       PKCS#10 request for CN signed by that key to OUT (DER): for a certificate made outside
 *       the site (a self-made or another site's CA).
 *   spoof_sensor serve SDIR VICTIM_SDIR HOST:PORT [CERT]
 *       start an agent on SDIR (its own key), then take VICTIM_SDIR's provisioned state as its
 *       own, bypassing the start-up check that refuses a certificate whose key is not the
 *       element's, and serve CoAP on HOST:PORT until SIGTERM. CERT (DER) replaces the copied
 *       device certificate (e.g. one for the spoof's own key under another CA). The victim's
 *       directory is only read; SDIR's state is put back to its own at the stop.
 *
 * JSON-lines logs on stderr (the agent's own, e.g. "sensor.edhoc"); `spoof: ...` lines on
 * stdout. Exit status 0 after a clean stop, 1 on a failure, 2 on a usage error.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sensor.h"
#include "vouch/log.h"

#define SERVE_TICK_MS 200

static volatile sig_atomic_t stop_requested;

/* The agent and the spoof's own state: too big for the stack. */
static struct vouch_sensor agent;
static struct sensor_state own_state;
static uint8_t file_buf[SENSOR_CERT_MAX + 1];

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: spoof_sensor csr SDIR CN OUT\n"
	                "       spoof_sensor serve SDIR VICTIM_SDIR HOST:PORT [CERT]\n");
}

static int start_own(const char *sdir)
{
	struct sensor_config cfg = {sdir, NULL, NULL, NULL};
	int rc = sensor_start(&agent, &cfg);

	if (rc != VOUCH_OK) {
		fprintf(stderr, "spoof_sensor: cannot start an agent on %s: %s\n", sdir,
		        vouch_strerror(rc));
		return rc;
	}
	if (agent.st.provisioned) {
		/* Its own state must be its own: a provisioned one would be a genuine device. */
		fprintf(stderr, "spoof_sensor: %s is a provisioned sensor, not a fresh device\n",
		        sdir);
		sensor_stop(&agent);
		return VOUCH_ERR_INVALID;
	}
	printf("spoof: own key in %s/%s, pairing code %s\n", sdir, SENSOR_SE_DIR,
	       agent.pairing_code);
	return VOUCH_OK;
}

static int cmd_csr(const char *sdir, const char *cn, const char *out)
{
	uint8_t csr[1024];
	size_t len = 0;
	FILE *f;
	int rc = start_own(sdir);

	if (rc != VOUCH_OK)
		return 1;
	rc = sensor_csr_make(&agent.id, cn, csr, sizeof(csr), &len);
	sensor_stop(&agent);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "spoof_sensor: CSR: %s\n", vouch_strerror(rc));
		return 1;
	}
	f = fopen(out, "wb");
	if (f == NULL || fwrite(csr, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "spoof_sensor: cannot write %s\n", out);
		return 1;
	}
	printf("spoof: CSR for CN=%s written to %s\n", cn, out);
	return 0;
}

static int read_cert(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	*len = 0;
	if (f == NULL)
		return VOUCH_ERR_IO;
	n = fread(file_buf, 1, sizeof(file_buf), f);
	fclose(f);
	if (n == 0 || n > SENSOR_CERT_MAX)
		return VOUCH_ERR_INVALID;
	*len = n;
	return VOUCH_OK;
}

static int cmd_serve(const char *sdir, const char *victim, const char *listen, const char *cert)
{
	struct coap_context_t *ctx = NULL;
	struct sigaction sa;
	size_t cert_len = 0;
	int rc, status = 1;

	if (strcmp(sdir, victim) == 0) {
		fprintf(stderr, "spoof_sensor: the spoof needs a directory of its own\n");
		return 2;
	}
	if (cert != NULL && read_cert(cert, &cert_len) != VOUCH_OK) {
		fprintf(stderr, "spoof_sensor: %s is not a certificate file\n", cert);
		return 2;
	}
	if (start_own(sdir) != VOUCH_OK)
		return 1;
	memcpy(&own_state, &agent.st, sizeof(own_state));
	/* The copy: everything the genuine sensor keeps outside its secure element. */
	rc = sensor_state_load(victim, &agent.st, agent.scratch, sizeof(agent.scratch));
	if (rc == VOUCH_OK && !agent.st.provisioned)
		rc = VOUCH_ERR_INVALID;
	if (rc == VOUCH_OK && cert != NULL) {
		memcpy(agent.st.cert, file_buf, cert_len);
		agent.st.cert_len = cert_len;
	}
	if (rc == VOUCH_OK)
		rc = sensor_anchors_load(&agent);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "spoof_sensor: cannot take over %s: %s\n", victim,
		        vouch_strerror(rc));
		goto out_stop;
	}
	printf("spoof: answering as %s (zone %s, type %s) with %s\n", agent.st.device_id,
	       agent.st.zone, agent.st.type,
	       cert != NULL ? "a certificate of its own" : "the copied certificate");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	rc = sensor_coap_open(&agent, listen, &ctx);
	if (rc != VOUCH_OK) {
		fprintf(stderr, "spoof_sensor: cannot listen on %s: %s\n", listen,
		        vouch_strerror(rc));
		goto out_stop;
	}
	printf("spoof: listening on %s\n", listen);
	fflush(stdout);
	while (!stop_requested)
		if (sensor_coap_serve(ctx, SERVE_TICK_MS) != VOUCH_OK && !stop_requested)
			vouch_log(VOUCH_LOG_WARN, "spoof.serve", "why", "I/O error", NULL);
	sensor_coap_close(ctx);
	status = 0;
out_stop:
	/* The stop saves the state into SDIR: its own, not the victim's. */
	memcpy(&agent.st, &own_state, sizeof(agent.st));
	sensor_stop(&agent);
	return status;
}

int main(int argc, char **argv)
{
	vouch_log_init("spoof_sensor", VOUCH_LOG_INFO, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && strcmp(argv[1], "csr") == 0)
		return cmd_csr(argv[2], argv[3], argv[4]);
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "serve") == 0)
		return cmd_serve(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
	usage();
	return 2;
}
