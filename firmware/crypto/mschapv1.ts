/**
 * MS-CHAPv1 (RFC 2433, CHAP algorithm 0x80) and its MPPE start key (RFC 3079 §2). Only the
 * NT-Response is made and checked: the LAN Manager response is weaker still and no peer we serve
 * needs it (the "use NT" flag). Pure functions; nothing here logs.
 */
import { createHash } from 'node:crypto';
import { challengeResponse, hashNtPasswordHash, ntPasswordHash, type Password } from './mschapv2.ts';

/** RFC 2433 (Challenge Packet): the authenticator's Challenge is 8 octets. */
export const MSCHAPV1_CHALLENGE_LENGTH = 8;

/**
 * RFC 2433 Appendix A NtChallengeResponse(): the NT password hash, zero-padded to 21 octets, as three DES
 * keys over the 8-octet challenge (the same ChallengeResponse() as MS-CHAPv2, without its ChallengeHash).
 */
export function ntChallengeResponse(challenge: Uint8Array, password: Password): Buffer {
  return challengeResponse(challenge, ntPasswordHash(password));
}

/**
 * RFC 3079 §2.3/§2.4 GetStartKey() for 128-bit keys: the first 16 octets of
 * SHA1(PasswordHashHash | PasswordHashHash | Challenge). MS-CHAPv1 gives one key, the same both ways.
 * (§2.1 derives 40- and 56-bit keys from the LAN Manager hash instead; Postern offers MPPE-128 only.)
 */
export function mschapv1StartKey(passwordHashHash: Uint8Array, challenge: Uint8Array): Buffer {
  if (passwordHashHash.length !== 16) throw new RangeError(`PasswordHashHash must be 16 bytes, got ${passwordHashHash.length}`);
  if (challenge.length !== MSCHAPV1_CHALLENGE_LENGTH) throw new RangeError(`Challenge must be 8 bytes, got ${challenge.length}`);
  return createHash('sha1').update(passwordHashHash).update(passwordHashHash).update(challenge).digest().subarray(0, 16);
}

/** The start key from a password (or its NT hash), as the peer and a local authenticator compute it. */
export function mschapv1StartKeyOf(password: Password, challenge: Uint8Array): Buffer {
  return mschapv1StartKey(hashNtPasswordHash(ntPasswordHash(password)), challenge);
}
