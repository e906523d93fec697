import type { Cache } from '@wallet/cache';
import { RefusalError } from '@wallet/domain';
import { randomToken } from '@wallet/crypto';
import { z } from 'zod';

const zChallenge = z.object({
  kind: z.enum(['register', 'login', 'add-passkey']),
  challenge: z.string(),
  userHandle: z.string().optional(),
  userId: z.string().optional(),
});
export type ChallengeRecord = z.infer<typeof zChallenge>;

const CHALLENGE_ID = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * WebAuthn challenges in the shared cache, so a ceremony begun on one replica
 * can finish on another. Each is bound to its tenant and kind, expires after
 * the configured TTL and is taken atomically: of two finishes with the same
 * challenge, at most one gets it.
 */
export class ChallengeStore {
  constructor(
    private readonly cache: Cache,
    private readonly ttlMs: number,
  ) {}

  async create(tenantId: string, record: Omit<ChallengeRecord, 'challenge'>): Promise<{ challengeId: string; challenge: string }> {
    const challengeId = randomToken(18);
    const challenge = randomToken(32);
    await this.cache.set(this.key(tenantId, challengeId), JSON.stringify({ ...record, challenge }), { ttlMs: this.ttlMs });
    return { challengeId, challenge };
  }

  /** Takes the challenge; refuses (400 `challenge_invalid`) when it is unknown, expired, used, of another kind or tenant. */
  async take(tenantId: string, challengeId: unknown, kind: ChallengeRecord['kind']): Promise<ChallengeRecord> {
    const invalid = () => new RefusalError('validation_failed', 'challenge_invalid', 'the challenge is unknown, expired or already used');
    if (typeof challengeId !== 'string' || !CHALLENGE_ID.test(challengeId)) throw invalid();
    const raw = await this.cache.take(this.key(tenantId, challengeId));
    if (raw === null) throw invalid();
    const record = zChallenge.parse(JSON.parse(raw));
    if (record.kind !== kind) throw invalid();
    return record;
  }

  private key(tenantId: string, challengeId: string): string {
    return `auth:challenge:${tenantId}:${challengeId}`;
  }
}
