// The userspace DataPlane back end between two gateways in lab namespaces, keyed by hand the way IKE
// keys a kernel: policies first (traffic raises one acquire, not one per packet), then SAs (LAN to LAN
// both ways, counters per SA), a lossless rekey in place, soft expiry, a move to UDP encapsulation
// (MOBIKE/NAT-T) without renegotiating, hard expiry back to acquire, and policies taken out again.
// Transport mode: dataplane-userspace-transport.test.ts.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { PolicySpec, SaSpec } from '../../firmware/dataplane/types.ts';
import { isRoot } from '../lab/command.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(!isRoot() ? 'needs root' : false);
const A = '192.0.2.1';
const B = '192.0.2.2';

type WireSa = Omit<SaSpec, 'keys' | 'lifetime'> & { keys: { encryption: string }; lifetime?: Record<string, number> };

/** Both directions of one child: gwA's outbound is gwB's inbound and back, the same keys on both sides. */
function child(reqid: number, spis: { ab: number; ba: number }, lifetime: Record<string, number> = {}) {
  const keys = { ab: randomBytes(20).toString('hex'), ba: randomBytes(20).toString('hex') };
  const sa = (spi: number, source: string, destination: string, direction: 'in' | 'out', key: string): WireSa => ({
    spi, source, destination, direction, mode: 'tunnel', suite: 'aes-gcm-128', keys: { encryption: key }, esn: true,
    replayWindow: direction === 'in' ? 1024 : 0, reqid, lifetime: direction === 'out' ? lifetime : {},
  });
  return {
    a: { in: sa(spis.ba, B, A, 'in', keys.ba), out: sa(spis.ab, A, B, 'out', keys.ab) },
    b: { in: sa(spis.ab, A, B, 'in', keys.ab), out: sa(spis.ba, B, A, 'out', keys.ba) },
  };
}

const policies = (local: string, remote: string, me: string, peer: string): PolicySpec[] => [
  { source: { prefix: local }, destination: { prefix: remote }, direction: 'out', action: 'protect', priority: 100, template: { source: me, destination: peer, mode: 'tunnel', reqid: 1 } },
  { source: { prefix: remote }, destination: { prefix: local }, direction: 'in', action: 'protect', priority: 100, template: { source: peer, destination: me, mode: 'tunnel', reqid: 1 } },
];

const ping = (lab: Lab, from: string, to: string, count = 3) => lab.exec(from, ['ping', '-c', String(count), '-i', '0.05', '-W', '1', to], 20_000);

