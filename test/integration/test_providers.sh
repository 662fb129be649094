# LLM providers: admin provider/route/provider-key flows and their refusals,
# keys sealed at rest and never printed (admin, doctor), rotation of
# ENCRYPTION_KEY, doctor's listing of providers, routes and the alias.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
E=(--env-file /dev/null)
url=$(migrated_db providers) || { bad "migrate"; finish; }
export DATABASE_URL=$url
DB=ingot_providers
KEY_A=$ENCRYPTION_KEY
KEY_B=$(openssl rand -base64 32)
# Distinctive keys, so any trace of them in an output is found.
PKEY=sk-prov-SECRET-91bc2d7e
TKEY=sk-tenant-SECRET-7f3a9c01
GOOD=test-key                  # what the fake provider accepts
ALL=all.out                    # every output of this test, grepped at the end
run() { "$@" >>"$ALL" 2>&1; }
out_of() { "$@" 2>&1 | tee -a "$ALL"; }
lacks() { case "$1" in *"$2"*) return 1 ;; esac; }
sql() { mysql_root "$DB" -e "$1"; }

"$B" admin tenant create acme "${E[@]}" >/dev/null 2>&1
start_fake LLM openai
U="http://127.0.0.1:$LLM_PORT/v1"

# --- wrong input: each names the argument, with its exit code ---
o=$(out_of "$B" admin provider add p1 --type foo --base-url "$U" "${E[@]}"); eq "bad type: 64" "$?" 64
contains "bad type named" "$o" "--type must be openai, openai-chat or anthropic, not foo"
o=$(out_of "$B" admin provider add p1 --type openai --base-url "ftp://127.0.0.1/v1" "${E[@]}"); eq "bad URL: 64" "$?" 64
contains "bad URL named" "$o" "--base-url: scheme must be http:// or https://"
o=$(out_of "$B" admin provider add p1 --type openai --base-url "http://u:pw@127.0.0.1/v1" "${E[@]}"); eq "URL with credentials: 64" "$?" 64
o=$(out_of "$B" admin provider add p1 --type openai "${E[@]}"); eq "missing --base-url: 64" "$?" 64
contains "missing URL named" "$o" "--base-url is required"
o=$(out_of "$B" admin provider add default --type openai --base-url "$U" "${E[@]}"); eq "reserved name: 64" "$?" 64
contains "reserved named" "$o" "reserved"
o=$(out_of "$B" admin provider add "a/b" --type openai --base-url "$U" "${E[@]}"); eq "bad name: 64" "$?" 64
contains "bad name named" "$o" "NAME must be 1-64 characters"
o=$(printf '%s' "$PKEY" | env -u ENCRYPTION_KEY "$B" admin provider add p1 --type openai --base-url "$U" --api-key-stdin "${E[@]}" 2>&1)
eq "key without ENCRYPTION_KEY: 78" "$?" 78
contains "ENCRYPTION_KEY named" "$o" "ENCRYPTION_KEY is not set"
eq "nothing stored" "$(sql "SELECT COUNT(*) FROM llm_providers")" 0
o=$(out_of "$B" admin provider add p1 --type openai --base-url "$U" --api-key-stdin "${E[@]}" </dev/null); eq "empty stdin: 64" "$?" 64
contains "empty stdin said" "$o" "no key on stdin"
o=$(printf 'a b' | out_of "$B" admin provider add p1 --type openai --base-url "$U" --api-key-stdin "${E[@]}"); eq "key with space: 64" "$?" 64
o=$(printf 'sk-one\nsk-two\n' | out_of "$B" admin provider add p1 --type openai --base-url "$U" --api-key-stdin "${E[@]}"); eq "two lines of key: 64" "$?" 64
contains "  said, not the first line kept" "$o" "more than one line"
check "  nothing stored" test "$(sql "SELECT COUNT(*) FROM llm_providers WHERE name='p1'")" = 0
o=$(out_of "$B" admin model route m1 nowhere "${E[@]}"); eq "route to unknown provider: 65" "$?" 65
contains "unknown provider named" "$o" "no such provider: nowhere"
o=$(printf '%s' "$TKEY" | out_of "$B" admin tenant provider-key set nobody default "${E[@]}"); eq "unknown tenant: 65" "$?" 65
contains "unknown tenant named" "$o" "no such tenant: nobody"
o=$(out_of "$B" admin model route "bad model" default "${E[@]}"); eq "model with space: 64" "$?" 64
o=$(out_of "$B" admin model route m1 default --force "${E[@]}"); eq "stray flag: 64" "$?" 64
o=$(out_of "$B" admin provider "${E[@]}"); eq "no verb: 64" "$?" 64

