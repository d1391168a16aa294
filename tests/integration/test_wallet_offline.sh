#!/bin/bash
# vouch-wallet without a server: what a first login does before it needs the network (the wallet
# directory, its own SoftHSM2 token, the phone key generated inside it), where the unlock PIN may
# come from and where not, a wrong PIN refused, an unreachable server reported as offline (exit 3)
# and a server that fails TLS not, and the offline commands with nothing held. Real peers:
# softhsm2-util and pkcs11-tool (OpenSC) look at the token; openssl s_server plays a server the
# wallet must not trust. The end-to-end test against vouchd is elsewhere.
# usage: test_wallet_offline.sh PATH/TO/vouch-wallet
set -eu

wallet=${1:?usage: $0 PATH/TO/vouch-wallet}
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
pin=unlock-7319-Pin-qzx
password=password-5521-Word-kvw
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
[ ! -e "$wdir" ] && ok "a refused command line creates nothing" ||
	not_ok "a refused command line created $wdir"
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
[ "$(stat -c %a "$wdir")" = 700 ] && ok "the wallet directory is 0700" ||
	not_ok "the wallet directory is $(stat -c %a "$wdir")"
open=$(find "$wdir" -perm /077 | sed "s|^$wdir|WDIR|")
[ -z "$open" ] && ok "nothing in the wallet is open to group or others" ||
	not_ok "open to group or others: $open"
for f in so.pin softhsm2.conf wallet.json ca.pem; do
	[ -f "$wdir/$f" ] && ok "WDIR/$f written" || not_ok "WDIR/$f missing"
done
[ -d "$wdir/tokens" ] && [ "$(stat -c %a "$wdir/tokens")" = 700 ] &&
	ok "the token store WDIR/tokens is 0700" || not_ok "no 0700 WDIR/tokens"
if SOFTHSM2_CONF=$wdir/softhsm2.conf softhsm2-util --show-slots 2>/dev/null |
	grep -Eq 'Label: +vouch-wallet'; then
	ok "softhsm2-util sees the token vouch-wallet in the wallet's own store"
else
	not_ok "softhsm2-util does not see the token vouch-wallet"
fi
leaks=$(grep -rlaF -e "$pin" -e "$password" "$wdir" || true)
[ -z "$leaks" ] && ok "neither the PIN nor the password is in any file of the wallet" ||
	not_ok "a secret is stored in $leaks"
leaks=$(grep -rlaE 'PRIVATE KEY' "$wdir" || true)
[ -z "$leaks" ] && ok "no PEM private key in the wallet" || not_ok "a private key in $leaks"
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
	[ "$(grep -c '^Private Key Object' "$work/out")" = 1 ] &&
		[ "$(grep -c '^Public Key Object' "$work/out")" = 1 ] &&
		ok "the token holds exactly the phone key pair" ||
		not_ok "unexpected objects: $(grep -c 'Object' "$work/out") objects"
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
[ "$(grep -c '^Private Key Object' "$work/out")" = 1 ] &&
	ok "logging in again reuses the phone key (still one key)" ||
	not_ok "the token now holds $(grep -c '^Private Key Object' "$work/out") private keys"

# ---- a server that is there but not trusted is an error, not offline ----
port=$((20000 + RANDOM % 40000))
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout "$work/srv.key" \
	-out "$work/srv.pem" 2>/dev/null
openssl s_server -quiet -www -accept "127.0.0.1:$port" -cert "$work/srv.pem" \
	-key "$work/srv.key" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
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
