#!/bin/bash
# Issue 5 attacks on the real programs: vouchd, vouch-wallet (its key in a SoftHSM2 token),
# vouch-sensor (its key in the PSA secure element), and two tools built from their own code:
# spoof_sensor (the agent on a device of its own that copied a genuine sensor's public state)
# and rogue_phone (the wallet's EDHOC/OSCORE link with requests no wallet sends).
#
#  1. A spoofed sensor is detected by the wallet: with the genuine sensor's copied certificate
#     (it cannot prove that key), with a certificate for its own key under a self-made CA, and
#     with another genuine sensor's certificate. Nothing is granted, the genuine sensor is not
#     touched.
#  2. A credential copied to another phone is refused at /authz-info (4.01, proof of
#     possession: cnf is another key), and /access and /decommission after it too.
#  3. Bad input on every CoAP resource through real sessions: EDHOC out of order, an OSCORE
#     request replayed, corrupted, for an unknown kid, unknown paths and methods, malformed and
#     oversized /access, /authz-info, /revocations, /commission/bundle (at a commissioned and at
#     a new sensor), a full session table. Each gets a clear CoAP error and changes nothing but
#     the signed record of a refused credential; the sensor keeps running, the legitimate person
#     is still granted, the new sensor is still commissioned, and the event queue (checked from
#     the outside: records, CRCs, sequence numbers, signatures under the device certificate, the
#     sensor's "sensor.event" log lines) is intact across a restart.
# (Unprotected garbage on /revocations and /.well-known/edhoc is tests/sensor/test_sensor_coap.sh;
# here only a real site's list, truncated or with its signature spoilt.)
# usage: test_sensor_attacks.sh vouchd vouch vouch-wallet vouch-sensor spoof_sensor rogue_phone
set -eu

usage="usage: $0 vouchd vouch vouch-wallet vouch-sensor spoof_sensor rogue_phone"
vouchd=${1:?$usage}
vouch=${2:?$usage}
wallet=${3:?$usage}
sensor=${4:?$usage}
spoof=${5:?$usage}
rogue=${6:?$usage}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=pki_common.sh
. "$here/pki_common.sh"
# Debian's python3 (with python3-cbor2 and python3-cryptography), not whatever comes first.
py=/usr/bin/python3
command -v oathtool >/dev/null && "$py" -c 'import cbor2, cryptography' 2>/dev/null || {
	echo "FATAL: oathtool, python3-cbor2 or python3-cryptography is missing"
	exit 1
}
for p in "$wallet" "$sensor" "$spoof" "$rogue"; do
	[ -x "$p" ] || {
		echo "FATAL: $p is not an executable"
		exit 1
	}
done

pki_setup sensor-attacks
pki_start
w=$work
V() { "$vouch" --data "$site" "$@"; }
export VOUCH_WALLET_PIN=unlock-4711

