import { createServer, type Server } from 'node:http';
import { HealthWatcher } from './health-watcher';

/** The watcher sees a held event loop: a loopback server in this process, blocked on purpose. */
describe('HealthWatcher', () => {
  let server: Server;
  let url: string;
  let watcher: HealthWatcher;

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(req.url === '/health/live' ? 200 : 404, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    watcher = new HealthWatcher([{ name: 'one', url }, { name: 'two', url }], 5);
    await watcher.ready();
  });

  afterAll(async () => {
    await watcher.stop();
    await new Promise((resolve) => server.close(resolve));
  });

  const hold = (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // hold the event loop, as a request that computes too long would
    }
  };

  it('reports a stall that overlaps the window, on every port, whole', async () => {
    const from = watcher.now();
    hold(400);
    const to = watcher.now();
    const ports = await watcher.window(from, to, 5000);
    expect(ports.map((p) => p.port)).toEqual(['one', 'two']);
    // A probe is sent every 5 ms, so one starts within a few ms of the hold and waits for its end.
    for (const port of ports) {
      expect(port.failed).toBe(false);
      expect(port.worstMs).toBeGreaterThanOrEqual(350);
    }
  });

  it('reports short answers when nothing holds the loop', async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const from = watcher.now();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ports = await watcher.window(from, watcher.now(), 5000);
    // Generous: a loaded shared machine delays answers, but nowhere near the held 400 ms above.
    for (const port of ports) expect(port.worstMs).toBeLessThan(300);
  });

  it('marks probes that get no answer as failed', async () => {
    const dead = new HealthWatcher([{ name: 'gone', url: 'http://127.0.0.1:1' }], 5);
    try {
      const from = dead.now();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const [port] = await dead.window(from, dead.now(), 2000);
      expect(port!.failed).toBe(true);
    } finally {
      await dead.stop();
    }
  });
});
