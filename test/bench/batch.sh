# shellcheck shell=bash
# make bench, Batch API part (sourced by bench.sh once the servers are up;
# `bash test/bench/bench.sh batch` runs only this part). In one run:
#   batch_http_reference  N HTTP jobs queued beforehand, drained by one
#                         worker at concurrency 1000 into an nginx sink (as
#                         bench.sh's e2e rounds): jobs/s
#   batch                 an N-line chat batch (POST /v1/files, POST
#                         /v1/batches, polled to completed) against fakellm
#                         with zero delay, serve + schedule + one worker at
#                         concurrency 1000: lines/s from the upload's start to
#                         completed, its ratio to the reference (target 0.5),
#                         the peak RSS of serve and of work, every line
#                         checked in the output file.
N=${BENCH_BATCH_LINES:-50000}
MB=(mariadb --no-defaults --socket="$MARIADB_SOCKET" -uroot)
BFAKES=build/release/test/fakes
"$BFAKES/fakellm" 0 --no-record > "$TMP/bfake.out" 2>&1 &
EXTRA_PIDS+=($!)
for _ in $(seq 1 50); do grep -q '^port ' "$TMP/bfake.out" && break; sleep 0.1; done
BFP=$(awk '/^port /{print $2; exit}' "$TMP/bfake.out")
bin/ingot admin tenant create batchbench --env-file /dev/null >/dev/null 2>&1
BKEY=$(bin/ingot admin key create --tenant batchbench --env-file /dev/null 2>/dev/null)
BNPORT=$(free_port)
mkdir -p "$TMP/bnginx"
cat > "$TMP/bnginx/nginx.conf" <<NGX
worker_processes 1;
error_log $TMP/bnginx/error.log;
pid $TMP/bnginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $TMP/bnginx;
    proxy_temp_path $TMP/bnginx;
    fastcgi_temp_path $TMP/bnginx;
    uwsgi_temp_path $TMP/bnginx;
    scgi_temp_path $TMP/bnginx;
    server {
        listen 127.0.0.1:$BNPORT;
        location / { default_type application/json; return 200 '{"status":"OK"}'; }
    }
}
NGX
nginx -c "$TMP/bnginx/nginx.conf" -g 'daemon off;' &
EXTRA_PIDS+=($!)
wait_http "http://127.0.0.1:$BNPORT/"
BSPORT=$(free_port); BCPORT=$(free_port)
export LLM_BASE_URL="http://127.0.0.1:$BFP/openai/v1" LLM_API_KEY=bench-upstream-key
bin/ingot serve --env-file /dev/null --host 127.0.0.1 --port "$BSPORT" --log-level warn 2>"$TMP/bserve.log" &
BSERVE_PID=$!; EXTRA_PIDS+=("$BSERVE_PID")
bin/ingot schedule --env-file /dev/null --host 127.0.0.1 --port "$BCPORT" --log-level warn 2>"$TMP/bsched.log" &
EXTRA_PIDS+=($!)
wait_http "http://127.0.0.1:$BSPORT/health/ready"
BU="http://127.0.0.1:$BSPORT"
bwork() { # bwork PORT: one worker as bench.sh's e2e rounds run it
    bin/ingot work --env-file /dev/null --host 127.0.0.1 --port "$1" --log-level warn \
        --queue-worker-concurrency 1000 --http-target-allow 127.0.0.0/8 --database-max-connections 16 \
        --queue-limiter-max 100000000 2>"$TMP/bwork.$1.log" &
    BWORK_PID=$!; EXTRA_PIDS+=("$BWORK_PID")
}
rss_of() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
left_jobs() { "${MB[@]}" -N -e "SELECT COUNT(*) FROM (SELECT 1 FROM ingot.jobs WHERE state IN (0, 1) LIMIT 1) q"; }

# The reference: N HTTP jobs end to end.
"${MB[@]}" -e "TRUNCATE ingot.jobs; TRUNCATE ingot.job_attempts"
bitem="{\"kind\":\"http\",\"queue\":\"e2e\",\"payload\":{\"url\":\"http://127.0.0.1:$BNPORT/ok\"}}"
bbody="["; for _ in $(seq 1 100); do bbody="$bbody$bitem,"; done; bbody="${bbody%,}]"
printf '%s' "$bbody" > "$TMP/bbatch.json"
seq 1 $((N / 100)) | xargs -P 8 -I{} curl -s -o /dev/null -X POST -H "Authorization: Bearer $BKEY" \
    --data-binary @"$TMP/bbatch.json" "$BU/v1/jobs/batch"
