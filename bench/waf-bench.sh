#!/usr/bin/env bash
# What the application firewall costs: keep-alive proxied requests/s through
#   postern waf=off, postern waf=block (preset rules), nginx alone,
#   nginx + ModSecurity v3 + OWASP CRS (paranoia 1)
# for a GET answered with 100 bytes, and a 16 KiB urlencoded POST body
# (32 benign form fields of ~512 bytes of words, inspected by both WAFs) for
# postern off/block, nginx and nginx + CRS. Plain HTTP on loopback (TLS would
# cost the same on every side and hide the WAF's share), wrk with 50
# connections (--timeout 30s: ModSecurity takes tens of ms per 16 KiB body).
# wrk directly rather than ../shared/bench/proxybench.sh: that harness is
# TLS-only with a fixed set of peers; the pinning and the interleaving here
# follow it (see ../shared/BENCH.md).
#
#   bench/waf-bench.sh [NAME]
#
# Pinning: every proxy on CPU $WB_PROXY_CPU (0), wrk and the upstream (an
# nginx answering 100 bytes to everything) on CPU $WB_LOAD_CPU (1). All proxies
# run side by side (an idle one costs nothing) and the runs are interleaved,
# WB_ROUNDS times, because this VM's speed drifts within minutes; the summary
# takes the median over rounds and prints ratios from the same run:
#   postern block/off (the WAF's cost), nginx+CRS / nginx (CRS's cost),
#   postern block / nginx+CRS (head to head), postern off / nginx.
# "per core" = req/s divided by the proxy's CPU share during the run (from
# /proc, every process of its session): when the load core saturates first,
# compare per-core figures. Before timing, each side is checked: the GET and
# the POST reach the upstream (200), and "?id=1' or 1=1--" gets 403 from the
# block sides (a postern without a working WAF is reported, not timed as one).
#
# Knobs (environment): WB_DURATION=10 (s per run) WB_CONNS=50 WB_ROUNDS=1
#   WB_PROXY_CPU=0 WB_LOAD_CPU=1 WB_STACKS=postern,nginx,nginx-crs
#   POSTERN_BIN (default build/postern) POSTERN_WORKERS=1 WB_KEEP=0
# With NAME, the TSV and the report go to bench/results/waf-bench-NAME.{tsv,txt}.
# Needs: wrk nginx libnginx-mod-http-modsecurity modsecurity-crs curl taskset python3.
# Takes about (runs x WB_DURATION x WB_ROUNDS) + 10 s: ~2 min with the defaults.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export POSTERN_BIN=${POSTERN_BIN:-$here/../build/postern}
name=${1:-}
DUR=${WB_DURATION:-10}
CONNS=${WB_CONNS:-50}
ROUNDS=${WB_ROUNDS:-1}
PCPU=${WB_PROXY_CPU:-0}
LCPU=${WB_LOAD_CPU:-1}
STACKS=${WB_STACKS:-postern,nginx,nginx-crs}
UA='Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0 waf-bench'

for c in wrk nginx curl taskset python3 ps; do
	command -v "$c" >/dev/null || { echo "waf-bench: missing $c" >&2; exit 2; }
done

T=$(mktemp -d /tmp/waf-bench.XXXXXX)
SERVE_PID=
cleanup() {
	if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
		kill -TERM "$SERVE_PID" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$SERVE_PID" 2>/dev/null || true
	fi
	if [ "${WB_KEEP:-0}" = 1 ]; then echo "waf-bench: kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[waf-bench $(date +%H:%M:%S)] $*" >&2; }

# ---- the stacks (bench/waf_compare.py serve), each proxy pinned to PCPU
python3 "$here/waf_compare.py" serve --stacks "$STACKS" --proxy-cpu "$PCPU" \
	--backend-cpu "$LCPU" --upstream nginx --workers "${POSTERN_WORKERS:-1}" \
	--dir "$T/stacks" >"$T/serve.out" 2>"$T/serve.err" &
SERVE_PID=$!
for _ in $(seq 1 600); do
	grep -qx 'ready\|failed' "$T/serve.out" 2>/dev/null && break
	kill -0 "$SERVE_PID" 2>/dev/null || break
	sleep 0.1
done
if ! grep -qx ready "$T/serve.out"; then
	log "the stacks did not start:"
	cat "$T/serve.err" >&2
	exit 2
fi
while IFS='=' read -r k v; do
	case "$k" in [A-Z_]*) [[ "$v" =~ ^[0-9]+$ ]] && printf -v "$k" '%s' "$v" ;; esac
done <"$T/serve.out"

