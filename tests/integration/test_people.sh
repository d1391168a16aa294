#!/bin/bash
# Issue 4 end to end with real peers: the plant's policy is loaded, people are created with
# `vouch user add`, their second factor comes from `oathtool --totp` (the otpauth:// URI vouchd
# showed once), they log in with curl and with the wallet, whose credential is checked by an
# independent decoder (tests/integration/cred_check.py: python3-cbor2 + python3-cryptography, no
# libvouch), and revocation (one credential, a role change, a person) reaches the wallet and the
# signed revocation list at once. Refusals: wrong password or code, replayed code, unknown user,
# lockout, sessions of non-admins, bad bodies; `policy explain` around the DST changes.
# usage: test_people.sh PATH/TO/vouchd PATH/TO/vouch PATH/TO/vouch-wallet
set -eu

vouchd=${1:?usage: $0 PATH/TO/vouchd PATH/TO/vouch PATH/TO/vouch-wallet}
vouch=${2:?usage: $0 PATH/TO/vouchd PATH/TO/vouch PATH/TO/vouch-wallet}
wallet=${3:?usage: $0 PATH/TO/vouchd PATH/TO/vouch PATH/TO/vouch-wallet}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=pki_common.sh
. "$here/pki_common.sh"

# Debian's python3 (with python3-cbor2), not whatever python3 comes first on PATH.
py=/usr/bin/python3
check_py=$here/cred_check.py
command -v oathtool >/dev/null || {
	echo "FATAL: oathtool is missing (apt-get install oathtool)"
	exit 1
}
$py -c 'import cbor2, cryptography' 2>/dev/null || {
	echo "FATAL: python3-cbor2 / python3-cryptography are missing"
	exit 1
}

pki_setup people
set_conf timezone Europe/Berlin
pki_start
w=$work
chain=$site/ca/chain.pem
V() { "$vouch" --data "$site" "$@"; }
export VOUCH_WALLET_PIN=unlock-4711
echo "# vouchd: $https $http"

# login USER PWFILE CODE OUT: POST /api/v1/auth/login with curl; prints the HTTP status.
login() {
	local body
	body=$($py -c 'import json,sys; print(json.dumps({"user": sys.argv[1],
		"password": open(sys.argv[2]).read().rstrip("\n"), "totp": sys.argv[3]}))' "$1" "$2" "$3")
	curl -sS -o "$4" -D "$4.hdr" -w '%{http_code}' --max-time 30 --cacert "$chain" \
		-H 'Content-Type: application/json' --data-binary @- "$https/api/v1/auth/login" \
		<<<"$body" 2>"$4.err" || true
}

# api_bearer SESSION METHOD PATH [BODY]: an API call with a session; prints the HTTP status.
api_bearer() {
	curl -sS -o "$w/bearer.out" -w '%{http_code}' --max-time 30 --cacert "$chain" \
		-H "Authorization: Bearer $1" -H 'Content-Type: application/json' -X "$2" \
		${4:+--data-binary "$4"} "$https/api/v1$3" 2>/dev/null || true
}

