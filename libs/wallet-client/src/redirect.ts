import { RedirectError } from './errors';

/** What the authorization server put on the redirect URI. */
export interface AuthorizationResult {
  code?: string;
  state: string;
  iss?: string;
  error?: string;
  error_description?: string;
}

/**
 * Reads the authorization response from the URL the authorization server
 * redirected to: the query, or the fragment for `response_mode=fragment`.
 * Throws a {@link RedirectError} when the URL is not one or has no `state`
 * (without it the flow cannot be found, nor the answer checked).
 */
export function parseRedirect(url: string): AuthorizationResult {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedirectError('invalid_redirect', 'the redirect is not an absolute URL');
  }
  const fromQuery = parsed.searchParams;
  const fromFragment = new URLSearchParams(parsed.hash.replace(/^#/, ''));
  // Use whichever part carries the response; the query wins when both do.
  const params = fromQuery.has('state') || fromQuery.has('code') || fromQuery.has('error') ? fromQuery : fromFragment;
  const state = params.get('state');
  if (!state) throw new RedirectError('invalid_redirect', 'the redirect URL has no "state" parameter');
  const result: AuthorizationResult = { state };
  for (const name of ['code', 'iss', 'error', 'error_description'] as const) {
    const value = params.get(name);
    if (value !== null && value !== '') result[name] = value;
  }
  return result;
}