# --- providers, sealed at rest ---
printf '%s\n' "$GOOD" | run "$B" admin provider add good --type openai --base-url "$U/" --api-key-stdin "${E[@]}"
eq "add with key" "$?" 0
printf '%s' "$PKEY" | run "$B" admin provider add claude --type anthropic --base-url "$U" --api-key-stdin "${E[@]}"
eq "add anthropic" "$?" 0
run "$B" admin provider add nokey --type openai --base-url "$U" "${E[@]}"; eq "add without key" "$?" 0
o=$(out_of "$B" admin provider add good --type openai --base-url "$U" "${E[@]}"); eq "duplicate: 65" "$?" 65
contains "duplicate says --replace" "$o" "--replace"
eq "trailing slash dropped" "$(sql "SELECT base_url FROM llm_providers WHERE name='good'")" "$U"
stored=$(sql "SELECT api_key FROM llm_providers WHERE name='claude'")
check "stored sealed (v1.<id>.)" grep -qE '^v1\.[0-9a-f]{8}\.[A-Za-z0-9+/=]+$' <<<"$stored"
idA=$(cut -d. -f2 <<<"$stored")
eq "no key in the database" "$(sql "SELECT COUNT(*) FROM llm_providers WHERE api_key LIKE '%SECRET%' OR api_key LIKE '%test-key%'")" 0
eq "no provider stored without key" "$(sql "SELECT COUNT(*) FROM llm_providers WHERE name='nokey' AND api_key IS NULL")" 1
# A sealed value copied onto another row does not open there (AAD).
list=$(out_of "$B" admin provider list "${E[@]}")
contains "list shows key id" "$list" "claude	anthropic	$U	yes	$idA	admin	0"
contains "list shows no key" "$list" "nokey	openai	$U	no	-	admin	0"
list=$(LLM_BASE_URL="$U" out_of "$B" admin provider list "${E[@]}")
contains "list shows the default first" "$(sed -n 2p <<<"$list")" "default	openai	$U	no	-	LLM_BASE_URL"

# --- routes ---
run "$B" admin model route fast claude --upstream-model claude-3-5-haiku "${E[@]}"; eq "route" "$?" 0
run "$B" admin model route cheap good "${E[@]}"; eq "route same name" "$?" 0
run "$B" admin model route gpt default "${E[@]}"; eq "route to default" "$?" 0
routes=$(out_of "$B" admin model routes "${E[@]}")
contains "routes list upstream" "$routes" "fast	claude	claude-3-5-haiku"
contains "routes list same name" "$routes" "cheap	good	cheap"
run "$B" admin model route fast good "${E[@]}"; eq "route replaced" "$(sql "SELECT provider, IFNULL(upstream_model,'-') FROM llm_routes WHERE model='fast'")" "good	-"
run "$B" admin model route fast claude --upstream-model claude-3-5-haiku "${E[@]}"
o=$(out_of "$B" admin model route remove nothere "${E[@]}"); eq "remove unknown route: 65" "$?" 65
run "$B" admin model route remove gpt "${E[@]}"; eq "route removed" "$(sql "SELECT COUNT(*) FROM llm_routes WHERE model='gpt'")" 0

