import { UnavailableError, WalletError } from '@wallet/domain';
import { oauthErrorResponse } from './oauth-error';

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
});
