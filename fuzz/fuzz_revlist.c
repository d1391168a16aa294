/*
 * Revocation lists: the input as a signed list and as a payload.
 *
 * As a list: verify with the RFC 8392 A.2.3 key (the seeds were signed with it), then read every
 * entry, check a credential against it, ask whether it expired. As a payload: the strict decoder
 * behind the signature, fuzzed directly; a payload it accepts is signed again from the decoded
 * values and must verify to the same list.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vouch/revlist.h"
#include "../lib/cred_internal.h"

static bool inside(const void *p, size_t len, const uint8_t *buf, size_t size)
{
	const uint8_t *b = p;

	return b >= buf && len <= size && b - buf <= (ptrdiff_t)(size - len);
}

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* A credential of "bob" issued at 1700000000, with fixed hashes (the seeds list some of them). */
static void fake_cred(struct vouch_cred *c)
{
	memset(c, 0, sizeof(*c));
	c->claims.sub = "bob";
	c->claims.sub_len = 3;
	c->claims.iat = 1700000000;
	memset(c->token_hash, 0xab, sizeof(c->token_hash));
	memset(c->cnf_thumbprint, 0xcd, sizeof(c->cnf_thumbprint));
}

/* Every entry, in order: as many as the list says, each well-formed and inside the buffer. */
static size_t walk(const struct vouch_revlist *rl, const uint8_t *buf, size_t size,
                   struct vouch_revlist_entry *copy)
{
	struct vouch_revlist_entry e;
	size_t pos = 0, n = 0;

	while (vouch_revlist_next(rl, &pos, &e)) {
		FUZZ_CHECK(n < rl->n_entries);
		FUZZ_CHECK(inside(e.value, e.value_len, buf, size));
		FUZZ_CHECK(e.kind == VOUCH_REVLIST_SUBJECT ? e.value_len >= 1
		                                           : e.value_len == VOUCH_TOKEN_HASH_LEN);
		if (copy != NULL)
			copy[n] = e;
		n++;
	}
	FUZZ_CHECK(n == rl->n_entries);
	FUZZ_CHECK(pos == rl->entries_len);
	return n;
}

static void as_list(const uint8_t *data, size_t size)
{
	struct vouch_revlist rl;
	struct vouch_revlist_entry e;
	struct vouch_cred c;
	int rc = vouch_revlist_verify(data, size, &fuzz_sign_keys[1], NULL, NULL, &rl);

	FUZZ_CHECK(rc <= 0);
	if (rc != VOUCH_OK) {
		FUZZ_CHECK(all_zero(&rl, sizeof(rl)));
	} else {
		FUZZ_CHECK(rl.since < rl.version && rl.max_age > 0);
		FUZZ_CHECK(inside(rl.iss, rl.iss_len, data, size));
		walk(&rl, data, size, NULL);
		if (rl.n_entries > 0) {
			FUZZ_CHECK(vouch_revlist_entry(&rl, rl.n_entries - 1, &e) == VOUCH_OK);
		}
		FUZZ_CHECK(vouch_revlist_entry(&rl, rl.n_entries, &e) == VOUCH_ERR_INVALID);
		fake_cred(&c);
		rc = vouch_revlist_check(&rl, &c);
		FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_REVOKED);
		(void)vouch_revlist_expired(&rl, 1700000100);
	}
	FUZZ_CHECK(vouch_revlist_verify(data, size, &fuzz_sign_keys[0], NULL, NULL, &rl) !=
	           VOUCH_OK);
}

static void copy_text(char *dst, const char *src, size_t len)
{
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void resign(const struct vouch_revlist *rl, const uint8_t *data, size_t size)
{
	char iss[VOUCH_CRED_TEXT_MAX + 1], aud[VOUCH_CRED_TEXT_MAX + 1];
	struct vouch_revlist_entry *entries, *again_entries;
	struct vouch_revlist_params p;
	struct vouch_revlist again;
	size_t cap = size + 1024, len = 0, n = rl->n_entries;
	uint8_t *buf;

	entries = calloc(n + 1, sizeof(*entries));
	again_entries = calloc(n + 1, sizeof(*again_entries));
	buf = malloc(cap);
	FUZZ_CHECK(entries != NULL && again_entries != NULL && buf != NULL);
	walk(rl, data, size, entries);
	copy_text(iss, rl->iss, rl->iss_len);
	copy_text(aud, rl->aud, rl->aud_len);
	memset(&p, 0, sizeof(p));
	p.iss = iss;
	p.aud = aud;
	p.version = rl->version;
	p.since = rl->since;
	p.issued_at = rl->issued_at;
	p.max_age = rl->max_age;
	p.entries = entries;
	p.n_entries = n;
	/* Shortest heads throughout: never longer than the input plus the envelope. */
	FUZZ_CHECK(vouch_revlist_sign(&p, &fuzz_cwt_issuer, buf, cap, &len) == VOUCH_OK);
	FUZZ_CHECK(vouch_revlist_verify(buf, len, &fuzz_sign_keys[1], iss, aud, &again) ==
	           VOUCH_OK);
	FUZZ_CHECK(again.version == rl->version && again.since == rl->since &&
	           again.issued_at == rl->issued_at && again.max_age == rl->max_age &&
	           again.n_entries == n);
	walk(&again, buf, len, again_entries);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(again_entries[i].kind == entries[i].kind);
		FUZZ_CHECK(again_entries[i].revoked_at == entries[i].revoked_at);
		FUZZ_CHECK(again_entries[i].value_len == entries[i].value_len);
		FUZZ_CHECK(memcmp(again_entries[i].value, entries[i].value, entries[i].value_len) ==
		           0);
	}
	free(buf);
	free(again_entries);
	free(entries);
}

static void as_payload(const uint8_t *data, size_t size)
{
	struct vouch_revlist rl;
	int rc = vouch_revlist_payload_parse(data, size, &rl);

	FUZZ_CHECK(rc <= 0);
	if (rc != VOUCH_OK) {
		FUZZ_CHECK(all_zero(&rl, sizeof(rl)));
		return;
	}
	FUZZ_CHECK(vouch_cred_text_ok(rl.iss, rl.iss_len) &&
	           vouch_cred_text_ok(rl.aud, rl.aud_len));
	FUZZ_CHECK(rl.n_entries <= VOUCH_REVLIST_MAX_ENTRIES);
	resign(&rl, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_list(data, size);
	as_payload(data, size);
	return 0;
}
