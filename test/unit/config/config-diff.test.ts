// The history's diff by field (issue 17): switching SSTP off shows (the old line diff said "No
// differences"), named items are matched by name, secrets are named without their values.
import t from 'tap';
import fc from 'fast-check';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { diffConfigs, summarize } from '../../../firmware/config/config-diff.ts';
import { storedUser } from '../../../firmware/config/users.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';

const site = (name: string, remote: string) => ({ name, protocol: 'ikev2' as const, remote, localSubnets: ['192.168.1.0/24'], remoteSubnets: ['10.20.0.0/16'], auth: 'psk' as const, psk: 'a-long-site-psk-0123456789', initiate: true, enabled: true });

t.test('switching SSTP off is one changed field', async (t) => {
  const before = defaultConfig();
  const after = structuredClone(before);
  after.listeners.sstp.enabled = false;
  t.same(diffConfigs(before, after), [{ path: 'listeners.sstp.enabled', kind: 'changed', before: 'true', after: 'false' }]);
  t.same(diffConfigs(before, structuredClone(before)), [], 'equal documents: no change');
});

t.test('users and sites are matched by name; what a rollback would remove is summarized', async (t) => {
  const before: PosternConfig = { ...defaultConfig(), users: [storedUser({ name: 'alice', password: 'Correct-Horse-Battery-7', enabled: true }), storedUser({ name: 'bob', password: 'Other-Horse-Battery-8', enabled: true })], sites: [site('a', '198.51.100.1'), site('b', '198.51.100.2')] };
  const after: PosternConfig = { ...before, users: [before.users[1]!], sites: [{ ...site('b', '198.51.100.9') }] };
  const changes = diffConfigs(before, after);
  t.same(changes, [
    { path: 'users[alice]', kind: 'removed' },
    { path: 'sites[a]', kind: 'removed' },
    { path: 'sites[b].remote', kind: 'changed', before: '"198.51.100.2"', after: '"198.51.100.9"' },
  ]);
  t.same(summarize(changes), { removed: { users: ['alice'], sites: ['a'] }, added: {}, changed: 1 });
  t.same(summarize(diffConfigs(after, before)).added, { users: ['alice'], sites: ['a'] });
});

t.test('a secret changed is named, its values are not shown', async (t) => {
  const before: PosternConfig = { ...defaultConfig(), sites: [site('a', '198.51.100.1')] };
  const after: PosternConfig = { ...before, sites: [{ ...site('a', '198.51.100.1'), psk: 'another-long-site-psk-987654' }] };
  const changes = diffConfigs(before, after);
  t.same(changes, [{ path: 'sites[a].psk', kind: 'changed', before: '<secret>', after: '<secret>' }]);
  t.notMatch(JSON.stringify(changes), /0123456789|987654/);
});

t.test('property: a changed leaf anywhere is reported at its path; never throws', async () => {
  fc.assert(fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
    diffConfigs(a, b);
    return true;
  }), { numRuns: 300 });
  const leaves = ['system.hostname', 'listeners.ikev2.enabled', 'listeners.l2tp.enabled', 'telemetry.mqtt.intervalSeconds'];
  fc.assert(fc.property(fc.constantFrom(...leaves), fc.oneof(fc.boolean(), fc.integer(), fc.string()), (path, value) => {
    const before = defaultConfig() as unknown as Record<string, unknown>;
    const after = structuredClone(before);
    const keys = path.split('.');
    let node = after;
    for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
    const old = node[keys.at(-1)!];
    node[keys.at(-1)!] = value;
    const changes = diffConfigs(before, after);
    return JSON.stringify(old) === JSON.stringify(value) ? changes.length === 0 : changes.length === 1 && changes[0]!.path === path;
  }), { numRuns: 200 });
});
