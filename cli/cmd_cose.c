/*
 * Offline COSE / CWT tools: `vouch cose dump` and `vouch cwt verify`. They use the same strict
 * decoders as vouchd and the sensors, so what they refuse, vouch refuses everywhere.
 */
#define _GNU_SOURCE /* getopt_long, strdup */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "vouch/cwt.h"

static json_t *hex_json(const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * len + 1);
	json_t *j;

	if (s == NULL)
		return json_null();
	for (size_t i = 0; i < len; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * len] = '\0';
	j = json_string(s);
	free(s);
	return j;
}

/*
 * Any strictly valid CBOR item as JSON: byte strings as hex, tags as {"tag": n, "value": v},
 * map keys as their JSON text. Recursion is bounded by the validator's depth limit.
 */
static json_t *item_json(struct vouch_cbor_reader *r)
{
	enum vouch_cbor_type t;
	const uint8_t *b;
	const char *s;
	size_t n;
	uint64_t u;
	int64_t i;
	double d;
	bool v;
	json_t *j;

	if (vouch_cbor_peek(r, &t) != VOUCH_OK)
		return NULL;
	switch (t) {
	case VOUCH_CBOR_UINT:
		if (vouch_cbor_read_uint(r, &u) != VOUCH_OK)
			return NULL;
		return u <= INT64_MAX ? json_integer((json_int_t)u) : json_real((double)u);
	case VOUCH_CBOR_NEGINT:
		if (vouch_cbor_read_int(r, &i) != VOUCH_OK) {
			/* below INT64_MIN: show it approximately rather than fail */
			return vouch_cbor_skip(r) == VOUCH_OK ? json_string("<negint below int64>")
							      : NULL;
		}
		return json_integer(i);
	case VOUCH_CBOR_BSTR:
		return vouch_cbor_read_bstr(r, &b, &n) == VOUCH_OK ? hex_json(b, n) : NULL;
	case VOUCH_CBOR_TSTR:
		return vouch_cbor_read_tstr(r, &s, &n) == VOUCH_OK ? json_stringn(s, n) : NULL;
	case VOUCH_CBOR_ARRAY:
		if (vouch_cbor_read_array(r, &n) != VOUCH_OK)
			return NULL;
		j = json_array();
		for (size_t k = 0; k < n; k++) {
			json_t *e = item_json(r);
			if (e == NULL) {
				json_decref(j);
				return NULL;
			}
			json_array_append_new(j, e);
		}
		return j;
	case VOUCH_CBOR_MAP:
		if (vouch_cbor_read_map(r, &n) != VOUCH_OK)
			return NULL;
		j = json_object();
		for (size_t k = 0; k < n; k++) {
			json_t *key = item_json(r), *val = key ? item_json(r) : NULL;
			char *ks;
			if (val == NULL) {
				json_decref(key);
				json_decref(j);
				return NULL;
			}
			ks = json_is_string(key) ? strdup(json_string_value(key))
						 : json_dumps(key, JSON_ENCODE_ANY | JSON_COMPACT);
			json_object_set_new(j, ks ? ks : "?", val);
			free(ks);
			json_decref(key);
		}
		return j;
	case VOUCH_CBOR_TAG:
		if (vouch_cbor_read_tag(r, &u) != VOUCH_OK)
			return NULL;
		j = item_json(r);
		return j ? json_pack("{s:I,s:o}", "tag", (json_int_t)u, "value", j) : NULL;
	case VOUCH_CBOR_FLOAT:
		return vouch_cbor_read_float(r, &d) == VOUCH_OK ? json_real(d) : NULL;
	case VOUCH_CBOR_BOOL:
		return vouch_cbor_read_bool(r, &v) == VOUCH_OK ? json_boolean(v) : NULL;
	case VOUCH_CBOR_NULL:
		return vouch_cbor_read_null(r) == VOUCH_OK ? json_null() : NULL;
	case VOUCH_CBOR_UNDEFINED:
	case VOUCH_CBOR_SIMPLE:
		return vouch_cbor_skip(r) == VOUCH_OK ? json_string("<simple>") : NULL;
	}
	return NULL;
}

static json_t *raw_json(const uint8_t *p, size_t len)
{
	struct vouch_cbor_reader r;

	if (vouch_cbor_validate(p, len, NULL) != VOUCH_OK)
		return hex_json(p, len);
	vouch_cbor_reader_init(&r, p, len);
	return item_json(&r);
}

static json_t *headers_json(const struct vouch_cose_headers *h)
{
	json_t *j = json_object();

	json_object_set_new(j, "protected", h->protected_len
						    ? raw_json(h->protected_bstr, h->protected_len)
						    : json_object());
	json_object_set_new(j, "unprotected", raw_json(h->unprotected_map, h->unprotected_len));
	return j;
}

