/*
 * OSCORE (RFC 8613): security context derivation, the compressed COSE object (OSCORE option
 * value), the inner message, AAD and nonce, protection and verification of requests and
 * responses, sender sequence numbers with persistence, and the replay window.
 */
#include <string.h>

#include "vouch/cbor.h"
#include "vouch/crypto.h"
#include "vouch/oscore.h"

#define OSCORE_VERSION      1
#define FLAG_RESERVED       0xe0u
#define FLAG_KID_CONTEXT    0x10u
#define FLAG_KID            0x08u
#define FLAG_PIV_MASK       0x07u
#define OPTION_VALUE_MAX    255 /* CoAP length of the OSCORE option */
#define INFO_MAX            80  /* [bstr id, bstr/nil ctx, int alg, tstr type, uint L] */
#define COAP_PAYLOAD_MARKER 0xffu
#define COAP_OPTION_OBSERVE 6u

/* ---- small helpers ---- */

/* Minimal big-endian encoding of a sequence number (0 is 0x00). */
static size_t piv_encode(uint64_t seq, uint8_t out[VOUCH_OSCORE_MAX_PIV_LEN])
{
	size_t n = 1;

	while (n < VOUCH_OSCORE_MAX_PIV_LEN && (seq >> (8 * n)) != 0)
		n++;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(seq >> (8 * (n - 1 - i)));
	return n;
}

static uint64_t piv_value(const uint8_t *piv, size_t len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++)
		v = (v << 8) | piv[i];
	return v;
}

static bool bytes_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

/* ---- building blocks ---- */

int vouch_oscore_kdf_info(const uint8_t *id, size_t id_len, bool has_id_context,
                          const uint8_t *id_context, size_t id_context_len, bool is_iv,
                          uint8_t *out, size_t cap, size_t *out_len)
{
	struct vouch_cbor_writer w;

	if (out_len == NULL)
		return VOUCH_ERR_INVALID;
	*out_len = 0;
	if ((id == NULL && id_len > 0) || (id_context == NULL && id_context_len > 0) || out == NULL)
		return VOUCH_ERR_INVALID;

	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_array(&w, 5);
	vouch_cbor_write_bstr(&w, id, id_len);
	if (has_id_context)
		vouch_cbor_write_bstr(&w, id_context, id_context_len);
	else
		vouch_cbor_write_null(&w);
	vouch_cbor_write_int(&w, VOUCH_OSCORE_ALG_AES_CCM_16_64_128);
	vouch_cbor_write_cstr(&w, is_iv ? "IV" : "Key");
	vouch_cbor_write_uint(&w, is_iv ? VOUCH_OSCORE_NONCE_LEN : VOUCH_OSCORE_KEY_LEN);
	return vouch_cbor_writer_finish(&w, out_len);
}

int vouch_oscore_nonce(const uint8_t common_iv[VOUCH_OSCORE_NONCE_LEN], const uint8_t *id_piv,
                       size_t id_piv_len, uint64_t seq, uint8_t nonce[VOUCH_OSCORE_NONCE_LEN])
{
	const size_t id_field = VOUCH_OSCORE_NONCE_LEN - 6;

	if (nonce == NULL)
		return VOUCH_ERR_INVALID;
	memset(nonce, 0, VOUCH_OSCORE_NONCE_LEN);
	if (common_iv == NULL || (id_piv == NULL && id_piv_len > 0) ||
	    id_piv_len > VOUCH_OSCORE_MAX_ID_LEN || seq > VOUCH_OSCORE_MAX_SEQ)
		return VOUCH_ERR_INVALID;

	/* S || left-padded ID_PIV || left-padded 5-byte PIV, XOR Common IV (Figure 8). */
	nonce[0] = (uint8_t)id_piv_len;
	if (id_piv_len > 0)
		memcpy(nonce + 1 + id_field - id_piv_len, id_piv, id_piv_len);
	for (size_t i = 0; i < VOUCH_OSCORE_MAX_PIV_LEN; i++)
		nonce[VOUCH_OSCORE_NONCE_LEN - 1 - i] = (uint8_t)(seq >> (8 * i));
	for (size_t i = 0; i < VOUCH_OSCORE_NONCE_LEN; i++)
		nonce[i] ^= common_iv[i];
	return VOUCH_OK;
}

int vouch_oscore_aad_array(const uint8_t *request_kid, size_t kid_len, const uint8_t *request_piv,
                           size_t piv_len, uint8_t *out, size_t cap, size_t *out_len)
{
	struct vouch_cbor_writer w;

	if (out_len == NULL)
		return VOUCH_ERR_INVALID;
	*out_len = 0;
	if ((request_kid == NULL && kid_len > 0) || (request_piv == NULL && piv_len > 0) ||
	    out == NULL)
		return VOUCH_ERR_INVALID;

	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_array(&w, 5);
	vouch_cbor_write_uint(&w, OSCORE_VERSION);
	vouch_cbor_write_array(&w, 1);
	vouch_cbor_write_int(&w, VOUCH_OSCORE_ALG_AES_CCM_16_64_128);
	vouch_cbor_write_bstr(&w, request_kid, kid_len);
	vouch_cbor_write_bstr(&w, request_piv, piv_len);
	vouch_cbor_write_bstr(&w, NULL, 0); /* no Class I options are defined */
	return vouch_cbor_writer_finish(&w, out_len);
}

