import { Openid4vpClient } from '@openid4vc/openid4vp';
import type { CallbackContext } from '@openid4vc/oauth2';
import type { Oid4vpParams, ServerMessage, TrustResult, VerifierSummary } from '@wallet/engine-protocol';
import { parseDcqlQuery, parsePresentationDefinition, type IssuerKeyResolver } from '@wallet/protocol';
import { CompactEncrypt, importJWK } from 'jose';
import { describeError, FlowFailure } from '../errors';
import type { FlowAction } from '../flow-record';
import type { FlowCompleteBody, FlowContext, FlowDefinition } from '../flow-runner';
import { libraryFetch } from '../oid4vci/library-fetch';
import { checkPresentations } from './check-presentations';
import { resolveRequest, WALLET_METADATA, type RequestResolverDeps, type ResolvedRequest } from './resolve-request';

export interface PresentationFlowDeps extends RequestResolverDeps {
  /** Checks presentations' issuer signatures (the same resolver as issuance). */
  resolveIssuerKey: IssuerKeyResolver;
  /** The trust evaluator's decision on a verifier for the tenant (fail closed). */
  verifierTrust(input: { tenantId: string; clientId: string; key: ResolvedRequest['key'] }): Promise<TrustResult>;
}

const JARM_METADATA = {
  authorization_signing_alg_values_supported: ['ES256'],
  authorization_encryption_alg_values_supported: [...WALLET_METADATA.authorization_encryption_alg_values_supported],
  authorization_encryption_enc_values_supported: [...WALLET_METADATA.authorization_encryption_enc_values_supported],
};

const encryptJwe: CallbackContext['encryptJwe'] = async (encryptor, data) => {
  const key = await importJWK(encryptor.publicJwk as Parameters<typeof importJWK>[0], 'ECDH-ES');
  const parameters: { apu?: Uint8Array; apv?: Uint8Array } = {};
  if (encryptor.apu) parameters.apu = Buffer.from(encryptor.apu, 'base64url');
  if (encryptor.apv) parameters.apv = Buffer.from(encryptor.apv, 'base64url');
  const jwe = await new CompactEncrypt(new TextEncoder().encode(data))
    .setProtectedHeader({ alg: 'ECDH-ES', enc: encryptor.enc, ...(encryptor.publicJwk.kid ? { kid: encryptor.publicJwk.kid } : {}) })
    .setKeyManagementParameters(parameters)
    .encrypt(key);
  return { jwe, encryptionJwk: encryptor.publicJwk };
};

/**
 * OpenID4VP 1.0, wallet side, run by the engine: the request is fetched and
 * verified before anything else, the verifier's trust is decided on the
 * server, the client matches its own credentials and builds the
 * presentations (the engine sees only what the user agreed to present), the
 * engine checks them (no over-disclosure) and sends the response
 * (`direct_post`, or `direct_post.jwt` encrypted to the verifier's key); a
 * decline sends `access_denied`.
 */
export class PresentationFlow implements FlowDefinition {
  constructor(private readonly deps: PresentationFlowDeps) {}

  private fetch() {
    return libraryFetch((url, init) => this.deps.fetch(url, { ...init, maxBytes: this.deps.maxResponseBytes }));
  }

  async run(ctx: FlowContext): Promise<FlowCompleteBody> {
    const params = ctx.params as Oid4vpParams;
    const request = await ctx.stage('request', async () => {
      const resolved = await resolveRequest(params.request, ctx.tenantId, this.deps);
      await ctx.progress('request_resolved', { client_id_prefix: resolved.client.prefix });
      return resolved;
    });
    // Validated with the project's own query schemas before the client sees them.
    let dcql;
    let definition;
    try {
      dcql = request.dcql !== undefined ? parseDcqlQuery(request.dcql) : undefined;
      definition = request.presentationDefinition !== undefined ? parsePresentationDefinition(request.presentationDefinition) : undefined;
    } catch (cause) {
      throw new FlowFailure('invalid_request', `the request's query is not valid: ${describeError(cause).replace(/^\w+: /, '')}`, { cause });
    }
    const trust = await ctx.stage('verifier_trust', async () => {
      const decision = await this.deps.verifierTrust({ tenantId: ctx.tenantId, clientId: request.client.effective, key: request.key });
      await ctx.progress('verifier_evaluated', { trusted: decision.trusted });
      return decision;
    });
    const verifier = this.summary(request, trust);
    if (!trust.trusted) {
      throw new FlowFailure('untrusted_verifier', `the verifier is not trusted: ${trust.reason}`);
    }
    const nonce = String(request.payload['nonce'] ?? '');
    const answer = await ctx.ask('present', 'presentation_request', {
      verifier,
      query: {
        ...(request.dcql !== undefined ? { dcql_query: request.dcql as Record<string, unknown> } : {}),
        ...(request.presentationDefinition !== undefined ? { presentation_definition: request.presentationDefinition as Record<string, unknown> } : {}),
      },
      nonce,
      audience: request.client.effective,
      ...(request.transactionData.length
        ? { transaction_data: request.transactionData.map((t) => t.decoded), transaction_data_encoded: request.transactionData.map((t) => t.encoded) }
        : {}),
    });
    if (answer.error) {
      // The verifier learns of the refusal (access_denied), as OpenID4VP asks of a wallet.
      await ctx.stage('declined', () => this.sendError(request, answer.error?.code === 'declined' ? 'access_denied' : 'invalid_request'));
      throw new FlowFailure('declined', answer.error.code === 'declined' ? 'the user declined to present' : `the client could not present (${answer.error.code})`);
    }
    const checked = await ctx.stage('checked', async () => {
      const result = await checkPresentations(answer, {
        query: { ...(dcql ? { dcql } : {}), ...(definition ? { definition } : {}) },
        nonce,
        audience: request.client.effective,
        transactionData: request.transactionData,
        resolveIssuerKey: this.deps.resolveIssuerKey,
        now: () => ctx.now(),
        clockSkewSeconds: this.deps.clockSkewSeconds,
      });
      await ctx.progress('presentation_checked');
      return result;
    });
    const redirectUri = await ctx.stage('response', async () => {
      const sent = await this.sendResponse(request, checked.vpToken, checked.submission);
      await ctx.progress('response_sent');
      return sent;
    });
    return { verifier, ...(redirectUri ? { redirect_uri: redirectUri } : {}) };
  }

