#!/usr/bin/env bash
# make bench: prints one JSON object a line. Every figure sits next to a
# reference measured in the same run on this machine (nginx answering a
# constant with one worker, like ingot's one event loop), because absolute
# numbers on a shared 2-core machine are noise.
#   BENCH_SECONDS (default 10) per wrk run; BENCH_CONNECTIONS (default 100);
#   BENCH_E2E_JOBS (default 100000) per end-to-end round, BENCH_E2E_ROUNDS
#   (default 3) rounds of each binary.
# bin/ingot-static is measured next to bin/ingot (test/bench/static.sh, and
# the alternated exec-to-ready and end-to-end rounds below);
# `bench.sh static` runs only those parts.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-100}
TMP=$(mktemp -d /tmp/ingot-bench.XXXXXX)
NGINX_PID=""; INGOT_PID=""; EXTRA_PIDS=()
cleanup() {
    set +e # every step runs, whatever failed before
    for p in "${EXTRA_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    if [ -n "$INGOT_PID" ]; then kill "$INGOT_PID" 2>/dev/null; fi
    if [ -n "$NGINX_PID" ]; then kill "$NGINX_PID" 2>/dev/null; fi
    bash deploy/local/servers.sh stop "$TMP/servers" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

. test/bench/lib.sh # free_port, wait_http

bash deploy/local/servers.sh start "$TMP/servers" 2>/dev/null
. "$TMP/servers/env"
export DATABASE_URL REDIS_URL
export API_KEY_HASH_SECRET=bench-hash-secret-0123456789abcdef01 SIGNING_KEY=bench-signing-key-0123456789abcdef01
bin/ingot migrate --env-file /dev/null >/dev/null

# `bench.sh llm`: only the LLM gateway figures (test/bench/llm.sh).
if [ "${1:-}" = llm ]; then
    . test/bench/llm.sh
    exit 0
fi
# `bench.sh batch`: only the Batch API figures (test/bench/batch.sh).
if [ "${1:-}" = batch ]; then
    . test/bench/batch.sh
    exit 0
fi

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
ONLY_STATIC=""; [ "${1:-}" = static ] && ONLY_STATIC=1

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
if [ -z "$ONLY_STATIC" ]; then
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
fi

# ---- bin/ingot-static next to bin/ingot: sizes, RSS, /health/live.
. test/bench/static.sh

# ---- Jobs: enqueue throughput next to raw MariaDB inserts of the same rows.
M=(mariadb --no-defaults --socket="$MARIADB_SOCKET" -uroot)
"${M[@]}" -e "DROP DATABASE IF EXISTS ingot_ref; CREATE DATABASE ingot_ref; CREATE TABLE ingot_ref.jobs LIKE ingot.jobs"
ROW="(1,'bench','http',NOW(6),5,1000,3600000,30000,'{\\\"url\\\":\\\"http://127.0.0.1:9/ok\\\",\\\"body\\\":{\\\"n\\\":1}}')"
INS="INSERT INTO jobs (tenant_id, queue, kind, run_at, max_attempts, backoff_base_ms, backoff_max_ms, timeout_ms, payload) VALUES "
slap() { # slap CONCURRENCY QUERIES SQL -> seconds
    mariadb-slap --no-defaults --socket="$MARIADB_SOCKET" -uroot --create-schema=ingot_ref --no-drop \
        --concurrency="$1" --number-of-queries="$2" --query="$3" 2>/dev/null |
        awk '/Average number of seconds/ {print $(NF-1)}'
}
# InnoDB's purge of the rows the previous step changed competes with the
# next measurement for the 2 cores: each enqueue figure and its reference
# start from a quiet server, one right after the other.
quiet() {
    local h
    for _ in $(seq 1 1200); do
        h=$("${M[@]}" -e "SHOW ENGINE INNODB STATUS\G" | awk '/History list length/ {print $4}')
        [ "${h:-0}" -lt 1000 ] && return 0
        sleep 0.1
    done
}
ROWS100=$ROW; for _ in $(seq 2 100); do ROWS100="$ROWS100,$ROW"; done

bin/ingot admin tenant create bench --env-file /dev/null >/dev/null 2>&1
export INGOT_KEY
INGOT_KEY=$(bin/ingot admin key create --tenant bench --env-file /dev/null 2>/dev/null)
IPORT=$(free_port)
bin/ingot serve --env-file /dev/null --host 127.0.0.1 --port "$IPORT" --log-level warn \
    --database-max-connections 32 2>"$TMP/serve2.log" &
INGOT_PID=$!
wait_http "http://127.0.0.1:$IPORT/health/ready"
# End to end first, each round on an emptied table.
# ---- End to end: N HTTP jobs to nginx (the sink), one worker at concurrency
# 1000, bin/ingot and bin/ingot-static in alternated rounds.
E2E=${BENCH_E2E_JOBS:-100000}
E2E_ROUNDS=${BENCH_E2E_ROUNDS:-3}
SPORT=$(free_port)
sed -i "s/listen 127.0.0.1:[0-9]*;/listen 127.0.0.1:$SPORT;/" "$TMP/nginx/nginx.conf"
nginx -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
wait_http "http://127.0.0.1:$SPORT/"
item="{\"kind\":\"http\",\"queue\":\"e2e\",\"payload\":{\"url\":\"http://127.0.0.1:$SPORT/ok\"}}"
body="["; for _ in $(seq 1 100); do body="$body$item,"; done; body="${body%,}]"
printf '%s' "$body" > "$TMP/batch.json"
# CPU time (user + system, clock ticks) of the given processes, all their
# threads included: where each job's cost goes, so the ceiling of the
# machine can be read off the figures (cores / CPU per job).
cpu_ticks() {
    local t=0 p
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$t"
}
MDB_PID=$(cat "$MARIADB_PID")
nginx_pids() { echo "$NGINX_PID" $(pgrep -P "$NGINX_PID"); }
hz=$(getconf CLK_TCK)
declare -A E2E_SUM # BIN.{jps,rss,us}: the rounds' figures; BIN.{work,db,ngx,ok,queued,secs}: totals
# e2e_round BIN ROUND: enqueue E2E jobs through serve, then time BIN work
# from its exec until no job is queued or running.
e2e_round() {
    local bin=$1 round=$2
    "${M[@]}" -e "TRUNCATE ingot.jobs; TRUNCATE ingot.job_attempts"
    seq 1 $((E2E / 100)) | xargs -P 8 -I{} curl -s -o /dev/null -X POST -H "Authorization: Bearer $INGOT_KEY" \
        --data-binary @"$TMP/batch.json" "http://127.0.0.1:$IPORT/v1/jobs/batch"
    local queued; queued=$("${M[@]}" -N -e "SELECT COUNT(*) FROM ingot.jobs WHERE state = 0")
    quiet
    local wport; wport=$(free_port)
    local c0_db c0_ngx t0 t1 left r max_rss=0
    c0_db=$(cpu_ticks "$MDB_PID"); c0_ngx=$(cpu_ticks $(nginx_pids))
    t0=$(date +%s%N)
    "$bin" work --env-file /dev/null --host 127.0.0.1 --port "$wport" --log-level warn \
        --queue-worker-concurrency 1000 --http-target-allow 127.0.0.0/8 --database-max-connections 16 \
        --queue-limiter-max 100000000 2>"$TMP/work.log" &
    WORK_PID=$!
    EXTRA_PIDS+=("$WORK_PID")
    while :; do
        # An index probe, not a count: the poll must not load the database it measures.
        left=$("${M[@]}" -N -e "SELECT COUNT(*) FROM (SELECT 1 FROM ingot.jobs WHERE state IN (0, 1) LIMIT 1) q")
        r=$(awk '/^VmRSS:/ {print $2}' "/proc/$WORK_PID/status" 2>/dev/null || echo 0)
        [ "${r:-0}" -gt "$max_rss" ] && max_rss=$r
        [ "$left" = 0 ] && break
        [ $(( ($(date +%s%N) - t0) / 1000000000 )) -gt 600 ] && break
        sleep 0.05
    done
    t1=$(date +%s%N)
    local c_work c_db c_ngx ok_n secs jps
    c_work=$(cpu_ticks "$WORK_PID"); c_db=$(( $(cpu_ticks "$MDB_PID") - c0_db )); c_ngx=$(( $(cpu_ticks $(nginx_pids)) - c0_ngx ))
    kill "$WORK_PID"; wait "$WORK_PID" 2>/dev/null
    ok_n=$("${M[@]}" -N -e "SELECT COUNT(*) FROM ingot.jobs WHERE state = 2")
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    jps=$(awk -v n="$ok_n" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
    local us; us=$(awk -v t="$c_work" -v hz="$hz" -v n="$ok_n" 'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }')
    echo "{\"bench\":\"e2e_round\",\"round\":$round,\"binary\":\"$bin\",\"jobs\":$queued,\"succeeded\":$ok_n,\"seconds\":$secs,\"jobs_per_s\":$jps,\"worker_us_per_job\":$us,\"worker_max_rss_kb\":$max_rss}"
    E2E_SUM[$bin.jps]+="$jps "; E2E_SUM[$bin.rss]+="$max_rss "; E2E_SUM[$bin.us]+="$us "
    local k v
    for k in work db ngx ok queued secs; do
        case $k in work) v=$c_work ;; db) v=$c_db ;; ngx) v=$c_ngx ;; ok) v=$ok_n ;; queued) v=$queued ;; secs) v=$secs ;; esac
        E2E_SUM[$bin.$k]=$(awk -v a="${E2E_SUM[$bin.$k]:-0}" -v b="$v" 'BEGIN { print a + b }')
    done
}
for round in $(seq 1 "$E2E_ROUNDS"); do
    for b in $(order "$round"); do e2e_round "$b" "$round"; done
