/*
 * SSTP packets ([MS-SSTP] §2.2.1 to §2.2.4), one after another on the TLS byte stream:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |    Version    |  Reserved   |C|   R   |        Length         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Data ...  (C = 0: one PPP frame, §2.2.3)
 *  +-+-+-+-+
 *
 * A control packet (C = 1, §2.2.2) carries in Data:
 *
 *  |         Message Type          |        Num Attributes         |
 *  |  Attributes ...
 *
 * and each attribute (§2.2.4) is:
 *
 *  |   Reserved    | Attribute ID  |   R   |        Length         |
 *  |  Value ...  (Length - 4 bytes)
 *
 * Both Length fields are 12 bits and count their own header, so a packet is at most 4095 bytes.
 * Version is 0x10 (1.0); reserved bits are sent as zero and ignored on receipt. The attribute
 * values this gateway reads or writes have their own codecs in attributes.ts.
 */
import { fail, ok, type Decoded, type DecodeError } from '../util/decoded.ts';
import { decodePppFrame } from '../ppp/frame.ts';

/** §2.2.1: major version 1, minor 0. */
export const SSTP_VERSION = 0x10;
export const HEADER_LENGTH = 4;
/** The largest value of a 12-bit Length: 4095 bytes with the header. */
export const MAX_PACKET_LENGTH = 0x0fff;
/** §3.1.5.2: "The maximum receive unit (MRU) exchanged for SSTP is 4091 bytes". */
export const MAX_DATA_LENGTH = MAX_PACKET_LENGTH - HEADER_LENGTH;
export const ATTRIBUTE_HEADER_LENGTH = 4;

/** §2.2.2 Message Type, with the spec's names less the SSTP_MSG_ prefix. */
export const MessageType = {
  CALL_CONNECT_REQUEST: 0x0001,
  CALL_CONNECT_ACK: 0x0002,
  CALL_CONNECT_NAK: 0x0003,
  CALL_CONNECTED: 0x0004,
  CALL_ABORT: 0x0005,
  CALL_DISCONNECT: 0x0006,
  CALL_DISCONNECT_ACK: 0x0007,
  ECHO_REQUEST: 0x0008,
  ECHO_RESPONSE: 0x0009,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** §2.2.4 Attribute ID, less the SSTP_ATTRIB_ prefix; NO_ERROR appears only as a Status Info AttribID (§2.2.8). */
export const AttributeId = {
  NO_ERROR: 0x00,
  ENCAPSULATED_PROTOCOL_ID: 0x01,
  STATUS_INFO: 0x02,
  CRYPTO_BINDING: 0x03,
  CRYPTO_BINDING_REQ: 0x04,
} as const;
export type AttributeId = (typeof AttributeId)[keyof typeof AttributeId];

/** §2.2.5: SSTP_ENCAPSULATED_PROTOCOL_PPP, the only encapsulated protocol of SSTP 1.0. */
export const ENCAPSULATED_PROTOCOL_PPP = 0x0001;

/** §2.2.6 and §2.2.7: CERT_HASH_PROTOCOL_SHA1 and _SHA256, as a bitmask in the request. */
export const HashProtocol = { SHA1: 0x01, SHA256: 0x02 } as const;
export type HashProtocol = (typeof HashProtocol)[keyof typeof HashProtocol];

/** §2.2.8 Status, less the ATTRIB_STATUS_ prefix. */
export const AttribStatus = {
  NO_ERROR: 0x00000000,
  DUPLICATE_ATTRIBUTE: 0x00000001,
  UNRECOGNIZED_ATTRIBUTE: 0x00000002,
  INVALID_ATTRIB_VALUE_LENGTH: 0x00000003,
  VALUE_NOT_SUPPORTED: 0x00000004,
  UNACCEPTED_FRAME_RECEIVED: 0x00000005,
  RETRY_COUNT_EXCEEDED: 0x00000006,
  INVALID_FRAME_RECEIVED: 0x00000007,
  NEGOTIATION_TIMEOUT: 0x00000008,
  ATTRIB_NOT_SUPPORTED_IN_MSG: 0x00000009,
  REQUIRED_ATTRIBUTE_MISSING: 0x0000000a,
  STATUS_INFO_NOT_SUPPORTED_IN_MSG: 0x0000000b,
} as const;
export type AttribStatus = (typeof AttribStatus)[keyof typeof AttribStatus];

const nameTable = (table: Record<string, number>) => new Map<number, string>(Object.entries(table).map(([name, value]) => [value, name]));
const MESSAGE_NAMES = nameTable(MessageType);
const ATTRIBUTE_NAMES = nameTable(AttributeId);
const STATUS_NAMES = nameTable(AttribStatus);

/** "CALL_CONNECTED", or "message type 0x0042" for a number the spec does not define (logs). */
export const messageTypeName = (type: number): string => MESSAGE_NAMES.get(type) ?? `message type 0x${type.toString(16).padStart(4, '0')}`;
export const attributeName = (id: number): string => ATTRIBUTE_NAMES.get(id) ?? `attribute 0x${id.toString(16).padStart(2, '0')}`;
export const statusName = (status: number): string => STATUS_NAMES.get(status) ?? `status 0x${status.toString(16).padStart(8, '0')}`;

export interface SstpAttribute {
  readonly attributeId: number;
  /** The Value field, without the 4-byte attribute header. */
  readonly value: Uint8Array;
}

export interface SstpDataPacket {
  readonly kind: 'data';
  /** The PPP frame (§2.2.3). */
  readonly data: Uint8Array;
}

export interface SstpControlPacket {
  readonly kind: 'control';
  readonly messageType: number;
  readonly attributes: readonly SstpAttribute[];
}

export type SstpPacket = SstpDataPacket | SstpControlPacket;

/** The 12-bit Length under the 4 reserved R bits (§2.2.1, §2.2.4). */
export const length12 = (bytes: Uint8Array, at: number): number => (((bytes[at] ?? 0) & 0x0f) << 8) | (bytes[at + 1] ?? 0);
const u16 = (bytes: Uint8Array, at: number): number => ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);

