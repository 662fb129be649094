# Helpers for integration tests: assertions that count, servers, ingot
# processes on free loopback ports, condition waits (never bare sleeps).
# shellcheck shell=bash
set -uo pipefail
T_PASS=0
T_FAIL=0
T_DIR="$INGOT_TMP/$(basename "$0" .sh)"
mkdir -p "$T_DIR" && cd "$T_DIR" || exit 1
. "$INGOT_SERVERS/env"
export DATABASE_URL REDIS_URL
BASE_DATABASE_URL=$DATABASE_URL
# Test-only secrets (the API refuses to start without the key hash secret).
export API_KEY_HASH_SECRET=test-api-key-hash-secret-0123456789abcdef
export JWT_SECRET=test-jwt-secret-0123456789abcdef0123456789
export SIGNING_KEY=test-signing-key-0123456789abcdef0123456789
export ENCRYPTION_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
NO_SECRETS=(env -u API_KEY_HASH_SECRET -u JWT_SECRET -u SIGNING_KEY -u ENCRYPTION_KEY)
# The queue depth gauges are refreshed every second in tests (10 s by
# default), so a test waiting for a snapshot waits on it, not on the period.
export QUEUE_DEPTH_REFRESH=${QUEUE_DEPTH_REFRESH:-1s}

ok() { T_PASS=$((T_PASS + 1)); echo "ok   $*"; }
bad() { T_FAIL=$((T_FAIL + 1)); echo "FAIL $*"; }
check() { # check "description" command...
    local d=$1; shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}
eq() { # eq "description" actual expected
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1"; echo "  got '$2', want '$3'"; fi
}
contains() { # contains "description" haystack needle
    case "$2" in *"$3"*) ok "$1" ;; *) bad "$1"; echo "  '$3' not in: ${2:0:600}" ;; esac
}
finish() {
    stop_all_ingot
    echo "$T_PASS passed, $T_FAIL failed"
    [ "$T_FAIL" -eq 0 ]
    exit $?
}

