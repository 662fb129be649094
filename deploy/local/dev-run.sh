#!/usr/bin/env bash
# `make run`: writes .env on first use (fresh secrets, pointing at the
# private servers under .run/), migrates, then runs every role in one
# process. The private servers' URLs are passed as environment variables,
# so they win over a stale .env.
set -euo pipefail
. .run/env
export DATABASE_URL REDIS_URL
if [ ! -f .env ]; then
    bin/ingot init --host 127.0.0.1 --log-format text --database-url "$DATABASE_URL" --redis-url "$REDIS_URL"
fi
bin/ingot migrate

# setting NAME: the value ingot will use (the environment wins over .env;
# the last NAME= line of .env counts; quotes and a trailing comment go).
setting() {
    local name=$1 v
    if [ -n "${!name:-}" ]; then printf '%s' "${!name}"; return; fi
    v=$(sed -n -E "s/^[[:space:]]*(export[[:space:]]+)?$name[[:space:]]*=[[:space:]]*//p" .env | tail -1)
    case "$v" in
    \"*) v=${v#\"}; v=${v%%\"*} ;;
    \'*) v=${v#\'}; v=${v%%\'*} ;;
    *) v=${v%%[[:space:]]#*}; v=${v%"${v##*[![:space:]]}"} ;;
    esac
    printf '%s' "$v"
}
port=$(setting PORT); port=${port:-8080}
host=$(setting HOST)
case "$host" in
'' | 0.0.0.0) host=127.0.0.1 ;;
:: | '[::]') host='[::1]' ;;
*:*) host="[$host]" ;;
esac
if [ "$port" = 0 ]; then
    echo "ingot: PORT=0 picks a free port: see the \"listening on\" line below" >&2
else
    echo "ingot: http://$host:$port/health  (Ctrl-C drains and stops; \`make stop\` stops MariaDB and Redis)" >&2
fi
exec bin/ingot run
