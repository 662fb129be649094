# shellcheck shell=bash
# Helpers the benchmark scripts share (sourced).
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % 20000))
        ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { echo "$p"; return; }
    done
}
wait_http() { for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