# wait_line FILE PATTERN: up to 5 s for a line to appear.
wait_line() {
	for _ in $(seq 50); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# start_sensor NAME PORT [ARGS...]: vouch-sensor on $w/NAME in the background (its pid in
# pid_NAME); logs appended to $w/NAME.log across restarts.
start_sensor() {
	local name=$1 port=$2 before
	shift 2
	before=$(grep -c '"sensor.listen"' "$w/$name.log" 2>/dev/null || true)
	"$sensor" --state "$w/$name" --listen "127.0.0.1:$port" "$@" >"$w/$name.out" \
		2>>"$w/$name.log" &
	printf -v "pid_$name" '%s' $!
	for _ in $(seq 50); do
		[ "$(grep -c '"sensor.listen"' "$w/$name.log" 2>/dev/null || true)" -gt "${before:-0}" ] &&
			return 0
		sleep 0.1
	done
	return 1
}

# stop_pid PID: SIGTERM and wait (not in a subshell: it must be our child); the exit status in
# stop_rc.
stop_pid() {
	stop_rc=0
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || stop_rc=$?
}

# alive NAME: the sensor NAME still runs.
alive() {
	local v="pid_$1"
	if kill -0 "${!v}" 2>/dev/null; then
		ok "$2: $1 still runs"
	else
		fatal "$2: $1 is gone ($(tail -n 3 "$w/$1.log"))"
	fi
}

# access WHO URI ACTION: the wallet's exit status; its output in $w/a.out.
access() {
	set +e
	"$wallet" --wallet "$w/w-$1" access "$2" "$3" >"$w/a.out" 2>&1
	local r=$?
	set -e
	echo "$r"
}

# rogue NAME MODE ARGS...: run rogue_phone; its answers in $w/NAME.txt, its exit status in rc.
rogue() {
	local name=$1
	shift
	set +e
	"$rogue" "$@" >"$w/$name.txt" 2>"$w/$name.err"
	rc=$?
	set -e
	sed 's/^/#   /' "$w/$name.txt"
}

# step FILE STEP CODE PROT [ERE]: the rogue's answer to STEP has CODE, PROT (protected: it came
# under the session's OSCORE context; plain: the sensor could not or would not protect it) and,
# when given, a text matching ERE.
step() {
	local file=$1 name=$2 code=$3 prot=$4 pat=${5:-} line got_code got_prot got_text
	line=$(awk -F'\t' -v s="$name" '$1 == s { print; exit }' "$file")
	if [ -z "$line" ]; then
		not_ok "$name: no answer"
		return
	fi
	IFS=$'\t' read -r _ got_code got_prot got_text <<<"$line"
	if [ "$got_code" = "$code" ] && [ "$got_prot" = "$prot" ] &&
		{ [ -z "$pat" ] || grep -Eq -- "$pat" <<<"$got_text"; }; then
		ok "$name: $code $prot${pat:+ ($pat)}"
	else
		not_ok "$name: got '$got_code $got_prot $got_text', wanted '$code $prot${pat:+ /$pat/}'"
	fi
}

# The sensor's event queue read from the outside (sensor/queue.h): records of u32 length, u64
# sequence number, u32 CRC-32, event; every event a COSE_Sign1 that verifies under the device
# certificate's key, its own sequence number that of its record. One line per event:
# SEQ KIND GRANTED ACTION SUBJECT REASON (tab-separated). `next SDIR`: the state's next_seq.
cat >"$w/queue.py" <<'PY'
import struct, sys, zlib
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

sdir = sys.argv[-1]
raw = open(sdir + '/state.cbor', 'rb').read()
# state.cbor = the CBOR state, then its CRC-32 (zlib's), big-endian
assert zlib.crc32(raw[:-4]).to_bytes(4, 'big') == raw[-4:], 'state.cbor: CRC-32 mismatch'
state = cbor2.loads(raw[:-4])
if sys.argv[1] == 'next':
    print(state[3])
    sys.exit(0)
pub = x509.load_der_x509_certificate(state[8]).public_key()
data = open(sdir + '/events', 'rb').read()
off, last = 0, 0
while off < len(data):
    if len(data) - off < 16:
        sys.exit('a torn header at %d' % off)
    n, seq, crc = struct.unpack('>IQI', data[off:off + 16])
    ev = data[off + 16:off + 16 + n]
    if len(ev) != n or n == 0:
        sys.exit('a torn record at %d' % off)
    if zlib.crc32(ev, zlib.crc32(data[off:off + 12])) != crc:
        sys.exit('record %d: CRC mismatch' % seq)
    if seq <= last:
        sys.exit('record %d after %d: out of sequence' % (seq, last))
    msg = cbor2.loads(ev)
    if isinstance(msg, cbor2.CBORTag):
        if msg.tag != 18:
            sys.exit('record %d: tag %d, not COSE_Sign1' % (seq, msg.tag))
        msg = msg.value
    prot, _unprot, payload, sig = msg
    tbs = cbor2.dumps(['Signature1', prot, b'', payload])
    der = utils.encode_dss_signature(int.from_bytes(sig[:32], 'big'),
                                     int.from_bytes(sig[32:], 'big'))
    pub.verify(der, tbs, ec.ECDSA(hashes.SHA256()))
    e = cbor2.loads(payload)
    if e[2] != seq or e[1] != 1 or e[4] != state[6]:
        sys.exit('record %d: the event says seq %s, device %s' % (seq, e[2], e[4]))
    g = {True: 'granted', False: 'refused'}.get(e.get(9), '-')
    print('%d\t%s\t%s\t%s\t%s\t%s' % (seq, e[5], g, e.get(8, '-'), e.get(6, '-'), e.get(10, '-')))
    last = seq
    off += 16 + n
PY
# queue NAME: the sensor's queue as lines (fails when it does not check).
queue() { "$py" "$w/queue.py" list "$w/$1"; }
next_seq() { "$py" "$w/queue.py" next "$w/$1"; }
# The "sensor.event" sequence numbers of a sensor's log, one a line.
log_seqs() {
	"$py" -c 'import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event") == "sensor.event":
        print(e["seq"])' "$w/$1.log"
}
event_count() { queue "$1" | wc -l; }

# ---- the site: an installer (role service) and an operator, TOTP by oathtool ----
check "vouch policy load (the plant's)" V policy load "$root/examples/plant-policy/policy.json"
for u in ines otto; do
	printf '%s password 42\n' "$u" >"$w/$u.pw"
done
chmod 600 "$w"/*.pw
V user add ines --role service --password-file "$w/ines.pw" >"$w/ines.uri" || fatal "user add ines"
V user add otto --role operator --password-file "$w/otto.pw" >"$w/otto.uri" || fatal "user add otto"
for u in ines otto; do
	check "$u logs in with the wallet" "$wallet" --wallet "$w/w-$u" login --server "$https" \
		--ca "$site/ca/chain.pem" --user "$u" --password-file "$w/$u.pw" --totp "$(totp "$w/$u.uri")"
done
[ -s "$w/w-ines/credential.cwt" ] || fatal "ines's wallet holds no credential.cwt"

# ---- s1 commissioned by ines; s2 left unprovisioned for now ----
port1=$(udp_port) || fatal "no UDP port"
mkdir -p "$w/s1" "$w/s2"
start_sensor s1 "$port1" --zone plant/hall-a --type sensor || fatal "vouch-sensor s1 did not start"
wait_line "$w/s1.out" '^pairing-code: ' || fatal "s1 shows no pairing code"
code1=$(sed -n 's/^pairing-code: //p' "$w/s1.out")
uri1=coap://127.0.0.1:$port1
set +e
"$wallet" --wallet "$w/w-ines" commission "$uri1" --code "$code1" >"$w/c1.out" 2>&1
rc=$?
set -e
check_eq "ines commissions s1 (exit 0)" "$rc" 0
device1=$(sed -n 's/^commissioned: \(dev-[0-9a-f]*\) .*/\1/p' "$w/c1.out")
[ -n "$device1" ] || fatal "commission s1: $(cat "$w/c1.out")"
port2=$(udp_port) || fatal "no UDP port"
start_sensor s2 "$port2" --zone plant/hall-a --type sensor || fatal "vouch-sensor s2 did not start"
wait_line "$w/s2.out" '^pairing-code: ' || fatal "s2 shows no pairing code"
code2=$(sed -n 's/^pairing-code: //p' "$w/s2.out")
uri2=coap://127.0.0.1:$port2
grants=0 # the legitimate grants at s1 so far, for the queue's account
check_eq "ines reads s1 (granted)" "$(access ines "$uri1" read)" 0
grants=$((grants + 1))
check_eq "otto reads s1 (granted)" "$(access otto "$uri1" read)" 0
grants=$((grants + 1))
sha_s1() { cat "$w/s1/state.cbor" "$w/s1/events" | sha256sum | cut -d' ' -f1; }

# ==== 1. spoofed sensors ====
# spoof_on NAME [CERT]: spoof_sensor on its own fresh $w/NAME with s1's state copied; uri_spoof.
spoof_on() {
	local name=$1 port
	shift
	port=$(udp_port) || fatal "no UDP port"
	mkdir -p "$w/$name"
	"$spoof" serve "$w/$name" "$w/s1" "127.0.0.1:$port" "$@" >"$w/$name.out" 2>"$w/$name.log" &
	spoof_pid=$!
	wait_line "$w/$name.out" '^spoof: listening' || fatal "spoof_sensor $name: $(cat "$w/$name.log")"
	uri_spoof=coap://127.0.0.1:$port
}
# spoof_done NAME: stop it (exit 0); it never completed EDHOC, took no credential, decided
# nothing.
spoof_done() {
	stop_pid "$spoof_pid"
	check_eq "$1: SIGTERM stops the spoof cleanly" "$stop_rc" 0
	if grep -q '"step":"completed"\|"sensor.credential\|"sensor.access"' "$w/$1.log"; then
		not_ok "$1: the spoof completed EDHOC or took a credential"
	else
		ok "$1: no EDHOC completed, no credential taken, no decision made at the spoof"
	fi
}

before=$(sha_s1)
spoof_on spoof-copy
grep -q "^spoof: answering as $device1 " "$w/spoof-copy.out" && ok "the spoof answers as $device1" ||
	not_ok "spoof: $(cat "$w/spoof-copy.out")"
for who in ines otto; do
	check_eq "$who at the spoof with s1's copied certificate: refused (exit 1)" \
		"$(access "$who" "$uri_spoof" read)" 1
	if grep -qx "refused: spoofed sensor: the key it proves is not the certified key of $device1" \
		"$w/a.out"; then
		ok "$who: the wallet reports the spoof (its certificate is genuine, its key is not)"
	else
		not_ok "$who at the spoof: $(cat "$w/a.out")"
	fi
	if grep -q "granted" "$w/a.out"; then not_ok "$who: something granted at the spoof"; fi
done
spoof_done spoof-copy

# The spoof's own key under a self-made CA, for s1's device id (another site's CA alike).
"$spoof" csr "$w/spoof-own" "$device1" "$w/spoof-own.csr" >"$w/spoof-own-csr.out" 2>&1 ||
	fatal "spoof_sensor csr: $(cat "$w/spoof-own-csr.out")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$w/other-ca.key" \
	-out "$w/other-ca.pem" -subj "/CN=Other Site Issuing CA" -days 2 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null ||
	fatal "openssl: the self-made CA"
openssl x509 -req -inform DER -in "$w/spoof-own.csr" -CA "$w/other-ca.pem" -CAkey "$w/other-ca.key" \
	-set_serial 7 -days 1 -outform DER -out "$w/spoof-own.der" 2>/dev/null ||
	fatal "openssl: the spoof's certificate"
spoof_on spoof-own "$w/spoof-own.der"
check_eq "ines at a spoof with its own key under a self-made CA: refused (exit 1)" \
	"$(access ines "$uri_spoof" read)" 1
grep -q "^refused: spoofed sensor: its certificate does not verify under the site's CA" "$w/a.out" &&
	ok "the wallet reports the certificate not under the site's CA" || not_ok "answer: $(cat "$w/a.out")"
spoof_done spoof-own
check_eq "the genuine s1's state and queue untouched by the spoofs" "$(sha_s1)" "$before"

# ==== 2. a credential copied to another phone ====
phone_ines=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["phone"])' \
	"$w/w-ines/wallet.json")
