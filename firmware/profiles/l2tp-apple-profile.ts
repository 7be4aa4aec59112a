/*
 * Apple L2TP/IPsec (issue 20): a .mobileconfig whose VPN payload is `VPNType` L2TP, with the PPP
 * dictionary (the user's name and the gateway; MS-CHAPv2, the device asks the password) and the
 * IPSec dictionary: `AuthenticationMethod` SharedSecret with the group PSK as data (LocalIdentifierType
 * KeyID, as Apple's own L2TP settings), or Certificate with the user's PKCS#12 payload and the
 * gateway's CA as a trusted root. Apple's L2TP client has no proposal settings: it offers its own
 * (AES with SHA-2 or SHA-1 and MODP-2048 among them), which the gateway's defaults accept.
 * Signed with the gateway certificate like the IKEv2 profile.
 */
import { plistXml } from './apple-profile.ts';
import { signCms } from './cms-signed-data.ts';
import { ProfileError, type ProfileFile, type ProfileInput } from './profile-input.ts';
import { requireL2tp } from './l2tp-windows-profile.ts';
import { slug } from './windows-profile.ts';

/** What the profile reports for its proposals: Apple chooses among its own. */
export const APPLE_L2TP_PROPOSALS = "the device's own";

export function appleL2tpProfile(input: ProfileInput, uuid: () => string, now: Date): ProfileFile {
  const l2tp = requireL2tp(input);
  const cert = input.clientCertificate;
  if (l2tp.auth === 'certificate' && !cert) throw new ProfileError('L2TP/IPsec with certificates needs the user\'s certificate in the profile');
  const identifier = `local.postern.${slug(input.server)}.l2tp`;
  const name = `${input.name} (L2TP)`;
  const caUuid = uuid();
  const vpnUuid = uuid();
  const p12Uuid = cert ? uuid() : undefined;
  // The CA is needed only to check the gateway's certificate, i.e. with certificates (and not a public CA's).
  const withCa = cert !== undefined && !input.publicServerCertificate;
  const ipsec = cert && p12Uuid
    ? { AuthenticationMethod: 'Certificate', PayloadCertificateUUID: p12Uuid }
    : { AuthenticationMethod: 'SharedSecret', LocalIdentifierType: 'KeyID', SharedSecret: Buffer.from(l2tp.psk.reveal(), 'utf8') };
  const profile = {
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: identifier,
    PayloadUUID: uuid(),
    PayloadDisplayName: name,
    PayloadDescription: `L2TP/IPsec VPN to ${input.server} for ${input.user}`,
    PayloadContent: [
      ...(withCa ? [{ PayloadType: 'com.apple.security.root', PayloadVersion: 1, PayloadIdentifier: `${identifier}.ca`, PayloadUUID: caUuid, PayloadDisplayName: input.caCommonName, PayloadContent: input.caDer }] : []),
      ...(cert && p12Uuid ? [{ PayloadType: 'com.apple.security.pkcs12', PayloadVersion: 1, PayloadIdentifier: `${identifier}.identity`, PayloadUUID: p12Uuid, PayloadDisplayName: cert.identity, PayloadCertificateFileName: `${slug(input.user)}.p12`, PayloadContent: cert.p12 }] : []),
      {
        PayloadType: 'com.apple.vpn.managed', PayloadVersion: 1, PayloadIdentifier: `${identifier}.vpn`, PayloadUUID: vpnUuid, PayloadDisplayName: name, UserDefinedName: name,
        VPNType: 'L2TP',
        // No AuthPassword: the device asks for it at the first connection.
        PPP: { AuthName: input.user, CommRemoteAddress: input.server },
        IPSec: ipsec,
      },
    ],
  };
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n${plistXml(profile)}\n</plist>\n`;
  const body = input.signer ? signCms(Buffer.from(xml, 'utf8'), input.signer, now) : xml;
  return { filename: `${slug(input.name)}-${slug(input.user)}-l2tp.mobileconfig`, contentType: 'application/x-apple-aspen-config', body, ike: APPLE_L2TP_PROPOSALS, esp: APPLE_L2TP_PROPOSALS };
}
