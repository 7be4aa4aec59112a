import type { PoolConfig } from '../config/types.ts';
import { ErrorCode, PosternError } from '../util/errors.ts';
import { parseIp, parsePrefix } from '../util/ip.ts';

/**
 * One virtual-address pool, drawn on by IKEv2 (configuration payload), SSTP, L2TP and PPTP.
 * Sans-I/O: time comes in as milliseconds on the caller's clock.
 *
 * Offsets 0..size-1 number the usable IPv4 addresses: all of the prefix except the network and
 * broadcast addresses; a /31 has both its addresses (RFC 3021) and a /32 its single one. Every
 * offset is in exactly one state:
 *   leased   — held by an identity (one per identity);
 *   static   — idle, kept for the user whose configured staticIPv4 it is; nobody else gets it;
 *   reserved — released and remembered for its last holder, so a reconnect gets the same address;
 *              reused for others only when nothing else is left, least recently released first;
 *   free     — unowned and below the cursor;
 *   fresh    — never handed out: at or above the cursor and in none of the maps.
 * Only the first four are stored, so memory follows the addresses handed out, not the pool size,
 * and allocate/release are O(1) amortised (the cursor passes each offset once).
 *
 * IPv6: an offset's /128 is the IPv6 prefix plus (offset + 1). The host part is therefore never
 * all-zero (the Subnet-Router anycast address, RFC 4291 §2.6.1), is as stable as the IPv4 lease, and
 * for prefixes up to /30 equals the IPv4 host number (10.10.0.5 ↔ fd00:10::5). Offsets that do not
 * fit the IPv6 host bits get no IPv6 address.
 *
 * A /64 per PPP session (issue 20): Windows sends from temporary addresses (RFC 8981) inside the /64
 * it was advertised, so a PPP session needs the whole /64. When the IPv6 prefix is /63 or shorter, an
 * offset also owns the (offset + 1)-th /64 of it (`ipv6Prefix`); the 0th /64 holds every /128 above,
 * so IKEv2's /128 leases and PPP's /64s never overlap. Offsets past the last /64 get no prefix (their
 * PPP sessions keep the /128). A /64 or longer prefix has no /64 to spare: PPP keeps /128s there.
 */

export interface Lease {
  readonly identity: string;
  readonly ipv4: string;
  readonly ipv6?: string;
  /** The offset's own /64 ("fd00:10:0:5::/64"), for a PPP session; only from a /63 or shorter IPv6 prefix. */
  readonly ipv6Prefix?: string;
  /** When it was granted, on the caller's clock (ms). */
  readonly since: number;
}

export interface PoolStats {
  size: number;
  leased: number;
  /** Idle static addresses plus released addresses remembered for their last holder. */
  reserved: number;
  /** Addresses that can be handed out without taking anyone's reservation. */
  free: number;
}

/** Plain JSON the caller stores so leases survive a restart. */
export interface PoolState {
  version: 1;
  ipv4: string;
  leases: Lease[];
  /** Least recently released first. */
  reservations: { identity: string; ipv4: string; releasedAt: number }[];
}

type Reservation = PoolState['reservations'][number];

