/*
 * The MS-CHAPv1 values inside CHAP packets (RFC 2433, by its section names):
 *   Challenge Packet: an 8-octet challenge.
 *   Response Packet (49 octets): LAN Manager Response (24) | NT-Response (24) | Flags (1).
 *      Flags bit 0 ("use NT"): 1 when the NT-Response is to be used; the LM response is then ignored.
 *   Failure Packet: "E=eeeeeeeeee R=r" (C= and V= only for the password change we do not offer).
 * A Success message is free text (v1 has no authenticator response: no mutual authentication).
 */
import { fail, ok, type Decoded } from '../../util/decoded.ts';

export const MSCHAPV1_RESPONSE_LENGTH = 49;
/** Response Packet: bit 0 of the Flags octet. */
export const USE_NT_FLAG = 0x01;

export interface Mschapv1Response {
  readonly lmResponse: Uint8Array;
  readonly ntResponse: Uint8Array;
  /** The peer asks us to use its NT-Response. */
  readonly useNt: boolean;
}

export function decodeMschapv1Response(value: Uint8Array): Decoded<Mschapv1Response> {
  if (value.length !== MSCHAPV1_RESPONSE_LENGTH) return fail('INVALID_SYNTAX', `an MS-CHAPv1 Response value has 49 octets, not ${value.length}`, 0);
  return ok({ lmResponse: value.slice(0, 24), ntResponse: value.slice(24, 48), useNt: ((value[48] ?? 0) & USE_NT_FLAG) !== 0 });
}

/** What a peer sends: no LAN Manager response (24 zero octets), the NT-Response, "use NT". */
export function encodeMschapv1Response(ntResponse: Uint8Array): Uint8Array {
  if (ntResponse.length !== 24) throw new RangeError('the NT-Response is 24 octets');
  const out = new Uint8Array(MSCHAPV1_RESPONSE_LENGTH);
  out.set(ntResponse, 24);
  out[48] = USE_NT_FLAG;
  return out;
}

/** Failure Packet: R=0, as for MS-CHAPv2: a failure ends the link (no retry with a new password on this challenge). */
export function encodeMschapv1Failure(error: number): string {
  return `E=${error} R=0`;
}