/* The claims with the registered ones named; any other claim under its label. */
static json_t *claims_json(const struct vouch_cwt_claims *c)
{
	static const char *const names[] = {NULL, "iss", "sub", "aud", "exp", "nbf", "iat", "cti"};
	json_t *all = raw_json(c->map, c->map_len), *out = json_object();
	const char *label;
	json_t *v;

	if (all == NULL)
		return out;
	json_object_foreach(all, label, v) {
		char *end;
		long n = strtol(label, &end, 10);

		if (*end == '\0' && n >= 1 && n <= 7)
			json_object_set(out, names[n], v);
		else if (*end == '\0' && n == VOUCH_CWT_CNF && c->cnf_kind == VOUCH_CWT_CNF_COSE_KEY)
			json_object_set_new(out, "cnf",
					    json_pack("{s:O}", "COSE_Key", json_object_get(v, "1")));
		else if (*end == '\0' && n == VOUCH_CWT_CNF)
			json_object_set(out, "cnf", v);
		else
			json_object_set(out, label, v);
	}
	json_decref(all);
	return out;
}

static void print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	putchar('\n');
	json_decref(j);
}

/* Sign1 and Mac0 share a shape: an untagged one is a Mac0 when its algorithm is a MAC. */
static bool is_mac0(const uint8_t *buf, size_t len)
{
	struct vouch_cose_mac0 m;

	return vouch_cose_mac0_decode(buf, len, &m) == VOUCH_OK && m.hdr.has_alg &&
	       (m.hdr.alg == VOUCH_COSE_ALG_HMAC_256_64 || m.hdr.alg == VOUCH_COSE_ALG_HMAC_256_256);
}

/* Describe the top-level structure: an optional CWT tag, then the COSE message it holds. */
static int dump(const uint8_t *buf, size_t len)
{
	struct vouch_cbor_reader r;
	enum vouch_cbor_type t = VOUCH_CBOR_NULL;
	uint64_t tag = 0;
	size_t n = 0;
	const uint8_t *msg;
	size_t msg_len;
	json_t *out = json_object();
	struct vouch_cose_sign1 s1;
	struct vouch_cose_mac0 m0;
	struct vouch_cose_encrypt0 e0;
	struct vouch_cose_encrypt e;
	struct vouch_cwt_claims c;
	const uint8_t *payload = NULL;
	size_t payload_len = 0;
	int rc = vouch_cbor_validate(buf, len, NULL);

	if (rc != VOUCH_OK)
		goto refused;
	vouch_cbor_reader_init(&r, buf, len);
	json_object_set_new(out, "cwt_tag", json_false());
	if (vouch_cbor_peek(&r, &t) == VOUCH_OK && t == VOUCH_CBOR_TAG) {
		vouch_cbor_read_tag(&r, &tag);
		if (tag == VOUCH_CWT_TAG) {
			json_object_set_new(out, "cwt_tag", json_true());
			tag = 0;
		} else {
			r.pos = 0;
		}
	}
	/* The strict COSE decoders take it from here, tag included. */
	msg = buf + r.pos;
	msg_len = len - r.pos;
	if (vouch_cbor_peek(&r, &t) == VOUCH_OK && t == VOUCH_CBOR_TAG)
		vouch_cbor_read_tag(&r, &tag);
	if (vouch_cbor_read_array(&r, &n) != VOUCH_OK) {
		rc = VOUCH_ERR_COSE_STRUCTURE;
		goto refused;
	}
	if (n == 4 && tag == 0) {
		/* an untagged COSE_Encrypt ends in an array of recipients */
		for (int i = 0; i < 3; i++)
			vouch_cbor_skip(&r);
		if (vouch_cbor_peek(&r, &t) == VOUCH_OK && t == VOUCH_CBOR_ARRAY)
			tag = VOUCH_COSE_TAG_ENCRYPT;
	}
	if (tag == VOUCH_COSE_TAG_ENCRYPT0 || (tag == 0 && n == 3)) {
		rc = vouch_cose_encrypt0_decode(msg, msg_len, &e0);
		if (rc != VOUCH_OK)
			goto refused;
		json_object_set_new(out, "type", json_string("COSE_Encrypt0"));
		json_object_set_new(out, "headers", headers_json(&e0.hdr));
		json_object_set_new(out, "ciphertext_len", json_integer((json_int_t)e0.ciphertext_len));
	} else if (tag == VOUCH_COSE_TAG_ENCRYPT) {
		rc = vouch_cose_encrypt_decode(msg, msg_len, &e);
		if (rc != VOUCH_OK)
			goto refused;
		json_object_set_new(out, "type", json_string("COSE_Encrypt"));
		json_object_set_new(out, "headers", headers_json(&e.hdr));
		json_object_set_new(out, "ciphertext_len", json_integer((json_int_t)e.ciphertext_len));
		json_object_set_new(out, "recipients", json_integer((json_int_t)e.n_recipients));
	} else if (tag == VOUCH_COSE_TAG_MAC0 || (tag == 0 && is_mac0(msg, msg_len))) {
		rc = vouch_cose_mac0_decode(msg, msg_len, &m0);
		if (rc != VOUCH_OK)
			goto refused;
		json_object_set_new(out, "type", json_string("COSE_Mac0"));
		json_object_set_new(out, "headers", headers_json(&m0.hdr));
		json_object_set_new(out, "tag", hex_json(m0.tag, m0.tag_len));
		payload = m0.payload;
		payload_len = m0.payload_len;
	} else {
		rc = vouch_cose_sign1_decode(msg, msg_len, &s1);
		if (rc != VOUCH_OK)
			goto refused;
		json_object_set_new(out, "type", json_string("COSE_Sign1"));
		json_object_set_new(out, "headers", headers_json(&s1.hdr));
		json_object_set_new(out, "signature", hex_json(s1.signature, s1.signature_len));
		payload = s1.payload;
		payload_len = s1.payload_len;
		if (payload == NULL)
			json_object_set_new(out, "payload", json_string("<detached>"));
	}
	if (payload != NULL) {
		if (vouch_cwt_claims_decode(payload, payload_len, &c) == VOUCH_OK)
			json_object_set_new(out, "claims", claims_json(&c));
		else
			json_object_set_new(out, "payload", hex_json(payload, payload_len));
	}
	print_json(out);
	return CLI_OK;
refused:
	json_decref(out);
	fprintf(stderr, "vouch: refused: %s\n", vouch_strerror(rc));
	return CLI_INVALID;
}

