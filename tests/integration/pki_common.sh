# Shared by the test_pki_*.sh integration tests (bash; sourced, not run): a temporary site made
# by `vouchd init`, vouchd started in the background and stopped at exit, and check helpers.
#
# The sourcing script sets: vouchd, vouch (paths of the programs) before calling pki_setup.
# After pki_setup and pki_start: $work (temp dir, removed at exit), $site (the data dir),
# $https (https://HOST:PORT), $http (http://HOST:PORT), $log (vouchd's stderr), $vouchd_pid.

# shellcheck disable=SC2154 # vouchd and vouch are set by the sourcing test
passed=0
failed=0
vouchd_pid=
http_port=

ok() {
	echo "ok - $1"
	passed=$((passed + 1))
}

not_ok() {
	echo "not ok - $1"
	failed=$((failed + 1))
}

# fatal MESSAGE: a step the rest of the test depends on failed; show vouchd's log tail and stop.
fatal() {
	echo "FATAL: $1"
	if [ -n "${log:-}" ] && [ -f "$log" ]; then
		echo "# last lines of vouchd's log:"
		tail -n 15 "$log" | sed 's/^/#   /'
	fi
	failed=$((failed + 1))
	exit 1
}

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
	local what=$1
	shift
	if "$@" >"$work/check.out" 2>&1; then
		ok "$what"
	else
		not_ok "$what (exit $?)"
		sed 's/^/#   /' "$work/check.out" | head -n 20
	fi
}

# check_fails DESCRIPTION COMMAND...: the command must fail.
check_fails() {
	local what=$1
	shift
	if "$@" >"$work/check.out" 2>&1; then
		not_ok "$what (it succeeded)"
		sed 's/^/#   /' "$work/check.out" | head -n 20
	else
		ok "$what"
	fi
}

# check_eq DESCRIPTION GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1 (got '$2', wanted '$3')"
	fi
}

pki_cleanup() {
	local rc=$?
	# Everything below is best effort: a failing kill must not cut the cleanup short.
	set +e
	# The test's own background jobs (clients, slow peers), by their ids.
	for p in $(jobs -p); do
		[ "$p" = "$vouchd_pid" ] || kill "$p" 2>/dev/null
	done
	if [ -n "$vouchd_pid" ] && kill -0 "$vouchd_pid" 2>/dev/null; then
		kill -TERM "$vouchd_pid" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$vouchd_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$vouchd_pid" 2>/dev/null
		wait "$vouchd_pid" 2>/dev/null || true
	fi
	if [ "${KEEP_WORK:-0}" = 1 ]; then
		echo "# work directory kept: $work"
	else
		rm -rf "$work"
	fi
	echo "# $passed passed, $failed failed"
	if [ "$failed" -ne 0 ] && [ "$rc" -eq 0 ]; then
		rc=1
	fi
	exit "$rc"
}

# pki_setup NAME: temp dir, the programs checked, a fresh site with its own SoftHSM2 store.
pki_setup() {
	local name=$1
	for p in "$vouchd" "$vouch"; do
		[ -x "$p" ] || {
			echo "FATAL: $p is not an executable"
			exit 1
		}
	done
	for p in openssl curl base64; do
		command -v "$p" >/dev/null 2>&1 || {
			echo "FATAL: the $p command is missing"
			exit 1
		}
	done
	work=$(mktemp -d "${TMPDIR:-/tmp}/vouch-$name.XXXXXX") || exit 1
	trap pki_cleanup EXIT
	trap 'exit 1' INT TERM
	site=$work/site
	log=$work/vouchd.log
	: >"$log"
	# Only the site's own SoftHSM2 configuration may be used: vouchd init writes it.
	unset SOFTHSM2_CONF
	# The HTTP port is written into certificates (CRL, OCSP, CA issuers URLs): fixed at init.
	http_port=$(free_port) || fatal "no free TCP port"
	"$vouchd" init --data "$site" --site "test-$name" --hostname localhost \
		--hostname 127.0.0.1 --listen 127.0.0.1:0 --http-listen "127.0.0.1:$http_port" \
		--public-http-url "http://127.0.0.1:$http_port" >"$work/init.out" 2>&1 ||
		{
			sed 's/^/#   /' "$work/init.out"
			fatal "vouchd init --data $site"
		}
	[ -f "$site/vouchd.conf" ] && [ -f "$site/ca/chain.pem" ] && [ -f "$site/admin/admin.pem" ] ||
		fatal "vouchd init did not write vouchd.conf, ca/chain.pem and admin/admin.pem"
	# chain.pem is issuing + root: split it for openssl verify.
	awk -v dir="$work" '/BEGIN CERT/ { n++ } { print > (dir "/chain" n ".pem") }' \
		"$site/ca/chain.pem"
	cp "$site/ca/root.pem" "$work/root.pem"
	cp "$site/ca/issuing.pem" "$work/issuing.pem"
}

# A TCP port nobody listens on now (the HTTP listener's port is written into certificates as
# public_http_url, so it cannot be 0).
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

