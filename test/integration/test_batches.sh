# The Batch API (/v1/batches) end to end with the official openai SDK as
# the client (test/llm/batches.mjs) against the C fake provider and its
# Anthropic side: chat and embeddings batches to completed with every
# custom_id matched, create's refusals, a batch through an Anthropic
# provider, a cancelled and an expired batch (partial output, the rest as
# errors), a finalization redone, kill -9 of the worker and of the leading
# scheduler mid-batch (exact output, one job per line), fairness (a
# 20k-line batch of one tenant, then a 10-line batch of another and one of
# its own: the small ones finish first), the metrics.
. "$(dirname "$0")/lib.sh"
unset BUILT_IN_FORGE_API_URL BUILT_IN_FORGE_API_KEY
B=$INGOT_BIN

if ! [ -f "$INGOT_ROOT/test/node_modules/openai/package.json" ]; then
    bash "$INGOT_ROOT/test/sdk-setup.sh" >sdk-setup.log 2>&1 || { bad "openai SDK installed (test/sdk-setup.sh)"; cat sdk-setup.log; finish; }
fi

url=$(migrated_db batches) || { bad "migrate"; finish; }
export DATABASE_URL=$url
DB=ingot_batches
A=(--env-file /dev/null)
for t in acme other; do "$B" admin tenant create "$t" "${A[@]}" >/dev/null 2>&1; done
K=$("$B" admin key create --tenant acme "${A[@]}" 2>/dev/null)
KO=$("$B" admin key create --tenant other "${A[@]}" 2>/dev/null)
start_fakellm # LP, L
export LLM_PROVIDER=openai LLM_BASE_URL="$L/openai/v1" LLM_API_KEY=sk-upstream-fake-0123
echo anth-upstream-key | "$B" admin provider add anth --type anthropic --base-url "$L/anthropic/v1" \
    --api-key-stdin "${A[@]}" >/dev/null 2>&1
# a provider without the Responses API: /v1/responses lines translated
echo chat-only-key-123456 | "$B" admin provider add chatonly --type openai-chat --base-url "$L/openai/v1" \
    --api-key-stdin "${A[@]}" >/dev/null 2>&1
q() { mysql_root -e "$1"; }

# acme's webhook endpoint for batch ends (nothing listens: only the
# events enqueued in the ending transactions are checked here)
"$B" admin webhook add acme http://127.0.0.1:9/hook --events batch.completed,batch.cancelled,batch.expired,batch.failed \
    "${A[@]}" >/dev/null 2>&1 || bad "admin webhook add"
# and one for response ends: a batch's /v1/responses lines must send none
"$B" admin webhook add acme http://127.0.0.1:9/resp --events response.completed,response.failed,response.cancelled \
    "${A[@]}" >/dev/null 2>&1 || bad "admin webhook add (response.*)"
start_ingot S serve || finish
U="http://127.0.0.1:$S_PORT"
# a second API whose batches expire after 3 s (the window is fixed at create)
BATCH_COMPLETION_WINDOW=3s start_ingot SX serve || finish
QUEUE_LEASE=2s QUEUE_WORKER_CONCURRENCY=50 start_ingot W work || finish
BATCH_WINDOW_LINES=10 start_ingot SC schedule || finish
wait_until 100 sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $K' $U/v1/models) = 200 ]" ||
    bad "the gateway read its providers"
wait_until 100 sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $K' http://127.0.0.1:$SX_PORT/v1/models) = 200 ]"

# run_node NAME URL KEY [VAR=VALUE...]: batches.mjs, its ok/FAIL lines counted
run_node() {
    local name=$1 url=$2 key=$3; shift 3
    env INGOT_URL="$url" INGOT_KEY="$key" "$@" timeout 300 node "$INGOT_ROOT/test/llm/batches.mjs" >"$name.out" 2>&1
    local rc=$? p f
    p=$(grep -c '^ok ' "$name.out"); f=$(grep -c '^FAIL ' "$name.out")
    T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
    grep -E '^(ok|FAIL|  )' "$name.out" | sed "s/^/[$name] /"
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then bad "$name: node exited $rc"; tail -20 "$name.out"; fi
}

