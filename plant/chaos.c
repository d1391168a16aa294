/*
 * vouch-plant --chaos: one process of the plant at a time is killed with SIGKILL (no handler, no
 * clean-up: a power cut as far as the process can tell) in the middle of its work, restarted,
 * and what it had acknowledged before is looked for afterwards from the outside:
 *
 *  - vouchd, while a phone refreshes: every event of the site's log, every certificate and every
 *    credential listed before the kill (`vouch events`, `cert list`, `credential list`) is still
 *    there, unchanged, after the restart, and so is what was acknowledged just before the kill
 *    (a refresh, an enrolment token); the phone in flight lost nothing it was told it had.
 *  - a sensor, while it decides: every event it reported durable (its "sensor.event" log lines)
 *    is in its queue, every record whole and signed by the key vouchd certified; a grant the
 *    phone in flight received has its event; the next sequence number is new; decisions go on.
 *  - a phone's `vouch-wallet run`, and a `vouch-wallet refresh` mid-flight: the wallet still
 *    holds a valid credential that vouchd issued, refreshes and decides.
 *
 * The delays are drawn from --seed. Every kill and every check is a step of the report.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plant.h"
#include "vouch/common.h"

#define SNAP_MAX        (8u << 20) /* vouch events --json of a long run */
#define INFLIGHT_WAIT   30000
#define RUN_INTERVAL    "2" /* the running phone fetches the list every 2 s */
#define RUN_START_TRIES 100

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void person_label(const struct plant_person *who, char out[64])
{
	snprintf(out, 64, "%s (%s)", who->name, who->role);
}

static void read_text(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n = f != NULL ? fread(out, 1, cap - 1, f) : 0;

	if (f != NULL)
		fclose(f);
	out[n] = '\0';
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
}

static int count_lines_with(const char *path, const char *needle)
{
	char *line = NULL;
	size_t cap = 0;
	int n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while (getline(&line, &cap, f) > 0)
		n += strstr(line, needle) != NULL;
	free(line);
	fclose(f);
	return n;
}

/* The cti of the credential a wallet holds (vouch-wallet credential show). */
static int wallet_cti(struct plant *p, const struct plant_person *who, char cti[48])
{
	char out[PLANT_OUT_MAX];
	json_t *j;
	int st = -1, rc = VOUCH_ERR_IO;

	cti[0] = '\0';
	if (plant_wallet(p, who, out, sizeof(out), &st, "credential", "show", NULL) != VOUCH_OK ||
	    st != 0)
		return rc;
	j = json_loads(out, 0, NULL);
	if (json_string_value(json_object_get(j, "cti")) != NULL) {
		snprintf(cti, 48, "%s", json_string_value(json_object_get(j, "cti")));
		rc = VOUCH_OK;
	}
	json_decref(j);
	return rc;
}

/* ---- vouchd's records, as the admin CLI lists them ---- */

struct snap {
	json_t *events; /* [{seq, time, type, ...}] */
	json_t *certs;  /* [{serial, ...}] */
	json_t *creds;  /* [{name: cti, object: {...}}] */
};

static json_t *list_of(struct plant *p, char *buf, const char *key, const char *a, const char *b)
{
	json_t *root, *arr = NULL;
	int st = -1;

	if ((b != NULL ? plant_vouch(p, buf, SNAP_MAX, &st, a, b, "--json", NULL)
	               : plant_vouch(p, buf, SNAP_MAX, &st, a, "--json", NULL)) != VOUCH_OK ||
	    st != 0 || strlen(buf) + 1 >= SNAP_MAX)
		return NULL;
	root = json_loads(buf, 0, NULL);
	if (json_is_array(json_object_get(root, key)))
		arr = json_incref(json_object_get(root, key));
	json_decref(root);
	return arr;
}

static void snap_clear(struct snap *s)
{
	json_decref(s->events);
	json_decref(s->certs);
	json_decref(s->creds);
	memset(s, 0, sizeof(*s));
}

