#!/bin/sh
# The WAF matcher without sockets (bench/waf_micro.c): time per request of
# the preset rules on a GET or a 16 KiB form. With CALLGRIND=1, instruction
# counts instead (steady where seconds are noisy). lorem: waf-bench.sh's own body.
#   bench/waf-micro.sh [get|form|lorem] [ITERATIONS]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=${TMPDIR:-/tmp}/postern-waf-micro
w=$src/waf
gcc -O2 -g -std=c11 -D_GNU_SOURCE -I"$src" -o "$out" "$src/bench/waf_micro.c" \
	"$w/rule.c" "$w/preset.c" "$w/engine.c" "$w/engine_build.c" "$w/request.c" "$w/request_body.c" "$w/request_form.c" \
	"$w/transform.c" $(ls "$w"/detect_*.c "$w"/sqli_*.c 2>/dev/null | tr '\n' ' ') "$w/cidr.c" \
	"$src/gateway/http1.c" "$src/common/error.c" "$src/common/log.c" \
	$(pkg-config --cflags --libs libpcre2-8 jansson libsodium)
if [ "${CALLGRIND:-0}" = 1 ]; then
	valgrind --tool=callgrind --callgrind-out-file="$out.cg" "$out" "${1:-get}" "${2:-20}" 2>&1 |
		grep -E 'refs|us per'
	callgrind_annotate "$out.cg" | sed -n '20,45p'
else
	"$out" "$@"
fi
