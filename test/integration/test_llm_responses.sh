# The Responses API (POST /v1/responses, GET and cancel of background ones)
# with the official openai SDK against fakellm: passed through to an openai
# provider, translated for an openai-chat provider and for Anthropic,
# background responses as llm.response jobs run by `ingot work`. The
# assertions run in node (test/llm/responses.mjs prints ok/FAIL lines).
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
LLM="$INGOT_ROOT/test/llm"

if ! [ -f "$INGOT_ROOT/test/node_modules/openai/package.json" ]; then
    bash "$INGOT_ROOT/test/sdk-setup.sh" >sdk-setup.log 2>&1 || { bad "openai SDK installed (test/sdk-setup.sh)"; cat sdk-setup.log; finish; }
fi

url=$(migrated_db llmresp) || { bad "migrate"; finish; }
export DATABASE_URL=$url
DB=ingot_llmresp
A=(--env-file /dev/null)
for t in acme other; do "$B" admin tenant create "$t" "${A[@]}" >/dev/null 2>&1; done
K=$("$B" admin key create --tenant acme "${A[@]}" 2>/dev/null)
KO=$("$B" admin key create --tenant other "${A[@]}" 2>/dev/null)

start_fakellm
FAKE=$L
UPKEY=upstream-secret-key-0123456789
printf %s chat-only-key-123456 | "$B" admin provider add chatonly --type openai-chat --base-url "$FAKE/openai/v1" --api-key-stdin "${A[@]}" >/dev/null 2>&1
check "provider add chatonly --type openai-chat" sh -c "'$B' admin provider list ${A[*]} | grep chatonly | grep -q openai-chat"
printf %s anth-operator-key-17 | "$B" admin provider add anth --type anthropic --base-url "$FAKE/anthropic/v1" --api-key-stdin "${A[@]}" >/dev/null 2>&1
check "provider add anth" sh -c "'$B' admin provider list ${A[*]} | grep -q anth"

export USAGE_FLUSH_INTERVAL=200ms LLM_BASE_URL="$FAKE/openai/v1" LLM_API_KEY=$UPKEY
start_ingot S serve || finish
QUEUE_POLL_INTERVAL=200ms start_ingot W work || finish

out=responses.out
INGOT_URL="http://127.0.0.1:$S_PORT" INGOT_KEY=$K OTHER_KEY=$KO FAKE_URL=$FAKE UPSTREAM_KEY=$UPKEY \
    timeout 150 node "$LLM/responses.mjs" >"$out" 2>&1
rc=$?
p=$(grep -c '^ok ' "$out"); f=$(grep -c '^FAIL ' "$out")
T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
cat "$out"
if [ "$rc" != 0 ] && [ "$f" = 0 ]; then bad "responses.mjs: node exited $rc"; fi

# Usage: Responses calls are recorded like chat, with the Responses usage
# fields read as prompt and completion tokens.
check "usage: a passed-through responses row (12 in, 5 out)" wait_sql 50 \
    "SELECT COUNT(*) > 0 FROM $DB.llm_usage WHERE endpoint = 'responses' AND model = 'fake-ok' AND status = 200 AND prompt_tokens = 12 AND completion_tokens = 5" 1
check "usage: a translated (chat-only) responses row" wait_sql 50 \
    "SELECT COUNT(*) > 0 FROM $DB.llm_usage WHERE endpoint = 'responses' AND provider = 'chatonly' AND prompt_tokens = 12 AND completion_tokens = 5" 1
check "usage: a background response's row carries its job" wait_sql 50 \
    "SELECT COUNT(*) > 0 FROM $DB.llm_usage WHERE endpoint = 'responses' AND job_id IS NOT NULL AND job_id > 0" 1
eq "jobs: background responses are llm.response jobs in queue responses" \
    "$(mysql_root -e "SELECT COUNT(*) > 0 FROM $DB.jobs WHERE kind = 'llm.response' AND queue = 'responses' AND state = 2")" 1
eq "jobs: the cancelled ones are cancelled" \
    "$(mysql_root -e "SELECT COUNT(*) FROM $DB.jobs WHERE kind = 'llm.response' AND state = 4")" 2
finish
