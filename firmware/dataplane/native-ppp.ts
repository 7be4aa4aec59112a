/*
 * PPP data sessions in the driver (issue 20, drivers/lib/ppp_data.h): once a session's IPCP or
 * IPV6CP is open, its IP packets cross between the shared TUN and the peer in C, framed and
 * deframed there (PPP protocol field, L2TP data header, UDP 1701, the ESP transport SA); control
 * frames still come up to JavaScript. A session is attached to the transport tunnels of its
 * client's path (NativeTunnel.attachPpp); the newest takes its routes.
 */
import type { NativeTunnel } from './native.ts';
import { loadDriver } from './native.ts';

export interface PppDataSessionSpec {
  /** Ours: what the peer's data messages carry. */
  readonly tunnelId: number;
  readonly sessionId: number;
  /** The peer's: what ours carry. */
  readonly peerTunnelId: number;
  readonly peerSessionId: number;
  readonly localPort: number;
  readonly peerPort: number;
  /** The peer's MRU: TCP SYNs toward it are clamped to fit. */
  readonly mtu: number;
  /** The session's addresses ("10.10.0.5/32", its IPv6, a site's subnets): allowed as sources, routed to it. */
  readonly sources: readonly string[];
}

export interface PppDataCounters {
  /** IP packets and bytes from the peer written into the TUN by the driver. */
  readonly rxPackets: bigint;
  readonly rxBytes: bigint;
  /** IP packets and bytes from the TUN framed and sealed toward the peer. */
  readonly txPackets: bigint;
  readonly txBytes: bigint;
  /** The session's frames left to JavaScript (LCP, NCPs, DHCPINFORM, router solicitations). */
  readonly up: bigint;
  readonly dropSource: bigint;
  readonly dropMalformed: bigint;
  readonly dropTx: bigint;
  /** Transport tunnels carrying it now. */
  readonly tunnels: bigint;
}

/** The driver's counts as plain numbers, each way (rx from the peer, tx toward it). */
export function carriedIp(stats: Pick<PppDataCounters, 'rxPackets' | 'rxBytes' | 'txPackets' | 'txBytes'> | undefined) {
  return stats && { rxPackets: Number(stats.rxPackets), rxBytes: Number(stats.rxBytes), txPackets: Number(stats.txPackets), txBytes: Number(stats.txBytes) };
}

/** The driver's bound on a session's prefixes (DP_MAX_PREFIXES in drivers/lib/selector.h). */
export const MAX_SOURCES = 16;

interface PppAddon {
  pppSessionOpen?(spec: PppDataSessionSpec): object | number;
  pppSessionStats?(session: object): PppDataCounters | undefined;
  pppSessionRelease?(session: object): number;
}

export class NativePppSession {
  readonly #addon: PppAddon;
  readonly #handle: object;
  #released = false;

  private constructor(addon: PppAddon, handle: object) {
    this.#addon = addon;
    this.#handle = handle;
  }

  /**
   * Undefined from a driver without PPP data sessions, or for what it cannot take (more than
   * MAX_SOURCES prefixes, an MTU under 576): the caller keeps the JavaScript path.
   */
  static open(spec: PppDataSessionSpec): NativePppSession | undefined {
    const addon = loadDriver() as unknown as PppAddon;
    if (typeof addon.pppSessionOpen !== 'function' || spec.sources.length > MAX_SOURCES || spec.mtu < 576) return undefined;
    try {
      const r = addon.pppSessionOpen({ ...spec, sources: [...spec.sources] });
      return typeof r === 'number' ? undefined : new NativePppSession(addon, r);
    } catch {
      return undefined; // a prefix the driver cannot parse
    }
  }

  /** 0, or a negative errno (the tunnel is not transport mode on a hub, or carries too many). */
  attach(tunnel: NativeTunnel): number {
    return this.#released ? -9 : tunnel.attachPpp(this.#handle);
  }

  detach(tunnel: NativeTunnel): void {
    if (!this.#released) tunnel.detachPpp(this.#handle);
  }

  stats(): PppDataCounters | undefined {
    return this.#released ? undefined : this.#addon.pppSessionStats?.(this.#handle);
  }

  /** Off every tunnel (its routes too) and freed; returns once the driver's threads are done with it. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#addon.pppSessionRelease?.(this.#handle);
  }
}
