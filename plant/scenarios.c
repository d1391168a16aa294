/*
 * vouch-plant: the scenarios. A step is something a person or a device does through the real
 * programs; its EXPECTED outcome comes from vouchd's own evaluator (`vouch policy explain` for
 * that person, that sensor's device id, that action, at that moment, standing in the sensor's
 * zone, with the sensor's readings) or, where the policy alone does not say it (revocation,
 * commissioning, enrolment), from the statement; the OBSERVED one from what the
 * program answered. Both are printed and reported; any difference fails the run.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plant.h"
#include "vouch/common.h"

#define AUDIT_SECONDS 15 /* the auditor's engagement ends this long after its scenario */

void plant_first_line(const char *in, char *out, size_t cap)
{
	size_t n = strcspn(in, "\n");

	if (n >= cap)
		n = cap - 1;
	memcpy(out, in, n);
	out[n] = '\0';
}

static const char *last_line(const char *in)
{
	const char *nl = strrchr(in, '\n');

	return nl != NULL ? nl + 1 : in;
}

void plant_scenario_begin(struct plant *p, struct plant_scenario *sc)
{
	p->cur = sc;
	sc->steps = json_array();
	sc->pass = sc->fail = 0;
	sc->status = "done";
	printf("\n== %s\n", sc->title);
}

void plant_step(struct plant *p, const char *who, const char *what, const char *expected,
                const char *source, const char *observed, const char *detail)
{
	struct plant_scenario *sc = p->cur;
	bool ok = strcmp(expected, observed) == 0;
	char local[40];

	plant_local_time(p, (int64_t)time(NULL), local);
	printf("  %-4s %s  %-26s %-34s expected %-9s (%s)  observed %s%s%s\n", ok ? "ok" : "FAIL",
	       local, who, what, expected, source, observed, detail[0] ? ": " : "", detail);
	fflush(stdout);
	if (ok)
		sc->pass++;
	else
		sc->fail++;
	json_array_append_new(sc->steps,
	                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "who", who, "what",
	                                what, "expected", expected, "source", source, "observed",
	                                observed, "detail", detail, "pass", ok));
}

static void person_label(const struct plant_person *who, char out[64])
{
	snprintf(out, 64, "%s (%s)", who->name, who->role);
}

/* The evaluator's answer for a step: "granted" or "refused", or "unknown" when vouchd did not
 * answer (which then differs from any observation). */
void plant_policy_expect(struct plant *p, const struct plant_person *who,
                         const struct plant_sensor *s, const char *action, char expected[16],
                         char *why, size_t cap)
{
	char out[PLANT_OUT_MAX], at[32], rd[4][40];
	const char *argv_rd[8];
	const char *line;
	size_t n = 0;
	int st = -1;

	plant_iso_time((int64_t)time(NULL), at);
	/* The sensor's readings, as --reading NAME=VALUE. */
	line = s->readings;
	while (*line != '\0' && n < 4) {
		size_t l = strcspn(line, "\n");

		if (l > 0 && l < sizeof(rd[0])) {
			memcpy(rd[n], line, l);
			rd[n][l] = '\0';
			argv_rd[2 * n] = "--reading";
			argv_rd[2 * n + 1] = rd[n];
			n++;
		}
		line += l + (line[l] == '\n');
	}
	for (size_t i = 2 * n; i < 8; i++)
		argv_rd[i] = NULL;
	if (plant_vouch(p, out, sizeof(out), &st, "policy", "explain", who->name, s->resource,
	                action, "--at", at, "--zone", s->zone, argv_rd[0], argv_rd[1], argv_rd[2],
	                argv_rd[3], argv_rd[4], argv_rd[5], argv_rd[6], argv_rd[7],
	                NULL) != VOUCH_OK)
		st = -1;
	snprintf(expected, 16, "%s", st == 0 ? "granted" : st == 1 ? "refused" : "unknown");
	plant_first_line(last_line(out), why, cap);
}

