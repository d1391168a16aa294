/*
 * vouch — strict, bounded CBOR on top of libcbor's allocation-free streaming layer.
 *
 * Decoding: vouch_cbor_validate() checks a whole buffer once (well-formed, one top-level item,
 * no trailing bytes, no indefinite lengths, no duplicate map keys, nesting and sizes within the
 * limits). After it succeeds, a struct vouch_cbor_reader walks the same buffer item by item with
 * typed reads that point into the buffer (zero copy, no heap). Each typed read checks the type and
 * refuses anything else with a named error, so a decoder built on it never guesses.
 *
 * Encoding: struct vouch_cbor_writer appends to a caller buffer through libcbor's cbor_encode_*
 * (shortest form). Errors are sticky: check once at the end with vouch_cbor_writer_finish().
 * A writer with buf == NULL only counts (to size a buffer).
 */
#ifndef VOUCH_CBOR_H
#define VOUCH_CBOR_H

#include "vouch/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_CBOR_MAX_DEPTH 16    /* default nesting limit (arrays, maps and tags) */
#define VOUCH_CBOR_MAX_ITEMS 65536 /* default limit on the number of items in one buffer */
#define VOUCH_CBOR_MAX_MAP   256   /* default limit on entries in one map */

struct vouch_cbor_limits {
	unsigned max_depth;
	size_t max_items;
	size_t max_map_entries;
	size_t max_len; /* whole buffer; 0 = no limit beyond the buffer */
};

/* The defaults above, max_len unlimited. */
extern const struct vouch_cbor_limits vouch_cbor_default_limits;

/* Check buf[0..len) is exactly one strict CBOR item (see the top of this file). limits may be
 * NULL for the defaults. Floats, simple values and tags are allowed; the typed readers decide
 * whether they are acceptable where they appear. Integers and lengths need not be shortest. */
int vouch_cbor_validate(const uint8_t *buf, size_t len, const struct vouch_cbor_limits *limits);

enum vouch_cbor_type {
	VOUCH_CBOR_UINT,
	VOUCH_CBOR_NEGINT,
	VOUCH_CBOR_BSTR,
	VOUCH_CBOR_TSTR,
	VOUCH_CBOR_ARRAY,
	VOUCH_CBOR_MAP,
	VOUCH_CBOR_TAG,
	VOUCH_CBOR_FLOAT,
	VOUCH_CBOR_BOOL,
	VOUCH_CBOR_NULL,
	VOUCH_CBOR_UNDEFINED,
	VOUCH_CBOR_SIMPLE, /* other simple values */
};

struct vouch_cbor_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
};

/* Start reading buf. The buffer must have passed vouch_cbor_validate() (or be a sub-range of one
 * that did, e.g. a bstr-wrapped item after its own validation). */
void vouch_cbor_reader_init(struct vouch_cbor_reader *r, const uint8_t *buf, size_t len);

bool vouch_cbor_reader_done(const struct vouch_cbor_reader *r);

/* The type of the next item, without consuming it. */
int vouch_cbor_peek(const struct vouch_cbor_reader *r, enum vouch_cbor_type *type);

/* Typed reads: each consumes one item head (and for strings its contents) or fails with
 * VOUCH_ERR_CBOR_TYPE leaving the reader where it was. */
int vouch_cbor_read_uint(struct vouch_cbor_reader *r, uint64_t *v);
/* Major types 0 and 1 within int64_t; outside it is VOUCH_ERR_CBOR_LIMIT. */
int vouch_cbor_read_int(struct vouch_cbor_reader *r, int64_t *v);
int vouch_cbor_read_bstr(struct vouch_cbor_reader *r, const uint8_t **p, size_t *len);
int vouch_cbor_read_tstr(struct vouch_cbor_reader *r, const char **p, size_t *len);
int vouch_cbor_read_array(struct vouch_cbor_reader *r, size_t *count);
int vouch_cbor_read_map(struct vouch_cbor_reader *r, size_t *count);
int vouch_cbor_read_tag(struct vouch_cbor_reader *r, uint64_t *tag);
int vouch_cbor_read_bool(struct vouch_cbor_reader *r, bool *v);
int vouch_cbor_read_null(struct vouch_cbor_reader *r);
/* Half, single or double precision, widened to double. */
int vouch_cbor_read_float(struct vouch_cbor_reader *r, double *v);

/* Skip one whole item (with everything nested in it). */
int vouch_cbor_skip(struct vouch_cbor_reader *r);

/* Skip one whole item and report the byte range it occupied (its encoding). */
int vouch_cbor_read_raw(struct vouch_cbor_reader *r, const uint8_t **p, size_t *len);

/* ---- writer ---- */

struct vouch_cbor_writer {
	uint8_t *buf; /* NULL: count only */
	size_t cap;
	size_t len;
	int err; /* first error, sticky */
};

void vouch_cbor_writer_init(struct vouch_cbor_writer *w, uint8_t *buf, size_t cap);
/* VOUCH_OK and the length written, or the first error (VOUCH_ERR_BUFFER when it did not fit). */
int vouch_cbor_writer_finish(const struct vouch_cbor_writer *w, size_t *len);

void vouch_cbor_write_uint(struct vouch_cbor_writer *w, uint64_t v);
void vouch_cbor_write_int(struct vouch_cbor_writer *w, int64_t v);
void vouch_cbor_write_bstr(struct vouch_cbor_writer *w, const void *p, size_t len);
/* Only the head of a bstr of len bytes (contents follow through write_raw or separately). */
void vouch_cbor_write_bstr_head(struct vouch_cbor_writer *w, size_t len);
void vouch_cbor_write_tstr(struct vouch_cbor_writer *w, const char *p, size_t len);
void vouch_cbor_write_cstr(struct vouch_cbor_writer *w, const char *s); /* NUL-terminated */
void vouch_cbor_write_array(struct vouch_cbor_writer *w, size_t count);
void vouch_cbor_write_map(struct vouch_cbor_writer *w, size_t count);
void vouch_cbor_write_tag(struct vouch_cbor_writer *w, uint64_t tag);
void vouch_cbor_write_bool(struct vouch_cbor_writer *w, bool v);
void vouch_cbor_write_null(struct vouch_cbor_writer *w);
void vouch_cbor_write_double(struct vouch_cbor_writer *w, double v);
/* Append already-encoded CBOR as is. */
void vouch_cbor_write_raw(struct vouch_cbor_writer *w, const void *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif
