-- wrk script: POST a small chat completion (not streamed). BENCH_PATH:
-- /v1/chat/completions (ingot) or /openai/v1/chat/completions (fakellm);
-- BENCH_KEY: the bearer; BENCH_MODEL: the fake's behaviour (fake-ok);
-- BENCH_CACHE: an Ingot-Cache value (the body then asks for temperature 0).
local key = os.getenv("BENCH_KEY") or "k"
local model = os.getenv("BENCH_MODEL") or "fake-ok"
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/v1/chat/completions"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"
local cache = os.getenv("BENCH_CACHE")
local extra = ""
if cache and cache ~= "" then
  wrk.headers["Ingot-Cache"] = cache
  extra = '"temperature":0,'
end
wrk.body = '{"model":"' .. model .. '",' .. extra .. '"max_tokens":16,"messages":[{"role":"user","content":"Say hello."}]}'
function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
