import { applyDecorators } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { ApiProblem } from '@wallet/platform';

/** The optional operator name of a change, for the audit log (see `Actor`). */
const ACTOR_HEADER = ApiHeader({
  name: 'X-Admin-Actor',
  required: false,
  description: 'Who makes the change, for the audit log (the CLI sends the local user name). Informative: the admin token is shared. 1-200 letters, digits or . _ @ + -',
  schema: { type: 'string', pattern: '^[A-Za-z0-9._@+-]{1,200}$' },
});

/** A change: audited under the `X-Admin-Actor` header. */
export const AdminChange = (): MethodDecorator => applyDecorators(ACTOR_HEADER);

/** The 404 of a route under a tenant that names no record (listing, creating). */
export const NO_TENANT = 'The tenant does not exist';

/** A route that names a record: 404 when the tenant or the record does not exist. */
export const NotFound = (what = 'The tenant or the record does not exist'): MethodDecorator => ApiProblem(404, what, 'not_found');

/** A write that can collide: 409 for a duplicate id or unique field, or a concurrent change. */
export const Conflict = (): MethodDecorator => ApiProblem(409, 'Duplicate id or unique field, or a concurrent change', 'already_exists');
