import { RefusalError, ValidationError, type ValidationIssue } from '@wallet/domain';
import { createHash } from 'node:crypto';
import { isTaggedBinary } from './tagged-binary';

/** Largest keystore blob accepted, in bytes (stored as base64url, within the entity's 1 MiB limit). */
export const MAX_PRIVATE_DATA_BYTES = 786_000;

/** The ETag of a keystore blob: base64url SHA-256 of its bytes, so equal content has the same tag on every replica. */
export function privateDataEtag(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64url');
}

/** The HTTP form of an ETag (a quoted strong validator). */
export const quoteEtag = (etag: string): string => `"${etag}"`;

/**
 * An `If-Match` / `If-None-Match` header value as a list of bare tags: quotes
 * and a weak prefix removed; `*` kept. Null when the header is absent.
 */
export function parseEtagHeader(header: string | string[] | undefined): string[] | null {
  if (header === undefined) return null;
  const value = Array.isArray(header) ? header.join(',') : header;
  return value
    .split(',')
    .map((part) => part.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1'))
    .filter(Boolean);
}

const B64U = /^[A-Za-z0-9_-]*$/;

/**
 * What is wrong with a keystore blob as clients send it (`{"$b64u": "..."}`
 * or a string), without decoding it: issues at `path`, none when it is fine.
 */
export function privateDataIssues(value: unknown, path = ''): ValidationIssue[] {
  let bytes: number;
  if (isTaggedBinary(value)) {
    if (!B64U.test(value.$b64u)) return [{ path, message: 'not base64url' }];
    bytes = Math.floor((value.$b64u.length * 3) / 4);
  } else if (typeof value === 'string') {
    bytes = Buffer.byteLength(value, 'utf8');
  } else {
    return [{ path, message: 'wrong type' }];
  }
  return bytes > MAX_PRIVATE_DATA_BYTES ? [{ path, message: 'too large' }] : [];
}

/**
 * Decodes the keystore blob as clients send it: `{"$b64u": "..."}` (bytes) or
 * a plain string (its UTF-8 bytes).
 */
export function decodePrivateData(value: unknown, path = '/privateData'): Buffer {
  const issue = privateDataIssues(value, path)[0];
  if (issue) {
    const detail =
      issue.message === 'wrong type'
        ? 'privateData must be {"$b64u": "..."} or a string'
        : issue.message === 'too large'
          ? `privateData is larger than ${MAX_PRIVATE_DATA_BYTES} bytes`
          : 'privateData is not base64url';
    throw new ValidationError(detail, [issue]);
  }
  return isTaggedBinary(value) ? Buffer.from(value.$b64u, 'base64url') : Buffer.from(value as string, 'utf8');
}

/** The 412 answer: the write was based on a stale tag. Carries the current tag (client-safe: a hash). */
export function staleEtag(current: string | null): RefusalError {
  return new RefusalError('precondition_failed', 'etag_mismatch', 'the keystore changed since the tag the client sent', {
    details: { currentEtag: current },
  });
}
