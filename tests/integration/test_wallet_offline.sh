#!/bin/bash
# vouch-wallet without a server: what a first login does before it needs the network (the wallet
# directory, its own SoftHSM2 token, the phone key generated inside it), where the unlock PIN may
# come from and where not, a wrong PIN refused, an unreachable server reported as offline (exit 3)
# and a server that fails TLS not, and the offline commands with nothing held. Real peers:
# softhsm2-util and pkcs11-tool (OpenSC) look at the token; openssl s_server plays a server the
# wallet must not trust. With wallet_forge, the offline commands on held state: a valid credential
# exported byte for byte, and expired, not yet valid, foreign, tampered, truncated credentials and
# credentials of another phone or user refused, as well as revoked ones (token hash, phone key), a
# missing list (fail closed) and a list from another signer. The end-to-end test against vouchd is
# elsewhere.
# usage: test_wallet_offline.sh PATH/TO/vouch-wallet [PATH/TO/wallet_forge]
set -eu

wallet=${1:?usage: $0 PATH/TO/vouch-wallet [PATH/TO/wallet_forge]}
forge=${2:-}
module=/usr/lib/softhsm/libsofthsm2.so
passed=0
failed=0
skipped=0
server_pid=

ok() {
	echo "ok - $1"
	passed=$((passed + 1))
}

not_ok() {
	echo "not ok - $1"
	failed=$((failed + 1))
}

skip() {
	echo "ok - $1 # SKIP $2"
	skipped=$((skipped + 1))
}

cleanup() {
	local rc=$?
	set +e
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	if [ "${KEEP_WORK:-0}" = 1 ]; then
		echo "# work directory kept: $work"
	else
		rm -rf "$work"
	fi
	echo "# $passed passed, $failed failed, $skipped skipped"
	if [ "$failed" -ne 0 ] && [ "$rc" -eq 0 ]; then
		rc=1
	fi
	exit "$rc"
}

# expect_rc WANT WHAT COMMAND...: the command must exit with status WANT; its output is kept in
# $work/out for later checks.
expect_rc() {
	local want=$1 what=$2 rc=0
	shift 2
	"$@" >"$work/out" 2>&1 </dev/null || rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "$what (exit $rc)"
	else
		not_ok "$what (exit $rc, wanted $want)"
		sed 's/^/#   /' "$work/out" | head -n 20
	fi
}

# holds WHAT COMMAND...: the command (a test) must succeed.
holds() {
	local what=$1
	shift
	if "$@"; then
		ok "$what"
	else
		not_ok "$what"
	fi
}

# out_has WHAT PATTERN: the last command's output matches the extended regular expression.
out_has() {
	if grep -Eq -- "$2" "$work/out"; then
		ok "$1"
	else
		not_ok "$1 (no /$2/ in the output)"
		sed 's/^/#   /' "$work/out" | head -n 20
	fi
}

[ -x "$wallet" ] || {
	echo "FATAL: $wallet is not an executable"
	exit 1
}
for p in softhsm2-util openssl setsid; do
	command -v "$p" >/dev/null 2>&1 || {
		echo "FATAL: the $p command is missing"
		exit 1
	}
done
work=$(mktemp -d "${TMPDIR:-/tmp}/vouch-wallet-offline.XXXXXX") || exit 1
trap cleanup EXIT
trap 'exit 1' INT TERM
unset SOFTHSM2_CONF VOUCH_WALLET_PIN
umask 022

wdir=$work/wallet
# Distinctive secrets, so that finding them in the wallet's files would mean something.
pin='unlock-7319-Pin-qzx'
password='password-5521-Word-kvw'
printf '%s\n' "$pin" >"$work/pin"
printf 'wrong-pin-000\n' >"$work/badpin"
printf '%s\n' "$password" >"$work/password"
chmod 600 "$work/pin" "$work/badpin" "$work/password"

# A CA for --ca (the wallet only copies and parses it here) and an unreachable server: nothing
# listens on port 1 of the loopback address.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=test-root -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
offline=https://127.0.0.1:1
login=(login --server "$offline" --ca "$work/ca.pem" --user alice
	--password-file "$work/password" --totp 123456)

