/*
 * vouch-plant: the sensors. Each is a real vouch-sensor process on its own loopback UDP port
 * with its own state directory (its secure element inside), started with no factory keys and
 * commissioned by an installer's phone with the pairing code it shows.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plant.h"
#include "vouch/common.h"

/* The devices of the example plant (examples/plant-policy: its zones and resource types), in
 * the order a plant of N sensors gets them: the first three carry the scenarios. */
static const struct {
	const char *label, *type, *zone, *readings;
} slots[] = {
    {"press line controller", "machine", "plant/hall-a/line-1",
     "temperature=35\nspeed=0\nrunning=0\n"},
    {"hall A door reader", "door", "plant/hall-a", NULL},
    {"office terminal", "information", "plant/office", NULL},
    {"hall A climate sensor", "sensor", "plant/hall-a", NULL},
    {"robot cell controller", "machine", "plant/hall-b", "temperature=30\nspeed=0\nrunning=0\n"},
    {"office door reader", "door", "plant/office", NULL},
    {"hall B door reader", "door", "plant/hall-b", NULL},
    {"line 1 vibration sensor", "sensor", "plant/hall-a/line-1", NULL},
    {"storage door reader", "door", "plant/storage", NULL},
    {"lab door reader", "door", "plant/lab", NULL},
};

/* A free UDP port on loopback now (the kernel's choice; the sensor binds it right after). */
static int free_udp_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd, port = -1;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

int plant_sensor_readings(struct plant_sensor *s, const char *readings)
{
	char path[PLANT_PATH_MAX + 16], tmp[PLANT_PATH_MAX + 16];
	size_t len = strlen(readings);
	int fd, rc = VOUCH_ERR_IO;

	snprintf(path, sizeof(path), "%s/readings", s->dir);
	snprintf(tmp, sizeof(tmp), "%s/.readings.tmp", s->dir);
	/* Replaced atomically: the sensor never reads half a file. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return VOUCH_ERR_IO;
	if (write(fd, readings, len) == (ssize_t)len)
		rc = VOUCH_OK;
	if (close(fd) != 0 || rc != VOUCH_OK || rename(tmp, path) != 0)
		return VOUCH_ERR_IO;
	snprintf(s->readings, sizeof(s->readings), "%s", readings);
	return VOUCH_OK;
}

/* The line the sensor prints on stdout while unprovisioned (the last one: a wiped sensor shows
 * a new code). */
static bool read_code(const struct plant_sensor *s, char code[64])
{
	char path[PLANT_PATH_MAX + 16], line[128];
	FILE *f;
	bool found = false;

	snprintf(path, sizeof(path), "%s.out", s->dir);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "pairing-code: ", 14) == 0) {
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(code, 64, "%.63s", line + 14);
			found = true;
		}
	fclose(f);
	return found;
}

static bool listening(const struct plant_sensor *s)
{
	char path[PLANT_PATH_MAX + 16], line[1024];
	FILE *f;
	bool found = false;

	snprintf(path, sizeof(path), "%s.log", s->dir);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, "\"sensor.listen\"") != NULL;
	fclose(f);
	return found;
}

int plant_sensor_start(struct plant *p, struct plant_sensor *s)
{
	char out[PLANT_PATH_MAX + 16], log[PLANT_PATH_MAX + 16], listen[32];
	const char *argv[12];
	int rc;

	if (s->port == 0)
		s->port = free_udp_port();
	if (s->port <= 0)
		return VOUCH_ERR_IO;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
	snprintf(s->uri, sizeof(s->uri), "coap://127.0.0.1:%d", s->port);
	snprintf(out, sizeof(out), "%s.out", s->dir);
	snprintf(log, sizeof(log), "%s.log", s->dir);
	if (mkdir(s->dir, 0700) != 0 && access(s->dir, F_OK) != 0)
		return VOUCH_ERR_IO;
	argv[0] = p->sensor_path;
	argv[1] = "--state";
	argv[2] = s->dir;
	argv[3] = "--listen";
	argv[4] = listen;
	argv[5] = "--zone";
	argv[6] = s->zone;
	argv[7] = "--type";
	argv[8] = s->type;
	argv[9] = NULL;
	rc = plant_proc_start(argv, out, log, &s->pid);
	if (rc != VOUCH_OK)
		return rc;
	for (int i = 0; i < 100; i++) {
		if (listening(s) && (s->device[0] != '\0' || read_code(s, s->code)))
			return VOUCH_OK;
		if (!plant_proc_alive(s->pid) || plant_proc_interrupted())
			break;
		usleep(50000);
	}
	fprintf(stderr, "vouch-plant: vouch-sensor %s did not start (see %s)\n", s->label, log);
	return VOUCH_ERR_IO;
}

