import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PID = 'https://credentials.example.com/pid';
export const ISSUER = 'https://issuer.example';
export const APP_CALLBACK = 'https://app.example/callback';
const HOLDER_SCRIPT = join(__dirname, 'holder-wallet.mjs');
/** The verifier's public origin, as behind a TLS-terminating proxy; the wallet maps it to the test process. */
export const PUBLIC = 'https://verifier.example';

export interface WalletResult {
  status?: number;
  body?: Record<string, unknown> | string;
  clientId?: string;
  responseMode?: string;
  error?: string;
}

/** Runs the third-party wallet as its own process (the @openid4vc packages are ESM-only). */
export function runWallet(input: Record<string, unknown>): Promise<WalletResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [HOLDER_SCRIPT, JSON.stringify(input)], { timeout: 30_000 }, (error, stdout) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as WalletResult);
      } catch {
        reject(error ?? new Error(`wallet printed no result: ${stdout}`));
      }
    });
  });
}

export const servicesYaml = (dir: string, issuerRoot: string, extraScopes: Record<string, unknown> = {}, extraServices: Array<Record<string, unknown>> = []) => {
  const file = join(dir, 'services.yaml');
  const scope = (claims: string[] | null, token: Record<string, unknown>) => ({
    dcql: {
      credentials: [
        {
          id: 'pid',
          format: 'dc+sd-jwt',
          meta: { vct_values: [PID] },
          claims: [{ path: ['given_name'] }, { path: ['address', 'country'], values: ['DE', 'AT'] }],
        },
      ],
    },
    trust: [{ type: PID, issuers: [{ id: ISSUER, ...(claims ? { claims } : {}) }] }],
    token,
  });
  const service = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    defaultScope: 'login',
    scopes: {
      login: scope(null, { type: 'mapping', claims: { first_name: 'pid.given_name', country: 'pid.address.country' } }),
      whole: scope(null, { type: 'credential' }),
      narrow: scope(['given_name'], { type: 'flat' }),
      pex: {
        presentationDefinition: {
          id: 'pid-pd',
          input_descriptors: [
            {
              id: 'pid',
              format: { 'vc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] } },
              constraints: {
                limit_disclosure: 'required',
                fields: [
                  { path: ['$.vct'], filter: { type: 'string', const: PID } },
                  { path: ['$.given_name'] },
                  { path: ['$.address.country'], filter: { type: 'string', enum: ['DE', 'AT'] } },
                ],
              },
            },
          ],
        },
        trust: [{ type: PID, issuers: [{ id: ISSUER }] }],
        token: { type: 'flat' },
      },
      ...extraScopes,
    },
    redirectUris: [APP_CALLBACK],
    ...extra,
  });
  writeFileSync(
    file,
    JSON.stringify({
      services: [
        service('shop'),
        service('shop-x509', { clientIdPrefix: 'x509_san_dns' }),
        service('shop-hash', { clientIdPrefix: 'x509_hash' }),
        ...extraServices.map(({ id, ...extra }) => service(String(id), extra)),
      ],
    }),
  );
  writeFileSync(join(dir, 'roots.pem'), issuerRoot);
  return file;
};

