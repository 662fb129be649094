# Queue rate limits: shared through Redis by two workers, and per process
# when Redis is not configured. Counted at the target, per aligned window.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
jobs_setup rl
start_ingot S serve
U="http://127.0.0.1:$S_PORT"

# max_per_window QUEUE WINDOW_MS: the most requests the target saw in one
# window aligned to the epoch.
max_per_window() {
    grep "path=/ok?$1 " target.out | sed 's/.*t=//' | awk -v w="$2" '{ c[int($1 / w)]++ } END { m = 0; for (k in c) if (c[k] > m) m = c[k]; print m }'
}
span_ms() {
    grep "path=/ok?$1 " target.out | sed 's/.*t=//' | sort -n | awk 'NR == 1 { a = $1 } { b = $1 } END { print b - a }'
}
batch() { # batch QUEUE N
    local body="[" i
    for i in $(seq 1 "$2"); do body="$body{\"kind\":\"http\",\"queue\":\"$1\",\"payload\":{\"url\":\"http://127.0.0.1:$TP/ok?$1\"}},"; done
    curl -s -o /dev/null -X POST "$U/v1/jobs/batch" "${AUTH[@]}" -d "${body%,}]"
}

# Shared: two workers, Redis up, 5 per second.
curl -s -o /dev/null -X PUT "$U/v1/queues/shared" "${AUTH[@]}" -d '{"rate_limit":{"max":5,"duration_ms":1000}}'
# Each worker runs at most 3 at once, so neither can use a whole window
# alone: both take part, and the count must be shared.
start_ingot W1 work --http-target-allow 127.0.0.0/8 --queue-worker-concurrency 3
start_ingot W2 work --http-target-allow 127.0.0.0/8 --queue-worker-concurrency 3
batch shared 30
check "30 jobs succeed" wait_sql 300 "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'shared' AND state = 2" 30
eq "each executed once" "$(grep -c 'path=/ok?shared ' target.out)" 30
m=$(max_per_window shared 1000)
# One request granted at the end of a window may arrive just after it.
check "at most 5 per window across both workers (max seen $m)" test "$m" -le 6
# 6 windows of 5: first and last request at least 4 windows apart, less
# the part of the first window already gone.
check "the limit stretched the run over 4 windows ($(span_ms shared) ms)" test "$(span_ms shared)" -ge 3900
w1=$(curl -s "http://127.0.0.1:$W1_PORT/metrics" | awk '/^ingot_jobs_total.*shared.*succeeded/ {print $2}')
w2=$(curl -s "http://127.0.0.1:$W2_PORT/metrics" | awk '/^ingot_jobs_total.*shared.*succeeded/ {print $2}')
check "both workers took part ($w1 + $w2)" test "${w1:-0}" -gt 0 -a "${w2:-0}" -gt 0
eq "no attempt wasted on the limit" "$(q() { mysql_root -e "$1"; }; q "SELECT MAX(attempts) FROM $DB.jobs WHERE queue = 'shared'")" 1
check "rate-limited hand-backs counted" test "$(curl -s "http://127.0.0.1:$W1_PORT/metrics" | awk '/^ingot_rate_limited_total/ {print $2}')" -ge 0
stop_ingot "$W1_PID" "$W1_LOG"; stop_ingot "$W2_PID" "$W2_LOG"

# Without Redis each process enforces the limit alone.
curl -s -o /dev/null -X PUT "$U/v1/queues/local" "${AUTH[@]}" -d '{"rate_limit":{"max":3,"duration_ms":1000}}'
REDIS_URL= start_ingot W3 work --http-target-allow 127.0.0.0/8
batch local 12
check "12 jobs succeed without Redis" wait_sql 300 "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'local' AND state = 2" 12
m=$(max_per_window local 1000)
check "at most 3 per window in one process (max seen $m)" test "$m" -le 4
check "limited without Redis too ($(span_ms local) ms, 4 windows of 3)" test "$(span_ms local)" -ge 1900
finish
