import { RefusalError, type User } from '@wallet/domain';
import type { Stored } from '@wallet/persistence';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseEtagHeader, quoteEtag } from './private-data';
import { tagged, type TaggedBinary } from './tagged-binary';
import type { IssuedTokens } from './token.service';

/** `If-Match`, or the `X-Private-Data-If-Match` header the reference clients send. */
export function ifMatchOf(request: FastifyRequest): string[] | null {
  return parseEtagHeader(request.headers['x-private-data-if-match'] ?? request.headers['if-match']);
}

export function ifNoneMatchOf(request: FastifyRequest): string[] | null {
  return parseEtagHeader(request.headers['x-private-data-if-none-match'] ?? request.headers['if-none-match']);
}

export function setEtagHeaders(reply: FastifyReply, etag: string | null): void {
  if (etag === null) return;
  void reply.header('etag', quoteEtag(etag)).header('x-private-data-etag', etag);
}

/** Runs a keystore write; on a 412/428 refusal sends the current tag in the headers too. */
export async function withCurrentEtagOnConflict<T>(reply: FastifyReply, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof RefusalError && error.details && 'currentEtag' in error.details) {
      setEtagHeaders(reply, (error.details['currentEtag'] as string | null) ?? null);
    }
    throw error;
  }
}

export interface SessionBody extends IssuedTokens {
  uuid: string;
  tenant: string;
  displayName: string;
  username: string;
  webauthnUserHandle: string;
  privateData: TaggedBinary | null;
  privateDataEtag: string | null;
}

export function sessionBody(tenantId: string, user: Stored<User>, tokens: IssuedTokens): SessionBody {
  return {
    ...tokens,
    uuid: user.id,
    tenant: tenantId,
    displayName: user.displayName,
    username: user.displayName,
    webauthnUserHandle: user.handle,
    privateData: user.privateData === null ? null : tagged(user.privateData),
    privateDataEtag: user.privateDataEtag,
  };
}

export const requestIdOf = (request: FastifyRequest): string | null => (typeof request.id === 'string' ? request.id : null);
