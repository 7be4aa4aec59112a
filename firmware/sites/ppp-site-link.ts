/*
 * One dialed PPP site (SSTP, L2TP), whatever carries its PPP: the call, the site's routes into the
 * shared TUN under the call's pipe tag, its counters, the source check on what comes out of the
 * tunnel, the redial with backoff (1 s doubling to 60 s) and the site's Test. The protocol's dialer
 * is passed in; this class decides nothing about the protocol.
 */
import type { AccessResources, HubLease } from '../access/access-resources.ts';
import type { PipeDispatcher } from '../access/pipe-dispatcher.ts';
import type { SiteConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { parsePrefix, prefixContains, type ParsedPrefix } from '../util/ip.ts';

export interface SiteState {
  readonly name: string;
  readonly state: 'established' | 'connecting' | 'down';
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  /** Why the last dial failed or the call ended (issue 17). */
  readonly lastError?: { readonly time: string; readonly reason: string };
  /** Epoch milliseconds of the next dial while down. */
  readonly nextRetryAt?: number;
}

/** One call as the link sees it. */
export interface PppSiteCall {
  /** Resolves with our address once IPCP is open; rejects if the call never gets there. */
  readonly ready: Promise<{ readonly localAddress?: string | undefined }>;
  /** Resolves with the reason once the call is over. */
  readonly closed: Promise<string>;
  sendIp(packet: Uint8Array): void;
  disconnect(): void;
  /** The site's subnets are routed to the call: its lower layer may carry the IP in the driver from now on (issue 20). */
  routed?(): void;
  /** What the driver carried for the call so far (kept once its data path closed); nothing when JavaScript carried it all. */
  driverCarried?(): CarriedCounts | undefined;
}

/** IP packets and bytes each way: from the peer (rx) and toward it (tx). */
export interface CarriedCounts {
  readonly rxPackets: number;
  readonly rxBytes: number;
  readonly txPackets: number;
  readonly txBytes: number;
}

/** Two counts added (an ended call's onto the link's, or the driver's onto JavaScript's). */
export function addCarried<T extends CarriedCounts>(base: T, more: CarriedCounts | undefined): T {
  if (!more) return base;
  return { ...base, rxPackets: base.rxPackets + more.rxPackets, rxBytes: base.rxBytes + more.rxBytes, txPackets: base.txPackets + more.txPackets, txBytes: base.txBytes + more.txBytes };
}

/** How far a dial got, for a Test; `Step` is the protocol's own steps before 'up'. */
export interface PppSiteObservation<Step extends string> {
  readonly reached: 'none' | Step | 'up';
  readonly address?: string;
  readonly timedOut: boolean;
  readonly alreadyUp?: boolean;
  readonly closedReason?: string;
  readonly elapsedMs: number;
}

export interface PppSiteLinkOptions<Step extends string> {
  readonly site: SiteConfig;
  /** "SSTP", "L2TP": for the log. */
  readonly label: string;
  readonly pipe: PipeDispatcher;
  readonly access: AccessResources;
  readonly log: Logger;
  /** The call came up or went down (the fleet console's tunnel-up/tunnel-down). */
  readonly onStateChange?: (site: string, state: 'up' | 'down', why: string) => void;
  /** Starts one call: IP from the tunnel goes to `onIp`, each step passed to `onProgress`. */
  readonly dial: (hooks: { readonly onIp: (packet: Uint8Array) => void; readonly onProgress: (step: Step) => void }) => PppSiteCall;
}

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 60_000;

export class PppSiteLink<Step extends string> {
  readonly #o: PppSiteLinkOptions<Step>;
  readonly #site: SiteConfig;
  readonly #subnets: ParsedPrefix[];
  #call: PppSiteCall | undefined;
  #tag: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = false;
  #address: string | undefined;
  #reached: PppSiteObservation<Step>['reached'] = 'none';
  #closedReason: string | undefined;
  readonly #listeners = new Set<() => void>();
  state: SiteState['state'] = 'down';
  lastError: SiteState['lastError'];
  nextRetryAt: number | undefined;
  /** What crossed JavaScript; the driver's share is added in `snapshot()`. */
  readonly counters = { rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0, droppedSource: 0 };
  /** What the driver carried for the calls that ended. */
  #carriedByEndedCalls: CarriedCounts = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };

  constructor(options: PppSiteLinkOptions<Step>) {
    this.#o = options;
    this.#site = options.site;
    this.#subnets = options.site.remoteSubnets.map((s) => parsePrefix(s)).filter((p): p is ParsedPrefix => p !== undefined);
  }

  get site(): SiteConfig {
    return this.#site;
  }

  snapshot(): SiteState {
    return {
      name: this.#site.name, state: this.state, ...addCarried(addCarried(this.counters, this.#carriedByEndedCalls), this.#call?.driverCarried?.()),
      ...(this.lastError ? { lastError: this.lastError } : {}), ...(this.nextRetryAt !== undefined && this.state === 'down' ? { nextRetryAt: this.nextRetryAt } : {}),
    };
  }

  dial(): void {
    if (this.#stopped) return;
    this.state = 'connecting';
    this.#reached = 'none';
    this.nextRetryAt = undefined;
    const call: PppSiteCall = this.#o.dial({
      onIp: (packet) => this.#fromTunnel(packet),
      onProgress: (step) => {
        if (call !== this.#call) return;
        this.#reached = step;
        this.#notify();
      },
    });
    this.#call = call;
    call.ready.then((ipcp) => this.#up(call, ipcp.localAddress), () => undefined);
    void call.closed.then((reason) => this.#down(call, reason));
  }

  /** Routes out at once (the shared TUN may close next), then the hang-up. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#unroute();
    this.#call?.disconnect();
  }

  #unroute(): void {
    if (this.#tag === undefined) return;
    this.#o.pipe.unregister(this.#tag);
    this.#o.access.routeToTun(this.#site.remoteSubnets, false);
    this.#tag = undefined;
  }

  #up(call: PppSiteCall, address: string | undefined): void {
    if (call !== this.#call || this.#stopped) return;
    this.#failures = 0;
    this.state = 'established';
    this.#reached = 'up';
    this.#address = address;
    this.#notify();
    this.#tag = this.#o.pipe.register((packet) => {
      this.counters.txPackets++;
      this.counters.txBytes += packet.length;
      call.sendIp(packet);
    });
    for (const subnet of this.#site.remoteSubnets) this.#o.pipe.route(this.#tag, subnet);
    this.#o.access.routeToTun(this.#site.remoteSubnets, true);
    call.routed?.();
    this.#o.log.info(`${this.#o.label} site up`, { site: this.#site.name, remote: this.#site.remote, address, subnets: this.#site.remoteSubnets });
    this.#o.onStateChange?.(this.#site.name, 'up', 'call up');
  }

  #down(call: PppSiteCall, reason: string): void {
    if (call !== this.#call) return;
    this.#carriedByEndedCalls = addCarried(this.#carriedByEndedCalls, call.driverCarried?.());
    this.#call = undefined;
    const wasUp = this.state === 'established';
    this.state = 'down';
    this.lastError = { time: new Date().toISOString(), reason };
    if (wasUp) this.#o.onStateChange?.(this.#site.name, 'down', reason);
    if (this.#stopped) return this.#notify(reason);
    this.#unroute();
    const wait = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.#failures++);
    this.nextRetryAt = Date.now() + wait;
    this.#notify(reason);
    this.#o.log[wasUp ? 'warn' : 'info'](`${this.#o.label} site down`, { site: this.#site.name, reason, redialInMs: wait });
    this.#timer = setTimeout(() => this.dial(), wait);
    this.#timer.unref();
  }

  #notify(closed?: string): void {
    if (closed !== undefined) this.#closedReason = closed;
    for (const listener of [...this.#listeners]) listener();
  }

  /**
   * The site's "Test" (issue 17): a call that is up is reported as it is (a second call would take
   * the routes from the first at the peer); otherwise the backoff is cut short and the site dialed now.
   */
  async test(deadlineMs: number): Promise<PppSiteObservation<Step>> {
    const started = Date.now();
    if (this.state === 'established') return { reached: 'up', ...(this.#address ? { address: this.#address } : {}), timedOut: false, alreadyUp: true, elapsedMs: 0 };
    if (this.state === 'down') {
      if (this.#timer) clearTimeout(this.#timer);
      this.dial();
    }
    this.#closedReason = undefined;
    const outcome = await new Promise<'up' | 'closed' | 'timeout'>((resolve) => {
      const check = () => {
        if (this.state === 'established') finish('up');
        else if (this.#closedReason !== undefined) finish('closed');
      };
      const timer = setTimeout(() => finish('timeout'), deadlineMs);
      const finish = (how: 'up' | 'closed' | 'timeout') => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        resolve(how);
      };
      this.#listeners.add(check);
    });
    return {
      reached: this.#reached, ...(outcome === 'up' && this.#address ? { address: this.#address } : {}),
      ...(outcome === 'closed' && this.#closedReason !== undefined ? { closedReason: this.#closedReason } : {}),
      timedOut: outcome === 'timeout', elapsedMs: Date.now() - started,
    };
  }

  /** From the remote site: only its own networks may source traffic here. */
  #fromTunnel(packet: Uint8Array): void {
    if (packet.length < 20 || packet[0]! >> 4 !== 4 || !this.#subnets.some((p) => prefixContains(p, packet.subarray(12, 16)))) {
      this.counters.droppedSource++;
      return;
    }
    this.counters.rxPackets++;
    this.counters.rxBytes += packet.length;
    this.#o.pipe.write(packet);
  }
}

/** One protocol's dialed sites on their lease of the shared TUN: dialed together, listed, hung up together. */
export class PppSiteLinks<Step extends string> {
  readonly #hub: HubLease;
  readonly links: ReadonlyMap<string, PppSiteLink<Step>>;

  constructor(hub: HubLease, links: ReadonlyMap<string, PppSiteLink<Step>>) {
    this.#hub = hub;
    this.links = links;
  }

  dialAll(): void {
    for (const link of this.links.values()) link.dial();
  }

  states(): SiteState[] {
    return [...this.links.values()].map((link) => link.snapshot());
  }

  /** Routes out and calls hung up; the TUN lease goes once the hang-ups had time to reach the wire. */
  async hangUp(): Promise<void> {
    for (const link of this.links.values()) link.stop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    this.#hub.release();
  }
}
