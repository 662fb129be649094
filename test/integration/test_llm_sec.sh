# The LLM gateway against a hostile provider (test/fakes/badllm.py) and a
# hostile tenant. Provider side: its error text never carries the key
# ingot sent (401/403 to the gateway's own key: our own message; any other
# error, streamed or not, sync or job: the key redacted); a 200 that is an
# error is an error; absurd usage counts, "created" times and rate-limit
# headers are bounded; an oversized event, a stalled stream, a slow
# /models and a flood to a client that reads nothing are all cut. Tenant
# side: model names (not UTF-8, NUL, newline, quotes) refused or escaped
# wherever they go, metric series capped, numbers (max_tokens, n) checked,
# 50000-field bodies refused, a priced model priced however it is spelled,
# tenants kept apart.
. "$(dirname "$0")/lib.sh"
unset BUILT_IN_FORGE_API_URL BUILT_IN_FORGE_API_KEY
jobs_setup llm_sec
A=(--env-file /dev/null)
python3 "$INGOT_ROOT/test/fakes/badllm.py" > badllm.out 2>&1 &
FAKE_PIDS+=($!)
wait_until 50 grep -q '^port ' badllm.out || { bad "badllm did not start"; finish; }
BP=$(awk '/^port /{print $2; exit}' badllm.out)
B="http://127.0.0.1:$BP"
GK=sk-gateway-secret-0123456789abcdef
AK=sk-ant-secret-9876543210fedcba
TK=sk-tenant-own-5555aaaa7777bbbb
export LLM_PROVIDER=openai LLM_BASE_URL="$B/openai/v1" LLM_API_KEY=$GK USAGE_FLUSH_INTERVAL=100ms
echo "$AK" | "$INGOT_BIN" admin provider add banth --type anthropic --base-url "$B/anthropic/v1" --api-key-stdin "${A[@]}" >/dev/null 2>&1
echo unused-key | "$INGOT_BIN" admin provider add bopen --type openai --base-url "$B/openai/v1" --api-key-stdin "${A[@]}" >/dev/null 2>&1
printf '%s' "$TK" | "$INGOT_BIN" admin tenant provider-key set acme bopen "${A[@]}" >/dev/null 2>&1
check "providers set up" sh -c "'$INGOT_BIN' admin provider list --env-file /dev/null | grep -q bopen"
"$INGOT_BIN" admin model price priced-m --input-per-mtok 1000 --output-per-mtok 1000 "${A[@]}" >/dev/null 2>&1
"$INGOT_BIN" admin model price bopen/up-r --input-per-mtok 1000 --output-per-mtok 1000 "${A[@]}" >/dev/null 2>&1
"$INGOT_BIN" admin model route alias-r bopen --upstream-model up-r "${A[@]}" >/dev/null 2>&1
"$INGOT_BIN" admin model price alias-p --input-per-mtok 1000 --output-per-mtok 1000 "${A[@]}" >/dev/null 2>&1
"$INGOT_BIN" admin model route alias-p bopen --upstream-model up-p "${A[@]}" >/dev/null 2>&1
start_ingot S serve || finish
U="http://127.0.0.1:$S_PORT"
post() { curl -s -D h.txt -o b.json -w '%{http_code}' -X POST "$U$1" "${AUTH[@]}" -H 'Content-Type: application/json' -d "$2"; }
chat() { printf '{"model":"%s","messages":[{"role":"user","content":"hi"}]%s}' "$1" "${2:-}"; }
nokey() { # nokey WHAT FILE: no provider key in FILE
    check "$1: no provider key in it" sh -c "! grep -qF -e '$GK' -e '$AK' -e '$TK' '$2'"
}
nohint() { # nohint WHAT FILE: nor OpenAI's sk-...abcd hint of the gateway's keys
    check "$1: no hint of the key" sh -c "! grep -qF -e 'sk-...cdef' -e 'sk-...dcba' '$2'"
}

# The provider refuses the gateway's own key and echoes it: 502, our message.
for m in keyecho-401 keyecho-403 banth/keyecho-401 banth/keyecho-403; do
    eq "$m: 502" "$(post /v1/chat/completions "$(chat $m)")" 502
    nokey "  $m's body" b.json
    nohint "  $m's body" b.json
    eq "  in OpenAI's shape" "$(jq -r '.error | has("message") and has("type")' b.json)" true
