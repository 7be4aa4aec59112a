/*
 * The L2TPv2 header (RFC 2661 §3.1):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |T|L|x|x|S|x|O|P|x|x|x|x|  Ver  |          Length (opt)         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Tunnel ID           |           Session ID          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             Ns (opt)          |             Nr (opt)          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Offset Size (opt)        |    Offset pad... (opt)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * T: control (1) or data (0). A control message MUST carry Length and Ns/Nr (L=1, S=1) and MUST NOT
 * carry an offset or the priority bit (O=0, P=0); a data message may carry any of them. The x bits
 * are sent as 0 and ignored on receipt. Ver is 2; anything else (1 is L2F, 3 is L2TPv3) is refused.
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';

export const L2TP_VERSION = 2;
export const L2TP_PORT = 1701;
const T_BIT = 0x8000;
const L_BIT = 0x4000;
const S_BIT = 0x0800;
const O_BIT = 0x0200;
const P_BIT = 0x0100;
const VERSION_MASK = 0x000f;
/** Flags, Length, IDs and Ns/Nr: the fixed header of every control message. */
export const CONTROL_HEADER_LENGTH = 12;

export interface ControlHeader {
  readonly type: 'control';
  readonly tunnelId: number;
  readonly sessionId: number;
  readonly ns: number;
  readonly nr: number;
}

export interface DataHeader {
  readonly type: 'data';
  readonly tunnelId: number;
  readonly sessionId: number;
  /** Length field sent (L bit). */
  readonly lengthPresent: boolean;
  /** Ns/Nr sent (S bit): the peer asked for sequencing, or we did. */
  readonly sequence?: { readonly ns: number; readonly nr: number };
  /** Offset Size (O bit): pad bytes between the header and the PPP frame. */
  readonly offsetSize?: number;
  /** P bit: the frame should jump the local queue (LCP echo, for instance). */
  readonly priority: boolean;
}

export type L2tpHeader = ControlHeader | DataHeader;

export interface L2tpPacket {
  readonly header: L2tpHeader;
  /** The AVPs of a control message (empty for a ZLB acknowledgement) or the PPP frame of a data message. */
  readonly payload: Uint8Array;
}

const u16 = (b: Uint8Array, at: number) => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);

/** Decodes one L2TP datagram; bytes past a declared Length (UDP padding) are left out of the payload. */
export function decodeL2tpPacket(bytes: Uint8Array): Decoded<L2tpPacket> {
  if (bytes.length < 6) return fail('TRUNCATED', `L2TP header needs at least 6 bytes, got ${bytes.length}`, 0);
  const flags = u16(bytes, 0);
  const version = flags & VERSION_MASK;
  if (version !== L2TP_VERSION) return fail('INVALID_MAJOR_VERSION', `L2TP version ${version} is not 2 (RFC 2661 §3.1)`, 0);
  const control = (flags & T_BIT) !== 0;
  const hasLength = (flags & L_BIT) !== 0;
  const hasSequence = (flags & S_BIT) !== 0;
  const hasOffset = (flags & O_BIT) !== 0;
  const priority = (flags & P_BIT) !== 0;
  if (control) {
    if (!hasLength || !hasSequence) return fail('INVALID_SYNTAX', 'control message without the L and S bits (RFC 2661 §3.1)', 0);
    if (hasOffset || priority) return fail('INVALID_SYNTAX', 'control message with the O or P bit set (RFC 2661 §3.1)', 0);
  }
  let at = 2;
  let length = bytes.length;
  if (hasLength) {
    length = u16(bytes, at);
    at += 2;
  }
  const fixed = at + 4 + (hasSequence ? 4 : 0) + (hasOffset ? 2 : 0);
  if (bytes.length < fixed) return fail('TRUNCATED', `L2TP header needs ${fixed} bytes, got ${bytes.length}`, 0);
  if (length < fixed) return fail('INVALID_SYNTAX', `L2TP Length ${length} is shorter than its ${fixed}-byte header`, 2);
  if (length > bytes.length) return fail('TRUNCATED', `L2TP Length ${length} is past the ${bytes.length} bytes received`, 2);
  const tunnelId = u16(bytes, at);
  const sessionId = u16(bytes, at + 2);
  at += 4;
  let sequence: { ns: number; nr: number } | undefined;
  if (hasSequence) {
    sequence = { ns: u16(bytes, at), nr: u16(bytes, at + 2) };
    at += 4;
  }
  let offsetSize: number | undefined;
  if (hasOffset) {
    offsetSize = u16(bytes, at);
    at += 2 + offsetSize;
    if (at > length) return fail('INVALID_SYNTAX', `L2TP Offset Size ${offsetSize} runs past the message`, at - offsetSize - 2);
  }
  const payload = bytes.subarray(at, length);
  if (control) return ok({ header: { type: 'control', tunnelId, sessionId, ns: sequence!.ns, nr: sequence!.nr }, payload });
  const header: DataHeader = { type: 'data', tunnelId, sessionId, lengthPresent: hasLength, priority, ...(sequence ? { sequence } : {}), ...(offsetSize !== undefined ? { offsetSize } : {}) };
  return ok({ header, payload });
}

const checkU16 = (what: string, v: number) => {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`L2TP ${what} ${v} is not a 16-bit value`);
};

/** Encodes one L2TP datagram; the offset pad is zeros. Throws only on values out of range (a local bug). */
export function encodeL2tpPacket(header: L2tpHeader, payload: Uint8Array): Uint8Array {
  const control = header.type === 'control';
  const sequence = control ? { ns: header.ns, nr: header.nr } : header.sequence;
  const hasLength = control || header.lengthPresent;
  const offsetSize = control ? undefined : header.offsetSize;
  const priority = !control && header.priority;
  checkU16('Tunnel ID', header.tunnelId);
  checkU16('Session ID', header.sessionId);
  if (sequence) (checkU16('Ns', sequence.ns), checkU16('Nr', sequence.nr));
  if (offsetSize !== undefined) checkU16('Offset Size', offsetSize);
  const headerLength = 2 + (hasLength ? 2 : 0) + 4 + (sequence ? 4 : 0) + (offsetSize !== undefined ? 2 + offsetSize : 0);
  const length = headerLength + payload.length;
  if (hasLength) checkU16('Length', length);
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const flags = (control ? T_BIT : 0) | (hasLength ? L_BIT : 0) | (sequence ? S_BIT : 0) | (offsetSize !== undefined ? O_BIT : 0) | (priority ? P_BIT : 0) | L2TP_VERSION;
  view.setUint16(0, flags);
  let at = 2;
  if (hasLength) (view.setUint16(at, length), (at += 2));
  view.setUint16(at, header.tunnelId);
  view.setUint16(at + 2, header.sessionId);
  at += 4;
  if (sequence) (view.setUint16(at, sequence.ns), view.setUint16(at + 2, sequence.nr), (at += 4));
  if (offsetSize !== undefined) (view.setUint16(at, offsetSize), (at += 2 + offsetSize));
  out.set(payload, at);
  return out;
}
