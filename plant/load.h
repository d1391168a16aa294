/*
 * vouch-plant --load (issue 6): open-loop load on the plant set up by vouch-plant. EST
 * enrolments, credential refreshes and access decisions at sensors at a set rate, from clients
 * inside worker processes (one per phone: each phone key sits in its own SoftHSM2 token, and
 * SoftHSM2 reads one configuration per process; two for the gateways' EST), reporting the
 * achieved throughput, latency percentiles and errors per kind, and the CPU and memory of vouchd,
 * the sensors and the phones. docs/plant.md.
 */
#ifndef VOUCH_PLANT_LOAD_H
#define VOUCH_PLANT_LOAD_H

#include <jansson.h>

#include "plant.h"

enum plant_load_kind {
	PLANT_LOAD_ENROL = 0,
	PLANT_LOAD_REFRESH = 1,
	PLANT_LOAD_ACCESS = 2,
	PLANT_LOAD_KINDS = 3,
};

/* "R" operations per second, 0 < R <= 10000. */
int plant_load_parse_rate(const char *s, double *rate);
/* "enrol=1,refresh=2,access=7": relative weights (0..1000 each, not all 0; a kind left out
 * keeps 0). */
int plant_load_parse_mix(const char *s, int mix[PLANT_LOAD_KINDS]);
/* The default mix when --mix is not given. */
void plant_load_default_mix(int mix[PLANT_LOAD_KINDS]);

/* After set-up: the floor (single decisions at one idle sensor), then the load for
 * p->o.duration seconds. *report: the "load" section of the JSON report (a new reference, also
 * when some operations failed). VOUCH_OK when it ran, whatever the errors (*errors says how many);
 * an error when it could not run. */
int plant_load_run(struct plant *p, json_t **report, long *errors);

#endif
