import { selectClaimEntries, type ClaimPath, type ConcreteClaimPath } from '@wallet/presentation-query';
import { base64urlDecode, base64urlEncode, utf8 } from './base64url';
import { jwkThumbprint, type Jwk, type JwtSigner } from './keyring';

/**
 * SD-JWT (RFC 9901) on the holder's side, with WebCrypto only: reading a
 * credential the wallet holds, and presenting it with exactly the
 * disclosures a verifier's query needs plus a key-binding JWT signed by the
 * holder key.
 */

/** One disclosure of an SD-JWT, with where its claim sits. */
export interface SdJwtDisclosure {
  /** As in the compact form (base64url). */
  encoded: string;
  /** The digest the issuer JWT (or a parent disclosure) names it by. */
  digest: string;
  salt: string;
  /** The claim name; absent for an array element. */
  name?: string;
  value: unknown;
  /** Where the disclosed claim is in {@link DecodedSdJwt.claims}. */
  path: ConcreteClaimPath;
}

/** An SD-JWT as the holder sees it: everything the issuer signed and disclosed to the holder. */
export interface DecodedSdJwt {
  /** The issuer-signed JWT, compact. */
  issuerJwt: string;
  header: Record<string, unknown>;
  /** The issuer JWT payload as signed (digests included). */
  payload: Record<string, unknown>;
  /** `_sd_alg` (default `sha-256`). */
  sdAlg: string;
  /** The disclosures the issuer JWT references, in the order of the compact form. */
  disclosures: SdJwtDisclosure[];
  /** Every claim, all disclosures resolved (no `_sd`, `_sd_alg` or array digests). */
  claims: Record<string, unknown>;
  /** The holder key (`cnf.jwk`), when the credential is bound to one. */
  holderJwk?: Jwk;
}

/** What the key-binding JWT says. */
export interface KeyBindingInput {
  /** The request's nonce. */
  nonce: string;
  /** The verifier's client id (with its prefix). */
  aud: string;
  /** Seconds since the epoch; default now. */
  iat?: number;
  /** base64url sha-256 of each applicable transaction data string, as the verifier sent it (see {@link transactionDataHashes}). */
  transactionDataHashes?: readonly string[];
}

/** Hash names of `_sd_alg` values, for WebCrypto. */
const HASHES: Readonly<Record<string, string>> = { 'sha-256': 'SHA-256', 'sha-384': 'SHA-384', 'sha-512': 'SHA-512' };
const MAX_DEPTH = 32;
const decoder = new TextDecoder();

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** base64url hash of an ASCII/UTF-8 string with an `_sd_alg` algorithm. */
async function hashText(alg: string, text: string): Promise<string> {
  const name = HASHES[alg];
  if (!name) throw new TypeError(`_sd_alg "${alg}" is not supported`);
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('WebCrypto (crypto.subtle) is not available');
  return base64urlEncode(new Uint8Array(await subtle.digest(name, utf8(text))));
}

/** `transaction_data_hashes`: base64url sha-256 of each transaction data string exactly as the verifier sent it. */
export function transactionDataHashes(encoded: readonly string[]): Promise<string[]> {
  return Promise.all(encoded.map((text) => hashText('sha-256', text)));
}

/** The header and payload of a compact JWS, not verified (the holder received it from its issuer). */
export function decodeJwt(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload, signature] = jwt.split('.');
  if (header === undefined || payload === undefined || signature === undefined || jwt.split('.').length !== 3) throw new TypeError('not a compact JWS');
  const parse = (part: string, what: string): Record<string, unknown> => {
    const value: unknown = JSON.parse(decoder.decode(base64urlDecode(part)));
    if (!isObject(value)) throw new TypeError(`the JWT ${what} is not a JSON object`);
    return value;
  };
  return { header: parse(header, 'header'), payload: parse(payload, 'payload') };
}