# --- tenants' keys ---
printf '%s' "$TKEY" | run "$B" admin tenant provider-key set acme claude "${E[@]}"; eq "tenant key set" "$?" 0
o=$(printf '%s' "$TKEY" | out_of "$B" admin tenant provider-key set acme nowhere "${E[@]}"); eq "tenant key for unknown provider: 65" "$?" 65
o=$(printf '%s' "$TKEY" | env -u ENCRYPTION_KEY "$B" admin tenant provider-key set acme claude "${E[@]}" 2>&1); eq "tenant key without ENCRYPTION_KEY: 78" "$?" 78
tstored=$(sql "SELECT api_key FROM llm_tenant_keys")
check "tenant key sealed" grep -qE "^v1\.$idA\." <<<"$tstored"
eq "no tenant key in the database" "$(sql "SELECT COUNT(*) FROM llm_tenant_keys WHERE api_key LIKE '%SECRET%'")" 0
tl=$(out_of "$B" admin tenant provider-key list "${E[@]}")
contains "tenant keys listed with the key id" "$tl" "acme	claude	$idA	"
o=$(out_of "$B" admin tenant provider-key list nobody "${E[@]}"); eq "list for an unknown tenant: 65" "$?" 65
printf '%s' "$TKEY" | run "$B" admin tenant provider-key set acme good "${E[@]}"
run "$B" admin tenant provider-key remove acme good "${E[@]}"; eq "tenant key removed" "$(sql "SELECT COUNT(*) FROM llm_tenant_keys")" 1
o=$(out_of "$B" admin tenant provider-key remove acme good "${E[@]}"); eq "remove absent tenant key: 65" "$?" 65

# --- provider remove: refused while used, naming the routes ---
o=$(out_of "$B" admin provider remove claude "${E[@]}"); eq "remove in use: 65" "$?" 65
contains "remove names the route" "$o" "routed from fast"
contains "remove counts tenant keys" "$o" "1 tenant key(s)"
o=$(out_of "$B" admin provider remove nothere "${E[@]}"); eq "remove unknown: 65" "$?" 65
run "$B" admin provider remove nokey "${E[@]}"; eq "remove unused" "$?" 0

# --- a base URL with credentials: refused in LLM_BASE_URL, never shown ---
o=$(LLM_BASE_URL="http://u:pw9secret@127.0.0.1:1/v1" out_of "$B" admin provider list "${E[@]}"); rc=$?
check "LLM_BASE_URL with user:password@ refused ($rc)" test "$rc" -ne 0
contains "  says where the key goes" "$o" "put the key in LLM_API_KEY"
check "  without echoing the password" lacks "$o" pw9secret
sql "INSERT INTO llm_providers (name, type, base_url) VALUES ('creds', 'openai', 'http://u:pw9secret@127.0.0.1:1/v1')"
o=$(out_of "$B" admin provider list "${E[@]}")
contains "a stored URL with credentials is listed without them" "$o" "creds	openai	http://127.0.0.1:1/v1	no"
check "  no password in the list" lacks "$o" pw9secret

# --- doctor: providers, alias, routes, whether each answers; never a key ---
d=$(BUILT_IN_FORGE_API_URL="$U" BUILT_IN_FORGE_API_KEY="$GOOD" "$B" doctor "${E[@]}" --json 2>&1); echo "$d" >>"$ALL"
j() { printf '%s' "$d" | jq -r "$1"; }
contains "doctor: default from the alias" "$(j '.checks[] | select(.name=="provider default") | .message')" "from BUILT_IN_FORGE_API_URL"
eq "doctor: default answers" "$(j '.checks[] | select(.name=="llm") | .status')" ok
eq "doctor: good answers with its key" "$(j '.checks[] | select(.name=="provider good") | .status')" ok
contains "doctor: good described" "$(j '.checks[] | select(.name=="provider good") | .message')" "openai, $U, key yes (key id $idA)"
# The fake only takes its own key: claude's is refused, which shows the
# probe sent the stored key in Anthropic's header.
contains "doctor: claude key rejected" "$(j '.checks[] | select(.name=="provider claude") | .message')" "HTTP 401 (key rejected)"
contains "  the hint names the provider" "$(j '.checks[] | select(.name=="provider claude") | .hint')" "provider add claude --replace"
contains "doctor: routes listed" "$(j '[.checks[] | select(.name=="routes") | .message] | join(" ")')" "fast -> claude (as claude-3-5-haiku)"
eq "doctor: tenant keys open" "$(j '.checks[] | select(.name=="tenant-keys") | .status')" ok
d2=$(LLM_BASE_URL="$U" LLM_API_KEY="$GOOD" "$B" doctor "${E[@]}" 2>&1); echo "$d2" >>"$ALL"
contains "doctor text: canonical name" "$d2" "from LLM_BASE_URL"
contains "doctor text: provider line" "$d2" "provider claude"
contains "doctor: a URL with credentials shown without them" "$d2" "openai, http://127.0.0.1:1/v1, key no"
check "  no password in doctor" lacks "$d2" pw9secret
sql "DELETE FROM llm_providers WHERE name = 'creds'"