int plant_access(struct plant *p, const struct plant_person *who, const struct plant_sensor *s,
                 const char *action, const char *expect, const char *source)
{
	char out[PLANT_OUT_MAX], expected[16], reason[512], what[96], label[64], detail[600];
	int st = -1;

	if (s == NULL || who == NULL)
		return VOUCH_ERR_INVALID;
	reason[0] = '\0';
	if (expect == NULL) {
		plant_policy_expect(p, who, s, action, expected, reason, sizeof(reason));
		source = "policy";
	} else {
		snprintf(expected, sizeof(expected), "%s", expect);
	}
	if (plant_wallet(p, who, out, sizeof(out), &st, "access", s->uri, action, NULL) != VOUCH_OK)
		st = -1;
	person_label(who, label);
	snprintf(what, sizeof(what), "%s at %s", action, s->label);
	plant_first_line(out, detail, sizeof(detail));
	plant_step(p, label, what, expected, source,
	           st == 0   ? "granted"
	           : st == 1 ? "refused"
	                     : "error",
	           detail);
	if (p->o.verbose && reason[0] != '\0')
		printf("       vouchd's evaluator: %s\n", reason);
	return VOUCH_OK;
}

/* ---- the scenarios ---- */

static struct plant_sensor *machine_line1(struct plant *p)
{
	return plant_sensor_of(p, "machine", "plant/hall-a");
}

static int sc_shift(struct plant *p)
{
	struct plant_sensor *m = machine_line1(p),
	                    *door = plant_sensor_of(p, "door", "plant/hall-a");
	struct plant_person *cfo = plant_person_by_role(p, "cfo", 0);
	struct plant_person *pm = plant_person_by_role(p, "plant-manager", 0);
	char local[40];

	plant_local_time(p, (int64_t)time(NULL), local);
	printf("  site time %s (%s): the shift is Mon-Fri 05:30-22:30, Sat 05:30-14:30\n", local,
	       p->timezone);
	for (int i = 0;; i++) {
		struct plant_person *op = plant_person_by_role(p, "operator", i);

		if (op == NULL)
			break;
		plant_access(p, op, door, "enter", NULL, NULL);
		plant_access(p, op, m, "operate", NULL, NULL);
	}
	plant_access(p, cfo, door, "enter", NULL, NULL);
	plant_access(p, cfo, m, "operate", NULL, NULL);
	plant_access(p, cfo, m, "stop", NULL, NULL);
	if (pm != NULL) {
		plant_access(p, pm, door, "enter", NULL, NULL);
		plant_access(p, pm, m, "operate", NULL, NULL);
		plant_access(p, pm, m, "stop", NULL, NULL);
	}
	return VOUCH_OK;
}

static int sc_auditor(struct plant *p)
{
	struct plant_person *aud = plant_person_by_role(p, "auditor", 0);
	struct plant_sensor *term = plant_sensor_of(p, "information", "plant/office");
	struct plant_sensor *m = machine_line1(p);

	char out[PLANT_OUT_MAX], until[32], detail[300];
	int st = -1;

	/* The engagement ends soon: the account's hard window, narrowed now, reaches the phone
	 * with its next credential. */
	plant_iso_time((int64_t)time(NULL) + AUDIT_SECONDS + p->o.duration, until);
	if (plant_vouch(p, out, sizeof(out), &st, "user", "update", aud->name, "--until", until,
	                NULL) != VOUCH_OK ||
	    st != 0) {
		fprintf(stderr, "vouch-plant: user update: %s\n", out);
		return VOUCH_ERR_IO;
	}
	printf("  %s is external (Audit & Co); the engagement ends at %s (vouch user update "
	       "--until)\n",
	       aud->name, until);
	plant_wallet(p, aud, out, sizeof(out), &st, "refresh", NULL);
	plant_first_line(out, detail, sizeof(detail));
	plant_step(p, aud->name, "refresh", "refreshed", "issue", st == 0 ? "refreshed" : "error",
	           detail);
	plant_access(p, aud, term, "read", NULL, NULL);
	plant_access(p, aud, term, "audit", NULL, NULL);
	plant_access(p, aud, term, "write", NULL, NULL);
	plant_access(p, aud, m, "operate", NULL, NULL);
	return VOUCH_OK;
}

