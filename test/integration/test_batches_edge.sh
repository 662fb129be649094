# The Batch and Files APIs attacked as a stranger would (curl, loopback):
# every field and query parameter wrong, other tenants' ids, cancel twice
# and after the end, a user_data or deleted input file, huge metadata,
# concurrent creates on one file, list edges, a provider that fails every
# line, the scheduler down while batches run, Redis down, and kill -9 of
# serve in the middle of creates.
. "$(dirname "$0")/lib.sh"
unset BUILT_IN_FORGE_API_URL BUILT_IN_FORGE_API_KEY
B=$INGOT_BIN
url=$(migrated_db batches_edge) || { bad "migrate"; finish; }
export DATABASE_URL=$url
DB=ingot_batches_edge
A=(--env-file /dev/null)
for t in acme other; do "$B" admin tenant create "$t" "${A[@]}" >/dev/null 2>&1; done
K=$("$B" admin key create --tenant acme "${A[@]}" 2>/dev/null)
KO=$("$B" admin key create --tenant other "${A[@]}" 2>/dev/null)
start_fakellm # LP, L
export LLM_PROVIDER=openai LLM_BASE_URL="$L/openai/v1" LLM_API_KEY=sk-upstream-fake-0123
q() { mysql_root -e "$1"; }
start_ingot S serve || finish
U="http://127.0.0.1:$S_PORT"
QUEUE_LEASE=2s QUEUE_WORKER_CONCURRENCY=50 start_ingot W work || finish
# another deployment's leading scheduler on the same MariaDB server (its
# own database) first: GET_LOCK names are server-wide, so a lock without
# the database in it would keep this deployment from ever leading
url2=$(migrated_db batches_edge_other) || { bad "migrate the other database"; finish; }
DATABASE_URL=$url2 start_ingot SCX schedule || finish
wait_until 100 sh -c "curl -s http://127.0.0.1:$SCX_PORT/metrics | grep -q '^ingot_scheduler_leader 1'" ||
    bad "the other deployment's scheduler leads"
start_ingot SC schedule || finish
check "this deployment's scheduler leads too" wait_until 100 sh -c \
    "curl -s http://127.0.0.1:$SC_PORT/metrics | grep -q '^ingot_scheduler_leader 1'"
wait_until 100 sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $K' $U/v1/models) = 200 ]" ||
    bad "the gateway read its providers"
H=(-H "Authorization: Bearer $K")
HO=(-H "Authorization: Bearer $KO")
# lines N MODEL [TAG]: a chat batch file of N lines on stdout
lines() {
    for i in $(seq 1 "$1"); do
        printf '{"custom_id":"%s-%d","method":"POST","url":"/v1/chat/completions","body":{"model":"%s","messages":[{"role":"user","content":"hi %d"}]}}\n' "${3:-x}" "$i" "$2" "$i"
    done
}
upload() { # upload FILE [PURPOSE] [KEY...]: the file id
    local f=$1 p=${2:-batch}; shift 2 2>/dev/null || shift
    curl -s "$U/v1/files" "${@:-${H[@]}}" -F purpose="$p" -F file=@"$f" | jq -r .id
}
create() { # create BODY [curl args]: the answer
    local b=$1; shift
    curl -s -X POST "$U/v1/batches" -H 'Content-Type: application/json' "${@:-${H[@]}}" -d "$b"
}
body() { printf '{"input_file_id":"%s","endpoint":"/v1/chat/completions","completion_window":"24h"%s}' "$1" "${2:-}"; }
param_is() { # param_is DESC BODY PARAM: a 400 naming PARAM
    local a; a=$(create "$2")
    eq "$1: 400 naming $3" "$(jq -r '"\(.error.type) \(.error.param)"' <<<"$a")" "invalid_request_error $3"
}
lines 3 fake-ok a >a.jsonl
F=$(upload a.jsonl)
check "a batch file uploaded" test "${F#file-}" != "$F"