# --- rotation: A -> B ---
before=$(sql "SELECT api_key FROM llm_providers UNION ALL SELECT api_key FROM llm_tenant_keys" | md5sum)
o=$(ENCRYPTION_KEY=$KEY_B out_of "$B" admin rotate-encryption-key "${E[@]}"); eq "rotate without the previous key: 65" "$?" 65
contains "rotate names the row" "$o" "does not open"
eq "failed rotate changed nothing" "$(sql "SELECT api_key FROM llm_providers UNION ALL SELECT api_key FROM llm_tenant_keys" | md5sum)" "$before"
o=$(ENCRYPTION_KEY=$KEY_B ENCRYPTION_KEY_PREVIOUS=$KEY_A out_of "$B" admin rotate-encryption-key "${E[@]}"); eq "rotate: 0" "$?" 0
contains "rotate counts" "$o" "re-sealed 3 key(s)"
idB=$(ENCRYPTION_KEY=$KEY_B "$B" admin provider list "${E[@]}" 2>/dev/null | awk -F'\t' '$1=="claude"{print $5}')
check "key id changed" test -n "$idB" -a "$idB" != "$idA"
eq "every row under B" "$(sql "SELECT COUNT(*) FROM (SELECT api_key FROM llm_providers WHERE api_key IS NOT NULL UNION ALL SELECT api_key FROM llm_tenant_keys) x WHERE api_key NOT LIKE 'v1.$idB.%'")" 0
o=$(ENCRYPTION_KEY=$KEY_B out_of "$B" admin rotate-encryption-key "${E[@]}"); eq "rotate again: 0" "$?" 0
contains "nothing left to re-seal" "$o" "re-sealed 0 key(s) under key id $idB; 3 already under it"
# B alone opens them: doctor probes good with its opened key (the fake
# accepts only the right one) and every tenant key opens.
d=$(ENCRYPTION_KEY=$KEY_B "$B" doctor "${E[@]}" --json 2>&1); echo "$d" >>"$ALL"
eq "B alone: good's key opens and works" "$(j '.checks[] | select(.name=="provider good") | .status')" ok
eq "B alone: tenant keys open" "$(j '.checks[] | select(.name=="tenant-keys") | .status')" ok
d=$("$B" doctor "${E[@]}" --json 2>&1); echo "$d" >>"$ALL"
eq "A alone no longer opens" "$(j '.checks[] | select(.name=="tenant-keys") | .status')" fail
contains "  the hint: restore the key they were sealed with" "$(j '.checks[] | select(.name=="tenant-keys") | .hint')" "restore the ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)"
# A sealed value copied onto another row does not open there.
sql "UPDATE llm_providers SET api_key = (SELECT api_key FROM llm_tenant_keys LIMIT 1) WHERE name='good'"
d=$(ENCRYPTION_KEY=$KEY_B "$B" doctor "${E[@]}" --json 2>&1); echo "$d" >>"$ALL"
contains "copied row refused" "$(j '.checks[] | select(.name=="provider good") | .message')" "does not open"
# Tampered row: rotate fails clearly and changes nothing.
printf '%s\n' "$GOOD" | ENCRYPTION_KEY=$KEY_B run "$B" admin provider add good --replace --type openai --base-url "$U" --api-key-stdin "${E[@]}"
sql "UPDATE llm_tenant_keys SET api_key = CONCAT(SUBSTRING(api_key, 1, 20), IF(SUBSTRING(api_key, 21, 1) = 'A', 'B', 'A'), SUBSTRING(api_key, 22))"
before=$(sql "SELECT api_key FROM llm_providers UNION ALL SELECT api_key FROM llm_tenant_keys" | md5sum)
o=$(ENCRYPTION_KEY=$KEY_A ENCRYPTION_KEY_PREVIOUS=$KEY_B out_of "$B" admin rotate-encryption-key "${E[@]}"); eq "tampered: rotate 65" "$?" 65
contains "tampered row named" "$o" "tenant 1's key for provider claude does not open"
contains "says nothing changed" "$o" "Nothing was changed"
eq "tampered: nothing changed" "$(sql "SELECT api_key FROM llm_providers UNION ALL SELECT api_key FROM llm_tenant_keys" | md5sum)" "$before"

