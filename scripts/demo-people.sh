#!/usr/bin/env bash
# make demo, part 3: trusted people. The plant's role matrix is installed, a person is created
# with a password and a second factor (the TOTP code comes from oathtool, as from a phone app),
# the phone wallet logs in and holds a credential that an independent decoder verifies,
# `policy explain` answers with reasons, and revocation reaches the phone at once.
set -euo pipefail
build="${1:-build}"
vouchd="$build/server/vouchd"
vouch="$build/cli/vouch"
wallet="$build/wallet/vouch-wallet"
here=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
work=$(mktemp -d)
site="$work/site"
pid=
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
unset SOFTHSM2_CONF

step() { printf '\n== %s\n' "$*"; }
fail() { echo "DEMO FAILED: $*"; [ -f "$work/vouchd.log" ] && tail -5 "$work/vouchd.log"; exit 1; }
V() { "$vouch" --data "$site" "$@"; }
totp() { oathtool --totp -b "$(sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' "$1")" \
	-N "@$(($(date +%s) + ${2:-0}))"; }
port=$((20000 + RANDOM % 20000))

step "13. A plant in Europe/Berlin: vouchd init --timezone (credential issuer, revocation-list and TOTP-sealing keys made in the token too)"
"$vouchd" init --data "$site" --site demo-plant --timezone Europe/Berlin --hostname localhost --hostname 127.0.0.1 \
	--listen 127.0.0.1:0 --http-listen "127.0.0.1:$port" >/dev/null
"$vouchd" --data "$site" 2>"$work/vouchd.log" &
pid=$!
for _ in $(seq 100); do [ -s "$site/vouchd.addr" ] && break; sleep 0.1; done
[ -s "$site/vouchd.addr" ] || fail "vouchd did not start"
https=$(grep '^https://' "$site/vouchd.addr")
http=$(grep '^http://' "$site/vouchd.addr")
chain="$site/ca/chain.pem"

step "14. The plant's role matrix (examples/plant-policy): vouch policy load"
V policy load "$here/examples/plant-policy/policy.json" | head -1 | sed 's/^/   /'
V role list | sed 's/^/   /' | cut -c1-110

step "15. An operator is created: vouch user add prints the otpauth:// URI of her second factor, once"
printf 'correct horse battery staple\n' >"$work/alice.pw"
chmod 600 "$work/alice.pw"
V user add alice --role operator --password-file "$work/alice.pw" \
	--training machine-safety=2030-01-01T00:00:00Z >"$work/alice.uri"
sed 's/secret=[A-Z2-7]*/secret=<160-bit secret, shown once>/' "$work/alice.uri" | sed 's/^/   /'
echo "   (vouchd keeps it sealed under an AES key inside its token; the password as Argon2id)"

step "16. Her phone logs in: password + the code oathtool computes, key made inside the phone's token"
export VOUCH_WALLET_PIN=unlock-4711
"$wallet" --wallet "$work/phone" login --server "$https" --ca "$chain" --user alice \
	--password-file "$work/alice.pw" --totp "$(totp "$work/alice.uri")" | sed 's/^/   /'

step "17. Anyone verifies the credential: the issuer key is public, the decoder is not ours (python3-cbor2 + cryptography)"
"$wallet" --wallet "$work/phone" credential export >"$work/alice.cwt"
V issuer-key >"$work/issuer.pem"
sid=$(curl -sS --cacert "$chain" "$https/keys" | $py -c 'import json,sys; print(json.load(sys.stdin)["site"])')
$py "$here/tests/integration/cred_check.py" cred "$work/alice.cwt" --issuer-pem "$work/issuer.pem" \
	--iss "vouch:$sid" --aud "$sid" --now "$(date +%s)" | $py -m json.tool | sed 's/^/   /'

step "18. Why may she, or may she not? vouch policy explain (the evaluator sensors run)"
for q in "press-1 operate --at 2026-11-23T07:00:00Z --zone plant/hall-a/line-1" \
	"press-1 operate --at 2026-11-22T07:00:00Z --zone plant/hall-a/line-1" \
	"press-1 stop --at 2026-11-22T02:00:00Z" "financials read"; do
	# shellcheck disable=SC2086
	V policy explain alice $q | tail -n1 | sed 's/^/   /' || true
done

step "19. One credential revoked: the signed list names its token hash, the phone refreshes"
cti=$("$wallet" --wallet "$work/phone" credential show | $py -c 'import json,sys; print(json.load(sys.stdin)["cti"])')
V credential revoke "$cti" | sed 's/^/   /'
"$wallet" --wallet "$work/phone" refresh | sed 's/^/   /'

step "20. She leaves: vouch user revoke — her phone can no longer refresh nor present anything"
V user revoke alice --reason "left the company" | sed 's/^/   /'
if "$wallet" --wallet "$work/phone" refresh >"$work/r.out" 2>&1; then fail "refresh after revocation"; fi
sed 's/^/   refused: /' "$work/r.out" | head -2
if "$wallet" --wallet "$work/phone" credential export >/dev/null 2>"$work/e.out"; then
	fail "export after revocation"
fi
sed 's/^/   refused: /' "$work/e.out"
curl -sS "$http/revocations" -o "$work/rl.cbor"
V issuer-key --revlist >"$work/revlist.pem"
$py "$here/tests/integration/cred_check.py" revlist "$work/rl.cbor" --signer-pem "$work/revlist.pem" \
	--iss "vouch:$sid" --aud "$sid" --now "$(date +%s)" | $py -c '
import json,sys; d=json.load(sys.stdin)
print("   revocation list version %d: %s" % (d["version"], ", ".join("%s %s" % (e["kind"], e["value"][:16]) for e in d["entries"])))'
