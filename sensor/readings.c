/*
 * vouch-sensor: simulated readings (rules in sensor/readings.h).
 */
#define _DEFAULT_SOURCE /* O_NOFOLLOW, O_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readings.h"
#include "util.h"
#include "vouch/log.h"

struct reading_default {
	const char *type; /* NULL: every type without a set of its own */
	const char *name;
	double value;
};

/* What a healthy device of each type reads at rest, in SI-ish units (degrees C, %RH, hPa,
 * 0/1, rpm). */
static const struct reading_default defaults[] = {
    {"machine", "temperature", 35.0}, {"machine", "running", 0},
    {"machine", "speed", 0},          {"machine", "pressure", 1013.25},
    {"door", "temperature", 21.0},    {"door", "open", 0},
    {NULL, "temperature", 21.5},      {NULL, "humidity", 45.0},
    {NULL, "pressure", 1013.25},      {NULL, "running", 0},
};

static bool type_has_defaults(const char *type)
{
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(defaults); i++)
		if (defaults[i].type != NULL && strcmp(defaults[i].type, type) == 0)
			return true;
	return false;
}

static bool name_ok(const char *p, size_t len)
{
	if (len == 0 || len > SENSOR_READING_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* Set name (len bytes, checked) to value, adding it when new. */
static bool reading_set(struct sensor_readings *rd, const char *name, size_t len, double value)
{
	size_t i;

	for (i = 0; i < rd->n; i++)
		if (strlen(rd->names[i]) == len && memcmp(rd->names[i], name, len) == 0)
			break;
	if (i == rd->n) {
		if (rd->n == SENSOR_READINGS_MAX)
			return false;
		memcpy(rd->names[i], name, len);
		rd->names[i][len] = '\0';
		rd->r[i].name = rd->names[i];
		rd->n++;
	}
	rd->r[i].value = value;
	return true;
}

static void load_defaults(struct sensor_readings *rd)
{
	bool own = type_has_defaults(rd->type);

	rd->n = 0;
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(defaults); i++) {
		const struct reading_default *d = &defaults[i];

		if (own ? d->type != NULL && strcmp(d->type, rd->type) == 0 : d->type == NULL)
			(void)reading_set(rd, d->name, strlen(d->name), d->value);
	}
}

static void bad_line(unsigned lineno, const char *why)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", lineno);
	vouch_log(VOUCH_LOG_WARN, "sensor.readings.bad_line", "file", SENSOR_READINGS_FILE, "line",
	          num, "why", why, NULL);
}

/* One line (NUL-terminated, without its newline). */
static void parse_line(struct sensor_readings *rd, char *line, unsigned lineno)
{
	char *eq, *end, *name = line;
	size_t name_len;
	double v;

	while (*name == ' ' || *name == '\t')
		name++;
	if (*name == '\0' || *name == '#')
		return;
	eq = strchr(name, '=');
	if (eq == NULL) {
		bad_line(lineno, "not name=value");
		return;
	}
	name_len = (size_t)(eq - name);
	while (name_len > 0 && (name[name_len - 1] == ' ' || name[name_len - 1] == '\t'))
		name_len--;
	if (!name_ok(name, name_len)) {
		bad_line(lineno, "bad name");
		return;
	}
	errno = 0;
	v = strtod(eq + 1, &end);
	while (*end == ' ' || *end == '\t' || *end == '\r')
		end++;
	if (end == eq + 1 || *end != '\0' || errno == ERANGE || !isfinite(v)) {
		bad_line(lineno, "not a finite number");
		return;
	}
	if (!reading_set(rd, name, name_len, v))
		bad_line(lineno, "too many readings");
}

static void load_file(struct sensor_readings *rd, int fd, size_t size)
{
	char buf[SENSOR_READINGS_FILE_MAX + 1];
	size_t off = 0;
	unsigned lineno = 1;
	char *line, *nl;

	if (size > SENSOR_READINGS_FILE_MAX) {
		bad_line(0, "file too large: ignored");
		return;
	}
	while (off < size) {
		ssize_t n = read(fd, buf + off, size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	if (memchr(buf, '\0', off) != NULL) {
		bad_line(0, "binary file: ignored");
		return;
	}
	for (line = buf; line < buf + off; line = nl + 1, lineno++) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = buf + off;
		*nl = '\0';
		parse_line(rd, line, lineno);
	}
}

void sensor_readings_refresh(struct sensor_readings *rd)
{
	struct stat st;
	int fd;

	fd = open(rd->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		/* No file (or none readable): the defaults are the physics. */
		if (fd >= 0)
			close(fd);
		if (rd->seen || rd->n == 0) {
			rd->seen = false;
			load_defaults(rd);
		}
		return;
	}
	if (rd->seen && rd->ino == (uint64_t)st.st_ino && rd->size == (uint64_t)st.st_size &&
	    rd->mtime.tv_sec == st.st_mtim.tv_sec && rd->mtime.tv_nsec == st.st_mtim.tv_nsec) {
		close(fd);
		return;
	}
	rd->seen = true;
	rd->ino = (uint64_t)st.st_ino;
	rd->size = (uint64_t)st.st_size;
	rd->mtime = st.st_mtim;
	load_defaults(rd);
	load_file(rd, fd, (size_t)st.st_size);
	close(fd);
}

void sensor_readings_set_type(struct sensor_readings *rd, const char *type)
{
	snprintf(rd->type, sizeof(rd->type), "%s", type != NULL ? type : "");
	rd->seen = false;
	rd->n = 0;
	sensor_readings_refresh(rd);
}

void sensor_readings_init(struct sensor_readings *rd, const char *sdir, const char *type)
{
	memset(rd, 0, sizeof(*rd));
	if (sensor_path(rd->path, sizeof(rd->path), sdir, SENSOR_READINGS_FILE) != VOUCH_OK)
		rd->path[0] = '\0';
	sensor_readings_set_type(rd, type);
}

double sensor_reading(const struct sensor_readings *rd, const char *name)
{
	for (size_t i = 0; i < rd->n; i++)
		if (strcmp(rd->names[i], name) == 0)
			return rd->r[i].value;
	return NAN;
}