# --- a running serve: /health lists each named provider (probed with its
# own key and dialect) without changing up/down; unusable keys are logged
# by row, never by value ---
"$INGOT_FAKES/fakellm" 0 > fakellm.out 2>&1 &
FAKE_PIDS+=($!)
wait_until 50 grep -q '^port ' fakellm.out || bad "fakellm started"
FL="http://127.0.0.1:$(awk '/^port /{print $2; exit}' fakellm.out)"
K1=sk-oa-SECRET-5d1e; K2=sk-an-SECRET-c93b
export ENCRYPTION_KEY=$KEY_B
printf '%s' "$K1" | run "$B" admin provider add oa --type openai --base-url "$FL/openai/v1" --api-key-stdin "${E[@]}"
printf '%s' "$K2" | run "$B" admin provider add an --type anthropic --base-url "$FL/anthropic/v1" --api-key-stdin "${E[@]}"
run "$B" admin provider add gone --type openai --base-url "http://127.0.0.1:$(free_port)/v1" "${E[@]}"
sql "INSERT INTO llm_providers (name, type, base_url, api_key) SELECT 'copy', 'openai', base_url, api_key FROM llm_providers WHERE name = 'oa'"
start_ingot S serve --llm-base-url "$FL/openai/v1" --llm-api-key "$GOOD" || bad "serve started"
h() { http_body "http://127.0.0.1:$S_PORT/health"; }
hp() { [ "$(h | jq -r "$1")" = "$2" ]; }
check "health lists oa up" wait_until 100 hp '.checks.llm.providers.oa.status' up
eq "health: an up (x-api-key)" "$(h | jq -r .checks.llm.providers.an.status)" up
eq "health: gone down" "$(h | jq -r .checks.llm.providers.gone.status)" down
eq "health: default decides llm" "$(h | jq -r .checks.llm.status)" up
eq "health: a down named provider does not make it down" "$(h | jq -r .status)" up
eq "health: default not listed twice" "$(h | jq -r '.checks.llm.providers | has("default")')" false
eq "health: good up (re-set under B)" "$(h | jq -r '.checks.llm.providers.good.status')" up
log=$(http_body "$FL/_log")
eq "probe of openai: Bearer with its key" "$(jq -r 'select(.path=="/openai/v1/models" and .headers.authorization=="Bearer '"$K1"'") | .method' <<<"$log" | head -1)" GET
eq "probe of anthropic: x-api-key" "$(jq -r 'select(.path=="/anthropic/v1/models") | .headers["x-api-key"]' <<<"$log" | head -1)" "$K2"
eq "probe of anthropic: version" "$(jq -r 'select(.path=="/anthropic/v1/models") | .headers["anthropic-version"]' <<<"$log" | head -1)" 2023-06-01
eq "anthropic probe has no Bearer" "$(jq -r 'select(.path=="/anthropic/v1/models") | .headers.authorization // "none"' <<<"$log" | head -1)" none
eq "health: a key copied from another row is down" "$(h | jq -r '.checks.llm.providers.copy.message')" "provider 'copy' is unavailable: its API key cannot be used"
contains "unusable key logged by row" "$(cat "$S_LOG")" "provider copy: sealed value does not open"
contains "tampered tenant key logged by row" "$(cat "$S_LOG")" "tenant 1's key for claude"
# Changes reach the running process by the periodic re-read; a read that
# fails keeps the last view (and says so in the log, rate-limited).
run "$B" admin provider add late --type openai --base-url "$FL/openai/v1" "${E[@]}"; eq "late added" "$?" 0
check "refresh: a new provider appears" wait_until 150 hp '.checks.llm.providers | has("late")' true
eq "no key: the fake refuses it" "$(h | jq -r .checks.llm.providers.late.message)" "GET /models answered HTTP 401 (key rejected)"
# A change that keeps every count (a provider's URL replaced) is seen too.
MOVED=$(free_port)
run "$B" admin provider add late --replace --type openai --base-url "http://127.0.0.1:$MOVED/v1" "${E[@]}"; eq "late replaced" "$?" 0
eq "late replaced: stored" "$(sql "SELECT base_url FROM llm_providers WHERE name = 'late'")" "http://127.0.0.1:$MOVED/v1"
late_moved() { h | jq -e '.checks.llm.providers.late.message | contains("401") | not'; }
# A failure says what /health said last, and who holds the port now (a
# listener there would answer too: nothing should).
if wait_until 200 late_moved; then ok "refresh: a replaced URL is seen"; else
    bad "refresh: a replaced URL is seen: late is $(h | jq -c .checks.llm.providers.late); port $MOVED: $(ss -Hltnp "sport = :$MOVED" 2>&1 | head -2)"
