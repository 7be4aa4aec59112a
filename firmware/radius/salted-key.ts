/**
 * The salt-encrypted String of MS-MPPE-Send-Key and MS-MPPE-Recv-Key (RFC 2548 §2.4.2, §2.4.3):
 *
 *   | Vendor-Type | Vendor-Length |  Salt (2, high bit set)  |  String ...
 *
 * P = Key-Length (1) | Key | zero padding to a multiple of 16; with S the shared secret, R the
 * Request Authenticator of the Access-Request and A the salt:
 *
 *   b(1) = MD5(S + R + A)   c(1) = p(1) xor b(1)
 *   b(i) = MD5(S + c(i-1))  c(i) = p(i) xor b(i)
 *
 * The salt's high bit is always set, and each salt is unique per Access-Accept (§2.4.2).
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';
import { Secret } from '../util/secret.ts';
import { md5Chain } from './user-password.ts';

export function decryptSaltedKey(value: Uint8Array, secret: Secret<Uint8Array>, requestAuthenticator: Uint8Array): Decoded<Secret<Uint8Array>> {
  if (value.length < 2 + 16 || (value.length - 2) % 16 !== 0) return fail('INVALID_SYNTAX', `salted key of ${value.length} bytes is not a salt and whole 16-byte blocks`, 0);
  if (((value[0] ?? 0) & 0x80) === 0) return fail('INVALID_SYNTAX', 'the salt\'s high bit is not set (RFC 2548 §2.4.2)', 0);
  const salt = value.subarray(0, 2);
  const first = new Uint8Array(18);
  first.set(requestAuthenticator);
  first.set(salt, 16);
  const plain = md5Chain(secret.reveal(), first, value.subarray(2), true);
  const keyLength = plain[0] ?? 0;
  if (keyLength === 0 || keyLength > plain.length - 1) return fail('INVALID_SYNTAX', `Key-Length ${keyLength} does not fit the ${plain.length - 1} bytes decrypted (wrong secret?)`, 2);
  return ok(new Secret(Uint8Array.from(plain.subarray(1, 1 + keyLength))));
}

/** What a server sends; the client only decrypts, so this serves tests and a future DAS/server side. */
export function encryptSaltedKey(key: Uint8Array, salt: number, secret: Secret<Uint8Array>, requestAuthenticator: Uint8Array): Uint8Array {
  if (key.length > 255) throw new RangeError('key over 255 bytes');
  const plain = new Uint8Array(Math.ceil((key.length + 1) / 16) * 16);
  plain[0] = key.length;
  plain.set(key, 1);
  const saltBytes = Uint8Array.of(((salt >> 8) & 0xff) | 0x80, salt & 0xff);
  const first = new Uint8Array(18);
  first.set(requestAuthenticator);
  first.set(saltBytes, 16);
  const out = new Uint8Array(2 + plain.length);
  out.set(saltBytes);
  out.set(md5Chain(secret.reveal(), first, plain, false), 2);
  return out;
}
