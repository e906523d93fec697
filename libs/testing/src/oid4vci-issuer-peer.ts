import type {
  AuthorizationServerMetadata,
  HashAlgorithm,
  HttpMethod,
  Jwk,
  JwtSigner,
  JwtSignerJwk,
  RequestLike,
  SignJwtCallback,
  VerifyJwtCallback,
} from '@openid4vc/oauth2';
import { readBody } from './read-body';
import type { IssuerMetadataResult } from '@openid4vc/openid4vci';
import { CompactEncrypt, SignJWT, compactVerify, decodeJwt as decodeJwtClaims, importJWK, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { createHash, generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestPki, type TestPki } from './pki';
import { createDidJwkKey, createTestSdJwtIssuer, type TestSdJwtIssuer } from './sd-jwt-parties';

/** Options of {@link startTestIssuer}: which OpenID4VCI / OAuth features the peer advertises and enforces. */
export interface TestIssuerOptions {
  /** DPoP: false (Bearer tokens), true (DPoP-bound tokens), or 'nonce' (also demand server nonces: the first token request and the first credential request are answered with use_dpop_nonce challenges, per RFC 9449 §8 and §9). Default false. */
  dpop?: boolean | 'nonce';
  /** PAR: 'optional' (endpoint advertised), 'required' (require_pushed_authorization_requests), false (none). Default 'optional'. */
  par?: 'optional' | 'required' | false;
  /** batch_credential_issuance.batch_size; default 1 (no batch_credential_issuance in metadata). */
  batchSize?: number;
  /** Deferred issuance: the credential request answers 202 {transaction_id, interval}; the deferred endpoint answers issuance_pending `pendingPolls` times, then the credential(s). */
  deferred?: { pendingPolls: number; intervalSeconds: number };
  /** Advertise and serve a notification_endpoint (default true); received notifications are recorded. */
  notifications?: boolean;
  /** Issue refresh tokens (bound to the DPoP key when dpop is on). Default true. */
  refreshTokens?: boolean;
  /** Advertise credential_response_encryption (ECDH-ES + A128GCM/A256GCM); 'required' sets encryption_required. Encrypted responses are `application/jwt` compact JWEs to the wallet's jwk. Default false. */
  responseEncryption?: boolean | 'required';
  /** Serve signed_metadata (a JWT over the metadata, x5c header from a test PKI leaf whose SAN names the issuer host) besides the plain metadata. Default false. */
  signedMetadata?: boolean;
  /** How wallets find the credential signing key: 'jwt-vc-issuer' (default: /.well-known/jwt-vc-issuer with jwks, kid in header), 'x5c' (x5c chain from createTestPki in the header; expose the root PEM as `trustedRootPem`), 'did:jwk' (iss is a did:jwk, kid `<did>#0`). */
  issuerKey?: 'jwt-vc-issuer' | 'x5c' | 'did:jwk';
  /** Metadata claims the issuer prefers: nonce_endpoint present (default true). */
  nonceEndpoint?: boolean;
}

/** A running OpenID4VCI issuer + OAuth authorization server on 127.0.0.1, for end-to-end tests of wallets. */
export interface TestIssuer {
  /** credential_issuer identifier, e.g. http://127.0.0.1:41234 (also the authorization server issuer). */
  readonly url: string;
  /** Present when issuerKey is 'x5c' or signedMetadata is on. */
  readonly trustedRootPem?: string;
  /** Creates an offer. `grant` picks the grant in it; `txCode` adds a tx_code (numeric, length 6 unless given) to a pre-authorized grant; `byReference` serves the offer JSON at `<url>/offers/<id>` and returns a link with credential_offer_uri. `configurationIds` default ['pid_sd_jwt']. `issuerState` is put into an authorization_code grant. */
  createOffer(options?: {
    grant?: 'pre-authorized_code' | 'authorization_code';
    txCode?: boolean | { length?: number; input_mode?: 'numeric' | 'text' };
    byReference?: boolean;
    configurationIds?: string[];
    issuerState?: string;
  }): Promise<{ link: string; offer: Record<string, unknown>; txCode?: string }>;
  /** Make the next issued credentials faulty, for refusal tests: 'signature' (signed by a key the issuer does not publish), 'cnf' (bound to a random key, not the proof key), 'vct' (another vct than the configuration's), 'expired' (exp in the past). null resets. */
  tamper(kind: 'signature' | 'cnf' | 'vct' | 'expired' | null): void;
  /** Forgets every c_nonce handed out so far: the next proofs get `invalid_nonce`, as when a nonce expires in transit. */
  expireNonces(): void;
  /** Notifications received, in order. */
  readonly notifications: Array<{ notification_id: string; event: string; event_description?: string }>;
  /**
   * Every request the server handled: method, path, whether a DPoP header came, status answered; for a
   * DPoP header that is a JWT, its `jti` and `nonce` claims (so tests can see each proof is new and which
   * server nonce it carried).
   */
  readonly requests: Array<{ method: string; path: string; dpop: boolean; dpopJti?: string; dpopNonce?: string; status: number }>;
  /** Credentials issued so far (compact strings), for assertions. */
  readonly issued: string[];
  /** Stops the server, dropping kept-alive connections. */
  close(): Promise<void>;
}

type Tamper = 'signature' | 'cnf' | 'vct' | 'expired' | null;
type Json = Record<string, unknown>;
interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}
interface Ctx {
  query: URLSearchParams;
  headers: Headers;
  request: RequestLike;
  body: string;
}
/** What an access token grants: its `sub` names one of these. */
interface Session {
  configurationIds: string[];
  /** Set when authorization_details were used: credential_identifier → configuration id. */
  credentialIdentifiers?: Map<string, string>;
}
interface AuthorizationRecord {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  state?: string;
  configurationIds: string[];
  authorizationDetails?: Json[];
  jkt?: string;
  expiresAt: number;
}
interface Encryption {
  jwk: JWK;
  enc: string;
}

const MAX_BODY_BYTES = 64 * 1024;
const PROOF_IAT_WINDOW_S = 300;
const DPOP_IAT_WINDOW_S = 300;
const C_NONCE_TTL_S = 300;
const ENCRYPTION_ENCS = ['A128GCM', 'A256GCM'];
const NOTIFICATION_EVENTS = ['credential_accepted', 'credential_failure', 'credential_deleted'];
// A 1x1 transparent PNG, so the advertised logo URI resolves.
const LOGO_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

