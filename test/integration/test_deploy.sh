# Deployment artifacts agree with the settings table: every variable the
# compose file and the Kubernetes manifests give ingot is a real setting,
# every required one is set, the Secret holds only secret settings and is
# not in the kustomization; compose passes all of .env through and keeps
# /metrics protected; each role runs with the right probes, non-root, on a
# read-only root filesystem; `make run` prints the port it really uses.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
D=$INGOT_ROOT/deploy

"$B" init --example > example.env
settings=$(grep -oE '^[A-Z][A-Z0-9_]*=' example.env | tr -d '=' | sort -u)
# Required by the table, plus the secrets a role refuses to start without
# (serve: API_KEY_HASH_SECRET, work: SIGNING_KEY).
required=$( (grep -B1 -E '^[A-Z][A-Z0-9_]*=' example.env | awk '/required\)$/ { getline; sub(/=.*/, ""); print }'; echo API_KEY_HASH_SECRET; echo SIGNING_KEY) | sort -u)
check "the table lists settings" test "$(echo "$settings" | wc -l)" -gt 20
contains "DATABASE_URL is required" "$required" DATABASE_URL
# The secret settings: what --k8s-secret prints when every one is set.
"${NO_SECRETS[@]}" "$B" init --output all.env 2>/dev/null
"${NO_SECRETS[@]}" "$B" init --k8s-secret --env-file all.env \
    --database-url mysql://ingot:s3cr3t-pw-x@db.internal:3306/ingot --redis-url redis://:pw-9f8e7d@redis.internal:6379/0 \
    --llm-api-key sk-provider-key-0123456789 --signing-key-next "$(openssl rand -hex 32)" \
    --metrics-bearer-token "$(openssl rand -hex 32)" > all-secret.yaml 2>k8s.err
eq "--k8s-secret with every secret set exits 0" "$?" 0
secrets=$(awk '/^stringData:/ { d = 1; next } d && /^  [A-Z]/ { sub(/^ +/, ""); sub(/:.*/, ""); print }' all-secret.yaml | sort -u)
check "secret settings found" test "$(echo "$secrets" | wc -l)" -ge 8
for s in DATABASE_URL REDIS_URL JWT_SECRET API_KEY_HASH_SECRET ENCRYPTION_KEY SIGNING_KEY METRICS_BEARER_TOKEN; do
    contains "$s is a secret setting" "$secrets" "$s"
done
eq "the Secret holds only settings" "$(comm -23 <(echo "$secrets") <(echo "$settings"))" ""

unknown() { comm -23 <(echo "$1") <(echo "$settings"); }
missing() { comm -23 <(echo "$required") <(echo "$1"); }
has_py_yaml() { python3 -c 'import yaml' 2>/dev/null; }

# ---- Compose ----------------------------------------------------------
C=$(cat "$D/docker-compose.yml")
check "no top-level name: (docker-compose 1.29 rejects it)" sh -c "! grep -q '^name:' '$D/docker-compose.yml'"
for role in migrate serve work schedule; do
    contains "compose runs $role" "$C" "command: [\"$role\"]"
done
contains "roles wait for migrate" "$C" "condition: service_completed_successfully"
contains "health check on readiness" "$C" "/health/ready"
contains "MariaDB keeps its data" "$C" "mariadb:/var/lib/mysql"
contains "read-only root" "$C" "read_only: true"
contains "every setting of .env reaches ingot" "$C" "env_file: ../.env"
contains "open-files limit set" "$(grep -A3 'ulimits:' "$D/docker-compose.yml")" "nofile:"
contains "serve published on loopback by default" "$C" '"${INGOT_PUBLISH:-127.0.0.1:8080}:8080"'
contains "compose refuses to start without a metrics token" "$C" 'METRICS_BEARER_TOKEN: ${METRICS_BEARER_TOKEN:?'

# The stack as compose sees it: a repository with the .env `ingot init
# --compose` writes, one setting edited by hand.
mkdir -p repo/deploy && cp "$D/docker-compose.yml" repo/deploy/
"${NO_SECRETS[@]}" "$B" init --compose --output repo/.env 2>init.err; eq "init --compose exits 0" "$?" 0
for k in MARIADB_PASSWORD MARIADB_ROOT_PASSWORD METRICS_BEARER_TOKEN API_KEY_HASH_SECRET SIGNING_KEY; do
    check "init --compose writes $k" grep -qE "^$k=[0-9a-f]{64}$" repo/.env
done
sed -i 's/^QUEUE_WORKER_CONCURRENCY=.*/QUEUE_WORKER_CONCURRENCY=7/; s/^HOST=.*/HOST=127.0.0.1/' repo/.env
"$B" doctor --env-file repo/.env --json > compose-doctor.json 2>/dev/null
eq "doctor does not warn about the compose-only keys" "$(jq -r '.checks[] | select(.name=="env-file") | .status' compose-doctor.json)" ok

