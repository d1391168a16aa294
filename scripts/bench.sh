#!/bin/sh
# Run every benchmark program of the build. Each prints its figure next to a peer measured in the
# same run, as a ratio (docs/bench.md says how to read them). The known ones run first, in this
# order (raw issuance before the service benchmarks built on it), then any other bench_*.
# BENCH_QUICK=1 shortens those that support it to a smoke run (not figures to quote).
# BENCH=NAME runs only the programs whose name contains NAME (BENCH=sensor: bench_sensor,
# bench_sensor_openssl and the sensor's instruction counts and footprint, docs/bench-sensor.md).
set -eu
build="${1:-build}"
known="bench_cose bench_issue bench_est"
only="${BENCH:-}"
quick="${BENCH_QUICK:-0}"

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//') || true
echo "vouch benchmarks: $(nproc) cores (${cpu:-unknown CPU}), load average" \
	"$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) at the start"
if [ "$quick" != 0 ]; then
	echo "BENCH_QUICK: short rounds and a small batch: a smoke run, not figures to quote"
fi

# ---- the sensor (issue 5): instructions per decision and footprint ----

# Instructions per decision with callgrind: bench_sensor --once N runs the set-up and N
# decisions; only what runs inside the two handlers is collected (--toggle-collect), and the run
# with N is subtracted from the run with 2N, so one-time costs (the first log line, the first
# reading of the readings file) are not counted either. Inclusive costs per function come from
# callgrind_annotate.
sensor_instructions() {
	prog="$1"
	tmp="$2"
	if ! command -v valgrind >/dev/null 2>&1 || ! command -v callgrind_annotate >/dev/null 2>&1; then
		echo "  instructions: valgrind not installed (apt-get install valgrind): not measured"
		return 0
	fi
	if [ "$quick" != 0 ]; then n1=2; else n1=20; fi
	n2=$((2 * n1))
	for n in $n1 $n2; do
		if ! valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$n" \
			--toggle-collect=sensor_handle_authz_info --toggle-collect=sensor_handle_access \
			"$prog" --once "$n" >"$tmp/cg-log.$n" 2>&1; then
			cat "$tmp/cg-log.$n" >&2
			return 1
		fi
		callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$tmp/cg.$n" >"$tmp/cg-ann.$n" ||
			return 1
	done
	awk -v n1="$n1" -v n2="$n2" '
	# "  88,505,693 (66.03%)  ???:psa_verify_hash [/path/bench_sensor]"; "( 0.60%)" has a space
	FNR == 1 { file++ }
	$1 ~ /^[0-9,]+$/ && match($0, /%\) +/) {
		split(substr($0, RSTART + RLENGTH), w, " ")
		f = w[1]
		if (f !~ /:/)
			next
		sub(/^.*:/, "", f)
		v = $1
		gsub(/,/, "", v)
		# Some callgrind_annotate runs list every function twice (the same figure): the first
		# entry counts. Adding them doubled every figure once (checked against a manual
		# callgrind_annotate of the same --once runs: 26.9 M per decision, 1.5 % the rest).
		if ((file, f) in cost)
			next
		cost[file, f] = v
	}
	function per(f) { return (cost[2, f] - cost[1, f]) / (n2 - n1) }
	function has(f) { return ((2, f) in cost) && ((1, f) in cost) }
	function line(what, x, note) {
		printf "    %-52s %12.0f  %5.1f%%%s\n", what, x, 100 * x / total, note
	}
	END {
		authz = per("sensor_handle_authz_info")
		access = per("sensor_handle_access")
		total = authz + access
		if (total <= 0 || !has("psa_verify_hash") || !has("psa_sign_hash")) {
			print "  instructions: the handlers or the PSA ECDSA functions are not in the profile" > "/dev/stderr"
			exit 1
		}
		ver = per("psa_verify_hash")
		sig = per("psa_sign_hash")
		rest = total - ver - sig
		printf "  instructions per decision (callgrind; the two handlers only; runs of %d and %d decisions, difference / %d)\n", n1, n2, n2 - n1
		printf "    %-52s %12.0f  (authz-info %.0f + access %.0f)\n", "total", total, authz, access
		line("signature verification (psa_verify_hash)", ver, "")
		line("access event signature (psa_sign_hash)", sig, "")
		line("everything else, both ECDSA operations left out", rest,
		     sprintf("  target <= 15%%: %s", 100 * rest / total <= 15 ? "met" : "NOT MET"))
		line("everything else, the event signature counted in it", rest + sig,
		     sprintf("  target <= 15%%: %s", 100 * (rest + sig) / total <= 15 ? "met" : "NOT MET (it holds a 2nd ECDSA operation)"))
		# Where "everything else" goes (exported functions, inclusive; they do not nest).
		hash = (per("vouch_verify") - ver) + (per("vouch_sign") - sig)
		dec = per("vouch_cred_verify") - per("vouch_verify")
		rl = per("vouch_revlist_check")
		pol = per("vouch_policy_view_init") + per("vouch_policy_decide") + per("vouch_policy_explain")
		dur = per("sensor_state_save") + per("sensor_queue_append")
		lg = per("vouch_log")
		printf "    of everything else (both ECDSA left out): SHA-256 of the signed bytes %.0f, credential decoding and claims %.0f,\n", hash, dec
		printf "      revocation list %.0f, policy (view, decide, explain) %.0f, state + queue (user space) %.0f, logs %.0f, the rest %.0f\n", rl, pol, dur, lg, rest - hash - dec - rl - pol - dur - lg
	}' "$tmp/cg-ann.$n1" "$tmp/cg-ann.$n2"
}

