import { z } from 'zod';
import { PresentationError } from '../protocol-error';

/** DCQL (OpenID4VP 1.0, section 6), with limits so a stored query stays small. */

const zQueryId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');
const zClaimValue = z.union([z.string().max(1024), z.number(), z.boolean()]);

export const zClaimPath = z
  .array(z.union([z.string().min(1).max(256), z.number().int().nonnegative(), z.null()]))
  .min(1)
  .max(16);
export type ClaimPath = z.infer<typeof zClaimPath>;

export const zClaimsQuery = z.strictObject({
  id: zQueryId.optional(),
  path: zClaimPath,
  values: z.array(zClaimValue).min(1).max(64).optional(),
  /** mdoc only; kept so such queries parse. */
  intent_to_retain: z.boolean().optional(),
});
export type ClaimsQuery = z.infer<typeof zClaimsQuery>;

export const zCredentialQuery = z
  .strictObject({
    id: zQueryId,
    format: z.string().min(1).max(64),
    multiple: z.boolean().default(false),
    meta: z
      .object({
        vct_values: z.array(z.string().min(1).max(2048)).min(1).max(32).optional(),
        doctype_value: z.string().min(1).max(256).optional(),
        type_values: z.array(z.array(z.string().min(1).max(2048)).min(1).max(16)).min(1).max(16).optional(),
      })
      .loose(),
    trusted_authorities: z
      .array(z.strictObject({ type: z.string().min(1).max(64), values: z.array(z.string().min(1).max(2048)).min(1).max(64) }))
      .min(1)
      .max(16)
      .optional(),
    require_cryptographic_holder_binding: z.boolean().default(true),
    claims: z.array(zClaimsQuery).min(1).max(64).optional(),
    claim_sets: z.array(z.array(zQueryId).min(1).max(64)).min(1).max(32).optional(),
  })
  .superRefine((query, ctx) => {
    const ids = (query.claims ?? []).map((c) => c.id);
    if (query.claim_sets) {
      if (ids.some((id) => id === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['claims'], message: 'every claim needs an id when claim_sets is present' });
      }
      query.claim_sets.forEach((set, i) =>
        set.forEach((id, j) => {
          if (!ids.includes(id)) ctx.addIssue({ code: 'custom', path: ['claim_sets', i, j], message: `unknown claim id "${id}"` });
        }),
      );
    }
    const defined = ids.filter((id): id is string => id !== undefined);
    if (new Set(defined).size !== defined.length) ctx.addIssue({ code: 'custom', path: ['claims'], message: 'claim ids must be unique' });
  });
export type CredentialQuery = z.infer<typeof zCredentialQuery>;

export const zCredentialSetQuery = z.strictObject({
  options: z.array(z.array(zQueryId).min(1).max(32)).min(1).max(32),
  required: z.boolean().default(true),
  purpose: z.unknown().optional(),
});

export const zDcqlQuery = z
  .strictObject({
    credentials: z.array(zCredentialQuery).min(1).max(32),
    credential_sets: z.array(zCredentialSetQuery).min(1).max(16).optional(),
  })
  .superRefine((query, ctx) => {
    const ids = query.credentials.map((c) => c.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', path: ['credentials'], message: 'credential ids must be unique' });
    query.credential_sets?.forEach((set, i) =>
      set.options.forEach((option, j) =>
        option.forEach((id, k) => {
          if (!ids.includes(id)) {
            ctx.addIssue({ code: 'custom', path: ['credential_sets', i, 'options', j, k], message: `unknown credential id "${id}"` });
          }
        }),
      ),
    );
  });
export type DcqlQuery = z.infer<typeof zDcqlQuery>;

/** Parses and checks a DCQL query; throws `query_invalid` naming the first problem's path. */
export function parseDcqlQuery(input: unknown): DcqlQuery {
  const result = zDcqlQuery.safeParse(input);
  if (!result.success) {
    const [issue] = result.error.issues;
    throw new PresentationError('query_invalid', `DCQL query: /${issue?.path.join('/') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}
