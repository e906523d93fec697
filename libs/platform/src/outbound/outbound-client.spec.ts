import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { OutboundClient, type HostResolver } from './outbound-client';
import { OutboundError, type OutboundRefusal } from './outbound-error';
import { problemFromWalletError } from '../errors/problem';

/** Test DNS: fixed answers, anything else does not resolve. */
function fakeDns(table: Record<string, string[]>): HostResolver {
  return async (host) => {
    const answer = table[host];
    if (!answer) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return answer;
  };
}

let server: Server;
let port: number;
const seenHosts: string[] = [];

function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  seenHosts.push(String(req.headers.host));
  switch (url.pathname) {
    case '/ok':
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ ok: true, auth: req.headers.authorization ?? null }));
      return;
    case '/html':
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
      return;
    case '/redirect':
      res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to') ?? '/ok' }).end();
      return;
    case '/loop':
      res.writeHead(302, { location: '/loop' }).end();
      return;
    case '/big-declared':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(5_000_000) });
      res.write('[');
      setTimeout(() => res.destroy(), 200);
      return;
    case '/big-streamed': {
      res.writeHead(200, { 'content-type': 'application/json' });
      let sent = 0;
      const push = (): void => {
        if (res.destroyed || sent > 3_000_000) {
          res.end();
          return;
        }
        sent += 64 * 1024;
        res.write('x'.repeat(64 * 1024), () => setImmediate(push));
      };
      push();
      return;
    }
    case '/slow-headers':
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), 3_000).unref();
      return;
    case '/slow-body': {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), 100);
      timer.unref();
      res.on('close', () => clearInterval(timer));
      return;
    }
    default:
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
  }
}

beforeAll(async () => {
  server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Production-like: https only, nothing exempt. */
const strict = new OutboundClient(
  {},
  {
    resolve: fakeDns({
      'localtest.me': ['127.0.0.1'],
      localhost: ['127.0.0.1', '::1'],
      'metadata.google.internal': ['169.254.169.254'],
      'rebind.example': ['93.184.216.34', '10.0.0.7'],
      'v6loop.example': ['::1'],
      'mapped.example': ['::ffff:127.0.0.1'],
      'nat64.example': ['64:ff9b::a9fe:a9fe'],
      'ula.example': ['fd00:ec2::254'],
    }),
  },
);

/** Tests' lab: http allowed and only 127.0.0.1 exempt, as the explicit test configuration does. */
function lab(overrides: ConstructorParameters<typeof OutboundClient>[0] = {}): OutboundClient {
  return new OutboundClient(
    { allowHttp: true, allowCidrs: ['127.0.0.1/32'], timeoutMs: 1_000, maxResponseBytes: 100_000, ...overrides },
    { resolve: fakeDns({ 'issuer.test': ['127.0.0.1'], 'inward.test': ['127.0.0.2'], 'other.test': ['127.0.0.1'] }) },
  );
}

async function refusal(promise: Promise<unknown>): Promise<OutboundRefusal> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OutboundError) return error.reason;
    throw error;
  }
  throw new Error('the fetch was not refused');
}

