import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

/**
 * Which destinations the outbound client may connect to.
 *
 * Built in: only globally routable unicast addresses. Everything ipaddr.js
 * classifies otherwise is refused: loopback, RFC 1918 private, link-local
 * (including the cloud metadata address 169.254.169.254), CGNAT 100.64/10,
 * multicast, broadcast, unspecified (0.0.0.0, ::), reserved and documentation
 * ranges, IPv6 unique-local fc00::/7 (including fd00:ec2::254), link-local
 * fe80::/10, site-local, IPv4-mapped ::ffff:0:0/96, IPv4-translated, NAT64
 * 64:ff9b::/96, 6to4 2002::/16 and Teredo 2001::/32 (both embed an IPv4
 * address the check could not see).
 */
export interface AddressPolicyOptions {
  /** Ranges exempt from the built-in block list (tests: `127.0.0.0/8`). Never in production. */
  allowCidrs?: readonly string[];
  /** Ranges refused even when globally routable. Wins over `allowCidrs`. */
  blockCidrs?: readonly string[];
  /** When non-empty, only hosts matching one of these patterns (`example.com`, `*.example.com`). */
  allowHosts?: readonly string[];
  /** Hosts refused whatever they resolve to; same pattern syntax. Wins over `allowHosts`. */
  blockHosts?: readonly string[];
}

function parseCidr(cidr: string): Cidr {
  const [addr, bits] = cidr.includes('/')
    ? ipaddr.parseCIDR(cidr)
    : [ipaddr.parse(cidr), cidr.includes(':') ? 128 : 32];
  return [normalize(addr), addr.kind() === 'ipv6' && normalize(addr).kind() === 'ipv4' ? bits - 96 : bits];
}

/** IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry. */
function normalize(address: Address): Address {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address();
  }
  return address;
}

function inAny(address: Address, cidrs: readonly Cidr[]): boolean {
  return cidrs.some(([net, bits]) => net.kind() === address.kind() && address.match(net, bits));
}

/** Lower-case, without a trailing dot and without IPv6 brackets. */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '').replace(/^\[(.*)\]$/, '$1');
}

function hostMatches(host: string, pattern: string): boolean {
  const p = normalizeHost(pattern);
  if (p.startsWith('*.')) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
  return host === p;
}

export class AddressPolicy {
  private readonly allowCidrs: Cidr[];
  private readonly blockCidrs: Cidr[];
  private readonly allowHosts: readonly string[];
  private readonly blockHosts: readonly string[];

  /** Throws on a malformed CIDR, so bad configuration fails at start. */
  constructor(options: AddressPolicyOptions = {}) {
    this.allowCidrs = (options.allowCidrs ?? []).map(parseCidr);
    this.blockCidrs = (options.blockCidrs ?? []).map(parseCidr);
    this.allowHosts = options.allowHosts ?? [];
    this.blockHosts = options.blockHosts ?? [];
  }

  /** Null when the host name may be fetched, else why not. */
  checkHost(host: string): string | null {
    const h = normalizeHost(host);
    if (this.blockHosts.some((p) => hostMatches(h, p))) return `host ${h} is blocked`;
    if (this.allowHosts.length > 0 && !this.allowHosts.some((p) => hostMatches(h, p))) {
      return `host ${h} is not on the allow list`;
    }
    return null;
  }

  /** Null when a connection to this resolved address is allowed, else why not. */
  checkAddress(ip: string): string | null {
    let parsed: Address;
    try {
      parsed = normalize(ipaddr.parse(normalizeHost(ip)));
    } catch {
      return `${ip} is not an IP address`;
    }
    if (inAny(parsed, this.blockCidrs)) return `address ${parsed.toString()} is blocked by configuration`;
    if (inAny(parsed, this.allowCidrs)) return null;
    const range = parsed.range();
    if (range !== 'unicast') return `address ${parsed.toString()} is in a blocked range (${range})`;
    return null;
  }
}

/** True when `host` is an IPv4 or IPv6 literal (brackets allowed). */
export function isIpLiteral(host: string): boolean {
  return ipaddr.isValid(normalizeHost(host)) && /^[\d.]+$|:/.test(normalizeHost(host));
}
