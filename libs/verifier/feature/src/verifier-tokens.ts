import { selectClaim } from '@wallet/protocol';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TokenShape } from './relying-party-registry';
import type { AuthorizationCode } from './verifier-sessions';

/** JWT claims the verifier sets itself; credential claims never overwrite them. */
const RESERVED = new Set(['iss', 'aud', 'sub', 'exp', 'iat', 'nbf', 'jti', 'scope', 'client_id', 'cnf', 'status', 'vct', '_sd', '_sd_alg']);

/**
 * Shapes the verified claims for the application's JWT:
 * - `flat`: every disclosed claim at the top level (the first credential wins a name clash);
 * - `credential`: `verifiableCredential`, one object per credential with its issuer and type;
 * - `mapping`: chosen claims under new names, `<query id>.<path>` each.
 */
export function shapeClaims(shape: TokenShape, credentials: AuthorizationCode['credentials']): Record<string, unknown> {
  const all = Object.values(credentials).flat();
  switch (shape.type) {
    case 'flat': {
      const out: Record<string, unknown> = {};
      for (const credential of all) {
        for (const [name, value] of Object.entries(credential.claims)) {
          if (!RESERVED.has(name) && !(name in out)) out[name] = value;
        }
      }
      return { ...out, credential_types: [...new Set(all.map((c) => c.type))] };
    }
    case 'credential':
      return { verifiableCredential: all.map((c) => ({ iss: c.issuer, vct: c.type, ...c.claims })) };
    case 'mapping': {
      const out: Record<string, unknown> = {};
      for (const [name, source] of Object.entries(shape.claims)) {
        if (RESERVED.has(name)) continue;
        const [queryId = '', ...path] = source.split('.');
        const first = credentials[queryId]?.[0];
        if (!first || path.length === 0) continue;
        const [value] = selectClaim(first.claims, path);
        if (value !== undefined) out[name] = value;
      }
      return out;
    }
  }
}

/** RFC 7636 S256 check, in constant time. `plain` is not accepted. */
export function pkceMatches(codeChallenge: string, codeVerifier: unknown): boolean {
  if (typeof codeVerifier !== 'string' || !/^[A-Za-z0-9._~-]{43,128}$/.test(codeVerifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(codeVerifier).digest('base64url'));
  const expected = Buffer.from(codeChallenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
