#!/bin/sh
# Side-by-side WAF comparison on the attack/benign corpus: postern (waf =
# block, preset rules) vs nginx + ModSecurity v3 + OWASP CRS (paranoia 1,
# anomaly threshold 5), both in front of the same backend; every corpus
# request is replayed through both and the verdicts counted per class
# (bench/waf_compare.py does the work; see its header for the details).
#
#   bench/waf-compare.sh [NAME] [-- waf_compare.py options]
#     e.g. bench/waf-compare.sh
#          bench/waf-compare.sh final-1            (also saves the report)
#          bench/waf-compare.sh -- --no-postern    (CRS side only)
#          bench/waf-compare.sh -- --corpus /tmp/my.jsonl --json /tmp/v.json
#
# With NAME the Markdown report is also written to
# bench/results/waf-compare-NAME.md and every verdict to
# bench/results/waf-compare-NAME.json.
# Environment: POSTERN_BIN (default build/postern), CORPUS (default
# tests/waf/corpus.jsonl). Needs nginx, libnginx-mod-http-modsecurity,
# modsecurity-crs:
#   apt-get install -y nginx-light libnginx-mod-http-modsecurity modsecurity-crs
# Takes a few seconds; loopback only; stops everything it started.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export POSTERN_BIN="${POSTERN_BIN:-$here/../build/postern}"
corpus=${CORPUS:-$here/../tests/waf/corpus.jsonl}
name=
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
	name=$1
	shift
fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
command -v nginx >/dev/null || { echo "waf-compare: nginx is missing" >&2; exit 2; }
for f in "${MODSEC_MODULE:-/usr/lib/nginx/modules/ngx_http_modsecurity_module.so}" \
	"${CRS_RULES:-/usr/share/modsecurity-crs/rules}"; do
	[ -e "$f" ] || {
		echo "waf-compare: $f is missing (apt-get install -y libnginx-mod-http-modsecurity modsecurity-crs)" >&2
		exit 2
	}
done
if [ -z "$name" ]; then
	exec python3 "$here/waf_compare.py" --corpus "$corpus" "$@"
fi
mkdir -p "$here/results"
out=$here/results/waf-compare-$name
python3 "$here/waf_compare.py" --corpus "$corpus" --json "$out.json" "$@" >"$out.md"
cat "$out.md"
echo "(saved: $out.md, $out.json)" >&2
