/**
 * Failed logins per source, with a memory that volume cannot flush (issue 15.5: the old table forgot a
 * locked address after 1,024 other addresses failed once).
 *
 * - A source is an IPv4 address, or an IPv6 /64 (one subscriber's prefix: its addresses are free to it).
 * - A locked record is never evicted before its lock expires; to make room, the least recently seen
 *   record that is not locked goes.
 * - When the table is full of locked records, a new source's failures are kept on its aggregate (the
 *   IPv4 /24 or IPv6 /48 around it) in a second, smaller table under the same rule.
 * - When both are full of locked records, an unknown source counts as throttled until the soonest lock
 *   expires: refusing (or slowing) newcomers is better than forgetting attackers.
 * Lookups are O(1); the scan for an evictable record runs only when a table is full (so at most once per
 * recorded failure, and failures follow checked passwords, which the guard's budget bounds), and a scan
 * that finds none is not repeated before the soonest lock in that table expires.
 */
import { parseIp } from '../util/ip.ts';
import { lockMs, type BackoffPolicy } from './backoff.ts';

interface SourceRecord {
  failures: number;
  lockedUntil: number;
  seen: number;
}

export interface SourceThrottleOptions {
  readonly now: () => number;
  readonly maxSources?: number;
  readonly maxAggregates?: number;
  readonly policy?: BackoffPolicy;
  /** An unlocked record idle this long starts again from zero. */
  readonly forgetAfterMs?: number;
}

export interface SourceState {
  /** 0 when not locked. */
  readonly lockedForMs: number;
  /** Locked itself, locked through its aggregate, or unknown while the tables are full of locked records. */
  readonly throttled: boolean;
}

const DEFAULT_POLICY: BackoffPolicy = { threshold: 5, baseMs: 30_000, maxMs: 3_600_000 };

/** The key a source is tracked under, and the wider one it is aggregated into when the table is full. */
export function sourceKeys(address: string): { readonly exact: string; readonly aggregate: string } {
  const ip = parseIp(address);
  if (!ip) return { exact: address, aggregate: address };
  const b = ip.bytes;
  const mapped = ip.family === 6 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (ip.family === 4 || mapped) {
    const v4 = ip.family === 4 ? b : b.subarray(12);
    return { exact: v4.join('.'), aggregate: `${v4.subarray(0, 3).join('.')}.0/24` };
  }
  const groups = (n: number) => Array.from({ length: n }, (_, i) => b.readUInt16BE(i * 2).toString(16)).join(':');
  return { exact: `${groups(4)}::/64`, aggregate: `${groups(3)}::/48` };
}

class LockedTable {
  readonly #records = new Map<string, SourceRecord>();
  readonly #max: number;
  /** No record can be evicted before this time (set by a scan that found none). */
  #fullUntil = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string): SourceRecord | undefined {
    return this.#records.get(key);
  }

  get size(): number {
    return this.#records.size;
  }

  /**
   * Whether a new record fits, evicting an unlocked one if the table is full. Evicting early costs
   * nothing (the next new record would need the room), and leaves the next question O(1).
   */
  makeRoom(now: number): boolean {
    return this.#records.size < this.#max || this.#evictOne(now);
  }

  /** Moves a record to the most-recent end. */
  touch(key: string, record: SourceRecord): void {
    this.#records.delete(key);
    this.#records.set(key, record);
  }

  delete(key: string): void {
    this.#records.delete(key);
  }

  /** Adds a record, evicting the least recent unlocked one if full; false when every record is locked. */
  add(key: string, record: SourceRecord, now: number): boolean {
    if (!this.makeRoom(now)) return false;
    this.#records.set(key, record);
    return true;
  }

  #evictOne(now: number): boolean {
    if (now < this.#fullUntil) return false;
    let soonest = Infinity;
    for (const [key, r] of this.#records) {
      if (r.lockedUntil <= now) {
        this.#records.delete(key);
        return true;
      }
      soonest = Math.min(soonest, r.lockedUntil);
    }
    this.#fullUntil = soonest;
    return false;
  }
}

export class SourceThrottle {
  readonly #now: () => number;
  readonly #policy: BackoffPolicy;
  readonly #forgetAfterMs: number;
  readonly #sources: LockedTable;
  readonly #aggregates: LockedTable;
  readonly counters = { sourceLockouts: 0, aggregated: 0, untracked: 0 };

  constructor(options: SourceThrottleOptions) {
    this.#now = options.now;
    this.#policy = options.policy ?? DEFAULT_POLICY;
    this.#forgetAfterMs = options.forgetAfterMs ?? 24 * 3_600_000;
    this.#sources = new LockedTable(options.maxSources ?? 4096);
    this.#aggregates = new LockedTable(options.maxAggregates ?? 1024);
  }

  state(address: string): SourceState {
    const now = this.#now();
    const keys = sourceKeys(address);
    const own = this.#live(this.#sources, keys.exact, now);
    const wide = this.#live(this.#aggregates, keys.aggregate, now);
    const lockedUntil = Math.max(own?.lockedUntil ?? 0, wide?.lockedUntil ?? 0);
    if (lockedUntil > now) return { lockedForMs: lockedUntil - now, throttled: true };
    const full = !own && !wide && !this.#sources.makeRoom(now) && !this.#aggregates.makeRoom(now);
    return { lockedForMs: 0, throttled: full };
  }

  failure(address: string): void {
    const now = this.#now();
    const keys = sourceKeys(address);
    const own = this.#live(this.#sources, keys.exact, now);
    if (own) return this.#count(this.#sources, keys.exact, own, now);
    const fresh = (): SourceRecord => ({ failures: 0, lockedUntil: 0, seen: now });
    const record = fresh();
    if (this.#sources.add(keys.exact, record, now)) return this.#count(this.#sources, keys.exact, record, now);
    const wide = this.#live(this.#aggregates, keys.aggregate, now) ?? fresh();
    if (wide.failures === 0 && !this.#aggregates.add(keys.aggregate, wide, now)) {
      this.counters.untracked++;
      return;
    }
    this.counters.aggregated++;
    this.#count(this.#aggregates, keys.aggregate, wide, now);
  }

  /** The right password: the source's own record goes (its aggregate stays, others share it). */
  success(address: string): void {
    this.#sources.delete(sourceKeys(address).exact);
  }

  get tracked(): { readonly sources: number; readonly aggregates: number } {
    return { sources: this.#sources.size, aggregates: this.#aggregates.size };
  }

  #count(table: LockedTable, key: string, r: SourceRecord, now: number): void {
    r.failures++;
    r.seen = now;
    const ms = lockMs(r.failures, this.#policy);
    if (ms > 0) {
      r.lockedUntil = now + ms;
      this.counters.sourceLockouts++;
    }
    table.touch(key, r);
  }

  /** The record, unless it is unlocked and idle long enough to start again. */
  #live(table: LockedTable, key: string, now: number): SourceRecord | undefined {
    const r = table.get(key);
    if (r && r.lockedUntil <= now && now - r.seen > this.#forgetAfterMs) {
      table.delete(key);
      return undefined;
    }
    return r;
  }
}
