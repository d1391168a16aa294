/*
 * COSE_Key: decode (whole buffer and through a reader), and when that succeeds make public and
 * private handles from it. A public handle is written back as a COSE_Key, which must decode to
 * the same key type and curve.
 */
#include "fuzz.h"

static void round_trip(const struct vouch_cose_key *ck, const struct vouch_key *key)
{
	struct vouch_cbor_writer w;
	struct vouch_cose_key again;
	uint8_t buf[256];
	size_t len = 0;

	vouch_cbor_writer_init(&w, buf, sizeof(buf));
	vouch_cose_key_write_public(&w, key, ck->kid, ck->kid_len > 64 ? 64 : ck->kid_len,
	                            ck->has_alg ? ck->alg : 0);
	FUZZ_CHECK(vouch_cbor_writer_finish(&w, &len) == VOUCH_OK);
	FUZZ_CHECK(vouch_cose_key_decode(buf, len, &again) == VOUCH_OK);
	FUZZ_CHECK(again.kty == ck->kty && again.crv == ck->crv);
	FUZZ_CHECK(again.d == NULL && again.x != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vouch_cose_key ck, ck2;
	struct vouch_cbor_reader r;
	struct vouch_key key;
	int rc = vouch_cose_key_decode(data, size, &ck);

	/* The reader form agrees with the whole-buffer form on validated input. */
	if (vouch_cbor_validate(data, size, NULL) == VOUCH_OK) {
		int read_rc;

		vouch_cbor_reader_init(&r, data, size);
		read_rc = vouch_cose_key_read(&r, &ck2);
		if (read_rc == VOUCH_OK)
			FUZZ_CHECK(vouch_cbor_reader_done(&r));
		if (rc == VOUCH_OK)
			FUZZ_CHECK(read_rc == VOUCH_OK && ck2.kty == ck.kty);
	}
	if (rc != VOUCH_OK)
		return 0;

	vouch_key_init(&key);
	if (vouch_cose_key_to_public(&ck, &key) == VOUCH_OK) {
		FUZZ_CHECK(!vouch_key_is_private(&key));
		round_trip(&ck, &key);
	}
	vouch_key_clear(&key);

	vouch_key_init(&key);
	if (vouch_cose_key_to_private(&ck, &key) == VOUCH_OK)
		FUZZ_CHECK(vouch_key_is_private(&key));
	vouch_key_clear(&key);
	return 0;
}
