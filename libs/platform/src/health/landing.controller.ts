import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../auth/public.decorator';
import { SERVICE_API_DOCUMENTS, apiDocumentFile } from '../openapi/service-api';
import { SERVICE_INFO, WALLET_CONFIG, type ServiceInfo, type ServiceName } from '../tokens';

interface Link {
  href: string;
  title: string;
}

interface ServiceEntry {
  summary: string;
  links: Link[];
  /** Documents in the source repository (paths from its root). */
  docs: string[];
}

/** What each service serves, for the landing page of the port that runs it. */
const SERVICES: Record<ServiceName, ServiceEntry> = {
  auth: {
    summary: 'auth: passkey accounts and access tokens (/user/..., /auth/...)',
    links: [{ href: '/auth/.well-known/jwks.json', title: 'access-token signing keys (JWKS)' }],
    docs: ['docs/adr/0006-auth-tokens-tenancy.md'],
  },
  storage: {
    summary: 'storage: the end-to-end encrypted credential vault (/storage/...)',
    links: [],
    docs: ['docs/vault.md'],
  },
  engine: {
    summary: 'engine: OpenID4VCI and OpenID4VP for wallet front ends (WebSocket /api/v2/wallet)',
    links: [],
    docs: ['docs/engine.md', 'docs/api/engine.asyncapi.json'],
  },
  registry: {
    summary: 'registry: type metadata and issuer metadata with trust decisions (/registry/...)',
    links: [],
    docs: ['docs/registry.md'],
  },
  admin: {
    summary: 'admin: the admin API (/admin/..., admin bearer token; never expose it publicly)',
    links: [{ href: '/admin/status', title: 'status' }],
    docs: ['docs/admin.md'],
  },
  verifier: {
    summary: 'verifier: an OpenID4VP relying party (/api/v1/..., /token)',
    links: [
      { href: '/.well-known/openid-configuration', title: 'OpenID configuration (the default service)' },
      { href: '/.well-known/jwks', title: 'token signing keys (JWKS)' },
    ],
    docs: ['docs/verifier.md'],
  },
};

export interface LandingPage {
  server: string;
  services: string[];
  links: Link[];
  docs: string[];
}

/** A service's OpenAPI document and, in development, its Swagger UI (see `SERVICE_API_DOCUMENTS`). */
function apiLinks(service: ServiceName, mode: WalletConfig['mode']): Link[] {
  const { path, uiPath, readers } = SERVICE_API_DOCUMENTS[service];
  const guarded = readers === 'admin' ? ' (admin token required)' : '';
  return [
    ...(path ? [{ href: path, title: `${service} OpenAPI document${guarded}` }] : []),
    ...(uiPath && mode === 'development' ? [{ href: uiPath, title: `${service} API in Swagger UI (development only)` }] : []),
  ];
}

/** The landing page's content for one server (pure, for tests and the controller). */
export function landingPage(info: ServiceInfo, config: Pick<WalletConfig, 'metrics' | 'mode'>): LandingPage {
  const entries = info.services.map((name) => ({
    ...SERVICES[name],
    links: [...SERVICES[name].links, ...apiLinks(name, config.mode)],
    docs: [...SERVICES[name].docs, apiDocumentFile(name)],
  }));
  return {
    server: info.name,
    services: entries.map((e) => e.summary),
    links: [
      { href: '/health/live', title: 'liveness' },
      { href: '/health/ready', title: 'readiness (store and cache reachable)' },
      ...(config.metrics.enabled ? [{ href: '/metrics', title: 'Prometheus metrics' }] : []),
      ...entries.flatMap((e) => e.links),
    ],
    docs: ['README.md', 'docs/architecture.md', 'docs/configuration.md', ...entries.flatMap((e) => e.docs)],
  };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);

function renderHtml(page: LandingPage): string {
  const li = (inner: string) => `<li>${inner}</li>`;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Wallet platform: ${escapeHtml(page.server)}</title>`,
    '<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}code{font-size:.95em}</style>',
    '</head><body>',
    `<h1>Wallet platform: the ${escapeHtml(page.server)} server</h1>`,
    '<p>This port serves:</p>',
    `<ul>${page.services.map((s) => li(escapeHtml(s))).join('')}</ul>`,
    '<h2>Links</h2>',
    `<ul>${page.links.map((l) => li(`<a href="${escapeHtml(l.href)}">${escapeHtml(l.href)}</a>: ${escapeHtml(l.title)}`)).join('')}</ul>`,
    '<h2>Documentation</h2>',
    '<p>In the source repository:</p>',
    `<ul>${page.docs.map((d) => li(`<code>${escapeHtml(d)}</code>`)).join('')}</ul>`,
    '</body></html>',
    '',
  ].join('\n');
}

/**
 * `GET /` on every port: what runs there, with links to health, metrics and
 * the service's discovery and API documents. HTML for browsers, JSON otherwise.
 */
@ApiTags('platform')
@Public({ tenant: false })
@Controller()
export class LandingController {
  constructor(
    @Inject(SERVICE_INFO) private readonly info: ServiceInfo,
    @Inject(WALLET_CONFIG) private readonly config: WalletConfig,
  ) {}

  @Get()
  @ApiOperation({ operationId: 'getLandingPage', summary: 'What runs on this port, with links (JSON; HTML when the client accepts text/html)' })
  @ApiOkResponse({
    description: 'The landing page',
    content: {
      'application/json': {
        schema: {
          type: 'object',
          properties: {
            server: { type: 'string' },
            services: { type: 'array', items: { type: 'string' } },
            links: { type: 'array', items: { type: 'object', properties: { href: { type: 'string' }, title: { type: 'string' } }, required: ['href', 'title'] } },
            docs: { type: 'array', items: { type: 'string' } },
          },
          required: ['server', 'services', 'links', 'docs'],
        },
      },
      'text/html': { schema: { type: 'string' } },
    },
  })
  landing(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): LandingPage | string {
    const page = landingPage(this.info, this.config);
    void reply.header('vary', 'accept');
    if (!String(req.headers.accept ?? '').includes('text/html')) return page;
    void reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
    return renderHtml(page);
  }
}