# compose_env SERVICE: the environment compose gives that service, one
# NAME=VALUE a line (env_file, then environment with ${...} interpolated
# from .env, as compose does).
cat > compose_env.py <<'PY'
import re, sys, yaml
root, svc = sys.argv[1], sys.argv[2]
def dotenv(path):
    out = {}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith('#') or '=' not in line:
            continue
        k, v = line.split('=', 1)
        out[k.strip()] = v.strip()
    return out
env = dotenv(root + '/.env')
def interp(v):
    def rep(m):
        name, op, arg = m.group(1), m.group(2), m.group(3)
        val = env.get(name, '')
        if op == ':?' and not val:
            sys.exit('compose: ' + name + ': ' + arg)
        if op == ':-' and not val:
            return arg
        return val
    return re.sub(r'\$\{([A-Z0-9_]+)(?:(:\?|:-)([^}]*))?\}', rep, str(v))
doc = yaml.safe_load(open(root + '/deploy/docker-compose.yml'))
s = doc['services'][svc]
final = {}
for f in ([s['env_file']] if isinstance(s.get('env_file'), str) else s.get('env_file', [])):
    final.update(dotenv(root + '/deploy/' + f))
for k, v in (s.get('environment') or {}).items():
    final[k] = interp(v)
for k in sorted(final):
    print(k + '=' + final[k])
if svc == 'serve':
    print('#ports=' + ','.join(interp(p) for p in s.get('ports', [])))
nofile = (s.get('ulimits') or {}).get('nofile') or {}
print('#nofile=' + str(nofile.get('soft', '')))
PY
if has_py_yaml; then
    for svc in migrate serve work schedule; do
        envs=$(python3 compose_env.py repo "$svc" 2>&1); rc=$?
        eq "$svc: compose environment resolves" "$rc" 0
        names=$(printf '%s\n' "$envs" | grep -v '^#' | grep -v '^MARIADB_' | cut -d= -f1 | sort -u)
        set_names=$(printf '%s\n' "$envs" | grep -v '^#' | grep -E '^[A-Z0-9_]+=.+' | cut -d= -f1 | sort -u)
        eq "$svc: every variable is a setting" "$(unknown "$names")" ""
        eq "$svc: every required setting is set" "$(missing "$set_names")" ""
        eq "$svc: every setting of .env reaches it" "$(comm -23 <(echo "$settings") <(echo "$names"))" ""
        contains "$svc: a .env edit reaches it" "$envs" "QUEUE_WORKER_CONCURRENCY=7"
        contains "$svc: HOST overridden for the container" "$envs" "HOST=0.0.0.0"
        contains "$svc: DATABASE_URL points at the mariadb service" "$envs" "@mariadb:3306/ingot"
        contains "$svc: REDIS_URL points at the redis service" "$envs" "REDIS_URL=redis://redis:6379/0"
        check "$svc: metrics token set" sh -c "printf '%s\n' '$envs' | grep -qE '^METRICS_BEARER_TOKEN=[0-9a-f]{64}$'"
        check "$svc: no MariaDB root password in ingot's environment" sh -c "! printf '%s\n' '$envs' | grep -qE '^MARIADB_ROOT_PASSWORD=.'"
        contains "$svc: nofile 65536" "$envs" "#nofile=65536"
    done
    contains "serve: published on loopback" "$(python3 compose_env.py repo serve)" "#ports=127.0.0.1:8080:8080"
    sed '/^METRICS_BEARER_TOKEN=/d' repo/.env > repo/.env.nometrics
    cp -r repo repo2 && mv repo2/.env.nometrics repo2/.env
    python3 compose_env.py repo2 serve >/dev/null 2>err; rc=$?
    check "without METRICS_BEARER_TOKEN compose refuses to start" test "$rc" -ne 0
    contains "and says so" "$(cat err)" "METRICS_BEARER_TOKEN"
    # The check itself catches a stray name and a missing one.
    cp repo/.env repo2/.env
    sed -i 's/^    SIGNING_KEY: /    SIGNING_KEYS: /' repo2/deploy/docker-compose.yml
    names=$(python3 compose_env.py repo2 work 2>/dev/null | grep -v '^#' | grep -v '^MARIADB_' | cut -d= -f1 | sort -u)
    eq "a misspelt variable is caught" "$(unknown "$names")" SIGNING_KEYS
    sed -i '/^    SIGNING_KEYS: /d' repo2/deploy/docker-compose.yml
    sed -i 's/^SIGNING_KEY=.*/SIGNING_KEY=/' repo2/.env
    set_names=$(python3 compose_env.py repo2 work 2>/dev/null | grep -E '^[A-Z0-9_]+=.+' | cut -d= -f1 | sort -u)
    eq "so is a missing one" "$(missing "$set_names")" SIGNING_KEY
