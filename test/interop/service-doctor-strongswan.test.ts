// The connection doctor end to end (issue 17): `postern run` as the gateway in a lab namespace, a
// strongSwan client dialling the Windows way with a wrong password; the failed attempt appears in
// GET /api/v1/problems with its explanation and Windows' error 691, and as an MQTT event. Then a
// strongSwan site with the wrong pre-shared key; Chromium, in the gateway's namespace, lists both on
// the Connection problems page with their explanations.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { browserMissing } from '../helpers/browser.ts';
import { apiGetIn } from '../helpers/namespace-api.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { Mosquitto } from '../lab/peers/mosquitto.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : browserMissing());
const ADMIN = 'Field-Tech-Pass-77';

// Inside the gateway's namespace: first-boot setup, login, then the problems list as JSON.
const FETCH_PROBLEMS = `
const base = 'http://127.0.0.1:18080/api/v1';
const json = { 'content-type': 'application/json' };
(async () => {
  await fetch(base + '/setup', { method: 'POST', headers: json, body: JSON.stringify({ password: '${ADMIN}' }) });
  const login = await fetch(base + '/login', { method: 'POST', headers: json, body: JSON.stringify({ password: '${ADMIN}' }) });
  const cookie = (login.headers.get('set-cookie') || '').split(';')[0];
  const r = await fetch(base + '/problems?user=alice', { headers: { cookie } });
  process.stdout.write(await r.text());
})();`;