done
# Any other error that echoes a key: relayed with the key redacted.
for m in keyecho-400 keyecho-429 keyecho-text banth/keyecho-400 bopen/keyecho-400 bopen/keyecho-401; do
    st=$(post /v1/chat/completions "$(chat $m)")
    check "$m: an error ($st)" [ "$st" -ge 400 ]
    nokey "  $m's body" b.json
    check "  $m: still says something" jq -e '.error.message | length > 0' b.json
done
# After the 200: the error event redacted too.
for m in keyecho-stream banth/keyecho-stream; do
    curl -s -N -X POST "$U/v1/chat/completions" "${AUTH[@]}" -d "$(chat $m ',"stream":true')" > s.txt
    check "$m: an error event" grep -q '"error"' s.txt
    nokey "  $m's stream" s.txt
    eq "  $m: the error is the last event, no [DONE]" "$(grep '^data: ' s.txt | tail -1 | cut -c1-14)" 'data: {"error"'
done
# A tenant's model name: bytes that are not UTF-8 and NUL are refused (they
# would reach metric labels, which must stay UTF-8 for a scrape, and usage
# rows, which a utf8mb4 column refuses with the batch); other characters
# are escaped wherever they go.
printf '{"model":"bad\377\376name","messages":[{"role":"user","content":"hi"}]}' > badmodel.json
eq "model not UTF-8: 400" "$(curl -s -o b.json -w '%{http_code}' -X POST "$U/v1/chat/completions" "${AUTH[@]}" --data-binary @badmodel.json) $(jq -r .error.param b.json)" "400 model"
eq "model with a newline: passes (escaped wherever it goes)" "$(post /v1/chat/completions "$(chat 'a\nb')")" 200
eq "model with a NUL (\\u0000): 400" "$(post /v1/chat/completions "$(chat 'nul-cut\u0000-hidden')")" 400
eq "  never sent" "$(curl -s "$B/_log" | jq -r 'select(.model | startswith("nul-cut")) | .model')" ""
eq "model with a quote and a backslash: passes" "$(post /v1/chat/completions "$(chat 'we\"ird\\m')")" 200
curl -s "$U/metrics" > metrics.txt
check "/metrics stays UTF-8" iconv -f UTF-8 -t UTF-8 metrics.txt -o /dev/null
check "  every sample line well formed" sh -c "! grep -v '^#' metrics.txt | grep -vE '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\",?)*\})? [^ ]+\$' | grep -q ."
# Numbers a tenant may write: refused naming the field, never a crash.
for f in 'max_tokens:-1' 'max_tokens:1e308' 'max_tokens:9223372036854775807' 'max_completion_tokens:1e30' 'max_tokens:"10"' 'max_tokens:4611686018427387904,"n":2' 'max_tokens:5e18,"n":2' 'max_tokens:9.2e18' 'max_tokens:1.5'; do
    eq "${f%%,*}: 400 naming ${f%%:*}" "$(post /v1/chat/completions "$(chat ok ",\"${f%%:*}\":${f#*:}")") $(jq -r .error.param b.json)" "400 ${f%%:*}"
done
eq "  serve still answers" "$(post /v1/chat/completions "$(chat ok ',"max_tokens":100')")" 200

# A 200 that is an error: relayed as an error, not as a completion.
eq "provider 200 with only an error: 502" "$(post /v1/chat/completions "$(chat err200)")" 502
eq "  its message kept" "$(jq -r .error.message b.json)" "overloaded, try later"

# A body of 50000 top-level fields (under 1 MB): refused at once.
python3 -c 'import json; d={"model":"ok","messages":[{"role":"user","content":"x"}]}; d.update({"k%d" % i: i for i in range(50000)}); print(json.dumps(d, separators=(",", ":")))' > wide.json
t0=$(date +%s%N)
eq "50000 top-level fields: 400" "$(curl -s -o b.json -w '%{http_code}' -X POST "$U/v1/chat/completions" "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary @wide.json)" 400
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "  at once ($ms ms)" [ "$ms" -lt 1000 ]

