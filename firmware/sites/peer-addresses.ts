/**
 * A site's peer named by DNS (issue 24): the addresses its name has now, in the order RFC 8305 §4
 * gives them (IPv6 first, then the families interleaved), only of the families this gateway's WAN
 * can reach. Each dial takes the address in turn: a dial that fails moves the site to the next
 * one, so when the first family's path is broken the other family is tried at the redial (the
 * address that worked stays the first choice until a dial fails). The
 * name is looked up again at every dial (a dynamic-DNS peer moves). `order` is pure; the lookup is
 * injected (node:dns by default, which reads /etc/hosts too).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export type Lookup = (host: string) => Promise<string[]>;

const systemLookup: Lookup = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** RFC 8305 §4: IPv6 first, then alternating families; only the families in `families`. */
export function happyEyeballsOrder(addresses: readonly string[], families: ReadonlySet<4 | 6>): string[] {
  const unique = [...new Set(addresses)];
  const v6 = unique.filter((a) => isIP(a) === 6 && families.has(6));
  const v4 = unique.filter((a) => isIP(a) === 4 && families.has(4));
  const out: string[] = [];
  for (let i = 0; i < Math.max(v6.length, v4.length); i++) {
    if (v6[i] !== undefined) out.push(v6[i]!);
    if (v4[i] !== undefined) out.push(v4[i]!);
  }
  return out;
}

export class PeerAddresses {
  readonly #lookup: Lookup;
  readonly #timeoutMs: number;
  /** Failed dials per site since its last success: which address comes next. */
  readonly #turn = new Map<string, number>();

  constructor(lookup: Lookup = systemLookup, timeoutMs = 5000) {
    this.#lookup = lookup;
    this.#timeoutMs = timeoutMs;
  }

  /** The address to dial now, or why there is none (the name does not resolve, or only to an unreachable family). */
  async next(site: string, host: string, families: ReadonlySet<4 | 6>): Promise<{ address: string; of: number } | { error: string }> {
    if (isIP(host)) return { address: host, of: 1 };
    let found: string[];
    try {
      let timer: NodeJS.Timeout | undefined;
      found = await Promise.race([
        this.#lookup(host),
        new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs))),
      ]).finally(() => clearTimeout(timer));
    } catch (error) {
      return { error: `'${host}' did not resolve: ${error instanceof Error ? error.message : String(error)}` };
    }
    const ordered = happyEyeballsOrder(found, families);
    if (ordered.length === 0) return { error: `'${host}' has no address of a family this gateway's WAN has (${found.join(', ') || 'none'})` };
    return { address: ordered[(this.#turn.get(site) ?? 0) % ordered.length]!, of: ordered.length };
  }

  /** The dial failed (or the site went down): the next dial takes the next address. */
  failed(site: string): void {
    this.#turn.set(site, (this.#turn.get(site) ?? 0) + 1);
  }

  forget(site: string): void {
    this.#turn.delete(site);
  }
}
