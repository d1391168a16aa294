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
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <jansson.h>
#include <zlib.h>

#include "plant.h"
#include "vouch/cbor.h"
#include "vouch/common.h"
#include "vouch/cose.h"
#include "vouch/crypto.h"

#define QUEUE_HDR       16   /* sensor/queue.h: u32 length | u64 seq | u32 CRC-32 */
#define QUEUE_EVENT_MAX 1536 /* sensor/queue.h SENSOR_EVENT_MAX */
#define QUEUE_FILE_MAX  (64u << 20)
#define LIST_OUT_MAX    (1u << 20) /* vouch cert list --json of a big plant */

/* The devices of the example plant (examples/plant-policy: its zones and resource types), in
 * the order a plant of N sensors gets them: the first three carry the scenarios. */
static const struct {
	const char *label, *resource, *type, *zone, *readings;
} slots[] = {
    {"press line controller", "press-1", "machine", "plant/hall-a/line-1",
     "temperature=35\nspeed=0\nrunning=0\n"},
    {"hall A door reader", "door-hall-a", "door", "plant/hall-a", NULL},
    {"office terminal", "production-data", "information", "plant/office", NULL},
    {"hall A climate sensor", "temp-hall-a", "sensor", "plant/hall-a", NULL},
    {"robot cell controller", "robot-3", "machine", "plant/hall-b",
     "temperature=30\nspeed=0\nrunning=0\n"},
    {"office door reader", "door-office", "door", "plant/office", NULL},
    {"hall B door reader", "door-hall-b", "door", "plant/hall-b", NULL},
    {"line 1 vibration sensor", "vib-press-1", "sensor", "plant/hall-a/line-1", NULL},
    {"storage door reader", "door-storage", "door", "plant/storage", NULL},
    {"lab door reader", "door-lab", "door", "plant/lab", NULL},
};
#define N_SLOTS (sizeof(slots) / sizeof(slots[0]))

/*
 * A plant bigger than the example has more of the same devices: press-1-2 is another press like
 * press-1 (its type, zone and tags copied from the example policy), so the matrix's grants by tag
 * apply to it too. They go into the directory with one `vouch policy load`, before anyone logs in
 * (a policy load ends the credentials outstanding).
 */
int plant_sensor_resources_add(struct plant *p)
{
	char path[PLANT_PATH_MAX + 32], name[72], out[PLANT_OUT_MAX];
	json_t *policy = NULL, *doc = NULL, *res, *base;
	int rc = VOUCH_ERR_IO, st = -1;

	if ((size_t)p->o.sensors <= N_SLOTS)
		return VOUCH_OK;
	policy = json_load_file(p->o.policy, 0, NULL);
	res = json_object();
	doc = json_pack("{s:o}", "resources", res);
	if (policy == NULL || doc == NULL)
		goto out_free;
	for (int i = (int)N_SLOTS; i < p->o.sensors; i++) {
		size_t k = (size_t)i % N_SLOTS;

		base = json_object_get(json_object_get(policy, "resources"), slots[k].resource);
		snprintf(name, sizeof(name), "%s-%zu", slots[k].resource, (size_t)i / N_SLOTS + 1);
		if (base == NULL || json_object_set_new(res, name, json_deep_copy(base)) != 0)
			goto out_free;
	}
	snprintf(path, sizeof(path), "%s/more-devices.json", p->work);
	if (json_dump_file(doc, path, JSON_INDENT(1)) != 0)
		goto out_free;
	if (plant_vouch(p, out, sizeof(out), &st, "policy", "load", path, NULL) != VOUCH_OK ||
	    st != 0) {
		fprintf(stderr, "vouch-plant: policy load %s: %s\n", path, out);
		goto out_free;
	}
	printf("  policy   %d more devices like the example's (%s)\n", p->o.sensors - (int)N_SLOTS,
	       path);
	rc = VOUCH_OK;
out_free:
	json_decref(doc);
	json_decref(policy);
	return rc;
}

/* A free UDP port on loopback now (the kernel's choice; the sensor binds it right after). */
int plant_free_udp_port(void)
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

/* How many times the sensor has said it listens: its log is appended across restarts. */
static int listen_count(const struct plant_sensor *s)
{
	char path[PLANT_PATH_MAX + 16];
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s.log", s->dir);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (getline(&line, &cap, f) > 0)
		n += strstr(line, "\"sensor.listen\"") != NULL &&
		     strstr(line, "\"level\":\"info\"") != NULL;
	free(line);
	fclose(f);
	return n;
}