describe('OutboundClient SSRF table', () => {
  const hostile: Array<[string, OutboundRefusal]> = [
    ['https://127.0.0.1/', 'address_blocked'],
    ['https://2130706433/', 'address_blocked'], // decimal
    ['https://0177.0.0.1/', 'address_blocked'], // octal
    ['https://0x7f.0.0.1/', 'address_blocked'], // hex
    ['https://0x7f000001/', 'address_blocked'], // hex, one number
    ['https://127.1/', 'address_blocked'], // short form
    ['https://[::1]/', 'address_blocked'],
    ['https://[::ffff:127.0.0.1]/', 'address_blocked'], // IPv4-mapped
    ['https://[0:0:0:0:0:ffff:7f00:1]/', 'address_blocked'],
    ['https://0.0.0.0/', 'address_blocked'],
    ['https://[::]/', 'address_blocked'],
    ['https://169.254.169.254/latest/meta-data/', 'address_blocked'], // cloud metadata
    ['https://[fd00:ec2::254]/', 'address_blocked'], // AWS IPv6 metadata
    ['https://10.0.0.1/', 'address_blocked'],
    ['https://172.16.5.4/', 'address_blocked'],
    ['https://192.168.1.1/', 'address_blocked'],
    ['https://100.64.0.1/', 'address_blocked'], // CGNAT
    ['https://224.0.0.1/', 'address_blocked'], // multicast
    ['https://255.255.255.255/', 'address_blocked'],
    ['https://[fe80::1]/', 'address_blocked'],
    ['https://[fc00::1]/', 'address_blocked'],
    ['https://[64:ff9b::7f00:1]/', 'address_blocked'], // NAT64 of 127.0.0.1
    ['https://[2002:7f00:1::]/', 'address_blocked'], // 6to4 of 127.0.0.1
    ['https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'address_blocked'], // Teredo
    ['https://[ff02::1]/', 'address_blocked'],
    ['https://localtest.me/', 'address_blocked'], // public name resolving to loopback
    ['https://localhost/', 'address_blocked'],
    ['https://localhost./', 'address_blocked'], // trailing dot
    ['https://metadata.google.internal/computeMetadata/v1/', 'address_blocked'],
    ['https://rebind.example/', 'address_blocked'], // one public and one private answer
    ['https://v6loop.example/', 'address_blocked'],
    ['https://mapped.example/', 'address_blocked'],
    ['https://nat64.example/', 'address_blocked'],
    ['https://ula.example/', 'address_blocked'],
    ['https://issuer.example@127.0.0.1/', 'credentials_in_url'], // userinfo trick
    ['https://user:pass@issuer.example/', 'credentials_in_url'],
    ['https://127.0.0.1%2f@issuer.example/', 'credentials_in_url'],
    ['http://issuer.example/', 'scheme_not_allowed'],
    ['file:///etc/passwd', 'scheme_not_allowed'],
    ['gopher://127.0.0.1:6379/_INFO', 'scheme_not_allowed'],
    ['ftp://issuer.example/', 'scheme_not_allowed'],
    ['data:text/plain,hello', 'scheme_not_allowed'],
    ['//127.0.0.1/', 'invalid_url'],
    ['https://unknown-host.invalid/', 'dns_failed'],
  ];

  it.each(hostile)('refuses %s (%s)', async (url, reason) => {
    expect(await refusal(strict.fetch(url))).toBe(reason);
  });

  it('has at least 25 hostile URLs, and every refusal is a typed 4xx/5xx error that names no path or query', async () => {
    expect(hostile.length).toBeGreaterThanOrEqual(25);
    const error = await strict.fetch('https://169.254.169.254/latest/meta-data/iam?token=secret').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundError);
    expect((error as OutboundError).code).toBe('validation_failed');
    expect((error as OutboundError).message).not.toMatch(/latest|token|secret/);
  });

  it('refuses redirects to private, loopback and metadata addresses, and loops', async () => {
    const client = lab();
    const base = `http://127.0.0.1:${port}`;
    const targets: Array<[string, OutboundRefusal]> = [
      [`http://127.0.0.2:${port}/ok`, 'address_blocked'],
      [`http://inward.test:${port}/ok`, 'address_blocked'], // name resolving to a blocked loopback address
      ['http://169.254.169.254/latest/meta-data/', 'address_blocked'],
      ['http://[::1]/', 'address_blocked'],
      ['http://10.1.2.3/', 'address_blocked'],
      ['http://0x7f000002/', 'address_blocked'],
      ['file:///etc/passwd', 'scheme_not_allowed'],
      ['http://user@127.0.0.1/', 'credentials_in_url'],
    ];
    for (const [to, reason] of targets) {
      for (const status of [301, 302, 303, 307, 308]) {
        const url = `${base}/redirect?status=${status}&to=${encodeURIComponent(to)}`;
        expect([to, status, await refusal(client.fetch(url))]).toEqual([to, status, reason]);
      }
    }
    expect(await refusal(client.fetch(`${base}/loop`))).toBe('too_many_redirects');
    await client.close();
  });

  it('refuses oversized responses, declared or streamed', async () => {
    const client = lab();
    expect(await refusal(client.fetch(`http://127.0.0.1:${port}/big-declared`))).toBe('too_large');
    expect(await refusal(client.fetch(`http://127.0.0.1:${port}/big-streamed`))).toBe('too_large');
    expect(await refusal(client.fetch(`http://127.0.0.1:${port}/ok`, { maxBytes: 5 }))).toBe('too_large');
    await client.close();
  });

  it('refuses slow responses: slow headers and a trickling body', async () => {
    const client = lab({ timeoutMs: 500 });
    const started = Date.now();
    expect(await refusal(client.fetch(`http://127.0.0.1:${port}/slow-headers`))).toBe('timeout');
    expect(await refusal(client.fetch(`http://127.0.0.1:${port}/slow-body`))).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2_500);
    await client.close();
  });

  it('refuses a wrong content type and invalid JSON', async () => {
    const client = lab();
    expect(await refusal(client.fetch(`http://127.0.0.1:${port}/html`, { accept: ['application/json'] }))).toBe('content_type');
    const html = await client.fetch(`http://127.0.0.1:${port}/html`, { accept: ['text/*'] });
    expect(() => html.json()).toThrow(OutboundError);
    await client.close();
  });

  it('applies configured host and CIDR block lists over allowances', async () => {
    const blocked = lab({ blockHosts: ['*.test'] });
    expect(await refusal(blocked.fetch(`http://issuer.test:${port}/ok`))).toBe('host_not_allowed');
    const listed = lab({ allowHosts: ['other.test'] });
    expect(await refusal(listed.fetch(`http://issuer.test:${port}/ok`))).toBe('host_not_allowed');
    expect((await listed.fetch(`http://other.test:${port}/ok`)).status).toBe(200);
    const cidr = lab({ blockCidrs: ['127.0.0.0/8'] });
    expect(await refusal(cidr.fetch(`http://issuer.test:${port}/ok`))).toBe('address_blocked');
    const strictHttp = new OutboundClient({ allowHttp: true });
    expect(await refusal(strictHttp.fetch(`http://127.0.0.1:${port}/ok`))).toBe('address_blocked');
    await Promise.all([blocked.close(), listed.close(), cidr.close(), strictHttp.close()]);
  });
});

