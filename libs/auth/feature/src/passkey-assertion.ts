import { cose, decodeCredentialPublicKey, parseAuthenticatorData } from '@simplewebauthn/server/helpers';
import { toPublicKeyObject } from '@wallet/crypto';
import { constants, createHash, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

/**
 * Verification of a WebAuthn assertion (login), WebAuthn Level 3 §7.2, with
 * the same checks and messages as @simplewebauthn/server's
 * `verifyAuthenticationResponse`, which registration still uses. Ours hashes
 * and verifies with node:crypto (the signature check on the thread pool)
 * instead of WebCrypto, whose per-call cost made a login several times the
 * price of its one signature check. A differential test
 * (passkey-assertion.spec.ts) holds the two to the same answers.
 */

export interface AssertionResponse {
  id: string;
  rawId: string;
  type: string;
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string | null | undefined };
}

export interface AssertionExpectations {
  challenge: string;
  origins: readonly string[];
  rpId: string;
  /** The stored credential: COSE public key (base64url) and the last counter seen. */
  credential: { publicKey: string; counter: number };
}

export interface VerifiedAssertion {
  newCounter: number;
  userVerified: boolean;
  backedUp: boolean;
}

const B64U = /^[A-Za-z0-9_-]*$/;
const TOKEN_BINDING_STATUSES = ['present', 'supported', 'notSupported'];

/** Throws an Error naming the first check that failed. */
export async function verifyPasskeyAssertion(response: AssertionResponse, expected: AssertionExpectations): Promise<VerifiedAssertion> {
  if (!response.id) throw new Error('Missing credential ID');
  if (response.id !== response.rawId) throw new Error('Credential ID was not base64url-encoded');
  if (response.type !== 'public-key') throw new Error(`Unexpected credential type ${response.type}, expected "public-key"`);
  const assertion = response.response;
  if (typeof assertion?.clientDataJSON !== 'string') throw new Error('Credential response clientDataJSON was not a string');
  const clientDataBytes = Buffer.from(assertion.clientDataJSON, 'base64url');
  const clientData = JSON.parse(clientDataBytes.toString('utf8')) as Record<string, unknown> | null;
  if (!clientData || typeof clientData !== 'object') throw new Error('Credential response clientDataJSON is not a JSON object');
  if (clientData['type'] !== 'webauthn.get') throw new Error(`Unexpected authentication response type: ${String(clientData['type'])}`);
  if (clientData['challenge'] !== expected.challenge) {
    throw new Error(`Unexpected authentication response challenge "${String(clientData['challenge'])}", expected "${expected.challenge}"`);
  }
  const origin = clientData['origin'];
  if (typeof origin !== 'string' || !expected.origins.includes(origin)) {
    throw new Error(`Unexpected authentication response origin "${String(origin)}", expected one of: ${expected.origins.join(', ')}`);
  }
  if (typeof assertion.authenticatorData !== 'string' || !B64U.test(assertion.authenticatorData)) {
    throw new Error('Credential response authenticatorData was not a base64url string');
  }
  if (typeof assertion.signature !== 'string' || !B64U.test(assertion.signature)) {
    throw new Error('Credential response signature was not a base64url string');
  }
  if (assertion.userHandle && typeof assertion.userHandle !== 'string') throw new Error('Credential response userHandle was not a string');
  const tokenBinding = clientData['tokenBinding'] as { status?: unknown } | undefined;
  if (tokenBinding) {
    if (typeof tokenBinding !== 'object') throw new Error('ClientDataJSON tokenBinding was not an object');
    if (!TOKEN_BINDING_STATUSES.includes(tokenBinding.status as string)) throw new Error(`Unexpected tokenBinding status ${String(tokenBinding.status)}`);
  }

  const authData = Buffer.from(assertion.authenticatorData, 'base64url');
  const { rpIdHash, flags, counter } = parseAuthenticatorData(authData);
  if (!Buffer.from(rpIdHash).equals(rpIdHashOf(expected.rpId))) throw new Error(`Unexpected RP ID hash`);
  if (!flags.up) throw new Error('User not present during authentication');
  if (!flags.uv) throw new Error('User verification required, but user could not be verified');
  if ((counter > 0 || expected.credential.counter > 0) && counter <= expected.credential.counter) {
    throw new Error(`Response counter value ${counter} was lower than expected ${expected.credential.counter}`);
  }
  if (!flags.be && flags.bs) throw new Error('Single-device credential indicated that it was backed up, which should be impossible.');

  const { key, hash, options } = credentialKey(expected.credential.publicKey);
  const signed = Buffer.concat([authData, createHash('sha256').update(clientDataBytes).digest()]);
  const signature = Buffer.from(assertion.signature, 'base64url');
  const verified = await new Promise<boolean>((resolve) => {
    try {
      verify(hash, signed, { key, ...options }, signature, (error, ok) => resolve(!error && ok));
    } catch {
      resolve(false); // OpenSSL throws on some malformed signatures
    }
  });
  if (!verified) throw new Error('the assertion did not verify');
  return { newCounter: counter, userVerified: flags.uv, backedUp: flags.bs };
}

