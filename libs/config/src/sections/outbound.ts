import { z } from 'zod';

const zCidr = z
  .string()
  .regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, 'must be an IP address or CIDR range such as 10.0.0.0/8 or fd00::/8');
const zHostPattern = z
  .string()
  .regex(/^(\*\.)?[a-z0-9.-]+$/i, 'must be a host name, or *.example.com for every subdomain');

/** The guarded outbound HTTP client (`OutboundClient` in `@wallet/platform`). */
export const zOutboundSection = z
  .strictObject({
    allowHttp: z
      .boolean()
      .default(false)
      .meta({ description: 'Allow plain `http:` URLs for outbound fetches. Development and tests only.' }),
    allowCidrs: z
      .array(zCidr)
      .max(64)
      .default([])
      .meta({
        description:
          'Address ranges exempt from the built-in block list (loopback, private, link-local, metadata, CGNAT, ...). For tests with servers on loopback, e.g. `127.0.0.1/32`. Leave empty in production.',
      }),
    blockCidrs: z
      .array(zCidr)
      .max(256)
      .default([])
      .meta({ description: 'Extra address ranges never fetched from, even if globally routable. Wins over `allowCidrs`.' }),
    allowHosts: z
      .array(zHostPattern)
      .max(256)
      .default([])
      .meta({
        description:
          'When non-empty, only these hosts are fetched from (`example.com`, or `*.example.com` for subdomains). Resolved addresses are still checked.',
      }),
    blockHosts: z
      .array(zHostPattern)
      .max(256)
      .default([])
      .meta({ description: 'Hosts never fetched from; same syntax as `allowHosts`, and wins over it.' }),
    maxRedirects: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(3)
      .meta({ description: 'Redirects followed per fetch; every hop is checked again.' }),
    connectTimeoutMs: z
      .number()
      .int()
      .min(1)
      .default(5_000)
      .meta({ description: 'TCP and TLS connect timeout of outbound fetches.' }),
    timeoutMs: z
      .number()
      .int()
      .min(1)
      .default(10_000)
      .meta({ description: 'Longest time one outbound fetch may take, redirects and body included.' }),
    maxResponseBytes: z
      .number()
      .int()
      .min(1)
      .max(64 * 1024 * 1024)
      .default(2 * 1024 * 1024)
      .meta({ description: 'Largest outbound response body, in bytes; callers may set smaller limits.' }),
  })
  .prefault({})
  .meta({ description: 'Outbound HTTP fetches of URLs the services do not configure themselves (SSRF guard).' });
