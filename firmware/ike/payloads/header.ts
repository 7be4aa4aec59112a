/*
 * IKE header (RFC 7296 §3.1):
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Initiator's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Responder's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          Message ID                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            Length                             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { fail, ok, type Decoded } from './result.ts';

export const IKE_HEADER_LENGTH = 28;
/** Flags: I(nitiator) bit 3, V(ersion) bit 4, R(esponse) bit 5. */
const FLAG_INITIATOR = 0x08;
const FLAG_VERSION = 0x10;
const FLAG_RESPONSE = 0x20;

export interface IkeHeader {
  readonly initiatorSpi: bigint;
  readonly responderSpi: bigint;
  readonly nextPayload: number;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly exchangeType: number;
  readonly initiator: boolean;
  readonly response: boolean;
  readonly higherVersion: boolean;
  readonly messageId: number;
  readonly length: number;
}

export function decodeIkeHeader(bytes: Uint8Array): Decoded<IkeHeader> {
  if (bytes.length < IKE_HEADER_LENGTH) return fail('TRUNCATED', `an IKE header needs 28 bytes, got ${bytes.length}`, 0);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint8(17);
  const flags = v.getUint8(19);
  const length = v.getUint32(24);
  if (version >> 4 !== 2) return fail('INVALID_MAJOR_VERSION', `major version ${version >> 4}`, 17);
  if (length < IKE_HEADER_LENGTH || length > bytes.length) return fail('INVALID_SYNTAX', `length ${length} does not match the ${bytes.length} bytes received`, 24);
  return ok({
    initiatorSpi: v.getBigUint64(0),
    responderSpi: v.getBigUint64(8),
    nextPayload: v.getUint8(16),
    majorVersion: version >> 4,
    minorVersion: version & 0x0f,
    exchangeType: v.getUint8(18),
    initiator: (flags & FLAG_INITIATOR) !== 0,
    response: (flags & FLAG_RESPONSE) !== 0,
    higherVersion: (flags & FLAG_VERSION) !== 0,
    messageId: v.getUint32(20),
    length,
  });
}

export function encodeIkeHeader(h: Omit<IkeHeader, 'majorVersion' | 'minorVersion'> & { minorVersion?: number }): Uint8Array {
  const out = new Uint8Array(IKE_HEADER_LENGTH);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, h.initiatorSpi);
  v.setBigUint64(8, h.responderSpi);
  v.setUint8(16, h.nextPayload);
  v.setUint8(17, 0x20 | ((h.minorVersion ?? 0) & 0x0f));
  v.setUint8(18, h.exchangeType);
  v.setUint8(19, (h.initiator ? FLAG_INITIATOR : 0) | (h.higherVersion ? FLAG_VERSION : 0) | (h.response ? FLAG_RESPONSE : 0));
  v.setUint32(20, h.messageId);
  v.setUint32(24, h.length);
  return out;
}
