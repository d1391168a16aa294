/*
 * What every COSE structure shares: the strict decoding frame (tag, array) and the header
 * buckets (RFC 9052 §3). See lib/cose_internal.h for the contract.
 */
#include <string.h>

#include "cose_internal.h"

/* COSE layers nest a handful of levels (tag, message, recipients, recipient, header map,
 * COSE_Key); payloads and protected headers are opaque bstrs validated on their own. */
const struct vouch_cbor_limits vouch_cose_limits = {
    .max_depth = 10,
    .max_items = 4096,
    .max_map_entries = 64,
    .max_len = 0,
};

int vouch_cose_open(const uint8_t *buf, size_t len, uint64_t want_tag, size_t n_fields,
                    struct vouch_cbor_reader *r)
{
	enum vouch_cbor_type type;
	uint64_t tag;
	size_t count;
	int rc = VOUCH_ERR_INTERNAL;

	vouch_cbor_reader_init(r, NULL, 0);
	if (buf == NULL)
		return VOUCH_ERR_INVALID;
	rc = vouch_cbor_validate(buf, len, &vouch_cose_limits);
	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_reader_init(r, buf, len);
	rc = vouch_cbor_peek(r, &type);
	if (rc != VOUCH_OK)
		return rc;
	if (type == VOUCH_CBOR_TAG) {
		rc = vouch_cbor_read_tag(r, &tag);
		if (rc != VOUCH_OK)
			return rc;
		if (tag != want_tag)
			return VOUCH_ERR_COSE_STRUCTURE;
	}
	if (vouch_cbor_read_array(r, &count) != VOUCH_OK || count != n_fields)
		return VOUCH_ERR_COSE_STRUCTURE;
	return VOUCH_OK;
}

/* ---- reading headers ---- */

/* A header label: int or tstr (RFC 9052 §1.5). */
struct label {
	bool is_text;
	int64_t num;
	const char *text;
	size_t text_len;
};

static int read_label(struct vouch_cbor_reader *r, struct label *l)
{
	enum vouch_cbor_type type;
	int rc = vouch_cbor_peek(r, &type);

	memset(l, 0, sizeof(*l));
	if (rc != VOUCH_OK)
		return rc;
	if (type == VOUCH_CBOR_TSTR) {
		l->is_text = true;
		return vouch_cbor_read_tstr(r, &l->text, &l->text_len);
	}
	if (type != VOUCH_CBOR_UINT && type != VOUCH_CBOR_NEGINT)
		return VOUCH_ERR_COSE_HEADER;
	/* No label is registered beyond 64 bits; such a label is refused rather than guessed. */
	if (vouch_cbor_read_int(r, &l->num) != VOUCH_OK)
		return VOUCH_ERR_COSE_HEADER;
	return VOUCH_OK;
}

static bool label_equal(const struct label *a, const struct label *b)
{
	if (a->is_text != b->is_text)
		return false;
	if (!a->is_text)
		return a->num == b->num;
	return a->text_len == b->text_len &&
	       (a->text_len == 0 || memcmp(a->text, b->text, a->text_len) == 0);
}

/* Whether the (validated) map at map[0..len) has label l. */
static int map_has_label(const uint8_t *map, size_t len, const struct label *l, bool *found)
{
	struct vouch_cbor_reader r;
	struct label k;
	size_t n;
	int rc;

	*found = false;
	if (len == 0)
		return VOUCH_OK;
	vouch_cbor_reader_init(&r, map, len);
	rc = vouch_cbor_read_map(&r, &n);
	if (rc != VOUCH_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = read_label(&r, &k);
		if (rc != VOUCH_OK)
			return rc;
		if (label_equal(&k, l)) {
			*found = true;
			return VOUCH_OK;
		}
		rc = vouch_cbor_skip(&r);
		if (rc != VOUCH_OK)
			return rc;
	}
	return VOUCH_OK;
}

