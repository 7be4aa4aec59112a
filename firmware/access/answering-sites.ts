/*
 * The sites a PPP listener answers (SSTP, L2TP, PPTP): a site names the local user its peer logs in
 * as; that user's session carries the site's networks (routed into the shared TUN while it is up,
 * allowed as sources) and shows as the site's state. One session per site: a new login of the
 * same site replaces the old one. A RADIUS user's Framed-Routes (the networks behind that user)
 * get the same kernel routes while the session is up.
 */
import type { AccessResources } from './access-resources.ts';
import type { PppSession } from './ppp-session.ts';
import type { SiteConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';

export class AnsweringSites {
  readonly #byUser: ReadonlyMap<string, SiteConfig>;
  readonly #sessions = new Map<string, PppSession>();
  readonly #access: AccessResources;
  readonly #log: Logger;
  readonly #label: string;

  /** `sites`: the listener's answering sites (each with a username); `label` ("SSTP", "L2TP") for the log. */
  constructor(sites: readonly SiteConfig[], access: AccessResources, log: Logger, label: string) {
    this.#byUser = new Map(sites.filter((s) => s.username).map((s) => [s.username!, s]));
    this.#access = access;
    this.#log = log;
    this.#label = label;
  }

  /** The networks a session of this user may carry (PppSessionOptions.siteSubnets). */
  subnetsOf(user: string): readonly string[] {
    return this.#byUser.get(user)?.remoteSubnets ?? [];
  }

  /** Established while their user's session is up. */
  states(): Array<{ name: string; state: 'established' | 'down'; rxPackets: number; txPackets: number; rxBytes: number; txBytes: number }> {
    return [...this.#byUser.values()].map((site) => {
      const info = this.#sessions.get(site.name)?.info;
      return { name: site.name, state: info ? 'established' : 'down', rxPackets: 0, txPackets: 0, rxBytes: info?.bytesIn ?? 0, txBytes: info?.bytesOut ?? 0 };
    });
  }

  /** A session got its address: if its user is a site's, the site's networks go to it. */
  started(session: PppSession): void {
    this.#routeFramedIpv6(session, true);
    if (session.framedRoutes.length > 0) {
      this.#access.routeToTun(session.framedRoutes, true);
      this.#log.info(`${this.#label} session routes from RADIUS`, { user: session.info.user, routes: session.framedRoutes });
    }
    const site = session.info.user === undefined ? undefined : this.#byUser.get(session.info.user);
    if (!site) return;
    this.#sessions.get(site.name)?.close('the site dialed in again');
    this.#sessions.set(site.name, session);
    this.#access.routeToTun(site.remoteSubnets, true);
    this.#log.info(`${this.#label} site up`, { site: site.name, user: site.username, peer: session.info.peer, subnets: site.remoteSubnets });
  }

  /** A RADIUS Framed-IPv6-Prefix is outside every pool (framed-ipv6.ts), so it needs a kernel route of its own. */
  #routeFramedIpv6(session: PppSession, add: boolean): void {
    const prefix = session.framedIpv6Prefix;
    if (prefix === undefined) return;
    this.#access.routeToTun([prefix], add);
    if (add) this.#log.info(`${this.#label} session IPv6 prefix from RADIUS`, { user: session.info.user, prefix });
  }

  ended(session: PppSession): void {
    this.#routeFramedIpv6(session, false);
    if (session.framedRoutes.length > 0) this.#access.routeToTun(session.framedRoutes, false);
    for (const [name, s] of this.#sessions) {
      if (s !== session) continue;
      this.#sessions.delete(name);
      const site = [...this.#byUser.values()].find((x) => x.name === name);
      if (site) this.#access.routeToTun(site.remoteSubnets, false);
      this.#log.info(`${this.#label} site down`, { site: name });
    }
  }
}
