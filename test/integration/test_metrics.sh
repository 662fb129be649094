# /metrics cardinality (issue 9 item 12): tenants choose queue names, so
# label sets per family are capped by METRICS_MAX_SERIES; later ones are
# counted in one series whose labels are all "other", and the redirects in
# ingot_metrics_series_overflow_total.
. "$(dirname "$0")/lib.sh"
url=$(migrated_db metrics) || { bad "migrate"; finish; }
export DATABASE_URL=$url
"$INGOT_BIN" admin tenant create acme --env-file /dev/null >/dev/null 2>&1
K=$("$INGOT_BIN" admin key create --tenant acme --env-file /dev/null 2>/dev/null)
AUTH=(-H "Authorization: Bearer $K")

CAP=5
NQ=40
METRICS_MAX_SERIES=$CAP start_ingot A serve || { bad "serve starts"; finish; }
U="http://127.0.0.1:$A_PORT"
for i in $(seq 1 $NQ); do
    curl -s -o /dev/null -w '%{http_code}\n' -X POST "$U/v1/jobs" "${AUTH[@]}" \
        -d "{\"kind\":\"http\",\"queue\":\"tenantq$i\",\"delay_ms\":3600000,\"payload\":{\"url\":\"http://127.0.0.1:9/\"}}"
done > codes.txt
eq "$NQ queues enqueued" "$(grep -c '^202$' codes.txt)" "$NQ"

m=$(http_body "$U/metrics")
series() { printf '%s\n' "$m" | grep -c "^$1{"; }
eq "enqueued: $CAP series + other" "$(series ingot_jobs_enqueued_total)" $((CAP + 1))
contains "other bucket sums the rest" "$m" "ingot_jobs_enqueued_total{queue=\"other\",kind=\"other\"} $((NQ - CAP))"
contains "overflow counted" "$m" "ingot_metrics_series_overflow_total{family=\"ingot_jobs_enqueued_total\"} $((NQ - CAP))"
eq "no queue past the cap is named" "$(printf '%s\n' "$m" | grep -c "tenantq$NQ\"")" 0
# The gauge snapshot: several queues share the other series, so it sums.
depth_other() { curl -s "$U/metrics" | awk -F'} ' '/^ingot_queue_depth\{tenant="other",queue="other",state="other"\}/ {print $2}'; }
check "queue depth other bucket sums the queues past the cap" wait_out 150 $((NQ - CAP)) depth_other
m=$(http_body "$U/metrics")
eq "queue depth: $CAP series + other" "$(series ingot_queue_depth)" $((CAP + 1))
total=$(printf '%s\n' "$m" | grep -vc '^#')
check "whole exposition stays small ($total series lines)" test "$total" -lt 400
stop_ingot "$A_PID" "$A_LOG"; eq "serve exits 0" "$?" 0

# Default cap: the same $NQ queues are all listed (1000 > $NQ).
start_ingot B serve || { bad "serve starts"; finish; }
for i in $(seq 1 $NQ); do
    curl -s -o /dev/null -X POST "http://127.0.0.1:$B_PORT/v1/jobs" "${AUTH[@]}" \
        -d "{\"kind\":\"http\",\"queue\":\"tenantq$i\",\"delay_ms\":3600000,\"payload\":{\"url\":\"http://127.0.0.1:9/\"}}"
done
m=$(http_body "http://127.0.0.1:$B_PORT/metrics")
eq "default cap: every queue listed" "$(series ingot_jobs_enqueued_total)" "$NQ"
eq "default cap: no overflow" "$(printf '%s\n' "$m" | grep -c '^ingot_metrics_series_overflow_total')" 0
finish