# text, data and bss summed over objects: "TEXT DATA BSS COUNT"
size_sum() {
	sz="$1"
	shift
	[ $# -gt 0 ] || {
		echo "0 0 0 0"
		return 0
	}
	"$sz" "$@" | awk 'NR > 1 { t += $1; d += $2; b += $3; n++ } END { printf "%d %d %d %d\n", t, d, b, n }'
}

size_line() {
	# label TEXT DATA BSS COUNT
	printf "    %-44s text %7d  data %6d  bss %7d  (%d objects)\n" "$1" "$2" "$3" "$4" "$5"
}

# The objects of archive members or libvouch objects that exe links: those defining a global
# symbol that exe defines too (a static link takes whole objects).
linked_objects() {
	exe="$1"
	shift
	nm --defined-only "$exe" 2>/dev/null | awk '{ print $NF }' | sort -u >"$tmp/exe.syms"
	for o in "$@"; do
		if nm --defined-only -g "$o" 2>/dev/null | awk 'NF == 3 && $2 ~ /[TDBR]/ { print $3 }' |
			sort -u | comm -12 - "$tmp/exe.syms" | grep -q .; then
			echo "$o"
		fi
	done
}

# Footprint of one build directory (host objects). Prints the lines and leaves the list of the
# libvouch sources linked in $tmp/lib.srcs (for the Cortex-M4 compile).
sensor_footprint_host() {
	dir="$1"
	label="$2"
	exe="$dir/sensor/vouch-sensor"
	[ -x "$exe" ] || {
		echo "  footprint ($label): $exe not built"
		return 0
	}
	set -- "$dir"/sensor/CMakeFiles/vouch_sensor_core.dir/*.o
	core=$(size_sum size "$@")
	prog=$(size_sum size "$dir"/sensor/CMakeFiles/vouch_sensor.dir/main.c.o \
		"$dir"/sensor/CMakeFiles/vouch_sensor.dir/coap.c.o \
		"$dir"/sensor/CMakeFiles/vouch_sensor_psa.dir/se.c.o)
	libs=$(linked_objects "$exe" "$dir"/lib/CMakeFiles/vouch_core.dir/*.o)
	# shellcheck disable=SC2086
	lib=$(size_sum size $libs)
	port=$(size_sum size "$dir"/lib/CMakeFiles/vouch_psa.dir/*.o)
	echo "$libs" | sed -n 's|.*/\([a-z0-9_]*\)\.c\.o$|\1|p' | tr '\n' ' ' >"$tmp/lib.srcs"
	echo "  footprint, $label (x86-64; size: text = flash, data + bss = static RAM)"
	# shellcheck disable=SC2086
	size_line "the agent (vouch_sensor_core, 14 files)" $core
	# shellcheck disable=SC2086
	size_line "its program (main.c, coap.c, se.c)" $prog
	# shellcheck disable=SC2086
	size_line "libvouch linked ($(wc -w <"$tmp/lib.srcs") files)" $lib
	# shellcheck disable=SC2086
	size_line "crypto port on PSA (crypto_psa.c, psa_its.c)" $port
	echo "      libvouch files linked: $(cat "$tmp/lib.srcs")"
	# shellcheck disable=SC2086
	set -- $core $prog $lib $port
	echo "    own code, crypto library left out: agent + libvouch text $(($1 + $9)) B;" \
		"with the program and the port $(($1 + $5 + $9 + ${13})) B, data + bss $(($2 + $3 + $6 + $7 + ${10} + ${11} + ${14} + ${15})) B"
}

