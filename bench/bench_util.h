/*
 * The timing helpers every bench program shares: a monotonic clock, medians of rounds, the rate
 * of an operation over a round and the load average at the start. Benchmarks only: they print
 * nothing and exit nowhere, so that each program keeps its own messages.
 */
#ifndef VOUCH_BENCH_UTIL_H
#define VOUCH_BENCH_UTIL_H

#include <stddef.h>

/* Seconds on CLOCK_MONOTONIC (for differences only). */
double bench_now(void);

/* Sorts v[0..n) ascending. */
void bench_sort(double *v, size_t n);

/* Sorts v in place and returns its median: the middle one, the mean of the two middle ones
 * when n is even, 0 when n is 0. */
double bench_median(double *v, size_t n);

/*
 * Runs fn(arg) in batches of batch calls until seconds have passed and sets *ops_s to the calls
 * per second. The clock is read once per batch: a batch > 1 for operations fast enough that
 * reading it each time would count. Returns 0, or the first non-zero return of fn (then *ops_s
 * is -1 and the round is abandoned).
 */
int bench_rate(int (*fn)(void *arg), void *arg, double seconds, int batch, double *ops_s);

/*
 * The load average: writes the first three fields of /proc/loadavg ("0.52 0.58 0.59") into out,
 * or "unknown" when it cannot be read, and returns the first of them (0 when unknown). out may
 * be NULL when only the figure is wanted.
 */
double bench_loadavg(char *out, size_t cap);

#endif
