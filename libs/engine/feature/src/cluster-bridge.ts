import type { Cache, Unsubscribe } from '@wallet/cache';
import { EngineHub, type FlowEmit, type Principal } from '@wallet/engine-flows';
import { zServerMessage } from '@wallet/engine-protocol';

interface Envelope {
  /** The replica that published it (which delivered it locally already). */
  o: string;
  f: string;
  m: unknown;
}

/**
 * Carries flow frames between replicas: a frame goes to this process's
 * connections that follow the flow, and over the cache's pub/sub on the
 * user's channel to every replica holding a connection of that user. Each
 * replica subscribes to a user's channel while it holds a connection of
 * theirs. A frame published while nobody follows the flow is not lost: the
 * flow record keeps the question or the result for `flow_resume`.
 */
export class ClusterBridge {
  readonly hub: EngineHub;
  private readonly subscriptions = new Map<string, Promise<Unsubscribe | null>>();
  private readonly prefix: string;

  constructor(
    private readonly cache: Cache,
    private readonly replica: string,
    private readonly onError: (error: unknown) => void = () => undefined,
    keyPrefix = 'engine:',
  ) {
    this.prefix = `${keyPrefix}user:`;
    this.hub = new EngineHub({
      firstOfUser: (key, principal) => this.subscribe(key, principal),
      lastOfUser: (key) => this.unsubscribe(key),
    });
  }

  private channel(key: string): string {
    return this.prefix + key;
  }

  /** The runner's emit: deliver here, then tell the other replicas. */
  readonly emit: FlowEmit = async (flow, frame) => {
    const principal = { tenantId: flow.tenantId, userId: flow.userId };
    this.hub.deliver(principal, flow.id, frame);
    const envelope: Envelope = { o: this.replica, f: flow.id, m: frame };
    await this.cache.publish(this.channel(EngineHub.userKey(principal)), JSON.stringify(envelope)).catch(this.onError);
  };

  private subscribe(key: string, principal: Principal): void {
    const subscription = this.cache
      .subscribe(this.channel(key), (text) => this.receive(principal, text))
      .catch((error: unknown) => {
        this.onError(error);
        return null;
      });
    this.subscriptions.set(key, subscription);
  }

  private unsubscribe(key: string): void {
    const subscription = this.subscriptions.get(key);
    this.subscriptions.delete(key);
    void subscription?.then((unsubscribe) => unsubscribe?.()).catch(this.onError);
  }

  private receive(principal: Principal, text: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      return;
    }
    if (envelope.o === this.replica || typeof envelope.f !== 'string') return;
    const frame = zServerMessage.safeParse(envelope.m);
    if (frame.success) this.hub.deliver(principal, envelope.f, frame.data);
  }

  async close(): Promise<void> {
    const all = [...this.subscriptions.values()];
    this.subscriptions.clear();
    await Promise.all(all.map((s) => s.then((unsubscribe) => unsubscribe?.()).catch(() => undefined)));
  }
}
