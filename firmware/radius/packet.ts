/*
 * The RADIUS packet (RFC 2865 §3) and its attributes (§5):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Code      |  Identifier   |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Authenticator (16)                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Attributes ...  Type (1) | Length (1, counts itself) | Value
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Length is 20..4096. Octets past Length are padding and ignored; a datagram shorter than Length is
 * discarded (§3). Attributes are kept raw and in order (order matters for EAP-Message and
 * Proxy-State); their meaning is read by `attributes.ts` and `microsoft.ts`.
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';

export const RADIUS_HEADER_LENGTH = 20;
export const RADIUS_MAX_LENGTH = 4096;
export const ATTRIBUTE_MAX_VALUE = 253;

/** Packet codes (RFC 2865 §3, 2866 §3, 5997, 5176). */
export const Code = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
  StatusServer: 12,
  DisconnectRequest: 40,
  DisconnectAck: 41,
  DisconnectNak: 42,
  CoaRequest: 43,
  CoaAck: 44,
  CoaNak: 45,
} as const;
export type CodeValue = (typeof Code)[keyof typeof Code];

const CODE_NAMES = new Map<number, string>(Object.entries(Code).map(([name, value]) => [value, name]));
export const codeName = (code: number): string => CODE_NAMES.get(code) ?? `Code-${code}`;

export interface RadiusAttribute {
  readonly type: number;
  readonly value: Uint8Array;
}

export interface RadiusPacket {
  readonly code: number;
  readonly identifier: number;
  readonly authenticator: Uint8Array;
  readonly attributes: readonly RadiusAttribute[];
}

/** Reads a datagram: header checks, then every attribute's Length against the bytes left. */
export function decodeRadiusPacket(datagram: Uint8Array): Decoded<RadiusPacket> {
  if (datagram.length < RADIUS_HEADER_LENGTH) return fail('TRUNCATED', `a RADIUS packet needs 20 bytes, got ${datagram.length}`, 0);
  const length = ((datagram[2] ?? 0) << 8) | (datagram[3] ?? 0);
  if (length < RADIUS_HEADER_LENGTH || length > RADIUS_MAX_LENGTH) return fail('INVALID_SYNTAX', `Length ${length} is outside 20..4096`, 2);
  if (length > datagram.length) return fail('TRUNCATED', `Length ${length} is more than the ${datagram.length} bytes received`, 2);
  const attributes: RadiusAttribute[] = [];
  let at = RADIUS_HEADER_LENGTH;
  while (at < length) {
    if (length - at < 2) return fail('TRUNCATED', 'an attribute needs at least 2 bytes', at);
    const attrLength = datagram[at + 1] ?? 0;
    if (attrLength < 2) return fail('INVALID_SYNTAX', `attribute Length ${attrLength} is shorter than its header`, at);
    if (at + attrLength > length) return fail('TRUNCATED', `attribute Length ${attrLength} runs past the packet`, at);
    attributes.push({ type: datagram[at] ?? 0, value: datagram.subarray(at + 2, at + attrLength) });
    at += attrLength;
  }
  return ok({ code: datagram[0] ?? 0, identifier: datagram[1] ?? 0, authenticator: datagram.subarray(4, 20), attributes });
}

/** Canonical bytes. Throws only on a local bug (an attribute over 253 bytes, a packet over 4096). */
export function encodeRadiusPacket(packet: RadiusPacket): Uint8Array {
  if (packet.authenticator.length !== 16) throw new RangeError(`Authenticator must be 16 bytes, got ${packet.authenticator.length}`);
  let length = RADIUS_HEADER_LENGTH;
  for (const a of packet.attributes) {
    if (a.value.length > ATTRIBUTE_MAX_VALUE) throw new RangeError(`attribute ${a.type} is ${a.value.length} bytes, over 253`);
    length += 2 + a.value.length;
  }
  if (length > RADIUS_MAX_LENGTH) throw new RangeError(`packet is ${length} bytes, over 4096`);
  const out = new Uint8Array(length);
  out[0] = packet.code;
  out[1] = packet.identifier;
  out[2] = length >> 8;
  out[3] = length & 0xff;
  out.set(packet.authenticator, 4);
  let at = RADIUS_HEADER_LENGTH;
  for (const a of packet.attributes) {
    out[at] = a.type;
    out[at + 1] = a.value.length + 2;
    out.set(a.value, at + 2);
    at += 2 + a.value.length;
  }
  return out;
}
