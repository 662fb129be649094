# LLM gateway review fixes, through serve (and work) in front of the C fake
# provider:
#  - prices follow the upstream model really called (a "default/..." or a
#    route's alias is not free), and an unpriced model under a USD budget
#    is refused (400 naming model);
#  - a provider's announced limit holds only the key it was announced for:
#    a tenant's own key spent does not hold the other tenants;
#  - a provider reached without usage known (200 without usage, not JSON,
#    a timeout after sending) books the reservation's estimate; a provider
#    never reached (connection refused) books nothing;
#  - llm.* jobs run under the limits of the key that enqueued them and are
#    booked to it;
#  - max_tokens, max_completion_tokens and n are whole numbers in range
#    (400 naming the field; 1e300 was undefined behaviour in the estimate);
#  - duplicate keys in a body are refused (sync chat, embeddings, jobs);
#  - until the provider tables were read once, a call is 503 with
#    retry-after (never sent to the default provider) and work claims no
#    llm.* job;
#  - concurrent /health against hanging providers: one probe each;
#  - metrics label a model only when known (a route, a provider's list):
#    2000 made-up names do not push a real model into "other";
#  - /v1/usage refuses a from before the epoch (it became FROM_UNIXTIME(-1.-500));
#  - provider auth headers built one way: an Anthropic provider without a
#    key sends no empty x-api-key (calls and the models list).
. "$(dirname "$0")/lib.sh"
unset BUILT_IN_FORGE_API_URL BUILT_IN_FORGE_API_KEY
jobs_setup llm_fix
A=(--env-file /dev/null)
# A Redis database of its own, emptied: counters are keyed by tenant id.
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/11"
redis-cli -s "$REDIS_SOCKET" -n 11 FLUSHDB >/dev/null
q() { mysql_root "$DB" -e "$1"; }

start_fakellm # sets LP and L
export LLM_PROVIDER=openai LLM_BASE_URL="$L/openai/v1" LLM_API_KEY=sk-upstream-default-0123 USAGE_FLUSH_INTERVAL=100ms
export LLM_TIMEOUT=2s
DEADP=$(free_port)
"$INGOT_BIN" admin provider add anon --type anthropic --base-url "$L/anthropic/v1" "${A[@]}" >/dev/null 2>&1
"$INGOT_BIN" admin provider add dead --type openai --base-url "http://127.0.0.1:$DEADP/v1" "${A[@]}" >/dev/null 2>&1
echo sk-fk-upstream-4567 | "$INGOT_BIN" admin provider add fk --type openai --base-url "$L/openai/v1" --api-key-stdin "${A[@]}" >/dev/null 2>&1
"$INGOT_BIN" admin model route smart fk --upstream-model fake-ok-p2 "${A[@]}" >/dev/null 2>&1
"$INGOT_BIN" admin model price fake-ok-p1 --input-per-mtok 1000 --output-per-mtok 1000 "${A[@]}" >/dev/null 2>&1
"$INGOT_BIN" admin model price fk/fake-ok-p2 --input-per-mtok 2000 --output-per-mtok 2000 "${A[@]}" >/dev/null 2>&1
TEN=$(q "SELECT id FROM tenants WHERE name = 'acme'")
"$INGOT_BIN" admin tenant create budget "${A[@]}" >/dev/null 2>&1
KB=$("$INGOT_BIN" admin key create --tenant budget "${A[@]}" 2>/dev/null)
TB=$(q "SELECT id FROM tenants WHERE name = 'budget'")
"$INGOT_BIN" admin tenant limits budget --usd-per-month 100 "${A[@]}" >/dev/null 2>&1
"$INGOT_BIN" admin tenant create other "${A[@]}" >/dev/null 2>&1
K2=$("$INGOT_BIN" admin key create --tenant other "${A[@]}" 2>/dev/null)
echo sk-acme-own-key-89ab | "$INGOT_BIN" admin tenant provider-key set acme fk "${A[@]}" >/dev/null 2>&1

