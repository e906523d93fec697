// Health watcher thread (see health-watcher.ts): polls GET /health/live on
// every port of the process under test, one keep-alive connection per port,
// and writes each probe's start and end (absolute milliseconds, the clock
// both threads share) into shared memory. It runs on its own thread so that
// the fuzzer's own work (generating values, parsing answers) does not delay
// the probes and show up as the server's latency.
'use strict';
const { workerData } = require('node:worker_threads');
const http = require('node:http');

const { urls, intervalMs, capacity, shared } = workerData;
const control = new Int32Array(shared.control); // [stop, count port 0, count port 1, ...]
const samples = new Float64Array(shared.samples); // per port: capacity x (start, end), then inflightStart
const stride = capacity * 2 + 1;
const now = () => performance.timeOrigin + performance.now();

function probe(agent, url) {
  return new Promise((resolve) => {
    const request = http.get(`${url}/health/live`, { agent, timeout: 120_000 }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode));
      response.once('error', () => resolve(0));
    });
    request.once('error', () => resolve(0));
    request.once('timeout', () => request.destroy());
  });
}

async function watch(index, url) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const base = index * stride;
  while (Atomics.load(control, 0) === 0) {
    const started = now();
    samples[base + capacity * 2] = started;
    const status = await probe(agent, url);
    const ended = now();
    samples[base + capacity * 2] = 0;
    const count = Atomics.load(control, 1 + index);
    const slot = count % capacity;
    // A failed probe (connection refused: the process is gone) is recorded with a negative end.
    samples[base + slot * 2] = started;
    samples[base + slot * 2 + 1] = status === 200 ? ended : -ended;
    Atomics.store(control, 1 + index, count + 1);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  agent.destroy();
}

Promise.all(urls.map((url, index) => watch(index, url))).then(() => process.exit(0));
