# Bulk operations: GET /v1/jobs filters (kind, group, created_after /
# created_before) and their pagination, POST /v1/jobs/cancel and /retry
# (exact counts, the single-job rules, other tenants untouched, callbacks
# and long-poll wake-ups as for one job), time limits with resume tokens,
# a drain mid-bulk, a worker claiming during a bulk cancel, and batching
# of a 100k-job change proven by its transaction count and by claims and
# an UPDATE that do not wait on it.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
jobs_setup bulk
q() { mysql_root -e "$1"; }
"$B" admin tenant create globex --env-file /dev/null >/dev/null 2>&1
K2=$("$B" admin key create --tenant globex --env-file /dev/null 2>/dev/null)
AUTH2=(-H "Authorization: Bearer $K2")
T1=$(q "SELECT id FROM $DB.tenants WHERE name = 'acme'")
T2=$(q "SELECT id FROM $DB.tenants WHERE name = 'globex'")

# ins TENANT QUEUE KIND STATE GROUP CREATED N [CALLBACK]: N jobs by SQL
# (states and created_at chosen exactly; the API would set them itself).
ins() {
    local g="NULL" cb="NULL"
    [ "$5" != - ] && g="'$5'"
    [ -n "${8:-}" ] && cb="'$8'"
    q "INSERT INTO $DB.jobs (tenant_id, queue, kind, state, run_at, group_key, max_attempts, backoff_base_ms,
       backoff_max_ms, timeout_ms, payload, created_at, callback_url)
       SELECT $1, '$2', '$3', $4, NOW(6), $g, 3, 1000, 60000, 30000, '{\"url\":\"$T/ok\"}', '$6', $cb
       FROM $DB.seq_1_to_$7"
}
# tenant 1, queue a: 10 queued, 4 running, 3 succeeded, 5 failed, 2 cancelled (24)
ins "$T1" a http 0 g1 '2026-11-01 10:00:00' 10
ins "$T1" a http 1 g2 '2026-11-02 10:00:00' 4
ins "$T1" a http 2 - '2026-11-03 10:00:00' 3
ins "$T1" a llm.chat 3 g1 '2026-11-04 10:00:00' 5
ins "$T1" a http 4 - '2026-11-05 10:00:00' 2
# tenant 1, queue b: 6 queued llm.embed, 7 failed http (13)
ins "$T1" b llm.embed 0 g2 '2026-11-06 10:00:00' 6
ins "$T1" b http 3 g1 '2026-11-07 10:00:00' 7
# tenant 2, queue a: 9 queued, 8 failed (17): never touched by tenant 1
ins "$T2" a http 0 g1 '2026-11-01 10:00:00' 9
ins "$T2" a http 3 g1 '2026-11-04 10:00:00' 8

start_ingot A serve
U="http://127.0.0.1:$A_PORT"
list() { curl -s "$U/v1/jobs?$1" "${AUTH[@]}"; }
count() { list "limit=100&$1" | jq '.data | length'; }
post() { curl -s -o resp.json -w '%{http_code}' -X POST "$@"; }

# Each filter narrows the list, alone and together.
eq "list: no filter" "$(count "")" 37
eq "list: kind=http" "$(count "kind=http")" 26
eq "list: kind=llm.chat" "$(count "kind=llm.chat")" 5
eq "list: kind=llm.chat shows only that kind" "$(list "kind=llm.chat" | jq -r '[.data[].kind] | unique | join(",")')" llm.chat
eq "list: group=g1" "$(count "group=g1")" 22
eq "list: group=g1 shows only g1" "$(list "group=g1&limit=100" | jq -r '[.data[].group] | unique | join(",")')" g1
eq "list: group=g2&kind=llm.embed" "$(count "group=g2&kind=llm.embed")" 6
eq "list: queue=a&group=g1&status=failed" "$(count "queue=a&group=g1&status=failed")" 5
eq "list: created_after (inclusive)" "$(count "created_after=2026-11-06T10:00:00Z")" 13
eq "list: created_before (exclusive)" "$(count "created_before=2026-11-02T10:00:00Z")" 10
eq "list: a window" "$(count "created_after=2026-11-02T00:00:00Z&created_before=2026-11-04T00:00:00Z")" 7
eq "list: the window in Unix seconds" "$(count "created_after=1793577600&created_before=1793750400")" 7
eq "list: the window with an offset" "$(count "created_after=2026-11-02T02:00:00%2B02:00&created_before=2026-11-04T00:00:00Z")" 7
eq "list: window and kind" "$(count "created_after=2026-11-04T00:00:00Z&kind=http")" 9
eq "list: an empty window (after = before)" "$(count "created_after=1793577600&created_before=1793577600")" 0
eq "list: window newest first" "$(list "created_after=2026-11-01T00:00:00Z&limit=100" | jq -r '[.data[].created_at] | (. == (sort | reverse))')" true
eq "list: other tenant's filter" "$(curl -s "$U/v1/jobs?queue=a&status=failed&limit=100" "${AUTH2[@]}" | jq '.data | length')" 8

