/*
 * vouch-sensor: files in the state directory (sensor/util.c). Every file the agent keeps is
 * private (0600 in a 0700 directory), read whole into a caller buffer, and replaced atomically:
 * a temporary file, fsync, rename over the old one, fsync of the directory. A power cut leaves
 * the old file or the new one, never a mix.
 */
#ifndef VOUCH_SENSOR_UTIL_H
#define VOUCH_SENSOR_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "vouch/common.h"

/* Paths in the state directory. Not PATH_MAX: a device's state lives at a short path, and every
 * file write keeps two of these on the decision's stack (docs/bench-sensor.md); a longer
 * --state is refused at start. */
#define SENSOR_PATH_MAX 512

/* dir + "/" + name into out; VOUCH_ERR_INVALID when it does not fit. */
int sensor_path(char *out, size_t cap, const char *dir, const char *name);

/* Create dir with mode 0700 when it is missing; refuse one that is not a directory. An existing
 * directory is narrowed to 0700. */
int sensor_mkdir_private(const char *dir);

/* Read dir/name whole into buf. VOUCH_ERR_STORE_NOT_FOUND when there is no such file,
 * VOUCH_ERR_BUFFER when it is larger than cap, VOUCH_ERR_IO otherwise. */
int sensor_file_read(const char *dir, const char *name, uint8_t *buf, size_t cap, size_t *len);

/* Replace dir/name with buf[0..len) atomically (see the top of this file). */
int sensor_file_write_atomic(const char *dir, const char *name, const uint8_t *buf, size_t len);

/* Remove dir/name (absent is fine) and sync the directory. */
int sensor_file_remove(const char *dir, const char *name);

/* fsync a directory, so that a rename or an unlink in it is durable. */
int sensor_fsync_dir(const char *dir);

/* CRC-32 (IEEE 802.3, as zlib's crc32) of buf, continuing from crc (0 to start). Detects torn
 * and corrupted records on disk; it is not a MAC. */
uint32_t sensor_crc32(uint32_t crc, const void *buf, size_t len);

#endif