cp "$w/w-ines/credential.cwt" "$w/copied.cwt"
n_before=$(event_count s1)
rogue copied copied "$uri1" "$w/copied.cwt" "$phone_ines"
check_eq "rogue_phone copied: every step answered, nothing accepted (exit 0)" "$rc" 0
step "$w/copied.txt" edhoc 2.04 plain
step "$w/copied.txt" authz-info 4.01 protected \
	'^1=credential refused: it is bound to another key than the one this phone proved$'
step "$w/copied.txt" access 4.01 protected '^1=no credential accepted in this session$'
step "$w/copied.txt" decommission 4.01 protected '^1=no credential accepted in this session$'
queue s1 >"$w/q.txt" || fatal "s1's queue does not check: $(queue s1 2>&1 | tail -n 1)"
tail -n +$((n_before + 1)) "$w/q.txt" >"$w/q-new.txt"
check_eq "the copied credential left exactly one event at s1" "$(wc -l <"$w/q-new.txt")" 1
if awk -F'\t' '$2 == "access" && $3 == "refused" && $5 == "ines" && $6 ~ /bound to another key/' \
	"$w/q-new.txt" | grep -q .; then
	ok "s1 recorded the refused copy as a signed access event for ines"
else
	not_ok "the event: $(cat "$w/q-new.txt")"
