# LLM limits, budgets, prices and usage: the admin commands (every wrong
# value named), admission across processes against one Redis (the C driver
# test_llmlimit: 200 reservations from two processes against a budget, tpm
# shared by three, settle, rebuild after a flush, provider hold, Redis
# down), and GET /v1/limits and /v1/usage (grouping, tenant isolation,
# checked parameters).
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
E=(--env-file /dev/null)
url=$(migrated_db limits) || { bad "migrate"; finish; }
export DATABASE_URL=$url
DB=ingot_limits
# A Redis database of its own, emptied (counters are keyed by installation:
# a fresh MariaDB database has its own; emptied all the same).
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/8"
redis-cli -s "$REDIS_SOCKET" -n 8 FLUSHDB >/dev/null
q() { mysql_root -e "$1" "$DB"; }

"$B" admin tenant create acme "${E[@]}" >/dev/null 2>&1
"$B" admin tenant create other "${E[@]}" >/dev/null 2>&1
K=$("$B" admin key create --tenant acme --name app "${E[@]}" 2>/dev/null)
K2=$("$B" admin key create --tenant other "${E[@]}" 2>/dev/null)
ACME=$(q "SELECT id FROM tenants WHERE name = 'acme'")
OTHER=$(q "SELECT id FROM tenants WHERE name = 'other'")
KID=$(q "SELECT id FROM api_keys WHERE tenant_id = $ACME")
PFX=$(q "SELECT prefix FROM api_keys WHERE id = $KID")

# ---- admin: wrong input is named, nothing is written ----
err() { "$B" admin "$@" "${E[@]}" 2>&1 >/dev/null; echo "rc=$?"; }
not_contains() { case "$1" in *"$2"*) return 1 ;; esac; }
out=$(err tenant limits acme --rpm abc)
contains "--rpm abc named" "$out" "--rpm: must be a whole number"
contains "--rpm abc exit 64" "$out" "rc=64"
for f in rpm tpm tokens-per-day tokens-per-month; do
    out=$(err tenant limits acme --$f 0)
    contains "--$f 0 refused, named" "$out" "--$f: must be a whole number from 1 to"
    contains "  exit 64" "$out" "rc=64"
done
contains "--usd-per-month 0 refused, named" "$(err tenant limits acme --usd-per-month 0.000)" "--usd-per-month: must be an amount in USD above 0"
contains "--tpm negative named" "$(err tenant limits acme --tpm -5)" "--tpm: must be a whole number"
contains "--tokens-per-day too big named" "$(err tenant limits acme --tokens-per-day 99999999999999999999)" "--tokens-per-day:"
contains "--usd-per-month 7 decimals named" "$(err tenant limits acme --usd-per-month 1.1234567)" "--usd-per-month:"
contains "--usd-per-month text named" "$(err tenant limits acme --usd-per-month ten)" "--usd-per-month:"
out=$(err tenant limits nosuch --rpm 5)
contains "unknown tenant named" "$out" "no such tenant: nosuch"
contains "unknown tenant exit 65" "$out" "rc=65"
out=$(err tenant limits acme --key ik_nope --rpm 5)
contains "unknown key prefix named" "$out" "--key: no active key"
contains "unknown key exit 65" "$out" "rc=65"
contains "price without output named" "$(err model price gpt-x --input-per-mtok 1)" "--output-per-mtok is required"
contains "price not a number named" "$(err model price gpt-x --input-per-mtok 1e3 --output-per-mtok 2)" "--input-per-mtok:"
contains "usage --group-by named" "$(err usage --group-by week)" "--group-by: must be model, day or key"
contains "usage --from named" "$(err usage --from 2026-02-30)" "--from: must be a date"
contains "usage --to before --from named" "$(err usage --from 2026-03-01 --to 2026-02-01)" "--to: must be after from"
contains "usage range bounded" "$(err usage --from 2024-01-01 --to 2026-01-01)" "--to: the range may span at most 366 days"
contains "a limit flag on usage is refused" "$(err usage --rpm 5)" "rc=64"
eq "nothing written by refused commands" "$(q 'SELECT COUNT(*) FROM llm_limits') $(q 'SELECT COUNT(*) FROM llm_prices')" "0 0"

