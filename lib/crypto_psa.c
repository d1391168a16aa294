/*
 * The crypto port on the PSA Crypto API of Mbed TLS 2.28 (the sensor's back-end). Keys are PSA
 * key ids; symmetric keys are caller-owned byte strings, imported as short-lived volatile PSA
 * keys for the one operation that needs them and destroyed right after.
 *
 * Where PSA 2.28 lacks something the port promises, the rest of Mbed TLS fills in (HKDF-Expand,
 * decoding a compressed P-256 point, parsing a SubjectPublicKeyInfo); where Mbed TLS as Debian
 * builds it lacks it too (Ed25519; AES key wrap: no MBEDTLS_NIST_KW_C), the port says
 * VOUCH_ERR_UNSUPPORTED. docs/psa.md lists both.
 *
 * The PSA core is initialised lazily on first use and is not thread-safe (no MBEDTLS_THREADING_C).
 */
#include <limits.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <psa/crypto.h>

#include "crypto_backend.h"
#include "vouch/crypto.h"
#include "vouch/psa.h"

/* From the Internal Trusted Storage contract (lib/psa_its.c; Mbed TLS's psa_crypto_its.h is not
 * installed): telling a damaged key file from an I/O error, and erasing a damaged key file that
 * the PSA core can no longer load, and so cannot destroy. */
struct psa_storage_info_t {
	uint32_t size;
	uint32_t flags;
};
psa_status_t psa_its_get_info(uint64_t uid, struct psa_storage_info_t *p_info);
psa_status_t psa_its_remove(uint64_t uid);

#define SHA256_BLOCK_LEN 64
#define AES_BLOCK_LEN    16
#define HKDF_OUT_MAX     (255 * VOUCH_SHA256_LEN)
#define P256_COORD_LEN   32
#define X25519_BITS      255

/* The handle refers to a key in the persistent store: clearing it must leave the key there. */
#define KEY_F_PERSISTENT 0x100u

#define P256_PRIVATE_USAGE                                                                         \
	(PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_VERIFY_HASH |        \
	 PSA_KEY_USAGE_VERIFY_MESSAGE | PSA_KEY_USAGE_DERIVE)
#define P256_PUBLIC_USAGE (PSA_KEY_USAGE_VERIFY_HASH | PSA_KEY_USAGE_VERIFY_MESSAGE)
#define ES256_ALG         PSA_ALG_ECDSA(PSA_ALG_SHA_256)

/* A non-NULL address for empty inputs. */
static const uint8_t empty_input[1];

static const void *nonnull(const void *p)
{
	return p != NULL ? p : empty_input;
}

static bool iov_valid(const struct vouch_iov *iov, size_t iovcnt)
{
	if (iov == NULL && iovcnt > 0)
		return false;
	for (size_t i = 0; i < iovcnt; i++) {
		if (iov[i].base == NULL && iov[i].len > 0)
			return false;
	}
	return true;
}

/* ---- the PSA core ---- */

static bool psa_ready;

static int psa_up(void)
{
	if (psa_ready)
		return VOUCH_OK;
	if (psa_crypto_init() != PSA_SUCCESS)
		return VOUCH_ERR_CRYPTO;
	psa_ready = true;
	return VOUCH_OK;
}

void vouch_psa_shutdown(void)
{
	mbedtls_psa_crypto_free();
	psa_ready = false;
}

/* The port's error for a PSA status; fallback for the statuses that depend on the call. */
static int err_of(psa_status_t status, int fallback)
{
	switch (status) {
	case PSA_SUCCESS:
		return VOUCH_OK;
	case PSA_ERROR_INSUFFICIENT_MEMORY:
		return VOUCH_ERR_NOMEM;
	case PSA_ERROR_NOT_SUPPORTED:
		return VOUCH_ERR_UNSUPPORTED;
	case PSA_ERROR_INVALID_HANDLE:
	case PSA_ERROR_NOT_PERMITTED:
		return VOUCH_ERR_KEY;
	case PSA_ERROR_STORAGE_FAILURE:
	case PSA_ERROR_INSUFFICIENT_STORAGE:
		return VOUCH_ERR_IO;
	default:
		return fallback;
	}
}

/* ---- random ---- */

int vouch_random(void *buf, size_t len)
{
	int rc;

	if (buf == NULL && len > 0)
		return VOUCH_ERR_INVALID;
	if (len == 0)
		return VOUCH_OK;
	rc = psa_up();
	if (rc != VOUCH_OK)
		return rc;
	rc = err_of(psa_generate_random(buf, len), VOUCH_ERR_CRYPTO);
	if (rc != VOUCH_OK)
		vouch_wipe(buf, len);
	return rc;
}

/* ---- hashing and MACs ---- */

int vouch_sha256_v(const struct vouch_iov *iov, size_t iovcnt, uint8_t out[VOUCH_SHA256_LEN])
{
	psa_hash_operation_t op = PSA_HASH_OPERATION_INIT;
	size_t len = 0;
	int rc;

	if (out == NULL || !iov_valid(iov, iovcnt))
		return VOUCH_ERR_INVALID;
	rc = psa_up();
	if (rc != VOUCH_OK)
		goto out_wipe;
	rc = VOUCH_ERR_CRYPTO;
	if (psa_hash_setup(&op, PSA_ALG_SHA_256) != PSA_SUCCESS)
		goto out_abort;
	for (size_t i = 0; i < iovcnt; i++) {
		if (iov[i].len > 0 && psa_hash_update(&op, iov[i].base, iov[i].len) != PSA_SUCCESS)
			goto out_abort;
	}
	if (psa_hash_finish(&op, out, VOUCH_SHA256_LEN, &len) != PSA_SUCCESS ||
	    len != VOUCH_SHA256_LEN)
		goto out_abort;
	rc = VOUCH_OK;
out_abort:
	psa_hash_abort(&op);
out_wipe:
	if (rc != VOUCH_OK)
		vouch_wipe(out, VOUCH_SHA256_LEN);
	return rc;
}

