#!/usr/bin/env bash
# Private MariaDB and Redis for development and tests, under one folder,
# listening on unix sockets and loopback only. Never system services.
#
#   servers.sh start [DIR]   start both (DIR default: .run); writes DIR/env
#   servers.sh stop [DIR]    stop both
#   servers.sh status [DIR]
#   servers.sh stop-mariadb|start-mariadb|stop-redis|start-redis [DIR]
#
# DIR/env holds DATABASE_URL, REDIS_URL, MARIADB_SOCKET, MARIADB_PORT,
# REDIS_PORT, REDIS_SOCKET as shell assignments, and MARIADB_PID and
# REDIS_PID: the paths of the pid files (read them: kill "$(cat "$REDIS_PID")").
set -euo pipefail

cmd=${1:-}
dir=${2:-.run}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

log() { echo "servers: $*" >&2; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
    local want=$1 p
    if [ -n "$want" ] && port_free "$want"; then echo "$want"; return; fi
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % 20000))
        if port_free "$p"; then echo "$p"; return; fi
    done
    log "no free port"; exit 1
}

# Polls a condition (not a fixed sleep): up to $1 tenths of a second.
wait_for() {
    local tenths=$1; shift
    for _ in $(seq 1 "$tenths"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}

# PONG, not only an answer: a Redis reading its append-only file answers
# LOADING to every command for a while after it has bound its sockets.
redis_pong() { [ "$(redis-cli -s "$1" ping 2>/dev/null)" = PONG ]; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
mariadb_up_or_gone() {
    ! kill -0 "$1" 2>/dev/null || mariadb-admin --no-defaults --socket="$dir/mysql.sock" -uroot ping
}

state() { # remembered ports survive restarts of one server
    [ -f "$dir/ports" ] && . "$dir/ports"
    MARIADB_PORT=${MARIADB_PORT:-}
    REDIS_PORT=${REDIS_PORT:-}
}

write_env() {
    local pw; pw=$(cat "$dir/mariadb/.ingot-password")
    cat > "$dir/env" <<ENV
MARIADB_SOCKET=$dir/mysql.sock
MARIADB_PORT=$MARIADB_PORT
MARIADB_PID=$dir/mariadb.pid
REDIS_SOCKET=$dir/redis.sock
REDIS_PORT=$REDIS_PORT
REDIS_PID=$dir/redis.pid
DATABASE_URL=mysql://ingot:$pw@localhost/ingot?socket=$dir/mysql.sock
DATABASE_URL_TCP=mysql://ingot:$pw@127.0.0.1:$MARIADB_PORT/ingot
REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
REDIS_URL_UNIX=unix://$dir/redis.sock
ENV
    printf 'MARIADB_PORT=%s\nREDIS_PORT=%s\n' "$MARIADB_PORT" "$REDIS_PORT" > "$dir/ports"
}

mariadb_user_flag() { [ "$(id -u)" -eq 0 ] && echo "--user=root" || true; }

start_mariadb() {
    state
    if alive "$dir/mariadb.pid"; then return 0; fi
    local fresh=0
    if [ ! -d "$dir/mariadb/mysql" ]; then
        fresh=1
        mkdir -p "$dir/mariadb" "$dir/tmp"
        # Its own tmpdir: bootstraps running together in /tmp lost each
        # other's temporary tables ("Unknown table 'mysql.tmp_user_sys'").
        mariadb-install-db --no-defaults --datadir="$dir/mariadb" --tmpdir="$dir/tmp" $(mariadb_user_flag) \
            --auth-root-authentication-method=socket --skip-test-db >"$dir/mariadb-install.log" 2>&1 \
            || { log "mariadb-install-db failed, the end of $dir/mariadb-install.log:"
                 tail -15 "$dir/mariadb-install.log" | sed 's/^/    /' >&2; exit 1; }
        head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/mariadb/.ingot-password"
    fi
    # A second try on a new port: another runner may bind the port this one
    # found free before mariadbd does (lanes start their servers together).
    local try mpid
    for try in 1 2; do
        MARIADB_PORT=$(pick_port "${MARIADB_PORT:-${INGOT_MARIADB_PORT:-}}")
        # Durable commits (the defaults) so benchmarks measure the real thing.
        mkdir -p "$dir/tmp"
        mariadbd --no-defaults --datadir="$dir/mariadb" --tmpdir="$dir/tmp" $(mariadb_user_flag) \
            --socket="$dir/mysql.sock" --port="$MARIADB_PORT" --bind-address=127.0.0.1 \
            --pid-file="$dir/mariadb.pid" --log-error="$dir/mariadb.log" --skip-name-resolve \
            --max-connections=1000 --innodb-buffer-pool-size=256M --innodb-log-file-size=256M \
            --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
            >/dev/null 2>&1 &
        mpid=$!
        # Until it answers or its process is gone (no point waiting longer).
        if wait_for 1200 mariadb_up_or_gone "$mpid" && kill -0 "$mpid" 2>/dev/null; then
            break
        fi
        log "MariaDB did not start (try $try, port $MARIADB_PORT); the end of $dir/mariadb.log:"
        { tail -15 "$dir/mariadb.log" 2>/dev/null | sed 's/^/    /' >&2; } || true
        kill -KILL "$mpid" 2>/dev/null || true
        wait "$mpid" 2>/dev/null || true
        if [ "$try" = 2 ]; then
            log "disk and memory: $(df -h "$dir" | tail -1 | tr -s ' '); $(free -m | awk 'NR==2 {print $7 " MB available"}')"
            exit 1
        fi
        MARIADB_PORT=""; INGOT_MARIADB_PORT=""
    done
    wait_for 50 test -s "$dir/mariadb.pid"
    if [ "$fresh" = 1 ]; then
        local pw; pw=$(cat "$dir/mariadb/.ingot-password")
        mariadb --no-defaults --socket="$dir/mysql.sock" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS ingot CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'ingot'@'localhost' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS 'ingot'@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT ALL ON ingot.* TO 'ingot'@'localhost';
GRANT ALL ON ingot.* TO 'ingot'@'127.0.0.1';
GRANT ALL ON \`ingot\_%\`.* TO 'ingot'@'localhost';
GRANT ALL ON \`ingot\_%\`.* TO 'ingot'@'127.0.0.1';
SQL
    fi
    write_env_if_ready
    log "MariaDB up on $dir/mysql.sock and 127.0.0.1:$MARIADB_PORT"
}

start_redis() {
    state
    if alive "$dir/redis.pid"; then return 0; fi
    mkdir -p "$dir/redis"
    local try
    for try in 1 2; do # a second try on a new port, as for MariaDB
        REDIS_PORT=$(pick_port "${REDIS_PORT:-${INGOT_REDIS_PORT:-}}")
        # --daemonize: it exits once it has bound its sockets, or failed to.
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --unixsocket "$dir/redis.sock" \
            --unixsocketperm 700 --dir "$dir/redis" --pidfile "$dir/redis.pid" \
            --logfile "$dir/redis.log" --daemonize yes --appendonly yes --save "" \
            --maxmemory-policy noeviction >/dev/null \
            && wait_for 300 redis_pong "$dir/redis.sock" && break
        log "Redis did not start (try $try, port $REDIS_PORT); the end of $dir/redis.log:"
        { tail -15 "$dir/redis.log" 2>/dev/null | sed 's/^/    /' >&2; } || true
        [ "$try" = 2 ] && exit 1
        REDIS_PORT=""; INGOT_REDIS_PORT=""
    done
    wait_for 50 test -s "$dir/redis.pid"
    write_env_if_ready
    log "Redis up on $dir/redis.sock and 127.0.0.1:$REDIS_PORT"
}

write_env_if_ready() {
    if [ -f "$dir/mariadb/.ingot-password" ] && [ -n "${MARIADB_PORT:-}" ] && [ -n "${REDIS_PORT:-}" ]; then
        write_env
    elif [ -n "${MARIADB_PORT:-}${REDIS_PORT:-}" ]; then
        printf 'MARIADB_PORT=%s\nREDIS_PORT=%s\n' "${MARIADB_PORT:-}" "${REDIS_PORT:-}" > "$dir/ports"
    fi
}

stop_pidfile() {
    local pidfile=$1 name=$2
    alive "$pidfile" || { rm -f "$pidfile"; return 0; }
    local pid; pid=$(cat "$pidfile")
    kill -CONT "$pid" 2>/dev/null || true   # a test may have paused it
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for 300 bash -c "! kill -0 $pid"; then
        log "$name did not stop in 30 s; killing"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

case "$cmd" in
start) start_mariadb; start_redis; write_env ;;
start-mariadb) start_mariadb ;;
start-redis) start_redis ;;
stop) stop_pidfile "$dir/redis.pid" Redis; stop_pidfile "$dir/mariadb.pid" MariaDB ;;
stop-mariadb) stop_pidfile "$dir/mariadb.pid" MariaDB ;;
stop-redis) stop_pidfile "$dir/redis.pid" Redis ;;
status)
    alive "$dir/mariadb.pid" && echo "mariadb: running" || echo "mariadb: stopped"
    alive "$dir/redis.pid" && echo "redis: running" || echo "redis: stopped" ;;
*) echo "usage: servers.sh start|stop|status|start-mariadb|stop-mariadb|start-redis|stop-redis [DIR]" >&2; exit 2 ;;
esac
