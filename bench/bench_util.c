/* The timing helpers of the bench programs (bench_util.h). */
#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void bench_sort(double *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(double), cmp_double);
}

double bench_median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	bench_sort(v, n);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int bench_rate(int (*fn)(void *arg), void *arg, double seconds, int batch, double *ops_s)
{
	double t0 = bench_now(), t;
	long n = 0;

	*ops_s = -1;
	if (batch < 1)
		batch = 1;
	do {
		for (int i = 0; i < batch; i++) {
			int rc = fn(arg);

			if (rc != 0)
				return rc;
		}
		n += batch;
		t = bench_now();
	} while (t - t0 < seconds);
	*ops_s = (double)n / (t - t0);
	return 0;
}

double bench_loadavg(char *out, size_t cap)
{
	char line[128] = "";
	FILE *f = fopen("/proc/loadavg", "r");
	char *p = line, *end;
	double one;

	if (f != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		fclose(f);
	}
	/* the first three fields */
	for (int sp = 0; *p != '\0' && *p != '\n'; p++)
		if (*p == ' ' && ++sp == 3)
			break;
	*p = '\0';
	if (out != NULL && cap > 0)
		snprintf(out, cap, "%s", line[0] != '\0' ? line : "unknown");
	one = strtod(line, &end);
	return end == line ? 0 : one;
}
