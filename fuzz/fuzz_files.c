/* Temporary directories and whole files for the file-reading targets (see fuzz_files.h). */
#define _DEFAULT_SOURCE     /* mkdtemp, O_CLOEXEC */
#define _XOPEN_SOURCE   700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_files.h"

enum { MAX_DIRS = 4, DIR_CAP = 256 };

static char dirs[MAX_DIRS][DIR_CAP];
static size_t n_dirs;

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static void remove_all(void)
{
	for (size_t i = 0; i < n_dirs; i++)
		(void)nftw(dirs[i], remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

void fuzz_tmpdir(char *out, size_t cap)
{
	const char *base = getenv("TMPDIR");
	struct stat sb;

	if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0)
		base = "/dev/shm";
	else if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (n_dirs == MAX_DIRS || cap > DIR_CAP ||
	    snprintf(out, cap, "%s/vouch-fuzz-files-XXXXXX", base) >= (int)cap ||
	    mkdtemp(out) == NULL)
		abort();
	if (n_dirs == 0)
		atexit(remove_all);
	memcpy(dirs[n_dirs++], out, strlen(out) + 1);
}

static void path_of(char out[DIR_CAP * 2], const char *dir, const char *name)
{
	if (snprintf(out, DIR_CAP * 2, "%s/%s", dir, name) >= DIR_CAP * 2)
		abort();
}

void fuzz_file_put(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[DIR_CAP * 2];
	int fd;

	path_of(path, dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			abort();
		buf += n;
		len -= (size_t)n;
	}
	if (close(fd) != 0)
		abort();
}

bool fuzz_file_get(const char *dir, const char *name, uint8_t *buf, size_t cap, size_t *len)
{
	char path[DIR_CAP * 2];
	struct stat sb;
	size_t off = 0;
	int fd;

	*len = 0;
	path_of(path, dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			abort();
		return false;
	}
	if (fstat(fd, &sb) != 0)
		abort();
	if ((uint64_t)sb.st_size > cap) {
		close(fd);
		return false;
	}
	while (off < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)sb.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	close(fd);
	*len = off;
	return true;
}
