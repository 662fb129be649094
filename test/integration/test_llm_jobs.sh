# llm.chat and llm.embed jobs end to end against the C fake provider
# (test/fakes/fakellm): results and usage stored, retries honouring the
# provider's retry-after-ms, a provider 400 failing at once with its error
# kept, a throttled provider putting jobs back without spending attempts,
# refusals at enqueue (unroutable model, stream: true), an http job beside
# them, a job through an Anthropic provider, a hanging provider bounded by
# timeout_ms, a worker without providers leaving llm jobs queued, a drain.
. "$(dirname "$0")/lib.sh"
unset BUILT_IN_FORGE_API_URL BUILT_IN_FORGE_API_KEY
jobs_setup llm_jobs
q() { mysql_root -e "$1"; }

start_fakellm # sets LP and L
export LLM_PROVIDER=openai LLM_BASE_URL="$L/openai/v1" LLM_API_KEY=sk-upstream-fake-0123

# A named Anthropic provider (jobs name it by prefix: anth/MODEL).
echo anth-upstream-key | "$INGOT_BIN" admin provider add anth --type anthropic --base-url "$L/anthropic/v1" \
    --api-key-stdin --env-file /dev/null >/dev/null 2>&1
# A provider nobody listens for (transport errors).
"$INGOT_BIN" admin provider add dead --type openai --base-url "http://127.0.0.1:$(free_port)/v1" \
    --env-file /dev/null >/dev/null 2>&1
start_ingot S serve
U="http://127.0.0.1:$S_PORT"
start_ingot W work --http-target-allow 127.0.0.0/8,::1/128
enqueue() { curl -s -X POST "$U/v1/jobs" "${AUTH[@]}" -d "$1" | jq -r .id; }
wait_state() { wait_until "${3:-150}" sh -c "test \"\$(mariadb --no-defaults --socket=$MARIADB_SOCKET -uroot -N -B -e 'SELECT state FROM $DB.jobs WHERE id = ${1#job_}')\" = $2"; }
job() { curl -s "$U/v1/jobs/$1" "${AUTH[@]}"; }
# fake_log MODEL: the fake's records of requests for that model, one a line
fake_log() { curl -s "$L/_log" | jq -c --arg m "$1" 'select(.json.model == $m)'; }
chat() { # chat MODEL [extra job fields]
    printf '{"kind":"llm.chat","queue":"llm","payload":{"model":"%s","messages":[{"role":"user","content":"hello %s"}]}%s}' \
        "$1" "$RANDOM" "${2:-}"
}

