import { Body, Controller, GoneException, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import { CurrentTenant, Public, RateLimit } from '@wallet/platform';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseBody, requestIdOf, sessionBody, setEtagHeaders, type SessionBody } from './auth-http';
import { PasskeyCeremonyService } from './passkey-ceremony.service';
import { decodePrivateData } from './private-data';

/** Bodies carry credentials, tokens or the keystore: never logged, even with `logging.logBodies`. */
const SENSITIVE = { sensitive: true };

const ceremonyLimit = { bucket: 'auth-ceremony', rule: (config: WalletConfig) => config.auth.rateLimits.ceremony };

const zRegisterFinish = z.object({
  challengeId: z.string().max(128),
  credential: z.unknown(),
  displayName: z.string().max(200).default(''),
  nickname: z.string().max(200).nullish().transform((v) => v ?? ''),
  privateData: z.unknown().optional(),
  inviteCode: z.string().max(256).nullish(),
});
const zLoginFinish = z.object({ challengeId: z.string().max(128), credential: z.unknown() });

/**
 * Passkey registration and login, at the routes the reference wallet front
 * ends call (`/user/register-webauthn-begin`, ...). Public, rate limited per
 * client address; the password routes of those backends answer 410.
 */
@Public()
@Controller('user')
export class UserAuthController {
  constructor(@Inject(PasskeyCeremonyService) private readonly ceremonies: PasskeyCeremonyService) {}

  @Post('register-webauthn-begin')
  @HttpCode(200)
  @RateLimit(ceremonyLimit)
  registerBegin(@CurrentTenant() tenantId: string) {
    return this.ceremonies.registrationOptions(tenantId, 'register');
  }

  @Post('register-webauthn-finish')
  @RouteConfig(SENSITIVE)
  @HttpCode(200)
  @RateLimit(ceremonyLimit)
  async registerFinish(
    @CurrentTenant() tenantId: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SessionBody> {
    const input = parseBody(zRegisterFinish, body);
    const privateData = input.privateData === undefined || input.privateData === null ? null : decodePrivateData(input.privateData);
    const { user, tokens } = await this.ceremonies.register(
      tenantId,
      { ...input, privateData, inviteCode: input.inviteCode ?? undefined },
      requestIdOf(request),
    );
    setEtagHeaders(reply, user.privateDataEtag);
    return sessionBody(tenantId, user, tokens);
  }

  @Post('login-webauthn-begin')
  @HttpCode(200)
  @RateLimit(ceremonyLimit)
  loginBegin(@CurrentTenant() tenantId: string) {
    return this.ceremonies.authenticationOptions(tenantId);
  }

  @Post('login-webauthn-finish')
  @RouteConfig(SENSITIVE)
  @HttpCode(200)
  @RateLimit(ceremonyLimit)
  async loginFinish(
    @CurrentTenant() tenantId: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SessionBody> {
    const { user, tokens } = await this.ceremonies.login(tenantId, parseBody(zLoginFinish, body));
    setEtagHeaders(reply, user.privateDataEtag);
    return sessionBody(tenantId, user, tokens);
  }

  @Post('register')
  passwordRegister(): never {
    throw new GoneException({ message: 'password accounts are not supported; register a passkey', code: 'password_login_removed' });
  }

  @Post('login')
  passwordLogin(): never {
    throw new GoneException({ message: 'password login is not supported; log in with a passkey', code: 'password_login_removed' });
  }
}
