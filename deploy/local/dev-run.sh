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
echo "ingot: http://127.0.0.1:${PORT:-8080}/health  (Ctrl-C drains and stops; \`make stop\` stops MariaDB and Redis)" >&2
exec bin/ingot run
