// The IKEv1 engine keeps its ISAKMP SAs by connection and peer address (issue 23: `others`, asked
// at each Main Mode's end, INITIAL-CONTACT and each renewal, looked through every SA). An SA whose
// peer moved (a NAT rebinding) is found at its new address.
import t from 'tap';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const B = '192.0.2.2';
const FIRST = '198.51.100.7';
const MOVED = '198.51.100.8';
const base = { ike: ['aes128-sha256-modp2048'], esp: ['aes256-sha256'], localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'] };
// One identity wherever the peer is (by default an IKEv1 peer's ID is its address).
const initiator = (seed: string) => new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, localId: 'site-a.example' })], seededCrypto(seed));

function gatewayWithPeerAt(address: string) {
  // The gateway's connection names no peer address: any peer with the key.
  const b = new Ikev1Engine([connection('any', { ...base, remoteId: 'site-a.example', localTs: base.remoteTs, remoteTs: base.localTs })], seededCrypto('pb'));
  const pair = new Ikev1Pair(initiator('pa'), b, { a: address, b: B });
  pair.take('a', pair.engines.a.initiate('to-b', { address, port: 500 }, 0));
  pair.run();
  return { b, pair };
}

/** A restarted peer at `address`, INITIAL-CONTACT in its Main Mode, against the same gateway. */
function restartAt(b: Ikev1Engine, address: string, now: number) {
  const pair = new Ikev1Pair(initiator('pa-restarted'), b, { a: address, b: B });
  pair.now = now;
  pair.take('a', pair.engines.a.initiate('to-b', { address, port: 500 }, now));
  pair.run(now + 5000);
  return pair;
}

t.test('an SA whose peer moved is replaced by INITIAL-CONTACT from its new address', async (t) => {
  const { b, pair } = gatewayWithPeerAt(FIRST);
  const old = b.sas[0]!;
  t.equal(old.state, 'established');
  old.remote = { address: MOVED, port: 4500 }; // as a NAT rebinding moves it
  restartAt(b, MOVED, pair.now + 1000);
  t.equal(old.state, 'closed', 'found at the address it moved to');
  t.match(old.history.at(-1), /replaced: .* sent INITIAL-CONTACT/);
  t.equal(b.sas.filter((s) => s.state === 'established').length, 1);
});

t.test('INITIAL-CONTACT from another address leaves the SA where its peer is', async (t) => {
  const { b, pair } = gatewayWithPeerAt(FIRST);
  const old = b.sas[0]!;
  restartAt(b, MOVED, pair.now + 1000);
  t.equal(old.state, 'established', 'a peer elsewhere is not the one that restarted');
  t.equal(b.sas.filter((s) => s.state === 'established').length, 2);
});
