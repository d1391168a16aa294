/*
 * Strict, bounded CBOR over libcbor's streaming decoder and encoders (see include/vouch/cbor.h).
 *
 * Every item head is decoded by cbor_stream_decode() into a struct head; validation, the typed
 * readers and skipping all go through that one function. Nothing here allocates and nothing
 * recurses: nesting is tracked on a fixed stack and skipping counts pending items.
 */
#include <string.h>

#include <cbor.h>

#include "vouch/cbor.h"

const struct vouch_cbor_limits vouch_cbor_default_limits = {
    .max_depth = VOUCH_CBOR_MAX_DEPTH,
    .max_items = VOUCH_CBOR_MAX_ITEMS,
    .max_map_entries = VOUCH_CBOR_MAX_MAP,
    .max_len = 0,
};

/* The validator's nesting stack lives on the C stack; a caller's max_depth above this is
 * clamped to it. */
#define HARD_MAX_DEPTH 64

/* Keys compared at a time by the duplicate check (see check_map_duplicates). */
#define DUP_BATCH 64

/* One decoded item head. For strings, data/data_len are the contents. */
struct head {
	enum vouch_cbor_type type;
	uint64_t val; /* uint; negint n (the value is -1 - n); count; tag; simple value */
	double fval;
	const uint8_t *data;
	size_t data_len;
	bool indefinite;
	bool brk;
	size_t size; /* bytes taken by the head (and string contents) */
};

static void set_int(void *ctx, enum vouch_cbor_type type, uint64_t v)
{
	struct head *h = ctx;

	h->type = type;
	h->val = v;
}

static void on_uint8(void *ctx, uint8_t v)
{
	set_int(ctx, VOUCH_CBOR_UINT, v);
}

static void on_uint16(void *ctx, uint16_t v)
{
	set_int(ctx, VOUCH_CBOR_UINT, v);
}

static void on_uint32(void *ctx, uint32_t v)
{
	set_int(ctx, VOUCH_CBOR_UINT, v);
}

static void on_uint64(void *ctx, uint64_t v)
{
	set_int(ctx, VOUCH_CBOR_UINT, v);
}

static void on_negint8(void *ctx, uint8_t v)
{
	set_int(ctx, VOUCH_CBOR_NEGINT, v);
}

static void on_negint16(void *ctx, uint16_t v)
{
	set_int(ctx, VOUCH_CBOR_NEGINT, v);
}

static void on_negint32(void *ctx, uint32_t v)
{
	set_int(ctx, VOUCH_CBOR_NEGINT, v);
}

static void on_negint64(void *ctx, uint64_t v)
{
	set_int(ctx, VOUCH_CBOR_NEGINT, v);
}

static void on_bstr(void *ctx, cbor_data data, size_t len)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_BSTR;
	h->data = data;
	h->data_len = len;
}

static void on_tstr(void *ctx, cbor_data data, size_t len)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_TSTR;
	h->data = data;
	h->data_len = len;
}

static void on_indef_bstr(void *ctx)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_BSTR;
	h->indefinite = true;
}

static void on_indef_tstr(void *ctx)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_TSTR;
	h->indefinite = true;
}

static void on_array(void *ctx, size_t n)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_ARRAY;
	h->val = n;
}

static void on_indef_array(void *ctx)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_ARRAY;
	h->indefinite = true;
}

static void on_map(void *ctx, size_t n)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_MAP;
	h->val = n;
}

static void on_indef_map(void *ctx)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_MAP;
	h->indefinite = true;
}

static void on_tag(void *ctx, uint64_t v)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_TAG;
	h->val = v;
}

static void on_float(void *ctx, float v)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_FLOAT;
	h->fval = v;
}

static void on_double(void *ctx, double v)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_FLOAT;
	h->fval = v;
}

static void on_undefined(void *ctx)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_UNDEFINED;
	h->val = 23;
}

static void on_null(void *ctx)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_NULL;
	h->val = 22;
}

static void on_bool(void *ctx, bool v)
{
	struct head *h = ctx;

	h->type = VOUCH_CBOR_BOOL;
	h->val = v ? 21 : 20;
}

static void on_break(void *ctx)
{
	struct head *h = ctx;

	h->brk = true;
}

