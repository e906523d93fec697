#!/usr/bin/env bash
# Checks docker/ without a Docker engine:
#   - the build context after .dockerignore has what the build needs and none
#     of node_modules, dist, .git, .env;
#   - docker/Dockerfile passes the lint rules of `docker build --check` for
#     every APP, and the final image config (user, command, ports, env,
#     healthcheck) is what it should be, as computed by BuildKit's Dockerfile
#     frontend (docker/check/main.go; no registry is contacted);
#   - docker/compose.yaml loads and validates (compose-go, what `docker compose
#     config` uses), refuses to start without the two secrets, and wires the
#     six services to MongoDB and Redis;
#   - docker/healthcheck.cjs exits 0 on 200 and 1 otherwise.
# It does not build or run an image.
#
# Needs go (builds the checker from the Go module proxy, cached) and node.
# Usage: docker/check.sh            (prints "N passed, N failed" last)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache="${WALLET_TOOLS_DIR:-$HOME/.cache/wallet}"
COMPOSE_GO_VERSION="v2.4.9"
BUILDKIT_VERSION="v0.23.2"
apps=(auth storage engine registry admin verifier all-in-one)

src="$here/check/main.go"
checker="$cache/wallet-dockercheck-$(sha256sum "$src" | cut -c1-12)"
if [ ! -x "$checker" ]; then
  command -v go >/dev/null || { echo "go is not installed: cannot build the checker" >&2; exit 1; }
  mod="$(mktemp -d)"
  cat >"$mod/go.mod" <<EOF
module wallet-dockercheck

go 1.24

require (
	github.com/compose-spec/compose-go/v2 $COMPOSE_GO_VERSION
	github.com/moby/buildkit $BUILDKIT_VERSION
)
EOF
  cp "$src" "$mod/main.go"
  mkdir -p "$cache"
  echo "building dockercheck -> $checker" >&2
  (cd "$mod" && export GOFLAGS=-mod=mod && go mod tidy >/dev/null && go build -trimpath -o "$checker.tmp" . && mv "$checker.tmp" "$checker")
  rm -rf "$mod"
fi

passed=0
failed=0
out="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$out"
}
trap cleanup EXIT
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

# ---------------------------------------------------------------------------
# Build context

"$checker" context "$root" >"$out/context.txt"
for f in package.json package-lock.json tsconfig.base.json .swcrc tools/build/bundle.mjs docker/healthcheck.cjs \
  apps/auth/src/main.ts apps/all-in-one/src/main.ts libs/platform/src/index.ts; do
  if grep -qxF "$f" "$out/context.txt"; then ok "context has $f"; else fail "context lacks $f"; fi
done
for prefix in node_modules/ dist/ .git/ .nx/ coverage/ helm/ docs/; do
  if grep -q "^$prefix" "$out/context.txt"; then fail "context has $prefix"; else ok "context has no $prefix"; fi
done
if grep -qE '(^|/)\.env$' "$out/context.txt"; then fail "context has a .env file"; else ok "context has no .env"; fi
if grep -qE '\.spec\.ts$' "$out/context.txt"; then fail "context has spec files"; else ok "context has no spec files"; fi
echo "     build context: $(wc -l <"$out/context.txt") files"

# ---------------------------------------------------------------------------
# Dockerfile

for app in "${apps[@]}"; do
  if "$checker" dockerfile "$here/Dockerfile" "APP=$app" >"$out/lint-$app.txt" 2>&1; then
    ok "Dockerfile lint (APP=$app)"
  else
    fail "Dockerfile lint (APP=$app)"; sed 's/^/     /' "$out/lint-$app.txt"
  fi
  if ! "$checker" image "$here/Dockerfile" "APP=$app" >"$out/image-$app.json" 2>"$out/image-$app.err"; then
    fail "image config (APP=$app)"; sed 's/^/     /' "$out/image-$app.err"
    continue
  fi
  if problems="$(APP="$app" node - "$out/image-$app.json" <<'EOF'
