# shellcheck shell=bash
# make bench, static vs dynamic part (issue 13; sourced by bench.sh after the
# servers are up; `bash test/bench/bench.sh static` runs only this part and
# the alternated exec-to-ready and end-to-end rounds). bin/ingot-static next
# to bin/ingot in the same run, in alternated rounds (ABBA: the order flips
# every round) so that the noise of a shared machine hits both; a figure is
# the median of its rounds. One line a figure:
#   {"bench":"static_vs_dynamic","figure":F,"static":S,"dynamic":D,
#    "ratio":R,"ratio_is":"static/dynamic" (higher is better) or
#    "dynamic/static" (lower is better),"target_ratio":0.95}
# so a ratio >= 0.95 always means "static at most 5% worse". S and D are
# the medians of the rounds; R is the median of the rounds' own ratios (the
# two runs of a round are back to back, so a slow spell of the machine
# mostly hits both).
#   binary_bytes    the static binary; reference: bin/ingot plus the shared
#                   libraries it loads (ldd), which a dynamic image must ship
#   image_bytes     content size of the scratch image: a tar of exactly the
#                   binary, /etc/ssl/certs/ca-certificates.crt and
#                   /usr/share/zoneinfo (the image's layer adds only tar
#                   metadata); reference: the same with the dynamic closure
#   idle_rss_kb, loaded_rss_kb (after the wrk runs), health_live_rps, and
#   health_live_cpu_us_per_req: serve's CPU time (user + system) over the
#   wrk runs per request answered, less sensitive to the other load on the
#   machine than req/s
#   exec_to_ready_ms, e2e_http_jobs_per_s, e2e_worker_us_per_job (the
#   worker's CPU per job), e2e_worker_max_rss_kb (bench.sh's own sections)
# BENCH_STATIC_ROUNDS (default 2) sets of fresh serve processes, each with
# BENCH_STATIC_SLICES (default 10) pairs of wrk runs of BENCH_STATIC_SECONDS
# (default 1): many short pairs ride out the machine's noise better than a
# few long runs (the req/s ratio is the median over the pairs).
STATIC_BIN=bin/ingot-static
DYN_BIN=bin/ingot
STATIC_ROUNDS=${BENCH_STATIC_ROUNDS:-2}
STATIC_SLICES=${BENCH_STATIC_SLICES:-10}
STATIC_SECS=${BENCH_STATIC_SECONDS:-1}
[ -x "$STATIC_BIN" ] || { echo "bench: $STATIC_BIN missing (make static)" >&2; exit 1; }

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# order ROUND: the two binaries, dynamic first in odd rounds.
order() { if [ $(($1 % 2)) = 1 ]; then echo "$DYN_BIN $STATIC_BIN"; else echo "$STATIC_BIN $DYN_BIN"; fi; }
# svd FIGURE STATIC DYNAMIC higher|lower TARGET [EXTRA_JSON]
svd() {
    local r is
    if [ "$4" = higher ]; then
        r=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.3f", b ? a / b : 0 }'); is="static/dynamic"
    else
        r=$(awk -v a="$3" -v b="$2" 'BEGIN { printf "%.3f", b ? a / b : 0 }'); is="dynamic/static"
    fi
    echo "{\"bench\":\"static_vs_dynamic\",\"figure\":\"$1\",\"static\":$2,\"dynamic\":$3,\"ratio\":$r,\"ratio_is\":\"$is\",\"target_ratio\":$5${6:+,$6}}"
}
# svd_rounds FIGURE "S1 S2 .." "D1 D2 .." higher|lower TARGET [EXTRA_JSON]:
# the rounds' values in round order; medians, and the median of the
# per-round ratios (the lists are split on purpose).
# shellcheck disable=SC2086
svd_rounds() {
    local sm dm r is
    sm=$(printf '%s\n' $2 | median); dm=$(printf '%s\n' $3 | median)
    r=$(paste <(printf '%s\n' $2) <(printf '%s\n' $3) |
        awk -v h="$4" '{ print h == "higher" ? ($2 ? $1 / $2 : 0) : ($1 ? $2 / $1 : 0) }' | median)
    r=$(awk -v r="$r" 'BEGIN { printf "%.3f", r }')
    if [ "$4" = higher ]; then is="static/dynamic"; else is="dynamic/static"; fi
    echo "{\"bench\":\"static_vs_dynamic\",\"figure\":\"$1\",\"static\":$sm,\"dynamic\":$dm,\"ratio\":$r,\"ratio_is\":\"$is, median of the rounds\",\"target_ratio\":$5${6:+,$6}}"
}

