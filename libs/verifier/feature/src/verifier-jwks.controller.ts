import { Controller, Get, Header, Inject } from '@nestjs/common';
import type { KeyRing } from '@wallet/crypto';
import { Public } from '@wallet/platform';
import type { JSONWebKeySet } from 'jose';
import { VERIFIER_TOKEN_KEYS } from './verifier-keys';

/** `/.well-known/jwks` (the VCVerifier route): the keys applications verify our JWTs with. */
@Public({ tenant: false })
@Controller('.well-known')
export class VerifierJwksController {
  constructor(@Inject(VERIFIER_TOKEN_KEYS) private readonly keys: KeyRing) {}

  @Get('jwks')
  @Header('cache-control', 'public, max-age=300')
  jwks(): JSONWebKeySet {
    return this.keys.jwks();
  }
}
