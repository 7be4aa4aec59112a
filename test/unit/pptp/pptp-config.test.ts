// listeners.pptp in the configuration (issue 22): off by default and flagged insecure when on; its
// `auth` (issue 21) takes local, radius or radius-then-local, and RADIUS needs a server; the PPTP
// listener is one this build runs.
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { LISTENER_KINDS } from '../../../firmware/sites/availability.ts';

t.test('PPTP settings: default off, flagged when on, RADIUS needs a server', async (t) => {
  t.equal(defaultConfig().listeners.pptp.enabled, false, 'off by default');
  t.same(LISTENER_KINDS.pptp, { runs: true }, 'the listener runs in this build');
  const on = defaultConfig();
  on.listeners.pptp.enabled = true;
  const r = validateConfig(on);
  t.ok(r.ok, JSON.stringify(r.ok ? [] : r.errors));
  t.ok(r.warnings.some((w) => w.path === 'listeners.pptp.enabled' && w.code === 'insecure'), 'flagged insecure');
  t.notOk(r.warnings.some((w) => w.path === 'listeners.pptp.enabled' && w.code === 'unavailable'), 'not reported as unavailable');
  const radius = defaultConfig();
  radius.listeners.pptp = { ...radius.listeners.pptp, enabled: true, auth: 'radius' };
  const refused = validateConfig(radius);
  t.match(refused.ok ? [] : refused.errors, [{ path: 'listeners.pptp.auth', code: 'required' }], 'auth radius without a server is refused');
  radius.radius = { servers: [{ name: 'lab', address: '10.2.0.10', authPort: 1812, acctPort: 1813, secret: 'a-shared-secret-1' }] };
  t.ok(validateConfig(radius).ok, 'and accepted with one');
  const bad = defaultConfig() as unknown as { listeners: { pptp: Record<string, unknown> } };
  bad.listeners.pptp['auth'] = 'ldap';
  t.notOk(validateConfig(bad as never).ok, 'an unknown auth source is refused');
});
