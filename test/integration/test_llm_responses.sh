# The Responses API (POST /v1/responses, GET and cancel of background ones)
# with the official openai SDK against fakellm: passed through to an openai
# provider, translated for an openai-chat provider and for Anthropic,
# background responses as llm.response jobs run by `ingot work`. The
# assertions run in node (test/llm/responses.mjs prints ok/FAIL lines).
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
LLM="$INGOT_ROOT/test/llm"

if ! [ -f "$INGOT_ROOT/test/node_modules/openai/package.json" ]; then
    bash "$INGOT_ROOT/test/sdk-setup.sh" >sdk-setup.log 2>&1 || { bad "openai SDK installed (test/sdk-setup.sh)"; cat sdk-setup.log; finish; }
fi

url=$(migrated_db llmresp) || { bad "migrate"; finish; }
export DATABASE_URL=$url
DB=ingot_llmresp
A=(--env-file /dev/null)
for t in acme other; do "$B" admin tenant create "$t" "${A[@]}" >/dev/null 2>&1; done
K=$("$B" admin key create --tenant acme "${A[@]}" 2>/dev/null)
KO=$("$B" admin key create --tenant other "${A[@]}" 2>/dev/null)

start_fakellm
FAKE=$L
UPKEY=upstream-secret-key-0123456789
printf %s chat-only-key-123456 | "$B" admin provider add chatonly --type openai-chat --base-url "$FAKE/openai/v1" --api-key-stdin "${A[@]}" >/dev/null 2>&1
check "provider add chatonly --type openai-chat" sh -c "'$B' admin provider list ${A[*]} | grep chatonly | grep -q openai-chat"
printf %s anth-operator-key-17 | "$B" admin provider add anth --type anthropic --base-url "$FAKE/anthropic/v1" --api-key-stdin "${A[@]}" >/dev/null 2>&1
check "provider add anth" sh -c "'$B' admin provider list ${A[*]} | grep -q anth"

printf %s noresp-key-1234567 | "$B" admin provider add noresp --type openai --base-url "$FAKE/elsewhere/v1" --api-key-stdin "${A[@]}" >/dev/null 2>&1
export USAGE_FLUSH_INTERVAL=200ms LLM_BASE_URL="$FAKE/openai/v1" LLM_API_KEY=$UPKEY
start_ingot S serve || finish
QUEUE_POLL_INTERVAL=200ms start_ingot W work --http-target-allow 127.0.0.0/8 || finish

out=responses.out
INGOT_URL="http://127.0.0.1:$S_PORT" INGOT_KEY=$K OTHER_KEY=$KO FAKE_URL=$FAKE UPSTREAM_KEY=$UPKEY \
    timeout 150 node "$LLM/responses.mjs" >"$out" 2>&1
rc=$?
p=$(grep -c '^ok ' "$out"); f=$(grep -c '^FAIL ' "$out")
T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
cat "$out"
if [ "$rc" != 0 ] && [ "$f" = 0 ]; then bad "responses.mjs: node exited $rc"; fi

# The jobs API takes the kind too; its job reads as a background response.
SU="http://127.0.0.1:$S_PORT"
code=$(curl -s -o job.json -w '%{http_code}' -H "Authorization: Bearer $K" -H 'Content-Type: application/json' \
    -d '{"kind":"llm.response","queue":"resp-api","payload":{"model":"chatonly/fake-ok","input":"hi"}}' "$SU/v1/jobs")
eq "POST /v1/jobs kind llm.response: 202" "$code" 202
jid=$(jq -r .id job.json | sed 's/^job_//')
rs() { curl -s -H "Authorization: Bearer $K" "$SU/v1/responses/resp_$jid" | jq -r .status; }
check "the job reads as resp_$jid, completed" wait_out 100 completed rs
eq "its output_text" "$(curl -s -H "Authorization: Bearer $K" "$SU/v1/responses/resp_$jid" | jq -r '.output[0].content[0].text')" "Hello! This is fakellm."
code=$(curl -s -o bad.json -w '%{http_code}' -H "Authorization: Bearer $K" -H 'Content-Type: application/json' \
    -d '{"kind":"llm.response","payload":{"model":"fake-ok","input":"hi","background":true}}' "$SU/v1/jobs")
