// listeners.pptp in the configuration (issue 22): off by default and flagged insecure when on; its
// `auth` (issue 21) takes local, radius or radius-then-local, and RADIUS needs a server; the PPTP
// listener is one this build runs.
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { pptpCallPolicy } from '../../../firmware/pptp/call-policy.ts';
import { PptpDialer } from '../../../firmware/pptp/pptp-dialer.ts';
import { Secret } from '../../../firmware/util/secret.ts';
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

t.test('PPTP encryption and legacy methods: stateless MS-CHAPv2 by default, the relaxed ones flagged, CHAP/PAP only with optional MPPE', async (t) => {
  const policy = (settings: Partial<ReturnType<typeof defaultConfig>['listeners']['pptp']>) => pptpCallPolicy({ ...defaultConfig().listeners.pptp, ...settings });
  t.same(policy({}), { auth: ['mschapv2', 'eap'], mppe: { mode: 'require', strengths: [128], allowStateful: false } }, 'default: MS-CHAPv2, then EAP, MPPE-128 stateless required');
  t.same(policy({ mppe: 'stateful-allowed' }).mppe, { mode: 'require', strengths: [128], allowStateful: true }, 'stateful-allowed: still required, stateful accepted when asked for');
  t.same(policy({ mppe: 'optional', legacyAuth: true }), { auth: ['mschapv2', 'eap', 'mschapv1', 'chap-md5', 'pap'], mppe: { mode: 'allow', strengths: [128], allowStateful: true } }, 'optional + legacy: MS-CHAPv1, CHAP-MD5 and PAP after MS-CHAPv2, MPPE allowed');

  const on = (pptp: Partial<ReturnType<typeof defaultConfig>['listeners']['pptp']>) => {
    const c = defaultConfig();
    c.listeners.pptp = { ...c.listeners.pptp, enabled: true, ...pptp };
    return validateConfig(c);
  };
  const stateful = on({ mppe: 'stateful-allowed' });
  t.ok(stateful.ok, 'stateful allowed is accepted');
  t.notOk(stateful.warnings.some((w) => w.path === 'listeners.pptp.mppe'), 'and not flagged beyond PPTP itself');
  const legacyRequired = on({ legacyAuth: true });
  t.match(legacyRequired.ok ? [] : legacyRequired.errors, [{ path: 'listeners.pptp.legacyAuth', code: 'conflict', message: /optional/ }], 'CHAP/PAP with MPPE required: refused at the field, saying what to change');
  const legacyRadius = on({ legacyAuth: true, mppe: 'optional', auth: 'radius' });
  t.same(legacyRadius.ok ? [] : legacyRadius.errors.filter((e) => e.path === 'listeners.pptp.legacyAuth'), [], 'CHAP/PAP with RADIUS: no objection (the server checks them: CHAP-Password, User-Password)');
  t.ok(legacyRadius.warnings.some((w) => w.path === 'listeners.pptp.legacyAuth' && w.code === 'insecure'), 'and still flagged insecure');
  const legacy = on({ legacyAuth: true, mppe: 'optional' });
  t.ok(legacy.ok, 'CHAP/PAP with optional MPPE and local users: accepted');
  t.match(legacy.warnings.filter((w) => w.code === 'insecure').map((w) => w.path).sort(), ['listeners.pptp.enabled', 'listeners.pptp.legacyAuth', 'listeners.pptp.mppe'], 'and each relaxation flagged insecure at its field');
  const bad = defaultConfig() as unknown as { listeners: { pptp: Record<string, unknown> } };
  bad.listeners.pptp['mppe'] = 'stateful';
  t.notOk(validateConfig(bad as never).ok, 'an unknown MPPE mode is refused');
});

t.test('issue 24: PPTP has no IPv6 transport (Windows and pptp-linux dial it over IPv4 only): an IPv6 peer is refused at the field; an L2TP/IPsec site may name an IPv6 peer (its transport mode takes IPv6)', async (t) => {
  const site = (protocol: 'pptp' | 'l2tp', remote: string) => {
    const c = defaultConfig();
    c.sites = [{ name: 'hq', protocol, remote, localSubnets: ['10.1.0.0/24'], remoteSubnets: ['10.2.0.0/24'], auth: 'psk', psk: 'a-long-site-secret-1', username: 'branch', password: 'Site-Pass-77', initiate: true, enabled: true }];
    const r = validateConfig(c);
    return r.ok ? [] : r.errors.filter((e) => e.path === 'sites[0].remote');
  };
  t.match(site('pptp', '2001:db8:20::2'), [{ code: 'unsupported', message: /PPTP runs over IPv4 only.*IPv4 address or a name/ }], 'a PPTP site to an IPv6 address is refused with the reason');
  t.same(site('pptp', '198.51.100.7'), [], 'to an IPv4 address it is accepted');
  t.same(site('pptp', 'hq.example.com'), [], 'and by name');
  t.same(site('l2tp', '2001:db8:20::2'), [], 'an L2TP/IPsec site to an IPv6 address is accepted');
  t.match(site('l2tp', 'hq.example.com'), [{ code: 'format', message: /must be an IP address/ }], 'by name still not: IKEv1 keys by address');
  t.same(site('l2tp', '198.51.100.7'), [], 'to an IPv4 address it is accepted');
});

t.test('issue 24: the PPTP dialer refuses an IPv6 peer before any packet (a configuration that slipped past the field)', async (t) => {
  const dialer = new PptpDialer({ host: '2001:db8:20::2', hostName: 'postern', user: 'branch', password: new Secret('Site-Pass-77'), logger: createLogger({ sink: memorySink().sink }) });
  const reason = await dialer.closed;
  t.match(reason, /^PPTP runs over IPv4 only .*: the peer needs an IPv4 address, not 2001:db8:20::2$/, `the call ends at once with the reason: ${reason}`);
  await t.rejects(dialer.ready, /IPv4 only/, 'and never comes up');
});
