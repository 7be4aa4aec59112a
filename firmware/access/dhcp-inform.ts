/*
 * DHCPINFORM over PPP (RFC 2131 §3.4, §4.3.5), sans-I/O: Windows asks for its configuration with a
 * DHCPINFORM once a PPP link is up (SSTP, L2TP, PPTP alike) and takes the routes in the answer, so a
 * client with "use default gateway" off reaches the office networks without manual routes. The
 * gateway answers on its side of the link with a DHCPACK carrying classless static routes (option
 * 121, RFC 3442, and Microsoft's 249 with the same encoding), DNS servers (6) and, when configured,
 * the DNS domain (15).
 *
 *   IPv4 | UDP 68 -> 67 | op | htype | hlen | hops | xid (4) | secs (2) | flags (2) | ciaddr | yiaddr |
 *   siaddr | giaddr | chaddr (16) | sname (64) | file (128) | 99.130.83.99 | options: code, len, value ... 255
 *
 *   option 121/249: per route | prefix length (1) | the prefix's significant octets | router (4) |
 */
import { parsePrefix } from '../util/ip.ts';

const BOOTP_FIXED = 236;
const MAGIC = [99, 130, 83, 99] as const;
const DHCPINFORM = 8;
const DHCPACK = 5;

export interface DhcpInform {
  readonly xid: Uint8Array;
  readonly flags: number;
  readonly ciaddr: Uint8Array;
  readonly htype: number;
  readonly hlen: number;
  readonly chaddr: Uint8Array;
  /** The IPv4 source of the request: where the answer goes when ciaddr is 0. */
  readonly source: Uint8Array;
}

export interface InformAnswer {
  /** The gateway's address on the link: the answer's source, the server identifier and the routes' router. */
  readonly serverAddress: string;
  readonly routes: readonly string[];
  readonly dns: readonly string[];
  readonly domain?: string;
}

const u16 = (b: Uint8Array, at: number) => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
const v4 = (text: string): number[] => text.split('.').map(Number);

/** The DHCPINFORM in an IPv4 packet from the client, or undefined for anything else (never throws). */
export function readDhcpInform(packet: Uint8Array, serverAddress?: string): DhcpInform | undefined {
  if (packet.length < 20 || (packet[0] ?? 0) >> 4 !== 4 || packet[9] !== 17) return undefined;
  // Broadcast (Windows' way) or to the gateway's own link address; DHCP to anyone else is not ours to answer.
  const to = [...packet.subarray(16, 20)];
  if (!to.every((b) => b === 255) && (serverAddress === undefined || to.join('.') !== serverAddress)) return undefined;
  const ihl = ((packet[0] ?? 0) & 0x0f) * 4;
  if (ihl < 20 || packet.length < ihl + 8 || (u16(packet, 6) & 0x3fff) !== 0) return undefined; // no fragments
  if (u16(packet, ihl + 2) !== 67) return undefined;
  const udpLength = u16(packet, ihl + 4);
  const end = Math.min(packet.length, ihl + udpLength);
  const dhcp = packet.subarray(ihl + 8, end);
  if (udpLength < 8 || dhcp.length < BOOTP_FIXED + 4 || dhcp[0] !== 1) return undefined;
  if (MAGIC.some((m, i) => dhcp[BOOTP_FIXED + i] !== m)) return undefined;
  let messageType: number | undefined;
  for (let at = BOOTP_FIXED + 4; at < dhcp.length;) {
    const code = dhcp[at] ?? 255;
    if (code === 255) break;
    if (code === 0) { at++; continue; }
    const length = dhcp[at + 1];
    if (length === undefined || at + 2 + length > dhcp.length) return undefined;
    if (code === 53 && length === 1) messageType = dhcp[at + 2];
    at += 2 + length;
  }
  if (messageType !== DHCPINFORM) return undefined;
  const hlen = Math.min(dhcp[2] ?? 0, 16);
  return { xid: dhcp.slice(4, 8), flags: u16(dhcp, 10), ciaddr: dhcp.slice(12, 16), htype: dhcp[1] ?? 0, hlen, chaddr: dhcp.slice(28, 28 + 16), source: packet.slice(12, 16) };
}

