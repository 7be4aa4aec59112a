/**
 * MS-CHAP-MPPE-Keys (vendor 311, type 12; RFC 2548 §2.4.1): the MPPE keys an Access-Accept gives
 * for MS-CHAPv1, hidden like User-Password (RFC 2865 §5.2: no salt, the Request Authenticator first):
 *
 *   | LM-Key (8) | NT-Key (16) | padding (8) |   32 octets, then the §5.2 chain
 *
 * What servers put in NT-Key is NtPasswordHashHash, MD4(MD4(password)): FreeRADIUS sends it and pppd's
 * RADIUS plugin expects it, though the RFC's wording differs. The NAS derives the start key from it
 * and its own Challenge (RFC 3079 §2.3, crypto/mschapv1.ts). The LM-Key is not used (LAN Manager
 * responses are never sent).
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';
import { Secret } from '../util/secret.ts';
import { md5Chain } from './user-password.ts';

export const CHAP_MPPE_KEYS_LENGTH = 32;

/** The 16-octet NT-Key of a received attribute (decrypted with the request's authenticator). */
export function decryptChapMppeKeys(value: Uint8Array, secret: Secret<Uint8Array>, requestAuthenticator: Uint8Array): Decoded<Secret<Uint8Array>> {
  if (value.length !== CHAP_MPPE_KEYS_LENGTH) return fail('INVALID_SYNTAX', `MS-CHAP-MPPE-Keys is 32 octets, got ${value.length}`, 0);
  const plain = md5Chain(secret.reveal(), requestAuthenticator, value, true);
  return ok(new Secret(Uint8Array.from(plain.subarray(8, 24))));
}

/** What a server sends (tests; a future server side): LM-Key zero unless given. */
export function encryptChapMppeKeys(ntKey: Uint8Array, secret: Secret<Uint8Array>, requestAuthenticator: Uint8Array, lmKey: Uint8Array = new Uint8Array(8)): Uint8Array {
  if (ntKey.length !== 16 || lmKey.length !== 8) throw new RangeError('MS-CHAP-MPPE-Keys holds an 8-octet LM-Key and a 16-octet NT-Key');
  const plain = new Uint8Array(CHAP_MPPE_KEYS_LENGTH);
  plain.set(lmKey);
  plain.set(ntKey, 8);
  return md5Chain(secret.reveal(), requestAuthenticator, plain, false);
}
