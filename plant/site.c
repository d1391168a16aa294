/*
 * vouch-plant: the site (vouchd init and run, the policy) and its people (created with `vouch
 * user add`, their phones logged in with `vouch-wallet login`, the second factor computed with
 * liboath from the otpauth URI as an authenticator app would).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>

#include "plant.h"
#include "vouch/common.h"
#include "vouch/tz.h"

#define ARGS_MAX       40
#define CMD_TIMEOUT_MS 30000

uint32_t plant_rand(struct plant *p, uint32_t bound)
{
	/* splitmix64: the same seed, the same plant. */
	uint64_t z = (p->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return bound == 0 ? 0 : (uint32_t)(z % bound);
}

void plant_iso_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *const wday_names[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

void plant_local_time(const struct plant *p, int64_t t, char out[40])
{
	struct vouch_tz tz;
	struct vouch_tz_tm tm;

	if (vouch_tz_parse(p->tz_rule, &tz) != VOUCH_OK ||
	    vouch_tz_local(&tz, t, &tm) != VOUCH_OK) {
		snprintf(out, 40, "?");
		return;
	}
	snprintf(out, 40, "%s %02u:%02u %s", wday_names[tm.wday % 7], tm.minute_of_day / 60u,
	         tm.minute_of_day % 60u, tm.abbr);
}

/* How good a site time zone is for the scenarios: the morning-shift story wants a working day
 * between 08:30 and 16:30 local (the shift, the auditor's and the CFO's windows open, the
 * cleaning window closed); a Saturday morning still has a shift. Higher is better, 0 useless. */
static int tz_score(const char *zone, int64_t now, char rule[64])
{
	struct vouch_tz tz;
	struct vouch_tz_tm a, b;
	int score = 0;

	if (vouch_tz_rule_of_zone(NULL, zone, rule, 64) != VOUCH_OK ||
	    vouch_tz_parse(rule, &tz) != VOUCH_OK || vouch_tz_local(&tz, now, &a) != VOUCH_OK ||
	    vouch_tz_local(&tz, now + 600, &b) != VOUCH_OK)
		return 0;
	if (b.wday != a.wday)
		return 0;
	if (a.wday <= 4 && a.minute_of_day >= 510 && b.minute_of_day <= 990)
		score = 2000 - abs((int)a.minute_of_day - 600);
	else if (a.wday <= 4 && a.minute_of_day >= 345 && b.minute_of_day <= 1050)
		score = 1500 - abs((int)a.minute_of_day - 600); /* a shift, not every window */
	else if (a.wday == 5 && a.minute_of_day >= 345 && b.minute_of_day <= 855)
		score = 1000 - abs((int)a.minute_of_day - 600);
	else if (b.minute_of_day < 1050 || a.minute_of_day > 1350)
		score = 100; /* no shift anywhere now, but the cleaning window closed */
	return score;
}

int plant_choose_timezone(struct plant *p)
{
	char rule[64], zone[48];
	int64_t now = (int64_t)time(NULL);
	int best = -1, s;

	if (p->o.timezone != NULL) {
		snprintf(p->timezone, sizeof(p->timezone), "%s", p->o.timezone);
		return vouch_tz_rule_of_zone(NULL, p->timezone, p->tz_rule, sizeof(p->tz_rule));
	}
	/* The plant's own zone when it is working hours there, else the whole-hour zone where it
	 * is (the sensors decide on their own clock: this is the only honest way to have a shift
	 * now). Etc/GMT-14 is UTC+14: POSIX signs. */
	snprintf(p->timezone, sizeof(p->timezone), "Europe/Berlin");
	if (vouch_tz_rule_of_zone(NULL, p->timezone, p->tz_rule, sizeof(p->tz_rule)) != VOUCH_OK)
		return VOUCH_ERR_IO;
	best = tz_score("Europe/Berlin", now, rule);
	if (best >= 1600)
		return VOUCH_OK;
	for (int off = -12; off <= 14; off++) {
		if (off == 0)
			snprintf(zone, sizeof(zone), "Etc/UTC");
		else
			snprintf(zone, sizeof(zone), "Etc/GMT%+d", -off);
		s = tz_score(zone, now, rule);
		if (s > best) {
			best = s;
			snprintf(p->timezone, sizeof(p->timezone), "%s", zone);
			snprintf(p->tz_rule, sizeof(p->tz_rule), "%s", rule);
		}
	}
	return VOUCH_OK;
}

static int run_v(struct plant *p, const char *prog, const char *flag, const char *dir, char *out,
                 size_t cap, int *status, va_list ap)
{
	const char *argv[ARGS_MAX];
	size_t n = 0;
	const char *a;

	(void)p;
	argv[n++] = prog;
	argv[n++] = flag;
	argv[n++] = dir;
	while ((a = va_arg(ap, const char *)) != NULL) {
		if (n + 1 >= ARGS_MAX)
			return VOUCH_ERR_INVALID;
		argv[n++] = a;
	}
	argv[n] = NULL;
	if (p->o.verbose) {
		fprintf(stderr, "  $");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n");
	}
	return plant_proc_run(argv, CMD_TIMEOUT_MS, out, cap, status);
}

int plant_vouch(struct plant *p, char *out, size_t cap, int *status, ...)
{
	va_list ap;
	int rc;

	va_start(ap, status);
	rc = run_v(p, p->vouch_path, "--data", p->site, out, cap, status, ap);
	va_end(ap);
	return rc;
}

int plant_wallet(struct plant *p, const struct plant_person *who, char *out, size_t cap,
                 int *status, ...)
{
	va_list ap;
	int rc;

	va_start(ap, status);
	rc = run_v(p, p->wallet_path, "--wallet", who->wallet, out, cap, status, ap);
	va_end(ap);
	return rc;
}

static int read_addr(struct plant *p)
{
	char path[PLANT_PATH_MAX + 16], line[128];
	FILE *f;

	p->https[0] = p->http[0] = '\0';
	snprintf(path, sizeof(path), "%s/vouchd.addr", p->site);
	f = fopen(path, "r");
	if (f == NULL)
		return VOUCH_ERR_IO;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, "https://", 8) == 0)
			snprintf(p->https, sizeof(p->https), "%s", line);
		else if (strncmp(line, "http://", 7) == 0)
			snprintf(p->http, sizeof(p->http), "%s", line);
	}
	fclose(f);
	return p->https[0] != '\0' && p->http[0] != '\0' ? VOUCH_OK : VOUCH_ERR_IO;
}