/**
 * One whole packet, as `SstpFramer` cuts them: the Length field must equal the byte count.
 * Control packets must hold exactly Num Attributes attributes, each within the packet.
 */
export function decodeSstpPacket(bytes: Uint8Array): Decoded<SstpPacket> {
  if (bytes.length < HEADER_LENGTH) return fail('TRUNCATED', `${bytes.length} bytes, less than the 4-byte SSTP header`, 0);
  const version = bytes[0] ?? 0;
  if (version !== SSTP_VERSION) return fail('INVALID_MAJOR_VERSION', `version 0x${version.toString(16)}; only 1.0 (0x10) exists`, 0);
  const length = length12(bytes, 2);
  if (length < HEADER_LENGTH) return fail('INVALID_SYNTAX', `Length ${length} is less than the header`, 2);
  if (length !== bytes.length) return fail(length > bytes.length ? 'TRUNCATED' : 'INVALID_SYNTAX', `Length says ${length}, the packet has ${bytes.length} bytes`, 2);
  if (((bytes[1] ?? 0) & 0x01) === 0) return ok({ kind: 'data', data: bytes.subarray(HEADER_LENGTH) });
  return decodeControlPacket(bytes);
}

function decodeControlPacket(bytes: Uint8Array): Decoded<SstpPacket> {
  if (bytes.length < 8) return fail('TRUNCATED', 'control packet without Message Type and Num Attributes', HEADER_LENGTH);
  const messageType = u16(bytes, 4);
  const count = u16(bytes, 6);
  const attributes: SstpAttribute[] = [];
  let at = 8;
  while (at < bytes.length) {
    if (bytes.length - at < ATTRIBUTE_HEADER_LENGTH) return fail('TRUNCATED', 'attribute header cut short', at);
    const length = length12(bytes, at + 2);
    if (length < ATTRIBUTE_HEADER_LENGTH) return fail('INVALID_SYNTAX', `attribute Length ${length} is less than its header`, at + 2);
    if (length > bytes.length - at) return fail('TRUNCATED', `attribute Length ${length} runs past the packet`, at + 2);
    attributes.push({ attributeId: bytes[at + 1] ?? 0, value: bytes.subarray(at + ATTRIBUTE_HEADER_LENGTH, at + length) });
    at += length;
  }
  if (attributes.length !== count) return fail('INVALID_SYNTAX', `Num Attributes says ${count}, the packet holds ${attributes.length}`, 6);
  return ok({ kind: 'control', messageType, attributes });
}

function writeHeader(out: Uint8Array, control: boolean, length: number): void {
  out[0] = SSTP_VERSION;
  out[1] = control ? 0x01 : 0x00;
  out[2] = length >> 8;
  out[3] = length & 0xff;
}

/** A data packet around one PPP frame; frames over 4091 bytes are the caller's bug (the PPP MRU bounds them). */
export function encodeDataPacket(frame: Uint8Array): Uint8Array {
  const length = HEADER_LENGTH + frame.length;
  if (length > MAX_PACKET_LENGTH) throw new RangeError(`PPP frame of ${frame.length} bytes exceeds the SSTP maximum of ${MAX_DATA_LENGTH}`);
  const out = new Uint8Array(length);
  writeHeader(out, false, length);
  out.set(frame, HEADER_LENGTH);
  return out;
}