eq "a job with payload.background: 400" "$code" 400
eq "  naming payload.background" "$(jq -r .error.param bad.json)" payload.background
code=$(curl -s -o bad.json -w '%{http_code}' -H "Authorization: Bearer $K" -H 'Content-Type: application/json' \
    -d '{"kind":"llm.response","payload":{"model":"chatonly/fake-ok","input":"hi","previous_response_id":"resp_1"}}' "$SU/v1/jobs")
eq "a job that cannot be translated: 400" "$code" 400
eq "  naming payload.previous_response_id" "$(jq -r .error.param bad.json)" payload.previous_response_id
code=$(curl -s -o bad.json -w '%{http_code}' -H "Authorization: Bearer $K" "$SU/v1/responses/resp_$(jq -r .id job.json | sed 's/^job_//')9999")
eq "an unknown response: 404" "$code" 404
http_job=$(curl -s -H "Authorization: Bearer $K" -H 'Content-Type: application/json' \
    -d '{"kind":"http","queue":"resp-api","delay_ms":3600000,"payload":{"method":"GET","url":"http://127.0.0.1:9/x"}}' "$SU/v1/jobs" | jq -r .id | sed 's/^job_//')
eq "another kind's job is no response: 404" "$(http_code "$SU/v1/responses/resp_$http_job" -H "Authorization: Bearer $K")" 404

# An openai provider without the Responses API: the client hears the
# provider's 404, the operator's log says what to change.
code=$(curl -s -o nr.out -w '%{http_code}' -H "Authorization: Bearer $K" -H 'Content-Type: application/json' \
    -d '{"model":"noresp/fake-ok","input":"hi"}' "$SU/v1/responses")
eq "a provider without /responses: its 404 relayed" "$code" 404
check "  and the log names the fix" grep -q "provider noresp answered 404 to /responses: .*openai-chat" "$S_LOG"

# A background request is stored as a job: at most JOB_MAX_PAYLOAD (256kb).
big=$(head -c 300000 /dev/zero | tr '\0' a)
printf '{"model":"fake-ok","background":true,"input":"%s"}' "$big" > big.json
code=$(curl -s -o big.out -w '%{http_code}' -H "Authorization: Bearer $K" -H 'Content-Type: application/json' --data-binary @big.json "$SU/v1/responses")
eq "a background request over JOB_MAX_PAYLOAD: 413" "$code" 413
eq "  naming no internal field" "$(jq -r '.error.param // ""' big.out)" ""

# kill -9 of the worker while it runs a background response: the lease
# expires, another worker runs it again, it completes once.
stop_ingot "$W_PID" "$W_LOG"
QUEUE_POLL_INTERVAL=200ms start_ingot W9 work --queue-lease 1500ms --http-target-allow 127.0.0.0/8 || finish
rid=$(curl -s -H "Authorization: Bearer $K" -H 'Content-Type: application/json' \
    -d '{"model":"fake-delay-3000-t9","input":"durable","background":true}' "$SU/v1/responses" | jq -r .id)
rstat() { curl -s -H "Authorization: Bearer $K" "$SU/v1/responses/$rid" | jq -r .status; }
check "kill -9: $rid runs" wait_out 100 in_progress rstat
check "  and reached the provider" wait_until 100 sh -c "curl -s '$FAKE/_log' | grep -q fake-delay-3000-t9"
# and one with a single attempt, which the lease recovery fails: announced
# as response.failed in the recovery's transaction (acme's endpoint above)
lid=$(curl -s -H "Authorization: Bearer $K" -H 'Content-Type: application/json' \
    -d '{"kind":"llm.response","queue":"responses","max_attempts":1,"payload":{"model":"fake-hang-t10","input":"x"}}' \
    "$SU/v1/jobs" | jq -r .id | sed 's/^job_//')
