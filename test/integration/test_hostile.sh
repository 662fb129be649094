# A hostile client against the HTTP server: trickled heads and bodies cut
# off by their deadlines, descriptor exhaustion, the connection cap,
# conflicting framing, a reset while a reply is written, error shapes, and
# bytes that are not UTF-8 in the request line. Loopback only. Uses prlimit
# (util-linux), ss (iproute2) and python3 (vendor/packages.txt, test role).
. "$(dirname "$0")/lib.sh"
url=$(migrated_db hostile) || { bad "migrate"; finish; }
export DATABASE_URL=$url
HOS="$INGOT_FAKES/hostile"
raw() { "$HOS" raw "$1" "${2:-2000}"; } # request bytes on stdin
status_line() { head -1 | tr -d '\r'; }
body_of() { sed -n '/^\r$/,$p' | sed '1d' | sed '/^--\(closed\|open\)$/d' | tr -d '\n'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
json_err() { # jq -e says yes to empty input: require a body
    local b; b=$(printf '%s' "$1" | body_of)
    [ -n "$b" ] && printf '%s' "$b" | jq -e '.error.type and .error.message' >/dev/null
}
no_byte_ff() { ! printf '%s' "$1" | LC_ALL=C grep -q $'\xff'; }

start_ingot A serve --http-header-timeout 1s --http-body-timeout 1s --http-max-body 4kb \
    --trusted-proxies 127.0.0.0/8 --shutdown-grace 10s
P=$A_PORT

# --- Deadlines: a trickle does not extend them.
out=$("$HOS" trickle "$P" 1 100 5000)
contains "trickled head answered 408" "$out" "s408 1 "
ms=$(echo "$out" | sed 's/.*first_close_ms //')
check "trickled head cut at the 1 s deadline (${ms} ms)" test "$ms" -ge 900 -a "$ms" -lt 2500
out=$("$HOS" trickle "$P" 1 100 5000 body)
contains "trickled body answered 408" "$out" "s408 1 "
ms=$(echo "$out" | sed 's/.*first_close_ms //')
check "trickled body cut at the 1 s deadline (${ms} ms)" test "$ms" -ge 900 -a "$ms" -lt 2500
r=$(printf 'GET /health/live HTTP/1.1\r\nHost: a\r\n\r\n' | raw "$P" 300 | status_line)
eq "a silent new connection is closed without a reply" \
    "$(printf '' | raw "$P" 3000 | tr -d '\n')" "--closed"
eq "still serving" "$r" "HTTP/1.1 200 OK"

# --- Request smuggling: conflicting framing is 400 (or 501) and a close;
# the bytes after it are never read as a second request.
smuggle() { # smuggle "description" STATUS-LINE request...
    local d=$1 want=$2; shift 2
    local resp; resp=$(printf "$@" | raw "$P")
    eq "$d: status" "$(printf '%s' "$resp" | status_line)" "$want"
    contains "$d: closed" "$resp" "--closed"
    eq "$d: one response only" "$(printf '%s' "$resp" | grep -o 'HTTP/1.1 [0-9]' | wc -l)" 1
    check "$d: JSON error body" json_err "$resp"
}
NEXT='GET /health/live HTTP/1.1\r\nHost: a\r\n\r\n'
smuggle "two Content-Length" "HTTP/1.1 400 Bad Request" \
    "POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\nhello$NEXT"
smuggle "Content-Length list" "HTTP/1.1 400 Bad Request" \
    "POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 40\r\n\r\nhello$NEXT"
smuggle "TE and CL" "HTTP/1.1 400 Bad Request" \
    "POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$NEXT"
smuggle "gzip, chunked" "HTTP/1.1 501 Not Implemented" \
    "POST /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n$NEXT"
smuggle "chunked, gzip" "HTTP/1.1 400 Bad Request" \
    "POST /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n$NEXT"
smuggle "obs-fold" "HTTP/1.1 400 Bad Request" \
    "POST /health HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n Content-Length: 5\r\n\r\nhello$NEXT"
smuggle "space before colon" "HTTP/1.1 400 Bad Request" \
    "POST /health HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello$NEXT"
smuggle "bare LF" "HTTP/1.1 400 Bad Request" "GET /health/live HTTP/1.1\nHost: a\n\n$NEXT"
smuggle "bad chunk size is 400, not 413" "HTTP/1.1 400 Bad Request" \
    "POST /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n$NEXT"
smuggle "body over HTTP_MAX_BODY" "HTTP/1.1 413 Content Too Large" \
    "POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 9000\r\n\r\n$NEXT"
smuggle "chunked body over HTTP_MAX_BODY" "HTTP/1.1 413 Content Too Large" \
    "POST /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n$NEXT"

# --- What well-behaved clients do still works.
resp=$(printf "$NEXT$NEXT" | raw "$P" 500)
eq "pipelined: two answers" "$(printf '%s' "$resp" | grep -o 'HTTP/1.1 200 OK' | wc -l)" 2
resp=$(printf 'GET /health/live HTTP/1.0\r\n\r\n' | raw "$P")
contains "HTTP/1.0: answered then closed" "$resp" "--closed"
resp=$(printf 'HEAD /health/live HTTP/1.1\r\nHost: a\r\n\r\n' | raw "$P" 500)
contains "HEAD: Content-Length of the GET body" "$resp" "Content-Length: 17"
eq "HEAD: no body" "$(printf '%s' "$resp" | body_of)" ""
head -c 2048 /dev/zero | tr '\0' 'x' > two.kb
t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H 'Expect: 100-continue' \
    --data-binary @two.kb "http://127.0.0.1:$P/v1/jobs")
