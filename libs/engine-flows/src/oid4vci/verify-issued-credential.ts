import type { IssuedCredential } from '@wallet/engine-protocol';
import { decodeCompactJws, jwkThumbprint, JwsError, toPublicKeyObject, verifyDecodedJws, ACCEPTED_JWS_ALGS, type DecodedJws } from '@wallet/crypto';
import {
  checkTokenStatus,
  discloseClaims,
  isSupportedSdAlg,
  issuerKeySource,
  PresentationError,
  type IssuerKeyResolver,
  type UnverifiedIssuerJwt,
} from '@wallet/protocol';
import { FlowFailure } from '../errors';

type Checks = IssuedCredential['checks'];

export interface CredentialCheckOptions {
  /** The credential issuer the flow talks to (an https `iss` must be it). */
  credentialIssuer: string;
  /** The configuration the credential answers. */
  configuration: Record<string, unknown>;
  /** Thumbprints of the keys the client proved; each credential must be bound to one of them. */
  proofKeys: readonly string[];
  resolveIssuerKey: IssuerKeyResolver;
  /** Fetches a status list (guarded fetch); used when a credential carries a status reference. */
  fetchStatusList: (uri: string) => Promise<string>;
  now: () => number;
  clockSkewSeconds: number;
}

export interface CheckedCredential {
  checks: Checks;
  /** The holder key thumbprint the credential is bound to (null for pass-through formats). */
  boundTo: string | null;
  vct?: string;
}

const invalid = (message: string, cause?: unknown) => new FlowFailure('invalid_credential', message, cause === undefined ? {} : { cause });

function decode(jwt: string, what: string): DecodedJws & UnverifiedIssuerJwt {
  try {
    return decodeCompactJws(jwt) as DecodedJws & UnverifiedIssuerJwt;
  } catch (cause) {
    throw invalid(`the ${what} is not a JWT`, cause);
  }
}

async function verifyIssuerSignature(jwt: DecodedJws & UnverifiedIssuerJwt, options: CredentialCheckOptions): Promise<Checks['issuer_key']> {
  const iss = jwt.payload.iss;
  if (typeof iss !== 'string' || iss.length === 0) throw invalid('the credential has no iss');
  // A web issuer may only sign as itself; DIDs and x5c chains name their own keys.
  if (/^https?:\/\//.test(iss) && iss.replace(/\/+$/, '') !== options.credentialIssuer.replace(/\/+$/, '')) {
    throw invalid('the credential names another issuer than the one that issued it');
  }
  const alg = jwt.header.alg;
  if (typeof alg !== 'string' || !ACCEPTED_JWS_ALGS.includes(alg)) throw invalid('the credential uses a signature algorithm we do not accept');
  let key;
  try {
    key = await options.resolveIssuerKey(jwt);
  } catch (cause) {
    throw invalid('no key of the issuer could be found to check the credential signature', cause);
  }
  try {
    verifyDecodedJws(jwt, toPublicKeyObject(key), [alg]);
  } catch (cause) {
    if (cause instanceof JwsError && cause.code === 'invalid_signature') throw invalid('the credential signature does not verify with the issuer key', cause);
    throw invalid('the credential signature cannot be checked', cause);
  }
  return issuerKeySource(jwt);
}

function checkDates(payload: Record<string, unknown>, options: CredentialCheckOptions): void {
  const now = Math.floor(options.now() / 1000);
  const skew = options.clockSkewSeconds;
  for (const claim of ['exp', 'nbf', 'iat']) {
    if (payload[claim] !== undefined && typeof payload[claim] !== 'number') throw invalid(`the credential's ${claim} is not a number`);
  }
  if (typeof payload['exp'] === 'number' && payload['exp'] <= now - skew) throw invalid('the credential has already expired');
  if (typeof payload['nbf'] === 'number' && payload['nbf'] > now + skew) throw invalid('the credential is not valid yet');
  if (typeof payload['iat'] === 'number' && payload['iat'] > now + skew) throw invalid('the credential was issued in the future');
}

function boundKey(payload: Record<string, unknown>, options: CredentialCheckOptions): string {
  const cnf = payload['cnf'] as { jwk?: unknown } | undefined;
  let jkt: string | null = null;
  if (cnf && typeof cnf === 'object' && cnf.jwk && typeof cnf.jwk === 'object') {
    try {
      jkt = jwkThumbprint(cnf.jwk);
    } catch {
      jkt = null;
    }
  }
  if (jkt === null) throw invalid('the credential is not bound to a holder key (cnf.jwk)');
  if (!options.proofKeys.includes(jkt)) throw invalid('the credential is bound to a key the client did not prove in this flow (cnf)');
  return jkt;
}

