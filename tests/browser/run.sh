#!/bin/sh
# Run the console's browser tests (TAP on stdout, plan line last) against
# the postern binary in $POSTERN_BIN (default: build/postern). Installs
# playwright-core from package-lock.json when node_modules is missing; the
# browser is Debian's /usr/bin/chromium (tools/install-deps.sh --test).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${POSTERN_BIN:=$root/build/postern}"
export POSTERN_BIN
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
	echo "not ok 1 - /usr/bin/chromium is missing: run tools/install-deps.sh --test"
	echo "1..1"
	exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
	echo "not ok 1 - Node.js 20 or newer is needed for playwright-core (found: $(node --version 2>&1))"
	echo "1..1"
	exit 1
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
	if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2); then
		echo "not ok 1 - npm ci in tests/browser failed"
		echo "1..1"
		exit 1
	fi
fi
cd "$here"
exec node console.test.js