/*
 * The incremental state lives in the caller's context (no malloc). may_alias: the context's
 * storage is declared as uint64_t words and only ever used through this type.
 */
struct __attribute__((__may_alias__)) sha256_state {
	psa_hash_operation_t op;
	bool active;
};

_Static_assert(sizeof(struct sha256_state) <= sizeof(((struct vouch_sha256_ctx *)0)->inplace),
               "struct vouch_sha256_ctx too small for a PSA hash operation");
_Static_assert(_Alignof(struct sha256_state) <= _Alignof(uint64_t),
               "struct vouch_sha256_ctx not aligned for a PSA hash operation");

static struct sha256_state *sha_state(struct vouch_sha256_ctx *ctx)
{
	return (struct sha256_state *)(void *)ctx->inplace;
}

void vouch_sha256_clear(struct vouch_sha256_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (sha_state(ctx)->active)
		psa_hash_abort(&sha_state(ctx)->op);
	vouch_wipe(ctx->inplace, sizeof(ctx->inplace));
}

int vouch_sha256_init(struct vouch_sha256_ctx *ctx)
{
	struct sha256_state *st;
	int rc;

	if (ctx == NULL)
		return VOUCH_ERR_INVALID;
	memset(ctx->inplace, 0, sizeof(ctx->inplace));
	st = sha_state(ctx);
	st->op = psa_hash_operation_init();
	rc = psa_up();
	if (rc != VOUCH_OK)
		return rc;
	if (psa_hash_setup(&st->op, PSA_ALG_SHA_256) != PSA_SUCCESS) {
		psa_hash_abort(&st->op);
		vouch_wipe(ctx->inplace, sizeof(ctx->inplace));
		return VOUCH_ERR_CRYPTO;
	}
	st->active = true;
	return VOUCH_OK;
}

int vouch_sha256_update(struct vouch_sha256_ctx *ctx, const void *data, size_t len)
{
	if (ctx == NULL || !sha_state(ctx)->active || (data == NULL && len > 0))
		return VOUCH_ERR_INVALID;
	if (len > 0 && psa_hash_update(&sha_state(ctx)->op, data, len) != PSA_SUCCESS) {
		vouch_sha256_clear(ctx);
		return VOUCH_ERR_CRYPTO;
	}
	return VOUCH_OK;
}

int vouch_sha256_final(struct vouch_sha256_ctx *ctx, uint8_t out[VOUCH_SHA256_LEN])
{
	int rc = VOUCH_ERR_CRYPTO;
	size_t len = 0;

	if (ctx == NULL || !sha_state(ctx)->active || out == NULL)
		return VOUCH_ERR_INVALID;
	if (psa_hash_finish(&sha_state(ctx)->op, out, VOUCH_SHA256_LEN, &len) == PSA_SUCCESS &&
	    len == VOUCH_SHA256_LEN)
		rc = VOUCH_OK;
	if (rc != VOUCH_OK)
		vouch_wipe(out, VOUCH_SHA256_LEN);
	vouch_sha256_clear(ctx);
	return rc;
}

/* A volatile key of raw bytes for one operation; the caller destroys it. */
static int import_raw(psa_key_type_t type, psa_key_usage_t usage, psa_algorithm_t alg,
                      const uint8_t *raw, size_t raw_len, psa_key_id_t *id)
{
	psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
	psa_status_t status;

	*id = 0;
	psa_set_key_type(&attr, type);
	psa_set_key_usage_flags(&attr, usage);
	psa_set_key_algorithm(&attr, alg);
	status = psa_import_key(&attr, raw, raw_len, id);
	psa_reset_key_attributes(&attr);
	return err_of(status, VOUCH_ERR_CRYPTO);
}

int vouch_hmac_sha256_v(const uint8_t *key, size_t key_len, const struct vouch_iov *iov,
                        size_t iovcnt, uint8_t out[VOUCH_SHA256_LEN])
{
	/* HMAC pads a short key with zeros to the block: the empty key is the one zero byte,
	 * which PSA (no empty keys) can import. */
	static const uint8_t zero_key[1];
	const psa_algorithm_t alg = PSA_ALG_HMAC(PSA_ALG_SHA_256);
	psa_mac_operation_t op = PSA_MAC_OPERATION_INIT;
	uint8_t hashed[VOUCH_SHA256_LEN];
	psa_key_id_t id = 0;
	size_t len = 0;
	int rc;

	if (out == NULL || (key == NULL && key_len > 0) || !iov_valid(iov, iovcnt))
		return VOUCH_ERR_INVALID;
	rc = psa_up();
	if (rc != VOUCH_OK)
		goto out_wipe;
	if (key_len > SHA256_BLOCK_LEN) {
		/* RFC 2104: a key longer than the block is its hash. Done here, so that the PSA
		 * key size limit never applies. */
		rc = vouch_sha256(key, key_len, hashed);
		if (rc != VOUCH_OK)
			goto out_wipe;
		key = hashed;
		key_len = sizeof(hashed);
	} else if (key_len == 0) {
		key = zero_key;
		key_len = sizeof(zero_key);
	}
	rc = import_raw(PSA_KEY_TYPE_HMAC, PSA_KEY_USAGE_SIGN_MESSAGE, alg, key, key_len, &id);
	if (rc != VOUCH_OK)
		goto out_wipe;
	rc = VOUCH_ERR_CRYPTO;
	if (psa_mac_sign_setup(&op, id, alg) != PSA_SUCCESS)
		goto out_abort;
	for (size_t i = 0; i < iovcnt; i++) {
		if (iov[i].len > 0 && psa_mac_update(&op, iov[i].base, iov[i].len) != PSA_SUCCESS)
			goto out_abort;
	}
	if (psa_mac_sign_finish(&op, out, VOUCH_SHA256_LEN, &len) != PSA_SUCCESS ||
	    len != VOUCH_SHA256_LEN)
		goto out_abort;
	rc = VOUCH_OK;
out_abort:
	psa_mac_abort(&op);
	psa_destroy_key(id);
out_wipe:
	vouch_wipe(hashed, sizeof(hashed));
	if (rc != VOUCH_OK)
		vouch_wipe(out, VOUCH_SHA256_LEN);
	return rc;
}

