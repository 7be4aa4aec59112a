// The installer's part of an IKEv1 Quick Mode answered as responder (issue 19): the new inbound SA
// at QM2 (outbound pending, the old one still sends), the outbound switched once QM3 confirms, and
// the old child's removal then switches nothing twice.
import t from 'tap';
import { FakeDataPlane } from '../../../firmware/dataplane/fake.ts';
import type { UserspaceDataPlane } from '../../../firmware/dataplane/userspace.ts';
import type { ChildSaInfo } from '../../../firmware/ike/engine/types.ts';
import { DataPlaneInstaller } from '../../../firmware/ike/shell/dataplane-installer.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const key = () => new Secret(Buffer.alloc(16, 7));
const child = (inSpi: number, outSpi: number): ChildSaInfo => ({
  ikeSpi: 1n, connection: 'site:x', suite: 'aes-gcm-128', esn: false, mode: 'tunnel',
  inbound: { spi: inSpi, source: '192.0.2.1', destination: '192.0.2.2', encryption: key() },
  outbound: { spi: outSpi, source: '192.0.2.2', destination: '192.0.2.1', encryption: key() },
  localTs: ['10.2.0.0/24'], remoteTs: ['10.1.0.0/24'],
});

t.test('rekey answered at QM2, confirmed at QM3: outbound switches once, at the confirmation', async (t) => {
  const fake = new FakeDataPlane();
  const errors: string[] = [];
  const log = createLogger({ level: 'info', sink: (r) => { if (r.level === 'error') errors.push(String(r.msg)); } });
  const graces: Array<{ ms: number; retire: () => void }> = [];
  const graceTimer = (ms: number, retire: () => void) => (graces.push({ ms, retire }), { cancel: () => undefined });
  const installer = new DataPlaneInstaller({ dataplane: fake as unknown as UserspaceDataPlane, log, graceTimer });
  const old = child(0x1000, 0x2000);
  const fresh = child(0x1001, 0x2001);
  installer.install(old);
  await new Promise((r) => setImmediate(r));
  const spis = () => [...fake.sas.values()].map((s) => `${s.spec.direction}:${s.spec.spi.toString(16)}`).sort();
  installer.rekey(old, fresh, false);
  await new Promise((r) => setImmediate(r));
  t.same(spis(), ['in:1000', 'in:1001', 'out:2000'], 'QM2: the new inbound SA beside the old, still sending on the old');
  installer.rekey(old, fresh, true, true);
  await new Promise((r) => setImmediate(r));
  t.same(spis(), ['in:1000', 'in:1001', 'out:2000', 'out:2001'], 'QM3: the new outbound SA goes in (the userspace back end swaps it under the reqid)');
  installer.remove(old);
  await new Promise((r) => setImmediate(r));
  t.same(spis(), ['in:1000', 'in:1001', 'out:2001'], 'the old child leaves without a second switch; its inbound SA still opens late packets');
  t.same(graces.map((g) => g.ms), [5000], 'for 5 s, as strongSwan\'s delete_rekeyed_delay');
  graces[0]!.retire();
  await new Promise((r) => setImmediate(r));
  t.same(spis(), ['in:1001', 'out:2001'], 'then it goes');
  t.same(errors, [], 'the data plane refused nothing');
  installer.rekey(old, fresh, true, true);
  t.same(spis(), ['in:1001', 'out:2001'], 'a late confirmation changes nothing');
});

t.test('a rekeyed child\'s old inbound SA is kept after its delete, and goes at once when the whole child goes', async (t) => {
  const fake = new FakeDataPlane();
  const cancelled: number[] = [];
  let timers = 0;
  const graceTimer = () => { const n = timers++; return { cancel: () => void cancelled.push(n) }; };
  const installer = new DataPlaneInstaller({ dataplane: fake as unknown as UserspaceDataPlane, log: createLogger({ level: 'error', sink: () => undefined }), graceTimer });
  const old = child(0x1000, 0x2000);
  const fresh = child(0x1001, 0x2001);
  installer.install(old);
  installer.rekey(old, fresh, true);
  installer.remove(old);
  await new Promise((r) => setImmediate(r));
  const spis = () => [...fake.sas.values()].map((s) => `${s.spec.direction}:${s.spec.spi.toString(16)}`).sort();
  t.same(spis(), ['in:1000', 'in:1001', 'out:2001'], 'we started the rekey: sending on the new SA, the old inbound still there, the old outbound gone');
  installer.remove(fresh);
  await new Promise((r) => setImmediate(r));
  t.same(spis(), [], 'the successor deleted (the tunnel goes): the old inbound SA goes with it, not at its grace\'s end');
  t.same(cancelled, [0], 'and its timer is cancelled');
});

t.test('rekeys in quick succession keep one old inbound SA per reqid, so the tunnel\'s inbound slots never fill', async (t) => {
  const fake = new FakeDataPlane();
  const installer = new DataPlaneInstaller({ dataplane: fake as unknown as UserspaceDataPlane, log: createLogger({ level: 'error', sink: () => undefined }), graceTimer: () => ({ cancel: () => undefined }) });
  const generations = [0, 1, 2, 3, 4].map((n) => child(0x1000 + n, 0x2000 + n));
  installer.install(generations[0]!);
  for (let n = 1; n < generations.length; n++) {
    installer.rekey(generations[n - 1]!, generations[n]!, n % 2 === 1);
    installer.remove(generations[n - 1]!);
  }
  await new Promise((r) => setImmediate(r));
  const inbound = [...fake.sas.values()].filter((s) => s.spec.direction === 'in').map((s) => s.spec.spi.toString(16)).sort();
  t.same(inbound, ['1003', '1004'], 'after four rekeys within the grace: the newest inbound SA and the one before it');
});

