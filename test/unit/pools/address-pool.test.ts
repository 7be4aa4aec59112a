import fc from 'fast-check';
import t from 'tap';
import type { PoolConfig, UserConfig } from '../../../firmware/config/types.ts';
import { AddressPool } from '../../../firmware/pools/address-pool.ts';
import { ikeAddressProvider } from '../../../firmware/pools/ike-addresses.ts';
import { PoolRegistry } from '../../../firmware/pools/pool-registry.ts';

const config = (ipv4: string, ipv6?: string, name = 'p'): PoolConfig => ({ name, ipv4, ...(ipv6 === undefined ? {} : { ipv6 }), dns: ['10.0.0.53'] });
const user = (name: string, staticIPv4?: string): UserConfig => ({ name, ntHash: '0'.repeat(32), enabled: true, ...(staticIPv4 === undefined ? {} : { staticIPv4 }) });

t.test('one lease per identity, and the same address after a reconnect', async (t) => {
  const pool = new AddressPool(config('10.10.0.0/24'));
  const alice = pool.allocate('alice', 1)!;
  t.same(alice, { identity: 'alice', ipv4: '10.10.0.1', since: 1 });
  t.equal(pool.allocate('alice', 2), alice, 'a second allocate returns the held lease');
  t.equal(pool.allocate('bob', 3)?.ipv4, '10.10.0.2');
  t.ok(pool.release('alice', 4));
  t.notOk(pool.release('alice', 5), 'nothing left to release');
  t.equal(pool.leaseOf('alice'), undefined);
  t.equal(pool.allocate('carol', 6)?.ipv4, '10.10.0.3', 'the released address stays reserved for alice');
  t.same(pool.stats(), { size: 254, leased: 2, reserved: 1, free: 251 });
  t.equal(pool.allocate('alice', 7)?.ipv4, '10.10.0.1');
  t.equal(pool.holderOf('10.10.0.1'), 'alice');
  t.equal(pool.holderOf('10.10.0.9'), undefined);
  t.equal(pool.holderOf('10.10.0.0'), undefined, 'the network address is never anybody\'s');
});

t.test('separate sessions of one user get separate addresses; the first keeps the user\'s own', async (t) => {
  const pool = new AddressPool(config('10.0.0.0/24'), [['shop', '10.0.0.50']]);
  const first = pool.sessionIdentity('shop');
  t.equal(first, 'shop', 'no session yet: the user\'s own name');
  t.equal(pool.allocate(first, 1)?.ipv4, '10.0.0.50', 'and so the static address');
  const second = pool.sessionIdentity('shop');
  t.equal(second, 'shop#2', 'a second register on the same account: a name of its own');
  const secondAddress = pool.allocate(second, 2)?.ipv4;
  t.not(secondAddress, '10.0.0.50', 'and an address of its own');
  t.equal(pool.sessionIdentity('shop'), 'shop#3');
  pool.release('shop', 3);
  t.equal(pool.sessionIdentity('shop'), 'shop', 'the first gone, the next session takes the user\'s name and static back');
  pool.release(second, 4);
  t.equal(pool.allocate(pool.sessionIdentity('shop'), 5)?.ipv4, '10.0.0.50');
  t.equal(pool.allocate(pool.sessionIdentity('shop'), 6)?.ipv4, secondAddress, 'a redial of the second register gets its address back');
});

t.test('IKEv2 shares a lease among one identity\'s SAs but never with another protocol\'s session', async (t) => {
  const registry = new PoolRegistry([config('10.0.0.0/24')], []);
  const pool = registry.get('p')!;
  const ike = ikeAddressProvider(registry, () => 1);
  const ppp = pool.allocate(pool.sessionIdentity('alice'), 1)!;
  const first = ike.lease('p', 'alice')!;
  t.not(first.ipv4, ppp.ipv4, 'alice on SSTP and on IKEv2 at once: two addresses');
  t.same(ike.lease('p', 'alice'), first, 'a reauthentication of the IKE SA keeps its address');
  ike.release('p', 'alice');
  t.equal(pool.leaseOf('alice'), ppp, 'releasing the IKE lease leaves the SSTP session\'s');
  ike.release('p', 'alice');
  t.equal(pool.leaseOf('alice'), ppp, 'and a second release of that identity (a stop after the engine released it) does not free it either');
  t.equal(pool.holderOf(first.ipv4!), undefined, 'and frees the IKE one');
  t.equal(pool.holderOf(ike.lease('p', 'bob')!.ipv4!), 'bob', 'an identity alone keeps its own name');
});

