#!/usr/bin/env bash
# make valgrind: the unit tests and a serve/migrate/doctor session at -O0
# under valgrind; any valgrind error or definite leak fails. Ends with
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
VG=(valgrind --quiet --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite
    --error-exitcode=99 --suppressions=test/valgrind.supp)
pass=0; fail=0
res() { if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1 (exit $2)"; fi; }

for t in build/debug/test/unit/test_*; do
    case "$t" in *.o|*.d) continue ;; esac
    "${VG[@]}" "$t" >/tmp/vg.$$ 2>&1; rc=$?
    res "$(basename "$t") under valgrind" "$rc"
    [ "$rc" = 0 ] || tail -30 /tmp/vg.$$
done

TMP=$(mktemp -d /tmp/ingot-vg.XXXXXX)
trap 'kill $SPID 2>/dev/null; bash deploy/local/servers.sh stop "$TMP/servers" >/dev/null 2>&1; rm -rf "$TMP" /tmp/vg.$$' EXIT
SPID=""
bash deploy/local/servers.sh start "$TMP/servers" 2>/dev/null || { echo "0 passed, 1 failed"; exit 1; }
. "$TMP/servers/env"
export DATABASE_URL REDIS_URL
export API_KEY_HASH_SECRET=valgrind-hash-secret-0123456789abcdef SIGNING_KEY=valgrind-signing-key-0123456789abcdef
B=build/debug/ingot
"${VG[@]}" "$B" migrate --env-file /dev/null >"$TMP/m.log" 2>&1; res "migrate under valgrind" $?
"${VG[@]}" "$B" migrate status --env-file /dev/null >"$TMP/m2.log" 2>&1; res "migrate status under valgrind" $?
"${VG[@]}" "$B" doctor --env-file /dev/null >"$TMP/d.log" 2>&1; rc=$?
[ "$rc" = 1 ] && ! grep -q '==[0-9]*==' "$TMP/d.log"; res "doctor under valgrind (no errors)" $?

"${VG[@]}" "$B" admin tenant create vg --env-file /dev/null >/dev/null 2>"$TMP/a.log"; res "admin tenant create under valgrind" $?
KEY=$("${VG[@]}" "$B" admin key create --tenant vg --env-file /dev/null 2>>"$TMP/a.log"); res "admin key create under valgrind" $?
build/debug/test/fakes/target 0 "$SIGNING_KEY" > "$TMP/target.out" 2>&1 &
TPID=$!
for _ in $(seq 1 50); do grep -q '^port' "$TMP/target.out" && break; sleep 0.1; done
TP=$(awk '/^port/ {print $2}' "$TMP/target.out")
port=$((10000 + RANDOM % 20000))
"${VG[@]}" "$B" run --env-file /dev/null --host 127.0.0.1 --port "$port" --http-target-allow 127.0.0.0/8 \
    --llm-base-url "http://127.0.0.1:1/v1" >"$TMP/s.log" 2>&1 &
