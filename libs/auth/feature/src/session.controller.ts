import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import { RefusalError } from '@wallet/domain';
import { CurrentPrincipal, RateLimit, type Principal } from '@wallet/platform';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AccountService, viewPasskey, type PasskeyView } from './account.service';
import { ifMatchOf, ifNoneMatchOf, parseBody, requestIdOf, setEtagHeaders, withCurrentEtagOnConflict } from './auth-http';
import { PasskeyCeremonyService } from './passkey-ceremony.service';
import { decodePrivateData } from './private-data';
import { isTaggedBinary, tagged, type TaggedBinary } from './tagged-binary';

/** Bodies carry credentials, tokens or the keystore: never logged, even with `logging.logBodies`. */
const SENSITIVE = { sensitive: true };

const ceremonyLimit = {
  bucket: 'auth-ceremony-session',
  rule: (config: WalletConfig) => config.auth.rateLimits.ceremony,
  by: 'principal' as const,
};

const CREDENTIAL_ID = /^[A-Za-z0-9_-]{1,1024}$/;
const zAddFinish = z.object({
  challengeId: z.string().max(128),
  credential: z.unknown(),
  nickname: z.string().max(200).nullish().transform((v) => v ?? ''),
  privateData: z.unknown().optional(),
});
const zRename = z.object({ nickname: z.string().max(200).nullish().transform((v) => v ?? '') });
const zRemove = z.object({ privateData: z.unknown().optional() }).loose();

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

/** The logged-in user's account, keystore and passkeys, under `/user/session` (access token required). */
@Controller('user/session')
export class SessionController {
  constructor(
    @Inject(AccountService) private readonly accounts: AccountService,
    @Inject(PasskeyCeremonyService) private readonly ceremonies: PasskeyCeremonyService,
  ) {}

  @Get('account-info')
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
  @RouteConfig(SENSITIVE)
  @HttpCode(204)
  async putPrivateData(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    // Reference clients send the blob itself ({"$b64u": ...}); {"privateData": ...} is accepted too.
    const value = isTaggedBinary(body) || typeof body === 'string' ? body : (body as { privateData?: unknown } | null)?.privateData;
    const bytes = decodePrivateData(value, isTaggedBinary(body) ? '/' : '/privateData');
    const user = await withCurrentEtagOnConflict(reply, () =>
      this.accounts.updatePrivateData(principal.tenantId, principal.userId, { bytes, ifMatch: ifMatchOf(request) }, requestIdOf(request)),
    );
    setEtagHeaders(reply, user.privateDataEtag);
  }

  @Get('webauthn/credentials')
  async listPasskeys(@CurrentPrincipal() principal: Principal): Promise<{ webauthnCredentials: PasskeyView[] }> {
    return { webauthnCredentials: (await this.accounts.listPasskeys(principal.tenantId, principal.userId)).map(viewPasskey) };
  }

  @Post('webauthn/register-begin')
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
  @RouteConfig(SENSITIVE)
  @HttpCode(200)
  @RateLimit(ceremonyLimit)
  async addFinish(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ credentialId: string; passkey: PasskeyView }> {
    const input = parseBody(zAddFinish, body);
    const { user, passkey } = await withCurrentEtagOnConflict(reply, () =>
      this.ceremonies.addPasskey(
        principal.tenantId,
        principal.userId,
        { ...input, write: { bytes: optionalBlob(input.privateData), ifMatch: ifMatchOf(request) } },
        requestIdOf(request),
      ),
    );
    setEtagHeaders(reply, user.privateDataEtag);
    return { credentialId: passkey.id, passkey: viewPasskey(passkey) };
  }

  @Post('webauthn/credential/:id/rename')
  @HttpCode(204)
  async rename(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ): Promise<void> {
    const { nickname } = parseBody(zRename, body);
    await this.accounts.renamePasskey(principal.tenantId, principal.userId, credentialId(id), nickname, requestIdOf(request));
  }

  @Post('webauthn/credential/:id/delete')
  @RouteConfig(SENSITIVE)
  @HttpCode(204)
  async remove(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const { privateData } = parseBody(zRemove, body);
    const user = await withCurrentEtagOnConflict(reply, () =>
      this.accounts.removePasskey(
        principal.tenantId,
        principal.userId,
        credentialId(id),
        { bytes: optionalBlob(privateData), ifMatch: ifMatchOf(request) },
        requestIdOf(request),
      ),
    );
    setEtagHeaders(reply, user.privateDataEtag);
  }

  @Delete()
  async deleteAccount(@CurrentPrincipal() principal: Principal, @Req() request: FastifyRequest): Promise<{ result: 'DELETED' }> {
    await this.accounts.deleteAccount(principal.tenantId, principal.userId, requestIdOf(request));
    return { result: 'DELETED' };
  }
}
