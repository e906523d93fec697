import { UnavailableError, WalletError } from '@wallet/domain';
import { PresentationError } from '@wallet/protocol';
import { OAuthError, oauthErrorResponse, PresentationRefusalDetail } from './oauth-error';

describe('oauthErrorResponse', () => {
  const logged: unknown[] = [];
  const logger = { error: (entry: unknown) => void logged.push(entry) };

  beforeEach(() => {
    logged.length = 0;
  });

  it('answers 503 temporarily_unavailable when the cache or the store does not answer, naming neither the cause nor the dependency', () => {
    const answer = oauthErrorResponse(new UnavailableError('cache', { cause: new Error('connect ECONNREFUSED 127.0.0.1:6379') }), logger);
    expect(answer).toEqual({ status: 503, body: { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable; try again' } });
    expect(JSON.stringify(answer)).not.toMatch(/6379|ECONNREFUSED|cache/);
  });

  it('still answers any other failure with a logged 500 server_error', () => {
    const answer = oauthErrorResponse(new WalletError('internal', 'something broke'), logger);
    expect(answer).toEqual({ status: 500, body: { error: 'server_error', error_description: 'an internal error occurred' } });
    expect(logged).toHaveLength(1);
  });

  it('answers only the client-facing description; the internal detail and the cause go to the debug log', () => {
    const debug: unknown[] = [];
    const withDebug = { ...logger, debug: (entry: unknown) => void debug.push(entry) };
    const refused = new OAuthError(400, 'invalid_grant', 'the nonce is unknown, expired or already used', { detail: 'owner record missing', cause: new TypeError('x') });
    expect(refused.message).toBe('the nonce is unknown, expired or already used (owner record missing)');
    expect(oauthErrorResponse(refused, withDebug)).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'the nonce is unknown, expired or already used' } });
    expect(debug).toEqual([{ msg: 'verifier refused a request', error: 'invalid_grant', detail: 'owner record missing', causes: ['TypeError'] }]);

    const untrusted = new PresentationError('untrusted_issuer', 'the trust decision refused the issuer', { cause: new PresentationRefusalDetail('not in the EU trusted list') });
    const answer = oauthErrorResponse(untrusted, withDebug);
    expect(answer).toEqual({ status: 400, body: { error: 'access_denied', error_description: 'the trust decision refused the issuer', reason: 'untrusted_issuer' } });
    expect(JSON.stringify(answer)).not.toMatch(/EU trusted list/);
    expect(debug[1]).toEqual({ msg: 'verifier refused a presentation', reason: 'untrusted_issuer', detail: 'not in the EU trusted list', causes: ['PresentationRefusalDetail'] });
    // A logger without debug (the filter's fallback) still answers.
    expect(oauthErrorResponse(untrusted, logger).status).toBe(400);
    expect(logged).toHaveLength(0);
  });
});
