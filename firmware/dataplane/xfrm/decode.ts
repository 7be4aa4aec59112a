import { ErrorCode, PosternError } from '../../util/errors.ts';
import type { DataPlaneEvent, PolicyId, SaCounters, TrafficSelector } from '../types.ts';
import { AF_INET, AF_INET6, SizeOf, XfrmAttr, XfrmMsg, XFRM_POLICY_FWD, XFRM_POLICY_IN } from './constants.ts';

/**
 * What the kernel sends back (linux/xfrm.h, linux/netlink.h): acknowledgements and errors, an SA's
 * counters, and the acquire and expire events. Every read is bounds-checked: a short or unknown
 * message is skipped, never a throw.
 */

const NLMSG_ERROR = 2;
const HEADER = 16;
/** struct xfrm_user_acquire: id, saddr, sel, policy info, aalgos/ealgos/calgos/seq. */
const ACQUIRE_SIZE = SizeOf.id + 16 + SizeOf.selector + SizeOf.userpolicyInfo + 16;
/** struct xfrm_user_expire: the SA's usersa_info, then `hard`, padded to 8. */
const EXPIRE_SIZE = SizeOf.usersaInfo + 8;

/** Each netlink message in a datagram, whole (header included). */
export function splitMessages(datagram: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + HEADER <= datagram.length;) {
    const length = datagram.readUInt32LE(at);
    if (length < HEADER || at + length > datagram.length) break;
    out.push(datagram.subarray(at, at + length));
    at += (length + 3) & ~3;
  }
  return out;
}

const typeOf = (message: Buffer): number => message.readUInt16LE(4);

/** The errno of an NLMSG_ERROR (0 for an acknowledgement); undefined for any other message. */
export function netlinkErrno(message: Buffer): number | undefined {
  if (message.length < HEADER + 4 || typeOf(message) !== NLMSG_ERROR) return undefined;
  return -message.readInt32LE(HEADER);
}

function addressText(bytes: Buffer, family: number): string | undefined {
  if (family === AF_INET) return [...bytes.subarray(0, 4)].join('.');
  if (family !== AF_INET6) return undefined;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1); // the URL parser writes the canonical short form
}

/** struct xfrm_selector → the two traffic selectors (inverse of structs.ts `selector`). */
function readSelector(sel: Buffer): { source: TrafficSelector; destination: TrafficSelector } | undefined {
  const family = sel.readUInt16LE(40);
  const dst = addressText(sel.subarray(0, 16), family);
  const src = addressText(sel.subarray(16, 32), family);
  if (!dst || !src) return undefined;
  const protocol = sel.readUInt8(44);
  const side = (address: string, length: number, port: number, mask: number): TrafficSelector => ({
    prefix: `${address}/${length}`, ...(protocol ? { protocol } : {}), ...(mask ? { port } : {}),
  });
  return { destination: side(dst, sel.readUInt8(42), sel.readUInt16BE(32), sel.readUInt16BE(34)), source: side(src, sel.readUInt8(43), sel.readUInt16BE(36), sel.readUInt16BE(38)) };
}

/** The reqid of the first XFRMA_TMPL attribute found from `offset` on. */
function templateReqid(message: Buffer, offset: number): number | undefined {
  for (let at = offset; at + 4 <= message.length;) {
    const length = message.readUInt16LE(at);
    const type = message.readUInt16LE(at + 2) & 0x3fff;
    if (length < 4 || at + length > message.length) return undefined;
    if (type === XfrmAttr.tmpl && length >= 4 + SizeOf.userTmpl) return message.readUInt32LE(at + 4 + 44);
    at += (length + 3) & ~3;
  }
  return undefined;
}

const DIRECTIONS: Record<number, PolicyId['direction']> = { [XFRM_POLICY_IN]: 'in', 1: 'out', [XFRM_POLICY_FWD]: 'fwd' };

/** XFRM_MSG_ACQUIRE and XFRM_MSG_EXPIRE as data plane events; anything else gives none. */
export function readEvent(message: Buffer): DataPlaneEvent | undefined {
  const type = typeOf(message);
  if (type === XfrmMsg.acquire && message.length >= HEADER + ACQUIRE_SIZE) {
    const policy = message.subarray(HEADER + SizeOf.id + 16 + SizeOf.selector, HEADER + SizeOf.id + 16 + SizeOf.selector + SizeOf.userpolicyInfo);
    const selectors = readSelector(policy.subarray(0, SizeOf.selector));
    const direction = DIRECTIONS[policy.readUInt8(160)];
    const reqid = templateReqid(message, HEADER + ACQUIRE_SIZE);
    if (!selectors || !direction || reqid === undefined) return undefined;
    return { type: 'acquire', policy: { ...selectors, direction }, reqid };
  }
  if (type === XfrmMsg.expire && message.length >= HEADER + EXPIRE_SIZE) {
    const info = message.subarray(HEADER, HEADER + SizeOf.usersaInfo);
    const destination = addressText(info.subarray(56, 72), info.readUInt16LE(212));
    if (!destination) return undefined;
    return { type: 'expire', sa: { spi: info.readUInt32BE(72), destination }, hard: message.readUInt8(HEADER + SizeOf.usersaInfo) !== 0 };
  }
  return undefined;
}

/** An XFRM_MSG_NEWSA answer (to GETSA or ALLOCSPI): its SPI and current counters. */
export function readSa(message: Buffer): { spi: number; counters: SaCounters } {
  if (typeOf(message) !== XfrmMsg.newSa || message.length < HEADER + SizeOf.usersaInfo) throw new PosternError(ErrorCode.dataplaneInvalid, `the kernel answered with message type ${typeOf(message)}, not an SA`);
  const info = message.subarray(HEADER, HEADER + SizeOf.usersaInfo);
  return {
    spi: info.readUInt32BE(72),
    counters: { bytes: info.readBigUInt64LE(160), packets: info.readBigUInt64LE(168), replayDrops: BigInt(info.readUInt32LE(196)), authFailures: BigInt(info.readUInt32LE(200)) },
  };
}
