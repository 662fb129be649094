-- wrk script: POST /v1/jobs (or a batch of BENCH_BATCH jobs) with the key in INGOT_KEY.
local key = os.getenv("INGOT_KEY")
local batch = tonumber(os.getenv("BENCH_BATCH") or "0")
local target = os.getenv("BENCH_TARGET") or "http://127.0.0.1:9/ok"
local one = '{"kind":"http","queue":"bench","payload":{"url":"' .. target .. '","body":{"n":1}}}'
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"
if batch > 0 then
  local items = {}
  for i = 1, batch do items[i] = one end
  wrk.body = "[" .. table.concat(items, ",") .. "]"
  wrk.path = "/v1/jobs/batch"
else
  wrk.body = one
  wrk.path = "/v1/jobs"
end
function response(status, headers, body)
  if status ~= 202 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
