#!/bin/sh
# vouch-sensor as a real CoAP server, spoken to by a real peer (coap-client-notls, Debian's
# libcoap3-bin): the pairing code on stdout (the element's key, RFC 9679 thumbprint in base32),
# GET /info, POST /revocations unprovisioned (4.03), commissioned (sensor_tool provision): a new
# list taken, a valid but older one and the same one again not taken, a forged one, a malformed
# one and one over the size limit refused, the sensor answering after every one of them; the
# protected resources refused without OSCORE (4.01), EDHOC garbage refused (4.00); SIGTERM a clean stop with JSON-lines logs;
# a copy of the state directory without its secure element refused at start with a `spoof`
# log; --reset.
# usage: test_sensor_coap.sh VOUCH_SENSOR SENSOR_TOOL
set -eu
sensor=$1
tool=$2
dir=$(mktemp -d /tmp/vouch-sensor-coap-XXXXXX)
sdir=$dir/sdir
pid=
cleanup() {
	if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	for f in "$dir"/sensor*.err; do [ -f "$f" ] && sed 's/^/  log: /' "$f" >&2; done
	exit 1
}

port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
uri=coap://127.0.0.1:$port

# A minimal CBOR reader (maps of uint keys; uint, bool, text, bytes, arrays): no code shared
# with vouch.
cat > "$dir/cbor.py" <<'PY'
import sys
def item(b, p):
    ib = b[p]; mt, ai = ib >> 5, ib & 31; p += 1
    if ai < 24: n = ai
    elif ai in (24, 25, 26, 27):
        k = 1 << (ai - 24); n = int.from_bytes(b[p:p + k], 'big'); p += k
    else: raise ValueError('unsupported')
    if mt == 0: return n, p
    if mt == 2: return bytes(b[p:p + n]), p + n
    if mt == 3: return b[p:p + n].decode(), p + n
    if mt == 4:
        a = []
        for _ in range(n):
            v, p = item(b, p); a.append(v)
        return a, p
    if mt == 5:
        m = {}
        for _ in range(n):
            k, p = item(b, p); v, p = item(b, p); m[k] = v
        return m, p
    if mt == 7 and ai in (20, 21): return ai == 21, p
    raise ValueError('unsupported')
b = open(sys.argv[1], 'rb').read()
m, end = item(b, 0)
assert end == len(b), 'trailing bytes'
for k in sorted(m):
    v = m[k]
    print('%d=%s' % (k, ('bytes:%d' % len(v)) if isinstance(v, bytes) else v))
PY
cbor() { python3 "$dir/cbor.py" "$1"; }

start() { # $1: run name; extra arguments follow
	name=$1
	shift
	"$sensor" --state "$sdir" --listen "127.0.0.1:$port" "$@" \
		> "$dir/sensor-$name.out" 2> "$dir/sensor-$name.err" &
	pid=$!
	i=0
	until grep -q '"event":"sensor.listen"' "$dir/sensor-$name.err" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "the sensor did not start ($name)"
		kill -0 "$pid" 2>/dev/null || fail "the sensor exited ($name)"
		sleep 0.1
	done
}

stop() {
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	pid=
	[ $rc -eq 0 ] || fail "exit status $rc after SIGTERM"
	# Every log line is one JSON object.
	python3 -c 'import json, sys
for line in open(sys.argv[1]): json.loads(line)' "$dir/sensor-$name.err" ||
		fail "a log line is not JSON"
	grep -q '"event":"sensor.stop"' "$dir/sensor-$name.err" || fail "no clean stop logged"
}

# $1 method, $2 path, $3 payload file or "", $4 expected "code" ("2.05", "4.00", ...)
req() {
	rm -f "$dir/answer" "$dir/diag"
	if [ -n "$3" ]; then
		coap-client-notls -B 5 -m "$1" -f "$3" -o "$dir/answer" "$uri/$2" 2> "$dir/diag" ||
			fail "coap-client $1 /$2"
	else
		coap-client-notls -B 5 -m "$1" -o "$dir/answer" "$uri/$2" 2> "$dir/diag" ||
			fail "coap-client $1 /$2"
	fi
	case $4 in
	2.*)
		[ ! -s "$dir/diag" ] || fail "$1 /$2: $(cat "$dir/diag"), wanted $4"
		[ -s "$dir/answer" ] || fail "$1 /$2: no answer"
		;;
	*)
		grep -q "^$4 " "$dir/diag" || fail "$1 /$2: '$(cat "$dir/diag")', wanted $4"
		;;
	esac
}

