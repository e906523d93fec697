/**
 * The WebAuthn port of {@link AuthClient}: the JSON forms of WebAuthn Level 3
 * (every binary value base64url), which is what the auth service sends and
 * accepts. In a browser, {@link browserWebAuthn} adapts
 * `navigator.credentials`; in tests, a software authenticator fits directly.
 */
import { base64urlDecode, base64urlEncode } from '../base64url';

/** base64url without padding. */
type Base64url = string;

/** A credential named by id (`excludeCredentials`, `allowCredentials`). */
export interface PublicKeyCredentialDescriptorJSON {
  id: Base64url;
  type: string;
  transports?: string[];
}

/** WebAuthn L3 `PublicKeyCredentialCreationOptionsJSON`: what `register-webauthn-begin` answers in `createOptions.publicKey`. */
export interface PublicKeyCredentialCreationOptionsJSON {
  rp: { id?: string; name: string };
  user: { id: Base64url; name: string; displayName: string };
  challenge: Base64url;
  pubKeyCredParams: Array<{ type: string; alg: number }>;
  timeout?: number;
  excludeCredentials?: PublicKeyCredentialDescriptorJSON[];
  authenticatorSelection?: { authenticatorAttachment?: string; residentKey?: string; requireResidentKey?: boolean; userVerification?: string };
  hints?: string[];
  attestation?: string;
  attestationFormats?: string[];
  extensions?: Record<string, unknown>;
}

/** WebAuthn L3 `PublicKeyCredentialRequestOptionsJSON`: what `login-webauthn-begin` answers in `getOptions.publicKey`. */
export interface PublicKeyCredentialRequestOptionsJSON {
  challenge: Base64url;
  timeout?: number;
  rpId?: string;
  allowCredentials?: PublicKeyCredentialDescriptorJSON[];
  userVerification?: string;
  hints?: string[];
  extensions?: Record<string, unknown>;
}

/** WebAuthn L3 `RegistrationResponseJSON` (a new passkey's attestation). */
export interface RegistrationResponseJSON {
  id: Base64url;
  rawId: Base64url;
  type: string;
  response: {
    clientDataJSON: Base64url;
    attestationObject: Base64url;
    authenticatorData?: Base64url;
    transports?: string[];
    publicKey?: Base64url;
    publicKeyAlgorithm?: number;
  };
  authenticatorAttachment?: string | null;
  clientExtensionResults: Record<string, unknown>;
}

/** WebAuthn L3 `AuthenticationResponseJSON` (an assertion). */
export interface AuthenticationResponseJSON {
  id: Base64url;
  rawId: Base64url;
  type: string;
  response: {
    clientDataJSON: Base64url;
    authenticatorData: Base64url;
    signature: Base64url;
    userHandle?: Base64url | null;
  };
  authenticatorAttachment?: string | null;
  clientExtensionResults: Record<string, unknown>;
}

/**
 * Makes and uses passkeys. `create` and `get` may reject (the user cancelled,
 * no authenticator): the {@link AuthClient} reports that as
 * `AuthError('webauthn_failed')` with the cause.
 */
export interface WebAuthnPort {
  create(options: PublicKeyCredentialCreationOptionsJSON): Promise<RegistrationResponseJSON>;
  get(options: PublicKeyCredentialRequestOptionsJSON): Promise<AuthenticationResponseJSON>;
}

/** The part of a browser `PublicKeyCredential` instance the adapter reads. */
export interface BrowserPublicKeyCredentialLike {
  id: string;
  rawId: ArrayBuffer;
  type: string;
  authenticatorAttachment?: string | null;
  response: {
    clientDataJSON: ArrayBuffer;
    attestationObject?: ArrayBuffer;
    authenticatorData?: ArrayBuffer;
    signature?: ArrayBuffer;
    userHandle?: ArrayBuffer | null;
    getTransports?(): string[];
    getAuthenticatorData?(): ArrayBuffer;
    getPublicKey?(): ArrayBuffer | null;
    getPublicKeyAlgorithm?(): number;
  };
  getClientExtensionResults?(): Record<string, unknown>;
  toJSON?(): unknown;
}

