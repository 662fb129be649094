#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for N seconds
# (default 20) from the seed corpus. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
out=build/fuzz
mkdir -p "$out"
CF="-std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Icore -Ibuild/gen"
pass=0; fail=0
for t in test/fuzz/fuzz_*.c; do
    name=$(basename "$t" .c)
    if ! clang $CF $(pkg-config --cflags libcjson) "$t" core/config.c core/config_lint.c core/config_parse.c core/url.c core/util.c core/log.c core/job.c core/check.c core/check_json.c core/cron.c core/ssrf.c core/cidr.c core/http_parse.c core/http_resp.c core/sse.c core/llm_hdr.c core/llm_embed.c core/llm_anthropic.c core/llm_anthropic_resp.c core/llm_anthropic_stream.c core/llm_openai.c core/crypt.c core/provider_snap.c -o "$out/$name" -lcjson -lcrypto -lcurl -levent 2>"$out/$name.build.log"; then
        echo "FAIL $name: build"; cat "$out/$name.build.log"; fail=$((fail + 1)); continue
    fi
    corpus="$out/$name.corpus"
    mkdir -p "$corpus"
    cp test/fuzz/seeds/* "$corpus/" 2>/dev/null
    if "$out/$name" -max_total_time="$secs" -max_len=4096 -timeout=5 -artifact_prefix="$out/$name-" \
        "$corpus" test/fuzz/seeds >"$out/$name.log" 2>&1; then
        echo "ok   $name: $(grep -oE '#[0-9]+' "$out/$name.log" | tail -1 | tr -d '#') runs, no crash"
        pass=$((pass + 1))
    else
        echo "FAIL $name"; grep -A20 -E 'ERROR|runtime error' "$out/$name.log" | head -40
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
