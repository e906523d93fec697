import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import { CurrentPrincipal, Public, RateLimit, requestAuthContext, type Principal } from '@wallet/platform';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseBody } from './auth-http';
import { TokenService, type IssuedTokens } from './token.service';

/** Bodies carry credentials, tokens or the keystore: never logged, even with `logging.logBodies`. */
const SENSITIVE = { sensitive: true };

const tokenLimit = { bucket: 'auth-token', rule: (config: WalletConfig) => config.auth.rateLimits.token };
const zRefresh = z.object({ refreshToken: z.string().min(1).max(512) });

/** Refresh-token rotation and logout, under `/auth`. */
@Controller('auth')
export class TokenController {
  constructor(@Inject(TokenService) private readonly tokens: TokenService) {}

  /** Trades a refresh token for a new access token and a new refresh token (the old one stops working). */
  @Public()
  @Post('token/refresh')
  @RouteConfig(SENSITIVE)
  @HttpCode(200)
  @RateLimit(tokenLimit)
  refresh(@Body() body: unknown, @Req() request: FastifyRequest): Promise<IssuedTokens> {
    const context = requestAuthContext(request);
    const named = context && context.tenantSource !== 'default' ? context.tenantId : null;
    return this.tokens.rotate(parseBody(zRefresh, body).refreshToken, named);
  }

  /** Revokes the access token presented and every refresh token of its session. */
  @Post('logout')
  @HttpCode(204)
  @RateLimit({ ...tokenLimit, by: 'principal' })
  async logout(@CurrentPrincipal() principal: Principal): Promise<void> {
    await this.tokens.logout(principal);
  }
}