static int snap_take(struct plant *p, struct snap *s)
{
	char *buf = malloc(SNAP_MAX);
	int rc = VOUCH_ERR_IO;

	memset(s, 0, sizeof(*s));
	if (buf == NULL)
		return VOUCH_ERR_NOMEM;
	/* `events` pages through the whole log by itself; the lists are whole. */
	s->events = list_of(p, buf, "events", "events", NULL);
	s->certs = list_of(p, buf, "certs", "cert", "list");
	s->creds = list_of(p, buf, "items", "credential", "list");
	if (s->events != NULL && s->certs != NULL && s->creds != NULL)
		rc = VOUCH_OK;
	free(buf);
	return rc;
}

static json_t *find_by(json_t *arr, const char *key, json_t *value)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e) if (json_equal(json_object_get(e, key), value)) return e;
	return NULL;
}

/* A credential is the same when what was issued is: the fields that do not change with time
 * (its status may: it expires, it is revoked). */
static bool same_credential(json_t *a, json_t *b)
{
	static const char *const keys[] = {"user", "phone", "token_hash", "exp", "issued"};
	json_t *oa = json_object_get(a, "object"), *ob = json_object_get(b, "object");

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!json_equal(json_object_get(oa, keys[i]), json_object_get(ob, keys[i])))
			return false;
	return oa != NULL;
}

/* Every entry of before still in after (by key), unchanged; the first that is not in *first. */
static size_t missing(json_t *before, json_t *after, const char *key, bool creds, char *first,
                      size_t cap)
{
	size_t i, n = 0;
	json_t *e;

	first[0] = '\0';
	json_array_foreach(before, i, e)
	{
		json_t *k = json_object_get(e, key), *a = find_by(after, key, k);
		bool kept = a != NULL && (creds ? same_credential(e, a) : json_equal(e, a));

		if (!kept && n++ == 0) {
			char *txt = json_dumps(k, JSON_ENCODE_ANY);

			snprintf(first, cap, "%s %s %s", key, txt ? txt : "?",
			         a ? "changed" : "gone");
			free(txt);
		}
	}
	return n;
}

static void check_kept(struct plant *p, const char *what, json_t *before, json_t *after,
                       const char *key, bool creds)
{
	char first[160], detail[300];
	size_t lost = missing(before, after, key, creds, first, sizeof(first));

	if (lost == 0)
		snprintf(detail, sizeof(detail),
		         "%zu before the kill, all there after it (%zu now)",
		         json_array_size(before), json_array_size(after));
	else
		snprintf(detail, sizeof(detail), "%zu of %zu lost or changed, first: %s", lost,
		         json_array_size(before), first);
	plant_step(p, "vouchd", what, "all kept", "issue", lost == 0 ? "all kept" : "lost", detail);
}

static bool cred_known(const struct snap *s, const char *cti)
{
	json_t *k = json_string(cti);
	bool found = cti[0] != '\0' && find_by(s->creds, "name", k) != NULL;

	json_decref(k);
	return found;
}

/* A wallet command started in the background: it is in flight when something is killed. */
static int start_wallet(struct plant *p, const struct plant_person *who, const char *out,
                        const char *cmd, const char *a1, const char *a2, pid_t *pid)
{
	const char *argv[] = {p->wallet_path, "--wallet", who->wallet, cmd, a1, a2, NULL};

	(void)unlink(out);
	return plant_proc_start(argv, out, out, pid);
}

static void kill_step(struct plant *p, const char *what, int rc, const char *detail)
{
	plant_step(p, "vouch-plant", what, "killed", "--chaos",
	           rc == VOUCH_OK ? "killed" : "not killed", detail);
}

