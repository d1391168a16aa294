/*
 * vouch — keys in PKCS#11 tokens (vouchd's HSM, the admin's token, later the phone's keystore).
 *
 * A struct vouch_p11 is one token of one PKCS#11 module, found by its label, with a logged-in
 * user session. Keys are generated inside the token (non-extractable, sensitive) and loaded as
 * crypto-port handles (struct vouch_key, include/vouch/crypto.h): vouch_sign() on such a handle,
 * and every OpenSSL call given its EVP_PKEY (X509_sign, X509_CRL_sign, OCSP_basic_sign,
 * SSL_CTX_use_PrivateKey), signs inside the token through libp11.
 *
 * PINs are generated from the CSPRNG at token creation, written only to 0600 files, read from
 * there at open and wiped as soon as the login is done. They never appear in an argument list,
 * the environment or a log.
 *
 * Lifetime: every key handle loaded from a token must be vouch_key_clear()ed (and every EVP_PKEY
 * taken from it released by whoever took a reference) before vouch_p11_close(): the EVP_PKEY
 * refers to the token's session. Opening several tokens of the same module in one process is
 * fine (the module is loaded and initialised once and reference-counted).
 *
 * Threads: calls on one struct vouch_p11 are not synchronised; signing through loaded keys from
 * several threads is (libp11 keeps a session pool).
 */
#ifndef VOUCH_P11_H
#define VOUCH_P11_H

#include "vouch/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* OpenSSL's EVP_PKEY, declared without pulling OpenSSL headers into every user of this one. */
struct evp_pkey_st;

/* A token label is at most 32 bytes (CK_TOKEN_INFO.label); an object label we cap at 64. */
#define VOUCH_P11_TOKEN_LABEL_MAX 32
#define VOUCH_P11_KEY_LABEL_MAX   64
#define VOUCH_P11_KEY_ID_MAX      32
/* Generated PINs: this many characters from a 64-symbol alphabet (192 bits). */
#define VOUCH_P11_PIN_LEN 32

#define VOUCH_P11_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

struct vouch_p11;

/* ---- SoftHSM2 per-site configuration ----
 *
 * vouch_p11_softhsm_init() creates DIR/tokens (0700) and DIR/softhsm2.conf (0600, tokendir =
 * DIR/tokens as an absolute path; DIR must exist) when absent, keeps them when present, then points
 * SOFTHSM2_CONF at the file. vouch_p11_softhsm_use() only points SOFTHSM2_CONF at
 * DIR/softhsm2.conf, which must exist (VOUCH_ERR_P11_NOT_FOUND otherwise). Either must run before
 * the module is first loaded in the process (SoftHSM2 reads its configuration when initialised). */
int vouch_p11_softhsm_init(const char *dir);
int vouch_p11_softhsm_use(const char *dir);

/* ---- tokens ---- */

/*
 * Initialise a new token labelled `label` on the first free (uninitialised) slot of `module`
 * with fresh random SO and user PINs, written to so_pin_path and user_pin_path (created 0600,
 * exclusively). Refused with VOUCH_ERR_P11_EXISTS when either file exists or a token with that
 * label is already present; VOUCH_ERR_P11_NOT_FOUND when no free slot exists. On failure no
 * PIN file is left behind.
 */
int vouch_p11_token_create(const char *module, const char *label, const char *user_pin_path,
                           const char *so_pin_path);

/*
 * Load `module` (NULL: VOUCH_P11_SOFTHSM_MODULE), find the token labelled `label`, read the
 * user PIN from pin_path (surrounding whitespace ignored), log in, wipe the PIN.
 * VOUCH_ERR_P11_NOT_FOUND: no such token or PIN file; VOUCH_ERR_P11_PIN: PIN refused, locked
 * or the file unreadable / not private (group or other may access it).
 */
int vouch_p11_open(struct vouch_p11 **out, const char *module, const char *label,
                   const char *pin_path);

/*
 * The same with a user PIN chosen by a person (the wallet's unlock PIN, standing in for biometric
 * unlock) and given from memory: token_create_pin sets it as the user PIN (the SO PIN is still
 * random, written to so_pin_path) and writes it nowhere; open_pin logs in with it. The caller
 * wipes it. VOUCH_ERR_INVALID for a PIN shorter than VOUCH_P11_USER_PIN_MIN or longer than
 * VOUCH_P11_USER_PIN_MAX bytes. A token opened with open_pin is not shared: opening it again in
 * the same process while it is open is refused (VOUCH_ERR_P11_EXISTS), since an already
 * logged-in token cannot check a PIN.
 */