# ---- Sizes.
dyn_libs=$(ldd "$DYN_BIN" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
mkdir -p "$TMP/closure/lib"
for l in $dyn_libs; do cp -L "$l" "$TMP/closure/lib/"; done
cp "$DYN_BIN" "$TMP/closure/ingot"
nlibs=$(echo "$dyn_libs" | wc -l)
dyn_closure=$(du -cb --apparent-size "$TMP/closure/ingot" "$TMP/closure/lib"/* | awk 'END { print $1 }')
svd binary_bytes "$(stat -c %s "$STATIC_BIN")" "$dyn_closure" lower 0.95 \
    "\"dynamic_binary_bytes\":$(stat -c %s "$DYN_BIN"),\"dynamic_shared_libraries\":$nlibs"
image_tar() { # image_tar DIR FILES...: bytes of a tar of FILES under DIR plus the CA bundle and zoneinfo
    local dir=$1; shift
    tar -cf - -C "$dir" "$@" -C / etc/ssl/certs/ca-certificates.crt usr/share/zoneinfo | wc -c
}
s_img=$(image_tar "$(dirname "$STATIC_BIN")" "$(basename "$STATIC_BIN")")
d_img=$(image_tar "$TMP/closure" ingot lib)
svd image_bytes "$s_img" "$d_img" lower 0.95 "\"what\":\"tar of binary + ca-certificates.crt + zoneinfo (content size)\",\"target_bytes\":15728640"

# ---- serve: both binaries running at once, one under load at a time: idle
# RSS, then STATIC_SLICES pairs of short wrk runs against /health/live that
# alternate between them (a slow spell of the machine lasts longer than a
# pair), then RSS after the load; STATIC_ROUNDS sets of fresh processes.
declare -A SV
for round in $(seq 1 "$STATIC_ROUNDS"); do
    declare -A PORT_OF=() PID_OF=() T0=() NREQ=()
    for b in "$DYN_BIN" "$STATIC_BIN"; do
        PORT_OF[$b]=$(free_port)
        "$b" serve --env-file /dev/null --host 127.0.0.1 --port "${PORT_OF[$b]}" --log-level warn 2>>"$TMP/serve-static.log" &
        PID_OF[$b]=$!
        EXTRA_PIDS+=("${PID_OF[$b]}")
    done
    for b in "$DYN_BIN" "$STATIC_BIN"; do
        wait_http "http://127.0.0.1:${PORT_OF[$b]}/health/ready"
        SV[$b.idle]+="$(awk '/^VmRSS:/ {print $2}' "/proc/${PID_OF[$b]}/status") "
        T0[$b]=$(awk '{print $14 + $15}' "/proc/${PID_OF[$b]}/stat")
        NREQ[$b]=0
    done
    for slice in $(seq 1 "$STATIC_SLICES"); do
        for b in $(order "$slice"); do
            wrk -t2 -c"$CONNS" -d"${STATIC_SECS}s" "http://127.0.0.1:${PORT_OF[$b]}/health/live" > "$TMP/wrk.out" 2>&1
            SV[$b.rps]+="$(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.out") "
            NREQ[$b]=$((NREQ[$b] + $(awk '/requests in/ {print $1}' "$TMP/wrk.out")))
        done
    done
    for b in "$DYN_BIN" "$STATIC_BIN"; do
        t1=$(awk '{print $14 + $15}' "/proc/${PID_OF[$b]}/stat")
        cpu=$(awk -v t="$((t1 - T0[$b]))" -v hz="$(getconf CLK_TCK)" -v n="${NREQ[$b]}" 'BEGIN { printf "%.2f", n ? t * 1e6 / hz / n : 0 }')
        loaded=$(awk '/^VmRSS:/ {print $2}' "/proc/${PID_OF[$b]}/status")
        SV[$b.cpu]+="$cpu "; SV[$b.loaded]+="$loaded "; SV[$b.n]=$(( ${SV[$b.n]:-0} + NREQ[$b] ))
        kill "${PID_OF[$b]}"; wait "${PID_OF[$b]}" 2>/dev/null || true
        echo "{\"bench\":\"static_round\",\"round\":$round,\"binary\":\"$b\",\"path\":\"/health/live\",\"connections\":$CONNS,\"requests\":${NREQ[$b]},\"cpu_us_per_req\":$cpu,\"idle_rss_kb\":$(echo "${SV[$b.idle]}" | awk '{print $NF}'),\"loaded_rss_kb\":$loaded}"
    done
done
# static and dynamic: all requests over all the seconds each was loaded;
# ratio: the median over the pairs (an odd slow second weighs nothing)
# shellcheck disable=SC2086 # the lists are split on purpose
pair_ratio=$(paste <(printf '%s\n' ${SV[$STATIC_BIN.rps]}) <(printf '%s\n' ${SV[$DYN_BIN.rps]}) |
    awk '{ print $2 ? $1 / $2 : 0 }' | median)
loaded_s=$((STATIC_ROUNDS * STATIC_SLICES * STATIC_SECS))
echo "{\"bench\":\"static_vs_dynamic\",\"figure\":\"health_live_rps\",\"static\":$(awk -v n="${SV[$STATIC_BIN.n]}" -v s="$loaded_s" 'BEGIN { printf "%.0f", n / s }'),\"dynamic\":$(awk -v n="${SV[$DYN_BIN.n]}" -v s="$loaded_s" 'BEGIN { printf "%.0f", n / s }'),\"ratio\":$(awk -v r="$pair_ratio" 'BEGIN { printf "%.3f", r }'),\"ratio_is\":\"static/dynamic, median of the pairs\",\"target_ratio\":0.95,\"pairs\":$((STATIC_ROUNDS * STATIC_SLICES)),\"seconds_each\":$STATIC_SECS,\"connections\":$CONNS}"
for k in cpu idle loaded; do
    case $k in cpu) f=health_live_cpu_us_per_req ;; idle) f=idle_rss_kb ;; loaded) f=loaded_rss_kb ;; esac
    svd_rounds "$f" "${SV[$STATIC_BIN.$k]}" "${SV[$DYN_BIN.$k]}" lower 0.95 "\"rounds\":$STATIC_ROUNDS"
done
