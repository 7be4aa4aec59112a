import { ntHashHex } from '../crypto/user-credential.ts';
import type { UserConfig } from './types.ts';

/** A user as given to the API: a password in clear instead of (or as well as) its NT hash. */
export type UserInput = Omit<UserConfig, 'ntHash'> & { ntHash?: string };

/**
 * The user as stored: a password given in clear becomes its NT hash and is dropped, unless the user
 * is allowed CHAP-MD5, which needs it (issue 15.11). Without a password the user is left as it is.
 */
export function storedUser(user: UserInput): UserConfig {
  if (typeof user.password !== 'string') return user as UserConfig;
  const { password, ...rest } = user;
  return { ...rest, ntHash: ntHashHex(password), ...(user.chapMd5 ? { password } : {}) };
}

/** Every user of a document given to the API, as storedUser makes them; anything else untouched. */
export function storedUsers(users: unknown): unknown {
  if (!Array.isArray(users)) return users;
  return users.map((u: unknown) => (u !== null && typeof u === 'object' && !Array.isArray(u) ? storedUser(u as UserInput) : u));
}
