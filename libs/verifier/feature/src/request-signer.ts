import type { WalletConfig } from '@wallet/config';
import { jwkThumbprint, subjectAltNames, UnknownSigningKeyError, type KeyRing } from '@wallet/crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type ClientIdPrefix = WalletConfig['verifier']['clientIdPrefix'];

export const REQUEST_OBJECT_TYP = 'oauth-authz-req+jwt';

/**
 * Who the verifier is to a wallet (its OpenID4VP client identifier) and how it
 * signs request objects: with the service key ring as a did:jwk, or with an
 * X.509 certificate (`x509_san_dns`, `x509_hash`). `redirect_uri` requests are
 * never signed.
 */
export interface RequestSigner {
  readonly prefix: ClientIdPrefix;
  /** The full client id (`x509_san_dns:verifier.example`, `decentralized_identifier:did:jwk:...`). */
  clientId(responseUri: string): string;
  /** A signed request object (`typ: oauth-authz-req+jwt`); throws for `redirect_uri`. */
  sign(payload: JWTPayload): Promise<string>;
}

class DidJwkSigner implements RequestSigner {
  readonly prefix = 'decentralized_identifier' as const;
  constructor(private readonly keys: KeyRing) {}

  private did(): string {
    const { kty, crv, x, y, n, e } = this.keys.activePublicJwk;
    const jwk = Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined));
    return `did:jwk:${Buffer.from(JSON.stringify(jwk)).toString('base64url')}`;
  }

  clientId(): string {
    return `decentralized_identifier:${this.did()}`;
  }

  /**
   * Signs with the key the request's client id names (a did:jwk fixed when the
   * session started, on whichever replica): after a rotation, or on a replica
   * that has not read the newest key yet, signing with the key that signs now
   * would give a request object whose signature its client id does not match.
   */
  async sign(payload: JWTPayload): Promise<string> {
    const did = didJwkOf(payload['client_id']) ?? this.did();
    let signingKid: string;
    try {
      signingKid = jwkThumbprint(JSON.parse(Buffer.from(did.slice('did:jwk:'.length), 'base64url').toString('utf8')) as object);
    } catch {
      throw new UnknownSigningKeyError(this.keys.purpose, 'unreadable did:jwk');
    }
    return this.keys.sign(payload, { typ: REQUEST_OBJECT_TYP, kid: `${did}#0`, signingKid });
  }
}

/** The did:jwk in a client id (`decentralized_identifier:did:jwk:...`, or the bare DID of the drafts), or null. */
function didJwkOf(clientId: unknown): string | null {
  if (typeof clientId !== 'string') return null;
  const did = clientId.startsWith('decentralized_identifier:') ? clientId.slice('decentralized_identifier:'.length) : clientId;
  return did.startsWith('did:jwk:') ? did : null;
}

class X509Signer implements RequestSigner {
  private readonly x5c: string[];
  private readonly key: KeyObject;
  private readonly alg: string;
  private readonly value: string;

  constructor(
    readonly prefix: 'x509_san_dns' | 'x509_hash',
    certificateFile: string,
    privateKeyFile: string,
  ) {
    const pem = readFileSync(certificateFile, 'utf8');
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    const chain = blocks.map((b) => new X509Certificate(b));
    const leaf = chain[0];
    if (!leaf) throw new Error(`verifier.x509CertificateFile ${certificateFile}: no certificate found`);
    this.x5c = chain.map((c) => c.raw.toString('base64'));
    this.key = createPrivateKey(readFileSync(privateKeyFile));
    if (!leaf.checkPrivateKey(this.key)) throw new Error('verifier.x509PrivateKeyFile does not belong to the leaf certificate');
    this.alg = this.key.asymmetricKeyType === 'ec' ? 'ES256' : this.key.asymmetricKeyType === 'ed25519' ? 'EdDSA' : 'RS256';
    if (prefix === 'x509_san_dns') {
      const [dns] = subjectAltNames(leaf).dns;
      if (!dns) throw new Error('verifier.x509CertificateFile: the leaf certificate has no DNS subjectAltName (needed for x509_san_dns)');
      this.value = dns;
    } else {
      this.value = createHash('sha256').update(leaf.raw).digest('base64url');
    }
  }

  clientId(): string {
    return `${this.prefix}:${this.value}`;
  }

  sign(payload: JWTPayload): Promise<string> {
    return new SignJWT(payload).setProtectedHeader({ alg: this.alg, typ: REQUEST_OBJECT_TYP, x5c: this.x5c }).sign(this.key);
  }
}

class RedirectUriSigner implements RequestSigner {
  readonly prefix = 'redirect_uri' as const;
  clientId(responseUri: string): string {
    return `redirect_uri:${responseUri}`;
  }
  sign(): Promise<string> {
    return Promise.reject(new Error('requests with the redirect_uri client id prefix are never signed'));
  }
}

export function createRequestSigner(config: WalletConfig['verifier'], keys: KeyRing, prefix = config.clientIdPrefix): RequestSigner {
  switch (prefix) {
    case 'decentralized_identifier':
      return new DidJwkSigner(keys);
    case 'x509_san_dns':
    case 'x509_hash':
      if (!config.x509CertificateFile || !config.x509PrivateKeyFile) {
        throw new Error(`verifier.clientIdPrefix ${prefix} needs verifier.x509CertificateFile and verifier.x509PrivateKeyFile`);
      }
      return new X509Signer(prefix, config.x509CertificateFile, config.x509PrivateKeyFile);
    case 'redirect_uri':
      return new RedirectUriSigner();
  }
}

export const unsignedSigner = (): RequestSigner => new RedirectUriSigner();
