// The web UI watching a live IKEv2 session: `postern run` is the gateway in a lab namespace, a
// strongSwan client connects the Windows way, a browser in the gateway's namespace sees the session
// appear on the Sessions page and disconnects it; the client's IKE SA is gone afterwards.
// Issue 21: alice's password is checked by FreeRADIUS (on lanB), so the page says RADIUS and shows
// the Class it sent; the RADIUS page shows the server alive with its counters, its Test answers
// (Status-Server, a login accepted, a wrong password rejected), a server with a short secret is
// refused at its field, one added and removed, secrets never in the API's answer, a DAS client added
// and dynamic authorization turned on.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigStore } from '../../firmware/config/store.ts';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { hashPassword } from '../../firmware/control/password-hash.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { createCa } from '../../firmware/pki/ca.ts';
import { browserMissing } from '../helpers/browser.ts';
import { cleanEnv } from '../helpers/env.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { labSkip } from '../lab/skip.ts';
import { FreeRadius } from '../lab/peers/freeradius.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const skip = labSkip(!isRoot() ? 'needs root' : browserMissing() ?? (!existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : !hasBinary('freeradius') ? 'not installed: freeradius' : false));
const SECRET = 'live-session-radius-secret';
const ADMIN = 'Field-Tech-Pass-77';

t.test('a live IKEv2 session appears in the browser and is disconnected from there', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  await FreeRadius.start(lab, 'lanB', {
    address: '10.2.0.10',
    clients: [{ name: 'postern', network: '10.2.0.0/24', secret: SECRET }],
    users: [{ name: 'alice', password: 'Radius-Horse-Battery-7', reply: { Class: 'branch-class-7' } }],
    replyMessageAuthenticator: 'always',
  });
  const state = lab.subdir('postern-state');
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: '192.0.2.2/24' };
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.admin.passwordHash = hashPassword(ADMIN);
  config.users = [storedUser({ name: 'alice', password: 'Correct-Horse-Battery-7', enabled: true })];
  config.certificates.server = { commonName: 'vpn.example.com', sans: ['192.0.2.2'] };
  config.listeners.sstp.enabled = false;
  config.listeners.ikev2.userAuth = 'radius';
  config.radius = { servers: [{ name: 'lab', address: '10.2.0.10', authPort: 1812, acctPort: 1813, secret: SECRET }] };
  const store = await ConfigStore.open(join(state, 'config'), { logger: createLogger({ sink: () => {} }) });
  await store.write(config, { author: 'test' });
  const service = lab.spawnDaemon('gwB', 'postern', [process.execPath, ...tsEntry('firmware/main.ts'), 'run', '--state', state], cleanEnv());
  await waitUntil('Postern listens for IKE', 60_000, () => existsSync(service.logFile) && readFileSync(service.logFile, 'utf8').includes('IKEv2 listening'));
  const { peer: browser } = await LinePeer.spawn(lab, 'gwB', 'browser', 'browser-peer.ts', { base: 'http://127.0.0.1:18080', password: ADMIN });

  const road = await StrongSwan.start(lab, 'gwA', {
    files: { 'x509ca/postern-ca.pem': readFileSync(join(state, 'pki', 'ca.pem'), 'utf8') },
    connections: {
      vpn: {
        localAddrs: ['192.0.2.1'], remoteAddrs: ['192.0.2.2'], proposals: ['aes256-sha1-modp1024'], vips: ['0.0.0.0'],
        local: { auth: 'eap-mschapv2', id: '192.0.2.1', eapId: 'alice' }, remote: { auth: 'pubkey', id: '192.0.2.2' },
        children: { lan: { localTs: ['dynamic'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256-sha1'] } },
      },
    },
    secrets: [{ kind: 'eap', ids: ['alice'], secret: 'Radius-Horse-Battery-7' }],
  });
  const r = await road.initiate('lan');
  t.equal(r.code, 0, `the client connects:\n${r.stdout.slice(-2000)}`);
  const seen = await browser.command('wait-session alice').catch((e: Error) => `error ${e.message}`);
  t.match(seen, /^session ikev2-[0-9a-f]{16}$/, 'the Sessions page lists alice\'s IKEv2 session');
  t.match(await browser.command('session-auth alice'), /^RADIUS lab.*Class branch-class-7/, 'authenticated by the RADIUS server, its Class shown');
  t.match(await browser.command('screenshot 06-live-ikev2-session'), /^saved /);
  t.equal(await browser.command('disconnect alice'), 'gone', 'Disconnect removes it from the page');
  await waitUntil('the client\'s IKE SA is gone', 15_000, async () => (await road.listSas()).length === 0);
  t.pass('the strongSwan client lost its IKE SA');
  t.match(readFileSync(service.logFile, 'utf8'), /session disconnected by the administrator/, 'and the gateway logged who ended it');

  // The RADIUS page.
  const lab1 = JSON.parse(await browser.command('radius-row lab')) as Record<string, number | string>;
  t.match(lab1, { state: 'alive', backlog: 0 }, `the server alive: ${JSON.stringify(lab1)}`);
  t.ok(Number(lab1['accepts']) >= 1 && Number(lab1['requests']) >= 1, 'with its counters');
  t.match(await browser.command('radius-test lab'), /^Status-Server: answered \(accept, \d+ ms\)$/, 'Test: Status-Server answered');
  t.match(await browser.command('radius-test lab alice Radius-Horse-Battery-7'), /Login: answered \(accept/, 'a test login accepted');
  t.match(await browser.command('radius-test lab alice Not-Her-Password-1'), /Login: failed \(reject/, 'a wrong password rejected');
  t.match(await browser.command('radius-add server hq2 10.2.0.77 short'), /^refused Shared secret: /, 'a short secret refused at its field');
  t.equal(await browser.command('radius-add server hq2 10.2.0.77 hq2-long-shared-secret'), 'added');
  const answer = await browser.command('api-get /radius');
  t.match(answer, /"name":"hq2"[^}]*"secret":"<redacted>"/, 'the API shows the secret as <redacted>');
  t.notMatch(answer, new RegExp(`${SECRET}|hq2-long-shared-secret`), 'never in clear');
  t.equal(await browser.command('radius-remove hq2'), 'gone', 'and the server removed');
  // A RadSec server (RFC 6614) from the page: its CA pasted, nothing listening on its port yet.
  const caFile = join(lab.dir, 'radsec-ca.pem');
  writeFileSync(caFile, createCa({ commonName: 'HQ RADIUS CA', validityDays: 30, keyType: 'ecdsa-p256', now: new Date() }).certificatePem);
  const addedTls = await browser.command(`radius-add-radsec tls-hq 10.2.0.10 2099 ${caFile}`, 40_000);
  t.equal(addedTls, 'added', `a RadSec server added with its CA: ${addedTls}`);
  t.match(await browser.command('radius-test tls-hq'), /^Status-Server: failed/, 'its Test fails: no TLS listener there');
  t.match(await browser.command('radius-radsec tls-hq'), /^down TLS not connected/, 'the row shows the TLS connection down');
  t.match(await browser.command('api-get /radius'), /"name":"tls-hq"[^]*"radsec":\{"port":2099/, 'the API names its RadSec port');
  t.equal(await browser.command('radius-remove tls-hq'), 'gone');
  t.equal(await browser.command('radius-add client dac 10.2.0.10 dac-long-shared-secret'), 'added', 'a DAS client added');
  t.equal(await browser.command('das-enable'), 'running', 'dynamic authorization on, listening');
  t.match(await browser.command('screenshot 06-radius-page'), /^saved /);
});
