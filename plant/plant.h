/*
 * vouch-plant: a plant simulator that starts the real programs (vouchd, vouch-sensor,
 * vouch-wallet, vouch) and plays scenarios through them. Nothing here decides access: the
 * sensors decide, vouchd's evaluator (`vouch policy explain`) says what the policy expects.
 */
#ifndef VOUCH_PLANT_H
#define VOUCH_PLANT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define PLANT_PEOPLE_MAX  128 /* --load: M = 2N people for N = 64 sensors */
#define PLANT_SENSORS_MAX 64
#define PLANT_OUT_MAX     8192 /* a command's captured stdout + stderr */
#define PLANT_PATH_MAX    512
#define PLANT_WORK_MAX    200 /* the work directory: every path under it fits PLANT_PATH_MAX */

/* Exit status of vouch-plant. */
enum plant_exit {
	PLANT_EXIT_OK = 0,
	PLANT_EXIT_DIFFERS = 1, /* an observed outcome differs from the expected one */
	PLANT_EXIT_SETUP = 2,   /* the plant could not be set up (or a usage error) */
};

/* ---- proc.c: the real programs as child processes, never left behind ---- */

/* Catch SIGINT/SIGTERM (children are stopped at once, the run unwinds) and stop every child at
 * exit. */
void plant_proc_init(void);
/* True once SIGINT or SIGTERM arrived. */
bool plant_proc_interrupted(void);
/* Start a long-running program with stdout and stderr appended to files (NULL: /dev/null). */
int plant_proc_start(const char *const argv[], const char *out_path, const char *err_path,
                     pid_t *pid);
/* SIGTERM, wait up to timeout_ms, then SIGKILL. The exit status (or -1) in *status. */
int plant_proc_stop(pid_t pid, int timeout_ms, int *status);
/* Whether the child still runs (reaps it when it has ended). */
bool plant_proc_alive(pid_t pid);
/* Stop every child still running. */
void plant_proc_stop_all(void);
/* kill -9 (the chaos of --chaos: no clean-up in the child) and reap it. */
int plant_proc_kill9(pid_t pid);
/* Wait up to timeout_ms for a child started with plant_proc_start to end by itself (then stop
 * it); its exit code in *status, -1 when it was killed. */
int plant_proc_wait(pid_t pid, int timeout_ms, int *status);
/* Run a program to its end with stdout and stderr captured through a pipe into out (NUL
 * terminated, trailing newline removed). *status is the exit code, -1 when it was killed (also
 * after timeout_ms). */
int plant_proc_run(const char *const argv[], int timeout_ms, char *out, size_t cap, int *status);

/* ---- the plant ---- */

struct plant_person {
	char name[24];
	char role[24];       /* the example policy's role */
	char extra_role[32]; /* installer-role.json's role next to it (technicians), or "" */
	bool external;
	bool trained; /* machine-safety (operators) */
	bool revoked;
	char pw[PLANT_PATH_MAX];
	char wallet[PLANT_PATH_MAX];
};

struct plant_sensor {
	char label[40];
	char type[16];
	char zone[40];
	int port;
	char dir[PLANT_PATH_MAX];
	char uri[64];
	char code[64];
	char device[32];
	char resource[72]; /* the directory resource it is commissioned as (press-1, ...) */
	pid_t pid;
	char readings[128]; /* "name=value name=value" as written to SDIR/readings */
	uint8_t spki[160];  /* the key vouchd certified for the device (DER), for its events */
	size_t spki_len;
};

/* One signed event of a sensor's queue, or one "sensor.event" line of its log. */
struct plant_event {
	uint64_t seq;
	char kind[24];
	char subject[32];
	char action[24];
	int granted; /* 1, 0, -1: none */
	char reason[200];
};

struct plant_events {
	struct plant_event *ev;
	size_t n, cap;
	char problem[200]; /* why the queue does not check ("" when every record does) */
};

struct plant_opts {
	int sensors;
	int people;
	int duration; /* seconds of everyday traffic at least (0: a fixed number of checks) */
	uint64_t seed;
	const char *report;
	const char *bin;
	const char *policy;
	const char *roles;
	const char *timezone;
	bool keep;
	bool verbose;
	bool chaos; /* kill -9 vouchd, a sensor and a phone during the run */
	/* --load (plant/load.h): instead of the scenarios, operations at rate per second for
	 * duration seconds, drawn by the weights mix (enrol, refresh, access). */
	bool load;
	double rate;
	int mix[3];
};

struct plant_scenario {
	const char *id;
	const char *title;
	json_t *steps;
	int pass;
	int fail;
	const char *status; /* "done", "skipped", "set-up error" */
	const char *note;
};

