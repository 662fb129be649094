# The SSRF guard and job-URL validation end to end. Network rule: every
# address here is loopback (the fake target listens on 127.0.0.1 only);
# refusals are proven with loopback spellings while HTTP_TARGET_ALLOW is
# unset, never with a private or metadata address.
. "$(dirname "$0")/lib.sh"
unset HTTP_TARGET_ALLOW LLM_BASE_URL BUILT_IN_FORGE_API_URL http_proxy HTTP_PROXY https_proxy HTTPS_PROXY ALL_PROXY all_proxy
jobs_setup ssrf
q() { mysql_root -e "$1"; }
start_ingot S serve
U="http://127.0.0.1:$S_PORT"
post_job() { curl -s -X POST "$U/v1/jobs" "${AUTH[@]}" -d "{\"kind\":\"http\",$1}"; }
enqueue() { post_job "$1" | jq -r .id; }
state_of() { q "SELECT state FROM $DB.jobs WHERE id = ${1#job_}"; }
wait_state() { wait_until "${3:-150}" out_is "$2" state_of "$1"; }
last_error() { q "SELECT last_error FROM $DB.jobs WHERE id = ${1#job_}"; }
reqs() { grep -c '^REQ ' target.out; }
hits() { grep -c "job=$1 " target.out; }

# The API validates with libcurl's parser: what it accepts is what the
# worker connects to, and credentials never get stored.
r=$(post_job "\"payload\":{\"url\":\"http://a@allowed.example@127.0.0.1:$TP/ok\"}")
eq "two @: refused (param)" "$(printf '%s' "$r" | jq -r .error.param)" payload.url
r=$(post_job "\"payload\":{\"url\":\"http://user:secret@127.0.0.1:$TP/ok\"}")
eq "credentials in payload.url: refused (param)" "$(printf '%s' "$r" | jq -r .error.param)" payload.url
contains "credentials: the reason says so" "$(printf '%s' "$r" | jq -r .error.message)" "payload.url: must not contain credentials"
r=$(post_job "\"payload\":{\"url\":\"$T/ok\"},\"callback_url\":\"http://u@127.0.0.1:$TP/echo\"")
eq "credentials in callback_url: refused (param)" "$(printf '%s' "$r" | jq -r .error.param)" callback_url
contains "callback_url reason" "$(printf '%s' "$r" | jq -r .error.message)" "callback_url: must not contain credentials"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/v1/jobs" "${AUTH[@]}" -d "{\"kind\":\"http\",\"payload\":{\"url\":\"http://127.0.0.1:0/ok\"}}")
eq "port 0: 422" "$code" 422
for bad in "ftp://127.0.0.1:$TP/ok" "http:/127.0.0.1:$TP/ok" "http://[fe80::1%25lo]:$TP/ok" "http://127.0.0.1:$TP/a%20b c"; do
    eq "refused at the API: $bad" "$(post_job "\"payload\":{\"url\":\"$bad\"}" | jq -r .error.param)" payload.url
done
eq "none of them stored" "$(q "SELECT COUNT(*) FROM $DB.jobs")" 0

# HTTP_TARGET_ALLOW unset: every loopback spelling is refused on the
# address curl would connect to, the job fails at once naming it, and the
# target sees nothing.
FORMS=(127.0.0.1 localhost "[::1]" 127.1 2130706433 0x7f.1 "[::ffff:127.0.0.1]" 017700000001)
declare -A JOB
for host in "${FORMS[@]}"; do
    JOB[$host]=$(enqueue "\"payload\":{\"url\":\"http://$host:$TP/ok\"},\"max_attempts\":3")
