/*
 * COSE_Encrypt with one level of recipients (RFC 9052 §5.1, RFC 9053 §6): direct, AES key wrap,
 * ECDH-ES + HKDF-256 (direct key agreement) and ECDH-ES + AES key wrap, on P-256.
 *
 * Everything lives on the stack: the CEK and KEKs are at most 32 bytes, the header and context
 * scratch buffers are bounded by VOUCH_COSE_MAX_ENC_STRUCTURE.
 */
#include <string.h>

#include "cose_internal.h"

#define MAX_KEY     32 /* longest CEK or KEK: AES-256 */
#define MAX_WRAP    (MAX_KEY + VOUCH_AES_KW_BLOCK)
#define HDR_SCRATCH VOUCH_COSE_MAX_ENC_STRUCTURE

/* What a recipient algorithm asks of the two sides. */
enum rcpt_kind {
	RCPT_UNKNOWN,
	RCPT_DIRECT,      /* the key is the CEK */
	RCPT_KW,          /* the key is a KEK that wraps the CEK */
	RCPT_ECDH_DIRECT, /* ECDH-ES + HKDF-256 gives the CEK */
	RCPT_ECDH_KW,     /* ECDH-ES + HKDF-256 gives a KEK that wraps the CEK */
};

/* For the key-wrap kinds, kw_alg / kw_len name the AES-KW step (the KDF's AlgorithmID). */
static enum rcpt_kind rcpt_kind(int64_t alg, int64_t *kw_alg, size_t *kw_len)
{
	*kw_alg = 0;
	*kw_len = 0;
	switch (alg) {
	case VOUCH_COSE_ALG_DIRECT:
		return RCPT_DIRECT;
	case VOUCH_COSE_ALG_ECDH_ES_HKDF_256:
		return RCPT_ECDH_DIRECT;
	case VOUCH_COSE_ALG_A128KW:
	case VOUCH_COSE_ALG_ECDH_ES_A128KW:
		*kw_alg = VOUCH_COSE_ALG_A128KW;
		*kw_len = 16;
		break;
	case VOUCH_COSE_ALG_A192KW:
	case VOUCH_COSE_ALG_ECDH_ES_A192KW:
		*kw_alg = VOUCH_COSE_ALG_A192KW;
		*kw_len = 24;
		break;
	case VOUCH_COSE_ALG_A256KW:
	case VOUCH_COSE_ALG_ECDH_ES_A256KW:
		*kw_alg = VOUCH_COSE_ALG_A256KW;
		*kw_len = 32;
		break;
	default:
		return RCPT_UNKNOWN;
	}
	return alg == *kw_alg ? RCPT_KW : RCPT_ECDH_KW;
}

static bool is_ecdh(enum rcpt_kind kind)
{
	return kind == RCPT_ECDH_DIRECT || kind == RCPT_ECDH_KW;
}

/* RFC 9052 §3: h'' and h'a0' both mean "no protected header parameters". */
static bool protected_is_empty(const struct vouch_cose_headers *hdr)
{
	return hdr->protected_len == 0 ||
	       (hdr->protected_len == 1 && hdr->protected_bstr[0] == 0xa0);
}

/*
 * ECDH on P-256, then HKDF-SHA-256 keyed by the shared secret with the COSE_KDF_Context of the
 * recipient layer rh as info and rh's salt (RFC 9053 §5.1, §6.3.1): out gets key_len bytes, the
 * CEK or the KEK.
 */
static int ecdh_derive(const struct vouch_key *priv, const struct vouch_key *peer, int64_t alg_id,
                       size_t key_len, const struct vouch_cose_headers *rh, uint8_t *out)
{
	uint8_t secret[VOUCH_P256_SCALAR_LEN];
	uint8_t ctx[VOUCH_COSE_MAX_ENC_STRUCTURE];
	size_t ctx_len;
	int rc = VOUCH_ERR_INTERNAL;

	rc = vouch_cose_kdf_context(alg_id, key_len * 8, rh, ctx, sizeof(ctx), &ctx_len);
	if (rc != VOUCH_OK)
		return rc == VOUCH_ERR_BUFFER ? VOUCH_ERR_CBOR_LIMIT : rc;
	rc = vouch_ecdh_p256(priv, peer, secret);
	if (rc != VOUCH_OK)
		goto out_wipe;
	rc = vouch_hkdf_sha256(rh->salt, rh->salt_len, secret, sizeof(secret), ctx, ctx_len, out,
	                       key_len);
out_wipe:
	vouch_wipe(secret, sizeof(secret));
	if (rc != VOUCH_OK)
		vouch_wipe(out, key_len);
	return rc;
}

