# https providers: serve and work reach the fake provider through a TLS
# proxy (test/fakes/tlsproxy.py) whose certificates are made here with the
# openssl CLI (a CA, a server certificate for DNS:localhost + IP:127.0.0.1,
# one for DNS:wrong.invalid that is only ever presented on loopback).
# Trusted through CA_BUNDLE: plain, streamed (as it arrives), embeddings,
# keep-alive reuse, concurrency, an IP SAN (no SNI), TLS 1.2, Anthropic,
# an llm.chat job. Refused: no CA_BUNDLE (the system store does not know
# our CA) and a certificate for another name are 502s naming the
# certificate, never reaching the provider and never carrying the key. A
# server that takes the connection and never does the handshake, and one
# that never answers after it: 504 within LLM_TIMEOUT.
# Assertions are on status codes, on the word "certificate" and on what the
# proxy and the fake saw, not on a TLS library's wording.
. "$(dirname "$0")/lib.sh"
unset BUILT_IN_FORGE_API_URL BUILT_IN_FORGE_API_KEY SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE
jobs_setup llm_tls
SSE="python3 $INGOT_ROOT/test/integration/sse_client.py"
A=(--env-file /dev/null)
KEY=sk-upstream-tls-secret-0123456789

# Certificates (P-256, two days).
ossl() { openssl "$@" >>openssl.log 2>&1 || { bad "openssl $1"; cat openssl.log; finish; }; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 2 -subj "/CN=ingot test CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
leaf() { # leaf NAME SAN
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1 test server"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' "$2" >"$1.ext"
    ossl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days 2 -extfile "$1.ext"
}
leaf good DNS:localhost,IP:127.0.0.1
leaf wrong DNS:wrong.invalid
check "the test certificates verify against the CA" openssl verify -CAfile ca.pem good.pem wrong.pem

start_fakellm # sets LP and L
# (the fake reads behaviour from the model's words: tags here avoid its
# words, e.g. "hang")
# start_tls VAR ARGS...: a tlsproxy on a free port (VAR_PORT); its stdout
# (one line a handshake) in VAR.out.
start_tls() {
    local var=$1; shift
    python3 "$INGOT_ROOT/test/fakes/tlsproxy.py" 0 "$@" >"$var.out" 2>&1 &
    FAKE_PIDS+=($!)
    wait_until 50 grep -q '^port ' "$var.out" || { bad "tlsproxy $var did not start"; cat "$var.out"; finish; }
    printf -v "${var}_PORT" '%s' "$(awk '/^port /{print $2; exit}' "$var.out")"
}
start_tls GOOD --cert "$PWD/good.pem" --key "$PWD/good.key" --backend "$LP"
start_tls WRONG --cert "$PWD/wrong.pem" --key "$PWD/wrong.key" --backend "$LP"
start_tls HANG --cert "$PWD/good.pem" --key "$PWD/good.key" --hang
start_tls T12 --cert "$PWD/good.pem" --key "$PWD/good.key" --backend "$LP" --max-tls 1.2
hs() { grep -c '^handshake ok' "$1.out"; } # hs VAR: handshakes done

export LLM_PROVIDER=openai LLM_BASE_URL="https://localhost:$GOOD_PORT/openai/v1" LLM_API_KEY=$KEY
padd() { # padd NAME TYPE URL: a named provider with the same key
    echo "$KEY" | "$INGOT_BIN" admin provider add "$1" --type "$2" --base-url "$3" --api-key-stdin "${A[@]}" >/dev/null 2>&1
    eq "provider $1 at $3" "$("$INGOT_BIN" admin provider list "${A[@]}" 2>/dev/null | awk -F'\t' -v n="$1" '$1 == n {print $2, $3}')" "$2 $3"
}
padd ip openai "https://127.0.0.1:$GOOD_PORT/openai/v1"
padd wrong openai "https://localhost:$WRONG_PORT/openai/v1"
padd hang openai "https://localhost:$HANG_PORT/openai/v1"
padd t12 openai "https://localhost:$T12_PORT/openai/v1"
padd anth anthropic "https://localhost:$GOOD_PORT/anthropic/v1"

CA_BUNDLE=$PWD/ca.pem LLM_TIMEOUT=1s start_ingot S serve || finish
U="http://127.0.0.1:$S_PORT"
post() { curl -s -o b.json -w '%{http_code}' --max-time 10 -X POST "$U$1" "${AUTH[@]}" -H 'Content-Type: application/json' -d "$2"; }
chat() { printf '{"model":"%s","messages":[{"role":"user","content":"hi"}]%s}' "$1" "${2:-}"; }
rec() { curl -s "$L/_log" | jq -c --arg m "$1" 'select(.json.model == $m)' | tail -1; }
content() { jq -r '.choices[0].message.content' b.json; }

# a. Trusted through CA_BUNDLE, by name: SNI localhost.
h0=$(hs GOOD)
for i in 1 2 3 4; do
    eq "https chat $i: 200" "$(post /v1/chat/completions "$(chat fake-ok-seq-$i)")" 200
    eq "  the fake's content" "$(content)" "Hello! This is fakellm."
done
r=$(rec fake-ok-seq-4)
eq "  the provider got the key through TLS" "$(jq -r .headers.authorization <<<"$r")" "Bearer $KEY"
h1=$(hs GOOD)
check "  four calls, $((h1 - h0)) handshake(s): the connection is reused" [ $((h1 - h0)) -ge 1 -a $((h1 - h0)) -lt 4 ]
check "  SNI localhost sent" grep -q '^handshake ok sni=localhost ' GOOD.out

# Streamed: relayed as it arrives (the fake waits 80 ms before each event;
# the whole stream, ~0.6 s, must fit in LLM_TIMEOUT).
out=$($SSE "$S_PORT" /v1/chat/completions "$K" '{"model":"fake-delay-80-words-3-tls","stream":true,"messages":[{"role":"user","content":"hi"}]}')
eq "https stream: 200" "$(jq -r .status <<<"$out")" 200
eq "  the content" "$(jq -r '[.events[] | select(.data != "[DONE]") | .data | fromjson | .choices[0].delta.content // empty] | join("")' <<<"$out")" " w1 w2 w3"
eq "  ends with [DONE]" "$(jq -r '.events[-1].data' <<<"$out")" "[DONE]"
span=$(jq '[.events[] | select(.data != "[DONE]") | select(.data | fromjson | .choices[0].delta.content // "" | length > 0) | .t] | .[-1] - .[0] | floor' <<<"$out")
check "  events arrive as the provider sends them (w1 to w3: $span ms >= 120)" [ "$span" -ge 120 ]

eq "https embeddings: 200" "$(post /v1/embeddings '{"model":"fake-ok-emb","input":["a","b","c"]}')" 200
eq "  three embeddings of 8" "$(jq -c '[(.data | length), (.data[0].embedding | length)]' b.json)" "[3,8]"
eq "chat after the stream and embeddings on the same provider: 200" "$(post /v1/chat/completions "$(chat fake-echo-after)")" 200

# Many at once: each its own answer.
pids=()
for i in $(seq 1 16); do
    curl -s -o "c$i.json" -w '%{http_code}\n' --max-time 10 -X POST "$U/v1/chat/completions" "${AUTH[@]}" \
        -d "{\"model\":\"fake-echo-c$i\",\"messages\":[{\"role\":\"user\",\"content\":\"call $i\"}]}" >"c$i.code" &
    pids+=($!)
done
wait "${pids[@]}"
n=0
for i in $(seq 1 16); do
    [ "$(cat "c$i.code")" = 200 ] && [ "$(jq -r '.choices[0].message.content' "c$i.json")" = "call $i" ] && n=$((n + 1))
done
eq "16 concurrent https calls: each 200 with its own answer" "$n" 16

# b. By IP: the IP SAN matches; no SNI for an address (RFC 6066).
eq "https by IP: 200" "$(post /v1/chat/completions "$(chat ip/fake-ok-ip)")" 200
eq "  the fake's content" "$(content)" "Hello! This is fakellm."
check "  a handshake without SNI" grep -q '^handshake ok sni=- ' GOOD.out
eq "TLS 1.2 server: 200" "$(post /v1/chat/completions "$(chat t12/fake-ok-t12)")" 200
check "  over TLS 1.2" grep -q '^handshake ok .*version=TLSv1.2$' T12.out

# Anthropic behind https: plain and streamed.
eq "anthropic over https: 200" "$(post /v1/chat/completions "$(chat anth/fake-ok-anth)")" 200
eq "  translated content" "$(jq -r '[.object, .choices[0].message.content] | join("|")' b.json)" "chat.completion|Hello! This is fakellm."
r=$(rec fake-ok-anth)
eq "  sent as Messages with x-api-key" "$(jq -r '[.path, .headers["x-api-key"]] | join(" ")' <<<"$r")" "/anthropic/v1/messages $KEY"
out=$($SSE "$S_PORT" /v1/chat/completions "$K" '{"model":"anth/fake-words-3-anth","stream":true,"messages":[{"role":"user","content":"hi"}]}')
eq "anthropic stream over https: 200, content, [DONE]" \
    "$(jq -r '.status, ([.events[] | select(.data != "[DONE]") | .data | fromjson | .choices[0].delta.content // empty] | join("")), .events[-1].data' <<<"$out" | tr '\n' '|')" \
    "200| w1 w2 w3|[DONE]|"

# refused WHAT CODE MODEL: a 502 upstream_error naming the certificate,
# without the key, the provider never reached.
refused() {
    local what=$1 code=$2 model=$3 msg
    eq "$what: 502" "$code" 502
    eq "  code upstream_error" "$(jq -r .error.code b.json)" upstream_error
    msg=$(jq -r .error.message b.json)
    contains "  the message names the certificate" "$(tr '[:upper:]' '[:lower:]' <<<"$msg")" certificate
    case "$(cat b.json)" in *"$KEY"* | *"${KEY:0:12}"*) bad "  the key is not in the answer" ;; *) ok "  the key is not in the answer" ;; esac
    eq "  the provider never saw the request" "$(rec "$model")" ""
    echo "  ($what: $msg)"
}
# d. A certificate for another name, from the trusted CA.
refused "certificate for wrong.invalid at localhost" "$(post /v1/chat/completions "$(chat wrong/fake-ok-wrong)")" fake-ok-wrong