/* ---- HKDF (RFC 5869) ---- */

/* RFC 5869: an absent salt is HashLen zero bytes. */
static const uint8_t zero_salt[VOUCH_SHA256_LEN];

int vouch_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                      const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	psa_key_derivation_operation_t op = PSA_KEY_DERIVATION_OPERATION_INIT;
	int rc;

	if ((salt == NULL && salt_len > 0) || (ikm == NULL && ikm_len > 0) ||
	    (info == NULL && info_len > 0) || out == NULL || out_len == 0 || out_len > HKDF_OUT_MAX)
		return VOUCH_ERR_INVALID;
	if (salt == NULL || salt_len == 0) {
		salt = zero_salt;
		salt_len = sizeof(zero_salt);
	}
	rc = psa_up();
	if (rc != VOUCH_OK)
		goto out_wipe;
	rc = VOUCH_ERR_CRYPTO;
	if (psa_key_derivation_setup(&op, PSA_ALG_HKDF(PSA_ALG_SHA_256)) != PSA_SUCCESS ||
	    psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SALT, salt, salt_len) !=
	        PSA_SUCCESS ||
	    psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SECRET, nonnull(ikm),
	                                   ikm_len) != PSA_SUCCESS ||
	    psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_INFO, nonnull(info),
	                                   info_len) != PSA_SUCCESS ||
	    psa_key_derivation_output_bytes(&op, out, out_len) != PSA_SUCCESS)
		goto out_abort;
	rc = VOUCH_OK;
out_abort:
	psa_key_derivation_abort(&op); /* wipes the PRK it held */
out_wipe:
	if (rc != VOUCH_OK)
		vouch_wipe(out, out_len);
	return rc;
}

/* Extract is one HMAC: PRK = HMAC-SHA256(salt, IKM). */
int vouch_hkdf_sha256_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                              size_t ikm_len, uint8_t prk[VOUCH_SHA256_LEN])
{
	if ((salt == NULL && salt_len > 0) || (ikm == NULL && ikm_len > 0) || prk == NULL)
		return VOUCH_ERR_INVALID;
	if (salt == NULL || salt_len == 0) {
		salt = zero_salt;
		salt_len = sizeof(zero_salt);
	}
	return vouch_hmac_sha256(salt, salt_len, ikm, ikm_len, prk);
}

/* PSA 2.28 has no expand-only HKDF (PSA_ALG_HKDF_EXPAND came in 3.x): Mbed TLS's own. */
int vouch_hkdf_sha256_expand(const uint8_t prk[VOUCH_SHA256_LEN], const uint8_t *info,
                             size_t info_len, uint8_t *out, size_t out_len)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	if (prk == NULL || (info == NULL && info_len > 0) || out == NULL || out_len == 0 ||
	    out_len > HKDF_OUT_MAX)
		return VOUCH_ERR_INVALID;
	if (md == NULL || mbedtls_hkdf_expand(md, prk, VOUCH_SHA256_LEN, nonnull(info), info_len,
	                                      out, out_len) != 0) {
		vouch_wipe(out, out_len);
		return VOUCH_ERR_CRYPTO;
	}
	return VOUCH_OK;
}

/* ---- AEAD ---- */

static psa_algorithm_t aead_alg(enum vouch_aead_mode mode, size_t tag_len)
{
	return PSA_ALG_AEAD_WITH_SHORTENED_TAG(mode == VOUCH_AEAD_CCM ? PSA_ALG_CCM : PSA_ALG_GCM,
	                                       tag_len);
}

int vouch_backend_aead_seal(enum vouch_aead_mode mode, const uint8_t *key, size_t key_len,
                            const uint8_t *nonce, size_t nonce_len, const uint8_t *aad,
                            size_t aad_len, const uint8_t *pt, size_t pt_len, size_t tag_len,
                            uint8_t *ct)
{
	const psa_algorithm_t alg = aead_alg(mode, tag_len);
	psa_key_id_t id = 0;
	size_t out_len = 0;
	int rc;

	rc = psa_up();
	if (rc != VOUCH_OK)
		goto out_wipe;
	rc = import_raw(PSA_KEY_TYPE_AES, PSA_KEY_USAGE_ENCRYPT, alg, key, key_len, &id);
	if (rc != VOUCH_OK)
		goto out_wipe;
	rc = err_of(psa_aead_encrypt(id, alg, nonce, nonce_len, nonnull(aad), aad_len, nonnull(pt),
	                             pt_len, ct, pt_len + tag_len, &out_len),
	            VOUCH_ERR_CRYPTO);
	if (rc == VOUCH_OK && out_len != pt_len + tag_len)
		rc = VOUCH_ERR_CRYPTO;
	psa_destroy_key(id);
out_wipe:
	if (rc != VOUCH_OK)
		vouch_wipe(ct, pt_len + tag_len); /* pt may alias ct: nothing half-done survives */
	return rc;
}

int vouch_backend_aead_open(enum vouch_aead_mode mode, const uint8_t *key, size_t key_len,
                            const uint8_t *nonce, size_t nonce_len, const uint8_t *aad,
                            size_t aad_len, const uint8_t *ct, size_t ct_len, size_t tag_len,
                            uint8_t *pt)
{
	const psa_algorithm_t alg = aead_alg(mode, tag_len);
	uint8_t scratch[AES_BLOCK_LEN];
	psa_key_id_t id = 0;
	psa_status_t status;
	size_t pt_len, out_len = 0;
	int rc;

	pt_len = ct_len - tag_len;
	rc = psa_up();
	if (rc != VOUCH_OK)
		goto out_wipe;
	rc = import_raw(PSA_KEY_TYPE_AES, PSA_KEY_USAGE_DECRYPT, alg, key, key_len, &id);
	if (rc != VOUCH_OK)
		goto out_wipe;
	/* Mbed TLS reads the tag after the ciphertext and writes only pt_len bytes: decrypting in
	 * place (pt == ct) leaves the tag intact until it is checked. */
	status = psa_aead_decrypt(id, alg, nonce, nonce_len, nonnull(aad), aad_len, ct, ct_len,
	                          pt != NULL ? pt : scratch, pt_len, &out_len);
	rc = status == PSA_ERROR_INVALID_SIGNATURE ? VOUCH_ERR_VERIFY
	                                           : err_of(status, VOUCH_ERR_CRYPTO);
	if (rc == VOUCH_OK && out_len != pt_len)
		rc = VOUCH_ERR_CRYPTO;
	psa_destroy_key(id);
out_wipe:
	if (rc != VOUCH_OK && pt != NULL)
		vouch_wipe(pt, pt_len);
	vouch_wipe(scratch, sizeof(scratch));
	return rc;
}

