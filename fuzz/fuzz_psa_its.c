/*
 * libFuzzer: the PSA back-end's key store (lib/psa_its.c, docs/psa.md "The Internal Trusted
 * Storage") as bit rot, a tool's truncation or someone with the device's flash could leave a key
 * file. The input is the whole file of PSA key id 1 (the sensor's identity key, SENSOR_ID_KEY),
 * written into a store directory made once per process (fuzz_files.h); then the ITS reads it
 * (psa_its_get_info, psa_its_get at several offsets and lengths), the port loads it as a
 * persistent key (vouch_key_open_persistent: the PSA core parses the record the ITS hands it), a
 * sound file is written back through psa_its_set, and the key is destroyed.
 *
 * Each input runs twice: as it is, and (when that changes it) with its size field and SHA-256
 * made right, so that mutations also reach the key record inside and the port's checks on it.
 *
 * The file is sound exactly when a model of the layout written here says so (52 + size bytes,
 * "vouchITS", version 1, the SHA-256 of everything before it at the end). Invariants:
 *   - psa_its_get_info: PSA_SUCCESS with the header's size and flags for a sound file,
 *     PSA_ERROR_DATA_CORRUPT for any other;
 *   - psa_its_get: a sound file gives exactly the bytes of [offset, offset + length) that exist
 *     and leaves the rest of the buffer alone, an offset past the end PSA_ERROR_INVALID_ARGUMENT;
 *     any other file PSA_ERROR_DATA_CORRUPT whatever the offset, no length, and every byte it
 *     had copied wiped (never part of a key);
 *   - vouch_key_open_persistent: VOUCH_ERR_KEY for an unsound file; VOUCH_OK (a P-256 or X25519
 *     key pair) or VOUCH_ERR_KEY for a sound one, never an I/O error; a key that opened exports
 *     its public half and signs (P-256) or agrees (X25519);
 *   - psa_its_set of a sound file's data and flags writes back the same bytes; a write-once
 *     file is neither overwritten nor removed (PSA_ERROR_NOT_PERMITTED); flags the ITS does not
 *     know are PSA_ERROR_NOT_SUPPORTED;
 *   - vouch_key_destroy_persistent removes any file but a sound write-once one (a damaged key can
 *     always be decommissioned, even one whose record says "volatile").
 * This target links the PSA flavour of libvouch, so not fuzz_common.c (whose keys include an
 * Ed25519 one that PSA lacks): it has its own fuzz_fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <psa/crypto.h>

#include "fuzz.h"
#include "fuzz_files.h"
#include "vouch/crypto.h"
#include "vouch/log.h"
#include "vouch/psa.h"

/* The ITS contract (Mbed TLS 2.28's library/psa_crypto_its.h is not installed; lib/psa_its.c). */
struct psa_storage_info_t {
	uint32_t size;
	uint32_t flags;
};
psa_status_t psa_its_set(uint64_t uid, uint32_t data_length, const void *p_data,
                         uint32_t create_flags);
psa_status_t psa_its_get(uint64_t uid, uint32_t data_offset, uint32_t data_length, void *p_data,
                         size_t *p_data_length);
psa_status_t psa_its_get_info(uint64_t uid, struct psa_storage_info_t *p_info);
psa_status_t psa_its_remove(uint64_t uid);

#define KEY_ID     1u
#define KEY_FILE   "0000000000000001.key"
#define MAGIC      "vouchITS"
#define HEADER_LEN 20
#define HASH_LEN   32
#define WRITE_ONCE 1u
#define FILE_MAX   (64 * 1024)
#define GUARD      0xa5

static char dir[256];
static uint8_t fixed[FILE_MAX], file[FILE_MAX], out[FILE_MAX + 64];

void fuzz_fail(const char *what, const char *where, int line)
{
	fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", where, line, what);
	abort();
}

