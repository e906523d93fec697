#!/usr/bin/env node
// Where an engine process's CPU went, from `perf` recordings that
// `bench/engine.bench.ts --perf <dir>` took over its timed windows:
//
//   node tools/scripts/perf-breakdown.mjs [--by handshake|area] <bundle main.js> <x.perf.data>...
//
// <bundle main.js> is the all-in-one bundle the recorded process ran (its
// `// libs/...` comments map a line to the source file; copy it aside when
// the run starts if dist/ may be rebuilt meanwhile). perf must be able to
// read /tmp/perf-<pid>.map (the engine ran with --perf-basic-prof-only-functions).
//
// --by handshake (default): the main thread's samples in the categories of
// docs/benchmarks.md "Where the handshake CPU goes". A sample goes to the
// first category (in the order below) that a frame of its innermost stack
// segment matches; a segment ends at a microtask or callback boundary, since
// a promise continuation runs inside whatever callback resolved it. Then the
// other threads (libuv pool, V8 platform, workers) by what they ran.
// --by area: the main thread's samples by the innermost code that owns them
// (library or npm package; GC, crypto and JSON first), for the flow phases.
//
// Caveats: perf samples CPU time (cpu-clock), kernel included; in a VM many
// kernel samples land on pvm_irq_enable, and they are counted by their stack.
// JIT code can move, so a perf map may name a stale function for an address:
// node:_http_outgoing appeared under socket writes, and is left out of "HTTP
// parsing" (the upgrade path never uses it).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const by = args[0] === '--by' ? args.splice(0, 2)[1] : 'handshake';
const [bundle, ...files] = args;
if (!bundle || !files.length || !['handshake', 'area'].includes(by)) {
  process.stderr.write('usage: node tools/scripts/perf-breakdown.mjs [--by handshake|area] <bundle main.js> <x.perf.data>...\n');
  process.exit(2);
}

const sourceOfLine = [];
let current = '(bundle)';
readFileSync(bundle, 'utf8')
  .split('\n')
  .forEach((line, i) => {
    const m = /^\/\/ ((?:libs|apps|node_modules)\/\S+)$/.exec(line);
    if (m) current = m[1];
    sourceOfLine[i + 1] = current;
  });

