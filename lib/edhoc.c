/*
 * EDHOC (RFC 9528), both roles, on the crypto port (include/vouch/edhoc.h, docs/edhoc.md).
 *
 * Nothing here allocates and no credential-sized buffer is ever copied: transcript hashes,
 * MACs (EDHOC_KDF over context_x) and signatures (over the Sig_structure) are computed over
 * lists of pieces (struct vouch_iov) that point at the parts where they already are, and the
 * plaintexts of messages 2 and 3 are built, hashed and encrypted in the output buffer.
 */
#include <string.h>

#include "vouch/cbor.h"
#include "vouch/cose.h"
#include "vouch/edhoc.h"
#include "vouch/oscore.h"

#define HASH_LEN VOUCH_EDHOC_HASH_LEN
#define KEY_LEN  16 /* AES-128 in every implemented suite */
#define SIG_LEN  64 /* ES256 (raw r || s) and Ed25519 */
#define ECC_LEN  32 /* G_X, G_Y: the x-coordinate / X25519 key of both curves */
#define MAX_IV   13
/* HKDF-Expand output limit; a longer PLAINTEXT_2 (RFC 9528 appendix G) is not supported. */
#define KDF_MAX_OUT   (255 * HASH_LEN)
#define KDF_MAX_PARTS 6

/* EDHOC_KDF labels (RFC 9528 figure 6, appendix H). */
enum {
	L_KEYSTREAM_2 = 0,
	L_SALT_3E2M = 1,
	L_MAC_2 = 2,
	L_K_3 = 3,
	L_IV_3 = 4,
	L_SALT_4E3M = 5,
	L_MAC_3 = 6,
	L_PRK_OUT = 7,
	L_K_4 = 8,
	L_IV_4 = 9,
	L_PRK_EXPORTER = 10,
	L_KEY_UPDATE = 11,
};

/* ---- cipher suites (RFC 9528 section 10.2) ---- */

struct suite_info {
	int32_t id;
	bool gcm;        /* EDHOC AEAD: AES-GCM-128, else AES-CCM-16-x-128 */
	uint8_t tag_len; /* of the EDHOC AEAD */
	uint8_t iv_len;
	uint8_t mac_len; /* EDHOC MAC length (static DH) */
	uint8_t ecdh;    /* enum vouch_key_type of the ECDH curve */
	uint8_t sign;    /* enum vouch_key_type of the signature algorithm's key */
};

static const struct suite_info suite_table[] = {
    {0, false, 8, 13, 8, VOUCH_KEY_X25519, VOUCH_KEY_ED25519},
    {1, false, 16, 13, 16, VOUCH_KEY_X25519, VOUCH_KEY_ED25519},
    {2, false, 8, 13, 8, VOUCH_KEY_P256, VOUCH_KEY_P256},
    {3, false, 16, 13, 16, VOUCH_KEY_P256, VOUCH_KEY_P256},
    {6, true, 16, 12, 16, VOUCH_KEY_X25519, VOUCH_KEY_P256},
};

static const struct suite_info *suite_find(int64_t id)
{
	for (size_t i = 0; i < VOUCH_ARRAY_LEN(suite_table); i++)
		if (suite_table[i].id == id)
			return &suite_table[i];
	return NULL;
}

/* Which side authenticates with a static DH key (RFC 9528 3.2). */
static bool i_static(unsigned method)
{
	return method == VOUCH_EDHOC_METHOD_STAT_SIG || method == VOUCH_EDHOC_METHOD_STAT_STAT;
}

static bool r_static(unsigned method)
{
	return method == VOUCH_EDHOC_METHOD_SIG_STAT || method == VOUCH_EDHOC_METHOD_STAT_STAT;
}

static enum vouch_key_type auth_type(const struct suite_info *s, bool stat)
{
	return (enum vouch_key_type)(stat ? s->ecdh : s->sign);
}

/* ---- keys ---- */

/* An ephemeral public key as sent (x only) into an empty handle. */
static int import_eph(struct vouch_key *key, enum vouch_key_type type, const uint8_t *x, size_t len)
{
	uint8_t pt[VOUCH_P256_COMPRESSED_LEN];
	int rc = VOUCH_ERR_INTERNAL;

	if (len != ECC_LEN)
		return VOUCH_ERR_EDHOC;
	if (type == VOUCH_KEY_X25519)
		return vouch_key_import_public(key, type, x, len);
	/* x only (RFC 9528 appendix B): either y gives the same ECDH result; the port
	 * decompresses the point and checks it is on the curve. */
	pt[0] = 0x02;
	memcpy(pt + 1, x, ECC_LEN);
	rc = vouch_key_import_public(key, type, pt, sizeof(pt));
	return rc;
}

/* The x-coordinate (P-256) or the key (X25519) of an ephemeral key, as sent. */
static int export_eph(const struct vouch_key *key, uint8_t x[ECC_LEN])
{
	uint8_t pub[VOUCH_P256_POINT_LEN];
	size_t len = 0;
	int rc = vouch_key_export_public(key, pub, sizeof(pub), &len);

	if (rc != VOUCH_OK)
		return rc;
	if (key->type == VOUCH_KEY_P256 && len == VOUCH_P256_POINT_LEN)
		memcpy(x, pub + 1, ECC_LEN);
	else if (key->type == VOUCH_KEY_X25519 && len == ECC_LEN)
		memcpy(x, pub, ECC_LEN);
	else
		return VOUCH_ERR_INTERNAL;
	return VOUCH_OK;
}

static int ecdh(const struct vouch_key *priv, const struct vouch_key *pub, uint8_t out[ECC_LEN])
{
	if (priv->type != pub->type)
		return VOUCH_ERR_KEY;
	if (priv->type == VOUCH_KEY_P256)
		return vouch_ecdh_p256(priv, pub, out);
	if (priv->type == VOUCH_KEY_X25519)
		return vouch_ecdh_x25519(priv, pub, out);
	return VOUCH_ERR_KEY;
}

/* PRK = EDHOC_Extract(salt, ECDH(priv, pub)). */
static int extract_dh(const uint8_t salt[HASH_LEN], const struct vouch_key *priv,
                      const struct vouch_key *pub, uint8_t prk[HASH_LEN])
{
	uint8_t ss[ECC_LEN];
	int rc = ecdh(priv, pub, ss);

	if (rc == VOUCH_OK)
		rc = vouch_hkdf_sha256_extract(salt, HASH_LEN, ss, sizeof(ss), prk);
	vouch_wipe(ss, sizeof(ss));
	return rc;
}

/* ---- CBOR pieces ---- */

static const uint8_t bstr32[2] = {0x58, 0x20}; /* the head of a 32-byte bstr (TH_x) */

/* Bytes a CBOR head with this argument takes in its shortest form. */
static size_t head_len(uint64_t arg)
{
	if (arg < 24)
		return 1;
	if (arg <= 0xff)
		return 2;
	if (arg <= 0xffff)
		return 3;
	if (arg <= 0xffffffffu)
		return 5;
	return 9;
}

static size_t enc_int(uint8_t buf[9], int64_t v)
{
	struct vouch_cbor_writer w;

	vouch_cbor_writer_init(&w, buf, 9);
	vouch_cbor_write_int(&w, v);
	return w.err == VOUCH_OK ? w.len : 0;
}

static size_t enc_bstr_head(uint8_t buf[9], size_t len)
{
	struct vouch_cbor_writer w;

	vouch_cbor_writer_init(&w, buf, 9);
	vouch_cbor_write_bstr_head(&w, len);
	return w.err == VOUCH_OK ? w.len : 0;
}

/* A byte string that is the one-byte encoding of an int in -24..23 goes on the wire as that
 * int (RFC 9528 3.3.2): connection identifiers and the compact kid. */
static bool ident_is_int(const uint8_t *c, size_t len)
{
	return len == 1 && (c[0] <= 0x17 || (c[0] >= 0x20 && c[0] <= 0x37));
}

static size_t ident_len(const uint8_t *c, size_t len)
{
	return ident_is_int(c, len) ? 1 : head_len(len) + len;
}

static void write_ident(struct vouch_cbor_writer *w, const uint8_t *c, size_t len)
{
	if (ident_is_int(c, len))
		vouch_cbor_write_raw(w, c, 1);
	else
		vouch_cbor_write_bstr(w, c, len);
}

/* A wrong type or an out-of-range integer in a message is a malformed EDHOC message. */
static int msg_err(int rc)
{
	return rc == VOUCH_ERR_CBOR_TYPE || rc == VOUCH_ERR_CBOR_LIMIT ? VOUCH_ERR_EDHOC : rc;
}

/* Typed reads that also insist on the shortest head (deterministic CBOR, RFC 9528 3.1). */
static int rd_int(struct vouch_cbor_reader *r, int64_t *v)
{
	size_t start = r->pos;
	int rc = vouch_cbor_read_int(r, v);

	if (rc != VOUCH_OK)
		return msg_err(rc);
	if (r->pos - start != head_len(*v >= 0 ? (uint64_t)*v : (uint64_t)(-1 - *v)))
		return VOUCH_ERR_CBOR_NONCANONICAL;
	return VOUCH_OK;
}

static int rd_bstr(struct vouch_cbor_reader *r, const uint8_t **p, size_t *len)
{
	size_t start = r->pos;
	int rc = vouch_cbor_read_bstr(r, p, len);

	if (rc != VOUCH_OK)
		return msg_err(rc);
	if (r->pos - start - *len != head_len(*len))
		return VOUCH_ERR_CBOR_NONCANONICAL;
	return VOUCH_OK;
}

static bool next_is(const struct vouch_cbor_reader *r, enum vouch_cbor_type want)
{
	enum vouch_cbor_type t;

	return vouch_cbor_peek(r, &t) == VOUCH_OK && t == want;
}

static bool next_is_int(const struct vouch_cbor_reader *r)
{
	return next_is(r, VOUCH_CBOR_UINT) || next_is(r, VOUCH_CBOR_NEGINT);
}

/* bstr / -24..23: an identifier in the representation of RFC 9528 3.3.2, at most max bytes. */
static int rd_ident(struct vouch_cbor_reader *r, size_t max, const uint8_t **p, size_t *len)
{
	int rc = VOUCH_ERR_EDHOC;

	*p = NULL;
	*len = 0;
	if (next_is_int(r)) {
		if (!ident_is_int(r->buf + r->pos, 1))
			return VOUCH_ERR_EDHOC;
		*p = r->buf + r->pos;
		*len = 1;
		r->pos++;
		return VOUCH_OK;
	}
	rc = rd_bstr(r, p, len);
	if (rc != VOUCH_OK)
		return rc;
	/* The byte-string form of a one-byte int encoding is not the representation. */
	if (*len > max || ident_is_int(*p, *len))
		return VOUCH_ERR_EDHOC;
	return VOUCH_OK;
}

/* ---- EAD (RFC 9528 3.8) ---- */

int vouch_edhoc_ead_next(const uint8_t *ead, size_t len, size_t *pos,
                         struct vouch_edhoc_ead_item *item)
{
	struct vouch_cbor_reader r;
	int rc = VOUCH_ERR_INTERNAL;