int plant_sensor_start(struct plant *p, struct plant_sensor *s)
{
	char out[PLANT_PATH_MAX + 16], log[PLANT_PATH_MAX + 16], listen[32];
	const char *argv[12];
	int rc, before;

	if (s->port == 0)
		s->port = plant_free_udp_port();
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
	before = listen_count(s);
	rc = plant_proc_start(argv, out, log, &s->pid);
	if (rc != VOUCH_OK)
		return rc;
	for (int i = 0; i < 100; i++) {
		if (listen_count(s) > before && (s->device[0] != '\0' || read_code(s, s->code)))
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

	/* As the directory resource it stands for, when it has one; a device new to the plant
	 * becomes a resource of its own (dev-<key thumbprint>). */
	rc = plant_wallet(p, installer, out, cap, status, "commission", s->uri, "--code", code,
	                  s->resource[0] != '\0' ? "--resource" : NULL, s->resource, NULL);
	if (rc != VOUCH_OK)
		return rc;
	d = strstr(out, "commissioned: ");
	if (*status == 0 && d != NULL) {
		sscanf(d + 14, "%31s", s->device);
		if (s->resource[0] == '\0')
			snprintf(s->resource, sizeof(s->resource), "%s", s->device);
	}
	return VOUCH_OK;
}

int plant_sensors_add(struct plant *p, const struct plant_person *installer)
{
	size_t n_slots = N_SLOTS;
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
		if ((size_t)i < n_slots)
			snprintf(s->resource, sizeof(s->resource), "%s", slots[k].resource);
		else
			snprintf(s->resource, sizeof(s->resource), "%s-%zu", slots[k].resource,
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
		printf("  sensor   %-24s %-16s %-11s %-20s %s  %s  (pairing code %.9s..., "
		       "commissioned by %s)\n",
		       s->label, s->resource, s->type, s->zone, s->uri, s->device, s->code,
		       installer->name);
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

/* ---- the sensor's events, checked from the outside ---- */

int plant_sensor_device_key(struct plant *p, struct plant_sensor *s)
{
	char *out = malloc(LIST_OUT_MAX);
	const char *serial = NULL;
	json_t *root = NULL, *certs, *c;
	X509 *x = NULL;
	BIO *bio = NULL;
	uint8_t *q;
	size_t i;
	int st = -1, n, rc = VOUCH_ERR_IO;

	s->spki_len = 0;
	if (out == NULL)
		return VOUCH_ERR_NOMEM;
	if (plant_vouch(p, out, LIST_OUT_MAX, &st, "cert", "list", "--device", s->device, "--json",
	                NULL) != VOUCH_OK ||
	    st != 0)
		goto out_free;
	root = json_loads(out, 0, NULL);
	certs = json_object_get(root, "certs");
	/* The newest valid one: a re-commissioned device has had others. */
	json_array_foreach(certs, i, c)
	{
		const char *status = json_string_value(json_object_get(c, "status"));

		if (status != NULL && strcmp(status, "valid") == 0)
			serial = json_string_value(json_object_get(c, "serial"));
	}
	if (serial == NULL)
		goto out_free;
	if (plant_vouch(p, out, LIST_OUT_MAX, &st, "cert", "show", serial, "--pem", NULL) !=
	        VOUCH_OK ||
	    st != 0)
		goto out_free;
	bio = BIO_new_mem_buf(out, -1);
	x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (x == NULL)
		goto out_free;
	n = i2d_PUBKEY(X509_get0_pubkey(x), NULL);
	if (n <= 0 || (size_t)n > sizeof(s->spki))
		goto out_free;
	q = s->spki;
	if (i2d_PUBKEY(X509_get0_pubkey(x), &q) == n) {
		s->spki_len = (size_t)n;
		rc = VOUCH_OK;
	}
out_free:
	X509_free(x);
	BIO_free(bio);
	json_decref(root);
	free(out);
	return rc;
}

static int events_add(struct plant_events *ev, const struct plant_event *e)
{
	if (ev->n == ev->cap) {
		size_t cap = ev->cap ? 2 * ev->cap : 64;
		struct plant_event *a = realloc(ev->ev, cap * sizeof(*a));

		if (a == NULL)
			return VOUCH_ERR_NOMEM;
		ev->ev = a;
		ev->cap = cap;
	}
	ev->ev[ev->n++] = *e;
	return VOUCH_OK;
}

void plant_events_clear(struct plant_events *ev)
{
	free(ev->ev);
	memset(ev, 0, sizeof(*ev));
}

const struct plant_event *plant_events_find(const struct plant_events *ev, uint64_t seq)
{
	for (size_t i = 0; i < ev->n; i++)
		if (ev->ev[i].seq == seq)
			return &ev->ev[i];
	return NULL;
}

uint64_t plant_events_max(const struct plant_events *ev)
{
	uint64_t m = 0;

	for (size_t i = 0; i < ev->n; i++)
		if (ev->ev[i].seq > m)
			m = ev->ev[i].seq;
	return m;
}

static uint64_t get_be(const uint8_t *b, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

static void copy_tstr(struct vouch_cbor_reader *r, char *out, size_t cap, int *rc)
{
	const char *t = NULL;
	size_t n = 0;

	if (vouch_cbor_read_tstr(r, &t, &n) != VOUCH_OK) {
		*rc = VOUCH_ERR_CBOR_TYPE;
		return;
	}
	snprintf(out, cap, "%.*s", (int)n, t);
}

/* The payload of a sensor event (docs: the access event): the fields the plant checks. */
static int event_payload(const uint8_t *buf, size_t len, struct plant_event *e, char device[64])
{
	struct vouch_cbor_reader r;
	size_t n = 0;
	int rc = vouch_cbor_validate(buf, len, NULL);

	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_reader_init(&r, buf, len);
	rc = vouch_cbor_read_map(&r, &n);
	for (size_t i = 0; rc == VOUCH_OK && i < n; i++) {
		uint64_t k = 0;
		bool b = false;

		rc = vouch_cbor_read_uint(&r, &k);
		if (rc != VOUCH_OK)
			break;
		switch (k) {
		case 2:
			rc = vouch_cbor_read_uint(&r, &e->seq);
			break;
		case 4:
			copy_tstr(&r, device, 64, &rc);
			break;
		case 5:
			copy_tstr(&r, e->kind, sizeof(e->kind), &rc);
			break;
		case 6:
			copy_tstr(&r, e->subject, sizeof(e->subject), &rc);
			break;
		case 8:
			copy_tstr(&r, e->action, sizeof(e->action), &rc);
			break;
		case 9:
			rc = vouch_cbor_read_bool(&r, &b);
			e->granted = b;
			break;
		case 10:
			copy_tstr(&r, e->reason, sizeof(e->reason), &rc);
			break;
		default:
			rc = vouch_cbor_skip(&r);
			break;
		}
	}
	return rc;
}

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	FILE *f;
	int rc = VOUCH_ERR_IO;

	*buf = NULL;
	*len = 0;
	f = fopen(path, "rb");
	if (f == NULL)
		return VOUCH_ERR_IO;
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > QUEUE_FILE_MAX)
		goto out_close;
	*buf = malloc((size_t)st.st_size + 1);
	if (*buf == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_close;
	}
	*len = fread(*buf, 1, (size_t)st.st_size, f);
	rc = *len == (size_t)st.st_size ? VOUCH_OK : VOUCH_ERR_IO;
out_close:
	fclose(f);
	return rc;
}

int plant_queue_read(const struct plant_sensor *s, struct plant_events *ev)
{
	char path[PLANT_PATH_MAX + 16], device[64];
	struct vouch_key key;
	uint8_t *buf = NULL;
	size_t len = 0, off = 0;
	uint64_t last = 0;
	int rc;

	memset(ev, 0, sizeof(*ev));
	vouch_key_init(&key);
	snprintf(path, sizeof(path), "%s/events", s->dir);
	rc = read_file(path, &buf, &len);
	if (rc != VOUCH_OK) {
		snprintf(ev->problem, sizeof(ev->problem), "cannot read the queue SDIR/events");
		return rc;
	}
	if (s->spki_len == 0 || vouch_key_import_spki(&key, s->spki, s->spki_len) != VOUCH_OK) {
		snprintf(ev->problem, sizeof(ev->problem), "no certified key for %s", s->device);
		goto out_free;
	}
	while (off < len) {
		struct vouch_cose_sign1 msg;
		struct plant_event e;
		const uint8_t *h = buf + off;
		uint64_t n, seq;

		memset(&e, 0, sizeof(e));
		e.granted = -1;
		device[0] = '\0';
		if (len - off < QUEUE_HDR) {
			snprintf(ev->problem, sizeof(ev->problem), "a torn header at byte %zu",
			         off);
			break;
		}
		n = get_be(h, 4);
		seq = get_be(h + 4, 8);
		if (n == 0 || n > QUEUE_EVENT_MAX || n > len - off - QUEUE_HDR) {
			snprintf(ev->problem, sizeof(ev->problem), "a torn record at byte %zu",
			         off);
			break;
		}
		if (crc32(crc32(0, h, 12), h + QUEUE_HDR, (uInt)n) != get_be(h + 12, 4)) {
			snprintf(ev->problem, sizeof(ev->problem), "record %llu: CRC mismatch",
			         (unsigned long long)seq);
			break;
		}
		if (seq <= last) {
			snprintf(ev->problem, sizeof(ev->problem), "record %llu after %llu",
			         (unsigned long long)seq, (unsigned long long)last);
			break;
		}
		if (vouch_cose_sign1_decode(h + QUEUE_HDR, n, &msg) != VOUCH_OK ||
		    msg.payload == NULL ||
		    vouch_cose_sign1_verify(&msg, &key, NULL, 0, NULL, 0) != VOUCH_OK) {
			snprintf(ev->problem, sizeof(ev->problem),
			         "record %llu: not signed by the certified key of %s",
			         (unsigned long long)seq, s->device);
			break;
		}
		if (event_payload(msg.payload, msg.payload_len, &e, device) != VOUCH_OK ||
		    e.seq != seq || strcmp(device, s->device) != 0) {
			snprintf(ev->problem, sizeof(ev->problem),
			         "record %llu: the event says seq %llu, device %s",
			         (unsigned long long)seq, (unsigned long long)e.seq, device);
			break;
		}
		if (events_add(ev, &e) != VOUCH_OK) {
			rc = VOUCH_ERR_NOMEM;
			goto out_free;
		}
		last = seq;
		off += QUEUE_HDR + n;
	}
	rc = VOUCH_OK;
out_free:
	vouch_key_clear(&key);
	free(buf);
	return rc;
}

int plant_sensor_logged(const struct plant_sensor *s, struct plant_events *ev)
{
	char path[PLANT_PATH_MAX + 16];
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int rc = VOUCH_OK;

	memset(ev, 0, sizeof(*ev));
	snprintf(path, sizeof(path), "%s.log", s->dir);
	f = fopen(path, "r");
	if (f == NULL)
		return VOUCH_ERR_IO;
	while (rc == VOUCH_OK && getline(&line, &cap, f) > 0) {
		struct plant_event e;
		json_t *j;
		const char *seq, *kind, *reason, *event;

		if (strstr(line, "\"sensor.event\"") == NULL)
			continue;
		j = json_loads(line, 0, NULL);
		seq = json_string_value(json_object_get(j, "seq"));
		kind = json_string_value(json_object_get(j, "kind"));
		reason = json_string_value(json_object_get(j, "reason"));
		event = json_string_value(json_object_get(j, "event"));
		/* An error line ("why") is an event that was not appended: not acknowledged. */
		if (seq != NULL && event != NULL && strcmp(event, "sensor.event") == 0 &&
		    json_object_get(j, "why") == NULL) {
			memset(&e, 0, sizeof(e));
			e.granted = -1;
			e.seq = strtoull(seq, NULL, 10);
			snprintf(e.kind, sizeof(e.kind), "%s", kind ? kind : "");
			snprintf(e.reason, sizeof(e.reason), "%s", reason ? reason : "");
			rc = events_add(ev, &e);
		}
		json_decref(j);
	}
	free(line);
	fclose(f);
	return rc;
}

void plant_file_sha(const char *path, char hex[65])
{
	uint8_t *buf = NULL, d[VOUCH_SHA256_LEN];
	size_t len = 0;

	hex[0] = '\0';
	if (read_file(path, &buf, &len) == VOUCH_OK && vouch_sha256(buf, len, d) == VOUCH_OK)
		for (size_t i = 0; i < sizeof(d); i++)
			snprintf(hex + 2 * i, 3, "%02x", d[i]);
	free(buf);
}