# ---- unprovisioned ----
start first --zone plant/hall-a/line-1 --type machine
i=0
until grep -q '^pairing-code: ' "$dir/sensor-first.out"; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "no pairing code"; sleep 0.1
done
code=$(sed -n 's/^pairing-code: //p' "$dir/sensor-first.out")
echo "$code" | grep -Eq '^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$' || fail "pairing code '$code'"
[ "$code" = "$("$tool" code "$sdir")" ] || fail "the pairing code is not the element's key"
req get info "" 2.05
cbor "$dir/answer" > "$dir/info.txt"
grep -qx '1=1' "$dir/info.txt" && grep -qx '2=unprovisioned' "$dir/info.txt" &&
	grep -qx '4=plant/hall-a/line-1' "$dir/info.txt" && grep -qx '5=machine' "$dir/info.txt" ||
	fail "info: $(cat "$dir/info.txt")"
printf 'hello' > "$dir/hello"
req post revocations "$dir/hello" 4.03
# Protected resources in the clear, and the root without an OSCORE option: 4.01.
for p in commission/csr commission/bundle authz-info access decommission; do
	req post "$p" "" 4.01
done
req post "" "$dir/hello" 4.01
# Not EDHOC: an empty body and garbage get 4.00 (an EDHOC error message); the sensor stays up.
req post .well-known/edhoc "" 4.00
req post .well-known/edhoc "$dir/hello" 4.00
req get info "" 2.05
stop
[ "$(stat -c %a "$sdir")" = 700 ] || fail "the state directory is not 0700"
[ "$(stat -c %a "$sdir/state.cbor")" = 600 ] || fail "state.cbor is not 0600"

# ---- commissioned (the agent stopped) ----
"$tool" provision "$sdir" "$dir" > "$dir/provision.txt" || fail "provision"
start second
grep -q '^pairing-code:' "$dir/sensor-second.out" && fail "a provisioned sensor shows a code"
req get info "" 2.05
cbor "$dir/answer" > "$dir/info.txt"
grep -qx '2=provisioned' "$dir/info.txt" && grep -q '^3=dev-' "$dir/info.txt" &&
	grep -q '^7=bytes:' "$dir/info.txt" && ! grep -q '^6=' "$dir/info.txt" &&
	grep -q '^8=dev-' "$dir/info.txt" && grep -qx '9=\[\]' "$dir/info.txt" ||
	fail "info: $(cat "$dir/info.txt")"
req post revocations "$dir/rl-2.cbor" 2.04
[ "$(cbor "$dir/answer")" = "1=2" ] || fail "list 2 not taken: $(cbor "$dir/answer")"
req post revocations "$dir/rl-1.cbor" 2.04 # valid, but older: the answer says what is held
[ "$(cbor "$dir/answer")" = "1=2" ] || fail "list 1 taken over 2"
req post revocations "$dir/rl-2.cbor" 2.04
[ "$(cbor "$dir/answer")" = "1=2" ] || fail "list 2 again"
req post revocations "$dir/rl-forged.cbor" 4.00
req post revocations "$dir/hello" 4.00
head -c 2 "$dir/rl-2.cbor" > "$dir/short"
req post revocations "$dir/short" 4.00
head -c 40000 /dev/zero > "$dir/big"
req post revocations "$dir/big" 4.13
req get info "" 2.05
cbor "$dir/answer" | grep -qx '6=2' || fail "info does not say list 2"
stop
grep -q '"event":"sensor.revlist.taken","version":"2"' "$dir/sensor-second.err" ||
	fail "no log of the list taken"

# ---- a copy without the secure element: refused ----
mkdir "$dir/clone"
cp -a "$sdir/." "$dir/clone/"
rm -rf "$dir/clone/secure-element"
rc=0
"$sensor" --state "$dir/clone" --listen "127.0.0.1:$port" > "$dir/sensor-clone.out" \
	2> "$dir/sensor-clone.err" || rc=$?
[ $rc -eq 1 ] || fail "a cloned state directory started (status $rc)"
grep -q '"event":"sensor.spoof"' "$dir/sensor-clone.err" || fail "no spoof log"
[ -z "$(ls -A "$dir/clone/secure-element" 2>/dev/null)" ] || fail "a key was made for the clone"

# ---- reset: a new device ----
"$sensor" --state "$sdir" --reset 2> "$dir/sensor-reset.err" || fail "reset"
[ ! -e "$sdir/state.cbor" ] && [ ! -e "$sdir/events" ] || fail "reset left state"
start third
i=0
until grep -q '^pairing-code: ' "$dir/sensor-third.out"; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "no pairing code after the reset"; sleep 0.1
done
[ "$(sed -n 's/^pairing-code: //p' "$dir/sensor-third.out")" != "$code" ] ||
	fail "the same key after a reset"
stop
"$sensor" --bogus > /dev/null 2>&1 && fail "a bad option was accepted"
echo "coap: pairing code, /info, revocation lists (new, older, forged, malformed, oversized)," \
	"protected resources refused in the clear, EDHOC garbage refused, clean stops, clone refused, reset: all as expected"
