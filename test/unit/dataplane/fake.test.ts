import t from 'tap';
import { FakeDataPlane } from '../../../firmware/dataplane/fake.ts';
import type { DataPlaneEvent, SaSpec } from '../../../firmware/dataplane/types.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const sa = (over: Partial<SaSpec> = {}): SaSpec => ({
  spi: 0x1000, source: '192.0.2.1', destination: '192.0.2.2', direction: 'out', mode: 'tunnel', suite: 'aes-gcm-128',
  keys: { encryption: new Secret(Buffer.alloc(20)) }, esn: true, replayWindow: 1024, reqid: 1,
  lifetime: { softBytes: 1000n, hardBytes: 2000n }, ...over,
});

t.test('SAs: add, duplicate refused, query, update addresses (MOBIKE), delete', async (t) => {
  const dp = new FakeDataPlane();
  await dp.addSa(sa());
  await t.rejects(dp.addSa(sa()), { code: 'POSTERN_ERR_DATAPLANE_EXISTS' });
  t.same(await dp.querySa({ spi: 0x1000, destination: '192.0.2.2' }), { packets: 0n, bytes: 0n, replayDrops: 0n, authFailures: 0n });
  await dp.updateSa({ spi: 0x1000, destination: '192.0.2.2' }, { destination: '198.51.100.7', encapsulation: { sourcePort: 4500, destinationPort: 31000 } });
  t.equal(await dp.querySa({ spi: 0x1000, destination: '192.0.2.2' }), undefined, 'moved away from the old address');
  t.same(dp.sas.get(`${0x1000}@198.51.100.7`)?.spec.encapsulation, { sourcePort: 4500, destinationPort: 31000 });
  await dp.updateSa({ spi: 0x1000, destination: '198.51.100.7' }, { encapsulation: null });
  t.equal(dp.sas.get(`${0x1000}@198.51.100.7`)?.spec.encapsulation, undefined, 'encapsulation removed');
  await dp.deleteSa({ spi: 0x1000, destination: '198.51.100.7' });
  await t.rejects(dp.deleteSa({ spi: 0x1000, destination: '198.51.100.7' }), { code: 'POSTERN_ERR_DATAPLANE_NOT_FOUND' });
});

t.test('lifetimes: soft expire once, then hard expire removes the SA', async (t) => {
  const dp = new FakeDataPlane();
  const events: DataPlaneEvent[] = [];
  dp.subscribe((e) => events.push(e));
  await dp.addSa(sa());
  const id = { spi: 0x1000, destination: '192.0.2.2' };
  dp.carry(id, 10, 999);
  t.same(events, []);
  dp.carry(id, 1, 1);
  dp.carry(id, 1, 1);
  t.same(events, [{ type: 'expire', sa: id, hard: false }], 'soft once');
  dp.carry(id, 5, 1000);
  t.same(events[1], { type: 'expire', sa: id, hard: true });
  t.equal(await dp.querySa(id), undefined);
});

t.test('policies and acquires; SPIs are unique; closed means closed', async (t) => {
  const dp = new FakeDataPlane();
  const events: DataPlaneEvent[] = [];
  const unsubscribe = dp.subscribe((e) => events.push(e));
  const policy = { source: { prefix: '10.1.0.0/16' }, destination: { prefix: '10.2.0.0/16' }, direction: 'out' } as const;
  await dp.addPolicy({ ...policy, action: 'protect', priority: 10, template: { source: '192.0.2.1', destination: '192.0.2.2', mode: 'tunnel', reqid: 42 } });
  await t.rejects(dp.addPolicy({ ...policy, action: 'bypass', priority: 1 }), { code: 'POSTERN_ERR_DATAPLANE_EXISTS' });
  dp.acquire(policy);
  t.same(events, [{ type: 'acquire', policy, reqid: 42 }]);
  unsubscribe();
  dp.acquire(policy);
  t.equal(events.length, 1, 'unsubscribed');
  t.match(dp.stats(), { sas: 0, policies: 1, acquires: 2 }, 'the figures count every event, heard or not');
  await dp.deletePolicy(policy);
  await t.rejects(dp.deletePolicy(policy), { code: 'POSTERN_ERR_DATAPLANE_NOT_FOUND' });
  const spis = new Set([await dp.allocateSpi(), await dp.allocateSpi(), await dp.allocateSpi()]);
  t.equal(spis.size, 3);
  await dp.close();
  await t.rejects(dp.addSa(sa()), { code: 'POSTERN_ERR_DATAPLANE_INVALID' });
});
