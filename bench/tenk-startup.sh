#!/bin/sh
# Start-up time and memory with N certificates (default 10,000):
# generates N ECDSA certificates (python3-cryptography), imports them in
# one transaction, then times `postern -c` until a handshake for the last
# name succeeds, and a hot swap among them. Loopback only; bounded.
#   bench/tenk-startup.sh [N]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${POSTERN_BIN:-$here/../build/postern}
n=${1:-10000}
dir=$(mktemp -d /tmp/postern-tenk.XXXXXX)
cd "$dir"
cat >p.conf <<CONF
[gateway]
http_listen = 127.0.0.1:18656
https_listen = 127.0.0.1:18657
workers = 1
[admin]
listen = 127.0.0.1:18658
tls = off
[storage]
data_dir = $dir/var
[log]
access_log =
level = warn
CONF
export POSTERN_ADMIN_PASSWORD=bench-password-only
/usr/bin/python3 "$here/gen_certs.py" "$n"
t0=$(date +%s%N)
"$bin" -c p.conf cert import-list list >/dev/null
echo "import of $n certificates: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
last=h$((n - 1)).tenk.test
t0=$(date +%s%N)
"$bin" -c p.conf >daemon.log 2>&1 &
pid=$!
i=0
until curl -sk -o /dev/null --resolve "$last:18657:127.0.0.1" "https://$last:18657/"; do
	i=$((i + 1)); [ $i -lt 1200 ] || { echo "not ready after 60 s"; kill $pid; exit 1; }
	sleep 0.05
done
echo "ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms; $(grep VmRSS /proc/$pid/status)"
t0=$(date +%s%N)
"$bin" -c p.conf cert selfsign --domain swap.tenk.test >/dev/null
until echo | openssl s_client -connect 127.0.0.1:18657 -servername swap.tenk.test 2>/dev/null |
	grep -q "CN = swap.tenk.test"; do sleep 0.02; done
echo "a new certificate among $n serves after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
kill $pid
wait $pid || true
rm -rf "$dir"
