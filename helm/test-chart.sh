#!/usr/bin/env bash
# Lints and renders helm/wallet with several value sets and checks the output,
# without a cluster:
#   - helm lint (default values, and --strict with the bundled stores);
#   - helm template for each case; every document is decoded strictly into its
#     Kubernetes API type (ServiceMonitor, PrometheusRule: the Prometheus
#     Operator's) and cross-checked by helm/test/manifestcheck (selectors,
#     ports, probes, Secret/ConfigMap references and mounted files, Ingress
#     backends, helm test Pods, NetworkPolicy reachability, ServiceMonitor
#     targets, alert rules through Prometheus's rule-file validation);
#   - greps for the expected objects: 6 Deployments, the Ingress routes, no
#     route to admin, HPAs, bundled StatefulSets, ...;
#   - an upgrade against a cluster that holds the generated Secrets keeps them
#     (helm/test/clusterrender answers `lookup` from given objects);
#   - values that must be refused are refused (schema or template checks).
#
# helm: $HELM if set, else a cached build, else built from the Go module proxy
# (helm.sh/helm/v3 at HELM_VERSION) the way helm's Makefile does. The checkers
# are built in a module of their own that adds the Prometheus Operator's API
# types and Prometheus's rule parser. Needs go.
#
# Usage: helm/test-chart.sh            (prints "N passed, N failed" last)
#        helm/test-chart.sh --clusterrender-path   (builds clusterrender if needed, prints its path)
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.19.0}"
# Their Kubernetes modules are no newer than helm's (v0.34.0), so the checkers
# decode with the API types helm renders for.
PROMETHEUS_OPERATOR_VERSION=v0.85.0
PROMETHEUS_VERSION=v0.306.0
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
chart="$here/wallet"
cache="${WALLET_TOOLS_DIR:-$HOME/.cache/wallet}"
# A Kubernetes version to render for (helm template has no cluster to ask).
KUBE_VERSION="${KUBE_VERSION:-1.30.0}"

# ---------------------------------------------------------------------------
# Tools

tool_srcs=("$here/test/manifestcheck/main.go" "$here/test/clusterrender/main.go")
tools_sum="$( (cat "${tool_srcs[@]}"; echo "$HELM_VERSION $PROMETHEUS_OPERATOR_VERSION $PROMETHEUS_VERSION") | sha256sum | cut -c1-12)"
checker="$cache/wallet-manifestcheck-$tools_sum"
clusterrender="$cache/wallet-clusterrender-$tools_sum"
helm_bin="${HELM:-$cache/helm-$HELM_VERSION}"

