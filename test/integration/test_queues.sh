# Queues and what a job leaves behind: PUT (replace) and PATCH (merge) of a
# queue's settings, the "callbacks" queue, callbacks that commit with a
# cancel and come for a lease-expiry failure, the worker's outcome log
# lines, GET /v1/jobs/{id}/attempts, claims retried by error number, and
# the settable periods (QUEUE_POLL_INTERVAL, QUEUE_DEPTH_REFRESH).
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
jobs_setup queues
q() { mysql_root -e "$1"; }
export LOG_FORMAT=json
start_ingot S serve --queue-depth-refresh 200ms
U="http://127.0.0.1:$S_PORT"
enqueue() { curl -s -X POST "$U/v1/jobs" "${AUTH[@]}" -d "{\"kind\":\"http\",$1}" | jq -r .id; }
# set METHOD NAME BODY: the reply in resp.json, prints the status.
set_q() { curl -s -o resp.json -w '%{http_code}' -X "$1" "$U/v1/queues/$2" "${AUTH[@]}" -d "$3"; }
# shape: paused, rate_limit.max, concurrency, group.concurrency, group.rate_limit.max
shape() { jq -r '[.paused, .rate_limit.max, .concurrency, .group.concurrency, .group.rate_limit.max] | map(tostring) | join(" ")' resp.json; }
get_q() { curl -s -o resp.json "$U/v1/queues/$1" "${AUTH[@]}"; shape; }
state_of() { q "SELECT state FROM $DB.jobs WHERE id = ${1#job_}"; }
wait_state() { wait_until "${3:-150}" out_is "$2" state_of "$1"; }

# ---- PUT replaces, PATCH merges
eq "PUT sets limits" "$(set_q PUT mail '{"rate_limit":{"max":5,"duration_ms":1000},"concurrency":3,"group":{"concurrency":2}}')" 200
eq "PUT: all given" "$(shape)" "false 5 3 2 null"
eq "PUT names what it reset" "$(jq -c .reset_to_default resp.json)" '["paused","group.rate_limit"]'
eq "PATCH paused" "$(set_q PATCH mail '{"paused":true}')" 200
eq "PATCH of paused keeps the limits" "$(shape)" "true 5 3 2 null"
eq "PATCH answers the queue, no reset list" "$(jq -r 'has("reset_to_default")' resp.json)" false
eq "PATCH a limit" "$(set_q PATCH mail '{"concurrency":7}')" 200
eq "PATCH of a limit keeps paused" "$(shape)" "true 5 7 2 null"
eq "PATCH group rate" "$(set_q PATCH mail '{"group":{"rate_limit":{"max":4,"duration_ms":500}}}')" 200
eq "PATCH of group.rate_limit keeps group.concurrency" "$(shape)" "true 5 7 2 4"
eq "PATCH null clears a limit" "$(set_q PATCH mail '{"concurrency":null,"rate_limit":null}')" 200
eq "only those cleared" "$(shape)" "true null null 2 4"
eq "PATCH {} changes nothing" "$(set_q PATCH mail '{}')" 200
eq "unchanged" "$(get_q mail)" "true null null 2 4"
eq "PATCH bad value: 400" "$(set_q PATCH mail '{"concurrency":0}')" 400
eq "names the field" "$(jq -r .error.param resp.json)" concurrency
eq "PATCH unknown field: 400" "$(set_q PATCH mail '{"pause":true}')" 400
eq "and nothing changed" "$(get_q mail)" "true null null 2 4"
eq "PUT with paused only" "$(set_q PUT mail '{"paused":true}')" 200
eq "PUT resets every limit not given" "$(shape)" "true null null null null"
eq "and says so" "$(jq -c .reset_to_default resp.json)" '["rate_limit","concurrency","group.concurrency","group.rate_limit"]'
eq "PATCH creates a queue" "$(set_q PATCH fresh '{"concurrency":2}')" 200
eq "with defaults for the rest" "$(shape)" "false null 2 null null"
eq "PATCH bad name: 400" "$(set_q PATCH 'a%20b' '{}')" 400
eq "PATCH without a key: 401" "$(curl -s -o /dev/null -w '%{http_code}' -X PATCH "$U/v1/queues/mail" -d '{}')" 401

# ---- The depth gauge follows QUEUE_DEPTH_REFRESH (200 ms here, 10 s by default)
JD=$(enqueue "\"queue\":\"deep\",\"delay_ms\":600000,\"payload\":{\"url\":\"$T/ok\"}")
depth() { curl -s "$U/metrics" | grep -q '^ingot_queue_depth{tenant="[0-9]*",queue="deep",state="queued"} 1'; }
check "depth snapshot within 2 s" wait_until 20 depth