fi
alive s1 "after the copied credential"
check_eq "ines herself is still granted at s1" "$(access ines "$uri1" read)" 0
grants=$((grants + 1))

# ==== 3. bad input ====
# EDHOC out of order.
rogue edhoc edhoc "$uri1"
check_eq "rogue_phone edhoc: every step answered, nothing accepted (exit 0)" "$rc" 0
step "$w/edhoc.txt" m3-unknown-cr 4.00 plain '^edhoc-error: no EDHOC session for that connection id$'
step "$w/edhoc.txt" m1-first 2.04 plain '^<bstr'
step "$w/edhoc.txt" m1-again 2.04 plain '^<bstr'
step "$w/edhoc.txt" m1-answers-differ - - '^yes$'
step "$w/edhoc.txt" m3-first 2.04 plain
step "$w/edhoc.txt" m3-again 4.00 plain '^edhoc-error: no EDHOC session for that connection id$'
step "$w/edhoc.txt" oscore-after-m3-again 4.01 protected '^1=no credential accepted in this session$'
alive s1 "after EDHOC out of order"

# The person's own phone (ines's key, from her token) sending garbage in a real session.
n_before=$(event_count s1)
rogue garbage garbage "$uri1" "$w/w-ines"
check_eq "rogue_phone garbage: every step answered, nothing accepted (exit 0)" "$rc" 0
g=$w/garbage.txt
step "$g" edhoc 2.04 plain
step "$g" authz-info 2.01 protected
for s in access-empty access-not-cbor access-trailing access-truncated access-wrong-type \
	access-extra-key access-deep; do
	step "$g" "$s" 4.00 protected '^malformed access request$'
