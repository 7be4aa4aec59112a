/*
 * PPTP control messages (RFC 2637 §2), carried on TCP 1723. Every message starts with:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            Length             |       PPTP Message Type       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Magic Cookie                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Control Message Type      |           Reserved0           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * then a fixed body per Control Message Type (§2.1–§2.15), laid out in MESSAGE_LAYOUTS below with the
 * RFC's field names. Length counts the whole message; PPTP Message Type is 1 (control; 2,
 * management, is never used); Magic Cookie is 0x1A2B3C4D. Host names, vendor strings, phone numbers
 * and subaddresses are 64-octet fields padded with NULs. A Length shorter than the message's body is
 * refused; a longer one is accepted and the tail ignored (§2 allows future growth). Reserved fields
 * are sent as 0 and ignored on receipt.
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';

export const PPTP_PORT = 1723;
export const PPTP_MAGIC_COOKIE = 0x1a2b3c4d;
export const PPTP_PROTOCOL_VERSION = 0x0100;
export const PPTP_HEADER_LENGTH = 12;
/** No control message is longer than 220 octets; room for growth, far below anything that could hurt. */
export const PPTP_MAX_MESSAGE_LENGTH = 1024;

type Kind = 'u8' | 'u16' | 'u32' | 'r8' | 'r16' | 'str64' | 'bytes128';
type Layout = ReadonlyArray<readonly [string, Kind]>;

/** §2.1–§2.15: Control Message Type code and body fields in order (r… are reserved). */
export const MESSAGE_LAYOUTS = {
  StartControlConnectionRequest: { code: 1, fields: [['protocolVersion', 'u16'], ['reserved1', 'r16'], ['framingCapabilities', 'u32'], ['bearerCapabilities', 'u32'], ['maximumChannels', 'u16'], ['firmwareRevision', 'u16'], ['hostName', 'str64'], ['vendorString', 'str64']] },
  StartControlConnectionReply: { code: 2, fields: [['protocolVersion', 'u16'], ['resultCode', 'u8'], ['errorCode', 'u8'], ['framingCapabilities', 'u32'], ['bearerCapabilities', 'u32'], ['maximumChannels', 'u16'], ['firmwareRevision', 'u16'], ['hostName', 'str64'], ['vendorString', 'str64']] },
  StopControlConnectionRequest: { code: 3, fields: [['reason', 'u8'], ['reserved1', 'r8'], ['reserved2', 'r16']] },
  StopControlConnectionReply: { code: 4, fields: [['resultCode', 'u8'], ['errorCode', 'u8'], ['reserved1', 'r16']] },
  EchoRequest: { code: 5, fields: [['identifier', 'u32']] },
  EchoReply: { code: 6, fields: [['identifier', 'u32'], ['resultCode', 'u8'], ['errorCode', 'u8'], ['reserved1', 'r16']] },
  OutgoingCallRequest: { code: 7, fields: [['callId', 'u16'], ['callSerialNumber', 'u16'], ['minimumBps', 'u32'], ['maximumBps', 'u32'], ['bearerType', 'u32'], ['framingType', 'u32'], ['packetRecvWindowSize', 'u16'], ['packetProcessingDelay', 'u16'], ['phoneNumberLength', 'u16'], ['reserved1', 'r16'], ['phoneNumber', 'str64'], ['subaddress', 'str64']] },
  OutgoingCallReply: { code: 8, fields: [['callId', 'u16'], ['peerCallId', 'u16'], ['resultCode', 'u8'], ['errorCode', 'u8'], ['causeCode', 'u16'], ['connectSpeed', 'u32'], ['packetRecvWindowSize', 'u16'], ['packetProcessingDelay', 'u16'], ['physicalChannelId', 'u32']] },
  IncomingCallRequest: { code: 9, fields: [['callId', 'u16'], ['callSerialNumber', 'u16'], ['callBearerType', 'u32'], ['physicalChannelId', 'u32'], ['dialedNumberLength', 'u16'], ['dialingNumberLength', 'u16'], ['dialedNumber', 'str64'], ['dialingNumber', 'str64'], ['subaddress', 'str64']] },
  IncomingCallReply: { code: 10, fields: [['callId', 'u16'], ['peerCallId', 'u16'], ['resultCode', 'u8'], ['errorCode', 'u8'], ['packetRecvWindowSize', 'u16'], ['packetTransmitDelay', 'u16'], ['reserved1', 'r16']] },
  IncomingCallConnected: { code: 11, fields: [['peerCallId', 'u16'], ['reserved1', 'r16'], ['connectSpeed', 'u32'], ['packetRecvWindowSize', 'u16'], ['packetTransmitDelay', 'u16'], ['framingType', 'u32']] },
  CallClearRequest: { code: 12, fields: [['callId', 'u16'], ['reserved1', 'r16']] },
  CallDisconnectNotify: { code: 13, fields: [['callId', 'u16'], ['resultCode', 'u8'], ['errorCode', 'u8'], ['causeCode', 'u16'], ['reserved1', 'r16'], ['callStatistics', 'bytes128']] },
  WanErrorNotify: { code: 14, fields: [['peerCallId', 'u16'], ['reserved1', 'r16'], ['crcErrors', 'u32'], ['framingErrors', 'u32'], ['hardwareOverruns', 'u32'], ['bufferOverruns', 'u32'], ['timeoutErrors', 'u32'], ['alignmentErrors', 'u32']] },
  SetLinkInfo: { code: 15, fields: [['peerCallId', 'u16'], ['reserved1', 'r16'], ['sendAccm', 'u32'], ['receiveAccm', 'u32']] },
} as const satisfies Record<string, { code: number; fields: Layout }>;

