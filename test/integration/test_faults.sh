# Faults: Redis stopped in the middle of a 5k-job run. Every job completes
# exactly once; health says degraded while Redis is away, then up.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
jobs_setup faults
start_ingot S serve
U="http://127.0.0.1:$S_PORT"
item="{\"kind\":\"http\",\"queue\":\"f\",\"payload\":{\"url\":\"http://127.0.0.1:$TP/slow/50\"}}"
body="["; for _ in $(seq 1 100); do body="$body$item,"; done; printf '%s' "${body%,}]" > batch.json
for _ in $(seq 1 50); do curl -s -o /dev/null -X POST "$U/v1/jobs/batch" "${AUTH[@]}" --data-binary @batch.json; done
eq "5000 queued" "$(mysql_root -e "SELECT COUNT(*) FROM $DB.jobs")" 5000
done_count() { mysql_root -e "SELECT COUNT(*) FROM $DB.jobs WHERE state = 2"; }
at_least() { [ "$(done_count)" -ge "$1" ]; }
start_ingot W work --http-target-allow 127.0.0.0/8 --queue-worker-concurrency 50 --queue-limiter-max 100000
check "a first part done with Redis" wait_until 300 at_least 500
servers stop-redis
eq "health degraded while Redis is away" "$(http_body "$U/health" | jq -r .status)" degraded
eq "still 200" "$(http_code "$U/health")" 200
n=$(done_count)
want=$((n + 1000)); [ "$want" -gt 5000 ] && want=5000
check "work goes on without Redis ($n done when it stopped)" wait_until 300 at_least "$want"
servers start-redis
check "all 5000 succeed" wait_sql 600 "SELECT COUNT(*) FROM $DB.jobs WHERE state = 2" 5000
eq "each recorded once" "$(mysql_root -e "SELECT COUNT(*) FROM $DB.job_attempts WHERE outcome = 'succeeded'")" 5000
eq "none twice at the target" "$(grep -c 'path=/slow/50 ' target.out)" 5000
check "health up again" wait_until 150 sh -c "curl -s $U/health | grep -q '\"status\":\"up\"'"

# An enqueue that loses a lock conflict is sent again, not answered 503.
# A session holds the gap at the end of jobs (where new rows go) for 2.5 s;
# the API's connections give up waiting after 1 s (lock wait timeout), so
# the INSERT fails once or twice and then goes through.
mysql_root -e "SET GLOBAL innodb_lock_wait_timeout = 1"
start_ingot S2 serve # fresh connections take the short timeout
mysql_root -e "SET GLOBAL innodb_lock_wait_timeout = 50"
mysql_root -e "START TRANSACTION; SELECT id FROM $DB.jobs WHERE id > (SELECT MAX(id) FROM $DB.jobs) FOR UPDATE; SELECT SLEEP(2.5); COMMIT;" >/dev/null &
BLOCK=$!
check "the blocker holds the gap" wait_until 20 sh -c "mysql_root() { mariadb --no-defaults --socket='$MARIADB_SOCKET' -uroot -N -B \"\$@\"; }; [ \"\$(mysql_root -e \"SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_state = 'RUNNING' AND trx_rows_locked > 0\")\" -ge 1 ]"
curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 20 -X POST "http://127.0.0.1:$S2_PORT/v1/jobs/batch" "${AUTH[@]}" -d "[$item,$item]" > batch.code &
BATCH=$!
one=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 20 -X POST "http://127.0.0.1:$S2_PORT/v1/jobs" "${AUTH[@]}" -d "$item")
wait "$BLOCK" "$BATCH"
eq "single enqueue waited out the conflict: 202" "${one% *}" 202
eq "batch enqueue too: 202" "$(cut -d' ' -f1 batch.code)" 202
# Longer than one lock wait timeout: the batch's first try failed and was
# sent again (without the retry it answers 503).
check "the batch outlived a lock timeout ($(cut -d' ' -f2 batch.code) s)" awk -v t="$(cut -d' ' -f2 batch.code)" 'BEGIN { exit !(t >= 1.0) }'
eq "three more jobs stored" "$(mysql_root -e "SELECT COUNT(*) FROM $DB.jobs")" 5003
finish
