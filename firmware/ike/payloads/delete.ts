/*
 * Delete payload body (RFC 7296 §3.11):
 * | Protocol ID | SPI Size | Num of SPIs (16) | Security Parameter Index(es) ... |
 * For the IKE SA itself: protocol 1, SPI size 0, no SPIs.
 */
import { fail, ok, type Decoded } from './result.ts';

export interface DeletePayload {
  readonly protocolId: number;
  readonly spis: readonly Uint8Array[];
}

export function decodeDelete(body: Uint8Array): Decoded<DeletePayload> {
  if (body.length < 4) return fail('INVALID_SYNTAX', 'Delete payload shorter than its fixed part', 0);
  const size = body[1] as number;
  const count = ((body[2] as number) << 8) | (body[3] as number);
  if (size === 0 && count !== 0) return fail('INVALID_SYNTAX', `${count} SPIs of size 0`, 2);
  if (size * count !== body.length - 4) return fail('INVALID_SYNTAX', `${count} SPIs of ${size} bytes in ${body.length - 4} bytes`, 1);
  const spis = Array.from({ length: count }, (_, i) => body.slice(4 + i * size, 4 + (i + 1) * size));
  return ok({ protocolId: body[0] as number, spis });
}

export function encodeDelete(d: DeletePayload): Uint8Array {
  const size = d.spis[0]?.length ?? 0;
  if (d.spis.some((s) => s.length !== size)) throw new RangeError('SPIs of one Delete payload must have one size');
  const out = new Uint8Array(4 + size * d.spis.length);
  out[0] = d.protocolId;
  out[1] = size;
  out[2] = d.spis.length >> 8;
  out[3] = d.spis.length & 0xff;
  d.spis.forEach((spi, i) => out.set(spi, 4 + i * size));
  return out;
}