	if (item != NULL)
		memset(item, 0, sizeof(*item));
	if (ead == NULL || pos == NULL || item == NULL || *pos >= len)
		return VOUCH_ERR_INVALID;
	vouch_cbor_reader_init(&r, ead, len);
	r.pos = *pos;
	rc = rd_int(&r, &item->label);
	if (rc == VOUCH_OK && !vouch_cbor_reader_done(&r) && next_is(&r, VOUCH_CBOR_BSTR))
		rc = rd_bstr(&r, &item->value, &item->value_len);
	if (rc != VOUCH_OK) {
		memset(item, 0, sizeof(*item));
		return rc;
	}
	*pos = r.pos;
	return VOUCH_OK;
}

static bool ead_label_known(const struct vouch_edhoc *ctx, int64_t label)
{
	/* |label| without overflow at INT64_MIN */
	uint64_t abs = label < 0 ? (uint64_t)(-(label + 1)) + 1 : (uint64_t)label;

	for (size_t i = 0; i < ctx->n_ead_labels; i++)
		if (ctx->ead_labels[i] >= 0 && (uint64_t)ctx->ead_labels[i] == abs)
			return true;
	return false;
}

/* An EAD field: a well-formed sequence of items (ctx == NULL), and with ctx, no critical item
 * this side does not understand. */
static int ead_check(const struct vouch_edhoc *ctx, const uint8_t *ead, size_t len)
{
	struct vouch_edhoc_ead_item item;
	int rc = VOUCH_OK;

	if (len > VOUCH_EDHOC_MAX_EAD)
		return VOUCH_ERR_EDHOC;
	for (size_t pos = 0; pos < len && rc == VOUCH_OK;) {
		rc = vouch_edhoc_ead_next(ead, len, &pos, &item);
		if (rc == VOUCH_OK && ctx != NULL && item.label < 0 &&
		    !ead_label_known(ctx, item.label))
			rc = VOUCH_ERR_UNSUPPORTED;
	}
	return rc;
}

/* EAD the caller gives us to send: NULL/0 or a well-formed field. */
static bool ead_arg_ok(const uint8_t *ead, size_t len)
{
	if (len == 0)
		return true;
	return ead != NULL && ead_check(NULL, ead, len) == VOUCH_OK;
}

static void ead_out(const uint8_t *ead, size_t len, const uint8_t **p, size_t *p_len)
{
	if (p != NULL)
		*p = len > 0 ? ead : NULL;
	if (p_len != NULL)
		*p_len = len;
}

/* ---- EDHOC_KDF (RFC 9528 4.1.2) ----
 *
 * HKDF-Expand(PRK, info, length) with info = (label: int, context: bstr, length: uint), written
 * out over the port's HMAC (RFC 5869 2.3) so that the context (context_2 holds a whole CRED_R)
 * is taken in pieces where it lies instead of being copied into one info buffer, and so that
 * KEYSTREAM_2 is applied block by block. xor: out ^= OKM instead of out = OKM.
 */
static int kdf(const uint8_t prk[HASH_LEN], int64_t label, const struct vouch_iov *parts,
               size_t n_parts, uint8_t *out, size_t len, bool xor)
{
	struct vouch_iov iov[KDF_MAX_PARTS + 4];
	uint8_t pre[18], post[9], t[HASH_LEN];
	size_t ctx_len = 0, pre_len, post_len, done = 0;
	uint8_t counter = 1;
	int rc = VOUCH_ERR_INTERNAL;

	if (n_parts > KDF_MAX_PARTS || len > KDF_MAX_OUT)
		return VOUCH_ERR_INTERNAL;
	for (size_t i = 0; i < n_parts; i++)
		ctx_len += parts[i].len;
	pre_len = enc_int(pre, label);
	pre_len += enc_bstr_head(pre + pre_len, ctx_len);
	post_len = enc_int(post, (int64_t)len);
	rc = VOUCH_OK;
	while (done < len && rc == VOUCH_OK) {
		size_t n = 0, take = len - done < HASH_LEN ? len - done : HASH_LEN;

		if (counter > 1)
			iov[n++] = (struct vouch_iov){t, HASH_LEN};
		iov[n++] = (struct vouch_iov){pre, pre_len};
		for (size_t i = 0; i < n_parts; i++)
			iov[n++] = parts[i];
		iov[n++] = (struct vouch_iov){post, post_len};
		iov[n++] = (struct vouch_iov){&counter, 1};
		rc = vouch_hmac_sha256_v(prk, HASH_LEN, iov, n, t);
		for (size_t i = 0; rc == VOUCH_OK && i < take; i++)
			out[done + i] = xor? out[done + i] ^ t[i] : t[i];
		done += take;
		counter++;
	}
	vouch_wipe(t, sizeof(t));
	return rc;
}

static int kdf_th(const uint8_t prk[HASH_LEN], int64_t label, const uint8_t th[HASH_LEN],
                  uint8_t *out, size_t len)
{
	const struct vouch_iov part = {th, HASH_LEN};

	return kdf(prk, label, &part, 1, out, len, false);
}

/* th = H(bstr(th), plaintext, cred): TH_3 from TH_2, TH_4 from TH_3 (RFC 9528 5.3.2, 5.4.2). */
static int transcript(uint8_t th[HASH_LEN], const uint8_t *pt, size_t pt_len, const uint8_t *cred,
                      size_t cred_len)
{
	const struct vouch_iov iov[4] = {
	    {bstr32, 2}, {th, HASH_LEN}, {pt, pt_len}, {cred, cred_len}};
	uint8_t h[HASH_LEN];
	int rc = vouch_sha256_v(iov, VOUCH_ARRAY_LEN(iov), h);

	if (rc == VOUCH_OK)
		memcpy(th, h, HASH_LEN);
	return rc;
}

/* TH_2 = H(G_Y, H(message_1)) as the CBOR sequence of two byte strings. */
static int th_2(const uint8_t g_y[ECC_LEN], const uint8_t h_m1[HASH_LEN], uint8_t th[HASH_LEN])
{
	const struct vouch_iov iov[4] = {
	    {bstr32, 2}, {g_y, ECC_LEN}, {bstr32, 2}, {h_m1, HASH_LEN}};

	return vouch_sha256_v(iov, VOUCH_ARRAY_LEN(iov), th);
}

/* ---- MAC_2 / MAC_3 and Signature_or_MAC ---- */

/* What context_x = << [C_R,] ID_CRED_x, TH_x, CRED_x, ? EAD_x >> and the Sig_structure hold. */
struct auth_parts {
	const uint8_t *c_r; /* message_2 only: C_R as encoded */
	size_t c_r_len;
	const uint8_t *id_cred; /* the full map, never the compact form */
	size_t id_cred_len;
	const uint8_t *th;
	const uint8_t *cred;
	size_t cred_len;
	const uint8_t *ead;
	size_t ead_len;
};

static int auth_mac(const uint8_t prk[HASH_LEN], int64_t label, const struct auth_parts *a,
                    uint8_t *mac, size_t mac_len)
{
	struct vouch_iov iov[KDF_MAX_PARTS];
	size_t n = 0;

	if (a->c_r_len > 0)
		iov[n++] = (struct vouch_iov){a->c_r, a->c_r_len};
	iov[n++] = (struct vouch_iov){a->id_cred, a->id_cred_len};
	iov[n++] = (struct vouch_iov){bstr32, 2};
	iov[n++] = (struct vouch_iov){a->th, HASH_LEN};
	iov[n++] = (struct vouch_iov){a->cred, a->cred_len};
	if (a->ead_len > 0)
		iov[n++] = (struct vouch_iov){a->ead, a->ead_len};
	return kdf(prk, label, iov, n, mac, mac_len, false);
}

struct sig_heads {
	uint8_t prot[9], aad[9], payload[9];
};

/* ["Signature1", << ID_CRED_x >>, << TH_x, CRED_x, ? EAD_x >>, MAC_x] (RFC 9528 5.3.2) */
static size_t sig_iov(const struct auth_parts *a, const uint8_t *mac, size_t mac_len,
                      struct sig_heads *h, struct vouch_iov iov[11])
{
	static const uint8_t sig1[12] = {0x84, 0x6a, 'S', 'i', 'g', 'n',
	                                 'a',  't',  'u', 'r', 'e', '1'};
	size_t n = 0;

	iov[n++] = (struct vouch_iov){sig1, sizeof(sig1)};
	iov[n++] = (struct vouch_iov){h->prot, enc_bstr_head(h->prot, a->id_cred_len)};
	iov[n++] = (struct vouch_iov){a->id_cred, a->id_cred_len};
	iov[n++] = (struct vouch_iov){
	    h->aad, enc_bstr_head(h->aad, 2 + HASH_LEN + a->cred_len + a->ead_len)};
	iov[n++] = (struct vouch_iov){bstr32, 2};
	iov[n++] = (struct vouch_iov){a->th, HASH_LEN};
	iov[n++] = (struct vouch_iov){a->cred, a->cred_len};
	if (a->ead_len > 0)
		iov[n++] = (struct vouch_iov){a->ead, a->ead_len};
	iov[n++] = (struct vouch_iov){h->payload, enc_bstr_head(h->payload, mac_len)};
	iov[n++] = (struct vouch_iov){mac, mac_len};
	return n;
}

static int auth_sign(const struct vouch_key *key, const struct auth_parts *a, const uint8_t *mac,
                     size_t mac_len, uint8_t sig[SIG_LEN])
{
	struct vouch_iov iov[11];
	struct sig_heads h;
	size_t n = sig_iov(a, mac, mac_len, &h, iov), sig_len = 0;
	int rc = vouch_sign(key, iov, n, sig, SIG_LEN, &sig_len);

	if (rc == VOUCH_OK && sig_len != SIG_LEN)
		rc = VOUCH_ERR_INTERNAL;
	return rc;
}

static int auth_verify(const struct vouch_key *key, const struct auth_parts *a, const uint8_t *mac,
                       size_t mac_len, const uint8_t *sig, size_t sig_len)
{
	struct vouch_iov iov[11];
	struct sig_heads h;
	size_t n = sig_iov(a, mac, mac_len, &h, iov);

	return vouch_verify(key, iov, n, sig, sig_len) == VOUCH_OK ? VOUCH_OK : VOUCH_ERR_VERIFY;
}

/* ---- messages 3 and 4: COSE_Encrypt0 with A = ["Encrypt0", h'', TH_x] ---- */

static int msg_keys(const uint8_t prk[HASH_LEN], int64_t label_k, const uint8_t th[HASH_LEN],
                    const struct suite_info *s, uint8_t k[KEY_LEN], uint8_t iv[MAX_IV])
{
	int rc = kdf_th(prk, label_k, th, k, KEY_LEN);

	if (rc == VOUCH_OK)
		rc = kdf_th(prk, label_k + 1, th, iv, s->iv_len);
	return rc;
}

/* Seal pt_len bytes of buf in place (the tag follows), or open len bytes (tag included). */
static int aead(const struct suite_info *s, bool seal, const uint8_t prk[HASH_LEN], int64_t label_k,
                const uint8_t th[HASH_LEN], uint8_t *buf, size_t len)
{
	static const uint8_t enc0[13] = {0x83, 0x68, 'E', 'n',  'c',  'r', 'y',
	                                 'p',  't',  '0', 0x40, 0x58, 0x20};
	uint8_t aad[sizeof(enc0) + HASH_LEN], k[KEY_LEN], iv[MAX_IV];
	int rc = msg_keys(prk, label_k, th, s, k, iv);

	memcpy(aad, enc0, sizeof(enc0));
	memcpy(aad + sizeof(enc0), th, HASH_LEN);
	if (rc != VOUCH_OK)
		goto out_wipe;
	if (s->gcm)
		rc = seal ? vouch_aes_gcm_encrypt(k, KEY_LEN, iv, s->iv_len, aad, sizeof(aad), buf,
		                                  len, s->tag_len, buf)
		          : vouch_aes_gcm_decrypt(k, KEY_LEN, iv, s->iv_len, aad, sizeof(aad), buf,
		                                  len, s->tag_len, buf);
	else
		rc = seal ? vouch_aes_ccm_encrypt(k, KEY_LEN, iv, s->iv_len, aad, sizeof(aad), buf,
		                                  len, s->tag_len, buf)
		          : vouch_aes_ccm_decrypt(k, KEY_LEN, iv, s->iv_len, aad, sizeof(aad), buf,
		                                  len, s->tag_len, buf);
out_wipe:
	vouch_wipe(k, sizeof(k));
	vouch_wipe(iv, sizeof(iv));
	return rc;
}

