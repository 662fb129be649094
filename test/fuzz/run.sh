#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for N seconds
# (default 20) from the seed corpus. Ends with "N passed, N failed".
# The core files every target links are compiled once into build/fuzz/obj
# (INGOT_FUZZ_JOBS at a time, default 2), each target is then one compile
# and a link.
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
out=build/fuzz
obj=$out/obj
mkdir -p "$obj"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CF="-std=c11 -D_DEFAULT_SOURCE -g -O1 $SAN -Icore -Ibuild/gen $(pkg-config --cflags libcjson)"
LIBS="-lcjson -lcrypto -lcurl -levent"
CORE="config config_check config_lint config_parse url util log job check check_json cron ssrf cidr
      http_parse http_resp sse llm_hdr llm_embed llm_json_loop llm_anthropic llm_anthropic_resp
      llm_anthropic_stream llm_openai llm_msgs_req llm_msgs_resp llm_msgs_stream jfield crypt provider_snap
      llm_resp_req llm_resp_out llm_resp_stream respjob webhook_event webhook sql
      netname tlsca multipart batchcheck jtree"
pass=0; fail=0

# fuzzer-no-link: coverage instrumentation without libFuzzer's main.
export CF obj
if ! printf '%s\n' $CORE | xargs -P "${INGOT_FUZZ_JOBS:-2}" -I{} sh -c \
    'clang $CF -fsanitize=fuzzer-no-link -c core/{}.c -o "$obj/{}.o" 2>"$obj/{}.log" || { cat "$obj/{}.log"; exit 1; }'; then
    echo "FAIL build: the core objects did not compile (above)"
    echo "0 passed, 1 failed"
    exit 1
fi
objs=$(printf "$obj/%s.o " $CORE)

for t in test/fuzz/fuzz_*.c; do
    name=$(basename "$t" .c)
    if ! clang $CF -fsanitize=fuzzer "$t" $objs -o "$out/$name" $LIBS 2>"$out/$name.build.log"; then
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
