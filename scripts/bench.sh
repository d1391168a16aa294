#!/bin/sh
# Run every benchmark program of the build. Each prints its figure next to a peer measured in the
# same run, as a ratio.
set -eu
build="${1:-build}"
for b in "$build"/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b"
done
