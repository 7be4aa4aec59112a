/**
 * Issue 25: no protocol accepted in silence. A site protocol (or listener kind) outside what this
 * build knows is refused at its field; one being built is kept but warned about as not available
 * (and reported per site in the API, web UI and MQTT). GRE sites' own rules are here too.
 */
import { greInterfaceName, otherEnd, sameNetwork, splitAddress } from '../gre/gre-site-settings.ts';
import { LISTENER_KINDS, listenerAvailability, siteProtocolAvailability } from '../sites/availability.ts';
import { parseIp } from '../util/ip.ts';
import type { ConfigIssue, ListenerName, PosternConfig, SiteConfig } from './types.ts';

type Report = (path: string, code: string, message: string) => void;

export function siteProtocolErrors(config: PosternConfig): ConfigIssue[] {
  const errors: ConfigIssue[] = [];
  const error: Report = (path, code, message) => errors.push({ path, code, message });
  config.sites.forEach((s, i) => {
    if (siteProtocolAvailability(s.protocol) === undefined) error(`sites[${i}].protocol`, 'unsupported', `'${String(s.protocol)}' is not a protocol this build knows`);
    if (s.gre && s.protocol !== 'gre') error(`sites[${i}].gre`, 'unsupported', 'only GRE sites have GRE tunnel settings');
    if (s.protocol === 'gre') greSiteErrors(s, `sites[${i}]`, error);
    // IKEv2, SSTP and PPTP sites find a peer named by DNS; IKEv1 (and L2TP's IKEv1 under it) keys by address.
    if ((s.protocol === 'ikev1' || s.protocol === 'l2tp') && !parseIp(s.remote)) error(`sites[${i}].remote`, 'format', `an ${s.protocol === 'ikev1' ? 'IKEv1' : 'L2TP/IPsec'} site's remote gateway must be an IP address (IKEv1 Main Mode keys by the peer's address)`);
    // Issue 24: what has no IPv6 transport is refused at the field, not at the first dial (L2TP/IPsec has one).
    const family = parseIp(s.remote)?.family;
    if (s.protocol === 'pptp' && family === 6) error(`sites[${i}].remote`, 'unsupported', "PPTP runs over IPv4 only (Windows and pptp-linux too): give the peer's IPv4 address or a name with one");
  });
  for (const kind of Object.keys(config.listeners)) {
    if (listenerAvailability(kind) === undefined) error(`listeners.${kind}`, 'unsupported', `'${kind}' is not a listener this build knows`);
  }
  greCollisions(config.sites, error);
  return errors;
}

/** Kept but not run: each enabled site or listener of a protocol being built. */
export function unavailableWarnings(config: PosternConfig): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  config.sites.forEach((s, i) => {
    const a = siteProtocolAvailability(s.protocol);
    if (s.enabled && a && !a.runs) warnings.push({ path: `sites[${i}].protocol`, code: 'unavailable', message: a.reason });
  });
  for (const kind of Object.keys(LISTENER_KINDS) as ListenerName[]) {
    const a = LISTENER_KINDS[kind];
    if (config.listeners[kind]?.enabled && !a.runs) warnings.push({ path: `listeners.${kind}.enabled`, code: 'unavailable', message: a.reason });
  }
  return warnings;
}

function greSiteErrors(s: SiteConfig, at: string, error: Report): void {
  if (parseIp(s.remote)?.family !== 4) error(`${at}.remote`, 'format', "a GRE site's remote gateway must be an IPv4 address (GRE has no handshake to find it by name)");
  const gre = s.gre;
  if (!gre) return error(`${at}.gre`, 'required', 'a GRE site needs its tunnel address (gre.address, e.g. 10.255.0.1/30)');
  const own = splitAddress(gre.address);
  if (!own) return;
  if (own.prefixLength === 32) error(`${at}.gre.address`, 'format', 'needs the link prefix length (/30 or /31 usually), not /32');
  if (gre.peerAddress === undefined) {
    if (own.prefixLength < 32 && !otherEnd(own.address, own.prefixLength)) {
      error(`${at}.gre.peerAddress`, 'required', own.prefixLength === 30 || own.prefixLength === 31 ? `${own.address} is not a host address of its /${String(own.prefixLength)}` : 'give the peer\'s tunnel address: it is derived only on a /30 or /31');
    }
  } else if (gre.peerAddress === own.address) error(`${at}.gre.peerAddress`, 'conflict', 'is this end\'s own tunnel address');
  else if (!sameNetwork(own.address, gre.peerAddress, own.prefixLength)) error(`${at}.gre.peerAddress`, 'reference', `is outside ${gre.address}`);
}

/**
 * Interface names must differ after `gre-` and the cut to 15 bytes; and, since the data plane tells
 * sites apart by the peer's address and the key, no two enabled GRE sites to one peer may share a
 * key (or both have none).
 */
function greCollisions(sites: readonly SiteConfig[], error: Report): void {
  const names = new Map<string, number>();
  const keys = new Map<string, number>();
  const protectedPeers = new Map<string, number>();
  sites.forEach((s, i) => {
    if (s.protocol !== 'gre' || !s.enabled) return;
    // One transport SA carries all GRE between two WAN addresses: a second protected site to that peer would key the same selectors again.
    const protectedSibling = s.gre?.ipsec === true ? protectedPeers.get(s.remote) : undefined;
    if (protectedSibling !== undefined) error(`sites[${i}].gre.ipsec`, 'duplicate', `sites[${protectedSibling}] already protects GRE to ${s.remote} with IPsec: one GRE-over-IPsec site per peer`);
    else if (s.gre?.ipsec === true) protectedPeers.set(s.remote, i);
    const name = greInterfaceName(s.name);
    const other = names.get(name);
    if (other !== undefined) error(`sites[${i}].name`, 'duplicate', `its interface would be ${name}, as sites[${other}]'s: make the first ${String(15 - 4)} characters differ`);
    else names.set(name, i);
    const key = s.gre?.key === undefined ? 'none' : String(s.gre.key);
    const sharing = keys.get(`${s.remote} ${key}`);
    if (sharing !== undefined) error(`sites[${i}].gre.key`, 'duplicate', key === 'none' ? `sites[${sharing}] has no key either: with two GRE sites to ${s.remote}, give each its own key` : `is also sites[${sharing}]'s key to ${s.remote}: each GRE site to one peer needs its own`);
    else keys.set(`${s.remote} ${key}`, i);
  });
}
