import type { Display, IssuerSummary, OfferedCredential } from '@wallet/engine-protocol';
import { createHash } from 'node:crypto';
import type { IssuerMetadataView } from '../ports';
import { vciClient, type IssuerMetadataResult } from './openid4vc';

const WELL_KNOWN = /\/\.well-known\/(openid-credential-issuer|oauth-authorization-server|openid-configuration)(\/|$)/;

function json(value: unknown): Response {
  return new Response(JSON.stringify(value), { status: 200, headers: { 'content-type': 'application/json' } });
}

/** The identifier a well-known URL is about: `https://as/.well-known/x/tenant` and `https://as/tenant/.well-known/x` both name `https://as/tenant`. */
function subjectOf(url: URL): { kind: string; id: string } | null {
  const match = WELL_KNOWN.exec(url.pathname);
  if (!match) return null;
  const path = url.pathname.replace(WELL_KNOWN, '/').replace(/\/+$/, '');
  return { kind: match[1] as string, id: `${url.origin}${path}` };
}

const sameId = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/**
 * The library's view of an issuer, built from the documents the registry
 * fetched and checked: the library parses them, tells their draft version
 * and lists the credential configurations, from a fetch that serves those
 * documents and answers 404 to anything else (nothing goes to the network).
 */
export async function issuerMetadataResult(view: IssuerMetadataView): Promise<IssuerMetadataResult> {
  // Every run of a flow reads the same documents again; the library's validation of them costs
  // more than hashing them, so results are remembered by content (briefly, a bounded number).
  const key = createHash('sha256').update(JSON.stringify([view.issuer, view.credentialIssuerMetadata, view.authorizationServers])).digest('base64url');
  const now = Date.now();
  const known = parsed.get(key);
  if (known && known.until > now) return known.result;
  const result = await resolve(view);
  if (parsed.size >= MEMO_MAX) parsed.clear();
  parsed.set(key, { result, until: now + MEMO_MS });
  return result;
}

const MEMO_MS = 60_000;
const MEMO_MAX = 256;
const parsed = new Map<string, { result: IssuerMetadataResult; until: number }>();

async function resolve(view: IssuerMetadataView): Promise<IssuerMetadataResult> {
  // The registry verified and applied signed_metadata; the library would want to verify it again.
  const { signed_metadata: _signed, ...credentialIssuer } = view.credentialIssuerMetadata;
  const fetch = async (input: string | URL | Request): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const subject = subjectOf(url);
    if (subject?.kind === 'openid-credential-issuer' && sameId(subject.id, view.issuer)) return json(credentialIssuer);
    if (subject && subject.kind !== 'openid-credential-issuer') {
      const server = view.authorizationServers.find((as) => as.metadata && sameId(as.issuer, subject.id));
      if (server?.metadata) return json(server.metadata);
    }
    return new Response(null, { status: 404 });
  };
  const client = vciClient({
    fetch,
    sign: () => Promise.reject(new Error('nothing is signed while reading metadata')),
  });
  return client.resolveIssuerMetadata(view.issuer);
}

function displays(value: unknown): Display[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null)
    .slice(0, 16)
    .map((d) => {
      const logo = d['logo'] as Record<string, unknown> | undefined;
      const text = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : undefined);
      const uri = text(logo?.['uri'], 8192);
      const out: Display = {};
      const name = text(d['name'], 512);
      const locale = text(d['locale'], 35);
      const description = text(d['description'], 2048);
      if (name) out.name = name;
      if (locale) out.locale = locale;
      if (description) out.description = description;
      if (uri) out.logo = { uri, ...(text(logo?.['alt_text'], 512) ? { alt_text: text(logo?.['alt_text'], 512) as string } : {}) };
      const bg = text(d['background_color'], 64);
      const fg = text(d['text_color'], 64);
      if (bg) out.background_color = bg;
      if (fg) out.text_color = fg;
      return out;
    });
}

/** The issuer for the consent screen: its display data, the trust decision, whether its metadata came signed. */
export function issuerSummary(view: IssuerMetadataView): IssuerSummary {
  return {
    credential_issuer: view.issuer,
    display: displays(view.credentialIssuerMetadata['display']),
    trust: view.trust,
    signed_metadata: view.signedMetadata.verified,
  };
}

/** A credential configuration (from `credential_configurations_supported`) as the client sees it. */
export function offeredCredential(configurations: Record<string, unknown>, id: string): OfferedCredential | null {
  const config = Object.hasOwn(configurations, id) ? (configurations[id] as Record<string, unknown> | undefined) : undefined;
  if (!config || typeof config !== 'object') return null;
  const credentialMetadata = config['credential_metadata'] as Record<string, unknown> | undefined;
  const out: OfferedCredential = {
    credential_configuration_id: id,
    format: String(config['format']),
    display: displays(credentialMetadata?.['display'] ?? config['display']),
  };
  if (typeof config['vct'] === 'string') out.vct = config['vct'];
  if (typeof config['doctype'] === 'string') out.doctype = config['doctype'];
  return out;
}
