# The HTTP server: errors, request ids, metrics and its bearer guard, the
# body limit, slow clients, and the SIGTERM drain.
. "$(dirname "$0")/lib.sh"
url=$(migrated_db http) || { bad "migrate"; finish; }
export DATABASE_URL=$url
TOKEN=metrics-token-0123456789
start_ingot A serve --metrics-bearer-token "$TOKEN" --http-max-body 4kb
U="http://127.0.0.1:$A_PORT"

body=$(http_body "$U/nope")
eq "404 shape" "$(printf '%s' "$body" | jq -r '.error.code + "/" + .error.type')" "not_found/invalid_request_error"
eq "404 status" "$(http_code "$U/nope")" 404
eq "405 status" "$(http_code "$U/health" -X POST)" 405
hdr=$(curl -s -D - -o /dev/null -H 'X-Request-Id: abc-123' "$U/")
contains "request id echoed" "$hdr" "X-Request-Id: abc-123"
hdr=$(curl -s -D - -o /dev/null -H 'X-Request-Id: bad id with spaces' "$U/")
contains "bad request id replaced" "$hdr" "X-Request-Id: req_"

# raw HOST PORT BYTES: the status line of the server's first answer.
raw() { python3 - "$@" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
print(s.makefile("rb").readline().decode().strip())
PY
}
P=$A_PORT
# Absolute-form targets: the authority ends at '/', '?' or '#' (a proxy
# routing by path must see what ingot routes).
eq "absolute-form path" "$(raw "$P" 'GET http://x/health/live HTTP/1.1\r\nHost: x\r\n\r\n')" "HTTP/1.1 200 OK"
eq "'?' ends the authority" "$(raw "$P" 'GET http://evil?x=/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')" "HTTP/1.1 200 OK"
contains "... so the path is / (its body, not /health/live's)" "$(curl -s --request-target 'http://evil?x=/health/live' "$U/")" '{"status":"OK"}'
eq "'#' ends the authority" "$(raw "$P" 'GET http://a#/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')" "HTTP/1.1 200 OK"
# Single-value headers given twice: one party may read the first, another the last.
eq "two Authorization headers: 400" "$(raw "$P" 'GET /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n')" "HTTP/1.1 400 Bad Request"
eq "two Idempotency-Key headers: 400" "$(raw "$P" 'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a1\r\nidempotency-key: a2\r\nContent-Length: 2\r\n\r\n{}')" "HTTP/1.1 400 Bad Request"
eq "two Host headers: 400" "$(raw "$P" 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')" "HTTP/1.1 400 Bad Request"
eq "repeated list headers are fine" "$(raw "$P" 'GET / HTTP/1.1\r\nHost: a\r\nAccept: a\r\nAccept: b\r\nConnection: close\r\n\r\n')" "HTTP/1.1 200 OK"

# Body size limit: 413, and the server keeps serving.
head -c 8192 /dev/zero | tr '\0' 'x' > big.txt
eq "oversized body: 413" "$(http_code "$U/" -X POST --data-binary @big.txt)" 413
eq "still serving" "$(http_code "$U/")" 200

# Metrics: guarded by the bearer token.
eq "metrics without token: 401" "$(http_code "$U/metrics")" 401
eq "metrics wrong token: 401" "$(http_code "$U/metrics" -H 'Authorization: Bearer nope')" 401
m=$(http_body "$U/metrics" -H "Authorization: Bearer $TOKEN")
eq "metrics with token: 200" "$(http_code "$U/metrics" -H "Authorization: Bearer $TOKEN")" 200
contains "requests by route and status" "$m" 'ingot_http_requests_total{route="/",status="200"}'
contains "latency histogram" "$m" 'ingot_http_request_duration_seconds_bucket{route="/",le="0.005"}'
contains "process RSS" "$m" "process_resident_memory_bytes "
contains "process CPU" "$m" "process_cpu_seconds_total "
contains "open fds" "$m" "process_open_fds "
contains "pool in use" "$m" 'ingot_db_pool_connections{state="in_use"}'
contains "build info" "$m" 'ingot_build_info{version="'
contains "404 counted" "$m" 'ingot_http_requests_total{route="unmatched",status="404"} 2'
case "$m" in *"$TOKEN"*) bad "token in metrics" ;; *) ok "token not in metrics" ;; esac

# A slow client (half a request, then silence) does not stall others.
exec 3<>"/dev/tcp/127.0.0.1/$A_PORT"
printf 'GET / HTTP/1.1\r\nHost: slow\r\n' >&3
t0=$(date +%s%N)
for _ in 1 2 3 4 5; do http_code "$U/health/live" >/dev/null; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
eq "others answered while a client stalls" "$(http_code "$U/health/live")" 200
check "five requests in under 1 s beside the slow client (${ms} ms)" test "$ms" -lt 1000
exec 3>&-
stop_ingot "$A_PID" "$A_LOG"; eq "clean exit" "$?" 0

# SIGTERM with a request in flight: the request completes, an idle
# kept-alive connection is closed at once, the process exits 0.
start_fake HANG hang
start_ingot B serve --llm-base-url "http://127.0.0.1:$HANG_PORT/v1"
U="http://127.0.0.1:$B_PORT"
rm -f go
"$INGOT_FAKES/httpseq" "$B_PORT" /health/live /health/ready go > seq.out &
seqpid=$!
wait_until 50 grep -q '^1 200' seq.out
curl -s -o slow.body -w '%{http_code}' "$U/health" > slow.code &   # ~0.9 s: LLM hangs
curlpid=$!
# in flight: the slow /health plus the /metrics request itself
check "slow request in flight" wait_until 50 sh -c "curl -s '$U/metrics' | grep -q '^ingot_http_requests_in_flight 2'"
kill -TERM "$B_PID"
wait_until 50 grep -q 'draining' "$B_LOG"
touch go
wait "$seqpid"
wait "$curlpid"
wait "$B_PID"; rc=$?
eq "drained process exits 0" "$rc" 0
eq "in-flight request answered in full" "$(cat slow.code)" 503
eq "in-flight body complete" "$(jq -r .status slow.body)" down
contains "an idle kept-alive connection is closed at the drain" "$(cat seq.out)" "2 closed"
check "no sanitizer report" sanitizer_clean "$B_LOG"
finish
