# The jobs API: keys, tenant isolation, enqueue and validation, batch,
# idempotency, get/wait, list with cursors, cancel, retry, error shapes.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
url=$(migrated_db api) || { bad "migrate"; finish; }
export DATABASE_URL=$url
"$B" admin tenant create acme --env-file /dev/null >/dev/null 2>&1; eq "tenant create" "$?" 0
"$B" admin tenant create acme --env-file /dev/null >/dev/null 2>err; eq "duplicate tenant refused" "$?" 65
"$B" admin tenant create globex --env-file /dev/null >/dev/null 2>&1
K1=$("$B" admin key create --tenant acme --name ci --env-file /dev/null 2>key.err)
eq "key alone on stdout" "$(printf '%s' "$K1" | grep -cE '^ik_[0-9a-f]{40}$')" 1
contains "details on stderr" "$(cat key.err)" "shown only now"
K2=$("$B" admin key create --tenant globex --env-file /dev/null 2>/dev/null)
eq "key stored hashed, not in clear" "$(mysql_root -e "SELECT COUNT(*) FROM ingot_api.api_keys WHERE hash = UNHEX(SHA2('$K1', 256)) OR prefix = '$K1'")" 0
contains "key list shows prefix" "$("$B" admin key list --env-file /dev/null 2>&1)" "${K1:0:11}"
"$B" admin key create --tenant nobody --env-file /dev/null >/dev/null 2>&1; eq "unknown tenant refused" "$?" 65

start_ingot A serve
U="http://127.0.0.1:$A_PORT"
A1=(-H "Authorization: Bearer $K1")
A2=(-H "Authorization: Bearer $K2")
post() { curl -s -o resp.json -w '%{http_code}' -X POST "$@"; }

eq "no key: 401" "$(http_code "$U/v1/jobs")" 401
eq "bad key: 401" "$(http_code "$U/v1/jobs" -H 'Authorization: Bearer ik_0000000000000000000000000000000000000000')" 401
eq "401 shape" "$(http_body "$U/v1/jobs" | jq -r .error.code)" invalid_api_key

