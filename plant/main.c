/*
 * vouch-plant: a plant simulator. It starts vouchd (SQLite, a SoftHSM2 token, loopback ports),
 * N vouch-sensor processes across the example plant's zones and M people with phones
 * (vouch-wallet), then plays scenarios through the real programs and protocols, printing a
 * narrative and a final table. Exit 0 when every observed outcome is the expected one, 1 when
 * one differs, 2 when the plant could not be set up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "load.h"
#include "plant.h"

#define PLANT_STR_(x) #x
#define PLANT_STR(x)  PLANT_STR_(x)
#include "vouch/common.h"

#ifndef PLANT_SOURCE_DIR
#define PLANT_SOURCE_DIR "."
#endif

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vouch-plant [--sensors N] [--people M] [--duration T] [--seed S]\n"
	    "                   [--report FILE] [--keep] [--bin DIR] [--policy FILE]\n"
	    "                   [--roles FILE] [--timezone ZONE] [--chaos] [--verbose]\n"
	    "                   [--load [--rate R] [--mix enrol=E,refresh=F,access=A]]\n"
	    "\n"
	    "Starts vouchd, N vouch-sensor processes (default 6, at least 3) and M people with\n"
	    "phones (default 12, at least 6) in a work directory under $TMPDIR, and plays the\n"
	    "plant's scenarios through the real programs. Each step's expected outcome comes\n"
	    "from vouchd's evaluator (vouch policy explain) or the issue's statement; the\n"
	    "observed one from the program. --duration T: everyday traffic for at least T\n"
	    "seconds. --seed: the same names, roles and traffic. --report FILE: the JSON\n"
	    "report. --keep: leave the plant running and say how to reach it (Ctrl-C ends\n"
	    "it). --bin DIR: the programs' build tree or directory (default: next to this\n"
	    "program). --timezone: the site's zone (default: Europe/Berlin in its working\n"
	    "hours, else the whole-hour zone where it is working hours now). --chaos:\n"
	    "during the run, kill -9 vouchd, a sensor and a phone's wallet, one at a time\n"
	    "in the middle of their work, restart each and check that nothing they had\n"
	    "acknowledged is lost and that the run goes on. --load: after set-up, instead\n"
	    "of the scenarios, R operations/s (default 5) for T seconds (default 10), open\n"
	    "loop, drawn by the weights of --mix (default enrol=1,refresh=2,access=7): EST\n"
	    "enrolments, credential refreshes and access decisions, from in-process clients;\n"
	    "throughput, latency percentiles, errors, and vouchd's, the sensors' and the\n"
	    "phones' CPU and memory (exit 1 when an operation failed).\n"
	    "\n"
	    "exit status: 0 every outcome as expected, 1 one differs, 2 set-up or usage error\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return VOUCH_ERR_INVALID;
	*out = (int)v;
	return VOUCH_OK;
}

/* A program from the build tree (DIR/sub/name) or a flat directory (DIR/name). */
static int find_program(const char *dir, const char *sub, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s/%s", dir, sub, name);
	if (access(out, X_OK) == 0)
		return VOUCH_OK;
	snprintf(out, cap, "%s/%s", dir, name);
	if (access(out, X_OK) == 0)
		return VOUCH_OK;
	fprintf(stderr, "vouch-plant: %s not found under %s (give --bin DIR)\n", name, dir);
	return VOUCH_ERR_IO;
}

/* The attacker tools (tests/integration, built only with the sensor's PSA back-end): their
 * scenarios are skipped without them. */
static void find_tool(const char *dir, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/tests/integration/%s", dir, name);
	if (access(out, X_OK) == 0)
		return;
	snprintf(out, cap, "%s/%s", dir, name);
	if (access(out, X_OK) == 0)
		return;
	out[0] = '\0';
}

