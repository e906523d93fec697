import {
  determineAuthorizationServerForCredentialOffer,
  extractScopesForCredentialConfigurationIds,
  type CredentialOfferObject,
} from '@openid4vc/openid4vci';
import type { AuthorizationServerMetadata } from '@openid4vc/oauth2';
import type { FlowStartParams, IssuedCredential, OfferedCredential, Oid4vciOfferParams, Oid4vciRefreshParams, ServerMessage, SignItem } from '@wallet/engine-protocol';
import { randomToken } from '@wallet/crypto';
import type { IssuerKeyResolver } from '@wallet/protocol';
import { compactDecrypt, exportJWK, generateKeyPair, type KeyLike } from 'jose';
import { describeError, FlowFailure } from '../errors';
import type { FlowAction } from '../flow-record';
import { isRunControl, type FlowCompleteBody, type FlowContext, type FlowDefinition, type WaitAnnouncement } from '../flow-runner';
import type { GuardedFetch, IssuerMetadataView, RegistryPort } from '../ports';
import { askSignatures, dpopItem, DpopRefused, flowDpopKey, withClientDpop, type DpopState } from './client-signing';
import { issuerMetadataResult, issuerSummary, offeredCredential } from './issuer-view';
import { libraryFetch, type ResponseFilter } from './library-fetch';
import { offerLink } from './offer-input';
import {
  oauthClient,
  Oauth2ClientErrorResponseError,
  Openid4vciRetrieveCredentialsError,
  vciClient,
  type IssuerMetadataResult,
  type LibraryCallbacks,
} from './openid4vc';
import { checkIssuedCredential } from './verify-issued-credential';

export interface IssuanceFlowDeps {
  registry: RegistryPort;
  /** The guarded outbound fetch. */
  fetch: GuardedFetch;
  resolveIssuerKey: IssuerKeyResolver;
  /** Fetches a status list (guarded). */
  fetchStatusList: (uri: string) => Promise<string>;
  /** The OAuth `client_id` the tenant registered with this issuer, if any. */
  clientIdFor?: (tenantId: string, credentialIssuer: string) => Promise<string | undefined>;
  /** The `client_id` for authorization code flows when the tenant registered none. */
  defaultClientId: string;
  /** Redirect URIs a client may name for authorization code flows; empty: any absolute URL. */
  redirectUris: readonly string[];
  /** Largest response body from an issuer (offers, tokens, credentials). */
  maxResponseBytes: number;
  clockSkewSeconds: number;
  /** Bounds on the poll interval of deferred issuance. */
  deferredIntervalMs: { min: number; max: number };
  /** Most polls of one deferred issuance. */
  maxDeferredPolls: number;
}

const SUPPORTED_FORMATS = new Set(['dc+sd-jwt', 'vc+sd-jwt', 'jwt_vc_json', 'mso_mdoc']);
const PRE_AUTH = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';

/**
 * What a step that sent DPoP proofs leaves in the journal besides its result:
 * the DPoP nonce the server handed out last (RFC 9449 §8, §9), which the
 * next request to the same server starts with. Kept per server: the
 * authorization server's (PAR, token) and the credential issuer's (credential,
 * deferred, notification) are not mixed. In the flow record, so a later run on
 * any replica has it.
 */
interface DpopNonceNote {
  dpopNonce?: string;
}

/** What a token step leaves in the journal (the engine needs the tokens until the flow ends). */
interface TokenResult extends DpopNonceNote {
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  cNonce?: string;
  authorizationServer: string;
}

/** What the credential step leaves: the response, or a nonce to retry with. */
type CredentialStep = DpopNonceNote &
  (
    | { kind: 'issued'; credentials: unknown[]; notificationId?: string; proofKeys: string[] }
    | { kind: 'deferred'; transactionId: string; intervalMs: number; proofKeys: string[] }
    | { kind: 'retry_nonce'; cNonce?: string }
  );

/** What one deferred poll leaves. */
type DeferredPoll = DpopNonceNote & ({ pending: true; interval?: number | undefined } | { pending: false; credentials: unknown[]; notificationId?: string });

/** Kept for follow-up actions (notifications): the resource server and how to reach it. */
interface FollowUp {
  notificationEndpoint?: string;
  accessToken: string;
  dpop: DpopState | null;
}

function oauthMessage(error: unknown): string {
  const response = (error as { errorResponse?: { error?: unknown; error_description?: unknown } }).errorResponse;
  if (!response || typeof response.error !== 'string') return 'the server refused';
  const description = typeof response.error_description === 'string' ? `: ${response.error_description.slice(0, 200)}` : '';
  return `${response.error.slice(0, 64)}${description}`;
}

/** The OAuth error body of a refused credential or deferred credential request, when it had one. */
function credentialErrorBody(error: Openid4vciRetrieveCredentialsError): Record<string, unknown> | undefined {
  const response = error.response as typeof error.response & { deferredCredentialErrorResponseResult?: typeof error.response.credentialErrorResponseResult };
  const parsed = response.credentialErrorResponseResult ?? response.deferredCredentialErrorResponseResult;
  return parsed?.success ? (parsed.data as Record<string, unknown>) : undefined;
}