  private summary(request: ResolvedRequest, trust: TrustResult): VerifierSummary {
    const responseUri = request.payload['response_uri'];
    let responseOrigin: string | undefined;
    try {
      responseOrigin = typeof responseUri === 'string' ? new URL(responseUri).origin : undefined;
    } catch {
      responseOrigin = undefined;
    }
    return {
      client_id: request.client.effective,
      client_id_prefix: request.client.prefix,
      ...(request.client.name ? { name: request.client.name } : {}),
      ...(request.client.logoUri ? { logo_uri: request.client.logoUri } : {}),
      ...(responseOrigin ? { response_origin: responseOrigin } : {}),
      request_signed: request.signed,
      trust,
    };
  }

  private client(): Openid4vpClient {
    return new Openid4vpClient({
      callbacks: {
        fetch: this.fetch() as NonNullable<CallbackContext['fetch']>,
        encryptJwe,
        hash: () => {
          throw new Error('not used');
        },
        signJwt: async () => {
          throw new Error('the engine signs no response: presentations carry the holder\'s signatures');
        },
        verifyJwt: async () => ({ verified: false }),
        decryptJwe: async () => ({ decrypted: false }),
      },
    });
  }

  /** Sends the authorization response; the verifier's `redirect_uri`, if it gives one. */
  private async sendResponse(request: ResolvedRequest, vpToken: unknown, submission: Record<string, unknown> | undefined): Promise<string | null> {
    const client = this.client();
    const payload = request.payload as Parameters<Openid4vpClient['createOpenid4vpAuthorizationResponse']>[0]['authorizationRequestPayload'];
    const encrypted = request.payload['response_mode'] === 'direct_post.jwt';
    let response: Response;
    try {
      const created = await client.createOpenid4vpAuthorizationResponse({
        authorizationRequestPayload: payload,
        authorizationResponsePayload: { vp_token: vpToken as never, ...(submission ? { presentation_submission: submission } : {}) },
        ...(encrypted ? { jarm: { encryption: { nonce: String(request.payload['nonce'] ?? '') }, serverMetadata: JARM_METADATA } } : {}),
      });
      ({ response } = await client.submitOpenid4vpAuthorizationResponse({
        authorizationRequestPayload: payload as never,
        authorizationResponsePayload: created.authorizationResponsePayload,
        ...(created.jarm ? { jarm: { responseJwt: created.jarm.responseJwt } } : {}),
      }));
    } catch (cause) {
      if (cause instanceof FlowFailure) throw cause;
      if ((cause as { name?: string }).name === 'OutboundFailure' || (cause as { cause?: { name?: string } }).cause?.name === 'OutboundFailure') throw cause;
      throw new FlowFailure('response_refused', `the response could not be built or sent: ${describeError(cause).replace(/^\w+: /, '')}`, { cause });
    }
    return this.redirectFrom(response);
  }

  private async redirectFrom(response: Response): Promise<string | null> {
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = {};
    }
    if (!response.ok) {
      const error = typeof body['error'] === 'string' ? body['error'].slice(0, 64) : `HTTP ${response.status}`;
      throw new FlowFailure('response_refused', `the verifier refused the response (${error})`);
    }
    return typeof body['redirect_uri'] === 'string' ? body['redirect_uri'] : null;
  }

  /** An error response to the verifier (the user declined): OpenID4VP §8.5. */
  private async sendError(request: ResolvedRequest, error: string): Promise<string | null> {
    const responseUri = request.payload['response_uri'];
    if (typeof responseUri !== 'string') return null;
    const form = new URLSearchParams({ error, ...(typeof request.payload['state'] === 'string' ? { state: request.payload['state'] } : {}) });
    try {
      const response = await this.deps.fetch(responseUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        maxBytes: this.deps.maxResponseBytes,
      });
      const text = Buffer.from(response.body).toString('utf8');
      const parsed = text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {};
      return typeof parsed['redirect_uri'] === 'string' ? parsed['redirect_uri'] : null;
    } catch {
      return null;
    }
  }

  async action(ctx: FlowContext, action: FlowAction): Promise<ServerMessage> {
    return { type: 'notification_result', flow_id: ctx.flowId, notification_id: String((action.params as { notification_id?: unknown }).notification_id ?? ''), status: 'not_supported' };
  }
}
