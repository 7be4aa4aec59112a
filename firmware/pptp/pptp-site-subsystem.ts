/*
 * PPTP site-to-site, dialing side (issue 22): for every enabled PPTP site that initiates, Postern dials
 * the peer's TCP 1723 as its PPTP client (pptp-dialer.ts), logs in as the site's user with MS-CHAPv2
 * and requires MPPE-128; routes, source check, redial and Test are the shared PPP site link's
 * (sites/ppp-site-link.ts). The answering side is the PPTP listener (pptp-subsystem.ts), which routes
 * an answering site's subnets to the call its user logs in with.
 *
 * Insecure by design (MS-CHAPv2 falls to a DES search, and the MPPE keys with it): flagged by the
 * config rules and logged once per start.
 */
import type { AccessResources, HubLease } from '../access/access-resources.ts';
import type { PosternConfig, SiteConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { PppSiteLink, PppSiteLinks, type SiteState } from '../sites/ppp-site-link.ts';
import { pptpTestResult } from '../sites/pptp-site-test.ts';
import type { SiteTestResult } from '../sites/site-test.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import { Secret } from '../util/secret.ts';
import { PptpDialer, type PptpDialStep } from './pptp-dialer.ts';

export const dialingPptpSites = (config: PosternConfig): SiteConfig[] => config.sites.filter((s) => s.enabled && s.protocol === 'pptp' && s.initiate);

export interface PptpSiteOptions {
  readonly logger: Logger;
  readonly access: AccessResources;
  readonly onStateChange?: (site: string, state: 'up' | 'down', why: string) => void;
}

export class PptpSiteSubsystem implements Subsystem {
  readonly name = 'pptp-sites';
  readonly #options: PptpSiteOptions;
  #status: SubsystemStatus = { state: 'stopped' };
  #running: PppSiteLinks<PptpDialStep> | undefined;

  constructor(options: PptpSiteOptions) {
    this.#options = options;
  }

  siteStates(): SiteState[] {
    return this.#running?.states() ?? [];
  }

  /** Dials the site now and reports each step; undefined when it is not a PPTP site that dials. */
  async testSite(name: string, deadlineMs = 25_000): Promise<SiteTestResult | undefined> {
    const link = this.#running?.links.get(name);
    return link ? pptpTestResult(name, link.site.remote, await link.test(deadlineMs)) : undefined;
  }

  async start(config: PosternConfig): Promise<void> {
    const log = this.#options.logger;
    this.#status = { state: 'starting' };
    let hub: HubLease | undefined;
    try {
      hub = this.#options.access.acquireHub(config);
      const pipe = hub.pipe();
      const links = new Map(dialingPptpSites(config).map((site) => [site.name, new PppSiteLink<PptpDialStep>({
        site, label: 'PPTP', pipe, access: this.#options.access, log, ...(this.#options.onStateChange ? { onStateChange: this.#options.onStateChange } : {}),
        dial: ({ onIp, onProgress }) => new PptpDialer({
          host: site.remote, hostName: config.system.hostname || 'postern',
          user: site.username ?? '', password: new Secret(site.password ?? ''), logger: log, onIp, onProgress,
          hub: hub!.hub, remoteSubnets: site.remoteSubnets,
        }),
      })] as const));
      this.#running = new PppSiteLinks(hub, links);
      this.#running.dialAll();
      this.#status = { state: 'running', detail: `${links.size} site(s) (insecure: MS-CHAPv2 + MPPE)` };
      log.warn('PPTP sites are on: MS-CHAPv2 and MPPE can be broken offline; use them only where the peer can do nothing better', { sites: [...links.keys()] });
    } catch (error) {
      hub?.release();
      this.#status = { state: 'unavailable', detail: error instanceof Error ? error.message : String(error) };
      log.error('PPTP sites are not available', { detail: this.#status.detail });
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
    await r.hangUp();
    this.#status = { state: 'stopped' };
  }

  status(): SubsystemStatus {
    return this.#status;
  }
}

export function pptpSiteSpec(create: () => PptpSiteSubsystem): SubsystemSpec {
  return {
    name: 'pptp-sites',
    wanted: (c) => dialingPptpSites(c).length > 0,
    slice: (c) => ({ sites: dialingPptpSites(c), lan: c.system.lan, wan: c.system.wan, hostname: c.system.hostname }),
    create,
  };
}