# --- chat, embeddings, refusals; cancel and expiry (window 10, slow lines) ---
run_node flow "$U" "$K" BATCH_MODE=flow BATCH_MODEL=fake-ok BATCH_LINES=25
run_node anthropic "$U" "$K" BATCH_MODE=anthropic BATCH_MODEL=anth/fake-ok BATCH_LINES=12
# /v1/responses: passed through (openai) and translated (openai-chat)
run_node resp "$U" "$K" BATCH_MODE=responses BATCH_MODEL=fake-ok-rp BATCH_LINES=15
run_node respchat "$U" "$K" BATCH_MODE=responses BATCH_MODEL=chatonly/fake-ok-rc BATCH_LINES=15 BATCH_TRANSLATED=1
eq "responses lines: llm.response jobs in queue batches" \
    "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'batches' AND kind = 'llm.response' AND state = 2")" 30
eq "  passed through to /responses, translated to chat/completions" \
    "$(curl -s "$L/_log" | jq -r -s '[.[] | select(.json.model == "fake-ok-rp-echo") | .path] | unique | join(" ")') $(curl -s "$L/_log" | jq -r -s '[.[] | select(.json.model == "fake-ok-rc-echo") | .path] | unique | join(" ")')" \
    "/openai/v1/responses /openai/v1/chat/completions"
eq "  no response.* webhook for a batch's lines" \
    "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE kind = 'webhook' AND JSON_VALUE(payload, '$.event.type') LIKE 'response.%'")" 0
eq "  batch.completed for each" "$(q "SELECT COUNT(*) FROM $DB.jobs j JOIN $DB.batches b ON b.id = JSON_VALUE(j.payload, '$.event.data.id') WHERE j.kind = 'webhook' AND b.endpoint = '/v1/responses' AND JSON_VALUE(j.payload, '$.event.type') = 'batch.completed'")" 2
run_node cancel "$U" "$K" BATCH_MODE=cancel BATCH_MODEL=fake-delay-300-c BATCH_LINES=100
run_node expire "http://127.0.0.1:$SX_PORT" "$K" BATCH_MODE=expire BATCH_MODEL=fake-delay-500-x BATCH_LINES=100
eq "a window of 10: never more than 10 lines of a batch at the provider at once" \
    "$(curl -s "$L/_log" | jq -s '[.[] | select(.json.model == "fake-delay-300-c")] | length <= 100')" true
eq "no line job left queued or running" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'batches' AND state IN (0, 1)")" 0
eq "batch lines run below interactive jobs (priority -1000)" \
    "$(q "SELECT COUNT(DISTINCT priority), MIN(priority) FROM $DB.jobs WHERE queue = 'batches'")" "1	-1000"
eq "tenants see only their own batches" \
    "$(curl -s "$U/v1/batches" -H "Authorization: Bearer $KO" | jq '.data | length')" 0
bid=$(q "SELECT id FROM $DB.batches ORDER BY seq LIMIT 1")
eq "another tenant's batch is a 404" "$(http_code "$U/v1/batches/$bid" -H "Authorization: Bearer $KO")" 404
eq "an id that is no batch id: 400" "$(http_code "$U/v1/batches/nope" -H "Authorization: Bearer $K")" 400
eq "limit 0: 400 naming limit" "$(curl -s "$U/v1/batches?limit=0" -H "Authorization: Bearer $K")" \
    '{"error":{"message":"limit: must be a whole number from 1 to 100","type":"invalid_request_error","param":"limit","code":"invalid_value"}}'
eq "after=x: 400 naming after" "$(curl -s "$U/v1/batches?after=x" -H "Authorization: Bearer $K")" \
    '{"error":{"message":"after: must be a batch id (batch_ and 24 hex digits) from an earlier page","type":"invalid_request_error","param":"after","code":"invalid_value"}}'
eq "unknown field: 400 naming it" "$(curl -s -X POST "$U/v1/batches" -H "Authorization: Bearer $K" \
    -d '{"input_file_id":"file-000000000000000000000000","endpoint":"/v1/embeddings","completion_window":"24h","color":1}' | jq -r .error.param)" color
# --- the input file deleted while the batch runs: the lines it can no
# longer read fail the batch (failed, errors, batch.failed), what ran is kept ---
awk 'BEGIN { p = sprintf("%4000s", ""); gsub(/ /, "y", p); for (i = 0; i < 300; i++) printf "{\"custom_id\":\"d-%d\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"fake-delay-200-d\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}}\n", i, p }' >del.jsonl
DF=$(curl -s "$U/v1/files" -H "Authorization: Bearer $K" -F purpose=batch -F file=@del.jsonl | jq -r .id)
DB_ID=$(curl -s "$U/v1/batches" -H "Authorization: Bearer $K" -d "{\"input_file_id\":\"$DF\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}" | jq -r .id)
check "lines of it ran" wait_until 200 sh -c \
    "[ \$(mariadb --no-defaults --socket=$MARIADB_SOCKET -uroot -N -B -e \"SELECT completed_n FROM $DB.batches WHERE id = '$DB_ID'\") -gt 0 ]"
