import { Controller, Get, HttpCode, Inject, Injectable, Logger, Param, Post, Req, Res, UseFilters, type OnModuleInit } from '@nestjs/common';
import { ApiFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { LeanRoutes, Public } from '@wallet/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { loginPage, qrPng, qrSvg } from './login-page';
import { ApiOAuthError, OAuthError, OAuthErrorFilter, oauthErrorResponse, type OAuthErrorCode } from './oauth-error';
import { OAuthForm, OAuthQuery, parseOAuthParams } from './oauth-params.decorator';
import { AuthorizationQueryDto, QrQueryDto, StartFlowQueryDto } from './start-flow-query.dto';
import { TokenRequestDto } from './token-request.dto';
import { PresentationService } from './presentation.service';
import { TokenService } from './token.service';
import { ServicePathDto, SessionPathDto } from './verifier-path.dto';
import { DEFAULT_RELYING_PARTY } from './relying-party-registry';
import { VerifierSessions } from './verifier-sessions';
import { RequestObjectFormDto, WalletResponseDto } from './wallet-response.dto';

/** What starting a flow can be refused for; every front-channel route that starts one documents it. */
const TOKEN_ERRORS: readonly OAuthErrorCode[] = ['invalid_request', 'invalid_grant', 'unsupported_grant_type', 'invalid_scope', 'invalid_target', 'invalid_presentation', 'access_denied'];
const START_ERRORS: readonly OAuthErrorCode[] = ['invalid_request', 'invalid_client', 'invalid_scope'];
const SESSION_HEADER = { 'X-Session-ID': { description: 'The new session: poll `/api/v1/sessions/{id}/status` or wait on its events.', schema: { type: 'string' } } };
const TOKEN_ANSWER = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'scope'],
  properties: {
    access_token: { type: 'string', description: "The application JWT (the verified claims, shaped by the scope's token mapping), signed with a key from `/.well-known/jwks`" },
    id_token: { type: 'string', description: 'The same JWT (VCVerifier compatibility); not for token exchange' },
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_in: { type: 'integer', example: 3600 },
    scope: { type: 'string', example: 'login' },
    refresh_token: { type: 'string', description: 'Single use; its family ends with the login' },
    issued_token_type: { type: 'string', description: 'Token exchange only' },
  },
};
const SESSION_STATUS = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['pending', 'answered', 'failed'] },
    redirectTo: { type: 'string', description: "answered: the application's redirect URI with the code and state" },
    error: { type: 'string', description: 'failed: the OAuth error' },
    errorDescription: { type: 'string', description: 'failed: why' },
  },
};
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
@ApiTags('verifier front channel')
@Controller('api')
@Public({ tenant: false })
@UseFilters(OAuthErrorFilter)
export class VerifierFrontendController {
  constructor(
    @Inject(PresentationService) private readonly presentations: PresentationService,
    @Inject(VerifierSessions) private readonly sessions: VerifierSessions,
  ) {}

  private startFrom(req: FastifyRequest, query: StartFlowQueryDto, flow: 'cross_device' | 'same_device') {
    return this.presentations.start({
      baseUrl: requestBase(req),
      serviceId: query.client_id,
      scope: query.scope,
      flow,
      requestMode: query.request_mode,
      requestUriMethod: query.request_uri_method,
      responseMode: query.response_mode,
      appState: query.state,
      redirectUri: query.client_callback ?? query.redirect_uri,
      codeChallenge: query.code_challenge,
      codeChallengeMethod: query.code_challenge_method,
    });
  }

