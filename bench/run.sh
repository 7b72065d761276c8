#!/bin/sh
# The side-by-side benchmark: postern beside nginx and HAProxy (and Caddy)
# with ../shared/bench/proxybench.sh. Results land in bench/results/NAME.
#   bench/run.sh NAME [proxybench knobs as environment, e.g. PB_NCERTS=1000]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
name=${1:-$(date -u +%Y%m%dT%H%M%SZ)}
harness=${PROXYBENCH:-$here/../../shared/bench/proxybench.sh}
export POSTERN_BIN=${POSTERN_BIN:-$here/../build/postern}
GW_NAME=postern GW_PORT=${GW_PORT:-18440} GW_CMD="exec $here/postern-bench-run.sh" \
GW_MULTI_PORT=${GW_MULTI_PORT:-18442} GW_MULTI_CMD="exec $here/postern-bench-run.sh multi" \
PB_RESULTS=$here/results/$name exec bash "$harness"