function parseDisclosure(encoded: string): Pick<SdJwtDisclosure, 'salt' | 'name' | 'value'> {
  const parsed: unknown = JSON.parse(decoder.decode(base64urlDecode(encoded)));
  if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || (parsed.length !== 2 && parsed.length !== 3)) {
    throw new TypeError('a disclosure is not [salt, name, value] or [salt, value]');
  }
  if (parsed.length === 2) return { salt: parsed[0], value: parsed[1] };
  if (typeof parsed[1] !== 'string') throw new TypeError('a disclosure has a claim name that is not a string');
  return { salt: parsed[0], name: parsed[1], value: parsed[2] };
}

/**
 * Rebuilds the claims of an SD-JWT payload with the disclosures `include`
 * lets through, as a verifier does (RFC 9901, section 7.1): array elements
 * whose disclosure is withheld drop out, so indexes are those of the result.
 * `seen` learns where each included disclosure's claim ends up.
 */
function resolve(
  payload: Record<string, unknown>,
  byDigest: ReadonlyMap<string, Omit<SdJwtDisclosure, 'path'>>,
  include: (digest: string) => boolean,
  seen?: (digest: string, path: ConcreteClaimPath) => void,
): Record<string, unknown> {
  const visit = (value: unknown, path: ConcreteClaimPath): unknown => {
    if (path.length > MAX_DEPTH) throw new TypeError(`claims nest deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (const element of value) {
        if (isObject(element) && Object.hasOwn(element, '...') && Object.keys(element).length === 1) {
          const digest = element['...'];
          const disclosure = typeof digest === 'string' ? byDigest.get(digest) : undefined;
          if (typeof digest !== 'string' || !disclosure || disclosure.name !== undefined || !include(digest)) continue;
          const at = [...path, out.length];
          seen?.(digest, at);
          out.push(visit(disclosure.value, at));
          continue;
        }
        out.push(visit(element, [...path, out.length]));
      }
      return out;
    }
    if (!isObject(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (key === '_sd' || (path.length === 0 && key === '_sd_alg')) continue;
      out[key] = visit(inner, [...path, key]);
    }
    const digests = value['_sd'];
    if (Array.isArray(digests)) {
      for (const digest of digests) {
        const disclosure = typeof digest === 'string' ? byDigest.get(digest) : undefined;
        if (typeof digest !== 'string' || !disclosure || disclosure.name === undefined || !include(digest)) continue;
        if (Object.hasOwn(out, disclosure.name)) throw new TypeError(`disclosed claim "${disclosure.name}" already exists`);
        const at = [...path, disclosure.name];
        seen?.(digest, at);
        out[disclosure.name] = visit(disclosure.value, at);
      }
    }
    return out;
  };
  return visit(payload, []) as Record<string, unknown>;
}

/**
 * Reads an SD-JWT the wallet holds (`<issuer-jwt>~<disclosure>~...~`, a
 * trailing key-binding JWT is ignored): the issuer JWT's header and payload,
 * every disclosure with the path of its claim, and the full claim set.
 * Nothing is verified: the engine checked the credential when it was issued.
 */
export async function decodeSdJwt(compact: string): Promise<DecodedSdJwt> {
  const [issuerJwt = '', ...rest] = compact.split('~');
  if (rest.length === 0) throw new TypeError('not an SD-JWT (no "~" separator)');
  rest.pop(); // empty for an SD-JWT, or a key-binding JWT of an earlier presentation
  const { header, payload } = decodeJwt(issuerJwt);
  const sdAlg = typeof payload['_sd_alg'] === 'string' ? payload['_sd_alg'] : 'sha-256';
  const byDigest = new Map<string, Omit<SdJwtDisclosure, 'path'>>();
  for (const encoded of rest) {
    if (encoded.length === 0) throw new TypeError('the SD-JWT has an empty disclosure');
    const digest = await hashText(sdAlg, encoded);
    byDigest.set(digest, { encoded, digest, ...parseDisclosure(encoded) });
  }
  const paths = new Map<string, ConcreteClaimPath>();
  const claims = resolve(payload, byDigest, () => true, (digest, path) => paths.set(digest, path));
  const disclosures: SdJwtDisclosure[] = [];
  for (const [digest, disclosure] of byDigest) {
    const path = paths.get(digest);
    // A disclosure no digest names cannot be presented (a verifier refuses it): left out.
    if (path) disclosures.push({ ...disclosure, path });
  }
  const cnf = payload['cnf'];
  const holderJwk = isObject(cnf) && isObject(cnf['jwk']) ? (cnf['jwk'] as unknown as Jwk) : undefined;
  return { issuerJwt, header, payload, sdAlg, disclosures, claims, ...(holderJwk ? { holderJwk } : {}) };
}

/** Whether `prefix` is a prefix of `path`, a `null` (wildcard) in either matching any array index. */
function isPrefix(prefix: ClaimPath, path: ClaimPath): boolean {
  if (prefix.length > path.length) return false;
  return prefix.every((component, i) => {
    const other = path[i];
    if (component === other) return true;
    return (component === null && typeof other === 'number') || (other === null && typeof component === 'number');
  });
}

/**
 * The disclosures a presentation of these claims needs, and the claims the
 * verifier will then see. A claim needs its own disclosure, those of its
 * parents (an object or array member inside a disclosed claim cannot be
 * shown without it) and, since the whole claim is asked for, those of
 * everything nested in it. Nothing else is disclosed. Paths may hold `null`
 * wildcards (every element); `[]` is the whole credential. Throws when a
 * path selects nothing.
 */
export function selectSdJwtDisclosures(decoded: DecodedSdJwt, paths: readonly ClaimPath[]): { disclosures: SdJwtDisclosure[]; claims: Record<string, unknown> } {
  for (const path of paths) {
    if (selectClaimEntries(decoded.claims, path).length === 0) throw new TypeError(`the credential has no claim at ${JSON.stringify(path)}`);
  }
  const disclosures = decoded.disclosures.filter((d) => paths.some((path) => isPrefix(d.path, path) || isPrefix(path, d.path)));
  const chosen = new Set(disclosures.map((d) => d.digest));
  const byDigest = new Map(decoded.disclosures.map((d) => [d.digest, d]));
  return { disclosures, claims: resolve(decoded.payload, byDigest, (digest) => chosen.has(digest)) };
}

/**
 * Presents an SD-JWT VC: the issuer JWT with only the disclosures the given
 * claim paths need (see {@link selectSdJwtDisclosures}), then a key-binding
 * JWT (`typ: kb+jwt`) with `iat`, `aud`, `nonce`, `sd_hash` (the `_sd_alg`
 * hash, base64url, of `<issuer-jwt>~<disclosure>~...~`) and, with
 * transaction data, `transaction_data_hashes` (`sha-256`). `sign` is called
 * with the thumbprint of the credential's `cnf.jwk`: `keyring.signWith`
 * signs with the holder key made for the issuance proof. `kb: null` presents
 * without key binding, for a query that does not require it.
 */
export async function presentSdJwt(
  compact: string | DecodedSdJwt,
  paths: readonly ClaimPath[],
  kb: KeyBindingInput | null,
  sign: JwtSigner,
): Promise<string> {
  const decoded = typeof compact === 'string' ? await decodeSdJwt(compact) : compact;
  const { disclosures } = selectSdJwtDisclosures(decoded, paths);
  const presented = `${[decoded.issuerJwt, ...disclosures.map((d) => d.encoded)].join('~')}~`;
  if (kb === null) return presented;
  if (!decoded.holderJwk) throw new TypeError('the credential is not bound to a holder key (cnf.jwk): it cannot be presented with key binding');
  const jkt = await jwkThumbprint(decoded.holderJwk);
  const hashes = kb.transactionDataHashes ?? [];
  const payload: Record<string, unknown> = {
    iat: kb.iat ?? Math.floor(Date.now() / 1000),
    aud: kb.aud,
    nonce: kb.nonce,
    sd_hash: await hashText(decoded.sdAlg, presented),
    ...(hashes.length > 0 ? { transaction_data_hashes: [...hashes], transaction_data_hashes_alg: 'sha-256' } : {}),
  };
  return presented + (await sign(jkt, { typ: 'kb+jwt' }, payload));
}