K3=$("$INGOT_BIN" admin key create --tenant acme --name jobs "${A[@]}" 2>/dev/null)
KID3=$(q "SELECT id FROM api_keys WHERE tenant_id = $TEN AND name = 'jobs'")
"$INGOT_BIN" admin tenant limits acme --key "$(q "SELECT prefix FROM api_keys WHERE id = $KID3")" --rpm 2 "${A[@]}" >/dev/null 2>&1
start_ingot S serve || finish
U="http://127.0.0.1:$S_PORT"
post() { local p=$1 b=$2; shift 2; curl -s -D h.txt -o b.json -w '%{http_code}' --max-time 10 -X POST "$U$p" "${AUTH[@]}" -H 'Content-Type: application/json' "$@" -d "$b"; }
postb() { local p=$1 b=$2; shift 2; curl -s -D h.txt -o b.json -w '%{http_code}' --max-time 10 -X POST "$U$p" -H "Authorization: Bearer $KB" -H 'Content-Type: application/json' "$@" -d "$b"; }
chat() { printf '{"model":"%s","messages":[{"role":"user","content":"hi"}]%s}' "$1" "${2:-}"; }

# ---- 1. prices by the upstream model ----
# fake-ok: 12 prompt + 5 completion tokens = 17; 1000 USD/Mtok -> 0.017.
eq "default/fake-ok-p1: 200" "$(postb /v1/chat/completions "$(chat default/fake-ok-p1)")" 200
eq "smart (route to fk, upstream fake-ok-p2): 200" "$(postb /v1/chat/completions "$(chat smart)")" 200
eq "fake-ok-p1 by its own name: 200" "$(postb /v1/chat/completions "$(chat fake-ok-p1)")" 200
wait_sql 50 "SELECT COUNT(*) FROM $DB.llm_usage WHERE tenant_id = $TB" 3
eq "  priced by the upstream model (default/fake-ok-p1)" "$(q "SELECT cost_usd FROM llm_usage WHERE model = 'default/fake-ok-p1'")" 0.017000000
eq "  priced by provider/upstream (smart)" "$(q "SELECT cost_usd FROM llm_usage WHERE model = 'smart'")" 0.034000000
eq "  priced by its name" "$(q "SELECT cost_usd FROM llm_usage WHERE model = 'fake-ok-p1'")" 0.017000000
usd=$(redis-cli -s "$REDIS_SOCKET" -n 11 GET "$(redis-cli -s "$REDIS_SOCKET" -n 11 --scan --pattern "*:t$TB:g*:usd:*" | head -1)")
eq "  the USD counter holds the three calls (nano-USD)" "$usd" 68000000
eq "an unpriced model under a USD budget: 400" "$(postb /v1/chat/completions "$(chat fake-ok-free)")" 400
eq "  names model" "$(jq -r .error.param b.json)" model
contains "  says a price is needed" "$(jq -r .error.message b.json)" "no price"
eq "  the provider never saw it" "$(curl -s "$L/_log" | jq -s '[.[] | select(.json.model == "fake-ok-free")] | length')" 0
eq "an unpriced default/ model too: 400" "$(postb /v1/chat/completions "$(chat default/fake-ok-free)")" 400

# ---- 2. a hold is per provider and key ----
curl -s -o /dev/null -X POST "$L/_reset"
eq "acme (its own key) is told remaining 0: 200" "$(post /v1/chat/completions "$(chat fk/fake-remaining-0-reset-4000-h)")" 200
t0=$(date +%s%N)
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST "$U/v1/chat/completions" -H "Authorization: Bearer $K2" \
    -H 'Content-Type: application/json' -d "$(chat fk/fake-ok-other)")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
eq "another tenant (the operator's key) is not held: 200" "$code" 200
check "  at once ($ms ms < 1500)" test "$ms" -lt 1500
r=$(curl -s "$L/_log" | jq -c 'select(.json.model == "fake-ok-other")' | tail -1)
eq "  with the operator's key" "$(jq -r .headers.authorization <<<"$r")" "Bearer sk-fk-upstream-4567"
t0=$(date +%s%N)
code=$(post /v1/chat/completions "$(chat fk/fake-ok-acme)")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
held=$(curl -s "$L/_log" | jq -s '[.[] | select(.json.model == "fake-ok-acme")] | length')
check "acme's own key is held (waited $ms ms, or 429: $code; reached the provider before the reset: $held)" \
    test \( "$code" = 429 -a "$held" = 0 \) -o \( "$code" = 200 -a "$ms" -ge 1500 \)

# ---- 3. unknown usage after sending books the estimate ----
# The estimate: the prompt's (a few tokens) + max_tokens 50.
for m in fake-nousage fake-badjson fake-hang dead/fake-ok; do
    echo "$m $(post /v1/chat/completions "$(chat "$m-u3" ',"max_tokens":50')")"
