# Schedules API, scheduler leadership and takeover, exactly-once ticks,
# the missed-tick policy and maintenance (retention, idempotency keys,
# expired leases).
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
jobs_setup sched
q() { mysql_root -e "$1"; }
start_ingot S serve
U="http://127.0.0.1:$S_PORT"
put() { curl -s -o put.out -w '%{http_code}' -X PUT "$U/v1/schedules/$1" "${AUTH[@]}" -d "$2"; }

# ---- API
job="{\"kind\":\"http\",\"queue\":\"ticks\",\"payload\":{\"url\":\"$T/ok?tick\"}}"
eq "PUT creates" "$(put every "{\"cron\":\"@every 1s\",\"job\":$job,\"paused\":true}")" 200
contains "answers the schedule" "$(cat put.out)" '"object":"schedule","name":"every","cron":"@every 1s","timezone":"UTC"'
eq "three next fire times" "$(grep -o '"next_fire_times":\[[^]]*\]' put.out | grep -o 'Z"' | wc -l)" 3
eq "PUT in a zone" "$(put berlin "{\"cron\":\"0 9 * * MON-FRI\",\"timezone\":\"Europe/Berlin\",\"job\":$job,\"paused\":true}")" 200
contains "Berlin 09:00 is 07:00 or 08:00 UTC" "$(grep -o '"next_fire_times":\["[^"]*"' put.out)" "T0"
eq "GET one" "$(http_code "$U/v1/schedules/berlin" "${AUTH[@]}")" 200
eq "GET list has both" "$(http_body "$U/v1/schedules" "${AUTH[@]}" | grep -o '"object":"schedule"' | wc -l)" 2
eq "bad cron: 400" "$(put x "{\"cron\":\"61 * * * *\",\"job\":$job}")" 400
contains "names the field" "$(cat put.out)" '"param":"cron"'
contains "says which part" "$(cat put.out)" "minute field"
eq "a cron that never fires: 400" "$(put x "{\"cron\":\"0 0 30 2 *\",\"job\":$job}")" 400
contains "says it never fires" "$(cat put.out)" "never fires"
eq "31 April never fires either" "$(put x "{\"cron\":\"0 0 31 4 *\",\"job\":$job}")" 400
eq "29 February fires (leap years)" "$(put leap "{\"cron\":\"0 0 29 2 *\",\"job\":$job,\"paused\":true}")" 200
eq "a zoneinfo file that is no zone: 400" "$(put x "{\"cron\":\"@daily\",\"timezone\":\"leapseconds\",\"job\":$job}")" 400
eq "the host's localtime is no zone: 400" "$(put x "{\"cron\":\"@daily\",\"timezone\":\"localtime\",\"job\":$job}")" 400
eq "bad zone: 400" "$(put x "{\"cron\":\"@daily\",\"timezone\":\"Mars/Base\",\"job\":$job}")" 400
contains "names timezone" "$(cat put.out)" '"param":"timezone"'
eq "bad job: 400" "$(put x '{"cron":"@daily","job":{"kind":"http","payload":{}}}')" 400
contains "names the job field" "$(cat put.out)" '"param":"job.payload.url"'
eq "  once" "$(jq -r .error.message put.out)" "job.payload.url: is required and must be a string"
eq "bad job url: 422" "$(put x '{"cron":"@daily","job":{"kind":"http","payload":{"url":"ftp://127.0.0.1/"}}}')" 422
eq "  the field named once" "$(jq -r .error.message put.out)" "job.payload.url: scheme must be http or https (http://HOST/... or https://HOST/...)"
eq "run_at refused" "$(put x "{\"cron\":\"@daily\",\"job\":{\"kind\":\"http\",\"run_at\":\"2030-01-01T00:00:00Z\",\"payload\":{\"url\":\"$T/ok\"}}}")" 400
eq "unknown field refused" "$(put x "{\"cron\":\"@daily\",\"job\":$job,\"when\":1}")" 400
eq "missing job refused" "$(put x '{"cron":"@daily"}')" 400
eq "bad name: 400" "$(put 'a%20b' "{\"cron\":\"@daily\",\"job\":$job}")" 400
eq "no key: 401" "$(http_code "$U/v1/schedules")" 401
"$B" admin tenant create other --env-file /dev/null >/dev/null 2>&1
K2=$("$B" admin key create --tenant other --env-file /dev/null 2>/dev/null)
eq "another tenant: 404" "$(http_code "$U/v1/schedules/berlin" -H "Authorization: Bearer $K2")" 404
eq "another tenant lists none" "$(http_body "$U/v1/schedules" -H "Authorization: Bearer $K2")" '{"object":"list","data":[]}'
eq "DELETE" "$(http_code "$U/v1/schedules/berlin" -X DELETE "${AUTH[@]}")" 200
eq "DELETE again: 404" "$(http_code "$U/v1/schedules/berlin" -X DELETE "${AUTH[@]}")" 404
eq "GET deleted: 404" "$(http_code "$U/v1/schedules/berlin" "${AUTH[@]}")" 404

# ---- Maintenance input, before any scheduler runs (the first pass comes
# when one starts leading): 3 old finished jobs with attempts, one recent,
# an old idempotency key, an expired lease.
cols="tenant_id, queue, kind, run_at, max_attempts, backoff_base_ms, backoff_max_ms, timeout_ms, payload"
vals="1, 'old', 'http', NOW(6), 1, 1, 1, 1000, '{}'"
q "INSERT INTO $DB.jobs ($cols, state, finished_at) VALUES ($vals, 2, NOW(6) - INTERVAL 40 DAY), ($vals, 3, NOW(6) - INTERVAL 31 DAY), ($vals, 4, NOW(6) - INTERVAL 90 DAY), ($vals, 2, NOW(6) - INTERVAL 29 DAY)"
q "INSERT INTO $DB.job_attempts (job_id, attempt, worker_id, started_at, outcome) SELECT id, 1, 'w', NOW(6), 'succeeded' FROM $DB.jobs WHERE queue = 'old'"
q "INSERT INTO $DB.jobs ($cols, idempotency_key, created_at) VALUES (1, 'idem', 'http', NOW(6) + INTERVAL 1 DAY, 1, 1, 1, 1000, '{}', 'k-old', NOW(6) - INTERVAL 2 DAY), (1, 'idem', 'http', NOW(6) + INTERVAL 1 DAY, 1, 1, 1, 1000, '{}', 'k-new', NOW(6))"
# A batch's other rows show its key (idempotency_batch) for 24 h, like a single job's.
q "INSERT INTO $DB.jobs ($cols, idempotency_batch, created_at) VALUES (1, 'idem', 'http', NOW(6) + INTERVAL 1 DAY, 1, 1, 1, 1000, '{}', 'b-old', NOW(6) - INTERVAL 2 DAY)"
q "INSERT INTO $DB.jobs ($cols, state, attempts, lease_token, lease_expires_at) VALUES (1, 'lease', 'http', NOW(6) + INTERVAL 1 DAY, 3, 1, 1, 1000, '{}', 1, 1, 'tok', NOW(6) - INTERVAL 1 MINUTE)"
# Out of attempts with a callback_url: the lease expiry fails it, with a callback.
q "INSERT INTO $DB.jobs ($cols, state, attempts, lease_token, lease_expires_at, callback_url) VALUES (1, 'lease-cb', 'http', NOW(6), 2, 1, 1, 1000, '{}', 1, 2, 'tok2', NOW(6) - INTERVAL 1 MINUTE, '$T/echo?cb=lease')"

# ---- Leadership
leader() { curl -s --max-time 2 "http://127.0.0.1:$1/health" | grep -o '"scheduler":{"leader":[a-z]*' | sed 's/.*://'; }
start_ingot SC1 schedule
check "the first scheduler leads" wait_out 50 true leader "$SC1_PORT"
start_ingot SC2 schedule
check "the second stands by" wait_out 30 false leader "$SC2_PORT"
eq "standby metric 0" "$(curl -s "http://127.0.0.1:$SC2_PORT/metrics" | awk '/^ingot_scheduler_leader /{print $2}')" 0
eq "leader metric 1" "$(curl -s "http://127.0.0.1:$SC1_PORT/metrics" | awk '/^ingot_scheduler_leader /{print $2}')" 1
# The lock is named for the database (GET_LOCK names are global to the
# server), and the log names the lock actually held.
lock_of() { printf 'ingot.scheduler.%s' "$(printf %s "$1" | md5sum | cut -d' ' -f1)"; }
LOCK=$(lock_of "$DB")
check "the leader logs the lock it holds ($LOCK)" grep -qF "holding the database lock $LOCK)" "$SC1_LOG"
eq "  the lock the server shows for that name is the leader's" "$(q "SELECT IS_USED_LOCK('$LOCK') IS NOT NULL")" 1
# Another deployment on the same MariaDB server (its own database) leads
# its own schedules meanwhile.
url2=$(migrated_db sched_other) || bad "migrate a second database"
DATABASE_URL=$url2 start_ingot SCO schedule
check "a scheduler of another database on the server leads too" wait_out 50 true leader "$SCO_PORT"
check "  holding its own database's lock" grep -qF "holding the database lock $(lock_of ingot_sched_other))" "$SCO_LOG"
eq "  while the first still leads" "$(leader "$SC1_PORT")" true
stop_ingot "$SCO_PID" "$SCO_LOG"

# ---- Maintenance ran on the leader's first pass
check "old finished jobs purged, recent kept" wait_sql 50 "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'old'" 1
eq "their attempts purged" "$(q "SELECT COUNT(*) FROM $DB.job_attempts a LEFT JOIN $DB.jobs j ON j.id = a.job_id WHERE j.id IS NULL")" 0
check "idempotency key older than 24 h cleared" wait_sql 50 "SELECT COUNT(*) FROM $DB.jobs WHERE idempotency_key = 'k-old'" 0
check "a batch row's key older than 24 h cleared too" wait_sql 50 "SELECT COUNT(*) FROM $DB.jobs WHERE idempotency_batch = 'b-old'" 0
eq "fresh idempotency key kept" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE idempotency_key = 'k-new'")" 1
check "expired lease recovered" wait_sql 50 "SELECT state FROM $DB.jobs WHERE queue = 'lease'" 0
check "expired lease out of attempts: failed" wait_sql 50 "SELECT state FROM $DB.jobs WHERE queue = 'lease-cb'" 3
eq "with its callback, in the callbacks queue" "$(q "SELECT CONCAT(c.queue, ' ', JSON_VALUE(c.payload, '\$.body.status')) FROM $DB.jobs c JOIN $DB.jobs j ON JSON_VALUE(c.payload, '\$.body.id') = CONCAT('job_', j.id) WHERE j.queue = 'lease-cb'")" "callbacks failed"
eq "the callbacks queue has its row" "$(q "SELECT COUNT(*) FROM $DB.queues WHERE name = 'callbacks'")" 1
check "maintenance metrics" test "$(curl -s "http://127.0.0.1:$SC1_PORT/metrics" | awk '/^ingot_maintenance_rows_total\{task="jobs"\}/{print $2}')" = 3

# ---- Ticks: unpause the every-second schedule
eq "unpause" "$(put every "{\"cron\":\"@every 1s\",\"job\":$job}")" 200
ticks() { q "SELECT COUNT(*) FROM $DB.schedule_ticks"; }
jobs_n() { q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'ticks'"; }
ge() { [ "$("$2")" -ge "$1" ]; }
check "ticks fire every second" wait_until 80 ge 3 ticks
# A tick already recorded (as a second scheduler would have) is not fired again.
next=$(q "SELECT UNIX_TIMESTAMP(next_fire_at) FROM $DB.schedules WHERE name = 'every'")
q "INSERT INTO $DB.schedule_ticks (schedule_id, tick_at) SELECT id, FROM_UNIXTIME($((next + 2))) FROM $DB.schedules WHERE name = 'every'"
dup() { curl -s "http://127.0.0.1:$SC1_PORT/metrics" | awk '/^ingot_schedule_ticks_duplicate_total /{print $2}'; }
check "a tick found already fired is skipped" wait_out 60 1 dup
eq "and enqueued nothing" "$(q "SELECT COUNT(*) FROM $DB.jobs j JOIN $DB.schedule_ticks t ON t.job_id = j.id WHERE t.tick_at = FROM_UNIXTIME($((next + 2)))")" 0

# ---- kill -9 the leader: the standby leads within 5 s
t0=$(date +%s%N)
kill -9 "$SC1_PID"; wait "$SC1_PID" 2>/dev/null
check "the standby takes over" wait_out 60 true leader "$SC2_PORT"
took=$(( ($(date +%s%N) - t0) / 1000000 ))
check "within 5 s (took $took ms)" test "$took" -lt 5000
n=$(ticks)
check "ticks go on under the new leader" wait_until 60 ge $((n + 2)) ticks

# ---- The leader loses its database connection: it steps down, and
# leadership is back within 5 s.
start_ingot SC3 schedule
holder=$(q "SELECT IS_USED_LOCK(CONCAT('ingot.scheduler.', MD5('$DB')))")
t0=$(date +%s%N)
q "KILL $holder"
anyone() { [ "$(leader "$SC2_PORT")" = true ] || [ "$(leader "$SC3_PORT")" = true ]; }
check "the killed connection's scheduler noticed" wait_until 50 grep -q 'no longer leading' "$SC2_LOG"
check "someone leads again" wait_until 60 anyone
took=$(( ($(date +%s%N) - t0) / 1000000 ))
check "within 5 s (took $took ms)" test "$took" -lt 5000
one_leader() { [ "$(leader "$SC2_PORT")$(leader "$SC3_PORT")" != truetrue ]; }
check "not two leaders" one_leader

# ---- Exactly once: one job per tick, no tick twice
n=$(ticks)
check "ticks continue" wait_until 60 ge $((n + 2)) ticks
eq "every fired tick has its own job" "$(q "SELECT COUNT(*) FROM $DB.schedule_ticks WHERE job_id IS NOT NULL")" "$(jobs_n)"
eq "no job for two ticks" "$(q "SELECT COUNT(DISTINCT job_id) = COUNT(job_id) FROM $DB.schedule_ticks")" 1

# ---- Missed ticks: after downtime only the most recent fires. Started
# with 30 s left in the minute: a new minute would fire its own tick.
wait_until 350 minute_left 30
eq "minute schedule" "$(put minutely "{\"cron\":\"* * * * *\",\"job\":{\"kind\":\"http\",\"queue\":\"missed\",\"payload\":{\"url\":\"$T/ok?m\"}}}")" 200
q "UPDATE $DB.schedules SET next_fire_at = DATE_FORMAT(NOW() - INTERVAL 10 MINUTE, '%Y-%m-%d %H:%i:00') WHERE name = 'minutely'"
check "one job for ten missed ticks" wait_sql 50 "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'missed'" 1
# Two more passes of the firing loop (the every-second schedule ticks in
# them) had their chance to fire a missed tick again.
n=$(ticks)
check "the scheduler fired on" wait_until 60 ge $((n + 2)) ticks
eq "still one" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'missed'")" 1
eq "the most recent minute" "$(q "SELECT t.tick_at = DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:00') OR t.tick_at = DATE_FORMAT(NOW() - INTERVAL 1 MINUTE, '%Y-%m-%d %H:%i:00') FROM $DB.schedule_ticks t JOIN $DB.schedules s ON s.id = t.schedule_id WHERE s.name = 'minutely'")" 1
eq "next tick in the future" "$(q "SELECT next_fire_at > NOW() FROM $DB.schedules WHERE name = 'minutely'")" 1
GET=$(http_body "$U/v1/schedules/minutely" "${AUTH[@]}")
contains "GET shows the last job" "$GET" '"last_job_id":"job_'

# ---- SIGTERM: the leader steps down and exits 0
stop_ingot "$SC2_PID" "$SC2_LOG"; eq "SIGTERM exits 0" "$?" 0
stop_ingot "$SC3_PID" "$SC3_LOG"; eq "SIGTERM exits 0 (2)" "$?" 0
eq "no lock left behind" "$(q "SELECT IS_USED_LOCK(CONCAT('ingot.scheduler.', MD5('$DB'))) IS NULL")" 1

# ---- ingot run includes the scheduler
start_ingot R run --http-target-allow 127.0.0.0/8
check "run leads" wait_out 50 true leader "$R_PORT"
finish
