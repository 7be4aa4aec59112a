/*
 * Hand-made GRE packets sent from a lab host, the outer IPv4 header written by us (IPPROTO_RAW, so
 * the source may be any address: a third host, or one spoofing a site's peer). The bytes are built
 * here; python3 (a lab dependency) only writes them to a raw socket, since Node has none.
 * The inner packet is an ICMP echo request: whether it was delivered shows at the receiver's
 * Icmp InEchos (`icmpInEchos`).
 */
import { encodeGrePacket, internetChecksum, type GreHeader } from '../../../firmware/gre/gre-header.ts';
import type { Lab } from '../topology.ts';

const octets = (address: string): number[] => address.split('.').map(Number);

/** An IPv4 header of 20 bytes before `payload`, its checksum filled in. */
export function ipv4Packet(source: string, destination: string, protocol: number, payload: Uint8Array, id = 0): Uint8Array {
  const out = new Uint8Array(20 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, 0x45);
  view.setUint16(2, out.length);
  view.setUint16(4, id);
  view.setUint8(8, 64);
  view.setUint8(9, protocol);
  out.set(octets(source), 12);
  out.set(octets(destination), 16);
  view.setUint16(10, internetChecksum(out.subarray(0, 20)));
  out.set(payload, 20);
  return out;
}

/** An ICMP echo request from `source` to `destination` with its identifier and sequence number. */
export function icmpEcho(source: string, destination: string, identifier: number, sequence: number): Uint8Array {
  const icmp = new Uint8Array(16);
  const view = new DataView(icmp.buffer);
  view.setUint8(0, 8);
  view.setUint16(4, identifier);
  view.setUint16(6, sequence);
  icmp.set([0x70, 0x6f, 0x73, 0x74, 0x65, 0x72, 0x6e, 0x21], 8); // "postern!"
  view.setUint16(2, internetChecksum(icmp));
  return ipv4Packet(source, destination, 1, icmp, sequence);
}

export interface GreInjection {
  /** The outer source: the sending host's own address, or another one (spoofed). */
  readonly from: string;
  readonly to: string;
  readonly header: GreHeader;
  readonly inner: Uint8Array;
  /** Breaks the checksum after encoding (the C bit stays set). */
  readonly corruptChecksum?: boolean;
}

export function grePacket(p: GreInjection): Uint8Array {
  const gre = encodeGrePacket(p.header, p.inner);
  if (p.corruptChecksum) gre[gre.length - 1] = (gre[gre.length - 1] ?? 0) ^ 0x01;
  return ipv4Packet(p.from, p.to, 47, gre);
}

const SEND = 'import socket, sys\ns = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)\nfor h in sys.argv[1:]:\n    b = bytes.fromhex(h)\n    s.sendto(b, (socket.inet_ntoa(b[16:20]), 0))\n';

/** Sends the packets from `host`, in order, as they are. */
export async function injectGre(lab: Lab, host: string, packets: readonly GreInjection[]): Promise<void> {
  const r = await lab.exec(host, ['python3', '-c', SEND, ...packets.map((p) => Buffer.from(grePacket(p)).toString('hex'))], 10_000);
  if (r.code !== 0) throw new Error(`GRE injection from ${host} failed: ${r.stderr}`);
}

/** ICMP echo requests this host's stack received (its namespace's Icmp InEchos). */
export function icmpInEchos(lab: Lab, host: string): number {
  const lines = lab.execSync(host, ['cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Icmp:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf('InEchos')] ?? NaN);
}
