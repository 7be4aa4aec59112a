/*
 * What every remote-access protocol of the service shares: one TUN for all sessions (IKEv2 child SAs,
 * PPP sessions of SSTP, L2TP and PPTP) and one set of address pools, so a user keeps the same address
 * whatever protocol they dial in with, and no two sessions are given the same address.
 */
import { execFileSync } from 'node:child_process';
import type { PosternConfig } from '../config/types.ts';
import { NativeHub } from '../dataplane/native-hub.ts';
import type { Logger } from '../log/logger.ts';
import { PoolRegistry } from '../pools/pool-registry.ts';
import { PipeDispatcher } from './pipe-dispatcher.ts';
import { FramedIpv6Prefixes } from './framed-ipv6.ts';

export const SHARED_TUN = 'postern0';

export interface HubLease {
  readonly hub: NativeHub;
  /** The pools' prefixes, routed to the TUN. */
  readonly pools: readonly string[];
  /** The pipe for PPP sessions, attached on first use. */
  pipe(): PipeDispatcher;
  release(): void;
}

/** A ConfigApplier too: it takes the new pools before the protocols restart on them. */
export class AccessResources {
  readonly name = 'access';
  readonly pools: PoolRegistry;
  /** RADIUS Framed-IPv6-Prefixes held by PPP sessions of every protocol (issue 21): never two sessions', never inside a pool. */
  readonly framedIpv6 = new FramedIpv6Prefixes(() => this.pools.names().flatMap((n) => this.pools.get(n)?.ipv6Prefix ?? []));
  readonly #log: Logger;
  #hub: NativeHub | undefined;
  #pipe: PipeDispatcher | undefined;
  #routed: string[] = [];
  #holders = 0;

  constructor(config: PosternConfig, log: Logger) {
    this.pools = new PoolRegistry(config.pools, config.users);
    this.#log = log;
  }

  async apply(next: PosternConfig): Promise<void> {
    this.reconfigure(next);
  }

  /** New pools and static addresses; leases that still fit are kept (PoolRegistry.reconfigure). */
  reconfigure(config: PosternConfig): void {
    const dropped = this.pools.reconfigure(config.pools, config.users);
    if (dropped.length > 0) this.#log.info('address leases dropped by the new pools', { count: dropped.length });
    if (this.#hub) this.#routePools(config);
  }

  /**
   * The shared TUN, opened by the first protocol that needs it and closed when the last one lets go
   * (each protocol stops its own tunnels and pipe routes first). Throws when the driver or the
   * privileges are missing; the caller reports itself unavailable.
   */
  acquireHub(config: PosternConfig): HubLease {
    if (!this.#hub) {
      const lanAddress = config.system.lan.address.split('/')[0]!;
      this.#hub = NativeHub.open({ name: SHARED_TUN, mtu: 1400, address: lanAddress, prefixLength: 32 });
      this.#routePools(config);
    }
    this.#holders++;
    const hub = this.#hub;
    let released = false;
    return {
      hub,
      pools: this.#routed,
      pipe: () => (this.#pipe && this.#pipe.hub === hub ? this.#pipe : (this.#pipe = new PipeDispatcher(hub))),
      release: () => {
        if (released) return;
        released = true;
        if (--this.#holders > 0 || this.#hub !== hub) return;
        if (hub.close()) {
          this.#hub = undefined;
          this.#pipe = undefined;
          this.#routed = [];
        } else this.#log.warn('the shared TUN is still in use; kept open');
      },
    };
  }

  /**
   * A site-to-site peer's networks into the shared TUN (the pipe then picks the session that carries
   * them). Failures are logged, not thrown: the tunnel still carries what the kernel does route.
   */
  routeToTun(prefixes: readonly string[], add: boolean): void {
    const hub = this.#hub;
    if (!hub) return;
    for (const prefix of prefixes) {
      try {
        execFileSync('ip', [prefix.includes(':') ? '-6' : '-4', 'route', add ? 'replace' : 'del', prefix, 'dev', hub.name], { stdio: 'ignore' });
      } catch (error) {
        if (add) this.#log.warn('could not route a site subnet to the shared TUN', { prefix, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  /** The pools go to the shared TUN once; clients inside them need no kernel route each. */
  #routePools(config: PosternConfig): void {
    const hub = this.#hub;
    if (!hub) return;
    const wanted = config.pools.flatMap((p) => (p.ipv6 ? [p.ipv4, p.ipv6] : [p.ipv4]));
    const family = (prefix: string) => (prefix.includes(':') ? '-6' : '-4');
    for (const prefix of wanted) execFileSync('ip', [family(prefix), 'route', 'replace', prefix, 'dev', hub.name]);
    for (const prefix of this.#routed.filter((p) => !wanted.includes(p))) {
      try {
        execFileSync('ip', [family(prefix), 'route', 'del', prefix, 'dev', hub.name], { stdio: 'ignore' });
      } catch {
        // Already gone with an address change: nothing to undo.
      }
    }
    this.#routed = wanted;
  }
}
