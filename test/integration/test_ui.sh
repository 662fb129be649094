# The web UI at /ui: its assets and headers (curl), the stats route the
# overview reads, and the browser test (test/browser/ui.mjs: Debian's
# chromium driven by playwright-core from test/package-lock.json) against a
# serve logged into through the fake OIDC provider and one with API-key
# login. Screenshots of each view go to test/artifacts/ui/ (CI keeps no
# artifacts folder; that one is git-ignored).
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if ! [ -x "$CHROMIUM" ]; then
    bad "chromium installed ($CHROMIUM: vendor/packages.txt, role test)"; finish
fi
if ! [ -f "$INGOT_ROOT/test/node_modules/playwright-core/package.json" ]; then
    bash "$INGOT_ROOT/test/sdk-setup.sh" >sdk-setup.log 2>&1 || { bad "playwright-core installed (test/sdk-setup.sh)"; cat sdk-setup.log; finish; }
fi

jobs_setup ui
adm() { "$B" admin "$@" --env-file /dev/null; }
adm tenant create beta >/dev/null 2>&1
KB=$(adm key create --tenant beta 2>/dev/null)
adm tenant member add beta bob >/dev/null 2>&1

mkdir -p keys
python3 "$INGOT_ROOT/test/fakes/fakeoidc.py" "$T_DIR/keys" ingot-test s3cret-client > oidc.out 2>&1 &
FAKE_PIDS+=($!)
wait_until 300 grep -q '^port ' oidc.out || { bad "fakeoidc did not start"; cat oidc.out; finish; }
ISS="http://127.0.0.1:$(awk '/^port /{print $2; exit}' oidc.out)"

# every role in one process: its worker runs the jobs the UI retries; the
# depth snapshot the overview shows refreshed often
export QUEUE_DEPTH_REFRESH=300ms
P=$(free_port)
U="http://127.0.0.1:$P"
log="$INGOT_TMP/S.$$.$RANDOM.log"
"$B" run --host 127.0.0.1 --port "$P" --env-file /dev/null --http-target-allow 127.0.0.0/8,::1/128 \
    --oauth-server-url "$ISS" --oauth-client-id ingot-test --oauth-client-secret s3cret-client \
    --owner-open-id owner --public-url "$U" >"$log" 2>&1 &
INGOT_PIDS+=($!); INGOT_LOGS+=("$log")
wait_until 100 curl -sf -o /dev/null "$U/health/live" || { bad "run did not start"; tail "$log"; finish; }
# API-key login (no OIDC); access tokens of 63 s, which the page renews a
# minute before they expire (so here after its 5 s floor)
JWT_EXPIRY=63s start_ingot K serve || finish
start_ingot H serve --public-url https://ui.example.test || finish # HSTS

# --- assets and headers ---
curl -s -D h1 -o index.html "$U/ui/"
eq "GET /ui/: 200" "$(head -1 h1 | awk '{print $2}')" 200
hdr() { grep -i "^$1:" "$2" | head -1 | sed 's/^[^:]*: *//' | tr -d '\r'; }
csp=$(hdr Content-Security-Policy h1)
contains "  CSP: default-src 'self'" "$csp" "default-src 'self'"
contains "  CSP: frame-ancestors 'none'" "$csp" "frame-ancestors 'none'"
check "  CSP: no unsafe-inline, no unsafe-eval" bash -c "[[ \"$csp\" != *unsafe* ]]"
eq "  nosniff" "$(hdr X-Content-Type-Options h1)" nosniff
eq "  Referrer-Policy" "$(hdr Referrer-Policy h1)" same-origin
eq "  no HSTS with an http PUBLIC_URL" "$(hdr Strict-Transport-Security h1)" ""
contains "  text/html" "$(hdr Content-Type h1)" "text/html"
check "  no inline script or style in the page" bash -c "! grep -Eq '<script>|<script [^>]*>[^<]|<style|style=' index.html"
check "  no URL of another origin in any asset" bash -c "! grep -Eho 'https?://[^\"'\"'\"' )]*' index.html <(curl -s $U/ui/app.js) <(curl -s $U/ui/views.js) <(curl -s $U/ui/admin.js) <(curl -s $U/ui/app.css) | grep -v 'www.w3.org/2000/svg'"
for f in index.html app.css app.js views.js admin.js; do
    u=/ui/$f; [ "$f" = index.html ] && u=/ui/
    eq "  $f served as in ui/ (compiled in)" "$(http_body "$U$u" | sha256sum)" "$(sha256sum < "$INGOT_ROOT/ui/$f")"
done
et=$(hdr ETag h1)
eq "  ETag revalidates: 304" "$(http_code "$U/ui/" -H "If-None-Match: $et")" 304
curl -s -D h2 -o /dev/null "http://127.0.0.1:$H_PORT/ui/app.js"
eq "HSTS with an https PUBLIC_URL" "$(hdr Strict-Transport-Security h2)" "max-age=31536000"
contains "  javascript type" "$(hdr Content-Type h2)" "text/javascript"
eq "/ui: 302 to /ui/" "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$U/ui")" "302 $U/ui/"
eq "/ui/nope.js: 404" "$(http_code "$U/ui/nope.js")" 404
eq "/ui/methods.json with OIDC" "$(http_body "$U/ui/methods.json")" '{"oidc":true,"api_key":false}'
eq "/ui/methods.json without" "$(http_body "http://127.0.0.1:$K_PORT/ui/methods.json")" '{"oidc":false,"api_key":true}'
eq "/ui/events without a session: 401" "$(http_code "$U/ui/events")" 401