# ---- where the PIN comes from ----
expect_rc 0 "--help" "$wallet" --help
out_has "--help names the PIN file" "--pin-file FILE"
out_has "--help names the PIN environment variable" "VOUCH_WALLET_PIN"
out_has "--help says the PIN is never an argument" "never taken from an argument"
expect_rc 2 "no --pin option before the command" "$wallet" --wallet "$wdir" --pin "$pin" "${login[@]}"
expect_rc 2 "no --pin option after the command" "$wallet" --wallet "$wdir" "${login[@]}" --pin "$pin"
holds "a refused command line creates nothing" test ! -e "$wdir"
expect_rc 2 "no PIN source and no terminal: refused" setsid -w "$wallet" --wallet "$wdir" "${login[@]}"
out_has "the refusal names the PIN sources" "--pin-file FILE or set VOUCH_WALLET_PIN"
chmod 644 "$work/pin"
expect_rc 2 "a PIN file others may read is refused" "$wallet" --wallet "$wdir" --pin-file "$work/pin" "${login[@]}"
chmod 600 "$work/pin"
chmod 644 "$work/password"
expect_rc 2 "a password file others may read is refused" "$wallet" --wallet "$wdir" --pin-file "$work/pin" "${login[@]}"
chmod 600 "$work/password"
expect_rc 2 "a plain http:// server is refused" "$wallet" --wallet "$wdir" --pin-file "$work/pin" \
	login --server http://127.0.0.1:1 --ca "$work/ca.pem" --user alice \
	--password-file "$work/password" --totp 123456

# ---- the first login: wallet, token and key are made, then the server is unreachable ----
expect_rc 3 "first login against an unreachable server: offline" \
	"$wallet" --wallet "$wdir" --pin-file "$work/pin" "${login[@]}"
out_has "the offline message names the server" "offline: .*127\\.0\\.0\\.1:1"
holds "the wallet directory is 0700 (it is $(stat -c %a "$wdir"))" \
	test "$(stat -c %a "$wdir")" = 700
open=$(find "$wdir" -perm /077 | sed "s|^$wdir|WDIR|")
holds "nothing in the wallet is open to group or others${open:+: $open}" test -z "$open"
for f in so.pin softhsm2.conf wallet.json ca.pem; do
	holds "WDIR/$f written" test -f "$wdir/$f"
done
holds "the token store WDIR/tokens is 0700" test "$(stat -c %a "$wdir/tokens" 2>&1)" = 700
if SOFTHSM2_CONF=$wdir/softhsm2.conf softhsm2-util --show-slots 2>/dev/null |
	grep -Eq 'Label: +vouch-wallet'; then
	ok "softhsm2-util sees the token vouch-wallet in the wallet's own store"
else
	not_ok "softhsm2-util does not see the token vouch-wallet"
fi
leaks=$(grep -rlaF -e "$pin" -e "$password" "$wdir" || true)
holds "neither the PIN nor the password is in any file of the wallet${leaks:+: $leaks}" \
	test -z "$leaks"
leaks=$(grep -rlaE 'PRIVATE KEY' "$wdir" || true)
holds "no PEM private key in the wallet${leaks:+: $leaks}" test -z "$leaks"
if grep -Eq '"(password|pin|session|so_pin)"' "$wdir/wallet.json"; then
	not_ok "wallet.json holds a secret"
elif grep -q '"user": "alice"' "$wdir/wallet.json" &&
	grep -q '"server": "https://127.0.0.1:1"' "$wdir/wallet.json" &&
	grep -Eq '"thumbprint": "[0-9a-f]{64}"' "$wdir/wallet.json"; then
	ok "wallet.json: user, server and the phone key's thumbprint, no secret"
else
	not_ok "wallet.json: $(tr -d '\n' <"$wdir/wallet.json")"
fi

# The phone key as the token describes it, read by OpenSC's pkcs11-tool with the unlock PIN
# (given through its environment, not its arguments).
if command -v pkcs11-tool >/dev/null 2>&1; then
	SOFTHSM2_CONF=$wdir/softhsm2.conf P11PIN=$pin pkcs11-tool --module "$module" \
		--token-label vouch-wallet --login --pin env:P11PIN --list-objects --type privkey \
		>"$work/out" 2>&1 || true
	out_has "the token holds a private EC key labelled phone" "label: +phone"
	out_has "the phone key is sensitive and never extractable" \
		"Access: +sensitive, always sensitive, never extractable, local"
	SOFTHSM2_CONF=$wdir/softhsm2.conf P11PIN=$pin pkcs11-tool --module "$module" \
		--token-label vouch-wallet --login --pin env:P11PIN --list-objects \
		>"$work/out" 2>&1 || true
	holds "the token holds two objects" test "$(grep -c 'Object;' "$work/out")" = 2
	holds "one private and one public key: the phone key pair" \
		test "$(grep -c -e '^Private Key Object' -e '^Public Key Object' "$work/out")" = 2 -a \
		"$(grep -c '^Private Key Object' "$work/out")" = 1
	out_has "the phone key is P-256" "EC_PARAMS: +06082a8648ce3d030107"
	SOFTHSM2_CONF=$wdir/softhsm2.conf P11PIN=wrong-pin-000 pkcs11-tool --module "$module" \
		--token-label vouch-wallet --login --pin env:P11PIN --list-objects \
		>"$work/out" 2>&1 || true
	out_has "the token refuses a wrong PIN to pkcs11-tool as well" "CKR_PIN_INCORRECT"
