import { Controller, Get, Header, Inject } from '@nestjs/common';
import type { KeyRing } from '@wallet/crypto';
import { JWKS_MAX_AGE_SECONDS, Public } from '@wallet/platform';
import type { JSONWebKeySet } from 'jose';
import { AUTH_ACCESS_TOKEN_KEYS } from './auth-keys';

/**
 * Auth's public keys, which every other service uses to verify access tokens
 * offline. Retired keys stay listed until the tokens they signed have expired.
 */
@Public({ tenant: false })
@Controller('auth/.well-known')
export class JwksController {
  constructor(@Inject(AUTH_ACCESS_TOKEN_KEYS) private readonly keys: KeyRing) {}

  @Get('jwks.json')
  // A new key is published at least this long before it signs (keyRingTimings).
  @Header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
  jwks(): JSONWebKeySet {
    return this.keys.jwks();
  }
}
