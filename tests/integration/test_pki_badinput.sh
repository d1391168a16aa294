#!/bin/bash
# vouchd against bad input: each request gets a clear HTTP error (the status code is checked),
# vouchd logs one JSON line with the reason, and stays up (a cacerts request succeeds after
# each). Malformed, oversized and wrongly signed CSRs, a refused key type, wrong content type,
# bad base64; reused, expired, foreign and missing tokens; re-enrolment with a revoked, an expired
# and a foreign-CA certificate; the admin API without the admin certificate; slow clients and
# half-open connections.
# usage: test_pki_badinput.sh PATH/TO/vouchd PATH/TO/vouch [PATH/TO/pki_backdate]
set -eu

vouchd=${1:?usage: $0 PATH/TO/vouchd PATH/TO/vouch [PATH/TO/pki_backdate]}
vouch=${2:?usage: $0 PATH/TO/vouchd PATH/TO/vouch [PATH/TO/pki_backdate]}
backdate=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=pki_common.sh
. "$here/pki_common.sh"

pki_setup badinput
pki_start
w=$work
chain=$site/ca/chain.pem
port=${https##*:}
echo "# vouchd: $https $http"

# refused STATUSES WHAT CURL-ARGS...: the request must get one of the HTTP statuses (a|b), a log
# line with that status and a reason, and vouchd must still answer afterwards.
refused() {
	local want=$1 what=$2 before code line
	shift 2
	before=$(log_lines)
	code=$(curl -sS -o "$w/resp" -w '%{http_code}' --max-time 30 --cacert "$chain" "$@" \
		2>"$w/resp.err") || true
	if printf '|%s|' "$want" | grep -q "|$code|"; then
		ok "$what: HTTP $code"
	else
		not_ok "$what: HTTP $code, wanted $want"
		sed 's/^/#   /' "$w/resp" "$w/resp.err" | head -n 5
	fi
	line=
	for _ in $(seq 20); do
		line=$(tail -n +"$((before + 1))" "$log" | grep "\"status\":\"$code\"" |
			grep '"reason"' | head -n1) || true
		[ -n "$line" ] && break
		sleep 0.1
	done
	if [ -n "$line" ]; then
		ok "$what: logged ($(printf '%s' "$line" | grep -o '"reason":"[^"]*"'))"
	else
		not_ok "$what: no log line with status $code and a reason"
		tail -n +"$((before + 1))" "$log" | sed 's/^/#   /' | head -n 5
	fi
	vouchd_up || fatal "vouchd does not answer after: $what"
}

new_csr "$w" good || fatal "openssl req"
tok=$(token dev-1) || fatal "vouch enrol-token create"

# ---- malformed requests (each with a valid token, which they must not use up) ---------------
head -c 300 /dev/urandom | base64 >"$w/garbage.b64"
refused 400 "simpleenroll: random bytes as the CSR" \
	-u "dev-1:$tok" -H 'Content-Type: application/pkcs10' --data-binary "@$w/garbage.b64" \
	"$est/simpleenroll"

openssl x509 -in "$site/ca/root.pem" -outform DER | base64 >"$w/notcsr.b64"
refused 400 "simpleenroll: a certificate instead of a CSR" \
	-u "dev-1:$tok" -H 'Content-Type: application/pkcs10' --data-binary "@$w/notcsr.b64" \
	"$est/simpleenroll"

head -c 200 "$w/good.csr" | base64 >"$w/trunc.b64"
refused 400 "simpleenroll: a truncated CSR" \
	-u "dev-1:$tok" -H 'Content-Type: application/pkcs10' --data-binary "@$w/trunc.b64" \
	"$est/simpleenroll"

{
	cat "$w/good.csr"
	printf 'trailing'
} | base64 >"$w/trailing.b64"
refused 400 "simpleenroll: a CSR followed by trailing bytes" \
	-u "dev-1:$tok" -H 'Content-Type: application/pkcs10' --data-binary "@$w/trailing.b64" \
	"$est/simpleenroll"

# The signature is the last thing in a CSR: flip a bit of its last byte.
n=$(stat -c %s "$w/good.csr")
last=$(tail -c 1 "$w/good.csr" | od -An -tu1 | tr -d ' ')
{
	head -c $((n - 1)) "$w/good.csr"
	printf "\\$(printf %03o $((last ^ 1)))"
} >"$w/badsig.csr"
cmp -s "$w/good.csr" "$w/badsig.csr" && fatal "the corrupted CSR equals the original"
openssl req -inform DER -in "$w/badsig.csr" -noout 2>/dev/null ||
	fatal "the corrupted CSR no longer parses: the test would not test the signature"
base64 "$w/badsig.csr" >"$w/badsig.b64"
refused 400 "simpleenroll: a CSR whose signature does not verify" \
	-u "dev-1:$tok" -H 'Content-Type: application/pkcs10' --data-binary "@$w/badsig.b64" \
	"$est/simpleenroll"

openssl req -new -newkey rsa:2048 -nodes -keyout "$w/rsa.key" -subj /CN=rsa -outform DER \
	2>/dev/null | base64 >"$w/rsa.b64"
refused 400 "simpleenroll: an RSA key (policy: P-256 and Ed25519 only)" \
	-u "dev-1:$tok" -H 'Content-Type: application/pkcs10' --data-binary "@$w/rsa.b64" \
	"$est/simpleenroll"

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$w/p384.key" \
	-subj /CN=p384 -outform DER 2>/dev/null | base64 >"$w/p384.b64"
refused 400 "simpleenroll: a P-384 key (policy)" \
	-u "dev-1:$tok" -H 'Content-Type: application/pkcs10' --data-binary "@$w/p384.b64" \
	"$est/simpleenroll"

printf 'this is %%%% not base64 !!!\n' >"$w/badb64"
refused 400 "simpleenroll: bad base64" \
	-u "dev-1:$tok" -H 'Content-Type: application/pkcs10' --data-binary "@$w/badb64" \
	"$est/simpleenroll"

: >"$w/empty"
refused 400 "simpleenroll: empty body" \
	-u "dev-1:$tok" -H 'Content-Type: application/pkcs10' --data-binary "@$w/empty" \
	"$est/simpleenroll"

refused 415 "simpleenroll: wrong content type (text/plain)" \
	-u "dev-1:$tok" -H 'Content-Type: text/plain' --data-binary "@$w/good.b64" \
	"$est/simpleenroll"

head -c 76800 /dev/zero | base64 >"$w/big.b64" # 100 KiB of base64 (64 KiB limit)
refused 413 "simpleenroll: a 100 KiB body" \
	-u "dev-1:$tok" -H 'Content-Type: application/pkcs10' --data-binary "@$w/big.b64" \
	"$est/simpleenroll"

# Far over the limit libevent itself cuts the connection: a status or a close, never a crash.
head -c 2000000 /dev/zero | base64 >"$w/huge.b64"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 --cacert "$chain" -u "dev-1:$tok" \
	-H 'Content-Type: application/pkcs10' --data-binary "@$w/huge.b64" "$est/simpleenroll" \
	2>/dev/null) || true
case $code in
413 | 000) ok "simpleenroll: a 2.7 MB body is cut off (HTTP $code)" ;;
*) not_ok "simpleenroll: a 2.7 MB body: HTTP $code" ;;
esac
vouchd_up || fatal "vouchd does not answer after a 2.7 MB body"

