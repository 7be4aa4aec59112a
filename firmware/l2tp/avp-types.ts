/*
 * The IETF AVPs of RFC 2661 §4.4 as a table (attribute type, field, value shape, default M bit) and
 * the codecs of their values. Value layouts beyond plain integers and strings:
 *
 *   Result Code (1)      | Result Code (2) | [Error Code (2) | [Error Message ...]] |
 *   Protocol Version (2) | Ver (1) | Rev (1) |
 *   Q.931 Cause (12)     | Cause Code (2) | Cause Msg (1) | [Advisory Msg ...] |
 *   Call Errors (34)     | Reserved (2) | CRC, Framing, Hardware Overruns, Buffer Overruns, Time-out, Alignment (4 each) |
 *   ACCM (35)            | Reserved (2) | Send ACCM (4) | Receive ACCM (4) |
 * The proxy authentication and LCP CONFREQ AVPs (26-33) are kept opaque: Postern does not take proxy
 * LCP or proxy authentication from a LAC, it negotiates PPP itself.
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';

export const MessageType = {
  SCCRQ: 1, SCCRP: 2, SCCCN: 3, StopCCN: 4, HELLO: 6, OCRQ: 7, OCRP: 8, OCCN: 9, ICRQ: 10, ICRP: 11, ICCN: 12, CDN: 14, WEN: 15, SLI: 16,
} as const;
export type MessageTypeName = keyof typeof MessageType;
export type MessageTypeValue = (typeof MessageType)[MessageTypeName];
const messageTypeNames = new Map<number, MessageTypeName>(Object.entries(MessageType).map(([k, v]) => [v, k as MessageTypeName]));
export const messageTypeName = (value: number): MessageTypeName | undefined => messageTypeNames.get(value);

export const AttributeType = { MESSAGE_TYPE: 0, RANDOM_VECTOR: 36 } as const;

export interface ResultCode {
  readonly result: number;
  readonly error?: number;
  readonly message?: string;
}
export interface ProtocolVersion {
  readonly version: number;
  readonly revision: number;
}
export interface Q931CauseCode {
  readonly causeCode: number;
  readonly causeMessage: number;
  readonly advisory?: string;
}
export interface CallErrors {
  readonly crcErrors: number;
  readonly framingErrors: number;
  readonly hardwareOverruns: number;
  readonly bufferOverruns: number;
  readonly timeoutErrors: number;
  readonly alignmentErrors: number;
}
export interface Accm {
  readonly sendAccm: number;
  readonly receiveAccm: number;
}

/** The typed AVPs of one control message (every one optional here; control-message.ts checks what each message requires). */
export interface L2tpAvps {
  readonly resultCode?: ResultCode;
  readonly protocolVersion?: ProtocolVersion;
  /** Bit 0x1 synchronous, 0x2 asynchronous framing (§4.4.3). */
  readonly framingCapabilities?: number;
  /** Bit 0x1 digital, 0x2 analog access (§4.4.3). */
  readonly bearerCapabilities?: number;
  readonly tieBreaker?: bigint;
  readonly firmwareRevision?: number;
  readonly hostName?: string;
  readonly vendorName?: string;
  readonly assignedTunnelId?: number;
  readonly receiveWindowSize?: number;
  readonly challenge?: Uint8Array;
  readonly q931CauseCode?: Q931CauseCode;
  readonly challengeResponse?: Uint8Array;
  readonly assignedSessionId?: number;
  readonly callSerialNumber?: number;
  readonly minimumBps?: number;
  readonly maximumBps?: number;
  readonly bearerType?: number;
  readonly framingType?: number;
  readonly calledNumber?: string;
  readonly callingNumber?: string;
  readonly subAddress?: string;
  readonly txConnectSpeed?: number;
  readonly physicalChannelId?: number;
  readonly initialReceivedLcpConfreq?: Uint8Array;
  readonly lastSentLcpConfreq?: Uint8Array;
  readonly lastReceivedLcpConfreq?: Uint8Array;
  readonly proxyAuthenType?: Uint8Array;
  readonly proxyAuthenName?: Uint8Array;
  readonly proxyAuthenChallenge?: Uint8Array;
  readonly proxyAuthenId?: Uint8Array;
  readonly proxyAuthenResponse?: Uint8Array;
  readonly callErrors?: CallErrors;
  readonly accm?: Accm;
  readonly privateGroupId?: Uint8Array;
  readonly rxConnectSpeed?: number;
  readonly sequencingRequired?: true;
}
export type AvpField = keyof L2tpAvps;

