#!/bin/bash
# bench_est: vouchd under load on this machine, each figure next to a peer measured in the same
# run (docs/bench.md explains how to read them).
#
#  1. EST simpleenroll over HTTPS with keep-alive (est_load: libcurl multi, 8 clients, pre-made
#     P-256 CSRs, one pre-created enrolment token per request) next to cfssl's sign API
#     (Debian golang-cfssl: `cfssl serve` over HTTPS with a P-256 CA made by `cfssl genkey
#     -initca`) with the same CSRs, concurrency and keep-alive, and next to raw issuance
#     (bench_issue --rate, 1 thread: vouchd issues on one thread). Rounds alternate; medians.
#  2. Batch: 100,000 P-256 public keys through `vouch cert batch` (POST /api/v1/certs/batch in
#     slices the API accepts), end to end, in 4 parts with a raw-issuance round before, between
#     and after them; certificates/s, the ratio to raw issuance, and V2X sizing.
#
# Everything runs in a temp dir (its own site, SoftHSM2 token and cfssl CA), removed at exit with
# every process started here. BENCH_QUICK=1: one short round and 4,000 keys, a smoke run.
# usage: bench_est.sh VOUCHD VOUCH EST_LOAD BENCH_ISSUE (build/bench/bench_est passes them)
set -eu

vouchd=${1:?usage: $0 VOUCHD VOUCH EST_LOAD BENCH_ISSUE}
vouch=${2:?}
est_load=${3:?}
bench_issue=${4:?}

rounds=5 seconds=4 per_round=6000 clients=8 raw_s=2
batch_keys=100000 batch_parts=4
if [ "${BENCH_QUICK:-0}" != 0 ]; then
	rounds=1 seconds=1 per_round=500 raw_s=0.5
	batch_keys=4000 batch_parts=2
fi
v2x_rate=9921 # 300e6 vehicles * 20 pseudonyms / (7 * 86400 s)

vouchd_pid=
cfssl_pid=
work=$(mktemp -d "${TMPDIR:-/tmp}/vouch-bench-est.XXXXXX")

# stop PID: SIGTERM, then SIGKILL after 10 s; only processes this script started.
stop() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	stop "$vouchd_pid"
	stop "$cfssl_pid"
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

die() {
	echo "bench_est: $*" >&2
	for f in "$work/vouchd.log" "$work/cfssl.log"; do
		[ -s "$f" ] && tail -n 5 "$f" | sed "s|^|bench_est: $(basename "$f"): |" >&2
	done
	exit 1
}

# A TCP port nobody listens on now.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! ss -Htan | awk '{ print $4 }' | grep -q ":$p\$"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# ---- vouchd: a fresh site, the enrolment tokens, the service ---------------------------------
site=$work/site
unset SOFTHSM2_CONF
http_port=$(free_port) || die "no free TCP port"
"$vouchd" init --data "$site" --site bench --hostname localhost --hostname 127.0.0.1 \
	--listen 127.0.0.1:0 --http-listen "127.0.0.1:$http_port" \
	--public-http-url "http://127.0.0.1:$http_port" >"$work/init.out" 2>&1 ||
	die "vouchd init failed: $(tail -n 3 "$work/init.out")"
# Through the store API before vouchd opens the store: one token per EST request of every round.
"$est_load" tokens "$site" $((rounds * per_round)) "$work/tokens" || die "est_load tokens failed"
"$vouchd" --data "$site" --listen 127.0.0.1:0 2>"$work/vouchd.log" &
vouchd_pid=$!
for _ in $(seq 300); do
	grep -q '^http://' "$site/vouchd.addr" 2>/dev/null && break
	kill -0 "$vouchd_pid" 2>/dev/null || die "vouchd did not start"
	sleep 0.1
done
est_url=$(grep -m1 '^https://' "$site/vouchd.addr" 2>/dev/null) || die "vouchd did not start"

# ---- cfssl: a P-256 CA and `cfssl serve` over HTTPS; on failure the reason -------------------
cf=$work/cfssl
mkdir -p "$cf"
cfssl_url=
cfssl_why=

start_cfssl() {
	local port
	if ! command -v cfssl >/dev/null 2>&1 || ! command -v cfssljson >/dev/null 2>&1; then
		cfssl_why="cfssl or cfssljson is not installed (Debian package golang-cfssl; run make deps)"
		return 1
	fi
	echo '{"CN":"vouch bench cfssl CA","key":{"algo":"ecdsa","size":256}}' >"$cf/ca-csr.json"
	if ! (cd "$cf" && cfssl genkey -initca ca-csr.json 2>genkey.log | cfssljson -bare ca) ||
		[ ! -s "$cf/ca.pem" ] || [ ! -s "$cf/ca-key.pem" ]; then
		cfssl_why="cfssl genkey -initca failed: $(tail -n 1 "$cf/genkey.log" 2>/dev/null)"
		return 1
	fi
	# The device profile of vouchd, as near as cfssl's policy language gets.
	echo '{"signing":{"default":{"expiry":"8760h","usages":["digital signature",
		"key agreement","client auth"]}}}' >"$cf/config.json"
	# Its TLS key is P-256 as vouchd's; only the handshakes of the first requests use it.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$cf/tls.key" \
		-out "$cf/tls.pem" -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 1 \
		>/dev/null 2>&1 || {
		cfssl_why="openssl could not make cfssl's TLS certificate"
		return 1
	}
	for _ in 1 2 3; do
		port=$(free_port) || break
		cfssl serve -address 127.0.0.1 -port "$port" -ca "$cf/ca.pem" -ca-key "$cf/ca-key.pem" \
			-config "$cf/config.json" -tls-cert "$cf/tls.pem" -tls-key "$cf/tls.key" \
			>>"$work/cfssl.log" 2>&1 &
		cfssl_pid=$!
		for _ in $(seq 100); do
			# Any HTTP status means it is listening (GET on the sign endpoint: 405).
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$cf/tls.pem" \
				"https://127.0.0.1:$port/api/v1/cfssl/sign" 2>/dev/null) || true
			if [ "${code:-000}" != 000 ]; then
				cfssl_url=https://127.0.0.1:$port
				return 0
			fi
			kill -0 "$cfssl_pid" 2>/dev/null || break
			sleep 0.1
		done
		stop "$cfssl_pid"
		cfssl_pid=
	done
	cfssl_why="cfssl serve did not answer: $(tail -n 1 "$work/cfssl.log" 2>/dev/null)"
	return 1
}
start_cfssl || true

