/*
 * The Cisco-style GRE keepalive (what `keepalive 10 3` on a Cisco tunnel sends, and Linux and
 * MikroTik peers reflect): the sender A puts, inside its GRE tunnel to B, an IPv4 packet that is
 * itself GRE from B back to A, carrying GRE protocol type 0 and nothing else:
 *
 *   outer IPv4 A → B, proto 47 | GRE (key) 0x0800 | inner IPv4 B → A, proto 47 | GRE (key) 0x0000
 *
 * B decapsulates and routes the inner packet like any other: it leaves B towards A as plain GRE,
 * and A, seeing protocol type 0 from B, counts the peer alive. B needs nothing but forwarding (on
 * Linux, accept_local on the tunnel interface, since the inner source is B's own address).
 * This file builds the inner packet A sends and recognises what comes back. Pure.
 */
import { decodeGreHeader, encodeGrePacket, GRE_PROTOCOL, internetChecksum } from './gre-header.ts';

const IPV4_HEADER = 20;
const PROTO_GRE = 47;

const octets = (address: string): number[] => address.split('.').map(Number);

/** The inner IPv4 packet of a keepalive from `local` to `remote` (outer addresses), its GRE key as the tunnel's. */
export function encodeKeepalive(local: string, remote: string, key?: number, id = 0): Uint8Array {
  const gre = encodeGrePacket({ protocolType: GRE_PROTOCOL.keepalive, ...(key !== undefined ? { key } : {}) }, new Uint8Array(0));
  const out = new Uint8Array(IPV4_HEADER + gre.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, 0x45);
  view.setUint16(2, out.length);
  view.setUint16(4, id & 0xffff);
  view.setUint8(8, 255);
  view.setUint8(9, PROTO_GRE);
  out.set(octets(remote), 12); // from the peer …
  out.set(octets(local), 16); // … back to us
  view.setUint16(10, internetChecksum(out.subarray(0, IPV4_HEADER)));
  out.set(gre, IPV4_HEADER);
  return out;
}

/** A GRE payload (after the outer IPv4 header) that is a keepalive coming back with our key. */
export function isKeepaliveReply(gre: Uint8Array, key?: number): boolean {
  const d = decodeGreHeader(gre);
  return d.ok && d.header.protocolType === GRE_PROTOCOL.keepalive && d.header.key === key;
}