eq "Expect: 100-continue: body read and answered" "${t% *}" 401
check "Expect: 100-continue answered without curl's 1 s wait (${t#* } s)" \
    awk -v t="${t#* }" 'BEGIN { exit !(t < 0.9) }'
eq "chunked request body" "$(http_code "http://127.0.0.1:$P/v1/jobs" -H 'Transfer-Encoding: chunked' --data-binary @two.kb)" 401

# --- Every error is JSON with its standard reason phrase.
shape() { # shape STATUS-LINE curl-args...: the reply's first line and JSON body
    local want=$1; shift
    local h; h=$(curl -s -D hdr.txt -o body.json --max-time 5 "$@")
    eq "$want: status line" "$(head -1 hdr.txt | tr -d '\r')" "$want"
    check "$want: JSON error" sh -c "test -s body.json && jq -e '.error.message and .error.type and (.error | has(\"param\") and has(\"code\"))' body.json" 
}
shape "HTTP/1.1 404 Not Found" "http://127.0.0.1:$P/nope"
shape "HTTP/1.1 405 Method Not Allowed" -X DELETE "http://127.0.0.1:$P/health"
contains "405 has Allow" "$(cat hdr.txt)" "Allow: GET, HEAD"
shape "HTTP/1.1 413 Content Too Large" --data-binary @<(head -c 9000 /dev/zero | tr '\0' x) -H 'Expect:' "http://127.0.0.1:$P/v1/jobs"
shape "HTTP/1.1 414 URI Too Long" "http://127.0.0.1:$P/$(head -c 9000 /dev/zero | tr '\0' a)"
shape "HTTP/1.1 431 Request Header Fields Too Large" -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' a)" "http://127.0.0.1:$P/"
shape "HTTP/1.1 501 Not Implemented" -X BREW "http://127.0.0.1:$P/"
shape "HTTP/1.1 400 Bad Request" "http://127.0.0.1:$P/v1/jobs/job_1%00"
eq "NUL in a path parameter names it" "$(jq -r .error.param body.json)" id
shape "HTTP/1.1 400 Bad Request" "http://127.0.0.1:$P/v1/jobs?queue=%ff"
eq "bad UTF-8 in a query value names it" "$(jq -r .error.param body.json)" queue
resp=$(printf 'GET /health/live HTTP/1.1\r\nHost: a\r\nX: 1' | raw "$P" 3000)
eq "408: status line" "$(printf '%s' "$resp" | status_line)" "HTTP/1.1 408 Request Timeout"
check "408: JSON error" json_err "$resp"

# --- Bytes that are not UTF-8 in the request line: 404 without echoing
# them, and the access log stays JSON.
resp=$(printf 'GET /caf\xff\xfe?x=\xc3 HTTP/1.1\r\nHost: a\r\n\r\n' | raw "$P" 500)
eq "non-UTF-8 path: 404" "$(printf '%s' "$resp" | status_line)" "HTTP/1.1 404 Not Found"
check "404 body does not echo the raw bytes" no_byte_ff "$resp"

