import { Openid4vpClient, type ResolvedOpenid4vpAuthorizationRequest } from '@openid4vc/openid4vp';
import { HashAlgorithm, type CallbackContext } from '@openid4vc/oauth2';
import {
  decodeCompactJws,
  didWebDocumentUrl,
  jwkFromDidDocument,
  jwkThumbprint,
  resolveSelfDescribingDid,
  subjectAltNames,
  toPublicKeyObject,
  validateX5c,
  verifyDecodedJws,
  ACCEPTED_JWS_ALGS,
} from '@wallet/crypto';
import type { DocumentFetch } from '@wallet/protocol';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { FlowFailure, describeError } from '../errors';
import type { GuardedFetch } from '../ports';
import { libraryFetch } from '../oid4vci/library-fetch';

/** A verifier the tenant registered (admin's verifier list), for the `pre-registered` client id prefix. */
export interface RegisteredVerifier {
  name: string;
  /** Keys its request objects may be signed with. */
  jwks: Array<Record<string, unknown>>;
}

export interface RequestResolverDeps {
  fetch: GuardedFetch;
  documents: DocumentFetch;
  /** PEM roots that x5c chains of signed requests and verifier attestations must lead to. */
  trustedRoots: readonly string[];
  /** The tenant's registered verifier with this client id, or null. */
  registeredVerifier(tenantId: string, clientId: string): Promise<RegisteredVerifier | null>;
  maxResponseBytes: number;
  now: () => number;
  clockSkewSeconds: number;
}

/** What the wallet tells a verifier about itself when it fetches a request with POST. */
export const WALLET_METADATA = {
  vp_formats_supported: {
    'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256', 'ES384', 'EdDSA'], 'kb-jwt_alg_values': ['ES256'] },
    jwt_vc_json: { alg_values: ['ES256'] },
  },
  client_id_prefixes_supported: ['x509_san_dns', 'x509_hash', 'decentralized_identifier', 'redirect_uri', 'verifier_attestation', 'pre-registered'],
  request_object_signing_alg_values_supported: ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'],
  authorization_encryption_alg_values_supported: ['ECDH-ES'],
  authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'],
  response_modes_supported: ['direct_post', 'direct_post.jwt'],
} as const;

/** The request as the flow keeps it (JSON-safe), after every check. */
export interface ResolvedRequest {
  payload: Record<string, unknown>;
  client: { prefix: string; identifier: string; effective: string; name?: string; logoUri?: string };
  signed: boolean;
  /** The key material the trust evaluator judges: the x5c chain, or the signing JWK. */
  key: { type: 'x5c'; x5c: string[] } | { type: 'jwk'; jwk: Record<string, unknown> } | null;
  dcql?: unknown;
  presentationDefinition?: unknown;
  transactionData: Array<{ encoded: string; decoded: Record<string, unknown>; credentialIds: string[] }>;
  version: number;
}

const invalid = (message: string, cause?: unknown) => new FlowFailure('invalid_request', message, cause === undefined ? {} : { cause });

function verifyWith(compact: string, jwk: Record<string, unknown>, alg: string): void {
  const decoded = decodeCompactJws(compact);
  verifyDecodedJws(decoded, toPublicKeyObject(jwk), [alg]);
}

function publicJwk(jwk: Record<string, unknown>): Record<string, unknown> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, k: _k, ...rest } = jwk;
  return rest;
}

/**
 * Fetches (by reference, with GET or POST) and verifies an OpenID4VP
 * authorization request, before anything else happens with it:
 * - the library (@openid4vc/openid4vp) parses it, checks the client id
 *   prefixes (SAN against the client id and response URI for `x509_san_*`,
 *   the leaf hash for `x509_hash`, a DID key for `decentralized_identifier`,
 *   `client_id` equal in link and object, `redirect_uri` equal to the
 *   response URI), `typ` and expiry;
 * - our signature callback decides which keys count: x5c chains must lead to
 *   a configured root, DIDs resolve (did:web through the guarded fetch),
 *   a verifier attestation must be signed by a trusted chain for this client
 *   id, a pre-registered verifier must be in the tenant's list with the key;
 * - unsigned requests only for the `redirect_uri` prefix, `aud` is the
 *   static wallet audience, `wallet_nonce` is echoed when we sent one.
 */
