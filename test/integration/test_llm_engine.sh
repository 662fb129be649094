# The LLM engine (core/llm*.c) through serve in front of the C fake
# provider: the openai adapter forwards the client's body byte for byte
# but the model (a route's upstream name), forces
# stream_options.include_usage and strips that usage chunk again unless the
# client asked for it; the anthropic adapter translates a streamed tool
# call end to end; a client that leaves mid-stream closes the upstream
# request within 100 ms and the tokens so far are in the ledger (499), for
# both adapters; with Redis stopped the LLM traffic goes on (degraded) and
# is still recorded. A provider that says it is spent holds sync calls
# until its reset (or our 429 past LLM_SYNC_MAX_WAIT); LLM_TIMEOUT -> 504.
. "$(dirname "$0")/lib.sh"
unset BUILT_IN_FORGE_API_URL BUILT_IN_FORGE_API_KEY
jobs_setup llm_engine
SSE="python3 $INGOT_ROOT/test/integration/sse_client.py"
A=(--env-file /dev/null)

start_fakellm # sets LP and L
export LLM_PROVIDER=openai LLM_BASE_URL="$L/openai/v1" LLM_API_KEY=sk-upstream-default-0123 USAGE_FLUSH_INTERVAL=100ms
echo sk-ant-upstream-4567 | "$INGOT_BIN" admin provider add anth --type anthropic --base-url "$L/anthropic/v1" --api-key-stdin "${A[@]}" >/dev/null 2>&1
check "a named anthropic provider" sh -c "'$INGOT_BIN' admin provider list --env-file /dev/null | grep -q anth"
check "a route with an upstream model" "$INGOT_BIN" admin model route my-alias default --upstream-model fake-words-3 "${A[@]}"

start_ingot S serve || finish
U="http://127.0.0.1:$S_PORT"
# rec MODEL: the fake's last record of a request for that upstream model
rec() { curl -s "$L/_log" | jq -c --arg m "$1" 'select(.json.model == $m)' | tail -1; }
post() { local p=$1 b=$2; shift 2; curl -s -D h.txt -o b.json -w '%{http_code}' -X POST "$U$p" "${AUTH[@]}" -H 'Content-Type: application/json' "$@" -d "$b"; }
ledger() { mysql_root "$DB" -e "$1"; }

# The body upstream: byte for byte but the model. Numbers as the client
# spelled them (cJSON would print 2.5 and 100), unknown fields kept, key
# order kept.
body='{"model":"my-alias","messages":[{"role":"user","content":"hi"}],"x_unknown":{"a":[1,2.50,1e2]},"temperature":0.70}'
eq "routed chat: 200" "$(post /v1/chat/completions "$body")" 200
r=$(rec fake-words-3)
eq "  upstream: the route's model, everything else as sent" "$(jq -r .body <<<"$r")" \
    '{"model":"fake-words-3","messages":[{"role":"user","content":"hi"}],"x_unknown":{"a":[1,2.50,1e2]},"temperature":0.70}'
eq "  upstream: the provider's key" "$(jq -r .headers.authorization <<<"$r")" "Bearer sk-upstream-default-0123"
eq "  the answer's usage" "$(jq -r .usage.total_tokens b.json)" 15

# include_usage forced upstream; its chunk stripped unless the client asked.
out=$($SSE "$S_PORT" /v1/chat/completions "$K" '{"model":"fake-words-4-strip","stream":true,"messages":[{"role":"user","content":"hi"}]}')
eq "stream without include_usage: 200" "$(jq -r .status <<<"$out")" 200
eq "  upstream asked for usage" "$(rec fake-words-4-strip | jq -r .json.stream_options.include_usage)" true
eq "  no usage chunk relayed" "$(jq '[.events[] | select(.data != "[DONE]") | .data | fromjson | select(.usage != null or (.choices | length) == 0)] | length' <<<"$out")" 0
eq "  the content" "$(jq -r '[.events[] | select(.data != "[DONE]") | .data | fromjson | .choices[0].delta.content // empty] | join("")' <<<"$out")" " w1 w2 w3 w4"
eq "  ends with [DONE]" "$(jq -r '.events[-1].data' <<<"$out")" "[DONE]"
out=$($SSE "$S_PORT" /v1/chat/completions "$K" '{"model":"fake-words-4-keep","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}')
eq "stream with include_usage: one usage chunk" "$(jq '[.events[] | select(.data != "[DONE]") | .data | fromjson | select((.choices | length) == 0)] | length' <<<"$out")" 1
eq "  with the usage, just before [DONE]" "$(jq -r '.events[-2].data | fromjson | .usage.completion_tokens' <<<"$out")" 4
eq "  ends with [DONE]" "$(jq -r '.events[-1].data' <<<"$out")" "[DONE]"
check "  the stripped stream's usage is in the ledger (with ttft)" \
    wait_sql 50 "SELECT status, prompt_tokens, completion_tokens, ttft_ms IS NOT NULL FROM $DB.llm_usage WHERE model='fake-words-4-strip'" "$(printf '200\t12\t4\t1')"

