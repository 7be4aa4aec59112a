/*
 * Linux: NetworkManager with its strongSwan plugin (network-manager-strongswan). The download is a
 * small shell script that writes the CA and a keyfile connection (mode 0600, as NetworkManager
 * requires) and reloads NetworkManager; the password is asked when connecting.
 */
import type { ClientProfile, ProfileInput } from './profile-input.ts';
import { ProfileError } from './profile-input.ts';
import { slug } from './windows-profile.ts';

/** A keyfile value: NetworkManager's keyfile format escapes backslashes and line breaks. */
const keyfileValue = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

export function linuxProfile(input: ProfileInput, uuid: () => string): ClientProfile {
  const ike = input.ikeProposals[0];
  const esp = input.espProposals[0];
  if (!ike || !esp) throw new ProfileError('the gateway has no proposals configured');
  const id = slug(`${input.name}-${input.user}`);
  const caPath = `/etc/postern/${id}-ca.pem`;
  const keyfile = [
    '[connection]', `id=${keyfileValue(input.name)}`, `uuid=${uuid()}`, 'type=vpn', 'autoconnect=false', '',
    '[vpn]', 'service-type=org.freedesktop.NetworkManager.strongswan', `address=${keyfileValue(input.server)}`, `certificate=${caPath}`,
    `method=${input.auth === 'eap' ? 'eap' : 'cert'}`, `user=${keyfileValue(input.user)}`, 'virtual=yes', 'encap=no', 'ipcomp=no',
    'proposal=yes', `ike=${ike}`, `esp=${esp}`, 'password-flags=2', '',
    '[ipv4]', 'method=auto', '', '[ipv6]', 'method=auto', '',
  ].join('\n');
  // Quoted here-documents: nothing inside is expanded by the shell.
  const body = [
    '#!/bin/sh',
    `# Postern VPN profile for ${input.user}: NetworkManager + strongSwan. Run as root.`,
    'set -eu',
    'mkdir -p /etc/postern',
    `cat > ${caPath} <<'POSTERN_CA'`, input.caPem.trim(), 'POSTERN_CA',
    `cat > /etc/NetworkManager/system-connections/${id}.nmconnection <<'POSTERN_CONNECTION'`, keyfile.trimEnd(), 'POSTERN_CONNECTION',
    `chmod 600 /etc/NetworkManager/system-connections/${id}.nmconnection`,
    'nmcli connection reload',
    `echo "Added '${input.name.replace(/['"\\$`]/g, '')}': connect with nmcli connection up id '${input.name.replace(/['"\\$`]/g, '')}' --ask"`,
    '',
  ].join('\n');
  return { filename: `${id}.sh`, contentType: 'text/x-shellscript; charset=utf-8', body, ike, esp };
}