export async function resolveRequest(link: string, tenantId: string, deps: RequestResolverDeps): Promise<ResolvedRequest> {
  const fetch = libraryFetch((url, init) => deps.fetch(url, { ...init, maxBytes: deps.maxResponseBytes }));
  let attestedKey: ResolvedRequest['key'] = null;
  let attestationName: string | undefined;
  let attestationRedirectUris: string[] | undefined;
  /** Why our signature callback refused, for the client's error (the library says only "verification failed"). */
  let refusal: string | undefined;
  let registered: RegisteredVerifier | null = null;
  const verifyJwt: CallbackContext['verifyJwt'] = async (signer, jwt) => {
    const alg = jwt.header.alg;
    if (typeof alg !== 'string' || !ACCEPTED_JWS_ALGS.includes(alg)) return { verified: false };
    try {
      const clientId = typeof jwt.payload['client_id'] === 'string' ? jwt.payload['client_id'] : '';
      const attestation = jwt.header['jwt'];
      if (clientId.startsWith('verifier_attestation:')) {
        if (typeof attestation !== 'string') return { verified: false };
        const checked = checkAttestation(attestation, clientId.slice('verifier_attestation:'.length), deps);
        verifyWith(jwt.compact, checked.jwk, alg);
        // Trust is about who attested the verifier: the attestation's chain.
        attestedKey = { type: 'x5c', x5c: checked.x5c };
        attestationName = checked.name;
        attestationRedirectUris = checked.redirectUris;
        return { verified: true, signerJwk: checked.jwk as never };
      }
      if (signer.method === 'x5c') {
        const { publicKey } = validateX5c(signer.x5c, { trustedRoots: deps.trustedRoots, now: new Date(deps.now()) });
        const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
        verifyWith(jwt.compact, jwk, alg);
        attestedKey = { type: 'x5c', x5c: signer.x5c };
        return { verified: true, signerJwk: jwk as never };
      }
      if (signer.method === 'did') {
        const did = signer.didUrl.split('#')[0] ?? '';
        const jwk = did.startsWith('did:web:')
          ? (jwkFromDidDocument(JSON.parse(await deps.documents.getText(didWebDocumentUrl(did), ['application/did+json', 'application/json'])), did, signer.didUrl) as unknown as Record<string, unknown>)
          : (resolveSelfDescribingDid(signer.didUrl) as unknown as Record<string, unknown>);
        verifyWith(jwt.compact, jwk, alg);
        attestedKey = { type: 'jwk', jwk: publicJwk(jwk) };
        return { verified: true, signerJwk: jwk as never };
      }
      if (signer.method === 'jwk' && !clientId.includes(':')) {
        registered = await deps.registeredVerifier(tenantId, clientId);
        const thumbprint = jwkThumbprint(signer.publicJwk);
        const known = registered?.jwks.find((k) => {
          try {
            return jwkThumbprint(k) === thumbprint;
          } catch {
            return false;
          }
        });
        if (!known) {
          refusal = 'the request is not signed by a key of a verifier the tenant registered';
          return { verified: false };
        }
        verifyWith(jwt.compact, publicJwk(known), alg);
        attestedKey = { type: 'jwk', jwk: publicJwk(known) };
        return { verified: true, signerJwk: signer.publicJwk };
      }
      refusal = `a ${signer.method} signer cannot sign for this client id`;
      return { verified: false };
    } catch (error) {
      refusal = `the request signature or its key is not trusted (${describeError(error).replace(/^\w+: /, '').slice(0, 120)})`;
      return { verified: false };
    }
  };
  const client = new Openid4vpClient({
    callbacks: {
      fetch: fetch as NonNullable<CallbackContext['fetch']>,
      hash: (data, alg) => new Uint8Array(createHash(alg === HashAlgorithm.Sha384 ? 'sha384' : alg === HashAlgorithm.Sha512 ? 'sha512' : 'sha256').update(data).digest()),
      verifyJwt,
      // Encrypted request objects are not requested by this wallet (no key is published for them).
      decryptJwe: async () => ({ decrypted: false }),
      encryptJwe: async () => {
        throw new Error('not used while resolving');
      },
      signJwt: async () => {
        throw new Error('the wallet signs nothing while resolving a request');
      },
      getX509CertificateMetadata: (certificate: string) => {
        const names = subjectAltNames(new X509Certificate(Buffer.from(certificate, 'base64')));
        return { sanDnsNames: names.dns, sanUriNames: names.uri };
      },
    },
  });

  let params: Record<string, unknown>;
  try {
    params = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: link }).params as Record<string, unknown>;
  } catch (cause) {
    throw invalid(`the request link cannot be read: ${describeError(cause).replace(/^\w+: /, '')}`, cause);
  }
  // By reference: we fetch the request object ourselves, so a POST carries what OpenID4VP 1.0 says
  // (`wallet_metadata` as JSON and a `wallet_nonce`), then hand the library the object by value.
  let walletNonce: string | undefined;
  if (typeof params['request_uri'] === 'string') {
    const method = String(params['request_uri_method'] ?? 'get').toLowerCase();
    if (method !== 'get' && method !== 'post') throw invalid('request_uri_method must be get or post');
    walletNonce = method === 'post' ? randomBytes(16).toString('base64url') : undefined;
    const response = await deps.fetch(params['request_uri'], {
      method: method === 'post' ? 'POST' : 'GET',
      headers: {
        accept: 'application/oauth-authz-req+jwt, application/jwt;q=0.9',
        ...(method === 'post' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(method === 'post' ? { body: new URLSearchParams({ wallet_metadata: JSON.stringify(WALLET_METADATA), wallet_nonce: walletNonce ?? '' }).toString() } : {}),
      maxBytes: deps.maxResponseBytes,
    });
    if (response.status !== 200) throw invalid(`the request_uri answered HTTP ${response.status}`);
    const { request_uri: _uri, request_uri_method: _method, ...rest } = params;
    params = { ...rest, request: Buffer.from(response.body).toString('utf8').trim() };
  }
  const signed = typeof params['request'] === 'string';

  let resolved: ResolvedOpenid4vpAuthorizationRequest;
  try {
    resolved = await client.resolveOpenId4vpAuthorizationRequest({
      authorizationRequestPayload: params as never,
      wallet: { metadata: WALLET_METADATA as never, ...(walletNonce !== undefined ? { expectedNonce: walletNonce } : {}) },
    });
  } catch (cause) {
    if (cause instanceof FlowFailure) throw cause;
    throw invalid(refusal ?? `the request is not valid: ${describeError(cause).replace(/^\w+: /, '')}`, cause);
  }
  const payload = resolved.authorizationRequestPayload as Record<string, unknown>;
  const prefix = resolved.client.prefix;
  if (!signed && prefix !== 'redirect_uri') throw invalid(`an unsigned request is only accepted for the redirect_uri client id prefix, not ${prefix}`);
  if (signed && prefix === 'redirect_uri') throw invalid('a redirect_uri client id cannot sign its request');
  if (signed) {
    const jwtPayload = decodeCompactJws(String(params['request'])).payload;
    const aud = jwtPayload['aud'];
    if (aud !== undefined && aud !== 'https://self-issued.me/v2' && !(Array.isArray(aud) && aud.includes('https://self-issued.me/v2'))) {
      throw invalid('the request object is for another audience');
    }
    const now = Math.floor(deps.now() / 1000);
    if (typeof jwtPayload['exp'] === 'number' && jwtPayload['exp'] <= now - deps.clockSkewSeconds) throw invalid('the request object has expired');
    if (typeof jwtPayload['iat'] === 'number' && jwtPayload['iat'] > now + deps.clockSkewSeconds) throw invalid('the request object was issued in the future');
    if (walletNonce !== undefined && jwtPayload['wallet_nonce'] !== walletNonce) throw invalid('the request object does not echo our wallet_nonce');
  }
  const responseMode = payload['response_mode'];
  if (responseMode !== 'direct_post' && responseMode !== 'direct_post.jwt') throw invalid('only the direct_post and direct_post.jwt response modes are supported');
  // OpenID4VP 1.0 §5.10.5: an attestation that lists redirect URIs binds where the response may go.
  if (attestationRedirectUris && !attestationRedirectUris.includes(String(payload['response_uri']))) {
    throw invalid('the response_uri is not one the verifier attestation allows');
  }
  const metadata = (payload['client_metadata'] ?? {}) as Record<string, unknown>;
  if (responseMode === 'direct_post.jwt') checkEncryptionMetadata(metadata);
  if (!payload['dcql_query'] === !resolved.pex?.presentation_definition) throw invalid('the request must carry exactly one of dcql_query and presentation_definition');
  const name = (registered as RegisteredVerifier | null)?.name ?? attestationName ?? (typeof metadata['client_name'] === 'string' ? metadata['client_name'] : undefined);
  const logoUri = typeof metadata['logo_uri'] === 'string' ? metadata['logo_uri'] : undefined;
  const transactionData = (resolved.transactionData ?? []).map((entry) => {
    const decoded = entry.transactionData as Record<string, unknown>;
    const ids = Array.isArray(decoded['credential_ids']) ? decoded['credential_ids'].map(String) : [];
    // Transaction data binds to the presentations it names; an item naming none could be bound by nobody.
    if (ids.length === 0) throw invalid('a transaction_data item names no credential_ids');
    return { encoded: entry.encoded, decoded, credentialIds: ids };
  });
  return {
    payload,
    client: {
      prefix,
      identifier: resolved.client.identifier,
      effective: resolved.client.effective,
      ...(name ? { name: name.slice(0, 512) } : {}),
      ...(logoUri ? { logoUri } : {}),
    },
    signed,
    key: attestedKey,
    ...(payload['dcql_query'] ? { dcql: payload['dcql_query'] } : {}),
    ...(resolved.pex?.presentation_definition ? { presentationDefinition: resolved.pex.presentation_definition } : {}),
    transactionData,
    version: resolved.version,
  };
}

/**
 * A verifier attestation (OpenID4VP `verifier_attestation` prefix): a JWT of
 * type `verifier-attestation+jwt`, signed by a chain to a configured root,
 * about this client id (`sub`), unexpired; its `cnf.jwk` signs the request.
 */
/**
 * An encrypted response must be possible before the user is asked anything:
 * an ECDH-ES key (EC, for encryption or unrestricted) in the client metadata,
 * and a content encryption the wallet supports.
 */
function checkEncryptionMetadata(metadata: Record<string, unknown>): void {
  const jwks = metadata['jwks'] as { keys?: unknown } | undefined;
  const keys = Array.isArray(jwks?.keys) ? (jwks.keys as Array<Record<string, unknown>>) : [];
  if (!keys.some((k) => k['kty'] === 'EC' && (k['use'] === undefined || k['use'] === 'enc'))) {
    throw invalid('direct_post.jwt needs an EC encryption key in client_metadata.jwks, and there is none');
  }
  const encs = metadata['encrypted_response_enc_values_supported'];
  const supported: readonly string[] = WALLET_METADATA.authorization_encryption_enc_values_supported;
  if (Array.isArray(encs) && !encs.some((e) => supported.includes(String(e)))) {
    throw invalid(`the verifier accepts no content encryption this wallet supports (${supported.join(', ')})`);
  }
}

function checkAttestation(attestation: string, clientId: string, deps: RequestResolverDeps): { jwk: Record<string, unknown>; x5c: string[]; name?: string; redirectUris?: string[] } {
  const decoded = decodeCompactJws(attestation);
  if (decoded.header['typ'] !== 'verifier-attestation+jwt') throw new Error('not a verifier attestation');
  const x5c = decoded.header['x5c'];
  const { publicKey } = validateX5c(x5c, { trustedRoots: deps.trustedRoots, now: new Date(deps.now()) });
  const alg = String(decoded.header['alg']);
  verifyDecodedJws(decoded, publicKey, [alg].filter((a) => ACCEPTED_JWS_ALGS.includes(a)));
  const payload = decoded.payload;
  if (payload['sub'] !== clientId) throw new Error('the attestation is about another client');
  const now = Math.floor(deps.now() / 1000);
  if (typeof payload['exp'] !== 'number' || payload['exp'] <= now - deps.clockSkewSeconds) throw new Error('the attestation has expired');
  const cnf = payload['cnf'] as { jwk?: Record<string, unknown> } | undefined;
  if (!cnf?.jwk) throw new Error('the attestation binds no key');
  const name = typeof payload['name'] === 'string' ? payload['name'] : undefined;
  const redirectUris = Array.isArray(payload['redirect_uris']) ? payload['redirect_uris'].map(String) : undefined;
  return { jwk: publicJwk(cnf.jwk), x5c: (x5c as string[]).map(String), ...(name ? { name } : {}), ...(redirectUris ? { redirectUris } : {}) };
}