static int sc_cleaning(struct plant *p)
{
	struct plant_person *cl = plant_person_by_role(p, "cleaning", 0);
	struct plant_sensor *door = plant_sensor_of(p, "door", "plant/hall-a");
	struct plant_sensor *m = machine_line1(p);
	char out[PLANT_OUT_MAX], at[32], local[40];
	int64_t now = (int64_t)time(NULL);
	int st = -1;

	plant_local_time(p, now, local);
	printf("  site time %s: the cleaning window is 18:00-22:00 every day\n", local);
	plant_access(p, cl, door, "enter", NULL, NULL);
	/* The refusal must be the hours, not a missing grant: ask the evaluator about the evening
	 * (the next 19:00 in the site's zone is at most a day away). */
	for (int64_t t = now; t < now + 86400 + 3600; t += 1800) {
		plant_local_time(p, t, local);
		if (strstr(local, " 19:") != NULL) {
			plant_iso_time(t, at);
			break;
		}
	}
	if (plant_vouch(p, out, sizeof(out), &st, "policy", "explain", cl->name, door->resource,
	                "enter", "--at", at, "--zone", door->zone, NULL) != VOUCH_OK)
		st = -1;
	plant_step(p, "vouchd's evaluator", "cleaning at 19:00 site time", "granted", "issue",
	           st == 0 ? "granted" : "refused", last_line(out));
	plant_access(p, cl, m, "operate", NULL, NULL);
	return VOUCH_OK;
}

static int sc_reading(struct plant *p)
{
	struct plant_person *tech = plant_person_by_role(p, "service", 0);
	struct plant_person *op = plant_person_by_role(p, "operator", 0);
	struct plant_sensor *m = machine_line1(p);

	printf("  the press line is stopped and cool: %s services it\n", tech->name);
	plant_access(p, tech, m, "service", NULL, NULL);
	plant_sensor_readings(m, "temperature=48\nspeed=1200\nrunning=1\n");
	printf("  the line starts (speed=1200, running=1)\n");
	plant_access(p, tech, m, "service", NULL, NULL);
	plant_access(p, op, m, "stop", NULL, NULL);
	plant_sensor_readings(m, "temperature=85\nspeed=0\nrunning=0\n");
	printf("  stopped, but the press is hot (temperature=85)\n");
	plant_access(p, tech, m, "service", NULL, NULL);
	plant_sensor_readings(m, "temperature=41\nspeed=0\nrunning=0\n");
	printf("  cooled down (temperature=41)\n");
	plant_access(p, tech, m, "configure", NULL, NULL);
	return VOUCH_OK;
}

