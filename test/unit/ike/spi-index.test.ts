// The engine finds an IKE SA by its initiator SPI through an index (issue 23: terminate, the CoA's
// session timeout, rekeys and a reauthentication's retirement each looked through every SA). Peers
// pick initiator SPIs, so two may pick the same: both are kept, found in the order they came.
import t from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { IkeAction } from '../../../firmware/ike/engine/types.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
const sends = (actions: IkeAction[]) => actions.filter((a) => a.type === 'send');

t.test('two peers with the same initiator SPI: each found, terminated in turn, the index emptied', async (t) => {
  const client = new IkeEngine([connection('c', { remoteAddress: B })], seededCrypto('a'));
  const gateway = new IkeEngine([connection('gw', {})], seededCrypto('b'));
  const [init] = sends(client.initiate('c', { address: A, port: 500 }, 0));
  if (init?.type !== 'send') throw new Error('no IKE_SA_INIT');
  // The same first message from two addresses: two half-open SAs under one initiator SPI.
  for (const address of ['198.51.100.1', '198.51.100.2']) t.equal(sends(gateway.handlePacket(init.packet, { address, port: 500 }, { address: B, port: 500 }, 1)).length, 1, `${address} answered`);
  const spi = gateway.sas[0]!.spiI;
  t.same(gateway.sas.map((s) => s.spiI), [spi, spi], 'both kept');
  t.equal(gateway.findSa(spi)?.remote.address, '198.51.100.1', 'the first that came is found first');
  t.equal(gateway.findSa(spi, (s) => s.remote.address === '198.51.100.2')?.remote.address, '198.51.100.2', 'the other by what the caller asks');
  t.equal(gateway.findSa(spi ^ 1n), undefined, 'no SA under another SPI');
  gateway.terminate(spi, 2);
  t.same(gateway.sas.map((s) => s.remote.address), ['198.51.100.2'], 'terminate closed the first');
  t.equal(gateway.findSa(spi)?.remote.address, '198.51.100.2', 'the second is found now');
  t.equal(gateway.halfOpenCount, 1, 'one half-open left');
  gateway.terminate(spi, 3);
  t.equal(gateway.sas.length, 0);
  t.equal(gateway.findSa(spi), undefined, 'none left under the SPI');
  t.equal(gateway.halfOpenCount, 0, 'none half-open');
});

t.test('a reauthentication: the old SA leaves the index, the new one is found on both sides', async (t) => {
  const a = new IkeEngine([connection('c', { remoteAddress: B, localId: 'dave@example.com' })], seededCrypto('a'));
  const b = new IkeEngine([connection('gw', {})], seededCrypto('b'));
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('c', { address: A, port: 500 }, 0));
  pair.run(5000);
  const old = a.sas[0]!;
  t.equal(a.findSa(old.spiI), old, 'found by its SPI');
  // Make before break (§2.8.3): the new SA up, then the old one retired (by the client, or by the
  // gateway's uniqueness check), and no connection reported down.
  pair.take('a', a.reauthenticate(old.spiI, pair.now));
  pair.run(pair.now + 5000);
  const up = a.sas.filter((s) => s.state === 'established');
  t.equal(up.length, 1, 'one SA up on the client');
  t.not(up[0]!.spiI, old.spiI, 'the new one');
  t.equal(a.findSa(old.spiI), undefined, 'the old one left the index');
  t.equal(pair.of('a', 'ike-down').length, 0, 'no ike-down for the replaced SA');
  t.equal(b.sas.filter((s) => s.state === 'established').length, 1, 'one on the gateway');
  t.equal(b.findSa(up[0]!.spiI), b.sas.find((s) => s.state === 'established'), 'the gateway finds it by its initiator SPI');
  t.equal(b.setSessionTimeout(old.spiI, 10, pair.now), false, 'the old SPI names nothing on the gateway');
  t.equal(b.setSessionTimeout(up[0]!.spiI, 10, pair.now), true, 'the new one takes a session timeout');
});
