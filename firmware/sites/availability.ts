/**
 * What this build runs, per site protocol and per listener kind (issue 25): one table, so no value
 * the configuration accepts is run by nothing in silence. A `Record` over the config's own unions:
 * a protocol added to the schema does not compile until it has a row here.
 *
 * - runs: a subsystem starts it.
 * - being built: accepted and kept (the configuration stays valid across builds), but reported per
 *   site as "not available in this build" in the API, the web UI and the MQTT status.
 * Any value outside the table (a future format read by this build) is refused by validation.
 */
import type { ListenerName, SiteConfig } from '../config/types.ts';

export type Availability = { readonly runs: true } | { readonly runs: false; readonly reason: string };

export const NOT_IN_THIS_BUILD = 'not available in this build';

const runs: Availability = { runs: true };
/** For a protocol the schema accepts before a subsystem runs it (none today). */
export const beingBuilt = (what: string): Availability => ({ runs: false, reason: `${NOT_IN_THIS_BUILD}: ${what}` });

export const SITE_PROTOCOLS: Readonly<Record<SiteConfig['protocol'], Availability>> = {
  ikev2: runs,
  ikev1: runs,
  sstp: runs,
  gre: runs,
  l2tp: runs, // issue 20: dialed by l2tp/l2tp-site-subsystem.ts, answered by the L2TP listener
  pptp: runs, // issue 22: dialed by pptp/pptp-site-subsystem.ts, answered by the PPTP listener
};

export const LISTENER_KINDS: Readonly<Record<ListenerName, Availability>> = {
  ikev2: runs,
  sstp: runs,
  l2tp: runs, // issue 20: the LNS (firmware/l2tp/l2tp-subsystem.ts)
  pptp: runs, // issue 22: the PPTP server (firmware/pptp/pptp-subsystem.ts)
};

/** A protocol value as read from a document: unknown ones are undefined (refused by validation). */
export function siteProtocolAvailability(protocol: string): Availability | undefined {
  return Object.hasOwn(SITE_PROTOCOLS, protocol) ? SITE_PROTOCOLS[protocol as SiteConfig['protocol']] : undefined;
}

export function listenerAvailability(kind: string): Availability | undefined {
  return Object.hasOwn(LISTENER_KINDS, kind) ? LISTENER_KINDS[kind as ListenerName] : undefined;
}

/** The reason an enabled site does not run in this build, or undefined when it runs. */
export function siteUnavailableReason(site: Pick<SiteConfig, 'protocol'>): string | undefined {
  const a = siteProtocolAvailability(site.protocol);
  return a === undefined ? `${NOT_IN_THIS_BUILD}: unknown protocol '${String(site.protocol)}'` : a.runs ? undefined : a.reason;
}
