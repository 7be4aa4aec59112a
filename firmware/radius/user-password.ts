/**
 * User-Password hiding (RFC 2865 §5.2). The password is padded with NULs to a multiple of 16
 * (at most 128 bytes), then, with S the shared secret and RA the Request Authenticator:
 *
 *   b1 = MD5(S + RA)       c(1) = p1 xor b1
 *   bi = MD5(S + c(i-1))   c(i) = pi xor bi
 *
 * The same chaining hides Tunnel-Password and the MPPE keys (`salted-key.ts`) with a salt added.
 */
import { createHash } from 'node:crypto';
import { fail, ok, type Decoded } from '../util/decoded.ts';
import type { Secret } from '../util/secret.ts';

export const USER_PASSWORD_MAX = 128;

/** The §5.2 chain over whole 16-byte blocks; `decrypt` picks which side feeds the next block. */
export function md5Chain(secret: Uint8Array, first: Uint8Array, input: Uint8Array, decrypt: boolean): Uint8Array {
  const out = new Uint8Array(input.length);
  let previous = first;
  for (let at = 0; at < input.length; at += 16) {
    const b = createHash('md5').update(secret).update(previous).digest();
    for (let i = 0; i < 16; i++) out[at + i] = (input[at + i] ?? 0) ^ (b[i] ?? 0);
    previous = (decrypt ? input : out).subarray(at, at + 16);
  }
  return out;
}

/** The attribute value for a password of 1..128 bytes. Throws on a longer one (the caller checks first). */
export function hideUserPassword(password: Secret<Uint8Array>, secret: Secret<Uint8Array>, requestAuthenticator: Uint8Array): Uint8Array {
  const plain = password.reveal();
  if (plain.length > USER_PASSWORD_MAX) throw new RangeError(`User-Password is ${plain.length} bytes, over 128`);
  const padded = new Uint8Array(Math.max(16, Math.ceil(plain.length / 16) * 16));
  padded.set(plain);
  return md5Chain(secret.reveal(), requestAuthenticator, padded, false);
}

/** The password back, trailing NULs removed (what a server does; used by tests and a future DAS). */
export function unhideUserPassword(value: Uint8Array, secret: Secret<Uint8Array>, requestAuthenticator: Uint8Array): Decoded<Uint8Array> {
  if (value.length < 16 || value.length > USER_PASSWORD_MAX || value.length % 16 !== 0) return fail('INVALID_SYNTAX', `User-Password of ${value.length} bytes is not 16..128 in blocks of 16`, 0);
  const plain = md5Chain(secret.reveal(), requestAuthenticator, value, true);
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--;
  return ok(plain.subarray(0, end));
}
