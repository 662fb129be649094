# POST /v1/messages with the official Anthropic SDK (npm, test/package-lock.json)
# as the client, ingot in front of fakellm: an openai provider (the request
# and answer translated) and an anthropic provider (passed through); plain,
# streamed and tool-use calls (test/llm/messages.mjs), then curl: 400s in
# Anthropic's error shape naming the field, x-api-key and Bearer auth, a
# usage row per call with the provider's tokens, and limits refusing with
# Anthropic's 429 rate_limit_error and retry-after.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
LLM="$INGOT_ROOT/test/llm"

if ! [ -f "$INGOT_ROOT/test/node_modules/@anthropic-ai/sdk/package.json" ]; then
    bash "$INGOT_ROOT/test/sdk-setup.sh" >sdk-setup.log 2>&1 || { bad "SDKs installed (test/sdk-setup.sh)"; cat sdk-setup.log; finish; }
fi

url=$(migrated_db llmmsgs) || { bad "migrate"; finish; }
export DATABASE_URL=$url
DB=ingot_llmmsgs
A=(--env-file /dev/null)
for t in acme rpm budget; do "$B" admin tenant create "$t" "${A[@]}" >/dev/null 2>&1; done
K=$("$B" admin key create --tenant acme "${A[@]}" 2>/dev/null)
KR=$("$B" admin key create --tenant rpm "${A[@]}" 2>/dev/null)
KB=$("$B" admin key create --tenant budget "${A[@]}" 2>/dev/null)
check "tenant limits: rpm 2" "$B" admin tenant limits rpm --rpm 2 "${A[@]}"
check "tenant limits: 30 tokens a day" "$B" admin tenant limits budget --tokens-per-day 30 "${A[@]}"

"$INGOT_FAKES/fakellm" 0 > fake.out 2>fake.err &
FAKE_PIDS+=($!)
wait_until 50 grep -q '^port ' fake.out || { bad "fakellm started"; cat fake.err; finish; }
FP=$(awk '/^port /{print $2; exit}' fake.out)
FAKE="http://127.0.0.1:$FP"
UPKEY=upstream-secret-key-0123456789

printf %s anth-operator-key-17 | "$B" admin provider add anth --type anthropic --base-url "$FAKE/anthropic/v1" --api-key-stdin "${A[@]}" >/dev/null 2>&1
check "provider add anth" sh -c "'$B' admin provider list ${A[*]} | grep -q anth"

export USAGE_FLUSH_INTERVAL=200ms
LLM_BASE_URL="$FAKE/openai/v1" LLM_API_KEY=$UPKEY start_ingot S serve || finish
SU="http://127.0.0.1:$S_PORT"

run_node() {
    local name=$1; shift
    local out="$name.out" rc
    INGOT_URL=$SU INGOT_KEY=$K FAKE_URL=$FAKE timeout 120 node "$@" >"$out" 2>&1; rc=$?
    local p f
    p=$(grep -c '^ok ' "$out"); f=$(grep -c '^FAIL ' "$out")
    T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
    cat "$out"
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then bad "$name: node exited $rc"; tail -20 "$out"; fi
}
PREFIX= run_node messages-openai "$LLM/messages.mjs"
PREFIX=anth/ run_node messages-anthropic "$LLM/messages.mjs"

