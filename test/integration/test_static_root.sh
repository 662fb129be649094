# The static binary in an empty root, as the scratch image runs it: a
# directory holding only what the Dockerfile's runtime stage copies (the
# binary, the CA bundle, zoneinfo), entered with chroot as uid 65532 with an
# empty environment; no /etc/hosts, /etc/resolv.conf, /etc/passwd, /proc,
# /dev or /tmp. Against the loopback MariaDB and Redis over 127.0.0.1:
# version, migrate, admin, doctor, serve answering /health (ready) and the
# image's health check, an http job run by work against the fake target, a
# schedule in Europe/Berlin (next fire times in Berlin time) and a schedule
# the schedule role fires.
# Needs root (chroot). Skipped, with the reason, only when the runner was
# not asked for the static binary (make test sets INGOT_TEST_STATIC=1).
. "$(dirname "$0")/lib.sh"
SB=${INGOT_STATIC_BIN:-$INGOT_ROOT/bin/ingot-static}
asked=${INGOT_TEST_STATIC:-0}
case "$INGOT_BIN" in *ingot-static) asked=1 ;; esac
not_here() {
    if [ "$asked" = 1 ]; then bad "$1"; else ok "SKIP: $1 (INGOT_TEST_STATIC=1 makes this a failure)"; fi
    finish
}
[ -x "$SB" ] || not_here "$SB is missing (make static builds it)"
[ "$(id -u)" = 0 ] || not_here "the empty-root test needs root (chroot)"