fi
sql "RENAME TABLE llm_routes TO llm_routes_off"
check "failed read logged" wait_until 150 grep -q "cannot read the provider tables (keeping the last view)" "$S_LOG"
eq "failed read: last view kept" "$(h | jq -r '.checks.llm.providers | has("late") and has("oa")')" true
sql "RENAME TABLE llm_routes_off TO llm_routes"
eq "one line per minute at most" "$(grep -c 'cannot read the provider tables' "$S_LOG")" 1
stop_ingot "$S_PID" "$S_LOG"; eq "serve drained" "$?" 0
cat "$S_LOG" >>"$ALL"
# LLM_PROVIDER=anthropic: the default's probe speaks Anthropic too (the
# fake refuses a request without x-api-key).
K3=sk-def-SECRET-0a77
start_ingot S2 serve --llm-provider anthropic --llm-base-url "$FL/anthropic/v1" --llm-api-key "$K3" || bad "serve 2 started"
check "anthropic default: health up" wait_until 50 bash -c "curl -s http://127.0.0.1:$S2_PORT/health | jq -e '.checks.llm.status == \"up\"'"
eq "anthropic default: probed with x-api-key" "$(http_body "$FL/_log" | jq -r 'select(.headers["x-api-key"]=="'"$K3"'") | .path' | head -1)" /anthropic/v1/models
d=$("$B" doctor "${E[@]}" --json --llm-provider anthropic --llm-base-url "$FL/anthropic/v1" --llm-api-key "$K3" 2>&1); echo "$d" >>"$ALL"
eq "anthropic default: doctor ok" "$(j '.checks[] | select(.name=="llm") | .status')" ok
contains "anthropic default: doctor says the type" "$(j '.checks[] | select(.name=="provider default") | .message')" "anthropic, $FL/anthropic/v1, key yes, from LLM_BASE_URL"
stop_ingot "$S2_PID" "$S2_LOG"
cat "$S2_LOG" >>"$ALL"
check "no default key in any output" bash -c "! grep -q -- '$K3' '$ALL'"
check "no oa key in any output" bash -c "! grep -q -- '$K1' '$ALL'"
check "no an key in any output" bash -c "! grep -q -- '$K2' '$ALL'"

