/*
 * Apple (macOS, iOS, iPadOS): a configuration profile (.mobileconfig, an XML property list) with two
 * payloads: the gateway's CA as a trusted root (com.apple.security.root) and the IKEv2 VPN
 * (com.apple.vpn.managed) with the gateway's identity, EAP-MSCHAPv2 (ExtendedAuthEnabled) or a
 * certificate, MOBIKE, and security association parameters matching the gateway's proposals.
 * The password is not in the profile: the device asks for it. Certificate login adds the user's
 * PKCS#12 (com.apple.security.pkcs12, named by PayloadCertificateUUID in the VPN payload). The plist
 * is signed with the gateway certificate (CMS SignedData).
 */
import { signCms } from './cms-signed-data.ts';
import { firstExpressible, ProfileError, type ProfileFile, type ProfileInput } from './profile-input.ts';
import { slug } from './windows-profile.ts';

interface AppleSa {
  readonly EncryptionAlgorithm: string;
  readonly IntegrityAlgorithm: string;
  readonly DiffieHellmanGroup: number;
}

export const APPLE_IKE: Readonly<Record<string, AppleSa>> = {
  'aes256gcm16-prfsha256-curve25519': { EncryptionAlgorithm: 'AES-256-GCM', IntegrityAlgorithm: 'SHA2-256', DiffieHellmanGroup: 31 },
  'aes256gcm16-prfsha256-ecp256': { EncryptionAlgorithm: 'AES-256-GCM', IntegrityAlgorithm: 'SHA2-256', DiffieHellmanGroup: 19 },
  'aes256gcm16-prfsha256-modp2048': { EncryptionAlgorithm: 'AES-256-GCM', IntegrityAlgorithm: 'SHA2-256', DiffieHellmanGroup: 14 },
  'aes256-sha256-modp2048': { EncryptionAlgorithm: 'AES-256', IntegrityAlgorithm: 'SHA2-256', DiffieHellmanGroup: 14 },
  'aes256-sha256-ecp256': { EncryptionAlgorithm: 'AES-256', IntegrityAlgorithm: 'SHA2-256', DiffieHellmanGroup: 19 },
  'aes256-sha384-ecp384': { EncryptionAlgorithm: 'AES-256', IntegrityAlgorithm: 'SHA2-384', DiffieHellmanGroup: 20 },
};
export const APPLE_ESP: Readonly<Record<string, Omit<AppleSa, 'DiffieHellmanGroup'>>> = {
  aes256gcm16: { EncryptionAlgorithm: 'AES-256-GCM', IntegrityAlgorithm: 'SHA2-256' },
  aes128gcm16: { EncryptionAlgorithm: 'AES-128-GCM', IntegrityAlgorithm: 'SHA2-256' },
  'aes256-sha256': { EncryptionAlgorithm: 'AES-256', IntegrityAlgorithm: 'SHA2-256' },
  'aes256-sha1': { EncryptionAlgorithm: 'AES-256', IntegrityAlgorithm: 'SHA1-96' },
};

type Plist = string | number | boolean | Buffer | readonly Plist[] | { readonly [key: string]: Plist };

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The property-list XML of a value, indented by `depth` tabs. */
export function plistXml(value: Plist, depth = 0): string {
  const pad = '\t'.repeat(depth);
  if (typeof value === 'string') return `${pad}<string>${escapeXml(value)}</string>`;
  if (typeof value === 'number') return `${pad}<integer>${Math.trunc(value)}</integer>`;
  if (typeof value === 'boolean') return `${pad}<${value}/>`;
  if (Buffer.isBuffer(value)) return `${pad}<data>${value.toString('base64')}</data>`;
  if (Array.isArray(value)) return `${pad}<array>\n${value.map((v) => plistXml(v, depth + 1)).join('\n')}\n${pad}</array>`;
  const entries = Object.entries(value as Record<string, Plist>).map(([k, v]) => `${pad}\t<key>${escapeXml(k)}</key>\n${plistXml(v, depth + 1)}`);
  return `${pad}<dict>\n${entries.join('\n')}\n${pad}</dict>`;
}