done > codes3.txt
eq "answers: 200 without usage, 502 not JSON, 504 timeout, 502 refused" "$(awk '{print $2}' codes3.txt | tr '\n' ' ')" "200 502 504 502 "
wait_sql 50 "SELECT COUNT(*) FROM $DB.llm_usage WHERE model LIKE '%-u3'" 4
row() { q "SELECT status, completion_tokens, prompt_tokens > 0 FROM llm_usage WHERE model = '$1'"; }
eq "  200 without usage: the estimate booked" "$(row fake-nousage-u3)" "$(printf '200\t50\t1')"
eq "  not JSON: the estimate booked" "$(row fake-badjson-u3)" "$(printf '502\t50\t1')"
eq "  timeout after sending: the estimate booked" "$(row fake-hang-u3)" "$(printf '504\t50\t1')"
eq "  connection refused: nothing" "$(q "SELECT status, completion_tokens, prompt_tokens FROM llm_usage WHERE model = 'dead/fake-ok-u3'")" "$(printf '502\t0\t0')"

# ---- 4. jobs: the enqueuing key's limits, booked to it ----
start_ingot W work || finish
# The key's rpm window is the UTC minute: the four jobs, the two admitted
# and the others put back must all fall in one, or the next window admits
# the rest before "only two reached the provider" is checked. The worker
# start and the waits below take seconds under ASan: leave 15.
wait_until 170 minute_left 15
jchat() { printf '{"kind":"llm.chat","queue":"llm","payload":{"model":"%s","messages":[{"role":"user","content":"hi %s"}]}}' "$1" "$2"; }
for i in 1 2 3 4; do
    curl -s -X POST "$U/v1/jobs" -H "Authorization: Bearer $K3" -d "$(jchat fake-ok-j4 "$i")" | jq -r .id
done > jobs4.txt
eq "  the jobs record their key" "$(q "SELECT COUNT(*) FROM jobs WHERE key_id = $KID3")" 4
check "two jobs (the key's rpm) succeed" wait_sql 100 "SELECT COUNT(*) FROM $DB.jobs WHERE key_id = $KID3 AND state = 2" 2
# The others were claimed and put back (the key's window is full): wait for
# the worker to have tried them once, then none more may have run.
check "  the others were put back by the limit" wait_until 100 sh -c "curl -s http://127.0.0.1:$W_PORT/metrics | grep -q 'ingot_llm_throttled_total{provider=\"default\",reason=\"limit\"}'"
eq "  only two reached the provider" "$(curl -s "$L/_log" | jq -s '[.[] | select(.json.model == "fake-ok-j4")] | length')" 2
eq "  the others are waiting, no attempt spent" "$(q "SELECT COUNT(*), SUM(attempts) FROM jobs WHERE key_id = $KID3 AND state <> 2")" "$(printf '2\t0')"
wait_sql 50 "SELECT COUNT(*) FROM $DB.llm_usage WHERE model = 'fake-ok-j4'" 2
body=$(curl -s "$U/v1/usage?group_by=key" -H "Authorization: Bearer $K3")
contains "usage by key: the job calls booked to the key" "$(jq -c --argjson k "$KID3" '.data[] | select(.key_id == $k) | .requests' <<<"$body")" 2
eq "  in the ledger" "$(q "SELECT COUNT(*) FROM llm_usage WHERE model = 'fake-ok-j4' AND key_id = $KID3")" 2

# ---- 5. counts bounded ----
for f in 'max_tokens":1e300' 'max_tokens":0' 'max_tokens":2.5' 'max_tokens":"9"' 'max_completion_tokens":1e300' \
         'max_completion_tokens":100000001' 'n":1e300' 'n":129' 'n":0'; do
    code=$(post /v1/chat/completions "$(chat fake-ok-c5 ",\"$f")")
    eq "$f: 400 naming ${f%%\"*}" "$code $(jq -r .error.param b.json)" "400 ${f%%\"*}"
done
eq "max_tokens 100000000 and n 2: 200" "$(post /v1/chat/completions "$(chat fake-ok-c5 ',"max_tokens":100000000,"n":2')")" 200
eq "max_tokens null: 200" "$(post /v1/chat/completions "$(chat fake-ok-c5 ',"max_tokens":null')")" 200
code=$(curl -s -o b.json -w '%{http_code}' -X POST "$U/v1/jobs" "${AUTH[@]}" \
    -d '{"kind":"llm.chat","payload":{"model":"fake-ok","max_tokens":1e300,"messages":[{"role":"user","content":"hi"}]}}')
