import { timingSafeEqual } from 'node:crypto';
import { Secret } from '../util/secret.ts';
import { ntPasswordHash, type NtHashed } from './mschapv2.ts';

/**
 * What the gateway holds to authenticate a VPN user. MS-CHAPv2, EAP-MSCHAPv2 (RFC 2759 §8) and PAP
 * need only the NT password hash; the password in clear exists only for a user flagged for CHAP-MD5,
 * whose response is computed over the secret itself (RFC 1994 §4.1).
 */
export interface UserCredential extends NtHashed {
  readonly password?: Secret<string>;
}

/** The local users, by name. */
export type UserLookup = (name: string) => UserCredential | undefined;

/** NtPasswordHash (RFC 2759 §8.3) as the configuration stores it: 32 lower-case hex digits. */
export const ntHashHex = (password: string): string => ntPasswordHash(password).toString('hex');

/** A credential from the stored fields: the hash in hex, the clear password only when kept. */
export function userCredential(ntHash: string, password?: string): UserCredential {
  return { ntHash: new Secret(Buffer.from(ntHash, 'hex')), ...(password === undefined ? {} : { password: new Secret(password) }) };
}

/**
 * Whether a password given in clear (PAP, RFC 1334 §2.2.1) is the user's: its NT hash against the
 * stored one, in constant time. Both are 16 bytes whatever was typed, so the length says nothing.
 */
export function passwordMatches(credential: UserCredential, given: string): boolean {
  const stored = Buffer.from(credential.ntHash.reveal());
  const computed = ntPasswordHash(given);
  return stored.length === computed.length && timingSafeEqual(stored, computed);
}

/** A credential from a password in clear (tests, peers): its hash, and the password when kept. */
export function credentialFromPassword(password: string, keepClear = false): UserCredential {
  return userCredential(ntHashHex(password), keepClear ? password : undefined);
}
