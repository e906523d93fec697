import { z } from 'zod';

const describe = (description: string, extra: { secret?: boolean } = {}) => ({ description, ...extra });
const duration = (ms: number, description: string) => z.number().int().min(1).default(ms).meta(describe(description));

/** The OpenID4VP relying party (verifier service). */
export const zVerifierSection = z
  .strictObject({
    publicUrl: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
      .overwrite((url) => url.replace(/\/+$/, ''))
      .optional()
      .meta(
        describe(
          'Externally visible base URL of the verifier (wallets post responses here), e.g. `https://verifier.example.com`. Unset: `server.publicUrl`, else the address it listens on.',
        ),
      ),
    clientIdPrefix: z
      .enum(['decentralized_identifier', 'x509_san_dns', 'x509_hash', 'redirect_uri'])
      .default('decentralized_identifier')
      .meta(
        describe(
          'How wallets identify and authenticate the verifier (OpenID4VP client identifier prefix). `decentralized_identifier`: a did:jwk of the request signing key (no setup); `x509_san_dns` / `x509_hash`: the certificate in `x509CertificateFile`; `redirect_uri`: unsigned requests (development only).',
        ),
      ),
    x509CertificateFile: z
      .string()
      .min(1)
      .optional()
      .meta(describe('PEM file with the request-signing certificate chain, leaf first. Required for the x509 client id prefixes.')),
    x509PrivateKeyFile: z
      .string()
      .min(1)
      .optional()
      .meta(describe('PEM file with the private key of the leaf certificate (PKCS#8 or SEC1).')),
    trustedRootsFile: z
      .string()
      .min(1)
      .optional()
      .meta(describe('PEM bundle of root certificates that issuer `x5c` chains must lead to. Unset: x5c-signed credentials are refused.')),
    servicesFile: z
      .string()
      .min(1)
      .optional()
      .meta(
        describe(
          'YAML file with the relying-party services, their scopes, DCQL queries and trusted issuers (see docs/verifier.md). Unset: only the built-in `default` service with its `demo` scope.',
        ),
      ),
    sessionTtlMs: duration(300_000, 'How long a login session (QR code, request object) stays valid.'),
    codeTtlMs: duration(60_000, 'How long an authorization code may be exchanged at the token endpoint.'),
    tokenTtlMs: duration(3_600_000, 'Lifetime of the JWTs handed to applications.'),
    tokenAlg: z
      .enum(['ES256', 'RS256'])
      .default('ES256')
      .meta(
        describe(
          'Algorithm of the JWTs handed to applications. A change takes effect at the next key rotation (or with a fresh key store); both keys stay published meanwhile.',
        ),
      ),
    clockSkewSeconds: z
      .number()
      .int()
      .min(0)
      .max(600)
      .default(60)
      .meta(describe('Tolerated clock difference for credential and key-binding dates, in seconds.')),
    statusListCacheTtlMs: duration(300_000, 'How long a fetched status list is reused.'),
    verificationWorkers: z
      .number()
      .int()
      .min(0)
      .max(32)
      .optional()
      .meta(
        describe(
          'Worker threads that verify SD-JWT VC presentations (disclosures, both signatures, key binding) off the event loop. `0`: on the event loop, with the signatures on libuv\'s thread pool. Unset: one per CPU core but one, at least 1, at most 4.',
        ),
      ),
  })
  .prefault({})
  .meta(describe('The OpenID4VP verifier (relying party) service.'));
