#!/usr/bin/env bash
# Installs the test clients of test/package-lock.json (the official openai
# and Anthropic SDKs; the OpenAPI validator and ajv) into test/node_modules
# with npm ci, only when node_modules is missing or the lock file changed
# since the last install (a stamp holds its hash). The SDK end-to-end tests
# (test/integration/test_llm_sdk.sh, test_llm_messages.sh) and
# test_openapi.sh need them.
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
    [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    exit 0
fi
# --loglevel=error: the SDK's engines field asks for node 22; it runs on 20
# (the end-to-end tests prove it), npm's warning is noise here.
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