# --- every field wrong ---
param_is "no body" '' null
param_is "an array" '[1]' null
param_is "input_file_id a number" '{"input_file_id":1,"endpoint":"/v1/chat/completions","completion_window":"24h"}' input_file_id
param_is "input_file_id missing" '{"endpoint":"/v1/chat/completions","completion_window":"24h"}' input_file_id
param_is "input_file_id not an id" "$(body "file-abc")" input_file_id
param_is "input_file_id with a quote" "$(body "file-00000000000000000000000'")" input_file_id
param_is "endpoint null" "{\"input_file_id\":\"$F\",\"endpoint\":null,\"completion_window\":\"24h\"}" endpoint
param_is "endpoint /v1/completions" "{\"input_file_id\":\"$F\",\"endpoint\":\"/v1/completions\",\"completion_window\":\"24h\"}" endpoint
param_is "endpoint with a trailing slash" "{\"input_file_id\":\"$F\",\"endpoint\":\"/v1/chat/completions/\",\"completion_window\":\"24h\"}" endpoint
param_is "completion_window 24" "{\"input_file_id\":\"$F\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":24}" completion_window
param_is "completion_window missing" "{\"input_file_id\":\"$F\",\"endpoint\":\"/v1/chat/completions\"}" completion_window
param_is "metadata an array" "$(body "$F" ',"metadata":[1]')" metadata
param_is "metadata a string" "$(body "$F" ',"metadata":"x"')" metadata
param_is "a metadata value a number" "$(body "$F" ',"metadata":{"a":1}')" metadata
param_is "a metadata key of 65" "$(body "$F" ",\"metadata\":{\"$(printf 'k%.0s' $(seq 65))\":\"v\"}")" metadata
param_is "a metadata value of 513" "$(body "$F" ",\"metadata\":{\"k\":\"$(printf 'v%.0s' $(seq 513))\"}")" metadata
param_is "output_expires_after a string" "$(body "$F" ',"output_expires_after":"1h"')" output_expires_after
param_is "output_expires_after anchor" "$(body "$F" ',"output_expires_after":{"anchor":"now","seconds":3600}')" output_expires_after
param_is "output_expires_after.seconds 3600.5" "$(body "$F" ',"output_expires_after":{"anchor":"created_at","seconds":3600.5}')" output_expires_after.seconds
param_is "output_expires_after.seconds 1e300" "$(body "$F" ',"output_expires_after":{"anchor":"created_at","seconds":1e300}')" output_expires_after.seconds
param_is "output_expires_after an extra field" "$(body "$F" ',"output_expires_after":{"anchor":"created_at","seconds":3600,"x":1}')" output_expires_after
param_is "a duplicate field" "$(body "$F" ",\"input_file_id\":\"$F\"")" input_file_id
eq "not JSON: 400" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/v1/batches" "${H[@]}" -d '{"input_file_id":')" 400
eq "no key: 401" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/v1/batches" -d "$(body "$F")")" 401

# --- huge metadata: the largest accepted, stored and answered whole ---
big=$(jq -nc '[range(16)] | map({key: ("k\(. + 10)" + ("\u0001" * 61)), value: ("\u0001" * 512)}) | from_entries')
a=$(create "$(body "$F" ",\"metadata\":$big")")
eq "16 keys of 64, values of 512 control characters: stored whole" "$(jq -c '.metadata == $m, .error' --argjson m "$big" <<<"$a" | tr '\n' ' ')" "true null "
eq "  and read back whole" "$(curl -s "$U/v1/batches/$(jq -r .id <<<"$a")" "${H[@]}" | jq -c '.metadata == $m' --argjson m "$big")" true
bad_utf8=$(printf '{"input_file_id":"%s","endpoint":"/v1/chat/completions","completion_window":"24h","metadata":{"k":"\xff\xfe"}}' "$F")
a=$(curl -s -X POST "$U/v1/batches" "${H[@]}" --data-binary "$bad_utf8")
eq "metadata with invalid UTF-8: a 400, not a server error" "$(jq -r .error.type <<<"$a")" invalid_request_error

# --- files of others, of another purpose, deleted ---
FO=$(upload a.jsonl batch "${HO[@]}")
param_is "another tenant's file" "$(body "$FO")" input_file_id
eq "another tenant's file: its content is a 404" "$(http_code "$U/v1/files/$FO/content" "${H[@]}")" 404
eq "another tenant's file: delete is a 404" "$(http_code "$U/v1/files/$FO" -X DELETE "${H[@]}")" 404
eq "  and it is still there" "$(http_code "$U/v1/files/$FO" "${HO[@]}")" 200
printf 'hello' >u.txt
FU=$(upload u.txt user_data)
param_is "a purpose=user_data file" "$(body "$FU")" input_file_id
FD=$(upload a.jsonl)
eq "a file deleted" "$(http_code "$U/v1/files/$FD" -X DELETE "${H[@]}")" 200
param_is "a deleted file" "$(body "$FD")" input_file_id
eq "delete twice: 404" "$(http_code "$U/v1/files/$FD" -X DELETE "${H[@]}")" 404

