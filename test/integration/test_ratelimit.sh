# Queue rate limits: shared through Redis by two workers, and per process
# when Redis is not configured. Counted at the target, per aligned window.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
jobs_setup rl
start_ingot S serve
U="http://127.0.0.1:$S_PORT"

# max_per_window QUEUE WINDOW_MS MAX: the most requests one window aligned
# to the epoch was charged with, when a request granted near the end of a
# window may reach the target up to SLIP_MS into the next one (the worker's
# loop and curl stand between the grant and the arrival; under a sanitizer
# in a loaded CI that is tens of milliseconds). Such an arrival is charged
# to the window before if that one still had room, which is the most
# favourable reading the limiter could claim; anything beyond it is a
# broken limit.
SLIP_MS=250
max_per_window() {
    grep "path=/ok?$1 " target.out | sed 's/.*t=//' | sort -n | awk -v w="$2" -v max="$3" -v slip="$SLIP_MS" '
        { k = int($1 / w); if ($1 - k * w < slip && (k - 1) in c && c[k - 1] < max) c[k - 1]++; else c[k]++ }
        END { m = 0; for (k in c) if (c[k] > m) m = c[k]; print m }'
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
m=$(max_per_window shared 1000 5)
check "at most 5 per window across both workers (max seen $m)" test "$m" -le 5
# 6 windows of 5: first and last request at least 4 windows apart, less
# the part of the first window already gone.
check "the limit stretched the run over 4 windows ($(span_ms shared) ms)" test "$(span_ms shared)" -ge 3900
w1=$(curl -s "http://127.0.0.1:$W1_PORT/metrics" | awk '/^ingot_jobs_total.*shared.*succeeded/ {print $2}')
w2=$(curl -s "http://127.0.0.1:$W2_PORT/metrics" | awk '/^ingot_jobs_total.*shared.*succeeded/ {print $2}')
check "both workers took part ($w1 + $w2)" test "${w1:-0}" -gt 0 -a "${w2:-0}" -gt 0
eq "no attempt wasted on the limit" "$(q() { mysql_root -e "$1"; }; q "SELECT MAX(attempts) FROM $DB.jobs WHERE queue = 'shared'")" 1
check "rate-limited hand-backs counted" test "$(curl -s "http://127.0.0.1:$W1_PORT/metrics" | awk '/^ingot_rate_limited_total/ {print $2}')" -ge 0
stop_ingot "$W1_PID" "$W1_LOG"; stop_ingot "$W2_PID" "$W2_LOG"

# Redis stalls (SIGSTOP) within a window the worker already filled: its
# shared take times out and it counts alone from then on, going on from
# the shared count it saw last, so that window stays full (counting from
# zero sent a second window's worth into it).
curl -s -o /dev/null -X PUT "$U/v1/queues/stall" "${AUTH[@]}" -d '{"rate_limit":{"max":4,"duration_ms":8000}}'
start_ingot W4 work --http-target-allow 127.0.0.0/8
limited() { curl -s "http://127.0.0.1:$W4_PORT/metrics" | awk '/^ingot_rate_limited_total/ {s += $2} END {print s + 0}'; }
early() { [ $(($(date +%s%3N) % 8000)) -lt 1000 ]; }
wait_until 90 early # the clock: a window just begun, at most one window's wait
win=$(($(date +%s%3N) / 8000))
batch stall 4
check "4 jobs run with Redis up" wait_sql 60 "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'stall' AND state = 2" 4
l0=$(limited)
kill -STOP "$(cat "$REDIS_PID")"
batch stall 4
wait_until 60 eval '[ "$(limited)" -gt "$l0" ]'; l1=$(limited)
same=$(($(date +%s%3N) / 8000 == win))
kill -CONT "$(cat "$REDIS_PID")"
check "Redis stalled: the next 4 were held back ($l0 -> $l1 hand-backs, same window: $same)" test "$l1" -gt "$l0" -a "$same" = 1
check "  all 8 run once Redis is back" wait_sql 300 "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'stall' AND state = 2" 8
m=$(max_per_window stall 8000 4)
check "  at most 4 in any window (max seen $m)" test "$m" -le 4
stop_ingot "$W4_PID" "$W4_LOG"

# Without Redis each process enforces the limit alone.
curl -s -o /dev/null -X PUT "$U/v1/queues/local" "${AUTH[@]}" -d '{"rate_limit":{"max":3,"duration_ms":1000}}'
REDIS_URL= start_ingot W3 work --http-target-allow 127.0.0.0/8
batch local 12
check "12 jobs succeed without Redis" wait_sql 300 "SELECT COUNT(*) FROM $DB.jobs WHERE queue = 'local' AND state = 2" 12
m=$(max_per_window local 1000 3)
check "at most 3 per window in one process (max seen $m)" test "$m" -le 3
check "limited without Redis too ($(span_ms local) ms, 4 windows of 3)" test "$(span_ms local)" -ge 1900
finish
