// Issue 26: drift from the fleet's desired configuration, and the per-box choice of what wins.
import fc from 'fast-check';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { decideLocalChange, driftSections, localChangePolicy } from '../../../firmware/fleet/drift.ts';

const desired = (onLocalChange?: 'keep' | 'desired-wins'): PosternConfig => {
  const c = defaultConfig();
  c.telemetry.mqtt = { ...c.telemetry.mqtt, enabled: true, fleet: { enabled: true, operatorKeys: ['k'], groups: [], confirmSeconds: 60, ...(onLocalChange ? { onLocalChange } : {}) } };
  return c;
};
const edited = (base: PosternConfig, edit: (c: PosternConfig) => void): PosternConfig => {
  const c = structuredClone(base);
  edit(c);
  return c;
};

t.test('the sections that differ, by name only; the administrator never counts', async (t) => {
  const d = desired();
  t.same(driftSections(d, structuredClone(d)), []);
  t.same(driftSections(d, edited(d, (c) => { c.admin.passwordHash = 'x'; })), [], 'the local administrator is the box\'s own');
  const both = edited(d, (c) => { c.system.hostname = 'local'; (c.pools as unknown[]).push({ name: 'extra' }); });
  t.same(driftSections(d, both), ['pools', 'system']);
  const secret = edited(d, (c) => { c.telemetry.mqtt.password = 'Local-Secret-1'; });
  t.same(driftSections(d, secret), ['telemetry']);
  t.notMatch(JSON.stringify(decideLocalChange({ desired: d, running: secret, author: 'admin', confirmed: true })), /Local-Secret-1/, 'never a value');
});

t.test('keep reports; desired-wins re-applies a technician\'s change only', async (t) => {
  const running = (d: PosternConfig) => edited(d, (c) => { c.system.hostname = 'local'; c.admin.passwordHash = 'mine'; });
  t.same(decideLocalChange({ desired: undefined, running: desired(), author: 'admin', confirmed: true }), { kind: 'none' }, 'nothing desired yet');
  t.same(decideLocalChange({ desired: desired('desired-wins'), running: desired('desired-wins'), author: 'admin', confirmed: true }), { kind: 'none' }, 'no difference');
  t.same(decideLocalChange({ desired: desired(), running: running(desired()), author: 'admin', confirmed: true }), { kind: 'report', sections: ['system'] }, 'keep by default');
  t.same(decideLocalChange({ desired: desired('keep'), running: running(desired()), author: 'admin', confirmed: true }).kind, 'report');
  const wins = decideLocalChange({ desired: desired('desired-wins'), running: running(desired('desired-wins')), author: 'admin', confirmed: true });
  t.equal(wins.kind, 'reapply');
  if (wins.kind === 'reapply') {
    t.equal(wins.next.system.hostname, desired().system.hostname, 'the desired configuration');
    t.equal(wins.next.admin.passwordHash, 'mine', 'with the box\'s own administrator');
  }
  for (const author of ['safe-mode', 'postern', 'fleet']) {
    t.equal(decideLocalChange({ desired: desired('desired-wins'), running: running(desired('desired-wins')), author, confirmed: true }).kind, 'report', `${author}: not a technician`);
  }
  t.equal(decideLocalChange({ desired: desired('desired-wins'), running: running(desired('desired-wins')), author: 'admin', confirmed: false }).kind, 'report', 'not while safe mode waits');
  const localKeep = edited(desired('desired-wins'), (c) => { c.telemetry.mqtt.fleet!.onLocalChange = 'keep'; });
  t.equal(decideLocalChange({ desired: desired('desired-wins'), running: localKeep, author: 'admin', confirmed: true }).kind, 'reapply', 'the desired document\'s choice decides, not a local edit of it');
  const leftFleet = edited(desired('desired-wins'), (c) => { c.telemetry.mqtt.fleet!.enabled = false; });
  t.equal(decideLocalChange({ desired: desired('desired-wins'), running: leftFleet, author: 'admin', confirmed: true }).kind, 'report', 'fleet turned off locally is the way out, never undone');
});

t.test('the box\'s own choice decides only where the operator made none', async (t) => {
  t.same(localChangePolicy(desired(), undefined), { value: 'keep', source: 'default' }, 'nobody chose: keep');
  t.same(localChangePolicy(desired(), 'desired-wins'), { value: 'desired-wins', source: 'local' });
  t.same(localChangePolicy(desired('keep'), 'desired-wins'), { value: 'keep', source: 'desired' }, 'the operator\'s choice wins over the box\'s');
  t.same(localChangePolicy(undefined, 'desired-wins'), { value: 'desired-wins', source: 'local' }, 'before anything desired');
  const changed = edited(desired(), (c) => { c.system.hostname = 'local'; });
  t.equal(decideLocalChange({ desired: desired(), running: changed, author: 'admin', confirmed: true, local: 'desired-wins' }).kind, 'reapply', 'desired state wins by the box\'s own choice');
  t.equal(decideLocalChange({ desired: desired('keep'), running: changed, author: 'admin', confirmed: true, local: 'desired-wins' }).kind, 'report', 'not against the operator\'s keep');
  t.equal(decideLocalChange({ desired: desired('desired-wins'), running: changed, author: 'admin', confirmed: true, local: 'keep' }).kind, 'reapply', 'nor against the operator\'s desired-wins');
});

t.test('property: drift is symmetric and empty exactly for equal documents (administrator aside)', async () => {
  const base = desired();
  fc.assert(fc.property(fc.string({ maxLength: 20 }), fc.integer({ min: 5, max: 3600 }), fc.boolean(), (hostname, interval, wins) => {
    const other = edited(base, (c) => {
      c.system.hostname = hostname;
      c.telemetry.mqtt.intervalSeconds = interval;
      if (wins) c.telemetry.mqtt.fleet!.onLocalChange = 'desired-wins';
    });
    const a = driftSections(base, other);
    if (JSON.stringify(a) !== JSON.stringify(driftSections(other, base))) return false;
    const expected = [...(hostname !== base.system.hostname ? ['system'] : []), ...(interval !== base.telemetry.mqtt.intervalSeconds || wins ? ['telemetry'] : [])];
    return JSON.stringify(a) === JSON.stringify(expected);
  }));
});
