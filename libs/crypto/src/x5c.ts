import { X509Certificate, type KeyObject } from 'node:crypto';

export class CertificateChainError extends Error {
  readonly code = 'certificate_invalid' as const;
  constructor(message: string) {
    super(message);
    this.name = 'CertificateChainError';
  }
}

export interface ValidateX5cOptions {
  /** Trust anchors: PEM certificates (one or several per string). */
  trustedRoots: readonly string[];
  now?: Date;
  /** At most this many certificates in `x5c` (default 5). */
  maxLength?: number;
}

export interface ValidatedChain {
  leaf: X509Certificate;
  publicKey: KeyObject;
}

/** Parses every certificate in one or more PEM strings. */
export function parsePemCertificates(pems: readonly string[]): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const pem of pems) {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    for (const block of blocks) out.push(new X509Certificate(block));
  }
  return out;
}

function withinValidity(cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validFrom).getTime() <= now.getTime() && now.getTime() <= new Date(cert.validTo).getTime();
}

/**
 * Validates a JOSE `x5c` chain (leaf first, base64 DER) up to a configured
 * trust anchor: each certificate is issued and signed by the next, every one
 * is within its validity period, intermediates are CAs, and the chain ends in
 * (or is signed by) a trusted root. Returns the leaf's public key. Revocation
 * (CRL/OCSP) is not checked.
 */
export function validateX5c(x5c: unknown, options: ValidateX5cOptions): ValidatedChain {
  const now = options.now ?? new Date();
  const max = options.maxLength ?? 5;
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > max || !x5c.every((c) => typeof c === 'string')) {
    throw new CertificateChainError(`x5c must be 1 to ${max} base64 certificates`);
  }
  let chain: X509Certificate[];
  try {
    chain = (x5c as string[]).map((c) => new X509Certificate(Buffer.from(c, 'base64')));
  } catch {
    throw new CertificateChainError('x5c holds a certificate that does not parse');
  }
  const roots = parsePemCertificates(options.trustedRoots);
  if (roots.length === 0) throw new CertificateChainError('no trusted root certificates are configured');
  chain.forEach((cert, i) => {
    if (!withinValidity(cert, now)) throw new CertificateChainError(`certificate ${i} of x5c is expired or not yet valid`);
    const next = chain[i + 1];
    if (next) {
      if (!next.ca) throw new CertificateChainError(`certificate ${i + 1} of x5c is not a CA`);
      if (!cert.checkIssued(next) || !cert.verify(next.publicKey)) {
        throw new CertificateChainError(`certificate ${i} of x5c is not signed by the next one`);
      }
    }
  });
  const leaf = chain[0];
  const last = chain.at(-1);
  if (!leaf || !last) throw new CertificateChainError('x5c is empty');
  const anchored = roots.some(
    (root) =>
      withinValidity(root, now) &&
      (root.fingerprint256 === last.fingerprint256 || (root.ca && last.checkIssued(root) && last.verify(root.publicKey))),
  );
  if (!anchored) throw new CertificateChainError('the x5c chain does not lead to a trusted root');
  return { leaf, publicKey: leaf.publicKey };
}

/** DNS names and URIs in a certificate's subjectAltName. */
export function subjectAltNames(cert: X509Certificate): { dns: string[]; uri: string[] } {
  const dns: string[] = [];
  const uri: string[] = [];
  for (const entry of (cert.subjectAltName ?? '').split(/,\s*/)) {
    if (entry.startsWith('DNS:')) dns.push(entry.slice(4).toLowerCase());
    else if (entry.startsWith('URI:')) uri.push(entry.slice(4));
  }
  return { dns, uri };
}

/** Whether the certificate names `issuer` (an https URL): a SAN URI equal to it, or a SAN DNS name equal to its host. */
export function certificateNamesIssuer(cert: X509Certificate, issuer: string): boolean {
  const { dns, uri } = subjectAltNames(cert);
  if (uri.includes(issuer)) return true;
  try {
    const url = new URL(issuer);
    return url.protocol === 'https:' && dns.includes(url.hostname.toLowerCase());
  } catch {
    return false;
  }
}
