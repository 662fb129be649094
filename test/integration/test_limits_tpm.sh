# Tokens per minute shared by two workers and two serves (one Redis): sync
# chat completions and llm.chat jobs against one tenant's tpm. In every
# minute window the provider sees at most what the limit admits; what does
# not fit waits for the next window (sync callers up to LLM_SYNC_MAX_WAIT,
# then 429; jobs put back without spending an attempt).
. "$(dirname "$0")/lib.sh"
unset BUILT_IN_FORGE_API_URL BUILT_IN_FORGE_API_KEY
jobs_setup limits_tpm
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/10"
redis-cli -s "$REDIS_SOCKET" -n 10 FLUSHDB >/dev/null
q() { mysql_root -e "$1" "$DB"; }

start_fakellm # sets LP and L
export LLM_PROVIDER=openai LLM_BASE_URL="$L/openai/v1" LLM_API_KEY=sk-upstream-fake-0123

# A call reserves 28 tokens (8 estimated + max_tokens 20) and uses 17 (the
# fake's 12 + 5): at most 9 calls fit in one window of 170.
TPM=170
"$INGOT_BIN" admin tenant limits acme --tpm $TPM --env-file /dev/null >/dev/null 2>&1
start_ingot S1 serve
start_ingot S2 serve
start_ingot W1 work --queue-worker-concurrency 3
start_ingot W2 work --queue-worker-concurrency 3
MODEL=fake-delay-200
body="{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":20}"

# Start early in a minute window, so the first one is not a sliver.
while [ $(( $(date +%s) % 60 )) -gt 40 ]; do sleep 0.5; done
sync_pids=()
for i in 1 2 3 4 5 6 7 8; do
    port=$S1_PORT; [ $((i % 2)) = 1 ] && port=$S2_PORT
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 -X POST "http://127.0.0.1:$port/v1/chat/completions" \
        -H "Authorization: Bearer $K" -H 'Content-Type: application/json' -d "$body" >> sync.txt &
    sync_pids+=($!)
done
wait "${sync_pids[@]}"
ids=()
for i in $(seq 1 12); do
    ids+=("$(curl -s -X POST "http://127.0.0.1:$S1_PORT/v1/jobs" "${AUTH[@]}" \
        -d "{\"kind\":\"llm.chat\",\"queue\":\"llm\",\"payload\":$body}" | jq -r .id)")
done
check "12 llm.chat jobs succeed, across windows" wait_sql 1300 "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'llm' AND state = 2" 12
eq "  without spending attempts on the wait" "$(q "SELECT MAX(attempts) FROM jobs WHERE queue = 'llm'")" 1
ok_sync=$(grep -c '^200$' sync.txt)
echo "  sync: $(sort sync.txt | uniq -c | tr '\n' ' ')"
check "sync calls: 200, or 429 after the wait" test "$(grep -vcE '^(200|429)$' sync.txt)" = 0
check "  most sync calls admitted in the first window ($ok_sync >= 6)" test "$ok_sync" -ge 6

# Per minute window (by the provider's wall clock): calls and tokens.
curl -s "$L/_log" | jq -r --arg m "$MODEL" 'select(.json.model == $m) | (.wall_ms / 60000 | floor)' | sort | uniq -c > windows.txt
cat windows.txt | sed 's/^/  window: /'
max=$(awk '{ if ($1 > m) m = $1 } END { print m + 0 }' windows.txt)
nwin=$(wc -l < windows.txt)
total=$(awk '{ s += $1 } END { print s + 0 }' windows.txt)
eq "every admitted call reached the provider once" "$total" $((ok_sync + 12))
# 9 fit in a window; one admitted in the last ms of a window may arrive in the next.
check "at most the limit per window ($max calls x 17 tokens <= $TPM + 17)" test $((max * 17)) -le $((TPM + 17))
check "the limit spread the calls over windows ($nwin >= 2)" test "$nwin" -ge 2
for p in S1 S2 W1 W2; do
    port_var=${p}_PORT
    # (a model the fake does not list: its metric label is "other")
    check "$p took part" sh -c "curl -s http://127.0.0.1:${!port_var}/metrics | grep -q 'ingot_llm_requests_total{provider=\"default\",model=\"other\",status=\"200\"}'"
done
check "waits counted as throttled by our limit" sh -c "for p in $W1_PORT $W2_PORT $S1_PORT $S2_PORT; do curl -s http://127.0.0.1:\$p/metrics; done | grep -q 'ingot_llm_throttled_total{provider=\"default\",reason=\"limit\"}'"
finish
