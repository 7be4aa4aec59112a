/*
 * The small payloads of IKE_SA_INIT (RFC 7296 §3.4, §3.9, §3.10):
 *  KE:     | Diffie-Hellman Group Num (16) | RESERVED (16) | Key Exchange Data ... |
 *  Nonce:  | Nonce Data (16 to 256 bytes)                                          |
 *  Notify: | Protocol ID | SPI Size | Notify Message Type (16) | SPI | Notification Data |
 */
import { fail, ok, type Decoded } from './result.ts';

export interface KePayload {
  readonly group: number;
  readonly data: Uint8Array;
}

export function decodeKe(body: Uint8Array): Decoded<KePayload> {
  if (body.length < 4) return fail('INVALID_SYNTAX', 'KE payload shorter than its fixed part', 0);
  return ok({ group: ((body[0] as number) << 8) | (body[1] as number), data: body.slice(4) });
}

export function encodeKe(ke: KePayload): Uint8Array {
  const out = new Uint8Array(4 + ke.data.length);
  out[0] = ke.group >> 8;
  out[1] = ke.group & 0xff;
  out.set(ke.data, 4);
  return out;
}

/** §2.10: nonces are at least 16 and at most 256 bytes. */
export function decodeNonce(body: Uint8Array): Decoded<Uint8Array> {
  if (body.length < 16 || body.length > 256) return fail('INVALID_SYNTAX', `nonce of ${body.length} bytes`, 0);
  return ok(body.slice());
}

export interface NotifyPayload {
  readonly protocolId: number;
  readonly type: number;
  readonly spi: Uint8Array;
  readonly data: Uint8Array;
}

export function decodeNotify(body: Uint8Array): Decoded<NotifyPayload> {
  if (body.length < 4) return fail('INVALID_SYNTAX', 'Notify payload shorter than its fixed part', 0);
  const spiSize = body[1] as number;
  if (4 + spiSize > body.length) return fail('INVALID_SYNTAX', `SPI of ${spiSize} bytes past the payload`, 1);
  return ok({ protocolId: body[0] as number, type: ((body[2] as number) << 8) | (body[3] as number), spi: body.slice(4, 4 + spiSize), data: body.slice(4 + spiSize) });
}

export function encodeNotify(n: NotifyPayload): Uint8Array {
  const out = new Uint8Array(4 + n.spi.length + n.data.length);
  out[0] = n.protocolId;
  out[1] = n.spi.length;
  out[2] = n.type >> 8;
  out[3] = n.type & 0xff;
  out.set(n.spi, 4);
  out.set(n.data, 4 + n.spi.length);
  return out;
}
