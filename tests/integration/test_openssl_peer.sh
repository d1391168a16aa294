#!/bin/sh
# Interoperability of the crypto port with a real peer, the `openssl` command line:
#   (a) vouch signs with P-256, `openssl dgst -verify` accepts, and rejects a tampered message;
#   (b) openssl signs with P-256, vouch verifies (DER -> raw), and rejects a tampered message;
#   (c) ECDH P-256: `openssl pkeyutl -derive` and vouch_ecdh_p256 agree;
#   (d) Ed25519 both directions with `openssl pkeyutl -rawin`.
# usage: test_openssl_peer.sh PATH/TO/openssl_peer [openssl]
set -u

peer=${1:?usage: $0 PATH/TO/openssl_peer [openssl]}
openssl=${2:-openssl}
if ! command -v "$openssl" >/dev/null 2>&1; then
	echo "the openssl command line is missing (scripts/deps.sh installs it)" >&2
	exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/vouch-openssl-peer.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM

passed=0
failed=0
ok() {
	echo "ok - $1"
	passed=$((passed + 1))
}
not_ok() {
	echo "not ok - $1"
	failed=$((failed + 1))
}
# expect CODE DESCRIPTION COMMAND...: run the command, which must exit with CODE.
expect() {
	want=$1
	what=$2
	shift 2
	"$@" >"$dir/out" 2>&1
	got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$what"
	else
		not_ok "$what (exit $got, wanted $want)"
		sed 's/^/#   /' "$dir/out"
	fi
}

printf 'vouch interop test message: a sensor reading, 21.5 C, at 2024-03-26T10:00:00Z\n' >"$dir/msg"
printf 'vouch interop test message: a sensor reading, 99.5 C, at 2024-03-26T10:00:00Z\n' >"$dir/bad"

# (a) vouch signs (P-256), openssl verifies
expect 0 "vouch signs P-256" "$peer" sign p256 "$dir/msg" "$dir/a_pub.pem" "$dir/a_sig.der"
expect 0 "openssl dgst verifies vouch's P-256 signature" \
	"$openssl" dgst -sha256 -verify "$dir/a_pub.pem" -signature "$dir/a_sig.der" "$dir/msg"
expect 1 "openssl dgst rejects it over a tampered message" \
	"$openssl" dgst -sha256 -verify "$dir/a_pub.pem" -signature "$dir/a_sig.der" "$dir/bad"

# (b) openssl signs (P-256), vouch verifies
expect 0 "openssl generates a P-256 key" \
	"$openssl" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/b_key.pem"
expect 0 "openssl extracts its public key" \
	"$openssl" pkey -in "$dir/b_key.pem" -pubout -out "$dir/b_pub.pem"
expect 0 "openssl signs P-256" \
	"$openssl" dgst -sha256 -sign "$dir/b_key.pem" -out "$dir/b_sig.der" "$dir/msg"
expect 0 "vouch verifies openssl's P-256 signature" \
	"$peer" verify p256 "$dir/b_pub.pem" "$dir/msg" "$dir/b_sig.der"
expect 1 "vouch rejects it over a tampered message" \
	"$peer" verify p256 "$dir/b_pub.pem" "$dir/bad" "$dir/b_sig.der"
expect 1 "vouch rejects it under another key" \
	"$peer" verify p256 "$dir/a_pub.pem" "$dir/msg" "$dir/b_sig.der"

# (c) ECDH P-256, each side with its own generated key
expect 0 "openssl generates an ECDH key" \
	"$openssl" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/c_key.pem"
expect 0 "openssl extracts its public key" \
	"$openssl" pkey -in "$dir/c_key.pem" -pubout -out "$dir/c_pub.pem"
expect 0 "vouch derives with openssl's public key" \
	"$peer" ecdh "$dir/c_pub.pem" "$dir/c_vouch_pub.pem" "$dir/c_vouch.bin"
expect 0 "openssl pkeyutl derives with vouch's public key" \
	"$openssl" pkeyutl -derive -inkey "$dir/c_key.pem" -peerkey "$dir/c_vouch_pub.pem" \
	-out "$dir/c_openssl.bin"
if [ -s "$dir/c_vouch.bin" ] && [ "$(wc -c <"$dir/c_vouch.bin")" -eq 32 ] &&
	cmp -s "$dir/c_vouch.bin" "$dir/c_openssl.bin"; then
	ok "both sides derived the same 32-byte secret"
else
	not_ok "the ECDH secrets differ"
fi

# (d) Ed25519 both directions
expect 0 "vouch signs Ed25519" "$peer" sign ed25519 "$dir/msg" "$dir/d_pub.pem" "$dir/d_sig.bin"
expect 0 "openssl pkeyutl -rawin verifies vouch's Ed25519 signature" \
	"$openssl" pkeyutl -verify -pubin -inkey "$dir/d_pub.pem" -rawin -in "$dir/msg" \
	-sigfile "$dir/d_sig.bin"
expect 1 "openssl pkeyutl rejects it over a tampered message" \
	"$openssl" pkeyutl -verify -pubin -inkey "$dir/d_pub.pem" -rawin -in "$dir/bad" \
	-sigfile "$dir/d_sig.bin"
expect 0 "openssl generates an Ed25519 key" \
	"$openssl" genpkey -algorithm ED25519 -out "$dir/e_key.pem"
expect 0 "openssl extracts its public key" \
	"$openssl" pkey -in "$dir/e_key.pem" -pubout -out "$dir/e_pub.pem"
expect 0 "openssl pkeyutl -rawin signs Ed25519" \
	"$openssl" pkeyutl -sign -inkey "$dir/e_key.pem" -rawin -in "$dir/msg" -out "$dir/e_sig.bin"
expect 0 "vouch verifies openssl's Ed25519 signature" \
	"$peer" verify ed25519 "$dir/e_pub.pem" "$dir/msg" "$dir/e_sig.bin"
expect 1 "vouch rejects it over a tampered message" \
	"$peer" verify ed25519 "$dir/e_pub.pem" "$dir/bad" "$dir/e_sig.bin"

echo "openssl peer: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
