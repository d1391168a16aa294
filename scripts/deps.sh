#!/bin/sh
# Install the Debian packages vouch needs, when some are missing. Idempotent and quick when all
# are there: it only asks dpkg. apt-get runs only as root; otherwise it names what to install.
set -eu

PKGS="cmake ninja-build pkg-config gcc clang libclang-rt-14-dev llvm
libssl-dev openssl libcbor-dev libjansson-dev libcmocka-dev libmbedtls-dev
libp11-dev libp11-kit-dev softhsm2 libsqlite3-dev sqlite3 libevent-dev libcurl4-openssl-dev curl
golang-cfssl iproute2
libargon2-dev liboath-dev oathtool python3-cbor2 python3-cryptography tzdata opensc
libcoap3-dev libcoap3-bin valgrind"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "vouch: missing Debian packages:$missing" >&2
	echo "vouch: install them with: sudo apt-get install$missing" >&2
	exit 1
fi
echo "vouch: installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# An old or absent package list makes apt-get install fail: refresh it first.
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