const rand = (bytes = 24) => randomBytes(bytes).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);
const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({ status, body, headers });
/** An OAuth error answer of this peer's own (the libraries' errors are mapped in `toReply`). */
class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status: number,
    readonly extra: Json,
  ) {
    super(description);
  }
}
const oauthError = (error: string, description: string, status = 400, extra: Json = {}) =>
  new OAuthError(error, description, status, extra);
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function newEcKey(): { privateJwk: JWK; publicJwk: JWK } {
  const privateJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as JWK;
  return { privateJwk, publicJwk: publicPart(privateJwk) };
}

/** Only the public members: what goes into `cnf.jwk`, JWKS and signer JWKs. */
function publicPart(jwk: Jwk | JWK): JWK {
  const { kty, crv, x, y, n, e } = jwk;
  return JSON.parse(JSON.stringify({ kty, crv, x, y, n, e })) as JWK;
}

/** The `jti` and `nonce` of a DPoP header, unverified (for the request log); nothing when it is not a JWT. */
function dpopClaims(header: string | string[] | undefined): { dpopJti?: string; dpopNonce?: string } {
  if (typeof header !== 'string') return {};
  try {
    const payload = decodeJwtClaims(header);
    return {
      ...(typeof payload.jti === 'string' ? { dpopJti: payload.jti } : {}),
      ...(typeof payload.nonce === 'string' ? { dpopNonce: payload.nonce } : {}),
    };
  } catch {
    return {};
  }
}

const hash = (data: Uint8Array, alg: HashAlgorithm) => createHash(alg.replace('-', '')).update(data).digest();

/**
 * The libraries' verifyJwt callback, for jwk and did:jwk signers (ES256 only). Which key to trust is
 * settled by the calling library function: the JWKS key for access tokens, the header key for proofs and DPoP.
 */
const verifyJwt: VerifyJwtCallback = async (signer, { compact }) => {
  let jwk: Jwk | undefined;
  if (signer.method === 'jwk') jwk = signer.publicJwk;
  else if (signer.method === 'did' && signer.didUrl.startsWith('did:jwk:')) {
    jwk = JSON.parse(Buffer.from((signer.didUrl.slice('did:jwk:'.length).split('#', 1)[0] ?? ''), 'base64url').toString('utf8')) as Jwk;
  }
  if (!jwk || signer.alg !== 'ES256') return { verified: false };
  try {
    await compactVerify(compact, await importJWK(publicPart(jwk), 'ES256'), { algorithms: ['ES256'] });
    return { verified: true, signerJwk: jwk };
  } catch {
    return { verified: false, signerJwk: jwk };
  }
};

function parseJsonBody(ctx: Ctx, error: string): Json {
  try {
    const body: unknown = JSON.parse(ctx.body);
    if (isObject(body)) return body;
  } catch {
    // answered below
  }
  throw oauthError(error, 'The body must be a JSON object');
}

function parseForm(ctx: Ctx): Record<string, string> {
  if (!ctx.headers.get('content-type')?.startsWith('application/x-www-form-urlencoded')) {
    throw oauthError('invalid_request', 'The body must be application/x-www-form-urlencoded');
  }
  return Object.fromEntries(new URLSearchParams(ctx.body));
}

