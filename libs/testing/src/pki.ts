import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JWK } from 'jose';

/** A small PKI made with the `openssl` command: root CA -> intermediate CA -> leaf (P-256), each valid 30 days from now. */
export interface TestPki {
  rootPem: string;
  /** `x5c` of the leaf: leaf then intermediate, base64 DER. */
  x5c: string[];
  leafPrivateJwk: JWK;
  leafKeyPem: string;
  leafPem: string;
  /** Leaf then intermediate, PEM: what a server configures as its certificate chain. */
  chainPem: string;
}

export interface TestPkiOptions {
  /** subjectAltName of the leaf, e.g. `DNS:verifier.example,URI:https://issuer.example`. */
  leafSan: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createTestPki(options: TestPkiOptions): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'wallet-pki-'));
  try {
    const key = (name: string) => openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
    key('root');
    key('inter');
    key('leaf');
    writeFileSync(
      join(dir, 'ext.cnf'),
      [
        '[ca]',
        'basicConstraints=critical,CA:TRUE',
        'keyUsage=critical,keyCertSign,cRLSign',
        '[leaf]',
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        `subjectAltName=${options.leafSan}`,
        '',
      ].join('\n'),
    );
    openssl(dir, ['req', '-x509', '-new', '-key', 'root.key', '-subj', '/CN=Test Root', '-days', '30', '-out', 'root.pem', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    openssl(dir, ['req', '-new', '-key', 'inter.key', '-subj', '/CN=Test Intermediate', '-out', 'inter.csr']);
    openssl(dir, ['x509', '-req', '-in', 'inter.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', '30', '-extfile', 'ext.cnf', '-extensions', 'ca', '-out', 'inter.pem']);
    openssl(dir, ['req', '-new', '-key', 'leaf.key', '-subj', '/CN=Test Leaf', '-out', 'leaf.csr']);
    openssl(dir, ['x509', '-req', '-in', 'leaf.csr', '-CA', 'inter.pem', '-CAkey', 'inter.key', '-CAcreateserial', '-days', '30', '-extfile', 'ext.cnf', '-extensions', 'leaf', '-out', 'leaf.pem']);
    const der = (name: string) => new X509Certificate(readFileSync(join(dir, `${name}.pem`))).raw.toString('base64');
    return {
      rootPem: readFileSync(join(dir, 'root.pem'), 'utf8'),
      x5c: [der('leaf'), der('inter')],
      leafPrivateJwk: createPrivateKey(readFileSync(join(dir, 'leaf.key'))).export({ format: 'jwk' }) as JWK,
      leafKeyPem: createPrivateKey(readFileSync(join(dir, 'leaf.key'))).export({ format: 'pem', type: 'pkcs8' }).toString(),
      leafPem: readFileSync(join(dir, 'leaf.pem'), 'utf8'),
      chainPem: readFileSync(join(dir, 'leaf.pem'), 'utf8') + readFileSync(join(dir, 'inter.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