export type PptpMessageName = keyof typeof MESSAGE_LAYOUTS;
type ValueOf<K> = K extends 'str64' ? string : K extends 'bytes128' ? Uint8Array : number;
type BodyOf<F extends Layout> = { -readonly [E in F[number] as E[1] extends `r${string}` ? never : E[0]]: ValueOf<E[1]> };
export type PptpMessageOf<N extends PptpMessageName> = { type: N } & BodyOf<(typeof MESSAGE_LAYOUTS)[N]['fields']>;
export type PptpControlMessage = { [N in PptpMessageName]: PptpMessageOf<N> }[PptpMessageName];

const SIZE: Record<Kind, number> = { u8: 1, u16: 2, u32: 4, r8: 1, r16: 2, str64: 64, bytes128: 128 };
const NAME_BY_CODE = new Map<number, PptpMessageName>(Object.entries(MESSAGE_LAYOUTS).map(([name, l]) => [l.code, name as PptpMessageName]));
const layoutOf = (name: PptpMessageName): Layout => MESSAGE_LAYOUTS[name].fields;

/** The whole message's length on the wire (header included): §2's fixed sizes, 16 to 220 octets. */
export function messageLength(name: PptpMessageName): number {
  return PPTP_HEADER_LENGTH + layoutOf(name).reduce((n, [, kind]) => n + SIZE[kind], 0);
}

/** §2 result codes that matter to the server, by message. */
export const SccrpResult = { success: 1, generalError: 2, alreadyExists: 3, notAuthorized: 4, versionNotSupported: 5 } as const;
export const OcrpResult = { connected: 1, generalError: 2, noCarrier: 3, busy: 4, noDialTone: 5, timeout: 6, doNotAccept: 7 } as const;
export const IcrpResult = { connect: 1, generalError: 2, doNotAccept: 3 } as const;
export const CdnResult = { lostCarrier: 1, generalError: 2, adminShutdown: 3, request: 4 } as const;
export const StopReason = { none: 1, stopProtocol: 2, localShutdown: 3 } as const;
/** §2.2 General Error Codes. */
export const PptpError = { none: 0, notConnected: 1, badFormat: 2, badValue: 3, noResource: 4, badCallId: 5, pacError: 6 } as const;

export function encodePptpMessage(message: PptpControlMessage): Uint8Array {
  const layout = layoutOf(message.type);
  const length = messageLength(message.type);
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  view.setUint16(0, length);
  view.setUint16(2, 1);
  view.setUint32(4, PPTP_MAGIC_COOKIE);
  view.setUint16(8, MESSAGE_LAYOUTS[message.type].code);
  const values = message as unknown as Record<string, unknown>;
  let at = PPTP_HEADER_LENGTH;
  for (const [field, kind] of layout) {
    const v = values[field];
    switch (kind) {
      case 'u8': view.setUint8(at, Number(v) & 0xff); break;
      case 'u16': view.setUint16(at, Number(v) & 0xffff); break;
      case 'u32': view.setUint32(at, Number(v) >>> 0); break;
      case 'str64': out.set(Buffer.from(String(v ?? ''), 'latin1').subarray(0, 63), at); break;
      case 'bytes128': out.set((v as Uint8Array | undefined)?.subarray(0, 128) ?? new Uint8Array(0), at); break;
      case 'r8': case 'r16': break;
    }
    at += SIZE[kind];
  }
  return out;
}

/**
 * One whole message (as framed by the control stream). Validate, then interpret: the header and the
 * declared length are checked against the bytes before a body field is read.
 */
export function decodePptpMessage(bytes: Uint8Array): Decoded<PptpControlMessage> {
  if (bytes.length < PPTP_HEADER_LENGTH) return fail('TRUNCATED', `a PPTP message needs ${PPTP_HEADER_LENGTH} octets of header, got ${bytes.length}`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint16(0);
  if (length !== bytes.length) return fail('INVALID_SYNTAX', `Length says ${length} octets, the message has ${bytes.length}`, 0);
  if (view.getUint16(2) !== 1) return fail('INVALID_SYNTAX', `PPTP Message Type ${view.getUint16(2)} is not 1 (control)`, 2);
  if (view.getUint32(4) !== PPTP_MAGIC_COOKIE) return fail('INVALID_SYNTAX', `bad Magic Cookie 0x${view.getUint32(4).toString(16)}`, 4);
  const code = view.getUint16(8);
  const name = NAME_BY_CODE.get(code);
  if (!name) return fail('INVALID_SYNTAX', `unknown Control Message Type ${code}`, 8);
  if (length < messageLength(name)) return fail('TRUNCATED', `${name} needs ${messageLength(name)} octets, Length is ${length}`, 0);
  const message: Record<string, unknown> = { type: name };
  let at = PPTP_HEADER_LENGTH;
  for (const [field, kind] of layoutOf(name)) {
    switch (kind) {
      case 'u8': message[field] = view.getUint8(at); break;
      case 'u16': message[field] = view.getUint16(at); break;
      case 'u32': message[field] = view.getUint32(at); break;
      case 'str64': message[field] = nulPadded(bytes.subarray(at, at + 64)); break;
      case 'bytes128': message[field] = bytes.slice(at, at + 128); break;
      case 'r8': case 'r16': break;
    }
    at += SIZE[kind];
  }
  return ok(message as PptpControlMessage);
}

function nulPadded(field: Uint8Array): string {
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString('latin1');
}