/* ---- session bookkeeping ---- */

static void drop_secrets(struct vouch_edhoc *ctx)
{
	vouch_key_clear(&ctx->eph);
	vouch_key_clear(&ctx->peer_eph);
	vouch_key_clear(&ctx->peer_key);
	vouch_wipe(ctx->th, sizeof(ctx->th));
	vouch_wipe(ctx->prk_3e2m, sizeof(ctx->prk_3e2m));
	vouch_wipe(ctx->prk_4e3m, sizeof(ctx->prk_4e3m));
	vouch_wipe(ctx->prk_out, sizeof(ctx->prk_out));
	vouch_wipe(ctx->prk_exporter, sizeof(ctx->prk_exporter));
	vouch_wipe(ctx->peer_kid_map, sizeof(ctx->peer_kid_map));
	ctx->peer_cred = ctx->peer_id_cred = NULL;
	ctx->peer_cred_len = ctx->peer_id_cred_len = 0;
	ctx->eph_preset = false;
	ctx->peer_set = false;
}

/* A failure: the session is over and holds no secret any more. What write_error needs (role,
 * SUITES_R, whether an answer is allowed) stays. */
static void fail(struct vouch_edhoc *ctx)
{
	drop_secrets(ctx);
	ctx->c_peer_set = false;
	ctx->state = VOUCH_EDHOC_S_ABORTED;
}

static bool has_keys(const struct vouch_edhoc *ctx)
{
	return ctx->state == VOUCH_EDHOC_S_COMPLETED || ctx->state == VOUCH_EDHOC_S_PERSISTED;
}

/* Enter a step that needs this role and state. A call out of order aborts a session in
 * progress; a completed session keeps its keys (a late or replayed message changes nothing). */
static int enter(struct vouch_edhoc *ctx, enum vouch_edhoc_role role, enum vouch_edhoc_state want)
{
	if (ctx->role == role && ctx->state == want)
		return VOUCH_OK;
	if (ctx->state != VOUCH_EDHOC_S_NONE && !has_keys(ctx) &&
	    ctx->state != VOUCH_EDHOC_S_ABORTED) {
		ctx->may_send_error = false;
		fail(ctx);
	}
	return VOUCH_ERR_EDHOC_STATE;
}

/* The private-key step ahead of a message must fit the own key to the method and suite. */
static bool own_key_fits(const struct vouch_edhoc *ctx, const struct suite_info *s, bool stat)
{
	return ctx->own_key->type == auth_type(s, stat);
}

/* A suite the responder accepts for this method: configured, and its own key fits it. */
static bool resp_usable(const struct vouch_edhoc *ctx, int64_t suite, int64_t method)
{
	const struct suite_info *s = suite_find(suite);

	if (s == NULL || method < 0 || method > 3)
		return false;
	for (size_t i = 0; i < ctx->n_suites; i++)
		if (ctx->suites[i] == suite)
			return own_key_fits(ctx, s, r_static((unsigned)method));
	return false;
}

int vouch_edhoc_init(struct vouch_edhoc *ctx, const struct vouch_edhoc_config *cfg)
{
	struct vouch_cbor_reader r;
	int64_t label;
	size_t n;

	if (ctx == NULL)
		return VOUCH_ERR_INVALID;
	memset(ctx, 0, sizeof(*ctx));
	vouch_key_init(&ctx->eph);
	vouch_key_init(&ctx->peer_eph);
	vouch_key_init(&ctx->peer_key);
	if (cfg == NULL ||
	    (cfg->role != VOUCH_EDHOC_INITIATOR && cfg->role != VOUCH_EDHOC_RESPONDER) ||
	    cfg->methods == 0 || (cfg->methods & ~VOUCH_EDHOC_METHODS_ALL) != 0 ||
	    (cfg->role == VOUCH_EDHOC_INITIATOR && (cfg->methods & (cfg->methods - 1)) != 0))
		return VOUCH_ERR_INVALID;
	if (cfg->suites == NULL || cfg->n_suites == 0 || cfg->n_suites > VOUCH_EDHOC_MAX_SUITES)
		return VOUCH_ERR_INVALID;
	for (size_t i = 0; i < cfg->n_suites; i++) {
		if (suite_find(cfg->suites[i]) == NULL)
			return VOUCH_ERR_UNSUPPORTED;
		for (size_t j = 0; j < i; j++)
			if (cfg->suites[j] == cfg->suites[i])
				return VOUCH_ERR_INVALID;
		ctx->suites[i] = cfg->suites[i];
	}
	if (!vouch_key_is_private(cfg->key) || cfg->cred == NULL || cfg->cred_len == 0 ||
	    cfg->cred_len > VOUCH_EDHOC_MAX_CRED || cfg->id_cred == NULL || cfg->id_cred_len == 0 ||
	    cfg->id_cred_len > VOUCH_EDHOC_MAX_ID_CRED ||
	    (cfg->ead_labels == NULL && cfg->n_ead_labels > 0))
		return VOUCH_ERR_INVALID;
	if (vouch_cbor_validate(cfg->cred, cfg->cred_len, NULL) != VOUCH_OK ||
	    vouch_cbor_validate(cfg->id_cred, cfg->id_cred_len, NULL) != VOUCH_OK)
		return VOUCH_ERR_INVALID;
	vouch_cbor_reader_init(&r, cfg->id_cred, cfg->id_cred_len);
	if (vouch_cbor_read_map(&r, &n) != VOUCH_OK || n == 0)
		return VOUCH_ERR_INVALID;
	/* ID_CRED_x = {4: kid} alone goes in the compact form (RFC 9528 3.5.3.2). */
	if (n == 1 && vouch_cbor_read_int(&r, &label) == VOUCH_OK && label == VOUCH_EDHOC_ID_KID &&
	    vouch_cbor_read_bstr(&r, &ctx->own_kid, &ctx->own_kid_len) != VOUCH_OK)
		return VOUCH_ERR_INVALID;

	ctx->role = (uint8_t)cfg->role;
	ctx->methods = (uint8_t)cfg->methods;
	for (unsigned m = 0; m < 4; m++)
		if (cfg->methods & VOUCH_EDHOC_METHOD_BIT(m)) {
			ctx->method = (uint8_t)m;
			break;
		}
	ctx->n_suites = (uint8_t)cfg->n_suites;
	ctx->suite = ctx->suites[0];
	ctx->own_key = cfg->key;
	ctx->own_cred = cfg->cred;
	ctx->own_cred_len = cfg->cred_len;
	ctx->own_id_cred = cfg->id_cred;
	ctx->own_id_cred_len = cfg->id_cred_len;
	ctx->resolve = cfg->resolve;
	ctx->resolve_arg = cfg->resolve_arg;
	ctx->ead_labels = cfg->ead_labels;
	ctx->n_ead_labels = cfg->n_ead_labels;
	ctx->state =
	    cfg->role == VOUCH_EDHOC_INITIATOR ? VOUCH_EDHOC_S_START : VOUCH_EDHOC_S_WAIT_M1;
	return VOUCH_OK;
}

void vouch_edhoc_clear(struct vouch_edhoc *ctx)
{
	if (ctx == NULL)
		return;
	vouch_key_clear(&ctx->eph);
	vouch_key_clear(&ctx->peer_eph);
	vouch_key_clear(&ctx->peer_key);
	vouch_wipe(ctx, sizeof(*ctx));
	vouch_key_init(&ctx->eph);
	vouch_key_init(&ctx->peer_eph);
	vouch_key_init(&ctx->peer_key);
}

void vouch_edhoc_abort(struct vouch_edhoc *ctx)
{
	if (ctx != NULL && ctx->state != VOUCH_EDHOC_S_NONE)
		fail(ctx);
}

enum vouch_edhoc_state vouch_edhoc_state(const struct vouch_edhoc *ctx)
{
	return ctx != NULL ? (enum vouch_edhoc_state)ctx->state : VOUCH_EDHOC_S_NONE;
}

int vouch_edhoc_set_ephemeral(struct vouch_edhoc *ctx, const uint8_t *priv, size_t len)
{
	const struct suite_info *s;
	int rc = VOUCH_ERR_INVALID;

	if (ctx == NULL || priv == NULL)
		return VOUCH_ERR_INVALID;
	if (ctx->role == VOUCH_EDHOC_INITIATOR && ctx->state == VOUCH_EDHOC_S_START)
		s = suite_find(ctx->suites[ctx->sel]);
	else if (ctx->role == VOUCH_EDHOC_RESPONDER && ctx->state == VOUCH_EDHOC_S_RCVD_M1)
		s = suite_find(ctx->suite);
	else
		return VOUCH_ERR_EDHOC_STATE;
	vouch_key_clear(&ctx->eph);
	ctx->eph_preset = false;
	rc = vouch_key_import_private(&ctx->eph, (enum vouch_key_type)s->ecdh, priv, len);
	if (rc == VOUCH_OK)
		ctx->eph_preset = true;
	return rc;
}

/* The ephemeral key of the message being written: the test hook's, or a fresh one. */
static int make_eph(struct vouch_edhoc *ctx, const struct suite_info *s, uint8_t g[ECC_LEN])
{
	int rc = VOUCH_OK;

	if (!ctx->eph_preset) {
		vouch_key_clear(&ctx->eph);
		rc = vouch_key_generate(&ctx->eph, (enum vouch_key_type)s->ecdh);
	}
	ctx->eph_preset = false;
	if (rc == VOUCH_OK)
		rc = export_eph(&ctx->eph, g);
	return rc;
}

/* ---- error messages (RFC 9528 section 6) ---- */

int vouch_edhoc_error_encode(int64_t code, const char *diag, const int32_t *suites, size_t n_suites,
                             uint8_t *out, size_t cap, size_t *out_len)
{
	struct vouch_cbor_writer w;

	if (out_len != NULL)
		*out_len = 0;
	if (out == NULL || out_len == NULL)
		return VOUCH_ERR_INVALID;
	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_int(&w, code);
	switch (code) {
	case VOUCH_EDHOC_ERR_UNSPECIFIED:
		if (diag == NULL)
			return VOUCH_ERR_INVALID;
		vouch_cbor_write_cstr(&w, diag);
		break;
	case VOUCH_EDHOC_ERR_WRONG_SUITE:
		if (suites == NULL || n_suites == 0)
			return VOUCH_ERR_INVALID;
		if (n_suites > 1)
			vouch_cbor_write_array(&w, n_suites);
		for (size_t i = 0; i < n_suites; i++)
			vouch_cbor_write_int(&w, suites[i]);
		break;
	case VOUCH_EDHOC_ERR_UNKNOWN_CRED:
		vouch_cbor_write_bool(&w, true);
		break;
	default:
		return VOUCH_ERR_INVALID;
	}
	return vouch_cbor_writer_finish(&w, out_len);
}

