#!/bin/sh
# Build every libFuzzer target with clang (ASan + UBSan) and run each for a
# bounded time on its seed corpus. Usage: tools/fuzz.sh [SECONDS] [NAME...]
# Prints one TAP line per target (a crash or a build failure is "not ok").
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-30}
[ $# -gt 0 ] && shift
out=${FUZZ_OUT:-/tmp/postern-fuzz}
mkdir -p "$out"

# name | sources besides tests/fuzz/fuzz_<name>.c
targets='
config|gateway/config_file.c common/error.c common/log.c
pem_upload|crypto/cert_upload.c crypto/cert_info.c crypto/cert_codec.c crypto/cert_issue.c crypto/secret.c common/error.c common/log.c
http1_request|gateway/http1.c common/error.c common/log.c
http1_response|gateway/http1.c common/error.c common/log.c
http1_chunked|gateway/http1.c common/error.c common/log.c
admin_json|admin/json_body.c gateway/store.c gateway/store_cert.c gateway/store_app.c gateway/store_auth.c gateway/store_misc.c crypto/secret.c common/error.c common/log.c
acme_objects|acme/objects.c acme/objects_text.c common/error.c common/log.c
waf_rule|waf/rule.c waf/engine.c waf/engine_build.c waf/request.c waf/request_body.c waf/request_form.c waf/transform.c waf/detect_sqli.c waf/detect_sqli_short.c waf/sqli_lexer.c waf/sqli_scan.c waf/sqli_keys.c waf/detect_xss.c waf/cidr.c waf/preset.c gateway/http1.c common/error.c common/log.c
waf_request|waf/request.c waf/request_body.c waf/request_form.c waf/sqli_keys.c waf/transform.c gateway/http1.c common/error.c common/log.c
cidr|waf/cidr.c common/error.c common/log.c
waf_detect|waf/detect_sqli.c waf/detect_sqli_short.c waf/sqli_lexer.c waf/sqli_scan.c waf/sqli_keys.c waf/detect_xss.c waf/transform.c common/error.c common/log.c
'
flags="-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$src"
libs=$(pkg-config --cflags --libs openssl libevent sqlite3 libsodium libpcre2-8 jansson)

n=0
echo "$targets" | while IFS='|' read -r name sources; do
	[ -n "$name" ] || continue
	if [ $# -gt 0 ]; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	n=$((n + 1))
	[ -f "$src/tests/fuzz/fuzz_$name.c" ] || { echo "ok $n - fuzz $name # SKIP no target yet"; continue; }
	srcs=""
	for s in $sources; do srcs="$srcs $src/$s"; done
	# shellcheck disable=SC2086
	if ! clang $flags -o "$out/fuzz_$name" "$src/tests/fuzz/fuzz_$name.c" $srcs $libs \
		>"$out/$name.build.log" 2>&1; then
		echo "not ok $n - fuzz $name: build failed"; sed 's/^/#   /' "$out/$name.build.log" | head -20
		continue
	fi
	corpus="$out/corpus-$name"
	rm -rf "$corpus"; mkdir -p "$corpus"
	[ -d "$src/tests/fuzz/corpus/$name" ] && cp -r "$src/tests/fuzz/corpus/$name/." "$corpus/"
	if (cd "$out" && "$out/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=0 "$corpus" >"$out/$name.run.log" 2>&1); then
		echo "ok $n - fuzz $name for ${secs}s: $(grep -c . "$out/$name.run.log") log lines, no crash"
	else
		echo "not ok $n - fuzz $name crashed"; grep -E 'ERROR|SUMMARY|Test unit' "$out/$name.run.log" | sed 's/^/#   /' | head -20
	fi
done
