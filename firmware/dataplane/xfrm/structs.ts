import { PosternError, ErrorCode } from '../../util/errors.ts';
import { parseIp, parsePrefix, type ParsedIp } from '../../util/ip.ts';
import type { SaLifetime, TrafficSelector } from '../types.ts';
import { AF_INET, AF_INET6, SizeOf, XFRM_INF } from './constants.ts';

/** linux/xfrm.h structs written field by field into little-endian buffers. */

export function address(text: string): ParsedIp {
  const ip = parseIp(text);
  if (!ip) throw new PosternError(ErrorCode.dataplaneInvalid, `not an IP address: '${text}'`);
  return ip;
}

export const familyOf = (ip: ParsedIp): number => (ip.family === 4 ? AF_INET : AF_INET6);

/** xfrm_address_t: a 16-byte union, IPv4 in its first 4 bytes. */
export function writeAddress(out: Buffer, offset: number, ip: ParsedIp): void {
  ip.bytes.copy(out, offset);
}

/** struct xfrm_selector (56 bytes). */
export function selector(source: TrafficSelector, destination: TrafficSelector): Buffer {
  const src = parsePrefix(source.prefix);
  const dst = parsePrefix(destination.prefix);
  if (!src || !dst) throw new PosternError(ErrorCode.dataplaneInvalid, `bad selector ${source.prefix} -> ${destination.prefix}`);
  if (src.family !== dst.family) throw new PosternError(ErrorCode.dataplaneInvalid, 'selector mixes IPv4 and IPv6');
  const out = Buffer.alloc(SizeOf.selector);
  writeAddress(out, 0, dst);
  writeAddress(out, 16, src);
  if (destination.port !== undefined) {
    out.writeUInt16BE(destination.port, 32);
    out.writeUInt16BE(0xffff, 34);
  }
  if (source.port !== undefined) {
    out.writeUInt16BE(source.port, 36);
    out.writeUInt16BE(0xffff, 38);
  }
  out.writeUInt16LE(familyOf(dst), 40);
  out.writeUInt8(dst.length, 42);
  out.writeUInt8(src.length, 43);
  out.writeUInt8(destination.protocol ?? source.protocol ?? 0, 44);
  return out; // ifindex 0 (any), user 0
}

/** struct xfrm_lifetime_cfg (64 bytes): byte and packet limits; time limits are IKE's job. */
export function lifetimeConfig(lifetime: SaLifetime = {}): Buffer {
  const out = Buffer.alloc(SizeOf.lifetimeCfg);
  out.writeBigUInt64LE(lifetime.softBytes ?? XFRM_INF, 0);
  out.writeBigUInt64LE(lifetime.hardBytes ?? XFRM_INF, 8);
  out.writeBigUInt64LE(lifetime.softPackets ?? XFRM_INF, 16);
  out.writeBigUInt64LE(lifetime.hardPackets ?? XFRM_INF, 24);
  return out;
}

/** struct xfrm_algo / xfrm_algo_auth / xfrm_algo_aead: a 64-byte name, bit lengths, the key. */
export function algorithm(name: string, key: Buffer, extraBits?: number): Buffer {
  const head = Buffer.alloc(SizeOf.algoName + (extraBits === undefined ? 4 : 8));
  head.write(name, 0, 'latin1');
  head.writeUInt32LE(key.length * 8, SizeOf.algoName);
  if (extraBits !== undefined) head.writeUInt32LE(extraBits, SizeOf.algoName + 4);
  return Buffer.concat([head, key]);
}
