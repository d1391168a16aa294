#!/bin/sh
# Regenerate the committed libFuzzer seed corpora, fuzz/corpus/<target>/, from the published
# vectors: cose-examples output.cbor values (by structure), RFC 8392 Appendix A (tokens, claims,
# keys), COSE_Keys built from the examples' JWKs, and a few hand-made CBOR and claims items.
#   scripts/make-fuzz-seeds.sh [VECTORS_DIR]      (default: tests/vectors)
# Dev-time only (python3, standard library); the build uses the committed seed files.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
vectors=${1:-$root/tests/vectors}
[ -d "$vectors/cose-examples" ] || { echo "$0: no $vectors/cose-examples" >&2; exit 1; }
[ -f "$vectors/rfc8392-cwt.json" ] || { echo "$0: no $vectors/rfc8392-cwt.json" >&2; exit 1; }

exec python3 - "$root/fuzz/corpus" "$vectors" <<'PY'
import base64, glob, json, os, shutil, struct, sys

out_dir, vec = sys.argv[1], sys.argv[2]
targets = ["cbor", "cose_sign1", "cose_mac0", "cose_encrypt0", "cose_encrypt", "cose_key", "cwt"]
seeds = {t: {} for t in targets}  # target -> {bytes: name}


def add(target, name, data):
    if data not in seeds[target]:
        seeds[target][data] = name


# ---- a minimal CBOR encoder (ints, bytes, text, lists, dicts, floats, tags) ----
class Tag:
    def __init__(self, tag, value):
        self.tag, self.value = tag, value


class Raw:
    """Already-encoded CBOR, written as is."""
    def __init__(self, data):
        self.data = data


def head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | ai]) + struct.pack(fmt, n)
    raise ValueError(n)


