#!/bin/bash
# Issue 5 end to end through the real programs: vouchd, vouch-wallet (its key in a SoftHSM2
# token) and vouch-sensor (its key in the PSA secure element). An installer commissions a sensor
# with its pairing code (a wrong code is refused before anything is sent), an operator may not;
# vouchd is stopped and access decisions go on offline at the sensor: by role, by a live reading,
# by time window; a person revoked while the sensor is offline is refused once a colleague's
# phone has handed over the newest list; a cloned state directory without the secure element is
# refused at start; decommissioning (the sensor wipes itself, vouchd revokes its certificate and
# records who) and re-commissioning with the new pairing code. A controller commissioned
# --resource press-9 decides as that directory resource (a grant on its tag applies offline);
# a mismatching type or an already bound resource is refused (409); decommissioned, the
# resource stays and is free for the next controller.
# usage: test_sensor.sh PATH/TO/vouchd PATH/TO/vouch PATH/TO/vouch-wallet PATH/TO/vouch-sensor
set -eu

vouchd=${1:?usage: $0 vouchd vouch vouch-wallet vouch-sensor}
vouch=${2:?usage: $0 vouchd vouch vouch-wallet vouch-sensor}
wallet=${3:?usage: $0 vouchd vouch vouch-wallet vouch-sensor}
sensor=${4:?usage: $0 vouchd vouch vouch-wallet vouch-sensor}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=pki_common.sh
. "$here/pki_common.sh"
command -v oathtool >/dev/null || {
	echo "FATAL: oathtool is missing"
	exit 1
}

pki_setup sensor
set_conf timezone Europe/Berlin
pki_start
w=$work
V() { "$vouch" --data "$site" "$@"; }
export VOUCH_WALLET_PIN=unlock-4711
sensor_pids=()
stop_sensors() { for p in "${sensor_pids[@]}"; do kill "$p" 2>/dev/null || true; done; }

