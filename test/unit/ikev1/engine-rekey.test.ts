// IKEv1 children over time: one Quick Mode per pair of subnets, rekeys by lifetime (a new Quick
// Mode beside the old child, then a Delete), and the half-open caps that keep a Main Mode flood
// from growing without bound.
import t from 'tap';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
type Over = Partial<IkeConnection> & { ike?: string[]; esp?: string[] };

function pairOf(overA: Over = {}, overB: Over = {}) {
  const base = { ike: ['aes128-sha1-modp2048'], esp: ['aes128-sha1'] };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], ...overA })], seededCrypto('ra'));
  const b = new Ikev1Engine([connection('to-a', { ...base, remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...overB })], seededCrypto('rb'));
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  return pair;
}

t.test('two local subnets: one Quick Mode and one child per pair', async (t) => {
  const pair = pairOf({ localTs: ['10.1.0.0/16', '10.5.0.0/16'] }, { remoteTs: ['10.1.0.0/16', '10.5.0.0/16'] });
  pair.run();
  t.same(pair.of('a', 'install-child').map((a) => a.child.localTs[0]).sort(), ['10.1.0.0/16', '10.5.0.0/16']);
  t.equal(pair.of('b', 'install-child').length, 2);
  const spis = pair.of('a', 'install-child').map((a) => a.child.inbound.spi);
  t.not(spis[0], spis[1], 'each its own SPI');
});

t.test('rekey by lifetime: new child beside the old, the old deleted on both sides, again and again', async (t) => {
  const pair = pairOf({ rekeySeconds: 600 });
  pair.run(60_000);
  const first = pair.of('a', 'install-child')[0]!.child;
  pair.run(620_000);
  const rekeyA = pair.of('a', 'rekey-child');
  const rekeyB = pair.of('b', 'rekey-child');
  t.equal(rekeyA.length, 1, 'A rekeyed after 600 s');
  t.equal(rekeyA[0]?.old.inbound.spi, first.inbound.spi);
  t.equal(rekeyA[0]?.initiated, false, 'A, having just sent QM3, takes the new inbound SA but sends on the old until the old child goes (the peer may install at QM3)');
  t.same(rekeyB.map((r) => [r.initiated, r.confirmed ?? false]), [[false, false], [true, true]], 'B accepts the new inbound SA with QM2, and sends on it once QM3 proves A holds it');
  t.equal(rekeyB[0]?.child, rekeyB[1]?.child, 'the same child both times');
  t.equal(rekeyA[0]?.child.inbound.spi, rekeyB[0]?.child.outbound.spi, 'the new SPIs agree');
  t.equal(pair.of('a', 'delete-child')[0]?.child.inbound.spi, first.inbound.spi, 'A removed the old child');
  t.equal(pair.of('b', 'delete-child')[0]?.child.outbound.spi, first.inbound.spi, 'B removed it on A\'s delete');
  t.equal(pair.engines.a.sas[0]?.children.length, 1);
  t.equal(pair.engines.b.sas[0]?.children.length, 1);
  pair.run(1_900_000);
  t.equal(pair.of('a', 'rekey-child').length, 3, 'every 600 s');
  t.equal(pair.engines.b.sas[0]?.children.length, 1, 'never more than one child left behind');
  t.equal(pair.of('a', 'install-child').length, 1, 'rekeys are not new children');
});

t.test('the rekey\'s initiator keeps the old inbound SA for the drain after QM3, then deletes it: what the peer still sends on it arrives', async (t) => {
  const pair = pairOf({ rekeySeconds: 600 });
  pair.run(60_000);
  const first = pair.of('a', 'install-child')[0]!.child;
  let qm3At: number | undefined;
  pair.filter = (p) => {
    if (p.from.address === A && p.packet[18] === 32 && pair.now > 600_000) qm3At = pair.now; // A's last Quick Mode message is QM3
    return 'deliver';
  };
  pair.run(600_500);
  t.equal(pair.of('a', 'rekey-child').length, 1, 'A rekeyed at 600 s');
  t.equal(pair.of('a', 'delete-child').length, 0, 'QM3 sent, the old child is still there (the peer may not have processed QM3 yet)');
  t.equal(pair.engines.a.sas[0]?.children.length, 2, 'old and new side by side');
  pair.run(605_000);
  const deleted = pair.actions.a.findIndex((x) => x.type === 'delete-child');
  t.ok(deleted >= 0, 'then A deleted it');
  t.equal(pair.of('a', 'delete-child')[0]?.child.inbound.spi, first.inbound.spi);
  t.ok(qm3At !== undefined, 'QM3 was seen');
  const deleteSent = pair.wireLog.find((p) => p.from.address === A && p.packet[18] === 5 && p.at - pair.latencyMs >= (qm3At ?? 0));
  t.ok(deleteSent && deleteSent.at - pair.latencyMs - (qm3At ?? 0) >= 2_000, `the Delete went ${deleteSent ? deleteSent.at - pair.latencyMs - (qm3At ?? 0) : '?'} ms after QM3 (the drain is 2 s)`);
  t.equal(pair.of('b', 'delete-child')[0]?.child.outbound.spi, first.inbound.spi, 'B removed the old child on that Delete');
  t.equal(pair.of('a', 'rekey-child').length, 1, 'the draining child was not rekeyed again');
});

