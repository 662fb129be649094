# Query parameters on /v1: an unknown one (a typo) or a repeated one
# answers 400 naming it; before the fix ?state=failed listed every job and
# ?limit=5&limit=200 used the first value.
. "$(dirname "$0")/lib.sh"
jobs_setup query
start_ingot S serve
U="http://127.0.0.1:$S_PORT"
for i in 1 2 3; do
    curl -s -o /dev/null -X POST "$U/v1/jobs" "${AUTH[@]}" -d "{\"kind\":\"http\",\"delay_ms\":600000,\"payload\":{\"url\":\"$T/ok\"}}"
done
JID=$(curl -s "$U/v1/jobs?limit=1" "${AUTH[@]}" | jq -r '.data[0].id')
# check_400 DESCRIPTION PATH_AND_QUERY PARAM [METHOD]
check_400() {
    local code
    code=$(curl -s -o resp.json -w '%{http_code}' -X "${4:-GET}" "$U$2" "${AUTH[@]}")
    eq "$1: 400" "$code" 400
    eq "$1: names $3" "$(jq -r '.error.param + " " + .error.type' resp.json)" "$3 invalid_request_error"
}
check_400 "jobs list, typo ?state=" "/v1/jobs?state=failed" state
check_400 "jobs list, repeated limit" "/v1/jobs?limit=5&limit=200" limit
check_400 "jobs list, repeated in another case" "/v1/jobs?queue=a&QUEUE=b" QUEUE
check_400 "long-poll, unknown" "/v1/jobs/$JID?wiat=5" wiat
check_400 "long-poll, repeated wait" "/v1/jobs/$JID?wait=1&wait=30" wait
check_400 "queues list takes none" "/v1/queues?paused=true" paused
check_400 "one queue" "/v1/queues/default?x=1" x
check_400 "schedules" "/v1/schedules?limit=1" limit
check_400 "attempts" "/v1/jobs/$JID/attempts?limit=1" limit
check_400 "cancel" "/v1/jobs/$JID/cancel?force=1" force POST
contains "the message says what is wrong" "$(curl -s "$U/v1/jobs?state=failed" "${AUTH[@]}" | jq -r .error.message)" "unknown query parameter state"
contains "and for a repeat" "$(curl -s "$U/v1/jobs?limit=5&limit=200" "${AUTH[@]}" | jq -r .error.message)" "more than once"
eq "the job is still queued (the cancel did not run)" "$(curl -s "$U/v1/jobs/$JID" "${AUTH[@]}" | jq -r .status)" queued
# What the routes take still works.
eq "jobs list with every parameter" "$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/jobs?queue=default&status=queued&limit=2" "${AUTH[@]}")" 200
eq "limit honoured" "$(curl -s "$U/v1/jobs?limit=2" "${AUTH[@]}" | jq '.data | length')" 2
eq "long-poll wait=0" "$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/jobs/$JID?wait=0" "${AUTH[@]}")" 200
eq "no key still 401 first" "$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/jobs?state=failed")" 401
stop_ingot "$S_PID" "$S_LOG"
finish
