/*
 * Identification payload body (RFC 7296 §3.5):
 * | ID Type | RESERVED (24 bits) | Identification Data ... |
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ipv6Text } from '../../util/ip.ts';
import { fail, ok, type Decoded } from './result.ts';

export const IdType = { ID_IPV4_ADDR: 1, ID_FQDN: 2, ID_RFC822_ADDR: 3, ID_IPV6_ADDR: 5, ID_DER_ASN1_DN: 9, ID_KEY_ID: 11 } as const;

export interface IdPayload {
  readonly type: number;
  readonly data: Uint8Array;
}

export function decodeId(body: Uint8Array): Decoded<IdPayload> {
  if (body.length < 5) return fail('INVALID_SYNTAX', 'ID payload without identification data', 0);
  const type = body[0] as number;
  const data = body.slice(4);
  if (type === IdType.ID_IPV4_ADDR && data.length !== 4) return fail('INVALID_SYNTAX', `IPv4 ID of ${data.length} bytes`, 4);
  if (type === IdType.ID_IPV6_ADDR && data.length !== 16) return fail('INVALID_SYNTAX', `IPv6 ID of ${data.length} bytes`, 4);
  return ok({ type, data });
}

export function encodeId(id: IdPayload): Uint8Array {
  const out = new Uint8Array(4 + id.data.length);
  out[0] = id.type;
  out.set(id.data, 4);
  return out;
}

/** Anything but a plain dotted quad, read as ipv4Bytes always read it. */
const splitReading = (address: string): Uint8Array => Uint8Array.from(address.split('.').map(Number));

/** A dotted quad's four bytes, read in one pass (several per IKE message: NAT-D, selectors, IDs). */
export function ipv4Bytes(address: string): Uint8Array {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 0x2e && digits > 0 && part < 3) {
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      value = value * 10 + (c - 0x30);
      digits++;
    } else return splitReading(address);
  }
  if (part !== 3 || digits === 0) return splitReading(address);
  out[3] = value;
  return out;
}

export function ipv6Bytes(address: string): Uint8Array {
  const [head = '', tail] = address.split('::');
  const words = (s: string) => (s ? s.split(':') : []);
  const left = words(head);
  const right = tail === undefined ? [] : words(tail);
  // An embedded IPv4 tail ("::ffff:192.0.2.1") counts as two words.
  const expand = (list: string[]) => list.flatMap((w) => (w.includes('.') ? (([a, b, c, d]) => [((a! << 8) | b!).toString(16), ((c! << 8) | d!).toString(16)])([...ipv4Bytes(w)]) : [w]));
  const l = expand(left);
  const r = expand(right);
  const all = [...l, ...new Array<string>(8 - l.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    const v = parseInt(w, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

export function ipv6String(b: Uint8Array): string {
  return ipv6Text(b);
}

/** "192.0.2.1", "2001:db8::1", "user@example.com", "vpn.example.com", "keyid:…" or "dn:<DER hex>" as an ID. */
export function idFromString(s: string): IdPayload {
  if (isIPv4(s)) return { type: IdType.ID_IPV4_ADDR, data: ipv4Bytes(s) };
  if (isIPv6(s)) return { type: IdType.ID_IPV6_ADDR, data: ipv6Bytes(s) };
  if (s.startsWith('keyid:')) return { type: IdType.ID_KEY_ID, data: Buffer.from(s.slice(6), 'utf8') };
  if (/^dn:([0-9a-f]{2})+$/i.test(s)) return { type: IdType.ID_DER_ASN1_DN, data: Buffer.from(s.slice(3), 'hex') };
  if (s.includes('@')) return { type: IdType.ID_RFC822_ADDR, data: Buffer.from(s, 'utf8') };
  return { type: IdType.ID_FQDN, data: Buffer.from(s, 'utf8') };
}

export function idToString(id: IdPayload): string {
  switch (id.type) {
    case IdType.ID_IPV4_ADDR: return [...id.data].join('.');
    case IdType.ID_IPV6_ADDR: return ipv6String(id.data);
    case IdType.ID_FQDN:
    case IdType.ID_RFC822_ADDR: return Buffer.from(id.data).toString('utf8');
    case IdType.ID_KEY_ID: return `keyid:${Buffer.from(id.data).toString('utf8')}`;
    default: return `${id.type === IdType.ID_DER_ASN1_DN ? 'dn' : `id${id.type}`}:${Buffer.from(id.data).toString('hex')}`;
  }
}