int vouch_edhoc_write_error(struct vouch_edhoc *ctx, const char *diag, uint8_t *out, size_t cap,
                            size_t *out_len)
{
	int rc = VOUCH_ERR_INVALID;

	if (out_len != NULL)
		*out_len = 0;
	if (ctx == NULL || out == NULL || out_len == NULL)
		return VOUCH_ERR_INVALID;
	if (ctx->state == VOUCH_EDHOC_S_NONE || ctx->state == VOUCH_EDHOC_S_PERSISTED ||
	    !ctx->may_send_error)
		return VOUCH_ERR_EDHOC_STATE;
	if (ctx->suite_failed)
		rc = vouch_edhoc_error_encode(VOUCH_EDHOC_ERR_WRONG_SUITE, NULL, ctx->suites_r,
		                              ctx->n_suites_r, out, cap, out_len);
	else
		rc = vouch_edhoc_error_encode(VOUCH_EDHOC_ERR_UNSPECIFIED,
		                              diag != NULL ? diag : "EDHOC processing failed", NULL,
		                              0, out, cap, out_len);
	if (rc != VOUCH_OK)
		return rc;
	ctx->may_send_error = false;
	fail(ctx);
	return VOUCH_OK;
}

static bool is_error_msg(const uint8_t *msg, size_t len)
{
	/* Messages 2 to 4 are a bstr; an error message starts with ERR_CODE, an int. */
	return len > 0 && (msg[0] >> 5) <= 1;
}

/* Decode a received error message into ctx. VOUCH_ERR_EDHOC_ERROR when it is one, a decoding
 * error when it is malformed. */
static int decode_error(struct vouch_edhoc *ctx, const uint8_t *msg, size_t len)
{
	struct vouch_cbor_reader r;
	int64_t code = 0, v;
	size_t n;
	bool t;
	int rc = VOUCH_ERR_INTERNAL;

	ctx->err_code = 0;
	ctx->err_diag = NULL;
	ctx->err_diag_len = 0;
	ctx->n_suites_r = 0;
	vouch_cbor_reader_init(&r, msg, len);
	rc = rd_int(&r, &code);
	if (rc != VOUCH_OK)
		return rc;
	switch (code) {
	case VOUCH_EDHOC_ERR_UNSPECIFIED:
		rc = msg_err(vouch_cbor_read_tstr(&r, &ctx->err_diag, &ctx->err_diag_len));
		break;
	case VOUCH_EDHOC_ERR_WRONG_SUITE:
		if (next_is_int(&r)) {
			n = 1;
		} else {
			rc = msg_err(vouch_cbor_read_array(&r, &n));
			if (rc != VOUCH_OK)
				break;
			if (n < 2 || n > VOUCH_EDHOC_MAX_SUITES) {
				rc = VOUCH_ERR_EDHOC;
				break;
			}
		}
		for (size_t i = 0; i < n && rc != VOUCH_ERR_EDHOC; i++) {
			rc = rd_int(&r, &v);
			if (rc != VOUCH_OK)
				break;
			if (v >= INT32_MIN && v <= INT32_MAX)
				ctx->suites_r[ctx->n_suites_r++] = (int32_t)v;
		}
		break;
	case VOUCH_EDHOC_ERR_UNKNOWN_CRED:
		rc = msg_err(vouch_cbor_read_bool(&r, &t));
		if (rc == VOUCH_OK && !t)
			rc = VOUCH_ERR_EDHOC;
		break;
	default: /* 0 and codes this side does not know: ERR_INFO is any one item */
		rc = msg_err(vouch_cbor_skip(&r));
		break;
	}
	if (rc == VOUCH_OK && !vouch_cbor_reader_done(&r))
		rc = VOUCH_ERR_CBOR_TRAILING;
	if (rc != VOUCH_OK) {
		ctx->err_diag = NULL;
		ctx->err_diag_len = 0;
		ctx->n_suites_r = 0;
		return rc;
	}
	ctx->err_code = code;
	return VOUCH_ERR_EDHOC_ERROR;
}

/* An error message ends the session, except that an initiator told its selected suite is
 * refused goes back to START with the most preferred of its suites the responder lists (RFC
 * 9528 6.3.2), at most once per suite it has. */
static int on_error(struct vouch_edhoc *ctx, const uint8_t *msg, size_t len)
{
	int rc = decode_error(ctx, msg, len);

	ctx->may_send_error = false;
	if (rc == VOUCH_ERR_EDHOC_ERROR && ctx->role == VOUCH_EDHOC_INITIATOR &&
	    ctx->state == VOUCH_EDHOC_S_WAIT_M2 && ctx->err_code == VOUCH_EDHOC_ERR_WRONG_SUITE &&
	    ctx->retries < ctx->n_suites) {
		for (size_t i = 0; i < ctx->n_suites; i++) {
			bool listed = false;

			for (size_t j = 0; j < ctx->n_suites_r; j++)
				listed = listed || ctx->suites_r[j] == ctx->suites[i];
			if (!listed)
				continue;
			if (i == ctx->sel)
				break; /* it refuses what it says it supports */
			drop_secrets(ctx);
			ctx->sel = (uint8_t)i;
			ctx->suite = ctx->suites[i];
			ctx->retries++;
			ctx->state = VOUCH_EDHOC_S_START;
			return rc;
		}
	}
	fail(ctx);
	return rc;
}

int vouch_edhoc_read_error(struct vouch_edhoc *ctx, const uint8_t *msg, size_t len)
{
	if (ctx == NULL || (msg == NULL && len > 0))
		return VOUCH_ERR_INVALID;
	if (ctx->state == VOUCH_EDHOC_S_NONE || ctx->state == VOUCH_EDHOC_S_ABORTED ||
	    ctx->state == VOUCH_EDHOC_S_PERSISTED)
		return VOUCH_ERR_EDHOC_STATE;
	return on_error(ctx, msg, len);
}

int vouch_edhoc_peer_error(const struct vouch_edhoc *ctx, int64_t *code, const char **diag,
                           size_t *diag_len)
{
	if (code != NULL)
		*code = 0;
	if (diag != NULL)
		*diag = NULL;
	if (diag_len != NULL)
		*diag_len = 0;
	if (ctx == NULL || code == NULL)
		return VOUCH_ERR_INVALID;
	if (ctx->err_code == 0)
		return VOUCH_ERR_EDHOC_STATE;
	*code = ctx->err_code;
	if (diag != NULL)
		*diag = ctx->err_diag;
	if (diag_len != NULL)
		*diag_len = ctx->err_diag_len;
	return VOUCH_OK;
}

bool vouch_edhoc_can_retry(const struct vouch_edhoc *ctx)
{
	return ctx != NULL && ctx->role == VOUCH_EDHOC_INITIATOR &&
	       ctx->state == VOUCH_EDHOC_S_START && ctx->retries > 0;
}

/* ---- received plaintexts: PLAINTEXT_2 and PLAINTEXT_3 ---- */

struct plain {
	const uint8_t *c; /* message_2: C_R, as bytes and as encoded */
	size_t c_len;
	const uint8_t *c_enc;
	size_t c_enc_len;
	const uint8_t *id_map; /* ID_CRED_x as a full map */
	size_t id_map_len;
	const uint8_t *kid; /* its kid, when it has one */
	size_t kid_len;
	const uint8_t *ccs; /* its kccs, when it has one */
	size_t ccs_len;
	const uint8_t *som; /* Signature_or_MAC_x */
	size_t som_len;
	const uint8_t *ead;
	size_t ead_len;
};

/* An ID_CRED_x sent as a map. */
static int read_id_map(struct vouch_cbor_reader *r, struct plain *p)
{
	struct vouch_cbor_reader m;
	int64_t label;
	size_t n;
	int rc = msg_err(vouch_cbor_read_raw(r, &p->id_map, &p->id_map_len));

	if (rc != VOUCH_OK)
		return rc;
	rc = vouch_cbor_validate(p->id_map, p->id_map_len, NULL);
	if (rc != VOUCH_OK)
		return rc;
	if (p->id_map_len > VOUCH_EDHOC_MAX_ID_CRED)
		return VOUCH_ERR_EDHOC;
	vouch_cbor_reader_init(&m, p->id_map, p->id_map_len);
	rc = vouch_cbor_read_map(&m, &n);
	if (rc != VOUCH_OK || n == 0)
		return VOUCH_ERR_EDHOC;
	for (size_t i = 0; i < n && rc == VOUCH_OK; i++) {
		if (!next_is_int(&m)) {
			rc = vouch_cbor_skip(&m);
			if (rc == VOUCH_OK)
				rc = vouch_cbor_skip(&m);
			continue;
		}
		rc = msg_err(vouch_cbor_read_int(&m, &label));
		if (rc != VOUCH_OK)
			break;
		if (label == VOUCH_EDHOC_ID_KID)
			rc = msg_err(vouch_cbor_read_bstr(&m, &p->kid, &p->kid_len));
		else if (label == VOUCH_EDHOC_ID_KCCS && next_is(&m, VOUCH_CBOR_MAP))
			rc = vouch_cbor_read_raw(&m, &p->ccs, &p->ccs_len);
		else if (label == VOUCH_EDHOC_ID_KCCS)
			rc = VOUCH_ERR_EDHOC;
		else
			rc = vouch_cbor_skip(&m);
	}
	/* {4: kid} alone must have come in the compact form (RFC 9528 3.5.3.2). */
	if (rc == VOUCH_OK && n == 1 && p->kid != NULL)
		rc = VOUCH_ERR_EDHOC;
	return rc;
}

/* ( [C_R,] ID_CRED_x / bstr / -24..23, Signature_or_MAC_x, ? EAD_x ). The compact kid form is
 * rebuilt into ctx->peer_kid_map as {4: kid}, which is what the MAC covers. */
static int parse_plain(struct vouch_edhoc *ctx, const uint8_t *pt, size_t len, bool with_c,
                       struct plain *p)
{
	struct vouch_cbor_reader r;
	struct vouch_cbor_writer w;
	size_t start;
	int rc = VOUCH_OK;

	memset(p, 0, sizeof(*p));
	vouch_cbor_reader_init(&r, pt, len);
	if (with_c) {
		start = r.pos;
		rc = rd_ident(&r, VOUCH_EDHOC_MAX_CID, &p->c, &p->c_len);
		if (rc != VOUCH_OK)
			return rc;
		p->c_enc = pt + start;
		p->c_enc_len = r.pos - start;
	}
	if (next_is(&r, VOUCH_CBOR_MAP)) {
		rc = read_id_map(&r, p);
	} else {
		rc = rd_ident(&r, VOUCH_EDHOC_MAX_KID, &p->kid, &p->kid_len);
		if (rc == VOUCH_OK) {
			vouch_cbor_writer_init(&w, ctx->peer_kid_map, sizeof(ctx->peer_kid_map));
			vouch_cbor_write_map(&w, 1);
			vouch_cbor_write_int(&w, VOUCH_EDHOC_ID_KID);
			vouch_cbor_write_bstr(&w, p->kid, p->kid_len);
			rc = vouch_cbor_writer_finish(&w, &p->id_map_len);
			p->id_map = ctx->peer_kid_map;
		}
	}
	if (rc != VOUCH_OK)
		return rc;
	rc = rd_bstr(&r, &p->som, &p->som_len);
	if (rc != VOUCH_OK)
		return rc;
	p->ead = pt + r.pos;
	p->ead_len = len - r.pos;
	return ead_check(NULL, p->ead, p->ead_len);
}

