import type { VirtualAddressProvider } from '../ike/engine/types.ts';
import type { PoolRegistry } from './pool-registry.ts';

/**
 * The pools as the IKEv2 engine sees them: a lease per identity with the pool's DNS servers.
 * The clock is the shell's, so the engine stays free of time sources.
 */
export function ikeAddressProvider(registry: PoolRegistry, clock: () => number = Date.now): VirtualAddressProvider {
  return {
    lease(pool, identity) {
      const p = registry.get(pool);
      const lease = p?.allocate(identity, clock());
      if (!p || !lease) return undefined;
      return { ipv4: lease.ipv4, ...(lease.ipv6 ? { ipv6: lease.ipv6 } : {}), dns: p.dns };
    },
    release(pool, identity) {
      registry.get(pool)?.release(identity, clock());
    },
  };
}
