/** One download per client kind (the web UI's "profile" button and the API's /profiles route). */
import { randomUUID } from 'node:crypto';
import { androidProfile } from './android-profile.ts';
import { appleProfile } from './apple-profile.ts';
import { linuxProfile } from './linux-profile.ts';
import type { ClientProfile, ProfileInput } from './profile-input.ts';
import { windowsProfile } from './windows-profile.ts';

export const CLIENT_KINDS = ['windows', 'apple', 'android', 'linux'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

export function clientProfile(kind: ClientKind, input: ProfileInput, uuid: () => string = () => randomUUID().toUpperCase()): ClientProfile {
  switch (kind) {
    case 'windows': return windowsProfile(input);
    case 'apple': return appleProfile(input, uuid);
    case 'android': return androidProfile(input);
    case 'linux': return linuxProfile(input, uuid);
  }
}

export { ProfileError, profileInput, type ClientProfile, type ProfileInput } from './profile-input.ts';
