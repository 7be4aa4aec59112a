// IKEv1 Aggressive Mode with a pre-shared key (RFC 2409 §5.4), only for a connection that allows
// it: two engines back to back on a simulated clock, the responder picking the connection by the
// initiator's ID (a peer with a changing address), through a NAT, with message 3 lost once; and
// refused, with the reason, when the connection does not allow it or the keys differ.
import t from 'tap';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

function pairOf(overA: Partial<IkeConnection> = {}, overB: Partial<IkeConnection> = {}, before: (pair: Ikev1Pair) => void = () => {}) {
  const base = { ike: ['aes256-sha256-modp2048', 'aes128-sha1-modp2048'], esp: ['aes128-sha1'] };
  const a = new Ikev1Engine([connection('to-b', { ...base, aggressive: true, localId: 'branch-7.example', remoteId: 'hq.example', remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], ...overA })], seededCrypto('a'));
  // The responder knows the peer only by its ID: no remote address.
  const b = new Ikev1Engine([connection('branch-7', { ...base, aggressive: true, localId: 'hq.example', remoteId: 'branch-7.example', localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...overB })], seededCrypto('b'));
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  before(pair);
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  return pair;
}

t.test('Aggressive Mode then Quick Mode, the responder choosing the connection by the initiator\'s ID', async (t) => {
  const pair = pairOf();
  pair.run();
  t.equal(pair.of('b', 'ike-up')[0]?.remoteId, 'branch-7.example');
  t.equal(pair.of('a', 'ike-up')[0]?.remoteId, 'hq.example');
  t.equal(pair.of('a', 'install-child').length, 1, 'the child follows');
  t.equal(pair.of('b', 'install-child')[0]?.child.outbound.spi, pair.of('a', 'install-child')[0]?.child.inbound.spi);
  t.same(pair.wireLog.filter((p) => p.packet[18] === 4).length, 3, 'three Aggressive Mode messages');
  t.ok(pair.logs('a').some((l) => /cracked offline/.test(l)) && pair.logs('b').some((l) => /cracked offline/.test(l)), 'both sides flag it in the log');
  t.match(pair.engines.b.sas[0]?.history.join('\n'), /am2 -> established: authenticated branch-7\.example with the pre-shared key \(Aggressive Mode\)/);
  const third = pair.wireLog.filter((p) => p.packet[18] === 4)[2]!;
  t.equal(third.packet[19]! & 1, 1, 'message 3 is encrypted');
});

t.test('through a NAT, with message 3 lost once: the responder resends 2, the initiator answers again', async (t) => {
  const NAT = '198.51.100.7';
  const mapped = new Map<number, number>();
  let lost = false;
  const pair = pairOf({}, {}, (pair) => {
    pair.nat = (p) => {
      if (p.from.address === A) {
        mapped.set(p.from.port + 10000, p.from.port);
        return { ...p, from: { address: NAT, port: p.from.port + 10000 } };
      }
      if (p.to.address === NAT) return { ...p, to: { address: A, port: mapped.get(p.to.port) ?? 0 } };
      return p;
    };
    pair.filter = (p) => {
      if (!lost && p.packet[18] === 4 && p.from.address === A && (p.packet[19]! & 1) === 1) { lost = true; return 'drop'; }
      return 'deliver';
    };
  });
  pair.run();
  t.ok(lost, 'message 3 was lost');
  t.equal(pair.of('b', 'ike-up').length, 1, 'and phase 1 still completed');
  const child = pair.of('a', 'install-child')[0]?.child;
  t.same(child?.encapsulation, { localPort: 4500, remotePort: 4500 }, 'NAT-D in messages 2 and 3: UDP-encapsulated ESP');
  t.equal(pair.of('b', 'install-child').length, 1, 'the Quick Mode that overtook the lost message 3 was taken on its retransmission');
});

t.test('refused: a connection without Aggressive Mode, an unknown ID, different keys', async (t) => {
  const off = pairOf({}, { aggressive: false });
  off.run();
  t.equal(off.of('b', 'ike-up').length, 0);
  t.ok(off.logs('b').some((l) => /Aggressive Mode from 192\.0\.2\.1 refused with NO-PROPOSAL-CHOSEN: Aggressive Mode is not enabled for branch-7\.example/.test(l)), 'the responder says why');
  const unknown = pairOf({ localId: 'stranger.example' });
  unknown.run();
  t.equal(unknown.of('b', 'ike-up').length, 0, 'an ID no connection names is refused');
  const wrongKey = pairOf({}, { psk: new Secret('a different key entirely 123') });
  wrongKey.run();
  t.equal(wrongKey.of('a', 'ike-up').length, 0);
  t.ok(wrongKey.logs('a').some((l) => /HASH_R does not match: the pre-shared keys differ/.test(l)), 'the initiator sees the keys differ at message 2');
});
