// The GRE keepalive engine on a simulated clock (Cisco's rule: `retries` unanswered probes → down).
import fc from 'fast-check';
import t from 'tap';
import { GreKeepalive, type KeepaliveAction } from '../../../firmware/gre/keepalive.ts';

const states = (actions: KeepaliveAction[]) => actions.filter((a) => a.type === 'state').map((a) => a.type === 'state' ? a.to : '');
const probes = (actions: KeepaliveAction[]) => actions.filter((a) => a.type === 'send-probe').length;

t.test('starts down and probes at once; up when the peer is heard; down after 3 unanswered probes; up again', async (t) => {
  const k = new GreKeepalive({ intervalMs: 10_000, retries: 3 }, 0);
  t.equal(k.state, 'down');
  t.equal(k.nextTimeout(), 0);
  t.equal(probes(k.handle({ type: 'timeout' }, 0)), 1);
  t.same(k.handle({ type: 'timeout' }, 5_000), [], 'early timeouts do nothing');
  t.same(states(k.handle({ type: 'rcv-traffic' }, 1000)), ['up']);
  t.same(k.handle({ type: 'rcv-traffic' }, 1), [], 'up stays up without a second change');
  // Peer gone: probes at 10, 20, 30 s go unanswered; at 40 s the fourth timeout finds three and goes down.
  for (const at of [10_000, 20_000, 30_000]) t.same(k.handle({ type: 'timeout' }, at), [{ type: 'send-probe' }], `probe at ${at}`);
  const down = k.handle({ type: 'timeout' }, 40_000);
  t.match(down, [{ type: 'state', from: 'up', to: 'down', why: 'no answer to 3 keepalives in a row' }, { type: 'send-probe' }]);
  t.equal(k.state, 'down');
  t.same(states(k.handle({ type: 'rcv-traffic' }, 41_000)), ['up'], 'back at the first answer');
  t.equal(k.probesSent, 5);
  t.equal(k.stateChanges, 3);
});

t.test('traffic between probes keeps the count at zero', async (t) => {
  const k = new GreKeepalive({ intervalMs: 1000, retries: 2 }, 0);
  for (let s = 0; s < 50; s++) {
    k.handle({ type: 'timeout' }, s * 1000);
    k.handle({ type: 'rcv-traffic' }, s * 1000 + 500);
  }
  t.equal(k.state, 'up');
  t.equal(k.stateChanges, 1);
});

t.test('interval 0: no probes, up while configured', async (t) => {
  const k = new GreKeepalive({ intervalMs: 0, retries: 3 }, 0);
  t.equal(k.state, 'up');
  t.equal(k.nextTimeout(), undefined);
  t.same(k.handle({ type: 'timeout' }, 1e9), []);
});

t.test('property: any schedule of timeouts and traffic never throws; down only after `retries` probes unanswered, up only on traffic', async (t) => {
  const step = fc.record({ dt: fc.integer({ min: 0, max: 5000 }), traffic: fc.boolean() });
  fc.assert(fc.property(fc.integer({ min: 100, max: 3000 }), fc.integer({ min: 1, max: 5 }), fc.array(step, { maxLength: 200 }), (interval, retries, steps) => {
    const k = new GreKeepalive({ intervalMs: interval, retries }, 0);
    let now = 0;
    let sinceTraffic = 0;
    for (const s of steps) {
      now += s.dt;
      const actions = k.handle(s.traffic ? { type: 'rcv-traffic' } : { type: 'timeout' }, now);
      for (const a of actions) {
        if (a.type === 'send-probe') sinceTraffic++;
        if (a.type === 'state' && a.to === 'down' && sinceTraffic < retries) return false;
        if (a.type === 'state' && a.to === 'up' && !s.traffic) return false;
      }
      if (s.traffic) sinceTraffic = 0;
      if (k.nextTimeout() === undefined) return false;
    }
    return true;
  }), { numRuns: 300 });
  t.pass();
});