# f. Hangs end at LLM_TIMEOUT (1 s): a server that never does the
# handshake, and one that never answers after it.
for m in hang/fake-ok-nohs fake-hang-after-tls; do
    t0=$(date +%s%N)
    eq "$m: 504" "$(post /v1/chat/completions "$(chat "$m")")" 504
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    check "  after about LLM_TIMEOUT ($ms ms)" [ "$ms" -ge 900 -a "$ms" -lt 3000 ]
    eq "  code upstream_timeout" "$(jq -r .error.code b.json)" upstream_timeout
done
eq "  the handshake-less server saw no TLS" "$(hs HANG)" 0
check "  the provider saw the request after the handshake, then the close" \
    wait_until 30 sh -c "curl -s '$L/_log' | jq -e 'select(.json.model == \"fake-hang-after-tls\") | .closed_mono_ms != null' >/dev/null"
eq "after the timeouts, the same provider still answers: 200" "$(post /v1/chat/completions "$(chat fake-ok-after-timeouts)")" 200

# c. No CA_BUNDLE: the system store does not trust our CA.
start_ingot S2 serve || finish
code=$(curl -s -o b.json -w '%{http_code}' --max-time 10 -X POST "http://127.0.0.1:$S2_PORT/v1/chat/completions" "${AUTH[@]}" -d "$(chat fake-ok-noca)")
refused "no CA_BUNDLE, CA unknown to the system" "$code" fake-ok-noca