static int sc_commission(struct plant *p)
{
	struct plant_person *tech = plant_person_by_role(p, "service", 0);
	struct plant_person *op = plant_person_by_role(p, "operator", 0);
	struct plant_sensor *s = &p->sensors[p->n_sensors];
	char out[PLANT_OUT_MAX], wrong[64], detail[300], label[64];
	int st = -1;

	memset(s, 0, sizeof(*s));
	snprintf(s->label, sizeof(s->label), "new hall A sensor");
	snprintf(s->type, sizeof(s->type), "sensor");
	snprintf(s->zone, sizeof(s->zone), "plant/hall-a");
	snprintf(s->dir, sizeof(s->dir), "%s/sensor-new", p->work);
	if (plant_sensor_start(p, s) != VOUCH_OK)
		return VOUCH_ERR_IO;
	printf(
	    "  out of the box, no factory keys: its key made in its secure element, pairing code "
	    "%s\n",
	    s->code);
	/* A code that differs in its last character: the key the sensor proves does not match. */
	snprintf(wrong, sizeof(wrong), "%s", s->code);
	wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == 'A' ? 'B' : 'A';
	person_label(tech, label);
	plant_sensor_commission(p, tech, s, wrong, &st, out, sizeof(out));
	plant_first_line(out, detail, sizeof(detail));
	plant_step(p, label, "commission with a wrong code", "refused", "issue",
	           st == 1   ? "refused"
	           : st == 0 ? "commissioned"
	                     : "error",
	           detail);
	person_label(op, label);
	plant_sensor_commission(p, op, s, s->code, &st, out, sizeof(out));
	plant_first_line(out, detail, sizeof(detail));
	plant_step(p, label, "commission (operator)", "refused", "policy: no grant",
	           st == 1   ? "refused"
	           : st == 0 ? "commissioned"
	                     : "error",
	           detail);
	person_label(tech, label);
	plant_sensor_commission(p, tech, s, s->code, &st, out, sizeof(out));
	plant_first_line(out, detail, sizeof(detail));
	plant_step(p, label, "commission with its pairing code", "commissioned", "issue",
	           st == 0 && s->device[0] ? "commissioned"
	           : st == 1               ? "refused"
	                                   : "error",
	           detail);
	if (s->device[0] == '\0')
		return VOUCH_OK;
	p->n_sensors++;
	plant_access(p, op, s, "read", NULL, NULL);
	plant_access(p, tech, s, "configure", NULL, NULL);
	plant_access(p, op, s, "configure", NULL, NULL);
	return VOUCH_OK;
}

/* The zone's network is gone: vouchd cannot be reached by anyone. The expectations are asked
 * of the evaluator just before (the answers hold for the minute it takes); the sensors decide
 * alone. */
struct planned {
	struct plant_person *who;
	struct plant_sensor *s;
	const char *action;
	char expected[16];
	char why[256];
};

static int sc_offline(struct plant *p)
{
	struct planned plan[6];
	size_t n = 0;
	struct plant_person *op = plant_person_by_role(p, "operator", 0);
	struct plant_person *tech = plant_person_by_role(p, "service", 0);
	struct plant_person *cfo = plant_person_by_role(p, "cfo", 0);
	struct plant_sensor *m = machine_line1(p),
	                    *door = plant_sensor_of(p, "door", "plant/hall-a");
	char out[PLANT_OUT_MAX], detail[300];
	int st = -1;

	plan[n++] = (struct planned){op, m, "operate", "", ""};
	plan[n++] = (struct planned){op, door, "enter", "", ""};
	plan[n++] = (struct planned){tech, m, "configure", "", ""};
	plan[n++] = (struct planned){cfo, m, "operate", "", ""};
	plan[n++] = (struct planned){tech, door, "enter", "", ""};
	for (size_t i = 0; i < n; i++)
		plant_policy_expect(p, plan[i].who, plan[i].s, plan[i].action, plan[i].expected,
		                    plan[i].why, sizeof(plan[i].why));
	printf("  the network is cut: vouchd stops\n");
	if (plant_vouchd_stop(p) != VOUCH_OK)
		return VOUCH_ERR_IO;
	plant_wallet(p, op, out, sizeof(out), &st, "refresh", NULL);
	plant_first_line(out, detail, sizeof(detail));
	plant_step(p, op->name, "refresh (vouchd unreachable)", "offline", "issue",
	           st == 3   ? "offline"
	           : st == 0 ? "refreshed"
	                     : "error",
	           detail);
	for (size_t i = 0; i < n; i++) {
		plant_access(p, plan[i].who, plan[i].s, plan[i].action, plan[i].expected,
		             "policy, asked before the cut");
	}
	printf("  the network is back: vouchd starts again on the same addresses\n");
	return plant_vouchd_start(p);
}

