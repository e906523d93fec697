import type { WalletConfig } from '@wallet/config';

/** The verifier's public origin: `verifier.publicUrl`, else `server.publicUrl`, else the request's own (development). */
export function verifierBaseUrl(config: WalletConfig, requestBase: string): string {
  return config.verifier.publicUrl ?? config.server.publicUrl ?? requestBase;
}
