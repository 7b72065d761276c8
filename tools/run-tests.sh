#!/bin/sh
# Run every test postern has and print one summary line at the end:
#   N passed, N failed, N skipped
# 1. a -Werror build and `make check` (unit + integration tests, TAP);
# 2. the console's browser tests (tests/browser/run.sh, SKIP_BROWSER=1 skips);
#    the libFuzzer targets, each for FUZZ_SECONDS (default 30);
# 3. the same build with ASan + UBSan and `make check` again.
# Exits non-zero when anything failed.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
fuzz_seconds=${FUZZ_SECONDS:-30}
results=$(mktemp)

# Count TAP results of one make check run from its .trs files.
count_trs() {
	find "$1/tests" -name '*.trs' -exec cat {} + 2>/dev/null |
		sed -n 's/^:test-result: //p' >>"$results"
}

run_suite() { # DIR CONFIGURE-ARGS...
	dir=$1
	shift
	echo "== build $dir ($*)"
	if ! tools/build.sh "$dir" "$@" >"$dir.build.log" 2>&1; then
		cat "$dir.build.log"
		echo "ERROR" >>"$results"
		return
	fi
	echo "== make check in $dir"
	find "$dir/tests" -name '*.trs' -delete 2>/dev/null
	make -C "$dir" -j"$(nproc)" check >"$dir.check.log" 2>&1
	grep -E '^(PASS|FAIL|ERROR|SKIP|XPASS|XFAIL):' "$dir.check.log" | grep -v '^PASS' || true
	grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR)' "$dir.check.log" || cat "$dir.check.log" | tail -30
	[ -f "$dir/test-suite.log" ] && grep -E '^(not ok|#   )' "$dir/test-suite.log" | head -50
	count_trs "$dir"
}

run_suite build --enable-werror

# The console in headless Chromium against build/postern (TAP lines).
if [ "${SKIP_BROWSER:-0}" != 1 ] && [ -x build/postern ]; then
	echo "== browser tests (tests/browser)"
	POSTERN_BIN="$src/build/postern" tests/browser/run.sh >build.browser.log 2>&1
	browser_rc=$?
	grep -E '^(not ok|#)' build.browser.log | head -60
	sed -n 's/^ok .*# SKIP.*/SKIP/p; s/^ok .*/PASS/p; s/^not ok .*/FAIL/p' build.browser.log >>"$results"
	grep -E '^1\.\.[0-9]+$' build.browser.log || { tail -30 build.browser.log; echo "ERROR" >>"$results"; }
	if [ "$browser_rc" != 0 ] && ! grep -q '^not ok' build.browser.log; then
		echo "ERROR" >>"$results"
	fi
fi

echo "== fuzz (${fuzz_seconds}s per target)"
tools/fuzz.sh "$fuzz_seconds" | tee build.fuzz.log
sed -n 's/^ok .*# SKIP.*/SKIP/p; s/^ok .*/PASS/p; s/^not ok .*/FAIL/p' build.fuzz.log >>"$results"

if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
	# A small quarantine: ASan keeps freed memory aside (256 MiB by
	# default), which would read as growth in the flat-RSS streaming test.
	ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=4
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export ASAN_OPTIONS UBSAN_OPTIONS
	run_suite build-san --enable-werror --enable-sanitizers
fi

passed=$(grep -c '^PASS' "$results")
failed=$(grep -cE '^(FAIL|ERROR|XPASS)' "$results")
skipped=$(grep -cE '^(SKIP|XFAIL)' "$results")
rm -f "$results"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