/* The labels this decoder parses and checks, and so understands when listed in crit. */
static bool label_understood(const struct label *l)
{
	if (l->is_text)
		return false;
	switch (l->num) {
	case VOUCH_COSE_HDR_ALG:
	case VOUCH_COSE_HDR_CONTENT_TYPE:
	case VOUCH_COSE_HDR_KID:
	case VOUCH_COSE_HDR_IV:
	case VOUCH_COSE_HDR_PARTIAL_IV:
	case VOUCH_COSE_HDR_KID_CONTEXT:
	case VOUCH_COSE_HDR_EPHEMERAL_KEY:
	case VOUCH_COSE_HDR_SALT:
	case VOUCH_COSE_HDR_PARTY_U_IDENTITY:
	case VOUCH_COSE_HDR_PARTY_U_NONCE:
	case VOUCH_COSE_HDR_PARTY_U_OTHER:
	case VOUCH_COSE_HDR_PARTY_V_IDENTITY:
	case VOUCH_COSE_HDR_PARTY_V_NONCE:
	case VOUCH_COSE_HDR_PARTY_V_OTHER:
		return true;
	default:
		return false;
	}
}

/* A bstr-valued parameter. A wrong type is a malformed header. */
static int read_bstr_param(struct vouch_cbor_reader *r, const uint8_t **p, size_t *len)
{
	if (vouch_cbor_read_bstr(r, p, len) != VOUCH_OK)
		return VOUCH_ERR_COSE_HEADER;
	return VOUCH_OK;
}

/* PartyU/V nonce is bstr / int (RFC 9053 §5.2); only the bstr form is carried here. */
static int read_nonce_param(struct vouch_cbor_reader *r, const uint8_t **p, size_t *len)
{
	enum vouch_cbor_type type;
	int rc = vouch_cbor_peek(r, &type);

	if (rc != VOUCH_OK)
		return rc;
	if (type == VOUCH_CBOR_UINT || type == VOUCH_CBOR_NEGINT)
		return VOUCH_ERR_UNSUPPORTED;
	return read_bstr_param(r, p, len);
}

/* A COSE_Key-valued parameter: its shape is checked here, its contents where it is used. */
static int read_key_param(struct vouch_cbor_reader *r, const uint8_t **p, size_t *len)
{
	enum vouch_cbor_type type;
	int rc = vouch_cbor_peek(r, &type);

	if (rc != VOUCH_OK)
		return rc;
	if (type != VOUCH_CBOR_MAP)
		return VOUCH_ERR_COSE_HEADER;
	return vouch_cbor_read_raw(r, p, len);
}

static int read_alg(struct vouch_cbor_reader *r, struct vouch_cose_headers *hdr)
{
	enum vouch_cbor_type type;
	const char *text;
	size_t text_len;
	int rc = vouch_cbor_peek(r, &type);

	if (rc != VOUCH_OK)
		return rc;
	hdr->has_alg = true;
	hdr->alg = 0;
	/* Text algorithm names and integers beyond int64 name nothing this library implements:
	 * they are kept as alg 0 (reserved in the registry), which every layer refuses with
	 * VOUCH_ERR_COSE_ALG when it comes to use it. */
	if (type == VOUCH_CBOR_TSTR)
		return vouch_cbor_read_tstr(r, &text, &text_len);
	if (type != VOUCH_CBOR_UINT && type != VOUCH_CBOR_NEGINT)
		return VOUCH_ERR_COSE_HEADER;
	rc = vouch_cbor_read_int(r, &hdr->alg);
	if (rc == VOUCH_ERR_CBOR_LIMIT) {
		hdr->alg = 0;
		return vouch_cbor_skip(r);
	}
	return rc;
}

static int read_content_type(struct vouch_cbor_reader *r, struct vouch_cose_headers *hdr)
{
	enum vouch_cbor_type type;
	uint64_t v;
	int rc = vouch_cbor_peek(r, &type);

	if (rc != VOUCH_OK)
		return rc;
	hdr->has_content_type = true;
	if (type == VOUCH_CBOR_TSTR)
		return vouch_cbor_read_tstr(r, &hdr->content_type_text,
		                            &hdr->content_type_text_len);
	if (type != VOUCH_CBOR_UINT)
		return VOUCH_ERR_COSE_HEADER;
	rc = vouch_cbor_read_uint(r, &v);
	if (rc != VOUCH_OK)
		return rc;
	/* CoAP content formats are 16-bit; anything past int64 is not a content format. */
	if (v > (uint64_t)INT64_MAX)
		return VOUCH_ERR_COSE_HEADER;
	hdr->content_type_uint = (int64_t)v;
	return VOUCH_OK;
}