t.test('userspace data plane: acquire, SAs, rekey in place, expiry, UDP encapsulation, teardown', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const [{ peer: gwA }, { peer: gwB }] = await Promise.all([
    LinePeer.spawn(lab, 'gwA', 'udp-a', 'dataplane-peer.ts', { address: A, tunnelAddress: '10.1.0.1', acquireHoldMs: 2000 }),
    LinePeer.spawn(lab, 'gwB', 'udp-b', 'dataplane-peer.ts', { address: B, tunnelAddress: '10.2.0.1', acquireHoldMs: 2000 }),
  ]);
  for (const p of policies('10.1.0.0/24', '10.2.0.0/24', A, B)) await gwA.call('addPolicy', p);
  for (const p of policies('10.2.0.0/24', '10.1.0.0/24', B, A)) await gwB.call('addPolicy', p);
  t.match(lab.execSync('gwA', ['ip', 'route', 'show', '10.2.0.0/24']), /dev phub0/, 'the outbound policy routes its destination to the shared TUN');
  const duplicate = await gwA.command(JSON.stringify({ call: 'addPolicy', args: [policies('10.1.0.0/24', '10.2.0.0/24', A, B)[0]] }));
  t.match(duplicate, /^error POSTERN_ERR_DATAPLANE_EXISTS/, 'a duplicate policy is refused');

  t.not((await ping(lab, 'lanA', '10.2.0.10', 5)).code, 0, 'no SA yet: no traffic');
  const acquire = await gwA.waitEvent((e) => e['type'] === 'acquire');
  t.match(acquire, { type: 'acquire', reqid: 1, policy: { direction: 'out', destination: { prefix: '10.2.0.0/24' } } }, 'traffic on the policy raised an acquire for its reqid');
  t.equal(gwA.events.filter((e) => e['type'] === 'acquire').length, 1, 'five packets, one acquire (held)');

  const first = child(1, { ab: 0x1000_0001, ba: 0x2000_0001 });
  await Promise.all([gwA.call('addSa', first.a.in), gwB.call('addSa', first.b.in)]);
  await Promise.all([gwA.call('addSa', first.a.out), gwB.call('addSa', first.b.out)]);
  t.match(await gwA.command(JSON.stringify({ call: 'addSa', args: [first.a.out] })), /^error POSTERN_ERR_DATAPLANE_EXISTS/, 'a duplicate SA is refused');
  t.equal((await ping(lab, 'lanA', '10.2.0.10')).code, 0, 'lanA reaches lanB once the SAs are in');
  t.equal((await ping(lab, 'lanB', '10.1.0.10')).code, 0, 'and lanB reaches lanA');
  const outA = await gwA.call('querySa', { spi: 0x1000_0001, destination: B });
  const inB = await gwB.call('querySa', { spi: 0x1000_0001, destination: B });
  t.ok(outA.packets >= 6 && inB.packets === outA.packets, `per-SA counters agree on both ends (${outA.packets} out, ${inB.packets} in)`);
  t.match((await gwA.call('stats')).backEnd, { sas: 2, policies: 2, tunnels: 1, acquires: 1 }, 'the back end\'s own figures: two SAs, two policies, one tunnel, one acquire');

  // Rekey in place: new inbound SAs first, then the outbound ones, then the old ones go; pings never stop.
  const second = child(1, { ab: 0x1000_0002, ba: 0x2000_0002 }, { softPackets: 40, hardPackets: 100 });
  const during = ping(lab, 'lanA', '10.2.0.10', 60);
  await new Promise((r) => setTimeout(r, 500));
  await Promise.all([gwA.call('addSa', second.a.in), gwB.call('addSa', second.b.in)]);
  await Promise.all([gwA.call('addSa', second.a.out), gwB.call('addSa', second.b.out)]);
  await new Promise((r) => setTimeout(r, 300));
  await Promise.all([gwA.call('deleteSa', { spi: 0x2000_0001, destination: A }), gwB.call('deleteSa', { spi: 0x1000_0001, destination: B })]);
  await Promise.all([gwA.call('deleteSa', { spi: 0x1000_0001, destination: B }), gwB.call('deleteSa', { spi: 0x2000_0001, destination: A })]);
  t.match((await during).stdout, / 0% packet loss/, 'no packet lost across the rekey');
  t.equal(await gwA.call('querySa', { spi: 0x1000_0001, destination: B }), null, 'the old SA is gone');
  t.ok((await gwB.call('querySa', { spi: 0x1000_0002, destination: B })).packets > 0, 'the new SA carries the traffic');
  const soft = await gwA.waitEvent((e) => e['type'] === 'expire');
  t.match(soft, { type: 'expire', hard: false, sa: { spi: 0x1000_0002, destination: B } }, 'the new outbound SA crossed its soft packet limit: IKE is told to rekey');
  t.equal((await gwA.call('stats')).dataplane.tunnelRestarts, 0, 'SAs changed in place, the tunnel never restarted');

  // MOBIKE / NAT-T: the same SAs move into UDP 4500.
  const encapsulation = { sourcePort: 4500, destinationPort: 4500 };
  await Promise.all([
    gwA.call('updateSa', { spi: 0x1000_0002, destination: B }, { encapsulation }), gwA.call('updateSa', { spi: 0x2000_0002, destination: A }, { encapsulation }),
    gwB.call('updateSa', { spi: 0x2000_0002, destination: A }, { encapsulation }), gwB.call('updateSa', { spi: 0x1000_0002, destination: B }, { encapsulation }),
  ]);
  const udpBefore = (await gwB.call('stats')).udp.rx;
  t.equal((await ping(lab, 'lanA', '10.2.0.10')).code, 0, 'traffic flows after the move to UDP encapsulation');
  t.ok((await gwB.call('stats')).udp.rx - udpBefore >= 3, 'and arrives on UDP 4500');

  // Hard expiry: the driver stops the SA at its packet limit, the back end takes it out, and the
  // policy's traffic raises acquires again.
  await ping(lab, 'lanA', '10.2.0.10', 80);
  t.match(await gwA.waitEvent((e) => e['type'] === 'expire' && e['hard'] === true), { sa: { spi: 0x1000_0002, destination: B } }, 'the outbound SA hit its hard packet limit');
  t.equal(await gwA.call('querySa', { spi: 0x1000_0002, destination: B }), null, 'and is gone from the SAD');
  const acquires = () => gwA.events.filter((x) => x['type'] === 'acquire').length;
  await new Promise((r) => setTimeout(r, 2100)); // the hold of any acquire the rest of those pings raised
  const before = acquires();
  t.not((await ping(lab, 'lanA', '10.2.0.10', 2)).code, 0, 'no outbound SA, no traffic');
  await t.resolves(gwA.waitEvent(() => acquires() > before), 'the policy\'s traffic raises an acquire again');
  await gwA.call('deleteSa', { spi: 0x2000_0002, destination: A });
  const spis = [await gwA.call('allocateSpi', A, B), await gwA.call('allocateSpi', A, B)];
  t.ok(spis.every((s) => s >= 0x100 && s <= 0xffff_ffff) && spis[0] !== spis[1], `SPIs allocated outside IANA's reserved range, never twice (${spis.map((s) => s.toString(16)).join(', ')})`);

  for (const p of policies('10.1.0.0/24', '10.2.0.0/24', A, B)) await gwA.call('deletePolicy', p);
  t.equal(lab.execSync('gwA', ['ip', 'route', 'show', '10.2.0.0/24']).trim(), '', 'deleting the policy takes its route out');
  t.match((await gwA.call('stats')).backEnd, { sas: 0, policies: 0, tunnels: 0, expires: 2 }, 'nothing held any more; the soft and the hard expiry counted');
  t.match(await gwA.command(JSON.stringify({ call: 'deletePolicy', args: [policies('10.1.0.0/24', '10.2.0.0/24', A, B)[0]] })), /^error POSTERN_ERR_DATAPLANE_NOT_FOUND/, 'deleting it twice is an error');
  const byPort = { ...policies('10.1.0.0/24', '10.2.0.0/24', A, B)[0]!, destination: { prefix: '10.2.0.0/24', protocol: 6, port: 443 } };
  t.match(await gwA.command(JSON.stringify({ call: 'addPolicy', args: [byPort] })), /^error POSTERN_ERR_DATAPLANE_INVALID .*by address/, 'a tunnel-mode policy by port is refused with a reason (the hub routes by address)');
});