static int sc_revocation(struct plant *p)
{
	struct plant_person *victim = plant_person_by_role(p, "operator", 1);
	struct plant_person *col = plant_person_by_role(p, "operator", 0);
	struct plant_sensor *m = machine_line1(p);
	char out[PLANT_OUT_MAX], detail[300];
	int st = -1;

	/* `stop` is the operators' grant at any hour: the story does not depend on the clock. */
	plant_access(p, victim, m, "stop", NULL, NULL);
	if (plant_vouch(p, out, sizeof(out), &st, "user", "revoke", victim->name, "--reason",
	                "badge lost", NULL) != VOUCH_OK ||
	    st != 0) {
		fprintf(stderr, "vouch-plant: user revoke: %s\n", out);
		return VOUCH_ERR_IO;
	}
	victim->revoked = true;
	plant_first_line(out, detail, sizeof(detail));
	printf("  vouch user revoke %s: %s\n", victim->name, detail);
	printf("  hall A is offline: its sensors hear nothing of it, %s's phone is not refreshed\n",
	       victim->name);
	/* The sensor cannot know yet: lists reach an offline sensor only with phones. */
	plant_access(p, victim, m, "stop", "granted", "issue: not told yet");
	plant_wallet(p, col, out, sizeof(out), &st, "refresh", NULL);
	plant_first_line(out, detail, sizeof(detail));
	plant_step(p, col->name, "refresh in the office (online)", "refreshed", "issue",
	           st == 0 ? "refreshed" : "error", detail);
	printf("  %s walks into hall A: the phone hands the newest revocation list to the sensor\n",
	       col->name);
	plant_access(p, col, m, "stop", NULL, NULL);
	plant_access(p, victim, m, "stop", "refused", "issue: revoked");
	plant_wallet(p, victim, out, sizeof(out), &st, "refresh", NULL);
	plant_first_line(out, detail, sizeof(detail));
	plant_step(p, victim->name, "refresh (revoked)", "refused", "issue",
	           st == 1   ? "refused"
	           : st == 0 ? "refreshed"
	                     : "error",
	           detail);
	return VOUCH_OK;
}

/* What people ask of a device of that type (the everyday traffic and the load mode). */
const char *plant_everyday_action(struct plant *p, const struct plant_sensor *s)
{
	static const char *const door[] = {"enter", "open"};
	static const char *const machine[] = {"operate", "stop", "service", "configure", "update"};
	static const char *const sensor[] = {"read", "configure", "update"};
	static const char *const info[] = {"read", "write", "audit"};

	if (strcmp(s->type, "door") == 0)
		return door[plant_rand(p, 2)];
	if (strcmp(s->type, "machine") == 0)
		return machine[plant_rand(p, 5)];
	if (strcmp(s->type, "information") == 0)
		return info[plant_rand(p, 3)];
	return sensor[plant_rand(p, 3)];
}

static int sc_traffic(struct plant *p)
{
	time_t end = time(NULL) + p->o.duration;
	int done = 0, want = 2 * p->n_people;

	while ((done < want || time(NULL) < end) && !plant_proc_interrupted()) {
		struct plant_person *who = &p->people[plant_rand(p, (uint32_t)p->n_people)];
		struct plant_sensor *s = &p->sensors[plant_rand(p, (uint32_t)p->n_sensors)];
		const char *a = plant_everyday_action(p, s);

		if (who->revoked || strcmp(who->role, "auditor") == 0)
			continue;
		plant_access(p, who, s, a, NULL, NULL);
		done++;
	}
	return VOUCH_OK;
}

