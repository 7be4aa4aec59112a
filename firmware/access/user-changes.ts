import { isDeepStrictEqual } from 'node:util';
import type { PosternConfig } from '../config/types.ts';

/**
 * Whether a configuration change touches, of what `slice` reads, only the user list: a user added,
 * edited, disabled or removed. A listener then swaps its user lookup and ends only the sessions of
 * users who lost access, instead of restarting and dropping everyone connected.
 */
export function onlyUsersChanged(previous: PosternConfig, next: PosternConfig, slice: (c: PosternConfig) => unknown): boolean {
  if (isDeepStrictEqual(previous.users, next.users)) return false;
  return isDeepStrictEqual(slice({ ...previous, users: [] }), slice({ ...next, users: [] }));
}

/**
 * The users enabled before and now disabled or gone: their live sessions end. A new password
 * leaves sessions up (as RRAS and strongSwan do); it applies at the next login.
 */
export function usersLosingAccess(previous: PosternConfig, next: PosternConfig): Set<string> {
  const stillEnabled = new Set(next.users.filter((u) => u.enabled).map((u) => u.name));
  return new Set(previous.users.filter((u) => u.enabled && !stillEnabled.has(u.name)).map((u) => u.name));
}
