#!/bin/sh
# Run every benchmark program of the build. Each prints its figure next to a peer measured in the
# same run, as a ratio (docs/bench.md says how to read them). The known ones run first, in this
# order (raw issuance before the service benchmarks built on it), then any other bench_*.
# BENCH_QUICK=1 shortens those that support it to a smoke run (not figures to quote).
set -eu
build="${1:-build}"
known="bench_cose bench_issue bench_est"

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//') || true
echo "vouch benchmarks: $(nproc) cores (${cpu:-unknown CPU}), load average" \
	"$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) at the start"
if [ "${BENCH_QUICK:-0}" != 0 ]; then
	echo "BENCH_QUICK: short rounds and a small batch: a smoke run, not figures to quote"
fi

failed=""
run() {
	[ -x "$1" ] || return 0
	echo "== $(basename "$1")"
	"$1" || failed="$failed $(basename "$1")"
}
for name in $known; do
	run "$build/bench/$name"
done
for b in "$build"/bench/bench_*; do
	case " $known " in
	*" $(basename "$b") "*) continue ;;
	esac
	run "$b"
done
if [ -n "$failed" ]; then
	echo "bench: failed:$failed" >&2
	exit 1
fi