function credentialErrorCode(error: Openid4vciRetrieveCredentialsError): string | undefined {
  const code = credentialErrorBody(error)?.['error'];
  return typeof code === 'string' ? code : undefined;
}

function txCodeFits(txCode: string, spec: { input_mode?: string | undefined; length?: number | undefined }): boolean {
  if ((spec.input_mode ?? 'numeric') === 'numeric' && !/^[0-9]+$/.test(txCode)) return false;
  return spec.length === undefined || txCode.length === spec.length;
}

/**
 * OpenID4VCI 1.0, wallet side, run by the engine: offer (by value or
 * reference), issuer metadata and trust from the registry, the user's choice
 * and consent, pre-authorized code (with transaction code) or authorization
 * code (PKCE, PAR, `state` and `iss` checked), refresh-token re-issuance,
 * DPoP with the client's key and server nonces, the nonce endpoint, key
 * proofs signed by the client and checked here, batch issuance, credential
 * response encryption, deferred issuance, and every credential checked
 * before the client gets it. Notifications are a follow-up action.
 */
export class IssuanceFlow implements FlowDefinition {
  constructor(private readonly deps: IssuanceFlowDeps) {}

  /** `observe` sees each response first (DPoP nonces), then `filter` may rewrite it. */
  private callbacks(
    ctx: FlowContext,
    sign: LibraryCallbacks['sign'],
    options: { clientId?: string; filter?: ResponseFilter; observe?: ResponseFilter } = {},
  ): LibraryCallbacks {
    const { observe, filter } = options;
    const filters: ResponseFilter | undefined = observe && filter ? async (url, response) => filter(url, await observe(url, response)) : (observe ?? filter);
    const fetch = libraryFetch((url, init) => this.deps.fetch(url, { ...init, maxBytes: this.deps.maxResponseBytes }), filters);
    return { fetch, sign, ...(options.clientId ? { clientId: options.clientId } : {}) };
  }

  async run(ctx: FlowContext): Promise<FlowCompleteBody> {
    const params = ctx.params as FlowStartParams;
    if ('reissue' in params) return this.reissue(ctx, params);
    if ('offer' in params) return this.fromOffer(ctx, params);
    throw new FlowFailure('internal', 'an issuance flow needs an offer or a reissue');
  }

  private async fromOffer(ctx: FlowContext, params: Oid4vciOfferParams): Promise<FlowCompleteBody> {
    const offer = await ctx.stage('offer', async () => {
      const link = offerLink(params.offer);
      let resolved: CredentialOfferObject;
      try {
        resolved = await vciClient(this.callbacks(ctx, noSigning)).resolveCredentialOffer(link);
      } catch (error) {
        throw offerFailure(error);
      }
      await ctx.progress('offer_resolved', { credential_issuer: resolved.credential_issuer });
      return resolved;
    });
    const view = await this.issuer(ctx, offer.credential_issuer);
    const metadata = await issuerMetadataResult(view);
    const known = metadata.credentialIssuer.credential_configurations_supported as Record<string, unknown>;
    const options: OfferedCredential[] = [];
    for (const id of offer.credential_configuration_ids ?? []) {
      const option = offeredCredential(known, id);
      if (option && SUPPORTED_FORMATS.has(option.format)) options.push(option);
    }
    if (options.length === 0) throw new FlowFailure('unsupported_offer', 'the offer lists no credential configuration this engine can receive');
    const summary = issuerSummary(view);
    let chosen: OfferedCredential | undefined = options[0];
    if (options.length > 1) {
      const answer = await ctx.ask('select', 'selection_request', { issuer: summary, options });
      if (answer.error || !answer.credential_configuration_id) throw new FlowFailure('declined', 'the user chose no credential');
      chosen = options.find((o) => o.credential_configuration_id === answer.credential_configuration_id);
      if (!chosen) throw new FlowFailure('invalid_selection', 'the chosen credential configuration is not one the offer lists');
    }
    if (!chosen) throw new FlowFailure('unsupported_offer', 'nothing to issue');
    const consent = await ctx.ask('consent', 'consent_request', { issuer: summary, credentials: [chosen] });
    if (!consent.accept) throw new FlowFailure('declined', 'the user declined the credential');

    const configurationId = chosen.credential_configuration_id;
    const grants = offer.grants ?? {};
    const preAuth = grants[PRE_AUTH];
    const authorizationServer = this.authorizationServer(metadata, preAuth?.authorization_server ?? grants.authorization_code?.authorization_server);
    const dpop = dpopState(authorizationServer);
    let token: TokenResult;
    // Key proofs name the client (iss) only when it authenticated; pre-authorized access is anonymous.
    let clientId: string | undefined;
    if (preAuth) {
      let txCode: string | undefined;
      if (preAuth.tx_code) {
        const spec = preAuth.tx_code;
        const answer = await ctx.ask('tx_code', 'tx_code_request', {
          tx_code: {
            input_mode: spec.input_mode === 'text' ? 'text' : 'numeric',
            ...(spec.length !== undefined ? { length: spec.length } : {}),
            ...(spec.description !== undefined ? { description: spec.description.slice(0, 300) } : {}),
          },
        });
        if (answer.error || !answer.tx_code) throw new FlowFailure('declined', 'the user gave no transaction code');
        if (!txCodeFits(answer.tx_code, spec)) throw new FlowFailure('invalid_tx_code', 'the transaction code does not have the length or characters the offer asks for');
        txCode = answer.tx_code;
      }
      token = await ctx.stage('token', async () =>
        noted(
          await withClientDpop(ctx, tokenStep(authorizationServer, dpop), async (dpopOptions, sign, observe) => {
            try {
              const result = await vciClient(this.callbacks(ctx, sign, { observe })).retrievePreAuthorizedCodeAccessTokenFromOffer({
                credentialOffer: offer,
                issuerMetadata: metadata,
                ...(txCode !== undefined ? { txCode } : {}),
                ...(dpopOptions ? { dpop: dpopOptions } : {}),
              });
              return tokenResult(result.accessTokenResponse, result.authorizationServer);
            } catch (error) {
              throw tokenFailure(error);
            }
          }),
        ),
      );
    } else if (grants.authorization_code || Object.keys(grants).length === 0) {
      const authorized = await this.authorizationCode(ctx, { offer, metadata, params, configurationId, authorizationServer, dpop });
      token = authorized.token;
      clientId = authorized.clientId;
    } else {
      throw new FlowFailure('unsupported_offer', 'the offer has no grant this engine supports');
    }
    await ctx.progress('token_obtained');
    return this.issue(ctx, { view, metadata, configurationId, token, dpop, batchSize: params.batch_size ?? 1, clientId });
  }