# Mbed TLS and libcbor as linked into the agent (host, for scale: the crypto library is not
# the agent's code).
sensor_footprint_deps() {
	exe="$build/sensor/vouch-sensor"
	[ -x "$exe" ] || return 0
	mkdir -p "$tmp/ar"
	for a in libmbedcrypto.a libmbedx509.a; do
		p=$(find /usr/lib /usr/local/lib -name "$a" 2>/dev/null | head -n1)
		[ -n "$p" ] || continue
		mkdir -p "$tmp/ar/$a"
		(cd "$tmp/ar/$a" && ar x "$p")
	done
	set -- "$tmp"/ar/*/*.o
	if [ -e "$1" ]; then
		objs=$(linked_objects "$exe" "$@")
		# shellcheck disable=SC2046,SC2086
		set -- $(size_sum size $objs)
		size_line "Mbed TLS linked (crypto + x509 members)" "$@"
	fi
	cbor=$(find /usr/lib -name 'libcbor.so*' -type f 2>/dev/null | head -n1)
	if [ -n "$cbor" ]; then
		used=$(nm -D --undefined-only "$exe" | awk '$2 ~ /^cbor_/ { print $2 }' | sort -u)
		bytes=$(nm -D -S --defined-only "$cbor" | awk -v used=" $(echo "$used" | tr '\n' ' ') " '
			function hex(s,  i, n) {
				for (i = 1; i <= length(s); i++)
					n = n * 16 + index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
				return n
			}
			NF == 4 && (index(used, " " $4 " ") || $4 ~ /^_cbor_(load|decode|encode)/) { n += hex($2) }
			END { print n + 0 }')
		echo "    libcbor (shared): the $(echo "$used" | wc -w) functions the agent calls and their helpers ≈ $bytes B of x86-64 code"
	fi
}

# The deepest chain of our own stack frames below each root (ROOTS) in gcc's -fcallgraph-info=su
# files (FILES): a static bound over every path, refusals and errors included. Frames of code
# compiled elsewhere (Mbed TLS, libcbor, libc) are not in the graph: they count 0.
# Prints "ROOT BYTES chain".
stack_bound() {
	roots_="$1"
	shift
	awk -v roots="$roots_" '
	# the deepest chain of frames below each root, memoised; a cycle counts once
	function depth(n,   i, d, best, bn) {
		if (n in memo)
			return memo[n]
		if (n in onstack) {
			cyc = cyc " " n
			return 0
		}
		onstack[n] = 1
		best = 0
		bn = ""
		for (i = 1; i <= nadj[n]; i++) {
			d = depth(adj[n, i])
			if (d > best) {
				best = d
				bn = adj[n, i]
			}
		}
		delete onstack[n]
		nxt[n] = bn
		memo[n] = frame[n] + best
		return memo[n]
	}
	/^node:/ {
		t = $0
		sub(/^.*title: "/, "", t)
		sub(/".*$/, "", t)
		if (match($0, /[0-9]+ bytes \(/)) {
			b = substr($0, RSTART)
			sub(/ .*$/, "", b)
			frame[t] = b + 0
			if ($0 ~ /bytes \(dynamic\)/)
				unbounded = unbounded " " t
		}
	}
	/^edge:/ {
		s = $0
		sub(/^.*sourcename: "/, "", s)
		sub(/".*$/, "", s)
		d = $0
		sub(/^.*targetname: "/, "", d)
		sub(/".*$/, "", d)
		adj[s, ++nadj[s]] = d
	}
	END {
		split(roots, r, " ")
		for (k = 1; k in r; k++) {
			total = depth(r[k])
			p = ""
			for (n = r[k]; n != ""; n = nxt[n]) {
				x = n
				sub(/^.*:/, "", x)
				if (n in frame)
					p = p (p == "" ? "" : " > ") x " " frame[n]
			}
			printf "%s %d %s\n", r[k], total, p
		}
		if (cyc != "")
			print "recursion (counted once):" cyc > "/dev/stderr"
		if (unbounded != "")
			print "unbounded frames:" unbounded > "/dev/stderr"
	}
	' "$@"
}

# The same sources for a Cortex-M4 (arm-none-eabi-gcc, newlib headers), linked with
# --gc-sections from the agent's functions that main.c and coap.c call: what a firmware would
# keep of them. Mbed TLS, libcbor and the C library are left unresolved (not counted). main.c and
# coap.c themselves are left out: they are the Linux program around the agent (sockets, libcoap,
# signals), which a firmware replaces.
sensor_footprint_m4() {
	if ! command -v arm-none-eabi-gcc >/dev/null 2>&1; then
		echo "  footprint, Cortex-M4: arm-none-eabi-gcc not installed" \
			"(apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi): not measured"
		return 0
	fi
	src=$(cd "$(dirname "$0")/.." && pwd)
	inc="$tmp/m4-inc"
	mkdir -p "$inc/sys"
	for h in cbor.h cbor mbedtls psa; do
		[ -e "/usr/include/$h" ] && ln -sfn "/usr/include/$h" "$inc/$h"
	done
	# newlib has no sys/uio.h; these objects are only measured, never run.
	printf '#include <stddef.h>\n#include <sys/types.h>\nstruct iovec { void *iov_base; size_t iov_len; };\nssize_t writev(int, const struct iovec *, int);\n' >"$inc/sys/uio.h"
	core="agent answer commission csr decide event info queue readings revocations session state util x509"
	# newlib gaps filled for a compile: 64-bit PRI macros, pthread types for Mbed TLS's
	# threading.h (Debian's config), NAME_MAX / PATH_MAX.
	flags="-std=gnu11 -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -ffunction-sections -fdata-sections
		-fcallgraph-info=su -D__int64_t_defined=1 -D_POSIX_THREADS -DNAME_MAX=255 -DPATH_MAX=4096
		-I$src/include -I$src/sensor -I$inc"
	roots=""
	for r in $(nm -u "$build"/sensor/CMakeFiles/vouch_sensor.dir/main.c.o \
		"$build"/sensor/CMakeFiles/vouch_sensor.dir/coap.c.o 2>/dev/null |
		awk 'NF == 2 && $2 ~ /^(sensor_|vouch_)/ { print $2 }' | sort -u); do
		roots="$roots -Wl,-u,$r"
	done
	for opt in Os O2; do
		out="$tmp/m4-$opt"
		mkdir -p "$out"
		failed_m4=""
		for f in $core; do
			# shellcheck disable=SC2086
			arm-none-eabi-gcc $flags -$opt -c "$src/sensor/$f.c" -o "$out/agent-$f.o" 2>>"$tmp/m4.err" ||
				failed_m4="$failed_m4 sensor/$f.c"
		done
		# shellcheck disable=SC2086
		arm-none-eabi-gcc $flags -$opt -DVOUCH_SENSOR_PSA -c "$src/sensor/se.c" -o "$out/agent-se.o" \
			2>>"$tmp/m4.err" || failed_m4="$failed_m4 sensor/se.c"
		# shellcheck disable=SC2013
		for f in $(cat "$tmp/lib.srcs"); do
			# shellcheck disable=SC2086
			arm-none-eabi-gcc $flags -$opt -c "$src/lib/$f.c" -o "$out/lib-$f.o" 2>>"$tmp/m4.err" ||
				failed_m4="$failed_m4 lib/$f.c"
		done
		for f in crypto_psa psa_its; do
			# shellcheck disable=SC2086
			arm-none-eabi-gcc $flags -$opt -c "$src/lib/$f.c" -o "$out/port-$f.o" 2>>"$tmp/m4.err" ||
				failed_m4="$failed_m4 lib/$f.c"
		done
		echo "  footprint, Cortex-M4 Thumb-2 -$opt (arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpversion);" \
			"linked with --gc-sections from what main.c and coap.c call)"
		[ -z "$failed_m4" ] || echo "    did not compile for the Cortex-M4 (left out):$failed_m4"
		# shellcheck disable=SC2086
		if ! arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -nostdlib -nostartfiles -Wl,--gc-sections \
			-Wl,--unresolved-symbols=ignore-all -Wl,-e,sensor_start $roots -Wl,-Map,"$out/m4.map" \
			"$out"/*.o -o "$out/m4.elf" 2>>"$tmp/m4.err"; then
			echo "    the link failed: $(tail -n1 "$tmp/m4.err")"
			continue
		fi
		# Input sections kept, by object group: "GROUP TEXT DATA BSS" (text = .text + .rodata).
		sed -n '/^Linker script and memory map/,$p' "$out/m4.map" | awk '
		function hex(s,  i, n) {
			for (i = 3; i <= length(s); i++)
				n = n * 16 + index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
			return n
		}
		/^ *\*/ { next }
		$NF ~ /\.o$/ && $(NF - 1) ~ /^0x/ && $(NF - 2) ~ /^0x/ {
			sec = NF >= 4 ? $1 : last
			g = $NF
			sub(/^.*\//, "", g)
			sub(/-.*$/, "", g)
			c = sec ~ /^\.(bss|COMMON)/ ? 3 : sec ~ /^\.data/ ? 2 : sec ~ /^\.(text|rodata)/ ? 1 : 0
			if (c > 0)
				v[g, c] += hex($(NF - 1))
			next
		}
		NF == 1 { last = $1 }
		END {
			for (i = 1; i <= 3; i++) {
				split("agent lib port", gs, " ")
				printf "%s %d %d %d\n", gs[i], v[gs[i], 1], v[gs[i], 2], v[gs[i], 3]
			}
		}' >"$out/groups"
		# shellcheck disable=SC2046
		set -- $(awk '{ printf "%s %s %s ", $2, $3, $4 }' "$out/groups")
		printf "    %-44s text %7d  data %6d  bss %7d\n" "the agent (core + se.c)" "$1" "$2" "$3"
		printf "    %-44s text %7d  data %6d  bss %7d\n" "libvouch (the files listed above)" "$4" "$5" "$6"
		printf "    %-44s text %7d  data %6d  bss %7d\n" "crypto port on PSA" "$7" "$8" "$9"
		# shellcheck disable=SC2046,SC2086
		before=$(size_sum arm-none-eabi-size $(ls "$out"/*.o))
		echo "    own code, crypto library, libcbor and libc left out: text $(($1 + $4 + $7)) B" \
			"(agent + libvouch: $(($1 + $4)) B; objects before the link: ${before%% *} B)"
		echo "    | uoscore-uedhoc publishes 41,156 B flash for EDHOC + OSCORE with tinycrypt and" \
			"zcbor included (nRF52840, Cortex-M4; not measured here)"
		stack_bound "sensor_handle_authz_info sensor_handle_access" "$out"/*.ci 2>>"$tmp/m4.err" |
			while read -r root bytes chain; do
				echo "    stack bound, own frames only (static, worst path incl. refusals): $root $bytes B"
				echo "      $chain"
			done
	done
}

# "TYPE: FLAGS" of a CMake build directory (RelWithDebInfo: -O2 -g -DNDEBUG).
build_flags() {
	t=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$1/CMakeCache.txt" 2>/dev/null)
	t=${t:-RelWithDebInfo} # the top CMakeLists.txt's default, not written to the cache
	u=$(echo "$t" | tr '[:lower:]' '[:upper:]')
	echo "${t:-no type}: $(sed -n "s/^CMAKE_C_FLAGS_$u:STRING=//p" "$1/CMakeCache.txt" 2>/dev/null)"
}

sensor_profile() {
	prog="$1"
	tmp=$(mktemp -d /tmp/vouch-bench-sensor-profile-XXXXXX)
	rc=0
	echo "== bench_sensor: instructions (valgrind) and footprint"
	sensor_instructions "$prog" "$tmp" || rc=1
	sensor_footprint_host "$build" "this build ($(build_flags "$build"))" || rc=1
	[ ! -f "$tmp/lib.srcs" ] || cp "$tmp/lib.srcs" "$tmp/lib.srcs.main"
	sensor_footprint_deps || rc=1
	# The same agent built -Os (MinSizeRel) in a build directory of its own inside this one.
	os="$build/bench/sensor-Os"
	src=$(cd "$(dirname "$0")/.." && pwd)
	if { [ -f "$os/build.ninja" ] || cmake -S "$src" -B "$os" -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel \
		>"$tmp/os-cmake.log" 2>&1; } && cmake --build "$os" --target vouch_sensor >"$tmp/os-build.log" 2>&1; then
		sensor_footprint_host "$os" "$os ($(build_flags "$os"))" || rc=1
	else
		echo "  footprint -Os: the MinSizeRel build failed (see $os)"
		rc=1
	fi
	[ -f "$tmp/lib.srcs.main" ] && cp "$tmp/lib.srcs.main" "$tmp/lib.srcs"
	sensor_footprint_m4 || rc=1
	rm -rf "$tmp"
	return $rc
}

failed=""
run() {
	[ -x "$1" ] || return 0
	case "$(basename "$1")" in
	*"$only"*) ;;
	*) return 0 ;;
	esac
	echo "== $(basename "$1")"
	"$1" || failed="$failed $(basename "$1")"
	if [ "$(basename "$1")" = bench_sensor ]; then
		sensor_profile "$1" || failed="$failed sensor_profile"
	fi
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