eq "a job with max_tokens 1e300: 400 naming payload.max_tokens" "$code $(jq -r .error.param b.json)" "400 payload.max_tokens"
eq "  serve is alive (no undefined behaviour abort)" "$(http_code "$U/health/live")" 200

# ---- 6. duplicate keys ----
dup_chat='{"model":"fake-ok-d6","stream":false,"messages":[{"role":"user","content":"hi"}],"stream":true}'
code=$(post /v1/chat/completions "$dup_chat")
eq "chat with stream twice: 400" "$code" 400
contains "  names the key" "$(jq -r .error.param b.json)" stream
code=$(post /v1/chat/completions '{"model":"fake-ok-d6","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"max_tokens":99999}')
eq "chat with max_tokens twice: 400 naming it" "$code $(jq -r .error.param b.json)" "400 max_tokens"
code=$(post /v1/embeddings '{"model":"fake-ok-d6","input":"a","input":["b"]}')
eq "embeddings with input twice: 400 naming it" "$code $(jq -r .error.param b.json)" "400 input"
code=$(curl -s -o b.json -w '%{http_code}' -X POST "$U/v1/jobs" "${AUTH[@]}" \
    -d '{"kind":"llm.chat","payload":{"model":"fake-ok-d6","messages":[{"role":"user","content":"hi"}],"model":"x"}}')
eq "llm.chat job with payload.model twice: 400 naming it" "$code $(jq -r .error.param b.json)" "400 payload.model"
code=$(curl -s -o b.json -w '%{http_code}' -X POST "$U/v1/jobs" "${AUTH[@]}" \
    -d '{"kind":"llm.embed","payload":{"model":"fake-ok-d6","input":"a"},"payload":{"model":"fake-ok-d6","input":"b"}}')
eq "llm.embed job with payload twice: 400 naming it" "$code $(jq -r .error.param b.json)" "400 payload"
eq "  none reached the provider" "$(curl -s "$L/_log" | jq -s '[.[] | select(.json.model == "fake-ok-d6")] | length')" 0

# ---- 7. no routing before the providers were read ----
kill "$W_PID"; wait "$W_PID" 2>/dev/null
J7=$(curl -s -X POST "$U/v1/jobs" "${AUTH[@]}" -d "$(jchat smart j7)" | jq -r .id)
# The tables stay locked for 5 s: the new processes' first read waits.
mysql_root "$DB" -e "LOCK TABLES llm_providers WRITE, llm_routes WRITE, llm_tenant_keys WRITE; SELECT SLEEP(5)" >/dev/null 2>&1 &
LOCKER=$!
check "  the tables are locked" wait_until 50 sh -c "mariadb --no-defaults --socket=$MARIADB_SOCKET -uroot -N -B -e 'SHOW OPEN TABLES FROM $DB WHERE In_use > 0' | grep -q llm_routes"
before=$(curl -s "$L/_log" | jq -s 'length')
start_ingot S2 serve || finish
start_ingot W2 work || finish
code=$(curl -s -D h7.txt -o b.json -w '%{http_code}' --max-time 10 -X POST "http://127.0.0.1:$S2_PORT/v1/chat/completions" "${AUTH[@]}" \
    -H 'Content-Type: application/json' -d "$(chat smart)")