int plant_vouchd_start(struct plant *p)
{
	char log[PLANT_PATH_MAX + 16], addr[PLANT_PATH_MAX + 16];
	const char *argv[8];
	size_t n = 0;
	int rc;

	snprintf(log, sizeof(log), "%s/vouchd.log", p->work);
	snprintf(addr, sizeof(addr), "%s/vouchd.addr", p->site);
	argv[n++] = p->vouchd_path;
	argv[n++] = "--data";
	argv[n++] = p->site;
	if (p->https[0] != '\0') {
		/* Back on the same addresses: the phones know the https one. */
		argv[n++] = "--listen";
		argv[n++] = p->https + 8;
		argv[n++] = "--http-listen";
		argv[n++] = p->http + 7;
	}
	argv[n] = NULL;
	(void)unlink(addr);
	rc = plant_proc_start(argv, NULL, log, &p->vouchd);
	if (rc != VOUCH_OK)
		return rc;
	for (int i = 0; i < 200; i++) {
		if (read_addr(p) == VOUCH_OK)
			return VOUCH_OK;
		if (!plant_proc_alive(p->vouchd) || plant_proc_interrupted())
			break;
		usleep(50000);
	}
	fprintf(stderr, "vouch-plant: vouchd did not start (see %s)\n", log);
	return VOUCH_ERR_IO;
}

