import { createCache, type Cache } from '@wallet/cache';
import { createStore, type Store } from '@wallet/persistence';
import { OutboundClient } from '@wallet/platform';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalTypeMetadataStore } from './local-type-metadata.store';
import { SourceListPoller } from './source-list.poller';

let server: Server;
let base: string;
let list: unknown = [];
let status = 200;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(list));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('SourceListPoller', () => {
  let store: Store;
  let cache: Cache;
  let local: LocalTypeMetadataStore;
  const http = new OutboundClient({ allowHttp: true, allowCidrs: ['127.0.0.1/32'] });
  const changed: string[] = [];

  beforeAll(async () => {
    store = await createStore({ type: 'memory' });
    cache = await createCache({ type: 'memory' });
    local = new LocalTypeMetadataStore(store);
  });
  afterAll(async () => {
    await http.close();
    await store.close();
    await cache.close();
  });

  const poller = () =>
    new SourceListPoller([`${base}/list.json`], {
      http,
      cache,
      store: local,
      changed: async (vct) => void changed.push(vct),
      maxBytes: 100_000,
    });

  it('stores listed documents, skips bad entries, never replaces local ones, prunes what left the list, and keeps records when a source fails', async () => {
    await local.put({ vct: 'urn:t:local', name: 'Admin copy' }, 'local');
    list = { items: [{ vct: 'urn:t:a', name: 'A' }, { vct: 'urn:t:b', name: 'B' }, { vct: 'urn:t:local', name: 'List copy' }, { bad: 1 }] };
    expect(await poller().pollOnce()).toEqual({ updated: 2, removed: 0, failed: [] });
    expect(await local.get('urn:t:a')).toEqual({ vct: 'urn:t:a', name: 'A' });
    expect(await local.get('urn:t:local')).toEqual({ vct: 'urn:t:local', name: 'Admin copy' });
    expect(changed.sort()).toEqual(['urn:t:a', 'urn:t:b']);

    // Unchanged documents are not rewritten.
    expect(await poller().pollOnce()).toEqual({ updated: 0, removed: 0, failed: [] });

    list = [{ vct: 'urn:t:a', name: 'A2' }];
    expect(await poller().pollOnce()).toEqual({ updated: 1, removed: 1, failed: [] });
    expect(await local.get('urn:t:a')).toEqual({ vct: 'urn:t:a', name: 'A2' });
    expect(await local.get('urn:t:b')).toBeNull();
    expect(await local.get('urn:t:local')).toEqual({ vct: 'urn:t:local', name: 'Admin copy' });

    status = 500;
    const failed = await poller().pollOnce();
    expect(failed).toEqual({ updated: 0, removed: 0, failed: [{ source: `${base}/list.json`, reason: 'HTTP 500' }] });
    expect(await local.get('urn:t:a')).toEqual({ vct: 'urn:t:a', name: 'A2' });
    status = 200;
  });

  it('lets one replica poll at a time', async () => {
    const lock = await cache.acquireLock('registry:source-poll', 10_000);
    list = [{ vct: 'urn:t:c' }];
    expect(await poller().pollOnce()).toEqual({ updated: 0, removed: 0, failed: [] });
    await lock!.release();
    expect((await poller().pollOnce()).updated).toBe(1);
  });
});
