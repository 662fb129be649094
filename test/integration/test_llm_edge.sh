# The OpenAI-compatible sync edge of serve, with curl and a raw socket
# client against the C fake provider: chat plain and streamed (relayed
# event by event, X-Accel-Buffering: no), embeddings (floats by default, base64 when asked),
# models, x-request-id on every answer, 429/503 retry headers,
# x-should-retry: false on a spent budget, the client's Authorization and
# x-stainless-* never forwarded, a client that leaves closing the upstream
# request within 100 ms, and a drain that lets streams finish.
. "$(dirname "$0")/lib.sh"
unset BUILT_IN_FORGE_API_URL BUILT_IN_FORGE_API_KEY
jobs_setup llm_edge
q() { mysql_root -e "$1"; }
SSE="python3 $INGOT_ROOT/test/integration/sse_client.py"

start_fakellm # sets LP and L
export LLM_PROVIDER=openai LLM_BASE_URL="$L/openai/v1" LLM_API_KEY=sk-upstream-fake-0123

# A route whose name has a slash (as "provider/model" names do).
check "route team/fast to the default provider" "$INGOT_BIN" admin model route team/fast default --upstream-model fake-ok --env-file /dev/null
start_ingot S serve
U="http://127.0.0.1:$S_PORT"
fake_log() { curl -s "$L/_log" | jq -c --arg m "$1" 'select(.json.model == $m)'; }
# post PATH BODY [curl args]: headers to h.txt, body to b.json; prints the status
post() { local p=$1 b=$2; shift 2; curl -s -D h.txt -o b.json -w '%{http_code}' -X POST "$U$p" "${AUTH[@]}" -H 'Content-Type: application/json' "$@" -d "$b"; }
hdr() { grep -i "^$1:" h.txt | head -1 | cut -d: -f2- | tr -d ' \r'; }
msg() { printf '{"model":"%s","messages":[{"role":"user","content":"hi"}]%s}' "$1" "${2:-}"; }

# Plain chat.
eq "chat: 200" "$(post /v1/chat/completions "$(msg fake-ok)" -H 'Accept: application/json')" 200
eq "  the completion" "$(jq -r .choices[0].message.content b.json)" "Hello! This is fakellm."
eq "  usage" "$(jq -r .usage.total_tokens b.json)" 17
contains "  x-request-id" "$(hdr x-request-id)" "req_"
contains "  JSON" "$(hdr content-type)" "application/json"

# What goes upstream: the provider's key, never the client's Authorization
# nor the SDK's x-stainless-* headers.
post /v1/chat/completions "$(msg fake-fwd-check)" -H 'X-Stainless-Lang: js' -H 'X-Stainless-Retry-Count: 1' \
    -H 'X-Stainless-Package-Version: 7.55.0' -H 'User-Agent: OpenAI/JS 7.55.0' >/dev/null
rec=$(fake_log fake-fwd-check | tail -1)
eq "upstream Authorization is the provider's key" "$(jq -r .headers.authorization <<<"$rec")" "Bearer sk-upstream-fake-0123"
eq "  no x-stainless-* forwarded" "$(jq -r '[.headers | keys[] | select(startswith("x-stainless"))] | length' <<<"$rec")" 0
check "  the tenant's key appears nowhere upstream" sh -c "! curl -s '$L/_log' | grep -qF '$K'"

