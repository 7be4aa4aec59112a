/**
 * Routing mistakes that validate field by field but break networks (issue 17): a remote network that
 * is also a local one, a client pool or another site's, a pool on the LAN, a WAN on the LAN. Each is
 * reported at the later of the two fields, naming the other and saying what would go wrong.
 * Also the interfaces the configuration names that the box does not have (warnings: hardware may
 * come later). Pure: the box's interfaces come in as an argument.
 */
import { parseIp, parsePrefix } from '../util/ip.ts';
import type { ConfigIssue, PosternConfig } from './types.ts';

interface Net {
  readonly text: string;
  readonly family: 4 | 6;
  readonly first: bigint;
  readonly last: bigint;
}

/** The network of an address or prefix ("192.168.1.1/24" → 192.168.1.0-192.168.1.255). */
export function network(text: string): Net | undefined {
  const p = typeof text === 'string' ? parsePrefix(text) : undefined;
  if (!p) return undefined;
  const bits = BigInt(p.bytes.length * 8);
  const value = BigInt(`0x${p.bytes.toString('hex')}`);
  const size = 1n << (bits - BigInt(p.length));
  const first = value - (value % size);
  return { text, family: p.family, first, last: first + size - 1n };
}

/** How `a` relates to `b` in words, or undefined when they do not overlap. */
export function overlapWords(a: Net, b: Net): string | undefined {
  if (a.family !== b.family || a.last < b.first || b.last < a.first) return undefined;
  if (a.first === b.first && a.last === b.last) return 'is the same network as';
  if (a.first >= b.first && a.last <= b.last) return 'lies inside';
  if (b.first >= a.first && b.last <= a.last) return 'contains';
  return 'overlaps';
}

/** A network with where it comes from, for messages. */
interface Named {
  readonly net: Net;
  readonly what: string;
}

const netsOf = (list: unknown, what: (i: number) => string): Named[] =>
  (Array.isArray(list) ? list : []).flatMap((text: unknown, i) => {
    const net = typeof text === 'string' ? network(text) : undefined;
    return net ? [{ net, what: what(i) }] : [];
  });

/** The LAN's network and the client pools, named for messages. */
function localNets(config: PosternConfig): { lan: Named[]; pools: Named[] } {
  const lan = network(config.system.lan.address);
  return {
    lan: lan ? [{ net: lan, what: `the LAN (system.lan.address ${config.system.lan.address})` }] : [],
    pools: config.pools.flatMap((p, i) => {
      const net = network(p.ipv4);
      return net ? [{ net, what: `the client pool '${p.name}' (pools[${i}].ipv4 ${p.ipv4})` }] : [];
    }),
  };
}

export function networkOverlapErrors(config: PosternConfig): ConfigIssue[] {
  const errors: ConfigIssue[] = [];
  const error = (path: string, message: string) => errors.push({ path, code: 'overlap', message });
  const { lan, pools } = localNets(config);
  pools.forEach((pool, i) => {
    for (const other of lan) {
      const how = overlapWords(pool.net, other.net);
      if (how) error(`pools[${i}].ipv4`, `${pool.net.text} ${how} ${other.what}: clients would get addresses the LAN already uses, and replies to them would stay on the LAN`);
    }
  });
  const { wan: w, lan: l } = config.system;
  const wan = w.mode === 'static' && w.address !== undefined ? network(w.address) : undefined;
  const how = wan && lan[0] ? overlapWords(wan, lan[0].net) : undefined;
  if (how) error('system.wan.address', `${w.address as string} ${how} the LAN (system.lan.address ${l.address}): the WAN and the LAN must be different networks, or the gateway cannot tell where to send packets`);
  if (wan && typeof w.gateway === 'string' && parseIp(w.gateway) && !inside(w.address as string, w.gateway)) {
    errors.push({ path: 'system.wan.gateway', code: 'unreachable', message: `${w.gateway} is not in the WAN's network (system.wan.address ${w.address as string}): the upstream router must be directly reachable` });
  }
  errors.push(...remoteNetworkIssues(config, lan, pools).filter((e) => e.code === 'overlap'));
  return errors;
}

/** Remote networks that contain local ones: they work, but say so where they are set; a pool's DNS server inside the pool. */
export function networkOverlapWarnings(config: PosternConfig): ConfigIssue[] {
  const { lan, pools } = localNets(config);
  return [...remoteNetworkIssues(config, lan, pools).filter((w) => w.code === 'supernet'), ...poolDnsInsidePool(config), ...pppPoolsWithoutSlash64s(config)];
}

/**
 * Issue 20: a PPP session gets a /64 of its own from a pool whose IPv6 prefix is /63 or shorter; a
 * /64 or longer one has none to spare, so its PPP clients keep one /128 each and Windows' temporary
 * addresses (RFC 8981) are dropped. It still works (IKEv2 takes /128s anyway): a warning, where an
 * enabled SSTP, L2TP or PPTP listener draws on the pool.
 */
