/**
 * Finding the fleet broker by DNS SRV (issue 26, enrollment): the names to ask, and the order to
 * try the answers in (RFC 2782). Pure; the lookups are in broker-discovery.ts.
 *
 * `_secure-mqtt._tcp.<domain>` (MQTT over TLS) is always preferred; `_mqtt._tcp.<domain>`
 * (unencrypted) is asked only when the operator allowed it, and tried only after every TLS target.
 */

export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** The SRV owner names for a domain: TLS first. */
export function srvQueryNames(domain: string, plain: boolean): { readonly secure: string; readonly plain?: string } {
  const d = domain.replace(/\.$/, '');
  return { secure: `_secure-mqtt._tcp.${d}`, ...(plain ? { plain: `_mqtt._tcp.${d}` } : {}) };
}

/** A name fit for a broker URL's host: a DNS name (letters, digits, hyphens, dots) of at most 253. */
const TARGET = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function usable(r: SrvRecord): boolean {
  return Number.isInteger(r.port) && r.port > 0 && r.port <= 65535 && Number.isInteger(r.priority) && r.priority >= 0 && r.priority <= 65535
    && Number.isInteger(r.weight) && r.weight >= 0 && r.weight <= 65535 && TARGET.test(r.name.replace(/\.$/, ''));
}

/**
 * RFC 2782's order: lowest priority first; within a priority, a weighted random draw (records of
 * weight 0 first in the running sum, so they are picked rarely when others have weight). A single
 * record whose target is "." means the service is decidedly not offered there: nothing. Records
 * with unusable fields (a target that is not a host name, port 0) are left out.
 */
export function orderSrv(records: readonly SrvRecord[], random: () => number): SrvRecord[] {
  if (records.length === 1 && (records[0]!.name === '.' || records[0]!.name === '')) return [];
  const ok = records.filter(usable);
  const priorities = [...new Set(ok.map((r) => r.priority))].sort((a, b) => a - b);
  const out: SrvRecord[] = [];
  for (const priority of priorities) {
    const left = ok.filter((r) => r.priority === priority).sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    while (left.length > 0) {
      const total = left.reduce((sum, r) => sum + r.weight, 0);
      const pick = Math.min(total, Math.floor(random() * (total + 1)));
      let running = 0;
      let index = left.length - 1;
      for (let i = 0; i < left.length; i++) {
        running += left[i]!.weight;
        if (running >= pick) {
          index = i;
          break;
        }
      }
      out.push(...left.splice(index, 1));
    }
  }
  return out;
}

/** Broker URLs to try in order: every TLS target (mqtts://), then the unencrypted ones if any; no duplicates. */
export function brokerCandidates(found: { readonly secure: readonly SrvRecord[]; readonly plain?: readonly SrvRecord[] }, random: () => number): string[] {
  const urls = [
    ...orderSrv(found.secure, random).map((r) => `mqtts://${r.name.replace(/\.$/, '')}:${r.port}`),
    ...orderSrv(found.plain ?? [], random).map((r) => `mqtt://${r.name.replace(/\.$/, '')}:${r.port}`),
  ];
  return [...new Set(urls)];
}

/**
 * The domain DHCP gave the box, as its client wrote it into resolv.conf (`domain`, else the first
 * `search` entry); undefined when there is none.
 */
export function resolvConfDomain(text: string): string | undefined {
  let search: string | undefined;
  for (const line of text.split('\n')) {
    const [key, first] = line.trim().split(/\s+/);
    if (!first || !TARGET.test(first.replace(/\.$/, ''))) continue;
    if (key === 'domain') return first.replace(/\.$/, '');
    if (key === 'search' && search === undefined) search = first.replace(/\.$/, '');
  }
  return search;
}
