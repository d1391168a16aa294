/*
 * Keys in PKCS#11 tokens: token creation, PIN files, key generation through the raw PKCS#11 API,
 * and key loading through libp11 (whose EVP_PKEY signs in the token).
 *
 * Each module is loaded once per process and shared (reference-counted) by every token opened
 * on it: C_Finalize from one user would otherwise end the sessions of all the others. Each token
 * is likewise opened once and shared, because libp11 ends a slot's use with C_CloseAllSessions.
 *
 * We log in with our own C_Login rather than PKCS11_login(): libp11 keeps a copy of the PIN it
 * is given (to log in again after a fork), and the PIN must not outlive the login. The login
 * state is per token for the whole process, so libp11's sessions are logged in all the same.
 */
#define _DEFAULT_SOURCE /* setenv, realpath, O_NOFOLLOW, O_CLOEXEC */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libp11.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include "vouch/log.h"
#include "vouch/p11.h"

#define PIN_FILE_MAX     256 /* bytes read from a PIN file at most */
#define EC_PARAMS_MAX    32
#define EC_POINT_DER_MAX 80
#define SOFTHSM_CONF     "softhsm2.conf"
#define SOFTHSM_TOKENS   "tokens"

/* The base64url alphabet: 64 symbols, so one random byte masked to 6 bits picks one uniformly,
 * and no symbol needs quoting anywhere. */
static const char pin_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct p11_module {
	struct p11_module *next;
	char *path;
	unsigned refs;
	PKCS11_CTX *ctx;      /* libp11's handle: loads the module and calls C_Initialize */
	void *dl;             /* our own reference to the same shared object */
	CK_FUNCTION_LIST *fn; /* for the calls libp11 does not offer */
	struct vouch_p11 *tokens;
};

struct vouch_p11 {
	struct vouch_p11 *next; /* in the module's list of open tokens */
	struct p11_module *mod;
	unsigned refs;
	char label[VOUCH_P11_TOKEN_LABEL_MAX + 1];
	CK_SLOT_ID slot_id;
	CK_SESSION_HANDLE session; /* ours, read/write, logged in */
	PKCS11_SLOT *slots;        /* libp11's view of the module's slots */
	unsigned nslots;
	PKCS11_SLOT *slot; /* the one holding our token */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct p11_module *modules;

/* ---- diagnostics ---- */

static const char *rv_name(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return "CKR_OK";
	case CKR_HOST_MEMORY:
		return "CKR_HOST_MEMORY";
	case CKR_SLOT_ID_INVALID:
		return "CKR_SLOT_ID_INVALID";
	case CKR_GENERAL_ERROR:
		return "CKR_GENERAL_ERROR";
	case CKR_FUNCTION_FAILED:
		return "CKR_FUNCTION_FAILED";
	case CKR_ARGUMENTS_BAD:
		return "CKR_ARGUMENTS_BAD";
	case CKR_ATTRIBUTE_SENSITIVE:
		return "CKR_ATTRIBUTE_SENSITIVE";
	case CKR_ATTRIBUTE_TYPE_INVALID:
		return "CKR_ATTRIBUTE_TYPE_INVALID";
	case CKR_ATTRIBUTE_VALUE_INVALID:
		return "CKR_ATTRIBUTE_VALUE_INVALID";
	case CKR_DEVICE_ERROR:
		return "CKR_DEVICE_ERROR";
	case CKR_DEVICE_MEMORY:
		return "CKR_DEVICE_MEMORY";
	case CKR_DEVICE_REMOVED:
		return "CKR_DEVICE_REMOVED";
	case CKR_MECHANISM_INVALID:
		return "CKR_MECHANISM_INVALID";
	case CKR_MECHANISM_PARAM_INVALID:
		return "CKR_MECHANISM_PARAM_INVALID";
	case CKR_OBJECT_HANDLE_INVALID:
		return "CKR_OBJECT_HANDLE_INVALID";
	case CKR_PIN_INCORRECT:
		return "CKR_PIN_INCORRECT";
	case CKR_PIN_INVALID:
		return "CKR_PIN_INVALID";
	case CKR_PIN_LEN_RANGE:
		return "CKR_PIN_LEN_RANGE";
	case CKR_PIN_LOCKED:
		return "CKR_PIN_LOCKED";
	case CKR_SESSION_CLOSED:
		return "CKR_SESSION_CLOSED";
	case CKR_SESSION_HANDLE_INVALID:
		return "CKR_SESSION_HANDLE_INVALID";
	case CKR_SESSION_READ_ONLY:
		return "CKR_SESSION_READ_ONLY";
	case CKR_SESSION_EXISTS:
		return "CKR_SESSION_EXISTS";
	case CKR_TEMPLATE_INCOMPLETE:
		return "CKR_TEMPLATE_INCOMPLETE";
	case CKR_TEMPLATE_INCONSISTENT:
		return "CKR_TEMPLATE_INCONSISTENT";
	case CKR_TOKEN_NOT_PRESENT:
		return "CKR_TOKEN_NOT_PRESENT";
	case CKR_TOKEN_NOT_RECOGNIZED:
		return "CKR_TOKEN_NOT_RECOGNIZED";
	case CKR_TOKEN_WRITE_PROTECTED:
		return "CKR_TOKEN_WRITE_PROTECTED";
	case CKR_USER_ALREADY_LOGGED_IN:
		return "CKR_USER_ALREADY_LOGGED_IN";
	case CKR_USER_NOT_LOGGED_IN:
		return "CKR_USER_NOT_LOGGED_IN";
	case CKR_USER_PIN_NOT_INITIALIZED:
		return "CKR_USER_PIN_NOT_INITIALIZED";
	case CKR_USER_TYPE_INVALID:
		return "CKR_USER_TYPE_INVALID";
	case CKR_CRYPTOKI_NOT_INITIALIZED:
		return "CKR_CRYPTOKI_NOT_INITIALIZED";
	case CKR_CRYPTOKI_ALREADY_INITIALIZED:
		return "CKR_CRYPTOKI_ALREADY_INITIALIZED";
	case CKR_BUFFER_TOO_SMALL:
		return "CKR_BUFFER_TOO_SMALL";
	default:
		return NULL;
	}
}

static void log_rv(const char *call, CK_RV rv)
{
	char hex[32];
	const char *name = rv_name(rv);

	if (name == NULL) {
		snprintf(hex, sizeof(hex), "0x%08lx", (unsigned long)rv);
		name = hex;
	}
	vouch_log(VOUCH_LOG_ERROR, "p11.error", "call", call, "rv", name, NULL);
}

static void log_fail(const char *what, const char *detail)
{
	vouch_log(VOUCH_LOG_ERROR, "p11.error", "call", what, "detail", detail, NULL);
}

/* ---- files ---- */