async function checkStatus(status: unknown, jwtResolver: IssuerKeyResolver, options: CredentialCheckOptions): Promise<Checks['status']> {
  if (status === undefined) return 'absent';
  try {
    const result = await checkTokenStatus(status, {
      fetchStatusList: options.fetchStatusList,
      resolveKey: jwtResolver,
      now: () => new Date(options.now()),
      clockSkewSeconds: options.clockSkewSeconds,
    });
    if (result !== 'valid') throw invalid(`the credential is ${result}`);
    return 'valid';
  } catch (cause) {
    if (cause instanceof FlowFailure) throw cause;
    const message = cause instanceof PresentationError ? cause.message : 'its status could not be checked';
    throw invalid(`the credential status check failed: ${message}`, cause);
  }
}

/** SD-JWT VC (`dc+sd-jwt`, `vc+sd-jwt`): issuer signature, typ, vct, dates, disclosures, holder binding, status. */
async function checkSdJwtVc(credential: unknown, options: CredentialCheckOptions): Promise<CheckedCredential> {
  if (typeof credential !== 'string' || credential.length > 512 * 1024) throw invalid('the SD-JWT VC is not a string of acceptable size');
  const parts = credential.split('~');
  if (parts.length < 2 || parts[parts.length - 1] !== '') throw invalid('the SD-JWT VC is not an issued SD-JWT (it must end with "~")');
  const jwt = decode(parts[0] ?? '', 'SD-JWT VC issuer JWT');
  if (jwt.header.typ !== 'dc+sd-jwt' && jwt.header.typ !== 'vc+sd-jwt') throw invalid('the SD-JWT VC typ must be dc+sd-jwt');
  const issuerKey = await verifyIssuerSignature(jwt, options);
  const payload = jwt.payload as Record<string, unknown>;
  checkDates(payload, options);
  const vct = payload['vct'];
  if (typeof vct !== 'string' || vct !== options.configuration['vct']) throw invalid('the credential vct is not the one of the offered configuration');
  const sdAlg = payload['_sd_alg'] ?? 'sha-256';
  if (typeof sdAlg !== 'string' || !isSupportedSdAlg(sdAlg)) throw invalid('the credential uses an _sd_alg we do not accept');
  try {
    discloseClaims(payload, parts.slice(1, -1), sdAlg);
  } catch (cause) {
    throw invalid(`the credential's disclosures do not match its digests (${cause instanceof PresentationError ? cause.code : 'invalid'})`, cause);
  }
  const boundTo = boundKey(payload, options);
  const status = await checkStatus(payload['status'], options.resolveIssuerKey, options);
  return { checks: { verified: true, issuer_key: issuerKey, holder_binding: true, status }, boundTo, vct };
}

/** W3C VC as a JWT (`jwt_vc_json`): issuer signature, dates, types, holder binding (cnf or a did:jwk subject). */
async function checkJwtVc(credential: unknown, options: CredentialCheckOptions): Promise<CheckedCredential> {
  if (typeof credential !== 'string' || credential.length > 512 * 1024) throw invalid('the JWT VC is not a string of acceptable size');
  const jwt = decode(credential, 'JWT VC');
  const issuerKey = await verifyIssuerSignature(jwt, options);
  const payload = jwt.payload as Record<string, unknown>;
  checkDates(payload, options);
  const vc = payload['vc'] as { type?: unknown } | undefined;
  const types = Array.isArray(vc?.type) ? vc.type : [];
  const definition = (options.configuration['credential_definition'] ?? {}) as { type?: unknown };
  const wanted = Array.isArray(definition.type) ? definition.type : [];
  if (!vc || wanted.some((t) => !types.includes(t))) throw invalid('the JWT VC types are not those of the offered configuration');
  let boundTo: string;
  const sub = payload['sub'];
  if (payload['cnf'] === undefined && typeof sub === 'string' && sub.startsWith('did:jwk:')) {
    let jkt = '';
    try {
      jkt = jwkThumbprint(JSON.parse(Buffer.from(sub.slice('did:jwk:'.length).split('#')[0] ?? '', 'base64url').toString('utf8')) as object);
    } catch {
      throw invalid('the JWT VC subject is not a usable did:jwk');
    }
    if (!options.proofKeys.includes(jkt)) throw invalid('the JWT VC is bound to a key the client did not prove in this flow (sub)');
    boundTo = jkt;
  } else {
    boundTo = boundKey(payload, options);
  }
  return { checks: { verified: true, issuer_key: issuerKey, holder_binding: true, status: 'unchecked' }, boundTo };
}

/**
 * Checks an issued credential before it reaches the client. `mso_mdoc` (and
 * any format we cannot check) is passed through untouched and labelled as not
 * verified. Throws `FlowFailure` `invalid_credential` naming the failed check.
 */
export async function checkIssuedCredential(format: string, credential: unknown, options: CredentialCheckOptions): Promise<CheckedCredential> {
  switch (format) {
    case 'dc+sd-jwt':
    case 'vc+sd-jwt':
      return checkSdJwtVc(credential, options);
    case 'jwt_vc_json':
      return checkJwtVc(credential, options);
    default:
      return {
        checks: { verified: false, issuer_key: 'none', holder_binding: false, status: 'unchecked', note: `${format} is passed through without verification` },
        boundTo: null,
      };
  }
}
