# Hostile inputs and the job store (issue 9, items 3, 7-11, 18, 22):
# numbers from outside are checked (a target's huge Retry-After, query
# strings), strings are UTF-8 without NUL, dates exist, bodies are one JSON
# value, idempotency keys of jobs and batches are apart and bound to their
# request, one job representation, retry forgets the last run, and a value
# the database refuses is a 400, never a 503.
. "$(dirname "$0")/lib.sh"
jobs_setup inputs
q() { mysql_root -e "$1"; }
start_ingot S serve
U="http://127.0.0.1:$S_PORT"
post() { curl -s -o resp.json -w '%{http_code}' -X POST "$U$1" "${AUTH[@]}" "${@:2}"; }
put() { curl -s -o resp.json -w '%{http_code}' -X PUT "$U$1" "${AUTH[@]}" "${@:2}"; }
param() { jq -r .error.param resp.json; }
J='"kind":"http","payload":{"url":"http://127.0.0.1:9/x"}'
jobs_now() { q "SELECT COUNT(*) FROM $DB.jobs"; }

# --- 3: a body is one JSON value -------------------------------------------
eq "two objects: 400" "$(post /v1/jobs -d "{$J}{$J}")" 400
eq "  invalid_json" "$(jq -r .error.code resp.json)" invalid_json
eq "trailing garbage: 400" "$(post /v1/jobs -d "{$J} x")" 400
eq "trailing whitespace is fine" "$(post /v1/jobs --data-binary "$(printf '{%s}\n\n ' "$J")")" 202
eq "batch: two arrays: 400" "$(post /v1/jobs/batch -d "[{$J}][{$J}]")" 400

# --- 8: invalid UTF-8 is refused at the edge, naming the field ---------------
n0=$(jobs_now)
bad_utf8() { # bad_utf8 PATH BODY-WITH-\xff -> "code param"
    printf "$2" > raw.json
    printf '%s %s' "$(post "$1" --data-binary @raw.json)" "$(param)"
}
eq "payload.body" "$(bad_utf8 /v1/jobs '{"kind":"http","payload":{"url":"http://127.0.0.1:9/","body":"a\xffb"}}')" "400 payload.body"
eq "payload.url" "$(bad_utf8 /v1/jobs '{"kind":"http","payload":{"url":"http://127.0.0.1:9/\xc3\x28"}}')" "400 payload.url"
eq "payload.headers value" "$(bad_utf8 /v1/jobs '{"kind":"http","payload":{"url":"http://127.0.0.1:9/","headers":{"X-A":"\xfe"}}}')" "400 payload.headers.X-A"
eq "metadata value" "$(bad_utf8 /v1/jobs '{"kind":"http","payload":{"url":"http://127.0.0.1:9/"},"metadata":{"a":{"b":"\xed\xa0\x80"}}}')" "400 metadata.a.b"
eq "metadata key" "$(bad_utf8 /v1/jobs '{"kind":"http","payload":{"url":"http://127.0.0.1:9/"},"metadata":{"k\xff":1}}')" "400 metadata"
eq "idempotency_key" "$(bad_utf8 /v1/jobs '{"kind":"http","payload":{"url":"http://127.0.0.1:9/"},"idempotency_key":"k\xc0\xaf"}')" "400 idempotency_key"
eq "batch item" "$(bad_utf8 /v1/jobs/batch '[{"kind":"http","payload":{"url":"http://127.0.0.1:9/"}},{"kind":"http","payload":{"url":"http://127.0.0.1:9/","body":"\xff"}}]')" "400 jobs[1].payload.body"
eq "  message names it once" "$(jq -r .error.message resp.json)" "jobs[1].payload.body: must be valid UTF-8"
eq "batch item ({jobs: [...]})" "$(bad_utf8 /v1/jobs/batch '{"jobs":[{"kind":"http","payload":{"url":"http://127.0.0.1:9/"},"group":"g\xff"}]}')" "400 jobs[0].group"
printf '{"cron":"@daily","job":{"kind":"http","payload":{"url":"http://127.0.0.1:9/","body":"\xff"}}}' > raw.json
eq "schedule job" "$(put /v1/schedules/s1 --data-binary @raw.json) $(param)" "400 job.payload.body"
eq "Idempotency-Key header" "$(post /v1/jobs -H "$(printf 'Idempotency-Key: k\xff')" -d "{$J}") $(param)" "400 Idempotency-Key"
eq "batch Idempotency-Key header" "$(post /v1/jobs/batch -H "$(printf 'Idempotency-Key: k\xc0\xaf')" -d "[{$J}]") $(param)" "400 Idempotency-Key"
eq "nothing stored" "$(jobs_now)" "$n0"

