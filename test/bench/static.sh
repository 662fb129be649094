#!/usr/bin/env bash
# Static vs dynamic in one run (issue 13 groundwork; not yet part of make
# bench): binary size, idle RSS, /health/live req/s and RSS after load of
# bin/ingot and bin/ingot-static, alternated ROUNDS times on loopback.
#   test/bench/static.sh   (after make bin/ingot static)
# BENCH_SECONDS (default 10) per wrk run, BENCH_CONNECTIONS (default 100),
# BENCH_ROUNDS (default 2). One JSON object per line.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-100}
ROUNDS=${BENCH_ROUNDS:-2}
for b in bin/ingot bin/ingot-static; do
    [ -x "$b" ] || { echo "static.sh: $b missing (make bin/ingot static)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "static.sh: wrk missing (sh vendor/install.sh bench)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/ingot-bench-static.XXXXXX)
INGOT_PID=""
cleanup() {
    if [ -n "$INGOT_PID" ]; then kill "$INGOT_PID" 2>/dev/null || true; fi
    bash deploy/local/servers.sh stop "$TMP/servers" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
. test/bench/lib.sh # free_port, wait_http

bash deploy/local/servers.sh start "$TMP/servers" 2>/dev/null
. "$TMP/servers/env"
export DATABASE_URL REDIS_URL
export API_KEY_HASH_SECRET=bench-hash-secret-0123456789abcdef01 SIGNING_KEY=bench-signing-key-0123456789abcdef01
bin/ingot migrate --env-file /dev/null >/dev/null

for b in bin/ingot bin/ingot-static; do
    echo "{\"bench\":\"binary_size\",\"binary\":\"$b\",\"bytes\":$(stat -c %s "$b"),\"linkage\":\"$("$b" version | awk '/ build / {print $1}')\"}"
done
for round in $(seq 1 "$ROUNDS"); do
    for b in bin/ingot bin/ingot-static; do
        port=$(free_port)
        "$b" serve --env-file /dev/null --host 127.0.0.1 --port "$port" --log-level warn 2>"$TMP/serve.log" &
        INGOT_PID=$!
        wait_http "http://127.0.0.1:$port/health/ready"
        idle=$(awk '/^VmRSS:/ {print $2}' "/proc/$INGOT_PID/status")
        wrk -t2 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$port/health/live" > "$TMP/wrk.out" 2>&1
        rps=$(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.out")
        errs=$(awk '/Non-2xx|Socket errors/ {print}' "$TMP/wrk.out" | tr '\n' ' ')
        loaded=$(awk '/^VmRSS:/ {print $2}' "/proc/$INGOT_PID/status")
        kill "$INGOT_PID"; wait "$INGOT_PID" 2>/dev/null || true; INGOT_PID=""
        echo "{\"bench\":\"health_live\",\"round\":$round,\"binary\":\"$b\",\"connections\":$CONNS,\"rps\":${rps:-0},\"idle_rss_kb\":$idle,\"loaded_rss_kb\":$loaded,\"errors\":\"$errs\"}"
    done
done
