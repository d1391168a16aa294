#!/bin/bash
# vouchd end to end with real peers: a device enrols with nothing but `openssl req`, `base64` and
# `curl` (EST, RFC 7030), renews with `curl --cert/--key`, and its certificate is checked with
# `openssl verify -crl_check` (CRL from the certificate's distribution point) and
# `openssl ocsp -url` before and after `vouch cert revoke`. Then the admin CLI shows what happened
# (cert list/show, ca show, events), and `vouch cert batch` issues 100 certificates for keys made
# by openssl, each verified against the chain.
# usage: test_pki_est.sh PATH/TO/vouchd PATH/TO/vouch
set -eu

vouchd=${1:?usage: $0 PATH/TO/vouchd PATH/TO/vouch}
vouch=${2:?usage: $0 PATH/TO/vouchd PATH/TO/vouch}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=pki_common.sh
. "$here/pki_common.sh"

pki_setup est
pki_start
w=$work
chain=$site/ca/chain.pem
echo "# vouchd: $https $http"

# fps FILE: the sorted SHA-256 fingerprints of every certificate in a PEM file.
fps() {
	rm -f "$w"/fp_*.pem
	awk -v d="$w/fp_" '/BEGIN CERT/ { n++ } n { print > (d n ".pem") }' "$1"
	for f in "$w"/fp_*.pem; do
		openssl x509 -in "$f" -noout -fingerprint -sha256
	done | sort
	rm -f "$w"/fp_*.pem
}

# get URL OUT: GET, prints "STATUS CONTENT-TYPE".
get() {
	curl -sS -o "$2" -w '%{http_code} %{content_type}' --max-time 30 --cacert "$chain" "$1" \
		2>"$2.err" || true
}

# pubkey_of FILE: the DER public key of a certificate, key or CSR, as hex.
pubkey_of() {
	if grep -q 'BEGIN CERTIFICATE' "$1"; then
		openssl x509 -in "$1" -noout -pubkey
	elif grep -q 'BEGIN PUBLIC KEY' "$1"; then
		cat "$1"
	else
		openssl pkey -in "$1" -pubout
	fi | openssl pkey -pubin -outform DER | od -An -tx1 | tr -d ' \n'
}

subject_of() {
	openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'
}

# ---- EST: cacerts and csrattrs --------------------------------------------------------------
r=$(get "$est/cacerts" "$w/cacerts.b64")
check_eq "cacerts: HTTP 200" "${r%% *}" 200
case ${r#* } in
application/pkcs7-mime*) ok "cacerts: content type application/pkcs7-mime" ;;
*) not_ok "cacerts: content type '${r#* }'" ;;
esac
if unwrap "$w/cacerts.b64" "$w/cacerts.pem"; then
	ok "cacerts: openssl pkcs7 -print_certs unwraps it"
else
	not_ok "cacerts: not a base64 certs-only CMS"
fi
check_eq "cacerts: exactly the issuing and root certificates of ca/chain.pem" \
	"$(fps "$w/cacerts.pem")" "$(fps "$chain")"

r=$(get "$est/csrattrs" "$w/csrattrs.b64")
check_eq "csrattrs: HTTP 200" "${r%% *}" 200
case ${r#* } in
application/csrattrs*) ok "csrattrs: content type application/csrattrs" ;;
*) not_ok "csrattrs: content type '${r#* }'" ;;
esac
if base64 -d "$w/csrattrs.b64" >"$w/csrattrs.der" 2>/dev/null &&
	openssl asn1parse -inform DER -in "$w/csrattrs.der" >"$w/csrattrs.txt" 2>&1 &&
	head -n1 "$w/csrattrs.txt" | grep -q SEQUENCE; then
	ok "csrattrs: base64 DER SEQUENCE (CsrAttrs)"
else
	not_ok "csrattrs: not base64 DER"
fi

# ---- EST: simpleenroll with openssl req + base64 + curl -------------------------------------
tok=$(token dev-1) || fatal "vouch enrol-token create --device dev-1"
check_eq "enrol-token create prints one line" "$(printf '%s\n' "$tok" | wc -l)" 1
[ -n "$tok" ] || fatal "empty enrolment token"
if grep -rqF -- "$tok" "$log"; then
	not_ok "the enrolment token appears in vouchd's log"
else
	ok "the enrolment token is not in vouchd's log"
fi

