// `make bench`: the data plane against plain veth and strongSwan (kernel-libipsec) on the same
// topology, same machine, same run. One line per path and measure, then the ratios.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { iperf3, type IperfOptions } from '../lab/peers/iperf3.ts';
import { makeOpenVpnPki, OpenVpn } from '../lab/peers/openvpn.ts';
import { mirroredPeers, PosternDp, routeLansThroughTunnel } from '../lab/peers/postern-dp.ts';
import { StrongSwan } from '../lab/peers/strongswan.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 30);

/** Busy CPU seconds of the whole machine (both tunnel ends share it), from /proc/stat. */
function cpuSeconds(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return (fields.reduce((a, b) => a + b, 0) - idle) / 100;
}

interface Figures { tcp1: number; tcp4: number; cpuPerGb: number; lossAt1G: number; socketLossAt1G: number; lossAt1GDefaultBuffer: number; pps64: number }

/** The receiving host's UDP counters (its namespace's /proc/net/snmp): datagrams taken, and dropped for a full socket buffer. */
function udpCounters(lab: Lab, host: string): { inDatagrams: number; rcvbufErrors: number } {
  const lines = lab.execSync(host, ['cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Udp: '));
  const [names = [], values = []] = lines.map((l) => l.trim().split(/\s+/));
  const value = (name: string) => Number(values[names.indexOf(name)] ?? 0);
  return { inDatagrams: value('InDatagrams'), rcvbufErrors: value('RcvbufErrors') };
}

async function measure(lab: Lab): Promise<Figures> {
  const server = { host: 'lanB', address: '10.2.0.10' };
  const run = (o: IperfOptions) => iperf3(lab, server, 'lanA', { seconds: SECONDS, ...o });
  const before = cpuSeconds();
  const tcp1 = await run({});
  const cpu = cpuSeconds() - before;
  const gb = (tcp1.mbitPerSecond * SECONDS) / 8 / 1000;
  const tcp4 = await run({ streams: 4 });
  // Loss at 1 Gbit/s, and how much of it the receiving iperf3's socket buffer took rather than the
  // path: the tunnel's own share is the difference. Every path gets a 4 MB receive buffer: with
  // both gateways and both iperf3 ends on the same two cores, the receiver waits milliseconds for
  // a core, longer than the default 208 KB holds at 1 Gbit/s. The default is measured too.
  const udpDefault = await run({ udpBandwidth: '1G', length: 1300 });
  const udpBefore = udpCounters(lab, server.host);
  const udp1g = await run({ udpBandwidth: '1G', length: 1300, window: '4M' });
  const udpAfter = udpCounters(lab, server.host);
  // iperf3 counts what the client sent (S) and lost (L %); the receiver took In datagrams, so S = In / (1 − L).
  const taken = udpAfter.inDatagrams - udpBefore.inDatagrams;
  const sent = taken / Math.max(1e-9, 1 - udp1g.lostPercent / 100);
  const socketLoss = sent > 0 ? Math.min(udp1g.lostPercent, ((udpAfter.rcvbufErrors - udpBefore.rcvbufErrors) / sent) * 100) : 0;
  const small = await run({ udpBandwidth: '0', length: 64 });
  return { tcp1: tcp1.mbitPerSecond, tcp4: tcp4.mbitPerSecond, cpuPerGb: gb > 0 ? cpu / gb : 0, lossAt1G: udp1g.lostPercent, socketLossAt1G: socketLoss, lossAt1GDefaultBuffer: udpDefault.lostPercent, pps64: small.packetsPerSecond };
}

async function withLab<T>(work: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = Lab.create(twoSitesDirect);
  try {
    return await work(lab);
  } finally {
    lab.teardown();
  }
}

async function startPostern(lab: Lab, framing: 'esp' | 'esp-udp'): Promise<void> {
  const { a, b } = mirroredPeers({ aAddress: '192.0.2.1', bAddress: '192.0.2.2', framing });
  await Promise.all([PosternDp.start(lab, 'gwA', a), PosternDp.start(lab, 'gwB', b)]);
  routeLansThroughTunnel(lab);
}