/* Create path exclusively with mode 0600 and write data to it; nothing is left on failure. */
static int write_private_file(const char *path, const char *data, size_t len)
{
	int rc = VOUCH_ERR_IO;
	int fd;
	size_t off = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return VOUCH_ERR_P11_EXISTS;
		log_fail("open", path);
		return VOUCH_ERR_IO;
	}
	/* The umask may only have removed bits; make the mode exactly 0600 regardless. */
	if (fchmod(fd, 0600) != 0)
		goto out_unlink;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out_unlink;
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto out_unlink;
	rc = VOUCH_OK;
out_unlink:
	if (close(fd) != 0 && rc == VOUCH_OK)
		rc = VOUCH_ERR_IO;
	if (rc != VOUCH_OK) {
		log_fail("write", path);
		unlink(path);
	}
	return rc;
}

/*
 * Read a PIN file into pin (NUL-terminated, surrounding whitespace removed). The file must be a
 * regular file that neither group nor others can access: a readable PIN file is a leaked PIN.
 */
static int read_pin_file(const char *path, char *pin, size_t cap)
{
	int rc = VOUCH_ERR_P11_PIN;
	int fd;
	struct stat st;
	size_t len = 0;
	size_t start = 0;

	pin[0] = '\0';
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		log_fail("open PIN file", path);
		return errno == ENOENT ? VOUCH_ERR_P11_NOT_FOUND : VOUCH_ERR_P11_PIN;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_fail("PIN file is not a regular file", path);
		goto out_close;
	}
	if ((st.st_mode & 077) != 0) {
		log_fail("PIN file is accessible to group or others (must be 0600)", path);
		goto out_close;
	}
	while (len < cap - 1) {
		ssize_t n = read(fd, pin + len, cap - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_fail("read PIN file", path);
			goto out_close;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	while (len > 0 && (pin[len - 1] == '\n' || pin[len - 1] == '\r' || pin[len - 1] == ' ' ||
	                   pin[len - 1] == '\t'))
		len--;
	while (start < len && (pin[start] == ' ' || pin[start] == '\t'))
		start++;
	if (start > 0)
		memmove(pin, pin + start, len - start);
	len -= start;
	pin[len] = '\0';
	if (len == 0 || len >= cap - 1) {
		log_fail("PIN file empty or too long", path);
		goto out_close;
	}
	rc = VOUCH_OK;
out_close:
	close(fd);
	if (rc != VOUCH_OK)
		vouch_wipe(pin, cap);
	return rc;
}

static bool file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 || errno != ENOENT;
}

/* ---- SoftHSM2 ---- */

static int join_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? VOUCH_ERR_INVALID : VOUCH_OK;
}

