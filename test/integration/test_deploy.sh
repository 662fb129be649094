# Deployment artifacts agree with the settings table: every variable the
# compose file and the Kubernetes manifests set is a real setting, and every
# required one is set; each role runs with the right probes, non-root, on a
# read-only root filesystem.
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

# compose_vars FILE: the variables set for the ingot services (the x-ingot
# block's environment).
compose_vars() {
    awk '/^x-ingot:/ { x = 1; next } /^[a-z]/ { x = 0 } x && /^  environment:/ { e = 1; next } x && e && /^    [A-Z][A-Z0-9_]*:/ { sub(/^ +/, ""); sub(/:.*/, ""); print; next } x && /^  [a-z]/ { e = 0 }' "$1" | sort -u
}
# k8s_vars DIR: ConfigMap data, Secret stringData, and env names.
k8s_vars() {
    cat "$1"/*.yaml | awk '/^(data|stringData):/ { d = 1; next } /^[a-z]/ { d = 0 } d && /^  [A-Z][A-Z0-9_]*:/ { sub(/^ +/, ""); sub(/:.*/, ""); print } /- name: [A-Z][A-Z0-9_]*$/ { print $3 }' | sort -u
}
# unknown VARS: the ones that are not settings.
unknown() { comm -23 <(echo "$1") <(echo "$settings"); }
missing() { comm -23 <(echo "$required") <(echo "$1"); }

cv=$(compose_vars "$D/docker-compose.yml")
kv=$(k8s_vars "$D/kubernetes")
check "compose sets variables" test "$(echo "$cv" | wc -l)" -ge 5
check "kubernetes sets variables" test "$(echo "$kv" | wc -l)" -ge 5
eq "compose: every variable is a setting" "$(unknown "$cv")" ""
eq "compose: every required setting is set" "$(missing "$cv")" ""
eq "kubernetes: every variable is a setting" "$(unknown "$kv")" ""
eq "kubernetes: every required setting is set" "$(missing "$kv")" ""
# The check itself catches a stray name and a missing one.
cp "$D/docker-compose.yml" bad.yml
sed -i 's/^    SIGNING_KEY:/    SIGNING_KEYS:/' bad.yml
eq "a misspelt variable is caught" "$(unknown "$(compose_vars bad.yml)")" SIGNING_KEYS
eq "so is the missing one" "$(missing "$(compose_vars bad.yml)")" SIGNING_KEY

# Compose: one image, every role, migrate first, health checks, volumes.
C=$(cat "$D/docker-compose.yml")
for role in migrate serve work schedule; do
    contains "compose runs $role" "$C" "command: [\"$role\"]"
done
contains "roles wait for migrate" "$C" "condition: service_completed_successfully"
contains "health check on readiness" "$C" "/health/ready"
contains "MariaDB keeps its data" "$C" "mariadb:/var/lib/mysql"
contains "read-only root" "$C" "read_only: true"

# Kubernetes: a Deployment per role with the role as argument, probes on
# the right paths, requests, non-root and read-only; HPA for serve and
# work; a PDB each; migrate as a Job.
for role in serve work schedule; do
    f="$D/kubernetes/$role.yaml"
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
contains "serve scales (HPA)" "$(cat "$D/kubernetes/serve.yaml")" "kind: HorizontalPodAutoscaler"
contains "work scales (HPA)" "$(cat "$D/kubernetes/work.yaml")" "kind: HorizontalPodAutoscaler"
contains "migrate is a Job" "$(cat "$D/kubernetes/migrate-job.yaml")" "args: [\"migrate\"]"
for f in "$D"/kubernetes/*.yaml; do
    [ "$(basename "$f")" = kustomization.yaml ] && continue
    contains "kustomization lists $(basename "$f")" "$(cat "$D/kubernetes/kustomization.yaml")" "- $(basename "$f")"
done
# The probes answer where the manifests say, on a real process.
jobs_setup deploy
start_ingot S serve
eq "/health/live answers" "$(http_code "http://127.0.0.1:$S_PORT/health/live")" 200
eq "/health/ready answers" "$(http_code "http://127.0.0.1:$S_PORT/health/ready")" 200
start_ingot SC schedule
eq "schedule answers /health/ready" "$(http_code "http://127.0.0.1:$SC_PORT/health/ready")" 200
finish
