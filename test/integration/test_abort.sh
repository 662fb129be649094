# A running job whose lease is gone stops its request at once: cancel
# closes the connection to the target and frees the worker's slot (before
# the fix the request ran to its timeout). Attempt numbers keep counting
# across a retry (before the fix a retry started again at attempt 1).
. "$(dirname "$0")/lib.sh"
jobs_setup abort
q() { mysql_root -e "$1"; }
start_ingot S serve
U="http://127.0.0.1:$S_PORT"
enqueue() { curl -s -X POST "$U/v1/jobs" "${AUTH[@]}" -d "{\"kind\":\"http\",$1}" | jq -r .id; }
state_of() { q "SELECT state FROM $DB.jobs WHERE id = ${1#job_}"; }
wait_state() { wait_until "${3:-150}" out_is "$2" state_of "$1"; }
start_ingot W work --http-target-allow 127.0.0.0/8 --log-level info
inflight() { curl -s "http://127.0.0.1:$W_PORT/metrics" | awk '/^ingot_jobs_in_flight/ {print $2}'; }

# ---- Cancel while the request hangs (timeout 60 s)
JH=$(enqueue "\"timeout_ms\":60000,\"payload\":{\"url\":\"$T/hang\"}")
check "the hanging request reached the target" wait_until 100 grep -q "job=$JH .*path=/hang" target.out
eq "one job in flight" "$(inflight)" 1
eq "cancel" "$(curl -s -X POST "$U/v1/jobs/$JH/cancel" "${AUTH[@]}" | jq -r .status)" cancelled
check "in-flight gauge drops within 2 s" wait_until 20 out_is 0 inflight
check "the target saw the connection closed" wait_until 20 grep -q "CLOSED path=/hang job=$JH" target.out
check "the worker says why" wait_until 20 grep -q "$JH: lease lost" "$W_LOG"
eq "nothing recorded: still cancelled" "$(state_of "$JH")" 4
eq "no attempt row" "$(q "SELECT COUNT(*) FROM $DB.job_attempts WHERE job_id = ${JH#job_}")" 0

# ---- A lease lost without a message (Redis says nothing): the lease
# extension finds it. The lease is taken away in the database directly.
REDIS_URL= start_ingot W2 work --http-target-allow 127.0.0.0/8 --queue-lease 1500ms --log-level info
stop_ingot "$W_PID" "$W_LOG"
JL=$(enqueue "\"timeout_ms\":60000,\"payload\":{\"url\":\"$T/hang?lease\"}")
check "the second hanging request reached the target" wait_until 100 grep -q "job=$JL .*path=/hang?lease" target.out
q "UPDATE $DB.jobs SET lease_token = 'stolen' WHERE id = ${JL#job_}"
check "the extension finds the lease gone and closes the connection" wait_until 30 grep -q "CLOSED path=/hang job=$JL" target.out
stop_ingot "$W2_PID" "$W2_LOG"

# ---- Retry keeps counting attempts: the next attempt is number 2, in
# /attempts and in the Ingot-Attempt header (and the jti), not 1 again.
start_ingot W3 work --http-target-allow 127.0.0.0/8
JR=$(enqueue "\"max_attempts\":2,\"payload\":{\"url\":\"$T/status/404,200\"}")
check "404: failed at attempt 1" wait_state "$JR" 3
# (the reply shows the job as it is by then: a worker may have claimed it)
eq "retry" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/v1/jobs/$JR/retry" "${AUTH[@]}")" 200
check "then succeeds" wait_state "$JR" 2
eq "attempts 1 and 2" "$(curl -s "$U/v1/jobs/$JR/attempts" "${AUTH[@]}" | jq -r '[.data[] | "\(.attempt):\(.status)"] | join(",")')" "1:failed,2:succeeded"
eq "the target saw attempt 1 then 2" "$(grep "job=$JR " target.out | sed 's/.* attempt=\([0-9-]*\) .*/\1/' | tr '\n' ' ')" "1 2 "
eq "the retry granted max_attempts (2) more" "$(curl -s "$U/v1/jobs/$JR" "${AUTH[@]}" | jq -r '"\(.attempts)/\(.max_attempts)"')" "2/3"
stop_ingot "$W3_PID" "$W3_LOG"
finish
