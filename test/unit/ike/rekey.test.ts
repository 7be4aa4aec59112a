import t, { type Test } from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { ChildSaInfo } from '../../../firmware/ike/engine/types.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

function established(over: Record<string, unknown> = {}, seed = 'r') {
  const a = new IkeEngine([connection('to-b', { remoteAddress: B, ...over })], seededCrypto(`a${seed}`));
  const b = new IkeEngine([connection('to-a', { remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...over })], seededCrypto(`b${seed}`));
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  pair.run(1000);
  return pair;
}

const key = (c: ChildSaInfo, dir: 'inbound' | 'outbound') => c[dir].encryption.reveal().toString('hex');
const children = (pair: EnginePair, side: 'a' | 'b') => pair.engines[side]!.sas.flatMap((s) => s.children);

function checkMirror(t: Test, pair: EnginePair): void {
  const [ca] = children(pair, 'a');
  const [cb] = children(pair, 'b');
  t.equal(children(pair, 'a').length, 1, 'one child on A');
  t.equal(children(pair, 'b').length, 1, 'one child on B');
  t.equal(ca?.outbound.spi, cb?.inbound.spi);
  t.equal(key(ca!, 'outbound'), key(cb!, 'inbound'), 'A sends with the key B decrypts with');
  t.equal(key(cb!, 'outbound'), key(ca!, 'inbound'), 'and back');
}

for (const [name, esp] of [['without PFS', ['aes128gcm16']], ['with PFS (ecp256)', ['aes128gcm16-ecp256']], ['with PFS (modp2048)', ['aes256-sha256-modp2048']]] as const) {
  t.test(`child SA rekey ${name}: new SAs beside the old, then the old deleted on both sides`, async (t) => {
    const pair = established({ esp: [...esp] });
    const [old] = children(pair, 'a');
    const spi = pair.engines.a!.sas[0]!.spiI;
    pair.take('a', pair.engines.a!.rekeyChild(spi, old!.inbound.spi, pair.now));
    pair.run(pair.now + 1000);
    const rekeyA = pair.of('a', 'rekey-child')[0];
    const rekeyB = pair.of('b', 'rekey-child')[0];
    t.equal(rekeyA?.old.inbound.spi, old?.inbound.spi, 'A: the rekey names the old child');
    t.equal(rekeyB?.old.outbound.spi, old?.inbound.spi, 'B: the same child, seen from its side');
    t.same(pair.of('a', 'delete-child').map((x) => x.child.inbound.spi), [old!.inbound.spi], 'A deleted only the old child');
    t.equal(pair.of('b', 'delete-child').length, 1, 'B deleted its old half');
    t.not(rekeyA?.child.inbound.spi, old?.inbound.spi, 'new SPIs');
    t.not(key(rekeyA!.child, 'inbound'), key(old!, 'inbound'), 'new keys');
    checkMirror(t, pair);
    if (esp[0]!.includes('-ecp') || esp[0]!.includes('modp')) t.ok(pair.logs('b').some((l) => /CREATE_CHILD_SA request 2 \[ N\(REKEY_SA\) SA Nonce KE TSi TSr \]/.test(l)), 'PFS: a KE in the request');
  });
}

t.test('the original responder can rekey too, and rekeys happen on time by themselves', async (t) => {
  const pair = established({ rekeySeconds: 600, dpdSeconds: 0 });
  const [old] = children(pair, 'b');
  pair.take('b', pair.engines.b!.rekeyChild(pair.engines.b!.sas[0]!.spiI, old!.inbound.spi, pair.now));
  pair.run(pair.now + 1000);
  t.equal(pair.of('a', 'rekey-child').length, 1, 'B-initiated rekey reached A');
  checkMirror(t, pair);
  pair.run(2_000_000);
  t.ok(pair.of('a', 'rekey-child').length + pair.of('b', 'rekey-child').length >= 4, `timed rekeys happened (${pair.of('a', 'rekey-child').length} seen by A)`);
  checkMirror(t, pair);
  t.equal(pair.of('a', 'ike-down').length, 0, 'nothing went down');
});