SPID=$!
up=1
for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/health/live" && { up=0; break; }; sleep 0.1; done
res "run under valgrind comes up" $up
for p in / /health /health/ready /metrics /nope /health/live; do curl -s -o /dev/null "http://127.0.0.1:$port$p"; done
A=(-H "Authorization: Bearer $KEY")
U="http://127.0.0.1:$port"
curl -s -o /dev/null -X POST "$U/v1/jobs" "${A[@]}" -d '{"kind":"http","payload":{"url":"http://127.0.0.1:'"$TP"'/status/503,200"},"backoff":{"base_ms":10},"callback_url":"http://127.0.0.1:'"$TP"'/echo","idempotency_key":"vg1"}'
curl -s -o /dev/null -X POST "$U/v1/jobs" "${A[@]}" -H 'Idempotency-Key: vg1' -d '{"kind":"http","payload":{"url":"http://127.0.0.1:1/"}}'
curl -s -o /dev/null -X POST "$U/v1/jobs/batch" "${A[@]}" -d '[{"kind":"http","payload":{"url":"http://127.0.0.1:'"$TP"'/ok"}},{"kind":"http","payload":{"url":"http://127.0.0.1:'"$TP"'/status/404"}}]'
# A long-poll woken by the worker's done message.
wid=$(curl -s -X POST "$U/v1/jobs" "${A[@]}" -d '{"kind":"http","payload":{"url":"http://127.0.0.1:'"$TP"'/slow/300"}}' | grep -o 'job_[0-9]*')
curl -s -o /dev/null "$U/v1/jobs/$wid?wait=10" "${A[@]}"
# A keyed batch, its replay, and the same key with another size (422).
kb='{"kind":"http","payload":{"url":"http://127.0.0.1:'"$TP"'/ok"}}'
for body in "[$kb]" "[$kb]" "[$kb,$kb]"; do
    curl -s -o /dev/null -X POST "$U/v1/jobs/batch" "${A[@]}" -H 'Idempotency-Key: vgb' -d "$body"
done
curl -s -o /dev/null -X POST "$U/v1/jobs" "${A[@]}" -d '{"kind":"nope"}'
curl -s -o /dev/null -X POST "$U/v1/jobs" "${A[@]}" -d '{broken'
curl -s -o /dev/null -X PUT "$U/v1/queues/default" "${A[@]}" -d '{"rate_limit":{"max":100,"duration_ms":1000}}'
curl -s -o /dev/null "$U/v1/queues" "${A[@]}"
curl -s -o /dev/null "$U/v1/jobs?limit=2" "${A[@]}"
ok_jobs=1
for _ in $(seq 1 300); do
    [ "$(curl -s "$U/v1/jobs?status=succeeded" "${A[@]}" | grep -o '"object":"job"' | wc -l)" -ge 3 ] && { ok_jobs=0; break; }
    sleep 0.1
done
res "jobs run under valgrind (retry, batch, callback)" $ok_jobs
# The scheduler: leads, fires a schedule every second, with a capped queue
# (the fair claim path) and a group rate limit.
curl -s -o /dev/null -X PUT "$U/v1/queues/capped" "${A[@]}" -d '{"concurrency":2,"group":{"concurrency":1,"rate_limit":{"max":50,"duration_ms":1000}}}'
curl -s -o /dev/null -X PUT "$U/v1/schedules/vg" "${A[@]}" -d '{"cron":"@every 1s","timezone":"Europe/Berlin","job":{"kind":"http","queue":"capped","group":"g1","payload":{"url":"http://127.0.0.1:'"$TP"'/ok"}}}'
curl -s -o /dev/null -X PUT "$U/v1/schedules/bad" "${A[@]}" -d '{"cron":"61 * * * *","job":{}}'
curl -s -o /dev/null "$U/v1/schedules" "${A[@]}"
ok_sched=1
for _ in $(seq 1 300); do
    [ "$(curl -s "$U/v1/jobs?queue=capped&status=succeeded" "${A[@]}" | grep -o '"object":"job"' | wc -l)" -ge 2 ] && { ok_sched=0; break; }
    sleep 0.1
done
res "schedule fires and the capped queue runs under valgrind" $ok_sched
curl -s -o /dev/null -X DELETE "$U/v1/schedules/vg" "${A[@]}"
curl -s -o /dev/null -X POST "$U/v1/jobs/job_1/retry" "${A[@]}"
curl -s -o /dev/null "$U/v1/jobs/job_2?wait=1" "${A[@]}"
kill "$TPID" 2>/dev/null
head -c 3000000 /dev/zero > "$TMP/big"; curl -s -o /dev/null -X POST --data-binary @"$TMP/big" "http://127.0.0.1:$port/"
kill -TERM "$SPID"; wait "$SPID"; rc=$?; SPID=""
res "run (serve + work + schedule) drains and exits clean under valgrind" "$rc"
[ "$rc" = 0 ] || tail -40 "$TMP/s.log"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
