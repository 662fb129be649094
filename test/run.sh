#!/usr/bin/env bash
# The test runner: unit tests, then integration tests against a private
# MariaDB and Redis started here (stopped by the trap). Ends with the line
# "N passed, N failed" and exits non-zero on any failure.
#   test/run.sh [unit|integration|fuzz|NAME...]   (NAME: an integration file stem)
# INGOT_TEST_SERVERS=DIR reuses servers already started with
# deploy/local/servers.sh start DIR (fast local iteration).
# INGOT_TEST_BIN=PATH runs the integration tests against another ingot
# binary, e.g. bin/ingot-static from make static (default: the ASan build);
# INGOT_TEST_UNIT_DIR=DIR the unit tests from another build, e.g.
# build/static/test/unit (make static-unit).
# INGOT_TEST_STATIC=1 (make test) adds the integration suite again against
# bin/ingot-static (INGOT_STATIC_BIN): the default run then becomes lanes,
# each a runner of its own with its own servers (they wait on servers and
# fakes more than they compute): an ASan lane (unit, fuzz, integration)
# and INGOT_TEST_STATIC_SHARDS (default 2) static lanes splitting the suite
# by known durations, longest first. INGOT_TEST_SHARDS (default 1; make test:
# 2) splits the ASan integration likewise, the first shard counting the unit
# tests and fuzzers as 200 s. INGOT_TEST_STATIC_BUILD=CMD (make test:
# make static) builds the static binary in the background meanwhile; the
# static lanes start when it is done. INGOT_TEST_STATIC_SERIAL=1 runs one
# static runner after the ASan lane instead. test_static_root and
# test_packaging then fail instead of skipping when bin/ingot-static is
# missing.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/test/lsan.supp:print_suppressions=0}

passed=0
failed=0
failures=()

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# "12.3 s" since a now_ms value: each file's time is printed with its result.
took() { local ms=$(( $(now_ms) - $1 )); printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100)); }

add_counts() { # parses the last "N passed, N failed" line of a log
    local name=$1 log=$2 rc=$3 t0=${4:-} line p f dur=""
    [ -n "$t0" ] && dur=" ($(took "$t0"))"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -z "$line" ]; then
        echo "  $name: no result line (exit $rc)$dur"
        failed=$((failed + 1)); failures+=("$name")
        return
    fi
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" != 0 ] || [ "$rc" != 0 ]; then
        [ "$f" = 0 ] && failed=$((failed + 1))
        failures+=("$name")
        echo "  $name: $line (exit $rc)$dur"
        grep -E '^(FAIL|  )' "$log" | head -40 | sed 's/^/    /'
    else
        echo "  $name: $line$dur"
    fi
}

what=("$@")
if [ ${#what[@]} -eq 0 ]; then
    what=(unit integration fuzz)
    [ "${INGOT_TEST_STATIC:-0}" = 1 ] && what=(static unit integration fuzz)
fi

run_unit() {
    local dir=${INGOT_TEST_UNIT_DIR:-build/asan/test/unit}
    echo "unit tests ($([ -z "${INGOT_TEST_UNIT_DIR:-}" ] && echo ASan+UBSan || echo "$dir"))"
    for t in "$dir"/test_*; do
        [ -x "$t" ] || continue
        case "$t" in *.o|*.d) continue ;; esac
        local log t0; log=$(mktemp); t0=$(now_ms)
        "$t" >"$log" 2>&1; local rc=$?
        add_counts "$(basename "$t")" "$log" "$rc" "$t0"
        rm -f "$log"
    done
}

# Lanes (the default run with INGOT_TEST_STATIC=1): children running this
# script, each with its own servers (a shared INGOT_TEST_SERVERS would mix
# suites' databases) and log, printed when the lane ends. Marks under MARKS
# tell them when the SDK install and the static build are done.
MARKS=""
BUILD_PID=""
SDK_PID=""
LANE_PIDS=()

# Seconds per file on this 2-core machine (the slower of the two binaries):
# they only order and split the suite; a file not listed counts as 10.
weight() {
    case $1 in
    test_limits_tpm) echo 126 ;; test_batches) echo 62 ;; test_batches_edge) echo 60 ;; test_limits_e2e) echo 40 ;; test_llm_engine) echo 37 ;;
    test_hostile) echo 34 ;; test_llm_fix) echo 30 ;; test_work) echo 29 ;;
    test_providers | test_limits) echo 26 ;; test_inputs) echo 22 ;;
    test_llm_jobs) echo 20 ;; test_deploy) echo 19 ;; test_faults | test_llm_sec) echo 17 ;;
    test_llm_edge | test_queues) echo 16 ;; test_schedule) echo 14 ;;
    test_files) echo 30 ;;
    test_llm_tls | test_jobs_api) echo 13 ;; test_llm_sdk | test_llm_cache | test_llm_messages) echo 12 ;; test_llm_responses) echo 15 ;;
    test_observability) echo 17 ;;
    test_webhooks) echo 22 ;;
    test_bulk) echo 29 ;;
    test_topology | test_http | test_ratelimit | test_health) echo 9 ;;
    test_groups | test_doctor | test_logflood) echo 7 ;; test_query) echo 6 ;;
    test_metrics | test_openapi) echo 5 ;; test_packaging) echo 4 ;;
    test_cli | test_migrate | test_ssrf | test_abort | test_static_root) echo 3 ;;
    test_login) echo 12 ;; test_llm_proxy) echo 1 ;;
    test_ui) echo 27 ;;
    *) echo 10 ;;
    esac
}
# split N STEM... -> "shard stem" lines: longest first, each onto the
# lightest shard so far; the files needing bin/ingot-static go last.
split_files() {
    local n=$1 i best w f; shift
    local -a load=()
    for ((i = 0; i < n; i++)); do load[i]=0; done
    load[0]=${SPLIT_LOAD0:-0} # the first shard's head start (the unit tests and fuzzers)
    while read -r w f; do
        best=0
        for ((i = 1; i < n; i++)); do [ "${load[i]}" -lt "${load[best]}" ] && best=$i; done
        load[best]=$((load[best] + w))
        echo "$best $f"
    done < <(for f in "$@"; do
                 case $f in test_static_root | test_packaging) w=0 ;; *) w=$(weight "$f") ;; esac
                 echo "$w $f"
             done | sort -k1,1nr -k2,2)
}
needs_static() { case $1 in test_static_root | test_packaging) return 0 ;; esac; return 1; }
# Waits for a mark (its content: the exit status of what it marks) while
# the parent runner lives.
wait_mark() {
    while [ ! -s "$1" ]; do
        kill -0 "$PPID" 2>/dev/null || return 1
        sleep 1
    done
}
set_mark() { echo "$2" >"$1.tmp" && mv "$1.tmp" "$1"; }