# A chat job: the result is the provider's response, the usage is stored.
J1=$(enqueue "$(chat fake-ok)")
check "llm.chat job succeeds" wait_state "$J1" 2
r=$(job "$J1")
eq "  result is the provider's completion" "$(jq -r .result.choices[0].message.content <<<"$r")" "Hello! This is fakellm."
eq "  result object" "$(jq -r .result.object <<<"$r")" "chat.completion"
eq "  usage shown" "$(jq -c '[.usage.prompt_tokens, .usage.completion_tokens, .usage.total_tokens]' <<<"$r")" "[12,5,17]"
eq "  usage stored in jobs.usage" "$(q "SELECT JSON_VALUE(\`usage\`, '$.prompt_tokens') FROM $DB.jobs WHERE id = ${J1#job_}")" 12
eq "  one attempt" "$(jq -r .attempts <<<"$r")" 1
eq "  attempt row" "$(q "SELECT CONCAT(outcome, ' ', http_status) FROM $DB.job_attempts WHERE job_id = ${J1#job_}")" "succeeded 200"
rec=$(fake_log fake-ok | tail -1)
eq "  sent with the provider's key" "$(jq -r '.headers.authorization' <<<"$rec")" "Bearer sk-upstream-fake-0123"
eq "  payload sent as the body" "$(jq -r '.json.messages[0].role' <<<"$rec")" user
wm=$(curl -s "http://127.0.0.1:$W_PORT/metrics")
contains "  outcome metric by its kind" "$wm" 'ingot_jobs_total{queue="llm",kind="llm.chat",outcome="succeeded"} 1'
contains "  started metric by its kind" "$wm" 'ingot_jobs_started_total{queue="llm",kind="llm.chat"} 1'
contains "  log line names the kind" "$(cat "$W_LOG")" '"kind":"llm.chat"'

# An embeddings job.
J2=$(enqueue '{"kind":"llm.embed","queue":"llm","payload":{"model":"fake-ok","input":["a","b","c"]}}')
check "llm.embed job succeeds" wait_state "$J2" 2
r=$(job "$J2")
eq "  three embeddings" "$(jq -r '.result.data | length' <<<"$r")" 3
eq "  floats, as the payload asked nothing else" "$(jq -r '.result.data[0].embedding | type' <<<"$r")" array
J2B=$(enqueue '{"kind":"llm.embed","queue":"llm","payload":{"model":"fake-ok","input":"a","encoding_format":"base64"}}')
check "llm.embed job with base64 succeeds" wait_state "$J2B" 2
eq "  base64, as the payload asked" "$(job "$J2B" | jq -r '.result.data[0].embedding | type')" string
eq "  usage stored" "$(jq -r '.usage.prompt_tokens' <<<"$r")" 12

# A chat job through the Anthropic provider: the result in OpenAI's shape.
JA=$(enqueue "$(chat anth/fake-ok)")
check "llm.chat job through an anthropic provider succeeds" wait_state "$JA" 2
r=$(job "$JA")
eq "  result translated to a chat.completion" "$(jq -r '[.result.object, .result.choices[0].message.content, .result.choices[0].finish_reason] | join("|")' <<<"$r")" "chat.completion|Hello! This is fakellm.|stop"
eq "  usage with the cache tokens in prompt_tokens" "$(jq -c '[.usage.prompt_tokens, .usage.prompt_tokens_details.cached_tokens]' <<<"$r")" "[12,3]"
rec=$(curl -s "$L/_log" | jq -c 'select(.path == "/anthropic/v1/messages")' | tail -1)
eq "  sent as Messages with the provider's key" "$(jq -r '[.headers["x-api-key"], .json.model] | join(" ")' <<<"$rec")" "anth-upstream-key fake-ok"

# A provider that never answers: the job's timeout_ms bounds each attempt.
JT=$(enqueue "$(chat fake-hang-timeout ',"timeout_ms":300,"max_attempts":2,"backoff":{"base_ms":50,"max_ms":50}')")
check "a hanging provider: timed out twice, failed" wait_state "$JT" 3
eq "  two attempts" "$(job "$JT" | jq -r .attempts)" 2
eq "  the provider saw two requests" "$(fake_log fake-hang-timeout | wc -l)" 2

# An http job still runs beside them.
JH=$(enqueue "{\"kind\":\"http\",\"payload\":{\"url\":\"$T/ok\"}}")
check "http job beside llm jobs succeeds" wait_state "$JH" 2
eq "  http job has no usage field" "$(job "$JH" | jq -r 'has("usage")')" false

# 429 with retry-after-ms 600, then success: the retry waits at least what
# the provider said (the backoff alone would be 50 ms), and counts two
# attempts.
J3=$(enqueue "$(chat fake-flaky-1-429-retry-600 ',"backoff":{"base_ms":50,"max_ms":100}')")
check "429 then success" wait_state "$J3" 2
eq "  two attempts" "$(job "$J3" | jq -r .attempts)" 2
eq "  attempt rows" "$(q "SELECT GROUP_CONCAT(CONCAT(outcome, ' ', http_status) ORDER BY attempt) FROM $DB.job_attempts WHERE job_id = ${J3#job_}")" "retry 429,succeeded 200"
gap=$(fake_log fake-flaky-1-429-retry-600 | jq -s '.[1].mono_ms - .[0].mono_ms')
check "  retried after retry-after-ms (${gap} ms >= 590)" [ "$(jq -n "$gap >= 590")" = true ]

# A 400 from the provider fails at once; its error is kept.
J4=$(enqueue "$(chat fake-400 ',"max_attempts":5')")
check "provider 400 fails at once" wait_state "$J4" 3
r=$(job "$J4")
eq "  one attempt" "$(jq -r .attempts <<<"$r")" 1
eq "  provider reached once" "$(fake_log fake-400 | wc -l)" 1
contains "  last_error has the provider's message" "$(jq -r .last_error <<<"$r")" "Invalid value for 'temperature'"
eq "  result is the provider's error body" "$(jq -r .result.error.param <<<"$r")" temperature
eq "  attempt row" "$(q "SELECT CONCAT(outcome, ' ', http_status) FROM $DB.job_attempts WHERE job_id = ${J4#job_}")" "failed 400"

# No provider answer (nobody listens): last_error says what happened, with
# no "HTTP n" as if the provider had answered, and no http_status.
JD=$(enqueue "$(chat dead/fake-ok ',"max_attempts":1')")
check "unreachable provider: failed" wait_state "$JD" 3
r=$(job "$JD")
contains "  last_error says it could not be reached" "$(jq -r .last_error <<<"$r")" "could not be reached"
case "$(jq -r .last_error <<<"$r")" in HTTP*) bad "  without an HTTP status prefix" ;; *) ok "  without an HTTP status prefix" ;; esac
eq "  http_status null" "$(q "SELECT IFNULL(http_status, 'null') FROM $DB.job_attempts WHERE job_id = ${JD#job_}")" null

# 500s retry while attempts remain, then fail with the last error.
J5=$(enqueue "$(chat fake-500 ',"max_attempts":2,"backoff":{"base_ms":50,"max_ms":50}')")
check "provider 500: retried, then failed" wait_state "$J5" 3
eq "  two attempts" "$(job "$J5" | jq -r .attempts)" 2

# A throttled provider: its answer said remaining 0 for 1.5 s. The next job
# is put back without spending an attempt and reaches the provider only
# after the reset.
J6=$(enqueue "$(chat fake-remaining-0-reset-1500)")
check "a job whose answer says remaining 0 succeeds" wait_state "$J6" 2
J7=$(enqueue "$(chat fake-after-throttle ',"max_attempts":1')")
check "the next job still succeeds (one attempt allowed)" wait_state "$J7" 2 200
eq "  it spent one attempt" "$(job "$J7" | jq -r .attempts)" 1
eq "  one attempt row" "$(q "SELECT COUNT(*) FROM $DB.job_attempts WHERE job_id = ${J7#job_}")" 1
t6=$(fake_log fake-remaining-0-reset-1500 | jq -s '.[0].mono_ms')
t7=$(fake_log fake-after-throttle | jq -s '.[0].mono_ms')
check "  it reached the provider after the reset ($(jq -n "$t7 - $t6") ms >= 1400)" [ "$(jq -n "$t7 - $t6 >= 1400")" = true ]
contains "  put back, counted as waited" "$(curl -s "http://127.0.0.1:$W_PORT/metrics")" 'ingot_jobs_total{queue="llm",kind="llm.chat",outcome="waited"}'

# A budget refusal puts the job back without spending an attempt, until
# the budget's reset (re-checked at least hourly); a job whose own
# reservation is larger than the whole budget fails at once saying so.
K2=$("$INGOT_BIN" admin key create --tenant acme --env-file /dev/null 2>/dev/null)
"$INGOT_BIN" admin tenant limits acme --key "${K2:0:11}" --tokens-per-day 2000 --env-file /dev/null >/dev/null 2>&1
enq2() { curl -s -X POST "$U/v1/jobs" -H "Authorization: Bearer $K2" -d "$1" | jq -r .id; }
big() { # a job reserving more than the key's whole budget fails (once the worker read the limit)
    JB0=$(enq2 '{"kind":"llm.chat","queue":"llm","max_attempts":3,"payload":{"model":"fake-ok","max_tokens":5000,"messages":[{"role":"user","content":"hi"}]}}')
    wait_until 100 sh -c "curl -s '$U/v1/jobs/$JB0' -H 'Authorization: Bearer $K2' | jq -e '.status == \"failed\" or .status == \"succeeded\"' >/dev/null"
    [ "$(job "$JB0" | jq -r .status)" = failed ]
}
check "a job larger than the whole budget fails" wait_until 150 big
r=$(job "$JB0")
eq "  at once (one attempt of three)" "$(jq -r .attempts <<<"$r")" 1
contains "  saying it can never fit" "$(jq -r .last_error <<<"$r")" "more than the API key's whole budget of 2000 tokens per day"
contains "  and what to do" "$(jq -r .last_error <<<"$r")" "lower max_tokens"
JB2=$(enq2 '{"kind":"llm.chat","queue":"llm","payload":{"model":"fake-ok-prompt-1200","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}}')
check "a job within the budget runs" wait_state "$JB2" 2
# The job's row says succeeded once its outcome is committed; its usage is
# settled in Redis right after the answer, not before it: wait for it.
over() {
    out=$(curl -s -X POST "$U/v1/chat/completions" -H "Authorization: Bearer $K2" -H 'Content-Type: application/json' \
        -d '{"model":"fake-ok","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}')
    grep -Eq "the API key's budget of 2000 tokens per day has [0-9]+ tokens left and this call reserves 10[0-9][0-9] " <<<"$out"
}
check "a sync call over what is left says how much is left" wait_until 50 over
contains "  and that max_tokens is reserved" "$out" "the prompt estimate plus max_tokens"
waited() { curl -s "http://127.0.0.1:$W_PORT/metrics" | awk '/^ingot_jobs_total\{queue="llm",kind="llm.chat",outcome="waited"\}/ { print $2 }'; }
w0=$(waited)
JB1=$(enq2 '{"kind":"llm.chat","queue":"llm","max_attempts":1,"payload":{"model":"fake-ok-budget","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}}')
check "a job over what is left of the budget is put back" wait_until 100 sh -c "test \"\$(curl -s http://127.0.0.1:$W_PORT/metrics | awk '/^ingot_jobs_total\\{queue=\"llm\",kind=\"llm.chat\",outcome=\"waited\"\\}/ { print \$2 }')\" -gt ${w0:-0}"
r=$(job "$JB1")
eq "  queued, no attempt spent" "$(jq -r '[.status, .attempts] | join(" ")' <<<"$r")" "queued 0"
left=$(q "SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(6), run_at) FROM $DB.jobs WHERE id = ${JB1#job_}")
reset=$(( 86400 - $(date -u +%s) % 86400 )); [ $reset -gt 3600 ] && reset=3600
check "  until the day's reset, at most an hour ($left s ~ $reset s)" [ "$left" -ge $((reset - 30)) -a "$left" -le $((reset + 5)) ]
eq "  the provider never saw it" "$(fake_log fake-ok-budget | wc -l)" 0
"$INGOT_BIN" admin tenant limits acme --key "${K2:0:11}" --tokens-per-day none --env-file /dev/null >/dev/null 2>&1
rerun() { # its hourly re-check, brought forward until the worker has read the raised budget
    q "UPDATE $DB.jobs SET run_at = UTC_TIMESTAMP(6) WHERE id = ${JB1#job_} AND state = 0"
    test "$(q "SELECT state FROM $DB.jobs WHERE id = ${JB1#job_}")" = 2
}
check "  and runs once the budget allows" wait_until 150 rerun
eq "  with one attempt" "$(job "$JB1" | jq -r .attempts)" 1

# Refused when they arrive: stream: true names payload.stream.
resp=$(curl -s -w '\n%{http_code}' -X POST "$U/v1/jobs" "${AUTH[@]}" \
    -d '{"kind":"llm.chat","payload":{"model":"fake-ok","stream":true,"messages":[{"role":"user","content":"x"}]}}')
eq "stream: true refused at enqueue" "$(tail -1 <<<"$resp")" 400
eq "  naming payload.stream" "$(head -1 <<<"$resp" | jq -r .error.param)" payload.stream
resp=$(curl -s -w '\n%{http_code}' -X POST "$U/v1/jobs/batch" "${AUTH[@]}" \
    -d '[{"kind":"http","payload":{"url":"http://127.0.0.1:9/"}},{"kind":"llm.chat","payload":{"model":"fake-ok","stream":true,"messages":[{"role":"user","content":"x"}]}}]')
eq "  in a batch too" "$(tail -1 <<<"$resp")" 400
eq "  naming jobs[1].payload.stream" "$(head -1 <<<"$resp" | jq -r .error.param)" "jobs[1].payload.stream"

# An unroutable model (no default provider, no route): 400 naming
# payload.model at enqueue, for jobs, batches and schedules alike.
unset LLM_BASE_URL LLM_API_KEY
start_ingot NS serve
export LLM_BASE_URL="$L/openai/v1" LLM_API_KEY=sk-upstream-fake-0123
N="http://127.0.0.1:$NS_PORT"
before=$(q "SELECT COUNT(*) FROM $DB.jobs")
resp=$(curl -s -w '\n%{http_code}' -X POST "$N/v1/jobs" "${AUTH[@]}" -d "$(chat fake-ok)")
eq "unroutable model refused at enqueue" "$(tail -1 <<<"$resp")" 400
eq "  naming payload.model" "$(head -1 <<<"$resp" | jq -r .error.param)" payload.model
resp=$(curl -s -w '\n%{http_code}' -X POST "$N/v1/jobs/batch" "${AUTH[@]}" -d "[$(chat fake-ok)]")
eq "  batch: 400 naming jobs[0].payload.model" "$(tail -1 <<<"$resp") $(head -1 <<<"$resp" | jq -r .error.param)" "400 jobs[0].payload.model"
resp=$(curl -s -w '\n%{http_code}' -X PUT "$N/v1/schedules/llm-tick" "${AUTH[@]}" -d "{\"cron\":\"@every 10s\",\"job\":$(chat fake-ok)}")
eq "  schedule: 400 naming job.payload.model" "$(tail -1 <<<"$resp") $(head -1 <<<"$resp" | jq -r .error.param)" "400 job.payload.model"
eq "  nothing queued" "$(q "SELECT COUNT(*) FROM $DB.jobs")" "$before"
stop_ingot "$NS_PID" "$NS_LOG"; eq "serve without a provider exits 0" $? 0
resp=$(curl -s -w '\n%{http_code}' -X PUT "$U/v1/schedules/llm-tick" "${AUTH[@]}" -d "{\"cron\":\"@every 10s\",\"paused\":true,\"job\":$(chat fake-ok)}")
eq "a routable schedule is accepted" "$(tail -1 <<<"$resp")" 200

# Lease lost mid-call (cancel): the upstream request is closed at once.
J8=$(enqueue "$(chat fake-hang ',"timeout_ms":60000')")
wait_until 100 sh -c "curl -s '$L/_log' | grep -q fake-hang"
curl -s -o /dev/null -X POST "$U/v1/jobs/$J8/cancel" "${AUTH[@]}"
check "cancel of a running llm job closes the upstream request" \
    wait_until 50 sh -c "curl -s '$L/_log' | jq -e 'select(.json.model == \"fake-hang\") | .closed_mono_ms != null' >/dev/null"
contains "  aborted, nothing recorded" "$(curl -s "http://127.0.0.1:$W_PORT/metrics")" 'ingot_requests_aborted_total 1'

stop_ingot "$W_PID" "$W_LOG"; eq "worker exits 0" $? 0

# A worker without any provider runs http jobs but leaves llm.* jobs
# queued for a worker that has one (rather than failing them).
"$INGOT_BIN" admin provider remove anth --force --env-file /dev/null >/dev/null 2>&1
"$INGOT_BIN" admin provider remove dead --force --env-file /dev/null >/dev/null 2>&1
unset LLM_BASE_URL LLM_API_KEY
start_ingot W0 work --http-target-allow 127.0.0.0/8,::1/128
J10=$(enqueue "$(chat fake-ok-later)")
JH2=$(enqueue "{\"kind\":\"http\",\"payload\":{\"url\":\"$T/ok\"}}")
check "a worker without providers runs http jobs" wait_state "$JH2" 2
eq "  and leaves llm jobs queued" "$(job "$J10" | jq -r '[.status, .attempts] | join(" ")')" "queued 0"
stop_ingot "$W0_PID" "$W0_LOG"; eq "  it exits 0" $? 0
export LLM_BASE_URL="$L/openai/v1" LLM_API_KEY=sk-upstream-fake-0123

# SIGTERM with an llm job in flight: near the end of the grace the job is
# handed back (attempt not spent) and its upstream call closed.
SHUTDOWN_GRACE=2s start_ingot W2 work
J9=$(enqueue "$(chat fake-hang-drain ',"timeout_ms":60000')")
wait_until 100 sh -c "curl -s '$L/_log' | grep -q fake-hang-drain"
stop_ingot "$W2_PID" "$W2_LOG"; eq "worker with an llm call in flight drains and exits 0" $? 0
eq "  the job is queued again, its attempt not spent" "$(job "$J9" | jq -r '[.status, .attempts] | join(" ")')" "queued 0"
eq "  its upstream call was closed" "$(fake_log fake-hang-drain | jq -r '.closed_mono_ms != null')" true
eq "the queued llm job ran on the worker with a provider" "$(job "$J10" | jq -r .status)" succeeded

stop_ingot "$S_PID" "$S_LOG"; eq "serve exits 0" $? 0
finish