locked=$(kill -0 "$LOCKER" 2>/dev/null && echo yes || echo no)
eq "a routed model before the first read: 503 (tables still locked: $locked)" "$code" 503
eq "  retry-after 1" "$(grep -i '^retry-after:' h7.txt | cut -d: -f2 | tr -d ' \r')" 1
eq "  code llm_not_ready" "$(jq -r .error.code b.json)" llm_not_ready
eq "  the job is not claimed meanwhile" "$(q "SELECT state, attempts FROM jobs WHERE id = ${J7#job_}")" "$(printf '0\t0')"
eq "  nothing reached a provider" "$(curl -s "$L/_log" | jq -s 'length')" "$before"
wait "$LOCKER"
check "after the read: the job runs through its route" wait_sql 100 "SELECT state FROM $DB.jobs WHERE id = ${J7#job_}" 2
eq "  upstream the route's model" "$(curl -s "$L/_log" | jq -s --arg m "hi j7" '[.[] | select(.json.messages[0].content == $m)][0].json.model' -r)" fake-ok-p2
eq "  sync too" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$S2_PORT/v1/chat/completions" "${AUTH[@]}" -H 'Content-Type: application/json' -d "$(chat smart)")" 200

# ---- 9. /health merges the probes in flight ----
"$INGOT_FAKES/fakepeer" hang 0 > hang.out 2>&1 &
FAKE_PIDS+=($!)
wait_until 50 grep -q '^port ' hang.out || { bad "fakepeer did not start"; finish; }
HP=$(awk '/^port /{print $2; exit}' hang.out)
"$INGOT_BIN" admin provider add hung --type openai --base-url "http://127.0.0.1:$HP/v1" "${A[@]}" >/dev/null 2>&1
start_ingot S3 serve --llm-base-url "http://127.0.0.1:$HP/v1" || finish
for i in 1 2 3 4 5 6 7 8; do
    curl -s -o "h9.$i.json" --max-time 5 "http://127.0.0.1:$S3_PORT/health" &
    pids9+=($!)
done
wait "${pids9[@]}"
eq "eight /health answered: llm down, hung down" "$(cat h9.*.json | jq -r '.checks.llm.status + " " + .checks.llm.providers.hung.status' | sort -u)" "down down"
eq "  the hanging peer got one probe for each provider (2)" "$(grep -c '^accepted' hang.out)" 2

# ---- 10. metric labels: known models only ----
"$INGOT_BIN" admin model route real-model default --upstream-model fake-ok-real "${A[@]}" >/dev/null 2>&1
start_ingot S4 serve || finish
U4="http://127.0.0.1:$S4_PORT"
check "the models list is fetched" sh -c "curl -s '$U4/v1/models' -H 'Authorization: Bearer $K' | jq -e '.data | map(.id) | index(\"real-model\")' >/dev/null"
# 16 keep-alive connections, 125 requests each
python3 - "$S4_PORT" "$K" > junk.codes <<'PY'
import http.client, json, sys, threading
port, key = int(sys.argv[1]), sys.argv[2]
codes = []
def run(t):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(125):
        body = json.dumps({"model": "fake-junk-%d" % (t * 125 + i), "messages": [{"role": "user", "content": "hi"}]})
        c.request("POST", "/v1/chat/completions", body, {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        codes.append(r.status)
ts = [threading.Thread(target=run, args=(t,)) for t in range(16)]
for t in ts: t.start()
for t in ts: t.join()
print("\n".join(map(str, codes)))
PY
eq "  2000 made-up names answered 200" "$(sort junk.codes | uniq -c | awk '{print $1, $2}')" "2000 200"
for m in real-model fake-ok; do
    eq "$m after the junk: 200" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U4/v1/chat/completions" -H "Authorization: Bearer $K" \
        -H 'Content-Type: application/json' -d "$(chat $m)")" 200
done
m4=$(curl -s "$U4/metrics")
contains "  a route keeps its series" "$m4" 'ingot_llm_requests_total{provider="default",model="real-model",status="200"} 1'
contains "  a listed model keeps its series" "$m4" 'ingot_llm_requests_total{provider="default",model="fake-ok",status="200"} 1'
contains "  the junk counted under other" "$m4" 'ingot_llm_requests_total{provider="default",model="other",status="200"} 2000'
eq "  no series of a junk name" "$(grep -c 'model="fake-junk' <<<"$m4")" 0

# ---- 11. usage times before the epoch ----
code=$(curl -s -o b.json -w '%{http_code}' "$U/v1/usage?from=1970-01-01T00:00:00.5%2B00:01" "${AUTH[@]}")
eq "from before the epoch by its offset: 400 naming from" "$code $(jq -r .error.param b.json)" "400 from"
code=$(curl -s -o b.json -w '%{http_code}' "$U/v1/usage?from=1970-01-01T00:00:00Z&to=1970-01-02" "${AUTH[@]}")
eq "the epoch itself: 200" "$code" 200

# ---- 12. one way to build provider auth headers ----
post /v1/chat/completions "$(chat anon/fake-ok-a12)" >/dev/null
r=$(curl -s "$L/_log" | jq -c 'select(.json.model == "fake-ok-a12")' | tail -1)
eq "anthropic without a key: anthropic-version sent" "$(jq -r '.headers["anthropic-version"]' <<<"$r")" 2023-06-01
eq "  no empty x-api-key" "$(jq -r '.headers | has("x-api-key")' <<<"$r")" false
eq "  the models list neither" "$(curl -s "$L/_log" | jq -s '[.[] | select(.path == "/anthropic/v1/models" and (.headers | has("x-api-key")))] | length')" 0
check "  (the models list was asked of it)" test "$(curl -s "$L/_log" | jq -s '[.[] | select(.path == "/anthropic/v1/models")] | length')" -ge 1

finish