big_header=$(head -c 12000 /dev/zero | tr '\0' a)
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 --cacert "$chain" \
	-H "X-Big: $big_header" "$est/cacerts" 2>/dev/null) || true
case $code in
400 | 413 | 431 | 000) ok "a 12 KB header is refused (HTTP $code)" ;;
*) not_ok "a 12 KB header: HTTP $code" ;;
esac
vouchd_up || fatal "vouchd does not answer after a 12 KB header"

refused 404 "an unknown EST path" "$est/nothing"
refused 405 "GET on simpleenroll" "$est/simpleenroll"

# None of that used the token up.
r=$(est_post simpleenroll "$w/good.b64" "$w/good.out" -u "dev-1:$tok")
check_eq "the token still works after the refused requests" "$r" 200
unwrap "$w/good.out" "$w/dev1.pem" || fatal "the enrolment reply does not unwrap"

# ---- tokens ------------------------------------------------------------------------------------
new_csr "$w" again
refused "401|403" "simpleenroll: a reused token" \
	-u "dev-1:$tok" -H 'Content-Type: application/pkcs10' --data-binary "@$w/again.b64" \
	"$est/simpleenroll"

tok_a=$(token dev-a) || fatal "enrol-token create --device dev-a"
refused "401|403" "simpleenroll: the token of another device" \
	-u "dev-b:$tok_a" -H 'Content-Type: application/pkcs10' --data-binary "@$w/again.b64" \
	"$est/simpleenroll"