int plant_sc_chaos_vouchd(struct plant *p)
{
	struct plant_person *a = plant_person_by_role(p, "operator", 0);
	struct plant_person *b = plant_person_by_role(p, "service", 0);
	struct plant_sensor *door = plant_sensor_of(p, "door", "plant/hall-a");
	struct snap before = {0}, after = {0};
	char out[PLANT_OUT_MAX], path[PLANT_PATH_MAX + 16], cti_a[48], cti_b[48], cti_b0[48],
	    detail[600], what[128], label[64], first[300];
	uint32_t delay;
	int64_t t0, took;
	pid_t pid = -1, victim = p->vouchd;
	int st = -1, st_b = -1, rc = VOUCH_ERR_IO;
	bool token_ok = false;

	if (a == NULL || b == NULL || door == NULL)
		return VOUCH_ERR_INVALID;
	if (snap_take(p, &before) != VOUCH_OK) {
		fprintf(stderr, "vouch-plant: cannot list vouchd's records before the kill\n");
		goto out_clear;
	}
	printf("  vouchd holds %zu events, %zu certificates, %zu credentials\n",
	       json_array_size(before.events), json_array_size(before.certs),
	       json_array_size(before.creds));
	/* Acknowledged just before the kill: a token (an admin write) and a refresh. */
	if (plant_vouch(p, out, sizeof(out), &st, "enrol-token", "create", "--device", "chaos-gw",
	                "--hours", "1", NULL) == VOUCH_OK &&
	    st == 0)
		token_ok = true;
	vouch_wipe(out, sizeof(out));
	t0 = now_ms();
	plant_wallet(p, a, out, sizeof(out), &st, "refresh", NULL);
	took = now_ms() - t0;
	plant_first_line(out, first, sizeof(first));
	snprintf(detail, sizeof(detail), "%s (%lld ms)", first, (long long)took);
	person_label(a, label);
	plant_step(p, label, "refresh, just before the kill", "refreshed", "issue",
	           st == 0 ? "refreshed" : "error", detail);
	/* Within the time a refresh takes: the kill lands while the next one is in flight
	 * (whether it then completed or not, nothing it was told may be lost). */
	delay = plant_rand(p, (uint32_t)(took > 8 ? took : 8));
	(void)wallet_cti(p, a, cti_a);
	(void)wallet_cti(p, b, cti_b0);
	/* The kill, in the middle of another phone's refresh. */
	snprintf(path, sizeof(path), "%s/chaos-refresh.out", p->work);
	if (start_wallet(p, b, path, "refresh", NULL, NULL, &pid) != VOUCH_OK)
		goto out_clear;
	t0 = now_ms();
	usleep(delay * 1000);
	rc = plant_proc_kill9(victim);
	p->vouchd = -1;
	snprintf(what, sizeof(what), "kill -9 vouchd, %u ms into %s's refresh", delay, b->name);
	snprintf(detail, sizeof(detail), "pid %d, %lld ms after the refresh started", (int)victim,
	         (long long)(now_ms() - t0));
	kill_step(p, what, rc, detail);
	(void)plant_proc_wait(pid, INFLIGHT_WAIT, &st_b);
	read_text(path, out, sizeof(out));
	plant_first_line(out, first, sizeof(first));
	printf("  %s's refresh in flight ended with exit %d: %s\n", b->name, st_b, first);
	rc = plant_vouchd_start(p);
	plant_step(p, "vouchd", "restart on the same addresses", "running", "--chaos",
	           rc == VOUCH_OK ? "running" : "did not start", rc == VOUCH_OK ? p->https : "");
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = VOUCH_ERR_IO;
	if (snap_take(p, &after) != VOUCH_OK) {
		fprintf(stderr, "vouch-plant: cannot list vouchd's records after the restart\n");
		goto out_clear;
	}
	check_kept(p, "every event listed before the kill", before.events, after.events, "seq",
	           false);
	check_kept(p, "every certificate listed before the kill", before.certs, after.certs,
	           "serial", false);
	check_kept(p, "every credential listed before the kill", before.creds, after.creds, "name",
	           true);
	snprintf(what, sizeof(what), "%s's credential from that refresh", a->name);
	snprintf(detail, sizeof(detail), "cti %s", cti_a[0] ? cti_a : "?");
	plant_step(p, "vouchd", what, "kept", "issue", cred_known(&after, cti_a) ? "kept" : "lost",
	           detail);
	{
		json_t *e;
		size_t i;
		bool found = false;

		json_array_foreach(after.events, i, e)
		{
			const char *type = json_string_value(json_object_get(e, "type"));
			const char *dev = json_string_value(json_object_get(e, "device"));

			if (type != NULL && dev != NULL && strcmp(type, "token.create") == 0 &&
			    strcmp(dev, "chaos-gw") == 0)
				found = true;
		}
		plant_step(p, "vouchd", "the enrolment token created just before the kill", "kept",
		           "issue",
		           !token_ok ? "not created"
		           : found   ? "kept"
		                     : "lost",
		           "a token.create event for device chaos-gw");
	}
	/* The refresh in flight: whatever the phone was told it has, vouchd has. */
	(void)wallet_cti(p, b, cti_b);
	snprintf(what, sizeof(what), "%s's refresh in flight at the kill", b->name);
	if (st_b == 0)
		snprintf(detail, sizeof(detail),
		         "it completed (exit 0): the new credential %s is %s", cti_b,
		         cred_known(&after, cti_b) ? "in vouchd's list" : "NOT in vouchd's list");
	else
		snprintf(detail, sizeof(detail), "it failed (exit %d: %s); the phone kept %s%s, %s",
		         st_b, first, cti_b,
		         strcmp(cti_b, cti_b0) == 0 ? " (the one it had)" : " (a new one)",
		         cred_known(&after, cti_b) ? "in vouchd's list" : "NOT in vouchd's list");
	person_label(b, label);
	plant_step(p, label, what, "no loss", "issue",
	           cred_known(&after, cti_b) ? "no loss" : "lost", detail);
	plant_wallet(p, b, out, sizeof(out), &st, "refresh", NULL);
	plant_first_line(out, first, sizeof(first));
	plant_step(p, label, "refresh after the restart", "refreshed", "issue",
	           st == 0 ? "refreshed" : "error", first);
	plant_access(p, a, door, "enter", NULL, NULL);
	rc = VOUCH_OK;
out_clear:
	snap_clear(&before);
	snap_clear(&after);
	return rc;
}