/* ---- sending ---- */

/*
 * The header entries this file puts in a recipient's unprotected map, in the order the cose-wg
 * Examples use: alg (key wrap and direct only: their protected bucket MUST be empty, RFC 9053
 * §6.1.1, §6.2.1), the ephemeral key, kid.
 */
static void write_rcpt_entries(struct vouch_cbor_writer *w, int64_t alg,
                               const struct vouch_key *eph, const uint8_t *kid, size_t kid_len,
                               size_t *count)
{
	*count = 0;
	if (alg != 0) {
		vouch_cbor_write_int(w, VOUCH_COSE_HDR_ALG);
		vouch_cbor_write_int(w, alg);
		(*count)++;
	}
	if (eph != NULL) {
		vouch_cbor_write_int(w, VOUCH_COSE_HDR_EPHEMERAL_KEY);
		vouch_cose_key_write_public(w, eph, NULL, 0, 0);
		(*count)++;
	}
	if (kid != NULL) {
		vouch_cbor_write_int(w, VOUCH_COSE_HDR_KID);
		vouch_cbor_write_bstr(w, kid, kid_len);
		(*count)++;
	}
}

/*
 * The two header fields of an ECDH-ES recipient (alg protected; ephemeral key and kid
 * unprotected) into hdr, and the key they lead to: key_len bytes derived for alg_id.
 */
static int ecdh_sender(const struct vouch_cose_recipient *rcpt, int64_t alg_id, size_t key_len,
                       uint8_t *hdr, size_t hdr_cap, size_t *hdr_len, uint8_t *key_out)
{
	struct vouch_key fresh;
	const struct vouch_key *eph = rcpt->ephemeral;
	struct vouch_cose_headers rh;
	struct vouch_cbor_writer w;
	struct vouch_cbor_reader r;
	uint8_t entries[HDR_SCRATCH];
	size_t entries_len, n_entries;
	int rc = VOUCH_ERR_INTERNAL;

	*hdr_len = 0;
	vouch_key_init(&fresh);
	if (eph == NULL) {
		/* A new ephemeral key for every key agreement (RFC 9053 §6.3.1). */
		rc = vouch_key_generate(&fresh, VOUCH_KEY_P256);
		if (rc != VOUCH_OK)
			goto out_clear_key;
		eph = &fresh;
	}

	vouch_cbor_writer_init(&w, entries, sizeof(entries));
	write_rcpt_entries(&w, 0, eph, rcpt->kid, rcpt->kid_len, &n_entries);
	rc = vouch_cbor_writer_finish(&w, &entries_len);
	if (rc == VOUCH_OK) {
		vouch_cbor_writer_init(&w, hdr, hdr_cap);
		vouch_cose_headers_write(&w, rcpt->alg, NULL, NULL, 0, entries, entries_len,
		                         n_entries);
		rc = vouch_cbor_writer_finish(&w, hdr_len);
	}
	if (rc != VOUCH_OK) {
		if (rc == VOUCH_ERR_BUFFER)
			rc = VOUCH_ERR_CBOR_LIMIT; /* our scratch, not the caller's buffer */
		goto out_clear_key;
	}

	/* The KDF context takes the protected bstr exactly as it goes on the wire. */
	memset(&rh, 0, sizeof(rh));
	vouch_cbor_reader_init(&r, hdr, *hdr_len);
	rc = vouch_cbor_read_bstr(&r, &rh.protected_bstr, &rh.protected_len);
	if (rc != VOUCH_OK) {
		rc = VOUCH_ERR_INTERNAL;
		goto out_clear_key;
	}
	rc = ecdh_derive(eph, rcpt->peer, alg_id, key_len, &rh, key_out);

out_clear_key:
	vouch_key_clear(&fresh);
	if (rc != VOUCH_OK)
		*hdr_len = 0;
	return rc;
}

