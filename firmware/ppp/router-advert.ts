/*
 * The ICMPv6 Router Advertisement a gateway sends down a PPP link once IPV6CP is up, and the Router
 * Solicitation that asks for it (RFC 4861 §4.1, §4.2), inside a bare IPv6 header (RFC 8200 §3):
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |Version| Traffic Class |           Flow Label                  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |         Payload Length        |  Next Header  |   Hop Limit   |   Next Header 58, Hop Limit 255
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                  Source Address (128)                         |   link-local
 *  |                  Destination Address (128)                    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     Type      |     Code      |          Checksum             |   RA: 134, RS: 133; Code 0
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Cur Hop Limit |M|O|  Reserved |       Router Lifetime         |   RS: Reserved (32)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         Reachable Time                        |   RA only
 *  |                          Retrans Timer                        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   Options ...  | Type | Length (units of 8 octets) | ...
 *
 * Options (RFC 4861 §4.6), Length counting 8-octet units and never 0:
 *  | 3  | 4      | Prefix Length | L|A|Rsvd | Valid Lifetime | Preferred Lifetime | Rsvd2 | Prefix (128) | §4.6.2
 *  | 5  | 1      | Reserved (16) | MTU (32)                                                        | §4.6.4
 *  | 25 | 1 + 2n | Reserved (16) | Lifetime (32) | n Recursive DNS Server addresses (128 each)     | RFC 8106 §5.1
 *
 * The ICMPv6 Checksum covers a pseudo-header (Source, Destination, Upper-Layer Packet Length (32),
 * three zero bytes, Next Header 58) and the whole ICMPv6 message (RFC 8200 §8.1, RFC 4443 §2.3).
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';

const IPV6_HEADER_LENGTH = 40;
const NEXT_HEADER_ICMPV6 = 58;
/** RFC 4861 §6.1: Neighbor Discovery packets are sent, and only accepted, with Hop Limit 255. */
const ND_HOP_LIMIT = 255;

export const Icmpv6Type = { RouterSolicitation: 133, RouterAdvertisement: 134 } as const;
export const NdOption = { PrefixInformation: 3, Mtu: 5, RecursiveDnsServer: 25 } as const;

export interface PrefixInformation {
  readonly prefix: Uint8Array;
  readonly length: number;
  /** L: the prefix is on-link (§4.6.2). */
  readonly onLink: boolean;
  /** A: hosts may form addresses from it by SLAAC (RFC 4862 §5.5.3). */
  readonly autonomous: boolean;
  readonly validLifetime: number;
  readonly preferredLifetime: number;
}

export interface RecursiveDnsServer {
  readonly lifetime: number;
  readonly servers: readonly Uint8Array[];
}

export interface RouterAdvertisementInput {
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  readonly curHopLimit: number;
  /** Seconds; 0 means "not a default router" (§4.2). */
  readonly routerLifetime: number;
  readonly prefix: PrefixInformation;
  readonly mtu?: number;
  readonly rdnss?: RecursiveDnsServer;
  /** M and O flags (§4.2): addresses / other configuration by DHCPv6; both off by default. */
  readonly managed?: boolean;
  readonly other?: boolean;
  /** Milliseconds, 0 = unspecified (§4.2). */
  readonly reachableTime?: number;
  readonly retransTimer?: number;
}

export interface RouterAdvertisement {
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  readonly curHopLimit: number;
  readonly managed: boolean;
  readonly other: boolean;
  readonly routerLifetime: number;
  readonly reachableTime: number;
  readonly retransTimer: number;
  /** Every Prefix Information option, in order. */
  readonly prefixes: readonly PrefixInformation[];
  readonly mtu: number | undefined;
  /** Every RDNSS option, in order (RFC 8106 allows several). */
  readonly rdnss: readonly RecursiveDnsServer[];
}

export type RouterSolicitationResult = { readonly ok: true; readonly source: Uint8Array } | { readonly ok: false; readonly reason: string };

const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
function put32(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 24;
  b[at + 1] = (value >>> 16) & 0xff;
  b[at + 2] = (value >>> 8) & 0xff;
  b[at + 3] = value & 0xff;
}