  private async reissue(ctx: FlowContext, params: Oid4vciRefreshParams): Promise<FlowCompleteBody> {
    const { credential_issuer: issuer, credential_configuration_id: configurationId, refresh_token: refreshToken } = params.reissue;
    const view = await this.issuer(ctx, issuer);
    const metadata = await issuerMetadataResult(view);
    if (!Object.hasOwn(metadata.credentialIssuer.credential_configurations_supported, configurationId)) {
      throw new FlowFailure('unsupported_offer', 'the issuer does not offer this credential configuration');
    }
    const authorizationServer = this.authorizationServer(metadata, undefined);
    const bound = dpopState(authorizationServer);
    // A refresh token bound to a DPoP key is only honoured with proofs of that key.
    const dpop = bound && params.reissue.dpop_jkt ? { ...bound, jkt: params.reissue.dpop_jkt } : bound;
    const token = await ctx.stage('token', async () =>
      noted(
        await withClientDpop(ctx, tokenStep(authorizationServer, dpop), async (dpopOptions, sign, observe) => {
          try {
            const response = await oauthClient(this.callbacks(ctx, sign, { observe })).retrieveRefreshTokenAccessToken({
              authorizationServerMetadata: authorizationServer,
              refreshToken,
              resource: issuer,
              ...(dpopOptions ? { dpop: dpopOptions } : {}),
            });
            return tokenResult(response.accessTokenResponse, authorizationServer.issuer);
          } catch (error) {
            throw tokenFailure(error);
          }
        }),
      ),
    );
    await ctx.progress('token_obtained');
    return this.issue(ctx, { view, metadata, configurationId, token, dpop, batchSize: params.batch_size ?? 1, clientId: undefined });
  }

  /** Issuer metadata and the trust decision, from the registry; an untrusted issuer ends the flow here. */
  private async issuer(ctx: FlowContext, credentialIssuer: string): Promise<IssuerMetadataView> {
    const view = await ctx.stage('issuer', async () => {
      let found: IssuerMetadataView;
      try {
        found = await this.deps.registry.issuerMetadata(credentialIssuer, ctx.tenantId);
      } catch (error) {
        throw new FlowFailure('metadata_unavailable', `the issuer metadata could not be had: ${error instanceof Error ? describeError(error).replace(/^\w+: /, '') : 'unavailable'}`, {
          cause: error,
        });
      }
      await ctx.progress('metadata_resolved', { credential_issuer: found.issuer });
      await ctx.progress('trust_evaluated', { trusted: found.trust.trusted });
      return found;
    });
    if (!view.trust.trusted) throw new FlowFailure('untrusted_issuer', `the issuer is not trusted: ${view.trust.reason}`);
    return view;
  }

  private authorizationServer(metadata: IssuerMetadataResult, grantServer: string | undefined): AuthorizationServerMetadata {
    let id: string;
    try {
      id = determineAuthorizationServerForCredentialOffer({ issuerMetadata: metadata, ...(grantServer ? { grantAuthorizationServer: grantServer } : {}) });
    } catch (error) {
      throw new FlowFailure('metadata_unavailable', 'the authorization server of this offer is unknown', { cause: error });
    }
    const server = metadata.authorizationServers.find((as) => as.issuer === id);
    if (!server) throw new FlowFailure('metadata_unavailable', 'the metadata of the authorization server could not be had');
    return server;
  }