# A provider's absurd usage counts: capped, not overflowed.
eq "provider usage 9e18 + 9e18: 200" "$(post /v1/chat/completions "$(chat usage-huge)")" 200
check "  its total a sum that did not wrap" jq -e '.usage.total_tokens > 0' b.json

# A provider's model list with absurd "created": a time, not a wrapped number.
curl -s "$U/v1/models" "${AUTH[@]}" > models.json
eq "models: the provider's ids listed" "$(jq -r '[.data[].id] | index("created-huge") != null' models.json)" true
eq "  every created a plausible time" "$(jq -r '[.data[].created | select(. < 0 or . > 1e12)] | length' models.json)" 0

# Tenants apart: another tenant's calls never use acme's own provider key,
# and its usage and limits show nothing of acme's.
"$INGOT_BIN" admin tenant create evil "${A[@]}" >/dev/null 2>&1
EK=$("$INGOT_BIN" admin key create --tenant evil "${A[@]}" 2>/dev/null)
ev() { curl -s -o b.json -w '%{http_code}' "$@" -H "Authorization: Bearer $EK"; }
eq "evil through bopen: 200" "$(ev -X POST "$U/v1/chat/completions" -d "$(chat bopen/who-evil)")" 200
eq "acme through bopen: 200" "$(post /v1/chat/completions "$(chat bopen/who-acme)")" 200
keyof() { curl -s "$B/_log" | jq -r --arg m "$1" 'select(.model == $m) | .key' | tail -1; }
eq "  evil's call used the provider's key" "$(keyof who-evil)" unused-key
eq "  acme's call used acme's own key" "$(keyof who-acme)" "$TK"
wait_sql 50 "SELECT COUNT(*) > 0 FROM $DB.llm_usage WHERE model='bopen/who-evil'" 1
eq "evil's usage: only its own" "$(ev "$U/v1/usage?group_by=model") $(jq -r '[.data[]? | .model] | join(",")' b.json)" "200 bopen/who-evil"
eq "evil's limits: 200" "$(ev "$U/v1/limits")" 200
check "  nothing of acme's key in them" sh -c "! grep -qF '$TK' b.json"

# A client that asks for a stream and reads nothing: serve does not hold
# the provider's whole answer for it (64 MB here): past its bound the
# upstream is stopped and the call recorded as 499.
python3 - "$S_PORT" "$K" "$B" <<'PY' &
import socket, sys, time, urllib.request
port, key, b = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
body = b'{"model":"flood-64","stream":true,"messages":[{"role":"user","content":"hi"}]}'
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode() +
          b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
for _ in range(300):  # reads nothing until the provider's side is over (30 s at most)
    if urllib.request.urlopen(b + "/_flood/flood-64").read() != b"running":
        break
    time.sleep(0.1)
s.close()
PY
NR=$!
wait_until 300 sh -c "curl -s '$B/_flood/flood-64' | grep -qv running"
eq "a stream nobody reads: the upstream stopped before its 64 MB" "$(curl -s "$B/_flood/flood-64")" closed
wait "$NR"
check "  recorded as 499" wait_sql 50 "SELECT status FROM $DB.llm_usage WHERE model='flood-64'" 499

# One model by id, as the SDK asks (models.retrieve encodes "/" as %2F).
eq "models/ID: 200" "$(curl -s -o m.json -w '%{http_code}' "$U/v1/models/created-huge" "${AUTH[@]}") $(jq -r .id m.json)" "200 created-huge"
eq "models/PROVIDER%2FID: 200" "$(curl -s -o m.json -w '%{http_code}' "$U/v1/models/banth%2Fcreated-huge" "${AUTH[@]}") $(jq -r .id m.json)" "200 banth/created-huge"
eq "models/PROVIDER/ID: 200" "$(curl -s -o m.json -w '%{http_code}' "$U/v1/models/banth/created-huge" "${AUTH[@]}") $(jq -r .id m.json)" "200 banth/created-huge"

