/*
 * "How to install" for each download (issue 17), in a few plain steps a technician can read out to
 * the person at the other end: where the file goes, what to tap, what the client will ask for.
 */
import type { ClientKind } from './client-profiles.ts';
import type { L2tpKind } from './l2tp-install-text.ts';
import type { PptpKind } from './pptp-profiles.ts';
import type { ProfileInput } from './profile-input.ts';

export function installText(kind: Exclude<ClientKind, L2tpKind | PptpKind>, input: ProfileInput, filename: string): string {
  const cert = input.clientCertificate !== undefined;
  const password = cert ? 'the certificate password you chose when downloading' : `${input.user}'s VPN password`;
  switch (kind) {
    case 'windows':
      return [
        `Copy ${filename} to the PC, open PowerShell as administrator (Start, type "PowerShell", "Run as administrator") and run:`,
        `  powershell -ExecutionPolicy Bypass -File .\\${filename}`,
        '(-ExecutionPolicy Bypass lets this one script run without changing the PC\'s policy.)',
        cert
          ? `The script asks for ${password} to import the certificate into the computer's certificate store.`
          : `Then connect to "${input.name}" from the network menu and sign in as ${input.user}.`,
        input.allUserConnection ? 'The connection is added for every user of this PC.' : 'The connection is added for the user running the script only.',
        'Running it again replaces only this gateway\'s own connection.',
      ].join('\n');
    case 'apple':
      return [
        `iPhone/iPad: open ${filename} (AirDrop, Mail or Files), then Settings › General › VPN & Device Management › "${input.name}" › Install.`,
        `Mac: double-click ${filename}, then System Settings › Privacy & Security › Profiles (older macOS: System Preferences › Profiles) › Install.`,
        cert ? `The device asks for ${password} while installing.` : `Connect in Settings › VPN; the device asks for ${password} at the first connection.`,
        input.publicServerCertificate ? 'The profile is signed by the gateway\'s public certificate: it shows as Verified.' : 'The profile is signed by the gateway: it shows as Verified once its CA is installed.',
      ].join('\n');
    case 'android':
      return [
        'Install "strongSwan VPN Client" from Google Play (or F-Droid).',
        `Open ${filename} on the phone (from Downloads or the mail) and choose strongSwan; tap Import.`,
        cert ? `The app asks for ${password} to install the certificate; allow it to be used for VPN.` : `Tap the profile to connect; the app asks for ${password}.`,
      ].join('\n');
    case 'linux':
      return [
        'Needs NetworkManager with its strongSwan plugin (Debian/Ubuntu: apt install network-manager-strongswan).',
        `Run as root: sudo sh ${filename}`,
        cert ? `The script asks for ${password} (openssl) and keeps the key readable by root only.` : '',
        `It imports the connection into NetworkManager; connect with: nmcli connection up id '${input.name}' --ask`,
      ].filter(Boolean).join('\n');
  }
}