/** `navigator.credentials`, as far as passkeys go. */
export interface CredentialsContainerLike {
  create(options: { publicKey: unknown; signal?: unknown }): Promise<unknown>;
  get(options: { publicKey: unknown; mediation?: string; signal?: unknown }): Promise<unknown>;
}

/** The static side of `PublicKeyCredential`: the L3 JSON parsers, where the browser has them. */
export interface PublicKeyCredentialStaticLike {
  parseCreationOptionsFromJSON?(options: PublicKeyCredentialCreationOptionsJSON): unknown;
  parseRequestOptionsFromJSON?(options: PublicKeyCredentialRequestOptionsJSON): unknown;
}

/** Options of {@link browserWebAuthn}; the defaults are the page's own objects. */
export interface BrowserWebAuthnOptions {
  /** Default `navigator.credentials`. */
  credentials?: CredentialsContainerLike;
  /** Default `globalThis.PublicKeyCredential`. */
  publicKeyCredential?: PublicKeyCredentialStaticLike;
  /** `mediation` of logins (`'conditional'` for passkey autofill); default the browser's. */
  mediation?: string;
}

/**
 * The browser's WebAuthn as a {@link WebAuthnPort}. Uses
 * `PublicKeyCredential.parseCreationOptionsFromJSON` /
 * `parseRequestOptionsFromJSON` and the credential's `toJSON()` where the
 * browser has them (WebAuthn L3), and converts by hand where it does not.
 */
export function browserWebAuthn(options: BrowserWebAuthnOptions = {}): WebAuthnPort {
  const container = (): CredentialsContainerLike => {
    const found = options.credentials ?? (globalThis as { navigator?: { credentials?: CredentialsContainerLike } }).navigator?.credentials;
    if (!found) throw new TypeError('WebAuthn is not available here (no navigator.credentials; passkeys need a secure context)');
    return found;
  };
  const statics = (): PublicKeyCredentialStaticLike | undefined =>
    options.publicKeyCredential ?? (globalThis as { PublicKeyCredential?: PublicKeyCredentialStaticLike }).PublicKeyCredential;
  return {
    async create(json) {
      const parse = statics()?.parseCreationOptionsFromJSON;
      const publicKey = parse ? parse.call(statics(), json) : creationOptionsFromJSON(json);
      const credential = (await container().create({ publicKey })) as BrowserPublicKeyCredentialLike | null;
      if (!credential) throw new Error('no credential was created');
      return registrationToJSON(credential);
    },
    async get(json) {
      const parse = statics()?.parseRequestOptionsFromJSON;
      const publicKey = parse ? parse.call(statics(), json) : requestOptionsFromJSON(json);
      const credential = (await container().get({ publicKey, ...(options.mediation ? { mediation: options.mediation } : {}) })) as BrowserPublicKeyCredentialLike | null;
      if (!credential) throw new Error('no credential was chosen');
      return authenticationToJSON(credential);
    },
  };
}

/** base64url → a buffer of its own: WebAuthn takes `BufferSource`. */
const bytes = (text: string): Uint8Array => new Uint8Array(base64urlDecode(text));
const encode = (buffer: ArrayBuffer | ArrayBufferView): string =>
  base64urlEncode(buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));

const descriptors = (list: PublicKeyCredentialDescriptorJSON[] | undefined) => list?.map((d) => ({ ...d, id: bytes(d.id) }));