build_helm() {
  command -v go >/dev/null || { echo "go is not installed: cannot build helm $HELM_VERSION" >&2; exit 1; }
  local mod
  mod="$(mktemp -d)"
  trap 'rm -rf "$mod"' RETURN
  mkdir -p "$cache"
  cat >"$mod/go.mod" <<EOF
module wallet-chart-helm

go 1.24

require helm.sh/helm/v3 $HELM_VERSION
EOF
  # `go install helm.sh/helm/v3/cmd/helm@version` would ask the proxy for a
  # version list, which is refused here; a module that requires it works.
  cat >"$mod/tools.go" <<'EOF'
//go:build tools

package tools

import _ "helm.sh/helm/v3/cmd/helm"
EOF
  (
    cd "$mod"
    export GOFLAGS=-mod=mod
    go mod tidy >/dev/null
    # As helm's Makefile: the default Kubernetes version of `helm template`
    # and the lint deprecation rules follow the client-go it is built with.
    local k8s major minor ld
    k8s="$(go list -m -f '{{.Version}}' k8s.io/client-go)" # v0.34.0
    major=$(( $(echo "${k8s#v}" | cut -d. -f1) + 1 ))
    minor="$(echo "${k8s#v}" | cut -d. -f2)"
    ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
    for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
      ld="$ld -X $pkg.k8sVersionMajor=$major -X $pkg.k8sVersionMinor=$minor"
    done
    echo "building helm $HELM_VERSION (Kubernetes $major.$minor) -> $helm_bin" >&2
    CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o "$helm_bin.tmp" helm.sh/helm/v3/cmd/helm
    mv "$helm_bin.tmp" "$helm_bin"
  )
}

build_checkers() {
  command -v go >/dev/null || { echo "go is not installed: cannot build the chart checkers" >&2; exit 1; }
  local mod
  mod="$(mktemp -d)"
  trap 'rm -rf "$mod"' RETURN
  mkdir -p "$mod/manifestcheck" "$mod/clusterrender" "$cache"
  cat >"$mod/go.mod" <<EOF
module wallet-chart-checks

go 1.24

require (
	helm.sh/helm/v3 $HELM_VERSION
	github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring $PROMETHEUS_OPERATOR_VERSION
	github.com/prometheus/prometheus $PROMETHEUS_VERSION
)
EOF
  cp "$here/test/manifestcheck/main.go" "$mod/manifestcheck/main.go"
  cp "$here/test/clusterrender/main.go" "$mod/clusterrender/main.go"
  (
    cd "$mod"
    export GOFLAGS=-mod=mod
    go mod tidy >/dev/null
    echo "building manifestcheck and clusterrender (k8s.io/api $(go list -m -f '{{.Version}}' k8s.io/api)) -> $cache" >&2
    go build -trimpath -o "$checker.tmp" ./manifestcheck
    go build -trimpath -o "$clusterrender.tmp" ./clusterrender
    mv "$checker.tmp" "$checker"
    mv "$clusterrender.tmp" "$clusterrender"
  )
}

# `helm/test-chart.sh --clusterrender-path`: build the checkers if needed, print
# where clusterrender is and stop (the local cluster, `npm run cluster`, renders
# the chart with it, as `helm template` would).
if [ "${1:-}" = "--clusterrender-path" ]; then
  if [ ! -x "$checker" ] || [ ! -x "$clusterrender" ]; then
    # Test files in parallel Jest workers may ask at the same moment: one builds, the others wait.
    mkdir -p "$cache"
    exec 9>"$cache/.checkers.lock"
    flock 9
    if [ ! -x "$checker" ] || [ ! -x "$clusterrender" ]; then
      build_checkers >&2
    fi
    flock -u 9
  fi
  echo "$clusterrender"
  exit 0
fi

if [ -n "${HELM:-}" ] && [ ! -x "$HELM" ]; then
  echo "HELM=$HELM is not executable" >&2
  exit 1
fi
[ -x "$helm_bin" ] || build_helm
if [ ! -x "$checker" ] || [ ! -x "$clusterrender" ]; then
  build_checkers
fi
"$helm_bin" version --short

# ---------------------------------------------------------------------------
# Helpers

passed=0
failed=0
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

# render NAME [helm args...]: helm template into $out/NAME.yaml, then manifestcheck.
render() {
  local name="$1"
  shift
  if ! "$helm_bin" template wallet "$chart" --namespace wallet --kube-version "$KUBE_VERSION" "$@" >"$out/$name.yaml" 2>"$out/$name.err"; then
    fail "$name: helm template failed"
    sed 's/^/     /' "$out/$name.err"
    return 1
  fi
  ok "$name: helm template"
}

# check NAME [manifestcheck args...]
check() {
  local name="$1"
  shift
  if "$checker" "$@" <"$out/$name.yaml" >"$out/$name.check"; then
    ok "$name: manifests valid ($(tail -1 "$out/$name.check"))"
  else
    fail "$name: manifestcheck"
    grep -vE '^(ok|route|file|test|servicemonitor|alert) ' "$out/$name.check" | sed 's/^/     /'
  fi
}

# expect_line NAME LINE: manifestcheck printed LINE (a route, file, test, alert, ... line).
expect_line() {
  if grep -qxF -- "$2" "$out/$1.check"; then ok "$1: $2"; else fail "$1: no line \"$2\""; fi
}

# env_value NAME DEPLOYMENT ENV: the literal value of ENV in that Deployment's container.
env_value() {
  awk -v d="$2" -v e="$3" '
    /^kind: /{kind=$2} /^  name: /{name=$2}
    kind=="Deployment" && name==d && $0 ~ "- name: "e"$" {getline; sub(/^ *value: /, ""); gsub(/"/, ""); print; exit}
  ' "$out/$1.yaml"
}

expect_env() { # NAME DEPLOYMENT ENV WANT ("" = not set)
  local got
  got="$(env_value "$1" "$2" "$3")"
  if [ "$got" = "$4" ]; then ok "$1: $2 $3=${4:-(unset)}"; else fail "$1: $2 $3='$got', want '${4:-(unset)}'"; fi
}

# secret_value NAME SECRET KEY: a key of a rendered Secret, decoded.
secret_value() {
  awk -v s="$2" -v k="$3" '
    /^---/{kind=""; name=""} /^kind: /{kind=$2} /^  name: /{name=$2}
    kind=="Secret" && name==s && $1==k":" {gsub(/"/, "", $2); print $2; exit}
  ' "$out/$1.yaml" | base64 -d
}

count_kind() { grep -c "^kind: $2\$" "$out/$1.yaml" || true; }

expect_count() { # NAME KIND WANT
  local got
  got="$(count_kind "$1" "$2")"
  if [ "$got" = "$3" ]; then ok "$1: $3 $2"; else fail "$1: $got $2, want $3"; fi
}

expect_route() { # NAME "host/path Prefix -> service:port"
  if grep -qxF "route $2" "$out/$1.check"; then ok "$1: route $2"; else fail "$1: no route $2"; fi
}

expect_grep() { # NAME PATTERN DESCRIPTION
  if grep -qE -- "$2" "$out/$1.yaml"; then ok "$1: $3"; else fail "$1: $3 (no match for $2)"; fi
}

expect_no_grep() { # NAME PATTERN DESCRIPTION
  if grep -qE -- "$2" "$out/$1.yaml"; then fail "$1: $3 (found $2)"; else ok "$1: $3"; fi
}

# redis_run_check: start the bundled Redis as the rendered StatefulSet does
# (its command and env, the password from the rendered Secret) with the
# machine's redis-server on a spare port, then check what the chart promises:
# no access without the password, the readiness probe's command passes, the
# services' URL (REDIS_PASSWORD expanded into it) authenticates, maxmemory and
# the policy are set. Skipped without redis-server or python3's yaml.
redis_run_check() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null || ! python3 -c 'import yaml' 2>/dev/null; then
    echo "skip bundled: Redis run check (needs redis-server, redis-cli, python3 yaml)"
    return
  fi
  local dir="$out/redis-run" port=6391
  mkdir -p "$dir/bin"
  # The rendered pod spec as shell: its env (secretKeyRef resolved from the
  # rendered Secret) and its command.
  python3 - "$out/bundled.yaml" >"$dir/env.sh" <<'PY' || { fail "bundled: Redis pod spec not found"; return; }
import base64, shlex, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
secrets = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "Secret"}
sts = next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"].endswith("-redis"))
c = sts["spec"]["template"]["spec"]["containers"][0]
for e in c.get("env", []):
    if "value" in e:
        v = e["value"]
    else:
        ref = e["valueFrom"]["secretKeyRef"]
        v = base64.b64decode(secrets[ref["name"]][ref["key"]]).decode()
    print(f"export {e['name']}={shlex.quote(v)}")
print("COMMAND=(" + " ".join(shlex.quote(a) for a in c["command"]) + ")")
print("PROBE=(" + " ".join(shlex.quote(a) for a in c["readinessProbe"]["exec"]["command"]) + ")")
svc = next(d for d in docs if d["kind"] == "Deployment")
url = next(e["value"] for e in svc["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == "WALLET_CACHE_REDIS_URL")
print(f"SERVICE_URL={shlex.quote(url)}")
PY
  # redis-server and redis-cli on PATH that use the spare port (the rendered
  # command keeps its "-" as the last argument, as Redis requires).
  printf '#!/bin/sh\nexec %s --port %s "$@"\n' "$(command -v redis-server)" "$port" >"$dir/bin/redis-server"
  printf '#!/bin/sh\nexec %s -p %s "$@"\n' "$(command -v redis-cli)" "$port" >"$dir/bin/redis-cli"
  chmod +x "$dir/bin/redis-server" "$dir/bin/redis-cli"
  (
    # shellcheck disable=SC1091
    . "$dir/env.sh"
    export PATH="$dir/bin:$PATH"
    "${COMMAND[@]}" >"$dir/redis.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
    result=0
    if env -u REDISCLI_AUTH redis-cli ping 2>&1 | grep -q NOAUTH; then echo "ok   bundled: Redis refuses commands without the password"; else echo "FAIL bundled: Redis answers without the password"; result=1; fi
    if "${PROBE[@]}"; then echo "ok   bundled: Redis readiness probe command passes"; else echo "FAIL bundled: Redis readiness probe command"; result=1; fi
    # Kubernetes expands $(REDIS_PASSWORD) in the services' URL; the host is ours here.
    url="${SERVICE_URL//\$(REDIS_PASSWORD)/$REDIS_PASSWORD}"
    url="redis://${url#redis://}"; url="${url%@*}@127.0.0.1:$port"
    if env -u REDISCLI_AUTH redis-cli -u "$url" ping 2>/dev/null | grep -q PONG; then
      echo "ok   bundled: the services' Redis URL authenticates"
    else
      echo "FAIL bundled: the services' Redis URL does not authenticate"; result=1
    fi
    mm="$(REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli config get maxmemory | tail -1)"
    policy="$(REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli config get maxmemory-policy | tail -1)"
    if [ "$mm" = $((192 * 1024 * 1024)) ] && [ "$policy" = volatile-lru ]; then
      echo "ok   bundled: Redis maxmemory 192mb, volatile-lru"
    else
      echo "FAIL bundled: Redis maxmemory '$mm', policy '$policy'"; result=1
    fi
    if grep -q "$REDIS_PASSWORD" "/proc/$pid/cmdline" 2>/dev/null; then echo "FAIL bundled: password in Redis's command line"; result=1; else echo "ok   bundled: password not in Redis's command line"; fi
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    exit $result
  ) >"$dir/result" 2>&1 || true
  local line
  while IFS= read -r line; do
    case "$line" in
      "ok   "*) ok "${line#ok   }" ;;
      "FAIL "*) fail "${line#FAIL }" ;;
      *) echo "     $line" ;;
    esac
  done <"$dir/result"
}

# refuse NAME REGEX [helm args...]: rendering must fail with a message matching
# REGEX (schema messages differ between helm versions: name the field only).
refuse() {
  local name="$1" message="$2"
  shift 2
  if "$helm_bin" template wallet "$chart" --namespace wallet --kube-version "$KUBE_VERSION" "$@" >/dev/null 2>"$out/$name.err"; then
    fail "$name: rendered, should be refused"
  elif grep -qE -- "$message" "$out/$name.err"; then
    ok "$name: refused ($message)"
  else
    fail "$name: refused without \"$message\""
    sed 's/^/     /' "$out/$name.err"
  fi
}

# --set splits on commas: a multi-host URI goes through --set-json (or a values file).
ext=(--set-json 'externalMongodb.uri="mongodb://m0:27017,m1:27017,m2:27017/wallet?replicaSet=rs0"' --set externalRedis.url='redis://redis:6379')

declare -A ports=([auth]=3001 [storage]=3002 [engine]=3003 [registry]=3004 [admin]=3005 [verifier]=3006)

# Metrics the alert rules may use: what the services expose
# (libs/platform/src/metrics/metrics.ts: the request histogram and prom-client's
# default process metrics), Prometheus's own `up`, and kube-state-metrics.
metrics=(
  -metric http_request_duration_seconds_bucket -metric http_request_duration_seconds_count
  -metric http_request_duration_seconds_sum -metric 'nodejs_*' -metric 'process_*' -metric up
  -metric kube_deployment_status_replicas_unavailable -metric kube_deployment_status_replicas_available
  -metric kube_deployment_spec_replicas -metric kube_pod_container_status_restarts_total
)

# Who may connect to whom under the NetworkPolicies (external stores, ingress on).
netpol_probes=(
  -reach 'ns:ingress-nginx:app.kubernetes.io/name=ingress-nginx -> wallet-auth:3001'
  -reach 'ns:ingress-nginx:app.kubernetes.io/name=ingress-nginx -> wallet-engine:3003'
  -reach 'ns:ingress-nginx:app.kubernetes.io/name=ingress-nginx -> wallet-verifier:3006'
  -no-reach 'ns:ingress-nginx:app.kubernetes.io/name=ingress-nginx -> wallet-admin:3005'
  -reach 'ns:wallet:app=operator-shell -> wallet-admin:3005'
  -no-reach 'ns:default:app=anything -> wallet-admin:3005'
  -no-reach 'ns:monitoring:app=prometheus -> wallet-admin:3005'
  -reach 'ns:monitoring:app=prometheus -> wallet-storage:3002'
  -no-reach 'ns:default:app=anything -> wallet-auth:3001'
  -reach 'wallet-engine -> wallet-registry:3004'
  -reach 'wallet-storage -> wallet-auth:3001'
  -no-reach 'wallet-auth -> wallet-storage:3002'
  -no-reach 'wallet-verifier -> wallet-engine:3003'
  -reach 'wallet-test-admin -> wallet-admin:3005'
  -reach 'wallet-test-verifier -> wallet-verifier:3006'
  -reach 'wallet-auth -> ip:10.20.30.40:27017'
  -reach 'wallet-auth -> ip:10.20.30.41:6379'
  -reach 'wallet-storage -> ip:10.96.0.10:53/UDP'
  -no-reach 'wallet-auth -> ip:10.20.30.40:5432'
  -no-reach 'wallet-auth -> ip:203.0.113.7:443'
  -no-reach 'wallet-storage -> ip:203.0.113.7:443'
  -reach 'wallet-engine -> ip:203.0.113.7:443'
  -reach 'wallet-verifier -> ip:2001:db8::7:443'
  -reach 'wallet-admin -> ip:203.0.113.7:443'
  -no-reach 'wallet-engine -> ip:10.0.0.7:443'
  -no-reach 'wallet-engine -> ip:169.254.169.254:443'
  -no-reach 'wallet-engine -> ip:203.0.113.7:80'
)

# ---------------------------------------------------------------------------
# Lint

if "$helm_bin" lint "$chart" >"$out/lint.txt" 2>&1; then ok "helm lint (default values)"; else fail "helm lint (default values)"; sed 's/^/     /' "$out/lint.txt"; fi
if "$helm_bin" lint "$chart" --strict "${ext[@]}" --set ingress.enabled=true \
  --set metrics.serviceMonitor.enabled=true --set metrics.prometheusRule.enabled=true >"$out/lint-strict.txt" 2>&1; then
  ok "helm lint --strict (external stores, ingress, monitoring)"
else
  fail "helm lint --strict (external stores, ingress, monitoring)"; sed 's/^/     /' "$out/lint-strict.txt"
fi
if "$helm_bin" lint "$chart" --strict --set mongodb.bundled.enabled=true --set redis.bundled.enabled=true >"$out/lint-bundled.txt" 2>&1; then
  ok "helm lint --strict (bundled stores)"
else
  fail "helm lint --strict (bundled stores)"; sed 's/^/     /' "$out/lint-bundled.txt"
fi

# ---------------------------------------------------------------------------
# Default values: no store configured, so the chart refuses to render.

refuse defaults "no MongoDB configured"

# ---------------------------------------------------------------------------
# External stores by URI, ingress on

if render external "${ext[@]}" --set ingress.enabled=true; then
  check external "${netpol_probes[@]}"
  for probe in "${netpol_probes[@]}"; do
    case "$probe" in -reach) kind=reach ;; -no-reach) kind=no-reach ;; *) expect_line external "ok   $kind $probe" ;; esac
  done
  expect_count external Deployment 6
  expect_count external Service 6
  expect_count external PodDisruptionBudget 6
  expect_count external HorizontalPodAutoscaler 0
  expect_count external StatefulSet 0
  expect_count external Ingress 2
  expect_count external Secret 2
  expect_count external ConfigMap 1
  expect_count external NetworkPolicy 6
  expect_count external Pod 6
  expect_count external ServiceMonitor 0
  expect_count external PrometheusRule 0
  for s in auth storage engine registry admin verifier; do
    expect_line external "test Pod/wallet-test-$s -> wallet-$s:${ports[$s]}/health/ready"
  done
  expect_grep external 'helm.sh/hook: test' "test Pods are helm test hooks"
  for r in \
    "wallet.example.com/user Prefix -> wallet-auth:3001" \
    "wallet.example.com/auth Prefix -> wallet-auth:3001" \
    "wallet.example.com/t Prefix -> wallet-auth:3001" \
    "wallet.example.com/tenant Prefix -> wallet-auth:3001" \
    "wallet.example.com/issuer/all Prefix -> wallet-auth:3001" \
    "wallet.example.com/verifier/all Prefix -> wallet-auth:3001" \
    "wallet.example.com/storage Prefix -> wallet-storage:3002" \
    "wallet.example.com/api/v2/wallet Prefix -> wallet-engine:3003" \
    "wallet.example.com/registry Prefix -> wallet-registry:3004" \
    "verifier.example.com/ Prefix -> wallet-verifier:3006"; do
    expect_route external "$r"
  done
  if grep -q '^route .* -> wallet-admin:' "$out/external.check"; then fail "external: a route to admin"; else ok "external: no route to admin"; fi
  if [ "$(grep -c '^route ' "$out/external.check")" = 10 ]; then ok "external: 10 routes"; else fail "external: $(grep -c '^route ' "$out/external.check") routes, want 10"; fi
  expect_grep external 'nginx.ingress.kubernetes.io/proxy-read-timeout: "3600"' "websocket timeouts on the wallet host"
  expect_grep external 'image: "ghcr.io/example/wallet-engine:0.1.0"' "engine image <repository>-engine:<appVersion>"
  expect_grep external 'WALLET_STORAGE_TYPE: "mongodb"' "store type mongodb"
  expect_grep external 'WALLET_CACHE_TYPE: "redis"' "cache type redis"
  expect_grep external '^ +- name: WALLET_SERVICES_VERIFIER_PORT$' "per-service port env"
  expect_grep external 'enableServiceLinks: false' "no service link env vars"
  expect_grep external 'terminationGracePeriodSeconds: 20$' "grace period = 10 s shutdown + 5 s preStop + 5"
  expect_grep external 'helm.sh/resource-policy: keep' "generated Secret kept on uninstall"
  expect_grep external 'prometheus.io/scrape: "true"' "Prometheus scrape annotations"
  expect_grep external 'path: /health/ready' "readiness on /health/ready"
  expect_no_grep external 'type: (LoadBalancer|NodePort)' "ClusterIP Services only"
  expect_grep external 'WALLET_SERVER_TRUSTED_PROXIES: "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7"' "proxy trust: the private ranges behind the ingress"
  expect_no_grep external 'WALLET_SERVER_TRUST_PROXY' "no boolean proxy trust"
  expect_env external wallet-auth WALLET_AUTH_RP_ID wallet.example.com
  expect_env external wallet-auth WALLET_AUTH_ORIGINS https://wallet.example.com
  expect_env external wallet-storage WALLET_AUTH_RP_ID ""
  expect_env external wallet-engine WALLET_ENGINE_REGISTRY_URL http://wallet-registry.wallet.svc:3004
  expect_env external wallet-auth WALLET_ENGINE_REGISTRY_URL ""
  # Public URLs: the wallet host for the four routed services, the verifier host, none for admin.
  urls="$(grep -A1 'name: WALLET_SERVER_PUBLIC_URL' "$out/external.yaml" | grep -c 'value: "https://wallet.example.com"' || true)"
  if [ "$urls" = 4 ]; then ok "external: 4 services on https://wallet.example.com"; else fail "external: $urls services on https://wallet.example.com, want 4"; fi
  expect_grep external 'value: "https://verifier.example.com"' "verifier public URL"
  if awk '/^kind: Deployment/{d=0} /name: wallet-admin$/{d=1} d && /WALLET_SERVER_PUBLIC_URL/{f=1} END{exit !f}' "$out/external.yaml"; then
    fail "external: admin has a public URL"
  else
    ok "external: admin has no public URL"
  fi
  # The generated key-encryption key is base64url of 32 bytes.
  kek="$(grep -m1 'WALLET_CRYPTO_KEY_ENCRYPTION_KEY: "' "$out/external.yaml" | sed 's/.*: "\(.*\)"/\1/' | base64 -d)"
  if [[ "$kek" =~ ^[A-Za-z0-9_-]{43}$ ]]; then ok "external: generated key-encryption key is base64url, 43 characters"; else fail "external: generated key-encryption key '$kek'"; fi
