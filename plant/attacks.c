/*
 * vouch-plant: the two attacks, played with the attacker tools of tests/integration against the
 * plant's real sensors and phones.
 *
 * spoofed-sensor: spoof_sensor is the agent's own code on a device of its own (its key made in its
 * own secure element) that copied everything public of a commissioned sensor: certificate,
 * device id, zone, type, anchors, list. People's phones must detect it (the key it proves is not
 * the certified one) and refuse to present anything; the genuine sensor is not touched and still
 * decides afterwards.
 *
 * copied-credential: rogue_phone presents a person's credential file, copied from their phone,
 * from another phone with a key of its own: the sensor must refuse it (proof of possession: the
 * credential's cnf names another key), record the refusal as a signed event, and keep running.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plant.h"
#include "vouch/common.h"

#define TOOL_TIMEOUT_MS 30000
#define CRED_FILE_MAX   (64 * 1024)

/* The report keeps the note until the end of the run: a string literal. */
static int skipped(struct plant *p, const char *note)
{
	printf("  skipped: %s\n", note);
	p->cur->status = "skipped";
	p->cur->note = note;
	return VOUCH_OK;
}

/* The first line of text starting with prefix, copied into out ("" when there is none). */
static bool line_starting(const char *text, const char *prefix, char *out, size_t cap)
{
	size_t pl = strlen(prefix);

	out[0] = '\0';
	for (const char *l = text; l != NULL && *l != '\0';) {
		if (strncmp(l, prefix, pl) == 0) {
			plant_first_line(l, out, cap);
			return true;
		}
		l = strchr(l, '\n');
		if (l != NULL)
			l++;
	}
	return false;
}

/* Whether a file holds a text (the spoof's log: what it must never have done). */
static bool file_has(const char *path, const char *needle)
{
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return false;
	while (!found && getline(&line, &cap, f) > 0)
		found = strstr(line, needle) != NULL;
	free(line);
	fclose(f);
	return found;
}

static void person_label(const struct plant_person *who, char out[64])
{
	snprintf(out, 64, "%s (%s)", who->name, who->role);
}

/* A person asks the spoof; the wallet's answer is the observation. */
static void at_spoof(struct plant *p, const struct plant_person *who, const char *uri,
                     const struct plant_sensor *victim, const char *action)
{
	char out[PLANT_OUT_MAX], line[300], what[96], label[64];
	const char *observed;
	int st = -1;

	line[0] = '\0';
	if (plant_wallet(p, who, out, sizeof(out), &st, "access", uri, action, NULL) != VOUCH_OK)
		st = -1;
	if (st == 1 && line_starting(out, "refused: spoofed sensor", line, sizeof(line)))
		observed = "refused: spoofed sensor";
	else if (st == 0)
		observed = "granted";
	else if (st == 1)
		observed = "refused, not as a spoof";
	else
		observed = "error";
	if (line[0] == '\0')
		plant_first_line(out, line, sizeof(line));
	person_label(who, label);
	snprintf(what, sizeof(what), "%s at the spoof of the %s", action, victim->label);
	plant_step(p, label, what, "refused: spoofed sensor", "issue", observed, line);
}

static void state_sha(const struct plant_sensor *s, char out[132])
{
	char path[PLANT_PATH_MAX + 16], a[65], b[65];

	snprintf(path, sizeof(path), "%s/state.cbor", s->dir);
	plant_file_sha(path, a);
	snprintf(path, sizeof(path), "%s/events", s->dir);
	plant_file_sha(path, b);
	snprintf(out, 132, "%s%s", a, b);
}