# ---- Callbacks commit with the cancel: a callback job exists if and only
# if the cancel committed. A CHECK constraint makes the callback's INSERT
# fail: the cancel must then fail whole (before the fix it committed,
# without its callback).
q "ALTER TABLE $DB.jobs ADD CONSTRAINT no_callbacks CHECK (queue <> 'callbacks')"
JX=$(enqueue "\"delay_ms\":600000,\"payload\":{\"url\":\"$T/ok\"},\"callback_url\":\"$T/echo?cb=cancel\"")
code=$(curl -s -o resp.json -w '%{http_code}' -X POST "$U/v1/jobs/$JX/cancel" "${AUTH[@]}")
check "cancel whose callback cannot be stored fails ($code)" test "$code" != 200
eq "the job is not cancelled" "$(state_of "$JX")" 0
cbs() { q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'callbacks' AND JSON_VALUE(payload, '\$.body.id') = '$1'"; }
eq "and has no callback" "$(cbs "$JX")" 0
JN=$(enqueue "\"delay_ms\":600000,\"payload\":{\"url\":\"$T/ok\"}")
eq "a job without callback_url cancels all the same" "$(curl -s -X POST "$U/v1/jobs/$JN/cancel" "${AUTH[@]}" | jq -r .status)" cancelled
q "ALTER TABLE $DB.jobs DROP CONSTRAINT no_callbacks"
eq "cancel once callbacks can be stored" "$(curl -s -X POST "$U/v1/jobs/$JX/cancel" "${AUTH[@]}" | jq -r .status)" cancelled
eq "its callback committed with it (there when the cancel answers)" "$(cbs "$JX")" 1
eq "the callback says cancelled" "$(q "SELECT JSON_VALUE(payload, '\$.body.status') FROM $DB.jobs WHERE queue = 'callbacks' AND JSON_VALUE(payload, '\$.body.id') = '$JX'")" cancelled
eq "cancel again: 409, no second callback" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/v1/jobs/$JX/cancel" "${AUTH[@]}")/$(cbs "$JX")" 409/1

# ---- The callbacks queue has a row, so GET /v1/queues lists it
eq "callbacks queue listed" "$(curl -s "$U/v1/queues/callbacks" "${AUTH[@]}" | jq -r '.name + " " + (.counts.queued | tostring)')" "callbacks 1"
contains "in the list too" "$(curl -s "$U/v1/queues" "${AUTH[@]}" | jq -r '[.data[].name] | join(",")')" callbacks

# ---- A job that fails through lease expiry (out of attempts) gets its
# callback like any other failure.
cols="tenant_id, queue, kind, run_at, max_attempts, backoff_base_ms, backoff_max_ms, timeout_ms, payload, callback_url, state, attempts, lease_token, lease_expires_at, started_at"
tenant=$(q "SELECT id FROM $DB.tenants WHERE name = 'acme'")
q "INSERT INTO $DB.jobs ($cols) VALUES ($tenant, 'dying', 'http', NOW(6), 2, 1, 1, 1000, '{\"url\":\"$T/ok\"}', '$T/echo?cb=expired', 1, 2, 'tok1', NOW(6) - INTERVAL 1 MINUTE, NOW(6)), ($tenant, 'dying', 'http', NOW(6), 3, 1, 1, 1000, '{\"url\":\"$T/ok?again\"}', '$T/echo?cb=requeued', 1, 1, 'tok2', NOW(6) - INTERVAL 1 MINUTE, NOW(6))"
JE=job_$(q "SELECT id FROM $DB.jobs WHERE lease_token = 'tok1'")
JR=job_$(q "SELECT id FROM $DB.jobs WHERE lease_token = 'tok2'")
# No Redis for this worker: the idle poll is QUEUE_POLL_INTERVAL (below).
REDIS_URL= start_ingot W work --http-target-allow 127.0.0.0/8 --queue-lease 2s --queue-poll-interval 100ms --log-level info
check "out of attempts after lease expiry: failed" wait_state "$JE" 3
eq "its callback exists" "$(cbs "$JE")" 1
eq "and reports the failure" "$(q "SELECT CONCAT(JSON_VALUE(payload, '\$.body.status'), ' / ', JSON_VALUE(payload, '\$.body.last_error')) FROM $DB.jobs WHERE queue = 'callbacks' AND JSON_VALUE(payload, '\$.body.id') = '$JE'")" "failed / lease expired (worker died or stalled)"
check "the callback is delivered" wait_until 100 grep -q "path=/echo?cb=expired sig=valid" target.out
check "a job with attempts left runs again" wait_state "$JR" 2
eq "and gets one callback, for its success" "$(q "SELECT GROUP_CONCAT(JSON_VALUE(payload, '\$.body.status')) FROM $DB.jobs WHERE queue = 'callbacks' AND JSON_VALUE(payload, '\$.body.id') = '$JR'")" succeeded

# ---- Idle poll: without Redis an idle worker looks again every
# QUEUE_POLL_INTERVAL (100 ms here; 1 s by default).
# Counted by its claims (one a poll), timed over ten polls once idle: a
# bound a loaded machine does not break the way a pick-up time did (the
# enqueue, the claim and the request are all in that one).
claims() { curl -s "http://127.0.0.1:$W_PORT/metrics" | awk '/^ingot_claims_total/ {print $2}'; }
claims_ge() { [ "$(claims)" -ge "$1" ]; }
c0=$(claims)
wait_until 50 claims_ge $((c0 + 10)) # idle: the poll stretched to its longest
c1=$(claims); t0=$(date +%s%N)
wait_until 100 claims_ge $((c1 + 10))
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "idle worker polls at QUEUE_POLL_INTERVAL (10 polls in $ms ms; 1 s apart they take 10 s)" test "$ms" -lt 5000
for i in 1 2 3; do
    JP=$(enqueue "\"payload\":{\"url\":\"$T/ok?poll$i\"}")
    check "  an idle worker picks up a new job ($i)" wait_until 50 grep -q "job=$JP " target.out
done

# ---- One log line per outcome, at info, with its fields
JT=$(enqueue "\"queue\":\"logs\",\"payload\":{\"url\":\"$T/status/503,503,200\"},\"backoff\":{\"base_ms\":50,\"max_ms\":100}")
JF=$(enqueue "\"queue\":\"logs\",\"payload\":{\"url\":\"$T/status/404\"}")
check "503, 503, 200: succeeds" wait_state "$JT" 2
check "404: fails" wait_state "$JF" 3
line() { grep '^{' "$W_LOG" | jq -c "select(.id == \"$1\" and .status == \"$2\")"; }
check "the retried attempts are logged" wait_until 30 out_is 2 sh -c "grep '^{' '$W_LOG' | jq -c 'select(.id == \"$JT\" and .status == \"retry\")' | wc -l"
r1=$(line "$JT" retry | head -1)
eq "retry line fields" "$(printf '%s' "$r1" | jq -r '[.level, .queue, .kind, .attempt, .http_status, .error] | map(tostring) | join(" ")')" "info logs http 1 503 HTTP 503"
check "retry line has a duration" test "$(printf '%s' "$r1" | jq -r '.duration_ms | type')" = number
eq "success line" "$(line "$JT" succeeded | jq -r '[.attempt, .http_status, .error] | map(tostring) | join(" ")')" "3 200 null"
check "the failure is logged" wait_until 30 sh -c "grep '^{' '$W_LOG' | grep -q '\"id\":\"$JF\".*\"status\":\"failed\"'"
eq "failure line fields" "$(line "$JF" failed | jq -r '[.level, .queue, .attempt, .max_attempts, .http_status, .error] | map(tostring) | join(" ")')" "info logs 1 5 404 HTTP 404"
contains "the message says it too" "$(line "$JF" failed | jq -r .msg)" "$JF: attempt 1/5 failed"

# ---- GET /v1/jobs/{id}/attempts
att=$(curl -s "$U/v1/jobs/$JT/attempts" "${AUTH[@]}")
eq "three attempts, newest last" "$(printf '%s' "$att" | jq -r '[.data[] | "\(.attempt):\(.status):\(.http_status)"] | join(",")')" "1:retry:503,2:retry:503,3:succeeded:200"
eq "list object" "$(printf '%s' "$att" | jq -r '.object + " " + .job_id')" "list $JT"
eq "attempt fields" "$(printf '%s' "$att" | jq -r '.data[0] | [.object, .error, (.worker_id | length > 0), (.started_at | endswith("Z")), (.duration_ms | type)] | map(tostring) | join(" ")')" "job.attempt HTTP 503 true true number"
eq "a job not run yet: none" "$(curl -s "$U/v1/jobs/$JD/attempts" "${AUTH[@]}" | jq -c .data)" "[]"
"$B" admin tenant create other --env-file /dev/null >/dev/null 2>&1
K2=$("$B" admin key create --tenant other --env-file /dev/null 2>/dev/null)
eq "another tenant's job: 404" "$(http_code "$U/v1/jobs/$JT/attempts" -H "Authorization: Bearer $K2")" 404
eq "in the error shape" "$(curl -s "$U/v1/jobs/$JT/attempts" -H "Authorization: Bearer $K2" | jq -r '.error.code + " " + .error.param')" "not_found id"
eq "no such job: 404" "$(http_code "$U/v1/jobs/job_999999/attempts" "${AUTH[@]}")" 404
eq "malformed id: 404" "$(http_code "$U/v1/jobs/nope/attempts" "${AUTH[@]}")" 404
eq "no key: 401" "$(http_code "$U/v1/jobs/$JT/attempts")" 401
stop_ingot "$W_PID" "$W_LOG"

# ---- LOG_LEVEL=warn silences the outcome lines
start_ingot WQ work --http-target-allow 127.0.0.0/8 --log-level warn
JS=$(enqueue "\"queue\":\"quiet\",\"payload\":{\"url\":\"$T/status/404\"}")
check "quiet worker runs the job" wait_state "$JS" 3
stop_ingot "$WQ_PID" "$WQ_LOG"
eq "and logs no outcome line" "$(grep -c "\"status\":" "$WQ_LOG")" 0