  private async authorizationCode(
    ctx: FlowContext,
    input: {
      offer: CredentialOfferObject;
      metadata: IssuerMetadataResult;
      params: Oid4vciOfferParams;
      configurationId: string;
      authorizationServer: AuthorizationServerMetadata;
      dpop: DpopState | null;
    },
  ): Promise<{ token: TokenResult; clientId: string }> {
    const { offer, metadata, params, authorizationServer, dpop } = input;
    const redirectUri = params.redirect_uri;
    if (!redirectUri) throw new FlowFailure('unsupported_offer', 'this offer needs an authorization code flow: start the flow with redirect_uri');
    if (this.deps.redirectUris.length > 0 && !this.deps.redirectUris.includes(redirectUri)) {
      throw new FlowFailure('unsupported_offer', 'redirect_uri is not one this deployment allows');
    }
    if (!authorizationServer.authorization_endpoint) throw new FlowFailure('metadata_unavailable', 'the authorization server has no authorization endpoint');
    const clientId = (await ctx.stage('client_id', async () => (await this.deps.clientIdFor?.(ctx.tenantId, offer.credential_issuer)) ?? this.deps.defaultClientId)) as string;
    const secrets = await ctx.stage('authorization_secrets', async () => ({ state: randomToken(24), codeVerifier: randomToken(48) }));
    const scope = extractScopesForCredentialConfigurationIds({ credentialConfigurationIds: [input.configurationId], issuerMetadata: metadata })?.join(' ');
    const parUrl = authorizationServer.pushed_authorization_request_endpoint;
    // PAR carries a DPoP proof; without PAR the key is bound by dpop_jkt, which needs the client's key first.
    const parStep = { stage: 'par', request: { htm: 'POST', url: parUrl ?? authorizationServer.token_endpoint }, state: dpop, refused: 'authorization_failed' } as const;
    const request = await ctx.stage('authorization_request', async () =>
      noted(
        await withClientDpop(ctx, parStep, async (dpopOptions, sign, observe) => {
          try {
            // Oauth2Client directly: the offer-level helper of 0.4.6 drops `state` and needs an authorization_code grant in the offer.
            const issuerState = offer.grants?.authorization_code?.issuer_state;
            const created = await oauthClient(this.callbacks(ctx, sign, { clientId, observe })).createAuthorizationRequestUrl({
              authorizationServerMetadata: authorizationServer,
              clientId,
              redirectUri,
              state: secrets.state,
              resource: metadata.credentialIssuer.credential_issuer,
              pkceCodeVerifier: secrets.codeVerifier,
              ...(scope ? { scope } : {}),
              additionalRequestPayload: {
                ...(issuerState ? { issuer_state: issuerState } : {}),
                ...(scope ? {} : { authorization_details: [{ type: 'openid_credential', credential_configuration_id: input.configurationId }] }),
              },
              ...(dpopOptions ? { dpop: dpopOptions } : {}),
            });
            return { url: created.authorizationRequestUrl };
          } catch (error) {
            if (error instanceof Oauth2ClientErrorResponseError) throw new FlowFailure('authorization_failed', `the pushed authorization request was refused: ${oauthMessage(error)}`, { cause: error });
            throw error;
          }
        }),
      ),
    );
    const answer = await ctx.ask('authorize', 'authorization_request', { url: request.url, redirect_uri: redirectUri, state: secrets.state });
    if (answer.state !== secrets.state) throw new FlowFailure('authorization_failed', 'the state of the authorization response is not the one sent');
    if (answer.iss !== undefined ? answer.iss !== authorizationServer.issuer : authorizationServer.authorization_response_iss_parameter_supported === true) {
      throw new FlowFailure('authorization_failed', 'the iss of the authorization response is not the authorization server (RFC 9207)');
    }
    if (answer.error) {
      throw new FlowFailure(answer.error === 'access_denied' ? 'declined' : 'authorization_failed', `the authorization server answered ${answer.error.slice(0, 64)}`);
    }
    if (!answer.code) throw new FlowFailure('authorization_failed', 'the authorization response has no code');
    const code = answer.code;
    await ctx.progress('authorized');
    // The token request starts with the nonce the authorization server handed out at PAR (RFC 9449 §8).
    const token = await ctx.stage('token', async () =>
      noted(
        await withClientDpop(ctx, tokenStep(authorizationServer, withNonce(dpop, request.dpopNonce)), async (dpopOptions, sign, observe) => {
          try {
            const result = await oauthClient(this.callbacks(ctx, sign, { clientId, observe })).retrieveAuthorizationCodeAccessToken({
              authorizationServerMetadata: authorizationServer,
              authorizationCode: code,
              pkceCodeVerifier: secrets.codeVerifier,
              redirectUri,
              resource: metadata.credentialIssuer.credential_issuer,
              ...(dpopOptions ? { dpop: dpopOptions } : {}),
            });
            return tokenResult(result.accessTokenResponse, authorizationServer.issuer);
          } catch (error) {
            throw tokenFailure(error);
          }
        }),
      ),
    );
    return { token, clientId };
  }

