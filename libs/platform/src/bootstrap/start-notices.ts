import { toEnvName, type WalletConfig } from '@wallet/config';

/** What a running server tells the start-up checks. */
export interface StartedServer {
  readonly info: { readonly name: string; readonly services: readonly string[] };
  readonly url: string;
}

export interface StartNotice {
  /** Structured fields of the log line. */
  fields: Record<string, unknown>;
  message: string;
}

const isLoopbackHost = (host: string): boolean =>
  host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);

/**
 * Warnings worth a line in the start log: settings that work on this machine
 * but not for the devices that must reach it. Today: the verifier's public
 * URL, which goes into the QR code a phone scans.
 */
export function startNotices(config: WalletConfig, servers: readonly StartedServer[]): StartNotice[] {
  const notices: StartNotice[] = [];
  const verifier = servers.find((s) => s.info.services.includes('verifier'));
  if (verifier) {
    const configured = config.verifier.publicUrl ?? config.server.publicUrl;
    const setting = { setting: 'verifier.publicUrl', env: toEnvName('verifier.publicUrl') };
    if (configured === undefined) {
      // In production the Host header a proxy passes on is the public one; in development it is usually localhost.
      if (config.mode === 'development') {
        notices.push({
          fields: { server: verifier.info.name, ...setting },
          message:
            `verifier.publicUrl is unset: QR codes carry the address the browser used to open the login page (${verifier.url} from this machine), ` +
            `which a phone cannot reach; set verifier.publicUrl (${setting.env}) to an address the wallet can reach, ` +
            `e.g. http://<this machine's LAN address>:${new URL(verifier.url).port} (see README.md, Verifier)`,
        });
      }
    } else if (isLoopbackHost(new URL(configured).hostname)) {
      notices.push({
        fields: { server: verifier.info.name, publicUrl: configured, ...setting },
        message: `the verifier's public URL ${configured} is a loopback address: QR codes point there, which a phone cannot reach; set verifier.publicUrl (${setting.env}) to an address the wallet can reach`,
      });
    }
  }
  return notices;
}
