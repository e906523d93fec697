import { applyDecorators, Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import { RefusalError } from '@wallet/domain';
import { ApiProblem, CurrentPrincipal, RateLimit, type Principal } from '@wallet/platform';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AccountService, viewPasskey, type PasskeyView } from './account.service';
import { AccountInfoDto, CreationChallengeDto, DeletedAccountDto, PasskeyAddedDto, PasskeyListDto, PrivateDataBodyDto } from './auth-responses.dto';
import { ifMatchOf, ifNoneMatchOf, requestIdOf, setEtagHeaders, withCurrentEtagOnConflict } from './auth-http';
import { PasskeyCeremonyService } from './passkey-ceremony.service';
import { decodePrivateData } from './private-data';
import { AddPasskeyFinishDto, PasskeyPathDto, PrivateDataWriteDto, RemovePasskeyDto, RenamePasskeyDto } from './session.dto';
import { tagged, type TaggedBinary } from './tagged-binary';

/** Bodies carry credentials, tokens or the keystore: never logged, even with `logging.logBodies`. */
const SENSITIVE = { sensitive: true };

const ceremonyLimit = {
  bucket: 'auth-ceremony-session',
  rule: (config: WalletConfig) => config.auth.rateLimits.ceremony,
  by: 'principal' as const,
};

const CREDENTIAL_ID = /^[A-Za-z0-9_-]{1,1024}$/;

/** An id of another shape names no passkey: 404, as an unknown one. */
function credentialId(id: string): string {
  if (!CREDENTIAL_ID.test(id)) throw new RefusalError('not_found', 'passkey_not_found', 'no such passkey on this account');
  return id;
}

const optionalBlob = (value: unknown) => (value === undefined || value === null ? null : decodePrivateData(value));

export interface AccountInfo {
  uuid: string;
  tenant: string;
  displayName: string;
  username: string;
  hasPassword: false;
  webauthnUserHandle: string;
  privateDataEtag: string | null;
  webauthnCredentials: PasskeyView[];
}

/** A keystore write: documents the compare-and-set headers and the 412. */
const KeystoreWrite = () =>
  applyDecorators(
    ApiHeader({ name: 'If-Match', required: false, description: 'The keystore ETag the write is based on. Required once a blob is stored (else 412 `precondition_required`).' }),
    ApiHeader({ name: 'X-Private-Data-If-Match', required: false, description: 'The same as `If-Match` (what the reference clients send); wins when both are present.' }),
    ApiProblem(
      412,
      'The keystore changed since the tag sent (`etag_mismatch`; `currentEtag` and the ETag headers carry the current one), or no tag was sent while a blob is stored (`precondition_required`)',
      'etag_mismatch',
    ),
  );

/** The logged-in user's account, keystore and passkeys, under `/user/session` (access token required). */
@ApiTags('account')
@ApiBearerAuth('accessToken')
@Controller('user/session')
export class SessionController {
  constructor(
    @Inject(AccountService) private readonly accounts: AccountService,
    @Inject(PasskeyCeremonyService) private readonly ceremonies: PasskeyCeremonyService,
  ) {}

  @Get('account-info')
  @ApiOperation({ summary: 'The account and its passkeys' })
  @ApiOkResponse({ type: AccountInfoDto })
  async accountInfo(@CurrentPrincipal() principal: Principal): Promise<AccountInfo> {
    const user = await this.accounts.requireUser(principal.tenantId, principal.userId);
    const passkeys = await this.accounts.listPasskeys(principal.tenantId, principal.userId);
    return {
      uuid: user.id,
      tenant: principal.tenantId,
      displayName: user.displayName,
      username: user.displayName,
      hasPassword: false,
      webauthnUserHandle: user.handle,
      privateDataEtag: user.privateDataEtag,
      webauthnCredentials: passkeys.map(viewPasskey),
    };
  }