/* ---- AES key wrap (RFC 3394) ----
 *
 * PSA 2.28 has no key wrap, and Debian's Mbed TLS is built without MBEDTLS_NIST_KW_C, so there is
 * no library implementation to call: unsupported. (Should it ever be enabled, mbedtls_nist_kw_*
 * with MBEDTLS_KW_MODE_KW is the call.)
 */
#if defined(MBEDTLS_NIST_KW_C)
#error "MBEDTLS_NIST_KW_C is enabled now: implement vouch_aes_kw_* with mbedtls_nist_kw_*"
#endif

int vouch_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
                      uint8_t *out)
{
	(void)kek;
	(void)kek_len;
	(void)in;
	(void)in_len;
	(void)out;
	return VOUCH_ERR_UNSUPPORTED;
}

int vouch_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
                        uint8_t *out)
{
	(void)kek;
	(void)kek_len;
	(void)in;
	(void)in_len;
	(void)out;
	return VOUCH_ERR_UNSUPPORTED;
}

/* ---- asymmetric keys ---- */

void vouch_key_init(struct vouch_key *key)
{
	if (key == NULL)
		return;
	memset(key, 0, sizeof(*key));
	key->type = VOUCH_KEY_NONE;
}

void vouch_key_clear(struct vouch_key *key)
{
	if (key == NULL)
		return;
	if (key->h.id != 0) {
		/* A persistent key stays in the store; only its copy in memory goes. */
		if ((key->flags & KEY_F_PERSISTENT) != 0)
			psa_purge_key(key->h.id);
		else
			psa_destroy_key(key->h.id);
	}
	vouch_wipe(key, sizeof(*key));
	key->type = VOUCH_KEY_NONE;
}

bool vouch_key_is_private(const struct vouch_key *key)
{
	return key != NULL && key->h.id != 0 && (key->flags & VOUCH_KEY_F_PRIVATE) != 0;
}

/* The handle must be empty (inited or cleared): filling a used one would leak its key. */
static bool key_slot_empty(const struct vouch_key *key)
{
	return key != NULL && key->h.id == 0;
}

static void key_set(struct vouch_key *key, enum vouch_key_type type, psa_key_id_t id,
                    uint32_t flags)
{
	key->type = type;
	key->flags = flags;
	key->h.id = id;
}

static psa_key_id_t key_id(const struct vouch_key *key, enum vouch_key_type type)
{
	if (key == NULL || key->type != type)
		return 0;
	return key->h.id;
}

/*
 * The policy of every private key the port makes. P-256: ECDSA with SHA-256 as the algorithm and
 * ECDH as the enrolment algorithm (an Mbed TLS 2.28 extension), because the sensor's identity key
 * both signs and agrees (EDHOC); X25519: ECDH. Never PSA_KEY_USAGE_EXPORT (nor COPY): the public
 * half is exported without it, the private half cannot leave.
 */
static int private_attributes(psa_key_attributes_t *attr, enum vouch_key_type type)
{
	switch (type) {
	case VOUCH_KEY_P256:
		psa_set_key_type(attr, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
		psa_set_key_bits(attr, 256);
		psa_set_key_usage_flags(attr, P256_PRIVATE_USAGE);
		psa_set_key_algorithm(attr, ES256_ALG);
		psa_set_key_enrollment_algorithm(attr, PSA_ALG_ECDH);
		return VOUCH_OK;
	case VOUCH_KEY_X25519:
		psa_set_key_type(attr, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_MONTGOMERY));
		psa_set_key_bits(attr, X25519_BITS);
		psa_set_key_usage_flags(attr, PSA_KEY_USAGE_DERIVE);
		psa_set_key_algorithm(attr, PSA_ALG_ECDH);
		return VOUCH_OK;
	case VOUCH_KEY_ED25519: /* not in Mbed TLS 2.28 */
	default:
		return VOUCH_ERR_UNSUPPORTED;
	}
}

/* Public keys: P-256 verifies (its ECDH peers are passed as exported bytes, which needs no
 * usage); X25519 public keys are only ever exported. */
static int public_attributes(psa_key_attributes_t *attr, enum vouch_key_type type)
{
	switch (type) {
	case VOUCH_KEY_P256:
		psa_set_key_type(attr, PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1));
		psa_set_key_bits(attr, 256);
		psa_set_key_usage_flags(attr, P256_PUBLIC_USAGE);
		psa_set_key_algorithm(attr, ES256_ALG);
		return VOUCH_OK;
	case VOUCH_KEY_X25519:
		psa_set_key_type(attr, PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_MONTGOMERY));
		psa_set_key_bits(attr, X25519_BITS);
		psa_set_key_usage_flags(attr, 0);
		psa_set_key_algorithm(attr, PSA_ALG_ECDH);
		return VOUCH_OK;
	default:
		return VOUCH_ERR_UNSUPPORTED;
	}
}

int vouch_key_generate(struct vouch_key *key, enum vouch_key_type type)
{
	psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t id = 0;
	int rc;

	if (!key_slot_empty(key))
		return VOUCH_ERR_INVALID;
	rc = private_attributes(&attr, type);
	if (rc != VOUCH_OK)
		return rc;
	rc = psa_up();
	if (rc != VOUCH_OK)
		return rc;
	rc = err_of(psa_generate_key(&attr, &id), VOUCH_ERR_CRYPTO);
	psa_reset_key_attributes(&attr);
	if (rc == VOUCH_OK)
		key_set(key, type, id, VOUCH_KEY_F_PRIVATE);
	return rc;
}