type Shape = 'u16' | 'u32' | 'u64' | 'string' | 'bytes' | 'empty' | 'resultCode' | 'protocolVersion' | 'q931' | 'callErrors' | 'accm';
export interface AvpSpec {
  readonly type: number;
  readonly field: AvpField;
  /** The RFC's name, for error messages. */
  readonly name: string;
  readonly shape: Shape;
  /** The M bit Postern sends (§4.4 gives it per AVP). */
  readonly mandatory: boolean;
  /** Fewest value bytes for 'string' and 'bytes'. */
  readonly min?: number;
  /** Exact value length for 'bytes' (Challenge Response is an MD5). */
  readonly exact?: number;
}

const spec = (type: number, field: AvpField, name: string, shape: Shape, mandatory: boolean, more: Pick<AvpSpec, 'min' | 'exact'> = {}): AvpSpec => ({ type, field, name, shape, mandatory, ...more });

/** RFC 2661 §4.4 in attribute-type order (0 Message Type and 36 Random Vector are handled by the message codec). */
export const AVP_SPECS: readonly AvpSpec[] = [
  spec(1, 'resultCode', 'Result Code', 'resultCode', true),
  spec(2, 'protocolVersion', 'Protocol Version', 'protocolVersion', true),
  spec(3, 'framingCapabilities', 'Framing Capabilities', 'u32', true),
  spec(4, 'bearerCapabilities', 'Bearer Capabilities', 'u32', true),
  spec(5, 'tieBreaker', 'Tie Breaker', 'u64', false),
  spec(6, 'firmwareRevision', 'Firmware Revision', 'u16', false),
  spec(7, 'hostName', 'Host Name', 'string', true, { min: 1 }),
  spec(8, 'vendorName', 'Vendor Name', 'string', false),
  spec(9, 'assignedTunnelId', 'Assigned Tunnel ID', 'u16', true),
  spec(10, 'receiveWindowSize', 'Receive Window Size', 'u16', true),
  spec(11, 'challenge', 'Challenge', 'bytes', true, { min: 1 }),
  spec(12, 'q931CauseCode', 'Q.931 Cause Code', 'q931', true),
  spec(13, 'challengeResponse', 'Challenge Response', 'bytes', true, { exact: 16 }),
  spec(14, 'assignedSessionId', 'Assigned Session ID', 'u16', true),
  spec(15, 'callSerialNumber', 'Call Serial Number', 'u32', true),
  spec(16, 'minimumBps', 'Minimum BPS', 'u32', true),
  spec(17, 'maximumBps', 'Maximum BPS', 'u32', true),
  spec(18, 'bearerType', 'Bearer Type', 'u32', true),
  spec(19, 'framingType', 'Framing Type', 'u32', true),
  spec(21, 'calledNumber', 'Called Number', 'string', true),
  spec(22, 'callingNumber', 'Calling Number', 'string', true),
  spec(23, 'subAddress', 'Sub-Address', 'string', true),
  spec(24, 'txConnectSpeed', '(Tx) Connect Speed', 'u32', true),
  spec(25, 'physicalChannelId', 'Physical Channel ID', 'u32', false),
  spec(26, 'initialReceivedLcpConfreq', 'Initial Received LCP CONFREQ', 'bytes', false),
  spec(27, 'lastSentLcpConfreq', 'Last Sent LCP CONFREQ', 'bytes', false),
  spec(28, 'lastReceivedLcpConfreq', 'Last Received LCP CONFREQ', 'bytes', false),
  spec(29, 'proxyAuthenType', 'Proxy Authen Type', 'bytes', false),
  spec(30, 'proxyAuthenName', 'Proxy Authen Name', 'bytes', false),
  spec(31, 'proxyAuthenChallenge', 'Proxy Authen Challenge', 'bytes', false),
  spec(32, 'proxyAuthenId', 'Proxy Authen ID', 'bytes', false),
  spec(33, 'proxyAuthenResponse', 'Proxy Authen Response', 'bytes', false),
  spec(34, 'callErrors', 'Call Errors', 'callErrors', true),
  spec(35, 'accm', 'ACCM', 'accm', true),
  spec(37, 'privateGroupId', 'Private Group ID', 'bytes', false),
  spec(38, 'rxConnectSpeed', 'Rx Connect Speed', 'u32', false),
  spec(39, 'sequencingRequired', 'Sequencing Required', 'empty', true),
];
const byType = new Map(AVP_SPECS.map((s) => [s.type, s]));
const byField = new Map(AVP_SPECS.map((s) => [s.field, s]));
export const avpSpecOfType = (type: number): AvpSpec | undefined => byType.get(type);
export const avpSpecOfField = (field: AvpField): AvpSpec => byField.get(field)!;

const text = new TextDecoder();
const utf8 = new TextEncoder();
const u16 = (b: Uint8Array, at: number) => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
const u32 = (b: Uint8Array, at: number) => (u16(b, at) * 0x10000 + u16(b, at + 2));

