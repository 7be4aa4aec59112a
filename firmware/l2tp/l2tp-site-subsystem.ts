/*
 * L2TP/IPsec site-to-site, dialing side (issue 20): for every enabled L2TP site that initiates,
 * the IKE subsystem keys an IKEv1 transport SA to the peer with the site's PSK (connection
 * `l2tp-site:<name>`), then Postern dials the peer's LNS as its L2TP client (l2tp-dialer.ts) and
 * logs in as the site's user; routes, source check, redial and Test are the shared PPP site link's
 * (sites/ppp-site-link.ts). The answering side is the L2TP listener (l2tp-subsystem.ts), which routes
 * an answering site's subnets to the session its user logs in with.
 */
import type { PppDataSessionSpec } from '../dataplane/native-ppp.ts';
import type { PppDataPath } from '../ike/l2tp-ppp-data.ts';
import type { AccessResources, HubLease } from '../access/access-resources.ts';
import type { PosternConfig, SiteConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { isDialingL2tpSite } from '../ikev1/ikev1-connections.ts';
import { wanAddressNow } from '../network/wan-network.ts';
import { PppSiteLink, PppSiteLinks, type SiteState } from '../sites/ppp-site-link.ts';
import { l2tpTestResult } from '../sites/l2tp-site-test.ts';
import type { SiteTestResult } from '../sites/site-test.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import { Secret } from '../util/secret.ts';
import { L2tpDialer, type L2tpDialStep } from './l2tp-dialer.ts';

export const dialingL2tpSites = (config: PosternConfig): SiteConfig[] => config.sites.filter(isDialingL2tpSite);

/** What the IKE subsystem does for L2TP sites. */
export interface L2tpSiteIpsec {
  /** Whether L2TP with this address is inside an IKEv1 transport SA now. */
  protectedPeer(address: string): boolean;
  /** Keys the site's transport SA (nothing when one is up or on its way). */
  dial(site: string): void;
  /** Issue 20: the site's call's IP in the driver on its transport SA; undefined when it cannot. */
  pppData?(site: string, spec: PppDataSessionSpec): PppDataPath | undefined;
}

export interface L2tpSiteOptions {
  readonly logger: Logger;
  readonly access: AccessResources;
  readonly ipsec: L2tpSiteIpsec;
  readonly wanAddress?: (config: PosternConfig) => string | undefined;
  /** The WAN's IPv6 address (issue 24): a site whose peer is IPv6 dials from it. */
  readonly wanAddress6?: (config: PosternConfig) => string | undefined;
  readonly onStateChange?: (site: string, state: 'up' | 'down', why: string) => void;
  /** How long a dial waits for its IPsec SA (20 s). */
  readonly ipsecWaitMs?: number;
}

export class L2tpSiteSubsystem implements Subsystem {
  readonly name = 'l2tp-sites';
  readonly #options: L2tpSiteOptions;
  #status: SubsystemStatus = { state: 'stopped' };
  #running: PppSiteLinks<L2tpDialStep> | undefined;

  constructor(options: L2tpSiteOptions) {
    this.#options = options;
  }

  siteStates(): SiteState[] {
    return this.#running?.states() ?? [];
  }

  /** Dials the site now and reports each step; undefined when it is not an L2TP site that dials. */
  async testSite(name: string, deadlineMs = 25_000): Promise<SiteTestResult | undefined> {
    const link = this.#running?.links.get(name);
    return link ? l2tpTestResult(name, link.site.remote, await link.test(deadlineMs)) : undefined;
  }

  async start(config: PosternConfig): Promise<void> {
    const log = this.#options.logger;
    this.#status = { state: 'starting' };
    const localAddress = (this.#options.wanAddress ?? wanAddressNow)(config);
    const localAddress6 = this.#options.wanAddress6?.(config);
    if (!localAddress && !localAddress6) {
      this.#status = { state: 'unavailable', detail: 'no WAN address to dial L2TP sites from' };
      log.error('L2TP sites are not available', { detail: this.#status.detail });
      return;
    }
    let hub: HubLease | undefined;
    try {
      hub = this.#options.access.acquireHub(config);
      const pipe = hub.pipe();
      const links = new Map(dialingL2tpSites(config).map((site) => [site.name, new PppSiteLink<L2tpDialStep>({
        site, label: 'L2TP', pipe, access: this.#options.access, log, ...(this.#options.onStateChange ? { onStateChange: this.#options.onStateChange } : {}),
        dial: ({ onIp, onProgress }) => new L2tpDialer({
          // Issue 24: from the WAN address of the peer's family; without one, the kernel picks the source.
          host: site.remote, localAddress: (site.remote.includes(':') ? localAddress6 ?? '::' : localAddress ?? '0.0.0.0'), hostName: config.system.hostname || 'postern',
          user: site.username ?? '', password: new Secret(site.password ?? ''),
          ipsec: () => this.#ipsecFor(site), ipsecUp: () => this.#options.ipsec.protectedPeer(site.remote),
          logger: log, onIp, onProgress, remoteSubnets: site.remoteSubnets,
          ...(this.#options.ipsec.pppData ? { pppData: (spec: PppDataSessionSpec) => this.#options.ipsec.pppData?.(site.name, spec) } : {}),
        }),
      })] as const));
      this.#running = new PppSiteLinks(hub, links);
      this.#running.dialAll();
      this.#status = { state: 'running', detail: `${links.size} site(s)` };
    } catch (error) {
      hub?.release();
      this.#status = { state: 'unavailable', detail: error instanceof Error ? error.message : String(error) };
      log.error('L2TP sites are not available', { detail: this.#status.detail });
    }
  }

  /** Undefined once the site's transport SA is up; why not when it does not come within the wait. */
  async #ipsecFor(site: SiteConfig): Promise<string | undefined> {
    const { ipsec } = this.#options;
    if (ipsec.protectedPeer(site.remote)) return undefined;
    ipsec.dial(site.name);
    const deadline = Date.now() + (this.#options.ipsecWaitMs ?? 20_000);
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (!this.#running) return 'L2TP sites stopped';
      if (ipsec.protectedPeer(site.remote)) return undefined;
    }
    return `IPsec with ${site.remote} did not come up within ${Math.round((this.#options.ipsecWaitMs ?? 20_000) / 1000)} s`;
  }

  async reconfigure(next: PosternConfig): Promise<void> {
    await this.stop();
    await this.start(next);
  }

  async stop(): Promise<void> {
    const r = this.#running;
    this.#running = undefined;
    if (!r) return void (this.#status = { state: 'stopped' });
    await r.hangUp();
    this.#status = { state: 'stopped' };
  }

  status(): SubsystemStatus {
    return this.#status;
  }
}

export function l2tpSiteSpec(create: () => L2tpSiteSubsystem): SubsystemSpec {
  return {
    name: 'l2tp-sites',
    wanted: (c) => dialingL2tpSites(c).length > 0,
    slice: (c) => ({ sites: dialingL2tpSites(c), lan: c.system.lan, wan: c.system.wan, hostname: c.system.hostname }),
    create,
  };
}
