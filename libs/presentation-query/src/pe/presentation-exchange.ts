import { z } from 'zod';
import { selectClaimEntries, type PresentedCredential, type SelectedClaim } from '../dcql/evaluate-dcql-query';
import type { ClaimPath } from '../dcql/dcql-query';
import { PresentationError } from '../protocol-error';

/**
 * DIF Presentation Exchange 2.0, the subset relying parties use with SD-JWT
 * VCs: input descriptors with `constraints.fields` (JSONPath `path`s, a JSON
 * Schema `filter` with `type`, `const`, `enum`, `pattern`, `minimum`,
 * `maximum`, and `optional`). `submission_requirements` are refused when a
 * definition is loaded, so every input descriptor is required.
 */

const zFilter = z
  .strictObject({
    type: z.enum(['string', 'number', 'integer', 'boolean', 'array', 'object']).optional(),
    const: z.union([z.string(), z.number(), z.boolean()]).optional(),
    enum: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).max(64).optional(),
    pattern: z.string().max(256).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
  })
  .superRefine((filter, ctx) => {
    if (filter.pattern !== undefined) {
      try {
        new RegExp(filter.pattern, 'u');
      } catch {
        ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'is not a valid regular expression' });
      }
    }
  });

const zField = z.strictObject({
  id: z.string().max(64).optional(),
  path: z.array(z.string().min(2).max(256)).min(1).max(8),
  filter: zFilter.optional(),
  optional: z.boolean().optional(),
  purpose: z.string().max(500).optional(),
  name: z.string().max(200).optional(),
  intent_to_retain: z.boolean().optional(),
});

const zInputDescriptor = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
  name: z.string().max(200).optional(),
  purpose: z.string().max(500).optional(),
  format: z.record(z.string(), z.unknown()).optional(),
  constraints: z.strictObject({
    limit_disclosure: z.enum(['required', 'preferred']).optional(),
    fields: z.array(zField).min(1).max(64),
  }),
});

