import type { NetworkInterfaceInfo } from 'node:os';
import type { BoardProfile } from '../board/types.ts';
import type { PosternConfig } from '../config/types.ts';

/**
 * Which interface is the WAN and which the LAN, and the WAN's addresses: the one place every listener,
 * the API and the telemetry ask (issue 18). Pure: the box's interfaces and its default route come in
 * as arguments, so the rules are tested without a network.
 *
 * The configuration names the interfaces (the board profile presets those names at first boot). When
 * the configured WAN is not on the box, the board's WAN is taken if present, then the interface the
 * default route leaves by: a box whose uplink is not `eth0` still finds its WAN, and says where the
 * name came from.
 */

export type RoleSource = 'config' | 'board' | 'default-route' | 'missing';

export interface ResolvedInterface {
  readonly name: string;
  readonly source: RoleSource;
}

export interface InterfaceRoles {
  readonly wan: ResolvedInterface;
  readonly lan: ResolvedInterface;
}

/** What the box has now: node:os networkInterfaces() and the default route's interface. */
export interface InterfaceSnapshot {
  readonly interfaces: Readonly<Record<string, readonly NetworkInterfaceInfo[] | undefined>>;
  readonly defaultRoute?: string | undefined;
}

export function resolveInterfaceRoles(system: PosternConfig['system'], board: BoardProfile | undefined, box: InterfaceSnapshot): InterfaceRoles {
  const present = (name: string | undefined): name is string => name !== undefined && box.interfaces[name] !== undefined;
  const pick = (configured: string, fromBoard: string | undefined, fallback: string | undefined): ResolvedInterface => {
    if (present(configured)) return { name: configured, source: 'config' };
    if (present(fromBoard)) return { name: fromBoard, source: 'board' };
    if (present(fallback)) return { name: fallback, source: 'default-route' };
    return { name: configured, source: 'missing' };
  };
  const boardWan = board?.interfaces.find((i) => i.role === 'wan')?.name;
  const boardLan = board?.interfaces.find((i) => i.role === 'lan')?.name;
  const wan = pick(system.wan.interface, boardWan, box.defaultRoute);
  // The LAN never falls back to the default route: that is the uplink.
  const lan = pick(system.lan.interface, boardLan === wan.name ? undefined : boardLan, undefined);
  return { wan, lan };
}

export interface WanAddresses {
  /** The WAN interface these belong to. */
  readonly interface: string;
  /** IPv4 addresses, the configured static one first; the first is the one listeners bind. */
  readonly ipv4: readonly string[];
  /** Global IPv6 addresses (no link-local), for the status report. */
  readonly ipv6: readonly string[];
}

/**
 * The WAN's addresses now: a static configuration's address when the interface carries it (or when the
 * box cannot be asked), else whatever the interface has (DHCP, PPPoE).
 */
export function wanAddresses(system: PosternConfig['system'], wan: ResolvedInterface, box: InterfaceSnapshot): WanAddresses {
  const infos = box.interfaces[wan.name] ?? [];
  const ipv4 = infos.filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address);
  const ipv6 = infos.filter((a) => a.family === 'IPv6' && !a.internal && !a.address.toLowerCase().startsWith('fe80:')).map((a) => a.address);
  const configured = system.wan.address?.split('/')[0];
  if (system.wan.mode === 'static' && configured) {
    // The configured address leads; a missing interface still gives it, as before (a static box binds it).
    return { interface: wan.name, ipv4: [configured, ...ipv4.filter((a) => a !== configured)], ipv6 };
  }
  return { interface: wan.name, ipv4, ipv6 };
}

/** The address a WAN listener binds: the first IPv4 one, undefined while the WAN has none (DHCP pending). */
export const primaryWanAddress = (addresses: WanAddresses): string | undefined => addresses.ipv4[0];

/**
 * The IPv6 address a WAN listener binds beside it (issue 24: DS-Lite and CGNAT leave IPv6 the only way
 * in): the first global one, undefined without. Unique local addresses (fc00::/7) count: a lab or a
 * provider's NPTv6 may give nothing else.
 */
export const primaryWanAddress6 = (addresses: WanAddresses): string | undefined => addresses.ipv6[0];

/** The first configuration of a fresh box: the board's WAN and LAN names instead of eth0/eth1. */
export function presetInterfaces(config: PosternConfig, board: BoardProfile | undefined, options: { managementOnLan?: boolean } = {}): PosternConfig {
  const wan = board?.interfaces.find((i) => i.role === 'wan')?.name;
  const lan = board?.interfaces.find((i) => i.role === 'lan')?.name;
  // On the firmware the web UI must be reachable from the office LAN at first boot (never from the WAN);
  // a developer's `make run` keeps loopback.
  const lanAddress = config.system.lan.address.split('/')[0]!;
  return {
    ...config,
    system: {
      ...config.system,
      wan: { ...config.system.wan, ...(wan ? { interface: wan } : {}) },
      lan: { ...config.system.lan, ...(lan ? { interface: lan } : {}) },
      ...(options.managementOnLan ? { management: { ...config.system.management, listen: lanAddress } } : {}),
    },
  };
}
