# The official openai SDK (npm, test/package-lock.json) as the client of
# ingot serve, ingot in front of fakellm: OpenAI-compatible and Anthropic
# providers, retries, budget refusals, client disconnects, usage rows.
# The assertions run in node (test/llm/*.mjs print ok/FAIL lines counted here).
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
LLM="$INGOT_ROOT/test/llm"

if ! [ -f "$INGOT_ROOT/test/node_modules/openai/package.json" ]; then
    bash "$INGOT_ROOT/test/sdk-setup.sh" >sdk-setup.log 2>&1 || { bad "openai SDK installed (test/sdk-setup.sh)"; cat sdk-setup.log; finish; }
fi

url=$(migrated_db llmsdk) || { bad "migrate"; finish; }
export DATABASE_URL=$url
DB=ingot_llmsdk
A=(--env-file /dev/null)
for t in acme rpm budget; do "$B" admin tenant create "$t" "${A[@]}" >/dev/null 2>&1; done
K=$("$B" admin key create --tenant acme "${A[@]}" 2>/dev/null)
KR=$("$B" admin key create --tenant rpm "${A[@]}" 2>/dev/null)
KB=$("$B" admin key create --tenant budget "${A[@]}" 2>/dev/null)
check "tenant limits: rpm 2" "$B" admin tenant limits rpm --rpm 2 "${A[@]}"
check "tenant limits: 60 tokens a day" "$B" admin tenant limits budget --tokens-per-day 60 "${A[@]}"

"$INGOT_FAKES/fakellm" 0 > fake.out 2>fake.err &
FAKE_PIDS+=($!)
wait_until 50 grep -q '^port ' fake.out || { bad "fakellm started"; cat fake.err; finish; }
FP=$(awk '/^port /{print $2; exit}' fake.out)
FAKE="http://127.0.0.1:$FP"
UPKEY=upstream-secret-key-0123456789

# A named Anthropic provider with a route, and acme's own key for it.
TENANT_PROVIDER_KEY=acme-own-anthropic-key-42
printf %s anth-operator-key-17 | "$B" admin provider add anth --type anthropic --base-url "$FAKE/anthropic/v1" --api-key-stdin "${A[@]}" >/dev/null 2>&1
check "provider add anth" sh -c "'$B' admin provider list ${A[*]} | grep -q anth"
check "model route claude-fake anth" "$B" admin model route claude-fake anth --upstream-model fake-delay-5 "${A[@]}"
printf %s "$TENANT_PROVIDER_KEY" | "$B" admin tenant provider-key set acme anth "${A[@]}" >/dev/null 2>&1
check "tenant provider-key set" [ $? = 0 ]

export USAGE_FLUSH_INTERVAL=200ms
LLM_BASE_URL="$FAKE/openai/v1" LLM_API_KEY=$UPKEY start_ingot S serve || finish
LLM_PROVIDER=anthropic LLM_BASE_URL="$FAKE/anthropic/v1" LLM_API_KEY=$UPKEY start_ingot AN serve || finish

# run_node NAME URL KEY SCRIPT [ARGS]: counts the script's ok/FAIL lines.
run_node() {
    local name=$1 url=$2 key=$3; shift 3
    local out="$name.out" rc
    INGOT_URL=$url INGOT_KEY=$key FAKE_URL=$FAKE UPSTREAM_KEY=$UPKEY \
        timeout 120 node "$@" >"$out" 2>&1; rc=$?
    local p f
    p=$(grep -c '^ok ' "$out"); f=$(grep -c '^FAIL ' "$out")
    T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
    cat "$out"
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then bad "$name: node exited $rc"; tail -20 "$out"; fi
}

SU="http://127.0.0.1:$S_PORT"
AU="http://127.0.0.1:$AN_PORT"
run_node openai "$SU" "$K" "$LLM/openai.mjs"
run_node retry-upstream "$SU" "$K" "$LLM/retry.mjs" upstream
# rpm windows are per UTC minute: the two admitted and the third refused
# must fall in one, or the third is admitted by the next window (it failed
# so once). With under 8 s of this minute left, start in the next.
wait_until 100 minute_left 8
run_node retry-rpm "$SU" "$KR" "$LLM/retry.mjs" rpm
run_node retry-budget "$SU" "$KB" "$LLM/retry.mjs" budget
run_node disconnect "$SU" "$K" "$LLM/disconnect.mjs"
run_node anthropic "$AU" "$K" "$LLM/anthropic.mjs"
TENANT_PROVIDER_KEY=$TENANT_PROVIDER_KEY run_node routes "$SU" "$K" "$LLM/routes.mjs"
run_node disconnect-anthropic "$AU" "$K" "$LLM/disconnect.mjs"

# Usage rows: the sync calls above, and the streams the client left (499)
# with the tokens produced before it went away.
q() { mysql_root -e "$1"; }
check "usage: a chat row with the provider's tokens" wait_sql 50 \
    "SELECT COUNT(*) > 0 FROM $DB.llm_usage u JOIN $DB.tenants t ON t.id = u.tenant_id WHERE t.name = 'acme' AND u.model = 'fake-ok' AND u.endpoint LIKE 'chat%' AND u.status = 200 AND u.prompt_tokens = 12 AND u.completion_tokens = 5" 1
check "usage: an anthropic row with cached tokens" wait_sql 50 \
    "SELECT COUNT(*) > 0 FROM $DB.llm_usage WHERE provider = 'default' AND cached_tokens = 3 AND prompt_tokens = 12" 1
for d in disconnect disconnect-anthropic; do
    rid=$(awk '/^request_id /{print $2; exit}' "$d.out")
    check "$d: usage row with status 499 ($rid)" wait_sql 50 \
        "SELECT COUNT(*) FROM $DB.llm_usage WHERE request_id = '$rid' AND status = 499" 1
    eq "$d: tokens produced before the disconnect recorded" \
        "$(q "SELECT completion_tokens > 0 AND prompt_tokens > 0 FROM $DB.llm_usage WHERE request_id = '$rid'")" 1
done
finish