# Streaming, decided by the body (the SDK sends Accept: application/json):
# each event relayed as it arrives.
out=$($SSE "$S_PORT" /v1/chat/completions "$K" "$(msg fake-delay-150-words-4 ',"stream":true')")
eq "stream: 200" "$(jq -r .status <<<"$out")" 200
contains "  text/event-stream" "$(jq -r '.headers["content-type"]' <<<"$out")" "text/event-stream"
eq "  X-Accel-Buffering: no" "$(jq -r '.headers["x-accel-buffering"]' <<<"$out")" no
eq "  Cache-Control: no-cache" "$(jq -r '.headers["cache-control"]' <<<"$out")" no-cache
contains "  x-request-id" "$(jq -r '.headers["x-request-id"]' <<<"$out")" "req_"
eq "  ends with data: [DONE]" "$(jq -r '.events[-1].data' <<<"$out")" "[DONE]"
eq "  one [DONE]" "$(jq '[.events[] | select(.data == "[DONE]")] | length' <<<"$out")" 1
eq "  the content, chunk by chunk" "$(jq -r '[.events[] | select(.data != "[DONE]") | .data | fromjson | .choices[0].delta.content // empty] | join("")' <<<"$out")" " w1 w2 w3 w4"
eq "  every chunk is a chat.completion.chunk" "$(jq -r '[.events[] | select(.data != "[DONE]") | .data | fromjson | .object] | unique | join(",")' <<<"$out")" chat.completion.chunk
spread=$(jq '[.events[] | select(.data != "[DONE]") | .t] | (max - min)' <<<"$out")
check "  relayed as they came, not at the end (first to last: $spread ms >= 400)" [ "$(jq -n "$spread >= 400")" = true ]
eq "  no usage chunk the client did not ask for" "$(jq '[.events[] | select(.data != "[DONE]") | .data | fromjson | select(.usage != null)] | length' <<<"$out")" 0

# Embeddings: base64 (little-endian float32) when the client asks for it,
# as the SDK does; floats when it asks or says nothing (OpenAI's default).
eq "embeddings: 200" "$(post /v1/embeddings '{"model":"fake-ok","input":["x","y"]}')" 200
eq "  two" "$(jq -r '.data | length' b.json)" 2
eq "  floats by default" "$(jq -c '.data[0].embedding[0:2]' b.json)" "[-0.75,-0.640625]"
eq "embeddings as base64: 200" "$(post /v1/embeddings '{"model":"fake-ok","input":["x","y"],"encoding_format":"base64"}')" 200
eq "  base64 when asked" "$(jq -r '.data[0].embedding | type' b.json)" string
eq "  decodes to the provider's floats" "$(jq -r .data[0].embedding b.json | python3 -c 'import base64,struct,sys; b=base64.b64decode(sys.stdin.read().strip()); print(list(struct.unpack("<%df" % (len(b)//4), b))[:2])')" "[-0.75, -0.640625]"
eq "embeddings as floats: 200" "$(post /v1/embeddings '{"model":"fake-ok","input":"x","encoding_format":"float"}')" 200
eq "  floats" "$(jq -c '.data[0].embedding[0:2]' b.json)" "[-0.75,-0.640625]"

# Models.
models=$(curl -s -D h.txt "$U/v1/models" "${AUTH[@]}")
eq "models: a list" "$(jq -r .object <<<"$models")" list
check "  not empty" [ "$(jq '.data | length' <<<"$models")" -gt 0 ]
contains "  x-request-id" "$(hdr x-request-id)" "req_"
id=$(jq -r '.data[0].id' <<<"$models")
enc=$(jq -rn --arg s "$id" '$s | @uri')
eq "models/{id}: the model" "$(curl -s "$U/v1/models/$enc" "${AUTH[@]}" | jq -r .id)" "$id"
eq "models/{id} with a slash (encoded): the route" "$(curl -s "$U/v1/models/team%2Ffast" "${AUTH[@]}" | jq -r .id)" team/fast
eq "models/{id} with a slash (as listed, unencoded): the route" "$(curl -s "$U/v1/models/team/fast" "${AUTH[@]}" | jq -r .id)" team/fast
eq "models/{provider}/{id} absent: 404 naming the whole id" "$(curl -s "$U/v1/models/team/nope" "${AUTH[@]}" | jq -r .error.message)" "The model 'team/nope' does not exist"
eq "chat through the route" "$(post /v1/chat/completions "$(msg team/fast)"; jq -r .choices[0].message.content b.json)" "200Hello! This is fakellm."
eq "  upstream under its upstream name" "$(curl -s "$L/_log" | jq -r 'select(.json.messages != null) | .json.model' | tail -1)" fake-ok
eq "models/{id} absent: 404" "$(curl -s -D h.txt -o b.json -w '%{http_code}' "$U/v1/models/no-such-model" "${AUTH[@]}")" 404
eq "  OpenAI's shape" "$(jq -r '[.error.type, .error.param, .error.code] | join(" ")' b.json)" "invalid_request_error model model_not_found"
contains "  x-request-id" "$(hdr x-request-id)" "req_"

