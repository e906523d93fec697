import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ValidationError } from '@wallet/domain';

/** Who made a change and in which request; goes into every audit event. */
export interface AdminActor {
  /** The operator name from `X-Admin-Actor`, or null (the admin token says nothing about who). */
  actor: string | null;
  requestId: string | null;
}

const ACTOR = /^[A-Za-z0-9._@+-]{1,200}$/;

/**
 * The operator behind a request: the optional `X-Admin-Actor` header (the CLI
 * sends the local user name) and the request id, for the audit log. The admin
 * token is shared, so the header is informative, not authenticated.
 */
export const Actor = createParamDecorator((_data: unknown, context: ExecutionContext): AdminActor => {
  const request = context.switchToHttp().getRequest<{ id?: string; headers: Record<string, string | string[] | undefined> }>();
  const header = request.headers['x-admin-actor'];
  if (header !== undefined && (typeof header !== 'string' || !ACTOR.test(header))) {
    throw new ValidationError('invalid X-Admin-Actor header', [
      { path: '/headers/x-admin-actor', message: 'must be 1-200 letters, digits or . _ @ + -' },
    ]);
  }
  return { actor: header ?? null, requestId: typeof request.id === 'string' ? request.id : null };
});