/* The sensor's events: every one it reported durable is in its queue, which checks whole. */
static void check_queue(struct plant *p, struct plant_sensor *s, const struct plant_events *logged,
                        const struct plant_events *queue, const char *when)
{
	char detail[400];
	size_t lost = 0;
	uint64_t first_lost = 0;

	for (size_t i = 0; i < logged->n; i++)
		if (plant_events_find(queue, logged->ev[i].seq) == NULL && lost++ == 0)
			first_lost = logged->ev[i].seq;
	if (lost == 0)
		snprintf(detail, sizeof(detail),
		         "%zu events reported durable %s, all in the queue (%zu records, seq "
		         "%llu..%llu)",
		         logged->n, when, queue->n,
		         queue->n ? (unsigned long long)queue->ev[0].seq : 0ull,
		         (unsigned long long)plant_events_max(queue));
	else
		snprintf(detail, sizeof(detail), "%zu of %zu missing, first seq %llu", lost,
		         logged->n, (unsigned long long)first_lost);
	plant_step(p, s->label, "every event it acknowledged, in its queue", "all kept", "issue",
	           lost == 0 ? "all kept" : "lost", detail);
	plant_step(p, s->label, "its queue, read from the outside", "intact", "issue",
	           queue->problem[0] == '\0' ? "intact" : "damaged",
	           queue->problem[0] == '\0'
	               ? "every record whole, CRC right, in sequence, signed by the key vouchd "
	                 "certified, naming its sequence number and the device"
	               : queue->problem);
}

