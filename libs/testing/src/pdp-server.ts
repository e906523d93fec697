import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An AuthZEN access evaluation request as a PDP receives it. */
export interface PdpQuery {
  subject: { type?: string; id: string };
  resource: { type: string; [key: string]: unknown };
  action: { name: string; [key: string]: unknown };
}

export interface TestPdp {
  /** The PDP base URL (`trust.pdpUrl`). */
  readonly url: string;
  /** Every evaluation asked, in order. */
  readonly queries: PdpQuery[];
  close(): Promise<void>;
}

/**
 * A minimal AuthZEN Policy Decision Point on loopback: `POST /evaluation`
 * answers `{decision}` from `decide`. Trust in tests goes through the same
 * PDP protocol as in production.
 */
export async function startTestPdp(decide: (query: PdpQuery) => boolean): Promise<TestPdp> {
  const queries: PdpQuery[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/evaluation') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    let raw = '';
    req.on('data', (chunk: Buffer) => {
      raw += chunk.toString('utf8');
    });
    req.on('end', () => {
      try {
        const query = JSON.parse(raw) as PdpQuery;
        queries.push(query);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision: decide(query) }));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_request"}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    queries,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