# --- TRUSTED_PROXIES: the client is the rightmost untrusted X-Forwarded-For hop.
curl -s -o /dev/null -H 'X-Forwarded-For: 198.51.100.7, 203.0.113.9, 127.0.0.5' "http://127.0.0.1:$P/xff-check"
wait_until 30 grep -q 'xff-check' "$A_LOG"
eq "client from X-Forwarded-For behind a trusted proxy" \
    "$(grep 'xff-check' "$A_LOG" | tail -1 | jq -r .client)" 203.0.113.9
check "every log line is valid JSON (strict UTF-8)" python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1], "rb"), 1):
    json.loads(line.decode("utf-8"))
' "$A_LOG"

# --- A reset while a reply is written does not hold the drain.
rm -f go
"$HOS" resetwrite "$P" /metrics 3000 go > rw.out &
rwpid=$!
check "a big reply is stuck writing" wait_until 100 sh -c \
    "curl -s http://127.0.0.1:$P/metrics | grep -q 'ingot_http_connections{state=\"writing\"} 1'"
touch go
wait "$rwpid"
check "the reset connection is no longer writing" wait_until 50 sh -c \
    "curl -s http://127.0.0.1:$P/metrics | grep -q 'ingot_http_connections{state=\"writing\"} 0'"
t0=$(date +%s%N)
stop_ingot "$A_PID" "$A_LOG"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
eq "drained exit 0" "$rc" 0
check "SIGTERM after a reset mid-reply exits in under 1 s (${ms} ms; grace 10 s)" test "$ms" -lt 1000

# --- X-Forwarded-For is ignored without TRUSTED_PROXIES.
start_ingot B serve --http-max-connections 3 --http-header-timeout 5s
curl -s -o /dev/null -H 'X-Forwarded-For: 203.0.113.9' "http://127.0.0.1:$B_PORT/xff-check"
wait_until 30 grep -q 'xff-check' "$B_LOG"
eq "X-Forwarded-For ignored from an untrusted peer" \
    "$(grep 'xff-check' "$B_LOG" | tail -1 | jq -r .client)" 127.0.0.1

# --- A JSON body is one value: trailing garbage or a second object is 400.
"$INGOT_BIN" admin tenant create acme --env-file /dev/null >/dev/null 2>&1
K=$("$INGOT_BIN" admin key create --tenant acme --env-file /dev/null 2>/dev/null)
for b in '{"kind":"http"} x' '{"kind":"http"}{"kind":"http"}' '{"kind":"http"}]'; do
    code=$(curl -s -o body.json -w '%{http_code}' -H "Authorization: Bearer $K" \
        --data-binary "$b" "http://127.0.0.1:$B_PORT/v1/jobs")
    eq "body '$b': 400 invalid_json" "$code $(jq -r .error.code body.json)" "400 invalid_json"
done
code=$(curl -s -o body.json -w '%{http_code}' -H "Authorization: Bearer $K" \
    --data-binary $'{"kind":"nope"} \r\n\t' "http://127.0.0.1:$B_PORT/v1/jobs")
check "trailing whitespace is fine (got $code $(jq -r .error.code body.json))" \
    test "$(jq -r .error.code body.json)" != invalid_json

# 422 goes out as "Unprocessable Content" (it was "Client Error").
J='{"kind":"http","payload":{"url":"http://127.0.0.1:9/"},"delay_ms":600000}'
curl -s -o /dev/null -H "Authorization: Bearer $K" -H 'Idempotency-Key: k422' \
    --data-binary "[$J]" "http://127.0.0.1:$B_PORT/v1/jobs/batch"
curl -s -D hdr.txt -o body.json -H "Authorization: Bearer $K" -H 'Idempotency-Key: k422' \
    --data-binary "[$J,$J]" "http://127.0.0.1:$B_PORT/v1/jobs/batch"
eq "422: standard reason phrase" "$(head -1 hdr.txt | tr -d '\r')" "HTTP/1.1 422 Unprocessable Content"
eq "422: JSON error" "$(jq -r .error.type body.json)" invalid_request_error

