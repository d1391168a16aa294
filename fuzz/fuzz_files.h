/*
 * For the targets whose decoders read files (the sensor's state and event queue, the PSA key
 * store): one private temporary directory per process, removed at exit, and whole-file reads and
 * writes that bypass the code under test.
 */
#ifndef VOUCH_FUZZ_FILES_H
#define VOUCH_FUZZ_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A fresh 0700 directory vouch-fuzz-files-XXXXXX, on tmpfs (/dev/shm) when there is one (else
 * $TMPDIR or /tmp): the code under test fsyncs on every atomic write, which on a disk would cost
 * the fuzzer most of its speed. It and everything in it go at a normal exit; after a finding
 * (abort) it stays, holding the files as they were. Aborts when it cannot be made. */
void fuzz_tmpdir(char *out, size_t cap);

/* dir/name := buf[0..len) (created 0600, truncated); aborts on an I/O error. */
void fuzz_file_put(const char *dir, const char *name, const uint8_t *buf, size_t len);

/* dir/name whole into buf: false when it is missing or larger than cap; aborts on an I/O error. */
bool fuzz_file_get(const char *dir, const char *name, uint8_t *buf, size_t cap, size_t *len);

#endif