# --- list and query parameters ---
for v in 0 -1 101 1.5 '' abc 1e2 '%2B5' '%205' 99999999999999999999; do
    eq "limit=$v: 400 naming limit" "$(curl -s "$U/v1/batches?limit=$v" "${H[@]}" | jq -r .error.param)" limit
done
eq "limit=1: one" "$(curl -s "$U/v1/batches?limit=1" "${H[@]}" | jq '.data | length')" 1
eq "limit=100: 200" "$(http_code "$U/v1/batches?limit=100" "${H[@]}")" 200
eq "limit twice: 400" "$(http_code "$U/v1/batches?limit=1&limit=2" "${H[@]}")" 400
eq "an unknown parameter: 400 naming it" "$(curl -s "$U/v1/batches?order=asc" "${H[@]}" | jq -r .error.param)" order
eq "after=garbage: 400" "$(curl -s "$U/v1/batches?after=x" "${H[@]}" | jq -r .error.param)" after
eq "after=an unknown id: an empty page" "$(curl -s "$U/v1/batches?after=batch_000000000000000000000000" "${H[@]}" | jq -c '[.data, .has_more]')" '[[],false]'
BO=$(create "$(body "$FO")" "${HO[@]}" | jq -r .id)
check "other's batch created" test "${BO#batch_}" != "$BO"
eq "after=another tenant's id: an empty page" "$(curl -s "$U/v1/batches?after=$BO" "${H[@]}" | jq -c '[.data, .has_more]')" '[[],false]'
eq "another tenant's batch: 404" "$(http_code "$U/v1/batches/$BO" "${H[@]}")" 404
eq "cancel another tenant's batch: 404" "$(http_code "$U/v1/batches/$BO/cancel" -X POST "${H[@]}")" 404
check "  and it is not cancelled" test "$(q "SELECT status FROM $DB.batches WHERE id = '$BO'")" != 6
eq "an upper-case id: 400" "$(http_code "$U/v1/batches/batch_ABCDEF000000000000000000" "${H[@]}")" 400
eq "cancel with GET: 405 or 404" "$(http_code "$U/v1/batches/$BO/cancel" "${H[@]}" | grep -cE '^(404|405)$')" 1
eq "files: limit=0: 400" "$(curl -s "$U/v1/files?limit=0" "${H[@]}" | jq -r .error.param)" limit
eq "files: after=garbage: 400" "$(curl -s "$U/v1/files?after=x" "${H[@]}" | jq -r .error.param)" after
eq "files: purpose too long: 400" "$(curl -s "$U/v1/files?purpose=$(printf 'p%.0s' $(seq 40))" "${H[@]}" | jq -r .error.param)" purpose
eq "files: no file of another tenant listed" "$(curl -s "$U/v1/files?limit=10000" "${H[@]}" | jq "[.data[].id] | index(\"$FO\")")" null

# --- cancel twice, after the end ---
lines 30 fake-delay-300-c c >c.jsonl
FC=$(upload c.jsonl)
BC=$(create "$(body "$FC")" | jq -r .id)
eq "cancel: 200" "$(curl -s -X POST "$U/v1/batches/$BC/cancel" "${H[@]}" | jq -r .status)" cancelling
eq "cancel again: 200, the batch" "$(curl -s -X POST "$U/v1/batches/$BC/cancel" "${H[@]}" | jq -r .status | grep -cE '^(cancelling|cancelled)$')" 1
check "the cancelled batch ends cancelled" wait_sql 300 "SELECT status FROM $DB.batches WHERE id = '$BC'" 7
eq "cancel once cancelled: the batch (200)" "$(curl -s -X POST "$U/v1/batches/$BC/cancel" "${H[@]}" | jq -r .status)" cancelled
check "other's batch completes" wait_sql 300 "SELECT status FROM $DB.batches WHERE id = '$BO'" 3
eq "cancel a completed batch: 409" "$(http_code "$U/v1/batches/$BO/cancel" -X POST "${HO[@]}")" 409

# --- concurrent creates on one file: each its own batch, each complete ---
lines 4 fake-ok p >p.jsonl
FP=$(upload p.jsonl)
pids=()
for i in 1 2 3 4 5 6; do create "$(body "$FP")" >"par$i.json" & pids+=($!); done
wait "${pids[@]}"
eq "6 concurrent creates on one file: 6 batches" "$(cat par*.json | jq -r .id | sort -u | grep -c '^batch_')" 6
for i in 1 2 3 4 5 6; do
    check "  batch $i completes" wait_sql 300 "SELECT status FROM $DB.batches WHERE id = '$(jq -r .id "par$i.json")'" 3