fi

# ---------------------------------------------------------------------------
# Bundled MongoDB and Redis (dev cluster)

bundled_probes=(
  -reach 'wallet-auth -> wallet-redis:6379' -reach 'wallet-verifier -> wallet-redis:6379'
  -reach 'wallet-storage -> wallet-mongodb:27017' -reach 'wallet-mongodb -> wallet-mongodb:27017'
  -no-reach 'wallet-test-auth -> wallet-redis:6379' -no-reach 'ns:wallet:app=debug -> wallet-mongodb:27017'
  -no-reach 'ns:wallet:app=debug -> wallet-redis:6379' -no-reach 'wallet-auth -> ip:10.20.30.40:27017'
)
if render bundled --set mongodb.bundled.enabled=true --set redis.bundled.enabled=true; then
  check bundled "${bundled_probes[@]}"
  for probe in "${bundled_probes[@]}"; do
    case "$probe" in -reach) kind=reach ;; -no-reach) kind=no-reach ;; *) expect_line bundled "ok   $kind $probe" ;; esac
  done
  expect_count bundled Deployment 6
  expect_count bundled StatefulSet 2
  expect_count bundled Service 8
  expect_count bundled NetworkPolicy 8
  expect_count bundled Secret 3
  expect_count bundled Ingress 0
  mongo_uri="$(grep -m1 '  mongodb-uri: "' "$out/bundled.yaml" | sed 's/.*: "\(.*\)"/\1/' | base64 -d)"
  want="mongodb://wallet-mongodb-0.wallet-mongodb.wallet.svc:27017/wallet?replicaSet=rs0"
  if [ "$mongo_uri" = "$want" ]; then ok "bundled: MongoDB URI $want"; else fail "bundled: MongoDB URI '$mongo_uri', want $want"; fi
  expect_no_grep bundled '  redis-url: ' "no Redis URL with the password in the stores Secret"
  # The password reaches the services through REDIS_PASSWORD, defined before the URL (manifestcheck checks the order).
  expect_env bundled wallet-auth WALLET_CACHE_REDIS_URL 'redis://default:$(REDIS_PASSWORD)@wallet-redis.wallet.svc:6379'
  redis_password="$(secret_value bundled wallet-redis redis-password)"
  if [[ "$redis_password" =~ ^[A-Za-z0-9]{32}$ ]]; then ok "bundled: generated Redis password, 32 alphanumerics"; else fail "bundled: Redis password '$redis_password'"; fi
  expect_grep bundled 'value: "192mb"' "Redis maxmemory"
  expect_grep bundled 'value: "volatile-lru"' "Redis maxmemory-policy"
  expect_grep bundled 'requirepass "\$REDIS_PASSWORD"' "Redis requirepass from the Secret, on standard input"
  expect_no_grep bundled 'requirepass "\$REDIS_PASSWORD" --|--requirepass' "Redis password not in the process arguments"
  expect_grep bundled 'name: REDISCLI_AUTH' "Redis readiness probe authenticates"
  expect_grep bundled "host: 'wallet-mongodb-0.wallet-mongodb.wallet.svc:27017'" "replica set member host"
  expect_grep bundled 'publishNotReadyAddresses: true' "headless Service publishes the member before it is ready"
  expect_no_grep bundled 'WALLET_SERVER_TRUSTED_PROXIES' "no proxy trust without ingress"
  expect_no_grep bundled 'WALLET_SERVER_PUBLIC_URL' "no public URL without ingress"
  expect_no_grep bundled 'WALLET_AUTH_RP_ID|WALLET_AUTH_ORIGINS' "no passkey settings derived without ingress"
  redis_run_check
