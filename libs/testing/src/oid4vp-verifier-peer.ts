import type { HashAlgorithm, Jwk, JwtSigner, SignJwtCallback, VerifyJwtCallback } from '@openid4vc/oauth2';
import { readBody } from './read-body';
import type { Openid4vpVerifier, VerifiedTransactionDataEntry } from '@openid4vc/openid4vp';
import { digest, ES256 } from '@sd-jwt/crypto-nodejs';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { SignJWT, compactDecrypt, compactVerify, decodeProtectedHeader, importJWK, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestPki } from './pki';

/**
 * Who the verifier says it is: the client id prefix of its requests and the
 * key material that backs it.
 */
export type TestVerifierClient =
  /** `x509_san_dns:<dnsName>`, the request signed with the PKI's leaf (x5c header). `dnsName` defaults to the peer's host. */
  | { prefix: 'x509_san_dns'; pki: TestPki; dnsName?: string }
  /** `x509_hash:<sha-256 of the leaf>`, signed with the PKI's leaf. */
  | { prefix: 'x509_hash'; pki: TestPki }
  /** `decentralized_identifier:<did>`, signed with the DID's key (`kid` = a DID URL). */
  | { prefix: 'decentralized_identifier'; key: { did: string; kid: string; privateJwk: JWK } }
  /**
   * `verifier_attestation:<identifier>`: a fresh request key, attested by a
   * `verifier-attestation+jwt` the attester's PKI leaf signs (x5c), whose
   * `sub` is the identifier and `cnf.jwk` the request key; the attestation
   * travels in the request's `jwt` header.
   */
  | { prefix: 'verifier_attestation'; identifier: string; attester: TestPki; name?: string; redirectUris?: string[] }
  /** A client id without a prefix, signed with a key the wallet knows from registration (`jwk` header). */
  | { prefix: 'pre-registered'; clientId: string; privateJwk: JWK };

export interface TestVerifierRequestOptions {
  client: TestVerifierClient;
  /** The DCQL query. */
  dcqlQuery: Record<string, unknown>;
  /** Default `direct_post`. `direct_post.jwt` puts a per-request ECDH-ES key into `client_metadata.jwks`. */
  responseMode?: 'direct_post' | 'direct_post.jwt';
  /** How the wallet fetches the request object (default `get`, and then no `request_uri_method` in the link). */
  requestUriMethod?: 'get' | 'post';
  /** Transaction data items (JSON objects); each is sent base64url-encoded. */
  transactionData?: Array<Record<string, unknown>>;
  /** The host of `response_uri` (default the peer's host): another loopback name for a request that lies about its origin. */
  responseUriHost?: string;
  /** Claims set in the request object over the library's (e.g. `iat`/`exp` in the past, padding). */
  jarClaims?: Record<string, unknown>;
  /** `enc` values the verifier accepts for `direct_post.jwt` (default `['A256GCM']`). */
  encValues?: string[];
  /** `client_metadata.client_name`. */
  clientName?: string;
  /** POST: put the wallet's `wallet_nonce` into the request object (default true). */
  echoWalletNonce?: boolean;
  /** direct_post.jwt: leave the encryption key out of `client_metadata` (a request the wallet cannot answer). */
  omitEncryptionKey?: boolean;
}

/** One fetch of the request object. */
export interface TestVerifierRequestFetch {
  method: 'GET' | 'POST';
  /** POST: the `wallet_nonce` the wallet sent (echoed in the signed request object). */
  walletNonce?: string;
  /** POST: the parsed `wallet_metadata`. */
  walletMetadata?: Record<string, unknown>;
  /** POST: why `wallet_metadata` does not pass the library's schema, if it does not. */
  walletMetadataProblem?: string;
  /** The request object served. */
  requestObject: string;
}

/** A presentation the peer verified with `@sd-jwt/sd-jwt-vc`. */
export interface TestVerifiedPresentation {
  /** The DCQL credential query id it answers. */
  queryId: string;
  /** The issuer-signed claims with the disclosures applied (what the verifier learned). */
  claims: Record<string, unknown>;
  /** The claim names of the disclosures presented, sorted (array element disclosures as `[]`). */
  disclosures: string[];
  kb: { header: Record<string, unknown>; payload: Record<string, unknown> };
}

