/**
 * Framed-IPv6-Prefix (RFC 3162 §2.3) and Framed-Interface-Id (§2.2): the /64 a RADIUS server gives a
 * PPP session, and the interface identifier it uses there. Pure; decoding never throws: a value that
 * cannot be read is named in `refused`.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |    Length     |  Reserved     | Prefix-Length |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       Prefix (0 to 16 octets)                 |
 *
 * Length is 4 to 20; servers send the prefix in full (16 octets) or only the octets it covers.
 */
import { ipv6Text, parseIp } from '../util/ip.ts';
import { Attr } from './attributes.ts';
import type { RadiusAttribute } from './packet.ts';

/** "2001:db8:5::/64" (RFC 5952, the prefix's own bits only), or why not. */
export function decodeFramedIpv6Prefix(value: Uint8Array): { prefix: string; length: number } | { refused: string } {
  if (value.length < 2 || value.length > 18) return { refused: `Framed-IPv6-Prefix of ${value.length} value octets (2 to 18)` };
  const length = value[1]!;
  if (length > 128) return { refused: `Framed-IPv6-Prefix length ${length}` };
  const carried = value.subarray(2);
  if (carried.length * 8 < length) return { refused: `Framed-IPv6-Prefix /${length} in ${carried.length} octets` };
  const bytes = new Uint8Array(16);
  bytes.set(carried);
  // §2.3: bits past Prefix-Length, if sent, must be zero: a value with them set is not what it says.
  for (let bit = length; bit < 128; bit++) {
    if ((bytes[bit >> 3]! & (0x80 >> (bit & 7))) !== 0) return { refused: `Framed-IPv6-Prefix ${ipv6Text(bytes)}/${length} has bits set past its length` };
  }
  return { prefix: `${ipv6Text(bytes)}/${length}`, length };
}

/** The attribute for an accounting record: the prefix in full (16 octets), as most servers send it. */
export function framedIpv6PrefixAttr(prefix: string): RadiusAttribute {
  const [address = '', lengthText = ''] = prefix.split('/');
  const ip = parseIp(address);
  const length = Number(lengthText);
  if (ip?.family !== 6 || !/^\d{1,3}$/.test(lengthText) || length > 128) throw new RangeError(`'${prefix}' is not an IPv6 prefix`);
  return { type: Attr.FramedIpv6Prefix, value: Uint8Array.from([0, length, ...ip.bytes]) };
}

/** Framed-Interface-Id (§2.2): the low 64 bits of the session's address. */
export function framedInterfaceIdAttr(address: string): RadiusAttribute {
  const ip = parseIp(address);
  if (ip?.family !== 6) throw new RangeError(`'${address}' is not an IPv6 address`);
  return { type: Attr.FramedInterfaceId, value: Uint8Array.from(ip.bytes.subarray(8)) };
}
