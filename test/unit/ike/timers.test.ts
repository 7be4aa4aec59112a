// The engine keeps each SA's next deadline in a heap (issue 23) instead of looking through every SA:
// deadlines that move (a peer heard from, a request answered) must still fire when due, never early.
import t from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import { ExchangeType } from '../../../firmware/ike/registry/numbers.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

/** The INFORMATIONAL requests a side sent (liveness checks here), by exchange type and response bit. */
const informationalRequests = (pair: EnginePair, side: 'a' | 'b') =>
  pair.of(side, 'send').filter((s) => s.packet[18] === ExchangeType.INFORMATIONAL && (s.packet[19]! & 0x20) === 0).length;

function pairOf(clients: number, dpdA: number, dpdB: number) {
  const a = new IkeEngine(Array.from({ length: clients }, (_, i) => connection(`c${i}`, { remoteAddress: B, localId: `site${i}.example`, dpdSeconds: dpdA })), seededCrypto('ta'));
  const b = new IkeEngine([connection('any', { localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], dpdSeconds: dpdB })], seededCrypto('tb'));
  const pair = new EnginePair(a, b);
  for (let i = 0; i < clients; i++) pair.take('a', a.initiate(`c${i}`, { address: A, port: 500 }, 0));
  return pair;
}

t.test('a liveness check goes out when its SA has been silent for the interval, not before', async (t) => {
  const pair = pairOf(20, 10, 0);
  pair.run(5000);
  t.equal(pair.engines.a!.sas.filter((s) => s.state === 'established').length, 20);
  pair.run(9_000);
  t.equal(informationalRequests(pair, 'a'), 0, 'none before 10 s of silence');
  pair.run(10_500);
  t.equal(informationalRequests(pair, 'a'), 20, 'one per SA once 10 s passed');
  pair.run(30_500);
  t.equal(informationalRequests(pair, 'a'), 60, 'and again every 10 s after each answer');
});

t.test("a peer's own checks keep an SA heard from: its deadline moves out and nothing is sent early", async (t) => {
  // B checks every 4 s, so A hears from each SA at least that often and never needs its own 10 s check.
  const pair = pairOf(20, 10, 4);
  pair.run(60_000);
  t.ok(informationalRequests(pair, 'b') >= 20 * 14, `the gateway checked (${informationalRequests(pair, 'b')})`);
  t.equal(informationalRequests(pair, 'a'), 0, 'the clients never had to');
  // Then B goes silent: each of A's SAs notices after 10 s and gives up after its retransmissions.
  pair.filter = (p) => (p.from.address === B ? 'drop' : 'deliver');
  pair.run(pair.now + 1_000_000);
  t.equal(pair.of('a', 'ike-down').length, 20, 'every SA closed');
  t.match(pair.of('a', 'ike-down')[0]?.reason, /no answer to INFORMATIONAL/);
  t.equal(pair.engines.a!.nextTimeout(), undefined, 'nothing left to wake for');
});