check "  a one-attempt response reached the provider too" wait_until 100 sh -c "curl -s '$FAKE/_log' | grep -q fake-hang-t10"
kill -9 "$W9_PID"; wait "$W9_PID" 2>/dev/null
QUEUE_POLL_INTERVAL=200ms start_ingot W10 work --queue-lease 1500ms --http-target-allow 127.0.0.0/8 || finish
check "kill -9: another worker completes it" wait_out 300 completed rstat
eq "  its text" "$(curl -s -H "Authorization: Bearer $K" "$SU/v1/responses/$rid" | jq -r '.output[0].content[0].text')" "Hello! This is fakellm."
eq "  two attempts, one recorded outcome" "$(mysql_root -e "SELECT attempts, state FROM $DB.jobs WHERE id = ${rid#resp_}" | tr '\t' ' ')" "2 2"
check "kill -9: the one-attempt response is failed by the recovery" wait_sql 300 "SELECT state FROM $DB.jobs WHERE id = $lid" 3
eq "  and its response.failed webhook queued with it, once" \
    "$(mysql_root -e "SELECT COUNT(*) FROM $DB.jobs WHERE kind = 'webhook' AND payload LIKE '%response.failed%resp_$lid\\\"%'")" 1

# Usage: Responses calls are recorded like chat, with the Responses usage
# fields read as prompt and completion tokens.
check "usage: a passed-through responses row (12 in, 5 out)" wait_sql 50 \
    "SELECT COUNT(*) > 0 FROM $DB.llm_usage WHERE endpoint = 'responses' AND model = 'fake-ok' AND status = 200 AND prompt_tokens = 12 AND completion_tokens = 5" 1
check "usage: a translated (chat-only) responses row" wait_sql 50 \
    "SELECT COUNT(*) > 0 FROM $DB.llm_usage WHERE endpoint = 'responses' AND provider = 'chatonly' AND prompt_tokens = 12 AND completion_tokens = 5" 1
check "usage: a background response's row carries its job" wait_sql 50 \
    "SELECT COUNT(*) > 0 FROM $DB.llm_usage WHERE endpoint = 'responses' AND job_id IS NOT NULL AND job_id > 0" 1
check "usage: the streams the clients left are 499 rows with the tokens produced" wait_sql 50 \
    "SELECT COUNT(*) FROM $DB.llm_usage WHERE endpoint = 'responses' AND model LIKE '%t499' AND status = 499 AND completion_tokens > 0" 2
eq "jobs: background responses are llm.response jobs in queue responses" \
    "$(mysql_root -e "SELECT COUNT(*) > 0 FROM $DB.jobs WHERE kind = 'llm.response' AND queue = 'responses' AND state = 2")" 1
eq "jobs: the cancelled ones are cancelled" \
    "$(mysql_root -e "SELECT COUNT(*) FROM $DB.jobs WHERE kind = 'llm.response' AND state = 4")" 4
eq "jobs: the refused one and the recovered one failed" \
    "$(mysql_root -e "SELECT COUNT(*) FROM $DB.jobs WHERE kind = 'llm.response' AND state = 3")" 2

# A provider's malformed stream chunk, translated: the stream ends with one
# error event numbered after the events before it (the SDK orders events
# by sequence_number; it was 0, and a second "ended early" error followed).
sse_seq() {
    curl -sN --max-time 10 -H "Authorization: Bearer $K" -H 'Content-Type: application/json' -d "$1" "$SU/v1/responses" |
        sed -n 's/^data: //p' | jq -r '"\(.type) \(.sequence_number)"'
}
for m in chatonly anth; do
    ev=$(sse_seq "{\"model\":\"$m/fake-badjson\",\"input\":\"hi\",\"stream\":true}")
    eq "$m: a malformed chunk ends the stream with one error event" "$(grep -c '^error ' <<<"$ev")" 1
    eq "  numbered after the events before it" "$(tail -1 <<<"$ev")" "error 2"
done
ev=$(sse_seq '{"model":"chatonly/fake-midstream-error","input":"hi","stream":true}')
eq "chatonly: the provider's mid-stream error is numbered after the deltas" "$(tail -1 <<<"$ev")" "error 6"
# A background request retried with its Idempotency-Key (what a 500
# job_state_unknown advises) makes no second job: the first's response.
bgk() {
    curl -s -o bgk.json -w '%{http_code}' -H "Authorization: Bearer $K" -H 'Content-Type: application/json' \
        -H "Idempotency-Key: $1" -d "$2" "$SU/v1/responses"
}
eq "background with an Idempotency-Key: 200" "$(bgk rk-1 '{"model":"chatonly/fake-ok-t13","input":"once","background":true}')" 200
k1=$(jq -r .id bgk.json)
eq "  the same again: 200" "$(bgk rk-1 '{"model":"chatonly/fake-ok-t13","input":"once","background":true}')" 200
eq "  the same response ($k1)" "$(jq -r .id bgk.json)" "$k1"
eq "  one job" "$(mysql_root -e "SELECT COUNT(*) FROM $DB.jobs WHERE kind = 'llm.response' AND payload LIKE '%t13%'")" 1
eq "  the key with another body: 422 naming the header" \
    "$(bgk rk-1 '{"model":"chatonly/fake-ok-t13","input":"twice","background":true}') $(jq -r .error.param bgk.json)" \
    "422 Idempotency-Key"
eq "  a key of the batches' prefix: 400" "$(bgk 'batch:x' '{"model":"chatonly/fake-ok","input":"x","background":true}')" 400
# "background" spelled with an escape is the same field: still a job.
eq "background written backgroun\\u0064: 200" "$(bgk rk-esc '{"model":"chatonly/fake-ok-t14","input":"esc","backgroun\u0064":true}')" 200
eq "  a queued response" "$(jq -r .status bgk.json)" queued
eq "  its job" "$(mysql_root -e "SELECT COUNT(*) FROM $DB.jobs WHERE kind = 'llm.response' AND payload LIKE '%t14%'")" 1

# A provider that stops mid-stream (LLM_TIMEOUT passes), passed through or
# translated: ingot's error event comes last, numbered after the provider's.
LLM_TIMEOUT=1s start_ingot S2 serve || finish
for m in fake-stall-t12 chatonly/fake-stall-t12; do
    ev=$(SU="http://127.0.0.1:$S2_PORT" sse_seq "{\"model\":\"$m\",\"input\":\"hi\",\"stream\":true}")
    eq "$m: ended early, one error event, last" "$(grep -c '^error ' <<<"$ev") $(tail -1 <<<"$ev" | cut -d' ' -f1)" "1 error"
    check "  the sequence numbers increase to it" awk 'NR > 1 && $2 != prev + 1 { exit 1 } { prev = $2 }' <<<"$ev"
done
stop_ingot "$S2_PID" "$S2_LOG"
# Fields a chat-only provider would take as given are typed first (they
# are echoed in the Response the SDK parses).
for f in '"temperature":"hot"' '"temperature":9' '"top_p":2' '"user":7' '"text":5'; do
    code=$(curl -s -o bad.json -w '%{http_code}' -H "Authorization: Bearer $K" -H 'Content-Type: application/json' \
        -d "{\"model\":\"chatonly/fake-ok\",\"input\":\"hi\",$f}" "$SU/v1/responses")
    eq "translated, $f: 400 naming it" "$code $(jq -r .error.param bad.json)" "400 $(cut -d'"' -f2 <<<"$f")"
done
finish
