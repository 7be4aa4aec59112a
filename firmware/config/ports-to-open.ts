/**
 * What the router in front of the gateway must forward to it, computed from the enabled listeners and
 * answering sites (issue 17: the technician's "ports to open" hint). Pure: the configuration in, a list out.
 * Management is never in it: the web UI belongs on the LAN.
 */
import type { PosternConfig } from './types.ts';

export interface PortToOpen {
  /** 'gre' is IP protocol 47 (no port); the rest are UDP or TCP ports. */
  readonly protocol: 'udp' | 'tcp' | 'gre';
  readonly port?: number;
  /** What needs it, in the technician's words. */
  readonly for: string[];
}

export function portsToOpen(config: PosternConfig): PortToOpen[] {
  const wanted = new Map<string, { protocol: PortToOpen['protocol']; port?: number; for: string[] }>();
  const need = (protocol: PortToOpen['protocol'], port: number | undefined, why: string) => {
    const key = `${protocol}/${port ?? ''}`;
    const entry = wanted.get(key) ?? { protocol, ...(port === undefined ? {} : { port }), for: [] };
    if (!entry.for.includes(why)) entry.for.push(why);
    wanted.set(key, entry);
  };
  const ike = (why: string) => {
    need('udp', 500, why);
    need('udp', 4500, why);
  };
  const { ikev2, sstp, l2tp, pptp } = config.listeners;
  if (ikev2.enabled) ike('IKEv2 clients');
  if (sstp.enabled) need('tcp', sstp.port, 'SSTP clients');
  // L2TP runs inside the IPsec SA, so UDP 1701 itself needs no forwarding, unless plain L2TP is accepted too.
  if (l2tp.enabled) ike('L2TP/IPsec clients');
  if (l2tp.enabled && l2tp.allowPlain) need('udp', 1701, 'plain L2TP clients (without IPsec: insecure)');
  if (pptp.enabled) {
    need('tcp', 1723, 'PPTP clients (control)');
    need('gre', undefined, 'PPTP clients (data, IP protocol 47)');
  }
  for (const site of config.sites) {
    if (!site.enabled || site.initiate) continue; // a site we dial needs nothing forwarded
    if (site.protocol === 'ikev2' || site.protocol === 'ikev1' || (site.protocol === 'gre' && site.gre?.ipsec === true)) ike(`site '${site.name}' (answered here)`);
    if (site.protocol === 'sstp') need('tcp', sstp.port, `site '${site.name}' (answered here)`);
  }
  const publication = config.certificates.publication;
  const acme = config.certificates.acme;
  if (publication?.enabled ?? true) {
    need('tcp', publication?.port ?? 80, 'the CRL and CA certificate (Windows checks the CRL before SSTP connects)');
    if (acme?.enabled && acme.challenge === 'http-01') need('tcp', publication?.port ?? 80, 'ACME http-01 validation');
  }
  if (acme?.enabled && acme.challenge === 'tls-alpn-01') need('tcp', sstp.port, 'ACME tls-alpn-01 validation');
  return [...wanted.values()].sort((a, b) => a.protocol.localeCompare(b.protocol) || (a.port ?? 0) - (b.port ?? 0));
}

/** "UDP 500", "TCP 443", "GRE (IP protocol 47)". */
export const portLabel = (p: Pick<PortToOpen, 'protocol' | 'port'>): string =>
  p.protocol === 'gre' ? 'GRE (IP protocol 47)' : `${p.protocol.toUpperCase()} ${String(p.port)}`;
