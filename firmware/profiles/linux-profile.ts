/*
 * Linux: NetworkManager with its strongSwan plugin (network-manager-strongswan). The download is a
 * small shell script that writes the CA and a keyfile connection (mode 0600, as NetworkManager
 * requires) and reloads NetworkManager; the password is asked when connecting. With certificate
 * login it also writes the user's certificate and key from the PKCS#12 (asking its password).
 */
import type { ProfileFile, ProfileInput } from './profile-input.ts';
import { ProfileError } from './profile-input.ts';
import { slug } from './windows-profile.ts';

/** A keyfile value: NetworkManager's keyfile format escapes backslashes and line breaks. */
export const keyfileValue = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

export function linuxProfile(input: ProfileInput, uuid: () => string): ProfileFile {
  const ike = input.ikeProposals[0];
  const esp = input.espProposals[0];
  if (!ike || !esp) throw new ProfileError('the gateway has no proposals configured');
  const cert = input.clientCertificate;
  if (input.auth === 'certificate' && !cert) throw new ProfileError('certificate login needs the user\'s certificate in the profile');
  const id = slug(`${input.name}-${input.user}`);
  const caPath = `/etc/postern/${id}-ca.pem`;
  const certPath = `/etc/postern/${id}-cert.pem`;
  const keyPath = `/etc/postern/${id}-key.pem`;
  // The strongSwan plugin's keys (NetworkManager-strongswan nm_service.c): method cert takes
  // usercert/userkey files; local-identity is what it sends instead of the certificate's subject.
  const auth = cert
    ? ['method=cert', `usercert=${certPath}`, `userkey=${keyPath}`, `local-identity=${keyfileValue(cert.identity)}`, 'password-flags=4']
    : ['method=eap', `user=${keyfileValue(input.user)}`, 'password-flags=2'];
  const keyfile = [
    '[connection]', `id=${keyfileValue(input.name)}`, `uuid=${uuid()}`, 'type=vpn', 'autoconnect=false', '',
    // Without certificate= the plugin checks the gateway against the system's CAs (a public certificate, ACME).
    '[vpn]', 'service-type=org.freedesktop.NetworkManager.strongswan', `address=${keyfileValue(input.server)}`, ...(input.publicServerCertificate ? [] : [`certificate=${caPath}`]),
    ...auth, 'virtual=yes', 'encap=no', 'ipcomp=no',
    'proposal=yes', `ike=${ike}`, `esp=${esp}`, '',
    '[ipv4]', 'method=auto', '', '[ipv6]', 'method=auto', '',
  ].join('\n');
  // Quoted here-documents: nothing inside is expanded by the shell.
  const body = [
    '#!/bin/sh',
    `# Postern VPN profile for ${input.user}: NetworkManager + strongSwan. Run as root.`,
    'set -eu',
    'mkdir -p /etc/postern',
    ...(input.publicServerCertificate ? [] : [`cat > ${caPath} <<'POSTERN_CA'`, input.caPem.trim(), 'POSTERN_CA']),
    ...(cert ? splitPkcs12(cert.p12, certPath, keyPath) : []),
    `cat > /etc/NetworkManager/system-connections/${id}.nmconnection <<'POSTERN_CONNECTION'`, keyfile.trimEnd(), 'POSTERN_CONNECTION',
    `chmod 600 /etc/NetworkManager/system-connections/${id}.nmconnection`,
    'nmcli connection reload',
    `echo "Added '${input.name.replace(/['"\\$`]/g, '')}': connect with nmcli connection up id '${input.name.replace(/['"\\$`]/g, '')}' --ask"`,
    '',
  ].join('\n');
  return { filename: `${id}.sh`, contentType: 'text/x-shellscript; charset=utf-8', body, ike, esp };
}

/**
 * The plugin reads a certificate and a key file, not PKCS#12: the script asks the password once and
 * splits the bundle with openssl, the key readable by root only (as the keyfile itself is).
 */
export function splitPkcs12(p12: Buffer, certPath: string, keyPath: string): string[] {
  return [
    'umask 077',
    `base64 -d > /etc/postern/client.p12.tmp <<'POSTERN_P12'`, ...(p12.toString('base64').match(/.{1,76}/g) ?? []), 'POSTERN_P12',
    'if [ -z "${POSTERN_P12_PASSWORD:-}" ]; then',
    '  printf "Password of the VPN certificate: " >&2; stty -echo 2>/dev/null || true; read -r POSTERN_P12_PASSWORD; stty echo 2>/dev/null || true; echo >&2',
    'fi',
    'export POSTERN_P12_PASSWORD',
    `openssl pkcs12 -in /etc/postern/client.p12.tmp -passin env:POSTERN_P12_PASSWORD -clcerts -nokeys -out ${certPath}`,
    `openssl pkcs12 -in /etc/postern/client.p12.tmp -passin env:POSTERN_P12_PASSWORD -nocerts -nodes -out ${keyPath}`,
    'rm -f /etc/postern/client.p12.tmp',
  ];
}