static int read_crit(struct vouch_cbor_reader *r, const uint8_t **crit, size_t *crit_len)
{
	struct vouch_cbor_reader a;
	struct label l;
	size_t n;
	int rc = vouch_cbor_read_raw(r, crit, crit_len);

	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_reader_init(&a, *crit, *crit_len);
	if (vouch_cbor_read_array(&a, &n) != VOUCH_OK || n == 0)
		return VOUCH_ERR_COSE_HEADER;
	for (size_t i = 0; i < n; i++) {
		rc = read_label(&a, &l);
		if (rc != VOUCH_OK)
			return rc == VOUCH_ERR_CBOR_TYPE ? VOUCH_ERR_COSE_HEADER : rc;
	}
	return VOUCH_OK;
}

/* Every label in crit must be understood and present in the protected bucket. */
static int check_crit(const uint8_t *crit, size_t crit_len, const uint8_t *prot, size_t prot_len)
{
	struct vouch_cbor_reader a;
	struct label l;
	bool found;
	size_t n;
	int rc;

	vouch_cbor_reader_init(&a, crit, crit_len);
	rc = vouch_cbor_read_array(&a, &n);
	if (rc != VOUCH_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = read_label(&a, &l);
		if (rc != VOUCH_OK)
			return rc;
		if (!label_understood(&l))
			return VOUCH_ERR_COSE_CRITICAL;
		rc = map_has_label(prot, prot_len, &l, &found);
		if (rc != VOUCH_OK)
			return rc;
		if (!found)
			return VOUCH_ERR_COSE_CRITICAL;
	}
	return VOUCH_OK;
}

/*
 * Parse one bucket (a validated map at map[0..len)) into hdr. For the unprotected bucket,
 * other/other_len is the protected map, checked for labels present in both.
 */