# ---- wrk scripts: GET, and a 16 KiB urlencoded POST of ordinary form fields
cat >"$T/result.lua" <<'LUA'
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("WBRESULT requests=%d duration_us=%d p99_us=%d errors=%d non2xx=%d\n",
		summary.requests, summary.duration, latency:percentile(99),
		e.connect + e.read + e.write + e.timeout, e.status))
end
LUA
cp "$T/result.lua" "$T/get.lua"
python3 - "$T/body16k" <<'PY'
import sys
# 32 fields of ~512 bytes (a long form with text areas), exactly 16384 bytes
words = ("lorem ipsum dolor sit amet consectetur adipiscing elit do eiusmod tempor "
         "incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud "
         "exercitation ullamco laboris nisi aliquip ex ea commodo consequat").split()
fields = []
for i in range(32):
    val = "+".join(words[(i * 5 + j) % len(words)] for j in range(200))
    fields.append(("field%d=%s" % (i, val))[:511].rstrip("+"))
body = "&".join(fields)
while len(body) < 16384:
    body += "a"
body = body[:16384]
assert len(body) == 16384 and body[-1] != "+"
open(sys.argv[1], "w").write(body)
PY
{
	echo 'wrk.method = "POST"'
	echo 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"'
	printf 'wrk.body = [[%s]]\n' "$(cat "$T/body16k")"
	cat "$T/result.lua"
} >"$T/post.lua"

# ---- the runs: label port host script (only the stacks that started)
RUNS=()
add() { RUNS+=("$1 $2 $3 $4 $5"); }  # label port host lua session
# shellcheck disable=SC2153  # POSTERN_SID & co. come from the serve output above
if [ -n "${POSTERN_PORT:-}" ]; then
	add postern-off-get "$POSTERN_PORT" off.test get "$POSTERN_SID"
	add postern-block-get "$POSTERN_PORT" block.test get "$POSTERN_SID"
fi
[ -n "${NGINX_PORT:-}" ] && add nginx-get "$NGINX_PORT" bench.test get "$NGINX_SID"
[ -n "${NGINX_CRS_PORT:-}" ] && add nginx-crs-get "$NGINX_CRS_PORT" bench.test get "$NGINX_CRS_SID"
if [ -n "${POSTERN_PORT:-}" ]; then
	add postern-off-post16k "$POSTERN_PORT" off.test post "$POSTERN_SID"
	add postern-block-post16k "$POSTERN_PORT" block.test post "$POSTERN_SID"
fi
[ -n "${NGINX_PORT:-}" ] && add nginx-post16k "$NGINX_PORT" bench.test post "$NGINX_SID"
[ -n "${NGINX_CRS_PORT:-}" ] && add nginx-crs-post16k "$NGINX_CRS_PORT" bench.test post "$NGINX_CRS_SID"

# ---- checks before timing
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Host: $2" -H "User-Agent: $UA" "${@:3}" "http://127.0.0.1:$1/"; }
NOTES=()
for r in "${RUNS[@]}"; do
	read -r label port host lua sid <<<"$r"
	if [ "$lua" = get ]; then
		got=$(status "$port" "$host")
	else
		got=$(status "$port" "$host" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "@$T/body16k")
	fi
	[ "$got" = 200 ] || { log "$label: the benign request got $got, not 200"; exit 1; }
	case "$label" in *-get) ;; *) continue ;; esac
	atk=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Host: $host" -H "User-Agent: $UA" \
		"http://127.0.0.1:$port/?id=1'%20or%201=1--")
	case "$label" in
	postern-block-*|nginx-crs-*)
		if [ "$atk" != 403 ]; then
			NOTES+=("$label: \"?id=1' or 1=1--\" got $atk, not 403: this side's WAF is not blocking")
			log "${NOTES[-1]}"
		fi ;;
	*) [ "$atk" = 200 ] || log "$label: the attack got $atk without a WAF (expected 200)" ;;
	esac
done

