/*
 * Android: a profile for the strongSwan VPN Client app (.sswan, JSON; the app imports it with one
 * tap). The app speaks the configuration's proposal spelling natively, so the gateway's first IKE and
 * ESP proposals go in as they are; the CA travels inside as base64 DER. Keys are the app's own
 * (VpnProfileImportActivity: `eap_id`, `ike-proposal`, `split-tunneling.block-ipv4`, …): a key it
 * does not know is ignored in silence, as `block_ipv4` was (issue 17). The app updates the profile
 * with the same `uuid`, so the UUID is fixed per gateway and user (stableUuid).
 */
import type { ProfileFile, ProfileInput } from './profile-input.ts';
import { ProfileError, stableUuid } from './profile-input.ts';
import { slug } from './windows-profile.ts';

export function androidProfile(input: ProfileInput): ProfileFile {
  const ike = input.ikeProposals[0];
  const esp = input.espProposals[0];
  if (!ike || !esp) throw new ProfileError('the gateway has no proposals configured');
  const cert = input.clientCertificate;
  if (input.auth === 'certificate' && !cert) throw new ProfileError('certificate login needs the user\'s certificate in the profile');
  const profile = {
    uuid: stableUuid('postern-android', input.server, input.user),
    name: input.name,
    type: cert ? 'ikev2-cert' : 'ikev2-eap',
    // Without remote.cert the app checks the gateway against Android's own CAs (a public certificate, ACME).
    remote: { addr: input.server, id: input.server, ...(input.publicServerCertificate ? {} : { cert: input.caDer.toString('base64') }) },
    // local.p12: the app installs it with Android's KeyChain, which asks for its password.
    local: cert ? { id: cert.identity, p12: cert.p12.toString('base64') } : { eap_id: input.user },
    'ike-proposal': ike,
    'esp-proposal': esp,
    // Whole-tunnel for both families; nothing blocked (the app's defaults, written out).
    'split-tunneling': { 'block-ipv4': false, 'block-ipv6': false },
  };
  return { filename: `${slug(input.name)}-${slug(input.user)}.sswan`, contentType: 'application/vnd.strongswan.profile', body: `${JSON.stringify(profile, null, 2)}\n`, ike, esp };
}