const cfg = JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'));
const app = process.env.APP;
const ports = { auth: ['3001'], storage: ['3002'], engine: ['3003'], registry: ['3004'], admin: ['3005'], verifier: ['3006'], 'all-in-one': ['8080', '8081', '8090'] }[app];
const env = Object.fromEntries((cfg.Env || []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
const problems = [];
const expect = (cond, what) => { if (!cond) problems.push(what); };
expect(cfg.User === '10001:10001', `User ${cfg.User}`);
expect(JSON.stringify(cfg.Cmd) === JSON.stringify(['node', `dist/apps/${app}/main.js`]), `Cmd ${JSON.stringify(cfg.Cmd)}`);
expect(!cfg.Entrypoint || cfg.Entrypoint.length === 0, `Entrypoint ${JSON.stringify(cfg.Entrypoint)}`);
expect(JSON.stringify(Object.keys(cfg.ExposedPorts || {}).sort()) === JSON.stringify(ports.map((p) => `${p}/tcp`)), `ExposedPorts ${Object.keys(cfg.ExposedPorts || {})}`);
expect(env.NODE_ENV === 'production', `NODE_ENV ${env.NODE_ENV}`);
expect(env.APP_NAME === app, `APP_NAME ${env.APP_NAME}`);
expect(env.WALLET_DATA_DIR === '/data', `WALLET_DATA_DIR ${env.WALLET_DATA_DIR}`);
expect(cfg.WorkingDir === '/app', `WorkingDir ${cfg.WorkingDir}`);
expect(cfg.StopSignal === 'SIGTERM', `StopSignal ${cfg.StopSignal}`);
const hc = cfg.Healthcheck || {};
expect(JSON.stringify(hc.Test) === JSON.stringify(['CMD', 'node', '/app/healthcheck.cjs']), `Healthcheck ${JSON.stringify(hc.Test)}`);
console.log(problems.join('; '));
process.exit(problems.length ? 1 : 0);
EOF
)"; then
    ok "image config (APP=$app): user 10001, node dist/apps/$app/main.js, ports, healthcheck"
  else
    fail "image config (APP=$app): $problems"
  fi
done

# ---------------------------------------------------------------------------
# compose.yaml

compose_env=(env -u WALLET_SERVER_ADMIN_TOKEN -u WALLET_CRYPTO_KEY_ENCRYPTION_KEY)
if (cd "$out" && "${compose_env[@]}" "$checker" compose "$here/compose.yaml" >/dev/null 2>"$out/compose-nosecret.err"); then
  # A docker/.env with the secrets may exist on a developer machine.
  if [ -f "$here/.env" ]; then ok "compose: secrets come from docker/.env"; else fail "compose: starts without the secrets"; fi
elif grep -qE 'required variable (WALLET_SERVER_ADMIN_TOKEN|WALLET_CRYPTO_KEY_ENCRYPTION_KEY) is missing' "$out/compose-nosecret.err"; then
  # Which of the two is reported first varies from run to run.
  ok "compose: refuses to start without the admin token and key-encryption key"
else
  fail "compose: failed for another reason"; sed 's/^/     /' "$out/compose-nosecret.err"
fi
if WALLET_SERVER_ADMIN_TOKEN=test-admin-token-0123456789abcdef0123 \
  WALLET_CRYPTO_KEY_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \
  "$checker" compose "$here/compose.yaml" >"$out/compose.yaml" 2>"$out/compose.err"; then
  ok "compose: loads and validates"
  if problems="$(node - "$out/compose.yaml" "$root" <<'EOF'
const YAML = require(require.resolve('yaml', { paths: [process.argv[3]] }));
const project = YAML.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'));
const problems = [];
const expect = (cond, what) => { if (!cond) problems.push(what); };
const apps = { auth: 3001, storage: 3002, engine: 3003, registry: 3004, admin: 3005, verifier: 3006 };
const names = Object.keys(project.services).sort();
expect(JSON.stringify(names) === JSON.stringify([...Object.keys(apps), 'mongo', 'redis'].sort()), `services ${names}`);
for (const [app, port] of Object.entries(apps)) {
  const s = project.services[app] || {};
  const env = s.environment || {};
  expect(s.build && s.build.args && s.build.args.APP === app, `${app}: build arg APP`);
  expect(s.build && /docker\/Dockerfile$/.test(s.build.dockerfile), `${app}: dockerfile ${s.build && s.build.dockerfile}`);
  expect(env.WALLET_STORAGE_TYPE === 'mongodb' && /replicaSet=rs0/.test(env.WALLET_STORAGE_MONGODB_URI || ''), `${app}: mongodb store`);
  expect(env.WALLET_CACHE_TYPE === 'redis' && /^redis:\/\/redis:6379/.test(env.WALLET_CACHE_REDIS_URL || ''), `${app}: redis cache`);
  expect(env[`WALLET_SERVICES_${app.toUpperCase()}_PORT`] === String(port), `${app}: port env`);
  expect(env.WALLET_MODE === 'production', `${app}: mode ${env.WALLET_MODE}`);
  const p = (s.ports || [])[0] || {};
  expect(p.target === port && String(p.published) === String(port), `${app}: port ${JSON.stringify(p)}`);
  expect(app !== 'admin' || p.host_ip === '127.0.0.1', 'admin: published on 127.0.0.1 only');
  for (const dep of ['mongo', 'redis']) {
    expect(s.depends_on && s.depends_on[dep] && s.depends_on[dep].condition === 'service_healthy', `${app}: depends_on ${dep} healthy`);
  }
  expect(s.read_only === true, `${app}: read_only`);
}
for (const dep of ['mongo', 'redis']) {
  expect(project.services[dep] && project.services[dep].healthcheck, `${dep}: healthcheck`);
}
expect((project.services.mongo.command || []).join(' ').includes('--replSet rs0'), 'mongo: --replSet rs0');
console.log(problems.join('; '));
process.exit(problems.length ? 1 : 0);
EOF
)"; then
    ok "compose: six services on MongoDB (rs0) and Redis, ports, depends_on healthy, admin on loopback"
  else
    fail "compose: $problems"
  fi