# start_sensor DIR PORT [ARGS...]: run vouch-sensor in the background, wait for its listen line.
start_sensor() {
	local dir=$1 port=$2
	shift 2
	"$sensor" --state "$dir" --listen "127.0.0.1:$port" "$@" >"$dir.out" 2>"$dir.log" &
	sensor_pids+=($!)
	for _ in $(seq 50); do
		grep -q '"sensor.listen"' "$dir.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

check "vouch policy load (the plant's)" V policy load "$root/examples/plant-policy/policy.json"
# A test role whose time window never holds now (in the site's time zone), and a reading
# condition, so that the decisions do not depend on the day the test runs.
hour=$(TZ=Europe/Berlin date +%-H)
if [ "$hour" -lt 12 ]; then from=20:00 to=21:00; else from=03:00 to=04:00; fi
cat >"$w/tester.json" <<JSON
{"roles": {"tester": {"grants": [
  {"resources": {"type": "machine", "zone": "plant/hall-a"}, "actions": ["commission"]},
  {"resources": {"type": "machine", "zone": "plant/hall-a"}, "actions": ["operate"],
   "readings": [{"name": "temperature", "op": "<", "value": 60}]},
  {"resources": {"type": "machine", "zone": "plant/hall-a"}, "actions": ["service"],
   "when": [{"days": "daily", "from": "$from", "to": "$to"}]}]}}}
JSON
check "vouch policy load (the test role)" V policy load "$w/tester.json"
# A resource of the plant a controller will be commissioned as, and a role granting on its tag
# only (loaded before anyone logs in: a policy load revokes the credentials out there).
cat >"$w/press.json" <<JSON
{"resources": {"press-9": {"type": "machine", "zone": "plant/hall-a", "tags": ["hot-process"]}},
 "roles": {"hot-operator": {"grants": [
  {"resources": {"tags": ["hot-process"]}, "actions": ["operate"]}]}}}
JSON
check "vouch policy load (resource press-9, a role on tag hot-process only)" V policy load "$w/press.json"
for u in ines otto olga tom; do
	printf '%s password 42\n' "$u" >"$w/$u.pw"
done
chmod 600 "$w"/*.pw
V user add ines --role service --password-file "$w/ines.pw" >"$w/ines.uri" || fatal "user add ines"
V user add otto --role operator --password-file "$w/otto.pw" >"$w/otto.uri" || fatal "user add otto"
V user add olga --role operator --password-file "$w/olga.pw" >"$w/olga.uri" || fatal "user add olga"
V user add tom --role tester --password-file "$w/tom.pw" >"$w/tom.uri" || fatal "user add tom"
for u in ines otto olga tom; do
	check "$u logs in with the wallet" "$wallet" --wallet "$w/w-$u" login --server "$https" \
		--ca "$site/ca/chain.pem" --user "$u" --password-file "$w/$u.pw" --totp "$(totp "$w/$u.uri")"
done
printf 'hana password 42\n' >"$w/hana.pw"
chmod 600 "$w/hana.pw"
V user add hana --role hot-operator --password-file "$w/hana.pw" >"$w/hana.uri" || fatal "user add hana"
check "hana logs in with the wallet" "$wallet" --wallet "$w/w-hana" login --server "$https" \
	--ca "$site/ca/chain.pem" --user hana --password-file "$w/hana.pw" --totp "$(totp "$w/hana.uri")"

port=$(udp_port) || fatal "no UDP port"
mkdir -p "$w/s1"
start_sensor "$w/s1" "$port" --zone plant/hall-a --type sensor || fatal "vouch-sensor did not start"
code=$(sed -n 's/^pairing-code: //p' "$w/s1.out")
if [[ $code =~ ^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$ ]]; then ok "the sensor shows a 160-bit pairing code"; else not_ok "pairing code: '$code'"; fi
uri=coap://127.0.0.1:$port
info=$(coap-client-notls -m get "$uri/info" 2>/dev/null | od -An -c | tr -d ' \n' || true)
[[ $info == *unprovisioned* ]] && ok "coap-client: /info says unprovisioned" || not_ok "/info: $info"

wrong=${code:0:38}$([ "${code:38:1}" = A ] && echo B || echo A)
set +e
"$wallet" --wallet "$w/w-ines" commission "$uri" --code "$wrong" >"$w/c0.out" 2>&1
rc=$?
set -e
check_eq "a wrong pairing code: refused (exit 1)" "$rc" 1
grep -q "does not match the pairing code" "$w/c0.out" && ok "the refusal names the pairing code" ||
	not_ok "refusal: $(cat "$w/c0.out")"
set +e
"$wallet" --wallet "$w/w-otto" commission "$uri" --code "$code" >"$w/c1.out" 2>&1
rc=$?
set -e
check_eq "an operator may not commission (exit 1)" "$rc" 1
set +e
"$wallet" --wallet "$w/w-ines" commission "$uri" --code "$code" >"$w/c2.out" 2>&1
rc=$?
set -e
check_eq "the installer commissions the sensor (exit 0)" "$rc" 0
device=$(sed -n 's/^commissioned: \(dev-[0-9a-f]*\) .*/\1/p' "$w/c2.out")
[ -n "$device" ] && ok "commissioned as $device" || not_ok "commission: $(cat "$w/c2.out")"
V events --limit 1000 >"$w/events.txt" 2>&1 || true
grep -q "device.commission " "$w/events.txt" && ok "vouchd recorded device.commission" || not_ok "no device.commission event"
grep -q '^denied: ' "$w/c1.out" && ok "the operator's own credential says no (the wallet stops first)" ||
	not_ok "operator: $(cat "$w/c1.out")"
V cert list >"$w/certs.txt" 2>&1 || true
grep -q "$device" "$w/certs.txt" && ok "the device certificate is in the store" || not_ok "no certificate for $device"
set +e
"$wallet" --wallet "$w/w-ines" commission "$uri" --code "$code" >"$w/c3.out" 2>&1
rc=$?
set -e
check_eq "commissioning it again is refused (exit 1)" "$rc" 1

# ---- a machine controller, commissioned by tom (test role) ----
port2=$(udp_port) || fatal "no UDP port"
mkdir -p "$w/s2"
echo "temperature=20" >"$w/s2/readings"
start_sensor "$w/s2" "$port2" --zone plant/hall-a --type machine || fatal "second sensor"
code2=$(sed -n 's/^pairing-code: //p' "$w/s2.out")
check "tom commissions the machine controller" "$wallet" --wallet "$w/w-tom" commission \
	"coap://127.0.0.1:$port2" --code "$code2"

# ---- a controller commissioned AS the plant's resource press-9 (its id and tags apply there) ----
# Not in a $(...): the sensor it starts must stay a job of this shell (stopped at the end).
commission_as() { # WALLET DIR PORT RESOURCE TYPE -> exit status in $crc; the output in DIR.c
	mkdir -p "$2"
	start_sensor "$2" "$3" --zone plant/hall-a --type "$5" || fatal "sensor $2 did not start"
	set +e
	"$wallet" --wallet "$w/w-$1" commission "coap://127.0.0.1:$3" \
		--code "$(sed -n 's/^pairing-code: //p' "$2.out")" --resource "$4" >"$2.c" 2>&1
	crc=$?
	set -e
}
port4=$(udp_port) || fatal "no UDP port"
commission_as tom "$w/s4" "$port4" press-9 machine
check_eq "tom commissions a controller --resource press-9 (exit 0)" "$crc" 0
dev4=$(sed -n 's/^commissioned: \(dev-[0-9a-f]*\) as resource press-9 .*/\1/p' "$w/s4.c")
[ -n "$dev4" ] && ok "the wallet says $dev4 is press-9" || not_ok "commission: $(cat "$w/s4.c")"
V events --limit 1000 >"$w/events.txt" 2>&1 || true
grep "device.commission " "$w/events.txt" | grep "device=$dev4 " | grep -q "resource=press-9" &&
	ok "device.commission names the resource" || not_ok "no device.commission naming press-9"
V cert list --device "$dev4" --status valid >"$w/certs4.txt" 2>&1 || true
grep -q "$dev4" "$w/certs4.txt" && ok "the certificate is the device's ($dev4), not press-9's" ||
	not_ok "certs: $(cat "$w/certs4.txt")"
V resource show "$dev4" >/dev/null 2>&1 && not_ok "a resource $dev4 was made beside press-9" ||
	ok "no resource $dev4 beside press-9"
info4=$(coap-client-notls -m get "coap://127.0.0.1:$port4/info" 2>/dev/null | od -An -c | tr -d ' \n' || true)
[[ $info4 == *press-9* && $info4 == *hot-process* ]] && ok "/info shows press-9 and its tag" ||
	not_ok "/info: $info4"
port5=$(udp_port) || fatal "no UDP port"
commission_as tom "$w/s5" "$port5" press-9 door
check_eq "a door sensor --resource press-9 (a machine) is refused (exit 1)" "$crc" 1
grep -q "HTTP 409.*resource press-9 is a machine in zone plant/hall-a, but the sensor reports a door in zone plant/hall-a" "$w/s5.c" &&
	ok "409, naming both types" || not_ok "refusal: $(cat "$w/s5.c")"
port6=$(udp_port) || fatal "no UDP port"
commission_as tom "$w/s6" "$port6" press-9 machine
check_eq "a second controller --resource press-9 is refused (exit 1)" "$crc" 1
grep -q "HTTP 409.*resource press-9 is already bound to device $dev4" "$w/s6.c" &&
	ok "409, naming the device bound to it" || not_ok "refusal: $(cat "$w/s6.c")"
set +e
"$wallet" --wallet "$w/w-tom" commission "coap://127.0.0.1:$port6" \
	--code "$(sed -n 's/^pairing-code: //p' "$w/s6.out")" --resource press-404 >"$w/s6.c2" 2>&1
rc=$?
set -e
check_eq "--resource that is not in the directory: refused (exit 1)" "$rc" 1
grep -q 'HTTP 404.*no resource "press-404"' "$w/s6.c2" && ok "404, naming it" || not_ok "refusal: $(cat "$w/s6.c2")"

# ---- decommissioning and re-commissioning (a third sensor, online) ----
port3=$(udp_port) || fatal "no UDP port"
mkdir -p "$w/s3"
start_sensor "$w/s3" "$port3" --zone plant/hall-a --type sensor || fatal "third sensor"
uri3=coap://127.0.0.1:$port3
code3=$(sed -n 's/^pairing-code: //p' "$w/s3.out")
check "ines commissions a third sensor" "$wallet" --wallet "$w/w-ines" commission "$uri3" --code "$code3"
V cert list --status valid >"$w/certs3.txt" 2>&1 || true
dev3=$(grep -o 'dev-[0-9a-f]\{16\}' "$w/certs3.txt" | grep -v "$device" | sort -u | while read -r d; do
	grep -q "$d" "$w/s3.log" && echo "$d"; done | head -n1)
[ -n "$dev3" ] && ok "the third sensor is $dev3" || not_ok "no certificate for the third sensor"
set +e
"$wallet" --wallet "$w/w-otto" decommission "$uri3" >"$w/d1.out" 2>&1
rc=$?
set -e
check_eq "an operator may not decommission (exit 1)" "$rc" 1
grep -q '^denied: ' "$w/d1.out" && ok "the operator's own credential says no" || not_ok "otto: $(cat "$w/d1.out")"
set +e
"$wallet" --wallet "$w/w-ines" decommission "$uri3" >"$w/d2.out" 2>&1
rc=$?
set -e
check_eq "ines decommissions it (exit 0)" "$rc" 0
grep -q "^decommissioned: $dev3 " "$w/d2.out" && ok "the wallet says decommissioned" || not_ok "decommission: $(cat "$w/d2.out")"
grep -q "^vouchd: $dev3 decommissioned, 1 certificate(s) revoked" "$w/d2.out" &&
	ok "vouchd revoked the device certificate" || not_ok "decommission: $(cat "$w/d2.out")"
V events --limit 1000 >"$w/events.txt" 2>&1 || true
grep "device.decommission " "$w/events.txt" | grep -q "device=$dev3 installer=ines " &&
	ok "vouchd recorded device.decommission naming the installer" || not_ok "no device.decommission event naming ines"
V cert list --device "$dev3" --status revoked >"$w/certs3r.txt" 2>&1 || true
grep -q "$dev3 .* revoked " "$w/certs3r.txt" && ok "its certificate is revoked" ||
	not_ok "revoked certs: $(cat "$w/certs3r.txt")"
for _ in $(seq 50); do
	[ "$(grep -c '^pairing-code: ' "$w/s3.out")" -ge 2 ] && break
	sleep 0.1
done
code3b=$(sed -n 's/^pairing-code: //p' "$w/s3.out" | tail -n1)
[ -n "$code3b" ] && [ "$code3b" != "$code3" ] && ok "the wiped sensor shows a new pairing code (a new key)" ||
	not_ok "pairing codes: $(cat "$w/s3.out")"
[ ! -e "$w/s3/state.cbor" ] || ! grep -q "$dev3" "$w/s3/state.cbor" && ok "its state no longer names $dev3" ||
	not_ok "the old state is still there"
set +e
"$wallet" --wallet "$w/w-ines" access "$uri3" read >"$w/d3.out" 2>&1
rc=$?
set -e
check_eq "access to the wiped sensor: not commissioned (exit 2)" "$rc" 2
set +e
"$wallet" --wallet "$w/w-ines" commission "$uri3" --code "$code3b" >"$w/d4.out" 2>&1
rc=$?
set -e
check_eq "re-commissioned with its new pairing code (exit 0)" "$rc" 0
dev3b=$(sed -n 's/^commissioned: \(dev-[0-9a-f]*\) .*/\1/p' "$w/d4.out")
[ -n "$dev3b" ] && [ "$dev3b" != "$dev3" ] && ok "a new identity: $dev3b" || not_ok "re-commission: $(cat "$w/d4.out")"
check_eq "ines reads the re-commissioned sensor (granted)" "$(
	set +e
	"$wallet" --wallet "$w/w-ines" access "$uri3" read >"$w/d5.out" 2>&1
	echo $?
)" 0