int vouch_key_import_private(struct vouch_key *key, enum vouch_key_type type, const uint8_t *raw,
                             size_t raw_len)
{
	psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t id = 0;
	int rc;

	if (!key_slot_empty(key) || raw == NULL)
		return VOUCH_ERR_INVALID;
	rc = private_attributes(&attr, type);
	if (rc != VOUCH_OK)
		return rc;
	/* Both raw forms are 32 bytes (P-256 scalar, X25519 scalar). */
	if (raw_len != VOUCH_P256_SCALAR_LEN)
		return VOUCH_ERR_KEY;
	rc = psa_up();
	if (rc != VOUCH_OK)
		return rc;
	/* PSA refuses a P-256 scalar of 0 or >= n here; X25519 clamps, as RFC 7748 says. */
	rc = err_of(psa_import_key(&attr, raw, raw_len, &id), VOUCH_ERR_KEY);
	psa_reset_key_attributes(&attr);
	if (rc == VOUCH_OK)
		key_set(key, type, id, VOUCH_KEY_F_PRIVATE);
	return rc;
}

/*
 * y from x on P-256 (SEC1 2.3.4): y^2 = x^3 - 3x + b mod p, and since p = 3 mod 4 the square
 * root is rhs^((p+1)/4). PSA 2.28 does not import compressed points (3.x does), so Mbed TLS's
 * bignum does the arithmetic; the point is then imported, and checked, like any other.
 */
static int p256_decompress(const uint8_t comp[VOUCH_P256_COMPRESSED_LEN],
                           uint8_t out[VOUCH_P256_POINT_LEN])
{
	int rc = VOUCH_ERR_CRYPTO;
	mbedtls_ecp_group grp;
	mbedtls_mpi x, rhs, e, y, check;

	mbedtls_ecp_group_init(&grp);
	mbedtls_mpi_init(&x);
	mbedtls_mpi_init(&rhs);
	mbedtls_mpi_init(&e);
	mbedtls_mpi_init(&y);
	mbedtls_mpi_init(&check);
	if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0 ||
	    mbedtls_mpi_read_binary(&x, comp + 1, P256_COORD_LEN) != 0)
		goto out_free;
	if (mbedtls_mpi_cmp_mpi(&x, &grp.P) >= 0) {
		rc = VOUCH_ERR_KEY;
		goto out_free;
	}
	if (mbedtls_mpi_mul_mpi(&rhs, &x, &x) != 0 ||
	    mbedtls_mpi_mod_mpi(&rhs, &rhs, &grp.P) != 0 ||
	    mbedtls_mpi_sub_int(&rhs, &rhs, 3) != 0 || mbedtls_mpi_mul_mpi(&rhs, &rhs, &x) != 0 ||
	    mbedtls_mpi_add_mpi(&rhs, &rhs, &grp.B) != 0 ||
	    mbedtls_mpi_mod_mpi(&rhs, &rhs, &grp.P) != 0)
		goto out_free;
	if (mbedtls_mpi_add_int(&e, &grp.P, 1) != 0 || mbedtls_mpi_shift_r(&e, 2) != 0 ||
	    mbedtls_mpi_exp_mod(&y, &rhs, &e, &grp.P, NULL) != 0)
		goto out_free;
	/* No square root: no point has this x. */
	if (mbedtls_mpi_mul_mpi(&check, &y, &y) != 0 ||
	    mbedtls_mpi_mod_mpi(&check, &check, &grp.P) != 0)
		goto out_free;
	if (mbedtls_mpi_cmp_mpi(&check, &rhs) != 0) {
		rc = VOUCH_ERR_KEY;
		goto out_free;
	}
	if ((unsigned)mbedtls_mpi_get_bit(&y, 0) != (comp[0] & 1u)) {
		/* y = 0 has no odd twin (and no P-256 point has y = 0). */
		if (mbedtls_mpi_cmp_int(&y, 0) == 0) {
			rc = VOUCH_ERR_KEY;
			goto out_free;
		}
		if (mbedtls_mpi_sub_mpi(&y, &grp.P, &y) != 0)
			goto out_free;
	}
	out[0] = 0x04;
	memcpy(out + 1, comp + 1, P256_COORD_LEN);
	if (mbedtls_mpi_write_binary(&y, out + 1 + P256_COORD_LEN, P256_COORD_LEN) != 0)
		goto out_free;
	rc = VOUCH_OK;
out_free:
	mbedtls_mpi_free(&check);
	mbedtls_mpi_free(&y);
	mbedtls_mpi_free(&e);
	mbedtls_mpi_free(&rhs);
	mbedtls_mpi_free(&x);
	mbedtls_ecp_group_free(&grp);
	return rc;
}

static int import_public_id(enum vouch_key_type type, const uint8_t *raw, size_t raw_len,
                            psa_key_id_t *id)
{
	psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
	uint8_t point[VOUCH_P256_POINT_LEN];
	int rc;

	*id = 0;
	rc = public_attributes(&attr, type);
	if (rc != VOUCH_OK)
		return rc;
	if (type == VOUCH_KEY_P256) {
		/* Uncompressed, or compressed (EDHOC sends x only); hybrid encodings are refused.
		 */
		if (raw_len == VOUCH_P256_POINT_LEN && raw[0] == 0x04) {
			memcpy(point, raw, raw_len);
		} else if (raw_len == VOUCH_P256_COMPRESSED_LEN &&
		           (raw[0] == 0x02 || raw[0] == 0x03)) {
			rc = p256_decompress(raw, point);
			if (rc != VOUCH_OK)
				return rc;
		} else {
			return VOUCH_ERR_KEY;
		}
		raw = point;
		raw_len = sizeof(point);
	} else if (raw_len != VOUCH_X25519_KEY_LEN) {
		return VOUCH_ERR_KEY;
	}
	rc = psa_up();
	if (rc != VOUCH_OK)
		return rc;
	/* PSA checks the point: on the curve, not infinity; X25519: not of low order. */
	rc = err_of(psa_import_key(&attr, raw, raw_len, id), VOUCH_ERR_KEY);
	psa_reset_key_attributes(&attr);
	return rc;
}

