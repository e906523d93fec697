import { RefusalError, type WalletError, type WalletErrorCode } from '@wallet/domain';

/** RFC 9457 problem details, as every REST error is answered. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** Stable machine-readable code (`not_found`, `version_conflict`, ...). */
  code: string;
  instance?: string;
  /** The request id, so an operator can find the log line. */
  correlationId?: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_BASE = 'https://wallet.dev/problems/';

/** The one mapping from domain error codes to HTTP statuses and titles. */
export function statusForCode(code: WalletErrorCode): { status: number; title: string } {
  switch (code) {
    case 'validation_failed':
      return { status: 400, title: 'Bad Request' };
    case 'unauthorized':
      return { status: 401, title: 'Unauthorized' };
    case 'forbidden':
      return { status: 403, title: 'Forbidden' };
    case 'not_found':
      return { status: 404, title: 'Not Found' };
    case 'already_exists':
      return { status: 409, title: 'Conflict' };
    case 'version_conflict':
      return { status: 409, title: 'Conflict' };
    case 'precondition_failed':
      return { status: 412, title: 'Precondition Failed' };
    case 'payload_too_large':
      return { status: 413, title: 'Payload Too Large' };
    case 'rate_limited':
      return { status: 429, title: 'Too Many Requests' };
    case 'unavailable':
      return { status: 503, title: 'Service Unavailable' };
    case 'internal':
      return { status: 500, title: 'Internal Server Error' };
    case 'bad_gateway':
      return { status: 502, title: 'Bad Gateway' };
    default: {
      const unhandled: never = code;
      throw new Error(`no HTTP mapping for error code ${String(unhandled)}`);
    }
  }
}

export function problemFromWalletError(error: WalletError): ProblemDocument {
  const { status, title } = statusForCode(error.code);
  const code = error instanceof RefusalError ? error.reason : error.code;
  return {
    type: `${TYPE_BASE}${code}`,
    title,
    status,
    code,
    // Internal errors never expose their message: it may carry internal detail.
    detail: error.code === 'internal' ? 'An internal error occurred.' : error.message,
    ...(error.code === 'internal' ? {} : (error.details ?? {})),
  };
}

/** Codes for HTTP errors that come from the framework (unknown route, bad JSON, body too large). */
export function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'validation_failed';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 406:
      return 'not_acceptable';
    case 409:
      return 'conflict';
    case 410:
      return 'gone';
    case 412:
      return 'precondition_failed';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 429:
      return 'rate_limited';
    case 502:
      return 'bad_gateway';
    case 503:
      return 'unavailable';
    default:
      return status >= 500 ? 'internal' : 'bad_request';
  }
}

export function problem(status: number, title: string, detail: string, code = codeForStatus(status)): ProblemDocument {
  return { type: `${TYPE_BASE}${code}`, title, status, code, detail };
}
