# A database outage must not flood the log: every request answers 503 with
# the same warn line; repeated warn/error lines are limited per message
# (5 a second) with one "suppressed K similar lines" line. Before the fix:
# thousands of "database error" lines in 2 s.
. "$(dirname "$0")/lib.sh"
jobs_setup logflood
export LOG_FORMAT=json
start_ingot S serve
U="http://127.0.0.1:$S_PORT"
eq "enqueue works" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/v1/jobs" "${AUTH[@]}" -d "{\"kind\":\"http\",\"payload\":{\"url\":\"$T/ok\"}}")" 202
servers stop-mariadb
n503=0
# At least 2.5 s (the "suppressed" line comes with the first line of a
# later second) and until 60 requests were refused (a loaded machine needs
# longer than a quiet one), at most 20 s: the limit is per second, so the
# bound on warn lines follows the time it took.
t0=$(( $(date +%s%N) / 1000000 ))
end=$(( t0 + 20000 ))
going() {
    local now=$(( $(date +%s%N) / 1000000 ))
    [ "$now" -lt "$end" ] && { [ "$n503" -lt 60 ] || [ "$now" -lt $((t0 + 2500)) ]; }
}
while going; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        c=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/v1/jobs" "${AUTH[@]}" -d "{\"kind\":\"http\",\"payload\":{\"url\":\"$T/ok\"}}")
        [ "$c" = 503 ] && n503=$((n503 + 1))
    done
done
secs=$(( ($(date +%s%N) / 1000000 - t0 + 999) / 1000 ))
echo "  $n503 requests answered 503 in ${secs} s"
check "the outage answered many requests 503 ($n503)" test "$n503" -ge 60
warns=$(grep -c '"level":"warn".*database error' "$S_LOG")
# 5 a second per message, plus each window's "suppressed" line, over the
# windows the run touched (one more than its whole seconds).
check "warn lines: at most 5 a second ($warns in ${secs} s)" test "$warns" -le $((6 * (secs + 1)))
check "a suppressed line says how many were left out" grep -q 'suppressed [0-9]* similar lines: database error' "$S_LOG"
servers start-mariadb
check "the database is back" wait_until 200 sh -c "test \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$S_PORT/health/ready) = 200"
stop_ingot "$S_PID" "$S_LOG"
finish
