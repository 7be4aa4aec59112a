/** One download per client kind (the web UI's "profile" button and the API's /profiles route). */
import { randomUUID } from 'node:crypto';
import { androidProfile } from './android-profile.ts';
import { appleProfile } from './apple-profile.ts';
import { linuxProfile } from './linux-profile.ts';
import { installText } from './install-text.ts';
import { appleL2tpProfile } from './l2tp-apple-profile.ts';
import { l2tpInstallText, type L2tpKind } from './l2tp-install-text.ts';
import { linuxL2tpProfile } from './l2tp-linux-profile.ts';
import { windowsL2tpProfile } from './l2tp-windows-profile.ts';
import { linuxPptpProfile, pptpInstallText, windowsPptpProfile, type PptpKind } from './pptp-profiles.ts';
import type { ClientProfile, ProfileFile, ProfileInput } from './profile-input.ts';
import { windowsProfile } from './windows-profile.ts';

/** IKEv2 (and SSTP) first; the L2TP/IPsec ones (issue 20) exist only while `listeners.l2tp.enabled`. */
export const CLIENT_KINDS = ['windows', 'apple', 'android', 'linux', 'windows-l2tp', 'apple-l2tp', 'linux-l2tp', 'windows-pptp', 'linux-pptp'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];
export const isL2tpKind = (kind: ClientKind): kind is L2tpKind => kind.endsWith('-l2tp');
/** Issue 22: the PPTP ones only while `listeners.pptp.enabled` (insecure, said in each). */
export const isPptpKind = (kind: ClientKind): kind is PptpKind => kind.endsWith('-pptp');

export function clientProfile(kind: ClientKind, input: ProfileInput, uuid: () => string = () => randomUUID().toUpperCase(), now: Date = new Date()): ClientProfile {
  const file = profileFile(kind, input, uuid, now);
  return { ...file, install: isL2tpKind(kind) ? l2tpInstallText(kind, input, file.filename) : isPptpKind(kind) ? pptpInstallText(kind, input, file.filename) : installText(kind, input, file.filename) };
}

function profileFile(kind: ClientKind, input: ProfileInput, uuid: () => string, now: Date): ProfileFile {
  switch (kind) {
    case 'windows': return windowsProfile(input);
    case 'apple': return appleProfile(input, uuid, now);
    case 'android': return androidProfile(input);
    case 'linux': return linuxProfile(input, uuid);
    case 'windows-l2tp': return windowsL2tpProfile(input);
    case 'apple-l2tp': return appleL2tpProfile(input, uuid, now);
    case 'linux-l2tp': return linuxL2tpProfile(input, uuid);
    case 'windows-pptp': return windowsPptpProfile(input);
    case 'linux-pptp': return linuxPptpProfile(input, uuid);
  }
}

export { ANDROID_L2TP_NOTE } from './l2tp-install-text.ts';
export { PPTP_REMOVED_NOTES } from './pptp-profiles.ts';
export { ProfileError, profileInput, type ClientCertificate, type ClientProfile, type ProfileInput } from './profile-input.ts';