  /** Nonce, key proofs, credential request (batch, encryption, one `invalid_nonce` retry), deferred polling, checks. */
  private async issue(
    ctx: FlowContext,
    input: {
      view: IssuerMetadataView;
      metadata: IssuerMetadataResult;
      configurationId: string;
      token: TokenResult;
      dpop: DpopState | null;
      batchSize: number;
      clientId: string | undefined;
    },
  ): Promise<FlowCompleteBody> {
    const { metadata, configurationId, token } = input;
    const issuerMetadata = metadata.credentialIssuer;
    const configuration = issuerMetadata.credential_configurations_supported[configurationId] as unknown as Record<string, unknown>;
    const maxBatch = issuerMetadata.batch_credential_issuance?.batch_size ?? 1;
    if (input.batchSize > maxBatch) throw new FlowFailure('unsupported_offer', `the issuer issues at most ${maxBatch} copies at once`);
    const proofTypes = configuration['proof_types_supported'] as Record<string, { proof_signing_alg_values_supported?: string[] }> | undefined;
    const needsProof = proofTypes !== undefined || configuration['cryptographic_binding_methods_supported'] !== undefined;
    if (needsProof && !proofTypes?.['jwt']) throw new FlowFailure('unsupported_offer', 'the credential needs a proof type this engine does not support (jwt only)');
    const proofAlgs = proofTypes?.['jwt']?.proof_signing_alg_values_supported ?? ['ES256'];
    // The resource server's DPoP nonces are its own; AS nonces are not reused there.
    const resourceDpop: DpopState | null = input.dpop && token.tokenType.toLowerCase() === 'dpop' ? { algs: input.dpop.algs } : null;
    // The credential issuer's latest DPoP nonce, from the journalled results of the steps so far.
    let resourceNonce: string | undefined;
    const credentialEndpoint = issuerMetadata.credential_endpoint;

    let step: CredentialStep | null = null;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const cNonce = await ctx.stage(`c_nonce:${attempt}`, async () => {
        if (attempt > 1 && step?.kind === 'retry_nonce' && step.cNonce) return step.cNonce;
        if (issuerMetadata.nonce_endpoint) {
          try {
            return (await vciClient(this.callbacks(ctx, noSigning)).requestNonce({ issuerMetadata: metadata })).c_nonce;
          } catch (error) {
            throw new FlowFailure('credential_request_failed', 'the nonce endpoint failed', { cause: error });
          }
        }
        return token.cNonce ?? null;
      });
      step = await ctx.stage(`credential:${attempt}`, () =>
        this.requestCredential(ctx, `credential:${attempt}`, {
          metadata,
          configurationId,
          token,
          cNonce: cNonce ?? undefined,
          needsProof,
          proofAlgs,
          batchSize: input.batchSize,
          resourceDpop: withNonce(resourceDpop, resourceNonce),
          credentialEndpoint,
          clientId: input.clientId,
        }),
      );
      resourceNonce = step.dpopNonce ?? resourceNonce;
      if (step.kind !== 'retry_nonce') break;
    }
    if (!step || step.kind === 'retry_nonce') throw new FlowFailure('credential_request_failed', 'the issuer refused the key proofs twice (invalid_nonce)');
    const proofKeys = step.proofKeys;
    await ctx.progress('credential_requested');