#define VOUCH_P11_USER_PIN_MIN 4 /* SoftHSM2's minimum */
#define VOUCH_P11_USER_PIN_MAX 128
int vouch_p11_token_create_pin(const char *module, const char *label, const char *user_pin,
                               const char *so_pin_path);
int vouch_p11_open_pin(struct vouch_p11 **out, const char *module, const char *label,
                       const char *pin);

/* Log out, close the sessions, release the module. NULL is a no-op. */
void vouch_p11_close(struct vouch_p11 *p11);

/* ---- keys ---- */

/*
 * Generate a key pair inside the token: private key CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE,
 * not CKA_EXTRACTABLE, CKA_SIGN (and CKA_DERIVE for P-256); both halves labelled `label` with
 * CKA_ID `id`. VOUCH_KEY_P256 always; VOUCH_KEY_ED25519 when the module supports
 * CKM_EC_EDWARDS_KEY_PAIR_GEN (else VOUCH_ERR_UNSUPPORTED). VOUCH_ERR_P11_EXISTS when an
 * object with that label exists.
 */
int vouch_p11_key_generate(struct vouch_p11 *p11, enum vouch_key_type type, const char *label,
                           const uint8_t *id, size_t id_len);

/*
 * Fill an empty (vouch_key_init'ed) handle with the private key labelled `label`: type set,
 * VOUCH_KEY_F_PRIVATE set, h.ptr an EVP_PKEY whose operations run in the token. The handle owns
 * one reference; vouch_key_clear() drops it (the key stays in the token). P-256 only in this
 * build (libp11 0.4.12 has no EdDSA): an Ed25519 key is VOUCH_ERR_UNSUPPORTED.
 */
int vouch_p11_key_load(struct vouch_p11 *p11, const char *label, struct vouch_key *key);

/* Fill an empty handle with the public half of the key labelled `label`, as an ordinary
 * in-memory public key (no token reference; it outlives vouch_p11_close). */
int vouch_p11_key_load_public(struct vouch_p11 *p11, const char *label, struct vouch_key *pub);

/* The EVP_PKEY inside a loaded handle, borrowed (EVP_PKEY_up_ref() to keep it beyond the
 * handle); NULL for an empty handle. For OpenSSL calls that take a key. */
struct evp_pkey_st *vouch_p11_key_evp(const struct vouch_key *key);

/* What the token says about a private key (for checks and `ca show`). */
struct vouch_p11_key_info {
	enum vouch_key_type type;
	bool sensitive;         /* CKA_SENSITIVE */
	bool extractable;       /* CKA_EXTRACTABLE */
	bool always_sensitive;  /* CKA_ALWAYS_SENSITIVE */
	bool never_extractable; /* CKA_NEVER_EXTRACTABLE */
	bool value_readable;    /* C_GetAttributeValue(CKA_VALUE) succeeded: must be false */
};

int vouch_p11_key_info(struct vouch_p11 *p11, const char *label, struct vouch_p11_key_info *info);

/* ---- secret keys: sealing small secrets (TOTP seeds) with a key that never leaves the token ----
 */

#define VOUCH_P11_SEAL_IV  12
#define VOUCH_P11_SEAL_TAG 16
#define VOUCH_P11_SEAL_MAX 256 /* largest plaintext + tag vouch_p11_unseal handles */

/* Whether an object labelled label exists in the token. */
bool vouch_p11_object_exists(struct vouch_p11 *p11, const char *label);

/* Generate an AES-256 key inside the token: CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not
 * CKA_EXTRACTABLE, encrypt/decrypt only (no wrap). VOUCH_ERR_P11_EXISTS when the label is taken. */
int vouch_p11_aes_generate(struct vouch_p11 *p11, const char *label);

/* AES-256-GCM with the token key `label`: out = 12-byte random IV || ciphertext || 16-byte tag,
 * aad authenticated (bind the secret to its owner). unseal: VOUCH_ERR_VERIFY when the tag, the
 * aad or the key does not match. Plaintexts up to VOUCH_P11_SEAL_MAX - 16 bytes. */
int vouch_p11_seal(struct vouch_p11 *p11, const char *label, const uint8_t *aad, size_t aad_len,
                   const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap, size_t *out_len);
int vouch_p11_unseal(struct vouch_p11 *p11, const char *label, const uint8_t *aad, size_t aad_len,
                     const uint8_t *sealed, size_t sealed_len, uint8_t *out, size_t cap,
                     size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
