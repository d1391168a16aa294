/*
 * vouch — JSON-lines logging shared by every program.
 *
 * One line per event on stderr (or the stream given to vouch_log_init):
 *   {"time":"2026-11-22T03:20:00.123Z","level":"info","prog":"vouchd","event":"est.enrol",
 *    "device":"pump-7","serial":"..."}
 * Fields are key/value string pairs, NULL-terminated; values are JSON-escaped here. Never pass a
 * secret (PIN, token, key, password) as a value: the log is not a safe place.
 */
#ifndef VOUCH_LOG_H
#define VOUCH_LOG_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vouch_log_level {
	VOUCH_LOG_DEBUG = 0,
	VOUCH_LOG_INFO = 1,
	VOUCH_LOG_WARN = 2,
	VOUCH_LOG_ERROR = 3,
};

/* Program name, lowest level written, and the stream (NULL: stderr). */
void vouch_log_init(const char *prog, enum vouch_log_level min, FILE *out);

/* vouch_log(VOUCH_LOG_INFO, "est.enrol", "device", id, "serial", hex, NULL); */
void vouch_log(enum vouch_log_level level, const char *event, ...)
	__attribute__((sentinel));

/* Drain the OpenSSL error queue into the log, one line per queued error, under event. A no-op
 * in programs built without OpenSSL. */
void vouch_log_openssl_errors(const char *event);

#ifdef __cplusplus
}
#endif
#endif
