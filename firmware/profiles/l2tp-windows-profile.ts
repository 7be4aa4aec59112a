/*
 * Windows L2TP/IPsec (issue 20): a PowerShell script for the built-in client, beside the IKEv2 one.
 * Each step says in the script what it does: (1) when the gateway may sit behind a NAT, the
 * documented PolicyAgent value AssumeUDPEncapsulationContextOnSendRule = 2 (Windows otherwise refuses
 * NAT-T to a server behind NAT; it takes effect after a restart); (2) with certificates, the CA into
 * the machine's roots and the user's PKCS#12 into the machine store (IPsec for L2TP authenticates
 * with a machine certificate); (3) the connection: L2TP with the group PSK (or the certificate),
 * MS-CHAPv2 inside PPP, encryption required; (4) Main Mode and Quick Mode set to the gateway's
 * proposals (Set-VpnConnectionIPsecConfiguration applies to IKEv2 and L2TP connections).
 */
import { firstExpressible, ProfileError, type L2tpProfileInput, type ProfileFile, type ProfileInput } from './profile-input.ts';
import { importPkcs12, ps, replaceOwn, slug, WINDOWS_ESP, WINDOWS_IKE } from './windows-profile.ts';

/**
 * Quick Mode for L2TP: AES-CBC with HMAC only. GCM in an IKEv1 custom policy is Windows' IKEv2
 * territory (its L2TP client's own offers are CBC), so the gateway's first CBC proposal is chosen.
 */
export const WINDOWS_L2TP_ESP = Object.fromEntries(Object.entries(WINDOWS_ESP).filter(([name]) => !name.includes('gcm')));
/** Main Mode: IKEv1 has no AES-GCM phase 1, so only the CBC entries of Windows' table apply. */
export const WINDOWS_L2TP_IKE = Object.fromEntries(Object.entries(WINDOWS_IKE).filter(([name]) => !name.includes('gcm')));

export const POLICY_AGENT_KEY = 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent';

export function windowsL2tpProfile(input: ProfileInput): ProfileFile {
  const l2tp = requireL2tp(input);
  const ike = firstExpressible(l2tp.ikeProposals, WINDOWS_L2TP_IKE);
  const esp = firstExpressible(l2tp.espProposals, WINDOWS_L2TP_ESP);
  if (!ike || !esp) throw new ProfileError('none of the gateway\'s L2TP/IPsec proposals can be expressed by the Windows client');
  const cert = input.clientCertificate;
  if (l2tp.auth === 'certificate' && !cert) throw new ProfileError('L2TP/IPsec with certificates needs the user\'s certificate in the profile');
  const name = `${input.name} (L2TP)`;
  const scope = input.allUserConnection ? ' -AllUserConnection' : '';
  const lines = [
    `# Postern L2TP/IPsec profile for ${input.user} on ${input.server} (${cert ? 'certificate' : 'pre-shared key'}). Run in an elevated PowerShell:`,
    '#   powershell -ExecutionPolicy Bypass -File .\\<this file>',
    '$ErrorActionPreference = \'Stop\'',
    ...(l2tp.gatewayBehindNat ? [
      '# Step 1: the gateway may be behind a NAT. Windows refuses IPsec NAT-T to a server behind NAT unless',
      '# AssumeUDPEncapsulationContextOnSendRule is 2 (both ends may be behind NAT; Microsoft KB 926179). Needs a restart.',
      `New-ItemProperty -Path ${ps(POLICY_AGENT_KEY)} -Name 'AssumeUDPEncapsulationContextOnSendRule' -PropertyType DWord -Value 2 -Force | Out-Null`,
    ] : []),
    ...(cert ? [
      '# Step 2: the gateway\'s CA as a trusted root and your certificate in the machine store: IPsec for L2TP authenticates with a machine certificate.',
      `$caFile = Join-Path $env:TEMP ${ps(`${slug(name)}-ca.cer`)}`,
      `[IO.File]::WriteAllBytes($caFile, [Convert]::FromBase64String(${ps(input.caDer.toString('base64'))}))`,
      'Import-Certificate -FilePath $caFile -CertStoreLocation Cert:\\LocalMachine\\Root | Out-Null',
      'Remove-Item $caFile',
      ...importPkcs12(name, cert.p12),
    ] : []),
    '# Step 3: the L2TP/IPsec connection; PPP signs in with MS-CHAPv2 and encryption is required.',
    ...replaceOwn(name, input.server, scope),
    cert
      // Without -L2tpPsk, Windows authenticates IPsec with the machine certificate imported above.
      ? `Add-VpnConnection -Name ${ps(name)} -ServerAddress ${ps(input.server)} -TunnelType L2tp -AuthenticationMethod MSChapv2 -EncryptionLevel Required -RememberCredential${scope} -Force`
      : `Add-VpnConnection -Name ${ps(name)} -ServerAddress ${ps(input.server)} -TunnelType L2tp -L2tpPsk ${ps(l2tp.psk.reveal())} -AuthenticationMethod MSChapv2 -EncryptionLevel Required -RememberCredential${scope} -Force`,
    `# Step 4: Main Mode ${ike.proposal} and Quick Mode ${esp.proposal}, as the gateway offers them (Windows' own defaults include DH group 2 and 3DES).`,
    `Set-VpnConnectionIPsecConfiguration -ConnectionName ${ps(name)} -EncryptionMethod ${ike.value.EncryptionMethod} -IntegrityCheckMethod ${ike.value.IntegrityCheckMethod} -DHGroup ${ike.value.DHGroup} -CipherTransformConstants ${esp.value.CipherTransformConstants} -AuthenticationTransformConstants ${esp.value.AuthenticationTransformConstants} -PfsGroup None${scope} -Force`,
    `Write-Host ${ps(`Added '${name}': connect from the network menu as ${input.user}.${l2tp.gatewayBehindNat ? ' Restart Windows once first (the NAT setting).' : ''}`)}`,
  ];
  return { filename: `${slug(input.name)}-${slug(input.user)}-l2tp.ps1`, contentType: 'text/plain; charset=utf-8', body: `${lines.join('\r\n')}\r\n`, ike: ike.proposal, esp: esp.proposal };
}

export function requireL2tp(input: ProfileInput): L2tpProfileInput {
  if (!input.l2tp) throw new ProfileError('L2TP/IPsec is not enabled on this gateway');
  return input.l2tp;
}