describe('OutboundClient', () => {
  it('resolves once per connection and connects to the address it checked (no rebinding window)', async () => {
    const answers = [['127.0.0.1'], ['10.0.0.1']]; // a rebinding DNS server: safe first, inward next
    let lookups = 0;
    const client = new OutboundClient(
      { allowHttp: true, allowCidrs: ['127.0.0.1/32'] },
      { resolve: async () => answers[Math.min(lookups++, 1)]! },
    );
    const response = await client.fetch(`http://rebind.test:${port}/ok`);
    expect(response.status).toBe(200);
    expect(lookups).toBe(1);
    await client.close();
    // A new connection resolves again, and the inward answer is refused before connecting.
    const next = new OutboundClient({ allowHttp: true, allowCidrs: ['127.0.0.1/32'] }, { resolve: async () => answers[1]! });
    expect(await refusal(next.fetch(`http://rebind.test:${port}/ok`))).toBe('address_blocked');
    await next.close();
  });

  it('fetches through the checked address and keeps the host name in the Host header', async () => {
    const client = lab();
    seenHosts.length = 0;
    const response = await client.fetch(`http://issuer.test:${port}/ok`, { accept: ['application/json'] });
    expect(response.status).toBe(200);
    expect(response.contentType).toBe('application/json');
    expect(response.json()).toEqual({ ok: true, auth: null });
    expect(seenHosts).toEqual([`issuer.test:${port}`]);
    await client.close();
  });

  it('follows a few allowed redirects and drops credentials on a cross-origin hop', async () => {
    const client = lab();
    const sameOrigin = await client.fetch(`http://issuer.test:${port}/redirect?to=/ok`, { headers: { Authorization: 'Bearer t' } });
    expect(sameOrigin.json()).toEqual({ ok: true, auth: 'Bearer t' });
    const to = encodeURIComponent(`http://other.test:${port}/ok`);
    const crossOrigin = await client.fetch(`http://issuer.test:${port}/redirect?to=${to}`, { headers: { Authorization: 'Bearer t' } });
    expect(crossOrigin.url).toBe(`http://other.test:${port}/ok`);
    expect(crossOrigin.json()).toEqual({ ok: true, auth: null });
    expect(await refusal(client.fetch(`http://issuer.test:${port}/redirect?to=/ok`, { maxRedirects: 0 }))).toBe('too_many_redirects');
    await client.close();
  });

  it('returns non-2xx answers to the caller', async () => {
    const client = lab();
    const response = await client.fetch(`http://issuer.test:${port}/missing`, { accept: ['text/html'] });
    expect(response.status).toBe(404);
    await client.close();
  });

  it('answers caller faults as 400 and upstream failures as 502 problem documents, with the reason', () => {
    expect(problemFromWalletError(new OutboundError('address_blocked', 'host x refused'))).toMatchObject({
      status: 400,
      code: 'validation_failed',
      reason: 'address_blocked',
    });
    expect(problemFromWalletError(new OutboundError('upstream_status', 'x answered', { status: 503 }))).toMatchObject({
      status: 502,
      code: 'bad_gateway',
      title: 'Bad Gateway',
      reason: 'upstream_status',
      upstreamStatus: 503,
    });
  });

  it('rejects malformed CIDRs in its configuration', () => {
    expect(() => new OutboundClient({ allowCidrs: ['127.0.0.1/99'] })).toThrow();
  });
});

