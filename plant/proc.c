/*
 * vouch-plant: the real programs as child processes.
 *
 * Every child is registered before anything else can happen, and stopped on every way out: a
 * normal return (atexit), SIGINT and SIGTERM (the handler sends SIGTERM to each child itself,
 * which is async-signal-safe, so a program the plant is waiting on ends at once and the run
 * unwinds through its normal cleanup). Only a SIGKILL of vouch-plant itself can leave them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plant.h"
#include "vouch/common.h"

extern char **environ;

#define PROC_MAX     256
#define PROC_TIMEOUT 1 /* wait_for(): not ended in time (not an error code: the caller acts) */

static volatile pid_t children[PROC_MAX];
static volatile sig_atomic_t interrupted;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
	for (size_t i = 0; i < PROC_MAX; i++)
		if (children[i] > 0)
			kill(children[i], SIGTERM);
}

static void register_child(pid_t pid)
{
	for (size_t i = 0; i < PROC_MAX; i++)
		if (children[i] == 0) {
			children[i] = pid;
			return;
		}
	/* A full table would leave this child behind at exit: it must not run. */
	kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
}

static void forget_child(pid_t pid)
{
	for (size_t i = 0; i < PROC_MAX; i++)
		if (children[i] == pid)
			children[i] = 0;
}

static void stop_all_at_exit(void)
{
	plant_proc_stop_all();
}

void plant_proc_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	atexit(stop_all_at_exit);
}

bool plant_proc_interrupted(void)
{
	return interrupted != 0;
}

static int spawn(const char *const argv[], posix_spawn_file_actions_t *fa, pid_t *pid)
{
	posix_spawnattr_t attr;
	sigset_t all, old, none, def;
	int rc;

	/* The child starts with no signal blocked and the default actions (this process blocks
	 * everything around the spawn and ignores SIGPIPE: neither must be inherited). */
	if (posix_spawnattr_init(&attr) != 0)
		return VOUCH_ERR_NOMEM;
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	if (posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0 ||
	    posix_spawnattr_setsigmask(&attr, &none) != 0 ||
	    posix_spawnattr_setsigdefault(&attr, &def) != 0) {
		posix_spawnattr_destroy(&attr);
		return VOUCH_ERR_INTERNAL;
	}
	/* No signal between the spawn and the registration: the handler must know the child. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	rc = posix_spawn(pid, argv[0], fa, &attr, (char *const *)argv, environ);
	if (rc == 0)
		register_child(*pid);
	sigprocmask(SIG_SETMASK, &old, NULL);
	posix_spawnattr_destroy(&attr);
	return rc == 0 ? VOUCH_OK : VOUCH_ERR_IO;
}

int plant_proc_start(const char *const argv[], const char *out_path, const char *err_path,
                     pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	int rc = VOUCH_ERR_IO;

	*pid = -1;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return VOUCH_ERR_NOMEM;
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, out_path ? out_path : "/dev/null",
	                                     O_WRONLY | O_CREAT | O_APPEND, 0600) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 2, err_path ? err_path : "/dev/null",
	                                     O_WRONLY | O_CREAT | O_APPEND, 0600) != 0)
		goto out_fa;
	rc = spawn(argv, &fa, pid);
out_fa:
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

static int wait_for(pid_t pid, int timeout_ms, int *status)
{
	int64_t end = now_ms() + timeout_ms;
	int ws = 0;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &ws, WNOHANG);
		if (r == pid) {
			forget_child(pid);
			*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
			return VOUCH_OK;
		}
		if (r < 0 && errno != EINTR) {
			forget_child(pid);
			return VOUCH_ERR_IO;
		}
		if (now_ms() >= end)
			return PROC_TIMEOUT;
		usleep(10000);
	}
}

int plant_proc_stop(pid_t pid, int timeout_ms, int *status)
{
	int st = -1, rc;

	if (status != NULL)
		*status = -1;
	if (pid <= 0)
		return VOUCH_ERR_INVALID;
	kill(pid, SIGTERM);
	rc = wait_for(pid, timeout_ms, &st);
	if (rc == PROC_TIMEOUT) {
		kill(pid, SIGKILL);
		rc = wait_for(pid, 5000, &st);
		st = -1;
	}
	if (status != NULL)
		*status = st;
	return rc;
}

int plant_proc_kill9(pid_t pid)
{
	int st = -1;

	if (pid <= 0)
		return VOUCH_ERR_INVALID;
	kill(pid, SIGKILL);
	return wait_for(pid, 10000, &st) == VOUCH_OK ? VOUCH_OK : VOUCH_ERR_IO;
}

int plant_proc_wait(pid_t pid, int timeout_ms, int *status)
{
	int rc;

	*status = -1;
	if (pid <= 0)
		return VOUCH_ERR_INVALID;
	rc = wait_for(pid, timeout_ms, status);
	if (rc == PROC_TIMEOUT) {
		(void)plant_proc_stop(pid, 2000, NULL);
		*status = -1;
		rc = VOUCH_OK;
	}
	return rc;
}

bool plant_proc_alive(pid_t pid)
{
	int ws = 0;

	if (pid <= 0)
		return false;
	if (waitpid(pid, &ws, WNOHANG) == 0)
		return true;
	forget_child(pid);
	return false;
}

void plant_proc_stop_all(void)
{
	for (size_t i = 0; i < PROC_MAX; i++)
		if (children[i] > 0)
			kill(children[i], SIGTERM);
	for (size_t i = 0; i < PROC_MAX; i++)
		if (children[i] > 0)
			(void)plant_proc_stop(children[i], 5000, NULL);
}

int plant_proc_run(const char *const argv[], int timeout_ms, char *out, size_t cap, int *status)
{
	posix_spawn_file_actions_t fa;
	int fds[2] = {-1, -1};
	size_t len = 0;
	int64_t end = now_ms() + timeout_ms;
	pid_t pid = -1;
	int rc = VOUCH_ERR_IO;
	char sink[512];

	*status = -1;
	out[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) != 0)
		return VOUCH_ERR_IO;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		rc = VOUCH_ERR_NOMEM;
		goto out_pipe;
	}
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, fds[1], 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, fds[1], 2) != 0)
		goto out_fa;
	rc = spawn(argv, &fa, &pid);
	if (rc != VOUCH_OK)
		goto out_fa;
	close(fds[1]);
	fds[1] = -1;
	for (;;) {
		struct pollfd pfd = {fds[0], POLLIN, 0};
		int64_t left = end - now_ms();
		ssize_t n;

		if (left <= 0 || plant_proc_interrupted()) {
			rc = PROC_TIMEOUT;
			break;
		}
		if (poll(&pfd, 1, left > 200 ? 200 : (int)left) <= 0)
			continue;
		/* Keep what fits; read the rest away so the child never blocks on a full pipe. */
		if (len + 1 < cap)
			n = read(fds[0], out + len, cap - 1 - len);
		else
			n = read(fds[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = VOUCH_OK;
			break;
		}
		if (len + 1 < cap)
			len += (size_t)n;
		out[len] = '\0';
	}
	if (rc == VOUCH_OK)
		rc = wait_for(pid, end - now_ms() > 1000 ? (int)(end - now_ms()) : 1000, status);
	if (rc != VOUCH_OK) {
		(void)plant_proc_stop(pid, 2000, NULL);
		*status = -1;
		rc = VOUCH_OK; /* the program ran; it was killed: status -1 says so */
	}
	while (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
out_fa:
	posix_spawn_file_actions_destroy(&fa);
out_pipe:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return rc;
}
