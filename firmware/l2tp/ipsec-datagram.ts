/*
 * L2TP datagrams that came in on an IPsec transport SA (issue 20). The data plane hands each one up
 * as the IPv4 or IPv6 datagram (issue 24: an IPv6 WAN) it rebuilt after decryption, tagged with the path it came in on (`via`: the
 * client's outer endpoint and its transport SAs, ike/l2tp-paths.ts), instead of writing it into the
 * shared TUN:
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version|  IHL  |   (IPv4 header, RFC 791; Source Address at 12) |
 *    |   (or the fixed IPv6 header, RFC 8200: 40 bytes, Source at 8)  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |          Source Port          |       Destination Port        |  UDP, RFC 768
 *    |            Length             |           Checksum            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                  L2TP (RFC 2661 §3.1) ...                     |
 *
 * Two clients behind one NAT both arrive as NAT:1701 once decrypted, so the tunnel table keys such a
 * peer as `address:port@via`: each client gets its own tunnels, and the answers leave through its SA.
 * A peer without `@` came over the plain socket (listeners.l2tp.allowPlain). An IPv6 address is
 * bracketed: `[2001:db8::7]:1701@3`.
 */
import { isIP } from 'node:net';
import { ipv6Text } from '../util/ip.ts';

export interface IpsecDatagram {
  readonly source: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly payload: Uint8Array;
}

/** A rebuilt IPv4 or IPv6 datagram's UDP source and payload; undefined for anything else (never throws). */
export function decodeIpsecDatagram(bytes: Uint8Array): IpsecDatagram | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 48 && bytes[0]! >> 4 === 6) return decodeIpv6(bytes, view);
  if (bytes.length < 28 || bytes[0]! >> 4 !== 4) return undefined;
  const ihl = (bytes[0]! & 15) * 4;
  const total = view.getUint16(2);
  if (ihl < 20 || total !== bytes.length || bytes[9] !== 17 || total < ihl + 8) return undefined;
  if ((view.getUint16(6) & 0x3fff) !== 0) return undefined; // a fragment: transport mode carries whole datagrams
  const udpLength = view.getUint16(ihl + 4);
  if (udpLength !== total - ihl) return undefined;
  return {
    source: `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`,
    sourcePort: view.getUint16(ihl),
    destinationPort: view.getUint16(ihl + 2),
    payload: bytes.subarray(ihl + 8),
  };
}

/** The driver refuses extension headers (drivers/lib/transport.c), so UDP follows the fixed header. */
function decodeIpv6(bytes: Uint8Array, view: DataView): IpsecDatagram | undefined {
  if (bytes[6] !== 17 || view.getUint16(4) !== bytes.length - 40 || view.getUint16(44) !== bytes.length - 40) return undefined;
  return { source: ipv6Text(bytes.subarray(8, 24)), sourcePort: view.getUint16(40), destinationPort: view.getUint16(42), payload: bytes.subarray(48) };
}

export interface L2tpPeer {
  readonly address: string;
  readonly port: number;
  /** The path (client endpoint and its SAs) it came in on; absent for plain L2TP. */
  readonly via?: number;
}

export const formatL2tpPeer = (p: L2tpPeer): string => `${isIP(p.address) === 6 ? `[${p.address}]` : p.address}:${p.port}${p.via === undefined ? '' : `@${p.via}`}`;

/** The table's peer strings back into their parts; undefined for a malformed one (never throws). */
export function parseL2tpPeer(peer: string): L2tpPeer | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]{2,45}\]):(\d{1,5})(?:@(\d{1,10}))?$/.exec(peer);
  if (!m) return undefined;
  const address = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  if (address !== m[1] && isIP(address) !== 6) return undefined;
  const port = Number(m[2]);
  const via = m[3] === undefined ? undefined : Number(m[3]);
  if (port > 0xffff || (via !== undefined && via > 0xffff_ffff)) return undefined;
  return via === undefined ? { address, port } : { address, port, via };
}

/** The open tunnels of one client path (issue 20): those to close when the path loses its last SA. */
export function tunnelsOnPath(tunnels: readonly { readonly tunnelId: number; readonly peer: string; readonly state: string }[], via: number): number[] {
  return tunnels.filter((t) => parseL2tpPeer(t.peer)?.via === via && t.state !== 'closing' && t.state !== 'closed').map((t) => t.tunnelId);
}
