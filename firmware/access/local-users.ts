import type { UserConfig } from '../config/types.ts';
import { userCredential, type UserCredential, type UserLookup } from '../crypto/user-credential.ts';

/**
 * The enabled local users as the authenticators see them (PPP over SSTP, L2TP and PPTP; IKEv2's
 * EAP-MSCHAPv2): each one's NT hash, and the clear password only where CHAP-MD5 is allowed.
 */
export function localUsers(users: readonly UserConfig[]): UserLookup {
  const byName = new Map<string, UserCredential>();
  for (const u of users) {
    if (u.enabled) byName.set(u.name, userCredential(u.ntHash, u.chapMd5 ? u.password : undefined));
  }
  return (name) => byName.get(name);
}
