// Issue 21: IKEv2 EAP passed through to RADIUS (listeners.ikev2.eapPassThrough, RFC 3579). Postern
// asks the EAP identity, then relays every EAP packet between a strongSwan client and FreeRADIUS's
// own EAP server (EAP-MSCHAPv2 there: Postern never sees a challenge it could check); the AUTH
// after EAP is keyed with the MSK from FreeRADIUS's MS-MPPE keys. The right password gets a virtual
// address and pings; a wrong one is refused by FreeRADIUS (Access-Reject), and Postern says so.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { FreeRadius } from '../lab/peers/freeradius.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(
  !isRoot() ? 'needs root' : !hasBinary('freeradius') ? 'not installed: freeradius' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false,
);
const GATEWAY = '192.0.2.1';
const SECRET = 'ike-eap-radius-shared-secret';

t.test('IKEv2 EAP passed through: strongSwan and FreeRADIUS run EAP-MSCHAPv2 through Postern, the MSK from RADIUS', { skip }, async (t) => {
  const lab = Lab.create({
    hosts: { client: { gateway: GATEWAY }, gw: { forwarding: true }, radius: { gateway: '10.9.1.2' } },
    links: {
      wan: { a: ['client', '192.0.2.10/24'], b: ['gw', `${GATEWAY}/24`] },
      rad: { a: ['gw', '10.9.1.2/24'], b: ['radius', '10.9.1.1/24'] },
    },
  });
  t.teardown(() => lab.teardown());
  const radius = await FreeRadius.start(lab, 'radius', {
    address: '10.9.1.1',
    clients: [{ name: 'postern', network: '10.9.1.0/24', secret: SECRET }],
    users: [{ name: 'alice', password: 'Radius-Pass-21' }, { name: 'bob', password: 'Bob-Radius-Pass-21' }],
    replyMessageAuthenticator: 'always',
    eap: true,
  });
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: `${GATEWAY}/24` };
  config.system.lan = { interface: 'rad', address: '10.9.1.2/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.certificates.server = { commonName: GATEWAY, sans: [GATEWAY] };
  config.listeners.sstp.enabled = false;
  config.listeners.ikev2.userAuth = 'radius';
  config.listeners.ikev2.eapPassThrough = true;
  config.radius = { servers: [{ name: 'lab', address: '10.9.1.1', authPort: 1812, acctPort: 1813, secret: SECRET }] };
  config.pools = [{ name: 'clients', ipv4: '10.10.0.0/24', dns: [] }];
  config.users = [storedUser({ name: 'bob', password: 'Bob-Local-Pass-21', enabled: true })];
  const gw = await startPostern(lab, 'gw', config, (log) => log.includes('IKEv2 listening'));
  const road = await StrongSwan.start(lab, 'client', {
    files: { 'x509ca/postern-ca.pem': readFileSync(join(gw.stateDir, 'pki', 'ca.pem'), 'utf8') },
    connections: Object.fromEntries(['alice', 'bob'].map((user) => [user, {
      localAddrs: ['192.0.2.10'], remoteAddrs: [GATEWAY], proposals: ['aes256-sha1-modp1024'], vips: ['0.0.0.0'],
      local: { auth: 'eap-mschapv2', id: `${user}@client`, eapId: user }, remote: { auth: 'pubkey', id: GATEWAY },
      children: { [`${user}-lan`]: { localTs: ['dynamic'], remoteTs: ['10.9.1.0/24'], espProposals: ['aes256-sha1'] } },
    }])),
    secrets: [{ kind: 'eap', ids: ['alice'], secret: 'Radius-Pass-21' }, { kind: 'eap', ids: ['bob'], secret: 'Bob-Local-Pass-21' }],
  });

  const started = Date.now();
  const r = await road.initiate('alice-lan', 30);
  if (r.code !== 0) t.fail(`alice could not connect:\n${r.stdout}\n${gw.log().slice(-3000)}\n${radius.log().slice(-2000)}`);
  t.comment(`IKE_SA_INIT to the child SA in ${Date.now() - started} ms (EAP relayed to FreeRADIUS, 3 round trips)`);
  t.match(r.stdout, /server requested EAP_MSCHAPV2 authentication/, 'FreeRADIUS chose the method, through Postern');
  t.match(r.stdout, /EAP method EAP_MSCHAPV2 succeeded, MSK established/, 'the client accepted FreeRADIUS\'s MS-CHAPv2 Success');
  t.match(r.stdout, /authentication of '192\.0\.2\.1' with EAP successful/, 'Postern\'s AUTH keyed with the MSK from the MPPE keys matches');
  t.match(r.stdout, /installing new virtual IP 10\.10\.0\.1\b/, 'a pool address');
  t.match(gw.log(), /EAP through RADIUS authenticated 'alice'/);
  const ping = await lab.exec('client', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '-I', '10.10.0.1', '10.9.1.1']);
  t.equal(ping.code, 0, `the client reaches the LAN through the tunnel:\n${ping.stdout}${ping.stderr}`);
  t.match(radius.log(), /Login OK: \[alice/, 'FreeRADIUS logged the login');

  const refused = await road.initiate('bob-lan', 20);
  t.not(refused.code, 0, 'bob\'s local password is not FreeRADIUS\'s: refused');
  t.match(gw.log(), /EAP refused: EAP of 'bob' through RADIUS failed: lab: reject/, 'refused by FreeRADIUS, the local users not asked');
  t.notMatch(gw.log(), new RegExp(SECRET), 'the shared secret is not in Postern\'s log');
  await gw.stop();
});