const paths: Record<string, (lab: Lab) => Promise<void>> = {
  veth: async (lab) => {
    lab.execSync('gwA', ['ip', 'route', 'add', '10.2.0.0/24', 'via', '192.0.2.2']);
    lab.execSync('gwB', ['ip', 'route', 'add', '10.1.0.0/24', 'via', '192.0.2.1']);
  },
  'strongswan-libipsec-aes-gcm-128': async (lab) => {
    const site = (l: string, r: string, la: string, ra: string, lt: string, rt: string) => ({
      localAddrs: [la], remoteAddrs: [ra], proposals: ['aes128gcm16-prfsha256-ecp256'],
      local: { auth: 'psk' as const, id: l }, remote: { auth: 'psk' as const, id: r },
      children: { net: { localTs: [lt], remoteTs: [rt], espProposals: ['aes128gcm16'] } },
    });
    const secrets = [{ kind: 'ike' as const, ids: ['gwA', 'gwB'], secret: randomBytes(16).toString('hex') }];
    const [a] = await Promise.all([
      StrongSwan.start(lab, 'gwA', { connections: { s: site('gwA', 'gwB', '192.0.2.1', '192.0.2.2', '10.1.0.0/24', '10.2.0.0/24') }, secrets }),
      StrongSwan.start(lab, 'gwB', { connections: { s: site('gwB', 'gwA', '192.0.2.2', '192.0.2.1', '10.2.0.0/24', '10.1.0.0/24') }, secrets }),
    ]);
    const up = await a.initiate('net');
    if (up.code !== 0) throw new Error(`strongSwan did not come up: ${a.log()}`);
  },
  'openvpn-2.6-aes-256-gcm': async (lab) => {
    const pki = lab.subdir('pki');
    makeOpenVpnPki(pki);
    const server = OpenVpn.start(lab, 'gwB', { role: 'server', local: '192.0.2.2', remote: '192.0.2.1', ifconfig: ['10.254.0.2', '10.254.0.1'], routes: ['10.1.0.0 255.255.255.0'], pki });
    const client = OpenVpn.start(lab, 'gwA', { role: 'client', local: '192.0.2.1', remote: '192.0.2.2', ifconfig: ['10.254.0.1', '10.254.0.2'], routes: ['10.2.0.0 255.255.255.0'], pki });
    await Promise.all([server.ready(), client.ready()]);
  },
  'postern-esp-aes-gcm-128': (lab) => startPostern(lab, 'esp'),
  'postern-esp-udp-aes-gcm-128': (lab) => startPostern(lab, 'esp-udp'),
};

const results: Record<string, Figures> = {};
// BENCH_PATHS=veth,postern-esp-udp-aes-gcm-128 measures only those (comparing a change quickly).
const only = process.env['BENCH_PATHS']?.split(',').filter(Boolean);
for (const [name, setUp] of Object.entries(paths).filter(([n]) => !only || only.includes(n))) {
  try {
    results[name] = await withLab(async (lab) => {
      await setUp(lab);
      return measure(lab);
    });
  } catch (error) {
    // One peer failing must not cost the other measurements.
    console.log(`bench dataplane ${name} failed: ${(error as Error).message.split('\n')[0]}`);
    process.exitCode = 1;
    continue;
  }
  const f = results[name] as Figures;
  console.log(`bench dataplane ${name} ${f.tcp1.toFixed(0)} ${f.cpuPerGb.toFixed(2)} ${f.lossAt1G.toFixed(2)}`);
  console.log(`bench dataplane-detail ${name} tcp4=${f.tcp4.toFixed(0)}Mbit/s udp64=${(f.pps64 / 1000).toFixed(0)}kpps udp1g-loss-at-receiving-socket=${f.socketLossAt1G.toFixed(2)}% in-path=${Math.max(0, f.lossAt1G - f.socketLossAt1G).toFixed(2)}% udp1g-loss-with-default-buffer=${f.lossAt1GDefaultBuffer.toFixed(2)}%`);
}
const posternRaw = results['postern-esp-aes-gcm-128'];
const postern = results['postern-esp-udp-aes-gcm-128'];
const swan = results['strongswan-libipsec-aes-gcm-128'];
const veth = results['veth'];
if (postern && swan && veth) {
  console.log(`bench ratio postern/strongswan tcp1=${(postern.tcp1 / swan.tcp1).toFixed(2)} tcp4=${(postern.tcp4 / swan.tcp4).toFixed(2)} pps64=${(postern.pps64 / swan.pps64).toFixed(2)}`);
  console.log(`bench ratio postern/veth tcp1=${(postern.tcp1 / veth.tcp1).toFixed(3)}`);
  if (posternRaw) console.log(`bench ratio postern-raw-esp/strongswan tcp1=${(posternRaw.tcp1 / swan.tcp1).toFixed(2)}`);
  const ovpn = results['openvpn-2.6-aes-256-gcm'];
  if (ovpn) console.log(`bench ratio postern/openvpn tcp1=${(postern.tcp1 / ovpn.tcp1).toFixed(2)} tcp4=${(postern.tcp4 / ovpn.tcp4).toFixed(2)} pps64=${(postern.pps64 / ovpn.pps64).toFixed(2)}`);
}
console.log(`bench seconds-per-measure=${SECONDS} date=${new Date().toISOString()} cpus=${(await import('node:os')).cpus().length}`);