json_get() { $py -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[k]
print(d)' "$@"; }

# ---- the plant's policy --------------------------------------------------------------------
check "vouch policy load examples/plant-policy/policy.json" \
	V policy load "$root/examples/plant-policy/policy.json"
V role list >"$w/roles.txt" 2>&1 || true
for r in plant-manager cfo operator service quality auditor cleaning site-admin; do
	grep -q "^$r " "$w/roles.txt" && ok "role $r installed" || not_ok "role $r installed"
done

# ---- the issuer's public key, published ------------------------------------------------------
curl -sS --cacert "$chain" "$https/keys" >"$w/keys.json" || fatal "GET /keys"
site_id=$(json_get "$w/keys.json" site)
iss=$(json_get "$w/keys.json" iss)
check_eq "iss is vouch:<site id>" "$iss" "vouch:$site_id"
V issuer-key >"$w/issuer.pem" || fatal "vouch issuer-key"
check "vouch issuer-key prints a P-256 public key openssl reads" \
	openssl pkey -pubin -in "$w/issuer.pem" -noout
check_eq "issuer-key equals the /keys PEM" "$(cat "$w/issuer.pem")" \
	"$(json_get "$w/keys.json" issuer pem | sed '/^$/d')"
V issuer-key --revlist >"$w/revlist.pem" || fatal "vouch issuer-key --revlist"
V issuer-key --cose >"$w/issuer.cose" || fatal "vouch issuer-key --cose"
check "issuer-key --cose is a COSE_Key (EC2, P-256) cbor2 decodes" $py -c '
import cbor2,sys; k=cbor2.loads(open(sys.argv[1],"rb").read()); assert k[1]==2 and k[-1]==1' \
	"$w/issuer.cose"

# ---- people ----------------------------------------------------------------------------------
printf 'correct horse battery staple\n' >"$w/alice.pw"
printf 'tr0ub4dor&3 is not enough\n' >"$w/bob.pw"
printf 'admin password of carol\n' >"$w/carol.pw"
chmod 600 "$w"/*.pw
V user add alice --role operator --password-file "$w/alice.pw" \
	--training machine-safety=2030-01-01T00:00:00Z >"$w/alice.uri" 2>"$w/alice.err" ||
	fatal "vouch user add alice"
check_eq "user add prints one line" "$(wc -l <"$w/alice.uri")" 1
if grep -Eq '^otpauth://totp/[^?]+:alice\?secret=[A-Z2-7]{32}&issuer=[^&]+&algorithm=SHA1&digits=6&period=30$' \
	"$w/alice.uri"; then
	ok "user add prints an otpauth:// URI (32 base32 characters: 160 bits)"
else
	not_ok "otpauth URI: $(sed 's/secret=[A-Z2-7]*/secret=.../' "$w/alice.uri")"
fi
V user add bob --role quality --password-file "$w/bob.pw" >"$w/bob.uri" || fatal "user add bob"
V user add carol --role site-admin --password-file "$w/carol.pw" >"$w/carol.uri" ||
	fatal "user add carol"
check_fails "a second alice is refused" \
	V user add alice --role operator --password-file "$w/alice.pw"
check_fails "an unknown role is refused" \
	V user add dave --role astronaut --password-file "$w/alice.pw"
printf 'short\n' >"$w/short.pw"
chmod 600 "$w/short.pw"
check_fails "a password under 12 characters is refused" \
	V user add dave --role operator --password-file "$w/short.pw"

# ---- login: TOTP from oathtool, refusals that do not tell who exists -------------------------
r=$(login alice "$w/alice.pw" "$(totp "$w/alice.uri")" "$w/l1.json")
check_eq "login with password + oathtool code: 200" "$r" 200
session=$(json_get "$w/l1.json" session 2>/dev/null || true)
[ -n "$session" ] && ok "login returns a session" || not_ok "login returns a session"
r=$(login alice "$w/alice.pw" "$(totp "$w/alice.uri")" "$w/l2.json")
check_eq "the same code again (replay): 401" "$r" 401
code=$(totp "$w/alice.uri")
wrong=$(printf '%06d' $(((10#$code + 1) % 1000000)))
r=$(login alice "$w/alice.pw" "$wrong" "$w/l3.json")
check_eq "a wrong code: 401" "$r" 401
r=$(login alice "$w/bob.pw" "$(totp "$w/alice.uri" 30)" "$w/l4.json")
check_eq "a wrong password: 401" "$r" 401
r=$(login nobody "$w/alice.pw" "123456" "$w/l5.json")
check_eq "an unknown user: 401" "$r" 401
check_eq "unknown user and wrong password get the same body" "$(cat "$w/l5.json")" \
	"$(cat "$w/l4.json")"
r=$(login alice "$w/alice.pw" "12345" "$w/l6.json")
check_eq "a 5-digit code: 401" "$r" 401
r=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$chain" -H 'Content-Type: application/json' \
	--data-binary 'not json' "$https/api/v1/auth/login" || true)
check_eq "login with a non-JSON body: 400" "$r" 400
r=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$chain" -H 'Content-Type: application/json' \
	--data-binary '{"user":"alice"}' "$https/api/v1/auth/login" || true)
check_eq "login without password and code: 400" "$r" 400

# Lockout: bob fails 5 times, then even the right password and code are refused for a while; a
# name that does not exist is locked the same way.
for _ in 1 2 3 4 5; do login bob "$w/alice.pw" 000000 "$w/lb.json" >/dev/null; done
r=$(login bob "$w/bob.pw" "$(totp "$w/bob.uri")" "$w/lb6.json")
check_eq "after 5 failures bob is locked out (429) even with the right secrets" "$r" 429
grep -qi '^retry-after: *[0-9]' "$w/lb6.json.hdr" && ok "429 says Retry-After" ||
	not_ok "429 says Retry-After"
for _ in 1 2 3 4 5; do login ghost "$w/alice.pw" 000000 "$w/lg.json" >/dev/null; done
r=$(login ghost "$w/alice.pw" 000000 "$w/lg6.json")
check_eq "an unknown name is locked out the same way (429)" "$r" 429

# ---- sessions: admins are users with an admin role -------------------------------------------
r=$(login carol "$w/carol.pw" "$(totp "$w/carol.uri" -60)" "$w/lc0.json")
check_eq "a code two steps old (60 s) is refused: 401" "$r" 401
r=$(login carol "$w/carol.pw" "$(totp "$w/carol.uri")" "$w/lc.json")
check_eq "carol (site-admin) logs in" "$r" 200
csession=$(json_get "$w/lc.json" session)
check_eq "carol's login says admin" "$(json_get "$w/lc.json" admin)" True
r=$(api_bearer "$csession" GET /users)
check_eq "carol's session reads the users (no admin certificate)" "$r" 200
r=$(api_bearer "$session" GET /users)
check_eq "alice's session is refused the admin API (403)" "$r" 403
r=$(api_bearer "not-a-session" GET /users)
check_eq "an unknown session: 401" "$r" 401
r=$(api_bearer "$csession" POST /users \
	'{"name":"frank","password":"frank password 1","roles":["cleaning"],"kind":"external","external":{"company":"CleanCo","sponsor":"alice","valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-01-02T00:00:00Z"}}')
check_eq "carol creates an external cleaner with a sponsor and window (201)" "$r" 201
grep -q '"actor":"user:carol"\|user:carol' <(V events --limit 1000) &&
	ok "carol's change is recorded as user:carol" || not_ok "carol's change is recorded as user:carol"
printf 'frank password 1\n' >"$w/frank.pw"
json_get "$w/bearer.out" otpauth >"$w/frank.uri"
r=$(login frank "$w/frank.pw" "$(totp "$w/frank.uri")" "$w/lf.json")
check_eq "an external outside their window cannot log in (401)" "$r" 401

check "vouch user remove frank (revokes everything of theirs, then deletes)" V user remove frank
check_fails "frank is gone" V user show frank
V events --limit 100000 | grep -q ' user.delete ' && ok "event user.delete recorded" ||
	not_ok "event user.delete recorded"

# ---- the wallet ------------------------------------------------------------------------------
"$wallet" --wallet "$w/phone" login --server "$https" --ca "$chain" --user alice \
	--password-file "$w/alice.pw" --totp "$(totp "$w/alice.uri" 30)" >"$w/wl.out" 2>&1 ||
	{
		sed 's/^/#   /' "$w/wl.out"
		fatal "vouch-wallet login"
	}
ok "vouch-wallet login (password + code, key made in its token, phone registered)"
check "wallet credential export" sh -c "'$wallet' --wallet '$w/phone' credential export >'$w/c1.cwt'"
check "cred_check.py (independent decoder) accepts the credential" \
	$py "$check_py" cred "$w/c1.cwt" --issuer-pem "$w/issuer.pem" --iss "$iss" \
	--aud "$site_id" --now "$(date +%s)"
$py "$check_py" cred "$w/c1.cwt" --issuer-pem "$w/issuer.pem" --iss "$iss" --aud "$site_id" \
	--now "$(date +%s)" >"$w/c1.json" 2>/dev/null || true
check_eq "credential sub" "$(json_get "$w/c1.json" sub)" alice
lifetime=$(($(json_get "$w/c1.json" exp) - $(json_get "$w/c1.json" iat)))
check_eq "credential lifetime is 8 h" "$lifetime" 28800
phone=$(json_get "$w/c1.json" phone)
V phone list --json >"$w/phones.json"
check_eq "cnf is the registered phone key (RFC 9679 thumbprint)" \
	"$(json_get "$w/c1.json" cnf_thumbprint)" \
	"$($py -c 'import json,sys; print([p["object"]["thumbprint"] for p in json.load(open(sys.argv[1]))["items"] if p["name"]==sys.argv[2]][0])' "$w/phones.json" "$phone")"
check_fails "cred_check.py refuses it for another audience" \
	$py "$check_py" cred "$w/c1.cwt" --issuer-pem "$w/issuer.pem" --iss "$iss" --aud other \
	--now "$(date +%s)"
check_fails "cred_check.py refuses it 9 h later" \
	$py "$check_py" cred "$w/c1.cwt" --issuer-pem "$w/issuer.pem" --iss "$iss" \
	--aud "$site_id" --now "$(($(date +%s) + 32400))"
check_fails "cred_check.py refuses it with the revocation-list key" \
	$py "$check_py" cred "$w/c1.cwt" --issuer-pem "$w/revlist.pem" --iss "$iss" \
	--aud "$site_id" --now "$(date +%s)"
cp "$w/c1.cwt" "$w/tampered.cwt"
printf '\x41' | dd of="$w/tampered.cwt" bs=1 seek=60 conv=notrunc 2>/dev/null
check_fails "cred_check.py refuses a tampered credential" \
	$py "$check_py" cred "$w/tampered.cwt" --issuer-pem "$w/issuer.pem" --iss "$iss" \
	--aud "$site_id" --now "$(date +%s)"
check_fails "vouch cwt verify refuses a tampered credential" \
	V cwt verify --key "$w/issuer.pem" "$w/tampered.cwt"

# ---- policy explain, with the example's matrix around DST --------------------------------------
explain() { V policy explain "$@" >"$w/explain.out" 2>&1; }
check "operator operates press-1 on a Monday morning (permit)" \
	explain alice press-1 operate --at "2026-11-23 08:00" --zone plant/hall-a/line-1
check_fails "operator at press-1 on a Sunday (deny)" \
	explain alice press-1 operate --at "2026-11-22 08:00" --zone plant/hall-a
grep -q '^reason: *time' "$w/explain.out" && ok "... reason time" || not_ok "... reason time"
check "summer time: Mon 30 March 05:45 local is inside the 05:30-22:30 shift (permit)" \
	explain alice press-1 operate --at "2026-03-30 05:45" --zone plant/hall-a/line-1
grep -q '2026-03-30T03:45:00Z' "$w/explain.out" && ok "... 05:45 CEST is 03:45Z" ||
	not_ok "... 05:45 CEST is 03:45Z: $(cat "$w/explain.out")"
check_fails "winter time: Mon 26 October 05:15 local is before the shift (deny)" \
	explain alice press-1 operate --at "2026-10-26 05:15" --zone plant/hall-a
grep -q '2026-10-26T04:15:00Z' "$w/explain.out" && ok "... 05:15 CET is 04:15Z" ||
	not_ok "... 05:15 CET is 04:15Z: $(cat "$w/explain.out")"
check_fails "operator reads the financials (deny: no grant)" \
	explain alice financials read
check_fails "explain for an unknown user fails" explain nobody press-1 operate
t0=$(date +%s%N)
explain alice press-1 operate --at "2026-11-23 08:00" --zone plant/hall-a/line-1 || true
t1=$(date +%s%N)
echo "# vouch policy explain took $(((t1 - t0) / 1000000)) ms end to end (CLI, token, TLS)"
ms=$(grep '"/api/v1/policy/explain"' "$log" | tail -n1 | sed 's/.*"ms":"\([0-9.]*\)".*/\1/')
echo "# vouchd answered policy/explain in $ms ms"
awk -v m="$ms" 'BEGIN { exit !(m < 10) }' && ok "vouchd answers an explanation in < 10 ms" ||
	not_ok "vouchd answers an explanation in < 10 ms ($ms)"

# ---- revocation: one credential ---------------------------------------------------------------
cti=$(json_get "$w/c1.json" cti)
th=$(json_get "$w/c1.json" token_hash)
check "vouch credential revoke CTI" V credential revoke "$cti"
curl -sS --cacert "$chain" -o "$w/rl1.cbor" "$http/revocations" || fatal "GET /revocations"
check "cred_check.py verifies the revocation list (plain HTTP)" \
	$py "$check_py" revlist "$w/rl1.cbor" --signer-pem "$w/revlist.pem" --iss "$iss" \
	--aud "$site_id" --now "$(date +%s)"
$py "$check_py" revlist "$w/rl1.cbor" --signer-pem "$w/revlist.pem" --iss "$iss" \
	--aud "$site_id" --now "$(date +%s)" >"$w/rl1.json" 2>/dev/null || true
grep -q "$th" "$w/rl1.json" && ok "the list names the credential's token hash (RFC 9770)" ||
	not_ok "the list names the credential's token hash"
v1=$(json_get "$w/rl1.json" version)
check "before its next refresh the wallet does not know yet: it still exports (offline rule)" \
	"$wallet" --wallet "$w/phone" credential export
check "wallet refresh (mutual TLS with the phone certificate) gets a new credential" \
	"$wallet" --wallet "$w/phone" refresh
"$wallet" --wallet "$w/phone" credential export >"$w/c2.cwt" || not_ok "export after refresh"
if cmp -s "$w/c1.cwt" "$w/c2.cwt"; then not_ok "a new credential"; else ok "a new credential"; fi

# ---- revocation: a role change ------------------------------------------------------------------
V role show operator --json >"$w/operator.json" || fatal "role show operator"
$py -c 'import json,sys; d=json.load(open(sys.argv[1])); o=d.get("object", d)
o["description"] = "operators (changed)"; json.dump(o, open(sys.argv[2], "w"))' \
	"$w/operator.json" "$w/operator2.json"
check "the operator role changes (vouch role add --file)" \
	V role add operator --file "$w/operator2.json"
V credential list --user alice --json >"$w/creds.json"
active=$($py -c 'import json,sys; print(sum(1 for c in json.load(open(sys.argv[1]))["items"] if c["object"]["status"]=="active"))' "$w/creds.json")
check_eq "the role change revoked alice's outstanding credential" "$active" 0
check "wallet refresh after the role change" "$wallet" --wallet "$w/phone" refresh

# ---- revocation: the person -----------------------------------------------------------------------
check "vouch user revoke alice" V user revoke alice --reason "left the company"
check_fails "the wallet's refresh is refused now" "$wallet" --wallet "$w/phone" refresh
check_fails "the wallet no longer exports its credential (the list it holds says revoked)" \
	"$wallet" --wallet "$w/phone" credential export
curl -sS --cacert "$chain" -o "$w/rl2.cbor" "$https/revocations" || fatal "GET /revocations"
$py "$check_py" revlist "$w/rl2.cbor" --signer-pem "$w/revlist.pem" --iss "$iss" \
	--aud "$site_id" --now "$(date +%s)" >"$w/rl2.json" || not_ok "revocation list 2 verifies"
grep -q '"alice"' "$w/rl2.json" && ok "the list names alice as a revoked subject" ||
	not_ok "the list names alice"
v2=$(json_get "$w/rl2.json" version)
[ "$v2" -gt "$v1" ] && ok "the list's version grew ($v1 -> $v2)" || not_ok "version $v1 -> $v2"
curl -sS --cacert "$chain" -o "$w/rl3.cbor" "$https/revocations?since=$v1" || true
$py "$check_py" revlist "$w/rl3.cbor" --signer-pem "$w/revlist.pem" --iss "$iss" \
	--aud "$site_id" --now "$(date +%s)" >"$w/rl3.json" || not_ok "the delta verifies"
check_eq "?since=V gives a delta from V" "$(json_get "$w/rl3.json" since)" "$v1"
r=$(login alice "$w/alice.pw" "$(totp "$w/alice.uri" -30)" "$w/l7.json")
check_eq "a revoked person cannot log in" "$r" 401

# ---- no secret anywhere ----------------------------------------------------------------------------
for f in alice bob carol; do
	s=$(sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' "$w/$f.uri")
	if grep -rqF "$s" "$log" "$site/vouch.db" "$site/vouch.db-wal" 2>/dev/null ||
		V events --limit 100000 | grep -qF "$s"; then
		not_ok "$f's TOTP secret appears in the log, the store or the events"
	else
		ok "$f's TOTP secret is in neither log, store nor events"
	fi
	p=$(cat "$w/$f.pw")
	if grep -rqF "$p" "$log" "$site/vouch.db" "$site/vouch.db-wal" 2>/dev/null; then
		not_ok "$f's password appears in the log or the store"
	else
		ok "$f's password is in neither log nor store"
	fi
done
if grep -qF "$session" "$log" "$site/vouch.db" 2>/dev/null; then
	not_ok "a session token appears in the log or the store"
else
	ok "session tokens are in neither log nor store (only their hashes)"
fi
for e in auth.login auth.fail auth.lock user.revoke credential.create revlist.add phone.create; do
	V events --limit 100000 | grep -q " $e " && ok "event $e recorded" || not_ok "event $e recorded"
done
vouchd_up && ok "vouchd still serves" || not_ok "vouchd still serves"
pki_stop