static int sc_auditor_expired(struct plant *p)
{
	struct plant_person *aud = plant_person_by_role(p, "auditor", 0);
	struct plant_sensor *term = plant_sensor_of(p, "information", "plant/office");
	char out[PLANT_OUT_MAX];
	int st = -1;

	/* The window's end is in the user record; wait for it (at most the 45 s it was given). */
	if (plant_vouch(p, out, sizeof(out), &st, "user", "show", aud->name, NULL) == VOUCH_OK &&
	    st == 0) {
		const char *u = strstr(out, "valid_until");
		char line[128];

		if (u != NULL) {
			plant_first_line(u, line, sizeof(line));
			printf("  %s\n", line);
		}
	}
	for (int i = 0; i < 120 && !plant_proc_interrupted(); i++) {
		char why[256], expected[16];

		plant_policy_expect(p, aud, term, "read", expected, why, sizeof(why));
		if (strcmp(expected, "granted") != 0)
			break;
		if (i == 0)
			printf("  waiting for the end of the engagement...\n");
		sleep(1);
	}
	plant_access(p, aud, term, "read", NULL, NULL);
	return VOUCH_OK;
}

/* A networked gateway enrols over EST with a one-time token (openssl makes its key and CSR,
 * curl speaks RFC 7030), then renews over mutual TLS with a new key. */
static int openssl_csr(struct plant *p, const char *key, const char *subj, const char *b64, int *st,
                       char *out, size_t cap)
{
	char der[PLANT_PATH_MAX + 16];
	const char *req[] = {"/usr/bin/openssl",
	                     "req",
	                     "-new",
	                     "-newkey",
	                     "ec",
	                     "-pkeyopt",
	                     "ec_paramgen_curve:P-256",
	                     "-nodes",
	                     "-keyout",
	                     key,
	                     "-subj",
	                     subj,
	                     "-outform",
	                     "DER",
	                     "-out",
	                     der,
	                     NULL};
	const char *enc[] = {"/usr/bin/openssl", "base64", "-A", "-in", der, "-out", b64, NULL};
	int rc;

	(void)p;
	snprintf(der, sizeof(der), "%s.der", b64);
	rc = plant_proc_run(req, 30000, out, cap, st);
	if (rc == VOUCH_OK && *st == 0)
		rc = plant_proc_run(enc, 30000, out, cap, st);
	return rc;
}

static int est_post(struct plant *p, const char *path, const char *user, const char *cert,
                    const char *key, const char *b64, const char *pem, int *st, char *out,
                    size_t cap)
{
	char url[160], chain[PLANT_PATH_MAX + 16], body[PLANT_PATH_MAX + 16],
	    resp[PLANT_PATH_MAX + 16], der[PLANT_PATH_MAX + 16];
	const char *curl[24];
	size_t n = 0;
	int rc;

	snprintf(url, sizeof(url), "%s/.well-known/est/%s", p->https, path);
	snprintf(chain, sizeof(chain), "%s/ca/chain.pem", p->site);
	snprintf(body, sizeof(body), "@%s", b64);
	snprintf(resp, sizeof(resp), "%s.p7.b64", pem);
	snprintf(der, sizeof(der), "%s.p7", pem);
	curl[n++] = "/usr/bin/curl";
	curl[n++] = "-sS";
	curl[n++] = "--fail";
	curl[n++] = "--cacert";
	curl[n++] = chain;
	if (user != NULL) {
		curl[n++] = "-u";
		curl[n++] = user;
	} else {
		curl[n++] = "--cert";
		curl[n++] = cert;
		curl[n++] = "--key";
		curl[n++] = key;
	}
	curl[n++] = "-H";
	curl[n++] = "Content-Type: application/pkcs10";
	curl[n++] = "--data-binary";
	curl[n++] = body;
	curl[n++] = "-o";
	curl[n++] = resp;
	curl[n++] = url;
	curl[n] = NULL;
	rc = plant_proc_run(curl, 30000, out, cap, st);
	if (rc != VOUCH_OK || *st != 0)
		return rc;
	{
		const char *dec[] = {
		    "/usr/bin/openssl", "base64", "-d", "-in", resp, "-out", der, NULL};
		const char *p7[] = {"/usr/bin/openssl", "pkcs7", "-inform", "DER", "-in", der,
		                    "-print_certs",     "-out",  pem,       NULL};

		rc = plant_proc_run(dec, 30000, out, cap, st);
		if (rc == VOUCH_OK && *st == 0)
			rc = plant_proc_run(p7, 30000, out, cap, st);
	}
	return rc;
}