/** The `prf` extension's salts are binary: `eval` and `evalByCredential` values. */
function extensionsFromJSON(extensions: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!extensions) return undefined;
  const prf = extensions['prf'] as { eval?: { first: string; second?: string }; evalByCredential?: Record<string, { first: string; second?: string }> } | undefined;
  if (!prf) return extensions;
  const values = (v: { first: string; second?: string }) => ({ first: bytes(v.first), ...(v.second !== undefined ? { second: bytes(v.second) } : {}) });
  return {
    ...extensions,
    prf: {
      ...(prf.eval ? { eval: values(prf.eval) } : {}),
      ...(prf.evalByCredential ? { evalByCredential: Object.fromEntries(Object.entries(prf.evalByCredential).map(([id, v]) => [id, values(v)])) } : {}),
    },
  };
}

/** What `parseCreationOptionsFromJSON` does, for browsers without it. */
export function creationOptionsFromJSON(json: PublicKeyCredentialCreationOptionsJSON): Record<string, unknown> {
  const extensions = extensionsFromJSON(json.extensions);
  const excludeCredentials = descriptors(json.excludeCredentials);
  return {
    ...json,
    challenge: bytes(json.challenge),
    user: { ...json.user, id: bytes(json.user.id) },
    ...(excludeCredentials ? { excludeCredentials } : {}),
    ...(extensions ? { extensions } : {}),
  };
}

/** What `parseRequestOptionsFromJSON` does, for browsers without it. */
export function requestOptionsFromJSON(json: PublicKeyCredentialRequestOptionsJSON): Record<string, unknown> {
  const extensions = extensionsFromJSON(json.extensions);
  const allowCredentials = descriptors(json.allowCredentials);
  return {
    ...json,
    challenge: bytes(json.challenge),
    ...(allowCredentials ? { allowCredentials } : {}),
    ...(extensions ? { extensions } : {}),
  };
}

/** Extension outputs with every binary value (PRF results) as base64url, as `toJSON()` gives them. */
function jsonValue(value: unknown, depth = 0): unknown {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return encode(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => jsonValue(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, jsonValue(inner, depth + 1)]));
}

function extensionResults(credential: BrowserPublicKeyCredentialLike): Record<string, unknown> {
  return jsonValue(credential.getClientExtensionResults?.() ?? {}) as Record<string, unknown>;
}

/** A new credential as `RegistrationResponseJSON`: its own `toJSON()` when it has one. */
export function registrationToJSON(credential: BrowserPublicKeyCredentialLike): RegistrationResponseJSON {
  if (typeof credential.toJSON === 'function') return credential.toJSON() as RegistrationResponseJSON;
  const response = credential.response;
  if (!response.attestationObject) throw new TypeError('the credential has no attestationObject');
  const publicKey = response.getPublicKey?.();
  const authenticatorData = response.getAuthenticatorData?.();
  const algorithm = response.getPublicKeyAlgorithm?.();
  return {
    id: credential.id,
    rawId: encode(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: encode(response.clientDataJSON),
      attestationObject: encode(response.attestationObject),
      ...(authenticatorData ? { authenticatorData: encode(authenticatorData) } : {}),
      ...(response.getTransports ? { transports: response.getTransports() } : {}),
      ...(publicKey ? { publicKey: encode(publicKey) } : {}),
      ...(algorithm !== undefined ? { publicKeyAlgorithm: algorithm } : {}),
    },
    ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
    clientExtensionResults: extensionResults(credential),
  };
}

/** An assertion as `AuthenticationResponseJSON`: its own `toJSON()` when it has one. */
export function authenticationToJSON(credential: BrowserPublicKeyCredentialLike): AuthenticationResponseJSON {
  if (typeof credential.toJSON === 'function') return credential.toJSON() as AuthenticationResponseJSON;
  const response = credential.response;
  if (!response.authenticatorData || !response.signature) throw new TypeError('the credential is not an assertion');
  return {
    id: credential.id,
    rawId: encode(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: encode(response.clientDataJSON),
      authenticatorData: encode(response.authenticatorData),
      signature: encode(response.signature),
      ...(response.userHandle ? { userHandle: encode(response.userHandle) } : {}),
    },
    ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
    clientExtensionResults: extensionResults(credential),
  };
}
