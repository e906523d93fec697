import { decodeCompactJws } from '@wallet/crypto';
import { PresentationError } from '@wallet/presentation-query';
import { z } from 'zod';

/**
 * The shapes of an OpenID4VP `vp_token`, parsed before any presentation in it
 * is verified: the DCQL form (OpenID4VP 1.0), the Presentation Exchange form
 * (the drafts), and the key-binding nonce a grant without a browser session
 * is looked up by. Every refusal is a `PresentationError` (`malformed`, or
 * `key_binding_missing` for a missing nonce) whose message names the rule,
 * never the presentation.
 */

/** Most presentations one `vp_token` may carry, in either form. */
export const MAX_PRESENTATIONS = 16;
/** Longest `vp_token` whose key-binding nonce is read (the verification bounds the rest). */
export const MAX_VP_TOKEN_LENGTH = 256_000;

const zPresentation = z.string().min(1);
/** One entry of a DCQL `vp_token`: one presentation or a non-empty array of them. */
export const zDcqlVpTokenEntry = z.union([zPresentation, z.array(zPresentation).min(1)]);
export type DcqlVpTokenEntry = z.infer<typeof zDcqlVpTokenEntry>;
/** A DCQL `vp_token`: credential query id to its presentations. */
export const zDcqlVpToken = z.record(z.string(), zDcqlVpTokenEntry);
export type DcqlVpToken = z.infer<typeof zDcqlVpToken>;
/** The array form of a Presentation Exchange `vp_token`. */
export const zPexVpTokenArray = z.array(z.string()).min(1).max(MAX_PRESENTATIONS);

const NOT_AN_OBJECT = 'vp_token must be a JSON object keyed by credential query id';

/** Parses the DCQL `vp_token`: a JSON object from credential query id to one presentation or an array of them. */
export function parseDcqlVpToken(raw: unknown): Map<string, string[]> {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new PresentationError('malformed', NOT_AN_OBJECT);
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new PresentationError('malformed', NOT_AN_OBJECT);
  // Entry by entry into a Map: a query id such as `__proto__` stays an ordinary key.
  const out = new Map<string, string[]>();
  let count = 0;
  for (const [id, entry] of Object.entries(value)) {
    const parsed = zDcqlVpTokenEntry.safeParse(entry);
    if (!parsed.success) throw new PresentationError('malformed', `vp_token["${id.slice(0, 64)}"] must hold presentation strings`);
    const list = typeof parsed.data === 'string' ? [parsed.data] : parsed.data;
    count += list.length;
    out.set(id, list);
  }
  if (count === 0 || count > MAX_PRESENTATIONS) throw new PresentationError('malformed', `vp_token must hold 1 to ${MAX_PRESENTATIONS} presentations`);
  return out;
}

/** A Presentation Exchange `vp_token`: one presentation (`single`), or a JSON array of them. */
export function parsePexVpToken(raw: unknown): { list: string[]; single: boolean } {
  if (typeof raw !== 'string' || raw.length === 0) throw new PresentationError('malformed', 'vp_token is required');
  if (!raw.startsWith('[')) return { list: [raw], single: true };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new PresentationError('malformed', 'vp_token is neither a presentation nor a JSON array of them');
  }
  const list = zPexVpTokenArray.safeParse(parsed);
  if (!list.success) throw new PresentationError('malformed', `vp_token must hold 1 to ${MAX_PRESENTATIONS} presentation strings`);
  return { list: list.data, single: false };
}

/**
 * The nonce in the key-binding JWT of a `vp_token`'s first presentation (any
 * form: a DCQL object, a PE array, or one presentation). Read before
 * verification, only to find the nonce record a grant without a browser
 * session was issued; the verification then checks it on every presentation.
 */
export function readKeyBindingNonce(vpToken: unknown): string {
  if (typeof vpToken !== 'string' || vpToken.length === 0 || vpToken.length > MAX_VP_TOKEN_LENGTH) throw new PresentationError('malformed', 'vp_token is required');
  let first: unknown = vpToken;
  if (vpToken.startsWith('{') || vpToken.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(vpToken);
    } catch {
      throw new PresentationError('malformed', 'vp_token is not valid JSON');
    }
    const values: unknown[] = Array.isArray(parsed) ? parsed : parsed && typeof parsed === 'object' ? Object.values(parsed) : [];
    const entry = values[0];
    first = Array.isArray(entry) ? (entry as unknown[])[0] : entry;
  }
  if (typeof first !== 'string') throw new PresentationError('malformed', 'vp_token holds no presentation');
  const NO_NONCE = 'the presentation has no key-binding JWT with a nonce';
  let nonce: unknown;
  try {
    // The KB-JWT is the last `~`-separated part of an SD-JWT presentation.
    nonce = decodeCompactJws(first.slice(first.lastIndexOf('~') + 1)).payload['nonce'];
  } catch (cause) {
    throw new PresentationError('key_binding_missing', NO_NONCE, { cause });
  }
  if (typeof nonce !== 'string' || nonce.length === 0 || nonce.length > 256) throw new PresentationError('key_binding_missing', NO_NONCE);
  return nonce;
}
