#!/bin/bash
# Crash safety: a burst of N EST enrolments from several concurrent curl clients, vouchd killed
# with SIGKILL twice in the middle and restarted. Afterwards every certificate a client received
# is in the store (`vouch cert show SERIAL`), serials are unique, every used token has exactly one
# certificate and every certificate its token (events), the requests whose reply was lost left
# either nothing or a complete issuance, and the database passes SQLite's integrity check.
# usage: test_pki_crash.sh PATH/TO/vouchd PATH/TO/vouch [N] [CLIENTS]
set -eu

vouchd=${1:?usage: $0 PATH/TO/vouchd PATH/TO/vouch [N] [CLIENTS]}
vouch=${2:?usage: $0 PATH/TO/vouchd PATH/TO/vouch [N] [CLIENTS]}
N=${3:-200}
C=${4:-4}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=pki_common.sh
. "$here/pki_common.sh"

pki_setup crash
pki_start
w=$work
chain=$site/ca/chain.pem
mkdir -p "$w/tok" "$w/csr" "$w/out" "$w/res"
echo "# vouchd: $https; $N enrolments by $C clients"

# ---- prepare: N tokens (admin CLI, one after the other, as an operator would) and N CSRs
# (openssl, C at a time, meanwhile) -------------------------------------------------------------
tokens() {
	local i
	for i in $(seq "$N"); do
		"$vouch" --data "$site" enrol-token create --device "dev-$i" >"$w/tok/$i" ||
			echo "$i" >>"$w/res/tokfail"
	done
}
csrs() { # csrs K: the devices K, K+C, K+2C, ...
	local i
	for i in $(seq "$1" "$C" "$N"); do
		new_csr "$w/csr" "dev-$i" || echo "$i" >>"$w/res/csrfail"
	done
}
start=$(date +%s)
tokens &
pids=($!)
for k in $(seq "$C"); do
	csrs "$k" &
	pids+=($!)
done
wait "${pids[@]}"
[ -s "$w/res/tokfail" ] && fatal "enrol-token create failed for $(wc -l <"$w/res/tokfail") devices"
[ -s "$w/res/csrfail" ] && fatal "openssl req failed"
echo "# $N tokens and CSRs in $(($(date +%s) - start)) s"

# ---- the burst ---------------------------------------------------------------------------------
# A client retries a request that got no HTTP reply (vouchd down, or the connection cut in the
# middle) once vouchd is back, reading the address anew; any other status ends that device.
client() { # client K
	local k=$1 i url code tries tok
	for i in $(seq "$k" "$C" "$N"); do
		tries=0
		tok=$(cat "$w/tok/$i")
		while :; do
			url=$(grep -m1 '^https://' "$site/vouchd.addr" 2>/dev/null) || url=
			code=000
			if [ -n "$url" ]; then
				code=$(curl -sS -o "$w/out/$i.tmp" -w '%{http_code}' --max-time 20 \
					--cacert "$chain" -u "dev-$i:$tok" \
					-H 'Content-Type: application/pkcs10' \
					--data-binary "@$w/csr/dev-$i.b64" \
					"$url/.well-known/est/simpleenroll" 2>/dev/null) || code=000
			fi
			case $code in
			200)
				mv "$w/out/$i.tmp" "$w/out/$i.b64"
				echo "$i" >>"$w/res/received.$k"
				break
				;;
			000)
				echo "$i" >>"$w/res/noreply.$k"
				tries=$((tries + 1))
				if [ "$tries" -gt 600 ]; then
					echo "$i" >>"$w/res/gaveup.$k"
					break
				fi
				sleep 0.1
				;;
			*)
				echo "$i $code" >>"$w/res/refused.$k"
				break
				;;
			esac
		done
	done
}
received() {
	cat "$w"/res/received.* 2>/dev/null | wc -l
}

start=$(date +%s%N)
pids=()
for k in $(seq "$C"); do
	client "$k" &
	pids+=($!)
done
kills=0
for at in $((N / 4)) $((N * 3 / 5)); do
	for _ in $(seq 1200); do
		[ "$(received)" -ge "$at" ] && break
		sleep 0.05
	done
	got=$(received)
	if [ "$got" -ge "$N" ]; then
		break
	fi
	pki_kill KILL
	kills=$((kills + 1))
	echo "# kill -9 vouchd after $got certificates received"
	echo "# ---- killed with SIGKILL" >>"$log"
	sleep 0.5
	pki_start
