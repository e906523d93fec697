import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import { ApiProblem, CurrentPrincipal, Public, RateLimit, requestAuthContext, type Principal } from '@wallet/platform';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { TokensDto } from './auth-responses.dto';
import { RefreshTokenDto } from './token.dto';
import { TokenService, type IssuedTokens } from './token.service';

/** Bodies carry credentials, tokens or the keystore: never logged, even with `logging.logBodies`. */
const SENSITIVE = { sensitive: true };

const tokenLimit = { bucket: 'auth-token', rule: (config: WalletConfig) => config.auth.rateLimits.token };

/** Refresh-token rotation and logout, under `/auth`. */
@ApiTags('tokens')
@Controller('auth')
export class TokenController {
  constructor(@Inject(TokenService) private readonly tokens: TokenService) {}

  /** Trades a refresh token for a new access token and a new refresh token (the old one stops working). */
  @Public()
  @Post('token/refresh')
  @ApiOperation({
    summary: 'Trade a refresh token for a new access token and a new refresh token',
    description: 'The old refresh token stops working; presenting a rotated one again revokes its whole session. The body is never logged.',
  })
  @ApiOkResponse({ type: TokensDto })
  @ApiProblem(401, 'Unknown, expired, rotated or revoked refresh token, or one of a user who is suspended or removed or whose tenant is disabled or deleted (`invalid_grant`)', 'invalid_grant')
  @ApiProblem(503, 'The store could not be read to check the user (`unavailable`); no token was issued', 'unavailable')
  @ApiProblem(403, 'The path or `X-Tenant-ID` names another tenant than the token (`tenant_mismatch`)', 'tenant_mismatch')
  @RouteConfig(SENSITIVE)
  @HttpCode(200)
  @RateLimit(tokenLimit)
  refresh(@Body() body: RefreshTokenDto, @Req() request: FastifyRequest): Promise<IssuedTokens> {
    const context = requestAuthContext(request);
    const named = context && context.tenantSource !== 'default' ? context.tenantId : null;
    return this.tokens.rotate(body.refreshToken, named);
  }

  /** Revokes the access token presented and every refresh token of its session. */
  @Post('logout')
  @ApiBearerAuth('accessToken')
  @ApiOperation({ summary: 'Revoke the access token presented and every refresh token of its session' })
  @ApiNoContentResponse({ description: 'Logged out' })
  @HttpCode(204)
  @RateLimit({ ...tokenLimit, by: 'principal' })
  async logout(@CurrentPrincipal() principal: Principal): Promise<void> {
    await this.tokens.logout(principal);
  }
}