# --- 9: NUL (\u0000) no longer truncates a string ----------------------------
nul() { printf '%s %s' "$(post "$1" -d "$2")" "$(param)"; }
eq "key a\\u0000b: 400" "$(nul /v1/jobs "{$J,\"idempotency_key\":\"a\\u0000b\"}")" "400 idempotency_key"
eq "url with NUL: 400" "$(nul /v1/jobs '{"kind":"http","payload":{"url":"http://127.0.0.1:9/ok\u0000.evil"}}')" "400 payload.url"
eq "method with NUL: 400" "$(nul /v1/jobs '{"kind":"http","payload":{"url":"http://127.0.0.1:9/","method":"GET\u0000x"}}')" "400 payload.method"
eq "metadata key with NUL: 400" "$(nul /v1/jobs "{$J,\"metadata\":{\"a\\u0000b\":1}}")" "400 metadata"
eq "queue with NUL: 400" "$(nul /v1/jobs "{$J,\"queue\":\"q\\u0000x\"}")" "400 queue"
eq "callback_url with NUL: 400" "$(nul /v1/jobs "{$J,\"callback_url\":\"http://127.0.0.1:9/\\u0000\"}")" "400 callback_url"
eq "batch item url: 400" "$(nul /v1/jobs/batch "[{$J},{$J},{\"kind\":\"http\",\"payload\":{\"url\":\"http://127.0.0.1:9/\\u0000\"}}]")" "400 jobs[2].payload.url"
eq "escaped backslash is not NUL" "$(post /v1/jobs -d "{$J,\"metadata\":{\"p\":\"C:\\\\u0000\"}}")" 202
eq "  and is kept as sent" "$(http_body "$U/v1/jobs/$(jq -r .id resp.json)" "${AUTH[@]}" | jq -r .metadata.p)" 'C:\u0000'
eq "timezone UTC\\u0000x: 400" "$(printf '%s %s' "$(put /v1/schedules/s2 -d '{"cron":"@daily","timezone":"UTC\u0000x","job":{"kind":"http","payload":{"url":"http://127.0.0.1:9/"}}}')" "$(param)")" "400 timezone"
eq "cron with NUL: 400" "$(printf '%s %s' "$(put /v1/schedules/s2 -d '{"cron":"@daily\u0000x","job":{"kind":"http","payload":{"url":"http://127.0.0.1:9/"}}}')" "$(param)")" "400 cron"
eq "no schedule stored" "$(q "SELECT COUNT(*) FROM $DB.schedules")" 0
eq "nothing stored" "$(jobs_now)" "$((n0 + 1))"

# --- 10: impossible dates ---------------------------------------------------
eq "2030-02-30: 400" "$(post /v1/jobs -d "{$J,\"run_at\":\"2030-02-30T00:00:00Z\"}") $(param)" "400 run_at"
eq "2030-02-29: 400" "$(post /v1/jobs -d "{$J,\"run_at\":\"2030-02-29T00:00:00Z\"}") $(param)" "400 run_at"
eq "2030-04-31 with an offset: 400" "$(post /v1/jobs -d "{$J,\"run_at\":\"2030-04-31T01:00:00+02:00\"}") $(param)" "400 run_at"
eq "2024-02-29 (leap year): 202" "$(post /v1/jobs -d "{$J,\"run_at\":\"2024-02-29T10:00:00Z\"}")" 202
eq "  stored as that day" "$(jq -r .run_at resp.json)" "2024-02-29T10:00:00.000000Z"

# --- 7: numbers in query strings ---------------------------------------------
eq "limit beyond long long: 400" "$(http_code "$U/v1/jobs?limit=99999999999999999999" "${AUTH[@]}")" 400
eq "wait beyond long long: 400" "$(http_code "$U/v1/jobs/job_1?wait=99999999999999999999" "${AUTH[@]}")" 400
eq "limit with junk: 400" "$(http_code "$U/v1/jobs?limit=5x" "${AUTH[@]}")" 400
eq "cursor beyond 64 bits: 400" "$(http_code "$U/v1/jobs?cursor=cfffffffffffffffffffff" "${AUTH[@]}")" 400
eq "cursor with a sign: 400" "$(http_code "$U/v1/jobs?cursor=c-1" "${AUTH[@]}")" 400

# --- 11: idempotency ----------------------------------------------------------
# A batch's key K is held as "batch:K" (the previous release's format,
# kept for rolling updates), so a single job may not take such a key.
eq "single job with key batch:X: 400" "$(post /v1/jobs -d "{$J,\"idempotency_key\":\"batch:X\"}")" 400
eq "  names idempotency_key" "$(param)" idempotency_key
contains "  says why" "$(jq -r .error.message resp.json)" "reserved for batches"
eq "  or in the header: 400" "$(post /v1/jobs -H 'Idempotency-Key: batch:X' -d "{$J}")" 400
eq "batch with Idempotency-Key X: 202" "$(post /v1/jobs/batch -H 'Idempotency-Key: X' -d "[{$J},{$J}]")" 202
eq "  its first row holds batch:X, every row shows X" "$(q "SELECT GROUP_CONCAT(CONCAT(IFNULL(idempotency_key, '-'), '/', idempotency_batch) ORDER BY id) FROM $DB.jobs WHERE idempotency_batch = 'X'")" "batch:X/X,-/X"
eq "and a single job with key X: 202" "$(post /v1/jobs -H 'Idempotency-Key: X' -d "{$J}")" 202
eq "batch key of the longest length (249): 202" "$(post /v1/jobs/batch -H "Idempotency-Key: $(printf 'b%.0s' {1..249})" -d "[{$J}]")" 202
eq "batch key of 250: 400" "$(post /v1/jobs/batch -H "Idempotency-Key: $(printf 'b%.0s' {1..250})" -d "[{$J}]")" 400

# Rows of the previous release (no request_hash, no idempotency_batch; a
# batch holds "batch:B" on its first row only) are replayed, never
# inserted again, during a rolling update.
TID=$(q "SELECT id FROM $DB.tenants WHERE name = 'acme'")
OLDCOLS="tenant_id, queue, kind, priority, run_at, max_attempts, backoff_base_ms, backoff_max_ms, timeout_ms, payload, idempotency_key"
q "INSERT INTO $DB.jobs ($OLDCOLS) VALUES ($TID, 'default', 'http', 0, NOW(6), 3, 1000, 60000, 30000, '{\"url\":\"http://127.0.0.1:9/x\"}', 'old-k')"
q "INSERT INTO $DB.jobs ($OLDCOLS) VALUES ($TID, 'default', 'http', 0, NOW(6), 3, 1000, 60000, 30000, '{\"url\":\"http://127.0.0.1:9/x\"}', 'batch:old-b'), ($TID, 'default', 'http', 0, NOW(6), 3, 1000, 60000, 30000, '{\"url\":\"http://127.0.0.1:9/y\"}', NULL)"
OLDK=$(q "SELECT id FROM $DB.jobs WHERE idempotency_key = 'old-k'")
OLDB=$(q "SELECT id FROM $DB.jobs WHERE idempotency_key = 'batch:old-b'")
n0=$(jobs_now)
eq "previous release's job, same key: 200" "$(post /v1/jobs -H 'Idempotency-Key: old-k' -d "{$J}")" 200
eq "  that job" "$(jq -r .id resp.json)" "job_$OLDK"
eq "previous release's batch, same key: 200" "$(post /v1/jobs/batch -H 'Idempotency-Key: old-b' -d "[{$J},{\"kind\":\"http\",\"payload\":{\"url\":\"http://127.0.0.1:9/y\"}}]")" 200
eq "  its two jobs" "$(jq -r '[.data[].id] | join(",")' resp.json)" "job_$OLDB,job_$((OLDB + 1))"
eq "  nothing inserted" "$(jobs_now)" "$n0"

# Item 5: another row of the tenant created in the same microsecond as a
# keyed batch is not taken for one of its rows.
eq "keyed batch mb-1: 202" "$(post /v1/jobs/batch -H 'Idempotency-Key: mb-1' -d "[{$J},{$J}]")" 202
MB=$(jq -r '.data[0].id' resp.json | sed 's/job_//')
q "INSERT INTO $DB.jobs ($OLDCOLS, created_at) SELECT tenant_id, queue, kind, priority, run_at, max_attempts, backoff_base_ms, backoff_max_ms, timeout_ms, payload, NULL, created_at FROM $DB.jobs WHERE id = $MB"
eq "  a row of the same microsecond, then the replay: 200" "$(post /v1/jobs/batch -H 'Idempotency-Key: mb-1' -d "[{$J},{$J}]")" 200
eq "  the batch's two jobs" "$(jq -r '.data | length' resp.json)" 2

# Item 4: concurrent repeats of an expired key: one clears it, the others
# may find it gone; they insert again (one job), never 503.
EXP='{"kind":"http","queue":"q-exp","payload":{"url":"http://127.0.0.1:9/exp"}}'
for round in 1 2 3; do
    eq "expired-key round $round: 202" "$(post /v1/jobs -H "Idempotency-Key: exp-$round" -d "$EXP")" 202
    q "UPDATE $DB.jobs SET created_at = created_at - INTERVAL 2 DAY WHERE idempotency_key = 'exp-$round'"
    ep=()
    for k in 1 2 3 4 5 6 7 8; do
        curl -s -o /dev/null -w '%{http_code}\n' -X POST "$U/v1/jobs" "${AUTH[@]}" -H "Idempotency-Key: exp-$round" -d "$EXP" > "exp$k.code" &
        ep+=($!)
    done
    wait "${ep[@]}"
    eq "  8 concurrent repeats: 200 or 202, never 503" "$(cat exp?.code | sort -u | tr '\n' ' ')" "$(cat exp?.code | grep -E '^20[02]$' | sort -u | tr '\n' ' ')"
    eq "  one new job holds the key" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE idempotency_key = 'exp-$round' AND created_at > NOW(6) - INTERVAL 1 HOUR")" 1
    eq "  exactly one 202" "$(cat exp?.code | grep -c '^202$')" 1
done

K1='{"kind":"http","queue":"q-first","payload":{"url":"http://127.0.0.1:9/a"}}'
eq "keyed job: 202" "$(post /v1/jobs -H 'Idempotency-Key: order-1' -d "$K1")" 202
O1=$(jq -r .id resp.json)
eq "same key, same body: 200" "$(post /v1/jobs -H 'Idempotency-Key: order-1' -d "$K1")" 200
eq "  the same job" "$(jq -r .id resp.json)" "$O1"
eq "same body with the key in the field: 200" "$(post /v1/jobs -d '{"kind":"http","queue":"q-first","payload":{"url":"http://127.0.0.1:9/a"},"idempotency_key":"order-1"}')" 200
n1=$(jobs_now)
eq "same key, another body: 422" "$(post /v1/jobs -H 'Idempotency-Key: order-1' -d '{"kind":"http","queue":"q-replayed","payload":{"url":"http://127.0.0.1:9/b"}}')" 422
eq "  names idempotency_key" "$(param)" idempotency_key
eq "  code" "$(jq -r .error.code resp.json)" idempotency_key_reused
eq "  no job" "$(jobs_now)" "$n1"
eq "  no queue created by the refused request" "$(q "SELECT COUNT(*) FROM $DB.queues WHERE name = 'q-replayed'")" 0
B1="[{$J},{\"kind\":\"http\",\"payload\":{\"url\":\"http://127.0.0.1:9/b1\"}}]"
eq "keyed batch: 202" "$(post /v1/jobs/batch -H 'Idempotency-Key: imp-1' -d "$B1")" 202
eq "same key, same size, other jobs: 422" "$(post /v1/jobs/batch -H 'Idempotency-Key: imp-1' -d "[{$J},{\"kind\":\"http\",\"queue\":\"q-b-replayed\",\"payload\":{\"url\":\"http://127.0.0.1:9/b2\"}}]")" 422
eq "  names the header" "$(param)" Idempotency-Key
eq "  no queue created" "$(q "SELECT COUNT(*) FROM $DB.queues WHERE name = 'q-b-replayed'")" 0
eq "a replay creates no queue: keyed job into a new queue" "$(post /v1/jobs -H 'Idempotency-Key: order-2' -d '{"kind":"http","queue":"q-two","payload":{"url":"http://127.0.0.1:9/a"}}')" 202
check "  its queue appears" wait_sql 50 "SELECT COUNT(*) FROM $DB.queues WHERE name = 'q-two'" 1
q "DELETE FROM $DB.queues WHERE name = 'q-two'"
eq "  replay: 200" "$(post /v1/jobs -H 'Idempotency-Key: order-2' -d '{"kind":"http","queue":"q-two","payload":{"url":"http://127.0.0.1:9/a"}}')" 200
# a fresh serve (no cache of known queues) so a replay would re-create it
start_ingot S2 serve
eq "  replay on another serve: 200" "$(curl -s -o resp.json -w '%{http_code}' -X POST "http://127.0.0.1:$S2_PORT/v1/jobs" "${AUTH[@]}" -H 'Idempotency-Key: order-2' -d '{"kind":"http","queue":"q-two","payload":{"url":"http://127.0.0.1:9/a"}}')" 200
eq "  then a plain job: 202" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$S2_PORT/v1/jobs" "${AUTH[@]}" -d '{"kind":"http","queue":"q-marker","payload":{"url":"http://127.0.0.1:9/a"}}')" 202
check "  (its queue row is written)" wait_sql 50 "SELECT COUNT(*) FROM $DB.queues WHERE name = 'q-marker'" 1
eq "  the replays wrote no queue row" "$(q "SELECT COUNT(*) FROM $DB.queues WHERE name = 'q-two'")" 0

# --- coalesced INSERTs: capped by bytes; a refused one is resent row by row --
# One INSERT at a time (DATABASE_MAX_CONNECTIONS=2), and the first one
# waits in a trigger on a lock this test holds, so the others coalesce:
# 47 jobs of ~240 KB are ~23 MB of hex SQL, over the server's 16 MiB
# max_allowed_packet in one statement.
DATABASE_MAX_CONNECTIONS=2 start_ingot C serve
inflight() { curl -s "http://127.0.0.1:$C_PORT/metrics" | awk '$1 == "ingot_http_requests_in_flight" {print $2}'; }
at_least() { [ "$(inflight)" -ge "$1" ] 2>/dev/null; }
mysql_root "$DB" <<'SQL'
DELIMITER //
CREATE TRIGGER hold BEFORE INSERT ON jobs FOR EACH ROW
IF NEW.queue = 'q-big' THEN DO GET_LOCK('ingot_test_hold', 60); DO RELEASE_LOCK('ingot_test_hold'); END IF//
DELIMITER ;
SQL
coproc HOLD { mysql_root --unbuffered; }
echo "SELECT GET_LOCK('ingot_test_hold', 10);" >&"${HOLD[1]}"
read -r -t 10 held <&"${HOLD[0]}"
eq "  (the test holds the lock)" "$held" 1
python3 -c 'import json; print(json.dumps({"kind":"http","queue":"q-big","payload":{"url":"http://127.0.0.1:9/big","body":"A"*240000}}))' > big.json
cp_=()
for k in $(seq 1 48); do
    curl -s -o /dev/null -w '%{http_code}\n' -X POST "http://127.0.0.1:$C_PORT/v1/jobs" "${AUTH[@]}" --data-binary @big.json > "big$k.code" &
    cp_+=($!)
done
check "  (48 requests wait, and the /metrics one)" wait_until 300 at_least 49
echo "SELECT RELEASE_LOCK('ingot_test_hold');" >&"${HOLD[1]}"
read -r -t 10 _ <&"${HOLD[0]}"
exec {HOLD[1]}>&-
wait "${cp_[@]}"
q "DROP TRIGGER $DB.hold"
eq "48 concurrent 240 KB jobs: all 202" "$(cat big*.code | sort | uniq -c | awk '{print $1" "$2}' | tr '\n' ' ')" "48 202 "
eq "  48 rows" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'q-big'")" 48
# The same hold, then 30 requests of which one the database refuses (a
# trigger stands for any error of one row): only that one fails.
mysql_root "$DB" <<'SQL'
DELIMITER //
CREATE TRIGGER poison BEFORE INSERT ON jobs FOR EACH ROW
BEGIN
IF NEW.queue = 'q-hold' THEN DO GET_LOCK('ingot_test_hold', 60); DO RELEASE_LOCK('ingot_test_hold'); END IF;
IF NEW.queue = 'q-poison' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poisoned row'; END IF;
END//
DELIMITER ;
SQL
coproc HOLD { mysql_root --unbuffered; }
echo "SELECT GET_LOCK('ingot_test_hold', 10);" >&"${HOLD[1]}"
read -r -t 10 held <&"${HOLD[0]}"
eq "  (the test holds the lock again)" "$held" 1
curl -s -o /dev/null -w '%{http_code}\n' -X POST "http://127.0.0.1:$C_PORT/v1/jobs" "${AUTH[@]}" -d '{"kind":"http","queue":"q-hold","payload":{"url":"http://127.0.0.1:9/p"}}' > poison0.code &
cp_=($!)
check "  (the first INSERT waits)" wait_until 300 at_least 2
for k in $(seq 1 30); do
    qn=q-good; [ "$k" = 2 ] && qn=q-poison
    curl -s -o /dev/null -w '%{http_code}\n' -X POST "http://127.0.0.1:$C_PORT/v1/jobs" "${AUTH[@]}" -d "{\"kind\":\"http\",\"queue\":\"$qn\",\"payload\":{\"url\":\"http://127.0.0.1:9/p\"}}" > "poison$k.code" &
    cp_+=($!)
done
check "  (30 more wait behind it)" wait_until 300 at_least 32
echo "SELECT RELEASE_LOCK('ingot_test_hold');" >&"${HOLD[1]}"
read -r -t 10 _ <&"${HOLD[0]}"
exec {HOLD[1]}>&-
wait "${cp_[@]}"
q "DROP TRIGGER $DB.poison"
eq "a refused row among 30 coalesced: only it fails" "$(cat poison*.code | grep -c '^202$')" 30
check "  it is the poisoned one" test "$(cat poison2.code)" != 202
eq "  29 rows" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'q-good'")" 29

# An INSERT that timed out may have committed: not "retry shortly" (503)
# but 500 job_state_unknown, pointing at Idempotency-Key.
DATABASE_QUERY_TIMEOUT=500ms start_ingot D serve
mysql_root "$DB" <<'SQL'
DELIMITER //
CREATE TRIGGER slow BEFORE INSERT ON jobs FOR EACH ROW
IF NEW.queue = 'q-slow' THEN DO GET_LOCK('ingot_test_hold', 60); DO RELEASE_LOCK('ingot_test_hold'); END IF//
DELIMITER ;
SQL
coproc HOLD { mysql_root --unbuffered; }
echo "SELECT GET_LOCK('ingot_test_hold', 10);" >&"${HOLD[1]}"
read -r -t 10 held <&"${HOLD[0]}"
eq "a timed-out INSERT: 500" "$(curl -s -o resp.json -w '%{http_code}' -X POST "http://127.0.0.1:$D_PORT/v1/jobs" "${AUTH[@]}" -d '{"kind":"http","queue":"q-slow","payload":{"url":"http://127.0.0.1:9/s"}}')" 500
eq "  job_state_unknown" "$(jq -r .error.code resp.json)" job_state_unknown
contains "  says to use Idempotency-Key" "$(jq -r .error.message resp.json)" "Idempotency-Key"
echo "SELECT RELEASE_LOCK('ingot_test_hold');" >&"${HOLD[1]}"
read -r -t 10 _ <&"${HOLD[0]}"
exec {HOLD[1]}>&-
q "DROP TRIGGER $DB.slow"

# With a key, an INSERT whose link broke is resolved by its key: the
# connection is killed while the INSERT waits in a trigger (nothing
# stored), so the key is not found and the job is inserted again.
mysql_root "$DB" <<'SQL'
DELIMITER //
CREATE TRIGGER slow BEFORE INSERT ON jobs FOR EACH ROW
IF NEW.queue = 'q-kill' THEN DO GET_LOCK('ingot_test_hold', 60); DO RELEASE_LOCK('ingot_test_hold'); END IF//
DELIMITER ;
SQL
waiting_insert() { q "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '$DB' AND INFO LIKE 'DO GET_LOCK%' AND STATE = 'User lock' AND ID <> ${1:-0} LIMIT 1"; }
has_waiting_insert() { [ -n "$(waiting_insert "$@")" ]; }
coproc HOLD { mysql_root --unbuffered; }
echo "SELECT GET_LOCK('ingot_test_hold', 10);" >&"${HOLD[1]}"
read -r -t 10 held <&"${HOLD[0]}"
curl -s -o kill.json -w '%{http_code}' -X POST "$U/v1/jobs" "${AUTH[@]}" -H 'Idempotency-Key: kill-1' -d '{"kind":"http","queue":"q-kill","payload":{"url":"http://127.0.0.1:9/k"}}' > kill.code &
kp=$!
check "  (the keyed INSERT waits)" wait_until 100 has_waiting_insert
first=$(waiting_insert)
q "KILL CONNECTION $first"
check "  (after the broken link it is sent again)" wait_until 100 has_waiting_insert "$first"
echo "SELECT RELEASE_LOCK('ingot_test_hold');" >&"${HOLD[1]}"
read -r -t 10 _ <&"${HOLD[0]}"
exec {HOLD[1]}>&-
wait "$kp"
q "DROP TRIGGER $DB.slow"
eq "a keyed INSERT whose link broke: 202 after resolving its key" "$(cat kill.code)" 202
eq "  one job" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE idempotency_key = 'kill-1'")" 1

# A queue row whose write failed is not remembered as written: the next
# enqueue into it writes it.
mysql_root "$DB" <<'SQL'
DELIMITER //
CREATE TRIGGER qfail BEFORE INSERT ON queues FOR EACH ROW
IF NEW.name = 'q-qfail' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no queue row'; END IF//
DELIMITER ;
SQL
eq "a job into a queue whose row cannot be written: 202" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$D_PORT/v1/jobs" "${AUTH[@]}" -d '{"kind":"http","queue":"q-qfail","payload":{"url":"http://127.0.0.1:9/s"}}')" 202
check "  (the queue write failed)" wait_until 50 grep -q 'cannot record a new queue' "$D_LOG"
q "DROP TRIGGER $DB.qfail"
eq "  another job into it: 202" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$D_PORT/v1/jobs" "${AUTH[@]}" -d '{"kind":"http","queue":"q-qfail","payload":{"url":"http://127.0.0.1:9/s"}}')" 202
check "  now its queue row is written" wait_sql 50 "SELECT COUNT(*) FROM $DB.queues WHERE name = 'q-qfail'" 1

# --- 18: one job representation ------------------------------------------------
norm() { jq -S . "$@"; }
eq "POST 202" "$(post /v1/jobs -d '{"kind":"http","queue":"rep","payload":{"url":"http://127.0.0.1:9/r"},"metadata":{"m":1},"group":"g1","idempotency_key":"rep-1","run_at":"2026-01-01T00:00:00Z"}')" 202
cp resp.json created.json
R1=$(jq -r .id created.json)
http_body "$U/v1/jobs/$R1" "${AUTH[@]}" > got.json
eq "the 202 body is the GET body" "$(norm created.json)" "$(norm got.json)"
post /v1/jobs -d '{"kind":"http","queue":"rep","payload":{"url":"http://127.0.0.1:9/r"},"metadata":{"m":1},"group":"g1","idempotency_key":"rep-1","run_at":"2026-01-01T00:00:00Z"}' >/dev/null
eq "the replay body is the GET body" "$(norm resp.json)" "$(norm got.json)"
http_body "$U/v1/jobs?queue=rep" "${AUTH[@]}" | jq '.data[0]' > listed.json
eq "a list item is the GET body" "$(norm listed.json)" "$(norm got.json)"
eq "batch 202" "$(post /v1/jobs/batch -H 'Idempotency-Key: rep-b' -d "[{$J},{\"kind\":\"http\",\"queue\":\"rep\",\"payload\":{\"url\":\"http://127.0.0.1:9/r2\"}}]")" 202
cp resp.json batch.json
RB=$(jq -r '.data[1].id' batch.json)
http_body "$U/v1/jobs/$RB" "${AUTH[@]}" > got.json
eq "a batch item is the GET body" "$(jq -S '.data[1]' batch.json)" "$(norm got.json)"
eq "batch items show the key" "$(jq -r '[.data[].idempotency_key] | join(",")' batch.json)" "rep-b,rep-b"
post /v1/jobs/batch -H 'Idempotency-Key: rep-b' -d "[{$J},{\"kind\":\"http\",\"queue\":\"rep\",\"payload\":{\"url\":\"http://127.0.0.1:9/r2\"}}]" >/dev/null
eq "the batch replay is the 202" "$(jq -S '[.data[] | del(.status)]' resp.json)" "$(jq -S '[.data[] | del(.status)]' batch.json)"
# retry forgets the last run
q "UPDATE $DB.jobs SET state = 3, attempts = 5, last_error = 'HTTP 500', result = '{\"status\":500}', started_at = NOW(6), finished_at = NOW(6) WHERE id = ${R1#job_}"
eq "retry: 200" "$(post "/v1/jobs/$R1/retry")" 200
eq "  queued with no trace of the last run (attempts keep counting)" "$(jq -c '[.status, .attempts, .last_error, .result, .started_at, .finished_at]' resp.json)" '["queued",5,null,null,null,null]'

# --- 22: a value the database refuses is the request's fault ------------------
# (the checks above keep such values out; a column narrower than our limits
# stands in for one that checks stricter than we do)
q "ALTER TABLE $DB.jobs MODIFY callback_url VARCHAR(30) NULL"
eq "too long for the column: 400, not 503" "$(post /v1/jobs -d "{$J,\"callback_url\":\"http://127.0.0.1:9/a-callback-longer-than-30\"}")" 400
eq "  names the field" "$(param)" callback_url
eq "  no Retry-After hint of a transient error" "$(curl -s -D - -o /dev/null -X POST "$U/v1/jobs" "${AUTH[@]}" -d "{$J,\"callback_url\":\"http://127.0.0.1:9/a-callback-longer-than-30\"}" | grep -ci '^retry-after')" 0
eq "in a batch: 400" "$(post /v1/jobs/batch -d "[{$J},{$J,\"callback_url\":\"http://127.0.0.1:9/a-callback-longer-than-30\"}]")" 400
eq "  names the item" "$(param)" "jobs[1].callback_url"
q "ALTER TABLE $DB.jobs MODIFY callback_url VARCHAR(8192) NULL"
q "ALTER TABLE $DB.schedules MODIFY timezone VARCHAR(5) NOT NULL"
eq "a schedule too: 400" "$(put /v1/schedules/s3 -d '{"cron":"@daily","timezone":"Europe/Berlin","job":{"kind":"http","payload":{"url":"http://127.0.0.1:9/"}}}') $(param)" "400 timezone"
q "ALTER TABLE $DB.schedules MODIFY timezone VARCHAR(64) NOT NULL"

# --- inputs the edge refuses (hard-valid) -------------------------------------
n0=$(jobs_now)
code_param() { printf '%s %s' "$(post "$1" -d "$2")" "$(param)"; }
# hosts that are no IPv4 and no DNS name: 422 before any lookup
for h in 256.1.1.1 1.2.3.4.5 0x100000000 4294967296 -a.b a..b exa_mple.com; do
    eq "host $h: 422" "$(code_param /v1/jobs "{\"kind\":\"http\",\"payload\":{\"url\":\"http://$h/\"}}")" "422 payload.url"
done
eq "callback_url host 1.2.3.4.5: 422" "$(code_param /v1/jobs "{$J,\"callback_url\":\"http://1.2.3.4.5/\"}")" "422 callback_url"
# error messages say what is wrong
eq "kind 5: 400" "$(code_param /v1/jobs '{"kind":5,"payload":{}}')" "400 kind"
eq "  must be a string" "$(jq -r .error.message resp.json)" "kind must be a string: http, llm.chat, llm.embed or llm.response"
eq "run_at 1900: 400" "$(code_param /v1/jobs "{$J,\"run_at\":\"1900-01-01T00:00:00Z\"}")" "400 run_at"
contains "  says the range" "$(jq -r .error.message resp.json)" "from 1970-01-01T00:00:00Z to 366 days from now"
eq "run_at 9999-12-31: 400 (the bound of delay_ms)" "$(code_param /v1/jobs "{$J,\"run_at\":\"9999-12-31T23:59:59Z\"}")" "400 run_at"
eq "run_at in 300 days: 202" "$(post /v1/jobs -d "{$J,\"run_at\":\"$(date -u -d '+300 days' +%Y-%m-%dT%H:%M:%SZ)\"}")" 202
head -c 5000 /dev/zero | tr '\0' '[' > deep.json; head -c 5000 /dev/zero | tr '\0' ']' >> deep.json
eq "5000-deep nesting: 400" "$(post /v1/jobs --data-binary @deep.json)" 400
contains "  says nesting too deep, with the limit" "$(jq -r .error.message resp.json)" "nested too deeply (at most 1000 levels"
eq "rate_limit.max named" "$(put /v1/queues/qv -d '{"rate_limit":{"max":0,"duration_ms":1000}}') $(param)" "400 rate_limit.max"
eq "group.rate_limit.duration_ms named" "$(put /v1/queues/qv -d '{"group":{"rate_limit":{"max":1}}}') $(param)" "400 group.rate_limit.duration_ms"
eq "idempotency_key 'k ' (PAD SPACE would make it 'k'): 400" "$(code_param /v1/jobs "{$J,\"idempotency_key\":\"pad-k \"}")" "400 idempotency_key"
contains "  says bytes" "$(jq -r .error.message resp.json)" "1-255 bytes of UTF-8 text"
eq "  ' k' too" "$(code_param /v1/jobs "{$J,\"idempotency_key\":\" pad-k\"}")" "400 idempotency_key"
eq "Idempotency-Key of 256 bytes: 400" "$(post /v1/jobs -H "Idempotency-Key: $(printf 'h%.0s' {1..256})" -d "{$J}") $(param)" "400 Idempotency-Key"
contains "  says bytes" "$(jq -r .error.message resp.json)" "1-255 bytes"
CB8K="http://127.0.0.1:9/$(head -c 8173 /dev/zero | tr '\0' c)" # 8192 bytes, the limit of payload.url
eq "callback_url of 8192 bytes: 202 (the column holds it)" "$(post /v1/jobs -d "{$J,\"callback_url\":\"$CB8K\"}")" 202
eq "  stored whole" "$(q "SELECT LENGTH(callback_url) FROM $DB.jobs WHERE id = $(jq -r .id resp.json | sed 's/job_//')")" 8192
eq "callback_url of 8193 bytes: 400" "$(code_param /v1/jobs "{$J,\"callback_url\":\"${CB8K}c\"}")" "400 callback_url"
contains "  says bytes" "$(jq -r .error.message resp.json)" "at most 8192 bytes"
# numbers a double cannot carry, duplicate keys: 400 naming the field
eq "order_id beyond 2^53: 400" "$(code_param /v1/jobs '{"kind":"http","payload":{"url":"http://127.0.0.1:9/","body":{"order_id":1234567890123456789}}}')" "400 payload.body.order_id"
contains "  send ids as strings" "$(jq -r .error.message resp.json)" "as strings"
eq "1e400 in metadata: 400" "$(code_param /v1/jobs "{$J,\"metadata\":{\"n\":1e400}}")" "400 metadata.n"
eq "2^53 - 1 (cJSON would print 9.00719925474099e+15): 400" "$(code_param /v1/jobs "{$J,\"metadata\":{\"n\":9007199254740991}}")" "400 metadata.n"
eq "15 digits are fine: 202" "$(post /v1/jobs -d "{$J,\"metadata\":{\"n\":999999999999999,\"p\":12.99}}")" 202
eq "  and kept exactly" "$(http_body "$U/v1/jobs/$(jq -r .id resp.json)" "${AUTH[@]}" | jq -c .metadata)" '{"n":999999999999999,"p":12.99}'
eq "url twice: 400" "$(code_param /v1/jobs '{"kind":"http","payload":{"url":"http://127.0.0.1:9/a","url":"http://127.0.0.1:9/b"}}')" "400 payload.url"
eq "kind twice: 400" "$(code_param /v1/jobs '{"kind":"http","kind":"llm.chat","payload":{"url":"http://127.0.0.1:9/a"}}')" "400 kind"
eq "batch item key twice: 400" "$(code_param /v1/jobs/batch "[{$J},{$J,\"queue\":\"a\",\"queue\":\"b\"}]")" "400 jobs[1].queue"
eq "nothing stored but the three accepted" "$(jobs_now)" "$((n0 + 3))"

# --- 7: a target's Retry-After beyond any integer type --------------------------
q "UPDATE $DB.jobs SET state = 4 WHERE state = 0"
JR=$(curl -s -X POST "$U/v1/jobs" "${AUTH[@]}" -d "{\"kind\":\"http\",\"payload\":{\"url\":\"$T/retry-after/99999999999999999999\"}}" | jq -r .id)
start_ingot W work --http-target-allow 127.0.0.0/8,::1/128
check "the job is tried" wait_until 150 grep -q "job=$JR " target.out
check "  and queued again for later" wait_sql 150 "SELECT CONCAT(state, ' ', attempts) FROM $DB.jobs WHERE id = ${JR#job_}" "0 1"
mins=$(q "SELECT TIMESTAMPDIFF(MINUTE, NOW(6), run_at) FROM $DB.jobs WHERE id = ${JR#job_}")
check "  after the 24 h cap (${mins} min)" test "$mins" -ge 1430 -a "$mins" -le 1440
eq "the worker is alive" "$(http_code "http://127.0.0.1:$W_PORT/health/live")" 200
stop_ingot "$W_PID" "$W_LOG"; eq "the worker stops cleanly (no UBSan report)" "$?" 0
finish
