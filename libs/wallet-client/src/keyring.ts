import type { SignItem } from '@wallet/engine-protocol';
import { base64urlEncode, base64urlEncodeText, utf8 } from './base64url';
import { ClientFailureError } from './errors';

/**
 * Holder and DPoP keys on the client (WebCrypto P-256, ES256), and the
 * `sign` handler the engine's `sign_request`s need. The engine never sees a
 * private key: it asks, the keyring signs.
 */

type Subtle = typeof globalThis.crypto.subtle;

/** The WebCrypto key object (`CryptoKey`), named without depending on the DOM lib. */
export type WebCryptoKey = Awaited<ReturnType<Subtle['importKey']>>;

/** A JSON Web Key (RFC 7517), the members this library reads or writes. */
export interface Jwk {
  kty: string;
  crv?: string;
  x?: string;
  y?: string;
  /** Private part: never in a JWS header, never sent to the engine. */
  d?: string;
  n?: string;
  e?: string;
  k?: string;
  kid?: string;
  alg?: string;
  use?: string;
}

/** A public P-256 key as it goes into a JWS `jwk` header: no private or extra members. */
export interface EcPublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/** What the keyring knows about a key, without its private part. */
export interface KeyInfo {
  /** RFC 7638 thumbprint (SHA-256, base64url): how credentials (`cnf.jwk`) and `jkt` name the key. */
  jkt: string;
  /** `proof`: a holder key a credential is bound to; `dpop`: a DPoP key. */
  purpose: 'proof' | 'dpop';
  /** The flow the key was made for, when it was made for one. */
  flowId?: string;
  publicJwk: EcPublicJwk;
  /** RFC 3339 time of creation or import. */
  createdAt: string;
}

/** A key with its private part, for persistence (store it encrypted). */
export interface ExportedKey extends KeyInfo {
  privateJwk: Jwk;
}

/** Options of {@link createKeyring}. */
export interface KeyringOptions {
  /**
   * A DPoP key every flow uses instead of a fresh one per flow (a private
   * P-256 JWK, or an exported key). Refresh tokens bound to it keep working
   * in later sessions.
   */
  dpopKey?: Jwk | ExportedKey;
  /**
   * Whether private keys can be exported with `exportKeys()` (default true).
   * Non-extractable keys can still be kept across page loads by storing the
   * `CryptoKey` objects themselves (e.g. in IndexedDB); this keyring then
   * cannot persist them.
   */
  extractable?: boolean;
  /** Called once per new key, e.g. to persist it before the credential that binds it arrives. */
  onKeyCreated?(key: KeyInfo): void | Promise<void>;
}

/**
 * Signs a JWT with the holder key whose RFC 7638 thumbprint is `jkt`: the
 * compact JWS of `payload`, its header the given members plus `alg: ES256`.
 * Presentations use it (key-binding JWTs, VP JWTs).
 */
export type JwtSigner = (jkt: string, header: Record<string, unknown>, payload: Record<string, unknown>) => Promise<string>;

/** Signs the engine's sign items and keeps the keys it used. */
export interface Keyring {
  /**
   * The `sign` handler of {@link WalletHandlers}: a compact JWS of the item's
   * payload exactly as given, its header plus `alg: ES256` and `jwk`. `proof`
   * items get a new key each; `dpop` items the flow's DPoP key, or the key
   * whose thumbprint is `item.jkt`.
   */
  sign(item: SignItem, context: { flowId: string }): Promise<string>;
  /**
   * Signs a JWT with the holder (`proof`) key named by its thumbprint: the
   * key a credential's `cnf.jwk` names, for a key-binding JWT or a VP. The
   * header is kept as given plus `alg: ES256` (no `jwk`: the verifier knows
   * the key from the credential). Throws {@link ClientFailureError} `failed`
   * when the keyring holds no such holder key. A {@link JwtSigner}.
   */
  signWith: JwtSigner;
  /** The thumbprint of the flow's DPoP key (made now if the flow has none yet). */
  dpopJkt(flowId: string): Promise<string>;
  /** Every key the keyring holds. */
  keys(): KeyInfo[];
  /** The key with this thumbprint. */
  key(jkt: string): KeyInfo | undefined;
  /** The keys with their private parts, as JWKs (all, or the given thumbprints). */
  exportKeys(jkts?: readonly string[]): Promise<ExportedKey[]>;
  /** Adds keys from `exportKeys()` (DPoP keys go back to their flows). */
  importKeys(keys: readonly ExportedKey[]): Promise<void>;
  /** Drops a key. */
  remove(jkt: string): void;
  /** Forgets which DPoP key a flow uses (the key itself stays until `remove`). */
  forgetFlow(flowId: string): void;
}

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ES256_SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** The members RFC 7638 hashes for each key type, in the lexicographic order it prescribes. */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly (keyof Jwk)[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
  oct: ['k', 'kty'],
};