# The CSR asks for another name: the certificate must carry the enrolment record's.
new_csr "$w" csr1 "/CN=evil.example/O=Evil Corp" || fatal "openssl req"
r=$(est_post simpleenroll "$w/csr1.b64" "$w/enrol1.b64" -u "dev-1:$tok" -D "$w/enrol1.hdr")
check_eq "simpleenroll: HTTP 200" "$r" 200
[ "$r" = 200 ] || {
	sed 's/^/#   /' "$w/enrol1.b64" "$w/enrol1.b64.err"
	fatal "enrolment failed"
}
if grep -qi '^content-type: *application/pkcs7-mime' "$w/enrol1.hdr" &&
	grep -qi 'smime-type=certs-only' "$w/enrol1.hdr"; then
	ok "simpleenroll: application/pkcs7-mime; smime-type=certs-only"
else
	not_ok "simpleenroll: content type $(grep -i '^content-type' "$w/enrol1.hdr" | tr -d '\r')"
fi
unwrap "$w/enrol1.b64" "$w/cert1.pem" || fatal "the enrolment reply does not unwrap"
ok "simpleenroll: openssl pkcs7 -print_certs unwraps the reply"
subj=$(subject_of "$w/cert1.pem")
echo "# subject: $subj"
case ",$subj," in
*,CN=dev-1,*) ok "subject CN is the device id of the token" ;;
*) not_ok "subject CN: $subj" ;;
esac
case ",$subj," in
*,O=test-est,*) ok "subject O is the site" ;;
*) not_ok "subject O: $subj" ;;
esac
case $subj in
*evil* | *Evil*) not_ok "the CSR's subject leaked into the certificate: $subj" ;;
*) ok "nothing of the CSR's subject is in the certificate" ;;
esac
check_eq "the certificate certifies the CSR's key" "$(pubkey_of "$w/cert1.pem")" \
	"$(pubkey_of "$w/csr1.key")"
check_eq "issuer is the issuing CA" \
	"$(openssl x509 -in "$w/cert1.pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')" \
	"$(subject_of "$w/issuing.pem")"
if openssl x509 -in "$w/cert1.pem" -noout -ext extendedKeyUsage 2>/dev/null |
	grep -q 'TLS Web Client Authentication'; then
	ok "device profile: extendedKeyUsage clientAuth"
else
	not_ok "device profile: no clientAuth"
fi
check "openssl verify: the chain" \
	openssl verify -CAfile "$w/root.pem" -untrusted "$w/issuing.pem" "$w/cert1.pem"

# ---- CRL from the distribution point, CA issuers from AIA -------------------------------------
cdp=$(openssl x509 -in "$w/cert1.pem" -noout -ext crlDistributionPoints 2>/dev/null |
	grep -o 'URI:[^ ]*' | head -n1 | cut -c5-) || true
check_eq "CRL distribution point" "$cdp" "$http/crl/issuing.crl"
[ -n "$cdp" ] || fatal "no CRL distribution point in the certificate"
fetch_crl() { # fetch_crl OUT.pem: the CRL from the distribution point, as PEM
	r=$(get "$cdp" "$w/crl.der")
	[ "${r%% *}" = 200 ] && openssl crl -inform DER -in "$w/crl.der" -out "$1" 2>/dev/null
}
r=$(get "$cdp" "$w/crl.der")
check_eq "CRL: HTTP 200 over plain HTTP" "${r%% *}" 200
case ${r#* } in
application/pkix-crl*) ok "CRL: content type application/pkix-crl" ;;
*) not_ok "CRL: content type '${r#* }'" ;;
esac
fetch_crl "$w/crl1.pem" || fatal "the CRL does not download or parse"
check "CRL: signed by the issuing CA" openssl crl -in "$w/crl1.pem" -noout -CAfile "$chain"
crl1_number=$(openssl crl -in "$w/crl1.pem" -noout -crlnumber | sed -e 's/^crlNumber=//' -e 's/^0x//')
check "openssl verify -crl_check: valid" \
	openssl verify -crl_check -CAfile "$w/root.pem" -untrusted "$w/issuing.pem" \
	-CRLfile "$w/crl1.pem" "$w/cert1.pem"
