import { ValidationError, zodValidationError } from '@wallet/domain';
import { jwkThumbprint } from '@wallet/crypto';
import { createHash, X509Certificate } from 'node:crypto';
import { z } from 'zod';

/** The role an entity is trusted for: the AuthZEN `action.name`. */
export const zTrustRole = z.enum(['credential-issuer', 'credential-verifier']);
export type TrustRole = z.infer<typeof zTrustRole>;

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;

/** The key material bound to the entity: one public JWK or an x5c chain (base64 DER, leaf first). */
export const zTrustKey = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('jwk'),
    jwk: z
      .record(z.string(), z.unknown())
      .refine((jwk) => typeof jwk['kty'] === 'string', 'a JWK needs a kty')
      .refine((jwk) => PRIVATE_JWK_MEMBERS.every((m) => !(m in jwk)), 'only public keys are accepted'),
  }),
  z.strictObject({
    type: z.literal('x5c'),
    x5c: z
      .array(z.string().min(1).max(16_384).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64 DER'))
      .min(1)
      .max(10),
  }),
]);
export type TrustKey = z.infer<typeof zTrustKey>;

export const zTrustQuery = z.strictObject({
  tenantId: z.string().min(1).max(64),
  /** The entity's identifier: credential issuer identifier, verifier client id, DID, ... */
  entityId: z.string().min(1).max(2048),
  role: zTrustRole,
  /** Absent when the entity publishes no key: static policies still answer, a PDP query fails closed. */
  key: zTrustKey.optional(),
  /** Credential types (vct, doctype) the entity issues or asks for: `action.parameters.credential_types`. */
  credentialTypes: z.array(z.string().min(1).max(2048)).max(50).optional(),
  /** Extra AuthZEN context; never decisive for the PDP. */
  context: z.record(z.string(), z.unknown()).optional(),
});
export type TrustQuery = z.infer<typeof zTrustQuery>;

/** Where a decision came from. `error` decisions are always "not trusted" (fail closed). */
export type TrustSource = 'pdp' | 'static' | 'disabled' | 'error';

export const zTrustDecision = z.strictObject({
  trusted: z.boolean(),
  /** Why, in words a log or an operator can use; never key material. */
  reason: z.string(),
  source: z.enum(['pdp', 'static', 'disabled', 'error']),
  /** The PDP's origin when one was asked. */
  pdp: z.string().optional(),
  evaluatedAt: z.string(),
  /** When the decision stops being served from the cache. */
  expiresAt: z.string(),
  cached: z.boolean(),
});
export type TrustDecision = z.infer<typeof zTrustDecision>;

/** Validates a query, as every outside input: `ValidationError` naming the field. */
export function parseTrustQuery(input: unknown): TrustQuery {
  const result = zTrustQuery.safeParse(input);
  if (!result.success) {
    throw zodValidationError('invalid trust query', result.error);
  }
  if (result.data.key?.type === 'x5c') {
    result.data.key.x5c.forEach((cert, i) => {
      try {
        new X509Certificate(Buffer.from(cert, 'base64'));
      } catch (error) {
        throw new ValidationError('invalid trust query', [{ path: `/key/x5c/${i}`, message: 'not an X.509 certificate' }], {
          cause: error,
        });
      }
    });
  }
  return result.data;
}

/**
 * The key part of the cache key: the RFC 7638 JWK thumbprint, or SHA-256 over
 * the whole x5c chain (a different intermediate is a different question).
 */
export async function keyThumbprint(key: TrustKey | undefined): Promise<string> {
  if (key === undefined) return 'nokey';
  if (key.type === 'jwk') {
    try {
      return jwkThumbprint(key.jwk);
    } catch (error) {
      throw new ValidationError('invalid trust query', [{ path: '/key/jwk', message: 'not a valid public JWK' }], {
        cause: error,
      });
    }
  }
  const hash = createHash('sha256');
  for (const cert of key.x5c) hash.update(cert).update('\n');
  return hash.digest('base64url');
}