/* The recipient's algorithm must be one we know and the key given must be of its kind. */
static int check_recipient(const struct vouch_cose_recipient *rcpt)
{
	int64_t kw_alg;
	size_t kw_len;
	enum rcpt_kind kind = rcpt_kind(rcpt->alg, &kw_alg, &kw_len);

	if (kind == RCPT_UNKNOWN)
		return VOUCH_ERR_COSE_ALG;
	if (is_ecdh(kind)) {
		if (rcpt->peer == NULL)
			return rcpt->kek != NULL ? VOUCH_ERR_COSE_ALG : VOUCH_ERR_INVALID;
		if (rcpt->peer->type != VOUCH_KEY_P256)
			return VOUCH_ERR_COSE_ALG;
		return VOUCH_OK;
	}
	if (rcpt->kek == NULL)
		return rcpt->peer != NULL ? VOUCH_ERR_COSE_ALG : VOUCH_ERR_INVALID;
	if (kind == RCPT_KW && rcpt->kek_len != kw_len)
		return VOUCH_ERR_KEY;
	return VOUCH_OK;
}

/* One COSE_recipient for rcpt carrying cek. direct_hdr holds the headers already made for an
 * ECDH-ES direct recipient (whose key had to be known before the content was encrypted). */
static int write_recipient(struct vouch_cbor_writer *w, const struct vouch_cose_recipient *rcpt,
                           const uint8_t *cek, size_t cek_len, const uint8_t *direct_hdr,
                           size_t direct_hdr_len)
{
	uint8_t entries[HDR_SCRATCH];
	uint8_t hdr[HDR_SCRATCH];
	uint8_t kek[MAX_KEY];
	uint8_t wrapped[MAX_WRAP];
	struct vouch_cbor_writer ew;
	size_t entries_len, n_entries, hdr_len, kw_len;
	int64_t kw_alg;
	int rc = VOUCH_ERR_INTERNAL;

	vouch_cbor_write_array(w, 3);
	switch (rcpt_kind(rcpt->alg, &kw_alg, &kw_len)) {
	case RCPT_DIRECT:
	case RCPT_KW:
		vouch_cbor_writer_init(&ew, entries, sizeof(entries));
		write_rcpt_entries(&ew, rcpt->alg, NULL, rcpt->kid, rcpt->kid_len, &n_entries);
		rc = vouch_cbor_writer_finish(&ew, &entries_len);
		if (rc != VOUCH_OK)
			return rc == VOUCH_ERR_BUFFER ? VOUCH_ERR_CBOR_LIMIT : rc;
		vouch_cose_headers_write(w, 0, NULL, NULL, 0, entries, entries_len, n_entries);
		if (rcpt->alg == VOUCH_COSE_ALG_DIRECT) {
			vouch_cbor_write_bstr(w, NULL, 0);
			return w->err;
		}
		rc = vouch_aes_kw_wrap(rcpt->kek, rcpt->kek_len, cek, cek_len, wrapped);
		break;
	case RCPT_ECDH_DIRECT:
		vouch_cbor_write_raw(w, direct_hdr, direct_hdr_len);
		vouch_cbor_write_bstr(w, NULL, 0);
		return w->err;
	case RCPT_ECDH_KW:
		rc = ecdh_sender(rcpt, kw_alg, kw_len, hdr, sizeof(hdr), &hdr_len, kek);
		if (rc != VOUCH_OK)
			goto out_wipe;
		vouch_cbor_write_raw(w, hdr, hdr_len);
		rc = vouch_aes_kw_wrap(kek, kw_len, cek, cek_len, wrapped);
		break;
	default:
		return VOUCH_ERR_COSE_ALG;
	}
	if (rc == VOUCH_OK) {
		vouch_cbor_write_bstr(w, wrapped, cek_len + VOUCH_AES_KW_BLOCK);
		rc = w->err;
	}
out_wipe:
	vouch_wipe(kek, sizeof(kek));
	return rc;
}