# Pagination with filters: every page in order, no job twice, none left out.
# pages QUERY: walks the pages (limit 4) and prints the ids, one a line.
pages() {
    local cur="" page
    for _ in $(seq 1 60); do
        page=$(list "limit=4&$1${cur:+&cursor=$cur}")
        printf '%s' "$page" | jq -r '.data[].id'
        cur=$(printf '%s' "$page" | jq -r '.next_cursor // empty')
        [ -z "$cur" ] && return 0
    done
}
p=$(pages "kind=http&queue=a")
eq "pages: kind=http&queue=a all there" "$(printf '%s\n' "$p" | sort -u | wc -l)" 19
eq "pages: ids descending, none twice" "$(printf '%s\n' "$p" | sed 's/job_//' | sort -rn | uniq | tr '\n' ' ')" "$(printf '%s\n' "$p" | sed 's/job_//' | tr '\n' ' ')"
# A window whose rows share one created_at (ties broken by id).
p=$(pages "created_after=2026-11-01T00:00:00Z&created_before=2026-11-03T00:00:00Z")
eq "pages: window with ties all there" "$(printf '%s\n' "$p" | sort -u | wc -l)" 14
eq "pages: window with ties, none twice" "$(printf '%s\n' "$p" | wc -l)" 14
eq "pages: group=g1 all there" "$(pages "group=g1" | sort -u | wc -l)" 22

# Every invalid filter is a 400 naming its field.
bad_param() { curl -s "$U/v1/jobs?$1" "${AUTH[@]}" -o resp.json -w '%{http_code} '; jq -r .error.param resp.json; }
eq "400: unknown kind" "$(bad_param "kind=ftp")" "400 kind"
eq "400: bad group" "$(bad_param "group=a%20b")" "400 group"
eq "400: bad created_after" "$(bad_param "created_after=yesterday")" "400 created_after"
eq "400: date without time" "$(bad_param "created_before=2026-11-01")" "400 created_before"
eq "400: negative seconds" "$(bad_param "created_before=-5")" "400 created_before"
eq "400: after later than before" "$(bad_param "created_after=2026-11-05T00:00:00Z&created_before=2026-11-04T00:00:00Z")" "400 created_after"
eq "400: bad status" "$(bad_param "status=done")" "400 status"
idcur=$(list "limit=2" | jq -r .next_cursor)
eq "400: an id cursor with a window" "$(bad_param "cursor=$idcur&created_after=0")" "400 cursor"
eq "400: unknown parameter named" "$(bad_param "created=1")" "400 created"
contains "400 says what is allowed" "$(curl -s "$U/v1/jobs?created_after=x" "${AUTH[@]}" | jq -r .error.message)" "RFC 3339"