fi

# ---------------------------------------------------------------------------
# Existing Secrets, autoscaling everywhere, some services off, config values

if render existing \
  --set externalMongodb.existingSecret=db --set externalMongodb.existingSecretKey=uri \
  --set externalRedis.existingSecret=cache \
  --set secrets.existingSecret=wallet-keys \
  --set services.auth.autoscaling.enabled=true --set services.storage.autoscaling.enabled=true \
  --set services.engine.autoscaling.enabled=true --set services.engine.autoscaling.targetMemoryUtilizationPercentage=80 \
  --set services.registry.autoscaling.enabled=true --set services.verifier.autoscaling.enabled=true \
  --set services.admin.enabled=false \
  --set ingress.enabled=true --set ingress.wallet.tls.enabled=false \
  --set config.WALLET_SERVER_BODY_LIMIT_BYTES=1000000 --set config.WALLET_LOGGING_LEVEL=debug \
  --set config.WALLET_SERVER_PUBLIC_URL=https://id.example.org --set configFile.logging.format=json \
  --set podAntiAffinity=hard \
  --set-json 'topologySpreadConstraints=[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"ScheduleAnyway"}]'; then
  check existing -external-secret db -external-secret cache -external-secret wallet-keys
  expect_count existing Deployment 5
  expect_count existing HorizontalPodAutoscaler 5
  expect_count existing Secret 0
  expect_count existing ConfigMap 2
  expect_count existing Pod 5
  expect_no_grep existing '^  replicas: ' "no replicas field while autoscaled"
  expect_no_grep existing 'name: wallet-admin$' "admin disabled"
  expect_grep existing 'name: memory' "engine HPA on memory too"
  expect_grep existing 'WALLET_SERVER_BODY_LIMIT_BYTES: "1000000"' "whole numbers without exponent"
  expect_grep existing 'WALLET_LOGGING_LEVEL: "debug"' "config overrides logLevel"
  expect_no_grep existing 'WALLET_LOGGING_LEVEL: "info"' "no duplicate key for an overridden setting"
  expect_no_grep existing 'name: WALLET_SERVER_PUBLIC_URL' "public URL from config is not overridden per pod"
  for s in auth storage engine registry verifier; do
    expect_line existing "file Deployment/wallet-$s WALLET_CONFIG=/etc/wallet/config/config.yaml <- ConfigMap/wallet-files[config]"
  done
  expect_grep existing '^  config: \|$' "inline config file in the files ConfigMap"
  # The auth service's public URL is the explicit one: passkeys follow it.
  expect_env existing wallet-auth WALLET_AUTH_RP_ID id.example.org
  expect_env existing wallet-auth WALLET_AUTH_ORIGINS https://id.example.org
  expect_grep existing 'key: uri$' "existingSecretKey used"
  expect_grep existing 'requiredDuringSchedulingIgnoredDuringExecution' "hard anti-affinity"
  expect_grep existing 'topologyKey: topology.kubernetes.io/zone' "topology spread"
