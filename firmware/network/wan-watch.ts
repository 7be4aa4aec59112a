import type { Logger } from '../log/logger.ts';
import type { WanAddresses } from './interface-roles.ts';

/** What changed on the WAN between two looks (issue 18: DHCP and PPPoE addresses change). */
export interface WanChange {
  readonly interface: string;
  /** The address listeners bound before and bind now (undefined: none). */
  readonly previousPrimary: string | undefined;
  readonly primary: string | undefined;
  /** The same for the IPv6 address listeners bind beside it (issue 24). */
  readonly previousPrimary6?: string | undefined;
  readonly primary6?: string | undefined;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** The WAN role moved to another interface (configuration, a port coming up). */
  readonly interfaceChanged: boolean;
}

/** Sans-I/O: the difference between two WAN snapshots, undefined when nothing that matters moved. */
export function diffWan(previous: WanAddresses, current: WanAddresses): WanChange | undefined {
  const before = [...previous.ipv4, ...previous.ipv6];
  const after = [...current.ipv4, ...current.ipv6];
  const added = after.filter((a) => !before.includes(a));
  const removed = before.filter((a) => !after.includes(a));
  const previousPrimary = previous.ipv4[0];
  const primary = current.ipv4[0];
  const previousPrimary6 = previous.ipv6[0];
  const primary6 = current.ipv6[0];
  const interfaceChanged = previous.interface !== current.interface;
  if (added.length === 0 && removed.length === 0 && previousPrimary === primary && previousPrimary6 === primary6 && !interfaceChanged) return undefined;
  return { interface: current.interface, previousPrimary, primary, previousPrimary6, primary6, added, removed, interfaceChanged };
}

export interface WanWatcherOptions {
  /** Reads the WAN's addresses now (interface-roles over node:os). */
  readonly read: () => WanAddresses;
  readonly onChange: (change: WanChange, current: WanAddresses) => void;
  readonly logger: Logger;
  /** How often to look; a few seconds is what a DHCP renewal or PPPoE redial can wait. */
  readonly intervalMs?: number;
}

/**
 * Polls the WAN's addresses (node:os networkInterfaces, no netlink needed) and reports each change
 * once. A throwing reader or handler is logged and counted, never fatal.
 */
export class WanWatcher {
  readonly #options: WanWatcherOptions;
  #current: WanAddresses;
  #timer: NodeJS.Timeout | undefined;
  #changes = 0;
  #errors = 0;

  constructor(options: WanWatcherOptions) {
    this.#options = options;
    this.#current = options.read();
  }

  current(): WanAddresses {
    return this.#current;
  }

  counters(): Record<string, number> {
    return { wanChanges: this.#changes, wanWatchErrors: this.#errors };
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.poll(), this.#options.intervalMs ?? 3000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One look; also called when the configuration names another interface. */
  poll(): WanChange | undefined {
    let next: WanAddresses;
    try {
      next = this.#options.read();
    } catch (error) {
      this.#errors++;
      this.#options.logger.warn('cannot read the WAN addresses', { error: error instanceof Error ? error.message : String(error) });
      return undefined;
    }
    const change = diffWan(this.#current, next);
    this.#current = next;
    if (!change) return undefined;
    this.#changes++;
    try {
      this.#options.onChange(change, next);
    } catch (error) {
      this.#errors++;
      this.#options.logger.error('WAN change handler failed', { error: error instanceof Error ? error.message : String(error) });
    }
    return change;
  }
}
