/*
 * PPP control packets, shared by LCP and the NCPs (RFC 1661 §5):
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     Code      |  Identifier   |            Length             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |    Data ...
 *  +-+-+-+-+
 *
 * Configuration Options inside Configure-Request/Ack/Nak/Reject (§5.1 to §5.4, §6):
 *
 *  |     Type      |    Length     |    Data ...
 *
 * Protocol-Reject (§5.7):  | Rejected-Protocol (16) | Rejected-Information ...
 * Echo-Request, Echo-Reply, Discard-Request (§5.8, §5.9):  | Magic-Number (32) | Data ...
 * Code-Reject (§5.6):  | Rejected-Packet ...
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';

/** Control packet codes (RFC 1661 §5; 12 and 13 from RFC 1570, 14 and 15 from RFC 1962 §2.3). */
export const ControlCode = {
  ConfigureRequest: 1,
  ConfigureAck: 2,
  ConfigureNak: 3,
  ConfigureReject: 4,
  TerminateRequest: 5,
  TerminateAck: 6,
  CodeReject: 7,
  ProtocolReject: 8,
  EchoRequest: 9,
  EchoReply: 10,
  DiscardRequest: 11,
  Identification: 12,
  TimeRemaining: 13,
  ResetRequest: 14,
  ResetAck: 15,
} as const;
export type ControlCode = (typeof ControlCode)[keyof typeof ControlCode];

const CODE_NAMES = new Map<number, string>(Object.entries(ControlCode).map(([name, value]) => [value, name]));

export function codeName(code: number): string {
  return CODE_NAMES.get(code) ?? `code ${code}`;
}

export const HEADER_LENGTH = 4;

export interface ControlPacket {
  readonly code: number;
  readonly identifier: number;
  /** The Data field, exactly Length - 4 bytes; padding after Length is dropped (§5). */
  readonly data: Uint8Array;
}

export interface PppOption {
  readonly type: number;
  /** The option's Data field (Length - 2 bytes). */
  readonly data: Uint8Array;
}

export interface ProtocolReject {
  readonly rejectedProtocol: number;
  readonly rejectedInformation: Uint8Array;
}

export interface EchoPacket {
  readonly magicNumber: number;
  readonly data: Uint8Array;
}

/** §5: Length below 4 or beyond the bytes received makes the packet invalid (silently discarded). */
export function decodeControlPacket(bytes: Uint8Array): Decoded<ControlPacket> {
  if (bytes.length < HEADER_LENGTH) return fail('TRUNCATED', `control packet of ${bytes.length} bytes`, 0);
  const length = ((bytes[2] as number) << 8) | (bytes[3] as number);
  if (length < HEADER_LENGTH) return fail('INVALID_SYNTAX', `Length ${length} is below the header's 4`, 2);
  if (length > bytes.length) return fail('TRUNCATED', `Length ${length} but ${bytes.length} bytes received`, 2);
  return ok({ code: bytes[0] as number, identifier: bytes[1] as number, data: bytes.slice(HEADER_LENGTH, length) });
}

export function encodeControlPacket(packet: ControlPacket): Uint8Array {
  const length = HEADER_LENGTH + packet.data.length;
  if (length > 0xffff) throw new Error(`control packet of ${length} bytes`);
  const out = new Uint8Array(length);
  out[0] = packet.code;
  out[1] = packet.identifier;
  out[2] = length >> 8;
  out[3] = length & 0xff;
  out.set(packet.data, HEADER_LENGTH);
  return out;
}

/** §6: every option's Length covers Type and Length (so ≥ 2) and stays inside the packet. */
export function decodeOptions(data: Uint8Array): Decoded<PppOption[]> {
  const options: PppOption[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 2 > data.length) return fail('TRUNCATED', 'option header cut short', at);
    const length = data[at + 1] as number;
    if (length < 2) return fail('INVALID_SYNTAX', `option ${data[at]} has Length ${length}`, at + 1);
    if (at + length > data.length) return fail('TRUNCATED', `option ${data[at]} overruns the packet`, at + 1);
    options.push({ type: data[at] as number, data: data.slice(at + 2, at + length) });
    at += length;
  }
  return ok(options);
}