/** A self-signed test certificate for `issuer.test` (test fixture only; the key protects nothing). */
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUae3vhNv86JbzM7yCtjfwtlKtQwkwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLaXNzdWVyLnRlc3QwIBcNMjYxMTI5MTkzMDM5WhgPMjEyNjEx
MDUxOTMwMzlaMBYxFDASBgNVBAMMC2lzc3Vlci50ZXN0MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEKw5UxXULYWPDY6UN6SV0cypeVCE5KdgvBEgar4W3dGl48JMm
5GI/Qhk5l2uYXvN4KX06oM+kl/q8ApaigcS9n6NrMGkwHQYDVR0OBBYEFNFjYXYc
IRbhY1g8SsR87PDtnBRaMB8GA1UdIwQYMBaAFNFjYXYcIRbhY1g8SsR87PDtnBRa
MA8GA1UdEwEB/wQFMAMBAf8wFgYDVR0RBA8wDYILaXNzdWVyLnRlc3QwCgYIKoZI
zj0EAwIDRwAwRAIgbUQF6CvfJyQ1yydOE//tirB0frYi2v5jx1+Xs7O0GV8CIBPi
hezMH2k5EJrFpLLaG9e2Dipa3Hh8n8HCudKyFBlM
-----END CERTIFICATE-----`;
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMuRgV/9KLwNkeHvl
rZ3x5nbXWqglabDExwTmSHVVr7yhRANCAAQrDlTFdQthY8NjpQ3pJXRzKl5UITkp
2C8ESBqvhbd0aXjwkybkYj9CGTmXa5he83gpfTqgz6SX+rwClqKBxL2f
-----END PRIVATE KEY-----`;

describe('OutboundClient over TLS', () => {
  it('connects to the checked address while SNI and certificate checks use the host name', async () => {
    const tls = createTlsServer({ cert: TEST_CERT, key: TEST_KEY }, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ host: req.headers.host }));
    });
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    const tlsPort = (tls.address() as AddressInfo).port;
    const client = new OutboundClient(
      { allowCidrs: ['127.0.0.1/32'] },
      { ca: TEST_CERT, resolve: fakeDns({ 'issuer.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'] }) },
    );
    try {
      const response = await client.fetch(`https://issuer.test:${tlsPort}/`, { accept: ['application/json'] });
      expect(response.json()).toEqual({ host: `issuer.test:${tlsPort}` });
      // Same address, another name: the certificate does not match, so the fetch fails.
      expect(await refusal(client.fetch(`https://other.test:${tlsPort}/`))).toBe('connect_failed');
      // The plain-http client refuses http even for an allowed address.
      expect(await refusal(client.fetch(`http://issuer.test:${port}/ok`))).toBe('scheme_not_allowed');
    } finally {
      await client.close();
      tls.closeAllConnections();
      await new Promise((resolve) => tls.close(resolve));
    }
  });
});