# --- HTTP_MAX_CONNECTIONS: beyond it, 503 JSON with Retry-After.
# (the server has closed every earlier connection: none established or
# waiting for the server's close on its side)
no_conns_left() { [ "$(ss -Htn state established state close-wait "( sport = :$B_PORT )" | wc -l)" = 0 ]; }
check "earlier connections closed" wait_until 50 no_conns_left
"$HOS" trickle "$B_PORT" 3 200 3000 > held.out &
heldpid=$!
# The probe below must not connect before the three held ones are in the
# listen queue (the server accepts in arrival order): else it may take a
# slot and one held connection gets the 503.
held_in() { [ "$(ss -Htn state established "( sport = :$B_PORT )" | wc -l)" -ge 3 ]; }
check "three held connections established" wait_until 50 held_in
check "a fourth connection is refused with 503" wait_until 30 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$B_PORT/health/live)\" = 503"
curl -s -D hdr.txt -o body.json "http://127.0.0.1:$B_PORT/health/live"
eq "503: status line" "$(head -1 hdr.txt | tr -d '\r')" "HTTP/1.1 503 Service Unavailable"
contains "503: Retry-After" "$(cat hdr.txt)" "Retry-After: 1"
eq "503: JSON" "$(jq -r .error.code body.json)" too_many_connections
wait "$heldpid"
eq "the held connections were never refused" "$(sed 's/ first_close.*//' held.out)" \
    "connected 3 failed 0 s408 0 s503 0 other 0 silent 0 open 3"
eq "served again once they left" "$(http_code "http://127.0.0.1:$B_PORT/health/live")" 200
contains "refusals counted" "$(curl -s "http://127.0.0.1:$B_PORT/metrics")" "ingot_http_connections_refused_total "
stop_ingot "$B_PID" "$B_LOG"

# --- A client that leaves a long-poll frees its connection slot at once:
# with one connection allowed, the next client is served, not refused.
start_ingot D serve --http-max-connections 1
id=$(curl -s -H "Authorization: Bearer $K" --data-binary "$J" "http://127.0.0.1:$D_PORT/v1/jobs" | jq -r .id)
check "a delayed job to wait on ($id)" test -n "$id" -a "$id" != null
printf 'GET /v1/jobs/%s?wait=30 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n\r\n' "$id" "$K" \
    | raw "$D_PORT" 700 > lp.out # sends, holds 0.7 s unanswered, leaves
eq "the long-poll was still waiting when its client left" "$(tr -d '\n' < lp.out)" "--open"
t0=$(date +%s%N)
wait_until 20 sh -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$D_PORT/health/live)\" = 200"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "the next client is served within a second of the long-poll's client leaving (${ms} ms)" test "$ms" -lt 1000
check "the gone long-poll is logged as 499" wait_until 30 grep -q '"status":499' "$D_LOG"
t0=$(date +%s%N)
stop_ingot "$D_PID" "$D_LOG"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
eq "drained exit 0" "$rc" 0
check "SIGTERM after a gone long-poll exits at once (${ms} ms)" test "$ms" -lt 1000

# --- Descriptor exhaustion: 400 trickling connections against 256
# descriptors. The server pauses accepting instead of spinning, its log
# stays bounded, and a normal client is served afterwards.
start_ingot C serve --http-header-timeout 1s
prlimit --pid "$C_PID" --nofile=256:256
c0=$(cpu_ticks "$C_PID")
out=$("$HOS" trickle "$C_PORT" 400 100 4000)
c1=$(cpu_ticks "$C_PID")
contains "every trickler was connected" "$out" "connected 400 failed 0"
check "no busy loop: $((c1 - c0)) CPU ticks in 4 s" test $((c1 - c0)) -lt 150
eq "served after the flood" "$(http_code "http://127.0.0.1:$C_PORT/health/live")" 200
lines=$(grep -vc '"msg":"request"' "$C_LOG")
check "log bounded: $lines lines besides access logs" test "$lines" -lt 60
check "every log line is JSON" jq -e . "$C_LOG" >/dev/null
contains "pauses counted" "$(curl -s "http://127.0.0.1:$C_PORT/metrics")" "ingot_http_accept_paused_total "
contains "pause logged" "$(cat "$C_LOG")" "pausing accepts"
stop_ingot "$C_PID" "$C_LOG"; eq "clean exit" "$?" 0
finish
