import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { KeyRing } from '@wallet/crypto';
import { JWKS_MAX_AGE_SECONDS, Public } from '@wallet/platform';
import type { JSONWebKeySet } from 'jose';
import { VERIFIER_TOKEN_KEYS } from './verifier-keys';

/** `/.well-known/jwks` (the VCVerifier route): the keys applications verify our JWTs with. */
@ApiTags('verifier back channel')
@Public({ tenant: false })
@Controller('.well-known')
export class VerifierJwksController {
  constructor(@Inject(VERIFIER_TOKEN_KEYS) private readonly keys: KeyRing) {}

  @Get('jwks')
  @ApiOperation({ summary: 'The keys application JWTs are signed with (JWKS)', description: 'A new key is published here before it signs; cache it for at most `max-age`.' })
  @ApiOkResponse({
    description: 'The JSON Web Key Set',
    schema: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { type: 'object', description: 'A public JWK with `kid`, `alg` and `use`' } } } },
  })
  // A new key is published at least this long before it signs (keyRingTimings).
  @Header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
  jwks(): JSONWebKeySet {
    return this.keys.jwks();
  }
}
