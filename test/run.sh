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
# INGOT_TEST_STATIC=1 (make test) adds "static" to the default run: the
# integration suite again against bin/ingot-static (INGOT_STATIC_BIN), by a
# second runner with its own servers, alongside the ASan one (both wait on
# servers and fakes more than they compute; INGOT_TEST_STATIC_SERIAL=1 runs
# it after instead); test_static_root and test_packaging then fail instead
# of skipping when bin/ingot-static is missing.
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

# The static pass: `bash test/run.sh integration` against the static
# binary, its servers its own (a shared INGOT_TEST_SERVERS would mix two
# suites' databases), in the background unless INGOT_TEST_STATIC_SERIAL=1;
# static_collect prints its per-file lines and adds its counts.
STATIC_PID=""
STATIC_LOG=""
STATIC_T0=""
static_start() {
    local bin=${INGOT_STATIC_BIN:-$ROOT/bin/ingot-static}
    if [ ! -x "$bin" ]; then
        echo "static: $bin is missing (make static)"
        failed=$((failed + 1)); failures+=(static)
        return
    fi
    STATIC_LOG=$(mktemp /tmp/ingot-static-pass.XXXXXX); STATIC_T0=$(now_ms)
    env -u INGOT_TEST_SERVERS INGOT_TEST_BIN="$bin" INGOT_TEST_STATIC=1 \
        bash "$ROOT/test/run.sh" integration >"$STATIC_LOG" 2>&1 &
    STATIC_PID=$!
    if [ "${INGOT_TEST_STATIC_SERIAL:-0}" = 1 ]; then static_collect; fi
}
static_collect() {
    [ -n "$STATIC_PID" ] || return 0
    wait "$STATIC_PID"; local rc=$?
    STATIC_PID=""
    echo "integration tests against ${INGOT_STATIC_BIN:-bin/ingot-static} ($([ "${INGOT_TEST_STATIC_SERIAL:-0}" = 1 ] || echo "in parallel, ")$(took "$STATIC_T0"))"
    grep -E '^(  |failed:)' "$STATIC_LOG" | sed 's/^/  /'
    add_counts static "$STATIC_LOG" "$rc" >/dev/null
    rm -f "$STATIC_LOG"
}

TMPROOT=""
SERVERS=""
cleanup() {
    if [ -n "$STATIC_PID" ]; then
        kill -TERM "$STATIC_PID" 2>/dev/null; wait "$STATIC_PID" 2>/dev/null
        rm -f "$STATIC_LOG"
    fi
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
        bash deploy/local/servers.sh start "$SERVERS" 2>"$TMPROOT/servers.log" \
            || { cat "$TMPROOT/servers.log"; echo "0 passed, 1 failed"; exit 1; }
    fi
    export INGOT_SERVERS=$SERVERS INGOT_TMP=$TMPROOT INGOT_ROOT=$ROOT
    export INGOT_BIN=${INGOT_TEST_BIN:-$ROOT/build/asan/ingot} INGOT_FAKES=$ROOT/build/asan/test/fakes
    # The official openai SDK for the LLM end-to-end tests (npm ci from
    # test/package-lock.json, only when missing or the lock changed).
    case " ${files[*]} " in
    *test_llm*)
        bash test/sdk-setup.sh >"$TMPROOT/sdk-setup.log" 2>&1 ||
            { echo "  sdk-setup failed:"; sed 's/^/    /' "$TMPROOT/sdk-setup.log" | tail -5; } ;;
    esac
    for f in "${files[@]}"; do
        local log="$TMPROOT/$(basename "$f" .sh).log" t0; t0=$(now_ms)
        bash "$f" >"$log" 2>&1; local rc=$?
        add_counts "$(basename "$f" .sh)" "$log" "$rc" "$t0"
    done
}

files=()
for w in "${what[@]}"; do
    case "$w" in
    unit) run_unit ;;
    static) static_start ;;
    fuzz)
        echo "fuzzing (libFuzzer, ${INGOT_FUZZ_SECONDS:-10} s per target)"
        log=$(mktemp); t0=$(now_ms); bash test/fuzz/run.sh "${INGOT_FUZZ_SECONDS:-10}" >"$log" 2>&1; rc=$?
        add_counts fuzz "$log" "$rc" "$t0"; rm -f "$log" ;;
    integration) files+=(test/integration/test_*.sh) ;;
    *) files+=("test/integration/$w.sh") ;;
    esac
done
[ ${#files[@]} -gt 0 ] && run_integration "${files[@]}"
static_collect

if [ ${#failures[@]} -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