export function encodeControlPacket(messageType: number, attributes: readonly SstpAttribute[] = []): Uint8Array {
  const length = attributes.reduce((sum, a) => sum + ATTRIBUTE_HEADER_LENGTH + a.value.length, 8);
  if (length > MAX_PACKET_LENGTH) throw new RangeError(`control packet of ${length} bytes exceeds ${MAX_PACKET_LENGTH}`);
  const out = new Uint8Array(length);
  writeHeader(out, true, length);
  out[4] = messageType >> 8;
  out[5] = messageType & 0xff;
  out[6] = attributes.length >> 8;
  out[7] = attributes.length & 0xff;
  let at = 8;
  for (const { attributeId, value } of attributes) {
    const attributeLength = ATTRIBUTE_HEADER_LENGTH + value.length;
    out[at + 1] = attributeId;
    out[at + 2] = attributeLength >> 8;
    out[at + 3] = attributeLength & 0xff;
    out.set(value, at + ATTRIBUTE_HEADER_LENGTH);
    at += attributeLength;
  }
  return out;
}

export function encodeSstpPacket(packet: SstpPacket): Uint8Array {
  return packet.kind === 'data' ? encodeDataPacket(packet.data) : encodeControlPacket(packet.messageType, packet.attributes);
}

/**
 * §3.1.7.1 "Check PPP frame type", by RFC 1661 §2: Protocol 0x8000 and up are NCPs and link control
 * (LCP, PAP, CHAP, EAP); below is network-layer data, which flows only once the call is connected.
 */
export function isPppControlFrame(frame: Uint8Array): boolean {
  const decoded = decodePppFrame(frame, { pfc: true });
  return decoded.ok && decoded.value.protocol >= 0x8000;
}

/** What one `push` yields: the whole packets completed, and the framing error if the stream broke. */
export interface FramerOutput {
  readonly packets: Uint8Array[];
  readonly error?: DecodeError;
}

/**
 * Cuts the TLS byte stream into packets (§3.1.7.2 "delineates the stream of bytes"). Chunks may
 * split packets anywhere. Only a packet's own header is trusted for its length, so at most one
 * partial packet (4095 bytes) is ever held. A header with another Version or a Length below 4
 * means delineation failed: §3.1.5.1 then aborts without a message, and the framer stays failed.
 * Packets wholly inside a chunk are views into it; packets assembled across chunks are copies.
 */
export class SstpFramer {
  /** Made for the first packet a chunk cuts: a call whose packets come whole (the driver's) never holds 4 KB (issue 23). */
  #partial: Uint8Array | undefined;
  #filled = 0;
  #error: DecodeError | undefined;

  /** Bytes of an unfinished packet held from earlier chunks (never more than 4095). */
  get buffered(): number {
    return this.#filled;
  }

  get error(): DecodeError | undefined {
    return this.#error;
  }

  push(chunk: Uint8Array): FramerOutput {
    const packets: Uint8Array[] = [];
    let at = 0;
    while (!this.#error && at < chunk.length) {
      if (this.#filled === 0 && chunk.length - at >= HEADER_LENGTH) {
        const length = this.#check(chunk, at);
        if (length === undefined) break;
        if (chunk.length - at >= length) {
          packets.push(chunk.subarray(at, at + length));
          at += length;
          continue;
        }
      }
      at += this.#fill(chunk, at, HEADER_LENGTH);
      if (this.#filled < HEADER_LENGTH) break;
      const length = this.#check(this.#partial!, 0);
      if (length === undefined) break;
      at += this.#fill(chunk, at, length);
      if (this.#filled < length) break;
      packets.push(this.#partial!.slice(0, length));
      this.#filled = 0;
    }
    return this.#error ? { packets, error: this.#error } : { packets };
  }

  /** Copies from `chunk` until `#partial` holds `upTo` bytes; returns how many were taken. */
  #fill(chunk: Uint8Array, at: number, upTo: number): number {
    const n = Math.max(0, Math.min(upTo - this.#filled, chunk.length - at));
    this.#partial ??= new Uint8Array(MAX_PACKET_LENGTH);
    this.#partial.set(chunk.subarray(at, at + n), this.#filled);
    this.#filled += n;
    return n;
  }

  #check(bytes: Uint8Array, at: number): number | undefined {
    const version = bytes[at] ?? 0;
    const length = length12(bytes, at + 2);
    if (version !== SSTP_VERSION) this.#error = { code: 'INVALID_MAJOR_VERSION', message: `stream lost: version byte 0x${version.toString(16)}`, offset: at };
    else if (length < HEADER_LENGTH) this.#error = { code: 'INVALID_SYNTAX', message: `stream lost: packet Length ${length}`, offset: at + 2 };
    return this.#error ? undefined : length;
  }
}