int plant_vouchd_stop(struct plant *p)
{
	int st = -1, rc;

	rc = plant_proc_stop(p->vouchd, 10000, &st);
	p->vouchd = -1;
	return rc == VOUCH_OK && st == 0 ? VOUCH_OK : VOUCH_ERR_IO;
}

int plant_site_init(struct plant *p)
{
	char out[PLANT_OUT_MAX], name[48];
	const char *argv[16];
	int st = -1, rc;

	snprintf(p->site, sizeof(p->site), "%s/site", p->work);
	snprintf(name, sizeof(name), "plant-%llu", (unsigned long long)p->o.seed);
	argv[0] = p->vouchd_path;
	argv[1] = "init";
	argv[2] = "--data";
	argv[3] = p->site;
	argv[4] = "--site";
	argv[5] = name;
	argv[6] = "--timezone";
	argv[7] = p->timezone;
	argv[8] = "--listen";
	argv[9] = "127.0.0.1:0";
	argv[10] = "--http-listen";
	argv[11] = "127.0.0.1:0";
	argv[12] = NULL;
	rc = plant_proc_run(argv, 60000, out, sizeof(out), &st);
	if (rc != VOUCH_OK || st != 0) {
		fprintf(stderr, "vouch-plant: vouchd init failed (%d):\n%s\n", st, out);
		return VOUCH_ERR_IO;
	}
	rc = plant_vouchd_start(p);
	if (rc != VOUCH_OK)
		return rc;
	rc = plant_vouch(p, out, sizeof(out), &st, "policy", "load", p->o.policy, NULL);
	if (rc != VOUCH_OK || st != 0) {
		fprintf(stderr, "vouch-plant: policy load %s: %s\n", p->o.policy, out);
		return VOUCH_ERR_IO;
	}
	out[strcspn(out, "\n")] = '\0';
	printf("  policy   %s: %s\n", p->o.policy, out);
	rc = plant_vouch(p, out, sizeof(out), &st, "policy", "load", p->o.roles, NULL);
	if (rc != VOUCH_OK || st != 0) {
		fprintf(stderr, "vouch-plant: policy load %s: %s\n", p->o.roles, out);
		return VOUCH_ERR_IO;
	}
	printf("  policy   %s (who commissions controllers, readers, terminals)\n", p->o.roles);
	return plant_sensor_resources_add(p);
}

/* ---- people ---- */

static const char *const first_names[] = {
    "ada",   "bruno", "clara", "dario", "edith", "felix", "greta", "hugo", "ines",  "jonas",
    "karla", "lars",  "mara",  "nils",  "olga",  "paul",  "rosa",  "sven", "tilda", "uwe",
    "vera",  "willi", "xenia", "yusuf", "zoe",   "anton", "berta", "carl", "dora",  "emil",
};

/* The roles, in the order people are given them: the first six make every scenario possible;
 * beyond them the plant fills up like a plant (mostly operators). */
static const char *const role_order[] = {
    "service",       "operator", "operator", "cfo",      "auditor", "cleaning",
    "plant-manager", "quality",  "operator", "operator", "service", "cleaning",
};
static const char *const role_fill[] = {"operator", "operator", "quality",
                                        "service",  "operator", "cleaning"};

/* The technicians commission too (plant/installer-role.json); every other right comes from the
 * example matrix as it is. */
static const char *extra_role_of(const char *role)
{
	return strcmp(role, "service") == 0 ? "installer" : "";
}

static int write_secret_file(const char *path, const char *text)
{
	int fd, rc = VOUCH_ERR_IO;
	size_t len = strlen(text);

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return VOUCH_ERR_IO;
	if (write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1)
		rc = VOUCH_OK;
	if (close(fd) != 0)
		rc = VOUCH_ERR_IO;
	return rc;
}