done
# shellcheck disable=SC2086 # the rounds' figures, split on purpose
e2e_med() { printf '%s\n' ${E2E_SUM[$1]} | median; }
# shellcheck disable=SC2086
e2e_max() { printf '%s\n' ${E2E_SUM[$1]} | sort -n | tail -1; }
D=$DYN_BIN
us_job() { awk -v t="$1" -v hz="$hz" -v n="${E2E_SUM[$D.ok]}" 'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }'; }
u_work=$(us_job "${E2E_SUM[$D.work]}"); u_db=$(us_job "${E2E_SUM[$D.db]}"); u_ngx=$(us_job "${E2E_SUM[$D.ngx]}")
ceiling=$(awk -v a="$u_work" -v b="$u_db" -v c="$u_ngx" -v n="$(nproc)" 'BEGIN { s = a + b + c; printf "%.0f", s ? n * 1e6 / s : 0 }')
if [ -z "$ONLY_STATIC" ]; then
    # bin/ingot's figures as before: CPU over all its rounds, the median jobs/s
    echo "{\"bench\":\"e2e_cpu_per_job\",\"worker_us\":$u_work,\"mariadbd_us\":$u_db,\"nginx_us\":$u_ngx,\"cores\":$(nproc),\"cpu_bound_jobs_per_s\":$ceiling}"
    echo "{\"bench\":\"e2e_http_jobs\",\"jobs\":$(( ${E2E_SUM[$D.queued]} / E2E_ROUNDS )),\"succeeded\":$(( ${E2E_SUM[$D.ok]} / E2E_ROUNDS )),\"seconds\":$(awk -v s="${E2E_SUM[$D.secs]}" -v n="$E2E_ROUNDS" 'BEGIN { printf "%.2f", s / n }'),\"jobs_per_s\":$(e2e_med "$D.jps"),\"worker_max_rss_kb\":$(e2e_max "$D.rss"),\"concurrency\":1000,\"rounds\":$E2E_ROUNDS,\"target_jobs_per_s\":20000,\"target_rss_kb\":49152}"
