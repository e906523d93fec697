import { createConnection } from 'node:net';

/**
 * Readiness probes shared by the server starters (`redis-server.ts`,
 * `redis-topologies.ts`, `mongo-server.ts`, `cluster/stores.ts`): each
 * answers true or false and never throws, so a start-up loop can poll it.
 */

const LOOPBACK = '127.0.0.1';

/**
 * Opens a raw connection to `port`, writes `request` (inline Redis commands,
 * each ending in CRLF) and resolves with `judge(reply)` as soon as it returns
 * a boolean; `undefined` means "read more". False on a connection error or
 * after one second without traffic.
 */
export function redisInlineProbe(
  port: number,
  request: string,
  judge: (reply: string) => boolean | undefined,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: LOOPBACK, port });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      const verdict = judge(reply);
      if (verdict !== undefined) finish(verdict);
    });
  });
}

/** True when a MongoDB-compatible server on `port` answers `{ ping: 1 }` on the admin database. */
export async function mongoAnswersPing(port: number): Promise<boolean> {
  const { default: mongoose } = await import('mongoose');
  const connection = mongoose.createConnection(`mongodb://${LOOPBACK}:${port}/admin`, {
    bufferCommands: false,
    serverSelectionTimeoutMS: 2000,
  });
  try {
    await connection.asPromise();
    await connection.db?.command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await connection.close().catch(() => undefined);
  }
}