# ---- admin: set, print, clear ----
"$B" admin tenant limits acme --rpm 100 --tpm 50000 --tokens-per-day 100000 --tokens-per-month 2000000 --usd-per-month 12.5 "${E[@]}" >/dev/null 2>&1
eq "tenant limits stored" "$(q "SELECT rpm, tpm, tokens_per_day, tokens_per_month, usd_per_month FROM llm_limits WHERE tenant_id = $ACME AND key_id = 0")" "$(printf '100\t50000\t100000\t2000000\t12.500000')"
"$B" admin tenant limits acme --key "$PFX" --tokens-per-day 5000 "${E[@]}" >/dev/null 2>&1
eq "key limits stored under the key's id" "$(q "SELECT tokens_per_day, rpm IS NULL FROM llm_limits WHERE tenant_id = $ACME AND key_id = $KID")" "$(printf '5000\t1')"
out=$("$B" admin tenant limits acme --key "$K" --tpm 7000 "${E[@]}" 2>&1); rc=$?
eq "--key takes a whole key too" "$rc $(q "SELECT tpm FROM llm_limits WHERE tenant_id = $ACME AND key_id = $KID")" "0 7000"
check "  and never prints it" not_contains "$out" "$K"
contains "  but names its prefix" "$out" "key $PFX set"
out=$(err tenant limits acme --key "${K%?????}00000" --rpm 5)
contains "an unknown whole key is refused" "$out" "no active key of this tenant is the key given"
check "  without printing it" not_contains "$out" "${K%?????}"
contains "  the hint names the tenant" "$out" "key list --tenant acme"
"$B" admin tenant limits acme --key "$PFX" --tpm none "${E[@]}" >/dev/null 2>&1
out=$("$B" admin tenant limits acme "${E[@]}" 2>/dev/null)
contains "without flags: prints the tenant's row" "$out" "$(printf 'tenant\t-\t100\t50000\t100000\t2000000\t12.500000')"
contains "without flags: prints the key's row" "$out" "$(printf 'key\t%s\t-\t-\t5000' "$PFX")"
"$B" admin tenant limits acme --rpm none "${E[@]}" >/dev/null 2>&1
eq "none clears one limit only" "$(q "SELECT rpm IS NULL, tpm FROM llm_limits WHERE tenant_id = $ACME AND key_id = 0")" "$(printf '1\t50000')"
"$B" admin tenant limits acme --key "$PFX" --tokens-per-day none "${E[@]}" >/dev/null 2>&1
eq "a row limiting nothing is removed" "$(q "SELECT COUNT(*) FROM llm_limits WHERE key_id = $KID")" 0
"$B" admin model price gpt-x --input-per-mtok 2.5 --output-per-mtok 10 "${E[@]}" >/dev/null 2>&1
"$B" admin model price gpt-x --input-per-mtok 3 --output-per-mtok 12 "${E[@]}" >/dev/null 2>&1
contains "model prices lists the latest price" "$("$B" admin model prices "${E[@]}" 2>/dev/null)" "$(printf 'gpt-x\t3.000000\t12.000000')"

# ---- admission across processes against one Redis (C driver) ----
drv=$INGOT_ROOT/build/asan/test/unit/test_llmlimit
# Its own Redis database (it flushes it to simulate a lost Redis), emptied
# first: a rerun's fresh database gives the same tenant ids again.
redis-cli -s "$REDIS_SOCKET" -n 7 FLUSHDB >/dev/null
out=$(DATABASE_URL=$url REDIS_URL="redis://127.0.0.1:$REDIS_PORT/7" LLMLIMIT_TEST_SERVERS=1 timeout 300 "$drv" 2>&1)
line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
echo "$out" | grep -E '^(FAIL|  )' | head -20
check "cross-process admission ($line)" test "${line#* passed, }" = "0 failed" -a "${line%% passed*}" -ge 50

# ---- the usage ledger buffer (C driver test_usage) ----
out=$(DATABASE_URL=$url LLMLIMIT_TEST_SERVERS=1 timeout 300 "$INGOT_ROOT/build/asan/test/unit/test_usage" 2>&1)
line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
echo "$out" | grep -E '^(FAIL|  )' | head -20
check "usage ledger writes ($line)" test "${line#* passed, }" = "0 failed" -a "${line%% passed*}" -ge 20

