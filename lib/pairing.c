/*
 * vouch — pairing codes and CCS credentials (include/vouch/pairing.h).
 */
#include <ctype.h>
#include <string.h>

#include "vouch/cbor.h"
#include "vouch/cose.h"
#include "vouch/cred.h"
#include "vouch/pairing.h"

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* The 32 base32 characters of the first 160 bits of the key's thumbprint. */
static int code_chars(const struct vouch_key *pub, char out[VOUCH_PAIRING_CHARS])
{
	uint8_t tp[VOUCH_THUMBPRINT_LEN];
	int rc = vouch_cose_key_thumbprint(pub, tp);

	if (rc != VOUCH_OK)
		return rc;
	/* 160 bits = 20 bytes = 4 groups of 5 bytes, 8 characters each. */
	for (size_t g = 0; g < 4; g++) {
		uint64_t v = 0;

		for (size_t i = 0; i < 5; i++)
			v = (v << 8) | tp[5 * g + i];
		for (size_t i = 0; i < 8; i++)
			out[8 * g + i] = b32[(v >> (35 - 5 * i)) & 31];
	}
	vouch_wipe(tp, sizeof(tp));
	return VOUCH_OK;
}

int vouch_pairing_code(const struct vouch_key *pub, char out[VOUCH_PAIRING_CODE_LEN + 1])
{
	char c[VOUCH_PAIRING_CHARS];
	size_t n = 0;
	int rc;

	out[0] = '\0';
	rc = code_chars(pub, c);
	if (rc != VOUCH_OK)
		return rc;
	for (size_t i = 0; i < VOUCH_PAIRING_CHARS; i++) {
		if (i > 0 && i % 4 == 0)
			out[n++] = '-';
		out[n++] = c[i];
	}
	out[n] = '\0';
	return VOUCH_OK;
}

bool vouch_pairing_code_matches(const struct vouch_key *pub, const char *code)
{
	char want[VOUCH_PAIRING_CHARS], got[VOUCH_PAIRING_CHARS];
	size_t n = 0;
	bool ok;

	if (code == NULL || code_chars(pub, want) != VOUCH_OK)
		return false;
	for (const char *p = code; *p != '\0'; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		if (n == sizeof(got))
			return false;
		got[n++] = (char)toupper((unsigned char)*p);
	}
	ok = n == sizeof(got) && vouch_ct_equal(want, got, sizeof(got));
	return ok;
}

int vouch_ccs_encode(const char *sub, const struct vouch_key *key, uint8_t *out, size_t cap,
                     size_t *out_len)
{
	struct vouch_cbor_writer w;

	*out_len = 0;
	if (sub == NULL || key == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_map(&w, 2);
	vouch_cbor_write_uint(&w, 2); /* sub */
	vouch_cbor_write_cstr(&w, sub);
	vouch_cbor_write_uint(&w, 8); /* cnf */
	vouch_cbor_write_map(&w, 1);
	vouch_cbor_write_uint(&w, 1); /* COSE_Key */
	vouch_cose_key_write_public(&w, key, NULL, 0, 0);
	return vouch_cbor_writer_finish(&w, out_len);
}

int vouch_ccs_id_cred(const uint8_t *ccs, size_t ccs_len, uint8_t *out, size_t cap, size_t *out_len)
{
	struct vouch_cbor_writer w;
	int rc;

	*out_len = 0;
	if (ccs == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	rc = vouch_cbor_validate(ccs, ccs_len, NULL);
	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_map(&w, 1);
	vouch_cbor_write_uint(&w, 14); /* kccs */
	vouch_cbor_write_raw(&w, ccs, ccs_len);
	return vouch_cbor_writer_finish(&w, out_len);
}

int vouch_ccs_sub(const uint8_t *ccs, size_t ccs_len, const char **sub, size_t *sub_len)
{
	struct vouch_cbor_reader r;
	size_t n = 0;
	uint64_t key;

	*sub = NULL;
	*sub_len = 0;
	if (vouch_cbor_validate(ccs, ccs_len, NULL) != VOUCH_OK)
		return VOUCH_ERR_CBOR_MALFORMED;
	vouch_cbor_reader_init(&r, ccs, ccs_len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK)
		return VOUCH_ERR_CWT_CLAIM;
	for (size_t i = 0; i < n; i++) {
		if (vouch_cbor_read_uint(&r, &key) != VOUCH_OK)
			return VOUCH_ERR_CWT_CLAIM;
		if (key == 2)
			return vouch_cbor_read_tstr(&r, sub, sub_len) == VOUCH_OK
			           ? VOUCH_OK
			           : VOUCH_ERR_CWT_CLAIM;
		if (vouch_cbor_skip(&r) != VOUCH_OK)
			return VOUCH_ERR_CWT_CLAIM;
	}
	return VOUCH_ERR_CWT_MISSING;
}