struct plant {
	struct plant_opts o;
	uint64_t rng;
	char work[PLANT_WORK_MAX];
	char site[PLANT_WORK_MAX + 8];
	char vouchd_path[PLANT_PATH_MAX];
	char vouch_path[PLANT_PATH_MAX];
	char wallet_path[PLANT_PATH_MAX];
	char sensor_path[PLANT_PATH_MAX];
	char spoof_path[PLANT_PATH_MAX]; /* tests/integration/spoof_sensor, or "" when not built */
	char rogue_path[PLANT_PATH_MAX]; /* tests/integration/rogue_phone, or "" */
	char timezone[48];
	char tz_rule[64];
	char https[128];
	char http[128];
	pid_t vouchd;
	int next_port;
	struct plant_person people[PLANT_PEOPLE_MAX];
	int n_people;
	struct plant_sensor
	    sensors[PLANT_SENSORS_MAX + 1]; /* + the one commissioned in a scenario */
	int n_sensors;
	struct plant_scenario *cur;
	/* --chaos: one phone keeps `vouch-wallet run` going through the run. */
	struct plant_person *runner;
	pid_t runner_pid;
};

/* site.c */
uint32_t plant_rand(struct plant *p, uint32_t bound);
void plant_iso_time(int64_t t, char out[32]);
void plant_local_time(const struct plant *p, int64_t t, char out[40]);
int plant_choose_timezone(struct plant *p);
int plant_vouch(struct plant *p, char *out, size_t cap, int *status, ...);
int plant_vouchd_start(struct plant *p);
int plant_vouchd_stop(struct plant *p);
int plant_site_init(struct plant *p);
/* The directory resources of the devices beyond the example plant's ten (sensors.c). */
int plant_sensor_resources_add(struct plant *p);
/* What people ask of a device of s's type, drawn from the seed (scenarios.c). */
const char *plant_everyday_action(struct plant *p, const struct plant_sensor *s);
int plant_people_add(struct plant *p);
int plant_person_login(struct plant *p, struct plant_person *who);
int plant_wallet(struct plant *p, const struct plant_person *who, char *out, size_t cap,
                 int *status, ...);
struct plant_person *plant_person_by_role(struct plant *p, const char *role, int nth);

/* sensors.c */
/* A free UDP port on loopback now (the kernel's choice; bound right after). */
int plant_free_udp_port(void);
int plant_sensor_start(struct plant *p, struct plant_sensor *s);
int plant_sensor_readings(struct plant_sensor *s, const char *readings);
int plant_sensors_add(struct plant *p, const struct plant_person *installer);
int plant_sensor_commission(struct plant *p, const struct plant_person *installer,
                            struct plant_sensor *s, const char *code, int *status, char *out,
                            size_t cap);
struct plant_sensor *plant_sensor_of(struct plant *p, const char *type, const char *zone_prefix);
/* The public key vouchd certified for the sensor's device id (vouch cert list / cert show). */
int plant_sensor_device_key(struct plant *p, struct plant_sensor *s);
/* The sensor's event queue (SDIR/events) read from the outside: every record whole, its CRC
 * right, in sequence, a COSE_Sign1 under the certified key naming that sequence number and the
 * device. What does not check is said in ev->problem (the records before it are kept). */
int plant_queue_read(const struct plant_sensor *s, struct plant_events *ev);
/* The "sensor.event" lines of the sensor's log (every life of it): the events it reported
 * durable. */
int plant_sensor_logged(const struct plant_sensor *s, struct plant_events *ev);
const struct plant_event *plant_events_find(const struct plant_events *ev, uint64_t seq);
uint64_t plant_events_max(const struct plant_events *ev);
void plant_events_clear(struct plant_events *ev);
/* A file's SHA-256 as hex ("" when it cannot be read). */
void plant_file_sha(const char *path, char hex[65]);

/* scenarios.c */
void plant_scenario_begin(struct plant *p, struct plant_scenario *sc);
void plant_step(struct plant *p, const char *who, const char *what, const char *expected,
                const char *source, const char *observed, const char *detail);
/* A person asks a sensor for an action (vouch-wallet access); expected from vouchd's evaluator
 * when expect is NULL (vouchd must run), else expect ("granted" / "refused") with its source. */
int plant_access(struct plant *p, const struct plant_person *who, const struct plant_sensor *s,
                 const char *action, const char *expect, const char *source);
/* The evaluator's answer (granted / refused / unknown) and its reason. */
void plant_policy_expect(struct plant *p, const struct plant_person *who,
                         const struct plant_sensor *s, const char *action, char expected[16],
                         char *why, size_t cap);
void plant_first_line(const char *in, char *out, size_t cap);
int plant_scenarios_run(struct plant *p, struct plant_scenario *scs, size_t n);
size_t plant_scenarios_count(void);

/* attacks.c: the attacker tools of tests/integration against the plant */
int plant_sc_spoofed(struct plant *p);
int plant_sc_copied(struct plant *p);

/* chaos.c: --chaos */
int plant_runner_start(struct plant *p);
int plant_sc_chaos_vouchd(struct plant *p);
int plant_sc_chaos_sensor(struct plant *p);
int plant_sc_chaos_phone(struct plant *p);

#endif