int vouch_cose_encrypt_create(const struct vouch_cose_hdr_params *hp,
                              const struct vouch_cose_recipient *rcpt, size_t n_rcpt,
                              const uint8_t *pt, size_t pt_len, const uint8_t *external_aad,
                              size_t aad_len, bool tagged, uint8_t *out, size_t cap,
                              size_t *out_len)
{
	struct vouch_cose_aead_info info;
	struct vouch_cbor_writer w;
	uint8_t cek[MAX_KEY];
	uint8_t direct_hdr[HDR_SCRATCH];
	size_t direct_hdr_len = 0, n_direct = 0, kw_len;
	int64_t kw_alg;
	enum rcpt_kind kind0;
	int rc = VOUCH_ERR_INTERNAL;

	if (out_len == NULL)
		return VOUCH_ERR_INVALID;
	*out_len = 0;
	if (hp == NULL || rcpt == NULL || n_rcpt == 0 || out == NULL)
		return VOUCH_ERR_INVALID;
	if (vouch_cose_aead_info(hp->alg, &info) != VOUCH_OK)
		return VOUCH_ERR_COSE_ALG;
	/* A Partial IV needs a context IV, which this API does not carry for COSE_Encrypt. */
	if (hp->partial_iv != NULL)
		return VOUCH_ERR_INVALID;
	for (size_t i = 0; i < n_rcpt; i++) {
		rc = check_recipient(&rcpt[i]);
		if (rc != VOUCH_OK)
			return rc;
		kind0 = rcpt_kind(rcpt[i].alg, &kw_alg, &kw_len);
		if (kind0 == RCPT_DIRECT || kind0 == RCPT_ECDH_DIRECT)
			n_direct++;
	}
	/* The CEK of a direct recipient is that recipient's own key: nobody else can share it. */
	if (n_direct > 0 && n_rcpt > 1)
		return VOUCH_ERR_INVALID;

	kind0 = rcpt_kind(rcpt[0].alg, &kw_alg, &kw_len);
	if (kind0 == RCPT_DIRECT) {
		if (rcpt[0].kek_len != info.key_len)
			return VOUCH_ERR_KEY;
		memcpy(cek, rcpt[0].kek, info.key_len);
		rc = VOUCH_OK;
	} else if (kind0 == RCPT_ECDH_DIRECT) {
		rc = ecdh_sender(&rcpt[0], hp->alg, info.key_len, direct_hdr, sizeof(direct_hdr),
		                 &direct_hdr_len, cek);
	} else {
		rc = vouch_random(cek, info.key_len);
	}
	if (rc != VOUCH_OK)
		goto out_wipe;

	vouch_cbor_writer_init(&w, out, cap);
	if (tagged)
		vouch_cbor_write_tag(&w, VOUCH_COSE_TAG_ENCRYPT);
	vouch_cbor_write_array(&w, 4);
	rc = vouch_cose_enc_write_content(&w, "Encrypt", cek, info.key_len, hp, NULL, 0, pt, pt_len,
	                                  external_aad, aad_len);
	if (rc != VOUCH_OK)
		goto out_wipe;
	vouch_cbor_write_array(&w, n_rcpt);
	for (size_t i = 0; i < n_rcpt; i++) {
		rc = write_recipient(&w, &rcpt[i], cek, info.key_len, direct_hdr, direct_hdr_len);
		if (rc != VOUCH_OK)
			goto out_wipe;
	}
	rc = vouch_cbor_writer_finish(&w, out_len);

out_wipe:
	vouch_wipe(cek, sizeof(cek));
	return rc;
}

/* ---- receiving ---- */

/* One COSE_recipient as read from the message. */
struct rcpt_view {
	struct vouch_cose_headers hdr;
	const uint8_t *ct; /* NULL when nil */
	size_t ct_len;
	bool nested; /* carries recipients of its own */
};

static int read_recipient(struct vouch_cbor_reader *r, struct rcpt_view *rv)
{
	enum vouch_cbor_type type;
	size_t n;
	int rc = VOUCH_ERR_INTERNAL;

	memset(rv, 0, sizeof(*rv));
	rc = vouch_cbor_read_array(r, &n);
	if (rc != VOUCH_OK)
		return rc == VOUCH_ERR_CBOR_TYPE ? VOUCH_ERR_COSE_STRUCTURE : rc;
	if (n != 3 && n != 4)
		return VOUCH_ERR_COSE_STRUCTURE;
	rc = vouch_cose_headers_read(r, &rv->hdr);
	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_cbor_peek(r, &type);
	if (rc != VOUCH_OK)
		return rc;
	if (type == VOUCH_CBOR_NULL)
		rc = vouch_cbor_read_null(r);
	else if (type == VOUCH_CBOR_BSTR)
		rc = vouch_cbor_read_bstr(r, &rv->ct, &rv->ct_len);
	else
		rc = VOUCH_ERR_COSE_STRUCTURE;
	if (rc != VOUCH_OK || n == 3)
		return rc;

	rc = vouch_cbor_peek(r, &type);
	if (rc != VOUCH_OK)
		return rc;
	if (type != VOUCH_CBOR_ARRAY)
		return VOUCH_ERR_COSE_STRUCTURE;
	rv->nested = true;
	return vouch_cbor_skip(r);
}