static void cert_line(const char *pem, char *out, size_t cap)
{
	const char *x[] = {"/usr/bin/openssl", "x509",    "-in",      pem,
	                   "-noout",           "-serial", "-enddate", NULL};
	int st = -1;
	char buf[512];

	if (plant_proc_run(x, 30000, buf, sizeof(buf), &st) != VOUCH_OK || st != 0)
		snprintf(buf, sizeof(buf), "?");
	for (char *c = buf; *c; c++)
		if (*c == '\n')
			*c = ' ';
	plant_first_line(buf, out, cap);
}

static int sc_gateway(struct plant *p)
{
	char out[PLANT_OUT_MAX], token[256], user[300], key[PLANT_PATH_MAX + 16],
	    key2[PLANT_PATH_MAX + 16], b64[PLANT_PATH_MAX + 16], b64b[PLANT_PATH_MAX + 16],
	    pem[PLANT_PATH_MAX + 16], pem2[PLANT_PATH_MAX + 16], detail[300];
	int st = -1;

	snprintf(key, sizeof(key), "%s/gw.key", p->work);
	snprintf(key2, sizeof(key2), "%s/gw2.key", p->work);
	snprintf(b64, sizeof(b64), "%s/gw.csr.b64", p->work);
	snprintf(b64b, sizeof(b64b), "%s/gw2.csr.b64", p->work);
	snprintf(pem, sizeof(pem), "%s/gw.pem", p->work);
	snprintf(pem2, sizeof(pem2), "%s/gw2.pem", p->work);
	if (plant_vouch(p, token, sizeof(token), &st, "enrol-token", "create", "--device",
	                "gw-hall-a", "--hours", "1", NULL) != VOUCH_OK ||
	    st != 0) {
		fprintf(stderr, "vouch-plant: enrol-token: %s\n", token);
		return VOUCH_ERR_IO;
	}
	printf("  vouch enrol-token create --device gw-hall-a: a one-time token (%zu characters)\n",
	       strlen(token));
	snprintf(user, sizeof(user), "gw-hall-a:%s", token);
	vouch_wipe(token, sizeof(token));
	if (openssl_csr(p, key, "/CN=gw-hall-a", b64, &st, out, sizeof(out)) != VOUCH_OK ||
	    st != 0) {
		fprintf(stderr, "vouch-plant: openssl req: %s\n", out);
		vouch_wipe(user, sizeof(user));
		return VOUCH_ERR_IO;
	}
	est_post(p, "simpleenroll", user, NULL, NULL, b64, pem, &st, out, sizeof(out));
	if (st == 0)
		cert_line(pem, detail, sizeof(detail));
	else
		plant_first_line(out, detail, sizeof(detail));
	plant_step(p, "gw-hall-a", "EST simpleenroll (token)", "enrolled", "issue",
	           st == 0 ? "enrolled" : "refused", detail);
	est_post(p, "simpleenroll", user, NULL, NULL, b64, pem2, &st, out, sizeof(out));
	vouch_wipe(user, sizeof(user));
	plant_first_line(out, detail, sizeof(detail));
	plant_step(p, "gw-hall-a", "EST simpleenroll, token again", "refused", "issue",
	           st == 0 ? "enrolled" : "refused", detail);
	/* The renewal keeps the subject the CA gave (vouchd refuses any other). */
	{
		const char *x[] = {"/usr/bin/openssl", "x509",     "-in",    pem, "-noout",
		                   "-subject",         "-nameopt", "compat", NULL};
		char subj[256];

		if (plant_proc_run(x, 30000, subj, sizeof(subj), &st) != VOUCH_OK || st != 0 ||
		    strncmp(subj, "subject=", 8) != 0)
			return VOUCH_ERR_IO;
		if (openssl_csr(p, key2, subj + 8, b64b, &st, out, sizeof(out)) != VOUCH_OK ||
		    st != 0)
			return VOUCH_ERR_IO;
	}
	est_post(p, "simplereenroll", NULL, pem, key, b64b, pem2, &st, out, sizeof(out));
	if (st == 0)
		cert_line(pem2, detail, sizeof(detail));
	else
		plant_first_line(out, detail, sizeof(detail));
	plant_step(p, "gw-hall-a", "EST simplereenroll (mutual TLS)", "renewed", "issue",
	           st == 0 ? "renewed" : "refused", detail);
	return VOUCH_OK;
}

