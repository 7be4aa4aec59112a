// Issue 21: IKEv2 EAP passed through to RADIUS (listeners.ikev2.eapPassThrough, RFC 3579). Postern
// asks the EAP identity, then relays every EAP packet between strongSwan clients and FreeRADIUS's
// own EAP server; the AUTH after EAP is keyed with the MSK from FreeRADIUS's MS-MPPE keys.
// EAP-MSCHAPv2 (checked by FreeRADIUS: Postern never sees a challenge it could check): the right
// password gets a virtual address and pings; a wrong one is refused by FreeRADIUS, and Postern says
// so. EAP-TLS (the client's certificate checked by FreeRADIUS, FreeRADIUS's by the client): up, pings.
// EAP-PEAP (Windows' usual choice: MS-CHAPv2 inside FreeRADIUS's TLS; strongSwan's eap-peap plugin,
// which Debian leaves out, built for the lab): right and wrong password.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { createCa } from '../../firmware/pki/ca.ts';
import { issueClientCertificate, issueServerCertificate } from '../../firmware/pki/issue.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { FreeRadius } from '../lab/peers/freeradius.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { eapPeapPlugin } from '../lab/peers/strongswan-eap-peap.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const peap = eapPeapPlugin();
const skip = labSkip(
  !isRoot() ? 'needs root' : !hasBinary('freeradius') ? 'not installed: freeradius' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : 'missing' in peap ? peap.missing : false,
);
const GATEWAY = '192.0.2.1';
const SECRET = 'ike-eap-radius-shared-secret';

