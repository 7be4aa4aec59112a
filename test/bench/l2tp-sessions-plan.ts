// The pure parts of the L2TP/IPsec sessions benchmark (issue 20): the LNS's configuration, the load
// clients' addresses, and the ICMP echoes each session carries to prove its data path.
import { defaultConfig } from '../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { storedUser } from '../../firmware/config/users.ts';

/** The clients' own addresses live in 198.18.0.0/16 (RFC 2544 benchmarking space), routed to the load host. */
export const CLIENT_PREFIX = '198.18.0.0/16';
export const MAX_CLIENTS = 250 * 256;

/** Client i's address: 198.18.x.y with y in 1..250, so no address ends in .0 or .255. */
export function clientAddress(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= MAX_CLIENTS) throw new RangeError(`client ${i} is outside 0..${MAX_CLIENTS - 1}`);
  return `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

export const userName = (i: number): string => `load${i}`;

/**
 * The LNS: L2TP inside IPsec only (PSK), one user per client (a pool keeps one address per user),
 * a pool big enough for all of them, every other listener off.
 */
export function lnsConfig(o: { sessions: number; psk: string; password: string; wan: string; lan: string }): PosternConfig {
  const c = callsServerConfig({ calls: o.sessions, password: o.password, wan: o.wan, lan: o.lan });
  c.listeners.l2tp = { ...c.listeners.l2tp, enabled: true, psk: o.psk, pool: 'clients', allowPlain: false };
  return c;
}

/** A calls benchmark's server before its listener is switched on: one user per client, a pool that holds them all, IKEv2 and SSTP off. */
export function callsServerConfig(o: { calls: number; password: string; wan: string; lan: string }): PosternConfig {
  const c = defaultConfig();
  c.system.wan = { interface: 'wan', mode: 'static', address: o.wan };
  c.system.lan = { interface: 'lanb', address: o.lan };
  c.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  c.listeners.ikev2.enabled = false;
  c.listeners.sstp.enabled = false;
  c.pools = [{ name: 'clients', ipv4: '10.64.0.0/16', dns: [] }];
  c.users = Array.from({ length: o.calls }, (_, i) => storedUser({ name: userName(i), password: o.password, enabled: true }));
  return c;
}

const ECHO_ID = 0x4c32; // "L2"

/** RFC 1071 over `b`. */
function checksum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

const octets = (address: string): number[] => address.split('.').map(Number);

/** An IPv4 ICMP echo request (RFC 792) from `from` to `to`, identifier "L2", sequence `seq` (the client's number). */
export function echoRequest(from: string, to: string, seq: number): Uint8Array {
  const packet = new Uint8Array(20 + 16);
  const view = new DataView(packet.buffer);
  packet[0] = 0x45;
  view.setUint16(2, packet.length);
  packet[8] = 64;
  packet[9] = 1;
  packet.set(octets(from), 12);
  packet.set(octets(to), 16);
  view.setUint16(10, checksum(packet.subarray(0, 20)));
  packet[20] = 8;
  view.setUint16(24, ECHO_ID);
  view.setUint16(26, seq & 0xffff);
  packet.set(new TextEncoder().encode('postern!'), 28);
  view.setUint16(22, checksum(packet.subarray(20)));
  return packet;
}

/** The sequence number of an echo reply to one of our requests, addressed to `to`; undefined for anything else (never throws). */
export function echoReplySeq(packet: Uint8Array, to: string): number | undefined {
  if (packet.length < 28 || packet[0]! >> 4 !== 4 || packet[9] !== 1) return undefined;
  const ihl = (packet[0]! & 15) * 4;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  if (ihl < 20 || packet.length < ihl + 8 || view.getUint16(2) !== packet.length) return undefined;
  if (packet.subarray(16, 20).join('.') !== to) return undefined;
  if (packet[ihl] !== 0 || view.getUint16(ihl + 4) !== ECHO_ID || checksum(packet.subarray(ihl)) !== 0) return undefined;
  return view.getUint16(ihl + 6);
}

/** Figures from two `process.memoryUsage()` readings of the LNS, per session, in KB. */
export function perSessionKb(before: NodeJS.MemoryUsage, after: NodeJS.MemoryUsage, sessions: number): { rss: number; heap: number; external: number; outsideHeap: number } {
  const per = (delta: number) => delta / 1024 / Math.max(1, sessions);
  const outside = (m: NodeJS.MemoryUsage) => m.rss - m.heapTotal - m.external;
  return {
    rss: per(after.rss - before.rss),
    heap: per(after.heapUsed - before.heapUsed),
    external: per(after.external - before.external),
    outsideHeap: per(outside(after) - outside(before)),
  };
}

/**
 * User + system CPU seconds from a /proc/PID/stat line (proc(5): fields 14 and 15 in clock ticks,
 * counted after the parenthesised command name, which may hold spaces); undefined when malformed.
 */
export function cpuSecondsOfStat(stat: string, ticksPerSecond = 100): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isSafeInteger(utime) || !Number.isSafeInteger(stime) || utime < 0 || stime < 0 || fields[11] === '' || fields[12] === '') return undefined;
  return (utime + stime) / ticksPerSecond;
}
