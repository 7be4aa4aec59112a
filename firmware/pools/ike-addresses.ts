import type { VirtualAddressProvider } from '../ike/engine/types.ts';
import type { PoolRegistry } from './pool-registry.ts';

/**
 * The pools as the IKEv2 engine sees them: a lease per identity with the pool's DNS servers.
 * An identity's IKE SAs share its lease (a reauthentication keeps the address; the engine releases it
 * when the last of them goes), but a lease another protocol's session holds under the same name (an
 * SSTP or L2TP session of the same user) is never shared: IKE then leases under a separate name.
 * The clock is the shell's, so the engine stays free of time sources.
 */
export function ikeAddressProvider(registry: PoolRegistry, clock: () => number = Date.now): VirtualAddressProvider {
  /** pool + identity → the name its IKE SAs lease under, while they hold it. */
  const names = new Map<string, string>();
  const key = (pool: string, identity: string) => `${pool}\0${identity}`;
  return {
    lease(pool, identity, fixedIpv4) {
      const p = registry.get(pool);
      if (!p) return undefined;
      const name = names.get(key(pool, identity)) ?? p.sessionIdentity(identity);
      const lease = p.allocate(name, clock(), fixedIpv4 !== undefined ? { staticIPv4: fixedIpv4 } : {});
      if (!lease) return undefined;
      names.set(key(pool, identity), name);
      return { ipv4: lease.ipv4, ...(lease.ipv6 ? { ipv6: lease.ipv6 } : {}), dns: p.dns };
    },
    // Only a lease this provider gave: a second release of one identity must not free the lease another
    // protocol's session holds under that name.
    release(pool, identity) {
      const name = names.get(key(pool, identity));
      if (name === undefined) return;
      names.delete(key(pool, identity));
      registry.get(pool)?.release(name, clock());
    },
    holds(pool, ipv4) {
      const p = registry.get(pool);
      return p !== undefined && (ipv4 === undefined || p.contains(ipv4));
    },
  };
}
