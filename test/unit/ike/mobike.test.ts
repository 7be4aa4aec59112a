import t from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

function pair(mobikeOnGateway = true) {
  const a = new IkeEngine([connection('to-b', { remoteAddress: B, dpdSeconds: 0 })], seededCrypto('a'));
  const b = new IkeEngine([connection('to-a', { localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], dpdSeconds: 0, mobike: mobikeOnGateway })], seededCrypto('b'));
  const p = new EnginePair(a, b);
  p.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  p.run(2000);
  return p;
}

t.test('MOBIKE: the client moves, the gateway follows after UPDATE_SA_ADDRESSES, the children too', async (t) => {
  const p = pair();
  const sa = p.engines.a!.sas[0]!;
  t.ok(sa.mobike && p.engines.b!.sas[0]!.mobike, 'both announced MOBIKE_SUPPORTED');
  p.aliases['198.51.100.9'] = 'a';
  p.take('a', p.engines.a!.moveLocal(sa.spiI, { address: '198.51.100.9', port: 4500 }, p.now));
  p.run(p.now + 2000);
  t.ok(p.logs('b').some((l) => /INFORMATIONAL request 2 \[ N\(UPDATE_SA_ADDRESSES\) N\(NAT_DETECTION_SOURCE_IP\) N\(NAT_DETECTION_DESTINATION_IP\) \]/.test(l)));
  t.same(p.engines.b!.sas[0]!.remote, { address: '198.51.100.9', port: 4500 }, 'the gateway talks to the new address');
  t.equal(p.of('b', 'move-child')[0]?.child.outbound.destination, '198.51.100.9', 'its child SA sends there');
  t.equal(p.of('a', 'move-child')[0]?.child.outbound.source, '198.51.100.9', 'the client\'s child SA sends from there');
  t.notOk(p.engines.b!.sas[0]!.natDetected, 'no NAT on the new path either');
  // The SA still works from the new address: a child rekey and a delete.
  const [child] = p.engines.a!.sas[0]!.children;
  p.take('a', p.engines.a!.rekeyChild(sa.spiI, child!.inbound.spi, p.now));
  p.run(p.now + 2000);
  t.equal(p.of('b', 'rekey-child').length, 1, 'a rekey over the new path');
});

t.test('without MOBIKE on the gateway the client cannot move, and without NAT nobody else moves the SA', async (t) => {
  const p = pair(false);
  const sa = p.engines.a!.sas[0]!;
  t.notOk(sa.mobike, 'not negotiated');
  t.same(p.engines.a!.moveLocal(sa.spiI, { address: '198.51.100.9', port: 4500 }, p.now).filter((x) => x.type === 'send'), [], 'nothing sent');
  t.same(p.engines.b!.sas[0]!.remote, { address: A, port: 500 });
});
