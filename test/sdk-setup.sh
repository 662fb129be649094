#!/usr/bin/env bash
# Installs the test clients of test/package-lock.json (the official openai
# and Anthropic SDKs; the OpenAPI validator and ajv) into test/node_modules
# with npm ci, only when node_modules is missing or the lock file changed
# since the last install (a stamp holds its hash). The SDK end-to-end tests
# (test/integration/test_llm_sdk.sh, test_llm_messages.sh) and
# test_openapi.sh need them; test_ui.sh needs playwright-core (it drives
# Debian's chromium, vendor/packages.txt role test: no browser is downloaded).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "sdk-setup: node and npm are needed (make test installs them: vendor/packages.txt, role node)" >&2
    exit 1
fi
major=$(node -e 'process.stdout.write(process.versions.node.split(".")[0])')
if [ "$major" -lt 20 ]; then
    echo "sdk-setup: node $major is too old for the openai SDK (20 or later)" >&2
    exit 1
fi
stamp=node_modules/.ingot-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f node_modules/openai/package.json ] && [ -f node_modules/@anthropic-ai/sdk/package.json ] &&
    [ -f node_modules/playwright-core/package.json ] &&
    [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    exit 0
fi
# --loglevel=error: the SDK's engines field asks for node 22; it runs on 20
# (the end-to-end tests prove it), npm's warning is noise here.
# A registry that stalls must not hang the run (npm's own fetch timeout is
# 5 min, retried): short fetch timeouts, a bound on the whole install, and
# up to three tries.
for try in 1 2 3; do
    if timeout 180 npm ci --no-audit --no-fund --loglevel=error --fetch-timeout=30000 \
        --fetch-retries=3 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000; then
        echo "$want" > "$stamp"
        exit 0
    fi
    echo "sdk-setup: npm ci failed or took over 180 s (try $try of 3)" >&2
done
exit 1
