import { getJson, setJson, type Cache } from '@wallet/cache';
import { NotFoundError, ValidationError, isWalletError } from '@wallet/domain';
import type { OutboundClient } from '@wallet/platform';
import type { TrustDecision, TrustEvaluator, TrustKey } from '@wallet/trust';
import { decodeProtectedHeader, importJWK, importX509, jwtVerify, type JWK } from 'jose';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { upstreamError } from '../type-metadata/type-metadata.resolver';

export interface SignedMetadataStatus {
  present: boolean;
  /** True when the `signed_metadata` JWT verified and its values were applied. */
  verified: boolean;
  /** Why it did not verify. */
  error?: string | undefined;
}

export interface AuthorizationServerMetadata {
  issuer: string;
  metadata: Record<string, unknown> | null;
  /** Why it could not be fetched; the rest of the answer still stands. */
  error?: string | undefined;
}

export interface IssuerMetadataResult {
  issuer: string;
  credential_issuer_metadata: Record<string, unknown>;
  signed_metadata: SignedMetadataStatus;
  authorization_servers: AuthorizationServerMetadata[];
  trust: TrustDecision;
  cache: 'hit' | 'miss';
}

export interface IssuerMetadataOptions {
  ttlMs: number;
  maxDocumentBytes: number;
  keyPrefix?: string;
}

export interface IssuerMetadataDeps {
  http: Pick<OutboundClient, 'fetch'>;
  cache: Cache;
  trust: Pick<TrustEvaluator, 'evaluate'>;
  now?: () => number;
}

const zCached = z.object({
  metadata: z.record(z.string(), z.unknown()),
  signed: z.object({ present: z.boolean(), verified: z.boolean(), error: z.string().optional() }),
  authorizationServers: z.array(
    z.object({ issuer: z.string(), metadata: z.record(z.string(), z.unknown()).nullable(), error: z.string().optional() }),
  ),
  key: z.unknown().nullable(),
});
type Cached = z.infer<typeof zCached>;

const JSON_TYPES = ['application/json', 'application/*+json'] as const;
const JWT_CLAIMS = new Set(['iss', 'sub', 'iat', 'exp', 'nbf', 'jti', 'aud']);

/** `https://host/.well-known/<name><path>` (RFC 8414 form), then `<url>/.well-known/<name>` for issuers with a path. */
export function wellKnownUrls(identifier: string, name: string): string[] {
  const url = new URL(identifier);
  const path = url.pathname.replace(/\/+$/, '');
  const inserted = `${url.origin}/.well-known/${name}${path}`;
  return path ? [inserted, `${url.origin}${path}/.well-known/${name}`] : [inserted];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseIssuer(issuer: string): string {
  if (issuer.length > 2048 || !URL.canParse(issuer)) {
    throw new ValidationError('issuer must be an absolute https URL', [{ path: '/issuer', message: 'not a URL' }]);
  }
  const url = new URL(issuer);
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username) {
    throw new ValidationError('issuer must be an https URL without query, fragment or user information', [
      { path: '/issuer', message: 'not a credential issuer identifier' },
    ]);
  }
  return issuer;
}

/**
 * Issuer metadata discovery: the OpenID4VCI credential issuer metadata, the
 * metadata of its authorization servers (RFC 8414, then OpenID configuration),
 * `signed_metadata` verified when present (its values then win, as OpenID4VCI
 * says), and the trust decision for the caller's tenant on the issuer's key
 * (the signed metadata's x5c or jwk header, else the first key of its SD-JWT
 * VC issuer metadata at `/.well-known/jwt-vc-issuer`).
 *
 * Documents are cached in the shared cache for `ttlMs`; the trust decision is
 * made per request (the evaluator caches it per tenant).
 */
export class IssuerMetadataService {
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly inflight = new Map<string, Promise<Cached>>();

  constructor(
    private readonly options: IssuerMetadataOptions,
    private readonly deps: IssuerMetadataDeps,
  ) {
    this.prefix = options.keyPrefix ?? 'registry:';
    this.now = deps.now ?? Date.now;
  }

  async get(issuerInput: string, tenantId: string): Promise<IssuerMetadataResult> {
    const issuer = parseIssuer(issuerInput);
    const key = `${this.prefix}im:${createHash('sha256').update(issuer).digest('base64url')}`;
    let cached = await getJson(this.deps.cache, key, (v) => zCached.parse(v));
    const hit = cached !== null;
    if (!cached) {
      let running = this.inflight.get(key);
      if (!running) {
        running = this.discover(issuer).finally(() => this.inflight.delete(key));
        this.inflight.set(key, running);
      }
      cached = await running;
      await setJson(this.deps.cache, key, cached, { ttlMs: this.options.ttlMs });
    }
    const credentialTypes = this.credentialTypes(cached.metadata);
    const trust: TrustDecision =
      cached.signed.present && !cached.signed.verified
        ? {
            trusted: false,
            reason: 'not trusted: the issuer\'s signed_metadata does not verify',
            source: 'error',
            evaluatedAt: new Date(this.now()).toISOString(),
            expiresAt: new Date(this.now()).toISOString(),
            cached: false,
          }
        : await this.deps.trust.evaluate({
            tenantId,
            entityId: issuer,
            role: 'credential-issuer',
            ...(cached.key ? { key: cached.key as TrustKey } : {}),
            ...(credentialTypes.length ? { credentialTypes } : {}),
          });
    return {
      issuer,
      credential_issuer_metadata: cached.metadata,
      signed_metadata: cached.signed,
      authorization_servers: cached.authorizationServers,
      trust,
      cache: hit ? 'hit' : 'miss',
    };
  }