int plant_sc_chaos_sensor(struct plant *p)
{
	struct plant_sensor *s = plant_sensor_of(p, "door", "plant/hall-a");
	struct plant_person *a = plant_person_by_role(p, "operator", 0);
	struct plant_person *b = plant_person_by_role(p, "service", 0);
	struct plant_events before = {0}, logged = {0}, queue = {0}, later = {0};
	char out[PLANT_OUT_MAX], path[PLANT_PATH_MAX + 16], log[PLANT_PATH_MAX + 16], what[128],
	    detail[600], first[300], label[64];
	uint32_t delay;
	uint64_t max_acked;
	const char *obs;
	pid_t pid = -1, victim;
	int st = -1, rc = VOUCH_ERR_IO, torn_before;
	int64_t t0, took;

	if (s == NULL || a == NULL || b == NULL)
		return VOUCH_ERR_INVALID;
	snprintf(log, sizeof(log), "%s.log", s->dir);
	if (s->spki_len == 0 && plant_sensor_device_key(p, s) != VOUCH_OK) {
		fprintf(stderr, "vouch-plant: no certificate of %s in vouchd\n", s->device);
		return VOUCH_ERR_IO;
	}
	if (plant_sensor_logged(s, &before) != VOUCH_OK)
		goto out_clear;
	printf("  the %s has reported %zu events durable so far (last seq %llu)\n", s->label,
	       before.n, (unsigned long long)plant_events_max(&before));
	torn_before = count_lines_with(log, "\"sensor.queue.torn\"");
	/* A decision timed, then the kill within that time into the next one. */
	t0 = now_ms();
	plant_access(p, b, s, "enter", NULL, NULL);
	took = now_ms() - t0;
	delay = plant_rand(p, (uint32_t)(took > 8 ? took : 8));
	plant_events_clear(&before);
	if (plant_sensor_logged(s, &before) != VOUCH_OK)
		goto out_clear;
	snprintf(path, sizeof(path), "%s/chaos-access.out", p->work);
	if (start_wallet(p, a, path, "access", s->uri, "enter", &pid) != VOUCH_OK)
		goto out_clear;
	t0 = now_ms();
	usleep(delay * 1000);
	victim = s->pid;
	rc = plant_proc_kill9(victim);
	s->pid = -1;
	snprintf(what, sizeof(what), "kill -9 the %s, %u ms into %s's access", s->label, delay,
	         a->name);
	snprintf(detail, sizeof(detail),
	         "pid %d, %lld ms after the access started (one takes %lld ms)", (int)victim,
	         (long long)(now_ms() - t0), (long long)took);
	kill_step(p, what, rc, detail);
	/* What it had acknowledged by then: every "sensor.event" line it wrote. */
	if (plant_sensor_logged(s, &logged) != VOUCH_OK)
		goto out_clear;
	max_acked = plant_events_max(&logged);
	rc = plant_sensor_start(p, s);
	plant_step(p, s->label, "restart (same state, same port)", "listening", "--chaos",
	           rc == VOUCH_OK ? "listening" : "did not start", s->uri);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = VOUCH_ERR_IO;
	(void)plant_proc_wait(pid, INFLIGHT_WAIT, &st);
	read_text(path, out, sizeof(out));
	plant_first_line(out, first, sizeof(first));
	if (plant_queue_read(s, &queue) != VOUCH_OK)
		goto out_clear;
	check_queue(p, s, &logged, &queue, "before the kill");
	/* The phone in flight: a grant it received must have its signed event. */
	{
		const struct plant_event *e = NULL;

		for (size_t i = 0; i < queue.n && e == NULL; i++)
			if (queue.ev[i].seq > plant_events_max(&before) &&
			    strcmp(queue.ev[i].subject, a->name) == 0 &&
			    strcmp(queue.ev[i].action, "enter") == 0)
				e = &queue.ev[i];
		/* A decision the phone was given (granted or denied) must be on record as given. */
		bool decided = (st == 0 && strncmp(first, "granted", 7) == 0) ||
		               (st == 1 && strncmp(first, "denied", 6) == 0);

		if (decided)
			obs = e != NULL && e->granted == (st == 0) ? "no loss" : "lost";
		else
			obs = "no loss";
		snprintf(detail, sizeof(detail), "the phone: exit %d (%s); %s", st, first,
		         e != NULL ? "its decision is in the queue, event"
		         : decided ? "NO event for that decision"
		                   : "no decision reached it, none recorded");
		if (e != NULL)
			snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
			         " %llu (%s)", (unsigned long long)e->seq,
			         e->granted == 1 ? "granted" : "refused");
		person_label(a, label);
		snprintf(what, sizeof(what), "%s's access in flight at the kill", a->name);
		plant_step(p, label, what, "no loss", "issue", obs, detail);
	}
	/* Decisions go on, under numbers never used before. */
	plant_access(p, b, s, "enter", NULL, NULL);
	plant_access(p, a, s, "enter", NULL, NULL);
	if (plant_sensor_logged(s, &later) != VOUCH_OK)
		goto out_clear;
	{
		size_t fresh = 0, reused = 0;
		uint64_t lo = UINT64_MAX;

		for (size_t i = logged.n; i < later.n; i++) {
			fresh++;
			if (later.ev[i].seq <= max_acked ||
			    plant_events_find(&logged, later.ev[i].seq) != NULL)
				reused++;
			if (later.ev[i].seq < lo)
				lo = later.ev[i].seq;
		}
		snprintf(detail, sizeof(detail),
		         "last before the kill %llu; %zu events since the restart, from %llu%s",
		         (unsigned long long)max_acked, fresh,
		         fresh ? (unsigned long long)lo : 0ull,
		         count_lines_with(log, "\"sensor.queue.torn\"") > torn_before
		             ? "; the restart dropped a torn record (never acknowledged)"
		             : "");
		plant_step(p, s->label, "sequence numbers after the restart", "new", "issue",
		           fresh == 0    ? "no event"
		           : reused == 0 ? "new"
		                         : "reused",
		           detail);
	}
	plant_events_clear(&queue);
	if (plant_queue_read(s, &queue) != VOUCH_OK)
		goto out_clear;
	check_queue(p, s, &later, &queue, "so far");
	rc = VOUCH_OK;
