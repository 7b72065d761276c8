#!/bin/sh
# Run postern as the "gateway under test" of ../shared/bench/proxybench.sh
# (GW_CMD / GW_MULTI_CMD): a fresh config and data dir, the bench
# certificate(s) imported, one application whose backend is $PB_UPSTREAM,
# then exec postern in the foreground (so only postern is measured).
#   bench/postern-bench-run.sh          one certificate (GW_CMD)
#   bench/postern-bench-run.sh multi    PB_MULTI_N certificates (GW_MULTI_CMD)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${POSTERN_BIN:-$here/../build/postern}
mode=${1:-single}
port=$GW_PORT
[ "$mode" = multi ] && port=$GW_MULTI_PORT
dir=$PWD/postern-$mode-$port
rm -rf "$dir"
mkdir -p "$dir"
cat >"$dir/postern.conf" <<CONF
[gateway]
http_listen = 127.0.0.1:$((port + 1000))
https_listen = 127.0.0.1:$port
workers = ${POSTERN_WORKERS:-1}
default_certificate = bench.test
[admin]
listen = 127.0.0.1:$((port + 2000))
tls = off
[storage]
data_dir = $dir/var
[log]
access_log =
level = warn
CONF
export POSTERN_ADMIN_PASSWORD=bench-password-only
p="$bin -c $dir/postern.conf"
$p cert import --domain bench.test --cert "$PB_ECDSA_CERT" --key "$PB_ECDSA_KEY" >/dev/null
$p app add --name bench --domain bench.test --domain '*.bench.test' \
	--backend "http://$PB_UPSTREAM" >/dev/null
if [ "$mode" = multi ]; then
	list=$dir/import.list
	: >"$list"
	while read -r name; do
		[ "$name" = bench.test ] && continue
		echo "$PB_MULTI_PEMDIR/$name.pem $name" >>"$list"
	done <"$PB_MULTI_NAMES"
	$p cert import-list "$list" >/dev/null
fi
exec $p