r=$(get "$http/crl/root.crl" "$w/rootcrl.der")
check_eq "root CRL: HTTP 200" "${r%% *}" 200
if openssl crl -inform DER -in "$w/rootcrl.der" -out "$w/rootcrl.pem" 2>/dev/null; then
	check "openssl verify -crl_check_all (root and issuing CRLs)" \
		openssl verify -crl_check_all -CAfile "$w/root.pem" -untrusted "$w/issuing.pem" \
		-CRLfile "$w/crl1.pem" -CRLfile "$w/rootcrl.pem" "$w/cert1.pem"
else
	not_ok "root CRL does not parse"
fi
aia=$(openssl x509 -in "$w/cert1.pem" -noout -ext authorityInfoAccess 2>/dev/null |
	grep 'CA Issuers' | grep -o 'URI:[^ ]*' | cut -c5-) || true
check_eq "AIA caIssuers URL" "$aia" "$http/ca/issuing.crt"
r=$(get "$http/ca/issuing.crt" "$w/issuing.der")
check_eq "caIssuers: HTTP 200" "${r%% *}" 200
check_eq "caIssuers: the issuing CA certificate" \
	"$(openssl x509 -inform DER -in "$w/issuing.der" -noout -fingerprint -sha256 2>&1)" \
	"$(openssl x509 -in "$w/issuing.pem" -noout -fingerprint -sha256)"

# ---- EST: simplereenroll with curl --cert/--key ----------------------------------------------
compat=$(openssl x509 -in "$w/cert1.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
csr_for_key "$w" renew1 "$w/csr1.key" "$compat" || fatal "openssl req (renewal)"
r=$(est_post simplereenroll "$w/renew1.b64" "$w/renew1.out" --cert "$w/cert1.pem" \
	--key "$w/csr1.key")
check_eq "simplereenroll (same key): HTTP 200" "$r" 200
unwrap "$w/renew1.out" "$w/cert2.pem" || {
	sed 's/^/#   /' "$w/renew1.out" "$w/renew1.out.err"
	fatal "renewal failed"
}
check_eq "renewed: same subject" "$(subject_of "$w/cert2.pem")" "$subj"
check_eq "renewed: same key" "$(pubkey_of "$w/cert2.pem")" "$(pubkey_of "$w/csr1.key")"
if [ "$(serial_of "$w/cert2.pem")" != "$(serial_of "$w/cert1.pem")" ]; then
	ok "renewed: a new serial"
else
	not_ok "renewed: the serial did not change"
fi

new_csr "$w" renew2 "$compat" || fatal "openssl req (new key)"
r=$(est_post simplereenroll "$w/renew2.b64" "$w/renew2.out" --cert "$w/cert2.pem" \
	--key "$w/csr1.key")
check_eq "simplereenroll (new key): HTTP 200" "$r" 200
unwrap "$w/renew2.out" "$w/cert3.pem" || {
	sed 's/^/#   /' "$w/renew2.out" "$w/renew2.out.err"
	fatal "renewal with a new key failed"
}
check_eq "rekeyed: same subject" "$(subject_of "$w/cert3.pem")" "$subj"
check_eq "rekeyed: the new key" "$(pubkey_of "$w/cert3.pem")" "$(pubkey_of "$w/renew2.key")"
serial3=$(serial_of "$w/cert3.pem")
echo "# certificate under test: serial $serial3"

# An Ed25519 device key is accepted too (key policy: P-256 and Ed25519).
tok=$(token dev-ed) || fatal "enrol-token create --device dev-ed"
openssl req -new -newkey ed25519 -nodes -keyout "$w/ed.key" -subj /CN=ed -outform DER \
	-out "$w/ed.csr" 2>/dev/null && base64 "$w/ed.csr" >"$w/ed.b64"
r=$(est_post simpleenroll "$w/ed.b64" "$w/ed.out" -u "dev-ed:$tok")
check_eq "simpleenroll with an Ed25519 key: HTTP 200" "$r" 200
if unwrap "$w/ed.out" "$w/ed.pem"; then
	check_eq "Ed25519: the certificate certifies it" "$(pubkey_of "$w/ed.pem")" \
		"$(pubkey_of "$w/ed.key")"
else
	not_ok "Ed25519: the reply does not unwrap"
fi

# The service profile: SANs from the token record (not from the CSR), serverAuth + clientAuth.
tok=$(token svc-1 --profile service --san svc.example --san 10.0.0.7) ||
	fatal "enrol-token create --profile service --san ..."
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$w/svc.key" \
	-subj /CN=svc -addext subjectAltName=DNS:evil.example -outform DER -out "$w/svc.csr" \
	2>/dev/null && base64 "$w/svc.csr" >"$w/svc.b64"
r=$(est_post simpleenroll "$w/svc.b64" "$w/svc.out" -u "svc-1:$tok")
check_eq "simpleenroll, service profile: HTTP 200" "$r" 200
if unwrap "$w/svc.out" "$w/svc.pem"; then
	sans=$(openssl x509 -in "$w/svc.pem" -noout -ext subjectAltName 2>/dev/null | tail -n +2 |
		tr -d ' ')
	check_eq "service: the SANs of the token record" "$sans" "DNS:svc.example,IPAddress:10.0.0.7"
	eku=$(openssl x509 -in "$w/svc.pem" -noout -ext extendedKeyUsage 2>/dev/null | tail -n +2)
	case $eku in
	*"TLS Web Server Authentication"*"TLS Web Client Authentication"*) ok "service: serverAuth, clientAuth" ;;
	*) not_ok "service: extendedKeyUsage $eku" ;;
	esac
	check "service: openssl verify -purpose sslserver" openssl verify -purpose sslserver \
		-CAfile "$w/root.pem" -untrusted "$w/issuing.pem" "$w/svc.pem"
