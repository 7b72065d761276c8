#!/bin/sh
# Install what postern needs on Debian 12 (run as root).
#   tools/install-deps.sh          build and run
#   tools/install-deps.sh --test   also everything the test suite uses
set -eu
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (apt-get needs it)" >&2
	exit 1
fi
build="build-essential autoconf automake pkg-config libssl-dev libevent-dev \
libsqlite3-dev libsodium-dev libpcre2-dev libjansson-dev openssl"
test="python3 sqlite3 curl clang libclang-rt-14-dev prometheus chromium pebble sqlmap"
# The browser tests (tests/browser) need Node.js with npm; keep one that is
# already installed (it may not be Debian's, and Debian's npm would clash).
command -v npm >/dev/null 2>&1 || test="$test nodejs npm"
pkgs=$build
[ "${1:-}" = "--test" ] && pkgs="$build $test"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $pkgs
