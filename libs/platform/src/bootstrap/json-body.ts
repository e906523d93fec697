import type { FastifyInstance } from 'fastify';

/**
 * The most object members one JSON body may hold, all objects together.
 * `JSON.parse` of a 1 MiB body of 70,000 tiny members holds the event loop
 * for 30-70 ms on a 2-core machine before any route code runs (building the
 * objects is the cost; an array of as many strings or numbers is several
 * times cheaper). No request body of the API needs more: the validation pipe
 * refuses any one object of over 1,000 members anyway.
 */
export const MAX_JSON_BODY_MEMBERS = 20_000;

/**
 * The most values (members and array elements, counted by their separating
 * commas) one JSON body may hold: a 1 MiB array of 170,000 small numbers
 * still cost about 50 ms to parse. A vault query's `$in` of 40,000 values
 * stays within it (and is refused by the WQL limits with a precise issue).
 */
export const MAX_JSON_BODY_VALUES = 50_000;

/**
 * What a JSON text holds beyond the bounds, if anything: it counts the colons
 * (object members) and commas (values after the first in each container)
 * outside strings in one pass over the text (about 1 ms for 1 MiB), without
 * building anything. Malformed text is left to the parser.
 */
export function jsonBodyExcess(text: string, maxMembers: number, maxValues: number): 'members' | 'values' | null {
  let members = 0;
  let commas = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // a backslash escapes the next character
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 58) {
      if (++members > maxMembers) return 'members';
    } else if (c === 44) {
      if (++commas >= maxValues) return 'values';
    }
  }
  return null;
}

/**
 * Replaces the `application/json` parser (Nest's, registered at init) with
 * Fastify's own (the same prototype-poisoning refusals, the same empty and
 * malformed body errors) behind a count of the body's members: a body of more
 * than `MAX_JSON_BODY_MEMBERS` object members or `MAX_JSON_BODY_VALUES` values is a 413 before it is parsed. Call it after
 * `app.init()`, before `listen`.
 */
export function installBoundedJsonParser(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  if (fastify.hasContentTypeParser('application/json')) fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    const excess = jsonBodyExcess(text, MAX_JSON_BODY_MEMBERS, MAX_JSON_BODY_VALUES);
    if (excess !== null) {
      const what = excess === 'members' ? `${MAX_JSON_BODY_MEMBERS} object members` : `${MAX_JSON_BODY_VALUES} values`;
      done(Object.assign(new Error(`the JSON body holds more than ${what}`), { statusCode: 413 }), undefined);
      return;
    }
    void parse(request, text, done);
  });
}
