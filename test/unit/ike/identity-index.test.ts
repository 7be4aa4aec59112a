// The engine finds SAs of one peer ID through an index (issue 23), not by looking at every SA:
// uniqueness, INITIAL_CONTACT and the pool lease of a replaced SA must behave as before.
import t from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { VirtualAddress, VirtualAddressProvider } from '../../../firmware/ike/engine/types.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

function testPool(): VirtualAddressProvider & { released: string[] } {
  const leases = new Map<string, VirtualAddress>();
  const released: string[] = [];
  return {
    released,
    lease: (_pool, identity) => leases.get(identity) ?? leases.set(identity, { ipv4: `10.10.0.${leases.size + 10}`, dns: [] }).get(identity),
    release: (_pool, identity) => void released.push(identity),
  };
}

function gateway(pool: VirtualAddressProvider, clients: string[]) {
  const a = new IkeEngine(clients.map((id, i) => connection(`c${i}`, { remoteAddress: B, localId: id, remoteTs: ['0.0.0.0/0'], requestVirtualIp: true })), seededCrypto('a'));
  const b = new IkeEngine([connection('ra', { pool: 'ra', localTs: ['0.0.0.0/0'], remoteTs: [] })], seededCrypto('b'), { addresses: pool });
  return new EnginePair(a, b);
}

const established = (pair: EnginePair) => pair.engines.b!.sas.filter((s) => s.state === 'established');

t.test('a second SA of the same ID (a reauthentication) replaces the first and keeps its lease', async (t) => {
  const pool = testPool();
  const pair = gateway(pool, ['alice@example.com', 'bob@example.com']);
  pair.take('a', pair.engines.a!.initiate('c0', { address: A, port: 500 }, 0));
  pair.run(5000);
  // Without INITIAL_CONTACT (§2.8.3): the gateway replaces the older SA itself (uniqueness), after
  // the new one holds the address.
  pair.take('a', pair.engines.a!.reauthenticate(pair.engines.a!.sas[0]!.spiI, pair.now));
  pair.run(pair.now + 5000);
  t.equal(pair.of('b', 'ike-up').length, 2);
  t.same(established(pair).map((s) => s.remoteId), ['alice@example.com'], 'one SA of alice left');
  t.same(pool.released, [], 'the lease stays: the new SA holds it');
  pair.take('a', pair.engines.a!.initiate('c1', { address: A, port: 500 }, pair.now));
  pair.run(pair.now + 5000);
  const addresses = pair.of('b', 'ike-up').map((u) => u.virtualIp?.ipv4);
  t.equal(addresses[0], addresses[1], 'alice kept her address');
  t.not(addresses[2], addresses[1], 'bob got another');
  t.equal(established(pair).length, 2, 'alice and bob up');
});

t.test('IKE SAs released of their IKE_SA_INIT state once established; a closed one leaves the index', async (t) => {
  const pool = testPool();
  const pair = gateway(pool, ['carol@example.com']);
  pair.take('a', pair.engines.a!.initiate('c0', { address: A, port: 500 }, 0));
  pair.run(5000);
  for (const side of ['a', 'b'] as const) {
    const [sa] = pair.engines[side]!.sas;
    t.equal(sa?.state, 'established');
    t.equal(sa?.initRequest.length, 0, `${side}: IKE_SA_INIT request let go`);
    t.equal(sa?.ni.length, 0, `${side}: nonces let go`);
  }
  // A rekeyed IKE SA is found by its ID too: the client's next SA replaces it.
  pair.take('a', pair.engines.a!.rekeyIke(pair.engines.a!.sas[0]!.spiI, pair.now));
  pair.run(pair.now + 5000);
  t.equal(pair.of('b', 'ike-rekeyed').length, 1);
  t.equal(established(pair).length, 1);
  pair.take('a', pair.engines.a!.terminate(pair.engines.a!.sas[0]!.spiI, pair.now));
  pair.run(pair.now + 5000);
  t.equal(established(pair).length, 0);
  t.same(pool.released, ['carol@example.com'], 'the lease goes back once the last holder closed');
});

t.test('many initiators naming one gateway ID (each its own connection) do not replace each other', async (t) => {
  const pool = testPool();
  const clients = Array.from({ length: 40 }, (_, i) => `client${i}@example.com`);
  const pair = gateway(pool, clients);
  clients.forEach((_, i) => pair.take('a', pair.engines.a!.initiate(`c${i}`, { address: A, port: 500 }, 0)));
  pair.run(5000);
  const initiators = pair.engines.a!.sas.filter((s) => s.state === 'established');
  t.equal(initiators.length, 40, 'every client SA up on the initiator side');
  t.equal(new Set(initiators.map((s) => s.remoteId)).size, 1, 'all of them name the same gateway');
  t.equal(established(pair).length, 40, 'and on the gateway');
  t.equal(pair.of('a', 'ike-down').length, 0, 'none replaced');
  // A second SA of one connection still replaces that connection's first (unique), and only it.
  pair.take('a', pair.engines.a!.reauthenticate(initiators[7]!.spiI, pair.now));
  pair.run(pair.now + 5000);
  t.equal(pair.engines.a!.sas.filter((s) => s.state === 'established').length, 40);
  t.equal(established(pair).length, 40);
});
