import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyRegistrationResponse,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { WalletConfig } from '@wallet/config';
import { RefusalError, UniqueViolationError, VersionConflictError, type Passkey, type User } from '@wallet/domain';
import type { Stored } from '@wallet/persistence';
import type { AuditLog, TenantDirectory } from '@wallet/platform';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AccountService, PrivateDataWrite } from './account.service';
import type { ChallengeStore } from './challenge-store';
import type { InviteService } from './invite.service';
import { verifyPasskeyAssertion } from './passkey-assertion';
import { privateDataEtag } from './private-data';
import { parsePasskeyResponse, zAuthenticationResponse, zRegistrationResponse, type RegistrationResponse } from './parse-passkey-response';
import type { IssuedTokens, TokenService } from './token.service';

/** COSE algorithm ids: ES256, EdDSA, RS256. */
export const PASSKEY_ALGORITHMS = [-7, -8, -257];

export interface SessionResult {
  user: Stored<User>;
  tokens: IssuedTokens;
}

export interface CeremonyDeps {
  config: WalletConfig;
  challenges: ChallengeStore;
  accounts: AccountService;
  tokens: TokenService;
  invites: InviteService;
  tenants: TenantDirectory;
  audit: AuditLog;
  now?: () => Date;
}

/** simplewebauthn's messages name what failed (origin, RP id, signature, counter), never secrets. */
function ceremonyFailed(error: unknown): RefusalError {
  const message = error instanceof Error ? error.message : 'verification failed';
  if (/counter value/i.test(message)) {
    return new RefusalError('validation_failed', 'counter_regression', 'the authenticator signature counter went backwards (a cloned authenticator?)', { cause: error });
  }
  return new RefusalError('validation_failed', 'webauthn_invalid', `the WebAuthn response was refused: ${message.slice(0, 200)}`, { cause: error });
}

/**
 * WebAuthn ceremonies with @simplewebauthn/server (options and registration;
 * logins are checked by `verifyPasskeyAssertion`): discoverable credentials,
 * user verification required, ES256/EdDSA/RS256, `credProps` and `prf`
 * passed through, and single-use challenges from the shared cache.
 */
export class PasskeyCeremonyService {
  private readonly now: () => Date;

