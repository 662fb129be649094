# Grafana dashboard and Prometheus alerts (issue 12 item 5):
# deploy/prometheus/alerts.yml passes `promtool check rules` and its unit
# tests (alerts_test.yml), which fail when an alert's threshold or shape is
# changed; deploy/grafana/ingot.json is valid, uses a datasource variable,
# and every panel has a query; every metric and label name the two refer
# to exists in real scrapes of serve, work and schedule after an http job
# (succeeded and failed), an llm.chat job, LLM calls through the fake
# provider (plain and streamed) under a budget, and a cron tick; the gauges
# the alerts stand on say what they should (queue age, database up, budget
# limit); `promtool check metrics` accepts each /metrics; ingot_db_up
# follows a MariaDB outage and its end.
. "$(dirname "$0")/lib.sh"
unset BUILT_IN_FORGE_API_URL BUILT_IN_FORGE_API_KEY
D=$INGOT_ROOT/deploy
DASH=$D/grafana/ingot.json
RULES=$D/prometheus/alerts.yml
command -v promtool >/dev/null || { bad "promtool installed (sh vendor/install.sh test)"; finish; }

# ---- The rules and their unit tests
check "promtool check rules" promtool check rules "$RULES"
out=$(cd "$D/prometheus" && promtool test rules alerts_test.yml 2>&1)
contains "promtool test rules: every alert's tests pass" "$out" "SUCCESS"
eq "  five alerts" "$(grep -c '^      - alert: ' "$RULES")" 5
for a in IngotQueueOldestJobAge IngotJobFailureRatioHigh IngotNoSchedulerLeader IngotDatabaseDown IngotLLMBudgetNearlySpent; do
    check "  $a is tested firing and not firing" test "$(grep -c "alertname: $a$" "$D/prometheus/alerts_test.yml")" -ge 2
done
eq "every alert has for, a severity, summary and description" \
    "$(python3 -c 'import sys, yaml