t.test('a transport-mode child (L2TP/IPsec): transport SAs, policies by host, protocol and port', async (t) => {
  const fake = new FakeDataPlane();
  const errors: string[] = [];
  const log = createLogger({ level: 'info', sink: (r) => { if (r.level === 'error') errors.push(String(r.msg)); } });
  const installer = new DataPlaneInstaller({ dataplane: fake as unknown as UserspaceDataPlane, log });
  installer.install({ ...child(0x3000, 0x4000), mode: 'transport', localTs: ['192.0.2.2/32[17/1701]'], remoteTs: ['192.0.2.1/32[17/1701]'], originalAddresses: { local: '203.0.113.9', remote: '192.0.2.1' } });
  await new Promise((r) => setImmediate(r));
  t.same([...fake.sas.values()].map((s) => s.spec.mode), ['transport', 'transport'], 'both SAs in transport mode');
  t.same([...fake.sas.values()].map((s) => s.spec.encapsulation), [undefined, undefined], 'no UDP encapsulation, so no original address (no NAT)');
  const out = [...fake.policies.values()].find((p) => p.direction === 'out');
  t.same(out && { source: out.source, destination: out.destination, mode: out.template?.mode }, {
    source: { prefix: '192.0.2.2/32', protocol: 17, port: 1701 }, destination: { prefix: '192.0.2.1/32', protocol: 17, port: 1701 }, mode: 'transport',
  }, 'the outbound policy selects UDP 1701 between the hosts');
  t.equal(fake.policies.size, 2, 'and one inbound policy');
  t.same(errors, [], 'the data plane refused nothing');
});

t.test('issue 24: a transport-mode child over IPv6 (L2TP/IPsec on an IPv6 WAN): its policies select UDP 1701 between the two IPv6 hosts', async (t) => {
  const fake = new FakeDataPlane();
  const errors: string[] = [];
  const log = createLogger({ level: 'info', sink: (r) => { if (r.level === 'error') errors.push(String(r.msg)); } });
  const installer = new DataPlaneInstaller({ dataplane: fake as unknown as UserspaceDataPlane, log });
  const [me, peer] = ['2001:db8:b::2', '2001:db8:a::2'];
  const c = child(0x3000, 0x4000);
  installer.install({ ...c, mode: 'transport', inbound: { ...c.inbound, source: peer, destination: me }, outbound: { ...c.outbound, source: me, destination: peer }, localTs: [`${me}/128[17/1701]`], remoteTs: [`${peer}/128[17/1701]`] });
  await new Promise((r) => setImmediate(r));
  t.same([...fake.sas.values()].map((s) => [s.spec.mode, s.spec.destination]), [['transport', me], ['transport', peer]], 'both SAs in transport mode between the IPv6 hosts');
  const out = [...fake.policies.values()].find((p) => p.direction === 'out');
  t.same(out && { source: out.source, destination: out.destination, template: out.template }, {
    source: { prefix: `${me}/128`, protocol: 17, port: 1701 }, destination: { prefix: `${peer}/128`, protocol: 17, port: 1701 }, template: { source: me, destination: peer, mode: 'transport', reqid: out?.template?.reqid },
  }, 'the outbound policy selects UDP 1701 between the IPv6 hosts (so it is steered into the hub)');
  t.equal(fake.policies.size, 2, 'and one inbound policy');
  t.same(errors, [], 'the data plane refused nothing');
});

t.test('a transport-mode child behind a NAT: both SAs carry the peer\'s NAT-OA as the encapsulation\'s original address', async (t) => {
  const fake = new FakeDataPlane();
  const log = createLogger({ level: 'info', sink: () => {} });
  const installer = new DataPlaneInstaller({ dataplane: fake as unknown as UserspaceDataPlane, log });
  installer.install({ ...child(0x3000, 0x4000), mode: 'transport', localTs: ['192.0.2.2/32[17/1701]'], remoteTs: ['198.51.100.20/32[17/1701]'], encapsulation: { localPort: 4500, remotePort: 4501 }, originalAddresses: { local: '203.0.113.9', remote: '10.0.0.20' } });
  await new Promise((r) => setImmediate(r));
  const encaps = Object.fromEntries([...fake.sas.values()].map((s) => [s.spec.direction, s.spec.encapsulation]));
  t.same(encaps, {
    in: { sourcePort: 4501, destinationPort: 4500, originalAddress: '10.0.0.20' },
    out: { sourcePort: 4500, destinationPort: 4501, originalAddress: '10.0.0.20' },
  });
  installer.install({ ...child(0x3001, 0x4001), encapsulation: { localPort: 4500, remotePort: 4501 }, originalAddresses: { local: '203.0.113.9', remote: '10.0.0.20' } });
  await new Promise((r) => setImmediate(r));
  const tunnel = [...fake.sas.values()].filter((s) => s.spec.spi === 0x3001 || s.spec.spi === 0x4001);
  t.ok(tunnel.length === 2 && tunnel.every((s) => s.spec.encapsulation?.originalAddress === undefined), 'a tunnel-mode SA gets none (NAT-OA is for transport mode)');
});
