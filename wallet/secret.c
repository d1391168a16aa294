/*
 * Where the wallet's secrets come from. The unlock PIN (standing in for the phone's biometric
 * unlock) comes from --pin-file FILE, else the environment variable VOUCH_WALLET_PIN, else the
 * terminal without echo; never from an argument. The password comes from --password-file.
 */
#define _DEFAULT_SOURCE /* O_NOFOLLOW, O_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "vouch/common.h"
#include "wallet.h"

#define PIN_ENV "VOUCH_WALLET_PIN"

/* Drop one trailing line end (a file written by an editor or echo); the rest is the secret. */
static size_t chomp(char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '\n')
		s[--len] = '\0';
	if (len > 0 && s[len - 1] == '\r')
		s[--len] = '\0';
	return len;
}

/* A small secret file into out (NUL-terminated, one line end dropped). private_only: refuse a
 * file that group or others may read. */
static int read_secret_file(const char *path, const char *what, bool private_only, char *out,
                            size_t cap)
{
	struct stat st;
	size_t len = 0;
	int fd, rc = VOUCH_ERR_IO;

	out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		w_err("cannot open the %s file %s: %s", what, path, strerror(errno));
		return VOUCH_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		w_err("the %s file %s is not a regular file", what, path);
		goto out_close;
	}
	if (private_only && (st.st_mode & 077) != 0) {
		w_err("the %s file %s may be read by others: chmod 600 it", what, path);
		goto out_close;
	}
	for (;;) {
		ssize_t n = read(fd, out + len, cap - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			w_err("cannot read the %s file %s", what, path);
			goto out_close;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap - 1) {
			char extra;

			if (read(fd, &extra, 1) != 0) {
				w_err("the %s file %s is too long", what, path);
				goto out_close;
			}
			break;
		}
	}
	out[len] = '\0';
	len = chomp(out, len);
	if (len == 0) {
		w_err("the %s file %s is empty", what, path);
		goto out_close;
	}
	if (strlen(out) != len) {
		w_err("the %s file %s holds a NUL byte", what, path);
		goto out_close;
	}
	rc = VOUCH_OK;
out_close:
	close(fd);
	if (rc != VOUCH_OK)
		vouch_wipe(out, cap);
	return rc;
}

int w_password_read(const char *path, char *out, size_t cap)
{
	return read_secret_file(path, "password", true, out, cap);
}

/* Ask on the terminal with echo off; *no_tty when there is no terminal. */
static int ask_tty(const char *prompt, char *out, size_t cap, bool *no_tty)
{
	struct termios old, quiet;
	size_t len = 0;
	int fd, rc = VOUCH_ERR_IO;
	char c;

	*no_tty = false;
	out[0] = '\0';
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || tcgetattr(fd, &old) != 0) {
		if (fd >= 0)
			close(fd);
		*no_tty = true;
		return VOUCH_ERR_IO;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
		goto out_close;
	if (write(fd, prompt, strlen(prompt)) < 0)
		goto out_restore;
	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n')
			break;
		if (len < cap - 1)
			out[len] = c;
		len++;
	}
	if (len > cap - 1) {
		w_err("the PIN is longer than %zu characters", cap - 1);
		goto out_restore;
	}
	out[len] = '\0';
	chomp(out, len);
	rc = VOUCH_OK;
out_restore:
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* Only the cursor stays on the prompt's line. */
	}
out_close:
	vouch_wipe(&c, sizeof(c));
	close(fd);
	if (rc != VOUCH_OK)
		vouch_wipe(out, cap);
	return rc;
}

static int check_pin(char *pin)
{
	size_t len = strlen(pin);

	if (len < VOUCH_P11_USER_PIN_MIN || len > VOUCH_P11_USER_PIN_MAX) {
		w_err("the unlock PIN must have %d to %d characters", VOUCH_P11_USER_PIN_MIN,
		      VOUCH_P11_USER_PIN_MAX);
		vouch_wipe(pin, len);
		return VOUCH_ERR_INVALID;
	}
	return VOUCH_OK;
}

/*
 * The unlock PIN, from the first source there is. create: the PIN is being chosen, so the
 * terminal asks twice. The environment variable is wiped and removed once read: nothing this
 * process starts inherits it.
 */
int w_pin_get(const struct wallet *w, bool create, char pin[W_PIN_MAX + 1])
{
	char again[W_PIN_MAX + 1];
	char *env;
	bool no_tty = false;
	int rc;

	pin[0] = '\0';
	if (w->pin_file != NULL) {
		rc = read_secret_file(w->pin_file, "PIN", true, pin, W_PIN_MAX + 1);
		return rc == VOUCH_OK ? check_pin(pin) : rc;
	}
	env = getenv(PIN_ENV);
	if (env != NULL) {
		size_t len = strlen(env);

		if (len > W_PIN_MAX) {
			w_err("%s is longer than %d characters", PIN_ENV, W_PIN_MAX);
			rc = VOUCH_ERR_INVALID;
		} else {
			memcpy(pin, env, len + 1);
			rc = VOUCH_OK;
		}
		vouch_wipe(env, len);
		unsetenv(PIN_ENV);
		return rc == VOUCH_OK ? check_pin(pin) : rc;
	}
	rc = ask_tty(create ? "Choose the wallet's unlock PIN: " : "Unlock PIN: ", pin,
	             W_PIN_MAX + 1, &no_tty);
	if (no_tty) {
		w_err("no unlock PIN: give --pin-file FILE or set %s (there is no terminal to ask "
		      "on)",
		      PIN_ENV);
		return VOUCH_ERR_INVALID;
	}
	if (rc != VOUCH_OK || (rc = check_pin(pin)) != VOUCH_OK || !create)
		return rc;
	rc = ask_tty("Repeat it: ", again, sizeof(again), &no_tty);
	if (rc == VOUCH_OK && strcmp(pin, again) != 0) {
		w_err("the two PINs differ");
		rc = VOUCH_ERR_INVALID;
	}
	vouch_wipe(again, sizeof(again));
	if (rc != VOUCH_OK)
		vouch_wipe(pin, W_PIN_MAX + 1);
	return rc;
}