else
	not_ok "service: the reply does not unwrap"
fi

# ---- OCSP: good, then revoked ------------------------------------------------------------------
ocsp_url=$(openssl x509 -in "$w/cert3.pem" -noout -ocsp_uri)
check_eq "AIA OCSP URL" "$ocsp_url" "$http/ocsp"
ocsp() { # ocsp CERT: query the responder of the certificate, verify the answer
	openssl ocsp -issuer "$w/issuing.pem" -cert "$1" -url "$ocsp_url" -CAfile "$chain" \
		-timeout 10 >"$w/ocsp.out" 2>&1
}
if ocsp "$w/cert3.pem" && grep -q "cert3.pem: good" "$w/ocsp.out" &&
	grep -q "Response verify OK" "$w/ocsp.out"; then
	ok "openssl ocsp -url: good, response verified"
else
	not_ok "openssl ocsp -url: not a verified 'good'"
	sed 's/^/#   /' "$w/ocsp.out"
fi
# RFC 6960 A.1: the same request by GET, base64 and URL-encoded.
openssl ocsp -issuer "$w/issuing.pem" -cert "$w/cert3.pem" -no_nonce -reqout "$w/ocspreq.der" \
	>/dev/null 2>&1
req=$(base64 -w0 "$w/ocspreq.der" | sed -e 's/+/%2B/g' -e 's|/|%2F|g' -e 's/=/%3D/g')
r=$(get "$http/ocsp/$req" "$w/ocspget.der")
check_eq "OCSP by GET: HTTP 200" "${r%% *}" 200
case ${r#* } in
application/ocsp-response*) ok "OCSP: content type application/ocsp-response" ;;
*) not_ok "OCSP: content type '${r#* }'" ;;
esac
if openssl ocsp -respin "$w/ocspget.der" -issuer "$w/issuing.pem" -cert "$w/cert3.pem" \
	-CAfile "$chain" >"$w/ocsp.out" 2>&1 && grep -q "cert3.pem: good" "$w/ocsp.out"; then
	ok "OCSP by GET: good"
else
	not_ok "OCSP by GET"
	sed 's/^/#   /' "$w/ocsp.out"
fi
# A certificate the CA never issued: unknown (or a refusal), never good.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$w/stray.key" \
	-subj /CN=stray -days 1 -out "$w/stray.pem" 2>/dev/null
ocsp "$w/stray.pem" || true
if grep -q "stray.pem: good" "$w/ocsp.out"; then
	not_ok "OCSP says good for a certificate it never issued"
else
	ok "OCSP: not good for a certificate it never issued ($(grep -o 'stray.pem: [a-z]*' \
		"$w/ocsp.out" || echo refused))"
fi

check "vouch cert revoke SERIAL --reason keyCompromise" \
	"$vouch" --data "$site" cert revoke "$serial3" --reason keyCompromise
grep -q "$serial3" "$w/check.out" && ok "cert revoke names the serial" ||
	not_ok "cert revoke output: $(cat "$w/check.out")"