export const zPresentationDefinition = z
  .strictObject({
    id: z.string().min(1).max(128),
    name: z.string().max(200).optional(),
    purpose: z.string().max(500).optional(),
    format: z.record(z.string(), z.unknown()).optional(),
    input_descriptors: z.array(zInputDescriptor).min(1).max(16),
  })
  .superRefine((definition, ctx) => {
    const ids = definition.input_descriptors.map((d) => d.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', path: ['input_descriptors'], message: 'ids must be unique' });
    definition.input_descriptors.forEach((d, i) =>
      d.constraints.fields.forEach((f, j) =>
        f.path.forEach((p, k) => {
          if (parseJsonPath(p) === null) {
            ctx.addIssue({ code: 'custom', path: ['input_descriptors', i, 'constraints', 'fields', j, 'path', k], message: 'unsupported JSONPath' });
          }
        }),
      ),
    );
  });
export type PresentationDefinition = z.infer<typeof zPresentationDefinition>;
/** One input descriptor of a {@link PresentationDefinition}. */
export type InputDescriptor = PresentationDefinition['input_descriptors'][number];
/** One field constraint of an {@link InputDescriptor}. */
export type InputDescriptorField = InputDescriptor['constraints']['fields'][number];
/** A field's JSON Schema filter (the subset {@link zPresentationDefinition} accepts). */
export type FieldFilter = z.infer<typeof zFilter>;

export const zPresentationSubmission = z.object({
  id: z.string().min(1).max(128),
  definition_id: z.string().min(1).max(128),
  descriptor_map: z
    .array(z.object({ id: z.string().min(1).max(64), format: z.string().min(1).max(64), path: z.string().min(1).max(64) }))
    .min(1)
    .max(16),
});
export type PresentationSubmission = z.infer<typeof zPresentationSubmission>;

/** `$.a.b`, `$['a'].b`, `$.a[0]`, `$.a[*]` to a claims path; null for anything else (filters, recursion). */
export function parseJsonPath(path: string): ClaimPath | null {
  if (!path.startsWith('$')) return null;
  const out: ClaimPath = [];
  const pattern = /\.([A-Za-z_@#~$][\w@#~$-]*)|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|\[\*\]|\.\*/y;
  let index = 1;
  while (index < path.length) {
    pattern.lastIndex = index;
    const match = pattern.exec(path);
    if (!match) return null;
    if (match[1] !== undefined) out.push(match[1]);
    else if (match[2] !== undefined) out.push(match[2].replace(/\\(.)/g, '$1'));
    else if (match[3] !== undefined) out.push(match[3].replace(/\\(.)/g, '$1'));
    else if (match[4] !== undefined) out.push(Number(match[4]));
    else out.push(null);
    index = pattern.lastIndex;
  }
  return out;
}

export function parsePresentationDefinition(input: unknown): PresentationDefinition {
  if (input && typeof input === 'object' && 'submission_requirements' in input) {
    throw new PresentationError('query_invalid', 'presentation definition: submission_requirements are not supported');
  }
  const result = zPresentationDefinition.safeParse(input);
  if (!result.success) {
    const [issue] = result.error.issues;
    throw new PresentationError('query_invalid', `presentation definition: /${issue?.path.join('/') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

export function parsePresentationSubmission(input: unknown): PresentationSubmission {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      throw new PresentationError('malformed', 'presentation_submission is not JSON');
    }
  }
  const result = zPresentationSubmission.safeParse(value);
  if (!result.success) throw new PresentationError('malformed', 'presentation_submission is malformed');
  return result.data;
}

/** Whether a value passes a field's filter (no filter: any value). */
export function matchesFilter(value: unknown, filter: FieldFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.type) {
    const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
    if (filter.type === 'integer' ? !Number.isInteger(value) : filter.type !== type) return false;
  }
  if (filter.const !== undefined && value !== filter.const) return false;
  if (filter.enum && !filter.enum.some((candidate) => candidate === value)) return false;
  if (filter.pattern !== undefined && (typeof value !== 'string' || !new RegExp(filter.pattern, 'u').test(value))) return false;
  if (filter.minimum !== undefined && (typeof value !== 'number' || value < filter.minimum)) return false;
  if (filter.maximum !== undefined && (typeof value !== 'number' || value > filter.maximum)) return false;
  return true;
}

/** The document a PE field path reads: the claims plus `vct`, as the credential carries them. */
export function fieldDocument(credential: Pick<PresentedCredential, 'claims' | 'vct'>): Record<string, unknown> {
  return { ...credential.claims, ...(credential.vct ? { vct: credential.vct } : {}) };
}

/**
 * The values a field constraint takes from a document: those of its first
 * path (in the given order of preference) that selects a value passing the
 * filter, each with its concrete path. Empty when the field is not met.
 */
export function matchField(document: Record<string, unknown>, field: InputDescriptorField): SelectedClaim[] {
  for (const path of field.path) {
    const claimPath = parseJsonPath(path);
    if (!claimPath) continue;
    const matching = selectClaimEntries(document, claimPath).filter(({ value }) => matchesFilter(value, field.filter));
    if (matching.length > 0) return matching;
  }
  return [];
}

function fieldSatisfied(credential: PresentedCredential, field: InputDescriptorField): boolean {
  return matchField(fieldDocument(credential), field).length > 0;
}

/** Which element of `vp_token` a descriptor's `path` names: `$` (a single presentation) or `$[i]`. */
export function selectSubmitted(vpToken: readonly string[], single: boolean, path: string): string {
  if (path === '$' && single) return vpToken[0] ?? '';
  const index = /^\$\[(\d+)\]$/.exec(path)?.[1];
  const presentation = index === undefined ? undefined : vpToken[Number(index)];
  if (presentation === undefined) throw new PresentationError('malformed', `presentation_submission path ${path.slice(0, 32)} names no presentation`);
  return presentation;
}

/**
 * Checks that verified credentials answer a presentation definition: the
 * submission is for this definition, maps every input descriptor exactly
 * once, and each credential meets every non-optional field constraint.
 */
export function evaluatePresentationExchange(
  definition: PresentationDefinition,
  submission: PresentationSubmission,
  presented: ReadonlyMap<string, PresentedCredential>,
): void {
  if (submission.definition_id !== definition.id) {
    throw new PresentationError('query_not_satisfied', 'the presentation_submission answers another presentation definition');
  }
  const mapped = submission.descriptor_map.map((d) => d.id);
  if (new Set(mapped).size !== mapped.length) throw new PresentationError('query_not_satisfied', 'an input descriptor is answered twice');
  for (const id of mapped) {
    if (!definition.input_descriptors.some((d) => d.id === id)) {
      throw new PresentationError('query_not_satisfied', `the submission answers an input descriptor "${id.slice(0, 64)}" that was not asked`);
    }
  }
  for (const descriptor of definition.input_descriptors) {
    const credential = presented.get(descriptor.id);
    if (!credential) throw new PresentationError('query_not_satisfied', `input descriptor "${descriptor.id}" is not answered`);
    if (!credential.holderBound) throw new PresentationError('query_not_satisfied', 'holder binding is required');
    const missing = descriptor.constraints.fields.find((field) => !field.optional && !fieldSatisfied(credential, field));
    if (missing) {
      throw new PresentationError(
        'query_not_satisfied',
        `input descriptor "${descriptor.id}": field ${missing.path[0] ?? ''} is missing or does not match its filter`,
      );
    }
  }
}
