import { WalletError, type WalletErrorCode } from '@wallet/domain';

/**
 * Why the guarded outbound client refused or failed a fetch. The first group
 * is about the URL the caller gave (or a redirect it led to) and maps to 400;
 * the second is about the upstream server and maps to 502.
 */
export type OutboundRefusal =
  | 'invalid_url'
  | 'scheme_not_allowed'
  | 'credentials_in_url'
  | 'host_not_allowed'
  | 'address_blocked'
  | 'too_many_redirects'
  | 'dns_failed'
  | 'connect_failed'
  | 'timeout'
  | 'too_large'
  | 'content_type'
  | 'upstream_status';

const CALLER_FAULTS: ReadonlySet<OutboundRefusal> = new Set([
  'invalid_url',
  'scheme_not_allowed',
  'credentials_in_url',
  'host_not_allowed',
  'address_blocked',
  'too_many_redirects',
]);

/**
 * A fetch the outbound client refused or that failed. The message names the
 * host at most, never a full URL (query strings can carry tokens), and never
 * response content.
 */
export class OutboundError extends WalletError {
  constructor(
    readonly reason: OutboundRefusal,
    message: string,
    options: { cause?: unknown; status?: number } = {},
  ) {
    const code: WalletErrorCode = CALLER_FAULTS.has(reason) ? 'validation_failed' : 'bad_gateway';
    super(code, message, {
      cause: options.cause,
      details: { reason, ...(options.status === undefined ? {} : { upstreamStatus: options.status }) },
    });
  }
}

export function isOutboundError(error: unknown): error is OutboundError {
  return error instanceof OutboundError;
}