function sized<T>(s: AvpSpec, v: Uint8Array, length: number, read: () => T): Decoded<T> {
  return v.length === length ? ok(read()) : fail('INVALID_SYNTAX', `${s.name} AVP value is ${v.length} bytes, not ${length} (RFC 2661 §4.4)`, 0);
}

function decodeResultCode(s: AvpSpec, v: Uint8Array): Decoded<ResultCode> {
  // §4.4.2: the Error Code is optional, so 2 or at least 4 bytes; the message follows it.
  if (v.length !== 2 && v.length < 4) return fail('INVALID_SYNTAX', `${s.name} AVP value is ${v.length} bytes, not 2 or 4 and more`, 0);
  const result = u16(v, 0);
  if (v.length === 2) return ok({ result });
  return ok({ result, error: u16(v, 2), ...(v.length > 4 ? { message: text.decode(v.subarray(4)) } : {}) });
}

/** The typed value of one IETF AVP, already revealed if it was hidden. */
export function decodeAvpValue(s: AvpSpec, v: Uint8Array): Decoded<unknown> {
  switch (s.shape) {
    case 'u16': return sized(s, v, 2, () => u16(v, 0));
    case 'u32': return sized(s, v, 4, () => u32(v, 0));
    case 'u64': return sized(s, v, 8, () => (BigInt(u32(v, 0)) << 32n) | BigInt(u32(v, 4)));
    case 'empty': return sized(s, v, 0, () => true as const);
    case 'protocolVersion': return sized(s, v, 2, () => ({ version: v[0] ?? 0, revision: v[1] ?? 0 }));
    case 'accm': return sized(s, v, 10, () => ({ sendAccm: u32(v, 2), receiveAccm: u32(v, 6) }));
    case 'callErrors': return sized(s, v, 26, () => ({ crcErrors: u32(v, 2), framingErrors: u32(v, 6), hardwareOverruns: u32(v, 10), bufferOverruns: u32(v, 14), timeoutErrors: u32(v, 18), alignmentErrors: u32(v, 22) }));
    case 'resultCode': return decodeResultCode(s, v);
    case 'q931':
      if (v.length < 3) return fail('INVALID_SYNTAX', `${s.name} AVP value is ${v.length} bytes, under 3`, 0);
      return ok({ causeCode: u16(v, 0), causeMessage: v[2] ?? 0, ...(v.length > 3 ? { advisory: text.decode(v.subarray(3)) } : {}) });
    case 'string':
    case 'bytes':
      if (s.exact !== undefined && v.length !== s.exact) return fail('INVALID_SYNTAX', `${s.name} AVP value is ${v.length} bytes, not ${s.exact}`, 0);
      if (v.length < (s.min ?? 0)) return fail('INVALID_SYNTAX', `${s.name} AVP value is empty`, 0);
      return ok(s.shape === 'string' ? text.decode(v) : Uint8Array.from(v));
  }
}

const be = (n: number, width: 2 | 4): number[] => (width === 2 ? [(n >>> 8) & 0xff, n & 0xff] : [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);

/** The value bytes of one typed AVP (the inverse of decodeAvpValue). */
export function encodeAvpValue(s: AvpSpec, value: unknown): Uint8Array {
  switch (s.shape) {
    case 'u16': return Uint8Array.from(be(value as number, 2));
    case 'u32': return Uint8Array.from(be(value as number, 4));
    case 'u64': {
      const n = value as bigint;
      return Uint8Array.from([...be(Number((n >> 32n) & 0xffffffffn), 4), ...be(Number(n & 0xffffffffn), 4)]);
    }
    case 'empty': return new Uint8Array(0);
    case 'protocolVersion': {
      const p = value as ProtocolVersion;
      return Uint8Array.of(p.version, p.revision);
    }
    case 'accm': {
      const a = value as Accm;
      return Uint8Array.from([0, 0, ...be(a.sendAccm, 4), ...be(a.receiveAccm, 4)]);
    }
    case 'callErrors': {
      const c = value as CallErrors;
      return Uint8Array.from([0, 0, ...[c.crcErrors, c.framingErrors, c.hardwareOverruns, c.bufferOverruns, c.timeoutErrors, c.alignmentErrors].flatMap((n) => be(n, 4))]);
    }
    case 'resultCode': {
      const r = value as ResultCode;
      const error = r.error ?? (r.message !== undefined ? 0 : undefined);
      return Uint8Array.from([...be(r.result, 2), ...(error !== undefined ? be(error, 2) : []), ...(r.message !== undefined ? utf8.encode(r.message) : [])]);
    }
    case 'q931': {
      const q = value as Q931CauseCode;
      return Uint8Array.from([...be(q.causeCode, 2), q.causeMessage & 0xff, ...(q.advisory !== undefined ? utf8.encode(q.advisory) : [])]);
    }
    case 'string': return utf8.encode(value as string);
    case 'bytes': return Uint8Array.from(value as Uint8Array);
  }
}
