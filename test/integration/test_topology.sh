# The production topology on loopback: 2 x serve, 2 x work, 2 x schedule
# against one MariaDB and one Redis. Jobs go in through both APIs while a
# schedule fires every second; mid-run the leading scheduler and one worker
# are killed with kill -9. No job is lost, none is recorded twice, no tick
# fires twice, and the standby leads within 5 s.
. "$(dirname "$0")/lib.sh"
jobs_setup topo
q() { mysql_root -e "$1"; }
N=600 # jobs per API
WORK=(--http-target-allow 127.0.0.0/8 --queue-worker-concurrency 40 --queue-lease 3s)
start_ingot S1 serve
start_ingot S2 serve
start_ingot W1 work "${WORK[@]}"
start_ingot W2 work "${WORK[@]}"
start_ingot SC1 schedule
start_ingot SC2 schedule
leader() { curl -s --max-time 2 "http://127.0.0.1:$1/health" | grep -o '"scheduler":{"leader":[a-z]*' | sed 's/.*://'; }
some_leader() { [ "$(leader "$SC1_PORT")" = true ] || [ "$(leader "$SC2_PORT")" = true ]; }
check "a scheduler leads" wait_until 50 some_leader

code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://127.0.0.1:$S1_PORT/v1/schedules/beat" "${AUTH[@]}" \
    -d "{\"cron\":\"@every 1s\",\"job\":{\"kind\":\"http\",\"queue\":\"beat\",\"payload\":{\"url\":\"$T/ok?beat\"}}}")
eq "schedule every second" "$code" 200

# push PORT TAG: N jobs in batches of 50 (a third of them slow, so some are
# in flight when the worker dies).
push() {
    local port=$1 tag=$2 b i body
    for b in $(seq 1 $((N / 50))); do
        body="["
        for i in $(seq 1 50); do
            if [ $((i % 3)) = 0 ]; then path="/slow/300?$tag-$b-$i"; else path="/ok?$tag-$b-$i"; fi
            body="$body{\"kind\":\"http\",\"queue\":\"topo\",\"payload\":{\"url\":\"$T$path\"}},"
        done
        curl -s -o /dev/null -w '%{http_code}\n' -X POST "http://127.0.0.1:$port/v1/jobs/batch" "${AUTH[@]}" -d "${body%,}]"
    done
}
push "$S1_PORT" a > push1.out &
P1=$!
push "$S2_PORT" b > push2.out &
P2=$!

# Mid-run: once some jobs have run and the schedule has ticked a few times.
done_n() { q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'topo' AND state = 2"; }
ge() { [ "$("$2")" -ge "$1" ]; }
check "jobs flowing" wait_until 300 ge 100 done_n
ticks() { q "SELECT COUNT(*) FROM $DB.schedule_ticks"; }
check "ticks flowing" wait_until 50 ge 2 ticks
if [ "$(leader "$SC1_PORT")" = true ]; then LP=$SC1_PID; SP=$SC2_PORT; else LP=$SC2_PID; SP=$SC1_PORT; fi
inflight=$(curl -s "http://127.0.0.1:$W1_PORT/metrics" | awk '/^ingot_jobs_in_flight /{print $2}')
t0=$(date +%s%N)
kill -9 "$LP" "$W1_PID"
wait "$LP" "$W1_PID" 2>/dev/null
check "the standby leads" wait_out 60 true leader "$SP"
took=$(( ($(date +%s%N) - t0) / 1000000 ))
check "within 5 s (took $took ms)" test "$took" -lt 5000
echo "# worker killed with ${inflight:-?} job(s) in flight"

wait "$P1" "$P2"
eq "every batch accepted by API 1" "$(sort -u push1.out)" 202
eq "every batch accepted by API 2" "$(sort -u push2.out)" 202
total=$((2 * N))
check "all $total jobs succeed (leases of the killed worker recovered)" wait_sql 600 "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'topo' AND state = 2" "$total"
eq "no job lost or failed" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'topo'")" "$total"
eq "each outcome recorded once" "$(q "SELECT COUNT(*) FROM (SELECT job_id FROM $DB.job_attempts WHERE outcome = 'succeeded' GROUP BY job_id HAVING COUNT(*) > 1) d")" 0
eq "one succeeded attempt per job" "$(q "SELECT COUNT(DISTINCT a.job_id) FROM $DB.job_attempts a JOIN $DB.jobs j ON j.id = a.job_id WHERE j.queue = 'topo' AND a.outcome = 'succeeded'")" "$total"
n=$(ticks)
check "ticks go on after the failover" wait_until 60 ge $((n + 2)) ticks
eq "no tick fired twice (one job per tick)" "$(q "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'beat'")" "$(q "SELECT COUNT(*) FROM $DB.schedule_ticks WHERE job_id IS NOT NULL")"
eq "no job shared by two ticks" "$(q "SELECT COUNT(DISTINCT job_id) = COUNT(*) FROM $DB.schedule_ticks")" 1
beat_done() { q "SELECT COUNT(*) = SUM(state = 2) FROM $DB.jobs WHERE queue = 'beat'"; }
check "tick jobs run too" wait_out 100 1 beat_done
finish