t.test('IKEv2 EAP passed through: strongSwan and FreeRADIUS run EAP-MSCHAPv2, EAP-TLS and EAP-PEAP through Postern, the MSK from RADIUS', { skip }, async (t) => {
  const lab = Lab.create({
    hosts: { client: { gateway: GATEWAY }, gw: { forwarding: true }, radius: { gateway: '10.9.1.2' } },
    links: {
      wan: { a: ['client', '192.0.2.10/24'], b: ['gw', `${GATEWAY}/24`] },
      rad: { a: ['gw', '10.9.1.2/24'], b: ['radius', '10.9.1.1/24'] },
    },
  });
  t.teardown(() => lab.teardown());
  // The AAA side's own CA (not Postern's): FreeRADIUS's EAP-TLS certificate and carol's.
  const now = new Date();
  const aaaCa = createCa({ commonName: 'Lab AAA CA', validityDays: 30, keyType: 'ecdsa-p256', now });
  const aaaServer = issueServerCertificate(aaaCa, { commonName: 'radius.lab', sans: ['radius.lab'], validityDays: 30, now, keyType: 'ecdsa-p256' });
  const carol = issueClientCertificate(aaaCa, { commonName: 'carol', email: 'carol@example.com', validityDays: 30, now, keyType: 'ecdsa-p256' });
  const radius = await FreeRadius.start(lab, 'radius', {
    address: '10.9.1.1',
    clients: [{ name: 'postern', network: '10.9.1.0/24', secret: SECRET }],
    users: [{ name: 'alice', password: 'Radius-Pass-21' }, { name: 'bob', password: 'Bob-Radius-Pass-21' }, { name: 'dave', password: 'Dave-Peap-Pass-21' }, { name: 'erin', password: 'Erin-Peap-Pass-21' }],
    replyMessageAuthenticator: 'always',
    eap: true,
    eapTls: { certificatePem: aaaServer.certificatePem, keyPem: aaaServer.keyPem.reveal(), caPem: aaaCa.certificatePem },
    eapPeap: true,
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
  const connection = (user: string, local: { auth: 'eap-mschapv2' | 'eap-tls' | 'eap-peap'; id: string; eapId: string; certs?: string[]; aaaId?: string }) => ({
    localAddrs: ['192.0.2.10'], remoteAddrs: [GATEWAY], proposals: ['aes256-sha1-modp1024'], vips: ['0.0.0.0'],
    local, remote: { auth: 'pubkey' as const, id: GATEWAY },
    children: { [`${user}-lan`]: { localTs: ['dynamic'], remoteTs: ['10.9.1.0/24'], espProposals: ['aes256-sha1'] } },
  });
  const road = await StrongSwan.start(lab, 'client', {
    plugins: ['eap-tls', 'eap-peap'],
    preload: 'path' in peap ? [peap.path] : [],
    files: {
      'x509ca/postern-ca.pem': readFileSync(join(gw.stateDir, 'pki', 'ca.pem'), 'utf8'),
      'x509ca/aaa-ca.pem': aaaCa.certificatePem,
      'x509/carol.pem': carol.certificatePem,
      'private/carol.key': carol.keyPem.reveal(),
    },
    connections: {
      alice: connection('alice', { auth: 'eap-mschapv2', id: 'alice@client', eapId: 'alice' }),
      bob: connection('bob', { auth: 'eap-mschapv2', id: 'bob@client', eapId: 'bob' }),
      carol: connection('carol', { auth: 'eap-tls', id: 'carol@example.com', eapId: 'carol@example.com', certs: ['carol.pem'], aaaId: 'radius.lab' }), // FreeRADIUS's certificate, not the gateway's
      dave: connection('dave', { auth: 'eap-peap', id: 'dave@client', eapId: 'dave', aaaId: 'radius.lab' }),
      erin: connection('erin', { auth: 'eap-peap', id: 'erin@client', eapId: 'erin', aaaId: 'radius.lab' }),
    },
    // erin's is not FreeRADIUS's: refused inside PEAP's tunnel.
    secrets: [{ kind: 'eap', ids: ['alice'], secret: 'Radius-Pass-21' }, { kind: 'eap', ids: ['bob'], secret: 'Bob-Local-Pass-21' }, { kind: 'eap', ids: ['dave'], secret: 'Dave-Peap-Pass-21' }, { kind: 'eap', ids: ['erin'], secret: 'Erin-Wrong-Pass-21' }],
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

  // EAP-TLS: a method Postern cannot run itself, run by the client and FreeRADIUS through it.
  const tls = await road.initiate('carol-lan', 30);
  if (tls.code !== 0) t.fail(`carol could not connect:\n${tls.stdout}\n${gw.log().slice(-2000)}\n${radius.log().slice(-2000)}`);
  t.match(tls.stdout, /EAP method EAP_TLS succeeded, MSK established/, 'EAP-TLS between the client and FreeRADIUS, through Postern');
  t.match(tls.stdout, /authentication of '192\.0\.2\.1' with EAP successful/, 'Postern\'s AUTH keyed with the EAP-TLS MSK matches');
  t.match(gw.log(), /EAP through RADIUS authenticated 'carol@example\.com'/);
  const vip = /installing new virtual IP (10\.10\.0\.\d+)/.exec(tls.stdout)?.[1] ?? '10.10.0.2';
  const tlsPing = await lab.exec('client', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '-I', vip, '10.9.1.1']);
  t.equal(tlsPing.code, 0, `carol reaches the LAN from ${vip}:\n${tlsPing.stdout}${tlsPing.stderr}`);

  // EAP-PEAP: TLS to FreeRADIUS (its certificate checked by the client), MS-CHAPv2 inside, the MSK
  // from the TLS master secret on both ends (FreeRADIUS hands Postern its half as MS-MPPE keys).
  const peapUp = await road.initiate('dave-lan', 30);
  if (peapUp.code !== 0) t.fail(`dave could not connect:\n${peapUp.stdout}\n${gw.log().slice(-2000)}\n${radius.log().slice(-2000)}`);
  t.match(peapUp.stdout, /server requested EAP_PEAP authentication/, 'FreeRADIUS asked for PEAP, through Postern');
  t.match(peapUp.stdout, /EAP method EAP_PEAP succeeded, MSK established/, 'PEAP between the client and FreeRADIUS');
  t.match(peapUp.stdout, /authentication of '192\.0\.2\.1' with EAP successful/, 'Postern\'s AUTH keyed with the PEAP MSK matches');
  t.match(gw.log(), /EAP through RADIUS authenticated 'dave'/);
  const peapVip = /installing new virtual IP (10\.10\.0\.\d+)/.exec(peapUp.stdout)?.[1] ?? '10.10.0.3';
  const peapPing = await lab.exec('client', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '-I', peapVip, '10.9.1.1']);
  t.equal(peapPing.code, 0, `dave reaches the LAN from ${peapVip}:\n${peapPing.stdout}${peapPing.stderr}`);
  const peapRefused = await road.initiate('erin-lan', 20);
  t.not(peapRefused.code, 0, 'a wrong password inside PEAP is refused');
  t.match(gw.log(), /EAP refused: EAP of 'erin' through RADIUS failed: lab: reject/, 'FreeRADIUS\'s reject reaches the client through Postern');
  t.notMatch(gw.log(), new RegExp(SECRET), 'the shared secret is not in Postern\'s log');
  await gw.stop();
});
