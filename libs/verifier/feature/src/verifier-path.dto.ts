import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';

/** A verifier session, request object or event stream id (`/api/v1/sessions/{id}/...`, `/api/v1/request/{id}`). */
export class SessionPathDto {
  @ApiProperty({ description: 'The session id (from `X-Session-ID`, or the `state` of the authorization request).', example: 'kqC9n1Vb1m6Z2m4pQx3yZbYk8hQwR2tF' })
  // Ours are 32 base64url characters; any other well-formed id is simply unknown (404). Fastify
  // refuses a path parameter over 100 characters before routing (414).
  @Matches(/^[A-Za-z0-9_-]{1,100}$/, { message: 'must be 1-100 base64url characters' })
  id!: string;
}

/** A relying-party service (`/services/{serviceId}/...`). */
export class ServicePathDto {
  @ApiProperty({ description: 'The service id (its OAuth `client_id`).', example: 'shop' })
  // The service definition's id syntax (`@wallet/protocol`); a well-formed unknown id is `invalid_client`.
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'must be 1-64 letters, digits, . _ or -' })
  serviceId!: string;
}
