/*
 * SSTP site-to-site, dialing side: for every enabled SSTP site that initiates, Postern dials the remote
 * gateway as its SSTP client (client/sstp-dialer.ts), authenticates as the site's user, and routes the
 * site's remote subnets into the shared TUN under the call's pipe tag (sites/ppp-site-link.ts: routes,
 * source check, redial with backoff, the Test).
 * The answering side is the SSTP listener (sstp-subsystem.ts), which routes the dialer's subnets to its session.
 */
import { rootCertificates } from 'node:tls';
import type { AccessResources, HubLease } from '../access/access-resources.ts';
import type { PipeDispatcher } from '../access/pipe-dispatcher.ts';
import type { PosternConfig, SiteConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { loadOrCreatePki } from '../pki/pki-store.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import { Secret } from '../util/secret.ts';
import { SstpDialer, type SstpDialOptions } from './client/sstp-dialer.ts';
import { revocationFromConfig, trustedCas } from '../revocation/from-config.ts';
import type { RevocationService } from '../revocation/revocation-service.ts';
import { tlsRevocationCheck } from '../revocation/tls-peer.ts';
import { sstpTestResult, type SiteTestResult } from '../sites/site-test.ts';
import { PppSiteLink, PppSiteLinks, type SiteState } from '../sites/ppp-site-link.ts';

export type { SiteState } from '../sites/ppp-site-link.ts';

export const dialingSstpSites = (config: PosternConfig): SiteConfig[] => config.sites.filter((s) => s.enabled && s.protocol === 'sstp' && s.initiate);

type SstpSiteLink = PppSiteLink<'tls' | 'sstp'>;

interface SstpLinkContext {
  readonly pipe: PipeDispatcher;
  /** Issue 23: the shared TUN's hub, for a call's IP in the driver; the data path setting (listeners.sstp.dataPath). */
  readonly hub: HubLease['hub'];
  readonly dataPath: 'native' | 'javascript';
  readonly access: AccessResources;
  readonly ca: string[];
  readonly checkRevocation: NonNullable<SstpDialOptions['checkRevocation']>;
  readonly log: Logger;
  readonly onStateChange?: (site: string, state: 'up' | 'down', why: string) => void;
}

/** A dialed SSTP site: the shared PPP site link with an SSTP call under it. */
function sstpSiteLink(site: SiteConfig, ctx: SstpLinkContext): SstpSiteLink {
  return new PppSiteLink<'tls' | 'sstp'>({
    site, label: 'SSTP', pipe: ctx.pipe, access: ctx.access, log: ctx.log, ...(ctx.onStateChange ? { onStateChange: ctx.onStateChange } : {}),
    dial: ({ onIp, onProgress }) => new SstpDialer({
      host: site.remote,
      port: site.port ?? 443,
      ...(site.serverFingerprint ? { fingerprint: site.serverFingerprint } : { ca: ctx.ca.join('\n'), checkRevocation: ctx.checkRevocation }),
      user: site.username ?? '',
      password: new Secret(site.password ?? ''),
      logger: ctx.log,
      onIp,
      onProgress,
      hub: ctx.hub,
      remoteSubnets: site.remoteSubnets,
      dataPath: ctx.dataPath,
    }),
  });
}

export interface SstpSiteOptions {
  readonly logger: Logger;
  readonly stateDir: string;
  readonly access: AccessResources;
  /** A dialed site's call came up or went down (the fleet console's tunnel-up/tunnel-down). */
  readonly onStateChange?: (site: string, state: 'up' | 'down', why: string) => void;
}

export class SstpSiteSubsystem implements Subsystem {
  readonly name = 'sstp-sites';
  readonly #options: SstpSiteOptions;
  #status: SubsystemStatus = { state: 'stopped' };
  #running: { sites: PppSiteLinks<'tls' | 'sstp'>; revocation: RevocationService } | undefined;

  constructor(options: SstpSiteOptions) {
    this.#options = options;
  }

  siteStates(): SiteState[] {
    return this.#running?.sites.states() ?? [];
  }

  /** Dials the site now and reports each step (issue 17); undefined when it is not an SSTP site that dials. */
  async testSite(name: string, deadlineMs = 15_000): Promise<SiteTestResult | undefined> {
    const link = this.#running?.sites.links.get(name);
    return link ? sstpTestResult(name, { host: link.site.remote, port: link.site.port ?? 443, ...(await link.test(deadlineMs)) }) : undefined;
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
      const ctx = { pipe: hub.pipe(), hub: hub.hub, dataPath: config.listeners.sstp.dataPath ?? 'native', access: this.#options.access, ca, checkRevocation: tlsRevocationCheck(revocation, log, ca.join('\n')), log, ...(this.#options.onStateChange ? { onStateChange: this.#options.onStateChange } : {}) };
      const links = new Map(dialingSstpSites(config).map((site) => [site.name, sstpSiteLink(site, ctx)] as const));
      this.#running = { sites: new PppSiteLinks(hub, links), revocation };
      this.#running.sites.dialAll();
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
    r.revocation.close();
    await r.sites.hangUp();
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
    slice: (c) => ({ sites: dialingSstpSites(c), certificates: c.certificates, lan: c.system.lan, dataPath: c.listeners.sstp.dataPath }),
    create,
  };
}