int vouch_key_import_public(struct vouch_key *key, enum vouch_key_type type, const uint8_t *raw,
                            size_t raw_len)
{
	psa_key_id_t id = 0;
	int rc;

	if (!key_slot_empty(key) || raw == NULL)
		return VOUCH_ERR_INVALID;
	rc = import_public_id(type, raw, raw_len, &id);
	if (rc == VOUCH_OK)
		key_set(key, type, id, 0);
	return rc;
}

/*
 * SubjectPublicKeyInfo (RFC 5280 4.1, RFC 5480 2). DER encodes a named-curve P-256 key in exactly
 * one way, so after the structure is parsed the whole input must equal that encoding: any other
 * encoding of the same values (long lengths, explicit parameters) is refused.
 */
static const uint8_t oid_ec_public_key[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t oid_secp256r1[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t spki_p256_prefix[26] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};
static const uint8_t spki_p256_compressed_prefix[26] = {
    0x30, 0x39, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x22, 0x00,
};

static bool buf_is(const mbedtls_asn1_buf *b, const uint8_t *v, size_t len)
{
	return b->len == len && memcmp(b->p, v, len) == 0;
}

int vouch_key_import_spki(struct vouch_key *key, const uint8_t *der, size_t der_len)
{
	unsigned char *p = (unsigned char *)der, *end;
	mbedtls_asn1_buf alg, params;
	mbedtls_asn1_bitstring bits;
	const uint8_t *prefix;
	size_t len;
	psa_key_id_t id = 0;
	int rc;

	if (!key_slot_empty(key) || der == NULL)
		return VOUCH_ERR_INVALID;
	/* mbedtls_asn1_* only read through p (the cast drops a const they do not need). */
	end = p + der_len;
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) !=
	        0 ||
	    p + len != end)
		return VOUCH_ERR_KEY;
	memset(&params, 0, sizeof(params));
	if (mbedtls_asn1_get_alg(&p, end, &alg, &params) != 0 ||
	    mbedtls_asn1_get_bitstring(&p, end, &bits) != 0 || p != end)
		return VOUCH_ERR_KEY;
	/* Well-formed, but not an EC key: Ed25519 (not in Mbed TLS 2.28), X25519, RSA... */
	if (!buf_is(&alg, oid_ec_public_key, sizeof(oid_ec_public_key)))
		return VOUCH_ERR_UNSUPPORTED;
	/* An EC key on another curve, or with explicit parameters: refused, as by OpenSSL. */
	if (params.tag != MBEDTLS_ASN1_OID ||
	    !buf_is(&params, oid_secp256r1, sizeof(oid_secp256r1)))
		return VOUCH_ERR_KEY;
	if (bits.unused_bits != 0)
		return VOUCH_ERR_KEY;
	if (bits.len == VOUCH_P256_POINT_LEN)
		prefix = spki_p256_prefix;
	else if (bits.len == VOUCH_P256_COMPRESSED_LEN)
		prefix = spki_p256_compressed_prefix;
	else
		return VOUCH_ERR_KEY;
	if (der_len != sizeof(spki_p256_prefix) + bits.len ||
	    memcmp(der, prefix, sizeof(spki_p256_prefix)) != 0)
		return VOUCH_ERR_KEY;
	rc = import_public_id(VOUCH_KEY_P256, bits.p, bits.len, &id);
	if (rc == VOUCH_OK)
		key_set(key, VOUCH_KEY_P256, id, 0);
	return rc;
}

int vouch_key_export_public(const struct vouch_key *key, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
	size_t need, len = 0;
	int rc;

	if (out_len != NULL)
		*out_len = 0;
	if (key == NULL || out == NULL || out_len == NULL)
		return VOUCH_ERR_INVALID;
	if (key->h.id == 0)
		return VOUCH_ERR_KEY;
	switch (key->type) {
	case VOUCH_KEY_P256:
		need = VOUCH_P256_POINT_LEN;
		break;
	case VOUCH_KEY_X25519:
		need = VOUCH_X25519_KEY_LEN;
		break;
	default:
		return VOUCH_ERR_KEY;
	}
	if (out_cap < need)
		return VOUCH_ERR_BUFFER;
	rc = err_of(psa_export_public_key(key->h.id, out, need, &len), VOUCH_ERR_CRYPTO);
	if (rc == VOUCH_OK && len != need)
		rc = VOUCH_ERR_CRYPTO;
	if (rc == VOUCH_OK)
		*out_len = need;
	return rc;
}

/* ---- signatures ---- */

int vouch_sign(const struct vouch_key *key, const struct vouch_iov *msg, size_t iovcnt,
               uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
	uint8_t hash[VOUCH_SHA256_LEN];
	size_t len = 0;
	int rc;

	if (sig_len != NULL)
		*sig_len = 0;
	if (key == NULL || sig == NULL || sig_len == NULL || !iov_valid(msg, iovcnt))
		return VOUCH_ERR_INVALID;
	if (!vouch_key_is_private(key) || key->type != VOUCH_KEY_P256)
		return VOUCH_ERR_KEY;
	if (sig_cap < VOUCH_P256_SIG_LEN)
		return VOUCH_ERR_BUFFER;
	/* Hashed here, piece by piece, so that the message is never joined. */
	rc = vouch_sha256_v(msg, iovcnt, hash);
	if (rc != VOUCH_OK)
		return rc;
	rc = err_of(
	    psa_sign_hash(key->h.id, ES256_ALG, hash, sizeof(hash), sig, VOUCH_P256_SIG_LEN, &len),
	    VOUCH_ERR_CRYPTO);
	if (rc == VOUCH_OK && len != VOUCH_P256_SIG_LEN)
		rc = VOUCH_ERR_CRYPTO;
	if (rc == VOUCH_OK)
		*sig_len = VOUCH_P256_SIG_LEN;
	else
		vouch_wipe(sig, VOUCH_P256_SIG_LEN);
	return rc;
}