fi

if render no-storage "${ext[@]}" --set ingress.enabled=true --set services.storage.enabled=false --set services.verifier.enabled=false; then
  check no-storage
  expect_count no-storage Deployment 4
  expect_count no-storage Ingress 1
  if grep -q '^route wallet.example.com/storage ' "$out/no-storage.check"; then fail "no-storage: /storage still routed"; else ok "no-storage: /storage not routed"; fi
fi

# ---------------------------------------------------------------------------
# Mounted files: the verifier's certificate and key from a TLS Secret, trusted
# roots from a ConfigMap and inline, the services file inline (YAML object),
# the config file from a Secret, an extra volume.

cat >"$out/files-values.yaml" <<'EOF'
config:
  WALLET_VERIFIER_CLIENT_ID_PREFIX: x509_san_dns
files:
  verifierCertificate: {existingSecret: verifier-tls}
  verifierPrivateKey: {existingSecret: verifier-tls}
  verifierTrustedRoots: {existingConfigMap: pid-roots, key: roots.pem}
  verifierServices:
    content:
      services:
        - id: shop
          scopes: {age: {dcql: {credentials: [{id: pid, format: dc+sd-jwt}]}}}
  engineTrustedRoots:
    content: |
      -----BEGIN CERTIFICATE-----
      MIIBszCCAVmgAwIBAgIUexample
      -----END CERTIFICATE-----
  config: {existingSecret: wallet-config, key: wallet.yaml}
extraVolumes:
  - name: extra-ca
    configMap: {name: corporate-ca}
extraVolumeMounts:
  - name: extra-ca
    mountPath: /etc/ssl/corporate
    readOnly: true
services:
  verifier:
    extraVolumes:
      - name: scratch
        emptyDir: {}
    extraVolumeMounts:
      - name: scratch
        mountPath: /scratch