else
    ok "python3-yaml not installed: compose environment checks skipped"
fi
# Compose itself, when a client is installed (no engine needed for config).
if command -v docker-compose >/dev/null 2>&1; then
    (cd repo && docker-compose -f deploy/docker-compose.yml --env-file .env config >../compose.out 2>../compose.err); rc=$?
    eq "docker-compose config accepts the file" "$rc" 0
    [ "$rc" = 0 ] || head -5 compose.err
    contains "docker-compose: env_file reached serve" "$(cat compose.out)" "QUEUE_WORKER_CONCURRENCY: '7'"
    (cd repo2 && cp ../repo/deploy/docker-compose.yml deploy/ && cp ../repo/.env .env && sed -i '/^METRICS_BEARER_TOKEN=/d' .env && docker-compose -f deploy/docker-compose.yml --env-file .env config >/dev/null 2>../compose2.err); rc=$?
    check "docker-compose refuses a .env without METRICS_BEARER_TOKEN" test "$rc" -ne 0
elif docker compose version >/dev/null 2>&1; then
    (cd repo && docker compose -f deploy/docker-compose.yml --env-file .env config >../compose.out 2>&1)
    eq "docker compose config accepts the file" "$?" 0
else
    ok "no compose client installed: compose config not run"
fi

# ---- Kubernetes -------------------------------------------------------
K=$D/kubernetes
kust=$(cat "$K/kustomization.yaml")
resources=$(awk '/^resources:/ { r = 1; next } /^[a-z]/ { r = 0 } r && /^  - / { print $2 }' "$K/kustomization.yaml")
for f in $resources; do check "kustomization resource $f exists" test -f "$K/$f"; done
for f in "$K"/*.yaml; do
    [ "$(basename "$f")" = kustomization.yaml ] && continue
    contains "kustomization lists $(basename "$f")" "$kust" "- $(basename "$f")"
done
check "no Secret among the resources (apply -k never overwrites the real one)" sh -c "! grep -l '^kind: Secret' $(for f in $resources; do printf '%s ' "$K/$f"; done)"
check "no placeholder values in deploy/" sh -c "! grep -rniE 'change-?me' '$D'"
if has_py_yaml; then
    for f in "$K"/*.yaml "$D/docker-compose.yml"; do
        check "$(basename "$f") is valid YAML" python3 -c 'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$f"
    done
fi
cm=$(awk '/^data:/ { d = 1; next } /^[a-z]/ { d = 0 } d && /^  [A-Z][A-Z0-9_]*:/ { sub(/^ +/, ""); sub(/:.*/, ""); print }' "$K/configmap.yaml" | sort -u)
envnames=$(cat "$K"/*.yaml | awk '/- name: [A-Z][A-Z0-9_]*$/ { print $3 }' | sort -u)
eq "ConfigMap: every key is a setting" "$(unknown "$cm")" ""
eq "ConfigMap holds no secret setting (the Secret would override it)" "$(comm -12 <(echo "$cm") <(echo "$secrets"))" ""
eq "manifests: every env name is a setting" "$(unknown "$envnames")" ""
contains "ConfigMap: HOST for pods" "$(cat "$K/configmap.yaml")" 'HOST: "0.0.0.0"'
# The Secret the README builds: secret settings only, and with the
# ConfigMap every required setting.
"${NO_SECRETS[@]}" "$B" init --k8s-secret --env-file all.env --database-url mysql://ingot:s3cr3t-pw-x@db.internal:3306/ingot \
    > secret.yaml 2>/dev/null; eq "--k8s-secret exits 0" "$?" 0
sk=$(awk '/^stringData:/ { d = 1; next } d && /^  [A-Z]/ { sub(/^ +/, ""); sub(/:.*/, ""); print }' secret.yaml | sort -u)
eq "generated Secret: only secret settings" "$(comm -23 <(echo "$sk") <(echo "$secrets"))" ""
eq "generated Secret + ConfigMap: every required setting" "$(missing "$(printf '%s\n%s\n' "$sk" "$cm" | sort -u)")" ""
check "generated Secret: no dev HOST, no empty values" sh -c "! grep -qE '^  (HOST|PORT):|: \"\"$' secret.yaml"
contains "generated Secret: kind and name" "$(cat secret.yaml)" "name: ingot-secrets"
"${NO_SECRETS[@]}" -u DATABASE_URL "$B" init --k8s-secret --env-file all.env >/dev/null 2>err; eq "--k8s-secret without DATABASE_URL exits 78" "$?" 78
contains "names DATABASE_URL" "$(cat err)" "DATABASE_URL"
sed 's/^JWT_SECRET=.*/JWT_SECRET=CHANGE-ME-32-characters-or-more-xxxxxxxx/' all.env > ph.env
"${NO_SECRETS[@]}" "$B" init --k8s-secret --env-file ph.env --database-url mysql://ingot:pw-x1@db:3306/ingot >out 2>err
eq "--k8s-secret refuses a placeholder" "$?" 78
eq "and prints no Secret" "$(cat out)" ""
"${NO_SECRETS[@]}" "$B" init --k8s-secret --env-file all.env --database-url "$DATABASE_URL" >/dev/null 2>err
contains "--k8s-secret warns about a local DATABASE_URL" "$(cat err)" "points at this machine"
contains "--k8s-secret warns that /metrics would be open" "$(cat err)" "METRICS_BEARER_TOKEN is unset"
check "no such warning when a token is given" sh -c '! grep -q METRICS_BEARER_TOKEN k8s.err'
if has_py_yaml; then
    check "generated Secret is valid YAML" python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert d["kind"] == "Secret" and all(isinstance(v, str) and v for v in d["stringData"].values())' secret.yaml