static const struct cbor_callbacks head_callbacks = {
    .uint8 = on_uint8,
    .uint16 = on_uint16,
    .uint32 = on_uint32,
    .uint64 = on_uint64,
    .negint64 = on_negint64,
    .negint32 = on_negint32,
    .negint16 = on_negint16,
    .negint8 = on_negint8,
    /* libcbor 0.8 names these the other way round in its comments: *_start are the
     * indefinite-length openers, byte_string/string deliver definite strings whole. */
    .byte_string_start = on_indef_bstr,
    .byte_string = on_bstr,
    .string = on_tstr,
    .string_start = on_indef_tstr,
    .indef_array_start = on_indef_array,
    .array_start = on_array,
    .indef_map_start = on_indef_map,
    .map_start = on_map,
    .tag = on_tag,
    .float2 = on_float,
    .float4 = on_float,
    .float8 = on_double,
    .undefined = on_undefined,
    .null = on_null,
    .boolean = on_bool,
    .indef_break = on_break,
};

/*
 * Decode the head at buf[pos..len). Well-formedness errors (reserved additional information,
 * truncation, a string longer than the rest of the buffer) are VOUCH_ERR_CBOR_MALFORMED.
 * Indefinite lengths and breaks are reported in h, for the caller to refuse.
 */
static int decode_head(const uint8_t *buf, size_t len, size_t pos, struct head *h)
{
	struct cbor_decoder_result res;
	uint8_t ib;

	memset(h, 0, sizeof(*h));
	if (pos >= len)
		return VOUCH_ERR_CBOR_MALFORMED;
	ib = buf[pos];

	/* libcbor 0.8 refuses the one-byte tags 6..20 (COSE's 16, 17 and 18 among them) and the
	 * unassigned simple values (0..19, 32..255), all well-formed in RFC 8949: decode those
	 * heads here. A two-byte simple value below 32 is not well-formed (RFC 8949 §3.3). */
	if (ib >= 0xc6 && ib <= 0xd4) {
		h->type = VOUCH_CBOR_TAG;
		h->val = ib & 0x1fu;
		h->size = 1;
		return VOUCH_OK;
	}
	if (ib >= 0xe0 && ib <= 0xf3) {
		h->type = VOUCH_CBOR_SIMPLE;
		h->val = ib & 0x1fu;
		h->size = 1;
		return VOUCH_OK;
	}
	if (ib == 0xf8) {
		if (len - pos < 2 || buf[pos + 1] < 32)
			return VOUCH_ERR_CBOR_MALFORMED;
		h->type = VOUCH_CBOR_SIMPLE;
		h->val = buf[pos + 1];
		h->size = 2;
		return VOUCH_OK;
	}

	res = cbor_stream_decode(buf + pos, len - pos, &head_callbacks, h);
	if (res.status != CBOR_DECODER_FINISHED || res.read == 0 || res.read > len - pos)
		return VOUCH_ERR_CBOR_MALFORMED;
	h->size = res.read;
	return VOUCH_OK;
}

/* ---- validation ---- */

/* A map key reduced to what decides equality: ints by value, strings by type and contents,
 * anything else by its encoding. */
struct key_desc {
	int kind; /* 0 uint, 1 negint, 2 bstr, 3 tstr, 4 other */
	uint64_t val;
	const uint8_t *p;
	size_t len;
};

/* Skip one item at *pos without checking limits. Safe on any input: every declared count is
 * bounded by the bytes left, so the pending counter cannot overflow and the loop ends within
 * len heads. */
static int skip_item(const uint8_t *buf, size_t len, size_t *pos)
{
	uint64_t pending = 1;
	size_t p = *pos;
	struct head h;
	int rc;

	while (pending > 0) {
		rc = decode_head(buf, len, p, &h);
		if (rc != VOUCH_OK)
			return rc;
		if (h.brk)
			return VOUCH_ERR_CBOR_MALFORMED;
		if (h.indefinite)
			return VOUCH_ERR_CBOR_INDEFINITE;
		p += h.size;
		pending--;
		if (h.type == VOUCH_CBOR_ARRAY || h.type == VOUCH_CBOR_MAP) {
			uint64_t n = h.val;

			if (n > len - p || (h.type == VOUCH_CBOR_MAP && n > (len - p) / 2))
				return VOUCH_ERR_CBOR_MALFORMED;
			pending += h.type == VOUCH_CBOR_MAP ? 2 * n : n;
		} else if (h.type == VOUCH_CBOR_TAG) {
			pending++;
		}
	}
	*pos = p;
	return VOUCH_OK;
}