  @Get('private-data')
  @ApiOperation({ summary: 'The keystore blob, with its ETag in `ETag` and `X-Private-Data-ETag`', description: 'Never cached (`Cache-Control: no-store`).' })
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'A keystore ETag: 304 when it is still current.' })
  @ApiHeader({ name: 'X-Private-Data-If-None-Match', required: false, description: 'The same as `If-None-Match`; wins when both are present.' })
  @ApiOkResponse({ type: PrivateDataBodyDto })
  @ApiResponse({ status: 304, description: 'Not modified: the ETag sent is current' })
  async getPrivateData(
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ privateData: TaggedBinary | null } | undefined> {
    const user = await this.accounts.requireUser(principal.tenantId, principal.userId);
    setEtagHeaders(reply, user.privateDataEtag);
    void reply.header('cache-control', 'no-store');
    const ifNoneMatch = ifNoneMatchOf(request);
    if (ifNoneMatch && user.privateDataEtag !== null && (ifNoneMatch.includes(user.privateDataEtag) || ifNoneMatch.includes('*'))) {
      void reply.status(304);
      return undefined;
    }
    return { privateData: user.privateData === null ? null : tagged(user.privateData) };
  }

  @Post('private-data')
  @ApiOperation({
    summary: 'Replace the keystore blob if the tag sent is current (compare-and-set across replicas)',
    description: 'Writing the same bytes again succeeds. The new ETag is in `ETag` and `X-Private-Data-ETag`. The body is never logged.',
  })
  @ApiBody({ type: PrivateDataWriteDto })
  @ApiNoContentResponse({ description: 'Stored' })
  @KeystoreWrite()
  @RouteConfig(SENSITIVE)
  @HttpCode(204)
  async putPrivateData(
    @CurrentPrincipal() principal: Principal,
    @Body() body: PrivateDataWriteDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    // Reference clients send the blob itself ({"$b64u": ...}); {"privateData": ...} is accepted too.
    const bytes = body.$b64u !== undefined ? decodePrivateData({ $b64u: body.$b64u }, '/$b64u') : decodePrivateData(body.privateData);
    const user = await withCurrentEtagOnConflict(reply, () =>
      this.accounts.updatePrivateData(principal.tenantId, principal.userId, { bytes, ifMatch: ifMatchOf(request) }, requestIdOf(request)),
    );
    setEtagHeaders(reply, user.privateDataEtag);
  }

  @Get('webauthn/credentials')
  @ApiOperation({ summary: "The account's passkeys" })
  @ApiOkResponse({ type: PasskeyListDto })
  async listPasskeys(@CurrentPrincipal() principal: Principal): Promise<{ webauthnCredentials: PasskeyView[] }> {
    return { webauthnCredentials: (await this.accounts.listPasskeys(principal.tenantId, principal.userId)).map(viewPasskey) };
  }

  @Post('webauthn/register-begin')
  @ApiOperation({ summary: 'Start adding a passkey to the account', description: 'The body is not read (send `{}`). The options exclude the passkeys the account has.' })
  @ApiOkResponse({ type: CreationChallengeDto })
  @HttpCode(200)
  @RateLimit(ceremonyLimit)
  async addBegin(@CurrentPrincipal() principal: Principal) {
    const user = await this.accounts.requireUser(principal.tenantId, principal.userId);
    const existing = await this.accounts.listPasskeys(principal.tenantId, principal.userId);
    const options = await this.ceremonies.registrationOptions(principal.tenantId, 'add-passkey', {
      id: user.id,
      handle: user.handle,
      displayName: user.displayName,
      exclude: existing.map((p) => p.id),
    });
    return { ...options, username: user.displayName };
  }

  @Post('webauthn/register-finish')
  @ApiOperation({
    summary: 'Finish adding a passkey; the keystore re-wrapped for it is written in the same atomic step',
    description: 'The body is never logged.',
  })
  @ApiOkResponse({ type: PasskeyAddedDto })
  @ApiProblem(400, 'Malformed body (`validation_failed`), unknown, expired or used challenge (`challenge_invalid`) or a refused attestation (`webauthn_invalid`)', 'webauthn_invalid')
  @ApiProblem(409, 'This passkey is already registered (`passkey_exists`)', 'passkey_exists')
  @KeystoreWrite()
  @RouteConfig(SENSITIVE)
  @HttpCode(200)
  @RateLimit(ceremonyLimit)
  async addFinish(
    @CurrentPrincipal() principal: Principal,
    @Body() input: AddPasskeyFinishDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ credentialId: string; passkey: PasskeyView }> {
    const { user, passkey } = await withCurrentEtagOnConflict(reply, () =>
      this.ceremonies.addPasskey(
        principal.tenantId,
        principal.userId,
        {
          challengeId: input.challengeId,
          credential: input.credential,
          nickname: input.nickname ?? '',
          write: { bytes: optionalBlob(input.privateData), ifMatch: ifMatchOf(request) },
        },
        requestIdOf(request),
      ),
    );
    setEtagHeaders(reply, user.privateDataEtag);
    return { credentialId: passkey.id, passkey: viewPasskey(passkey) };
  }

  @Post('webauthn/credential/:id/rename')
  @ApiOperation({ summary: 'Rename a passkey (no nickname: remove its name)' })
  @ApiBody({ type: RenamePasskeyDto, required: false })
  @ApiNoContentResponse({ description: 'Renamed' })
  @ApiProblem(404, 'No such passkey on this account (`passkey_not_found`)', 'passkey_not_found')
  @HttpCode(204)
  async rename(
    @CurrentPrincipal() principal: Principal,
    @Param() path: PasskeyPathDto,
    @Body() body: RenamePasskeyDto,
    @Req() request: FastifyRequest,
  ): Promise<void> {
    await this.accounts.renamePasskey(principal.tenantId, principal.userId, credentialId(path.id), body.nickname ?? '', requestIdOf(request));
  }

  @Post('webauthn/credential/:id/delete')
  @ApiOperation({
    summary: 'Remove a passkey, with the keystore re-wrapped without it in the same atomic step',
    description: 'The last passkey of an account cannot be removed. The body is never logged.',
  })
  @ApiBody({ type: RemovePasskeyDto, required: false })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiProblem(404, 'No such passkey on this account (`passkey_not_found`)', 'passkey_not_found')
  @ApiProblem(409, 'The last passkey of an account cannot be removed (`last_passkey`)', 'last_passkey')
  @KeystoreWrite()
  @RouteConfig(SENSITIVE)
  @HttpCode(204)
  async remove(
    @CurrentPrincipal() principal: Principal,
    @Param() path: PasskeyPathDto,
    @Body() body: RemovePasskeyDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const user = await withCurrentEtagOnConflict(reply, () =>
      this.accounts.removePasskey(
        principal.tenantId,
        principal.userId,
        credentialId(path.id),
        { bytes: optionalBlob(body.privateData), ifMatch: ifMatchOf(request) },
        requestIdOf(request),
      ),
    );
    setEtagHeaders(reply, user.privateDataEtag);
  }

  @Delete()
  @ApiOperation({ summary: 'Delete the account and everything the user has in every collection (vault included); revoke every token' })
  @ApiOkResponse({ type: DeletedAccountDto })
  async deleteAccount(@CurrentPrincipal() principal: Principal, @Req() request: FastifyRequest): Promise<{ result: 'DELETED' }> {
    await this.accounts.deleteAccount(principal.tenantId, principal.userId, requestIdOf(request));
    return { result: 'DELETED' };
  }
}