if ocsp "$w/cert3.pem" && grep -q "cert3.pem: revoked" "$w/ocsp.out" &&
	grep -q "Response verify OK" "$w/ocsp.out"; then
	ok "openssl ocsp -url: revoked"
else
	not_ok "openssl ocsp -url: not revoked"
	sed 's/^/#   /' "$w/ocsp.out"
fi
grep -qi "Reason: keyCompromise" "$w/ocsp.out" && ok "OCSP: reason keyCompromise" ||
	not_ok "OCSP: no reason keyCompromise"
if ocsp "$w/cert1.pem" && grep -q "cert1.pem: good" "$w/ocsp.out"; then
	ok "OCSP: the device's other certificate is still good"
else
	not_ok "OCSP: cert1 not good"
fi

fetch_crl "$w/crl2.pem" || fatal "the CRL does not download after revocation"
if openssl crl -in "$w/crl2.pem" -noout -text | grep -q "Serial Number: $serial3"; then
	ok "the CRL lists the revoked serial"
else
	not_ok "the CRL does not list $serial3"
fi
crl2_number=$(openssl crl -in "$w/crl2.pem" -noout -crlnumber | sed -e 's/^crlNumber=//' -e 's/^0x//')
if [ $((16#$crl2_number)) -gt $((16#$crl1_number)) ]; then
	ok "the CRL was reissued (number $crl1_number -> $crl2_number)"
else
	not_ok "CRL number $crl1_number -> $crl2_number"
fi
if openssl verify -crl_check -CAfile "$w/root.pem" -untrusted "$w/issuing.pem" \
	-CRLfile "$w/crl2.pem" "$w/cert3.pem" >"$w/verify.out" 2>&1; then
	not_ok "openssl verify -crl_check accepts the revoked certificate"
elif grep -q "certificate revoked" "$w/verify.out"; then
	ok "openssl verify -crl_check: certificate revoked"
else
	not_ok "openssl verify -crl_check failed otherwise: $(tr '\n' ' ' <"$w/verify.out")"
fi
check "openssl verify -crl_check: the unrevoked one still verifies" \
	openssl verify -crl_check -CAfile "$w/root.pem" -untrusted "$w/issuing.pem" \
	-CRLfile "$w/crl2.pem" "$w/cert1.pem"

new_csr "$w" renew3 "$compat"
r=$(est_post simplereenroll "$w/renew3.b64" "$w/renew3.out" --cert "$w/cert3.pem" \
	--key "$w/renew2.key")
case $r in
401 | 403) ok "simplereenroll with the revoked certificate: refused, HTTP $r" ;;
000) ok "simplereenroll with the revoked certificate: refused in the TLS handshake" ;;
*) not_ok "simplereenroll with the revoked certificate: HTTP $r" ;;
esac

# ---- the admin CLI shows what happened ---------------------------------------------------------
if "$vouch" --data "$site" cert list --device dev-1 >"$w/list.out" 2>&1; then
	ok "vouch cert list --device dev-1"
	sed 's/^/#   /' "$w/list.out"
else
	not_ok "vouch cert list --device dev-1"
fi
check_eq "cert list: three certificates of dev-1" "$(grep -c ' dev-1 ' "$w/list.out" || true)" 3
grep -q "^$serial3 .*revoked" "$w/list.out" && ok "cert list: the revoked one is revoked" ||
	not_ok "cert list: $serial3 not shown revoked"
"$vouch" --data "$site" cert list --status revoked --json >"$w/revoked.json" 2>&1 || true
grep -q "\"$serial3\"" "$w/revoked.json" && ok "cert list --status revoked --json" ||
	not_ok "cert list --status revoked lacks $serial3"
"$vouch" --data "$site" cert list --status valid --json >"$w/valid.json" 2>&1 || true
grep -q "\"$serial3\"" "$w/valid.json" && not_ok "cert list --status valid shows a revoked one" ||
	ok "cert list --status valid leaves the revoked one out"
if "$vouch" --data "$site" cert show "$serial3" >"$w/show.out" 2>&1; then
	ok "vouch cert show SERIAL"
	sed 's/^/#   /' "$w/show.out"
else
	not_ok "vouch cert show SERIAL: $(cat "$w/show.out")"
fi
grep -q '^status *revoked' "$w/show.out" && ok "cert show: status revoked" ||
	not_ok "cert show: not revoked"
grep -q '^reason *keyCompromise' "$w/show.out" && ok "cert show: reason keyCompromise" ||
	not_ok "cert show: no reason"
