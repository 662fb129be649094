# doctor: exit codes, lines and --json shape, each dependency's findings.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
url=$(migrated_db doctor) || { bad "migrate"; finish; }
export DATABASE_URL=$url
"$B" init --output good.env >/dev/null 2>&1

out=$("$B" doctor --env-file good.env); rc=$?
eq "all good: exit 0" "$rc" 0
contains "one line per check" "$out" "ok    database"
contains "schema current" "$out" "current (version"
contains "redis version" "$out" "reachable, version"
contains "verdict line" "$out" "verdict: ok"
"$B" doctor --env-file good.env --json > d.json; eq "--json exit 0" "$?" 0
check "--json is one JSON document" jq -e . d.json
eq "--json verdict" "$(jq -r .verdict d.json)" ok
eq "--json failed count" "$(jq -r .failed d.json)" 0
check "--json checks have name/status/message/hint" jq -e 'all(.checks[]; has("name") and has("status") and has("message") and has("hint"))' d.json
check "--json statuses are ok/warn/fail" jq -e 'all(.checks[]; .status == "ok" or .status == "warn" or .status == "fail")' d.json
for name in config secrets env-file database schema clock redis redis-persistence redis-eviction llm; do
    check "--json has check $name" jq -e --arg n "$name" 'any(.checks[]; .name == $n)' d.json
done

# Missing secrets fail; the database not migrated fails naming migrate.
url2=$(new_db doctor2)
out=$(DATABASE_URL=$url2 "${NO_SECRETS[@]}" "$B" doctor --env-file /dev/null); eq "failures: exit 1" "$?" 1
contains "secrets missing named" "$out" "not set: JWT_SECRET, API_KEY_HASH_SECRET, ENCRYPTION_KEY, SIGNING_KEY"
contains "schema behind: hint names migrate" "$out" "run \`ingot migrate\`"
contains "verdict fail" "$out" "verdict: fail"

# Redis eviction policy other than noeviction: a warning, not a failure.
redis-cli -s "$REDIS_SOCKET" CONFIG SET maxmemory-policy allkeys-lru >/dev/null
"$B" doctor --env-file good.env --json > w.json; eq "warning only: exit 0" "$?" 0
eq "eviction warns" "$(jq -r '.checks[] | select(.name=="redis-eviction") | .status' w.json)" warn
eq "verdict warn" "$(jq -r .verdict w.json)" warn
redis-cli -s "$REDIS_SOCKET" CONFIG SET maxmemory-policy noeviction >/dev/null

# Unreachable database and Redis, bad LLM key, http:// to a remote host.
start_fake LLM openai
out=$(DATABASE_URL="mysql://ingot:pw@127.0.0.1:$(free_port)/x" REDIS_URL="redis://127.0.0.1:$(free_port)" \
      "$B" doctor --env-file good.env --json --llm-base-url "http://127.0.0.1:$LLM_PORT/v1" --llm-api-key bad)
eq "unreachable: exit 1" "$?" 1
eq "database fails" "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="database") | .status')" fail
eq "redis fails" "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="redis") | .status')" fail
eq "llm key rejected" "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="llm") | .message')" "GET /models answered HTTP 401 (key rejected)"
out=$("$B" doctor --env-file good.env --json --llm-base-url "http://127.0.0.1:$LLM_PORT/v1" --llm-api-key test-key)
eq "llm ok" "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="llm") | .status')" ok
# The alias is accepted and doctor says it was used.
out=$(BUILT_IN_FORGE_API_URL="http://127.0.0.1:$LLM_PORT/v1" BUILT_IN_FORGE_API_KEY=test-key "$B" doctor --env-file good.env --json)
contains "doctor names the alias used" "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="llm-config") | .message')" "BUILT_IN_FORGE_API_URL and BUILT_IN_FORGE_API_KEY"
eq "alias reaches the provider" "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="llm") | .status')" ok
# (http:// to a non-loopback host is a unit test: no test sends traffic
# off this machine.)
eq "http to loopback does not warn" "$(printf '%s' "$out" | jq -r '[.checks[] | select(.name=="llm-tls")] | length')" 0