# ---- olga is revoked; her phone does not know, a colleague's does ----
check "vouch user revoke olga" V user revoke olga
check "ines's phone refreshes (the newest revocation list)" "$wallet" --wallet "$w/w-ines" refresh

# ---- offline: vouchd stopped ----
pki_stop
access() { # WALLET ACTION -> exit status, the answer in $w/a.out
	set +e
	"$wallet" --wallet "$w/w-$1" access "$uri" "$2" >"$w/a.out" 2>&1
	local r=$?
	set -e
	echo "$r"
}
# The revocation travels with ines's phone: before she comes by, the sensor cannot know.
check_eq "olga (revoked, the sensor not yet told) still reads" "$(access olga read)" 0
check_eq "ines comes by (her phone hands over the newest list)" "$(access ines read)" 0
check_eq "now olga is refused" "$(access olga read)" 1
grep -qi "revoked" "$w/a.out" && ok "the refusal says revoked" || not_ok "answer: $(cat "$w/a.out")"
check_eq "vouchd down: ines may read the sensor (granted)" "$(access ines read)" 0
grep -q '^granted: permit: role "service"' "$w/a.out" && ok "the reason names the role" || not_ok "answer: $(cat "$w/a.out")"
check_eq "vouchd down: ines may configure it (granted)" "$(access ines configure)" 0
check_eq "vouchd down: ines may not operate it (denied)" "$(access ines operate)" 1
grep -q '^denied: ' "$w/a.out" && ok "the denial says why" || not_ok "answer: $(cat "$w/a.out")"
check_eq "otto (operator) may read a hall-a sensor" "$(access otto read)" 0
check_eq "otto may not configure it" "$(access otto configure)" 1
grep -q '"sensor.access"' "$w/s1.log" && ok "the sensor logged its decisions" || not_ok "no sensor.access"


