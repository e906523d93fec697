import { FlowFailure } from '../errors';

const invalid = (message: string) => new FlowFailure('invalid_offer', message);

/**
 * The credential offer as a link the library resolves: an
 * `openid-credential-offer://` link (or any URL carrying `credential_offer` or
 * `credential_offer_uri`) as it is, an offer object or its JSON text wrapped
 * into one. The offer's contents are validated when it is resolved.
 */
export function offerLink(input: string | Record<string, unknown>): string {
  let offer: unknown = input;
  if (typeof input === 'string') {
    const text = input.trim();
    if (!text.startsWith('{')) {
      if (!URL.canParse(text)) throw invalid('the offer is neither a link nor JSON');
      const url = new URL(text);
      const byValue = url.searchParams.get('credential_offer');
      const byReference = url.searchParams.get('credential_offer_uri');
      if ((byValue === null) === (byReference === null)) throw invalid('an offer link carries exactly one of credential_offer and credential_offer_uri');
      return text;
    }
    try {
      offer = JSON.parse(text) as unknown;
    } catch {
      throw invalid('the offer is not valid JSON');
    }
  }
  if (typeof offer !== 'object' || offer === null || Array.isArray(offer)) throw invalid('the offer must be a JSON object');
  return `openid-credential-offer://?credential_offer=${encodeURIComponent(JSON.stringify(offer))}`;
}
