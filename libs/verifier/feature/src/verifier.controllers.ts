import { Body, Controller, Get, HttpCode, Inject, Injectable, Logger, Param, Post, Query, Req, Res, UseFilters, type OnModuleInit } from '@nestjs/common';
import { LeanRoutes, Public } from '@wallet/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { loginPage, qrPng, qrSvg } from './login-page';
import { OAuthError, OAuthErrorFilter, oauthErrorResponse } from './oauth-error';
import { VerifierCore } from './verifier.service';
import { DEFAULT_SERVICE } from './verifier-services';
import { VerifierSessions } from './verifier-sessions';

type QueryParams = Record<string, string | undefined>;

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const requestBase = (req: FastifyRequest) => `${req.protocol}://${req.headers.host ?? 'localhost'}`;

const REQUEST_OBJECT_TYPE = 'application/oauth-authz-req+jwt';
/**
 * The request object's media type is set only once it is signed: set before an
 * error, it would make the error filter's JSON body unserialisable (a 500).
 */
const sendRequestObject = (reply: FastifyReply, jwt: string) =>
  void reply.header('content-type', REQUEST_OBJECT_TYPE).header('cache-control', 'no-store').send(jwt);

/**
 * The VCVerifier-compatible front channel: login pages with QR codes, the
 * same-device redirect, the OIDC-style authorization endpoint, and the
 * session event stream the login page waits on.
 */
@Controller('api')
@Public({ tenant: false })
@UseFilters(OAuthErrorFilter)
export class VerifierFrontendController {
  constructor(
    @Inject(VerifierCore) private readonly core: VerifierCore,
    @Inject(VerifierSessions) private readonly sessions: VerifierSessions,
  ) {}

  private startFrom(req: FastifyRequest, query: QueryParams, flow: 'cross_device' | 'same_device') {
    return this.core.start({
      baseUrl: requestBase(req),
      serviceId: query['client_id'],
      scope: query['scope'],
      flow,
      requestMode: query['request_mode'],
      requestUriMethod: query['request_uri_method'],
      responseMode: query['response_mode'],
      appState: query['state'],
      redirectUri: query['client_callback'] ?? query['redirect_uri'],
      codeChallenge: query['code_challenge'],
      codeChallengeMethod: query['code_challenge_method'],
    });
  }

  private async sendLoginPage(req: FastifyRequest, reply: FastifyReply, query: QueryParams): Promise<void> {
    const { session, walletUrl } = await this.startFrom(req, query, 'cross_device');
    void reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:")
      .header('x-session-id', session.id)
      .send(await loginPage(walletUrl, session.id));
  }

  /** VCVerifier `/api/v1/loginQR`: state, client_callback, client_id, request_mode. */
  @Get('v1/loginQR')
  async loginQrV1(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query() query: QueryParams): Promise<void> {
    if (!query['client_callback'] && !query['redirect_uri']) throw new OAuthError(400, 'invalid_request', 'client_callback is required');
    await this.sendLoginPage(req, reply, query);
  }

  /** VCVerifier `/api/v2/loginQR`: state, client_id, redirect_uri, scope, request_mode (+ PKCE). */
  @Get('v2/loginQR')
  async loginQrV2(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query() query: QueryParams): Promise<void> {
    if (!query['redirect_uri']) throw new OAuthError(400, 'invalid_request', 'redirect_uri is required');
    await this.sendLoginPage(req, reply, query);
  }

  /** The QR code of a session's wallet URL as an image (`format=png|svg`), for pages rendered by the application. */
  @Get('v1/qr')
  async qr(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query() query: QueryParams): Promise<void> {
    const format = query['format'] ?? 'svg';
    if (format !== 'png' && format !== 'svg') throw new OAuthError(400, 'invalid_request', 'format must be png or svg');
    const { session, walletUrl } = await this.startFrom(req, query, 'cross_device');
    void reply.header('cache-control', 'no-store').header('x-session-id', session.id);
    if (format === 'png') void reply.header('content-type', 'image/png').send(await qrPng(walletUrl));
    else void reply.header('content-type', 'image/svg+xml').send(await qrSvg(walletUrl));
  }

  /** VCVerifier `/api/v1/startsiop`: the wallet URL as text, for applications that draw their own QR code. */
  @Get('v1/startsiop')
  async startSiop(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query() query: QueryParams): Promise<void> {
    const { session, walletUrl } = await this.startFrom(req, query, 'cross_device');
    void reply.header('content-type', 'text/plain; charset=utf-8').header('x-session-id', session.id).header('cache-control', 'no-store').send(walletUrl);
  }

  /** VCVerifier `/api/v1/samedevice`: redirects the browser straight to the wallet. */
  @Get('v1/samedevice')
  async sameDevice(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query() query: QueryParams): Promise<void> {
    const { session, walletUrl } = await this.startFrom(req, query, 'same_device');
    void reply.header('x-session-id', session.id).header('cache-control', 'no-store').redirect(walletUrl, 302);
  }

  /** OIDC-style authorization endpoint: `response_type=code`; cross-device login page, or `flow=same_device`. */
  @Get('v1/authorization')
  async authorization(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query() query: QueryParams): Promise<void> {
    if (query['response_type'] !== 'code') throw new OAuthError(400, 'unsupported_response_type', 'response_type must be code');
    if (!query['client_id']) throw new OAuthError(400, 'invalid_request', 'client_id is required');
    if (!query['redirect_uri']) throw new OAuthError(400, 'invalid_request', 'redirect_uri is required');
    if (query['flow'] === 'same_device') {
      const { session, walletUrl } = await this.startFrom(req, query, 'same_device');
      void reply.header('x-session-id', session.id).redirect(walletUrl, 302);
      return;
    }
    await this.sendLoginPage(req, reply, query);
  }