# ---- 1. EST vs cfssl vs raw issuance ------------------------------------------------------------
if [ -n "$cfssl_url" ]; then
	peer=(--cfssl "$cfssl_url" --cfssl-cacert "$cf/tls.pem")
else
	peer=(--no-cfssl "$cfssl_why")
fi
"$est_load" compare --est "$est_url" --est-cacert "$site/ca/chain.pem" --tokens "$work/tokens" \
	"${peer[@]}" --raw-cmd "'$bench_issue' --rate $raw_s 1" --clients "$clients" \
	--rounds "$rounds" --seconds "$seconds" --per-round "$per_round" ||
	die "the EST benchmark failed"
stop "$cfssl_pid"
cfssl_pid=

# ---- 2. batch -----------------------------------------------------------------------------------
per_part=$((batch_keys / batch_parts))
# Fresh keys, two generators at a time (two cores); not timed.
gen=()
for i in $(seq "$batch_parts"); do
	"$est_load" keys "$per_part" "$work/keys$i.pem" &
	gen+=($!)
	if [ ${#gen[@]} -eq 2 ] || [ "$i" -eq "$batch_parts" ]; then
		for p in "${gen[@]}"; do
			wait "$p" || die "est_load keys failed"
		done
		gen=()
	fi
done

raw_rates=()
raw_round() {
	local r
	r=$("$bench_issue" --rate "$raw_s" 1) || die "bench_issue --rate failed"
	raw_rates+=("$r")
}
now_ns() { date +%s%N; }

batch_ns=0
issued=0
for i in $(seq "$batch_parts"); do
	raw_round
	t0=$(now_ns)
	"$vouch" --data "$site" cert batch --profile short-lived --prefix veh \
		--keys "$work/keys$i.pem" >"$work/certs$i.pem" 2>"$work/batch$i.err" ||
		die "vouch cert batch failed: $(tail -n 2 "$work/batch$i.err")"
	t1=$(now_ns)
	batch_ns=$((batch_ns + t1 - t0))
	n=$(grep -c 'BEGIN CERTIFICATE' "$work/certs$i.pem" || true)
	[ "$n" -eq "$per_part" ] || die "batch part $i: $n certificates for $per_part keys"
	issued=$((issued + n))
	# Spot check: the last certificate of the part verifies against the chain.
	awk '/BEGIN CERT/ { b = "" } { b = b $0 "\n" } END { printf "%s", b }' \
		"$work/certs$i.pem" >"$work/last.pem"
	openssl verify -CAfile "$site/ca/root.pem" -untrusted "$site/ca/issuing.pem" \
		"$work/last.pem" >/dev/null 2>&1 || die "batch part $i: a certificate does not verify"
	rm -f "$work/certs$i.pem"
done
raw_round
kill -0 "$vouchd_pid" 2>/dev/null || die "vouchd died during the benchmark"
if grep -q 'Sanitizer\|runtime error' "$work/vouchd.log"; then
	grep -m3 -A5 'Sanitizer\|runtime error' "$work/vouchd.log" >&2
	die "vouchd's log has sanitizer reports"
fi

printf '%s\n' "${raw_rates[@]}" | awk -v n="$issued" -v ns="$batch_ns" -v parts="$batch_parts" \
	-v v2x="$v2x_rate" '
	{ r[NR] = $1 }
	END {
		# median of the raw rounds
		for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
		raw = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
		s = ns / 1e9
		rate = n / s
		need = int(v2x / rate); if (need * rate < v2x) need++
		printf "vouch bench: batch issuance, %d fresh P-256 keys through `vouch cert batch` " \
		       "(POST /api/v1/certs/batch,\nprofile short-lived), end to end in %d parts, " \
		       "next to raw issuance rounds (bench_issue, 1 thread)\nbefore, between and after " \
		       "the parts (median)\n", n, parts
		printf "  batch %d keys in %.1f s          %7.0f certs/s | raw issuance %7.0f certs/s | " \
		       "ratio %.3f\n", n, s, rate, raw, rate / raw
		printf "  V2X sizing: 300 M vehicles x 20 pseudonyms a week = %d certs/s sustained; " \
		       "one vouchd as measured\n  here covers %.1f%% of it: %d such instances (each with " \
		       "its own issuing key / HSM partition)\n  would carry it, or one instance %.1fx " \
		       "faster than this one\n", v2x, 100 * rate / v2x, need, v2x / rate
	}'
