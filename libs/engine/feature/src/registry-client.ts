import type { IssuerMetadataView, RegistryPort } from '@wallet/engine-flows';
import { fetchOperatorJson, type RegistryLookup } from '@wallet/platform';
import { z } from 'zod';

const zIssuerAnswer = z.object({
  issuer: z.string(),
  credential_issuer_metadata: z.record(z.string(), z.unknown()),
  signed_metadata: z.object({ present: z.boolean(), verified: z.boolean() }),
  authorization_servers: z.array(z.object({ issuer: z.string(), metadata: z.record(z.string(), z.unknown()).nullable(), error: z.string().optional() })).max(5),
  trust: z.object({ trusted: z.boolean(), reason: z.string(), source: z.enum(['pdp', 'static', 'disabled', 'error']) }),
});

/** The registry's issuer-metadata answer (its route's JSON) as the engine's view of the issuer. */
export function issuerView(answer: unknown): IssuerMetadataView {
  const parsed = zIssuerAnswer.safeParse(answer);
  if (!parsed.success) throw new Error('the registry answered with an unexpected shape');
  const a = parsed.data;
  return {
    issuer: a.issuer,
    credentialIssuerMetadata: a.credential_issuer_metadata,
    signedMetadata: a.signed_metadata,
    authorizationServers: a.authorization_servers.map((s) => ({ issuer: s.issuer, metadata: s.metadata, ...(s.error ? { error: s.error } : {}) })),
    trust: { trusted: a.trust.trusted, reason: a.trust.reason.slice(0, 512), source: a.trust.source },
  };
}

/** The registry in the same process (the all-in-one). */
export function inProcessRegistry(lookup: RegistryLookup): RegistryPort {
  return {
    issuerMetadata: async (issuer, tenantId) => issuerView(await lookup.issuerMetadata(issuer, tenantId)),
    typeMetadata: (vct) => lookup.typeMetadata(vct),
  };
}

const MAX_BYTES = 4 * 1024 * 1024;

/**
 * The registry service over HTTP (`engine.registryUrl`): operator
 * configuration, not user input, so not the outbound guard's job; timeouts
 * and a size cap still apply. The tenant travels in `X-Tenant-ID`, so the
 * trust decision is the tenant's.
 */
export function httpRegistry(baseUrl: string, timeoutMs = 15_000): RegistryPort {
  return {
    issuerMetadata: async (issuer, tenantId) => {
      const { status, body } = await fetchOperatorJson(`${baseUrl}/registry/issuer-metadata?issuer=${encodeURIComponent(issuer)}`, {
        headers: { 'x-tenant-id': tenantId },
        timeoutMs,
        maxBytes: MAX_BYTES,
      });
      if (status !== 200) {
        const detail = body && typeof body === 'object' && typeof (body as { detail?: unknown }).detail === 'string' ? (body as { detail: string }).detail : `HTTP ${status}`;
        throw new Error(detail.slice(0, 200));
      }
      return issuerView(body);
    },
    typeMetadata: async (vct) => {
      const { status, body } = await fetchOperatorJson(`${baseUrl}/registry/type-metadata?vct=${encodeURIComponent(vct)}`, { timeoutMs, maxBytes: MAX_BYTES });
      if (status !== 200 || !body || typeof body !== 'object' || Array.isArray(body)) return null;
      return body as Record<string, unknown>;
    },
  };
}