int vouch_oscore_aad(const uint8_t *request_kid, size_t kid_len, const uint8_t *request_piv,
                     size_t piv_len, uint8_t out[VOUCH_OSCORE_AAD_MAX], size_t *out_len)
{
	uint8_t array[VOUCH_OSCORE_AAD_MAX];
	size_t array_len = 0;
	struct vouch_cbor_writer w;
	int rc = VOUCH_ERR_INTERNAL;

	if (out_len == NULL)
		return VOUCH_ERR_INVALID;
	*out_len = 0;
	if (out == NULL)
		return VOUCH_ERR_INVALID;
	rc = vouch_oscore_aad_array(request_kid, kid_len, request_piv, piv_len, array,
	                            sizeof(array), &array_len);
	if (rc != VOUCH_OK)
		return rc;

	/* Enc_structure = ["Encrypt0", h'' (empty protected header), external_aad] */
	vouch_cbor_writer_init(&w, out, VOUCH_OSCORE_AAD_MAX);
	vouch_cbor_write_array(&w, 3);
	vouch_cbor_write_cstr(&w, "Encrypt0");
	vouch_cbor_write_bstr(&w, NULL, 0);
	vouch_cbor_write_bstr(&w, array, array_len);
	return vouch_cbor_writer_finish(&w, out_len);
}

/* ---- security context ---- */

static int derive(const struct vouch_oscore_params *p, const uint8_t *id, size_t id_len, bool is_iv,
                  uint8_t *out)
{
	uint8_t info[INFO_MAX];
	size_t info_len = 0;
	int rc = VOUCH_ERR_INTERNAL;

	rc = vouch_oscore_kdf_info(id, id_len, p->has_id_context, p->id_context, p->id_context_len,
	                           is_iv, info, sizeof(info), &info_len);
	if (rc != VOUCH_OK)
		return rc;
	/* An empty salt is HKDF's default of HashLen zero bytes (section 3.2.1). */
	return vouch_hkdf_sha256(p->master_salt_len > 0 ? p->master_salt : NULL, p->master_salt_len,
	                         p->master_secret, p->master_secret_len, info, info_len, out,
	                         is_iv ? VOUCH_OSCORE_NONCE_LEN : VOUCH_OSCORE_KEY_LEN);
}

void vouch_oscore_ctx_clear(struct vouch_oscore_ctx *ctx)
{
	if (ctx != NULL)
		vouch_wipe(ctx, sizeof(*ctx));
}

int vouch_oscore_ctx_init(struct vouch_oscore_ctx *ctx, const struct vouch_oscore_params *p)
{
	int rc = VOUCH_ERR_INVALID;

	if (ctx == NULL)
		return VOUCH_ERR_INVALID;
	vouch_wipe(ctx, sizeof(*ctx));
	if (p == NULL || p->master_secret == NULL || p->master_secret_len == 0 ||
	    (p->master_salt == NULL && p->master_salt_len > 0) ||
	    (p->sender_id == NULL && p->sender_id_len > 0) ||
	    (p->recipient_id == NULL && p->recipient_id_len > 0) ||
	    p->sender_id_len > VOUCH_OSCORE_MAX_ID_LEN ||
	    p->recipient_id_len > VOUCH_OSCORE_MAX_ID_LEN ||
	    (p->has_id_context && p->id_context == NULL && p->id_context_len > 0) ||
	    (!p->has_id_context && (p->id_context_len > 0 || p->send_kid_context)) ||
	    p->id_context_len > VOUCH_OSCORE_MAX_ID_CONTEXT_LEN ||
	    p->sender_seq > VOUCH_OSCORE_MAX_SEQ + 1)
		return VOUCH_ERR_INVALID;
	/* Equal IDs would give both directions the same key and nonces (section 3.3). */
	if (bytes_equal(p->sender_id, p->sender_id_len, p->recipient_id, p->recipient_id_len))
		return VOUCH_ERR_INVALID;
	if (p->aead_alg != 0 && p->aead_alg != VOUCH_OSCORE_ALG_AES_CCM_16_64_128)
		return VOUCH_ERR_UNSUPPORTED;

	rc = derive(p, p->sender_id, p->sender_id_len, false, ctx->sender_key);
	if (rc != VOUCH_OK)
		goto out_wipe;
	rc = derive(p, p->recipient_id, p->recipient_id_len, false, ctx->recipient_key);
	if (rc != VOUCH_OK)
		goto out_wipe;
	rc = derive(p, NULL, 0, true, ctx->common_iv);
	if (rc != VOUCH_OK)
		goto out_wipe;

	if (p->sender_id_len > 0)
		memcpy(ctx->sender_id, p->sender_id, p->sender_id_len);
	ctx->sender_id_len = (uint8_t)p->sender_id_len;
	if (p->recipient_id_len > 0)
		memcpy(ctx->recipient_id, p->recipient_id, p->recipient_id_len);
	ctx->recipient_id_len = (uint8_t)p->recipient_id_len;
	ctx->has_id_context = p->has_id_context;
	if (p->id_context_len > 0)
		memcpy(ctx->id_context, p->id_context, p->id_context_len);
	ctx->id_context_len = (uint8_t)p->id_context_len;
	ctx->send_kid_context = p->send_kid_context;

	ctx->sender_seq = p->sender_seq;
	ctx->persist = p->persist;
	ctx->persist_arg = p->persist_arg;
	ctx->persist_step =
	    p->persist_step > 0 ? p->persist_step : VOUCH_OSCORE_DEFAULT_PERSIST_STEP;
	/* Nothing is reserved yet: the first number used triggers a persist. */
	ctx->seq_limit = p->persist != NULL ? p->sender_seq : VOUCH_OSCORE_MAX_SEQ + 1;
	ctx->replay_synced = !p->replay_window_lost;
	ctx->ready = true;
	return VOUCH_OK;

out_wipe:
	vouch_wipe(ctx, sizeof(*ctx));
	return rc;
}

