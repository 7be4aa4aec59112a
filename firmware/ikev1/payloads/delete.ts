/*
 * Delete payload (RFC 2408 §3.15):
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !              Domain of Interpretation  (DOI)                  !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !  Protocol-Id  !   SPI Size    !           # of SPIs           !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~               Security Parameter Index(es) (SPI)              ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * An ISAKMP SA is named by its cookies (SPI size 16), an ESP SA by its 4-byte SPI.
 */
import { fail, ok, type Decoded } from '../../util/decoded.ts';

export interface DeletePayload {
  readonly doi: number;
  readonly protocolId: number;
  readonly spiSize: number;
  readonly spis: readonly Uint8Array[];
}

export function decodeDelete(body: Uint8Array, base = 0): Decoded<DeletePayload> {
  if (body.length < 8) return fail('INVALID_SYNTAX', `a delete payload needs 8 bytes, got ${body.length}`, base);
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const spiSize = v.getUint8(5);
  const count = v.getUint16(6);
  if (spiSize * count !== body.length - 8) return fail('INVALID_SYNTAX', `${count} SPIs of ${spiSize} bytes in ${body.length - 8} bytes`, base + 6);
  const spis = Array.from({ length: count }, (_, i) => body.slice(8 + i * spiSize, 8 + (i + 1) * spiSize));
  return ok({ doi: v.getUint32(0), protocolId: v.getUint8(4), spiSize, spis });
}

export function encodeDelete(d: DeletePayload): Uint8Array {
  const b = Buffer.alloc(8 + d.spiSize * d.spis.length);
  b.writeUInt32BE(d.doi >>> 0, 0);
  b[4] = d.protocolId;
  b[5] = d.spiSize;
  b.writeUInt16BE(d.spis.length, 6);
  d.spis.forEach((spi, i) => b.set(spi.subarray(0, d.spiSize), 8 + i * d.spiSize));
  return b;
}
