# The runtime needs no file it does not ship. Each ingot here runs in its
# own mount namespace (unshare -m) where /etc is an empty tmpfs (only
# ld.so.cache put back, for the dynamic ASan build) and /usr/share is one
# too: no resolv.conf, no hosts, no CA bundle, no zoneinfo. The real files
# are never touched. Proven there: names (localhost, *.localhost) reach
# MariaDB, Redis, the LLM upstream and HTTP jobs; a name that needs a
# nameserver fails saying so; the SSRF guard still refuses localhost forms;
# a missing CA bundle stops serve at start naming CA_BUNDLE; a schedule in
# Europe/Berlin from a copied ZONEINFO_DIR; doctor's findings. Every
# address is loopback. Needs root (unshare, mount): skipped otherwise.
. "$(dirname "$0")/lib.sh"
unset HTTP_TARGET_ALLOW CA_BUNDLE ZONEINFO_DIR LLM_BASE_URL BUILT_IN_FORGE_API_URL http_proxy HTTP_PROXY \
    https_proxy HTTPS_PROXY ALL_PROXY all_proxy
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
    echo "skip: needs root and unshare -m (mount namespaces)"
    echo "0 passed, 0 failed"
    exit 0
fi
REAL=$INGOT_BIN
mkdir -p keep
cp /etc/ld.so.cache keep/ 2>/dev/null || : > keep/ld.so.cache
# ingot-nofiles: the binary, in a namespace without the files. unshare
# execs (no fork), so the PID start_ingot records is ingot's own.
cat > ingot-nofiles <<EOF
#!/bin/sh
exec unshare -m sh -c 'mount -t tmpfs -o size=1m,mode=755 tmpfs /etc && cp "$T_DIR/keep/ld.so.cache" /etc/ &&
    mount -t tmpfs -o size=1m,mode=755 tmpfs /usr/share && exec "\$0" "\$@"' "$REAL" "\$@"
EOF
chmod +x ingot-nofiles
NF=$T_DIR/ingot-nofiles
nofiles_sh() { unshare -m sh -c "mount -t tmpfs tmpfs /etc && mount -t tmpfs tmpfs /usr/share && $1"; }
check "the namespace has no resolv.conf, hosts, CA bundle or zoneinfo" nofiles_sh \
    'test ! -e /etc/resolv.conf && test ! -e /etc/hosts && test ! -e /etc/ssl/certs/ca-certificates.crt && test ! -e /usr/share/zoneinfo'
check "the real files are still there" test -e /usr/share/zoneinfo/Europe/Berlin
contains "version runs there" "$("$NF" version 2>&1)" "build ("

# What the deployment ships, outside /etc and /usr/share.
cp /etc/ssl/certs/ca-certificates.crt ca.pem
mkdir -p zi/Europe && cp /usr/share/zoneinfo/Europe/Berlin zi/Europe/Berlin
certs=$(grep -c 'BEGIN CERTIFICATE' ca.pem)