static int parse_bucket(const uint8_t *map, size_t len, bool is_protected, const uint8_t *other,
                        size_t other_len, struct vouch_cose_headers *hdr, const uint8_t **crit,
                        size_t *crit_len)
{
	struct vouch_cbor_reader r;
	struct label l;
	bool dup;
	size_t n;
	int rc = VOUCH_ERR_INTERNAL;

	if (len == 0)
		return VOUCH_OK;
	vouch_cbor_reader_init(&r, map, len);
	rc = vouch_cbor_read_map(&r, &n);
	if (rc != VOUCH_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = read_label(&r, &l);
		if (rc != VOUCH_OK)
			return rc;
		if (!is_protected) {
			rc = map_has_label(other, other_len, &l, &dup);
			if (rc != VOUCH_OK)
				return rc;
			if (dup)
				return VOUCH_ERR_COSE_HEADER;
		}
		if (l.is_text) {
			rc = vouch_cbor_skip(&r);
			if (rc != VOUCH_OK)
				return rc;
			continue;
		}
		switch (l.num) {
		case VOUCH_COSE_HDR_ALG:
			rc = read_alg(&r, hdr);
			break;
		case VOUCH_COSE_HDR_CRIT:
			/* crit must be integrity protected to mean anything (RFC 9052 §3.1). */
			if (!is_protected)
				return VOUCH_ERR_COSE_CRITICAL;
			rc = read_crit(&r, crit, crit_len);
			break;
		case VOUCH_COSE_HDR_CONTENT_TYPE:
			rc = read_content_type(&r, hdr);
			break;
		case VOUCH_COSE_HDR_KID:
			rc = read_bstr_param(&r, &hdr->kid, &hdr->kid_len);
			break;
		case VOUCH_COSE_HDR_IV:
			rc = read_bstr_param(&r, &hdr->iv, &hdr->iv_len);
			break;
		case VOUCH_COSE_HDR_PARTIAL_IV:
			rc = read_bstr_param(&r, &hdr->partial_iv, &hdr->partial_iv_len);
			break;
		case VOUCH_COSE_HDR_KID_CONTEXT:
			rc = read_bstr_param(&r, &hdr->kid_context, &hdr->kid_context_len);
			break;
		case VOUCH_COSE_HDR_EPHEMERAL_KEY:
			rc = read_key_param(&r, &hdr->ephemeral_key, &hdr->ephemeral_key_len);
			break;
		case VOUCH_COSE_HDR_STATIC_KEY: {
			const uint8_t *p;
			size_t plen;

			rc = read_key_param(&r, &p, &plen);
			break;
		}
		case VOUCH_COSE_HDR_STATIC_KEY_ID: {
			const uint8_t *p;
			size_t plen;

			rc = read_bstr_param(&r, &p, &plen);
			break;
		}
		case VOUCH_COSE_HDR_SALT:
			rc = read_bstr_param(&r, &hdr->salt, &hdr->salt_len);
			break;
		case VOUCH_COSE_HDR_PARTY_U_IDENTITY:
			rc =
			    read_bstr_param(&r, &hdr->party_u_identity, &hdr->party_u_identity_len);
			break;
		case VOUCH_COSE_HDR_PARTY_U_NONCE:
			rc = read_nonce_param(&r, &hdr->party_u_nonce, &hdr->party_u_nonce_len);
			break;
		case VOUCH_COSE_HDR_PARTY_U_OTHER:
			rc = read_bstr_param(&r, &hdr->party_u_other, &hdr->party_u_other_len);
			break;
		case VOUCH_COSE_HDR_PARTY_V_IDENTITY:
			rc =
			    read_bstr_param(&r, &hdr->party_v_identity, &hdr->party_v_identity_len);
			break;
		case VOUCH_COSE_HDR_PARTY_V_NONCE:
			rc = read_nonce_param(&r, &hdr->party_v_nonce, &hdr->party_v_nonce_len);
			break;
		case VOUCH_COSE_HDR_PARTY_V_OTHER:
			rc = read_bstr_param(&r, &hdr->party_v_other, &hdr->party_v_other_len);
			break;
		default:
			rc = vouch_cbor_skip(&r);
			break;
		}
		if (rc != VOUCH_OK)
			return rc;
	}
	return VOUCH_OK;
}

int vouch_cose_headers_read(struct vouch_cbor_reader *r, struct vouch_cose_headers *hdr)
{
	struct vouch_cbor_reader sub;
	enum vouch_cbor_type type;
	const uint8_t *crit = NULL;
	size_t crit_len = 0, n;
	int rc = VOUCH_ERR_INTERNAL;

	memset(hdr, 0, sizeof(*hdr));
	if (vouch_cbor_read_bstr(r, &hdr->protected_bstr, &hdr->protected_len) != VOUCH_OK)
		return VOUCH_ERR_COSE_STRUCTURE;
	if (vouch_cbor_peek(r, &type) != VOUCH_OK || type != VOUCH_CBOR_MAP) {
		rc = VOUCH_ERR_COSE_STRUCTURE;
		goto out_clear;
	}
	rc = vouch_cbor_read_raw(r, &hdr->unprotected_map, &hdr->unprotected_len);
	if (rc != VOUCH_OK)
		goto out_clear;

	/* The protected bucket is serialized on its own, so it gets its own strict check. */
	if (hdr->protected_len > 0) {
		rc = vouch_cbor_validate(hdr->protected_bstr, hdr->protected_len,
		                         &vouch_cose_limits);
		if (rc != VOUCH_OK)
			goto out_clear;
		vouch_cbor_reader_init(&sub, hdr->protected_bstr, hdr->protected_len);
		if (vouch_cbor_read_map(&sub, &n) != VOUCH_OK) {
			rc = VOUCH_ERR_COSE_HEADER;
			goto out_clear;
		}
		/* An empty bucket may arrive as h'' or as h'a0' and both must be accepted; the
		 * Sig/MAC/Enc structures then carry a zero-length bstr (RFC 9052 §3, §4.4:
		 * "if there are no protected attributes, a zero-length bstr is used"). */
		if (n == 0)
			hdr->protected_len = 0;
	}

	rc = parse_bucket(hdr->protected_bstr, hdr->protected_len, true, NULL, 0, hdr, &crit,
	                  &crit_len);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = parse_bucket(hdr->unprotected_map, hdr->unprotected_len, false, hdr->protected_bstr,
	                  hdr->protected_len, hdr, &crit, &crit_len);
	if (rc != VOUCH_OK)
		goto out_clear;
	/* RFC 9052 §3.1: only one of IV and Partial IV in a layer. */
	if (hdr->iv != NULL && hdr->partial_iv != NULL) {
		rc = VOUCH_ERR_COSE_HEADER;
		goto out_clear;
	}
	if (crit != NULL) {
		rc = check_crit(crit, crit_len, hdr->protected_bstr, hdr->protected_len);
		if (rc != VOUCH_OK)
			goto out_clear;
	}
	return VOUCH_OK;

out_clear:
	memset(hdr, 0, sizeof(*hdr));
	return rc;
}

