/**
 * The broker's DNS SRV lookup (issue 26): the shell around srv-discovery.ts. Asked before each
 * round of connection attempts when `telemetry.mqtt.discovery` is set, through the system's
 * resolver (or given servers, for a lab). Bounded: a few tries with a growing pause when the DNS
 * does not answer; "no such name" is an answer (nothing found), not a reason to try again.
 */
import { readFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { brokerCandidates, resolvConfDomain, srvQueryNames, type SrvRecord } from './srv-discovery.ts';
import { brokerFromLease, DEFAULT_BROKER_OPTION, type LeaseFormat } from './dhcp-broker-option.ts';

/** Where discovery looks, in words (status, the Fleet page). */
export function describeDiscovery(d: { domain?: string | undefined; dhcpLease?: { file: string; option?: number | undefined } | undefined }): string {
  const where = [
    ...(d.dhcpLease ? [`in DHCP option ${d.dhcpLease.option ?? DEFAULT_BROKER_OPTION} (${d.dhcpLease.file})`] : []),
    ...(d.domain !== undefined ? [`by DNS SRV under ${d.domain === 'dhcp' ? 'the DHCP-given domain' : d.domain}`] : []),
  ];
  return where.join(', then ');
}

export interface DiscoveryOptions {
  /** The domain to look under, or `dhcp`: the one the box's DHCP client wrote into resolv.conf. */
  readonly domain?: string;
  /** A site-specific DHCP option naming the broker, read from the DHCP client's lease (asked first). */
  readonly dhcpLease?: { readonly file: string; readonly format: LeaseFormat; readonly option?: number };
  readonly readLease?: (file: string) => string;
  /** Also `_mqtt._tcp` (unencrypted, tried after every TLS target). */
  readonly plain?: boolean;
  /** DNS servers (`address[:port]`); default: the system's. */
  readonly servers?: readonly string[];
  readonly attempts?: number;
  readonly pauseMs?: number;
  readonly random?: () => number;
  readonly resolvConf?: () => string;
}

/** What a lookup found (ordered broker URLs) or why it found nothing. */
export type Discovery = { readonly ok: true; readonly urls: readonly string[] } | { readonly ok: false; readonly why: string };

const ABSENT = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME']);

export async function discoverBroker(o: DiscoveryOptions): Promise<Discovery> {
  // The DHCP option first: the site's own DHCP server named the broker (dhcp-broker-option.ts).
  let fromLease: Discovery | undefined;
  if (o.dhcpLease) {
    const lease = o.dhcpLease;
    const found = brokerFromLease(safeRead(() => (o.readLease ?? ((f: string) => readFileSync(f, 'utf8')))(lease.file)), lease.format, lease.option ?? DEFAULT_BROKER_OPTION, { plain: o.plain === true });
    fromLease = found.ok ? { ok: true, urls: [found.url] } : { ok: false, why: `${lease.file}: ${found.why}` };
  }
  if (o.domain === undefined) return fromLease ?? { ok: false, why: 'nothing to discover the broker by' };
  const srv = await discoverSrv({ ...o, domain: o.domain });
  if (!fromLease?.ok) return srv.ok || !fromLease ? srv : { ok: false, why: `${fromLease.why}; ${srv.why}` };
  return { ok: true, urls: [...fromLease.urls, ...(srv.ok ? srv.urls.filter((u) => !fromLease.urls.includes(u)) : [])] };
}

async function discoverSrv(o: DiscoveryOptions & { domain: string }): Promise<Discovery> {
  const domain = o.domain === 'dhcp' ? resolvConfDomain(safeRead(o.resolvConf)) : o.domain;
  if (!domain) return { ok: false, why: 'no DHCP-given domain in resolv.conf to look the broker up under' };
  const names = srvQueryNames(domain, o.plain === true);
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  if (o.servers?.length) resolver.setServers([...o.servers]);
  const attempts = Math.max(1, Math.min(o.attempts ?? 3, 10));
  let why = '';
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, (o.pauseMs ?? 1000) * 2 ** (attempt - 1)));
    try {
      const [secure, plain] = await Promise.all([lookup(resolver, names.secure), names.plain ? lookup(resolver, names.plain) : []]);
      const urls = brokerCandidates({ secure, plain }, o.random ?? Math.random);
      return urls.length > 0 ? { ok: true, urls } : { ok: false, why: `no broker under ${names.secure}${names.plain ? ` or ${names.plain}` : ''}` };
    } catch (error) {
      why = `DNS lookup failed: ${(error as { code?: string }).code ?? String(error)}`;
    }
  }
  return { ok: false, why };
}

async function lookup(resolver: Resolver, name: string): Promise<SrvRecord[]> {
  try {
    return await resolver.resolveSrv(name);
  } catch (error) {
    if (ABSENT.has((error as { code?: string }).code ?? '')) return [];
    throw error;
  }
}

function safeRead(read: (() => string) | undefined): string {
  try {
    return read ? read() : readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}