out_clear:
	plant_events_clear(&before);
	plant_events_clear(&logged);
	plant_events_clear(&queue);
	plant_events_clear(&later);
	return rc;
}

/* ---- the phone that keeps `vouch-wallet run` going ---- */

static void runner_log(const struct plant *p, char out[PLANT_PATH_MAX + 16])
{
	snprintf(out, PLANT_PATH_MAX + 16, "%s/phone-%s-run.log", p->work, p->runner->name);
}

int plant_runner_start(struct plant *p)
{
	char log[PLANT_PATH_MAX + 16];
	int before;

	if (p->runner == NULL) {
		p->runner = plant_person_by_role(p, "plant-manager", 0);
		if (p->runner == NULL)
			p->runner = plant_person_by_role(p, "cfo", 0);
		if (p->runner == NULL)
			return VOUCH_ERR_INVALID;
	}
	runner_log(p, log);
	before = count_lines_with(log, "\"wallet.run\"");
	{
		const char *argv[] = {
		    p->wallet_path, "--wallet", p->runner->wallet, "run", "--interval",
		    RUN_INTERVAL,   NULL};

		if (plant_proc_start(argv, NULL, log, &p->runner_pid) != VOUCH_OK)
			return VOUCH_ERR_IO;
	}
	for (int i = 0; i < RUN_START_TRIES; i++) {
		if (count_lines_with(log, "\"wallet.run\"") > before)
			return VOUCH_OK;
		if (!plant_proc_alive(p->runner_pid) || plant_proc_interrupted())
			break;
		usleep(50000);
	}
	fprintf(stderr, "vouch-plant: %s's vouch-wallet run did not start (see %s)\n",
	        p->runner->name, log);
	return VOUCH_ERR_IO;
}

/* After a kill: the wallet still holds a valid credential, one that vouchd issued. */
static void check_wallet(struct plant *p, const struct plant_person *who, const char *when)
{
	char out[PLANT_OUT_MAX], cti[48], detail[400], what[96], label[64];
	struct snap s = {0};
	int st = -1;
	bool valid, known = false;

	plant_wallet(p, who, out, sizeof(out), &st, "status", NULL);
	valid = st == 0 && strstr(out, "credential   valid") != NULL;
	(void)wallet_cti(p, who, cti);
	{
		char *buf = malloc(SNAP_MAX);

		if (buf != NULL) {
			s.creds = list_of(p, buf, "items", "credential", "list");
			known = s.creds != NULL && cred_known(&s, cti);
		}
		free(buf);
	}
	snap_clear(&s);
	snprintf(detail, sizeof(detail), "vouch-wallet status exit %d, credential %s; cti %s %s",
	         st, valid ? "valid" : "NOT valid", cti[0] ? cti : "?",
	         known ? "issued by vouchd (credential list)" : "NOT in vouchd's list");
	person_label(who, label);
	snprintf(what, sizeof(what), "the wallet %s", when);
	plant_step(p, label, what, "intact", "issue", valid && known ? "intact" : "damaged",
	           detail);
}