const rpIdHashes = new Map<string, Buffer>();
function rpIdHashOf(rpId: string): Buffer {
  let hash = rpIdHashes.get(rpId);
  if (!hash) rpIdHashes.set(rpId, (hash = createHash('sha256').update(rpId, 'utf8').digest()));
  return hash;
}

interface CredentialKey {
  key: KeyObject;
  hash: string | null;
  options: { padding?: number; saltLength?: number };
}

const EC_CURVES: Record<number, string> = { [cose.COSECRV.P256]: 'P-256', [cose.COSECRV.P384]: 'P-384', [cose.COSECRV.P521]: 'P-521' };
const EC_HASHES: Record<number, string> = { [cose.COSEALG.ES256]: 'sha256', [cose.COSEALG.ES384]: 'sha384', [cose.COSEALG.ES512]: 'sha512' };
const RSA_ALGS: Record<number, { hash: string; pss: boolean }> = {
  [cose.COSEALG.RS256]: { hash: 'sha256', pss: false },
  [cose.COSEALG.RS384]: { hash: 'sha384', pss: false },
  [cose.COSEALG.RS512]: { hash: 'sha512', pss: false },
  [cose.COSEALG.PS256]: { hash: 'sha256', pss: true },
  [cose.COSEALG.PS384]: { hash: 'sha384', pss: true },
  [cose.COSEALG.PS512]: { hash: 'sha512', pss: true },
};

/** A stored passkey's COSE key as a node:crypto key, decoded once per key (the KeyObject comes from a bounded cache). */
const credentialKeys = new Map<string, CredentialKey>();
const CREDENTIAL_KEY_CACHE_SIZE = 1000;

function credentialKey(publicKey: string): CredentialKey {
  const known = credentialKeys.get(publicKey);
  if (known) return known;
  const decoded = decodeCredentialPublicKey(new Uint8Array(Buffer.from(publicKey, 'base64url')));
  const alg = decoded.get(cose.COSEKEYS.alg);
  if (alg === undefined) throw new Error('Public key was missing alg');
  const b64 = (value: unknown) => {
    if (!(value instanceof Uint8Array)) throw new Error('Public key is missing a coordinate');
    return Buffer.from(value).toString('base64url');
  };
  let made: CredentialKey;
  if (cose.isCOSEPublicKeyEC2(decoded)) {
    const crv = EC_CURVES[decoded.get(cose.COSEKEYS.crv) ?? 0];
    const hash = EC_HASHES[alg];
    if (!crv || !hash) throw new Error(`Unsupported EC2 public key (alg ${alg})`);
    const jwk: JsonWebKey = { kty: 'EC', crv, x: b64(decoded.get(cose.COSEKEYS.x)), y: b64(decoded.get(cose.COSEKEYS.y)) };
    made = { key: toPublicKeyObject(jwk), hash, options: {} };
  } else if (cose.isCOSEPublicKeyOKP(decoded)) {
    if (alg !== cose.COSEALG.EdDSA || decoded.get(cose.COSEKEYS.crv) !== cose.COSECRV.ED25519) throw new Error(`Unsupported OKP public key (alg ${alg})`);
    made = { key: toPublicKeyObject({ kty: 'OKP', crv: 'Ed25519', x: b64(decoded.get(cose.COSEKEYS.x)) }), hash: null, options: {} };
  } else if (cose.isCOSEPublicKeyRSA(decoded)) {
    const rsa = RSA_ALGS[alg];
    if (!rsa) throw new Error(`Unsupported RSA public key (alg ${alg})`);
    const key = toPublicKeyObject({ kty: 'RSA', n: b64(decoded.get(cose.COSEKEYS.n)), e: b64(decoded.get(cose.COSEKEYS.e)) });
    made = { key, hash: rsa.hash, options: rsa.pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : {} };
  } else {
    throw new Error(`Signature verification with public key of kty ${String(decoded.get(cose.COSEKEYS.kty))} is not supported`);
  }
  if (credentialKeys.size >= CREDENTIAL_KEY_CACHE_SIZE) credentialKeys.delete(credentialKeys.keys().next().value as string);
  credentialKeys.set(publicKey, made);
  return made;
}
