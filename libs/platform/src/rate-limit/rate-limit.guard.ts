import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { WalletConfig } from '@wallet/config';
import { WalletError } from '@wallet/domain';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requestAuthContext } from '../auth/request-context';
import { WALLET_CONFIG } from '../tokens';
import { RATE_LIMIT, type RateLimitOptions } from './rate-limit.decorator';
import { RateLimiter } from './rate-limiter';

/**
 * Global guard that applies `@RateLimit()` rules. Runs after the access-token
 * guard, so `by: 'principal'` counts per authenticated user.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
    @Inject(WALLET_CONFIG) private readonly config: WalletConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const options = this.reflector.getAllAndOverride<RateLimitOptions | undefined>(RATE_LIMIT, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!options) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const rule = typeof options.rule === 'function' ? options.rule(this.config) : options.rule;
    const auth = requestAuthContext(request);
    const principal = options.by === 'principal' ? auth?.principal : null;
    const subject = principal ? `u:${principal.tenantId}:${principal.userId}` : `ip:${request.ip}`;
    const decision = await this.limiter.hit(options.bucket, subject, rule);
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    void reply.header('ratelimit-limit', rule.limit).header('ratelimit-remaining', decision.remaining);
    if (!decision.allowed) {
      const retryAfter = Math.max(1, Math.ceil(decision.resetMs / 1000));
      void reply.header('retry-after', retryAfter);
      throw new WalletError('rate_limited', `too many requests; try again in ${retryAfter} s`, {
        details: { retryAfterSeconds: retryAfter },
      });
    }
    return true;
  }
}
