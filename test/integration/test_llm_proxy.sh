# The gateway's calls and a proxy in the environment: without one they go
# out through ingot's own client (the proxy sees nothing); with http_proxy
# set they go through libcurl, which sends them to the proxy.
. "$(dirname "$0")/lib.sh"
unset BUILT_IN_FORGE_API_URL BUILT_IN_FORGE_API_KEY http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
jobs_setup llm_proxy
start_fakellm
export LLM_PROVIDER=openai LLM_BASE_URL="$L/openai/v1" LLM_API_KEY=sk-upstream-fake-0123
python3 "$INGOT_ROOT/test/fakes/fwdproxy.py" > proxy.out 2>&1 &
FAKE_PIDS+=($!)
wait_until 50 grep -q '^port ' proxy.out || { bad "fwdproxy did not start"; finish; }
PP=$(awk '/^port /{print $2; exit}' proxy.out)
BODY='{"model":"fake-ok","messages":[{"role":"user","content":"hi"}]}'
chat() { curl -s -o b.json -w '%{http_code}' --max-time 10 -X POST "http://127.0.0.1:$1/v1/chat/completions" "${AUTH[@]}" -H 'Content-Type: application/json' -d "$BODY"; }

start_ingot D serve
eq "no proxy: 200" "$(chat "$D_PORT")" 200
eq "  the completion" "$(jq -r .choices[0].message.content b.json)" "Hello! This is fakellm."
eq "  the proxy saw nothing" "$(grep -c '^proxied' proxy.out)" 0
stop_ingot "$D_PID" "$D_LOG"

http_proxy="http://127.0.0.1:$PP" start_ingot P serve
eq "http_proxy set: 200" "$(chat "$P_PORT")" 200
eq "  the completion" "$(jq -r .choices[0].message.content b.json)" "Hello! This is fakellm."
contains "  through the proxy" "$(cat proxy.out)" "proxied POST $L/openai/v1/chat/completions"
contains "  the log says why" "$(cat "$P_LOG")" "proxy is set in the environment"
stop_ingot "$P_PID" "$P_LOG"
finish