# ---- Settings hold from the moment the API answered (before the fix the
# worker trusted a settings cache read every second: a queue paused just
# now still ran, a new rate limit let a whole batch through at once).
start_ingot WS work --http-target-allow 127.0.0.0/8 --queue-poll-interval 100ms
JW=$(enqueue "\"queue\":\"warm\",\"payload\":{\"url\":\"$T/ok?warm\"}")
check "worker up and running jobs" wait_state "$JW" 2
eq "pause a new queue" "$(set_q PATCH pz '{"paused":true}')" 200
JZ=$(enqueue "\"queue\":\"pz\",\"payload\":{\"url\":\"$T/ok?pz\"}")
JA=$(enqueue "\"queue\":\"after\",\"payload\":{\"url\":\"$T/ok?after\"}")
# JA was enqueued after JZ with the same priority: a claim that took JA
# saw JZ too.
check "a later job of another queue ran" wait_state "$JA" 2
eq "the paused queue's job stays queued" "$(state_of "$JZ")" 0
eq "the target never saw it" "$(grep -c 'path=/ok?pz ' target.out)" 0
eq "resume" "$(set_q PATCH pz '{"paused":false}')" 200
check "and it runs" wait_state "$JZ" 2
eq "new queue rate 2/s" "$(set_q PUT rl '{"rate_limit":{"max":2,"duration_ms":1000}}')" 200
items=$(for i in 1 2 3 4 5 6 7 8 9 10; do printf '%s{"kind":"http","queue":"rl","payload":{"url":"%s/ok?rl%d"}}' "$([ "$i" = 1 ] || echo ,)" "$T" "$i"; done)
eq "batch of 10" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/v1/jobs/batch" "${AUTH[@]}" -d "[$items]")" 202
rl_seen() { grep -c 'path=/ok?rl' target.out; }
rl_ge() { [ "$(rl_seen)" -ge "$1" ]; }
check "a second window opened" wait_until 100 rl_ge 3
# The limiter's windows are aligned to the epoch (ratelimit.h): count by them.
per_window() { grep 'path=/ok?rl' target.out | sed 's/.* t=\([0-9]*\).*/\1/' | awk '{n[int($1 / 1000)]++} END {m = 0; for (w in n) if (n[w] > m) m = n[w]; print m}'; }
n1=$(per_window)
check "at most 2 in any 1 s window (saw $n1)" test "$n1" -le 2
stop_ingot "$WS_PID" "$WS_LOG"