"$vouch" --data "$site" cert show "$serial3" --pem >"$w/show.pem" 2>&1 || true
check_eq "cert show --pem: the certificate the device got" \
	"$(openssl x509 -in "$w/show.pem" -noout -fingerprint -sha256 2>&1)" \
	"$(openssl x509 -in "$w/cert3.pem" -noout -fingerprint -sha256)"
if "$vouch" --data "$site" ca show >"$w/ca.out" 2>&1; then
	ok "vouch ca show"
	sed 's/^/#   /' "$w/ca.out"
else
	not_ok "vouch ca show: $(cat "$w/ca.out")"
fi
root_cn=$(openssl x509 -in "$w/root.pem" -noout -subject -nameopt RFC2253,sep_multiline |
	grep -o 'CN=.*' | head -n1)
grep -qF "${root_cn#CN=}" "$w/ca.out" && ok "ca show names the root CA" ||
	not_ok "ca show does not name the root ($root_cn)"
if "$vouch" --data "$site" events >"$w/events.out" 2>&1; then
	ok "vouch events"
	sed 's/^/#   /' "$w/events.out" | head -n 30
else
	not_ok "vouch events: $(cat "$w/events.out")"
fi
for t in site.init token.create token.use cert.issue cert.revoke crl.issue; do
	grep -q " $t " "$w/events.out" && ok "events: $t" || not_ok "events: no $t"
done
"$vouch" --data "$site" events --json >"$w/events.json" 2>/dev/null || true
check_eq "events: three issuances via est" "$(grep -c '"via": "est"' "$w/events.json" || true)" 3
check_eq "events: two via reenroll" "$(grep -c '"via": "reenroll"' "$w/events.json" || true)" 2
check_eq "events: one cert.revoke" "$(grep -c '"type": "cert.revoke"' "$w/events.json" || true)" 1
last=$(grep -o '"seq": [0-9]*' "$w/events.json" | tail -n1 | grep -o '[0-9]*$')
mid=$((last - 2))
"$vouch" --data "$site" events --after "$mid" --json >"$w/after.json" 2>/dev/null || true
check_eq "events --after: only the later ones" \
	"$(grep -o '"seq": [0-9]*' "$w/after.json" | grep -o '[0-9]*$' | tr '\n' ' ')" \
	"$((mid + 1)) $((mid + 2)) "

