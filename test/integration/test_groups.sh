# Queue concurrency caps, per-group caps and rate limits, and round-robin
# between groups. Caps are counted at the target: every /slow/ request
# logs how many with the same query were open when it arrived (qbusy).
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
jobs_setup groups
start_ingot S serve
U="http://127.0.0.1:$S_PORT"

put_queue() { curl -s -o /dev/null -w '%{http_code}' -X PUT "$U/v1/queues/$1" "${AUTH[@]}" -d "$2"; }
# jobs QUEUE GROUP N PATH: one batch of N jobs (GROUP - for none).
jobs() {
    local body="[" i g=""
    [ "$2" != - ] && g=",\"group\":\"$2\""
    for i in $(seq 1 "$3"); do body="$body{\"kind\":\"http\",\"queue\":\"$1\"$g,\"payload\":{\"url\":\"http://127.0.0.1:$TP$4\"}},"; done
    curl -s -o /dev/null -w '%{http_code}' -X POST "$U/v1/jobs/batch" "${AUTH[@]}" -d "${body%,}]"
}
done_in() { echo "SELECT COUNT(*) FROM $DB.jobs WHERE queue = '$1' AND state = 2"; }
# max_field FIELD PATTERN: the largest FIELD= value on target lines matching PATTERN.
max_field() { grep -- "$2" target.out | sed "s/.* $1=\([0-9]*\).*/\1/" | sort -n | tail -1; }

# Settings first: workers read them every second, and a job claimed
# before its queue's cap is known would not be counted against it.
eq "cap set" "$(put_queue capped '{"concurrency":3}')" 200
eq "group cap set" "$(put_queue grp '{"group":{"concurrency":2}}')" 200
eq "fair queue set" "$(put_queue fair '{"concurrency":1}')" 200
eq "group rate set" "$(put_queue grate '{"group":{"rate_limit":{"max":2,"duration_ms":1000}}}')" 200

# 1. A queue capped at 3, two workers with room for 20 each.
start_ingot W1 work --http-target-allow 127.0.0.0/8 --queue-worker-concurrency 20
start_ingot W2 work --http-target-allow 127.0.0.0/8 --queue-worker-concurrency 20
eq "15 capped jobs accepted" "$(jobs capped - 15 '/slow/300?capped')" 202
check "15 capped jobs succeed" wait_sql 300 "$(done_in capped)" 15
m=$(max_field qbusy 'path=/slow/300?capped ')
check "never more than 3 running across both workers (max seen $m)" test "${m:-99}" -le 3
check "the cap was used, not just obeyed (max seen $m)" test "${m:-0}" -ge 2
eq "each executed once" "$(grep -c 'path=/slow/300?capped ' target.out)" 15

# 2. Per-group cap of 2: three groups run side by side, each at most 2.
for g in a b c; do eq "group $g accepted" "$(jobs grp "$g" 6 "/slow/300?g=$g")" 202; done
check "18 grouped jobs succeed" wait_sql 300 "$(done_in grp)" 18
for g in a b c; do
    m=$(max_field qbusy "path=/slow/300?g=$g ")
    check "group $g: at most 2 at once (max seen $m)" test "${m:-99}" -le 2
done
m=$(max_field busy 'path=/slow/300?g=')
check "groups ran side by side (up to $m at once)" test "${m:-0}" -ge 3
stop_ingot "$W2_PID" "$W2_LOG"

# 3. Round-robin: a noisy group enqueued first must not make the others
# wait behind it. One at a time (cap 1) so the order is the claim order.
stop_ingot "$W1_PID" "$W1_LOG" # enqueue everything before any claim
eq "noisy accepted" "$(jobs fair noisy 12 '/ok?fair=noisy')" 202
eq "quiet accepted" "$(jobs fair quiet 3 '/ok?fair=quiet')" 202
eq "ungrouped accepted" "$(jobs fair - 2 '/ok?fair=none')" 202
start_ingot W1 work --http-target-allow 127.0.0.0/8 --queue-worker-concurrency 20
check "17 fair jobs succeed" wait_sql 300 "$(done_in fair)" 17
order=$(grep 'path=/ok?fair=' target.out | sed 's/.*fair=\([a-z]*\).*/\1/' | tr '\n' ' ')
last_other=$(echo "$order" | tr ' ' '\n' | grep -n -v -x noisy | grep -v ':$' | tail -1 | cut -d: -f1)
# FIFO would put the last of the others at 17; taking turns, by 9.
check "groups took turns: the others all ran by position 9 (order: $order)" test "${last_other:-99}" -le 9
check "noisy still ran while others waited (order: $order)" test "$(echo "$order" | cut -d' ' -f1-6 | grep -c noisy)" -ge 1

# 4. Per-group rate limit: 2 per second per group; two groups go together.
for g in x y; do eq "group $g accepted" "$(jobs grate "$g" 5 "/ok?gr=$g")" 202; done
check "10 rate-limited jobs succeed" wait_sql 300 "$(done_in grate)" 10
per_window() { grep -- "$1" target.out | sed 's/.*t=\([0-9]*\).*/\1/' | awk '{ c[int($1 / 1000)]++ } END { m = 0; for (k in c) if (c[k] > m) m = c[k]; print m }'; }
span() { grep -- "$1" target.out | sed 's/.*t=\([0-9]*\).*/\1/' | sort -n | awk 'NR == 1 { a = $1 } { b = $1 } END { print b - a }'; }
for g in x y; do
    m=$(per_window "path=/ok?gr=$g ")
    # One request granted at the end of a window may arrive just after it.
    check "group $g: at most 2 per window (max seen $m)" test "$m" -le 3
    check "group $g: spread over 3 windows ($(span "path=/ok?gr=$g ") ms)" test "$(span "path=/ok?gr=$g ")" -ge 1000
done
m=$(per_window 'path=/ok?gr=')
check "the limit is per group: both ran in one window (max seen $m)" test "$m" -ge 3
eq "no attempt wasted on the limit" "$(mysql_root -e "SELECT MAX(attempts) FROM $DB.jobs WHERE queue = 'grate'")" 1
eq "GET shows the group limits" "$(curl -s "$U/v1/queues" "${AUTH[@]}" | grep -o '"group":{"concurrency":null,"rate_limit":{"max":2,"duration_ms":1000}}' | head -1)" '"group":{"concurrency":null,"rate_limit":{"max":2,"duration_ms":1000}}'
finish