export function appleProfile(input: ProfileInput, uuid: () => string, now: Date): ProfileFile {
  const ike = firstExpressible(input.ikeProposals, APPLE_IKE);
  const esp = firstExpressible(input.espProposals, APPLE_ESP);
  if (!ike || !esp) throw new ProfileError('none of the gateway\'s proposals can be expressed by the Apple client');
  const cert = input.clientCertificate;
  if (input.auth === 'certificate' && !cert) throw new ProfileError('certificate login needs the user\'s certificate in the profile');
  const caUuid = uuid();
  const vpnUuid = uuid();
  const p12Uuid = cert ? uuid() : undefined;
  const identifier = `local.postern.${slug(input.server)}`;
  const ikev2: Record<string, Plist> = {
    RemoteAddress: input.server,
    RemoteIdentifier: input.server,
    LocalIdentifier: cert?.identity ?? input.user,
    // A public CA's intermediates change with each renewal: the name is pinned only for Postern's own CA.
    ...(input.publicServerCertificate ? {} : { ServerCertificateIssuerCommonName: input.caCommonName }),
    ServerCertificateCommonName: input.serverCommonName,
    DisableMOBIKE: input.mobike ? 0 : 1,
    DisableRedirect: 1,
    EnablePFS: 0,
    DeadPeerDetectionRate: 'Medium',
    IKESecurityAssociationParameters: { ...ike.value, LifeTimeInMinutes: 240 },
    ChildSecurityAssociationParameters: { ...esp.value, DiffieHellmanGroup: ike.value.DiffieHellmanGroup, LifeTimeInMinutes: 60 },
    // Certificate login: the identity payload below, by its UUID; Postern issues RSA keys.
    ...(cert && p12Uuid ? { AuthenticationMethod: 'Certificate', ExtendedAuthEnabled: 0, PayloadCertificateUUID: p12Uuid, CertificateType: 'RSA' } : { AuthenticationMethod: 'None', ExtendedAuthEnabled: 1, AuthName: input.user }),
  };
  const profile: Plist = {
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: identifier,
    PayloadUUID: uuid(),
    PayloadDisplayName: input.name,
    PayloadDescription: `IKEv2 VPN to ${input.server} for ${input.user}`,
    PayloadContent: [
      // A public gateway certificate (ACME) is trusted by the device already: no root to install.
      ...(input.publicServerCertificate ? [] : [{ PayloadType: 'com.apple.security.root', PayloadVersion: 1, PayloadIdentifier: `${identifier}.ca`, PayloadUUID: caUuid, PayloadDisplayName: input.caCommonName, PayloadContent: input.caDer }]),
      // No Password key: the device asks for the PKCS#12's password while installing.
      ...(cert && p12Uuid ? [{ PayloadType: 'com.apple.security.pkcs12', PayloadVersion: 1, PayloadIdentifier: `${identifier}.identity`, PayloadUUID: p12Uuid, PayloadDisplayName: cert.identity, PayloadCertificateFileName: `${slug(input.user)}.p12`, PayloadContent: cert.p12 }] : []),
      { PayloadType: 'com.apple.vpn.managed', PayloadVersion: 1, PayloadIdentifier: `${identifier}.vpn`, PayloadUUID: vpnUuid, PayloadDisplayName: input.name, UserDefinedName: input.name, VPNType: 'IKEv2', IKEv2: ikev2 },
    ],
  };
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n${plistXml(profile)}\n</plist>\n`;
  // Signed with the gateway certificate (cms-signed-data.ts): the device shows it as verified.
  const body = input.signer ? signCms(Buffer.from(xml, 'utf8'), input.signer, now) : xml;
  return { filename: `${slug(input.name)}-${slug(input.user)}.mobileconfig`, contentType: 'application/x-apple-aspen-config', body, ike: ike.proposal, esp: esp.proposal };
}