t.test('static addresses belong to their user only', async (t) => {
  const pool = new AddressPool(config('10.0.0.0/29'), [['sam', '10.0.0.3'], ['outsider', '192.0.2.1']]);
  t.same(pool.stats(), { size: 6, leased: 0, reserved: 1, free: 5 }, 'an idle static counts as reserved');
  const others = ['a', 'b', 'c', 'd', 'e'].map((id) => pool.allocate(id, 0)?.ipv4);
  t.notOk(others.includes('10.0.0.3'));
  t.equal(pool.allocate('f', 0), undefined, 'the static is not handed out even when the pool is full');
  t.equal(pool.allocate('sam', 1)?.ipv4, '10.0.0.3', 'and its owner still gets it');
  pool.release('sam', 2);
  t.same(pool.stats(), { size: 6, leased: 5, reserved: 1, free: 0 });
  t.equal(pool.allocate('f', 3), undefined);
  t.equal(pool.allocate('outsider', 4), undefined, 'a static outside the pool was ignored');
});

t.test('a static given with allocate must be inside the pool and nobody else\'s', async (t) => {
  const pool = new AddressPool(config('10.0.0.0/24'), [['sam', '10.0.0.3']]);
  pool.allocate('bob', 0);
  t.equal(pool.allocate('x', 0, { staticIPv4: '10.0.1.5' }), undefined, 'outside');
  t.equal(pool.allocate('x', 0, { staticIPv4: '10.0.0.0' }), undefined, 'the network address');
  t.equal(pool.allocate('x', 0, { staticIPv4: '10.0.0.255' }), undefined, 'the broadcast address');
  t.equal(pool.allocate('x', 0, { staticIPv4: '10.0.0.3' }), undefined, 'another user\'s static');
  t.equal(pool.allocate('x', 0, { staticIPv4: '10.0.0.1' }), undefined, 'leased to bob');
  t.equal(pool.allocate('sam', 0, { staticIPv4: '10.0.0.3' })?.ipv4, '10.0.0.3');
  t.equal(pool.allocate('pat', 1, { staticIPv4: '10.0.0.77' })?.ipv4, '10.0.0.77');
  pool.release('pat', 2);
  for (let i = 0; i < 251; i++) t.not(pool.allocate(`u${i}`, 3)?.ipv4, '10.0.0.77');
  t.equal(pool.allocate('late', 3), undefined, 'full: the pinned address is not reused');
  t.equal(pool.allocate('pat', 4)?.ipv4, '10.0.0.77');
});

t.test('exhaustion in a /29 reuses the least recently released reservation first', async (t) => {
  const pool = new AddressPool(config('192.168.5.8/29'));
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  t.same(ids.map((id) => pool.allocate(id, 0)?.ipv4), ['192.168.5.9', '192.168.5.10', '192.168.5.11', '192.168.5.12', '192.168.5.13', '192.168.5.14']);
  t.equal(pool.allocate('g', 1), undefined);
  t.same(pool.stats(), { size: 6, leased: 6, reserved: 0, free: 0 });
  pool.release('c', 2);
  pool.release('a', 3);
  t.same(pool.stats(), { size: 6, leased: 4, reserved: 2, free: 0 });
  t.equal(pool.allocate('g', 4)?.ipv4, '192.168.5.11', 'c released first, so its address goes first');
  t.equal(pool.allocate('c', 5)?.ipv4, '192.168.5.9', 'c lost its address and takes what is left');
  t.equal(pool.allocate('a', 6), undefined);
  pool.release('g', 7);
  t.equal(pool.allocate('a', 8)?.ipv4, '192.168.5.11');
});