/* The value of an int label of a map that must itself be a map; VOUCH_ERR_EDHOC_PEER when the
 * entry is missing or not a map. */
static int map_entry(const uint8_t *map, size_t len, int64_t want, const uint8_t **v, size_t *v_len)
{
	struct vouch_cbor_reader r;
	int64_t label;
	size_t n;
	int rc;

	vouch_cbor_reader_init(&r, map, len);
	rc = vouch_cbor_read_map(&r, &n);
	for (size_t i = 0; i < n && rc == VOUCH_OK; i++) {
		label = want + 1;
		if (next_is_int(&r))
			rc = vouch_cbor_read_int(&r, &label);
		else
			rc = vouch_cbor_skip(&r);
		if (rc != VOUCH_OK)
			break;
		if (label == want && next_is(&r, VOUCH_CBOR_MAP))
			return vouch_cbor_read_raw(&r, v, v_len);
		rc = vouch_cbor_skip(&r);
	}
	return VOUCH_ERR_EDHOC_PEER;
}

/* cose.h's COSE_Key decoder knows OKP keys only as Ed25519: an X25519 one (kty 1, crv 4,
 * RFC 9053 7.2) is read here. */
static int okp_x25519(const uint8_t *map, size_t len, struct vouch_key *key)
{
	struct vouch_cbor_reader r;
	const uint8_t *x = NULL;
	int64_t label, kty = 0, crv = 0;
	size_t n, x_len = 0;
	int rc;

	vouch_cbor_reader_init(&r, map, len);
	rc = vouch_cbor_read_map(&r, &n);
	for (size_t i = 0; i < n && rc == VOUCH_OK; i++) {
		if (!next_is_int(&r)) {
			rc = vouch_cbor_skip(&r);
			if (rc == VOUCH_OK)
				rc = vouch_cbor_skip(&r);
			continue;
		}
		rc = vouch_cbor_read_int(&r, &label);
		if (rc != VOUCH_OK)
			break;
		if (label == 1)
			rc = vouch_cbor_read_int(&r, &kty);
		else if (label == -1)
			rc = vouch_cbor_read_int(&r, &crv);
		else if (label == -2)
			rc = vouch_cbor_read_bstr(&r, &x, &x_len);
		else
			rc = vouch_cbor_skip(&r);
	}
	if (rc != VOUCH_OK || kty != VOUCH_COSE_KTY_OKP || crv != 4 || x == NULL)
		return VOUCH_ERR_KEY;
	return vouch_key_import_public(key, VOUCH_KEY_X25519, x, x_len);
}

/* The authentication key of a CCS sent by value (kccs): its cnf (8) COSE_Key (1). */
static int ccs_key(const uint8_t *ccs, size_t len, enum vouch_key_type want, struct vouch_key *key)
{
	struct vouch_cose_key ck;
	const uint8_t *cnf = NULL, *cose = NULL;
	size_t cnf_len = 0, cose_len = 0;
	int rc = map_entry(ccs, len, 8, &cnf, &cnf_len);

	if (rc == VOUCH_OK)
		rc = map_entry(cnf, cnf_len, 1, &cose, &cose_len);
	if (rc != VOUCH_OK)
		return VOUCH_ERR_EDHOC_PEER;
	if (want == VOUCH_KEY_X25519)
		return okp_x25519(cose, cose_len, key);
	rc = vouch_cose_key_decode(cose, cose_len, &ck);
	if (rc == VOUCH_OK)
		rc = vouch_cose_key_to_public(&ck, key);
	return rc;
}

/* Find CRED_x and the key of the peer (kccs by value, anything else through the resolver) and
 * check the key is what the method and suite need. */
static int resolve_peer(struct vouch_edhoc *ctx, const struct plain *p, enum vouch_key_type want,
                        bool sign)
{
	struct vouch_edhoc_id_cred id = {
	    .map = p->id_map,
	    .map_len = p->id_map_len,
	    .kid = p->kid,
	    .kid_len = p->kid_len,
	    .by_value = p->ccs != NULL,
	    .want = want,
	    .sign = sign,
	};
	const uint8_t *cred = NULL;
	size_t cred_len = 0;
	int rc = VOUCH_ERR_EDHOC_PEER;

	vouch_key_clear(&ctx->peer_key);
	if (p->ccs != NULL) {
		rc = ccs_key(p->ccs, p->ccs_len, want, &ctx->peer_key);
		if (rc != VOUCH_OK)
			return rc;
		cred = p->ccs;
		cred_len = p->ccs_len;
	}
	if (ctx->resolve != NULL) {
		rc = ctx->resolve(ctx->resolve_arg, &id, &cred, &cred_len, &ctx->peer_key);
		if (rc != VOUCH_OK)
			return rc;
		if (p->ccs != NULL) {
			/* by value, CRED_x is what was sent, whatever the callback did */
			cred = p->ccs;
			cred_len = p->ccs_len;
		}
	} else if (p->ccs == NULL) {
		return VOUCH_ERR_EDHOC_PEER;
	}
	if (cred == NULL || cred_len == 0 || cred_len > VOUCH_EDHOC_MAX_CRED ||
	    ctx->peer_key.type != want)
		return VOUCH_ERR_EDHOC_PEER;
	ctx->peer_cred = cred;
	ctx->peer_cred_len = cred_len;
	ctx->peer_id_cred = p->id_map;
	ctx->peer_id_cred_len = p->id_map_len;
	return VOUCH_OK;
}

/* Check a received Signature_or_MAC_x against the MAC computed here. */
static int check_som(const struct vouch_edhoc *ctx, bool stat, const struct auth_parts *a,
                     const uint8_t *mac, size_t mac_len, const struct plain *p)
{
	if (!stat)
		return auth_verify(&ctx->peer_key, a, mac, mac_len, p->som, p->som_len);
	if (p->som_len != mac_len || !vouch_ct_equal(p->som, mac, mac_len))
		return VOUCH_ERR_VERIFY;
	return VOUCH_OK;
}

/* PRK_out and PRK_exporter from PRK_4e3m and TH_4 (RFC 9528 4.1.3). */
static int derive_out(struct vouch_edhoc *ctx)
{
	int rc = kdf_th(ctx->prk_4e3m, L_PRK_OUT, ctx->th, ctx->prk_out, HASH_LEN);

	if (rc == VOUCH_OK)
		rc = kdf(ctx->prk_out, L_PRK_EXPORTER, NULL, 0, ctx->prk_exporter, HASH_LEN, false);
	return rc;
}

/* Once PRK_out is there the ephemeral keys and PRK_3e2m have done their work: dropping them
 * now is what gives forward secrecy. */
static void drop_handshake(struct vouch_edhoc *ctx)
{
	vouch_key_clear(&ctx->eph);
	vouch_key_clear(&ctx->peer_eph);
	vouch_wipe(ctx->prk_3e2m, sizeof(ctx->prk_3e2m));
}

static bool arg_ident_ok(const uint8_t *c, size_t len)
{
	return (c != NULL || len == 0) && len <= VOUCH_EDHOC_MAX_CID;
}

static size_t own_id_len(const struct vouch_edhoc *ctx)
{
	return ctx->own_kid != NULL ? ident_len(ctx->own_kid, ctx->own_kid_len)
	                            : ctx->own_id_cred_len;
}

static void write_own_id(struct vouch_cbor_writer *w, const struct vouch_edhoc *ctx)
{
	if (ctx->own_kid != NULL)
		write_ident(w, ctx->own_kid, ctx->own_kid_len);
	else
		vouch_cbor_write_raw(w, ctx->own_id_cred, ctx->own_id_cred_len);
}

/* ---- message_1 ---- */

int vouch_edhoc_write_message_1(struct vouch_edhoc *ctx, const uint8_t *c_i, size_t c_i_len,
                                const uint8_t *ead_1, size_t ead_1_len, uint8_t *out, size_t cap,
                                size_t *out_len)
{
	const struct suite_info *s;
	struct vouch_cbor_writer w;
	uint8_t g_x[ECC_LEN], tmp[9];
	size_t need, len = 0;
	int rc = VOUCH_ERR_INVALID;

	if (out_len != NULL)
		*out_len = 0;
	if (ctx == NULL || out == NULL || out_len == NULL || !arg_ident_ok(c_i, c_i_len) ||
	    !ead_arg_ok(ead_1, ead_1_len))
		return VOUCH_ERR_INVALID;
	rc = enter(ctx, VOUCH_EDHOC_INITIATOR, VOUCH_EDHOC_S_START);
	if (rc != VOUCH_OK)
		return rc;
	s = suite_find(ctx->suites[ctx->sel]);
	/* SUITES_I: every suite preferred to the selected one, then it (RFC 9528 5.2.2). */
	need = enc_int(tmp, ctx->method) + (ctx->sel > 0 ? head_len(ctx->sel + 1u) : 0) + 2 +
	       ECC_LEN + ident_len(c_i, c_i_len) + ead_1_len;
	for (size_t i = 0; i <= ctx->sel; i++)
		need += enc_int(tmp, ctx->suites[i]);
	if (need > cap)
		return VOUCH_ERR_BUFFER;

	rc = make_eph(ctx, s, g_x);
	if (rc != VOUCH_OK)
		goto out_fail;
	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_int(&w, ctx->method);
	if (ctx->sel > 0)
		vouch_cbor_write_array(&w, ctx->sel + 1u);
	for (size_t i = 0; i <= ctx->sel; i++)
		vouch_cbor_write_int(&w, ctx->suites[i]);
	vouch_cbor_write_bstr(&w, g_x, ECC_LEN);
	write_ident(&w, c_i, c_i_len);
	vouch_cbor_write_raw(&w, ead_1, ead_1_len);
	rc = vouch_cbor_writer_finish(&w, &len);
	if (rc == VOUCH_OK && len != need)
		rc = VOUCH_ERR_INTERNAL;
	if (rc == VOUCH_OK)
		rc = vouch_sha256(out, len, ctx->th); /* H(message_1), for TH_2 */
	if (rc != VOUCH_OK)
		goto out_fail;
	if (c_i_len > 0)
		memcpy(ctx->c_own, c_i, c_i_len);
	ctx->c_own_len = (uint8_t)c_i_len;
	ctx->suite = s->id;
	ctx->state = VOUCH_EDHOC_S_WAIT_M2;
	ctx->may_send_error = false;
	*out_len = len;
	return VOUCH_OK;

out_fail:
	fail(ctx);
	return rc;
}

/* The responder's answer when the suite is refused (RFC 9528 6.3.1): the suite of SUITES_I it
 * supports that the initiator prefers most, or else every suite it supports for the method. */
static void fill_suites_r(struct vouch_edhoc *ctx, bool have_first, int64_t first, int64_t method)
{
	ctx->n_suites_r = 0;
	if (have_first) {
		ctx->suites_r[ctx->n_suites_r++] = (int32_t)first;
		return;
	}
	for (size_t i = 0; i < ctx->n_suites; i++)
		if (resp_usable(ctx, ctx->suites[i], method))
			ctx->suites_r[ctx->n_suites_r++] = ctx->suites[i];
	if (ctx->n_suites_r > 0)
		return;
	memcpy(ctx->suites_r, ctx->suites, ctx->n_suites * sizeof(ctx->suites[0]));
	ctx->n_suites_r = ctx->n_suites;
}

