import { availableParallelism } from 'node:os';
import { ErrorCode, PosternError } from '../util/errors.ts';
import { loadDriver } from './native.ts';

interface HubAddon {
  hubOpen(config: { name: string; mtu: number; address: string; prefixLength: number; noOffload?: boolean; queues: number }): { handle: object; name: string } | number;
  hubStats(handle: object): NativeHubStats | undefined;
  hubClose(handle: object): number;
  hubPipeAttach(handle: object, onPackets: (batch: Array<[number, Buffer]>) => void): number;
  hubPipeRoute(handle: object, prefix: string, tag: number): number;
  hubPipeUnroute(handle: object, tag: number): number;
  hubPipeStats(handle: object): NativeHubPipeStats | undefined;
  hubWrite(handle: object, packet: Buffer): number;
}

export interface NativeHubPipeStats {
  queued: bigint;
  delivered: bigint;
  /** Dropped because JavaScript fell behind (the queue is bounded in packets and bytes). */
  droppedFull: bigint;
}

export interface NativeHubStats {
  tunRx: bigint;
  /** Packets read from the TUN whose destination no tunnel claims. */
  noRoute: bigint;
  routes: bigint;
  /** The kernel's own multicast into the TUN (MLD, router solicitations), dropped. */
  multicast: bigint;
  /** Diagnosis: IP version << 32 | the first four destination bytes of the last unroutable packet. */
  lastNoRoute: bigint;
  /** Packets read from each queue of the TUN (one reading thread each). */
  queueRx: bigint[];
}

/** Queues (and reading threads) of the shared TUN by default: one per core, at most four. */
export function defaultHubQueues(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** The driver's handle behind each hub, for NativeTunnel; never exposed to callers. */
export const hubHandles = new WeakMap<NativeHub, object>();

/**
 * One TUN device for many tunnels (remote-access clients and sites): the driver's reading threads,
 * one per queue of a multi-queue TUN, find each packet's tunnel by destination, so thousands of
 * SAs need no device each and flows spread over the cores.
 */
export class NativeHub {
  readonly name: string;
  readonly #addon: HubAddon;
  readonly #handle: object;

  private constructor(addon: HubAddon, handle: object, name: string) {
    this.#addon = addon;
    this.#handle = handle;
    this.name = name;
    hubHandles.set(this, handle);
  }

  static open(config: { name: string; mtu: number; address: string; prefixLength: number; offload?: boolean; queues?: number }): NativeHub {
    const addon = loadDriver() as unknown as HubAddon;
    const queues = config.queues ?? defaultHubQueues();
    const r = addon.hubOpen({ name: config.name, mtu: config.mtu, address: config.address, prefixLength: config.prefixLength, noOffload: config.offload === false, queues });
    if (typeof r === 'number') throw new PosternError(ErrorCode.driverUnavailable, `the driver could not open the shared TUN ${config.name} (errno ${-r})`);
    return new NativeHub(addon, r.handle, r.name);
  }

  stats(): NativeHubStats | undefined {
    return this.#addon.hubStats(this.#handle);
  }

  /**
   * Sessions served in JavaScript (PPP over SSTP's TLS) share the TUN too: packets to their routes
   * come up in batches of [session tag, IP packet]; `write` puts a session's packets into the TUN.
   */
  attachPipe(onPackets: (batch: Array<[number, Buffer]>) => void): void {
    const rc = this.#addon.hubPipeAttach(this.#handle, onPackets);
    if (rc !== 0) throw new PosternError(ErrorCode.driverUnavailable, `the shared TUN ${this.name} could not take a session pipe (errno ${-rc})`);
  }

  /** A session's address (a /32 or /128) or subnet; the newest route for a prefix wins. */
  routeToPipe(prefix: string, tag: number): void {
    const rc = this.#addon.hubPipeRoute(this.#handle, prefix, tag);
    if (rc !== 0) throw new PosternError(ErrorCode.dataplaneInvalid, `could not route ${prefix} to session ${tag} (errno ${-rc})`);
  }

  unroutePipe(tag: number): void {
    this.#addon.hubPipeUnroute(this.#handle, tag);
  }

  /** Returns false when the TUN refused the packet (counted by the caller). */
  write(packet: Buffer): boolean {
    return this.#addon.hubWrite(this.#handle, packet) > 0;
  }

  pipeStats(): NativeHubPipeStats | undefined {
    return this.#addon.hubPipeStats(this.#handle);
  }

  /** Refused (false) while tunnels still run on it. */
  close(): boolean {
    return this.#addon.hubClose(this.#handle) === 0;
  }
}