# Bulk: validation names the field; nothing is changed by a refused request.
before=$(q "SELECT GROUP_CONCAT(state ORDER BY id) FROM $DB.jobs")
bulk_bad() { post "$U/v1/jobs/$1" "${AUTH[@]}" -d "$2" >/dev/null; printf '%s %s' "$(jq -r .error.param resp.json)" "$(jq -r .error.type resp.json)"; }
eq "bulk 400: empty filter" "$(bulk_bad cancel '{}')" "all invalid_request_error"
eq "bulk 400: kind alone" "$(bulk_bad cancel '{"kind":"http"}')" "all invalid_request_error"
eq "bulk 400: all false" "$(bulk_bad retry '{"all":false}')" "all invalid_request_error"
eq "bulk 400: unknown kind" "$(bulk_bad cancel '{"queue":"a","kind":"ftp"}')" "kind invalid_request_error"
eq "bulk 400: unknown field" "$(bulk_bad cancel '{"queue":"a","colour":"red"}')" "colour invalid_request_error"
eq "bulk 400: cancel of failed jobs" "$(bulk_bad cancel '{"status":"failed"}')" "status invalid_request_error"
eq "bulk 400: retry of running jobs" "$(bulk_bad retry '{"status":"running"}')" "status invalid_request_error"
eq "bulk 400: window reversed" "$(bulk_bad retry '{"all":true,"created_after":"2026-11-05T00:00:00Z","created_before":1}')" "created_after invalid_request_error"
eq "bulk 400: bad group" "$(bulk_bad retry '{"group":"","all":true}')" "group invalid_request_error"
eq "bulk 400: queue a number" "$(bulk_bad retry '{"queue":1}')" "queue invalid_request_error"
eq "bulk 400: not JSON" "$(post "$U/v1/jobs/cancel" "${AUTH[@]}" -d '{nope')" 400
eq "bulk: GET is not the route" "$(http_code "$U/v1/jobs/cancel" "${AUTH[@]}")" 404
eq "bulk: no key" "$(post "$U/v1/jobs/cancel" -d '{"all":true}')" 401
eq "bulk: refused requests changed nothing" "$(q "SELECT GROUP_CONCAT(state ORDER BY id) FROM $DB.jobs")" "$before"

# A long-poll on a job the bulk cancel ends is woken (the done channel).
JW=$(q "SELECT CONCAT('job_', MIN(id)) FROM $DB.jobs WHERE tenant_id = $T1 AND queue = 'a' AND state = 0")
curl -s "$U/v1/jobs/$JW?wait=20" "${AUTH[@]}" > wait.json &
WAITER=$!
wait_until 50 sh -c "curl -s $U/metrics | grep -q '^ingot_job_waits 1'"
# Bulk cancel of queue a: matched 24 in any state; the 10 queued and 4
# running change; succeeded, failed, cancelled and tenant 2 stay.
eq "bulk cancel queue=a: 200" "$(post "$U/v1/jobs/cancel" "${AUTH[@]}" -d '{"queue":"a"}')" 200
eq "bulk cancel: counts" "$(jq -c '[.matched, .changed, .batches, .complete, .resume]' resp.json)" "[24,14,1,true,null]"
eq "bulk cancel: object" "$(jq -r '.object + " " + .operation' resp.json)" "job.bulk cancel"
eq "bulk cancel: states after" "$(q "SELECT GROUP_CONCAT(CONCAT(state, ':', n) ORDER BY state) FROM (SELECT state, COUNT(*) n FROM $DB.jobs WHERE tenant_id = $T1 AND queue = 'a' GROUP BY state) x")" "2:3,3:5,4:16"
eq "bulk cancel: leases cleared" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE state = 4 AND lease_token IS NOT NULL")" 0
eq "bulk cancel: queue b untouched" "$(q "SELECT GROUP_CONCAT(state ORDER BY id) FROM $DB.jobs WHERE tenant_id = $T1 AND queue = 'b'" | tr ',' '\n' | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')" "0:6 3:7 "
eq "bulk cancel: tenant 2 untouched" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE tenant_id = $T2 AND state = 0")" 9
check "bulk cancel: the long-poll answers" wait_until 50 sh -c "! kill -0 $WAITER 2>/dev/null"
eq "bulk cancel: the long-poll sees cancelled" "$(jq -r .status wait.json)" cancelled
check "bulk cancel: the waiter was woken by the done channel" sh -c "curl -s $U/metrics | grep -q '^ingot_job_waits_woken_total [1-9]'"
# Again: nothing left to cancel.
eq "bulk cancel again: 200" "$(post "$U/v1/jobs/cancel" "${AUTH[@]}" -d '{"queue":"a"}')" 200
eq "bulk cancel again: none changed" "$(jq -c '[.matched, .changed, .batches]' resp.json)" "[24,0,0]"