static int key_describe(const uint8_t *buf, size_t len, size_t *pos, struct key_desc *k)
{
	struct head h;
	size_t start = *pos;
	int rc = decode_head(buf, len, start, &h);

	if (rc != VOUCH_OK)
		return rc;
	memset(k, 0, sizeof(*k));
	switch (h.type) {
	case VOUCH_CBOR_UINT:
	case VOUCH_CBOR_NEGINT:
		k->kind = h.type == VOUCH_CBOR_UINT ? 0 : 1;
		k->val = h.val;
		*pos = start + h.size;
		return VOUCH_OK;
	case VOUCH_CBOR_BSTR:
	case VOUCH_CBOR_TSTR:
		k->kind = h.type == VOUCH_CBOR_BSTR ? 2 : 3;
		k->p = h.data;
		k->len = h.data_len;
		*pos = start + h.size;
		return VOUCH_OK;
	default:
		rc = skip_item(buf, len, pos);
		if (rc != VOUCH_OK)
			return rc;
		k->kind = 4;
		k->p = buf + start;
		k->len = *pos - start;
		return VOUCH_OK;
	}
}

static bool key_equal(const struct key_desc *a, const struct key_desc *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind <= 1)
		return a->val == b->val;
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/*
 * The map whose n entries start at buf[pos] has already been walked and found well-formed.
 * Compare its keys DUP_BATCH at a time against each other and against every later key, so the
 * work stays O(n^2 / DUP_BATCH) re-walks with a fixed amount of stack.
 */
static int check_map_duplicates(const uint8_t *buf, size_t len, size_t pos, uint64_t n)
{
	struct key_desc batch[DUP_BATCH];
	struct key_desc k;
	int rc;

	for (uint64_t base = 0; base < n; base += DUP_BATCH) {
		uint64_t cnt = n - base < DUP_BATCH ? n - base : DUP_BATCH;
		size_t q;

		for (uint64_t i = 0; i < cnt; i++) {
			rc = key_describe(buf, len, &pos, &batch[i]);
			if (rc != VOUCH_OK)
				return rc;
			for (uint64_t j = 0; j < i; j++)
				if (key_equal(&batch[i], &batch[j]))
					return VOUCH_ERR_CBOR_DUPLICATE;
			rc = skip_item(buf, len, &pos);
			if (rc != VOUCH_OK)
				return rc;
		}
		q = pos;
		for (uint64_t i = base + cnt; i < n; i++) {
			rc = key_describe(buf, len, &q, &k);
			if (rc != VOUCH_OK)
				return rc;
			for (uint64_t j = 0; j < cnt; j++)
				if (key_equal(&k, &batch[j]))
					return VOUCH_ERR_CBOR_DUPLICATE;
			rc = skip_item(buf, len, &q);
			if (rc != VOUCH_OK)
				return rc;
		}
	}
	return VOUCH_OK;
}

struct frame {
	uint64_t remaining; /* items still to come in this container */
	uint64_t entries;   /* maps: number of entries */
	size_t body;        /* maps: offset of the first key */
	bool is_map;
};

