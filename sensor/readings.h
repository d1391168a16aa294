/*
 * vouch-sensor: the sensor's own readings (sensor/readings.c), simulated.
 *
 * A real sensor reads its physics; this one starts from defaults for its type and takes
 * overrides from SDIR/readings, lines of `name=value` (`#` comments and blank lines allowed),
 * re-read whenever the file changes (inode, size or modification time). That file stands in for
 * the physical world, and is how tests and the plant simulator set a temperature or stop a
 * machine. Names are 1..31 characters of [a-z0-9_.-]; values must be finite numbers. A bad line
 * is logged and ignored; the rest of the file still applies.
 */
#ifndef VOUCH_SENSOR_READINGS_H
#define VOUCH_SENSOR_READINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util.h"
#include "vouch/policy.h"

#define SENSOR_READINGS_FILE     "readings"
#define SENSOR_READINGS_MAX      16
#define SENSOR_READING_NAME_MAX  31
#define SENSOR_READINGS_FILE_MAX 4096

struct sensor_readings {
	char path[SENSOR_PATH_MAX];
	char type[VOUCH_POLICY_NAME_MAX + 1];
	/* what the file looked like when last read */
	bool seen;
	uint64_t ino, size;
	struct timespec mtime;
	size_t n;
	char names[SENSOR_READINGS_MAX][SENSOR_READING_NAME_MAX + 1];
	struct vouch_policy_reading r[SENSOR_READINGS_MAX]; /* names point into names[] */
};

/* Defaults for type (NULL or "": the generic set), overrides from SDIR/readings. */
void sensor_readings_init(struct sensor_readings *rd, const char *sdir, const char *type);
/* Another type (after commissioning): the defaults change, the file is read again. */
void sensor_readings_set_type(struct sensor_readings *rd, const char *type);
/* Re-read the file when it changed since the last look; cheap when it did not. */
void sensor_readings_refresh(struct sensor_readings *rd);
/* The value of name, or NaN when the sensor has no such reading. */
double sensor_reading(const struct sensor_readings *rd, const char *name);

#endif