int vouch_cose_encrypt_decode(const uint8_t *buf, size_t len, struct vouch_cose_encrypt *msg)
{
	struct vouch_cbor_reader r, rr;
	struct rcpt_view rv;
	enum vouch_cbor_type type;
	size_t n;
	int rc = VOUCH_ERR_INTERNAL;

	if (msg == NULL)
		return VOUCH_ERR_INVALID;
	memset(msg, 0, sizeof(*msg));
	if (buf == NULL)
		return VOUCH_ERR_INVALID;

	rc = vouch_cose_open(buf, len, VOUCH_COSE_TAG_ENCRYPT, 4, &r);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_cose_headers_read(&r, &msg->hdr);
	if (rc != VOUCH_OK)
		goto out_clear;
	rc = vouch_cbor_peek(&r, &type);
	if (rc != VOUCH_OK)
		goto out_clear;
	if (type != VOUCH_CBOR_BSTR) {
		/* Detached ciphertext (nil) has no place in this API. */
		rc = type == VOUCH_CBOR_NULL ? VOUCH_ERR_UNSUPPORTED : VOUCH_ERR_COSE_STRUCTURE;
		goto out_clear;
	}
	rc = vouch_cbor_read_bstr(&r, &msg->ciphertext, &msg->ciphertext_len);
	if (rc != VOUCH_OK)
		goto out_clear;

	rc = vouch_cbor_peek(&r, &type);
	if (rc != VOUCH_OK)
		goto out_clear;
	if (type != VOUCH_CBOR_ARRAY) {
		rc = VOUCH_ERR_COSE_STRUCTURE;
		goto out_clear;
	}
	rc = vouch_cbor_read_raw(&r, &msg->recipients, &msg->recipients_len);
	if (rc != VOUCH_OK)
		goto out_clear;

	/* Check every recipient's shape and headers now, so decrypt meets no surprises. */
	vouch_cbor_reader_init(&rr, msg->recipients, msg->recipients_len);
	rc = vouch_cbor_read_array(&rr, &n);
	if (rc != VOUCH_OK)
		goto out_clear;
	if (n == 0) {
		rc = VOUCH_ERR_COSE_STRUCTURE;
		goto out_clear;
	}
	for (size_t i = 0; i < n; i++) {
		rc = read_recipient(&rr, &rv);
		if (rc != VOUCH_OK)
			goto out_clear;
	}
	msg->n_recipients = n;
	return VOUCH_OK;

out_clear:
	memset(msg, 0, sizeof(*msg));
	return rc;
}

/* The ephemeral key of an ECDH-ES recipient as a P-256 public key handle. */
static int ephemeral_key(const struct rcpt_view *rv, struct vouch_key *peer)
{
	struct vouch_cose_key ck;
	int rc = VOUCH_ERR_INTERNAL;

	if (rv->hdr.ephemeral_key == NULL)
		return VOUCH_ERR_COSE_HEADER;
	rc = vouch_cose_key_decode(rv->hdr.ephemeral_key, rv->hdr.ephemeral_key_len, &ck);
	if (rc != VOUCH_OK)
		return rc;
	/* Other curves are valid COSE, just not in the crypto port. */
	if (ck.kty == VOUCH_COSE_KTY_OKP ||
	    (ck.kty == VOUCH_COSE_KTY_EC2 && ck.crv != VOUCH_COSE_CRV_P256))
		return VOUCH_ERR_UNSUPPORTED;
	if (ck.kty != VOUCH_COSE_KTY_EC2)
		return VOUCH_ERR_KEY;
	if (ck.has_alg && ck.alg != rv->hdr.alg)
		return VOUCH_ERR_COSE_ALG;
	return vouch_cose_key_to_public(&ck, peer);
}

