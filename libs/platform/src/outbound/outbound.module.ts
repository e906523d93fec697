import { Global, Inject, Injectable, Module, type OnModuleDestroy } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import { WALLET_CONFIG } from '../tokens';
import { OutboundClient, type OutboundClientOptions } from './outbound-client';

/** The client options of the `outbound` configuration section. */
export function outboundOptionsFromConfig(config: WalletConfig): OutboundClientOptions {
  const o = config.outbound;
  return {
    allowHttp: o.allowHttp,
    allowCidrs: o.allowCidrs,
    blockCidrs: o.blockCidrs,
    allowHosts: o.allowHosts,
    blockHosts: o.blockHosts,
    maxRedirects: o.maxRedirects,
    connectTimeoutMs: o.connectTimeoutMs,
    timeoutMs: o.timeoutMs,
    maxResponseBytes: o.maxResponseBytes,
  };
}

/**
 * Client options for calls to AuthZEN PDPs: the outbound guard plus the
 * `trust.pdpAllowHttp` and `trust.pdpAllowCidrs` allowances, which apply to
 * PDP calls only. PDP URLs come from operator or tenant configuration, so the
 * host allow list does not apply to them.
 */
export function pdpOutboundOptions(config: WalletConfig): OutboundClientOptions {
  return {
    ...outboundOptionsFromConfig(config),
    allowHttp: config.outbound.allowHttp || config.trust.pdpAllowHttp,
    allowCidrs: [...config.outbound.allowCidrs, ...config.trust.pdpAllowCidrs],
    allowHosts: [],
    timeoutMs: config.trust.timeoutMs,
  };
}

/** Closes the pooled connections when the application shuts down. */
@Injectable()
class OutboundClientCloser implements OnModuleDestroy {
  constructor(@Inject(OutboundClient) private readonly client: OutboundClient) {}

  async onModuleDestroy(): Promise<void> {
    await this.client.close();
  }
}

/**
 * Provides the one {@link OutboundClient} of an application, configured from
 * the `outbound` section. Feature modules that fetch URLs import this module.
 */
@Global()
@Module({
  providers: [
    {
      provide: OutboundClient,
      inject: [WALLET_CONFIG],
      useFactory: (config: WalletConfig) => new OutboundClient(outboundOptionsFromConfig(config)),
    },
    OutboundClientCloser,
  ],
  exports: [OutboundClient],
})
export class OutboundModule {}
