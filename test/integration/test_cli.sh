# Dispatch, help, exit codes, config errors and precedence, init.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN

"$B" frobnicate >out 2>err; eq "unknown command exits 2" "$?" 2
contains "unknown command named" "$(cat err)" "unknown command 'frobnicate'"
contains "usage on stderr" "$(cat err)" "usage: ingot COMMAND"
eq "nothing on stdout" "$(cat out)" ""
"$B" >/dev/null 2>&1; eq "no command exits 2" "$?" 2
"$B" serve --no-such-flag >/dev/null 2>err; eq "unknown flag exits 2" "$?" 2
contains "unknown flag named" "$(cat err)" "unknown flag --no-such-flag"
"$B" migrate sideways >/dev/null 2>err; eq "unknown migrate action exits 2" "$?" 2
"$B" serve --port >/dev/null 2>err; eq "flag without value exits 2" "$?" 2
out=$("$B" --help); eq "--help exits 0" "$?" 0
contains "lists serve" "$out" "serve"
contains "lists migrate" "$out" "migrate"
contains "lists schedule" "$out" "schedule "
contains "lists work" "$out" "  work "
contains "lists admin" "$out" "  admin "
out=$("$B" help migrate); eq "help CMD exits 0" "$?" 0
contains "help CMD shows usage" "$out" "usage: ingot migrate"
out=$("$B" doctor --help); contains "CMD --help" "$out" "usage: ingot doctor"
"$B" help nope >/dev/null 2>&1; eq "help of unknown command exits 2" "$?" 2
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

# .env.example is exactly what the settings table generates.
"$B" init --example > example.out
check ".env.example matches the settings table" cmp -s example.out "$INGOT_ROOT/.env.example"
finish
