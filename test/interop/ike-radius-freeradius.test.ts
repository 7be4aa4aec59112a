// Issue 21: IKEv2 EAP-MSCHAPv2 checked by FreeRADIUS. `postern run` with listeners.ikev2.userAuth =
// radius; a strongSwan client connects the Windows way (EAP-MSCHAPv2, the gateway's certificate):
// with the RADIUS password it gets its virtual address (the AUTH after EAP keyed from the MPPE keys
// FreeRADIUS sent, MS-CHAP2-Success checked by the client) and pings through the tunnel; bob, whose
// local password the client uses, is refused (RADIUS decides, not the local users); FreeRADIUS's
// detail file has the session's accounting Start (with Framed-IP-Address) and its Stop after the
// client hangs up, its octets matching what moved (a 1 MiB file down the tunnel and the pings) and the
// gateway's address as Called-Station-Id; the shared secret never appears in Postern's log.
// What the Access-Accept says applies as for PPP: carol gets her Framed-IP-Address and the
// MS-Primary/Secondary-DNS-Server in the CFG_REPLY, and her IKE SA is deleted at Session-Timeout
// (Stop with Acct-Terminate-Cause Session-Timeout); dave leases from his Framed-Pool. The accounting
// spool on disk: FreeRADIUS stopped, dave hangs up, Postern is killed with SIGKILL; after both start
// again dave's Stop arrives in the new server's detail file with Acct-Delay-Time. They come back
// over RadSec (RFC 6614, FreeRADIUS's TLS listener, Postern's client certificate from its own CA,
// the server's checked against the configured CA): the spooled Stop, then a login and its Start go
// through it, while a first RadSec server that refuses connections is marked dead at once.
// Accounting-On (RFC 2866 §5.1): the gateway says it started before its first session's Start, and
// after the restart behind the spooled Stop of the run before; Accounting-Off when it stops cleanly.
// Dynamic authorization (RFC 5176) for IKEv2: radclient's Disconnect-Request naming alice deletes
// her IKE SA (the client sees the Delete) and her Stop says Admin-Reset; a CoA with an Idle-Timeout
// before it is NAKed 401 (an IKE SA takes Session-Timeout only) and her SA lives on to be disconnected.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { createCa } from '../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../firmware/pki/issue.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { FreeRadius } from '../lab/peers/freeradius.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(
  !isRoot() ? 'needs root' : !hasBinary('freeradius') ? 'not installed: freeradius' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : !hasBinary('curl') ? 'curl is not installed' : !hasBinary('socat') ? 'socat is not installed' : false,
);
const GATEWAY = '192.0.2.1';
const SECRET = 'ike-radius-shared-secret';
const DAS_SECRET = 'ike-das-radclient-secret-21';

