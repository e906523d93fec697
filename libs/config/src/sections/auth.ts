import { z } from 'zod';

/**
 * The `auth` section: passkey ceremonies, access and refresh tokens, and how
 * every service finds auth's public keys. Conventions as in config.schema.ts.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

const zDurationMs = (ms: number, description: string, min = 1) =>
  z.number().int().min(min).default(ms).meta({ description });

const zRule = (limit: number, windowMs: number, what: string) =>
  z
    .strictObject({
      limit: z
        .number()
        .int()
        .min(1)
        .default(limit)
        .meta({ description: `Requests allowed per window and client address on ${what}.` }),
      windowMs: zDurationMs(windowMs, `Length of the rate-limit window on ${what}.`, 1000),
    })
    .prefault({})
    .meta({ description: `Rate limit on ${what}, shared by every replica through the cache.` });

export const zAuthSection = z
  .strictObject({
    rpId: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[a-z0-9.-]+$/, 'must be a host name such as wallet.example.com (no scheme, no port)')
      .default('localhost')
      .meta({ description: 'WebAuthn relying party id: the registrable domain the passkeys are bound to.' }),
    rpName: z
      .string()
      .min(1)
      .max(100)
      .default('Wallet')
      .meta({ description: 'Relying party name that authenticators show to the user.' }),
    origins: z
      .array(z.string().regex(/^https?:\/\/[^/?#\s]+$/, 'must be an origin such as https://wallet.example.com (no path)'))
      .min(1)
      .max(32)
      .optional()
      .meta({
        description:
          'Origins the WebAuthn ceremonies may come from (the front ends). As an environment variable or flag: a comma-separated list. Unset: the origin of `server.publicUrl` when that is set, else `http://localhost:<allInOne.walletPort>` (`http://localhost:8080` by default), so passkeys keep working when the wallet port changes.',
      }),
    challengeTtlMs: zDurationMs(300_000, 'How long a registration or login challenge stays valid (default 5 minutes).', 1000),
    accessTokenTtlMs: zDurationMs(
      900_000,
      'Lifetime of an access token (default 15 minutes). Must not exceed `crypto.maxTokenLifetimeMs`.',
      1000,
    ),
    refreshTokenTtlMs: zDurationMs(30 * DAY_MS, 'Lifetime of a refresh token (default 30 days).', 1000),
    issuer: z
      .string()
      .min(1)
      .max(2048)
      .default('urn:wallet:auth')
      .meta({ description: 'The `iss` of access tokens; every service checks it.' }),
    audience: z
      .string()
      .min(1)
      .max(2048)
      .default('urn:wallet:api')
      .meta({ description: 'The `aud` of access tokens; every service checks it.' }),
    jwksUrl: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
      .optional()
      .meta({
        description:
          "Where services that do not run auth in the same process fetch auth's JWKS, e.g. `http://auth:3001/auth/.well-known/jwks.json`. Unset: the public keys are read from the shared store.",
      }),
    jwksRefreshMinIntervalMs: zDurationMs(
      30_000,
      'Window of the JWKS reload budget: a `kid` not seen before triggers one reload at once, each kid at most once per window and all kids together at most three times (so forged kids cannot make a service hammer auth).',
      100,
    ),
    jwksCacheTtlMs: zDurationMs(300_000, 'How long a fetched JWKS is used before it is fetched again.', 1000),
    tenantCacheTtlMs: zDurationMs(
      5_000,
      'How long a service caches a tenant record in process (changes published by admin evict it sooner).',
      0,
    ),
    rateLimits: z
      .strictObject({
        ceremony: zRule(30, 60_000, 'the WebAuthn ceremony routes (begin and finish)'),
        token: zRule(60, 60_000, 'the token routes (refresh, logout)'),
      })
      .prefault({})
      .meta({ description: 'Rate limits of the auth endpoints.' }),
  })
  .prefault({})
  .meta({ description: 'The auth service: passkeys, tokens and key discovery.' });

export type AuthSection = z.infer<typeof zAuthSection>;