else
	skip "the phone key's attributes" "pkcs11-tool (opensc) is not installed"
fi

# ---- unlocking an existing wallet ----
expect_rc 1 "a wrong unlock PIN (file) is refused" \
	"$wallet" --wallet "$wdir" --pin-file "$work/badpin" "${login[@]}"
out_has "the refusal says the PIN is wrong" "unlock PIN is wrong"
expect_rc 1 "a wrong unlock PIN (environment) is refused" \
	env VOUCH_WALLET_PIN=wrong-pin-000 "$wallet" --wallet "$wdir" "${login[@]}"
expect_rc 3 "the right PIN from the environment unlocks; then offline" \
	env VOUCH_WALLET_PIN="$pin" "$wallet" --wallet "$wdir" "${login[@]}"
expect_rc 2 "a PIN shorter than 4 characters is refused" \
	env VOUCH_WALLET_PIN=123 "$wallet" --wallet "$wdir" "${login[@]}"
expect_rc 2 "the wallet stays the first user's" \
	"$wallet" --wallet "$wdir" --pin-file "$work/pin" login --server "$offline" \
	--ca "$work/ca.pem" --user bob --password-file "$work/password" --totp 123456
expect_rc 2 "refresh before a phone is registered" "$wallet" --wallet "$wdir" --pin-file "$work/pin" refresh
SOFTHSM2_CONF=$wdir/softhsm2.conf P11PIN=$pin pkcs11-tool --module "$module" \
	--token-label vouch-wallet --login --pin env:P11PIN --list-objects >"$work/out" 2>&1 || true
holds "logging in again reuses the phone key (still one private key)" \
	test "$(grep -c '^Private Key Object' "$work/out")" = 1

# ---- a server that is there but not trusted is an error, not offline ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout "$work/srv.key" \
	-out "$work/srv.pem" 2>/dev/null
# A port another test may hold, or an s_server slow to start on a loaded machine, must not turn
# this check into a connection refusal: try fresh ports until one is seen listening.
port=
for _ in $(seq 10); do
	try=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
	openssl s_server -quiet -www -accept "127.0.0.1:$try" -cert "$work/srv.pem" \
		-key "$work/srv.key" >/dev/null 2>&1 </dev/null &
	server_pid=$!
	for _ in $(seq 100); do
		kill -0 "$server_pid" 2>/dev/null || break
		if (exec 3<>"/dev/tcp/127.0.0.1/$try") 2>/dev/null; then
			port=$try
			break
		fi
		sleep 0.1
	done
	[ -n "$port" ] && break
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
done
holds "openssl s_server listens as the untrusted server" test -n "$port"
expect_rc 2 "a server the CA file does not vouch for: a TLS error, not offline" \
	"$wallet" --wallet "$work/w2" --pin-file "$work/pin" login \
	--server "https://127.0.0.1:$port" --ca "$work/ca.pem" --user alice \
	--password-file "$work/password" --totp 123456
out_has "the TLS failure is named" "TLS with https://127\\.0\\.0\\.1:$port failed"

# ---- the offline commands with nothing held ----
expect_rc 1 "credential export with no credential" "$wallet" --wallet "$wdir" credential export
out_has "it says there is no credential" "holds no credential"
expect_rc 1 "credential show with no credential" "$wallet" --wallet "$wdir" credential show
expect_rc 1 "revocations export with no list" "$wallet" --wallet "$wdir" revocations export
expect_rc 0 "status" "$wallet" --wallet "$wdir" status
out_has "status shows the user and that no phone is registered" "phone +not registered"
expect_rc 2 "credential export from a wallet that does not exist" \
	"$wallet" --wallet "$work/none" credential export
expect_rc 2 "an unknown command" "$wallet" --wallet "$wdir" frobnicate

# ---- held state: what export and show accept and refuse ----
if [ -z "$forge" ]; then
	skip "credentials and lists on held state" "no wallet_forge given"
	exit 0
