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
B=build/debug/ingot
"${VG[@]}" "$B" migrate --env-file /dev/null >"$TMP/m.log" 2>&1; res "migrate under valgrind" $?
"${VG[@]}" "$B" migrate status --env-file /dev/null >"$TMP/m2.log" 2>&1; res "migrate status under valgrind" $?
"${VG[@]}" "$B" doctor --env-file /dev/null >"$TMP/d.log" 2>&1; rc=$?
[ "$rc" = 1 ] && ! grep -q '==[0-9]*==' "$TMP/d.log"; res "doctor under valgrind (no errors)" $?

port=$((10000 + RANDOM % 20000))
"${VG[@]}" "$B" serve --env-file /dev/null --host 127.0.0.1 --port "$port" \
    --llm-base-url "http://127.0.0.1:1/v1" >"$TMP/s.log" 2>&1 &
SPID=$!
up=1
for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/health/live" && { up=0; break; }; sleep 0.1; done
res "serve under valgrind comes up" $up
for p in / /health /health/ready /metrics /nope /health/live; do curl -s -o /dev/null "http://127.0.0.1:$port$p"; done
head -c 3000000 /dev/zero > "$TMP/big"; curl -s -o /dev/null -X POST --data-binary @"$TMP/big" "http://127.0.0.1:$port/"
kill -TERM "$SPID"; wait "$SPID"; rc=$?; SPID=""
res "serve drains and exits clean under valgrind" "$rc"
[ "$rc" = 0 ] || tail -40 "$TMP/s.log"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