/** `JS:*name /path/file.js:line:col` → { fn, src } (src: the library source file for the bundle). */
function jsFrame(sym) {
  const m = /^JS:[*~^]?(\S*) (\S+?):(\d+):\d+$/.exec(sym);
  if (!m) return null;
  const [, fn, file, line] = m;
  return { fn, src: file.endsWith('all-in-one/main.js') ? (sourceOfLine[Number(line)] ?? '?') : file.replace(/^.*node_modules\//, 'node_modules/') };
}

/** Every sample of the files: { main: boolean, stack: [{ sym, js }] } (leaf first). */
function* samples() {
  for (const file of files) {
    const out = execFileSync('perf', ['script', '-F', 'comm,pid,tid,ip,sym,dso', '-i', file], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    for (const block of out.split('\n\n')) {
      const [head, ...rest] = block.split('\n').filter(Boolean);
      const ids = head && /(\d+)\/(\d+)/.exec(head);
      if (!ids) continue;
      const stack = rest.map((l) => {
        const x = /^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)$/.exec(l);
        const sym = x ? x[1].replace(/\+0x[0-9a-f]+$/, '') : l.trim();
        return { sym, kernel: Boolean(x?.[2].includes('kernel')), js: jsFrame(sym) };
      });
      yield { main: ids[1] === ids[2], stack };
    }
  }
}

const anyJs = (s, src, fn) => s.some((f) => f.js && src.test(f.js.src) && (!fn || fn.test(f.js.fn)));
const anySym = (s, re) => s.some((f) => re.test(f.sym));

const HANDSHAKE = [
  ['GC (main-thread part)', (s) => anySym(s, /v8::internal::(Heap::|Scavenger|MarkCompact|MinorMarkCompact|IncrementalMarking|GCTracer|Sweeper)|ScavengeObject/)],
  ['ES256 (OpenSSL) on the main thread', (s) => anySym(s, /ecp_nistz256|ossl_ecdsa|ECDSA_/)],
  ['Errors with stack traces (ws calls end() on finished streams)', (s) => anySym(s, /captureStackTrace|ErrorUtils::Construct|CaptureSimpleStackTrace|TranslatedState|OptimizedFrame::Summarize|JS:\S*NodeError |JS:\S*formatWithOptions/)],
  [
    'closing: close frames, end, destroy, close handlers, shutdown',
    (s) =>
      anyJs(s, /ws\/lib\/(websocket|receiver|sender)\.js/, /close|Close|OnEnd|controlMessage|Conclude/) ||
      anyJs(s, /^node:/, /destroy|closeSocketHandle|onSocketEnd|endReadableNT|finishMaybe|Writable\.end|Socket\.end|emitCloseNT|afterShutdown|onReadableStreamEnd/) ||
      anySym(s, /__x64_sys_close|__x64_sys_shutdown|__GI___shutdown|tcp_close|tcp_shutdown|uv_close|HandleWrap::Close|HandleWrap::OnClose|ShutdownWrap|TCPWrap::~TCPWrap/),
  ],
  ['upgrade: ws handleUpgrade, 101 response, socket setup', (s) => anyJs(s, /ws\/lib\/websocket-server\.js/) || anyJs(s, /ws\/lib\/websocket\.js/, /setSocket|^WebSocket$/) || anyJs(s, /wallet\.gateway/, /onUpgrade|onConnection/)],
  ['HTTP parsing up to the upgrade', (s) => anyJs(s, /^node:_http_(server|common|incoming)/) || anySym(s, /llhttp|node::http_parser|node::\(anonymous namespace\)::Parser/)],
  ['TCP accept, net.Socket', (s) => anyJs(s, /^node:net$/, /onconnection|^Socket$/) || anySym(s, /uv__server_io|__x64_sys_accept|TCPWrap::OnConnection|ConnectionWrap/)],
  ['token: handing the signature check to the thread pool (SignJob)', (s) => anySym(s, /SignJob|CryptoJob|JS:\S*verifyOneShot|uv_queue_work/)],
  ['JSON.parse / JSON.stringify', (s) => anySym(s, /Json(Parser|Stringifier)|JsonParse|JsonStringify/)],
  ['token checks: decode, claims, revocation, key lookup', (s) => anyJs(s, /libs\/(platform\/src\/auth|crypto)\//)],
  ['frame validation (zod)', (s) => anyJs(s, /node_modules\/zod|libs\/engine-protocol/)],
  ['tenant and origin', (s) => anyJs(s, /tenant/)],
  ['cache and pub/sub: hub entry, subscription', (s) => anyJs(s, /libs\/cache\/|cluster-bridge/)],
  ['EngineSession, handshake_ok', (s) => anyJs(s, /libs\/engine-flows\//)],
  ['sending handshake_ok: ws sender, socket write', (s) => anyJs(s, /ws\/lib\/sender\.js/) || anyJs(s, /wallet\.gateway/, /send/)],
  ['gateway: message queue, rate limit, handshake', (s) => anyJs(s, /wallet\.gateway|libs\/engine\//)],
  ['reading frames: socket read, ws receiver', (s) => anyJs(s, /ws\/lib\/receiver\.js/) || anySym(s, /uv__read|OnUvRead|__x64_sys_read|onStreamRead/)],
  ['other socket writes', (s) => anySym(s, /writev|__x64_sys_write|uv__write|StreamBase::Write/)],
  ['malloc/free (native, caller unknown)', (s) => /^(_int_malloc|malloc|_int_free|cfree|unlink_chunk|malloc_consolidate)/.test(s[0]?.sym ?? '')],
  ['event loop (epoll), timers, promise plumbing', (s) => anySym(s, /uv__io_poll|epoll|RunMicrotasks|processTicksAndRejections|runMicrotasks|listOnTimeout|processTimers|uv__run_timers/)],
];
const BOUNDARY = /Builtins_RunMicrotasks|InternalCallbackScope::Close|MakeCallback|AfterThreadPoolWork/;

function handshakeCategory(stack) {
  const segments = [[]];
  for (const frame of stack) {
    segments[segments.length - 1].push(frame);
    if (BOUNDARY.test(frame.sym)) segments.push([]);
  }
  for (const segment of segments) {
    const hit = HANDSHAKE.find(([, test]) => test(segment));
    if (hit) return hit[0];
  }
  return 'other';
}

function otherThreadCategory(stack) {
  if (anySym(stack, /ecp_nistz256|ossl_ecdsa|ECDSA_|SignJob|CryptoJob|sha256|EVP_/)) return 'ES256 verification (libuv pool)';
  if (anySym(stack, /v8::internal::(Heap|Scavenger|MarkCompact|Concurrent|Sweeper|IncrementalMarking|MinorMarkCompact)|ScavengeObject/)) return 'GC threads';
  if (anySym(stack, /node::worker::Worker/)) return 'JS workers';
  return 'other (wake-ups, scheduler, compilation)';
}

function areaOf(sym) {
  if (/v8::internal::(Heap::|Scavenger|MarkCompact|MinorMarkCompact|IncrementalMarking|Sweeper)|ScavengeObject/.test(sym)) return 'GC (main-thread part)';
  if (/ecp_nistz256|ossl_ecdsa|ECDSA_|EVP_|sha256_block|SignJob|CryptoJob|ECDH|BN_/.test(sym)) return 'crypto (OpenSSL, node:crypto)';
  if (/Json(Parser|Stringifier)/.test(sym)) return 'JSON.parse / JSON.stringify';
  const js = jsFrame(sym);
  if (!js) return null;
  if (/node_modules\//.test(js.src)) {
    const parts = js.src.replace(/^.*node_modules\//, '').split('/');
    return `npm ${parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  if (/undici/.test(js.src)) return 'undici (outbound HTTP)';
  if (/^libs\//.test(js.src)) return js.src.replace(/^libs\//, '').replace(/\/src\//, ': ');
  return /^node:/.test(js.src) ? null : js.src; // Node's internals count with their caller
}

function areaCategory(stack) {
  for (const frame of stack) {
    const area = areaOf(frame.sym);
    if (area) return area;
  }
  if (anySym(stack, /writev|__x64_sys_write|sendto|sendmsg/)) return 'socket writes (Node internals, kernel)';
  if (anySym(stack, /uv__io_poll|epoll/)) return 'event loop (epoll, callbacks)';
  return 'other native';
}

const main = new Map();
const others = new Map();
let mainCount = 0;
let otherCount = 0;
let kernelLeaf = 0;
for (const { main: isMain, stack } of samples()) {
  if (!isMain) {
    otherCount++;
    const category = otherThreadCategory(stack);
    others.set(category, (others.get(category) ?? 0) + 1);
    continue;
  }
  mainCount++;
  if (stack[0]?.kernel) kernelLeaf++;
  const category = by === 'area' ? areaCategory(stack) : handshakeCategory(stack);
  main.set(category, (main.get(category) ?? 0) + 1);
}
const pct = (n, of) => `${((n / of) * 100).toFixed(1).padStart(5)}%`;
console.log(`main thread: ${mainCount} samples (${pct(kernelLeaf, mainCount).trim()} in the kernel); other threads: ${otherCount}`);
for (const [category, n] of [...main].sort((a, b) => b[1] - a[1])) console.log(`${pct(n, mainCount)}  ${category}`);
console.log('other threads:');
for (const [category, n] of [...others].sort((a, b) => b[1] - a[1])) console.log(`${pct(n, otherCount)}  ${category}`);