refused "401|403" "simpleenroll: a token nobody issued" \
	-u "dev-a:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" -H 'Content-Type: application/pkcs10' \
	--data-binary "@$w/again.b64" "$est/simpleenroll"

refused 401 "simpleenroll: no authentication" \
	-H 'Content-Type: application/pkcs10' --data-binary "@$w/again.b64" "$est/simpleenroll"

refused "400|401" "simpleenroll: a malformed Authorization header" \
	-H 'Authorization: Basic !!!' -H 'Content-Type: application/pkcs10' \
	--data-binary "@$w/again.b64" "$est/simpleenroll"

# An expired token: --hours 0 when the API takes it; otherwise the token's expiry is moved into
# the past in the store (the only way short of waiting an hour).
expired=
if tok_x=$(token dev-x --hours 0 2>"$w/hours0.err"); then
	expired="created with --hours 0"
elif command -v sqlite3 >/dev/null 2>&1; then
	tok_x=$(token dev-x --hours 1) || fatal "enrol-token create --device dev-x --hours 1"
	if sqlite3 -cmd '.timeout 5000' "$site/vouch.db" \
		"UPDATE tokens SET expires_at = strftime('%s','now') - 60 WHERE device = 'dev-x'" \
		2>"$w/sqlite.err"; then
		expired="its expiry moved into the past with sqlite3 ($(tr -d '\n' <"$w/hours0.err"))"
	fi
fi
if [ -n "$expired" ]; then
	sleep 1
	echo "# expired token: $expired"
	refused "401|403" "simpleenroll: an expired token" \
		-u "dev-x:$tok_x" -H 'Content-Type: application/pkcs10' \
		--data-binary "@$w/again.b64" "$est/simpleenroll"
else
	not_ok "could not make an expired token (--hours 0 refused, no sqlite3)"
fi

# The refused attempts left their events.
"$vouch" --data "$site" events --json >"$w/events.json" 2>/dev/null || true
n=$(grep -c '"type": "token.refuse"' "$w/events.json" || true)
if [ "$n" -ge 3 ]; then
	ok "token refusals are recorded as token.refuse events ($n)"
else
	not_ok "only $n token.refuse events"
fi