int vouch_p11_softhsm_use(const char *dir)
{
	char conf[PATH_MAX];
	char abs[PATH_MAX];

	if (dir == NULL || join_path(conf, sizeof(conf), dir, SOFTHSM_CONF) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	if (realpath(conf, abs) == NULL) {
		log_fail("no SoftHSM2 configuration", conf);
		return VOUCH_ERR_P11_NOT_FOUND;
	}
	if (setenv("SOFTHSM2_CONF", abs, 1) != 0)
		return VOUCH_ERR_NOMEM;
	return VOUCH_OK;
}

int vouch_p11_softhsm_init(const char *dir)
{
	char absdir[PATH_MAX];
	char tokens[PATH_MAX];
	char conf[PATH_MAX];
	char text[PATH_MAX + 256];
	int n;
	int rc = VOUCH_ERR_INTERNAL;

	if (dir == NULL)
		return VOUCH_ERR_INVALID;
	if (realpath(dir, absdir) == NULL) {
		log_fail("site directory", dir);
		return VOUCH_ERR_IO;
	}
	if (join_path(tokens, sizeof(tokens), absdir, SOFTHSM_TOKENS) != VOUCH_OK ||
	    join_path(conf, sizeof(conf), absdir, SOFTHSM_CONF) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	if (mkdir(tokens, 0700) != 0 && errno != EEXIST) {
		log_fail("mkdir", tokens);
		return VOUCH_ERR_IO;
	}
	n = snprintf(
	    text, sizeof(text),
	    "# SoftHSM2 configuration of this vouch site (written by vouch_p11_softhsm_init)\n"
	    "directories.tokendir = %s\n"
	    "objectstore.backend = file\n"
	    "log.level = ERROR\n"
	    "slots.removable = false\n",
	    tokens);
	if (n < 0 || (size_t)n >= sizeof(text))
		return VOUCH_ERR_INVALID;
	rc = write_private_file(conf, text, (size_t)n);
	if (rc != VOUCH_OK && rc != VOUCH_ERR_P11_EXISTS)
		return rc;
	return vouch_p11_softhsm_use(absdir);
}

/* ---- modules ---- */

/* Under registry_lock. */
static int module_acquire(const char *path, struct p11_module **out)
{
	int rc = VOUCH_ERR_P11;
	struct p11_module *m;
	CK_RV (*get_list)(CK_FUNCTION_LIST_PTR_PTR);
	CK_RV rv;

	*out = NULL;
	for (m = modules; m != NULL; m = m->next) {
		if (strcmp(m->path, path) == 0) {
			m->refs++;
			*out = m;
			return VOUCH_OK;
		}
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return VOUCH_ERR_NOMEM;
	m->path = strdup(path);
	m->ctx = PKCS11_CTX_new();
	if (m->path == NULL || m->ctx == NULL) {
		rc = VOUCH_ERR_NOMEM;
		goto out_free;
	}
	if (PKCS11_CTX_load(m->ctx, path) != 0) {
		log_fail("PKCS11_CTX_load", path);
		vouch_log_openssl_errors("p11.error");
		goto out_free;
	}
	/* SoftHSM2's C_Initialize leaves OpenSSL errors of its own (engine probing) behind. */
	ERR_clear_error();
	/* The same object dlopen()ed again: the same functions, a second reference. */
	m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (m->dl == NULL) {
		log_fail("dlopen", path);
		goto out_unload;
	}
	*(void **)&get_list = dlsym(m->dl, "C_GetFunctionList");
	if (get_list == NULL) {
		log_fail("no C_GetFunctionList", path);
		goto out_dlclose;
	}
	rv = get_list(&m->fn);
	if (rv != CKR_OK || m->fn == NULL) {
		log_rv("C_GetFunctionList", rv);
		goto out_dlclose;
	}
	/* libp11 initialised it already; this only confirms the module is up. */
	rv = m->fn->C_Initialize(NULL);
	if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED && rv != CKR_OK) {
		log_rv("C_Initialize", rv);
		goto out_dlclose;
	}
	m->refs = 1;
	m->next = modules;
	modules = m;
	*out = m;
	return VOUCH_OK;
out_dlclose:
	dlclose(m->dl);
out_unload:
	PKCS11_CTX_unload(m->ctx);
out_free:
	if (m->ctx != NULL)
		PKCS11_CTX_free(m->ctx);
	free(m->path);
	free(m);
	return rc;
}

/* Under registry_lock. */
static void module_release(struct p11_module *m)
{
	struct p11_module **pp;

	if (m == NULL || --m->refs > 0)
		return;
	for (pp = &modules; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	}
	/* C_Finalize happens here, in libp11; our handle only keeps the object mapped until then.
	 */
	PKCS11_CTX_unload(m->ctx);
	PKCS11_CTX_free(m->ctx);
	dlclose(m->dl);
	free(m->path);
	free(m);
}

/* A token label as CK_TOKEN_INFO holds it: 32 bytes padded with spaces. */
static int pad_label(const char *label, CK_UTF8CHAR out[VOUCH_P11_TOKEN_LABEL_MAX])
{
	size_t len;

	if (label == NULL)
		return VOUCH_ERR_INVALID;
	len = strlen(label);
	if (len == 0 || len > VOUCH_P11_TOKEN_LABEL_MAX)
		return VOUCH_ERR_INVALID;
	memset(out, ' ', VOUCH_P11_TOKEN_LABEL_MAX);
	memcpy(out, label, len);
	return VOUCH_OK;
}

/*
 * Find the slot of the initialised token labelled `label` (found) and, if free is not NULL, the
 * first slot holding an uninitialised token.
 */
static int find_slots(struct p11_module *m, const char *label, CK_SLOT_ID *found, bool *has_found,
                      CK_SLOT_ID *free_slot, bool *has_free)
{
	int rc = VOUCH_ERR_P11;
	CK_UTF8CHAR padded[VOUCH_P11_TOKEN_LABEL_MAX];
	CK_SLOT_ID *ids = NULL;
	CK_ULONG count = 0;
	CK_RV rv;

	*has_found = false;
	if (has_free != NULL)
		*has_free = false;
	rc = pad_label(label, padded);
	if (rc != VOUCH_OK)
		return rc;
	rc = VOUCH_ERR_P11;
	rv = m->fn->C_GetSlotList(CK_TRUE, NULL, &count);
	if (rv != CKR_OK) {
		log_rv("C_GetSlotList", rv);
		return rc;
	}
	ids = calloc(count > 0 ? count : 1, sizeof(*ids));
	if (ids == NULL)
		return VOUCH_ERR_NOMEM;
	rv = m->fn->C_GetSlotList(CK_TRUE, ids, &count);
	if (rv != CKR_OK) {
		log_rv("C_GetSlotList", rv);
		goto out_free_ids;
	}
	for (CK_ULONG i = 0; i < count; i++) {
		CK_TOKEN_INFO info;

		rv = m->fn->C_GetTokenInfo(ids[i], &info);
		if (rv != CKR_OK)
			continue;
		if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) {
			if (has_free != NULL && !*has_free) {
				*free_slot = ids[i];
				*has_free = true;
			}
			continue;
		}
		if (!*has_found && memcmp(info.label, padded, sizeof(padded)) == 0) {
			*found = ids[i];
			*has_found = true;
		}
	}
	rc = VOUCH_OK;
out_free_ids:
	free(ids);
	return rc;
}

static const char *module_path(const char *module)
{
	return module != NULL ? module : VOUCH_P11_SOFTHSM_MODULE;
}

/* ---- tokens ---- */

static int random_pin(char pin[VOUCH_P11_PIN_LEN + 1])
{
	uint8_t raw[VOUCH_P11_PIN_LEN];
	int rc = vouch_random(raw, sizeof(raw));

	if (rc == VOUCH_OK) {
		for (size_t i = 0; i < sizeof(raw); i++)
			pin[i] = pin_alphabet[raw[i] & 63];
		pin[VOUCH_P11_PIN_LEN] = '\0';
	}
	vouch_wipe(raw, sizeof(raw));
	return rc;
}

/* Write "PIN\n" to a new 0600 file. */
static int write_pin_file(const char *path, const char pin[VOUCH_P11_PIN_LEN + 1])
{
	char line[VOUCH_P11_PIN_LEN + 2];
	int rc = VOUCH_ERR_INTERNAL;

	memcpy(line, pin, VOUCH_P11_PIN_LEN);
	line[VOUCH_P11_PIN_LEN] = '\n';
	line[VOUCH_P11_PIN_LEN + 1] = '\0';
	rc = write_private_file(path, line, VOUCH_P11_PIN_LEN + 1);
	vouch_wipe(line, sizeof(line));
	return rc;
}

/* C_InitToken done: open an SO session on the (renumbered) slot and set the user PIN. */
static int init_user_pin(struct p11_module *m, const char *label, const char *so_pin,
                         const char *user_pin)
{
	int rc = VOUCH_ERR_INTERNAL;
	CK_SLOT_ID slot = 0;
	bool has = false;
	CK_SESSION_HANDLE s;
	CK_RV rv;

	/* SoftHSM2 moves a freshly initialised token to a new slot id: look it up again. */
	rc = find_slots(m, label, &slot, &has, NULL, NULL);
	if (rc != VOUCH_OK)
		return rc;
	if (!has) {
		log_fail("token vanished after C_InitToken", label);
		return VOUCH_ERR_P11;
	}
	rc = VOUCH_ERR_P11;
	rv = m->fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK) {
		log_rv("C_OpenSession", rv);
		return rc;
	}
	rv = m->fn->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)so_pin, strlen(so_pin));
	if (rv != CKR_OK) {
		log_rv("C_Login(SO)", rv);
		goto out_close;
	}
	rv = m->fn->C_InitPIN(s, (CK_UTF8CHAR_PTR)user_pin, strlen(user_pin));
	if (rv != CKR_OK)
		log_rv("C_InitPIN", rv);
	else
		rc = VOUCH_OK;
	m->fn->C_Logout(s);
out_close:
	m->fn->C_CloseSession(s);
	return rc;
}

/*
 * Both ways of creating a token: the user PIN is either generated and written to user_pin_path,
 * or given (given_pin, user_pin_path NULL) and written nowhere.
 */