const v4Text = (n: number): string => [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
const bigValue = (bytes: Buffer): bigint => BigInt(`0x${bytes.toString('hex')}`);

/** RFC 5952 text: lower case, the longest (first on a tie) run of two or more zero groups as '::'. */
function v6Text(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = Math.max(j, i + 1);
  }
  const hex = groups.map((g) => g.toString(16));
  return best < 0 ? hex.join(':') : `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const records = (x: unknown): Record<string, unknown>[] => (Array.isArray(x) ? x.filter(isRecord) : []);

/** Reads stored state defensively (it comes from a file): malformed entries are left out. */
export function readPoolState(state: unknown): PoolState {
  const s = isRecord(state) ? state : {};
  const leases = records(s['leases']).flatMap((e): Lease[] => {
    const { identity, ipv4, ipv6, ipv6Prefix, since } = e;
    if (typeof identity !== 'string' || typeof ipv4 !== 'string' || typeof since !== 'number') return [];
    if ((ipv6 !== undefined && typeof ipv6 !== 'string') || (ipv6Prefix !== undefined && typeof ipv6Prefix !== 'string')) return [];
    return [{ identity, ipv4, ...(ipv6 === undefined ? {} : { ipv6 }), ...(ipv6Prefix === undefined ? {} : { ipv6Prefix }), since }];
  });
  const reservations = records(s['reservations']).flatMap((e): Reservation[] => {
    const { identity, ipv4, releasedAt } = e;
    return typeof identity === 'string' && typeof ipv4 === 'string' && typeof releasedAt === 'number' ? [{ identity, ipv4, releasedAt }] : [];
  });
  return { version: 1, ipv4: typeof s['ipv4'] === 'string' ? s['ipv4'] : '', leases, reservations };
}

export class AddressPool {
  readonly name: string;
  readonly dns: readonly string[];
  /** Usable IPv4 addresses. */
  readonly size: number;
  readonly #prefix: string;
  readonly #first: number;
  readonly #v6: { base: bigint; maxHost: bigint; text: string; slash64s: bigint } | undefined;

  readonly #leases = new Map<string, { lease: Lease; offset: number }>();
  readonly #leaseAt = new Map<number, string>();
  readonly #statics = new Map<string, number>();
  readonly #staticAt = new Map<number, string>();
  /** Insertion order is release order, so the first entry is the least recently released. */
  readonly #reserved = new Map<number, Reservation>();
  readonly #reservedBy = new Map<string, number>();
  readonly #free = new Set<number>();
  #cursor = 0;

  /**
   * `statics` are [identity, ipv4] pairs from the users' configuration; those outside this pool are
   * ignored (they belong to another pool), and for a repeated address or identity the first wins.
   */
  constructor(config: PoolConfig, statics: Iterable<readonly [identity: string, ipv4: string]> = []) {
    this.name = config.name;
    this.dns = [...config.dns];
    const v4 = parsePrefix(config.ipv4);
    if (v4?.family !== 4) throw new PosternError(ErrorCode.configInvalid, `pool ${config.name}: '${config.ipv4}' is not an IPv4 prefix`);
    const block = 2 ** (32 - v4.length);
    const value = v4.bytes.readUInt32BE(0);
    const network = value - (value % block);
    this.#prefix = `${v4Text(network)}/${v4.length}`;
    this.#first = v4.length >= 31 ? network : network + 1;
    this.size = v4.length >= 31 ? block : block - 2;
    this.#v6 = this.#parseV6(config);
    for (const [identity, address] of statics) {
      const offset = this.#offsetOf(address);
      if (offset === undefined || this.#staticAt.has(offset) || this.#statics.has(identity)) continue;
      this.#statics.set(identity, offset);
      this.#staticAt.set(offset, identity);
    }
  }

  #parseV6(config: PoolConfig): { base: bigint; maxHost: bigint; text: string; slash64s: bigint } | undefined {
    if (config.ipv6 === undefined) return undefined;
    const v6 = parsePrefix(config.ipv6);
    if (v6?.family !== 6 || v6.length > 127) {
      throw new PosternError(ErrorCode.configInvalid, `pool ${config.name}: '${config.ipv6}' is not an IPv6 prefix of /127 or shorter`);
    }
    const block = 1n << BigInt(128 - v6.length);
    const value = bigValue(v6.bytes);
    const base = value - (value % block);
    return { base, maxHost: block - 1n, text: `${v6Text(base)}/${v6.length}`, slash64s: v6.length < 64 ? 1n << BigInt(64 - v6.length) : 0n };
  }

  /** The pool's IPv6 prefix in RFC 5952 form ("fd00:10::/48"); undefined without one. */
  get ipv6Prefix(): string | undefined {
    return this.#v6?.text;
  }

  /** Whether PPP sessions get a /64 of their own here (an IPv6 prefix of /63 or shorter). */
  get givesSlash64(): boolean {
    return (this.#v6?.slash64s ?? 0n) > 1n;
  }

  /** Whether leases carry an IPv6 address too. */
  get hasIpv6(): boolean {
    return this.#v6 !== undefined;
  }

  /**
   * The identity's lease: the one it holds, else its static address, else the address it last held
   * (if nobody took it meanwhile), else a free one, else the least recently released reservation.
   * `staticIPv4` pins that address to the identity from now on; it must be inside the pool and not
   * another identity's static or lease. undefined when that fails or the pool is exhausted (the
   * caller answers INTERNAL_ADDRESS_FAILURE). A held lease is returned as is, whatever the options.
   */
  allocate(identity: string, now: number, options: { staticIPv4?: string } = {}): Lease | undefined {
    const held = this.#leases.get(identity);
    if (held) return held.lease;
    if (options.staticIPv4 !== undefined && !this.#pin(identity, options.staticIPv4)) return undefined;
    const offset = this.#pick(identity);
    return offset === undefined ? undefined : this.#grant(identity, offset, now);
  }

  /** Ends the identity's lease; its address stays reserved for it. false when it held none. */
  release(identity: string, now: number): boolean {
    const held = this.#leases.get(identity);
    if (!held) return false;
    this.#leases.delete(identity);
    this.#leaseAt.delete(held.offset);
    if (this.#staticAt.get(held.offset) === identity) return true;
    this.#reserved.set(held.offset, { identity, ipv4: held.lease.ipv4, releasedAt: now });
    this.#reservedBy.set(identity, held.offset);
    return true;
  }

  /**
   * The identity a new, separate session of `identity` leases under: itself while it holds no lease
   * (so one device keeps its static or last address), else the first free `identity#n`. Two devices of
   * one user (or one shared account on several cash registers) thus never share an address.
   */
  sessionIdentity(identity: string): string {
    if (!this.#leases.has(identity)) return identity;
    for (let n = 2; n <= this.size + 1; n++) if (!this.#leases.has(`${identity}#${n}`)) return `${identity}#${n}`;
    return identity; // every address leased: allocate() fails for any new identity anyway
  }

  leaseOf(identity: string): Lease | undefined {
    return this.#leases.get(identity)?.lease;
  }

  /** The identity leasing this IPv4 or IPv6 address, if any. */
  holderOf(address: string): string | undefined {
    const ip = parseIp(address);
    if (ip?.family === 4) {
      const offset = this.#offsetOf(address);
      return offset === undefined ? undefined : this.#leaseAt.get(offset);
    }
    if (!ip || !this.#v6) return undefined;
    const inSlash64 = this.#slash64Holder(bigValue(ip.bytes));
    if (inSlash64 !== undefined) return inSlash64;
    const host = bigValue(ip.bytes) - this.#v6.base;
    if (host < 1n || host > this.#v6.maxHost || host > BigInt(this.size)) return undefined;
    const identity = this.#leaseAt.get(Number(host - 1n));
    return identity !== undefined && this.#leases.get(identity)?.lease.ipv6 !== undefined ? identity : undefined;
  }

  /** The identity whose lease's /64 holds `value`, if any. */
  #slash64Holder(value: bigint): string | undefined {
    if (!this.#v6 || this.#v6.slash64s === 0n) return undefined;
    const index = (value - this.#v6.base) >> 64n;
    if (index < 1n || index >= this.#v6.slash64s || index > BigInt(this.size)) return undefined;
    const identity = this.#leaseAt.get(Number(index - 1n));
    return identity !== undefined && this.#leases.get(identity)?.lease.ipv6Prefix !== undefined ? identity : undefined;
  }

  /** Whether the IPv4 address is one this pool hands out. */
  contains(address: string): boolean {
    return this.#offsetOf(address) !== undefined;
  }

  leases(): Lease[] {
    return [...this.#leases.values()].map((h) => h.lease);
  }

  stats(): PoolStats {
    let idleStatics = 0;
    for (const offset of this.#staticAt.keys()) if (!this.#leaseAt.has(offset)) idleStatics++;
    const leased = this.#leases.size;
    const reserved = this.#reserved.size + idleStatics;
    return { size: this.size, leased, reserved, free: this.size - leased - reserved };
  }

  exportState(): PoolState {
    return { version: 1, ipv4: this.#prefix, leases: this.leases().map((l) => ({ ...l })), reservations: [...this.#reserved.values()].map((r) => ({ ...r })) };
  }

  /**
   * Replaces leases and reservations with stored ones (statics stay as configured). A lease is kept
   * only where this pool would give it the same addresses: its IPv4 usable here and nobody else's
   * static, its IPv6 (if it had one) the one derived here. Returns the leases that did not fit.
   */
  importState(state: unknown): Lease[] {
    const { leases, reservations } = readPoolState(state);
    this.#leases.clear();
    this.#leaseAt.clear();
    this.#reserved.clear();
    this.#reservedBy.clear();
    this.#free.clear();
    this.#cursor = 0;
    const dropped = leases.filter((l) => !this.#restoreLease(l));
    for (const r of [...reservations].sort((a, b) => a.releasedAt - b.releasedAt)) this.#restoreReservation(r);
    return dropped;
  }

  #restoreLease(stored: Lease): boolean {
    const offset = this.#offsetOf(stored.ipv4);
    if (offset === undefined || this.#leaseAt.has(offset) || this.#leases.has(stored.identity)) return false;
    const owner = this.#staticAt.get(offset);
    if (owner !== undefined && owner !== stored.identity) return false;
    if (stored.ipv6 !== undefined) {
      const ip = parseIp(stored.ipv6);
      const derived = this.#v6ValueOf(offset);
      if (ip?.family !== 6 || derived === undefined || bigValue(ip.bytes) !== derived) return false;
    }
    if (stored.ipv6Prefix !== undefined && stored.ipv6Prefix !== this.#slash64Of(offset)) return false;
    this.#grant(stored.identity, offset, stored.since, stored.ipv6 !== undefined, stored.ipv6Prefix !== undefined);
    return true;
  }

  #restoreReservation(stored: Reservation): void {
    const offset = this.#offsetOf(stored.ipv4);
    if (offset === undefined || this.#leaseAt.has(offset) || this.#staticAt.has(offset) || this.#reserved.has(offset)) return;
    const { identity } = stored;
    if (this.#leases.has(identity) || this.#reservedBy.has(identity) || this.#statics.has(identity)) return;
    this.#reserved.set(offset, { identity, ipv4: v4Text(this.#first + offset), releasedAt: stored.releasedAt });
    this.#reservedBy.set(identity, offset);
  }

  #offsetOf(address: string): number | undefined {
    const ip = parseIp(address);
    if (ip?.family !== 4) return undefined;
    const offset = ip.bytes.readUInt32BE(0) - this.#first;
    return offset >= 0 && offset < this.size ? offset : undefined;
  }

  #v6ValueOf(offset: number): bigint | undefined {
    const host = BigInt(offset + 1);
    return this.#v6 && host <= this.#v6.maxHost ? this.#v6.base + host : undefined;
  }

  /** The offset's own /64 (see the header), in RFC 5952 form. */
  #slash64Of(offset: number): string | undefined {
    const index = BigInt(offset + 1);
    return this.#v6 && index < this.#v6.slash64s ? `${v6Text(this.#v6.base + (index << 64n))}/64` : undefined;
  }

  /** Makes `address` the identity's static (see allocate). */
  #pin(identity: string, address: string): boolean {
    const offset = this.#offsetOf(address);
    if (offset === undefined) return false;
    const owner = this.#staticAt.get(offset);
    if (owner !== undefined) return owner === identity;
    if (this.#leaseAt.has(offset)) return false; // another identity's lease: the caller held none
    const previous = this.#statics.get(identity);
    if (previous !== undefined) {
      this.#staticAt.delete(previous);
      this.#makeFree(previous);
    }
    this.#unreserve(offset);
    this.#free.delete(offset);
    this.#statics.set(identity, offset);
    this.#staticAt.set(offset, identity);
    return true;
  }

  #pick(identity: string): number | undefined {
    const fixed = this.#statics.get(identity);
    if (fixed !== undefined) return fixed;
    const mine = this.#reservedBy.get(identity);
    if (mine !== undefined) return this.#unreserve(mine);
    for (const offset of this.#free) {
      this.#free.delete(offset);
      return offset;
    }
    while (this.#cursor < this.size) {
      const offset = this.#cursor++;
      if (!this.#leaseAt.has(offset) && !this.#staticAt.has(offset) && !this.#reserved.has(offset)) return offset;
    }
    for (const offset of this.#reserved.keys()) return this.#unreserve(offset);
    return undefined;
  }

  #grant(identity: string, offset: number, now: number, withV6 = true, withPrefix = withV6): Lease {
    const stale = this.#reservedBy.get(identity);
    if (stale !== undefined) this.#makeFree(this.#unreserve(stale));
    const v6 = withV6 ? this.#v6ValueOf(offset) : undefined;
    const ipv6Prefix = withPrefix ? this.#slash64Of(offset) : undefined;
    const ipv4 = v4Text(this.#first + offset);
    const lease: Lease = Object.freeze({ identity, ipv4, ...(v6 === undefined ? {} : { ipv6: v6Text(v6) }), ...(ipv6Prefix === undefined ? {} : { ipv6Prefix }), since: now });
    this.#leases.set(identity, { lease, offset });
    this.#leaseAt.set(offset, identity);
    return lease;
  }

  #unreserve(offset: number): number {
    const r = this.#reserved.get(offset);
    if (r) {
      this.#reserved.delete(offset);
      this.#reservedBy.delete(r.identity);
    }
    return offset;
  }

  /** An unowned offset: free if the cursor has passed it, else fresh already. Leased ones stay. */
  #makeFree(offset: number): void {
    if (offset < this.#cursor && !this.#leaseAt.has(offset)) this.#free.add(offset);
  }
}