# ---- Bounded counts: a GET reads at most 1000 (the list) or 10000 (one
# queue) jobs per state, never a whole queue; more shows the cap, names the
# state in counts_capped, and the oldest due age comes from the depth
# snapshot with its age. 1001 due queued and 1001 succeeded jobs in "big"
# (paused: no worker takes them).
TID=$(q "SELECT id FROM $DB.tenants WHERE name = 'acme'")
q "INSERT INTO $DB.queues (tenant_id, name, paused) VALUES ($TID, 'big', 1);
   INSERT INTO $DB.jobs (tenant_id, queue, kind, state, run_at, max_attempts, backoff_base_ms, backoff_max_ms,
     timeout_ms, payload, finished_at)
   SELECT $TID, 'big', 'http', IF(seq % 2, 0, 2), NOW(6) - INTERVAL 1 HOUR, 1, 1000, 1000, 1000, '{}',
     IF(seq % 2, NULL, NOW(6)) FROM mysql.seq_1_to_2002"
bigl() { curl -s "$U/v1/queues" "${AUTH[@]}" | jq -c '.data[] | select(.name == "big")'; }
snap_in() { [ "$(bigl | jq '.depth_age_ms | type')" = '"number"' ]; }
check "list: the oldest age from the snapshot once it has the queue" wait_until 50 snap_in
l=$(bigl)
eq "  list: counts at the cap" "$(jq -c '[.counts.queued, .counts.running, .counts.succeeded, .counts_cap]' <<<"$l")" "[1000,0,1000,1000]"
eq "  list: the capped states named" "$(jq -c .counts_capped <<<"$l")" '["queued","succeeded"]'
check "  list: oldest due about an hour (snapshot)" test "$(jq '.oldest_queued_age_ms >= 3590000' <<<"$l")" = true
o=$(curl -s "$U/v1/queues/big" "${AUTH[@]}")
eq "one queue: exact under its cap of 10000" "$(jq -c '[.counts.queued, .counts.succeeded, .counts_cap, .counts_capped]' <<<"$o")" "[1001,1001,10000,[]]"
eq "  exact oldest (no snapshot age)" "$(jq -c '[.oldest_queued_age_ms >= 3590000, .depth_age_ms]' <<<"$o")" "[true,null]"
eq "  a small queue: exact, nothing capped" "$(curl -s "$U/v1/queues/mail" "${AUTH[@]}" | jq -c '[.counts_capped, .depth_age_ms]')" "[[],null]"
eq "  counts=false: none of it" "$(curl -s "$U/v1/queues/big?counts=false" "${AUTH[@]}" | jq -c '[.counts, .counts_cap, .counts_capped]')" "[null,null,null]"
q "DELETE FROM $DB.jobs WHERE queue = 'big'; DELETE FROM $DB.queues WHERE name = 'big'"
# The list counts its first 100 queues (names in order); the rest show
# "counts": null rather than a statement of thousands of reads.
q "INSERT INTO $DB.queues (tenant_id, name) SELECT $TID, CONCAT('zz', LPAD(seq, 3, '0')) FROM mysql.seq_1_to_100"
l=$(curl -s "$U/v1/queues" "${AUTH[@]}")
eq "a list of $(jq '.data | length' <<<"$l") queues: the first 100 counted" "$(jq '[.data[] | select(.counts != null)] | length' <<<"$l")" 100
eq "  the last ones not, and say so" "$(jq -c '.data[-1] | [.name, .counts, .counts_cap]' <<<"$l")" '["zz100",null,null]'
q "DELETE FROM $DB.queues WHERE name LIKE 'zz%'"