# ---- CPU time (clock ticks) of every process of a session
TCK=$(getconf CLK_TCK)
cpu_ticks() {
	local sum=0 p f fs
	for p in $(ps -s "$1" -o pid= 2>/dev/null); do
		f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		f=${f##*) }  # after "(comm) ": state ppid ... utime (12th) stime (13th)
		read -r -a fs <<<"$f"
		sum=$((sum + fs[11] + fs[12]))
	done
	echo "$sum"
}

TSV=$T/runs.tsv
printf 'round\tlabel\trps\tp99_ms\tproxy_cpu_pct\tper_core\terrors\tnon2xx\n' >"$TSV"
log "stacks up (upstream :$UPSTREAM_PORT); ${#RUNS[@]} runs x ${DUR}s x $ROUNDS round(s), $CONNS connections, proxy CPU $PCPU, wrk CPU $LCPU"
for round in $(seq 1 "$ROUNDS"); do
	for r in "${RUNS[@]}"; do
		read -r label port host lua sid <<<"$r"
		c0=$(cpu_ticks "$sid")
		timeout $((DUR + 30)) taskset -c "$LCPU" wrk -t1 -c"$CONNS" -d"${DUR}s" --timeout 30s -s "$T/$lua.lua" \
			-H "Host: $host" -H "User-Agent: $UA" -H 'Accept: */*' \
			"http://127.0.0.1:$port/" >"$T/wrk-$label-$round.txt" 2>&1 || true
		c1=$(cpu_ticks "$sid")
		line=$(grep '^WBRESULT' "$T/wrk-$label-$round.txt" || true)
		if [ -z "$line" ]; then
			log "$label: wrk gave no result: $(tail -2 "$T/wrk-$label-$round.txt" | tr '\n' ' ')"
			continue
		fi
		python3 - "$round" "$label" "$line" "$c0" "$c1" "$TCK" >>"$TSV" <<'PY'
import sys
rnd, label, line, c0, c1, tck = sys.argv[1:]
kv = dict(x.split("=") for x in line.split()[1:])
secs = int(kv["duration_us"]) / 1e6
rps = int(kv["requests"]) / secs
cpu = (int(c1) - int(c0)) / int(tck) / secs * 100
per_core = rps / (cpu / 100) if cpu > 0 else 0
print("%s\t%s\t%.0f\t%.2f\t%.0f\t%.0f\t%s\t%s" % (rnd, label, rps, int(kv["p99_us"]) / 1000,
                                                  cpu, per_core, kv["errors"], kv["non2xx"]))
PY
		log "$(tail -1 "$TSV" | cut -f2-)"
	done
done

# ---- summary: median over rounds, then ratios
REPORT=$T/report.txt
python3 - "$TSV" "$DUR" "$CONNS" "$ROUNDS" "${NOTES[@]+"${NOTES[@]}"}" >"$REPORT" <<'PY'
import statistics, sys
tsv, dur, conns, rounds = sys.argv[1:5]
notes = sys.argv[5:]
rows = [l.rstrip("\n").split("\t") for l in open(tsv)][1:]
by = {}
for r in rows:
    by.setdefault(r[1], []).append(r)
med = {}
for label, rs in by.items():
    med[label] = {k: statistics.median(float(r[i]) for r in rs)
                  for k, i in (("rps", 2), ("p99", 3), ("cpu", 4), ("pc", 5))}
    med[label]["bad"] = sum(int(r[6]) + int(r[7]) for r in rs)
print("# waf-bench: keep-alive plain HTTP, wrk -c%s, %ss per run, %s round(s) (median)" %
      (conns, dur, rounds))
print()
print("| run | req/s | p99 ms | proxy CPU % | req/s per core | errors+non-2xx |")
print("|---|---|---|---|---|---|")
for label in by:
    m = med[label]
    print("| %s | %.0f | %.2f | %.0f | %.0f | %d |" % (label, m["rps"], m["p99"], m["cpu"],
                                                     m["pc"], m["bad"]))
print()
pairs = [("postern WAF cost (block / off)", "postern-block", "postern-off"),
         ("CRS cost (nginx+CRS / nginx)", "nginx-crs", "nginx"),
         ("head to head (postern block / nginx+CRS)", "postern-block", "nginx-crs"),
         ("proxy alone (postern off / nginx)", "postern-off", "nginx")]
print("| ratio | GET 100 B req/s | per core | POST 16 KiB req/s | per core |")
print("|---|---|---|---|---|")
for title, a, b in pairs:
    cells = []
    for kind in ("get", "post16k"):
        x, y = med.get("%s-%s" % (a, kind)), med.get("%s-%s" % (b, kind))
        if x and y and y["rps"] and y["pc"]:
            cells += ["%.3g×" % (x["rps"] / y["rps"]), "%.3g×" % (x["pc"] / y["pc"])]
        else:
            cells += ["-", "-"]
    print("| %s | %s |" % (title, " | ".join(cells)))
for n in notes:
    print("\nNOTE: " + n)
if any(m["bad"] for m in med.values()):
    print("\nNOTE: some runs had errors or non-2xx answers (column errors+non-2xx): "
          "their rate is not comparable.")
PY
cat "$REPORT"
if [ -n "$name" ]; then
	mkdir -p "$here/results"
	cp "$TSV" "$here/results/waf-bench-$name.tsv"
	cp "$REPORT" "$here/results/waf-bench-$name.txt"
	log "saved bench/results/waf-bench-$name.{tsv,txt}"
fi
