/*
 * vouch-sensor: the durable event queue (sensor/queue.c), SDIR/events.
 *
 * Signed events wait here until vouchd has acknowledged them (flow 7: a record is deleted only
 * after the acknowledgement). The file is a sequence of records, each
 *   u32 length | u64 sequence number | u32 CRC-32 of the 12 bytes before and of the event | event
 * (big-endian), appended with one write and an fsync, so an event the sensor handed out survives
 * a power cut. A power cut in the middle of an append leaves a torn last record: opening the
 * queue finds it (short, oversized, out of sequence or a CRC mismatch), drops it and everything
 * after it, and keeps the records before. Dropping acknowledged records rewrites the file
 * atomically.
 */
#ifndef VOUCH_SENSOR_QUEUE_H
#define VOUCH_SENSOR_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"
#include "vouch/common.h"

#define SENSOR_QUEUE_FILE "events"
#define SENSOR_EVENT_MAX  1536 /* one signed event */
#define SENSOR_QUEUE_HDR  16

struct sensor_queue {
	int fd; /* -1: closed */
	char dir[SENSOR_PATH_MAX];
	uint64_t end;      /* bytes of whole records */
	size_t count;      /* records held */
	uint64_t last_seq; /* of the last record appended or found (0: none yet) */
	uint64_t dropped;  /* bytes of a torn tail dropped at open */
};

void sensor_queue_init(struct sensor_queue *q);
/* Open (create) SDIR/events, dropping a torn tail. */
int sensor_queue_open(struct sensor_queue *q, const char *sdir);
void sensor_queue_close(struct sensor_queue *q);

/* Append one event under seq (greater than every sequence number in the queue, else
 * VOUCH_ERR_INVALID); durable when it returns VOUCH_OK. */
int sensor_queue_append(struct sensor_queue *q, uint64_t seq, const uint8_t *ev, size_t len);

/* The record at *pos (start with 0), advancing *pos. VOUCH_ERR_STORE_NOT_FOUND after the last;
 * VOUCH_ERR_STORE_CORRUPT when the record no longer checks; VOUCH_ERR_BUFFER when cap is too
 * small (SENSOR_EVENT_MAX always suffices). */
int sensor_queue_read(struct sensor_queue *q, uint64_t *pos, uint64_t *seq, uint8_t *buf,
                      size_t cap, size_t *len);

/* Drop every record with a sequence number <= seq (acknowledged), atomically. */
int sensor_queue_drop_upto(struct sensor_queue *q, uint64_t seq);

#endif