# Time to first token: at the first chunk with content, not the role chunk
# (the fake sends the role at once, then a chunk every 400 ms).
for m in fake-delay-400-words-2-ttft anth/fake-delay-400-words-2-ttft; do
    $SSE "$S_PORT" /v1/chat/completions "$K" "{\"model\":\"$m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" >/dev/null
    check "ttft of $m measured at the first content (>= 350 ms)" \
        wait_sql 50 "SELECT ttft_ms >= 350 FROM $DB.llm_usage WHERE model='$m'" 1
done
# (the fake does not list that model: its series is model="other", shared
# with the fast streams above, so count the observations above 0.25 s)
mt=$(curl -s "http://127.0.0.1:$S_PORT/metrics")
slow=$(( $(sed -n 's/^ingot_llm_ttft_seconds_bucket{provider="default",model="other",le="+Inf"} //p' <<<"$mt") - \
         $(sed -n 's/^ingot_llm_ttft_seconds_bucket{provider="default",model="other",le="0.25"} //p' <<<"$mt") ))
check "  and in the histogram ($slow above 0.25 s)" [ "$slow" -ge 1 ]

# A provider error after the 200 becomes one data: {"error":...} event,
# the last (no [DONE]); the chunks before it were relayed.
out=$($SSE "$S_PORT" /v1/chat/completions "$K" '{"model":"fake-midstream-error","stream":true,"messages":[{"role":"user","content":"hi"}]}')
seq=$(jq -r '.status, ([.events[] | select(.data != "[DONE]") | .data | fromjson | if .error then "E" else "c" end] | join(""))' <<<"$out" | tr '\n' ' ')
check "error mid-stream: 200, then chunks, then the error ($seq)" grep -Eq '^200 c+E $' <<<"$seq"
eq "  in OpenAI's shape" "$(jq -r '.events[-1].data | fromjson | .error | has("message") and has("type")' <<<"$out")" true
eq "  no [DONE] after it" "$(jq '[.events[] | select(.data == "[DONE]")] | length' <<<"$out")" 0
# The same ending through the Anthropic translation.
out=$($SSE "$S_PORT" /v1/chat/completions "$K" '{"model":"anth/fake-midstream-error","stream":true,"messages":[{"role":"user","content":"hi"}]}')
seq=$(jq -r '.status, ([.events[] | select(.data != "[DONE]") | .data | fromjson | if .error then "E" else "c" end] | join(""))' <<<"$out" | tr '\n' ' ')
check "anthropic error mid-stream: 200, then chunks, then the error ($seq)" grep -Eq '^200 c+E $' <<<"$seq"
eq "  ends with the error" "$(jq -r '.events[-1].data | fromjson | has("error")' <<<"$out")" true
eq "  no [DONE] after it, as on the OpenAI side" "$(jq '[.events[] | select(.data == "[DONE]")] | length' <<<"$out")" 0

# The provider refusing the gateway's own key is a 502 (a 401 would tell
# the SDK that the client's key is wrong); its other 4xx pass through.
eq "provider 401 with the configured key: 502" "$(post /v1/chat/completions '{"model":"fake-401","messages":[{"role":"user","content":"x"}]}')" 502
eq "provider 400: 400 with its error kept" "$(post /v1/chat/completions '{"model":"fake-400","messages":[{"role":"user","content":"x"}]}') $(jq -r .error.param b.json)" "400 temperature"

