import { createPublicKey } from 'node:crypto';
import type { JWK } from 'jose';

/**
 * DID key resolution for the methods a verifier meets: `did:key` (Ed25519 and
 * P-256), `did:jwk`, and `did:web` (whose document the caller fetches through
 * the guarded outbound client: see {@link didWebDocumentUrl}).
 */
export class DidError extends Error {
  readonly code = 'did_unresolved' as const;
  constructor(message: string) {
    super(message);
    this.name = 'DidError';
  }
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function decodeBase58btc(input: string): Uint8Array {
  if (input.length === 0 || input.length > 256) throw new DidError('base58btc value is empty or too long');
  const bytes: number[] = [0];
  for (const char of input) {
    let carry = BASE58.indexOf(char);
    if (carry < 0) throw new DidError('not a base58btc value');
    for (let i = 0; i < bytes.length; i++) {
      carry += (bytes[i] ?? 0) * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  for (const char of input) {
    if (char !== '1') break;
    bytes.push(0);
  }
  return Uint8Array.from(bytes.reverse());
}

// SPKI prefixes to wrap raw public keys for node:crypto.
const P256_SPKI = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

function jwkFromSpki(spki: Buffer): JWK {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'jwk' }) as JWK;
  } catch {
    throw new DidError('the DID key is not a valid public key');
  }
}

/** did:key with multicodec Ed25519 (0xed) or P-256 (0x1200, compressed point). */
function resolveDidKey(did: string): JWK {
  const multibase = did.slice('did:key:'.length).split('#')[0] ?? '';
  if (!multibase.startsWith('z')) throw new DidError('did:key must use base58btc multibase (z...)');
  const bytes = Buffer.from(decodeBase58btc(multibase.slice(1)));
  if (bytes[0] === 0xed && bytes[1] === 0x01 && bytes.length === 34) return jwkFromSpki(Buffer.concat([ED25519_SPKI, bytes.subarray(2)]));
  if (bytes[0] === 0x80 && bytes[1] === 0x24 && bytes.length === 35) return jwkFromSpki(Buffer.concat([P256_SPKI, bytes.subarray(2)]));
  throw new DidError('did:key uses a key type we do not accept (Ed25519 and P-256 only)');
}

function resolveDidJwk(did: string): JWK {
  const encoded = did.slice('did:jwk:'.length).split('#')[0] ?? '';
  let jwk: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(encoded) || encoded.length > 4096) throw new Error('bad');
    jwk = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw new DidError('did:jwk does not hold a base64url JSON JWK');
  }
  if (!jwk || typeof jwk !== 'object' || typeof (jwk as JWK).kty !== 'string') throw new DidError('did:jwk does not hold a JWK');
  if ('d' in jwk) throw new DidError('did:jwk holds a private key');
  if ((jwk as JWK).kty === 'oct') throw new DidError('did:jwk holds a symmetric key');
  return jwk as JWK;
}

/** The public key a self-describing DID (did:key, did:jwk) names. did:web needs a fetched document. */
export function resolveSelfDescribingDid(didUrl: string): JWK {
  if (didUrl.startsWith('did:key:')) return resolveDidKey(didUrl);
  if (didUrl.startsWith('did:jwk:')) return resolveDidJwk(didUrl);
  throw new DidError(`unsupported DID method in ${didUrl.split(':').slice(0, 2).join(':')}`);
}

/** `did:web:example.com:user:alice` -> `https://example.com/user/alice/did.json` (`.well-known/did.json` without a path). */
export function didWebDocumentUrl(did: string): string {
  const id = did.split('#')[0] ?? '';
  const parts = id.slice('did:web:'.length).split(':');
  if (!id.startsWith('did:web:') || parts.some((p) => p.length === 0)) throw new DidError('not a did:web identifier');
  const host = decodeURIComponent(parts[0] ?? '');
  if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(host)) throw new DidError('did:web has an invalid host');
  const path = parts.slice(1).map((p) => encodeURIComponent(decodeURIComponent(p)));
  return path.length ? `https://${host}/${path.join('/')}/did.json` : `https://${host}/.well-known/did.json`;
}

/**
 * Picks the verification method `kid` (a DID URL, or a bare `#fragment`) from a
 * DID document and returns its `publicKeyJwk`. The document must be the DID's own.
 */
export function jwkFromDidDocument(document: unknown, did: string, kid: string): JWK {
  const doc = document as { id?: unknown; verificationMethod?: unknown };
  if (!doc || typeof doc !== 'object' || doc.id !== did.split('#')[0]) throw new DidError('the DID document is not for this DID');
  const methods = Array.isArray(doc.verificationMethod) ? doc.verificationMethod : [];
  const wanted = kid.startsWith('#') ? `${doc.id}${kid}` : kid;
  const method = methods.find(
    (m: { id?: unknown }) => m && typeof m === 'object' && (m.id === wanted || `${doc.id}${String(m.id)}` === wanted),
  ) as { publicKeyJwk?: JWK } | undefined;
  const jwk = method?.publicKeyJwk;
  if (!jwk || typeof jwk.kty !== 'string' || 'd' in jwk || jwk.kty === 'oct') {
    throw new DidError('the DID document has no usable public key for this kid');
  }
  return jwk;
}
