import { Controller, Get, Header, Inject } from '@nestjs/common';
import type { KeyRing } from '@wallet/crypto';
import { JWKS_MAX_AGE_SECONDS, Public } from '@wallet/platform';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { JSONWebKeySet } from 'jose';
import { AUTH_ACCESS_TOKEN_KEYS } from './auth-keys';
import { JwksDto } from './auth-responses.dto';

/**
 * Auth's public keys, which every other service uses to verify access tokens
 * offline. Retired keys stay listed until the tokens they signed have expired.
 */
@ApiTags('tokens')
@Public({ tenant: false })
@Controller('auth/.well-known')
export class JwksController {
  constructor(@Inject(AUTH_ACCESS_TOKEN_KEYS) private readonly keys: KeyRing) {}

  @Get('jwks.json')
  @ApiOperation({
    summary: 'The public keys of access tokens',
    description: `Every service verifies access tokens offline with these keys. Cacheable for ${JWKS_MAX_AGE_SECONDS} s: a new key is published at least that long before it signs; a retired key stays listed until the tokens it signed have expired.`,
  })
  @ApiOkResponse({ type: JwksDto })
  // A new key is published at least this long before it signs (keyRingTimings).
  @Header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
  jwks(): JSONWebKeySet {
    return this.keys.jwks();
  }
}