function subtle(): Subtle {
  const value = globalThis.crypto?.subtle;
  if (!value) throw new Error('WebCrypto (crypto.subtle) is not available: a browser needs a secure context (https)');
  return value;
}

/**
 * RFC 7638 JWK thumbprint with SHA-256, base64url. Throws on an unknown `kty`
 * or a missing required member.
 */
export async function jwkThumbprint(jwk: Jwk): Promise<string> {
  const members = THUMBPRINT_MEMBERS[jwk.kty];
  if (!members) throw new TypeError('the JWK "kty" is missing or not supported for a thumbprint');
  const canonical: Record<string, string> = {};
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== 'string' || value.length === 0) throw new TypeError(`the JWK "${name}" member is missing or not a string`);
    canonical[name] = value;
  }
  const digest = await subtle().digest('SHA-256', utf8(JSON.stringify(canonical)));
  return base64urlEncode(new Uint8Array(digest));
}

/** The public members of a P-256 JWK; throws on any other key. */
function publicP256(jwk: Jwk): EcPublicJwk {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) throw new TypeError('only P-256 EC keys are supported');
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
}

interface Entry {
  info: KeyInfo;
  privateKey: WebCryptoKey;
}

/** Creates a keyring; see {@link Keyring}. */
export function createKeyring(options: KeyringOptions = {}): Keyring {
  const extractable = options.extractable ?? true;
  const entries = new Map<string, Entry>();
  // Promises, so two DPoP items signed at once for a new flow share one key.
  const flowDpop = new Map<string, Promise<Entry>>();
  let defaultDpop: Promise<Entry> | undefined;

  async function add(info: Omit<KeyInfo, 'jkt' | 'createdAt'>, privateKey: WebCryptoKey): Promise<Entry> {
    const entry: Entry = {
      info: { ...info, jkt: await jwkThumbprint(info.publicJwk), createdAt: new Date().toISOString() },
      privateKey,
    };
    entries.set(entry.info.jkt, entry);
    return entry;
  }

  async function generate(purpose: KeyInfo['purpose'], flowId: string | undefined): Promise<Entry> {
    const pair = await subtle().generateKey(EC_P256, extractable, ['sign', 'verify']);
    const publicJwk = publicP256((await subtle().exportKey('jwk', pair.publicKey)) as Jwk);
    const entry = await add({ purpose, ...(flowId ? { flowId } : {}), publicJwk }, pair.privateKey);
    await options.onKeyCreated?.({ ...entry.info });
    return entry;
  }

  async function importPrivate(jwk: Jwk, info: Omit<KeyInfo, 'jkt' | 'createdAt' | 'publicJwk'> & { createdAt?: string }): Promise<Entry> {
    const publicJwk = publicP256(jwk);
    if (!jwk.d) throw new TypeError('the JWK has no private part ("d")');
    const privateKey = await subtle().importKey('jwk', { ...publicJwk, d: jwk.d }, EC_P256, extractable, ['sign']);
    const entry = await add({ ...info, publicJwk }, privateKey);
    if (info.createdAt) entry.info.createdAt = info.createdAt;
    return entry;
  }

  if (options.dpopKey) {
    const key = options.dpopKey;
    const jwk = 'privateJwk' in key ? key.privateJwk : key;
    defaultDpop = importPrivate(jwk, { purpose: 'dpop' });
    // Surfaced on first use; a floating rejection here would be unhandled.
    defaultDpop.catch(() => undefined);
  }

  function dpopFor(flowId: string): Promise<Entry> {
    let entry = flowDpop.get(flowId);
    if (!entry) {
      entry = defaultDpop ?? generate('dpop', flowId);
      flowDpop.set(flowId, entry);
      // A failed key generation must not stick to the flow.
      entry.catch(() => flowDpop.delete(flowId));
    }
    return entry;
  }

  async function keyFor(item: SignItem, flowId: string): Promise<Entry> {
    if (item.purpose === 'proof') return generate('proof', flowId);
    if (item.jkt === undefined) return dpopFor(flowId);
    const entry = entries.get(item.jkt) ?? (await Promise.all([defaultDpop, flowDpop.get(flowId)])).find((e) => e?.info.jkt === item.jkt);
    if (!entry || entry.info.purpose !== 'dpop') {
      throw new ClientFailureError('failed', 'this wallet holds no DPoP key with the requested thumbprint (jkt)');
    }
    // The engine names the flow's DPoP key: later items without a jkt use it too.
    if (!flowDpop.has(flowId)) flowDpop.set(flowId, Promise.resolve(entry));
    return entry;
  }

  async function signJws(entry: Entry, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
    const input = `${base64urlEncodeText(JSON.stringify(header))}.${base64urlEncodeText(JSON.stringify(payload))}`;
    // WebCrypto's ECDSA signature is already the JWS form (raw r || s), not DER.
    const signature = await subtle().sign(ES256_SIGN, entry.privateKey, utf8(input));
    return `${input}.${base64urlEncode(new Uint8Array(signature))}`;
  }

  return {
    async sign(item, context) {
      if (!item.algs.includes('ES256')) {
        throw new ClientFailureError('unsupported', `none of the algorithms ${item.algs.slice(0, 8).join(', ')} is supported (ES256 only)`);
      }
      const entry = await keyFor(item, context.flowId);
      // The given members first, then ours: `alg` and `jwk` must be the signer's.
      return signJws(entry, { ...item.header, alg: 'ES256', jwk: entry.info.publicJwk }, item.payload);
    },

    async signWith(jkt, header, payload) {
      const entry = entries.get(jkt);
      // Only holder keys: a DPoP key proves possession of a token, and must not also speak for a credential.
      if (!entry || entry.info.purpose !== 'proof') throw new ClientFailureError('failed', 'this wallet holds no holder key with the thumbprint the credential names');
      if (header['alg'] !== undefined && header['alg'] !== 'ES256') throw new ClientFailureError('unsupported', 'only ES256 is supported');
      return signJws(entry, { ...header, alg: 'ES256' }, payload);
    },

    async dpopJkt(flowId) {
      return (await dpopFor(flowId)).info.jkt;
    },

    keys: () => [...entries.values()].map((entry) => ({ ...entry.info })),

    key(jkt) {
      const entry = entries.get(jkt);
      return entry ? { ...entry.info } : undefined;
    },

    async exportKeys(jkts) {
      const wanted = jkts ? jkts.map((jkt) => entries.get(jkt)).filter((e): e is Entry => e !== undefined) : [...entries.values()];
      return Promise.all(
        wanted.map(async (entry) => {
          if (!entry.privateKey.extractable) throw new Error('the keyring was created with extractable: false; its keys cannot be exported');
          const jwk = (await subtle().exportKey('jwk', entry.privateKey)) as Jwk;
          if (!jwk.d) throw new Error('the exported key has no private part');
          return { ...entry.info, privateJwk: { ...entry.info.publicJwk, d: jwk.d } };
        }),
      );
    },

    async importKeys(keys) {
      for (const key of keys) {
        const entry = await importPrivate(key.privateJwk, {
          purpose: key.purpose,
          ...(key.flowId ? { flowId: key.flowId } : {}),
          createdAt: key.createdAt,
        });
        if (entry.info.jkt !== key.jkt) throw new TypeError('the imported key does not match its thumbprint');
        if (key.purpose === 'dpop' && key.flowId && !flowDpop.has(key.flowId)) flowDpop.set(key.flowId, Promise.resolve(entry));
      }
    },

    remove(jkt) {
      entries.delete(jkt);
    },

    forgetFlow(flowId) {
      flowDpop.delete(flowId);
    },
  };
}