fi
fdir=$work/forge
hdir=$work/held
mkdir -m 700 "$fdir" "$hdir"
"$forge" "$fdir" || {
	not_ok "wallet_forge"
	exit 1
}
cp "$fdir/keys.json" "$fdir/wallet.json" "$hdir/"
cp "$work/ca.pem" "$hdir/ca.pem"
chmod 600 "$hdir"/*

# hold CREDENTIAL LIST: put them in the wallet ("-" for none).
hold() {
	rm -f "$hdir/credential.cwt" "$hdir/revocations.cbor"
	[ "$1" = - ] || cp "$1" "$hdir/credential.cwt"
	[ "$2" = - ] || cp "$2" "$hdir/revocations.cbor"
}

# show_field FIELD: the value of "FIELD" in the last output (credential show's JSON).
show_field() {
	sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$work/out"
}

hold "$fdir/cred-valid.cwt" -
expect_rc 1 "no revocation list held: export fails closed" "$wallet" --wallet "$hdir" credential export
out_has "it says no list is held" "no revocation list is held"

hold "$fdir/cred-valid.cwt" "$fdir/list-v1.cbor"
rc=0
"$wallet" --wallet "$hdir" credential export >"$work/exported" 2>"$work/out" || rc=$?
holds "a valid credential is exported (exit $rc)" test "$rc" = 0
holds "the export is the credential byte for byte" cmp -s "$work/exported" "$fdir/cred-valid.cwt"
expect_rc 0 "credential show" "$wallet" --wallet "$hdir" credential show
holds "show: status valid" test "$(show_field status)" = valid
holds "show: sub alice" test "$(show_field sub)" = alice
holds "show: phone alice.0000f00d" test "$(show_field phone)" = alice.0000f00d
holds "show: not revoked" test "$(show_field revoked)" = false
holds "show: list version 1" test "$(show_field revocations_version)" = 1
rc=0
"$wallet" --wallet "$hdir" revocations export >"$work/exported" 2>"$work/out" || rc=$?
holds "revocations export is the held list byte for byte (exit $rc)" \
	cmp -s "$work/exported" "$fdir/list-v1.cbor"
expect_rc 0 "status" "$wallet" --wallet "$hdir" status
out_has "status: valid, time left" "credential +valid, [0-9]+[hm] [0-9]+[ms] left"
out_has "status: list version 1" "revocations +version 1, 0 entries"

hold "$fdir/cred-expired.cwt" "$fdir/list-v1.cbor"
expect_rc 1 "an expired credential is not exported" "$wallet" --wallet "$hdir" credential export
out_has "it says it expired" "expired at"
expect_rc 0 "an expired credential is still shown" "$wallet" --wallet "$hdir" credential show
holds "show: status expired" test "$(show_field status)" = expired

hold "$fdir/cred-notyet.cwt" "$fdir/list-v1.cbor"
expect_rc 1 "a credential not yet valid is not exported" "$wallet" --wallet "$hdir" credential export

for c in otherphone otheruser foreign; do
	hold "$fdir/cred-$c.cwt" "$fdir/list-v1.cbor"
	expect_rc 1 "credential export refuses cred-$c" "$wallet" --wallet "$hdir" credential export
	expect_rc 1 "credential show refuses cred-$c" "$wallet" --wallet "$hdir" credential show
done

size=$(stat -c %s "$fdir/cred-valid.cwt")
cp "$fdir/cred-valid.cwt" "$work/tampered.cwt"
# One byte in the middle of the claims flipped.
printf '\x5a' | dd of="$work/tampered.cwt" bs=1 seek=$((size / 2)) conv=notrunc status=none
cmp -s "$work/tampered.cwt" "$fdir/cred-valid.cwt" && printf '\xa5' |
	dd of="$work/tampered.cwt" bs=1 seek=$((size / 2)) conv=notrunc status=none
hold "$work/tampered.cwt" "$fdir/list-v1.cbor"
expect_rc 1 "a tampered credential is refused" "$wallet" --wallet "$hdir" credential export
head -c $((size - 1)) "$fdir/cred-valid.cwt" >"$work/truncated.cwt"
hold "$work/truncated.cwt" "$fdir/list-v1.cbor"
expect_rc 1 "a truncated credential is refused" "$wallet" --wallet "$hdir" credential export

hold "$fdir/cred-valid.cwt" "$fdir/list-v2-token.cbor"
expect_rc 1 "a credential whose token hash is listed is not exported" \
	"$wallet" --wallet "$hdir" credential export
out_has "it says it is revoked by list version 2" "revoked by the held revocation list \\(version 2\\)"
expect_rc 0 "credential show" "$wallet" --wallet "$hdir" credential show
holds "show: status revoked" test "$(show_field status)" = revoked
holds "show: revoked true" test "$(show_field revoked)" = true
hold "$fdir/cred-valid.cwt" "$fdir/list-v3-phone.cbor"
expect_rc 1 "a credential whose phone key is listed is not exported" \
	"$wallet" --wallet "$hdir" credential export
expect_rc 0 "status with a revoked credential" "$wallet" --wallet "$hdir" status
out_has "status: revoked" "credential +revoked"

hold "$fdir/cred-valid.cwt" "$fdir/list-foreign.cbor"
expect_rc 1 "a list from another signer counts as no list" \
	"$wallet" --wallet "$hdir" credential export
expect_rc 2 "revocations export refuses a list from another signer" \
	"$wallet" --wallet "$hdir" revocations export