  /** vct / doctype values of the configured credentials, as the PDP's credential types. */
  private credentialTypes(metadata: Record<string, unknown>): string[] {
    const configs = metadata['credential_configurations_supported'];
    if (!isObject(configs)) return [];
    const types = new Set<string>();
    for (const config of Object.values(configs)) {
      if (!isObject(config)) continue;
      for (const field of ['vct', 'doctype']) if (typeof config[field] === 'string') types.add(config[field] as string);
    }
    return [...types].slice(0, 50);
  }

  private async fetchJson(urls: string[], what: string): Promise<Record<string, unknown>> {
    for (const url of urls) {
      const response = await this.deps.http.fetch(url, { accept: JSON_TYPES, maxBytes: this.options.maxDocumentBytes });
      if (response.status === 404) continue;
      if (response.status !== 200) throw upstreamError('upstream_status', `the ${what} host answered HTTP ${response.status}`);
      const body = response.json();
      if (!isObject(body)) throw upstreamError('invalid_metadata', `the ${what} is not a JSON object`);
      return body;
    }
    throw new NotFoundError(what);
  }

  private async discover(issuer: string): Promise<Cached> {
    const unsigned = await this.fetchJson(wellKnownUrls(issuer, 'openid-credential-issuer'), 'credential issuer metadata');
    if (unsigned['credential_issuer'] !== issuer) {
      throw upstreamError('invalid_metadata', 'the credential issuer metadata names another credential_issuer');
    }
    let metadata = unsigned;
    let signed: SignedMetadataStatus = { present: false, verified: false };
    let key: TrustKey | null = null;
    if (unsigned['signed_metadata'] !== undefined) {
      const result = await this.verifySigned(unsigned['signed_metadata'], issuer);
      signed = result.status;
      key = result.key;
      if (result.claims) metadata = { ...unsigned, ...result.claims };
    }
    key ??= await this.issuerKey(issuer);
    const servers = Array.isArray(metadata['authorization_servers'])
      ? metadata['authorization_servers'].filter((s): s is string => typeof s === 'string').slice(0, 5)
      : [issuer];
    const authorizationServers = await Promise.all(servers.map((as) => this.authorizationServer(as)));
    return { metadata, signed, authorizationServers, key };
  }

  private async verifySigned(
    jwt: unknown,
    issuer: string,
  ): Promise<{ status: SignedMetadataStatus; key: TrustKey | null; claims: Record<string, unknown> | null }> {
    const fail = (error: string) => ({ status: { present: true, verified: false, error }, key: null, claims: null });
    if (typeof jwt !== 'string' || jwt.length > 65_536) return fail('signed_metadata is not a JWT');
    try {
      const header = decodeProtectedHeader(jwt);
      let verificationKey;
      let trustKey: TrustKey;
      if (Array.isArray(header.x5c) && header.x5c.length > 0 && typeof header.x5c[0] === 'string') {
        const pem = `-----BEGIN CERTIFICATE-----\n${header.x5c[0]}\n-----END CERTIFICATE-----`;
        verificationKey = await importX509(pem, String(header.alg));
        trustKey = { type: 'x5c', x5c: header.x5c.map(String) };
      } else if (isObject(header.jwk)) {
        verificationKey = await importJWK(header.jwk as JWK, String(header.alg));
        trustKey = { type: 'jwk', jwk: header.jwk };
      } else {
        return fail('signed_metadata names no key (x5c or jwk header)');
      }
      const { payload } = await jwtVerify(jwt, verificationKey, {
        algorithms: ['ES256', 'ES384', 'ES512', 'EdDSA', 'PS256', 'RS256'],
        subject: issuer,
        requiredClaims: ['iat'],
      });
      const claims = Object.fromEntries(Object.entries(payload).filter(([name]) => !JWT_CLAIMS.has(name)));
      return { status: { present: true, verified: true }, key: trustKey, claims };
    } catch (error) {
      return fail(`signed_metadata does not verify (${error instanceof Error ? error.message.slice(0, 120) : 'invalid'})`);
    }
  }

  /** The first key of the issuer's SD-JWT VC issuer metadata, or null. */
  private async issuerKey(issuer: string): Promise<TrustKey | null> {
    try {
      const doc = await this.fetchJson(wellKnownUrls(issuer, 'jwt-vc-issuer'), 'SD-JWT VC issuer metadata');
      let jwks = doc['jwks'];
      if (!isObject(jwks) && typeof doc['jwks_uri'] === 'string') {
        jwks = await this.fetchJson([doc['jwks_uri']], 'issuer JWKS');
      }
      const first = isObject(jwks) && Array.isArray(jwks['keys']) ? jwks['keys'][0] : undefined;
      return isObject(first) && typeof first['kty'] === 'string' ? { type: 'jwk', jwk: first } : null;
    } catch (error) {
      if (isWalletError(error)) return null;
      throw error;
    }
  }

  private async authorizationServer(as: string): Promise<AuthorizationServerMetadata> {
    try {
      const urls = [...wellKnownUrls(as, 'oauth-authorization-server'), ...wellKnownUrls(as, 'openid-configuration')];
      const metadata = await this.fetchJson(urls, 'authorization server metadata');
      if (metadata['issuer'] !== as) return { issuer: as, metadata: null, error: 'the metadata names another issuer' };
      return { issuer: as, metadata };
    } catch (error) {
      return { issuer: as, metadata: null, error: error instanceof Error ? error.message : 'unavailable' };
    }
  }
}