/** What arrived at `response_uri`. */
export interface TestVerifierResponse {
  responseMode: 'direct_post' | 'direct_post.jwt';
  /** direct_post.jwt: the JWE protected header. */
  jweHeader?: Record<string, unknown>;
  /** The library's JARM type (`Encrypted`, `Signed`, `SignedEncrypted`). */
  jarmType?: string;
  /** An error response (`error=access_denied` when the user declined). */
  error?: string;
  /** Why the peer refused the response (the response, or a presentation in it, did not verify); answered with HTTP 400. */
  rejected?: string;
  presentations: TestVerifiedPresentation[];
  /** The library's check of `transaction_data_hashes` against the request's transaction data. */
  transactionData?: VerifiedTransactionDataEntry[];
}

export interface TestVerifierRequest {
  id: string;
  /** The link for the wallet: `openid4vp://?client_id=…&request_uri=…[&request_uri_method=post]`. */
  link: string;
  clientId: string;
  /** The client id the presentations' `aud` must name (the library's `getOpenid4vpClientId`). */
  effectiveClientId: string;
  nonce: string;
  state: string;
  responseUri: string;
  /** Where the verifier sends the browser after a verified response (`redirect_uri` of the answer). */
  redirectUri: string;
  /** The request's key material as a trust evaluator sees it. */
  publicKey: { x5c: string[] } | { jwk: JWK };
  /** The transaction data strings as sent. */
  transactionData: string[];
  readonly fetches: TestVerifierRequestFetch[];
  readonly responses: TestVerifierResponse[];
}

export interface TestVerifier {
  /** `http://<host>:<port>`; the server listens on 127.0.0.1 only. */
  readonly url: string;
  createRequest(options: TestVerifierRequestOptions): Promise<TestVerifierRequest>;
  close(): Promise<void>;
}

export interface TestVerifierOptions {
  /** The host name in the peer's URLs (default `localhost`: the x509_san_dns name). */
  host?: string;
  /** The issuer keys credentials must be signed with (public JWKs). */
  issuerKeys: JWK[];
}

type Json = Record<string, unknown>;

const MAX_BODY_BYTES = 1_048_576;
const KB_IAT_WINDOW_S = 300;
const WALLET_STATIC_AUDIENCE = 'https://self-issued.me/v2';

const rand = (bytes = 16) => randomBytes(bytes).toString('base64url');
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const hash = (data: Uint8Array, alg: HashAlgorithm) => createHash(alg.replace('-', '')).update(data).digest();

function publicPart(jwk: JWK | Jwk): JWK {
  const { kty, crv, x, y, n, e } = jwk;
  return JSON.parse(JSON.stringify({ kty, crv, x, y, n, e })) as JWK;
}

function newEcKey(): { privateJwk: JWK; publicJwk: JWK } {
  const privateJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as JWK;
  return { privateJwk, publicJwk: publicPart(privateJwk) };
}

/** The claim names of an SD-JWT's disclosures (`[]` for an array element), sorted. */
function disclosureNames(compact: string): string[] {
  const parts = compact.split('~');
  // issuer JWT, disclosures..., KB-JWT (or '' without one)
  return parts
    .slice(1, -1)
    .filter(Boolean)
    .map((encoded) => {
      const decoded = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as unknown[];
      return decoded.length === 3 ? String(decoded[1]) : '[]';
    })
    .sort();
}

/**
 * A relying party of OpenID4VP 1.0 built from third-party code, on
 * 127.0.0.1 (random port): requests are made and signed with
 * `Openid4vpVerifier` from `@openid4vc/openid4vp` (signed request objects by
 * reference, served on GET and on POST with `wallet_metadata` and
 * `wallet_nonce`), responses are parsed by the same library (`direct_post`,
 * or `direct_post.jwt` decrypted with jose), and every presentation is
 * verified with `@sd-jwt/sd-jwt-vc`: issuer signature, key binding
 * required, `sd_hash`, and the nonce and audience checked here. Everything
 * received is recorded for assertions.
 */