declare -A LANE_NAME LANE_LOG LANE_T0 LANE_FILES
DIGEST=()
lane_start() { # NAME BIN(empty: ASan) ARG...
    local name=$1 bin=$2 log; shift 2
    log=$(mktemp /tmp/ingot-lane.XXXXXX)
    env -u INGOT_TEST_SERVERS ${bin:+INGOT_TEST_BIN=$bin} \
        INGOT_TEST_SDK_MARK="$MARKS/sdk" INGOT_TEST_STATIC_MARK="$MARKS/static" \
        bash "$ROOT/test/run.sh" "$@" >"$log" 2>&1 &
    local pid=$!
    LANE_PIDS+=("$pid")
    LANE_NAME[$pid]=$name; LANE_LOG[$pid]=$log; LANE_T0[$pid]=$(now_ms); LANE_FILES[$pid]="$*"
}
lane_end() { # PID RC: prints the lane's lines, adds its counts and failures
    local pid=$1 rc=$2 log=${LANE_LOG[$1]} name=${LANE_NAME[$1]} line p f n
    echo "$name (+$(( (LANE_T0[$pid] - RUN_T0) / 1000 )) s, took $(took "${LANE_T0[$pid]}")): ${LANE_FILES[$pid]}"
    grep -vE '^([0-9]+ passed, [0-9]+ failed|failed: )' "$log" | sed 's/^/  /'
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -z "$line" ]; then
        echo "  $name: no result line (exit $rc)"
        failed=$((failed + 1)); failures+=("$name")
    else
        p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
        passed=$((passed + p)); failed=$((failed + f))
        for n in $(sed -n 's/^failed: //p' "$log" | tail -1); do failures+=("$name:$n"); done
        if [ "$rc" != 0 ] && [ "$f" = 0 ]; then failed=$((failed + 1)); failures+=("$name"); fi
    fi
    # Repeated at the very end, where a CI page showing only the tail of
    # the output still tells what failed and why.
    if [ -z "$line" ] || [ "$f" != 0 ] || [ "$rc" != 0 ]; then
        DIGEST+=("$name (exit $rc):")
        mapfile -t -O "${#DIGEST[@]}" DIGEST < <(grep -E 'FAIL|failed \(exit|no result line|servers:|ERROR|runtime error' "$log" | head -12 | cut -c1-200)
    fi
    rm -f "$log"
}

