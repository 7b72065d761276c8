#!/bin/sh
# Full ECDSA handshakes/s of a postern holding N certificates, clients
# sending a random name among the N, against the same postern holding one
# certificate (the "1-certificate rate"; both run side by side, the idle
# one costs nothing), interleaved over ROUNDS rounds so that the
# machine's drift hits both alike. Also the N-certificate postern with
# every client sending one name. Prints each round and the median ratios
# (issue 4's target: random >= 0.95x the 1-certificate rate).
# The load generator is the shared harness's hsbench (built from
# ../shared/bench/proxybench.sh); postern on CPU 0, hsbench on CPU 1.
#   bench/sni-bench.sh [N] [ROUNDS] [SECONDS]      (defaults 1000 7 8)
# Needs: gcc, libssl-dev, python3-cryptography, curl, taskset.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${POSTERN_BIN:-$here/../build/postern}
harness=${PB_HARNESS:-$here/../../shared/bench/proxybench.sh}
n=${1:-1000}
rounds=${2:-7}
secs=${3:-8}
dir=$(mktemp -d /tmp/postern-sni.XXXXXX)
pid=
pid1=
cleanup() {
	for p in $pid $pid1; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$dir"

sed -n "/^cat >hsbench.c <<'EOF'\$/,/^EOF\$/p" "$harness" | sed '1d;$d' >hsbench.c
gcc -O2 -o hsbench hsbench.c -lssl -lcrypto

conf() { # NAME PORT: a config for ports PORT-1 (http), PORT (https), PORT+1 (admin)
	cat >"$1.conf" <<CONF
[gateway]
http_listen = 127.0.0.1:$(($2 - 1))
https_listen = 127.0.0.1:$2
workers = 1
default_certificate = h0.tenk.test
[admin]
listen = 127.0.0.1:$(($2 + 1))
tls = off
[storage]
data_dir = $dir/$1
[log]
access_log =
level = warn
CONF
}
ready() { # PORT NAME
	i=0
	until curl -sk -o /dev/null --resolve "$2:$1:127.0.0.1" "https://$2:$1/"; do
		i=$((i + 1))
		[ $i -lt 1200 ] || { echo "sni-bench: postern not ready after 60 s" >&2; exit 1; }
		sleep 0.05
	done
}
export POSTERN_ADMIN_PASSWORD=bench-password-only
/usr/bin/python3 "$here/gen_certs.py" "$n"
conf many 18757
conf one 18767
"$bin" -c many.conf cert import-list list >/dev/null
head -1 list >one.list
"$bin" -c one.conf cert import-list one.list >/dev/null
cut -d' ' -f2 list >names
taskset -c 0 "$bin" -c many.conf >many.log 2>&1 &
pid=$!
taskset -c 0 "$bin" -c one.conf >one.log 2>&1 &
pid1=$!
ready 18757 "h$((n - 1)).tenk.test"
ready 18767 h0.tenk.test

rate() { # PORT hsbench arguments...: "rate cn_mismatches"
	port=$1
	shift
	taskset -c 1 ./hsbench -p "$port" -c 50 -d "$secs" "$@" |
		sed -n 's/^HSRESULT.* rate=\([0-9.]*\) .*cn_mismatch=\([0-9]*\).*/\1 \2/p'
}
median() { sort -n "$1" | awk '{v[NR] = $1} END {printf "%.3f (min %.3f, max %.3f)", v[int((NR + 1) / 2)], v[1], v[NR]}'; }
echo "sni-bench: $n certificates, $rounds rounds of ${secs}s per case, 50 connections"
: >random.ratios
: >fixed.ratios
r=1
while [ $r -le "$rounds" ]; do
	set -- $(rate 18767 -s h0.tenk.test)
	one=$1 mis=$2
	set -- $(rate 18757 -f names)
	random=$1 mis="$mis $2"
	set -- $(rate 18757 -s h0.tenk.test)
	fixed=$1 mis="$mis $2"
	echo "$random $one" | awk '{printf "%.3f\n", $1 / $2}' >>random.ratios
	echo "$fixed $one" | awk '{printf "%.3f\n", $1 / $2}' >>fixed.ratios
	echo "round $r: 1 certificate $one/s; $n certificates: random name $random/s, one name $fixed/s (cn mismatches: $mis)"
	r=$((r + 1))
done
echo "median ratio, $n certificates with random names / 1 certificate: $(median random.ratios)"
echo "median ratio, $n certificates with one name / 1 certificate: $(median fixed.ratios)"
