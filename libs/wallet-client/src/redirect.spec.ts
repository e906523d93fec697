import { RedirectError } from './errors';
import { parseRedirect } from './redirect';

describe('parseRedirect', () => {
  it('reads code, state and iss from the query', () => {
    expect(parseRedirect('https://wallet.example/cb?code=abc&state=s1&iss=https%3A%2F%2Fas.example')).toEqual({
      code: 'abc',
      state: 's1',
      iss: 'https://as.example',
    });
  });

  it('reads an error response, and the fragment for response_mode=fragment', () => {
    expect(parseRedirect('https://wallet.example/cb?error=access_denied&error_description=no&state=s2')).toEqual({
      state: 's2',
      error: 'access_denied',
      error_description: 'no',
    });
    expect(parseRedirect('https://wallet.example/cb#code=c&state=s3')).toEqual({ code: 'c', state: 's3' });
  });

  it('refuses a URL without state, and a non-URL', () => {
    expect(() => parseRedirect('https://wallet.example/cb?code=abc')).toThrow(RedirectError);
    expect(() => parseRedirect('/cb?state=x')).toThrow('absolute URL');
  });
});
