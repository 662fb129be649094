# Dispatch, help, exit codes, config errors and precedence, init.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN

# Exit codes follow sysexits.h: 64 for a bad command line.
"$B" frobnicate >out 2>err; eq "unknown command exits 64" "$?" 64
contains "unknown command named" "$(cat err)" "unknown command 'frobnicate'"
contains "usage on stderr" "$(cat err)" "usage: ingot COMMAND"
eq "nothing on stdout" "$(cat out)" ""
"$B" >/dev/null 2>&1; eq "no command exits 64" "$?" 64
"$B" serve --no-such-flag >/dev/null 2>err; eq "unknown flag exits 64" "$?" 64
contains "unknown flag named" "$(cat err)" "unknown flag --no-such-flag"
"$B" migrate sideways >/dev/null 2>err; eq "unknown migrate action exits 64" "$?" 64
"$B" serve --port >/dev/null 2>err; eq "flag without value exits 64" "$?" 64
"$B" serve extra >/dev/null 2>&1; eq "extra argument exits 64" "$?" 64
"$B" doctor --json extra >/dev/null 2>&1; eq "doctor: extra argument exits 64" "$?" 64
"$B" init extra >/dev/null 2>&1; eq "init: extra argument exits 64" "$?" 64
"$B" admin tenant frobnicate >/dev/null 2>&1; eq "admin: unknown verb exits 64 (no database needed)" "$?" 64
"$B" admin key create >/dev/null 2>&1; eq "admin: key create without --tenant exits 64" "$?" 64
"$B" admin tenant limits acme --rpm 5 --rpm 6 >/dev/null 2>err; eq "a flag given twice exits 64" "$?" 64
contains "  naming it" "$(cat err)" "flag --rpm is given twice"
"$B" serve --port 1 --port=2 >/dev/null 2>err; eq "  a setting's flag too" "$?" 64
contains "  naming it" "$(cat err)" "flag --port is given twice"
"$B" admin model bogus >/dev/null 2>err; eq "admin: an unknown verb exits 64" "$?" 64
contains "  the usage lists every admin command (limits)" "$(cat err)" "ingot admin tenant limits"
contains "  (tenants)" "$(cat err)" "ingot admin tenant create"
contains "  and points to --help" "$(cat err)" "see \`ingot admin --help\`"
out=$("$B" help)
contains "help: admin covers the LLM gateway" "$out" "tenants, API keys, LLM providers, routes, limits and usage"
contains "help: work runs LLM jobs too" "$out" "HTTP requests and LLM calls"
out=$("$B" --help); eq "--help exits 0" "$?" 0
contains "lists serve" "$out" "serve"
contains "lists migrate" "$out" "migrate"
contains "lists schedule" "$out" "schedule "
contains "lists work" "$out" "  work "
contains "lists admin" "$out" "  admin "
contains "help lists the exit codes" "$out" "64  bad command line"
contains "exit code 78 names migrate" "$out" "run \`ingot migrate\`"
out=$("$B" help migrate); eq "help CMD exits 0" "$?" 0
contains "help CMD shows usage" "$out" "usage: ingot migrate"
out=$("$B" doctor --help); contains "CMD --help" "$out" "usage: ingot doctor"
# help works for every command, help itself included, both ways.
for c in $("$B" help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}'); do
    out=$("$B" help "$c" 2>&1); rc=$?
    eq "help $c exits 0" "$rc" 0
    contains "help $c shows its usage" "$out" "usage: ingot $c"
    out=$("$B" "$c" --help 2>&1); rc=$?
    eq "$c --help exits 0" "$rc" 0
    contains "$c --help shows its usage" "$out" "usage: ingot $c"
done
out=$("$B" help --help 2>&1); eq "help --help exits 0" "$?" 0
contains "help --help describes help" "$out" "usage: ingot help"
"$B" help nope >/dev/null 2>&1; eq "help of unknown command exits 64" "$?" 64
"$B" help serve extra >/dev/null 2>&1; eq "help with two commands exits 64" "$?" 64
out=$("$B" version); contains "version" "$out" "ingot 0."

# A bad value stops the process with one line naming the variable.
PORT=abc "$B" serve --env-file /dev/null >out 2>err; eq "bad PORT exits 78" "$?" 78
eq "one line" "$(wc -l <err | tr -d ' ')" 1
contains "line names PORT" "$(cat err)" 'PORT="abc" (from environment): not a whole number'
env -u DATABASE_URL "$B" serve --env-file /dev/null >/dev/null 2>err; eq "missing DATABASE_URL exits 78" "$?" 78
contains "names DATABASE_URL" "$(cat err)" "DATABASE_URL: required but not set"
DATABASE_URL="mysql://u:hunter2@h/" "$B" serve --env-file /dev/null >/dev/null 2>err
contains "bad DATABASE_URL explained" "$(cat err)" "database name missing"
case "$(cat err)" in *hunter2*) bad "DSN password printed" ;; *) ok "DSN password not printed" ;; esac
SHUTDOWN_GRACE=5 "$B" serve --env-file /dev/null 2>err >/dev/null
contains "duration needs a unit" "$(cat err)" "SHUTDOWN_GRACE=\"5\""
"$B" serve --env-file /nonexistent/.env 2>err >/dev/null; eq "explicit missing env file exits 78" "$?" 78

# Precedence: flag > environment > .env > default.
printf 'PORT=fromdotenv\n' > prec.env
"$B" serve --env-file prec.env 2>err >/dev/null
contains ".env value used" "$(cat err)" 'PORT="fromdotenv" (from .env file)'
PORT=fromenv "$B" serve --env-file prec.env 2>err >/dev/null
contains "environment beats .env" "$(cat err)" 'PORT="fromenv" (from environment)'
PORT=fromenv "$B" serve --env-file prec.env --port=fromflag 2>err >/dev/null
contains "flag beats environment" "$(cat err)" 'PORT="fromflag" (from flag)'

