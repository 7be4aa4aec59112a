/*
 * SSTP site-to-site, dialing side: for every enabled SSTP site that initiates, Postern dials the remote
 * gateway as its SSTP client (client/sstp-dialer.ts), authenticates as the site's user, and routes the
 * site's remote subnets into the shared TUN under the call's pipe tag; packets from the tunnel whose
 * source is inside those subnets go to the TUN. A lost call is redialed with backoff (1 s doubling to 60 s).
 * The answering side is the SSTP listener (sstp-subsystem.ts), which routes the dialer's subnets to its session.
 */
import { rootCertificates } from 'node:tls';
import type { AccessResources, HubLease } from '../access/access-resources.ts';
import type { PipeDispatcher } from '../access/pipe-dispatcher.ts';
import type { PosternConfig, SiteConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { loadOrCreatePki } from '../pki/pki-store.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import { parsePrefix, prefixContains, type ParsedPrefix } from '../util/ip.ts';
import { Secret } from '../util/secret.ts';
import { SstpDialer, type SstpDialOptions } from './client/sstp-dialer.ts';
import { revocationFromConfig, trustedCas } from '../revocation/from-config.ts';
import type { RevocationService } from '../revocation/revocation-service.ts';
import { tlsRevocationCheck } from '../revocation/tls-peer.ts';
import { sstpTestResult, type SiteTestResult, type SstpDialObservation } from '../sites/site-test.ts';

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

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 60_000;

export const dialingSstpSites = (config: PosternConfig): SiteConfig[] => config.sites.filter((s) => s.enabled && s.protocol === 'sstp' && s.initiate);

/** One dialed site: the call, its routes, its counters, its redial timer. */
class SstpSiteLink {
  readonly #site: SiteConfig;
  readonly #pipe: PipeDispatcher;
  readonly #access: AccessResources;
  readonly #ca: string[];
  readonly #checkRevocation: NonNullable<SstpDialOptions['checkRevocation']>;
  readonly #log: Logger;
  readonly #subnets: ParsedPrefix[];
  #dialer: SstpDialer | undefined;
  #tag: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = false;
  #address: string | undefined;
  /** How far the current dial got, for a Test. */
  #reached: SstpDialObservation['reached'] = 'none';
  #listeners = new Set<() => void>();
  state: SiteState['state'] = 'down';
  lastError: SiteState['lastError'];
  nextRetryAt: number | undefined;
  readonly counters = { rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0, droppedSource: 0 };

  constructor(site: SiteConfig, ctx: { pipe: PipeDispatcher; access: AccessResources; ca: string[]; checkRevocation: NonNullable<SstpDialOptions['checkRevocation']>; log: Logger }) {
    this.#site = site;
    this.#pipe = ctx.pipe;
    this.#access = ctx.access;
    this.#ca = ctx.ca;
    this.#checkRevocation = ctx.checkRevocation;
    this.#log = ctx.log;
    this.#subnets = site.remoteSubnets.map((s) => parsePrefix(s)).filter((p): p is ParsedPrefix => p !== undefined);
  }

  dial(): void {
    if (this.#stopped) return;
    const site = this.#site;
    this.state = 'connecting';
    this.#reached = 'none';
    this.nextRetryAt = undefined;
    const dialer = new SstpDialer({
      host: site.remote,
      port: site.port ?? 443,
      ...(site.serverFingerprint ? { fingerprint: site.serverFingerprint } : { ca: this.#ca.join('\n'), checkRevocation: this.#checkRevocation }),
      user: site.username ?? '',
      password: new Secret(site.password ?? ''),
      logger: this.#log,
      onIp: (packet) => this.#fromTunnel(packet),
      onProgress: (step) => {
        if (dialer !== this.#dialer) return;
        this.#reached = step;
        this.#notify();
      },
    });
    this.#dialer = dialer;
    dialer.ready.then(
      (ipcp) => this.#up(dialer, ipcp.localAddress),
      () => undefined,
    );
    void dialer.closed.then((reason) => this.#down(dialer, reason));
  }

  /** Routes out at once (the shared TUN may close next), then the hang-up. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#unroute();
    this.#dialer?.disconnect();
  }

  #unroute(): void {
    if (this.#tag === undefined) return;
    this.#pipe.unregister(this.#tag);
    this.#access.routeToTun(this.#site.remoteSubnets, false);
    this.#tag = undefined;
  }

  #up(dialer: SstpDialer, address: string | undefined): void {
    if (dialer !== this.#dialer || this.#stopped) return;
    this.#failures = 0;
    this.state = 'established';
    this.#reached = 'up';
    this.#address = address;
    this.#notify();
    this.#tag = this.#pipe.register((packet) => {
      this.counters.txPackets++;
      this.counters.txBytes += packet.length;
      dialer.sendIp(packet);
    });
    for (const subnet of this.#site.remoteSubnets) this.#pipe.route(this.#tag, subnet);
    this.#access.routeToTun(this.#site.remoteSubnets, true);
    this.#log.info('SSTP site up', { site: this.#site.name, remote: this.#site.remote, address, subnets: this.#site.remoteSubnets });
  }

  #down(dialer: SstpDialer, reason: string): void {
    if (dialer !== this.#dialer) return;
    this.#dialer = undefined;
    const wasUp = this.state === 'established';
    this.state = 'down';
    this.lastError = { time: new Date().toISOString(), reason };
    if (this.#stopped) return this.#notify(reason);
    this.#unroute();
    const wait = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.#failures++);
    this.nextRetryAt = Date.now() + wait;
    this.#notify(reason);
    this.#log[wasUp ? 'warn' : 'info']('SSTP site down', { site: this.#site.name, reason, redialInMs: wait });
    this.#timer = setTimeout(() => this.dial(), wait);
    this.#timer.unref();
  }

  #closedReason: string | undefined;

  #notify(closed?: string): void {
    if (closed !== undefined) this.#closedReason = closed;
    for (const listener of [...this.#listeners]) listener();
  }

  /**
   * The site's "Test" (issue 17): a call that is up is reported as it is (a second call would take
   * the routes from the first at the peer); otherwise the backoff is cut short and the site dialed now.
   */
  async test(deadlineMs: number): Promise<SstpDialObservation> {
    const started = Date.now();
    const base = { host: this.#site.remote, port: this.#site.port ?? 443 };
    if (this.state === 'established') return { ...base, reached: 'up', ...(this.#address ? { address: this.#address } : {}), timedOut: false, alreadyUp: true, elapsedMs: 0 };
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
      ...base, reached: this.#reached, ...(outcome === 'up' && this.#address ? { address: this.#address } : {}),
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
    this.#pipe.write(packet);
  }
}

export class SstpSiteSubsystem implements Subsystem {
  readonly name = 'sstp-sites';
  readonly #options: { readonly logger: Logger; readonly stateDir: string; readonly access: AccessResources };
  #status: SubsystemStatus = { state: 'stopped' };
  #running: { hub: HubLease; links: Map<string, SstpSiteLink>; revocation: RevocationService } | undefined;

  constructor(options: { logger: Logger; stateDir: string; access: AccessResources }) {
    this.#options = options;
  }

  siteStates(): SiteState[] {
    return [...(this.#running?.links ?? new Map<string, SstpSiteLink>())].map(([name, link]) => ({
      name, state: link.state, ...link.counters,
      ...(link.lastError ? { lastError: link.lastError } : {}), ...(link.nextRetryAt !== undefined && link.state === 'down' ? { nextRetryAt: link.nextRetryAt } : {}),
    }));
  }

  /** Dials the site now and reports each step (issue 17); undefined when it is not an SSTP site that dials. */
  async testSite(name: string, deadlineMs = 15_000): Promise<SiteTestResult | undefined> {
    const link = this.#running?.links.get(name);
    return link ? sstpTestResult(name, await link.test(deadlineMs)) : undefined;
  }

  async start(config: PosternConfig): Promise<void> {
    const log = this.#options.logger;
    this.#status = { state: 'starting' };
    let hub: HubLease | undefined;
    try {
      const pki = loadOrCreatePki(this.#options.stateDir, config.certificates, log.child('pki'));
      hub = this.#options.access.acquireHub(config);
      // The remote gateway's certificate chains to a public root, Postern's CA or a CA the configuration
      // trusts, and is checked for revocation under that CA's policy (issue 16).
      const revocation = revocationFromConfig(config, pki.ca.certificatePem, this.#options.stateDir, log.child('revocation'));
      const ca = [...rootCertificates, pki.ca.certificatePem, ...trustedCas(config, log).map((t) => t.ca.toString())];
      const ctx = { pipe: hub.pipe(), access: this.#options.access, ca, checkRevocation: tlsRevocationCheck(revocation, log, ca.join('\n')), log };
      const links = new Map(dialingSstpSites(config).map((site) => [site.name, new SstpSiteLink(site, ctx)] as const));
      this.#running = { hub, links, revocation };
      for (const link of links.values()) link.dial();
      this.#status = { state: 'running', detail: `${links.size} site(s)` };
    } catch (error) {
      hub?.release();
      this.#status = { state: 'unavailable', detail: error instanceof Error ? error.message : String(error) };
      log.error('SSTP sites are not available', { detail: this.#status.detail });
    }
  }

  async reconfigure(next: PosternConfig): Promise<void> {
    await this.stop();
    await this.start(next);
  }

  async stop(): Promise<void> {
    const r = this.#running;
    this.#running = undefined;
    if (!r) return void (this.#status = { state: 'stopped' });
    for (const link of r.links.values()) link.stop();
    r.revocation.close();
    // Let the hang-ups reach the wire before the TUN goes.
    await new Promise((resolve) => setTimeout(resolve, 200));
    r.hub.release();
    this.#status = { state: 'stopped' };
  }

  status(): SubsystemStatus {
    return this.#status;
  }
}

export function sstpSiteSpec(create: () => SstpSiteSubsystem): SubsystemSpec {
  return {
    name: 'sstp-sites',
    wanted: (c) => dialingSstpSites(c).length > 0,
    slice: (c) => ({ sites: dialingSstpSites(c), certificates: c.certificates, lan: c.system.lan }),
    create,
  };
}
