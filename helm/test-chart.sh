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

# ---------------------------------------------------------------------------
# Lint

if "$helm_bin" lint "$chart" >"$out/lint.txt" 2>&1; then ok "helm lint (default values)"; else fail "helm lint (default values)"; sed 's/^/     /' "$out/lint.txt"; fi
if "$helm_bin" lint "$chart" --strict "${ext[@]}" --set ingress.enabled=true >"$out/lint-strict.txt" 2>&1; then
  ok "helm lint --strict (external stores, ingress)"
else
  fail "helm lint --strict (external stores, ingress)"; sed 's/^/     /' "$out/lint-strict.txt"
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
  check external
  expect_count external Deployment 6
  expect_count external Service 6
  expect_count external PodDisruptionBudget 6
  expect_count external HorizontalPodAutoscaler 0
  expect_count external StatefulSet 0
  expect_count external Ingress 2
  expect_count external Secret 2
  expect_count external ConfigMap 1
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
  expect_grep external 'WALLET_SERVER_TRUST_PROXY: "true"' "trust proxy headers behind the ingress"
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

if render bundled --set mongodb.bundled.enabled=true --set redis.bundled.enabled=true; then
  check bundled
  expect_count bundled Deployment 6
  expect_count bundled StatefulSet 2
  expect_count bundled Service 8
  expect_count bundled Ingress 0
  mongo_uri="$(grep -m1 '  mongodb-uri: "' "$out/bundled.yaml" | sed 's/.*: "\(.*\)"/\1/' | base64 -d)"
  want="mongodb://wallet-mongodb-0.wallet-mongodb.wallet.svc:27017/wallet?replicaSet=rs0"
  if [ "$mongo_uri" = "$want" ]; then ok "bundled: MongoDB URI $want"; else fail "bundled: MongoDB URI '$mongo_uri', want $want"; fi
  redis_url="$(grep -m1 '  redis-url: "' "$out/bundled.yaml" | sed 's/.*: "\(.*\)"/\1/' | base64 -d)"
  if [ "$redis_url" = "redis://wallet-redis.wallet.svc:6379" ]; then ok "bundled: Redis URL $redis_url"; else fail "bundled: Redis URL '$redis_url'"; fi
  expect_grep bundled "host: 'wallet-mongodb-0.wallet-mongodb.wallet.svc:27017'" "replica set member host"
  expect_grep bundled 'publishNotReadyAddresses: true' "headless Service publishes the member before it is ready"
  expect_grep bundled 'WALLET_SERVER_TRUST_PROXY: "false"' "no proxy trust without ingress"
  expect_no_grep bundled 'WALLET_SERVER_PUBLIC_URL' "no public URL without ingress"
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
  expect_no_grep existing '^  replicas: ' "no replicas field while autoscaled"
  expect_no_grep existing 'name: wallet-admin$' "admin disabled"
  expect_grep existing 'name: memory' "engine HPA on memory too"
  expect_grep existing 'WALLET_SERVER_BODY_LIMIT_BYTES: "1000000"' "whole numbers without exponent"
  expect_grep existing 'WALLET_LOGGING_LEVEL: "debug"' "config overrides logLevel"
  expect_no_grep existing 'WALLET_LOGGING_LEVEL: "info"' "no duplicate key for an overridden setting"
  expect_no_grep existing 'name: WALLET_SERVER_PUBLIC_URL' "public URL from config is not overridden per pod"
  expect_grep existing 'WALLET_CONFIG: "/etc/wallet/config.yaml"' "config file passed as WALLET_CONFIG"
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

# ---------------------------------------------------------------------------
# NOTES.txt (helm template does not render it: render a copy as a template)

notes_chart="$out/notes-chart"
cp -R "$chart" "$notes_chart"
mv "$notes_chart/templates/NOTES.txt" "$notes_chart/notes.txt"
printf '%s\n' '# {{ tpl (.Files.Get "notes.txt") . | replace "\n" "\n# " }}' 'apiVersion: v1' 'kind: ConfigMap' 'metadata: {name: notes}' \
  >"$notes_chart/templates/zz-notes.yaml"
if "$helm_bin" template wallet "$notes_chart" --namespace wallet --kube-version "$KUBE_VERSION" "${ext[@]}" \
  --set ingress.enabled=true --show-only templates/zz-notes.yaml >"$out/notes.txt" 2>&1 &&
  grep -q 'port-forward svc/wallet-admin 3005' "$out/notes.txt" && grep -q 'https://wallet.example.com' "$out/notes.txt"; then
  ok "NOTES.txt renders (admin port-forward, ingress hosts)"
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