[ "$(type -t quiet)" = function ] && quiet
t0=$(date +%s%N)
bwork "$(free_port)"
while [ "$(left_jobs)" != 0 ]; do
    [ $(( ($(date +%s%N) - t0) / 1000000000 )) -gt 600 ] && break
    sleep 0.05
done
t1=$(date +%s%N)
kill "$BWORK_PID"; wait "$BWORK_PID" 2>/dev/null
hok=$("${MB[@]}" -N -e "SELECT COUNT(*) FROM ingot.jobs WHERE state = 2 AND queue = 'e2e'")
hsecs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
hjps=$(awk -v n="$hok" -v s="$hsecs" 'BEGIN { printf "%.0f", n / s }')
echo "{\"bench\":\"batch_http_reference\",\"what\":\"$N HTTP jobs queued beforehand, one worker (concurrency 1000) to completed\",\"jobs\":$N,\"succeeded\":$hok,\"seconds\":$hsecs,\"jobs_per_s\":$hjps}"

# The batch: upload, create, poll to completed.
"${MB[@]}" -e "TRUNCATE ingot.jobs; TRUNCATE ingot.job_attempts"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "{\"custom_id\":\"r-%d\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"fake-ok\",\"messages\":[{\"role\":\"user\",\"content\":\"hello %d\"}]}}\n", i, i }' > "$TMP/batch.jsonl"
[ "$(type -t quiet)" = function ] && quiet
bwork "$(free_port)"
wait_http "$BU/health/ready"
srss=0; wrss=0; status=""
t0=$(date +%s%N)
fid=$(curl -s -H "Authorization: Bearer $BKEY" -F purpose=batch -F "file=@$TMP/batch.jsonl" "$BU/v1/files" | jq -r .id)
t_up=$(date +%s%N)
bid=$(curl -s -H "Authorization: Bearer $BKEY" -H 'Content-Type: application/json' \
    -d "{\"input_file_id\":\"$fid\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}" "$BU/v1/batches" | jq -r .id)
t_cr=$(date +%s%N)
while :; do
    b=$(curl -s -H "Authorization: Bearer $BKEY" "$BU/v1/batches/$bid")
    status=$(jq -r .status <<<"$b")
    r=$(rss_of "$BSERVE_PID"); [ "${r:-0}" -gt "$srss" ] && srss=$r
    r=$(rss_of "$BWORK_PID"); [ "${r:-0}" -gt "$wrss" ] && wrss=$r
    case $status in completed|failed|expired|cancelled) break ;; esac
    [ $(( ($(date +%s%N) - t0) / 1000000000 )) -gt 900 ] && break
    sleep 0.1
done
t1=$(date +%s%N)
ofid=$(jq -r .output_file_id <<<"$b")
olines=$(curl -s -H "Authorization: Bearer $BKEY" "$BU/v1/files/$ofid/content" | jq -c 'select(.response.status_code == 200) | .custom_id' | sort -u | wc -l)
bsecs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
blps=$(awk -v n="$N" -v s="$bsecs" 'BEGIN { printf "%.0f", n / s }')
bratio=$(awk -v a="$blps" -v b="$hjps" 'BEGIN { printf "%.3f", b ? a / b : 0 }')
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) / 1e6 }'; }
echo "{\"bench\":\"batch\",\"what\":\"$N-line chat batch against fakellm (zero delay), upload to completed\",\"lines\":$N,\"status\":\"$status\",\"output_lines_ok\":$olines,\"seconds\":$bsecs,\"upload_ms\":$(ms "$t0" "$t_up"),\"create_ms\":$(ms "$t_up" "$t_cr"),\"lines_per_s\":$blps,\"http_jobs_per_s\":$hjps,\"ratio_to_http_jobs\":$bratio,\"target_ratio\":0.5,\"serve_max_rss_kb\":$srss,\"work_max_rss_kb\":$wrss,\"request_counts\":$(jq -c .request_counts <<<"$b")}"
kill "$BWORK_PID" "$BSERVE_PID" 2>/dev/null
unset LLM_BASE_URL LLM_API_KEY
