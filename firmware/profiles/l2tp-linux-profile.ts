/*
 * Linux L2TP/IPsec (issue 20): NetworkManager with its L2TP plugin (network-manager-l2tp, which runs
 * xl2tpd and pppd over strongSwan's or Libreswan's IKEv1 in transport mode). The download is a shell
 * script that writes a keyfile connection (mode 0600) and reloads NetworkManager. Keys are the
 * plugin's (nm-service-defines.h): `gateway`, `user`, `ipsec-enabled`, `machine-auth-type` psk with
 * the PSK in [vpn-secrets] `ipsec-psk` (flags 0: kept by NetworkManager), or tls with `machine-ca`,
 * `machine-cert`, `machine-key`; `ipsec-ike`/`ipsec-esp` are the gateway's first IKEv1 proposals in
 * strongSwan's spelling (the configuration's). PPP offers MS-CHAPv2 only, as the gateway asks for it.
 */
import type { ProfileFile, ProfileInput } from './profile-input.ts';
import { ProfileError } from './profile-input.ts';
import { keyfileValue, splitPkcs12 } from './linux-profile.ts';
import { requireL2tp } from './l2tp-windows-profile.ts';
import { slug } from './windows-profile.ts';

export const NM_L2TP_SERVICE = 'org.freedesktop.NetworkManager.l2tp';

/** The keyfile alone (the script writes it; tests read it as INI). */
export function l2tpKeyfile(input: ProfileInput, uuid: string, paths: { ca: string; cert: string; key: string }): { keyfile: string; ike: string; esp: string } {
  const l2tp = requireL2tp(input);
  const ike = l2tp.ikeProposals[0];
  const esp = l2tp.espProposals[0];
  if (!ike || !esp) throw new ProfileError('the gateway has no L2TP/IPsec proposals configured');
  const cert = input.clientCertificate;
  if (l2tp.auth === 'certificate' && !cert) throw new ProfileError('L2TP/IPsec with certificates needs the user\'s certificate in the profile');
  const name = `${input.name} (L2TP)`;
  const machine = cert
    ? ['machine-auth-type=tls', ...(input.publicServerCertificate ? [] : [`machine-ca=${paths.ca}`]), `machine-cert=${paths.cert}`, `machine-key=${paths.key}`, 'machine-certpass-flags=4']
    : ['machine-auth-type=psk', 'ipsec-psk-flags=0'];
  const keyfile = [
    '[connection]', `id=${keyfileValue(name)}`, `uuid=${uuid}`, 'type=vpn', 'autoconnect=false', '',
    '[vpn]', `service-type=${NM_L2TP_SERVICE}`, `gateway=${keyfileValue(input.server)}`,
    // password-flags=2: the password is asked when connecting, never stored.
    'user-auth-type=password', `user=${keyfileValue(input.user)}`, 'password-flags=2',
    'ipsec-enabled=yes', ...machine, `ipsec-ike=${ike}`, `ipsec-esp=${esp}`, 'ipsec-pfs=no',
    'refuse-pap=yes', 'refuse-chap=yes', 'refuse-mschap=yes', 'refuse-eap=yes', '',
    ...(cert ? [] : ['[vpn-secrets]', `ipsec-psk=${keyfileValue(l2tp.psk.reveal())}`, '']),
    '[ipv4]', 'method=auto', '', '[ipv6]', 'method=auto', '',
  ].join('\n');
  return { keyfile, ike, esp };
}

export function linuxL2tpProfile(input: ProfileInput, uuid: () => string): ProfileFile {
  const id = slug(`${input.name}-${input.user}-l2tp`);
  const paths = { ca: `/etc/postern/${id}-ca.pem`, cert: `/etc/postern/${id}-cert.pem`, key: `/etc/postern/${id}-key.pem` };
  const { keyfile, ike, esp } = l2tpKeyfile(input, uuid(), paths);
  const cert = input.clientCertificate;
  const shown = `${input.name} (L2TP)`.replace(/['"\\$`]/g, '');
  const body = [
    '#!/bin/sh',
    `# Postern L2TP/IPsec profile for ${input.user}: NetworkManager + network-manager-l2tp. Run as root.`,
    'set -eu',
    'umask 077',
    'mkdir -p /etc/postern',
    ...(cert && !input.publicServerCertificate ? [`cat > ${paths.ca} <<'POSTERN_CA'`, input.caPem.trim(), 'POSTERN_CA'] : []),
    ...(cert ? splitPkcs12(cert.p12, paths.cert, paths.key) : []),
    // Quoted here-document: nothing inside (the PSK included) is expanded by the shell.
    `cat > /etc/NetworkManager/system-connections/${id}.nmconnection <<'POSTERN_CONNECTION'`, keyfile.trimEnd(), 'POSTERN_CONNECTION',
    `chmod 600 /etc/NetworkManager/system-connections/${id}.nmconnection`,
    'nmcli connection reload',
    `echo "Added '${shown}': connect with nmcli connection up id '${shown}' --ask"`,
    '',
  ].join('\n');
  return { filename: `${id}.sh`, contentType: 'text/x-shellscript; charset=utf-8', body, ike, esp };
}
