// Unique 'never' on an IKEv1 responder (issue 19): one identity may hold several ISAKMP SAs at once
// (devices sharing it; the bench's initiators from one address). Found profiling the bench: when
// setups took longer than 5 s, each new SA "adopted" the previous one's children as if it were a
// renewal and deleted it, so the initiators saw their SAs go down. Now a new SA replaces only our
// own renewal's predecessor or one the peer deleted, and a peer's renewal is recognised when it
// deletes the old SA.
import t from 'tap';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { RETIRE_OLD_MS } from '../../../firmware/ikev1/engine/lifetimes.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
const base = { ike: ['aes128-sha256-modp2048'], esp: ['aes128gcm16'], dpdSeconds: 0 };
const responder = (over: Partial<IkeConnection> = {}) =>
  new Ikev1Engine([connection('load', { ...base, remoteAddress: A, localTs: ['10.2.0.0/24'], remoteTs: ['10.1.0.0/24'], unique: 'never', ...over })], seededCrypto('nb'));
const live = (e: Ikev1Engine) => e.sas.filter((s) => s.state === 'established');

t.test('twelve SAs from one address and identity, set up slowly and out of order: all stay up on both ends', async (t) => {
  const conns = Array.from({ length: 12 }, (_, i) => connection(`c${i}`, { ...base, remoteAddress: B, remoteId: B, localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'] }));
  const a = new Ikev1Engine(conns, seededCrypto('na'), { retransmitBaseMs: 3000 });
  const b = responder();
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  let seed = 7;
  pair.filter = () => Math.floor(((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 4000); // 0-4 s each way
  for (let i = 0; i < conns.length; i++) pair.take('a', a.initiate(`c${i}`, { address: A, port: 500 }, pair.now));
  pair.run(60_000 + RETIRE_OLD_MS);
  t.equal(pair.of('a', 'install-child').length, 12, 'every initiator has its child');
  t.equal(pair.of('a', 'ike-down').length, 0, 'none went down');
  t.equal(pair.of('b', 'ike-rekeyed').length, 0, 'the responder took none of them for a renewal');
  t.same(live(b).map((s) => s.children.length), Array(12).fill(1), 'the responder holds twelve SAs with one child each');
});

t.test('a renewal under unique never: the old SA\'s children go to the new one when the peer deletes the old, none deleted', async (t) => {
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'], ikeRekeySeconds: 300 })], seededCrypto('ra'));
  const b = responder();
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  pair.run(60_000);
  const first = b.sas[0]!;
  const child = pair.of('b', 'install-child')[0]!.child;
  pair.run(300_000 + RETIRE_OLD_MS + 1_000);
  const [renewed] = pair.of('b', 'ike-rekeyed');
  t.equal(renewed?.oldSpi, first.ckyI, 'B saw the renewal when A deleted the old SA');
  t.equal(first.state, 'closed');
  t.same(live(b).map((s) => s.children.map((c) => c.inbound.spi)), [[child.inbound.spi]], 'the child moved over unchanged');
  t.equal(pair.of('a', 'delete-child').length + pair.of('b', 'delete-child').length, 0, 'no child was deleted');
  t.equal(pair.of('a', 'ike-down').length + pair.of('b', 'ike-down').length, 0, 'nothing went down');
  t.ok(pair.logs('b').some((l) => /deleted ISAKMP SA [0-9a-f]+: its 1 children go on under/.test(l)), 'and says so');
});