    let issued: { credentials: unknown[]; notificationId?: string };
    if (step.kind === 'deferred') {
      const polled = await this.pollDeferred(ctx, { metadata, token, resourceDpop: withNonce(resourceDpop, resourceNonce), transactionId: step.transactionId, intervalMs: step.intervalMs });
      resourceNonce = polled.dpopNonce ?? resourceNonce;
      issued = polled;
    } else {
      issued = step;
    }
    // After the polls, so a notification starts with the resource server's latest nonce.
    const followUp: FollowUp = {
      accessToken: token.accessToken,
      dpop: withNonce(resourceDpop, resourceNonce),
      ...(issuerMetadata.notification_endpoint ? { notificationEndpoint: issuerMetadata.notification_endpoint } : {}),
    };
    await ctx.stage('follow_up', async () => followUp);
    const checked = await ctx.stage('checked', () =>
      this.checkAll(ctx, { view: input.view, configuration, configurationId, credentials: issued.credentials, proofKeys, notificationId: issued.notificationId }),
    );
    await ctx.progress('credential_verified', { count: checked.length });
    const refresh = token.refreshToken
      ? {
          credential_issuer: input.view.issuer,
          credential_configuration_id: configurationId,
          refresh_token: token.refreshToken,
          ...(resourceDpop ? { dpop_jkt: flowDpopKey(ctx)?.jkt } : {}),
        }
      : undefined;
    return { issuer: issuerSummary(input.view), credentials: checked, ...(refresh ? { refresh } : {}) };
  }

  private async requestCredential(
    ctx: FlowContext,
    stage: string,
    input: {
      metadata: IssuerMetadataResult;
      configurationId: string;
      token: TokenResult;
      cNonce: string | undefined;
      needsProof: boolean;
      proofAlgs: string[];
      batchSize: number;
      resourceDpop: DpopState | null;
      credentialEndpoint: string;
      clientId: string | undefined;
    },
  ): Promise<CredentialStep> {
    const { metadata, token } = input;
    // Key proofs and the first DPoP proof are asked for together: one round trip.
    const dpopKey = flowDpopKey(ctx);
    // Asked under the DPoP step's prefix, so the DPoP proof in it serves the library's first attempt.
    const signatures = await askSignatures(ctx, `${stage}:dpop:sign:0`, () => {
      const now = ctx.now();
      const items: SignItem[] = [];
      if (input.needsProof) {
        for (let i = 0; i < input.batchSize; i++) {
          items.push({
            id: `proof-${i + 1}`,
            purpose: 'proof',
            header: { typ: 'openid4vci-proof+jwt' },
            payload: {
              aud: metadata.credentialIssuer.credential_issuer,
              iat: Math.floor(now / 1000),
              ...(input.clientId !== undefined ? { iss: input.clientId } : {}),
              ...(input.cNonce !== undefined ? { nonce: input.cNonce } : {}),
            },
            algs: input.proofAlgs,
          });
        }
      }
      if (input.resourceDpop) {
        items.push(dpopItem('dpop', { htm: 'POST', url: input.credentialEndpoint, accessToken: token.accessToken }, input.resourceDpop, now, dpopKey?.jkt));
      }
      return items;
    });
    const proofs = signatures.filter((s) => s.id.startsWith('proof-'));
    const proofKeys = proofs.map((p) => p.jkt);
    const encryption = await responseEncryption(metadata);
    const dpopStep = {
      stage: `${stage}:dpop`,
      request: { htm: 'POST', url: input.credentialEndpoint, accessToken: token.accessToken },
      state: input.resourceDpop,
      refused: 'credential_request_failed',
    } as const;
    const { value, nonce } = await withClientDpop(ctx, dpopStep, async (dpopOptions, sign, observe): Promise<CredentialStep> => {
      try {
        const result = await vciClient(this.callbacks(ctx, sign, { observe, ...(encryption ? { filter: encryption.filter } : {}) })).retrieveCredentials({
          issuerMetadata: metadata,
          credentialConfigurationId: input.configurationId,
          accessToken: token.accessToken,
          ...(proofs.length > 0 ? { proofs: { jwt: proofs.map((p) => p.jws) } } : {}),
          ...(encryption ? { additionalRequestPayload: { credential_response_encryption: encryption.request } } : {}),
          ...(dpopOptions ? { dpop: dpopOptions } : {}),
        });
        const response = result.credentialResponse;
        if (response.transaction_id) {
          return { kind: 'deferred', transactionId: response.transaction_id, intervalMs: this.interval(response.interval), proofKeys };
        }
        const credentials = (response.credentials ?? (response.credential !== undefined ? [response.credential] : [])).map((c) =>
          c && typeof c === 'object' && 'credential' in (c as object) ? (c as { credential: unknown }).credential : c,
        );
        if (credentials.length === 0) throw new FlowFailure('credential_request_failed', 'the credential response holds no credential');
        return { kind: 'issued', credentials, ...(response.notification_id ? { notificationId: response.notification_id } : {}), proofKeys };
      } catch (error) {
        if (error instanceof Openid4vciRetrieveCredentialsError) {
          const code = credentialErrorCode(error);
          if (code === 'invalid_nonce' || code === 'invalid_proof') {
            const body = credentialErrorBody(error);
            const fresh = typeof body?.['c_nonce'] === 'string' ? body['c_nonce'] : undefined;
            return { kind: 'retry_nonce', ...(fresh ? { cNonce: fresh } : {}) };
          }
          throw new FlowFailure('credential_request_failed', `the credential endpoint refused the request${code ? ` (${code.slice(0, 64)})` : ''}`, { cause: error });
        }
        throw error;
      }
    });
    return noted({ value, nonce });
  }

  private interval(seconds: number | undefined): number {
    const { min, max } = this.deps.deferredIntervalMs;
    return Math.min(max, Math.max(min, (seconds ?? 5) * 1000));
  }

  private async pollDeferred(
    ctx: FlowContext,
    input: { metadata: IssuerMetadataResult; token: TokenResult; resourceDpop: DpopState | null; transactionId: string; intervalMs: number },
  ): Promise<{ credentials: unknown[]; notificationId?: string } & DpopNonceNote> {
    const endpoint = input.metadata.credentialIssuer.deferred_credential_endpoint;
    if (!endpoint) throw new FlowFailure('deferred_failed', 'the issuer deferred issuance but publishes no deferred_credential_endpoint');
    // Each wait announces what led to it (the deferral, then the poll that found the credential pending),
    // and only once the record says deferred: a client that drops its socket on that frame and resumes at
    // once, on any replica, is told the flow is deferred. The journal names are those the frames always had.
    let announce: WaitAnnouncement = { stage: 'deferred', step: 'deferred', detail: { interval_seconds: Math.round(input.intervalMs / 1000) } };
    let intervalMs = input.intervalMs;
    // Each poll starts with the nonce the one before it was handed.
    let nonce = input.resourceDpop?.nonce;
    for (let poll = 1; poll <= this.deps.maxDeferredPolls; poll++) {
      const due = await ctx.stage(`deferred:${poll}:due`, async () => ctx.now() + intervalMs);
      await ctx.waitUntil(`wait:${poll}`, due, announce);
      const pollStep = {
        stage: `deferred:${poll}`,
        request: { htm: 'POST', url: endpoint, accessToken: input.token.accessToken },
        state: withNonce(input.resourceDpop, nonce),
        refused: 'deferred_failed',
      } as const;
      const outcome: DeferredPoll = await ctx.stage(`deferred:${poll}`, async () =>
        noted(
          await withClientDpop(ctx, pollStep, async (dpopOptions, sign, observe): Promise<DeferredPoll> => {
            try {
              const result = await vciClient(this.callbacks(ctx, sign, { observe })).retrieveDeferredCredentials({
                issuerMetadata: input.metadata,
                accessToken: input.token.accessToken,
                transactionId: input.transactionId,
                ...(dpopOptions ? { dpop: dpopOptions } : {}),
              });
              const response = result.deferredCredentialResponse as { credentials?: unknown[]; transaction_id?: string; interval?: number; notification_id?: string };
              if (!response.credentials?.length) return { pending: true, interval: response.interval };
              const credentials = response.credentials.map((c) => (c && typeof c === 'object' && 'credential' in (c as object) ? (c as { credential: unknown }).credential : c));
              return { pending: false, credentials, ...(response.notification_id ? { notificationId: response.notification_id } : {}) };
            } catch (error) {
              if (error instanceof Openid4vciRetrieveCredentialsError && credentialErrorCode(error) === 'issuance_pending') {
                const body = credentialErrorBody(error);
                const interval = typeof body?.['interval'] === 'number' ? body['interval'] : undefined;
                return { pending: true, interval };
              }
              if (error instanceof Openid4vciRetrieveCredentialsError) {
                throw new FlowFailure('deferred_failed', `the deferred credential endpoint refused (${credentialErrorCode(error)?.slice(0, 64) ?? 'error'})`, { cause: error });
              }
              throw error;
            }
          }),
        ),
      );
      nonce = outcome.dpopNonce ?? nonce;
      const polled: WaitAnnouncement = { stage: `deferred:${poll}:progress`, step: 'deferred_polled', detail: { poll, pending: outcome.pending } };
      if (!outcome.pending && 'credentials' in outcome && outcome.credentials) {
        await announceNow(ctx, polled);
        return { credentials: outcome.credentials, ...(outcome.notificationId ? { notificationId: outcome.notificationId } : {}), ...(nonce !== undefined ? { dpopNonce: nonce } : {}) };
      }
      if (outcome.pending && typeof outcome.interval === 'number') intervalMs = this.interval(outcome.interval);
      announce = polled;
    }
    // The last poll found it pending too: nothing more to wait for.
    await announceNow(ctx, announce);
    throw new FlowFailure('deferred_failed', `the issuer had not issued after ${this.deps.maxDeferredPolls} polls`);
  }

  private async checkAll(
    ctx: FlowContext,
    input: {
      view: IssuerMetadataView;
      configuration: Record<string, unknown>;
      configurationId: string;
      credentials: unknown[];
      proofKeys: string[];
      notificationId: string | undefined;
    },
  ): Promise<IssuedCredential[]> {
    const format = String(input.configuration['format']);
    if (input.proofKeys.length > 0 && input.credentials.length > input.proofKeys.length) {
      throw new FlowFailure('invalid_credential', 'the issuer sent more credentials than keys were proved');
    }
    const used = new Set<string>();
    const out: IssuedCredential[] = [];
    const display = offeredCredential({ [input.configurationId]: input.configuration }, input.configurationId)?.display ?? [];
    for (const credential of input.credentials) {
      const checked = await checkIssuedCredential(format, credential, {
        credentialIssuer: input.view.issuer,
        configuration: input.configuration,
        proofKeys: input.proofKeys,
        resolveIssuerKey: this.deps.resolveIssuerKey,
        fetchStatusList: this.deps.fetchStatusList,
        now: () => ctx.now(),
        clockSkewSeconds: this.deps.clockSkewSeconds,
      });
      if (checked.boundTo !== null) {
        if (used.has(checked.boundTo)) throw new FlowFailure('invalid_credential', 'two credentials are bound to the same key');
        used.add(checked.boundTo);
      }
      const typeMetadata = checked.vct ? await this.deps.registry.typeMetadata(checked.vct).catch(() => null) : null;
      out.push({
        credential_configuration_id: input.configurationId,
        format,
        credential: credential as IssuedCredential['credential'],
        ...(checked.vct ? { vct: checked.vct } : {}),
        ...(typeof input.configuration['doctype'] === 'string' ? { doctype: input.configuration['doctype'] } : {}),
        ...(input.notificationId ? { notification_id: input.notificationId } : {}),
        display,
        type_metadata: typeMetadata,
        checks: checked.checks,
      });
    }
    return out;
  }

  /** Forwards a notification (`credential_accepted`, `credential_failure`, `credential_deleted`) to the issuer. */
  async action(ctx: FlowContext, action: FlowAction): Promise<ServerMessage> {
    const params = action.params as { notification_id: string; event: 'credential_accepted' | 'credential_failure' | 'credential_deleted'; event_description?: string };
    const base = {
      type: 'notification_result' as const,
      flow_id: ctx.flowId,
      notification_id: params.notification_id,
      ...(action.messageId ? { message_id: action.messageId } : {}),
    };
    const followUp = ctx.journal<FollowUp>('follow_up');
    const view = ctx.journal<IssuerMetadataView>('issuer');
    if (!followUp?.notificationEndpoint || !view) return { ...base, status: 'not_supported', message: 'the issuer has no notification endpoint' };
    const endpoint = followUp.notificationEndpoint;
    const sent = await ctx.stage('notify', async () => {
      const metadata = await issuerMetadataResult(view);
      try {
        const notifyStep = {
          stage: 'notify',
          request: { htm: 'POST', url: endpoint, accessToken: followUp.accessToken },
          state: followUp.dpop,
          refused: 'credential_request_failed',
        } as const;
        await withClientDpop(ctx, notifyStep, (dpopOptions, sign, observe) =>
          vciClient(this.callbacks(ctx, sign, { observe })).sendNotification({
            issuerMetadata: metadata,
            accessToken: followUp.accessToken,
            notification: {
              notificationId: params.notification_id,
              event: params.event,
              ...(params.event_description ? { eventDescription: params.event_description } : {}),
            },
            ...(dpopOptions ? { dpop: dpopOptions } : {}),
          }),
        );
        return { ok: true };
      } catch (error) {
        // A notification the issuer kept challenging failed; the flow's result stands.
        if (error instanceof DpopRefused) return { ok: false };
        if (isRunControl(error) || error instanceof FlowFailure) throw error;
        return { ok: false };
      }
    });
    return sent.ok ? { ...base, status: 'sent' } : { ...base, status: 'failed', message: 'the issuer refused the notification' };
  }
}