/* AES-KW unwrap of the recipient's ciphertext into a CEK of the content algorithm's length. */
static int unwrap_cek(const uint8_t *kek, size_t kek_len, const struct rcpt_view *rv,
                      size_t cek_len, uint8_t *cek)
{
	/* A wrapped key of any other length would unwrap to a CEK the content cannot use. */
	if (rv->ct == NULL || rv->ct_len != cek_len + VOUCH_AES_KW_BLOCK)
		return VOUCH_ERR_KEY;
	return vouch_aes_kw_unwrap(kek, kek_len, rv->ct, rv->ct_len, cek);
}

static bool kid_matches(const struct vouch_cose_recipient_key *rk, const struct rcpt_view *rv)
{
	if (rk->kid == NULL)
		return true;
	return rv->hdr.kid != NULL && rv->hdr.kid_len == rk->kid_len &&
	       memcmp(rv->hdr.kid, rk->kid, rk->kid_len) == 0;
}

/* The CEK (info->key_len bytes) this recipient gives rk, or why it gives none. */
static int recipient_cek(const struct rcpt_view *rv, const struct vouch_cose_recipient_key *rk,
                         int64_t content_alg, const struct vouch_cose_aead_info *info, uint8_t *cek)
{
	struct vouch_key peer;
	uint8_t kek[MAX_KEY];
	enum rcpt_kind kind;
	int64_t kw_alg;
	size_t kw_len;
	int rc = VOUCH_ERR_INTERNAL;

	if (!kid_matches(rk, rv))
		return VOUCH_ERR_COSE_RECIPIENT;
	/* Three layers (RFC 9052 Appendix B) are legal COSE, but nothing here needs them. */
	if (rv->nested)
		return VOUCH_ERR_UNSUPPORTED;
	if (!rv->hdr.has_alg)
		return VOUCH_ERR_COSE_ALG;
	kind = rcpt_kind(rv->hdr.alg, &kw_alg, &kw_len);
	if (kind == RCPT_UNKNOWN)
		return VOUCH_ERR_COSE_ALG;

	if (!is_ecdh(kind)) {
		if (rk->secret == NULL)
			return VOUCH_ERR_COSE_ALG;
		if (!protected_is_empty(&rv->hdr))
			return VOUCH_ERR_COSE_HEADER;
		if (kind == RCPT_DIRECT) {
			if (rv->ct_len != 0)
				return VOUCH_ERR_COSE_STRUCTURE;
			if (rk->secret_len != info->key_len)
				return VOUCH_ERR_KEY;
			memcpy(cek, rk->secret, info->key_len);
			return VOUCH_OK;
		}
		if (rk->secret_len != kw_len)
			return VOUCH_ERR_KEY;
		return unwrap_cek(rk->secret, kw_len, rv, info->key_len, cek);
	}

	if (rk->priv == NULL || rk->priv->type != VOUCH_KEY_P256)
		return VOUCH_ERR_COSE_ALG;
	if (!vouch_key_is_private(rk->priv))
		return VOUCH_ERR_KEY;
	if (kind == RCPT_ECDH_DIRECT && rv->ct_len != 0)
		return VOUCH_ERR_COSE_STRUCTURE;
	vouch_key_init(&peer);
	rc = ephemeral_key(rv, &peer);
	if (rc != VOUCH_OK)
		goto out_clear;
	if (kind == RCPT_ECDH_DIRECT) {
		rc = ecdh_derive(rk->priv, &peer, content_alg, info->key_len, &rv->hdr, cek);
		goto out_clear;
	}
	rc = ecdh_derive(rk->priv, &peer, kw_alg, kw_len, &rv->hdr, kek);
	if (rc == VOUCH_OK)
		rc = unwrap_cek(kek, kw_len, rv, info->key_len, cek);
	vouch_wipe(kek, sizeof(kek));
out_clear:
	vouch_key_clear(&peer);
	return rc;
}

/* Failures that say nothing about the message: stop at once. */
static bool is_fatal(int err)
{
	return err == VOUCH_ERR_INVALID || err == VOUCH_ERR_NOMEM || err == VOUCH_ERR_INTERNAL ||
	       err == VOUCH_ERR_CRYPTO;
}