# wait_until TENTHS command...: polls a condition.
wait_until() {
    local tenths=$1; shift
    for _ in $(seq 1 "$tenths"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}

# wait_sql TENTHS "SQL" EXPECTED: polls a query until it returns EXPECTED.
sql_is() { [ "$(mysql_root -e "$1")" = "$2" ]; }
wait_sql() { wait_until "$1" sql_is "$2" "$3"; }
# wait_cmd_eq TENTHS EXPECTED command...: polls a command's output.
out_is() { local want=$1; shift; [ "$("$@")" = "$want" ]; }
wait_out() { local t=$1; shift; wait_until "$t" out_is "$@"; }
# minute_left N: at least N seconds remain in this UTC minute. Rate
# windows (rpm) are per UTC minute: a sequence that must fall in one window
# waits with `wait_until TENTHS minute_left N` for the next when too little
# of this one is left.
minute_left() { [ $((60 - 10#$(date -u +%S))) -ge "$1" ]; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % 20000))
        if port_free "$p"; then echo "$p"; return; fi
    done
    return 1
}

mysql_root() { mariadb --no-defaults --socket="$MARIADB_SOCKET" -uroot -N -B "$@"; }

# new_db NAME: a fresh database; prints its DATABASE_URL.
new_db() {
    local name="ingot_$1"
    mysql_root -e "DROP DATABASE IF EXISTS \`$name\`; CREATE DATABASE \`$name\`;"
    echo "${BASE_DATABASE_URL%%/ingot\?*}/$name?socket=$MARIADB_SOCKET"
}

# http_code URL [curl args]: the status code ("000" when no answer).
http_code() { local u=$1; shift; curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$u"; }
http_body() { local u=$1; shift; curl -s --max-time 5 "$@" "$u"; }

# Processes started here, stopped by finish().
INGOT_PIDS=()
INGOT_LOGS=()

# start_ingot VAR ROLE [args...]: starts ingot on a free port with the
# environment of the caller; waits for /health/live; sets VAR_PORT,
# VAR_PID, VAR_LOG.
start_ingot() {
    local var=$1 role=$2; shift 2
    local port; port=$(free_port)
    local log="$INGOT_TMP/$var.$$.$RANDOM.log"
    "$INGOT_BIN" "$role" --host 127.0.0.1 --port "$port" --env-file /dev/null "$@" >"$log" 2>&1 &
    local pid=$!
    INGOT_PIDS+=("$pid"); INGOT_LOGS+=("$log")
    printf -v "${var}_PORT" '%s' "$port"
    printf -v "${var}_PID" '%s' "$pid"
    printf -v "${var}_LOG" '%s' "$log"
    if ! wait_until 100 curl -sf -o /dev/null "http://127.0.0.1:$port/health/live"; then
        echo "ingot $role did not come up; log:"; tail -20 "$log"
        return 1
    fi
}

sanitizer_clean() { ! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$1"; }

# stop_ingot PID LOG: SIGTERM, wait, return its exit code; flags sanitizer
# reports as failures.
stop_ingot() {
    local pid=$1 log=$2 rc
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"; rc=$?
    if ! sanitizer_clean "$log"; then
        bad "sanitizer report in $(basename "$log")"
        grep -E -A12 'AddressSanitizer|LeakSanitizer|runtime error:' "$log" | head -40
    fi
    return $rc
}

stop_all_ingot() {
    local i
    for i in "${!INGOT_PIDS[@]}"; do
        local pid=${INGOT_PIDS[$i]}
        if kill -0 "$pid" 2>/dev/null; then
            stop_ingot "$pid" "${INGOT_LOGS[$i]}" # a sanitizer report is printed and counted
        fi
    done
    INGOT_PIDS=(); INGOT_LOGS=()
}

# start_fake VAR MODE: a fake peer on a free port; sets VAR_PORT, VAR_PID.
start_fake() {
    local var=$1 mode=$2 out="$INGOT_TMP/fake.$$.$RANDOM"
    "$INGOT_FAKES/fakepeer" "$mode" 0 >"$out" 2>&1 &
    local pid=$!
    wait_until 50 grep -q '^port ' "$out" || { echo "fake $mode did not start"; cat "$out"; return 1; }
    printf -v "${var}_PORT" '%s' "$(awk '/^port /{print $2; exit}' "$out")"
    printf -v "${var}_PID" '%s' "$pid"
    FAKE_PIDS+=("$pid")
}
FAKE_PIDS=()
trap 'for p in "${FAKE_PIDS[@]}"; do kill "$p" 2>/dev/null; done' EXIT

servers() { bash "$INGOT_ROOT/deploy/local/servers.sh" "$1" "$INGOT_SERVERS" 2>/dev/null; }

# A migrated database for tests that need one.
migrated_db() {
    local url; url=$(new_db "$1")
    DATABASE_URL=$url "$INGOT_BIN" migrate --env-file /dev/null >/dev/null 2>&1 || return 1
    echo "$url"
}

# jobs_setup NAME: a migrated database ingot_NAME (DATABASE_URL, DB), a
# tenant with a key (K, AUTH) and the fake target (TP, T) writing
# target.out.
# The C fake provider (test/fakes/fakellm) on a free loopback port: LP
# its port, L its base URL; stopped with the test's other fakes.
start_fakellm() {
    "$INGOT_FAKES/fakellm" 0 > fakellm.out 2>&1 &
    FAKE_PIDS+=($!)
    wait_until 50 grep -q '^port ' fakellm.out || { bad "fakellm did not start"; finish; }
    LP=$(awk '/^port /{print $2; exit}' fakellm.out)
    L="http://127.0.0.1:$LP"
}

jobs_setup() {
    local url
    url=$(migrated_db "$1") || { bad "migrate"; finish; }
    export DATABASE_URL=$url
    DB="ingot_$1"
    "$INGOT_BIN" admin tenant create acme --env-file /dev/null >/dev/null 2>&1
    K=$("$INGOT_BIN" admin key create --tenant acme --env-file /dev/null 2>/dev/null)
    AUTH=(-H "Authorization: Bearer $K")
    "$INGOT_FAKES/target" 0 "$SIGNING_KEY" > target.out 2>&1 &
    FAKE_PIDS+=($!)
    wait_until 50 grep -q '^port ' target.out
    TP=$(awk '/^port /{print $2; exit}' target.out)
    T="http://127.0.0.1:$TP"
}