/** RFC 3442's encoding of the routes (IPv4 prefixes only; others skipped), each via `router`. */
export function classlessRoutes(routes: readonly string[], router: string): number[] {
  const out: number[] = [];
  for (const route of routes) {
    const p = parsePrefix(route);
    if (!p || p.family !== 4) continue;
    const significant = [...p.bytes.subarray(0, Math.ceil(p.length / 8))];
    if (p.length % 8) significant[significant.length - 1]! &= (0xff << (8 - (p.length % 8))) & 0xff; // host bits off
    out.push(p.length, ...significant, ...v4(router));
  }
  return out;
}

const option = (code: number, value: readonly number[]): number[] => {
  const out: number[] = [];
  // A value over 255 bytes is split into several instances of the option (RFC 3396).
  for (let at = 0; at < value.length || at === 0; at += 255) out.push(code, Math.min(255, value.length - at), ...value.slice(at, at + 255));
  return out;
};

/** The DHCPACK for a DHCPINFORM as an IPv4 packet from the gateway's link address, port 67 to 68. */
export function answerDhcpInform(inform: DhcpInform, answer: InformAnswer): Uint8Array {
  const routes = classlessRoutes(answer.routes, answer.serverAddress);
  const options = [
    ...option(53, [DHCPACK]),
    ...option(54, v4(answer.serverAddress)),
    ...(routes.length ? [...option(121, routes), ...option(249, routes)] : []),
    ...(answer.dns.length ? option(6, answer.dns.filter((d) => !d.includes(':')).flatMap(v4)) : []),
    ...(answer.domain ? option(15, [...new TextEncoder().encode(answer.domain)]) : []),
    255,
  ];
  const dhcp = new Uint8Array(BOOTP_FIXED + 4 + options.length);
  dhcp.set([2, inform.htype, inform.hlen, 0], 0);
  dhcp.set(inform.xid, 4);
  dhcp.set([0, 0, (inform.flags >> 8) & 0xff, inform.flags & 0xff], 8);
  dhcp.set(inform.ciaddr, 12); // §4.3.5: ciaddr as given, yiaddr 0
  dhcp.set(inform.chaddr, 28);
  dhcp.set(MAGIC, BOOTP_FIXED);
  dhcp.set(options, BOOTP_FIXED + 4);
  const to = inform.ciaddr.some((b) => b !== 0) ? inform.ciaddr : inform.source;
  return ipv4Udp(Uint8Array.from(v4(answer.serverAddress)), to, 67, 68, dhcp);
}

function checksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < bytes.length; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4Udp(source: Uint8Array, destination: Uint8Array, sourcePort: number, destinationPort: number, payload: Uint8Array): Uint8Array {
  const packet = new Uint8Array(28 + payload.length);
  const view = new DataView(packet.buffer);
  view.setUint8(0, 0x45);
  view.setUint16(2, packet.length);
  view.setUint8(8, 64);
  view.setUint8(9, 17);
  packet.set(source, 12);
  packet.set(destination, 16);
  view.setUint16(10, checksum(packet.subarray(0, 20)));
  view.setUint16(20, sourcePort);
  view.setUint16(22, destinationPort);
  view.setUint16(24, 8 + payload.length);
  packet.set(payload, 28);
  const pseudo = new Uint8Array(12);
  pseudo.set(source, 0);
  pseudo.set(destination, 4);
  pseudo.set([0, 17, ((8 + payload.length) >> 8) & 0xff, (8 + payload.length) & 0xff], 8);
  let sum = 0;
  for (let i = 0; i < 12; i += 2) sum += ((pseudo[i] ?? 0) << 8) | (pseudo[i + 1] ?? 0);
  const udp = checksum(packet.subarray(20), sum);
  view.setUint16(26, udp === 0 ? 0xffff : udp);
  return packet;
}