# --- routes and tenants' keys in use: llm.chat jobs through serve and work
# reach the provider a route names, with the tenant's own key when it has
# one, under the upstream model name ---
export ENCRYPTION_KEY=$KEY_A
jobs_setup providers_jobs
TK=sk-acme-own-SECRET-4e2f
printf '%s' "$K2" | run "$B" admin provider add an --type anthropic --base-url "$FL/anthropic/v1" --api-key-stdin "${E[@]}"
run "$B" admin model route fast an --upstream-model fake-ok "${E[@]}"
"$B" admin tenant create other "${E[@]}" >/dev/null 2>&1
KO=$("$B" admin key create --tenant other "${E[@]}" 2>/dev/null)
printf '%s' "$TK" | run "$B" admin tenant provider-key set acme an "${E[@]}"
start_ingot JS serve || bad "serve started"
start_ingot JW work --http-target-allow 127.0.0.0/8 || bad "work started"
JU="http://127.0.0.1:$JS_PORT"
http_body "$FL/_reset" -X POST >/dev/null
chatjob() { # chatjob KEY MODEL -> job id
    curl -s -X POST "$JU/v1/jobs" -H "Authorization: Bearer $1" \
        -d "{\"kind\":\"llm.chat\",\"payload\":{\"model\":\"$2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi $RANDOM\"}]}}" | jq -r .id
}
jstate() { [ "$(mysql_root -e "SELECT state FROM ingot_providers_jobs.jobs WHERE id = ${1#job_}")" = "$2" ]; }
J1=$(chatjob "$K" fast); J2=$(chatjob "$KO" fast); J3=$(chatjob "$KO" an/fake-ok)
check "routed job succeeds (tenant key)" wait_until 150 jstate "$J1" 2
check "routed job succeeds (provider key)" wait_until 150 jstate "$J2" 2
check "provider/model job succeeds" wait_until 150 jstate "$J3" 2
flog=$(http_body "$FL/_log" | jq -c 'select(.path == "/anthropic/v1/messages")')
eq "three requests reached the anthropic provider" "$(wc -l <<<"$flog")" 3
eq "upstream model name sent" "$(jq -r .json.model <<<"$flog" | sort -u)" fake-ok
eq "acme's request carried acme's own key" "$(jq -r '.headers["x-api-key"]' <<<"$flog" | grep -c -- "^$TK\$")" 1
eq "the others carried the provider's key" "$(jq -r '.headers["x-api-key"]' <<<"$flog" | grep -c "^$K2\$")" 2
resp=$(curl -s -w '\n%{http_code}' -X POST "$JU/v1/jobs" -H "Authorization: Bearer $K" \
    -d '{"kind":"llm.chat","payload":{"model":"nowhere","messages":[{"role":"user","content":"x"}]}}')
eq "unrouted model refused at enqueue (no default provider)" "$(tail -1 <<<"$resp") $(head -1 <<<"$resp" | jq -r .error.param)" "400 payload.model"
contains "  the message names the model" "$(head -1 <<<"$resp" | jq -r .error.message)" "'nowhere'"
stop_all_ingot
cat "$JS_LOG" "$JW_LOG" >>"$ALL"
check "no tenant's own key in any output" bash -c "! grep -q -- '$TK' '$ALL'"

# --- no key anywhere in what was printed ---
check "no provider key in any output" bash -c "! grep -q -- '$PKEY' '$ALL'"
check "no tenant key in any output" bash -c "! grep -q -- '$TKEY' '$ALL'"
check "no fake key in any output" bash -c "! grep -q -- '$GOOD' '$ALL'"
check "no SECRET in any output" bash -c "! grep -q SECRET '$ALL'"
check "the outputs were collected" test "$(wc -l <"$ALL")" -gt 50
check "no sanitizer report from any command" sanitizer_clean "$ALL"
finish
