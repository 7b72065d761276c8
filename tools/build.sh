#!/bin/sh
# Build postern out of tree: tools/build.sh [DIR] [configure options...]
# DIR defaults to build/. The binary is DIR/postern.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-build}
[ $# -gt 0 ] && shift
cd "$src"
[ -x configure ] || autoreconf -fi
mkdir -p "$dir"
cd "$dir"
# Reconfigure when the options change (a sanitizer build beside a plain one).
if [ ! -f config.status ] || [ "$(cat .configure-args 2>/dev/null)" != "$*" ]; then
	"$src/configure" -q "$@"
	echo "$*" >.configure-args
fi
make -j"$(nproc)"