def enc(v):
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if v is None:
        return b"\xf6"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, float):
        return b"\xfb" + struct.pack(">d", v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return head(3, len(b)) + b
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(enc(k) + enc(x) for k, x in v.items())
    if isinstance(v, Tag):
        return head(6, v.tag) + enc(v.value)
    if isinstance(v, Raw):
        return v.data
    raise TypeError(v)


def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwk_field(k, name):
    if name in k:
        return b64u(k[name])
    if name + "_hex" in k:
        return bytes.fromhex(k[name + "_hex"])
    return None


CRV = {"P-256": 1, "P-384": 2, "P-521": 3, "X25519": 4, "X448": 5, "Ed25519": 6, "Ed448": 7}


def jwk_to_cose(k, private):
    m = {}
    if k["kty"] == "oct":
        m[1] = 4
        m[-1] = jwk_field(k, "k")
    elif k["kty"] in ("EC", "OKP"):
        m[1] = 2 if k["kty"] == "EC" else 1
        m[-1] = CRV.get(k["crv"], 0)
        m[-2] = jwk_field(k, "x")
        if k["kty"] == "EC":
            m[-3] = jwk_field(k, "y")
        if private and jwk_field(k, "d") is not None:
            m[-4] = jwk_field(k, "d")
    else:
        return None
    if "kid" in k:
        m[2] = k["kid"].encode()
    return enc(m)


# ---- cose-examples: every output.cbor, by the structure its input describes ----
KIND = {"sign0": "cose_sign1", "mac0": "cose_mac0", "encrypted": "cose_encrypt0",
        "enveloped": "cose_encrypt"}
for path in sorted(glob.glob(os.path.join(vec, "cose-examples", "**", "*.json"), recursive=True)):
    rel = os.path.relpath(path, os.path.join(vec, "cose-examples"))
    name = "ex-" + rel[:-5].replace(os.sep, "-")
    j = json.load(open(path))
    cbor_hex = j.get("output", {}).get("cbor")
    if not cbor_hex:
        continue
    data = bytes.fromhex(cbor_hex)
    inp = j.get("input", {})
    add("cbor", name, data)
    for kind, target in KIND.items():
        if kind in inp:
            add(target, name, data)
    if rel.startswith("CWT"):
        add("cwt", name, data)
    # Every key the example uses, as a public and as a private COSE_Key.
    keys = []
    for kind in ("sign0", "sign", "mac0", "mac", "encrypted", "enveloped"):
        layer = inp.get(kind, {})
        if "key" in layer:
            keys.append(layer["key"])
        for s in layer.get("signers", []) + layer.get("recipients", []):
            if "key" in s:
                keys.append(s["key"])
    for k in keys:
        for private in (False, True):
            ck = jwk_to_cose(k, private)
            if ck is not None:
                kid = "".join(c if c.isalnum() or c in "-._" else "_"
                              for c in k.get("kid", k["kty"]))[:40]
                kname = "jwk-%s-%s" % (kid, "priv" if private else "pub")
                add("cose_key", kname, ck)

# ---- RFC 8392 Appendix A ----
cwt = json.load(open(os.path.join(vec, "rfc8392-cwt.json")))
a1 = bytes.fromhex(cwt["claims_set"]["hex"])
add("cwt", "rfc8392-A.1-claims", a1)
for name, k in cwt["keys"].items():
    add("cose_key", "rfc8392-A.2-" + name, bytes.fromhex(k["cose_key_hex"]))
by_section = {}
for ex in cwt["examples"]:
    data = bytes.fromhex(ex["hex"])
    by_section[ex["section"]] = data
    add("cwt", "rfc8392-" + ex["section"], data)
add("cose_sign1", "rfc8392-A.3", by_section["A.3"])
add("cose_mac0", "rfc8392-A.4-untagged61", by_section["A.4"][2:])  # without d8 3d
add("cose_mac0", "rfc8392-A.7", by_section["A.7"])
add("cose_encrypt0", "rfc8392-A.5", by_section["A.5"])
add("cose_encrypt0", "rfc8392-A.6", by_section["A.6"])
add("cwt", "rfc8392-A.3-tag61", b"\xd8\x3d" + by_section["A.3"])
add("cwt", "rfc8392-A.3-untagged", by_section["A.3"][1:])  # without d2
add("cwt", "rfc8392-A.7-claims", enc({6: 1443944944.5}))

# ---- claims maps with every cnf method (RFC 8747) and other claim shapes ----
p256 = cwt["keys"]["ecdsa_p256"]
pub_key = {1: 2, -1: 1, -2: bytes.fromhex(p256["x"]), -3: bytes.fromhex(p256["y"]),
           2: b"AsymmetricECDSA256"}
base = {1: "coap://as.example.com", 2: "erikw", 3: "coap://light.example.com",
        4: 1444064944, 5: 1443944944, 6: 1443944944, 7: b"\x0b\x71"}
add("cwt", "claims-cnf-cose-key", enc({**base, 8: {1: pub_key}}))
add("cwt", "claims-cnf-kid", enc({**base, 8: {3: b"phone-1"}}))
add("cwt", "claims-cnf-encrypted-key", enc({8: {2: Raw(by_section["A.5"])}}))
add("cwt", "claims-extras", enc({1: "vouchd", -65537: [["zone-7/*", ["open"]]], "x": 1,
                                 9: "read write", 4: 1444064944.25}))
add("cose_key", "cnf-pub-p256", enc(pub_key))

# ---- hand-made CBOR: every major type, float widths, tags, nesting, edge integers ----
hand = {
    "uint-edges": enc([0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1]),
    "negint-edges": enc([-1, -24, -25, -2**63]) + b"",
    "negint-min": b"\x3b\xff\xff\xff\xff\xff\xff\xff\xff",
    "floats": b"\x85\xf9\x3c\x00\xfa\x47\xc3\x50\x00\xfb\x3f\xf1\x99\x99\x99\x99\x99\x9a"
              b"\xf9\x7e\x00\xf9\x7c\x00",
    "simple": b"\x86\xf4\xf5\xf6\xf7\xf0\xf8\xff",
    "tags": enc(Tag(61, Tag(18, [b"", {}, None, b""]))),
    "nested": enc([[[[[[[[{1: [{2: b"x"}]}]]]]]]]]),
    "map-keys": enc({1: 1, -1: 2, "a": 3, b"b": 4, 1.5: 5, Tag(1, 0): 6, False: 7}),
    "strings": enc(["", b"", "\u00fc\u6c34", b"\x00" * 30]),
    "non-shortest": b"\x82\x18\x01\x59\x00\x01\x61",
}
for name, data in hand.items():
    add("cbor", "hand-" + name, data)

# Everything any other target decodes is CBOR too.
for t in targets:
    if t != "cbor":
        for data, name in seeds[t].items():
            add("cbor", t + "-" + name, data)

for t in targets:
    d = os.path.join(out_dir, t)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for data, name in sorted(seeds[t].items(), key=lambda kv: kv[1]):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print("%-14s %4d seeds" % (t, len(seeds[t])))
PY
