/*
 * Traffic Selector payload body (RFC 7296 §3.13):
 * | Number of TSs | RESERVED (24 bits) | <Traffic Selectors> |
 * Each selector (§3.13.1):
 * | TS Type | IP Protocol ID | Selector Length (16) | Start Port (16) | End Port (16) |
 * | Starting Address (4 or 16) | Ending Address (4 or 16) |
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ipv4Bytes, ipv6Bytes, ipv6String } from './identity.ts';
import { fail, ok, type Decoded } from './result.ts';

export const TsType = { TS_IPV4_ADDR_RANGE: 7, TS_IPV6_ADDR_RANGE: 8 } as const;

export interface TrafficSelectorEntry {
  readonly type: number;
  readonly protocol: number;
  readonly startPort: number;
  readonly endPort: number;
  readonly start: Uint8Array;
  readonly end: Uint8Array;
}

export function decodeTs(body: Uint8Array): Decoded<TrafficSelectorEntry[]> {
  if (body.length < 4) return fail('INVALID_SYNTAX', 'TS payload shorter than its fixed part', 0);
  const count = body[0] as number;
  const out: TrafficSelectorEntry[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 8 > body.length) return fail('INVALID_SYNTAX', `selector ${i + 1} of ${count} past the payload`, at);
    const type = body[at] as number;
    const length = ((body[at + 2] as number) << 8) | (body[at + 3] as number);
    const size = type === TsType.TS_IPV4_ADDR_RANGE ? 4 : type === TsType.TS_IPV6_ADDR_RANGE ? 16 : 0;
    if (!size) return fail('INVALID_SYNTAX', `unknown traffic selector type ${type}`, at);
    if (length !== 8 + 2 * size || at + length > body.length) return fail('INVALID_SYNTAX', `selector length ${length}`, at + 2);
    out.push({
      type, protocol: body[at + 1] as number,
      startPort: ((body[at + 4] as number) << 8) | (body[at + 5] as number),
      endPort: ((body[at + 6] as number) << 8) | (body[at + 7] as number),
      start: body.slice(at + 8, at + 8 + size), end: body.slice(at + 8 + size, at + length),
    });
    at += length;
  }
  if (at !== body.length) return fail('INVALID_SYNTAX', `${body.length - at} bytes after the last selector`, at);
  return ok(out);
}

export function encodeTs(list: readonly TrafficSelectorEntry[]): Uint8Array {
  const parts = list.map((ts) => {
    const b = new Uint8Array(8 + ts.start.length + ts.end.length);
    b[0] = ts.type;
    b[1] = ts.protocol;
    b[2] = b.length >> 8;
    b[3] = b.length & 0xff;
    b[4] = ts.startPort >> 8;
    b[5] = ts.startPort & 0xff;
    b[6] = ts.endPort >> 8;
    b[7] = ts.endPort & 0xff;
    b.set(ts.start, 8);
    b.set(ts.end, 8 + ts.start.length);
    return b;
  });
  const out = new Uint8Array(4 + parts.reduce((n, p) => n + p.length, 0));
  out[0] = list.length;
  let at = 4;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A selector's protocol and port as tsToString prints them: "192.0.2.1/32[47]", "…[17/1701]". */
const SUFFIX = /^(.+)\[(\d{1,3})(?:\/(\d{1,5}))?\]$/;

/**
 * "10.1.0.0/16", "2001:db8::/64" or a host address, any protocol and port unless given as arguments
 * or as tsToString's suffix ("192.0.2.1/32[47]": GRE only, as GRE over IPsec selects).
 */
export function tsFromPrefix(text: string, protocol = 0, port?: number): TrafficSelectorEntry {
  const suffix = SUFFIX.exec(text);
  if (suffix && (Number(suffix[2]) > 255 || Number(suffix[3] ?? 0) > 0xffff)) throw new RangeError(`not a selector: ${text}`);
  if (suffix) return tsFromPrefix(suffix[1]!, Number(suffix[2]), suffix[3] === undefined ? undefined : Number(suffix[3]));
  const prefix = text;
  const [address = '', bitsText] = prefix.split('/');
  const v4 = isIPv4(address);
  const maxBits = v4 ? 32 : 128;
  // Prefixes come from the validated configuration: anything else is a bug upstream.
  if ((!v4 && !isIPv6(address)) || (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText)) || Number(bitsText ?? 0) > maxBits) throw new RangeError(`not a prefix: ${prefix}`);
  const start = v4 ? ipv4Bytes(address) : ipv6Bytes(address);
  const bits = bitsText === undefined ? start.length * 8 : Number(bitsText);
  const end = start.slice();
  for (let i = 0; i < start.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    start[i] = (start[i] as number) & mask;
    end[i] = (start[i] as number) | (~mask & 0xff);
  }
  return { type: v4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE, protocol, startPort: port ?? 0, endPort: port ?? 0xffff, start, end };
}

const addressText = (b: Uint8Array) => (b.length === 4 ? [...b].join('.') : ipv6String(b));

/** The prefix length when [start, end] is exactly one prefix, else undefined. */
export function prefixLength(start: Uint8Array, end: Uint8Array): number | undefined {
  let bits = 0;
  let inHost = false;
  for (let i = 0; i < start.length; i++) {
    for (let bit = 7; bit >= 0; bit--) {
      const s = ((start[i] as number) >> bit) & 1;
      const e = ((end[i] as number) >> bit) & 1;
      if (!inHost && s === e) bits++;
      else if (!inHost && s === 0 && e === 1) inHost = true;
      else if (!inHost || s !== 0 || e !== 1) return undefined;
    }
  }
  return bits;
}

export function tsToString(ts: TrafficSelectorEntry): string {
  const bits = prefixLength(ts.start, ts.end);
  const range = bits === undefined ? `${addressText(ts.start)}-${addressText(ts.end)}` : `${addressText(ts.start)}/${bits}`;
  const anyPort = ts.startPort === 0 && ts.endPort === 0xffff;
  if (ts.protocol === 0 && anyPort) return range;
  const port = anyPort ? '' : ts.startPort === ts.endPort ? `/${ts.startPort}` : `/${ts.startPort}-${ts.endPort}`;
  return `${range}[${ts.protocol}${port}]`;
}