int plant_sc_chaos_phone(struct plant *p)
{
	struct plant_person *who = p->runner;
	struct plant_sensor *door = plant_sensor_of(p, "door", "plant/hall-a");
	char out[PLANT_OUT_MAX], path[PLANT_PATH_MAX + 16], log[PLANT_PATH_MAX + 16], what[128],
	    detail[400], first[300], label[64];
	uint32_t delay;
	int64_t t0, took;
	pid_t pid = -1, victim;
	int st = -1, rc;
	bool was_alive;

	if (who == NULL || p->runner_pid <= 0 || door == NULL)
		return VOUCH_ERR_INVALID;
	person_label(who, label);
	runner_log(p, log);
	/* 1. The long-running wallet, at a moment drawn from the seed within its 2 s cycle. */
	delay = plant_rand(p, 2000);
	printf("  %s's phone has run vouch-wallet run since the set-up (pid %d)\n", who->name,
	       (int)p->runner_pid);
	usleep(delay * 1000);
	victim = p->runner_pid;
	was_alive = plant_proc_alive(victim);
	rc = was_alive ? plant_proc_kill9(victim) : VOUCH_ERR_IO;
	p->runner_pid = -1;
	snprintf(what, sizeof(what), "kill -9 %s's vouch-wallet run", who->name);
	snprintf(detail, sizeof(detail), "pid %d, %u ms into the scenario%s", (int)victim, delay,
	         was_alive ? "" : "; it had already ended");
	kill_step(p, what, rc, detail);
	check_wallet(p, who, "after its run was killed");
	rc = plant_runner_start(p);
	plant_step(p, label, "vouch-wallet run restarted", "running", "--chaos",
	           rc == VOUCH_OK ? "running" : "did not start", "it logged wallet.run again");
	/* 2. A refresh mid-flight: timed once, then killed within that time. */
	t0 = now_ms();
	plant_wallet(p, who, out, sizeof(out), &st, "refresh", NULL);
	took = now_ms() - t0;
	plant_first_line(out, first, sizeof(first));
	snprintf(detail, sizeof(detail), "%s (%lld ms)", first, (long long)took);
	plant_step(p, label, "refresh", "refreshed", "issue", st == 0 ? "refreshed" : "error",
	           detail);
	/* Within the time a refresh takes; a refresh faster this time is tried again sooner
	 * (a kill must hit it in flight, not a process that has ended). */
	delay = plant_rand(p, (uint32_t)(took > 8 ? took * 3 / 4 : 6));
	snprintf(path, sizeof(path), "%s/chaos-phone.out", p->work);
	was_alive = false;
	for (int attempt = 0; attempt < 4 && !was_alive; attempt++, delay /= 2) {
		if (start_wallet(p, who, path, "refresh", NULL, NULL, &pid) != VOUCH_OK)
			return VOUCH_ERR_IO;
		t0 = now_ms();
		usleep(delay * 1000);
		/* Only a child not yet reaped is killed: a reaped pid may be another's by now. */
		was_alive = plant_proc_alive(pid);
		rc = was_alive ? plant_proc_kill9(pid) : VOUCH_ERR_IO;
		took = now_ms() - t0;
	}
	snprintf(what, sizeof(what), "kill -9 %s's vouch-wallet refresh mid-flight", who->name);
	read_text(path, out, sizeof(out));
	plant_first_line(out, first, sizeof(first));
	snprintf(detail, sizeof(detail), "%lld ms after its start; it had %s", (long long)took,
	         was_alive ? (first[0] ? first : "printed nothing yet") : "ended each time");
	kill_step(p, what, rc, detail);
	check_wallet(p, who, "after its refresh was killed");
	plant_wallet(p, who, out, sizeof(out), &st, "refresh", NULL);
	plant_first_line(out, first, sizeof(first));
	plant_step(p, label, "refresh after the kill", "refreshed", "issue",
	           st == 0 ? "refreshed" : "error", first);
	plant_access(p, who, door, "enter", NULL, NULL);
	plant_step(p, label, "vouch-wallet run after all that", "running", "--chaos",
	           plant_proc_alive(p->runner_pid) ? "running" : "gone", "");
	return VOUCH_OK;
}