int vouch_cbor_validate(const uint8_t *buf, size_t len, const struct vouch_cbor_limits *limits)
{
	struct frame stack[HARD_MAX_DEPTH];
	unsigned depth = 0, max_depth;
	size_t pos = 0, items = 0;
	struct head h;
	int rc = VOUCH_ERR_INTERNAL;

	if (buf == NULL && len > 0)
		return VOUCH_ERR_INVALID;
	if (limits == NULL)
		limits = &vouch_cbor_default_limits;
	max_depth = limits->max_depth < HARD_MAX_DEPTH ? limits->max_depth : HARD_MAX_DEPTH;
	if (limits->max_len != 0 && len > limits->max_len)
		return VOUCH_ERR_CBOR_LIMIT;

	do {
		rc = decode_head(buf, len, pos, &h);
		if (rc != VOUCH_OK)
			return rc;
		/* Indefinite lengths are refused outright, so a break never closes anything. */
		if (h.brk)
			return VOUCH_ERR_CBOR_MALFORMED;
		if (h.indefinite)
			return VOUCH_ERR_CBOR_INDEFINITE;
		if (++items > limits->max_items)
			return VOUCH_ERR_CBOR_LIMIT;
		pos += h.size;

		if (depth > 0)
			stack[depth - 1].remaining--;

		if (h.type == VOUCH_CBOR_ARRAY || h.type == VOUCH_CBOR_MAP ||
		    h.type == VOUCH_CBOR_TAG) {
			struct frame *f;
			uint64_t n = h.val;

			/* Every item takes at least one byte: a count beyond the bytes left is a
			 * truncated item, refused before it can drive any loop. */
			if (h.type == VOUCH_CBOR_MAP) {
				if (n > (len - pos) / 2)
					return VOUCH_ERR_CBOR_MALFORMED;
				if (n > limits->max_map_entries)
					return VOUCH_ERR_CBOR_LIMIT;
			} else if (h.type == VOUCH_CBOR_ARRAY) {
				if (n > len - pos)
					return VOUCH_ERR_CBOR_MALFORMED;
			} else {
				n = 1;
			}
			if (depth >= max_depth)
				return VOUCH_ERR_CBOR_LIMIT;
			f = &stack[depth++];
			f->is_map = h.type == VOUCH_CBOR_MAP;
			f->entries = f->is_map ? n : 0;
			f->remaining = f->is_map ? 2 * n : n;
			f->body = pos;
		}

		/* Close every container that is now complete. */
		while (depth > 0 && stack[depth - 1].remaining == 0) {
			const struct frame *f = &stack[--depth];

			if (f->is_map && f->entries > 1) {
				rc = check_map_duplicates(buf, pos, f->body, f->entries);
				if (rc != VOUCH_OK)
					return rc;
			}
		}
	} while (depth > 0);

	return pos == len ? VOUCH_OK : VOUCH_ERR_CBOR_TRAILING;
}

/* ---- reader ---- */

void vouch_cbor_reader_init(struct vouch_cbor_reader *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = buf != NULL ? len : 0;
	r->pos = 0;
}

bool vouch_cbor_reader_done(const struct vouch_cbor_reader *r)
{
	return r->pos >= r->len;
}

/* Decode the next head for a typed read: strict about indefinite lengths and breaks even though
 * a validated buffer has none. */
static int reader_head(const struct vouch_cbor_reader *r, struct head *h)
{
	int rc = decode_head(r->buf, r->len, r->pos, h);

	if (rc != VOUCH_OK)
		return rc;
	if (h->brk)
		return VOUCH_ERR_CBOR_MALFORMED;
	if (h->indefinite)
		return VOUCH_ERR_CBOR_INDEFINITE;
	return VOUCH_OK;
}

/* Decode the next head and insist on one type; the reader only moves on success. */
static int reader_expect(struct vouch_cbor_reader *r, enum vouch_cbor_type type, struct head *h)
{
	int rc = reader_head(r, h);

	if (rc != VOUCH_OK)
		return rc;
	if (h->type != type)
		return VOUCH_ERR_CBOR_TYPE;
	return VOUCH_OK;
}

int vouch_cbor_peek(const struct vouch_cbor_reader *r, enum vouch_cbor_type *type)
{
	struct head h;
	int rc;

	*type = VOUCH_CBOR_UINT;
	rc = reader_head(r, &h);
	if (rc != VOUCH_OK)
		return rc;
	*type = h.type;
	return VOUCH_OK;
}

int vouch_cbor_read_uint(struct vouch_cbor_reader *r, uint64_t *v)
{
	struct head h;
	int rc;

	*v = 0;
	rc = reader_expect(r, VOUCH_CBOR_UINT, &h);
	if (rc != VOUCH_OK)
		return rc;
	*v = h.val;
	r->pos += h.size;
	return VOUCH_OK;
}

int vouch_cbor_read_int(struct vouch_cbor_reader *r, int64_t *v)
{
	struct head h;
	int rc;

	*v = 0;
	rc = reader_head(r, &h);
	if (rc != VOUCH_OK)
		return rc;
	if (h.type != VOUCH_CBOR_UINT && h.type != VOUCH_CBOR_NEGINT)
		return VOUCH_ERR_CBOR_TYPE;
	if (h.val > (uint64_t)INT64_MAX)
		return VOUCH_ERR_CBOR_LIMIT;
	*v = h.type == VOUCH_CBOR_UINT ? (int64_t)h.val : -1 - (int64_t)h.val;
	r->pos += h.size;
	return VOUCH_OK;
}

