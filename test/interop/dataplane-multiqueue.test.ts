// The shared TUN with several queues, each read by its own thread that seals with its own cipher
// contexts. Tunnels are given queues in turn and each tunnel's flows are taught to its queue, so
// four tunnels under load spread over the readers while every SA is sealed by one thread: no SA
// sees an authentication failure or a replay drop, one flow stays on one queue, and a rekey
// under load on every tunnel at once loses nothing to the SAs.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { PolicySpec, SaSpec } from '../../firmware/dataplane/types.ts';
import { isRoot } from '../lab/command.ts';
import { iperf3 } from '../lab/peers/iperf3.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(!isRoot() ? 'needs root' : false);
const A = '192.0.2.1';
const B = '192.0.2.2';
const QUEUES = 4;
const TUNNELS = [1, 2, 3, 4]; // reqid n carries 10.1.0.1n ⇄ 10.2.0.1n
const hostA = (n: number) => `10.1.0.1${n}`;
const hostB = (n: number) => `10.2.0.1${n}`;
const spiAB = (n: number, generation: number) => 0x1000_0000 + n * 0x100 + generation;
const spiBA = (n: number, generation: number) => 0x2000_0000 + n * 0x100 + generation;

type WireSa = Omit<SaSpec, 'keys' | 'lifetime'> & { keys: { encryption: string } };

const sa = (reqid: number, spi: number, source: string, destination: string, direction: 'in' | 'out', key: string): WireSa => ({
  spi, source, destination, direction, mode: 'tunnel', suite: 'aes-gcm-128', keys: { encryption: key }, esn: true,
  replayWindow: direction === 'in' ? 1024 : 0, reqid, encapsulation: { sourcePort: 4500, destinationPort: 4500 },
});

/** One generation of SAs for tunnel n, inbound first on both ends, then outbound. */
async function key(gwA: LinePeer, gwB: LinePeer, n: number, generation: number): Promise<void> {
  const kab = randomBytes(20).toString('hex');
  const kba = randomBytes(20).toString('hex');
  await Promise.all([gwA.call('addSa', sa(n, spiBA(n, generation), B, A, 'in', kba)), gwB.call('addSa', sa(n, spiAB(n, generation), A, B, 'in', kab))]);
  await Promise.all([gwA.call('addSa', sa(n, spiAB(n, generation), A, B, 'out', kab)), gwB.call('addSa', sa(n, spiBA(n, generation), B, A, 'out', kba))]);
}

const policies = (reqid: number, local: string, remote: string, me: string, peer: string): PolicySpec[] => [
  { source: { prefix: local }, destination: { prefix: remote }, direction: 'out', action: 'protect', priority: 100, template: { source: me, destination: peer, mode: 'tunnel', reqid } },
  { source: { prefix: remote }, destination: { prefix: local }, direction: 'in', action: 'protect', priority: 100, template: { source: peer, destination: me, mode: 'tunnel', reqid } },
];

const queueRx = async (gw: LinePeer): Promise<number[]> => (await gw.call('stats')).hub.queueRx as number[];
const delta = (after: number[], before: number[]) => after.map((x, i) => x - (before[i] ?? 0));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const inboundAtB = (gwB: LinePeer, n: number, generation: number) => gwB.call('querySa', { spi: spiAB(n, generation), destination: B });
const loadAll = (lab: Lab, seconds: number, port: number) =>
  Promise.all(TUNNELS.map((n) => iperf3(lab, { host: 'lanB', address: hostB(n) }, 'lanA', { seconds, streams: 4, port: port + n, bind: hostA(n) })));

