import {
  certificateNamesIssuer,
  toPublicKeyObject,
  didWebDocumentUrl,
  jwkFromDidDocument,
  resolveSelfDescribingDid,
  validateX5c,
} from '@wallet/crypto';
import { importJWK, type JWK, type KeyLike } from 'jose';
import { createHash, type KeyObject } from 'node:crypto';
import { PresentationError } from '@wallet/presentation-query';
import type { IssuerKeyResolver, UnverifiedIssuerJwt } from '../sd-jwt/verify-sd-jwt-vc';

/**
 * Fetches a document the caller did not configure (issuer metadata, DID
 * documents, status lists). Implementations must go through the guarded
 * outbound client: these URLs come from credentials, i.e. from outside.
 */
export interface DocumentFetch {
  /** The body of a 200 answer whose media type is one of `accept`; throws otherwise. */
  getText(url: string, accept: readonly string[]): Promise<string>;
}

const MAX_DOC = 256 * 1024;

async function getJson(fetch: DocumentFetch, url: string): Promise<unknown> {
  const text = await fetch.getText(url, ['application/json', 'application/did+json', 'application/jwk-set+json']);
  if (text.length > MAX_DOC) throw new Error('document too large');
  return JSON.parse(text);
}

/** `https://issuer.example/tenant` -> `https://issuer.example/.well-known/jwt-vc-issuer/tenant`. */
export function jwtVcIssuerMetadataUrl(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return `${url.origin}/.well-known/jwt-vc-issuer${path}`;
}

function pickKey(keys: unknown, kid: string | undefined): JWK {
  const list = Array.isArray(keys) ? (keys as JWK[]) : [];
  const candidates = list.filter((k) => k && typeof k === 'object' && typeof k.kty === 'string' && !('d' in k) && k.kty !== 'oct');
  const key = kid ? candidates.find((k) => k.kid === kid) : candidates.length === 1 ? candidates[0] : undefined;
  if (!key) throw new Error(kid ? 'no key with this kid' : 'the issuer publishes several keys and the credential names none');
  return key;
}

/** Where an issuer JWT's key came from. */
export type IssuerKeySource = 'x5c' | 'did' | 'jwt-vc-issuer';

/** How an issuer key would be found for this JWT: the header's x5c, a DID `iss`, or the issuer's JWT VC metadata. */
export function issuerKeySource(jwt: UnverifiedIssuerJwt): IssuerKeySource {
  if (jwt.header.x5c !== undefined) return 'x5c';
  return typeof jwt.payload.iss === 'string' && jwt.payload.iss.startsWith('did:') ? 'did' : 'jwt-vc-issuer';
}

export interface IssuerKeyResolverOptions {
  /** PEM roots that x5c chains must lead to; empty: x5c-signed JWTs are refused. */
  trustedRoots: readonly string[];
  fetch: DocumentFetch;
  now?: () => Date;
  /** Also accept `http://` issuers (development and tests on loopback only). */
  allowHttpIssuers?: boolean;
}

/**
 * Resolves the key that must have signed an issuer JWT:
 * - `x5c` in the header: the chain must lead to a configured root, and for an
 *   https issuer the leaf must name it (SAN URI or DNS host);
 * - a DID issuer: did:key / did:jwk offline, did:web by fetching its document;
 *   the header `kid` must be a verification method of that DID;
 * - an https issuer: its JWT VC Issuer Metadata (`/.well-known/jwt-vc-issuer`),
 *   whose `issuer` must equal `iss`, key chosen by `kid`.
 *
 * Security caveat: this says which key the issuer publishes, not whether the
 * issuer is trusted; ask the trust evaluator about that.
 */
export function createIssuerKeyResolver(options: IssuerKeyResolverOptions): IssuerKeyResolver {
  const resolve = resolveIssuerKeyUncached(options);
  // Resolved keys are remembered for a minute per issuer, kid and chain: a verifier sees the same
  // issuers over and over, and an x5c chain costs two more signature checks to validate.
  const memo = new Map<string, { key: KeyObject; until: number }>();
  return async (jwt) => {
    const now = options.now?.().getTime() ?? Date.now();
    const chain = Array.isArray(jwt.header.x5c) ? createHash('sha256').update(jwt.header.x5c.join('.')).digest('base64url') : '';
    const memoKey = `${String(jwt.payload.iss)}|${String(jwt.header.alg)}|${String(jwt.header.kid)}|${chain}`;
    const known = memo.get(memoKey);
    if (known && known.until > now) return known.key;
    const key = toPublicKeyObject(await resolve(jwt));
    if (memo.size >= MEMO_MAX) memo.clear();
    memo.set(memoKey, { key, until: now + MEMO_MS });
    return key;
  };
}

const MEMO_MS = 60_000;
const MEMO_MAX = 10_000;

function resolveIssuerKeyUncached(options: IssuerKeyResolverOptions): IssuerKeyResolver {
  const webIssuer = (iss: string) => iss.startsWith('https://') || (options.allowHttpIssuers === true && iss.startsWith('http://'));
  return async ({ header, payload }: UnverifiedIssuerJwt): Promise<KeyLike | Uint8Array> => {
    const iss = typeof payload.iss === 'string' ? payload.iss : '';
    const alg = header.alg ?? 'ES256';
    if (header.x5c !== undefined) {
      const { leaf, publicKey } = validateX5c(header.x5c, { trustedRoots: options.trustedRoots, now: options.now?.() ?? new Date() });
      if (!webIssuer(iss) || !certificateNamesIssuer(leaf, iss)) {
        throw new PresentationError('issuer_key_unresolved', 'the x5c certificate does not name the issuer');
      }
      return publicKey;
    }
    if (iss.startsWith('did:')) {
      const kid = typeof header.kid === 'string' ? header.kid : iss;
      if ((kid.split('#')[0] ?? '') !== iss && !kid.startsWith('#')) {
        throw new PresentationError('issuer_key_unresolved', 'the kid is not a key of the issuer DID');
      }
      if (iss.startsWith('did:web:')) {
        const document = await getJson(options.fetch, didWebDocumentUrl(iss));
        return importJWK(jwkFromDidDocument(document, iss, kid), alg);
      }
      return importJWK(resolveSelfDescribingDid(kid.startsWith('#') ? iss : kid), alg);
    }
    if (webIssuer(iss)) {
      const metadata = (await getJson(options.fetch, jwtVcIssuerMetadataUrl(iss))) as { issuer?: unknown; jwks?: { keys?: unknown }; jwks_uri?: unknown };
      if (metadata?.issuer !== iss) throw new PresentationError('issuer_key_unresolved', 'the issuer metadata names another issuer');
      let keys = metadata.jwks?.keys;
      if (keys === undefined && typeof metadata.jwks_uri === 'string' && webIssuer(metadata.jwks_uri)) {
        keys = ((await getJson(options.fetch, metadata.jwks_uri)) as { keys?: unknown })?.keys;
      }
      return importJWK(pickKey(keys, typeof header.kid === 'string' ? header.kid : undefined), alg);
    }
    throw new PresentationError('issuer_key_unresolved', 'the issuer is neither an https URL nor a DID, and the credential has no x5c');
  };
}