done
step "$g" access-unknown-action 4.00 protected '^unknown action$'
step "$g" access-long-action 4.00 protected '^unknown action$'
step "$g" access-oversized 4.13 plain '^payload too large$'
step "$g" access-get 4.05 protected '^method not allowed$'
step "$g" unknown-path 4.04 protected '^no such protected resource$'
step "$g" access-read 2.05 protected '^1=true 2=permit: role "service"'
step "$g" replay 4.01 plain '^OSCORE replay or too old$'
step "$g" oscore-corrupt 4.00 plain 'did not verify'
step "$g" oscore-unknown-kid 4.01 plain '^no security context: run EDHOC again$'
step "$g" oscore-bad-option 4.00 plain '^malformed OSCORE option$'
step "$g" access-read-2 2.05 protected '^1=true '
# /revocations under OSCORE (docs/sensor-protocol.md: "none or OSCORE"; the list is signed).
step "$g" revocations-held 2.04 protected '^1=[0-9]+$'
step "$g" revocations-truncated 4.00 protected '^revocation list refused: '
step "$g" revocations-not-cbor 4.00 protected '^revocation list refused: '
step "$g" revocations-bad-signature 4.00 protected '.*verify'
step "$g" revocations-empty 4.00 protected '^no revocation list$'
step "$g" revocations-oversized 4.13 plain '^payload too large$'
# Unprotected, as the wallet sends it: the site's real list, and spoilt.
step "$g" revocations-plain-held 2.04 plain '^1=[0-9]+$'
step "$g" revocations-plain-truncated 4.00 plain '^revocation list refused: '
step "$g" revocations-plain-bad-signature 4.00 plain '^revocation list refused: .*verify'
step "$g" bundle-commissioned 4.03 protected '^already commissioned$'
step "$g" authz-empty 4.00 protected '^no credential$'
for s in authz-not-cbor authz-truncated authz-trailing; do
	step "$g" "$s" 4.01 protected '^1=credential refused: '