# A UDP port nobody uses now (a sensor's CoAP listener).
udp_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! ss -Huan | awk '{ print $4 }' | grep -q ":$p\$"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# totp URIFILE [OFFSET]: oathtool's code for the otpauth URI's secret (OFFSET seconds from now).
totp() {
	local secret
	secret=$(sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' "$1")
	oathtool --totp -b "$secret" -N "@$(($(date +%s) + ${2:-0}))"
}

# set_conf KEY VALUE: replace (or add) a key of the site's vouchd.conf.
set_conf() {
	if grep -q "^$1 *=" "$site/vouchd.conf"; then
		sed -i "s|^$1 *=.*|$1 = $2|" "$site/vouchd.conf"
	else
		echo "$1 = $2" >>"$site/vouchd.conf"
	fi
}

# pki_start: run vouchd in the background (HTTPS on a port of the kernel's choice, plain HTTP on the
# free port chosen at init, which is also the public URL) and wait for DIR/vouchd.addr. Should
# somebody have taken that port meanwhile, another one goes into the config.
pki_start() {
	local tries=0
	while :; do
		if [ -z "$http_port" ]; then
			http_port=$(free_port) || fatal "no free TCP port"
			set_conf http_listen "127.0.0.1:$http_port"
			set_conf public_http_url "http://127.0.0.1:$http_port"
		fi
		rm -f "$site/vouchd.addr"
		echo "# starting vouchd" >>"$log"
		# pki_https_listen: where a restarted vouchd listens (the wallets keep its URL).
		"$vouchd" --data "$site" --listen "${pki_https_listen:-127.0.0.1:0}" 2>>"$log" &
		vouchd_pid=$!
		for _ in $(seq 300); do
			[ -s "$site/vouchd.addr" ] && grep -q '^http://' "$site/vouchd.addr" && break
			kill -0 "$vouchd_pid" 2>/dev/null || break
			sleep 0.1
		done
		if [ -s "$site/vouchd.addr" ] && kill -0 "$vouchd_pid" 2>/dev/null; then
			break
		fi
		wait "$vouchd_pid" 2>/dev/null || true
		vouchd_pid=
		tries=$((tries + 1))
		# Somebody may have taken the HTTP port meanwhile: try another one, twice.
		if [ "$tries" -ge 3 ] || ! grep -qi "address\|bind\|in use" "$log"; then
			fatal "vouchd did not start (no $site/vouchd.addr)"
		fi
		http_port=
	done
	https=$(grep -m1 '^https://' "$site/vouchd.addr")
	http=$(grep -m1 '^http://' "$site/vouchd.addr")
	[ -n "$https" ] && [ -n "$http" ] || fatal "vouchd.addr lacks an https or http line"
	est=$https/.well-known/est
}

# pki_kill SIGNAL: stop vouchd and wait for it.
pki_kill() {
	kill "-$1" "$vouchd_pid" 2>/dev/null
	wait "$vouchd_pid" 2>/dev/null || true
	vouchd_pid=
}

# pki_stop: SIGTERM must stop vouchd cleanly (exit status 0) within 10 s.
pki_stop() {
	local rc=0
	kill -TERM "$vouchd_pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$vouchd_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$vouchd_pid" 2>/dev/null; then
		not_ok "vouchd did not stop within 10 s of SIGTERM"
		pki_kill KILL
		return
	fi
	wait "$vouchd_pid" 2>/dev/null || rc=$?
	vouchd_pid=
	check_eq "SIGTERM stops vouchd cleanly (exit status)" "$rc" 0
	if grep -q 'Sanitizer\|runtime error' "$log"; then
		not_ok "vouchd's log has sanitizer reports"
		grep -A5 'Sanitizer\|runtime error' "$log" | head -n 20 | sed 's/^/#   /'
	fi
}

# vouchd_up: the daemon still runs and answers a cacerts request.
vouchd_up() {
	kill -0 "$vouchd_pid" 2>/dev/null &&
		[ "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$site/ca/chain.pem" \
			"$est/cacerts")" = 200 ]
}

# new_csr DIR NAME [SUBJECT]: a P-256 key DIR/NAME.key and a CSR DIR/NAME.csr (DER) and
# DIR/NAME.b64 (base64, as EST sends it).
new_csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/$2.key" \
		-subj "${3:-/CN=$2}" -outform DER -out "$1/$2.csr" 2>/dev/null &&
		base64 "$1/$2.csr" >"$1/$2.b64"
}

# csr_for_key DIR NAME KEYFILE [SUBJECT]: a CSR for an existing key.
csr_for_key() {
	openssl req -new -key "$3" -subj "${4:-/CN=$2}" -outform DER -out "$1/$2.csr" 2>/dev/null &&
		base64 "$1/$2.csr" >"$1/$2.b64"
}

# token DEVICE [ARGS...]: a fresh enrolment token from the admin CLI.
token() {
	local dev=$1
	shift
	"$vouch" --data "$site" enrol-token create --device "$dev" "$@"
}

# est_post PATH BODYFILE OUT [CURL ARGS...]: POST a base64 PKCS#10 to an EST path; prints the
# HTTP status ("000" when no HTTP reply came back).
est_post() {
	local path=$1 body=$2 out=$3
	shift 3
	curl -sS -o "$out" -w '%{http_code}' --max-time 30 --cacert "$site/ca/chain.pem" \
		-H 'Content-Type: application/pkcs10' --data-binary "@$body" "$@" "$est/$path" \
		2>"$out.err" || true
}

# unwrap B64FILE PEMFILE: an EST certs-only reply to PEM certificates.
unwrap() {
	base64 -d "$1" >"$1.der" && openssl pkcs7 -inform DER -in "$1.der" -print_certs -out "$2" \
		2>/dev/null && grep -q 'BEGIN CERTIFICATE' "$2"
}

# serial_of PEM: the serial as `openssl x509 -serial` prints it (the store's canonical form).
serial_of() {
	openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'
}

# log_lines: how many lines vouchd's log has now.
log_lines() {
	wc -l <"$log"
}