# --- jobs for the views ---
enqueue() { curl -s -X POST "$U/v1/jobs" -H "Authorization: Bearer $1" -d "$2" | jq -r .id; }
state() { mysql_root -e "SELECT state FROM $DB.jobs WHERE id = ${1#job_}"; }
enqueue "$K" "{\"kind\":\"http\",\"queue\":\"web\",\"payload\":{\"url\":\"$T/ok\"}}" >/dev/null
JF=$(enqueue "$K" "{\"kind\":\"http\",\"queue\":\"web\",\"max_attempts\":1,\"payload\":{\"url\":\"$T/status/500,200\"}}")
BULK=()
for i in 1 2 3; do
    BULK+=("$(enqueue "$K" "{\"kind\":\"http\",\"queue\":\"bulk\",\"max_attempts\":1,\"payload\":{\"url\":\"$T/status/500,200\"}}")")
done
enqueue "$KB" "{\"kind\":\"http\",\"queue\":\"betaq\",\"payload\":{\"url\":\"$T/ok\"}}" >/dev/null
curl -s -o /dev/null -X PUT "$U/v1/schedules/nightly" -H "Authorization: Bearer $K" \
    -d "{\"cron\":\"0 3 * * *\",\"job\":{\"kind\":\"http\",\"queue\":\"web\",\"payload\":{\"url\":\"$T/ok\"}}}"
curl -s -o /dev/null -X PUT "$U/v1/queues/held" -H "Authorization: Bearer $K" -d '{"paused":true}'
enqueue "$K" "{\"kind\":\"http\",\"queue\":\"held\",\"payload\":{\"url\":\"$T/ok\"}}" >/dev/null
check "the failed job failed" wait_out 150 3 state "$JF"
for j in "${BULK[@]}"; do wait_out 150 3 state "$j" || bad "bulk job $j did not fail"; done

# --- GET /v1/stats/queues ---
s=$(curl -s "$U/v1/stats/queues" -H "Authorization: Bearer $K")
eq "stats: the tenant's queues" "$(jq -c '[.data[].queue]' <<<"$s")" '["bulk","held","web"]'
eq "  60 buckets" "$(jq '.data[0].succeeded | length' <<<"$s")" 60
eq "  web: 1 succeeded, 1 failed in the hour" "$(jq -c '.data[] | select(.queue=="web") | [(.succeeded|add), (.failed|add)]' <<<"$s")" "[1,1]"
check "  a wait p95" bash -c "[ \"\$(jq '.data[0].wait_p95_ms | type' <<<'$s')\" = '\"number\"' ]"
held() { curl -s "$U/v1/stats/queues?queue=held" -H "Authorization: Bearer $K" | jq -c '.data[0] | [.paused, .queued, .running, (.oldest_queued_age_ms > 0)]'; }
check "  held: paused, 1 queued (the depth snapshot), its age" wait_out 50 '[true,1,0,true]' held
check "  the snapshot's age" bash -c "[ \"\$(jq '.depth_age_ms | type' <<<'$s')\" = '\"number\"' ]"
eq "GET /v1/queues/web?counts=false: no count" "$(curl -s "$U/v1/queues/web?counts=false" -H "Authorization: Bearer $K" | jq -c '[.name, .counts, .oldest_queued_age_ms]')" '["web",null,null]'
eq "  counts=maybe: 400 naming it" "$(curl -s "$U/v1/queues?counts=maybe" -H "Authorization: Bearer $K" | jq -r .error.param)" counts
eq "  ?queue= narrows" "$(curl -s "$U/v1/stats/queues?queue=bulk" -H "Authorization: Bearer $K" | jq -c '[.data[].queue]')" '["bulk"]'
eq "  an unknown parameter: 400 naming it" "$(curl -s "$U/v1/stats/queues?window=9" -H "Authorization: Bearer $K" | jq -r .error.param)" window
eq "  no key: 401" "$(http_code "$U/v1/stats/queues")" 401

# --- the browser ---
mkdir -p "$INGOT_ROOT/test/artifacts/ui"
INGOT_URL=$U INGOT_KEY_URL="http://127.0.0.1:$K_PORT" OIDC_ISS=$ISS INGOT_KEY=$K JOB_FAILED=$JF \
    BULK_JOBS="${BULK[*]}" CHROMIUM=$CHROMIUM SHOTS="$INGOT_ROOT/test/artifacts/ui" \
    timeout 90 node "$INGOT_ROOT/test/browser/ui.mjs" >browser.out 2>&1
rc=$?
p=$(grep -c '^ok ' browser.out); f=$(grep -c '^FAIL ' browser.out)
T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
cat browser.out
if [ "$rc" != 0 ] && [ "$f" = 0 ]; then bad "ui.mjs exited $rc"; fi
[ "$p" -ge 30 ] || bad "the browser test ran its checks ($p passed)"

# what the browser did, seen from the database
eq "the failed job succeeded after the UI's retry" "$(state "$JF")" 2
for j in "${BULK[@]}"; do eq "bulk job $j succeeded after the UI's bulk retry" "$(state "$j")" 2; done
eq "queue web paused by the UI" "$(mysql_root -e "SELECT paused FROM $DB.queues q JOIN $DB.tenants t ON t.id = q.tenant_id WHERE t.name = 'acme' AND q.name = 'web'")" 1

finish
