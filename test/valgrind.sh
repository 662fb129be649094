#!/usr/bin/env bash
# make valgrind: the unit tests and a serve/migrate/doctor session at -O0
# under valgrind; any valgrind error or definite leak fails. The session
# includes the LLM gateway against the fake provider (chat plain and
# streamed, OpenAI and Anthropic, embeddings, an llm.chat job, a streaming
# client that goes away, `admin provider add` with a key). Ends with
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
trap 'kill $SPID $LPID 2>/dev/null; bash deploy/local/servers.sh stop "$TMP/servers" >/dev/null 2>&1; rm -rf "$TMP" /tmp/vg.$$' EXIT
SPID=""; LPID=""
bash deploy/local/servers.sh start "$TMP/servers" 2>/dev/null || { echo "0 passed, 1 failed"; exit 1; }
. "$TMP/servers/env"
export DATABASE_URL REDIS_URL
export API_KEY_HASH_SECRET=valgrind-hash-secret-0123456789abcdef SIGNING_KEY=valgrind-signing-key-0123456789abcdef
export ENCRYPTION_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
unset BUILT_IN_FORGE_API_URL BUILT_IN_FORGE_API_KEY
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
# The fake LLM provider (not under valgrind: it is the other side).
build/debug/test/fakes/fakellm 0 > "$TMP/fakellm.out" 2>&1 &
LPID=$!
for _ in $(seq 1 50); do grep -q '^port' "$TMP/fakellm.out" && break; sleep 0.1; done
L="http://127.0.0.1:$(awk '/^port/ {print $2; exit}' "$TMP/fakellm.out")"
export LLM_PROVIDER=openai LLM_API_KEY=sk-valgrind-upstream-0123
printf %s anth-valgrind-key | "${VG[@]}" "$B" admin provider add anth --type anthropic --base-url "$L/anthropic/v1" \
    --api-key-stdin --env-file /dev/null >/dev/null 2>"$TMP/p.log"; res "admin provider add (with a key) under valgrind" $?
"${VG[@]}" "$B" admin provider list --env-file /dev/null >/dev/null 2>>"$TMP/p.log"; res "admin provider list under valgrind" $?
port=$((10000 + RANDOM % 20000))
"${VG[@]}" "$B" run --env-file /dev/null --host 127.0.0.1 --port "$port" --http-target-allow 127.0.0.0/8 \
    --llm-base-url "$L/openai/v1" >"$TMP/s.log" 2>&1 &
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
# The LLM gateway: chat (plain, streamed; OpenAI and Anthropic), embeddings,
# models, an llm.chat job through work, and streams whose client goes away.
chat() { printf '{"model":"%s","messages":[{"role":"user","content":"hi"}]%s}' "$1" "${2:-}"; }
llm() { curl -s --max-time 60 -X POST "$U/v1/$1" "${A[@]}" -H 'Content-Type: application/json' -d "$2"; }
o=$(llm chat/completions "$(chat fake-ok)")
case $o in *'"Hello! This is fakellm."'*) r=0 ;; *) r=1; echo "$o" ;; esac; res "chat completion under valgrind" $r
o=$(llm chat/completions "$(chat fake-ok ',"stream":true,"stream_options":{"include_usage":true}')")
case $o in *'"prompt_tokens":12'*'data: [DONE]'*) r=0 ;; *) r=1; echo "$o" ;; esac; res "streamed chat completion under valgrind" $r
o=$(llm chat/completions "$(chat anth/fake-ok)")
case $o in *'"Hello! This is fakellm."'*) r=0 ;; *) r=1; echo "$o" ;; esac; res "chat completion via anthropic under valgrind" $r
o=$(llm chat/completions "$(chat anth/fake-ok ',"stream":true')")
case $o in *'data: [DONE]'*) r=0 ;; *) r=1; echo "$o" ;; esac; res "streamed chat via anthropic under valgrind" $r
o=$(llm embeddings '{"model":"fake-ok","input":["a","b"]}')
case $o in *'"object":"embedding"'*) r=0 ;; *) r=1; echo "$o" ;; esac; res "embeddings (base64) under valgrind" $r
o=$(llm embeddings '{"model":"fake-ok","input":"a","encoding_format":"float"}')
case $o in *'"embedding":['*) r=0 ;; *) r=1; echo "$o" ;; esac; res "embeddings (float) under valgrind" $r
llm chat/completions "$(chat fake-429)" >/dev/null
llm chat/completions '{"model":"fake-ok"}' >/dev/null
curl -s -o /dev/null "$U/v1/models" "${A[@]}"
lj=$(curl -s -X POST "$U/v1/jobs" "${A[@]}" -d '{"kind":"llm.chat","payload":'"$(chat fake-ok)"'}' | grep -o 'job_[0-9]*')
ok_llmjob=1
for _ in $(seq 1 300); do
    curl -s "$U/v1/jobs/$lj" "${A[@]}" | grep -q '"status":"succeeded"' && { ok_llmjob=0; break; }
    sleep 0.1
done
res "llm.chat job through work under valgrind" $ok_llmjob
# Clients that go away mid-stream: a stream that stalls, and a slow one
# (OpenAI and Anthropic); the server must cancel and record them cleanly.
for m in fake-stall anth/fake-stall fake-delay-300-words-20; do
    curl -s -o /dev/null --max-time 1 -X POST "$U/v1/chat/completions" "${A[@]}" -d "$(chat "$m" ',"stream":true')"
done
ok_cut=1
for _ in $(seq 1 100); do
    [ "$(curl -s "$L/_log" | grep -c '"closed_mono_ms":[0-9]')" -ge 3 ] && { ok_cut=0; break; }
    sleep 0.1
done
res "streams cut by the client reach the provider as closed" $ok_cut
kill "$TPID" 2>/dev/null
head -c 3000000 /dev/zero > "$TMP/big"; curl -s -o /dev/null -X POST --data-binary @"$TMP/big" "http://127.0.0.1:$port/"
kill -TERM "$SPID"; wait "$SPID"; rc=$?; SPID=""
kill "$LPID" 2>/dev/null; LPID=""
# The ledger (flushed by the drain): the cut streams as 499, the rest 200.
led=$(mariadb --no-defaults --socket="$MARIADB_SOCKET" -uroot -N -B -e \
    "SELECT SUM(status = 499), SUM(status = 200) FROM ingot.llm_usage")
set -- $led
[ "${1:-0}" -ge 3 ] && [ "${2:-0}" -ge 7 ]; r=$?
res "usage ledger: cut streams 499 (${1:-0}), answered 200 (${2:-0})" $r
res "run (serve + work + schedule) drains and exits clean under valgrind" "$rc"
[ "$rc" = 0 ] || tail -40 "$TMP/s.log"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