# Revocation by device: every valid certificate of svc-1 (one enrolled, one renewed).
compat_svc=$(openssl x509 -in "$w/svc.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
csr_for_key "$w" svc2 "$w/svc.key" "$compat_svc"
r=$(est_post simplereenroll "$w/svc2.b64" "$w/svc2.out" --cert "$w/svc.pem" --key "$w/svc.key")
check_eq "simplereenroll of the service: HTTP 200" "$r" 200
if "$vouch" --data "$site" cert revoke --device svc-1 --reason cessationOfOperation \
	>"$w/rdev.out" 2>&1; then
	ok "vouch cert revoke --device svc-1: $(cat "$w/rdev.out")"
else
	not_ok "vouch cert revoke --device svc-1: $(cat "$w/rdev.out")"
fi
grep -q "revoked 2 " "$w/rdev.out" && ok "revoke --device: both certificates" ||
	not_ok "revoke --device did not revoke 2"
"$vouch" --data "$site" cert list --device svc-1 --status valid --json >"$w/svc.json" 2>&1 || true
check_eq "revoke --device: no valid certificate of svc-1 left" \
	"$(grep -c '"serial"' "$w/svc.json" || true)" 0
"$vouch" --data "$site" cert list --device svc-1 --status revoked --json >"$w/svc.json" 2>&1 ||
	true
check_eq "revoke --device: two revoked certificates of svc-1" \
	"$(grep -c '"serial"' "$w/svc.json" || true)" 2

# Exit codes: 1 when the server refuses, 2 for usage and connection errors.
set +e
"$vouch" --data "$site" cert show 00DEADBEEF >"$w/x.out" 2>&1
check_eq "cert show of an unknown serial: exit 1 (refused)" "$?" 1
"$vouch" --data "$site" cert revoke 00DEADBEEF >"$w/x.out" 2>&1
check_eq "cert revoke of an unknown serial: exit 1 (refused)" "$?" 1
"$vouch" --data "$site" cert show >"$w/x.out" 2>&1
check_eq "cert show without a serial: exit 2 (usage)" "$?" 2
"$vouch" --data "$w/nowhere" cert list >"$w/x.out" 2>&1
check_eq "no such site: exit 2" "$?" 2
"$vouch" --data "$site" --server https://127.0.0.1:1 cert list >"$w/x.out" 2>&1
check_eq "server unreachable: exit 2" "$?" 2
"$vouch" --help >"$w/help.out" 2>&1
check_eq "vouch --help: exit 0" "$?" 0
set -e
for c in enrol-token "cert list" "cert show" "cert revoke" "cert batch" "ca show" events; do
	grep -q "$c" "$w/help.out" && ok "--help documents $c" || not_ok "--help lacks $c"
done
for c in enrol-token cert ca events; do
	check "vouch $c --help" "$vouch" "$c" --help
done

# ---- batch: 100 keys made by openssl -----------------------------------------------------------
mkdir -p "$w/keys"
: >"$w/keys.pem"
for i in $(seq 100); do
	# every tenth key Ed25519, the rest P-256
	if [ $((i % 10)) -eq 0 ]; then
		openssl genpkey -algorithm ed25519 -out "$w/keys/$i.key" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$w/keys/$i.key" 2>/dev/null
	fi
	openssl pkey -in "$w/keys/$i.key" -pubout -out "$w/keys/$i.pub" 2>/dev/null
	cat "$w/keys/$i.pub" >>"$w/keys.pem"
done
start=$(date +%s%N)
check "vouch cert batch: 100 keys" "$vouch" --data "$site" cert batch --profile short-lived \
	--prefix veh --keys "$w/keys.pem" --out "$w/batch"
echo "# batch of 100: $((($(date +%s%N) - start) / 1000000)) ms"
check_eq "cert batch wrote 100 certificates" "$(ls "$w/batch" 2>/dev/null | wc -l)" 100
openssl verify -CAfile "$w/root.pem" -untrusted "$w/issuing.pem" "$w"/batch/*.pem \
	>"$w/bverify.out" 2>&1 || true
check_eq "openssl verify: all 100 against the chain" "$(grep -c ': OK$' "$w/bverify.out" || true)" \
	100
bad=0
serials=
for i in $(seq 100); do
	[ -f "$w/batch/$i.pem" ] || {
		bad=$((bad + 1))
		continue
	}
	[ "$(pubkey_of "$w/batch/$i.pem")" = "$(pubkey_of "$w/keys/$i.pub")" ] || bad=$((bad + 1))
	serials="$serials$(serial_of "$w/batch/$i.pem")
"
done
check_eq "batch: certificate N certifies key N" "$bad" 0
check_eq "batch: 100 distinct serials" "$(printf '%s' "$serials" | sort -u | grep -c .)" 100
case $(subject_of "$w/batch/1.pem") in
*CN=veh*) ok "batch: subject from the prefix ($(subject_of "$w/batch/1.pem"))" ;;
*) not_ok "batch: subject $(subject_of "$w/batch/1.pem")" ;;
esac
"$vouch" --data "$site" cert list --json >"$w/all.json" 2>/dev/null || true
check_eq "batch: all 100 in the store" \
	"$(printf '%s' "$serials" | while read -r s; do grep -c "\"$s\"" "$w/all.json"; done |
		grep -c '^1$')" 100
# One SPKI in DER, certificate on stdout.
openssl pkey -pubin -in "$w/keys/1.pub" -outform DER -out "$w/one.der"
if "$vouch" --data "$site" cert batch --profile device --prefix pump --keys "$w/one.der" \
	>"$w/one.pem" 2>"$w/one.err" &&
	openssl verify -CAfile "$w/root.pem" -untrusted "$w/issuing.pem" "$w/one.pem" >/dev/null; then
	ok "cert batch: a DER SubjectPublicKeyInfo, PEM on stdout"
else
	not_ok "cert batch with a DER key: $(cat "$w/one.err")"
fi
set +e
"$vouch" --data "$site" cert batch --profile device --prefix x --keys "$w/keys/1.key" \
	>/dev/null 2>&1
check_eq "cert batch refuses a private key file: exit 2" "$?" 2
set -e

kill -0 "$vouchd_pid" 2>/dev/null && ok "vouchd still running" || not_ok "vouchd died"
pki_stop