done
ids=$(cat par*.json | jq -r '"\u0027\(.id)\u0027"' | paste -sd,)
eq "  one job per line of each" "$(q "SELECT COUNT(*), COUNT(DISTINCT group_key, JSON_VALUE(metadata, '$.line')) FROM $DB.jobs WHERE queue = 'batches' AND group_key IN ($ids)")" "24	24"

# --- a provider that answers 500 to every line: the batch completes, every
# line in the error file with the provider's status, none lost ---
lines 3 fake-500-e e >e.jsonl
FE=$(upload e.jsonl)
BE=$(create "$(body "$FE")" | jq -r .id)
check "a batch whose every line gets 500 ends" wait_until 900 sh -c \
    "[ \$(mariadb --no-defaults --socket=$MARIADB_SOCKET -uroot -N -B -e \"SELECT status FROM $DB.batches WHERE id = '$BE'\") = 3 ]"
be=$(curl -s "$U/v1/batches/$BE" "${H[@]}")
eq "  completed, every line failed" "$(jq -c '[.status, .request_counts, .output_file_id]' <<<"$be")" '["completed",{"total":3,"completed":0,"failed":3},null]'
eq "  the error file: each line once, status 500" \
    "$(curl -s "$U/v1/files/$(jq -r .error_file_id <<<"$be")/content" "${H[@]}" | jq -r '"\(.custom_id) \(.response.status_code)"' | sort | tr '\n' ' ')" "e-1 500 e-2 500 e-3 500 "
eq "  each tried 5 times" "$(q "SELECT MIN(attempts), MAX(attempts) FROM $DB.jobs WHERE group_key = '$BE'")" "5	5"

# --- the scheduler down while batches run: released lines still run, the
# batch waits, and a new scheduler finishes it exactly ---
stop_ingot "$SC_PID" "$SC_LOG"
BATCH_WINDOW_LINES=10 start_ingot SC2 schedule || finish
lines 40 fake-delay-200-s s >s.jsonl
FS=$(upload s.jsonl)
BS=$(create "$(body "$FS")" | jq -r .id)
check "lines released" wait_until 200 sh -c \
    "[ \$(mariadb --no-defaults --socket=$MARIADB_SOCKET -uroot -N -B -e \"SELECT released FROM $DB.batches WHERE id = '$BS'\") -gt 0 ]"
kill -9 "$SC2_PID"; wait "$SC2_PID" 2>/dev/null
check "  the released lines run without a scheduler" wait_until 200 sh -c \
    "[ \$(mariadb --no-defaults --socket=$MARIADB_SOCKET -uroot -N -B -e \"SELECT COUNT(*) FROM $DB.jobs WHERE group_key = '$BS' AND state IN (0, 1)\") = 0 ]"
eq "  and the batch waits in progress" "$(curl -s "$U/v1/batches/$BS" "${H[@]}" | jq -r .status)" in_progress
BATCH_WINDOW_LINES=10 start_ingot SC3 schedule || finish
check "  a new scheduler finishes it" wait_sql 300 "SELECT status FROM $DB.batches WHERE id = '$BS'" 3
eq "  every line once" "$(q "SELECT COUNT(*), COUNT(DISTINCT JSON_VALUE(metadata, '$.line')), SUM(state = 2) FROM $DB.jobs WHERE group_key = '$BS'")" "40	40	40"
eq "  40 lines in the output" "$(curl -s "$U/v1/files/$(curl -s "$U/v1/batches/$BS" "${H[@]}" | jq -r .output_file_id)/content" "${H[@]}" | jq -r .custom_id | sort -u | wc -l)" 40