t.test(`multi-queue shared TUN (${QUEUES} queues, ${TUNNELS.length} tunnels): tunnels spread, every SA sealed whole`, { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  for (const n of TUNNELS) {
    lab.execSync('lanA', ['ip', 'addr', 'add', `${hostA(n)}/24`, 'dev', 'lan']);
    lab.execSync('lanB', ['ip', 'addr', 'add', `${hostB(n)}/24`, 'dev', 'lanb']);
  }
  const [{ peer: gwA }, { peer: gwB }] = await Promise.all([
    LinePeer.spawn(lab, 'gwA', 'mq-a', 'dataplane-peer.ts', { address: A, tunnelAddress: '10.1.0.1', queues: QUEUES }),
    LinePeer.spawn(lab, 'gwB', 'mq-b', 'dataplane-peer.ts', { address: B, tunnelAddress: '10.2.0.1', queues: QUEUES }),
  ]);
  for (const n of TUNNELS) {
    for (const p of policies(n, `${hostA(n)}/32`, `${hostB(n)}/32`, A, B)) await gwA.call('addPolicy', p);
    for (const p of policies(n, `${hostB(n)}/32`, `${hostA(n)}/32`, B, A)) await gwB.call('addPolicy', p);
    await key(gwA, gwB, n, 1);
  }
  t.equal((await queueRx(gwA)).length, QUEUES, `the hub reads ${QUEUES} queues`);
  for (const n of TUNNELS) {
    const r = await lab.exec('lanA', ['ping', '-c', '2', '-i', '0.05', '-W', '1', '-I', hostA(n), hostB(n)], 10_000);
    t.equal(r.code, 0, `tunnel ${n}: ${hostA(n)} reaches ${hostB(n)}`);
  }

  const before = await queueRx(gwA);
  const runs = await loadAll(lab, 3, 5200);
  const spread = delta(await queueRx(gwA), before);
  const total = sum(runs.map((r) => r.mbitPerSecond));
  t.ok(runs.every((r) => r.mbitPerSecond > 10), `four tunnels, four TCP flows each: ${runs.map((r) => r.mbitPerSecond.toFixed(0)).join(' + ')} = ${total.toFixed(0)} Mbit/s`);
  t.ok(spread.filter((x) => x > sum(spread) * 0.05).length >= 3, `the tunnels' packets were read from several queues (per queue: ${spread.join(', ')})`);
  for (const n of TUNNELS) {
    const inB = await inboundAtB(gwB, n, 1);
    t.ok(inB.packets > 1000 && inB.authFailures === 0 && inB.replayDrops === 0, `tunnel ${n}: ${inB.packets} packets opened, no authentication failure, no replay drop`);
  }

  const single = await queueRx(gwA);
  await iperf3(lab, { host: 'lanB', address: hostB(1) }, 'lanA', { seconds: 2, port: 5210, bind: hostA(1) });
  const one = delta(await queueRx(gwA), single);
  t.ok(Math.max(...one) > 1000 && Math.max(...one) >= 0.98 * sum(one), `one flow is read from one queue (per queue: ${one.join(', ')})`);

  // Every tunnel rekeyed under load: outbound SAs swapped while the readers seal with them.
  const load = loadAll(lab, 3, 5220);
  await new Promise((r) => setTimeout(r, 1200));
  for (const n of TUNNELS) await key(gwA, gwB, n, 2);
  await new Promise((r) => setTimeout(r, 300));
  for (const n of TUNNELS) {
    await Promise.all([gwA.call('deleteSa', { spi: spiAB(n, 1), destination: B }), gwB.call('deleteSa', { spi: spiBA(n, 1), destination: A })]);
  }
  const loaded = await load;
  t.ok(loaded.every((r) => r.mbitPerSecond > 10), `load carried across the rekeys (${loaded.map((r) => r.mbitPerSecond.toFixed(0)).join(' + ')} Mbit/s)`);
  for (const n of TUNNELS) {
    const [old, fresh] = [await inboundAtB(gwB, n, 1), await inboundAtB(gwB, n, 2)];
    t.ok(fresh.packets > 1000 && old.authFailures + fresh.authFailures === 0 && old.replayDrops + fresh.replayDrops === 0,
      `tunnel ${n}: the new SA carries the load (${fresh.packets} packets); neither SA saw an authentication failure or a replay drop`);
  }
});
