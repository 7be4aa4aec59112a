import { parseIp } from './ip.ts';

/**
 * The grouping key of a peer address: the IPv4 address itself (also when it arrives IPv4-mapped on a
 * dual-stack socket), or the /64 of an IPv6 address, since one host may hold a whole /64.
 */
export function sourceKey(address: string): string {
  const ip = parseIp(address);
  if (!ip) return address;
  const b = ip.bytes;
  if (ip.family === 4) return [...b].join('.');
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return [...b.subarray(12)].join('.');
  const groups = [0, 2, 4, 6].map((i) => b.readUInt16BE(i).toString(16));
  return `${groups.join(':')}::/64`;
}