int plant_sensor_commission(struct plant *p, const struct plant_person *installer,
                            struct plant_sensor *s, const char *code, int *status, char *out,
                            size_t cap)
{
	const char *d;
	int rc;

	rc = plant_wallet(p, installer, out, cap, status, "commission", s->uri, "--code", code,
	                  NULL);
	if (rc != VOUCH_OK)
		return rc;
	d = strstr(out, "commissioned: ");
	if (*status == 0 && d != NULL)
		sscanf(d + 14, "%31s", s->device);
	return VOUCH_OK;
}

int plant_sensors_add(struct plant *p, const struct plant_person *installer)
{
	size_t n_slots = sizeof(slots) / sizeof(slots[0]);
	char out[PLANT_OUT_MAX];
	int st = -1, rc;

	for (int i = 0; i < p->o.sensors; i++) {
		struct plant_sensor *s = &p->sensors[i];
		size_t k = (size_t)i % n_slots;

		memset(s, 0, sizeof(*s));
		if ((size_t)i < n_slots)
			snprintf(s->label, sizeof(s->label), "%s", slots[k].label);
		else
			snprintf(s->label, sizeof(s->label), "%s %zu", slots[k].label,
			         (size_t)i / n_slots + 1);
		snprintf(s->type, sizeof(s->type), "%s", slots[k].type);
		snprintf(s->zone, sizeof(s->zone), "%s", slots[k].zone);
		snprintf(s->dir, sizeof(s->dir), "%s/sensor-%d", p->work, i + 1);
		if (mkdir(s->dir, 0700) != 0)
			return VOUCH_ERR_IO;
		if (slots[k].readings != NULL &&
		    plant_sensor_readings(s, slots[k].readings) != VOUCH_OK)
			return VOUCH_ERR_IO;
		rc = plant_sensor_start(p, s);
		if (rc != VOUCH_OK)
			return rc;
		rc = plant_sensor_commission(p, installer, s, s->code, &st, out, sizeof(out));
		if (rc != VOUCH_OK || st != 0 || s->device[0] == '\0') {
			fprintf(stderr, "vouch-plant: commissioning %s failed (%d): %s\n", s->label,
			        st, out);
			return VOUCH_ERR_IO;
		}
		p->n_sensors = i + 1;
		printf(
		    "  sensor   %-24s %-11s %-20s %s  %s  (pairing code %.9s..., commissioned by "
		    "%s)\n",
		    s->label, s->type, s->zone, s->uri, s->device, s->code, installer->name);
	}
	return VOUCH_OK;
}

struct plant_sensor *plant_sensor_of(struct plant *p, const char *type, const char *zone_prefix)
{
	size_t zl = zone_prefix != NULL ? strlen(zone_prefix) : 0;

	for (int i = 0; i < p->n_sensors; i++) {
		struct plant_sensor *s = &p->sensors[i];

		if (strcmp(s->type, type) == 0 &&
		    (zl == 0 || (strncmp(s->zone, zone_prefix, zl) == 0 &&
		                 (s->zone[zl] == '\0' || s->zone[zl] == '/'))))
			return s;
	}
	return NULL;
}