/*
 * PSA takes the raw r||s of P1363/COSE as it is, and Mbed TLS's ECDSA verification refuses r or
 * s outside [1, n-1]; the length is checked first. Any refusal is a failed verification.
 */
int vouch_verify(const struct vouch_key *key, const struct vouch_iov *msg, size_t iovcnt,
                 const uint8_t *sig, size_t sig_len)
{
	uint8_t hash[VOUCH_SHA256_LEN];
	psa_status_t status;
	int rc;

	if (key == NULL || (sig == NULL && sig_len > 0) || !iov_valid(msg, iovcnt))
		return VOUCH_ERR_INVALID;
	if (key->h.id == 0 || key->type != VOUCH_KEY_P256)
		return VOUCH_ERR_KEY;
	if (sig_len != VOUCH_P256_SIG_LEN)
		return VOUCH_ERR_VERIFY;
	rc = vouch_sha256_v(msg, iovcnt, hash);
	if (rc != VOUCH_OK)
		return rc;
	status = psa_verify_hash(key->h.id, ES256_ALG, hash, sizeof(hash), sig, sig_len);
	if (status == PSA_SUCCESS)
		return VOUCH_OK;
	if (status == PSA_ERROR_INVALID_SIGNATURE || status == PSA_ERROR_INVALID_ARGUMENT)
		return VOUCH_ERR_VERIFY;
	return err_of(status, VOUCH_ERR_CRYPTO);
}

/* ---- ECDH ---- */

/* The peer's public half as bytes (the form psa_raw_key_agreement takes), then the agreement,
 * which checks the peer point again. */
static int ecdh_derive(psa_key_id_t mine, psa_key_id_t theirs, size_t point_len, uint8_t *out,
                       size_t out_len)
{
	uint8_t point[VOUCH_P256_POINT_LEN];
	psa_status_t status;
	size_t len = 0;
	int rc;

	rc = err_of(psa_export_public_key(theirs, point, point_len, &len), VOUCH_ERR_KEY);
	if (rc == VOUCH_OK && len != point_len)
		rc = VOUCH_ERR_KEY;
	if (rc != VOUCH_OK)
		goto out_wipe;
	status = psa_raw_key_agreement(PSA_ALG_ECDH, mine, point, point_len, out, out_len, &len);
	rc =
	    err_of(status, status == PSA_ERROR_INVALID_ARGUMENT ? VOUCH_ERR_KEY : VOUCH_ERR_CRYPTO);
	if (rc == VOUCH_OK && len != out_len)
		rc = VOUCH_ERR_CRYPTO;
out_wipe:
	if (rc != VOUCH_OK)
		vouch_wipe(out, out_len);
	return rc;
}

int vouch_ecdh_p256(const struct vouch_key *priv, const struct vouch_key *peer,
                    uint8_t out[VOUCH_P256_SCALAR_LEN])
{
	psa_key_id_t mine, theirs;

	if (priv == NULL || peer == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	mine = key_id(priv, VOUCH_KEY_P256);
	theirs = key_id(peer, VOUCH_KEY_P256);
	if (mine == 0 || theirs == 0 || !vouch_key_is_private(priv))
		return VOUCH_ERR_KEY;
	return ecdh_derive(mine, theirs, VOUCH_P256_POINT_LEN, out, VOUCH_P256_SCALAR_LEN);
}

int vouch_ecdh_x25519(const struct vouch_key *priv, const struct vouch_key *peer,
                      uint8_t out[VOUCH_X25519_KEY_LEN])
{
	static const uint8_t zero[VOUCH_X25519_KEY_LEN];
	psa_key_id_t mine, theirs;
	int rc;

	if (priv == NULL || peer == NULL || out == NULL)
		return VOUCH_ERR_INVALID;
	mine = key_id(priv, VOUCH_KEY_X25519);
	theirs = key_id(peer, VOUCH_KEY_X25519);
	if (mine == 0 || theirs == 0 || !vouch_key_is_private(priv))
		return VOUCH_ERR_KEY;
	rc = ecdh_derive(mine, theirs, VOUCH_X25519_KEY_LEN, out, VOUCH_X25519_KEY_LEN);
	/* Mbed TLS refuses low-order points on import already; this is the RFC 7748 6.1 check. */
	if (rc == VOUCH_OK && vouch_ct_equal(out, zero, sizeof(zero))) {
		vouch_wipe(out, VOUCH_X25519_KEY_LEN);
		rc = VOUCH_ERR_KEY;
	}
	return rc;
}

/* ---- persistent keys (the sensor's secure element) ---- */

static bool persistent_id_valid(uint32_t id)
{
	return id >= PSA_KEY_ID_USER_MIN && id <= PSA_KEY_ID_USER_MAX;
}

/*
 * The port's error for a key the store could not load. The ITS says DATA_CORRUPT for a damaged
 * file; the PSA core says STORAGE_FAILURE both for a file it cannot parse and for an I/O error,
 * so the ITS is asked which: a sound file the core cannot parse is a bad key, not an I/O error.
 */
static int load_error(uint32_t id, psa_status_t status)
{
	struct psa_storage_info_t info;

	switch (status) {
	case PSA_ERROR_INVALID_HANDLE:
	case PSA_ERROR_DOES_NOT_EXIST:
		return VOUCH_ERR_KEY_NOT_FOUND;
	case PSA_ERROR_DATA_CORRUPT:
	case PSA_ERROR_DATA_INVALID:
	case PSA_ERROR_INVALID_ARGUMENT:
	case PSA_ERROR_NOT_SUPPORTED:
		return VOUCH_ERR_KEY;
	case PSA_ERROR_STORAGE_FAILURE:
		return psa_its_get_info(id, &info) == PSA_SUCCESS ? VOUCH_ERR_KEY : VOUCH_ERR_IO;
	default:
		return err_of(status, VOUCH_ERR_CRYPTO);
	}
}

int vouch_key_generate_persistent(struct vouch_key *key, enum vouch_key_type type, uint32_t id)
{
	psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t got = 0;
	psa_status_t status;
	int rc;

	if (!key_slot_empty(key) || !persistent_id_valid(id))
		return VOUCH_ERR_INVALID;
	rc = private_attributes(&attr, type);
	if (rc != VOUCH_OK)
		return rc;
	if (vouch_psa_storage() == NULL)
		return VOUCH_ERR_INVALID;
	rc = psa_up();
	if (rc != VOUCH_OK)
		return rc;
	psa_set_key_id(&attr, id);
	psa_set_key_lifetime(&attr, PSA_KEY_LIFETIME_PERSISTENT);
	status = psa_generate_key(&attr, &got);
	psa_reset_key_attributes(&attr);
	if (status == PSA_ERROR_ALREADY_EXISTS)
		return VOUCH_ERR_KEY_EXISTS;
	rc = err_of(status, VOUCH_ERR_CRYPTO);
	if (rc != VOUCH_OK)
		return rc;
	/* The key stays loaded in PSA's key cache until the handle is cleared. */
	key_set(key, type, got, VOUCH_KEY_F_PRIVATE | KEY_F_PERSISTENT);
	return VOUCH_OK;
}

/* What the store holds under id must be a key this port made: a P-256 or X25519 key pair, and
 * not exportable. Anything else is refused rather than half-used. */
static int persistent_type(const psa_key_attributes_t *attr, enum vouch_key_type *type)
{
	psa_key_type_t t = psa_get_key_type(attr);
	size_t bits = psa_get_key_bits(attr);

	psa_key_attributes_t want = PSA_KEY_ATTRIBUTES_INIT;
	enum vouch_key_type vt;

	/* Exactly what vouch_key_generate_persistent() writes: the default location, the port's
	 * algorithms and usages (so never EXPORT or COPY). */
	if (psa_get_key_lifetime(attr) != PSA_KEY_LIFETIME_PERSISTENT)
		return VOUCH_ERR_KEY;
	if (t == PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1) && bits == 256)
		vt = VOUCH_KEY_P256;
	else if (t == PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_MONTGOMERY) && bits == X25519_BITS)
		vt = VOUCH_KEY_X25519;
	else
		return VOUCH_ERR_KEY;
	(void)private_attributes(&want, vt);
	if (psa_get_key_usage_flags(attr) != psa_get_key_usage_flags(&want) ||
	    psa_get_key_algorithm(attr) != psa_get_key_algorithm(&want) ||
	    psa_get_key_enrollment_algorithm(attr) != psa_get_key_enrollment_algorithm(&want))
		return VOUCH_ERR_KEY;
	*type = vt;
	return VOUCH_OK;
}

