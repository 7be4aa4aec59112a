/*
 * The /64s RADIUS servers hand to PPP sessions (Framed-IPv6-Prefix, RFC 3162 §2.3; issue 21), shared
 * by every PPP protocol so two sessions never hold the same one. A prefix is taken only when it is a
 * global /64 that no pool's IPv6 prefix overlaps (a pool's /64s and /128s are leased to others) and no
 * other session holds. Pure bookkeeping: the sessions log the refusals.
 */
import { ipv6Text, parsePrefix } from '../util/ip.ts';

export type Ipv6PrefixClaim = { readonly ok: true; readonly prefix: string } | { readonly ok: false; readonly reason: string };

/** Whether two prefixes of one family share any address: the shorter one holds the other's start. */
function overlap(a: { bytes: Buffer; length: number }, b: { bytes: Buffer; length: number }): boolean {
  const bits = Math.min(a.length, b.length);
  for (let bit = 0; bit < bits; bit++) {
    const mask = 0x80 >> (bit & 7);
    if ((a.bytes[bit >> 3]! & mask) !== (b.bytes[bit >> 3]! & mask)) return false;
  }
  return true;
}

export class FramedIpv6Prefixes {
  readonly #poolPrefixes: () => readonly string[];
  /** The prefix's RFC 5952 text → the session holding it. */
  readonly #held = new Map<string, number>();

  /** `poolPrefixes`: the configured pools' IPv6 prefixes, read at every claim (pools change with the configuration). */
  constructor(poolPrefixes: () => readonly string[]) {
    this.#poolPrefixes = poolPrefixes;
  }

  /** Session `owner` takes `prefix` (as decoded from the Access-Accept), or is told why not. */
  claim(prefix: string, owner: number): Ipv6PrefixClaim {
    const p = parsePrefix(prefix);
    if (p?.family !== 6) return { ok: false, reason: `'${prefix}' is not an IPv6 prefix` };
    if (p.length !== 64) return { ok: false, reason: `${prefix} is not a /64 (a PPP session takes exactly one /64)` };
    const first = p.bytes[0]!;
    if (first === 0xff || (first === 0xfe && (p.bytes[1]! & 0xc0) === 0x80) || p.bytes.every((b) => b === 0)) return { ok: false, reason: `${prefix} is not a unicast global or unique-local prefix` };
    for (const pool of this.#poolPrefixes()) {
      const q = parsePrefix(pool);
      if (q?.family === 6 && overlap(p, q)) return { ok: false, reason: `${prefix} overlaps the pool prefix ${pool}` };
    }
    const network = Uint8Array.from(p.bytes);
    network.fill(0, 8);
    const key = `${ipv6Text(network)}/64`;
    const holder = this.#held.get(key);
    if (holder !== undefined && holder !== owner) return { ok: false, reason: `${key} is another session's` };
    this.#held.set(key, owner);
    return { ok: true, prefix: key };
  }

  /** Gives the prefix (as `claim` returned it) back, if `owner` holds it. */
  release(prefix: string, owner: number): void {
    if (this.#held.get(prefix) === owner) this.#held.delete(prefix);
  }

  get size(): number {
    return this.#held.size;
  }
}