int cmd_cose(int argc, char **argv)
{
	uint8_t *buf;
	size_t len;
	int rc;

	bool help = (argc >= 2 && strcmp(argv[1], "--help") == 0) ||
		    (argc == 3 && strcmp(argv[2], "--help") == 0);

	if (help || argc < 2 || strcmp(argv[1], "dump") != 0 || argc > 3) {
		fprintf(help ? stdout : stderr,
			"usage: vouch cose dump [FILE]\n"
			"  Decode a COSE_Sign1 / Mac0 / Encrypt0 / Encrypt or a CWT (tag 61)\n"
			"  strictly and print it as JSON (byte strings in hex).\n");
		return help ? CLI_OK : CLI_ERROR;
	}
	if (cli_read_file(argc == 3 ? argv[2] : "-", &buf, &len) != VOUCH_OK)
		return CLI_ERROR;
	rc = dump(buf, len);
	free(buf);
	return rc;
}

static void cwt_usage(FILE *f)
{
	fprintf(f, "usage: vouch cwt verify --key KEY [--iss ISS] [--aud AUD] [--at TIME]\n"
		   "                        [--leeway SECONDS] [--require-cnf] [FILE]\n"
		   "  Verify a signed CWT (COSE_Sign1, optionally in tag 61) with the issuer's\n"
		   "  public key (PEM or COSE_Key) and validate its claims at TIME (seconds since\n"
		   "  the epoch; default now). Prints the claims as JSON when valid.\n");
}

int cmd_cwt(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},    {"iss", required_argument, NULL, 'i'},
		{"aud", required_argument, NULL, 'a'},    {"at", required_argument, NULL, 't'},
		{"leeway", required_argument, NULL, 'l'}, {"require-cnf", no_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct vouch_cwt_rules rules = {.now = (int64_t)time(NULL), .leeway = 60,
					.require_exp = true};
	const char *key_path = NULL;
	struct vouch_key key;
	struct vouch_cwt_claims c;
	uint8_t *buf;
	size_t len;
	char *end;
	int opt, rc = CLI_ERROR, err;

	if (argc < 2 || strcmp(argv[1], "verify") != 0) {
		cwt_usage(stderr);
		return CLI_ERROR;
	}
	argc--, argv++;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'k': key_path = optarg; break;
		case 'i': rules.iss = optarg; break;
		case 'a': rules.aud = optarg; break;
		case 'c': rules.require_cnf = true; break;
		case 't':
		case 'l': {
			long long v = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0') {
				fprintf(stderr, "vouch: --%s wants an integer\n",
					opt == 't' ? "at" : "leeway");
				return CLI_ERROR;
			}
			if (opt == 't')
				rules.now = v;
			else
				rules.leeway = v;
			break;
		}
		case 'h': cwt_usage(stdout); return CLI_OK;
		default: cwt_usage(stderr); return CLI_ERROR;
		}
	}
	if (key_path == NULL || argc - optind > 1) {
		cwt_usage(stderr);
		return CLI_ERROR;
	}
	vouch_key_init(&key);
	if (cli_load_public_key(key_path, &key) != VOUCH_OK)
		goto out_key;
	if (cli_read_file(optind < argc ? argv[optind] : "-", &buf, &len) != VOUCH_OK)
		goto out_key;
	err = vouch_cwt_verify(buf, len, &key, &rules, &c);
	if (err == VOUCH_OK) {
		print_json(claims_json(&c));
		rc = CLI_OK;
	} else {
		fprintf(stderr, "vouch: CWT refused: %s\n", vouch_strerror(err));
		rc = CLI_INVALID;
	}
	free(buf);
out_key:
	vouch_key_clear(&key);
	return rc;
}
