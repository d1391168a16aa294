/*
 * The strict CBOR layer: validate, then walk the item with the typed readers and re-encode it
 * with the writer. Invariants: a validated buffer walks to its end with every typed read that
 * peek announced succeeding; skip and read_raw cover exactly the item; the re-encoding
 * validates (unless float or compound map keys that differed only in their encoding now
 * coincide) and re-encodes to itself.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Walks one item at r, writing its re-encoding to w. */
static void walk(struct vouch_cbor_reader *r, struct vouch_cbor_writer *w, unsigned depth)
{
	enum vouch_cbor_type type;
	const uint8_t *p = NULL;
	const char *s = NULL;
	size_t n = 0, start = r->pos;
	uint64_t u = 0;
	int64_t i = 0;
	double d = 0;
	bool b = false;

	FUZZ_CHECK(depth <= VOUCH_CBOR_MAX_DEPTH);
	FUZZ_CHECK(vouch_cbor_peek(r, &type) == VOUCH_OK);
	switch (type) {
	case VOUCH_CBOR_UINT:
		FUZZ_CHECK(vouch_cbor_read_uint(r, &u) == VOUCH_OK);
		vouch_cbor_write_uint(w, u);
		break;
	case VOUCH_CBOR_NEGINT:
		if (vouch_cbor_read_int(r, &i) == VOUCH_OK) {
			FUZZ_CHECK(i < 0);
			vouch_cbor_write_int(w, i);
		} else {
			/* Below INT64_MIN: the reader says so and stays put. */
			FUZZ_CHECK(r->pos == start);
			FUZZ_CHECK(vouch_cbor_read_raw(r, &p, &n) == VOUCH_OK);
			vouch_cbor_write_raw(w, p, n);
		}
		break;
	case VOUCH_CBOR_BSTR:
		FUZZ_CHECK(vouch_cbor_read_bstr(r, &p, &n) == VOUCH_OK);
		FUZZ_CHECK(p >= r->buf && n <= r->len && p + n <= r->buf + r->len);
		vouch_cbor_write_bstr(w, p, n);
		break;
	case VOUCH_CBOR_TSTR:
		FUZZ_CHECK(vouch_cbor_read_tstr(r, &s, &n) == VOUCH_OK);
		vouch_cbor_write_tstr(w, s, n);
		break;
	case VOUCH_CBOR_ARRAY:
		FUZZ_CHECK(vouch_cbor_read_array(r, &n) == VOUCH_OK);
		vouch_cbor_write_array(w, n);
		for (size_t k = 0; k < n; k++)
			walk(r, w, depth + 1);
		break;
	case VOUCH_CBOR_MAP:
		FUZZ_CHECK(vouch_cbor_read_map(r, &n) == VOUCH_OK);
		vouch_cbor_write_map(w, n);
		for (size_t k = 0; k < 2 * n; k++)
			walk(r, w, depth + 1);
		break;
	case VOUCH_CBOR_TAG:
		FUZZ_CHECK(vouch_cbor_read_tag(r, &u) == VOUCH_OK);
		vouch_cbor_write_tag(w, u);
		walk(r, w, depth + 1);
		break;
	case VOUCH_CBOR_FLOAT:
		FUZZ_CHECK(vouch_cbor_read_float(r, &d) == VOUCH_OK);
		vouch_cbor_write_double(w, d);
		break;
	case VOUCH_CBOR_BOOL:
		FUZZ_CHECK(vouch_cbor_read_bool(r, &b) == VOUCH_OK);
		vouch_cbor_write_bool(w, b);
		break;
	case VOUCH_CBOR_NULL:
		FUZZ_CHECK(vouch_cbor_read_null(r) == VOUCH_OK);
		vouch_cbor_write_null(w);
		break;
	case VOUCH_CBOR_UNDEFINED:
	case VOUCH_CBOR_SIMPLE:
		/* No typed read for these: they are only ever skipped. */
		FUZZ_CHECK(vouch_cbor_read_raw(r, &p, &n) == VOUCH_OK);
		vouch_cbor_write_raw(w, p, n);
		break;
	default:
		FUZZ_CHECK(!"unknown type from peek");
	}
	FUZZ_CHECK(r->pos > start && r->pos <= r->len);
}

