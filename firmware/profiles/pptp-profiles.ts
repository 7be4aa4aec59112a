/*
 * PPTP client profiles (issue 22), offered only while `listeners.pptp.enabled`, each saying that
 * PPTP is insecure (MS-CHAPv2 falls to an offline DES search and the MPPE keys with it):
 * - Windows: a PowerShell script for the built-in client (Add-VpnConnection -TunnelType Pptp,
 *   MS-CHAPv2, -EncryptionLevel Required, i.e. MPPE-128 or no connection).
 * - Linux: NetworkManager with network-manager-pptp, a keyfile connection written by a shell script.
 *   Keys are the plugin's (nm-pptp-service.h): MS-CHAPv2 only (the others refused), MPPE-128
 *   stateless required, the password asked when connecting.
 * Apple (iOS 10, macOS 10.12) and Android 12 removed their PPTP clients: the list says so instead.
 */
import { keyfileValue } from './linux-profile.ts';
import type { ProfileFile, ProfileInput } from './profile-input.ts';
import { ps, replaceOwn, slug } from './windows-profile.ts';

export type PptpKind = 'windows-pptp' | 'linux-pptp';

export const NM_PPTP_SERVICE = 'org.freedesktop.NetworkManager.pptp';
const WARNING = 'PPTP is insecure: MS-CHAPv2 can be cracked offline and the encryption with it. Use it only for devices that cannot do IKEv2 or SSTP.';

/** Shown in the profile list instead of a download. */
export const PPTP_REMOVED_NOTES = {
  'apple-pptp': 'Not offered: Apple removed the PPTP client in iOS 10 and macOS Sierra. Use the IKEv2 profile.',
  'android-pptp': 'Not offered: Android 12 and later have no PPTP client (Google removed the legacy VPN types). Use the strongSwan (IKEv2) profile.',
} as const;

/** PPTP configures no IKE or ESP proposals. */
const NO_IPSEC = { ike: '', esp: '' } as const;
const connectionName = (input: ProfileInput) => `${input.name} (PPTP)`;

export function windowsPptpProfile(input: ProfileInput): ProfileFile {
  const name = connectionName(input);
  const scope = input.allUserConnection ? ' -AllUserConnection' : '';
  const lines = [
    `# Postern PPTP profile for ${input.user} on ${input.server}. Run in an elevated PowerShell:`,
    '#   powershell -ExecutionPolicy Bypass -File .\\<this file>',
    `# ${WARNING}`,
    '$ErrorActionPreference = \'Stop\'',
    ...replaceOwn(name, input.server, scope),
    '# PPTP with MS-CHAPv2; encryption required (MPPE-128: the gateway takes nothing weaker).',
    `Add-VpnConnection -Name ${ps(name)} -ServerAddress ${ps(input.server)} -TunnelType Pptp -AuthenticationMethod MSChapv2 -EncryptionLevel Required -RememberCredential${scope} -Force`,
    `Write-Host ${ps(`Added '${name}': connect from the network menu as ${input.user}.`)}`,
  ];
  return { filename: `${slug(input.name)}-${slug(input.user)}-pptp.ps1`, contentType: 'text/plain; charset=utf-8', body: `${lines.join('\r\n')}\r\n`, ...NO_IPSEC };
}

/** The keyfile alone (the script writes it; tests read it as INI). */
export function pptpKeyfile(input: ProfileInput, uuid: string): string {
  return [
    '[connection]', `id=${keyfileValue(connectionName(input))}`, `uuid=${uuid}`, 'type=vpn', 'autoconnect=false', '',
    '[vpn]', `service-type=${NM_PPTP_SERVICE}`, `gateway=${keyfileValue(input.server)}`,
    // password-flags=2: the password is asked when connecting, never stored.
    `user=${keyfileValue(input.user)}`, 'password-flags=2',
    'refuse-eap=yes', 'refuse-pap=yes', 'refuse-chap=yes', 'refuse-mschap=yes',
    'require-mppe=yes', 'require-mppe-128=yes', 'nobsdcomp=yes', 'nodeflate=yes', '',
    '[ipv4]', 'method=auto', '', '[ipv6]', 'method=ignore', '',
  ].join('\n');
}

export function linuxPptpProfile(input: ProfileInput, uuid: () => string): ProfileFile {
  const id = slug(`${input.name}-${input.user}-pptp`);
  const shown = connectionName(input).replace(/['"\\$`]/g, '');
  const body = [
    '#!/bin/sh',
    `# Postern PPTP profile for ${input.user}: NetworkManager + network-manager-pptp. Run as root.`,
    `# ${WARNING}`,
    'set -eu',
    'umask 077',
    `cat > /etc/NetworkManager/system-connections/${id}.nmconnection <<'POSTERN_CONNECTION'`, pptpKeyfile(input, uuid()).trimEnd(), 'POSTERN_CONNECTION',
    `chmod 600 /etc/NetworkManager/system-connections/${id}.nmconnection`,
    'nmcli connection reload',
    `echo "Added '${shown}': connect with nmcli connection up id '${shown}' --ask"`,
    '',
  ].join('\n');
  return { filename: `${id}.sh`, contentType: 'text/x-shellscript; charset=utf-8', body, ...NO_IPSEC };
}

export function pptpInstallText(kind: PptpKind, input: ProfileInput, filename: string): string {
  const name = connectionName(input);
  switch (kind) {
    case 'windows-pptp':
      return [
        WARNING,
        `Copy ${filename} to the PC, open PowerShell as administrator and run:`,
        `  powershell -ExecutionPolicy Bypass -File .\\${filename}`,
        `It adds "${name}": PPTP, MS-CHAPv2 for the sign-in, encryption required.`,
        `Then connect to "${name}" from the network menu and sign in as ${input.user}.`,
      ].join('\n');
    case 'linux-pptp':
      return [
        WARNING,
        'Needs NetworkManager with its PPTP plugin (Debian/Ubuntu: apt install network-manager-pptp).',
        `Run as root: sudo sh ${filename}`,
        `Connect with: nmcli connection up id '${name}' --ask`,
      ].join('\n');
  }
}