# Anthropic, streamed tool call, translated end to end.
tools='"tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]'
out=$($SSE "$S_PORT" /v1/chat/completions "$K" "{\"model\":\"anth/fake-pretext-calls-2\",\"stream\":true,$tools,\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"weather?\"}]}")
eq "anthropic stream: 200" "$(jq -r .status <<<"$out")" 200
r=$(rec fake-pretext-calls-2)
eq "  upstream: /messages" "$(jq -r .path <<<"$r")" /anthropic/v1/messages
eq "  upstream: the provider's x-api-key, no Authorization" "$(jq -r '[.headers["x-api-key"], (.headers.authorization // "none")] | join(" ")' <<<"$r")" "sk-ant-upstream-4567 none"
eq "  upstream: anthropic-version" "$(jq -r '.headers["anthropic-version"]' <<<"$r")" 2023-06-01
eq "  upstream: system hoisted" "$(jq -r '.json.system | if type == "string" then . else .[0].text end' <<<"$r")" "be brief"
eq "  every event a chat.completion.chunk" "$(jq -r '[.events[] | select(.data != "[DONE]") | .data | fromjson | .object] | unique | join(",")' <<<"$out")" chat.completion.chunk
eq "  the text before the calls" "$(jq -r '[.events[] | select(.data != "[DONE]") | .data | fromjson | .choices[0].delta.content // empty] | join("")' <<<"$out")" "Let me check."
eq "  two tool calls, arguments streamed in pieces" "$(jq -c '[.events[] | select(.data != "[DONE]") | .data | fromjson | .choices[0].delta.tool_calls // empty | .[]] | group_by(.index) | map({id: .[0].id, name: .[0].function.name, args: (map(.function.arguments // "") | join(""))})' <<<"$out")" \
    '[{"id":"toolu_fake_0","name":"weather","args":"{\"city\":\"Paris\",\"n\":0}"},{"id":"toolu_fake_1","name":"weather","args":"{\"city\":\"Paris\",\"n\":1}"}]'
eq "  finish_reason tool_calls" "$(jq -r '[.events[] | select(.data != "[DONE]") | .data | fromjson | .choices[0].finish_reason // empty] | join(",")' <<<"$out")" tool_calls
eq "  no usage chunk (not asked)" "$(jq '[.events[] | select(.data != "[DONE]") | .data | fromjson | select((.choices | length) == 0)] | length' <<<"$out")" 0
eq "  ends with one [DONE]" "$(jq -r '[.events[] | select(.data == "[DONE]")] | length' <<<"$out") $(jq -r '.events[-1].data' <<<"$out")" "1 [DONE]"
check "  ledger: provider anth, prompt tokens with cache reads" \
    wait_sql 50 "SELECT provider, status, prompt_tokens, cached_tokens FROM $DB.llm_usage WHERE model='anth/fake-pretext-calls-2'" "$(printf 'anth\t200\t12\t3')"
eq "anthropic embeddings: 400" "$(post /v1/embeddings '{"model":"anth/fake-ok","input":"x"}')" 400
eq "  naming model" "$(jq -r .error.param b.json)" model
eq "anthropic error 529 -> 503" "$(post /v1/chat/completions '{"model":"anth/fake-529","messages":[{"role":"user","content":"x"}]}')" 503
eq "  OpenAI's error shape" "$(jq -r '.error | has("message") and has("type")' b.json)" true

