import { base64urlDecode, base64urlEncode, base64urlEncodeText } from './base64url';
import { jwkThumbprint, type Jwk, type JwtSigner } from './keyring';
import { decodeJwt } from './sd-jwt';

/**
 * W3C VCs as JWTs (`jwt_vc_json`) on the holder's side: reading one, and
 * wrapping it in a VP JWT signed by the holder key. A JWT VC cannot disclose
 * selectively: the verifier sees every claim.
 */

/** A JWT VC as the holder sees it. */
export interface DecodedJwtVc {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** `vc.type`. */
  types: string[];
  /** `vc.credentialSubject` without `id`: the claims, as a verifier reads them. */
  claims: Record<string, unknown>;
  /** The holder's DID the VP is issued by (`sub`, `credentialSubject.id`, or the did:jwk of `cnf.jwk`). */
  holder?: string;
  /** The key the VP must be signed with: `cnf.jwk`, or the key of a did:jwk holder. */
  holderJwk?: Jwk;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const decoder = new TextDecoder();

/** The public JWK a did:jwk names; undefined for other DIDs. */
function didJwkKey(did: string): Jwk | undefined {
  if (!did.startsWith('did:jwk:')) return undefined;
  try {
    const value: unknown = JSON.parse(decoder.decode(base64urlDecode(did.slice('did:jwk:'.length).split('#')[0] ?? '')));
    return isObject(value) && typeof value['kty'] === 'string' ? (value as unknown as Jwk) : undefined;
  } catch {
    return undefined;
  }
}

/** The did:jwk of a public key (only the members a public key has). */
function didJwkOf(jwk: Jwk): string {
  const { d: _d, ...publicJwk } = jwk;
  return `did:jwk:${base64urlEncodeText(JSON.stringify(publicJwk))}`;
}

/** Reads a JWT VC the wallet holds; nothing is verified (the engine checked it at issuance). */
export function decodeJwtVc(compact: string): DecodedJwtVc {
  const { header, payload } = decodeJwt(compact);
  const vc = isObject(payload['vc']) ? payload['vc'] : {};
  const types = Array.isArray(vc['type']) ? vc['type'].filter((t): t is string => typeof t === 'string') : [];
  const subject = isObject(vc['credentialSubject']) ? vc['credentialSubject'] : {};
  const { id: subjectId, ...claims } = subject;
  const sub = typeof payload['sub'] === 'string' ? payload['sub'] : typeof subjectId === 'string' ? subjectId : undefined;
  const cnf = payload['cnf'];
  const cnfJwk = isObject(cnf) && isObject(cnf['jwk']) ? (cnf['jwk'] as unknown as Jwk) : undefined;
  const holderJwk = cnfJwk ?? (sub ? didJwkKey(sub) : undefined);
  // The verifier takes the VP's `iss` as the holder and wants it to be the credential's subject.
  const holder = sub?.startsWith('did:') ? sub.split('#')[0] : holderJwk ? didJwkOf(holderJwk) : undefined;
  return { header, payload, types, claims, ...(holder ? { holder } : {}), ...(holderJwk ? { holderJwk } : {}) };
}

/** The `kid` of the holder key in its DID: `#0` for did:jwk, the key's multibase for did:key. */
function holderKid(did: string): string {
  if (did.startsWith('did:key:')) return `${did}#${did.slice('did:key:'.length)}`;
  return `${did}#0`;
}

/**
 * Presents a JWT VC: a VP JWT (`typ: JWT`, `kid` the holder's key in its
 * DID) with `iss` the holder, `aud`, `nonce`, `iat`, a random `jti` and
 * `vp: { type: ['VerifiablePresentation'], verifiableCredential: [compact] }`,
 * signed through `sign` with the key of the VC's `cnf.jwk` (or did:jwk `sub`).
 */
export async function presentJwtVc(compact: string, kb: { nonce: string; aud: string; iat?: number }, sign: JwtSigner): Promise<string> {
  const decoded = decodeJwtVc(compact);
  if (!decoded.holder || !decoded.holderJwk) throw new TypeError('the JWT VC is not bound to a holder key (cnf.jwk or a did:jwk subject)');
  const jti = new Uint8Array(16);
  globalThis.crypto.getRandomValues(jti);
  const payload: Record<string, unknown> = {
    iss: decoded.holder,
    aud: kb.aud,
    nonce: kb.nonce,
    iat: kb.iat ?? Math.floor(Date.now() / 1000),
    jti: base64urlEncode(jti),
    vp: {
      '@context': ['https://www.w3.org/2018/credentials/v1'],
      type: ['VerifiablePresentation'],
      holder: decoded.holder,
      verifiableCredential: [compact],
    },
  };
  return sign(await jwkThumbprint(decoded.holderJwk), { typ: 'JWT', kid: holderKid(decoded.holder) }, payload);
}