# Refusals: every answer has x-request-id.
eq "no key: 401" "$(curl -s -D h.txt -o b.json -w '%{http_code}' -X POST "$U/v1/chat/completions" -d "$(msg fake-ok)")" 401
contains "  x-request-id" "$(hdr x-request-id)" "req_"
eq "bad JSON: 400" "$(post /v1/chat/completions '{"model":')" 400
contains "  x-request-id" "$(hdr x-request-id)" "req_"
eq "messages missing: 400" "$(post /v1/chat/completions '{"model":"fake-ok"}')" 400
eq "  naming messages" "$(jq -r .error.param b.json)" messages

# 429 and 503 say when to come back.
eq "provider 429 relayed" "$(post /v1/chat/completions "$(msg fake-429-retry-1500)")" 429
eq "  retry-after (s, rounded up)" "$(hdr retry-after)" 2
eq "  retry-after-ms" "$(hdr retry-after-ms)" 1500
contains "  x-request-id" "$(hdr x-request-id)" "req_"
eq "  the provider's error" "$(jq -r .error.code b.json)" "rate_limit_exceeded"
# (the 429 said the provider is spent for 1.5 s: let it reset)
wait_until 40 sh -c "curl -s -o /dev/null -w '%{http_code}' -X POST '$U/v1/chat/completions' -H 'Authorization: Bearer $K' -d '$(msg fake-ok)' | grep -q 200"
eq "provider 503 relayed" "$(post /v1/chat/completions "$(msg fake-503)")" 503
check "  retry-after" [ -n "$(hdr retry-after)" ]
check "  retry-after-ms" [ -n "$(hdr retry-after-ms)" ]

# A spent budget: 429 with x-should-retry: false (retrying cannot help).
"$INGOT_BIN" admin tenant create broke --env-file /dev/null >/dev/null 2>&1
KB=$("$INGOT_BIN" admin key create --tenant broke --env-file /dev/null 2>/dev/null)
"$INGOT_BIN" admin tenant limits broke --tokens-per-day 1 --env-file /dev/null >/dev/null 2>&1
code=""
wait_until 60 sh -c "curl -s -D h.txt -o b.json -w '%{http_code}' -X POST '$U/v1/chat/completions' -H 'Authorization: Bearer $KB' -d '$(msg fake-ok ',"max_tokens":50')' > code.txt; grep -q 429 code.txt"
eq "budget smaller than the call: 429" "$(cat code.txt)" 429
eq "  x-should-retry: false" "$(hdr x-should-retry)" false
check "  no retry-after (it can never fit)" [ -z "$(hdr retry-after)" ]

# A client that leaves mid-stream: the upstream request closes within
# 100 ms (the fake records when it saw the close).
out=$($SSE "$S_PORT" /v1/chat/completions "$K" "$(msg fake-delay-200-words-50-leave ',"stream":true')" --close-after-events 2)
left=$(jq -r .closed_at <<<"$out")
wait_until 30 sh -c "curl -s '$L/_log' | jq -e 'select(.json.model == \"fake-delay-200-words-50-leave\") | .closed_mono_ms != null' >/dev/null"
closed=$(fake_log fake-delay-200-words-50-leave | jq -r .closed_mono_ms)
check "stream client left: upstream closed within 100 ms ($(jq -n "$closed - $left" 2>/dev/null) ms)" \
    [ "$(jq -n "$closed != null and $closed - $left < 100")" = true ]