/* Which recipient failure to report when none worked: the one that got furthest. */
static int err_rank(int err)
{
	switch (err) {
	case VOUCH_ERR_COSE_RECIPIENT:
		return 1;
	case VOUCH_ERR_COSE_ALG:
		return 2;
	case VOUCH_ERR_UNSUPPORTED:
		return 3;
	case VOUCH_ERR_KEY:
		return 4;
	case VOUCH_ERR_VERIFY:
		return 6;
	default:
		return 5; /* malformed recipient */
	}
}

int vouch_cose_encrypt_decrypt(const struct vouch_cose_encrypt *msg,
                               const struct vouch_cose_recipient_key *rk,
                               const uint8_t *external_aad, size_t aad_len, uint8_t *pt,
                               size_t pt_cap, size_t *pt_len)
{
	struct vouch_cose_aead_info info;
	struct vouch_cbor_reader r;
	struct rcpt_view rv;
	uint8_t nonce[VOUCH_COSE_MAX_NONCE];
	uint8_t enc[VOUCH_COSE_MAX_ENC_STRUCTURE];
	uint8_t cek[MAX_KEY];
	size_t enc_len, n, count;
	int best = VOUCH_ERR_COSE_RECIPIENT;
	int rc = VOUCH_ERR_INTERNAL;

	if (pt_len == NULL)
		return VOUCH_ERR_INVALID;
	*pt_len = 0;
	if (msg == NULL || rk == NULL || pt == NULL || msg->ciphertext == NULL ||
	    msg->recipients == NULL || (external_aad == NULL && aad_len > 0))
		return VOUCH_ERR_INVALID;
	/* Exactly one kind of key: a private key for ECDH-ES or a secret for the others. */
	if ((rk->priv == NULL) == (rk->secret == NULL))
		return VOUCH_ERR_INVALID;

	if (!msg->hdr.has_alg || vouch_cose_aead_info(msg->hdr.alg, &info) != VOUCH_OK)
		return VOUCH_ERR_COSE_ALG;
	/* A Partial IV needs a context IV, which this API does not carry for COSE_Encrypt. */
	if (msg->hdr.iv == NULL && msg->hdr.partial_iv != NULL)
		return VOUCH_ERR_UNSUPPORTED;
	rc = vouch_cose_nonce(&msg->hdr, NULL, 0, nonce, info.nonce_len);
	if (rc != VOUCH_OK)
		return rc;
	if (msg->ciphertext_len < info.tag_len)
		return VOUCH_ERR_VERIFY;
	n = msg->ciphertext_len - info.tag_len;
	if (pt_cap < n)
		return VOUCH_ERR_BUFFER;
	rc = vouch_cose_enc_structure("Encrypt", msg->hdr.protected_bstr, msg->hdr.protected_len,
	                              external_aad, aad_len, enc, sizeof(enc), &enc_len);
	if (rc != VOUCH_OK)
		return rc == VOUCH_ERR_BUFFER ? VOUCH_ERR_CBOR_LIMIT : rc;

	vouch_cbor_reader_init(&r, msg->recipients, msg->recipients_len);
	rc = vouch_cbor_read_array(&r, &count);
	if (rc != VOUCH_OK)
		return rc;
	rc = best;
	for (size_t i = 0; i < count; i++) {
		rc = read_recipient(&r, &rv);
		if (rc != VOUCH_OK)
			break;
		rc = recipient_cek(&rv, rk, msg->hdr.alg, &info, cek);
		if (rc == VOUCH_OK) {
			rc = vouch_cose_aead_decrypt(msg->hdr.alg, cek, info.key_len, nonce, enc,
			                             enc_len, msg->ciphertext, msg->ciphertext_len,
			                             pt);
			vouch_wipe(cek, sizeof(cek));
			if (rc == VOUCH_OK) {
				*pt_len = n;
				return VOUCH_OK;
			}
		}
		if (is_fatal(rc))
			break;
		if (err_rank(rc) > err_rank(best))
			best = rc;
		rc = best;
	}
	vouch_wipe(cek, sizeof(cek));
	vouch_wipe(pt, n);
	return rc;
}
