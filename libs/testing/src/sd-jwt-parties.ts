import { digest, ES256, generateSalt } from '@sd-jwt/crypto-nodejs';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import type { JWK } from 'jose';
import { generateKeyPairSync } from 'node:crypto';

/**
 * An SD-JWT VC issuer and holder built from the third-party `@sd-jwt/*`
 * libraries, so tests prove our verifier against code we did not write.
 */
export interface TestSdJwtIssuer {
  iss: string;
  kid: string;
  publicJwk: JWK;
  issue(
    claims: Record<string, unknown>,
    /** An `@sd-jwt` disclosure frame: `{ _sd: ['given_name'], address: { _sd: ['street'] } }`. */
    frame: Record<string, unknown>,
    options: { vct: string; holderJwk: JWK; iat?: number; exp?: number; typ?: string; header?: Record<string, unknown> },
  ): Promise<string>;
}

export interface TestSdJwtHolder {
  publicJwk: JWK;
  privateJwk: JWK;
  /** Presents with the given disclosures and a KB-JWT for `nonce`/`aud` (iat defaults to now). */
  present(
    credential: string,
    /** Which disclosures to reveal: `{ given_name: true, address: { street: true } }`. */
    frame: Record<string, unknown>,
    kb: { nonce: string; aud: string; iat?: number },
  ): Promise<string>;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export interface TestIssuerKey {
  /** A P-256 private JWK (e.g. the leaf key of `createTestPki`); generated when absent. */
  privateJwk?: JWK;
  /** Put into every credential's header (the issuer then needs no kid). */
  x5c?: string[];
  kid?: string;
}

export async function createTestSdJwtIssuer(iss: string, key: TestIssuerKey = {}): Promise<TestSdJwtIssuer> {
  const kid = key.kid ?? 'issuer-key-1';
  let publicKey: JWK;
  let privateKey: JWK;
  if (key.privateJwk) {
    privateKey = key.privateJwk;
    const { d: _d, ...pub } = key.privateJwk;
    publicKey = pub;
  } else {
    ({ publicKey, privateKey } = (await ES256.generateKeyPair()) as { publicKey: JWK; privateKey: JWK });
  }
  const sdjwt = new SDJwtVcInstance({
    signer: await ES256.getSigner(privateKey),
    signAlg: ES256.alg,
    verifier: await ES256.getVerifier(publicKey),
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
  });
  return {
    iss,
    kid,
    publicJwk: { ...(publicKey as JWK), kid, alg: 'ES256' },
    issue: (claims, frame, options) =>
      sdjwt.issue(
        { iss, iat: options.iat ?? nowSeconds(), vct: options.vct, cnf: { jwk: options.holderJwk }, ...claims, ...(options.exp ? { exp: options.exp } : {}) },
        frame as never,
        { header: { typ: options.typ ?? 'dc+sd-jwt', ...(key.x5c ? { x5c: key.x5c } : { kid }), ...options.header } },
      ),
  };
}

export async function createTestSdJwtHolder(): Promise<TestSdJwtHolder> {
  const { publicKey, privateKey } = await ES256.generateKeyPair();
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    kbSigner: await ES256.getSigner(privateKey),
    kbSignAlg: ES256.alg,
  });
  const publicJwk = { ...(publicKey as JWK) };
  delete publicJwk.key_ops;
  delete publicJwk.ext;
  return {
    publicJwk,
    privateJwk: privateKey as JWK,
    present: (credential, frame, kb) =>
      sdjwt.present(credential, frame as never, { kb: { payload: { iat: kb.iat ?? nowSeconds(), aud: kb.aud, nonce: kb.nonce } } }),
  };
}

/** A P-256 key named by a did:jwk: an issuer or holder whose key resolves offline. `kid` is `<did>#0`. */
export function createDidJwkKey(): { did: string; kid: string; privateJwk: JWK; publicJwk: JWK } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privateJwk = privateKey.export({ format: 'jwk' }) as JWK;
  const { d: _d, ...publicJwk } = privateJwk;
  const did = `did:jwk:${Buffer.from(JSON.stringify(publicJwk)).toString('base64url')}`;
  return { did, kid: `${did}#0`, privateJwk, publicJwk };
}

/** An SD-JWT VC issuer whose `iss` is a did:jwk. */
export async function createDidJwkSdJwtIssuer(): Promise<TestSdJwtIssuer & { did: string }> {
  const key = createDidJwkKey();
  return { ...(await createTestSdJwtIssuer(key.did, { privateJwk: key.privateJwk, kid: key.kid })), did: key.did };
}