# ... and for a plain call too.
out=$($SSE "$S_PORT" /v1/chat/completions "$K" "$(msg fake-hang-leave)" --close-after-ms 300)
left=$(jq -r .closed_at <<<"$out")
wait_until 30 sh -c "curl -s '$L/_log' | jq -e 'select(.json.model == \"fake-hang-leave\") | .closed_mono_ms != null' >/dev/null"
closed=$(fake_log fake-hang-leave | jq -r .closed_mono_ms)
check "plain client left: upstream closed within 100 ms ($(jq -n "$closed - $left" 2>/dev/null) ms)" \
    [ "$(jq -n "$closed != null and $closed - $left < 100")" = true ]

# A drain lets a stream in flight finish.
$SSE "$S_PORT" /v1/chat/completions "$K" "$(msg fake-delay-100-words-8-drain ',"stream":true')" > drain.json &
SP=$!
wait_until 50 sh -c "curl -s '$L/_log' | grep -q fake-delay-100-words-8-drain"
stop_ingot "$S_PID" "$S_LOG"; eq "serve drains and exits 0" $? 0
wait "$SP"
eq "  the stream in flight finished" "$(jq -r '.events[-1].data' drain.json)" "[DONE]"
eq "  with every chunk" "$(jq -r '[.events[] | select(.data != "[DONE]") | .data | fromjson | .choices[0].delta.content // empty] | join("")' drain.json)" " w1 w2 w3 w4 w5 w6 w7 w8"

# A tenant key that does not open (a serve with another ENCRYPTION_KEY) is
# the operator's fault: 503 that tells the tenant nothing internal, and the
# details in the log (never the key).
printf '%s' sk-tenant-own-77 | "$INGOT_BIN" admin tenant provider-key set acme default --env-file /dev/null >/dev/null 2>&1
ENCRYPTION_KEY=$(openssl rand -hex 32) start_ingot S3 serve
U="http://127.0.0.1:$S3_PORT"
eq "unopenable tenant key: 503" "$(post /v1/chat/completions "$(msg fake-ok)")" 503
eq "  server_error provider_unavailable" "$(jq -r '[.error.type, .error.code] | join(" ")' b.json)" "server_error provider_unavailable"
eq "  a message telling nothing internal" "$(jq -r .error.message b.json)" "the provider's credentials are not usable; the operator has been told"
check "  retry-after" [ -n "$(hdr retry-after)" ]
eq "  a job too: 503" "$(post /v1/jobs '{"kind":"llm.chat","payload":{"model":"fake-ok","messages":[{"role":"user","content":"hi"}]}}')" 503
eq "  server_error" "$(jq -r .error.type b.json)" server_error
eq "  naming no field" "$(jq -r .error.param b.json)" null
contains "  the operator's log says what" "$(cat "$S3_LOG")" "own key for provider 'default' does not open"
check "  and never the key" sh -c "! grep -q sk-tenant-own-77 '$S3_LOG'"

# The tenant's own key, refused by the provider: 401, but not ingot's own
# invalid_api_key.
start_ingot S4 serve
U="http://127.0.0.1:$S4_PORT"
eq "own key refused by the provider: 401" "$(post /v1/chat/completions "$(msg fake-401)")" 401
eq "  code provider_key_invalid" "$(jq -r .error.code b.json)" provider_key_invalid
contains "  names the provider" "$(jq -r .error.message b.json)" "provider 'default' refused your own key"
check "  never the key" sh -c "! grep -q sk-tenant-own-77 b.json"
eq "  the tenant's key went upstream" "$(fake_log fake-401 | tail -1 | jq -r .headers.authorization)" "Bearer sk-tenant-own-77"
finish
