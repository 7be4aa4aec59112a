// A site's DHCP and DNS server in a lab namespace (dnsmasq), and a box's DHCP client (busybox udhcpc)
// for issue 26's broker discovery: a site-specific DHCP option naming the broker, the domain (option 15)
// and the DNS server, and SRV records under that domain. udhcpc keeps no lease file: its script writes
// one as systemd-networkd does (`OPTION_<code>=<hex>`, what firmware/fleet/dhcp-broker-option.ts reads)
// and the client namespace's own resolv.conf (`ip netns exec` mounts /etc/netns/<ns>/resolv.conf over
// /etc/resolv.conf; the host's is never written).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandResult } from '../command.ts';
import type { Daemon, Lab } from '../topology.ts';
import { waitUntil } from './wait.ts';

export interface DhcpDnsSpec {
  /** The server's address and interface (on the client's link). */
  readonly address: string;
  readonly interface: string;
  /** The pool, inside the link's /24. */
  readonly range: readonly [string, string];
  /** Option 15 and the zone answered locally (nothing is forwarded anywhere). */
  readonly domain: string;
  /** Site-specific options (224-254) as text. */
  readonly textOptions?: Readonly<Record<number, string>>;
  /** A records. */
  readonly hosts?: Readonly<Record<string, string>>;
  readonly srv?: ReadonlyArray<{ readonly name: string; readonly target: string; readonly port: number; readonly priority: number; readonly weight: number }>;
}

export interface DhcpDns {
  readonly daemon: Daemon;
  log(): string;
}

export async function startDhcpDns(lab: Lab, host: string, spec: DhcpDnsSpec): Promise<DhcpDns> {
  const dir = lab.subdir('dnsmasq');
  const argv = [
    // A log file of its own: written as it goes (to a pipe, dnsmasq's log comes only at its exit).
    'dnsmasq', '--keep-in-foreground', `--log-facility=${join(dir, 'dnsmasq.log')}`, '--log-dhcp', '--log-queries', '--conf-file=/dev/null',
    '--no-resolv', '--no-hosts', '--no-poll', '--user=root', '--bind-interfaces', `--interface=${spec.interface}`, `--listen-address=${spec.address}`,
    `--pid-file=${join(dir, 'dnsmasq.pid')}`, `--dhcp-leasefile=${join(dir, 'leases')}`, '--dhcp-authoritative',
    `--dhcp-range=${spec.range[0]},${spec.range[1]},255.255.255.0,10m`, `--domain=${spec.domain}`, `--local=/${spec.domain}/`,
    `--dhcp-option=option:domain-name,${spec.domain}`, `--dhcp-option=option:dns-server,${spec.address}`,
    // No quotes on the command line (dnsmasq would send them): text with letters is taken as a string.
    ...Object.entries(spec.textOptions ?? {}).map(([code, text]) => `--dhcp-option=${code},${text}`),
    ...Object.entries(spec.hosts ?? {}).map(([name, address]) => `--host-record=${name},${address}`),
    ...(spec.srv ?? []).map((r) => `--srv-host=${r.name},${r.target},${r.port},${r.priority},${r.weight}`),
  ];
  const daemon = lab.spawnDaemon(host, 'dnsmasq', argv);
  const text = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  const log = () => text(daemon.logFile) + text(join(dir, 'dnsmasq.log'));
  let exited = false;
  void daemon.exited.then(() => (exited = true));
  await waitUntil('dnsmasq started', 10_000, () => {
    if (exited) throw new Error(`dnsmasq exited: ${log()}`);
    return /DHCP, IP range/.test(log());
  }, log);
  return { daemon, log };
}

const UDHCPC_SCRIPT = `#!/bin/sh
# busybox udhcpc's hook: the address on the interface; the lease as systemd-networkd writes one (udhcpc
# keeps none), with the site-specific option; the namespace's resolv.conf.
case "$1" in
  deconfig) ip -4 addr flush dev "$interface" ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    eval "option=\\$opt$POSTERN_OPTION"
    { echo "ADDRESS=$ip"; echo "DOMAINNAME=$domain"; [ -n "$option" ] && echo "OPTION_$POSTERN_OPTION=$option"; } > "$POSTERN_LEASE.new"
    mv "$POSTERN_LEASE.new" "$POSTERN_LEASE"
    { [ -n "$domain" ] && echo "search $domain"; for s in $dns; do echo "nameserver $s"; done; } > "$POSTERN_RESOLV"
    ;;
esac
`;

/**
 * The namespace's own resolv.conf (made empty, for the DHCP client to fill); removed by the returned
 * function. Made before anything that should read it starts: `ip netns exec` mounts it at each start.
 */
export function namespaceResolvConf(lab: Lab, host: string): { readonly path: string; readonly remove: () => void } {
  const dir = join('/etc/netns', lab.ns(host));
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'resolv.conf');
  writeFileSync(path, '');
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One DHCP exchange by udhcpc on `iface` (asking for `option` too), its script writing `leaseFile` and `resolvConf`. */
export async function dhcpClient(lab: Lab, host: string, iface: string, o: { readonly option: number; readonly leaseFile: string; readonly resolvConf: string }): Promise<CommandResult> {
  const script = join(lab.subdir('udhcpc'), 'udhcpc.sh');
  writeFileSync(script, UDHCPC_SCRIPT, { mode: 0o755 });
  // -q: quit once bound (the lab needs the one lease); -n: fail rather than keep trying; bounded tries.
  return lab.exec(host, ['env', `POSTERN_OPTION=${o.option}`, `POSTERN_LEASE=${o.leaseFile}`, `POSTERN_RESOLV=${o.resolvConf}`,
    'busybox', 'udhcpc', '-i', iface, '-f', '-q', '-n', '-t', '5', '-T', '2', '-O', String(o.option), '-s', script], 20_000);
}