t.test('a peer that rekeys without deleting: the old child is retired after the grace period', async (t) => {
  const pair = pairOf({ rekeySeconds: 600 });
  pair.run(60_000);
  const first = pair.of('b', 'install-child')[0]!.child;
  // A's Delete of the old child is lost (strongSwan, by default, sends none for IKEv1 rekeys).
  pair.filter = (p) => (p.from.address === A && p.packet[18] === 5 && pair.now > 600_000 ? 'drop' : 'deliver'); // A's informationals
  pair.run(611_000);
  t.equal(pair.engines.b.sas[0]?.children.length, 2, 'B holds both for a while');
  pair.filter = () => 'deliver';
  pair.run(650_000);
  t.equal(pair.of('b', 'delete-child')[0]?.child.inbound.spi, first.inbound.spi, 'then B retires the old child');
  t.equal(pair.engines.b.sas[0]?.children.length, 1);
  t.equal(pair.engines.a.sas[0]?.state, 'established', 'A takes B\'s delete for a child it already removed in its stride');
  t.equal(pair.of('a', 'delete-child').length, 1, 'and removes nothing twice');
});

t.test('half-open caps: per source and in all; established peers unaffected', async (t) => {
  const b = new Ikev1Engine([connection('any', { ike: ['aes128-sha1-modp2048'] })], seededCrypto('cap'), { halfOpenPerSource: 3, halfOpenLimit: 5 });
  const donor = pairOf();
  donor.run();
  const msg1 = Buffer.from(donor.wireLog[0]!.packet);
  const flood = (address: string, i: number) => {
    const m = Buffer.from(msg1);
    m.writeUInt32BE(i, 0); // a new initiator cookie each time
    b.handlePacket(m, { address, port: 500 }, { address: B, port: 500 }, i);
  };
  for (let i = 1; i <= 5; i++) flood('198.51.100.1', i);
  t.equal(b.sas.filter((s) => s.state === 'mm2').length, 3, 'three from one source');
  for (let i = 6; i <= 10; i++) flood(`198.51.100.${i}`, i);
  t.equal(b.sas.filter((s) => s.state === 'mm2').length, 5, 'five in all');
  t.equal(b.drops['half-open'], 5, 'the other five dropped and counted');
  b.tick(40_000);
  t.equal(b.sas.filter((s) => s.state === 'mm2').length, 0, 'all timed out');
  flood('198.51.100.1', 11);
  t.equal(b.sas.filter((s) => s.state === 'mm2').length, 1, 'room again');
});

t.test('the Quick Mode responder accepts the new inbound SA as QM2 goes out: a lost QM3 loses no packet', async (t) => {
  const pair = pairOf({ rekeySeconds: 600 });
  pair.run(60_000);
  const first = pair.of('b', 'install-child')[0]!.child;
  // Drop A's first QM3 of the rekey (the one Quick Mode message with only a HASH from A after 600 s).
  let dropped = 0;
  pair.filter = (p) => (p.at > 600_000 && p.from.address === '192.0.2.1' && p.packet[18] === 32 && p.packet.length <= 28 + 48 && dropped++ === 0 ? 'drop' : 'deliver');
  pair.run(600_000 + 1_000);
  const early = pair.of('b', 'rekey-child');
  t.equal(dropped, 1, 'QM3 was lost');
  t.same(early.map((r) => [r.old.inbound.spi, r.initiated]), [[first.inbound.spi, false]], 'B already accepts the new inbound SA, A may send on it');
  t.ok(pair.engines.b.sas[0]?.children.includes(early[0]!.child), 'the new child is in the SA before QM3 came');
  pair.run(700_000);
  // A deleted the old child before its QM3 was retransmitted: that Delete handed B's outbound SA over.
  t.ok(pair.of('b', 'delete-child').some((d) => d.child.inbound.spi === first.inbound.spi), 'the old child went with A\'s Delete');
  t.ok(pair.logs('b').some((l) => l.startsWith('Quick Mode with 192.0.2.1 done')), 'the retransmitted QM2 brought QM3 again: done');
  t.same(pair.engines.b.sas[0]?.children.map((c) => c.inbound.spi), [early[0]!.child.inbound.spi], 'only the new child is left');
  t.equal([...pair.engines.b.sas[0]!.quickModes.values()].filter((q) => q.state !== 'done').length, 0, 'nothing waits any more');
});

t.test('a Quick Mode answered but never confirmed takes its child out again', async (t) => {
  const pair = pairOf({ rekeySeconds: 600 });
  pair.run(60_000);
  pair.filter = (p) => (p.at > 600_000 && p.from.address === '192.0.2.1' && p.packet[18] === 32 && p.packet.length <= 28 + 48 ? 'drop' : 'deliver');
  pair.run(900_000);
  const accepted = pair.of('b', 'rekey-child')[0]?.child;
  t.ok(accepted, 'B accepted the rekey at QM2');
  t.ok(pair.of('b', 'delete-child').some((d) => d.child === accepted), 'and removed it when no QM3 came');
  t.notOk(pair.engines.b.sas[0]?.children.includes(accepted!), 'the SA no longer lists it');
});