# Bulk retry of the failed llm.chat jobs of queue a only (kind and status).
eq "bulk retry kind+status: 200" "$(post "$U/v1/jobs/retry" "${AUTH[@]}" -d '{"queue":"a","status":"failed","kind":"llm.chat"}')" 200
eq "bulk retry: counts" "$(jq -c '[.matched, .changed]' resp.json)" "[5,5]"
eq "bulk retry: queued with fresh attempts" "$(q "SELECT CONCAT(COUNT(*), ' ', MIN(max_attempts), ' ', SUM(finished_at IS NULL)) FROM $DB.jobs WHERE tenant_id = $T1 AND queue = 'a' AND kind = 'llm.chat' AND state = 0")" "5 3 5"
# A window: tenant 1's jobs created on 1-2 November (cancelled above: 14).
eq "bulk retry by window: 200" "$(post "$U/v1/jobs/retry" "${AUTH[@]}" -d '{"all":true,"created_after":"2026-11-01T00:00:00Z","created_before":1793664000}')" 200
eq "bulk retry by window: counts" "$(jq -c '[.matched, .changed]' resp.json)" "[14,14]"
eq "bulk retry by group: 200" "$(post "$U/v1/jobs/retry" "${AUTH[@]}" -d '{"status":"failed","group":"g1"}')" 200
eq "bulk retry by group: only b's g1 jobs (a's were retried)" "$(jq -c '[.matched, .changed]' resp.json)" "[7,7]"
eq "bulk retry: tenant 2's failed jobs untouched" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE tenant_id = $T2 AND state = 3")" 8
eq "bulk retry: the cancelled jobs of 5 November stay" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE tenant_id = $T1 AND state = 4")" 2
eq "bulk: metric counts the changed jobs" "$(curl -s "$U/metrics" | awk '/^ingot_jobs_bulk_changed_total\{operation="retry"\}/{print $2}')" 26

# Callbacks: a cancelled job with a callback_url gets its callback, as for one job.
ins "$T1" cb http 0 - '2026-11-08 10:00:00' 3 "$T/echo?cb=bulk"
eq "bulk cancel with callbacks: 200" "$(post "$U/v1/jobs/cancel" "${AUTH[@]}" -d '{"queue":"cb"}')" 200
eq "bulk cancel: one callback job each" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE tenant_id = $T1 AND queue = 'callbacks' AND payload LIKE '%\"status\": \"cancelled\"%'")" 3

# A time limit: the answer comes in time with the counts so far and a
# resume token; the same request with it goes on where it stopped, and
# the totals are exact.
ins "$T1" big2 http 0 - '2026-11-09 11:00:00' 6000
eq "time limit: bad resume token" "$(bulk_bad cancel '{"queue":"big2","resume":"r12"}')" "resume invalid_request_error"
eq "time limit: too small" "$(bulk_bad cancel '{"queue":"big2","time_limit_ms":10}')" "time_limit_ms invalid_request_error"
tok=null; total=0; reqs=0; slow=0
for _ in $(seq 1 200); do
    t0=$(date +%s%N)
    post "$U/v1/jobs/cancel" "${AUTH[@]}" -d "{\"queue\":\"big2\",\"time_limit_ms\":100,\"resume\":$tok}" >/dev/null
    ms=$((($(date +%s%N) - t0) / 1000000)); [ "$ms" -gt 1500 ] && slow=$((slow + 1))
    reqs=$((reqs + 1)); total=$((total + $(jq -r .changed resp.json)))
    [ "$(jq -r .complete resp.json)" = true ] && break
    tok=$(jq -c .resume resp.json)
done
echo "  6000 jobs cancelled in $reqs requests of at most 100 ms of work each"
check "time limit: more than one request ($reqs)" test "$reqs" -gt 1
eq "time limit: each answered within the limit and a batch" "$slow" 0
eq "time limit: the last answer is complete, without a token" "$(jq -c '[.complete, .resume]' resp.json)" "[true,null]"
eq "time limit: the changes add up exactly" "$total" 6000
eq "time limit: every job cancelled" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'big2' AND state <> 4")" 0