uint64_t vouch_oscore_ctx_next_seq(const struct vouch_oscore_ctx *ctx)
{
	return ctx != NULL ? ctx->sender_seq : 0;
}

uint64_t vouch_oscore_ctx_seq_limit(const struct vouch_oscore_ctx *ctx)
{
	return ctx != NULL ? ctx->seq_limit : 0;
}

/* Take the next Sender Sequence Number, persisting a new limit first when it is not covered. */
static int take_seq(struct vouch_oscore_ctx *ctx, uint64_t *seq)
{
	uint64_t s = ctx->sender_seq;
	int rc = VOUCH_ERR_INTERNAL;

	*seq = 0;
	/* Past 2^40 - 1 the context must not send any more (section 7.2.1). */
	if (s > VOUCH_OSCORE_MAX_SEQ)
		return VOUCH_ERR_OSCORE_CONTEXT;
	if (s >= ctx->seq_limit) {
		uint64_t limit = s + ctx->persist_step;

		if (ctx->persist_step > VOUCH_OSCORE_MAX_SEQ + 1 - s)
			limit = VOUCH_OSCORE_MAX_SEQ + 1;
		rc = ctx->persist(ctx->persist_arg, limit);
		if (rc != VOUCH_OK)
			return rc < 0 ? rc : VOUCH_ERR_IO;
		ctx->seq_limit = limit;
	}
	ctx->sender_seq = s + 1;
	*seq = s;
	return VOUCH_OK;
}

/* ---- the OSCORE option value ---- */

int vouch_oscore_option_decode(const uint8_t *value, size_t len, struct vouch_oscore_option *opt)
{
	size_t pos = 1;
	uint8_t flags;

	if (opt == NULL)
		return VOUCH_ERR_INVALID;
	memset(opt, 0, sizeof(*opt));
	if (value == NULL && len > 0)
		return VOUCH_ERR_INVALID;
	if (len == 0)
		return VOUCH_OK;

	flags = value[0];
	/* All-zero flags must be sent as an empty value (section 2); reserved bits and n = 6, 7
	 * make the message malformed (section 6.1). */
	if (flags == 0 || (flags & FLAG_RESERVED) != 0 || (flags & FLAG_PIV_MASK) > 5 ||
	    len > OPTION_VALUE_MAX)
		goto out_malformed;

	opt->piv_len = flags & FLAG_PIV_MASK;
	if (opt->piv_len > len - pos)
		goto out_malformed;
	if (opt->piv_len > 0) {
		opt->piv = value + pos;
		/* Leading zero bytes are removed by the sender (section 5): refuse a second
		 * encoding of the same number. */
		if (opt->piv_len > 1 && opt->piv[0] == 0)
			goto out_malformed;
		pos += opt->piv_len;
	}
	if (flags & FLAG_KID_CONTEXT) {
		if (pos >= len)
			goto out_malformed;
		opt->kid_context_len = value[pos++];
		if (opt->kid_context_len > len - pos)
			goto out_malformed;
		opt->has_kid_context = true;
		opt->kid_context = value + pos;
		pos += opt->kid_context_len;
	}
	if (flags & FLAG_KID) {
		opt->has_kid = true;
		opt->kid = value + pos;
		opt->kid_len = len - pos;
		pos = len;
	}
	if (pos != len)
		goto out_malformed;
	return VOUCH_OK;

out_malformed:
	memset(opt, 0, sizeof(*opt));
	return VOUCH_ERR_OSCORE;
}

int vouch_oscore_option_encode(const struct vouch_oscore_option *opt, uint8_t *out, size_t cap,
                               size_t *out_len)
{
	size_t need = 0;
	size_t pos = 0;
	uint8_t flags = 0;

	if (out_len == NULL)
		return VOUCH_ERR_INVALID;
	*out_len = 0;
	if (opt == NULL || (out == NULL && cap > 0) || opt->piv_len > VOUCH_OSCORE_MAX_PIV_LEN ||
	    (opt->piv == NULL && opt->piv_len > 0) || (opt->piv_len > 1 && opt->piv[0] == 0) ||
	    (opt->has_kid && opt->kid == NULL && opt->kid_len > 0) ||
	    (opt->has_kid_context && opt->kid_context == NULL && opt->kid_context_len > 0) ||
	    opt->kid_context_len > 255)
		return VOUCH_ERR_INVALID;

	flags = (uint8_t)opt->piv_len;
	if (opt->has_kid)
		flags |= FLAG_KID;
	if (opt->has_kid_context)
		flags |= FLAG_KID_CONTEXT;
	/* No flags at all: the empty value (section 2). */
	if (flags == 0)
		return VOUCH_OK;
	need = 1 + opt->piv_len + (opt->has_kid_context ? 1 + opt->kid_context_len : 0) +
	       (opt->has_kid ? opt->kid_len : 0);
	if (need > OPTION_VALUE_MAX)
		return VOUCH_ERR_INVALID;
	if (need > cap)
		return VOUCH_ERR_BUFFER;

	out[pos++] = flags;
	if (opt->piv_len > 0)
		memcpy(out + pos, opt->piv, opt->piv_len);
	pos += opt->piv_len;
	if (opt->has_kid_context) {
		out[pos++] = (uint8_t)opt->kid_context_len;
		if (opt->kid_context_len > 0)
			memcpy(out + pos, opt->kid_context, opt->kid_context_len);
		pos += opt->kid_context_len;
	}
	if (opt->has_kid && opt->kid_len > 0) {
		memcpy(out + pos, opt->kid, opt->kid_len);
		pos += opt->kid_len;
	}
	*out_len = pos;
	return VOUCH_OK;
}