  constructor(private readonly deps: CeremonyDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  private get auth() {
    return this.deps.config.auth;
  }

  async registrationOptions(
    tenantId: string,
    kind: 'register' | 'add-passkey',
    user?: { id: string; handle: string; displayName: string; exclude: string[] },
  ): Promise<{ challengeId: string; createOptions: { publicKey: PublicKeyCredentialCreationOptionsJSON } }> {
    const handle = user?.handle ?? randomBytes(32).toString('base64url');
    const { challengeId, challenge } = await this.deps.challenges.create(tenantId, {
      kind,
      userHandle: handle,
      ...(user ? { userId: user.id } : {}),
    });
    const publicKey = await generateRegistrationOptions({
      rpName: this.auth.rpName,
      rpID: this.auth.rpId,
      userName: user?.displayName || 'wallet user',
      userDisplayName: user?.displayName ?? '',
      userID: Buffer.from(handle, 'base64url'),
      challenge: Buffer.from(challenge, 'base64url'),
      timeout: this.auth.challengeTtlMs,
      attestationType: 'none',
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      excludeCredentials: (user?.exclude ?? []).map((id) => ({ id })),
      extensions: { credProps: true, prf: {} } as never,
      supportedAlgorithmIDs: PASSKEY_ALGORITHMS,
    });
    return { challengeId, createOptions: { publicKey } };
  }

  async authenticationOptions(tenantId: string): Promise<{ challengeId: string; getOptions: { publicKey: PublicKeyCredentialRequestOptionsJSON } }> {
    const { challengeId, challenge } = await this.deps.challenges.create(tenantId, { kind: 'login' });
    const publicKey = await generateAuthenticationOptions({
      rpID: this.auth.rpId,
      challenge: Buffer.from(challenge, 'base64url'),
      timeout: this.auth.challengeTtlMs,
      userVerification: 'required',
    });
    return { challengeId, getOptions: { publicKey } };
  }

  /** Creates an account from a verified registration; consumes an invite when the tenant requires one. */
  async register(
    tenantId: string,
    input: { challengeId: unknown; credential: unknown; displayName: string; nickname: string; privateData: Buffer | null; inviteCode: unknown },
    requestId: string | null,
  ): Promise<SessionResult> {
    const tenant = await this.deps.tenants.requireEnabled(tenantId);
    if (tenant.requireInvite) await this.deps.invites.check(tenantId, input.inviteCode);
    const challenge = await this.deps.challenges.take(tenantId, input.challengeId, 'register');
    const handle = challenge.userHandle;
    if (!handle) throw new RefusalError('validation_failed', 'challenge_invalid', 'the challenge is unknown, expired or already used');
    const credential = parsePasskeyResponse(zRegistrationResponse, input.credential);
    const passkey = await this.verifyRegistration(challenge.challenge, credential);
    if (await this.deps.accounts.passkeys.get(tenantId, passkey.id)) {
      throw new RefusalError('already_exists', 'passkey_exists', 'this passkey is already registered');
    }
    const invite = tenant.requireInvite ? await this.deps.invites.consume(tenantId, input.inviteCode) : null;
    const userId = randomUUID();
    const user = await this.deps.accounts.users.create(tenantId, {
      id: userId,
      handle,
      displayName: input.displayName,
      status: 'active',
      privateData: input.privateData ? input.privateData.toString('base64url') : null,
      privateDataEtag: input.privateData ? privateDataEtag(input.privateData) : null,
    });
    try {
      await this.deps.accounts.passkeys.create(tenantId, { ...passkey, userId, name: input.nickname });
    } catch (error) {
      await this.deps.accounts.users.delete(tenantId, userId).catch(() => undefined);
      if (error instanceof UniqueViolationError) throw new RefusalError('already_exists', 'passkey_exists', 'this passkey is already registered');
      throw error;
    }
    await this.deps.audit.record(tenantId, {
      actorType: 'user',
      actorId: userId,
      action: 'user.register',
      resourceType: 'user',
      resourceId: userId,
      after: { displayName: input.displayName, passkeyId: passkey.id, prfCapable: passkey.prfCapable, inviteId: invite?.id ?? null },
      requestId,
    });
    return { user, tokens: await this.deps.tokens.startSession(tenantId, userId) };
  }

  /** Verifies an assertion with a discoverable credential; refuses counter regressions. */
  async login(tenantId: string, input: { challengeId: unknown; credential: unknown }): Promise<SessionResult> {
    const challenge = await this.deps.challenges.take(tenantId, input.challengeId, 'login');
    const credential = parsePasskeyResponse(zAuthenticationResponse, input.credential);
    // Made only when refusing: an Error records a stack trace, which costs on every login.
    const unknown = () => new RefusalError('unauthorized', 'passkey_unknown', 'this passkey is not registered with this tenant');
    const passkey = await this.deps.accounts.passkeys.get(tenantId, credential.id);
    if (!passkey) throw unknown();
    const user = await this.deps.accounts.users.get(tenantId, passkey.userId);
    if (!user) throw unknown();
    if (credential.response.userHandle && credential.response.userHandle !== user.handle) throw unknown();
    if (user.status !== 'active') throw new RefusalError('forbidden', 'account_suspended', 'this account is suspended');
    let newCounter: number;
    try {
      const verification = await verifyPasskeyAssertion(credential, {
        challenge: challenge.challenge,
        origins: this.auth.origins,
        rpId: this.auth.rpId,
        credential: { publicKey: passkey.publicKey, counter: passkey.counter },
      });
      newCounter = verification.newCounter;
    } catch (error) {
      throw ceremonyFailed(error);
    }
    await this.recordUse(tenantId, passkey, newCounter);
    // The status read above is from before the ceremony: startSession reads the user and the tenant again
    // once the new session is stored, so a suspension that lands meanwhile leaves no token (403 account_suspended).
    return { user, tokens: await this.deps.tokens.startSession(tenantId, user.id) };
  }

  /** Adds a passkey to a logged-in account, with the re-wrapped keystore in the same atomic step. */
  async addPasskey(
    tenantId: string,
    userId: string,
    input: { challengeId: unknown; credential: unknown; nickname: string; write: PrivateDataWrite },
    requestId: string | null,
  ): Promise<{ user: Stored<User>; passkey: Stored<Passkey> }> {
    const challenge = await this.deps.challenges.take(tenantId, input.challengeId, 'add-passkey');
    if (challenge.userId !== userId) throw new RefusalError('validation_failed', 'challenge_invalid', 'the challenge is unknown, expired or already used');
    const credential = parsePasskeyResponse(zRegistrationResponse, input.credential);
    const passkey = await this.verifyRegistration(challenge.challenge, credential);
    if (await this.deps.accounts.passkeys.get(tenantId, passkey.id)) {
      throw new RefusalError('already_exists', 'passkey_exists', 'this passkey is already registered');
    }
    const user = await this.deps.accounts.writePrivateData(tenantId, userId, input.write, { requireWrite: true });
    let stored: Stored<Passkey>;
    try {
      stored = await this.deps.accounts.passkeys.create(tenantId, { ...passkey, userId, name: input.nickname });
    } catch (error) {
      if (error instanceof UniqueViolationError) throw new RefusalError('already_exists', 'passkey_exists', 'this passkey is already registered');
      throw error;
    }
    await this.deps.audit.record(tenantId, {
      actorType: 'user',
      actorId: userId,
      action: 'passkey.add',
      resourceType: 'passkey',
      resourceId: passkey.id,
      after: { name: input.nickname, prfCapable: passkey.prfCapable },
      requestId,
    });
    return { user, passkey: stored };
  }

  private async verifyRegistration(
    expectedChallenge: string,
    credential: RegistrationResponse,
  ): Promise<Omit<Passkey, 'userId' | 'name'>> {
    try {
      const verification = await verifyRegistrationResponse({
        response: credential as unknown as RegistrationResponseJSON,
        expectedChallenge,
        expectedOrigin: [...this.auth.origins],
        expectedRPID: this.auth.rpId,
        requireUserVerification: true,
        supportedAlgorithmIDs: PASSKEY_ALGORITHMS,
      });
      if (!verification.verified) throw new Error('the attestation did not verify');
      const info = verification.registrationInfo;
      const prf = (credential.clientExtensionResults as { prf?: { enabled?: unknown } }).prf;
      return {
        id: info.credential.id,
        publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
        counter: info.credential.counter,
        transports: (credential.response.transports ?? []).slice(0, 8),
        prfCapable: prf?.enabled === true,
        lastUsedAt: null,
      };
    } catch (error) {
      throw ceremonyFailed(error);
    }
  }

  /** Stores the new counter with a compare-and-set; a concurrent use that got further wins and this one is a regression. */
  private async recordUse(tenantId: string, passkey: Stored<Passkey>, newCounter: number): Promise<void> {
    let current = passkey;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0 && (current.counter > 0 || newCounter > 0) && newCounter <= current.counter) throw ceremonyFailed(new Error('counter value regressed'));
      const { tenantId: _t, version, createdAt: _c, updatedAt: _u, ...value } = current;
      try {
        await this.deps.accounts.passkeys.update(tenantId, current.id, { ...value, counter: newCounter, lastUsedAt: this.now().toISOString() }, version);
        return;
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        const fresh = await this.deps.accounts.passkeys.get(tenantId, current.id);
        if (!fresh) throw new RefusalError('unauthorized', 'passkey_unknown', 'this passkey is not registered with this tenant');
        current = fresh;
      }
    }
    throw new RefusalError('already_exists', 'busy', 'this passkey is being used concurrently; try again');
  }
}