url=$(new_db rtfiles) || { bad "database"; finish; }
dbname=${url%%\?*}; dbname=${dbname##*/}
userpass=${url#mysql://}; userpass=${userpass%%@*}
# TCP through names only the localhost rule can resolve here.
export DATABASE_URL="mysql://$userpass@localhost:$MARIADB_PORT/$dbname"
export REDIS_URL="redis://cache.localhost:$REDIS_PORT/0"

# ---- CA bundle: refused at start when missing, naming CA_BUNDLE
out=$(timeout 30 "$NF" serve --host 127.0.0.1 --port 0 --env-file /dev/null 2>&1); rc=$?
eq "no CA bundle: serve exits 78 at start" "$rc" 78
contains "  names CA_BUNDLE and the default file" "$out" "CA_BUNDLE: not set, and the default CA bundle is unusable (cannot read /etc/ssl/certs/ca-certificates.crt"
contains "  says what to do" "$out" "set CA_BUNDLE to a PEM file of CA certificates, or CA_BUNDLE=none"
out=$(CA_BUNDLE=$T_DIR/missing.pem timeout 30 "$NF" work --host 127.0.0.1 --port 0 --env-file /dev/null 2>&1); rc=$?
eq "CA_BUNDLE unreadable: work exits 78" "$rc" 78
contains "  names it" "$out" "CA_BUNDLE=\"$T_DIR/missing.pem\" (from environment): cannot read $T_DIR/missing.pem"
: > empty.pem
out=$(CA_BUNDLE=$T_DIR/empty.pem timeout 30 "$NF" serve --host 127.0.0.1 --port 0 --env-file /dev/null 2>&1); rc=$?
eq "CA_BUNDLE without a certificate: exits 78" "$rc" 78
contains "  says so" "$out" "holds no PEM certificate"
export CA_BUNDLE=$T_DIR/ca.pem

# ---- one-shot commands resolve localhost names without /etc/hosts
out=$(DATABASE_URL="mysql://$userpass@db.localhost:$MARIADB_PORT/$dbname" "$NF" migrate --env-file /dev/null 2>&1)
eq "migrate over db.localhost" "$?" 0
"$REAL" admin tenant create acme --env-file /dev/null >/dev/null 2>&1
K=$("$REAL" admin key create --tenant acme --env-file /dev/null 2>/dev/null)
AUTH=(-H "Authorization: Bearer $K")

"$NF" doctor --env-file /dev/null --json > d.json 2> d.err
check "doctor --json parses" jq -e . d.json
st() { jq -r --arg n "$1" '.checks[] | select(.name==$n) | .status' d.json; }
msg() { jq -r --arg n "$1" '.checks[] | select(.name==$n) | .message' d.json; }
eq "doctor: database over localhost" "$(st database)" ok
eq "doctor: redis over cache.localhost" "$(st redis)" ok
eq "doctor: build" "$(st build)" ok
contains "  says static or dynamic, and the allocator" "$(msg build)" "allocator"
eq "doctor: CA bundle found" "$(st ca-bundle)" ok
eq "  its path and certificate count" "$(msg ca-bundle)" "$T_DIR/ca.pem (CA_BUNDLE): $certs certificates"
eq "doctor: no zoneinfo dir warns" "$(st zoneinfo)" warn
contains "  naming ZONEINFO_DIR" "$(msg zoneinfo)" "ZONEINFO_DIR /usr/share/zoneinfo does not exist: only UTC schedules work"
eq "doctor: no resolv.conf, but every host is localhost: ok" "$(st resolver)" ok
contains "  says the fallback is in use" "$(msg resolver)" "no /etc/resolv.conf: no nameserver, fine here"
contains "  and that hosts is missing" "$(msg resolver)" "no hosts file (localhost is loopback built in)"
ZONEINFO_DIR=$T_DIR/zi REDIS_URL="redis://cache.internal.example:$REDIS_PORT/0" "$NF" doctor --env-file /dev/null --json > d.json 2>&1
eq "doctor: copied zoneinfo found" "$(st zoneinfo)" ok
eq "  Europe/Berlin loads" "$(msg zoneinfo)" "$T_DIR/zi (Europe/Berlin loads)"
eq "doctor: a host that needs a nameserver warns" "$(st resolver)" warn
contains "  naming the setting and host" "$(msg resolver)" "REDIS_URL's host cache.internal.example cannot be resolved"
contains "doctor: redis names the missing nameserver" "$(msg redis)" "cannot resolve cache.internal.example: no nameserver (/etc/resolv.conf does not exist)"
check "doctor: no secret in its output" sh -c "! grep -qe '$SIGNING_KEY' -e '$API_KEY_HASH_SECRET' -e '${userpass#*:}' d.json"

# ---- serve and work there: MariaDB, Redis, LLM upstream, HTTP jobs
start_fakellm
"$INGOT_FAKES/target" 0 "$SIGNING_KEY" > target.out 2>&1 &
FAKE_PIDS+=($!)
wait_until 50 grep -q '^port ' target.out
TP=$(awk '/^port /{print $2; exit}' target.out)
export ZONEINFO_DIR=$T_DIR/zi
INGOT_BIN=$NF LLM_BASE_URL="http://llm.localhost:$LP/v1" LLM_API_KEY=sk-fake-0123 start_ingot S serve || finish
U="http://127.0.0.1:$S_PORT"
eq "serve: /health/ready (MariaDB over localhost)" "$(http_code "$U/health/ready")" 200
wait_until 50 sh -c "curl -s '$U/health' | jq -e '.checks.redis.status == \"up\"'"
eq "serve: Redis up over cache.localhost" "$(http_body "$U/health" | jq -r .checks.redis.status)" up
code=$(curl -s -o chat.json -w '%{http_code}' --max-time 10 -X POST "$U/v1/chat/completions" "${AUTH[@]}" \
    -H 'Content-Type: application/json' -d '{"model":"fake-ok","messages":[{"role":"user","content":"hi"}]}')
eq "serve: LLM call through llm.localhost" "$code" 200

put() { curl -s -o put.out -w '%{http_code}' -X PUT "$U/v1/schedules/$1" "${AUTH[@]}" -d "$2"; }
job="{\"kind\":\"http\",\"queue\":\"ticks\",\"payload\":{\"url\":\"http://127.0.0.1:$TP/ok\"}}"
eq "schedule in Europe/Berlin from ZONEINFO_DIR" "$(put berlin "{\"cron\":\"0 9 * * *\",\"timezone\":\"Europe/Berlin\",\"job\":$job,\"paused\":true}")" 200
first=$(jq -r '.next_fire_times[0]' put.out)
case "$first" in *T07:00:00Z|*T08:00:00Z) ok "  09:00 Berlin is 07:00 or 08:00 UTC ($first)" ;;
*) bad "  09:00 Berlin is 07:00 or 08:00 UTC"; echo "  got $first" ;; esac
eq "a zone not shipped: 400" "$(put ny "{\"cron\":\"@daily\",\"timezone\":\"America/New_York\",\"job\":$job}")" 400
eq "UTC needs no file" "$(put utc "{\"cron\":\"0 9 * * *\",\"timezone\":\"UTC\",\"job\":$job,\"paused\":true}")" 200
eq "  09:00 UTC" "$(jq -r '.next_fire_times[0]' put.out | cut -c11-)" "T09:00:00Z"
stop_all_ingot

