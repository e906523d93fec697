import type { Cache } from '@wallet/cache';
import {
  checkTokenStatus,
  evaluateDcqlQuery,
  PresentationError,
  verifySdJwtVc,
  type IssuerKeyResolver,
  type PresentedCredential,
  type VerifiedSdJwtVc,
} from '@wallet/protocol';
import { calculateJwkThumbprint } from 'jose';
import { createHash } from 'node:crypto';
import type { VerifierFetch } from './issuer-keys';
import type { CredentialTrust, VerifierScope } from './verifier-services';
import type { AuthorizationCode, VerifierSession } from './verifier-sessions';

const SD_JWT_FORMATS = new Set(['dc+sd-jwt', 'vc+sd-jwt']);
/** Claims every SD-JWT VC carries that are not attested facts about the holder. */
const STRUCTURAL_CLAIMS = new Set(['iss', 'vct', 'vct#integrity', 'cnf', 'iat', 'exp', 'nbf', 'status', 'sub', 'jti']);
const MAX_PRESENTATIONS = 16;

export interface ResponseVerifierDeps {
  resolveIssuerKey: IssuerKeyResolver;
  fetch: VerifierFetch;
  cache: Cache;
  statusListTtlMs: number;
  clockSkewSeconds: number;
  now?: () => Date;
}

/** Parses the DCQL `vp_token`: a JSON object from credential query id to one presentation or an array of them. */
export function parseVpToken(raw: unknown): Map<string, string[]> {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new PresentationError('malformed', 'vp_token must be a JSON object keyed by credential query id');
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new PresentationError('malformed', 'vp_token must be a JSON object keyed by credential query id');
  }
  const out = new Map<string, string[]>();
  let count = 0;
  for (const [id, entry] of Object.entries(value)) {
    const list = Array.isArray(entry) ? entry : [entry];
    if (list.length === 0 || !list.every((p) => typeof p === 'string' && p.length > 0)) {
      throw new PresentationError('malformed', `vp_token["${id.slice(0, 64)}"] must hold presentation strings`);
    }
    count += list.length;
    out.set(id, list as string[]);
  }
  if (count === 0 || count > MAX_PRESENTATIONS) throw new PresentationError('malformed', `vp_token must hold 1 to ${MAX_PRESENTATIONS} presentations`);
  return out;
}

function claimPaths(value: unknown, prefix = ''): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return prefix ? [prefix] : [];
  return Object.entries(value).flatMap(([key, inner]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...claimPaths(inner, path).filter((p) => p !== path)];
  });
}

/** Refuses an untrusted issuer, or one that attested a claim it may not. */
export function checkIssuerTrust(trust: readonly CredentialTrust[], credential: VerifiedSdJwtVc): void {
  const rule = trust.find((r) => r.type === credential.vct) ?? trust.find((r) => r.type === '*');
  if (!rule) throw new PresentationError('untrusted_issuer', 'no issuer is trusted for this credential type');
  if (rule.issuers === 'any') return;
  const issuer = rule.issuers.find((i) => i.id === credential.issuer);
  if (!issuer) throw new PresentationError('untrusted_issuer', 'the issuer is not trusted for this credential type');
  if (!issuer.claims) return;
  const allowed = issuer.claims;
  const attested = Object.keys(credential.claims).filter((k) => !STRUCTURAL_CLAIMS.has(k));
  for (const name of attested) {
    const paths = claimPaths(credential.claims[name], name);
    const ok = paths.every((p) => allowed.some((a) => p === a || p.startsWith(`${a}.`) || a.startsWith(`${p}.`)));
    if (!ok) throw new PresentationError('claim_not_allowed', `the issuer may not attest the claim "${name}"`);
  }
}

/**
 * Verifies a wallet's `vp_token` for a session: every presentation (signature,
 * disclosures, key binding to this session's nonce and our client id, dates,
 * status), issuer trust per credential type, and that the response answers
 * the session's DCQL query. Returns what the authorization code carries.
 */
export async function verifyVpToken(
  vpToken: unknown,
  session: VerifierSession,
  scope: VerifierScope,
  deps: ResponseVerifierDeps,
): Promise<Pick<AuthorizationCode, 'credentials' | 'holder'>> {
  const entries = parseVpToken(vpToken);
  const queries = new Map(session.dcql.credentials.map((c) => [c.id, c]));
  const presented = new Map<string, PresentedCredential[]>();
  const credentials: AuthorizationCode['credentials'] = {};
  let holder: string | null = null;

  const statusCheck = {
    resolveKey: deps.resolveIssuerKey,
    clockSkewSeconds: deps.clockSkewSeconds,
    ...(deps.now ? { now: deps.now } : {}),
    fetchStatusList: async (uri: string) => {
      const key = `verifier:status-list:${createHash('sha256').update(uri).digest('base64url')}`;
      const cached = await deps.cache.get(key);
      if (cached !== null) return cached;
      const body = await deps.fetch.getText(uri, ['application/statuslist+jwt', 'application/jwt', 'application/vc+jwt']);
      await deps.cache.set(key, body, { ttlMs: deps.statusListTtlMs });
      return body;
    },
  };

  for (const [id, presentations] of entries) {
    const query = queries.get(id);
    if (!query) throw new PresentationError('query_not_satisfied', `the response answers a credential query "${id.slice(0, 64)}" that was not asked`);
    if (!SD_JWT_FORMATS.has(query.format)) {
      throw new PresentationError('query_not_satisfied', `credential format ${query.format} is not supported by this verifier`);
    }
    for (const presentation of presentations) {
      const verified = await verifySdJwtVc(presentation, {
        resolveIssuerKey: deps.resolveIssuerKey,
        nonce: session.nonce,
        audience: session.clientId,
        clockSkewSeconds: deps.clockSkewSeconds,
        ...(deps.now ? { now: deps.now } : {}),
      });
      checkIssuerTrust(scope.trust, verified);
      await checkTokenStatus(verified.status, statusCheck);
      // Both typ values (dc+sd-jwt and the older vc+sd-jwt) answer either SD-JWT VC format.
      const list = presented.get(id) ?? [];
      list.push({ format: query.format, vct: verified.vct, claims: verified.claims, holderBound: true });
      presented.set(id, list);
      const { cnf: _cnf, ...claims } = verified.claims;
      (credentials[id] ??= []).push({ issuer: verified.issuer, type: verified.vct, claims });
      holder ??=
        typeof verified.claims['sub'] === 'string'
          ? verified.claims['sub']
          : `urn:ietf:params:oauth:jwk-thumbprint:sha-256:${await calculateJwkThumbprint(verified.holderJwk, 'sha256')}`;
    }
  }
  evaluateDcqlQuery(session.dcql, presented);
  return { credentials, holder };
}