/** Starts the issuer peer on 127.0.0.1 (random port). */
export async function startTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const dpopMode = options.dpop ?? false;
  const parMode = options.par ?? 'optional';
  const batchSize = options.batchSize ?? 1;
  const notificationsOn = options.notifications ?? true;
  const refreshTokensOn = options.refreshTokens ?? true;
  const encryptionMode = options.responseEncryption ?? false;
  const issuerKeyMode = options.issuerKey ?? 'jwt-vc-issuer';
  const nonceEndpointOn = options.nonceEndpoint ?? true;
  // Imported here, not at the top: loading @openid4vc sets zod's global error map (z.config), which would
  // change validation messages in every suite that merely imports @wallet/testing.
  const {
    Oauth2AuthorizationServer,
    Oauth2ResourceServer,
    Oauth2ResourceUnauthorizedError,
    Oauth2ServerErrorResponseError,
    PkceCodeChallengeMethod,
    authorizationCodeGrantIdentifier,
    clientAuthenticationAnonymous,
    decodeJwt,
    parsePushedAuthorizationRequestUriReferenceValue,
    preAuthorizedCodeGrantIdentifier,
    pushedAuthorizationRequestUriPrefix,
    refreshTokenGrantIdentifier,
    setGlobalConfig,
  } = await import('@openid4vc/oauth2');
  const { Openid4vciIssuer, Openid4vciVersion } = await import('@openid4vc/openid4vci');
  const { ValidationError } = await import('@openid4vc/utils');
  setGlobalConfig({ allowInsecureUrls: true });

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Keys. The access-token key is the only one in /jwks, because the resource server picks the
  // single signing key there (the library's jwk signer writes no kid).
  const asKey = newEcKey();
  const asSigner: JwtSignerJwk = { method: 'jwk', alg: 'ES256', publicJwk: asKey.publicJwk as Jwk };
  const pki: TestPki | undefined =
    issuerKeyMode === 'x5c' || options.signedMetadata
      ? createTestPki({ leafSan: `URI:${url},DNS:127.0.0.1,IP:127.0.0.1` })
      : undefined;
  const didKey = issuerKeyMode === 'did:jwk' ? createDidJwkKey() : undefined;
  const credentialKey =
    issuerKeyMode === 'x5c'
      ? { iss: url, privateJwk: pki!.leafPrivateJwk, header: { x5c: pki!.x5c } }
      : didKey
        ? { iss: didKey.did, privateJwk: didKey.privateJwk, header: { kid: didKey.kid } }
        : { iss: url, privateJwk: newEcKey().privateJwk, header: { kid: 'issuer-key-1' } };
  // Same header (kid / x5c) as the real key, so only the signature gives a tampered credential away.
  const rogueKey = newEcKey().privateJwk;
  const sdJwtIssuerFor = (privateJwk: JWK): Promise<TestSdJwtIssuer> =>
    createTestSdJwtIssuer(credentialKey.iss, { privateJwk, ...credentialKey.header });
  const sdJwtIssuer = await sdJwtIssuerFor(credentialKey.privateJwk);
  const rogueSdJwtIssuer = await sdJwtIssuerFor(rogueKey);

  const signJwt: SignJwtCallback = async (signer: JwtSigner, { header, payload }) => {
    const privateJwk =
      signer.method === 'x5c' && pki
        ? pki.leafPrivateJwk
        : signer.method === 'jwk' && signer.publicJwk.x === asKey.publicJwk.x
          ? asKey.privateJwk
          : undefined;
    if (!privateJwk) throw new Error(`test issuer: no key for signer ${signer.method}`);
    const jwt = await new SignJWT(payload as JWTPayload)
      .setProtectedHeader(header as JWTHeaderParameters)
      .sign(await importJWK(privateJwk, 'ES256'));
    return { jwt, signerJwk: publicPart(privateJwk) as Jwk };
  };
  const jwks = { keys: [{ ...asKey.publicJwk, kid: 'as-key-1', alg: 'ES256', use: 'sig' }] };
  const callbacks = {
    hash,
    verifyJwt,
    signJwt,
    generateRandom: (n: number) => randomBytes(n),
    clientAuthentication: clientAuthenticationAnonymous(),
    // The resource server fetches jwks_uri on every request: answer it in process, never over the network.
    fetch: async (input: string | URL | Request) => {
      const target = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (target !== `${url}/jwks`) throw new Error(`test issuer: unexpected fetch of ${target}`);
      return new Response(JSON.stringify(jwks), { headers: { 'Content-Type': 'application/json' } });
    },
  };
  const as = new Oauth2AuthorizationServer({ callbacks });
  const rs = new Oauth2ResourceServer({ callbacks });
  const issuer = new Openid4vciIssuer({ callbacks });

  // Metadata.
  const asMetadata: AuthorizationServerMetadata = as.createAuthorizationServerMetadata({
    issuer: url,
    token_endpoint: `${url}/token`,
    authorization_endpoint: `${url}/authorize`,
    jwks_uri: `${url}/jwks`,
    ...(parMode ? { pushed_authorization_request_endpoint: `${url}/par` } : {}),
    ...(parMode === 'required' ? { require_pushed_authorization_requests: true } : {}),
    code_challenge_methods_supported: ['S256'],
    ...(dpopMode ? { dpop_signing_alg_values_supported: ['ES256'] } : {}),
    'pre-authorized_grant_anonymous_access_supported': true,
    authorization_response_iss_parameter_supported: true,
    token_endpoint_auth_methods_supported: ['none'],
    grant_types_supported: [
      authorizationCodeGrantIdentifier,
      preAuthorizedCodeGrantIdentifier,
      ...(refreshTokensOn ? [refreshTokenGrantIdentifier] : []),
    ],
    response_types_supported: ['code'],
  });
  const pidVct = `${url}/vct/pid`;
  const diplomaType = ['VerifiableCredential', 'UniversityDegreeCredential'];
  const binding = {
    cryptographic_binding_methods_supported: ['jwk'],
    credential_signing_alg_values_supported: ['ES256'],
    proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } },
  };
  const display = (name: string) => [{ name, locale: 'en', logo: { uri: `${url}/logo.png`, alt_text: `${name} logo` } }];
  const claim = (name: string, label: string) => ({ path: [name], display: [{ name: label, locale: 'en' }] });
  const credentialIssuerMetadata = issuer.createCredentialIssuerMetadata({
    credential_issuer: url,
    credential_endpoint: `${url}/credential`,
    ...(nonceEndpointOn ? { nonce_endpoint: `${url}/nonce` } : {}),
    ...(options.deferred ? { deferred_credential_endpoint: `${url}/deferred` } : {}),
    ...(notificationsOn ? { notification_endpoint: `${url}/notification` } : {}),
    ...(batchSize > 1 ? { batch_credential_issuance: { batch_size: batchSize } } : {}),
    ...(encryptionMode
      ? {
          credential_response_encryption: {
            alg_values_supported: ['ECDH-ES'],
            enc_values_supported: ENCRYPTION_ENCS,
            encryption_required: encryptionMode === 'required',
          },
        }
      : {}),
    display: display('Test Issuer'),
    credential_configurations_supported: {
      pid_sd_jwt: {
        format: 'dc+sd-jwt',
        vct: pidVct,
        scope: 'pid',
        ...binding,
        credential_metadata: {
          display: display('Test PID'),
          claims: [claim('given_name', 'Given name'), claim('family_name', 'Family name'), claim('birthdate', 'Date of birth')],
        },
      },
      diploma_jwt: {
        format: 'jwt_vc_json',
        scope: 'diploma',
        credential_definition: { type: diplomaType },
        ...binding,
        credential_metadata: { display: display('University Degree'), claims: [claim('degree', 'Degree')] },
      },
      mdl_mdoc: {
        format: 'mso_mdoc',
        doctype: 'org.iso.18013.5.1.mDL',
        scope: 'mdl',
        ...binding,
        // mso_mdoc signing algorithms are COSE numbers in 1.0 (-7: ES256).
        credential_signing_alg_values_supported: [-7],
        credential_metadata: { display: display('Mobile Driving Licence') },
      },
    },
  });
  const issuerMetadata: IssuerMetadataResult = {
    originalDraftVersion: Openid4vciVersion.V1,
    credentialIssuer: credentialIssuerMetadata,
    authorizationServers: [asMetadata],
    knownCredentialConfigurations: issuer.getKnownCredentialConfigurationsSupported(credentialIssuerMetadata),
  };
  const signedMetadataJwt =
    pki && options.signedMetadata
      ? await issuer.createSignedCredentialIssuerMetadataJwt({
          credentialIssuerMetadata,
          signer: { method: 'x5c', x5c: pki.x5c, alg: 'ES256' },
          issuer: url,
        })
      : undefined;
  const configurationIds = Object.keys(credentialIssuerMetadata.credential_configurations_supported);

  // State.
  const preAuthCodes = new Map<string, { configurationIds: string[]; txCode?: string }>();
  const issuerStates = new Map<string, string[]>();
  const offersByReference = new Map<string, Json>();
  const parRequests = new Map<string, AuthorizationRecord>();
  const authCodes = new Map<string, AuthorizationRecord>();
  const refreshTokens = new Map<string, { sessionId: string; jkt?: string }>();
  const sessions = new Map<string, Session>();
  const cNonces = new Map<string, number>();
  const dpopJtis = new Set<string>();
  const dpopNonces = { as: rand(16), rs: rand(16) };
  const transactions = new Map<string, { sessionId: string; pendingPolls: number; credentials: string[] }>();
  const notificationIds = new Map<string, string>();
  const notifications: TestIssuer['notifications'] = [];
  const requests: TestIssuer['requests'] = [];
  const issued: string[] = [];
  let tamper: Tamper = null;

  const newCNonce = () => {
    const nonce = rand();
    cNonces.set(nonce, nowS() + C_NONCE_TTL_S);
    return nonce;
  };
  const dpopNonceHeader = (where: 'as' | 'rs'): Record<string, string> =>
    dpopMode === 'nonce' ? { 'DPoP-Nonce': dpopNonces[where] } : {};

  /**
   * What the libraries leave out of DPoP (they check signature, htm, htu, ath and jkt): iat freshness,
   * jti replay (RFC 9449 §11.1) and server nonces (§8 at the AS, §9 at the resource server).
   */
  function dpopProblem(payload: { iat?: number | undefined; jti?: string | undefined; nonce?: unknown }, where: 'as' | 'rs') {
    if (typeof payload.iat !== 'number' || Math.abs(nowS() - payload.iat) > DPOP_IAT_WINDOW_S) {
      return { error: 'invalid_dpop_proof', description: 'DPoP proof iat is not recent' };
    }
    if (!payload.jti || dpopJtis.has(payload.jti)) {
      return { error: 'invalid_dpop_proof', description: 'DPoP proof jti was already used' };
    }
    dpopJtis.add(payload.jti);
    if (dpopMode === 'nonce' && payload.nonce !== dpopNonces[where]) {
      return { error: 'use_dpop_nonce', description: 'Use the DPoP-Nonce this server sent' };
    }
    return undefined;
  }

  /** DPoP at the authorization server (token, PAR): answers 400 with a use_dpop_nonce challenge. */
  async function checkAsDpop(ctx: Ctx): Promise<Reply | undefined> {
    const dpopJwt = ctx.headers.get('DPoP');
    if (!dpopJwt) return undefined;
    const { payload } = await as.verifyDpopJwt({ dpopJwt, request: ctx.request, allowedSigningAlgs: ['ES256'] });
    const problem = dpopProblem(payload, 'as');
    if (!problem) return undefined;
    if (problem.error !== 'use_dpop_nonce') throw oauthError(problem.error, problem.description);
    return json(400, { error: problem.error, error_description: problem.description }, dpopNonceHeader('as'));
  }

  /** Access token (and DPoP) at the resource endpoints; returns the session or a 401 challenge. */
  async function authenticate(ctx: Ctx): Promise<{ sessionId: string; session: Session } | Reply> {
    const result = await rs.verifyResourceRequest({ request: ctx.request, resourceServer: url, authorizationServers: [asMetadata] });
    const bound = result.tokenPayload.cnf?.jkt !== undefined;
    // The library lets a DPoP-bound token through under the Bearer scheme when a DPoP header comes
    // along; RFC 9449 §7.1 wants the DPoP scheme.
    if (bound && result.scheme !== 'DPoP') {
      throw new Oauth2ResourceUnauthorizedError('bound token sent as Bearer', {
        scheme: 'DPoP',
        error: 'invalid_token',
        error_description: 'A DPoP-bound access token needs the DPoP scheme',
      });
    }
    if (bound) {
      const { payload } = decodeJwt({ jwt: ctx.headers.get('DPoP')! });
      const problem = dpopProblem(payload, 'rs');
      if (problem) {
        const challenge = new Oauth2ResourceUnauthorizedError(problem.description, {
          scheme: 'DPoP',
          error: problem.error,
          error_description: problem.description,
        });
        return json(
          401,
          { error: problem.error, error_description: problem.description },
          { 'WWW-Authenticate': challenge.toHeaderValue(), ...dpopNonceHeader('rs') },
        );
      }
    }
    const sessionId = result.tokenPayload.sub;
    const session = sessionId ? sessions.get(sessionId) : undefined;
    if (!sessionId || !session) {
      throw new Oauth2ResourceUnauthorizedError('unknown session', {
        scheme: result.scheme,
        error: 'invalid_token',
        error_description: 'Unknown access token subject',
      });
    }
    return { sessionId, session };
  }

  /**
   * credential_response_encryption is read here, not by the library: 0.4.6 parses it (and demands
   * `alg`, which OpenID4VCI 1.0 moved into the jwk) but never encrypts anything.
   */
  function takeEncryption(body: Json): { rest: Json; encryption?: Encryption } {
    const { credential_response_encryption: requested, ...rest } = body;
    if (requested === undefined) {
      if (encryptionMode === 'required') {
        throw oauthError('invalid_encryption_parameters', 'This issuer requires credential_response_encryption');
      }
      return { rest };
    }
    const bad = (why: string) => oauthError('invalid_encryption_parameters', why);
    if (!encryptionMode) throw bad('This issuer does not encrypt credential responses');
    if (!isObject(requested) || !isObject(requested.jwk) || typeof requested.enc !== 'string') {
      throw bad('credential_response_encryption needs jwk and enc');
    }
    const jwk = requested.jwk as unknown as JWK;
    const alg = requested.alg ?? jwk.alg ?? 'ECDH-ES';
    if (alg !== 'ECDH-ES' || jwk.kty !== 'EC') throw bad('Only ECDH-ES with an EC key is supported');
    if (!ENCRYPTION_ENCS.includes(requested.enc)) throw bad(`enc must be one of ${ENCRYPTION_ENCS.join(', ')}`);
    return { rest, encryption: { jwk, enc: requested.enc } };
  }

  async function credentialReply(
    status: number,
    body: unknown,
    encryption: Encryption | undefined,
    extraHeaders: Record<string, string>,
  ): Promise<Reply> {
    if (!encryption) return json(status, body, extraHeaders);
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(body)))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: encryption.enc, ...(encryption.jwk.kid ? { kid: encryption.jwk.kid } : {}) })
      .encrypt(await importJWK(publicPart(encryption.jwk), 'ECDH-ES'));
    return { status, body: jwe, headers: { 'Content-Type': 'application/jwt', ...extraHeaders } };
  }

  /** Single-use c_nonces and proof iat freshness: the library checks only the nonce value it is given. */
  async function verifyProofs(jwts: string[]): Promise<Jwk[]> {
    const nonces = new Set(jwts.map((jwt) => decodeJwt({ jwt }).payload.nonce));
    const [nonce] = nonces;
    const expiresAt = typeof nonce === 'string' ? cNonces.get(nonce) : undefined;
    if (nonces.size !== 1 || typeof nonce !== 'string' || expiresAt === undefined || expiresAt < nowS()) {
      throw oauthError(
        'invalid_nonce',
        'The proof nonce is not a fresh c_nonce of this issuer',
        400,
        nonceEndpointOn ? {} : { c_nonce: newCNonce(), c_nonce_expires_in: C_NONCE_TTL_S },
      );
    }
    cNonces.delete(nonce);
    const keys: Jwk[] = [];
    for (const jwt of jwts) {
      const { payload, signer } = await issuer.verifyCredentialRequestJwtProof({
        issuerMetadata,
        jwt,
        expectedNonce: nonce,
        nonceExpiresAt: new Date(expiresAt * 1000),
      });
      if (Math.abs(nowS() - payload.iat) > PROOF_IAT_WINDOW_S) {
        throw oauthError('invalid_proof', 'The proof iat is more than 5 minutes off');
      }
      keys.push(signer.publicJwk);
    }
    return keys;
  }

  async function issueCredential(configurationId: string, proofKey: Jwk): Promise<string> {
    const holderJwk = tamper === 'cnf' ? newEcKey().publicJwk : publicPart(proofKey);
    const iat = tamper === 'expired' ? nowS() - 7200 : nowS();
    const exp = tamper === 'expired' ? nowS() - 3600 : nowS() + 30 * 24 * 3600;
    const signingKey = tamper === 'signature' ? rogueKey : credentialKey.privateJwk;
    if (configurationId === 'pid_sd_jwt') {
      return (tamper === 'signature' ? rogueSdJwtIssuer : sdJwtIssuer).issue(
        { given_name: 'Erika', family_name: 'Mustermann', birthdate: '1984-01-26' },
        { _sd: ['given_name', 'family_name', 'birthdate'] },
        { vct: tamper === 'vct' ? `${url}/vct/other` : pidVct, holderJwk, iat, exp },
      );
    }
    if (configurationId === 'diploma_jwt') {
      const type = tamper === 'vct' ? ['VerifiableCredential', 'OtherCredential'] : diplomaType;
      return new SignJWT({
        cnf: { jwk: holderJwk },
        vc: {
          '@context': ['https://www.w3.org/2018/credentials/v1'],
          type,
          credentialSubject: { degree: { type: 'BachelorDegree', name: 'Bachelor of Science' } },
        },
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', ...credentialKey.header })
        .setIssuer(credentialKey.iss)
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(exp)
        .setJti(`urn:uuid:${rand(16)}`)
        .sign(await importJWK(signingKey, 'ES256'));
    }
    // Wallets pass mdocs through untouched, so an opaque blob that still says what it is bound to suffices.
    const docType = tamper === 'vct' ? 'org.example.other' : 'org.iso.18013.5.1.mDL';
    return Buffer.from(JSON.stringify({ docType, deviceKey: holderJwk, validUntil: exp, nonce: rand(8) })).toString('base64url');
  }

  function configurationsFromRequest(request: Json): { configurationIds: string[]; authorizationDetails?: Json[] } {
    const fromScope = String(request.scope ?? '')
      .split(' ')
      .flatMap((scope) =>
        configurationIds.filter((id) => scope && credentialIssuerMetadata.credential_configurations_supported[id]?.scope === scope),
      );
    let authorizationDetails: Json[] | undefined;
    if (request.authorization_details !== undefined) {
      try {
        const parsed: unknown =
          typeof request.authorization_details === 'string' ? JSON.parse(request.authorization_details) : request.authorization_details;
        if (Array.isArray(parsed) && parsed.every(isObject)) authorizationDetails = parsed;
      } catch {
        // answered below
      }
      const valid = authorizationDetails?.every(
        (d) =>
          d.type === 'openid_credential' &&
          typeof d.credential_configuration_id === 'string' &&
          configurationIds.includes(d.credential_configuration_id),
      );
      if (!valid) throw oauthError('invalid_authorization_details', 'authorization_details must name known credential configurations');
    }
    const fromDetails = (authorizationDetails ?? []).map((d) => String(d.credential_configuration_id));
    const fromIssuerState = typeof request.issuer_state === 'string' ? (issuerStates.get(request.issuer_state) ?? []) : [];
    const all = [...new Set([...fromScope, ...fromDetails])];
    const chosen = all.length > 0 ? all : fromIssuerState;
    if (chosen.length === 0) throw oauthError('invalid_scope', 'Request a credential by scope or authorization_details');
    return { configurationIds: chosen, ...(authorizationDetails ? { authorizationDetails } : {}) };
  }

  /** Checks what /authorize needs from a (pushed or query) authorization request. The library checks only its shape. */
  function authorizationRecord(request: Json, jkt: string | undefined): AuthorizationRecord {
    if (request.response_type !== 'code') throw oauthError('unsupported_response_type', 'response_type must be code');
    if (typeof request.client_id !== 'string' || typeof request.redirect_uri !== 'string') {
      throw oauthError('invalid_request', 'client_id and redirect_uri are required');
    }
    if (typeof request.code_challenge !== 'string' || request.code_challenge_method !== PkceCodeChallengeMethod.S256) {
      throw oauthError('invalid_request', 'PKCE with code_challenge_method S256 is required');
    }
    return {
      clientId: request.client_id,
      redirectUri: request.redirect_uri,
      codeChallenge: request.code_challenge,
      ...(typeof request.state === 'string' ? { state: request.state } : {}),
      ...configurationsFromRequest(request),
      ...(jkt ? { jkt } : {}),
      expiresAt: nowS() + 60,
    };
  }

  // Endpoints.
  async function par(ctx: Ctx): Promise<Reply> {
    const form = parseForm(ctx);
    const challenge = await checkAsDpop(ctx);
    if (challenge) return challenge;
    const parsed = await as.parsePushedAuthorizationRequest({ request: ctx.request, authorizationRequest: form });
    if (parsed.authorizationRequestJwt) throw oauthError('invalid_request', 'Request objects are not supported here');
    const verified = await as.verifyPushedAuthorizationRequest({
      request: ctx.request,
      authorizationRequest: parsed.authorizationRequest,
      authorizationServerMetadata: asMetadata,
      ...(parsed.dpop ? { dpop: { ...parsed.dpop, allowedSigningAlgs: ['ES256'] } } : {}),
    });
    const id = rand();
    parRequests.set(id, authorizationRecord(parsed.authorizationRequest, verified.dpop?.jwkThumbprint));
    const { pushedAuthorizationResponse } = as.createPushedAuthorizationResponse({
      requestUri: `${pushedAuthorizationRequestUriPrefix}${id}`,
      expiresInSeconds: 60,
    });
    return json(201, pushedAuthorizationResponse, { 'Cache-Control': 'no-store', ...dpopNonceHeader('as') });
  }

  /**
   * The front channel the library does not provide: approves at once (a logged-in user). Errors are
   * answered here, never redirected, because without client registration the redirect_uri is unvetted.
   */
  async function authorize(ctx: Ctx): Promise<Reply> {
    let record: AuthorizationRecord | undefined;
    const requestUri = ctx.query.get('request_uri');
    if (requestUri) {
      const id = parsePushedAuthorizationRequestUriReferenceValue({ uri: requestUri });
      record = parRequests.get(id);
      parRequests.delete(id);
      if (!record || record.expiresAt < nowS()) throw oauthError('invalid_request', 'Unknown, used or expired request_uri');
      if (ctx.query.get('client_id') !== record.clientId) {
        throw oauthError('invalid_request', 'client_id differs from the pushed request');
      }
    } else {
      if (parMode === 'required') throw oauthError('invalid_request', 'This server requires pushed authorization requests');
      const parsed = await as.parsePushedAuthorizationRequest({
        request: ctx.request,
        authorizationRequest: Object.fromEntries(ctx.query),
      });
      record = authorizationRecord(parsed.authorizationRequest, parsed.authorizationRequest.dpop_jkt);
    }
    const code = rand();
    authCodes.set(code, { ...record, expiresAt: nowS() + 60 });
    const location = new URL(record.redirectUri);
    location.searchParams.set('code', code);
    if (record.state !== undefined) location.searchParams.set('state', record.state);
    location.searchParams.set('iss', url);
    return { status: 302, headers: { Location: location.href } };
  }

  async function token(ctx: Ctx): Promise<Reply> {
    const form = parseForm(ctx);
    const parsed = as.parseAccessTokenRequest({ request: ctx.request, accessTokenRequest: form });
    const challenge = await checkAsDpop(ctx);
    if (challenge) return challenge;
    const dpop = {
      ...(parsed.dpop?.jwt === undefined ? {} : { jwt: parsed.dpop.jwt }),
      required: dpopMode !== false,
      allowedSigningAlgs: ['ES256'],
    };
    const common = { accessTokenRequest: parsed.accessTokenRequest, request: ctx.request, authorizationServerMetadata: asMetadata };
    const { grant } = parsed;
    let sessionId: string;
    let verified: Awaited<ReturnType<typeof as.verifyRefreshTokenAccessTokenRequest>>;
    let clientId: string | undefined;
    let authorizationDetails: Json[] | undefined;
    if (grant.grantType === preAuthorizedCodeGrantIdentifier) {
      const entry = preAuthCodes.get(grant.preAuthorizedCode);
      if (!entry) throw oauthError('invalid_grant', 'Unknown or used pre-authorized_code');
      verified = await as.verifyPreAuthorizedCodeAccessTokenRequest({
        ...common,
        grant,
        expectedPreAuthorizedCode: grant.preAuthorizedCode,
        ...(entry.txCode === undefined ? {} : { expectedTxCode: entry.txCode }),
        dpop,
      });
      // Consumed only on success, so a mistyped tx_code can be retried.
      preAuthCodes.delete(grant.preAuthorizedCode);
      sessionId = rand();
      sessions.set(sessionId, { configurationIds: entry.configurationIds });
    } else if (grant.grantType === authorizationCodeGrantIdentifier) {
      const entry = authCodes.get(grant.code);
      authCodes.delete(grant.code);
      if (!entry || entry.expiresAt < nowS()) throw oauthError('invalid_grant', 'Unknown, used or expired code');
      // The library compares neither redirect_uri nor client_id with the authorization request.
      if (form.redirect_uri !== entry.redirectUri) {
        throw oauthError('invalid_grant', 'redirect_uri differs from the authorization request');
      }
      if (form.client_id !== undefined && form.client_id !== entry.clientId) {
        throw oauthError('invalid_grant', 'client_id differs from the authorization request');
      }
      verified = await as.verifyAuthorizationCodeAccessTokenRequest({
        ...common,
        grant,
        expectedCode: grant.code,
        pkce: {
          ...(parsed.pkceCodeVerifier === undefined ? {} : { codeVerifier: parsed.pkceCodeVerifier }),
          codeChallenge: entry.codeChallenge,
          codeChallengeMethod: PkceCodeChallengeMethod.S256,
        },
        dpop: { ...dpop, ...(entry.jkt ? { expectedJwkThumbprint: entry.jkt, required: true } : {}) },
      });
      clientId = entry.clientId;
      sessionId = rand();
      authorizationDetails = entry.authorizationDetails?.map((d) => ({ ...d, credential_identifiers: [d.credential_configuration_id] }));
      sessions.set(sessionId, {
        configurationIds: entry.configurationIds,
        ...(authorizationDetails
          ? { credentialIdentifiers: new Map(entry.configurationIds.map((id) => [id, id])) }
          : {}),
      });
    } else {
      const entry = refreshTokensOn ? refreshTokens.get(grant.refreshToken) : undefined;
      if (!entry) throw oauthError('invalid_grant', 'Unknown or used refresh_token');
      verified = await as.verifyRefreshTokenAccessTokenRequest({
        ...common,
        grant,
        expectedRefreshToken: grant.refreshToken,
        dpop: { ...dpop, ...(entry.jkt ? { expectedJwkThumbprint: entry.jkt, required: true } : {}) },
      });
      refreshTokens.delete(grant.refreshToken);
      sessionId = entry.sessionId;
    }
    const response = await as.createAccessTokenResponse({
      authorizationServer: url,
      audience: url,
      subject: sessionId,
      expiresInSeconds: 300,
      signer: asSigner,
      ...(clientId ? { clientId } : {}),
      ...(verified.dpop ? { dpop: { jwk: verified.dpop.jwk } } : {}),
      refreshToken: refreshTokensOn,
      ...(nonceEndpointOn ? {} : { cNonce: newCNonce(), cNonceExpiresIn: C_NONCE_TTL_S }),
      ...(authorizationDetails ? { additionalAccessTokenResponsePayload: { authorization_details: authorizationDetails } } : {}),
    });
    if (response.refresh_token) {
      refreshTokens.set(response.refresh_token, { sessionId, ...(verified.dpop ? { jkt: verified.dpop.jwkThumbprint } : {}) });
    }
    return json(200, response, { 'Cache-Control': 'no-store', ...dpopNonceHeader('as') });
  }

  async function credential(ctx: Ctx): Promise<Reply> {
    const auth = await authenticate(ctx);
    if ('status' in auth) return auth;
    const { rest, encryption } = takeEncryption(parseJsonBody(ctx, 'invalid_credential_request'));
    const parsed = issuer.parseCredentialRequest({ issuerMetadata, credentialRequest: rest });
    const configurationId = parsed.credentialIdentifier
      ? auth.session.credentialIdentifiers?.get(parsed.credentialIdentifier)
      : parsed.credentialConfigurationId;
    if (!configurationId) {
      throw oauthError(
        'unknown_credential_configuration',
        'Request a credential_configuration_id (or a credential_identifier you were given)',
      );
    }
    if (auth.session.credentialIdentifiers && !parsed.credentialIdentifier) {
      throw oauthError('invalid_credential_request', 'Use the credential_identifier from the token response');
    }
    if (!auth.session.configurationIds.includes(configurationId)) {
      throw oauthError('invalid_credential_request', `The access token does not cover ${configurationId}`);
    }
    const jwts = parsed.proofs?.jwt;
    if (!jwts?.length) throw oauthError('invalid_proof', 'A jwt proof of the key to bind is required');
    if (jwts.length > batchSize) throw oauthError('invalid_credential_request', `At most ${batchSize} proofs per request`);
    const keys = await verifyProofs(jwts);
    const credentials: string[] = [];
    for (const key of keys) credentials.push(await issueCredential(configurationId, key));
    const cNonce = nonceEndpointOn ? {} : { cNonce: newCNonce(), cNonceExpiresInSeconds: C_NONCE_TTL_S };
    if (options.deferred) {
      const transactionId = rand();
      transactions.set(transactionId, { sessionId: auth.sessionId, pendingPolls: options.deferred.pendingPolls, credentials });
      const body = issuer.createCredentialResponse({
        credentialRequest: parsed,
        transactionId,
        interval: options.deferred.intervalSeconds,
        ...cNonce,
      });
      return credentialReply(202, body, encryption, dpopNonceHeader('rs'));
    }
    issued.push(...credentials);
    const notificationId = notificationsOn ? rand(16) : undefined;
    if (notificationId) notificationIds.set(notificationId, auth.sessionId);
    const body = issuer.createCredentialResponse({
      credentialRequest: parsed,
      credentials: credentials.map((c) => ({ credential: c })),
      ...(notificationId ? { notificationId } : {}),
      ...cNonce,
    });
    return credentialReply(200, body, encryption, dpopNonceHeader('rs'));
  }

  async function deferredCredential(ctx: Ctx): Promise<Reply> {
    const auth = await authenticate(ctx);
    if ('status' in auth) return auth;
    const { rest, encryption } = takeEncryption(parseJsonBody(ctx, 'invalid_credential_request'));
    const { deferredCredentialRequest } = issuer.parseDeferredCredentialRequest({ deferredCredentialRequest: rest });
    const transaction = transactions.get(deferredCredentialRequest.transaction_id);
    if (!transaction || transaction.sessionId !== auth.sessionId) throw oauthError('invalid_transaction_id', 'Unknown transaction_id');
    if (transaction.pendingPolls > 0) {
      transaction.pendingPolls -= 1;
      return json(
        400,
        { error: 'issuance_pending', error_description: 'Not ready yet', interval: options.deferred!.intervalSeconds },
        dpopNonceHeader('rs'),
      );
    }
    transactions.delete(deferredCredentialRequest.transaction_id);
    issued.push(...transaction.credentials);
    // No notification_id: 0.4.6 refuses it next to credentials in deferred responses (inverted check),
    // on both the issuer and the client side.
    const body = issuer.createDeferredCredentialResponse({ credentials: transaction.credentials.map((c) => ({ credential: c })) });
    return credentialReply(200, body, encryption, dpopNonceHeader('rs'));
  }

  /** The library has no notification request parser. */
  async function notification(ctx: Ctx): Promise<Reply> {
    const auth = await authenticate(ctx);
    if ('status' in auth) return auth;
    const body = parseJsonBody(ctx, 'invalid_notification_request');
    const { notification_id: id, event, event_description: description } = body;
    if (
      typeof id !== 'string' ||
      typeof event !== 'string' ||
      !NOTIFICATION_EVENTS.includes(event) ||
      (description !== undefined && typeof description !== 'string')
    ) {
      throw oauthError('invalid_notification_request', `Needs notification_id and event (${NOTIFICATION_EVENTS.join(', ')})`);
    }
    if (notificationIds.get(id) !== auth.sessionId) throw oauthError('invalid_notification_id', 'Unknown notification_id');
    notifications.push({ notification_id: id, event, ...(description !== undefined ? { event_description: description } : {}) });
    return { status: 204, headers: dpopNonceHeader('rs') };
  }

  function credentialIssuerMetadataReply(ctx: Ctx): Reply {
    // OpenID4VCI 1.0 §12.2.2: signed metadata by content negotiation; also embedded for earlier drafts.
    const wantsJwt = ctx.headers.get('accept')?.split(',')[0]?.trim().startsWith('application/jwt');
    if (signedMetadataJwt && wantsJwt) return { status: 200, body: signedMetadataJwt, headers: { 'Content-Type': 'application/jwt' } };
    return json(200, { ...credentialIssuerMetadata, ...(signedMetadataJwt ? { signed_metadata: signedMetadataJwt } : {}) });
  }

  const routes: Record<string, ((ctx: Ctx) => Reply | Promise<Reply>) | undefined> = {
    'GET /.well-known/openid-credential-issuer': credentialIssuerMetadataReply,
    'GET /.well-known/oauth-authorization-server': () => json(200, asMetadata),
    'GET /.well-known/jwt-vc-issuer':
      issuerKeyMode === 'jwt-vc-issuer'
        ? () => {
            const key = { ...publicPart(credentialKey.privateJwk), kid: 'issuer-key-1', alg: 'ES256', use: 'sig' };
            return json(200, { issuer: url, jwks: { keys: [key] } });
          }
        : undefined,
    'GET /jwks': () => json(200, jwks),
    'GET /vct/pid': () =>
      json(200, {
        vct: pidVct,
        name: 'Test PID',
        display: [{ locale: 'en', name: 'Test PID' }],
        claims: [
          { path: ['given_name'], display: [{ locale: 'en', label: 'Given name' }], sd: 'always' },
          { path: ['family_name'], display: [{ locale: 'en', label: 'Family name' }], sd: 'always' },
          { path: ['birthdate'], display: [{ locale: 'en', label: 'Date of birth' }], sd: 'always' },
        ],
      }),
    'GET /logo.png': () => ({ status: 200, body: LOGO_PNG, headers: { 'Content-Type': 'image/png' } }),
    'POST /nonce': nonceEndpointOn
      ? () =>
          json(200, issuer.createNonceResponse({ cNonce: newCNonce(), cNonceExpiresIn: C_NONCE_TTL_S }), {
            'Cache-Control': 'no-store',
          })
      : undefined,
    'POST /par': parMode ? par : undefined,
    'GET /authorize': authorize,
    'POST /token': token,
    'POST /credential': credential,
    'POST /deferred': options.deferred ? deferredCredential : undefined,
    'POST /notification': notificationsOn ? notification : undefined,
  };

  async function handle(req: IncomingMessage): Promise<Reply> {
    const target = new URL(req.url ?? '/', url);
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) {
      return json(413, { error: 'invalid_request', error_description: `Bodies are limited to ${MAX_BODY_BYTES} bytes` });
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const method = req.method ?? 'GET';
    // The libraries compare DPoP htu with this URL, so it is the public one without the query.
    const request: RequestLike = { method: method as HttpMethod, url: `${url}${target.pathname}`, headers };
    const ctx: Ctx = { query: target.searchParams, headers, body, request };
    const offerId = /^\/offers\/([\w-]+)$/.exec(target.pathname)?.[1];
    if (method === 'GET' && offerId !== undefined) {
      const offer = offersByReference.get(offerId);
      return offer ? json(200, offer) : json(404, { error: 'not_found', error_description: 'Unknown offer' });
    }
    const route = routes[`${method} ${target.pathname}`];
    if (route) return route(ctx);
    const knownPath = Object.entries(routes).some(([key, value]) => value && key.endsWith(` ${target.pathname}`));
    return knownPath
      ? json(405, { error: 'invalid_request', error_description: `${method} is not allowed here` })
      : json(404, { error: 'not_found', error_description: `No endpoint ${target.pathname}` });
  }

  function toReply(error: unknown): Reply {
    if (error instanceof OAuthError) {
      return json(error.status, { error: error.error, error_description: error.description, ...error.extra });
    }
    if (error instanceof Oauth2ServerErrorResponseError) return json(error.status, error.errorResponse);
    if (error instanceof Oauth2ResourceUnauthorizedError) {
      const [challenge] = error.wwwAuthenticateHeaders;
      return json(
        401,
        { error: challenge?.error ?? 'invalid_token', error_description: challenge?.error_description ?? error.message },
        { 'WWW-Authenticate': error.toHeaderValue() },
      );
    }
    if (error instanceof ValidationError) return json(400, { error: 'invalid_request', error_description: error.message });
    return json(500, { error: 'server_error', error_description: error instanceof Error ? error.message : String(error) });
  }

  function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
    const isBytes = Buffer.isBuffer(reply.body);
    const payload =
      reply.body === undefined ? undefined : isBytes || typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    const headers: Record<string, string> = {
      ...(reply.body !== undefined && !isBytes && typeof reply.body !== 'string' ? { 'Content-Type': 'application/json' } : {}),
      ...reply.headers,
    };
    requests.push({
      method: req.method ?? 'GET',
      path: new URL(req.url ?? '/', url).pathname,
      dpop: req.headers.dpop !== undefined,
      ...dpopClaims(req.headers.dpop),
      status: reply.status,
    });
    // Library error descriptions (carried into WWW-Authenticate) may hold newlines, which Node refuses in headers.
    for (const [name, value] of Object.entries(headers)) headers[name] = value.replace(/[^\x20-\x7e]+/g, ' ');
    res.writeHead(reply.status, headers);
    res.end(payload);
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req)
      .catch(toReply)
      .then((reply) => send(req, res, reply))
      .catch(() => res.destroy());
  });

  return {
    url,
    ...(pki ? { trustedRootPem: pki.rootPem } : {}),
    notifications,
    requests,
    issued,
    expireNonces() {
      cNonces.clear();
    },
    tamper(kind) {
      tamper = kind;
    },
    async createOffer(offerOptions = {}) {
      const ids = offerOptions.configurationIds ?? ['pid_sd_jwt'];
      let txCode: string | undefined;
      let grants: Parameters<typeof issuer.createCredentialOffer>[0]['grants'];
      if ((offerOptions.grant ?? 'pre-authorized_code') === 'pre-authorized_code') {
        const code = rand();
        const tx = offerOptions.txCode ? (offerOptions.txCode === true ? {} : offerOptions.txCode) : undefined;
        const txCodeSpec = tx
          ? { input_mode: tx.input_mode ?? 'numeric', length: tx.length ?? 6, description: 'The code we sent you' }
          : undefined;
        if (txCodeSpec) {
          const alphabet = txCodeSpec.input_mode === 'numeric' ? '0123456789' : 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
          txCode = Array.from({ length: txCodeSpec.length }, () => alphabet[randomInt(alphabet.length)]).join('');
        }
        preAuthCodes.set(code, { configurationIds: ids, ...(txCode ? { txCode } : {}) });
        grants = { [preAuthorizedCodeGrantIdentifier]: { 'pre-authorized_code': code, ...(txCodeSpec ? { tx_code: txCodeSpec } : {}) } };
      } else {
        if (offerOptions.issuerState) issuerStates.set(offerOptions.issuerState, ids);
        grants = { [authorizationCodeGrantIdentifier]: offerOptions.issuerState ? { issuer_state: offerOptions.issuerState } : {} };
      }
      const offerId = rand(12);
      const { credentialOffer, credentialOfferObject } = await issuer.createCredentialOffer({
        issuerMetadata,
        credentialConfigurationIds: ids,
        grants,
        ...(offerOptions.byReference ? { credentialOfferUri: `${url}/offers/${offerId}` } : {}),
      });
      if (offerOptions.byReference) offersByReference.set(offerId, credentialOfferObject);
      return { link: credentialOffer, offer: credentialOfferObject, ...(txCode ? { txCode } : {}) };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
