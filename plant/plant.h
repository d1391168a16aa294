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

#define PLANT_PEOPLE_MAX  64
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
/* Run a program to its end with stdout and stderr captured through a pipe into out (NUL
 * terminated, trailing newline removed). *status is the exit code, -1 when it was killed (also
 * after timeout_ms). */
int plant_proc_run(const char *const argv[], int timeout_ms, char *out, size_t cap, int *status);

/* ---- the plant ---- */

struct plant_person {
	char name[24];
	char role[24];       /* the example policy's role */
	char extra_role[32]; /* the sensor-roles.json role next to it, or "" */
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
	pid_t pid;
	char readings[128]; /* "name=value name=value" as written to SDIR/readings */
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
};

struct plant_scenario {
	const char *id;
	const char *title;
	json_t *steps;
	int pass;
	int fail;
	const char *status; /* "done", "not yet", "set-up error" */
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
int plant_people_add(struct plant *p);
int plant_person_login(struct plant *p, struct plant_person *who);
int plant_wallet(struct plant *p, const struct plant_person *who, char *out, size_t cap,
                 int *status, ...);
struct plant_person *plant_person_by_role(struct plant *p, const char *role, int nth);

/* sensors.c */
int plant_sensor_start(struct plant *p, struct plant_sensor *s);
int plant_sensor_readings(struct plant_sensor *s, const char *readings);
int plant_sensors_add(struct plant *p, const struct plant_person *installer);
int plant_sensor_commission(struct plant *p, const struct plant_person *installer,
                            struct plant_sensor *s, const char *code, int *status, char *out,
                            size_t cap);
struct plant_sensor *plant_sensor_of(struct plant *p, const char *type, const char *zone_prefix);

/* scenarios.c */
void plant_scenario_begin(struct plant *p, struct plant_scenario *sc);
void plant_step(struct plant *p, const char *who, const char *what, const char *expected,
                const char *source, const char *observed, const char *detail);
/* A person asks a sensor for an action (vouch-wallet access); expected from vouchd's evaluator
 * when expect is NULL (vouchd must run), else expect ("granted" / "refused") with its source. */
int plant_access(struct plant *p, const struct plant_person *who, const struct plant_sensor *s,
                 const char *action, const char *expect, const char *source);
int plant_scenarios_run(struct plant *p, struct plant_scenario *scs, size_t n);
size_t plant_scenarios_count(void);

#endif
