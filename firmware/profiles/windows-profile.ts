/*
 * Windows: a PowerShell script for the built-in client. It imports the gateway's CA into the
 * machine's Trusted Root store (the client checks the gateway certificate against it), adds the
 * IKEv2 connection with crypto settings matching the gateway's (Set-VpnConnectionIPsecConfiguration;
 * Windows' own defaults are DH group 2 and SHA-1), and SSTP as a second connection for networks that
 * only let HTTPS out. Run it as administrator; the password is asked at the first connection. With
 * certificate login it imports the user's PKCS#12 into the machine store (IKEv2 machine certificate),
 * asking for its password; -AllUserConnection (an option) puts the connections in the all-users phonebook.
 */
import { firstExpressible, ProfileError, type ProfileFile, type ProfileInput } from './profile-input.ts';

interface WindowsIke {
  readonly EncryptionMethod: string;
  readonly IntegrityCheckMethod: string;
  readonly DHGroup: string;
}
interface WindowsEsp {
  readonly CipherTransformConstants: string;
  readonly AuthenticationTransformConstants: string;
}

/** Proposals (the configuration's spelling) Windows 10/11 can express, with the cmdlet's values. */
export const WINDOWS_IKE: Readonly<Record<string, WindowsIke>> = {
  'aes256gcm16-prfsha256-modp2048': { EncryptionMethod: 'GCMAES256', IntegrityCheckMethod: 'SHA256', DHGroup: 'Group14' },
  'aes256gcm16-prfsha256-ecp256': { EncryptionMethod: 'GCMAES256', IntegrityCheckMethod: 'SHA256', DHGroup: 'ECP256' },
  'aes256-sha256-modp2048': { EncryptionMethod: 'AES256', IntegrityCheckMethod: 'SHA256', DHGroup: 'Group14' },
  'aes128-sha256-modp2048': { EncryptionMethod: 'AES128', IntegrityCheckMethod: 'SHA256', DHGroup: 'Group14' },
  'aes256-sha256-ecp256': { EncryptionMethod: 'AES256', IntegrityCheckMethod: 'SHA256', DHGroup: 'ECP256' },
  'aes256-sha384-ecp384': { EncryptionMethod: 'AES256', IntegrityCheckMethod: 'SHA384', DHGroup: 'ECP384' },
  'aes256-sha1-modp1024': { EncryptionMethod: 'AES256', IntegrityCheckMethod: 'SHA1', DHGroup: 'Group2' },
};
export const WINDOWS_ESP: Readonly<Record<string, WindowsEsp>> = {
  aes256gcm16: { CipherTransformConstants: 'GCMAES256', AuthenticationTransformConstants: 'GCMAES256' },
  aes128gcm16: { CipherTransformConstants: 'GCMAES128', AuthenticationTransformConstants: 'GCMAES128' },
  'aes256-sha256': { CipherTransformConstants: 'AES256', AuthenticationTransformConstants: 'SHA256128' },
  'aes128-sha256': { CipherTransformConstants: 'AES128', AuthenticationTransformConstants: 'SHA256128' },
  'aes256-sha1': { CipherTransformConstants: 'AES256', AuthenticationTransformConstants: 'SHA196' },
  'aes128-sha1': { CipherTransformConstants: 'AES128', AuthenticationTransformConstants: 'SHA196' },
};

/** A PowerShell single-quoted literal: only the quote itself needs doubling. */
export const ps = (text: string): string => `'${text.replace(/'/g, "''")}'`;

