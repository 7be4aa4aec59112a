// One UDP 500/4500 endpoint for both IKE versions (issue 19): two gateways whose facades route each
// message by its ISAKMP major version, back to back on a simulated clock. An IKEv1 site and an
// IKEv2 site between the same two addresses come up side by side; without IKEv1 configured, an
// IKEv1 peer still gets the quick NO-PROPOSAL-CHOSEN.
import t from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { IkeVersionDispatch } from '../../../firmware/ike/version-dispatch.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
const v1 = (name: string, over: Partial<IkeConnection>) => connection(name, { ike: ['aes256-sha256-modp2048'], esp: ['aes128-sha1'], ...over });

function gateway(side: 'a' | 'b', withV1: boolean): IkeVersionDispatch {
  const peer = side === 'a' ? B : A;
  const [local, remote] = side === 'a' ? ['10.1.0.0/24', '10.2.0.0/24'] : ['10.2.0.0/24', '10.1.0.0/24'];
  const [local1, remote1] = side === 'a' ? ['10.3.0.0/24', '10.4.0.0/24'] : ['10.4.0.0/24', '10.3.0.0/24'];
  const v2 = new IkeEngine([connection('site:v2', { remoteAddress: peer, localTs: [local], remoteTs: [remote] })], seededCrypto(`${side}2`));
  if (!withV1) return new IkeVersionDispatch(v2);
  const conns = [v1('site:v1', { remoteAddress: peer, localTs: [local1], remoteTs: [remote1] })];
  return new IkeVersionDispatch(v2, { engine: new Ikev1Engine(conns, seededCrypto(`${side}1`)), connections: conns.map((c) => c.name) });
}

t.test('an IKEv1 site and an IKEv2 site on the same endpoint: each message reaches its version\'s engine', async (t) => {
  const a = gateway('a', true);
  const b = gateway('b', true);
  const pair = new EnginePair(a, b, { a: A, b: B });
  pair.take('a', a.initiate('site:v1', { address: A, port: 500 }, 0));
  pair.take('b', b.initiate('site:v2', { address: B, port: 500 }, 0));
  pair.run(60_000);
  const up = (side: 'a' | 'b') => pair.of(side, 'ike-up').map((u) => u.connection).sort();
  t.same(up('a'), ['site:v1', 'site:v2'], 'A: both sites up');
  t.same(up('b'), ['site:v1', 'site:v2'], 'B: both sites up');
  t.same(pair.of('b', 'install-child').map((c) => c.child.remoteTs[0]).sort(), ['10.1.0.0/24', '10.3.0.0/24'], 'a child for each');
  t.equal(a.v1?.sas.filter((s) => s.state === 'established').length, 1, 'the IKEv1 SA lives in the IKEv1 engine');
  t.equal(a.v2.sas.filter((s) => s.state === 'established').length, 1, 'the IKEv2 SA in the IKEv2 engine');
  t.notOk(pair.logs('a').some((l) => /IKEv1 request .* refused/.test(l)), 'no IKEv1 message was refused');
  t.equal(a.v2.drops['ikev1'] ?? 0, 0);

  // Terminate routes by the SA's name: the IKEv1 SA's initiator cookie.
  const spi = a.v1!.sas[0]!.ckyI;
  pair.take('a', a.terminate(spi, pair.now));
  pair.run(pair.now + 5_000);
  t.equal(pair.of('b', 'ike-down').map((d) => d.connection).join(), 'site:v1', 'B saw only the IKEv1 site go down');
  t.equal(b.v2.sas.filter((s) => s.state === 'established').length, 1, 'the IKEv2 site stays up');
});

t.test('without an IKEv1 engine an IKEv1 initiator is refused at once by the IKEv2 engine', async (t) => {
  const a = gateway('a', true);
  const b = gateway('b', false);
  const pair = new EnginePair(a, b, { a: A, b: B });
  pair.take('a', a.initiate('site:v1', { address: A, port: 500 }, 0));
  pair.run(10_000);
  t.equal(b.v2.drops['ikev1'], 1, 'B counted the IKEv1 message');
  t.ok(pair.logs('b').some((l) => /IKEv1 request from 192\.0\.2\.1:500 refused/.test(l)), 'and said so');
  t.ok(pair.logs('a').some((l) => /NO-PROPOSAL-CHOSEN|NO_PROPOSAL_CHOSEN/.test(l)), `A heard NO-PROPOSAL-CHOSEN: ${pair.logs('a').filter((l) => /notif|refus/.test(l)).join(' | ')}`);
  t.equal(a.v1?.sas.filter((s) => s.state === 'established').length, 0);
  t.equal(a.nextTimeout(), undefined, 'A gave up: nothing left to time');
});