eq "the input file is deleted while its batch runs" "$(http_code "$U/v1/files/$DF" -X DELETE -H "Authorization: Bearer $K")" 200
check "the batch fails" wait_sql 300 "SELECT status FROM $DB.batches WHERE id = '$DB_ID'" 4
bd=$(curl -s "$U/v1/batches/$DB_ID" -H "Authorization: Bearer $K")
eq "  errors name the input file" "$(jq -r '.errors.data[0] | "\(.code) \(.param)"' <<<"$bd")" "input_file_unreadable input_file_id"
check "  failed_at set" test "$(jq -r .failed_at <<<"$bd")" -gt 0
rel=$(q "SELECT released FROM $DB.batches WHERE id = '$DB_ID'")
check "  some lines ran, not all" test "$rel" -gt 0 -a "$rel" -lt 300
eq "  every line that ran is in the output file" "$(jq -r .request_counts.completed <<<"$bd")" "$rel"
eq "  webhook: batch.failed" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE kind = 'webhook' AND JSON_VALUE(payload, '$.event.type') = 'batch.failed' AND JSON_VALUE(payload, '$.event.data.id') = '$DB_ID'")" 1

sm=$(curl -s "http://127.0.0.1:$SC_PORT/metrics")
contains "metrics: finished batches by status" "$sm" 'ingot_batches_finished_total{status="cancelled"} 1'
contains "metrics: expired" "$sm" 'ingot_batches_finished_total{status="expired"} 1'
contains "metrics: lines released" "$sm" 'ingot_batch_lines_released_total'
contains "metrics: lines written by outcome" "$sm" 'ingot_batch_lines_total{outcome="completed"}'
eq "no finalization failed" "$(grep -c 'finalizing:' "$SC_LOG")" 0
# event BATCH_STATUS TYPE: webhook deliveries of that event for acme's batches in that status
event() {
    q "SELECT COUNT(*) FROM $DB.jobs j JOIN $DB.batches b ON b.id = JSON_VALUE(j.payload, '$.event.data.id')
       WHERE j.kind = 'webhook' AND JSON_VALUE(j.payload, '$.event.type') = '$2' AND b.status = $1 AND b.tenant_id = j.tenant_id"
}
eq "webhook: batch.completed once per completed batch (chat, embeddings, anthropic, 2 responses)" "$(event 3 batch.completed)" 5
eq "webhook: batch.cancelled" "$(event 7 batch.cancelled)" 1
eq "webhook: batch.expired" "$(event 5 batch.expired)" 1

# --- finalization redone (as after a scheduler died before its commit):
# the same lines, each once, in the new files ---
CB=$(q "SELECT id FROM $DB.batches WHERE endpoint = '/v1/chat/completions' ORDER BY seq LIMIT 1")
content() { # content FIELD: the batch's file, its lines sorted
    local f; f=$(curl -s "$U/v1/batches/$CB" -H "Authorization: Bearer $K" | jq -r ".$1")
    curl -s "$U/v1/files/$f/content" -H "Authorization: Bearer $K" | jq -c '{custom_id, s: .response.status_code, b: .response.body.choices[0].message.content}' | sort
}
out1=$(content output_file_id); err1=$(content error_file_id); of1=$(q "SELECT output_file_id FROM $DB.batches WHERE id = '$CB'")
q "UPDATE $DB.batches SET status = 2, completed_at = NULL, output_file_id = NULL, error_file_id = NULL WHERE id = '$CB'"
check "a finalizing batch is finalized again" wait_sql 100 "SELECT status FROM $DB.batches WHERE id = '$CB'" 3
check "  into new files" test "$(q "SELECT output_file_id FROM $DB.batches WHERE id = '$CB'")" != "$of1"
eq "  the same output lines" "$(content output_file_id)" "$out1"
eq "  the same error lines" "$(content error_file_id)" "$err1"
eq "  25 lines in all" "$(printf '%s\n%s\n' "$out1" "$err1" | grep -c custom_id)" 25