# SIGTERM during a bulk: it answers after its batch in flight with the
# counts and a resume token, and another serve goes on from there.
ins "$T1" big3 http 0 - '2026-11-09 12:00:00' 20000
start_ingot D serve
curl -s -o drain.json -X POST "http://127.0.0.1:$D_PORT/v1/jobs/cancel" "${AUTH[@]}" -d '{"queue":"big3","time_limit_ms":60000}' --max-time 60 &
DRAINED=$!
wait_until 100 sh -c "curl -s http://127.0.0.1:$D_PORT/metrics | grep -q '^ingot_job_bulk_batches_total{operation=\"cancel\"} [1-9]'"
stop_ingot "$D_PID" "$D_LOG"; eq "drain: serve exits 0 with a bulk running" "$?" 0
wait "$DRAINED"
eq "drain: answered, not complete, with a token" "$(jq -c '[.complete, (.resume | type)]' drain.json)" '[false,"string"]'
first=$(jq -r .changed drain.json)
check "drain: stopped part way ($first of 20000)" test "$first" -gt 0 -a "$first" -lt 20000
eq "drain: the token with another filter: 400 naming resume" "$(bulk_bad cancel "{\"queue\":\"big2\",\"resume\":$(jq -c .resume drain.json)}")" "resume invalid_request_error"
eq "drain: the token with another operation: 400 naming resume" "$(bulk_bad retry "{\"queue\":\"big3\",\"resume\":$(jq -c .resume drain.json)}")" "resume invalid_request_error"
eq "  nothing was changed by the refused requests" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'big3' AND state = 4")" "$first"
eq "drain: resumed on another serve" "$(post "$U/v1/jobs/cancel" "${AUTH[@]}" -d "{\"queue\":\"big3\",\"resume\":$(jq -c .resume drain.json)}")" 200
eq "drain: the two answers add up" "$((first + $(jq -r .changed resp.json)))" 20000
eq "drain: every job cancelled" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'big3' AND state <> 4")" 0

# A worker claiming while a bulk cancel runs: no job ends both running and
# cancelled, and a cancelled job's outcome is never recorded.
ins "$T1" race http 0 - '2026-11-10 10:00:00' 1500
q "UPDATE $DB.jobs SET payload = '{\"url\":\"$T/slow/200\"}' WHERE queue = 'race'"
start_ingot W work --http-target-allow 127.0.0.0/8 --queue-worker-concurrency 20
wait_sql 100 "SELECT COUNT(*) > 0 FROM $DB.jobs WHERE queue = 'race' AND state = 1" 1
eq "race: bulk cancel 200" "$(post "$U/v1/jobs/cancel" "${AUTH[@]}" -d '{"queue":"race"}')" 200
changed=$(jq -r .changed resp.json)
check "race: nothing running in the race queue once the worker settles" wait_sql 100 "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'race' AND state IN (0, 1)" 0
eq "race: cancelled + succeeded = all" "$(q "SELECT SUM(state = 4) + SUM(state = 2) FROM $DB.jobs WHERE queue = 'race'")" 1500
eq "race: the answer's count is the cancelled jobs" "$(q "SELECT SUM(state = 4) FROM $DB.jobs WHERE queue = 'race'")" "$changed"
eq "race: no cancelled job holds a lease or a result" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'race' AND state = 4 AND (lease_token IS NOT NULL OR result IS NOT NULL)")" 0
check "race: some jobs were cancelled while running" test "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'race' AND state = 4 AND started_at IS NOT NULL")" -gt 0
# A large bulk: 100k queued jobs cancelled in transactions of at most 500
# rows. While it runs, a claim (its shape: jobs_claim order, SKIP LOCKED)
# and an UPDATE of the newest job (reached last) never wait for the bulk:
# one transaction over all of it would hold them for its whole run (15-25 s
# here), batches for one transaction's time (~50 ms). The bounds (1 s, 2 s)
# sit far above a batch and far below the whole run, so a loaded CI machine
# does not trip them; durations are measured by the server, so a stalled
# client does not count. The figures are printed.
stop_ingot "$W_PID" "$W_LOG"
ins "$T1" big http 0 - '2026-11-09 10:00:00' 100000
LAST=$(q "SELECT MAX(id) FROM $DB.jobs WHERE tenant_id = $T1 AND queue = 'big'")
batches0=$(curl -s "$U/metrics" | awk '/^ingot_job_bulk_batches_total\{operation="cancel"\}/{print $2}')
# InnoDB's own count of row-lock waits and the milliseconds spent in them:
# nothing else uses this lane's server meanwhile, so the change over the
# bulk is what its transactions made anyone wait.
lockstat() { q "SELECT GROUP_CONCAT(VARIABLE_VALUE ORDER BY VARIABLE_NAME SEPARATOR ' ') FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ('INNODB_ROW_LOCK_TIME', 'INNODB_ROW_LOCK_WAITS')"; }
lock0=$(lockstat)
t0=$(date +%s%N)
(curl -s -o big.json -X POST "$U/v1/jobs/cancel" "${AUTH[@]}" -d '{"queue":"big","time_limit_ms":60000}' --max-time 90
 date +%s.%N > big.end) &
