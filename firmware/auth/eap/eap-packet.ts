/*
 * One EAP packet (RFC 3748 §4), as IKEv2's EAP payload body (RFC 7296 §3.16) and PPP EAP carry it:
 * | Code | Identifier | Length (16) | Type (Request/Response only) | Type-Data ... |
 * Success and Failure are the four header bytes alone.
 */
import { fail, ok, type Decoded } from '../../util/decoded.ts';

export const EapCode = { REQUEST: 1, RESPONSE: 2, SUCCESS: 3, FAILURE: 4 } as const;
export const EapType = { IDENTITY: 1, NOTIFICATION: 2, NAK: 3, MD5_CHALLENGE: 4, TLS: 13, MSCHAPV2: 26 } as const;

export interface EapPacket {
  readonly code: 1 | 2 | 3 | 4;
  readonly identifier: number;
  /** Present exactly for Request and Response. */
  readonly type?: number;
  readonly data: Uint8Array;
}

export function decodeEap(body: Uint8Array): Decoded<EapPacket> {
  if (body.length < 4) return fail('INVALID_SYNTAX', 'EAP packet shorter than its header', 0);
  const code = body[0] as number;
  const identifier = body[1] as number;
  const length = ((body[2] as number) << 8) | (body[3] as number);
  // The carrier (IKE payload, PPP frame) frames the packet, so the two lengths must agree (no link padding).
  if (length !== body.length) return fail('INVALID_SYNTAX', `EAP length ${length} in a ${body.length}-byte payload`, 2);
  if (code === EapCode.SUCCESS || code === EapCode.FAILURE) {
    if (length !== 4) return fail('INVALID_SYNTAX', `EAP ${code === 3 ? 'Success' : 'Failure'} of ${length} bytes`, 2);
    return ok({ code, identifier, data: new Uint8Array(0) });
  }
  if (code !== EapCode.REQUEST && code !== EapCode.RESPONSE) return fail('INVALID_SYNTAX', `unknown EAP code ${code}`, 0);
  if (length < 5) return fail('INVALID_SYNTAX', 'EAP Request/Response without a type', 2);
  return ok({ code, identifier, type: body[4] as number, data: body.slice(5) });
}

/** Throws only on a caller's mistake: a Request or Response needs a type. */
export function encodeEap(p: EapPacket): Uint8Array {
  const typed = p.code === EapCode.REQUEST || p.code === EapCode.RESPONSE;
  if (typed && p.type === undefined) throw new RangeError('EAP Request/Response without a type');
  const out = new Uint8Array(typed ? 5 + p.data.length : 4);
  out[0] = p.code;
  out[1] = p.identifier;
  out[2] = out.length >> 8;
  out[3] = out.length & 0xff;
  if (typed) {
    out[4] = p.type as number;
    out.set(p.data, 5);
  }
  return out;
}
