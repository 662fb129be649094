# /health semantics (DESIGN §6) against real servers and fake peers:
# database down -> down 503; Redis stopped -> degraded 200; Redis paused ->
# answers within 1 s; Redis unset -> degraded, redis disabled; LLM unset ->
# disabled; LLM configured and unreachable or hanging -> down.
. "$(dirname "$0")/lib.sh"
url=$(migrated_db health) || { bad "migrate"; finish; }
export DATABASE_URL=$url

jfield() { # jfield JSON jq-filter
    printf '%s' "$1" | jq -r "$2"
}

# Everything up, LLM served by the fake provider.
start_fake LLM openai
start_ingot A serve --llm-base-url "http://127.0.0.1:$LLM_PORT/v1" --llm-api-key test-key
body=$(http_body "http://127.0.0.1:$A_PORT/health"); code=$(http_code "http://127.0.0.1:$A_PORT/health")
eq "all up: 200" "$code" 200
eq "all up: status up" "$(jfield "$body" .status)" up
eq "database up" "$(jfield "$body" .checks.database.status)" up
eq "redis up" "$(jfield "$body" .checks.redis.status)" up
eq "llm up" "$(jfield "$body" .checks.llm.status)" up
check "latency reported" test "$(jfield "$body" '.checks.database.latency_ms | type')" = number
eq "version reported" "$(jfield "$body" .version)" "$("$INGOT_BIN" version | awk 'NR==1{print $2}')"
eq "ready 200" "$(http_code "http://127.0.0.1:$A_PORT/health/ready")" 200
eq "live 200" "$(http_code "http://127.0.0.1:$A_PORT/health/live")" 200
eq "root" "$(http_body "http://127.0.0.1:$A_PORT/")" '{"status":"OK"}'

# Redis paused (SIGSTOP): still answers within 1 s, degraded.
kill -STOP "$(cat "$REDIS_PID")"
t0=$(date +%s%N)
body=$(http_body "http://127.0.0.1:$A_PORT/health"); code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$A_PORT/health")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "answers within 1 s with Redis paused (two calls took ${ms} ms)" test "$ms" -lt 2000
eq "Redis paused: 200" "$code" 200
eq "Redis paused: degraded" "$(jfield "$body" .status)" degraded
eq "redis check down" "$(jfield "$body" .checks.redis.status)" down
t0=$(date +%s%N); http_code "http://127.0.0.1:$A_PORT/health" >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "single /health under 1 s with Redis paused (${ms} ms)" test "$ms" -lt 1000
kill -CONT "$(cat "$REDIS_PID")"
check "Redis back: up again" wait_until 150 sh -c "curl -s http://127.0.0.1:$A_PORT/health | grep -q '\"status\":\"up\"'"

# Redis stopped: degraded 200, then up again after restart.
servers stop-redis
body=$(http_body "http://127.0.0.1:$A_PORT/health"); code=$(http_code "http://127.0.0.1:$A_PORT/health")
eq "Redis stopped: 200" "$code" 200
eq "Redis stopped: degraded" "$(jfield "$body" .status)" degraded
eq "Redis stopped: ready still 200" "$(http_code "http://127.0.0.1:$A_PORT/health/ready")" 200
servers start-redis
check "Redis restarted: up again" wait_until 150 sh -c "curl -s http://127.0.0.1:$A_PORT/health | grep -q '\"status\":\"up\"'"

# Database stopped: down 503, not ready; recovers after restart.
servers stop-mariadb
t0=$(date +%s%N)
body=$(http_body "http://127.0.0.1:$A_PORT/health"); code=$(http_code "http://127.0.0.1:$A_PORT/health")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
eq "DB stopped: 503" "$code" 503
eq "DB stopped: down" "$(jfield "$body" .status)" down
eq "database check down" "$(jfield "$body" .checks.database.status)" down
check "DB stopped: answers in time (${ms} ms for two calls)" test "$ms" -lt 2000
eq "DB stopped: not ready 503" "$(http_code "http://127.0.0.1:$A_PORT/health/ready")" 503
eq "live still 200" "$(http_code "http://127.0.0.1:$A_PORT/health/live")" 200
servers start-mariadb
check "DB restarted: up again" wait_until 200 sh -c "curl -s http://127.0.0.1:$A_PORT/health | grep -q '\"status\":\"up\"'"
check "DB restarted: ready again" wait_until 100 sh -c "test \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$A_PORT/health/ready) = 200"
stop_ingot "$A_PID" "$A_LOG"; eq "serve exits 0 after the faults" "$?" 0

# Redis unset, LLM unset: degraded with redis disabled, llm disabled.
REDIS_URL= start_ingot B serve
body=$(http_body "http://127.0.0.1:$B_PORT/health"); code=$(http_code "http://127.0.0.1:$B_PORT/health")
eq "no Redis: 200" "$code" 200
eq "no Redis: degraded" "$(jfield "$body" .status)" degraded
eq "redis disabled" "$(jfield "$body" .checks.redis.status)" disabled
eq "llm disabled" "$(jfield "$body" .checks.llm.status)" disabled
stop_ingot "$B_PID" "$B_LOG"

# LLM configured but unreachable (closed port): down 503.
start_ingot C serve --llm-base-url "http://127.0.0.1:$(free_port)/v1"
body=$(http_body "http://127.0.0.1:$C_PORT/health"); code=$(http_code "http://127.0.0.1:$C_PORT/health")
eq "LLM unreachable: 503" "$code" 503
eq "LLM unreachable: down" "$(jfield "$body" .status)" down
eq "llm check down" "$(jfield "$body" .checks.llm.status)" down
stop_ingot "$C_PID" "$C_LOG"

# LLM that accepts and never answers: still answers within 1 s, down.
start_fake HANG hang
start_ingot D serve --llm-base-url "http://127.0.0.1:$HANG_PORT/v1"
t0=$(date +%s%N)
code=$(http_code "http://127.0.0.1:$D_PORT/health")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
eq "LLM hanging: 503" "$code" 503
check "LLM hanging: answered within 1 s (${ms} ms)" test "$ms" -lt 1000
# Wrong key: the provider answers 401, which is down.
stop_ingot "$D_PID" "$D_LOG"
start_ingot E serve --llm-base-url "http://127.0.0.1:$LLM_PORT/v1" --llm-api-key wrong-key
body=$(http_body "http://127.0.0.1:$E_PORT/health")
eq "LLM key rejected: down" "$(jfield "$body" .checks.llm.status)" down
contains "LLM 401 explained" "$(jfield "$body" .checks.llm.message)" "401"
case "$(cat "$E_LOG")" in *wrong-key*) bad "API key in the log" ;; *) ok "API key not in the log" ;; esac
finish
