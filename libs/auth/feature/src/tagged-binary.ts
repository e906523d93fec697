import { ValidationError } from '@wallet/domain';

/** The `{"$b64u": "..."}` form the reference wallet front ends use for binary values in JSON. */
export interface TaggedBinary {
  $b64u: string;
}

const B64U = /^[A-Za-z0-9_-]*$/;

export function isTaggedBinary(value: unknown): value is TaggedBinary {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as { $b64u?: unknown }).$b64u === 'string'
  );
}

/**
 * Replaces every `{"$b64u": "..."}` in a JSON value by its base64url string,
 * which is how @simplewebauthn expects binary fields. Depth-limited.
 */
export function untagBinary(value: unknown, path = '', depth = 0): unknown {
  if (depth > 12) throw new ValidationError('the request nests too deeply', [{ path: path || '/', message: 'too deep' }]);
  if (isTaggedBinary(value)) {
    if (!B64U.test(value.$b64u)) {
      throw new ValidationError('a $b64u value is not base64url', [{ path: path || '/', message: 'not base64url' }]);
    }
    return value.$b64u;
  }
  if (Array.isArray(value)) return value.map((item, i) => untagBinary(item, `${path}/${i}`, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = untagBinary(inner, `${path}/${key}`, depth + 1);
    return out;
  }
  return value;
}

export const tagged = (b64u: string): TaggedBinary => ({ $b64u: b64u });
