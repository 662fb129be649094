# Webhooks (issue 11 item 4), with the official openai SDK as both the
# endpoints' client and the receiver's verifier (test/llm/webhooks.mjs):
# signed deliveries that webhooks.unwrap() accepts and tampered, wrongly
# keyed or stale ones it rejects; retries until 2xx with the same
# webhook-id and a fresh signature; fan-out to subscribed endpoints only;
# rotation; tenant isolation; the SSRF guard refusing loopback URLs while
# HTTP_TARGET_ALLOW is unset; the admin commands; no secret in any log or
# in the jobs table.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
A=(--env-file /dev/null)

if ! [ -f "$INGOT_ROOT/test/node_modules/openai/package.json" ]; then
    bash "$INGOT_ROOT/test/sdk-setup.sh" >sdk-setup.log 2>&1 || { bad "openai SDK installed (test/sdk-setup.sh)"; cat sdk-setup.log; finish; }
fi

url=$(migrated_db webhooks) || { bad "migrate"; finish; }
export DATABASE_URL=$url
DB=ingot_webhooks
for t in acme other; do "$B" admin tenant create "$t" "${A[@]}" >/dev/null 2>&1; done
K=$("$B" admin key create --tenant acme "${A[@]}" 2>/dev/null)
KO=$("$B" admin key create --tenant other "${A[@]}" 2>/dev/null)
SECRETS="$T_DIR/secrets.txt"
: >"$SECRETS"
export LOG_LEVEL=debug # the most a log can say, and still no secret

run_node() { # run_node NAME URL MODE: counts the script's ok/FAIL lines
    local name=$1 url=$2 mode=$3 out="$1.out" rc p f
    INGOT_URL=$url METRICS_URL=${4:-$url} INGOT_KEY=$K OTHER_KEY=$KO INGOT_BIN=$B SECRETS_OUT=$SECRETS \
        timeout 150 node "$INGOT_ROOT/test/llm/webhooks.mjs" "$mode" >"$out" 2>&1; rc=$?
    p=$(grep -c '^ok ' "$out"); f=$(grep -c '^FAIL ' "$out")
    T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
    cat "$out"
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then bad "$name: node exited $rc"; tail -20 "$out"; fi
}

# 1. No HTTP_TARGET_ALLOW: every loopback spelling is refused at delivery.
unset HTTP_TARGET_ALLOW
start_ingot N run || finish
run_node ssrf "http://127.0.0.1:$N_PORT" ssrf
stop_ingot "$N_PID" "$N_LOG"
LOGS=("$N_LOG")

# 2. The roles apart, as in production: serve answers the API, work
# delivers (loopback allowed: the receiver is on 127.0.0.1). The SDK end
# to end.
start_ingot S serve || finish
start_ingot W work --http-target-allow 127.0.0.0/8 || finish
LOGS+=("$S_LOG" "$W_LOG")
run_node main "http://127.0.0.1:$S_PORT" main "http://127.0.0.1:$W_PORT"

