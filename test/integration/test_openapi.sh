# GET /openapi.json: the OpenAPI 3.1 document compiled into the binary.
# test/openapi/check.mjs validates it with a real OpenAPI validator
# (@seriousme/openapi-schema-validator, test/package-lock.json), checks
# that its operations are exactly the routes registered (sources and the
# running server), and sends real requests, good and bad, to every route
# family, each answer validated (ajv, JSON Schema 2020-12) against the
# schema the document declares for its status.
. "$(dirname "$0")/lib.sh"

if ! [ -f "$INGOT_ROOT/test/node_modules/@seriousme/openapi-schema-validator/package.json" ] ||
   ! [ -f "$INGOT_ROOT/test/node_modules/ajv/package.json" ]; then
    bash "$INGOT_ROOT/test/sdk-setup.sh" >sdk-setup.log 2>&1 || { bad "validators installed (test/sdk-setup.sh)"; cat sdk-setup.log; finish; }
fi

jobs_setup openapi
start_fakellm
export USAGE_FLUSH_INTERVAL=200ms JOB_BATCH_MAX=3
# every role in one process (the scheduler's part of /health too) with a
# default LLM provider (fakellm); and a serve with no provider (its 400s)
LLM_BASE_URL="$L/openai/v1" LLM_API_KEY=upstream-key-0123456789 \
    start_ingot S run --http-target-allow 127.0.0.0/8,::1/128 || finish
start_ingot N serve || finish
wait_until 100 curl -sf -o /dev/null "http://127.0.0.1:$S_PORT/health/ready" || bad "ready"

INGOT_URL="http://127.0.0.1:$S_PORT" INGOT_NOLLM_URL="http://127.0.0.1:$N_PORT" INGOT_KEY=$K TARGET_URL=$T \
    timeout 120 node "$INGOT_ROOT/test/openapi/check.mjs" >check.out 2>&1
rc=$?
p=$(grep -c '^ok ' check.out); f=$(grep -c '^FAIL ' check.out)
T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
cat check.out
if [ "$rc" != 0 ] && [ "$f" = 0 ]; then bad "check.mjs exited $rc"; fi

finish
