import type { PosternConfig, SiteConfig } from '../config/types.ts';
import type { IkeConnection } from '../ike/engine/types.ts';
import { parseProposal, type ProposalSpec } from '../ike/proposals.ts';
import { Secret } from '../util/secret.ts';

/**
 * The configuration's IKEv1 sites (`protocol: ikev1`, issue 19) as connections for the IKEv1
 * engine: tunnel mode between the site's subnets, named `site:<name>` like IKEv2's so the service
 * reports both the same way. IKEv1 has neither GCM nor Curve25519 in phase 1, so IKEv1 sites have
 * proposals of their own, with strong defaults that strongSwan, Cisco and MikroTik accept.
 */

export const IKEV1_DEFAULT_PROPOSALS = {
  ike: ['aes256-sha256-modp2048', 'aes128-sha256-modp2048', 'aes256-sha1-modp2048', 'aes128-sha1-modp2048'],
  esp: ['aes256gcm16', 'aes128gcm16', 'aes256-sha256', 'aes128-sha256', 'aes256-sha1', 'aes128-sha1'],
} as const;

const specs = (texts: readonly string[], protocol: 'ike' | 'esp'): ProposalSpec[] => texts.map((t) => parseProposal(t, protocol)).filter((s): s is ProposalSpec => s !== undefined);

export const isIkev1Site = (s: SiteConfig): boolean => s.enabled && s.protocol === 'ikev1';

/** What a certificate site authenticates with: the gateway's certificate and the CAs it trusts (as for IKEv2 sites). */
export type Ikev1CertificateAuth = Pick<IkeConnection, 'certificate' | 'trustedCas' | 'localId'>;

/** The name of the IKEv1 responder connection that L2TP/IPsec clients key (issue 20). */
export const L2TP_IKEV1_CONNECTION = 'l2tp';

/**
 * L2TP/IPsec clients (Windows, macOS, iOS, Linux xl2tpd with charon): Main Mode from any address, with
 * any ID (behind NAT a client names itself by its private address) and the group PSK (certificates: the gateway's and its trusted CAs), then a transport-mode Quick Mode
 * for UDP 1701 between the two hosts (issue 20). Sites keyed to an address are matched before it.
 */
function l2tpConnection(config: PosternConfig, certificates?: Ikev1CertificateAuth): IkeConnection {
  const l2tp = config.listeners.l2tp;
  const proposals = l2tp.ipsec?.proposals ?? IKEV1_DEFAULT_PROPOSALS;
  return {
    name: L2TP_IKEV1_CONNECTION, psk: new Secret(l2tp.psk), ikeProposals: specs(proposals.ike, 'ike'), espProposals: specs(proposals.esp, 'esp'),
    localTs: [], remoteTs: [], mode: 'transport' as const, transportSelector: { protocol: 17, port: 1701 }, anyRemoteId: true,
    dpdSeconds: l2tp.ipsec?.dpdSeconds ?? 30, ...(l2tp.ipsec?.dpdTimeoutSeconds ? { dpdTimeoutSeconds: l2tp.ipsec.dpdTimeoutSeconds } : {}),
    rekeySeconds: 3600, ikeRekeySeconds: 8 * 3600, mobike: false, pfs: 'auto',
    ...(l2tp.ipsec?.auth === 'certificate' ? { localAuth: 'certificate' as const, peerAuth: 'certificate' as const, ...certificates } : {}),
  };
}

/** An L2TP site's IKEv1 connection is named `l2tp-site:<name>` (issue 20). */
export const L2TP_SITE_PREFIX = 'l2tp-site:';

/**
 * The transport SA an L2TP site dials before its L2TP (issue 20): Main Mode with the site's PSK, then
 * transport mode for UDP 1701 between the two hosts, as a Windows client keys it. The peer proves
 * itself with the PSK; its ID is checked only when the site names one.
 */
function l2tpSiteConnection(site: SiteConfig): IkeConnection {
  const proposals = site.proposals ?? IKEV1_DEFAULT_PROPOSALS;
  return {
    name: `${L2TP_SITE_PREFIX}${site.name}`, psk: new Secret(site.psk ?? ''), ikeProposals: specs(proposals.ike, 'ike'), espProposals: specs(proposals.esp, 'esp'),
    localTs: [], remoteTs: [], mode: 'transport' as const, transportSelector: { protocol: 17, port: 1701 }, remoteAddress: site.remote, dpdSeconds: 30,
    rekeySeconds: 3600, ikeRekeySeconds: 8 * 3600, mobike: false, pfs: 'auto',
    ...(site.remoteId ? { remoteId: site.remoteId } : { anyRemoteId: true }),
  };
}

export const isDialingL2tpSite = (s: SiteConfig): boolean => s.enabled && s.protocol === 'l2tp' && s.initiate;

export function ikev1ConnectionsFromConfig(config: PosternConfig, certificates?: Ikev1CertificateAuth): IkeConnection[] {
  return [
    ...ikev1SiteConnections(config, certificates),
    ...config.sites.filter(isDialingL2tpSite).map(l2tpSiteConnection),
    ...(config.listeners.l2tp.enabled ? [l2tpConnection(config, certificates)] : []),
  ];
}

function ikev1SiteConnections(config: PosternConfig, certificates?: Ikev1CertificateAuth): IkeConnection[] {
  return config.sites.filter(isIkev1Site).map((site) => {
    const proposals = site.proposals ?? IKEV1_DEFAULT_PROPOSALS;
    return {
      name: `site:${site.name}`, remoteAddress: site.remote, psk: new Secret(site.psk ?? ''),
      ...(site.remoteId ? { remoteId: site.remoteId } : {}),
      ikeProposals: specs(proposals.ike, 'ike'), espProposals: specs(proposals.esp, 'esp'),
      localTs: site.localSubnets, remoteTs: site.remoteSubnets, mode: 'tunnel' as const, dpdSeconds: 30,
      rekeySeconds: 3600, ikeRekeySeconds: 4 * 3600, mobike: false, pfs: site.pfs ?? 'auto',
      ...(site.aggressive ? { aggressive: true } : {}),
      ...(site.auth === 'certificate' ? { localAuth: 'certificate' as const, peerAuth: 'certificate' as const, ...certificates } : {}),
      ...(site.localId ? { localId: site.localId } : {}),
    };
  });
}
