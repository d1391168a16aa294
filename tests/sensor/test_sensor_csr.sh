#!/bin/sh
# The sensor's CSR (sensor/csr.c), made inside the secure element of a fresh state directory,
# checked by somebody else: OpenSSL verifies its self-signature, reads CN=unprovisioned and the
# very key the element holds; a flipped bit in the signature or in the signed part is refused.
# usage: test_sensor_csr.sh SENSOR_TOOL
set -eu
tool=$1
dir=$(mktemp -d /tmp/vouch-sensor-csr-XXXXXX)
trap 'rm -rf "$dir"' EXIT

"$tool" csr "$dir/sdir" > "$dir/csr.der"
test -s "$dir/csr.der"
openssl req -verify -inform DER -in "$dir/csr.der" -noout 2> "$dir/verify.txt"
grep -q "verify OK" "$dir/verify.txt"
subject=$(openssl req -inform DER -in "$dir/csr.der" -noout -subject)
test "$subject" = "subject=CN = unprovisioned"
# The key in the request is the element's (the last 65 bytes of the SPKI: the point).
inreq=$(openssl req -inform DER -in "$dir/csr.der" -noout -pubkey |
        openssl pkey -pubin -outform DER | tail -c 65 | od -An -tx1 | tr -d ' \n')
test "$inreq" = "$("$tool" pub "$dir/sdir")"
openssl req -inform DER -in "$dir/csr.der" -noout -text | grep -q "ecdsa-with-SHA256"
# The same key on the next run: it lives in the element.
"$tool" csr "$dir/sdir" > "$dir/csr2.der"
openssl req -verify -inform DER -in "$dir/csr2.der" -noout 2>&1 | grep -q "verify OK"

# Tampered: the signature's last byte, then a byte of the subject.
size=$(wc -c < "$dir/csr.der")
python3 - "$dir/csr.der" "$dir/bad-sig.der" "$dir/bad-cri.der" <<'PY'
import sys
der = bytearray(open(sys.argv[1], 'rb').read())
sig = bytearray(der); sig[-1] ^= 0x01
open(sys.argv[2], 'wb').write(sig)
cri = bytearray(der); i = cri.find(b'unprovisioned'); cri[i] ^= 0x20
open(sys.argv[3], 'wb').write(cri)
PY
# (openssl req -verify exits 0 either way: its message is the verdict.)
for bad in bad-sig bad-cri; do
	openssl req -verify -inform DER -in "$dir/$bad.der" -noout > "$dir/$bad.txt" 2>&1 || true
	if grep -q "verify OK" "$dir/$bad.txt" || ! grep -q "verify failure" "$dir/$bad.txt"; then
		echo "FAIL: the $bad CSR verified: $(cat "$dir/$bad.txt")" >&2
		exit 1
	fi
done
echo "csr: $size bytes, verified by openssl req -verify, tampered copies refused"