static int find_programs(struct plant *p)
{
	char self[PLANT_PATH_MAX], dir[PLANT_PATH_MAX];
	ssize_t n;

	if (p->o.bin != NULL) {
		snprintf(dir, sizeof(dir), "%s", p->o.bin);
	} else {
		/* The build tree: vouch-plant is BUILD/plant/vouch-plant. */
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return VOUCH_ERR_IO;
		self[n] = '\0';
		snprintf(dir, sizeof(dir), "%s/..", dirname(self));
	}
	if (find_program(dir, "server", "vouchd", p->vouchd_path, sizeof(p->vouchd_path)) ||
	    find_program(dir, "cli", "vouch", p->vouch_path, sizeof(p->vouch_path)) ||
	    find_program(dir, "wallet", "vouch-wallet", p->wallet_path, sizeof(p->wallet_path)) ||
	    find_program(dir, "sensor", "vouch-sensor", p->sensor_path, sizeof(p->sensor_path)))
		return VOUCH_ERR_IO;
	find_tool(dir, "spoof_sensor", p->spoof_path, sizeof(p->spoof_path));
	find_tool(dir, "rogue_phone", p->rogue_path, sizeof(p->rogue_path));
	return VOUCH_OK;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

static int setup(struct plant *p)
{
	char pin[80];
	struct plant_person *installer;
	char local[40];
	int rc;

	plant_local_time(p, (int64_t)time(NULL), local);
	printf("== Setting up the plant (seed %llu): vouchd, %d sensors, %d people\n",
	       (unsigned long long)p->o.seed, p->o.sensors, p->o.people);
	printf("  work     %s\n", p->work);
	printf("  site     time zone %s (%s), site time %s\n", p->timezone, p->tz_rule, local);
	rc = plant_site_init(p);
	if (rc != VOUCH_OK)
		return rc;
	printf("  vouchd   %s (EST, API)  %s (CRL, OCSP); SQLite store, keys in a SoftHSM2 token\n",
	       p->https, p->http);
	/* The phones' unlock PIN (biometrics stand-in), through the environment as the wallet
	 * allows; each phone's key sits in its own token. */
	snprintf(pin, sizeof(pin), "unlock-%08x", plant_rand(p, 0xffffffffu));
	setenv("VOUCH_WALLET_PIN", pin, 1);
	vouch_wipe(pin, sizeof(pin));
	rc = plant_people_add(p);
	if (rc != VOUCH_OK)
		return rc;
	for (int i = 0; i < p->n_people; i++) {
		struct plant_person *who = &p->people[i];

		rc = plant_person_login(p, who);
		if (rc != VOUCH_OK)
			return rc;
		printf("  person   %-8s %-14s%s%s%s%s, phone logged in (password + TOTP)\n",
		       who->name, who->role, who->extra_role[0] ? " + " : "", who->extra_role,
		       who->external ? ", external" : "",
		       strcmp(who->role, "operator") == 0
		           ? (who->trained ? ", machine-safety trained"
		                           : ", NOT machine-safety trained")
		           : "");
	}
	installer = plant_person_by_role(p, "service", 0);
	if (installer == NULL)
		return VOUCH_ERR_INVALID;
	rc = plant_sensors_add(p, installer);
	if (rc != VOUCH_OK || !p->o.chaos)
		return rc;
	/* --chaos: a phone that stays up, as a phone app does, to be killed later. */
	rc = plant_runner_start(p);
	if (rc == VOUCH_OK)
		printf("  phone    %-8s keeps vouch-wallet run going (the list every %s s)\n",
		       p->runner->name, "2");
	return rc;
}

static json_t *report_json(struct plant *p, struct plant_scenario *scs, size_t n, int64_t t0,
                           bool all_ok, bool setup_ok)
{
	json_t *arr = json_array(), *root;
	char started[32];

	for (size_t i = 0; i < n; i++) {
		struct plant_scenario *sc = &scs[i];
		json_t *exp, *obs, *st;
		size_t k;

		if (sc->id == NULL)
			continue;
		exp = json_array();
		obs = json_array();
		json_array_foreach(sc->steps, k, st)
		{
			json_array_append(exp, json_object_get(st, "expected"));
			json_array_append(obs, json_object_get(st, "observed"));
		}
		json_array_append_new(
		    arr, json_pack("{s:s, s:s, s:s, s:s?, s:o, s:o, s:i, s:i, s:b, s:O}", "id",
		                   sc->id, "title", sc->title, "status", sc->status, "note",
		                   sc->note, "expected", exp, "observed", obs, "passed", sc->pass,
		                   "failed", sc->fail, "pass",
		                   sc->fail == 0 && strcmp(sc->status, "set-up error") != 0,
		                   "steps", sc->steps ? sc->steps : json_array()));
	}
	plant_iso_time(t0, started);
	root = json_pack("{s:s, s:I, s:i, s:i, s:i, s:b, s:s, s:s, s:I, s:s, s:o}", "program",
	                 "vouch-plant", "seed", (json_int_t)p->o.seed, "sensors", p->o.sensors,
	                 "people", p->o.people, "duration", p->o.duration, "chaos", p->o.chaos,
	                 "timezone", p->timezone, "started", started, "seconds",
	                 (json_int_t)((int64_t)time(NULL) - t0), "result",
	                 !setup_ok ? "set-up error"
	                 : all_ok  ? "pass"
	                           : "fail",
	                 "scenarios", arr);
	return root;
}

static void print_keep(struct plant *p)
{
	printf("\n== The plant keeps running (--keep); Ctrl-C stops it and removes %s\n", p->work);
	printf("  vouchd      %s  %s\n", p->https, p->http);
	printf("  admin       %s --data %s user list\n", p->vouch_path, p->site);
	printf("  phones      VOUCH_WALLET_PIN=%s\n", getenv("VOUCH_WALLET_PIN"));
	for (int i = 0; i < p->n_people; i++)
		printf("              %-8s %-14s %s --wallet %s status%s\n", p->people[i].name,
		       p->people[i].role, p->wallet_path, p->people[i].wallet,
		       p->people[i].revoked ? "   (revoked)" : "");
	for (int i = 0; i < p->n_sensors; i++)
		printf("  sensor      %-24s %s  %-16s %-11s %-20s %s  state %s\n",
		       p->sensors[i].label, p->sensors[i].uri, p->sensors[i].resource,
		       p->sensors[i].type, p->sensors[i].zone, p->sensors[i].device,
		       p->sensors[i].dir);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"sensors", required_argument, NULL, 's'},
	                                         {"people", required_argument, NULL, 'p'},
	                                         {"duration", required_argument, NULL, 'd'},
	                                         {"seed", required_argument, NULL, 'S'},
	                                         {"report", required_argument, NULL, 'r'},
	                                         {"keep", no_argument, NULL, 'k'},
	                                         {"bin", required_argument, NULL, 'b'},
	                                         {"policy", required_argument, NULL, 'P'},
	                                         {"roles", required_argument, NULL, 'R'},
	                                         {"timezone", required_argument, NULL, 'z'},
	                                         {"chaos", no_argument, NULL, 'c'},
	                                         {"verbose", no_argument, NULL, 'v'},
	                                         {"load", no_argument, NULL, 'L'},
	                                         {"rate", required_argument, NULL, 'T'},
	                                         {"mix", required_argument, NULL, 'M'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	static struct plant plant;
	struct plant *p = &plant;
	struct plant_scenario scs[24];
	const char *tmp = getenv("TMPDIR");
	int64_t t0 = (int64_t)time(NULL);
	bool setup_ok = false, all_ok = true;
	int exit_code = PLANT_EXIT_SETUP, c, seed = 0, pass = 0, fail = 0;
	json_t *rep = NULL, *load_rep = NULL;
	long load_errors = 0;
	bool has_duration = false;

	memset(scs, 0, sizeof(scs));
	p->o.sensors = 6;
	p->o.people = 12;
	p->o.seed = 1;
	p->o.policy = PLANT_SOURCE_DIR "/examples/plant-policy/policy.json";
	p->o.roles = PLANT_SOURCE_DIR "/plant/installer-role.json";
	p->vouchd = -1;
	p->runner_pid = -1;
	p->o.rate = 5.0;
	plant_load_default_mix(p->o.mix);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int rc = VOUCH_OK;

		switch (c) {
		case 's':
			rc = parse_int(optarg, 3, PLANT_SENSORS_MAX, &p->o.sensors);
			break;
		case 'p':
			rc = parse_int(optarg, 6, PLANT_PEOPLE_MAX, &p->o.people);
			break;
		case 'd':
			rc = parse_int(optarg, 0, 86400, &p->o.duration);
			has_duration = true;
			break;
		case 'L':
			p->o.load = true;
			break;
		case 'T':
			rc = plant_load_parse_rate(optarg, &p->o.rate);
			break;
		case 'M':
			rc = plant_load_parse_mix(optarg, p->o.mix);
			break;
		case 'S':
			rc = parse_int(optarg, 0, 0x7fffffff, &seed);
			p->o.seed = (uint64_t)seed;
			break;
		case 'r':
			p->o.report = optarg;
			break;
		case 'k':
			p->o.keep = true;
			break;
		case 'b':
			p->o.bin = optarg;
			break;
		case 'P':
			p->o.policy = optarg;
			break;
		case 'R':
			p->o.roles = optarg;
			break;
		case 'z':
			p->o.timezone = optarg;
			break;
		case 'c':
			p->o.chaos = true;
			break;
		case 'v':
			p->o.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return PLANT_EXIT_OK;
		default:
			usage(stderr);
			return PLANT_EXIT_SETUP;
		}
		if (rc != VOUCH_OK) {
			fprintf(
			    stderr, "vouch-plant: --%s %s: %s\n",
			    c == 's'   ? "sensors"
			    : c == 'p' ? "people"
			    : c == 'd' ? "duration"
			    : c == 'T' ? "rate"
			    : c == 'M' ? "mix"
			               : "seed",
			    optarg,
			    c == 's'
			        ? "out of range: 3 (the devices the scenarios need) to " PLANT_STR(
			              PLANT_SENSORS_MAX)
			    : c == 'p'
			        ? "out of range: 6 (the roles the scenarios need) to " PLANT_STR(
			              PLANT_PEOPLE_MAX)
			    : c == 'd' ? "out of range: 0 to 86400 seconds"
			               : "not valid (see --help)");
			return PLANT_EXIT_SETUP;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return PLANT_EXIT_SETUP;
	}
	if (p->o.load && p->o.chaos) {
		fprintf(stderr, "vouch-plant: --load and --chaos are separate runs\n");
		return PLANT_EXIT_SETUP;
	}
	if (p->o.load && !has_duration)
		p->o.duration = 10;
	if (p->o.load && p->o.duration == 0) {
		fprintf(stderr, "vouch-plant: --load wants --duration of at least 1 s\n");
		return PLANT_EXIT_SETUP;
	}
	p->rng = p->o.seed;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (find_programs(p) != VOUCH_OK)
		return PLANT_EXIT_SETUP;
	if (plant_choose_timezone(p) != VOUCH_OK) {
		fprintf(stderr, "vouch-plant: no time zone %s\n", p->timezone);
		return PLANT_EXIT_SETUP;
	}
	/* Each program finds its own SoftHSM2 configuration in its own directory. */
	unsetenv("SOFTHSM2_CONF");
	snprintf(p->work, sizeof(p->work), "%s/vouch-plant.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(p->work) == NULL) {
		fprintf(stderr, "vouch-plant: mkdtemp %s: %s\n", p->work, strerror(errno));
		return PLANT_EXIT_SETUP;
	}
	plant_proc_init();

	if (setup(p) != VOUCH_OK || plant_proc_interrupted())
		goto out_report;
	setup_ok = true;
	if (p->o.load) {
		if (plant_load_run(p, &load_rep, &load_errors) != VOUCH_OK)
			setup_ok = false;
		else if (load_errors > 0)
			all_ok = false;
	} else if (plant_scenarios_run(p, scs, plant_scenarios_count()) != VOUCH_OK) {
		setup_ok = false;
	}

out_report:
	if (plant_proc_interrupted())
		printf("\n== Interrupted: every program of the plant is stopped\n");
	printf("\n== Report (%lld s)\n", (long long)((int64_t)time(NULL) - t0));
	printf("  %-20s %-9s %-9s %s\n", "scenario", "steps", "differ", "result");
	for (size_t i = 0; i < sizeof(scs) / sizeof(scs[0]); i++) {
		struct plant_scenario *sc = &scs[i];
		const char *res;

		if (sc->id == NULL)
			continue;
		res = strcmp(sc->status, "skipped") == 0        ? "skipped"
		      : strcmp(sc->status, "set-up error") == 0 ? "SET-UP ERROR"
		      : sc->fail == 0                           ? "pass"
		                                                : "FAIL";
		printf("  %-20s %-9d %-9d %s\n", sc->id, sc->pass + sc->fail, sc->fail, res);
		pass += sc->pass;
		fail += sc->fail;
		if (sc->fail != 0)
			all_ok = false;
	}
	if (p->o.load)
		printf("  load: %ld operations failed%s\n", load_errors,
		       setup_ok ? "" : "; the plant could not be set up or loaded to the end");
	else
		printf("  %d steps as expected, %d differ%s\n", pass, fail,
		       setup_ok ? "" : "; the plant could not be set up or played to the end");
	exit_code = !setup_ok ? PLANT_EXIT_SETUP : all_ok ? PLANT_EXIT_OK : PLANT_EXIT_DIFFERS;
	if (p->o.report != NULL) {
		rep = report_json(p, scs, sizeof(scs) / sizeof(scs[0]), t0, all_ok, setup_ok);
		if (rep != NULL && load_rep != NULL)
			json_object_set(rep, "load", load_rep);
		if (rep == NULL || json_dump_file(rep, p->o.report, JSON_INDENT(2)) != 0) {
			fprintf(stderr, "vouch-plant: cannot write %s\n", p->o.report);
			exit_code = PLANT_EXIT_SETUP;
		}
		json_decref(rep);
	}
	if (p->o.keep && setup_ok && !plant_proc_interrupted()) {
		print_keep(p);
		while (!plant_proc_interrupted())
			sleep(1);
	}
	json_decref(load_rep);
	for (size_t i = 0; i < sizeof(scs) / sizeof(scs[0]); i++)
		json_decref(scs[i].steps);
	plant_proc_stop_all();
	if (exit_code != PLANT_EXIT_OK && getenv("VOUCH_PLANT_KEEP_WORK") != NULL)
		fprintf(stderr, "vouch-plant: the work directory stays: %s\n", p->work);
	else
		(void)nftw(p->work, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return exit_code;
}