function pppPoolsWithoutSlash64s(config: PosternConfig): ConfigIssue[] {
  const l = config.listeners;
  const ppp = new Set([l.sstp, l.l2tp, l.pptp].flatMap((x) => (x?.enabled ? [x.pool] : [])));
  return config.pools.flatMap((p, i) => {
    const length = p.ipv6 === undefined || !ppp.has(p.name) ? undefined : parsePrefix(p.ipv6)?.length;
    return length !== undefined && length >= 64 && parseIp(p.ipv6!.split('/')[0]!)?.family === 6
      ? [{ path: `pools[${i}].ipv6`, code: 'no-slash64-per-session', message: `a /${length} gives each SSTP, L2TP or PPTP client one /128, so Windows' temporary IPv6 addresses are dropped; a /56 or /48 (any /63 or shorter) gives each PPP session a /64 of its own` }]
      : [];
  });
}

/** A DNS server inside its own pool is an address the pool hands to a client: the clients would ask one another. */
function poolDnsInsidePool(config: PosternConfig): ConfigIssue[] {
  return config.pools.flatMap((p, i) => {
    const pool = network(p.ipv4);
    return (p.dns ?? []).flatMap((dns, j) => {
      const at = network(dns);
      return pool && at && overlapWords(at, pool) ? [{ path: `pools[${i}].dns[${j}]`, code: 'inside-pool', message: `${dns} is inside the pool ${p.ipv4}: the pool hands it to a client, so DNS queries would go to that client; name a DNS server on the LAN or beyond` }] : [];
    });
  });
}

/**
 * A remote network equal to or inside a local network or a pool, or equal to another site's remote
 * network, can never be reached (error). Nested ones are how a head office takes 0.0.0.0/0 or
 * 10.0.0.0/8 beside more specific networks: they work (the longest prefix wins), so they are only a
 * warning (code 'supernet').
 */
function remoteNetworkIssues(config: PosternConfig, lan: readonly Named[], pools: readonly Named[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen: Named[] = [];
  config.sites.forEach((site, i) => {
    const locals = [...lan, ...netsOf(site.localSubnets, (k) => `this site's local network sites[${i}].localSubnets[${k}]`)];
    // strict: a remote network inside one of these is unreachable; between sites only equality is.
    const groups: Array<{ nets: readonly Named[]; why: string; strict: boolean }> = [
      { nets: locals, why: 'a remote network must be on the other side of the tunnel, or traffic for it never leaves this side', strict: true },
      { nets: pools, why: 'replies to VPN clients would be sent into the tunnel', strict: true },
      { nets: seen, why: 'two tunnels cannot both route the same addresses', strict: false },
    ];
    netsOf(site.remoteSubnets, (j) => `the remote network of site '${site.name}' (sites[${i}].remoteSubnets[${j}])`).forEach((remote, j) => {
      const path = `sites[${i}].remoteSubnets[${j}]`;
      const hits = groups.flatMap((g) => g.nets.flatMap((c) => {
        const how = overlapWords(remote.net, c.net);
        return how ? [{ c, how, g }] : [];
      }));
      const wrong = hits.find((h) => h.how === 'is the same network as' || h.how === 'overlaps' || (h.how === 'lies inside' && h.g.strict));
      const wide = hits[0];
      if (wrong) issues.push({ path, code: 'overlap', message: `${remote.net.text} ${wrong.how} ${wrong.c.what}: ${wrong.g.why}` });
      else if (wide) issues.push({ path, code: 'supernet', message: `${remote.net.text} ${wide.how} ${wide.c.what}: the more specific network wins for its addresses, the rest goes the other way` });
      seen.push(remote);
    });
  });
  return issues;
}

/** The box's network interfaces, by name. Where they come from is the caller's (tests fix them). */
export interface BoxContext {
  readonly interfaces?: readonly string[];
}

/** WAN and LAN interfaces that are not on the box now: warnings, since a USB adapter may come later. */
export function missingInterfaceWarnings(config: PosternConfig, interfaces: readonly string[]): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  const known = interfaces.length ? interfaces.join(', ') : 'none';
  for (const role of ['wan', 'lan'] as const) {
    const name = config.system[role].interface;
    if (typeof name === 'string' && !interfaces.includes(name)) {
      warnings.push({ path: `system.${role}.interface`, code: 'missing', message: `there is no interface '${name}' on this box now (it has: ${known}); the ${role.toUpperCase()} stays down until it appears` });
    }
  }
  return warnings;
}

/** Whether `address` is inside the network of `prefix` (same family). */
export function inside(prefix: string, address: string): boolean {
  const net = network(prefix);
  const ip = parseIp(address);
  if (!net || !ip || ip.family !== net.family) return false;
  const v = BigInt(`0x${ip.bytes.toString('hex')}`);
  return v >= net.first && v <= net.last;
}
