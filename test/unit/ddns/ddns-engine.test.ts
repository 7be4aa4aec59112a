// When the public name is updated (issue 17): on a new WAN address only, one update at a time,
// failures retried with doubling waits, a private address never published.
import t from 'tap';
import { DdnsEngine } from '../../../firmware/ddns/ddns-engine.ts';

const updates = (actions: ReturnType<DdnsEngine['handle']>) => actions.filter((a) => a.kind === 'update').map((a) => (a.kind === 'update' ? a.address : ''));

t.test('a new address is published once; the same address again sends nothing', async (t) => {
  const e = new DdnsEngine();
  t.same(updates(e.handle({ kind: 'address', address: '203.0.113.5' }, 0)), ['203.0.113.5']);
  t.same(updates(e.handle({ kind: 'address', address: '203.0.113.5' }, 1000)), [], 'one update at a time');
  t.same(updates(e.handle({ kind: 'done', address: '203.0.113.5', problem: undefined }, 2000)), []);
  t.equal(e.published, '203.0.113.5');
  t.same(updates(e.handle({ kind: 'address', address: '203.0.113.5' }, 3000)), [], 'unchanged: nothing');
  t.same(updates(e.handle({ kind: 'address', address: '203.0.113.6' }, 4000)), ['203.0.113.6'], 'changed: updated');
});

t.test('an address that changed while an update was out is sent right after it', async (t) => {
  const e = new DdnsEngine();
  e.handle({ kind: 'address', address: '203.0.113.5' }, 0);
  e.handle({ kind: 'address', address: '203.0.113.7' }, 10);
  t.same(updates(e.handle({ kind: 'done', address: '203.0.113.5', problem: undefined }, 20)), ['203.0.113.7']);
});

t.test('failures: retried after 30 s, then 60 s, …, at most 30 min; a new address is tried at once', async (t) => {
  const e = new DdnsEngine();
  e.handle({ kind: 'address', address: '203.0.113.5' }, 0);
  let now = 0;
  const waits: number[] = [];
  for (let i = 0; i < 8; i++) {
    e.handle({ kind: 'done', address: '203.0.113.5', problem: 'no answer' }, now);
    const at = e.nextTimeout()!;
    waits.push((at - now) / 1000);
    t.same(updates(e.handle({ kind: 'timeout' }, at - 1)), [], 'not before its time');
    now = at;
    t.same(updates(e.handle({ kind: 'timeout' }, now)), ['203.0.113.5']);
  }
  t.same(waits, [30, 60, 120, 240, 480, 960, 1800, 1800]);
  t.equal(e.counters.failures, 8);
  e.handle({ kind: 'done', address: '203.0.113.5', problem: 'no answer' }, now);
  t.same(updates(e.handle({ kind: 'address', address: '203.0.113.9' }, now + 1)), ['203.0.113.9'], 'a new address does not wait');
});

t.test('a private WAN address (behind another router) is not published, and said once', async (t) => {
  const e = new DdnsEngine();
  const first = e.handle({ kind: 'address', address: '192.168.1.20' }, 0);
  t.same(updates(first), []);
  t.match(first, [{ kind: 'log', level: 'warn', msg: /private/ }]);
  t.same(e.handle({ kind: 'address', address: '192.168.1.20' }, 10), [], 'once');
  t.same(updates(e.handle({ kind: 'address', address: undefined }, 20)), [], 'no address: nothing');
});