bool vouch_oscore_ctx_matches(const struct vouch_oscore_ctx *ctx,
                              const struct vouch_oscore_option *opt)
{
	if (ctx == NULL || opt == NULL || !ctx->ready || !opt->has_kid)
		return false;
	if (!bytes_equal(opt->kid, opt->kid_len, ctx->recipient_id, ctx->recipient_id_len))
		return false;
	/* Without 'kid context' the server knows the ID Context already (section 5.1). */
	if (opt->has_kid_context &&
	    (!ctx->has_id_context || !bytes_equal(opt->kid_context, opt->kid_context_len,
	                                          ctx->id_context, ctx->id_context_len)))
		return false;
	return true;
}

/* ---- the inner message ---- */

bool vouch_oscore_option_is_inner(uint16_t number)
{
	switch (number) {
	case 3:  /* Uri-Host */
	case 7:  /* Uri-Port */
	case 9:  /* OSCORE */
	case 16: /* Hop-Limit, RFC 8768 */
	case 21: /* EDHOC, RFC 9668 */
	case 35: /* Proxy-Uri */
	case 39: /* Proxy-Scheme */
		return false;
	default:
		return true;
	}
}

static bool code_is_request(uint8_t code)
{
	return code >= 0x01 && code <= 0x1f;
}

static bool code_is_response(uint8_t code)
{
	uint8_t cls = code >> 5;

	return cls == 2 || cls == 4 || cls == 5;
}

/* One extended option delta or length (RFC 7252 section 3.1): nibble 13 adds one byte + 13,
 * 14 two bytes + 269; 15 is reserved here (the payload marker is handled by the caller). */
static int read_ext(const uint8_t *pt, size_t len, size_t *pos, uint8_t nibble, uint32_t *v)
{
	if (nibble < 13) {
		*v = nibble;
		return VOUCH_OK;
	}
	if (nibble == 13) {
		if (len - *pos < 1)
			return VOUCH_ERR_OSCORE;
		*v = 13u + pt[*pos];
		*pos += 1;
		return VOUCH_OK;
	}
	if (nibble == 14) {
		if (len - *pos < 2)
			return VOUCH_ERR_OSCORE;
		*v = 269u + ((uint32_t)pt[*pos] << 8 | pt[*pos + 1]);
		*pos += 2;
		return VOUCH_OK;
	}
	return VOUCH_ERR_OSCORE;
}

/* What a strict walk over an inner message found. */
struct inner_info {
	uint8_t code;
	size_t n_opts;
	const uint8_t *payload;
	size_t payload_len;
	bool observe;
};

/* Walk an inner message strictly; store options into opts[0..max_opts) when store is set (more
 * is VOUCH_ERR_BUFFER), else only count them. */
static int inner_walk(const uint8_t *pt, size_t len, bool store, struct vouch_coap_option *opts,
                      size_t max_opts, struct inner_info *info)
{
	uint32_t number = 0;
	size_t pos = 1;
	int rc = VOUCH_ERR_OSCORE;

	memset(info, 0, sizeof(*info));
	if (len < 1)
		return VOUCH_ERR_OSCORE;
	info->code = pt[0];
	if (!code_is_request(info->code) && !code_is_response(info->code))
		return VOUCH_ERR_OSCORE;

	while (pos < len) {
		uint8_t b = pt[pos++];
		uint32_t delta = 0, olen = 0;

		if (b == COAP_PAYLOAD_MARKER) {
			/* A marker must be followed by a non-empty payload (RFC 7252 3). */
			if (pos == len)
				return VOUCH_ERR_OSCORE;
			info->payload = pt + pos;
			info->payload_len = len - pos;
			break;
		}
		rc = read_ext(pt, len, &pos, b >> 4, &delta);
		if (rc != VOUCH_OK)
			return rc;
		rc = read_ext(pt, len, &pos, b & 0x0f, &olen);
		if (rc != VOUCH_OK)
			return rc;
		number += delta;
		if (number == 0 || number > UINT16_MAX || number == VOUCH_COAP_OPTION_OSCORE)
			return VOUCH_ERR_OSCORE;
		/* Extended lengths reach 65804; struct vouch_coap_option holds 16 bits. */
		if (olen > len - pos || olen > UINT16_MAX)
			return VOUCH_ERR_OSCORE;
		if (number == COAP_OPTION_OBSERVE)
			info->observe = true;
		if (store) {
			if (info->n_opts >= max_opts)
				return VOUCH_ERR_BUFFER;
			opts[info->n_opts].number = (uint16_t)number;
			opts[info->n_opts].len = (uint16_t)olen;
			opts[info->n_opts].value = pt + pos;
		}
		info->n_opts++;
		pos += olen;
	}
	return VOUCH_OK;
}