# A set but malformed DATABASE_URL is not "not set", and its password is
# never printed; the same for REDIS_URL.
out=$(DATABASE_URL="mysql://u:hunter2@h/" "$B" doctor --env-file good.env --json); eq "malformed URL: exit 1" "$?" 1
msg=$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="database") | .message')
contains "malformed DATABASE_URL named as such" "$msg" "DATABASE_URL is set but malformed: database name missing"
case "$out" in *hunter2*) bad "password printed" ;; *) ok "password not printed" ;; esac
out=$(REDIS_URL="redis://:hunter2@" "$B" doctor --env-file good.env --json)
contains "malformed REDIS_URL named as such" "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="redis") | .message')" "REDIS_URL is set but malformed"
eq "malformed REDIS_URL fails" "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="redis") | .status')" fail
case "$out" in *hunter2*) bad "redis password printed" ;; *) ok "redis password not printed" ;; esac

# Placeholders and low-entropy secrets are failures, not "present".
cp good.env weak.env
sed -i 's/^JWT_SECRET=.*/JWT_SECRET=CHANGE-ME-32-characters-or-more-xxxxxxxx/; s/^SIGNING_KEY=.*/SIGNING_KEY=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/' weak.env
out=$("${NO_SECRETS[@]}" "$B" doctor --env-file weak.env --json); eq "weak secrets: exit 1" "$?" 1
eq "secrets check fails" "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="secrets") | .status')" fail
msg=$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="secrets") | .message')
contains "placeholder named" "$msg" "JWT_SECRET holds a placeholder"
contains "low entropy named" "$msg" "SIGNING_KEY has about 0 bits of entropy"
case "$msg" in *aaaaaaaa*|*32-characters*) bad "secret value echoed" ;; *) ok "secret values not echoed" ;; esac
out=$(ENCRYPTION_KEY=0000000000000000000000000000000000000000000000000000000000000000 "$B" doctor --env-file good.env --json)
eq "all-zero ENCRYPTION_KEY fails secrets" "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="secrets") | .status')" fail
eq "and config" "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="config") | .status')" fail

# Keys in .env that are not settings: a warning naming the closest setting.
cp good.env typo.env
printf 'PROT=9999\nMARIADB_PASSWORD=for-compose-only\n' >> typo.env
out=$("$B" doctor --env-file typo.env --json); eq "unknown key: warning only, exit 0" "$?" 0
eq "env-file warns" "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="env-file") | .status')" warn
contains "names the key and the closest setting" "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="env-file") | .message')" "unknown setting PROT ignored (did you mean PORT?)"
check "compose-only keys are not warned about" sh -c '! printf "%s" "$1" | grep -q MARIADB' _ "$out"
eq "a clean .env: env-file ok" "$(jq -r '.checks[] | select(.name=="env-file") | .status' d.json)" ok
# The roles say the same at start, as warn log lines.
cat typo.env weak.env | grep -v '^JWT_SECRET=\|^SIGNING_KEY=' > start.env
printf 'JWT_SECRET=CHANGE-ME-32-characters-or-more-xxxxxxxx\nSIGNING_KEY=%s\n' "$SIGNING_KEY" >> start.env
port=$(free_port)
"${NO_SECRETS[@]}" "$B" serve --env-file start.env --host 127.0.0.1 --port "$port" --log-format json >start.log 2>&1 &
spid=$!
wait_until 100 curl -sf -o /dev/null "http://127.0.0.1:$port/health/live"
kill -TERM "$spid"; wait "$spid"
contains "serve warns about the misspelt key" "$(grep '"level":"warn"' start.log)" "unknown setting PROT ignored (did you mean PORT?)"
contains "serve warns about the placeholder" "$(grep '"level":"warn"' start.log)" "JWT_SECRET holds a placeholder"
check "the placeholder value is not logged" sh -c "! grep -q 32-characters start.log"

# Config problems are findings, not a crash.
out=$(PORT=abc "$B" doctor --env-file good.env); eq "bad config: exit 1" "$?" 1
contains "config check names the variable" "$out" 'PORT="abc"'

# --live probe for container health checks.
start_ingot A serve
"$B" doctor --live "http://127.0.0.1:$A_PORT/health/live"; eq "--live ok: exit 0" "$?" 0
"$B" doctor --live "http://127.0.0.1:$(free_port)/health/live" 2>/dev/null; eq "--live down: exit 1" "$?" 1
finish