static void setup(void)
{
	FILE *devnull = fopen("/dev/null", "w");

	if (devnull == NULL)
		abort();
	vouch_log_init("fuzz_psa_its", VOUCH_LOG_DEBUG, devnull);
	fuzz_tmpdir(dir, sizeof(dir));
	if (vouch_psa_set_storage(dir) != VOUCH_OK)
		abort();
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The framing of docs/psa.md: 52 + size bytes, "vouchITS", version 1. */
static bool framed(const uint8_t *buf, size_t size)
{
	return size >= HEADER_LEN + HASH_LEN && memcmp(buf, MAGIC, 8) == 0 && le32(buf + 8) == 1 &&
	       le32(buf + 16) == size - HEADER_LEN - HASH_LEN;
}

/* Framed, and the SHA-256 of everything before it at the end. */
static bool sound(const uint8_t *buf, size_t size)
{
	uint8_t hash[VOUCH_SHA256_LEN];

	if (!framed(buf, size))
		return false;
	FUZZ_CHECK(vouch_sha256(buf, size - HASH_LEN, hash) == VOUCH_OK);
	return memcmp(hash, buf + size - HASH_LEN, HASH_LEN) == 0;
}

/* buf with its size field and hash made right; false when nothing changed (or no room). */
static bool file_fix(const uint8_t *buf, size_t size, uint8_t *to)
{
	uint32_t n;

	if (size < HEADER_LEN + HASH_LEN)
		return false;
	memcpy(to, buf, size);
	n = (uint32_t)(size - HEADER_LEN - HASH_LEN);
	to[16] = (uint8_t)n;
	to[17] = (uint8_t)(n >> 8);
	to[18] = (uint8_t)(n >> 16);
	to[19] = (uint8_t)(n >> 24);
	FUZZ_CHECK(vouch_sha256(to, size - HASH_LEN, to + size - HASH_LEN) == VOUCH_OK);
	return memcmp(to, buf, size) != 0;
}

/*
 * One psa_its_get of [offset, offset + length) into a guarded buffer; dsize is the header's size
 * when the file is framed. A damaged file is DATA_CORRUPT whatever the offset (its_read() checks
 * the offset only once the hash is good).
 */
static void get_one(const uint8_t *buf, bool ok, uint32_t dsize, uint32_t offset, uint32_t length)
{
	size_t got = 99, want, i;
	psa_status_t status;

	memset(out, GUARD, length + 1);
	status = psa_its_get(KEY_ID, offset, length, out, &got);
	if (!ok) {
		FUZZ_CHECK(status == PSA_ERROR_DATA_CORRUPT);
		FUZZ_CHECK(got == 0);
		/* What was copied before the damage showed is wiped: zeros, then the guard. */
		for (i = 0; i < length && out[i] == 0; i++)
			;
		for (; i <= length; i++)
			FUZZ_CHECK(out[i] == GUARD);
		return;
	}
	if (offset > dsize) {
		FUZZ_CHECK(status == PSA_ERROR_INVALID_ARGUMENT && got == 0);
		return;
	}
	want = dsize - offset < length ? dsize - offset : length;
	FUZZ_CHECK(status == PSA_SUCCESS && got == want);
	FUZZ_CHECK(want == 0 || memcmp(out, buf + HEADER_LEN + offset, want) == 0);
	for (i = want; i <= length; i++)
		FUZZ_CHECK(out[i] == GUARD);
}

/* RFC 7748 6.1, Bob's public key: a peer for an X25519 key that loaded. */
static const uint8_t x25519_peer[VOUCH_X25519_KEY_LEN] = {
    0xde, 0x9e, 0xdb, 0x7d, 0x7b, 0x7d, 0xc1, 0xb4, 0xd3, 0x5b, 0x61, 0xc2, 0xec, 0xe4, 0x35, 0x37,
    0x3f, 0x83, 0x43, 0xc8, 0x5b, 0x10, 0xe4, 0xcd, 0x25, 0x1c, 0xe4, 0x7b, 0xa4, 0xf9, 0x63, 0xf4,
};

/*
 * The port loads the key and uses it as the sensor would (its public half, a signature or an
 * agreement). vouch_key_open_persistent() proves the record first (lifetime exactly
 * PSA_KEY_LIFETIME_PERSISTENT, the port's algorithms and usages, a public half that exports), so
 * a key that opens must work.
 */
static void open_key(bool ok)
{
	uint8_t pub[VOUCH_P256_POINT_LEN], sig[VOUCH_P256_SIG_LEN], secret[VOUCH_X25519_KEY_LEN];
	struct vouch_iov msg = {"fuzz", 4};
	struct vouch_key key, peer;
	size_t len = 0;
	int rc;

	vouch_key_init(&key);
	vouch_key_init(&peer);
	rc = vouch_key_open_persistent(&key, KEY_ID);
	FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_KEY);
	FUZZ_CHECK(ok || rc == VOUCH_ERR_KEY);
	if (rc == VOUCH_OK) {
		FUZZ_CHECK(key.type == VOUCH_KEY_P256 || key.type == VOUCH_KEY_X25519);
		FUZZ_CHECK(vouch_key_is_private(&key));
		rc = vouch_key_export_public(&key, pub, sizeof(pub), &len);
		FUZZ_CHECK(rc == VOUCH_OK);
		FUZZ_CHECK(len == (key.type == VOUCH_KEY_P256 ? VOUCH_P256_POINT_LEN
		                                              : VOUCH_X25519_KEY_LEN));
		if (key.type == VOUCH_KEY_P256) {
			rc = vouch_sign(&key, &msg, 1, sig, sizeof(sig), &len);
			FUZZ_CHECK(rc == VOUCH_OK && len == sizeof(sig));
		} else {
			FUZZ_CHECK(vouch_key_import_public(&peer, VOUCH_KEY_X25519, x25519_peer,
			                                   sizeof(x25519_peer)) == VOUCH_OK);
			FUZZ_CHECK(vouch_ecdh_x25519(&key, &peer, secret) == VOUCH_OK);
			vouch_wipe(secret, sizeof(secret));
		}
	}
	vouch_key_clear(&peer);
	vouch_key_clear(&key);
}

