import { PasskeyTestClient } from '@wallet/testing';
import { EngineClient, createKeyring, parseRedirect, type EngineClientOptions, type WalletHandlers } from '@wallet/wallet-client';
import { request } from 'undici';
import WebSocket from 'ws';

/**
 * Settings for an engine that talks to test servers on loopback: issuers over
 * plain http on 127.0.0.0/8 and an AuthZEN PDP there. Never used for the
 * tests of the outbound guard itself, which run with the guard as shipped.
 */
export function loopbackEngineEnv(pdpUrl: string): Record<string, string> {
  return {
    WALLET_OUTBOUND_ALLOW_HTTP: 'true',
    WALLET_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
    WALLET_TRUST_PDP_URL: pdpUrl,
    WALLET_TRUST_PDP_ALLOW_HTTP: 'true',
    WALLET_TRUST_PDP_ALLOW_CIDRS: '127.0.0.0/8',
  };
}

/** The engine's URL on a wallet-facing server. */
export const engineUrl = (server: string, tenant?: string) => `${server.replace(/^http/, 'ws')}${tenant ? `/t/${tenant}` : ''}/api/v2/wallet`;

/** A fresh passkey account on the auth service and its access token. */
export async function accessToken(authUrl: string, name = 'Engine user', tenant?: string): Promise<string> {
  const session = await new PasskeyTestClient({ baseUrl: authUrl, ...(tenant ? { tenant } : {}) }).registered({ displayName: name });
  return session.appToken;
}

/**
 * The client library as a wallet front end uses it, over a real WebSocket.
 * `consent` accepts and the keyring signs unless the test says otherwise.
 */
export function walletClient(
  url: string,
  token: string,
  handlers: Partial<WalletHandlers> = {},
  options: Partial<EngineClientOptions> & { keyring?: ReturnType<typeof createKeyring> } = {},
): { client: EngineClient; keyring: ReturnType<typeof createKeyring> } {
  const { keyring = createKeyring(), ...rest } = options;
  const client = new EngineClient({
    url,
    WebSocket: WebSocket as unknown as NonNullable<EngineClientOptions['WebSocket']>,
    getToken: () => token,
    handlers: { sign: keyring.sign, consent: async () => true, ...handlers },
    reconnect: { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 },
    ...rest,
  });
  return { client, keyring };
}

/** Plays the browser at the authorization server: opens the URL and returns where it redirects (no redirect followed). */
export async function followAuthorization(url: string): Promise<string> {
  const response = await request(url, { method: 'GET' });
  await response.body.dump();
  const location = response.headers['location'];
  if (response.statusCode !== 302 || typeof location !== 'string') throw new Error(`the authorization endpoint answered ${response.statusCode}`);
  return location;
}

/** The redirect result the `openAuthorizationUrl` handler resolves with. */
export async function authorizeInBrowser(url: string) {
  return parseRedirect(await followAuthorization(url));
}

/** A WebSocket driven frame by frame, for what the client library would never send. */
export interface RawSocket {
  send(frame: unknown): void;
  sendText(text: string | Buffer, binary?: boolean): void;
  /** The next frame (of `type`, skipping others). */
  next(type?: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the close code. */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export async function rawSocket(url: string, headers: Record<string, string> = {}): Promise<RawSocket> {
  const socket = new WebSocket(url, { headers });
  const frames: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Record<string, unknown>);
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    send: (frame) => socket.send(JSON.stringify(frame)),
    sendText: (text, binary = false) => socket.send(text, { binary }),
    next: async (type, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = frames.findIndex((f) => type === undefined || f['type'] === type);
        if (index >= 0) return frames.splice(index, 1)[0]!;
        if (Date.now() > deadline) throw new Error(`no ${type ?? 'frame'} within ${timeoutMs} ms; got ${JSON.stringify(frames.map((f) => f['type']))}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    closed,
    close: () => socket.close(),
  };
}

/** Connects and completes the handshake. */
export async function authenticatedSocket(url: string, token: string): Promise<RawSocket> {
  const socket = await rawSocket(url);
  socket.send({ type: 'handshake', token, message_id: 'h1' });
  const ok = await socket.next();
  if (ok['type'] !== 'handshake_ok') throw new Error(`handshake failed: ${JSON.stringify(ok)}`);
  return socket;
}