# Conditions decided at the machine, against its own clock and readings.
uri_main=$uri
uri=coap://127.0.0.1:$port2
check_eq "tom operates at 20 degrees (granted)" "$(access tom operate)" 0
echo "temperature=80" >"$w/s2/readings"
check_eq "tom operates at 80 degrees (denied by the reading)" "$(access tom operate)" 1
grep -q "temperature" "$w/a.out" && ok "the denial names the reading" || not_ok "answer: $(cat "$w/a.out")"
check_eq "tom services outside his window (denied by time)" "$(access tom service)" 1
grep -q "window\|time" "$w/a.out" && ok "the denial names the window" || not_ok "answer: $(cat "$w/a.out")"
check_eq "hana (grant on tag hot-process) may not operate the unbound controller" "$(access hana operate)" 1
# At the controller that IS press-9, offline: the grant on its tag applies.
uri=coap://127.0.0.1:$port4
check_eq "vouchd down: hana operates press-9 (granted by its tag)" "$(access hana operate)" 0
grep -q '^granted: .*hot-process' "$w/a.out" && ok "the reason names the tag" || not_ok "answer: $(cat "$w/a.out")"
check_eq "vouchd down: otto (no grant on the tag, no training) may not operate press-9" "$(access otto operate)" 1
uri=$uri_main