int vouch_oscore_inner_decode(const uint8_t *pt, size_t len, uint8_t *code,
                              struct vouch_coap_option *opts, size_t max_opts, size_t *n_opts,
                              const uint8_t **payload, size_t *payload_len)
{
	struct inner_info info;
	int rc = VOUCH_ERR_INVALID;

	if (code == NULL || n_opts == NULL || payload == NULL || payload_len == NULL)
		return VOUCH_ERR_INVALID;
	*code = 0;
	*n_opts = 0;
	*payload = NULL;
	*payload_len = 0;
	if ((pt == NULL && len > 0) || (opts == NULL && max_opts > 0))
		return VOUCH_ERR_INVALID;
	rc = inner_walk(pt, len, true, opts, max_opts, &info);
	if (rc != VOUCH_OK)
		return rc;
	*code = info.code;
	*n_opts = info.n_opts;
	*payload = info.payload;
	*payload_len = info.payload_len;
	return VOUCH_OK;
}

/* Size of one option header for a delta or length value. */
static size_t ext_size(uint32_t v)
{
	return v < 13 ? 0 : v < 269 ? 1 : 2;
}

static uint8_t ext_nibble(uint32_t v)
{
	return v < 13 ? (uint8_t)v : v < 269 ? 13 : 14;
}

static size_t put_ext(uint8_t *out, uint32_t v)
{
	if (v < 13)
		return 0;
	if (v < 269) {
		out[0] = (uint8_t)(v - 13);
		return 1;
	}
	out[0] = (uint8_t)((v - 269) >> 8);
	out[1] = (uint8_t)(v - 269);
	return 2;
}

int vouch_oscore_inner_encode(uint8_t code, const struct vouch_coap_option *opts, size_t n_opts,
                              const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap,
                              size_t *out_len)
{
	uint32_t prev = 0;
	size_t need = 1;
	size_t pos = 0;

	if (out_len == NULL)
		return VOUCH_ERR_INVALID;
	*out_len = 0;
	if ((opts == NULL && n_opts > 0) || (payload == NULL && payload_len > 0) ||
	    (out == NULL && cap > 0) || (!code_is_request(code) && !code_is_response(code)))
		return VOUCH_ERR_INVALID;

	for (size_t i = 0; i < n_opts; i++) {
		const struct vouch_coap_option *o = &opts[i];

		if (o->number == 0 || o->number < prev || o->number == VOUCH_COAP_OPTION_OSCORE ||
		    (o->value == NULL && o->len > 0))
			return VOUCH_ERR_INVALID;
		need += 1 + ext_size(o->number - prev) + ext_size(o->len) + o->len;
		prev = o->number;
	}
	if (payload_len > 0)
		need += 1 + payload_len;
	if (need > cap)
		return VOUCH_ERR_BUFFER;

	out[pos++] = code;
	prev = 0;
	for (size_t i = 0; i < n_opts; i++) {
		const struct vouch_coap_option *o = &opts[i];
		uint32_t delta = o->number - prev;

		out[pos++] = (uint8_t)(ext_nibble(delta) << 4 | ext_nibble(o->len));
		pos += put_ext(out + pos, delta);
		pos += put_ext(out + pos, o->len);
		if (o->len > 0)
			memcpy(out + pos, o->value, o->len);
		pos += o->len;
		prev = o->number;
	}
	if (payload_len > 0) {
		out[pos++] = COAP_PAYLOAD_MARKER;
		memcpy(out + pos, payload, payload_len);
		pos += payload_len;
	}
	*out_len = pos;
	return VOUCH_OK;
}

/* ---- protection ---- */

static int seal(const uint8_t key[VOUCH_OSCORE_KEY_LEN],
                const uint8_t nonce[VOUCH_OSCORE_NONCE_LEN], const uint8_t *kid, size_t kid_len,
                const uint8_t *piv, size_t piv_len, const uint8_t *pt, size_t pt_len, uint8_t *ct,
                size_t ct_cap, size_t *ct_len)
{
	uint8_t aad[VOUCH_OSCORE_AAD_MAX];
	size_t aad_len = 0;
	int rc = VOUCH_ERR_INTERNAL;

	if (pt_len > ct_cap || ct_cap - pt_len < VOUCH_OSCORE_TAG_LEN)
		return VOUCH_ERR_BUFFER;
	rc = vouch_oscore_aad(kid, kid_len, piv, piv_len, aad, &aad_len);
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_aes_ccm_encrypt(key, VOUCH_OSCORE_KEY_LEN, nonce, VOUCH_OSCORE_NONCE_LEN, aad,
	                           aad_len, pt, pt_len, VOUCH_OSCORE_TAG_LEN, ct);
	if (rc == VOUCH_OK)
		*ct_len = pt_len + VOUCH_OSCORE_TAG_LEN;
	return rc;
}

