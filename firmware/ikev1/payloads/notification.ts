/*
 * Notification payload (RFC 2408 §3.14):
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !              Domain of Interpretation  (DOI)                  !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !  Protocol-ID  !   SPI Size    !      Notify Message Type      !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                Security Parameter Index (SPI)                 ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                       Notification Data                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * For ISAKMP the SPI, when present, is the two cookies (16 bytes); for DPD (RFC 3706 §5.1) the
 * data is a 32-bit sequence number.
 */
import { fail, ok, type Decoded } from '../../util/decoded.ts';

export interface Notification {
  readonly doi: number;
  readonly protocolId: number;
  readonly type: number;
  readonly spi: Uint8Array;
  readonly data: Uint8Array;
}

export function decodeNotification(body: Uint8Array, base = 0): Decoded<Notification> {
  if (body.length < 8) return fail('INVALID_SYNTAX', `a notification needs 8 bytes, got ${body.length}`, base);
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const spiSize = v.getUint8(5);
  if (spiSize > body.length - 8) return fail('INVALID_SYNTAX', `SPI size ${spiSize} with ${body.length - 8} bytes left`, base + 5);
  return ok({ doi: v.getUint32(0), protocolId: v.getUint8(4), type: v.getUint16(6), spi: body.slice(8, 8 + spiSize), data: body.slice(8 + spiSize) });
}

export function encodeNotification(n: Notification): Uint8Array {
  const b = Buffer.alloc(8 + n.spi.length + n.data.length);
  b.writeUInt32BE(n.doi >>> 0, 0);
  b[4] = n.protocolId;
  b[5] = n.spi.length;
  b.writeUInt16BE(n.type, 6);
  b.set(n.spi, 8);
  b.set(n.data, 8 + n.spi.length);
  return b;
}