static void check(const uint8_t *buf, size_t size)
{
	struct psa_storage_info_t info = {0, 0};
	bool frame = framed(buf, size), ok = sound(buf, size);
	uint32_t dsize = frame ? le32(buf + 16) : 0, flags = ok ? le32(buf + 12) : 0;
	size_t len = 0, got = 99;
	psa_status_t status;
	int rc;

	fuzz_file_put(dir, KEY_FILE, buf, size);
	status = psa_its_get_info(KEY_ID, &info);
	FUZZ_CHECK(status == (ok ? PSA_SUCCESS : PSA_ERROR_DATA_CORRUPT));
	FUZZ_CHECK(!ok || (info.size == dsize && info.flags == flags));
	/* Nothing to copy: still whether the entry is there and sound, and the offset in it. */
	status = psa_its_get(KEY_ID, dsize + 1, 0, NULL, &got);
	FUZZ_CHECK(got == 0);
	FUZZ_CHECK(status == (ok ? PSA_ERROR_INVALID_ARGUMENT : PSA_ERROR_DATA_CORRUPT));
	FUZZ_CHECK(psa_its_get(KEY_ID, dsize, 0, NULL, &got) ==
	           (ok ? PSA_SUCCESS : PSA_ERROR_DATA_CORRUPT));
	get_one(buf, ok, dsize, 0, dsize);
	get_one(buf, ok, dsize, 0, dsize + 17);
	get_one(buf, ok, dsize, dsize / 2, dsize / 3 + 1);
	get_one(buf, ok, dsize, dsize, 1);
	get_one(buf, ok, dsize, dsize + 1, 1);
	open_key(ok);

	if (ok && (flags & ~WRITE_ONCE) != 0) {
		FUZZ_CHECK(psa_its_set(KEY_ID, dsize, buf + HEADER_LEN, flags) ==
		           PSA_ERROR_NOT_SUPPORTED);
	} else if (ok && (flags & WRITE_ONCE) != 0) {
		FUZZ_CHECK(psa_its_set(KEY_ID, dsize, buf + HEADER_LEN, 0) ==
		           PSA_ERROR_NOT_PERMITTED);
		FUZZ_CHECK(psa_its_remove(KEY_ID) == PSA_ERROR_NOT_PERMITTED);
	} else if (ok) {
		FUZZ_CHECK(psa_its_set(KEY_ID, dsize, buf + HEADER_LEN, flags) == PSA_SUCCESS);
	}
	FUZZ_CHECK(fuzz_file_get(dir, KEY_FILE, file, sizeof(file), &len));
	FUZZ_CHECK(len == size && memcmp(file, buf, size) == 0);

	rc = vouch_key_destroy_persistent(KEY_ID);
	status = psa_its_get_info(KEY_ID, &info);
	/* Whatever the record says (even "volatile"), destroying it removes the file. */
	if (ok && (flags & WRITE_ONCE) != 0) {
		FUZZ_CHECK(rc != VOUCH_OK && status == PSA_SUCCESS);
	} else {
		FUZZ_CHECK(rc == VOUCH_OK && status == PSA_ERROR_DOES_NOT_EXIST);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size > FILE_MAX)
		return 0;
	check(data, size);
	if (file_fix(data, size, fixed))
		check(fixed, size);
	return 0;
}