# A client that leaves mid-stream: upstream closed within 100 ms, the
# tokens produced so far recorded with 499. Both adapters.
for m in fake-delay-150-words-40-gone anth/fake-delay-150-words-40-gone; do
    up=${m#anth/}
    out=$($SSE "$S_PORT" /v1/chat/completions "$K" "{\"model\":\"$m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"$m\"}]}" --close-after-events 3)
    left=$(jq -r .closed_at <<<"$out")
    wait_until 30 sh -c "curl -s '$L/_log' | jq -e --arg c '$m' 'select(.body | contains(\$c)) | .closed_mono_ms != null' >/dev/null"
    closed=$(curl -s "$L/_log" | jq -r --arg c "$m" 'select(.body | contains($c)) | .closed_mono_ms')
    check "$m: client left, upstream closed within 100 ms ($(jq -n "$closed - $left" 2>/dev/null) ms)" \
        [ "$(jq -n "$closed != null and $closed - $left < 100")" = true ]
    wait_sql 50 "SELECT COUNT(*) FROM $DB.llm_usage WHERE model='$m' AND status=499" 1
    row=$(ledger "SELECT prompt_tokens, completion_tokens FROM llm_usage WHERE model='$m' AND status=499")
    check "  ledger: 499 with the prompt and the tokens so far ($row)" \
        sh -c "set -- $row; [ \"\$1\" -gt 0 ] && [ \"\$2\" -ge 1 ] && [ \"\$2\" -lt 40 ]"
done

# Redis stopped mid-run: a stream in flight finishes, new LLM calls go on
# (limits per process), all recorded.
$SSE "$S_PORT" /v1/chat/completions "$K" '{"model":"fake-delay-100-words-8-redis","stream":true,"messages":[{"role":"user","content":"hi"}]}' > inflight.json &
SP=$!
wait_until 50 sh -c "curl -s '$L/_log' | grep -q fake-delay-100-words-8-redis"
servers stop-redis
wait "$SP"
eq "redis stopped during a stream: it ends with [DONE]" "$(jq -r '.events[-1].data' inflight.json)" "[DONE]"
eq "  every chunk relayed" "$(jq -r '[.events[] | select(.data != "[DONE]") | .data | fromjson | .choices[0].delta.content // empty] | join("")' inflight.json)" " w1 w2 w3 w4 w5 w6 w7 w8"
check "  recorded" wait_sql 50 "SELECT COUNT(*) FROM $DB.llm_usage WHERE model='fake-delay-100-words-8-redis' AND status=200 AND completion_tokens=8" 1
eq "redis down: chat 200" "$(post /v1/chat/completions '{"model":"fake-ok-noredis","messages":[{"role":"user","content":"hi"}]}')" 200
out=$($SSE "$S_PORT" /v1/chat/completions "$K" '{"model":"fake-words-2-noredis","stream":true,"messages":[{"role":"user","content":"hi"}]}')
eq "redis down: stream 200 to [DONE]" "$(jq -r '.status, .events[-1].data' <<<"$out" | tr '\n' ' ')" "200 [DONE] "
check "  both recorded in the ledger" \
    wait_sql 50 "SELECT COUNT(*) FROM $DB.llm_usage WHERE model IN ('fake-ok-noredis','fake-words-2-noredis') AND status=200" 2
servers start-redis
eq "redis back: chat 200" "$(post /v1/chat/completions '{"model":"fake-ok","messages":[{"role":"user","content":"hi"}]}')" 200

# /v1/models: the providers' lists (a named one's as provider/model) and the routes.
models=$(curl -s "$U/v1/models" "${AUTH[@]}")
eq "models: the route listed" "$(jq -r '[.data[].id] | index("my-alias") != null' <<<"$models")" true
eq "  the named provider's models as anth/ID" "$(jq -r '[.data[].id | select(startswith("anth/"))] | length > 0' <<<"$models")" true

# A provider that says it is spent (remaining 0, reset in 1.5 s): a sync
# call waits for the reset (LLM_SYNC_MAX_WAIT 2 s) instead of reaching it;
# with a shorter bound it gets our 429 with retry-after.
eq "remaining 0: 200" "$(post /v1/chat/completions '{"model":"fake-remaining-0-reset-1500-a","messages":[{"role":"user","content":"a"}]}')" 200
eq "  the next call waits for the reset: 200" "$(post /v1/chat/completions '{"model":"fake-ok-after-reset","messages":[{"role":"user","content":"b"}]}')" 200
a_done=$(rec fake-remaining-0-reset-1500-a | jq -r .done_mono_ms)
b_at=$(rec fake-ok-after-reset | jq -r .mono_ms)
check "  it reached the provider after the reset ($(jq -n "$b_at - $a_done") ms >= 1400)" [ "$(jq -n "$b_at - $a_done >= 1400")" = true ]
LLM_SYNC_MAX_WAIT=100ms LLM_TIMEOUT=1s start_ingot S2 serve || finish
U2="http://127.0.0.1:$S2_PORT"
post2() { curl -s -D h.txt -o b.json -w '%{http_code}' -X POST "$U2$1" "${AUTH[@]}" -H 'Content-Type: application/json' -d "$2"; }
eq "remaining 0 again: 200" "$(post2 /v1/chat/completions '{"model":"fake-remaining-0-reset-3000-c","messages":[{"role":"user","content":"c"}]}')" 200
eq "  short wait bound: our 429" "$(post2 /v1/chat/completions '{"model":"fake-ok-held","messages":[{"role":"user","content":"d"}]}')" 429
check "  with retry-after-ms" [ -n "$(grep -i '^retry-after-ms:' h.txt)" ]
eq "  the provider never saw it" "$(rec fake-ok-held)" ""
# wait out the hold before the timeout check
wait_until 50 sh -c "curl -s -o /dev/null -w '%{http_code}' -X POST '$U2/v1/chat/completions' -H 'Authorization: Bearer $K' -d '{\"model\":\"fake-ok\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}' | grep -q 200"
# LLM_TIMEOUT: a provider that never answers is a 504 in OpenAI's shape.
t0=$(date +%s%N)
eq "hang: 504 after LLM_TIMEOUT" "$(post2 /v1/chat/completions '{"model":"fake-hang-timeout","messages":[{"role":"user","content":"x"}]}')" 504
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "  after about a second ($ms ms)" [ "$ms" -ge 900 -a "$ms" -lt 3000 ]
eq "  code upstream_timeout" "$(jq -r .error.code b.json)" upstream_timeout
check "  recorded as 504" wait_sql 50 "SELECT status FROM $DB.llm_usage WHERE model='fake-hang-timeout'" 504
stop_ingot "$S2_PID" "$S2_LOG"; eq "the second serve exits 0" $? 0

stop_ingot "$S_PID" "$S_LOG"; eq "serve drains and exits 0" $? 0
finish