t.test('IKEv2 with userAuth radius: EAP-MSCHAPv2 checked by FreeRADIUS, MSK from its MPPE keys, accounting', { skip }, async (t) => {
  const lab = Lab.create({
    hosts: { client: { gateway: GATEWAY }, gw: { forwarding: true }, radius: { gateway: '10.9.1.2' } },
    links: {
      wan: { a: ['client', '192.0.2.10/24'], b: ['gw', `${GATEWAY}/24`] },
      rad: { a: ['gw', '10.9.1.2/24'], b: ['radius', '10.9.1.1/24'] },
    },
  });
  t.teardown(() => lab.teardown());
  const radiusSpec = {
    address: '10.9.1.1',
    clients: [{ name: 'postern', network: '10.9.1.0/24', secret: SECRET }],
    users: [{ name: 'alice', password: 'Radius-Pass-21' }, { name: 'bob', password: 'Bob-Radius-Pass-21' },
      { name: 'carol', password: 'Carol-Radius-21', reply: { 'Framed-IP-Address': '10.10.0.50', 'Session-Timeout': '4', 'MS-Primary-DNS-Server': '10.9.1.53', 'MS-Secondary-DNS-Server': '10.9.1.54' } },
      { name: 'dave', password: 'Dave-Radius-21', reply: { 'Framed-Pool': 'staff' } }],
    replyMessageAuthenticator: 'always',
  } as const;
  const radius = await FreeRadius.start(lab, 'radius', radiusSpec);
  const KNOWN_OCTETS = 1_048_576;
  const knownFile = join(lab.subdir('transfer'), 'known-size.bin');
  writeFileSync(knownFile, randomBytes(KNOWN_OCTETS));
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: `${GATEWAY}/24` };
  config.system.lan = { interface: 'rad', address: '10.9.1.2/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.certificates.server = { commonName: GATEWAY, sans: [GATEWAY] };
  config.listeners.sstp.enabled = false;
  config.listeners.ikev2.userAuth = 'radius';
  config.radius = { servers: [{ name: 'lab', address: '10.9.1.1', authPort: 1812, acctPort: 1813, secret: SECRET }] };
  config.pools = [{ name: 'clients', ipv4: '10.10.0.0/24', dns: [] }, { name: 'staff', ipv4: '10.10.1.0/24', dns: [] }];
  // Local passwords differ from FreeRADIUS's: only RADIUS's count.
  config.users = [storedUser({ name: 'alice', password: 'Local-Pass-21', enabled: true }), storedUser({ name: 'bob', password: 'Bob-Local-Pass-21', enabled: true })];
  const gw = await startPostern(lab, 'gw', config, (log) => log.includes('IKEv2 listening'));
  const road = await StrongSwan.start(lab, 'client', {
    files: { 'x509ca/postern-ca.pem': readFileSync(join(gw.stateDir, 'pki', 'ca.pem'), 'utf8') },
    connections: Object.fromEntries(['alice', 'bob', 'carol', 'dave'].map((user) => [user, {
      localAddrs: ['192.0.2.10'], remoteAddrs: [GATEWAY], proposals: ['aes256-sha1-modp1024'], vips: ['0.0.0.0'],
      local: { auth: 'eap-mschapv2', id: `${user}@client`, eapId: user }, remote: { auth: 'pubkey', id: GATEWAY },
      children: { [`${user}-lan`]: { localTs: ['dynamic'], remoteTs: ['10.9.1.0/24'], espProposals: ['aes256-sha1'] } },
    }])),
    secrets: [{ kind: 'eap', ids: ['alice'], secret: 'Radius-Pass-21' }, { kind: 'eap', ids: ['bob'], secret: 'Bob-Local-Pass-21' },
      { kind: 'eap', ids: ['carol'], secret: 'Carol-Radius-21' }, { kind: 'eap', ids: ['dave'], secret: 'Dave-Radius-21' }],
  });

  const refused = await road.initiate('bob-lan', 20);
  t.not(refused.code, 0, 'bob with his local password is refused');
  t.match(gw.log(), /EAP refused: MS-CHAPv2 authentication of 'bob' failed \(RADIUS: lab: reject/, 'refused by the RADIUS server, not by the local users');

  const started = Date.now();
  const r = await road.initiate('alice-lan', 30);
  if (r.code !== 0) t.fail(`alice could not connect:\n${r.stdout}\n${gw.log().slice(-3000)}`);
  t.comment(`IKE_SA_INIT to the child SA in ${Date.now() - started} ms (RSA signature, EAP-MSCHAPv2 through RADIUS)`);
  t.match(r.stdout, /EAP method EAP_MSCHAPV2 succeeded, MSK established/, 'the client accepted the MS-CHAP2-Success FreeRADIUS made');
  t.match(r.stdout, /authentication of '192\.0\.2\.1' with EAP successful/, 'the gateway\'s AUTH keyed with the MSK from the MPPE keys matches');
  t.match(r.stdout, /installing new virtual IP 10\.10\.0\.1\b/, 'a pool address');
  const ping = await lab.exec('client', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-s', '1000', '-I', '10.10.0.1', '10.9.1.1']);
  t.equal(ping.code, 0, `the client reaches the LAN through the tunnel:\n${ping.stdout}${ping.stderr}`);
  t.match(radius.log(), /Login OK: \[alice/, 'FreeRADIUS logged the login');
  // Octets that match the traffic moved: a file of known size from the LAN host down alice's tunnel.
  const sender = lab.spawnDaemon('radius', 'known-size-sender', ['socat', '-u', `OPEN:${knownFile},rdonly`, 'TCP-LISTEN:5021,bind=10.9.1.1']);
  await waitUntil('the sender listening', 5000, async () => (await lab.exec('radius', ['ss', '-ltn', 'sport = :5021'])).stdout.includes(':5021'));
  const fetched = await lab.exec('client', ['sh', '-c', 'socat -u TCP:10.9.1.1:5021,bind=10.10.0.1 - | wc -c'], 60_000);
  t.equal(fetched.stdout.trim(), String(KNOWN_OCTETS), `the client received the whole file through the tunnel ${fetched.stderr}`);
  await Promise.race([sender.exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  // Segments the sender sent again are traffic moved too (a loaded machine drops some): the bound makes room for them.
  const tcp = (await lab.exec('radius', ['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Tcp:')).map((l) => l.split(/\s+/));
  const tcpCount = (name: string) => Number(tcp[1]?.[tcp[0]?.indexOf(name) ?? -1] ?? 0);
  const [retransmitted, segmentsSent] = [tcpCount('RetransSegs'), tcpCount('OutSegs')];

  // Accounting: Start with the address; Stop after the client hangs up, with the ping's octets.
  const detail = () => { try { return readFileSync(join(radius.dir, 'detail'), 'utf8'); } catch { return ''; } };
  await waitUntil('the Start record', 5000, async () => /Acct-Status-Type = Start/.test(detail()), detail);
  const statuses = (text: string) => text.split(/\n\n+/).map((rec) => /Acct-Status-Type = (\S+)/.exec(rec)?.[1]).filter((s) => s !== undefined);
  t.same(statuses(detail()).slice(0, 2), ['Accounting-On', 'Start'], 'Accounting-On when the gateway started, before the first Start');
  t.match(detail().split(/\n\n+/).find((rec) => /Accounting-On/.test(rec)), /NAS-Identifier = "[^"]+"/, 'naming the NAS');
  await road.swanctl(['--terminate', '--ike', 'alice']);
  await waitUntil('the Stop record', 8000, async () => /Acct-Status-Type = Stop/.test(detail()), detail);
  const records = detail().split(/\n\n+/).filter((rec) => /User-Name = "alice"/.test(rec));
  t.match(records, [/Acct-Status-Type = Start[\s\S]*Framed-IP-Address = 10\.10\.0\.1/, /Acct-Status-Type = Stop[\s\S]*Acct-Terminate-Cause = User-Request/], 'Start then Stop, with the address and why it ended');
  const octets = (name: string) => Number(new RegExp(`${name} = (\\d+)`).exec(records[1] ?? '')?.[1] ?? 0);
  // Out (to the client, RFC 2866 §5.4) is the file, its TCP/IP headers (~4% at this MTU) and the pings; in is the pings and ACKs.
  // Counting ESP's own overhead (~70 octets a packet) or the file twice would exceed the 6% bound; swapped directions fail both.
  const [octetsIn, octetsOut] = [octets('Acct-Input-Octets'), octets('Acct-Output-Octets')];
  t.ok(octetsOut >= KNOWN_OCTETS + 3 * 1028 && octetsOut <= KNOWN_OCTETS * 1.06 + 3 * 1028 + retransmitted * 1500, `the Stop's Acct-Output-Octets match the file and pings sent to the client: ${octetsOut} for ${KNOWN_OCTETS} + ${3 * 1028} (${retransmitted} segments sent again)`);
  t.ok(octetsIn >= 3 * 1028 && octetsIn < KNOWN_OCTETS / 10, `its Acct-Input-Octets the pings and the ACKs from the client: ${octetsIn}`);
  // Packets from the data plane's per-SA counters: the sender's segments (OutSegs leaves out the ones sent again, RFC 1213;
  // one lost before the gateway comes again) and the pings.
  const packetsOut = octets('Acct-Output-Packets');
  t.ok(packetsOut >= segmentsSent + 3 && packetsOut <= segmentsSent + retransmitted + 3, `Acct-Output-Packets: the sender's TCP segments and the pings: ${packetsOut} for ${segmentsSent} segments (${retransmitted} again) + 3`);
  t.ok(octets('Acct-Input-Packets') >= 3, `Acct-Input-Packets: ${octets('Acct-Input-Packets')}`);
  t.match(records[1], /Called-Station-Id = "192\.0\.2\.1"/, 'Called-Station-Id: the address the client dialed');
  t.match(records[0], /Calling-Station-Id = "192\.0\.2\.10"/, 'Calling-Station-Id: the client\'s public address');
  const ids = records.map((rec) => /Acct-Session-Id = "([^"]+)"/.exec(rec)?.[1]);
  t.ok(ids[0] && ids[0] === ids[1], `one Acct-Session-Id for both: ${ids.join(', ')}`);

  // The Access-Accept's authorization: carol's address and DNS, ended at her Session-Timeout; dave's pool.
  const carol = await road.initiate('carol-lan', 30);
  const carolUp = Date.now();
  if (carol.code !== 0) t.fail(`carol could not connect:\n${carol.stdout}\n${gw.log().slice(-3000)}`);
  t.match(carol.stdout, /installing new virtual IP 10\.10\.0\.50\b/, 'carol gets the Framed-IP-Address FreeRADIUS sent');
  // Routed like a pool address (it is one, held for her): the LAN answers her before her 4 s Session-Timeout.
  const carolPing = await lab.exec('client', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '-I', '10.10.0.50', '10.9.1.1']);
  t.equal(carolPing.code, 0, `the LAN answers carol's Framed-IP-Address through the tunnel:\n${carolPing.stdout}${carolPing.stderr}`);
  t.match(carol.stdout, /IKE_AUTH response \d+ \[ [^\]]*CPRP\(ADDR DNS DNS[ )]/, 'and two DNS servers in the CFG_REPLY (the pool has none)');
  const carolLine = /"dns":"10\.9\.1\.53 10\.9\.1\.54".*virtual address 10\.10\.0\.50 for 'carol'/;
  // The gateway's log line can trail the client's output on a loaded machine.
  await waitUntil('carol\'s address log line', 5000, async () => carolLine.test(gw.log()), () => gw.log().slice(-1500)).catch(() => {});
  t.match(gw.log(), carolLine, 'the MS-Primary/Secondary-DNS-Server ones');
  const dave = await road.initiate('dave-lan', 30);
  t.match(dave.stdout, /installing new virtual IP 10\.10\.1\.\d+/, 'dave leases from his Framed-Pool');
  const carolRecords = () => detail().split(/\n\n+/).filter((rec) => /User-Name = "carol"/.test(rec));
  await waitUntil('carol ended at her Session-Timeout', 12_000, async () => carolRecords().some((rec) => /Acct-Status-Type = Stop/.test(rec)), () => gw.log().slice(-2000));
  const lasted = Date.now() - carolUp;
  t.ok(lasted >= 2500 && lasted < 9000, `deleted by the gateway after ~4 s (${lasted} ms after her login)`);
  t.match(carolRecords().at(-1), /Acct-Terminate-Cause = Session-Timeout/, 'Stop with Acct-Terminate-Cause Session-Timeout');
  // Its log reaches the file through a pipe: it may trail the server's detail file on a loaded machine.
  await waitUntil('the gateway\'s log line', 5000, async () => /session timeout \(RADIUS Session-Timeout 4 s\)/.test(gw.log())).catch(() => {});
  t.match(gw.log(), /session timeout \(RADIUS Session-Timeout 4 s\)/, 'the gateway logged why');

  const script = "fetch('http://127.0.0.1:18080/healthz').then((r) => r.json()).then((h) => console.log(JSON.stringify(h.subsystems.ikev2.counters ?? {})))";
  const counters = JSON.parse((await lab.exec('gw', [process.execPath, '-e', script])).stdout.trim() || '{}') as Record<string, number>;
  t.match(counters, { 'radius.lab.accepts': 3, 'radius.lab.rejects': 1, 'radius.lab.badAuthenticators': 0 }, '/healthz: the IKE listener\'s RADIUS counters');
  t.notMatch(gw.log(), new RegExp(SECRET), 'the shared secret is not in Postern\'s log');
  t.notMatch(gw.log(), /Radius-Pass-21/, 'nor a password');

  // The spool on disk across an outage and a kill -9: dave's Stop made while no server answers.
  radius.daemon.child.kill('SIGTERM');
  await radius.daemon.exited;
  await road.swanctl(['--terminate', '--ike', 'dave']);
  const spoolFile = join(gw.stateDir, 'radius-spool-ikev2.jsonl');
  const spooled = () => { try { return readFileSync(spoolFile, 'utf8'); } catch { return ''; } };
  await waitUntil('dave\'s Stop in the spool', 8000, async () => /"at":/.test(spooled()), () => gw.log().slice(-2000));
  await gw.kill();
  // Both come back, now over RadSec (RFC 6614) only: FreeRADIUS's TLS listener with a certificate from
  // its own CA, trusting Postern's CA for the client certificate Postern issues itself. A first
  // RadSec server that refuses connections must not hold anything up.
  const now = new Date();
  const radiusCa = createCa({ commonName: 'Lab RADIUS CA', validityDays: 30, keyType: 'ecdsa-p256', now });
  const radiusCert = issueServerCertificate(radiusCa, { commonName: '10.9.1.1', sans: ['10.9.1.1'], validityDays: 30, keyType: 'ecdsa-p256', now });
  const again = await FreeRadius.start(lab, 'radius', { ...radiusSpec, radsec: { port: 2083, network: '10.9.1.0/24', certificatePem: radiusCert.certificatePem, keyPem: radiusCert.keyPem.reveal(), clientCaPem: readFileSync(join(gw.stateDir, 'pki', 'ca.pem'), 'utf8') } });
  const overTls = structuredClone(config);
  overTls.radius = { servers: [
    { name: 'refusing', address: '10.9.1.1', authPort: 1812, acctPort: 1813, radsec: { port: 2099, ca: radiusCa.certificatePem } },
    { name: 'lab', address: '10.9.1.1', authPort: 1812, acctPort: 1813, radsec: { ca: radiusCa.certificatePem } },
  ], dynamicAuthorization: { enabled: true, port: 3799, clients: [{ name: 'lab-dac', address: '10.9.1.1', secret: DAS_SECRET }] } };
  const gw2 = await startPostern(lab, 'gw', overTls, (log) => log.includes('IKEv2 listening'), { stateDir: gw.stateDir, name: 'postern-again' });
  const detail2 = () => { try { return readFileSync(join(again.dir, 'detail'), 'utf8'); } catch { return ''; } };
  await waitUntil('dave\'s Stop after the restart', 10_000, async () => /User-Name = "dave"[\s\S]*Acct-Status-Type = Stop|Acct-Status-Type = Stop[\s\S]*User-Name = "dave"/.test(detail2()), () => gw2.log().slice(-2000));
  const daveStop = detail2().split(/\n\n+/).find((rec) => /User-Name = "dave"/.test(rec) && /Acct-Status-Type = Stop/.test(rec)) ?? '';
  t.match(daveStop, /Acct-Delay-Time = [1-9]\d*/, 'sent late, saying how long it waited');
  t.match(daveStop, /Framed-IP-Address = 10\.10\.1\.\d+/, 'the record as made before the crash');
  await waitUntil('the restarted gateway\'s Accounting-On', 5000, async () => statuses(detail2()).includes('Accounting-On'), detail2);
  t.ok(statuses(detail2()).indexOf('Stop') < statuses(detail2()).indexOf('Accounting-On'), `the spooled Stop of the run before, then this run's Accounting-On: ${JSON.stringify(statuses(detail2()))}`);
  await waitUntil('the log line', 5000, async () => /records from before the restart will be sent/.test(gw2.log())).catch(() => {});
  t.match(gw2.log(), /records from before the restart will be sent/, 'the restarted gateway found the spool');
  await waitUntil('the spool emptied', 5000, async () => spooled() === '');
  await waitUntil('the log line', 5000, async () => /"server":"lab"[^\n]*RadSec connected/.test(gw2.log())).catch(() => {});
  t.match(gw2.log(), /"server":"lab"[^\n]*RadSec connected/, 'delivered over RadSec');
  // A login and its accounting over RadSec.
  const tlsLogin = await road.initiate('alice-lan', 30);
  if (tlsLogin.code !== 0) t.fail(`alice could not connect over RadSec:\n${tlsLogin.stdout}\n${gw2.log().slice(-3000)}`);
  t.match(tlsLogin.stdout, /EAP method EAP_MSCHAPV2 succeeded, MSK established/, 'EAP-MSCHAPv2 checked by FreeRADIUS over TLS, the MSK from its MPPE keys (secret "radsec")');
  await waitUntil('her Start over RadSec', 5000, async () => /User-Name = "alice"[\s\S]*Acct-Status-Type = Start|Acct-Status-Type = Start[\s\S]*User-Name = "alice"/.test(detail2()), detail2);
  const tlsCounters = JSON.parse((await lab.exec('gw', [process.execPath, '-e', script])).stdout.trim() || '{}') as Record<string, number>;
  t.match(tlsCounters, { 'radius.lab.accepts': 1, 'radius.lab.alive': 1, 'radius.refusing.alive': 0 }, `/healthz: the refusing RadSec server dead, the live one answering ${JSON.stringify(tlsCounters)}`);
  await waitUntil('the log line', 5000, async () => /"server":"refusing"[^\n]*RadSec connection failed/.test(gw2.log())).catch(() => {});
  t.match(gw2.log(), /"server":"refusing"[^\n]*RadSec connection failed/, 'the refused connection logged, with backoff');
  t.notMatch(again.log(), /Ignoring request to auth address \S+ port 1812/, 'nothing came over UDP');
  // The RADIUS page's Test over RadSec: its own TLS connection with the listeners' settings.
  const curl = async (path: string, body: unknown, headers: string[] = [], include = false) =>
    (await lab.exec('gw', ['curl', '-s', '--max-time', '20', ...(include ? ['-i'] : []), '-X', 'POST', '-H', 'content-type: application/json', ...headers.flatMap((h) => ['-H', h]), '--data', JSON.stringify(body), `http://127.0.0.1:18080/api/v1${path}`], 25_000)).stdout;
  await curl('/setup', { password: 'Field-Tech-Pass-77' });
  const login = await curl('/login', { password: 'Field-Tech-Pass-77' }, [], true);
  const session = [`cookie: ${/^set-cookie: ([^;\r\n]+)/im.exec(login)?.[1] ?? ''}`, `x-csrf-token: ${/"csrfToken":"([^"]+)"/.exec(login)?.[1] ?? ''}`];
  const tested = JSON.parse(await curl('/radius/servers/lab/test', { user: 'alice', password: 'Radius-Pass-21' }, session)) as { statusServer?: { ok: boolean }; login?: { ok: boolean } };
  t.match(tested, { statusServer: { ok: true }, login: { ok: true } }, `the Test of the RadSec server: Status-Server and a PAP login answered over TLS: ${JSON.stringify(tested)}`);
  // RFC 5176 against an IKEv2 session: radclient on the RADIUS host disconnects alice.
  t.match(JSON.stringify(await road.listSas()), /alice/, 'alice is connected before');
  // An IKE SA takes a CoA's Session-Timeout only: an Idle-Timeout NAKs the whole request (RFC 5176 §3.2) and changes nothing.
  const coa = (await lab.exec('radius', ['sh', '-c', `echo 'User-Name = "alice", Idle-Timeout = 1' | radclient -x -r 1 -t 3 10.9.1.2:3799 coa ${DAS_SECRET}`], 15_000)).stdout;
  t.match(coa, /Received CoA-NAK[\s\S]*Error-Cause = Unsupported-Attribute/, 'CoA-Request with Idle-Timeout for an IKEv2 session: CoA-NAK, Error-Cause 401');
  const disconnect = (await lab.exec('radius', ['sh', '-c', `echo 'User-Name = "alice"' | radclient -x -r 1 -t 3 10.9.1.2:3799 disconnect ${DAS_SECRET}`], 15_000)).stdout;
  t.match(disconnect, /Received Disconnect-ACK/, 'Disconnect-Request naming alice: ACK');
  await waitUntil('her Stop with Admin-Reset', 8000, async () => detail2().split(/\n\n+/).some((rec) => /User-Name = "alice"/.test(rec) && /Acct-Terminate-Cause = Admin-Reset/.test(rec)), detail2);
  t.pass('her IKE SA deleted by the gateway, Stop with Acct-Terminate-Cause Admin-Reset');
  let sas = '';
  await waitUntil('the client saw the Delete', 8000, async () => !(sas = JSON.stringify(await road.listSas())).includes('alice'), () => sas);
  t.pass('the client has no IKE SA left for alice');
  await gw2.stop();
  await waitUntil('the Accounting-Off', 5000, async () => statuses(detail2()).includes('Accounting-Off'), () => `${detail2().slice(-1500)}\n--- postern ---\n${gw2.log().slice(-1500)}`);
  t.pass('Accounting-Off when the gateway stopped');
});