done
# A callback to loopback is a job like any other: refused the same way.
JCB=$(enqueue "\"payload\":{\"url\":\"http://127.0.0.1:$TP/ok\"},\"callback_url\":\"http://0x7f.1:$TP/echo?cb=1\"")
start_ingot W work
for host in "${FORMS[@]}"; do
    J=${JOB[$host]}
    check "unset allow: $host refused (failed)" wait_state "$J" 3
    err=$(last_error "$J")
    contains "unset allow: $host: the guard says so" "$err" "refused by the SSRF guard"
    case "$host" in
    "[::1]") want="::1 (loopback)" ;;
    localhost) want="(loopback) for host localhost" ;;
    *) want="127.0.0.1 (loopback)" ;;
    esac
    contains "unset allow: $host: names the refused address" "$err" "$want"
    eq "unset allow: $host: one attempt, no retry" "$(q "SELECT attempts FROM $DB.jobs WHERE id = ${J#job_}")" 1
done
check "callback job refused too" wait_until 150 sh -c "test \"\$(mariadb --no-defaults --socket=$MARIADB_SOCKET -uroot -N -B -e \"SELECT state FROM $DB.jobs WHERE queue = 'callbacks'\")\" = 3"
contains "callback: the guard names 127.0.0.1" "$(q "SELECT last_error FROM $DB.jobs WHERE queue = 'callbacks'")" "127.0.0.1 (loopback)"
eq "unset allow: the target saw zero requests" "$(reqs)" 0
stop_ingot "$W_PID" "$W_LOG"

# A kept-alive connection opened by an unguarded transfer (the worker's
# LLM health check) is checked again before a job's request uses it.
LLM_BASE_URL="http://127.0.0.1:$TP/v1" start_ingot WL work
curl -s -o /dev/null "http://127.0.0.1:$WL_PORT/health"
check "the health check reached the target" wait_until 50 grep -q 'path=/v1/models' target.out
JR=$(enqueue "\"payload\":{\"url\":\"http://127.0.0.1:$TP/ok\"}")
check "job on a reused loopback connection refused" wait_state "$JR" 3
contains "reused connection: the guard names the address" "$(last_error "$JR")" "127.0.0.1 (loopback)"
eq "reused connection: the job never reached the target" "$(hits "$JR")" 0
stop_ingot "$WL_PID" "$WL_LOG"

# An allow entry that curl would rewrite (a numeric spelling written as a
# name) could never match curl's host: refused at start, naming it.
out=$(HTTP_TARGET_ALLOW=0x7f.1 timeout 20 "$INGOT_BIN" work --env-file /dev/null --host 127.0.0.1 --port "$(free_port)" 2>&1)
rc=$?
check "HTTP_TARGET_ALLOW=0x7f.1: worker refuses to start (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
contains "HTTP_TARGET_ALLOW=0x7f.1: says why" "$out" "HTTP_TARGET_ALLOW: '0x7f.1'"

# A host-name entry matches curl's host exactly (case-insensitively), and
# only that host: 127.0.0.1 stays refused.
JN1=$(enqueue "\"payload\":{\"url\":\"http://LocalHost:$TP/ok\"}")
JN2=$(enqueue "\"payload\":{\"url\":\"http://127.0.0.1:$TP/ok\"}")
HTTP_TARGET_ALLOW=localhost start_ingot WN work
check "allow localhost: http://LocalHost succeeds" wait_state "$JN1" 2
eq "allow localhost: reached the target once" "$(hits "$JN1")" 1
check "allow localhost: 127.0.0.1 still refused" wait_state "$JN2" 3
eq "allow localhost: 127.0.0.1 never reached the target" "$(hits "$JN2")" 0
stop_ingot "$WN_PID" "$WN_LOG"

# HTTP_TARGET_ALLOW=127.0.0.0/8: the same jobs reach the fake target.
# [::1] is outside the CIDR and stays refused; localhost reaches
# 127.0.0.1 even if ::1 is tried (and refused) first.
declare -A OK
for host in "${FORMS[@]}"; do
    OK[$host]=$(enqueue "\"payload\":{\"url\":\"http://$host:$TP/ok\"}")
done
HTTP_TARGET_ALLOW=127.0.0.0/8 start_ingot W2 work
for host in "${FORMS[@]}"; do
    J=${OK[$host]}
    if [ "$host" = "[::1]" ]; then
        check "allow 127.0.0.0/8: [::1] still refused" wait_state "$J" 3
        eq "allow 127.0.0.0/8: [::1] never reached the target" "$(hits "$J")" 0
    else
        check "allow 127.0.0.0/8: $host succeeds" wait_state "$J" 2
        eq "allow 127.0.0.0/8: $host reached the target once" "$(hits "$J")" 1
    fi
done
stop_ingot "$W2_PID" "$W2_LOG"
finish