/* The base32 secret of an otpauth:// URI, as an authenticator app reads it. */
static int totp_now(const char *uri, char code[8])
{
	const char *s = strstr(uri, "secret=");
	char b32[128];
	char *raw = NULL;
	size_t n, rawlen = 0;
	int rc = VOUCH_ERR_INVALID;

	code[0] = '\0';
	if (s == NULL)
		return rc;
	s += 7;
	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567=");
	if (n == 0 || n >= sizeof(b32))
		return rc;
	memcpy(b32, s, n);
	b32[n] = '\0';
	if (oath_base32_decode(b32, n, &raw, &rawlen) != OATH_OK)
		goto out_wipe;
	if (oath_totp_generate(raw, rawlen, time(NULL), OATH_TOTP_DEFAULT_TIME_STEP_SIZE, 0, 6,
	                       code) == OATH_OK)
		rc = VOUCH_OK;
	vouch_wipe(raw, rawlen);
	free(raw);
out_wipe:
	vouch_wipe(b32, sizeof(b32));
	return rc;
}

int plant_person_login(struct plant *p, struct plant_person *who)
{
	char uri_path[PLANT_PATH_MAX + 16], chain[PLANT_PATH_MAX + 16], uri[512], code[8],
	    out[PLANT_OUT_MAX];
	FILE *f;
	int st = -1, rc = VOUCH_ERR_IO;

	snprintf(uri_path, sizeof(uri_path), "%s/%s.uri", p->work, who->name);
	f = fopen(uri_path, "r");
	if (f == NULL)
		return VOUCH_ERR_IO;
	if (fgets(uri, sizeof(uri), f) == NULL)
		uri[0] = '\0';
	fclose(f);
	if (totp_now(uri, code) != VOUCH_OK)
		goto out_wipe;
	snprintf(chain, sizeof(chain), "%s/ca/chain.pem", p->site);
	rc = plant_wallet(p, who, out, sizeof(out), &st, "login", "--server", p->https, "--ca",
	                  chain, "--user", who->name, "--password-file", who->pw, "--totp", code,
	                  NULL);
	if (rc == VOUCH_OK && st != 0) {
		fprintf(stderr, "vouch-plant: %s's login: %s\n", who->name, out);
		rc = VOUCH_ERR_IO;
	}
out_wipe:
	vouch_wipe(uri, sizeof(uri));
	vouch_wipe(code, sizeof(code));
	return rc;
}

