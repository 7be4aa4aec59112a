import type { Logger } from '../log/logger.ts';
import type { WanAddresses } from './interface-roles.ts';
import type { WanChange } from './wan-watch.ts';

/** What the service lets the WAN follower touch. */
export interface WanFollowers {
  readonly logger: Logger;
  restart(subsystem: string, why: string): Promise<boolean>;
  /** Where IKE and SSTP are bound now (undefined: not running). */
  ikeBound(): string | undefined;
  /** IKE's bound addresses by family (issue 24); absent: IPv4 only, as ikeBound. */
  ikeBoundBoth?(): { ipv4?: string; ipv6?: string };
  sstpBound(): string | undefined;
  /** SSTP's IPv6 address (issue 24); absent: not followed. */
  sstpBound6?(): string | undefined;
  /** Whether the subsystem runs (or waits) at all. */
  running(subsystem: string): boolean;
  event(type: 'wan-address-changed', details: Readonly<Record<string, unknown>>): void;
  reconnectTelemetry(): void;
}

/**
 * The WAN address changed (DHCP renewal with a new lease, PPPoE redial; issue 18). The change is an
 * event; listeners bound to the old address are bound again to the new one; IKE sites re-establish
 * from the new address (IKE restarts on it and dials its sites; the driver's endpoint is bound to one
 * address, so MOBIKE initiation under live tunnels is not used yet); SSTP, L2TP and PPTP sites redial; GRE
 * sites, the L2TP and PPTP listeners restart on the new address; MQTT reconnects.
 * Returns what it restarted, in order.
 */
export async function followWanChange(f: WanFollowers, change: WanChange, current: WanAddresses): Promise<string[]> {
  const details = { interface: change.interface, previous: change.previousPrimary ?? null, address: change.primary ?? null, added: change.added, removed: change.removed, ipv6: current.ipv6 };
  f.logger.info('WAN address changed', details);
  f.event('wan-address-changed', details);
  const primaryMoved = change.previousPrimary !== change.primary || change.interfaceChanged;
  const restarted: string[] = [];
  const why = `WAN address ${change.previousPrimary ?? 'none'} -> ${change.primary ?? 'none'}`;
  const ike = f.ikeBoundBoth?.() ?? { ...(f.ikeBound() ? { ipv4: f.ikeBound()! } : {}) };
  const ikeMoved = ike.ipv4 !== change.primary || (f.ikeBoundBoth !== undefined && ike.ipv6 !== change.primary6);
  if (f.running('ikev2') && ikeMoved && (await f.restart('ikev2', why))) restarted.push('ikev2');
  // SSTP on all addresses (started while the WAN had none) already answers on the new one: left alone.
  const sstpBound = f.sstpBound();
  const sstp6Moved = f.sstpBound6 !== undefined && f.sstpBound6() !== change.primary6;
  const sstp4Moved = sstpBound !== '0.0.0.0' && sstpBound !== (change.primary ?? '0.0.0.0');
  if (f.running('sstp') && (sstp4Moved || sstp6Moved) && (await f.restart('sstp', why))) restarted.push('sstp');
  if (primaryMoved && f.running('sstp-sites') && (await f.restart('sstp-sites', why))) restarted.push('sstp-sites');
  // GRE sites' sockets are bound to the WAN address, their packets leave from it (issue 25): started again on the new one.
  if (primaryMoved && f.running('gre-sites') && (await f.restart('gre-sites', why))) restarted.push('gre-sites');
  // L2TP and PPTP listen on the WAN address and their sites dial from it (issues 20, 22): their
  // sessions rode the old address and its IPsec, which IKE's restart ended; started again on the new one.
  for (const name of ['l2tp', 'l2tp-sites', 'pptp', 'pptp-sites']) if (primaryMoved && f.running(name) && (await f.restart(name, why))) restarted.push(name);
  if (primaryMoved) f.reconnectTelemetry();
  return restarted;
}
