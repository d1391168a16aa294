#!/usr/bin/env bash
# make demo, part 2: a site's PKI. vouchd creates its CA in a PKCS#11 token, a gateway enrols
# over EST with nothing but openssl + curl, renews over mutual TLS, is checked with openssl's
# CRL and OCSP clients, and is revoked by the operator with the vouch CLI.
set -euo pipefail
build="${1:-build}"
vouchd="$build/server/vouchd"
vouch="$build/cli/vouch"
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
port=$((20000 + RANDOM % 20000))

step "6. A new site: vouchd init (CA keys generated inside a SoftHSM2 token, never exported)"
"$vouchd" init --data "$site" --site demo-plant --hostname localhost --hostname 127.0.0.1 \
	--listen 127.0.0.1:0 --http-listen "127.0.0.1:$port" | sed 's/^/   /'
"$vouchd" --data "$site" 2>"$work/vouchd.log" &
pid=$!
for _ in $(seq 100); do [ -s "$site/vouchd.addr" ] && break; sleep 0.1; done
[ -s "$site/vouchd.addr" ] || fail "vouchd did not start"
https=$(grep '^https://' "$site/vouchd.addr")
http=$(grep '^http://' "$site/vouchd.addr")
est="$https/.well-known/est"
echo "   vouchd is listening: $https (EST, admin API), $http (CRL, OCSP)"

step "7. The operator creates a one-time enrolment token for gateway gw-1 (vouch CLI, mutual TLS)"
token=$("$vouch" --data "$site" enrol-token create --device gw-1 --hours 1)
echo "   token: ${#token} characters, shown once, stored only as a hash"

step "8. The gateway enrols with nothing but openssl req + base64 + curl (RFC 7030 simpleenroll)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/gw.key" \
	-subj "/CN=whatever-the-csr-says" -outform DER 2>/dev/null | base64 -w0 >"$work/gw.csr.b64"
curl -sS --fail --cacert "$site/ca/chain.pem" -u "gw-1:$token" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$work/gw.csr.b64" \
	"$est/simpleenroll" | base64 -d | openssl pkcs7 -inform DER -print_certs >"$work/gw.pem"
openssl x509 -in "$work/gw.pem" -noout -subject -serial -enddate | sed 's/^/   /'
echo "   (the subject comes from the enrolment record, not from the CSR)"
if curl -s -o /dev/null -w '%{http_code}' --cacert "$site/ca/chain.pem" -u "gw-1:$token" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$work/gw.csr.b64" \
	"$est/simpleenroll" | grep -q 401; then
	echo "   the same token again: refused (401)"
else
	fail "a reused token was accepted"
fi

step "9. Anyone checks it with openssl: chain + CRL, and OCSP"
curl -sS --fail "$http/crl/issuing.crl" -o "$work/issuing.crl"
openssl crl -inform DER -in "$work/issuing.crl" -out "$work/issuing.crl.pem"
cat "$site/ca/chain.pem" "$work/issuing.crl.pem" >"$work/trust.pem"
openssl verify -crl_check -CAfile "$work/trust.pem" "$work/gw.pem" | sed 's/^/   /'
openssl ocsp -issuer "$site/ca/issuing.pem" -cert "$work/gw.pem" -CAfile "$site/ca/chain.pem" \
	-url "$http/ocsp" 2>&1 | sed 's/^/   /'

step "10. The gateway renews over mutual TLS with its current certificate and a new key"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/gw2.key" \
	-subj "$(openssl x509 -in "$work/gw.pem" -noout -subject -nameopt compat | sed "s/^subject=//")" -outform DER 2>/dev/null | base64 -w0 >"$work/gw2.csr.b64"
curl -sS --fail --cacert "$site/ca/chain.pem" --cert "$work/gw.pem" --key "$work/gw.key" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$work/gw2.csr.b64" \
	"$est/simplereenroll" | base64 -d | openssl pkcs7 -inform DER -print_certs >"$work/gw2.pem"
openssl x509 -in "$work/gw2.pem" -noout -subject -serial | sed 's/^/   /'

step "11. The gateway is compromised: the operator revokes every certificate of gw-1"
"$vouch" --data "$site" cert revoke --device gw-1 --reason keyCompromise | sed 's/^/   /'
openssl ocsp -issuer "$site/ca/issuing.pem" -cert "$work/gw2.pem" -CAfile "$site/ca/chain.pem" \
	-url "$http/ocsp" 2>&1 | sed 's/^/   /' | tee "$work/ocsp.out"
grep -q ': revoked' "$work/ocsp.out" || fail "OCSP does not say revoked"
curl -sS --fail "$http/crl/issuing.crl" | openssl crl -inform DER -out "$work/issuing.crl.pem"
cat "$site/ca/chain.pem" "$work/issuing.crl.pem" >"$work/trust.pem"
if openssl verify -crl_check -CAfile "$work/trust.pem" "$work/gw2.pem" >"$work/v.out" 2>&1; then
	fail "the revoked certificate still verifies"
fi
echo "   openssl verify -crl_check: $(grep -m1 -o 'certificate revoked' "$work/v.out")"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$site/ca/chain.pem" --cert "$work/gw2.pem" \
	--key "$work/gw2.key" -H 'Content-Type: application/pkcs10' \
	--data-binary @"$work/gw2.csr.b64" "$est/simplereenroll")
[ "$code" = 403 ] || fail "re-enrolment with a revoked certificate gave $code"
echo "   re-enrolment with the revoked certificate: refused ($code)"

step "12. What happened, from the site's event log (the future audit log)"
"$vouch" --data "$site" events | sed 's/^/   /'
"$vouch" --data "$site" cert list --device gw-1 | sed 's/^/   /'

kill -TERM "$pid"
wait "$pid" && echo "   vouchd stopped cleanly on SIGTERM" || fail "vouchd did not stop cleanly"
pid=