/* ---- writing headers ---- */

static size_t protected_count(int64_t alg, const struct vouch_cose_hdr_params *hp)
{
	size_t n = alg != 0 ? 1 : 0;

	if (hp == NULL)
		return n;
	if (hp->has_content_type)
		n++;
	if (hp->kid != NULL && hp->kid_protected)
		n++;
	return n + hp->extra_protected_count;
}

/* Entries in ascending label order (1, 3, 4), then the caller's extra entries. */
static void write_protected_map(struct vouch_cbor_writer *w, int64_t alg,
                                const struct vouch_cose_hdr_params *hp, size_t n)
{
	vouch_cbor_write_map(w, n);
	if (alg != 0) {
		vouch_cbor_write_int(w, VOUCH_COSE_HDR_ALG);
		vouch_cbor_write_int(w, alg);
	}
	if (hp == NULL)
		return;
	if (hp->has_content_type) {
		vouch_cbor_write_int(w, VOUCH_COSE_HDR_CONTENT_TYPE);
		vouch_cbor_write_uint(w, hp->content_type);
	}
	if (hp->kid != NULL && hp->kid_protected) {
		vouch_cbor_write_int(w, VOUCH_COSE_HDR_KID);
		vouch_cbor_write_bstr(w, hp->kid, hp->kid_len);
	}
	if (hp->extra_protected_count > 0)
		vouch_cbor_write_raw(w, hp->extra_protected, hp->extra_protected_len);
}

void vouch_cose_headers_write(struct vouch_cbor_writer *w, int64_t alg,
                              const struct vouch_cose_hdr_params *hp, const uint8_t *iv,
                              size_t iv_len, const uint8_t *extra_unprot, size_t extra_unprot_len,
                              size_t n_extra_unprot)
{
	struct vouch_cbor_writer count;
	size_t n_prot = protected_count(alg, hp), n_unprot = n_extra_unprot, prot_len = 0;
	bool kid_unprot = hp != NULL && hp->kid != NULL && !hp->kid_protected;
	bool piv = hp != NULL && hp->partial_iv != NULL;

	/* The protected map goes inside a bstr whose head needs its length: size it first. */
	if (n_prot == 0) {
		vouch_cbor_write_bstr_head(w, 0);
	} else {
		vouch_cbor_writer_init(&count, NULL, 0);
		write_protected_map(&count, alg, hp, n_prot);
		if (vouch_cbor_writer_finish(&count, &prot_len) != VOUCH_OK) {
			if (w->err == VOUCH_OK)
				w->err = count.err;
			return;
		}
		vouch_cbor_write_bstr_head(w, prot_len);
		write_protected_map(w, alg, hp, n_prot);
	}

	n_unprot += (kid_unprot ? 1 : 0) + (iv_len > 0 ? 1 : 0) + (piv ? 1 : 0);
	if (hp != NULL)
		n_unprot += hp->extra_unprotected_count;
	vouch_cbor_write_map(w, n_unprot);
	if (kid_unprot) {
		vouch_cbor_write_int(w, VOUCH_COSE_HDR_KID);
		vouch_cbor_write_bstr(w, hp->kid, hp->kid_len);
	}
	if (iv_len > 0) {
		vouch_cbor_write_int(w, VOUCH_COSE_HDR_IV);
		vouch_cbor_write_bstr(w, iv, iv_len);
	}
	if (piv) {
		vouch_cbor_write_int(w, VOUCH_COSE_HDR_PARTIAL_IV);
		vouch_cbor_write_bstr(w, hp->partial_iv, hp->partial_iv_len);
	}
	if (hp != NULL && hp->extra_unprotected_count > 0)
		vouch_cbor_write_raw(w, hp->extra_unprotected, hp->extra_unprotected_len);
	if (n_extra_unprot > 0)
		vouch_cbor_write_raw(w, extra_unprot, extra_unprot_len);
}