done
step "$g" authz-bad-signature 4.01 protected '^1=credential refused: .*verify'
step "$g" authz-too-large 4.13 protected '^credential too large$'
step "$g" authz-oversized 4.13 plain '^payload too large$'
step "$g" access-after-bad-authz 4.01 protected '^1=no credential accepted in this session$'
step "$g" authz-again 2.01 protected
step "$g" access-read-3 2.05 protected '^1=true '
alive s1 "after the garbage"
# What the garbage left in the queue: the three real decisions and the four refused
# credentials; no decision on a malformed request, none for the replay.
queue s1 >"$w/q.txt" || fatal "s1's queue does not check: $(queue s1 2>&1 | tail -n 1)"
tail -n +$((n_before + 1)) "$w/q.txt" >"$w/q-new.txt"
check_eq "garbage: 3 decisions at s1, all granted reads (the replay decided nothing)" \
	"$(awk -F'\t' '$4 != "-" { n++; if ($3 == "granted" && $4 == "read") g++ }
		END { print g + 0 "," n + 0 }' "$w/q-new.txt")" "3,3"
check_eq "garbage: 4 refused credentials recorded" \
	"$(awk -F'\t' '$4 == "-" && $3 == "refused" && $6 ~ /^credential refused/' "$w/q-new.txt" | wc -l)" 4
check_eq "garbage: nothing else recorded" "$(wc -l <"$w/q-new.txt")" 7
grants=$((grants + 3))

# /commission/bundle and the rest at the unprovisioned s2; then s2 is commissioned as usual.
rogue bundle bundle "$uri2"
check_eq "rogue_phone bundle: every step answered, nothing accepted (exit 0)" "$rc" 0
b=$w/bundle.txt
step "$b" edhoc 2.04 plain
step "$b" bundle-before-csr 4.01 protected '^1=wrong session: the bundle belongs to the session that fetched the CSR$'
step "$b" csr 2.05 protected '^1=1 2=<[0-9]+ bytes>$'
step "$b" bundle-empty 4.00 protected '^no bundle$'
step "$b" bundle-not-cbor 4.00 protected .
step "$b" bundle-cose-empty 4.00 protected .
step "$b" bundle-oversized 4.13 plain '^payload too large$'
step "$b" authz-unprovisioned 4.03 protected '^not commissioned$'
step "$b" access-unprovisioned 4.03 protected '^not commissioned$'
step "$b" revocations-unprovisioned 4.03 protected '^not commissioned'
alive s2 "after the bundle garbage"
set +e
"$wallet" --wallet "$w/w-ines" commission "$uri2" --code "$code2" >"$w/c2.out" 2>&1
rc=$?
set -e
check_eq "ines commissions s2 after the garbage (exit 0)" "$rc" 0
device2=$(sed -n 's/^commissioned: \(dev-[0-9a-f]*\) .*/\1/p' "$w/c2.out")
[ -n "$device2" ] || fatal "commission s2: $(cat "$w/c2.out")"
check_eq "ines reads s2 (granted)" "$(access ines "$uri2" read)" 0

# A spoof of s1 showing s2's genuine certificate (for its own key, under the site's CA).
"$py" -c 'import sys, cbor2; open(sys.argv[2], "wb").write(cbor2.loads(open(sys.argv[1], "rb").read()[:-4])[8])' \
	"$w/s2/state.cbor" "$w/s2-cert.der"
before=$(sha_s1)
spoof_on spoof-other "$w/s2-cert.der"
check_eq "ines at a spoof of s1 showing s2's certificate: refused (exit 1)" \
	"$(access ines "$uri_spoof" read)" 1
grep -qx "refused: spoofed sensor: its certificate is for another device" "$w/a.out" &&
	ok "the wallet reports a certificate for another device" || not_ok "answer: $(cat "$w/a.out")"
spoof_done spoof-other
check_eq "the genuine s1 untouched by that spoof" "$(sha_s1)" "$before"