t.test('/31 has both addresses, /32 its one', async (t) => {
  const p31 = new AddressPool(config('10.0.0.6/31'));
  t.equal(p31.size, 2);
  t.same([p31.allocate('a', 0)?.ipv4, p31.allocate('b', 0)?.ipv4, p31.allocate('c', 0)], ['10.0.0.6', '10.0.0.7', undefined]);
  const p32 = new AddressPool(config('10.0.0.9/32', 'fd00::/64'));
  t.same(p32.allocate('a', 0), { identity: 'a', ipv4: '10.0.0.9', ipv6: 'fd00::1', since: 0 });
  t.equal(p32.allocate('b', 0), undefined);
  t.same(p32.stats(), { size: 1, leased: 1, reserved: 0, free: 0 });
  t.throws(() => new AddressPool(config('fd00::/64')), { code: 'POSTERN_ERR_CONFIG_INVALID' });
  t.throws(() => new AddressPool(config('10.0.0.0/24', 'fd00::/128')), { code: 'POSTERN_ERR_CONFIG_INVALID' });
});

t.test('IPv6 is the prefix plus the IPv4 host number, never the anycast address, and stable', async (t) => {
  const pool = new AddressPool(config('10.10.0.77/24', '2001:db8:0:1::99/64'));
  t.equal(pool.allocate('a', 0)?.ipv6, '2001:db8:0:1::1');
  t.equal(pool.allocate('b', 0, { staticIPv4: '10.10.0.254' })?.ipv6, '2001:db8:0:1::fe');
  t.equal(pool.holderOf('2001:db8:0:1::fe'), 'b');
  t.equal(pool.holderOf('2001:db8:0:1:0:0:0:1'), 'a', 'any spelling');
  t.equal(pool.holderOf('2001:db8:0:1::'), undefined);
  t.equal(pool.holderOf('2001:db8:0:2::1'), undefined);
  pool.release('a', 1);
  pool.allocate('c', 2);
  t.equal(pool.allocate('a', 3)?.ipv6, '2001:db8:0:1::1', 'the same /128 after a reconnect');
  const p31 = new AddressPool(config('10.0.0.0/31', 'fd00:10::/64'));
  t.equal(p31.allocate('a', 0)?.ipv6, 'fd00:10::1', 'offset 0 does not become the subnet-router anycast address');
  const narrow = new AddressPool(config('10.0.0.0/29', 'fd00::/126'));
  t.same(['a', 'b', 'c', 'd'].map((id) => narrow.allocate(id, 0)?.ipv6), ['fd00::1', 'fd00::2', 'fd00::3', undefined], 'no IPv6 beyond the host bits');
  const wide = new AddressPool(config('10.0.0.0/16', '1:0:0:2::/64'));
  t.equal(wide.allocate('z', 0, { staticIPv4: '10.0.255.254' })?.ipv6, '1:0:0:2::fffe');
});

