// A site's Test for an SSTP site (issue 17): two `postern run` gateways in lab namespaces, gwA dialing
// gwB. With the wrong password the Test passes TLS and the SSTP call and fails at the PPP login, in
// words, and the Sites list shows the last error and the next retry; with the right one every step passes.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { isRoot } from '../lab/command.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : false);
const ADMIN = 'Field-Tech-Pass-77';
const PASSWORD = 'Branch-A-Site-Pass-42';

const script = (site: unknown) => `
const SITE = ${JSON.stringify(site)};
const base = 'http://127.0.0.1:18080/api/v1';
const json = { 'content-type': 'application/json' };
(async () => {
  await fetch(base + '/setup', { method: 'POST', headers: json, body: JSON.stringify({ password: '${ADMIN}' }) });
  const login = await fetch(base + '/login', { method: 'POST', headers: json, body: JSON.stringify({ password: '${ADMIN}' }) });
  const h = { ...json, cookie: (login.headers.get('set-cookie') || '').split(';')[0], 'x-csrf-token': (await login.json()).csrfToken };
  const call = async (method, path, body) => (await fetch(base + path, { method, headers: h, ...(body ? { body: JSON.stringify(body) } : {}) })).json();
  const out = {};
  out.wrong = await call('POST', '/sites/hq/test');
  out.listed = (await call('GET', '/sites')).sites[0];
  out.fixed = await call('PUT', '/sites/hq', { ...SITE, password: '${PASSWORD}' });
  out.right = await call('POST', '/sites/hq/test');
  process.stdout.write(JSON.stringify(out));
})();`;

t.test('the Test button of an SSTP site: wrong password at the PPP step, then every step passes', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect); // gwA dials (LAN 10.1.0.0/24); gwB answers (LAN 10.2.0.0/24)
  t.teardown(() => lab.teardown());
  const hqConfig = defaultConfig();
  hqConfig.system.wan = { interface: 'wan', mode: 'static', address: '192.0.2.2/24' };
  hqConfig.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  hqConfig.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  hqConfig.certificates.server = { commonName: '192.0.2.2', sans: ['192.0.2.2'] };
  hqConfig.listeners.ikev2.enabled = false;
  hqConfig.users = [storedUser({ name: 'branch-a', password: PASSWORD, enabled: true })];
  hqConfig.sites = [{ name: 'branch-a', protocol: 'sstp', remote: '192.0.2.1', username: 'branch-a', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.1.0.0/24'], auth: 'psk', initiate: false, enabled: true }];
  const hq = await startPostern(lab, 'gwB', hqConfig, (log) => log.includes('SSTP listening'), { name: 'postern-hq' });
  const fingerprint = new X509Certificate(readFileSync(join(hq.stateDir, 'pki', 'server.pem'))).fingerprint256;
  const site = { name: 'hq', protocol: 'sstp', remote: '192.0.2.2', username: 'branch-a', password: 'Not-The-Password-1', serverFingerprint: fingerprint, localSubnets: ['10.1.0.0/24'], remoteSubnets: ['10.2.0.0/24'], auth: 'psk', initiate: true, enabled: true } as const;
  const branchConfig = defaultConfig();
  branchConfig.system.wan = { interface: 'wan', mode: 'static', address: '192.0.2.1/24' };
  branchConfig.system.lan = { interface: 'lan', address: '10.1.0.1/24' };
  branchConfig.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  branchConfig.listeners.ikev2.enabled = false;
  branchConfig.listeners.sstp.enabled = false;
  branchConfig.sites = [{ ...site, localSubnets: [...site.localSubnets], remoteSubnets: [...site.remoteSubnets] }];
  const branch = await startPostern(lab, 'gwA', branchConfig, (log) => log.includes('"msg":"SSTP site down"'), { name: 'postern-branch' });
  const run = await lab.exec('gwA', [process.execPath, '-e', script(site)], 60_000);
  const out = JSON.parse(run.stdout || '{}') as Record<string, { ok?: boolean; steps?: Array<{ id: string; outcome: string }>; problem?: { cause: string; fix: string }; lastError?: { detail: string }; nextRetry?: string; state?: string }>;
  const outcomes = (r: typeof out[string] | undefined) => r?.steps?.map((s) => `${s.id}:${s.outcome}`);
  t.same(outcomes(out['wrong']), ['tls:ok', 'sstp:ok', 'ppp:failed'], `a wrong password fails at the login: ${JSON.stringify(out['wrong'])}\n${run.stderr}`);
  t.match(out['wrong']?.problem, { cause: 'peer-refused', fix: /user name and password/ });
  t.match(out['listed'], { state: /down|connecting/, lastError: { detail: /./ } }, `the Sites list shows the last error: ${JSON.stringify(out['listed'])}`);
  t.ok(out['listed']?.state !== 'down' || out['listed']?.nextRetry, 'and, while down, the next retry');
  t.same(outcomes(out['right']), ['tls:ok', 'sstp:ok', 'ppp:ok'], `with the right password every step passes: ${JSON.stringify(out['right'])}\n${branch.log().split('\n').slice(-10).join('\n')}`);
  t.notOk(branch.log().includes(PASSWORD) || hq.log().includes(PASSWORD), 'the password never reaches a log');
});
