/*
 * EAP-MSCHAPv2 type data (draft-kamath-pppext-eap-mschapv2-02 §2), after the EAP type byte 26:
 *  Challenge (1):       | OpCode | MS-CHAPv2-ID | MS-Length (16) | Value-Size (16) | Challenge (16) | Name |
 *  Response (2):        | OpCode | MS-CHAPv2-ID | MS-Length | Value-Size (49) | Peer-Challenge (16) |
 *                       | Reserved (8) | NT-Response (24) | Flags (1) | Name |
 *  Success-Request (3): | OpCode | MS-CHAPv2-ID | MS-Length | Message ("S=<40 hex> M=...") |
 *  Failure-Request (4): | OpCode | MS-CHAPv2-ID | MS-Length | Message ("E=691 R=0 C=... V=3 M=...") |
 *  Success-Response and Failure-Response: the OpCode alone.
 * MS-Length counts from the OpCode to the end.
 */
import { fail, ok, type Decoded } from '../../util/decoded.ts';

export const MschapOpCode = { CHALLENGE: 1, RESPONSE: 2, SUCCESS: 3, FAILURE: 4 } as const;

export type MschapPacket =
  | { readonly op: 1; readonly id: number; readonly challenge: Uint8Array; readonly name: string }
  | { readonly op: 2; readonly id: number; readonly peerChallenge: Uint8Array; readonly ntResponse: Uint8Array; readonly name: string }
  | { readonly op: 3 | 4; readonly id: number; readonly message: string }
  /** Success-Response or Failure-Response from the peer: the OpCode only. */
  | { readonly op: 3 | 4; readonly ack: true };

function withHeader(op: number, id: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out[0] = op;
  out[1] = id;
  out[2] = out.length >> 8;
  out[3] = out.length & 0xff;
  out.set(body, 4);
  return out;
}

export function encodeMschap(p: MschapPacket): Uint8Array {
  if ('ack' in p) return Uint8Array.of(p.op);
  switch (p.op) {
    case 1: return withHeader(1, p.id, Buffer.concat([Uint8Array.of(16), p.challenge, Buffer.from(p.name, 'utf8')]));
    case 2: return withHeader(2, p.id, Buffer.concat([Uint8Array.of(49), p.peerChallenge, new Uint8Array(8), p.ntResponse, Uint8Array.of(0), Buffer.from(p.name, 'utf8')]));
    default: return withHeader(p.op, p.id, Buffer.from(p.message, 'utf8'));
  }
}

export function decodeMschap(d: Uint8Array): Decoded<MschapPacket> {
  const op = d[0];
  if (op === undefined || op < 1 || op > 4) return fail('INVALID_SYNTAX', `unknown MS-CHAPv2 OpCode ${op}`, 0);
  if (d.length === 1 && (op === 3 || op === 4)) return ok({ op, ack: true });
  if (d.length < 4) return fail('INVALID_SYNTAX', 'MS-CHAPv2 packet shorter than its header', 0);
  const id = d[1] as number;
  const msLength = ((d[2] as number) << 8) | (d[3] as number);
  if (msLength !== d.length) return fail('INVALID_SYNTAX', `MS-Length ${msLength} for ${d.length} bytes`, 2);
  if (op === 3 || op === 4) return ok({ op, id, message: Buffer.from(d.subarray(4)).toString('utf8') });
  const size = d[4];
  if (op === 1) {
    if (size !== 16 || d.length < 21) return fail('INVALID_SYNTAX', `challenge of ${size} bytes`, 4);
    return ok({ op, id, challenge: d.slice(5, 21), name: Buffer.from(d.subarray(21)).toString('utf8') });
  }
  if (size !== 49 || d.length < 54) return fail('INVALID_SYNTAX', `response of ${size} bytes`, 4);
  return ok({ op: 2, id, peerChallenge: d.slice(5, 21), ntResponse: d.slice(29, 53), name: Buffer.from(d.subarray(54)).toString('utf8') });
}