rs = [r for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"]]
print(sum(1 for r in rs if r.get("for") and r["labels"]["severity"] in ("warning", "critical")
          and r["annotations"].get("summary") and len(r["annotations"].get("description", "")) > 80))' "$RULES")" 5
# Mutants: each changed alert must make the unit tests fail.
mutant() { # mutant NAME SED-EXPRESSION
    mkdir -p mut && cp "$D/prometheus/alerts_test.yml" mut/ && sed "$2" "$RULES" > mut/alerts.yml
    if cmp -s "$RULES" mut/alerts.yml; then bad "mutant $1: the change applies"; return; fi
    if (cd mut && promtool test rules alerts_test.yml >/dev/null 2>&1); then bad "mutant $1 caught"; else ok "mutant $1 caught"; fi
}
mutant "queue age threshold" 's/(ingot_queue_oldest_age_seconds) > 300/(ingot_queue_oldest_age_seconds) > 3000/'
mutant "queue age for" '0,/for: 5m/s//for: 1m/'
mutant "failure ratio threshold" 's/) > 0\.1$/) > 0.6/'
mutant "failure ratio minimum volume" 's/>= 10$/>= 1/'
mutant "no leader without absent" 's/ or absent(ingot_scheduler_leader)//'
mutant "database down test" 's/ingot_db_up == 0/ingot_db_up < 2/'
mutant "budget by max" 's/min by (tenant, budget) (ingot_llm_budget_remaining/max by (tenant, budget) (ingot_llm_budget_remaining/'
mutant "budget threshold" 's/ingot_llm_budget_limit) < 0\.1/ingot_llm_budget_limit) < 0.01/'

# ---- The dashboard
json_ok() { jq -e .panels "$1" >/dev/null; }
check "dashboard is JSON" json_ok "$DASH"
eq "a datasource variable of type prometheus" "$(jq '[.templating.list[] | select(.type == "datasource" and .query == "prometheus")] | length' "$DASH")" 1
eq "every datasource is the variable (no hard-coded uid)" \
    "$(jq -c '[.. | objects | .datasource? | objects | .uid] | unique' "$DASH")" '["${datasource}"]'
eq "no __inputs (nothing to map on import)" "$(jq 'has("__inputs")' "$DASH")" false
np=$(jq '[.panels[] | select(.type != "row")] | length' "$DASH")
check "panels: $np" test "$np" -ge 20
eq "every panel has a query" "$(jq '[.panels[] | select(.type != "row") | select(([.targets[]? | select((.expr // "") != "")] | length) > 0)] | length' "$DASH")" "$np"
eq "panel ids unique" "$(jq '[.panels[].id] | unique | length' "$DASH")" "$(jq '.panels | length' "$DASH")"
for topic in ingot_jobs_total ingot_queue_depth ingot_queue_oldest_age_seconds ingot_job_queue_wait_seconds_bucket \
    ingot_llm_tokens_total ingot_llm_latency_seconds_bucket ingot_db_pool_connections; do
    contains "dashboard shows $topic" "$(jq -r '.panels[].targets[]?.expr' "$DASH")" "$topic"
done

# ---- A real deployment: serve, work, schedule, the fake provider
jobs_setup observability # DATABASE_URL, K, AUTH, T (the fake target)
q() { mysql_root -e "$1"; }
start_fakellm # LP, L
export LLM_PROVIDER=openai LLM_BASE_URL="$L/openai/v1" LLM_API_KEY=sk-upstream-fake-0123
"$INGOT_BIN" admin tenant limits acme --tokens-per-day 100000 --env-file /dev/null >/dev/null 2>&1
TID=$(q "SELECT id FROM $DB.tenants WHERE name = 'acme'")
# A tenant whose whole day budget is smaller than a call: its calls are refused (throttled).
"$INGOT_BIN" admin tenant create tight --env-file /dev/null >/dev/null 2>&1
"$INGOT_BIN" admin tenant limits tight --tokens-per-day 10 --env-file /dev/null >/dev/null 2>&1
K2=$("$INGOT_BIN" admin key create --tenant tight --env-file /dev/null 2>/dev/null)
start_ingot S serve || finish
U="http://127.0.0.1:$S_PORT"
start_ingot W work --http-target-allow 127.0.0.0/8,::1/128 || finish
start_ingot C schedule || finish
enqueue() { curl -s -X POST "$U/v1/jobs" "${AUTH[@]}" -d "$1" | jq -r .id; }
state() { q "SELECT state FROM $DB.jobs WHERE id = ${1#job_}"; }
J1=$(enqueue "{\"kind\":\"http\",\"queue\":\"web\",\"payload\":{\"url\":\"$T/ok\"}}")
J2=$(enqueue "{\"kind\":\"http\",\"queue\":\"web\",\"max_attempts\":1,\"payload\":{\"url\":\"$T/status/500\"}}")
J3=$(enqueue '{"kind":"llm.chat","queue":"llm","payload":{"model":"fake-ok","messages":[{"role":"user","content":"hi"}]}}')
check "http job succeeds" wait_out 150 2 state "$J1"
check "http job fails" wait_out 150 3 state "$J2"
check "llm.chat job succeeds" wait_out 150 2 state "$J3"
chat='{"model":"fake-ok","messages":[{"role":"user","content":"hi"}]'
eq "LLM call over a whole budget: 429 (counted throttled)" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/v1/chat/completions" \
    -H "Authorization: Bearer $K2" -d '{"model":"fake-ok","messages":[{"role":"user","content":"hi"}]}')" 429
eq "LLM call through serve" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/v1/chat/completions" "${AUTH[@]}" -d "$chat}")" 200
contains "streamed LLM call through serve" "$(curl -s -N -X POST "$U/v1/chat/completions" "${AUTH[@]}" -d "$chat,\"stream\":true}")" "data: [DONE]"
eq "a cron schedule" "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$U/v1/schedules/tick" "${AUTH[@]}" \
    -d "{\"cron\":\"@every 1s\",\"job\":{\"kind\":\"http\",\"queue\":\"ticks\",\"payload\":{\"url\":\"$T/ok?tick\"}}}")" 200
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v s="$2" 'index($0, s" ") == 1 {print $NF}'; }
ticks_fired() { [ "$(metric "$C_PORT" ingot_schedule_ticks_fired_total)" -ge 1 ] 2>/dev/null; }
check "the scheduler leads and fires a tick" wait_until 150 ticks_fired

# Queue age: a due job in a paused queue ages; a delayed job does not count.
eq "pause queue held" "$(curl -s -o /dev/null -w '%{http_code}' -X PATCH "$U/v1/queues/held" "${AUTH[@]}" -d '{"paused":true}')" 200
enqueue '{"kind":"http","queue":"held","payload":{"url":"http://127.0.0.1:9/"}}' >/dev/null
enqueue '{"kind":"http","queue":"later","delay_ms":3600000,"payload":{"url":"http://127.0.0.1:9/"}}' >/dev/null
age() { metric "$S_PORT" "ingot_queue_oldest_age_seconds{tenant=\"$TID\",queue=\"$1\"}"; }
aged() { awk -v a="$(age held)" 'BEGIN { exit !(a >= 2) }'; }
check "oldest due job of a paused queue ages (>= 2 s)" wait_until 100 aged
eq "  a delayed job is not due: age 0" "$(age later)" 0
eq "  its depth is one queued job" "$(metric "$S_PORT" "ingot_queue_depth{tenant=\"$TID\",queue=\"held\",state=\"queued\"}")" 1

