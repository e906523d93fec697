/**
 * What each thread of a Node process is, from /proc, for splitting its CPU
 * by thread. Node 20 names every thread `node` (libuv names its pool threads
 * only from 1.50), so the name says nothing; what a thread is blocked in
 * does, when the process is quiet:
 *
 *  - the main thread: tid = pid;
 *  - threads blocked in `epoll_wait` run an event loop of their own: V8's
 *    delayed-task scheduler, the inspector's I/O thread (with `--inspect`),
 *    and `worker_threads` Workers (in the all-in-one: SQLite's WAL
 *    checkpointer from the start, the verifier's verification thread from
 *    its first presentation). A Worker runs JavaScript and has used
 *    CPU (its modules are loaded and compiled when it starts); the other two
 *    have used next to none. Told apart by their CPU so far (`js worker`
 *    from 50 ms on, `idle loop threads` below);
 *  - threads blocked in `futex` on the same condition variable are a pool:
 *    V8's platform workers (GC, compilation; created when the process
 *    starts) and libuv's thread pool (fs, dns, crypto callbacks such as
 *    `crypto.verify(..., callback)`; created at its first use, so later).
 *    Of the pools, the one with the lowest thread ids is `v8 platform`, the
 *    one with the highest `libuv pool`;
 *  - anything else (a thread alone on its futex, a thread created after the
 *    classification) is `other`.
 *
 * Call it while the process is quiet (right before a timed phase): a thread
 * that is running shows no syscall, and is sampled again.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Syscall numbers of the waits above, per architecture. */
const SYSCALLS: Record<string, { epoll: number[]; futex: number }> = {
  x64: { epoll: [232, 281, 441], futex: 202 },
  arm64: { epoll: [22, 441], futex: 98 },
};

/** CPU seconds (user + system) of one thread so far. */
export function threadCpu(pid: number, tid: string): number {
  const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** `<syscall number> <arg1>` of what a thread is blocked in, or null while it runs. */
function blockedIn(pid: number, tid: string): { nr: number; arg1: bigint } | null {
  const text = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').trim();
  if (text === 'running') return null;
  const [nr, arg1] = text.split(' ');
  return { nr: Number(nr), arg1: BigInt(arg1 ?? '0') };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** tid → role, for every thread of `pid` now. */
export async function classifyThreads(pid: number): Promise<Map<string, string>> {
  const syscalls = SYSCALLS[process.arch];
  const roles = new Map<string, string>();
  const tids = readdirSync(`/proc/${pid}/task`).sort((a, b) => Number(a) - Number(b));
  const waits = new Map<string, { nr: number; arg1: bigint }>();
  for (let attempt = 0; attempt < 10 && waits.size < tids.length - 1; attempt++) {
    for (const tid of tids) {
      if (tid === String(pid) || waits.has(tid)) continue;
      try {
        const wait = blockedIn(pid, tid);
        if (wait) waits.set(tid, wait);
      } catch {
        // ended meanwhile
      }
    }
    if (waits.size < tids.length - 1) await sleep(20);
  }
  const pools = new Map<bigint, string[]>();
  for (const tid of tids) {
    if (tid === String(pid)) {
      roles.set(tid, 'main');
      continue;
    }
    const wait = waits.get(tid);
    if (!syscalls || !wait) {
      roles.set(tid, 'other');
    } else if (syscalls.epoll.includes(wait.nr)) {
      let cpu = 0;
      try {
        cpu = threadCpu(pid, tid);
      } catch {
        // ended meanwhile
      }
      roles.set(tid, cpu >= 0.05 ? 'js worker' : 'idle loop threads');
    } else if (wait.nr === syscalls.futex) {
      // glibc's condition variable waits on one of two words next to each other.
      const key = wait.arg1 / 64n;
      pools.set(key, [...(pools.get(key) ?? []), tid]);
    } else {
      roles.set(tid, 'other');
    }
  }
  const groups = [...pools.values()].filter((g) => g.length >= 2).sort((a, b) => Number(a[0]) - Number(b[0]));
  for (const group of pools.values()) if (group.length < 2) for (const tid of group) roles.set(tid, 'other');
  groups.forEach((group, i) => {
    const role = i === 0 ? 'v8 platform' : i === groups.length - 1 ? 'libuv pool' : 'other';
    for (const tid of group) roles.set(tid, role);
  });
  return roles;
}

/** CPU seconds so far per role (threads created after the classification count as `other`). */
export function cpuByRole(pid: number, roles: Map<string, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const role = roles.get(tid) ?? 'other';
      out.set(role, (out.get(role) ?? 0) + threadCpu(pid, tid));
    } catch {
      // the thread ended between listing and reading
    }
  }
  return out;
}

/** How many threads have each role, e.g. `main 1, v8 platform 4, libuv pool 4, js worker 1`. */
export function describeRoles(roles: Map<string, string>): string {
  const counts = new Map<string, number>();
  for (const role of roles.values()) counts.set(role, (counts.get(role) ?? 0) + 1);
  return [...counts].map(([role, n]) => `${role} ${n}`).join(', ');
}
