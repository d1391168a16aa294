#!/bin/bash
# bench_plant (issue 6): plant scale on this machine. vouch-plant --load at growing sizes, N
# sensors and M = 2N people with phones, access decisions at 2 per sensor per second plus the
# phones' credential refreshes and gateways' EST enrolments (mix enrol=1,refresh=2,access=7 at
# 3N operations/s, open loop, latency from each operation's scheduled time). For each size:
# decisions/s achieved, p99 decision latency against the 100 ms target, vouchd's RSS (VmRSS
# after set-up and after the load, VmHWM) and CPU per second of run, the sensors' and the phones'
# CPU; then the largest size with p99 < 100 ms and no errors.
#
# Peers in the same run: the floor (single decisions one after the other at one idle sensor,
# measured by each vouch-plant before its load) and the machine's crypto ceiling for decisions
# (`openssl speed` ECDSA P-256 sign/verify and ECDH P-256 on this machine: a decision needs at
# least 3 signatures, 4 verifications and 2 ECDH across phone and sensor; both cores).
# BENCH_QUICK=1: two small sizes, 3 s each (a smoke run, not figures to quote).
# usage: bench_plant.sh VOUCH_PLANT (build/bench/bench_plant passes it)
set -eu

plant=${1:?usage: $0 VOUCH_PLANT}
sizes="4 8 16 32 48 64"
seconds=10
speed_s=2
if [ "${BENCH_QUICK:-0}" != 0 ]; then
	sizes="4 8"
	seconds=3
	speed_s=1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/vouch-bench-plant.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

# ---- the machine's crypto (OpenSSL, one core) -------------------------------------------------
openssl speed -seconds "$speed_s" ecdsap256 ecdhp256 >"$work/speed.txt" 2>/dev/null ||
	{ echo "bench_plant: openssl speed failed" >&2; exit 1; }
read -r sign verify ecdh < <(awk '
	/ecdsa \(nistp256\)/ { s = $(NF - 1); v = $NF }
	/ecdh \(nistp256\)/ { e = $NF }
	END { print s + 0, v + 0, e + 0 }' "$work/speed.txt")
cores=$(nproc)

# ---- the sizes ---------------------------------------------------------------------------------
for n in $sizes; do
	m=$((2 * n))
	rate=$((3 * n))
	rc=0
	"$plant" --sensors "$n" --people "$m" --seed 7 --load --rate "$rate" --duration "$seconds" \
		--report "$work/n$n.json" >"$work/n$n.out" 2>&1 || rc=$?
	# 1: some operation failed (reported); 2: the plant could not be set up or loaded.
	if [ "$rc" -ge 2 ] || [ ! -s "$work/n$n.json" ]; then
		tail -n 20 "$work/n$n.out" | sed 's/^/bench_plant: /' >&2
		echo "bench_plant: vouch-plant failed at N=$n (exit $rc)" >&2
		exit 1
	fi
done

python3 - "$work" "$sign" "$verify" "$ecdh" "$cores" "$seconds" $sizes <<'EOF'
import json, sys
work, sign, verify, ecdh, cores, seconds = sys.argv[1], *map(float, sys.argv[2:7])
sizes = [int(x) for x in sys.argv[7:]]
target = 100.0
# The least crypto of one decision: phone signs message_3, verifies message_2 and the sensor's
# certificate; sensor signs message_2 and its event, verifies message_3 and the credential; one
# ECDH each. OpenSSL's rates on this machine, every core busy: a ceiling, not a prediction.
per = 3 / sign + 4 / verify + 2 / ecdh
ceiling = cores / per
print("vouch bench: plant scale, vouch-plant --load: N sensors, M = 2N phones, 3N operations/s "
      "for %d s\n(enrol 10%%, refresh 20%%, access 70%%: 2.1 decisions/s per sensor), open loop; "
      "latency from the scheduled time" % seconds)
print("  machine: OpenSSL P-256 sign %.0f/s, verify %.0f/s, ECDH %.0f/s, %d cores: crypto ceiling "
      "%.0f decisions/s\n  (3 sign + 4 verify + 2 ECDH each)" % (sign, verify, ecdh, cores, ceiling))
hdr = ("    N    M  dec/s asked  dec/s done  p99 ms  p99/100ms  p99/floor  done/ceiling  "
       "refresh p99  enrol p99  errors | vouchd RSS KiB setup->end (HWM)  CPU/s | sensors CPU/s "
       "| phones CPU/s")
print(hdr)
best = None
for n in sizes:
    r = json.load(open("%s/n%d.json" % (work, n)))
    l = r["load"]
    a, rf, en = (l["kinds"][k] for k in ("access", "refresh", "enrol"))
    p99 = a["latency_ms"]["p99"] if a["latency_ms"] else float("nan")
    fl = l["floor"]["p50_ms"]
    v = l["vouchd"]
    lat = lambda x: "%9.1f" % x["latency_ms"]["p99"] if x["latency_ms"] else "%9s" % "-"
    print("  %3d  %3d  %10.1f  %10.1f  %6.1f  %9.2f  %9.2f  %12.3f  %11s  %9s  %6d | %8d -> %6d (%6d)  %5.2f | %13.2f | %12.2f"
          % (n, r["people"], a["asked_per_s"], a["achieved_per_s"], p99, p99 / target,
             p99 / fl if fl > 0 else float("nan"), a["achieved_per_s"] / ceiling, lat(rf), lat(en),
             l["errors"], v["rss_kb_before"], v["rss_kb"], v["hwm_kb"], v["cpu_per_s"],
             l["sensors"]["cpu_per_s"], l["phones"]["cpu_per_s"]))
    if p99 < target and l["errors"] == 0 and a["achieved_per_s"] >= 0.95 * a["asked_per_s"]:
        best = (n, r["people"], a["achieved_per_s"], p99)
floors = [json.load(open("%s/n%d.json" % (work, n)))["load"]["floor"]["p50_ms"] for n in sizes]
print("  floor: one decision at a time at an idle sensor, p50 %s ms (per size, in order)"
      % " ".join("%.1f" % f for f in floors))
if best:
    print("  largest size with decision p99 < %.0f ms, no errors, >= 95%% of the asked rate: "
          "N = %d sensors, M = %d people (%.1f decisions/s, p99 %.1f ms)%s"
          % (target, best[0], best[1], best[2], best[3],
             "; the largest size tried" if best[0] == sizes[-1] else ""))
else:
    print("  no size tried kept decision p99 under %.0f ms" % target)
EOF