static int token_create(const char *module, const char *label, const char *user_pin_path,
                        const char *given_pin, const char *so_pin_path)
{
	int rc = VOUCH_ERR_INTERNAL;
	struct p11_module *m = NULL;
	CK_UTF8CHAR padded[VOUCH_P11_TOKEN_LABEL_MAX];
	char user_pin[VOUCH_P11_PIN_LEN + 1];
	char so_pin[VOUCH_P11_PIN_LEN + 1];
	const char *upin = given_pin != NULL ? given_pin : user_pin;
	CK_SLOT_ID found = 0;
	CK_SLOT_ID free_slot = 0;
	bool has_found = false;
	bool has_free = false;
	bool wrote_user = false;
	bool wrote_so = false;
	CK_RV rv;

	if ((user_pin_path == NULL) == (given_pin == NULL) || so_pin_path == NULL ||
	    (user_pin_path != NULL && strcmp(user_pin_path, so_pin_path) == 0) ||
	    pad_label(label, padded) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	if ((user_pin_path != NULL && file_exists(user_pin_path)) || file_exists(so_pin_path)) {
		vouch_log(VOUCH_LOG_ERROR, "p11.token.refuse", "token", label, "why",
		          "PIN file exists", NULL);
		return VOUCH_ERR_P11_EXISTS;
	}
	pthread_mutex_lock(&registry_lock);
	rc = module_acquire(module_path(module), &m);
	if (rc != VOUCH_OK)
		goto out_unlock;
	rc = find_slots(m, label, &found, &has_found, &free_slot, &has_free);
	if (rc != VOUCH_OK)
		goto out_release;
	if (has_found) {
		vouch_log(VOUCH_LOG_ERROR, "p11.token.refuse", "token", label, "why",
		          "a token with this label exists", NULL);
		rc = VOUCH_ERR_P11_EXISTS;
		goto out_release;
	}
	if (!has_free) {
		log_fail("no free slot for a new token", label);
		rc = VOUCH_ERR_P11_NOT_FOUND;
		goto out_release;
	}
	rc = random_pin(user_pin);
	if (rc != VOUCH_OK)
		goto out_release;
	rc = random_pin(so_pin);
	if (rc != VOUCH_OK)
		goto out_wipe;
	rc = write_pin_file(so_pin_path, so_pin);
	if (rc != VOUCH_OK)
		goto out_wipe;
	wrote_so = true;
	if (user_pin_path != NULL) {
		rc = write_pin_file(user_pin_path, user_pin);
		if (rc != VOUCH_OK)
			goto out_wipe;
		wrote_user = true;
	}
	rc = VOUCH_ERR_P11;
	rv = m->fn->C_InitToken(free_slot, (CK_UTF8CHAR_PTR)so_pin, VOUCH_P11_PIN_LEN, padded);
	if (rv != CKR_OK) {
		log_rv("C_InitToken", rv);
		goto out_wipe;
	}
	rc = init_user_pin(m, label, so_pin, upin);
	if (rc == VOUCH_OK)
		vouch_log(VOUCH_LOG_INFO, "p11.token.create", "token", label, NULL);
out_wipe:
	vouch_wipe(user_pin, sizeof(user_pin));
	vouch_wipe(so_pin, sizeof(so_pin));
	if (rc != VOUCH_OK) {
		if (wrote_user)
			unlink(user_pin_path);
		if (wrote_so)
			unlink(so_pin_path);
	}
out_release:
	module_release(m);
out_unlock:
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

int vouch_p11_token_create(const char *module, const char *label, const char *user_pin_path,
                           const char *so_pin_path)
{
	if (user_pin_path == NULL)
		return VOUCH_ERR_INVALID;
	return token_create(module, label, user_pin_path, NULL, so_pin_path);
}

static bool user_pin_ok(const char *pin)
{
	size_t len = pin != NULL ? strnlen(pin, VOUCH_P11_USER_PIN_MAX + 1) : 0;

	return len >= VOUCH_P11_USER_PIN_MIN && len <= VOUCH_P11_USER_PIN_MAX;
}

int vouch_p11_token_create_pin(const char *module, const char *label, const char *user_pin,
                               const char *so_pin_path)
{
	if (!user_pin_ok(user_pin))
		return VOUCH_ERR_INVALID;
	return token_create(module, label, NULL, user_pin, so_pin_path);
}

/* Log in our session with the PIN given, or else the one from pin_path; a PIN read from the file
 * is wiped before returning (a given one is the caller's to wipe). */
static int login_user(struct vouch_p11 *p, const char *pin_path, const char *given_pin)
{
	char pin[PIN_FILE_MAX];
	int rc = VOUCH_ERR_INTERNAL;
	CK_RV rv;

	if (given_pin != NULL) {
		rv = p->mod->fn->C_Login(p->session, CKU_USER, (CK_UTF8CHAR_PTR)given_pin,
		                         strlen(given_pin));
	} else {
		rc = read_pin_file(pin_path, pin, sizeof(pin));
		if (rc != VOUCH_OK)
			return rc;
		rv = p->mod->fn->C_Login(p->session, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
		vouch_wipe(pin, sizeof(pin));
	}
	switch (rv) {
	case CKR_OK:
	case CKR_USER_ALREADY_LOGGED_IN:
		return VOUCH_OK;
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_LOCKED:
	case CKR_USER_PIN_NOT_INITIALIZED:
		log_rv("C_Login", rv);
		return VOUCH_ERR_P11_PIN;
	default:
		log_rv("C_Login", rv);
		return VOUCH_ERR_P11;
	}
}

/* libp11's slot object for our slot id. */
static int attach_libp11(struct vouch_p11 *p)
{
	if (PKCS11_enumerate_slots(p->mod->ctx, &p->slots, &p->nslots) != 0) {
		log_fail("PKCS11_enumerate_slots", p->label);
		vouch_log_openssl_errors("p11.error");
		p->slots = NULL;
		p->nslots = 0;
		return VOUCH_ERR_P11;
	}
	for (unsigned i = 0; i < p->nslots; i++) {
		if (PKCS11_get_slotid_from_slot(&p->slots[i]) == p->slot_id &&
		    p->slots[i].token != NULL) {
			p->slot = &p->slots[i];
			return VOUCH_OK;
		}
	}
	log_fail("libp11 does not see the token", p->label);
	return VOUCH_ERR_P11;
}

/* Under registry_lock: tear down an open token whose last reference went away. */
static void token_destroy(struct vouch_p11 *p)
{
	struct vouch_p11 **pp;

	for (pp = &p->mod->tokens; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	/* Closing the last session of the token logs it out (PKCS#11 C_CloseSession); libp11
	 * closes its own with C_CloseAllSessions on the slot. */
	if (p->session != CK_INVALID_HANDLE)
		p->mod->fn->C_CloseSession(p->session);
	if (p->slots != NULL)
		PKCS11_release_all_slots(p->mod->ctx, p->slots, p->nslots);
	module_release(p->mod);
	vouch_wipe(p, sizeof(*p));
	free(p);
}

/* Both ways of opening a token: with the PIN of pin_path, or with given_pin (pin_path NULL). */
static int token_open(struct vouch_p11 **out, const char *module, const char *label,
                      const char *pin_path, const char *given_pin)
{
	int rc = VOUCH_ERR_INTERNAL;
	struct p11_module *m = NULL;
	struct vouch_p11 *p;
	CK_UTF8CHAR padded[VOUCH_P11_TOKEN_LABEL_MAX];
	bool has = false;
	CK_RV rv;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (pin_path == NULL) == (given_pin == NULL) ||
	    pad_label(label, padded) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	pthread_mutex_lock(&registry_lock);
	rc = module_acquire(module_path(module), &m);
	if (rc != VOUCH_OK)
		goto out_unlock;
	for (p = m->tokens; p != NULL; p = p->next) {
		if (strcmp(p->label, label) == 0 && given_pin != NULL) {
			/* The session is logged in already, so a given PIN cannot be checked:
			 * refused rather than taken on trust. */
			vouch_log(VOUCH_LOG_ERROR, "p11.error", "call", "open", "token", label,
			          "detail", "already open in this process", NULL);
			rc = VOUCH_ERR_P11_EXISTS;
			module_release(m);
			goto out_unlock;
		}
		if (strcmp(p->label, label) == 0) {
			/* Already open and logged in in this process: share it, but still insist
			 * on a readable, private PIN file, as a first open would. */
			char pin[PIN_FILE_MAX];

			rc = read_pin_file(pin_path, pin, sizeof(pin));
			vouch_wipe(pin, sizeof(pin));
			if (rc == VOUCH_OK) {
				p->refs++;
				*out = p;
			}
			module_release(m);
			goto out_unlock;
		}
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		rc = VOUCH_ERR_NOMEM;
		module_release(m);
		goto out_unlock;
	}
	p->mod = m;
	p->refs = 1;
	p->session = CK_INVALID_HANDLE;
	memcpy(p->label, label, strlen(label) + 1);
	p->next = m->tokens;
	m->tokens = p;
	rc = find_slots(m, label, &p->slot_id, &has, NULL, NULL);
	if (rc != VOUCH_OK)
		goto out_destroy;
	if (!has) {
		vouch_log(VOUCH_LOG_ERROR, "p11.error", "call", "open", "token", label, "detail",
		          "no token with this label", NULL);
		rc = VOUCH_ERR_P11_NOT_FOUND;
		goto out_destroy;
	}
	rv = m->fn->C_OpenSession(p->slot_id, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
	                          &p->session);
	if (rv != CKR_OK) {
		log_rv("C_OpenSession", rv);
		p->session = CK_INVALID_HANDLE;
		rc = VOUCH_ERR_P11;
		goto out_destroy;
	}
	rc = login_user(p, pin_path, given_pin);
	if (rc != VOUCH_OK)
		goto out_destroy;
	rc = attach_libp11(p);
	if (rc != VOUCH_OK)
		goto out_destroy;
	*out = p;
	goto out_unlock;
out_destroy:
	token_destroy(p);
out_unlock:
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

int vouch_p11_open(struct vouch_p11 **out, const char *module, const char *label,
                   const char *pin_path)
{
	if (pin_path == NULL) {
		if (out != NULL)
			*out = NULL;
		return VOUCH_ERR_INVALID;
	}
	return token_open(out, module, label, pin_path, NULL);
}

int vouch_p11_open_pin(struct vouch_p11 **out, const char *module, const char *label,
                       const char *pin)
{
	if (!user_pin_ok(pin)) {
		if (out != NULL)
			*out = NULL;
		return VOUCH_ERR_INVALID;
	}
	return token_open(out, module, label, NULL, pin);
}

void vouch_p11_close(struct vouch_p11 *p11)
{
	if (p11 == NULL)
		return;
	pthread_mutex_lock(&registry_lock);
	if (--p11->refs == 0)
		token_destroy(p11);
	pthread_mutex_unlock(&registry_lock);
}

/* ---- objects ---- */

static int check_key_label(const char *label)
{
	size_t len;

	if (label == NULL)
		return VOUCH_ERR_INVALID;
	len = strlen(label);
	return len == 0 || len > VOUCH_P11_KEY_LABEL_MAX ? VOUCH_ERR_INVALID : VOUCH_OK;
}

/* The first object of class cls (or any class when cls is (CK_ULONG)-1) labelled label. */
static int find_object(struct vouch_p11 *p, CK_OBJECT_CLASS cls, const char *label,
                       CK_OBJECT_HANDLE *obj)
{
	CK_FUNCTION_LIST *fn = p->mod->fn;
	CK_ATTRIBUTE tmpl[2];
	CK_ULONG n = 0;
	CK_ULONG found = 0;
	CK_RV rv;

	tmpl[n].type = CKA_LABEL;
	tmpl[n].pValue = (void *)label;
	tmpl[n].ulValueLen = strlen(label);
	n++;
	if (cls != (CK_OBJECT_CLASS)-1) {
		tmpl[n].type = CKA_CLASS;
		tmpl[n].pValue = &cls;
		tmpl[n].ulValueLen = sizeof(cls);
		n++;
	}
	rv = fn->C_FindObjectsInit(p->session, tmpl, n);
	if (rv != CKR_OK) {
		log_rv("C_FindObjectsInit", rv);
		return VOUCH_ERR_P11;
	}
	rv = fn->C_FindObjects(p->session, obj, 1, &found);
	fn->C_FindObjectsFinal(p->session);
	if (rv != CKR_OK) {
		log_rv("C_FindObjects", rv);
		return VOUCH_ERR_P11;
	}
	return found == 1 ? VOUCH_OK : VOUCH_ERR_P11_NOT_FOUND;
}

/* DER of the named curve's OID: CKA_EC_PARAMS for P-256, Ed25519 (RFC 8410 OID). */
static int ec_params(enum vouch_key_type type, uint8_t out[EC_PARAMS_MAX], size_t *len)
{
	ASN1_OBJECT *oid;
	unsigned char *p = out;
	int n;

	oid = OBJ_nid2obj(type == VOUCH_KEY_P256 ? NID_X9_62_prime256v1 : NID_ED25519);
	if (oid == NULL)
		return VOUCH_ERR_INTERNAL;
	n = i2d_ASN1_OBJECT(oid, NULL);
	if (n <= 0 || n > EC_PARAMS_MAX)
		return VOUCH_ERR_INTERNAL;
	n = i2d_ASN1_OBJECT(oid, &p);
	if (n <= 0)
		return VOUCH_ERR_INTERNAL;
	*len = (size_t)n;
	return VOUCH_OK;
}

#define ATTR(t, v, l) ((CK_ATTRIBUTE){(t), (void *)(v), (l)})

int vouch_p11_key_generate(struct vouch_p11 *p11, enum vouch_key_type type, const char *label,
                           const uint8_t *id, size_t id_len)
{
	static const CK_BBOOL yes = CK_TRUE;
	static const CK_BBOOL no = CK_FALSE;
	CK_KEY_TYPE kt;
	CK_OBJECT_CLASS pub_cls = CKO_PUBLIC_KEY;
	CK_OBJECT_CLASS priv_cls = CKO_PRIVATE_KEY;
	CK_MECHANISM mech = {0, NULL, 0};
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE existing;
	uint8_t params[EC_PARAMS_MAX];
	size_t params_len = 0;
	CK_ULONG label_len;
	CK_RV rv;
	int rc = VOUCH_ERR_INTERNAL;

	if (p11 == NULL || check_key_label(label) != VOUCH_OK || id == NULL || id_len == 0 ||
	    id_len > VOUCH_P11_KEY_ID_MAX)
		return VOUCH_ERR_INVALID;
	switch (type) {
	case VOUCH_KEY_P256:
		kt = CKK_EC;
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		break;
	case VOUCH_KEY_ED25519:
		kt = CKK_EC_EDWARDS;
		mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		break;
	default:
		return VOUCH_ERR_UNSUPPORTED;
	}
	rc = ec_params(type, params, &params_len);
	if (rc != VOUCH_OK)
		return rc;
	rc = find_object(p11, (CK_OBJECT_CLASS)-1, label, &existing);
	if (rc == VOUCH_OK) {
		vouch_log(VOUCH_LOG_ERROR, "p11.key.refuse", "token", p11->label, "key", label,
		          "why", "an object with this label exists", NULL);
		return VOUCH_ERR_P11_EXISTS;
	}
	if (rc != VOUCH_ERR_P11_NOT_FOUND)
		return rc;
	label_len = strlen(label);
	{
		CK_ATTRIBUTE pub_tmpl[] = {
		    ATTR(CKA_CLASS, &pub_cls, sizeof(pub_cls)),
		    ATTR(CKA_KEY_TYPE, &kt, sizeof(kt)),
		    ATTR(CKA_TOKEN, &yes, sizeof(yes)),
		    ATTR(CKA_PRIVATE, &no, sizeof(no)),
		    ATTR(CKA_VERIFY, &yes, sizeof(yes)),
		    ATTR(CKA_EC_PARAMS, params, params_len),
		    ATTR(CKA_LABEL, label, label_len),
		    ATTR(CKA_ID, id, id_len),
		};
		CK_ATTRIBUTE priv_tmpl[] = {
		    ATTR(CKA_CLASS, &priv_cls, sizeof(priv_cls)),
		    ATTR(CKA_KEY_TYPE, &kt, sizeof(kt)),
		    ATTR(CKA_TOKEN, &yes, sizeof(yes)),
		    ATTR(CKA_PRIVATE, &yes, sizeof(yes)),
		    ATTR(CKA_SENSITIVE, &yes, sizeof(yes)),
		    ATTR(CKA_EXTRACTABLE, &no, sizeof(no)),
		    ATTR(CKA_SIGN, &yes, sizeof(yes)),
		    ATTR(CKA_LABEL, label, label_len),
		    ATTR(CKA_ID, id, id_len),
		    /* ECDH (device keys, later); EdDSA keys cannot derive. */
		    ATTR(CKA_DERIVE, type == VOUCH_KEY_P256 ? &yes : &no, sizeof(yes)),
		};

		rv = p11->mod->fn->C_GenerateKeyPair(p11->session, &mech, pub_tmpl,
		                                     VOUCH_ARRAY_LEN(pub_tmpl), priv_tmpl,
		                                     VOUCH_ARRAY_LEN(priv_tmpl), &pub, &priv);
	}
	if (rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID ||
	    rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_TEMPLATE_INCONSISTENT) {
		log_rv("C_GenerateKeyPair", rv);
		return VOUCH_ERR_UNSUPPORTED;
	}
	if (rv != CKR_OK) {
		log_rv("C_GenerateKeyPair", rv);
		return VOUCH_ERR_P11;
	}
	vouch_log(VOUCH_LOG_INFO, "p11.key.generate", "token", p11->label, "key", label, "type",
	          type == VOUCH_KEY_P256 ? "P-256" : "Ed25519", NULL);
	return VOUCH_OK;
}

/* Read one attribute of known maximum size. */
static CK_RV get_attr(struct vouch_p11 *p, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type, void *buf,
                      CK_ULONG *len)
{
	CK_ATTRIBUTE a = {type, buf, *len};
	CK_RV rv = p->mod->fn->C_GetAttributeValue(p->session, obj, &a, 1);

	*len = a.ulValueLen;
	return rv;
}

/* The key type of a key object: P-256, Ed25519, or NONE for anything else. */
static int object_key_type(struct vouch_p11 *p, CK_OBJECT_HANDLE obj, enum vouch_key_type *type)
{
	CK_KEY_TYPE kt = 0;
	CK_ULONG len = sizeof(kt);
	uint8_t params[EC_PARAMS_MAX];
	uint8_t want[EC_PARAMS_MAX];
	size_t want_len = 0;
	CK_ULONG params_len = sizeof(params);
	CK_RV rv;
	int rc = VOUCH_ERR_INTERNAL;

	*type = VOUCH_KEY_NONE;
	rv = get_attr(p, obj, CKA_KEY_TYPE, &kt, &len);
	if (rv != CKR_OK) {
		log_rv("C_GetAttributeValue(CKA_KEY_TYPE)", rv);
		return VOUCH_ERR_P11;
	}
	if (kt == CKK_EC_EDWARDS) {
		*type = VOUCH_KEY_ED25519;
		return VOUCH_OK;
	}
	if (kt != CKK_EC)
		return VOUCH_OK;
	rv = get_attr(p, obj, CKA_EC_PARAMS, params, &params_len);
	if (rv != CKR_OK) {
		log_rv("C_GetAttributeValue(CKA_EC_PARAMS)", rv);
		return VOUCH_ERR_P11;
	}
	rc = ec_params(VOUCH_KEY_P256, want, &want_len);
	if (rc != VOUCH_OK)
		return rc;
	if (params_len == want_len && memcmp(params, want, want_len) == 0)
		*type = VOUCH_KEY_P256;
	return VOUCH_OK;
}

int vouch_p11_key_info(struct vouch_p11 *p11, const char *label, struct vouch_p11_key_info *info)
{
	CK_OBJECT_HANDLE obj;
	CK_BBOOL b[4] = {CK_FALSE, CK_FALSE, CK_FALSE, CK_FALSE};
	CK_ATTRIBUTE attrs[] = {
	    {CKA_SENSITIVE, &b[0], sizeof(b[0])},
	    {CKA_EXTRACTABLE, &b[1], sizeof(b[1])},
	    {CKA_ALWAYS_SENSITIVE, &b[2], sizeof(b[2])},
	    {CKA_NEVER_EXTRACTABLE, &b[3], sizeof(b[3])},
	};
	uint8_t value[128];
	CK_ULONG value_len = sizeof(value);
	CK_RV rv;
	int rc = VOUCH_ERR_INTERNAL;

	if (info != NULL)
		memset(info, 0, sizeof(*info));
	if (p11 == NULL || info == NULL || check_key_label(label) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	rc = find_object(p11, CKO_PRIVATE_KEY, label, &obj);
	if (rc != VOUCH_OK)
		return rc;
	rc = object_key_type(p11, obj, &info->type);
	if (rc != VOUCH_OK)
		return rc;
	rv = p11->mod->fn->C_GetAttributeValue(p11->session, obj, attrs, VOUCH_ARRAY_LEN(attrs));
	if (rv != CKR_OK) {
		log_rv("C_GetAttributeValue", rv);
		return VOUCH_ERR_P11;
	}
	info->sensitive = b[0] == CK_TRUE;
	info->extractable = b[1] == CK_TRUE;
	info->always_sensitive = b[2] == CK_TRUE;
	info->never_extractable = b[3] == CK_TRUE;
	/* Ask for the secret itself: the token must refuse (CKR_ATTRIBUTE_SENSITIVE). */
	rv = get_attr(p11, obj, CKA_VALUE, value, &value_len);
	info->value_readable = rv == CKR_OK;
	vouch_wipe(value, sizeof(value));
	return VOUCH_OK;
}

int vouch_p11_key_load_public(struct vouch_p11 *p11, const char *label, struct vouch_key *pub)
{
	CK_OBJECT_HANDLE obj;
	enum vouch_key_type type;
	uint8_t der[EC_POINT_DER_MAX];
	CK_ULONG der_len = sizeof(der);
	const unsigned char *p = der;
	ASN1_OCTET_STRING *point = NULL;
	CK_RV rv;
	int rc = VOUCH_ERR_INTERNAL;

	if (p11 == NULL || pub == NULL || pub->h.ptr != NULL || check_key_label(label) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	rc = find_object(p11, CKO_PUBLIC_KEY, label, &obj);
	if (rc != VOUCH_OK)
		return rc;
	rc = object_key_type(p11, obj, &type);
	if (rc != VOUCH_OK)
		return rc;
	if (type == VOUCH_KEY_NONE)
		return VOUCH_ERR_UNSUPPORTED;
	rv = get_attr(p11, obj, CKA_EC_POINT, der, &der_len);
	if (rv != CKR_OK) {
		log_rv("C_GetAttributeValue(CKA_EC_POINT)", rv);
		return VOUCH_ERR_P11;
	}
	/* PKCS#11 2.40: CKA_EC_POINT is the DER of an OCTET STRING holding the point. */
	point = d2i_ASN1_OCTET_STRING(NULL, &p, (long)der_len);
	if (point == NULL || p != der + der_len) {
		log_fail("CKA_EC_POINT is not a DER OCTET STRING", label);
		rc = VOUCH_ERR_P11;
		goto out_free_point;
	}
	rc = vouch_key_import_public(pub, type, ASN1_STRING_get0_data(point),
	                             (size_t)ASN1_STRING_length(point));
out_free_point:
	ASN1_OCTET_STRING_free(point);
	return rc;
}

/* The libp11 key object of the private key labelled label. */
static int libp11_find_key(struct vouch_p11 *p11, const char *label, PKCS11_KEY **out)
{
	PKCS11_KEY *keys = NULL;
	unsigned n = 0;

	*out = NULL;
	if (PKCS11_enumerate_keys(p11->slot->token, &keys, &n) != 0) {
		log_fail("PKCS11_enumerate_keys", p11->label);
		vouch_log_openssl_errors("p11.error");
		return VOUCH_ERR_P11;
	}
	for (unsigned i = 0; i < n; i++) {
		if (keys[i].isPrivate && keys[i].label != NULL &&
		    strcmp(keys[i].label, label) == 0) {
			*out = &keys[i];
			return VOUCH_OK;
		}
	}
	return VOUCH_ERR_P11_NOT_FOUND;
}

int vouch_p11_key_load(struct vouch_p11 *p11, const char *label, struct vouch_key *key)
{
	CK_OBJECT_HANDLE obj;
	enum vouch_key_type type;
	PKCS11_KEY *k = NULL;
	EVP_PKEY *pkey;
	int rc = VOUCH_ERR_INTERNAL;

	if (p11 == NULL || key == NULL || key->h.ptr != NULL || check_key_label(label) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	/* Ask the token first: it knows Ed25519 keys, which libp11 0.4 silently skips. */
	rc = find_object(p11, CKO_PRIVATE_KEY, label, &obj);
	if (rc != VOUCH_OK)
		return rc;
	rc = object_key_type(p11, obj, &type);
	if (rc != VOUCH_OK)
		return rc;
	if (type != VOUCH_KEY_P256) {
		vouch_log(VOUCH_LOG_ERROR, "p11.error", "call", "key_load", "key", label, "detail",
		          "only P-256 token keys can be used through libp11 0.4", NULL);
		return VOUCH_ERR_UNSUPPORTED;
	}
	rc = libp11_find_key(p11, label, &k);
	if (rc != VOUCH_OK) {
		log_fail("libp11 does not see the key", label);
		return rc == VOUCH_ERR_P11_NOT_FOUND ? VOUCH_ERR_P11 : rc;
	}
	/* libp11 caches one EVP_PKEY per key object and hands out a new reference to it: that
	 * reference is the handle's, dropped by vouch_key_clear(). */
	pkey = PKCS11_get_private_key(k);
	if (pkey == NULL) {
		log_fail("PKCS11_get_private_key", label);
		vouch_log_openssl_errors("p11.error");
		return VOUCH_ERR_P11;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC || EVP_PKEY_get_bits(pkey) != 256) {
		EVP_PKEY_free(pkey);
		log_fail("libp11 key is not P-256", label);
		return VOUCH_ERR_P11;
	}
	/* libp11 queues diagnostics (absent optional attributes) even when it succeeds. */
	ERR_clear_error();
	key->type = VOUCH_KEY_P256;
	key->flags = VOUCH_KEY_F_PRIVATE;
	key->h.ptr = pkey;
	return VOUCH_OK;
}

struct evp_pkey_st *vouch_p11_key_evp(const struct vouch_key *key)
{
	return key != NULL ? key->h.ptr : NULL;
}

/* ---- secret keys: sealing small secrets inside the token ---- */

bool vouch_p11_object_exists(struct vouch_p11 *p11, const char *label)
{
	CK_OBJECT_HANDLE obj;

	return p11 != NULL && check_key_label(label) == VOUCH_OK &&
	       find_object(p11, (CK_OBJECT_CLASS)-1, label, &obj) == VOUCH_OK;
}

int vouch_p11_aes_generate(struct vouch_p11 *p11, const char *label)
{
	static const CK_BBOOL yes = CK_TRUE;
	static const CK_BBOOL no = CK_FALSE;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG value_len = 32;
	CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_RV rv;

	if (p11 == NULL || check_key_label(label) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	if (vouch_p11_object_exists(p11, label))
		return VOUCH_ERR_P11_EXISTS;
	{
		CK_ATTRIBUTE tmpl[] = {
		    ATTR(CKA_CLASS, &cls, sizeof(cls)),
		    ATTR(CKA_KEY_TYPE, &kt, sizeof(kt)),
		    ATTR(CKA_VALUE_LEN, &value_len, sizeof(value_len)),
		    ATTR(CKA_TOKEN, &yes, sizeof(yes)),
		    ATTR(CKA_PRIVATE, &yes, sizeof(yes)),
		    ATTR(CKA_SENSITIVE, &yes, sizeof(yes)),
		    ATTR(CKA_EXTRACTABLE, &no, sizeof(no)),
		    ATTR(CKA_ENCRYPT, &yes, sizeof(yes)),
		    ATTR(CKA_DECRYPT, &yes, sizeof(yes)),
		    ATTR(CKA_WRAP, &no, sizeof(no)),
		    ATTR(CKA_UNWRAP, &no, sizeof(no)),
		    ATTR(CKA_LABEL, label, strlen(label)),
		};

		rv = p11->mod->fn->C_GenerateKey(p11->session, &mech, tmpl, VOUCH_ARRAY_LEN(tmpl),
		                                 &key);
	}
	if (rv != CKR_OK) {
		log_rv("C_GenerateKey", rv);
		return rv == CKR_MECHANISM_INVALID ? VOUCH_ERR_UNSUPPORTED : VOUCH_ERR_P11;
	}
	vouch_log(VOUCH_LOG_INFO, "p11.key.generate", "token", p11->label, "key", label, "type",
	          "AES-256", NULL);
	return VOUCH_OK;
}

/* One AES-GCM operation with the token key; in/out as C_Encrypt / C_Decrypt take them. */
static int gcm_op(struct vouch_p11 *p11, const char *label, bool seal, const uint8_t iv[12],
                  const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                  uint8_t *out, CK_ULONG *out_len)
{
	CK_FUNCTION_LIST *fn;
	CK_OBJECT_HANDLE key;
	CK_GCM_PARAMS gcm;
	CK_MECHANISM mech;
	CK_RV rv;
	int rc = find_object(p11, CKO_SECRET_KEY, label, &key);

	if (rc != VOUCH_OK)
		return rc;
	fn = p11->mod->fn;
	memset(&gcm, 0, sizeof(gcm));
	gcm.iv_ptr = (unsigned char *)iv;
	gcm.iv_len = VOUCH_P11_SEAL_IV;
	gcm.iv_bits = 8 * VOUCH_P11_SEAL_IV;
	gcm.aad_ptr = (unsigned char *)aad;
	gcm.aad_len = aad_len;
	gcm.tag_bits = 8 * VOUCH_P11_SEAL_TAG;
	mech.mechanism = CKM_AES_GCM;
	mech.pParameter = &gcm;
	mech.ulParameterLen = sizeof(gcm);
	rv = seal ? fn->C_EncryptInit(p11->session, &mech, key)
	          : fn->C_DecryptInit(p11->session, &mech, key);
	if (rv != CKR_OK) {
		log_rv(seal ? "C_EncryptInit" : "C_DecryptInit", rv);
		return rv == CKR_MECHANISM_INVALID ? VOUCH_ERR_UNSUPPORTED : VOUCH_ERR_P11;
	}
	rv = seal ? fn->C_Encrypt(p11->session, (CK_BYTE *)in, in_len, out, out_len)
	          : fn->C_Decrypt(p11->session, (CK_BYTE *)in, in_len, out, out_len);
	if (rv == CKR_OK)
		return VOUCH_OK;
	/* A failed C_Decrypt of a GCM message, once C_DecryptInit accepted key and parameters, is
	 * an authentication failure (SoftHSM2 2.6 says CKR_GENERAL_ERROR for a bad tag). */
	if (!seal && (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
	              rv == CKR_FUNCTION_FAILED || rv == CKR_GENERAL_ERROR))
		return VOUCH_ERR_VERIFY;
	log_rv(seal ? "C_Encrypt" : "C_Decrypt", rv);
	return VOUCH_ERR_P11;
}

int vouch_p11_seal(struct vouch_p11 *p11, const char *label, const uint8_t *aad, size_t aad_len,
                   const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap, size_t *out_len)
{
	CK_ULONG n;
	int rc;

	if (out_len != NULL)
		*out_len = 0;
	if (p11 == NULL || check_key_label(label) != VOUCH_OK || out == NULL || out_len == NULL ||
	    (pt == NULL && pt_len > 0) || (aad == NULL && aad_len > 0))
		return VOUCH_ERR_INVALID;
	if (cap < VOUCH_P11_SEAL_IV + pt_len + VOUCH_P11_SEAL_TAG)
		return VOUCH_ERR_BUFFER;
	rc = vouch_random(out, VOUCH_P11_SEAL_IV);
	if (rc != VOUCH_OK)
		return rc;
	n = (CK_ULONG)(cap - VOUCH_P11_SEAL_IV);
	rc = gcm_op(p11, label, true, out, aad, aad_len, pt, pt_len, out + VOUCH_P11_SEAL_IV, &n);
	if (rc != VOUCH_OK) {
		vouch_wipe(out, cap);
		return rc;
	}
	*out_len = VOUCH_P11_SEAL_IV + n;
	return VOUCH_OK;
}

int vouch_p11_unseal(struct vouch_p11 *p11, const char *label, const uint8_t *aad, size_t aad_len,
                     const uint8_t *sealed, size_t sealed_len, uint8_t *out, size_t cap,
                     size_t *out_len)
{
	CK_ULONG n;
	int rc;

	if (out_len != NULL)
		*out_len = 0;
	if (p11 == NULL || check_key_label(label) != VOUCH_OK || sealed == NULL || out == NULL ||
	    out_len == NULL || (aad == NULL && aad_len > 0))
		return VOUCH_ERR_INVALID;
	if (sealed_len < VOUCH_P11_SEAL_IV + VOUCH_P11_SEAL_TAG)
		return VOUCH_ERR_VERIFY;
	if (cap < sealed_len - VOUCH_P11_SEAL_IV - VOUCH_P11_SEAL_TAG)
		return VOUCH_ERR_BUFFER;
	/* SoftHSM2 writes the plaintext only once the tag checks; give it room for the tag too. */
	{
		uint8_t tmp[VOUCH_P11_SEAL_MAX];

		if (sealed_len - VOUCH_P11_SEAL_IV > sizeof(tmp))
			return VOUCH_ERR_BUFFER;
		n = sizeof(tmp);
		rc = gcm_op(p11, label, false, sealed, aad, aad_len, sealed + VOUCH_P11_SEAL_IV,
		            sealed_len - VOUCH_P11_SEAL_IV, tmp, &n);
		if (rc == VOUCH_OK && n > cap)
			rc = VOUCH_ERR_BUFFER;
		if (rc == VOUCH_OK) {
			memcpy(out, tmp, n);
			*out_len = n;
		}
		vouch_wipe(tmp, sizeof(tmp));
	}
	return rc;
}