t.test('a wrong-password strongSwan client and a wrong-key strongSwan site: explained in /api/v1/problems, over MQTT and on the page in Chromium', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect); // gwA: the client; gwB: Postern; lanB behind it
  t.teardown(() => lab.teardown());
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: '192.0.2.2/24' };
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false }; // inside the namespace
  config.users = [storedUser({ name: 'alice', password: 'Correct-Horse-Battery-7', enabled: true })];
  config.certificates.server = { commonName: 'vpn.example.com', sans: ['192.0.2.2', 'vpn.example.com'] };
  config.listeners.sstp.enabled = false;
  // A site answered here, told apart from the road warrior (same address) by the ID it must send.
  config.sites = [{ name: 'branch', protocol: 'ikev2', remote: '192.0.2.1', remoteId: 'branch.example', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.1.0.0/24'], auth: 'psk', psk: 'the-right-site-key-0123456789', initiate: false, enabled: true }];
  config.telemetry.mqtt = { enabled: true, url: 'mqtt://10.2.0.10:1883', username: 'fleet', password: 'Fleet-Pass-1', prefix: 'postern', deviceId: 'gw-test', intervalSeconds: 5, commandsEnabled: false };
  await Mosquitto.start(lab, 'lanB', { address: '10.2.0.10', users: { fleet: 'Fleet-Pass-1' } });
  const service = await startPostern(lab, 'gwB', config, (log) => log.includes('IKEv2 listening'));
  const state = service.stateDir;
  const road = await StrongSwan.start(lab, 'gwA', {
    files: { 'x509ca/postern-ca.pem': readFileSync(join(state, 'pki', 'ca.pem'), 'utf8') },
    connections: {
      vpn: {
        localAddrs: ['192.0.2.1'], remoteAddrs: ['192.0.2.2'], proposals: ['aes256-sha1-modp1024'], vips: ['0.0.0.0'],
        local: { auth: 'eap-mschapv2', id: '192.0.2.1', eapId: 'alice' }, remote: { auth: 'pubkey', id: '192.0.2.2' },
        children: { lan: { localTs: ['dynamic'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256-sha1'] } },
      },
      site: {
        localAddrs: ['192.0.2.1'], remoteAddrs: ['192.0.2.2'], proposals: ['aes256-sha256-modp2048'],
        local: { auth: 'psk', id: 'branch.example' }, remote: { auth: 'psk', id: '192.0.2.2' },
        children: { net: { localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
      },
    },
    secrets: [{ kind: 'eap', ids: ['alice'], secret: 'Not-Her-Password-1' }, { kind: 'ike', ids: ['branch.example', '192.0.2.2'], secret: 'not-the-site-key-9876543210' }],
  });
  const auth = ['-h', '10.2.0.10', '-u', 'fleet', '-P', 'Fleet-Pass-1'];
  await waitUntil('the gateway reports online', 15_000, async () => (await lab.exec('lanB', ['mosquitto_sub', ...auth, '-t', 'postern/gw-test/state', '-C', '1', '-W', '2'])).stdout.includes('"online"'));
  const events = lab.exec('lanB', ['mosquitto_sub', ...auth, '-t', 'postern/gw-test/events', '-C', '3', '-W', '15'], 20_000);
  await new Promise((done) => setTimeout(done, 1000)); // subscribed before the attempt
  const r = await road.initiate('lan');
  t.not(r.code, 0, 'the client is refused');
  t.match(r.stdout, /EAP_FAILURE|EAP method EAP_MSCHAPV2 failed|received EAP_FAILURE/i, `strongSwan says EAP failed:\n${r.stdout.slice(-1500)}`);

  const answer = JSON.parse((await lab.exec('gwB', [process.execPath, '-e', FETCH_PROBLEMS])).stdout || '{}') as { problems?: unknown[] };
  t.equal(answer.problems?.length, 1, `one problem for alice: ${JSON.stringify(answer)}`);
  t.match(answer.problems?.[0], {
    id: 1, protocol: 'ikev2', stage: 'eap', cause: 'wrong-password', user: 'alice', source: '192.0.2.1',
    explanation: /user name or the password is wrong/, client: { windows: /^Error 691/ }, fix: /Users page/,
  }, 'explained, with what Windows would show and the fix');

  const lines = (await events).stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type?: string; details?: Record<string, unknown> });
  t.match(lines.find((e) => e.type === 'connection-problem'), { details: { cause: 'wrong-password', user: 'alice', source: '192.0.2.1', client: { windows: /691/ } } }, `the fleet console heard of it: ${JSON.stringify(lines)}`);

  // The site with the wrong key: refused at IKE_AUTH, filed under the site.
  const site = await road.initiate('net');
  t.not(site.code, 0, 'the site is refused');
  const forSite = (await apiGetIn(lab, 'gwB', '/problems?site=branch', ADMIN))['problems'] as unknown[] | undefined;
  t.match(forSite, [{ protocol: 'ikev2', stage: 'ike-auth', cause: 'psk-mismatch', site: 'branch', peer: 'branch.example', source: '192.0.2.1' }], `the site's problem: ${JSON.stringify(forSite)}`);

  // What the technician reads: Chromium in the gateway's namespace, on the Connection problems page.
  const { peer: browser } = await LinePeer.spawn(lab, 'gwB', 'browser', 'browser-peer.ts', { base: 'http://127.0.0.1:18080', password: ADMIN }, 60_000);
  const page = await browser.command('problems 2', 60_000).catch((e: Error) => `${e.message}\n${readFileSync(browser.daemon.logFile, 'utf8').slice(-3000)}`);
  const shown = (page.startsWith('[') ? JSON.parse(page) : (t.fail(`the page's problems: ${page}`), [])) as Array<{ cause: string; text: string }>;
  t.same(shown.map((p) => p.cause), ['psk-mismatch', 'wrong-password'], 'the page lists both, newest first');
  t.match(shown[0]?.text, /site branch[^]*from 192\.0\.2\.1[^]*pre-shared key on the client \(or the other site\) is not the one set[^]*Fix: Type the same pre-shared key/, `the site's entry explained: ${shown[0]?.text}`);
  t.notMatch(shown[0]?.text, /Windows shows/, 'a site quotes no client screen');
  t.match(shown[1]?.text, /alice[^]*from 192\.0\.2\.1[^]*user name or the password is wrong[^]*Windows shows\s+Error 691[^]*Fix:.*Users page/, `alice's entry explained, with Windows' error: ${shown[1]?.text}`);
  t.match(await browser.command('screenshot 17-doctor-strongswan'), /^saved /);
  t.notOk(service.log().includes('Not-Her-Password-1'), 'the password never reaches the log');
  t.notOk(service.log().includes('not-the-site-key-9876543210') || service.log().includes('the-right-site-key-0123456789'), 'nor the site keys');
});
