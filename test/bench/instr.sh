#!/usr/bin/env bash
# Instructions per request or per job under callgrind: a measure of the
# code's work that the other load on a shared machine does not move (wall
# clock figures do, by 10-15 % between two runs). For comparing code
# changes and the static build with the dynamic one.
#   test/bench/instr.sh http BIN [PATH]   GET PATH (default /health/live) on
#       BIN serve, 4 keep-alive connections for 6 s; prints Ir per request
#   test/bench/instr.sh work BIN [N]      N (default 3000) http jobs to a
#       local nginx, BIN work at concurrency 1000; prints Ir per job
# BIN: an unstripped build (build/release/ingot, build/static/ingot; the
# stripped bin/ingot-static runs too, without names in the profile).
# INSTR_LOG_LEVEL (default warn). The callgrind file is kept and named on
# the output line (callgrind_annotate FILE for where the instructions go).
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:?usage: instr.sh http|work BIN [PATH|N]}
BIN=${2:?usage: instr.sh http|work BIN [PATH|N]}
command -v valgrind >/dev/null || { echo "instr.sh: valgrind missing (sh vendor/install.sh test)" >&2; exit 1; }
OUT=$(mktemp -d /tmp/ingot-instr.XXXXXX)
TMP=$OUT/run
mkdir -p "$TMP"
PID=""; NGINX_PID=""
cleanup() {
    set +e
    [ -n "$PID" ] && kill "$PID" 2>/dev/null
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
    bash deploy/local/servers.sh stop "$TMP/servers" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
. test/bench/lib.sh # free_port, wait_http

bash deploy/local/servers.sh start "$TMP/servers" >/dev/null 2>&1
. "$TMP/servers/env"
export DATABASE_URL REDIS_URL
export API_KEY_HASH_SECRET=bench-hash-secret-0123456789abcdef01 SIGNING_KEY=bench-signing-key-0123456789abcdef01
bin/ingot migrate --env-file /dev/null >/dev/null
M=(mariadb --no-defaults --socket="$MARIADB_SOCKET" -uroot)
CG=$OUT/callgrind.out
# start ARGS...: BIN under callgrind, counting nothing until switched on.
start() {
    valgrind --tool=callgrind --callgrind-out-file="$CG" --instr-atstart=no "$BIN" "$@" \
        --env-file /dev/null --host 127.0.0.1 --port "$PORT" --log-level "${INSTR_LOG_LEVEL:-warn}" 2>"$OUT/valgrind.log" &
    PID=$!
    for _ in $(seq 1 600); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/health/ready" && return 0; sleep 0.1; done
    echo "instr.sh: $BIN did not get ready (see $OUT/valgrind.log)" >&2; exit 1
}
# stop: switch counting off, dump, stop BIN; prints the instructions counted.
stop() {
    callgrind_control -i off "$PID" >/dev/null
    callgrind_control -d "$PID" >/dev/null
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    awk '/^totals:/ {print $2}' "$CG.1"
}
PORT=$(free_port)
case $MODE in
http)
    P=${3:-/health/live}
    start serve
    wrk -t1 -c4 -d2s "http://127.0.0.1:$PORT$P" >/dev/null # warm: connections, caches
    callgrind_control -i on "$PID" >/dev/null
    n=$(wrk -t1 -c4 -d6s "http://127.0.0.1:$PORT$P" | awk '/requests in/ {print $1}')
    ir=$(stop)
    echo "{\"bench\":\"instructions\",\"what\":\"GET $P\",\"binary\":\"$BIN\",\"requests\":$n,\"ir\":$ir,\"ir_per_request\":$(awk -v a="$ir" -v b="$n" 'BEGIN { printf "%.0f", a / b }'),\"callgrind\":\"$CG.1\"}"
    ;;
work)
    N=${3:-3000}
    SPORT=$(free_port)
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
        listen 127.0.0.1:$SPORT;
        location / { default_type application/json; return 200 '{"status":"OK"}'; }
    }
}
NGX
    nginx -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
    NGINX_PID=$!
    wait_http "http://127.0.0.1:$SPORT/"
    bin/ingot admin tenant create instr --env-file /dev/null >/dev/null
    tid=$("${M[@]}" -N -e "SELECT id FROM ingot.tenants WHERE name = 'instr'")
    start work --queue-worker-concurrency 1000 --http-target-allow 127.0.0.0/8 \
        --database-max-connections 16 --queue-limiter-max 100000000
    callgrind_control -i on "$PID" >/dev/null
    "${M[@]}" ingot -e "INSERT INTO jobs (tenant_id, queue, kind, run_at, max_attempts, backoff_base_ms, backoff_max_ms, timeout_ms, payload) SELECT $tid, 'instr', 'http', NOW(6) - INTERVAL 1 SECOND, 5, 1000, 3600000, 30000, '{\"url\":\"http://127.0.0.1:$SPORT/ok\"}' FROM seq_1_to_$N"
    for _ in $(seq 1 6000); do
        left=$("${M[@]}" -N -e "SELECT COUNT(*) FROM (SELECT 1 FROM ingot.jobs WHERE state IN (0, 1) LIMIT 1) q")
        [ "$left" = 0 ] && break
        sleep 0.1
    done
    ir=$(stop)
    ok=$("${M[@]}" -N -e "SELECT COUNT(*) FROM ingot.jobs WHERE state = 2")
    echo "{\"bench\":\"instructions\",\"what\":\"http job to nginx\",\"binary\":\"$BIN\",\"jobs\":$N,\"succeeded\":$ok,\"ir\":$ir,\"ir_per_job\":$(awk -v a="$ir" -v b="$ok" 'BEGIN { printf "%.0f", b ? a / b : 0 }'),\"callgrind\":\"$CG.1\"}"
    ;;
*)
    echo "usage: instr.sh http|work BIN [PATH|N]" >&2; exit 2 ;;
esac