/* What a scenario is played in: every run, or only with --chaos. */
enum sc_when { SC_ALWAYS, SC_CHAOS };

static const struct {
	const char *id, *title;
	enum sc_when when;
	int (*fn)(struct plant *p);
} table[] = {
    {"gateway-est", "A networked gateway enrols over EST and renews", SC_ALWAYS, sc_gateway},
    {"morning-shift", "Morning shift: operators enter and operate, the CFO is refused at machines",
     SC_ALWAYS, sc_shift},
    {"auditor", "An external auditor: read-only, time-limited", SC_ALWAYS, sc_auditor},
    {"cleaning-hours", "Cleaning staff outside their hours", SC_ALWAYS, sc_cleaning},
    {"live-reading", "Refused by a live reading: the machine running, the press too hot", SC_ALWAYS,
     sc_reading},
    {"commissioning", "A technician commissions a new sensor with no factory keys", SC_ALWAYS,
     sc_commission},
    {"chaos-vouchd", "Chaos: vouchd killed (-9) while a phone refreshes, and restarted", SC_CHAOS,
     plant_sc_chaos_vouchd},
    {"zone-offline", "A zone loses its network: decisions go on offline", SC_ALWAYS, sc_offline},
    {"chaos-sensor", "Chaos: a sensor killed (-9) while it decides, and restarted", SC_CHAOS,
     plant_sc_chaos_sensor},
    {"revocation-carried", "Revoked while the zone is offline; a colleague's phone carries it",
     SC_ALWAYS, sc_revocation},
    {"chaos-phone", "Chaos: a phone's wallet killed (-9) running and mid-refresh, and restarted",
     SC_CHAOS, plant_sc_chaos_phone},
    {"everyday", "Everyday traffic: random requests, vouchd's evaluator the oracle", SC_ALWAYS,
     sc_traffic},
    {"auditor-expired", "The auditor's engagement ends", SC_ALWAYS, sc_auditor_expired},
    {"spoofed-sensor", "A spoofed sensor is detected", SC_ALWAYS, plant_sc_spoofed},
    {"copied-credential", "A copied credential on another phone is refused", SC_ALWAYS,
     plant_sc_copied},
};

size_t plant_scenarios_count(void)
{
	return sizeof(table) / sizeof(table[0]);
}

int plant_scenarios_run(struct plant *p, struct plant_scenario *scs, size_t n)
{
	int rc = VOUCH_OK;

	for (size_t i = 0; i < n && i < plant_scenarios_count(); i++) {
		if (table[i].when == SC_CHAOS && !p->o.chaos)
			continue;
		scs[i].id = table[i].id;
		scs[i].title = table[i].title;
		scs[i].note = NULL;
		plant_scenario_begin(p, &scs[i]);
		rc = table[i].fn(p);
		if (plant_proc_interrupted())
			rc = VOUCH_ERR_IO;
		if (rc != VOUCH_OK) {
			scs[i].status = "set-up error";
			fprintf(stderr, "vouch-plant: scenario %s could not be played\n",
			        scs[i].id);
			return rc;
		}
	}
	return rc;
}