static int open_ct(const uint8_t key[VOUCH_OSCORE_KEY_LEN],
                   const uint8_t nonce[VOUCH_OSCORE_NONCE_LEN], const uint8_t *kid, size_t kid_len,
                   const uint8_t *piv, size_t piv_len, const uint8_t *ct, size_t ct_len,
                   uint8_t *pt, size_t pt_cap, size_t *pt_len)
{
	uint8_t aad[VOUCH_OSCORE_AAD_MAX];
	size_t aad_len = 0;
	int rc = VOUCH_ERR_INTERNAL;

	/* At least the code byte and the tag (section 2: no payload is malformed). */
	if (ct_len < 1 + VOUCH_OSCORE_TAG_LEN)
		return VOUCH_ERR_OSCORE;
	if (pt_cap < ct_len - VOUCH_OSCORE_TAG_LEN)
		return VOUCH_ERR_BUFFER;
	rc = vouch_oscore_aad(kid, kid_len, piv, piv_len, aad, &aad_len);
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_aes_ccm_decrypt(key, VOUCH_OSCORE_KEY_LEN, nonce, VOUCH_OSCORE_NONCE_LEN, aad,
	                           aad_len, ct, ct_len, VOUCH_OSCORE_TAG_LEN, pt);
	if (rc == VOUCH_OK)
		*pt_len = ct_len - VOUCH_OSCORE_TAG_LEN;
	return rc;
}

/* Refuse plaintext the caller hands over for protection unless it is a well-formed inner
 * message of the right kind: an OSCORE message carrying garbage helps nobody. */