export function encodeOptions(options: readonly PppOption[]): Uint8Array {
  const out = new Uint8Array(options.reduce((n, o) => n + 2 + o.data.length, 0));
  let at = 0;
  for (const o of options) {
    if (o.data.length > 253) throw new Error(`option ${o.type} with ${o.data.length} bytes of data`);
    out[at] = o.type;
    out[at + 1] = 2 + o.data.length;
    out.set(o.data, at + 2);
    at += 2 + o.data.length;
  }
  return out;
}

/** Configure-Request/Ack/Nak/Reject with their options (§5.1 to §5.4). */
export function encodeConfigure(code: number, identifier: number, options: readonly PppOption[]): Uint8Array {
  return encodeControlPacket({ code, identifier, data: encodeOptions(options) });
}

export function decodeProtocolReject(data: Uint8Array): Decoded<ProtocolReject> {
  if (data.length < 2) return fail('TRUNCATED', 'Protocol-Reject without Rejected-Protocol', 0);
  return ok({ rejectedProtocol: ((data[0] as number) << 8) | (data[1] as number), rejectedInformation: data.slice(2) });
}

/** §5.7: the rejected information is cut so the whole packet fits the peer's MRU. */
export function encodeProtocolReject(identifier: number, reject: ProtocolReject, mru: number): Uint8Array {
  const room = Math.max(0, mru - HEADER_LENGTH - 2);
  const data = new Uint8Array(2 + Math.min(room, reject.rejectedInformation.length));
  data[0] = reject.rejectedProtocol >> 8;
  data[1] = reject.rejectedProtocol & 0xff;
  data.set(reject.rejectedInformation.subarray(0, data.length - 2), 2);
  return encodeControlPacket({ code: ControlCode.ProtocolReject, identifier, data });
}

/** §5.6: the rejected packet, from its Information field on, cut to fit the peer's MRU. */
export function encodeCodeReject(identifier: number, rejectedPacket: Uint8Array, mru: number): Uint8Array {
  const room = Math.max(0, mru - HEADER_LENGTH);
  return encodeControlPacket({ code: ControlCode.CodeReject, identifier, data: rejectedPacket.subarray(0, room) });
}

/** The code a Code-Reject names: the first byte of the rejected packet. */
export function rejectedCode(data: Uint8Array): Decoded<number> {
  const code = data[0];
  return code === undefined ? fail('TRUNCATED', 'Code-Reject without a rejected packet', 0) : ok(code);
}

export function decodeEcho(data: Uint8Array): Decoded<EchoPacket> {
  if (data.length < 4) return fail('TRUNCATED', 'echo or discard packet without Magic-Number', 0);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return ok({ magicNumber: view.getUint32(0), data: data.slice(4) });
}

/** Echo-Request, Echo-Reply or Discard-Request (§5.8, §5.9). */
export function encodeEcho(code: number, identifier: number, echo: EchoPacket): Uint8Array {
  const data = new Uint8Array(4 + echo.data.length);
  new DataView(data.buffer).setUint32(0, echo.magicNumber >>> 0);
  data.set(echo.data, 4);
  return encodeControlPacket({ code, identifier, data });
}

/** Reads a 16- or 32-bit option value (MRU, Magic-Number, addresses); undefined when Length differs. */
export function optionUint(option: PppOption, bytes: 2 | 4): number | undefined {
  if (option.data.length !== bytes) return undefined;
  const view = new DataView(option.data.buffer, option.data.byteOffset, option.data.byteLength);
  return bytes === 2 ? view.getUint16(0) : view.getUint32(0);
}

export function uintOption(type: number, value: number, bytes: 2 | 4): PppOption {
  const data = new Uint8Array(bytes);
  const view = new DataView(data.buffer);
  if (bytes === 2) view.setUint16(0, value);
  else view.setUint32(0, value >>> 0);
  return { type, data };
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