# ---- GET /v1/limits and /v1/usage ----
start_ingot S serve
U="http://127.0.0.1:$S_PORT"
A=(-H "Authorization: Bearer $K")
A2=(-H "Authorization: Bearer $K2")
q "INSERT INTO llm_usage (at, tenant_id, key_id, provider, model, endpoint, status, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_usd) VALUES
  (UTC_TIMESTAMP(6), $ACME, $KID, 'default', 'gpt-x', 'chat.completions', 200, 100, 50, 10, 5, 0.0009),
  (UTC_TIMESTAMP(6), $ACME, $KID, 'default', 'gpt-x', 'chat.completions', 200, 200, 100, 0, 0, 0.0018),
  (UTC_TIMESTAMP(6), $ACME, 0, 'default', 'emb-1', 'embeddings', 200, 40, 0, 0, 0, 0),
  (UTC_TIMESTAMP(6) - INTERVAL 1 DAY, $ACME, $KID, 'default', 'gpt-x', 'chat.completions', 200, 1, 1, 0, 0, 0),
  (UTC_TIMESTAMP(6), $OTHER, 0, 'default', 'gpt-x', 'chat.completions', 200, 7000, 7000, 0, 0, 1)"
today=$(date -u +%F)
body=$(http_body "$U/v1/usage?from=$today&group_by=model" "${A[@]}")
contains "usage by model: gpt-x summed" "$body" '{"model":"gpt-x","requests":2,"prompt_tokens":300,"completion_tokens":150,"cached_tokens":10,"reasoning_tokens":5,"total_tokens":450,"cost_usd":0.002700000}'
contains "usage by model: emb-1" "$body" '"model":"emb-1","requests":1,"prompt_tokens":40'
contains "usage is a list" "$body" '{"object":"list","data":['
case "$body" in *'"prompt_tokens":7000'*) bad "another tenant's rows are not shown" ;; *) ok "another tenant's rows are not shown" ;; esac
body=$(http_body "$U/v1/usage?from=$today&group_by=key" "${A[@]}")
contains "usage by key: the key with its prefix" "$body" "\"key_id\":$KID,\"key_prefix\":\"$PFX\",\"requests\":2"
contains "usage by key: calls without a key" "$body" '"key_id":0,"key_prefix":"","requests":1'
yesterday=$(date -u -d yesterday +%F)
body=$(http_body "$U/v1/usage?from=${yesterday}T00:00:00Z&to=$today&group_by=day" "${A[@]}")
contains "usage by day: yesterday" "$body" "{\"day\":\"$yesterday\",\"requests\":1,"
contains "usage by day: today" "$body" "{\"day\":\"$today\",\"requests\":3,"
body=$(http_body "$U/v1/usage?from=$today" "${A2[@]}")
contains "the other tenant sees only its own" "$body" '"requests":1,"prompt_tokens":7000'
case "$body" in *emb-1*) bad "isolation: no acme rows for other" ;; *) ok "isolation: no acme rows for other" ;; esac
body=$(http_body "$U/v1/usage?group_by=week" "${A[@]}")
contains "group_by named" "$body" '"param":"group_by"'
eq "group_by 400" "$(http_code "$U/v1/usage?group_by=week" "${A[@]}")" 400
contains "from named" "$(http_body "$U/v1/usage?from=yesterday" "${A[@]}")" '"param":"from"'
contains "to named (before from)" "$(http_body "$U/v1/usage?from=2026-03-01&to=2026-02-01" "${A[@]}")" '"param":"to"'
contains "range bounded" "$(http_body "$U/v1/usage?from=2020-01-01&to=2026-01-01" "${A[@]}")" 'at most 366 days'
contains "rfc3339 offset accepted" "$(http_body "$U/v1/usage?from=${today}T00:00:00%2B01:00" "${A[@]}")" '"object":"list"'
contains "unknown parameter named" "$(http_body "$U/v1/usage?tenant=2" "${A[@]}")" '"param":"tenant"'
eq "usage needs a key" "$(http_code "$U/v1/usage")" 401

body=$(http_body "$U/v1/limits" "${A[@]}")
contains "limits: the tenant's" "$body" '"tenant":{"limits":{"rpm":null,"tpm":50000,"tokens_per_day":100000,"tokens_per_month":2000000,"usd_per_month":12.5}'
contains "limits: used today from the ledger" "$body" '"used":{"tokens_day":490,'
contains "limits: remaining" "$body" '"remaining":{"tokens_day":99510,'
contains "limits: the key has none" "$body" '"key":{"limits":{"rpm":null,"tpm":null,"tokens_per_day":null'
contains "limits: resets" "$body" '"resets":{"day":"'
body=$(http_body "$U/v1/limits" "${A2[@]}")
contains "limits of another tenant: none, its own usage" "$body" '"used":{"tokens_day":14000,'
finish
