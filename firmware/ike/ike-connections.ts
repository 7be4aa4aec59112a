import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { PosternConfig } from '../config/types.ts';
import type { GatewayPki } from '../pki/pki-store.ts';
import { trustedCas } from '../revocation/from-config.ts';
import { parsePrefix } from '../util/ip.ts';
import { Secret } from '../util/secret.ts';
import type { IkeConnection } from './engine/types.ts';
import { parseProposal, type ProposalSpec } from './proposals.ts';

/**
 * The configuration document as IKEv2 connections: one per enabled IKEv2 site (specific peers
 * first, so they win the lookup), then the remote-access listener that accepts anyone.
 */

const specs = (texts: readonly string[], protocol: 'ike' | 'esp'): ProposalSpec[] => texts.map((t) => parseProposal(t, protocol)).filter((s): s is ProposalSpec => s !== undefined);

/** "192.168.1.1/24" → "192.168.1.0/24": the LAN behind the gateway. */
export function networkOf(address: string): string | undefined {
  const p = parsePrefix(address);
  if (!p || p.family !== 4) return undefined;
  const mask = p.length === 0 ? 0 : (0xffffffff << (32 - p.length)) >>> 0;
  const n = (p.bytes.readUInt32BE(0) & mask) >>> 0;
  return `${[n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.')}/${p.length}`;
}

/** Each certificate of a PEM bundle, in order, as DER. */
export const pemCertificates = (pem: string): Buffer[] =>
  (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block).raw);

/**
 * The gateway's certificate for IKE_AUTH: the leaf, and the intermediates an ACME or imported
 * certificate carries after it (sent as further CERT payloads: a client trusts only the root).
 */
export function gatewayCertificate(pki: GatewayPki): NonNullable<IkeConnection['certificate']> {
  const [leaf, ...chain] = pemCertificates(pki.server.certificatePem);
  if (!leaf) throw new Error('the gateway certificate file holds no certificate');
  return { der: leaf, key: new Secret(createPrivateKey(pki.server.keyPem.reveal())), ...(chain.length ? { chain } : {}) };
}

/**
 * GRE over IPsec (issue 25): a transport-mode child between the two WAN addresses for GRE (IP
 * protocol 47) only, so IKE, ESP and everything else to that peer stay outside it.
 */
export const greSelectors = (wanAddress: string, remote: string): { localTs: string[]; remoteTs: string[] } =>
  ({ localTs: [`${wanAddress}/32[47]`], remoteTs: [`${remote}/32[47]`] });

/** Sites the IKE subsystem keys with IKEv2: IKEv2 sites, and GRE sites protected by IPsec. */
export const isIkev2Keyed = (s: PosternConfig['sites'][number]): boolean => s.protocol === 'ikev2' || (s.protocol === 'gre' && s.gre?.ipsec === true);

/** `wanAddress`: this gateway's WAN address, the local selector of GRE over IPsec (without it those sites are left out). */
export function connectionsFromConfig(config: PosternConfig, pki: GatewayPki, wanAddress?: string, localAddresses?: readonly string[]): IkeConnection[] {
  const ike = config.listeners.ikev2;
  const ikeProposals = specs(ike.proposals.ike, 'ike');
  const espProposals = specs(ike.proposals.esp, 'esp');
  const caDer = new X509Certificate(pki.ca.certificatePem).raw;
  // Peers' certificates may come from Postern's CA or any other CA the configuration trusts (issue 16).
  const cas = [caDer, ...trustedCas(config).map((t) => t.ca.raw)];
  const ourCert = gatewayCertificate(pki);
  const serverId = config.certificates.server.sans[0] ?? config.certificates.server.commonName;
  const lan = networkOf(config.system.lan.address);
  const out: IkeConnection[] = [];
  for (const site of config.sites.filter((s) => s.enabled && isIkev2Keyed(s))) {
    const certificate = site.auth === 'certificate';
    const gre = site.protocol === 'gre';
    if (gre && !wanAddress) continue;
    out.push({
      name: `site:${site.name}`, remoteAddress: site.remote, psk: new Secret(site.psk ?? ''),
      ...(site.remoteId ? { remoteId: site.remoteId } : {}), ...(site.localId ? { localId: site.localId } : {}),
      ikeProposals, espProposals, dpdSeconds: 30,
      ...(gre ? { ...greSelectors(wanAddress!, site.remote), mode: 'transport' as const, selectorsFollowSa: true } : { localTs: site.localSubnets, remoteTs: site.remoteSubnets, mode: 'tunnel' as const }),
      rekeySeconds: 3600, ikeRekeySeconds: 4 * 3600, mobike: false, pfs: site.pfs ?? 'auto',
      ...(certificate ? { localAuth: 'certificate' as const, certificate: ourCert, peerAuth: 'certificate' as const, trustedCas: cas, localId: site.localId ?? serverId } : {}),
    });
  }
  if (ike.enabled) {
    const auth = ike.auth;
    out.push({
      name: 'remote-access', localId: serverId, psk: new Secret(ike.psk ?? ''), ikeProposals, espProposals,
      localTs: ['0.0.0.0/0'], remoteTs: [], mode: 'tunnel', dpdSeconds: 30, rekeySeconds: 3600, ikeRekeySeconds: 4 * 3600,
      pool: ike.pool, mobike: ike.mobike, ...(lan ? { splitSubnets: [lan] } : {}), ...(localAddresses && localAddresses.length > 1 ? { localAddresses } : {}),
      // Windows and Apple clients require the gateway to prove itself with a certificate (EAP and certificate modes).
      ...(auth === 'psk' ? {} : { localAuth: 'certificate' as const, certificate: ourCert }),
      peerAuth: auth === 'psk' ? 'psk' : auth === 'certificate' ? 'certificate' : 'eap-mschapv2',
      ...(auth === 'certificate' ? { trustedCas: cas } : {}),
    });
  }
  return out;
}
