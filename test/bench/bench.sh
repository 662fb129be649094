#!/usr/bin/env bash
# make bench: prints one JSON object a line. Every figure sits next to a
# reference measured in the same run on this machine (nginx answering a
# constant with one worker, like ingot's one event loop), because absolute
# numbers on a shared 2-core machine are noise.
#   BENCH_SECONDS (default 10) per wrk run; BENCH_CONNECTIONS (default 100).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-100}
TMP=$(mktemp -d /tmp/ingot-bench.XXXXXX)
NGINX_PID=""; INGOT_PID=""
cleanup() {
    [ -n "$INGOT_PID" ] && kill "$INGOT_PID" 2>/dev/null
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
    bash deploy/local/servers.sh stop "$TMP/servers" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 40000))
        ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { echo "$p"; return; }
    done
}
wait_http() { for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }

bash deploy/local/servers.sh start "$TMP/servers" 2>/dev/null
. "$TMP/servers/env"
export DATABASE_URL REDIS_URL
bin/ingot migrate --env-file /dev/null >/dev/null

# wrk_json NAME URL: runs wrk, prints {"rps":..,"p50_ms":..,"p99_ms":..} parts.
wrk_run() {
    wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$1" > "$TMP/wrk.out" 2>&1
    local rps p50 p99
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.out")
    p50=$(awk '$1=="50%" {print $2}' "$TMP/wrk.out")
    p99=$(awk '$1=="99%" {print $2}' "$TMP/wrk.out")
    local errs; errs=$(awk '/Non-2xx|Socket errors/ {print}' "$TMP/wrk.out" | tr '\n' ' ')
    printf '"rps":%s,"p50_ms":%s,"p99_ms":%s,"errors":"%s"' "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" "$errs"
}
to_ms() { # wrk prints 1.23ms, 456.00us, 1.2s
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

# Reference: nginx returning a constant from one worker process.
NPORT=$(free_port)
mkdir -p "$TMP/nginx"
cat > "$TMP/nginx/nginx.conf" <<NGX
worker_processes 1;
error_log $TMP/nginx/error.log;
pid $TMP/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $TMP/nginx;
    proxy_temp_path $TMP/nginx;
    fastcgi_temp_path $TMP/nginx;
    uwsgi_temp_path $TMP/nginx;
    scgi_temp_path $TMP/nginx;
    server {
        listen 127.0.0.1:$NPORT;
        location / { default_type application/json; return 200 '{"status":"OK"}'; }
    }
}
NGX
nginx -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
wait_http "http://127.0.0.1:$NPORT/"
ref=$(wrk_run "http://127.0.0.1:$NPORT/")
ref_rps=$(printf '{%s}' "$ref" | sed 's/.*"rps":\([0-9.]*\).*/\1/')
echo "{\"bench\":\"http_reference\",\"server\":\"nginx (1 worker)\",\"path\":\"/\",\"connections\":$CONNS,$ref}"
kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true; NGINX_PID=""

# ingot serve: idle RSS, then throughput of / and /health/live.
IPORT=$(free_port)
bin/ingot serve --env-file /dev/null --host 127.0.0.1 --port "$IPORT" --log-level warn 2>"$TMP/serve.log" &
INGOT_PID=$!
wait_http "http://127.0.0.1:$IPORT/health/ready"
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$INGOT_PID/status")
echo "{\"bench\":\"idle_rss\",\"role\":\"serve\",\"rss_kb\":$rss_kb,\"target_kb\":16384}"
for path in /health/live /; do
    r=$(wrk_run "http://127.0.0.1:$IPORT$path")
    rps=$(printf '{%s}' "$r" | sed 's/.*"rps":\([0-9.]*\).*/\1/')
    ratio=$(awk -v a="$rps" -v b="$ref_rps" 'BEGIN { printf "%.3f", a / b }')
    echo "{\"bench\":\"http\",\"server\":\"ingot serve\",\"path\":\"$path\",\"connections\":$CONNS,$r,\"ratio_to_reference\":$ratio,\"target_ratio\":0.4}"
done
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$INGOT_PID/status")
echo "{\"bench\":\"rss_after_load\",\"role\":\"serve\",\"rss_kb\":$rss_kb}"
kill "$INGOT_PID"; wait "$INGOT_PID" 2>/dev/null || true; INGOT_PID=""

# exec -> /health/ready answering 200, database up: median of 7 runs.
times=()
for _ in 1 2 3 4 5 6 7; do
    p=$(free_port)
    times+=("$(build/release/test/fakes/readytime "$p" /health/ready -- bin/ingot serve --env-file /dev/null --host 127.0.0.1 --port "$p" --log-level warn 2>/dev/null)")
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(printf '%s\n' "$sorted" | sed -n 4p)
max=$(printf '%s\n' "$sorted" | tail -1)
echo "{\"bench\":\"startup\",\"role\":\"serve\",\"exec_to_ready_ms_median\":$median,\"exec_to_ready_ms_max\":$max,\"runs\":7,\"target_ms\":100}"