/* The key material itself: its public half must come out (a record of the right type over
 * short or invalid bytes is refused here, not at its first use). */
static int persistent_material_ok(psa_key_id_t id)
{
	uint8_t pub[PSA_KEY_EXPORT_ECC_PUBLIC_KEY_MAX_SIZE(256)];
	size_t len = 0;

	return psa_export_public_key(id, pub, sizeof(pub), &len) == PSA_SUCCESS && len > 0
	           ? VOUCH_OK
	           : VOUCH_ERR_KEY;
}

int vouch_key_open_persistent(struct vouch_key *key, uint32_t id)
{
	psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
	enum vouch_key_type type = VOUCH_KEY_NONE;
	psa_status_t status;
	int rc;

	if (!key_slot_empty(key) || !persistent_id_valid(id) || vouch_psa_storage() == NULL)
		return VOUCH_ERR_INVALID;
	rc = psa_up();
	if (rc != VOUCH_OK)
		return rc;
	/* This loads the key from the store, which checks the file. */
	status = psa_get_key_attributes(id, &attr);
	if (status != PSA_SUCCESS) {
		rc = load_error(id, status);
		goto out_reset;
	}
	rc = persistent_type(&attr, &type);
	if (rc == VOUCH_OK)
		rc = persistent_material_ok(id);
	if (rc == VOUCH_OK)
		key_set(key, type, id, VOUCH_KEY_F_PRIVATE | KEY_F_PERSISTENT);
out_reset:
	psa_reset_key_attributes(&attr);
	/* Loaded, the key stays in PSA's key cache until the handle is cleared; refused, it
	 * leaves now. */
	if (rc != VOUCH_OK)
		psa_purge_key(id);
	return rc;
}

int vouch_key_destroy_persistent(uint32_t id)
{
	psa_status_t status;
	int rc;

	if (!persistent_id_valid(id) || vouch_psa_storage() == NULL)
		return VOUCH_ERR_INVALID;
	rc = psa_up();
	if (rc != VOUCH_OK)
		return rc;
	status = psa_destroy_key(id);
	if (status == PSA_SUCCESS) {
		struct psa_storage_info_t info;

		/* A record whose lifetime says volatile is "destroyed" from the cache only: its
		 * file must go too, or the id stays taken and the device cannot start anew. */
		if (psa_its_get_info(id, &info) == PSA_ERROR_DOES_NOT_EXIST)
			return VOUCH_OK;
		status = psa_its_remove(id);
		return status == PSA_SUCCESS || status == PSA_ERROR_DOES_NOT_EXIST ? VOUCH_OK
		                                                                   : VOUCH_ERR_IO;
	}
	rc = load_error(id, status);
	if (rc != VOUCH_ERR_KEY)
		return rc;
	/* The core cannot load a damaged key, so it cannot destroy it: the file goes anyway, as
	 * decommissioning must be possible whatever state the key is in. */
	psa_purge_key(id);
	status = psa_its_remove(id);
	if (status == PSA_SUCCESS)
		return VOUCH_OK;
	return status == PSA_ERROR_DOES_NOT_EXIST ? VOUCH_ERR_KEY_NOT_FOUND : VOUCH_ERR_IO;
}

const char *vouch_crypto_backend(void)
{
	return "psa";
}