/** Ones' complement sum of 16-bit words, folded (RFC 1071); an odd last byte is padded with zero. */
function sum16(bytes: Uint8Array, start: number): number {
  let sum = start;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function pseudoHeaderSum(source: Uint8Array, destination: Uint8Array, length: number): number {
  const pseudo = new Uint8Array(40);
  pseudo.set(source, 0);
  pseudo.set(destination, 16);
  put32(pseudo, 32, length);
  pseudo[39] = NEXT_HEADER_ICMPV6;
  return sum16(pseudo, 0);
}

/**
 * RFC 8200 §8.1, RFC 4443 §2.3: the checksum to put in `icmp`'s Checksum field (bytes 2 and 3, taken
 * as zero here whatever they hold).
 */
export function icmpv6Checksum(source: Uint8Array, destination: Uint8Array, icmp: Uint8Array): number {
  if (source.length !== 16 || destination.length !== 16) throw new Error('IPv6 addresses are 16 bytes');
  const zeroed = icmp.slice();
  if (zeroed.length >= 4) zeroed[2] = zeroed[3] = 0;
  return ~sum16(zeroed, pseudoHeaderSum(source, destination, icmp.length)) & 0xffff;
}

/** A received message is intact when the sum over everything, its checksum included, is all ones. */
function checksumHolds(source: Uint8Array, destination: Uint8Array, icmp: Uint8Array): boolean {
  return sum16(icmp, pseudoHeaderSum(source, destination, icmp.length)) === 0xffff;
}

function checkRange(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new Error(`${name} ${value} is outside 0..${max}`);
}

function checkAddress(name: string, a: Uint8Array): void {
  if (a.length !== 16) throw new Error(`${name} of ${a.length} bytes`);
}

/** §4.6.2: the bits after Prefix Length are reserved and MUST be sent as zero. */
function maskPrefix(prefix: Uint8Array, length: number): Uint8Array {
  const out = prefix.slice();
  for (let bit = length; bit < 128; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

function encodePrefixOption(p: PrefixInformation): Uint8Array {
  checkAddress('prefix', p.prefix);
  checkRange('prefix length', p.length, 128);
  checkRange('valid lifetime', p.validLifetime, 0xffffffff);
  checkRange('preferred lifetime', p.preferredLifetime, 0xffffffff);
  const o = new Uint8Array(32);
  o[0] = NdOption.PrefixInformation;
  o[1] = 4;
  o[2] = p.length;
  o[3] = (p.onLink ? 0x80 : 0) | (p.autonomous ? 0x40 : 0);
  put32(o, 4, p.validLifetime);
  put32(o, 8, p.preferredLifetime);
  o.set(maskPrefix(p.prefix, p.length), 16);
  return o;
}

function encodeMtuOption(mtu: number): Uint8Array {
  checkRange('MTU', mtu, 0xffffffff);
  const o = new Uint8Array(8);
  o[0] = NdOption.Mtu;
  o[1] = 1;
  put32(o, 4, mtu);
  return o;
}

function encodeRdnssOption(r: RecursiveDnsServer): Uint8Array {
  // RFC 8106 §5.1: at least one address; Length is 1 + 2 per address and fits one byte.
  if (r.servers.length === 0 || r.servers.length > 127) throw new Error(`RDNSS with ${r.servers.length} servers`);
  checkRange('RDNSS lifetime', r.lifetime, 0xffffffff);
  const o = new Uint8Array(8 + 16 * r.servers.length);
  o[0] = NdOption.RecursiveDnsServer;
  o[1] = 1 + 2 * r.servers.length;
  put32(o, 4, r.lifetime);
  r.servers.forEach((s, i) => {
    checkAddress('RDNSS server', s);
    o.set(s, 8 + 16 * i);
  });
  return o;
}

/** A complete IPv6 packet carrying the Router Advertisement; throws only on inputs out of range. */
export function encodeRouterAdvertisement(o: RouterAdvertisementInput): Uint8Array {
  checkAddress('source', o.source);
  checkAddress('destination', o.destination);
  checkRange('Cur Hop Limit', o.curHopLimit, 255);
  checkRange('Router Lifetime', o.routerLifetime, 0xffff);
  checkRange('Reachable Time', o.reachableTime ?? 0, 0xffffffff);
  checkRange('Retrans Timer', o.retransTimer ?? 0, 0xffffffff);
  const options = [encodePrefixOption(o.prefix)];
  if (o.mtu !== undefined) options.push(encodeMtuOption(o.mtu));
  if (o.rdnss !== undefined) options.push(encodeRdnssOption(o.rdnss));
  const icmpLength = 16 + options.reduce((n, x) => n + x.length, 0);
  if (icmpLength > 0xffff) throw new Error(`Router Advertisement of ${icmpLength} bytes`);

  const packet = new Uint8Array(IPV6_HEADER_LENGTH + icmpLength);
  packet[0] = 0x60; // Version 6, Traffic Class 0, Flow Label 0
  packet[4] = icmpLength >> 8;
  packet[5] = icmpLength & 0xff;
  packet[6] = NEXT_HEADER_ICMPV6;
  packet[7] = ND_HOP_LIMIT;
  packet.set(o.source, 8);
  packet.set(o.destination, 24);
  const icmp = packet.subarray(IPV6_HEADER_LENGTH);
  icmp[0] = Icmpv6Type.RouterAdvertisement;
  icmp[4] = o.curHopLimit;
  icmp[5] = (o.managed ? 0x80 : 0) | (o.other ? 0x40 : 0);
  icmp[6] = o.routerLifetime >> 8;
  icmp[7] = o.routerLifetime & 0xff;
  put32(icmp, 8, o.reachableTime ?? 0);
  put32(icmp, 12, o.retransTimer ?? 0);
  let at = 16;
  for (const x of options) {
    icmp.set(x, at);
    at += x.length;
  }
  const checksum = icmpv6Checksum(o.source, o.destination, icmp);
  icmp[2] = checksum >> 8;
  icmp[3] = checksum & 0xff;
  return packet;
}

interface Icmpv6Message {
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  /** The ICMPv6 message, exactly Payload Length bytes. */
  readonly icmp: Uint8Array;
}

/**
 * Validates what RFC 4861 §6.1.1 and §6.1.2 ask of every Router Solicitation and Advertisement: a
 * bare IPv6 header with Next Header 58 and Hop Limit 255, the right Type, Code 0, at least `minLength`
 * bytes of ICMPv6, and a checksum that holds.
 */
function openNdMessage(packet: Uint8Array, type: number, minLength: number): Decoded<Icmpv6Message> {
  if (packet.length < IPV6_HEADER_LENGTH) return fail('TRUNCATED', `IPv6 packet of ${packet.length} bytes`, 0);
  if (packet[0]! >> 4 !== 6) return fail('INVALID_SYNTAX', `IP version ${packet[0]! >> 4}`, 0);
  const payloadLength = u16(packet, 4);
  if (payloadLength > packet.length - IPV6_HEADER_LENGTH) return fail('TRUNCATED', `Payload Length ${payloadLength} but ${packet.length - IPV6_HEADER_LENGTH} bytes`, 4);
  // Extension headers are not expected before Neighbor Discovery messages on a PPP link.
  if (packet[6] !== NEXT_HEADER_ICMPV6) return fail('INVALID_SYNTAX', `Next Header ${packet[6]} is not ICMPv6`, 6);
  if (packet[7] !== ND_HOP_LIMIT) return fail('INVALID_SYNTAX', `Hop Limit ${packet[7]} is not 255 (RFC 4861 §6.1)`, 7);
  const source = packet.slice(8, 24);
  const destination = packet.slice(24, 40);
  const icmp = packet.slice(IPV6_HEADER_LENGTH, IPV6_HEADER_LENGTH + payloadLength);
  if (icmp.length < minLength) return fail('TRUNCATED', `ICMPv6 message of ${icmp.length} bytes, below ${minLength}`, IPV6_HEADER_LENGTH);
  if (icmp[0] !== type) return fail('INVALID_SYNTAX', `ICMPv6 Type ${icmp[0]}, not ${type}`, IPV6_HEADER_LENGTH);
  if (icmp[1] !== 0) return fail('INVALID_SYNTAX', `ICMPv6 Code ${icmp[1]} is not 0`, IPV6_HEADER_LENGTH + 1);
  if (!checksumHolds(source, destination, icmp)) return fail('INVALID_SYNTAX', 'ICMPv6 checksum does not hold', IPV6_HEADER_LENGTH + 2);
  return ok({ source, destination, icmp });
}

/** §4.6: every option's Length is non-zero and stays inside the message. */
function splitOptions(icmp: Uint8Array, from: number): Decoded<{ type: number; at: number; body: Uint8Array }[]> {
  const out: { type: number; at: number; body: Uint8Array }[] = [];
  for (let at = from; at < icmp.length; ) {
    if (at + 2 > icmp.length) return fail('TRUNCATED', 'option header cut short', IPV6_HEADER_LENGTH + at);
    const length = icmp[at + 1]! * 8;
    if (length === 0) return fail('INVALID_SYNTAX', `option ${icmp[at]} has Length 0 (RFC 4861 §4.6)`, IPV6_HEADER_LENGTH + at + 1);
    if (at + length > icmp.length) return fail('TRUNCATED', `option ${icmp[at]} overruns the message`, IPV6_HEADER_LENGTH + at + 1);
    out.push({ type: icmp[at]!, at: IPV6_HEADER_LENGTH + at, body: icmp.subarray(at, at + length) });
    at += length;
  }
  return ok(out);
}

/** RFC 4861 §6.1.1: a Router Solicitation is accepted from any source, unspecified included. */
export function parseRouterSolicitation(packet: Uint8Array): RouterSolicitationResult {
  const m = openNdMessage(packet, Icmpv6Type.RouterSolicitation, 8);
  if (!m.ok) return { ok: false, reason: m.error.message };
  const options = splitOptions(m.value.icmp, 8);
  if (!options.ok) return { ok: false, reason: options.error.message };
  return { ok: true, source: m.value.source };
}

/** RFC 4861 §6.1.2, with the options it knows decoded; unknown options are skipped (§4.6). */
export function decodeRouterAdvertisement(packet: Uint8Array): Decoded<RouterAdvertisement> {
  const m = openNdMessage(packet, Icmpv6Type.RouterAdvertisement, 16);
  if (!m.ok) return m;
  const { source, destination, icmp } = m.value;
  // §6.1.2: the source of a Router Advertisement is link-local (fe80::/10).
  if (source[0] !== 0xfe || (source[1]! & 0xc0) !== 0x80) return fail('INVALID_SYNTAX', 'Router Advertisement from a non-link-local source', 8);
  const options = splitOptions(icmp, 16);
  if (!options.ok) return options;
  const prefixes: PrefixInformation[] = [];
  const rdnss: RecursiveDnsServer[] = [];
  let mtu: number | undefined;
  for (const { type, at, body } of options.value) {
    if (type === NdOption.PrefixInformation) {
      if (body.length !== 32) return fail('INVALID_SYNTAX', `Prefix Information of ${body.length} bytes`, at);
      if (body[2]! > 128) return fail('INVALID_SYNTAX', `Prefix Length ${body[2]}`, at + 2);
      const flags = body[3]!;
      prefixes.push({ prefix: body.slice(16, 32), length: body[2]!, onLink: (flags & 0x80) !== 0, autonomous: (flags & 0x40) !== 0, validLifetime: u32(body, 4), preferredLifetime: u32(body, 8) });
    } else if (type === NdOption.Mtu) {
      if (body.length !== 8) return fail('INVALID_SYNTAX', `MTU option of ${body.length} bytes`, at);
      mtu = u32(body, 4);
    } else if (type === NdOption.RecursiveDnsServer) {
      // RFC 8106 §5.1: Length 3 at least, and 1 + 2 per address.
      if (body.length < 24 || (body.length - 8) % 16 !== 0) return fail('INVALID_SYNTAX', `RDNSS option of ${body.length} bytes`, at);
      const servers = Array.from({ length: (body.length - 8) / 16 }, (_, i) => body.slice(8 + 16 * i, 24 + 16 * i));
      rdnss.push({ lifetime: u32(body, 4), servers });
    }
  }
  return ok({
    source,
    destination,
    curHopLimit: icmp[4]!,
    managed: (icmp[5]! & 0x80) !== 0,
    other: (icmp[5]! & 0x40) !== 0,
    routerLifetime: u16(icmp, 6),
    reachableTime: u32(icmp, 8),
    retransTimer: u32(icmp, 12),
    prefixes,
    mtu,
    rdnss,
  });
}
