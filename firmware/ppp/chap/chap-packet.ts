/*
 * CHAP packets (RFC 1994 §4), the Information field of a PPP frame with protocol 0xC223:
 *
 *   Challenge (1) / Response (2):                Success (3) / Failure (4):
 *   | Code | Identifier |    Length     |        | Code | Identifier |    Length     |
 *   | Value-Size | Value ...  | Name ...  |      | Message ...                     |
 *
 * Decoders never throw: they return a result with a stable code and the offset (STYLE.md).
 */
import { fail, ok, type Decoded } from '../../util/decoded.ts';

export const ChapCode = { Challenge: 1, Response: 2, Success: 3, Failure: 4 } as const;
export type ChapCode = (typeof ChapCode)[keyof typeof ChapCode];

export type ChapPacket =
  | { readonly code: 1 | 2; readonly identifier: number; readonly value: Uint8Array; readonly name: string }
  | { readonly code: 3 | 4; readonly identifier: number; readonly message: string };

export function decodeChapPacket(bytes: Uint8Array): Decoded<ChapPacket> {
  if (bytes.length < 4) return fail('TRUNCATED', 'a CHAP packet has a 4-byte header', 0);
  const code = bytes[0]!;
  const identifier = bytes[1]!;
  const length = (bytes[2]! << 8) | bytes[3]!;
  if (length < 4 || length > bytes.length) return fail('INVALID_SYNTAX', `Length ${length} with ${bytes.length} bytes received`, 2);
  const body = bytes.subarray(4, length); // octets past Length are padding (§4)
  if (code === ChapCode.Challenge || code === ChapCode.Response) {
    const size = body[0];
    if (size === undefined || size === 0) return fail('INVALID_SYNTAX', 'Value-Size must be at least one octet (§4.1)', 4);
    if (1 + size > body.length) return fail('INVALID_SYNTAX', `Value-Size ${size} overruns the packet`, 4);
    return ok({ code, identifier, value: body.slice(1, 1 + size), name: Buffer.from(body.subarray(1 + size)).toString('latin1') });
  }
  if (code === ChapCode.Success || code === ChapCode.Failure) return ok({ code, identifier, message: Buffer.from(body).toString('latin1') });
  return fail('INVALID_SYNTAX', `CHAP code ${code}`, 0);
}

export function encodeChapPacket(packet: ChapPacket): Uint8Array {
  const body = 'value' in packet
    ? Buffer.concat([Uint8Array.of(packet.value.length), packet.value, Buffer.from(packet.name, 'latin1')])
    : Buffer.from(packet.message, 'latin1');
  if (body.length + 4 > 0xffff) throw new RangeError('CHAP packet too long');
  const out = new Uint8Array(4 + body.length);
  out[0] = packet.code;
  out[1] = packet.identifier & 0xff;
  out[2] = (out.length >> 8) & 0xff;
  out[3] = out.length & 0xff;
  out.set(body, 4);
  return out;
}