BULK=$!
batches_past() { curl -s "$U/metrics" | awk -v b="$1" '/^ingot_job_bulk_batches_total\{operation="cancel"\}/{ok = $2 > b} END {exit !ok}'; }
check "large bulk: its first batch committed" wait_until 100 batches_past "$batches0"
{
    echo "SET SESSION innodb_lock_wait_timeout = 5;"
    for _ in $(seq 1 300); do
        echo "SET @t = NOW(6); BEGIN; SELECT COUNT(*) INTO @n FROM (SELECT id FROM $DB.jobs WHERE state = 0 AND run_at <= NOW(6) ORDER BY priority DESC, run_at, id LIMIT 5 FOR UPDATE SKIP LOCKED) x; COMMIT;"
        echo "SELECT 'c', UNIX_TIMESTAMP(NOW(6)), TIMESTAMPDIFF(MICROSECOND, @t, NOW(6));"
        echo "SET @t = NOW(6); UPDATE $DB.jobs SET priority = priority + 1 WHERE id = $LAST;"
        echo "SELECT 'u', UNIX_TIMESTAMP(NOW(6)), TIMESTAMPDIFF(MICROSECOND, @t, NOW(6));"
        echo "DO SLEEP(0.02);"
    done
} | mysql_root > probes.out 2>&1
wait "$BULK"
t1=$(date +%s%N)
lock1=$(lockstat)
echo "  bulk cancel of 100000 jobs took $(((t1 - t0) / 1000000)) ms ($(jq -r .batches big.json) transactions)"
eq "large bulk: counts" "$(jq -c '[.matched, .changed, .complete]' big.json)" "[100000,100000,true]"
eq "large bulk: every job cancelled" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'big' AND state <> 4")" 0
nb=$(jq -r .batches big.json)
check "large bulk: in batches of at most 500 ($nb transactions)" test "$nb" -ge 200 -a "$nb" -le 202
eq "large bulk: the metric counts the transactions" "$(curl -s "$U/metrics" | awk '/^ingot_job_bulk_batches_total\{operation="cancel"\}/{print $2}')" "$((batches0 + nb))"
end=$(cat big.end)
maxc=$(awk -v end="$end" '$1 == "c" && $2 < end { if ($3 > m) m = $3; n++ } END { printf "%d %d", n, m / 1000 }' probes.out)
maxu=$(awk -v end="$end" '$1 == "u" && $2 < end { if ($3 > m) m = $3 } END { printf "%d", m / 1000 }' probes.out)
echo "  during the bulk: ${maxc% *} claims, the longest ${maxc#* } ms; the longest UPDATE of the last job ${maxu} ms"
check "large bulk: claims ran while the bulk did" test "${maxc% *}" -ge 20
check "large bulk: no claim took 1 s (CPU included)" test "${maxc#* }" -lt 1000
lwait=$(( ${lock1% *} - ${lock0% *} )) lwaits=$(( ${lock1#* } - ${lock0#* } ))
echo "  row-lock waits during the bulk: $lwaits, ${lwait} ms in all"
check "large bulk: nobody waited 100 ms for its locks ($lwaits waits, $lwait ms in all)" test "$lwait" -lt 100
check "large bulk: the UPDATE of an unreached job never waited 2 s" test "$maxu" -lt 2000
eq "large bulk: the probed UPDATEs all ran" "$(q "SELECT priority FROM $DB.jobs WHERE id = $LAST")" 300
finish