int plant_sc_spoofed(struct plant *p)
{
	struct plant_sensor *m = plant_sensor_of(p, "machine", "plant/hall-a");
	struct plant_person *op = plant_person_by_role(p, "operator", 0);
	struct plant_person *tech = plant_person_by_role(p, "service", 0);
	char dir[PLANT_PATH_MAX + 16], out[PLANT_PATH_MAX + 16], log[PLANT_PATH_MAX + 16],
	    listen[32], uri[64], line[300], before[132], after[132];
	const char *argv[8];
	pid_t pid = -1;
	int port, st = -1;
	bool up = false;

	if (p->spoof_path[0] == '\0')
		return skipped(p, "spoof_sensor not found next to the programs (build the target "
		                  "spoof_sensor, or give --bin)");
	if (m == NULL || op == NULL || tech == NULL)
		return VOUCH_ERR_INVALID;
	snprintf(dir, sizeof(dir), "%s/spoof", p->work);
	snprintf(out, sizeof(out), "%s/spoof.out", p->work);
	snprintf(log, sizeof(log), "%s/spoof.log", p->work);
	if (mkdir(dir, 0700) != 0)
		return VOUCH_ERR_IO;
	port = plant_free_udp_port();
	if (port <= 0)
		return VOUCH_ERR_IO;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(uri, sizeof(uri), "coap://%s", listen);
	state_sha(m, before);
	argv[0] = p->spoof_path;
	argv[1] = "serve";
	argv[2] = dir;
	argv[3] = m->dir;
	argv[4] = listen;
	argv[5] = NULL;
	if (plant_proc_start(argv, out, log, &pid) != VOUCH_OK)
		return VOUCH_ERR_IO;
	for (int i = 0; i < 100 && !up; i++) {
		up = file_has(out, "spoof: listening");
		if (!up && (!plant_proc_alive(pid) || plant_proc_interrupted()))
			break;
		if (!up)
			usleep(50000);
	}
	if (!up) {
		fprintf(stderr, "vouch-plant: spoof_sensor did not start (see %s)\n", log);
		return VOUCH_ERR_IO;
	}
	printf("  a device of its own (its key in its own secure element) copied the %s's public "
	       "state\n",
	       m->label);
	{
		char text[PLANT_OUT_MAX];
		FILE *f = fopen(out, "r");
		size_t n = f != NULL ? fread(text, 1, sizeof(text) - 1, f) : 0;

		if (f != NULL)
			fclose(f);
		text[n] = '\0';
		if (line_starting(text, "spoof: answering as ", line, sizeof(line)))
			printf("  %s, at %s\n", line, uri);
	}
	at_spoof(p, op, uri, m, "stop");
	at_spoof(p, tech, uri, m, "configure");
	(void)plant_proc_stop(pid, 5000, &st);
	plant_step(p, "the spoof", "what it got from the phones", "nothing", "issue",
	           file_has(log, "\"step\":\"completed\"") ? "EDHOC completed"
	           : file_has(log, "sensor.credential")    ? "a credential"
	           : file_has(log, "\"sensor.access\"")    ? "a decision"
	                                                   : "nothing",
	           st == 0 ? "no EDHOC completed, no credential, no decision; stopped cleanly"
	                   : "no EDHOC completed, no credential, no decision; it did not stop "
	                     "cleanly");
	state_sha(m, after);
	plant_step(p, m->label, "its state and event queue", "untouched", "issue",
	           strcmp(before, after) == 0 && before[0] != '\0' ? "untouched" : "changed",
	           "SDIR/state.cbor and SDIR/events, SHA-256 before and after the spoof");
	printf("  the genuine %s, same person, same action:\n", m->label);
	plant_access(p, op, m, "stop", NULL, NULL);
	return VOUCH_OK;
}

/* The rogue's answer to one step: "STEP \t CODE \t protected|plain \t text". */
static bool rogue_answer(const char *out, const char *step, char code[16], char *text, size_t cap)
{
	char prefix[40], line[600];
	char *t1, *t2;

	code[0] = '\0';
	text[0] = '\0';
	snprintf(prefix, sizeof(prefix), "%s\t", step);
	if (!line_starting(out, prefix, line, sizeof(line)))
		return false;
	t1 = strchr(line + strlen(prefix), '\t');
	if (t1 == NULL)
		return false;
	*t1++ = '\0';
	snprintf(code, 16, "%s", line + strlen(prefix));
	t2 = strchr(t1, '\t');
	snprintf(text, cap, "%s", t2 != NULL ? t2 + 1 : "");
	return true;
}

static int copy_file(const char *from, const char *to)
{
	uint8_t *buf = malloc(CRED_FILE_MAX);
	size_t n = 0;
	FILE *f;
	int fd, rc = VOUCH_ERR_IO;

	if (buf == NULL)
		return VOUCH_ERR_NOMEM;
	f = fopen(from, "rb");
	if (f == NULL)
		goto out_free;
	n = fread(buf, 1, CRED_FILE_MAX, f);
	fclose(f);
	if (n == 0 || n == CRED_FILE_MAX)
		goto out_free;
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out_free;
	if (write(fd, buf, n) == (ssize_t)n)
		rc = VOUCH_OK;
	if (close(fd) != 0)
		rc = VOUCH_ERR_IO;
out_free:
	free(buf);
	return rc;
}