# ZONEINFO_DIR missing: UTC still works, a zone is refused naming the setting.
INGOT_BIN=$NF ZONEINFO_DIR=/nonexistent/zi start_ingot S serve || finish
U="http://127.0.0.1:$S_PORT"
contains "serve warns at start" "$(cat "$S_LOG")" "ZONEINFO_DIR /nonexistent/zi does not exist: only UTC schedules work"
eq "no zoneinfo: Europe/Berlin refused" "$(put berlin2 "{\"cron\":\"@daily\",\"timezone\":\"Europe/Berlin\",\"job\":$job}")" 400
contains "  the reason names ZONEINFO_DIR" "$(jq -r .error.message put.out)" "ZONEINFO_DIR /nonexistent/zi does not exist"
eq "no zoneinfo: UTC accepted" "$(put utc2 "{\"cron\":\"@daily\",\"timezone\":\"UTC\",\"job\":$job,\"paused\":true}")" 200

# HTTP jobs: the SSRF guard still sees loopback behind localhost names,
# a name that needs a nameserver fails saying why, an allowed localhost
# target is reached.
q() { mysql_root -e "$1"; }
post() { curl -s -X POST "$U/v1/jobs" "${AUTH[@]}" -d "{\"kind\":\"http\",\"max_attempts\":1,\"payload\":{\"url\":\"$1\"}}" | jq -r .id; }
state_of() { q "SELECT state FROM $dbname.jobs WHERE id = ${1#job_}"; } # 2 succeeded, 3 failed
last_error() { q "SELECT last_error FROM $dbname.jobs WHERE id = ${1#job_}"; }
INGOT_BIN=$NF start_ingot W work || finish
J1=$(post "http://localhost:$TP/ok?j1")
J2=$(post "http://target.localhost:$TP/ok?j2")
J3=$(post "http://target.internal.example:$TP/ok?j3")
for j in "$J1" "$J2" "$J3"; do wait_until 150 out_is 3 state_of "$j"; done
eq "guard: localhost refused (HTTP_TARGET_ALLOW unset): failed" "$(state_of "$J1")" 3
contains "  as loopback" "$(last_error "$J1")" "(loopback) for host localhost"
eq "guard: target.localhost refused: failed" "$(state_of "$J2")" 3
contains "  as loopback" "$(last_error "$J2")" "(loopback) for host target.localhost"
eq "a name without a nameserver: failed" "$(state_of "$J3")" 3
contains "  saying why" "$(last_error "$J3")" "no nameserver: /etc/resolv.conf does not exist"
ms=$(grep -o "$J3: attempt 1/1 failed ([0-9]* ms)" "$W_LOG" | grep -o '[0-9]* ms' | grep -o '[0-9]*')
check "  at once, not after the C library's DNS timeout (${ms:-?} ms)" test "${ms:-99999}" -lt 1000
eq "the target saw none of them" "$(grep -c '^REQ ' target.out)" 0
stop_ingot "$W_PID" "$W_LOG" >/dev/null
INGOT_BIN=$NF HTTP_TARGET_ALLOW=127.0.0.0/8 start_ingot W work || finish
J4=$(post "http://target.localhost:$TP/ok?j4")
wait_until 150 out_is 2 state_of "$J4"
eq "allowed: an http job to target.localhost succeeds" "$(state_of "$J4")" 2
eq "  the target got it" "$(grep -c "job=$J4 " target.out)" 1
stop_ingot "$W_PID" "$W_LOG" >/dev/null

# CA_BUNDLE=none: starts without any bundle; https fails naming the setting.
INGOT_BIN=$NF CA_BUNDLE=none HTTP_TARGET_ALLOW=127.0.0.0/8 start_ingot W work || finish
contains "CA_BUNDLE=none: starts, and says TLS is off" "$(cat "$W_LOG")" "CA_BUNDLE=none: outbound TLS is off"
J5=$(post "https://target.localhost:$TP/ok?j5")
wait_until 150 out_is 3 state_of "$J5"
eq "CA_BUNDLE=none: an https job fails" "$(state_of "$J5")" 3
contains "  naming the setting" "$(last_error "$J5")" "outbound TLS is off (CA_BUNDLE=none)"
eq "  nothing reached the target" "$(grep -c "job=$J5 " target.out)" 0
finish
