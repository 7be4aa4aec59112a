/** One download per client kind (the web UI's "profile" button and the API's /profiles route). */
import { randomUUID } from 'node:crypto';
import { androidProfile } from './android-profile.ts';
import { appleProfile } from './apple-profile.ts';
import { linuxProfile } from './linux-profile.ts';
import { installText } from './install-text.ts';
import type { ClientProfile, ProfileFile, ProfileInput } from './profile-input.ts';
import { windowsProfile } from './windows-profile.ts';

export const CLIENT_KINDS = ['windows', 'apple', 'android', 'linux'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

export function clientProfile(kind: ClientKind, input: ProfileInput, uuid: () => string = () => randomUUID().toUpperCase(), now: Date = new Date()): ClientProfile {
  const file = profileFile(kind, input, uuid, now);
  return { ...file, install: installText(kind, input, file.filename) };
}

function profileFile(kind: ClientKind, input: ProfileInput, uuid: () => string, now: Date): ProfileFile {
  switch (kind) {
    case 'windows': return windowsProfile(input);
    case 'apple': return appleProfile(input, uuid, now);
    case 'android': return androidProfile(input);
    case 'linux': return linuxProfile(input, uuid);
  }
}

export { ProfileError, profileInput, type ClientCertificate, type ClientProfile, type ProfileInput } from './profile-input.ts';
