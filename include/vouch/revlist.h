/*
 * vouch — the signed revocation list (DESIGN.md flow 6; wire format in docs/revlist.md): a
 * COSE_Sign1 (ES256, tag 18, kid = signer thumbprint) by the site's revocation-list signer, whose
 * payload says, at version V, what is revoked:
 *   token hashes  (RFC 9770 hashes of single credentials)
 *   subjects      (user names: every credential of that user issued at or before revoked_at)
 *   phones        (RFC 9679 thumbprints of phone keys: every credential bound to that key)
 * A full list holds everything still relevant at V (entries are dropped once no credential they
 * could hit is unexpired). A delta holds what was added after version `since`. Versions grow by
 * one with every change and never repeat; a holder takes a list only if its version is newer than
 * the one it has (VOUCH_ERR_REVLIST_STALE otherwise) and a full list is older than max_age only
 * when the holder could not reach vouchd for that long.
 *
 * Zero-copy and allocation-free on the verifying side (sensors).
 */
#ifndef VOUCH_REVLIST_H
#define VOUCH_REVLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vouch/cred.h"
#include "vouch/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_REVLIST_FORMAT      1
#define VOUCH_REVLIST_MAX_ENTRIES 100000
#define VOUCH_REVLIST_MAX_AGE     (24 * 3600)        /* default max_age */
#define VOUCH_REVLIST_MAX_LEN     (32 * 1024 * 1024) /* largest signed list accepted */

enum vouch_revlist_kind {
	VOUCH_REVLIST_TOKEN = 1,   /* value: 32-byte token hash */
	VOUCH_REVLIST_SUBJECT = 2, /* value: user name (text, 1..VOUCH_CRED_TEXT_MAX bytes) */
	VOUCH_REVLIST_PHONE = 3,   /* value: 32-byte key thumbprint */
};

struct vouch_revlist_entry {
	enum vouch_revlist_kind kind;
	const uint8_t *value;
	size_t value_len;
	int64_t revoked_at;
};

struct vouch_revlist_params {
	const char *iss;  /* the signer's issuer name (as credentials' iss) */
	const char *aud;  /* the site id */
	uint64_t version; /* 0 only for the empty full list of a site that never revoked */
	uint64_t since;   /* 0: full list; else a delta over (since, version], since <= version */
	int64_t issued_at;
	uint32_t max_age; /* seconds */
	const struct vouch_revlist_entry *entries;
	size_t n_entries;
};

/* Encode and sign (signer: P-256 handle, a token key signs in the token). Entries are written in
 * the order given. VOUCH_ERR_BUFFER when cap is too small. */
int vouch_revlist_sign(const struct vouch_revlist_params *p, const struct vouch_key *signer,
                       uint8_t *out, size_t cap, size_t *out_len);

/* A verified list; points into the verified buffer. */
struct vouch_revlist {
	const char *iss;
	size_t iss_len;
	const char *aud;
	size_t aud_len;
	uint64_t version;
	uint64_t since;
	int64_t issued_at;
	uint32_t max_age;
	const uint8_t *entries; /* the encoded entries' items */
	size_t entries_len;
	size_t n_entries;
};

/* Verify the signature, decode strictly (format, types, sizes, limits), check iss and aud (NULL:
 * not checked). VOUCH_ERR_REVLIST_FORMAT for a payload that is not a revocation list. */
int vouch_revlist_verify(const uint8_t *buf, size_t len, const struct vouch_key *signer,
                         const char *iss, const char *aud, struct vouch_revlist *out);

/* Entry i (0..n_entries-1) of a verified list, pointing into it. Walks from the first entry
 * (O(i)): to go through them all, use vouch_revlist_next. */
int vouch_revlist_entry(const struct vouch_revlist *rl, size_t i, struct vouch_revlist_entry *out);

/* The entry at byte offset *pos of rl->entries (start with *pos = 0), advancing *pos past it;
 * false (and *out zeroed) once every entry has been read. */
bool vouch_revlist_next(const struct vouch_revlist *rl, size_t *pos,
                        struct vouch_revlist_entry *out);

/* Is a verified credential hit by the list? VOUCH_OK: not revoked; VOUCH_ERR_REVOKED: its token
 * hash is listed, or its subject was revoked at or after its iat, or its phone key is listed. */
int vouch_revlist_check(const struct vouch_revlist *rl, const struct vouch_cred *cred);

/* Is the list too old to rely on at now (now - issued_at > max_age)? */
bool vouch_revlist_expired(const struct vouch_revlist *rl, int64_t now);

#ifdef __cplusplus
}
#endif
#endif