t.test('both ends rekeying the same child at once settle without losing it', async (t) => {
  const pair = established({ dpdSeconds: 0 });
  const [ca] = children(pair, 'a');
  const [cb] = children(pair, 'b');
  pair.take('a', pair.engines.a!.rekeyChild(pair.engines.a!.sas[0]!.spiI, ca!.inbound.spi, pair.now));
  pair.take('b', pair.engines.b!.rekeyChild(pair.engines.b!.sas[0]!.spiI, cb!.inbound.spi, pair.now));
  pair.run(pair.now + 1000);
  t.ok(pair.logs('a').some((l) => l.includes('TEMPORARY_FAILURE')), 'the collision was answered TEMPORARY_FAILURE');
  // No rekey timer here: rekey by hand again, once, from A.
  pair.take('a', pair.engines.a!.rekeyChild(pair.engines.a!.sas[0]!.spiI, ca!.inbound.spi, pair.now));
  pair.run(pair.now + 1000);
  checkMirror(t, pair);
});

t.test('IKE SA rekey: a new IKE SA with new SPIs carries the children; the old one goes quietly', async (t) => {
  const pair = established({ dpdSeconds: 0 });
  const before = pair.engines.a!.sas[0]!;
  const [child] = children(pair, 'a');
  pair.take('a', pair.engines.a!.rekeyIke(before.spiI, pair.now));
  pair.run(pair.now + 2000);
  const ra = pair.of('a', 'ike-rekeyed')[0];
  const rb = pair.of('b', 'ike-rekeyed')[0];
  t.ok(ra && rb && ra.spi === rb.spi && ra.spi !== before.spiI, 'both name the same new SA');
  t.equal(pair.engines.a!.sas.length, 1, 'A: only the new IKE SA left');
  t.equal(pair.engines.b!.sas.length, 1, 'B: only the new IKE SA left');
  t.equal(pair.of('a', 'ike-down').length + pair.of('b', 'ike-down').length, 0, 'no ike-down for the old one');
  t.equal(pair.of('a', 'delete-child').length, 0, 'the child was not deleted');
  t.equal(children(pair, 'a')[0]?.inbound.spi, child?.inbound.spi, 'the child moved to the new SA');
  // The new SA works: a child rekey and a delete over it.
  const fresh = pair.engines.a!.sas[0]!;
  t.not(fresh.crypto?.keys.skD.toString('hex'), before.crypto?.keys.skD.toString('hex'), 'new keys');
  pair.take('a', pair.engines.a!.rekeyChild(fresh.spiI, child!.inbound.spi, pair.now));
  pair.run(pair.now + 1000);
  checkMirror(t, pair);
  pair.take('a', pair.engines.a!.terminate(fresh.spiI, pair.now));
  pair.run(pair.now + 1000);
  t.equal(pair.engines.a!.sas.length + pair.engines.b!.sas.length, 0, 'deleted over the new SA');
});

t.test('reauthentication (§2.8.3): a new IKE SA and children first, then the old one deleted quietly', async (t) => {
  const pair = established({ dpdSeconds: 0 });
  const old = pair.engines.a!.sas[0]!;
  const [oldChild] = children(pair, 'a');
  pair.take('a', pair.engines.a!.reauthenticate(old.spiI, pair.now));
  pair.run(pair.now + 5000);
  t.equal(pair.of('a', 'ike-up').length, 2, 'a second IKE SA came up');
  t.ok(pair.logs('b').some((l) => /IKE_AUTH request 1 \[ IDi AUTH SA TSi TSr/.test(l)), 'without INITIAL_CONTACT');
  t.equal(pair.engines.a!.sas.length, 1, 'the old SA is gone on A');
  t.equal(pair.engines.b!.sas.length, 1, 'and on B');
  t.not(pair.engines.a!.sas[0]!.spiI, old.spiI, 'only the new one is left');
  t.equal(pair.of('a', 'ike-down').length, 0, 'the reauthenticating side reports nothing down');
  t.same(pair.of('b', 'ike-down').map((x) => x.spi), [old.spiI], 'the peer sees only the old SA deleted');
  t.same(pair.of('a', 'delete-child').map((x) => x.child.inbound.spi), [oldChild!.inbound.spi], 'the old child went with its SA');
  checkMirror(t, pair);
});