# ---- The root: exactly the runtime stage's COPY lines ------------------
root=$T_DIR/root
rm -rf "$root" && mkdir -p "$root"
copies=$(awk '/^FROM scratch/ { s = 1; next } /^FROM / { s = 0 } s && /^COPY / { print $(NF - 1), $NF }' "$INGOT_ROOT/Dockerfile")
eq "the runtime stage copies three things" "$(printf '%s\n' "$copies" | grep -c .)" 3
while read -r src dst; do
    case "$src" in
    /src/bin/ingot-static) from=$SB ;;
    /src/*) bad "unexpected build output in the image: $src"; continue ;;
    *) from=$src ;; # Debian 12 paths (ca-certificates, tzdata), as in the builder
    esac
    [ -e "$from" ] || { bad "$from is missing (sh vendor/install.sh image)"; continue; }
    mkdir -p "$root$(dirname "$dst")"
    cp -a "$from" "$root$dst"
done <<< "$copies"
bin=$(printf '%s\n' "$copies" | awk '$1 == "/src/bin/ingot-static" { print $2 }')
check "the binary is in the root at $bin" test -x "$root$bin"
eq "nothing else at the top" "$(cd "$root" && echo *)" "etc usr"
eq "etc holds only the CA bundle" "$(cd "$root" && find etc -type f -o -type l)" "etc/ssl/certs/ca-certificates.crt"
check "zoneinfo has Europe/Berlin" test -f "$root/usr/share/zoneinfo/Europe/Berlin"

# ---- Running in it ----------------------------------------------------
db=ingot_staticroot
mysql_root -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
DBURL=${DATABASE_URL_TCP%/ingot}/$db
ENV=(DATABASE_URL="$DBURL" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
     API_KEY_HASH_SECRET="$API_KEY_HASH_SECRET" JWT_SECRET="$JWT_SECRET"
     SIGNING_KEY="$SIGNING_KEY" ENCRYPTION_KEY="$ENCRYPTION_KEY" QUEUE_DEPTH_REFRESH=1s)
# env execs chroot, which execs ingot: $! of "${RUN[@]}" & is ingot's pid.
CHROOT=(/usr/sbin/chroot --userspec=65532:65532 "$root" "$bin")
RUN=(env -i "${ENV[@]}" "${CHROOT[@]}")
cd / || exit 1 # the cwd outside the root must not matter

out=$("${RUN[@]}" version 2>&1); eq "version exits 0" "$?" 0
contains "version says static" "$out" "static build (musl"
contains "version names the allocator" "$out" "allocator mimalloc"
out=$("${RUN[@]}" migrate 2>&1); eq "migrate exits 0" "$?" 0
contains "migrate applied the schema" "$out" "schema at version"
"${RUN[@]}" admin tenant create acme >/dev/null 2>&1; eq "admin tenant create exits 0" "$?" 0
K=$("${RUN[@]}" admin key create --tenant acme 2>/dev/null)
check "admin key create prints a key" test -n "$K"
AUTH=(-H "Authorization: Bearer $K")
out=$("${RUN[@]}" doctor 2>&1); rc=$?
eq "doctor exits 0" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | head -20
contains "doctor: database reachable" "$out" "database           reachable"
contains "doctor: redis reachable" "$out" "redis              reachable"
contains "doctor: schema current" "$out" "current (version"

# Names without /etc/hosts, and doctor's findings on the root.
userpass=${DATABASE_URL_TCP#mysql://}; userpass=${userpass%%@*}
out=$(env -i "${ENV[@]}" DATABASE_URL="mysql://$userpass@localhost:$MARIADB_PORT/$db" \
    REDIS_URL="redis://localhost:$REDIS_PORT/0" "${CHROOT[@]}" doctor 2>&1); rc=$?
eq "doctor through localhost names, no /etc/hosts: exits 0" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | head -30
check "  redis reachable as localhost" grep -qE '^ok +redis +reachable' <<< "$out"
check "  says static" grep -qE '^ok +build +.*static' <<< "$out"
check "  finds the CA bundle" grep -qE '^ok +ca-bundle +/etc/ssl/certs/ca-certificates.crt' <<< "$out"
check "  finds zoneinfo" grep -qE '^ok +zoneinfo +/usr/share/zoneinfo' <<< "$out"

cd "$T_DIR" || exit 1
# start_root VAR ROLE [args]: like start_ingot, inside the root.
start_root() {
    local var=$1 role=$2; shift 2
    local port log="$INGOT_TMP/$var.$$.$RANDOM.log"
    port=$(free_port)
    "${RUN[@]}" "$role" --host 127.0.0.1 --port "$port" "$@" >"$log" 2>&1 &
    local pid=$!
    INGOT_PIDS+=("$pid"); INGOT_LOGS+=("$log")
    printf -v "${var}_PORT" '%s' "$port"
    printf -v "${var}_PID" '%s' "$pid"
    printf -v "${var}_LOG" '%s' "$log"
    if ! wait_until 100 curl -sf -o /dev/null "http://127.0.0.1:$port/health/live"; then
        bad "ingot $role did not come up in the root"; tail -20 "$log"; finish
    fi
}
start_root S serve
U="http://127.0.0.1:$S_PORT"
eq "serve runs as uid 65532" "$(awk '/^Uid:/ { print $2 "/" $3 }' "/proc/$S_PID/status")" "65532/65532"
eq "  gid 65532, no supplementary groups" "$(awk '/^Gid:/ { g = $2 } /^Groups:/ { print g "/" $2 }' "/proc/$S_PID/status")" "65532/"
eq "  inside the root" "$(readlink "/proc/$S_PID/root")" "$root"
check "/health/ready answers 200" wait_until 100 curl -sf -o /dev/null "$U/health/ready"
h=$(http_body "$U/health")
eq "/health: up, database and redis up" "$(printf '%s' "$h" | jq -r '[.status, .checks.database.status, .checks.redis.status] | join(",")')" "up,up,up"
eq "/openapi.json from the empty root is docs/openapi.json (compiled in)" \
    "$(http_body "$U/openapi.json" | jq -cS .)" "$(jq -cS . "$INGOT_ROOT/docs/openapi.json")"
eq "/ui/app.js from the empty root is ui/app.js (compiled in)" "$(http_body "$U/ui/app.js" | sha256sum)" "$(sha256sum < "$INGOT_ROOT/ui/app.js")"
"${RUN[@]}" doctor --live "$U/health/live" >/dev/null 2>&1
eq "the image's health check (doctor --live) passes" "$?" 0
dead=$(free_port)
"${RUN[@]}" doctor --live "http://127.0.0.1:$dead/health/live" >/dev/null 2>&1
check "  and fails on a dead port" test "$?" -ne 0

# ---- An http job, signed, against the fake target -----------------------
"$INGOT_FAKES/target" 0 "$SIGNING_KEY" > target.out 2>&1 &
FAKE_PIDS+=($!)
wait_until 50 grep -q '^port ' target.out || { bad "the fake target did not start"; finish; }
TP=$(awk '/^port /{print $2; exit}' target.out)
T="http://127.0.0.1:$TP"
start_root W work --http-target-allow 127.0.0.0/8
J=$(curl -s -X POST "$U/v1/jobs" "${AUTH[@]}" -d "{\"kind\":\"http\",\"queue\":\"root\",\"payload\":{\"url\":\"$T/ok?root\"}}" | jq -r .id)
eq "http job succeeded" "$(curl -s "$U/v1/jobs/$J?wait=20" "${AUTH[@]}" | jq -r .status)" succeeded
contains "the target got it, signed" "$(grep "job=$J " target.out)" "path=/ok?root sig=valid"

# ---- Europe/Berlin from the shipped zoneinfo ----------------------------
job="{\"kind\":\"http\",\"queue\":\"ticks\",\"payload\":{\"url\":\"$T/ok?tick\"}}"
code=$(curl -s -o put.out -w '%{http_code}' -X PUT "$U/v1/schedules/berlin" "${AUTH[@]}" \
    -d "{\"cron\":\"0 9 * * *\",\"timezone\":\"Europe/Berlin\",\"job\":$job,\"paused\":true}")
eq "a schedule in Europe/Berlin is accepted" "$code" 200
got=$(jq -r '.next_fire_times[]' put.out)
eq "three next fire times" "$(printf '%s\n' "$got" | grep -c .)" 3
# 09:00 Berlin on each date, computed by the host's tzdata (07:00Z or 08:00Z).
want=$(for t in $got; do TZ=UTC date -d "TZ=\"Europe/Berlin\" ${t%%T*} 09:00" +%Y-%m-%dT%H:%M:%SZ; done)
eq "next fire times are 09:00 Berlin time" "$(printf '%s\n' "$got" | sed 's/\.[0-9]*Z$/Z/')" "$want"
code=$(curl -s -o put.out -w '%{http_code}' -X PUT "$U/v1/schedules/nozone" "${AUTH[@]}" \
    -d "{\"cron\":\"@daily\",\"timezone\":\"Mars/Base\",\"job\":$job}")
eq "an unknown zone is still refused" "$code" 400

# ---- The schedule role fires a schedule; work runs its job ---------------
code=$(curl -s -o put.out -w '%{http_code}' -X PUT "$U/v1/schedules/tick" "${AUTH[@]}" \
    -d "{\"cron\":\"@every 1s\",\"timezone\":\"Europe/Berlin\",\"job\":$job}")
eq "an every-second schedule" "$code" 200
start_root SC schedule
check "the schedule fired and its job ran" wait_until 150 grep -q 'path=/ok?tick sig=valid' target.out

# ---- Clean stop: SIGTERM drains, exit 0 ----------------------------------
for v in SC W S; do
    pid_var=${v}_PID log_var=${v}_LOG
    stop_ingot "${!pid_var}" "${!log_var}"; eq "$v stops cleanly on SIGTERM" "$?" 0
done
finish