fi
svd_rounds e2e_http_jobs_per_s "${E2E_SUM[$STATIC_BIN.jps]}" "${E2E_SUM[$D.jps]}" higher 0.95 "\"rounds\":$E2E_ROUNDS,\"jobs\":$E2E"
svd_rounds e2e_worker_us_per_job "${E2E_SUM[$STATIC_BIN.us]}" "${E2E_SUM[$D.us]}" lower 0.95 "\"rounds\":$E2E_ROUNDS"
svd_rounds e2e_worker_max_rss_kb "${E2E_SUM[$STATIC_BIN.rss]}" "${E2E_SUM[$D.rss]}" lower 0.95 "\"rounds\":$E2E_ROUNDS"
kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true; NGINX_PID=""
if [ -z "$ONLY_STATIC" ]; then
quiet
s1=$(slap 50 20000 "$INS$ROW")
ref_single=$(awk -v s="$s1" 'BEGIN { printf "%.0f", 20000 / s }')
echo "{\"bench\":\"mariadb_reference\",\"what\":\"single-row INSERT into jobs, 50 clients\",\"rows_per_s\":$ref_single}"
quiet
wrk -t2 -c64 -d"${SECS}s" --latency -s test/bench/post_job.lua "http://127.0.0.1:$IPORT" > "$TMP/wrk.out" 2>&1
rps=$(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.out")
p50=$(to_ms "$(awk '$1=="50%" {print $2}' "$TMP/wrk.out")"); p99=$(to_ms "$(awk '$1=="99%" {print $2}' "$TMP/wrk.out")")
bad=$(grep -c unexpected "$TMP/wrk.out" || true)
ratio=$(awk -v a="$rps" -v b="$ref_single" 'BEGIN { printf "%.3f", a / b }')
echo "{\"bench\":\"enqueue\",\"what\":\"POST /v1/jobs, 64 connections\",\"jobs_per_s\":$rps,\"p50_ms\":$p50,\"p99_ms\":$p99,\"non_202\":$bad,\"ratio_to_reference\":$ratio,\"target_ratio\":0.8}"
quiet
s100=$(slap 16 1000 "$INS$ROWS100")
ref_batch=$(awk -v s="$s100" 'BEGIN { printf "%.0f", 100000 / s }')
echo "{\"bench\":\"mariadb_reference\",\"what\":\"100-row INSERT into jobs, 16 clients\",\"rows_per_s\":$ref_batch}"
quiet
BENCH_BATCH=100 wrk -t2 -c8 -d"${SECS}s" --latency -s test/bench/post_job.lua "http://127.0.0.1:$IPORT" > "$TMP/wrk.out" 2>&1
rps=$(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.out")
jps=$(awk -v r="$rps" 'BEGIN { printf "%.0f", r * 100 }')
ratio=$(awk -v a="$jps" -v b="$ref_batch" 'BEGIN { printf "%.3f", a / b }')
echo "{\"bench\":\"enqueue_batch\",\"what\":\"POST /v1/jobs/batch of 100, 8 connections\",\"jobs_per_s\":$jps,\"ratio_to_reference\":$ratio,\"target_ratio\":0.5}"
fi
kill "$INGOT_PID"; wait "$INGOT_PID" 2>/dev/null || true; INGOT_PID=""

if [ -z "$ONLY_STATIC" ]; then
# ---- Claim latency with 10k vs 1M jobs queued: the worker's claim (lock
# 100 due jobs with SKIP LOCKED, lease them, read them), 50 times in one
# session, rolled back each time so every round sees the same queue.
claim_round=$(grep -v '^--' test/bench/claim_round.sql | tr '\n' ' ')
claim_ms() { # median-free: mean of 50 rounds, in ms
    local sql="" i
    for i in $(seq 1 50); do sql="$sql$claim_round"; done
    local t0 t1; t0=$(date +%s%N)
    "${M[@]}" ingot_ref -e "$sql" >/dev/null
    t1=$(date +%s%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 / 50 }'
}
fill() { # fill N: exactly N queued jobs in ingot_ref.jobs
    "${M[@]}" ingot_ref -e "TRUNCATE jobs; INSERT INTO jobs (tenant_id, queue, kind, run_at, max_attempts, backoff_base_ms, backoff_max_ms, timeout_ms, payload) SELECT 1, 'bench', 'http', NOW(6) - INTERVAL 1 SECOND, 5, 1000, 3600000, 30000, '{\"url\":\"http://127.0.0.1:9/ok\"}' FROM seq_1_to_$1"
}
fill 10000; c10k=$(claim_ms)
fill 1000000; c1m=$(claim_ms)
echo "{\"bench\":\"claim_latency\",\"what\":\"claim of 100 (lock, lease, read)\",\"ms_10k_queued\":$c10k,\"ms_1m_queued\":$c1m,\"ratio\":$(awk -v a="$c1m" -v b="$c10k" 'BEGIN { printf "%.2f", a / b }'),\"target\":\"flat\"}"
"${M[@]}" -e "DROP DATABASE ingot_ref"
fi

# exec -> /health/ready answering 200, database up: 7 runs of each binary,
# alternated; median (and max) of each.
declare -A READY
for round in 1 2 3 4 5 6 7; do
    for b in $(order "$round"); do
        p=$(free_port)
        READY[$b]+="$(build/release/test/fakes/readytime "$p" /health/ready -- "$b" serve --env-file /dev/null --host 127.0.0.1 --port "$p" --log-level warn 2>/dev/null) "
    done
done
# shellcheck disable=SC2086 # the runs' figures, split on purpose
r_med() { printf '%s\n' ${READY[$1]} | median; }
# shellcheck disable=SC2086
r_max() { printf '%s\n' ${READY[$1]} | sort -n | tail -1; }
[ -n "$ONLY_STATIC" ] ||
    echo "{\"bench\":\"startup\",\"role\":\"serve\",\"exec_to_ready_ms_median\":$(r_med "$DYN_BIN"),\"exec_to_ready_ms_max\":$(r_max "$DYN_BIN"),\"runs\":7,\"target_ms\":100}"
svd_rounds exec_to_ready_ms "${READY[$STATIC_BIN]}" "${READY[$DYN_BIN]}" lower 0.95 "\"runs\":7,\"static_max_ms\":$(r_max "$STATIC_BIN"),\"dynamic_max_ms\":$(r_max "$DYN_BIN")"

# ---- LLM gateway: ingot in front of the C fake provider vs the fake alone.
[ -n "$ONLY_STATIC" ] || . test/bench/llm.sh

# ---- Batch API: a 50,000-line batch next to HTTP jobs end to end.
[ -n "$ONLY_STATIC" ] || . test/bench/batch.sh
