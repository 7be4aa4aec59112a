// Hostile input to the IKEv1 engine: random bytes and mutated real messages, fed to a fresh
// responder and to both sides of an established pair, never throw; what is dropped is counted.
import fc from 'fast-check';
import t from 'tap';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
const conns = (side: 'a' | 'b') => [connection(side === 'a' ? 'to-b' : 'to-a', { ike: ['aes128-sha1-modp2048'], esp: ['aes128-sha1'], remoteAddress: side === 'a' ? B : A, localTs: [side === 'a' ? '10.1.0.0/16' : '10.2.0.0/16'], remoteTs: [side === 'a' ? '10.2.0.0/16' : '10.1.0.0/16'] })];

function established() {
  const pair = new Ikev1Pair(new Ikev1Engine(conns('a'), seededCrypto('fa')), new Ikev1Engine(conns('b'), seededCrypto('fb')), { a: A, b: B });
  pair.take('a', pair.engines.a.initiate('to-b', { address: A, port: 500 }, 0));
  pair.run();
  return pair;
}

t.test('property: random and mutated packets never throw, fresh or established', async (t) => {
  const pair = established();
  t.equal(pair.of('b', 'install-child').length, 1, 'the pair is up before the fuzzing');
  const captured = pair.wireLog.map((p) => p.packet);
  const fresh = new Ikev1Engine(conns('b'), seededCrypto('fresh'));
  let now = pair.now;
  const packet = fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    fc.tuple(fc.constantFrom(...captured), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 })).map(([p, edits]) => {
      const m = Buffer.from(p);
      for (const [at, v] of edits) m[at % m.length] = v;
      return m;
    }),
  );
  fc.assert(fc.property(packet, fc.boolean(), (p, toA) => {
    now += 7;
    fresh.handlePacket(p, { address: A, port: 500 }, { address: B, port: 500 }, now);
    const side = toA ? 'a' : 'b';
    pair.engines[side].handlePacket(p, { address: toA ? B : A, port: 500 }, { address: toA ? A : B, port: 500 }, now);
    pair.engines[side].tick(now);
    return true;
  }), { numRuns: 1500 });
  const drops = Object.values(pair.engines.b.drops).reduce((x, y) => x + y, 0) + Object.values(fresh.drops).reduce((x, y) => x + y, 0);
  t.ok(drops > 0, `${drops} hostile packets dropped and counted`);
});
