#!/usr/bin/env bash
# make demo, part 4: trusted sensors. A sensor starts with no factory keys: its key is made in
# its secure element (PSA) and it shows a pairing code. The installer's phone commissions it
# (EDHOC, the code checked, vouchd issues the certificate and a bundle sealed to the sensor).
# Then vouchd is switched off and the sensor decides on its own: by role, by a live reading; a
# revocation reaches it through a colleague's phone; a cloned sensor is refused; the press is
# decommissioned (its last event waits in the phone until vouchd is back).
set -euo pipefail
build="${1:-build}"
vouchd="$build/server/vouchd"
vouch="$build/cli/vouch"
wallet="$build/wallet/vouch-wallet"
sensor="$build/sensor/vouch-sensor"
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
site="$work/site"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
unset SOFTHSM2_CONF
export VOUCH_WALLET_PIN=unlock-4711

step() { printf '\n== %s\n' "$*"; }
fail() { echo "DEMO FAILED: $*"; exit 1; }
V() { "$vouch" --data "$site" "$@"; }
totp() { oathtool --totp -b "$(sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' "$1")"; }
# ask WALLET URI ACTION WANT: vouch-wallet access, the answer shown, the exit status checked
ask() {
	local rc=0
	"$wallet" --wallet "$work/w-$1" access "$2" "$3" >"$work/a.out" 2>&1 || rc=$?
	printf '   %-5s %-9s -> %s\n' "$1" "$3" "$(cat "$work/a.out")"
	[ "$rc" -eq "$4" ] || fail "$1 $3: exit $rc, wanted $4"
}
start_sensor() { # DIR PORT ARGS...
	local dir=$1 port=$2
	shift 2
	"$sensor" --state "$dir" --listen "127.0.0.1:$port" "$@" >"$dir.out" 2>"$dir.log" &
	pids+=($!)
	for _ in $(seq 50); do grep -q '"sensor.listen"' "$dir.log" 2>/dev/null && return 0; sleep 0.1; done
	fail "vouch-sensor did not start"
}
port=$((20000 + RANDOM % 20000))

step "21. A plant site with the role matrix; an installer (service), an operator, a machine fitter"
"$vouchd" init --data "$site" --site demo-plant --timezone Europe/Berlin --listen 127.0.0.1:0 \
	--http-listen "127.0.0.1:$port" >/dev/null
"$vouchd" --data "$site" 2>"$work/vouchd.log" &
vouchd_pid=$!
pids+=($vouchd_pid)
for _ in $(seq 100); do [ -s "$site/vouchd.addr" ] && break; sleep 0.1; done
https=$(grep '^https://' "$site/vouchd.addr")
V policy load "$here/examples/plant-policy/policy.json" >/dev/null
cat >"$work/fitter.json" <<'JSON'
{"roles": {"fitter": {"grants": [
  {"resources": {"type": "machine", "zone": "plant/hall-a"}, "actions": ["commission"]},
  {"resources": {"type": "machine", "zone": "plant/hall-a"}, "actions": ["operate"],
   "readings": [{"name": "temperature", "op": "<", "value": 60}]}]}}}
JSON
V policy load "$work/fitter.json" >/dev/null
for u in ines:service otto:operator fred:fitter; do
	name=${u%%:*}
	printf '%s password 42\n' "$name" >"$work/$name.pw"
	chmod 600 "$work/$name.pw"
	V user add "$name" --role "${u#*:}" --password-file "$work/$name.pw" >"$work/$name.uri"
	"$wallet" --wallet "$work/w-$name" login --server "$https" --ca "$site/ca/chain.pem" \
		--user "$name" --password-file "$work/$name.pw" --totp "$(totp "$work/$name.uri")" >/dev/null
	echo "   $name (${u#*:}) logged in with password + TOTP; phone key in its own token"
done

