import t from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { VirtualAddress, VirtualAddressProvider } from '../../../firmware/ike/engine/types.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

/** A tiny pool for the engine tests: addresses in order, one per identity, counting releases. */
function testPool(size: number): VirtualAddressProvider & { released: string[] } {
  const leases = new Map<string, VirtualAddress>();
  const released: string[] = [];
  return {
    released,
    lease(pool, identity) {
      const have = leases.get(identity);
      if (have) return have;
      if (leases.size >= size) return undefined;
      const lease = { ipv4: `10.10.0.${leases.size + 10}`, dns: ['10.2.0.53', '2001:db8::53'] };
      leases.set(identity, lease);
      return pool === 'ra' ? lease : undefined;
    },
    release(_pool, identity) {
      released.push(identity);
    },
  };
}

function remoteAccess(pool: VirtualAddressProvider, client: Record<string, unknown> = { requestVirtualIp: true }) {
  const a = new IkeEngine([connection('vpn', { remoteAddress: B, localId: 'alice@example.com', remoteTs: ['0.0.0.0/0'], ...client })], seededCrypto('a'));
  const b = new IkeEngine([connection('ra', { pool: 'ra', localTs: ['0.0.0.0/0'], remoteTs: [], splitSubnets: ['10.2.0.0/24'] })], seededCrypto('b'), { addresses: pool });
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('vpn', { address: A, port: 500 }, 0));
  pair.run(5000);
  return pair;
}

t.test('a client gets a virtual address and DNS; both children are narrowed to it', async (t) => {
  const pool = testPool(10);
  const pair = remoteAccess(pool);
  const up = pair.of('a', 'ike-up')[0];
  t.same(up?.virtualIp, { ipv4: '10.10.0.10', dns: ['10.2.0.53', '2001:db8::53'], subnets: ['10.2.0.0/24'] }, 'address, DNS and the split subnet');
  t.same(pair.of('a', 'install-child')[0]?.child.localTs, ['10.10.0.10/32'], 'client side: its virtual address');
  t.same(pair.of('b', 'install-child')[0]?.child.remoteTs, ['10.10.0.10/32'], 'gateway side: the same');
  t.same(pair.of('b', 'ike-up')[0]?.virtualIp?.ipv4, '10.10.0.10');
  t.ok(pair.logs('b').some((l) => /IKE_AUTH request 1 \[ IDi N\(INITIAL_CONTACT\) AUTH CP SA TSi TSr N\(MOBIKE_SUPPORTED\) \]/.test(l)));
  t.ok(pair.logs('a').some((l) => /IKE_AUTH response 1 \[ IDr AUTH CP SA TSi TSr N\(MOBIKE_SUPPORTED\) \]/.test(l)));
  // A child rekey keeps the virtual address in the selectors.
  const [child] = pair.engines.a!.sas[0]!.children;
  pair.take('a', pair.engines.a!.rekeyChild(pair.engines.a!.sas[0]!.spiI, child!.inbound.spi, pair.now));
  pair.run(pair.now + 1000);
  t.same(pair.of('b', 'rekey-child')[0]?.child.remoteTs, ['10.10.0.10/32'], 'rekeyed child: same address');
  pair.take('a', pair.engines.a!.terminate(pair.engines.a!.sas[0]!.spiI, pair.now));
  pair.run(pair.now + 1000);
  t.same(pool.released, ['alice@example.com'], 'the lease goes back to the pool when the SA ends');
});

t.test('an empty pool: INTERNAL_ADDRESS_FAILURE, the IKE SA stands without a child', async (t) => {
  const pair = remoteAccess(testPool(0));
  t.equal(pair.of('a', 'ike-up').length, 1);
  t.equal(pair.of('a', 'install-child').length, 0);
  t.ok(pair.logs('a').some((l) => l.includes('INTERNAL_ADDRESS_FAILURE')));
  t.ok(pair.logs('b').some((l) => l.includes("no address left in pool 'ra'")));
});

t.test('a remote-access connection refuses a child to a peer that asks for no address', async (t) => {
  const pair = remoteAccess(testPool(10), { requestVirtualIp: false, localTs: ['10.9.0.0/24'] });
  t.equal(pair.of('a', 'install-child').length, 0);
  t.ok(pair.logs('a').some((l) => l.includes('FAILED_CP_REQUIRED')));
});

t.test('INITIAL_CONTACT: a client that reconnects replaces its stale SA and gets its address back', async (t) => {
  const leases = new Map<string, string>();
  const pool: VirtualAddressProvider = {
    lease: (_p, id) => {
      if (leases.has(id)) return undefined; // held: a second SA for the same identity cannot have it
      leases.set(id, '10.10.0.7');
      return { ipv4: '10.10.0.7', dns: [] };
    },
    release: (_p, id) => void leases.delete(id),
  };
  const b = new IkeEngine([connection('ra', { pool: 'ra', localTs: ['0.0.0.0/0'], remoteTs: [] })], seededCrypto('b'), { addresses: pool });
  for (const seed of ['first', 'second']) {
    // The client "reboots": a fresh engine, no memory of the old SA.
    const a = new IkeEngine([connection('vpn', { remoteAddress: B, localId: 'alice@example.com', remoteTs: ['0.0.0.0/0'], requestVirtualIp: true })], seededCrypto(seed));
    const pair = new EnginePair(a, b);
    pair.take('a', a.initiate('vpn', { address: A, port: 500 }, 0));
    pair.run(5000);
    t.equal(pair.of('a', 'ike-up')[0]?.virtualIp?.ipv4, '10.10.0.7', `${seed} connection: the same address`);
  }
  t.equal(b.sas.length, 1, 'only the new SA is left on the gateway');
});

t.test('IPv4 and IPv6 virtual addresses together: both in the reply and both in the selectors', async (t) => {
  const pool: VirtualAddressProvider = { lease: () => ({ ipv4: '10.10.0.9', ipv6: 'fd00:10::9', dns: ['fd00::53'] }), release: () => {} };
  const a = new IkeEngine([connection('vpn', { remoteAddress: B, localId: 'bob@example.com', remoteTs: ['0.0.0.0/0', '::/0'], requestVirtualIp: true })], seededCrypto('a6'));
  const b = new IkeEngine([connection('ra', { pool: 'ra', localTs: ['0.0.0.0/0', '::/0'], remoteTs: [] })], seededCrypto('b6'), { addresses: pool });
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('vpn', { address: A, port: 500 }, 0));
  pair.run(5000);
  t.same(pair.of('a', 'ike-up')[0]?.virtualIp, { ipv4: '10.10.0.9', ipv6: 'fd00:10::9', dns: ['fd00::53'], subnets: [] });
  t.same(pair.of('b', 'install-child')[0]?.child.remoteTs, ['10.10.0.9/32', 'fd00:10::9/128'], 'the gateway routes both addresses to the client');
});