t.test('a /64 per PPP session from a /63 or shorter prefix, beside the /128s in the 0th /64 (issue 20)', async (t) => {
  const pool = new AddressPool(config('10.10.0.0/24', 'fd00:10::/48'));
  t.ok(pool.givesSlash64);
  t.equal(pool.ipv6Prefix, 'fd00:10::/48');
  const a = pool.allocate('a', 0)!;
  const b = pool.allocate('b', 0, { staticIPv4: '10.10.0.254' })!;
  t.same(a, { identity: 'a', ipv4: '10.10.0.1', ipv6: 'fd00:10::1', ipv6Prefix: 'fd00:10:0:1::/64', since: 0 }, 'the /128 stays where IKEv2 had it; the /64 is the offset + 1st');
  t.equal(b.ipv6Prefix, 'fd00:10:0:fe::/64');
  t.equal(pool.holderOf('fd00:10:0:1::1234'), 'a', 'any address in the /64 belongs to its holder (a temporary address)');
  t.equal(pool.holderOf('fd00:10:0:1:ffff:ffff:ffff:ffff'), 'a');
  t.equal(pool.holderOf('fd00:10:0:2::1'), undefined, 'an unleased /64 is nobody\'s');
  t.equal(pool.holderOf('fd00:10::1'), 'a', 'the /128 in the 0th /64 too');
  t.equal(pool.holderOf('fd00:10::'), undefined);
  pool.release('a', 1);
  t.equal(pool.holderOf('fd00:10:0:1::1'), undefined, 'a released /64 is nobody\'s');
  t.equal(pool.allocate('a', 2)?.ipv6Prefix, 'fd00:10:0:1::/64', 'the same /64 after a reconnect');

  const tight = new AddressPool(config('10.0.0.0/29', 'fd00:20::/62'));
  t.same(['a', 'b', 'c', 'd'].map((id) => tight.allocate(id, 0)?.ipv6Prefix), ['fd00:20:0:1::/64', 'fd00:20:0:2::/64', 'fd00:20:0:3::/64', undefined], 'no /64 past the last one');
  t.equal(tight.leaseOf('d')?.ipv6, 'fd00:20::4', 'that offset keeps its /128');
  for (const single of ['fd00::/64', 'fd00::/80']) {
    const p = new AddressPool(config('10.0.0.0/24', single));
    t.notOk(p.givesSlash64, `${single} has no /64 to spare`);
    t.equal(p.allocate('a', 0)?.ipv6Prefix, undefined);
  }
  t.equal(new AddressPool(config('10.0.0.0/24', 'fd00::/63')).allocate('a', 0)?.ipv6Prefix, 'fd00:0:0:1::/64', 'a /63 has one /64 beside the 0th');
  t.notOk(new AddressPool(config('10.0.0.0/24')).givesSlash64);

  // Stored /64s come back only where this pool derives the same one.
  const copy = new AddressPool(config('10.10.0.0/24', 'fd00:10::/48'));
  const dropped = copy.importState(JSON.parse(JSON.stringify({ ...pool.exportState(), leases: [...pool.exportState().leases, { identity: 'x', ipv4: '10.10.0.9', ipv6Prefix: 'fd00:10:0:8::/64', since: 1 }, { identity: 'y', ipv4: '10.10.0.10', ipv6Prefix: 7, since: 1 }] })));
  t.same(dropped.map((l) => l.identity), ['x'], 'a /64 that is not the offset\'s is dropped; a malformed one never read');
  t.same(copy.leaseOf('b'), b);
  t.equal(copy.holderOf('fd00:10:0:fe::99'), 'b');
  t.same(new AddressPool(config('10.10.0.0/24', 'fd00:10::/64')).importState(pool.exportState()).map((l) => l.identity).sort(), ['a', 'b'], 'a pool that gives no /64s drops leases that had one');
});

t.test('export and import round trip through JSON', async (t) => {
  const cfg = config('10.0.0.0/28', 'fd00::/64');
  const pool = new AddressPool(cfg, [['sam', '10.0.0.14']]);
  for (const id of ['a', 'b', 'c', 'd', 'sam']) pool.allocate(id, 10);
  pool.release('b', 20);
  pool.release('a', 30);
  pool.release('sam', 40);
  const text = JSON.stringify(pool.exportState());
  const copy = new AddressPool(cfg, [['sam', '10.0.0.14']]);
  t.same(copy.importState(JSON.parse(text)), []);
  t.same(copy.exportState(), pool.exportState());
  t.same(copy.stats(), pool.stats());
  t.equal(copy.holderOf('fd00::3'), 'c');
  t.equal(copy.allocate('e', 50)?.ipv4, '10.0.0.5', 'a new identity does not take a restored address');
  t.equal(copy.allocate('a', 51)?.ipv4, '10.0.0.1', 'a restored reservation is honoured');
  for (let i = 0; i < 8; i++) copy.allocate(`n${i}`, 52);
  t.equal(copy.allocate('n8', 53)?.ipv4, '10.0.0.2', 'the reuse order survives too');
});

t.test('import keeps what fits and reports the rest', async (t) => {
  const pool = new AddressPool(config('10.0.0.0/24', 'fd00::/64'), [['sam', '10.0.0.9']]);
  const dropped = pool.importState({
    leases: [
      { identity: 'a', ipv4: '10.0.0.1', ipv6: 'fd00::1', since: 1 },
      { identity: 'b', ipv4: '10.0.0.1', since: 1 },
      { identity: 'a', ipv4: '10.0.0.2', since: 1 },
      { identity: 'c', ipv4: '10.0.1.1', since: 1 },
      { identity: 'd', ipv4: '10.0.0.9', since: 1 },
      { identity: 'e', ipv4: '10.0.0.5', ipv6: 'fd01::5', since: 1 },
      { identity: 'f', ipv4: '10.0.0.6', since: 1 },
      { identity: 7, ipv4: '10.0.0.7', since: 1 },
      'junk',
    ],
    reservations: [{ identity: 'g', ipv4: '10.0.0.1', releasedAt: 0 }, { identity: 'h', ipv4: '10.0.0.8', releasedAt: 0 }, null],
  });
  t.same(dropped.map((l) => l.identity), ['b', 'a', 'c', 'd', 'e']);
  t.same(pool.leaseOf('f'), { identity: 'f', ipv4: '10.0.0.6', since: 1 }, 'a lease stored without IPv6 stays without');
  t.same(pool.stats(), { size: 254, leased: 2, reserved: 2, free: 250 });
  t.equal(pool.allocate('h', 2)?.ipv4, '10.0.0.8');
  t.same(new AddressPool(config('10.0.0.0/24')).importState('nonsense'), []);
});