code=$(post "$U/v1/jobs" "${A1[@]}" -d '{"kind":"http","queue":"emails","payload":{"url":"http://127.0.0.1:9/hook","method":"POST","body":{"a":1}},"priority":5,"metadata":{"order":42}}')
eq "enqueue: 202" "$code" 202
ID=$(jq -r .id resp.json)
eq "status queued" "$(jq -r .status resp.json)" queued
check "id looks like job_N" test "${ID#job_}" != "$ID"
eq "committed before 2xx" "$(mysql_root -e "SELECT COUNT(*) FROM ingot_api.jobs WHERE id = ${ID#job_}")" 1
# The queue row is written beside the job, not before the 202: wait for it.
check "queue created on first use" wait_sql 50 "SELECT COUNT(*) FROM ingot_api.queues WHERE name = 'emails'" 1
body=$(http_body "$U/v1/jobs/$ID" "${A1[@]}")
eq "get: payload kept" "$(printf '%s' "$body" | jq -c .payload.body)" '{"a":1}'
eq "get: metadata kept" "$(printf '%s' "$body" | jq -r .metadata.order)" 42
eq "get: priority" "$(printf '%s' "$body" | jq -r .priority)" 5
eq "other tenant: 404 not 403" "$(http_code "$U/v1/jobs/$ID" "${A2[@]}")" 404
eq "other tenant cannot cancel" "$(post "$U/v1/jobs/$ID/cancel" "${A2[@]}")" 404
eq "other tenant does not list it" "$(http_body "$U/v1/jobs" "${A2[@]}" | jq '.data | length')" 0

# Validation names the field.
v() { post "$U/v1/jobs" "${A1[@]}" -d "$1" >/dev/null; printf '%s %s' "$(cat resp.json | jq -r .error.param)" "$(jq -r .error.type resp.json)"; }
eq "unknown field" "$(v '{"kind":"http","payload":{"url":"http://127.0.0.1:9/"},"colour":1}')" "colour invalid_request_error"
eq "missing kind" "$(v '{"payload":{}}')" "kind invalid_request_error"
eq "bad kind" "$(v '{"kind":"ftp","payload":{}}')" "kind invalid_request_error"
eq "missing url" "$(v '{"kind":"http","payload":{}}')" "payload.url invalid_request_error"
eq "bad priority" "$(v '{"kind":"http","payload":{"url":"http://127.0.0.1:9/"},"priority":"high"}')" "priority invalid_request_error"
eq "bad queue" "$(v '{"kind":"http","queue":"no spaces","payload":{"url":"http://127.0.0.1:9/"}}')" "queue invalid_request_error"
eq "run_at and delay_ms" "$(v '{"kind":"http","payload":{"url":"http://127.0.0.1:9/"},"run_at":"2030-01-01T00:00:00Z","delay_ms":5}')" "run_at invalid_request_error"
eq "bad header value" "$(v '{"kind":"http","payload":{"url":"http://127.0.0.1:9/","headers":{"X":"a\nb"}}}')" "payload.headers invalid_request_error"
eq "invalid JSON: 400" "$(post "$U/v1/jobs" "${A1[@]}" -d '{nope')" 400
eq "ftp url: 422" "$(post "$U/v1/jobs" "${A1[@]}" -d '{"kind":"http","payload":{"url":"ftp://127.0.0.1/"}}')" 422
eq "422 names the field" "$(jq -r .error.param resp.json)" "payload.url"
big=$(head -c 300000 /dev/zero | tr '\0' 'a')
printf '{"kind":"http","payload":{"url":"http://127.0.0.1:9/","body":"%s"}}' "$big" > big.json
eq "payload over JOB_MAX_PAYLOAD: 413" "$(post "$U/v1/jobs" "${A1[@]}" --data-binary @big.json)" 413
eq "413 names payload" "$(jq -r .error.param resp.json)" payload

# Delayed job: run_at in the future stays queued with that time.
FUT=$(date -u -d '+30 days' +%Y-%m-%d) # run_at is bounded as delay_ms (366 days)
post "$U/v1/jobs" "${A1[@]}" -d "{\"kind\":\"http\",\"payload\":{\"url\":\"http://127.0.0.1:9/\"},\"run_at\":\"${FUT}T03:04:05+02:00\"}" >/dev/null
DID=$(jq -r .id resp.json)
eq "run_at converted to UTC" "$(http_body "$U/v1/jobs/$DID" "${A1[@]}" | jq -r .run_at)" "${FUT}T01:04:05.000000Z"

# Idempotency: header or field, same job back, one row.
eq "idempotent first: 202" "$(post "$U/v1/jobs" "${A1[@]}" -H 'Idempotency-Key: order-7' -d '{"kind":"http","payload":{"url":"http://127.0.0.1:9/"}}')" 202
I1=$(jq -r .id resp.json)
eq "idempotent repeat: 200" "$(post "$U/v1/jobs" "${A1[@]}" -H 'Idempotency-Key: order-7' -d '{"kind":"http","payload":{"url":"http://127.0.0.1:9/"}}')" 200
eq "same job returned" "$(jq -r .id resp.json)" "$I1"
eq "one row for the key" "$(mysql_root -e "SELECT COUNT(*) FROM ingot_api.jobs WHERE idempotency_key = 'order-7'")" 1
eq "key is per tenant" "$(post "$U/v1/jobs" "${A2[@]}" -H 'Idempotency-Key: order-7' -d '{"kind":"http","payload":{"url":"http://127.0.0.1:9/"}}')" 202
mysql_root -e "UPDATE ingot_api.jobs SET created_at = NOW(6) - INTERVAL 25 HOUR WHERE id = ${I1#job_}"
eq "after 24 h the key is new again" "$(post "$U/v1/jobs" "${A1[@]}" -H 'Idempotency-Key: order-7' -d '{"kind":"http","payload":{"url":"http://127.0.0.1:9/"}}')" 202
check "a new job" test "$(jq -r .id resp.json)" != "$I1"

# Batch: all or nothing.
eq "batch: 202" "$(post "$U/v1/jobs/batch" "${A1[@]}" -d '[{"kind":"http","payload":{"url":"http://127.0.0.1:9/1"}},{"kind":"http","queue":"b","payload":{"url":"http://127.0.0.1:9/2"}}]')" 202
eq "batch returns both" "$(jq '.data | length' resp.json)" 2
b1=$(jq -r '.data[0].id' resp.json); b2=$(jq -r '.data[1].id' resp.json)
eq "batch ids are the rows" "$(http_body "$U/v1/jobs/$b2" "${A1[@]}" | jq -r .queue)" b
before=$(mysql_root -e "SELECT COUNT(*) FROM ingot_api.jobs")
eq "bad item fails the batch: 400" "$(post "$U/v1/jobs/batch" "${A1[@]}" -d '{"jobs":[{"kind":"http","payload":{"url":"http://127.0.0.1:9/1"}},{"kind":"http","payload":{}}]}')" 400
eq "names the item" "$(jq -r .error.param resp.json)" "jobs[1].payload.url"
eq "nothing inserted" "$(mysql_root -e "SELECT COUNT(*) FROM ingot_api.jobs")" "$before"
eq "empty batch: 400" "$(post "$U/v1/jobs/batch" "${A1[@]}" -d '[]')" 400

# Batch under an Idempotency-Key: a repeat inserts nothing and answers the
# jobs of the first request; another size under the same key is refused.
IB='[{"kind":"http","payload":{"url":"http://127.0.0.1:9/ib1"}},{"kind":"http","payload":{"url":"http://127.0.0.1:9/ib2"}}]'
ibcount() { mysql_root -e "SELECT COUNT(*) FROM ingot_api.jobs WHERE payload LIKE '%/ib_\"%' AND tenant_id = (SELECT id FROM ingot_api.tenants WHERE name = '$1')"; }
eq "keyed batch: 202" "$(post "$U/v1/jobs/batch" "${A1[@]}" -H 'Idempotency-Key: import-1' -d "$IB")" 202
ib_ids=$(jq -c '[.data[].id]' resp.json)
eq "keyed batch repeat: 200" "$(post "$U/v1/jobs/batch" "${A1[@]}" -H 'Idempotency-Key: import-1' -D hdr.txt -d "$IB")" 200
eq "same jobs back" "$(jq -c '[.data[].id]' resp.json)" "$ib_ids"
eq "the replay shows the stored jobs" "$(jq -r '.data[1].payload.url' resp.json)" "http://127.0.0.1:9/ib2"
contains "replay says so" "$(tr -d '\r' < hdr.txt)" "Idempotent-Replayed: true"
eq "no new rows" "$(ibcount acme)" 2
eq "same key, another size: 422" "$(post "$U/v1/jobs/batch" "${A1[@]}" -H 'Idempotency-Key: import-1' -d '[{"kind":"http","payload":{"url":"http://127.0.0.1:9/ib1"}}]')" 422
eq "names the header" "$(jq -r .error.param resp.json)" Idempotency-Key
eq "still no new rows" "$(ibcount acme)" 2
eq "batch key is per tenant" "$(post "$U/v1/jobs/batch" "${A2[@]}" -H 'Idempotency-Key: import-1' -d "$IB")" 202
eq "the other tenant got its own" "$(ibcount globex)" 2
# Two identical keyed batches at once: one is inserted, the other answers it.
IC='[{"kind":"http","payload":{"url":"http://127.0.0.1:9/ic1"}},{"kind":"http","payload":{"url":"http://127.0.0.1:9/ic2"}},{"kind":"http","payload":{"url":"http://127.0.0.1:9/ic3"}}]'
rp=()
for k in 1 2; do
    curl -s -o "race$k.json" -w '%{http_code}' -X POST "$U/v1/jobs/batch" "${A1[@]}" -H 'Idempotency-Key: race-1' -d "$IC" > "race$k.code" &
    rp+=($!)
done
wait "${rp[@]}"
eq "concurrent keyed batches: 202 and 200" "$(printf '%s\n%s\n' "$(cat race1.code)" "$(cat race2.code)" | sort | tr '\n' ' ')" "200 202 "
eq "both answer the same jobs" "$(jq -c '[.data[].id]' race1.json)" "$(jq -c '[.data[].id]' race2.json)"
eq "one set of rows" "$(mysql_root -e "SELECT COUNT(*) FROM ingot_api.jobs WHERE payload LIKE '%/ic_\"%'")" 3
long=$(printf 'k%.0s' $(seq 1 256))
eq "batch key over 255 characters: 400" "$(post "$U/v1/jobs/batch" "${A1[@]}" -H "Idempotency-Key: $long" -d "$IB")" 400
eq "names the header (length)" "$(jq -r .error.param resp.json)" Idempotency-Key
eq "per-job key in a batch: 400" "$(post "$U/v1/jobs/batch" "${A1[@]}" -d '[{"kind":"http","idempotency_key":"x","payload":{"url":"http://127.0.0.1:9/1"}}]')" 400
eq "names the item's field" "$(jq -r .error.param resp.json)" "jobs[0].idempotency_key"
mysql_root -e "UPDATE ingot_api.jobs SET created_at = created_at - INTERVAL 25 HOUR WHERE id IN ($(printf '%s' "$ib_ids" | jq -r 'map(ltrimstr("job_")) | join(",")'))"
eq "after 24 h the batch key is new again" "$(post "$U/v1/jobs/batch" "${A1[@]}" -H 'Idempotency-Key: import-1' -d "$IB")" 202
check "new jobs" test "$(jq -c '[.data[].id]' resp.json)" != "$ib_ids"
eq "two batches now" "$(ibcount acme)" 4

# List with keyset pagination.
page1=$(http_body "$U/v1/jobs?limit=2" "${A1[@]}")
eq "page of 2" "$(printf '%s' "$page1" | jq '.data | length')" 2
eq "has_more" "$(printf '%s' "$page1" | jq .has_more)" true
cur=$(printf '%s' "$page1" | jq -r .next_cursor)
page2=$(http_body "$U/v1/jobs?limit=2&cursor=$cur" "${A1[@]}")
check "second page continues below the first" test "$(printf '%s' "$page2" | jq -r '.data[0].id | ltrimstr("job_") | tonumber')" -lt "$(printf '%s' "$page1" | jq -r '.data[1].id | ltrimstr("job_") | tonumber')"
eq "queue filter" "$(http_body "$U/v1/jobs?queue=emails" "${A1[@]}" | jq -r '[.data[].queue] | unique | join(",")')" emails
eq "bad status filter: 400" "$(http_code "$U/v1/jobs?status=done" "${A1[@]}")" 400
eq "bad cursor: 400" "$(http_code "$U/v1/jobs?cursor=zzz" "${A1[@]}")" 400
eq "bad limit: 400" "$(http_code "$U/v1/jobs?limit=1000" "${A1[@]}")" 400

# Cancel and retry.
eq "cancel queued: 200" "$(post "$U/v1/jobs/$ID/cancel" "${A1[@]}")" 200
eq "now cancelled" "$(jq -r .status resp.json)" cancelled
eq "cancel again: 409" "$(post "$U/v1/jobs/$ID/cancel" "${A1[@]}")" 409
eq "retry cancelled: 200" "$(post "$U/v1/jobs/$ID/retry" "${A1[@]}")" 200
eq "queued again" "$(jq -r .status resp.json)" queued
eq "retry queued: 409" "$(post "$U/v1/jobs/$ID/retry" "${A1[@]}")" 409
eq "unknown job: 404" "$(post "$U/v1/jobs/job_999999/cancel" "${A1[@]}")" 404
eq "malformed id: 404" "$(http_code "$U/v1/jobs/xyz" "${A1[@]}")" 404

# ?wait returns when the job becomes terminal (here: cancelled meanwhile),
# woken by the done message: the woken counter proves it (the 2 s safety
# re-read would answer in time too, so the time alone proves nothing).
woken() { curl -s "$U/metrics" | awk '$1 == "ingot_job_waits_woken_total" {print $2}'; }
w0=$(woken)
http_body "$U/v1/jobs/$b1?wait=10" "${A1[@]}" > waited.json &
wpid=$!
# cancel once the long-poll has made its first read and waits
check "the long-poll waits" wait_until 50 sh -c "curl -s '$U/metrics' | grep -q '^ingot_job_waits 1\$'"
curl -s -o /dev/null -X POST "$U/v1/jobs/$b1/cancel" "${A1[@]}"
t0=$(date +%s%N)
wait "$wpid"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
eq "wait sees the terminal state" "$(jq -r .status waited.json)" cancelled
eq "the long-poll was woken by the done message" "$(woken)" "$((${w0:-0} + 1))"
check "wait returned soon after the cancel (${ms} ms)" test "$ms" -lt 1500
eq "bad wait: 400" "$(http_code "$U/v1/jobs/$b1?wait=61" "${A1[@]}")" 400
# Without Redis a long-poll polls: a job that stays queued answers as it is
# when the wait ends (a serve with no done channel once crashed here).
REDIS_URL= start_ingot NR serve
DJ=$(post "$U/v1/jobs" "${A1[@]}" -d '{"kind":"http","payload":{"url":"http://127.0.0.1:9/"},"delay_ms":600000}' >/dev/null; jq -r .id resp.json)
eq "no Redis: wait ends with the job as it is" "$(http_body "http://127.0.0.1:$NR_PORT/v1/jobs/$DJ?wait=1" "${A1[@]}" | jq -r .status)" queued
eq "no Redis: serve still up" "$(http_code "http://127.0.0.1:$NR_PORT/health/live")" 200

# Queues: counts per state, settings, validation, isolation.
qs=$(http_body "$U/v1/queues" "${A1[@]}")
eq "queues listed" "$(printf '%s' "$qs" | jq -r '[.data[].name] | sort | join(",")')" "b,default,emails"
eq "counts per state" "$(printf '%s' "$qs" | jq -r '.data[] | select(.name=="emails") | .counts.queued')" 1
# QUEUE_LIMITER_MAX defaults to 0 (unlimited): no limit to show
eq "no default rate limit" "$(printf '%s' "$qs" | jq -c '.data[] | select(.name=="emails") | .rate_limit')" null
check "oldest queued age reported" test "$(printf '%s' "$qs" | jq -r '.data[] | select(.name=="emails") | .oldest_queued_age_ms')" -ge 0
code=$(curl -s -o resp.json -w '%{http_code}' -X PUT "$U/v1/queues/emails" "${A1[@]}" -d '{"rate_limit":{"max":10,"duration_ms":1000},"concurrency":5,"paused":true,"group":{"concurrency":2}}')
eq "put queue: 200" "$code" 200
eq "settings stored" "$(jq -c '[.rate_limit.max,.rate_limit.duration_ms,.concurrency,.paused,.group.concurrency]' resp.json)" "[10,1000,5,true,2]"
eq "get one queue" "$(http_body "$U/v1/queues/emails" "${A1[@]}" | jq -r .paused)" true
eq "new queue by PUT" "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$U/v1/queues/fresh" "${A1[@]}" -d '{}')" 200
eq "unknown queue: 404" "$(http_code "$U/v1/queues/nope" "${A1[@]}")" 404
eq "other tenant does not see it" "$(http_code "$U/v1/queues/emails" "${A2[@]}")" 404
qv() { curl -s -o resp.json -X PUT "$U/v1/queues/emails" "${A1[@]}" -d "$1"; jq -r .error.param resp.json; }
eq "bad concurrency named" "$(qv '{"concurrency":0}')" concurrency
eq "bad rate named (the missing field)" "$(qv '{"rate_limit":{"max":1}}')" rate_limit.duration_ms
eq "bad paused named" "$(qv '{"paused":"yes"}')" paused
eq "unknown field named" "$(qv '{"speed":1}')" speed
eq "bad group named" "$(qv '{"group":{"concurrency":-1}}')" group.concurrency

# Metrics of the API: enqueues by queue and kind; queue depth snapshots.
m=$(http_body "$U/metrics")
contains "enqueued counted by queue and kind" "$m" 'ingot_jobs_enqueued_total{queue="emails",kind="http"} 1'
contains "batch enqueues counted" "$m" 'ingot_jobs_enqueued_total{queue="b",kind="http"} 1'
check "queue depth snapshot appears" wait_until 150 sh -c "curl -s $U/metrics | grep -q '^ingot_queue_depth{tenant=\"[0-9]*\",queue=\"emails\",state=\"queued\"} 1'"

# Revoked key stops working (after the cache; a new process sees it now).
"$B" admin key revoke "${K2:0:11}" --env-file /dev/null 2>/dev/null; eq "revoke" "$?" 0
start_ingot C serve
eq "revoked key: 401" "$(http_code "http://127.0.0.1:$C_PORT/v1/jobs" "${A2[@]}")" 401
finish
