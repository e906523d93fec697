import {
  clientAuthenticationAnonymous,
  clientAuthenticationNone,
  HashAlgorithm,
  Oauth2Client,
  Oauth2ClientErrorResponseError,
  setGlobalConfig,
  type CallbackContext,
  type JwtSigner,
  type JwtSignerJwk,
  type RequestDpopOptions,
} from '@openid4vc/oauth2';
import { Openid4vciClient, Openid4vciRetrieveCredentialsError, type IssuerMetadataResult } from '@openid4vc/openid4vci';
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';

/*
 * The one place the engine touches the @openid4vc holder-side libraries
 * (oid4vc-ts). They do the protocol's message shapes, version differences,
 * PKCE, PAR, DPoP nonce retries and response parsing; we give them the guarded
 * fetch and a signer that asks the client.
 */

// @openid4vc/utils installs a process-wide zod error map when it is loaded,
// which would change every validation message of the services sharing this
// zod; put zod's own messages back.
z.config({ customError: undefined });

/** The fetch the libraries call: always the guarded outbound client's (never the global fetch). */
export type LibraryFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Signs what a library asks to sign; returns the compact JWS and the key that signed it. */
export type LibrarySign = CallbackContext['signJwt'];

let insecureUrlsAllowed: boolean | null = null;

/**
 * Lets the libraries accept `http:` URLs (issuer, endpoints, DPoP `htu`).
 * Process-wide in the libraries; set from `outbound.allowHttp`, so only
 * development and tests turn it on, and the outbound guard still decides.
 */
export function allowInsecureUrls(allowed: boolean): void {
  if (insecureUrlsAllowed === allowed) return;
  insecureUrlsAllowed = allowed;
  setGlobalConfig({ allowInsecureUrls: allowed });
}

const hashCallback: CallbackContext['hash'] = (data, alg) => {
  const name = alg === HashAlgorithm.Sha384 ? 'sha384' : alg === HashAlgorithm.Sha512 ? 'sha512' : 'sha256';
  return new Uint8Array(createHash(name).update(data).digest());
};

export interface LibraryCallbacks {
  fetch: LibraryFetch;
  sign: LibrarySign;
  /** A registered `client_id` (authorization code flows): sent as `client_id`; none: anonymous. */
  clientId?: string;
}

function callbacks(options: LibraryCallbacks): Omit<CallbackContext, 'verifyJwt' | 'decryptJwe' | 'encryptJwe'> {
  return {
    fetch: options.fetch as NonNullable<CallbackContext['fetch']>,
    hash: hashCallback,
    generateRandom: (bytes) => new Uint8Array(randomBytes(bytes)),
    signJwt: options.sign,
    clientAuthentication: options.clientId ? clientAuthenticationNone({ clientId: options.clientId }) : clientAuthenticationAnonymous(),
  };
}

/** An OpenID4VCI holder client on our callbacks. */
export function vciClient(options: LibraryCallbacks): Openid4vciClient {
  return new Openid4vciClient({ callbacks: callbacks(options) });
}

/** An OAuth 2.0 client on our callbacks (refresh token grants). */
export function oauthClient(options: LibraryCallbacks): Oauth2Client {
  return new Oauth2Client({ callbacks: callbacks(options) });
}

export { Oauth2ClientErrorResponseError, Openid4vciRetrieveCredentialsError };
export type { IssuerMetadataResult, JwtSigner, JwtSignerJwk, RequestDpopOptions };
