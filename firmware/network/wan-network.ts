import { networkInterfaces } from 'node:os';
import type { BoardProfile } from '../board/types.ts';
import type { PosternConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { readDefaultRoute } from './default-route.ts';
import { primaryWanAddress, primaryWanAddress6, resolveInterfaceRoles, wanAddresses, type InterfaceRoles, type InterfaceSnapshot, type WanAddresses } from './interface-roles.ts';
import { WanWatcher, type WanChange } from './wan-watch.ts';

export interface WanNetworkOptions {
  readonly config: () => PosternConfig;
  readonly board: BoardProfile | undefined;
  readonly logger: Logger;
  readonly onChange: (change: WanChange, current: WanAddresses) => void;
  /** The box now; node:os and /proc/net/route when absent (tests give their own). */
  readonly box?: () => InterfaceSnapshot;
  readonly intervalMs?: number;
}

const osSnapshot = (): InterfaceSnapshot => ({ interfaces: networkInterfaces(), defaultRoute: readDefaultRoute() });

/**
 * The WAN as the running service sees it: the roles resolved from the configuration and the board,
 * the addresses now, and a watcher that reports each change. Every listener, the API and the
 * telemetry ask this one object.
 */
export class WanNetwork {
  readonly #options: WanNetworkOptions;
  readonly #box: () => InterfaceSnapshot;
  readonly #watcher: WanWatcher;

  constructor(options: WanNetworkOptions) {
    this.#options = options;
    this.#box = options.box ?? osSnapshot;
    this.#watcher = new WanWatcher({
      read: () => this.#read(),
      onChange: options.onChange,
      logger: options.logger,
      ...(options.intervalMs ? { intervalMs: options.intervalMs } : {}),
    });
  }

  roles(): InterfaceRoles {
    return resolveInterfaceRoles(this.#options.config().system, this.#options.board, this.#box());
  }

  /** The WAN's addresses as last seen by the watcher (refreshed every few seconds and on poll()). */
  addresses(): WanAddresses {
    return this.#watcher.current();
  }

  /** The address WAN listeners bind; undefined while the WAN has none. */
  primary(): string | undefined {
    return primaryWanAddress(this.#watcher.current());
  }

  /** The IPv6 address they bind beside it (issue 24); undefined without one. */
  primary6(): string | undefined {
    return primaryWanAddress6(this.#watcher.current());
  }

  /**
   * The address to bind for a configuration about to run (a transaction starts subsystems on the next
   * configuration before it is committed), read from the box now.
   */
  addressFor(config: PosternConfig): string | undefined {
    const box = this.#box();
    return primaryWanAddress(wanAddresses(config.system, resolveInterfaceRoles(config.system, this.#options.board, box).wan, box));
  }

  /** The IPv6 address to bind beside it (issue 24), read from the box now; undefined without one. */
  address6For(config: PosternConfig): string | undefined {
    const box = this.#box();
    return primaryWanAddress6(wanAddresses(config.system, resolveInterfaceRoles(config.system, this.#options.board, box).wan, box));
  }

  /** Look now (at start, after a configuration change): reports a change like the timer does. */
  poll(): WanChange | undefined {
    return this.#watcher.poll();
  }

  start(): void {
    this.#watcher.start();
  }

  stop(): void {
    this.#watcher.stop();
  }

  counters(): Record<string, number> {
    return this.#watcher.counters();
  }

  /** For the API and the status report: which interface has which role and why, and the WAN's addresses. */
  describe(): { wan: { interface: string; source: string; ipv4: readonly string[]; ipv6: readonly string[] }; lan: { interface: string; source: string } } {
    const roles = this.roles();
    const a = this.addresses();
    return { wan: { interface: roles.wan.name, source: roles.wan.source, ipv4: a.ipv4, ipv6: a.ipv6 }, lan: { interface: roles.lan.name, source: roles.lan.source } };
  }

  #read(): WanAddresses {
    const box = this.#box();
    const system = this.#options.config().system;
    const roles = resolveInterfaceRoles(system, this.#options.board, box);
    return wanAddresses(system, roles.wan, box);
  }
}

/** The WAN address to bind now, straight from the box (for a subsystem run without the service's WanNetwork). */
export function wanAddressNow(config: PosternConfig, board?: BoardProfile): string | undefined {
  const box = osSnapshot();
  return primaryWanAddress(wanAddresses(config.system, resolveInterfaceRoles(config.system, board, box).wan, box));
}
