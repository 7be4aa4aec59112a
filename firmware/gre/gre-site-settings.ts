/**
 * A GRE site's settings as the shell uses them (issue 25), derived from the configuration: the
 * interface name, the two tunnel addresses, the MTU and the keepalive timing. Pure.
 */
import type { GreSiteConfig, SiteConfig } from '../config/types.ts';

/** Linux interface names hold 15 bytes (IFNAMSIZ 16 with the NUL). */
export const IFNAME_MAX = 15;
const OUTER_IPV4 = 20;
const GRE_BASE = 4;
const GRE_FIELD = 4;

export interface GreSiteSettings {
  readonly site: string;
  readonly interfaceName: string;
  /** The outer peer: the site's `remote`, an IPv4 address. */
  readonly remote: string;
  readonly address: string;
  readonly prefixLength: number;
  readonly peerAddress: string;
  readonly mtu: number;
  readonly key: number | undefined;
  /** Checksums (RFC 2784 §2.5) and sequence numbers (RFC 2890 §2.2): sent, and required on receipt. */
  readonly checksum: boolean;
  readonly sequence: boolean;
  /** 0: keepalives off. */
  readonly keepaliveMs: number;
  readonly keepaliveRetries: number;
  readonly remoteSubnets: readonly string[];
  /** GRE over IPsec: carried by the IKE subsystem's transport SA, never sent plain. */
  readonly ipsec: boolean;
  /** IPv6 inside the tunnel: this end's address with its prefix length ("fd00:255::1/64"). */
  readonly address6?: string;
  /** The interface's IPv6 link-local address (linkLocalFor): what OSPFv3 and RIPng speak from. */
  readonly linkLocal6: string;
}

/**
 * fe80::<the tunnel's IPv4 address>/64, as Linux gives its own GRE interfaces one from an IPv4
 * address: unique on the link (the two ends' IPv4 addresses differ) and the same after a restart.
 */
export function linkLocalFor(address: string): string {
  const n = toInt(address) ?? 0;
  return `fe80::${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}/64`;
}

/** `gre-<site>`, cut to 15 bytes; characters an interface name should not hold become '_'. */
export function greInterfaceName(site: string): string {
  return `gre-${site.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, IFNAME_MAX);
}

/** 1500 less the outer IPv4 header, GRE's 4 bytes and 4 for each optional field in use. */
export function defaultGreMtu(gre: Pick<GreSiteConfig, 'key' | 'checksum' | 'sequence'>): number {
  const fields = (gre.key !== undefined ? 1 : 0) + (gre.checksum ? 1 : 0) + (gre.sequence ? 1 : 0);
  return 1500 - OUTER_IPV4 - GRE_BASE - GRE_FIELD * fields;
}

const toInt = (a: string): number | undefined => {
  const parts = a.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
};
const toText = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** "10.255.0.1/30" → address and prefix length, or undefined. */
export function splitAddress(text: string): { address: string; prefixLength: number } | undefined {
  const [address = '', length = ''] = text.split('/');
  const prefixLength = Number(length);
  if (toInt(address) === undefined || !/^\d{1,2}$/.test(length) || prefixLength > 32) return undefined;
  return { address, prefixLength };
}

/** The other host of a /31 (RFC 3021) or of a /30's two usable addresses; undefined for anything else. */
export function otherEnd(address: string, prefixLength: number): string | undefined {
  const a = toInt(address);
  if (a === undefined) return undefined;
  if (prefixLength === 31) return toText((a ^ 1) >>> 0);
  if (prefixLength !== 30) return undefined;
  const host = a & 3;
  return host === 1 ? toText(a + 1) : host === 2 ? toText(a - 1) : undefined;
}

/** Whether `b` is inside the network of `a`/`prefixLength`. */
export function sameNetwork(a: string, b: string, prefixLength: number): boolean {
  const x = toInt(a);
  const y = toInt(b);
  if (x === undefined || y === undefined) return false;
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return ((x & mask) >>> 0) === ((y & mask) >>> 0);
}

/** Settings for a valid GRE site (validation has checked what this relies on); undefined otherwise. */
export function greSiteSettings(site: SiteConfig): GreSiteSettings | undefined {
  const gre = site.gre;
  const own = gre && splitAddress(gre.address);
  if (site.protocol !== 'gre' || !gre || !own) return undefined;
  const peerAddress = gre.peerAddress ?? otherEnd(own.address, own.prefixLength);
  if (!peerAddress) return undefined;
  return {
    site: site.name, interfaceName: greInterfaceName(site.name), remote: site.remote,
    address: own.address, prefixLength: own.prefixLength, peerAddress,
    mtu: gre.mtu ?? defaultGreMtu(gre), key: gre.key, checksum: gre.checksum === true, sequence: gre.sequence === true,
    keepaliveMs: (gre.keepaliveSeconds ?? 10) * 1000, keepaliveRetries: gre.keepaliveRetries ?? 3,
    remoteSubnets: site.remoteSubnets, ipsec: gre.ipsec === true, linkLocal6: linkLocalFor(own.address), ...(gre.address6 !== undefined ? { address6: gre.address6 } : {}),
  };
}
