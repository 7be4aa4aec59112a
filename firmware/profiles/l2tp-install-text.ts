/*
 * "How to install" for the L2TP/IPsec downloads (issue 20), in the same plain steps as the IKEv2
 * ones (install-text.ts), and why Android has none.
 */
import type { ProfileInput } from './profile-input.ts';

export type L2tpKind = 'windows-l2tp' | 'apple-l2tp' | 'linux-l2tp';

/** Shown in the profile list instead of a download: Android 12 and later removed the L2TP client. */
export const ANDROID_L2TP_NOTE = 'Not offered: Android 12 and later have no L2TP/IPsec client (Google removed the legacy VPN types). Use the strongSwan (IKEv2) profile on Android.';

export function l2tpInstallText(kind: L2tpKind, input: ProfileInput, filename: string): string {
  const name = `${input.name} (L2TP)`;
  const cert = input.clientCertificate !== undefined;
  const bundle = 'the certificate password you chose when downloading';
  switch (kind) {
    case 'windows-l2tp':
      return [
        `Copy ${filename} to the PC, open PowerShell as administrator and run:`,
        `  powershell -ExecutionPolicy Bypass -File .\\${filename}`,
        'What it does, step by step (each step is commented in the script):',
        input.l2tp?.gatewayBehindNat ? '1. Sets AssumeUDPEncapsulationContextOnSendRule = 2 (the gateway may be behind NAT; Windows refuses that otherwise). Restart Windows once afterwards.' : '1. (Not needed: the gateway has a public address.)',
        cert ? `2. Imports the gateway's CA and your certificate into the computer's certificate store; it asks for ${bundle}.` : '2. (Nothing to import: the connection uses the gateway\'s pre-shared key.)',
        `3. Adds "${name}": L2TP/IPsec, ${cert ? 'the certificate' : 'the pre-shared key'} for IPsec, MS-CHAPv2 for the sign-in, encryption required.`,
        '4. Sets the IPsec algorithms to the ones the gateway offers.',
        `Then connect to "${name}" from the network menu and sign in as ${input.user}.`,
      ].join('\n');
    case 'apple-l2tp':
      return [
        `iPhone/iPad: open ${filename} (AirDrop, Mail or Files), then Settings › General › VPN & Device Management › "${name}" › Install.`,
        `Mac: double-click ${filename}, then System Settings › Privacy & Security › Profiles › Install.`,
        cert ? `The device asks for ${bundle} while installing.` : 'The pre-shared key is inside the profile: keep the file private.',
        `Connect in Settings › VPN; the device asks for ${input.user}'s VPN password at the first connection.`,
      ].join('\n');
    case 'linux-l2tp':
      return [
        'Needs NetworkManager with its L2TP plugin (Debian/Ubuntu: apt install network-manager-l2tp strongswan).',
        `Run as root: sudo sh ${filename}`,
        cert ? `The script asks for ${bundle} (openssl) and keeps the key readable by root only.` : 'The pre-shared key goes into the connection file, readable by root only.',
        `Connect with: nmcli connection up id '${name}' --ask`,
      ].join('\n');
  }
}