export function windowsProfile(input: ProfileInput): ProfileFile {
  const ike = firstExpressible(input.ikeProposals, WINDOWS_IKE);
  const esp = firstExpressible(input.espProposals, WINDOWS_ESP);
  if (!ike || !esp) throw new ProfileError('none of the gateway\'s proposals can be expressed by the Windows client');
  const name = input.name;
  const cert = input.clientCertificate;
  if (input.auth === 'certificate' && !cert) throw new ProfileError('certificate login needs the user\'s certificate in the profile');
  // -AllUserConnection: in the phonebook every user of the PC sees (and only an administrator changes).
  const scope = input.allUserConnection ? ' -AllUserConnection' : '';
  const sstpServer = input.sstp.port === 443 ? input.server : `${input.server}:${input.sstp.port}`;
  const lines = [
    `# Postern VPN profile for ${input.user} on ${input.server} (IKEv2${input.sstp.enabled ? ', SSTP' : ''}). Run in an elevated PowerShell:`,
    `#   powershell -ExecutionPolicy Bypass -File .\\<this file>`,
    '$ErrorActionPreference = \'Stop\'',
    // A public gateway certificate (ACME) is checked against Windows' own roots: no CA import. $ca
    // stays for certificate login, whose machine certificate Postern's CA issued (the issuer filter).
    ...(input.publicServerCertificate && !cert ? [] : [
      `$caBase64 = ${ps(input.caDer.toString('base64'))}`,
      '$ca = [Security.Cryptography.X509Certificates.X509Certificate2]::new([Convert]::FromBase64String($caBase64))',
    ]),
    ...(input.publicServerCertificate ? [] : [
      `$caFile = Join-Path $env:TEMP ${ps(`${slug(name)}-ca.cer`)}`,
      '[IO.File]::WriteAllBytes($caFile, $ca.RawData)',
      'Import-Certificate -FilePath $caFile -CertStoreLocation Cert:\\LocalMachine\\Root | Out-Null',
      'Remove-Item $caFile',
    ]),
    ...(cert ? importPkcs12(name, cert.p12) : []),
    ...replaceOwn(name, input.server, scope),
    cert
      // IKEv2 certificate login is the machine certificate (LocalMachine\My), limited to ours by issuer and EKU clientAuth.
      ? `Add-VpnConnection -Name ${ps(name)} -ServerAddress ${ps(input.server)} -TunnelType Ikev2 -AuthenticationMethod MachineCertificate -MachineCertificateIssuerFilter $ca -MachineCertificateEKUFilter '1.3.6.1.5.5.7.3.2' -EncryptionLevel Required${scope} -Force`
      : `Add-VpnConnection -Name ${ps(name)} -ServerAddress ${ps(input.server)} -TunnelType Ikev2 -AuthenticationMethod Eap -EncryptionLevel Required -RememberCredential${scope} -Force`,
    `Set-VpnConnectionIPsecConfiguration -ConnectionName ${ps(name)} -EncryptionMethod ${ike.value.EncryptionMethod} -IntegrityCheckMethod ${ike.value.IntegrityCheckMethod} -DHGroup ${ike.value.DHGroup} -CipherTransformConstants ${esp.value.CipherTransformConstants} -AuthenticationTransformConstants ${esp.value.AuthenticationTransformConstants} -PfsGroup None${scope} -Force`,
  ];
  if (input.sstp.enabled) {
    lines.push(
      ...replaceOwn(`${name} (SSTP)`, sstpServer, scope),
      `Add-VpnConnection -Name ${ps(`${name} (SSTP)`)} -ServerAddress ${ps(sstpServer)} -TunnelType Sstp -AuthenticationMethod MSChapv2 -EncryptionLevel Required -RememberCredential${scope} -Force`,
    );
  }
  lines.push(`Write-Host ${ps(`Added '${name}'${input.sstp.enabled ? ` and '${name} (SSTP)'` : ''}: connect from the network menu${cert ? '' : ` as ${input.user}`}.`)}`);
  return { filename: `${slug(name)}-${slug(input.user)}.ps1`, contentType: 'text/plain; charset=utf-8', body: `${lines.join('\r\n')}\r\n`, ike: ike.proposal, esp: esp.proposal };
}

/** The user's PKCS#12 into the machine's personal store; Windows asks for its password (never in the file). */
export function importPkcs12(name: string, p12: Buffer): string[] {
  return [
    `$p12File = Join-Path $env:TEMP ${ps(`${slug(name)}-client.p12`)}`,
    `[IO.File]::WriteAllBytes($p12File, [Convert]::FromBase64String(${ps(p12.toString('base64'))}))`,
    `$p12Password = Read-Host -AsSecureString ${ps('Password of the VPN certificate')}`,
    'try { Import-PfxCertificate -FilePath $p12File -CertStoreLocation Cert:\\LocalMachine\\My -Password $p12Password | Out-Null } finally { Remove-Item $p12File }',
  ];
}

/**
 * Removes an earlier copy of this connection (same name, same server) so the script can run again;
 * a connection of that name to another server is someone else's: the script stops and leaves it (issue 17).
 */
export function replaceOwn(name: string, server: string, scope: string): string[] {
  return [
    `$old = Get-VpnConnection -Name ${ps(name)}${scope} -ErrorAction SilentlyContinue`,
    `if ($old -and $old.ServerAddress -ne ${ps(server)}) { throw ${ps(`A VPN connection named '${name}' to another server exists; rename or remove it, then run this again.`)} }`,
    `if ($old) { Remove-VpnConnection -Name ${ps(name)}${scope} -Force }`,
  ];
}

export const slug = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'postern';