run_lanes() { # the "static" word plus the rest of the command line
    local static_bin=${INGOT_STATIC_BIN:-$ROOT/bin/ingot-static}
    local serial=${INGOT_TEST_STATIC_SERIAL:-0} sshards ashards i w s
    sshards=${INGOT_TEST_STATIC_SHARDS:-$([ "$serial" = 1 ] && echo 1 || echo 2)}
    ashards=${INGOT_TEST_SHARDS:-1}
    local -a pre=() afiles=() sfiles=()
    for w in "$@"; do
        case $w in
        static) ;;
        unit | fuzz) pre+=("$w") ;;
        integration) for f in test/integration/test_*.sh; do afiles+=("$(basename "$f" .sh)"); done ;;
        *) afiles+=("$w") ;;
        esac
    done
    # Named files run against both binaries; otherwise the whole suite.
    sfiles=("${afiles[@]}")
    if [ ${#sfiles[@]} = 0 ]; then
        sfiles=(); for f in test/integration/test_*.sh; do sfiles+=("$(basename "$f" .sh)"); done
    fi
    export INGOT_TEST_STATIC=1 # asked for: test_static_root fails, not skips
    MARKS=$(mktemp -d /tmp/ingot-marks.XXXXXX)
    RUN_T0=$(now_ms)
    local sdk_t0 build_t0; sdk_t0=$(now_ms); build_t0=$(now_ms)
    # Once for every lane (npm ci in one folder).
    bash test/sdk-setup.sh >"$MARKS/sdk.log" 2>&1 &
    SDK_PID=$!
    if [ -n "${INGOT_TEST_STATIC_BUILD:-}" ]; then
        # Its own process group, so that an interrupt stops all of make;
        # niced, so that the tests' timing checks alongside get the CPU first
        # (a test_limits_e2e overrun check failed once under the compile).
        setsid nice -n "${INGOT_TEST_BUILD_NICE:-5}" bash -c "$INGOT_TEST_STATIC_BUILD" >"$MARKS/build.log" 2>&1 &
        BUILD_PID=$!
    else
        set_mark "$MARKS/static" 0
    fi
    # The ASan lanes: the first also runs the unit tests and the fuzzers.
    local -a shard
    for ((i = 0; i < ashards; i++)); do
        mapfile -t shard < <(SPLIT_LOAD0=$([ ${#pre[@]} -gt 0 ] && echo 200 || echo 0) split_files "$ashards" "${afiles[@]}" | awk -v k="$i" '$1 == k { print $2 }')
        [ $i = 0 ] && shard=("${pre[@]}" "${shard[@]}")
        [ ${#shard[@]} -gt 0 ] && lane_start "asan-$((i + 1))/$ashards" "" "${shard[@]}"
    done
    local asan_left=${#LANE_PIDS[@]} static_started=0 pid rc
    while :; do
        if [ "$static_started" = 0 ] && [ -s "$MARKS/static" ] && { [ "$serial" = 0 ] || [ "$asan_left" = 0 ]; }; then
            static_started=1
            if [ ! -x "$static_bin" ]; then
                echo "static: $static_bin is missing (make static)"
                failed=$((failed + 1)); failures+=(static)
            else
                for ((i = 0; i < sshards; i++)); do
                    mapfile -t shard < <(split_files "$sshards" "${sfiles[@]}" | awk -v k="$i" '$1 == k { print $2 }')
                    [ ${#shard[@]} -gt 0 ] && lane_start "static-$((i + 1))/$sshards" "$static_bin" "${shard[@]}"
                done
            fi
        fi
        pid=""
        wait -n -p pid; rc=$?
        [ -n "${pid:-}" ] || break
        if [ "$pid" != "$SDK_PID" ] && [ "$pid" != "$BUILD_PID" ] && [ -z "${LANE_NAME[$pid]:-}" ]; then
            continue
        elif [ "$pid" = "$SDK_PID" ]; then
            SDK_PID=""
            echo "sdk-setup (openai SDK for test_llm_sdk): exit $rc, $(took "$sdk_t0")"
            [ "$rc" = 0 ] || sed 's/^/    /' "$MARKS/sdk.log" | tail -5
            set_mark "$MARKS/sdk" "$rc"
        elif [ "$pid" = "$BUILD_PID" ]; then
            BUILD_PID=""
            echo "static build ($INGOT_TEST_STATIC_BUILD): exit $rc, $(took "$build_t0")"
            if [ "$rc" != 0 ]; then
                tail -30 "$MARKS/build.log" | sed 's/^/    /'
                failed=$((failed + 1)); failures+=(static-build)
                DIGEST+=("static build (exit $rc):")
                mapfile -t -O "${#DIGEST[@]}" DIGEST < <(tail -6 "$MARKS/build.log" | cut -c1-200)
            fi
            set_mark "$MARKS/static" "$rc"
        else
            case ${LANE_NAME[$pid]} in asan*) asan_left=$((asan_left - 1)) ;; esac
            lane_end "$pid" "$rc"
            local -a left=()
            for i in "${LANE_PIDS[@]}"; do [ "$i" = "$pid" ] || left+=("$i"); done
            LANE_PIDS=("${left[@]}")
        fi
    done
    echo "all lanes: $(took "$RUN_T0")"
    if [ ${#DIGEST[@]} -gt 0 ]; then
        echo "what failed, in brief:"
        printf '  %s\n' "${DIGEST[@]}"
    fi
}

TMPROOT=""
SERVERS=""
cleanup() {
    local pid
    for pid in "${LANE_PIDS[@]}"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
    done
    [ -n "$BUILD_PID" ] && kill -TERM -- "-$BUILD_PID" 2>/dev/null
    [ -n "$SDK_PID" ] && kill -TERM "$SDK_PID" 2>/dev/null
    wait 2>/dev/null
    [ -n "$MARKS" ] && rm -rf "$MARKS"
    if [ -n "$TMPROOT" ]; then
        pkill -TERM -f "$TMPROOT" 2>/dev/null || true
        [ -z "${INGOT_TEST_SERVERS:-}" ] && bash deploy/local/servers.sh stop "$SERVERS" >/dev/null 2>&1
        [ "${INGOT_TEST_KEEP:-0}" = 1 ] || rm -rf "$TMPROOT"
    fi
}
trap cleanup EXIT INT TERM

run_integration() {
    local files=("$@")
    echo "integration tests (real MariaDB and Redis)"
    TMPROOT=$(mktemp -d /tmp/ingot-test.XXXXXX)
    if [ -n "${INGOT_TEST_SERVERS:-}" ]; then
        SERVERS=$INGOT_TEST_SERVERS
    else
        SERVERS=$TMPROOT/servers
        # servers.sh retries a server once itself; a second whole start in a
        # new folder covers a failed install (the log says which).
        if ! bash deploy/local/servers.sh start "$SERVERS" 2>"$TMPROOT/servers.log"; then
            sed 's/^/  /' "$TMPROOT/servers.log"
            bash deploy/local/servers.sh stop "$SERVERS" >/dev/null 2>&1
            SERVERS=$TMPROOT/servers2
            if ! bash deploy/local/servers.sh start "$SERVERS" 2>"$TMPROOT/servers.log"; then
                sed 's/^/  /' "$TMPROOT/servers.log"
                echo "failed: servers"; echo "0 passed, 1 failed"; exit 1
            fi
        fi
    fi
    export INGOT_SERVERS=$SERVERS INGOT_TMP=$TMPROOT INGOT_ROOT=$ROOT
    export INGOT_BIN=${INGOT_TEST_BIN:-$ROOT/build/asan/ingot} INGOT_FAKES=$ROOT/build/asan/test/fakes
    # The official openai SDK for the LLM end-to-end tests and the OpenAPI
    # validators for test_openapi (npm ci from test/package-lock.json, only
    # when missing or the lock changed).
    case " ${files[*]} " in
    *test_llm* | *test_openapi* | *test_files*)
        if [ -n "${INGOT_TEST_SDK_MARK:-}" ]; then
            wait_mark "$INGOT_TEST_SDK_MARK" # run once by the parent, which reports it
        else
            bash test/sdk-setup.sh >"$TMPROOT/sdk-setup.log" 2>&1 ||
            { echo "  sdk-setup failed:"; sed 's/^/    /' "$TMPROOT/sdk-setup.log" | tail -5; }
        fi ;;
    esac
    for f in "${files[@]}"; do
        local log="$TMPROOT/$(basename "$f" .sh).log" t0
        # A lane started before the static build ended waits for it here.
        if [ -n "${INGOT_TEST_STATIC_MARK:-}" ] && needs_static "$(basename "$f" .sh)"; then
            wait_mark "$INGOT_TEST_STATIC_MARK"
        fi
        t0=$(now_ms)
        bash "$f" >"$log" 2>&1; local rc=$?
        add_counts "$(basename "$f" .sh)" "$log" "$rc" "$t0"
    done
}

files=()
case " ${what[*]} " in
*" static "*) run_lanes "${what[@]}"; what=() ;;
esac
for w in "${what[@]}"; do
    case "$w" in
    unit) run_unit ;;
    fuzz)
        # Niced: its time per target is fixed, a build alongside gets the CPU.
        echo "fuzzing (libFuzzer, ${INGOT_FUZZ_SECONDS:-10} s per target)"
        log=$(mktemp); t0=$(now_ms)
        nice -n "${INGOT_FUZZ_NICE:-10}" bash test/fuzz/run.sh "${INGOT_FUZZ_SECONDS:-10}" >"$log" 2>&1; rc=$?
        add_counts fuzz "$log" "$rc" "$t0"; rm -f "$log" ;;
    integration) files+=(test/integration/test_*.sh) ;;
    *) files+=("test/integration/$w.sh") ;;
    esac
done
[ ${#files[@]} -gt 0 ] && run_integration "${files[@]}"

if [ ${#failures[@]} -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