int vouch_edhoc_read_message_1(struct vouch_edhoc *ctx, const uint8_t *msg, size_t len,
                               const uint8_t **ead_1, size_t *ead_1_len)
{
	struct vouch_cbor_reader r;
	const uint8_t *g_x = NULL, *c_i = NULL, *ead;
	int64_t method = -1, v = 0, first = 0;
	size_t g_x_len = 0, c_i_len = 0, ead_len, n = 1, start;
	bool have_first = false, selected_first = false;
	int rc = VOUCH_ERR_INVALID;

	ead_out(NULL, 0, ead_1, ead_1_len);
	if (ctx == NULL || (msg == NULL && len > 0))
		return VOUCH_ERR_INVALID;
	rc = enter(ctx, VOUCH_EDHOC_RESPONDER, VOUCH_EDHOC_S_WAIT_M1);
	if (rc != VOUCH_OK)
		return rc;
	ctx->may_send_error = true;

	vouch_cbor_reader_init(&r, msg, len);
	rc = rd_int(&r, &method);
	if (rc == VOUCH_OK && next_is(&r, VOUCH_CBOR_ARRAY)) {
		start = r.pos;
		rc = msg_err(vouch_cbor_read_array(&r, &n));
		if (rc == VOUCH_OK && r.pos - start != head_len(n))
			rc = VOUCH_ERR_CBOR_NONCANONICAL;
		if (rc == VOUCH_OK && n < 2)
			rc = VOUCH_ERR_EDHOC;
	}
	/* The selected suite is the last; it must be the first one this side supports. */
	for (size_t i = 0; i < n && rc == VOUCH_OK; i++) {
		rc = rd_int(&r, &v);
		if (rc == VOUCH_OK && !have_first && resp_usable(ctx, v, method)) {
			have_first = true;
			first = v;
			selected_first = i == n - 1;
		}
	}
	if (rc == VOUCH_OK)
		rc = rd_bstr(&r, &g_x, &g_x_len);
	if (rc == VOUCH_OK)
		rc = rd_ident(&r, VOUCH_EDHOC_MAX_CID, &c_i, &c_i_len);
	if (rc != VOUCH_OK)
		goto out_fail;
	ead = msg + r.pos;
	ead_len = len - r.pos;
	rc = ead_check(NULL, ead, ead_len);
	if (rc != VOUCH_OK)
		goto out_fail;

	if (method < 0 || method > 3 || (ctx->methods & VOUCH_EDHOC_METHOD_BIT(method)) == 0) {
		rc = VOUCH_ERR_UNSUPPORTED;
		goto out_fail;
	}
	if (!selected_first) {
		fill_suites_r(ctx, have_first, first, method);
		ctx->suite_failed = true;
		rc = VOUCH_ERR_EDHOC_SUITE;
		goto out_fail;
	}
	rc = import_eph(&ctx->peer_eph, (enum vouch_key_type)suite_find(v)->ecdh, g_x, g_x_len);
	if (rc == VOUCH_OK)
		rc = ead_check(ctx, ead, ead_len);
	if (rc == VOUCH_OK)
		rc = vouch_sha256(msg, len, ctx->th);
	if (rc != VOUCH_OK)
		goto out_fail;
	ctx->method = (uint8_t)method;
	ctx->suite = (int32_t)v;
	if (c_i_len > 0)
		memcpy(ctx->c_peer, c_i, c_i_len);
	ctx->c_peer_len = (uint8_t)c_i_len;
	ctx->c_peer_set = true;
	ctx->state = VOUCH_EDHOC_S_RCVD_M1;
	ead_out(ead, ead_len, ead_1, ead_1_len);
	return VOUCH_OK;

out_fail:
	fail(ctx);
	return rc;
}

/* ---- message_2 ---- */

int vouch_edhoc_write_message_2(struct vouch_edhoc *ctx, const uint8_t *c_r, size_t c_r_len,
                                const uint8_t *ead_2, size_t ead_2_len, uint8_t *out, size_t cap,
                                size_t *out_len)
{
	const struct suite_info *s;
	struct vouch_cbor_writer w;
	struct auth_parts a;
	uint8_t g_y[ECC_LEN], th2[HASH_LEN], prk_2e[HASH_LEN], salt[HASH_LEN], mac[HASH_LEN];
	uint8_t som[SIG_LEN], c_enc[1 + 1 + VOUCH_EDHOC_MAX_CID];
	size_t som_len, mac_len, c_enc_len = 0, pt_len, hlen, need, len = 0;
	bool stat;
	int rc = VOUCH_ERR_INVALID;

	if (out_len != NULL)
		*out_len = 0;
	if (ctx == NULL || out == NULL || out_len == NULL || !arg_ident_ok(c_r, c_r_len) ||
	    !ead_arg_ok(ead_2, ead_2_len))
		return VOUCH_ERR_INVALID;
	rc = enter(ctx, VOUCH_EDHOC_RESPONDER, VOUCH_EDHOC_S_RCVD_M1);
	if (rc != VOUCH_OK)
		return rc;
	/* C_I and C_R become the two OSCORE Recipient IDs: they must differ (RFC 9528 3.3.3). */
	if (c_r_len == ctx->c_peer_len && (c_r_len == 0 || memcmp(c_r, ctx->c_peer, c_r_len) == 0))
		return VOUCH_ERR_INVALID;
	s = suite_find(ctx->suite);
	stat = r_static(ctx->method);
	mac_len = stat ? s->mac_len : HASH_LEN;
	som_len = stat ? s->mac_len : SIG_LEN;
	vouch_cbor_writer_init(&w, c_enc, sizeof(c_enc));
	write_ident(&w, c_r, c_r_len);
	rc = vouch_cbor_writer_finish(&w, &c_enc_len);
	if (rc != VOUCH_OK)
		return VOUCH_ERR_INTERNAL;
	pt_len = c_enc_len + own_id_len(ctx) + head_len(som_len) + som_len + ead_2_len;
	hlen = head_len(ECC_LEN + pt_len);
	need = hlen + ECC_LEN + pt_len;
	if (need > cap)
		return VOUCH_ERR_BUFFER;

	rc = make_eph(ctx, s, g_y);
	if (rc == VOUCH_OK)
		rc = th_2(g_y, ctx->th, th2);
	if (rc == VOUCH_OK)
		rc = extract_dh(th2, &ctx->eph, &ctx->peer_eph, prk_2e);
	if (rc == VOUCH_OK && stat) {
		rc = kdf_th(prk_2e, L_SALT_3E2M, th2, salt, HASH_LEN);
		if (rc == VOUCH_OK)
			rc = extract_dh(salt, ctx->own_key, &ctx->peer_eph, ctx->prk_3e2m);
	} else if (rc == VOUCH_OK) {
		memcpy(ctx->prk_3e2m, prk_2e, HASH_LEN);
	}
	a = (struct auth_parts){c_enc,    c_enc_len,     ctx->own_id_cred,  ctx->own_id_cred_len,
	                        th2,      ctx->own_cred, ctx->own_cred_len, ead_2,
	                        ead_2_len};
	if (rc == VOUCH_OK)
		rc = auth_mac(ctx->prk_3e2m, L_MAC_2, &a, mac, mac_len);
	if (rc == VOUCH_OK && stat)
		memcpy(som, mac, mac_len);
	else if (rc == VOUCH_OK)
		rc = auth_sign(ctx->own_key, &a, mac, mac_len, som);
	if (rc != VOUCH_OK)
		goto out_fail;

	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_bstr_head(&w, ECC_LEN + pt_len);
	vouch_cbor_write_raw(&w, g_y, ECC_LEN);
	vouch_cbor_write_raw(&w, c_enc, c_enc_len);
	write_own_id(&w, ctx);
	vouch_cbor_write_bstr(&w, som, som_len);
	vouch_cbor_write_raw(&w, ead_2, ead_2_len);
	rc = vouch_cbor_writer_finish(&w, &len);
	if (rc == VOUCH_OK && len != need)
		rc = VOUCH_ERR_INTERNAL;
	/* TH_3 = H(TH_2, PLAINTEXT_2, CRED_R) before the plaintext is encrypted in place */
	memcpy(ctx->th, th2, HASH_LEN);
	if (rc == VOUCH_OK)
		rc = transcript(ctx->th, out + hlen + ECC_LEN, pt_len, ctx->own_cred,
		                ctx->own_cred_len);
	if (rc == VOUCH_OK) {
		const struct vouch_iov th_part = {th2, HASH_LEN};

		rc = kdf(prk_2e, L_KEYSTREAM_2, &th_part, 1, out + hlen + ECC_LEN, pt_len, true);
	}
	if (rc != VOUCH_OK)
		goto out_fail;
	if (c_r_len > 0)
		memcpy(ctx->c_own, c_r, c_r_len);
	ctx->c_own_len = (uint8_t)c_r_len;
	ctx->state = VOUCH_EDHOC_S_WAIT_M3;
	ctx->may_send_error = false;
	*out_len = len;
	goto out_wipe;

out_fail:
	if (len > 0)
		vouch_wipe(out, len);
	fail(ctx);
out_wipe:
	vouch_wipe(prk_2e, sizeof(prk_2e));
	vouch_wipe(salt, sizeof(salt));
	vouch_wipe(mac, sizeof(mac));
	vouch_wipe(som, sizeof(som));
	return rc;
}

/*
 * The peer's authentication in message_2 (c_enc: its C_R as encoded) or message_3 (c_enc
 * NULL), RFC 9528 5.3.3 / 5.4.3: its credential, the next PRK (with its static DH key when it
 * authenticates that way, else the previous one), then MAC and Signature_or_MAC, then its EAD.
 */
static int verify_peer(struct vouch_edhoc *ctx, const struct suite_info *s, bool stat,
                       const uint8_t prk_prev[HASH_LEN], int64_t salt_label,
                       const uint8_t th[HASH_LEN], uint8_t prk_next[HASH_LEN], int64_t mac_label,
                       const struct plain *p)
{
	uint8_t salt[HASH_LEN], mac[HASH_LEN];
	size_t mac_len = stat ? s->mac_len : HASH_LEN;
	struct auth_parts a;
	int rc;

	memset(salt, 0, sizeof(salt));
	memset(mac, 0, sizeof(mac));
	rc = resolve_peer(ctx, p, auth_type(s, stat), !stat);
	if (rc == VOUCH_OK && stat) {
		rc = kdf_th(prk_prev, salt_label, th, salt, HASH_LEN);
		if (rc == VOUCH_OK)
			rc = extract_dh(salt, &ctx->eph, &ctx->peer_key, prk_next);
	} else if (rc == VOUCH_OK) {
		memcpy(prk_next, prk_prev, HASH_LEN);
	}
	a = (struct auth_parts){
	    p->c_enc,  p->c_enc_len,   ctx->peer_id_cred,  ctx->peer_id_cred_len,
	    th,        ctx->peer_cred, ctx->peer_cred_len, p->ead,
	    p->ead_len};
	if (rc == VOUCH_OK)
		rc = auth_mac(prk_next, mac_label, &a, mac, mac_len);
	if (rc == VOUCH_OK)
		rc = check_som(ctx, stat, &a, mac, mac_len, p);
	if (rc == VOUCH_OK)
		rc = ead_check(ctx, p->ead, p->ead_len);
	vouch_wipe(salt, sizeof(salt));
	vouch_wipe(mac, sizeof(mac));
	return rc;
}