EOF
if render files "${ext[@]}" -f "$out/files-values.yaml"; then
  check files -external-secret verifier-tls -external-secret wallet-config -external-configmap pid-roots -external-configmap corporate-ca
  expect_line files "file Deployment/wallet-verifier WALLET_VERIFIER_X509_CERTIFICATE_FILE=/etc/wallet/verifier-certificate/certificate.pem <- Secret/verifier-tls[tls.crt]"
  expect_line files "file Deployment/wallet-verifier WALLET_VERIFIER_X509_PRIVATE_KEY_FILE=/etc/wallet/verifier-private-key/private-key.pem <- Secret/verifier-tls[tls.key]"
  expect_line files "file Deployment/wallet-verifier WALLET_VERIFIER_TRUSTED_ROOTS_FILE=/etc/wallet/verifier-trusted-roots/roots.pem <- ConfigMap/pid-roots[roots.pem]"
  expect_line files "file Deployment/wallet-verifier WALLET_VERIFIER_SERVICES_FILE=/etc/wallet/verifier-services/services.yaml <- ConfigMap/wallet-files[verifierServices]"
  expect_line files "file Deployment/wallet-engine WALLET_ENGINE_TRUSTED_ROOTS_FILE=/etc/wallet/engine-trusted-roots/roots.pem <- ConfigMap/wallet-files[engineTrustedRoots]"
  for s in auth storage engine registry admin verifier; do
    expect_line files "file Deployment/wallet-$s WALLET_CONFIG=/etc/wallet/config/config.yaml <- Secret/wallet-config[wallet.yaml]"
  done
  if [ "$(grep -c '^file ' "$out/files.check")" = 11 ]; then ok "files: 11 mounted files"; else fail "files: $(grep -c '^file ' "$out/files.check") mounted files, want 11"; fi
  expect_env files wallet-auth WALLET_VERIFIER_X509_CERTIFICATE_FILE ""
  expect_env files wallet-verifier WALLET_ENGINE_TRUSTED_ROOTS_FILE ""
  expect_grep files 'defaultMode: 288' "Secret files mode 0440 (readable by the service's group only)"
  expect_grep files '    -----BEGIN CERTIFICATE-----' "inline PEM in the files ConfigMap"
  expect_grep files '    services:' "inline services file (a YAML object) in the files ConfigMap"
  expect_grep files 'mountPath: /etc/ssl/corporate' "extraVolumeMounts on every service"
  if [ "$(grep -c 'mountPath: /scratch' "$out/files.yaml")" = 1 ]; then ok "files: services.verifier.extraVolumeMounts on the verifier only"; else fail "files: /scratch mounted $(grep -c 'mountPath: /scratch' "$out/files.yaml") times"; fi
  # Inline content is part of the config checksum: changing it rolls the pods.
  render files-changed "${ext[@]}" -f "$out/files-values.yaml" --set files.engineTrustedRoots.content=other >/dev/null
  a="$(grep -m1 'checksum/config:' "$out/files.yaml")"; b="$(grep -m1 'checksum/config:' "$out/files-changed.yaml")"
  if [ -n "$a" ] && [ "$a" != "$b" ]; then ok "files: inline content changes the config checksum"; else fail "files: config checksum unchanged by inline content"; fi
fi

# ---------------------------------------------------------------------------
# Passkeys and proxy trust: explicit values, and derivation from publicUrl

if render passkeys "${ext[@]}" --set ingress.enabled=true --set passkeys.rpId=example.com \
  --set 'passkeys.origins={https://wallet.example.com,https://app.example.com}' \
  --set 'trustedProxies={10.42.0.0/16,fd00:42::/64}'; then
  check passkeys
  expect_env passkeys wallet-auth WALLET_AUTH_RP_ID example.com
  expect_env passkeys wallet-auth WALLET_AUTH_ORIGINS https://wallet.example.com,https://app.example.com
  expect_grep passkeys 'WALLET_SERVER_TRUSTED_PROXIES: "10.42.0.0/16,fd00:42::/64"' "trustedProxies as given"
fi
if render passkeys-url "${ext[@]}" --set ingress.enabled=true --set ingress.wallet.publicUrl=https://id.example.net:8443/base \
  --set-json 'trustedProxies=[]' --set config.WALLET_AUTH_RP_ID=example.net; then
  check passkeys-url
  expect_env passkeys-url wallet-auth WALLET_AUTH_RP_ID ""
  expect_grep passkeys-url 'WALLET_AUTH_RP_ID: "example.net"' "rpId from config, not derived"
  expect_env passkeys-url wallet-auth WALLET_AUTH_ORIGINS https://id.example.net:8443
  expect_no_grep passkeys-url 'WALLET_SERVER_TRUSTED_PROXIES' "trustedProxies [] trusts no proxy"
fi

# ---------------------------------------------------------------------------
# ServiceMonitor and PrometheusRule

if render monitoring "${ext[@]}" --set metrics.serviceMonitor.enabled=true --set metrics.serviceMonitor.labels.release=kps \
  --set metrics.prometheusRule.enabled=true --set metrics.prometheusRule.alertLabels.team=identity \
  --set metrics.prometheusAnnotations=false --set services.registry.enabled=false \
  --set-json 'metrics.prometheusRule.additionalRules=[{"alert":"WalletVaultSlow","expr":"histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{route=~\"/storage/.*\"}[5m]))) > 0.5","for":"15m","labels":{"severity":"warning"},"annotations":{"summary":"vault slow","description":"p90 of /storage above 0.5 s"}}]'; then
  check monitoring "${metrics[@]}"
  expect_count monitoring ServiceMonitor 1
  expect_count monitoring PrometheusRule 1
  expect_line monitoring "servicemonitor wallet selects wallet-admin,wallet-auth,wallet-engine,wallet-storage,wallet-verifier"
  expect_line monitoring "alert WalletHighErrorRate uses http_request_duration_seconds_count"
  expect_line monitoring "alert WalletHighLatency uses http_request_duration_seconds_bucket"
  expect_line monitoring "alert WalletEventLoopStalled uses nodejs_eventloop_lag_max_seconds"
  expect_line monitoring "alert WalletMetricsTargetDown uses up"
  expect_line monitoring "alert WalletReplicasNotReady uses kube_deployment_status_replicas_unavailable"
  expect_line monitoring "alert WalletServiceDown uses kube_deployment_spec_replicas,kube_deployment_status_replicas_available"
  expect_line monitoring "alert WalletContainerRestarting uses kube_pod_container_status_restarts_total"
  expect_line monitoring "alert WalletVaultSlow uses http_request_duration_seconds_bucket"
  expect_grep monitoring 'job=~"wallet-admin\|wallet-auth\|wallet-engine\|wallet-storage\|wallet-verifier"' "alerts select the enabled services' jobs"
  expect_grep monitoring 'route!~".\*/events"' "latency leaves out the verifier's event stream"
  expect_grep monitoring '^    release: kps$' "ServiceMonitor labels"
  expect_grep monitoring '^            team: identity$' "alert labels"
  expect_no_grep monitoring 'prometheus.io/scrape' "no scrape annotations"
