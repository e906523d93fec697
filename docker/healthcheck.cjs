'use strict';
// Container HEALTHCHECK (docker/Dockerfile): GET /health/live on every port the
// app serves and exit 0 only when each answers 200. The slim image has no curl
// or wget, so node makes the request.
//
// Ports: the app's port settings when set in the environment
// (WALLET_SERVICES_<APP>_PORT; for the all-in-one WALLET_ALL_IN_ONE_WALLET_PORT,
// _ADMIN_PORT and _VERIFIER_PORT), else the defaults below. HEALTHCHECK_URLS
// (comma or space separated) overrides both. Ports set only in a WALLET_CONFIG
// file or by flags are not seen: set HEALTHCHECK_URLS then.
const http = require('node:http');

// [env var, default port] for each port an app serves.
const PORTS = {
  auth: [['WALLET_SERVICES_AUTH_PORT', 3001]],
  storage: [['WALLET_SERVICES_STORAGE_PORT', 3002]],
  engine: [['WALLET_SERVICES_ENGINE_PORT', 3003]],
  registry: [['WALLET_SERVICES_REGISTRY_PORT', 3004]],
  admin: [['WALLET_SERVICES_ADMIN_PORT', 3005]],
  verifier: [['WALLET_SERVICES_VERIFIER_PORT', 3006]],
  'all-in-one': [
    ['WALLET_ALL_IN_ONE_WALLET_PORT', 8080],
    ['WALLET_ALL_IN_ONE_ADMIN_PORT', 8081],
    ['WALLET_ALL_IN_ONE_VERIFIER_PORT', 8090],
  ],
};
const TIMEOUT_MS = 4000;

function targets() {
  const explicit = (process.env.HEALTHCHECK_URLS || '').split(/[\s,]+/).filter(Boolean);
  if (explicit.length > 0) return explicit;
  const ports = Object.hasOwn(PORTS, process.env.APP_NAME || '') ? PORTS[process.env.APP_NAME] : [];
  return ports.map(([name, port]) => `http://127.0.0.1:${process.env[name] || port}/health/live`);
}

function check(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? null : `${url}: HTTP ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${TIMEOUT_MS} ms`)));
    req.on('error', (error) => resolve(`${url}: ${error.message}`));
  });
}

async function main() {
  const urls = targets();
  if (urls.length === 0) {
    console.error(`healthcheck: unknown app "${process.env.APP_NAME || ''}" and no HEALTHCHECK_URLS`);
    return 1;
  }
  const failures = (await Promise.all(urls.map(check))).filter(Boolean);
  for (const failure of failures) console.error(`healthcheck: ${failure}`);
  return failures.length === 0 ? 0 : 1;
}

main().then((code) => process.exit(code));
