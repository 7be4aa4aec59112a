// Issue 21: SSTP's MS-CHAPv2 checked by FreeRADIUS. `postern run` with listeners.sstp.auth = radius
// and a local alice whose password differs from FreeRADIUS's: Postern's own SSTP client dials with
// the RADIUS password and gets its call (MS-CHAP2-Success passed through and checked by the client,
// the crypto binding keyed from the MPPE keys FreeRADIUS sent, IPCP); the local password is refused;
// FreeRADIUS logged the login and recorded the call's accounting Start and Stop; the shared secret
// never appears in Postern's log. A client set to EAP (Windows' "secured password") gets its call
// too, its EAP relayed to FreeRADIUS's EAP server and the crypto binding keyed from the MSK.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { FreeRadius } from '../lab/peers/freeradius.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !hasBinary('freeradius') ? 'not installed: freeradius' : false);
const GATEWAY = '192.0.2.1';
const SECRET = 'sstp-radius-shared-secret';
const dialed = (label: string) => (e: Record<string, unknown>) => e['type'] === 'dialed' && e['label'] === label;

t.test('SSTP with auth radius: MS-CHAPv2 checked by FreeRADIUS, keys from its MPPE attributes', { skip }, async (t) => {
  const lab = Lab.create({
    hosts: { client: { gateway: GATEWAY }, gw: {}, radius: {} },
    links: {
      wan: { a: ['client', '192.0.2.10/24'], b: ['gw', `${GATEWAY}/24`] },
      rad: { a: ['gw', '10.9.1.2/24'], b: ['radius', '10.9.1.1/24'] },
    },
  });
  t.teardown(() => lab.teardown());
  const radius = await FreeRadius.start(lab, 'radius', {
    address: '10.9.1.1',
    clients: [{ name: 'postern', network: '10.9.1.0/24', secret: SECRET }],
    users: [{ name: 'alice', password: 'Radius-Pass-21' }],
    replyMessageAuthenticator: 'always',
    eap: true,
  });
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: `${GATEWAY}/24` };
  config.system.lan = { interface: 'rad', address: '10.9.1.2/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.certificates.server = { commonName: GATEWAY, sans: [GATEWAY] };
  config.listeners.ikev2.enabled = false;
  config.listeners.sstp.auth = 'radius';
  config.radius = { servers: [{ name: 'lab', address: '10.9.1.1', authPort: 1812, acctPort: 1813, secret: SECRET }] };
  config.pools = [{ name: 'clients', ipv4: '10.10.0.0/24', dns: [] }];
  config.users = [storedUser({ name: 'alice', password: 'Local-Pass-21', enabled: true })];
  const gw = await startPostern(lab, 'gw', config, (log) => log.includes('SSTP listening'));
  const fingerprint = new X509Certificate(readFileSync(join(gw.stateDir, 'pki', 'server.pem'))).fingerprint256;
  const dial = async (label: string, password: string, deadlineMs: number, auth: 'mschapv2' | 'eap' = 'mschapv2') => {
    const { peer } = await LinePeer.spawn(lab, 'client', `sstp-${label}`, 'sstp-dial-peer.ts', { host: GATEWAY, port: 443, fingerprint, user: 'alice', password, auth });
    await peer.call('dial', label, deadlineMs, 250, 5000);
    const result = await peer.waitEvent(dialed(label), deadlineMs + 5000);
    await peer.call('hangup');
    return result;
  };

  const ok = await dial('radius-password', 'Radius-Pass-21', 10_000);
  t.match(ok, { ok: true, address: /^10\.10\.0\./ }, `the RADIUS password gets the call: ${JSON.stringify(ok)}`);
  t.comment(`call up in ${ok['ms']} ms (TLS, SSTP, MS-CHAPv2 through RADIUS, crypto binding, IPCP)`);
  const refused = await dial('local-password', 'Local-Pass-21', 3000);
  t.equal(refused['ok'], false, 'the local password is not RADIUS\'s: refused');
  t.match(radius.log(), /Login OK: \[alice/, 'FreeRADIUS logged the login');
  t.match(gw.log(), /"reason":"lab: reject \(Authentication rejected\) \(radius\)".*"msg":"PPP authentication failed"/, 'refused by the RADIUS server, not by the local users');
  // Accounting: the call's Start and Stop in FreeRADIUS's detail file (the client hung up).
  const detail = () => { try { return readFileSync(join(radius.dir, 'detail'), 'utf8'); } catch { return ''; } };
  await waitUntil('the Stop record', 5000, async () => /Acct-Status-Type = Stop/.test(detail()), detail);
  const records = detail().split(/\n\n+/).filter((r) => /User-Name = "alice"/.test(r));
  t.match(records, [/Acct-Status-Type = Start[\s\S]*Framed-IP-Address = 10\.10\.0\.1/, /Acct-Status-Type = Stop[\s\S]*Acct-Terminate-Cause = User-Request/], 'Start then Stop, with the address and why it ended');
  const ids = records.map((r) => /Acct-Session-Id = "([^"]+)"/.exec(r)?.[1]);
  t.ok(ids[0] && ids[0] === ids[1], `one Acct-Session-Id for both: ${ids.join(', ')}`);
  // The RADIUS server's counters in the SSTP subsystem's status, as /healthz shows them.
  const script = "fetch('http://127.0.0.1:18080/healthz').then((r) => r.json()).then((h) => console.log(JSON.stringify(h.subsystems.sstp.counters ?? {})))";
  const counters = JSON.parse((await lab.exec('gw', [process.execPath, '-e', script])).stdout.trim() || '{}') as Record<string, number>;
  t.match(counters, { 'radius.lab.accepts': 1, 'radius.lab.alive': 1, 'radius.lab.badAuthenticators': 0 }, '/healthz: per-server RADIUS counters');
  t.ok(counters['radius.lab.rejects']! >= 1, 'the rejects counted');
  // EAP: relayed to FreeRADIUS (its EAP-MSCHAPv2), the HLAK from the MSK its MPPE keys make.
  const eap = await dial('radius-eap', 'Radius-Pass-21', 10_000, 'eap');
  t.match(eap, { ok: true, address: /^10\.10\.0\./ }, `EAP through RADIUS gets the call: ${JSON.stringify(eap)}`);
  t.equal(radius.log().match(/Login OK: \[alice/g)?.length, 2, 'FreeRADIUS logged the second login');
  t.notMatch(gw.log(), new RegExp(SECRET), 'the shared secret is not in Postern\'s log');
  await gw.stop();
});