/* A typed read of the wrong type fails and leaves the reader where it was. */
static void wrong_types(const uint8_t *data, size_t size)
{
	struct vouch_cbor_reader r;
	enum vouch_cbor_type type;
	const uint8_t *p;
	const char *s;
	size_t n;
	uint64_t u;
	bool b;

	vouch_cbor_reader_init(&r, data, size);
	FUZZ_CHECK(vouch_cbor_peek(&r, &type) == VOUCH_OK);
	if (type != VOUCH_CBOR_BSTR)
		FUZZ_CHECK(vouch_cbor_read_bstr(&r, &p, &n) == VOUCH_ERR_CBOR_TYPE);
	if (type != VOUCH_CBOR_TSTR)
		FUZZ_CHECK(vouch_cbor_read_tstr(&r, &s, &n) == VOUCH_ERR_CBOR_TYPE);
	if (type != VOUCH_CBOR_UINT)
		FUZZ_CHECK(vouch_cbor_read_uint(&r, &u) == VOUCH_ERR_CBOR_TYPE);
	if (type != VOUCH_CBOR_MAP)
		FUZZ_CHECK(vouch_cbor_read_map(&r, &n) == VOUCH_ERR_CBOR_TYPE);
	if (type != VOUCH_CBOR_BOOL)
		FUZZ_CHECK(vouch_cbor_read_bool(&r, &b) == VOUCH_ERR_CBOR_TYPE);
	FUZZ_CHECK(r.pos == 0);
}

static size_t reencode(const uint8_t *data, size_t size, uint8_t *out, size_t cap)
{
	struct vouch_cbor_reader r;
	struct vouch_cbor_writer w;
	size_t len = 0;

	vouch_cbor_reader_init(&r, data, size);
	vouch_cbor_writer_init(&w, out, cap);
	walk(&r, &w, 0);
	FUZZ_CHECK(vouch_cbor_reader_done(&r) && r.pos == size);
	FUZZ_CHECK(vouch_cbor_writer_finish(&w, &len) == VOUCH_OK);
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vouch_cbor_reader r;
	const uint8_t *p = NULL;
	uint8_t *out = NULL, *again = NULL;
	size_t n = 0, len, len2;
	int rc;

	if (vouch_cbor_validate(data, size, NULL) != VOUCH_OK)
		return 0;

	vouch_cbor_reader_init(&r, data, size);
	FUZZ_CHECK(vouch_cbor_skip(&r) == VOUCH_OK && r.pos == size);
	vouch_cbor_reader_init(&r, data, size);
	FUZZ_CHECK(vouch_cbor_read_raw(&r, &p, &n) == VOUCH_OK && p == data && n == size);
	wrong_types(data, size);

	/* Size with a counting writer, then write for real. */
	len = reencode(data, size, NULL, 0);
	out = malloc(len > 0 ? len : 1);
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(reencode(data, size, out, len) == len);

	rc = vouch_cbor_validate(out, len, NULL);
	FUZZ_CHECK(rc == VOUCH_OK || rc == VOUCH_ERR_CBOR_DUPLICATE);
	if (rc == VOUCH_OK) {
		again = malloc(len > 0 ? len : 1);
		FUZZ_CHECK(again != NULL);
		len2 = reencode(out, len, again, len);
		FUZZ_CHECK(len2 == len && memcmp(again, out, len) == 0);
		/* One byte short is a buffer error, never an overflow. */
		if (len > 0) {
			struct vouch_cbor_writer w;

			vouch_cbor_reader_init(&r, out, len);
			vouch_cbor_writer_init(&w, again, len - 1);
			walk(&r, &w, 0);
			FUZZ_CHECK(vouch_cbor_writer_finish(&w, &len2) == VOUCH_ERR_BUFFER);
		}
	}
	free(again);
	free(out);
	return 0;
}
