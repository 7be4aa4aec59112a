// PPTP sites (issue 22): the config rules (a dialing site needs its user and password, an answering
// one the PPTP listener and a local user; no PSK; flagged insecure) and the site's Test steps.
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { SiteConfig } from '../../../firmware/config/types.ts';
import { storedUser } from '../../../firmware/config/users.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { pptpTestResult } from '../../../firmware/sites/pptp-site-test.ts';

const site = (over: Partial<SiteConfig>): SiteConfig => ({ name: 'hq', protocol: 'pptp', remote: '198.51.100.7', localSubnets: ['10.1.0.0/24'], remoteSubnets: ['10.2.0.0/24'], auth: 'psk', initiate: true, enabled: true, ...over } as SiteConfig);

t.test('rules: dialing needs user and password, not a PSK; answering needs the listener and a local user; insecure either way', async (t) => {
  const errorsOf = (s: SiteConfig, listener = false, users = false) => {
    const c = defaultConfig();
    c.sites = [s];
    c.listeners.pptp.enabled = listener;
    if (users) c.users = [storedUser({ name: 'branch', password: 'Branch-Pass-1', enabled: true })];
    const r = validateConfig(c);
    return { errors: r.ok ? [] : r.errors.map((e) => e.path), insecure: r.warnings.filter((w) => w.code === 'insecure').map((w) => w.path) };
  };
  t.same(errorsOf(site({ username: 'branch', password: 'Site-Pass-1' })), { errors: [], insecure: ['sites[0].protocol'] });
  t.same(errorsOf(site({})).errors.sort(), ['sites[0].password', 'sites[0].username']);
  t.same(errorsOf(site({ username: 'branch', initiate: false })).errors.sort(), ['sites[0].initiate', 'sites[0].username'], 'no listener, no such local user');
  t.same(errorsOf(site({ username: 'branch', initiate: false }), true, true).errors, []);
});

t.test('the Test: each step and, for a failure, where to look', async (t) => {
  const up = pptpTestResult('hq', '198.51.100.7', { reached: 'up', address: '10.10.0.2', timedOut: false, elapsedMs: 900 });
  t.match(up, { ok: true, protocol: 'pptp', steps: [{ id: 'control', outcome: 'ok', detail: '198.51.100.7' }, { id: 'call', outcome: 'ok' }, { id: 'ppp', outcome: 'ok', detail: 'address 10.10.0.2' }] });
  const noAnswer = pptpTestResult('hq', 'x', { reached: 'none', timedOut: true, elapsedMs: 25_000 });
  t.match(noAnswer, { ok: false, problem: { cause: 'no-answer' }, steps: [{ outcome: 'failed' }, { outcome: 'not-reached' }, { outcome: 'not-reached' }] });
  const refused = pptpTestResult('hq', 'x', { reached: 'call', timedOut: false, closedReason: 'authentication failed: E=691', elapsedMs: 1200 });
  t.match(refused, { ok: false, problem: { cause: 'peer-refused', detail: /E=691/ }, steps: [{ outcome: 'ok' }, { outcome: 'ok' }, { outcome: 'failed' }] });
});
