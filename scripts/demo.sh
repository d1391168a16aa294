#!/bin/sh
# make demo: the main job, end to end with the real programs. It grows with every capability:
# credentials as CWTs (issued, inspected, verified, refused when they should be), then a site's
# PKI (scripts/demo-pki.sh: vouchd, EST with openssl + curl, CRL, OCSP, revocation), then trusted
# people (scripts/demo-people.sh: policy, password + TOTP, the phone wallet, credentials,
# explanations, revocation), trusted sensors (scripts/demo-sensor.sh: commissioning, offline
# decisions, decommissioning), and last the whole plant (vouch-plant, docs/plant.md), also under load.
set -eu
build="${1:-build}"
vouch="$build/cli/vouch"
issue="$build/examples/cwt_issue"
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

step() { printf '\n== %s\n' "$*"; }
expect_refused() { # expect_refused WHAT CMD...: the command must exit 1 (refused), not 0 or 2
	what="$1"; shift
	rc=0
	"$@" >"$work/out" 2>"$work/err" || rc=$?
	[ "$rc" -ne 0 ] || { echo "DEMO FAILED: $what was accepted"; exit 1; }
	[ "$rc" -eq 1 ] || { echo "DEMO FAILED: $what: exit $rc"; cat "$work/err"; exit 1; }
	printf '   refused as expected: %s\n' "$(cat "$work/err")"
}

"$vouch" --version

step "1. An issuer signs a short-lived credential (CWT, COSE_Sign1 ES256) for alice's phone key"
"$issue" "$work" alice 28800
echo "   issuer public key:"; sed 's/^/     /' "$work/issuer.pem"

step "2. Anyone can inspect it: vouch cose dump (strict decoder, JSON out)"
"$vouch" cose dump "$work/credential.cwt" | sed 's/^/   /'

step "3. And verify it with nothing but the issuer's public key"
"$vouch" cwt verify --key "$work/issuer.pem" --iss https://vouch.example/issuer --aud plant-1 \
	--require-cnf "$work/credential.cwt" >"$work/claims.json"
echo "   valid; subject: $(grep -m1 '"sub"' "$work/claims.json" | tr -d ' ,')"

step "4. Refusals, each with its reason"
now=$(date +%s)
expect_refused "an expired credential" \
	"$vouch" cwt verify --key "$work/issuer.pem" --at $((now + 9 * 3600)) "$work/credential.cwt"
expect_refused "a credential for another site" \
	"$vouch" cwt verify --key "$work/issuer.pem" --aud plant-2 "$work/credential.cwt"
# flip one bit in the last byte (inside the signature)
size=$(wc -c <"$work/credential.cwt")
head -c $((size - 1)) "$work/credential.cwt" >"$work/tampered.cwt"
last=$(tail -c 1 "$work/credential.cwt" | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $((last ^ 1)))" >>"$work/tampered.cwt"
expect_refused "a tampered credential" \
	"$vouch" cwt verify --key "$work/issuer.pem" "$work/tampered.cwt"
cp "$work/credential.cwt" "$work/trailing.cwt"; printf '\000' >>"$work/trailing.cwt"
expect_refused "a credential with a trailing byte" \
	"$vouch" cwt verify --key "$work/issuer.pem" "$work/trailing.cwt"
mkdir "$work/other"
"$issue" "$work/other" mallory 28800 >/dev/null
expect_refused "alice's credential checked with another issuer's key" \
	"$vouch" cwt verify --key "$work/other/issuer.pem" "$work/credential.cwt"

step "5. Interoperability: the signed CWT of RFC 8392 A.3, verified with the RFC's key"
"$vouch" cwt verify --key "$here/examples/rfc8392/a2.3-ecdsa-p256.cosekey" --at 1443944944 \
	"$here/examples/rfc8392/a3-signed.cwt" | sed 's/^/   /'

"$here/scripts/demo-pki.sh" "$build"
"$here/scripts/demo-people.sh" "$build"
"$here/scripts/demo-sensor.sh" "$build"

step "27. The whole plant: vouch-plant starts vouchd, sensors across the zones and people with phones, and plays the plant's day (docs/plant.md)"
"$build/plant/vouch-plant" --sensors 6 --people 12 --seed 1 --chaos

step "28. The plant under load: phones enrol, refresh and ask sensors at a set rate (latency percentiles; bench_plant grows it)"
"$build/plant/vouch-plant" --sensors 3 --people 6 --seed 1 --load --rate 10 --duration 5

printf '\ndemo: all steps behaved as expected\n'