int vouch_edhoc_read_message_2(struct vouch_edhoc *ctx, uint8_t *msg, size_t len,
                               const uint8_t **ead_2, size_t *ead_2_len)
{
	const struct suite_info *s;
	struct vouch_cbor_reader r;
	struct plain p;
	const uint8_t *content = NULL;
	uint8_t th2[HASH_LEN], prk_2e[HASH_LEN], *pt;
	size_t content_len = 0, pt_len;
	int rc = VOUCH_ERR_INVALID;

	ead_out(NULL, 0, ead_2, ead_2_len);
	if (ctx == NULL || (msg == NULL && len > 0))
		return VOUCH_ERR_INVALID;
	rc = enter(ctx, VOUCH_EDHOC_INITIATOR, VOUCH_EDHOC_S_WAIT_M2);
	if (rc != VOUCH_OK)
		return rc;
	if (is_error_msg(msg, len))
		return on_error(ctx, msg, len);
	ctx->may_send_error = true;
	memset(prk_2e, 0, sizeof(prk_2e));

	vouch_cbor_reader_init(&r, msg, len);
	rc = rd_bstr(&r, &content, &content_len);
	if (rc == VOUCH_OK && !vouch_cbor_reader_done(&r))
		rc = VOUCH_ERR_CBOR_TRAILING;
	if (rc == VOUCH_OK && (content_len <= ECC_LEN || content_len - ECC_LEN > KDF_MAX_OUT))
		rc = VOUCH_ERR_EDHOC;
	if (rc != VOUCH_OK)
		goto out_fail;
	s = suite_find(ctx->suite);
	pt = msg + (content - msg) + ECC_LEN;
	pt_len = content_len - ECC_LEN;

	rc = import_eph(&ctx->peer_eph, (enum vouch_key_type)s->ecdh, content, ECC_LEN);
	if (rc == VOUCH_OK)
		rc = th_2(content, ctx->th, th2);
	if (rc == VOUCH_OK)
		rc = extract_dh(th2, &ctx->eph, &ctx->peer_eph, prk_2e);
	if (rc == VOUCH_OK) {
		const struct vouch_iov th_part = {th2, HASH_LEN};

		rc = kdf(prk_2e, L_KEYSTREAM_2, &th_part, 1, pt, pt_len, true);
	}
	if (rc == VOUCH_OK)
		rc = parse_plain(ctx, pt, pt_len, true, &p);
	if (rc == VOUCH_OK && p.c_len == ctx->c_own_len && memcmp(p.c, ctx->c_own, p.c_len) == 0)
		rc = VOUCH_ERR_EDHOC; /* C_R = C_I: no usable OSCORE context */
	if (rc != VOUCH_OK)
		goto out_fail;

	rc = verify_peer(ctx, s, r_static(ctx->method), prk_2e, L_SALT_3E2M, th2, ctx->prk_3e2m,
	                 L_MAC_2, &p);
	memcpy(ctx->th, th2, HASH_LEN);
	if (rc == VOUCH_OK)
		rc = transcript(ctx->th, pt, pt_len, ctx->peer_cred, ctx->peer_cred_len);
	if (rc != VOUCH_OK)
		goto out_fail;
	if (p.c_len > 0)
		memcpy(ctx->c_peer, p.c, p.c_len);
	ctx->c_peer_len = (uint8_t)p.c_len;
	ctx->c_peer_set = true;
	ctx->peer_set = true;
	ctx->state = VOUCH_EDHOC_S_VERIFIED_M2;
	ead_out(p.ead, p.ead_len, ead_2, ead_2_len);
	goto out_wipe;

out_fail:
	fail(ctx);
out_wipe:
	vouch_wipe(prk_2e, sizeof(prk_2e));
	return rc;
}

/* ---- message_3 ---- */

int vouch_edhoc_write_message_3(struct vouch_edhoc *ctx, const uint8_t *ead_3, size_t ead_3_len,
                                uint8_t *out, size_t cap, size_t *out_len)
{
	const struct suite_info *s;
	struct vouch_cbor_writer w;
	struct auth_parts a;
	uint8_t salt[HASH_LEN], mac[HASH_LEN], som[SIG_LEN], th4[HASH_LEN];
	size_t som_len, mac_len, pt_len, ct_len, hlen, need, len = 0;
	bool stat;
	int rc = VOUCH_ERR_INVALID;

	if (out_len != NULL)
		*out_len = 0;
	if (ctx == NULL || out == NULL || out_len == NULL || !ead_arg_ok(ead_3, ead_3_len))
		return VOUCH_ERR_INVALID;
	rc = enter(ctx, VOUCH_EDHOC_INITIATOR, VOUCH_EDHOC_S_VERIFIED_M2);
	if (rc != VOUCH_OK)
		return rc;
	s = suite_find(ctx->suite);
	stat = i_static(ctx->method);
	mac_len = stat ? s->mac_len : HASH_LEN;
	som_len = stat ? s->mac_len : SIG_LEN;
	pt_len = own_id_len(ctx) + head_len(som_len) + som_len + ead_3_len;
	ct_len = pt_len + s->tag_len;
	hlen = head_len(ct_len);
	need = hlen + ct_len;
	if (need > cap)
		return VOUCH_ERR_BUFFER;
	memset(salt, 0, sizeof(salt));
	memset(mac, 0, sizeof(mac));
	memset(som, 0, sizeof(som));

	rc = own_key_fits(ctx, s, stat) ? VOUCH_OK : VOUCH_ERR_KEY;
	if (rc == VOUCH_OK && stat) {
		rc = kdf_th(ctx->prk_3e2m, L_SALT_4E3M, ctx->th, salt, HASH_LEN);
		if (rc == VOUCH_OK)
			rc = extract_dh(salt, ctx->own_key, &ctx->peer_eph, ctx->prk_4e3m);
	} else if (rc == VOUCH_OK) {
		memcpy(ctx->prk_4e3m, ctx->prk_3e2m, HASH_LEN);
	}
	a = (struct auth_parts){NULL,
	                        0,
	                        ctx->own_id_cred,
	                        ctx->own_id_cred_len,
	                        ctx->th,
	                        ctx->own_cred,
	                        ctx->own_cred_len,
	                        ead_3,
	                        ead_3_len};
	if (rc == VOUCH_OK)
		rc = auth_mac(ctx->prk_4e3m, L_MAC_3, &a, mac, mac_len);
	if (rc == VOUCH_OK && stat)
		memcpy(som, mac, mac_len);
	else if (rc == VOUCH_OK)
		rc = auth_sign(ctx->own_key, &a, mac, mac_len, som);
	if (rc != VOUCH_OK)
		goto out_fail;

	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_bstr_head(&w, ct_len);
	write_own_id(&w, ctx);
	vouch_cbor_write_bstr(&w, som, som_len);
	vouch_cbor_write_raw(&w, ead_3, ead_3_len);
	rc = vouch_cbor_writer_finish(&w, &len);
	if (rc == VOUCH_OK && len + s->tag_len != need)
		rc = VOUCH_ERR_INTERNAL;
	/* TH_4 = H(TH_3, PLAINTEXT_3, CRED_I), taken before the plaintext is encrypted */
	memcpy(th4, ctx->th, HASH_LEN);
	if (rc == VOUCH_OK)
		rc = transcript(th4, out + hlen, pt_len, ctx->own_cred, ctx->own_cred_len);
	if (rc == VOUCH_OK)
		rc = aead(s, true, ctx->prk_3e2m, L_K_3, ctx->th, out + hlen, pt_len);
	if (rc != VOUCH_OK)
		goto out_fail;
	memcpy(ctx->th, th4, HASH_LEN);
	rc = derive_out(ctx);
	if (rc != VOUCH_OK)
		goto out_fail;
	drop_handshake(ctx);
	ctx->state = VOUCH_EDHOC_S_COMPLETED;
	ctx->may_send_error = false;
	*out_len = need;
	goto out_wipe;

out_fail:
	vouch_wipe(out, need);
	fail(ctx);
out_wipe:
	vouch_wipe(salt, sizeof(salt));
	vouch_wipe(mac, sizeof(mac));
	vouch_wipe(som, sizeof(som));
	return rc;
}

/* A received message_3 or message_4: the ciphertext bstr, opened in place. */
static int open_msg(const struct suite_info *s, const uint8_t prk[HASH_LEN], int64_t label_k,
                    const uint8_t th[HASH_LEN], uint8_t *msg, size_t len, uint8_t **pt,
                    size_t *pt_len)
{
	struct vouch_cbor_reader r;
	const uint8_t *ct = NULL;
	size_t ct_len = 0;
	int rc;

	vouch_cbor_reader_init(&r, msg, len);
	rc = rd_bstr(&r, &ct, &ct_len);
	if (rc == VOUCH_OK && !vouch_cbor_reader_done(&r))
		rc = VOUCH_ERR_CBOR_TRAILING;
	if (rc == VOUCH_OK && ct_len < s->tag_len)
		rc = VOUCH_ERR_EDHOC;
	if (rc != VOUCH_OK)
		return rc;
	*pt = msg + (ct - msg);
	*pt_len = ct_len - s->tag_len;
	return aead(s, false, prk, label_k, th, *pt, ct_len);
}

int vouch_edhoc_read_message_3(struct vouch_edhoc *ctx, uint8_t *msg, size_t len,
                               const uint8_t **ead_3, size_t *ead_3_len)
{
	const struct suite_info *s;
	struct plain p;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int rc = VOUCH_ERR_INVALID;

	ead_out(NULL, 0, ead_3, ead_3_len);
	if (ctx == NULL || (msg == NULL && len > 0))
		return VOUCH_ERR_INVALID;
	rc = enter(ctx, VOUCH_EDHOC_RESPONDER, VOUCH_EDHOC_S_WAIT_M3);
	if (rc != VOUCH_OK)
		return rc;
	if (is_error_msg(msg, len))
		return on_error(ctx, msg, len);
	ctx->may_send_error = true;
	s = suite_find(ctx->suite);
	rc = open_msg(s, ctx->prk_3e2m, L_K_3, ctx->th, msg, len, &pt, &pt_len);
	if (rc == VOUCH_OK)
		rc = parse_plain(ctx, pt, pt_len, false, &p);
	if (rc == VOUCH_OK)
		rc = verify_peer(ctx, s, i_static(ctx->method), ctx->prk_3e2m, L_SALT_4E3M, ctx->th,
		                 ctx->prk_4e3m, L_MAC_3, &p);
	if (rc == VOUCH_OK)
		rc = transcript(ctx->th, pt, pt_len, ctx->peer_cred, ctx->peer_cred_len);
	if (rc == VOUCH_OK)
		rc = derive_out(ctx);
	if (rc != VOUCH_OK)
		goto out_fail;
	drop_handshake(ctx);
	ctx->peer_set = true;
	ctx->state = VOUCH_EDHOC_S_COMPLETED;
	ead_out(p.ead, p.ead_len, ead_3, ead_3_len);
	return VOUCH_OK;

out_fail:
	fail(ctx);
	return rc;
}

/* ---- message_4 ---- */

