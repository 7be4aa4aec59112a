import { isIPv4, isIPv6 } from 'node:net';

export interface ParsedIp {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Buffer;
}

/** Parses a textual IPv4 or IPv6 address; undefined when it is neither. */
export function parseIp(text: string): ParsedIp | undefined {
  if (isIPv4(text)) return { family: 4, bytes: Buffer.from(text.split('.').map(Number)) };
  if (!isIPv6(text)) return undefined;
  let address = text.split('%')[0] as string;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (v4) {
    const b = (v4[1] as string).split('.').map(Number) as [number, number, number, number];
    address = `${address.slice(0, v4.index)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  return { family: 6, bytes };
}

export interface ParsedPrefix extends ParsedIp {
  readonly length: number;
}

/** "10.0.0.0/8", "2001:db8::/32", or a bare address (a host prefix). */
export function parsePrefix(text: string): ParsedPrefix | undefined {
  const [address = '', lengthText] = text.split('/');
  const ip = parseIp(address);
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  if (lengthText === undefined) return { ...ip, length: max };
  if (!/^\d{1,3}$/.test(lengthText)) return undefined;
  const length = Number(lengthText);
  return length <= max ? { ...ip, length } : undefined;
}

/** Whether `address` (4 or 16 bytes) lies inside `prefix` (same family). */
export function prefixContains(prefix: ParsedPrefix, address: Uint8Array): boolean {
  if (address.length !== prefix.bytes.length) return false;
  for (let bit = 0; bit < prefix.length; bit++) {
    const mask = 0x80 >> (bit & 7);
    if (((address[bit >> 3]! ^ prefix.bytes[bit >> 3]!) & mask) !== 0) return false;
  }
  return true;
}

/** RFC 5952 §4: lower-case hex, no leading zeros, the longest run (two or more, the first on a tie) of zero groups as "::". */
export function ipv6Text(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new Error(`IPv6 address of ${bytes.length} bytes`);
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  return best < 0 ? hex.join(':') : `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

/** A dotted quad, or RFC 5952 text for 16 bytes. */
export function ipText(bytes: Uint8Array): string {
  return bytes.length === 4 ? Array.from(bytes).join('.') : ipv6Text(bytes);
}

/** Whether two texts name the same address ("2001:db8::2" and "2001:db8:0:0:0:0:0:2"); otherwise whether they are equal. */
export function sameAddressText(a: string, b: string): boolean {
  const x = parseIp(a);
  const y = parseIp(b);
  return x && y ? x.bytes.equals(y.bytes) : a === b;
}
