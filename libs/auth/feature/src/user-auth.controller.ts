import { Body, Controller, GoneException, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import { ApiProblem, CurrentTenant, Public, RateLimit } from '@wallet/platform';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CreationChallengeDto, RequestChallengeDto, SessionBodyDto } from './auth-responses.dto';
import { requestIdOf, sessionBody, setEtagHeaders, type SessionBody } from './auth-http';
import { PasskeyCeremonyService } from './passkey-ceremony.service';
import { decodePrivateData } from './private-data';
import { LoginFinishDto, RegisterFinishDto } from './user-auth.dto';

/** Bodies carry credentials, tokens or the keystore: never logged, even with `logging.logBodies`. */
const SENSITIVE = { sensitive: true };

const ceremonyLimit = { bucket: 'auth-ceremony', rule: (config: WalletConfig) => config.auth.rateLimits.ceremony };

/**
 * Passkey registration and login, at the routes the reference wallet front
 * ends call (`/user/register-webauthn-begin`, ...). Public, rate limited per
 * client address; the password routes of those backends answer 410.
 */
@ApiTags('passkey login')
@Public()
@Controller('user')
export class UserAuthController {
  constructor(@Inject(PasskeyCeremonyService) private readonly ceremonies: PasskeyCeremonyService) {}

  @Post('register-webauthn-begin')
  @ApiOperation({ summary: 'Start a passkey registration (a new account)', description: 'The body is not read (send `{}`).' })
  @ApiOkResponse({ type: CreationChallengeDto, description: 'The challenge and the creation options for `navigator.credentials.create()`' })
  @HttpCode(200)
  @RateLimit(ceremonyLimit)
  registerBegin(@CurrentTenant() tenantId: string) {
    return this.ceremonies.registrationOptions(tenantId, 'register');
  }

  @Post('register-webauthn-finish')
  @ApiOperation({
    summary: 'Finish the registration: verify the attestation, create the account, start a session',
    description: 'Answers the session with the keystore ETag in `ETag` and `X-Private-Data-ETag`. The body is never logged.',
  })
  @ApiOkResponse({ type: SessionBodyDto, description: 'The new session' })
  @ApiProblem(400, 'Malformed body (`validation_failed`), unknown, expired or used challenge (`challenge_invalid`), or a refused attestation (`webauthn_invalid`: origin, RP id, signature, user verification)', 'challenge_invalid')
  @ApiProblem(403, 'The tenant requires an invite: none or an unusable one was sent (`invite_required`, `invite_invalid`)', 'invite_required')
  @ApiProblem(409, 'This passkey is already registered (`passkey_exists`)', 'passkey_exists')
  @RouteConfig(SENSITIVE)
  @HttpCode(200)
  @RateLimit(ceremonyLimit)
  async registerFinish(
    @CurrentTenant() tenantId: string,
    @Body() input: RegisterFinishDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SessionBody> {
    const privateData = input.privateData === undefined || input.privateData === null ? null : decodePrivateData(input.privateData);
    const { user, tokens } = await this.ceremonies.register(
      tenantId,
      {
        challengeId: input.challengeId,
        credential: input.credential,
        displayName: input.displayName,
        nickname: input.nickname ?? '',
        privateData,
        inviteCode: input.inviteCode ?? undefined,
      },
      requestIdOf(request),
    );
    setEtagHeaders(reply, user.privateDataEtag);
    return sessionBody(tenantId, user, tokens);
  }

  @Post('login-webauthn-begin')
  @ApiOperation({ summary: 'Start a login with a discoverable passkey', description: 'The body is not read (send `{}`).' })
  @ApiOkResponse({ type: RequestChallengeDto, description: 'The challenge and the request options for `navigator.credentials.get()`' })
  @HttpCode(200)
  @RateLimit(ceremonyLimit)
  loginBegin(@CurrentTenant() tenantId: string) {
    return this.ceremonies.authenticationOptions(tenantId);
  }

  @Post('login-webauthn-finish')
  @ApiOperation({ summary: 'Finish the login: verify the assertion, start a session, return the keystore', description: 'The body is never logged.' })
  @ApiOkResponse({ type: SessionBodyDto, description: 'The session, with the keystore blob and its ETag' })
  @ApiProblem(400, 'Malformed body (`validation_failed`), unknown, expired or used challenge (`challenge_invalid`), a refused assertion (`webauthn_invalid`) or a signature counter that went backwards (`counter_regression`)', 'webauthn_invalid')
  @ApiProblem(401, 'No account has this passkey in this tenant (`passkey_unknown`), or it was removed during the ceremony (`account_gone`)', 'passkey_unknown')
  @ApiProblem(403, 'The account is suspended, also when the suspension lands during the ceremony (`account_suspended`)', 'account_suspended')
  @RouteConfig(SENSITIVE)
  @HttpCode(200)
  @RateLimit(ceremonyLimit)
  async loginFinish(
    @CurrentTenant() tenantId: string,
    @Body() input: LoginFinishDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SessionBody> {
    const { user, tokens } = await this.ceremonies.login(tenantId, { challengeId: input.challengeId, credential: input.credential });
    setEtagHeaders(reply, user.privateDataEtag);
    return sessionBody(tenantId, user, tokens);
  }

  @Post('register')
  @HttpCode(410)
  @ApiOperation({ summary: 'Password registration of the reference back ends: not supported (register a passkey)' })
  @ApiProblem(410, 'Password accounts are not supported (`password_login_removed`)', 'password_login_removed')
  @ApiBody({ required: false, schema: { type: 'object', description: 'Not read.' } })
  passwordRegister(): never {
    throw new GoneException({ message: 'password accounts are not supported; register a passkey', code: 'password_login_removed' });
  }

  @Post('login')
  @HttpCode(410)
  @ApiOperation({ summary: 'Password login of the reference back ends: not supported (log in with a passkey)' })
  @ApiProblem(410, 'Password accounts are not supported (`password_login_removed`)', 'password_login_removed')
  @ApiBody({ required: false, schema: { type: 'object', description: 'Not read.' } })
  passwordLogin(): never {
    throw new GoneException({ message: 'password login is not supported; log in with a passkey', code: 'password_login_removed' });
  }
}