# e. An llm.chat job through ingot work; one at the wrong name fails so.
CA_BUNDLE=$PWD/ca.pem start_ingot W work || finish
enqueue() { curl -s -X POST "$U/v1/jobs" "${AUTH[@]}" -d "$1" | jq -r .id; }
wait_state() { wait_until 150 sh -c "test \"\$(mariadb --no-defaults --socket=$MARIADB_SOCKET -uroot -N -B -e 'SELECT state FROM $DB.jobs WHERE id = ${1#job_}')\" = $2"; }
job() { curl -s "$U/v1/jobs/$1" "${AUTH[@]}"; }
J1=$(enqueue '{"kind":"llm.chat","queue":"llm","payload":{"model":"fake-ok-job","messages":[{"role":"user","content":"hi"}]}}')
check "llm.chat job over https succeeds" wait_state "$J1" 2
eq "  its result" "$(job "$J1" | jq -r '.result.choices[0].message.content')" "Hello! This is fakellm."
J2=$(enqueue '{"kind":"llm.chat","queue":"llm","max_attempts":1,"payload":{"model":"wrong/fake-ok-job-wrong","messages":[{"role":"user","content":"hi"}]}}')
check "llm.chat job at the wrong name fails" wait_state "$J2" 3
le=$(job "$J2" | jq -r .last_error)
contains "  last_error names the certificate" "$(tr '[:upper:]' '[:lower:]' <<<"$le")" certificate
case "$le" in *"$KEY"*) bad "  last_error without the key" ;; *) ok "  last_error without the key" ;; esac
eq "  the provider never saw it" "$(rec fake-ok-job-wrong)" ""

stop_ingot "$W_PID" "$W_LOG"; eq "work exits 0" $? 0
stop_ingot "$S2_PID" "$S2_LOG"; eq "the second serve exits 0" $? 0
stop_ingot "$S_PID" "$S_LOG"; eq "serve exits 0" $? 0
for f in "$S_LOG" "$S2_LOG" "$W_LOG"; do
    check "no key in $(basename "$f")" sh -c "! grep -q '$KEY' '$f'"
done
finish
