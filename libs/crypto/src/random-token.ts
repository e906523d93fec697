import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * `bytes` bytes from the system CSPRNG as base64url: session ids, codes,
 * challenges, refresh tokens. Draws from a pool refilled 4 KiB at a time (as
 * `crypto.randomUUID` does), because a call into OpenSSL per token costs more
 * than the rest of a request's id handling. Each byte is handed out once.
 */
export function randomToken(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 256) throw new RangeError('randomToken takes 1 to 256 bytes');
  if (offset + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    offset = 0;
  }
  const token = pool.toString('base64url', offset, offset + bytes);
  // Zero what was handed out, so the pool never holds a token that is in use.
  pool.fill(0, offset, offset + bytes);
  offset += bytes;
  return token;
}
