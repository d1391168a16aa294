#!/usr/bin/python3
"""An independent checker of vouch credentials and revocation lists.

It shares no code with libvouch: CBOR through Debian's python3-cbor2 (plus a small walker of its
own to see each claim's exact bytes), ECDSA through python3-cryptography. It rebuilds the
COSE Sig_structure itself and applies the rules of docs/credential.md and docs/revlist.md.

  cred_check.py cred FILE --issuer-pem PEM --iss ISS --aud AUD --now T [--leeway S]
  cred_check.py revlist FILE --signer-pem PEM [--iss ISS] [--aud AUD] [--now T]
  cred_check.py selftest

Prints a JSON summary on stdout and exits 0 when the object is valid; exits 1 with the reason on
stderr when it is refused; exits 2 on a usage error.
"""

import argparse
import base64
import hashlib
import io
import json
import sys

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

CRED_MAX = 72 * 1024
REVLIST_MAX = 32 * 1024 * 1024
REVLIST_MAX_ENTRIES = 100000
POLICY_ENCODED_MAX = 64 * 1024
TEXT_MAX = 255
CLAIM_PERM = -65537
CLAIM_PHONE = -65538
ES256 = -7
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

RFC9679_X = "65eda5a12577c2bae829437fe338701a10aaa375e1bb5b5de108de439c08551d"
RFC9679_Y = "1e52ed75701163f7f9e40ddf9f341b3dc9ba860af7e0ca7ca7e9eecd0084d19c"
RFC9679_THUMBPRINT = "496bd8afadf307e5b08c64b0421bf9dc01528a344a43bda88fadd1669da253ec"


class Refused(Exception):
    """The object is not valid; the message says why."""


def need(cond, why):
    if not cond:
        raise Refused(why)


# ---- a minimal CBOR walker, for the exact bytes of each item ----

def item_end(buf, pos, depth=0):
    """The offset just past the well-formed, definite-length CBOR item at pos."""
    need(depth <= 16, "CBOR nested too deeply")
    need(pos < len(buf), "CBOR truncated")
    ib = buf[pos]
    major, info = ib >> 5, ib & 0x1F
    pos += 1
    if info < 24:
        val = info
    elif info in (24, 25, 26, 27):
        n = 1 << (info - 24)
        need(pos + n <= len(buf), "CBOR truncated")
        val = int.from_bytes(buf[pos:pos + n], "big")
        pos += n
    else:
        raise Refused("CBOR indefinite length or reserved head")
    if major in (0, 1, 7):
        return pos
    if major in (2, 3):
        need(val <= len(buf) - pos, "CBOR truncated")
        return pos + val
    if major == 6:
        return item_end(buf, pos, depth + 1)
    count = val * 2 if major == 5 else val
    need(count <= len(buf) - pos, "CBOR truncated")
    for _ in range(count):
        pos = item_end(buf, pos, depth + 1)
    return pos


def decode_whole(raw):
    """cbor2's value of raw, which must be exactly one item."""
    need(item_end(raw, 0) == len(raw), "CBOR trailing bytes")
    fp = io.BytesIO(raw)
    value = cbor2.CBORDecoder(fp).decode()
    need(fp.tell() == len(raw), "CBOR trailing bytes")
    return value


def map_entries(raw):
    """[(key, raw key, raw value)] of the CBOR map raw, refusing duplicate keys."""
    need(len(raw) > 0 and raw[0] >> 5 == 5, "not a CBOR map")
    info = raw[0] & 0x1F
    pos = 1
    if info < 24:
        n = info
    else:
        need(info in (24, 25, 26, 27), "CBOR indefinite map")
        width = 1 << (info - 24)
        n = int.from_bytes(raw[1:1 + width], "big")
        pos += width
    out, seen = [], set()
    for _ in range(n):
        kend = item_end(raw, pos)
        vend = item_end(raw, kend)
        kraw, vraw = raw[pos:kend], raw[kend:vend]
        need(kraw not in seen, "duplicate map key")
        seen.add(kraw)
        out.append((decode_whole(kraw), kraw, vraw))
        pos = vend
    need(pos == len(raw), "CBOR trailing bytes")
    return out


def is_int(v):
    return type(v) is int  # not bool, not float