# Nonsense rate-limit headers hold nothing.
eq "absurd rate-limit headers: 200" "$(post /v1/chat/completions "$(chat absurd-headers)")" 200
t0=$(date +%s%N)
eq "  the next call: 200" "$(post /v1/chat/completions "$(chat ok-after-absurd)")" 200
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "  not held ($ms ms)" [ "$ms" -lt 1000 ]

# A priced model costs the same however it is spelled (the USD budget
# counts it): "default/NAME" for the default provider's, a route to a
# priced "provider/model", a priced route's target called directly.
for m in priced-m default/priced-m bopen/up-r alias-r alias-p bopen/up-p; do
    eq "$m: 200" "$(post /v1/chat/completions "$(chat $m)")" 200
    check "  priced in the ledger (2 tokens at 1000 USD/Mtok)" \
        wait_sql 50 "SELECT cost_usd FROM $DB.llm_usage WHERE model='$m'" 0.002000000
done

# Jobs keep the provider's error: redacted.
J=$(curl -s -X POST "$U/v1/jobs" "${AUTH[@]}" -d '{"kind":"llm.chat","queue":"llm","payload":{"model":"keyecho-400","messages":[{"role":"user","content":"x"}]}}' | jq -r .id)
start_ingot W work
wait_until 150 sh -c "curl -s '$U/v1/jobs/$J' -H 'Authorization: Bearer $K' | jq -e '.status == \"failed\"' >/dev/null"
curl -s "$U/v1/jobs/$J" "${AUTH[@]}" > job.json
eq "a job's provider 400: failed" "$(jq -r .status job.json)" failed
nokey "  its stored error" job.json
# A job whose answer is larger than a result may be: failed, said so, its
# usage still stored.
J=$(curl -s -X POST "$U/v1/jobs" "${AUTH[@]}" -d '{"kind":"llm.chat","queue":"llm","payload":{"model":"big-3","messages":[{"role":"user","content":"x"}]}}' | jq -r .id)
wait_until 150 sh -c "curl -s '$U/v1/jobs/$J' -H 'Authorization: Bearer $K' | jq -e '.status == \"failed\"' >/dev/null"
curl -s "$U/v1/jobs/$J" "${AUTH[@]}" > job.json
eq "a 3 MB answer to a job: failed at once" "$(jq -r '[.status, .attempts] | join(" ")' job.json)" "failed 1"
contains "  saying why" "$(jq -r .last_error job.json)" "too large"
eq "  its usage kept" "$(jq -r .usage.completion_tokens job.json)" 7
stop_ingot "$W_PID" "$W_LOG"
out=$("$INGOT_BIN" admin provider list "${A[@]}" 2>&1; "$INGOT_BIN" doctor "${A[@]}" 2>&1)
printf '%s' "$out" > admin.txt
nokey "provider list and doctor" admin.txt
nokey "serve's log" "$S_LOG"
nokey "work's log" "$W_LOG"

# An event larger than the gateway takes: an error event at once, not
# 6 MB held until the provider stops.
t0=$(date +%s%N)
curl -s -N -m 8 -X POST "$U/v1/chat/completions" "${AUTH[@]}" -d "$(chat bigevent ',"stream":true')" > s.txt
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
eq "an event past the bound: an error event" "$(grep -c '^data: {"error"' s.txt)" 1
check "  before the provider's 10 s ($ms ms)" [ "$ms" -lt 5000 ]

