/**
 * Netlink message building (RFC 3549, linux/netlink.h): a 16-byte header, a fixed struct, then
 * attributes (len, type, value) each padded to 4 bytes. Host byte order: little-endian on every
 * board Postern targets (arm64, armv7 EABI, x86_64), where these structs also share one layout.
 */

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
const NLMSG_HDRLEN = 16;

const align4 = (n: number): number => (n + 3) & ~3;

/** One attribute: its 4-byte header and value, padded. */
export function attribute(type: number, value: Buffer): Buffer {
  const out = Buffer.alloc(align4(4 + value.length));
  out.writeUInt16LE(4 + value.length, 0);
  out.writeUInt16LE(type, 2);
  value.copy(out, 4);
  return out;
}

export function netlinkMessage(type: number, flags: number, seq: number, body: Buffer, attributes: readonly Buffer[] = []): Buffer {
  const payload = Buffer.concat([body, ...attributes]);
  const header = Buffer.alloc(NLMSG_HDRLEN);
  header.writeUInt32LE(NLMSG_HDRLEN + payload.length, 0);
  header.writeUInt16LE(type, 4);
  header.writeUInt16LE(flags, 6);
  header.writeUInt32LE(seq >>> 0, 8);
  header.writeUInt32LE(0, 12); // nlmsg_pid: the kernel fills in the sender
  return Buffer.concat([header, payload]);
}