  @Get('v1/sessions/:id/status')
  async status(@Param('id') id: string): Promise<Record<string, unknown>> {
    const status = await this.sessions.status(id);
    if (!status) throw new OAuthError(404, 'invalid_request', 'the session does not exist or has expired');
    return status;
  }

  /** Server-sent events: one message when the wallet has answered (on whatever replica), then the stream ends. */
  @Get('v1/sessions/:id/events')
  async events(@Param('id') id: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const current = await this.sessions.status(id);
    if (!current) throw new OAuthError(404, 'invalid_request', 'the session does not exist or has expired');
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    let done = false;
    let unsubscribe: (() => Promise<void>) | null = null;
    const finish = (status: Record<string, unknown>) => {
      if (done) return;
      done = true;
      raw.end(`data: ${JSON.stringify(status)}\n\n`);
      void unsubscribe?.();
    };
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
    req.raw.on('close', () => {
      clearInterval(heartbeat);
      done = true;
      void unsubscribe?.();
    });
    unsubscribe = await this.sessions.subscribe(id, (status) => {
      if (status.status !== 'pending') {
        clearInterval(heartbeat);
        finish(status);
      }
    });
    // The answer may have arrived between the first read and the subscription.
    const now = await this.sessions.status(id);
    if (now && now.status !== 'pending') {
      clearInterval(heartbeat);
      finish(now);
    } else {
      raw.write(': waiting\n\n');
    }
  }

  /** The request object (`request_uri`), GET, or POST with `wallet_nonce` (`request_uri_method=post`). */
  @Get('v1/request/:id')
  async requestObject(@Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    sendRequestObject(reply, await this.core.requestObject(id, null));
  }

  @Post('v1/request/:id')
  @HttpCode(200)
  async requestObjectPost(@Param('id') id: string, @Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    const walletNonce = str((body as Record<string, unknown> | null)?.['wallet_nonce']) ?? null;
    sendRequestObject(reply, await this.core.requestObject(id, walletNonce));
  }

  /** The wallet's response (`direct_post` / `direct_post.jwt`, form encoded). */
  @Post('v1/authentication_response')
  @HttpCode(200)
  async authenticationResponse(@Body() body: unknown): Promise<Record<string, unknown>> {
    if (!body || typeof body !== 'object') throw new OAuthError(400, 'invalid_request', 'the response must be form encoded');
    return this.core.handleResponse(body as Record<string, unknown>);
  }

  /** The GET form VCVerifier also accepts (`state`, `vp_token` in the query). */
  @Get('v1/authentication_response')
  async authenticationResponseGet(@Query() query: QueryParams): Promise<Record<string, unknown>> {
    return this.core.handleResponse(query);
  }
}

/** The back channel for applications: token endpoints and OIDC discovery. */
@Controller()
@Public({ tenant: false })
@UseFilters(OAuthErrorFilter)
export class VerifierTokenController {
  constructor(@Inject(VerifierCore) private readonly core: VerifierCore) {}

  private tokenFrom(req: FastifyRequest, body: unknown, reply: FastifyReply, serviceId: string | undefined) {
    if (!body || typeof body !== 'object') throw new OAuthError(400, 'invalid_request', 'the token request must be form encoded');
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return this.core.token(body as Record<string, unknown>, serviceId, requestBase(req));
  }

  @Post('token')
  @HttpCode(200)
  token(@Req() req: FastifyRequest, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.tokenFrom(req, body, reply, undefined);
  }

  @Post('services/:serviceId/token')
  @HttpCode(200)
  serviceToken(@Param('serviceId') serviceId: string, @Req() req: FastifyRequest, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.tokenFrom(req, body, reply, serviceId);
  }

  /** A single-use nonce for the `vp_token` grant and token exchange: `{c_nonce, expires_in}`. */
  @Post('services/:serviceId/nonce')
  @HttpCode(200)
  nonce(@Param('serviceId') serviceId: string, @Res({ passthrough: true }) reply: FastifyReply) {
    void reply.header('cache-control', 'no-store');
    return this.core.nonce(serviceId);
  }

  @Get('services/:serviceId/.well-known/openid-configuration')
  openidConfiguration(@Param('serviceId') serviceId: string, @Req() req: FastifyRequest): Record<string, unknown> {
    return this.core.openidConfiguration(serviceId, requestBase(req));
  }

  /** The default service's discovery document at the root, for clients that look only there (its `issuer` stays the service's). */
  @Get('.well-known/openid-configuration')
  defaultOpenidConfiguration(@Req() req: FastifyRequest): Record<string, unknown> {
    return this.core.openidConfiguration(DEFAULT_SERVICE.id, requestBase(req));
  }
}

/**
 * The wallet's `direct_post` response also as a lean route (served ahead of
 * Fastify and Nest, see `installLeanRoutes` and docs/adr/0011): it is the
 * verifier's hot path. The answers are those of
 * `VerifierFrontendController.authenticationResponse`, which serves every
 * request the lean path leaves to the regular pipeline.
 */
@Injectable()
export class WalletResponseLeanRoute implements OnModuleInit {
  private readonly logger = new Logger('verifier');

  constructor(
    @Inject(LeanRoutes) private readonly routes: LeanRoutes,
    @Inject(VerifierCore) private readonly core: VerifierCore,
  ) {}

  onModuleInit(): void {
    this.routes.add({
      method: 'POST',
      path: '/api/v1/authentication_response',
      contentType: 'application/x-www-form-urlencoded',
      handle: async (fields) => {
        try {
          return { status: 200, body: await this.core.handleResponse(fields) };
        } catch (error) {
          return { ...oauthErrorResponse(error, this.logger), headers: { 'cache-control': 'no-store' } };
        }
      },
    });
  }
}