t.test('registry: reconfigure keeps leases that still fit and returns the others', async (t) => {
  const pools = [config('10.0.0.0/24', 'fd00::/64', 'ike'), config('10.1.0.0/24', undefined, 'sstp')];
  const registry = new PoolRegistry(pools, [user('sam', '10.0.0.50'), user('tom', '10.1.0.9'), user('nobody')]);
  t.same(registry.names(), ['ike', 'sstp']);
  const ike = registry.get('ike')!;
  t.equal(ike.allocate('sam', 0)?.ipv4, '10.0.0.50', 'users\' statics reach their pool');
  t.equal(registry.get('sstp')!.allocate('tom', 0)?.ipv4, '10.1.0.9');
  ike.allocate('a', 0);
  ike.allocate('far', 0, { staticIPv4: '10.0.0.200' });
  ike.allocate('erin', 0, { staticIPv4: '10.0.0.60' });
  ike.allocate('gone', 0);
  ike.release('gone', 1);

  const dropped = registry.reconfigure([config('10.0.0.0/25', 'fd00::/64', 'ike'), config('10.2.0.0/24', undefined, 'l2tp')], [user('sam', '10.0.0.50'), user('dave', '10.0.0.60')]);
  t.same(dropped.map((d) => `${d.pool}:${d.identity}:${d.ipv4}`).sort(), ['ike:erin:10.0.0.60', 'ike:far:10.0.0.200', 'sstp:tom:10.1.0.9']);
  t.same(registry.names(), ['ike', 'l2tp']);
  const next = registry.get('ike')!;
  t.not(next, ike);
  t.same(next.leaseOf('sam'), { identity: 'sam', ipv4: '10.0.0.50', ipv6: 'fd00::32', since: 0 });
  t.equal(next.leaseOf('a')?.ipv4, '10.0.0.1');
  t.equal(next.allocate('gone', 2)?.ipv4, '10.0.0.2', 'reservations carry over too');
  t.equal(next.allocate('dave', 2)?.ipv4, '10.0.0.60', 'a new static takes its address');

  const moved = registry.reconfigure([config('10.0.0.0/25', 'fd00:1::/64', 'ike')], []);
  t.same(moved.map((d) => d.identity).sort(), ['a', 'dave', 'gone', 'sam'], 'a new IPv6 prefix moves every /128');
  t.throws(() => registry.reconfigure([config('10.5.0.0/24', undefined, 'x'), config('bad', undefined, 'y')], []), { code: 'POSTERN_ERR_CONFIG_INVALID' });
  t.same(registry.names(), ['ike'], 'a failed reconfigure leaves the registry as it was');
});

t.test('registry: export and import', async (t) => {
  const pools = [config('10.0.0.0/24', undefined, 'ike')];
  const registry = new PoolRegistry(pools, []);
  registry.get('ike')!.allocate('a', 0);
  const saved = JSON.parse(JSON.stringify(registry.exportState()));
  saved.pools.old = { leases: [{ identity: 'z', ipv4: '10.9.0.1', since: 0 }] };
  const restored = new PoolRegistry(pools, []);
  t.same(restored.importState(saved), [{ pool: 'old', identity: 'z', ipv4: '10.9.0.1', since: 0 }]);
  t.equal(restored.get('ike')!.leaseOf('a')?.ipv4, '10.0.0.1');
  t.same(restored.importState(undefined), []);
  t.equal(restored.get('ike')!.leaseOf('a'), undefined);
});