int vouch_edhoc_write_message_4(struct vouch_edhoc *ctx, const uint8_t *ead_4, size_t ead_4_len,
                                uint8_t *out, size_t cap, size_t *out_len)
{
	const struct suite_info *s;
	struct vouch_cbor_writer w;
	size_t ct_len, hlen, len = 0;
	int rc = VOUCH_ERR_INVALID;

	if (out_len != NULL)
		*out_len = 0;
	if (ctx == NULL || out == NULL || out_len == NULL || !ead_arg_ok(ead_4, ead_4_len))
		return VOUCH_ERR_INVALID;
	rc = enter(ctx, VOUCH_EDHOC_RESPONDER, VOUCH_EDHOC_S_COMPLETED);
	if (rc != VOUCH_OK)
		return rc;
	s = suite_find(ctx->suite);
	ct_len = ead_4_len + s->tag_len;
	hlen = head_len(ct_len);
	if (hlen + ct_len > cap)
		return VOUCH_ERR_BUFFER;
	vouch_cbor_writer_init(&w, out, cap);
	vouch_cbor_write_bstr_head(&w, ct_len);
	vouch_cbor_write_raw(&w, ead_4, ead_4_len);
	rc = vouch_cbor_writer_finish(&w, &len);
	if (rc == VOUCH_OK)
		rc = aead(s, true, ctx->prk_4e3m, L_K_4, ctx->th, out + hlen, ead_4_len);
	if (rc != VOUCH_OK) {
		vouch_wipe(out, hlen + ct_len);
		fail(ctx);
		return rc;
	}
	vouch_wipe(ctx->prk_4e3m, sizeof(ctx->prk_4e3m));
	ctx->state = VOUCH_EDHOC_S_PERSISTED;
	ctx->may_send_error = false;
	*out_len = hlen + ct_len;
	return VOUCH_OK;
}

int vouch_edhoc_read_message_4(struct vouch_edhoc *ctx, uint8_t *msg, size_t len,
                               const uint8_t **ead_4, size_t *ead_4_len)
{
	const struct suite_info *s;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int rc = VOUCH_ERR_INVALID;

	ead_out(NULL, 0, ead_4, ead_4_len);
	if (ctx == NULL || (msg == NULL && len > 0))
		return VOUCH_ERR_INVALID;
	rc = enter(ctx, VOUCH_EDHOC_INITIATOR, VOUCH_EDHOC_S_COMPLETED);
	if (rc != VOUCH_OK)
		return rc;
	/* The responder refusing message_3: the keys of this session are worthless. */
	if (is_error_msg(msg, len))
		return on_error(ctx, msg, len);
	ctx->may_send_error = true;
	s = suite_find(ctx->suite);
	rc = open_msg(s, ctx->prk_4e3m, L_K_4, ctx->th, msg, len, &pt, &pt_len);
	if (rc == VOUCH_OK)
		rc = ead_check(ctx, pt, pt_len);
	if (rc != VOUCH_OK) {
		fail(ctx);
		return rc;
	}
	vouch_wipe(ctx->prk_4e3m, sizeof(ctx->prk_4e3m));
	ctx->state = VOUCH_EDHOC_S_PERSISTED;
	ctx->may_send_error = false;
	ead_out(pt, pt_len, ead_4, ead_4_len);
	return VOUCH_OK;
}

/* ---- what a session tells ---- */

int vouch_edhoc_peer_c(const struct vouch_edhoc *ctx, const uint8_t **c, size_t *len)
{
	if (c != NULL)
		*c = NULL;
	if (len != NULL)
		*len = 0;
	if (ctx == NULL || c == NULL || len == NULL)
		return VOUCH_ERR_INVALID;
	if (!ctx->c_peer_set)
		return VOUCH_ERR_EDHOC_STATE;
	*c = ctx->c_peer;
	*len = ctx->c_peer_len;
	return VOUCH_OK;
}

const struct vouch_key *vouch_edhoc_peer_key(const struct vouch_edhoc *ctx)
{
	return ctx != NULL && ctx->peer_set ? &ctx->peer_key : NULL;
}

int vouch_edhoc_peer_cred(const struct vouch_edhoc *ctx, const uint8_t **cred, size_t *cred_len,
                          const uint8_t **id_cred, size_t *id_cred_len)
{
	if (cred != NULL)
		*cred = NULL;
	if (cred_len != NULL)
		*cred_len = 0;
	if (id_cred != NULL)
		*id_cred = NULL;
	if (id_cred_len != NULL)
		*id_cred_len = 0;
	if (ctx == NULL || cred == NULL || cred_len == NULL)
		return VOUCH_ERR_INVALID;
	if (!ctx->peer_set)
		return VOUCH_ERR_EDHOC_STATE;
	*cred = ctx->peer_cred;
	*cred_len = ctx->peer_cred_len;
	if (id_cred != NULL && id_cred_len != NULL) {
		*id_cred = ctx->peer_id_cred;
		*id_cred_len = ctx->peer_id_cred_len;
	}
	return VOUCH_OK;
}

int vouch_edhoc_prk_out(const struct vouch_edhoc *ctx, uint8_t out[VOUCH_EDHOC_HASH_LEN])
{
	if (ctx == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	if (!has_keys(ctx))
		return VOUCH_ERR_EDHOC_STATE;
	memcpy(out, ctx->prk_out, HASH_LEN);
	return VOUCH_OK;
}

int vouch_edhoc_exporter(const struct vouch_edhoc *ctx, uint64_t label, const uint8_t *context,
                         size_t context_len, uint8_t *out, size_t out_len)
{
	const struct vouch_iov part = {context, context_len};

	if (ctx == NULL || out == NULL || out_len == 0 || out_len > KDF_MAX_OUT ||
	    (context == NULL && context_len > 0) || label > (uint64_t)INT64_MAX)
		return VOUCH_ERR_INVALID;
	if (!has_keys(ctx))
		return VOUCH_ERR_EDHOC_STATE;
	return kdf(ctx->prk_exporter, (int64_t)label, &part, 1, out, out_len, false);
}

int vouch_edhoc_key_update(struct vouch_edhoc *ctx, const uint8_t *context, size_t context_len)
{
	const struct vouch_iov part = {context, context_len};
	uint8_t prk[HASH_LEN], exp[HASH_LEN];
	int rc = VOUCH_ERR_INVALID;

	if (ctx == NULL || (context == NULL && context_len > 0))
		return VOUCH_ERR_INVALID;
	if (!has_keys(ctx))
		return VOUCH_ERR_EDHOC_STATE;
	rc = kdf(ctx->prk_out, L_KEY_UPDATE, &part, 1, prk, HASH_LEN, false);
	if (rc == VOUCH_OK)
		rc = kdf(prk, L_PRK_EXPORTER, NULL, 0, exp, HASH_LEN, false);
	if (rc == VOUCH_OK) {
		memcpy(ctx->prk_out, prk, HASH_LEN);
		memcpy(ctx->prk_exporter, exp, HASH_LEN);
	}
	vouch_wipe(prk, sizeof(prk));
	vouch_wipe(exp, sizeof(exp));
	return rc;
}

int vouch_edhoc_oscore(const struct vouch_edhoc *ctx, struct vouch_edhoc_oscore *out)
{
	int rc = VOUCH_ERR_INVALID;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (ctx == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	rc = vouch_edhoc_exporter(ctx, 0, NULL, 0, out->master_secret, sizeof(out->master_secret));
	if (rc == VOUCH_OK)
		rc = vouch_edhoc_exporter(ctx, 1, NULL, 0, out->master_salt,
		                          sizeof(out->master_salt));
	if (rc != VOUCH_OK) {
		vouch_wipe(out, sizeof(*out));
		return rc;
	}
	/* Each side's Sender ID is the other's connection identifier (RFC 9528 A.1). */
	memcpy(out->sender_id, ctx->c_peer, ctx->c_peer_len);
	out->sender_id_len = ctx->c_peer_len;
	memcpy(out->recipient_id, ctx->c_own, ctx->c_own_len);
	out->recipient_id_len = ctx->c_own_len;
	out->aead_alg = VOUCH_COSE_ALG_AES_CCM_16_64_128;
	out->hash_alg = -16;
	return VOUCH_OK;
}

/* ---- CoAP transport (RFC 9528 appendix A.2) ---- */

int vouch_edhoc_coap_encode(const uint8_t *c, size_t c_len, const uint8_t *msg, size_t msg_len,
                            uint8_t *out, size_t cap, size_t *out_len)
{
	struct vouch_cbor_writer w;

	if (out_len != NULL)
		*out_len = 0;
	if (out == NULL || out_len == NULL || (msg == NULL && msg_len > 0) ||
	    (c == NULL && c_len > 0) || c_len > VOUCH_EDHOC_MAX_CID)
		return VOUCH_ERR_INVALID;
	vouch_cbor_writer_init(&w, out, cap);
	if (c == NULL)
		vouch_cbor_write_bool(&w, true);
	else
		write_ident(&w, c, c_len);
	vouch_cbor_write_raw(&w, msg, msg_len);
	return vouch_cbor_writer_finish(&w, out_len);
}

int vouch_edhoc_coap_split(const uint8_t *payload, size_t len, bool *first,
                           uint8_t c[VOUCH_EDHOC_MAX_CID], size_t *c_len, const uint8_t **msg,
                           size_t *msg_len)
{
	struct vouch_cbor_reader r;
	const uint8_t *id = NULL;
	size_t id_len = 0;
	bool t = false;
	int rc = VOUCH_ERR_INVALID;

	if (first != NULL)
		*first = false;
	if (c_len != NULL)
		*c_len = 0;
	if (msg != NULL)
		*msg = NULL;
	if (msg_len != NULL)
		*msg_len = 0;
	if ((payload == NULL && len > 0) || first == NULL || c == NULL || c_len == NULL ||
	    msg == NULL || msg_len == NULL)
		return VOUCH_ERR_INVALID;
	vouch_cbor_reader_init(&r, payload, len);
	if (next_is(&r, VOUCH_CBOR_BOOL)) {
		rc = vouch_cbor_read_bool(&r, &t);
		if (rc == VOUCH_OK && !t)
			rc = VOUCH_ERR_EDHOC;
	} else {
		rc = rd_ident(&r, VOUCH_EDHOC_MAX_CID, &id, &id_len);
	}
	if (rc == VOUCH_OK && vouch_cbor_reader_done(&r))
		rc = VOUCH_ERR_EDHOC; /* nothing after the identifier */
	if (rc != VOUCH_OK)
		return rc;
	*first = t;
	if (id_len > 0)
		memcpy(c, id, id_len);
	*c_len = id_len;
	*msg = payload + r.pos;
	*msg_len = len - r.pos;
	return VOUCH_OK;
}

int vouch_edhoc_oscore_ctx(const struct vouch_edhoc *ctx, struct vouch_oscore_ctx *osc)
{
	struct vouch_edhoc_oscore eo;
	struct vouch_oscore_params op;
	int rc = vouch_edhoc_oscore(ctx, &eo);

	if (rc == VOUCH_OK) {
		memset(&op, 0, sizeof(op));
		op.master_secret = eo.master_secret;
		op.master_secret_len = sizeof(eo.master_secret);
		op.master_salt = eo.master_salt;
		op.master_salt_len = sizeof(eo.master_salt);
		op.sender_id = eo.sender_id;
		op.sender_id_len = eo.sender_id_len;
		op.recipient_id = eo.recipient_id;
		op.recipient_id_len = eo.recipient_id_len;
		op.aead_alg = eo.aead_alg;
		rc = vouch_oscore_ctx_init(osc, &op);
		vouch_wipe(&op, sizeof(op));
	}
	vouch_wipe(&eo, sizeof(eo));
	return rc;
}