step "22. Two sensors out of the box: keys made in their secure elements, pairing codes shown"
p1=$((port + 1)) p2=$((port + 2))
mkdir "$work/s1" "$work/s2"
echo "temperature=20" >"$work/s2/readings"
start_sensor "$work/s1" "$p1" --zone plant/hall-a --type sensor
start_sensor "$work/s2" "$p2" --zone plant/hall-a --type machine
code1=$(sed -n 's/^pairing-code: //p' "$work/s1.out")
code2=$(sed -n 's/^pairing-code: //p' "$work/s2.out")
echo "   temperature sensor: pairing-code: $code1"
echo "   press controller:   pairing-code: $code2"

step "23. Commissioning with no factory keys: EDHOC, the pairing code checked, the bundle sealed to the sensor"
rc=0
"$wallet" --wallet "$work/w-ines" commission "coap://127.0.0.1:$p1" --code "${code2}" >"$work/c.out" 2>&1 || rc=$?
echo "   with the other sensor's code: $(cat "$work/c.out")"
[ "$rc" -eq 1 ] || fail "a wrong pairing code was not refused"
"$wallet" --wallet "$work/w-ines" commission "coap://127.0.0.1:$p1" --code "$code1" | sed 's/^/   ines: /'
"$wallet" --wallet "$work/w-fred" commission "coap://127.0.0.1:$p2" --code "$code2" | sed 's/^/   fred: /'
V events --limit 100 | grep "device.commission" | sed 's/^/   /' | cut -c1-150

step "24. vouchd switched off: the sensors decide alone, against their own clock and readings"
kill -TERM "$vouchd_pid"
wait "$vouchd_pid" 2>/dev/null || true
ask otto "coap://127.0.0.1:$p1" read 0
ask otto "coap://127.0.0.1:$p1" configure 1
ask ines "coap://127.0.0.1:$p1" configure 0
ask fred "coap://127.0.0.1:$p2" operate 0
echo "temperature=85" >"$work/s2/readings"
echo "   (the press heats up to 85 degrees)"
ask fred "coap://127.0.0.1:$p2" operate 1

step "25. A cloned sensor (its state copied without the secure element) is refused"
mkdir "$work/clone"
cp -a "$work/s1/." "$work/clone/"
rm -rf "$work/clone/secure-element"
rc=0
timeout 10 "$sensor" --state "$work/clone" --listen "127.0.0.1:$((port + 3))" >/dev/null 2>"$work/clone.log" || rc=$?
[ "$rc" -ne 0 ] || fail "the clone started"
echo "   refused (exit $rc): $(grep -o '"event":"[^"]*"' "$work/clone.log" | tail -1)"

step "26. Decommissioning: fred takes the press out of service while vouchd is still off"
rc=0
"$wallet" --wallet "$work/w-fred" decommission "coap://127.0.0.1:$p2" >"$work/d.out" 2>&1 || rc=$?
sed 's/^/   fred: /' "$work/d.out"
[ "$rc" -eq 3 ] || fail "decommission with vouchd down: exit $rc, wanted 3"
for _ in $(seq 50); do [ "$(grep -c '^pairing-code:' "$work/s2.out")" -ge 2 ] && break; sleep 0.1; done
echo "   the press, wiped, shows a new $(tail -n1 "$work/s2.out")"
"$vouchd" --data "$site" --listen "${https#https://}" 2>>"$work/vouchd.log" &
vouchd_pid=$!
pids+=($vouchd_pid)
for _ in $(seq 100); do curl -sk -o /dev/null "$https/" && break; sleep 0.1; done
echo "   vouchd is back; fred's phone refreshes and hands over the press's last event:"
"$wallet" --wallet "$work/w-fred" refresh 2>&1 | grep '^vouchd:' | sed 's/^/   /' || fail "not delivered"
V events --limit 200 | grep "device.decommission" | sed 's/^/   /' | cut -c1-170
V cert list --status revoked | grep -q " device " || fail "the press's certificate is not revoked"
echo "   its certificate: $(V cert list --status revoked | grep ' device ' | awk '{print $1, $2, $4}')"