static int add_one(struct plant *p, struct plant_person *who, const char *sponsor)
{
	char out[PLANT_OUT_MAX], pw[64], uri_path[PLANT_PATH_MAX + 16], from[32], until[32],
	    training[64];
	const char *argv[ARGS_MAX];
	size_t n = 0;
	int64_t now = (int64_t)time(NULL);
	int st = -1, rc = VOUCH_ERR_IO;

	snprintf(who->pw, sizeof(who->pw), "%s/%s.pw", p->work, who->name);
	snprintf(who->wallet, sizeof(who->wallet), "%s/phone-%s", p->work, who->name);
	/* A password nobody reads: 128 bits from the plant's generator is enough for a demo
	 * site that lives minutes on loopback. */
	snprintf(pw, sizeof(pw), "%s-%08x%08x%08x", who->name, plant_rand(p, 0xffffffffu),
	         plant_rand(p, 0xffffffffu), plant_rand(p, 0xffffffffu));
	rc = write_secret_file(who->pw, pw);
	vouch_wipe(pw, sizeof(pw));
	if (rc != VOUCH_OK)
		return rc;
	argv[n++] = p->vouch_path;
	argv[n++] = "--data";
	argv[n++] = p->site;
	argv[n++] = "user";
	argv[n++] = "add";
	argv[n++] = who->name;
	argv[n++] = "--role";
	argv[n++] = who->role;
	if (who->extra_role[0] != '\0') {
		argv[n++] = "--role";
		argv[n++] = who->extra_role;
	}
	argv[n++] = "--password-file";
	argv[n++] = who->pw;
	if (who->trained) {
		snprintf(training, sizeof(training), "machine-safety=2030-01-01T00:00:00Z");
		argv[n++] = "--training";
		argv[n++] = training;
	}
	if (who->external) {
		bool auditor = strcmp(who->role, "auditor") == 0;

		/* The auditor's engagement is cut short during the run (scenario "auditor"); the
		 * cleaning company's contract runs a month. */
		plant_iso_time(now - 3600, from);
		plant_iso_time(auditor ? now + 3600 : now + 30 * 86400, until);
		argv[n++] = "--kind";
		argv[n++] = "external";
		argv[n++] = "--company";
		argv[n++] = auditor ? "Audit & Co" : "CleanCo";
		argv[n++] = "--sponsor";
		argv[n++] = sponsor;
		argv[n++] = "--from";
		argv[n++] = from;
		argv[n++] = "--until";
		argv[n++] = until;
	}
	argv[n] = NULL;
	rc = plant_proc_run(argv, CMD_TIMEOUT_MS, out, sizeof(out), &st);
	if (rc != VOUCH_OK || st != 0 || strncmp(out, "otpauth://", 10) != 0) {
		fprintf(stderr, "vouch-plant: user add %s: %s\n", who->name, out);
		vouch_wipe(out, sizeof(out));
		return VOUCH_ERR_IO;
	}
	snprintf(uri_path, sizeof(uri_path), "%s/%s.uri", p->work, who->name);
	rc = write_secret_file(uri_path, out);
	vouch_wipe(out, sizeof(out));
	return rc;
}

int plant_people_add(struct plant *p)
{
	size_t n_names = sizeof(first_names) / sizeof(first_names[0]);
	size_t order[sizeof(first_names) / sizeof(first_names[0])];
	const char *sponsor = NULL;
	int operators = 0;
	int rc;

	/* A seeded shuffle of the names. */
	for (size_t i = 0; i < n_names; i++)
		order[i] = i;
	for (size_t i = n_names - 1; i > 0; i--) {
		size_t j = plant_rand(p, (uint32_t)(i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < p->o.people; i++) {
		struct plant_person *who = &p->people[i];
		const char *role =
		    (size_t)i < sizeof(role_order) / sizeof(role_order[0])
		        ? role_order[i]
		        : role_fill[plant_rand(p, sizeof(role_fill) / sizeof(role_fill[0]))];

		memset(who, 0, sizeof(*who));
		if ((size_t)i < n_names)
			snprintf(who->name, sizeof(who->name), "%s", first_names[order[i]]);
		else
			snprintf(who->name, sizeof(who->name), "%s%d",
			         first_names[order[i % n_names]], i / (int)n_names + 1);
		snprintf(who->role, sizeof(who->role), "%s", role);
		snprintf(who->extra_role, sizeof(who->extra_role), "%s", extra_role_of(role));
		who->external = strcmp(role, "auditor") == 0 || strcmp(role, "cleaning") == 0;
		if (strcmp(role, "operator") == 0) {
			operators++;
			/* Every third operator has not had the machine-safety instruction yet. */
			who->trained = operators % 3 != 0;
		}
		if (sponsor == NULL && !who->external)
			sponsor = p->people[i].name;
		rc = add_one(p, who, sponsor != NULL ? sponsor : "");
		if (rc != VOUCH_OK)
			return rc;
		p->n_people = i + 1;
	}
	return VOUCH_OK;
}

struct plant_person *plant_person_by_role(struct plant *p, const char *role, int nth)
{
	for (int i = 0; i < p->n_people; i++)
		if (strcmp(p->people[i].role, role) == 0 && nth-- == 0)
			return &p->people[i];
	return NULL;
}