/** Sends a progress frame a wait would have announced, once (journalled under the same name). */
async function announceNow(ctx: FlowContext, announcement: WaitAnnouncement): Promise<void> {
  await ctx.progress(announcement.step, announcement.detail, announcement.stage);
}

const noSigning: LibraryCallbacks['sign'] = () => Promise.reject(new Error('this step signs nothing'));

function dpopState(authorizationServer: AuthorizationServerMetadata): DpopState | null {
  const algs = authorizationServer.dpop_signing_alg_values_supported;
  return Array.isArray(algs) && algs.length > 0 ? { algs } : null;
}

/** DPoP towards a server, starting with the nonce it last handed out (when one is known). */
function withNonce(state: DpopState | null, nonce: string | undefined): DpopState | null {
  return state && nonce !== undefined ? { ...state, nonce } : state;
}

/** A step's result with the DPoP nonce its server handed out last, for the journal. */
function noted<T extends object>({ value, nonce }: { value: T; nonce: string | undefined }): T & DpopNonceNote {
  return nonce === undefined ? value : { ...value, dpopNonce: nonce };
}

/** The token request as a DPoP step. */
function tokenStep(authorizationServer: AuthorizationServerMetadata, state: DpopState | null) {
  return { stage: 'token', request: { htm: 'POST', url: authorizationServer.token_endpoint }, state, refused: 'token_failed' } as const;
}