# ---- re-enrolment with certificates it must refuse ---------------------------------------------
compat=$(openssl x509 -in "$w/dev1.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
csr_for_key "$w" renew "$w/good.key" "$compat"

refused "401|403" "simplereenroll: no client certificate" \
	-H 'Content-Type: application/pkcs10' --data-binary "@$w/renew.b64" "$est/simplereenroll"

# A certificate from a CA of our own making, with the same subject.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$w/fca.key" \
	-subj "/CN=Foreign CA" -days 2 -out "$w/fca.pem" 2>/dev/null
openssl req -new -key "$w/good.key" -subj "$compat" -out "$w/f.csr" 2>/dev/null
printf 'extendedKeyUsage = clientAuth\n' >"$w/f.ext"
openssl x509 -req -in "$w/f.csr" -CA "$w/fca.pem" -CAkey "$w/fca.key" -CAcreateserial \
	-days 1 -extfile "$w/f.ext" -out "$w/foreign.pem" 2>/dev/null ||
	fatal "openssl could not make the foreign certificate"
refused "401|403" "simplereenroll: a certificate from a foreign CA" \
	--cert "$w/foreign.pem" --key "$w/good.key" -H 'Content-Type: application/pkcs10' \
	--data-binary "@$w/renew.b64" "$est/simplereenroll"

# A self-signed certificate that copies the issuing CA's name.
issuer=$(openssl x509 -in "$site/ca/issuing.pem" -noout -subject -nameopt compat |
	sed 's/^subject=//')
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$w/fake.key" \
	-subj "$issuer" -days 2 -out "$w/fakeca.pem" 2>/dev/null
openssl x509 -req -in "$w/f.csr" -CA "$w/fakeca.pem" -CAkey "$w/fake.key" -CAcreateserial \
	-days 1 -extfile "$w/f.ext" -out "$w/impostor.pem" 2>/dev/null
refused "401|403" "simplereenroll: a certificate from a CA that copies the issuing CA's name" \
	--cert "$w/impostor.pem" --key "$w/good.key" -H 'Content-Type: application/pkcs10' \
	--data-binary "@$w/renew.b64" "$est/simplereenroll"

# An expired certificate of the site's own issuing CA: only the CA key can make one (no
# certificate profile lives less than an hour), so a helper signs it in the site's token.
if [ -n "$backdate" ] && [ -x "$backdate" ]; then
	if "$backdate" "$site" "$w/dev1.pem" "$w/expired.pem" >"$w/backdate.out" 2>&1; then
		openssl x509 -in "$w/expired.pem" -noout -subject -enddate | sed 's/^/# expired: /'
		refused "401|403" "simplereenroll: an expired certificate of the site's CA" \
			--cert "$w/expired.pem" --key "$w/good.key" \
			-H 'Content-Type: application/pkcs10' --data-binary "@$w/renew.b64" \
			"$est/simplereenroll"
	else
		not_ok "pki_backdate could not sign an expired certificate"
		sed 's/^/#   /' "$w/backdate.out"
	fi
else
	echo "# SKIP expired certificate: no pki_backdate helper given"
fi

# Revoked: the device's own certificate, revoked by the admin.
serial=$(serial_of "$w/dev1.pem")
"$vouch" --data "$site" cert revoke "$serial" --reason superseded >/dev/null ||
	fatal "vouch cert revoke $serial"
refused "401|403" "simplereenroll: a revoked certificate" \
	--cert "$w/dev1.pem" --key "$w/good.key" -H 'Content-Type: application/pkcs10' \
	--data-binary "@$w/renew.b64" "$est/simplereenroll"

# ---- the admin API wants the admin certificate ------------------------------------------------
refused "401|403" "admin API without a client certificate" "$https/api/v1/certs"
tok_d=$(token dev-d) || fatal "enrol-token create --device dev-d"
new_csr "$w" devd
r=$(est_post simpleenroll "$w/devd.b64" "$w/devd.out" -u "dev-d:$tok_d")
unwrap "$w/devd.out" "$w/devd.pem" || fatal "enrolment of dev-d: HTTP $r"
refused 403 "admin API with a device certificate" --cert "$w/devd.pem" --key "$w/devd.key" \
	"$https/api/v1/certs"
if grep -q '"error"' "$w/resp"; then
	ok "admin API refusal: a JSON error body ($(tr -d '\n' <"$w/resp"))"
else
	not_ok "admin API refusal body: $(head -c 200 "$w/resp")"
fi
set +e
"$vouch" --data "$site" enrol-token create --device "" >"$w/x.out" 2>&1
check_eq "vouch enrol-token create with an empty device id: exit 1 (refused)" "$?" 1
"$vouch" --data "$site" enrol-token create --device d --profile nonsense >"$w/x.out" 2>&1
check_eq "vouch enrol-token create with an unknown profile: exit 1 (refused)" "$?" 1
set -e

# ---- slow and half-open clients ----------------------------------------------------------------
# 50 TCP connections that send nothing, two TLS clients that stop in the middle of a request
# (headers; body): a normal request is still served at once, and vouchd drops them all after its
# 10 s timeout.
tok_s=$(token dev-s) || fatal "enrol-token create --device dev-s"
declare -a fds=()
for _ in $(seq 50); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fatal "cannot open a TCP connection"
	fds+=("$fd")
done
mkfifo "$w/slow1.in" "$w/slow2.in"
openssl s_client -quiet -connect "127.0.0.1:$port" -CAfile "$chain" <"$w/slow1.in" \
	>"$w/slow1.out" 2>&1 &
slow1=$!
exec {w1}>"$w/slow1.in"
openssl s_client -quiet -connect "127.0.0.1:$port" -CAfile "$chain" <"$w/slow2.in" \
	>"$w/slow2.out" 2>&1 &
slow2=$!
exec {w2}>"$w/slow2.in"
printf 'GET /.well-known/est/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' >&"$w1"
printf 'POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\n' >&"$w2"
printf 'Content-Type: application/pkcs10\r\nContent-Length: 400\r\n\r\nMIIB' >&"$w2"
t0=$(date +%s)
sleep 1
start=$(date +%s%N)
if vouchd_up; then
	ms=$((($(date +%s%N) - start) / 1000000))
	ok "a request is served while 50 idle connections and 2 stalled requests are open ($ms ms)"
else
	not_ok "vouchd does not answer while idle and stalled connections are open"
fi
r=$(est_post simpleenroll "$w/again.b64" "$w/slow.enrol" -u "dev-s:$tok_s")
check_eq "an enrolment is served meanwhile" "$r" 200
# The stalled TLS clients: the server must close them after ~10 s (s_client then exits).
for _ in $(seq 250); do
	kill -0 "$slow1" 2>/dev/null || kill -0 "$slow2" 2>/dev/null || break
	sleep 0.1
done
t1=$(date +%s)
if kill -0 "$slow1" 2>/dev/null || kill -0 "$slow2" 2>/dev/null; then
	not_ok "stalled requests still open after $((t1 - t0)) s"
	kill "$slow1" "$slow2" 2>/dev/null || true
else
	ok "stalled requests dropped after $((t1 - t0)) s"
fi
exec {w1}>&- {w2}>&-
wait "$slow1" "$slow2" 2>/dev/null || true
# The silent connections: closed by the server means CLOSE-WAIT on our side.
sleep 1
cw=$(ss -Htn state close-wait "( dport = :$port )" | wc -l)
if [ "$cw" -ge 50 ]; then
	ok "the 50 silent connections were closed by vouchd"
else
	not_ok "only $cw of the 50 silent connections were closed by vouchd"
fi
for fd in "${fds[@]}"; do
	exec {fd}>&-
done
vouchd_up && ok "vouchd answers after the slow clients" || fatal "vouchd is down after slow clients"

# The site's own certificates cannot be revoked (or enrolled for) through the API: revoking the
# admin certificate would lock the operator out.
rc=0
"$vouch" --data "$site" cert revoke --device admin >"$work/out" 2>&1 || rc=$?
check_eq "revoking the admin device is refused (exit 1)" "$rc" 1
grep -q reserved "$work/out" && ok "the refusal says why" || not_ok "no reason in: $(cat "$work/out")"
rc=0
"$vouch" --data "$site" enrol-token create --device vouchd >"$work/out" 2>&1 || rc=$?
check_eq "an enrolment token for a reserved id is refused (exit 1)" "$rc" 1
check "the admin API still answers" "$vouch" --data "$site" ca show

kill -0 "$vouchd_pid" 2>/dev/null && ok "vouchd still running" || not_ok "vouchd died"
if grep -v '^# ' "$log" | grep -qv '^{.*}$'; then
	not_ok "vouchd's stderr has lines that are not JSON objects"
	grep -v '^# ' "$log" | grep -v '^{.*}$' | head -n 5 | sed 's/^/#   /'
else
	ok "every line vouchd logged is a JSON object"
fi
pki_stop
