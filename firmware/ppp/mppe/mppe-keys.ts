/**
 * MPPE session keys (RFC 3078 §7, RFC 3079 §3): from the start key that MS-CHAPv2 gave
 * (firmware/crypto/mschapv2.ts getAsymmetricStartKey) to the RC4 key of each packet or run of packets.
 *
 *   initial:  SessionKey = GetNewKeyFromSHA(StartKey, StartKey)                 (RFC 3079 §3.5.3 step 5)
 *   change:   Interim = GetNewKeyFromSHA(StartKey, SessionKey); SessionKey = RC4(Interim, Interim)
 *   40-bit:   the first three octets become D1 26 9E; 56-bit: the first octet becomes D1 (RFC 3078 §7.1)
 *
 * The initial key skips the RC4 step, as Linux ppp_mppe.c and Windows do (mppe_rekey(state, 1)).
 */
import { createHash } from 'node:crypto';
import { rc4 } from '../../crypto/rc4.ts';

export type MppeStrength = 40 | 56 | 128;

const SHA_PAD1 = Buffer.alloc(40, 0x00);
const SHA_PAD2 = Buffer.alloc(40, 0xf2);

/** 8 octets for 40- and 56-bit keys (salted below), 16 for 128-bit ones. */
export const keyLengthOf = (strength: MppeStrength): 8 | 16 => (strength === 128 ? 16 : 8);

/** RFC 3078 §7.3 GetNewKeyFromSHA(): the first `length` octets of SHA1(Start | Pad1 | Session | Pad2). */
export function getNewKeyFromSha(startKey: Uint8Array, sessionKey: Uint8Array, length: 8 | 16): Buffer {
  if (startKey.length < length || sessionKey.length < length) throw new RangeError(`MPPE keys must be at least ${length} bytes`);
  return createHash('sha1').update(startKey.subarray(0, length)).update(SHA_PAD1).update(sessionKey.subarray(0, length)).update(SHA_PAD2).digest().subarray(0, length);
}

/** RFC 3078 §7.1: weaken a 64-bit key to 40 or 56 bits by fixing its first octets. */
export function saltKey(key: Uint8Array, strength: MppeStrength): Uint8Array {
  if (strength === 40) key.set([0xd1, 0x26, 0x9e]);
  else if (strength === 56) key[0] = 0xd1;
  return key;
}

export function initialSessionKey(startKey: Uint8Array, strength: MppeStrength): Uint8Array {
  const length = keyLengthOf(strength);
  return saltKey(Uint8Array.from(getNewKeyFromSha(startKey, startKey, length)), strength);
}

/** RFC 3078 §7.3 GetKey(): the next session key. */
export function changeSessionKey(startKey: Uint8Array, sessionKey: Uint8Array, strength: MppeStrength): Uint8Array {
  const length = keyLengthOf(strength);
  const interim = getNewKeyFromSha(startKey, sessionKey, length);
  return saltKey(rc4(interim, interim), strength);
}
