/*
 * Authentication payload body (RFC 7296 §3.8):
 * | Auth Method | RESERVED (24 bits) | Authentication Data ... |
 */
import { fail, ok, type Decoded } from './result.ts';

export const AuthMethod = { RSA_SIG: 1, SHARED_KEY_MIC: 2, DSS: 3, ECDSA_256: 9, ECDSA_384: 10, ECDSA_521: 11, DIGITAL_SIGNATURE: 14 } as const;

export interface AuthPayload {
  readonly method: number;
  readonly data: Uint8Array;
}

export function decodeAuth(body: Uint8Array): Decoded<AuthPayload> {
  if (body.length < 5) return fail('INVALID_SYNTAX', 'AUTH payload without authentication data', 0);
  return ok({ method: body[0] as number, data: body.slice(4) });
}

export function encodeAuth(a: AuthPayload): Uint8Array {
  const out = new Uint8Array(4 + a.data.length);
  out[0] = a.method;
  out.set(a.data, 4);
  return out;
}