# 2b. GET /v1/webhook_endpoints: a cursor page and the refusals, byte for byte.
WU="http://127.0.0.1:$S_PORT/v1/webhook_endpoints"
WH=(-H "Authorization: Bearer $K" -H "Content-Type: application/json")
mine=() # two more endpoints (deleted below: they would count in the emits of section 3)
for u in a b; do mine+=("$(curl -s "${WH[@]}" -d "{\"url\":\"http://127.0.0.1:9/$u\"}" "$WU" | jq -r .id)"); done
all=$(curl -s "${WH[@]}" "$WU" | jq -c '[.data[].id]')
p1=$(curl -s "${WH[@]}" "$WU?limit=1")
eq "list: limit=1 is one endpoint, first and last its id, more to come" \
    "$(jq -c '[keys_unsorted, (.data | length), .first_id == .data[0].id, .last_id == .data[0].id, .has_more]' <<<"$p1")" \
    '[["object","data","first_id","last_id","has_more"],1,true,true,true]'
first=$(jq -r .first_id <<<"$p1")
eq "list: after the first page, the rest" "$(curl -s "${WH[@]}" "$WU?after=$first&limit=100" | jq -c '[.data[].id]')" "$(jq -c '.[1:]' <<<"$all")"
eq "list: after an id of another tenant: an empty page" "$(curl -s -H "Authorization: Bearer $KO" "$WU?after=$first")" \
    '{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}'
for v in 0 101 +1 x ''; do
    eq "list: limit='$v' refused" "$(curl -s "${WH[@]}" "$WU?limit=$v" | jq -c .error)" \
        '{"message":"limit: must be a whole number from 1 to 100","type":"invalid_request_error","param":"limit","code":"invalid_value"}'
done
eq "list: after=x refused" "$(curl -s "${WH[@]}" "$WU?after=x" | jq -c .error)" \
    '{"message":"after: must be a webhook endpoint id (whe_ and 24 hex digits) from an earlier page","type":"invalid_request_error","param":"after","code":"invalid_value"}'
for id in "${mine[@]}"; do
    eq "list: the page's endpoint $id deleted" "$(http_code "$WU/$id" -X DELETE "${WH[@]}")" 200
done

# 3. The admin commands on the same rows.
SEC=$("$B" admin webhook add acme http://127.0.0.1:9/adm --events batch.failed,response.completed --name adm "${A[@]}" 2>adm.err)
check "admin webhook add prints the secret alone" grep -qE '^whsec_[A-Za-z0-9+/]{43}=$' <<<"$SEC"
echo "$SEC" >>"$SECRETS"
LIST=$("$B" admin webhook list acme "${A[@]}")
contains "admin webhook list shows it" "$LIST" "http://127.0.0.1:9/adm	batch.failed,response.completed	adm"
check "admin webhook list shows no secret" bash -c "! grep -qF -- '$SEC' <<<'$LIST'"
WID=$(awk '$3 == "http://127.0.0.1:9/adm" {print $1}' <<<"$LIST")
check "admin webhook disable" "$B" admin webhook disable acme "$WID" "${A[@]}"
eq "admin webhook emit skips the disabled one" "$("$B" admin webhook emit acme batch.failed --data '{"id":"batch_9"}' "${A[@]}" 2>/dev/null)" 0
JOB=$("$B" admin webhook test acme "$WID" --event response.completed "${A[@]}" 2>/dev/null)
check "admin webhook test queues a delivery job" grep -qE '^job_[0-9]+$' <<<"$JOB"
"$B" admin webhook add acme ftp://x "${A[@]}" >/dev/null 2>&1
eq "admin webhook add: a bad url is 64" $? 64
"$B" admin webhook emit acme batch.nope "${A[@]}" >/dev/null 2>&1
eq "admin webhook emit: an unknown type is 64" $? 64
"$B" admin webhook remove other "$WID" "${A[@]}" >/dev/null 2>&1
eq "admin webhook remove: another tenant's endpoint is 65" $? 65
check "admin webhook remove" "$B" admin webhook remove acme "$WID" "${A[@]}"
eq "POST /v1/jobs refuses kind webhook" "$(http_code "http://127.0.0.1:$S_PORT/v1/jobs" -H "Authorization: Bearer $K" \
    -H 'Content-Type: application/json' -d '{"kind":"webhook","payload":{"endpoint_id":"x"}}')" 400

# 4. kill -9 of a worker in the middle of a delivery: the lease expires, another
# worker delivers again, with the same webhook-id and a signature of its own.
cat >hang.py <<'PY'
import base64, hashlib, hmac, http.server, sys, threading, time
secret = base64.b64decode(sys.argv[2][len("whsec_"):])
n = 0
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global n
        body = self.rfile.read(int(self.headers["Content-Length"]))
        h = self.headers
        mac = base64.b64encode(hmac.new(secret, f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + body,
                                        hashlib.sha256).digest()).decode()
        with lock:
            n += 1
            k = n
        with open("hang.log", "a") as f:
            f.write(f"{k} {h['webhook-id']} {h['webhook-timestamp']} {'valid' if h['webhook-signature'] == 'v1,' + mac else 'INVALID'}\n")
        if k == 1:
            time.sleep(120)  # the first attempt never gets an answer
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print("port", s.server_address[1], flush=True)
s.serve_forever()
PY
stop_ingot "$W_PID" "$W_LOG"
HSEC=$("$B" admin webhook add acme http://127.0.0.1:1/placeholder --events batch.cancelled "${A[@]}" 2>/dev/null)
echo "$HSEC" >>"$SECRETS"
HID=$("$B" admin webhook list acme "${A[@]}" | awk '$3 == "http://127.0.0.1:1/placeholder" {print $1}')
python3 hang.py x "$HSEC" >hang.out 2>&1 &
FAKE_PIDS+=($!)
wait_until 50 grep -q '^port ' hang.out || bad "the hanging receiver started"
HP=$(awk '/^port /{print $2}' hang.out)
mysql_root "$DB" -e "UPDATE webhook_endpoints SET url = 'http://127.0.0.1:$HP/hang' WHERE id = '$HID'"
start_ingot W2 work --http-target-allow 127.0.0.0/8 --queue-lease 1500ms || finish
eq "emit batch.cancelled: one delivery" "$("$B" admin webhook emit acme batch.cancelled --data '{"id":"batch_k9"}' "${A[@]}" 2>/dev/null)" 1
check "the first attempt reached the receiver" wait_until 100 grep -q '^1 ' hang.log
kill -9 "$W2_PID"; wait "$W2_PID" 2>/dev/null
start_ingot W3 work --http-target-allow 127.0.0.0/8 --queue-lease 1500ms || finish
LOGS+=("$W2_LOG" "$W3_LOG")
check "after the lease expired, another worker delivered again" wait_until 150 grep -q '^2 ' hang.log
read -r _ id1 _ v1 < <(grep '^1 ' hang.log)
read -r _ id2 _ v2 < <(grep '^2 ' hang.log)
check "the same webhook-id ($id1)" [ -n "$id1" ] && [ "$id1" = "$id2" ]
eq "both signatures valid (python's HMAC)" "$v1 $v2" "valid valid"
check "the delivery job succeeded, at its second attempt" wait_sql 50 \
    "SELECT CONCAT(state, ' ', attempts) FROM $DB.jobs WHERE kind = 'webhook' AND payload LIKE '%batch_k9%'" "2 2"

# 4b. A stranger's endpoints. 150 creates at once for one tenant make
# exactly the cap (100) and 409s, none a 503 (the inserts deadlocked on
# the count's locks and answered "the database is unavailable").
"$B" admin tenant create crowd "${A[@]}" >/dev/null 2>&1
KC=$("$B" admin key create --tenant crowd "${A[@]}" 2>/dev/null)
pids=()
for _ in $(seq 1 150); do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 -H "Authorization: Bearer $KC" -H 'Content-Type: application/json' \
        -d '{"url":"http://127.0.0.1:9/crowd","event_types":["batch.expired"]}' \
        "http://127.0.0.1:$S_PORT/v1/webhook_endpoints" >>crowd.codes &
    pids+=($!)
done
wait "${pids[@]}"
eq "150 creates at once: 100 made, 50 refused at the cap, none failed" \
    "$(sort crowd.codes | uniq -c | awk '{printf "%s:%s ", $2, $1}')" "200:100 409:50 "
# A receiver answering 302 is not followed (the target may be anything);
# one answering 200 with a 100 MB body is delivered, the job keeping 4 KB;
# one whose 200 has a body without end is delivered at once (the attempt
# stops reading at 4 KB; it ran to its 15 s timeout and was sent again).
cat >odd.py <<'PY'
import http.server, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        with open("odd.log", "a") as f:
            f.write(self.path + "\n")
        if self.path == "/redirect":
            self.send_response(302); self.send_header("Location", "/followed")
            self.send_header("Content-Length", "0"); self.end_headers()
            return
        if self.path == "/endless":
            self.send_response(200); self.send_header("Content-Length", str(1 << 40)); self.end_headers()
            try:
                while True:
                    self.wfile.write(b"y" * 4096); self.wfile.flush(); time.sleep(0.05)
            except OSError:
                return
        size = 100 << 20 if self.path == "/big" else 2
        self.send_response(200); self.send_header("Content-Length", str(size)); self.end_headers()
        chunk = b"x" * 65536
        for _ in range(size // 65536):
            self.wfile.write(chunk)
        self.wfile.write(b"x" * (size % 65536))
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print("port", s.server_address[1], flush=True)
s.serve_forever()
PY
python3 odd.py >odd.out 2>&1 &
FAKE_PIDS+=($!)
wait_until 50 grep -q '^port ' odd.out || bad "the odd receiver started"
OP=$(awk '/^port /{print $2}' odd.out)
for path in redirect big endless; do
    echo "$("$B" admin webhook add acme "http://127.0.0.1:$OP/$path" --events batch.expired "${A[@]}" 2>/dev/null)" >>"$SECRETS"
done
eq "emit batch.expired: three deliveries" "$("$B" admin webhook emit acme batch.expired --data '{"id":"batch_odd"}' "${A[@]}" 2>/dev/null)" 3
check "the 302 is retried at its own url" wait_until 150 sh -c '[ "$(grep -c "^/redirect$" odd.log)" -ge 2 ]'
check "  and never followed" sh -c '! grep -q followed odd.log'
RID=$(awk -v u="http://127.0.0.1:$OP/redirect" '$3 == u {print $1}' <("$B" admin webhook list acme "${A[@]}"))
eq "  the delivery is not done, the 302 its error" "$(mysql_root "$DB" -e "SELECT CONCAT(state != 2, ' ', last_error) FROM jobs WHERE kind = 'webhook' AND payload LIKE '%batch_odd%' AND payload LIKE '%$RID%'")" "1 HTTP 302"
check "the 100 MB answer: delivered" wait_sql 150 \
    "SELECT COUNT(*) FROM $DB.jobs j JOIN $DB.webhook_endpoints e ON j.payload LIKE CONCAT('%', e.id, '%') WHERE j.kind = 'webhook' AND e.url LIKE '%/big' AND j.state = 2 AND LENGTH(j.result) < 8192" 1
check "the endless answer: delivered at its first attempt" wait_sql 100 \
    "SELECT CONCAT(j.state, ' ', j.attempts) FROM $DB.jobs j JOIN $DB.webhook_endpoints e ON j.payload LIKE CONCAT('%', e.id, '%') WHERE j.kind = 'webhook' AND e.url LIKE '%/endless'" "2 1"

# 5. The secrets (every one the run saw) are nowhere but sealed.
check "secrets were collected" [ "$(grep -c '^whsec_' "$SECRETS")" -ge 10 ]
leak=0
while read -r s; do
    [ -n "$s" ] || continue
    for l in "${LOGS[@]}"; do grep -qF -- "$s" "$l" && { leak=1; echo "  secret in $(basename "$l")"; }; done
    grep -qF -- "${s#whsec_}" <(mysql_root "$DB" -e "SELECT payload, IFNULL(result, ''), IFNULL(last_error, '') FROM jobs") && { leak=1; echo "  secret in jobs"; }
done <"$SECRETS"
eq "no secret in the logs (LOG_LEVEL=debug) or the jobs table" "$leak" 0
eq "stored sealed" "$(mysql_root "$DB" -e "SELECT COUNT(*) FROM webhook_endpoints WHERE secret NOT LIKE 'v1.%' OR secret LIKE '%whsec%'")" 0
check "the worker's log names deliveries" grep -q '"kind":"webhook"' "$W_LOG"

finish