def text_ok(v):
    if not isinstance(v, str):
        return False
    b = v.encode("utf-8")
    return 1 <= len(b) <= TEXT_MAX and b"\0" not in b


# ---- keys, thumbprints, hashes ----

def p256_cose_key(x, y):
    """The canonical P-256 COSE_Key {1: 2, -1: 1, -2: x, -3: y}, keys in RFC 8949 4.2.1 order."""
    return b"\xa4\x01\x02\x20\x01\x21\x58\x20" + x + b"\x22\x58\x20" + y


def thumbprint_xy(x, y):
    """RFC 9679: SHA-256 of the deterministic encoding of the required parameters."""
    enc = cbor2.dumps({1: 2, -1: 1, -2: x, -3: y})
    assert enc == p256_cose_key(x, y)
    return hashlib.sha256(enc).digest()


def public_xy(pub):
    need(isinstance(pub, ec.EllipticCurvePublicKey) and isinstance(pub.curve, ec.SECP256R1),
         "the key is not a P-256 public key")
    nums = pub.public_numbers()
    return nums.x.to_bytes(32, "big"), nums.y.to_bytes(32, "big")


def load_pem(path):
    with open(path, "rb") as f:
        return serialization.load_pem_public_key(f.read())


def token_hash(raw):
    """RFC 9770 4.2.1 for a token conveyed in CBOR: SHA-256 over the UTF-8 of base64url(BYTES)."""
    text = base64.urlsafe_b64encode(raw).rstrip(b"=")
    return hashlib.sha256(text).digest()


# ---- the envelope ----