# ---- A claim that loses a lock conflict is retried by its error number,
# whatever language the server speaks (lc_messages): the queue row of a
# capped queue is held by another session beyond innodb_lock_wait_timeout.
eq "capped queue" "$(set_q PUT capped '{"concurrency":5}')" 200
q "SET GLOBAL innodb_lock_wait_timeout = 1; SET GLOBAL lc_messages = 'de_DE'"
start_ingot WL work --http-target-allow 127.0.0.0/8 --log-level debug
mysql_root -e "BEGIN; SELECT name FROM $DB.queues WHERE name = 'capped' FOR UPDATE; SELECT SLEEP(4); COMMIT" >/dev/null &
HOLDER=$!
check "the queue row is held" wait_sql 50 "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(4)%'" 1
JL=$(enqueue "\"queue\":\"capped\",\"payload\":{\"url\":\"$T/ok?locked\"}")
check "the claim met the lock (error 1205)" wait_until 60 grep -q "lock conflict (error 1205)" "$WL_LOG"
wait "$HOLDER"
check "and ran the job once the lock went" wait_state "$JL" 2
q "SET GLOBAL innodb_lock_wait_timeout = 50; SET GLOBAL lc_messages = 'en_US'"
eq "not taken for a failed claim" "$(grep -c 'claim failed' "$WL_LOG")" 0
contains "the server did answer in German" "$(grep 'lock conflict' "$WL_LOG" | head -1)" "Sperr"
finish