int plant_sc_copied(struct plant *p)
{
	struct plant_sensor *m = plant_sensor_of(p, "machine", "plant/hall-a");
	struct plant_person *op = plant_person_by_role(p, "operator", 0);
	char cwt[PLANT_PATH_MAX + 16], copy[PLANT_PATH_MAX + 16], wjson[PLANT_PATH_MAX + 16],
	    out[PLANT_OUT_MAX], code[16], text[400], detail[600], phone[64], what[96];
	struct plant_events logged = {0}, queue = {0};
	const struct plant_event *rec = NULL, *q = NULL;
	const char *obs;
	uint64_t before_max;
	json_t *w;
	int st = -1, rc = VOUCH_ERR_IO;

	if (p->rogue_path[0] == '\0')
		return skipped(p, "rogue_phone not found next to the programs (build the target "
		                  "rogue_phone, or give --bin)");
	if (m == NULL || op == NULL)
		return VOUCH_ERR_INVALID;
	snprintf(cwt, sizeof(cwt), "%s/credential.cwt", op->wallet);
	snprintf(copy, sizeof(copy), "%s/copied-%s.cwt", p->work, op->name);
	snprintf(wjson, sizeof(wjson), "%s/wallet.json", op->wallet);
	w = json_load_file(wjson, 0, NULL);
	snprintf(phone, sizeof(phone), "%s",
	         json_string_value(json_object_get(w, "phone")) != NULL
	             ? json_string_value(json_object_get(w, "phone"))
	             : "");
	json_decref(w);
	if (phone[0] == '\0' || copy_file(cwt, copy) != VOUCH_OK)
		return VOUCH_ERR_IO;
	printf("  %s's credential file is copied off her phone onto another phone (a key of its "
	       "own), which calls itself %s\n",
	       op->name, phone);
	if (plant_sensor_logged(m, &logged) != VOUCH_OK)
		goto out_clear;
	before_max = plant_events_max(&logged);
	plant_events_clear(&logged);
	{
		const char *argv[] = {p->rogue_path, "copied", m->uri, copy, phone, NULL};

		if (p->o.verbose)
			fprintf(stderr, "  $ %s copied %s %s %s\n", p->rogue_path, m->uri, copy,
			        phone);
		if (plant_proc_run(argv, TOOL_TIMEOUT_MS, out, sizeof(out), &st) != VOUCH_OK)
			goto out_clear;
	}
	/* The credential at /authz-info: refused for its key binding. */
	obs = !rogue_answer(out, "authz-info", code, text, sizeof(text)) ? "no answer"
	      : code[0] == '2'                                           ? "accepted"
	      : strcmp(code, "4.01") == 0 && strstr(text, "bound to another key") != NULL
	          ? "refused: bound to another key"
	          : "refused otherwise";
	snprintf(detail, sizeof(detail), "%s %s (rogue_phone exit %d: %s)", code, text, st,
	         st == 0 ? "nothing accepted" : "an attack step accepted or unanswered");
	snprintf(what, sizeof(what), "%s's copied credential at the %s", op->name, m->label);
	plant_step(p, "another phone", what, "refused: bound to another key", "issue", obs, detail);
	/* What it asks next, with no credential accepted in its session. */
	obs = !rogue_answer(out, "access", code, text, sizeof(text)) ? "no answer"
	      : code[0] == '2' && strncmp(text, "1=true", 6) == 0    ? "granted"
	                                                             : "refused";
	snprintf(detail, sizeof(detail), "%s %s", code, text);
	plant_step(p, "another phone", "stop with the copied credential", "refused", "issue", obs,
	           detail);
	obs = !rogue_answer(out, "decommission", code, text, sizeof(text)) ? "no answer"
	      : code[0] == '2'                                             ? "decommissioned"
	                                                                   : "refused";
	snprintf(detail, sizeof(detail), "%s %s", code, text);
	plant_step(p, "another phone", "decommission with the copied credential", "refused",
	           "issue", obs, detail);
	/* The refusal is accountable: a signed event in the sensor's queue, for the person whose
	 * credential was copied. */
	if (plant_sensor_logged(m, &logged) != VOUCH_OK)
		goto out_clear;
	for (size_t i = 0; i < logged.n && rec == NULL; i++)
		if (logged.ev[i].seq > before_max && strstr(logged.ev[i].reason, "another key"))
			rec = &logged.ev[i];
	if (m->spki_len == 0)
		(void)plant_sensor_device_key(p, m);
	(void)plant_queue_read(m, &queue);
	if (rec != NULL)
		q = plant_events_find(&queue, rec->seq);
	obs = rec == NULL                                            ? "not recorded"
	      : q == NULL                                            ? "logged, not in the queue"
	      : strcmp(q->subject, op->name) == 0 && q->granted == 0 ? "a signed refusal"
	                                                             : "recorded otherwise";
	if (q != NULL)
		snprintf(detail, sizeof(detail),
		         "event %llu (%s, subject %s, granted %s), signed by the certified key: %s",
		         (unsigned long long)q->seq, q->kind, q->subject,
		         q->granted == 1 ? "true" : "false", q->reason);
	else
		snprintf(detail, sizeof(detail), "%s", queue.problem[0] ? queue.problem : "");
	plant_step(p, m->label, "what it recorded", "a signed refusal", "issue", obs, detail);
	plant_step(p, m->label, "after the copy", "running", "issue",
	           plant_proc_alive(m->pid) ? "running" : "gone", "");
	printf("  %s's own phone, same credential, same action:\n", op->name);
	plant_access(p, op, m, "stop", NULL, NULL);
	rc = VOUCH_OK;
out_clear:
	plant_events_clear(&logged);
	plant_events_clear(&queue);
	return rc;
}