# Invalid UTF-8 from an openai-type provider reaches the client as valid
# UTF-8 (the SDK's JSON.parse), bad bytes as U+FFFD, the rest unchanged.
utf8ok() { python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$1"; }
curl -s -N -m 8 -X POST "$U/v1/chat/completions" "${AUTH[@]}" -d "$(chat badutf8 ',"stream":true')" > s.txt
check "a stream with invalid UTF-8: relayed as valid UTF-8" utf8ok s.txt
contains "  bad bytes as U+FFFD" "$(grep -o '"content":"[^"]*' s.txt)" "a"$'\xef\xbf\xbd\xef\xbf\xbd'"b"
eq "a completion with invalid UTF-8: 200" "$(post /v1/chat/completions "$(chat badutf8-body)")" 200
check "  valid UTF-8" utf8ok b.json
eq "  bad bytes as U+FFFD, good ones kept" "$(jq -r '.choices[0].message.content' b.json)" $'a\xef\xbf\xbd\xef\xbf\xbdb\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdc'
eq "  its usage read" "$(jq -r .usage.total_tokens b.json)" 2
eq "an error with invalid UTF-8: 400" "$(post /v1/chat/completions "$(chat badutf8-err)")" 400
check "  valid UTF-8" utf8ok b.json
eq "  the message" "$(jq -r .error.message b.json)" $'bad \xef\xbf\xbd\xef\xbf\xbdthing'

# A second serve: metric series from tenant model names capped; a
# provider slow on /models does not hold GET /v1/models past its bound.
echo k-slow-0123456789 | "$INGOT_BIN" admin provider add slowp --type openai --base-url "$B/slow/openai/v1" --api-key-stdin "${A[@]}" >/dev/null 2>&1
METRICS_MAX_SERIES=8 LLM_TIMEOUT=1s LLM_BUFFER_MAX=1mb start_ingot S2 serve || finish
U2="http://127.0.0.1:$S2_PORT"
# LLM_BUFFER_MAX bounds the answers held at once, across calls: one
# larger than it is refused as it starts; two that fit alone but not
# together (700 KB each, held 0.5 s, under S2's LLM_TIMEOUT): one 200, one 503 with retry-after;
# then the budget is whole again.
post2() { curl -s -D "$1.h" -o "$1.json" -w '%{http_code}' -X POST "$U2/v1/chat/completions" "${AUTH[@]}" -H 'Content-Type: application/json' -d "$(chat "$2")"; }
eq "an answer over LLM_BUFFER_MAX: 503" "$(post2 o1 big-2)" 503
contains "  with retry-after" "$(tr -d '\r' < o1.h)" "retry-after: 1"
eq "  said in OpenAI's shape" "$(jq -r .error.code o1.json)" gateway_busy
post2 c1 slowbig-700 > c1.code & P1=$!
post2 c2 slowbig-700 > c2.code & P2=$!
wait "$P1" "$P2"
eq "two answers that do not fit together: one 200, one 503" "$(printf '%s\n' "$(cat c1.code)" "$(cat c2.code)" | sort | tr '\n' ' ')" "200 503 "
eq "  the 200 whole" "$(jq -r '.choices[0].message.content | length' c1.json c2.json 2>/dev/null | grep -c 716800)" 1
eq "then one alone fits again: 200" "$(post2 c3 slowbig-700)" 200
t0=$(date +%s%N)
eq "models with a provider that never answers /models: 200" "$(curl -s -m 20 -o models.json -w '%{http_code}' "$U2/v1/models" "${AUTH[@]}")" 200
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "  within the models timeout ($ms ms)" [ "$ms" -lt 7000 ]
eq "  the others' models listed" "$(jq -r '[.data[].id] | index("created-huge") != null' models.json)" true
for i in $(seq 1 12); do curl -s -o /dev/null -X POST "$U2/v1/chat/completions" "${AUTH[@]}" -d "$(chat "card-$i")"; done
n=$(curl -s "$U2/metrics" | grep -c '^ingot_llm_requests_total{')
check "12 model names, series capped ($n <= 9)" [ "$n" -le 9 ]
# made-up names are labelled model="other" before the cap is reached
contains "  made-up names counted as other" "$(curl -s "$U2/metrics")" 'model="other",status='
# A stream that stalls: LLM_TIMEOUT ends it with an error event.
t0=$(date +%s%N)
curl -s -N -m 10 -X POST "$U2/v1/chat/completions" "${AUTH[@]}" -d "$(chat stall ',"stream":true')" > s.txt
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
eq "a stalled stream: the chunk, then an error event" "$(grep -c '^data: {"id"' s.txt) $(grep '^data: ' s.txt | tail -1 | cut -c1-14)" '1 data: {"error"'
check "  after LLM_TIMEOUT ($ms ms)" [ "$ms" -ge 900 -a "$ms" -lt 4000 ]
stop_ingot "$S2_PID" "$S2_LOG"; eq "the second serve exits 0" $? 0

stop_ingot "$S_PID" "$S_LOG"; eq "serve drains and exits 0" $? 0
finish