# Database up on each process; 0 on a process whose database is gone.
for p in S W C; do v=${p}_PORT; eq "ingot_db_up 1 on $p" "$(metric "${!v}" ingot_db_up)" 1; done
DEADDB="mysql://ingot:x@127.0.0.1:$(free_port)/ingot"
DATABASE_URL=$DEADDB start_ingot X work --http-target-allow 127.0.0.0/8 || finish
check "ingot_db_up 0 when the database cannot be reached" wait_out 100 0 metric "$X_PORT" ingot_db_up
stop_ingot "$X_PID" "$X_LOG"

# Budget: the limit beside what is left, on the process that admitted.
used() { q "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM $DB.llm_usage WHERE tenant_id = $TID"; }
some_used() { [ "$(used)" -gt 0 ]; }
check "usage rows written (flushed every USAGE_FLUSH_INTERVAL)" wait_until 50 some_used
used=$(used)
budget() { metric "$S_PORT" "ingot_llm_budget_$1{tenant=\"$TID\",budget=\"tokens_day\"}"; }
eq "budget limit" "$(budget limit)" 100000
rem=$(budget remaining)
# What was left when the last call was admitted (its reservation counted).
check "budget remaining ($rem) fell below the limit, by less than a tenth ($used used)" \
    test "$used" -gt 0 -a "$rem" -lt $((100000 - used)) -a "$rem" -gt 90000

# ---- Batches, files and webhooks: a small batch run to its end, its output
# downloaded, and a webhook delivery, so the series the dashboard's row for
# them reads exist in the scrapes.
chatline() { printf '{"custom_id":"%s","method":"POST","url":"/v1/chat/completions","body":{"model":"fake-ok","messages":[{"role":"user","content":"hi"}]}}\n' "$1"; }
{ chatline a; chatline b; } > lines.jsonl
FID=$(curl -s "${AUTH[@]}" -F purpose=batch -F file=@lines.jsonl "$U/v1/files" | jq -r .id)
BID=$(curl -s -X POST "$U/v1/batches" "${AUTH[@]}" -d "{\"input_file_id\":\"$FID\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}" | jq -r .id)
bstatus() { curl -s "$U/v1/batches/$BID" "${AUTH[@]}" | jq -r .status; }
check "a batch runs to completed" wait_out 300 completed bstatus
OUT=$(curl -s "$U/v1/batches/$BID" "${AUTH[@]}" | jq -r .output_file_id)
eq "  its output has both lines" "$(curl -s "${AUTH[@]}" "$U/v1/files/$OUT/content" | jq -r .custom_id | sort | tr '\n' ' ')" "a b "
WH=$(curl -s -X POST "$U/v1/webhook_endpoints" "${AUTH[@]}" -d "{\"url\":\"$T/ok?hook\"}" | jq -r .id)
eq "a webhook test delivery reaches the receiver" "$(curl -s -X POST "$U/v1/webhook_endpoints/$WH/test" "${AUTH[@]}" -d '{"event_type":"batch.completed"}' | jq -r .status_code)" 200

# ---- Every name the dashboard and the alerts use is in the scrapes
for p in S W C; do v=${p}_PORT; curl -s "http://127.0.0.1:${!v}/metrics" > "metrics.$p"; done
python3 "$INGOT_ROOT/test/integration/metric_refs.py" "$DASH" "$RULES" metrics.S metrics.W metrics.C > refs.out; rc=$?
grep '^missing' refs.out
eq "every metric and label referenced exists ($(tail -1 refs.out))" "$rc" 0
check "  the checker saw many references" test "$(grep -c '^ok' refs.out)" -ge 100
# The checker itself: a made-up name is reported.
jq '.panels[1].targets[0].expr = "sum(rate(ingot_jobs_total_typo{queue=\"a\"}[5m])) by (nolabel)"' "$DASH" > bad.json
python3 "$INGOT_ROOT/test/integration/metric_refs.py" bad.json "$RULES" metrics.S metrics.W metrics.C > bad.out
eq "  the checker reports a made-up metric and label" "$(grep -c '^missing' bad.out)" 3

# ---- promtool check metrics accepts each process's exposition
for p in S W C; do
    out=$(promtool check metrics < "metrics.$p" 2>&1); rc=$?
    eq "promtool check metrics: $p clean" "$rc:$out" "0:"
done
# ---- A database outage: ingot_db_up goes 0 on serve and work, then 1
# again once MariaDB is back (the alert's metric follows a real outage).
servers stop-mariadb
check "outage: ingot_db_up 0 on serve" wait_out 150 0 metric "$S_PORT" ingot_db_up
check "outage: ingot_db_up 0 on work" wait_out 150 0 metric "$W_PORT" ingot_db_up
servers start-mariadb
check "back: ingot_db_up 1 on serve" wait_out 300 1 metric "$S_PORT" ingot_db_up
check "back: ingot_db_up 1 on work" wait_out 300 1 metric "$W_PORT" ingot_db_up
finish