fi
if render monitoring-no-ksm "${ext[@]}" --set metrics.prometheusRule.enabled=true --set metrics.prometheusRule.kubeStateMetrics=false \
  --set metrics.prometheusRule.alerts.latency.enabled=false; then
  check monitoring-no-ksm "${metrics[@]}"
  if [ "$(grep -c '^alert ' "$out/monitoring-no-ksm.check")" = 3 ]; then ok "monitoring-no-ksm: 3 alerts"; else fail "monitoring-no-ksm: $(grep -c '^alert ' "$out/monitoring-no-ksm.check") alerts, want 3"; fi
  expect_no_grep monitoring-no-ksm 'kube_' "no kube-state-metrics series"
fi
# The allow-list is enforced: an alert on a metric no service exposes fails the check.
if render monitoring-bad "${ext[@]}" --set metrics.prometheusRule.enabled=true \
  --set-json 'metrics.prometheusRule.additionalRules=[{"alert":"X","expr":"wallet_ready == 0","labels":{"severity":"info"},"annotations":{"summary":"x","description":"x"}}]' >/dev/null; then
  "$checker" "${metrics[@]}" <"$out/monitoring-bad.yaml" >"$out/monitoring-bad.check" || true
  if grep -q 'metric "wallet_ready" is not one' "$out/monitoring-bad.check"; then
    ok "monitoring-bad: an alert on an unknown metric is caught"
  else
    fail "monitoring-bad: an alert on an unknown metric is not caught"
  fi
fi

# ---------------------------------------------------------------------------
# NetworkPolicies and helm tests off

if render no-netpol "${ext[@]}" --set networkPolicy.enabled=false --set tests.enabled=false; then
  check no-netpol -reach 'ns:default:app=anything -> wallet-admin:3005'
  expect_count no-netpol NetworkPolicy 0
  expect_count no-netpol Pod 0
fi
if render netpol-custom "${ext[@]}" --set ingress.enabled=true \
  --set-json 'networkPolicy.ingressControllerFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"traefik"}},"podSelector":{"matchLabels":{"app":"traefik"}}}]' \
  --set-json 'networkPolicy.egress.mongodb.to=[{"ipBlock":{"cidr":"10.20.0.0/16"}}]' \
  --set networkPolicy.admin.allowMetrics=true \
  --set-json 'networkPolicy.extraEgress=[{"to":[{"ipBlock":{"cidr":"10.99.0.0/16"}}],"ports":[{"port":8181,"protocol":"TCP"}]}]'; then
  check netpol-custom \
    -reach 'ns:traefik:app=traefik -> wallet-auth:3001' -no-reach 'ns:traefik:app=other -> wallet-auth:3001' \
    -no-reach 'ns:ingress-nginx:app=x -> wallet-auth:3001' -reach 'ns:monitoring:app=prometheus -> wallet-admin:3005' \
    -reach 'wallet-auth -> ip:10.20.1.1:27017' -no-reach 'wallet-auth -> ip:10.21.1.1:27017' \
    -reach 'wallet-registry -> ip:10.99.0.5:8181'
fi

# ---------------------------------------------------------------------------
# Generated secrets: kept on upgrade (lookup), new on every `helm template`,
# refused when generation is off (GitOps), bring-your-own Secrets.

if render gitops-a --set mongodb.bundled.enabled=true --set redis.bundled.enabled=true >/dev/null &&
  render gitops-b --set mongodb.bundled.enabled=true --set redis.bundled.enabled=true >/dev/null; then
  if [ "$(secret_value gitops-a wallet WALLET_CRYPTO_KEY_ENCRYPTION_KEY)" != "$(secret_value gitops-b wallet WALLET_CRYPTO_KEY_ENCRYPTION_KEY)" ]; then
    ok "helm template: each render generates a new key-encryption key (hence existingSecret for GitOps)"
  else
    fail "helm template: two renders generated the same key-encryption key"
  fi
fi
# An upgrade against a cluster holding the Secrets the install generated.
kept_kek=$(printf 'A%.0s' $(seq 42); printf 'E')
kept_admin=kept-admin-token-0123456789abcdefghijklmnopqrstuv
kept_redis=keptRedisPassword0123456789abcde
cat >"$out/cluster.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: wallet, namespace: wallet}
data:
  WALLET_SERVER_ADMIN_TOKEN: $(printf %s "$kept_admin" | base64 -w0)
  WALLET_CRYPTO_KEY_ENCRYPTION_KEY: $(printf %s "$kept_kek" | base64 -w0)
---
apiVersion: v1
kind: Secret
metadata: {name: wallet-redis, namespace: wallet}
data:
  redis-password: $(printf %s "$kept_redis" | base64 -w0)
EOF
if "$clusterrender" -chart "$chart" -cluster "$out/cluster.yaml" --set mongodb.bundled.enabled=true --set redis.bundled.enabled=true \
  >"$out/upgrade.yaml" 2>"$out/upgrade.err"; then
  ok "upgrade: rendered against a cluster holding the Secrets"
  check upgrade
  [ "$(secret_value upgrade wallet WALLET_CRYPTO_KEY_ENCRYPTION_KEY)" = "$kept_kek" ] && ok "upgrade: key-encryption key kept" || fail "upgrade: key-encryption key not kept"
  [ "$(secret_value upgrade wallet WALLET_SERVER_ADMIN_TOKEN)" = "$kept_admin" ] && ok "upgrade: admin token kept" || fail "upgrade: admin token not kept"
  [ "$(secret_value upgrade wallet-redis redis-password)" = "$kept_redis" ] && ok "upgrade: Redis password kept" || fail "upgrade: Redis password not kept"
  a="$(grep -m1 'checksum/secret-values:' "$out/upgrade.yaml")"; b="$(grep -m1 'checksum/secret-values:' "$out/gitops-a.yaml")"
  if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "upgrade: pods not rolled by the kept secrets"; else fail "upgrade: secret checksum differs from install"; fi
else
  fail "upgrade: clusterrender failed"; sed 's/^/     /' "$out/upgrade.err"
fi
printf '' >"$out/empty-cluster.yaml"
if "$clusterrender" -chart "$chart" -cluster "$out/empty-cluster.yaml" --set mongodb.bundled.enabled=true --set redis.bundled.enabled=true \
  >"$out/fresh.yaml" 2>"$out/fresh.err" && [ "$(secret_value fresh wallet WALLET_CRYPTO_KEY_ENCRYPTION_KEY)" != "$kept_kek" ] &&
  [[ "$(secret_value fresh wallet-redis redis-password)" =~ ^[A-Za-z0-9]{32}$ ]]; then
  ok "install into an empty cluster: secrets generated"