export async function startTestVerifier(options: TestVerifierOptions): Promise<TestVerifier> {
  // Imported here, not at the top: loading @openid4vc sets zod's global error map (z.config), which would
  // change validation messages in every suite that merely imports @wallet/testing.
  const { setGlobalConfig } = await import('@openid4vc/oauth2');
  const { Openid4vpVerifier: VerifierClass, calculateX509HashClientIdPrefixValue, getOpenid4vpClientId, zWalletMetadata } = await import('@openid4vc/openid4vp');
  setGlobalConfig({ allowInsecureUrls: true });

  const host = options.host ?? 'localhost';
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;

  const issuerVerifiers = await Promise.all(options.issuerKeys.map((jwk) => ES256.getVerifier(publicPart(jwk))));
  const sdJwtVc = new SDJwtVcInstance({
    hasher: digest,
    verifier: async (data: string, signature: string) => {
      for (const verify of issuerVerifiers) if (await verify(data, signature)) return true;
      return false;
    },
    kbVerifier: async (data: string, signature: string, payload: Json) => {
      const cnf = payload['cnf'];
      if (!isObject(cnf) || !isObject(cnf['jwk'])) return false;
      return (await ES256.getVerifier(publicPart(cnf['jwk'] as unknown as JWK)))(data, signature);
    },
  });

  interface Entry {
    record: TestVerifierRequest;
    payload: Json;
    verifier: Openid4vpVerifier;
    jwtSigner: JwtSigner;
    jarClaims: Json;
    echoWalletNonce: boolean;
    encryption?: { privateJwk: JWK; publicJwk: JWK };
  }
  const entries = new Map<string, Entry>();

  /** Signs the request object, echoing the wallet's nonce when it sent one (POST). */
  async function requestObject(entry: Entry, walletNonce?: string): Promise<string> {
    const created = await entry.verifier.createOpenId4vpAuthorizationRequest({
      authorizationRequestPayload: { ...entry.payload, ...(walletNonce !== undefined ? { wallet_nonce: walletNonce } : {}) } as never,
      jar: {
        jwtSigner: entry.jwtSigner,
        requestUri: `${url}/request/${entry.record.id}`,
        expiresInSeconds: 300,
        // OpenID4VP 1.0 §5.8: the static wallet audience (the library would put the request_uri here).
        additionalJwtPayload: { aud: WALLET_STATIC_AUDIENCE, ...entry.jarClaims },
      },
      ...(walletNonce !== undefined ? { wallet: { expectedNonce: walletNonce } } : {}),
    });
    return created.jar!.authorizationRequestJwt;
  }

  async function serveRequest(entry: Entry, req: IncomingMessage, body: string | undefined): Promise<{ status: number; type: string; body: string }> {
    if (req.method === 'GET') {
      const jwt = await requestObject(entry);
      entry.record.fetches.push({ method: 'GET', requestObject: jwt });
      return { status: 200, type: 'application/oauth-authz-req+jwt', body: jwt };
    }
    if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded') || body === undefined) {
      return { status: 400, type: 'application/json', body: JSON.stringify({ error: 'invalid_request', error_description: 'expected a form' }) };
    }
    const form = new URLSearchParams(body);
    const walletNonce = form.get('wallet_nonce') ?? undefined;
    let walletMetadata: Json | undefined;
    let walletMetadataProblem: string | undefined;
    const rawMetadata = form.get('wallet_metadata');
    if (rawMetadata !== null) {
      try {
        const parsed: unknown = JSON.parse(rawMetadata);
        if (isObject(parsed)) walletMetadata = parsed;
        const checked = zWalletMetadata.safeParse(parsed);
        if (!checked.success) walletMetadataProblem = checked.error.message.slice(0, 500);
      } catch {
        walletMetadataProblem = 'wallet_metadata is not JSON';
      }
    }
    const jwt = await requestObject(entry, entry.echoWalletNonce ? walletNonce : undefined);
    entry.record.fetches.push({
      method: 'POST',
      ...(walletNonce !== undefined ? { walletNonce } : {}),
      ...(walletMetadata ? { walletMetadata } : {}),
      ...(walletMetadataProblem ? { walletMetadataProblem } : {}),
      requestObject: jwt,
    });
    return { status: 200, type: 'application/oauth-authz-req+jwt', body: jwt };
  }

  /** Verifies one SD-JWT VC presentation; throws with the reason. */
  async function verifyPresentation(entry: Entry, queryId: string, presentation: unknown): Promise<TestVerifiedPresentation> {
    if (typeof presentation !== 'string') throw new Error(`the presentation for "${queryId}" is not a compact SD-JWT`);
    const { payload, kb } = await sdJwtVc.verify(presentation, { keyBindingNonce: entry.record.nonce });
    if (!kb) throw new Error(`the presentation for "${queryId}" has no key binding`);
    const kbPayload = kb.payload as unknown as Json;
    if (kbPayload['aud'] !== entry.record.effectiveClientId) throw new Error(`the KB-JWT aud ${String(kbPayload['aud'])} is not ${entry.record.effectiveClientId}`);
    if (kbPayload['nonce'] !== entry.record.nonce) throw new Error('the KB-JWT nonce is not the request nonce');
    const iat = Number(kbPayload['iat']);
    if (!(Math.abs(iat - Date.now() / 1000) <= KB_IAT_WINDOW_S)) throw new Error('the KB-JWT iat is not recent');
    const query = ((entry.payload['dcql_query'] as { credentials: Json[] }).credentials ?? []).find((c) => c['id'] === queryId);
    if (!query) throw new Error(`the response answers "${queryId}", which the query does not ask`);
    const vctValues = (query['meta'] as { vct_values?: string[] } | undefined)?.vct_values;
    const claims = payload as Json;
    if (vctValues && !vctValues.includes(String(claims['vct']))) throw new Error(`the credential for "${queryId}" is of another vct`);
    return { queryId, claims, disclosures: disclosureNames(presentation), kb: { header: kb.header as unknown as Json, payload: kbPayload } };
  }

  async function receiveResponse(entry: Entry, req: IncomingMessage, body: string | undefined): Promise<{ status: number; body: Json }> {
    const mode = entry.payload['response_mode'] as 'direct_post' | 'direct_post.jwt';
    if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded') || body === undefined) {
      entry.record.responses.push({ responseMode: mode, rejected: 'not a form', presentations: [] });
      return { status: 400, body: { error: 'invalid_request' } };
    }
    const form = Object.fromEntries(new URLSearchParams(body));
    if (typeof form['error'] === 'string') {
      entry.record.responses.push({ responseMode: mode, error: form['error'], presentations: [] });
      return { status: 200, body: {} };
    }
    const received: TestVerifierResponse = { responseMode: mode, presentations: [] };
    entry.record.responses.push(received);
    try {
      if (mode === 'direct_post.jwt') {
        if (typeof form['response'] !== 'string') throw new Error('direct_post.jwt without a response parameter');
        received.jweHeader = decodeProtectedHeader(form['response']) as Json;
      } else if (form['response'] !== undefined) {
        throw new Error('an encrypted response to a direct_post request');
      }
      const parsed = await entry.verifier.parseOpenid4vpAuthorizationResponse({
        authorizationResponse: form,
        authorizationRequestPayload: entry.payload as never,
        callbacks: { decryptJwe: decryptJwe(entry), verifyJwt },
      });
      if (parsed.jarm) received.jarmType = parsed.jarm.type;
      if (parsed.type !== 'dcql') throw new Error(`expected a DCQL response, got ${parsed.type}`);
      for (const [queryId, presentations] of Object.entries(parsed.dcql.presentations)) {
        for (const presentation of presentations) received.presentations.push(await verifyPresentation(entry, queryId, presentation));
      }
      if (entry.record.transactionData.length > 0) {
        const credentials: Record<string, Json[]> = {};
        for (const p of received.presentations) (credentials[p.queryId] ??= []).push(p.kb.payload);
        received.transactionData = await entry.verifier.verifyTransactionData({ transactionData: entry.record.transactionData, credentials: credentials as never });
      }
      return { status: 200, body: { redirect_uri: entry.record.redirectUri } };
    } catch (error) {
      received.rejected = error instanceof Error ? error.message.slice(0, 500) : String(error);
      return { status: 400, body: { error: 'invalid_request', error_description: received.rejected } };
    }
  }

  const decryptJwe =
    (entry: Entry) =>
    async (jwe: string, decryptOptions?: { jwk?: Jwk }): Promise<{ decrypted: true; decryptionJwk: Jwk; payload: string } | { decrypted: false }> => {
      const key = entry.encryption;
      if (!key || (decryptOptions?.jwk && decryptOptions.jwk.kid !== key.publicJwk.kid)) return { decrypted: false };
      try {
        const { plaintext } = await compactDecrypt(jwe, await importJWK(key.privateJwk, 'ECDH-ES'));
        return { decrypted: true, decryptionJwk: key.publicJwk as Jwk, payload: new TextDecoder().decode(plaintext) };
      } catch {
        return { decrypted: false };
      }
    };

  /** For signed responses (JARM), jwk signers only; the engine sends encrypted-only ones. */
  const verifyJwt: VerifyJwtCallback = async (signer, { compact }) => {
    if (signer.method !== 'jwk') return { verified: false };
    try {
      await compactVerify(compact, await importJWK(publicPart(signer.publicJwk), signer.alg));
      return { verified: true, signerJwk: signer.publicJwk };
    } catch {
      return { verified: false, signerJwk: signer.publicJwk };
    }
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, type: string, body: string) => res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    void (async () => {
      const path = new URL(req.url ?? '/', url).pathname;
      const match = /^\/(request|response|done)\/([\w-]+)$/.exec(path);
      const entry = match ? entries.get(match[2]!) : undefined;
      if (!match || !entry) return reply(404, 'application/json', '{"error":"not_found"}');
      const body = req.method === 'POST' ? await readBody(req, MAX_BODY_BYTES) : undefined;
      if (match[1] === 'request' && (req.method === 'GET' || req.method === 'POST')) {
        const answer = await serveRequest(entry, req, body);
        return reply(answer.status, answer.type, answer.body);
      }
      if (match[1] === 'response' && req.method === 'POST') {
        const answer = await receiveResponse(entry, req, body);
        return reply(answer.status, 'application/json', JSON.stringify(answer.body));
      }
      if (match[1] === 'done' && req.method === 'GET') return reply(200, 'text/plain', 'done');
      return reply(405, 'application/json', '{"error":"method_not_allowed"}');
    })().catch((error: unknown) => {
      if (!res.headersSent) reply(500, 'application/json', JSON.stringify({ error: 'server_error', error_description: String(error).slice(0, 300) }));
    });
  });

  async function clientFor(client: TestVerifierClient): Promise<{ clientId: string; jwtSigner: JwtSigner; privateJwk: JWK; extraHeader: Json; publicKey: TestVerifierRequest['publicKey'] }> {
    switch (client.prefix) {
      case 'x509_san_dns':
        return {
          clientId: `x509_san_dns:${client.dnsName ?? host}`,
          jwtSigner: { method: 'x5c', alg: 'ES256', x5c: client.pki.x5c },
          privateJwk: client.pki.leafPrivateJwk,
          extraHeader: {},
          publicKey: { x5c: client.pki.x5c },
        };
      case 'x509_hash': {
        const value = await calculateX509HashClientIdPrefixValue({ x509Certificate: client.pki.x5c[0]!, hash });
        // Cross-checked with node:crypto, so a library slip cannot make both sides agree on a wrong value.
        const own = createHash('sha256').update(new X509Certificate(Buffer.from(client.pki.x5c[0]!, 'base64')).raw).digest('base64url');
        if (own !== value) throw new Error('x509_hash: the library and node:crypto disagree');
        return {
          clientId: `x509_hash:${value}`,
          jwtSigner: { method: 'x5c', alg: 'ES256', x5c: client.pki.x5c },
          privateJwk: client.pki.leafPrivateJwk,
          extraHeader: {},
          publicKey: { x5c: client.pki.x5c },
        };
      }
      case 'decentralized_identifier':
        return {
          clientId: `decentralized_identifier:${client.key.did}`,
          jwtSigner: { method: 'did', alg: 'ES256', didUrl: client.key.kid },
          privateJwk: client.key.privateJwk,
          extraHeader: {},
          publicKey: { jwk: publicPart(client.key.privateJwk) },
        };
      case 'verifier_attestation': {
        const key = newEcKey();
        const now = Math.floor(Date.now() / 1000);
        const attestation = await new SignJWT({
          iss: 'https://attester.example',
          sub: client.identifier,
          iat: now,
          exp: now + 600,
          cnf: { jwk: key.publicJwk },
          ...(client.name ? { name: client.name } : {}),
          ...(client.redirectUris ? { redirect_uris: client.redirectUris } : {}),
        })
          .setProtectedHeader({ alg: 'ES256', typ: 'verifier-attestation+jwt', x5c: client.attester.x5c })
          .sign(await importJWK(client.attester.leafPrivateJwk, 'ES256'));
        return {
          clientId: `verifier_attestation:${client.identifier}`,
          // The request names no key of its own: the attestation's cnf.jwk is the key.
          jwtSigner: { method: 'custom', alg: 'ES256' },
          privateJwk: key.privateJwk,
          extraHeader: { jwt: attestation },
          publicKey: { x5c: client.attester.x5c },
        };
      }
      case 'pre-registered':
        return {
          clientId: client.clientId,
          jwtSigner: { method: 'jwk', alg: 'ES256', publicJwk: publicPart(client.privateJwk) as Jwk },
          privateJwk: client.privateJwk,
          extraHeader: {},
          publicKey: { jwk: publicPart(client.privateJwk) },
        };
    }
  }

  async function createRequest(request: TestVerifierRequestOptions): Promise<TestVerifierRequest> {
    const id = rand(12);
    const identity = await clientFor(request.client);
    const signJwt: SignJwtCallback = async (_signer, { header, payload }) => {
      const jwt = await new SignJWT(payload as JWTPayload)
        .setProtectedHeader({ ...(header as JWTHeaderParameters), ...identity.extraHeader })
        .sign(await importJWK(identity.privateJwk, 'ES256'));
      return { jwt, signerJwk: publicPart(identity.privateJwk) as Jwk };
    };
    const verifier = new VerifierClass({
      callbacks: {
        hash,
        signJwt,
        verifyJwt,
        decryptJwe: async () => ({ decrypted: false }),
        encryptJwe: async () => {
          throw new Error('the test verifier encrypts nothing');
        },
      },
    });
    const responseMode = request.responseMode ?? 'direct_post';
    const encryption = responseMode === 'direct_post.jwt' ? newEcKey() : undefined;
    if (encryption) encryption.publicJwk = { ...encryption.publicJwk, kid: `enc-${id}`, use: 'enc', alg: 'ECDH-ES' };
    const responseUri = `http://${request.responseUriHost ?? host}:${port}/response/${id}`;
    const nonce = rand();
    const state = rand();
    const transactionData = (request.transactionData ?? []).map((item) => Buffer.from(JSON.stringify(item)).toString('base64url'));
    const payload: Json = {
      response_type: 'vp_token',
      client_id: identity.clientId,
      response_mode: responseMode,
      response_uri: responseUri,
      nonce,
      state,
      dcql_query: request.dcqlQuery,
      client_metadata: {
        ...(request.clientName ? { client_name: request.clientName } : {}),
        vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] } },
        ...(encryption && !request.omitEncryptionKey ? { jwks: { keys: [encryption.publicJwk] } } : {}),
        ...(encryption ? { encrypted_response_enc_values_supported: request.encValues ?? ['A256GCM'] } : {}),
      },
      ...(transactionData.length ? { transaction_data: transactionData } : {}),
    };
    const record: TestVerifierRequest = {
      id,
      link: '',
      clientId: identity.clientId,
      effectiveClientId: getOpenid4vpClientId({ clientId: identity.clientId, responseMode }).effectiveClientId,
      nonce,
      state,
      responseUri,
      redirectUri: `${url}/done/${id}`,
      publicKey: identity.publicKey,
      transactionData,
      fetches: [],
      responses: [],
    };
    const entry: Entry = { record, payload, verifier, jwtSigner: identity.jwtSigner, jarClaims: request.jarClaims ?? {}, echoWalletNonce: request.echoWalletNonce ?? true, ...(encryption ? { encryption } : {}) };
    // The link as the library builds it (client_id and request_uri); it does not add request_uri_method.
    const created = await verifier.createOpenId4vpAuthorizationRequest({
      authorizationRequestPayload: payload as never,
      jar: { jwtSigner: identity.jwtSigner, requestUri: `${url}/request/${id}`, expiresInSeconds: 300, additionalJwtPayload: { aud: WALLET_STATIC_AUDIENCE } },
    });
    const link = new URL(created.authorizationRequest);
    if (request.requestUriMethod === 'post') link.searchParams.set('request_uri_method', 'post');
    record.link = link.toString();
    entries.set(id, entry);
    return record;
  }

  return {
    url,
    createRequest,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