function tokenResult(
  response: { access_token: string; token_type: string; refresh_token?: string | undefined; c_nonce?: string | undefined },
  authorizationServer: string,
): TokenResult {
  return {
    accessToken: response.access_token,
    tokenType: response.token_type,
    authorizationServer,
    ...(response.refresh_token ? { refreshToken: response.refresh_token } : {}),
    ...(response.c_nonce ? { cNonce: response.c_nonce } : {}),
  };
}

function tokenFailure(error: unknown): unknown {
  if (error instanceof Oauth2ClientErrorResponseError) {
    return new FlowFailure('token_failed', `the token endpoint refused the grant: ${oauthMessage(error)}`, { cause: error });
  }
  return error;
}

function offerFailure(error: unknown): unknown {
  if (error instanceof FlowFailure) return error;
  if ((error as { name?: string })?.name === 'OutboundFailure' || (error as { cause?: { name?: string } })?.cause?.name === 'OutboundFailure') return error;
  return new FlowFailure('invalid_offer', `the credential offer is not valid: ${describeError(error).replace(/^\w+: /, '')}`, { cause: error });
}

/** Credential response encryption (ECDH-ES to a key made for this request) when the issuer supports it. */
async function responseEncryption(metadata: IssuerMetadataResult): Promise<{ request: Record<string, unknown>; filter: ResponseFilter } | null> {
  const supported = (metadata.credentialIssuer as Record<string, unknown>)['credential_response_encryption'] as
    | { alg_values_supported?: string[]; enc_values_supported?: string[] }
    | undefined;
  if (!supported) return null;
  if (!supported.alg_values_supported?.includes('ECDH-ES')) return null;
  const enc = ['A256GCM', 'A128GCM'].find((e) => supported.enc_values_supported?.includes(e));
  if (!enc) return null;
  const { publicKey, privateKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), alg: 'ECDH-ES', use: 'enc' };
  const filter: ResponseFilter = async (_url, response) => {
    const type = (response.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (response.status < 200 || response.status >= 300 || type !== 'application/jwt') return response;
    const plaintext = await decrypt(Buffer.from(response.body).toString('utf8'), privateKey);
    return { status: response.status, headers: { ...response.headers, 'content-type': 'application/json' }, body: plaintext };
  };
  return { request: { jwk, alg: 'ECDH-ES', enc }, filter };
}

async function decrypt(jwe: string, key: KeyLike): Promise<Uint8Array> {
  try {
    return (await compactDecrypt(jwe, key)).plaintext;
  } catch (error) {
    throw new FlowFailure('credential_request_failed', 'the encrypted credential response could not be decrypted', { cause: error });
  }
}