t.test('property: random allocate/release keeps the pool consistent', async (t) => {
  const statics: [string, string][] = [['id0', '10.0.0.5'], ['id1', '10.0.0.9']];
  const step = fc.record({ allocate: fc.boolean(), who: fc.nat(19) });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
      const pool = new AddressPool(config('10.0.0.0/28', 'fd00:10::/64'), statics);
      const active = new Set<string>();
      const last = new Map<string, string>(); // identity -> address of its last lease, while nobody else got it
      steps.forEach(({ allocate, who }, now) => {
        const id = `id${who}`;
        if (!allocate) {
          if (pool.release(id, now) !== active.delete(id)) throw new Error('release disagrees with the model');
        } else if (!active.has(id)) {
          const lease = pool.allocate(id, now);
          const idleStatics = statics.filter(([owner]) => owner !== id && !active.has(owner)).length;
          const isStatic = statics.some(([owner]) => owner === id);
          if ((lease === undefined) !== (!isStatic && active.size + idleStatics >= 14)) throw new Error(`exhaustion wrong at step ${now}`);
          const previous = last.get(id);
          if (lease && previous !== undefined && lease.ipv4 !== previous) throw new Error(`${id} lost ${previous} at step ${now}`);
          if (lease) {
            active.add(id);
            for (const [other, address] of last) if (other !== id && address === lease.ipv4) last.delete(other);
            last.set(id, lease.ipv4);
          }
        }
        checkInvariants(pool, active, statics);
      });
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass('invariants held');
});

function checkInvariants(pool: AddressPool, active: Set<string>, statics: [string, string][]): void {
  const leases = pool.leases();
  if (leases.length !== active.size || leases.some((l) => !active.has(l.identity))) throw new Error('lease set differs from the model');
  if (new Set(leases.map((l) => l.ipv4)).size !== leases.length) throw new Error('an address is held twice');
  for (const l of leases) {
    const host = Number(l.ipv4.split('.')[3]);
    if (!l.ipv4.startsWith('10.0.0.') || host < 1 || host > 14) throw new Error(`${l.ipv4} is outside the usable range`);
    if (l.ipv6 !== `fd00:10::${host.toString(16)}`) throw new Error(`${l.ipv6} is not derived from ${l.ipv4}`);
    if (pool.holderOf(l.ipv4) !== l.identity || pool.holderOf(l.ipv6 ?? '') !== l.identity) throw new Error('holderOf disagrees');
    const owner = statics.find(([, address]) => address === l.ipv4)?.[0];
    if (owner !== undefined && owner !== l.identity) throw new Error(`${l.identity} holds ${owner}'s static`);
  }
  const s = pool.stats();
  if (s.leased !== active.size || s.leased + s.reserved + s.free !== s.size || s.free < 0) throw new Error(`bad stats ${JSON.stringify(s)}`);
}

t.test('scale: 60,000 identities in a /16', async (t) => {
  const pool = new AddressPool(config('10.20.0.0/16', 'fd00:20::/64'));
  let failures = 0;
  for (let i = 0; i < 60_000; i++) if (!pool.allocate(`user${i}`, i)) failures++;
  t.equal(failures, 0);
  t.same(pool.stats(), { size: 65_534, leased: 60_000, reserved: 0, free: 5_534 });
  t.same(pool.leaseOf('user59999'), { identity: 'user59999', ipv4: '10.20.234.96', ipv6: 'fd00:20::ea60', since: 59_999 });
  for (let i = 0; i < 60_000; i += 2) pool.release(`user${i}`, 100_000 + i);
  t.same(pool.stats(), { size: 65_534, leased: 30_000, reserved: 30_000, free: 5_534 });
  for (let i = 0; i < 10_000; i++) pool.allocate(`new${i}`, 200_000);
  t.same(pool.stats(), { size: 65_534, leased: 40_000, reserved: 25_534, free: 0 }, 'fresh addresses first, then the oldest reservations');
  t.equal(pool.allocate('user59998', 300_000)?.ipv4, '10.20.234.95', 'an untouched reservation is still honoured');
  t.equal(pool.allocate('user0', 300_001)?.ipv4 !== '10.20.0.1', true, 'a reused one is not');
});