done
wait "${pids[@]}"
echo "# burst done in $((($(date +%s%N) - start) / 1000000)) ms"
check_eq "vouchd was killed twice during the burst" "$kills" 2

got=$(received)
noreply=$(cat "$w"/res/noreply.* 2>/dev/null | sort -un | wc -l)
cat "$w"/res/refused.* 2>/dev/null | sort -n >"$w/refused" || true
[ -n "$(cat "$w"/res/gaveup.* 2>/dev/null)" ] && not_ok "clients gave up on vouchd"
echo "# $got received, $(wc -l <"$w/refused") refused, $noreply devices saw a request without reply"

# A refusal is right only for a request whose earlier attempt got no reply (the token was used
# by an issuance whose reply was lost), and then it must be "token used": 401/403.
lost=0
while read -r i code; do
	if grep -qx "$i" "$w"/res/noreply.* 2>/dev/null && { [ "$code" = 401 ] || [ "$code" = 403 ]; }; then
		lost=$((lost + 1))
	else
		not_ok "dev-$i was refused with HTTP $code without a lost reply before"
	fi
done <"$w/refused"
echo "# $lost issuances whose reply was lost in a crash"
check_eq "every device either received its certificate or lost the reply in a crash" \
	$((got + lost)) "$N"
if [ "$lost" -le $((2 * C)) ]; then
	ok "lost replies ($lost) are at most the requests in flight at the two kills ($((2 * C)))"
else
	not_ok "$lost lost replies; at most $((2 * C)) requests were in flight"
fi

# ---- every received certificate is in the store ---------------------------------------------
missing=0
bad=0
: >"$w/serials.received"
for f in "$w"/out/*.b64; do
	i=$(basename "$f" .b64)
	if ! unwrap "$f" "$w/out/$i.pem"; then
		bad=$((bad + 1))
		continue
	fi
	s=$(serial_of "$w/out/$i.pem")
	echo "$s" >>"$w/serials.received"
	case $(openssl x509 -in "$w/out/$i.pem" -noout -subject -nameopt RFC2253) in
	*CN=dev-$i,* | *CN=dev-$i) ;;
	*) bad=$((bad + 1)) ;;
	esac
	if ! "$vouch" --data "$site" cert show "$s" >"$w/show.out" 2>&1 ||
		! grep -q "^device *dev-$i\$" "$w/show.out"; then
		missing=$((missing + 1))
		echo "# not in the store: dev-$i serial $s: $(head -n1 "$w/show.out")"
	fi
done
check_eq "every reply is a certificate for its device" "$bad" 0
check_eq "every received certificate is in the store (vouch cert show)" "$missing" 0
check_eq "received serials are unique" "$(sort "$w/serials.received" | uniq -d | wc -l)" 0

"$vouch" --data "$site" cert list --json >"$w/certs.json" || fatal "vouch cert list --json"
grep -o '"serial": "[0-9A-Fa-f]*"' "$w/certs.json" | sort >"$w/serials.store"
check_eq "serials in the store are unique" "$(uniq -d "$w/serials.store" | wc -l)" 0
grep -o '"device": "dev-[0-9]*"' "$w/certs.json" | sort >"$w/devices.store"
check_eq "the store holds one certificate per enrolled device" \
	"$(uniq -d "$w/devices.store" | wc -l) $(wc -l <"$w/devices.store")" "0 $N"

"$vouch" --data "$site" events --json >"$w/events.json" || fatal "vouch events --json"
uses=$(grep -c '"type": "token.use"' "$w/events.json" || true)
est_issues=$(grep -c '"via": "est"' "$w/events.json" || true)
check_eq "token.use events" "$uses" "$N"
check_eq "cert.issue events via est" "$est_issues" "$N"
seqs=$(grep -o '"seq": [0-9]*' "$w/events.json" | grep -o '[0-9]*$')
check_eq "event seq numbers are unique and increasing" "$(printf '%s\n' "$seqs" | sort -n -u)" \
	"$seqs"

pki_stop
if command -v sqlite3 >/dev/null 2>&1; then
	check_eq "sqlite3 PRAGMA integrity_check after the crashes" \
		"$(sqlite3 "$site/vouch.db" 'PRAGMA integrity_check' 2>&1)" ok
else
	echo "# SKIP integrity check: no sqlite3 command"
fi