# --- kill -9 of the worker and the scheduler mid-batch: exact output, one job per line ---
N=400
run_node killcreate "$U" "$K" BATCH_MODE=create BATCH_MODEL=fake-delay-100-k BATCH_LINES=$N BATCH_TAG=kill
KB=$(awk '/^batch /{print $2}' killcreate.out)
# killed while some lines are done and others are running on it: frozen
# (SIGSTOP) until the database shows lines in flight on it, then kill -9
check "lines run before the kill" wait_until 200 sh -c \
    "[ \$(mariadb --no-defaults --socket=$MARIADB_SOCKET -uroot -N -B -e \"SELECT COUNT(*) FROM $DB.jobs WHERE group_key = '$KB' AND state = 2\") -ge 40 ]"
running=0
for _ in $(seq 1 100); do
    kill -STOP "$W_PID"
    running=$(q "SELECT COUNT(*) FROM $DB.jobs WHERE group_key = '$KB' AND state = 1")
    [ "$running" -gt 0 ] && break
    kill -CONT "$W_PID"; sleep 0.02
done
check "lines were running on the worker killed" test "$running" -gt 0
kill -9 "$W_PID"
# and the leading scheduler, mid-pass: a new one carries on from the batch row
kill -9 "$SC_PID"
BATCH_WINDOW_LINES=10 start_ingot SCK schedule || finish
QUEUE_LEASE=2s QUEUE_WORKER_CONCURRENCY=50 start_ingot W2 work || finish
run_node killverify "$U" "$K" BATCH_MODE=verify BATCH_ID="$KB" BATCH_LINES=$N BATCH_TAG=kill BATCH_WAIT=120
eq "one job per line (no line released twice)" \
    "$(q "SELECT COUNT(*), COUNT(DISTINCT JSON_VALUE(metadata, '$.line')) FROM $DB.jobs WHERE group_key = '$KB'")" "$N	$N"
check "a line's lease was recovered and run again" test \
    "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE group_key = '$KB' AND attempts > 1")" -gt 0

# --- fairness: 20k lines of acme, then 10 of other; other's ends first ---
stop_ingot "$SCK_PID" "$SCK_LOG"
start_ingot SC2 schedule || finish # BATCH_WINDOW_LINES default (1000)
run_node bigcreate "$U" "$K" BATCH_MODE=create BATCH_MODEL=fake-ok-big BATCH_LINES=20000 BATCH_TAG=big
BIG=$(awk '/^batch /{print $2}' bigcreate.out)
check "the big batch has started" wait_until 300 sh -c \
    "[ \$(mariadb --no-defaults --socket=$MARIADB_SOCKET -uroot -N -B -e \"SELECT completed_n FROM $DB.batches WHERE id = '$BIG'\") -gt 0 ]"
run_node smallcreate "$U" "$KO" BATCH_MODE=create BATCH_MODEL=fake-ok-small BATCH_LINES=10 BATCH_TAG=small
SMALL=$(awk '/^batch /{print $2}' smallcreate.out)
# and a small one of the big one's own tenant: the tenant's window is shared
run_node mine "$U" "$K" BATCH_MODE=create BATCH_MODEL=fake-ok-mine BATCH_LINES=10 BATCH_TAG=mine
MINE=$(awk '/^batch /{print $2}' mine.out)
run_node smallverify "$U" "$KO" BATCH_MODE=verify BATCH_ID="$SMALL" BATCH_LINES=10 BATCH_TAG=small BATCH_WAIT=120
run_node mineverify "$U" "$K" BATCH_MODE=verify BATCH_ID="$MINE" BATCH_LINES=10 BATCH_TAG=mine BATCH_WAIT=120
eq "the small batches ended while the big one still runs" \
    "$(q "SELECT status FROM $DB.batches WHERE id = '$BIG'")" 1
run_node bigverify "$U" "$K" BATCH_MODE=verify BATCH_ID="$BIG" BATCH_LINES=20000 BATCH_TAG=big BATCH_WAIT=600
check "the small one completed first" test \
    "$(q "SELECT (SELECT completed_at FROM $DB.batches WHERE id = '$SMALL') < (SELECT completed_at FROM $DB.batches WHERE id = '$BIG')")" = 1

# --- long lines: 30 of 300 KB (9 MB of bodies, twice that as hex: over
# max_allowed_packet in one statement) are released in several
# statements that each fit max_allowed_packet ---
run_node longcreate "$U" "$K" BATCH_MODE=create BATCH_MODEL=fake-ok-long BATCH_LINES=30 BATCH_PAD=300000 BATCH_TAG=long
LB=$(awk '/^batch /{print $2}' longcreate.out)
run_node longverify "$U" "$K" BATCH_MODE=verify BATCH_ID="$LB" BATCH_LINES=30 BATCH_TAG=long BATCH_WAIT=120

finish
