// `postern fleet list` and `watch` (issue 26): the roster built from retained announcements, online
// state and reported state, one row per box; events named by their box; reserved levels and malformed
// or foreign messages left out (counted), never thrown; an emptied retained topic forgets that part.
import fc from 'fast-check';
import t from 'tap';
import { eventLine, Roster, rosterTable, rosterTopics } from '../../../firmware/fleet/console/roster.ts';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

t.test('rows from the three retained topics, sorted by serial', async (t) => {
  const r = new Roster('postern');
  r.take('postern/shop-2/state', json({ schema: 1, state: 'offline', ts: 't', version: '0.1.0' }));
  r.take('postern/enroll/shop-1', json({ schema: 1, serial: 'shop-1', board: 'gl-mt3000', firmwareVersion: '0.1.1', publicKey: 'x' }));
  r.take('postern/shop-1/state', json({ schema: 1, state: 'online', ts: 't', version: '0.1.1' }));
  r.take('postern/shop-1/reported', json({ schema: 1, serial: 'shop-1', applied: { revision: 'r5', confirmed: true }, last: { outcome: 'refused', code: 'replay', revision: 'r1' }, drift: { configRevision: 9, author: 'admin', sections: ['system', 'users'] } }));
  t.same(r.rows(), [
    { serial: 'shop-1', board: 'gl-mt3000', firmwareVersion: '0.1.1', state: 'online', applied: 'r5', confirmed: true, last: 'refused (replay) r1', drift: ['system', 'users'] },
    { serial: 'shop-2', firmwareVersion: '0.1.0', state: 'offline' },
  ]);
  const table = rosterTable(r.rows());
  t.match(table, /^SERIAL +STATE +BOARD/);
  t.match(table, /shop-1 +online +gl-mt3000 +0\.1\.1 +r5 +refused \(replay\) r1 +system,users/);
  t.same(rosterTopics('postern'), ['postern/enroll/+', 'postern/+/state', 'postern/+/reported']);
});

t.test('reserved levels, deeper topics, another prefix and bad JSON are left out; an empty retained message forgets', async (t) => {
  const r = new Roster('postern');
  r.take('postern/group/state', json({ state: 'online' }));
  r.take('postern/enroll/shop-1/certificate', json({ x: 1 }));
  r.take('other/shop-1/state', json({ state: 'online' }));
  r.take('postern/shop-3/state', Buffer.from('{not json'));
  r.take('postern/shop-3/reported', json([1, 2]));
  t.same(r.rows(), []);
  t.equal(r.malformed, 2);
  r.take('postern/shop-4/state', json({ state: 'online' }));
  r.take('postern/shop-4/state', new Uint8Array(0));
  t.same(r.rows(), [], 'the box removed (its retained state cleared)');
});

t.test('events name their box; others are not events', async (t) => {
  t.same(eventLine('postern', 'postern/shop-1/events', json({ schema: 1, seq: 3, type: 'config-change', details: {} })), { serial: 'shop-1', schema: 1, seq: 3, type: 'config-change', details: {} });
  t.equal(eventLine('postern', 'postern/group/events', json({ type: 'x' })), undefined);
  t.equal(eventLine('postern', 'postern/shop-1/status', json({ type: 'x' })), undefined);
  t.equal(eventLine('postern', 'postern/shop-1/events', Buffer.from('nope')), undefined);
});

t.test('property: any topic and payload are taken without throwing', async () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.oneof(fc.string(), fc.constantFrom('postern/a/state', 'postern/enroll/a', 'postern/a/reported', 'postern/a/events')), fc.uint8Array({ maxLength: 64 }))), (messages) => {
    const r = new Roster('postern');
    for (const [topic, payload] of messages) {
      r.take(topic, payload);
      eventLine('postern', topic, payload);
    }
    rosterTable(r.rows());
  }), { numRuns: 300 });
});
