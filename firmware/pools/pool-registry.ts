import type { PoolConfig, UserConfig } from '../config/types.ts';
import { AddressPool, type Lease, type PoolState, readPoolState } from './address-pool.ts';

/**
 * The configured address pools by name. A user's staticIPv4 goes to the pool that contains it,
 * with the user name as the identity. Leases survive reconfiguration where they still fit.
 */

export interface DroppedLease extends Lease {
  readonly pool: string;
}

export interface RegistryState {
  version: 1;
  pools: Record<string, PoolState>;
}

const tag = (pool: string, leases: readonly Lease[]): DroppedLease[] => leases.map((l) => ({ pool, ...l }));

export class PoolRegistry {
  #pools = new Map<string, AddressPool>();

  constructor(pools: readonly PoolConfig[], users: readonly UserConfig[]) {
    this.reconfigure(pools, users);
  }

  get(name: string): AddressPool | undefined {
    return this.#pools.get(name);
  }

  names(): string[] {
    return [...this.#pools.keys()];
  }

  /**
   * Rebuilds every pool from the new configuration, carrying over leases whose addresses the new
   * pool would give the same way (see AddressPool.importState) and reservations that still fit.
   * Returns the leases dropped, including all of a removed pool's; the caller ends those sessions.
   * A repeated pool name keeps the first. Throws (leaving the registry as it was) on a bad prefix.
   */
  reconfigure(pools: readonly PoolConfig[], users: readonly UserConfig[]): DroppedLease[] {
    const statics = users.flatMap((u) => (u.staticIPv4 === undefined ? [] : [[u.name, u.staticIPv4] as const]));
    const next = new Map<string, AddressPool>();
    const dropped: DroppedLease[] = [];
    for (const config of pools) {
      if (next.has(config.name)) continue;
      const pool = new AddressPool(config, statics);
      const before = this.#pools.get(config.name);
      if (before) dropped.push(...tag(config.name, pool.importState(before.exportState())));
      next.set(config.name, pool);
    }
    for (const [name, pool] of this.#pools) if (!next.has(name)) dropped.push(...tag(name, pool.leases()));
    this.#pools = next;
    return dropped;
  }

  exportState(): RegistryState {
    return { version: 1, pools: Object.fromEntries([...this.#pools].map(([name, pool]) => [name, pool.exportState()])) };
  }

  /** Replaces every pool's state; returns the stored leases that did not fit or whose pool is gone. */
  importState(state: unknown): DroppedLease[] {
    const stored = typeof state === 'object' && state !== null ? (state as { pools?: unknown }).pools : undefined;
    const byName = new Map(typeof stored === 'object' && stored !== null ? Object.entries(stored) : []);
    const dropped: DroppedLease[] = [];
    for (const [name, pool] of this.#pools) dropped.push(...tag(name, pool.importState(byName.get(name))));
    for (const [name, poolState] of byName) if (!this.#pools.has(name)) dropped.push(...tag(name, readPoolState(poolState).leases));
    return dropped;
  }
}