# A full session table: 5.03, and room again once the sessions have been idle.
rogue flood flood "$uri1"
check_eq "rogue_phone flood: every step answered (exit 0)" "$rc" 0
step "$w/flood.txt" flood-busy - - '^yes$'
last_flood=$(awk -F'\t' '$1 ~ /^flood-[0-9]+$/ { l = $1 } END { print l }' "$w/flood.txt")
step "$w/flood.txt" "$last_flood" 5.03 plain '^busy: every session is in use$'
step "$w/flood.txt" flood-after-idle 2.04 plain '^<bstr'
alive s1 "after the flood"
check_eq "after all that, ines reads s1 (granted)" "$(access ines "$uri1" read)" 0
grants=$((grants + 1))
check_eq "and otto reads s1 (granted)" "$(access otto "$uri1" read)" 0
grants=$((grants + 1))
check_eq "otto still may not configure s1 (denied)" "$(access otto "$uri1" configure)" 1

# ==== the event queue, from the outside, across a restart ====
queue s1 >"$w/q1.txt" 2>"$w/q1.err" && ok "s1's queue: every record whole, CRC right, in sequence, signed by the certified key" ||
	not_ok "s1's queue: $(cat "$w/q1.err")"
check_eq "s1's queue holds every grant made there, and no other" \
	"$(awk -F'\t' '$3 == "granted"' "$w/q1.txt" | wc -l)" "$grants"
[ "$(head -n 1 "$w/q1.txt" | cut -f2)" = commission ] && ok "the first event is the commissioning" ||
	not_ok "first event: $(head -n 1 "$w/q1.txt")"
check_eq "the queue's sequence numbers are those the sensor logged" \
	"$(cut -f1 "$w/q1.txt" | tr '\n' ' ')" "$(log_seqs s1 | tr '\n' ' ')"
last=$(tail -n 1 "$w/q1.txt" | cut -f1)
next=$(next_seq s1)
check_eq "next_seq follows the last event" "$next" $((last + 1))
cp "$w/s1/events" "$w/events.before"
stop_pid "$pid_s1"
check_eq "SIGTERM stops s1 cleanly" "$stop_rc" 0
start_sensor s1 "$port1" || fatal "s1 did not restart"
cmp -s "$w/s1/events" "$w/events.before" && ok "after the restart the queue file is byte for byte the same" ||
	not_ok "the restart changed the queue"
if grep -q '"sensor.queue.torn"' "$w/s1.log"; then not_ok "the restart found a torn queue"; fi
check_eq "after the restart the next sequence number is the same" "$(next_seq s1)" "$next"
check_eq "after the restart ines reads s1 (granted)" "$(access ines "$uri1" read)" 0
queue s1 >"$w/q2.txt" || not_ok "s1's queue after the restart does not check"
check_eq "the new event takes the next number" "$(tail -n 1 "$w/q2.txt" | cut -f1,2,3)" \
	"$(printf '%s\taccess\tgranted' "$next")"
check_eq "the events before the restart are all still there" "$(head -n "$(wc -l <"$w/q1.txt")" "$w/q2.txt")" \
	"$(cat "$w/q1.txt")"
cmp -s -n "$(stat -c %s "$w/events.before")" "$w/s1/events" "$w/events.before" &&
	ok "the queue file grew only by appending" || not_ok "the old records changed"

for s in s1 s2; do
	v="pid_$s"
	stop_pid "${!v}"
	check_eq "SIGTERM stops $s cleanly" "$stop_rc" 0
	grep -q '"event":"sensor.stop"' "$w/$s.log" || not_ok "$s logged no clean stop"
done
# The sensors', the spoofs' and the rogue's own stderr (under VOUCH_SANITIZE=ON builds).
for f in "$w"/*.log "$w"/*.err; do
	if grep -q 'Sanitizer\|runtime error' "$f"; then
		not_ok "$(basename "$f") has sanitizer reports"
		grep -A5 'Sanitizer\|runtime error' "$f" | head -n 20 | sed 's/^/#   /'
	fi
done
pki_stop