int vouch_cbor_read_bstr(struct vouch_cbor_reader *r, const uint8_t **p, size_t *len)
{
	struct head h;
	int rc;

	*p = NULL;
	*len = 0;
	rc = reader_expect(r, VOUCH_CBOR_BSTR, &h);
	if (rc != VOUCH_OK)
		return rc;
	/* A present empty string still points into the buffer, so callers can tell it from an
	 * absent one. */
	*p = h.data != NULL ? h.data : r->buf + r->pos + h.size;
	*len = h.data_len;
	r->pos += h.size;
	return VOUCH_OK;
}

int vouch_cbor_read_tstr(struct vouch_cbor_reader *r, const char **p, size_t *len)
{
	struct head h;
	int rc;

	*p = NULL;
	*len = 0;
	rc = reader_expect(r, VOUCH_CBOR_TSTR, &h);
	if (rc != VOUCH_OK)
		return rc;
	*p = (const char *)(h.data != NULL ? h.data : r->buf + r->pos + h.size);
	*len = h.data_len;
	r->pos += h.size;
	return VOUCH_OK;
}

int vouch_cbor_read_array(struct vouch_cbor_reader *r, size_t *count)
{
	struct head h;
	int rc;

	*count = 0;
	rc = reader_expect(r, VOUCH_CBOR_ARRAY, &h);
	if (rc != VOUCH_OK)
		return rc;
	if (h.val > r->len - r->pos - h.size)
		return VOUCH_ERR_CBOR_MALFORMED;
	*count = (size_t)h.val;
	r->pos += h.size;
	return VOUCH_OK;
}

int vouch_cbor_read_map(struct vouch_cbor_reader *r, size_t *count)
{
	struct head h;
	int rc;

	*count = 0;
	rc = reader_expect(r, VOUCH_CBOR_MAP, &h);
	if (rc != VOUCH_OK)
		return rc;
	if (h.val > (r->len - r->pos - h.size) / 2)
		return VOUCH_ERR_CBOR_MALFORMED;
	*count = (size_t)h.val;
	r->pos += h.size;
	return VOUCH_OK;
}

int vouch_cbor_read_tag(struct vouch_cbor_reader *r, uint64_t *tag)
{
	struct head h;
	int rc;

	*tag = 0;
	rc = reader_expect(r, VOUCH_CBOR_TAG, &h);
	if (rc != VOUCH_OK)
		return rc;
	*tag = h.val;
	r->pos += h.size;
	return VOUCH_OK;
}

int vouch_cbor_read_bool(struct vouch_cbor_reader *r, bool *v)
{
	struct head h;
	int rc;

	*v = false;
	rc = reader_expect(r, VOUCH_CBOR_BOOL, &h);
	if (rc != VOUCH_OK)
		return rc;
	*v = h.val == 21;
	r->pos += h.size;
	return VOUCH_OK;
}

int vouch_cbor_read_null(struct vouch_cbor_reader *r)
{
	struct head h;
	int rc = reader_expect(r, VOUCH_CBOR_NULL, &h);

	if (rc != VOUCH_OK)
		return rc;
	r->pos += h.size;
	return VOUCH_OK;
}

int vouch_cbor_read_float(struct vouch_cbor_reader *r, double *v)
{
	struct head h;
	int rc;

	*v = 0;
	rc = reader_expect(r, VOUCH_CBOR_FLOAT, &h);
	if (rc != VOUCH_OK)
		return rc;
	*v = h.fval;
	r->pos += h.size;
	return VOUCH_OK;
}

int vouch_cbor_skip(struct vouch_cbor_reader *r)
{
	size_t pos = r->pos;
	int rc = skip_item(r->buf, r->len, &pos);

	if (rc != VOUCH_OK)
		return rc;
	r->pos = pos;
	return VOUCH_OK;
}

int vouch_cbor_read_raw(struct vouch_cbor_reader *r, const uint8_t **p, size_t *len)
{
	size_t start = r->pos;
	int rc;

	*p = NULL;
	*len = 0;
	rc = vouch_cbor_skip(r);
	if (rc != VOUCH_OK)
		return rc;
	*p = r->buf + start;
	*len = r->pos - start;
	return VOUCH_OK;
}

/* ---- writer ---- */

void vouch_cbor_writer_init(struct vouch_cbor_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = buf != NULL ? cap : 0;
	w->len = 0;
	w->err = VOUCH_OK;
}

