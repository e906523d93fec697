import { z } from 'zod';

const zMs = (ms: number, description: string, min = 0) =>
  z.number().int().min(min).default(ms).meta({ description });

/** The registry service: SD-JWT VC type metadata and issuer metadata. */
export const zRegistrySection = z
  .strictObject({
    defaultTtlMs: zMs(3_600_000, 'How long fetched metadata is fresh when the upstream sends no `Cache-Control: max-age`.'),
    minTtlMs: zMs(60_000, 'Lower bound of the freshness taken from upstream `Cache-Control` (also used for `no-cache`/`no-store`).'),
    maxTtlMs: zMs(86_400_000, 'Upper bound of the freshness taken from upstream `Cache-Control`.'),
    staleMaxMs: zMs(
      7 * 86_400_000,
      'How long past freshness a cached copy is kept and served (with `X-Registry-Cache: stale`) while the upstream fails.',
    ),
    maxExtendsDepth: z
      .number()
      .int()
      .min(0)
      .max(20)
      .default(5)
      .meta({ description: 'Longest `extends` chain resolved for one vct; longer chains are refused.' }),
    maxDocumentBytes: z
      .number()
      .int()
      .min(1_024)
      .max(8 * 1024 * 1024)
      .default(256 * 1024)
      .meta({ description: 'Largest type metadata or issuer metadata document fetched, in bytes.' }),
    maxImageBytes: z
      .number()
      .int()
      .min(1_024)
      .max(8 * 1024 * 1024)
      .default(512 * 1024)
      .meta({ description: 'Largest image (logo, background, SVG template) embedded as a data URI, in bytes.' }),
    imageTypes: z
      .array(z.string().regex(/^image\/[a-z0-9.+-]+$/, 'must be an image media type'))
      .max(16)
      .default(['image/png', 'image/jpeg', 'image/svg+xml', 'image/webp', 'image/gif'])
      .meta({ description: 'Media types accepted for embedded images.' }),
    sources: z
      .array(z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }))
      .max(32)
      .default([])
      .meta({
        description:
          'Source lists polled for type metadata: URLs of JSON arrays of type metadata documents (or `{ "items": [...] }`). Locally registered metadata wins over them.',
      }),
    sourcePollIntervalMs: zMs(3_600_000, 'How often the source lists are polled (one replica at a time).', 1_000),
    issuerMetadataTtlMs: zMs(300_000, 'How long fetched issuer and authorization server metadata is cached.', 1_000),
  })
  .prefault({})
  .meta({ description: 'The registry service: SD-JWT VC type metadata, issuer metadata and trust results.' });
