// FRR's OSPF (Debian's frr: zebra, ospfd and, for IPv6, ospf6d) in one lab namespace, as the routing daemon a branch
// router runs over its GRE interfaces (issue 25). Each instance has its own directory in the lab
// (configuration, PID files, the zebra API socket and the vty sockets), no TCP vty ports, and runs
// in the foreground as a lab daemon: the lab kills it with the namespace, the test may stop it first.
// The daemons run as Debian's frr user (its vty sockets belong to the frrvty group, which root is not
// in): their directory is frr's, and the lab directory above it is made traversable (not listable).
import { chmodSync, chownSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Daemon, Lab } from '../topology.ts';
import { waitUntil } from './wait.ts';

const FRR = '/usr/lib/frr';

export const hasFrr = (): boolean => existsSync(join(FRR, 'zebra')) && existsSync(join(FRR, 'ospfd'));

export interface OspfSpec {
  readonly routerId: string;
  /** Interfaces OSPF runs on as point-to-point links (a GRE site's gre-<site>): fast hellos, 1 s, dead after 4. */
  readonly pointToPoint: readonly string[];
  /** Interfaces only announced (the LAN), no hellos sent on them. */
  readonly passive: readonly string[];
  /** Networks in area 0: the tunnel's and the LAN's. */
  readonly networks: readonly string[];
  /** OSPFv3 (ospf6d) too, on the same interfaces (area 0; the point-to-point ones over their link-local addresses). */
  readonly ospf6?: boolean;
}

export interface FrrOspf {
  readonly dir: string;
  /** `vtysh -c <command>` against this instance. */
  vtysh(command: string): Promise<string>;
  /** The neighbours' states, e.g. ["Full/-"], from `show ip ospf neighbor json`. */
  neighborStates(): Promise<string[]>;
  /** OSPFv3's neighbours' states, e.g. ["Full"], from `show ipv6 ospf6 neighbor json`. */
  ospf6NeighborStates(): Promise<string[]>;
  stop(): Promise<void>;
}

export function ospfdConfig(spec: OspfSpec, logFile: string): string {
  return [
    'frr defaults traditional',
    `hostname ospf-${spec.routerId}`,
    `log file ${logFile}`,
    ...spec.pointToPoint.flatMap((i) => [`interface ${i}`, ' ip ospf network point-to-point', ' ip ospf hello-interval 1', ' ip ospf dead-interval 4', '!']),
    'router ospf',
    ` ospf router-id ${spec.routerId}`,
    ' log-adjacency-changes',
    ...spec.passive.map((i) => ` passive-interface ${i}`),
    ...spec.networks.map((n) => ` network ${n} area 0`),
    '!',
    '',
  ].join('\n');
}

export function ospf6dConfig(spec: OspfSpec, logFile: string): string {
  return [
    'frr defaults traditional',
    `hostname ospf6-${spec.routerId}`,
    `log file ${logFile}`,
    ...spec.pointToPoint.flatMap((i) => [`interface ${i}`, ' ipv6 ospf6 area 0', ' ipv6 ospf6 network point-to-point', ' ipv6 ospf6 hello-interval 1', ' ipv6 ospf6 dead-interval 4', '!']),
    ...spec.passive.flatMap((i) => [`interface ${i}`, ' ipv6 ospf6 area 0', ' ipv6 ospf6 passive', '!']),
    'router ospf6',
    ` ospf6 router-id ${spec.routerId}`,
    ' log-adjacency-changes',
    '!',
    '',
  ].join('\n');
}

export async function startFrrOspf(lab: Lab, host: string, spec: OspfSpec): Promise<FrrOspf> {
  const dir = lab.subdir(`frr-${host}`);
  const id = (flag: '-u' | '-g') => Number(execFileSync('id', [flag, 'frr'], { encoding: 'utf8' }).trim());
  chmodSync(lab.dir, statSync(lab.dir).mode | 0o111);
  writeFileSync(join(dir, 'zebra.conf'), `hostname zebra-${host}\nlog file ${join(dir, 'zebra-file.log')}\n`);
  writeFileSync(join(dir, 'ospfd.conf'), ospfdConfig(spec, join(dir, 'ospfd-file.log')));
  writeFileSync(join(dir, 'vtysh.conf'), '');
  if (spec.ospf6) writeFileSync(join(dir, 'ospf6d.conf'), ospf6dConfig(spec, join(dir, 'ospf6d-file.log')));
  for (const f of ['', 'zebra.conf', 'ospfd.conf', ...(spec.ospf6 ? ['ospf6d.conf'] : [])]) chownSync(join(dir, f), id('-u'), id('-g'));
  const common = (daemon: string) => ['-f', join(dir, `${daemon}.conf`), '-i', join(dir, `${daemon}.pid`), '-z', join(dir, 'zserv.api'), '--vty_socket', dir, '-P', '0', '-u', 'frr', '-g', 'frr'];
  const daemons: Daemon[] = [lab.spawnDaemon(host, `zebra-${host}`, [join(FRR, 'zebra'), ...common('zebra')])];
  await waitUntil(`zebra in ${host}`, 10_000, () => existsSync(join(dir, 'zserv.api')));
  daemons.push(lab.spawnDaemon(host, `ospfd-${host}`, [join(FRR, 'ospfd'), ...common('ospfd')]));
  await waitUntil(`ospfd in ${host}`, 10_000, () => existsSync(join(dir, 'ospfd.vty')));
  if (spec.ospf6) {
    daemons.push(lab.spawnDaemon(host, `ospf6d-${host}`, [join(FRR, 'ospf6d'), ...common('ospf6d')]));
    await waitUntil(`ospf6d in ${host}`, 10_000, () => existsSync(join(dir, 'ospf6d.vty')));
  }
  const vtysh = async (command: string) => (await lab.exec(host, ['vtysh', '--vty_socket', dir, '--config_dir', dir, '-c', command], 10_000)).stdout;
  return {
    dir,
    vtysh,
    async neighborStates() {
      try {
        const json = JSON.parse(await vtysh('show ip ospf neighbor json')) as { neighbors?: Record<string, Array<{ state?: string; nbrState?: string }>> };
        return Object.values(json.neighbors ?? {}).flat().map((n) => n.state ?? n.nbrState ?? '');
      } catch {
        return []; // not answering yet
      }
    },
    async ospf6NeighborStates() {
      try {
        const json = JSON.parse(await vtysh('show ipv6 ospf6 neighbor json')) as { neighbors?: Array<{ state?: string }> };
        return (json.neighbors ?? []).map((n) => n.state ?? '');
      } catch {
        return [];
      }
    },
    async stop() {
      for (const d of daemons.reverse()) {
        d.child.kill('SIGTERM');
        await Promise.race([d.exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
      }
    },
  };
}