# ---- a clone of the state directory without the secure element ----
stop_sensors
sleep 0.3
mkdir -p "$w/s2"
cp -a "$w/s1/." "$w/s2/"
rm -rf "$w/s2/secure-element"
set +e
timeout 10 "$sensor" --state "$w/s2" --listen "127.0.0.1:$(udp_port)" >"$w/s2.out" 2>"$w/s2.log"
rc=$?
set -e
[ "$rc" -ne 0 ] && ok "a cloned state directory without its secure element is refused (exit $rc)" ||
	not_ok "the clone started"
# The original, restarted, is still the commissioned device.
start_sensor "$w/s1" "$port" || fatal "vouch-sensor did not restart"
check_eq "after a restart the sensor still decides (granted)" "$(access ines read)" 0
start_sensor "$w/s4" "$port4" || fatal "press-9's controller did not restart"
start_sensor "$w/s6" "$port6" || fatal "the sixth sensor did not restart"

# ---- decommissioning while vouchd is down: the sensor's last event waits in the wallet ----
start_sensor "$w/s3" "$port3" || fatal "the third sensor did not restart"
set +e
"$wallet" --wallet "$w/w-ines" decommission "$uri3" >"$w/d6.out" 2>&1
rc=$?
set -e
check_eq "vouchd down: the sensor is decommissioned, vouchd not told (exit 3)" "$rc" 3
pending="$w/w-ines/decommission-$dev3b.cose"
[ -s "$pending" ] && ok "the sensor's last event is kept in the wallet" || not_ok "nothing kept: $(cat "$w/d6.out")"
cp "$pending" "$w/pending-copy.cose"
pki_https_listen=${https#https://}
pki_start
check "vouchd back: ines refreshes (the kept event is delivered)" "$wallet" --wallet "$w/w-ines" refresh
[ ! -e "$pending" ] && ok "delivered, no longer kept" || not_ok "still kept after the refresh"
V events --limit 1000 >"$w/events.txt" 2>&1 || true
check_eq "vouchd recorded the decommissioning done while it was down" \
	"$(grep -c "device.decommission .*device=$dev3b installer=ines " "$w/events.txt")" 1
cp "$w/pending-copy.cose" "$pending"
check "the same event relayed again: refresh goes on" "$wallet" --wallet "$w/w-ines" refresh
V events --limit 1000 >"$w/events.txt" 2>&1 || true
check_eq "a second relay of the same event records nothing (its certificate is revoked)" \
	"$(grep -c "device.decommission .*device=$dev3b " "$w/events.txt")" 1
[ ! -e "$pending" ] && ok "the refused copy is not kept" || not_ok "the copy is still kept"

# ---- press-9's controller decommissioned: the resource stays, its binding goes ----
set +e
"$wallet" --wallet "$w/w-tom" decommission "coap://127.0.0.1:$port4" >"$w/d7.out" 2>&1
rc=$?
set -e
check_eq "tom decommissions press-9's controller (exit 0)" "$rc" 0
grep -q "^decommissioned: $dev4 (resource press-9) " "$w/d7.out" && ok "the wallet names the resource" ||
	not_ok "decommission: $(cat "$w/d7.out")"
grep -q "^vouchd: $dev4 decommissioned, 1 certificate(s) revoked; resource press-9 stays" "$w/d7.out" &&
	ok "vouchd revoked it and kept press-9" || not_ok "decommission: $(cat "$w/d7.out")"
check "press-9 is still in the directory" V resource show press-9
V events --limit 1000 >"$w/events.txt" 2>&1 || true
grep "device.decommission " "$w/events.txt" | grep "device=$dev4 " | grep -q "resource=press-9" &&
	ok "device.decommission names the resource" || not_ok "no device.decommission naming press-9"
set +e
"$wallet" --wallet "$w/w-tom" commission "coap://127.0.0.1:$port6" \
	--code "$(sed -n 's/^pairing-code: //p' "$w/s6.out")" --resource press-9 >"$w/s6.c3" 2>&1
rc=$?
set -e
check_eq "the binding is gone: the next controller becomes press-9 (exit 0)" "$rc" 0
pki_stop
stop_sensors

