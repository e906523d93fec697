import { z } from 'zod';

/** Trust evaluation of issuers and verifiers (`@wallet/trust`). */
export const zTrustSection = z
  .strictObject({
    policy: z
      .enum(['pdp', 'always', 'never', 'allowList'])
      .default('pdp')
      .meta({
        description:
          'How trust is decided. `pdp`: ask the AuthZEN Policy Decision Point (the tenant\'s `trustConfig.pdpUrl`, else `trust.pdpUrl`; with neither, nothing is trusted). `always`, `never`: static answers for development and tests. `allowList`: trusted only when the entity id is in `trust.allowList`.',
      }),
    pdpUrl: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
      .overwrite((url) => url.replace(/\/+$/, ''))
      .optional()
      .meta({
        description:
          'Default AuthZEN PDP base URL (e.g. `https://pdp.example.com`). Its endpoint is discovered at `/.well-known/authzen-configuration`, falling back to `<pdpUrl>/evaluation`. A tenant\'s `trustConfig.pdpUrl` overrides it; a tenant value of `none` disables trust evaluation for that tenant.',
      }),
    allowList: z
      .array(z.string().min(1).max(2048))
      .max(1000)
      .default([])
      .meta({
        description:
          'Entity ids (issuer or verifier identifiers) trusted under the `allowList` policy. Prefix an entry with a role and a space (`credential-issuer https://issuer.example`) to trust it for that role only.',
      }),
    timeoutMs: z
      .number()
      .int()
      .min(1)
      .default(3_000)
      .meta({ description: 'Longest time one PDP call may take; past it the entity is not trusted (fail closed).' }),
    cacheTtlMs: z
      .number()
      .int()
      .min(1_000)
      .default(300_000)
      .meta({ description: 'How long a PDP decision is cached, per tenant, entity, role and key thumbprint.' }),
    errorCacheTtlMs: z
      .number()
      .int()
      .min(0)
      .default(5_000)
      .meta({ description: 'How long a failed PDP call ("not trusted: PDP unreachable") is cached. 0: not cached.' }),
    refreshAheadMs: z
      .number()
      .int()
      .min(0)
      .default(60_000)
      .meta({ description: 'The trust-refresh job re-evaluates cached PDP decisions that expire within this time.' }),
    discoveryTtlMs: z
      .number()
      .int()
      .min(0)
      .default(3_600_000)
      .meta({ description: 'How long a discovered PDP endpoint (`/.well-known/authzen-configuration`) is remembered.' }),
    pdpAllowHttp: z
      .boolean()
      .default(false)
      .meta({ description: 'Allow `http:` PDP URLs (a PDP sidecar on the same host or in the cluster).' }),
    pdpAllowCidrs: z
      .array(z.string().regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, 'must be an IP address or CIDR range'))
      .max(64)
      .default([])
      .meta({
        description:
          'Address ranges PDPs may live in although the outbound guard blocks them (e.g. `10.0.0.0/8` for an in-cluster PDP). Applies to PDP calls only.',
      }),
  })
  .prefault({})
  .meta({ description: 'Trust evaluation of issuers and verifiers (AuthZEN PDP or static policies).' });