# ---- curl: bad input, auth, usage, limits ----
msg() { # msg KEYHEADER BODY [curl args]: the answer's status line then body
    local kh=$1 body=$2; shift 2
    curl -s --max-time 10 -o resp.json -w '%{http_code}' -H "$kh" -H 'content-type: application/json' \
        "$@" -d "$body" "$SU/v1/messages"
}
jf() { python3 -c 'import json,sys; d=json.load(open("resp.json")); print(eval(sys.argv[1]))' "$1" 2>/dev/null; }
shape() { # shape DESC STATUS TYPE FIELD
    eq "$1: Anthropic's error shape, $3" "$(jf 'd["type"], d["error"]["type"]')" "('error', '$3')"
    [ -z "$4" ] || contains "$1: the message names $4" "$(jf 'd["error"]["message"]')" "$4"
}
XK="x-api-key: $K"
eq "no max_tokens: 400" "$(msg "$XK" '{"model":"fake-ok","messages":[{"role":"user","content":"hi"}]}')" 400
shape "no max_tokens" 400 invalid_request_error max_tokens
eq "max_tokens 0: 400" "$(msg "$XK" '{"model":"fake-ok","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}')" 400
shape "max_tokens 0" 400 invalid_request_error max_tokens
eq "bad role: 400" "$(msg "$XK" '{"model":"fake-ok","max_tokens":5,"messages":[{"role":"robot","content":"hi"}]}')" 400
shape "bad role" 400 invalid_request_error messages.0.role
eq "bad block: 400" "$(msg "$XK" '{"model":"fake-ok","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text"}]}]}')" 400
shape "bad block" 400 invalid_request_error messages.0.content.0.text
eq "tool without input_schema: 400" "$(msg "$XK" '{"model":"fake-ok","max_tokens":5,"tools":[{"name":"t"}],"messages":[{"role":"user","content":"hi"}]}')" 400
shape "tool without input_schema" 400 invalid_request_error tools.0.input_schema
eq "bad tool_choice: 400" "$(msg "$XK" '{"model":"fake-ok","max_tokens":5,"tool_choice":{"type":"maybe"},"messages":[{"role":"user","content":"hi"}]}')" 400
shape "bad tool_choice" 400 invalid_request_error tool_choice.type
eq "stream not a boolean: 400" "$(msg "$XK" '{"model":"fake-ok","max_tokens":5,"stream":"yes","messages":[{"role":"user","content":"hi"}]}')" 400
shape "stream not a boolean" 400 invalid_request_error stream
long=$(printf 'm%.0s' $(seq 200))
eq "model too long: 400" "$(msg "$XK" '{"model":"'"$long"'","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}')" 400
shape "model too long" 400 invalid_request_error model
eq "model not a string: 400" "$(msg "$XK" '{"model":5,"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}')" 400
shape "model not a string" 400 invalid_request_error model
eq "not JSON: 400" "$(msg "$XK" '{"model":')" 400
shape "not JSON" 400 invalid_request_error ""
eq "document block to an openai provider: 400" "$(msg "$XK" '{"model":"fake-ok","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}]}]}')" 400
shape "document block to an openai provider" 400 invalid_request_error messages.0.content.0.type
eq "bad anthropic-version: 400" "$(msg "$XK" '{"model":"fake-ok","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}' -H 'anthropic-version: a b')" 400
shape "bad anthropic-version" 400 invalid_request_error anthropic-version
eq "no key: 401" "$(msg "x-none: 1" '{"model":"fake-ok","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}')" 401
shape "no key" 401 authentication_error ""
eq "wrong x-api-key: 401" "$(msg "x-api-key: ik_0000000000000000000000000000000000000000" '{"model":"fake-ok","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}')" 401
shape "wrong x-api-key" 401 authentication_error ""
eq "?beta=true (the SDK's beta.messages): 200" "$(msg "$XK" '{"model":"fake-ok","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}' --url-query beta=true)" 200
eq "unknown query parameter: 400" "$(msg "$XK" '{"model":"fake-ok","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}' --url-query betta=true)" 400
shape "unknown query parameter" 400 invalid_request_error betta
eq "x-api-key works on the OpenAI routes too" "$(http_code "$SU/v1/models" -H "$XK")" 200

# A usage row per call, with the provider's tokens (endpoint messages).
eq "x-api-key: 200" "$(msg "$XK" '{"model":"fake-ok-u1","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}' -H 'x-request-id: msgs-u1')" 200
eq "anthropic provider via curl: 200" "$(msg "$XK" '{"model":"anth/fake-ok-u2","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}' -H 'x-request-id: msgs-u2')" 200
eq "anthropic provider: usage as the provider said" "$(jf 'd["usage"]["input_tokens"], d["usage"]["output_tokens"]')" "(7, 5)"
eq "stream via curl: 200" "$(msg "$XK" '{"model":"fake-ok-u3","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}' -H 'x-request-id: msgs-u3')" 200
contains "stream via curl: message_stop" "$(cat resp.json)" "event: message_stop"
contains "stream via curl: no [DONE]" "$(grep -c 'DONE' resp.json)" 0
row() { mysql_root -e "SELECT endpoint, status, prompt_tokens, completion_tokens, cached_tokens FROM $DB.llm_usage WHERE request_id = '$1'"; }
check "usage row: openai plain" wait_until 50 out_is "$(printf 'messages\t200\t12\t5\t0')" row msgs-u1
check "usage row: anthropic plain (prompt = input + cache)" wait_until 50 out_is "$(printf 'messages\t200\t12\t5\t3')" row msgs-u2
check "usage row: openai stream" wait_until 50 out_is "$(printf 'messages\t200\t12\t5\t0')" row msgs-u3
n=$(mysql_root -e "SELECT COUNT(*) FROM $DB.llm_usage u JOIN $DB.tenants t ON t.id = u.tenant_id WHERE t.name = 'acme' AND u.endpoint = 'messages'")
check "usage rows: one per SDK call too ($n)" [ "$n" -ge 20 ]

