import { OutboundFailure, type GuardedFetch } from '@wallet/engine-flows';
import { OutboundError, type OutboundClient } from '@wallet/platform';

const REFUSALS = new Set(['invalid_url', 'scheme_not_allowed', 'credentials_in_url', 'host_not_allowed', 'address_blocked', 'too_many_redirects']);

/**
 * The engine's fetch port on the guarded outbound client: every URL of a
 * flow is checked (scheme, host lists, every resolved address), bodies are
 * capped and slow servers time out. The client's refusals become
 * `OutboundFailure`s, which end a flow with `url_refused`, `timeout` or
 * `upstream_failed`; HTTP statuses come back as responses for the protocol
 * code to judge.
 */
export function outboundGuardedFetch(client: OutboundClient, maxResponseBytes: number): GuardedFetch {
  return async (url, init = {}) => {
    try {
      const response = await client.fetch(url, {
        method: init.method ?? 'GET',
        ...(init.headers ? { headers: init.headers } : {}),
        ...(init.body !== undefined ? { body: init.body } : {}),
        maxBytes: Math.min(init.maxBytes ?? maxResponseBytes, maxResponseBytes),
        // Protocol endpoints answer where they are; a redirect is followed (and checked) at most twice.
        maxRedirects: 2,
      });
      return { status: response.status, headers: response.headers, body: response.body };
    } catch (error) {
      if (error instanceof OutboundError) {
        const kind = REFUSALS.has(error.reason) ? 'refused' : error.reason === 'timeout' ? 'timeout' : error.reason === 'too_large' ? 'too_large' : 'failed';
        throw new OutboundFailure(kind, error.message, { cause: error });
      }
      throw error;
    }
  };
}