else
  fail "install into an empty cluster"; sed 's/^/     /' "$out/fresh.err"
fi
if render gitops-byo "${ext[@]}" --set secrets.generate=false --set secrets.existingSecret=wallet-keys \
  --set externalRedis.url= --set redis.bundled.enabled=true --set redis.bundled.auth.existingSecret=redis-auth --set redis.bundled.auth.existingSecretKey=password; then
  check gitops-byo -external-secret wallet-keys -external-secret redis-auth
  expect_count gitops-byo Secret 1
  expect_no_grep gitops-byo 'WALLET_CRYPTO_KEY_ENCRYPTION_KEY: "|redis-password: "' "nothing generated"
  expect_grep gitops-byo 'name: redis-auth' "Redis password from your Secret"
fi

# ---------------------------------------------------------------------------
# Values that must be refused

refuse no-redis "no Redis configured" --set mongodb.bundled.enabled=true
refuse two-mongodb "set only one of externalMongodb.uri" "${ext[@]}" --set mongodb.bundled.enabled=true
refuse admin-lb "admin API is never exposed" "${ext[@]}" --set services.admin.service.type=LoadBalancer
refuse admin-route "paths[/.]0[/.]service" "${ext[@]}" --set ingress.enabled=true \
  --set-json 'ingress.wallet.paths=[{"path":"/admin","service":"admin"}]'
refuse store-type "WALLET_STORAGE_TYPE is managed by the chart" "${ext[@]}" --set config.WALLET_STORAGE_TYPE=sqlite
refuse cache-type "WALLET_CACHE_TYPE is managed by the chart" "${ext[@]}" --set services.auth.env.WALLET_CACHE_TYPE=memory
refuse bad-kek "keyEncryptionKey" "${ext[@]}" --set secrets.keyEncryptionKey=too-short
# 43 characters, but the last one has stray low bits: not canonical base64url of 32 bytes.
refuse kek-not-canonical "keyEncryptionKey" "${ext[@]}" --set secrets.keyEncryptionKey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB
refuse short-admin-token "adminToken" "${ext[@]}" --set secrets.adminToken=short
refuse bad-uri "externalMongodb[/.]uri" --set externalMongodb.uri=http://db --set externalRedis.url=redis://r
refuse unknown-service "[Aa]dditional propert.*billing" "${ext[@]}" --set services.billing.enabled=true
refuse unknown-value "[Aa]dditional propert.*replicaCount" "${ext[@]}" --set replicaCount=3
refuse old-trust-proxy "[Aa]dditional propert.*trustProxy" "${ext[@]}" --set trustProxy=true
refuse bad-proxy-range "trustedProxies" "${ext[@]}" --set 'trustedProxies={10.0.0.0/8,proxy.example.com}'
refuse two-file-sources "files.verifierTrustedRoots: set only one" "${ext[@]}" --set files.verifierTrustedRoots.existingSecret=a --set files.verifierTrustedRoots.existingConfigMap=b
refuse cert-without-key "files.verifierCertificate needs files.verifierPrivateKey" "${ext[@]}" --set files.verifierCertificate.existingSecret=tls
refuse key-without-cert "files.verifierPrivateKey needs files.verifierCertificate" "${ext[@]}" --set files.verifierPrivateKey.existingSecret=tls
refuse inline-private-key "[Aa]dditional propert.*content" "${ext[@]}" --set files.verifierPrivateKey.content=secret
refuse file-also-in-config "WALLET_VERIFIER_SERVICES_FILE is set by files.verifierServices" "${ext[@]}" --set files.verifierServices.existingConfigMap=svc --set config.WALLET_VERIFIER_SERVICES_FILE=/x.yaml
refuse two-config-files "either configFile .inline. or files.config" "${ext[@]}" --set configFile.logging.level=debug --set files.config.existingConfigMap=cfg
refuse passkeys-twice "WALLET_AUTH_RP_ID is set both" "${ext[@]}" --set passkeys.rpId=example.com --set services.auth.env.WALLET_AUTH_RP_ID=example.org
refuse bad-origin "passkeys" "${ext[@]}" --set 'passkeys.origins={https://wallet.example.com/path}'
refuse gitops-no-secret "secrets.generate is false: set secrets.existingSecret" "${ext[@]}" --set secrets.generate=false
refuse gitops-no-redis-password "secrets.generate is false: set redis.bundled.auth" --set mongodb.bundled.enabled=true --set redis.bundled.enabled=true --set secrets.generate=false --set secrets.existingSecret=k
refuse redis-password-url "redis.bundled.auth.password" --set mongodb.bundled.enabled=true --set redis.bundled.enabled=true --set redis.bundled.auth.password='a@b'
refuse redis-maxmemory "maxmemory" --set mongodb.bundled.enabled=true --set redis.bundled.enabled=true --set redis.bundled.maxmemory=lots
refuse bad-ipblock "cidrs" "${ext[@]}" --set 'networkPolicy.egress.external.cidrs={0.0.0.0/0,everywhere}'
refuse bad-alert-duration "for" "${ext[@]}" --set metrics.prometheusRule.enabled=true --set metrics.prometheusRule.alerts.latency.for=ten

# ---------------------------------------------------------------------------
# NOTES.txt (helm template does not render it: render a copy as a template)

notes_chart="$out/notes-chart"
cp -R "$chart" "$notes_chart"
mv "$notes_chart/templates/NOTES.txt" "$notes_chart/notes.txt"
printf '%s\n' '# {{ tpl (.Files.Get "notes.txt") . | replace "\n" "\n# " }}' 'apiVersion: v1' 'kind: ConfigMap' 'metadata: {name: notes}' \
  >"$notes_chart/templates/zz-notes.yaml"
if "$helm_bin" template wallet "$notes_chart" --namespace wallet --kube-version "$KUBE_VERSION" "${ext[@]}" \
  --set ingress.enabled=true --show-only templates/zz-notes.yaml >"$out/notes.txt" 2>&1 &&
  grep -q 'port-forward svc/wallet-admin 3005' "$out/notes.txt" && grep -q 'https://wallet.example.com' "$out/notes.txt" &&
  grep -q 'helm test wallet -n wallet' "$out/notes.txt" && grep -q 'NetworkPolicies are on' "$out/notes.txt"; then
  ok "NOTES.txt renders (admin port-forward, ingress hosts, helm test, NetworkPolicies)"
else
  fail "NOTES.txt"; sed 's/^/     /' "$out/notes.txt"
fi

# ---------------------------------------------------------------------------
# Packaging

if "$helm_bin" package "$chart" --destination "$out/pkg" >"$out/package.txt" 2>&1; then
  ok "helm package ($(basename "$(ls "$out"/pkg/*.tgz)"))"
else
  fail "helm package"; sed 's/^/     /' "$out/package.txt"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