# --- Redis down: a private Redis killed while a batch runs; the batch
# still completes (Redis only wakes workers early) ---
RP=$(free_port)
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no >redis.log 2>&1 &
RPID=$!
wait_until 100 sh -c "redis-cli -p $RP ping 2>/dev/null | grep -q PONG" || bad "private redis up"
REDIS_URL="redis://127.0.0.1:$RP" start_ingot SR serve || finish
REDIS_URL="redis://127.0.0.1:$RP" QUEUE_LEASE=2s start_ingot WR work || finish
stop_ingot "$SC3_PID" "$SC3_LOG"
REDIS_URL="redis://127.0.0.1:$RP" BATCH_WINDOW_LINES=10 start_ingot SCR schedule || finish
stop_ingot "$W_PID" "$W_LOG"
lines 30 fake-delay-100-r r >r.jsonl
FR=$(curl -s "http://127.0.0.1:$SR_PORT/v1/files" "${H[@]}" -F purpose=batch -F file=@r.jsonl | jq -r .id)
BR=$(curl -s -X POST "http://127.0.0.1:$SR_PORT/v1/batches" "${H[@]}" -d "$(body "$FR")" | jq -r .id)
check "a batch runs with Redis up" wait_until 200 sh -c \
    "[ \$(mariadb --no-defaults --socket=$MARIADB_SOCKET -uroot -N -B -e \"SELECT completed_n FROM $DB.batches WHERE id = '$BR'\") -gt 0 ]"
kill -9 "$RPID"; wait "$RPID" 2>/dev/null
check "  Redis killed: the batch still completes" wait_sql 600 "SELECT status FROM $DB.batches WHERE id = '$BR'" 3
eq "  every line once, in the output" "$(curl -s "http://127.0.0.1:$SR_PORT/v1/batches/$BR" "${H[@]}" | jq -c .request_counts)" '{"total":30,"completed":30,"failed":0}'
eq "  create still answers without Redis" "$(curl -s -X POST "http://127.0.0.1:$SR_PORT/v1/batches" "${H[@]}" -d "$(body "$FR")" | jq -r .status)" in_progress

# --- kill -9 of serve in the middle of creates: a batch is stored whole or
# not at all, and every stored one completes ---
lines 20000 fake-ok-big k >k.jsonl
FK=$(upload k.jsonl)
check "a 20000-line file uploaded" test "${FK#file-}" != "$FK"
before=$(q "SELECT COUNT(*) FROM $DB.batches WHERE input_file_id = '$FK'")
pids=()
for i in 1 2 3 4; do create "$(body "$FK")" >/dev/null 2>&1 & pids+=($!); done
sleep 0.3 # the creates are reading the file back (no observable state to wait on)
kill -9 "$S_PID"; wait "$S_PID" 2>/dev/null
wait "${pids[@]}"
start_ingot S2 serve || finish
stored=$(q "SELECT COUNT(*) FROM $DB.batches WHERE input_file_id = '$FK'")
echo "  batches stored by the killed creates: $((stored - before)) of 4"
eq "  each stored batch whole (total 20000, in progress)" "$(q "SELECT COUNT(*) FROM $DB.batches WHERE input_file_id = '$FK' AND (total <> 20000 OR status <> 1)")" 0
eq "  the file is intact for a new create" "$(curl -s -X POST "http://127.0.0.1:$S2_PORT/v1/batches" "${H[@]}" -d "$(body "$FK")" | jq -r .request_counts.total)" 20000

# --- kill -9 of serve in the middle of an upload: nothing of it is visible ---
up0=$(q "SELECT COUNT(*) FROM $DB.files WHERE state = 0")
curl -s --limit-rate 300k "http://127.0.0.1:$S2_PORT/v1/files" "${H[@]}" -F purpose=batch -F file=@k.jsonl >/dev/null 2>&1 &
cpid=$!
check "an upload under way" wait_until 100 sh -c \
    "[ \$(mariadb --no-defaults --socket=$MARIADB_SOCKET -uroot -N -B -e \"SELECT COUNT(*) FROM $DB.files WHERE state = 0\") -gt $up0 ]"
kill -9 "$S2_PID"; wait "$S2_PID" 2>/dev/null; wait "$cpid" 2>/dev/null
start_ingot S3 serve || finish
half=$(q "SELECT id FROM $DB.files WHERE state = 0 ORDER BY seq DESC LIMIT 1")
eq "  the half upload is not listed" "$(curl -s "http://127.0.0.1:$S3_PORT/v1/files?limit=10000" "${H[@]}" | jq "[.data[].id] | index(\"$half\")")" null
eq "  nor readable" "$(http_code "http://127.0.0.1:$S3_PORT/v1/files/$half/content" "${H[@]}")" 404
eq "  nor a batch's input" "$(curl -s -X POST "http://127.0.0.1:$S3_PORT/v1/batches" "${H[@]}" -d "$(body "$half")" | jq -r .error.param)" input_file_id

finish