int vouch_cbor_writer_finish(const struct vouch_cbor_writer *w, size_t *len)
{
	*len = 0;
	if (w->err != VOUCH_OK)
		return w->err;
	*len = w->len;
	return VOUCH_OK;
}

static void put(struct vouch_cbor_writer *w, const void *p, size_t n)
{
	if (w->err != VOUCH_OK || n == 0)
		return;
	if (p == NULL) {
		w->err = VOUCH_ERR_INVALID;
		return;
	}
	if (w->buf == NULL) {
		if (n > SIZE_MAX - w->len)
			w->err = VOUCH_ERR_BUFFER;
		else
			w->len += n;
		return;
	}
	if (n > w->cap - w->len) {
		w->err = VOUCH_ERR_BUFFER;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* Heads are encoded into a small scratch buffer first so counting and writing share a path. */
#define HEAD_MAX 9

static void put_head(struct vouch_cbor_writer *w, const uint8_t *tmp, size_t n)
{
	if (n == 0) {
		if (w->err == VOUCH_OK)
			w->err = VOUCH_ERR_INTERNAL;
		return;
	}
	put(w, tmp, n);
}

void vouch_cbor_write_uint(struct vouch_cbor_writer *w, uint64_t v)
{
	uint8_t tmp[HEAD_MAX];

	put_head(w, tmp, cbor_encode_uint(v, tmp, sizeof(tmp)));
}

void vouch_cbor_write_int(struct vouch_cbor_writer *w, int64_t v)
{
	uint8_t tmp[HEAD_MAX];

	if (v >= 0)
		put_head(w, tmp, cbor_encode_uint((uint64_t)v, tmp, sizeof(tmp)));
	else
		put_head(w, tmp, cbor_encode_negint((uint64_t)(-1 - v), tmp, sizeof(tmp)));
}

void vouch_cbor_write_bstr_head(struct vouch_cbor_writer *w, size_t len)
{
	uint8_t tmp[HEAD_MAX];

	put_head(w, tmp, cbor_encode_bytestring_start(len, tmp, sizeof(tmp)));
}

void vouch_cbor_write_bstr(struct vouch_cbor_writer *w, const void *p, size_t len)
{
	vouch_cbor_write_bstr_head(w, len);
	put(w, p, len);
}

void vouch_cbor_write_tstr(struct vouch_cbor_writer *w, const char *p, size_t len)
{
	uint8_t tmp[HEAD_MAX];

	put_head(w, tmp, cbor_encode_string_start(len, tmp, sizeof(tmp)));
	put(w, p, len);
}

void vouch_cbor_write_cstr(struct vouch_cbor_writer *w, const char *s)
{
	if (s == NULL) {
		if (w->err == VOUCH_OK)
			w->err = VOUCH_ERR_INVALID;
		return;
	}
	vouch_cbor_write_tstr(w, s, strlen(s));
}

void vouch_cbor_write_array(struct vouch_cbor_writer *w, size_t count)
{
	uint8_t tmp[HEAD_MAX];

	put_head(w, tmp, cbor_encode_array_start(count, tmp, sizeof(tmp)));
}

void vouch_cbor_write_map(struct vouch_cbor_writer *w, size_t count)
{
	uint8_t tmp[HEAD_MAX];

	put_head(w, tmp, cbor_encode_map_start(count, tmp, sizeof(tmp)));
}

void vouch_cbor_write_tag(struct vouch_cbor_writer *w, uint64_t tag)
{
	uint8_t tmp[HEAD_MAX];

	put_head(w, tmp, cbor_encode_tag(tag, tmp, sizeof(tmp)));
}

void vouch_cbor_write_bool(struct vouch_cbor_writer *w, bool v)
{
	uint8_t tmp[HEAD_MAX];

	put_head(w, tmp, cbor_encode_bool(v, tmp, sizeof(tmp)));
}

void vouch_cbor_write_null(struct vouch_cbor_writer *w)
{
	uint8_t tmp[HEAD_MAX];

	put_head(w, tmp, cbor_encode_null(tmp, sizeof(tmp)));
}

void vouch_cbor_write_double(struct vouch_cbor_writer *w, double v)
{
	uint8_t tmp[HEAD_MAX];

	put_head(w, tmp, cbor_encode_double(v, tmp, sizeof(tmp)));
}

void vouch_cbor_write_raw(struct vouch_cbor_writer *w, const void *p, size_t len)
{
	put(w, p, len);
}