# init
rm -f .env
"$B" init --port 9999 2>err; eq "init exits 0" "$?" 0
check "init wrote .env" test -f .env
eq "mode 0600" "$(stat -c %a .env)" 600
contains "flag value written" "$(cat .env)" "PORT=9999"
s1=$(grep '^JWT_SECRET=' .env | cut -d= -f2)
eq "secret is 64 hex" "$(printf '%s' "$s1" | grep -cE '^[0-9a-f]{64}$')" 1
"$B" init 2>err; eq "init refuses to overwrite (73)" "$?" 73
contains "says --force" "$(cat err)" "--force"
eq "file untouched" "$(grep '^JWT_SECRET=' .env | cut -d= -f2)" "$s1"
"$B" init --force 2>/dev/null; eq "init --force exits 0" "$?" 0
s2=$(grep '^JWT_SECRET=' .env | cut -d= -f2)
check "fresh secret after --force" test "$s1" != "$s2"
check "no temp files left" test -z "$(ls -a | grep '\.tmp\.')"
"$B" init --port nope 2>err; eq "init validates flags" "$?" 78
# The generated file is a valid config.
DATABASE_URL="$DATABASE_URL" "$B" doctor --env-file .env --json >doc.json 2>/dev/null
contains "generated .env passes config check" "$(cat doc.json)" '"name":"secrets","status":"ok"'

# admin: exit codes with one meaning each; an unmigrated database names
# `ingot migrate`.
raw=$(new_db cli_admin)
for c in "tenant list" "tenant create acme" "key list" "key revoke ik_doesnotexist" "key create --tenant acme"; do
    # shellcheck disable=SC2086
    DATABASE_URL=$raw "$B" admin $c --env-file /dev/null >out 2>err; rc=$?
    eq "admin $c on an unmigrated database exits 78" "$rc" 78
    contains "admin $c names ingot migrate" "$(cat err)" "run \`ingot migrate\`"
    case "$(cat err)" in *"doesn't exist"*) bad "admin $c leaks the SQL error" ;; *) ok "admin $c: no SQL error" ;; esac
done
DATABASE_URL="mysql://ingot:pw@127.0.0.1:$(free_port)/x" "$B" admin tenant list --env-file /dev/null >/dev/null 2>&1
eq "admin: database unreachable exits 69" "$?" 69
DATABASE_URL="mysql://ingot:pw@127.0.0.1/" "$B" admin tenant list --env-file /dev/null >/dev/null 2>&1
eq "admin: bad DATABASE_URL exits 78" "$?" 78
url=$(migrated_db cli_admin2) || bad "migrate"
export DATABASE_URL=$url
"$B" admin key revoke ik_doesnotexist --env-file /dev/null >out 2>err; rc=$?
eq "revoke an unknown key exits 65" "$rc" 65
contains "revoke an unknown key says no such key" "$(cat err)" "no such key"
case "$(cat err)" in *revoked*) bad "unknown key reported revoked" ;; *) ok "unknown key not reported revoked" ;; esac
"$B" admin key create --tenant nobody --env-file /dev/null >/dev/null 2>err; eq "key for an unknown tenant exits 65" "$?" 65
contains "and says no such tenant" "$(cat err)" "no such tenant"
out=$("$B" admin key list --tenant nobody --env-file /dev/null 2>err); eq "key list of an unknown tenant exits 65, like create" "$?" 65
contains "and says no such tenant" "$(cat err)" "no such tenant"
eq "and prints no table" "$out" ""
"$B" admin tenant create acme --env-file /dev/null >/dev/null 2>&1; eq "tenant create exits 0" "$?" 0
"$B" admin tenant create acme --env-file /dev/null >/dev/null 2>&1; eq "duplicate tenant exits 65" "$?" 65
K=$("$B" admin key create --tenant acme --env-file /dev/null 2>/dev/null); eq "key create exits 0" "$?" 0
"$B" admin key revoke "${K:0:11}" --env-file /dev/null 2>err; eq "revoke by prefix exits 0" "$?" 0
contains "revoked" "$(cat err)" "revoked ${K:0:11}"
eq "the key is revoked in the database" "$(mysql_root -e "SELECT COUNT(*) FROM ingot_cli_admin2.api_keys WHERE revoked_at IS NOT NULL")" 1
"$B" admin key revoke "$K" --env-file /dev/null 2>err; eq "revoking twice (whole key) exits 0" "$?" 0
contains "says already revoked" "$(cat err)" "already revoked"
K2=$("$B" admin key create --tenant acme --env-file /dev/null 2>/dev/null)
"$B" admin key revoke "$K2" --env-file /dev/null 2>err; eq "revoke by whole key exits 0" "$?" 0
case "$(cat err)" in *"$K2"*) bad "whole key echoed" ;; *) ok "whole key not echoed" ;; esac

# A port already in use: 71, not a configuration error.
start_ingot L serve || bad "serve starts"
"$B" serve --env-file /dev/null --host 127.0.0.1 --port "$L_PORT" >/dev/null 2>err; eq "port in use exits 71" "$?" 71
contains "names the address" "$(cat err)" "cannot listen on 127.0.0.1:$L_PORT"

# .env.example is exactly what the settings table generates.
"$B" init --example > example.out
check ".env.example matches the settings table" cmp -s example.out "$INGOT_ROOT/.env.example"
finish
