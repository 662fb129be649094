# Migrations: fresh database, re-run no-op, status, changed checksum
# refused, two concurrent runs.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
url=$(new_db mig1)
out=$(DATABASE_URL=$url "$B" migrate --env-file /dev/null 2>&1); eq "fresh migrate exits 0" "$?" 0
contains "prints what it applied" "$out" "applied 0001_init"
eq "every migration recorded" "$(mysql_root -e 'SELECT COUNT(*) FROM ingot_mig1.schema_migrations')" "$(ls "$INGOT_ROOT"/sql/*.sql | wc -l)"
eq "meta table created" "$(mysql_root -e "SELECT COUNT(*) FROM ingot_mig1.meta WHERE name='installation_id'")" 1
eq "checksum recorded" "$(mysql_root -e 'SELECT LENGTH(checksum) FROM ingot_mig1.schema_migrations WHERE version=1')" 64
out=$(DATABASE_URL=$url "$B" migrate --env-file /dev/null 2>&1); eq "re-run exits 0" "$?" 0
contains "re-run is a no-op" "$out" "schema is up to date"
eq "no new rows" "$(mysql_root -e 'SELECT COUNT(*) FROM ingot_mig1.schema_migrations')" "$(ls "$INGOT_ROOT"/sql/*.sql | wc -l)"
out=$(DATABASE_URL=$url "$B" migrate status --env-file /dev/null 2>&1); eq "status exits 0" "$?" 0
contains "status lists applied" "$out" "0001     init                             applied"

mysql_root -e "UPDATE ingot_mig1.schema_migrations SET checksum=REPEAT('a',64) WHERE version=1"
out=$(DATABASE_URL=$url "$B" migrate --env-file /dev/null 2>&1); eq "changed checksum refused (65)" "$?" 65
contains "names the migration" "$out" "0001_init was changed after it was applied"
out=$(DATABASE_URL=$url "$B" migrate status --env-file /dev/null 2>&1); eq "status flags change (65)" "$?" 65
contains "status says CHANGED" "$out" "CHANGED"
check "lock released after refusal" test "$(mysql_root -e "SELECT IS_FREE_LOCK(CONCAT('ingot.migrate.', MD5('ingot_mig1')))")" = 1

# Two concurrent runs on a fresh database: both succeed, one applies.
url2=$(new_db mig2)
DATABASE_URL=$url2 "$B" migrate --env-file /dev/null >c1.out 2>&1 &
p1=$!
DATABASE_URL=$url2 "$B" migrate --env-file /dev/null >c2.out 2>&1 &
p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
eq "concurrent run 1 exits 0" "$r1" 0
eq "concurrent run 2 exits 0" "$r2" 0
eq "exactly one applied it" "$(cat c1.out c2.out | grep -c 'applied 0001_init')" 1
eq "each migration once after concurrent runs" "$(mysql_root -e 'SELECT COUNT(*) FROM ingot_mig2.schema_migrations')" "$(ls "$INGOT_ROOT"/sql/*.sql | wc -l)"

# The lock is the database's: another database's migrate held on the same
# server does not wait for it; this database's does.
# A session holding mig1's lock (SLEEP marks it for the KILL below).
mysql_root -e "SELECT GET_LOCK(CONCAT('ingot.migrate.', MD5('ingot_mig1')), 0), SLEEP(61)" >/dev/null 2>&1 &
h1=$!
lock_free() { [ "$(mysql_root -e "SELECT IS_FREE_LOCK(CONCAT('ingot.migrate.', MD5('ingot_mig1')))")" = 1 ]; }
url4=$(new_db mig4)
check "a session holds mig1's lock" wait_until 50 eval '! lock_free'
mysql_root -e "UPDATE ingot_mig1.schema_migrations SET checksum = (SELECT checksum FROM ingot_mig2.schema_migrations WHERE version = 1) WHERE version = 1"
DATABASE_URL=$url4 timeout 60 "$B" migrate --env-file /dev/null >m4.out 2>&1
eq "another database migrates meanwhile" "$?" 0
DATABASE_URL=$url timeout 3 "$B" migrate --env-file /dev/null >m1.out 2>&1
eq "  this database's migrate waits for its lock" "$?" 124
mysql_root -e "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT GET_LOCK(%SLEEP(61)'" |
    while read -r id; do mysql_root -e "KILL $id" 2>/dev/null; done
wait "$h1" 2>/dev/null
check "  released once its holder is gone" wait_until 50 lock_free
out=$(DATABASE_URL=$url "$B" migrate --env-file /dev/null 2>&1); eq "  then it runs" "$?" 0
[ "$T_FAIL" = 0 ] || echo "$out"

# Unreachable database: exit 69 with a message that hides the password.
out=$(DATABASE_URL="mysql://ingot:s3cretpw@127.0.0.1:$(free_port)/x" "$B" migrate --env-file /dev/null 2>&1)
eq "unreachable database exits 69" "$?" 69
case "$out" in *s3cretpw*) bad "password printed" ;; *) ok "password not printed" ;; esac

# serve refuses an older schema, naming `ingot migrate`.
url3=$(new_db mig3)
port=$(free_port)
DATABASE_URL=$url3 timeout 20 "$B" serve --env-file /dev/null --host 127.0.0.1 --port "$port" >s.out 2>&1
eq "serve on an unmigrated schema exits 78" "$?" 78
contains "message names ingot migrate" "$(cat s.out)" "run \`ingot migrate\`"
finish