int vouch_cose_tbs_build(struct vouch_cose_tbs *s, const char *context, const uint8_t *prot,
                         size_t prot_len, const uint8_t *aad, size_t aad_len,
                         const uint8_t *payload, size_t payload_len)
{
	struct vouch_cbor_writer w;
	size_t head_len, aad_head_len, payload_head_len;
	int rc = VOUCH_ERR_INTERNAL;

	vouch_cbor_writer_init(&w, s->head, sizeof(s->head));
	vouch_cbor_write_array(&w, 4);
	vouch_cbor_write_cstr(&w, context);
	vouch_cbor_write_bstr_head(&w, prot_len);
	rc = vouch_cbor_writer_finish(&w, &head_len);
	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_writer_init(&w, s->aad_head, sizeof(s->aad_head));
	vouch_cbor_write_bstr_head(&w, aad_len);
	rc = vouch_cbor_writer_finish(&w, &aad_head_len);
	if (rc != VOUCH_OK)
		return rc;
	vouch_cbor_writer_init(&w, s->payload_head, sizeof(s->payload_head));
	vouch_cbor_write_bstr_head(&w, payload_len);
	rc = vouch_cbor_writer_finish(&w, &payload_head_len);
	if (rc != VOUCH_OK)
		return rc;

	s->iov[0] = (struct vouch_iov){s->head, head_len};
	s->iov[1] = (struct vouch_iov){prot, prot_len};
	s->iov[2] = (struct vouch_iov){s->aad_head, aad_head_len};
	s->iov[3] = (struct vouch_iov){aad, aad_len};
	s->iov[4] = (struct vouch_iov){s->payload_head, payload_head_len};
	s->iov[5] = (struct vouch_iov){payload, payload_len};
	return VOUCH_OK;
}

int vouch_cose_decode_sign_mac(const uint8_t *buf, size_t len, uint64_t tag,
                               struct vouch_cose_headers *hdr, const uint8_t **payload,
                               size_t *payload_len, const uint8_t **last, size_t *last_len)
{
	struct vouch_cbor_reader r;
	enum vouch_cbor_type type;
	int rc = VOUCH_ERR_INTERNAL;

	memset(hdr, 0, sizeof(*hdr));
	*payload = *last = NULL;
	*payload_len = *last_len = 0;
	rc = vouch_cose_open(buf, len, tag, 4, &r);
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_cose_headers_read(&r, hdr);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_cbor_peek(&r, &type);
	if (rc != VOUCH_OK)
		goto out_clear;
	if (type == VOUCH_CBOR_NULL)
		rc = vouch_cbor_read_null(&r);
	else if (type == VOUCH_CBOR_BSTR)
		rc = vouch_cbor_read_bstr(&r, payload, payload_len);
	else
		rc = VOUCH_ERR_COSE_STRUCTURE;
	if (rc != VOUCH_OK)
		goto out_clear;
	if (vouch_cbor_read_bstr(&r, last, last_len) != VOUCH_OK) {
		rc = VOUCH_ERR_COSE_STRUCTURE;
		goto out_clear;
	}
	return VOUCH_OK;

out_clear:
	memset(hdr, 0, sizeof(*hdr));
	*payload = *last = NULL;
	*payload_len = *last_len = 0;
	return rc;
}