else
  fail "compose: does not load"; sed 's/^/     /' "$out/compose.err"
fi

# ---------------------------------------------------------------------------
# healthcheck.cjs against a local server (loopback only)

node -e '
const http = require("node:http");
const s = http.createServer((req, res) => { res.statusCode = req.url === "/health/live" ? 200 : 503; res.end(); });
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); });
setTimeout(() => process.exit(0), 60000);
' >"$out/port" &
server_pid=$!
for _ in $(seq 50); do [ -s "$out/port" ] && break; sleep 0.1; done
port="$(cat "$out/port")"
hc() { env -i PATH="$PATH" "$@" node "$here/healthcheck.cjs" >/dev/null 2>&1; }
if hc APP_NAME=auth WALLET_SERVICES_AUTH_PORT="$port"; then ok "healthcheck: 200 -> healthy"; else fail "healthcheck: 200 not healthy"; fi
if hc HEALTHCHECK_URLS="http://127.0.0.1:$port/health/ready"; then fail "healthcheck: 503 healthy"; else ok "healthcheck: 503 -> unhealthy"; fi
if hc APP_NAME=all-in-one WALLET_ALL_IN_ONE_WALLET_PORT="$port" WALLET_ALL_IN_ONE_ADMIN_PORT="$port" WALLET_ALL_IN_ONE_VERIFIER_PORT="$port"; then
  ok "healthcheck: all-in-one, all three ports up -> healthy"
else
  fail "healthcheck: all-in-one with three ports up"
fi
if hc APP_NAME=all-in-one WALLET_ALL_IN_ONE_WALLET_PORT="$port" WALLET_ALL_IN_ONE_ADMIN_PORT="$port" WALLET_ALL_IN_ONE_VERIFIER_PORT=1; then
  fail "healthcheck: all-in-one with one port down is healthy"
else
  ok "healthcheck: all-in-one, one port down -> unhealthy"
fi
if hc APP_NAME=unknown; then fail "healthcheck: unknown app healthy"; else ok "healthcheck: unknown app -> unhealthy"; fi
kill "$server_pid" 2>/dev/null || true
server_pid=""

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
