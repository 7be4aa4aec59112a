// What installing an IKE child costs the gateway's main thread, without IKE around it (issue 23): CPU
// per child of DataPlaneInstaller.install on the shared TUN through the userspace back end (two
// driver SAs, two policies, the child's tunnel and its route), then of remove. Runs its own copy in a
// lab host (the hub needs a TUN); BENCH_IKE_INSTALL_COUNT children (default 5,000), in two halves so
// the second shows the cost once thousands are held. Prints `bench ike-install …` lines.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { PipeDispatcher } from '../../firmware/access/pipe-dispatcher.ts';
import { NativeHub } from '../../firmware/dataplane/native-hub.ts';
import { UserspaceDataPlane } from '../../firmware/dataplane/userspace.ts';
import type { ChildSaInfo } from '../../firmware/ike/engine/types.ts';
import { DataPlaneInstaller } from '../../firmware/ike/shell/dataplane-installer.ts';
import { DriverTransport } from '../../firmware/ike/shell/driver-transport.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { Secret } from '../../firmware/util/secret.ts';

const GATEWAY = '192.0.2.2';
const CLIENT = '192.0.2.1';

/** In the lab host: install and remove `count` children, one line per half. */
async function measure(count: number): Promise<void> {
  const transport = await DriverTransport.open(GATEWAY, () => {});
  const hub = NativeHub.open({ name: 'phub0', mtu: 1400, address: '10.2.0.1', prefixLength: 32 });
  const dataplane = new UserspaceDataPlane({ hub, pipe: new PipeDispatcher(hub), ...transport.dataplaneEndpoints(), tunnelAddress: '10.2.0.1', kernelRoute: () => {} });
  const installer = new DataPlaneInstaller({ log: createLogger({ level: 'warn', sink: () => {} }), dataplane });
  const key = () => new Secret(randomBytes(20));
  const children: ChildSaInfo[] = Array.from({ length: count }, (_, i) => ({
    ikeSpi: BigInt(i + 1), connection: 'ra', suite: 'aes-gcm-128', esn: false, mode: 'tunnel',
    inbound: { spi: 0x1000_0000 + i, source: CLIENT, destination: GATEWAY, encryption: key() },
    outbound: { spi: 0x2000_0000 + i, source: GATEWAY, destination: CLIENT, encryption: key() },
    localTs: ['10.2.0.0/24'], remoteTs: [`10.10.${(i >> 8) & 255}.${i & 255}/32`],
  }));
  const timed = (what: string, list: readonly ChildSaInfo[], step: (c: ChildSaInfo) => void) => {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    for (const c of list) step(c);
    const used = process.cpuUsage(cpu);
    process.stdout.write(`${what} ${((used.user + used.system) / list.length).toFixed(0)} ${(((performance.now() - wall) * 1000) / list.length).toFixed(0)}\n`);
  };
  const half = Math.floor(count / 2);
  timed('install-first', children.slice(0, half), (c) => installer.install(c));
  timed('install-second', children.slice(half), (c) => installer.install(c));
  process.stdout.write(`held ${dataplane.stats().tunnels}\n`);
  timed('remove', children, (c) => installer.remove(c));
  process.stdout.write('done\n');
}

if (process.argv[2]) {
  process.stdout.write('ready\n');
  await measure((JSON.parse(process.argv[2]) as { count: number }).count);
  process.exit(0);
} else {
  const { Lab } = await import('../lab/topology.ts');
  const { LinePeer } = await import('../lab/peers/line-peer.ts');
  const { twoSitesDirect } = await import('../lab/scenarios.ts');
  const count = Number(process.env['BENCH_IKE_INSTALL_COUNT'] ?? 5000);
  const lab = Lab.create(twoSitesDirect);
  try {
    const { peer } = await LinePeer.spawn(lab, 'gwB', 'ike-install', '../../bench/ike-install.ts', { count });
    const lines: string[] = [];
    for (let line = await peer.next(300_000); line !== 'done'; line = await peer.next(300_000)) lines.push(line);
    const figures = new Map(lines.map((l) => [l.split(' ')[0]!, l.split(' ').slice(1).map(Number)] as const));
    const line = (what: string, label: string) => {
      const [cpu, wall] = figures.get(what) ?? [NaN, NaN];
      console.log(`bench ike-install ${label} ${cpu} µs of CPU per child (${wall} µs wall; load average ${loadavg()[0]!.toFixed(1)})`);
    };
    line('install-first', `install (first ${Math.floor(count / 2)})`);
    line('install-second', `install (next ${count - Math.floor(count / 2)}, ${Math.floor(count / 2)} held)`);
    console.log(`bench ike-install held ${figures.get('held')?.[0]} tunnels on the shared TUN`);
    line('remove', `remove (all ${count})`);
  } finally {
    lab.teardown();
  }
}