# The provider's own 429 (throttling): Anthropic's shape, when to come back.
eq "provider 429: relayed" "$(msg "$XK" '{"model":"anth/fake-429-retry-1500","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}' -D hdr.txt)" 429
shape "provider 429" 429 rate_limit_error ""
check "provider 429: retry-after-ms" grep -qiE '^retry-after-ms: [0-9]+' hdr.txt
check "provider 429: retry-after" grep -qiE '^retry-after: [0-9]+' hdr.txt
eq "openai provider 500: 500" "$(msg "$XK" '{"model":"fake-500-c","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}')" 500
shape "openai provider 500" 500 api_error ""

# Provider throttling: an anthropic provider that says it is spent
# (remaining 0, reset in 1.5 s) holds the next call until the reset.
rec() { curl -s "$FAKE/_log" | jq -c --arg m "$1" 'select(.json.model == $m)' | tail -1; }
eq "provider spent: 200" "$(msg "$XK" '{"model":"anth/fake-remaining-0-reset-1500-m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}')" 200
eq "  the next call waits for the reset: 200" "$(msg "$XK" '{"model":"anth/fake-ok-after-reset-m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}')" 200
a_done=$(rec fake-remaining-0-reset-1500-m | jq -r .done_mono_ms)
b_at=$(rec fake-ok-after-reset-m | jq -r .mono_ms)
check "  it reached the provider after the reset ($(jq -n "$b_at - $a_done") ms >= 1400)" [ "$(jq -n "$b_at - $a_done >= 1400")" = true ]

# A stream the client leaves: the upstream stops, what was produced is recorded (499).
for p in "" anth/; do
    rid="msgs-gone-${p%/}"
    curl -s -N --max-time 1 -H "$XK" -H "x-request-id: $rid" -H 'content-type: application/json' \
        -d '{"model":"'"$p"'fake-stall","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}' \
        "$SU/v1/messages" > gone.txt
    contains "stream left ($p): events came first" "$(cat gone.txt)" "content_block_delta"
    check "stream left ($p): usage row 499" wait_sql 50 \
        "SELECT COUNT(*) FROM $DB.llm_usage WHERE request_id = '$rid' AND status = 499 AND completion_tokens > 0 AND endpoint = 'messages'" 1
done

# Limits: a spent token budget, and rpm, refused in Anthropic's shape.
eq "budget: first call" "$(msg "x-api-key: $KB" '{"model":"fake-ok-b1","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}')" 200
wait_until 50 sql_is "SELECT COUNT(*) FROM $DB.llm_usage u JOIN $DB.tenants t ON t.id = u.tenant_id WHERE t.name = 'budget'" 1
eq "budget: spent: 429" "$(msg "x-api-key: $KB" '{"model":"fake-ok-b2","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}' -D hdr.txt)" 429
shape "budget spent" 429 rate_limit_error ""
contains "budget spent: x-should-retry false" "$(tr -d '\r' < hdr.txt)" "x-should-retry: false"
wait_until 100 minute_left 8
for i in 1 2; do msg "x-api-key: $KR" '{"model":"fake-ok-r","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}' >/dev/null; done
eq "rpm: third call 429" "$(msg "x-api-key: $KR" '{"model":"fake-ok-r","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}' -D hdr.txt)" 429
shape "rpm" 429 rate_limit_error ""
check "rpm: retry-after" grep -qi '^retry-after: [0-9]' hdr.txt
check "rpm: retry-after-ms" grep -qi '^retry-after-ms: [0-9]' hdr.txt
finish
