/*
 * vouch-sensor: the device agent.
 *
 *   vouch-sensor --state SDIR --listen HOST:PORT [--zone ZONE] [--type TYPE] [--reset]
 *   vouch-sensor --state SDIR --reset
 *
 * Runs in the foreground, JSON-lines logs on stderr; SIGTERM or SIGINT stops it cleanly (state
 * flushed). Unprovisioned, it prints `pairing-code: XXXX-...` on stdout. --reset destroys the
 * key and wipes the state first (alone: and exits). Exit status: 0 after a clean stop or reset,
 * 1 when the agent refuses to start (a cloned or corrupt state, no secure element), 2 on a usage
 * error.
 */
#define _GNU_SOURCE /* getopt_long */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "sensor.h"
#include "util.h"
#include "vouch/log.h"

#define SERVE_TICK_MS 500

static volatile sig_atomic_t stop_requested;

/* The whole agent: too big for the stack, and allocated once. */
static struct vouch_sensor agent;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: vouch-sensor --state SDIR --listen HOST:PORT [--zone ZONE] "
	                "[--type TYPE] [--reset]\n"
	                "       vouch-sensor --state SDIR --reset\n");
}

/* A zone or type: 1..64 printable characters, no spaces. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SENSOR_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

static void hardening(void)
{
	struct rlimit rl = {0, 0};
	struct sigaction sa;

	/* Key handles and session secrets never end up in a core file. */
	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	umask(077);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void announce(const struct vouch_sensor *s)
{
	if (s->st.provisioned)
		return;
	printf("pairing-code: %s\n", s->pairing_code);
	fflush(stdout);
}

static int serve(const struct sensor_config *cfg, const char *listen)
{
	struct coap_context_t *ctx = NULL;
	int rc;

	rc = sensor_start(&agent, cfg);
	if (rc != VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "sensor.refused", "why", vouch_strerror(rc), NULL);
		return 1;
	}
	rc = sensor_coap_open(&agent, listen, &ctx);
	if (rc != VOUCH_OK) {
		sensor_stop(&agent);
		return rc == VOUCH_ERR_INVALID ? 2 : 1;
	}
	announce(&agent);
	while (!stop_requested) {
		if (sensor_coap_serve(ctx, SERVE_TICK_MS) != VOUCH_OK && !stop_requested)
			vouch_log(VOUCH_LOG_WARN, "sensor.serve", "why", "I/O error", NULL);
		if (!agent.wipe_pending)
			continue;
		/* The decommission answer is out: now forget everything, become a new device. */
		rc = sensor_wipe(&agent);
		if (rc == VOUCH_OK)
			rc = sensor_start(&agent, cfg);
		if (rc != VOUCH_OK) {
			vouch_log(VOUCH_LOG_ERROR, "sensor.refused", "why", vouch_strerror(rc),
			          NULL);
			sensor_coap_close(ctx);
			return 1;
		}
		announce(&agent);
	}
	vouch_log(VOUCH_LOG_INFO, "sensor.stop", NULL);
	sensor_coap_close(ctx);
	sensor_stop(&agent);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"listen", required_argument, NULL, 'l'},
	    {"zone", required_argument, NULL, 'z'},
	    {"type", required_argument, NULL, 't'},
	    {"reset", no_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sensor_config cfg = {NULL, NULL, NULL, NULL};
	const char *listen = NULL;
	bool reset = false;
	int c;

	vouch_log_init("vouch-sensor", VOUCH_LOG_INFO, NULL);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			cfg.sdir = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'z':
			cfg.zone = optarg;
			break;
		case 't':
			cfg.type = optarg;
			break;
		case 'r':
			reset = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc || cfg.sdir == NULL || (listen == NULL && !reset) ||
	    (cfg.zone != NULL && !name_ok(cfg.zone)) || (cfg.type != NULL && !name_ok(cfg.type))) {
		usage();
		return 2;
	}
	/* Room for the longest file name in it (docs/sensor.md, "The state directory"). */
	if (strlen(cfg.sdir) > SENSOR_PATH_MAX - 64) {
		fprintf(stderr, "vouch-sensor: --state: the path is longer than %d characters\n",
		        SENSOR_PATH_MAX - 64);
		return 2;
	}
	hardening();
	if (reset && sensor_reset(cfg.sdir) != VOUCH_OK)
		return 1;
	if (listen == NULL)
		return 0;
	return serve(&cfg, listen);
}
