#!/bin/sh
# Run one libFuzzer target over a copy of its committed seed corpus:
#   fuzz/run.sh TARGET_BINARY CORPUS_DIR
# for $FUZZ_SECONDS seconds (default 60). New inputs go to a temporary work corpus, never into
# the committed seeds. Exits non-zero on any finding (crash, leak, timeout, out-of-memory, a
# broken FUZZ_CHECK); the reproducer is kept in $FUZZ_ARTIFACTS (default: the current directory).
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 TARGET_BINARY CORPUS_DIR" >&2
	exit 2
fi
bin=$1
seeds=$2
seconds=${FUZZ_SECONDS:-60}
name=$(basename "$bin")
artifacts=${FUZZ_ARTIFACTS:-$(pwd)}

[ -x "$bin" ] || { echo "$0: $bin is not executable" >&2; exit 2; }
[ -d "$seeds" ] || { echo "$0: $seeds is not a directory" >&2; exit 2; }
mkdir -p "$artifacts"

work=$(mktemp -d "${TMPDIR:-/tmp}/vouch-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/corpus"
cp -R "$seeds"/. "$work/corpus/"

echo "$name: ${seconds}s over $(ls "$work/corpus" | wc -l) seeds from $seeds"
rc=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$artifacts/$name-" "$work/corpus" || rc=$?

if [ "$rc" -ne 0 ]; then
	echo "$name: FINDING (exit $rc); reproducer: $(ls "$artifacts/$name-"* 2>/dev/null || echo none)" >&2
	exit 1
fi
echo "$name: no finding in ${seconds}s"
