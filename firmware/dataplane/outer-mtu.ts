import { isIPv6 } from 'node:net';

/**
 * The inner MTU a tunnel's MSS clamp works to, by the family of its outer addresses (issue 24).
 * The shared TUN's MTU (1400) leaves room for ESP in UDP over IPv4 with the largest overhead
 * Postern negotiates (20 IP + 8 UDP + 8 ESP + 16 IV + 16 ICV + 2 trailer + 15 padding = 85 bytes
 * on a 1500-byte link); an IPv6 outer header is 20 bytes longer (40 instead of 20, RFC 8200 §3),
 * so tunnels over IPv6 clamp TCP 20 bytes lower and their segments still fit the link unfragmented.
 */
export const IPV6_EXTRA_HEADER = 20;

export function tunnelMtu(sharedMtu: number, outerAddress: string): number {
  return isIPv6(outerAddress) ? sharedMtu - IPV6_EXTRA_HEADER : sharedMtu;
}