def open_envelope(data, pub, tag61):
    """The payload of the one canonical COSE_Sign1 envelope, its signature checked."""
    item = decode_whole(data)
    if tag61:
        need(isinstance(item, cbor2.CBORTag) and item.tag == 61, "not in CBOR tag 61")
        item = item.value
    need(isinstance(item, cbor2.CBORTag) and item.tag == 18, "not a tagged COSE_Sign1 (18)")
    msg = item.value
    need(isinstance(msg, list) and len(msg) == 4, "COSE_Sign1 is not a 4-array")
    prot, unprot, payload, sig = msg
    need(isinstance(prot, bytes) and isinstance(payload, bytes) and isinstance(sig, bytes),
         "COSE_Sign1 fields of the wrong types")
    need(unprot == {}, "unprotected header not empty")
    x, y = public_xy(pub)
    kid = thumbprint_xy(x, y)
    hdr = decode_whole(prot) if prot else {}
    need(isinstance(hdr, dict), "protected header is not a map")
    need(hdr.get(1) == ES256, "alg is not ES256")
    need(4 in hdr, "no kid in the protected header")
    need(hdr[4] == kid, "kid is not the signer's RFC 9679 thumbprint (another key signed it)")
    need(prot == cbor2.dumps({1: ES256, 4: kid}), "protected header not {1: -7, 4: kid}")
    # Nothing outside the signature may vary: the whole must be its shortest encoding.
    body = cbor2.CBORTag(18, [prot, {}, payload, sig])
    need(cbor2.dumps(cbor2.CBORTag(61, body) if tag61 else body) == data,
         "envelope not in its canonical encoding")
    need(len(sig) == 64, "signature is not 64 bytes")
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    need(0 < r < P256_N and 0 < s < P256_N, "signature out of range")
    need(s <= P256_N // 2, "signature not in low-S form")
    tbs = cbor2.dumps(["Signature1", prot, b"", payload])
    try:
        pub.verify(encode_dss_signature(r, s), tbs, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused("signature does not verify") from None
    return payload, kid


# ---- credentials ----

def check_cred(data, pub, iss, aud, now, leeway):
    need(len(data) <= CRED_MAX, "credential larger than 72 KiB")
    payload, kid = open_envelope(data, pub, True)
    claims = {}
    raws = {}
    for key, _kraw, vraw in map_entries(payload):
        need(is_int(key), "a claim label that is not an integer")
        need(key in (1, 2, 3, 4, 5, 6, 7, 8, CLAIM_PERM, CLAIM_PHONE),
             "claim %r is not a credential's" % (key,))
        raws[key] = vraw
        claims[key] = decode_whole(vraw)
    for key in (1, 2, 3, 4, 5, 6, 7, 8, CLAIM_PERM, CLAIM_PHONE):
        need(key in claims, "claim %d missing" % key)
    for key, name in ((1, "iss"), (2, "sub"), (3, "aud"), (CLAIM_PHONE, "phone")):
        need(text_ok(claims[key]), "%s is not text of 1..255 bytes without NUL" % name)
    for key, name in ((4, "exp"), (5, "nbf"), (6, "iat")):
        need(is_int(claims[key]) and -2**63 <= claims[key] < 2**63,
             "%s is not an integer date" % name)
    cti = claims[7]
    need(isinstance(cti, bytes) and len(cti) == 16, "cti is not 16 bytes")
    cnf = claims[8]
    need(isinstance(cnf, dict) and list(cnf) == [1], "cnf is not {1: COSE_Key}")
    cnf_entries = map_entries(raws[8])
    cnf_raw = cnf_entries[0][2]
    ck = cnf[1]
    need(isinstance(ck, dict) and set(ck) == {1, -1, -2, -3} and ck[1] == 2 and ck[-1] == 1,
         "cnf is not an EC2 P-256 public COSE_Key")
    need(isinstance(ck[-2], bytes) and len(ck[-2]) == 32 and isinstance(ck[-3], bytes)
         and len(ck[-3]) == 32, "cnf coordinates are not 32 bytes")
    need(cnf_raw == p256_cose_key(ck[-2], ck[-3]), "cnf COSE_Key not in its canonical form")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                     b"\x04" + ck[-2] + ck[-3])
    except ValueError:
        raise Refused("cnf point is not on P-256") from None
    perm_raw = raws[CLAIM_PERM]
    need(len(perm_raw) <= POLICY_ENCODED_MAX, "permissions larger than 64 KiB")
    exp, nbf, iat = claims[4], claims[5], claims[6]
    need(exp > nbf and exp > iat, "a credential that is never valid")

    need(now < exp + leeway, "expired")
    need(now >= nbf - leeway, "not yet valid")
    need(iat <= now + leeway, "issued in the future")
    need(claims[1] == iss, "wrong issuer")
    need(claims[3] == aud, "wrong audience")
    return {
        "iss": claims[1],
        "sub": claims[2],
        "aud": claims[3],
        "phone": claims[CLAIM_PHONE],
        "iat": iat,
        "nbf": nbf,
        "exp": exp,
        "cti": cti.hex(),
        "kid": kid.hex(),
        "token_hash": token_hash(data).hex(),
        "cnf_thumbprint": thumbprint_xy(ck[-2], ck[-3]).hex(),
        "perm_len": len(perm_raw),
    }


# ---- revocation lists ----

KINDS = {1: "token", 2: "subject", 3: "phone"}


def check_revlist(data, pub, iss, aud, now):
    need(len(data) <= REVLIST_MAX, "list larger than 32 MiB")
    payload, kid = open_envelope(data, pub, False)
    fields = {}
    for key, _kraw, vraw in map_entries(payload):
        need(is_int(key) and 1 <= key <= 8, "key %r is not a revocation list's" % (key,))
        fields[key] = vraw
    need(len(fields) == 8, "a field is missing")
    fmt = decode_whole(fields[1])
    need(is_int(fmt) and fmt == 1, "format is not 1")
    l_iss, l_aud = decode_whole(fields[2]), decode_whole(fields[3])
    need(text_ok(l_iss) and text_ok(l_aud), "iss / aud not text of 1..255 bytes")
    version, since = decode_whole(fields[4]), decode_whole(fields[5])
    need(is_int(version) and 0 <= version < 2**64, "version is not an unsigned integer")
    need(is_int(since) and 0 <= since <= version, "since is above version")
    issued_at, max_age = decode_whole(fields[6]), decode_whole(fields[7])
    need(is_int(issued_at) and -2**63 <= issued_at < 2**63, "issued_at is not an integer")
    need(is_int(max_age) and 1 <= max_age < 2**32, "max_age is not 1..2^32-1")
    raw_entries = fields[8]
    n_raw = decode_whole(raw_entries)
    if since == 0:
        need(version > 0 or len(n_raw) == 0, "a version-0 list holds entries")
    else:
        need(since < version or len(n_raw) == 0, "an empty delta (since = version) holds entries")
    need(raw_entries[0] >> 5 == 4, "entries is not an array")
    entries = decode_whole(raw_entries)
    need(len(entries) <= REVLIST_MAX_ENTRIES, "more than 100000 entries")
    out = []
    for e in entries:
        need(isinstance(e, list) and len(e) == 3, "an entry is not [kind, value, revoked_at]")
        kind, value, revoked_at = e
        need(is_int(kind) and kind in KINDS, "unknown entry kind %r" % (kind,))
        need(is_int(revoked_at) and -2**63 <= revoked_at < 2**63,
             "revoked_at is not an integer")
        if kind == 2:
            need(text_ok(value), "a subject is not text of 1..255 bytes")
            shown = value
        else:
            need(isinstance(value, bytes) and len(value) == 32, "a hash is not 32 bytes")
            shown = value.hex()
        out.append({"kind": KINDS[kind], "value": shown, "revoked_at": revoked_at})
    if iss is not None:
        need(l_iss == iss, "wrong issuer")
    if aud is not None:
        need(l_aud == aud, "wrong audience")
    summary = {
        "iss": l_iss,
        "aud": l_aud,
        "version": version,
        "since": since,
        "issued_at": issued_at,
        "max_age": max_age,
        "kid": kid.hex(),
        "n_entries": len(out),
        "entries": out,
    }
    if now is not None:
        summary["expired"] = now - issued_at > max_age
    return summary


def selftest():
    x, y = bytes.fromhex(RFC9679_X), bytes.fromhex(RFC9679_Y)
    assert thumbprint_xy(x, y).hex() == RFC9679_THUMBPRINT
    a3 = bytes.fromhex(
        "d28443a10126a104524173796d6d657472696345434453413235365850a70175636f61703a2f2f61732e"
        "6578616d706c652e636f6d02656572696b77037818636f61703a2f2f6c696768742e6578616d706c652e"
        "636f6d041a5612aeb0051a5610d9f0061a5610d9f007420b7158405427c1ff28d23fbad1f29c4c7c6a55"
        "5e601d6fa29f9179bc3d7438bacaca5acd08c8d4d4f96131680c429a01f85951ecee743a52b9b63632c5"
        "7209120e1c9e30")
    assert token_hash(a3).hex() == \
        "481459791f2966a6fa05868254c9470dc8c411237e6a9fa1d581292a5cfbb9d4"
    return {"rfc9679_thumbprint": RFC9679_THUMBPRINT, "ok": True}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("cred", help="check a credential (raw CWT bytes)")
    c.add_argument("file")
    c.add_argument("--issuer-pem", required=True)
    c.add_argument("--iss", required=True)
    c.add_argument("--aud", required=True)
    c.add_argument("--now", type=int, required=True)
    c.add_argument("--leeway", type=int, default=0)
    r = sub.add_parser("revlist", help="check a signed revocation list")
    r.add_argument("file")
    r.add_argument("--signer-pem", required=True)
    r.add_argument("--iss")
    r.add_argument("--aud")
    r.add_argument("--now", type=int)
    sub.add_parser("selftest", help="RFC 9679 / RFC 9770 known answers")
    args = ap.parse_args(argv)

    try:
        if args.mode == "selftest":
            summary = selftest()
        else:
            with open(args.file, "rb") as f:
                data = f.read()
            if args.mode == "cred":
                need(args.leeway >= 0, "negative leeway")
                summary = check_cred(data, load_pem(args.issuer_pem), args.iss, args.aud,
                                     args.now, args.leeway)
            else:
                summary = check_revlist(data, load_pem(args.signer_pem), args.iss, args.aud,
                                        args.now)
    except Refused as e:
        print("cred_check: refused: %s" % e, file=sys.stderr)
        return 1
    except (cbor2.CBORDecodeError, ValueError, TypeError, KeyError, IndexError,
            RecursionError) as e:
        print("cred_check: refused: malformed (%s: %s)" % (type(e).__name__, e),
              file=sys.stderr)
        return 1
    json.dump(summary, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