fi
if command -v kubectl >/dev/null 2>&1; then
    kubectl kustomize "$K" > kustomized.yaml 2>kerr; rc=$?
    eq "kubectl kustomize builds" "$rc" 0
    [ "$rc" = 0 ] || head -5 kerr
    check "kustomize output has no Secret" sh -c "! grep -q '^kind: Secret' kustomized.yaml"
    eq "kustomize output: 3 Deployments" "$(grep -c '^kind: Deployment' kustomized.yaml)" 3
else
    ok "kubectl not installed: kustomize build not run"
fi

# Kubernetes: a Deployment per role with the role as argument, probes on
# the right paths, requests, non-root and read-only; HPA for serve and
# work; a PDB each; migrate as a Job.
for role in serve work schedule; do
    f="$K/$role.yaml"
    y=$(cat "$f")
    contains "$role: Deployment" "$y" "kind: Deployment"
    contains "$role: role as argument" "$y" "args: [\"$role\"]"
    "$B" help "$role" >/dev/null 2>&1; eq "$role: a real command" "$?" 0
    contains "$role: liveness on /health/live" "$(grep -A1 livenessProbe "$f")" "/health/live"
    contains "$role: readiness on /health/ready" "$(grep -A1 readinessProbe "$f")" "/health/ready"
    contains "$role: resource requests" "$y" "requests: {cpu:"
    contains "$role: non-root" "$y" "runAsNonRoot: true"
    contains "$role: read-only root" "$y" "readOnlyRootFilesystem: true"
    contains "$role: a PodDisruptionBudget" "$y" "kind: PodDisruptionBudget"
    contains "$role: config and secrets" "$y" "name: ingot-secrets"
done
contains "serve scales (HPA)" "$(cat "$K/serve.yaml")" "kind: HorizontalPodAutoscaler"
contains "work scales (HPA)" "$(cat "$K/work.yaml")" "kind: HorizontalPodAutoscaler"
contains "migrate is a Job" "$(cat "$K/migrate-job.yaml")" "args: [\"migrate\"]"

# ---- make run prints the port it really uses ---------------------------
mkdir -p devrun/bin devrun/.run
ln -sf "$B" devrun/bin/ingot
devdb=$(migrated_db devrun) || bad "migrate"
printf 'DATABASE_URL=%s\nREDIS_URL=%s\n' "$devdb" "$REDIS_URL" > devrun/.run/env
dport=$(free_port)
(cd devrun && "${NO_SECRETS[@]}" "$B" init --host 127.0.0.1 --log-format text 2>/dev/null)
sed -i "s/^PORT=.*/PORT=\"$dport\"  # not the default/" devrun/.env
(cd devrun && exec env -u PORT bash "$INGOT_ROOT/deploy/local/dev-run.sh" >dev.out 2>dev.err) &
dpid=$!
check "make run serves on the .env port" wait_until 150 curl -sf -o /dev/null "http://127.0.0.1:$dport/health/live"
contains "make run prints the .env port" "$(head -3 devrun/dev.err)" "ingot: http://127.0.0.1:$dport/health"
kill -TERM "$dpid" 2>/dev/null; wait "$dpid"
eq "make run drains and exits 0" "$?" 0

# The probes answer where the manifests say, on a real process.
jobs_setup deploy
start_ingot S serve
eq "/health/live answers" "$(http_code "http://127.0.0.1:$S_PORT/health/live")" 200
eq "/health/ready answers" "$(http_code "http://127.0.0.1:$S_PORT/health/ready")" 200
start_ingot SC schedule
eq "schedule answers /health/ready" "$(http_code "http://127.0.0.1:$SC_PORT/health/ready")" 200
finish