static int check_outgoing(const uint8_t *pt, size_t pt_len, bool request)
{
	struct inner_info info;

	if (pt == NULL || inner_walk(pt, pt_len, false, NULL, 0, &info) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	if (request ? !code_is_request(info.code) : !code_is_response(info.code))
		return VOUCH_ERR_INVALID;
	/* Observe is not implemented: its nonce and replay rules differ (section 4.1.3.5). */
	if (info.observe)
		return VOUCH_ERR_UNSUPPORTED;
	return VOUCH_OK;
}

/* Check an incoming plaintext; wipes it when refused. */
static int check_incoming(uint8_t *pt, size_t pt_len, bool request)
{
	struct inner_info info;
	int rc = VOUCH_ERR_OSCORE;

	rc = inner_walk(pt, pt_len, false, NULL, 0, &info);
	if (rc == VOUCH_OK &&
	    (request ? !code_is_request(info.code) : !code_is_response(info.code)))
		rc = VOUCH_ERR_OSCORE;
	/* A response with an inner Observe to a non-Observe request (section 4.1.3.5.2); a
	 * server without Observe ignores the option in requests (RFC 7641 2). */
	if (rc == VOUCH_OK && !request && info.observe)
		rc = VOUCH_ERR_OSCORE;
	if (rc != VOUCH_OK) {
		vouch_wipe(pt, pt_len);
		return VOUCH_ERR_OSCORE;
	}
	return VOUCH_OK;
}

int vouch_oscore_protect_request(struct vouch_oscore_ctx *ctx, const uint8_t *pt, size_t pt_len,
                                 uint8_t *ct, size_t ct_cap, size_t *ct_len,
                                 uint8_t opt[VOUCH_OSCORE_OPTION_MAX], size_t *opt_len,
                                 struct vouch_oscore_request *req)
{
	struct vouch_oscore_option o;
	uint8_t nonce[VOUCH_OSCORE_NONCE_LEN];
	uint8_t piv[VOUCH_OSCORE_MAX_PIV_LEN];
	uint64_t seq = 0;
	size_t piv_len = 0;
	int rc = VOUCH_ERR_INVALID;

	if (ct_len == NULL || opt_len == NULL || req == NULL)
		return VOUCH_ERR_INVALID;
	*ct_len = 0;
	*opt_len = 0;
	memset(req, 0, sizeof(*req));
	if (ctx == NULL || !ctx->ready || ct == NULL || opt == NULL)
		return VOUCH_ERR_INVALID;
	rc = check_outgoing(pt, pt_len, true);
	if (rc != VOUCH_OK)
		return rc;
	if (pt_len > ct_cap || ct_cap - pt_len < VOUCH_OSCORE_TAG_LEN)
		return VOUCH_ERR_BUFFER;

	rc = take_seq(ctx, &seq);
	if (rc != VOUCH_OK)
		return rc;
	piv_len = piv_encode(seq, piv);

	/* Requests carry the Partial IV and the kid, and the kid context when configured. */
	memset(&o, 0, sizeof(o));
	o.piv = piv;
	o.piv_len = piv_len;
	o.has_kid = true;
	o.kid = ctx->sender_id;
	o.kid_len = ctx->sender_id_len;
	o.has_kid_context = ctx->send_kid_context;
	o.kid_context = ctx->id_context;
	o.kid_context_len = ctx->id_context_len;
	rc = vouch_oscore_option_encode(&o, opt, VOUCH_OSCORE_OPTION_MAX, opt_len);
	if (rc != VOUCH_OK)
		goto out_reset;

	rc = vouch_oscore_nonce(ctx->common_iv, ctx->sender_id, ctx->sender_id_len, seq, nonce);
	if (rc != VOUCH_OK)
		goto out_reset;
	rc = seal(ctx->sender_key, nonce, ctx->sender_id, ctx->sender_id_len, piv, piv_len, pt,
	          pt_len, ct, ct_cap, ct_len);
	if (rc != VOUCH_OK)
		goto out_reset;

	memcpy(req->kid, ctx->sender_id, ctx->sender_id_len);
	req->kid_len = ctx->sender_id_len;
	memcpy(req->piv, piv, piv_len);
	req->piv_len = (uint8_t)piv_len;
	req->seq = seq;
	req->client = true;
	req->valid = true;
	return VOUCH_OK;

out_reset:
	/* The number stays used: a nonce is never handed out twice, even after a failure. */
	*ct_len = 0;
	*opt_len = 0;
	return rc;
}

/* Replay window (RFC 6347 4.1.2.6 style), checked before and updated after decryption. */
static bool replay_seen(const struct vouch_oscore_ctx *ctx, uint64_t seq)
{
	uint64_t age;

	if (!ctx->replay_any || seq > ctx->replay_top)
		return false;
	age = ctx->replay_top - seq;
	if (age >= VOUCH_OSCORE_REPLAY_WINDOW)
		return true; /* too old to tell: refused */
	return (ctx->replay_bits >> age) & 1u;
}

static void replay_record(struct vouch_oscore_ctx *ctx, uint64_t seq)
{
	if (!ctx->replay_any) {
		ctx->replay_any = true;
		ctx->replay_top = seq;
		ctx->replay_bits = 1;
		return;
	}
	if (seq > ctx->replay_top) {
		uint64_t shift = seq - ctx->replay_top;

		ctx->replay_bits =
		    shift >= VOUCH_OSCORE_REPLAY_WINDOW ? 0 : ctx->replay_bits << shift;
		ctx->replay_bits |= 1;
		ctx->replay_top = seq;
		return;
	}
	ctx->replay_bits |= UINT64_C(1) << (ctx->replay_top - seq);
}

static int unprotect_request(struct vouch_oscore_ctx *ctx, const uint8_t *opt, size_t opt_len,
                             const uint8_t *ct, size_t ct_len, uint8_t *pt, size_t pt_cap,
                             size_t *pt_len, struct vouch_oscore_request *req, bool resync)
{
	struct vouch_oscore_option o;
	uint8_t nonce[VOUCH_OSCORE_NONCE_LEN];
	uint64_t seq = 0;
	int rc = VOUCH_ERR_INVALID;

	if (pt_len == NULL || req == NULL)
		return VOUCH_ERR_INVALID;
	*pt_len = 0;
	memset(req, 0, sizeof(*req));
	if (ctx == NULL || !ctx->ready || (opt == NULL && opt_len > 0) ||
	    (ct == NULL && ct_len > 0) || pt == NULL)
		return VOUCH_ERR_INVALID;
	if (resync && ctx->replay_synced)
		return VOUCH_ERR_INVALID;

	rc = vouch_oscore_option_decode(opt, opt_len, &o);
	if (rc != VOUCH_OK)
		return rc;
	/* A request without Partial IV or kid cannot be a request (section 5). */
	if (o.piv_len == 0 || !o.has_kid)
		return VOUCH_ERR_OSCORE;
	if (!vouch_oscore_ctx_matches(ctx, &o))
		return VOUCH_ERR_OSCORE_CONTEXT;
	seq = piv_value(o.piv, o.piv_len);
	if (!resync && (!ctx->replay_synced || replay_seen(ctx, seq)))
		return VOUCH_ERR_OSCORE_REPLAY;

	rc = vouch_oscore_nonce(ctx->common_iv, ctx->recipient_id, ctx->recipient_id_len, seq,
	                        nonce);
	if (rc != VOUCH_OK)
		return rc;
	rc = open_ct(ctx->recipient_key, nonce, o.kid, o.kid_len, o.piv, o.piv_len, ct, ct_len, pt,
	             pt_cap, pt_len);
	if (rc != VOUCH_OK) {
		*pt_len = 0;
		return rc;
	}
	if (!resync)
		replay_record(ctx, seq);
	rc = check_incoming(pt, *pt_len, true);
	if (rc != VOUCH_OK) {
		*pt_len = 0;
		return rc;
	}

	memcpy(req->kid, o.kid, o.kid_len);
	req->kid_len = (uint8_t)o.kid_len;
	memcpy(req->piv, o.piv, o.piv_len);
	req->piv_len = (uint8_t)o.piv_len;
	req->seq = seq;
	req->valid = true;
	/* An unsynchronised request may be a replay of one answered before the restart: its
	 * nonce must not be used again (Appendix B.1.2). */
	req->nonce_used = resync;
	return VOUCH_OK;
}

int vouch_oscore_unprotect_request(struct vouch_oscore_ctx *ctx, const uint8_t *opt, size_t opt_len,
                                   const uint8_t *ct, size_t ct_len, uint8_t *pt, size_t pt_cap,
                                   size_t *pt_len, struct vouch_oscore_request *req)
{
	return unprotect_request(ctx, opt, opt_len, ct, ct_len, pt, pt_cap, pt_len, req, false);
}

int vouch_oscore_unprotect_request_resync(struct vouch_oscore_ctx *ctx, const uint8_t *opt,
                                          size_t opt_len, const uint8_t *ct, size_t ct_len,
                                          uint8_t *pt, size_t pt_cap, size_t *pt_len,
                                          struct vouch_oscore_request *req)
{
	return unprotect_request(ctx, opt, opt_len, ct, ct_len, pt, pt_cap, pt_len, req, true);
}

int vouch_oscore_replay_sync(struct vouch_oscore_ctx *ctx, struct vouch_oscore_request *req)
{
	if (ctx == NULL || req == NULL || !ctx->ready || ctx->replay_synced || !req->valid ||
	    req->client ||
	    !bytes_equal(req->kid, req->kid_len, ctx->recipient_id, ctx->recipient_id_len))
		return VOUCH_ERR_INVALID;
	/* Everything up to and including the fresh request counts as received. */
	ctx->replay_any = true;
	ctx->replay_top = req->seq;
	ctx->replay_bits = ~UINT64_C(0);
	ctx->replay_synced = true;
	/* Its freshness is proven (Echo), so its nonce was never used before. */
	req->nonce_used = false;
	return VOUCH_OK;
}

int vouch_oscore_protect_response(struct vouch_oscore_ctx *ctx, struct vouch_oscore_request *req,
                                  bool own_piv, const uint8_t *pt, size_t pt_len, uint8_t *ct,
                                  size_t ct_cap, size_t *ct_len,
                                  uint8_t opt[VOUCH_OSCORE_OPTION_MAX], size_t *opt_len)
{
	struct vouch_oscore_option o;
	uint8_t nonce[VOUCH_OSCORE_NONCE_LEN];
	uint8_t piv[VOUCH_OSCORE_MAX_PIV_LEN];
	size_t piv_len = 0;
	uint64_t seq = 0;
	int rc = VOUCH_ERR_INVALID;

	if (ct_len == NULL || opt_len == NULL)
		return VOUCH_ERR_INVALID;
	*ct_len = 0;
	*opt_len = 0;
	if (ctx == NULL || !ctx->ready || req == NULL || !req->valid || req->client || ct == NULL ||
	    opt == NULL ||
	    !bytes_equal(req->kid, req->kid_len, ctx->recipient_id, ctx->recipient_id_len))
		return VOUCH_ERR_INVALID;
	/* Reusing the request nonce twice would reuse (key, nonce) with the Sender Key. */
	if (!own_piv && req->nonce_used)
		return VOUCH_ERR_INVALID;
	rc = check_outgoing(pt, pt_len, false);
	if (rc != VOUCH_OK)
		return rc;
	if (pt_len > ct_cap || ct_cap - pt_len < VOUCH_OSCORE_TAG_LEN)
		return VOUCH_ERR_BUFFER;

	memset(&o, 0, sizeof(o));
	if (own_piv) {
		rc = take_seq(ctx, &seq);
		if (rc != VOUCH_OK)
			return rc;
		piv_len = piv_encode(seq, piv);
		o.piv = piv;
		o.piv_len = piv_len;
		rc = vouch_oscore_nonce(ctx->common_iv, ctx->sender_id, ctx->sender_id_len, seq,
		                        nonce);
	} else {
		/* The request's nonce: the client's Sender ID is the request kid. */
		rc = vouch_oscore_nonce(ctx->common_iv, req->kid, req->kid_len, req->seq, nonce);
	}
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_oscore_option_encode(&o, opt, VOUCH_OSCORE_OPTION_MAX, opt_len);
	if (rc != VOUCH_OK)
		goto out_reset;
	/* Claim the request nonce before encrypting: on any failure below it stays claimed. */
	if (!own_piv)
		req->nonce_used = true;
	rc = seal(ctx->sender_key, nonce, req->kid, req->kid_len, req->piv, req->piv_len, pt,
	          pt_len, ct, ct_cap, ct_len);
	if (rc != VOUCH_OK)
		goto out_reset;
	return VOUCH_OK;

out_reset:
	*ct_len = 0;
	*opt_len = 0;
	return rc;
}

int vouch_oscore_unprotect_response(struct vouch_oscore_ctx *ctx, struct vouch_oscore_request *req,
                                    const uint8_t *opt, size_t opt_len, const uint8_t *ct,
                                    size_t ct_len, uint8_t *pt, size_t pt_cap, size_t *pt_len)
{
	struct vouch_oscore_option o;
	uint8_t nonce[VOUCH_OSCORE_NONCE_LEN];
	int rc = VOUCH_ERR_INVALID;

	if (pt_len == NULL)
		return VOUCH_ERR_INVALID;
	*pt_len = 0;
	if (ctx == NULL || !ctx->ready || req == NULL || !req->valid || !req->client ||
	    (opt == NULL && opt_len > 0) || (ct == NULL && ct_len > 0) || pt == NULL ||
	    !bytes_equal(req->kid, req->kid_len, ctx->sender_id, ctx->sender_id_len))
		return VOUCH_ERR_INVALID;

	rc = vouch_oscore_option_decode(opt, opt_len, &o);
	if (rc != VOUCH_OK)
		return rc;
	/* 'kid context' in responses belongs to Appendix B.2, which is not implemented. */
	if (o.has_kid_context)
		return VOUCH_ERR_OSCORE;
	if (o.has_kid && !bytes_equal(o.kid, o.kid_len, ctx->recipient_id, ctx->recipient_id_len))
		return VOUCH_ERR_OSCORE_CONTEXT;
	/* Only one response is accepted per request (section 7.4). */
	if (req->answered)
		return VOUCH_ERR_OSCORE_REPLAY;

	if (o.piv_len > 0)
		rc = vouch_oscore_nonce(ctx->common_iv, ctx->recipient_id, ctx->recipient_id_len,
		                        piv_value(o.piv, o.piv_len), nonce);
	else
		rc = vouch_oscore_nonce(ctx->common_iv, req->kid, req->kid_len, req->seq, nonce);
	if (rc != VOUCH_OK)
		return rc;
	rc = open_ct(ctx->recipient_key, nonce, req->kid, req->kid_len, req->piv, req->piv_len, ct,
	             ct_len, pt, pt_cap, pt_len);
	if (rc != VOUCH_OK) {
		*pt_len = 0;
		return rc;
	}
	req->answered = true;
	rc = check_incoming(pt, *pt_len, false);
	if (rc != VOUCH_OK) {
		*pt_len = 0;
		return rc;
	}
	return VOUCH_OK;
}