  private async sendLoginPage(req: FastifyRequest, reply: FastifyReply, query: StartFlowQueryDto): Promise<void> {
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
  @ApiOperation({ summary: 'Login page with a QR code (VCVerifier v1)', description: 'Starts a cross-device flow and answers an HTML page with the QR code of the wallet URL; the page waits for the answer and then sends the browser to `client_callback` with the code. Needs `client_callback` (or `redirect_uri`).' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The login page', headers: SESSION_HEADER, content: { 'text/html': { schema: { type: 'string' } } } })
  @ApiOAuthError(400, 'Invalid parameters, an unknown client or scope, or a redirect URI the client did not register', START_ERRORS)
  async loginQrV1(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @OAuthQuery(StartFlowQueryDto) query: StartFlowQueryDto): Promise<void> {
    if (!query.client_callback && !query.redirect_uri) throw new OAuthError(400, 'invalid_request', 'client_callback is required');
    await this.sendLoginPage(req, reply, query);
  }

  /** VCVerifier `/api/v2/loginQR`: state, client_id, redirect_uri, scope, request_mode (+ PKCE). */
  @Get('v2/loginQR')
  @ApiOperation({ summary: 'Login page with a QR code (VCVerifier v2)', description: 'As v1, with `redirect_uri` (required) and PKCE.' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The login page', headers: SESSION_HEADER, content: { 'text/html': { schema: { type: 'string' } } } })
  @ApiOAuthError(400, 'Invalid parameters, an unknown client or scope, or a redirect URI the client did not register', START_ERRORS)
  async loginQrV2(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @OAuthQuery(StartFlowQueryDto) query: StartFlowQueryDto): Promise<void> {
    if (!query.redirect_uri) throw new OAuthError(400, 'invalid_request', 'redirect_uri is required');
    await this.sendLoginPage(req, reply, query);
  }

  /** The QR code of a session's wallet URL as an image (`format=png|svg`), for pages rendered by the application. */
  @Get('v1/qr')
  @ApiOperation({ summary: "A flow's QR code as an image", description: 'Starts a cross-device flow and answers the QR code of its wallet URL, for pages the application renders itself.' })
  @ApiProduces('image/svg+xml', 'image/png')
  @ApiOkResponse({ description: 'The QR code', headers: SESSION_HEADER, content: { 'image/svg+xml': { schema: { type: 'string' } }, 'image/png': { schema: { type: 'string', format: 'binary' } } } })
  @ApiOAuthError(400, 'Invalid parameters, an unknown client or scope', START_ERRORS)
  async qr(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @OAuthQuery(QrQueryDto) query: QrQueryDto): Promise<void> {
    const format = query.format ?? 'svg';
    const { session, walletUrl } = await this.startFrom(req, query, 'cross_device');
    void reply.header('cache-control', 'no-store').header('x-session-id', session.id);
    if (format === 'png') void reply.header('content-type', 'image/png').send(await qrPng(walletUrl));
    else void reply.header('content-type', 'image/svg+xml').send(await qrSvg(walletUrl));
  }

  /** VCVerifier `/api/v1/startsiop`: the wallet URL as text, for applications that draw their own QR code. */
  @Get('v1/startsiop')
  @ApiOperation({ summary: 'Start a cross-device flow (VCVerifier)', description: 'Answers the `openid4vp://` wallet URL as text, for applications that draw their own QR code.' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The wallet URL', headers: SESSION_HEADER, content: { 'text/plain': { schema: { type: 'string', example: 'openid4vp://?client_id=...&request_uri=...' } } } })
  @ApiOAuthError(400, 'Invalid parameters, an unknown client or scope', START_ERRORS)
  async startSiop(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @OAuthQuery(StartFlowQueryDto) query: StartFlowQueryDto): Promise<void> {
    const { session, walletUrl } = await this.startFrom(req, query, 'cross_device');
    void reply.header('content-type', 'text/plain; charset=utf-8').header('x-session-id', session.id).header('cache-control', 'no-store').send(walletUrl);
  }

  /** VCVerifier `/api/v1/samedevice`: redirects the browser straight to the wallet. */
  @Get('v1/samedevice')
  @ApiOperation({ summary: 'Start a same-device flow (VCVerifier)', description: 'Redirects the browser straight to the wallet URL.' })
  @ApiFoundResponse({ description: 'To the `openid4vp://` wallet URL', headers: { ...SESSION_HEADER, Location: { description: 'The wallet URL', schema: { type: 'string' } } } })
  @ApiOAuthError(400, 'Invalid parameters, an unknown client or scope', START_ERRORS)
  async sameDevice(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @OAuthQuery(StartFlowQueryDto) query: StartFlowQueryDto): Promise<void> {
    const { session, walletUrl } = await this.startFrom(req, query, 'same_device');
    void reply.header('x-session-id', session.id).header('cache-control', 'no-store').redirect(walletUrl, 302);
  }

  /** OIDC-style authorization endpoint: `response_type=code`; cross-device login page, or `flow=same_device`. */
  @Get('v1/authorization')
  @ApiOperation({
    summary: 'Authorization endpoint (OIDC style)',
    description: '`response_type=code` with `client_id` and `redirect_uri`: the login page with a QR code, or with `flow=same_device` a redirect to the wallet. The code comes back to `redirect_uri`; exchange it at the token endpoint.',
  })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The login page (cross-device)', headers: SESSION_HEADER, content: { 'text/html': { schema: { type: 'string' } } } })
  @ApiFoundResponse({ description: '`flow=same_device`: to the wallet URL', headers: { ...SESSION_HEADER, Location: { description: 'The wallet URL', schema: { type: 'string' } } } })
  @ApiOAuthError(400, 'Invalid or missing parameters, an unsupported response type, an unknown client or scope', ['unsupported_response_type', ...START_ERRORS])
  async authorization(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @OAuthQuery(AuthorizationQueryDto) query: AuthorizationQueryDto): Promise<void> {
    if (query.response_type !== 'code') throw new OAuthError(400, 'unsupported_response_type', 'response_type must be code');
    if (!query.client_id) throw new OAuthError(400, 'invalid_request', 'client_id is required');
    if (!query.redirect_uri) throw new OAuthError(400, 'invalid_request', 'redirect_uri is required');
    if (query.flow === 'same_device') {
      const { session, walletUrl } = await this.startFrom(req, query, 'same_device');
      void reply.header('x-session-id', session.id).redirect(walletUrl, 302);
      return;
    }
    await this.sendLoginPage(req, reply, query);
  }

  @Get('v1/sessions/:id/status')
  @ApiOperation({ summary: "A session's status", description: 'Whether the wallet has answered; once answered, where the browser goes with the code.' })
  @ApiOkResponse({ description: 'The status', schema: SESSION_STATUS })
  @ApiOAuthError(400, 'A malformed session id', ['invalid_request'])
  @ApiOAuthError(404, 'The session does not exist or has expired', ['invalid_request'])
  async status(@Param() { id }: SessionPathDto): Promise<Record<string, unknown>> {
    const status = await this.sessions.status(id);
    if (!status) throw new OAuthError(404, 'invalid_request', 'the session does not exist or has expired');
    return status;
  }

  /** Server-sent events: one message when the wallet has answered (on whatever replica), then the stream ends. */
  @Get('v1/sessions/:id/events')
  @ApiOperation({ summary: "A session's outcome as server-sent events", description: 'One `data:` event with the status once the wallet has answered (on whatever replica), then the stream ends; comments keep it alive meanwhile.' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string', example: 'data: {"status":"answered","redirectTo":"https://app.example/callback?code=..."}' } } } })
  @ApiOAuthError(400, 'A malformed session id', ['invalid_request'])
  @ApiOAuthError(404, 'The session does not exist or has expired', ['invalid_request'])
  async events(@Param() { id }: SessionPathDto, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
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
  @ApiOperation({ summary: 'The signed request object (`request_uri`)', description: 'The authorization request as a JWT signed with the key its client id names (OpenID4VP §5.7, RFC 9101).' })
  @ApiProduces(REQUEST_OBJECT_TYPE)
  @ApiOkResponse({ description: 'The request object', content: { [REQUEST_OBJECT_TYPE]: { schema: { type: 'string' } } } })
  @ApiOAuthError(400, 'A malformed id, or a request that was not issued by reference', ['invalid_request', 'invalid_request_uri'])
  @ApiOAuthError(404, 'The request does not exist or has expired', ['invalid_request_uri'])
  async requestObject(@Param() { id }: SessionPathDto, @Res() reply: FastifyReply): Promise<void> {
    sendRequestObject(reply, await this.presentations.requestObject(id, null));
  }

  @Post('v1/request/:id')
  @HttpCode(200)
  @ApiOperation({ summary: 'The signed request object, with the wallet\'s nonce (`request_uri_method=post`)', description: 'As the GET, with `wallet_nonce` echoed in the signed request (OpenID4VP §5.10).' })
  @ApiProduces(REQUEST_OBJECT_TYPE)
  @ApiOkResponse({ description: 'The request object', content: { [REQUEST_OBJECT_TYPE]: { schema: { type: 'string' } } } })
  @ApiOAuthError(400, 'A malformed id or `wallet_nonce`, or a request that was not issued by reference', ['invalid_request', 'invalid_request_uri'])
  @ApiOAuthError(404, 'The request does not exist or has expired', ['invalid_request_uri'])
  async requestObjectPost(@Param() { id }: SessionPathDto, @OAuthForm(RequestObjectFormDto) form: RequestObjectFormDto, @Res() reply: FastifyReply): Promise<void> {
    sendRequestObject(reply, await this.presentations.requestObject(id, form.wallet_nonce ?? null));
  }

  /** The wallet's response (`direct_post` / `direct_post.jwt`, form encoded). */
  @Post('v1/authentication_response')
  @HttpCode(200)
  @ApiOperation({
    summary: "The wallet's authorization response (`response_uri`)",
    description:
      'OpenID4VP `direct_post` (`vp_token`, `state`) or `direct_post.jwt` (`response`, a JWE to the session\'s key). Every check is made (signatures, key binding to our nonce and client id, status, trust, the query); the first response to a session wins. Served ahead of the framework for plain requests (ADR 0011), with the same answers.',
  })
  @ApiOkResponse({ description: 'Accepted; for same-device flows, where the wallet sends the browser', schema: { type: 'object', properties: { redirect_uri: { type: 'string', description: 'Same-device flows: the application\'s redirect URI with the code' } } } })
  @ApiOAuthError(400, 'A malformed response, an unknown, expired or answered session, or a refused presentation (with `reason`)', ['invalid_request', 'invalid_presentation', 'access_denied'])
  async authenticationResponse(@OAuthForm(WalletResponseDto, 'the response must be form encoded') response: WalletResponseDto): Promise<Record<string, unknown>> {
    return this.presentations.handleResponse({ ...response });
  }

  /** The GET form VCVerifier also accepts (`state`, `vp_token` in the query). */
  @Get('v1/authentication_response')
  @ApiOperation({ summary: "The wallet's authorization response in the query (VCVerifier)", description: 'As the POST, for wallets that answer with GET.' })
  @ApiOkResponse({ description: 'Accepted; for same-device flows, where the wallet sends the browser', schema: { type: 'object', properties: { redirect_uri: { type: 'string' } } } })
  @ApiOAuthError(400, 'A malformed response, an unknown, expired or answered session, or a refused presentation (with `reason`)', ['invalid_request', 'invalid_presentation', 'access_denied'])
  async authenticationResponseGet(@OAuthQuery(WalletResponseDto) response: WalletResponseDto): Promise<Record<string, unknown>> {
    return this.presentations.handleResponse({ ...response });
  }
}

/** The back channel for applications: token endpoints and OIDC discovery. */
@ApiTags('verifier back channel')
@Controller()
@Public({ tenant: false })
@UseFilters(OAuthErrorFilter)
export class VerifierTokenController {
  constructor(@Inject(TokenService) private readonly tokens: TokenService) {}

  private tokenFrom(req: FastifyRequest, params: TokenRequestDto, reply: FastifyReply, serviceId: string | undefined) {
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return this.tokens.token({ ...params }, serviceId, requestBase(req));
  }

  @Post('token')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Token endpoint',
    description: 'As `POST /services/{serviceId}/token`, with the client named by `client_id`, the client assertion, or (public clients, `authorization_code`) the code.',
  })
  @ApiOkResponse({ description: 'The tokens (`Cache-Control: no-store`)', schema: TOKEN_ANSWER })
  @ApiOAuthError(400, 'A malformed request, or a grant that is refused', TOKEN_ERRORS)
  @ApiOAuthError(401, 'Client authentication failed', ['invalid_client'])
  token(@Req() req: FastifyRequest, @OAuthForm(TokenRequestDto, 'the token request must be form encoded') params: TokenRequestDto, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.tokenFrom(req, params, reply, undefined);
  }

  @Post('services/:serviceId/token')
  @HttpCode(200)
  @ApiOperation({
    summary: "A service's token endpoint",
    description:
      '`authorization_code` (PKCE S256 when the flow started with a challenge), `vp_token` (a presentation over a nonce from the nonce endpoint), token exchange (RFC 8693) with a presentation as subject token, and rotating `refresh_token`s. Clients authenticate per their service: `none`, or `private_key_jwt` (RFC 7523).',
  })
  @ApiOkResponse({ description: 'The tokens (`Cache-Control: no-store`)', schema: TOKEN_ANSWER })
  @ApiOAuthError(400, 'A malformed request, or a grant that is refused', TOKEN_ERRORS)
  @ApiOAuthError(401, 'Client authentication failed', ['invalid_client'])
  serviceToken(
    @Param() { serviceId }: ServicePathDto,
    @Req() req: FastifyRequest,
    @OAuthForm(TokenRequestDto, 'the token request must be form encoded') params: TokenRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.tokenFrom(req, params, reply, serviceId);
  }

  /** A single-use nonce for the `vp_token` grant and token exchange: `{c_nonce, expires_in}`. */
  @Post('services/:serviceId/nonce')
  @HttpCode(200)
  @ApiOperation({ summary: 'A nonce for the `vp_token` grant and token exchange', description: "Single use, for this service only: the presentation's key-binding JWT carries it." })
  @ApiOkResponse({
    description: 'The nonce (`Cache-Control: no-store`)',
    schema: { type: 'object', required: ['c_nonce', 'expires_in'], properties: { c_nonce: { type: 'string' }, expires_in: { type: 'integer', example: 300 } } },
  })
  @ApiOAuthError(400, 'A malformed or unknown service', ['invalid_request', 'invalid_client'])
  nonce(@Param() { serviceId }: ServicePathDto, @Res({ passthrough: true }) reply: FastifyReply) {
    void reply.header('cache-control', 'no-store');
    return this.tokens.nonce(serviceId);
  }

  @Get('services/:serviceId/.well-known/openid-configuration')
  @ApiOperation({ summary: "A service's OpenID discovery document", description: 'Its issuer, endpoints, scopes, grants and signing algorithms.' })
  @ApiOkResponse({ description: 'The discovery document', schema: { type: 'object' } })
  @ApiOAuthError(400, 'A malformed or unknown service', ['invalid_request', 'invalid_client'])
  openidConfiguration(@Param() { serviceId }: ServicePathDto, @Req() req: FastifyRequest): Record<string, unknown> {
    return this.tokens.openidConfiguration(serviceId, requestBase(req));
  }

  /** The default service's discovery document at the root, for clients that look only there (its `issuer` stays the service's). */
  @Get('.well-known/openid-configuration')
  @ApiOperation({ summary: "The default service's OpenID discovery document", description: "For clients that look only at the root; its `issuer` stays the service's." })
  @ApiOkResponse({ description: 'The discovery document', schema: { type: 'object' } })
  @ApiOAuthError(400, 'A bearer token in the query string (refused on every route)', ['invalid_request'])
  defaultOpenidConfiguration(@Req() req: FastifyRequest): Record<string, unknown> {
    return this.tokens.openidConfiguration(DEFAULT_RELYING_PARTY.id, requestBase(req));
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
    @Inject(PresentationService) private readonly presentations: PresentationService,
  ) {}

  onModuleInit(): void {
    this.routes.add({
      method: 'POST',
      path: '/api/v1/authentication_response',
      contentType: 'application/x-www-form-urlencoded',
      handle: async (fields) => {
        try {
          // The same parameters as the regular route's `@OAuthForm(WalletResponseDto)`, so both paths answer alike.
          return { status: 200, body: await this.presentations.handleResponse({ ...parseOAuthParams(WalletResponseDto, fields) }) };
        } catch (error) {
          return { ...oauthErrorResponse(error, this.logger), headers: { 'cache-control': 'no-store' } };
        }
      },
    });
  }
}
